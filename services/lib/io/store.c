/* store.c -- see store.h for the design and the key layout.
 *
 * DESIGN: a batch's states, counters, notices and next offset are written
 * by one call of the ladder_step Redis function, so they commit together or
 * not at all (the worker sends its outbox payload empty: it publishes a
 * batch before committing it; the argument stays for a rolling upgrade), and
 * the fencing epoch checked by that function refuses a write from a worker that
 * lost its partition. The command is sent without waiting for its reply, so
 * Redis runs it while the worker prepares the next partition's batch.
 *
 * Connections come from the router (cluster.h), for one plain server (one
 * master holding every slot) as for a Redis Cluster. A partition's commands
 * go to the master of its hash tag's slot (computed once per partition).
 * Commands whose answer is read at once (claim, load, outbox) use each
 * master's command connection. Steps, trims and pings are pipelined on
 * each master's pipeline connection: every one sent is queued with that
 * connection (a master answers its own in order), and ldr_store_poll()
 * reads whichever connections have answers, so a slow or frozen master
 * delays only the partitions it holds. A pipeline that fails, or owes an
 * answer for longer than the timeout, is closed; every answer it owed is
 * then delivered as LDR_ERR_TRANSIENT with node_lost set. */
#include "ladder/store.h"

#include "ladder/alloc.h"
#include "ladder/buf.h"
#include "ladder/clock.h"
#include "ladder/cluster.h"
#include "ladder/decision.h"
#include "ladder/log.h"
#include "ladder/redis.h"

