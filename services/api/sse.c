/* sse.c -- the live revocation notices of ladder-api, as Server-Sent
 * Events.
 *
 * DESIGN: the workers append every REVOKED, CANCELLED and EXPIRED decision
 * to their partition's capped notices stream (store.h's key layout) in
 * the same atomic step as the state. One thread here follows all of
 * those streams with a blocking XREAD on a connection of its own and
 * appends what it reads to a ring of the latest API_RING_CAP notices, in
 * the order it read them, numbered by a sequence; every open event stream
 * is a cursor into that ring, woken by a condition variable. So a hundred
 * clients cost one Redis reader, and a slow client holds up nobody.
 *
 * Resuming (Last-Event-ID). An event's id is its decision_id,
 * "<partition>-<offset>-<n>". When that id is still in the ring the stream
 * resumes right after it, across all partitions, with nothing lost and
 * nothing repeated: the ring's order is the order this process sent them
 * in. When it is not (this process restarted, or the client was away for
 * more than API_RING_CAP notices) the id still says where its own
 * partition stood: the stream entry ids are the workers' next offsets,
 * and a decision caused by offset O sits in an entry numbered above O, so
 * the entries after "(O+1)-0" whose decision comes after (O, n) are exactly
 * what the client has not seen of that partition; they are read back from
 * Redis and sent first. Notices of the other partitions decided while the
 * client was away, and before this process started, are not replayed: a
 * client that needs every notice without a gap uses GET /v1/notices or
 * ladder-notify's webhooks.
 *
 * A comment line goes out every API_KEEPALIVE_S seconds, so proxies and
 * clients see a live connection. Stopping wakes every stream, which ends
 * its body, so the HTTP server's shutdown never waits for a client. */
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

#define API_RING_CAP 8192
/* Below the HTTP server's 10 s idle timeout, which counts from the last
 * byte sent: a quiet stream would otherwise be closed. */
#define API_KEEPALIVE_S  5
#define API_PARTS_MAX    1024
#define API_XREAD_COUNT  512
#define API_BLOCK_MS     500
#define API_CATCH_UP_MAX 10000

typedef struct api_ring_entry {
    char id[96]; /* decision_id */
    char *data;  /* the decision's JSON, one line */
} api_ring_entry_t;

struct api_notices {
    api_pool_t *pool;
    ldr_metric_t *received;
    ldr_metric_t *clients;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    atomic_bool stopping;
    api_ring_entry_t ring[API_RING_CAP];
    uint64_t next_seq; /* sequence of the next notice; ring[seq % CAP] */
    int parts;         /* partitions followed */
    char last[API_PARTS_MAX][48]; /* stream id read up to, per partition */
};

/* The CLOCK_MONOTONIC time @p s seconds from now, for a condition
 * variable that waits on that clock (api_notices_start()). */
