/* test_validate.c -- CONTRACT.md "Validation", field by field.
 *
 * The bounds in these tables are written out from the contract, not taken
 * from validate.h, so a wrong constant there is caught here. Every test
 * starts from a valid sample record built by the helpers below and changes
 * one thing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ladder/units.h"
#include "ladder/units_file.h"
#include "ladder/utf8.h"
#include "ladder/uscc.h"
#include "ladder/validate.h"

#define UNITS_FILE LADDER_SOURCE_DIR "/deploy/data/reporting_units.csv"

#define DAY   INT64_C(86400000)
#define T2000 INT64_C(946684800000)  /* 2000-01-01T00:00:00Z */
#define NOW   INT64_C(1717200000000) /* 2024-06-01T00:00:00Z */
#define CLOCK (NOW - 10 * DAY)
#define SKEW  400

static const char USCC[] = "91110108G301661394";
static const char OTHER_USCC[] = "914403000308246259";

typedef struct fixture {
    ldr_units_t *units;
    ldr_validator_t *v;
} fixture_t;

static int group_setup(void **state) {
    static fixture_t f;
    char err[256] = "";
    f.units = ldr_units_load(UNITS_FILE, err, sizeof err);
    if (!f.units) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    f.v = ldr_validator_new(f.units, SKEW);
    if (!f.v) return -1;
    *state = &f;
    return 0;
}

static int group_teardown(void **state) {
    fixture_t *f = *state;
    ldr_validator_destroy(f->v);
    ldr_units_destroy(f->units);
    return 0;
}

/* ---- sample records --------------------------------------------------- */

static void sample_indicators(ldr_indicators_t *ind) {
    memset(ind, 0, sizeof *ind);
    ind->years_in_niche = 6;
    ind->revenue = 180000000;
    ind->revenue_prev = 150000000;
    ind->main_revenue = 160000000;
    ind->main_revenue_prev = 130000000;
    ind->main_revenue_prev2 = 110000000;
    ind->net_profit = 21000000;
    ind->rd_expense = 9000000;
    ind->rd_expense_prev = 7000000;
    ind->employees = 320;
    ind->rd_staff = 80;
    ind->asset_liability_pct = 48.5;
    ind->equity_financing_2y = 0;
    ind->equity_financing_3y = 30000000;
    ind->niche_market_share_pct = 12.5;
    ind->niche_market_rank = 3;
    ind->ip_class1 = 5;
    ind->ip_class1_high_value = 1;
    ind->ip_class1_self_developed = 4;
    ind->ip_class2 = 20;
    ind->rd_institution = LDR_RD_PROVINCIAL;
    ind->digitalization_level = 3;
    ind->quality_items = 2;
    ind->own_brand = true;
    ind->mgmt_certification = true;
    ind->core_business_on_info_system = true;
    ind->field_six_foundations = true;
    ind->key_chain_link = true;
    ind->honours = (1u << LDR_HONOUR_HIGH_TECH_ENTERPRISE) |
                   (1u << LDR_HONOUR_MAKER_CHINA_TOP50_3Y);
    ind->local_score = 9;
    ind->has_development_score = true;
    ind->development_score = 72;
}

static void sample(ldr_record_t *rec, ldr_record_kind_t kind) {
    memset(rec, 0, sizeof *rec);
    rec->kind = kind;
    switch (kind) {
    case LDR_RECORD_APPLICATION: {
        ldr_application_t *a = &rec->u.application;
        a->event_id = ldr_str("app-0001");
        a->uscc = ldr_str(USCC);
        a->enterprise_name = ldr_str("北京精工传感科技有限公司");
        a->reporting_unit = ldr_str("11");
        a->tier = LDR_TIER_LITTLE_GIANT;
        a->batch = 7;
        a->occurred_at = NOW - 30 * DAY;
        sample_indicators(&a->indicators);
        break;
    }
    case LDR_RECORD_REVIEW: {
        ldr_review_t *r = &rec->u.review;
        r->event_id = ldr_str("rev-0001");
        r->uscc = ldr_str(USCC);
        r->enterprise_name = ldr_str("北京精工传感科技有限公司");
        r->reporting_unit = ldr_str("4403");
        r->tier = LDR_TIER_SPECIALIZED;
        r->occurred_at = NOW - DAY;
        sample_indicators(&r->indicators);
        break;
    }
    case LDR_RECORD_VIOLATION: {
        ldr_violation_t *x = &rec->u.violation;
        x->event_id = ldr_str("vio-0001");
        x->uscc = ldr_str(USCC);
        x->reporting_unit = ldr_str("66");
        x->case_id = ldr_str("京市监罚〔2024〕17号");
        x->kind = LDR_VIOLATION_OTHER_ILLEGAL_ACT;
        x->status = LDR_CASE_DISMISSED;
        x->occurred_at = NOW;
        x->has_details = true;
        x->details = ldr_str("anything at all \xff: details are not checked");
        break;
    }
    case LDR_RECORD_CLOCK_TICK:
        rec->u.tick.tick_at = NOW;
        rec->u.tick.source = ldr_str("ladder-worker/3");
        break;
    case LDR_RECORD_DECISION:
        rec->u.decision.decision = LDR_DECISION_DESIGNATED;
        rec->u.decision.uscc = ldr_str(USCC);
        break;
    }
}

static ldr_indicators_t *indicators_of(ldr_record_t *rec) {
    return rec->kind == LDR_RECORD_APPLICATION ? &rec->u.application.indicators
                                               : &rec->u.review.indicators;
}

static const ldr_record_kind_t input_kinds[] = {
    LDR_RECORD_APPLICATION, LDR_RECORD_REVIEW, LDR_RECORD_VIOLATION,
    LDR_RECORD_CLOCK_TICK};

/* Validates @p rec and checks the outcome: @p want, and for an error a
 * message that starts with "<field>:". */