#include "store_lua.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A command is built straight into Redis's wire format (RESP) in one
 * buffer that is reused from batch to batch, and handed to hiredis already
 * formatted: hiredis's own argv formatting cost as much as the step's
 * arguments themselves (callgrind). The buffer starts with LDR_ARGS_HEAD
 * spare bytes where the "*<count>" header goes once the count is known;
 * counts that are known only after their list are fixed-width zero-padded
 * numbers (the function's tonumber() reads them as any other). */
#define LDR_ARGS_HEAD 24
#define LDR_ARGS_SLOT 10 /* digits of a placeholder */

typedef struct ldr_args {
    ldr_buf_t data;
    size_t count;
} ldr_args_t;

/* An answer owed on a pipeline connection. */
typedef struct store_owed {
    int partition; /* -1: none (a PING) */
    ldr_store_op_t op;
    int64_t sent_ms; /* monotonic */
} store_owed_t;

/* A master's pipeline connection and the answers it owes, oldest first. */
typedef struct store_pipe {
    redisContext *c;
    int node;
    store_owed_t *q;
    size_t head, len, cap; /* q[head..len) */
} store_pipe_t;

/* A batch's counter moves, summed by field before they are sent: a
 * batch of 256 messages moves a few hundred counts over about a hundred
 * fields. The fields are told apart by a binary key (unit, tier and state,
 * or little-giant batch and outcome) in an open-addressing table, and
 * spelled out once each when the step is written: a list searched by
 * name, with each move's field formatted first, took 7 % of the worker's
 * instructions. */
typedef struct store_counter {
    uint64_t unit; /* the unit's code, up to 7 bytes, zero-padded; 0: lg */
    int32_t a;     /* state: the tier; lg: the batch */
    int32_t b;     /* state: the tier state; lg: the outcome's index */
    int64_t delta; /* in a partition's values (ldr_store_t): the value */
    bool emptied;  /* in a step's table: its value came back to zero */
} store_counter_t;

typedef struct store_counters {
    store_counter_t *v; /* in first-moved order */
    size_t count, cap;
    uint32_t *slot; /* index into v + 1; 0: empty */
    size_t nslot;   /* a power of two, at least twice count */
} store_counters_t;

static void store_counters_fini(store_counters_t *c);

struct ldr_store {
    ldr_cluster_t *cl;
    int *slot; /* the slot of each partition's hash tag */
    int nslot;
    store_pipe_t *pipe; /* the pipelines that owe or owed answers */
    size_t npipe, pipe_cap;
    ldr_store_answer_t *done; /* answers not yet delivered */
    size_t ndone, done_cap;
    size_t owed;
    char *url;
    char *password;
    ldr_cluster_mode_t mode;
    int timeout_ms;
    ldr_args_t args;
    ldr_store_step_t *step; /* ldr_store_commit_send()'s */
    ldr_buf_t notice;       /* a notice, compact (ldr_decision_write_notice) */
    /* a step's counter moves (store_args_counters): like notice, used by
     * the one thread that builds the steps */
    store_counters_t counters;
    /* Each partition's counters as its steps leave them (delta: the
     * value), read by ldr_store_load and moved by every step built after
     * it, so that a step writes each field's value in one HSET rather than
     * adding to it field by field (store.lua). A partition not loaded, or
     * whose hash holds a field this version does not know, sends the
     * moves instead. */
    struct {
        store_counters_t counters;
        bool loaded;
    } * values;
    size_t nvalues;
    /* a step's Function failed: the next claim loads ours again */
    bool functions_stale;
};

static void store_args_reset(ldr_args_t *a) {
    ldr_buf_reset(&a->data);
    ldr_buf_append(&a->data, "                        ", LDR_ARGS_HEAD);
    a->count = 0;
}

/* Writes @p v in decimal at @p out; returns the length (at most 20). */
static size_t store_u64_digits(char *out, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static size_t store_i64_digits(char *out, int64_t v) {
    if (v >= 0) return store_u64_digits(out, (uint64_t)v);
    out[0] = '-';
    return 1 + store_u64_digits(out + 1, 0 - (uint64_t)v);
}

static void store_args_add(ldr_args_t *a, const void *p, size_t n) {
    char hdr[32];
    size_t h = 0;
    hdr[h++] = '$';
    h += store_u64_digits(hdr + h, n);
    hdr[h++] = '\r';
    hdr[h++] = '\n';
    ldr_buf_reserve(&a->data, h + n + 2);
    ldr_buf_append(&a->data, hdr, h);
    if (n) ldr_buf_append(&a->data, p, n);
    ldr_buf_append(&a->data, "\r\n", 2);
    a->count++;
}

static void store_args_str(ldr_args_t *a, const char *s) {
    store_args_add(a, s, strlen(s));
}

static void store_args_i64(ldr_args_t *a, int64_t v) {
    char tmp[24];
    store_args_add(a, tmp, store_i64_digits(tmp, v));
}

/* Reserves a count to fill in later (known only after its list); returns
 * where its digits are. */
static size_t store_args_placeholder(ldr_args_t *a) {
    store_args_add(a, "0000000000", LDR_ARGS_SLOT);
    return a->data.len - 2 - LDR_ARGS_SLOT;
}

static void store_args_fill(ldr_args_t *a, size_t slot, int64_t v) {
    char *d = a->data.data + slot;
    for (int i = LDR_ARGS_SLOT - 1; i >= 0; i--) {
        d[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

static void store_args_fini(ldr_args_t *a) {
    ldr_buf_fini(&a->data);
}

/* ---- connection -------------------------------------------------------- */

/* A failed command on a command connection: the router closed the
 * connection already (reply NULL); an error reply that redirects marks the
 * map stale. Returns LDR_ERR_TRANSIENT with errstr set and frees @p r. */
static ldr_err_t store_fail(ldr_store_t *s, redisReply *r, const char *what,
                            char *errstr, size_t n) {
    ldr_err_t err;
    if (!r) {
        char cause[256];
        snprintf(cause, sizeof(cause), "%s",
                 errstr && errstr[0] ? errstr : "no answer");
        err = ldr_err_set(errstr, n, LDR_ERR_TRANSIENT, "redis %s: %s", what,
                          cause);
    } else {
        err = ldr_err_set(
            errstr, n, LDR_ERR_TRANSIENT, "redis %s: %s%s", what,
            r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply",
            ldr_redis_error_hint(r->type == REDIS_REPLY_ERROR ? r->str : NULL));
        if (ldr_cluster_reply_kind(r) != LDR_CLUSTER_REPLY_OTHER)
            ldr_cluster_stale(s->cl);
    }
    freeReplyObject(r);
    return err;
}

/* The slot of partition @p p's keys, computed once. */
static int store_slot(ldr_store_t *s, int p) {
    if (p >= s->nslot) {
        int m = p + 64;
        s->slot = ldr_realloc(s->slot, (size_t)m * sizeof(*s->slot));
        for (int i = s->nslot; i < m; i++)
            s->slot[i] = -1;
        s->nslot = m;
    }
    if (s->slot[p] < 0) {
        char key[LDR_STORE_KEY_SIZE];
        int len = ldr_store_key(key, sizeof(key), p, LDR_STORE_KEY_META);
        s->slot[p] = ldr_cluster_key_slot(key, (size_t)len);
    }
    return s->slot[p];
}

/* The slot meant by @p p: partition p's when p >= 0, else slot -p - 1. */
static int store_where(ldr_store_t *s, int p) {
    return p >= 0 ? store_slot(s, p) : -p - 1;
}

/* One command on the master of @p p (see store_where()), its answer read
 * at once: the reply, or NULL with errstr set. */
static redisReply *store_command(ldr_store_t *s, int p, const char *what,
                                 char *errstr, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r =
        ldr_cluster_vcommand(s->cl, store_where(s, p), errstr, n, fmt, ap);
    va_end(ap);
    if (!r) store_fail(s, NULL, what, errstr, n);
    return r;
}

/* store_command() with an argument vector, on the command connection of
 * partition @p p's master (no redirection is followed: the claim that
 * calls it is retried whole). */
static redisReply *store_argv(ldr_store_t *s, int p, const char *what, int argc,
                              const char **argv, const size_t *argl,
                              char *errstr, size_t n) {
    redisContext *c = ldr_cluster_ctx(s->cl, store_where(s, p), errstr, n);
    if (!c) return NULL;
    redisReply *r = redisCommandArgv(c, argc, argv, argl);
    if (!r) {
        ldr_err_set(errstr, n, LDR_ERR_TRANSIENT, "redis %s: %s", what,
                    c->errstr[0] ? c->errstr : "no answer");
        ldr_cluster_drop(s->cl, c);
    }
    return r;
}

/* The command built in @p a, in the protocol: its "*<count>" header is
 * written into the room left before the arguments. Sets *@p len. */
static const char *store_args_frame(ldr_args_t *a, size_t *len) {
    char hdr[LDR_ARGS_HEAD];
    size_t h = 0;
    hdr[h++] = '*';
    h += store_u64_digits(hdr + h, a->count);
    hdr[h++] = '\r';
    hdr[h++] = '\n';
    char *start = a->data.data + LDR_ARGS_HEAD - h;
    memcpy(start, hdr, h);
    *len = a->data.len - (LDR_ARGS_HEAD - h);
    return start;
}

/* ---- the pipelines --------------------------------------------------------
 */

static store_pipe_t *store_pipe_of(ldr_store_t *s, const redisContext *c) {
    for (size_t i = 0; i < s->npipe; i++)
        if (s->pipe[i].c == c) return &s->pipe[i];
    return NULL;
}

static void store_answer(ldr_store_t *s, const store_owed_t *o, int node,
                         ldr_err_t result, bool node_lost, const char *why) {
    if (s->ndone == s->done_cap) {
        s->done_cap = s->done_cap ? s->done_cap * 2 : 64;
        s->done = ldr_realloc(s->done, s->done_cap * sizeof(*s->done));
    }
    ldr_store_answer_t *a = &s->done[s->ndone++];
    a->op = o->op;
    a->partition = o->partition;
    a->node = node;
    a->result = result;
    a->node_lost = node_lost;
    snprintf(a->why, sizeof(a->why), "%s", why ? why : "");
    s->owed--;
}

/* The router closes a pipeline (cluster.h's on_drop): every answer it owed
 * is lost. */
static void store_on_drop(void *opaque, redisContext *c, const char *why) {
    ldr_store_t *s = opaque;
    store_pipe_t *pp = store_pipe_of(s, c);
    if (!pp) return;
    char msg[sizeof(s->done[0].why)];
    snprintf(msg, sizeof(msg), "redis at %s:%d: %s",
             c->tcp.host ? c->tcp.host : "?", c->tcp.port, why);
    for (size_t i = pp->head; i < pp->len; i++)
        store_answer(s, &pp->q[i], pp->node, LDR_ERR_TRANSIENT, true, msg);
    free(pp->q);
    *pp = s->pipe[--s->npipe];
}

/* Remembers that @p c owes an answer to @p op of @p partition. */
static void store_owe(ldr_store_t *s, redisContext *c, int partition,
                      ldr_store_op_t op) {
    store_pipe_t *pp = store_pipe_of(s, c);
    if (!pp) {
        if (s->npipe == s->pipe_cap) {
            s->pipe_cap = s->pipe_cap ? s->pipe_cap * 2 : 8;
            s->pipe = ldr_realloc(s->pipe, s->pipe_cap * sizeof(*s->pipe));
        }
        pp = &s->pipe[s->npipe++];
        memset(pp, 0, sizeof(*pp));
        pp->c = c;
    }
    pp->node = ldr_cluster_node_of(s->cl, c);
    if (pp->len == pp->cap) {
        if (pp->head) {
            memmove(pp->q, pp->q + pp->head,
                    (pp->len - pp->head) * sizeof(*pp->q));
            pp->len -= pp->head;
            pp->head = 0;
        }
        if (pp->len == pp->cap) {
            pp->cap = pp->cap ? pp->cap * 2 : 64;
            pp->q = ldr_realloc(pp->q, pp->cap * sizeof(*pp->q));
        }
    }
    pp->q[pp->len++] = (store_owed_t){partition, op, ldr_clock_mono_ms()};
    s->owed++;
}

/* Hands what was appended to @p c to the kernel, so that Redis works on it
 * while the caller goes on. A failure closes the pipeline (its answers are
 * delivered as lost) and returns false. */
static bool store_flush(ldr_store_t *s, redisContext *c) {
    int done = 0;
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK) {
            ldr_cluster_drop(s->cl, c);
            return false;
        }
    return true;
}

/* Writes the command built in @p a to @p c's socket straight from a's
 * buffer, after anything hiredis still holds. A step is often megabytes,
 * and hiredis 0.14 would copy it into its output buffer, grown from empty
 * for every command (it frees the buffer after each full write) and
 * memmoved after each partial write: allocations, copies and page faults
 * that grow with the step. a's buffer is kept from step to step. The
 * socket blocks with the connection's timeout, as hiredis's writes do; a
 * failure closes the pipeline, as store_flush() does. */
static void store_write(ldr_store_t *s, redisContext *c, ldr_args_t *a) {
    if (!store_flush(s, c)) return;
    size_t left;
    const char *p = store_args_frame(a, &left);
    while (left) {
        ssize_t w = write(c->fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            /* as hiredis reports it, so that the router tells a
             * timeout from a lost connection */
            c->err = REDIS_ERR_IO;
            snprintf(c->errstr, sizeof(c->errstr), "%s",
                     strerror(w < 0 ? errno : EPIPE));
            ldr_cluster_drop(s->cl, c);
            return;
        }
        p += w;
        left -= (size_t)w;
    }
}

/* The outcome of @p o from its reply @p r (freed here). */
static void store_settle(ldr_store_t *s, const store_owed_t *o, int node,
                         redisReply *r) {
    char why[sizeof(s->done[0].why)] = "";
    ldr_err_t result = LDR_OK;
    static const char *const what[] = {"FCALL ladder_step", "XTRIM outbox",
                                       "PING", "HSET heartbeat"};
    if (r->type == REDIS_REPLY_ERROR) {
        if (o->op == LDR_STORE_OP_STEP && strncmp(r->str, "FENCED", 6) == 0) {
            result = LDR_ERR_FENCED;
            snprintf(why, sizeof(why), "partition %d: %s", o->partition,
                     r->str);
        } else {
            result = LDR_ERR_TRANSIENT;
            snprintf(why, sizeof(why), "redis %s: %s%s", what[o->op], r->str,
                     ldr_redis_error_hint(r->str));
            if (ldr_cluster_reply_kind(r) != LDR_CLUSTER_REPLY_OTHER)
                ldr_cluster_stale(s->cl);
            else if (o->op == LDR_STORE_OP_STEP)
                s->functions_stale = true;
        }
    } else if (((o->op == LDR_STORE_OP_TRIM || o->op == LDR_STORE_OP_BEAT) &&
                r->type != REDIS_REPLY_INTEGER) ||
               (o->op == LDR_STORE_OP_PING && r->type != REDIS_REPLY_STATUS)) {
        result = LDR_ERR_TRANSIENT;
        snprintf(why, sizeof(why), "redis %s: unexpected reply", what[o->op]);
    }
    freeReplyObject(r);
    store_answer(s, o, node, result, false, why);
}

/* Settles every answer @p c has read in full. False when the pipeline was
 * closed (a protocol error). */
static bool store_pipe_read(ldr_store_t *s, redisContext *c) {
    for (;;) {
        store_pipe_t *pp = store_pipe_of(s, c);
        if (!pp || pp->head == pp->len) return pp != NULL;
        void *reply = NULL;
        if (redisGetReplyFromReader(c, &reply) != REDIS_OK) {
            ldr_cluster_drop(s->cl, c);
            return false;
        }
        if (!reply) return true;
        store_owed_t o = pp->q[pp->head++];
        if (pp->head == pp->len) pp->head = pp->len = 0;
        store_settle(s, &o, pp->node, reply);
    }
}

/* Reads the answers that have come, waiting up to @p timeout_ms for one
 * when none has; closes the pipelines that owe an answer older than the
 * timeout. */
static void store_read(ldr_store_t *s, int timeout_ms) {
    enum { MAXFD = 64 };
    struct pollfd fds[MAXFD];
    redisContext *ctx[MAXFD];
    int nfd = 0;
    int64_t now = ldr_clock_mono_ms(), first = INT64_MAX;
    for (size_t i = 0; i < s->npipe && nfd < MAXFD; i++) {
        store_pipe_t *pp = &s->pipe[i];
        if (pp->head == pp->len) continue;
        if (pp->q[pp->head].sent_ms < first) first = pp->q[pp->head].sent_ms;
        ctx[nfd] = pp->c;
        fds[nfd++] = (struct pollfd){pp->c->fd, POLLIN, 0};
    }
    if (!nfd) return;
    /* Answers read already (with an earlier one) need no wait. */
    size_t before = s->ndone;
    for (int i = 0; i < nfd; i++)
        store_pipe_read(s, ctx[i]);
    if (s->ndone > before) timeout_ms = 0;
    int64_t left = first + s->timeout_ms - now;
    if (left < timeout_ms) timeout_ms = left < 0 ? 0 : (int)left;
    if (poll(fds, (nfds_t)nfd, timeout_ms) > 0)
        for (int i = 0; i < nfd; i++) {
            if (!fds[i].revents || !store_pipe_of(s, ctx[i])) continue;
            if (redisBufferRead(ctx[i]) != REDIS_OK)
                ldr_cluster_drop(s->cl, ctx[i]);
            else
                store_pipe_read(s, ctx[i]);
        }
    now = ldr_clock_mono_ms();
    for (int i = 0; i < nfd; i++) {
        store_pipe_t *pp = store_pipe_of(s, ctx[i]);
        if (pp && pp->head < pp->len &&
            now - pp->q[pp->head].sent_ms >= s->timeout_ms)
            ldr_cluster_unresponsive(s->cl, ctx[i]);
    }
}

size_t ldr_store_owed(const ldr_store_t *s) {
    return s->owed;
}

size_t ldr_store_poll(ldr_store_t *s, int timeout_ms, ldr_store_answer_fn fn,
                      void *opaque) {
    if (!s->ndone) store_read(s, timeout_ms);
    size_t i = 0;
    /* @p fn may call the store, and a call may close a pipeline and add
     * answers: they are delivered in this same loop. */
    for (; i < s->ndone; i++) {
        ldr_store_answer_t a = s->done[i];
        fn(opaque, &a);
    }
    s->ndone = 0;
    return i;
}

int ldr_store_partition_node(ldr_store_t *s, int partition) {
    return ldr_cluster_slot_node(s->cl, store_slot(s, partition));
}

const char *ldr_store_node_name(ldr_store_t *s, int node, char *buf, size_t n) {
    const ldr_redis_addr_t *a = ldr_cluster_node_addr(s->cl, node);
    if (a)
        snprintf(buf, n, "%s:%d", a->host, a->port);
    else
        snprintf(buf, n, "master %d", node);
    return buf;
}

/* Functions persist in the AOF, but a fresh or rewound server, or a replica
 * promoted by failover, may lack them or hold an older version: every new
 * connection loads ours before its first command. */
static ldr_err_t store_on_connect(void *opaque, redisContext *c, char *errstr,
                                  size_t n) {
    (void)opaque;
    redisReply *r = redisCommand(c, "FUNCTION LOAD REPLACE %b", ldr_store_lua,
                                 strlen(ldr_store_lua));
    ldr_err_t err = LDR_OK;
    if (!r || r->type == REDIS_REPLY_ERROR)
        err = ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                          "redis at %s:%d: FUNCTION LOAD: %s%s",
                          c->tcp.host ? c->tcp.host : "?", c->tcp.port,
                          r ? r->str : (c->errstr[0] ? c->errstr : "no reply"),
                          ldr_redis_error_hint(r ? r->str : NULL));
    freeReplyObject(r);
    return err;
}

ldr_err_t ldr_store_reconnect(ldr_store_t *s, char *errstr, size_t n) {
    if (!s->cl) {
        ldr_cluster_opts_t o = {s->url,        s->password,      s->mode,
                                s->timeout_ms, store_on_connect, s,
                                store_on_drop};
        return ldr_cluster_new(&o, &s->cl, errstr, n);
    }
    return ldr_cluster_reconnect(s->cl, errstr, n);
}

ldr_store_t *ldr_store_new(const char *url, const char *password,
                           const char *cluster, int timeout_ms, char *errstr,
                           size_t n) {
    ldr_store_t *s = ldr_calloc(1, sizeof(*s));
    s->url = ldr_strdup(url);
    s->password = ldr_strdup(password ? password : "");
    s->timeout_ms = timeout_ms;
    ldr_buf_init(&s->args.data);
    ldr_buf_init(&s->notice);
    if (ldr_cluster_mode_parse(cluster, &s->mode, errstr, n) ||
        ldr_store_reconnect(s, errstr, n)) {
        ldr_store_destroy(s);
        return NULL;
    }
    return s;
}

bool ldr_store_clustered(const ldr_store_t *s) {
    return ldr_cluster_enabled(s->cl);
}

void ldr_store_destroy(ldr_store_t *s) {
    if (!s) return;
    ldr_cluster_destroy(s->cl); /* closes the pipelines: store_on_drop */
    store_args_fini(&s->args);
    ldr_store_step_free(s->step);
    ldr_buf_fini(&s->notice);
    store_counters_fini(&s->counters);
    for (size_t i = 0; i < s->nvalues; i++)
        store_counters_fini(&s->values[i].counters);
    free(s->values);
    free(s->slot);
    for (size_t i = 0; i < s->npipe; i++)
        free(s->pipe[i].q);
    free(s->pipe);
    free(s->done);
    free(s->url);
    free(s->password);
    free(s);
}

/* The suffixes of the per-partition keys, in ldr_store_key_t's order. */
static const char *const store_key_names[] = {"meta",   "ent",      "timers",
                                              "outbox", "counters", "notices"};
#define STORE_KEY_PREFIX     "ldr:{p"
#define STORE_KEY_PARTITIONS "ldr:partitions"
#define STORE_KEY_REPLAYS    "ldr:dlq:replays"

/* ---- placement ----------------------------------------------------------
 *
 * Partition p's hash tag is "p<p>.<s>", with the smallest s = 0, 1, 2, ...
 * whose slot lies in [t, t + LDR_STORE_PLACE_WINDOW), t being the 14-bit
 * bit-reversal of (p mod 16384). The targets t of partitions 0..2^k-1 are
 * 16384/2^k slots apart for every k (the van der Corput sequence), so the
 * contiguous even split of redis-cli --cluster create gives every master
 * an even share of them, whatever the number of masters. A window of 16
 * slots needs about a thousand CRC16s per partition (at most 12,495, for
 * p = 16383 whose window is the last slot alone), so each partition's s is
 * searched once per process and kept: ldr_store_key() runs per batch on
 * the worker's hot path. The table is shared by every store and thread
 * (ladder-api names keys from several); an entry holds s + 1, 0 while not
 * yet known, and two threads that search the same entry at once find the
 * same s. tests/support/store_keys.py mirrors this rule. */
#define STORE_PLACED 16384 /* partitions whose s is kept (beyond: searched) */

static _Atomic int32_t store_salt_plus1[STORE_PLACED];

static int32_t store_salt_search(int partition) {
    unsigned p = (unsigned)partition % LDR_CLUSTER_SLOTS, t = 0;
    for (int b = 0; b < 14; b++)
        t |= ((p >> b) & 1u) << (13 - b);
    char tag[32];
    for (int32_t s = 0;; s++) {
        int len = snprintf(tag, sizeof(tag), "p%d.%" PRId32, partition, s);
        unsigned slot =
            ldr_cluster_crc16(tag, (size_t)len) & (LDR_CLUSTER_SLOTS - 1);
        if (slot >= t && slot < t + LDR_STORE_PLACE_WINDOW) return s;
    }
}

static int32_t store_salt(int partition) {
    if (partition < 0 || partition >= STORE_PLACED)
        return store_salt_search(partition);
    int32_t v = atomic_load_explicit(&store_salt_plus1[partition],
                                     memory_order_relaxed);
    if (!v) {
        v = store_salt_search(partition) + 1;
        atomic_store_explicit(&store_salt_plus1[partition], v,
                              memory_order_relaxed);
    }
    return v - 1;
}

int ldr_store_key(char *buf, size_t n, int partition, ldr_store_key_t what) {
    if (what == LDR_STORE_KEY_PARTITIONS)
        return snprintf(buf, n, "%s", STORE_KEY_PARTITIONS);
    if (what == LDR_STORE_KEY_REPLAYS)
        return snprintf(buf, n, "%s", STORE_KEY_REPLAYS);
    return snprintf(buf, n, STORE_KEY_PREFIX "%d.%" PRId32 "}:%s", partition,
                    store_salt(partition), store_key_names[what]);
}

/* The name the key had before placement (ldr:{p<p>}:<name>), for the
 * migration at claim time. */
static void store_old_key(char *buf, size_t n, int partition,
                          ldr_store_key_t what) {
    snprintf(buf, n, STORE_KEY_PREFIX "%d}:%s", partition,
             store_key_names[what]);
}

int ldr_store_key_partition(const char *key, ldr_store_key_t what) {
    if (what == LDR_STORE_KEY_PARTITIONS || what == LDR_STORE_KEY_REPLAYS)
        return -1;
    size_t pre = sizeof(STORE_KEY_PREFIX) - 1;
    if (strncmp(key, STORE_KEY_PREFIX, pre)) return -1;
    char *end, *end2;
    long p = strtol(key + pre, &end, 10);
    if (end == key + pre || p < 0 || p > INT32_MAX || end[0] != '.' ||
        end[1] < '0' || end[1] > '9')
        return -1;
    long s = strtol(end + 1, &end2, 10);
    if (end2[0] != '}' || end2[1] != ':' ||
        strcmp(end2 + 2, store_key_names[what]) || s != store_salt((int)p))
        return -1;
    return (int)p;
}

ldr_err_t ldr_store_set_partitions(ldr_store_t *s, int count, char *errstr,
                                   size_t n) {
    int slot = ldr_cluster_key_slot(STORE_KEY_PARTITIONS,
                                    sizeof(STORE_KEY_PARTITIONS) - 1);
    redisReply *r = store_command(s, -slot - 1, "SET", errstr, n, "SET %s %d",
                                  STORE_KEY_PARTITIONS, count);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type == REDIS_REPLY_ERROR)
        return store_fail(s, r, "SET " STORE_KEY_PARTITIONS, errstr, n);
    freeReplyObject(r);
    return LDR_OK;
}

/* ---- the move from the layout before placement --------------------------
 *
 * Keys written before the tags were placed (ldr:{pN}:...) are moved to the
 * placed names when the partition is claimed, before its epoch is bumped,
 * so the new owner loads them and resumes at their stored offset. On one
 * server, one ladder_migrate call RENAMEs them atomically. In a cluster the
 * two tags may live on different masters: every old key is DUMPed, one
 * ladder_restore call on the placed master RESTOREs them all (the meta
 * last; nothing when the placed meta exists already, so a slow second
 * claimer cannot rewind a partition that its first owner has written
 * since), and only then is every old key DELeted, in one command on the
 * old master. A crash before the restore leaves the old keys alone; a
 * crash after it leaves old keys beside a placed meta, and the next claim
 * deletes them as leftovers. */

static void store_migrated(int partition, long long moved, long long deleted) {
    char from[LDR_STORE_KEY_SIZE], to[LDR_STORE_KEY_SIZE];
    store_old_key(from, sizeof(from), partition, LDR_STORE_KEY_META);
    ldr_store_key(to, sizeof(to), partition, LDR_STORE_KEY_META);
    *strrchr(from, ':') = *strrchr(to, ':') = '\0';
    if (moved)
        LDR_LOG_INFO("partition %d: moved %lld keys from %s:* (the layout "
                     "before placement) to %s:*",
                     partition, moved, from, to);
    if (deleted)
        LDR_LOG_INFO("partition %d: deleted %lld leftover keys of %s:* (%s:* "
                     "holds the partition)",
                     partition, deleted, from, to);
}

static ldr_err_t store_migrate_plain(ldr_store_t *s, int partition,
                                     char *errstr, size_t n) {
    char keys[12][LDR_STORE_KEY_SIZE];
    const char *argv[15];
    size_t argl[15];
    argv[0] = "FCALL";
    argv[1] = "ladder_migrate";
    argv[2] = "12";
    for (int i = 0; i < 12; i++) {
        if (i < 6)
            ldr_store_key(keys[i], sizeof(keys[i]), partition,
                          (ldr_store_key_t)i);
        else
            store_old_key(keys[i], sizeof(keys[i]), partition,
                          (ldr_store_key_t)(i - 6));
        argv[3 + i] = keys[i];
    }
    for (int i = 0; i < 15; i++)
        argl[i] = strlen(argv[i]);
    redisReply *r = store_argv(s, partition, "FCALL ladder_migrate", 15, argv,
                               argl, errstr, n);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_INTEGER)
        return store_fail(s, r, "FCALL ladder_migrate", errstr, n);
    store_migrated(partition, r->element[0]->integer, r->element[1]->integer);
    freeReplyObject(r);
    return LDR_OK;
}

/* One integer-valued command on @p slot (cluster mode); LDR_OK with *v. */
static ldr_err_t store_slot_int(ldr_store_t *s, int slot, const char *what,
                                long long *v, char *errstr, size_t n,
                                const char *fmt, const char *key) {
    redisReply *r = store_command(s, -slot - 1, what, errstr, n, fmt, key);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type != REDIS_REPLY_INTEGER)
        return store_fail(s, r, what, errstr, n);
    *v = r->integer;
    freeReplyObject(r);
    return LDR_OK;
}

