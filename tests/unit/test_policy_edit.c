/* test_policy_edit.c -- ladder-whatif's --set: one field of a policy set
 * changed by a path, against the real files of deploy/policy.
 *
 * Each test loads both versions as JSON, applies assignments and checks
 * the JSON at the place named, and where the change matters to a decision,
 * that the rules engine loads the edited set and decides differently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ladder/policy.h"
#include "ladder/policy_edit.h"
#include "ladder/record.h"

#define NDOCS 2

typedef struct docs {
    json_t *v[NDOCS];    /* miit-2022, miit-2026: edited */
    json_t *orig[NDOCS]; /* as read */
} docs_t;

static const char *const files[NDOCS] = {"miit-2022.json", "miit-2026.json"};

static int docs_setup(void **state) {
    docs_t *d = calloc(1, sizeof *d);
    for (int i = 0; i < NDOCS; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/deploy/policy/%s", LADDER_SOURCE_DIR,
                 files[i]);
        json_error_t jerr;
        d->v[i] = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!d->v[i]) fail_msg("%s: %s", path, jerr.text);
        d->orig[i] = json_deep_copy(d->v[i]);
    }
    *state = d;
    return 0;
}

static int docs_teardown(void **state) {
    docs_t *d = *state;
    for (int i = 0; i < NDOCS; i++) {
        json_decref(d->v[i]);
        json_decref(d->orig[i]);
    }
    free(d);
    return 0;
}

static void set_ok(docs_t *d, const char *assignment) {
    char err[1024] = "";
    if (ldr_policy_edit(d->v, NDOCS, assignment, err, sizeof err) != LDR_OK)
        fail_msg("%s: %s", assignment, err);
}

/* The value at a JSON path of version i, with arrays indexed by number. */
static json_t *at(docs_t *d, int i, const char *path) {
    json_t *cur = d->v[i];
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *s = strtok(buf, "/"); s && cur; s = strtok(NULL, "/"))
        cur = json_is_array(cur) ? json_array_get(cur, strtoul(s, NULL, 10))
                                 : json_object_get(cur, s);
    return cur;
}

/* The set the edited documents make, as the loader sees it. */
static ldr_policies_t *load(docs_t *d) {
    ldr_policy_t *v[NDOCS];
    char err[1024];
    for (int i = 0; i < NDOCS; i++) {
        char *text = json_dumps(d->v[i], JSON_PRESERVE_ORDER);
        if (ldr_policy_parse(files[i], text, strlen(text), &v[i], err,
                             sizeof err))
            fail_msg("%s", err);
        free(text);
    }
    ldr_policies_t *set = ldr_policies_new(v, NDOCS, err, sizeof err);
    if (!set) fail_msg("%s", err);
    return set;
}

static bool has_reason(const ldr_eval_result_t *r, const char *code) {
    for (size_t i = 0; i < r->reasons_count; i++)
        if (strcmp(r->reasons[i], code) == 0) return true;
    return false;
}

static void test_policy_edit_threshold_by_dotted_code(void **state) {
    docs_t *d = *state;
    /* LG.YEARS_IN_NICHE holds a dot: the shortest run of segments that
     * names a criterion is taken. */
    set_ok(d, "miit-2022.tiers.LITTLE_GIANT.criteria.LG.YEARS_IN_NICHE.when."
              "ge=5");
    json_t *ge = at(d, 0, "tiers/LITTLE_GIANT/criteria/0/when/ge");
    assert_true(json_is_integer(ge));
    assert_int_equal(json_integer_value(ge), 5);
    /* nothing else moved */
    json_object_set_new(at(d, 0, "tiers/LITTLE_GIANT/criteria/0/when"), "ge",
                        json_integer(3));
    assert_true(json_equal(d->v[0], d->orig[0]));
    set_ok(d, "miit-2022.tiers.LITTLE_GIANT.criteria.LG.YEARS_IN_NICHE.when."
              "ge=5");
    /* and the engine decides by it: 4 years met 3, not 5 */
    ldr_policies_t *set = load(d);
    ldr_indicators_t ind;
    memset(&ind, 0, sizeof ind);
    ind.years_in_niche = 4;
    ldr_eval_result_t r;
    ldr_policy_evaluate_with(ldr_policies_find(set, "miit-2022", 9),
                             LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION, &ind,
                             &r);
    assert_true(has_reason(&r, "LG.YEARS_IN_NICHE"));
    ldr_policies_destroy(set);
}

