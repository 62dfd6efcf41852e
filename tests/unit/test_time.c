/* test_time.c -- RFC 3339, epoch milliseconds and calendar arithmetic.
 *
 * The instants below were computed independently (Python's datetime, UTC)
 * and are written out as numbers so that a wrong days-from-civil cannot
 * agree with itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ladder/time.h"

static int64_t parse_ok(const char *s) {
    int64_t ms = -1;
    char err[200] = "";
    ldr_err_t rc = ldr_time_parse(s, strlen(s), &ms, err, sizeof err);
    if (rc != LDR_OK) fail_msg("parse '%s' failed: %s", s, err);
    return ms;
}

static void test_time_rfc3339_parses(void **state) {
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2022-06-01T00:00:00Z", INT64_C(1654041600000)},
        {"2022-06-01T00:00:00.000Z", INT64_C(1654041600000)},
        {"2022-06-01t00:00:00z", INT64_C(1654041600000)},
        {"2022-06-01T08:00:00+08:00", INT64_C(1654041600000)},
        {"2022-05-31T19:30:00-04:30", INT64_C(1654041600000)},
        {"2022-06-01T00:00:00-00:00", INT64_C(1654041600000)},
        {"2022-06-01T00:00:00.5Z", INT64_C(1654041600500)},
        {"2022-06-01T00:00:00.25Z", INT64_C(1654041600250)},
        {"2022-06-01T00:00:00.123456789Z", INT64_C(1654041600123)},
        {"2026-01-17T00:00:00Z", INT64_C(1768608000000)},
        {"2027-01-01T00:00:00Z", INT64_C(1798761600000)},
        {"2024-02-29T23:59:59.999Z", INT64_C(1709251199999)},
        {"2000-01-01T00:00:00Z", INT64_C(946684800000)},
        {"1969-12-31T23:59:59.999Z", -1},
        {"1900-03-01T00:00:00Z", INT64_C(-2203891200000)},
        {"0000-01-01T00:00:00Z", INT64_C(-62167219200000)},
        {"9999-12-31T23:59:59.999Z", INT64_C(253402300799999)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = parse_ok(cases[i].text);
        if (ms != cases[i].ms)
            fail_msg("%s: got %lld, want %lld", cases[i].text, (long long)ms,
                     (long long)cases[i].ms);
    }
}

static void test_time_epoch_ms_parses(void **state) {
    (void)state;
    assert_int_equal(parse_ok("0"), 0);
    assert_int_equal(parse_ok("1654041600000"), INT64_C(1654041600000));
    assert_int_equal(parse_ok("-1"), -1);
    assert_int_equal(parse_ok("9223372036854775807"), INT64_MAX);
    assert_int_equal(parse_ok("-9223372036854775808"), INT64_MIN);
}

static void test_time_bad_inputs_are_refused(void **state) {
    (void)state;
    static const char *const bad[] = {
        "",
        "-",
        "2022-06-01",
        "2022-06-01T00:00:00",  /* no offset */
        "2022-06-01 00:00:00Z", /* space separator */
        "2022-6-01T00:00:00Z",
        "2022-06-01T00:00Z",
        "2022-13-01T00:00:00Z",
        "2022-00-01T00:00:00Z",
        "2022-02-29T00:00:00Z", /* not a leap year */
        "2100-02-29T00:00:00Z", /* century rule */
        "2022-04-31T00:00:00Z",
        "2022-06-01T24:00:00Z",
        "2022-06-01T23:60:00Z",
        "2016-12-31T23:59:60Z", /* leap second */
        "2022-06-01T00:00:00.Z",
        "2022-06-01T00:00:00+8:00",
        "2022-06-01T00:00:00+08",
        "2022-06-01T00:00:00+24:00",
        "2022-06-01T00:00:00+08:60",
        "2022-06-01T00:00:00ZZ",
        "2022-06-01T00:00:00Z ",
        " 2022-06-01T00:00:00Z",
        "12a",
        "+12",
        "--1",
        "9223372036854775808", /* one past INT64_MAX */
        "-9223372036854775809",
        "12345678901234567890",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 42;
        char err[200] = "";
        ldr_err_t rc =
            ldr_time_parse(bad[i], strlen(bad[i]), &ms, err, sizeof err);
        if (rc != LDR_ERR_INVALID_ARG)
            fail_msg("'%s' was accepted as %lld", bad[i], (long long)ms);
        assert_int_equal(ms, 42); /* untouched on error */
        assert_true(err[0] != '\0');
    }
}

