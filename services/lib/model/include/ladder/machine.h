/* machine.h -- the designation state machine of POLICY.md.
 *
 * DESIGN: a pure function of (state, message, policies). Nothing here does
 * I/O, reads a clock or keeps a global: time is the partition's event-time
 * clock, which only the log moves, so replaying the same log from the same
 * state yields the same decisions with the same ids, whatever the number of
 * workers or restarts (DESIGN.md, guarantee 4).
 *
 * Two layers:
 *  - per enterprise: ldr_machine_apply() applies one message and
 *    ldr_machine_fire() one timer to an ldr_enterprise_t, appending the
 *    decisions to an ldr_machine_out_t and changing the enterprise's timers;
 *  - per partition: ldr_partition_step() moves the clock, fires every timer
 *    due at or before it in (due, USCC, tier, kind) order, including timers
 *    set while firing, and then applies the message. The partition owns its
 *    enterprises, each in its encoded form (decoded while a batch changes
 *    it), and a heap of the enterprises with timers.
 *
 * Timers are identified by (USCC, tier, kind) and held in the enterprise's
 * tier record (due 0 = not set), so an enterprise's state says everything;
 * the partition's heap is an index over them, one entry per enterprise
 * keyed by its earliest timer, whose stale entries (an earliest timer
 * replaced or dropped since) are skipped when popped.
 *
 * Strings in decisions are copied into the decision, so the output stays
 * valid after the message buffer is gone. decided_at is left 0: it is the
 * only field that is not deterministic, and the caller stamps it. */
#ifndef LADDER_MACHINE_H
#define LADDER_MACHINE_H

#include "ladder/enterprise.h"
#include "ladder/err.h"
#include "ladder/policy.h"
#include "ladder/record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LDR_MACHINE_CAUSE_MAX 256 /* "topic/partition/offset" + NUL */

/** One decision, owning its strings. */
typedef struct ldr_machine_decision {
    char decision_id[96];
    int32_t partition; /* of the causing message; decision_id's first part */
    int64_t offset;    /* of the causing message; decision_id's second part */
    int n;             /* its place among that message's decisions */
    char uscc[19];
    char enterprise_name[LDR_ENTERPRISE_NAME_MAX];
    char reporting_unit[LDR_ENTERPRISE_UNIT_MAX];
    bool has_tier;
    ldr_tier_t tier;
    ldr_decision_type_t decision;
    size_t reasons_count;
    const char *reasons[LDR_DECISION_REASONS_MAX]; /* static strings */
    int64_t effective_at;
    bool has_valid_from, has_valid_until, has_review_deadline, has_ban_until;
    int64_t valid_from, valid_until, review_deadline, ban_until;
    bool has_case_id;
    char case_id[LDR_ENTERPRISE_ID_MAX];
    bool has_batch;
    int32_t batch;
    bool has_score;
    int32_t score;
    char policy_version[LDR_ENTERPRISE_POLICY_MAX];
    bool has_cause_event_id;
    char cause_event_id[LDR_ENTERPRISE_ID_MAX];
    char cause[LDR_MACHINE_CAUSE_MAX];
} ldr_machine_decision_t;

/** Views @p d as a record for the codec; valid while @p d is. */
void ldr_machine_decision_record(const ldr_machine_decision_t *d,
                                 ldr_record_t *out);

typedef struct ldr_machine_out {
    ldr_machine_decision_t *v;
    size_t count;
    size_t cap;
    uint64_t duplicates;   /* messages ignored as already applied */
    uint64_t timers_fired; /* timers that found their tier as expected */
    /* Set by a replay that never stores its enterprises (ladder-whatif):
     * the decisions are not kept in the enterprises' history, which only
     * the store and ladder-admin read. Nothing else changes. */
    bool skip_history;
} ldr_machine_out_t;

void ldr_machine_out_init(ldr_machine_out_t *out);
/** Empties the list, keeping its allocation and the counters. */
void ldr_machine_out_clear(ldr_machine_out_t *out);
void ldr_machine_out_fini(ldr_machine_out_t *out);

