/* follow.c -- ladder-api's notices follower: one thread that reads every
 * partition's notices stream into a ring the event streams share.
 *
 * DESIGN: the workers append every REVOKED, CANCELLED and EXPIRED decision
 * to their partition's capped notices stream (store.h's key layout) in
 * the same atomic step as the state. One thread here follows all of
 * those streams with a blocking XREAD on a connection of its own and
 * appends what it reads to a ring of the latest API_RING_CAP notices, in
 * the order it read them, numbered by a sequence; every open event stream
 * (sse.c) is a cursor into that ring, woken by a condition variable. So a
 * hundred clients cost one Redis reader, and a slow client holds up
 * nobody. Partitions known at start are followed from their end (live),
 * one that appears later from its beginning (everything in it is new). */
#include "api_int.h"

#include "ladder/alloc.h"
#include "ladder/buf.h"
#include "ladder/clock.h"
#include "ladder/log.h"
#include "ladder/redis.h"
#include "ladder/store.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define API_XREAD_COUNT 512
#define API_BLOCK_MS    500

void api_deadline(struct timespec *ts, double s) {
    int64_t ms = ldr_clock_mono_ms() + (int64_t)(s * 1000.0);
    ts->tv_sec = (time_t)(ms / 1000);
    ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

/* Waits up to @p s seconds or until stopping; true when stopping. */
static bool api_nap(api_notices_t *n, double s) {
    struct timespec ts;
    api_deadline(&ts, s);
    pthread_mutex_lock(&n->lock);
    while (!n->stopping &&
           pthread_cond_timedwait(&n->cond, &n->lock, &ts) != ETIMEDOUT) {
    }
    bool stop = n->stopping;
    pthread_mutex_unlock(&n->lock);
    return stop;
}

char *api_entry_notice(const redisReply *fields, char *id, size_t id_size) {
    for (size_t k = 0; k + 1 < fields->elements; k += 2) {
        if (strcmp(fields->element[k]->str, "decision")) continue;
        int64_t eff;
        json_t *j = api_notice_json(fields->element[k + 1]->str,
                                    fields->element[k + 1]->len, &eff);
        if (!j) return NULL;
        const char *did = json_string_value(json_object_get(j, "decision_id"));
        snprintf(id, id_size, "%s", did ? did : "");
        char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        return text;
    }
    return NULL;
}

/* ---- the follower thread ------------------------------------------------- */

/* Starts following partitions [n->parts, parts): a partition known at
 * start from its current end (live), one that appears later from its
 * beginning (everything in it is new). */
static bool api_follow(api_notices_t *n, ldr_cluster_t *c, int parts,
                       bool from_end) {
    for (int p = n->parts; p < parts; p++) {
        char id[48] = "0-0", key[LDR_STORE_KEY_SIZE], err[256];
        ldr_store_key(key, sizeof(key), p, LDR_STORE_KEY_NOTICES);
        if (from_end) {
            redisReply *r = api_command(c, p, err, sizeof(err),
                                        "XREVRANGE %s + - COUNT 1", key);
            if (!r || r->type != REDIS_REPLY_ARRAY) {
                freeReplyObject(r);
                return false;
            }
            if (r->elements == 1 && r->element[0]->elements == 2)
                snprintf(id, sizeof(id), "%s", r->element[0]->element[0]->str);
            freeReplyObject(r);
        }
        pthread_mutex_lock(&n->lock);
        snprintf(n->last[p], sizeof(n->last[p]), "%s", id);
        n->parts = p + 1;
        pthread_mutex_unlock(&n->lock);
    }
    return true;
}

/* Takes the entries of an XREAD reply into the ring; returns how many
 * notices it held. */
static size_t api_take(api_notices_t *n, const redisReply *r, int parts) {
    size_t got = 0;
    for (size_t s = 0; r->type == REDIS_REPLY_ARRAY && s < r->elements; s++) {
        redisReply *st = r->element[s];
        int p = st->elements == 2
                    ? ldr_store_key_partition(st->element[0]->str,
                                              LDR_STORE_KEY_NOTICES)
                    : -1;
        if (p < 0 || p >= parts) continue;
        redisReply *entries = st->element[1];
        for (size_t e = 0; e < entries->elements; e++) {
            redisReply *en = entries->element[e];
            if (en->elements != 2) continue;
            char id[96];
            char *text = api_entry_notice(en->element[1], id, sizeof(id));
            pthread_mutex_lock(&n->lock);
            snprintf(n->last[p], sizeof(n->last[p]), "%s", en->element[0]->str);
            if (text) {
                api_ring_entry_t *slot = &n->ring[n->next_seq % API_RING_CAP];
                free(slot->data);
                slot->data = text;
                snprintf(slot->id, sizeof(slot->id), "%s", id);
                n->next_seq++;
                got++;
            }
            pthread_mutex_unlock(&n->lock);
        }
    }
    return got;
}

static void api_received(api_notices_t *n, size_t got) {
    if (!got) return;
    ldr_metrics_add(n->received, NULL, (double)got);
    pthread_mutex_lock(&n->lock);
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->lock);
}