static void expect(const fixture_t *f, const ldr_record_t *rec,
                   int64_t clock_ms, int64_t now_ms, ldr_err_t want,
                   const char *field, const char *what) {
    char err[512] = "";
    ldr_err_t got =
        ldr_validate_record(f->v, rec, clock_ms, now_ms, err, sizeof err);
    if (got != want)
        fail_msg("%s (kind %d): got %s (\"%s\"), want %s", what, (int)rec->kind,
                 ldr_err_code(got), err, ldr_err_code(want));
    if (want != LDR_OK && field) {
        size_t n = strlen(field);
        if (strncmp(err, field, n) != 0 || err[n] != ':')
            fail_msg("%s: message \"%s\" does not start with \"%s:\"", what,
                     err, field);
    }
}

/* ---- whole records ---------------------------------------------------- */

static void test_validate_valid_record_of_each_kind_passes(void **state) {
    const fixture_t *f = *state;
    for (size_t i = 0; i < sizeof input_kinds / sizeof input_kinds[0]; i++) {
        ldr_record_t rec;
        sample(&rec, input_kinds[i]);
        expect(f, &rec, CLOCK, NOW, LDR_OK, NULL, "sample");
        char err[256] = "";
        assert_int_equal(ldr_validate_message(f->v, &rec, USCC, 18, CLOCK, NOW,
                                              err, sizeof err),
                         LDR_OK);
    }
}

static void test_validate_decision_is_invalid_arg(void **state) {
    const fixture_t *f = *state;
    ldr_record_t rec;
    sample(&rec, LDR_RECORD_DECISION);
    char err[256] = "";
    assert_int_equal(
        ldr_validate_record(f->v, &rec, CLOCK, NOW, err, sizeof err),
        LDR_ERR_INVALID_ARG);
    assert_int_equal(ldr_validate_key(&rec, USCC, 18, err, sizeof err),
                     LDR_ERR_INVALID_ARG);
    rec.kind = (ldr_record_kind_t)99;
    assert_int_equal(
        ldr_validate_record(f->v, &rec, CLOCK, NOW, err, sizeof err),
        LDR_ERR_INVALID_ARG);
    assert_int_equal(ldr_validate_key(&rec, USCC, 18, err, sizeof err),
                     LDR_ERR_INVALID_ARG);
    assert_false(ldr_err_is_dead_letter(LDR_ERR_INVALID_ARG));
}

static void test_validate_validator_new_rejects_bad_args(void **state) {
    const fixture_t *f = *state;
    assert_null(ldr_validator_new(NULL, 400));
    assert_null(ldr_validator_new(f->units, -1));
    assert_null(ldr_validator_new(f->units, 36501));
    ldr_validator_t *v = ldr_validator_new(f->units, 0);
    assert_non_null(v);
    ldr_validator_destroy(v);
    v = ldr_validator_new(f->units, 36500);
    assert_non_null(v);
    ldr_validator_destroy(v);
    ldr_validator_destroy(NULL);
}

static void test_validate_null_errstr_is_allowed(void **state) {
    const fixture_t *f = *state;
    ldr_record_t rec;
    sample(&rec, LDR_RECORD_APPLICATION);
    rec.u.application.batch = 0;
    assert_int_equal(ldr_validate_record(f->v, &rec, CLOCK, NOW, NULL, 0),
                     LDR_ERR_INVALID_FIELD);
}

/* ---- numeric bounds --------------------------------------------------- */

typedef enum { I32, I64, F64, OPT_I32 } num_type_t;

typedef struct num_case {
    const char *name;
    size_t off;
    num_type_t type;
    int64_t lo, hi;
    double dlo, dhi;
} num_case_t;

