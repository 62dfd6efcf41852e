/* validate.c -- CONTRACT.md "Validation", one rule per field.
 *
 * DESIGN: the indicator rules are one table in the field order of the
 * Indicators record (name, offset, type, bounds), so the table reads like
 * the contract's and a new field is one line; the order of the table is the
 * order of the checks. The top-level records are short enough to be checked
 * by hand, again in field order. Every numeric check is written as
 * "lo <= v && v <= hi" on the value's own type, which rejects NaN without a
 * separate branch; doubles are still tested with isfinite() first so that
 * the message says "not finite" rather than "out of range". Messages quote
 * untrusted bytes only through validate_show(), which escapes them:
 * messages end up in Kafka headers, logs and JSON. */
#include "ladder/validate.h"
#include "ladder/utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ladder/alloc.h"
#include "ladder/escape.h"
#include "ladder/time.h"
#include "ladder/uscc.h"

struct ldr_validator {
    const ldr_units_t *units;
    int max_skew_days;
};

ldr_validator_t *ldr_validator_new(const ldr_units_t *units,
                                   int max_skew_days) {
    if (!units || max_skew_days < 0 ||
        max_skew_days > LDR_VALIDATE_MAX_SKEW_DAYS_LIMIT)
        return NULL;
    ldr_validator_t *v = ldr_malloc(sizeof *v);
    v->units = units;
    v->max_skew_days = max_skew_days;
    return v;
}

void ldr_validator_destroy(ldr_validator_t *v) {
    free(v);
}

/* ---- message helpers -------------------------------------------------- */

/* Up to this many bytes of an untrusted value are quoted in a message. */
#define LDR_VALIDATE_SHOW_MAX 32

/* @p s as printable ASCII for a message (ldr_escape_show). */
static const char *validate_show(ldr_str_t s, char *buf) {
    return ldr_escape_show(s.ptr, s.len, LDR_VALIDATE_SHOW_MAX, buf);
}
#define LDR_VALIDATE_SHOW_BUF LDR_ESCAPE_SHOW_BUF(LDR_VALIDATE_SHOW_MAX)

/* @p ms as RFC 3339 in @p buf, for messages. */
static const char *validate_iso(int64_t ms,
                                char buf[static LDR_TIME_FORMAT_SIZE]) {
    ldr_time_format(ms, buf, LDR_TIME_FORMAT_SIZE);
    return buf;
}

/* ---- field checks ----------------------------------------------------- */

static ldr_err_t validate_string(const char *field, ldr_str_t s, size_t max,
                                 char *errstr, size_t n) {
    if (s.len > 0 && !s.ptr)
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_ARG,
                           "%s: NULL pointer with length %zu", field, s.len);
    if (s.len == 0)
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                           "%s: empty; must be 1 to %zu bytes of UTF-8", field,
                           max);
    if (s.len > max)
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                           "%s: %zu bytes; must be 1 to %zu bytes of UTF-8",
                           field, s.len, max);
    const char *nul = memchr(s.ptr, '\0', s.len);
    if (nul)
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                           "%s: NUL byte at offset %zu", field,
                           (size_t)(nul - s.ptr));
    size_t ok = ldr_utf8_valid_prefix(s.ptr, s.len);
    if (ok != s.len)
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                           "%s: invalid UTF-8 at offset %zu", field, ok);
    return LDR_OK;
}

ldr_err_t ldr_validate_uscc(ldr_str_t s, char *errstr, size_t n) {
    if (s.len > 0 && !s.ptr)
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_ARG,
                           "uscc: NULL pointer with length %zu", s.len);
    if (ldr_uscc_is_valid(s.ptr, s.len)) return LDR_OK;
    if (s.len != LDR_USCC_LEN)
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_USCC,
                           "uscc: %zu bytes; a USCC is %d characters", s.len,
                           LDR_USCC_LEN);
    for (size_t i = 0; i < LDR_USCC_LEN; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == 0 ||
            !memchr(LDR_USCC_ALPHABET, c, sizeof LDR_USCC_ALPHABET - 1))
            return ldr_err_set(errstr, n, LDR_ERR_INVALID_USCC,
                               "uscc: byte 0x%02x at offset %zu is not one "
                               "of " LDR_USCC_ALPHABET,
                               c, i);
    }
    char want = '?';
    ldr_uscc_check_char(s.ptr, &want);
    return ldr_err_set(errstr, n, LDR_ERR_INVALID_USCC,
                       "uscc: check character is '%c', expected '%c'",
                       s.ptr[LDR_USCC_LEN - 1], want);
}

