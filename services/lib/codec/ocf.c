/* ocf.c -- an Avro object container file writer (ocf.h).
 *
 * DESIGN: the writer holds one block in memory and writes it with a single
 * fwrite of its prefix (count and size) and one of its body, so a file is
 * written as a sequence of whole blocks; errors are checked on every write
 * and again by ldr_ocf_finish()'s fflush, and once one happened the writer
 * refuses to go on, so a caller can never complete a file with a hole in
 * it. Avro-C is not used at all: it has no way to write a header from
 * schema text (ocf.h), and the objects arrive already encoded. */
#include "ladder/ocf.h"

#include "ladder/alloc.h"
#include "ladder/buf.h"
#include "ladder/clock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const uint8_t ocf_magic[4] = {'O', 'b', 'j', 1};

struct ldr_ocf {
    FILE *f;
    uint8_t sync[LDR_OCF_SYNC_SIZE];
    size_t block_bytes;
    ldr_buf_t block;   /* the objects of the current block */
    uint64_t in_block; /* objects in it */
    uint64_t count;    /* objects appended in all */
    bool failed;
};

size_t ldr_ocf_put_long(uint8_t *out, int64_t v) {
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;
    while (z >= 0x80) {
        out[n++] = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    out[n++] = (uint8_t)z;
    return n;
}

static void ocf_put_long(ldr_buf_t *b, int64_t v) {
    uint8_t tmp[10];
    ldr_buf_append(b, tmp, ldr_ocf_put_long(tmp, v));
}

static void ocf_put_bytes(ldr_buf_t *b, const void *p, size_t len) {
    ocf_put_long(b, (int64_t)len);
    ldr_buf_append(b, p, len);
}

static ldr_err_t ocf_write(ldr_ocf_t *w, const void *p, size_t len,
                           char *errstr, size_t n) {
    if (len && fwrite(p, 1, len, w->f) != len) {
        w->failed = true;
        return ldr_err_set(errstr, n, LDR_ERR_IO, "write: %s",
                           strerror(errno ? errno : EIO));
    }
    return LDR_OK;
}

/* A random sync marker: the spec asks for one that is unlikely to appear
 * in the data. getrandom() does not fail for 16 bytes once the kernel's
 * pool is ready; if it ever does, the clocks still make the marker differ
 * from file to file. */
static void ocf_random_sync(uint8_t *sync) {
    if (getrandom(sync, LDR_OCF_SYNC_SIZE, 0) == LDR_OCF_SYNC_SIZE) return;
    uint64_t a = (uint64_t)ldr_clock_wall_ms(),
             b = (uint64_t)ldr_clock_mono_ms();
    for (int i = 0; i < LDR_OCF_SYNC_SIZE; i++) {
        a = a * 6364136223846793005u + 1442695040888963407u + b;
        sync[i] = (uint8_t)(a >> 56);
    }
}

ldr_ocf_t *ldr_ocf_new(FILE *f, const char *schema_json, size_t len,
                       const uint8_t *sync, size_t block_bytes, char *errstr,
                       size_t n) {
    ldr_ocf_t *w = ldr_calloc(1, sizeof(*w));
    w->f = f;
    w->block_bytes = block_bytes ? block_bytes : LDR_OCF_BLOCK_BYTES;
    if (sync)
        memcpy(w->sync, sync, LDR_OCF_SYNC_SIZE);
    else
        ocf_random_sync(w->sync);
    ldr_buf_init(&w->block);

    ldr_buf_t h;
    ldr_buf_init(&h);
    ldr_buf_append(&h, ocf_magic, sizeof(ocf_magic));
    ocf_put_long(&h, 2); /* one map block of two entries, then the end */
    ocf_put_bytes(&h, "avro.schema", strlen("avro.schema"));
    ocf_put_bytes(&h, schema_json, len);
    ocf_put_bytes(&h, "avro.codec", strlen("avro.codec"));
    ocf_put_bytes(&h, "null", strlen("null"));
    ocf_put_long(&h, 0);
    ldr_buf_append(&h, w->sync, LDR_OCF_SYNC_SIZE);
    ldr_err_t err = ocf_write(w, h.data, h.len, errstr, n);
    ldr_buf_fini(&h);
    if (err) {
        ldr_ocf_destroy(w);
        return NULL;
    }
    return w;
}

static ldr_err_t ocf_flush_block(ldr_ocf_t *w, char *errstr, size_t n) {
    if (!w->in_block) return LDR_OK;
    uint8_t prefix[20];
    size_t plen = ldr_ocf_put_long(prefix, (int64_t)w->in_block);
    plen += ldr_ocf_put_long(prefix + plen, (int64_t)w->block.len);
    ldr_err_t err = ocf_write(w, prefix, plen, errstr, n);
    if (!err) err = ocf_write(w, w->block.data, w->block.len, errstr, n);
    if (!err) err = ocf_write(w, w->sync, LDR_OCF_SYNC_SIZE, errstr, n);
    ldr_buf_reset(&w->block);
    w->in_block = 0;
    return err;
}

ldr_err_t ldr_ocf_append(ldr_ocf_t *w, const void *datum, size_t len,
                         char *errstr, size_t n) {
    if (w->failed)
        return ldr_err_set(errstr, n, LDR_ERR_IO, "an earlier write failed");
    ldr_buf_append(&w->block, datum, len);
    w->in_block++;
    w->count++;
    if (w->block.len >= w->block_bytes) return ocf_flush_block(w, errstr, n);
    return LDR_OK;
}

ldr_err_t ldr_ocf_finish(ldr_ocf_t *w, char *errstr, size_t n) {
    if (w->failed)
        return ldr_err_set(errstr, n, LDR_ERR_IO, "an earlier write failed");
    ldr_err_t err = ocf_flush_block(w, errstr, n);
    if (err) return err;
    if (fflush(w->f)) {
        w->failed = true;
        return ldr_err_set(errstr, n, LDR_ERR_IO, "write: %s", strerror(errno));
    }
    return LDR_OK;
}

uint64_t ldr_ocf_count(const ldr_ocf_t *w) {
    return w->count;
}

void ldr_ocf_destroy(ldr_ocf_t *w) {
    if (!w) return;
    ldr_buf_fini(&w->block);
    free(w);
}