#define OFF(f) offsetof(ldr_indicators_t, f)
#define INT32(f, lo, hi)                                                       \
    { #f, OFF(f), I32, lo, hi, 0, 0 }
#define INT64(f, lo, hi)                                                       \
    { #f, OFF(f), I64, lo, hi, 0, 0 }
#define DOUBLE(f, lo, hi)                                                      \
    { #f, OFF(f), F64, 0, 0, lo, hi }
#define E15 INT64_C(1000000000000000)
#define E7  10000000

static const num_case_t num_cases[] = {
    INT32(years_in_niche, 0, E7),
    INT64(revenue, 0, E15),
    INT64(revenue_prev, 0, E15),
    INT64(main_revenue, 0, E15),
    INT64(main_revenue_prev, 0, E15),
    INT64(main_revenue_prev2, 0, E15),
    INT64(net_profit, -E15, E15),
    INT64(rd_expense, 0, E15),
    INT64(rd_expense_prev, 0, E15),
    INT32(employees, 0, E7),
    INT32(rd_staff, 0, E7),
    DOUBLE(asset_liability_pct, 0.0, 1000.0),
    INT64(equity_financing_2y, 0, E15),
    INT64(equity_financing_3y, 0, E15),
    DOUBLE(niche_market_share_pct, 0.0, 100.0),
    INT32(niche_market_rank, 0, 1000000),
    INT32(ip_class1, 0, E7),
    INT32(ip_class1_high_value, 0, E7),
    INT32(ip_class1_self_developed, 0, E7),
    INT32(ip_class2, 0, E7),
    INT32(digitalization_level, 1, 4),
    INT32(quality_items, 0, 4),
    INT32(local_score, 0, 15),
    {"development_score", OFF(development_score), OPT_I32, 0, 100, 0, 0},
};

static void set_num(ldr_indicators_t *ind, const num_case_t *c, int64_t iv,
                    double dv) {
    char *base = (char *)ind;
    switch (c->type) {
    case I32:
    case OPT_I32: {
        int32_t v = (int32_t)iv;
        memcpy(base + c->off, &v, sizeof v);
        if (c->type == OPT_I32) ind->has_development_score = true;
        break;
    }
    case I64: memcpy(base + c->off, &iv, sizeof iv); break;
    case F64: memcpy(base + c->off, &dv, sizeof dv); break;
    }
}

/* Sets one value on a fresh sample of @p kind (with employees at its maximum
 * and rd_staff at 0, so that both can reach their own bounds) and checks
 * the outcome through the record and through ldr_validate_indicators(). */
static void check_num(const fixture_t *f, ldr_record_kind_t kind,
                      const num_case_t *c, int64_t iv, double dv, bool ok) {
    ldr_record_t rec;
    sample(&rec, kind);
    ldr_indicators_t *ind = indicators_of(&rec);
    ind->employees = E7;
    ind->rd_staff = 0;
    set_num(ind, c, iv, dv);
    char what[128];
    if (c->type == F64)
        snprintf(what, sizeof what, "%s = %.17g", c->name, dv);
    else
        snprintf(what, sizeof what, "%s = %lld", c->name, (long long)iv);
    ldr_err_t want = ok ? LDR_OK : LDR_ERR_INVALID_FIELD;
    expect(f, &rec, CLOCK, NOW, want, c->name, what);
    char err[256] = "";
    assert_int_equal(ldr_validate_indicators(ind, err, sizeof err), want);
}

static void test_validate_numeric_bounds(void **state) {
    const fixture_t *f = *state;
    static const ldr_record_kind_t kinds[] = {LDR_RECORD_APPLICATION,
                                              LDR_RECORD_REVIEW};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < sizeof num_cases / sizeof num_cases[0]; i++) {
            const num_case_t *c = &num_cases[i];
            if (c->type == F64) {
                check_num(f, kinds[k], c, 0, nextafter(c->dlo, -INFINITY),
                          false);
                check_num(f, kinds[k], c, 0, c->dlo, true);
                check_num(f, kinds[k], c, 0, nextafter(c->dlo, INFINITY), true);
                check_num(f, kinds[k], c, 0, nextafter(c->dhi, -INFINITY),
                          true);
                check_num(f, kinds[k], c, 0, c->dhi, true);
                check_num(f, kinds[k], c, 0, nextafter(c->dhi, INFINITY),
                          false);
            } else {
                check_num(f, kinds[k], c, c->lo - 1, 0, false);
                check_num(f, kinds[k], c, c->lo, 0, true);
                check_num(f, kinds[k], c, c->lo + 1, 0, true);
                check_num(f, kinds[k], c, c->hi - 1, 0, true);
                check_num(f, kinds[k], c, c->hi, 0, true);
                check_num(f, kinds[k], c, c->hi + 1, 0, false);
            }
        }
}

static void test_validate_int32_extremes(void **state) {
    const fixture_t *f = *state;
    for (size_t i = 0; i < sizeof num_cases / sizeof num_cases[0]; i++) {
        const num_case_t *c = &num_cases[i];
        if (c->type == I32 || c->type == OPT_I32) {
            check_num(f, LDR_RECORD_APPLICATION, c, INT32_MIN, 0, false);
            check_num(f, LDR_RECORD_APPLICATION, c, INT32_MAX, 0, false);
        } else if (c->type == I64) {
            check_num(f, LDR_RECORD_APPLICATION, c, INT64_MIN, 0, false);
            check_num(f, LDR_RECORD_APPLICATION, c, INT64_MAX, 0, false);
        }
    }
}

static void test_validate_nan_and_infinity(void **state) {
    const fixture_t *f = *state;
    const double bad[] = {NAN, -NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof num_cases / sizeof num_cases[0]; i++) {
        if (num_cases[i].type != F64) continue;
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            check_num(f, LDR_RECORD_APPLICATION, &num_cases[i], 0, bad[b],
                      false);
            check_num(f, LDR_RECORD_REVIEW, &num_cases[i], 0, bad[b], false);
        }
        ldr_record_t rec;
        sample(&rec, LDR_RECORD_APPLICATION);
        set_num(&rec.u.application.indicators, &num_cases[i], 0, NAN);
        char err[256] = "";
        assert_int_equal(
            ldr_validate_record(f->v, &rec, CLOCK, NOW, err, sizeof err),
            LDR_ERR_INVALID_FIELD);
        assert_non_null(strstr(err, "not a finite number"));
    }
}

static void test_validate_batch_bounds(void **state) {
    const fixture_t *f = *state;
    const struct {
        int32_t batch;
        bool ok;
    } cases[] = {{INT32_MIN, false}, {-1, false},  {0, false},
                 {1, true},          {2, true},    {99, true},
                 {100, true},        {101, false}, {INT32_MAX, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ldr_record_t rec;
        sample(&rec, LDR_RECORD_APPLICATION);
        rec.u.application.batch = cases[i].batch;
        expect(f, &rec, CLOCK, NOW,
               cases[i].ok ? LDR_OK : LDR_ERR_INVALID_FIELD, "batch", "batch");
    }
}

static void test_validate_rd_staff_exceeds_employees(void **state) {
    const fixture_t *f = *state;
    ldr_record_t rec;
    sample(&rec, LDR_RECORD_APPLICATION);
    ldr_indicators_t *ind = &rec.u.application.indicators;
    ind->employees = 10;
    ind->rd_staff = 10;
    expect(f, &rec, CLOCK, NOW, LDR_OK, NULL, "rd_staff = employees");
    ind->rd_staff = 11;
    char err[256] = "";
    assert_int_equal(
        ldr_validate_record(f->v, &rec, CLOCK, NOW, err, sizeof err),
        LDR_ERR_INVALID_FIELD);
    assert_string_equal(err, "rd_staff: 11 exceeds employees (10)");
    ind->employees = 0;
    ind->rd_staff = 1;
    expect(f, &rec, CLOCK, NOW, LDR_ERR_INVALID_FIELD, "rd_staff",
           "rd_staff > 0 employees");
    /* An invalid head count is reported as itself, not as the relation. */
    ind->employees = -1;
    ind->rd_staff = 0;
    expect(f, &rec, CLOCK, NOW, LDR_ERR_INVALID_FIELD, "employees",
           "employees < 0");
}

static void test_validate_development_score_null(void **state) {
    const fixture_t *f = *state;
    ldr_record_t rec;
    sample(&rec, LDR_RECORD_REVIEW);
    ldr_indicators_t *ind = &rec.u.review.indicators;
    /* null: whatever is in the value slot does not matter */
    ind->has_development_score = false;
    ind->development_score = -5;
    expect(f, &rec, CLOCK, NOW, LDR_OK, NULL, "null development_score");
    ind->has_development_score = true;
    expect(f, &rec, CLOCK, NOW, LDR_ERR_INVALID_FIELD, "development_score",
           "development_score = -5");
}

/* ---- enums and sets --------------------------------------------------- */

static void test_validate_enums_out_of_range(void **state) {
    const fixture_t *f = *state;
    ldr_record_t rec;
    for (int t = -1; t <= LDR_TIER__COUNT; t++) {
        bool ok = t >= 0 && t < LDR_TIER__COUNT;
        sample(&rec, LDR_RECORD_APPLICATION);
        rec.u.application.tier = (ldr_tier_t)t;
        expect(f, &rec, CLOCK, NOW, ok ? LDR_OK : LDR_ERR_INVALID_FIELD, "tier",
               "application tier");
        sample(&rec, LDR_RECORD_REVIEW);
        rec.u.review.tier = (ldr_tier_t)t;
        expect(f, &rec, CLOCK, NOW, ok ? LDR_OK : LDR_ERR_INVALID_FIELD, "tier",
               "review tier");
    }
    for (int v = -1; v <= LDR_RD__COUNT; v++) {
        sample(&rec, LDR_RECORD_APPLICATION);
        rec.u.application.indicators.rd_institution = (ldr_rd_institution_t)v;
        expect(f, &rec, CLOCK, NOW,
               v >= 0 && v < LDR_RD__COUNT ? LDR_OK : LDR_ERR_INVALID_FIELD,
               "rd_institution", "rd_institution");
    }
    for (int v = -1; v <= LDR_VIOLATION__COUNT; v++) {
        sample(&rec, LDR_RECORD_VIOLATION);
        rec.u.violation.kind = (ldr_violation_kind_t)v;
        expect(f, &rec, CLOCK, NOW,
               v >= 0 && v < LDR_VIOLATION__COUNT ? LDR_OK
                                                  : LDR_ERR_INVALID_FIELD,
               "kind", "violation kind");
    }
    for (int v = -1; v <= LDR_CASE__COUNT; v++) {
        sample(&rec, LDR_RECORD_VIOLATION);
        rec.u.violation.status = (ldr_case_status_t)v;
        expect(f, &rec, CLOCK, NOW,
               v >= 0 && v < LDR_CASE__COUNT ? LDR_OK : LDR_ERR_INVALID_FIELD,
               "status", "case status");
    }
}

static void test_validate_honours_known_bits_only(void **state) {
    const fixture_t *f = *state;
    ldr_record_t rec;
    sample(&rec, LDR_RECORD_APPLICATION);
    ldr_indicators_t *ind = &rec.u.application.indicators;
    ind->honours = 0;
    expect(f, &rec, CLOCK, NOW, LDR_OK, NULL, "no honours");
    ind->honours = (1u << LDR_HONOUR__COUNT) - 1;
    expect(f, &rec, CLOCK, NOW, LDR_OK, NULL, "all honours");
    for (unsigned bit = LDR_HONOUR__COUNT; bit < 32; bit++) {
        ind->honours = 1u | (1u << bit);
        expect(f, &rec, CLOCK, NOW, LDR_ERR_INVALID_FIELD, "honours",
               "unknown honour bit");
    }
}

/* ---- strings ---------------------------------------------------------- */

static ldr_str_t *str_field(ldr_record_t *rec, const char *field) {
    bool event_id = strcmp(field, "event_id") == 0;
    bool name = strcmp(field, "enterprise_name") == 0;
    switch (rec->kind) {
    case LDR_RECORD_APPLICATION:
        return event_id ? &rec->u.application.event_id
               : name   ? &rec->u.application.enterprise_name
                        : NULL;
    case LDR_RECORD_REVIEW:
        return event_id ? &rec->u.review.event_id
               : name   ? &rec->u.review.enterprise_name
                        : NULL;
    case LDR_RECORD_VIOLATION:
        return event_id                        ? &rec->u.violation.event_id
               : strcmp(field, "case_id") == 0 ? &rec->u.violation.case_id
                                               : NULL;
    case LDR_RECORD_CLOCK_TICK:
        return strcmp(field, "source") == 0 ? &rec->u.tick.source : NULL;
    default: return NULL;
    }
}

static const struct {
    ldr_record_kind_t kind;
    const char *field;
    size_t max;
} str_cases[] = {
    {LDR_RECORD_APPLICATION, "event_id", 128},
    {LDR_RECORD_APPLICATION, "enterprise_name", 200},
    {LDR_RECORD_REVIEW, "event_id", 128},
    {LDR_RECORD_REVIEW, "enterprise_name", 200},
    {LDR_RECORD_VIOLATION, "event_id", 128},
    {LDR_RECORD_VIOLATION, "case_id", 128},
    {LDR_RECORD_CLOCK_TICK, "source", 128},
};

/* Fills @p buf with @p len bytes: 3-byte characters (U+4E2D) while they
 * fit, then ASCII, so the length is in bytes, not characters. */
static void fill_utf8(char *buf, size_t len) {
    size_t i = 0;
    for (; i + 3 <= len; i += 3)
        memcpy(buf + i, "\xE4\xB8\xAD", 3);
    for (; i < len; i++)
        buf[i] = 'a';
}

static void check_str(const fixture_t *f, ldr_record_kind_t kind,
                      const char *field, const char *bytes, size_t len, bool ok,
                      const char *what) {
    ldr_record_t rec;
    sample(&rec, kind);
    ldr_str_t *s = str_field(&rec, field);
    assert_non_null(s);
    s->ptr = bytes;
    s->len = len;
    char label[160];
    snprintf(label, sizeof label, "%s %s", field, what);
    expect(f, &rec, CLOCK, NOW, ok ? LDR_OK : LDR_ERR_INVALID_FIELD, field,
           label);
}

static void test_validate_string_fields(void **state) {
    const fixture_t *f = *state;
    static const struct {
        const char *bytes;
        size_t len;
        const char *what;
    } bad[] = {
        {"ab\xC0\xAF", 4, "overlong '/'"},
        {"\xE0\x80\xAF", 3, "overlong 3-byte '/'"},
        {"ab\xED\xA0\x80", 5, "high surrogate"},
        {"\xED\xBF\xBF-x", 5, "low surrogate"},
        {"ab\xE4\xB8", 4, "truncated at the end"},
        {"\xE4\xB8x", 3, "truncated before ASCII"},
        {"\xF4\x90\x80\x80", 4, "above U+10FFFF"},
        {"\x80", 1, "lone continuation byte"},
        {"\xFF", 1, "byte FF"},
        {"a\0b", 3, "NUL byte"},
        {"\0", 1, "only a NUL byte"},
    };
    char buf[256];
    for (size_t i = 0; i < sizeof str_cases / sizeof str_cases[0]; i++) {
        ldr_record_kind_t kind = str_cases[i].kind;
        const char *field = str_cases[i].field;
        size_t max = str_cases[i].max;

        check_str(f, kind, field, "", 0, false, "empty");
        check_str(f, kind, field, NULL, 0, false, "NULL empty");
        check_str(f, kind, field, "x", 1, true, "1 byte");
        memset(buf, 'x', sizeof buf);
        check_str(f, kind, field, buf, max, true, "max ASCII");
        check_str(f, kind, field, buf, max + 1, false, "max + 1 ASCII");
        fill_utf8(buf, max);
        check_str(f, kind, field, buf, max, true, "max bytes of UTF-8");
        fill_utf8(buf, max + 1);
        check_str(f, kind, field, buf, max + 1, false, "max + 1 bytes");
        /* a 4-byte character ending exactly at the maximum */
        memset(buf, 'x', max - 4);
        memcpy(buf + max - 4, "\xF0\x9F\x98\x80", 4);
        check_str(f, kind, field, buf, max, true, "emoji at the end");
        check_str(f, kind, field, buf, max - 1, false, "emoji cut by length");
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
            check_str(f, kind, field, bad[b].bytes, bad[b].len, false,
                      bad[b].what);
    }
}

static void test_validate_string_messages(void **state) {
    const fixture_t *f = *state;
    ldr_record_t rec;
    char err[256];
    sample(&rec, LDR_RECORD_APPLICATION);
    rec.u.application.enterprise_name = (ldr_str_t){"ok\xED\xA0\x80", 5};
    ldr_validate_record(f->v, &rec, CLOCK, NOW, err, sizeof err);
    assert_string_equal(err, "enterprise_name: invalid UTF-8 at offset 2");
    rec.u.application.enterprise_name = (ldr_str_t){"ok\0", 3};
    ldr_validate_record(f->v, &rec, CLOCK, NOW, err, sizeof err);
    assert_string_equal(err, "enterprise_name: NUL byte at offset 2");
    sample(&rec, LDR_RECORD_VIOLATION);
    rec.u.violation.case_id = ldr_str("");
    ldr_validate_record(f->v, &rec, CLOCK, NOW, err, sizeof err);
    assert_non_null(strstr(err, "case_id: empty"));
    /* A NULL pointer with a length is a caller bug, not a dead letter. */
    sample(&rec, LDR_RECORD_CLOCK_TICK);
    rec.u.tick.source = (ldr_str_t){NULL, 3};
    assert_int_equal(
        ldr_validate_record(f->v, &rec, CLOCK, NOW, err, sizeof err),
        LDR_ERR_INVALID_ARG);
}

/* ---- uscc and reporting unit ------------------------------------------ */

static void test_validate_invalid_uscc(void **state) {
    const fixture_t *f = *state;
    static const struct {
        const char *s;
        size_t len;
    } bad[] = {
        {"91110108G301661395", 18}, /* wrong check character */
        {"91110108G30166139", 17},   {"91110108G3016613944", 19},      {"", 0},
        {"91110108g301661394", 18}, /* lower case */
        {"91110108I301661394", 18}, /* excluded letter */
        {"91110108G30166139\0", 18}, {"9111010\xC3\xA9G30166139", 18},
    };
    static const ldr_record_kind_t kinds[] = {
        LDR_RECORD_APPLICATION, LDR_RECORD_REVIEW, LDR_RECORD_VIOLATION};
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            ldr_record_t rec;
            sample(&rec, kinds[k]);
            ldr_str_t s = {bad[i].s, bad[i].len};
            if (kinds[k] == LDR_RECORD_APPLICATION) rec.u.application.uscc = s;
            if (kinds[k] == LDR_RECORD_REVIEW) rec.u.review.uscc = s;
            if (kinds[k] == LDR_RECORD_VIOLATION) rec.u.violation.uscc = s;
            expect(f, &rec, CLOCK, NOW, LDR_ERR_INVALID_USCC, "uscc",
                   "invalid uscc");
        }
    ldr_record_t rec;
    char err[256];
    sample(&rec, LDR_RECORD_APPLICATION);
    rec.u.application.uscc = ldr_str("91110108G301661395");
    ldr_validate_record(f->v, &rec, CLOCK, NOW, err, sizeof err);
    assert_string_equal(err, "uscc: check character is '5', expected '4'");
}

static void test_validate_unknown_reporting_unit(void **state) {
    const fixture_t *f = *state;
    static const struct {
        const char *s;
        size_t len;
        bool ok;
    } cases[] = {
        {"11", 2, true},       {"4403", 4, true},  {"66", 2, true},
        {"65", 2, true},       {"99", 2, false},   {"", 0, false},
        {"110", 3, false},     {"0011", 4, false}, {"440300", 6, false},
        {"1", 1, false},       {"11\0", 3, false}, {"\xFF\xFE", 2, false},
        {"Beijing", 7, false}, {"11 ", 3, false},
    };
    static const ldr_record_kind_t kinds[] = {
        LDR_RECORD_APPLICATION, LDR_RECORD_REVIEW, LDR_RECORD_VIOLATION};
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            ldr_record_t rec;
            sample(&rec, kinds[k]);
            ldr_str_t s = {cases[i].s, cases[i].len};
            if (kinds[k] == LDR_RECORD_APPLICATION)
                rec.u.application.reporting_unit = s;
            if (kinds[k] == LDR_RECORD_REVIEW) rec.u.review.reporting_unit = s;
            if (kinds[k] == LDR_RECORD_VIOLATION)
                rec.u.violation.reporting_unit = s;
            expect(f, &rec, CLOCK, NOW,
                   cases[i].ok ? LDR_OK : LDR_ERR_UNKNOWN_REPORTING_UNIT,
                   "reporting_unit", "reporting unit");
        }
    /* Untrusted bytes are escaped in the message (it becomes a header). */
    ldr_record_t rec;
    char err[256];
    sample(&rec, LDR_RECORD_VIOLATION);
    rec.u.violation.reporting_unit = (ldr_str_t){"1\xFF\"\n", 4};
    ldr_validate_record(f->v, &rec, CLOCK, NOW, err, sizeof err);
    assert_non_null(strstr(err, "\"1\\xff\\x22\\x0a\""));
}

