/* buf.c -- the growable byte buffer (buf.h).
 *
 * DESIGN: the buffer doubles its capacity and always keeps a NUL after the
 * data, so text built in it can be handed to C string functions without a
 * copy, and a buffer that is reset between batches reuses its memory instead
 * of allocating again. Allocation goes through ldr_realloc(), so no append
 * can fail; only reading a file reports an error. */
#include "ladder/buf.h"

#include "ladder/alloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ldr_buf_init(ldr_buf_t *b) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void ldr_buf_fini(ldr_buf_t *b) {
    free(b->data);
    ldr_buf_init(b);
}

void ldr_buf_reset(ldr_buf_t *b) {
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void ldr_buf_reserve(ldr_buf_t *b, size_t extra) {
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = ldr_realloc(b->data, cap);
    b->cap = cap;
}

void ldr_buf_append_str(ldr_buf_t *b, const char *s) {
    ldr_buf_append(b, s, strlen(s));
}

void ldr_buf_printf(ldr_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    ldr_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *ldr_buf_steal(ldr_buf_t *b) {
    char *p = b->data ? b->data : ldr_strdup("");
    ldr_buf_init(b);
    return p;
}

int ldr_buf_read_file(ldr_buf_t *b, const char *path, size_t max, char *errstr,
                      size_t errstr_size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t start = b->len, got;
    int rc = 0;
    do {
        ldr_buf_reserve(b, 65536);
        got = fread(b->data + b->len, 1, 65536, f);
        b->len += got;
        b->data[b->len] = '\0';
        if (b->len - start > max) {
            snprintf(errstr, errstr_size, "%s: larger than %zu bytes", path,
                     max);
            rc = -1;
            break;
        }
    } while (got > 0);
    if (!rc && ferror(f)) {
        snprintf(errstr, errstr_size, "%s: read error: %s", path,
                 strerror(errno));
        rc = -1;
    }
    fclose(f);
    return rc;
}
