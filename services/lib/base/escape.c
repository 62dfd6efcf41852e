/* escape.c -- untrusted bytes quoted safely in a message (escape.h).
 *
 * DESIGN: bytes that come from a message or a file end up in logs and error
 * strings, so anything that is not printable ASCII, and the quote and
 * backslash themselves, is shown as \xHH; a hostile value can then neither
 * forge a log line nor break the quoting around it. The output is cut at a
 * caller-given length and written into a caller-sized buffer, so quoting
 * never allocates. */
#include "ladder/escape.h"

const char *ldr_escape_show(const char *s, size_t len, size_t max, char *buf) {
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, n = len < max ? len : max;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            buf[o++] = (char)c;
        } else {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        }
    }
    if (n < len) buf[o++] = '.', buf[o++] = '.', buf[o++] = '.';
    buf[o] = '\0';
    return buf;
}
