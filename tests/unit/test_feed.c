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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feed_round_trip_every_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
