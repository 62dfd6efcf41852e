/* whatif_int.h -- ladder-whatif's parts: the replay of one history under
 * two policy sets (replay.c) and what it writes (report.c).
 *
 * @locality: one thread. */
#ifndef LADDER_WHATIF_INT_H
#define LADDER_WHATIF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <signal.h>

#include "ladder/config.h"

#include "ladder/enterprise.h"
#include "ladder/machine.h"
#include "ladder/policy.h"
#include "ladder/record.h"
#include "ladder/units.h"
#include "ladder/validate.h"

enum { WI_BASE = 0, WI_VARIANT = 1, WI_SIDES = 2 };

/* What the table counts, per reporting unit and tier. */
typedef enum wi_outcome {
    WI_DESIGNATED = 0,
    WI_REVOKED,
    WI_CANCELLED,
    WI_EXPIRED,
    WI_ACTIVE_AT_END,
    WI_OUTCOMES
} wi_outcome_t;

/* "designated", ..., "active_at_end": the JSON keys. */
const char *wi_outcome_name(wi_outcome_t o);

typedef struct wi_tally {
    uint64_t n[WI_OUTCOMES][LDR_TIER__COUNT];
} wi_tally_t;

/* Active designations per tier at one instant, both policies. */
typedef struct wi_sample {
    int64_t t;
    uint32_t active[WI_SIDES][LDR_TIER__COUNT];
} wi_sample_t;

/* One side's first decision of an enterprise that the other side did not
 * make the same. */
typedef struct wi_first {
    bool has; /* false: this side made no decision there */
    ldr_decision_type_t decision;
    bool has_tier;
    ldr_tier_t tier;
    int64_t effective_at;
    char reasons[256]; /* ';'-joined */
} wi_first_t;

/* An enterprise whose decisions differ between the two policies. */
typedef struct wi_change {
    char uscc[19];
    int64_t at; /* effective_at of the first decision that differs */
    wi_first_t first[WI_SIDES];
    /* filled by wi_replay_finish() */
    char name[LDR_ENTERPRISE_NAME_MAX];
    char unit[LDR_ENTERPRISE_UNIT_MAX];
    int top_tier[WI_SIDES]; /* highest tier not NONE, or -1 */
    ldr_tier_state_t top_state[WI_SIDES];
} wi_change_t;

typedef struct wi_replay {
    const ldr_policies_t *policies[WI_SIDES];
    const ldr_units_t *units;
    const ldr_validator_t *validator;
    int64_t now_ms; /* processing time, for the validation bound */
    int max_skew_days;
    int partitions;
    int own_lo, own_hi; /* the partitions this replay steps: [lo, hi) */
    ldr_partition_t **part[WI_SIDES]; /* NULL outside [own_lo, own_hi) */
    int64_t *next_offset; /* per partition: the simulated log's offsets */
    ldr_machine_out_t out[WI_SIDES];
    /* counts */
    uint64_t events, ticks, rejected, steps_failed;
    int64_t last_time; /* the stream's time: its latest event time */
    size_t nunits;
    wi_tally_t *by_unit[WI_SIDES]; /* [nunits + 1]: the last is "unknown" */
    wi_tally_t total[WI_SIDES];
    uint32_t active[WI_SIDES][LDR_TIER__COUNT];
    size_t enterprises;
    /* active designations over time: a sample at every month start */
    wi_sample_t *samples;
    size_t nsamples, samples_cap;
    int64_t next_sample;
    /* enterprises whose decisions differ, by USCC (open addressing) */
    wi_change_t **changes;
    size_t nchanges, changes_cap;
    char last_reject[512]; /* the latest rejection, for the summary */
} wi_replay_t;

/* Sets up @p r for a topic of @p partitions partitions, of which it steps
 * [@p own_lo, @p own_hi), under the two policy sets (borrowed, as are
 * units and validator). Threads of one run each own a range and read the
 * whole history; wi_replay_merge() puts them together. */