/* ---- time ------------------------------------------------------------- */

static void set_time(ldr_record_t *rec, int64_t t) {
    switch (rec->kind) {
    case LDR_RECORD_APPLICATION: rec->u.application.occurred_at = t; break;
    case LDR_RECORD_REVIEW: rec->u.review.occurred_at = t; break;
    case LDR_RECORD_VIOLATION: rec->u.violation.occurred_at = t; break;
    case LDR_RECORD_CLOCK_TICK: rec->u.tick.tick_at = t; break;
    default: break;
    }
}

static void test_validate_time_bounds(void **state) {
    const fixture_t *f = *state;
    /* (clock, now): clock ahead of now, behind it, equal, and no clock (the
     * feed). The upper bound is max(clock, now) + 400 days, inclusive. */
    static const struct {
        int64_t clock, now, upper;
    } cases[] = {
        {NOW + 50 * DAY, NOW, NOW + 450 * DAY},
        {NOW - 50 * DAY, NOW, NOW + 400 * DAY},
        {NOW, NOW, NOW + 400 * DAY},
        {INT64_MIN, NOW, NOW + 400 * DAY},
        {T2000, T2000 - DAY, T2000 + 400 * DAY},
    };
    for (size_t k = 0; k < sizeof input_kinds / sizeof input_kinds[0]; k++) {
        const char *field =
            input_kinds[k] == LDR_RECORD_CLOCK_TICK ? "tick_at" : "occurred_at";
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            const struct {
                int64_t t;
                bool ok;
            } ts[] = {
                {INT64_MIN, false},
                {-1, false},
                {0, false},
                {T2000 - 1, false},
                {T2000, true},
                {T2000 + 1, true},
                {cases[i].upper - 1, true},
                {cases[i].upper, true},
                {cases[i].upper + 1, false},
                {INT64_MAX, false},
            };
            for (size_t j = 0; j < sizeof ts / sizeof ts[0]; j++) {
                ldr_record_t rec;
                sample(&rec, input_kinds[k]);
                set_time(&rec, ts[j].t);
                expect(f, &rec, cases[i].clock, cases[i].now,
                       ts[j].ok ? LDR_OK : LDR_ERR_INVALID_FIELD, field,
                       "time bound");
            }
        }
    }
}

