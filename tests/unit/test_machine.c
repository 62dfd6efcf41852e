/* test_machine.c -- the state machine, row by row of POLICY.md's table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ladder/buf.h"
#include "ladder/policy_files.h"
#include "ladder/machine.h"
#include "ladder/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY (86400000LL)

static ldr_policies_t *policies;

typedef struct world {
    ldr_partition_t *p;
    ldr_machine_out_t out;
    int64_t offset;
    size_t seen; /* decisions already checked */
    char ids[64][32];
    int nids;
} world_t;

static int64_t T(const char *rfc3339) {
    int64_t ms;
    char err[128];
    if (ldr_time_parse_rfc3339(rfc3339, strlen(rfc3339), &ms, err, sizeof(err)))
        fail_msg("bad time %s: %s", rfc3339, err);
    return ms;
}

/* A declaration that passes all three tiers under miit-2022 (POLICY.md:
 * INNOVATIVE by the PROVINCIAL institution path, SPECIALIZED with a score
 * of 88, LITTLE_GIANT on every criterion). */
static void strong(ldr_indicators_t *i) {
    memset(i, 0, sizeof(*i));
    i->years_in_niche = 5;
    i->revenue = 200000000;
    i->revenue_prev = 180000000;
    i->main_revenue = 180000000;
    i->main_revenue_prev = 160000000;
    i->main_revenue_prev2 = 140000000;
    i->net_profit = 20000000;
    i->rd_expense = 10000000;
    i->rd_expense_prev = 9000000;
    i->employees = 300;
    i->rd_staff = 60;
    i->asset_liability_pct = 45.5;
    i->niche_market_share_pct = 15.0;
    i->niche_market_rank = 2;
    i->ip_class1 = 5;
    i->ip_class1_high_value = 1;
    i->ip_class1_self_developed = 3;
    i->ip_class2 = 10;
    i->rd_institution = LDR_RD_PROVINCIAL;
    i->digitalization_level = 3;
    i->quality_items = 3;
    i->own_brand = i->mgmt_certification = true;
    i->core_business_on_info_system = i->strategic_emerging_field = true;
    i->field_six_foundations = i->key_chain_link = true;
    i->local_score = 10;
}

/* Fails every tier: nothing declared. */
static void weak(ldr_indicators_t *i) {
    memset(i, 0, sizeof(*i));
    i->digitalization_level = 1;
}

static const char *U1 = "91350200MA2YN5GX1A";
static const char *U2 = "91350200MA2YN5GX2B";

static void world_init(world_t *w) {
    memset(w, 0, sizeof(*w));
    w->p = ldr_partition_new(policies);
    ldr_machine_out_init(&w->out);
}

static void world_fini(world_t *w) {
    ldr_partition_destroy(w->p);
    ldr_machine_out_fini(&w->out);
}

static void step(world_t *w, const ldr_record_t *m) {
    ldr_machine_cause_t c = {"ladder.events.v1", 3, w->offset++};
    assert_int_equal(ldr_partition_step(w->p, m, &c, &w->out), LDR_OK);
}

static void apply(world_t *w, const char *uscc, ldr_tier_t tier, int batch,
                  int64_t t, int strong_decl, const char *event_id) {
    ldr_record_t m = {.kind = LDR_RECORD_APPLICATION};
    ldr_application_t *a = &m.u.application;
    a->event_id = ldr_str(event_id);
    a->uscc = ldr_str(uscc);
    a->enterprise_name = ldr_str("厦门精密传感科技有限公司");
    a->reporting_unit = ldr_str("3502");
    a->tier = tier;
    a->batch = batch;
    a->occurred_at = t;
    if (strong_decl)
        strong(&a->indicators);
    else
        weak(&a->indicators);
    step(w, &m);
}

static void review(world_t *w, const char *uscc, ldr_tier_t tier, int64_t t,
                   int strong_decl, const char *event_id) {
    ldr_record_t m = {.kind = LDR_RECORD_REVIEW};
    ldr_review_t *r = &m.u.review;
    r->event_id = ldr_str(event_id);
    r->uscc = ldr_str(uscc);
    r->enterprise_name = ldr_str("厦门精密传感科技股份有限公司");
    r->reporting_unit = ldr_str("3502");
    r->tier = tier;
    r->occurred_at = t;
    if (strong_decl)
        strong(&r->indicators);
    else
        weak(&r->indicators);
    step(w, &m);
}

static void violation(world_t *w, const char *uscc, ldr_case_status_t status,
                      const char *case_id, int64_t t, const char *event_id) {
    ldr_record_t m = {.kind = LDR_RECORD_VIOLATION};
    ldr_violation_t *v = &m.u.violation;
    v->event_id = ldr_str(event_id);
    v->uscc = ldr_str(uscc);
    v->reporting_unit = ldr_str("3502");
    v->case_id = ldr_str(case_id);
    v->kind = LDR_VIOLATION_FALSE_DECLARATION;
    v->status = status;
    v->occurred_at = t;
    step(w, &m);
}

static void tick(world_t *w, int64_t t) {
    ldr_record_t m = {.kind = LDR_RECORD_CLOCK_TICK};
    m.u.tick.tick_at = t;
    m.u.tick.source = ldr_str("test");
    step(w, &m);
}

/* Takes the next decision, checking its type, tier (-1: enterprise level)
 * and effective time. */
static const ldr_machine_decision_t *next(world_t *w, ldr_decision_type_t type,
                                          int tier, int64_t effective_at) {
    if (w->seen >= w->out.count)
        fail_msg("expected %s, got no more decisions",
                 ldr_decision_type_name(type));
    const ldr_machine_decision_t *d = &w->out.v[w->seen++];
    if (d->decision != type)
        fail_msg("decision %zu: got %s, want %s", w->seen - 1,
                 ldr_decision_type_name(d->decision),
                 ldr_decision_type_name(type));
    if (tier < 0)
        assert_false(d->has_tier);
    else {
        assert_true(d->has_tier);
        assert_int_equal(d->tier, tier);
    }
    assert_int_equal(d->effective_at, effective_at);
    return d;
}

static void no_more(world_t *w) {
    if (w->seen != w->out.count)
        fail_msg("unexpected %s",
                 ldr_decision_type_name(w->out.v[w->seen].decision));
}

/* Inserts into @p to a copy of each of the @p n enterprises of @p d, each
 * through its encoded form, as a worker reloads a partition. */
