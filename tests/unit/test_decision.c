/* test_decision.c -- the JSON form of a decision (CONTRACT.md): the object
 * that the API and the webhooks use, and the text written from it, which
 * must be the same bytes; and the notices stream's compact form, which must
 * give back the same JSON and refuse every damaged entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ladder/decision.h"
#include <jansson.h>

#include "../support/samples.h"

#include <stdlib.h>
#include <string.h>

static void expect_same_text(const ldr_decision_t *d) {
    json_t *o = ldr_decision_to_json(d);
    char *want = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    ldr_buf_t b;
    ldr_buf_init(&b);
    ldr_decision_write_json(d, &b);
    ldr_buf_append_byte(&b, 0);
    if (strcmp(want, b.data) != 0)
        fail_msg("written %s\njansson %s", b.data, want);
    json_error_t e;
    json_t *back = json_loads(b.data, 0, &e);
    if (!back) fail_msg("not JSON: %s", e.text);
    json_decref(back);
    ldr_buf_fini(&b);
    free(want);
}

static void test_decision_form(void **state) {
    (void)state;
    ldr_record_t rec;
    ldr_sample_record(&rec, LDR_RECORD_DECISION, 0);
    json_t *o = ldr_decision_to_json(&rec.u.decision);
    assert_string_equal(json_string_value(json_object_get(o, "decision")),
                        "REVOKED");
    assert_string_equal(json_string_value(json_object_get(o, "tier")),
                        "LITTLE_GIANT");
    assert_string_equal(json_string_value(json_object_get(o, "effective_at")),
                        "2025-06-15T15:06:40.000Z");
    assert_int_equal(json_array_size(json_object_get(o, "reasons")), 3);
    assert_int_equal(json_integer_value(json_object_get(o, "score")), 58);
    assert_true(json_is_null(json_object_get(o, "ban_until")));
    assert_true(json_is_null(json_object_get(o, "case_id")));
    json_decref(o);
    ldr_sample_record(&rec, LDR_RECORD_DECISION, 1);
    o = ldr_decision_to_json(&rec.u.decision);
    assert_true(json_is_null(json_object_get(o, "tier")));
    assert_true(json_is_null(json_object_get(o, "score")));
    assert_int_equal(json_array_size(json_object_get(o, "reasons")), 0);
    assert_string_equal(json_string_value(json_object_get(o, "case_id")),
                        "XM-1");
    json_decref(o);
}

static void test_decision_written_text_is_janssons(void **state) {
    (void)state;
    for (int v = 0; v < 2; v++) {
        ldr_record_t rec;
        ldr_sample_record(&rec, LDR_RECORD_DECISION, v);
        expect_same_text(&rec.u.decision);
    }
    /* Every character that must be escaped, UTF-8 kept as it is, a
     * negative score and a timestamp outside 0000-9999. */
    static const char odd[] = "a\"b\\c/d\x01\x1f\b\f\n\r\t\x7f 厦门";
    ldr_record_t rec;
    ldr_sample_record(&rec, LDR_RECORD_DECISION, 0);
    ldr_decision_t *d = &rec.u.decision;
    d->enterprise_name.ptr = odd;
    d->enterprise_name.len = sizeof(odd) - 1;
    d->score = -7;
    d->valid_until = INT64_C(253402300800000);
    d->reasons[1] = ldr_str("");
    expect_same_text(d);
}

static void expect_same_json(const ldr_decision_t *a, const ldr_decision_t *b) {
    ldr_buf_t ja, jb;
    ldr_buf_init(&ja);
    ldr_buf_init(&jb);
    ldr_decision_write_json(a, &ja);
    ldr_decision_write_json(b, &jb);
    ldr_buf_append_byte(&ja, 0);
    ldr_buf_append_byte(&jb, 0);
    assert_string_equal(ja.data, jb.data);
    ldr_buf_fini(&ja);
    ldr_buf_fini(&jb);
}

/* A notice in the compact form gives back the decision it was written
 * from, field for field (every optional present, then none), and is far
 * smaller than its JSON text. */