static void test_validate_time_function(void **state) {
    (void)state;
    char err[256];
    assert_int_equal(ldr_validate_time_max(NOW, NOW - DAY, 400),
                     NOW + 400 * DAY);
    assert_int_equal(ldr_validate_time_max(NOW - DAY, NOW, 0), NOW);
    assert_int_equal(ldr_validate_time_max(INT64_MAX - DAY, 0, 400), INT64_MAX);
    assert_int_equal(
        ldr_validate_time("tick_at", NOW, NOW, NOW, 0, err, sizeof err),
        LDR_OK);
    assert_int_equal(
        ldr_validate_time("tick_at", NOW + 1, NOW, NOW, 0, err, sizeof err),
        LDR_ERR_INVALID_FIELD);
    assert_string_equal(err, "tick_at: 2024-06-01T00:00:00.001Z "
                             "(1717200000001 ms) is after "
                             "2024-06-01T00:00:00.000Z, max(clock, now) + 0 "
                             "days");
    assert_int_equal(ldr_validate_time("occurred_at", T2000 - 1, NOW, NOW, 400,
                                       err, sizeof err),
                     LDR_ERR_INVALID_FIELD);
    assert_string_equal(err, "occurred_at: 1999-12-31T23:59:59.999Z "
                             "(946684799999 ms) is before "
                             "2000-01-01T00:00:00.000Z");
    /* Extreme values still give a message, not undefined behaviour. */
    assert_int_equal(ldr_validate_time("occurred_at", INT64_MIN, NOW, NOW, 400,
                                       err, sizeof err),
                     LDR_ERR_INVALID_FIELD);
    assert_int_equal(ldr_validate_time("occurred_at", INT64_MAX, INT64_MAX,
                                       INT64_MAX, 400, err, sizeof err),
                     LDR_OK);
    assert_int_equal(
        ldr_validate_time("occurred_at", NOW, NOW, NOW, -1, err, sizeof err),
        LDR_ERR_INVALID_ARG);
    assert_int_equal(
        ldr_validate_time("occurred_at", NOW, NOW, NOW, 36501, err, sizeof err),
        LDR_ERR_INVALID_ARG);
}