static void api_deadline(struct timespec *ts, double s) {
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

/* Parses "P-O-N" into its three numbers. */
static bool api_decision_id_parse(const char *id, int *p, int64_t *o, int *k) {
    char *end;
    long pp = strtol(id, &end, 10);
    if (end == id || *end != '-' || pp < 0 || pp >= API_PARTS_MAX) return false;
    const char *s = end + 1;
    long long oo = strtoll(s, &end, 10);
    if (end == s || *end != '-' || oo < 0) return false;
    s = end + 1;
    long kk = strtol(s, &end, 10);
    if (end == s || *end || kk < 0) return false;
    *p = (int)pp;
    *o = oo;
    *k = (int)kk;
    return true;
}

/* One stream entry's notice, rewritten for the API; NULL when it has none
 * that parses. *id gets its decision_id. */
static char *api_entry_notice(const redisReply *fields, char *id,
                              size_t id_size) {
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
static bool api_follow(api_notices_t *n, redisContext *c, int parts,
                       bool from_end) {
    for (int p = n->parts; p < parts; p++) {
        char id[48] = "0-0", key[LDR_STORE_KEY_SIZE];
        ldr_store_key(key, sizeof(key), p, LDR_STORE_KEY_NOTICES);
        if (from_end) {
            redisReply *r = redisCommand(c, "XREVRANGE %s + - COUNT 1", key);
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

/* One XREAD over every partition's stream; false when Redis failed. */
static bool api_read_once(api_notices_t *n, redisContext *c) {
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
    freeReplyObject(r);
    if (got) {
        ldr_metrics_add(n->received, NULL, (double)got);
        pthread_mutex_lock(&n->lock);
        pthread_cond_broadcast(&n->cond);
        pthread_mutex_unlock(&n->lock);
    }
    return true;
}

static void *api_follower(void *opaque) {
    api_notices_t *n = opaque;
    redisContext *c = NULL;
    bool started = false; /* partitions known at start begin at their end */
    double parts_at = 0;
    char err[512];
    while (!n->stopping) {
        if (!c && ldr_redis_connect(n->pool->url, n->pool->password, 5000, &c,
                                    err, sizeof(err))) {
            LDR_LOG_WARN("notices: %s; retrying", err);
            c = NULL;
            if (api_nap(n, 1.0)) break;
            continue;
        }
        if (ldr_clock_mono_s() - parts_at > 2.0) {
            int parts = api_partitions_read(c);
            if (parts > API_PARTS_MAX) parts = API_PARTS_MAX;
            if (parts < 0 ||
                (parts > n->parts && !api_follow(n, c, parts, !started))) {
                redisFree(c);
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
            redisFree(c);
            c = NULL;
            if (api_nap(n, 1.0)) break;
        }
    }
    if (c) redisFree(c);
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
    pthread_cond_destroy(&n->cond);
    pthread_mutex_destroy(&n->lock);
    free(n);
}

/* ---- one event stream ---------------------------------------------------- */

typedef struct api_sse {
    api_notices_t *n;
    uint64_t next; /* the ring sequence to send next */
    ldr_buf_t out;
    size_t off;
    double last_write;
} api_sse_t;

static void api_sse_event(ldr_buf_t *out, const char *id, const char *data) {
    ldr_buf_printf(out, "id: %s\ndata: %s\n\n", id, data);
}

/* Appends to @p s what partition @p p holds after decision (O, K), up to
 * stream id @p upto, read back from Redis. */
static void api_sse_catch_up(api_sse_t *s, int p, int64_t o, int k,
                             const char *upto) {
    char err[512];
    redisContext *c = api_pool_get(s->n->pool, err, sizeof(err));
    if (!c) {
        ldr_buf_printf(&s->out, ": cannot read partition %d back: %s\n\n", p,
                       err);
        return;
    }
    char key[LDR_STORE_KEY_SIZE];
    ldr_store_key(key, sizeof(key), p, LDR_STORE_KEY_NOTICES);
    redisReply *r = redisCommand(c, "XRANGE %s %lld-0 %s COUNT %d", key,
                                 (long long)o + 1, upto, API_CATCH_UP_MAX);
    size_t sent = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements;
         i++) {
        redisReply *en = r->element[i];
        if (en->elements != 2) continue;
        char id[96];
        char *text = api_entry_notice(en->element[1], id, sizeof(id));
        int p2, k2;
        int64_t o2;
        if (text && api_decision_id_parse(id, &p2, &o2, &k2) &&
            (o2 > o || (o2 == o && k2 > k))) {
            api_sse_event(&s->out, id, text);
            sent++;
        }
        free(text);
    }
    if (!r || r->type != REDIS_REPLY_ARRAY)
        ldr_buf_printf(&s->out, ": cannot read partition %d back\n\n", p);
    freeReplyObject(r);
    api_pool_put(s->n->pool, c);
    LDR_LOG_DEBUG("notices: resumed partition %d after %d-%lld-%d from the "
                  "store: %zu notices",
                  p, p, (long long)o, k, sent);
}

static ssize_t api_sse_read(void *opaque, char *buf, size_t size) {
    api_sse_t *s = opaque;
    api_notices_t *n = s->n;
    for (;;) {
        if (s->off < s->out.len) {
            size_t len = s->out.len - s->off;
            if (len > size) len = size;
            memcpy(buf, s->out.data + s->off, len);
            s->off += len;
            return (ssize_t)len;
        }
        ldr_buf_reset(&s->out);
        s->off = 0;
        pthread_mutex_lock(&n->lock);
        struct timespec ts;
        double wait = s->last_write + API_KEEPALIVE_S - ldr_clock_mono_s();
        api_deadline(&ts, wait > 0 ? wait : 0);
        while (!n->stopping && s->next == n->next_seq && wait > 0 &&
               pthread_cond_timedwait(&n->cond, &n->lock, &ts) != ETIMEDOUT) {
        }
        if (n->stopping) {
            pthread_mutex_unlock(&n->lock);
            return -1;
        }
        if (s->next == n->next_seq) {
            ldr_buf_append_str(&s->out, ": keep-alive\n\n");
        } else {
            uint64_t first =
                n->next_seq > API_RING_CAP ? n->next_seq - API_RING_CAP : 0;
            if (s->next < first) {
                ldr_buf_printf(&s->out,
                               ": %" PRIu64 " notices were dropped: this "
                               "client fell behind\n\n",
                               first - s->next);
                s->next = first;
            }
            for (int i = 0; i < 64 && s->next < n->next_seq; i++, s->next++) {
                const api_ring_entry_t *e = &n->ring[s->next % API_RING_CAP];
                api_sse_event(&s->out, e->id, e->data);
            }
        }
        pthread_mutex_unlock(&n->lock);
        s->last_write = ldr_clock_mono_s();
    }
}

static void api_sse_free(void *opaque) {
    api_sse_t *s = opaque;
    ldr_metrics_add(s->n->clients, NULL, -1);
    ldr_buf_fini(&s->out);
    free(s);
}

void api_notices_sse(api_notices_t *n, const ldr_http_request_t *req,
                     ldr_http_response_t *res) {
    api_sse_t *s = ldr_calloc(1, sizeof(*s));
    s->n = n;
    ldr_buf_init(&s->out);
    /* Something at once, so the client sees the stream open. */
    ldr_buf_append_str(&s->out, "retry: 3000\n: ladder revocation notices\n\n");
    s->last_write = ldr_clock_mono_s();
    const char *last = ldr_http_request_header(req, "Last-Event-ID");
    int p = -1, k = 0;
    int64_t o = 0;
    char upto[48] = "";
    pthread_mutex_lock(&n->lock);
    s->next = n->next_seq;
    if (last && *last) {
        uint64_t first =
            n->next_seq > API_RING_CAP ? n->next_seq - API_RING_CAP : 0;
        bool found = false;
        for (uint64_t q = n->next_seq; q > first && !found; q--)
            if (!strcmp(n->ring[(q - 1) % API_RING_CAP].id, last)) {
                s->next = q;
                found = true;
            }
        if (!found && api_decision_id_parse(last, &p, &o, &k) && p < n->parts)
            /* What this process read of p so far is sent from the store;
             * the ring from here on holds only later entries. */
            snprintf(upto, sizeof(upto), "%s", n->last[p]);
        else if (!found)
            ldr_buf_printf(&s->out,
                           ": Last-Event-ID %.96s is not a notice id this "
                           "service knows: starting with new notices\n\n",
                           last);
    }
    pthread_mutex_unlock(&n->lock);
    if (upto[0]) api_sse_catch_up(s, p, o, k, upto);
    ldr_metrics_add(n->clients, NULL, 1);
    res->content_type = "text/event-stream; charset=utf-8";
    ldr_http_response_header(res, "X-Accel-Buffering", "no");
    ldr_http_response_stream(res, api_sse_read, api_sse_free, s);
}