static void test_policy_edit_string_and_other_values(void **state) {
    docs_t *d = *state;
    set_ok(d, "miit-2026.applies_from.application=2022-01-01T00:00:00Z");
    assert_string_equal(json_string_value(at(d, 1, "applies_from/application")),
                        "2022-01-01T00:00:00Z");
    set_ok(d, "miit-2022.tiers.SPECIALIZED.criteria.SP.RD_INTENSITY.when.ge=3."
              "5");
    assert_true(json_is_real(at(d, 0, "tiers/SPECIALIZED/criteria/2/when/ge")));
    assert_true(json_real_value(
                    at(d, 0, "tiers/SPECIALIZED/criteria/2/when/ge")) == 3.5);
    set_ok(d, "miit-2022.description=\"a \\\"quoted\\\" text\"");
    assert_string_equal(json_string_value(at(d, 0, "description")),
                        "a \"quoted\" text");
    set_ok(d, "miit-2026.tiers.LITTLE_GIANT.criteria.LG.MAIN_GROWTH."
              "checked_on_review=true");
    assert_true(json_is_true(
        at(d, 1, "tiers/LITTLE_GIANT/criteria/2/checked_on_review")));
    /* the 2026 revision from 2022 loads: one version per instant still */
    ldr_policies_t *set = load(d);
    int64_t t2023 = INT64_C(1672531200000); /* 2023-01-01 */
    assert_string_equal(ldr_policy_version(ldr_policies_select(
                            set, LDR_EVAL_APPLICATION, t2023)),
                        "miit-2026");
    ldr_policies_destroy(set);
}

static void test_policy_edit_groups_indicators_and_index(void **state) {
    docs_t *d = *state;
    set_ok(d, "miit-2022.tiers.INNOVATIVE.score.groups.innovation.indicators."
              "R&D intensity, year y.bands.4.points=20");
    set_ok(d, "miit-2022.tiers.INNOVATIVE.score.groups.1.indicators.0.max=20");
    assert_int_equal(
        json_integer_value(at(d, 0,
                              "tiers/INNOVATIVE/score/groups/0/indicators/1/"
                              "bands/4/points")),
        20);
    set_ok(d, "miit-2022.tiers.LITTLE_GIANT.direct.0.satisfies=[\"LG.RD_"
              "INTENSITY\"]");
    assert_int_equal(
        json_array_size(at(d, 0, "tiers/LITTLE_GIANT/direct/0/satisfies")), 1);
}

/* A tier that is same_as another gets its own copy when changed; the
 * version it referred to is untouched. */
static void test_policy_edit_same_as_gets_its_own_copy(void **state) {
    docs_t *d = *state;
    assert_non_null(at(d, 1, "tiers/SPECIALIZED/same_as"));
    set_ok(d, "miit-2026.tiers.SPECIALIZED.criteria.SP.RD_INTENSITY.when.ge=4");
    assert_null(at(d, 1, "tiers/SPECIALIZED/same_as"));
    assert_int_equal(
        json_integer_value(at(d, 1, "tiers/SPECIALIZED/criteria/2/when/ge")),
        4);
    assert_true(json_equal(d->v[0], d->orig[0]));
    /* the copy is the whole of miit-2022's rules but that one number */
    json_t *copy = json_deep_copy(at(d, 1, "tiers/SPECIALIZED"));
    json_object_set_new(
        json_object_get(json_array_get(json_object_get(copy, "criteria"), 2),
                        "when"),
        "ge", json_integer(3));
    assert_true(json_equal(copy, at(d, 0, "tiers/SPECIALIZED")));
    json_decref(copy);
    /* rd intensity 3.5: meets 3 under miit-2022, not 4 under miit-2026 */
    ldr_policies_t *set = load(d);
    ldr_indicators_t ind;
    memset(&ind, 0, sizeof ind);
    ind.revenue = 100000000;
    ind.rd_expense = 3500000;
    ldr_eval_result_t r22, r26;
    ldr_policy_evaluate_with(ldr_policies_find(set, "miit-2022", 9),
                             LDR_TIER_SPECIALIZED, LDR_EVAL_APPLICATION, &ind,
                             &r22);
    ldr_policy_evaluate_with(ldr_policies_find(set, "miit-2026", 9),
                             LDR_TIER_SPECIALIZED, LDR_EVAL_APPLICATION, &ind,
                             &r26);
    assert_false(has_reason(&r22, "SP.RD_INTENSITY"));
    assert_true(has_reason(&r26, "SP.RD_INTENSITY"));
    ldr_policies_destroy(set);
}