/* ---- key -------------------------------------------------------------- */

static void test_validate_key_mismatch(void **state) {
    const fixture_t *f = *state;
    static const ldr_record_kind_t keyed[] = {
        LDR_RECORD_APPLICATION, LDR_RECORD_REVIEW, LDR_RECORD_VIOLATION};
    char err[256];
    for (size_t k = 0; k < 3; k++) {
        ldr_record_t rec;
        sample(&rec, keyed[k]);
        assert_int_equal(ldr_validate_key(&rec, USCC, 18, err, sizeof err),
                         LDR_OK);
        assert_int_equal(
            ldr_validate_key(&rec, OTHER_USCC, 18, err, sizeof err),
            LDR_ERR_KEY_MISMATCH);
        assert_int_equal(strncmp(err, "key:", 4), 0);
        assert_int_equal(ldr_validate_key(&rec, USCC, 17, err, sizeof err),
                         LDR_ERR_KEY_MISMATCH);
        assert_int_equal(ldr_validate_key(&rec, NULL, 0, err, sizeof err),
                         LDR_ERR_KEY_MISMATCH);
        assert_int_equal(ldr_validate_key(&rec, "", 0, err, sizeof err),
                         LDR_ERR_KEY_MISMATCH);
        char lower[19];
        memcpy(lower, USCC, 19);
        lower[8] = 'g';
        assert_int_equal(ldr_validate_key(&rec, lower, 18, err, sizeof err),
                         LDR_ERR_KEY_MISMATCH);
        assert_int_equal(ldr_validate_message(f->v, &rec, OTHER_USCC, 18, CLOCK,
                                              NOW, err, sizeof err),
                         LDR_ERR_KEY_MISMATCH);
    }
    /* A ClockTick is unkeyed: any key, or none, is accepted. */
    ldr_record_t tick;
    sample(&tick, LDR_RECORD_CLOCK_TICK);
    assert_int_equal(ldr_validate_key(&tick, NULL, 0, err, sizeof err), LDR_OK);
    assert_int_equal(ldr_validate_key(&tick, OTHER_USCC, 18, err, sizeof err),
                     LDR_OK);
    assert_int_equal(
        ldr_validate_message(f->v, &tick, "x", 1, CLOCK, NOW, err, sizeof err),
        LDR_OK);
    /* The record is checked before the key: an invalid USCC under another
     * key is INVALID_USCC. */
    ldr_record_t rec;
    sample(&rec, LDR_RECORD_APPLICATION);
    rec.u.application.uscc = ldr_str("91110108G301661395");
    assert_int_equal(ldr_validate_message(f->v, &rec, OTHER_USCC, 18, CLOCK,
                                          NOW, err, sizeof err),
                     LDR_ERR_INVALID_USCC);
}

