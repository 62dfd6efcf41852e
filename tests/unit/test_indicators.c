/* test_indicators.c -- the Indicators field table and its JSON form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ladder/indicators.h"

#include "../support/samples.h"

#include <string.h>

static void test_indicators_table_matches_the_schema(void **state) {
    (void)state;
    json_error_t jerr;
    json_t *app = json_load_file(
        LADDER_SOURCE_DIR "/schemas/application_submitted.avsc", 0, &jerr);
    assert_non_null(app);
    json_t *fields = json_object_get(app, "fields"), *ind = NULL;
    for (size_t i = 0; i < json_array_size(fields); i++) {
        json_t *f = json_array_get(fields, i);
        if (strcmp(json_string_value(json_object_get(f, "name")),
                   "indicators") == 0)
            ind = json_object_get(json_object_get(f, "type"), "fields");
    }
    assert_non_null(ind);
    assert_int_equal(json_array_size(ind), LDR_INDICATORS_FIELD_COUNT);
    for (size_t i = 0; i < LDR_INDICATORS_FIELD_COUNT; i++) {
        assert_non_null(ldr_indicators_fields[i].name);
        assert_string_equal(
            ldr_indicators_fields[i].name,
            json_string_value(json_object_get(json_array_get(ind, i), "name")));
        assert_int_equal(
            ldr_indicators_field_find(ldr_indicators_fields[i].name,
                                      strlen(ldr_indicators_fields[i].name)),
            (int)i);
    }
    assert_int_equal(ldr_indicators_field_find("revenu", 6), -1);
    json_decref(app);
}

static void test_indicators_json_round_trip(void **state) {
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        ldr_indicators_t in, out;
        ldr_sample_indicators(&in, variant);
        memset(&out, 0, sizeof(out));
        json_t *j = ldr_indicators_to_json(&in);
        assert_int_equal(json_object_size(j), LDR_INDICATORS_FIELD_COUNT);
        char err[256];
        for (size_t f = 0; f < LDR_INDICATORS_FIELD_COUNT; f++) {
            json_t *v = json_object_get(j, ldr_indicators_fields[f].name);
            assert_non_null(v);
            if (ldr_indicators_set_json(&out, f, v, err, sizeof(err)))
                fail_msg("%s", err);
        }
        ldr_record_t a = {.kind = LDR_RECORD_APPLICATION};
        ldr_record_t b = {.kind = LDR_RECORD_APPLICATION};
        a.u.application.indicators = in;
        b.u.application.indicators = out;
        char what[64];
        if (!ldr_sample_equal(&a, &b, what, sizeof(what)))
            fail_msg("variant %d: %s differs", variant, what);
        json_decref(j);
    }
}

static void test_indicators_wrong_types_name_the_field(void **state) {
    (void)state;
    static const struct {
        const char *field;
        const char *json;
        const char *want;
    } cases[] = {
        {"revenue", "\"100\"",
         "field 'revenue': expected an integer, found a string"},
        {"employees", "3000000000",
         "field 'employees': 3000000000 does not fit in an int"},
        {"asset_liability_pct", "true",
         "field 'asset_liability_pct': expected a number"},
        {"own_brand", "1",
         "field 'own_brand': expected true or false, found an integer"},
        {"rd_institution", "\"CITY\"",
         "field 'rd_institution': expected one of NONE"},
        {"honours", "[\"NOBEL\"]", "field 'honours'[0]: not an Honour name"},
        {"honours", "\"HIGH_TECH_ENTERPRISE\"",
         "field 'honours': expected an array"},
        {"development_score", "1.5",
         "field 'development_score': expected an integer or null"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ldr_indicators_t ind;
        memset(&ind, 0, sizeof(ind));
        json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        char err[256] = "";
        int f =
            ldr_indicators_field_find(cases[i].field, strlen(cases[i].field));
        assert_true(f >= 0);
        assert_int_equal(
            ldr_indicators_set_json(&ind, (size_t)f, v, err, sizeof(err)),
            LDR_ERR_INVALID_FIELD);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].want);
        json_decref(v);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_indicators_table_matches_the_schema),
        cmocka_unit_test(test_indicators_json_round_trip),
        cmocka_unit_test(test_indicators_wrong_types_name_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
