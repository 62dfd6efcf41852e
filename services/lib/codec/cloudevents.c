/* cloudevents.c -- a decision as a CloudEvents 1.0 envelope (cloudevents.h).
 *
 * DESIGN: the envelope's id is the decision id, so a consumer that
 * deduplicates on CloudEvents ids sees a replayed decision as the same
 * event, and its time is the decision's effective time, not the time it was
 * written. The data is the same JSON object as ldr_decision_to_json()
 * builds, so the envelope adds no second encoding of a decision. */
#include "ladder/cloudevents.h"
#include <jansson.h>

#include "ladder/decision.h"
#include "ladder/time.h"

#include <stdio.h>

static json_t *ce_str(ldr_str_t s) {
    return json_stringn(s.ptr ? s.ptr : "", s.len);
}

json_t *ldr_cloudevents_from_decision(const ldr_decision_t *d) {
    char type[64], when[LDR_TIME_FORMAT_SIZE], source[160];
    snprintf(type, sizeof(type), "ladder.decision.%s",
             ldr_decision_type_name(d->decision));
    ldr_time_format(d->effective_at, when, sizeof(when));
    /* A reporting unit is a short code (validated upstream); the cap only
     * keeps a malformed one from overflowing the buffer. */
    int unit_len =
        d->reporting_unit.len < 128 ? (int)d->reporting_unit.len : 128;
    snprintf(source, sizeof(source), "ladder/%.*s", unit_len,
             d->reporting_unit.ptr ? d->reporting_unit.ptr : "");
    json_t *ev = json_object();
    json_object_set_new(ev, "specversion", json_string("1.0"));
    json_object_set_new(ev, "id", ce_str(d->decision_id));
    json_object_set_new(ev, "type", json_string(type));
    json_object_set_new(ev, "source", json_string(source));
    json_object_set_new(ev, "time", json_string(when));
    json_object_set_new(ev, "datacontenttype", json_string("application/json"));
    json_object_set_new(ev, "data", ldr_decision_to_json(d));
    return ev;
}