static ldr_err_t validate_unit(const ldr_validator_t *v, ldr_str_t s,
                               char *errstr, size_t n) {
    if (s.len > 0 && !s.ptr)
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_ARG,
                           "reporting_unit: NULL pointer with length %zu",
                           s.len);
    if (ldr_units_find(v->units, s.ptr, s.len)) return LDR_OK;
    char buf[LDR_VALIDATE_SHOW_BUF];
    return ldr_err_set(errstr, n, LDR_ERR_UNKNOWN_REPORTING_UNIT,
                       "reporting_unit: \"%s\" is not a code of the "
                       "reporting-unit table",
                       validate_show(s, buf));
}

static ldr_err_t validate_enum(const char *field, const char *type,
                               unsigned value, unsigned count, char *errstr,
                               size_t n) {
    if (value < count) return LDR_OK;
    return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                       "%s: %d is not a %s symbol (0 to %u)", field, (int)value,
                       type, count - 1);
}

static ldr_err_t validate_int(const char *field, int64_t value, int64_t lo,
                              int64_t hi, char *errstr, size_t n) {
    if (lo <= value && value <= hi) return LDR_OK;
    return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                       "%s: %" PRId64 " is outside %" PRId64 " to %" PRId64,
                       field, value, lo, hi);
}

int64_t ldr_validate_time_max(int64_t clock_ms, int64_t now_ms,
                              int max_skew_days) {
    int64_t base = clock_ms > now_ms ? clock_ms : now_ms;
    return ldr_time_add_days(base, max_skew_days > 0 ? max_skew_days : 0);
}

ldr_err_t ldr_validate_time(const char *field, int64_t t, int64_t clock_ms,
                            int64_t now_ms, int max_skew_days, char *errstr,
                            size_t n) {
    if (max_skew_days < 0 || max_skew_days > LDR_VALIDATE_MAX_SKEW_DAYS_LIMIT)
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_ARG,
                           "%s: max skew of %d days is outside 0 to %d", field,
                           max_skew_days, LDR_VALIDATE_MAX_SKEW_DAYS_LIMIT);
    char a[LDR_TIME_FORMAT_SIZE], b[LDR_TIME_FORMAT_SIZE];
    if (t < LDR_VALIDATE_TIME_MIN_MS)
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                           "%s: %s (%" PRId64 " ms) is before %s", field,
                           validate_iso(t, a), t,
                           validate_iso(LDR_VALIDATE_TIME_MIN_MS, b));
    int64_t max = ldr_validate_time_max(clock_ms, now_ms, max_skew_days);
    if (t > max)
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                           "%s: %s (%" PRId64 " ms) is after %s, "
                           "max(clock, now) + %d days",
                           field, validate_iso(t, a), t, validate_iso(max, b),
                           max_skew_days);
    return LDR_OK;
}

/* ---- indicators ------------------------------------------------------- */

typedef enum ldr_rule_type {
    LDR_RULE_I32,
    LDR_RULE_I64,
    LDR_RULE_F64,
    LDR_RULE_RD_INSTITUTION,
    LDR_RULE_HONOURS,
    LDR_RULE_OPT_I32, /* ["null", int]: the bool at has_off says present */
} ldr_rule_type_t;

typedef struct ldr_indicator_rule {
    const char *name;
    size_t off;
    ldr_rule_type_t type;
    int64_t lo, hi;  /* I32, I64, OPT_I32 */
    double dlo, dhi; /* F64 */
    size_t has_off;  /* OPT_I32 */
} ldr_indicator_rule_t;