/* A change to same_as itself is not a change inside the tier: no copy. */
static void test_policy_edit_same_as_itself(void **state) {
    docs_t *d = *state;
    set_ok(d, "miit-2026.tiers.INNOVATIVE.note=kept");
    assert_string_equal(json_string_value(at(d, 1, "tiers/INNOVATIVE/same_as")),
                        "miit-2022");
}

static void test_policy_edit_unknown_paths_change_nothing(void **state) {
    docs_t *d = *state;
    static const struct {
        const char *set, *says;
    } rows[] = {
        {"miit-2024.tiers.INNOVATIVE.note=x",
         "does not start with a policy version and a field (versions: "
         "miit-2022, miit-2026)"},
        {"miit-2022=x", "does not start with a policy version"},
        {"miit-2022.tiers.GIANT.note=x",
         "no 'GIANT' in miit-2022.tiers (has INNOVATIVE, SPECIALIZED, "
         "LITTLE_GIANT)"},
        {"miit-2022.tiers.LITTLE_GIANT.criteria.LG.NOPE.when.ge=1",
         "no element 'LG' in miit-2022.tiers.LITTLE_GIANT.criteria (has "
         "LG.YEARS_IN_NICHE, LG.MAIN_SHARE"},
        {"miit-2026.tiers.INNOVATIVE.criteria.IN.NOPE.when.ge=1",
         "no element 'IN' in miit-2026.tiers.INNOVATIVE.criteria (has "
         "IN.SCORE"},
        {"miit-2022.lifecycle.validity_years.x=1",
         "miit-2022.lifecycle.validity_years is a value"},
        {"miit-2022.tiers..note=x", "an empty step"},
        {"miit-2022.tiers.INNOVATIVE.criteria.9=1", "no element '9'"},
        {"miit-2022.tiers.INNOVATIVE", "is not VERSION.PATH=VALUE"},
        {"=5", "is not VERSION.PATH=VALUE"},
        {"miit-2022.versio.x=1", "no 'versio' in miit-2022 (has format, "
                                 "version"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char err[1024] = "";
        assert_int_equal(
            ldr_policy_edit(d->v, NDOCS, rows[i].set, err, sizeof err),
            LDR_ERR_INVALID_ARG);
        if (!strstr(err, rows[i].says))
            fail_msg("%s: said \"%s\", not \"%s\"", rows[i].set, err,
                     rows[i].says);
        for (int k = 0; k < NDOCS; k++)
            assert_true(json_equal(d->v[k], d->orig[k]));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_policy_edit_threshold_by_dotted_code, docs_setup,
            docs_teardown),
        cmocka_unit_test_setup_teardown(
            test_policy_edit_string_and_other_values, docs_setup,
            docs_teardown),
        cmocka_unit_test_setup_teardown(
            test_policy_edit_groups_indicators_and_index, docs_setup,
            docs_teardown),
        cmocka_unit_test_setup_teardown(
            test_policy_edit_same_as_gets_its_own_copy, docs_setup,
            docs_teardown),
        cmocka_unit_test_setup_teardown(test_policy_edit_same_as_itself,
                                        docs_setup, docs_teardown),
        cmocka_unit_test_setup_teardown(
            test_policy_edit_unknown_paths_change_nothing, docs_setup,
            docs_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