static ldr_err_t store_migrate_cluster(ldr_store_t *s, int partition,
                                       char *errstr, size_t n) {
    char old[6][LDR_STORE_KEY_SIZE], placed[6][LDR_STORE_KEY_SIZE];
    for (int i = 0; i < 6; i++) {
        store_old_key(old[i], sizeof(old[i]), partition, (ldr_store_key_t)i);
        ldr_store_key(placed[i], sizeof(placed[i]), partition,
                      (ldr_store_key_t)i);
    }
    int old_slot = ldr_cluster_key_slot(old[0], strlen(old[0]));
    long long old_meta, placed_meta, restored = -1;
    ldr_err_t err = store_slot_int(s, old_slot, "EXISTS", &old_meta, errstr, n,
                                   "EXISTS %s", old[0]);
    if (err || !old_meta) return err;
    err = store_slot_int(s, store_slot(s, partition), "EXISTS", &placed_meta,
                         errstr, n, "EXISTS %s", placed[0]);
    if (err) return err;
    if (!placed_meta) {
        redisReply *dump[6] = {NULL};
        for (int i = 0; i < 6 && !err; i++) {
            dump[i] = store_command(s, -old_slot - 1, "DUMP", errstr, n,
                                    "DUMP %s", old[i]);
            if (!dump[i])
                err = LDR_ERR_TRANSIENT;
            else if (dump[i]->type != REDIS_REPLY_STRING &&
                     dump[i]->type != REDIS_REPLY_NIL) {
                err = store_fail(s, dump[i], "DUMP", errstr, n);
                dump[i] = NULL;
            }
        }
        if (!err) {
            const char *argv[15];
            size_t argl[15];
            argv[0] = "FCALL";
            argv[1] = "ladder_restore";
            argv[2] = "6";
            for (int i = 0; i < 6; i++) {
                argv[3 + i] = placed[i];
                bool has = dump[i]->type == REDIS_REPLY_STRING;
                argv[9 + i] = has ? dump[i]->str : "";
                argl[9 + i] = has ? dump[i]->len : 0;
            }
            for (int i = 0; i < 9; i++)
                argl[i] = strlen(argv[i]);
            redisReply *r = store_argv(s, partition, "FCALL ladder_restore", 15,
                                       argv, argl, errstr, n);
            if (!r)
                err = LDR_ERR_TRANSIENT;
            else if (r->type != REDIS_REPLY_INTEGER)
                err = store_fail(s, r, "FCALL ladder_restore", errstr, n);
            else {
                restored = r->integer;
                freeReplyObject(r);
            }
        }
        for (int i = 0; i < 6; i++)
            freeReplyObject(dump[i]);
        if (err) return err;
    }
    /* The old keys go only once the placed meta exists: now, or since an
     * earlier claim (leftovers). The meta among them, so a leftover is
     * always seen through the old meta. */
    redisReply *r = store_command(s, -old_slot - 1, "DEL", errstr, n,
                                  "DEL %s %s %s %s %s %s", old[1], old[2],
                                  old[3], old[4], old[5], old[0]);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type != REDIS_REPLY_INTEGER)
        return store_fail(s, r, "DEL", errstr, n);
    store_migrated(partition, restored > 0 ? restored : 0,
                   restored > 0 ? 0 : r->integer);
    freeReplyObject(r);
    return LDR_OK;
}

