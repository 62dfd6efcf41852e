/* buf.h -- a growable byte buffer, caller-allocated.
 *
 * DESIGN: encoders and formatters append into an ldr_buf_t that the caller
 * keeps and reuses (ldr_buf_reset keeps the allocation), so steady-state
 * encoding does not allocate. The data is always NUL-terminated one byte
 * past len, for the convenience of string users; the NUL is not counted. */
#ifndef LADDER_BUF_H
#define LADDER_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct ldr_buf {
    char *data;
    size_t len;
    size_t cap;
} ldr_buf_t;

void ldr_buf_init(ldr_buf_t *b);
/** Releases the allocation; the buffer may be initialised again. */
void ldr_buf_fini(ldr_buf_t *b);
/** Empties the buffer and keeps its allocation. */
void ldr_buf_reset(ldr_buf_t *b);
/** Makes room for @p extra more bytes. */
void ldr_buf_reserve(ldr_buf_t *b, size_t extra);
void ldr_buf_append_str(ldr_buf_t *b, const char *s);
void ldr_buf_printf(ldr_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The appends and the varint reads are inline: the encoders and decoders
 * of every message and state call them a few times each per field, and
 * as calls into another library they were a sixth of the worker's
 * instructions. Only growing the buffer is out of line. */

static inline void ldr_buf_append(ldr_buf_t *b, const void *data, size_t len) {
    if (b->len + len + 1 > b->cap) ldr_buf_reserve(b, len);
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

static inline void ldr_buf_append_byte(ldr_buf_t *b, uint8_t c) {
    if (b->len + 2 > b->cap) ldr_buf_reserve(b, 1);
    b->data[b->len++] = (char)c;
    b->data[b->len] = '\0';
}

/** Appends @p v as an unsigned LEB128 varint (1-10 bytes). */
static inline void ldr_buf_append_varint(ldr_buf_t *b, uint64_t v) {
    if (b->len + 11 > b->cap) ldr_buf_reserve(b, 10);
    uint8_t *p = (uint8_t *)b->data + b->len;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    b->len = (size_t)((char *)p - b->data);
    b->data[b->len] = '\0';
}

/** Appends @p v zigzag-encoded as a varint (Avro's long): small magnitudes
 *  of either sign take few bytes. */
static inline void ldr_buf_append_svarint(ldr_buf_t *b, int64_t v) {
    ldr_buf_append_varint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/** Reads an unsigned LEB128 varint at *p, before @p end, and advances *p.
 *  Returns 0, or -1 when it is truncated or longer than 10 bytes. */
static inline int ldr_buf_read_varint(const uint8_t **p, const uint8_t *end,
                                      uint64_t *v) {
    uint64_t x = 0;
    const uint8_t *q = *p;
    for (int shift = 0; shift < 64; shift += 7) {
        if (q >= end) return -1;
        uint8_t c = *q++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            *p = q;
            return 0;
        }
    }
    return -1;
}

/** Reads what ldr_buf_append_svarint wrote, as ldr_buf_read_varint. */
static inline int ldr_buf_read_svarint(const uint8_t **p, const uint8_t *end,
                                       int64_t *v) {
    uint64_t u;
    if (ldr_buf_read_varint(p, end, &u)) return -1;
    *v = (int64_t)((u >> 1) ^ (0 - (u & 1)));
    return 0;
}

/** Hands the data over to the caller (free() it); the buffer is left
 *  empty and initialised. Returns "" in fresh storage when empty. */
char *ldr_buf_steal(ldr_buf_t *b);

/** Appends the whole file at @p path to @p b, refusing one larger than
 *  @p max bytes. Returns 0, or -1 with one line "<path>: <problem>" in
 *  @p errstr (@p b may then hold part of the file). */
int ldr_buf_read_file(ldr_buf_t *b, const char *path, size_t max, char *errstr,
                      size_t errstr_size);

#endif
