/* http.h -- a small HTTP server for health checks and metrics.
 *
 * DESIGN: a thin wrapper over libmicrohttpd that runs the server on a thread
 * of its own (MHD's internal polling thread), so a program's main loop never
 * waits for a scraper and a stuck loop still answers /livez with what it
 * last published. The program registers GET handlers by exact path before
 * starting; any other path is 404, any other method on a known path 405
 * (with Allow), and HEAD is answered like GET without the body. Handlers run
 * one at a time on the server's thread: what they read from the rest of the
 * program must be safe to read from another thread (ldr_metrics_t is, and
 * so are atomics).
 *
 * The address is the value of http.listen (host:port, [IPv6]:port). The
 * socket is bound here rather than by MHD so that a failure says why (the
 * errno of bind, the resolver's message) in one line that names
 * http.listen; port 0 binds a free port, reported by ldr_http_port(), for
 * tests. Signals are blocked on the server's thread, so SIGTERM and SIGINT
 * reach the program's own threads and interrupt what they wait for.
 *
 *     ldr_http_t *h = ldr_http_new();
 *     ldr_http_get(h, "/livez", live_fn, ctx);
 *     if (ldr_http_start(h, ldr_config_get(cfg, "http.listen"), err, n))
 *         -> print err, exit 2
 *     ...
 *     ldr_http_destroy(h);   stops the server and joins its thread
 */
#ifndef LADDER_HTTP_H
#define LADDER_HTTP_H

#include "ladder/buf.h"
#include "ladder/err.h"

typedef struct ldr_http ldr_http_t;

/** What a handler answers. The server fills in status 200, content type
 *  "text/plain; charset=utf-8" and an empty body before calling it. */
typedef struct ldr_http_response {
    int status;
    /** Static storage, or storage that outlives the server. */
    const char *content_type;
    /** Appended to by the handler; freed by the server. */
    ldr_buf_t body;
} ldr_http_response_t;

/** Answers one GET (or HEAD) request, on the server's thread. */
typedef void (*ldr_http_handler_fn)(void *opaque, ldr_http_response_t *res);

/** Creates a server that is not listening yet; free it with
 *  ldr_http_destroy(). */
ldr_http_t *ldr_http_new(void);

/** Stops the server if it runs (waiting for the request in hand), closes
 *  its socket and frees @p h (NULL is accepted). */
void ldr_http_destroy(ldr_http_t *h);

/** Serves GET and HEAD of exactly @p path (copied; no query string) with
 *  @p fn, called with @p opaque. Only before ldr_http_start(); registering
 *  a path twice aborts (a programming error). */
void ldr_http_get(ldr_http_t *h, const char *path, ldr_http_handler_fn fn,
                  void *opaque);

/** Binds @p listen ("127.0.0.1:9464", "[::1]:0", "localhost:8080") and
 *  starts serving. Errors, with one line in @p errstr that starts with
 *  "http.listen: " and quotes the address: LDR_ERR_CONFIG when it is not a
 *  host:port or the host does not resolve, LDR_ERR_IO when the socket
 *  cannot be bound (the port is in use, the address is not local) or the
 *  server cannot start. Nothing is left open on error. */
ldr_err_t ldr_http_start(ldr_http_t *h, const char *listen, char *errstr,
                         size_t errstr_size);

/** The port the server listens on (the one chosen for port 0), or 0 when
 *  it is not started. */
int ldr_http_port(const ldr_http_t *h);

#endif