void wi_replay_init(wi_replay_t *r, const ldr_policies_t *base,
                    const ldr_policies_t *variant, const ldr_units_t *units,
                    const ldr_validator_t *validator, int max_skew_days,
                    int partitions, int own_lo, int own_hi, int64_t now_ms);
void wi_replay_fini(wi_replay_t *r);

/* One input record in log order: validated as the worker validates it
 * (against its partition's clock; a reject is counted and moves nothing),
 * then stepped on its partition under both policies, a tick on every
 * partition. @p partition is the record's partition when it came from the
 * topic, or -1 to choose it by murmur2_random on the USCC. @p key is the
 * message key (NULL: the record's own USCC). */
void wi_replay_record(wi_replay_t *r, const ldr_record_t *rec,
                      int32_t partition, const void *key, size_t key_len);

/* Ends the history: a tick at the stream's latest event time to every
 * partition the replay owns, and the last sample. */
void wi_replay_end(wi_replay_t *r);

/* Moves what @p src (an ended replay of the same history, other
 * partitions) holds into @p dst: its partitions, counts, samples and
 * changes. */
void wi_replay_merge(wi_replay_t *dst, wi_replay_t *src);

/* After the last merge: the counts of active designations at the end, and
 * the final state of every changed enterprise; the changes are sorted by
 * USCC. */
void wi_replay_finish(wi_replay_t *r);

/* ---- kafka.c ------------------------------------------------------------ */

typedef struct wi_kafka wi_kafka_t;

/* A consumer of input.topic (and, with @p decode, the codec): NULL with
 * one line in @p errstr. wi_kafka_close() frees it. */
wi_kafka_t *wi_kafka_open(const ldr_config_t *cfg, bool decode, char *errstr,
                          size_t errstr_size);
void wi_kafka_close(wi_kafka_t *k);
/* The input topic's partition count, or -1 with the reason. */
int wi_kafka_partitions(wi_kafka_t *k, char *errstr, size_t errstr_size);
/* Replays every partition from offset 0 to the end it has now: 0, or 3
 * with the reason in @p errstr (a log that no longer starts at 0 without
 * @p allow_partial, Kafka unreachable) or after *@p stop. */
int wi_kafka_replay(wi_kafka_t *k, wi_replay_t *r, bool allow_partial,
                    volatile sig_atomic_t *stop, char *errstr,
                    size_t errstr_size);

/* ---- report.c ----------------------------------------------------------- */

typedef struct wi_report_opts {
    const char *baseline_dir, *variant_dir;
    const char *const *sets;
    size_t nsets;
    double seconds;
} wi_report_opts_t;

/* The --json document (the shape). The caller json_decref()s it. */
json_t *wi_report_json(const wi_replay_t *r, const wi_report_opts_t *o);
/* The table by unit x tier, as text. */
void wi_report_table(const wi_replay_t *r, FILE *out);
/* Every changed enterprise as CSV. */
void wi_report_changes_csv(const wi_replay_t *r, FILE *out);
/* The difference in active designations at the end by reporting unit, as
 * an SVG bar chart. */
void wi_report_svg_units(const wi_replay_t *r, FILE *out);
/* Active designations per tier over time, both policies, as SVG lines. */
void wi_report_svg_time(const wi_replay_t *r, FILE *out);
/* One self-contained HTML page: the figures, both charts, the table and
 * the first changed enterprises. */
void wi_report_html(const wi_replay_t *r, const wi_report_opts_t *o, FILE *out);

/* Every enterprise's final state under both policies, one JSON object a
 * line: {"uscc", "partition", "baseline": {"tiers": {TIER: {"state",
 * "valid_until"}}, "ban_until"}, "variant": {...}}, times RFC 3339 or null,
 * in no particular order (--register). */
void wi_report_register(const wi_replay_t *r, FILE *out);

#endif