/* Redis Cluster: a multi-key XREAD must stay in one slot, so each
 * partition's stream is read on its own (pipelined, without BLOCK, every
 * partition to its master, the replies read back in order), and a round
 * that found nothing naps a tenth of a second. */
static bool api_read_cluster(api_notices_t *n, ldr_cluster_t *cl) {
    int parts = n->parts;
    redisContext **ctx = ldr_calloc((size_t)parts, sizeof(*ctx));
    char err[256];
    bool ok = true;
    int sent = 0;
    for (; sent < parts && ok; sent++) {
        char key[LDR_STORE_KEY_SIZE], id[48];
        ldr_store_key(key, sizeof(key), sent, LDR_STORE_KEY_NOTICES);
        pthread_mutex_lock(&n->lock);
        memcpy(id, n->last[sent], sizeof(id));
        pthread_mutex_unlock(&n->lock);
        ctx[sent] = api_ctx(cl, sent, err, sizeof(err));
        ok = ctx[sent] &&
             redisAppendCommand(ctx[sent], "XREAD COUNT %d STREAMS %s %s",
                                API_XREAD_COUNT, key, id) == REDIS_OK;
    }
    size_t got = 0;
    for (int p = 0; p < sent && ok; p++) {
        redisReply *r = NULL;
        if (redisGetReply(ctx[p], (void **)&r) != REDIS_OK || !r ||
            (r->type != REDIS_REPLY_ARRAY && r->type != REDIS_REPLY_NIL)) {
            LDR_LOG_WARN("notices: XREAD: %s",
                         r && r->type == REDIS_REPLY_ERROR
                             ? r->str
                             : (ctx[p]->errstr[0] ? ctx[p]->errstr
                                                  : "unexpected reply"));
            freeReplyObject(r);
            ok = false;
            break;
        }
        got += api_take(n, r, parts);
        freeReplyObject(r);
    }
    free(ctx);
    api_received(n, got);
    if (ok && !got) api_nap(n, 0.1);
    return ok;
}

