/* outbox.c -- the outbox entry format (outbox.h).
 *
 * DESIGN: an outbox entry is written in the same Redis script as the state
 * it belongs to, so the messages to publish cannot be lost between the two;
 * the format is a compact run of length-prefixed fields (varints, the
 * partition stored plus one so that "none" is 0) that the publisher reads
 * back without allocating. The reader checks every length against the
 * payload's end, so a damaged entry is refused instead of read past. */
#include "ladder/outbox.h"

#include <string.h>

static void outbox_bytes(ldr_buf_t *b, const void *p, size_t n) {
    ldr_buf_append_varint(b, n);
    ldr_buf_append(b, p, n);
}

void ldr_outbox_append(ldr_buf_t *b, const ldr_outbox_msg_t *m) {
    ldr_buf_append_byte(b, (uint8_t)m->topic);
    /* partition + 1, so that -1 (none) is 0 */
    ldr_buf_append_varint(b, (uint64_t)((int64_t)m->partition + 1));
    ldr_buf_append_byte(b, m->key ? 1 : 0);
    if (m->key) outbox_bytes(b, m->key, m->key_len);
    outbox_bytes(b, m->value, m->value_len);
    ldr_buf_append_varint(b, m->headers_count);
    for (size_t i = 0; i < m->headers_count; i++) {
        outbox_bytes(b, m->headers[i].name, m->headers[i].name_len);
        outbox_bytes(b, m->headers[i].value, m->headers[i].len);
    }
}

void ldr_outbox_reader_init(ldr_outbox_reader_t *r, const void *payload,
                            size_t len) {
    r->p = payload;
    r->end = r->p + len;
}

static int outbox_get_varint(ldr_outbox_reader_t *r, uint64_t *v) {
    return ldr_buf_read_varint(&r->p, r->end, v);
}

static int outbox_get_bytes(ldr_outbox_reader_t *r, const void **p, size_t *n) {
    uint64_t len;
    if (outbox_get_varint(r, &len) || len > (uint64_t)(r->end - r->p))
        return -1;
    *p = r->p;
    *n = (size_t)len;
    r->p += len;
    return 0;
}

ldr_err_t ldr_outbox_next(ldr_outbox_reader_t *r, ldr_outbox_msg_t *m) {
    if (r->p == r->end) return LDR_ERR_INVALID_ARG;
    memset(m, 0, sizeof(*m));
    uint8_t topic = *r->p++;
    uint64_t part, nh;
    if (topic > LDR_OUTBOX_DLQ || outbox_get_varint(r, &part) ||
        part > (uint64_t)INT32_MAX + 1 || r->p >= r->end)
        return LDR_ERR_DECODE_FAILED;
    m->topic = (ldr_outbox_topic_t)topic;
    m->partition = (int32_t)((int64_t)part - 1);
    uint8_t has_key = *r->p++;
    if (has_key > 1 || (has_key && outbox_get_bytes(r, &m->key, &m->key_len)) ||
        outbox_get_bytes(r, &m->value, &m->value_len) ||
        outbox_get_varint(r, &nh) || nh > LDR_OUTBOX_HEADERS_MAX)
        return LDR_ERR_DECODE_FAILED;
    m->headers_count = (size_t)nh;
    for (size_t i = 0; i < m->headers_count; i++) {
        const void *name;
        if (outbox_get_bytes(r, &name, &m->headers[i].name_len) ||
            outbox_get_bytes(r, &m->headers[i].value, &m->headers[i].len))
            return LDR_ERR_DECODE_FAILED;
        m->headers[i].name = name;
    }
    return LDR_OK;
}
