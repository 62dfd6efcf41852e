/* samples.h -- sample records and field-by-field comparison for tests.
 *
 * Header-only so that every test program can include it without a shared
 * test library. The samples exercise every field with non-default values,
 * and every optional both set and unset (variant 0 / 1). */
#ifndef LADDER_TEST_SAMPLES_H
#define LADDER_TEST_SAMPLES_H

#include "ladder/record.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static inline void ldr_sample_indicators(ldr_indicators_t *ind, int variant) {
    memset(ind, 0, sizeof(*ind));
    ind->years_in_niche = 7 + variant;
    ind->revenue = 123456789012LL;
    ind->revenue_prev = 98765432101LL;
    ind->main_revenue = 110000000000LL + variant;
    ind->main_revenue_prev = 90000000000LL;
    ind->main_revenue_prev2 = 80000000000LL;
    ind->net_profit = variant ? -5000000LL : 12345678LL;
    ind->rd_expense = 4567890LL;
    ind->rd_expense_prev = 3456789LL;
    ind->employees = 420;
    ind->rd_staff = 88;
    ind->asset_liability_pct = 54.99;
    ind->equity_financing_2y = 20000000LL;
    ind->equity_financing_3y = 60000000LL;
    ind->niche_market_share_pct = 12.5;
    ind->niche_market_rank = 3;
    ind->ip_class1 = 5;
    ind->ip_class1_high_value = 2;
    ind->ip_class1_self_developed = 3;
    ind->ip_class2 = 17;
    ind->rd_institution = variant ? LDR_RD_NONE : LDR_RD_PROVINCIAL;
    ind->digitalization_level = 3;
    ind->quality_items = 2;
    ind->own_brand = true;
    ind->mgmt_certification = !variant;
    ind->core_business_on_info_system = true;
    ind->strategic_emerging_field = variant;
    ind->field_gap_filling = true;
    ind->field_six_foundations = !variant;
    ind->key_chain_link = true;
    ind->honours = variant ? 0
                           : (1u << LDR_HONOUR_HIGH_TECH_ENTERPRISE) |
                                 (1u << LDR_HONOUR_MAKER_CHINA_TOP50_3Y) |
                                 (1u << LDR_HONOUR_ST_AWARD_3Y);
    ind->local_score = 11;
    ind->has_development_score = !variant;
    ind->development_score = variant ? 0 : 77;
}