static void insert_copies(world_t *to, const ldr_partition_dirty_t *d,
                          size_t n) {
    ldr_buf_t buf;
    ldr_buf_init(&buf);
    for (size_t i = 0; i < n; i++) {
        ldr_buf_reset(&buf);
        ldr_enterprise_encode(d[i].e, &buf);
        ldr_enterprise_t *e = malloc(sizeof(*e));
        ldr_enterprise_init(e, d[i].e->uscc, 18);
        assert_int_equal(ldr_enterprise_decode(e, buf.data, buf.len), LDR_OK);
        ldr_partition_insert(to->p, e);
    }
    ldr_buf_fini(&buf);
}

static void reasons(const ldr_machine_decision_t *d, int n, ...) {
    va_list ap;
    va_start(ap, n);
    assert_int_equal(d->reasons_count, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(d->reasons[i], va_arg(ap, const char *));
    va_end(ap);
}

/* An enterprise designated INNOVATIVE (applied at t). */
static void designate_innovative(world_t *w, const char *uscc, int64_t t) {
    apply(w, uscc, LDR_TIER_INNOVATIVE, 1, t, 1, "in-1");
    tick(w, t + 7 * DAY);
    next(w, LDR_DECISION_PUBLICITY_STARTED, LDR_TIER_INNOVATIVE, t);
    next(w, LDR_DECISION_DESIGNATED, LDR_TIER_INNOVATIVE, t + 7 * DAY);
}

/* ---- application rows
 * -------------------------------------------------------- */

static void
test_machine_application_passes_then_publicity_designates(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T09:00:00Z");
    apply(&w, U1, LDR_TIER_INNOVATIVE, 2, t, 1, "e1");
    const ldr_machine_decision_t *d =
        next(&w, LDR_DECISION_PUBLICITY_STARTED, LDR_TIER_INNOVATIVE, t);
    assert_true(d->has_score);
    assert_true(d->has_batch);
    assert_int_equal(d->batch, 2);
    assert_string_equal(d->policy_version, "miit-2022");
    assert_string_equal(d->cause_event_id, "e1");
    assert_string_equal(d->cause, "ladder.events.v1/3/0");
    assert_string_equal(d->enterprise_name, "厦门精密传感科技有限公司");
    no_more(&w);
    /* The publicity timer fires when the clock passes it, before the
     * message that moved the clock. */
    tick(&w, t + 7 * DAY - 1);
    no_more(&w);
    tick(&w, t + 7 * DAY);
    d = next(&w, LDR_DECISION_DESIGNATED, LDR_TIER_INNOVATIVE, t + 7 * DAY);
    assert_int_equal(d->valid_from, t + 7 * DAY);
    assert_int_equal(d->valid_until, T("2025-03-08T09:00:00Z"));
    assert_false(d->has_cause_event_id);
    assert_false(d->has_score);
    assert_int_equal(d->batch, 2);
    assert_string_equal(d->cause, "ladder.events.v1/3/2");
    no_more(&w);
    world_fini(&w);
}

static void test_machine_application_fails_rules_rejected(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    apply(&w, U1, LDR_TIER_INNOVATIVE, 1, t, 0, "e1");
    const ldr_machine_decision_t *d =
        next(&w, LDR_DECISION_REJECTED, LDR_TIER_INNOVATIVE, t);
    reasons(d, 4, "IN.SCORE", "IN.INNOVATION_SUBSCORE", "IN.GROWTH_SUBSCORE",
            "IN.SPECIALIZATION_SUBSCORE");
    assert_true(d->has_score);
    assert_int_equal(d->batch, 1);
    tick(&w, t + 30 * DAY);
    no_more(&w); /* nothing was started */
    assert_int_equal(ldr_partition_find(w.p, U1, 18)->tiers[0].state,
                     LDR_TIER_STATE_NONE);
    world_fini(&w);
}

static void test_machine_refusals_in_row_order(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    /* Prerequisite missing: SPECIALIZED without an active INNOVATIVE. */
    apply(&w, U1, LDR_TIER_SPECIALIZED, 1, t, 1, "sp-early");
    const ldr_machine_decision_t *d =
        next(&w, LDR_DECISION_REFUSED, LDR_TIER_SPECIALIZED, t);
    reasons(d, 1, "PREREQUISITE_MISSING");
    assert_int_equal(d->batch, 1);
    assert_false(d->has_score);
    assert_string_equal(d->policy_version, "miit-2022");
    /* In publicity: duplicate application. */
    apply(&w, U1, LDR_TIER_INNOVATIVE, 1, t + DAY, 1, "in-1");
    next(&w, LDR_DECISION_PUBLICITY_STARTED, LDR_TIER_INNOVATIVE, t + DAY);
    apply(&w, U1, LDR_TIER_INNOVATIVE, 1, t + 2 * DAY, 1, "in-2");
    reasons(next(&w, LDR_DECISION_REFUSED, LDR_TIER_INNOVATIVE, t + 2 * DAY), 1,
            "DUPLICATE_APPLICATION");
    /* Active: already designated. */
    apply(&w, U1, LDR_TIER_INNOVATIVE, 1, t + 10 * DAY, 1, "in-3");
    next(&w, LDR_DECISION_DESIGNATED, LDR_TIER_INNOVATIVE, t + 8 * DAY);
    reasons(next(&w, LDR_DECISION_REFUSED, LDR_TIER_INNOVATIVE, t + 10 * DAY),
            1, "ALREADY_DESIGNATED");
    /* Now the prerequisite holds. */
    apply(&w, U1, LDR_TIER_SPECIALIZED, 1, t + 11 * DAY, 1, "sp-1");
    next(&w, LDR_DECISION_PUBLICITY_STARTED, LDR_TIER_SPECIALIZED,
         t + 11 * DAY);
    no_more(&w);
    world_fini(&w);
}

static void test_machine_ban_refuses_reapplication(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    violation(&w, U1, LDR_CASE_VERIFIED, "c1", t, "v1");
    const ldr_machine_decision_t *d =
        next(&w, LDR_DECISION_VIOLATION_CONFIRMED, -1, t);
    assert_int_equal(d->ban_until, T("2025-03-01T00:00:00Z"));
    /* The ban outranks every other refusal. */
    apply(&w, U1, LDR_TIER_SPECIALIZED, 1, t + DAY, 1, "a1");
    reasons(next(&w, LDR_DECISION_REFUSED, LDR_TIER_SPECIALIZED, t + DAY), 1,
            "REAPPLICATION_BANNED");
    /* ban_until > t refuses; at ban_until the application is heard. */
    apply(&w, U1, LDR_TIER_INNOVATIVE, 1, T("2025-03-01T00:00:00Z"), 1, "a2");
    next(&w, LDR_DECISION_PUBLICITY_STARTED, LDR_TIER_INNOVATIVE,
         T("2025-03-01T00:00:00Z"));
    no_more(&w);
    world_fini(&w);
}

/* ---- publicity held by an open case
 * --------------------------------------------- */

static void test_machine_open_case_holds_publicity_until_dismissed(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    apply(&w, U1, LDR_TIER_INNOVATIVE, 1, t, 1, "a1");
    next(&w, LDR_DECISION_PUBLICITY_STARTED, LDR_TIER_INNOVATIVE, t);
    violation(&w, U1, LDR_CASE_REPORTED, "c1", t + DAY, "v1");
    const ldr_machine_decision_t *d =
        next(&w, LDR_DECISION_INVESTIGATION_OPENED, -1, t + DAY);
    assert_string_equal(d->case_id, "c1");
    assert_false(d->has_batch);
    violation(&w, U1, LDR_CASE_REPORTED, "c2", t + 2 * DAY, "v2");
    next(&w, LDR_DECISION_INVESTIGATION_OPENED, -1, t + 2 * DAY);
    tick(&w, t + 20 * DAY); /* publicity ended at t + 7 days: held */
    no_more(&w);
    assert_int_equal(ldr_partition_find(w.p, U1, 18)->tiers[0].state,
                     LDR_TIER_STATE_PUBLICITY);
    violation(&w, U1, LDR_CASE_DISMISSED, "c1", t + 21 * DAY, "v3");
    next(&w, LDR_DECISION_INVESTIGATION_CLEARED, -1, t + 21 * DAY);
    no_more(&w); /* c2 still open */
    violation(&w, U1, LDR_CASE_DISMISSED, "c2", t + 22 * DAY, "v4");
    next(&w, LDR_DECISION_INVESTIGATION_CLEARED, -1, t + 22 * DAY);
    d = next(&w, LDR_DECISION_DESIGNATED, LDR_TIER_INNOVATIVE, t + 22 * DAY);
    assert_int_equal(d->valid_from, t + 22 * DAY); /* max(dismissal, end) */
    assert_string_equal(d->case_id, "c2");
    assert_int_equal(d->batch, 1);
    assert_string_equal(d->cause_event_id, "v4");
    /* Unknown case. */
    violation(&w, U1, LDR_CASE_DISMISSED, "c9", t + 23 * DAY, "v5");
    d = next(&w, LDR_DECISION_REFUSED, -1, t + 23 * DAY);
    reasons(d, 1, "UNKNOWN_CASE");
    assert_string_equal(d->case_id, "c9");
    no_more(&w);
    world_fini(&w);
}

static void
test_machine_dismissal_before_publicity_end_keeps_its_date(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    apply(&w, U1, LDR_TIER_INNOVATIVE, 1, t, 1, "a1");
    violation(&w, U1, LDR_CASE_REPORTED, "c1", t + DAY, "v1");
    violation(&w, U1, LDR_CASE_DISMISSED, "c1", t + 2 * DAY, "v2");
    tick(&w, t + 7 * DAY);
    next(&w, LDR_DECISION_PUBLICITY_STARTED, 0, t);
    next(&w, LDR_DECISION_INVESTIGATION_OPENED, -1, t + DAY);
    next(&w, LDR_DECISION_INVESTIGATION_CLEARED, -1, t + 2 * DAY);
    next(&w, LDR_DECISION_DESIGNATED, 0, t + 7 * DAY); /* not held */
    no_more(&w);
    world_fini(&w);
}

/* ---- verified violation
 * ---------------------------------------------------------- */

static void test_machine_verified_violation_cancels_every_tier(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    designate_innovative(&w, U1, t);
    apply(&w, U1, LDR_TIER_SPECIALIZED, 3, t + 10 * DAY, 1, "sp");
    next(&w, LDR_DECISION_PUBLICITY_STARTED, LDR_TIER_SPECIALIZED,
         t + 10 * DAY);
    violation(&w, U1, LDR_CASE_VERIFIED, "c1", t + 12 * DAY, "v1");
    const ldr_machine_decision_t *d =
        next(&w, LDR_DECISION_VIOLATION_CONFIRMED, -1, t + 12 * DAY);
    assert_int_equal(d->ban_until, ldr_time_add_years(t + 12 * DAY, 3));
    d = next(&w, LDR_DECISION_CANCELLED, LDR_TIER_INNOVATIVE, t + 12 * DAY);
    reasons(d, 2, "VIOLATION_VERIFIED", "FALSE_DECLARATION");
    assert_int_equal(d->batch, 1);
    assert_string_equal(d->case_id, "c1");
    d = next(&w, LDR_DECISION_CANCELLED, LDR_TIER_SPECIALIZED, t + 12 * DAY);
    assert_int_equal(d->batch, 3);
    /* Timers of cancelled tiers are gone: nothing fires later. */
    tick(&w, t + 5 * 365 * DAY);
    no_more(&w);
    world_fini(&w);
}

/* ---- reviews and validity
 * ------------------------------------------------------------- */

static void test_machine_review_window_renewal_and_expiry(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    designate_innovative(&w, U1, t);
    int64_t until = T("2025-03-08T00:00:00Z");
    int64_t opens = until - 120 * DAY;
    /* Before the window opens. */
    review(&w, U1, LDR_TIER_INNOVATIVE, opens - 1, 1, "r0");
    const ldr_machine_decision_t *d =
        next(&w, LDR_DECISION_REFUSED, LDR_TIER_INNOVATIVE, opens - 1);
    reasons(d, 1, "OUTSIDE_REVIEW_WINDOW");
    /* The window opens: REVIEW_DUE with the deadline. */
    tick(&w, opens);
    d = next(&w, LDR_DECISION_REVIEW_DUE, LDR_TIER_INNOVATIVE, opens);
    assert_int_equal(d->review_deadline, until);
    /* A passing review renews from the old valid_until. */
    review(&w, U1, LDR_TIER_INNOVATIVE, until - DAY, 1, "r1");
    d = next(&w, LDR_DECISION_RENEWED, LDR_TIER_INNOVATIVE, until - DAY);
    assert_int_equal(d->valid_from, until);
    assert_int_equal(d->valid_until, T("2028-03-08T00:00:00Z"));
    assert_true(d->has_score);
    /* The old validity end no longer fires; the new window does. */
    tick(&w, until + DAY);
    no_more(&w);
    tick(&w, T("2028-03-08T00:00:00Z"));
    next(&w, LDR_DECISION_REVIEW_DUE, 0, T("2028-03-08T00:00:00Z") - 120 * DAY);
    d = next(&w, LDR_DECISION_EXPIRED, 0, T("2028-03-08T00:00:00Z"));
    reasons(d, 1, "NOT_RENEWED");
    /* After expiry a review is refused as not designated, without batch. */
    review(&w, U1, LDR_TIER_INNOVATIVE, T("2028-03-09T00:00:00Z"), 1, "r2");
    d = next(&w, LDR_DECISION_REFUSED, 0, T("2028-03-09T00:00:00Z"));
    reasons(d, 1, "NOT_DESIGNATED");
    assert_false(d->has_batch);
    no_more(&w);
    world_fini(&w);
}

static void test_machine_review_failure_revokes(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    designate_innovative(&w, U1, t);
    apply(&w, U1, LDR_TIER_SPECIALIZED, 1, t + 10 * DAY, 1, "sp");
    tick(&w, t + 17 * DAY);
    next(&w, LDR_DECISION_PUBLICITY_STARTED, 1, t + 10 * DAY);
    next(&w, LDR_DECISION_DESIGNATED, 1, t + 17 * DAY);
    int64_t until = ldr_time_add_years(t + 17 * DAY, 3);
    int64_t in_until = ldr_time_add_years(t + 7 * DAY, 3);
    assert_int_equal(in_until, until - 10 * DAY);
    review(&w, U1, LDR_TIER_SPECIALIZED, until - 10 * DAY, 0, "r1");
    /* Every timer due by the review's time fires first, in due order:
     * INNOVATIVE's window, SPECIALIZED's window, INNOVATIVE's expiry (due
     * exactly at the review's time). */
    next(&w, LDR_DECISION_REVIEW_DUE, 0, in_until - 120 * DAY);
    next(&w, LDR_DECISION_REVIEW_DUE, 1, until - 120 * DAY);
    next(&w, LDR_DECISION_EXPIRED, 0, in_until);
    const ldr_machine_decision_t *d =
        next(&w, LDR_DECISION_REVOKED, 1, until - 10 * DAY);
    assert_true(d->reasons_count >= 2);
    assert_string_equal(d->reasons[0], "REVIEW_FAILED");
    assert_string_equal(d->reasons[1], "SP.YEARS_IN_NICHE");
    assert_true(d->has_score);
    /* SPECIALIZED's timers are gone: its validity end fires nothing. */
    tick(&w, until + DAY);
    no_more(&w);
    world_fini(&w);
}

static void test_machine_no_review_revokes_specialized(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    designate_innovative(&w, U1, t);
    apply(&w, U1, LDR_TIER_SPECIALIZED, 1, t + 10 * DAY, 1, "sp");
    /* A review at valid_until is too late: the validity-end timer fires
     * first. */
    int64_t until = ldr_time_add_years(t + 17 * DAY, 3);
    review(&w, U1, LDR_TIER_SPECIALIZED, until, 1, "late");
    next(&w, LDR_DECISION_PUBLICITY_STARTED, 1, t + 10 * DAY);
    next(&w, LDR_DECISION_DESIGNATED, 1, t + 17 * DAY);
    /* Timers fire in due order across tiers: INNOVATIVE's first. */
    int64_t in_until = ldr_time_add_years(t + 7 * DAY, 3);
    next(&w, LDR_DECISION_REVIEW_DUE, 0, in_until - 120 * DAY);
    next(&w, LDR_DECISION_REVIEW_DUE, 1, until - 120 * DAY);
    next(&w, LDR_DECISION_EXPIRED, 0, in_until);
    const ldr_machine_decision_t *d = next(&w, LDR_DECISION_REVOKED, 1, until);
    reasons(d, 1, "NO_REVIEW_SUBMITTED");
    reasons(next(&w, LDR_DECISION_REFUSED, 1, until), 1, "NOT_DESIGNATED");
    no_more(&w);
    world_fini(&w);
}

/* ---- clock, order, duplicates
 * ------------------------------------------------------------ */

static void test_machine_timers_fire_in_due_then_uscc_order(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    apply(&w, U2, LDR_TIER_INNOVATIVE, 1, t, 1, "b");
    apply(&w, U1, LDR_TIER_INNOVATIVE, 1, t, 1, "a");
    tick(&w, t + 30 * DAY);
    next(&w, LDR_DECISION_PUBLICITY_STARTED, 0, t);
    next(&w, LDR_DECISION_PUBLICITY_STARTED, 0, t);
    /* Same due: the smaller USCC first. */
    assert_string_equal(next(&w, LDR_DECISION_DESIGNATED, 0, t + 7 * DAY)->uscc,
                        U1);
    assert_string_equal(next(&w, LDR_DECISION_DESIGNATED, 0, t + 7 * DAY)->uscc,
                        U2);
    no_more(&w);
    world_fini(&w);
}

/* A tick of @p w at @p t, its time noted in @p times by its offset. */
static void tick_noted(world_t *w, int64_t *times, int64_t t) {
    tick(w, t);
    times[w->offset - 1] = t;
}

/* Every timer decision of @p w came from the first message whose time
 * reached its due time: @p times[o] is message o's (non-decreasing). */
static void fired_on_time(const world_t *w, const int64_t *times) {
    for (size_t i = 0; i < w->out.count; i++) {
        const ldr_machine_decision_t *d = &w->out.v[i];
        if (d->has_cause_event_id) continue;
        assert_true(d->offset >= 0 && d->offset < w->offset);
        assert_true(times[d->offset] >= d->effective_at);
        if (d->offset > 0) assert_true(times[d->offset - 1] < d->effective_at);
    }
}

/* Timers fire in (due, USCC) order, each at the first message that
 * reaches it, whether the clock creeps or leaps: with a tick every 5
 * days, and with none but the applications and one tick 12 years on
 * (past everything the partition keeps in order ahead of the clock).
 * 1,500 enterprises apply over 600 days, many at the same instant; every
 * one is designated, reviewed and expires, and both worlds fire the same
 * timers in the same order. */
static void
test_machine_many_timers_fire_in_order_whatever_the_ticks(void **s) {
    (void)s;
    enum { N = 1500, DAYS = 600, STEPS = 4000 };
    world_t creep, leap;
    world_init(&creep);
    world_init(&leap);
    int64_t *times[2] = {calloc(STEPS, sizeof(int64_t)),
                         calloc(STEPS, sizeof(int64_t))};
    int64_t t0 = T("2022-03-01T00:00:00Z");
    int64_t end = t0 + 12 * 366 * DAY;
    world_t *ws[] = {&creep, &leap};
    for (int k = 0; k < 2; k++) {
        world_t *w = ws[k];
        int64_t next_tick = t0;
        for (int day = 0; day < DAYS; day++)
            for (int i = day; i < N; i += DAYS) {
                int64_t t = t0 + day * DAY + (i % 3) * 3600000LL;
                for (; w == &creep && next_tick <= t; next_tick += 5 * DAY)
                    tick_noted(w, times[k], next_tick);
                char uscc[19], id[16];
                snprintf(uscc, sizeof(uscc), "9135020000%08d", (i * 7919) % N);
                snprintf(id, sizeof(id), "e%d", i);
                apply(w, uscc, LDR_TIER_INNOVATIVE, 1, t, 1, id);
                times[k][w->offset - 1] = t;
            }
        for (; w == &creep && next_tick <= end; next_tick += 5 * DAY)
            tick_noted(w, times[k], next_tick);
        tick_noted(w, times[k], end);
        assert_true(w->offset <= STEPS);
        fired_on_time(w, times[k]);
    }
    size_t timers = 0, designated = 0;
    const ldr_machine_decision_t *prev = NULL;
    for (size_t i = 0, j = 0;; i++, j++) {
        while (i < creep.out.count && creep.out.v[i].has_cause_event_id)
            i++;
        while (j < leap.out.count && leap.out.v[j].has_cause_event_id)
            j++;
        if (i == creep.out.count || j == leap.out.count) {
            assert_int_equal(i, creep.out.count);
            assert_int_equal(j, leap.out.count);
            break;
        }
        const ldr_machine_decision_t *a = &creep.out.v[i], *b = &leap.out.v[j];
        assert_int_equal(a->decision, b->decision);
        assert_string_equal(a->uscc, b->uscc);
        assert_int_equal(a->tier, b->tier);
        assert_int_equal(a->effective_at, b->effective_at);
        if (prev)
            assert_true(prev->effective_at < a->effective_at ||
                        (prev->effective_at == a->effective_at &&
                         strcmp(prev->uscc, a->uscc) <= 0));
        prev = a;
        timers++;
        designated += a->decision == LDR_DECISION_DESIGNATED;
    }
    /* designated, review due and expired, for each */
    assert_int_equal(designated, N);
    assert_int_equal(timers, 3 * N);
    free(times[0]);
    free(times[1]);
    world_fini(&creep);
    world_fini(&leap);
}

/* A partition reloaded with a clock decades behind its timers (further
 * ahead than the partition keeps in order) fires them all the same, each
 * at the first tick that reaches it, as the partition they came from. */
static void test_machine_timers_far_beyond_the_clock_fire_on_time(void **s) {
    (void)s;
    world_t a, b;
    world_init(&a);
    world_init(&b);
    int64_t t = T("2022-03-01T00:00:00Z");
    designate_innovative(&a, U1, t);
    size_t n;
    const ldr_partition_dirty_t *d = ldr_partition_take_dirty(a.p, &n);
    assert_int_equal(n, 1);
    insert_copies(&b, d, n);
    ldr_partition_set_clock(b.p, T("1975-01-01T00:00:00Z"));
    int64_t times[64];
    for (int year = 1977; year <= 2027; year += 2) {
        char when[32];
        snprintf(when, sizeof(when), "%d-01-01T00:00:00Z", year);
        tick_noted(&b, times, T(when));
    }
    tick(&a, T("2027-01-01T00:00:00Z"));
    fired_on_time(&b, times);
    size_t before = a.out.count - 2; /* the review window, the expiry */
    assert_int_equal(b.out.count, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(a.out.v[before + i].decision, b.out.v[i].decision);
        assert_int_equal(a.out.v[before + i].effective_at,
                         b.out.v[i].effective_at);
    }
    assert_int_equal(b.out.v[0].decision, LDR_DECISION_REVIEW_DUE);
    assert_int_equal(b.out.v[1].decision, LDR_DECISION_EXPIRED);
    world_fini(&a);
    world_fini(&b);
}

/* Two timers of one enterprise due at the same instant fire in tier
 * order, whichever was set later: the specialized application's publicity
 * ends the moment the innovative designation's review window opens. */
static void test_machine_same_instant_timers_fire_in_tier_order(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    designate_innovative(&w, U1, t);
    int64_t opens = T("2025-03-08T00:00:00Z") - 120 * DAY;
    apply(&w, U1, LDR_TIER_SPECIALIZED, 2, opens - 7 * DAY, 1, "sp");
    next(&w, LDR_DECISION_PUBLICITY_STARTED, LDR_TIER_SPECIALIZED,
         opens - 7 * DAY);
    tick(&w, opens);
    next(&w, LDR_DECISION_REVIEW_DUE, LDR_TIER_INNOVATIVE, opens);
    next(&w, LDR_DECISION_DESIGNATED, LDR_TIER_SPECIALIZED, opens);
    no_more(&w);
    world_fini(&w);
}

static void test_machine_clock_never_moves_back_and_late_events(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    tick(&w, t + 100 * DAY);
    /* A late application: judged at its own time, its publicity already
     * over by the clock... */
    apply(&w, U1, LDR_TIER_INNOVATIVE, 1, t, 1, "late");
    assert_int_equal(ldr_partition_clock(w.p), t + 100 * DAY);
    next(&w, LDR_DECISION_PUBLICITY_STARTED, 0, t);
    no_more(&w);
    /* ...so its timer fires before the next message, whatever its time. */
    tick(&w, t);
    assert_int_equal(ldr_partition_clock(w.p), t + 100 * DAY);
    next(&w, LDR_DECISION_DESIGNATED, 0, t + 7 * DAY);
    no_more(&w);
    world_fini(&w);
}

static void test_machine_duplicate_event_ids_yield_nothing(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    apply(&w, U1, LDR_TIER_INNOVATIVE, 1, t, 0, "e1"); /* rejected */
    next(&w, LDR_DECISION_REJECTED, 0, t);
    apply(&w, U1, LDR_TIER_INNOVATIVE, 1, t, 1, "e1"); /* same id, ignored */
    no_more(&w);
    assert_int_equal(w.out.duplicates, 1);
    /* Event ids are per enterprise. */
    apply(&w, U2, LDR_TIER_INNOVATIVE, 1, t, 1, "e1");
    next(&w, LDR_DECISION_PUBLICITY_STARTED, 0, t);
    /* A duplicate still moves the clock and fires timers first. */
    apply(&w, U2, LDR_TIER_INNOVATIVE, 1, t + 8 * DAY, 1, "e1");
    next(&w, LDR_DECISION_DESIGNATED, 0, t + 7 * DAY);
    no_more(&w);
    assert_int_equal(w.out.duplicates, 2);
    world_fini(&w);
}

static void test_machine_several_events_in_one_batch_and_ids(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    apply(&w, U1, LDR_TIER_INNOVATIVE, 1, t, 1, "a");
    violation(&w, U1, LDR_CASE_REPORTED, "c", t + DAY, "b");
    violation(&w, U1, LDR_CASE_VERIFIED, "c", t + 2 * DAY, "c");
    /* One message, two decisions: ids are (partition, offset, index). */
    assert_int_equal(w.out.count, 4);
    assert_string_equal(w.out.v[0].decision_id, "3-0-0");
    assert_string_equal(w.out.v[1].decision_id, "3-1-0");
    assert_string_equal(w.out.v[2].decision_id, "3-2-0");
    assert_string_equal(w.out.v[3].decision_id, "3-2-1");
    /* The same log from empty state: the same decisions. */
    world_t w2;
    world_init(&w2);
    apply(&w2, U1, LDR_TIER_INNOVATIVE, 1, t, 1, "a");
    violation(&w2, U1, LDR_CASE_REPORTED, "c", t + DAY, "b");
    violation(&w2, U1, LDR_CASE_VERIFIED, "c", t + 2 * DAY, "c");
    assert_int_equal(w2.out.count, 4);
    assert_memory_equal(w.out.v, w2.out.v, 4 * sizeof(w.out.v[0]));
    world_fini(&w2);
    world_fini(&w);
}

static void test_machine_policy_switch_2026(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2025-01-01T00:00:00Z");
    designate_innovative(&w, U1, t);
    apply(&w, U1, LDR_TIER_SPECIALIZED, 1, t + 10 * DAY, 1, "sp");
    tick(&w, t + 17 * DAY);
    next(&w, LDR_DECISION_PUBLICITY_STARTED, 1, t + 10 * DAY);
    next(&w, LDR_DECISION_DESIGNATED, 1, t + 17 * DAY);
    /* One ms before the switch: 2022 rules, which the declaration meets. */
    int64_t sw = T("2026-01-17T00:00:00Z");
    apply(&w, U1, LDR_TIER_LITTLE_GIANT, 7, sw - 1, 1, "lg-1");
    const ldr_machine_decision_t *d =
        next(&w, LDR_DECISION_PUBLICITY_STARTED, 2, sw - 1);
    assert_string_equal(d->policy_version, "miit-2022");
    assert_false(d->has_score);
    world_fini(&w);
    /* At the switch: 2026 rules; no development score, main share 90. */
    world_init(&w);
    designate_innovative(&w, U1, t);
    apply(&w, U1, LDR_TIER_SPECIALIZED, 1, t + 10 * DAY, 1, "sp");
    tick(&w, t + 17 * DAY);
    next(&w, LDR_DECISION_PUBLICITY_STARTED, 1, t + 10 * DAY);
    next(&w, LDR_DECISION_DESIGNATED, 1, t + 17 * DAY);
    apply(&w, U1, LDR_TIER_LITTLE_GIANT, 8, sw, 1, "lg-1");
    d = next(&w, LDR_DECISION_REJECTED, 2, sw);
    assert_string_equal(d->policy_version, "miit-2026");
    assert_string_equal(d->reasons[d->reasons_count - 1],
                        "LG.DEVELOPMENT_SCORE");
    world_fini(&w);
}

static void test_machine_enterprise_level_decisions_and_unit(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    /* A violation first: the unit comes from it, the name stays empty. */
    violation(&w, U1, LDR_CASE_REPORTED, "c", t, "v");
    const ldr_machine_decision_t *d =
        next(&w, LDR_DECISION_INVESTIGATION_OPENED, -1, t);
    assert_string_equal(d->reporting_unit, "3502");
    assert_string_equal(d->enterprise_name, "");
    assert_string_equal(d->policy_version, "miit-2022");
    assert_false(d->has_batch);
    assert_false(d->has_score);
    world_fini(&w);
}

static void test_machine_decision_record_view(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    apply(&w, U1, LDR_TIER_INNOVATIVE, 1, t, 0, "e1");
    ldr_record_t r;
    ldr_machine_decision_record(&w.out.v[0], &r);
    assert_int_equal(r.kind, LDR_RECORD_DECISION);
    assert_true(ldr_str_eq(r.u.decision.uscc, U1));
    assert_int_equal(r.u.decision.reasons_count, 4);
    assert_true(ldr_str_eq(r.u.decision.reasons[0], "IN.SCORE"));
    assert_true(ldr_str_eq(r.u.decision.cause_event_id, "e1"));
    world_fini(&w);
}

/* ---- compact encoding
 * -------------------------------------------------------- */

static void test_machine_enterprise_encoding_round_trips(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    /* States the machine really produces: designated, in publicity, held,
     * with open cases, banned, with many events. */
    designate_innovative(&w, U1, t);
    apply(&w, U1, LDR_TIER_SPECIALIZED, 4, t + 10 * DAY, 1, "sp");
    violation(&w, U1, LDR_CASE_REPORTED, "SZ-2022-0001", t + 11 * DAY, "v1");
    tick(&w, t + 30 * DAY);
    violation(&w, U2, LDR_CASE_VERIFIED, "c", t, "v2");
    ldr_buf_t a, b;
    ldr_buf_init(&a);
    ldr_buf_init(&b);
    const char *usccs[] = {U1, U2};
    for (int i = 0; i < 2; i++) {
        const ldr_enterprise_t *e = ldr_partition_find(w.p, usccs[i], 18);
        assert_non_null(e);
        ldr_buf_reset(&a);
        ldr_enterprise_encode(e, &a);
        ldr_enterprise_t copy;
        ldr_enterprise_init(&copy, e->uscc, 18);
        assert_int_equal(ldr_enterprise_decode(&copy, a.data, a.len), LDR_OK);
        ldr_buf_reset(&b);
        ldr_enterprise_encode(&copy, &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        assert_memory_equal(copy.tiers, e->tiers, sizeof(e->tiers));
        assert_int_equal(copy.ban_until, e->ban_until);
        assert_int_equal(copy.cases_count, e->cases_count);
        assert_int_equal(copy.events_count, e->events_count);
        assert_string_equal(copy.name, e->name);
        print_message("enterprise %d: %zu bytes\n", i, a.len);
        /* Every truncation is refused, and leaves no partial state. */
        for (size_t cut = 0; cut < a.len; cut++) {
            char *p = malloc(cut ? cut : 1);
            memcpy(p, a.data, cut);
            assert_int_equal(ldr_enterprise_decode(&copy, p, cut),
                             LDR_ERR_DECODE_FAILED);
            assert_int_equal(copy.tiers[0].state, LDR_TIER_STATE_NONE);
            free(p);
        }
        /* Random corruption never crashes. */
        uint64_t x = 0x9E3779B97F4A7C15ULL;
        for (int round = 0; round < 2000; round++) {
            char *p = malloc(a.len);
            memcpy(p, a.data, a.len);
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            p[x % a.len] = (char)(x >> 32);
            ldr_err_t rc = ldr_enterprise_decode(&copy, p, a.len);
            assert_true(rc == LDR_OK || rc == LDR_ERR_DECODE_FAILED);
            free(p);
        }
        ldr_enterprise_fini(&copy);
    }
    ldr_buf_fini(&a);
    ldr_buf_fini(&b);
    world_fini(&w);
}

/* A partition rebuilt from its encoded enterprises and clock (what a
 * worker does when it takes a partition over) decides exactly as the one
 * that never stopped. */
static void test_machine_reloaded_partition_decides_the_same(void **s) {
    (void)s;
    world_t a, b;
    world_init(&a);
    world_init(&b);
    int64_t t = T("2022-03-01T00:00:00Z");
    designate_innovative(&a, U1, t);
    apply(&a, U1, LDR_TIER_SPECIALIZED, 2, t + 10 * DAY, 1, "sp");
    apply(&a, U2, LDR_TIER_INNOVATIVE, 1, t + 11 * DAY, 1, "in");
    violation(&a, U2, LDR_CASE_REPORTED, "c", t + 12 * DAY, "v1");
    /* The dirty list names both enterprises, with their state as of the
     * last take (none taken yet: all NONE). */
    size_t n;
    const ldr_partition_dirty_t *d = ldr_partition_take_dirty(a.p, &n);
    assert_int_equal(n, 2);
    assert_string_equal(d[0].e->uscc, U1);
    assert_int_equal(d[0].state_before[0], LDR_TIER_STATE_NONE);
    insert_copies(&b, d, n);
    ldr_partition_set_clock(b.p, ldr_partition_clock(a.p));
    b.offset = a.offset;
    size_t before = a.out.count;
    /* The same rest of the log on both. */
    world_t *ws[] = {&a, &b};
    for (int k = 0; k < 2; k++) {
        world_t *w = ws[k];
        violation(w, U2, LDR_CASE_DISMISSED, "c", t + 40 * DAY, "v2");
        review(w, U1, LDR_TIER_INNOVATIVE,
               ldr_time_add_years(t + 7 * DAY, 3) - 5 * DAY, 1, "r");
        tick(w, T("2030-01-01T00:00:00Z"));
    }
    assert_int_equal(a.out.count - before, b.out.count);
    assert_true(b.out.count > 6);
    assert_memory_equal(a.out.v + before, b.out.v,
                        b.out.count * sizeof(b.out.v[0]));
    /* The second take holds only what changed since the first. */
    d = ldr_partition_take_dirty(a.p, &n);
    assert_int_equal(n, 2);
    assert_int_equal(d[0].state_before[0] != LDR_TIER_STATE_NONE, 1);
    world_fini(&a);
    world_fini(&b);
}

/* The partition keeps its enterprises encoded and packs their states
 * again as they grow: a partition whose dirty list is taken after every
 * few messages (thousands of rewrites, several packings) holds exactly
 * what one taken only at the end holds, and hands out each state as the
 * bytes of its enterprise's encoding. */
static void test_machine_partition_rewrites_and_packs(void **s) {
    (void)s;
    enum { N = 1500 };
    world_t a, b;
    world_init(&a);
    world_init(&b);
    ldr_buf_t x, y;
    ldr_buf_init(&x);
    ldr_buf_init(&y);
    int64_t t = T("2022-03-01T00:00:00Z");
    size_t taken = 0;
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < N; i++) {
            char uscc[19], id[32], cs[16];
            snprintf(uscc, sizeof(uscc), "9135020000000%05d", i);
            snprintf(id, sizeof(id), "e-%d-%d", round, i);
            snprintf(cs, sizeof(cs), "c%d", i);
            int64_t at = t + round * 10 * DAY + i;
            world_t *ws[] = {&a, &b};
            for (int k = 0; k < 2; k++) {
                if (round == 0)
                    apply(ws[k], uscc, LDR_TIER_INNOVATIVE, 1, at, i % 3, id);
                else
                    violation(ws[k], uscc,
                              round % 2 ? LDR_CASE_REPORTED
                                        : LDR_CASE_DISMISSED,
                              cs, at, id);
            }
            if (i % 50 == 49) {
                size_t n;
                const ldr_partition_dirty_t *d =
                    ldr_partition_take_dirty(a.p, &n);
                for (size_t j = 0; j < n; j++) {
                    ldr_buf_reset(&x);
                    ldr_enterprise_encode(d[j].e, &x);
                    assert_int_equal(d[j].state_len, x.len);
                    assert_memory_equal(d[j].state, x.data, x.len);
                }
                taken += n;
            }
        }
        tick(&a, t + (round * 10 + 9) * DAY);
        tick(&b, t + (round * 10 + 9) * DAY);
    }
    assert_true(taken > 6 * N);
    size_t n;
    ldr_partition_take_dirty(a.p, &n);
    ldr_partition_take_dirty(b.p, &n);
    assert_int_equal(ldr_partition_count(a.p), N);
    assert_int_equal(a.out.count, b.out.count);
    assert_true(a.out.count > N);
    assert_memory_equal(a.out.v, b.out.v, a.out.count * sizeof(a.out.v[0]));
    for (int i = 0; i < N; i++) {
        char uscc[19];
        snprintf(uscc, sizeof(uscc), "9135020000000%05d", i);
        ldr_buf_reset(&x);
        ldr_buf_reset(&y);
        const ldr_enterprise_t *e = ldr_partition_find(a.p, uscc, 18);
        assert_non_null(e);
        assert_string_equal(e->uscc, uscc);
        assert_int_equal(e->events_count, 6);
        ldr_enterprise_encode(e, &x);
        e = ldr_partition_find(b.p, uscc, 18);
        assert_non_null(e);
        ldr_enterprise_encode(e, &y);
        assert_int_equal(x.len, y.len);
        assert_memory_equal(x.data, y.data, x.len);
    }
    assert_null(ldr_partition_find(a.p, "913502000000099999", 18));
    ldr_buf_fini(&x);
    ldr_buf_fini(&y);
    world_fini(&a);
    world_fini(&b);
}

