/* cloudevents.h -- a decision as a CloudEvents 1.0 structured JSON event
 * (CONTRACT.md "JSON form").
 *
 * DESIGN: the decision messages carry CloudEvents binary-mode headers
 * (ce_id, ce_type, ce_source, ce_time); webhooks and other JSON consumers
 * get the same attributes in the structured form, with the decision's JSON
 * form (ldr_decision_to_json) as `data`. One function builds it, so the
 * attributes cannot drift from the headers the worker writes. Members are
 * inserted in a fixed order (specversion, id, type, source, time,
 * datacontenttype, data) and jansson keeps insertion order, so the same
 * decision always serialises to the same bytes: a receiver that stores the
 * body and its signature sees identical duplicates. */
#ifndef LADDER_CLOUDEVENTS_H
#define LADDER_CLOUDEVENTS_H

#include "ladder/record.h"

#include <jansson.h>

/** Media type of a structured CloudEvent in JSON. */
#define LDR_CLOUDEVENTS_CONTENT_TYPE "application/cloudevents+json"

/** A new CloudEvent object for @p d: specversion "1.0", id = decision_id,
 *  type = "ladder.decision.<DecisionType>", source =
 *  "ladder/<reporting_unit>", time = effective_at (RFC 3339 UTC with
 *  milliseconds), datacontenttype "application/json", data = the decision's
 *  JSON form. The caller owns the reference. */
json_t *ldr_cloudevents_from_decision(const ldr_decision_t *d);

#endif