static inline void ldr_sample_record(ldr_record_t *rec, ldr_record_kind_t kind,
                                     int variant) {
    memset(rec, 0, sizeof(*rec));
    rec->kind = kind;
    switch (kind) {
    case LDR_RECORD_APPLICATION: {
        ldr_application_t *a = &rec->u.application;
        a->event_id = ldr_str("app-0001");
        a->uscc = ldr_str("91350211MA2YN5GXXB");
        a->enterprise_name = ldr_str("厦门精密传感科技有限公司");
        a->reporting_unit = ldr_str("3502");
        a->tier = LDR_TIER_SPECIALIZED;
        a->batch = 4;
        a->occurred_at = 1654041600000LL + variant;
        ldr_sample_indicators(&a->indicators, variant);
        break;
    }
    case LDR_RECORD_REVIEW: {
        ldr_review_t *r = &rec->u.review;
        r->event_id = ldr_str("rev-42");
        r->uscc = ldr_str("91110108MA01ABCD2X");
        r->enterprise_name = ldr_str("北京小巨人机器人有限公司");
        r->reporting_unit = ldr_str("11");
        r->tier = LDR_TIER_LITTLE_GIANT;
        r->occurred_at = 1735689600123LL;
        ldr_sample_indicators(&r->indicators, variant);
        break;
    }
    case LDR_RECORD_VIOLATION: {
        ldr_violation_t *v = &rec->u.violation;
        v->event_id = ldr_str("vio-7");
        v->uscc = ldr_str("91440300MA5F0XYZ1T");
        v->reporting_unit = ldr_str("4403");
        v->case_id = ldr_str("SZ-2024-0099");
        v->kind = LDR_VIOLATION_TAX_EVASION;
        v->status = variant ? LDR_CASE_DISMISSED : LDR_CASE_VERIFIED;
        v->occurred_at = 1700000000000LL;
        v->has_details = !variant;
        v->details = variant ? ldr_str(NULL) : ldr_str("虚报研发费用");
        break;
    }
    case LDR_RECORD_CLOCK_TICK:
        rec->u.tick.tick_at = 1767225600000LL + variant;
        rec->u.tick.source = ldr_str("ladder-worker/host-1");
        break;
    case LDR_RECORD_DECISION: {
        ldr_decision_t *d = &rec->u.decision;
        d->decision_id = ldr_str("d-0f3a9c");
        d->uscc = ldr_str("91350211MA2YN5GXXB");
        d->enterprise_name = ldr_str("厦门精密传感科技有限公司");
        d->reporting_unit = ldr_str("3502");
        d->has_tier = !variant;
        d->tier = variant ? LDR_TIER_INNOVATIVE : LDR_TIER_LITTLE_GIANT;
        d->decision =
            variant ? LDR_DECISION_VIOLATION_CONFIRMED : LDR_DECISION_REVOKED;
        d->reasons_count = variant ? 0 : 3;
        d->reasons[0] = ldr_str("REVIEW_FAILED");
        d->reasons[1] = ldr_str("LG.RD_INTENSITY");
        d->reasons[2] = ldr_str("LG.MARKET_SHARE");
        if (variant) memset(d->reasons, 0, sizeof(d->reasons));
        d->effective_at = 1750000000000LL;
        d->has_valid_from = !variant;
        d->valid_from = variant ? 0 : 1650000000000LL;
        d->has_valid_until = !variant;
        d->valid_until = variant ? 0 : 1744694400000LL;
        d->has_review_deadline = !variant;
        d->review_deadline = variant ? 0 : 1744694400000LL;
        d->has_ban_until = variant;
        d->ban_until = variant ? 1844694400000LL : 0;
        d->has_case_id = variant;
        d->case_id = variant ? ldr_str("XM-1") : ldr_str(NULL);
        d->has_batch = !variant;
        d->batch = variant ? 0 : 4;
        d->has_score = !variant;
        d->score = variant ? 0 : 58;
        d->policy_version = ldr_str("miit-2022");
        d->has_cause_event_id = !variant;
        d->cause_event_id = variant ? ldr_str(NULL) : ldr_str("rev-42");
        d->cause = ldr_str("ladder.events.v1/3/1234567");
        d->decided_at = 1750000000456LL;
        break;
    }
    }
}

