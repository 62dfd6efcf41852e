/* enterprise.h -- one enterprise's designation state.
 *
 * DESIGN: everything the state machine knows about an enterprise lives in
 * one ldr_enterprise_t: its three tier records (with their timers: timers
 * are identified by (USCC, tier, kind), so the tier record is where they
 * belong), its open violation cases, its ban and the hashes of every event
 * it has applied. The struct is plain data that the store can serialise
 * and the cache can hold; machine.c changes it, nothing else does. */
#ifndef LADDER_ENTERPRISE_H
#define LADDER_ENTERPRISE_H

#include "ladder/buf.h"
#include "ladder/err.h"
#include "ladder/record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ldr_tier_state {
    LDR_TIER_STATE_NONE = 0,
    LDR_TIER_STATE_PUBLICITY,
    LDR_TIER_STATE_DESIGNATED,
    LDR_TIER_STATE_REVIEW_DUE,
} ldr_tier_state_t;

const char *ldr_tier_state_name(ldr_tier_state_t s);

/* Timer kinds, in the order timers due at the same instant fire. */
typedef enum ldr_timer_kind {
    LDR_TIMER_PUBLICITY_END = 0,
    LDR_TIMER_REVIEW_WINDOW,
    LDR_TIMER_VALIDITY_END,
    LDR_TIMER__COUNT
} ldr_timer_kind_t;

#define LDR_ENTERPRISE_POLICY_MAX 32  /* a policy version + NUL */
#define LDR_ENTERPRISE_ID_MAX     129 /* event and case ids: 1-128 bytes + NUL */
#define LDR_ENTERPRISE_NAME_MAX   201 /* enterprise name: 1-200 bytes + NUL */
#define LDR_ENTERPRISE_UNIT_MAX   8   /* reporting unit code + NUL */

typedef struct ldr_tier_rec {
    ldr_tier_state_t state;
    bool held;     /* publicity ended while a case was open */
    int32_t batch; /* of the application that started it */
    int64_t publicity_end;
    int64_t valid_from; /* DESIGNATED, REVIEW_DUE */
    int64_t valid_until;
    char policy[LDR_ENTERPRISE_POLICY_MAX]; /* version the lifecycle follows */
    int64_t timer_due[LDR_TIMER__COUNT];    /* 0: no timer of that kind */
} ldr_tier_rec_t;

typedef struct ldr_enterprise {
    char uscc[19];
    char unit[LDR_ENTERPRISE_UNIT_MAX];
    /* NUL-terminated, at most LDR_ENTERPRISE_NAME_MAX - 1 bytes, never
     * NULL; owned (set it with ldr_enterprise_set_name). On the heap at its
     * own length: inline, its 201 bytes were a third of an enterprise's
     * memory in the worker's cache. */
    const char *name;
    ldr_tier_rec_t tiers[LDR_TIER__COUNT];
    int64_t ban_until; /* 0: never banned */
    size_t cases_count;
    size_t cases_cap;
    char (*cases)[LDR_ENTERPRISE_ID_MAX]; /* open violation cases */
    size_t events_count;
    size_t events_cap;
    uint64_t *events; /* sorted hashes of every applied event_id */
    /* The last LDR_ENTERPRISE_HISTORY_MAX decisions, oldest first, in the
     * compact form of ldr_enterprise_history_add(). */
    ldr_buf_t history;
    int history_count;
    /* What the next history entry is written against (the last entry's
     * offset, effective time, cause and policy version), kept by
     * ldr_enterprise_history_add so that the next one need not read the
     * whole history again; valid only when hctx_valid (init and decode
     * clear it). */
    bool hctx_valid;
    int64_t hctx_offset, hctx_effective_at;
    size_t hctx_cause_len, hctx_policy_len;
    char hctx_cause[LDR_ENTERPRISE_ID_MAX];
    char hctx_policy[LDR_ENTERPRISE_POLICY_MAX];
} ldr_enterprise_t;

/** Initialises an empty enterprise (every tier NONE). */
void ldr_enterprise_init(ldr_enterprise_t *e, const char *uscc, size_t len);
/** Replaces the name (truncated to LDR_ENTERPRISE_NAME_MAX - 1 bytes). */
void ldr_enterprise_set_name(ldr_enterprise_t *e, const char *name, size_t len);
/** Releases its arrays; the struct may be initialised again. */
void ldr_enterprise_fini(ldr_enterprise_t *e);
/** Calls @p fn with each timer pending in @p e (tier, kind as
 *  ldr_timer_kind_t, due ms), by tier then kind: the state is the only
 *  copy of its timers. */