#define LDR_OFF(f) offsetof(ldr_indicators_t, f)
#define LDR_I32(f, lo, hi)                                                     \
    { #f, LDR_OFF(f), LDR_RULE_I32, lo, hi, 0, 0, 0 }
#define LDR_I64(f, lo, hi)                                                     \
    { #f, LDR_OFF(f), LDR_RULE_I64, lo, hi, 0, 0, 0 }
#define LDR_F64(f, lo, hi)                                                     \
    { #f, LDR_OFF(f), LDR_RULE_F64, 0, 0, lo, hi, 0 }
#define LDR_AMOUNT(f) LDR_I64(f, 0, LDR_VALIDATE_AMOUNT_MAX)
#define LDR_COUNT(f)  LDR_I32(f, 0, LDR_VALIDATE_COUNT_MAX)

/* In the field order of the Indicators record. Booleans have no rule. */
static const ldr_indicator_rule_t ldr_indicator_rules[] = {
    LDR_COUNT(years_in_niche),
    LDR_AMOUNT(revenue),
    LDR_AMOUNT(revenue_prev),
    LDR_AMOUNT(main_revenue),
    LDR_AMOUNT(main_revenue_prev),
    LDR_AMOUNT(main_revenue_prev2),
    LDR_I64(net_profit, -LDR_VALIDATE_AMOUNT_MAX, LDR_VALIDATE_AMOUNT_MAX),
    LDR_AMOUNT(rd_expense),
    LDR_AMOUNT(rd_expense_prev),
    LDR_COUNT(employees),
    LDR_COUNT(rd_staff), /* and rd_staff <= employees, checked after it */
    LDR_F64(asset_liability_pct, 0.0, LDR_VALIDATE_ASSET_LIABILITY_PCT_MAX),
    LDR_AMOUNT(equity_financing_2y),
    LDR_AMOUNT(equity_financing_3y),
    LDR_F64(niche_market_share_pct, 0.0, LDR_VALIDATE_MARKET_SHARE_PCT_MAX),
    LDR_I32(niche_market_rank, 0, LDR_VALIDATE_MARKET_RANK_MAX),
    LDR_COUNT(ip_class1),
    LDR_COUNT(ip_class1_high_value),
    LDR_COUNT(ip_class1_self_developed),
    LDR_COUNT(ip_class2),
    {"rd_institution", LDR_OFF(rd_institution), LDR_RULE_RD_INSTITUTION, 0, 0,
     0, 0, 0},
    LDR_I32(digitalization_level, LDR_VALIDATE_DIGITALIZATION_MIN,
            LDR_VALIDATE_DIGITALIZATION_MAX),
    LDR_I32(quality_items, 0, LDR_VALIDATE_QUALITY_ITEMS_MAX),
    {"honours", LDR_OFF(honours), LDR_RULE_HONOURS, 0, 0, 0, 0, 0},
    LDR_I32(local_score, 0, LDR_VALIDATE_LOCAL_SCORE_MAX),
    {"development_score", LDR_OFF(development_score), LDR_RULE_OPT_I32, 0,
     LDR_VALIDATE_DEVELOPMENT_SCORE_MAX, 0, 0, LDR_OFF(has_development_score)},
};

static ldr_err_t validate_rule(const ldr_indicators_t *ind,
                               const ldr_indicator_rule_t *r, char *errstr,
                               size_t n) {
    const char *base = (const char *)ind;
    switch (r->type) {
    case LDR_RULE_I32: {
        int32_t v;
        memcpy(&v, base + r->off, sizeof v);
        return validate_int(r->name, v, r->lo, r->hi, errstr, n);
    }
    case LDR_RULE_I64: {
        int64_t v;
        memcpy(&v, base + r->off, sizeof v);
        return validate_int(r->name, v, r->lo, r->hi, errstr, n);
    }
    case LDR_RULE_F64: {
        double v;
        memcpy(&v, base + r->off, sizeof v);
        if (!isfinite(v))
            return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                               "%s: %g is not a finite number", r->name, v);
        if (r->dlo <= v && v <= r->dhi) return LDR_OK;
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                           "%s: %.17g is outside %g to %g", r->name, v, r->dlo,
                           r->dhi);
    }
    case LDR_RULE_RD_INSTITUTION:
        return validate_enum(r->name, "RdInstitution",
                             (unsigned)ind->rd_institution, LDR_RD__COUNT,
                             errstr, n);
    case LDR_RULE_HONOURS: {
        uint32_t known = (UINT32_C(1) << LDR_HONOUR__COUNT) - 1;
        if ((ind->honours & ~known) == 0) return LDR_OK;
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                           "%s: bits 0x%" PRIx32 " are not Honour symbols "
                           "(only bits 0 to %d are)",
                           r->name, ind->honours & ~known,
                           LDR_HONOUR__COUNT - 1);
    }
    case LDR_RULE_OPT_I32: {
        bool has;
        int32_t v;
        memcpy(&has, base + r->has_off, sizeof has);
        if (!has) return LDR_OK;
        memcpy(&v, base + r->off, sizeof v);
        return validate_int(r->name, v, r->lo, r->hi, errstr, n);
    }
    }
    return ldr_err_set(errstr, n, LDR_ERR_INVALID_ARG, "%s: no rule", r->name);
}

