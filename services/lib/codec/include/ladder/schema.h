/* schema.h -- the schemas ladder reads and writes, by id and fingerprint.
 *
 * DESIGN: schemas/ in the repository is the single source of truth.
 * schemas/index.json maps every local schema id (the current ids 1-5 of
 * CONTRACT.md and the historical versions under schemas/history/) and every
 * fingerprint to its .avsc file, and names the current id of each record.
 * Loading parses each file with Avro-C (so only valid Avro is accepted),
 * computes its Parsing Canonical Form and CRC-64-AVRO fingerprint (Avro-C
 * has neither), and checks them against the index, so a stale index cannot
 * go unnoticed.
 *
 * Lookups go through ldr_schemas_by_id(); on a miss it asks an optional
 * fetcher, which is where a schema-registry client plugs in: the fetcher
 * returns the schema text for an id and the registry caches the parsed
 * result, so callers never learn where a schema came from.
 *
 * @locality: loading and ldr_schemas_add() must not run concurrently with
 * lookups on other threads; a loaded registry with no fetcher is read-only
 * and may be shared. */
#ifndef LADDER_SCHEMA_H
#define LADDER_SCHEMA_H

#include "ladder/err.h"
#include "ladder/record.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ldr_schemas ldr_schemas_t;
typedef struct ldr_schema ldr_schema_t;

/** CRC-64-AVRO of a byte string (the Avro specification's fingerprint). */
uint64_t ldr_crc64_avro(const void *data, size_t len);

/** Parsing Canonical Form of a schema given as JSON text.
 *  On success *out is a NUL-terminated string the caller frees. */
ldr_err_t ldr_schema_canonical_form(const char *json_text, size_t len,
                                    char **out, char *errstr,
                                    size_t errstr_size);

/** Checks a schema given as JSON text the way loading does: it is JSON,
 *  Avro-C accepts it, and it has a Parsing Canonical Form. On success
 *  *canonical and (when @p fullname is not NULL) *fullname, the full name
 *  of a named type or else the type's name, are NUL-terminated strings
 *  the caller frees; on error nothing is allocated and @p errstr says why,
 *  starting with "@p origin: " (LDR_ERR_SCHEMA). */
ldr_err_t ldr_schema_check(const char *json_text, size_t len,
                           const char *origin, char **canonical,
                           char **fullname, char *errstr, size_t errstr_size);

/** Loads @p dir/index.json and every schema it names.
 *  Returns NULL with errstr set (naming the file) on any problem. */
ldr_schemas_t *ldr_schemas_load(const char *dir, char *errstr,
                                size_t errstr_size);
void ldr_schemas_destroy(ldr_schemas_t *schemas);

/** Fetches the JSON text of schema @p id from elsewhere (a registry).
 *  On success *json_text is malloc'ed and owned by the caller. Return
 *  LDR_ERR_UNKNOWN_SCHEMA when the id does not exist and
 *  LDR_ERR_TRANSIENT when the source is unreachable. */
typedef ldr_err_t (*ldr_schema_fetch_fn)(void *opaque, int32_t id,
                                         char **json_text, char *errstr,
                                         size_t errstr_size);
void ldr_schemas_set_fetcher(ldr_schemas_t *schemas, ldr_schema_fetch_fn fn,
                             void *opaque);

/** Moves the set onto a registry's ids: the ids of the local files stop
 *  resolving (the registry's ids name other schemas), each record's
 *  current schema takes @p ids[kind] when that is above 0 (then written
 *  with it), and ids fetched later join as they are. LDR_ERR_SCHEMA when
 *  two records would share an id. */
ldr_err_t ldr_schemas_use_ids(ldr_schemas_t *schemas,
                              const int32_t ids[LDR_RECORD_DECISION + 1],
                              char *errstr, size_t errstr_size);

/** Adds schema text under @p id (origin names it in messages).
 *  *out (optional) is set only on success; the registry owns the schema. */
ldr_err_t ldr_schemas_add(ldr_schemas_t *schemas, int32_t id,
                          const char *json_text, size_t len, const char *origin,
                          const ldr_schema_t **out, char *errstr,
                          size_t errstr_size);

/** Looks up a schema by id, asking the fetcher on a miss.
 *  Returns LDR_OK, LDR_ERR_UNKNOWN_SCHEMA or LDR_ERR_TRANSIENT. */
ldr_err_t ldr_schemas_by_id(ldr_schemas_t *schemas, int32_t id,
                            const ldr_schema_t **out, char *errstr,
                            size_t errstr_size);
/** Looks up a schema by CRC-64-AVRO fingerprint (known schemas only). */
const ldr_schema_t *ldr_schemas_by_fingerprint(const ldr_schemas_t *schemas,
                                               uint64_t fingerprint);
/** The current (reader and writer) schema of a record kind. */
const ldr_schema_t *ldr_schemas_current(const ldr_schemas_t *schemas,
                                        ldr_record_kind_t kind);
size_t ldr_schemas_count(const ldr_schemas_t *schemas);
const ldr_schema_t *ldr_schemas_at(const ldr_schemas_t *schemas, size_t i);

int32_t ldr_schema_id(const ldr_schema_t *s);
const char *ldr_schema_fullname(const ldr_schema_t *s);
uint64_t ldr_schema_fingerprint(const ldr_schema_t *s);
const char *ldr_schema_canonical(const ldr_schema_t *s);
const char *ldr_schema_text(const ldr_schema_t *s);
/** Where the schema came from: its file under schemas/, or the origin
 *  given to ldr_schemas_add(). */
const char *ldr_schema_origin(const ldr_schema_t *s);
/** The record kind the schema is a version of, or 0 when it is not a
 *  ladder record. */
ldr_record_kind_t ldr_schema_kind(const ldr_schema_t *s);

#endif
