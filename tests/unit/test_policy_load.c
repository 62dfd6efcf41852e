/* test_policy_load.c -- broken policy files fail with a message naming the
 * file and the JSON path; valid edits (decimal thresholds) are exact.
 *
 * Most cases start from the real deploy/policy/miit-2022.json, apply one
 * edit at a JSON path (what an operator's slip would do) and check the
 * error text, so the tests follow the shipped file as it evolves. Set-level
 * problems (same_as, start dates) use tests/fixtures/policy and scratch
 * directories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ladder/policy.h"
#include "ladder/policy_files.h"
#include "ladder/time.h"

#define POLICY_DIR LADDER_SOURCE_DIR "/deploy/policy"
#define FIXTURES   LADDER_SOURCE_DIR "/tests/fixtures/policy"

/* ---- JSON edits ------------------------------------------------------------
 */

/* The value at @p path ("tiers.X.criteria[1].when"), its parent and the
 * last step (a key, or an index when *key is NULL). */
static json_t *walk(json_t *root, const char *path, json_t **parent,
                    const char **key, size_t *index) {
    static char last[128];
    json_t *cur = root, *par = NULL;
    const char *p = path;
    *key = NULL;
    while (*p) {
        par = cur;
        if (*p == '[') {
            char *end;
            size_t i = strtoul(p + 1, &end, 10);
            assert_true(*end == ']');
            *index = i;
            *key = NULL;
            cur = json_array_get(par, i);
            p = end + 1;
        } else {
            if (*p == '.') p++;
            size_t n = strcspn(p, ".[");
            assert_true(n < sizeof last);
            memcpy(last, p, n);
            last[n] = '\0';
            *key = last;
            cur = json_object_get(par, last);
            p += n;
        }
        if (*p && !cur) fail_msg("test path %s does not exist", path);
    }
    *parent = par;
    return cur;
}

enum op { END, DEL, SET };

struct edit {
    enum op op;
    const char *path;
    const char *value; /* JSON text for SET */
};

static void apply(json_t *root, const struct edit *e) {
    json_t *parent;
    const char *key;
    size_t index = 0;
    walk(root, e->path, &parent, &key, &index);
    if (e->op == DEL) {
        int rc = key ? json_object_del(parent, key)
                     : json_array_remove(parent, index);
        if (rc != 0) fail_msg("cannot delete %s", e->path);
    } else {
        json_error_t jerr;
        json_t *v = json_loads(e->value, JSON_DECODE_ANY, &jerr);
        if (!v) fail_msg("bad test value %s", e->value);
        int rc = key ? json_object_set_new(parent, key, v)
                     : json_array_set_new(parent, index, v);
        if (rc != 0) fail_msg("cannot set %s", e->path);
    }
}

/* miit-2022.json with @p edits applied, parsed under its own file name. */
static ldr_err_t parse_edited(const char *file, const struct edit *edits,
                              ldr_policy_t **out, char *err, size_t err_size) {
    char path[512];
    json_error_t jerr;
    snprintf(path, sizeof path, "%s/%s", POLICY_DIR, file);
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) fail_msg("%s: %s", path, jerr.text);
    for (size_t i = 0; edits && edits[i].op != END; i++)
        apply(root, &edits[i]);
    char *text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    ldr_err_t rc =
        ldr_policy_parse(file, text, strlen(text), out, err, err_size);
    free(text);
    return rc;
}

struct broken_case {
    struct edit edits[3];
    const char *message; /* expected inside the error text */
};

