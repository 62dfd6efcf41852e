/* enterprise.c -- GET /v1/enterprises/{uscc}: one enterprise's designations
 * and recent decisions.
 *
 * DESIGN: an enterprise lives in the partition murmur2_random gives its
 * USCC among the partition count the workers record, exactly as the
 * producers choose it, so one HGET of the partition's enterprises hash
 * (store.h) finds it. Its state is decoded with the worker's own decoder
 * (enterprise.h), and its recent decisions come from the compact history
 * the state carries, so the API never needs a second read. */
#include "api_int.h"

#include "ladder/decision.h"
#include "ladder/enterprise.h"
#include "ladder/kafka.h"
#include "ladder/log.h"
#include "ladder/redis.h"
#include "ladder/store.h"
#include "ladder/uscc.h"
#include "ladder/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends one history entry in the contract's JSON form to @p out. The
 * history keeps neither the name and unit at the time (the enterprise's
 * current ones are shown) nor decided_at (null). */
static void api_history_write(api_t *a, const ldr_enterprise_t *e,
                              int partition, const ldr_history_entry_t *h,
                              ldr_buf_t *out) {
    char id[64], cause[256];
    snprintf(id, sizeof(id), "%d-%lld-%d", partition, (long long)h->offset,
             h->n);
    snprintf(cause, sizeof(cause), "%s/%d/%lld", a->input_topic, partition,
             (long long)h->offset);
    ldr_decision_t d;
    memset(&d, 0, sizeof(d));
    d.decision_id = ldr_str(id);
    d.uscc = ldr_str(e->uscc);
    d.enterprise_name = ldr_str(e->name);
    d.reporting_unit = ldr_str(e->unit);
    d.has_tier = h->has_tier;
    d.tier = h->tier;
    d.decision = h->decision;
    d.reasons_count = h->reasons_count;
    for (size_t i = 0; i < h->reasons_count; i++)
        d.reasons[i] = h->reasons[i];
    d.effective_at = h->effective_at;
    d.has_valid_from = h->has_valid_from;
    d.valid_from = h->valid_from;
    d.has_valid_until = h->has_valid_until;
    d.valid_until = h->valid_until;
    d.has_review_deadline = h->has_review_deadline;
    d.review_deadline = h->review_deadline;
    d.has_ban_until = h->has_ban_until;
    d.ban_until = h->ban_until;
    d.has_case_id = h->case_id.len > 0;
    d.case_id = h->case_id;
    d.has_batch = h->has_batch;
    d.batch = h->batch;
    d.has_score = h->has_score;
    d.score = h->score;
    d.policy_version = h->policy_version;
    d.has_cause_event_id = h->cause_event_id.len > 0;
    d.cause_event_id = h->cause_event_id;
    d.cause = ldr_str(cause);
    /* Written as text, not built as a jansson object and dumped: the
     * history is most of the answer, and the object path cost half of the
     * API's CPU. decided_at is the writer's last key; an unescaped quote
     * cannot occur inside a string, so its last occurrence is the key. */
    size_t from = out->len;
    ldr_decision_write_json(&d, out);
    static const char key[] = ",\"decided_at\":";
    for (size_t i = out->len; i-- > from + sizeof(key) - 1;)
        if (!memcmp(out->data + i - (sizeof(key) - 1), key, sizeof(key) - 1)) {
            out->len = i;
            break;
        }
    ldr_buf_append_str(out, "null}");
}

static json_t *api_tier_json(const ldr_tier_rec_t *t) {
    bool active = t->state == LDR_TIER_STATE_DESIGNATED ||
                  t->state == LDR_TIER_STATE_REVIEW_DUE;
    bool any = t->state != LDR_TIER_STATE_NONE;
    json_t *j = json_object();
    json_object_set_new(j, "status",
                        json_string(ldr_tier_state_name(t->state)));
    json_object_set_new(j, "active", json_boolean(active));
    json_object_set_new(j, "valid_from", api_opt_time(active, t->valid_from));
    json_object_set_new(j, "valid_until", api_opt_time(active, t->valid_until));
    json_object_set_new(j, "batch", any ? json_integer(t->batch) : json_null());
    json_object_set_new(j, "policy_version",
                        any ? json_string(t->policy) : json_null());
    /* The review is due by the end of validity; its window opens with the
     * review-window timer (POLICY.md). */
    json_object_set_new(j, "review_deadline",
                        api_opt_time(active, t->valid_until));
    json_object_set_new(j, "review_opens",
                        api_opt_time(t->state == LDR_TIER_STATE_DESIGNATED &&
                                         t->timer_due[LDR_TIMER_REVIEW_WINDOW],
                                     t->timer_due[LDR_TIMER_REVIEW_WINDOW]));
    json_object_set_new(
        j, "publicity_end",
        api_opt_time(t->state == LDR_TIER_STATE_PUBLICITY, t->publicity_end));
    json_object_set_new(
        j, "held_by_open_case",
        json_boolean(t->state == LDR_TIER_STATE_PUBLICITY && t->held));
    return j;
}
/* The stored state of @p uscc in partition @p p (a reply to free), or NULL
 * with the answer written: 404 when there is none, 503 when Redis fails. */