/** Where a message came from: the cause of every decision it leads to,
 *  and the base of their deterministic ids. */
typedef struct ldr_machine_cause {
    const char *topic;
    int32_t partition;
    int64_t offset;
} ldr_machine_cause_t;

/** Applies one input message (application, review or violation) at its
 *  own occurred_at. The caller has already moved the clock and fired the
 *  timers due. A message whose event_id was applied before yields nothing
 *  and counts a duplicate. Returns LDR_ERR_INVALID_ARG for a tick, a
 *  decision or a record of another enterprise. */
ldr_err_t ldr_machine_apply(const ldr_policies_t *policies, ldr_enterprise_t *e,
                            const ldr_record_t *msg,
                            const ldr_machine_cause_t *cause,
                            ldr_machine_out_t *out);

/** Fires the timer (@p tier, @p kind) due at @p due, if the enterprise
 *  still holds it. Decisions get effective_at = due. */
void ldr_machine_fire(const ldr_policies_t *policies, ldr_enterprise_t *e,
                      ldr_tier_t tier, ldr_timer_kind_t kind, int64_t due,
                      const ldr_machine_cause_t *cause, ldr_machine_out_t *out);

/* ---- a partition: its clock, enterprises and timers ------------------- */

typedef struct ldr_partition ldr_partition_t;

ldr_partition_t *ldr_partition_new(const ldr_policies_t *policies);
void ldr_partition_destroy(ldr_partition_t *p);
int64_t ldr_partition_clock(const ldr_partition_t *p);
/** The enterprise with this USCC, or NULL. The partition keeps its
 *  enterprises encoded: what this returns is a decoded copy, valid until
 *  the next call on the partition. */
const ldr_enterprise_t *ldr_partition_find(ldr_partition_t *p, const char *uscc,
                                           size_t len);
size_t ldr_partition_count(const ldr_partition_t *p);
/** Calls @p fn once for every enterprise of the partition, in no
 *  particular order (a replay's final tally), with a decoded copy valid
 *  during the call. @p fn must not call into the same partition. */
void ldr_partition_each(ldr_partition_t *p,
                        void (*fn)(void *opaque, const ldr_enterprise_t *e),
                        void *opaque);

/** One message of the partition's log, in log order: moves the clock to
 *  max(clock, message time), fires every timer due at or before the clock
 *  in (due, USCC, tier, kind) order, then applies the message (a tick only
 *  moves the clock). Decisions are appended to @p out in that order. */
ldr_err_t ldr_partition_step(ldr_partition_t *p, const ldr_record_t *msg,
                             const ldr_machine_cause_t *cause,
                             ldr_machine_out_t *out);

/* ---- what the store needs --------------------------------------------- */

/** An enterprise the steps since the last ldr_partition_take_dirty()
 *  touched, with what it was at that take: the store writes its state and
 *  moves the per-(unit, tier, state) counters from the old to the new. */
typedef struct ldr_partition_dirty {
    const ldr_enterprise_t *e;
    /* its encoded state (ldr_enterprise_encode), which the partition now
     * keeps */
    const uint8_t *state;
    size_t state_len;
    /* as it was at its first change in the batch, i.e. as last stored */
    char unit_before[LDR_ENTERPRISE_UNIT_MAX];
    ldr_tier_state_t state_before[LDR_TIER__COUNT];
} ldr_partition_dirty_t;

/** The enterprises touched since the last call, in first-touched order,
 *  encoded again into the partition; the list, its enterprises and their
 *  states stay valid until the next call on the partition. */
const ldr_partition_dirty_t *ldr_partition_take_dirty(ldr_partition_t *p,
                                                      size_t *count);

/** Adds an enterprise read from the store (the partition takes it over,
 *  heap-allocated with malloc) and indexes its timers. Replaces an
 *  enterprise with the same USCC. */
void ldr_partition_insert(ldr_partition_t *p, ldr_enterprise_t *e);
/** Sets the clock read from the store. */
void ldr_partition_set_clock(ldr_partition_t *p, int64_t clock);

#endif
