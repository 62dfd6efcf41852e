/* test_feed.c -- the feed format: writing, reading back, rejects.
 *
 * Round trips go through the writer and the reader without a validator
 * (the sample records of samples.h are not all valid for the contract), so
 * they test the format alone; the rejects that come from the validator are
 * tested with a validator over the real reporting-unit table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ladder/feed.h"
#include "ladder/units_file.h"
#include "ladder/time.h"
#include "ladder/units.h"
#include "ladder/uscc.h"
#include "ladder/validate.h"

#include "../support/samples.h"

static const ldr_record_kind_t kinds[] = {
    LDR_RECORD_APPLICATION, LDR_RECORD_REVIEW, LDR_RECORD_VIOLATION,
    LDR_RECORD_CLOCK_TICK};

/* A reader over @p len bytes at @p text; *fp is the stream to close. */
static ldr_feed_reader_t *open_text(const char *text, size_t len,
                                    ldr_feed_format_t fmt,
                                    const ldr_validator_t *v, FILE **fp,
                                    char *err, size_t n) {
    *fp = fmemopen((void *)text, len, "r");
    assert_non_null(*fp);
    ldr_feed_reader_opts_t o = {
        .format = fmt, .validator = v, .now_ms = 1764201600000LL};
    return ldr_feed_reader_new(*fp, &o, err, n);
}

static void test_feed_round_trip_every_kind(void **state) {
    (void)state;
    for (int fmt = 0; fmt < 2; fmt++) {
        ldr_buf_t out;
        ldr_buf_init(&out);
        ldr_feed_write_header(&out, (ldr_feed_format_t)fmt);
        ldr_record_t recs[8];
        int nrec = 0;
        for (size_t k = 0; k < 4; k++)
            for (int variant = 0; variant < 2; variant++) {
                ldr_sample_record(&recs[nrec], kinds[k], variant);
                assert_int_equal(ldr_feed_write_row(
                                     &out, (ldr_feed_format_t)fmt, &recs[nrec]),
                                 LDR_OK);
                nrec++;
            }
        char err[256];
        FILE *f;
        ldr_feed_reader_t *r =
            open_text(out.data, out.len, (ldr_feed_format_t)fmt, NULL, &f, err,
                      sizeof err);
        assert_non_null(r);
        for (int i = 0; i < nrec; i++) {
            ldr_feed_row_t row;
            assert_int_equal(ldr_feed_reader_next(r, &row, err, sizeof err),
                             LDR_OK);
            if (row.status != LDR_FEED_ROW_VALID)
                fail_msg("format %d row %d: %s: %s", fmt, i, row.field,
                         row.reason);
            assert_int_equal(row.line, (uint64_t)(i + 1 + (fmt == 0)));
            char what[64];
            if (!ldr_sample_equal(&recs[i], &row.rec, what, sizeof what))
                fail_msg("format %d row %d differs in %s", fmt, i, what);
        }
        ldr_feed_row_t row;
        assert_int_equal(ldr_feed_reader_next(r, &row, err, sizeof err),
                         LDR_OK);
        assert_int_equal(row.status, LDR_FEED_ROW_END);
        ldr_feed_reader_destroy(r);
        fclose(f);
        ldr_buf_fini(&out);
    }
}

/* Reads every row of @p text and describes each as "LINE ok" or
 * "LINE field: reason", one per line, into @p out. */
static void describe(const char *text, size_t len, ldr_feed_format_t fmt,
                     const ldr_validator_t *v, ldr_buf_t *out) {
    char err[256];
    FILE *f;
    ldr_feed_reader_t *r = open_text(text, len, fmt, v, &f, err, sizeof err);
    if (!r) fail_msg("reader: %s", err);
    for (;;) {
        ldr_feed_row_t row;
        assert_int_equal(ldr_feed_reader_next(r, &row, err, sizeof err),
                         LDR_OK);
        if (row.status == LDR_FEED_ROW_END) break;
        if (row.status == LDR_FEED_ROW_VALID)
            ldr_buf_printf(out, "%llu ok\n", (unsigned long long)row.line);
        else
            ldr_buf_printf(out, "%llu %s: %s\n", (unsigned long long)row.line,
                           row.field, row.reason);
    }
    ldr_feed_reader_destroy(r);
    fclose(f);
}

