/* decision.h -- the JSON form of a decision (CONTRACT.md "JSON form").
 *
 * DESIGN: the API, the notices stream and the webhooks all show decisions
 * the same way: the Avro field names, enums as symbol strings, timestamps
 * as RFC 3339 UTC with milliseconds, null for absent optionals, reasons as
 * an array. One function makes that form, so they cannot drift apart. */
#ifndef LADDER_DECISION_H
#define LADDER_DECISION_H

#include "ladder/record.h"

#include <jansson.h>

/** A new JSON object for @p d; the caller owns the reference. */
json_t *ldr_decision_to_json(const ldr_decision_t *d);

#endif
