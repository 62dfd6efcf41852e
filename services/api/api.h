/* api.h -- what the parts of ladder-api share.
 *
 * DESIGN: ladder-api is read-only over the store the workers write
 * (store.h's key layout). api.c holds start-up, the routes and the JSON
 * answers; notices.c follows the per-partition notices streams on a thread
 * of its own and serves them as Server-Sent Events. Requests run on one
 * thread per connection (a stream blocks its connection), so every Redis
 * call of a request takes a connection from a small pool: hiredis
 * connections are not thread-safe. */
#ifndef LADDER_API_H
#define LADDER_API_H

#include "ladder/http.h"
#include "ladder/metrics.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define API_POOL_MAX 64

typedef struct api_pool {
    pthread_mutex_t lock;
    redisContext *idle[API_POOL_MAX];
    int nidle;
    const char *url;
    const char *password;
    int timeout_ms;
} api_pool_t;

/** A connection from the pool (a new one when none is idle), or NULL with
 *  @p errstr set when Redis cannot be reached. */
redisContext *api_pool_get(api_pool_t *p, char *errstr, size_t errstr_size);
/** Gives @p c back; a connection that saw an error is closed instead. */
void api_pool_put(api_pool_t *p, redisContext *c);

/** The input topic's partition count as the workers recorded it
 *  (ldr:partitions), cached for a second; 0 when none is recorded yet, -1
 *  when Redis cannot be asked. */
int api_partitions(api_pool_t *p);

typedef struct api_notices api_notices_t;

/** Starts following the notices streams of every partition (a thread with
 *  its own Redis connection); @p received counts what it reads, @p clients
 *  is the gauge of open streams. */
api_notices_t *api_notices_start(api_pool_t *pool, ldr_metric_t *received,
                                 ldr_metric_t *clients);
/** Ends every open stream and stops following (returns within about a
 *  second); the HTTP server can then stop without waiting for clients. */
void api_notices_stop(api_notices_t *n);
void api_notices_destroy(api_notices_t *n);

/** GET /v1/notices/stream: answers with a stream of the notices decided
 *  from now on, or from after the request's Last-Event-ID. */
void api_notices_sse(api_notices_t *n, const ldr_http_request_t *req,
                     ldr_http_response_t *res);

/** Rewrites one notice as the notices stream stores it into the JSON the
 *  API serves (decided_at null: see docs/API.md); NULL when it does not
 *  parse. *effective_at_ms gets its effective_at. New reference. */
json_t *api_notice_json(const char *text, size_t len, int64_t *effective_at_ms);

#endif