ldr_err_t ldr_store_claim(ldr_store_t *s, int partition, int64_t *epoch,
                          char *errstr, size_t n) {
    if (s->functions_stale) {
        /* A step failed in the Function itself: a worker of an earlier
         * version, connecting during a rolling upgrade, may have loaded
         * its library over ours (every connection loads its own), and
         * that one does not read this version's steps. */
        redisReply *r = store_command(s, partition, "FUNCTION LOAD", errstr, n,
                                      "FUNCTION LOAD REPLACE %b", ldr_store_lua,
                                      strlen(ldr_store_lua));
        if (!r) return LDR_ERR_TRANSIENT;
        if (r->type == REDIS_REPLY_ERROR)
            return store_fail(s, r, "FUNCTION LOAD", errstr, n);
        freeReplyObject(r);
        s->functions_stale = false;
    }
    ldr_err_t err = ldr_cluster_enabled(s->cl)
                        ? store_migrate_cluster(s, partition, errstr, n)
                        : store_migrate_plain(s, partition, errstr, n);
    if (err) return err;
    char meta[64];
    ldr_store_key(meta, sizeof(meta), partition, LDR_STORE_KEY_META);
    redisReply *r = store_command(s, partition, "HINCRBY epoch", errstr, n,
                                  "HINCRBY %s epoch 1", meta);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type != REDIS_REPLY_INTEGER)
        return store_fail(s, r, "HINCRBY epoch", errstr, n);
    *epoch = r->integer;
    freeReplyObject(r);
    /* The timers' sorted set of an earlier layout (store_args_timers) is
     * read by nobody. DEL, which the worker's ACL user has (UNLINK it has
     * not); deploy/redis/redis.conf frees it in the background
     * (lazyfree-lazy-user-del). */
    char timers[64];
    ldr_store_key(timers, sizeof(timers), partition, LDR_STORE_KEY_TIMERS);
    r = store_command(s, partition, "DEL timers", errstr, n, "DEL %s", timers);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type != REDIS_REPLY_INTEGER)
        return store_fail(s, r, "DEL timers", errstr, n);
    freeReplyObject(r);
    return LDR_OK;
}

/* ---- loading ------------------------------------------------------------- */

static int store_parse_i64(const char *s, int64_t *out) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end) return -1;
    *out = v;
    return 0;
}

static ldr_err_t store_load_counters(ldr_store_t *s, int partition,
                                     char *errstr, size_t n);

