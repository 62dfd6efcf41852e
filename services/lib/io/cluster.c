/* cluster.c -- the Redis Cluster router (cluster.h).
 *
 * DESIGN: the map is CLUSTER SLOTS' answer flattened into one array of
 * 16384 node indices, so routing a key is a CRC16 and two loads; the slot
 * of a partition's keys is computed once by the caller and kept. A node's
 * connection is made on first use and always runs the caller's hook before
 * anything else is sent on it, which is how every master (a promoted
 * replica included) gets the store's Redis Functions before its first
 * FCALL. Redirections are handled here for single commands only: a
 * pipelined caller sees MOVED or ASK in its own reply, marks the map stale
 * and treats it as a transient error, because replaying a batch from the
 * stored offsets is already the worker's answer to every transient error. */
#include "ladder/cluster.h"

#include "ladder/alloc.h"
#include "ladder/clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* TRYAGAIN and CLUSTERDOWN: attempts, and the first backoff (doubled each
 * time: 25, 50, 100, 200, 400 ms, about 0.8 s in all, less than a
 * failover's detection time, after which the worker's own backoff takes
 * over). */
#define CL_ATTEMPTS   6
#define CL_BACKOFF_MS 25

/* A node that stopped answering (a timeout, a refused connection) is not
 * tried again for a while, doubling from CL_RETRY_MIN_MS to
 * CL_RETRY_MAX_MS, and is then probed with a CL_PROBE_MS timeout before
 * it gets the full one back: a frozen master must cost the callers of the
 * other masters a short probe now and then, never the whole timeout on
 * every call. */
#define CL_RETRY_MIN_MS 100
#define CL_RETRY_MAX_MS 2000
#define CL_PROBE_MS     500

typedef struct cl_node {
    ldr_redis_addr_t addr;
    redisContext *c;  /* commands: at most one reply owed, read at once */
    redisContext *pc; /* the pipeline: its replies are the caller's */
    int64_t retry_at; /* monotonic ms: no connection attempt before */
    int backoff_ms;   /* 0: not failed since its last good connection */
} cl_node_t;

struct ldr_cluster {
    ldr_redis_url_t url;
    char password[256];
    char hosts[512]; /* the URL's host list, for messages */
    int timeout_ms;
    ldr_cluster_hook_t hook;
    ldr_cluster_drop_hook_t on_drop;
    void *opaque;
    bool enabled;
    bool stale;
    int nnodes;
    cl_node_t node[LDR_CLUSTER_NODES_MAX];
    uint16_t slot[LDR_CLUSTER_SLOTS];
};

ldr_err_t ldr_cluster_mode_parse(const char *s, ldr_cluster_mode_t *out,
                                 char *errstr, size_t n) {
    if (!s || !*s || strcmp(s, "auto") == 0)
        *out = LDR_CLUSTER_AUTO;
    else if (strcmp(s, "on") == 0)
        *out = LDR_CLUSTER_ON;
    else if (strcmp(s, "off") == 0)
        *out = LDR_CLUSTER_OFF;
    else
        return ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                           "redis.cluster: \"%s\" is not auto, on or off", s);
    return LDR_OK;
}

/* ---- slots ---------------------------------------------------------------
 */

uint16_t ldr_cluster_crc16(const void *p, size_t len) {
    const unsigned char *b = p;
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(b[i] << 8);
        for (int k = 0; k < 8; k++)
            crc = crc & 0x8000 ? (uint16_t)((crc << 1) ^ 0x1021)
                               : (uint16_t)(crc << 1);
    }
    return crc;
}

int ldr_cluster_key_slot(const char *key, size_t len) {
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t rest = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        if (close && close > open + 1)
            return ldr_cluster_crc16(open + 1, (size_t)(close - open - 1)) &
                   (LDR_CLUSTER_SLOTS - 1);
    }
    return ldr_cluster_crc16(key, len) & (LDR_CLUSTER_SLOTS - 1);
}

