/* decision.h -- the JSON form of a decision (CONTRACT.md "JSON form").
 *
 * DESIGN: the API, the notices stream and the webhooks all show decisions
 * the same way: the Avro field names, enums as symbol strings, timestamps
 * as RFC 3339 UTC with milliseconds, null for absent optionals, reasons as
 * an array. One function makes that form, so they cannot drift apart. */
#ifndef LADDER_DECISION_H
#define LADDER_DECISION_H

#include "ladder/buf.h"
#include "ladder/err.h"
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

/* ---- the notices stream's compact form ------------------------------------
 *
 * A revocation notice is kept in Redis in a binary form a third the size of
 * its JSON (the notices were a sixth of Redis's memory): a format byte,
 * LDR_DECISION_NOTICE_FORMAT, which no JSON text starts with; decision_id,
 * uscc, enterprise_name and reporting_unit as strings (a varint length, then
 * the bytes); the tier (255: none) and the decision type as one byte each;
 * the reasons' count (varint) and the reasons; effective_at (a zigzag
 * varint of epoch milliseconds); a byte of flags for the optional fields
 * (1 valid_from, 2 valid_until, 4 review_deadline, 8 ban_until, 16 case_id,
 * 32 batch, 64 score, 128 cause_event_id), then those present, in that
 * order (times and integers as zigzag varints, strings as strings); and last
 * policy_version and cause (strings) and decided_at (zigzag varint).
 * Readers take both forms: entries an earlier version wrote are JSON text. */
#define LDR_DECISION_NOTICE_FORMAT 1

/** Appends the compact form of @p d to @p out. */
void ldr_decision_write_notice(const ldr_decision_t *d, ldr_buf_t *out);

/** True when @p data (a notice entry's value) is in the compact form. */
bool ldr_decision_is_notice(const void *data, size_t len);

/** Decodes a compact notice into @p out, whose strings then point into
 *  @p data. LDR_ERR_DECODE_FAILED when it is cut short, has bytes left
 *  over, or holds a tier, a decision type, a count or an integer out of
 *  range. */
ldr_err_t ldr_decision_read_notice(const void *data, size_t len,
                                   ldr_decision_t *out);

#endif