static void test_policy_broken_files_name_the_json_path(void **state) {
    (void)state;
    static const struct broken_case cases[] = {
        /* a deleted threshold */
        {{{DEL, "tiers.SPECIALIZED.criteria[1].when.ge", NULL}},
         "miit-2022.json: $.tiers.SPECIALIZED.criteria[1].when: missing "
         "threshold: give ge, gt, "
         "le or lt for 'rd_expense'"},
        {{{DEL, "lifecycle.validity_years", NULL}},
         "miit-2022.json: $.lifecycle.validity_years: missing"},
        {{{DEL,
           "tiers.INNOVATIVE.score.groups[0].indicators[1].bands[2].points",
           NULL}},
         "miit-2022.json: "
         "$.tiers.INNOVATIVE.score.groups[0].indicators[1].bands[2].points: "
         "missing"},
        {{{DEL, "applies_from.review", NULL}},
         "miit-2022.json: $.applies_from.review: missing"},
        {{{DEL, "tiers.LITTLE_GIANT", NULL}},
         "miit-2022.json: $.tiers.LITTLE_GIANT: missing"},
        /* bands that overlap or leave gaps */
        {{{SET, "tiers.INNOVATIVE.score.groups[1].indicators[0].bands[3].ge",
           "9"}},
         "miit-2022.json: "
         "$.tiers.INNOVATIVE.score.groups[1].indicators[0].bands: bands "
         "overlap "
         "from 9 to 10"},
        {{{DEL, "tiers.INNOVATIVE.score.groups[1].indicators[0].bands[2].lt",
           NULL},
          {SET, "tiers.INNOVATIVE.score.groups[1].indicators[0].bands[2].le",
           "10"}},
         "miit-2022.json: "
         "$.tiers.INNOVATIVE.score.groups[1].indicators[0].bands: bands "
         "overlap "
         "at 10"},
        {{{SET, "tiers.INNOVATIVE.score.groups[1].indicators[0].bands[3].ge",
           "11"}},
         "$.tiers.INNOVATIVE.score.groups[1].indicators[0].bands: bands leave "
         "a gap from 10 to "
         "11"},
        {{{DEL, "tiers.INNOVATIVE.score.groups[1].indicators[0].bands[3].ge",
           NULL},
          {SET, "tiers.INNOVATIVE.score.groups[1].indicators[0].bands[3].gt",
           "10"}},
         "$.tiers.INNOVATIVE.score.groups[1].indicators[0].bands: bands leave "
         "a gap at 10"},
        {{{SET, "tiers.INNOVATIVE.score.groups[1].indicators[0].bands[0].ge",
           "-100"}},
         "$.tiers.INNOVATIVE.score.groups[1].indicators[0].bands: the first "
         "band must be open "
         "below"},
        {{{SET, "tiers.INNOVATIVE.score.groups[1].indicators[0].bands[4].lt",
           "100"}},
         "bands: the last band must be open above"},
        {{{DEL, "tiers.INNOVATIVE.score.groups[1].indicators[0].bands[2]",
           NULL}},
         "bands: bands leave a gap from 5 to 10"},
        /* unknown names */
        {{{SET, "tiers.LITTLE_GIANT.criteria[0].code", "\"LG.FOO\""}},
         "miit-2022.json: $.tiers.LITTLE_GIANT.criteria[0].code: unknown "
         "criterion 'LG.FOO'"},
        {{{SET, "tiers.INNOVATIVE.criteria[0].code", "\"SP.SCORE\""}},
         "$.tiers.INNOVATIVE.criteria[0].code: criterion 'SP.SCORE' belongs to "
         "SPECIALIZED"},
        {{{SET, "tiers.LITTLE_GIANT.criteria[1].code",
           "\"LG.YEARS_IN_NICHE\""}},
         "$.tiers.LITTLE_GIANT.criteria[1].code: criterion 'LG.YEARS_IN_NICHE' "
         "is listed twice"},
        {{{SET, "tiers.SPECIALIZED.criteria[2].when.measure",
           "\"rd_intensty\""}},
         "$.tiers.SPECIALIZED.criteria[2].when.measure: unknown measure "
         "'rd_intensty'"},
        {{{SET, "tiers.LITTLE_GIANT.criteria[3].when.flag",
           "\"core_business\""}},
         "$.tiers.LITTLE_GIANT.criteria[3].when.flag: unknown boolean "
         "indicator 'core_business'"},
        {{{SET, "tiers.INNOVATIVE.direct[0].when.honour[0]",
           "\"NOBEL_PRIZE\""}},
         "$.tiers.INNOVATIVE.direct[0].when.honour[0]: unknown Honour "
         "'NOBEL_PRIZE'"},
        {{{SET, "tiers.LITTLE_GIANT.criteria[0].when.gee", "3"}},
         "$.tiers.LITTLE_GIANT.criteria[0].when.gee: unknown key (expected "
         "measure, ge, gt, le, "
         "lt, note)"},
        {{{SET, "lifecycle.validity_yeras", "3"}},
         "$.lifecycle.validity_yeras: unknown key"},
        {{{SET, "tiers.INNOVATIVE.criteria[1].when.score", "\"innovatoin\""}},
         "$.tiers.INNOVATIVE.criteria[1].when.score: 'innovatoin' is neither "
         "\"total\" nor a "
         "score group of this tier"},
        {{{SET, "tiers.INNOVATIVE.direct[0].satisfies[0]", "\"LG.FIELD\""}},
         "$.tiers.INNOVATIVE.direct[0].satisfies[0]: 'LG.FIELD' is not a "
         "criterion of this tier"},
        /* wrong types and values */
        {{{SET, "lifecycle.publicity_days", "\"7\""}},
         "$.lifecycle.publicity_days: expected an integer, found a string"},
        {{{SET, "lifecycle.publicity_days", "7.5"}},
         "$.lifecycle.publicity_days: expected an integer, found a number"},
        {{{SET, "tiers.LITTLE_GIANT.criteria[5].when.le", "\"70\""}},
         "$.tiers.LITTLE_GIANT.criteria[5].when.le: expected a number, found a "
         "string"},
        {{{SET, "tiers.LITTLE_GIANT.criteria[5].when.le", "70.001"}},
         "$.tiers.LITTLE_GIANT.criteria[5].when.le: 70.001000000000005 has "
         "more than two "
         "decimal places"},
        {{{SET, "tiers.LITTLE_GIANT.criteria[0].when.lt", "2"}},
         "$.tiers.LITTLE_GIANT.criteria[0].when: the range from 3 to 2 is "
         "empty"},
        {{{SET, "tiers.LITTLE_GIANT.criteria[0].when.gt", "2"}},
         "$.tiers.LITTLE_GIANT.criteria[0].when: give only one of ge and gt"},
        {{{SET,
           "tiers.INNOVATIVE.score.groups[1].indicators[0].bands[0].points",
           "-1"}},
         "bands[0].points: -1 is out of range 0..1000"},
        {{{SET, "tiers.LITTLE_GIANT.criteria[3].when.measure", "\"revenue\""}},
         "$.tiers.LITTLE_GIANT.criteria[3].when: a condition has exactly one "
         "of all, any, not, "
         "measure, flag, honour, rd_institution, score: found both 'measure' "
         "and 'flag'"},
        {{{SET, "tiers.LITTLE_GIANT.criteria[0].when", "{}"}},
         "$.tiers.LITTLE_GIANT.criteria[0].when: a condition needs one of"},
        {{{SET, "tiers.LITTLE_GIANT.criteria[0].when",
           "{\"score\": \"total\", \"ge\": 1}"}},
         "$.tiers.LITTLE_GIANT.criteria[0].when.score: this tier has no score"},
        {{{SET, "tiers.INNOVATIVE.score.groups[0].indicators[0].first[0].when",
           "{\"score\": \"total\", \"ge\": 1}"}},
         "first[0].when.score: a score cannot be tested inside the score "
         "itself"},
        {{{SET, "tiers.LITTLE_GIANT.criteria", "[]"}},
         "$.tiers.LITTLE_GIANT.criteria: expected an array of 1 to 16 "
         "criteria"},
        {{{SET, "tiers.LITTLE_GIANT.criteria[8].when.any[0]",
           "{\"any\":[{\"any\":[{\"any\":[{\"any\":[{\"any\":[{\"any\":[{"
           "\"any\":[{"
           "\"any\":[{\"any\":[{\"flag\":\"own_brand\"}]}]}]}]}]}]}]}]}]}"}},
         "conditions are nested more than 8 deep"},
        {{{SET, "note", "5"}},
         "miit-2022.json: $.note: expected a string, found an integer"},
        /* declared maxima must add up */
        {{{SET, "tiers.INNOVATIVE.score.groups[0].max", "41"}},
         "$.tiers.INNOVATIVE.score.groups[0].max: 41, but the indicators' max "
         "add up to 40"},
        {{{SET, "tiers.INNOVATIVE.score.groups[0].indicators[1].max", "25"}},
         "$.tiers.INNOVATIVE.score.groups[0].indicators[1].max: 25, but the "
         "most this indicator "
         "can give is 20"},
        {{{SET, "tiers.INNOVATIVE.score.max", "99"}},
         "$.tiers.INNOVATIVE.score.max: 99, but the groups' max add up to 100"},
        /* indicator shapes */
        {{{SET, "tiers.SPECIALIZED.score.groups[0].indicators[2].measure",
           "\"rd_intensity\""}},
         "$.tiers.SPECIALIZED.score.groups[0].indicators[2].measure: linear "
         "points need an "
         "integer measure"},
        {{{DEL,
           "tiers.SPECIALIZED.score.groups[3].indicators[3].levels.MUNICIPAL",
           NULL}},
         "$.tiers.SPECIALIZED.score.groups[3].indicators[3].levels.MUNICIPAL: "
         "missing"},
        {{{DEL, "tiers.SPECIALIZED.score.groups[3].indicators[1].best_of[1]",
           NULL}},
         "$.tiers.SPECIALIZED.score.groups[3].indicators[1].best_of: expected "
         "an array of at "
         "least two indicators"},
        {{{SET, "tiers.SPECIALIZED.score.groups[3].indicators[3].measure",
           "\"revenue\""}},
         "levels need rd_institution"},
        {{{SET, "tiers.SPECIALIZED.score.groups[0].name",
           "\"Special ization\""}},
         "$.tiers.SPECIALIZED.score.groups[0].name: 'Special ization' is not a "
         "valid group name"},
        {{{SET, "tiers.SPECIALIZED.score.groups[1].name",
           "\"specialization\""}},
         "$.tiers.SPECIALIZED.score.groups[1].name: group 'specialization' is "
         "defined twice"},
        /* lifecycle */
        {{{SET, "lifecycle.on_validity_end.INNOVATIVE.reason",
           "\"NO_REVIEW_SUBMITTED\""}},
         "$.lifecycle.on_validity_end.INNOVATIVE.reason: "
         "'NO_REVIEW_SUBMITTED': EXPIRED at "
         "validity end carries the reason NOT_RENEWED"},
        {{{SET, "lifecycle.on_validity_end.LITTLE_GIANT.decision",
           "\"CANCELLED\""}},
         "$.lifecycle.on_validity_end.LITTLE_GIANT.decision: 'CANCELLED': the "
         "decision at "
         "validity end is REVOKED or EXPIRED"},
        {{{SET, "lifecycle.prerequisite.INNOVATIVE", "\"SPECIALIZED\""}},
         "$.lifecycle.prerequisite.INNOVATIVE: 'SPECIALIZED' is not below "
         "INNOVATIVE"},
        {{{SET, "lifecycle.prerequisite.LITTLE_GIANT", "\"GIANT\""}},
         "$.lifecycle.prerequisite.LITTLE_GIANT: unknown tier 'GIANT'"},
        {{{SET, "lifecycle.review_window_days", "2000"}},
         "$.lifecycle.review_window_days: 2000 days would open the review "
         "window before the "
         "designation starts"},
        {{{SET, "lifecycle.validity_years", "0"}},
         "$.lifecycle.validity_years: 0 is out of range 1..100"},
        /* file-level */
        {{{SET, "applies_from.application", "\"2026-13-01T00:00:00Z\""}},
         "$.applies_from.application: '2026-13-01T00:00:00Z': date or time of "
         "day out of range"},
        {{{SET, "applies_from.application", "\"2026-01-17\""}},
         "$.applies_from.application: '2026-01-17' has no 'T'"},
        {{{SET, "version", "\"miit-2023\""}},
         "$.version: 'miit-2023' does not match the file name (expected "
         "miit-2023.json)"},
        {{{SET, "format", "2"}},
         "$.format: format 2 is not supported (this build reads format 1)"},
        {{{DEL, "format", NULL}}, "$.format: missing"},
        {{{SET, "tiers.INNOVATIVE.same_as", "\"miit-2021\""}},
         "$.tiers.INNOVATIVE.score: unknown key (expected same_as, note)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ldr_policy_t *p = (ldr_policy_t *)0x1;
        char err[1024] = "";
        ldr_err_t rc =
            parse_edited("miit-2022.json", cases[i].edits, &p, err, sizeof err);
        if (rc != LDR_ERR_POLICY)
            fail_msg("case %zu (%s) loaded (rc %d)", i, cases[i].message, rc);
        assert_ptr_equal(p, (ldr_policy_t *)0x1); /* untouched on error */
        if (!strstr(err, cases[i].message))
            fail_msg("case %zu:\n  got  %s\n  want %s", i, err,
                     cases[i].message);
    }
}

static void test_policy_broken_json_syntax(void **state) {
    (void)state;
    ldr_policy_t *p = NULL;
    char err[512];
    static const char trailing[] =
        "{\n  \"format\": 1,\n  \"version\": \"miit-2022\",,\n}";
    assert_int_equal(ldr_policy_parse("miit-2022.json", trailing,
                                      strlen(trailing), &p, err, sizeof err),
                     LDR_ERR_POLICY);
    assert_non_null(strstr(err, "miit-2022.json: line 3 column"));
    static const char dup[] = "{\"format\": 1, \"format\": 1}";
    assert_int_equal(ldr_policy_parse("miit-2022.json", dup, strlen(dup), &p,
                                      err, sizeof err),
                     LDR_ERR_POLICY);
    assert_non_null(strstr(err, "duplicate"));
    static const char arr[] = "[1, 2]";
    assert_int_equal(ldr_policy_parse("miit-2022.json", arr, strlen(arr), &p,
                                      err, sizeof err),
                     LDR_ERR_POLICY);
    assert_non_null(
        strstr(err, "miit-2022.json: $: expected an object, found an array"));
    assert_null(p);
    assert_int_equal(ldr_policy_load_file(FIXTURES "/no-such-file.json", &p,
                                          err, sizeof err),
                     LDR_ERR_IO);
    assert_non_null(strstr(err, "no-such-file.json"));
}

static void test_policy_shipped_files_load(void **state) {
    (void)state;
    char err[1024];
    ldr_policy_t *p = NULL;
    /* Each file alone, then the directory as a set. */
    assert_int_equal(parse_edited("miit-2022.json", NULL, &p, err, sizeof err),
                     LDR_OK);
    ldr_policy_destroy(p);
    assert_int_equal(
        ldr_policy_load_file(POLICY_DIR "/miit-2026.json", &p, err, sizeof err),
        LDR_OK);
    /* Alone, miit-2026 cannot resolve its same_as tiers: evaluating one gives
     * no verdict rather than a guess; its own LITTLE_GIANT rules work. */
    ldr_indicators_t ind;
    memset(&ind, 0, sizeof ind);
    ldr_eval_result_t r;
    ldr_policy_evaluate_with(p, LDR_TIER_INNOVATIVE, LDR_EVAL_APPLICATION, &ind,
                             &r);
    assert_false(r.pass);
    assert_int_equal(r.reasons_count, 0);
    ldr_policy_evaluate_with(p, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION,
                             &ind, &r);
    assert_false(r.pass);
    assert_int_equal(r.reasons_count,
                     8); /* all but LG.ASSET_LIABILITY (0% <= 75) */
    ldr_policy_destroy(p);
    ldr_policy_destroy(NULL);
    ldr_policies_t *set = ldr_policies_load_dir(POLICY_DIR, err, sizeof err);
    if (!set) fail_msg("%s", err);
    ldr_policies_destroy(set);
    ldr_policies_destroy(NULL);
    set = ldr_policies_load_dir(FIXTURES "/minimal/", err, sizeof err);
    if (!set) fail_msg("%s", err);
    assert_int_equal(ldr_policies_count(set), 1);
    assert_string_equal(ldr_policy_path(ldr_policies_get(set, 0)),
                        FIXTURES "/minimal/miit-test.json");
    ldr_policies_destroy(set);
}

static void test_policy_decimal_thresholds_are_exact(void **state) {
    (void)state;
    /* Two-place decimals are accepted and compared exactly, for ratios
     * (cross-multiplied) and for declared percentages (the double nearest
     * the threshold, so a declared 10.1 meets "ge 10.1"). */
    static const struct edit edits[] = {
        {SET, "tiers.LITTLE_GIANT.criteria[5].when.le", "70.25"},
        {SET, "tiers.LITTLE_GIANT.criteria[6].when.ge", "10.1"},
        {SET, "tiers.LITTLE_GIANT.criteria[1].when.ge", "66.67"},
        {END, NULL, NULL},
    };
    ldr_policy_t *p;
    char err[1024];
    if (parse_edited("miit-2022.json", edits, &p, err, sizeof err) != LDR_OK)
        fail_msg("%s", err);
    ldr_indicators_t ind;
    memset(&ind, 0, sizeof ind);
    ind.years_in_niche = 5;
    ind.revenue = 300000000;
    ind.revenue_prev = 300000000;
    ind.main_revenue = 200010000; /* 66.67% exactly */
    ind.main_revenue_prev = 180000000;
    ind.main_revenue_prev2 = 160000000;
    ind.rd_expense = ind.rd_expense_prev = 15000000;
    ind.asset_liability_pct = 70.25;
    ind.niche_market_share_pct = 10.1;
    ind.ip_class1 = 2;
    ind.rd_institution = LDR_RD_MUNICIPAL;
    ind.core_business_on_info_system = ind.mgmt_certification = ind.own_brand =
        true;
    ind.key_chain_link = ind.field_six_foundations = true;
    ldr_eval_result_t r;
    ldr_policy_evaluate_with(p, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION,
                             &ind, &r);
    assert_true(r.pass);
    ind.asset_liability_pct = 70.26;
    ind.niche_market_share_pct = 10.09;
    ind.main_revenue = 200009999;
    ldr_policy_evaluate_with(p, LDR_TIER_LITTLE_GIANT, LDR_EVAL_APPLICATION,
                             &ind, &r);
    assert_int_equal(r.reasons_count, 3);
    assert_string_equal(r.reasons[0], "LG.MAIN_SHARE");
    assert_string_equal(r.reasons[1], "LG.ASSET_LIABILITY");
    assert_string_equal(r.reasons[2], "LG.MARKET_SHARE");
    ldr_policy_destroy(p);
}

/* ---- sets
 * --------------------------------------------------------------------- */

static void expect_dir_error(const char *dir, const char *message) {
    char err[1024] = "";
    ldr_policies_t *set = ldr_policies_load_dir(dir, err, sizeof err);
    if (set) fail_msg("%s loaded", dir);
    if (!strstr(err, message))
        fail_msg("%s:\n  got  %s\n  want %s", dir, err, message);
}

static void test_policy_broken_fixture_sets(void **state) {
    (void)state;
    expect_dir_error(
        FIXTURES "/bands-overlap",
        "bands-overlap/miit-test.json: $.tiers.INNOVATIVE.score.groups[0]"
        ".indicators[0].bands: bands overlap at 3");
    expect_dir_error(FIXTURES "/unknown-criterion",
                     "unknown-criterion/miit-test.json: "
                     "$.tiers.LITTLE_GIANT.criteria[0].code: "
                     "unknown criterion 'LG.OWN_BRANDS'");
    expect_dir_error(FIXTURES "/not-json",
                     "not-json/miit-test.json: line 10 column");
    expect_dir_error(FIXTURES "/two-starts",
                     "two-starts/v2.json: $.applies_from.application: null "
                     "(from the beginning) "
                     "here and in");
    expect_dir_error(FIXTURES "/dangling-same-as",
                     "dangling-same-as/miit-test.json: "
                     "$.tiers.SPECIALIZED.same_as: no version "
                     "'miit-2021' among the loaded policy files");
    expect_dir_error(FIXTURES "/no-such-dir", "no-such-dir");
}

/* Writes @p edits of @p file into the scratch directory @p dir. */
static void write_edited(const char *dir, const char *file,
                         const struct edit *edits) {
    char path[512];
    json_error_t jerr;
    snprintf(path, sizeof path, "%s/%s", POLICY_DIR, file);
    json_t *root = json_load_file(path, 0, &jerr);
    assert_non_null(root);
    for (size_t i = 0; edits && edits[i].op != END; i++)
        apply(root, &edits[i]);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    assert_int_equal(json_dump_file(root, path, JSON_INDENT(2)), 0);
    json_decref(root);
}

static void remove_dir(const char *dir) {
    static const char *const names[] = {"miit-2022.json", "miit-2026.json"};
    char path[512];
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void test_policy_set_validation(void **state) {
    (void)state;
    char dir[] = "/tmp/ladder-policy-test.XXXXXX";
    assert_non_null(mkdtemp(dir));

    expect_dir_error(dir, "no policy files (*.json)");

    /* miit-2026 alone: its same_as has nothing to resolve against. */
    write_edited(dir, "miit-2026.json", NULL);
    expect_dir_error(
        dir,
        "miit-2026.json: $.tiers.INNOVATIVE.same_as: no version 'miit-2022'");

    /* both from the beginning */
    static const struct edit both_null[] = {
        {SET, "applies_from.application", "null"}, {END, NULL, NULL}};
    write_edited(dir, "miit-2022.json", NULL);
    write_edited(dir, "miit-2026.json", both_null);
    expect_dir_error(
        dir, "miit-2026.json: $.applies_from.application: null (from the "
             "beginning) here and in");

    /* nobody from the beginning */
    static const struct edit start_2000[] = {
        {SET, "applies_from.review", "\"2000-01-01T00:00:00Z\""},
        {END, NULL, NULL}};
    write_edited(dir, "miit-2022.json", start_2000);
    write_edited(dir, "miit-2026.json", NULL);
    expect_dir_error(
        dir, "no policy version applies to reviews before the earliest start");

    /* two versions starting at the same instant (an offset spelling) */
    static const struct edit same_start[] = {
        {SET, "applies_from.application", "\"2026-01-17T08:00:00+08:00\""},
        {END, NULL, NULL}};
    write_edited(dir, "miit-2022.json", NULL);
    write_edited(dir, "miit-2026.json", same_start);
    ldr_policies_t *set;
    char err[1024];
    set = ldr_policies_load_dir(dir, err,
                                sizeof err); /* same instant as before: fine */
    if (!set) fail_msg("%s", err);
    ldr_policies_destroy(set);
    static const struct edit clash[] = {
        {SET, "applies_from.application", "\"2026-01-17T00:00:00Z\""},
        {END, NULL, NULL}};
    write_edited(dir, "miit-2022.json", clash);
    expect_dir_error(dir, "two versions cannot start at the same instant");

    /* a same_as cycle */
    static const struct edit back[] = {
        {SET, "tiers.SPECIALIZED", "{\"same_as\": \"miit-2026\"}"},
        {END, NULL, NULL}};
    write_edited(dir, "miit-2022.json", back);
    write_edited(dir, "miit-2026.json", NULL);
    expect_dir_error(dir, "same_as references form a cycle");

    /* a self reference is caught in the file itself */
    static const struct edit self[] = {
        {SET, "tiers.SPECIALIZED", "{\"same_as\": \"miit-2026\"}"},
        {END, NULL, NULL}};
    write_edited(dir, "miit-2022.json", NULL);
    write_edited(dir, "miit-2026.json", self);
    expect_dir_error(
        dir, "$.tiers.SPECIALIZED.same_as: a version cannot refer to itself");

    /* a corrected 2022 threshold applies to 2026's inherited tiers too */
    static const struct edit fix[] = {
        {SET, "tiers.SPECIALIZED.criteria[0].when.ge", "3"}, {END, NULL, NULL}};
    write_edited(dir, "miit-2022.json", fix);
    write_edited(dir, "miit-2026.json", NULL);
    set = ldr_policies_load_dir(dir, err, sizeof err);
    if (!set) fail_msg("%s", err);
    ldr_indicators_t ind;
    memset(&ind, 0, sizeof ind);
    ind.years_in_niche = 2;
    ldr_eval_result_t r;
    int64_t t2026;
    assert_int_equal(
        ldr_time_parse("2026-06-01T00:00:00Z", 20, &t2026, NULL, 0), LDR_OK);
    ldr_policy_evaluate(set, LDR_TIER_SPECIALIZED, LDR_EVAL_APPLICATION, t2026,
                        &ind, &r);
    assert_string_equal(ldr_policy_version(r.policy), "miit-2026");
    assert_string_equal(r.reasons[0], "SP.YEARS_IN_NICHE");
    ldr_policies_destroy(set);

    remove_dir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_broken_files_name_the_json_path),
        cmocka_unit_test(test_policy_broken_json_syntax),
        cmocka_unit_test(test_policy_shipped_files_load),
        cmocka_unit_test(test_policy_decimal_thresholds_are_exact),
        cmocka_unit_test(test_policy_broken_fixture_sets),
        cmocka_unit_test(test_policy_set_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
