/* codec.h -- Avro bytes <-> ladder records (CONTRACT.md "Encoding").
 *
 * DESIGN: decoding is the hot path of every worker and must survive any
 * bytes a producer can send, so it is a single schema-driven walk over the
 * message that checks every bound before it reads (lengths non-negative
 * and within the bytes that remain, varints at most 10 bytes, union and
 * enum indexes in range, block counts bounded) and writes the values
 * straight into the plain C structs of record.h. Strings are not copied:
 * they point into the message buffer, so the decoded record is valid for
 * as long as the caller keeps that buffer. The walk allocates nothing,
 * which is why Avro-C's own reader is not used to decode: avro_value_read()
 * allocates two blocks for every string it reads, leaks a truncated
 * string's buffer and hands an unchecked length to malloc (PITFALLS.md).
 *
 * The walk follows the WRITER schema named by the message (Confluent id or
 * single-object fingerprint) and resolves it against the reader, field by
 * name: fields the reader lacks are skipped, fields the writer lacks take
 * the reader schema's default, int promotes to long and double, enum
 * symbols map by name. Avro-C cannot fill defaults when resolving, so this
 * is what lets an older producer keep talking to ladder. The plan for each
 * writer schema is compiled once and cached.
 *
 * Encoding goes through Avro-C generic values built once per schema and
 * reused with one memory writer, with an allocator (installed by
 * ldr_codec_new) that refuses absurd sizes. Encoding is not the hot path
 * and Avro-C's writer checks every value against the schema.
 *
 * @locality: one codec per thread. */
#ifndef LADDER_CODEC_H
#define LADDER_CODEC_H

#include "ladder/err.h"
#include "ladder/record.h"
#include "ladder/schema.h"

#include <stddef.h>
#include <stdint.h>

/** Messages larger than this are DECODE_FAILED (CONTRACT.md). */
#define LDR_CODEC_MAX_MESSAGE (1024 * 1024)

typedef struct ldr_codec ldr_codec_t;

typedef enum ldr_framing {
    LDR_FRAMING_CONFLUENT = 0,     /* 0x00, big-endian int32 id, body */
    LDR_FRAMING_SINGLE_OBJECT = 1, /* 0xC3 0x01, LE CRC-64-AVRO, body */
} ldr_framing_t;

/** Creates a codec over a loaded registry (which must outlive it). Checks
 *  that the current schema of every record matches ladder's C records
 *  field by field, so an edited .avsc cannot silently drift. NULL on
 *  error with errstr set. */
ldr_codec_t *ldr_codec_new(ldr_schemas_t *schemas, char *errstr,
                           size_t errstr_size);
void ldr_codec_destroy(ldr_codec_t *codec);

/** Decodes one message. On success *out holds the record, whose strings
 *  point into @p data; *writer (optional) is the schema it was written
 *  with. On error *out is unspecified and the return value is one of
 *  LDR_ERR_BAD_FRAMING, LDR_ERR_UNKNOWN_SCHEMA, LDR_ERR_DECODE_FAILED or,
 *  when a schema source is unreachable, LDR_ERR_TRANSIENT. */
ldr_err_t ldr_codec_decode(ldr_codec_t *codec, const void *data, size_t len,
                           ldr_record_t *out, const ldr_schema_t **writer,
                           char *errstr, size_t errstr_size);

/** Encodes @p rec with the current schema of its kind in Confluent framing.
 *  On success *out / *out_len describe bytes owned by the codec, valid
 *  until the next encode on it. Fails with LDR_ERR_ENCODE, e.g. for an
 *  enum value out of range or more than LDR_DECISION_REASONS_MAX reasons. */
ldr_err_t ldr_codec_encode(ldr_codec_t *codec, const ldr_record_t *rec,
                           const void **out, size_t *out_len, char *errstr,
                           size_t errstr_size);

/** Encodes @p rec with a given writer schema of the same record (e.g. an
 *  older version, whose missing fields are left out) and framing. */
ldr_err_t ldr_codec_encode_with(ldr_codec_t *codec, const ldr_schema_t *writer,
                                ldr_framing_t framing, const ldr_record_t *rec,
                                const void **out, size_t *out_len, char *errstr,
                                size_t errstr_size);

/** Counters of the Avro-C allocator guard (process-wide). */
typedef struct ldr_codec_alloc_stats {
    uint64_t allocations; /* calls that returned memory */
    uint64_t refused;     /* requests over the cap */
} ldr_codec_alloc_stats_t;
void ldr_codec_alloc_stats(ldr_codec_alloc_stats_t *out);

#endif
