/* test_policy.c -- the rules of POLICY.md, evaluated against the real policy
 * files in deploy/policy.
 *
 * Table-driven: each table starts from a base declaration whose points and
 * verdict are worked out by hand in its comment, and each row patches a few
 * fields (written as JSON, the way an operator would feed ladder-policy) and
 * states the one number or the reason codes POLICY.md gives for it. Band
 * edges are tested just below, at and just above; several rows use values
 * where plain double arithmetic lands on the wrong side of the edge (noted
 * "double: wrong"), so only the exact comparison passes them. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ladder/indicators.h"
#include "ladder/policy_files.h"
#include "ladder/policy.h"
#include "ladder/time.h"

#define AT_2022 "2022-06-01T00:00:00Z"
#define AT_2026 "2026-06-01T00:00:00Z"
#define AT_2027 "2027-06-01T00:00:00Z"

/* ---- declarations as JSON ------------------------------------------------ */

/* Sets the fields named in the JSON object @p patch_json. */
static void patch(ldr_indicators_t *ind, const char *patch_json) {
    json_error_t jerr;
    json_t *obj = json_loads(patch_json, 0, &jerr);
    if (!obj) fail_msg("bad test patch %s: %s", patch_json, jerr.text);
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        int f = ldr_indicators_field_find(key, strlen(key));
        if (f < 0) fail_msg("bad test patch field %s", key);
        char err[256];
        if (ldr_indicators_set_json(ind, (size_t)f, v, err, sizeof(err)))
            fail_msg("bad test patch %s: %s", patch_json, err);
    }
    json_decref(obj);
}

static ldr_indicators_t make(const char *base, const char *row) {
    ldr_indicators_t ind;
    memset(&ind, 0, sizeof ind);
    patch(&ind, base);
    if (row) patch(&ind, row);
    return ind;
}

static int64_t at(const char *rfc3339) {
    int64_t ms;
    assert_int_equal(ldr_time_parse(rfc3339, strlen(rfc3339), &ms, NULL, 0),
                     LDR_OK);
    return ms;
}

/* INNOVATIVE base: innovation 0 (IP) + 20 (5% intensity) = 20; growth 15
 * (12.5%) + 5 (60%) = 20; specialization 5 (not strategic) + 20 (90%) = 25;
 * score 65: pass. */
static const char *const IN_BASE =
    "{\"years_in_niche\":3,\"revenue\":100000000,\"revenue_prev\":90000000,"
    "\"main_revenue\":90000000,\"main_revenue_prev\":80000000,\"main_revenue_"
    "prev2\":70000000,"
    "\"net_profit\":5000000,\"rd_expense\":5000000,\"rd_expense_prev\":4000000,"
    "\"employees\":100,\"rd_staff\":10,\"asset_liability_pct\":60,"
    "\"equity_financing_2y\":0,\"equity_financing_3y\":0,\"niche_market_share_"
    "pct\":5,"
    "\"niche_market_rank\":0,\"ip_class1\":0,\"ip_class1_high_value\":0,"
    "\"ip_class1_self_developed\":0,\"ip_class2\":0,\"rd_institution\":"
    "\"NONE\","
    "\"digitalization_level\":2,\"quality_items\":1,\"own_brand\":false,"
    "\"mgmt_certification\":false,\"core_business_on_info_system\":false,"
    "\"strategic_emerging_field\":false,\"field_gap_filling\":false,"
    "\"field_six_foundations\":false,\"key_chain_link\":false,\"honours\":[],"
    "\"local_score\":5,\"development_score\":null}";

/* SPECIALIZED base: specialization 5 (85%) + 10 (average growth 10.27%) + 2
 * (4 years) + 0 (field) = 17; refinement 5 (level 3) + 3 (1 item) + 4 (5%
 * margin) + 3 (55%) = 15; characteristics 10; innovation 6 (ip_class1) + 6
 * (3.5M expense beats 3.5% intensity's 2) + 3 (15% staff) + 4 (MUNICIPAL) =
 * 19; score 61: pass. */
static const char *const SP_BASE =
    "{\"years_in_niche\":4,\"revenue\":100000000,\"revenue_prev\":90000000,"
    "\"main_revenue\":85000000,\"main_revenue_prev\":80000000,\"main_revenue_"
    "prev2\":70000000,"
    "\"net_profit\":5000000,\"rd_expense\":3500000,\"rd_expense_prev\":3000000,"
    "\"employees\":100,\"rd_staff\":15,\"asset_liability_pct\":55,"
    "\"equity_financing_2y\":0,\"equity_financing_3y\":0,\"niche_market_share_"
    "pct\":5,"
    "\"niche_market_rank\":0,\"ip_class1\":1,\"ip_class1_high_value\":0,"
    "\"ip_class1_self_developed\":0,\"ip_class2\":0,\"rd_institution\":"
    "\"MUNICIPAL\","
    "\"digitalization_level\":3,\"quality_items\":1,\"own_brand\":false,"
    "\"mgmt_certification\":false,\"core_business_on_info_system\":false,"
    "\"strategic_emerging_field\":false,\"field_gap_filling\":false,"
    "\"field_six_foundations\":false,\"key_chain_link\":false,\"honours\":[],"
    "\"local_score\":10,\"development_score\":null}";

/* SP_BASE raised to 93 points (22 + 25 + 15 + 31), so that one failing
 * condition does not also pull the score under 60. */
static const char *const SP_STRONG =
    "{\"field_gap_filling\":true,\"quality_items\":2,\"net_profit\":10000000,"
    "\"asset_liability_pct\":45,\"local_score\":15,\"ip_class1_high_value\":1,"
    "\"rd_staff\":20,\"rd_institution\":\"NATIONAL\"}";

/* LITTLE_GIANT base, passing every 2022 condition: 5 years; share 180/200 =
 * 90%; growths 14.29% and 12.5%, average 13.39%; intensity 5% in y and
 * y-1 at revenue >= 100M; PROVINCIAL; 5 class-I IP; 45.5% liabilities; 15%
 * market share; every flag true. With development_score 70 it also passes
 * every 2026 condition (share exactly 90, compound growth 13.39%, R&D 19M
 * over two years). */
static const char *const LG_BASE =
    "{\"years_in_niche\":5,\"revenue\":200000000,\"revenue_prev\":180000000,"
    "\"main_revenue\":180000000,\"main_revenue_prev\":160000000,"
    "\"main_revenue_prev2\":140000000,\"net_profit\":20000000,\"rd_expense\":"
    "10000000,"
    "\"rd_expense_prev\":9000000,\"employees\":300,\"rd_staff\":60,"
    "\"asset_liability_pct\":45.5,\"equity_financing_2y\":0,\"equity_financing_"
    "3y\":0,"
    "\"niche_market_share_pct\":15.0,\"niche_market_rank\":2,\"ip_class1\":5,"
    "\"ip_class1_high_value\":1,\"ip_class1_self_developed\":3,\"ip_class2\":"
    "10,"
    "\"rd_institution\":\"PROVINCIAL\",\"digitalization_level\":3,\"quality_"
    "items\":3,"
    "\"own_brand\":true,\"mgmt_certification\":true,\"core_business_on_info_"
    "system\":true,"
    "\"strategic_emerging_field\":true,\"field_gap_filling\":false,"
    "\"field_six_foundations\":true,\"key_chain_link\":true,\"honours\":[],"
    "\"local_score\":10,\"development_score\":null}";

/* ---- fixtures and checks ------------------------------------------------- */

static int setup(void **state) {
    char err[1024];
    ldr_policies_t *p = ldr_policies_load_dir(
        LADDER_SOURCE_DIR "/deploy/policy", err, sizeof err);
    if (!p) {
        fprintf(stderr, "loading deploy/policy: %s\n", err);
        return -1;
    }
    *state = p;
    return 0;
}

static int teardown(void **state) {
    ldr_policies_destroy(*state);
    return 0;
}

static int subscore(const ldr_eval_result_t *r, const char *name) {
    for (size_t i = 0; i < r->subscores_count; i++)
        if (strcmp(r->subscores[i].name, name) == 0)
            return r->subscores[i].value;
    fail_msg("no sub-score '%s'", name);
    return -1;
}

/* "A,B" -> the reasons must be exactly A then B; "" -> pass. */
static void expect_reasons(const ldr_eval_result_t *r, const char *want,
                           const char *what) {
    char got[512] = "";
    for (size_t i = 0; i < r->reasons_count; i++) {
        if (i) strcat(got, ",");
        strcat(got, r->reasons[i]);
    }
    if (strcmp(got, want) != 0)
        fail_msg("%s: reasons [%s], want [%s]", what, got, want);
    if (r->pass != (want[0] == '\0'))
        fail_msg("%s: pass is %d with reasons [%s]", what, r->pass, got);
}

struct band_case {
    const char *row;
    const char *group;
    int expect;
};

static void run_bands(const ldr_policies_t *p, ldr_tier_t tier,
                      const char *base, const char *extra,
                      const struct band_case *cases, size_t n) {
    for (size_t i = 0; i < n; i++) {
        ldr_indicators_t ind = make(base, extra);
        patch(&ind, cases[i].row);
        ldr_eval_result_t r;
        ldr_policy_evaluate(p, tier, LDR_EVAL_APPLICATION, at(AT_2022), &ind,
                            &r);
        assert_non_null(r.policy);
        assert_true(r.has_score);
        int got = subscore(&r, cases[i].group);
        if (got != cases[i].expect)
            fail_msg("row %zu %s: %s = %d, want %d", i, cases[i].row,
                     cases[i].group, got, cases[i].expect);
    }
}