/* Each enterprise keeps its last 20 decisions (the API shows them), which
 * survive the compact encoding; ids and causes are rebuilt from (offset, n). */
static void test_machine_history_keeps_the_last_20(void **s) {
    (void)s;
    world_t w;
    world_init(&w);
    int64_t t = T("2022-03-01T00:00:00Z");
    apply(&w, U1, LDR_TIER_INNOVATIVE, 1, t, 1, "a");
    violation(&w, U1, LDR_CASE_REPORTED, "c1", t + DAY, "v1");
    /* find's copy is good until the next step: found again after each */
    const ldr_enterprise_t *e = ldr_partition_find(w.p, U1, 18);
    assert_int_equal(e->history_count, 2);
    ldr_history_entry_t h;
    assert_int_equal(ldr_enterprise_history_get(e, 0, &h), LDR_OK);
    assert_int_equal(h.decision, LDR_DECISION_PUBLICITY_STARTED);
    assert_int_equal(h.offset, 0);
    assert_int_equal(h.n, 0);
    assert_true(h.has_score && h.has_batch && h.has_tier);
    assert_true(ldr_str_eq(h.cause_event_id, "a"));
    assert_true(ldr_str_eq(h.policy_version, "miit-2022"));
    assert_int_equal(ldr_enterprise_history_get(e, 1, &h), LDR_OK);
    assert_int_equal(h.decision, LDR_DECISION_INVESTIGATION_OPENED);
    assert_false(h.has_tier);
    assert_true(ldr_str_eq(h.case_id, "c1"));
    assert_int_equal(ldr_enterprise_history_get(e, 2, &h), LDR_ERR_INVALID_ARG);
    /* 24 more decisions: only the last 20 are kept, oldest first. */
    for (int i = 0; i < 24; i++) {
        char id[16];
        snprintf(id, sizeof(id), "r%d", i);
        violation(&w, U1, LDR_CASE_REPORTED, "c1", t + (2 + i) * DAY, id);
    }
    e = ldr_partition_find(w.p, U1, 18);
    assert_int_equal(e->history_count, 20);
    assert_int_equal(ldr_enterprise_history_get(e, 0, &h), LDR_OK);
    assert_true(ldr_str_eq(h.cause_event_id, "r4"));
    assert_int_equal(ldr_enterprise_history_get(e, 19, &h), LDR_OK);
    assert_true(ldr_str_eq(h.cause_event_id, "r23"));
    /* A timer decision has no cause event. */
    tick(&w, t + 40 * DAY);
    e = ldr_partition_find(w.p, U1, 18);
    assert_int_equal(ldr_enterprise_history_get(e, 19, &h), LDR_OK);
    assert_int_equal(h.decision, LDR_DECISION_INVESTIGATION_OPENED); /* held */
    /* It survives the compact encoding. */
    ldr_buf_t b;
    ldr_buf_init(&b);
    ldr_enterprise_encode(e, &b);
    print_message("enterprise with 20 history entries: %zu bytes\n", b.len);
    ldr_enterprise_t copy;
    ldr_enterprise_init(&copy, U1, 18);
    assert_int_equal(ldr_enterprise_decode(&copy, b.data, b.len), LDR_OK);
    assert_int_equal(copy.history_count, 20);
    assert_int_equal(copy.history.len, e->history.len);
    assert_memory_equal(copy.history.data, e->history.data, e->history.len);
    ldr_enterprise_fini(&copy);
    ldr_buf_fini(&b);
    world_fini(&w);
}