ldr_err_t ldr_store_load(ldr_store_t *s, int partition, ldr_partition_t *p,
                         int64_t *next_offset, char *errstr, size_t n) {
    char meta[64], ent[64];
    /* its steps send counter moves until the counters are read again */
    if ((size_t)partition < s->nvalues) s->values[partition].loaded = false;
    ldr_store_key(meta, sizeof(meta), partition, LDR_STORE_KEY_META);
    ldr_store_key(ent, sizeof(ent), partition, LDR_STORE_KEY_ENT);
    redisReply *r = store_command(s, partition, "HMGET meta", errstr, n,
                                  "HMGET %s next_offset clock", meta);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
        return store_fail(s, r, "HMGET meta", errstr, n);
    int64_t next = -1, clock = 0;
    if ((r->element[0]->type == REDIS_REPLY_STRING &&
         store_parse_i64(r->element[0]->str, &next)) ||
        (r->element[1]->type == REDIS_REPLY_STRING &&
         store_parse_i64(r->element[1]->str, &clock))) {
        freeReplyObject(r);
        return ldr_err_set(errstr, n, LDR_ERR_DECODE_FAILED,
                           "%s: next_offset or clock is not a number", meta);
    }
    freeReplyObject(r);
    /* HSCAN in slices: a partition may hold hundreds of thousands. */
    char cursor[32] = "0";
    do {
        r = store_command(s, partition, "HSCAN", errstr, n,
                          "HSCAN %s %s COUNT 1000", ent, cursor);
        if (!r) return LDR_ERR_TRANSIENT;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
            return store_fail(s, r, "HSCAN", errstr, n);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        redisReply *kv = r->element[1];
        for (size_t i = 0; i + 1 < kv->elements; i += 2) {
            ldr_enterprise_t *e = ldr_malloc(sizeof(*e));
            ldr_enterprise_init(e, kv->element[i]->str, kv->element[i]->len);
            if (ldr_enterprise_decode(e, kv->element[i + 1]->str,
                                      kv->element[i + 1]->len)) {
                ldr_err_t err =
                    ldr_err_set(errstr, n, LDR_ERR_DECODE_FAILED,
                                "%s: the state of %.*s does not decode", ent,
                                (int)kv->element[i]->len, kv->element[i]->str);
                ldr_enterprise_fini(e);
                free(e);
                freeReplyObject(r);
                return err;
            }
            ldr_partition_insert(p, e);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    /* An HSCAN cursor is only good on the node that gave it: when a
     * reshard moves the partition's slot between two slices, the next
     * slice is read from the new node with the old cursor and entries are
     * missed. Nothing writes the partition while its owner loads it, and
     * every entry read is a real one, so the state is whole exactly when
     * it holds as many enterprises as the hash does. */
    r = store_command(s, partition, "HLEN", errstr, n, "HLEN %s", ent);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type != REDIS_REPLY_INTEGER)
        return store_fail(s, r, "HLEN", errstr, n);
    long long want = r->integer;
    freeReplyObject(r);
    size_t got = ldr_partition_count(p);
    if ((long long)got != want)
        return ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                           "%s: read %zu of %lld enterprises (the slot moved "
                           "while it was read): reading it again",
                           ent, got, want);
    ldr_err_t rc = store_load_counters(s, partition, errstr, n);
    if (rc) return rc;
    ldr_partition_set_clock(p, clock);
    *next_offset = next;
    return LDR_OK;
}

/* ---- the atomic step ---------------------------------------------------- */

/* The index of @p d's little-giant outcome in store_lg_outcomes, or -1. */
static int store_lg_outcome_index(const ldr_machine_decision_t *d) {
    if (!d->has_tier || d->tier != LDR_TIER_LITTLE_GIANT) return -1;
    switch (d->decision) {
    case LDR_DECISION_DESIGNATED: return 0;
    case LDR_DECISION_RENEWED: return 1;
    case LDR_DECISION_CANCELLED: return 2;
    case LDR_DECISION_REVOKED:
        return d->reasons_count &&
                       strcmp(d->reasons[0], "NO_REVIEW_SUBMITTED") == 0
                   ? 3
                   : 4;
    default: return -1;
    }
}

static const char *const store_lg_outcomes[] = {
    "designated", "renewed", "cancelled", "revoked_no_submission",
    "revoked_review_failed"};

const char *ldr_store_lg_outcome(const ldr_machine_decision_t *d) {
    int i = store_lg_outcome_index(d);
    return i < 0 ? NULL : store_lg_outcomes[i];
}

static uint64_t store_counter_hash(uint64_t unit, int32_t a, int32_t b) {
    uint64_t h = unit ^ ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) *
                            0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 32);
}

static void store_counters_grow(store_counters_t *c) {
    size_t n = c->nslot ? c->nslot * 2 : 256;
    free(c->slot);
    c->slot = ldr_calloc(n, sizeof(*c->slot));
    c->nslot = n;
    for (size_t i = 0; i < c->count; i++) {
        size_t k =
            store_counter_hash(c->v[i].unit, c->v[i].a, c->v[i].b) & (n - 1);
        while (c->slot[k])
            k = (k + 1) & (n - 1);
        c->slot[k] = (uint32_t)(i + 1);
    }
}

/* The counter (@p unit, @p a, @p b) of @p c, added at 0 when absent. */
static store_counter_t *store_counter_at(store_counters_t *c, uint64_t unit,
                                         int32_t a, int32_t b) {
    if (2 * (c->count + 1) > c->nslot) store_counters_grow(c);
    size_t k = store_counter_hash(unit, a, b) & (c->nslot - 1);
    for (; c->slot[k]; k = (k + 1) & (c->nslot - 1)) {
        store_counter_t *v = &c->v[c->slot[k] - 1];
        if (v->unit == unit && v->a == a && v->b == b) return v;
    }
    if (c->count == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 128;
        c->v = ldr_realloc(c->v, c->cap * sizeof(*c->v));
    }
    c->v[c->count] = (store_counter_t){unit, a, b, 0, false};
    c->slot[k] = (uint32_t)++c->count;
    return &c->v[c->count - 1];
}

static void store_count(store_counters_t *c, uint64_t unit, int32_t a,
                        int32_t b, int64_t delta) {
    store_counter_at(c, unit, a, b)->delta += delta;
}

/* Empties the table for the next step, keeping its memory. */
static void store_counters_clear(store_counters_t *c) {
    if (c->count) memset(c->slot, 0, c->nslot * sizeof(*c->slot));
    c->count = 0;
}

static void store_counters_fini(store_counters_t *c) {
    free(c->v);
    free(c->slot);
}

/* A unit's code as a key: its bytes, zero-padded. Codes are 1 to 7 bytes
 * (LDR_ENTERPRISE_UNIT_MAX); the key is never 0, which marks lg. */
static uint64_t store_unit_key(const char *unit) {
    uint64_t k = 0;
    size_t n = strnlen(unit, LDR_ENTERPRISE_UNIT_MAX - 1);
    memcpy(&k, unit, n);
    return k | (uint64_t)1 << 63;
}

static void store_count_state(store_counters_t *c, const char *unit, int tier,
                              ldr_tier_state_t state, int64_t delta) {
    if (state == LDR_TIER_STATE_NONE) return;
    store_count(c, store_unit_key(unit), tier, (int32_t)state, delta);
}

/* The field of counter @p v (store.h): "state:UNIT:TIER:STATE" or
 * "lg:BATCH:OUTCOME", written to @p out (at least 64 bytes). */
static size_t store_counter_field(const store_counter_t *v, char *out) {
    size_t n = 0;
#define STORE_PUT(str)                                                         \
    do {                                                                       \
        size_t l_ = strlen(str);                                               \
        memcpy(out + n, (str), l_);                                            \
        n += l_;                                                               \
    } while (0)
    if (v->unit) {
        char unit[LDR_ENTERPRISE_UNIT_MAX] = {0};
        uint64_t u = v->unit & ~((uint64_t)1 << 63);
        memcpy(unit, &u, LDR_ENTERPRISE_UNIT_MAX - 1);
        STORE_PUT("state:");
        STORE_PUT(unit);
        out[n++] = ':';
        STORE_PUT(ldr_tier_name((ldr_tier_t)v->a));
        out[n++] = ':';
        STORE_PUT(ldr_tier_state_name((ldr_tier_state_t)v->b));
    } else {
        STORE_PUT("lg:");
        n += store_i64_digits(out + n, v->a);
        out[n++] = ':';
        STORE_PUT(store_lg_outcomes[v->b]);
    }
#undef STORE_PUT
    return n;
}

static bool store_is_notice(ldr_decision_type_t t) {
    return t == LDR_DECISION_REVOKED || t == LDR_DECISION_CANCELLED ||
           t == LDR_DECISION_EXPIRED;
}

/* The states of the changed enterprises: a count, then USCC and blob. */
static void store_args_states(ldr_args_t *a, const ldr_store_batch_t *b) {
    store_args_i64(a, (int64_t)b->dirty_count);
    for (size_t i = 0; i < b->dirty_count; i++) {
        store_args_str(a, b->dirty[i].e->uscc);
        store_args_add(a, b->dirty[i].state, b->dirty[i].state_len);
    }
}

/* The step's two timer lists (additions, removals) stay empty: each
 * enterprise's state holds its timers (timer_due), the worker rebuilds its
 * timer heap from the states when it loads a partition, and ladder-admin
 * reads them there. A sorted set beside the states doubled them (about
 * 250 B an enterprise). The lists stay in the step's arguments so that
 * workers of the version before, which still send them, share the Redis
 * library with this one during a rolling upgrade. */
static void store_args_timers(ldr_args_t *a) {
    store_args_i64(a, 0);
    store_args_i64(a, 0);
}

/* The counter a field names (store_counter_field's inverse): 0, or -1
 * for a field this version does not write. */
static int store_counter_parse(const char *f, size_t len, store_counter_t *v) {
    const char *end = f + len, *c1, *c2;
    *v = (store_counter_t){0, 0, 0, 0, false};
    if (len > 5 && memcmp(f, "lg:", 3) == 0) {
        char num[16];
        c1 = memchr(f + 3, ':', len - 3);
        if (!c1 || c1 == f + 3 || (size_t)(c1 - f - 3) >= sizeof(num))
            return -1;
        memcpy(num, f + 3, (size_t)(c1 - f - 3));
        num[c1 - f - 3] = '\0';
        int64_t batch;
        if (store_parse_i64(num, &batch) || batch < INT32_MIN ||
            batch > INT32_MAX)
            return -1;
        v->a = (int32_t)batch;
        for (int i = 0; i < (int)(sizeof(store_lg_outcomes) /
                                  sizeof(store_lg_outcomes[0]));
             i++)
            if ((size_t)(end - c1 - 1) == strlen(store_lg_outcomes[i]) &&
                memcmp(c1 + 1, store_lg_outcomes[i], (size_t)(end - c1 - 1)) ==
                    0) {
                v->b = i;
                return 0;
            }
        return -1;
    }
    if (len < 7 || memcmp(f, "state:", 6) != 0) return -1;
    c1 = memchr(f + 6, ':', len - 6);
    if (!c1 || c1 == f + 6 || c1 - f - 6 > LDR_ENTERPRISE_UNIT_MAX - 1)
        return -1;
    c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
    if (!c2) return -1;
    char unit[LDR_ENTERPRISE_UNIT_MAX] = {0};
    memcpy(unit, f + 6, (size_t)(c1 - f - 6));
    if (strlen(unit) != (size_t)(c1 - f - 6)) return -1; /* a NUL in it */
    int tier = ldr_tier_parse(c1 + 1, (size_t)(c2 - c1 - 1));
    if (tier < 0) return -1;
    for (int st = LDR_TIER_STATE_NONE + 1; st <= LDR_TIER_STATE_REVIEW_DUE;
         st++) {
        const char *name = ldr_tier_state_name((ldr_tier_state_t)st);
        if ((size_t)(end - c2 - 1) == strlen(name) &&
            memcmp(c2 + 1, name, (size_t)(end - c2 - 1)) == 0) {
            v->unit = store_unit_key(unit);
            v->a = tier;
            v->b = st;
            return 0;
        }
    }
    return -1;
}