#define TICK_HDR "kind,tick_at,source\n"

static void expect_rows(const char *text, ldr_feed_format_t fmt,
                        const ldr_validator_t *v, const char *want) {
    ldr_buf_t out;
    ldr_buf_init(&out);
    describe(text, strlen(text), fmt, v, &out);
    if (strcmp(out.data ? out.data : "", want) != 0)
        fail_msg("got:\n%s\nwanted:\n%s", out.data ? out.data : "", want);
    ldr_buf_fini(&out);
}

static void test_feed_csv_quoting_and_line_numbers(void **state) {
    (void)state;
    /* Quoted cells with commas, doubled quotes and line breaks; CRLF; a
     * byte-order mark; blank lines. A reject names the row's first line. */
    expect_rows("\xEF\xBB\xBF" TICK_HDR "tick,2024-01-01T00:00:00Z,\"a,b\"\r\n"
                "tick,2024-01-01T00:00:00Z,\"two\nlines \"\"q\"\"\"\n"
                "\n"
                "tick,2024-01-01T00:00:00Z,\"x\r\ny\nz\"\n"
                "tick,nope,\"multi\nline\"\n"
                "tick,2024-01-01T00:00:00Z,last-without-newline",
                LDR_FEED_CSV, NULL,
                "2 ok\n3 ok\n6 ok\n9 tick_at: \"nope\" is not an RFC 3339 "
                "time\n11 ok\n");
    /* The values themselves. */
    const char *text = TICK_HDR "tick,2024-01-01T08:00:00+08:00,\"say "
                                "\"\"hi\"\", then\nbye\"\n";
    char err[128];
    FILE *f;
    ldr_feed_reader_t *r =
        open_text(text, strlen(text), LDR_FEED_CSV, NULL, &f, err, sizeof err);
    ldr_feed_row_t row;
    assert_int_equal(ldr_feed_reader_next(r, &row, err, sizeof err), LDR_OK);
    assert_int_equal(row.status, LDR_FEED_ROW_VALID);
    assert_true(ldr_str_eq(row.rec.u.tick.source, "say \"hi\", then\nbye"));
    assert_int_equal(row.rec.u.tick.tick_at, 1704067200000LL);
    assert_int_equal(row.time, 1704067200000LL);
    assert_int_equal(row.raw_len, strlen(text) - strlen(TICK_HDR));
    assert_memory_equal(row.raw, text + strlen(TICK_HDR), row.raw_len);
    assert_int_equal(ldr_feed_reader_lines(r), 3);
    size_t hl;
    const char *h = ldr_feed_reader_header(r, &hl);
    assert_int_equal(hl, strlen(TICK_HDR));
    assert_memory_equal(h, TICK_HDR, hl);
    ldr_feed_reader_destroy(r);
    fclose(f);
}

