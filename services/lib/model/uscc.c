/* uscc.c -- GB 32100-2015 check characters of unified social credit codes.
 *
 * DESIGN: the character values are one 256-entry table indexed by the byte,
 * so every byte of untrusted input (NUL, UTF-8 lead bytes, lower case) maps to
 * "not in the alphabet" without a branch per case and without depending on
 * the locale or on the signedness of char. The table stores value + 1 so that
 * the zero of the unlisted entries means "invalid". */
#include "ladder/uscc.h"

/* Value + 1 of each character of LDR_USCC_ALPHABET; 0 = not in it. */
static const unsigned char ldr_uscc_value1[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
    ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12,
    ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16, ['G'] = 17, ['H'] = 18,
    ['J'] = 19, ['K'] = 20, ['L'] = 21, ['M'] = 22, ['N'] = 23, ['P'] = 24,
    ['Q'] = 25, ['R'] = 26, ['T'] = 27, ['U'] = 28, ['W'] = 29, ['X'] = 30,
    ['Y'] = 31,
};

static const unsigned ldr_uscc_weights[LDR_USCC_LEN - 1] = {
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};

/* The check character of s[0..16], or 0 when one of them is invalid. */
static char uscc_compute(const char *s) {
    unsigned sum = 0;
    for (size_t i = 0; i < LDR_USCC_LEN - 1; i++) {
        unsigned v1 = ldr_uscc_value1[(unsigned char)s[i]];
        if (v1 == 0) return 0;
        sum += (v1 - 1) * ldr_uscc_weights[i];
    }
    return LDR_USCC_ALPHABET[(31 - sum % 31) % 31];
}

ldr_err_t ldr_uscc_check_char(const char *s17, char *out) {
    if (!s17 || !out) return LDR_ERR_INVALID_ARG;
    char c = uscc_compute(s17);
    if (c == 0) return LDR_ERR_INVALID_USCC;
    *out = c;
    return LDR_OK;
}

bool ldr_uscc_is_valid(const char *s, size_t len) {
    if (len != LDR_USCC_LEN || !s) return false;
    char c = uscc_compute(s);
    return c != 0 && s[LDR_USCC_LEN - 1] == c;
}

ldr_err_t ldr_uscc_complete(char s[static 19]) {
    char c = uscc_compute(s);
    if (c == 0) return LDR_ERR_INVALID_USCC;
    s[LDR_USCC_LEN - 1] = c;
    s[LDR_USCC_LEN] = '\0';
    return LDR_OK;
}

ldr_str_t ldr_uscc_region(const char *uscc) {
    ldr_str_t v = {uscc + 2, 6};
    return v;
}

int32_t ldr_uscc_region_code(const char *uscc) {
    int32_t code = 0;
    for (size_t i = 2; i < 8; i++) {
        unsigned char c = (unsigned char)uscc[i];
        if (c < '0' || c > '9') return -1;
        code = code * 10 + (int32_t)(c - '0');
    }
    return code;
}