/* Reads partition @p partition's counters into s->values (ldr_store_load),
 * after which its steps write values. A field that does not parse leaves
 * the partition sending moves, which need no reading. */
static ldr_err_t store_load_counters(ldr_store_t *s, int partition,
                                     char *errstr, size_t n) {
    if ((size_t)partition >= s->nvalues) {
        size_t m = (size_t)partition + 1;
        s->values = ldr_realloc(s->values, m * sizeof(*s->values));
        memset(s->values + s->nvalues, 0,
               (m - s->nvalues) * sizeof(*s->values));
        s->nvalues = m;
    }
    store_counters_t *vs = &s->values[partition].counters;
    s->values[partition].loaded = false;
    store_counters_clear(vs);
    char key[64];
    ldr_store_key(key, sizeof(key), partition, LDR_STORE_KEY_COUNTERS);
    redisReply *r = store_command(s, partition, "HGETALL counters", errstr, n,
                                  "HGETALL %s", key);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type != REDIS_REPLY_ARRAY)
        return store_fail(s, r, "HGETALL counters", errstr, n);
    bool known = true;
    for (size_t i = 0; known && i + 1 < r->elements; i += 2) {
        store_counter_t v;
        int64_t value;
        known =
            r->element[i]->type == REDIS_REPLY_STRING &&
            r->element[i + 1]->type == REDIS_REPLY_STRING &&
            !store_counter_parse(r->element[i]->str, r->element[i]->len, &v) &&
            !store_parse_i64(r->element[i + 1]->str, &value);
        if (known) store_counter_at(vs, v.unit, v.a, v.b)->delta = value;
    }
    freeReplyObject(r);
    s->values[partition].loaded = known;
    return LDR_OK;
}

/* Counters: states move from their value at the last commit (a tier
 * whose unit and state are unchanged moves nothing), and the
 * little-giant outcomes per batch. */
static void store_args_counters(ldr_store_t *s, ldr_args_t *a,
                                const ldr_store_batch_t *b) {
    store_counters_t *cs = &s->counters;
    store_counters_clear(cs);
    for (size_t i = 0; i < b->dirty_count; i++) {
        const ldr_partition_dirty_t *d = &b->dirty[i];
        bool same_unit = strcmp(d->unit_before, d->e->unit) == 0;
        for (int t = 0; t < LDR_TIER__COUNT; t++) {
            if (same_unit && d->state_before[t] == d->e->tiers[t].state)
                continue;
            store_count_state(cs, d->unit_before, t, d->state_before[t], -1);
            store_count_state(cs, d->e->unit, t, d->e->tiers[t].state, +1);
        }
    }
    for (size_t i = 0; i < b->decisions_count; i++) {
        int outcome = store_lg_outcome_index(&b->decisions[i]);
        if (outcome < 0 || !b->decisions[i].has_batch) continue;
        store_count(cs, 0, b->decisions[i].batch, outcome, 1);
    }
    bool values = b->partition >= 0 && (size_t)b->partition < s->nvalues &&
                  s->values[b->partition].loaded;
    if (!values) {
        size_t ncount = store_args_placeholder(a), counts = 0;
        for (size_t i = 0; i < cs->count; i++) {
            if (!cs->v[i].delta) continue;
            char field[64];
            store_args_add(a, field, store_counter_field(&cs->v[i], field));
            store_args_i64(a, cs->v[i].delta);
            counts++;
        }
        store_args_fill(a, ncount, (int64_t)counts);
        return;
    }
    /* "=S/D", then S (field, value) pairs to set and D fields back at
     * zero, to delete: the hash is the same whatever the batch
     * boundaries were. A moved field's delta becomes its value here. */
    store_counters_t *vs = &s->values[b->partition].counters;
    store_args_add(a, "=0000000000/0000000000", 2 * LDR_ARGS_SLOT + 2);
    size_t slot = a->data.len - 2 - 2 * LDR_ARGS_SLOT - 1, set = 0, del = 0;
    for (size_t i = 0; i < cs->count; i++) {
        if (!cs->v[i].delta) continue;
        store_counter_t *v =
            store_counter_at(vs, cs->v[i].unit, cs->v[i].a, cs->v[i].b);
        v->delta += cs->v[i].delta;
        if (!v->delta) {
            cs->v[i].emptied = true;
            continue;
        }
        char field[64];
        store_args_add(a, field, store_counter_field(v, field));
        store_args_i64(a, v->delta);
        set++;
    }
    for (size_t i = 0; i < cs->count; i++) {
        if (!cs->v[i].emptied) continue;
        char field[64];
        store_args_add(a, field, store_counter_field(&cs->v[i], field));
        del++;
    }
    store_args_fill(a, slot, (int64_t)set);
    store_args_fill(a, slot + LDR_ARGS_SLOT + 1, (int64_t)del);
}

/* The notices to append to the stream: a count, then entry id and the
 * notice in its compact form (decision.h). */
static void store_args_notices(ldr_store_t *s, ldr_args_t *a,
                               const ldr_store_batch_t *b) {
    size_t nnotice = store_args_placeholder(a), notices = 0;
    for (size_t i = 0; i < b->decisions_count; i++) {
        if (!store_is_notice(b->decisions[i].decision)) continue;
        ldr_record_t rec;
        ldr_machine_decision_record(&b->decisions[i], &rec);
        /* The entry id comes from the message that caused the decision
         * (its offset + 1, as 0-0 is not a valid id, and its place among
         * that message's decisions), never from where the batch ended: a
         * replay cut into other batches writes the same ids. */
        char id[48];
        size_t idn = store_i64_digits(id, b->decisions[i].offset + 1);
        id[idn++] = '-';
        idn += store_i64_digits(id + idn, b->decisions[i].n);
        store_args_add(a, id, idn);
        ldr_buf_reset(&s->notice);
        ldr_decision_write_notice(&rec.u.decision, &s->notice);
        store_args_add(a, s->notice.data, s->notice.len);
        notices++;
    }
    store_args_fill(a, nnotice, (int64_t)notices);
}

/* A step built and not yet sent: its arguments, in the frame store_write
 * sends. */
struct ldr_store_step {
    ldr_args_t args;
    int partition;
    bool built;
};

ldr_store_step_t *ldr_store_step_new(void) {
    ldr_store_step_t *st = ldr_calloc(1, sizeof(*st));
    ldr_buf_init(&st->args.data);
    return st;
}

void ldr_store_step_free(ldr_store_step_t *st) {
    if (!st) return;
    store_args_fini(&st->args);
    free(st);
}

void ldr_store_step_clear(ldr_store_step_t *st, size_t keep) {
    st->built = false;
    if (st->args.data.cap > keep) {
        ldr_buf_fini(&st->args.data);
        ldr_buf_init(&st->args.data);
    }
}

void ldr_store_step_build(ldr_store_t *s, const ldr_store_batch_t *b,
                          ldr_store_step_t *st) {
    ldr_args_t *a = &st->args;
    store_args_reset(a);
    store_args_str(a, "FCALL");
    store_args_str(a, "ladder_step");
    store_args_str(a, "6");
    for (int i = 0; i < 6; i++) {
        char key[LDR_STORE_KEY_SIZE];
        ldr_store_key(key, sizeof(key), b->partition, (ldr_store_key_t)i);
        store_args_str(a, key);
    }
    store_args_i64(a, b->epoch);
    store_args_i64(a, b->first_offset);
    store_args_i64(a, b->next_offset);
    store_args_i64(a, b->clock);

    store_args_states(a, b);
    store_args_timers(a);
    store_args_counters(s, a, b);

    store_args_add(a, b->outbox ? b->outbox : "",
                   b->outbox ? b->outbox_len : 0);

    store_args_notices(s, a, b);
    store_args_i64(a, b->notices_maxlen > 0 ? b->notices_maxlen : 10000);
    st->partition = b->partition;
    st->built = true;
}

ldr_err_t ldr_store_step_send(ldr_store_t *s, ldr_store_step_t *st,
                              char *errstr, size_t n) {
    if (!st->built) abort(); /* see store.h */
    redisContext *c =
        ldr_cluster_pipe(s->cl, store_slot(s, st->partition), errstr, n);
    if (!c) return LDR_ERR_TRANSIENT;
    store_owe(s, c, st->partition, LDR_STORE_OP_STEP);
    store_write(s, c, &st->args);
    st->built = false;
    return LDR_OK;
}

ldr_err_t ldr_store_commit_send(ldr_store_t *s, const ldr_store_batch_t *b,
                                char *errstr, size_t n) {
    if (!s->step) s->step = ldr_store_step_new();
    ldr_store_step_build(s, b, s->step);
    return ldr_store_step_send(s, s->step, errstr, n);
}

/* Waits for every answer owed (for the one-call forms below, which need
 * nothing else in flight) and returns the last one's result. */
static void store_last(void *opaque, const ldr_store_answer_t *a) {
    *(ldr_store_answer_t *)opaque = *a;
}