static void test_feed_csv_writer_quotes_when_needed(void **state) {
    (void)state;
    ldr_record_t rec;
    ldr_sample_record(&rec, LDR_RECORD_VIOLATION, 0);
    rec.u.violation.details = ldr_str("a \"b\", c\nd");
    ldr_buf_t out;
    ldr_buf_init(&out);
    assert_int_equal(ldr_feed_write_row(&out, LDR_FEED_CSV, &rec), LDR_OK);
    assert_non_null(strstr(out.data, ",\"a \"\"b\"\", c\nd\","));
    /* A present but empty optional is "", an absent one an empty cell. */
    ldr_buf_reset(&out);
    rec.u.violation.details = ldr_str("");
    assert_int_equal(ldr_feed_write_row(&out, LDR_FEED_CSV, &rec), LDR_OK);
    assert_non_null(strstr(out.data, ",\"\","));
    ldr_buf_reset(&out);
    rec.u.violation.has_details = false;
    assert_int_equal(ldr_feed_write_row(&out, LDR_FEED_CSV, &rec), LDR_OK);
    assert_null(strstr(out.data, "\"\""));
    /* Every line has as many cells as the header. */
    ldr_buf_reset(&out);
    ldr_feed_write_header(&out, LDR_FEED_CSV);
    size_t commas = 0;
    for (size_t i = 0; i < out.len; i++)
        commas += out.data[i] == ',';
    assert_int_equal(commas + 1, ldr_feed_column_count());
    assert_string_equal(ldr_feed_column_name(0), "kind");
    assert_string_equal(ldr_feed_column_name(14), "years_in_niche");
    assert_null(ldr_feed_column_name(ldr_feed_column_count()));
    /* Decisions are not feed rows. */
    ldr_sample_record(&rec, LDR_RECORD_DECISION, 0);
    size_t before = out.len;
    assert_int_equal(ldr_feed_write_row(&out, LDR_FEED_CSV, &rec),
                     LDR_ERR_INVALID_ARG);
    assert_int_equal(ldr_feed_write_row(&out, LDR_FEED_JSONL, &rec),
                     LDR_ERR_INVALID_ARG);
    assert_int_equal(out.len, before);
    ldr_buf_fini(&out);
}

static void test_feed_shortest_doubles(void **state) {
    (void)state;
    static const double values[] = {54.99, 0.1 + 0.2, 12.0, 1e-7,
                                    100.0, 1.0 / 3.0, 0.0,  5e-324};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        ldr_record_t rec;
        ldr_sample_record(&rec, LDR_RECORD_REVIEW, 0);
        rec.u.review.indicators.asset_liability_pct = values[i];
        for (int fmt = 0; fmt < 2; fmt++) {
            ldr_buf_t out;
            ldr_buf_init(&out);
            ldr_feed_write_header(&out, (ldr_feed_format_t)fmt);
            ldr_feed_write_row(&out, (ldr_feed_format_t)fmt, &rec);
            if (i == 0) assert_non_null(strstr(out.data, "54.99"));
            if (i == 2)
                assert_non_null(strstr(
                    out.data, fmt ? "\"asset_liability_pct\":12," : ",12,"));
            char err[128];
            FILE *f;
            ldr_feed_reader_t *r =
                open_text(out.data, out.len, (ldr_feed_format_t)fmt, NULL, &f,
                          err, sizeof err);
            ldr_feed_row_t row;
            assert_int_equal(ldr_feed_reader_next(r, &row, err, sizeof err),
                             LDR_OK);
            assert_int_equal(row.status, LDR_FEED_ROW_VALID);
            assert_memory_equal(
                &row.rec.u.review.indicators.asset_liability_pct, &values[i],
                sizeof(double));
            ldr_feed_reader_destroy(r);
            fclose(f);
            ldr_buf_fini(&out);
        }
    }
}

static void test_feed_jsonl_keys_of_the_kind_only(void **state) {
    (void)state;
    ldr_record_t rec;
    ldr_sample_record(&rec, LDR_RECORD_CLOCK_TICK, 0);
    ldr_buf_t out;
    ldr_buf_init(&out);
    ldr_feed_write_header(&out, LDR_FEED_JSONL);
    assert_int_equal(out.len, 0);
    assert_int_equal(ldr_feed_write_row(&out, LDR_FEED_JSONL, &rec), LDR_OK);
    assert_string_equal(out.data,
                        "{\"kind\":\"tick\",\"tick_at\":\"2026-01-01T00:00:00."
                        "000Z\",\"source\":\"ladder-worker/host-1\"}\n");
    ldr_buf_reset(&out);
    ldr_sample_record(&rec, LDR_RECORD_VIOLATION, 1);
    rec.u.violation.case_id = ldr_str("c\"1\\\n\x01");
    assert_int_equal(ldr_feed_write_row(&out, LDR_FEED_JSONL, &rec), LDR_OK);
    assert_non_null(strstr(out.data, "\"case_id\":\"c\\\"1\\\\\\n\\u0001\""));
    assert_non_null(strstr(out.data, "\"details\":null}"));
    assert_null(strstr(out.data, "tick_at"));
    assert_null(strstr(out.data, "enterprise_name"));
    ldr_buf_fini(&out);
}

