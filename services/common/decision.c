/* decision.c -- see decision.h. */
#include "ladder/decision.h"

#include "ladder/time.h"

static json_t *ldr_j_str(ldr_str_t s) {
    return json_stringn(s.ptr ? s.ptr : "", s.len);
}

static json_t *ldr_j_time(int64_t ms) {
    char buf[LDR_TIME_FORMAT_SIZE];
    ldr_time_format(ms, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *ldr_j_opt_time(bool has, int64_t ms) {
    return has ? ldr_j_time(ms) : json_null();
}

json_t *ldr_decision_to_json(const ldr_decision_t *d) {
    json_t *o = json_object();
    json_t *reasons = json_array();
    for (size_t i = 0; i < d->reasons_count; i++)
        json_array_append_new(reasons, ldr_j_str(d->reasons[i]));
    json_object_set_new(o, "decision_id", ldr_j_str(d->decision_id));
    json_object_set_new(o, "uscc", ldr_j_str(d->uscc));
    json_object_set_new(o, "enterprise_name", ldr_j_str(d->enterprise_name));
    json_object_set_new(o, "reporting_unit", ldr_j_str(d->reporting_unit));
    json_object_set_new(o, "tier",
                        d->has_tier ? json_string(ldr_tier_name(d->tier))
                                    : json_null());
    json_object_set_new(o, "decision",
                        json_string(ldr_decision_type_name(d->decision)));
    json_object_set_new(o, "reasons", reasons);
    json_object_set_new(o, "effective_at", ldr_j_time(d->effective_at));
    json_object_set_new(o, "valid_from",
                        ldr_j_opt_time(d->has_valid_from, d->valid_from));
    json_object_set_new(o, "valid_until",
                        ldr_j_opt_time(d->has_valid_until, d->valid_until));
    json_object_set_new(
        o, "review_deadline",
        ldr_j_opt_time(d->has_review_deadline, d->review_deadline));
    json_object_set_new(o, "ban_until",
                        ldr_j_opt_time(d->has_ban_until, d->ban_until));
    json_object_set_new(o, "case_id",
                        d->has_case_id ? ldr_j_str(d->case_id) : json_null());
    json_object_set_new(o, "batch",
                        d->has_batch ? json_integer(d->batch) : json_null());
    json_object_set_new(o, "score",
                        d->has_score ? json_integer(d->score) : json_null());
    json_object_set_new(o, "policy_version", ldr_j_str(d->policy_version));
    json_object_set_new(o, "cause_event_id",
                        d->has_cause_event_id ? ldr_j_str(d->cause_event_id)
                                              : json_null());
    json_object_set_new(o, "cause", ldr_j_str(d->cause));
    json_object_set_new(o, "decided_at", ldr_j_time(d->decided_at));
    return o;
}
