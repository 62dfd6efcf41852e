/* test_uscc.c -- GB 32100-2015 check characters.
 *
 * The valid codes were computed independently of uscc.c (a short script over
 * the standard's weights) and have realistic structure: registration
 * authority and type, a real administrative division, and a 9-character
 * organisation code whose last character is its GB 11714 check digit. The
 * first one is the worked example printed in the standard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "ladder/uscc.h"

static const char *const valid_codes[] = {
    "91350100M000100Y43", /* the standard's example; Fuzhou */
    "91110108G301661394", /* Beijing Haidian, letter in the org code */
    "91310115D09139097X", /* Shanghai Pudong, check X */
    "914403000308246259", /* Shenzhen */
    "913301069482199390", /* Hangzhou Xihu */
    "91320594819093786H", /* Suzhou industrial park, check H */
    "91370212579754329Y", /* Qingdao Laoshan, check Y */
    "91510100319487578H", /* Chengdu */
    "914201001186252763", /* Wuhan */
    "91350200189555973M", /* Xiamen, check M */
    "91650100711471044M", /* Urumqi */
    "922102117465075291", /* Dalian Ganjingzi, individual business */
    "121100007034236673", /* Beijing, public institution */
    "524401067127684210", /* Guangzhou Tianhe, private non-enterprise */
    "91540100730792441L", /* Lhasa, check L */
    "911101087877893230", /* check character 0 */
    "91110108879217429C", /* check C */
    "91110108619345141W", /* check W */
};
#define N_VALID (sizeof(valid_codes) / sizeof(valid_codes[0]))

static void test_uscc_valid_codes(void **state) {
    (void)state;
    for (size_t i = 0; i < N_VALID; i++) {
        const char *s = valid_codes[i];
        assert_int_equal(strlen(s), LDR_USCC_LEN);
        assert_true(ldr_uscc_is_valid(s, LDR_USCC_LEN));
        char c = '?';
        assert_int_equal(ldr_uscc_check_char(s, &c), LDR_OK);
        assert_int_equal(c, s[17]);
    }
}

static void test_uscc_table_covers_letter_and_zero_checks(void **state) {
    (void)state;
    int letters = 0, zero = 0;
    for (size_t i = 0; i < N_VALID; i++) {
        char c = valid_codes[i][17];
        if (c >= 'A' && c <= 'Z') letters++;
        if (c == '0') zero++;
    }
    assert_true(letters >= 5);
    assert_true(zero >= 1);
}

static void test_uscc_complete_fills_check_char(void **state) {
    (void)state;
    for (size_t i = 0; i < N_VALID; i++) {
        char buf[19];
        memset(buf, 'x', sizeof buf);
        memcpy(buf, valid_codes[i], 17);
        assert_int_equal(ldr_uscc_complete(buf), LDR_OK);
        assert_string_equal(buf, valid_codes[i]);
    }
}

static void test_uscc_complete_rejects_bad_prefix(void **state) {
    (void)state;
    char buf[19] = "91110108G30166139"; /* valid prefix ... */
    buf[4] = 'I';                       /* ... made invalid */
    char before[19];
    memcpy(before, buf, sizeof buf);
    assert_int_equal(ldr_uscc_complete(buf), LDR_ERR_INVALID_USCC);
    assert_memory_equal(buf, before, sizeof buf);

    char shortbuf[19] = "9111010"; /* NUL inside the 17 characters */
    assert_int_equal(ldr_uscc_complete(shortbuf), LDR_ERR_INVALID_USCC);
}

static void test_uscc_check_char_rejects_bad_input(void **state) {
    (void)state;
    char c = '?';
    assert_int_equal(ldr_uscc_check_char("91110108g30166139", &c),
                     LDR_ERR_INVALID_USCC);
    assert_int_equal(c, '?');
    assert_int_equal(ldr_uscc_check_char(NULL, &c), LDR_ERR_INVALID_ARG);
    assert_int_equal(ldr_uscc_check_char("91110108G30166139", NULL),
                     LDR_ERR_INVALID_ARG);
}

static void test_uscc_wrong_length(void **state) {
    (void)state;
    const char *s = valid_codes[1];
    assert_false(ldr_uscc_is_valid(NULL, 0));
    assert_false(ldr_uscc_is_valid("", 0));
    assert_false(ldr_uscc_is_valid(s, 0));
    assert_false(ldr_uscc_is_valid(s, 17));
    char longer[20];
    memcpy(longer, s, 18);
    longer[18] = '0';
    longer[19] = '\0';
    assert_false(ldr_uscc_is_valid(longer, 19));
    assert_false(ldr_uscc_is_valid(NULL, 18));
    /* A valid code followed by a second one is still not a code. */
    char two[37];
    memcpy(two, s, 18);
    memcpy(two + 18, s, 18);
    two[36] = '\0';
    assert_false(ldr_uscc_is_valid(two, 36));
}