static void test_feed_csv_rejects(void **state) {
    (void)state;
    expect_rows(TICK_HDR "tick,2024-01-01T00:00:00Z\n"
                         "tick,2024-01-01T00:00:00Z,a,b\n"
                         "tick,2024-01-01T00:00:00Z,a\"b\n"
                         "tick,2024-01-01T00:00:00Z,\"a\"b\n"
                         "tick,,a\n"
                         "tick,2024-01-01T00:00:00Z,\n"
                         ",2024-01-01T00:00:00Z,a\n"
                         "ticks,2024-01-01T00:00:00Z,a\n"
                         "application,2024-01-01T00:00:00Z,a\n"
                         "tick,2024-01-01,a\n"
                         "tick,2024-01-01T00:00:00Z,\"never closed\nat all\n",
                LDR_FEED_CSV, NULL,
                "2 row: 2 cells; the header has 3\n"
                "3 row: 4 cells; the header has 3\n"
                "4 row: a quote inside an unquoted cell\n"
                "5 row: text after a closing quote\n"
                "6 tick_at: empty cell\n"
                "7 source: empty cell\n"
                "8 kind: empty cell\n"
                "9 kind: \"ticks\" is not a row kind (application, review, "
                "violation, tick)\n"
                "10 event_id: no such column in the header\n"
                "11 tick_at: \"2024-01-01\" is not an RFC 3339 time\n"
                "12 row: a quoted cell is not closed\n");
}

/* An application row of the example fixture, with one cell replaced. */
static char *app_row(const char *column, const char *value) {
    ldr_record_t rec;
    ldr_sample_record(&rec, LDR_RECORD_APPLICATION, 0);
    ldr_buf_t out;
    ldr_buf_init(&out);
    ldr_feed_write_header(&out, LDR_FEED_CSV);
    size_t start = out.len;
    ldr_feed_write_row(&out, LDR_FEED_CSV, &rec);
    /* Rebuild the row cell by cell (no cell of the sample is quoted). */
    ldr_buf_t row;
    ldr_buf_init(&row);
    ldr_buf_append(&row, out.data, start);
    const char *p = out.data + start;
    for (size_t col = 0; col < ldr_feed_column_count(); col++) {
        size_t n = strcspn(p, ",\n");
        if (col) ldr_buf_append_byte(&row, ',');
        if (strcmp(ldr_feed_column_name(col), column) == 0)
            ldr_buf_append_str(&row, value);
        else
            ldr_buf_append(&row, p, n);
        p += n + 1;
    }
    ldr_buf_append_byte(&row, '\n');
    ldr_buf_fini(&out);
    return ldr_buf_steal(&row);
}

