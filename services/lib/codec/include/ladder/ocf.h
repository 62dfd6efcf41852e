/* ocf.h -- an Avro object container file writer that keeps the schema text.
 *
 * DESIGN: an object container file (the Avro specification, "Object
 * Container Files") is what Spark, DuckDB and every Avro library read
 * without further configuration. Avro-C's own file writer
 * (avro_file_writer_create) takes a parsed avro_schema_t and writes
 * avro_schema_to_json() of it into the header, and that drops
 * "logicalType" and "default" (PITFALLS.md): a reader of such a file sees
 * the timestamps as plain longs. None of its entry points accepts schema
 * text, so this writer produces the container itself and puts the
 * caller's text into avro.schema byte for byte. The format is small: the
 * magic 'O' 'b' 'j' 0x01, the metadata as an Avro map of bytes (avro.schema,
 * avro.codec = "null"), a 16-byte sync marker, then blocks of (object
 * count, byte size, the objects, the sync marker). The objects are
 * encoded by the caller (ladder's codec, without its wire framing), so the
 * writer never interprets them; it buffers one block at a time and writes
 * it when it reaches the block size, so memory stays bounded however many
 * objects a file holds. A file with no objects is the header alone, which
 * is a valid, empty container. */
#ifndef LADDER_OCF_H
#define LADDER_OCF_H

#include "ladder/err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** The size of the sync marker. */
#define LDR_OCF_SYNC_SIZE 16
/** The default block size: a block is written once it holds this many
 *  bytes of objects. */
#define LDR_OCF_BLOCK_BYTES (64 * 1024)

typedef struct ldr_ocf ldr_ocf_t;

/** Starts a container on @p f (which the caller keeps, and closes after
 *  ldr_ocf_finish()) and writes its header: @p schema_json (@p len bytes,
 *  not checked here) as avro.schema, avro.codec "null", and the sync
 *  marker @p sync (LDR_OCF_SYNC_SIZE bytes), or a random one when @p sync
 *  is NULL. @p block_bytes of 0 means LDR_OCF_BLOCK_BYTES. Returns the
 *  writer, which the caller frees with ldr_ocf_destroy(); NULL with
 *  @p errstr set (LDR_ERR_IO) when the header cannot be written. */
ldr_ocf_t *ldr_ocf_new(FILE *f, const char *schema_json, size_t len,
                       const uint8_t *sync, size_t block_bytes, char *errstr,
                       size_t errstr_size);

/** Appends one object, @p len bytes of Avro binary of the header's schema,
 *  copied into the current block; writes the block when it is full.
 *  LDR_ERR_IO with @p errstr set when a write fails (the file is then
 *  unusable). */
ldr_err_t ldr_ocf_append(ldr_ocf_t *w, const void *datum, size_t len,
                         char *errstr, size_t errstr_size);

/** Writes the last block (if it holds anything) and flushes @p f. The
 *  file is complete only after this returned LDR_OK. */
ldr_err_t ldr_ocf_finish(ldr_ocf_t *w, char *errstr, size_t errstr_size);

/** The objects appended so far. */
uint64_t ldr_ocf_count(const ldr_ocf_t *w);

/** Frees the writer (NULL is fine); @p f stays open. */
void ldr_ocf_destroy(ldr_ocf_t *w);

/** Appends the Avro binary of @p v (zig-zag varint) to @p out, which must
 *  hold 10 bytes; returns the bytes written. */
size_t ldr_ocf_put_long(uint8_t *out, int64_t v);

#endif
