/* registry.h -- a client of a Confluent-compatible Schema Registry.
 *
 * DESIGN: with schema.registry.url set, the schema ids on the wire are the
 * registry's (CONTRACT.md, "Encoding"). A producer registers the current
 * schema of each record under its RecordNameStrategy subject (the record's
 * full name) once at start and writes the ids the registry returns; a
 * reader resolves an id it has not seen with one GET /schemas/ids/{id} and
 * keeps the schema (ldr_schemas_t holds it from then on), so a registry
 * that goes down later costs nothing while the ids in use are known.
 *
 * Failures map onto ladder's error split: an id the registry does not know
 * (404, error code 40403) is LDR_ERR_UNKNOWN_SCHEMA (the message is a dead
 * letter), remembered for a minute so that a stream of such ids does not
 * become a stream of requests; a timeout, a refused connection or a 5xx is
 * LDR_ERR_TRANSIENT (the caller pauses and asks again later). A schema the
 * registry refuses to register (409 incompatible, 422 invalid) or
 * credentials it refuses (401, 403) are LDR_ERR_CONFIG: a start-up error
 * that quotes the registry's message.
 *
 * Requests use libcurl: basic auth (user:password), TLS with a CA file,
 * a timeout per request and, for registration at start, retries with a
 * doubling backoff. One easy handle, used under a mutex: a registry is
 * safe to share between threads. */
#ifndef LADDER_REGISTRY_H
#define LADDER_REGISTRY_H

#include "ladder/config.h"
#include "ladder/err.h"
#include "ladder/schema.h"

#include <stdint.h>

typedef struct ldr_registry ldr_registry_t;

typedef struct ldr_registry_opts {
    const char *url;         /* http(s)://host:port[/path], no trailing / */
    const char *user_info;   /* "user:password" for basic auth, or NULL */
    const char *ca_location; /* PEM file of the CA to trust, or NULL */
    int timeout_ms;          /* per request; 0: 5000 */
    int retries;             /* extra attempts when registering; < 0: 0 */
    int backoff_ms;          /* first delay between them, doubled; 0: 200 */
} ldr_registry_opts_t;

/** A client for @p o->url (checked: http or https, a host). Sends nothing
 *  yet. NULL with errstr set on a bad option. */
ldr_registry_t *ldr_registry_new(const ldr_registry_opts_t *o, char *errstr,
                                 size_t errstr_size);

/** The client the configuration asks for: NULL with *out set to NULL when
 *  schema.registry.url is not set (local ids), LDR_ERR_CONFIG with errstr
 *  set when a key is wrong. */
ldr_err_t ldr_registry_from_config(const ldr_config_t *cfg,
                                   ldr_registry_t **out, char *errstr,
                                   size_t errstr_size);

void ldr_registry_destroy(ldr_registry_t *r);

/** Registers @p schema (JSON text) under @p subject and sets *id to the id
 *  the registry gives it (the existing one when it has it already). */
ldr_err_t ldr_registry_register(ldr_registry_t *r, const char *subject,
                                const char *schema, int32_t *id, char *errstr,
                                size_t errstr_size);

/** The JSON text of schema @p id: *json_text is malloc'ed and the caller's,
 *  only on success. One attempt (the caller retries a transient error
 *  later). Has the signature of ldr_schema_fetch_fn, with the registry as
 *  @p opaque. */
ldr_err_t ldr_registry_fetch(void *opaque, int32_t id, char **json_text,
                             char *errstr, size_t errstr_size);

/** The registry's subjects (GET /subjects), for ladder-admin check: on
 *  success *subjects is a malloc'ed array of *count malloc'ed strings
 *  (NULL-terminated), the caller's to free, each string and then the
 *  array. One attempt: a registry that does not answer (or answers 5xx) is
 *  LDR_ERR_TRANSIENT, a refusal (401, 403, another 4xx) LDR_ERR_CONFIG,
 *  both with the registry's URL and message in errstr. */
ldr_err_t ldr_registry_subjects(ldr_registry_t *r, char ***subjects,
                                size_t *count, char *errstr,
                                size_t errstr_size);

/** Puts @p schemas on the registry's ids: its local ids stop resolving,
 *  unknown ids are fetched from @p r, and, when @p producer, the current
 *  schema of every record is registered under its full name and written
 *  with the registry's id from then on. */
ldr_err_t ldr_registry_attach(ldr_registry_t *r, ldr_schemas_t *schemas,
                              bool producer, char *errstr, size_t errstr_size);

/** Requests sent so far (tests and metrics: a cached id costs none). */
uint64_t ldr_registry_requests(const ldr_registry_t *r);

#endif