ldr_err_t ldr_cluster_map_parse(const redisReply *r, const char *seed_host,
                                ldr_cluster_map_t *m, char *errstr, size_t n) {
    m->nnodes = 0;
    for (int s = 0; s < LDR_CLUSTER_SLOTS; s++)
        m->slot[s] = LDR_CLUSTER_NO_NODE;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return ldr_err_set(errstr, n, LDR_ERR_DECODE_FAILED,
                           "CLUSTER SLOTS: not an array");
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER ||
            e->element[2]->type != REDIS_REPLY_ARRAY ||
            e->element[2]->elements < 2 ||
            e->element[2]->element[0]->type != REDIS_REPLY_STRING ||
            e->element[2]->element[1]->type != REDIS_REPLY_INTEGER)
            return ldr_err_set(errstr, n, LDR_ERR_DECODE_FAILED,
                               "CLUSTER SLOTS: range %zu is malformed", i);
        long long lo = e->element[0]->integer, hi = e->element[1]->integer;
        const redisReply *h = e->element[2]->element[0];
        long long port = e->element[2]->element[1]->integer;
        if (lo < 0 || hi < lo || hi >= LDR_CLUSTER_SLOTS || port <= 0 ||
            port > 65535 || h->len >= sizeof(m->node[0].host))
            return ldr_err_set(errstr, n, LDR_ERR_DECODE_FAILED,
                               "CLUSTER SLOTS: range %zu is out of bounds", i);
        const char *host = h->len ? h->str : (seed_host ? seed_host : "");
        int idx = -1;
        for (int k = 0; k < m->nnodes && idx < 0; k++)
            if (m->node[k].port == port && strcmp(m->node[k].host, host) == 0)
                idx = k;
        if (idx < 0) {
            if (m->nnodes == LDR_CLUSTER_NODES_MAX)
                return ldr_err_set(errstr, n, LDR_ERR_DECODE_FAILED,
                                   "CLUSTER SLOTS: more than %d masters",
                                   LDR_CLUSTER_NODES_MAX);
            idx = m->nnodes++;
            snprintf(m->node[idx].host, sizeof(m->node[idx].host), "%s", host);
            m->node[idx].port = (int)port;
        }
        for (long long s = lo; s <= hi; s++)
            m->slot[s] = (uint16_t)idx;
    }
    return LDR_OK;
}

/* ---- connections ---------------------------------------------------------
 */

static ldr_err_t cl_open(ldr_cluster_t *cl, const ldr_redis_addr_t *a, int db,
                         int timeout_ms, redisContext **out, char *errstr,
                         size_t n) {
    return ldr_redis_connect_node(&cl->url, a->host, a->port, cl->password, db,
                                  timeout_ms, out, errstr, n);
}

/* True when @p c failed because its node did not answer in time (hiredis
 * 0.14 reports a receive timeout as the read's EAGAIN). */
static bool cl_timed_out(const redisContext *c) {
    return c->err == REDIS_ERR_IO &&
           (strcmp(c->errstr, strerror(EAGAIN)) == 0 ||
            strcmp(c->errstr, strerror(ETIMEDOUT)) == 0);
}

/* Node @p i does not answer: no new connection to it for a while. */
static void cl_backoff(ldr_cluster_t *cl, int i) {
    cl_node_t *nd = &cl->node[i];
    nd->backoff_ms = nd->backoff_ms ? nd->backoff_ms * 2 : CL_RETRY_MIN_MS;
    if (nd->backoff_ms > CL_RETRY_MAX_MS) nd->backoff_ms = CL_RETRY_MAX_MS;
    nd->retry_at = ldr_clock_mono_ms() + nd->backoff_ms;
}

/* Closes node @p i's connections; the pipeline's through the drop hook,
 * so that its caller learns which replies will never come. */
static void cl_close_node(ldr_cluster_t *cl, int i, const char *why) {
    cl_node_t *nd = &cl->node[i];
    if (nd->pc) {
        if (cl->on_drop) cl->on_drop(cl->opaque, nd->pc, why);
        redisFree(nd->pc);
        nd->pc = NULL;
    }
    if (nd->c) redisFree(nd->c);
    nd->c = NULL;
}

/* A new connection to node @p i, hooked, or NULL with errstr set: at once
 * while the node is backing off, after a short probe when it failed last. */
static redisContext *cl_node_open(ldr_cluster_t *cl, int i, char *errstr,
                                  size_t n) {
    cl_node_t *nd = &cl->node[i];
    int64_t wait = nd->retry_at - ldr_clock_mono_ms();
    if (wait > 0) {
        ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                    "redis at %s:%d: not answering; next attempt in %lld ms",
                    nd->addr.host, nd->addr.port, (long long)wait);
        return NULL;
    }
    int t = nd->backoff_ms && cl->timeout_ms > CL_PROBE_MS ? CL_PROBE_MS
                                                           : cl->timeout_ms;
    redisContext *c;
    if (cl_open(cl, &nd->addr, cl->enabled ? 0 : cl->url.db, t, &c, errstr,
                n)) {
        cl_backoff(cl, i);
        cl->stale = cl->enabled;
        return NULL;
    }
    if (cl->hook && cl->hook(cl->opaque, c, errstr, n)) {
        redisFree(c);
        cl_backoff(cl, i);
        cl->stale = cl->enabled;
        return NULL;
    }
    if (t != cl->timeout_ms) {
        struct timeval tv = {cl->timeout_ms / 1000,
                             (cl->timeout_ms % 1000) * 1000};
        redisSetTimeout(c, tv);
    }
    nd->backoff_ms = 0;
    nd->retry_at = 0;
    return c;
}