static void test_feed_value_rejects(void **state) {
    (void)state;
    static const struct {
        const char *column, *value, *want;
    } cases[] = {
        {"batch", "x", "batch: \"x\" is not a whole number"},
        {"batch", "+4", "batch: \"+4\" is not a whole number"},
        {"batch", "4.0", "batch: \"4.0\" is not a whole number"},
        {"batch", "2147483648", "batch: 2147483648 does not fit in an int"},
        {"revenue", "9223372036854775808",
         "revenue: 9223372036854775808 does not fit in a long"},
        {"revenue", "-", "revenue: \"-\" is not a whole number"},
        {"asset_liability_pct", "inf",
         "asset_liability_pct: \"inf\" is not a decimal number"},
        {"asset_liability_pct", "1e400",
         "asset_liability_pct: \"1e400\" is not finite"},
        {"asset_liability_pct", ".5",
         "asset_liability_pct: \".5\" is not a decimal number"},
        {"asset_liability_pct", "1e",
         "asset_liability_pct: \"1e\" is not a "
         "decimal number"},
        {"own_brand", "TRUE", "own_brand: \"TRUE\" is not true or false"},
        {"tier", "tiny",
         "tier: \"tiny\" is not a Tier (INNOVATIVE, "
         "SPECIALIZED, LITTLE_GIANT)"},
        {"rd_institution", "CITY",
         "rd_institution: \"CITY\" is not a RdInstitution (NONE, "
         "BELOW_MUNICIPAL, MUNICIPAL, PROVINCIAL, NATIONAL)"},
        {"honours", "ST_AWARD_3Y;;HIGH_TECH_ENTERPRISE",
         "honours: \"\" is not an Honour"},
        {"honours", "X", "honours: \"X\" is not an Honour"},
        {"tick_at", "2024-01-01T00:00:00Z",
         "tick_at: not a field of an application row; leave it empty"},
        {"details", "\"\"",
         "details: not a field of an application row; leave it empty"},
        {"development_score", "", NULL},
        {"honours", "", NULL},
        {"asset_liability_pct", "-0", NULL},
        {"asset_liability_pct", "1E+1", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = app_row(cases[i].column, cases[i].value);
        char want[512];
        snprintf(want, sizeof want, "2 %s\n",
                 cases[i].want ? cases[i].want : "ok");
        expect_rows(text, LDR_FEED_CSV, NULL, want);
        free(text);
    }
}

static void test_feed_validator_rejects(void **state) {
    (void)state;
    char err[256], path[4096];
    snprintf(path, sizeof path, "%s/%s", LADDER_SOURCE_DIR,
             LDR_UNITS_DEFAULT_PATH);
    ldr_units_t *units = ldr_units_load(path, err, sizeof err);
    assert_non_null(units);
    ldr_validator_t *v = ldr_validator_new(units, 400);
    /* The fixtures' valid row, then the validator's findings. */
    char uscc[19] = "91350200MA2YN5GXX";
    assert_int_equal(ldr_uscc_complete(uscc), LDR_OK);
    static const struct {
        const char *column, *value, *want;
    } cases[] = {
        {NULL, NULL, "ok"},
        {"reporting_unit", "3599",
         "reporting_unit: \"3599\" is not a code of the reporting-unit table"},
        {"rd_staff", "421", "rd_staff: 421 exceeds employees (420)"},
        {"batch", "101", "batch: 101 is outside 1 to 100"},
        {"occurred_at", "1999-12-31T23:59:59.999Z",
         "occurred_at: 1999-12-31T23:59:59.999Z (946684799999 ms) is before "
         "2000-01-01T00:00:00.000Z"},
        {"occurred_at", "2100-01-01T00:00:00Z",
         "occurred_at: 2100-01-01T00:00:00.000Z (4102444800000 ms) is after "
         "2027-01-01T00:00:00.000Z, max(clock, now) + 400 days"},
        {"event_id", "\"\"", "event_id: empty cell"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* Build: valid uscc and unit, then the case. */
        ldr_record_t rec;
        ldr_sample_record(&rec, LDR_RECORD_APPLICATION, 0);
        ldr_buf_t out;
        ldr_buf_init(&out);
        ldr_feed_write_header(&out, LDR_FEED_CSV);
        rec.u.application.uscc = ldr_str(uscc);
        rec.u.application.reporting_unit = ldr_str("3502");
        ldr_feed_write_row(&out, LDR_FEED_CSV, &rec);
        if (cases[i].column) {
            /* Replace the one cell. */
            ldr_buf_t row;
            ldr_buf_init(&row);
            const char *nl = strchr(out.data, '\n');
            ldr_buf_append(&row, out.data, (size_t)(nl + 1 - out.data));
            const char *p = nl + 1;
            for (size_t col = 0; col < ldr_feed_column_count(); col++) {
                size_t n = strcspn(p, ",\n");
                if (col) ldr_buf_append_byte(&row, ',');
                if (strcmp(ldr_feed_column_name(col), cases[i].column) == 0)
                    ldr_buf_append_str(&row, cases[i].value);
                else
                    ldr_buf_append(&row, p, n);
                p += n + 1;
            }
            ldr_buf_append_byte(&row, '\n');
            ldr_buf_fini(&out);
            out = row;
        }
        char want[512];
        snprintf(want, sizeof want, "2 %s\n", cases[i].want);
        expect_rows(out.data, LDR_FEED_CSV, v, want);
        ldr_buf_fini(&out);
    }
    /* A bad check character. */
    char bad[19];
    memcpy(bad, uscc, 19);
    bad[17] = bad[17] == '0' ? '1' : '0';
    ldr_record_t rec;
    ldr_sample_record(&rec, LDR_RECORD_VIOLATION, 0);
    rec.u.violation.uscc = ldr_str(bad);
    ldr_buf_t out;
    ldr_buf_init(&out);
    ldr_feed_write_row(&out, LDR_FEED_JSONL, &rec);
    char want[128];
    snprintf(want, sizeof want,
             "1 uscc: check character is '%c', expected '%c'\n", bad[17],
             uscc[17]);
    expect_rows(out.data, LDR_FEED_JSONL, v, want);
    ldr_buf_fini(&out);
    ldr_validator_destroy(v);
    ldr_units_destroy(units);
}

static void test_feed_jsonl_rejects(void **state) {
    (void)state;
    expect_rows("{\"kind\":\"tick\",\"tick_at\":\"2024-01-01T00:00:00Z\","
                "\"source\":\"s\"}\n"
                "  \n"
                "{\"kind\":\"tick\"\n"
                "[1]\n"
                "{\"tick_at\":\"2024-01-01T00:00:00Z\"}\n"
                "{\"kind\":1}\n"
                "{\"kind\":\"tick\",\"tick_at\":\"2024-01-01T00:00:00Z\"}\n"
                "{\"kind\":\"tick\",\"tick_at\":\"2024-01-01T00:00:00Z\","
                "\"source\":null}\n"
                "{\"kind\":\"tick\",\"tick_at\":1,\"source\":\"s\"}\n"
                "{\"kind\":\"tick\",\"tick_at\":\"2024-01-01T00:00:00Z\","
                "\"source\":\"s\",\"uscc\":\"x\"}\n"
                "{\"kind\":\"tick\",\"tick_at\":\"2024-01-01T00:00:00Z\","
                "\"source\":\"s\",\"zz\":1}\n"
                "{\"kind\":\"tick\",\"kind\":\"tick\"}\n"
                "{\"kind\":\"tick\",\"tick_at\":\"2024-01-01T00:00:00Z\","
                "\"source\":\"s\"}",
                LDR_FEED_JSONL, NULL,
                "1 ok\n"
                "3 row: not JSON: '}' expected near end of file (column 14)\n"
                "4 row: not a JSON object but an array\n"
                "5 kind: missing\n"
                "6 kind: expected a string, found an integer\n"
                "7 source: missing\n"
                "8 source: missing\n"
                "9 tick_at: expected a string, found an integer\n"
                "10 uscc: not a field of a tick row\n"
                "11 zz: not a column\n"
                "12 row: not JSON: duplicate object key near '\"kind\"' "
                "(column 21)\n"
                "13 ok\n");
}

static void test_feed_header_errors(void **state) {
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"kind,tick_at,sauce\n", "1: unknown column \"sauce\""},
        {"tick_at,source\n", "1: the header has no \"kind\" column"},
        {"kind,kind\n", "1: column \"kind\" appears twice"},
        {"kind,\"tick_at\n", "1: header: a quoted cell is not closed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256];
        FILE *f;
        ldr_feed_reader_t *r =
            open_text(cases[i].text, strlen(cases[i].text), LDR_FEED_CSV, NULL,
                      &f, err, sizeof err);
        assert_null(r);
        assert_string_equal(err, cases[i].want);
        fclose(f);
    }
    /* A quoted header, and an empty file: no rows. */
    expect_rows("\"kind\",tick_at,source\ntick,2024-01-01T00:00:00Z,s\n",
                LDR_FEED_CSV, NULL, "2 ok\n");
    expect_rows("", LDR_FEED_CSV, NULL, "");
    expect_rows("", LDR_FEED_JSONL, NULL, "");
}

static size_t spilled;
static void count_spill(void *opaque, const void *data, size_t len) {
    (void)opaque;
    (void)data;
    spilled += len;
}

static void test_feed_over_long_rows(void **state) {
    (void)state;
    for (int fmt = 0; fmt < 2; fmt++) {
        /* A good row, a row of 1 MiB + 1 byte, a good row; then a quoted
         * row whose lines are short but which is longer than the limit in
         * all (CSV), then a good row. */
        ldr_buf_t text;
        ldr_buf_init(&text);
        const char *good =
            fmt == 0 ? "tick,2024-01-01T00:00:00Z,s\n"
                     : "{\"kind\":\"tick\",\"tick_at\":\"2024-01-01T00:00:"
                       "00Z\",\"source\":\"s\"}\n";
        if (fmt == 0) ldr_buf_append_str(&text, TICK_HDR);
        ldr_buf_append_str(&text, good);
        size_t long_start = text.len;
        ldr_buf_append_str(&text, fmt == 0 ? "tick,x," : "{\"x\":\"");
        while (text.len - long_start < LDR_FEED_LINE_MAX + 1)
            ldr_buf_append_byte(&text, 'L');
        size_t long_len = text.len - long_start + 1;
        ldr_buf_append_byte(&text, '\n');
        ldr_buf_append_str(&text, good);
        if (fmt == 0) {
            ldr_buf_append_str(&text, "tick,x,\"");
            for (int i = 0; i < 20; i++) {
                for (int j = 0; j < 60000; j++)
                    ldr_buf_append_byte(&text, 'M');
                ldr_buf_append_byte(&text, '\n');
            }
            ldr_buf_append_str(&text, "\"\n");
            ldr_buf_append_str(&text, good);
        }
        char err[256];
        FILE *f = fmemopen(text.data, text.len, "r");
        spilled = 0;
        ldr_feed_reader_opts_t o = {.format = (ldr_feed_format_t)fmt,
                                    .spill = count_spill};
        ldr_feed_reader_t *r = ldr_feed_reader_new(f, &o, err, sizeof err);
        assert_non_null(r);
        ldr_buf_t got;
        ldr_buf_init(&got);
        ldr_feed_row_t row;
        for (;;) {
            assert_int_equal(ldr_feed_reader_next(r, &row, err, sizeof err),
                             LDR_OK);
            if (row.status == LDR_FEED_ROW_END) break;
            ldr_buf_printf(&got, "%llu %s%s\n", (unsigned long long)row.line,
                           row.status == LDR_FEED_ROW_VALID ? "ok" : row.field,
                           row.spilled ? " spilled" : "");
            if (row.spilled && spilled == long_len) {
                assert_int_equal(spilled, long_len);
                spilled = 0;
            }
        }
        /* The multi-line row (lines 5-25) is rejected when it passes the
         * limit, in line 22, and reading resumes at line 23: without the
         * quotes' context, its last lines are rows of their own (the
         * closing quote of line 25 even opens a cell that never closes).
         * docs/FEED.md says so. */
        const char *want =
            fmt == 0 ? "2 ok\n3 row spilled\n4 ok\n5 row spilled\n23 row\n"
                       "24 row\n25 row\n"
                     : "1 ok\n2 row spilled\n3 ok\n";
        assert_string_equal(got.data, want);
        ldr_buf_fini(&got);
        ldr_feed_reader_destroy(r);
        fclose(f);
        ldr_buf_fini(&text);
    }
}

/* The JSON fast path gives what jansson gives, for valid lines and for
 * every small corruption of them. */
static void same_as_jansson(const char *p, size_t len) {
    json_error_t e1, e2;
    json_t *a = ldr_feed_json_loadb(p, len, &e1);
    json_t *b = json_loadb(p, len, JSON_REJECT_DUPLICATES, &e2);
    if (!a != !b || (a && !json_equal(a, b)) ||
        (!a && strcmp(e1.text, e2.text) != 0))
        fail_msg("fast path and jansson differ on: %.*s", (int)len, p);
    json_decref(a);
    json_decref(b);
}

static void test_feed_json_fast_path_matches_jansson(void **state) {
    (void)state;
    static const char *const edge[] = {
        "{}",
        " { } ",
        "{\"a\":1}",
        "{\"a\":-0}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":1e5}",
        "{\"a\":1E+5}",
        "{\"a\":2.5e-3}",
        "{\"a\":123456789012345678}",
        "{\"a\":1234567890123456789}",
        "{\"a\":-9223372036854775808}",
        "{\"a\":99999999999999999999}",
        "{\"a\":1e400}",
        "{\"a\":1e-400}",
        "{\"a\":-}",
        "{\"a\":tru}",
        "{\"a\":nul}",
        "{\"a\":truex}",
        "{\"a\":[\"x\",]}",
        "{\"a\":[]}",
        "{\"a\":[ \"x\" , \"y\" ]}",
        "{\"a\":[1]}",
        "{\"a\":{}}",
        "{\"a\":1}x",
        "{\"a\":1,}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":\"\\n\"}",
        "{\"a\":\"\\u00e9\"}",
        "{\"\\u0061\":1}",
        "{\"a\":\"\xe4\xb8\xad\"}",
        "{\"a\":\"\xff\"}",
        "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"x\ty\"}",
        "{\"a\"\n:\r\n1}",
        "[1]",
        "\"s\"",
        "",
        "   ",
        "{\"a\":null}",
        "{\"a\":true,\"b\":false}",
        "{\"a\":\"x\"}{}",
        "{\"a\"1}",
    };
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
        same_as_jansson(edge[i], strlen(edge[i]));
    /* Rows of every kind, and every one-byte corruption of them. */
    static const char repl[] = "\"\\{}[],:0-.eE+tnx\x01\xff ";
    for (size_t k = 0; k < 4; k++) {
        ldr_record_t rec;
        ldr_sample_record(&rec, kinds[k], (int)k % 2);
        ldr_buf_t out;
        ldr_buf_init(&out);
        ldr_feed_write_row(&out, LDR_FEED_JSONL, &rec);
        size_t len = out.len - 1; /* without the line end */
        same_as_jansson(out.data, len);
        char *m = malloc(len + 1);
        for (size_t i = 0; i < len; i++) {
            same_as_jansson(out.data, i); /* truncated */
            memcpy(m, out.data, len);
            memmove(m + i, m + i + 1, len - i - 1); /* one byte deleted */
            same_as_jansson(m, len - 1);
            for (size_t r = 0; r < sizeof repl - 1; r++) {
                memcpy(m, out.data, len);
                m[i] = repl[r];
                same_as_jansson(m, len);
            }
        }
        free(m);
        ldr_buf_fini(&out);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feed_round_trip_every_kind),
        cmocka_unit_test(test_feed_csv_quoting_and_line_numbers),
        cmocka_unit_test(test_feed_csv_writer_quotes_when_needed),
        cmocka_unit_test(test_feed_shortest_doubles),
        cmocka_unit_test(test_feed_jsonl_keys_of_the_kind_only),
        cmocka_unit_test(test_feed_csv_rejects),
        cmocka_unit_test(test_feed_value_rejects),
        cmocka_unit_test(test_feed_validator_rejects),
        cmocka_unit_test(test_feed_jsonl_rejects),
        cmocka_unit_test(test_feed_header_errors),
        cmocka_unit_test(test_feed_over_long_rows),
        cmocka_unit_test(test_feed_json_fast_path_matches_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