struct reason_case {
    const char *row;
    const char *reasons;
};

static void run_reasons(const ldr_policies_t *p, ldr_tier_t tier,
                        ldr_eval_mode_t mode, const char *when,
                        const char *base, const char *extra,
                        const struct reason_case *cases, size_t n) {
    for (size_t i = 0; i < n; i++) {
        ldr_indicators_t ind = make(base, extra);
        patch(&ind, cases[i].row);
        ldr_eval_result_t r;
        char what[600];
        ldr_policy_evaluate(p, tier, mode, at(when), &ind, &r);
        snprintf(what, sizeof what, "row %zu %s", i, cases[i].row);
        expect_reasons(&r, cases[i].reasons, what);
    }
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- INNOVATIVE ---------------------------------------------------------- */

static void test_policy_in_base_scores(void **state) {
    ldr_indicators_t ind = make(IN_BASE, NULL);
    ldr_eval_result_t r;
    ldr_policy_evaluate(*state, LDR_TIER_INNOVATIVE, LDR_EVAL_APPLICATION,
                        at(AT_2022), &ind, &r);
    assert_string_equal(ldr_policy_version(r.policy), "miit-2022");
    assert_true(r.has_score);
    assert_int_equal(r.score, 65);
    assert_int_equal(r.subscores_count, 3);
    /* Sub-score keys and order are POLICY.md's group names. */
    assert_string_equal(r.subscores[0].name, "innovation");
    assert_string_equal(r.subscores[1].name, "growth");
    assert_string_equal(r.subscores[2].name, "specialization");
    assert_int_equal(r.subscores[0].value, 20);
    assert_int_equal(r.subscores[1].value, 20);
    assert_int_equal(r.subscores[2].value, 25);
    expect_reasons(&r, "", "base");
}

static void test_policy_in_score_bands(void **state) {
    static const struct band_case cases[] = {
        /* IP (innovation = IP + 20): the cascade is read top-down. */
        {"{\"ip_class1_high_value\":1,\"ip_class2\":5}", "innovation", 40},
        {"{\"ip_class1_self_developed\":1,\"ip_class1\":3}", "innovation", 35},
        {"{\"ip_class1\":1}", "innovation", 30},
        {"{\"ip_class2\":1}", "innovation", 25},
        {"{}", "innovation", 20},
        /* R&D intensity (innovation = 0 + points), revenue 100M. */
        {"{\"rd_expense\":999999}", "innovation", 0},
        {"{\"rd_expense\":1000000}", "innovation", 5},
        {"{\"rd_expense\":1000001}", "innovation", 5},
        {"{\"rd_expense\":1999999}", "innovation", 5},
        {"{\"rd_expense\":2000000}", "innovation", 10},
        {"{\"rd_expense\":2000001}", "innovation", 10},
        {"{\"rd_expense\":2999999}", "innovation", 10},
        {"{\"rd_expense\":3000000}", "innovation", 15},
        {"{\"rd_expense\":3000001}", "innovation", 15},
        {"{\"rd_expense\":4999999}", "innovation", 15},
        {"{\"rd_expense\":5000000}", "innovation", 20},
        {"{\"rd_expense\":5000001}", "innovation", 20},
        {"{\"rd_expense\":-1}", "innovation", 0},
        /* double: wrong (rd / revenue x 100 rounds to exactly 3 and 5) */
        {"{\"revenue\":9000000000000000000,\"rd_expense\":269999999999999999}",
         "innovation", 10},
        {"{\"revenue\":9000000000000000000,\"rd_expense\":270000000000000000}",
         "innovation", 15},
        {"{\"revenue\":9000000000000000000,\"rd_expense\":449999999999999999}",
         "innovation", 15},
        {"{\"revenue\":9000000000000000000,\"rd_expense\":450000000000000000}",
         "innovation", 20},
        /* main revenue growth (growth = points + 5), last year 100M. */
        {"{\"main_revenue_prev\":100000000,\"main_revenue\":99999999}",
         "growth", 5},
        {"{\"main_revenue_prev\":100000000,\"main_revenue\":100000000}",
         "growth", 10},
        {"{\"main_revenue_prev\":100000000,\"main_revenue\":100000001}",
         "growth", 10},
        {"{\"main_revenue_prev\":100000000,\"main_revenue\":104999999}",
         "growth", 10},
        {"{\"main_revenue_prev\":100000000,\"main_revenue\":105000000}",
         "growth", 15},
        {"{\"main_revenue_prev\":100000000,\"main_revenue\":105000001}",
         "growth", 15},
        {"{\"main_revenue_prev\":100000000,\"main_revenue\":109999999}",
         "growth", 15},
        {"{\"main_revenue_prev\":100000000,\"main_revenue\":110000000}",
         "growth", 20},
        {"{\"main_revenue_prev\":100000000,\"main_revenue\":114999999}",
         "growth", 20},
        {"{\"main_revenue_prev\":100000000,\"main_revenue\":115000000}",
         "growth", 25},
        {"{\"main_revenue_prev\":100000000,\"main_revenue\":115000001}",
         "growth", 25},
        /* double: wrong (m0 / m1 x 100 - 100 gives 14.999999999999986) */
        {"{\"main_revenue_prev\":20,\"main_revenue\":23}", "growth", 25},
        /* double: wrong (the difference vanishes next to 8.8e18) */
        {"{\"main_revenue_prev\":8000000000000000000,\"main_revenue\":"
         "8799999999999999999}",
         "growth", 15},
        {"{\"main_revenue_prev\":8000000000000000000,\"main_revenue\":"
         "8800000000000000000}",
         "growth", 20},
        /* asset-liability (growth = 15 + points): < 55, 55..75 inclusive, > 75.
         */
        {"{\"asset_liability_pct\":54.99}", "growth", 25},
        {"{\"asset_liability_pct\":55}", "growth", 20},
        {"{\"asset_liability_pct\":55.01}", "growth", 20},
        {"{\"asset_liability_pct\":74.99}", "growth", 20},
        {"{\"asset_liability_pct\":75}", "growth", 20},
        {"{\"asset_liability_pct\":75.01}", "growth", 15},
        {"{\"asset_liability_pct\":0}", "growth", 25},
        /* field (specialization = points + 20). */
        {"{\"strategic_emerging_field\":true}", "specialization", 30},
        {"{\"strategic_emerging_field\":false}", "specialization", 25},
        /* main-business share (specialization = 5 + points), revenue 100M. */
        {"{\"main_revenue\":49999999}", "specialization", 5},
        {"{\"main_revenue\":50000000}", "specialization", 10},
        {"{\"main_revenue\":50000001}", "specialization", 10},
        {"{\"main_revenue\":54999999}", "specialization", 10},
        {"{\"main_revenue\":55000000}", "specialization", 15},
        {"{\"main_revenue\":59999999}", "specialization", 15},
        {"{\"main_revenue\":60000000}", "specialization", 20},
        {"{\"main_revenue\":69999999}", "specialization", 20},
        {"{\"main_revenue\":70000000}", "specialization", 25},
        {"{\"main_revenue\":70000001}", "specialization", 25},
        {"{\"main_revenue\":150000000}", "specialization", 25},
        /* double: wrong */
        {"{\"revenue\":9000000000000000000,\"main_revenue\":"
         "6299999999999999999}",
         "specialization", 20},
    };
    run_bands(*state, LDR_TIER_INNOVATIVE, IN_BASE, NULL, cases, N(cases));

    /* Just beside the percentage edges: doubles one ulp away. */
    ldr_indicators_t ind = make(IN_BASE, NULL);
    ldr_eval_result_t r;
    ind.asset_liability_pct = nextafter(55.0, 0.0);
    ldr_policy_evaluate(*state, LDR_TIER_INNOVATIVE, LDR_EVAL_APPLICATION,
                        at(AT_2022), &ind, &r);
    assert_int_equal(subscore(&r, "growth"), 25);
    ind.asset_liability_pct = nextafter(75.0, 100.0);
    ldr_policy_evaluate(*state, LDR_TIER_INNOVATIVE, LDR_EVAL_APPLICATION,
                        at(AT_2022), &ind, &r);
    assert_int_equal(subscore(&r, "growth"), 15);
}

static void test_policy_in_pass_rule(void **state) {
    static const struct reason_case cases[] = {
        {"{}", ""},
        /* 20 + 15 + 15 = 50, every sub-score exactly at its threshold: only
         * the total fails. 5% growth -> 10, 60% -> 5; 105M of 180M = 58.3%
         * -> 10; 9M of 180M = 5% -> 20. */
        {"{\"main_revenue_prev\":100000000,\"main_revenue\":105000000,"
         "\"revenue\":"
         "180000000,\"rd_expense\":9000000}",
         "IN.SCORE"},
        /* the same with 3% intensity: 15 + 15 + 15 = 45 */
        {"{\"main_revenue_prev\":100000000,\"main_revenue\":105000000,"
         "\"revenue\":"
         "180000000,\"rd_expense\":5400000}",
         "IN.SCORE,IN.INNOVATION_SUBSCORE"},
        /* innovation 15 (3% intensity), growth 30 (15.4%, 40%),
         * specialization 30: 75 */
        {"{\"rd_expense\":3000000,\"main_revenue_prev\":78000000,\"asset_"
         "liability_pct\":40,"
         "\"strategic_emerging_field\":true}",
         "IN.INNOVATION_SUBSCORE"},
        /* growth 10 (5.9% growth, 80% liabilities), innovation 40,
         * specialization 30: 80 */
        {"{\"ip_class1_high_value\":1,\"main_revenue_prev\":85000000,\"asset_"
         "liability_pct\":80,"
         "\"strategic_emerging_field\":true}",
         "IN.GROWTH_SUBSCORE"},
        /* specialization 10 (52% share), innovation 40, growth 30: 80 */
        {"{\"ip_class1_high_value\":1,\"main_revenue\":52000000,\"main_revenue_"
         "prev\":40000000,"
         "\"asset_liability_pct\":40}",
         "IN.SPECIALIZATION_SUBSCORE"},
        /* nothing: 0 + 0 + 5 = 5, every code in table order */
        {"{\"rd_expense\":0,\"main_revenue\":0,\"main_revenue_prev\":0,"
         "\"asset_liability_pct\":80}",
         "IN.SCORE,IN.INNOVATION_SUBSCORE,IN.GROWTH_SUBSCORE,IN.SPECIALIZATION_"
         "SUBSCORE"},
        /* 20 + 20 + 20 = 60 exactly passes: 10% growth -> 15, 60% -> 5;
         * 110M of 165M = 66.7% -> 15; 8.25M of 165M = 5% -> 20. */
        {"{\"main_revenue_prev\":100000000,\"main_revenue\":110000000,"
         "\"revenue\":"
         "165000000,\"rd_expense\":8250000}",
         ""},
    };
    run_reasons(*state, LDR_TIER_INNOVATIVE, LDR_EVAL_APPLICATION, AT_2022,
                IN_BASE, NULL, cases, N(cases));
    /* Review mode changes nothing for INNOVATIVE. */
    run_reasons(*state, LDR_TIER_INNOVATIVE, LDR_EVAL_REVIEW, AT_2022, IN_BASE,
                NULL, cases, N(cases));
}

static void test_policy_in_direct_paths(void **state) {
    /* On a declaration that fails everything (score 5), each direct path
     * passes with no reasons, and the score is still reported. */
    static const char *const nothing =
        "{\"rd_expense\":0,\"main_revenue\":0,\"main_revenue_prev\":0,\"asset_"
        "liability_pct\":80}";
    static const struct reason_case cases[] = {
        {"{\"honours\":[\"ST_AWARD_3Y\"]}", ""},
        {"{\"honours\":[\"HIGH_TECH_ENTERPRISE\"]}", ""},
        {"{\"honours\":[\"TECH_INNOVATION_DEMO_ENTERPRISE\"]}", ""},
        {"{\"honours\":[\"IP_ADVANTAGE_ENTERPRISE\"]}", ""},
        {"{\"rd_institution\":\"PROVINCIAL\"}", ""},
        {"{\"rd_institution\":\"NATIONAL\"}", ""},
        {"{\"equity_financing_3y\":5000000}", ""},
        {"{\"equity_financing_3y\":5000001}", ""},
        /* not direct paths for this tier */
        {"{\"equity_financing_3y\":4999999}",
         "IN.SCORE,IN.INNOVATION_SUBSCORE,IN.GROWTH_SUBSCORE,IN.SPECIALIZATION_"
         "SUBSCORE"},
        {"{\"rd_institution\":\"MUNICIPAL\"}",
         "IN.SCORE,IN.INNOVATION_SUBSCORE,IN.GROWTH_SUBSCORE,IN.SPECIALIZATION_"
         "SUBSCORE"},
        {"{\"equity_financing_2y\":900000000}",
         "IN.SCORE,IN.INNOVATION_SUBSCORE,IN.GROWTH_SUBSCORE,IN.SPECIALIZATION_"
         "SUBSCORE"},
        {"{\"honours\":[\"ST_AWARD_NATIONAL_TOP3_3Y\",\"MAKER_CHINA_TOP500_"
         "3Y\","
         "\"MAKER_CHINA_TOP50_3Y\",\"ST_AWARD_PROVINCIAL_TOP3_3Y\",\"ST_AWARD_"
         "NATIONAL_TOP5_3Y\"]}",
         "IN.SCORE,IN.INNOVATION_SUBSCORE,IN.GROWTH_SUBSCORE,IN.SPECIALIZATION_"
         "SUBSCORE"},
    };
    run_reasons(*state, LDR_TIER_INNOVATIVE, LDR_EVAL_APPLICATION, AT_2022,
                IN_BASE, nothing, cases, N(cases));
    ldr_indicators_t ind = make(IN_BASE, nothing);
    patch(&ind, "{\"honours\":[\"HIGH_TECH_ENTERPRISE\"]}");
    ldr_eval_result_t r;
    ldr_policy_evaluate(*state, LDR_TIER_INNOVATIVE, LDR_EVAL_APPLICATION,
                        at(AT_2022), &ind, &r);
    assert_true(r.pass);
    assert_true(r.has_score);
    assert_int_equal(r.score, 5);
    assert_int_equal(r.subscores_count, 3);
    assert_int_equal(subscore(&r, "specialization"), 5);
}

/* ---- SPECIALIZED -----------------------------------------------------------
 */

static void test_policy_sp_base_scores(void **state) {
    ldr_indicators_t ind = make(SP_BASE, NULL);
    ldr_eval_result_t r;
    ldr_policy_evaluate(*state, LDR_TIER_SPECIALIZED, LDR_EVAL_APPLICATION,
                        at(AT_2022), &ind, &r);
    assert_int_equal(r.score, 61);
    assert_int_equal(r.subscores_count, 4);
    static const char *const names[] = {"specialization", "refinement",
                                        "characteristics", "innovation"};
    static const int values[] = {17, 15, 10, 19};
    for (int i = 0; i < 4; i++) {
        assert_string_equal(r.subscores[i].name, names[i]);
        assert_int_equal(r.subscores[i].value, values[i]);
    }
    expect_reasons(&r, "", "base");
    ind = make(SP_BASE, SP_STRONG);
    ldr_policy_evaluate(*state, LDR_TIER_SPECIALIZED, LDR_EVAL_APPLICATION,
                        at(AT_2022), &ind, &r);
    assert_int_equal(r.score, 93);
}

static void test_policy_sp_score_bands(void **state) {
    static const struct band_case cases[] = {
        /* main-business share (specialization = points + 0 growth + 2 + 0;
         * last year's main revenue 0 makes the growth 0 points). */
        {"{\"main_revenue_prev\":0,\"main_revenue\":59999999}",
         "specialization", 2},
        {"{\"main_revenue_prev\":0,\"main_revenue\":60000000}",
         "specialization", 3},
        {"{\"main_revenue_prev\":0,\"main_revenue\":69999999}",
         "specialization", 3},
        {"{\"main_revenue_prev\":0,\"main_revenue\":70000000}",
         "specialization", 5},
        {"{\"main_revenue_prev\":0,\"main_revenue\":79999999}",
         "specialization", 5},
        {"{\"main_revenue_prev\":0,\"main_revenue\":80000000}",
         "specialization", 7},
        {"{\"main_revenue_prev\":0,\"main_revenue\":80000001}",
         "specialization", 7},
        /* 2-year average growth (specialization = 5 + points + 2 + 0; revenue =
         * main revenue keeps the share at 100%). Exact edges found where
         * ((g1 + g2) / 2 in doubles lands just below: double: wrong. */
        {"{\"main_revenue\":31000000,\"revenue\":31000000,\"main_revenue_"
         "prev\":75000000,"
         "\"main_revenue_prev2\":45000000}",
         "specialization", 11}, /* 4 exactly */
        {"{\"main_revenue\":30999999,\"revenue\":30999999,\"main_revenue_"
         "prev\":75000000,"
         "\"main_revenue_prev2\":45000000}",
         "specialization", 9},
        {"{\"main_revenue\":13000000,\"revenue\":13000000,\"main_revenue_"
         "prev\":30000000,"
         "\"main_revenue_prev2\":18000000}",
         "specialization", 11}, /* 5 exactly */
        {"{\"main_revenue\":34000000,\"revenue\":34000000,\"main_revenue_"
         "prev\":75000000,"
         "\"main_revenue_prev2\":45000000}",
         "specialization", 13}, /* 6 exactly */
        {"{\"main_revenue\":33999999,\"revenue\":33999999,\"main_revenue_"
         "prev\":75000000,"
         "\"main_revenue_prev2\":45000000}",
         "specialization", 11},
        {"{\"main_revenue\":37000000,\"revenue\":37000000,\"main_revenue_"
         "prev\":75000000,"
         "\"main_revenue_prev2\":45000000}",
         "specialization", 15}, /* 8 exactly */
        {"{\"main_revenue\":36999999,\"revenue\":36999999,\"main_revenue_"
         "prev\":75000000,"
         "\"main_revenue_prev2\":45000000}",
         "specialization", 13},
        {"{\"main_revenue\":8000000,\"revenue\":8000000,\"main_revenue_prev\":"
         "15000000,"
         "\"main_revenue_prev2\":9000000}",
         "specialization", 17}, /* 10 exactly */
        {"{\"main_revenue\":7999999,\"revenue\":7999999,\"main_revenue_prev\":"
         "15000000,"
         "\"main_revenue_prev2\":9000000}",
         "specialization", 15},
        {"{\"main_revenue\":8000001,\"revenue\":8000001,\"main_revenue_prev\":"
         "15000000,"
         "\"main_revenue_prev2\":9000000}",
         "specialization", 17},
        {"{\"main_revenue\":50000000,\"revenue\":50000000,\"main_revenue_"
         "prev\":50000000,"
         "\"main_revenue_prev2\":50000000}",
         "specialization", 9}, /* 0 exactly */
        {"{\"main_revenue\":49999999,\"revenue\":49999999,\"main_revenue_"
         "prev\":50000000,"
         "\"main_revenue_prev2\":50000000}",
         "specialization", 7},
        /* years in niche (specialization = 5 + 10 + points + 0):
         * floor(years / 2), at most 5. */
        {"{\"years_in_niche\":0}", "specialization", 15},
        {"{\"years_in_niche\":1}", "specialization", 15},
        {"{\"years_in_niche\":2}", "specialization", 16},
        {"{\"years_in_niche\":3}", "specialization", 16},
        {"{\"years_in_niche\":9}", "specialization", 19},
        {"{\"years_in_niche\":10}", "specialization", 20},
        {"{\"years_in_niche\":11}", "specialization", 20},
        {"{\"years_in_niche\":1000}", "specialization", 20},
        /* field (specialization = 17 + points) */
        {"{\"field_gap_filling\":true}", "specialization", 22},
        {"{\"field_six_foundations\":true}", "specialization", 20},
        {"{\"field_gap_filling\":true,\"field_six_foundations\":true}",
         "specialization", 22},
        /* digitalization (refinement = points + 3 + 4 + 3) */
        {"{\"digitalization_level\":1}", "refinement", 10},
        {"{\"digitalization_level\":2}", "refinement", 13},
        {"{\"digitalization_level\":3}", "refinement", 15},
        {"{\"digitalization_level\":4}", "refinement", 15},
        /* quality (refinement = 5 + points + 4 + 3): 3 x items, at most 5 */
        {"{\"quality_items\":0}", "refinement", 12},
        {"{\"quality_items\":1}", "refinement", 15},
        {"{\"quality_items\":2}", "refinement", 17},
        {"{\"quality_items\":4}", "refinement", 17},
        /* net margin (refinement = 5 + 3 + points + 3), revenue 100M */
        {"{\"net_profit\":1999999}", "refinement", 11},
        {"{\"net_profit\":2000000}", "refinement", 13},
        {"{\"net_profit\":3999999}", "refinement", 13},
        {"{\"net_profit\":4000000}", "refinement", 15},
        {"{\"net_profit\":5999999}", "refinement", 15},
        {"{\"net_profit\":6000000}", "refinement", 17},
        {"{\"net_profit\":7999999}", "refinement", 17},
        {"{\"net_profit\":8000000}", "refinement", 19},
        {"{\"net_profit\":9999999}", "refinement", 19},
        {"{\"net_profit\":10000000}", "refinement", 21},
        {"{\"net_profit\":10000001}", "refinement", 21},
        {"{\"net_profit\":-5000000}", "refinement", 11},
        /* double: wrong */
        {"{\"revenue\":9000000000000000000,\"net_profit\":899999999999999999}",
         "refinement", 19},
        {"{\"revenue\":9000000000000000000,\"net_profit\":900000000000000000}",
         "refinement", 21},
        /* asset-liability (refinement = 5 + 3 + 4 + points) */
        {"{\"asset_liability_pct\":49.99}", "refinement", 17},
        {"{\"asset_liability_pct\":50}", "refinement", 15},
        {"{\"asset_liability_pct\":59.99}", "refinement", 15},
        {"{\"asset_liability_pct\":60}", "refinement", 13},
        {"{\"asset_liability_pct\":69.99}", "refinement", 13},
        {"{\"asset_liability_pct\":70}", "refinement", 12},
        {"{\"asset_liability_pct\":1000}", "refinement", 12},
        /* provincial indicators: local_score clamped to 0..15 */
        {"{\"local_score\":0}", "characteristics", 0},
        {"{\"local_score\":7}", "characteristics", 7},
        {"{\"local_score\":15}", "characteristics", 15},
        {"{\"local_score\":16}", "characteristics", 15},
        {"{\"local_score\":-3}", "characteristics", 0},
        /* IP (innovation = points + 6 + 3 + 4) */
        {"{\"ip_class1\":9,\"ip_class1_high_value\":1,\"ip_class1_self_"
         "developed\":1}",
         "innovation", 23},
        {"{\"ip_class1\":0,\"ip_class1_self_developed\":1}", "innovation", 21},
        {"{\"ip_class1\":1}", "innovation", 19},
        {"{\"ip_class1\":0,\"ip_class2\":1}", "innovation", 15},
        {"{\"ip_class1\":0}", "innovation", 13},
        /* R&D input, expense bands (innovation = 6 + points + 3 + 4): revenue
         * 10G keeps the intensity option at 0. */
        {"{\"revenue\":10000000000,\"rd_expense\":999999}", "innovation", 13},
        {"{\"revenue\":10000000000,\"rd_expense\":1000000}", "innovation", 15},
        {"{\"revenue\":10000000000,\"rd_expense\":1999999}", "innovation", 15},
        {"{\"revenue\":10000000000,\"rd_expense\":2000000}", "innovation", 17},
        {"{\"revenue\":10000000000,\"rd_expense\":2999999}", "innovation", 17},
        {"{\"revenue\":10000000000,\"rd_expense\":3000000}", "innovation", 19},
        {"{\"revenue\":10000000000,\"rd_expense\":4000000}", "innovation", 21},
        {"{\"revenue\":10000000000,\"rd_expense\":4999999}", "innovation", 21},
        {"{\"revenue\":10000000000,\"rd_expense\":5000000}", "innovation", 23},
        /* R&D input, intensity bands: amounts under 1M keep the expense
         * option at 0; revenue 5M. */
        {"{\"revenue\":5000000,\"rd_expense\":149999}", "innovation", 13},
        {"{\"revenue\":5000000,\"rd_expense\":150000}", "innovation", 15},
        {"{\"revenue\":5000000,\"rd_expense\":199999}", "innovation", 15},
        {"{\"revenue\":5000000,\"rd_expense\":200000}", "innovation", 17},
        {"{\"revenue\":5000000,\"rd_expense\":299999}", "innovation", 17},
        {"{\"revenue\":5000000,\"rd_expense\":300000}", "innovation", 19},
        {"{\"revenue\":5000000,\"rd_expense\":399999}", "innovation", 19},
        {"{\"revenue\":5000000,\"rd_expense\":400000}", "innovation", 21},
        {"{\"revenue\":5000000,\"rd_expense\":499999}", "innovation", 21},
        {"{\"revenue\":5000000,\"rd_expense\":500000}", "innovation", 23},
        /* the higher of the two */
        {"{\"revenue\":10000000,\"rd_expense\":1000000}", "innovation", 23},
        {"{\"revenue\":100000000,\"rd_expense\":4000000}", "innovation", 21},
        {"{\"revenue\":20000000,\"rd_expense\":1999999}", "innovation", 21},
        /* revenue <= 0: the intensity option scores 0, the expense band counts
         */
        {"{\"revenue\":0,\"rd_expense\":3500000}", "innovation", 19},
        {"{\"revenue\":-100,\"rd_expense\":5000000}", "innovation", 23},
        /* R&D staff share (innovation = 6 + 6 + points + 4), 100 employees */
        {"{\"rd_staff\":4}", "innovation", 16},
        {"{\"rd_staff\":5}", "innovation", 17},
        {"{\"rd_staff\":9}", "innovation", 17},
        {"{\"rd_staff\":10}", "innovation", 19},
        {"{\"rd_staff\":19}", "innovation", 19},
        {"{\"rd_staff\":20}", "innovation", 21},
        {"{\"rd_staff\":100}", "innovation", 21},
        {"{\"employees\":3,\"rd_staff\":1}", "innovation", 21},
        {"{\"employees\":0,\"rd_staff\":0}", "innovation", 16},
        /* R&D institution (innovation = 6 + 6 + 3 + points) */
        {"{\"rd_institution\":\"NONE\"}", "innovation", 15},
        {"{\"rd_institution\":\"BELOW_MUNICIPAL\"}", "innovation", 17},
        {"{\"rd_institution\":\"MUNICIPAL\"}", "innovation", 19},
        {"{\"rd_institution\":\"PROVINCIAL\"}", "innovation", 23},
        {"{\"rd_institution\":\"NATIONAL\"}", "innovation", 25},
    };
    run_bands(*state, LDR_TIER_SPECIALIZED, SP_BASE, NULL, cases, N(cases));
}

static void test_policy_sp_conditions(void **state) {
    static const struct reason_case cases[] = {
        {"{}", ""},
        /* each condition failing alone */
        {"{\"years_in_niche\":1}", "SP.YEARS_IN_NICHE"},
        {"{\"years_in_niche\":2}", ""},
        {"{\"rd_expense\":999999,\"revenue\":20000000}", "SP.RD_EXPENSE"},
        {"{\"rd_expense\":1000000,\"revenue\":20000000}", ""},
        /* 3.5M of 116,666,667 is just under 3% */
        {"{\"revenue\":116666667}", "SP.RD_INTENSITY"},
        {"{\"rd_expense\":2999999,\"revenue\":100000000}", "SP.RD_INTENSITY"},
        {"{\"rd_expense\":3000000,\"revenue\":100000000}", ""},
        /* no revenue: no intensity, and below the revenue floor */
        {"{\"revenue\":0}", "SP.RD_INTENSITY,SP.REVENUE"},
        {"{\"revenue\":-1}", "SP.RD_INTENSITY,SP.REVENUE"},
        {"{\"revenue\":9999999,\"rd_expense\":1000000,\"main_revenue\":8500000,"
         "\"main_revenue_prev\":8000000,\"main_revenue_prev2\":7000000,\"net_"
         "profit\":1000000}",
         "SP.REVENUE"},
        {"{\"revenue\":10000000,\"rd_expense\":1000000,\"main_revenue\":"
         "8500000,"
         "\"main_revenue_prev\":8000000,\"main_revenue_prev2\":7000000,\"net_"
         "profit\":1000000}",
         ""},
        {"{\"revenue\":9999999,\"rd_expense\":1000000,\"main_revenue\":8500000,"
         "\"main_revenue_prev\":8000000,\"main_revenue_prev2\":7000000,\"net_"
         "profit\":1000000,"
         "\"equity_financing_2y\":19999999}",
         "SP.REVENUE"},
        {"{\"revenue\":9999999,\"rd_expense\":1000000,\"main_revenue\":8500000,"
         "\"main_revenue_prev\":8000000,\"main_revenue_prev2\":7000000,\"net_"
         "profit\":1000000,"
         "\"equity_financing_2y\":20000000}",
         ""},
        /* all five, in table order */
        {"{\"years_in_niche\":0,\"rd_expense\":0,\"revenue\":0,\"local_score\":"
         "0,"
         "\"ip_class1_high_value\":0,\"ip_class1\":0}",
         "SP.YEARS_IN_NICHE,SP.RD_EXPENSE,SP.RD_INTENSITY,SP.REVENUE,SP.SCORE"},
    };
    run_reasons(*state, LDR_TIER_SPECIALIZED, LDR_EVAL_APPLICATION, AT_2022,
                SP_BASE, SP_STRONG, cases, N(cases));
    /* Review mode changes nothing for SPECIALIZED. */
    run_reasons(*state, LDR_TIER_SPECIALIZED, LDR_EVAL_REVIEW, AT_2022, SP_BASE,
                SP_STRONG, cases, N(cases));
}

static void test_policy_sp_direct_paths(void **state) {
    /* SP_BASE with local_score 0: 51 points, only SP.SCORE fails; each
     * direct condition satisfies SP.SCORE and nothing else. */
    static const struct reason_case cases[] = {
        {"{}", "SP.SCORE"},
        {"{\"honours\":[\"ST_AWARD_PROVINCIAL_TOP3_3Y\"]}", ""},
        {"{\"honours\":[\"ST_AWARD_NATIONAL_TOP5_3Y\"]}", ""},
        {"{\"honours\":[\"MAKER_CHINA_TOP500_3Y\"]}", ""},
        {"{\"rd_expense\":10000000,\"rd_expense_prev\":10000000}", ""},
        {"{\"rd_expense\":10000001,\"rd_expense_prev\":9999999}",
         ""}, /* average exactly 10M */
        {"{\"rd_expense\":10000000,\"rd_expense_prev\":9999999}", "SP.SCORE"},
        {"{\"equity_financing_2y\":60000000}", ""},
        {"{\"equity_financing_2y\":59999999}", "SP.SCORE"},
        /* other tiers' honours are no path here */
        {"{\"honours\":[\"ST_AWARD_3Y\",\"HIGH_TECH_ENTERPRISE\",\"MAKER_CHINA_"
         "TOP50_3Y\","
         "\"ST_AWARD_NATIONAL_TOP3_3Y\"]}",
         "SP.SCORE"},
        {"{\"rd_institution\":\"NATIONAL\"}", "SP.SCORE"},
        {"{\"equity_financing_3y\":900000000}", "SP.SCORE"},
        /* a direct path does not lift the other four conditions */
        {"{\"honours\":[\"MAKER_CHINA_TOP500_3Y\"],\"years_in_niche\":1}",
         "SP.YEARS_IN_NICHE"},
    };
    run_reasons(*state, LDR_TIER_SPECIALIZED, LDR_EVAL_APPLICATION, AT_2022,
                SP_BASE, "{\"local_score\":0}", cases, N(cases));
    ldr_indicators_t ind =
        make(SP_BASE, "{\"local_score\":0,\"equity_financing_2y\":60000000}");
    ldr_eval_result_t r;
    ldr_policy_evaluate(*state, LDR_TIER_SPECIALIZED, LDR_EVAL_APPLICATION,
                        at(AT_2022), &ind, &r);
    assert_true(r.pass);
    assert_true(r.has_score);
    assert_int_equal(r.score, 51);
    assert_int_equal(r.subscores_count, 4);
}

/* ---- LITTLE_GIANT 2022 -----------------------------------------------------
 */

static void test_policy_lg2022_conditions(void **state) {
    static const struct reason_case cases[] = {
        {"{}", ""},
        {"{\"years_in_niche\":2}", "LG.YEARS_IN_NICHE"},
        {"{\"years_in_niche\":3}", ""},
        /* share: 182M of 260M is exactly 70% */
        {"{\"revenue\":260000000,\"main_revenue\":181999999}", "LG.MAIN_SHARE"},
        {"{\"revenue\":260000000,\"main_revenue\":182000000}", ""},
        {"{\"revenue\":0}", "LG.MAIN_SHARE,LG.RD_INTENSITY"},
        /* average growth 4.02% */
        {"{\"main_revenue\":150000000}", "LG.MAIN_GROWTH"},
        /* exactly 5% on average (double: wrong), and one yuan less */
        {"{\"main_revenue\":130000000,\"main_revenue_prev\":300000000,"
         "\"main_revenue_prev2\":180000000,\"revenue\":144444444}",
         ""},
        {"{\"main_revenue\":129999999,\"main_revenue_prev\":300000000,"
         "\"main_revenue_prev2\":180000000,\"revenue\":144444444}",
         "LG.MAIN_GROWTH"},
        {"{\"core_business_on_info_system\":false}", "LG.INFO_SYSTEM"},
        {"{\"mgmt_certification\":false}", "LG.MGMT_CERT"},
        {"{\"asset_liability_pct\":70}", ""},
        {"{\"asset_liability_pct\":70.01}", "LG.ASSET_LIABILITY"},
        {"{\"niche_market_share_pct\":10}", ""},
        {"{\"niche_market_share_pct\":9.99}", "LG.MARKET_SHARE"},
        /* a rank is no substitute in 2022 */
        {"{\"niche_market_share_pct\":9.99,\"niche_market_rank\":1}",
         "LG.MARKET_SHARE"},
        {"{\"own_brand\":false}", "LG.OWN_BRAND"},
        /* R&D intensity, revenue >= 100M: 3% in y and in y-1 */
        {"{\"rd_expense\":5999999}", "LG.RD_INTENSITY"},
        {"{\"rd_expense\":6000000}", ""},
        {"{\"rd_expense_prev\":5399999}", "LG.RD_INTENSITY"},
        {"{\"rd_expense_prev\":5400000}", ""},
        {"{\"revenue_prev\":0}", "LG.RD_INTENSITY"},
        {"{\"revenue\":100000000,\"main_revenue\":90000000,\"main_revenue_"
         "prev\":80000000,"
         "\"main_revenue_prev2\":70000000,\"rd_expense\":3000000,\"revenue_"
         "prev\":90000000,"
         "\"rd_expense_prev\":2700000}",
         ""},
        /* double: wrong */
        {"{\"revenue\":9000000000000000000,\"main_revenue\":"
         "8000000000000000000,"
         "\"rd_expense\":269999999999999999}",
         "LG.RD_INTENSITY"},
        /* 50M <= revenue < 100M: 6% in both years */
        {"{\"revenue\":99999999,\"main_revenue\":90000000,\"main_revenue_"
         "prev\":80000000,"
         "\"main_revenue_prev2\":70000000,\"rd_expense\":3000000,\"revenue_"
         "prev\":90000000,"
         "\"rd_expense_prev\":2700000}",
         "LG.RD_INTENSITY"},
        {"{\"revenue\":99999999,\"main_revenue\":90000000,\"main_revenue_"
         "prev\":80000000,"
         "\"main_revenue_prev2\":70000000,\"rd_expense\":6000000,\"revenue_"
         "prev\":90000000,"
         "\"rd_expense_prev\":5400000}",
         ""},
        {"{\"revenue\":50000000,\"main_revenue\":45000000,\"main_revenue_"
         "prev\":40000000,"
         "\"main_revenue_prev2\":35000000,\"rd_expense\":3000000,\"revenue_"
         "prev\":45000000,"
         "\"rd_expense_prev\":2700000}",
         ""},
        {"{\"revenue\":50000000,\"main_revenue\":45000000,\"main_revenue_"
         "prev\":40000000,"
         "\"main_revenue_prev2\":35000000,\"rd_expense\":2999999,\"revenue_"
         "prev\":45000000,"
         "\"rd_expense_prev\":2700000}",
         "LG.RD_INTENSITY"},
        {"{\"revenue\":50000000,\"main_revenue\":45000000,\"main_revenue_"
         "prev\":40000000,"
         "\"main_revenue_prev2\":35000000,\"rd_expense\":3000000,\"revenue_"
         "prev\":45000000,"
         "\"rd_expense_prev\":2699999}",
         "LG.RD_INTENSITY"},
        /* revenue < 50M: financing, two-year R&D and R&D staff instead */
        {"{\"revenue\":49999999,\"main_revenue\":45000000,\"main_revenue_"
         "prev\":40000000,"
         "\"main_revenue_prev2\":35000000,\"equity_financing_2y\":80000000,"
         "\"rd_expense\":15000000,\"rd_expense_prev\":15000000,\"rd_staff\":"
         "150}",
         ""},
        {"{\"revenue\":49999999,\"main_revenue\":45000000,\"main_revenue_"
         "prev\":40000000,"
         "\"main_revenue_prev2\":35000000,\"equity_financing_2y\":79999999,"
         "\"rd_expense\":15000000,\"rd_expense_prev\":15000000,\"rd_staff\":"
         "150}",
         "LG.RD_INTENSITY"},
        {"{\"revenue\":49999999,\"main_revenue\":45000000,\"main_revenue_"
         "prev\":40000000,"
         "\"main_revenue_prev2\":35000000,\"equity_financing_2y\":80000000,"
         "\"rd_expense\":15000000,\"rd_expense_prev\":14999999,\"rd_staff\":"
         "150}",
         "LG.RD_INTENSITY"},
        {"{\"revenue\":49999999,\"main_revenue\":45000000,\"main_revenue_"
         "prev\":40000000,"
         "\"main_revenue_prev2\":35000000,\"equity_financing_2y\":80000000,"
         "\"rd_expense\":15000000,\"rd_expense_prev\":15000000,\"rd_staff\":"
         "149}",
         "LG.RD_INTENSITY"},
        {"{\"revenue\":49999999,\"main_revenue\":45000000,\"main_revenue_"
         "prev\":40000000,"
         "\"main_revenue_prev2\":35000000,\"equity_financing_2y\":80000000,"
         "\"rd_expense\":15000000,\"rd_expense_prev\":15000000,\"rd_staff\":0,"
         "\"employees\":0}",
         "LG.RD_INTENSITY"},
        {"{\"rd_institution\":\"NONE\"}", "LG.RD_INSTITUTION"},
        {"{\"rd_institution\":\"BELOW_MUNICIPAL\"}", ""},
        {"{\"ip_class1\":1}", "LG.IP_CLASS1"},
        {"{\"ip_class1\":2}", ""},
        {"{\"key_chain_link\":false}", "LG.KEY_CHAIN"},
        {"{\"field_six_foundations\":false}", "LG.FIELD"},
        /* 2022 has no development-score criterion */
        {"{\"development_score\":0}", ""},
        /* everything, in table order (liabilities 0% pass, 80% fail) */
        {"{\"years_in_niche\":0,\"revenue\":0,\"revenue_prev\":0,\"main_"
         "revenue\":0,"
         "\"main_revenue_prev\":0,\"main_revenue_prev2\":0,\"rd_expense\":0,"
         "\"rd_expense_prev\":0,\"employees\":0,\"rd_staff\":0,\"asset_"
         "liability_pct\":80,"
         "\"niche_market_share_pct\":0,\"ip_class1\":0,\"rd_institution\":"
         "\"NONE\","
         "\"own_brand\":false,\"mgmt_certification\":false,"
         "\"core_business_on_info_system\":false,\"field_six_foundations\":"
         "false,"
         "\"key_chain_link\":false}",
         "LG.YEARS_IN_NICHE,LG.MAIN_SHARE,LG.MAIN_GROWTH,LG.INFO_SYSTEM,LG."
         "MGMT_CERT,"
         "LG.ASSET_LIABILITY,LG.MARKET_SHARE,LG.OWN_BRAND,LG.RD_INTENSITY,LG."
         "RD_INSTITUTION,"
         "LG.IP_CLASS1,LG.KEY_CHAIN,LG.FIELD"},
    };
    run_reasons(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION, AT_2022,
                LG_BASE, NULL, cases, N(cases));

    /* No score and no sub-scores for LITTLE_GIANT. */
    ldr_indicators_t ind = make(LG_BASE, NULL);
    ldr_eval_result_t r;
    ldr_policy_evaluate(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION,
                        at(AT_2022), &ind, &r);
    assert_false(r.has_score);
    assert_int_equal(r.subscores_count, 0);

    /* Percentages one ulp beside the edges. */
    ind.asset_liability_pct = nextafter(70.0, 100.0);
    ldr_policy_evaluate(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION,
                        at(AT_2022), &ind, &r);
    expect_reasons(&r, "LG.ASSET_LIABILITY", "asset just above 70");
    ind = make(LG_BASE, NULL);
    ind.niche_market_share_pct = nextafter(10.0, 0.0);
    ldr_policy_evaluate(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION,
                        at(AT_2022), &ind, &r);
    expect_reasons(&r, "LG.MARKET_SHARE", "market share just below 10");
    /* A NaN (which validation never lets through) fails, it is not a pass. */
    ind = make(LG_BASE, NULL);
    ind.asset_liability_pct = NAN;
    ldr_policy_evaluate(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION,
                        at(AT_2022), &ind, &r);
    expect_reasons(&r, "LG.ASSET_LIABILITY", "NaN liabilities");
}

static void test_policy_lg2022_innovation_direct_path(void **state) {
    static const char *const weak =
        "{\"rd_expense\":0,\"rd_institution\":\"NONE\",\"ip_class1\":0}";
    static const struct reason_case cases[] = {
        {"{}", "LG.RD_INTENSITY,LG.RD_INSTITUTION,LG.IP_CLASS1"},
        {"{\"honours\":[\"ST_AWARD_NATIONAL_TOP3_3Y\"]}", ""},
        {"{\"honours\":[\"MAKER_CHINA_TOP50_3Y\"]}", ""},
        {"{\"honours\":[\"MAKER_CHINA_TOP500_3Y\",\"ST_AWARD_NATIONAL_TOP5_"
         "3Y\","
         "\"ST_AWARD_3Y\",\"HIGH_TECH_ENTERPRISE\"]}",
         "LG.RD_INTENSITY,LG.RD_INSTITUTION,LG.IP_CLASS1"},
        /* the path replaces exactly those three */
        {"{\"honours\":[\"MAKER_CHINA_TOP50_3Y\"],\"years_in_niche\":2,\"own_"
         "brand\":false}",
         "LG.YEARS_IN_NICHE,LG.OWN_BRAND"},
    };
    run_reasons(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION, AT_2022,
                LG_BASE, weak, cases, N(cases));
}

static void test_policy_lg_review_exemption(void **state) {
    /* LG.MAIN_GROWTH is not checked on review, under both versions; the
     * other codes are. Review dates: before 2027 miit-2022, after miit-2026. */
    static const struct reason_case c2022[] = {
        {"{\"main_revenue\":150000000}", ""},
        {"{\"main_revenue_prev\":0}", ""},
        {"{\"main_revenue\":150000000,\"years_in_niche\":1}",
         "LG.YEARS_IN_NICHE"},
    };
    run_reasons(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_REVIEW, AT_2026,
                LG_BASE, NULL, c2022, N(c2022));
    static const struct reason_case c2026[] = {
        {"{\"main_revenue_prev2\":160000000,\"revenue\":190000000,\"main_"
         "revenue\":176399999}",
         ""},
        {"{\"main_revenue_prev2\":0}", ""},
        {"{\"main_revenue_prev2\":0,\"development_score\":null}",
         "LG.DEVELOPMENT_SCORE"},
    };
    run_reasons(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_REVIEW, AT_2027,
                LG_BASE, "{\"development_score\":70}", c2026, N(c2026));
    /* The same declarations fail as applications. */
    static const struct reason_case app[] = {
        {"{\"main_revenue\":150000000}", "LG.MAIN_GROWTH"},
    };
    run_reasons(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION, AT_2022,
                LG_BASE, NULL, app, N(app));
}

/* ---- LITTLE_GIANT 2026 -----------------------------------------------------
 */

static void test_policy_lg2026_conditions(void **state) {
    static const struct reason_case cases[] = {
        {"{}", ""},
        /* the nine 2026 codes, each failing alone */
        {"{\"revenue\":49999999}", "LG.REVENUE"},
        {"{\"revenue\":50000000}", ""},
        {"{\"revenue\":200000001}",
         "LG.MAIN_SHARE"}, /* 180M of it is just under 90% */
        /* compound growth: m0 / m2 >= 1.05^2 = 1.1025 exactly */
        {"{\"main_revenue_prev2\":160000000,\"revenue\":190000000,\"main_"
         "revenue\":176400000}",
         ""},
        {"{\"main_revenue_prev2\":160000000,\"revenue\":190000000,\"main_"
         "revenue\":176399999}",
         "LG.MAIN_GROWTH"},
        /* double: wrong (sqrt of the rounded ratio gives 5.000000000000004) */
        {"{\"main_revenue_prev2\":8000000000000000000,\"revenue\":"
         "9000000000000000000,"
         "\"main_revenue\":8819999999999999999,\"rd_expense\":"
         "450000000000000000}",
         "LG.MAIN_GROWTH"},
        {"{\"main_revenue_prev2\":8000000000000000000,\"revenue\":"
         "9000000000000000000,"
         "\"main_revenue\":8820000000000000000,\"rd_expense\":"
         "450000000000000000}",
         ""},
        /* the 2022 average would pass this one (26.25%), the compound rate
           is 2.47% */
        {"{\"main_revenue_prev2\":100000000,\"main_revenue_prev\":200000000,"
         "\"main_revenue\":105000000,\"revenue\":110000000}",
         "LG.MAIN_GROWTH"},
        {"{\"main_revenue\":-1}", "LG.MAIN_SHARE,LG.MAIN_GROWTH"},
        {"{\"asset_liability_pct\":75}", ""},
        {"{\"asset_liability_pct\":75.01}", "LG.ASSET_LIABILITY"},
        /* R&D: two-year total >= 12M and intensity >= 3 in both years */
        {"{\"rd_expense\":6000000,\"rd_expense_prev\":5999999}",
         "LG.RD_INTENSITY"},
        {"{\"rd_expense\":6000000,\"rd_expense_prev\":6000000}", ""},
        {"{\"rd_expense\":5999999,\"rd_expense_prev\":9000000}",
         "LG.RD_INTENSITY"},
        {"{\"rd_expense\":10000000,\"rd_expense_prev\":5399999}",
         "LG.RD_INTENSITY"},
        {"{\"rd_expense\":10000000,\"rd_expense_prev\":5400000}", ""},
        {"{\"ip_class1\":3}", "LG.IP_CLASS1"},
        {"{\"ip_class1\":4}", ""},
        {"{\"ip_class1\":0,\"honours\":[\"ST_AWARD_NATIONAL_TOP3_3Y\"]}", ""},
        /* the only honour shortcut in 2026 */
        {"{\"ip_class1\":0,\"honours\":[\"MAKER_CHINA_TOP50_3Y\"]}",
         "LG.IP_CLASS1"},
        {"{\"rd_expense\":0,\"honours\":[\"ST_AWARD_NATIONAL_TOP3_3Y\",\"MAKER_"
         "CHINA_TOP50_3Y\"]}",
         "LG.RD_INTENSITY"},
        /* market share >= 10, or rank 1..3 */
        {"{\"niche_market_share_pct\":9.99,\"niche_market_rank\":0}",
         "LG.MARKET_SHARE"},
        {"{\"niche_market_share_pct\":9.99,\"niche_market_rank\":1}", ""},
        {"{\"niche_market_share_pct\":9.99,\"niche_market_rank\":3}", ""},
        {"{\"niche_market_share_pct\":9.99,\"niche_market_rank\":4}",
         "LG.MARKET_SHARE"},
        {"{\"niche_market_share_pct\":10,\"niche_market_rank\":0}", ""},
        /* six foundations or key chain link */
        {"{\"field_six_foundations\":false,\"key_chain_link\":true}", ""},
        {"{\"field_six_foundations\":true,\"key_chain_link\":false}", ""},
        {"{\"field_six_foundations\":false,\"key_chain_link\":false}",
         "LG.FIELD"},
        {"{\"development_score\":null}", "LG.DEVELOPMENT_SCORE"},
        {"{\"development_score\":59}", "LG.DEVELOPMENT_SCORE"},
        {"{\"development_score\":60}", ""},
        /* 2026 checks exactly its nine codes: the 2022-only ones are gone */
        {"{\"years_in_niche\":0,\"core_business_on_info_system\":false,"
         "\"mgmt_certification\":false,\"own_brand\":false,\"rd_institution\":"
         "\"NONE\"}",
         ""},
        /* everything, in the order of POLICY.md */
        {"{\"revenue\":0,\"revenue_prev\":0,\"main_revenue\":0,\"main_revenue_"
         "prev2\":0,"
         "\"asset_liability_pct\":80,\"rd_expense\":0,\"rd_expense_prev\":0,"
         "\"ip_class1\":0,"
         "\"niche_market_share_pct\":0,\"niche_market_rank\":0,\"field_six_"
         "foundations\":false,"
         "\"key_chain_link\":false,\"development_score\":null}",
         "LG.REVENUE,LG.MAIN_SHARE,LG.MAIN_GROWTH,LG.ASSET_LIABILITY,LG.RD_"
         "INTENSITY,"
         "LG.IP_CLASS1,LG.MARKET_SHARE,LG.FIELD,LG.DEVELOPMENT_SCORE"},
    };
    run_reasons(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION, AT_2026,
                LG_BASE, "{\"development_score\":70}", cases, N(cases));
    ldr_indicators_t ind = make(LG_BASE, "{\"development_score\":70}");
    ldr_eval_result_t r;
    ldr_policy_evaluate(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION,
                        at(AT_2026), &ind, &r);
    assert_string_equal(ldr_policy_version(r.policy), "miit-2026");
    assert_false(
        r.has_score); /* development_score is a criterion, not a score */
    assert_int_equal(r.subscores_count, 0);
}

static void test_policy_2026_keeps_2022_rules_for_lower_tiers(void **state) {
    /* Same declaration, same verdict and points; only the version differs. */
    static const char *const rows[] = {"{}", "{\"years_in_niche\":1}",
                                       "{\"local_score\":0}"};
    for (int tier = LDR_TIER_INNOVATIVE; tier <= LDR_TIER_SPECIALIZED; tier++)
        for (size_t i = 0; i < N(rows); i++) {
            ldr_indicators_t ind =
                make(tier == LDR_TIER_INNOVATIVE ? IN_BASE : SP_BASE, rows[i]);
            ldr_eval_result_t a, b;
            ldr_policy_evaluate(*state, (ldr_tier_t)tier, LDR_EVAL_APPLICATION,
                                at(AT_2022), &ind, &a);
            ldr_policy_evaluate(*state, (ldr_tier_t)tier, LDR_EVAL_APPLICATION,
                                at(AT_2026), &ind, &b);
            assert_string_equal(ldr_policy_version(a.policy), "miit-2022");
            assert_string_equal(ldr_policy_version(b.policy), "miit-2026");
            assert_int_equal(a.pass, b.pass);
            assert_int_equal(a.score, b.score);
            assert_int_equal(a.reasons_count, b.reasons_count);
            for (size_t k = 0; k < a.subscores_count; k++)
                assert_int_equal(a.subscores[k].value, b.subscores[k].value);
        }
}

/* ---- denominators
 * ------------------------------------------------------------ */

static void test_policy_zero_and_negative_denominators(void **state) {
    /* Every ratio with a zero or negative denominator fails its criterion,
     * or scores 0, whatever its numerator. */
    static const struct reason_case lg2022[] = {
        {"{\"revenue\":0}", "LG.MAIN_SHARE,LG.RD_INTENSITY"},
        {"{\"revenue\":-200000000}", "LG.MAIN_SHARE,LG.RD_INTENSITY"},
        {"{\"revenue\":-200000000,\"main_revenue\":-180000000}",
         "LG.MAIN_SHARE,LG.MAIN_GROWTH,LG.RD_INTENSITY"},
        {"{\"revenue_prev\":-1}", "LG.RD_INTENSITY"},
        {"{\"main_revenue_prev\":0}", "LG.MAIN_GROWTH"},
        {"{\"main_revenue_prev\":-160000000}", "LG.MAIN_GROWTH"},
        {"{\"main_revenue_prev2\":0}", "LG.MAIN_GROWTH"},
        {"{\"main_revenue_prev2\":-140000000}", "LG.MAIN_GROWTH"},
        /* with both negative the signs would cancel: still no ratio */
        {"{\"main_revenue_prev\":-160000000,\"main_revenue_prev2\":-140000000}",
         "LG.MAIN_GROWTH"},
    };
    run_reasons(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION, AT_2022,
                LG_BASE, NULL, lg2022, N(lg2022));
    static const struct reason_case lg2026[] = {
        {"{\"main_revenue_prev2\":0}", "LG.MAIN_GROWTH"},
        {"{\"main_revenue_prev2\":-1}", "LG.MAIN_GROWTH"},
        {"{\"main_revenue_prev2\":-1,\"main_revenue\":-2,\"revenue\":-2}",
         "LG.REVENUE,LG.MAIN_SHARE,LG.MAIN_GROWTH,LG.RD_INTENSITY"},
        {"{\"revenue_prev\":0}", "LG.RD_INTENSITY"},
    };
    run_reasons(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION, AT_2026,
                LG_BASE, "{\"development_score\":70}", lg2026, N(lg2026));
    static const struct band_case in[] = {
        {"{\"revenue\":0}", "innovation", 0},
        {"{\"revenue\":-100000000,\"rd_expense\":-5000000}", "innovation", 0},
        {"{\"revenue\":0}", "specialization", 5},
        {"{\"revenue\":-100000000,\"main_revenue\":-90000000}",
         "specialization", 5},
        {"{\"main_revenue_prev\":0}", "growth", 5},
        {"{\"main_revenue_prev\":-80000000,\"main_revenue\":-90000000}",
         "growth", 5},
    };
    run_bands(*state, LDR_TIER_INNOVATIVE, IN_BASE, NULL, in, N(in));
    static const struct band_case sp[] = {
        {"{\"revenue\":0}", "refinement", 11}, /* net margin 0 */
        {"{\"revenue\":-1,\"net_profit\":-1}", "refinement", 11},
        {"{\"employees\":0}", "innovation", 16}, /* staff share 0 */
        {"{\"employees\":-5,\"rd_staff\":-5}", "innovation", 16},
        {"{\"main_revenue_prev\":0}", "specialization",
         7}, /* average growth 0 */
        {"{\"main_revenue_prev2\":-70000000}", "specialization", 7},
    };
    run_bands(*state, LDR_TIER_SPECIALIZED, SP_BASE, NULL, sp, N(sp));
}

static void test_policy_extreme_values_do_not_overflow(void **state) {
    /* Any int64 is a legal input to the evaluator (validation bounds are the
     * edge's job): no overflow, no crash, a definite verdict. Under UBSan a
     * signed overflow would abort this test. */
    static const int64_t values[] = {INT64_MIN, INT64_MIN + 1, -1,       0,
                                     1,         INT64_MAX - 1, INT64_MAX};
    for (size_t a = 0; a < N(values); a++)
        for (size_t b = 0; b < N(values); b++)
            for (size_t c = 0; c < N(values); c++) {
                ldr_indicators_t ind = make(LG_BASE, NULL);
                ind.main_revenue = values[a];
                ind.main_revenue_prev = values[b];
                ind.main_revenue_prev2 = values[c];
                ind.revenue = values[b];
                ind.rd_expense = values[c];
                ind.rd_expense_prev = values[a];
                ind.net_profit = values[c];
                ind.years_in_niche = (int32_t)(values[a] >> 32);
                ind.quality_items = (int32_t)(values[b] >> 32);
                ind.local_score = (int32_t)(values[c] >> 32);
                for (int t = 0; t < LDR_TIER__COUNT; t++)
                    for (int m = 0; m < LDR_EVAL__COUNT; m++) {
                        ldr_eval_result_t r;
                        ldr_policy_evaluate(
                            *state, (ldr_tier_t)t, (ldr_eval_mode_t)m,
                            at(m ? AT_2027 : AT_2026), &ind, &r);
                        assert_non_null(r.policy);
                        assert_true(r.reasons_count <= LDR_POLICY_REASONS_MAX);
                    }
            }
    /* A concrete one: the largest revenues, exactly 5% compound growth. */
    ldr_indicators_t ind = make(LG_BASE, "{\"development_score\":70}");
    ind.main_revenue_prev2 = INT64_C(8000000000000000000);
    ind.main_revenue = INT64_C(8820000000000000000);
    ind.revenue = INT64_MAX;
    ind.rd_expense = INT64_MAX / 20;
    ldr_eval_result_t r;
    ldr_policy_evaluate(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION,
                        at(AT_2026), &ind, &r);
    expect_reasons(&r, "", "extreme 2026");
}

/* ---- selection, lookup, lifecycle ------------------------------------------
 */

static void test_policy_selection_by_date(void **state) {
    static const struct {
        ldr_eval_mode_t mode;
        const char *at;
        const char *version;
    } cases[] = {
        {LDR_EVAL_APPLICATION, "1970-01-01T00:00:00Z", "miit-2022"},
        {LDR_EVAL_APPLICATION, "2022-06-01T00:00:00Z", "miit-2022"},
        {LDR_EVAL_APPLICATION, "2026-01-16T23:59:59.999Z", "miit-2022"},
        {LDR_EVAL_APPLICATION, "2026-01-17T00:00:00Z", "miit-2026"},
        {LDR_EVAL_APPLICATION, "2026-01-17T08:00:00+08:00", "miit-2026"},
        {LDR_EVAL_APPLICATION, "2026-01-17T07:59:59.999+08:00", "miit-2022"},
        {LDR_EVAL_APPLICATION, "2099-01-01T00:00:00Z", "miit-2026"},
        {LDR_EVAL_REVIEW, "2026-01-17T00:00:00Z", "miit-2022"},
        {LDR_EVAL_REVIEW, "2026-12-31T23:59:59.999Z", "miit-2022"},
        {LDR_EVAL_REVIEW, "2027-01-01T00:00:00Z", "miit-2026"},
        {LDR_EVAL_REVIEW, "2099-01-01T00:00:00Z", "miit-2026"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        const ldr_policy_t *p =
            ldr_policies_select(*state, cases[i].mode, at(cases[i].at));
        assert_non_null(p);
        if (strcmp(ldr_policy_version(p), cases[i].version) != 0)
            fail_msg("%s %s: %s, want %s", ldr_eval_mode_name(cases[i].mode),
                     cases[i].at, ldr_policy_version(p), cases[i].version);
    }
    /* One millisecond before and at the switch, through the evaluator: a
     * little giant with 2 years in its niche and no development score
     * passes 2026 but fails 2022. */
    ldr_indicators_t ind =
        make(LG_BASE, "{\"years_in_niche\":2,\"development_score\":60}");
    ldr_eval_result_t r;
    int64_t sw = at("2026-01-17T00:00:00Z");
    ldr_policy_evaluate(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION,
                        sw - 1, &ind, &r);
    assert_string_equal(ldr_policy_version(r.policy), "miit-2022");
    expect_reasons(&r, "LG.YEARS_IN_NICHE", "one ms before the switch");
    ldr_policy_evaluate(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION, sw,
                        &ind, &r);
    assert_string_equal(ldr_policy_version(r.policy), "miit-2026");
    expect_reasons(&r, "", "at the switch");
    /* Reviews switch a year later. */
    int64_t rsw = at("2027-01-01T00:00:00Z");
    ldr_policy_evaluate(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_REVIEW, rsw - 1,
                        &ind, &r);
    assert_string_equal(ldr_policy_version(r.policy), "miit-2022");
    expect_reasons(&r, "LG.YEARS_IN_NICHE", "review one ms before 2027");
    ldr_policy_evaluate(*state, LDR_TIER_LITTLE_GIANT, LDR_EVAL_REVIEW, rsw,
                        &ind, &r);
    assert_string_equal(ldr_policy_version(r.policy), "miit-2026");
    expect_reasons(&r, "", "review at 2027");
}

static void test_policy_lookup_and_lifecycle(void **state) {
    const ldr_policies_t *set = *state;
    assert_int_equal(ldr_policies_count(set), 2);
    assert_string_equal(ldr_policy_version(ldr_policies_get(set, 0)),
                        "miit-2022");
    assert_string_equal(ldr_policy_version(ldr_policies_get(set, 1)),
                        "miit-2026");
    assert_null(ldr_policies_get(set, 2));
    assert_non_null(ldr_policies_find(set, "miit-2022", 9));
    assert_null(ldr_policies_find(set, "miit-2022x", 10));
    assert_null(ldr_policies_find(set, "miit-202", 8));
    const ldr_policy_t *p26 = ldr_policies_find(set, "miit-2026 and more", 9);
    assert_non_null(p26);
    int64_t from;
    assert_false(ldr_policy_applies_from(ldr_policies_get(set, 0),
                                         LDR_EVAL_APPLICATION, &from));
    assert_true(ldr_policy_applies_from(p26, LDR_EVAL_APPLICATION, &from));
    assert_int_equal(from, at("2026-01-17T00:00:00Z"));
    assert_true(ldr_policy_applies_from(p26, LDR_EVAL_REVIEW, &from));
    assert_int_equal(from, at("2027-01-01T00:00:00Z"));
    for (size_t i = 0; i < 2; i++) {
        const ldr_policy_lifecycle_t *lc =
            ldr_policy_lifecycle(ldr_policies_get(set, i));
        assert_int_equal(lc->validity_years, 3);
        assert_int_equal(lc->publicity_days, 7);
        assert_int_equal(lc->review_window_days, 120);
        assert_int_equal(lc->ban_years, 3);
        assert_int_equal(lc->on_validity_end[LDR_TIER_INNOVATIVE],
                         LDR_DECISION_EXPIRED);
        assert_string_equal(lc->validity_end_reason[LDR_TIER_INNOVATIVE],
                            "NOT_RENEWED");
        assert_int_equal(lc->on_validity_end[LDR_TIER_SPECIALIZED],
                         LDR_DECISION_REVOKED);
        assert_string_equal(lc->validity_end_reason[LDR_TIER_SPECIALIZED],
                            "NO_REVIEW_SUBMITTED");
        assert_int_equal(lc->on_validity_end[LDR_TIER_LITTLE_GIANT],
                         LDR_DECISION_REVOKED);
        assert_string_equal(lc->validity_end_reason[LDR_TIER_LITTLE_GIANT],
                            "NO_REVIEW_SUBMITTED");
        assert_int_equal(lc->prerequisite[LDR_TIER_INNOVATIVE], -1);
        assert_int_equal(lc->prerequisite[LDR_TIER_SPECIALIZED],
                         LDR_TIER_INNOVATIVE);
        assert_int_equal(lc->prerequisite[LDR_TIER_LITTLE_GIANT],
                         LDR_TIER_SPECIALIZED);
    }
    /* The evaluator with an empty set or an out-of-range tier reports no
     * policy rather than crashing. */
    ldr_indicators_t ind = make(LG_BASE, NULL);
    ldr_eval_result_t r;
    ldr_policy_evaluate(NULL, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION, 0,
                        &ind, &r);
    assert_null(r.policy);
    assert_false(r.pass);
    ldr_policy_evaluate_with(p26, LDR_TIER__COUNT, LDR_EVAL_APPLICATION, &ind,
                             &r);
    assert_false(r.pass);
    assert_string_equal(ldr_eval_mode_name(LDR_EVAL_REVIEW), "review");
    assert_int_equal(ldr_eval_mode_parse("application", 11),
                     LDR_EVAL_APPLICATION);
    assert_int_equal(ldr_eval_mode_parse("reviewx", 7), -1);
}

static void test_policy_format_number(void **state) {
    (void)state;
    static const struct {
        int64_t t100;
        const char *text;
    } cases[] = {{1000, "10"},
                 {350, "3.5"},
                 {5, "0.05"},
                 {-200, "-2"},
                 {-1, "-0.01"},
                 {0, "0"},
                 {500000000, "5000000"},
                 {7025, "70.25"},
                 {INT64_MIN, "-92233720368547758.08"}};
    for (size_t i = 0; i < N(cases); i++) {
        char buf[32];
        assert_string_equal(
            ldr_policy_format_number(cases[i].t100, buf, sizeof buf),
            cases[i].text);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_in_base_scores),
        cmocka_unit_test(test_policy_in_score_bands),
        cmocka_unit_test(test_policy_in_pass_rule),
        cmocka_unit_test(test_policy_in_direct_paths),
        cmocka_unit_test(test_policy_sp_base_scores),
        cmocka_unit_test(test_policy_sp_score_bands),
        cmocka_unit_test(test_policy_sp_conditions),
        cmocka_unit_test(test_policy_sp_direct_paths),
        cmocka_unit_test(test_policy_lg2022_conditions),
        cmocka_unit_test(test_policy_lg2022_innovation_direct_path),
        cmocka_unit_test(test_policy_lg_review_exemption),
        cmocka_unit_test(test_policy_lg2026_conditions),
        cmocka_unit_test(test_policy_2026_keeps_2022_rules_for_lower_tiers),
        cmocka_unit_test(test_policy_zero_and_negative_denominators),
        cmocka_unit_test(test_policy_extreme_values_do_not_overflow),
        cmocka_unit_test(test_policy_selection_by_date),
        cmocka_unit_test(test_policy_lookup_and_lifecycle),
        cmocka_unit_test(test_policy_format_number),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