/* Node @p i's command connection, connected when it is not. */
static redisContext *cl_node_ctx(ldr_cluster_t *cl, int i, char *errstr,
                                 size_t n) {
    cl_node_t *nd = &cl->node[i];
    if (!nd->c) nd->c = cl_node_open(cl, i, errstr, n);
    return nd->c;
}

/* Node @p i's pipeline connection, connected when it is not. */
static redisContext *cl_node_pipe(ldr_cluster_t *cl, int i, char *errstr,
                                  size_t n) {
    cl_node_t *nd = &cl->node[i];
    if (!nd->pc) nd->pc = cl_node_open(cl, i, errstr, n);
    return nd->pc;
}

static void cl_close_all(ldr_cluster_t *cl) {
    for (int i = 0; i < cl->nnodes; i++)
        cl_close_node(cl, i, "closed to reconnect");
}

/* Installs @p m, keeping the connections and retry state of masters that
 * stay masters. */
static void cl_install(ldr_cluster_t *cl, const ldr_cluster_map_t *m) {
    cl_node_t keep[LDR_CLUSTER_NODES_MAX];
    memset(keep, 0, sizeof(keep[0]) * (size_t)m->nnodes);
    for (int i = 0; i < cl->nnodes; i++) {
        for (int k = 0; k < m->nnodes; k++)
            if (m->node[k].port == cl->node[i].addr.port &&
                strcmp(m->node[k].host, cl->node[i].addr.host) == 0) {
                keep[k] = cl->node[i];
                cl->node[i].c = cl->node[i].pc = NULL;
            }
        cl_close_node(cl, i, "no longer a master");
    }
    cl->nnodes = m->nnodes;
    for (int k = 0; k < m->nnodes; k++) {
        cl->node[k] = keep[k];
        cl->node[k].addr = m->node[k];
    }
    memcpy(cl->slot, m->slot, sizeof(cl->slot));
    cl->stale = false;
}

/* Asks @p c for the slot map; LDR_OK with @p m filled. */
static ldr_err_t cl_slots(redisContext *c, const char *host,
                          ldr_cluster_map_t *m, char *errstr, size_t n) {
    redisReply *r = redisCommand(c, "CLUSTER SLOTS");
    ldr_err_t err;
    if (!r || r->type == REDIS_REPLY_ERROR)
        err = ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                          "redis at %s:%d: CLUSTER SLOTS: %s%s", host,
                          c->tcp.port,
                          r ? r->str : (c->errstr[0] ? c->errstr : "no reply"),
                          ldr_redis_error_hint(r ? r->str : NULL));
    else
        err = ldr_cluster_map_parse(r, host, m, errstr, n);
    freeReplyObject(r);
    if (!err && m->nnodes == 0)
        err = ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                          "redis at %s:%d: CLUSTER SLOTS: no slot is served",
                          host, c->tcp.port);
    return err;
}

/* Reloads the map from the first node that answers: a connected master,
 * then any known master not backing off, then the seeds, each given
 * CL_PROBE_MS to answer (CLUSTER SLOTS is quick; a frozen master must not
 * hold the refresh for the whole timeout). A pipeline connection is never
 * asked: it may owe replies. */
