/* api_int.h -- what the files of ladder-api share (private to services/api).
 *
 * DESIGN: ladder-api is read-only over the store the workers write; every
 * key name comes from store.h (ldr_store_key()), so the layout is spelled
 * in one place. The files depend on each other in one direction only:
 *
 *   main.c        start-up and shutdown (the svc skeleton)
 *   routes.c      the route table, dispatch, the JSON answers, the notices
 *                 list and the health routes
 *   enterprise.c  GET /v1/enterprises/{uscc}
 *   stats.c       GET /v1/stats
 *   follow.c      the notices follower thread and its ring
 *   sse.c         Server-Sent Events: cursors into that ring
 *   auth.c        the api.token check, the session cookie and sign-in
 *   pool.c        the Redis pool, the partition count and a notice's JSON,
 *                 which both routes.c and sse.c use
 *
 * Requests run on one thread per connection (a stream blocks its
 * connection), so every Redis call of a request takes a connection from a
 * small pool: hiredis connections are not thread-safe. */
#ifndef LADDER_API_INT_H
#define LADDER_API_INT_H

#include "ladder/cluster.h"
#include "ladder/http.h"
#include "ladder/metrics.h"
#include "ladder/svc.h"
#include "ladder/tally.h"
#include "ladder/units.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* ---- pool.c ------------------------------------------------------------- */

#define API_POOL_MAX 64

/* A pooled "connection" is a cluster router (ldr/cluster.h): with one
 * plain server it is that server's one connection; with a Redis Cluster it
 * holds the slot map and a connection per master, and a partition's
 * commands go to its master (api_ctx(), api_command()). */
typedef struct api_pool {
    pthread_mutex_t lock;
    ldr_cluster_t *idle[API_POOL_MAX];
    int nidle;
    const char *url;
    const char *password;
    ldr_cluster_mode_t mode;
    int timeout_ms;
} api_pool_t;

void api_pool_init(api_pool_t *p, const char *url, const char *password,
                   ldr_cluster_mode_t mode, int timeout_ms);
/** Closes the idle connections; every connection must be back. */
void api_pool_fini(api_pool_t *p);
/** A new router on the pool's settings (the caller destroys it), or NULL
 *  with @p errstr set. */
ldr_cluster_t *api_connect(api_pool_t *p, char *errstr, size_t errstr_size);
/** A connection from the pool (a new one when none is idle), or NULL with
 *  @p errstr set when Redis cannot be reached. */
ldr_cluster_t *api_pool_get(api_pool_t *p, char *errstr, size_t errstr_size);
/** Gives @p cl back (a router repairs its own lost connections). */
void api_pool_put(api_pool_t *p, ldr_cluster_t *cl);

/** The connection that serves partition @p p's keys, or NULL with
 *  @p errstr set. */
redisContext *api_ctx(ldr_cluster_t *cl, int p, char *errstr,
                      size_t errstr_size);
/** One command on partition @p p's node (ldr_cluster_command()); the
 *  reply, or NULL with @p errstr set. */
