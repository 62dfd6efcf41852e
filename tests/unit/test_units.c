/* test_units.c -- loading the reporting-unit table. */
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

#define REAL_FILE     LADDER_SOURCE_DIR "/" LDR_UNITS_DEFAULT_PATH
#define FIXTURE(name) LADDER_SOURCE_DIR "/tests/fixtures/units/" name

static void test_units_real_file_loads_37(void **state) {
    (void)state;
    char err[256] = "";
    ldr_units_t *units = ldr_units_load(REAL_FILE, err, sizeof err);
    assert_non_null(units);
    assert_int_equal(ldr_units_count(units), 37);

    size_t per_kind[LDR_UNITS_KIND__COUNT] = {0};
    double total = 0;
    for (size_t i = 0; i < ldr_units_count(units); i++) {
        const ldr_units_entry_t *e = ldr_units_at(units, i);
        assert_non_null(e);
        assert_true(e->kind < LDR_UNITS_KIND__COUNT);
        per_kind[e->kind]++;
        assert_int_equal(strlen(e->code), e->code_len);
        assert_true(e->code_len == 2 || e->code_len == 4);
        assert_true(strlen(e->name_zh) > 0);
        assert_true(strlen(e->name_en) > 0);
        assert_true(isfinite(e->weight) && e->weight >= 0);
        total += e->weight;
        /* Every entry is found by its own code. */
        assert_ptr_equal(ldr_units_find(units, e->code, e->code_len), e);
    }
    assert_int_equal(per_kind[LDR_UNITS_KIND_PROVINCE], 31);
    assert_int_equal(per_kind[LDR_UNITS_KIND_CITY], 5);
    assert_int_equal(per_kind[LDR_UNITS_KIND_CORPS], 1);
    assert_true(total > 0);
    assert_null(ldr_units_at(units, 37));
    ldr_units_destroy(units);
}

static void test_units_find(void **state) {
    (void)state;
    char err[256] = "";
    ldr_units_t *units = ldr_units_load(REAL_FILE, err, sizeof err);
    assert_non_null(units);

    const ldr_units_entry_t *e = ldr_units_find(units, "11", 2);
    assert_non_null(e);
    assert_string_equal(e->name_zh, "北京市");
    assert_string_equal(e->name_en, "Beijing");
    assert_int_equal(e->kind, LDR_UNITS_KIND_PROVINCE);
    assert_true(e->weight == 6.0);

    e = ldr_units_find(units, "4403", 4);
    assert_non_null(e);
    assert_string_equal(e->name_en, "Shenzhen");
    assert_int_equal(e->kind, LDR_UNITS_KIND_CITY);

    e = ldr_units_find(units, "66", 2);
    assert_non_null(e);
    assert_int_equal(e->kind, LDR_UNITS_KIND_CORPS);
    assert_string_equal(ldr_units_kind_name(e->kind), "corps");

    /* The length is the code: a longer buffer is not read past it. */
    e = ldr_units_find(units, "4403xx", 4);
    assert_non_null(e);
    assert_string_equal(e->code, "4403");
    e = ldr_units_find(units, "110", 2);
    assert_non_null(e);
    assert_string_equal(e->code, "11");

    assert_null(ldr_units_find(units, "99", 2));   /* not a unit */
    assert_null(ldr_units_find(units, "0011", 4)); /* 11 is 2 digits */
    assert_null(ldr_units_find(units, "2100", 4)); /* not Dalian */
    assert_null(ldr_units_find(units, "1", 1));
    assert_null(ldr_units_find(units, "110", 3));
    assert_null(ldr_units_find(units, "110000", 6));
    assert_null(ldr_units_find(units, "", 0));
    assert_null(ldr_units_find(units, NULL, 0));
    assert_null(ldr_units_find(units, "1\0", 2));
    assert_null(ldr_units_find(units, "-1", 2));
    ldr_units_destroy(units);
}

static void test_units_tolerated_syntax(void **state) {
    (void)state;
    char err[256] = "";
    ldr_units_t *units =
        ldr_units_load(FIXTURE("good_bom_crlf_quoted.csv"), err, sizeof err);
    assert_non_null(units);
    assert_int_equal(ldr_units_count(units), 3);
    const ldr_units_entry_t *e = ldr_units_find(units, "66", 2);
    assert_non_null(e);
    assert_string_equal(e->name_en,
                        "Xinjiang Production and Construction Corps, \"XPCC\"");
    assert_true(e->weight == 0.05);
    e = ldr_units_find(units, "4403", 4);
    assert_non_null(e);
    assert_string_equal(e->name_en, "Shenzhen"); /* no trailing \r */
    assert_true(e->weight == 6.0);
    ldr_units_destroy(units);
}

/* A broken file: its name, and the texts the message must contain. */
typedef struct broken_case {
    const char *file;
    const char *where; /* ":<line>:" or ": " for file-level problems */
    const char *problem;
} broken_case_t;

static const broken_case_t broken[] = {
    {"missing_header.csv", ":1:", "header"},
    {"wrong_header.csv", ":1:", "header"},
    {"empty.csv", ": ", "missing header"},
    {"header_only.csv", ":1:", "no units"},
    {"duplicate_code.csv", ":4:", "duplicate code 11 (first on line 2)"},
    {"bad_weight_negative.csv", ":3:", "weight \"-2\""},
    {"bad_weight_text.csv", ":2:", "weight \"abc\""},
    {"bad_weight_nan.csv", ":2:", "weight \"nan\""},
    {"bad_weight_overflow.csv", ":2:", "weight \"1e999\""},
    {"bad_weight_empty.csv", ":2:", "weight \"\""},
    {"too_few_columns.csv", ":3:", "expected 5 columns, found 4"},
    {"too_many_columns.csv", ":2:", "expected 5 columns, found 6"},
    {"bad_code_length.csv", ":2:", "code \"111\""},
    {"bad_code_letters.csv", ":2:", "code \"1A\""},
    {"bad_utf8_name.csv", ":2:", "name_zh is not valid UTF-8"},
    {"empty_name.csv", ":2:", "name_zh is empty"},
    {"bad_kind.csv", ":2:", "kind \"municipality\""},
    {"unterminated_quote.csv", ":2:", "unterminated quoted field"},
};

static void test_units_broken_files(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s%s", FIXTURE(""), broken[i].file);
        char err[512] = "";
        ldr_units_t *units = ldr_units_load(path, err, sizeof err);
        if (units) fail_msg("%s loaded", broken[i].file);
        /* The message names the file, the line and the problem. */
        char expect[1100];
        snprintf(expect, sizeof expect, "%s%s", path, broken[i].where);
        if (strncmp(err, expect, strlen(expect)) != 0 ||
            !strstr(err, broken[i].problem))
            fail_msg("%s: message \"%s\" lacks \"%s\" / \"%s\"", broken[i].file,
                     err, expect, broken[i].problem);
    }
}

static void test_units_missing_file(void **state) {
    (void)state;
    char err[512] = "";
    const char *path = FIXTURE("no_such_file.csv");
    assert_null(ldr_units_load(path, err, sizeof err));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file"));
    /* A NULL errstr is allowed. */
    assert_null(ldr_units_load(path, NULL, 0));
}

static void test_units_destroy_accepts_null(void **state) {
    (void)state;
    ldr_units_destroy(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_units_real_file_loads_37),
        cmocka_unit_test(test_units_find),
        cmocka_unit_test(test_units_tolerated_syntax),
        cmocka_unit_test(test_units_broken_files),
        cmocka_unit_test(test_units_missing_file),
        cmocka_unit_test(test_units_destroy_accepts_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