static void test_decision_notice_round_trip(void **state) {
    (void)state;
    for (int v = 0; v < 3; v++) {
        ldr_record_t rec;
        ldr_sample_record(&rec, LDR_RECORD_DECISION, v % 2);
        ldr_decision_t *d = &rec.u.decision;
        if (v == 2) { /* every optional, and the extremes */
            d->has_tier = true;
            d->tier = LDR_TIER_SPECIALIZED;
            d->has_valid_from = d->has_valid_until = true;
            d->has_review_deadline = d->has_ban_until = true;
            d->valid_from = INT64_MIN;
            d->valid_until = INT64_MAX;
            d->review_deadline = -1;
            d->ban_until = 0;
            d->has_batch = d->has_score = true;
            d->batch = INT32_MAX;
            d->score = INT32_MIN;
            d->has_case_id = d->has_cause_event_id = true;
            d->case_id = ldr_str("XM-2");
            d->cause_event_id = ldr_str("");
            d->decided_at = 1;
        }
        ldr_buf_t b, j;
        ldr_buf_init(&b);
        ldr_buf_init(&j);
        ldr_decision_write_notice(d, &b);
        ldr_decision_write_json(d, &j);
        assert_true(ldr_decision_is_notice(b.data, b.len));
        assert_false(ldr_decision_is_notice(j.data, j.len));
        assert_true(b.len * 2 < j.len);
        ldr_decision_t back;
        assert_int_equal(ldr_decision_read_notice(b.data, b.len, &back),
                         LDR_OK);
        expect_same_json(d, &back);
        assert_int_equal(back.has_tier, d->has_tier);
        assert_int_equal(back.has_score, d->has_score);
        assert_true(back.valid_from == d->valid_from);
        assert_int_equal(back.reasons_count, d->reasons_count);
        ldr_buf_fini(&b);
        ldr_buf_fini(&j);
    }
}

/* Every damaged entry is refused, none read past its end (ASan): each
 * prefix, a byte too many, an unknown format, tier, decision type or
 * reasons count. */
static void test_decision_notice_damaged(void **state) {
    (void)state;
    ldr_record_t rec;
    ldr_sample_record(&rec, LDR_RECORD_DECISION, 0);
    ldr_buf_t b;
    ldr_buf_init(&b);
    ldr_decision_write_notice(&rec.u.decision, &b);
    ldr_decision_t d;
    for (size_t n = 0; n < b.len; n++) {
        char *cut = malloc(n ? n : 1);
        memcpy(cut, b.data, n);
        assert_int_equal(ldr_decision_read_notice(cut, n, &d),
                         LDR_ERR_DECODE_FAILED);
        free(cut);
    }
    ldr_buf_append_byte(&b, 0);
    assert_int_equal(ldr_decision_read_notice(b.data, b.len, &d),
                     LDR_ERR_DECODE_FAILED);
    b.len--;
    assert_int_equal(ldr_decision_read_notice(b.data, b.len, &d), LDR_OK);
    /* the byte after the four leading strings is the tier, the next the
     * decision type, the next the reasons' count (small: one byte) */
    size_t at = 1;
    for (int i = 0; i < 4; i++) {
        at += 1 + (uint8_t)b.data[at];
    }
    char saved = b.data[at];
    b.data[at] = (char)LDR_TIER__COUNT;
    assert_int_equal(ldr_decision_read_notice(b.data, b.len, &d),
                     LDR_ERR_DECODE_FAILED);
    b.data[at] = saved;
    saved = b.data[at + 1];
    b.data[at + 1] = (char)LDR_DECISION__COUNT;
    assert_int_equal(ldr_decision_read_notice(b.data, b.len, &d),
                     LDR_ERR_DECODE_FAILED);
    b.data[at + 1] = saved;
    saved = b.data[at + 2];
    b.data[at + 2] = (char)(LDR_DECISION_REASONS_MAX + 1);
    assert_int_equal(ldr_decision_read_notice(b.data, b.len, &d),
                     LDR_ERR_DECODE_FAILED);
    b.data[at + 2] = saved;
    b.data[0] = '{';
    assert_int_equal(ldr_decision_read_notice(b.data, b.len, &d),
                     LDR_ERR_DECODE_FAILED);
    ldr_buf_fini(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decision_form),
        cmocka_unit_test(test_decision_written_text_is_janssons),
        cmocka_unit_test(test_decision_notice_round_trip),
        cmocka_unit_test(test_decision_notice_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