redisReply *api_command(ldr_cluster_t *cl, int p, char *errstr,
                        size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/** The input topic's partition count as the workers recorded it, read on
 *  @p cl: 0 when none is recorded yet, -1 when Redis failed. */
int api_partitions_read(ldr_cluster_t *cl);
/** The same through the pool, cached for a second. */
int api_partitions(api_pool_t *p);

/** Rewrites one notice as the notices stream stores it (compact, or JSON
 *  text from an earlier version) into the JSON the API serves (decided_at
 *  null: see docs/API.md); NULL when it does not decode. *effective_at_ms
 *  gets its effective_at. New reference. */
json_t *api_notice_json(const char *text, size_t len, int64_t *effective_at_ms);

/* ---- follow.c and sse.c ------------------------------------------------- */

#define API_RING_CAP  8192
#define API_PARTS_MAX 1024

typedef struct api_notices api_notices_t;

/* The follower's state: written by its thread, read by the event streams,
 * both under the lock. */
typedef struct api_ring_entry {
    char id[96]; /* decision_id */
    char *data;  /* the decision's JSON, one line */
} api_ring_entry_t;

struct api_notices {
    api_pool_t *pool;
    ldr_http_t *http;     /* counts refusals */
    ldr_tally_t *streams; /* open streams, per client address */
    int replay_max;       /* api.replay.max */
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

/* The CLOCK_MONOTONIC time @p s seconds from now, for n->cond. */
void api_deadline(struct timespec *ts, double s);

/** One stream entry's notice, rewritten for the API (free() it); NULL when
 *  it has none that parses. @p id gets its decision_id. */
char *api_entry_notice(const redisReply *fields, char *id, size_t id_size);

/** Starts following the notices streams of every partition (a thread with
 *  its own Redis connection); @p received counts what it reads, @p clients
 *  is the gauge of open streams. */
api_notices_t *api_notices_start(api_pool_t *pool, ldr_metric_t *received,
                                 ldr_metric_t *clients);
/** Ends every open stream and stops following (returns within about a
 *  second); the HTTP server can then stop without waiting for clients. */
void api_notices_stop(api_notices_t *n);
void api_notices_destroy(api_notices_t *n);

/** Caps the open streams at @p max_streams in all and
 *  @p max_streams_per_ip per client address (more are answered 503), and a
 *  resumed stream's replay from the store at @p replay_max notices. Before
 *  the HTTP server starts. */
void api_notices_limits(api_notices_t *n, ldr_http_t *http, int max_streams,
                        int max_streams_per_ip, int replay_max);

/** GET /v1/notices/stream: answers with a stream of the notices decided
 *  from now on, or from after the request's Last-Event-ID. */
void api_notices_sse(api_notices_t *n, const ldr_http_request_t *req,
                     ldr_http_response_t *res);

/* ---- auth.c ------------------------------------------------------------- */

/* The credentials ladder-api accepts: api.token and the session key derived
 * from it (auth.c). */
typedef struct api_auth {
    const char *token; /* NULL: the API is open */
    unsigned char key[32];
    int lifetime_s; /* api.session.lifetime.s */
} api_auth_t;

/** Sets @p auth up for @p token (NULL: open) and sessions that last
 *  @p lifetime_s seconds. */
void api_auth_init(api_auth_t *auth, const char *token, int lifetime_s);
/** True when the API is open, or @p req carries the token as a bearer
 *  token or a valid, unexpired session cookie. */
bool api_authorized(const api_auth_t *auth, const ldr_http_request_t *req);
/** True when a token is required and @p req has ?token= (refused). */
bool api_token_in_url(const api_auth_t *auth, const ldr_http_request_t *req);
/** /v1/session: GET says whether a credential is required and whether
 *  the request is signed in; POST {"token": ...} (application/json) signs
 *  in and sets the session cookie. */
void api_session(const api_auth_t *auth, const ldr_http_request_t *req,
                 ldr_http_response_t *res);
/** POST /v1/session/end (application/json): signs out (clears the
 *  cookie). */
void api_session_end(const ldr_http_request_t *req, ldr_http_response_t *res);

/* ---- the service (main.c) and its routes (routes.c) --------------------- */

typedef struct api {
    ldr_svc_t *svc;
    ldr_units_t *units;
    api_pool_t pool;
    api_notices_t *notices;
    api_auth_t auth;
    const char *input_topic;
    int notices_limit;
    ldr_metric_t *requests, *seconds, *sse_clients, *received, *redis_errors;
} api_t;

/** Registers every route and the fallback on the service's HTTP server;
 *  @p a must outlive it. */
void api_routes(api_t *a);

/* answer.c: the JSON answers every route, auth.c and sse.c give. */
void api_json(ldr_http_response_t *res, int status, json_t *j);
void api_error(ldr_http_response_t *res, int status, const char *code,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/** 503 store_unavailable "redis: @p what", counted. */
void api_store_error(api_t *a, ldr_http_response_t *res, const char *what);
/** api_store_error() for a partition count that cannot be read. */
void api_partitions_error(api_t *a, ldr_http_response_t *res);
/** The partition count and a pooled store connection for a handler that
 *  reads every partition (*@p c NULL when there are none yet); false after
 *  answering the request with the error. The caller gives *@p c back with
 *  api_pool_put(). */
bool api_open_partitions(api_t *a, ldr_http_response_t *res, int *parts,
                         ldr_cluster_t **c);
json_t *api_time(int64_t ms);
json_t *api_opt_time(bool has, int64_t ms);

/* enterprise.c, stats.c */
void api_enterprise(api_t *a, const ldr_http_request_t *req,
                    ldr_http_response_t *res);
void api_stats(api_t *a, const ldr_http_request_t *req,
               ldr_http_response_t *res);

#endif