static ldr_err_t cl_refresh(ldr_cluster_t *cl, char *errstr, size_t n) {
    ldr_cluster_map_t *m = ldr_malloc(sizeof(*m));
    ldr_err_t err = ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                                "redis (%s): no node answers", cl->hosts);
    int probe = cl->timeout_ms > CL_PROBE_MS ? CL_PROBE_MS : cl->timeout_ms;
    struct timeval short_tv = {probe / 1000, (probe % 1000) * 1000};
    struct timeval full_tv = {cl->timeout_ms / 1000,
                              (cl->timeout_ms % 1000) * 1000};
    int64_t now = ldr_clock_mono_ms();
    for (int i = 0; i < cl->nnodes; i++) {
        redisContext *c = cl->node[i].c;
        if (!c) continue;
        redisSetTimeout(c, short_tv);
        err = cl_slots(c, cl->node[i].addr.host, m, errstr, n);
        if (c->err) {
            if (cl_timed_out(c)) cl_backoff(cl, i);
            cl_close_node(cl, i, c->errstr);
        } else {
            redisSetTimeout(c, full_tv);
        }
        if (!err) goto done;
    }
    int total = cl->nnodes + cl->url.nnodes;
    for (int i = 0; i < total; i++) {
        if (i < cl->nnodes && cl->node[i].retry_at > now) continue;
        ldr_redis_addr_t a =
            i < cl->nnodes ? cl->node[i].addr : cl->url.node[i - cl->nnodes];
        redisContext *c;
        if (cl_open(cl, &a, 0, probe, &c, errstr, n)) {
            err = LDR_ERR_TRANSIENT;
            continue;
        }
        err = cl_slots(c, a.host, m, errstr, n);
        redisFree(c);
        if (!err) goto done;
    }
    free(m);
    return err;
done:
    cl_install(cl, m);
    free(m);
    return LDR_OK;
}

static ldr_err_t cl_connect_all(ldr_cluster_t *cl, char *errstr, size_t n) {
    for (int i = 0; i < cl->nnodes; i++)
        if (!cl_node_ctx(cl, i, errstr, n)) return LDR_ERR_TRANSIENT;
    return LDR_OK;
}

/* Finds a node that answers and decides the mode (see cluster.h). */
static ldr_err_t cl_start(ldr_cluster_t *cl, ldr_cluster_mode_t mode,
                          char *errstr, size_t n) {
    ldr_err_t err = LDR_ERR_TRANSIENT;
    for (int i = 0; i < cl->url.nnodes; i++) {
        const ldr_redis_addr_t *a = &cl->url.node[i];
        redisContext *c;
        if ((err = cl_open(cl, a, 0, cl->timeout_ms, &c, errstr, n))) continue;
        bool cluster = false;
        if (mode != LDR_CLUSTER_OFF) {
            redisReply *r = redisCommand(c, "INFO cluster");
            if (!r || r->type != REDIS_REPLY_STRING) {
                err = ldr_err_set(
                    errstr, n, LDR_ERR_TRANSIENT,
                    "redis at %s:%d: INFO cluster: %s%s", a->host, a->port,
                    r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer",
                    ldr_redis_error_hint(r ? r->str : NULL));
                freeReplyObject(r);
                redisFree(c);
                continue;
            }
            cluster = strstr(r->str, "cluster_enabled:1") != NULL;
            freeReplyObject(r);
        }
        if (!cluster) {
            redisFree(c);
            if (mode == LDR_CLUSTER_ON)
                return ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                                   "redis.cluster is on, but the Redis at "
                                   "%s:%d is not in cluster mode",
                                   a->host, a->port);
            cl->enabled = false;
            cl->nnodes = 1;
            memset(&cl->node[0], 0, sizeof(cl->node[0]));
            cl->node[0].addr = *a;
            memset(cl->slot, 0, sizeof(cl->slot));
            return cl_node_ctx(cl, 0, errstr, n) ? LDR_OK : LDR_ERR_TRANSIENT;
        }
        if (cl->url.db != 0) {
            redisFree(c);
            return ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                               "redis.url (%s): database %d, but a Redis "
                               "Cluster has only database 0",
                               cl->hosts, cl->url.db);
        }
        cl->enabled = true;
        ldr_cluster_map_t *m = ldr_malloc(sizeof(*m));
        err = cl_slots(c, a->host, m, errstr, n);
        redisFree(c);
        if (!err) cl_install(cl, m);
        free(m);
        if (!err) return cl_connect_all(cl, errstr, n);
    }
    return err;
}

ldr_err_t ldr_cluster_new(const ldr_cluster_opts_t *o, ldr_cluster_t **out,
                          char *errstr, size_t n) {
    ldr_cluster_t *cl = ldr_calloc(1, sizeof(*cl));
    ldr_err_t err = ldr_redis_url_parse(o->url, &cl->url, errstr, n);
    if (err) goto fail;
    ldr_redis_url_hosts(&cl->url, cl->hosts, sizeof(cl->hosts));
    snprintf(cl->password, sizeof(cl->password), "%s",
             o->password ? o->password : "");
    cl->timeout_ms = o->timeout_ms;
    cl->hook = o->on_connect;
    cl->on_drop = o->on_drop;
    cl->opaque = o->opaque;
    if ((err = cl_start(cl, o->mode, errstr, n))) goto fail;
    *out = cl;
    return LDR_OK;
fail:
    ldr_cluster_destroy(cl);
    return err;
}

