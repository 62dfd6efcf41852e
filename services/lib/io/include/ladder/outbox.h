/* outbox.h -- the messages of one batch, as stored in the outbox.
 *
 * DESIGN: the store writes a batch's decisions and dead letters in the same
 * atomic step as the state (DESIGN.md, guarantee 2), as one opaque payload;
 * the worker produces them after the step and trims the entry once every
 * message is acknowledged. After a crash the payload is produced again,
 * byte for byte: same keys, values and headers, so consumers can drop the
 * duplicates by id. The payload is a sequence of messages: topic (decisions
 * or dead letters), key, value and headers, each length-prefixed; reading
 * it checks every length against the bytes that remain. */
#ifndef LADDER_OUTBOX_H
#define LADDER_OUTBOX_H

#include "ladder/buf.h"
#include "ladder/err.h"

#include <stddef.h>
#include <stdint.h>

typedef enum ldr_outbox_topic {
    LDR_OUTBOX_DECISIONS = 0,
    LDR_OUTBOX_DLQ = 1,
} ldr_outbox_topic_t;

#define LDR_OUTBOX_HEADERS_MAX 8

typedef struct ldr_outbox_header {
    const char *name; /* not NUL-terminated when read back */
    size_t name_len;
    const void *value;
    size_t len;
} ldr_outbox_header_t;

typedef struct ldr_outbox_msg {
    ldr_outbox_topic_t topic;
    int32_t partition; /* DLQ: the source partition; decisions: -1 (key) */
    const void *key;   /* NULL: no key */
    size_t key_len;
    const void *value;
    size_t value_len;
    size_t headers_count;
    ldr_outbox_header_t headers[LDR_OUTBOX_HEADERS_MAX];
} ldr_outbox_msg_t;

/** Appends one message to a payload. */
void ldr_outbox_append(ldr_buf_t *payload, const ldr_outbox_msg_t *m);

typedef struct ldr_outbox_reader {
    const uint8_t *p;
    const uint8_t *end;
} ldr_outbox_reader_t;

void ldr_outbox_reader_init(ldr_outbox_reader_t *r, const void *payload,
                            size_t len);
/** The next message (pointers into the payload): LDR_OK, or
 *  LDR_ERR_INVALID_ARG at the end, or LDR_ERR_DECODE_FAILED. */
ldr_err_t ldr_outbox_next(ldr_outbox_reader_t *r, ldr_outbox_msg_t *m);

#endif
