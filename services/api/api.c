/* ladder-api -- read-only HTTP/JSON over the register the workers keep.
 *
 * DESIGN: the workers are the only writers of the store (DESIGN.md);
 * ladder-api reads it and never writes, so it can run in any number of
 * copies next to the workers and a bug here cannot damage the register. An
 * enterprise lives in the partition murmur2_random gives its USCC among the
 * partition count the workers record (ldr:partitions), exactly as the
 * producers choose it, so one HGET finds it; its state is decoded with the
 * worker's own decoder (enterprise.h) and its recent decisions come from the
 * compact history the state carries. Statistics are the sum of the
 * per-partition counters hashes, which the workers move in the same atomic
 * step as the states, so they always agree with the states. Notices come
 * from the capped per-partition notices streams (notices.c).
 *
 * Every request runs on its connection's thread and takes a Redis
 * connection from a pool for the duration of its calls. Answers are JSON;
 * every error is {"error": CODE, "message": TEXT} with a status that says
 * whose fault it is (400 the request, 401 the token, 404 nothing there, 503
 * the store). With api.token set, every route but /livez and /readyz
 * requires it, as a bearer token or as ?token= (the dashboard's
 * EventSource cannot send headers). */
#include "api.h"

#include "ladder/alloc.h"
#include "ladder/units_file.h"
#include "ladder/config.h"
#include "ladder/decision.h"
#include "ladder/enterprise.h"
#include "ladder/kafka.h"
#include "ladder/log.h"
#include "ladder/redis.h"
#include "ladder/time.h"
#include "ladder/units.h"
#include "ladder/uscc.h"
#include "ladder/validate.h"

#include "dashboard_html.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern char **environ;

/* The 14th Five-Year Plan's targets for 2025 (POLICY.md). */
static const int64_t api_targets[LDR_TIER__COUNT] = {1000000, 100000, 10000};
static const char *const api_outcomes[] = {
    "designated", "renewed", "revoked_review_failed", "revoked_no_submission",
    "cancelled"};
#define API_OUTCOMES  5
#define API_BATCH_MAX 100 /* LDR_VALIDATE_BATCH_MAX */

typedef struct api {
    ldr_config_t *cfg;
    ldr_units_t *units;
    api_pool_t pool;
    api_notices_t *notices;
    const char *token; /* NULL: open */
    const char *input_topic;
    int notices_limit;
    ldr_http_t *http;
    ldr_metrics_t *metrics;
    ldr_metric_t *requests, *seconds, *sse_clients, *received, *redis_errors;
} api_t;

/* One route: its handler and whether it needs the token. */
typedef struct api_route {
    api_t *a;
    void (*fn)(api_t *a, const ldr_http_request_t *req,
               ldr_http_response_t *res);
    bool open;
} api_route_t;

static double api_mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the Redis pool ------------------------------------------------------ */

redisContext *api_pool_get(api_pool_t *p, char *errstr, size_t n) {
    pthread_mutex_lock(&p->lock);
    redisContext *c = p->nidle ? p->idle[--p->nidle] : NULL;
    pthread_mutex_unlock(&p->lock);
    if (c) return c;
    if (ldr_redis_connect(p->url, p->password, p->timeout_ms, &c, errstr, n))
        return NULL;
    return c;
}