void ldr_cluster_destroy(ldr_cluster_t *cl) {
    if (!cl) return;
    cl_close_all(cl);
    free(cl);
}

bool ldr_cluster_enabled(const ldr_cluster_t *cl) {
    return cl->enabled;
}

int ldr_cluster_masters(const ldr_cluster_t *cl) {
    return cl->nnodes;
}

redisContext *ldr_cluster_master(ldr_cluster_t *cl, int i, char *errstr,
                                 size_t n) {
    return cl_node_ctx(cl, i, errstr, n);
}

/* The node serving @p slot (refreshing a stale map first), or -1 with
 * errstr set. */
static int cl_route(ldr_cluster_t *cl, int slot, char *errstr, size_t n) {
    if (!cl->enabled) return 0;
    if (cl->stale && cl_refresh(cl, errstr, n)) return -1;
    int idx = cl->slot[slot & (LDR_CLUSTER_SLOTS - 1)];
    if (idx == LDR_CLUSTER_NO_NODE) {
        ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                    "redis cluster (%s): no master serves slot %d", cl->hosts,
                    slot);
        cl->stale = true;
        return -1;
    }
    return idx;
}

redisContext *ldr_cluster_ctx(ldr_cluster_t *cl, int slot, char *errstr,
                              size_t n) {
    int idx = cl_route(cl, slot, errstr, n);
    return idx < 0 ? NULL : cl_node_ctx(cl, idx, errstr, n);
}

redisContext *ldr_cluster_pipe(ldr_cluster_t *cl, int slot, char *errstr,
                               size_t n) {
    int idx = cl_route(cl, slot, errstr, n);
    return idx < 0 ? NULL : cl_node_pipe(cl, idx, errstr, n);
}

redisContext *ldr_cluster_master_pipe(ldr_cluster_t *cl, int i, char *errstr,
                                      size_t n) {
    return cl_node_pipe(cl, i, errstr, n);
}

int ldr_cluster_slot_node(const ldr_cluster_t *cl, int slot) {
    if (!cl->enabled) return 0;
    int idx = cl->slot[slot & (LDR_CLUSTER_SLOTS - 1)];
    return idx == LDR_CLUSTER_NO_NODE ? -1 : idx;
}

int ldr_cluster_node_of(const ldr_cluster_t *cl, const redisContext *c) {
    for (int i = 0; i < cl->nnodes; i++)
        if (c && (cl->node[i].c == c || cl->node[i].pc == c)) return i;
    return -1;
}

const ldr_redis_addr_t *ldr_cluster_node_addr(const ldr_cluster_t *cl, int i) {
    return i >= 0 && i < cl->nnodes ? &cl->node[i].addr : NULL;
}

/* Closes the connections of @p c's node; it backs off when it stopped
 * answering (@p unresponsive, or a timeout on @p c). */
static void cl_drop(ldr_cluster_t *cl, redisContext *c, bool unresponsive) {
    int i = ldr_cluster_node_of(cl, c);
    if (i >= 0) {
        char why[128];
        snprintf(why, sizeof(why), "%s",
                 c->err ? c->errstr
                        : (unresponsive ? "no answer in time" : "dropped"));
        if (unresponsive || cl_timed_out(c)) cl_backoff(cl, i);
        cl_close_node(cl, i, why);
    }
    cl->stale = cl->enabled;
}

void ldr_cluster_drop(ldr_cluster_t *cl, redisContext *c) {
    cl_drop(cl, c, false);
}

void ldr_cluster_unresponsive(ldr_cluster_t *cl, redisContext *c) {
    cl_drop(cl, c, true);
}

void ldr_cluster_stale(ldr_cluster_t *cl) {
    cl->stale = cl->enabled;
}

ldr_err_t ldr_cluster_reconnect(ldr_cluster_t *cl, char *errstr, size_t n) {
    cl_close_all(cl);
    if (!cl->enabled)
        return cl_node_ctx(cl, 0, errstr, n) ? LDR_OK : LDR_ERR_TRANSIENT;
    ldr_err_t err = cl_refresh(cl, errstr, n);
    return err ? err : cl_connect_all(cl, errstr, n);
}

