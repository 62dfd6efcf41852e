/* test_decision.c -- the JSON form of a decision (CONTRACT.md): the object
 * that the API and the webhooks use, and the text the worker writes into
 * the notices stream, which must be the same bytes. */
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decision_form),
        cmocka_unit_test(test_decision_written_text_is_janssons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
