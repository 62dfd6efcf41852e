/* utf8.c -- well-formed UTF-8 (utf8.h).
 *
 * DESIGN: Avro strings and the feed are UTF-8, and a string that is not
 * would be stored and published as it is, so the check follows the Unicode
 * standard's table of well-formed sequences exactly (no overlongs, no
 * surrogates, nothing above U+10FFFF). It returns the length of the valid
 * prefix rather than a yes or no, so a rejection can say at which offset the
 * text went wrong. */
#include "ladder/utf8.h"

size_t ldr_utf8_valid_prefix(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        /* Unicode table 3-7: the lead byte fixes the length and the range
         * of the second byte, which is where overlongs (E0, F0), surrogates
         * (ED) and values above U+10FFFF (F4) are excluded. C0, C1 and
         * F5..FF never occur. */
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c == 0xE0)
            need = 2, lo = 0xA0;
        else if (c >= 0xE1 && c <= 0xEC)
            need = 2;
        else if (c == 0xED)
            need = 2, hi = 0x9F;
        else if (c >= 0xEE && c <= 0xEF)
            need = 2;
        else if (c == 0xF0)
            need = 3, lo = 0x90;
        else if (c >= 0xF1 && c <= 0xF3)
            need = 3;
        else if (c == 0xF4)
            need = 3, hi = 0x8F;
        else
            return i;
        if (len - i <= need) return i; /* truncated at the end */
        if (p[i + 1] < lo || p[i + 1] > hi) return i;
        for (size_t k = 2; k <= need; k++)
            if ((p[i + k] & 0xC0) != 0x80) return i;
        i += need + 1;
    }
    return len;
}

bool ldr_utf8_valid(const char *s, size_t len) {
    return ldr_utf8_valid_prefix(s, len) == len;
}