static void test_uscc_lower_case(void **state) {
    (void)state;
    for (size_t i = 0; i < N_VALID; i++) {
        char buf[18];
        memcpy(buf, valid_codes[i], 18);
        int changed = 0;
        for (size_t j = 0; j < 18; j++)
            if (buf[j] >= 'A' && buf[j] <= 'Z') {
                buf[j] = (char)(buf[j] - 'A' + 'a');
                changed = 1;
            }
        if (changed) assert_false(ldr_uscc_is_valid(buf, 18));
    }
    assert_false(ldr_uscc_is_valid("91310115D09139097x", 18));
    assert_false(ldr_uscc_is_valid("91110108g301661394", 18));
}

static void test_uscc_excluded_letters(void **state) {
    (void)state;
    static const char excluded[] = "IOZSV";
    const char *s = valid_codes[3];
    for (size_t k = 0; k < sizeof excluded - 1; k++)
        for (size_t pos = 0; pos < 18; pos++) {
            char buf[18];
            memcpy(buf, s, 18);
            buf[pos] = excluded[k];
            assert_false(ldr_uscc_is_valid(buf, 18));
            if (pos < 17) {
                char c = '?';
                assert_int_equal(ldr_uscc_check_char(buf, &c),
                                 LDR_ERR_INVALID_USCC);
            }
        }
}

static void test_uscc_wrong_check_char(void **state) {
    (void)state;
    static const char alphabet[] = LDR_USCC_ALPHABET;
    for (size_t i = 0; i < N_VALID; i++) {
        char buf[18];
        memcpy(buf, valid_codes[i], 18);
        for (size_t a = 0; a < sizeof alphabet - 1; a++) {
            if (alphabet[a] == valid_codes[i][17]) continue;
            buf[17] = alphabet[a];
            assert_false(ldr_uscc_is_valid(buf, 18));
        }
    }
}

/* 31 is prime and no weight is 0 mod 31, so changing any one of the first 17
 * characters always changes the check character. */
static void test_uscc_single_substitution_detected(void **state) {
    (void)state;
    static const char alphabet[] = LDR_USCC_ALPHABET;
    for (size_t i = 0; i < N_VALID; i++)
        for (size_t pos = 0; pos < 17; pos++)
            for (size_t a = 0; a < sizeof alphabet - 1; a++) {
                if (alphabet[a] == valid_codes[i][pos]) continue;
                char buf[18];
                memcpy(buf, valid_codes[i], 18);
                buf[pos] = alphabet[a];
                assert_false(ldr_uscc_is_valid(buf, 18));
            }
}

static void test_uscc_non_ascii_bytes(void **state) {
    (void)state;
    /* Full-width digit nine (U+FF19, EF BC 99) in place of 3 characters:
     * 18 bytes, but not 18 characters of the alphabet. */
    const char fullwidth[] = "91\xEF\xBC\x99"
                             "108G301661394";
    assert_int_equal(sizeof fullwidth - 1, 18);
    assert_false(ldr_uscc_is_valid(fullwidth, 18));
    static const unsigned char high[] = {0x80, 0xA0, 0xC3, 0xE4, 0xFF};
    for (size_t k = 0; k < sizeof high; k++)
        for (size_t pos = 0; pos < 18; pos++) {
            char buf[18];
            memcpy(buf, valid_codes[0], 18);
            buf[pos] = (char)high[k];
            assert_false(ldr_uscc_is_valid(buf, 18));
        }
}

static void test_uscc_embedded_nul(void **state) {
    (void)state;
    for (size_t pos = 0; pos < 18; pos++) {
        char buf[18];
        memcpy(buf, valid_codes[2], 18);
        buf[pos] = '\0';
        assert_false(ldr_uscc_is_valid(buf, 18));
    }
}

static void test_uscc_region(void **state) {
    (void)state;
    ldr_str_t r = ldr_uscc_region("91110108G301661394");
    assert_int_equal(r.len, 6);
    assert_memory_equal(r.ptr, "110108", 6);
    assert_int_equal(ldr_uscc_region_code("91110108G301661394"), 110108);
    assert_int_equal(ldr_uscc_region_code("914403000308246259"), 440300);
    assert_int_equal(ldr_uscc_region_code("91000000000000000X"), 0);
    /* The alphabet allows letters there; the region is then not a number. */
    assert_int_equal(ldr_uscc_region_code("9111A108G301661394"), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uscc_valid_codes),
        cmocka_unit_test(test_uscc_table_covers_letter_and_zero_checks),
        cmocka_unit_test(test_uscc_complete_fills_check_char),
        cmocka_unit_test(test_uscc_complete_rejects_bad_prefix),
        cmocka_unit_test(test_uscc_check_char_rejects_bad_input),
        cmocka_unit_test(test_uscc_wrong_length),
        cmocka_unit_test(test_uscc_lower_case),
        cmocka_unit_test(test_uscc_excluded_letters),
        cmocka_unit_test(test_uscc_wrong_check_char),
        cmocka_unit_test(test_uscc_single_substitution_detected),
        cmocka_unit_test(test_uscc_non_ascii_bytes),
        cmocka_unit_test(test_uscc_embedded_nul),
        cmocka_unit_test(test_uscc_region),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
