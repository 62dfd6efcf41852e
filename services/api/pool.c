/* pool.c -- ladder-api's Redis connections, the partition count and the
 * JSON of one notice.
 *
 * DESIGN: what the request handlers (routes.c) and the notices follower
 * (sse.c) both need lives here, below both, so neither file depends on the
 * other. hiredis connections are not thread-safe and every request runs
 * on its own thread, so a request borrows a connection from the pool for
 * the duration of its calls. A pooled connection is a cluster router
 * (cluster.h): one plain server's connection, or a Redis Cluster's map and
 * a connection per master, which drops a connection that saw an error and
 * reconnects it on its next use. The partition count
 * changes only when the input topic grows, so it is cached for a second. */
#include "api_int.h"

#include "ladder/clock.h"
#include "ladder/decision.h"
#include "ladder/redis.h"
#include "ladder/store.h"
#include "ladder/time.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

void api_pool_init(api_pool_t *p, const char *url, const char *password,
                   ldr_cluster_mode_t mode, int timeout_ms) {
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    p->url = url;
    p->password = password;
    p->mode = mode;
    p->timeout_ms = timeout_ms;
}

void api_pool_fini(api_pool_t *p) {
    for (int i = 0; i < p->nidle; i++)
        ldr_cluster_destroy(p->idle[i]);
    p->nidle = 0;
    pthread_mutex_destroy(&p->lock);
}

ldr_cluster_t *api_connect(api_pool_t *p, char *errstr, size_t n) {
    ldr_cluster_opts_t o = {.url = p->url,
                            .password = p->password,
                            .mode = p->mode,
                            .timeout_ms = p->timeout_ms};
    ldr_cluster_t *cl = NULL;
    if (ldr_cluster_new(&o, &cl, errstr, n)) return NULL;
    return cl;
}

ldr_cluster_t *api_pool_get(api_pool_t *p, char *errstr, size_t n) {
    pthread_mutex_lock(&p->lock);
    ldr_cluster_t *cl = p->nidle ? p->idle[--p->nidle] : NULL;
    pthread_mutex_unlock(&p->lock);
    return cl ? cl : api_connect(p, errstr, n);
}

void api_pool_put(api_pool_t *p, ldr_cluster_t *cl) {
    if (!cl) return;
    pthread_mutex_lock(&p->lock);
    if (p->nidle < API_POOL_MAX) {
        p->idle[p->nidle++] = cl;
        cl = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    ldr_cluster_destroy(cl);
}

static int api_slot(int p) {
    char key[LDR_STORE_KEY_SIZE];
    int len = ldr_store_key(key, sizeof(key), p, LDR_STORE_KEY_META);
    return ldr_cluster_key_slot(key, (size_t)len);
}

redisContext *api_ctx(ldr_cluster_t *cl, int p, char *errstr, size_t n) {
    return ldr_cluster_ctx(cl, ldr_cluster_enabled(cl) ? api_slot(p) : 0,
                           errstr, n);
}

redisReply *api_command(ldr_cluster_t *cl, int p, char *errstr, size_t n,
                        const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = ldr_cluster_vcommand(
        cl, ldr_cluster_enabled(cl) ? api_slot(p) : 0, errstr, n, fmt, ap);
    va_end(ap);
    return r;
}

int api_partitions_read(ldr_cluster_t *cl) {
    char key[LDR_STORE_KEY_SIZE], err[256];
    int len = ldr_store_key(key, sizeof(key), 0, LDR_STORE_KEY_PARTITIONS);
    redisReply *r =
        ldr_cluster_command(cl, ldr_cluster_key_slot(key, (size_t)len), err,
                            sizeof(err), "GET %s", key);
    int parts = -1;
    if (r && r->type == REDIS_REPLY_NIL)
        parts = 0;
    else if (r && r->type == REDIS_REPLY_STRING)
        parts = atoi(r->str) > 0 ? atoi(r->str) : 0;
    freeReplyObject(r);
    return parts;
}

static _Atomic int api_parts_cached;
static _Atomic double api_parts_at;

int api_partitions(api_pool_t *p) {
    double now = ldr_clock_mono_s();
    int cached = atomic_load(&api_parts_cached);
    if (cached > 0 && now - atomic_load(&api_parts_at) < 1.0) return cached;
    char err[256];
    ldr_cluster_t *c = api_pool_get(p, err, sizeof(err));
    if (!c) return -1;
    int parts = api_partitions_read(c);
    api_pool_put(p, c);
    if (parts > 0) {
        atomic_store(&api_parts_cached, parts);
        atomic_store(&api_parts_at, now);
    }
    return parts;
}

json_t *api_notice_json(const char *text, size_t len, int64_t *eff) {
    if (ldr_decision_is_notice(text, len)) { /* the compact form */
        ldr_decision_t d;
        if (ldr_decision_read_notice(text, len, &d)) return NULL;
        json_t *j = ldr_decision_to_json(&d);
        *eff = d.effective_at;
        json_object_set_new(j, "decided_at", json_null());
        return j;
    }
    /* JSON text, as an earlier version stored it */
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