void api_pool_put(api_pool_t *p, redisContext *c) {
    if (!c) return;
    if (c->err) {
        redisFree(c);
        return;
    }
    pthread_mutex_lock(&p->lock);
    if (p->nidle < API_POOL_MAX) {
        p->idle[p->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    if (c) redisFree(c);
}

static void api_pool_fini(api_pool_t *p) {
    for (int i = 0; i < p->nidle; i++)
        redisFree(p->idle[i]);
    p->nidle = 0;
    pthread_mutex_destroy(&p->lock);
}

static _Atomic int api_parts_cached;
static _Atomic double api_parts_at;

int api_partitions(api_pool_t *p) {
    double now = api_mono_s();
    int cached = atomic_load(&api_parts_cached);
    if (cached > 0 && now - atomic_load(&api_parts_at) < 1.0) return cached;
    char err[256];
    redisContext *c = api_pool_get(p, err, sizeof(err));
    if (!c) return -1;
    redisReply *r = redisCommand(c, "GET ldr:partitions");
    int parts = -1;
    if (r && r->type == REDIS_REPLY_NIL)
        parts = 0;
    else if (r && r->type == REDIS_REPLY_STRING)
        parts = atoi(r->str) > 0 ? atoi(r->str) : 0;
    freeReplyObject(r);
    api_pool_put(p, c);
    if (parts > 0) {
        atomic_store(&api_parts_cached, parts);
        atomic_store(&api_parts_at, now);
    }
    return parts;
}

/* ---- answers ------------------------------------------------------------- */

static void api_json(ldr_http_response_t *res, int status, json_t *j) {
    res->status = status;
    res->content_type = "application/json";
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
    ldr_buf_append_str(&res->body, text);
    ldr_buf_append_byte(&res->body, '\n');
    free(text);
    json_decref(j);
}

static void api_error(ldr_http_response_t *res, int status, const char *code,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void api_error(ldr_http_response_t *res, int status, const char *code,
                      const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    api_json(res, status,
             json_pack("{s:s, s:s}", "error", code, "message", msg));
}

static void api_store_error(api_t *a, ldr_http_response_t *res,
                            const char *what) {
    ldr_metrics_add(a->redis_errors, NULL, 1);
    api_error(res, 503, "store_unavailable", "redis: %s", what);
}

static json_t *api_time(int64_t ms) {
    char buf[LDR_TIME_FORMAT_SIZE];
    ldr_time_format(ms, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *api_opt_time(bool has, int64_t ms) {
    return has ? api_time(ms) : json_null();
}

/* ---- GET /v1/enterprises/{uscc} ----------------------------------------- */

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

static void api_enterprise(api_t *a, const ldr_http_request_t *req,
                           ldr_http_response_t *res) {
    const char *uscc = ldr_http_request_param(req, "uscc");
    char err[512];
    if (ldr_validate_uscc(ldr_str(uscc), err, sizeof(err))) {
        api_error(res, 400, "invalid_uscc", "%s", err);
        return;
    }
    int parts = api_partitions(&a->pool);
    if (parts < 0) {
        api_store_error(a, res, "cannot read ldr:partitions");
        return;
    }
    if (parts == 0) {
        api_error(res, 503, "store_empty",
                  "no worker has recorded the partition count "
                  "(ldr:partitions) yet: the register is empty");
        return;
    }
    int p = ldr_kafka_partition_for_key(uscc, LDR_USCC_LEN, parts);
    redisContext *c = api_pool_get(&a->pool, err, sizeof(err));
    if (!c) {
        api_store_error(a, res, err);
        return;
    }
    char key[64];
    snprintf(key, sizeof(key), "ldr:{p%d}:ent", p);
    redisReply *r = redisCommand(c, "HGET %s %s", key, uscc);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        api_store_error(a, res,
                        r && r->type == REDIS_REPLY_ERROR
                            ? r->str
                            : (c->errstr[0] ? c->errstr : "HGET"));
        freeReplyObject(r);
        api_pool_put(&a->pool, c);
        return;
    }
    api_pool_put(&a->pool, c);
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        api_error(res, 404, "not_found",
                  "no enterprise with USCC %s in the register", uscc);
        return;
    }
    ldr_enterprise_t e;
    ldr_enterprise_init(&e, uscc, LDR_USCC_LEN);
    if (ldr_enterprise_decode(&e, r->str, r->len)) {
        freeReplyObject(r);
        ldr_enterprise_fini(&e);
        LDR_LOG_ERROR("%s %s: the stored state does not decode", key, uscc);
        api_error(res, 500, "corrupt_state",
                  "the stored state of %s does not decode", uscc);
        return;
    }
    freeReplyObject(r);
    json_t *j = json_object();
    json_object_set_new(j, "uscc", json_string(e.uscc));
    json_object_set_new(j, "enterprise_name", json_string(e.name));
    json_object_set_new(j, "reporting_unit", json_string(e.unit));
    const ldr_units_entry_t *u =
        ldr_units_find(a->units, e.unit, strlen(e.unit));
    json_object_set_new(j, "reporting_unit_name",
                        u ? json_string(u->name_en) : json_null());
    json_object_set_new(j, "partition", json_integer(p));
    json_t *tiers = json_object();
    for (int t = 0; t < LDR_TIER__COUNT; t++)
        json_object_set_new(tiers, ldr_tier_name((ldr_tier_t)t),
                            api_tier_json(&e.tiers[t]));
    json_object_set_new(j, "designations", tiers);
    json_t *cases = json_array();
    for (size_t i = 0; i < e.cases_count; i++)
        json_array_append_new(cases, json_string(e.cases[i]));
    json_object_set_new(j, "open_cases", cases);
    json_object_set_new(j, "ban_until",
                        api_opt_time(e.ban_until != 0, e.ban_until));
    json_object_set_new(j, "decisions_kept",
                        json_integer(LDR_ENTERPRISE_HISTORY_MAX));
    /* The object without its last brace, then the decisions. */
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    ldr_buf_append(&res->body, text, strlen(text) - 1);
    free(text);
    ldr_buf_append_str(&res->body, ",\"decisions\":[");
    for (int i = e.history_count - 1; i >= 0; i--) {
        ldr_history_entry_t h;
        if (ldr_enterprise_history_get(&e, i, &h)) {
            LDR_LOG_WARN("%s: decision %d of the history does not decode", uscc,
                         i);
            break;
        }
        if (i != e.history_count - 1) ldr_buf_append_byte(&res->body, ',');
        api_history_write(a, &e, p, &h, &res->body);
    }
    ldr_buf_append_str(&res->body, "]}\n");
    res->content_type = "application/json";
    ldr_enterprise_fini(&e);
}

/* ---- GET /v1/stats ------------------------------------------------------- */

#define API_STATES 4 /* ldr_tier_state_t */

typedef struct api_counts {
    int64_t (*unit)[LDR_TIER__COUNT][API_STATES]; /* per unit of the table */
    int64_t national[LDR_TIER__COUNT][API_STATES];
    int64_t lg[API_BATCH_MAX + 1][API_OUTCOMES];
} api_counts_t;

static int api_state_parse(const char *s) {
    for (int i = 1; i < API_STATES; i++)
        if (!strcmp(s, ldr_tier_state_name((ldr_tier_state_t)i))) return i;
    return -1;
}

/* Adds one counters field ("state:UNIT:TIER:STATE" or "lg:BATCH:OUTCOME"). */
static void api_count(api_t *a, api_counts_t *cs, const char *field,
                      long long v) {
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", field);
    char *save = NULL;
    char *kind = strtok_r(buf, ":", &save);
    char *f1 = strtok_r(NULL, ":", &save);
    char *f2 = strtok_r(NULL, ":", &save);
    char *f3 = strtok_r(NULL, ":", &save);
    if (!kind || !f1 || !f2) return;
    if (!strcmp(kind, "state") && f3) {
        int tier = ldr_tier_parse(f2, strlen(f2)), st = api_state_parse(f3);
        if (tier < 0 || st < 0) return;
        cs->national[tier][st] += v;
        for (size_t i = 0; i < ldr_units_count(a->units); i++)
            if (!strcmp(ldr_units_at(a->units, i)->code, f1)) {
                cs->unit[i][tier][st] += v;
                break;
            }
    } else if (!strcmp(kind, "lg")) {
        int batch = atoi(f1);
        if (batch < 1 || batch > API_BATCH_MAX) return;
        for (int o = 0; o < API_OUTCOMES; o++)
            if (!strcmp(f2, api_outcomes[o])) cs->lg[batch][o] += v;
    }
}

static json_t *api_tiers_json(int64_t c[LDR_TIER__COUNT][API_STATES],
                              bool with_status) {
    json_t *active = json_object(), *status = json_object();
    for (int t = 0; t < LDR_TIER__COUNT; t++) {
        json_object_set_new(active, ldr_tier_name((ldr_tier_t)t),
                            json_integer(c[t][LDR_TIER_STATE_DESIGNATED] +
                                         c[t][LDR_TIER_STATE_REVIEW_DUE]));
        json_t *s = json_object();
        for (int st = 1; st < API_STATES; st++)
            json_object_set_new(s, ldr_tier_state_name((ldr_tier_state_t)st),
                                json_integer(c[t][st]));
        json_object_set_new(status, ldr_tier_name((ldr_tier_t)t), s);
    }
    if (!with_status) {
        json_decref(status);
        return active;
    }
    return json_pack("{s:o, s:o}", "active", active, "by_status", status);
}

static void api_stats(api_t *a, const ldr_http_request_t *req,
                      ldr_http_response_t *res) {
    const char *only = ldr_http_request_query(req, "unit");
    const ldr_units_entry_t *want = NULL;
    if (only && !(want = ldr_units_find(a->units, only, strlen(only)))) {
        api_error(res, 400, "unknown_unit",
                  "unit: \"%.32s\" is not a reporting unit code (see "
                  "deploy/data/reporting_units.csv, e.g. 11 for Beijing)",
                  only);
        return;
    }
    int parts = api_partitions(&a->pool);
    if (parts < 0) {
        api_store_error(a, res, "cannot read ldr:partitions");
        return;
    }
    char err[512];
    redisContext *c = parts ? api_pool_get(&a->pool, err, sizeof(err)) : NULL;
    if (parts && !c) {
        api_store_error(a, res, err);
        return;
    }
    size_t nunits = ldr_units_count(a->units);
    api_counts_t *cs = ldr_calloc(1, sizeof(*cs));
    cs->unit = ldr_calloc(nunits ? nunits : 1, sizeof(*cs->unit));
    /* One round trip: every partition's counters, pipelined. */
    for (int p = 0; p < parts; p++)
        redisAppendCommand(c, "HGETALL ldr:{p%d}:counters", p);
    bool failed = false;
    for (int p = 0; p < parts; p++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r ||
            r->type != REDIS_REPLY_ARRAY) {
            failed = true;
            freeReplyObject(r);
            if (c->err) break;
            continue;
        }
        for (size_t i = 0; i + 1 < r->elements; i += 2)
            api_count(a, cs, r->element[i]->str,
                      strtoll(r->element[i + 1]->str, NULL, 10));
        freeReplyObject(r);
    }
    api_pool_put(&a->pool, c);
    if (failed) {
        free(cs->unit);
        free(cs);
        api_store_error(a, res, "HGETALL of the counters failed");
        return;
    }
    json_t *j = json_object();
    json_object_set_new(j, "partitions", json_integer(parts));
    json_t *nat = api_tiers_json(cs->national, true);
    json_t *targets = json_object(), *progress = json_object();
    for (int t = 0; t < LDR_TIER__COUNT; t++) {
        const char *name = ldr_tier_name((ldr_tier_t)t);
        int64_t act = cs->national[t][LDR_TIER_STATE_DESIGNATED] +
                      cs->national[t][LDR_TIER_STATE_REVIEW_DUE];
        json_object_set_new(targets, name, json_integer(api_targets[t]));
        json_object_set_new(progress, name,
                            json_real((double)act / (double)api_targets[t]));
    }
    json_object_set_new(nat, "targets", targets);
    json_object_set_new(nat, "progress", progress);
    json_object_set_new(j, "national", nat);
    json_t *units = json_array();
    for (size_t i = 0; i < nunits; i++) {
        const ldr_units_entry_t *u = ldr_units_at(a->units, i);
        if (want && u != want) continue;
        json_t *o = api_tiers_json(cs->unit[i], true);
        json_object_set_new(o, "code", json_string(u->code));
        json_object_set_new(o, "name_zh", json_string(u->name_zh));
        json_object_set_new(o, "name_en", json_string(u->name_en));
        json_array_append_new(units, o);
    }
    json_object_set_new(j, "unit",
                        want ? json_string(want->code) : json_null());
    json_object_set_new(j, "units", units);
    json_t *batches = json_array();
    for (int b = 1; b <= API_BATCH_MAX; b++) {
        bool any = false;
        for (int o = 0; o < API_OUTCOMES; o++)
            any |= cs->lg[b][o] != 0;
        if (!any) continue;
        json_t *o = json_object();
        json_object_set_new(o, "batch", json_integer(b));
        for (int k = 0; k < API_OUTCOMES; k++)
            json_object_set_new(o, api_outcomes[k], json_integer(cs->lg[b][k]));
        json_array_append_new(batches, o);
    }
    json_object_set_new(j, "little_giant_batches", batches);
    free(cs->unit);
    free(cs);
    api_json(res, 200, j);
}

/* ---- GET /v1/notices ----------------------------------------------------- */

json_t *api_notice_json(const char *text, size_t len, int64_t *eff) {
    json_t *j = json_loadb(text, len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    const char *at = json_string_value(json_object_get(j, "effective_at"));
    if (!at || ldr_time_parse_rfc3339(at, strlen(at), eff, NULL, 0)) {
        json_decref(j);
        return NULL;
    }
    /* The store keeps decided_at at 0 so that a replay writes identical
     * state; showing 1970 would be a lie. */
    json_object_set_new(j, "decided_at", json_null());
    return j;
}

typedef struct api_notice {
    json_t *j;
    int64_t eff;
} api_notice_t;

static int api_notice_cmp(const void *x, const void *y) {
    const api_notice_t *a = x, *b = y;
    if (a->eff != b->eff) return a->eff > b->eff ? -1 : 1;
    return strcmp(json_string_value(json_object_get(a->j, "decision_id")),
                  json_string_value(json_object_get(b->j, "decision_id")));
}

static void api_notices_get(api_t *a, const ldr_http_request_t *req,
                            ldr_http_response_t *res) {
    const char *since_s = ldr_http_request_query(req, "since");
    const char *limit_s = ldr_http_request_query(req, "limit");
    int64_t since = INT64_MIN;
    char err[512];
    if (since_s && ldr_time_parse_rfc3339(since_s, strlen(since_s), &since, err,
                                          sizeof(err))) {
        api_error(res, 400, "invalid_since",
                  "since: \"%.64s\" is not an RFC 3339 time such as "
                  "2024-01-01T00:00:00Z (%s)",
                  since_s, err);
        return;
    }
    int limit = a->notices_limit;
    if (limit_s) {
        char *end;
        long v = strtol(limit_s, &end, 10);
        if (!*limit_s || *end || v < 1 || v > a->notices_limit) {
            api_error(res, 400, "invalid_limit",
                      "limit: \"%.32s\" is not a whole number from 1 to %d "
                      "(api.notices.limit)",
                      limit_s, a->notices_limit);
            return;
        }
        limit = (int)v;
    }
    int parts = api_partitions(&a->pool);
    if (parts < 0) {
        api_store_error(a, res, "cannot read ldr:partitions");
        return;
    }
    redisContext *c = parts ? api_pool_get(&a->pool, err, sizeof(err)) : NULL;
    if (parts && !c) {
        api_store_error(a, res, err);
        return;
    }
    api_notice_t *v = NULL;
    size_t nv = 0, cap = 0;
    bool failed = false;
    /* Per partition, newest first in the stream's order, in pages, until
     * `limit` of them qualify or the (capped) stream ends. */
    for (int p = 0; p < parts && !failed; p++) {
        int taken = 0;
        char from[48] = "+";
        for (;;) {
            redisReply *r = redisCommand(
                c, "XREVRANGE ldr:{p%d}:notices %s - COUNT 256", p, from);
            if (!r || r->type != REDIS_REPLY_ARRAY) {
                freeReplyObject(r);
                failed = true;
                break;
            }
            for (size_t i = 0; i < r->elements && taken < limit; i++) {
                redisReply *e = r->element[i];
                if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) continue;
                snprintf(from, sizeof(from), "(%s", e->element[0]->str);
                redisReply *f = e->element[1];
                for (size_t k = 0; k + 1 < f->elements; k += 2) {
                    if (strcmp(f->element[k]->str, "decision")) continue;
                    int64_t eff;
                    json_t *j = api_notice_json(f->element[k + 1]->str,
                                                f->element[k + 1]->len, &eff);
                    if (!j) continue;
                    if (eff < since) {
                        json_decref(j);
                        continue;
                    }
                    if (nv == cap) {
                        cap = cap ? cap * 2 : 64;
                        v = ldr_realloc(v, cap * sizeof(*v));
                    }
                    v[nv++] = (api_notice_t){j, eff};
                    taken++;
                }
            }
            size_t got = r->elements;
            freeReplyObject(r);
            if (got < 256 || taken >= limit) break;
        }
    }
    api_pool_put(&a->pool, c);
    if (failed) {
        for (size_t i = 0; i < nv; i++)
            json_decref(v[i].j);
        free(v);
        api_store_error(a, res, "XREVRANGE of the notices failed");
        return;
    }
    if (nv) qsort(v, nv, sizeof(*v), api_notice_cmp);
    json_t *list = json_array();
    for (size_t i = 0; i < nv; i++) {
        if ((int)i < limit)
            json_array_append_new(list, v[i].j);
        else
            json_decref(v[i].j);
    }
    free(v);
    json_t *j = json_object();
    json_object_set_new(j, "notices", list);
    json_object_set_new(j, "count",
                        json_integer((json_int_t)json_array_size(list)));
    json_object_set_new(j, "limit", json_integer(limit));
    json_object_set_new(j, "since", since_s ? api_time(since) : json_null());
    api_json(res, 200, j);
}

/* ---- the rest ------------------------------------------------------------ */

static void api_sse(api_t *a, const ldr_http_request_t *req,
                    ldr_http_response_t *res) {
    api_notices_sse(a->notices, req, res);
}

static void api_dashboard(api_t *a, const ldr_http_request_t *req,
                          ldr_http_response_t *res) {
    (void)a;
    (void)req;
    res->content_type = "text/html; charset=utf-8";
    ldr_buf_append_str(&res->body, api_dashboard_html);
}

static void api_livez(api_t *a, const ldr_http_request_t *req,
                      ldr_http_response_t *res) {
    (void)a;
    (void)req;
    api_json(res, 200, json_pack("{s:b}", "live", 1));
}

static void api_readyz(api_t *a, const ldr_http_request_t *req,
                       ldr_http_response_t *res) {
    (void)req;
    char err[512];
    redisContext *c = api_pool_get(&a->pool, err, sizeof(err));
    redisReply *r = c ? redisCommand(c, "PING") : NULL;
    bool ok = r && r->type == REDIS_REPLY_STATUS;
    if (!ok && c)
        snprintf(err, sizeof(err), "%s",
                 r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
    freeReplyObject(r);
    api_pool_put(&a->pool, c);
    if (ok)
        api_json(res, 200, json_pack("{s:b}", "ready", 1));
    else
        api_json(res, 503, json_pack("{s:b, s:s}", "ready", 0, "reason", err));
}

static void api_metrics_page(api_t *a, const ldr_http_request_t *req,
                             ldr_http_response_t *res) {
    (void)req;
    res->content_type = LDR_METRICS_CONTENT_TYPE;
    ldr_metrics_render(a->metrics, &res->body);
}

/* Constant-time comparison, so the answer's timing does not tell how much
 * of a guessed token was right. */
static bool api_token_ok(const char *want, const char *got) {
    if (!got) return false;
    size_t n = strlen(want), m = strlen(got);
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(want[i] ^ (i < m ? got[i] : 0));
    return diff == 0;
}

static bool api_authorized(api_t *a, const ldr_http_request_t *req) {
    if (!a->token) return true;
    const char *h = ldr_http_request_header(req, "Authorization");
    if (h && !strncasecmp(h, "Bearer ", 7) && api_token_ok(a->token, h + 7))
        return true;
    return api_token_ok(a->token, ldr_http_request_query(req, "token"));
}

static void api_observe(api_t *a, const char *route, int status, double t0) {
    char code[8];
    snprintf(code, sizeof(code), "%d", status);
    ldr_metrics_add(a->requests, LDR_METRICS_LABELS(route, code), 1);
    ldr_metrics_observe(a->seconds, LDR_METRICS_LABELS(route),
                        api_mono_s() - t0);
}

static void api_dispatch(void *opaque, const ldr_http_request_t *req,
                         ldr_http_response_t *res) {
    api_route_t *rt = opaque;
    double t0 = api_mono_s();
    if (!rt->open && !api_authorized(rt->a, req)) {
        ldr_http_response_header(res, "WWW-Authenticate",
                                 "Bearer realm=\"ladder\"");
        api_error(res, 401, "unauthorized",
                  "missing or wrong token: send Authorization: Bearer "
                  "<api.token> (or ?token=<api.token>)");
    } else {
        rt->fn(rt->a, req, res);
    }
    api_observe(rt->a, ldr_http_request_route(req), res->status, t0);
}

static void api_fallback(void *opaque, const ldr_http_request_t *req,
                         ldr_http_response_t *res) {
    api_t *a = opaque;
    double t0 = api_mono_s();
    if (res->status == 405)
        api_error(res, 405, "method_not_allowed",
                  "%.16s %.200s: only GET and HEAD are served",
                  ldr_http_request_method(req), ldr_http_request_path(req));
    else
        api_error(res, 404, "not_found", "no such endpoint: %.200s",
                  ldr_http_request_path(req));
    api_observe(a, "unmatched", res->status, t0);
}

static void api_usage(FILE *f) {
    fprintf(f,
            "Usage: ladder-api [--config FILE]\n"
            "Serve the register that ladder-worker keeps in Redis, read-only: "
            "an\nenterprise's designations and recent decisions, statistics "
            "against the\n14th Five-Year targets, revocation notices (also "
            "live, as Server-Sent\nEvents) and a dashboard page.\n\n"
            "  --config FILE   key = value configuration (docs/CONFIG.md); "
            "LADDER_*\n                  variables override it\n"
            "  --help          show this help\n\n"
            "Keys used: redis.url, redis.password, http.listen (default "
            "127.0.0.1:8080),\napi.token, api.notices.limit, input.topic, "
            "units.file, log.level.\n\n"
            "Endpoints (docs/API.md): GET /, /v1/enterprises/{uscc}, "
            "/v1/stats[?unit=CODE],\n/v1/notices[?since=TIME&limit=N], "
            "/v1/notices/stream, /metrics, /livez, /readyz.\n\n"
            "Stops on SIGTERM or SIGINT, ending open notice streams. Exit "
            "status: 0 after\na clean stop, 2 for a configuration error or "
            "a Redis that cannot be reached\nat start-up.\n");
}

int main(int argc, char **argv) {
    const char *config_file = NULL;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'c')
            config_file = optarg;
        else if (c == 'h') {
            api_usage(stdout);
            return 0;
        } else {
            api_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ladder-api: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    ldr_log_set_program("ladder-api");
    api_t a;
    memset(&a, 0, sizeof(a));
    char err[1024], path[4096];
    a.cfg = ldr_config_new("ladder-api");
    if ((config_file &&
         ldr_config_load_file(a.cfg, config_file, err, sizeof(err))) ||
        ldr_config_load_env(a.cfg, environ, err, sizeof(err))) {
        fprintf(stderr, "ladder-api: %s\n", err);
        ldr_config_destroy(a.cfg);
        return 2;
    }
    ldr_log_level_t level;
    if (ldr_log_parse_level(ldr_config_get(a.cfg, "log.level"), &level) ==
        LDR_OK)
        ldr_log_set_level(level);
    int rc = 2;
    a.token = ldr_config_get(a.cfg, "api.token");
    if (a.token && !*a.token) a.token = NULL;
    a.input_topic = ldr_config_get(a.cfg, "input.topic");
    a.notices_limit = (int)ldr_config_get_int(a.cfg, "api.notices.limit");
    a.units =
        ldr_units_load(ldr_config_data_path(ldr_config_get(a.cfg, "units.file"),
                                            path, sizeof(path)),
                       err, sizeof(err));
    if (!a.units) {
        fprintf(stderr, "ladder-api: %s\n", err);
        ldr_config_destroy(a.cfg);
        return 2;
    }
    pthread_mutex_init(&a.pool.lock, NULL);
    a.pool.url = ldr_config_get(a.cfg, "redis.url");
    a.pool.password = ldr_config_get(a.cfg, "redis.password");
    a.pool.timeout_ms = 5000;
    /* Redis first: a service that cannot reach its store says so at once. */
    redisContext *probe = api_pool_get(&a.pool, err, sizeof(err));
    if (!probe) {
        fprintf(stderr, "ladder-api: %s\n", err);
        goto out;
    }
    api_pool_put(&a.pool, probe);

    a.metrics = ldr_metrics_new();
    a.requests = ldr_metrics_counter(a.metrics, "ladder_api_requests_total",
                                     "HTTP requests answered, by route and "
                                     "status code.",
                                     "route,code");
    static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                    0.025,  0.05,  0.1,    0.25,  1};
    a.seconds = ldr_metrics_histogram(
        a.metrics, "ladder_api_request_seconds",
        "Time to build an answer (for a stream: to open it), by route.",
        "route", bounds, sizeof(bounds) / sizeof(bounds[0]));
    a.sse_clients =
        ldr_metrics_gauge(a.metrics, "ladder_api_sse_clients",
                          "Open /v1/notices/stream connections.", NULL);
    a.received = ldr_metrics_counter(
        a.metrics, "ladder_api_notices_received_total",
        "Notices read from the notices streams since start.", NULL);
    a.redis_errors =
        ldr_metrics_counter(a.metrics, "ladder_api_redis_errors_total",
                            "Requests that failed because "
                            "Redis did not answer.",
                            NULL);

    /* A write to a Redis connection that went away is an error of that
     * request (Redis unavailable), not a signal that ends the API. */
    signal(SIGPIPE, SIG_IGN);
    /* Signals go to the main thread only, which waits for them below. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    a.notices = api_notices_start(&a.pool, a.received, a.sse_clients);
    static api_route_t routes[8];
    static const struct {
        const char *pattern;
        void (*fn)(api_t *, const ldr_http_request_t *, ldr_http_response_t *);
        bool open;
    } table[] = {
        {"/", api_dashboard, false},
        {"/v1/enterprises/{uscc}", api_enterprise, false},
        {"/v1/stats", api_stats, false},
        {"/v1/notices", api_notices_get, false},
        {"/v1/notices/stream", api_sse, false},
        {"/metrics", api_metrics_page, false},
        {"/livez", api_livez, true},
        {"/readyz", api_readyz, true},
    };
    a.http = ldr_http_new();
    ldr_http_thread_per_connection(a.http, 256);
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        routes[i] = (api_route_t){&a, table[i].fn, table[i].open};
        ldr_http_route(a.http, table[i].pattern, api_dispatch, &routes[i]);
    }
    ldr_http_fallback(a.http, api_fallback, &a);
    const char *listen_at = ldr_config_get(a.cfg, "http.listen");
    if (ldr_http_start(a.http, listen_at, err, sizeof(err))) {
        fprintf(stderr, "ladder-api: %s\n", err);
        api_notices_stop(a.notices);
        goto out;
    }
    LDR_LOG_INFO("serving the API and the dashboard on http://%s/ (port %d)%s",
                 listen_at, ldr_http_port(a.http),
                 a.token ? "; api.token required" : "");
    int sig = 0;
    sigwait(&stop, &sig);
    LDR_LOG_INFO("stopping on %s: ending the notice streams",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
    api_notices_stop(a.notices);
    rc = 0;
out:
    ldr_http_destroy(a.http);
    api_notices_destroy(a.notices);
    ldr_metrics_destroy(a.metrics);
    api_pool_fini(&a.pool);
    ldr_units_destroy(a.units);
    ldr_config_destroy(a.cfg);
    if (rc == 0) LDR_LOG_INFO("stopped");
    return rc;
}