/* One XREAD over every partition's stream; false when Redis failed. */
static bool api_read_once(api_notices_t *n, ldr_cluster_t *cl) {
    if (ldr_cluster_enabled(cl)) return api_read_cluster(n, cl);
    char err[256];
    redisContext *c = ldr_cluster_ctx(cl, 0, err, sizeof(err));
    if (!c) {
        LDR_LOG_WARN("notices: %s", err);
        return false;
    }
    int parts = n->parts;
    size_t argc = 6 + 2 * (size_t)parts;
    const char **argv = ldr_malloc(argc * sizeof(*argv));
    size_t *lens = ldr_malloc(argc * sizeof(*lens));
    char(*keys)[LDR_STORE_KEY_SIZE] = ldr_malloc((size_t)parts * sizeof(*keys));
    char(*ids)[48] = ldr_malloc((size_t)parts * sizeof(*ids));
    char count[16], block[16];
    snprintf(count, sizeof(count), "%d", API_XREAD_COUNT);
    snprintf(block, sizeof(block), "%d", API_BLOCK_MS);
    size_t i = 0;
    argv[i++] = "XREAD";
    argv[i++] = "COUNT";
    argv[i++] = count;
    argv[i++] = "BLOCK";
    argv[i++] = block;
    argv[i++] = "STREAMS";
    pthread_mutex_lock(&n->lock);
    for (int p = 0; p < parts; p++) {
        ldr_store_key(keys[p], sizeof(keys[p]), p, LDR_STORE_KEY_NOTICES);
        memcpy(ids[p], n->last[p], sizeof(ids[p]));
    }
    pthread_mutex_unlock(&n->lock);
    for (int p = 0; p < parts; p++)
        argv[i++] = keys[p];
    for (int p = 0; p < parts; p++)
        argv[i++] = ids[p];
    for (size_t k = 0; k < argc; k++)
        lens[k] = strlen(argv[k]);
    redisReply *r = redisCommandArgv(c, (int)argc, argv, lens);
    free(argv);
    free(lens);
    free(keys);
    free(ids);
    if (!r || (r->type != REDIS_REPLY_ARRAY && r->type != REDIS_REPLY_NIL)) {
        LDR_LOG_WARN("notices: XREAD: %s",
                     r && r->type == REDIS_REPLY_ERROR
                         ? r->str
                         : (c->errstr[0] ? c->errstr : "unexpected reply"));
        freeReplyObject(r);
        return false;
    }
    size_t got = api_take(n, r, parts);
    freeReplyObject(r);
    api_received(n, got);
    return true;
}

static void *api_follower(void *opaque) {
    api_notices_t *n = opaque;
    ldr_cluster_t *c = NULL;
    bool started = false; /* partitions known at start begin at their end */
    double parts_at = 0;
    char err[512];
    while (!n->stopping) {
        if (!c && !(c = api_connect(n->pool, err, sizeof(err)))) {
            LDR_LOG_WARN("notices: %s; retrying", err);
            if (api_nap(n, 1.0)) break;
            continue;
        }
        if (ldr_clock_mono_s() - parts_at > 2.0) {
            int parts = api_partitions_read(c);
            if (parts > API_PARTS_MAX) parts = API_PARTS_MAX;
            if (parts < 0 ||
                (parts > n->parts && !api_follow(n, c, parts, !started))) {
                ldr_cluster_destroy(c);
                c = NULL;
                if (api_nap(n, 1.0)) break;
                continue;
            }
            parts_at = ldr_clock_mono_s();
            started = true;
        }
        if (n->parts == 0) {
            parts_at = 0;
            if (api_nap(n, 1.0)) break;
            continue;
        }
        if (!api_read_once(n, c)) {
            ldr_cluster_destroy(c);
            c = NULL;
            if (api_nap(n, 1.0)) break;
        }
    }
    ldr_cluster_destroy(c);
    return NULL;
}

api_notices_t *api_notices_start(api_pool_t *pool, ldr_metric_t *received,
                                 ldr_metric_t *clients) {
    api_notices_t *n = ldr_calloc(1, sizeof(*n));
    n->pool = pool;
    n->received = received;
    n->clients = clients;
    pthread_mutex_init(&n->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&n->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&n->thread, NULL, api_follower, n)) {
        LDR_LOG_ERROR("notices: cannot start the follower thread");
        abort();
    }
    return n;
}

void api_notices_stop(api_notices_t *n) {
    if (!n) return;
    pthread_mutex_lock(&n->lock);
    bool was = n->stopping;
    n->stopping = true;
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->lock);
    if (!was) pthread_join(n->thread, NULL);
}

void api_notices_destroy(api_notices_t *n) {
    if (!n) return;
    api_notices_stop(n);
    for (size_t i = 0; i < API_RING_CAP; i++)
        free(n->ring[i].data);
    ldr_tally_destroy(n->streams);
    pthread_cond_destroy(&n->cond);
    pthread_mutex_destroy(&n->lock);
    free(n);
}