/* ---- order ------------------------------------------------------------ */

/* Breaks every field of an application at once, then repairs them one by
 * one in field order: each validation must name the next field. */
static void test_validate_first_invalid_field_reported(void **state) {
    const fixture_t *f = *state;
    static const char *const order[] = {
        "event_id",
        "uscc",
        "enterprise_name",
        "reporting_unit",
        "tier",
        "batch",
        "occurred_at",
        "years_in_niche",
        "revenue",
        "revenue_prev",
        "main_revenue",
        "main_revenue_prev",
        "main_revenue_prev2",
        "net_profit",
        "rd_expense",
        "rd_expense_prev",
        "employees",
        "rd_staff",
        "asset_liability_pct",
        "equity_financing_2y",
        "equity_financing_3y",
        "niche_market_share_pct",
        "niche_market_rank",
        "ip_class1",
        "ip_class1_high_value",
        "ip_class1_self_developed",
        "ip_class2",
        "rd_institution",
        "digitalization_level",
        "quality_items",
        "honours",
        "local_score",
        "development_score",
    };
    ldr_record_t good, bad;
    sample(&good, LDR_RECORD_APPLICATION);
    bad = good;
    ldr_application_t *a = &bad.u.application;
    ldr_indicators_t *ind = &a->indicators;
    a->event_id = ldr_str("");
    a->uscc = ldr_str("bad");
    a->enterprise_name = ldr_str("");
    a->reporting_unit = ldr_str("00");
    a->tier = LDR_TIER__COUNT;
    a->batch = 0;
    a->occurred_at = 0;
    ind->years_in_niche = -1;
    ind->revenue = -1;
    ind->revenue_prev = -1;
    ind->main_revenue = -1;
    ind->main_revenue_prev = -1;
    ind->main_revenue_prev2 = -1;
    ind->net_profit = INT64_MIN;
    ind->rd_expense = -1;
    ind->rd_expense_prev = -1;
    ind->employees = -1;
    ind->rd_staff = -1;
    ind->asset_liability_pct = -1;
    ind->equity_financing_2y = -1;
    ind->equity_financing_3y = -1;
    ind->niche_market_share_pct = NAN;
    ind->niche_market_rank = -1;
    ind->ip_class1 = -1;
    ind->ip_class1_high_value = -1;
    ind->ip_class1_self_developed = -1;
    ind->ip_class2 = -1;
    ind->rd_institution = LDR_RD__COUNT;
    ind->digitalization_level = 0;
    ind->quality_items = 5;
    ind->honours = 1u << 31;
    ind->local_score = 16;
    ind->development_score = 101;

    const ldr_application_t *g = &good.u.application;
    const ldr_indicators_t *gi = &g->indicators;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        char err[256] = "";
        ldr_err_t got =
            ldr_validate_record(f->v, &bad, CLOCK, NOW, err, sizeof err);
        assert_int_not_equal(got, LDR_OK);
        size_t n = strlen(order[i]);
        if (strncmp(err, order[i], n) != 0 || err[n] != ':')
            fail_msg("step %zu: \"%s\" should name %s", i, err, order[i]);
        /* Repair the field just reported (the whole indicators struct is
         * repaired field by field through memcpy of the good value). */
        switch (i) {
        case 0: a->event_id = g->event_id; break;
        case 1: a->uscc = g->uscc; break;
        case 2: a->enterprise_name = g->enterprise_name; break;
        case 3: a->reporting_unit = g->reporting_unit; break;
        case 4: a->tier = g->tier; break;
        case 5: a->batch = g->batch; break;
        case 6: a->occurred_at = g->occurred_at; break;
        default: {
            const num_case_t *c = NULL;
            for (size_t j = 0; j < sizeof num_cases / sizeof num_cases[0]; j++)
                if (strcmp(num_cases[j].name, order[i]) == 0) c = &num_cases[j];
            if (c) {
                size_t size = c->type == I64 || c->type == F64 ? 8 : 4;
                memcpy((char *)ind + c->off, (const char *)gi + c->off, size);
            } else if (strcmp(order[i], "rd_institution") == 0) {
                ind->rd_institution = gi->rd_institution;
            } else if (strcmp(order[i], "honours") == 0) {
                ind->honours = gi->honours;
            } else {
                fail_msg("no repair for %s", order[i]);
            }
        }
        }
    }
    expect(f, &bad, CLOCK, NOW, LDR_OK, NULL, "fully repaired");
}

