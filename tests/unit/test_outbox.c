/* test_outbox.c -- the outbox payload: round trip and hostile bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ladder/outbox.h"

#include <stdlib.h>
#include <string.h>

static void fill(ldr_buf_t *b) {
    ldr_outbox_msg_t m = {0};
    m.topic = LDR_OUTBOX_DECISIONS;
    m.partition = -1;
    m.key = "91350200MA2YN5GX1A";
    m.key_len = 18;
    m.value = "\0\0\0\0\5avro";
    m.value_len = 9;
    m.headers_count = 2;
    m.headers[0] = (ldr_outbox_header_t){"ce_id", 5, "3-7-0", 5};
    m.headers[1] =
        (ldr_outbox_header_t){"ce_type", 7, "ladder.decision.REVOKED", 23};
    ldr_outbox_append(b, &m);
    ldr_outbox_msg_t d = {0};
    d.topic = LDR_OUTBOX_DLQ;
    d.partition = 6;
    d.value = "\x42garbage";
    d.value_len = 8;
    d.headers_count = 1;
    d.headers[0] =
        (ldr_outbox_header_t){"ladder.error.code", 17, "BAD_FRAMING", 11};
    ldr_outbox_append(b, &d);
}

static void test_outbox_round_trip(void **state) {
    (void)state;
    ldr_buf_t b;
    ldr_buf_init(&b);
    fill(&b);
    ldr_outbox_reader_t r;
    ldr_outbox_reader_init(&r, b.data, b.len);
    ldr_outbox_msg_t m;
    assert_int_equal(ldr_outbox_next(&r, &m), LDR_OK);
    assert_int_equal(m.topic, LDR_OUTBOX_DECISIONS);
    assert_int_equal(m.partition, -1);
    assert_int_equal(m.key_len, 18);
    assert_memory_equal(m.key, "91350200MA2YN5GX1A", 18);
    assert_int_equal(m.value_len, 9);
    assert_memory_equal(m.value, "\0\0\0\0\5avro", 9);
    assert_int_equal(m.headers_count, 2);
    assert_int_equal(m.headers[1].name_len, 7);
    assert_memory_equal(m.headers[1].name, "ce_type", 7);
    assert_memory_equal(m.headers[1].value, "ladder.decision.REVOKED", 23);
    assert_int_equal(ldr_outbox_next(&r, &m), LDR_OK);
    assert_int_equal(m.topic, LDR_OUTBOX_DLQ);
    assert_int_equal(m.partition, 6);
    assert_null(m.key);
    assert_memory_equal(m.value, "\x42garbage", 8);
    assert_int_equal(ldr_outbox_next(&r, &m), LDR_ERR_INVALID_ARG); /* end */
    ldr_buf_fini(&b);
}

static void test_outbox_rejects_every_truncation(void **state) {
    (void)state;
    ldr_buf_t b;
    ldr_buf_init(&b);
    fill(&b);
    /* A cut inside the first message fails; a cut between messages is a
     * shorter valid payload. */
    ldr_outbox_msg_t first;
    ldr_outbox_reader_t r0;
    ldr_outbox_reader_init(&r0, b.data, b.len);
    assert_int_equal(ldr_outbox_next(&r0, &first), LDR_OK);
    size_t first_len = (size_t)((const char *)r0.p - b.data);
    for (size_t cut = 1; cut < b.len; cut++) {
        char *p = malloc(cut);
        memcpy(p, b.data, cut);
        ldr_outbox_reader_t r;
        ldr_outbox_reader_init(&r, p, cut);
        ldr_outbox_msg_t m;
        ldr_err_t rc = ldr_outbox_next(&r, &m);
        if (cut < first_len)
            assert_int_equal(rc, LDR_ERR_DECODE_FAILED);
        else if (cut == first_len)
            assert_int_equal(rc, LDR_OK);
        else {
            assert_int_equal(rc, LDR_OK);
            assert_int_equal(ldr_outbox_next(&r, &m), LDR_ERR_DECODE_FAILED);
        }
        free(p);
    }
    ldr_buf_fini(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outbox_round_trip),
        cmocka_unit_test(test_outbox_rejects_every_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
