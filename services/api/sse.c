/* sse.c -- the live revocation notices of ladder-api, as Server-Sent
 * Events.
 *
 * DESIGN: every open event stream is a cursor into the ring of the latest
 * notices that the follower thread (follow.c) fills, woken by its
 * condition variable, so a slow client holds up nobody.
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
#include "ladder/tally.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Below the HTTP server's 10 s idle timeout, which counts from the last
 * byte sent: a quiet stream would otherwise be closed. */
#define API_KEEPALIVE_S 5

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

/* ---- one event stream ---------------------------------------------------- */

typedef struct api_sse {
    api_notices_t *n;
    char client[64]; /* holds a slot of n->streams under this key */
    uint64_t next;   /* the ring sequence to send next */
    ldr_buf_t out;
    size_t off;
    double last_write;
} api_sse_t;

static void api_sse_event(ldr_buf_t *out, const char *id, const char *data) {
    ldr_buf_printf(out, "id: %s\ndata: %s\n\n", id, data);
}

/* Appends to @p s what partition @p p holds after decision (O, K), up to
 * stream id @p upto, read back from Redis: at most api.replay.max entries,
 * the latest, after a comment that says some were left out. */
static void api_sse_catch_up(api_sse_t *s, int p, int64_t o, int k,
                             const char *upto) {
    int max = s->n->replay_max;
    if (max <= 0) {
        ldr_buf_append_str(&s->out, ": notices missed before this stream are "
                                    "not replayed (api.replay.max is 0): "
                                    "GET /v1/notices lists them\n\n");
        return;
    }
    char err[512];
    ldr_cluster_t *c = api_pool_get(s->n->pool, err, sizeof(err));
    if (!c) {
        ldr_buf_printf(&s->out, ": cannot read partition %d back: %s\n\n", p,
                       err);
        return;
    }
    char key[LDR_STORE_KEY_SIZE];
    ldr_store_key(key, sizeof(key), p, LDR_STORE_KEY_NOTICES);
    /* Newest first, one more than sent: that one says some are left out. */
    redisReply *r =
        api_command(c, p, err, sizeof(err), "XREVRANGE %s %s %lld-0 COUNT %d",
                    key, upto, (long long)o + 1, max + 1);
    size_t got = r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    if (got > (size_t)max) {
        ldr_buf_printf(&s->out,
                       ": more than %d notices of partition %d were missed: "
                       "sending the latest %d (GET /v1/notices lists the "
                       "rest)\n\n",
                       max, p, max);
        got = (size_t)max;
    }
    size_t sent = 0;
    for (size_t i = got; i-- > 0;) {
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
    ldr_tally_give(s->n->streams, s->client);
    ldr_metrics_add(s->n->clients, NULL, -1);
    ldr_buf_fini(&s->out);
    free(s);
}

void api_notices_limits(api_notices_t *n, ldr_http_t *http, int max_streams,
                        int max_streams_per_ip, int replay_max) {
    n->http = http;
    ldr_tally_destroy(n->streams);
    n->streams =
        ldr_tally_new((unsigned)max_streams, (unsigned)max_streams_per_ip);
    n->replay_max = replay_max;
}

/* Takes a slot for a stream of @p client; false after answering 503. */
static bool api_sse_admit(api_notices_t *n, const char *client,
                          ldr_http_response_t *res) {
    ldr_tally_result_t tr = ldr_tally_take(n->streams, client);
    if (tr == LDR_TALLY_TAKEN) return true;
    bool all = tr == LDR_TALLY_FULL;
    ldr_http_refused(n->http, all ? "sse_streams" : "sse_streams_per_ip");
    ldr_http_response_header(res, "Retry-After", "10");
    ldr_http_response_header(res, "Connection", "close");
    api_error(res, 503, "too_many_streams", "%s: try again later",
              all ? "every notice stream this service keeps is taken "
                    "(api.sse.max.streams)"
                  : "this address holds as many notice streams as it may "
                    "(api.sse.max.streams.per.ip)");
    return false;
}

void api_notices_sse(api_notices_t *n, const ldr_http_request_t *req,
                     ldr_http_response_t *res) {
    const char *client = ldr_http_request_client(req);
    if (!api_sse_admit(n, client, res)) return;
    api_sse_t *s = ldr_calloc(1, sizeof(*s));
    s->n = n;
    snprintf(s->client, sizeof(s->client), "%s", client);
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