static int load(void **s) {
    (void)s;
    char err[512];
    policies = ldr_policies_load_dir(LADDER_SOURCE_DIR "/deploy/policy", err,
                                     sizeof(err));
    if (!policies) fail_msg("%s", err);
    return 0;
}

static int unload(void **s) {
    (void)s;
    ldr_policies_destroy(policies);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_machine_application_passes_then_publicity_designates),
        cmocka_unit_test(test_machine_application_fails_rules_rejected),
        cmocka_unit_test(test_machine_refusals_in_row_order),
        cmocka_unit_test(test_machine_ban_refuses_reapplication),
        cmocka_unit_test(
            test_machine_open_case_holds_publicity_until_dismissed),
        cmocka_unit_test(
            test_machine_dismissal_before_publicity_end_keeps_its_date),
        cmocka_unit_test(test_machine_verified_violation_cancels_every_tier),
        cmocka_unit_test(test_machine_review_window_renewal_and_expiry),
        cmocka_unit_test(test_machine_review_failure_revokes),
        cmocka_unit_test(test_machine_no_review_revokes_specialized),
        cmocka_unit_test(test_machine_timers_fire_in_due_then_uscc_order),
        cmocka_unit_test(
            test_machine_many_timers_fire_in_order_whatever_the_ticks),
        cmocka_unit_test(test_machine_timers_far_beyond_the_clock_fire_on_time),
        cmocka_unit_test(test_machine_same_instant_timers_fire_in_tier_order),
        cmocka_unit_test(test_machine_clock_never_moves_back_and_late_events),
        cmocka_unit_test(test_machine_duplicate_event_ids_yield_nothing),
        cmocka_unit_test(test_machine_several_events_in_one_batch_and_ids),
        cmocka_unit_test(test_machine_policy_switch_2026),
        cmocka_unit_test(test_machine_enterprise_level_decisions_and_unit),
        cmocka_unit_test(test_machine_decision_record_view),
        cmocka_unit_test(test_machine_enterprise_encoding_round_trips),
        cmocka_unit_test(test_machine_reloaded_partition_decides_the_same),
        cmocka_unit_test(test_machine_history_keeps_the_last_20),
        cmocka_unit_test(test_machine_partition_rewrites_and_packs),
    };
    return cmocka_run_group_tests(tests, load, unload);
}