static ldr_err_t store_await(ldr_store_t *s, char *errstr, size_t n) {
    ldr_store_answer_t last = {.result = LDR_ERR_TRANSIENT};
    while (s->owed || s->ndone)
        ldr_store_poll(s, s->timeout_ms, store_last, &last);
    if (last.result) ldr_err_set(errstr, n, last.result, "%s", last.why);
    return last.result;
}

ldr_err_t ldr_store_commit(ldr_store_t *s, const ldr_store_batch_t *b,
                           char *errstr, size_t n) {
    if (s->owed || s->ndone) abort(); /* see store.h */
    ldr_err_t err = ldr_store_commit_send(s, b, errstr, n);
    return err ? err : store_await(s, errstr, n);
}

/* ---- outbox -----------------------------------------------------------------
 */

ldr_err_t ldr_store_outbox(ldr_store_t *s, int partition,
                           void (*fn)(void *opaque, int64_t id,
                                      const void *payload, size_t len),
                           void *opaque, char *errstr, size_t n) {
    char key[64];
    ldr_store_key(key, sizeof(key), partition, LDR_STORE_KEY_OUTBOX);
    redisReply *r = store_command(s, partition, "XRANGE outbox", errstr, n,
                                  "XRANGE %s - +", key);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type != REDIS_REPLY_ARRAY)
        return store_fail(s, r, "XRANGE outbox", errstr, n);
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *entry = r->element[i];
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) continue;
        int64_t id = strtoll(entry->element[0]->str, NULL, 10);
        redisReply *fields = entry->element[1];
        for (size_t f = 0; f + 1 < fields->elements; f += 2)
            if (strcmp(fields->element[f]->str, "payload") == 0)
                fn(opaque, id, fields->element[f + 1]->str,
                   fields->element[f + 1]->len);
    }
    freeReplyObject(r);
    return LDR_OK;
}

void ldr_store_ping_send(ldr_store_t *s) {
    char err[256];
    int masters = ldr_cluster_masters(s->cl);
    for (int i = 0; i < masters; i++) {
        redisContext *c = ldr_cluster_master_pipe(s->cl, i, err, sizeof(err));
        if (!c) continue; /* backing off: its partitions know already */
        store_pipe_t *pp = store_pipe_of(s, c);
        if (pp && pp->head < pp->len) continue; /* answers are due anyway */
        if (redisAppendCommand(c, "PING") != REDIS_OK) abort();
        store_owe(s, c, -1, LDR_STORE_OP_PING);
        store_flush(s, c);
    }
}

ldr_err_t ldr_store_outbox_trim_send(ldr_store_t *s, int partition, int64_t id,
                                     char *errstr, size_t n) {
    char key[64];
    ldr_store_key(key, sizeof(key), partition, LDR_STORE_KEY_OUTBOX);
    redisContext *c =
        ldr_cluster_pipe(s->cl, store_slot(s, partition), errstr, n);
    if (!c) return LDR_ERR_TRANSIENT;
    if (redisAppendCommand(c, "XTRIM %s MINID %lld-0", key,
                           (long long)id + 1) != REDIS_OK)
        abort();
    store_owe(s, c, partition, LDR_STORE_OP_TRIM);
    store_flush(s, c);
    return LDR_OK;
}

ldr_err_t ldr_store_outbox_trim(ldr_store_t *s, int partition, int64_t id,
                                char *errstr, size_t n) {
    char key[64];
    ldr_store_key(key, sizeof(key), partition, LDR_STORE_KEY_OUTBOX);
    redisReply *r =
        store_command(s, partition, "XTRIM outbox", errstr, n,
                      "XTRIM %s MINID %lld-0", key, (long long)id + 1);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type != REDIS_REPLY_INTEGER)
        return store_fail(s, r, "XTRIM outbox", errstr, n);
    freeReplyObject(r);
    return LDR_OK;
}

ldr_err_t ldr_store_beat_send(ldr_store_t *s, int partition, int64_t now_ms,
                              char *errstr, size_t n) {
    char key[LDR_STORE_KEY_SIZE];
    ldr_store_key(key, sizeof(key), partition, LDR_STORE_KEY_META);
    redisContext *c =
        ldr_cluster_pipe(s->cl, store_slot(s, partition), errstr, n);
    if (!c) return LDR_ERR_TRANSIENT;
    if (redisAppendCommand(c, "HSET %s heartbeat %lld", key,
                           (long long)now_ms) != REDIS_OK)
        abort();
    store_owe(s, c, partition, LDR_STORE_OP_BEAT);
    store_flush(s, c);
    return LDR_OK;
}

/* ---- the operator's view --------------------------------------------------
 *
 * Reads for ladder-admin, on the command connections. None of them writes
 * but ldr_store_rebuild(), which is one Redis function call. */

/* The integer of a bulk string or integer reply; @p dflt for nil. -1 when
 * it is neither a number nor nil. */
static int store_reply_i64(const redisReply *r, int64_t dflt, int64_t *out) {
    if (r->type == REDIS_REPLY_NIL) {
        *out = dflt;
        return 0;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
        *out = r->integer;
        return 0;
    }
    if (r->type == REDIS_REPLY_STRING) return store_parse_i64(r->str, out);
    return -1;
}

static void store_count_timer(void *opaque, int tier, int kind, int64_t due) {
    (void)tier;
    (void)kind;
    (void)due;
    (*(long long *)opaque)++;
}

/* The timers pending in the partition's stored states: every state
 * decoded, a thousand at a time (HSCAN), so O(enterprises); for
 * ladder-admin, never on the worker's path. */
static ldr_err_t store_count_timers(ldr_store_t *s, int partition,
                                    const char *ent, long long *count,
                                    char *errstr, size_t n) {
    char cursor[32] = "0";
    ldr_enterprise_t e;
    ldr_enterprise_init(&e, "", 0);
    ldr_err_t err = LDR_OK;
    *count = 0;
    do {
        redisReply *r = store_command(s, partition, "HSCAN ent", errstr, n,
                                      "HSCAN %s %s COUNT 1000", ent, cursor);
        if (!r) {
            err = LDR_ERR_TRANSIENT;
            break;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            err = store_fail(s, r, "HSCAN ent", errstr, n);
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        redisReply *kv = r->element[1];
        for (size_t i = 0; i + 1 < kv->elements && !err; i += 2) {
            /* the USCC first: a history is read against it */
            memset(e.uscc, 0, sizeof(e.uscc));
            memcpy(e.uscc, kv->element[i]->str,
                   kv->element[i]->len < 18 ? kv->element[i]->len : 18);
            if (ldr_enterprise_decode(&e, kv->element[i + 1]->str,
                                      kv->element[i + 1]->len))
                err = ldr_err_set(errstr, n, LDR_ERR_DECODE_FAILED,
                                  "%s: the state of %s does not decode", ent,
                                  kv->element[i]->str);
            else
                ldr_enterprise_each_timer(&e, store_count_timer, count);
        }
        freeReplyObject(r);
    } while (!err && strcmp(cursor, "0") != 0);
    ldr_enterprise_fini(&e);
    return err;
}

ldr_err_t ldr_store_info(ldr_store_t *s, int partition, ldr_store_info_t *info,
                         char *errstr, size_t n) {
    char key[LDR_STORE_KEY__COUNT][LDR_STORE_KEY_SIZE];
    for (int i = 0; i < LDR_STORE_KEY_PARTITIONS; i++)
        ldr_store_key(key[i], sizeof(key[i]), partition, (ldr_store_key_t)i);
    redisReply *r = store_command(s, partition, "HMGET meta", errstr, n,
                                  "HMGET %s epoch next_offset clock heartbeat",
                                  key[LDR_STORE_KEY_META]);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4)
        return store_fail(s, r, "HMGET meta", errstr, n);
    ldr_store_info_t out = {0};
    if (store_reply_i64(r->element[0], 0, &out.epoch) ||
        store_reply_i64(r->element[1], -1, &out.next_offset) ||
        store_reply_i64(r->element[2], 0, &out.clock) ||
        store_reply_i64(r->element[3], -1, &out.heartbeat_ms)) {
        freeReplyObject(r);
        return ldr_err_set(errstr, n, LDR_ERR_DECODE_FAILED,
                           "%s: a field is not a number",
                           key[LDR_STORE_KEY_META]);
    }
    freeReplyObject(r);
    long long *dst[] = {&out.enterprises, &out.outbox, &out.notices};
    for (int i = 0; i < 3; i++) {
        const char *key_i = key[i == 0   ? LDR_STORE_KEY_ENT
                                : i == 1 ? LDR_STORE_KEY_OUTBOX
                                         : LDR_STORE_KEY_NOTICES];
        const char *what = i == 0 ? "HLEN" : "XLEN";
        r = store_command(s, partition, what, errstr, n, "%s %s", what, key_i);
        if (!r) return LDR_ERR_TRANSIENT;
        if (r->type != REDIS_REPLY_INTEGER)
            return store_fail(s, r, what, errstr, n);
        *dst[i] = r->integer;
        freeReplyObject(r);
    }
    ldr_err_t err = store_count_timers(s, partition, key[LDR_STORE_KEY_ENT],
                                       &out.timers, errstr, n);
    if (err) return err;
    *info = out;
    return LDR_OK;
}