ldr_err_t ldr_validate_indicators(const ldr_indicators_t *ind, char *errstr,
                                  size_t n) {
    if (!ind)
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_ARG, "indicators: NULL");
    size_t count = LDR_ARRAY_SIZE(ldr_indicator_rules);
    for (size_t i = 0; i < count; i++) {
        const ldr_indicator_rule_t *r = &ldr_indicator_rules[i];
        ldr_err_t err = validate_rule(ind, r, errstr, n);
        if (err != LDR_OK) return err;
        if (r->off == LDR_OFF(rd_staff) && ind->rd_staff > ind->employees)
            return ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                               "rd_staff: %" PRId32 " exceeds employees "
                               "(%" PRId32 ")",
                               ind->rd_staff, ind->employees);
    }
    return LDR_OK;
}

/* ---- records ---------------------------------------------------------- */

/* Evaluates a check and returns its error, if any. */
#define LDR_CHECK(expr)                                                        \
    do {                                                                       \
        ldr_err_t ldr_check_err_ = (expr);                                     \
        if (ldr_check_err_ != LDR_OK) return ldr_check_err_;                   \
    } while (0)

static ldr_err_t validate_application(const ldr_validator_t *v,
                                      const ldr_application_t *a,
                                      int64_t clock_ms, int64_t now_ms,
                                      char *errstr, size_t n) {
    LDR_CHECK(validate_string("event_id", a->event_id, LDR_VALIDATE_ID_MAX,
                              errstr, n));
    LDR_CHECK(ldr_validate_uscc(a->uscc, errstr, n));
    LDR_CHECK(validate_string("enterprise_name", a->enterprise_name,
                              LDR_VALIDATE_NAME_MAX, errstr, n));
    LDR_CHECK(validate_unit(v, a->reporting_unit, errstr, n));
    LDR_CHECK(validate_enum("tier", "Tier", (unsigned)a->tier, LDR_TIER__COUNT,
                            errstr, n));
    LDR_CHECK(validate_int("batch", a->batch, LDR_VALIDATE_BATCH_MIN,
                           LDR_VALIDATE_BATCH_MAX, errstr, n));
    LDR_CHECK(ldr_validate_time("occurred_at", a->occurred_at, clock_ms, now_ms,
                                v->max_skew_days, errstr, n));
    return ldr_validate_indicators(&a->indicators, errstr, n);
}

static ldr_err_t validate_review(const ldr_validator_t *v,
                                 const ldr_review_t *r, int64_t clock_ms,
                                 int64_t now_ms, char *errstr, size_t n) {
    LDR_CHECK(validate_string("event_id", r->event_id, LDR_VALIDATE_ID_MAX,
                              errstr, n));
    LDR_CHECK(ldr_validate_uscc(r->uscc, errstr, n));
    LDR_CHECK(validate_string("enterprise_name", r->enterprise_name,
                              LDR_VALIDATE_NAME_MAX, errstr, n));
    LDR_CHECK(validate_unit(v, r->reporting_unit, errstr, n));
    LDR_CHECK(validate_enum("tier", "Tier", (unsigned)r->tier, LDR_TIER__COUNT,
                            errstr, n));
    LDR_CHECK(ldr_validate_time("occurred_at", r->occurred_at, clock_ms, now_ms,
                                v->max_skew_days, errstr, n));
    return ldr_validate_indicators(&r->indicators, errstr, n);
}

