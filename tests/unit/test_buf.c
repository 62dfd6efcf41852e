/* test_buf.c -- the growable byte buffer: the NUL after the data, which
 * text users rely on, through growth and reset; varints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ladder/buf.h"

static void test_buf_varints_round_trip(void **state) {
    (void)state;
    static const uint64_t values[] = {
        0, 1, 127, 128, 16383, 16384, 1u << 31, UINT64_MAX - 1, UINT64_MAX};
    ldr_buf_t b;
    ldr_buf_init(&b);
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        ldr_buf_append_varint(&b, values[i]);
    const uint8_t *p = (const uint8_t *)b.data, *end = p + b.len;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        uint64_t v = 0;
        assert_int_equal(ldr_buf_read_varint(&p, end, &v), 0);
        assert_true(v == values[i]);
    }
    assert_ptr_equal(p, end);
    /* zigzag: small magnitudes of either sign are short */
    static const int64_t signed_values[] = {0,  -1,        1,        -64,
                                            63, INT64_MIN, INT64_MAX};
    ldr_buf_reset(&b);
    for (size_t i = 0; i < sizeof(signed_values) / sizeof(signed_values[0]);
         i++)
        ldr_buf_append_svarint(&b, signed_values[i]);
    assert_int_equal(b.len, 1 + 1 + 1 + 1 + 1 + 10 + 10);
    p = (const uint8_t *)b.data;
    end = p + b.len;
    for (size_t i = 0; i < sizeof(signed_values) / sizeof(signed_values[0]);
         i++) {
        int64_t sv = 0;
        assert_int_equal(ldr_buf_read_svarint(&p, end, &sv), 0);
        assert_true(sv == signed_values[i]);
    }
    /* truncated: the last byte says more follows */
    const uint8_t cut[] = {0x80, 0x80};
    p = cut;
    uint64_t v;
    assert_int_equal(ldr_buf_read_varint(&p, cut + sizeof(cut), &v), -1);
    ldr_buf_fini(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_varints_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