ldr_err_t ldr_store_get_partitions(ldr_store_t *s, int *count, char *errstr,
                                   size_t n) {
    int slot = ldr_cluster_key_slot(STORE_KEY_PARTITIONS,
                                    sizeof(STORE_KEY_PARTITIONS) - 1);
    redisReply *r = store_command(s, -slot - 1, "GET", errstr, n, "GET %s",
                                  STORE_KEY_PARTITIONS);
    if (!r) return LDR_ERR_TRANSIENT;
    int64_t v;
    if (store_reply_i64(r, 0, &v) || v < 0 || v > INT32_MAX) {
        if (r->type == REDIS_REPLY_ERROR)
            return store_fail(s, r, "GET " STORE_KEY_PARTITIONS, errstr, n);
        freeReplyObject(r);
        return ldr_err_set(errstr, n, LDR_ERR_DECODE_FAILED,
                           "%s is not a partition count", STORE_KEY_PARTITIONS);
    }
    freeReplyObject(r);
    *count = (int)v;
    return LDR_OK;
}

/* ---- the replay ledger ----------------------------------------------------
 *
 * One key (store.h), so its slot is computed from the name and every call
 * is one command on that slot's master. */

static int store_replays_where(void) {
    return -ldr_cluster_key_slot(STORE_KEY_REPLAYS,
                                 sizeof(STORE_KEY_REPLAYS) - 1) -
           1;
}

ldr_err_t ldr_store_replay_get(ldr_store_t *s, const char *letter, char *value,
                               size_t value_size, bool *found, char *errstr,
                               size_t n) {
    redisReply *r =
        store_command(s, store_replays_where(), "HGET " STORE_KEY_REPLAYS,
                      errstr, n, "HGET %s %s", STORE_KEY_REPLAYS, letter);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_STRING)
        return store_fail(s, r, "HGET " STORE_KEY_REPLAYS, errstr, n);
    *found = r->type == REDIS_REPLY_STRING;
    snprintf(value, value_size, "%s", *found ? r->str : "");
    freeReplyObject(r);
    return LDR_OK;
}

ldr_err_t ldr_store_replay_set(ldr_store_t *s, const char *letter,
                               const char *value, bool only_new, bool *written,
                               char *errstr, size_t n) {
    const char *cmd = only_new ? "HSETNX" : "HSET";
    redisReply *r =
        store_command(s, store_replays_where(), cmd, errstr, n, "%s %s %s %s",
                      cmd, STORE_KEY_REPLAYS, letter, value);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type != REDIS_REPLY_INTEGER) return store_fail(s, r, cmd, errstr, n);
    /* HSET answers the number of new fields (0 when it overwrote one). */
    if (written) *written = only_new ? r->integer == 1 : true;
    freeReplyObject(r);
    return LDR_OK;
}

ldr_err_t ldr_store_replay_forget(ldr_store_t *s, const char *letter,
                                  char *errstr, size_t n) {
    redisReply *r =
        store_command(s, store_replays_where(), "HDEL " STORE_KEY_REPLAYS,
                      errstr, n, "HDEL %s %s", STORE_KEY_REPLAYS, letter);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type != REDIS_REPLY_INTEGER)
        return store_fail(s, r, "HDEL " STORE_KEY_REPLAYS, errstr, n);
    freeReplyObject(r);
    return LDR_OK;
}

ldr_err_t ldr_store_enterprise(ldr_store_t *s, int partition, const char *uscc,
                               ldr_enterprise_t *e, bool *found, char *errstr,
                               size_t n) {
    char key[LDR_STORE_KEY_SIZE];
    ldr_store_key(key, sizeof(key), partition, LDR_STORE_KEY_ENT);
    redisReply *r =
        store_command(s, partition, "HGET", errstr, n, "HGET %s %s", key, uscc);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        *found = false;
        return LDR_OK;
    }
    if (r->type != REDIS_REPLY_STRING)
        return store_fail(s, r, "HGET", errstr, n);
    ldr_err_t err = LDR_OK;
    if (ldr_enterprise_decode(e, r->str, r->len))
        err = ldr_err_set(errstr, n, LDR_ERR_DECODE_FAILED,
                          "%s: the state of %s does not decode", key, uscc);
    else
        *found = true;
    freeReplyObject(r);
    return err;
}

ldr_err_t ldr_store_notices(ldr_store_t *s, int partition,
                            void (*fn)(void *opaque, const char *id,
                                       const char *json, size_t len),
                            void *opaque, char *errstr, size_t n) {
    char key[LDR_STORE_KEY_SIZE];
    ldr_store_key(key, sizeof(key), partition, LDR_STORE_KEY_NOTICES);
    redisReply *r = store_command(s, partition, "XRANGE notices", errstr, n,
                                  "XRANGE %s - +", key);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type != REDIS_REPLY_ARRAY)
        return store_fail(s, r, "XRANGE notices", errstr, n);
    ldr_buf_t json;
    ldr_buf_init(&json);
    ldr_err_t err = LDR_OK;
    for (size_t i = 0; i < r->elements && !err; i++) {
        redisReply *entry = r->element[i];
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) continue;
        redisReply *fields = entry->element[1];
        for (size_t f = 0; f + 1 < fields->elements && !err; f += 2) {
            if (strcmp(fields->element[f]->str, "decision") != 0) continue;
            const redisReply *v = fields->element[f + 1];
            if (!ldr_decision_is_notice(v->str, v->len)) {
                /* JSON text, as an earlier version wrote it */
                fn(opaque, entry->element[0]->str, v->str, v->len);
                continue;
            }
            ldr_decision_t d;
            if (ldr_decision_read_notice(v->str, v->len, &d)) {
                err = ldr_err_set(errstr, n, LDR_ERR_DECODE_FAILED,
                                  "%s: entry %s does not decode", key,
                                  entry->element[0]->str);
                break;
            }
            ldr_buf_reset(&json);
            ldr_decision_write_json(&d, &json);
            fn(opaque, entry->element[0]->str, json.data, json.len);
        }
    }
    ldr_buf_fini(&json);
    freeReplyObject(r);
    return err;
}

int ldr_store_check(ldr_store_t *s,
                    void (*fn)(void *opaque, const char *node, const char *what,
                               bool ok, const char *detail),
                    void *opaque) {
    int failed = 0, masters = ldr_cluster_masters(s->cl);
    for (int i = 0; i < masters; i++) {
        char name[300], err[512] = "", detail[512];
        ldr_store_node_name(s, i, name, sizeof(name));
        redisContext *c = ldr_cluster_master(s->cl, i, err, sizeof(err));
        redisReply *r = c ? redisCommand(c, "PING") : NULL;
        bool ok = r && r->type == REDIS_REPLY_STATUS;
        snprintf(detail, sizeof(detail), "%s",
                 ok ? "PONG"
                 : r && r->type == REDIS_REPLY_ERROR
                     ? r->str
                     : (c && c->errstr[0] ? c->errstr
                                          : (err[0] ? err : "no answer")));
        if (c && !r) ldr_cluster_drop(s->cl, c);
        freeReplyObject(r);
        fn(opaque, name, "ping", ok, detail);
        if (!ok) {
            failed++;
            continue;
        }
        r = redisCommand(c, "FUNCTION LIST LIBRARYNAME ladder");
        ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1;
        snprintf(detail, sizeof(detail), "%s",
                 ok ? "library ladder loaded"
                 : r && r->type == REDIS_REPLY_ERROR
                     ? r->str
                     : "library ladder is missing (FUNCTION LOAD failed?)");
        if (!r) ldr_cluster_drop(s->cl, c);
        freeReplyObject(r);
        fn(opaque, name, "functions", ok, detail);
        failed += !ok;
        if (!ok || !ldr_cluster_enabled(s->cl)) continue;
        r = redisCommand(c, "CLUSTER INFO");
        const char *st = r && r->type == REDIS_REPLY_STRING
                             ? strstr(r->str, "cluster_state:")
                             : NULL;
        ok = st && strncmp(st + 14, "ok", 2) == 0;
        if (st)
            snprintf(detail, sizeof(detail), "%.*s", (int)strcspn(st, "\r\n"),
                     st);
        else
            snprintf(detail, sizeof(detail), "%s",
                     r && r->type == REDIS_REPLY_ERROR ? r->str
                                                       : "no CLUSTER INFO");
        if (!r) ldr_cluster_drop(s->cl, c);
        freeReplyObject(r);
        fn(opaque, name, "cluster_state", ok, detail);
        failed += !ok;
    }
    return failed;
}

ldr_err_t ldr_store_rebuild(ldr_store_t *s, int partition,
                            int64_t alive_since_ms, int64_t *epoch,
                            int64_t *heartbeat_ms, char *errstr, size_t n) {
    char keys[6][LDR_STORE_KEY_SIZE], since[24] = "";
    const char *argv[10];
    size_t argl[10];
    argv[0] = "FCALL";
    argv[1] = "ladder_rebuild";
    argv[2] = "6";
    for (int i = 0; i < 6; i++) {
        ldr_store_key(keys[i], sizeof(keys[i]), partition, (ldr_store_key_t)i);
        argv[3 + i] = keys[i];
    }
    if (alive_since_ms >= 0)
        snprintf(since, sizeof(since), "%lld", (long long)alive_since_ms);
    argv[9] = since;
    for (int i = 0; i < 10; i++)
        argl[i] = strlen(argv[i]);
    redisReply *r = store_argv(s, partition, "FCALL ladder_rebuild", 10, argv,
                               argl, errstr, n);
    if (!r) return LDR_ERR_TRANSIENT;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "ALIVE ", 6) == 0) {
        int64_t beat = -1;
        const char *b = strrchr(r->str, ' ');
        store_parse_i64(b + 1, &beat);
        *heartbeat_ms = beat;
        freeReplyObject(r);
        return ldr_err_set(errstr, n, LDR_ERR_FENCED,
                           "partition %d: its owner's heartbeat is fresh",
                           partition);
    }
    if (r->type != REDIS_REPLY_INTEGER)
        return store_fail(s, r, "FCALL ladder_rebuild", errstr, n);
    *epoch = r->integer;
    freeReplyObject(r);
    return LDR_OK;
}
