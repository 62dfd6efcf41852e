/* validate.h -- the contract's validation table, field by field.
 *
 * DESIGN: CONTRACT.md says what a valid input record is, and both edges that
 * check it (ladder-feed before producing, the worker after decoding) call
 * this one module, so the two can never disagree about a boundary. The
 * functions are pure: no I/O, no globals, no wall clock. Processing time
 * (`now_ms`) and the partition's clock (`clock_ms`) are inputs, so a replay
 * validates exactly as the first run did given the same inputs.
 *
 * Checks follow the record's field order (and, inside `indicators`, the
 * order of the Indicators record), and the first invalid field is the one
 * reported, so a message names one field and the same record always gets
 * the same message. Every bound of the table is inclusive. Error codes:
 * LDR_ERR_INVALID_USCC for `uscc`, LDR_ERR_UNKNOWN_REPORTING_UNIT for
 * `reporting_unit`, LDR_ERR_KEY_MISMATCH from ldr_validate_key(), and
 * LDR_ERR_INVALID_FIELD for everything else. Messages start with the field's
 * plain contract name and a colon, e.g. "rd_staff: 12 exceeds employees (10)"
 * or "occurred_at: ... is after ...": indicator fields are named without an
 * `indicators.` prefix, since no indicator shares a name with a top-level
 * field. LDR_ERR_INVALID_ARG means the caller passed something no decoder
 * produces (a DesignationDecision, an unknown kind, a NULL string pointer
 * with a non-zero length); it is not a dead-letter code.
 *
 * Enums are checked against their symbol count even though a decoded enum
 * is always in range, because records are also built by hand (ladder-feed,
 * ladder-gen, tests). `ViolationReported.details` has no rule in the
 * contract and is not checked. */
#ifndef LADDER_VALIDATE_H
#define LADDER_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ladder/err.h"
#include "ladder/record.h"
#include "ladder/units.h"

/* The bounds of CONTRACT.md "Validation", for producers that want to stay
 * inside them (ladder-gen) and for tests. All inclusive. Times are ms since
 * the epoch (the minimum is 2000-01-01T00:00:00Z); ID_MAX bounds event_id,
 * case_id and source; NAME_MAX bounds enterprise_name; AMOUNT_MAX (10^15)
 * bounds revenue*, main_revenue*, rd_expense*, equity_financing_* and
 * |net_profit|; COUNT_MAX bounds employees, rd_staff, years_in_niche and
 * ip_*. */
#define LDR_VALIDATE_TIME_MIN_MS             INT64_C(946684800000)
#define LDR_VALIDATE_DAY_MS                  INT64_C(86400000)
#define LDR_VALIDATE_ID_MAX                  128
#define LDR_VALIDATE_NAME_MAX                200
#define LDR_VALIDATE_BATCH_MIN               1
#define LDR_VALIDATE_BATCH_MAX               100
#define LDR_VALIDATE_AMOUNT_MAX              INT64_C(1000000000000000)
#define LDR_VALIDATE_COUNT_MAX               10000000
#define LDR_VALIDATE_ASSET_LIABILITY_PCT_MAX 1000.0
#define LDR_VALIDATE_MARKET_SHARE_PCT_MAX    100.0
#define LDR_VALIDATE_MARKET_RANK_MAX         1000000
#define LDR_VALIDATE_DIGITALIZATION_MIN      1
#define LDR_VALIDATE_DIGITALIZATION_MAX      4
#define LDR_VALIDATE_QUALITY_ITEMS_MAX       4
#define LDR_VALIDATE_LOCAL_SCORE_MAX         15
#define LDR_VALIDATE_DEVELOPMENT_SCORE_MAX   100
/* Largest accepted clock.max.skew.days (100 years): beyond it the time
 * bound protects nothing. */
#define LDR_VALIDATE_MAX_SKEW_DAYS_LIMIT 36500

typedef struct ldr_validator ldr_validator_t;