/* ---- commands ------------------------------------------------------------
 */

ldr_cluster_redirect_t ldr_cluster_reply_kind(const redisReply *r) {
    if (!r || r->type != REDIS_REPLY_ERROR) return LDR_CLUSTER_REPLY_OTHER;
    if (strncmp(r->str, "MOVED ", 6) == 0) return LDR_CLUSTER_REPLY_MOVED;
    if (strncmp(r->str, "ASK ", 4) == 0) return LDR_CLUSTER_REPLY_ASK;
    if (strncmp(r->str, "TRYAGAIN", 8) == 0) return LDR_CLUSTER_REPLY_TRYAGAIN;
    if (strncmp(r->str, "CLUSTERDOWN", 11) == 0)
        return LDR_CLUSTER_REPLY_CLUSTERDOWN;
    return LDR_CLUSTER_REPLY_OTHER;
}

/* The known master at "host:port" (the end of an ASK), or -1. */
static int cl_node_named(const ldr_cluster_t *cl, const char *hp) {
    const char *colon = strrchr(hp, ':');
    if (!colon) return -1;
    int port = atoi(colon + 1);
    for (int i = 0; i < cl->nnodes; i++)
        if (cl->node[i].addr.port == port &&
            strlen(cl->node[i].addr.host) == (size_t)(colon - hp) &&
            memcmp(cl->node[i].addr.host, hp, (size_t)(colon - hp)) == 0)
            return i;
    return -1;
}

static void cl_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

redisReply *ldr_cluster_command(ldr_cluster_t *cl, int slot, char *errstr,
                                size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = ldr_cluster_vcommand(cl, slot, errstr, n, fmt, ap);
    va_end(ap);
    return r;
}

redisReply *ldr_cluster_vcommand(ldr_cluster_t *cl, int slot, char *errstr,
                                 size_t n, const char *fmt, va_list ap) {
    char *cmd = NULL;
    int len = redisvFormatCommand(&cmd, fmt, ap);
    if (len < 0) abort();
    redisReply *r = NULL;
    int ask = -1, backoff = CL_BACKOFF_MS, lost = 0;
    char last[160] = "";
    for (int attempt = 0; attempt < CL_ATTEMPTS; attempt++) {
        redisContext *c = ask >= 0 ? cl_node_ctx(cl, ask, errstr, n)
                                   : ldr_cluster_ctx(cl, slot, errstr, n);
        if (!c) goto out;
        void *reply = NULL;
        if ((ask >= 0 && redisAppendCommand(c, "ASKING") != REDIS_OK) ||
            redisAppendFormattedCommand(c, cmd, (size_t)len) != REDIS_OK ||
            (ask >= 0 && (redisGetReply(c, &reply) != REDIS_OK ||
                          (freeReplyObject(reply), 0))) ||
            redisGetReply(c, &reply) != REDIS_OK) {
            ldr_err_set(errstr, n, LDR_ERR_TRANSIENT, "redis at %s:%d: %s",
                        c->tcp.host ? c->tcp.host : "?", c->tcp.port,
                        c->errstr[0] ? c->errstr : "connection lost");
            ldr_cluster_drop(cl, c);
            /* A connection that sat idle while its node restarted fails
             * once: retry that once on a fresh connection (and a fresh map
             * in a cluster). The commands sent this way are reads or
             * idempotent enough (an epoch bumped twice is still the
             * caller's latest). */
            if (lost++) goto out;
            continue;
        }
        r = reply;
        ask = -1;
        switch (ldr_cluster_reply_kind(r)) {
        case LDR_CLUSTER_REPLY_OTHER: goto out;
        case LDR_CLUSTER_REPLY_MOVED: cl->stale = true; break;
        case LDR_CLUSTER_REPLY_ASK: {
            const char *sp = strrchr(r->str, ' ');
            ask = sp ? cl_node_named(cl, sp + 1) : -1;
            if (ask < 0) cl->stale = true;
            break;
        }
        case LDR_CLUSTER_REPLY_TRYAGAIN:
        case LDR_CLUSTER_REPLY_CLUSTERDOWN:
            cl->stale = true;
            cl_sleep_ms(backoff);
            backoff *= 2;
            break;
        }
        snprintf(last, sizeof(last), "%s", r->str);
        freeReplyObject(r);
        r = NULL;
    }
    ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                "redis cluster (%s): %s after %d attempts", cl->hosts, last,
                CL_ATTEMPTS);
out:
    free(cmd);
    return r;
}