/* ---- UTF-8 ------------------------------------------------------------ */

static void test_validate_utf8(void **state) {
    (void)state;
    static const struct {
        const char *s;
        size_t len;
        size_t prefix; /* == len when valid */
    } cases[] = {
        {"", 0, 0},
        {"plain ASCII", 11, 11},
        {"\x7F", 1, 1},
        {"a\0b", 3, 3}, /* U+0000 is well-formed; NUL is refused elsewhere */
        {"\xC2\x80", 2, 2},         /* U+0080 */
        {"\xDF\xBF", 2, 2},         /* U+07FF */
        {"\xE0\xA0\x80", 3, 3},     /* U+0800 */
        {"\xED\x9F\xBF", 3, 3},     /* U+D7FF */
        {"\xEE\x80\x80", 3, 3},     /* U+E000 */
        {"\xEF\xBF\xBF", 3, 3},     /* U+FFFF */
        {"\xF0\x90\x80\x80", 4, 4}, /* U+10000 */
        {"\xF4\x8F\xBF\xBF", 4, 4}, /* U+10FFFF */
        {"北京市", 9, 9},
        {"\xC0\x80", 2, 0},                 /* overlong NUL */
        {"\xC1\xBF", 2, 0},                 /* overlong */
        {"x\xE0\x9F\xBF", 4, 1},            /* overlong 3-byte */
        {"xy\xF0\x8F\xBF\xBF", 6, 2},       /* overlong 4-byte */
        {"\xED\xA0\x80", 3, 0},             /* U+D800 */
        {"\xED\xBF\xBF", 3, 0},             /* U+DFFF */
        {"\xED\xA0\xBD\xED\xB8\x80", 6, 0}, /* CESU-8 surrogate pair */
        {"\xF4\x90\x80\x80", 4, 0},         /* U+110000 */
        {"\xF5\x80\x80\x80", 4, 0},
        {"\xF8\x88\x80\x80\x80", 5, 0}, /* 5-byte form */
        {"\xFE", 1, 0},
        {"\xFF", 1, 0},
        {"abc\x80", 4, 3}, /* stray continuation */
        {"\xC2", 1, 0},    /* truncated at the end */
        {"\xE4\xB8", 2, 0},
        {"\xF0\x9F\x98", 3, 0},
        {"\xC2x", 2, 0}, /* truncated before ASCII */
        {"\xE4\xB8x", 3, 0},
        {"\xF0\x9F\x98x", 4, 0},
        {"ok\xE4\xB8\xAD\xE4\xB8", 7, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = ldr_utf8_valid_prefix(cases[i].s, cases[i].len);
        if (got != cases[i].prefix)
            fail_msg("case %zu: prefix %zu, want %zu", i, got, cases[i].prefix);
        assert_int_equal(ldr_utf8_valid(cases[i].s, cases[i].len),
                         cases[i].prefix == cases[i].len);
    }
    assert_true(ldr_utf8_valid(NULL, 0));
}

/* Every 1- and 2-byte sequence and every 3-byte sequence with a lead byte
 * from E0 to EF, checked against a decoder written from the definition. */
static bool reference_valid(const unsigned char *p, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i], n, cp;
        if (c < 0x80)
            n = 0, cp = c;
        else if ((c & 0xE0) == 0xC0)
            n = 1, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0)
            n = 2, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0)
            n = 3, cp = c & 0x07;
        else
            return false;
        if (i + n >= len + (n == 0)) return false;
        for (unsigned k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        static const unsigned min[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

static void test_validate_utf8_exhaustive_short(void **state) {
    (void)state;
    unsigned char b[3];
    for (unsigned x = 0; x < 256; x++) {
        b[0] = (unsigned char)x;
        assert_int_equal(ldr_utf8_valid((char *)b, 1), reference_valid(b, 1));
        for (unsigned y = 0; y < 256; y++) {
            b[1] = (unsigned char)y;
            if (ldr_utf8_valid((char *)b, 2) != reference_valid(b, 2))
                fail_msg("%02x %02x", x, y);
            if (x < 0xE0 || x > 0xEF) continue;
            for (unsigned z = 0; z < 256; z++) {
                b[2] = (unsigned char)z;
                if (ldr_utf8_valid((char *)b, 3) != reference_valid(b, 3))
                    fail_msg("%02x %02x %02x", x, y, z);
            }
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_valid_record_of_each_kind_passes),
        cmocka_unit_test(test_validate_decision_is_invalid_arg),
        cmocka_unit_test(test_validate_validator_new_rejects_bad_args),
        cmocka_unit_test(test_validate_null_errstr_is_allowed),
        cmocka_unit_test(test_validate_numeric_bounds),
        cmocka_unit_test(test_validate_int32_extremes),
        cmocka_unit_test(test_validate_nan_and_infinity),
        cmocka_unit_test(test_validate_batch_bounds),
        cmocka_unit_test(test_validate_rd_staff_exceeds_employees),
        cmocka_unit_test(test_validate_development_score_null),
        cmocka_unit_test(test_validate_enums_out_of_range),
        cmocka_unit_test(test_validate_honours_known_bits_only),
        cmocka_unit_test(test_validate_string_fields),
        cmocka_unit_test(test_validate_string_messages),
        cmocka_unit_test(test_validate_invalid_uscc),
        cmocka_unit_test(test_validate_unknown_reporting_unit),
        cmocka_unit_test(test_validate_time_bounds),
        cmocka_unit_test(test_validate_time_function),
        cmocka_unit_test(test_validate_key_mismatch),
        cmocka_unit_test(test_validate_first_invalid_field_reported),
        cmocka_unit_test(test_validate_utf8),
        cmocka_unit_test(test_validate_utf8_exhaustive_short),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