static ldr_err_t validate_violation(const ldr_validator_t *v,
                                    const ldr_violation_t *x, int64_t clock_ms,
                                    int64_t now_ms, char *errstr, size_t n) {
    LDR_CHECK(validate_string("event_id", x->event_id, LDR_VALIDATE_ID_MAX,
                              errstr, n));
    LDR_CHECK(ldr_validate_uscc(x->uscc, errstr, n));
    LDR_CHECK(validate_unit(v, x->reporting_unit, errstr, n));
    LDR_CHECK(
        validate_string("case_id", x->case_id, LDR_VALIDATE_ID_MAX, errstr, n));
    LDR_CHECK(validate_enum("kind", "ViolationKind", (unsigned)x->kind,
                            LDR_VIOLATION__COUNT, errstr, n));
    LDR_CHECK(validate_enum("status", "CaseStatus", (unsigned)x->status,
                            LDR_CASE__COUNT, errstr, n));
    return ldr_validate_time("occurred_at", x->occurred_at, clock_ms, now_ms,
                             v->max_skew_days, errstr, n);
}

static ldr_err_t validate_tick(const ldr_validator_t *v,
                               const ldr_clock_tick_t *t, int64_t clock_ms,
                               int64_t now_ms, char *errstr, size_t n) {
    LDR_CHECK(ldr_validate_time("tick_at", t->tick_at, clock_ms, now_ms,
                                v->max_skew_days, errstr, n));
    return validate_string("source", t->source, LDR_VALIDATE_ID_MAX, errstr, n);
}

ldr_err_t ldr_validate_record(const ldr_validator_t *v, const ldr_record_t *rec,
                              int64_t clock_ms, int64_t now_ms, char *errstr,
                              size_t n) {
    if (!v || !rec)
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_ARG,
                           "record: NULL validator or record");
    switch (rec->kind) {
    case LDR_RECORD_APPLICATION:
        return validate_application(v, &rec->u.application, clock_ms, now_ms,
                                    errstr, n);
    case LDR_RECORD_REVIEW:
        return validate_review(v, &rec->u.review, clock_ms, now_ms, errstr, n);
    case LDR_RECORD_VIOLATION:
        return validate_violation(v, &rec->u.violation, clock_ms, now_ms,
                                  errstr, n);
    case LDR_RECORD_CLOCK_TICK:
        return validate_tick(v, &rec->u.tick, clock_ms, now_ms, errstr, n);
    case LDR_RECORD_DECISION:
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_ARG,
                           "record: DesignationDecision is an output; only "
                           "input records are validated");
    }
    return ldr_err_set(errstr, n, LDR_ERR_INVALID_ARG,
                       "record: unknown kind %d", (int)rec->kind);
}

ldr_err_t ldr_validate_key(const ldr_record_t *rec, const void *key,
                           size_t key_len, char *errstr, size_t n) {
    if (!rec)
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_ARG, "key: NULL record");
    ldr_str_t uscc;
    switch (rec->kind) {
    case LDR_RECORD_APPLICATION: uscc = rec->u.application.uscc; break;
    case LDR_RECORD_REVIEW: uscc = rec->u.review.uscc; break;
    case LDR_RECORD_VIOLATION: uscc = rec->u.violation.uscc; break;
    case LDR_RECORD_CLOCK_TICK: return LDR_OK; /* unkeyed by contract */
    case LDR_RECORD_DECISION:
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_ARG,
                           "key: DesignationDecision is an output; only "
                           "input records are validated");
    default:
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_ARG,
                           "key: unknown record kind %d", (int)rec->kind);
    }
    if (!key)
        return ldr_err_set(errstr, n, LDR_ERR_KEY_MISMATCH,
                           "key: missing; a keyed record's key is its uscc");
    if (key_len == uscc.len &&
        (key_len == 0 || (uscc.ptr && memcmp(key, uscc.ptr, key_len) == 0)))
        return LDR_OK;
    char kb[LDR_VALIDATE_SHOW_BUF], ub[LDR_VALIDATE_SHOW_BUF];
    ldr_str_t k = {key, key_len};
    if (!uscc.ptr) uscc.len = 0;
    return ldr_err_set(errstr, n, LDR_ERR_KEY_MISMATCH,
                       "key: \"%s\" is not the record's uscc \"%s\"",
                       validate_show(k, kb), validate_show(uscc, ub));
}

ldr_err_t ldr_validate_message(const ldr_validator_t *v,
                               const ldr_record_t *rec, const void *key,
                               size_t key_len, int64_t clock_ms, int64_t now_ms,
                               char *errstr, size_t n) {
    LDR_CHECK(ldr_validate_record(v, rec, clock_ms, now_ms, errstr, n));
    return ldr_validate_key(rec, key, key_len, errstr, n);
}