static void test_time_format_round_trips(void **state) {
    (void)state;
    static const struct {
        int64_t ms;
        const char *text;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {INT64_C(1654041600000), "2022-06-01T00:00:00.000Z"},
        {INT64_C(1709251199999), "2024-02-29T23:59:59.999Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {INT64_C(-62167219200000), "0000-01-01T00:00:00.000Z"},
        {INT64_C(253402300799999), "9999-12-31T23:59:59.999Z"},
        {INT64_C(253402300800000), "+010000-01-01T00:00:00.000Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[LDR_TIME_FORMAT_SIZE];
        size_t n = ldr_time_format(cases[i].ms, buf, sizeof buf);
        assert_string_equal(buf, cases[i].text);
        assert_int_equal(n, strlen(cases[i].text));
        if (buf[0] != '+') assert_int_equal(parse_ok(buf), cases[i].ms);
    }
    /* Every millisecond-aligned instant round-trips: sweep a few centuries
     * with a stride that is prime to days and seconds. */
    for (int64_t ms = INT64_C(-5000000000000); ms < INT64_C(8000000000000);
         ms += INT64_C(7919000003)) {
        char buf[LDR_TIME_FORMAT_SIZE];
        ldr_time_format(ms, buf, sizeof buf);
        assert_int_equal(parse_ok(buf), ms);
    }
    /* Extremes do not crash and report the length they need. */
    char small[8];
    assert_true(ldr_time_format(INT64_MAX, small, sizeof small) > sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
    /* ... within years 0-9999 too, truncated as snprintf truncates. */
    assert_int_equal(ldr_time_format(0, small, sizeof small), 24);
    assert_string_equal(small, "1970-01");
    assert_int_equal(ldr_time_format(0, NULL, 0), 24);
    assert_true(ldr_time_format(INT64_MIN, NULL, 0) < LDR_TIME_FORMAT_SIZE);
    assert_true(ldr_time_format(INT64_MAX, NULL, 0) < LDR_TIME_FORMAT_SIZE);
}

static void test_time_add_years_calendar(void **state) {
    (void)state;
    static const struct {
        const char *from;
        int years;
        const char *to;
    } cases[] = {
        {"2022-06-01T00:00:00.000Z", 3, "2025-06-01T00:00:00.000Z"},
        {"2024-02-29T12:34:56.789Z", 3,
         "2027-02-28T12:34:56.789Z"}, /* Feb 29 -> 28 */
        {"2024-02-29T00:00:00.000Z", 4,
         "2028-02-29T00:00:00.000Z"}, /* leap to leap */
        {"2096-02-29T00:00:00.000Z", 4,
         "2100-02-28T00:00:00.000Z"}, /* 2100 not leap */
        {"1996-02-29T00:00:00.000Z", 4,
         "2000-02-29T00:00:00.000Z"}, /* 2000 leap */
        {"2024-02-29T00:00:00.000Z", -1, "2023-02-28T00:00:00.000Z"},
        {"2023-02-28T23:59:59.999Z", 1, "2024-02-28T23:59:59.999Z"},
        {"2023-03-01T00:00:00.000Z", 1, "2024-03-01T00:00:00.000Z"},
        {"2025-12-31T23:59:59.999Z", 3, "2028-12-31T23:59:59.999Z"},
        {"1969-12-31T23:59:59.999Z", 3, "1972-12-31T23:59:59.999Z"},
        {"2022-06-01T00:00:00.000Z", 0, "2022-06-01T00:00:00.000Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[LDR_TIME_FORMAT_SIZE];
        ldr_time_format(
            ldr_time_add_years(parse_ok(cases[i].from), cases[i].years), buf,
            sizeof buf);
        if (strcmp(buf, cases[i].to) != 0)
            fail_msg("%s %+d years: got %s, want %s", cases[i].from,
                     cases[i].years, buf, cases[i].to);
    }
    /* Far outside any real date the result saturates instead of wrapping. */
    assert_int_equal(ldr_time_add_years(INT64_MAX - 1000, 3), INT64_MAX);
    assert_int_equal(ldr_time_add_years(INT64_MIN + 1000, -3), INT64_MIN);
}

static void test_time_add_days(void **state) {
    (void)state;
    char buf[LDR_TIME_FORMAT_SIZE];
    ldr_time_format(ldr_time_add_days(parse_ok("2024-02-22T10:00:00Z"), 7), buf,
                    sizeof buf);
    assert_string_equal(buf, "2024-02-29T10:00:00.000Z");
    /* valid_until - 120 days: the review window of POLICY.md */
    ldr_time_format(ldr_time_add_days(parse_ok("2025-06-08T00:00:00Z"), -120),
                    buf, sizeof buf);
    assert_string_equal(buf, "2025-02-08T00:00:00.000Z");
    assert_int_equal(ldr_time_add_days(INT64_MAX, 1), INT64_MAX);
    assert_int_equal(ldr_time_add_days(INT64_MIN, -1), INT64_MIN);
}

static void test_time_civil_days_agree(void **state) {
    (void)state;
    /* days_from_civil and civil_from_days are inverse over 800 years, and
     * consecutive days are consecutive dates. */
    int64_t prev = ldr_time_days_from_civil(1600, 1, 1) - 1;
    for (int64_t y = 1600; y < 2400; y++)
        for (int m = 1; m <= 12; m++) {
            static const int dim[12] = {31, 28, 31, 30, 31, 30,
                                        31, 31, 30, 31, 30, 31};
            int n = dim[m - 1] + (m == 2 && ldr_time_is_leap_year(y));
            for (int d = 1; d <= n; d++) {
                int64_t days = ldr_time_days_from_civil(y, m, d), yy;
                int mm, dd;
                assert_int_equal(days, prev + 1);
                prev = days;
                ldr_time_civil_from_days(days, &yy, &mm, &dd);
                assert_int_equal(yy, y);
                assert_int_equal(mm, m);
                assert_int_equal(dd, d);
            }
        }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_rfc3339_parses),
        cmocka_unit_test(test_time_epoch_ms_parses),
        cmocka_unit_test(test_time_bad_inputs_are_refused),
        cmocka_unit_test(test_time_format_round_trips),
        cmocka_unit_test(test_time_add_years_calendar),
        cmocka_unit_test(test_time_add_days),
        cmocka_unit_test(test_time_civil_days_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
