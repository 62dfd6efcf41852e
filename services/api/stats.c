/* stats.c -- GET /v1/stats: designations against the 14th Five-Year
 * targets, nationally and per reporting unit, and the Little Giant batches.
 *
 * DESIGN: the statistics are the sum of the per-partition counters hashes
 * (store.h), which the workers move in the same atomic step as the states,
 * so they always agree with the states and never need a scan of the
 * enterprises. Every partition's hash is read in one pipelined round trip. */
#include "api_int.h"

#include "ladder/alloc.h"
#include "ladder/enterprise.h"
#include "ladder/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The 14th Five-Year Plan's targets for 2025 (POLICY.md). */
static const int64_t api_targets[LDR_TIER__COUNT] = {1000000, 100000, 10000};
static const char *const api_outcomes[] = {
    "designated", "renewed", "revoked_review_failed", "revoked_no_submission",
    "cancelled"};
#define API_OUTCOMES  ((int)LDR_ARRAY_SIZE(api_outcomes))
#define API_BATCH_MAX 100 /* LDR_VALIDATE_BATCH_MAX */

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

/* Adds every partition's counters into @p cs; false when Redis failed. */
static bool api_counts_read(api_t *a, ldr_cluster_t *cl, int parts,
                            api_counts_t *cs) {
    /* One round trip: every partition's counters, pipelined, each to the
     * node of its partition (one node for a plain server); each node
     * answers in order, so the replies are read back partition by
     * partition from the same connections. */
    redisContext **ctx = ldr_calloc((size_t)parts, sizeof(*ctx));
    char err[256];
    bool ok = true;
    int sent = 0;
    for (; sent < parts && ok; sent++) {
        char key[LDR_STORE_KEY_SIZE];
        ldr_store_key(key, sizeof(key), sent, LDR_STORE_KEY_COUNTERS);
        ctx[sent] = api_ctx(cl, sent, err, sizeof(err));
        ok = ctx[sent] &&
             redisAppendCommand(ctx[sent], "HGETALL %s", key) == REDIS_OK;
    }
    bool lost = !ok;
    for (int p = 0; p < sent && !lost; p++) {
        redisReply *r = NULL;
        if (redisGetReply(ctx[p], (void **)&r) != REDIS_OK || !r) {
            ok = false;
            lost = true;
            break;
        }
        if (r->type != REDIS_REPLY_ARRAY) {
            /* A MOVED here means the map changed: refresh it next time. */
            if (ldr_cluster_reply_kind(r) != LDR_CLUSTER_REPLY_OTHER)
                ldr_cluster_stale(cl);
            ok = false;
            freeReplyObject(r);
            continue;
        }
        for (size_t i = 0; i + 1 < r->elements; i += 2)
            api_count(a, cs, r->element[i]->str,
                      strtoll(r->element[i + 1]->str, NULL, 10));
        freeReplyObject(r);
    }
    /* Replies left unread would answer the next request's commands: close
     * every connection used (each once). */
    for (int p = 0; lost && p < sent; p++) {
        bool seen = !ctx[p];
        for (int q = 0; q < p && !seen; q++)
            seen = ctx[q] == ctx[p];
        if (!seen) ldr_cluster_drop(cl, ctx[p]);
    }
    free(ctx);
    return ok;
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

void api_stats(api_t *a, const ldr_http_request_t *req,
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
    int parts;
    ldr_cluster_t *c;
    if (!api_open_partitions(a, res, &parts, &c)) return;
    size_t nunits = ldr_units_count(a->units);
    api_counts_t *cs = ldr_calloc(1, sizeof(*cs));
    cs->unit = ldr_calloc(nunits ? nunits : 1, sizeof(*cs->unit));
    bool failed = !api_counts_read(a, c, parts, cs);
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