/** Checks one USCC as the `uscc` field is checked: LDR_OK, or
 *  LDR_ERR_INVALID_USCC with a message that says why ("uscc: 17 bytes; a
 *  USCC is 18 characters", "uscc: byte 0x49 at offset 3 is not one of
 *  ...", "uscc: check character is 'X', expected 'Y'"), for ladder-api's
 *  answers about a USCC in a URL. */
ldr_err_t ldr_validate_uscc(ldr_str_t s, char *errstr, size_t errstr_size);

/** Creates a validator that checks reporting units against @p units
 *  (borrowed: it must outlive the validator) and timestamps against
 *  max(clock, now) + @p max_skew_days days.
 *  @returns a validator the caller frees with ldr_validator_destroy(), or
 *  NULL when @p units is NULL or @p max_skew_days is outside
 *  0..LDR_VALIDATE_MAX_SKEW_DAYS_LIMIT. Immutable once made: threads may
 *  share it. */
ldr_validator_t *ldr_validator_new(const ldr_units_t *units, int max_skew_days);

/** Frees @p v (not its units table). Accepts NULL. */
void ldr_validator_destroy(ldr_validator_t *v);

/** Validates one input record (ApplicationSubmitted, ReviewSubmitted,
 *  ViolationReported, ClockTick) field by field, in field order.
 *  @p clock_ms is the partition's clock (the worker) and @p now_ms the
 *  processing time; ladder-feed, which has no clock, passes its processing
 *  time for both (or INT64_MIN as the clock).
 *  @returns LDR_OK, or the error of the first invalid field with a message
 *  naming it in @p errstr; LDR_ERR_INVALID_ARG for a DesignationDecision or
 *  an unknown kind. */
ldr_err_t ldr_validate_record(const ldr_validator_t *v, const ldr_record_t *rec,
                              int64_t clock_ms, int64_t now_ms, char *errstr,
                              size_t errstr_size);

/** Checks the message key of @p rec: an ApplicationSubmitted,
 *  ReviewSubmitted or ViolationReported must be keyed by exactly the bytes
 *  of its `uscc` (a missing key is a mismatch); a ClockTick is unkeyed and
 *  accepts any key, or none.
 *  @returns LDR_OK, LDR_ERR_KEY_MISMATCH, or LDR_ERR_INVALID_ARG for a
 *  DesignationDecision or an unknown kind. */
ldr_err_t ldr_validate_key(const ldr_record_t *rec, const void *key,
                           size_t key_len, char *errstr, size_t errstr_size);

/** The worker's full check of one consumed message: ldr_validate_record(),
 *  then ldr_validate_key(). A record that is itself invalid is reported as
 *  such (e.g. INVALID_USCC) even when its key also differs. */
ldr_err_t ldr_validate_message(const ldr_validator_t *v,
                               const ldr_record_t *rec, const void *key,
                               size_t key_len, int64_t clock_ms, int64_t now_ms,
                               char *errstr, size_t errstr_size);

/** Validates a declaration alone (the `indicators` of an application or a
 *  review), in field order, including rd_staff <= employees.
 *  @returns LDR_OK or LDR_ERR_INVALID_FIELD. */
ldr_err_t ldr_validate_indicators(const ldr_indicators_t *ind, char *errstr,
                                  size_t errstr_size);

/** The latest valid event time: max(@p clock_ms, @p now_ms) +
 *  @p max_skew_days days, saturating at INT64_MAX (negative days count as
 *  0). */
int64_t ldr_validate_time_max(int64_t clock_ms, int64_t now_ms,
                              int max_skew_days);

/** Checks that @p t lies in [LDR_VALIDATE_TIME_MIN_MS,
 *  ldr_validate_time_max(clock_ms, now_ms, max_skew_days)], both ends
 *  included; @p field names it in the message ("occurred_at", "tick_at").
 *  @returns LDR_OK, LDR_ERR_INVALID_FIELD, or LDR_ERR_INVALID_ARG when
 *  @p max_skew_days is outside 0..LDR_VALIDATE_MAX_SKEW_DAYS_LIMIT. */
ldr_err_t ldr_validate_time(const char *field, int64_t t, int64_t clock_ms,
                            int64_t now_ms, int max_skew_days, char *errstr,
                            size_t errstr_size);

#endif