static inline int ldr_sample_str_eq(ldr_str_t a, ldr_str_t b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Compares two records field by field; on a difference writes the field's
 * name into @p what and returns 0. */
static inline int ldr_sample_equal(const ldr_record_t *x, const ldr_record_t *y,
                                   char *what, size_t n) {
#define S(f)                                                                   \
    ;                                                                          \
    do {                                                                       \
        if (!ldr_sample_str_eq(a->f, b->f)) {                                  \
            snprintf(what, n, "%s", #f);                                       \
            return 0;                                                          \
        }                                                                      \
    } while (0)
#define V(f)                                                                   \
    ;                                                                          \
    do {                                                                       \
        if (a->f != b->f) {                                                    \
            snprintf(what, n, "%s", #f);                                       \
            return 0;                                                          \
        }                                                                      \
    } while (0)
#define DBL(f)                                                                 \
    ;                                                                          \
    do {                                                                       \
        if (memcmp(&a->f, &b->f, sizeof(double)) != 0) {                       \
            snprintf(what, n, "%s", #f);                                       \
            return 0;                                                          \
        }                                                                      \
    } while (0)
    if (x->kind != y->kind) {
        snprintf(what, n, "kind");
        return 0;
    }
    const ldr_indicators_t *ia = NULL, *ib = NULL;
    switch (x->kind) {
    case LDR_RECORD_APPLICATION: {
        const ldr_application_t *a = &x->u.application, *b = &y->u.application;
        S(event_id);
        S(uscc);
        S(enterprise_name);
        S(reporting_unit);
        V(tier);
        V(batch);
        V(occurred_at);
        ia = &a->indicators;
        ib = &b->indicators;
        break;
    }
    case LDR_RECORD_REVIEW: {
        const ldr_review_t *a = &x->u.review, *b = &y->u.review;
        S(event_id);
        S(uscc);
        S(enterprise_name);
        S(reporting_unit);
        V(tier);
        V(occurred_at);
        ia = &a->indicators;
        ib = &b->indicators;
        break;
    }
    case LDR_RECORD_VIOLATION: {
        const ldr_violation_t *a = &x->u.violation, *b = &y->u.violation;
        S(event_id);
        S(uscc);
        S(reporting_unit);
        S(case_id);
        V(kind);
        V(status);
        V(occurred_at);
        V(has_details);
        if (a->has_details) {
            S(details);
        }
        break;
    }
    case LDR_RECORD_CLOCK_TICK: {
        const ldr_clock_tick_t *a = &x->u.tick, *b = &y->u.tick;
        V(tick_at);
        S(source);
        break;
    }
    case LDR_RECORD_DECISION: {
        const ldr_decision_t *a = &x->u.decision, *b = &y->u.decision;
        S(decision_id);
        S(uscc);
        S(enterprise_name);
        S(reporting_unit);
        V(has_tier);
        if (a->has_tier) {
            V(tier);
        }
        V(decision);
        V(reasons_count);
        for (size_t i = 0; i < a->reasons_count; i++) {
            S(reasons[i]);
        }
        V(effective_at);
        V(has_valid_from);
        if (a->has_valid_from) {
            V(valid_from);
        }
        V(has_valid_until);
        if (a->has_valid_until) {
            V(valid_until);
        }
        V(has_review_deadline);
        if (a->has_review_deadline) {
            V(review_deadline);
        }
        V(has_ban_until);
        if (a->has_ban_until) {
            V(ban_until);
        }
        V(has_case_id);
        if (a->has_case_id) {
            S(case_id);
        }
        V(has_batch);
        if (a->has_batch) {
            V(batch);
        }
        V(has_score);
        if (a->has_score) {
            V(score);
        }
        S(policy_version);
        V(has_cause_event_id);
        if (a->has_cause_event_id) {
            S(cause_event_id);
        }
        S(cause);
        V(decided_at);
        break;
    }
    }
    if (ia) {
        const ldr_indicators_t *a = ia, *b = ib;
        V(years_in_niche);
        V(revenue);
        V(revenue_prev);
        V(main_revenue);
        V(main_revenue_prev);
        V(main_revenue_prev2);
        V(net_profit);
        V(rd_expense);
        V(rd_expense_prev);
        V(employees);
        V(rd_staff);
        DBL(asset_liability_pct);
        V(equity_financing_2y);
        V(equity_financing_3y);
        DBL(niche_market_share_pct);
        V(niche_market_rank);
        V(ip_class1);
        V(ip_class1_high_value);
        V(ip_class1_self_developed);
        V(ip_class2);
        V(rd_institution);
        V(digitalization_level);
        V(quality_items);
        V(own_brand);
        V(mgmt_certification);
        V(core_business_on_info_system);
        V(strategic_emerging_field);
        V(field_gap_filling);
        V(field_six_foundations);
        V(key_chain_link);
        V(honours);
        V(local_score);
        V(has_development_score);
        if (a->has_development_score) {
            V(development_score);
        }
    }
    return 1;
#undef S
#undef V
#undef DBL
}

#endif
