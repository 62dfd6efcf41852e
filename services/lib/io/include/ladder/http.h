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
 * A service with a real API (ladder-api) needs more, and gets it from the
 * same wrapper: routes with path parameters ("/v1/enterprises/{uscc}", a
 * {name} segment matching one non-empty segment), the query string and
 * headers of the request (ldr_http_route()), extra response headers, a
 * fallback handler that answers unknown paths and wrong methods in the
 * service's own format, and streamed bodies (Server-Sent Events) whose
 * producer may block. A blocking producer must not hold up every other
 * request, so a server that streams runs one thread per connection
 * (ldr_http_thread_per_connection()); its handlers then run concurrently
 * and must be thread-safe.
 *
 * A small REST server (ladder-registry) also needs the other methods and
 * their bodies, and HTTPS: ldr_http_route_any() hands every method of a
 * route to its handler with the body read in full (at most
 * LDR_HTTP_BODY_MAX bytes; more is answered 413 without calling it), and
 * ldr_http_tls() makes the server speak TLS (libmicrohttpd's GnuTLS).
 *
 * A server that faces clients it does not control gets limits
 * (ldr_http_limits()): a cap on connections in all and per client address,
 * and a deadline for reading each request, headers and body together,
 * that a client sending one header line every few seconds cannot stretch
 * (libmicrohttpd's own timeout counts only idle time). A watchdog thread
 * shuts down what passes the deadline, and shortens it while the server
 * is crowded, so connections stay free for health checks and for clients
 * that do ask something. Behind one reverse proxy, every client has the
 * proxy's address; naming it as the trusted proxy keys the per-client
 * limit on the last address of its X-Forwarded-For instead, per request.
 * A request body is read only so far: a GET's (dropped) up to 64 KiB, a
 * route's up to twice LDR_HTTP_BODY_MAX; more closes the connection. What
 * a limit refuses is counted in ladder_http_refused_total{reason}.
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
#include "ladder/metrics.h"

typedef struct ldr_http ldr_http_t;

#include <stdbool.h>
#include <sys/types.h>

/** Produces the next bytes of a streamed body into @p buf (at most
 *  @p size), on the connection's thread, blocking until it has some.
 *  Returns how many (> 0), or -1 to end the body. */
typedef ssize_t (*ldr_http_stream_fn)(void *stream, char *buf, size_t size);

/** What a handler answers. The server fills in status 200, content type
 *  "text/plain; charset=utf-8" and an empty body before calling it. */
typedef struct ldr_http_response {
    int status;
    /** Static storage, or storage that outlives the server. */
    const char *content_type;
    /** Appended to by the handler; freed by the server. */
    ldr_buf_t body;
    /** Extra headers as "name\0value\0" pairs
     *  (ldr_http_response_header()); freed by the server. */
    ldr_buf_t headers;
    /** Set by ldr_http_response_stream(): the body is streamed. */
    ldr_http_stream_fn stream_fn;
    void (*stream_free)(void *stream);
    void *stream;
} ldr_http_response_t;

/** Adds a response header (both strings are copied). */
void ldr_http_response_header(ldr_http_response_t *res, const char *name,
                              const char *value);

/** Streams the body instead of sending res->body: @p fn is called for
 *  each piece until it returns -1, and @p free_fn (may be NULL) is called
 *  with @p stream once the response is done with, whether it ended or the
 *  client went away. The length is unknown, so HTTP/1.1 clients get a
 *  chunked body. Only on a server with ldr_http_thread_per_connection():
 *  @p fn blocks its connection's thread. */
void ldr_http_response_stream(ldr_http_response_t *res, ldr_http_stream_fn fn,
                              void (*free_fn)(void *stream), void *stream);

/** A request as ldr_http_route() handlers see it; valid during the call. */
typedef struct ldr_http_request ldr_http_request_t;

/** The largest request body ldr_http_route_any() reads. */
#define LDR_HTTP_BODY_MAX (1024 * 1024)

/** "GET" or "HEAD" for a route; any method for the fallback and for
 *  ldr_http_route_any(). */
const char *ldr_http_request_method(const ldr_http_request_t *req);
/** The path, percent-decoded, without the query string. */
const char *ldr_http_request_path(const ldr_http_request_t *req);
/** The pattern of the route that matched ("/v1/enterprises/{uscc}"), or
 *  NULL in the fallback: a bounded label for metrics. */
const char *ldr_http_request_route(const ldr_http_request_t *req);
/** The value of path parameter {@p name} of the route, or NULL. */
const char *ldr_http_request_param(const ldr_http_request_t *req,
                                   const char *name);
/** The (decoded) value of query argument @p name: NULL when absent, ""
 *  when given without a value ("?since" or "?since="). */
const char *ldr_http_request_query(const ldr_http_request_t *req,
                                   const char *name);
/** The request body of an ldr_http_route_any() route, NUL-terminated
 *  (also when it holds a NUL), with its length in *@p len; "" for any
 *  other request. */
const char *ldr_http_request_body(const ldr_http_request_t *req, size_t *len);
/** The value of request header @p name (any case), or NULL. */
const char *ldr_http_request_header(const ldr_http_request_t *req,
                                    const char *name);

/** True when the request came over TLS (ldr_http_tls()). */
bool ldr_http_request_tls(const ldr_http_request_t *req);

/** Answers one GET (or HEAD) request of a route, or any request the
 *  fallback gets. */
typedef void (*ldr_http_route_fn)(void *opaque, const ldr_http_request_t *req,
                                  ldr_http_response_t *res);

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

/** Serves GET and HEAD of every path that matches @p pattern (copied):
 *  literal segments match exactly, a "{name}" segment matches any one
 *  non-empty segment and is read with ldr_http_request_param(). Routes
 *  are tried in registration order. Same rules as ldr_http_get(). */
void ldr_http_route(ldr_http_t *h, const char *pattern, ldr_http_route_fn fn,
                    void *opaque);

/** Like ldr_http_route(), but the handler gets every method, and the
 *  request body through ldr_http_request_body(); it answers the methods
 *  it does not take itself (405 with an Allow header). A body longer than
 *  LDR_HTTP_BODY_MAX is answered 413 without calling the handler. */
void ldr_http_route_any(ldr_http_t *h, const char *pattern,
                        ldr_http_route_fn fn, void *opaque);

/** Serves HTTPS with the PEM certificate (chain) @p cert_pem and the PEM
 *  private key @p key_pem (both copied). Only before ldr_http_start(),
 *  which fails with LDR_ERR_CONFIG when libmicrohttpd has no TLS or
 *  refuses the pair. */
void ldr_http_tls(ldr_http_t *h, const char *cert_pem, const char *key_pem);

/** Answers what no route takes: an unknown path arrives with status 404
 *  preset, a known path with a method other than GET or HEAD with 405
 *  (the server adds "Allow: GET, HEAD"). Without a fallback those get a
 *  plain-text body. Only before ldr_http_start(). */
void ldr_http_fallback(ldr_http_t *h, ldr_http_route_fn fn, void *opaque);

/** Serves each connection on a thread of its own, at most
 *  @p max_connections at once (more wait in the listen queue), instead of
 *  one thread for all: needed for streamed responses. Only before
 *  ldr_http_start(). */
void ldr_http_thread_per_connection(ldr_http_t *h, unsigned max_connections);

/** Limits against abusive clients (see the top of this file). */
typedef struct ldr_http_limits {
    /** Connections open at once; 0: the one given to
     *  ldr_http_thread_per_connection(), else 64. */
    unsigned max_connections;
    /** Connections (or, through the trusted proxy, requests in hand) per
     *  client address; 0: no such limit. */
    unsigned max_connections_per_client;
    /** Time to read a whole request, from the connection's opening or the
     *  end of the previous answer; 0: only MHD's idle timeout. */
    unsigned request_timeout_ms;
    /** The address of the one reverse proxy every client comes through
     *  (copied), or NULL. */
    const char *trusted_proxy;
    /** Where ladder_http_refused_total is registered; NULL: not counted. */
    ldr_metrics_t *metrics;
} ldr_http_limits_t;

/** Sets the limits (copied). Only before ldr_http_start(). */
void ldr_http_limits(ldr_http_t *h, const ldr_http_limits_t *limits);

/** Counts one refusal by a limit of the program's own (such as a cap on
 *  streams) in ladder_http_refused_total{reason=@p reason}. */
void ldr_http_refused(ldr_http_t *h, const char *reason);

/** The client's address as text: the peer's, or through the trusted proxy
 *  the last address of X-Forwarded-For; "" when unknown. Valid during the
 *  call. */
const char *ldr_http_request_client(const ldr_http_request_t *req);

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
