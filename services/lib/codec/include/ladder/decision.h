/* decision.h -- the JSON form of a decision (CONTRACT.md "JSON form").
 *
 * DESIGN: the API, the notices stream and the webhooks all show decisions
 * the same way: the Avro field names, enums as symbol strings, timestamps
 * as RFC 3339 UTC with milliseconds, null for absent optionals, reasons as
 * an array. One function makes that form, so they cannot drift apart. */
#ifndef LADDER_DECISION_H
#define LADDER_DECISION_H

#include "ladder/buf.h"
#include "ladder/record.h"

/* jansson's object type, declared rather than included: only the callers
 * that build on the object (and include <jansson.h> themselves) see it. */
struct json_t;

/** A new JSON object for @p d; the caller owns the reference. */
struct json_t *ldr_decision_to_json(const ldr_decision_t *d);

/** Appends the same form to @p out as compact JSON text, byte for byte what
 *  json_dumps(ldr_decision_to_json(d), JSON_COMPACT) gives for strings of
 *  valid UTF-8 (the validator lets no other into a decision), without
 *  building an object: the worker's path for the notices stream. */
void ldr_decision_write_json(const ldr_decision_t *d, ldr_buf_t *out);

#endif