void ldr_enterprise_each_timer(const ldr_enterprise_t *e,
                               void (*fn)(void *opaque, int tier, int kind,
                                          int64_t due),
                               void *opaque);
bool ldr_enterprise_case_open(const ldr_enterprise_t *e, const char *case_id,
                              size_t len);
bool ldr_enterprise_seen(const ldr_enterprise_t *e, const char *event_id,
                         size_t len);
/** The 64-bit hash by which event ids are remembered. */
uint64_t ldr_enterprise_event_hash(const char *event_id, size_t len);
/** Remembers an applied event id (idempotent). */
void ldr_enterprise_remember(ldr_enterprise_t *e, const char *event_id,
                             size_t len);
/** Index of the open case @p case_id, or -1. */
int ldr_enterprise_case_index(const ldr_enterprise_t *e, const char *case_id,
                              size_t len);
/** Opens a case (nothing if it is open already). */
void ldr_enterprise_case_add(ldr_enterprise_t *e, ldr_str_t case_id);
/** Closes the case at index @p i. */
void ldr_enterprise_case_remove(ldr_enterprise_t *e, int i);

/* ---- decision history ------------------------------------------------- */

#define LDR_ENTERPRISE_HISTORY_MAX 20

/** One decision of the history. Fields the enterprise or the log already
 *  give are not kept: the decision id and cause come from (partition,
 *  offset, n), the name and unit are the enterprise's, and decided_at (the
 *  only field that is not deterministic) is not kept at all. Strings point
 *  into the history and stay valid until it changes, but cause_event_id,
 *  which points into the entry itself. */
typedef struct ldr_history_entry {
    int64_t offset; /* of the message that caused it */
    int n;          /* its place among that message's decisions */
    ldr_decision_type_t decision;
    bool has_tier;
    ldr_tier_t tier;
    int64_t effective_at;
    bool has_valid_from, has_valid_until, has_review_deadline, has_ban_until;
    int64_t valid_from, valid_until, review_deadline, ban_until;
    bool has_batch, has_score;
    int32_t batch, score;
    ldr_str_t case_id;        /* len 0: none */
    ldr_str_t cause_event_id; /* len 0: none (a timer) */
    ldr_str_t policy_version;
    size_t reasons_count;
    ldr_str_t reasons[LDR_DECISION_REASONS_MAX];
    /* where a read entry's cause_event_id is spelled out (the history
     * keeps only what it does not share with the cause before); last, and
     * not cleared between reads */
    char cause_buf[LDR_ENTERPRISE_ID_MAX];
} ldr_history_entry_t;

/** Appends a decision, dropping the oldest beyond the maximum. */
void ldr_enterprise_history_add(ldr_enterprise_t *e,
                                const ldr_history_entry_t *d);
/** Reads entry @p i (0 = oldest). LDR_ERR_INVALID_ARG past the end. */
ldr_err_t ldr_enterprise_history_get(const ldr_enterprise_t *e, int i,
                                     ldr_history_entry_t *out);

/* ---- compact encoding, for the store ------------------------------------ */

/** Appends the compact binary form of @p e (everything but the USCC, which
 *  is the store's key) to @p out: a format byte, then varints and
 *  length-prefixed strings; a tier with no state takes one byte. */
void ldr_enterprise_encode(const ldr_enterprise_t *e, ldr_buf_t *out);

/** Decodes what ldr_enterprise_encode wrote into @p e, which must be
 *  initialised with the USCC the state is stored under (kept; the history
 *  is written against it, so another one misreads the first cause or
 *  fails; its arrays are reused), and what earlier versions wrote
 *  (formats 2 and 3; converted). Every length is checked against the
 *  bytes that remain: LDR_ERR_DECODE_FAILED on anything malformed, with
 *  @p e then emptied. */
ldr_err_t ldr_enterprise_decode(ldr_enterprise_t *e, const void *data,
                                size_t len);

/** ldr_enterprise_decode for what this process encoded itself (a
 *  partition's own copy of a state): the same checks, but the history's
 *  entries are not read one by one. */
ldr_err_t ldr_enterprise_decode_own(ldr_enterprise_t *e, const void *data,
                                    size_t len);

#endif