static redisReply *api_enterprise_read(api_t *a, const char *uscc, int p,
                                       ldr_http_response_t *res) {
    char err[512];
    ldr_cluster_t *c = api_pool_get(&a->pool, err, sizeof(err));
    if (!c) {
        api_store_error(a, res, err);
        return NULL;
    }
    char key[LDR_STORE_KEY_SIZE];
    ldr_store_key(key, sizeof(key), p, LDR_STORE_KEY_ENT);
    /* The enterprise's partition's node: one plain server, or the master
     * of the partition's slot. */
    redisReply *r =
        api_command(c, p, err, sizeof(err), "HGET %s %s", key, uscc);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        if (r && r->type == REDIS_REPLY_ERROR)
            snprintf(err, sizeof(err), "HGET: %s%s", r->str,
                     ldr_redis_error_hint(r->str));
        api_store_error(a, res, err);
        freeReplyObject(r);
        api_pool_put(&a->pool, c);
        return NULL;
    }
    api_pool_put(&a->pool, c);
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        api_error(res, 404, "not_found",
                  "no enterprise with USCC %s in the register", uscc);
        return NULL;
    }
    return r;
}

/* Writes the answer for the decoded enterprise @p e of partition @p p. */
static void api_enterprise_write(api_t *a, const ldr_enterprise_t *e, int p,
                                 ldr_http_response_t *res) {
    json_t *j = json_object();
    json_object_set_new(j, "uscc", json_string(e->uscc));
    json_object_set_new(j, "enterprise_name", json_string(e->name));
    json_object_set_new(j, "reporting_unit", json_string(e->unit));
    const ldr_units_entry_t *u =
        ldr_units_find(a->units, e->unit, strlen(e->unit));
    json_object_set_new(j, "reporting_unit_name",
                        u ? json_string(u->name_en) : json_null());
    json_object_set_new(j, "partition", json_integer(p));
    json_t *tiers = json_object();
    for (int t = 0; t < LDR_TIER__COUNT; t++)
        json_object_set_new(tiers, ldr_tier_name((ldr_tier_t)t),
                            api_tier_json(&e->tiers[t]));
    json_object_set_new(j, "designations", tiers);
    json_t *cases = json_array();
    for (size_t i = 0; i < e->cases_count; i++)
        json_array_append_new(cases, json_string(e->cases[i]));
    json_object_set_new(j, "open_cases", cases);
    json_object_set_new(j, "ban_until",
                        api_opt_time(e->ban_until != 0, e->ban_until));
    json_object_set_new(j, "decisions_kept",
                        json_integer(LDR_ENTERPRISE_HISTORY_MAX));
    /* The object without its last brace, then the decisions. */
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    ldr_buf_append(&res->body, text, strlen(text) - 1);
    free(text);
    ldr_buf_append_str(&res->body, ",\"decisions\":[");
    for (int i = e->history_count - 1; i >= 0; i--) {
        ldr_history_entry_t h;
        if (ldr_enterprise_history_get(e, i, &h)) {
            LDR_LOG_WARN("%s: decision %d of the history does not decode",
                         e->uscc, i);
            break;
        }
        if (i != e->history_count - 1) ldr_buf_append_byte(&res->body, ',');
        api_history_write(a, e, p, &h, &res->body);
    }
    ldr_buf_append_str(&res->body, "]}\n");
    res->content_type = "application/json";
}

void api_enterprise(api_t *a, const ldr_http_request_t *req,
                    ldr_http_response_t *res) {
    const char *uscc = ldr_http_request_param(req, "uscc");
    char err[512];
    if (ldr_validate_uscc(ldr_str(uscc), err, sizeof(err))) {
        api_error(res, 400, "invalid_uscc", "%s", err);
        return;
    }
    int parts = api_partitions(&a->pool);
    if (parts < 0) {
        api_partitions_error(a, res);
        return;
    }
    if (parts == 0) {
        char key[LDR_STORE_KEY_SIZE];
        ldr_store_key(key, sizeof(key), 0, LDR_STORE_KEY_PARTITIONS);
        api_error(res, 503, "store_empty",
                  "no worker has recorded the partition count "
                  "(%s) yet: the register is empty",
                  key);
        return;
    }
    int p = ldr_kafka_partition_for_key(uscc, LDR_USCC_LEN, parts);
    redisReply *r = api_enterprise_read(a, uscc, p, res);
    if (!r) return;
    ldr_enterprise_t e;
    ldr_enterprise_init(&e, uscc, LDR_USCC_LEN);
    if (ldr_enterprise_decode(&e, r->str, r->len)) {
        LDR_LOG_ERROR("partition %d, %s: the stored state does not decode", p,
                      uscc);
        api_error(res, 500, "corrupt_state",
                  "the stored state of %s does not decode", uscc);
    } else {
        api_enterprise_write(a, &e, p, res);
    }
    freeReplyObject(r);
    ldr_enterprise_fini(&e);
}
