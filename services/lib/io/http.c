/* http.c -- GET handlers served by libmicrohttpd on a thread of its own.
 *
 * DESIGN: see http.h. The listening socket is made here (getaddrinfo,
 * socket, bind, listen) and handed to MHD with MHD_OPTION_LISTEN_SOCKET, so
 * that every failure can be reported with its cause; MHD closes it when the
 * daemon stops. Responses are built from a copy of the handler's body, so a
 * handler's buffer never outlives its call; a streamed body is MHD's
 * content-reader callback around the handler's producer. Routes are matched
 * segment by segment against the decoded path MHD hands over; the request
 * a route handler sees is a view of MHD's connection (query arguments and
 * headers are looked up there) plus the path parameters, copied out of the
 * path. MHD's own error messages go to the ladder log at WARN.
 *
 * A route that takes every method (ldr_http_route_any()) is recognized
 * when the headers arrive, and its body is gathered into a buffer that
 * hangs off the connection's request pointer until MHD says the upload
 * ended; MHD's request-completed callback frees it, whichever way the
 * request ended. Every other request keeps the old rule: a GET or HEAD is
 * answered once read, anything else at once. */
#include "ladder/http.h"

#include "ladder/alloc.h"
#include "ladder/clock.h"
#include "ladder/log.h"
#include "ladder/tally.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#if MHD_VERSION < 0x00097002
typedef int http_result_t; /* before enum MHD_Result */
#else
typedef enum MHD_Result http_result_t;
#endif

#define HTTP_PARAMS_MAX 4

typedef struct http_route {
    char *path; /* or pattern */
    ldr_http_handler_fn fn;
    ldr_http_route_fn route_fn;
    void *opaque;
    bool any_method; /* ldr_http_route_any() */
} http_route_t;

/* The body of a request to an ldr_http_route_any() route. */
typedef struct http_body {
    ldr_buf_t buf;
    bool too_large;
} http_body_t;

/* The request pointer of a GET or HEAD between MHD's two calls. */
static int http_seen;

/* An address as text: room for any IPv6 address. */
#define HTTP_ADDR_SIZE 64

/* One open connection (MHD's socket context), on the server's list while
 * MHD holds it. */
typedef struct http_conn {
    struct http_conn *prev, *next;
    int fd;
    int64_t reading_since_ms;    /* 0: answering, not reading a request */
    bool shut;                   /* shut down by the watchdog */
    bool from_proxy;             /* the peer is http.trusted.proxy */
    bool holds_addr;             /* holds a slot of per_client under addr */
    bool holds_client;           /* holds one under client (proxied request) */
    size_t drained;              /* bytes of the request body dropped */
    char addr[HTTP_ADDR_SIZE];   /* the peer's address */
    char client[HTTP_ADDR_SIZE]; /* the client of the request in hand */
} http_conn_t;

struct ldr_http {
    struct MHD_Daemon *daemon;
    int port;
    http_route_t *routes;
    size_t nroutes;
    ldr_http_route_fn fallback;
    void *fallback_opaque;
    unsigned thread_per_connection; /* 0: one thread; else max connections */
    char *tls_cert, *tls_key;       /* PEM; NULL: plain HTTP */
    ldr_http_limits_t limits;
    char proxy[HTTP_ADDR_SIZE];   /* limits.trusted_proxy, canonical; "" none */
    ldr_metric_t *refused;        /* ladder_http_refused_total, or NULL */
    atomic_uint refused_recently; /* since the watchdog last logged */
    atomic_llong log_window_ms;   /* MHD's messages: this window's start */
    atomic_uint log_lines;        /* and how many came in it */
    ldr_tally_t *per_client;      /* connections per client address */
    pthread_mutex_t conns_lock;   /* guards the list below */
    http_conn_t *conns;
    unsigned nconns;
    pthread_t watchdog;
    bool watching;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    bool stopping;
};

struct ldr_http_request {
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    const char *route;
    int nparams;
    const char *param_name[HTTP_PARAMS_MAX]; /* into the pattern */
    size_t param_name_len[HTTP_PARAMS_MAX];
    char *param_value[HTTP_PARAMS_MAX]; /* owned */
    const http_body_t *body;            /* NULL: no body read */
    const http_conn_t *cc;              /* NULL: not tracked */
};

const char *ldr_http_request_method(const ldr_http_request_t *req) {
    return req->method;
}

const char *ldr_http_request_path(const ldr_http_request_t *req) {
    return req->path;
}

const char *ldr_http_request_route(const ldr_http_request_t *req) {
    return req->route;
}

const char *ldr_http_request_param(const ldr_http_request_t *req,
                                   const char *name) {
    size_t n = strlen(name);
    for (int i = 0; i < req->nparams; i++)
        if (req->param_name_len[i] == n && !memcmp(req->param_name[i], name, n))
            return req->param_value[i];
    return NULL;
}

const char *ldr_http_request_query(const ldr_http_request_t *req,
                                   const char *name) {
    const char *value = NULL;
    size_t len = 0;
    if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name,
                                      strlen(name), &value, &len) != MHD_YES)
        return NULL;
    return value ? value : "";
}

const char *ldr_http_request_body(const ldr_http_request_t *req, size_t *len) {
    if (!req->body || !req->body->buf.len) {
        *len = 0;
        return "";
    }
    *len = req->body->buf.len;
    return req->body->buf.data;
}

const char *ldr_http_request_header(const ldr_http_request_t *req,
                                    const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

bool ldr_http_request_tls(const ldr_http_request_t *req) {
    /* MHD answers the protocol only for a TLS connection. */
    return MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_PROTOCOL) !=
           NULL;
}

void ldr_http_response_header(ldr_http_response_t *res, const char *name,
                              const char *value) {
    ldr_buf_append(&res->headers, name, strlen(name) + 1);
    ldr_buf_append(&res->headers, value, strlen(value) + 1);
}

void ldr_http_response_stream(ldr_http_response_t *res, ldr_http_stream_fn fn,
                              void (*free_fn)(void *stream), void *stream) {
    res->stream_fn = fn;
    res->stream_free = free_fn;
    res->stream = stream;
}

ldr_http_t *ldr_http_new(void) {
    ldr_http_t *h = ldr_calloc(1, sizeof(ldr_http_t));
    pthread_mutex_init(&h->conns_lock, NULL);
    pthread_mutex_init(&h->stop_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&h->stop_cond, &attr);
    pthread_condattr_destroy(&attr);
    return h;
}

static void http_watchdog_stop(ldr_http_t *h);

void ldr_http_destroy(ldr_http_t *h) {
    if (!h) return;
    /* MHD first: closing its connections takes them off the list the
     * watchdog walks. */
    if (h->daemon) MHD_stop_daemon(h->daemon);
    http_watchdog_stop(h);
    ldr_tally_destroy(h->per_client);
    pthread_cond_destroy(&h->stop_cond);
    pthread_mutex_destroy(&h->stop_lock);
    pthread_mutex_destroy(&h->conns_lock);
    for (size_t i = 0; i < h->nroutes; i++)
        free(h->routes[i].path);
    free(h->routes);
    free(h->tls_cert);
    free(h->tls_key);
    free(h);
}

static void http_add(ldr_http_t *h, const char *path, ldr_http_handler_fn fn,
                     ldr_http_route_fn route_fn, void *opaque,
                     bool any_method) {
    if (h->daemon || path[0] != '/') {
        fprintf(stderr, "ldr_http_get: %s: %s\n", path,
                h->daemon ? "the server has started" : "not a path");
        abort();
    }
    for (size_t i = 0; i < h->nroutes; i++)
        if (!strcmp(h->routes[i].path, path)) {
            fprintf(stderr, "ldr_http_get: %s registered twice\n", path);
            abort();
        }
    h->routes = ldr_realloc(h->routes, (h->nroutes + 1) * sizeof(*h->routes));
    h->routes[h->nroutes++] =
        (http_route_t){ldr_strdup(path), fn, route_fn, opaque, any_method};
}

void ldr_http_get(ldr_http_t *h, const char *path, ldr_http_handler_fn fn,
                  void *opaque) {
    http_add(h, path, fn, NULL, opaque, false);
}

static void http_add_route(ldr_http_t *h, const char *pattern,
                           ldr_http_route_fn fn, void *opaque,
                           bool any_method) {
    int params = 0;
    for (const char *c = pattern; *c; c++)
        params += *c == '{';
    if (params > HTTP_PARAMS_MAX) {
        fprintf(stderr, "ldr_http_route: %s: more than %d parameters\n",
                pattern, HTTP_PARAMS_MAX);
        abort();
    }
    http_add(h, pattern, NULL, fn, opaque, any_method);
}

void ldr_http_route(ldr_http_t *h, const char *pattern, ldr_http_route_fn fn,
                    void *opaque) {
    http_add_route(h, pattern, fn, opaque, false);
}

void ldr_http_route_any(ldr_http_t *h, const char *pattern,
                        ldr_http_route_fn fn, void *opaque) {
    http_add_route(h, pattern, fn, opaque, true);
}

void ldr_http_tls(ldr_http_t *h, const char *cert_pem, const char *key_pem) {
    free(h->tls_cert);
    free(h->tls_key);
    h->tls_cert = ldr_strdup(cert_pem);
    h->tls_key = ldr_strdup(key_pem);
}

void ldr_http_fallback(ldr_http_t *h, ldr_http_route_fn fn, void *opaque) {
    h->fallback = fn;
    h->fallback_opaque = opaque;
}

void ldr_http_thread_per_connection(ldr_http_t *h, unsigned max_connections) {
    h->thread_per_connection = max_connections ? max_connections : 1;
}

/* ---- limits ---------------------------------------------------------------
 *
 * Every connection is on h->conns from MHD's "started" notification to its
 * "closed" one, with the time it began to wait for a request (when it
 * opened, and again each time an answer ended). The watchdog thread shuts
 * down, with shutdown(2), every connection that has not delivered a whole
 * request within limits.request_timeout_ms of that time: MHD's own timeout
 * only counts idle time, which a client that sends one header line every
 * few seconds never lets run out. shutdown() rather than close(): MHD
 * still owns the descriptor and closes it itself once its read fails, and
 * the descriptor stays valid while the connection is on the list, since
 * MHD notifies "closed" before it closes the socket. When the server is
 * crowded (three quarters of its connections open), a request must arrive
 * within HTTP_CROWDED_TIMEOUT_MS: a real client sends its headers at
 * once, so what is shut down then is what holds connections without
 * asking anything, and the remaining quarter stays free for /livez and for
 * the clients that do ask. */

#define HTTP_CROWDED_TIMEOUT_MS 1000
#define HTTP_WATCHDOG_MS        100
#define HTTP_LISTEN_BACKLOG     1024 /* the kernel caps it at somaxconn */
#define HTTP_LOG_EVERY_MS       10000
#define HTTP_LOG_LINES_MAX      20 /* of MHD's, per HTTP_LOG_EVERY_MS */
/* The most of a GET's body that is read (and dropped) before the
 * connection is closed; a body of a route that takes one is read up to
 * twice LDR_HTTP_BODY_MAX, to answer 413. */
#define HTTP_GET_BODY_MAX (64 * 1024)

void ldr_http_limits(ldr_http_t *h, const ldr_http_limits_t *limits) {
    h->limits = *limits;
    h->limits.trusted_proxy = NULL;
    h->proxy[0] = '\0';
    if (limits->trusted_proxy && *limits->trusted_proxy) {
        unsigned char bin[sizeof(struct in6_addr)];
        int af = strchr(limits->trusted_proxy, ':') ? AF_INET6 : AF_INET;
        if (inet_pton(af, limits->trusted_proxy, bin) == 1)
            inet_ntop(af, bin, h->proxy, sizeof(h->proxy));
        else
            snprintf(h->proxy, sizeof(h->proxy), "%s", limits->trusted_proxy);
    }
    if (limits->metrics && !h->refused)
        h->refused = ldr_metrics_counter(
            limits->metrics, "ladder_http_refused_total",
            "Connections and requests refused or cut short by a limit, by "
            "reason (per_ip: http.max.connections.per.ip; deadline: "
            "http.request.timeout.ms; body: a request body too long; "
            "the API's stream caps).",
            "reason");
}

void ldr_http_refused(ldr_http_t *h, const char *reason) {
    atomic_fetch_add(&h->refused_recently, 1);
    if (h->refused) ldr_metrics_add(h->refused, LDR_METRICS_LABELS(reason), 1);
}

/* The numeric text of @p sa into @p out ("" when it is not IP). */
static void http_addr_text(const struct sockaddr *sa, char *out, size_t size) {
    out[0] = '\0';
    if (!sa) return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
                  (socklen_t)size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
                  (socklen_t)size);
}

/* MHD's accept policy: refuses, before any thread or buffer is spent on
 * it, a connection from an address that holds its share already. */
static http_result_t http_accept(void *cls, const struct sockaddr *sa,
                                 socklen_t salen) {
    (void)salen;
    ldr_http_t *h = cls;
    if (!h->per_client) return MHD_YES;
    char addr[HTTP_ADDR_SIZE];
    http_addr_text(sa, addr, sizeof(addr));
    if (h->proxy[0] && !strcmp(addr, h->proxy)) return MHD_YES;
    if (ldr_tally_count(h->per_client, addr) <
        h->limits.max_connections_per_client)
        return MHD_YES;
    ldr_http_refused(h, "per_ip");
    return MHD_NO;
}

static http_conn_t *http_conn_of(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void http_conn_started(ldr_http_t *h, struct MHD_Connection *conn,
                              http_conn_t *cc) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    cc->fd = ci ? ci->connect_fd : -1;
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    http_addr_text(ci ? ci->client_addr : NULL, cc->addr, sizeof(cc->addr));
    cc->from_proxy = h->proxy[0] && !strcmp(cc->addr, h->proxy);
    cc->reading_since_ms = ldr_clock_mono_ms();
    bool refused = false;
    if (h->per_client && !cc->from_proxy) {
        /* The accept policy checked; this counts (same thread). */
        cc->holds_addr =
            ldr_tally_take(h->per_client, cc->addr) == LDR_TALLY_TAKEN;
        refused = !cc->holds_addr;
    }
    pthread_mutex_lock(&h->conns_lock);
    cc->next = h->conns;
    if (h->conns) h->conns->prev = cc;
    h->conns = cc;
    h->nconns++;
    if (refused) ldr_http_refused(h, "per_ip");
    if (refused && cc->fd >= 0) {
        shutdown(cc->fd, SHUT_RDWR);
        cc->shut = true;
    }
    pthread_mutex_unlock(&h->conns_lock);
}

/* Gives back what the request in hand holds (a proxied client's slot). */
static void http_conn_request_done(ldr_http_t *h, http_conn_t *cc) {
    if (cc->holds_client) ldr_tally_give(h->per_client, cc->client);
    cc->holds_client = false;
    cc->client[0] = '\0';
    cc->drained = 0;
}

static void http_conn_closed(ldr_http_t *h, http_conn_t *cc) {
    pthread_mutex_lock(&h->conns_lock);
    if (cc->prev)
        cc->prev->next = cc->next;
    else
        h->conns = cc->next;
    if (cc->next) cc->next->prev = cc->prev;
    h->nconns--;
    pthread_mutex_unlock(&h->conns_lock);
    http_conn_request_done(h, cc);
    if (cc->holds_addr) ldr_tally_give(h->per_client, cc->addr);
    free(cc);
}

static void http_notify(void *cls, struct MHD_Connection *conn,
                        void **socket_context,
                        enum MHD_ConnectionNotificationCode code) {
    ldr_http_t *h = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        http_conn_t *cc = ldr_calloc(1, sizeof(*cc));
        *socket_context = cc;
        http_conn_started(h, conn, cc);
    } else if (*socket_context) {
        http_conn_closed(h, *socket_context);
        *socket_context = NULL;
    }
}

/* Marks whether @p cc waits for (part of) a request. */
static void http_conn_reading(ldr_http_t *h, http_conn_t *cc, bool reading) {
    if (!cc) return;
    pthread_mutex_lock(&h->conns_lock);
    cc->reading_since_ms = reading ? ldr_clock_mono_ms() : 0;
    pthread_mutex_unlock(&h->conns_lock);
}

/* The client behind a connection from the trusted proxy: the last address
 * of X-Forwarded-For (the one the proxy itself added), or the proxy's
 * when there is none that parses. */
static void http_forwarded_for(struct MHD_Connection *conn, http_conn_t *cc) {
    const char *xff =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
    const char *last = xff ? strrchr(xff, ',') : NULL;
    last = last ? last + 1 : xff;
    snprintf(cc->client, sizeof(cc->client), "%s", cc->addr);
    if (!last) return;
    while (*last == ' ' || *last == '\t')
        last++;
    char text[HTTP_ADDR_SIZE];
    size_t n = strcspn(last, " \t");
    if (n >= sizeof(text)) return;
    memcpy(text, last, n);
    text[n] = '\0';
    unsigned char bin[sizeof(struct in6_addr)];
    int af = strchr(text, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(af, text, bin) == 1)
        inet_ntop(af, bin, cc->client, sizeof(cc->client));
}

/* Once a request's headers are in: who the client is and, for a request
 * through the trusted proxy, whether it may have one more connection's
 * worth. False when it may not. */
static bool http_conn_request(ldr_http_t *h, struct MHD_Connection *conn,
                              http_conn_t *cc) {
    if (!cc) return true;
    if (!cc->from_proxy) {
        snprintf(cc->client, sizeof(cc->client), "%s", cc->addr);
        return true;
    }
    http_forwarded_for(conn, cc);
    if (!h->per_client) return true;
    cc->holds_client =
        ldr_tally_take(h->per_client, cc->client) == LDR_TALLY_TAKEN;
    if (!cc->holds_client) ldr_http_refused(h, "per_ip");
    return cc->holds_client;
}

const char *ldr_http_request_client(const ldr_http_request_t *req) {
    if (!req->cc) return "";
    return req->cc->client[0] ? req->cc->client : req->cc->addr;
}

/* One pass of the watchdog: shuts down what took too long; how many. */
static unsigned http_watch(ldr_http_t *h) {
    unsigned shut = 0;
    int64_t now = ldr_clock_mono_ms();
    pthread_mutex_lock(&h->conns_lock);
    int64_t limit =
        h->limits.request_timeout_ms ? h->limits.request_timeout_ms : INT64_MAX;
    unsigned max = h->limits.max_connections;
    if (max && h->nconns >= max - max / 4 && limit > HTTP_CROWDED_TIMEOUT_MS)
        limit = HTTP_CROWDED_TIMEOUT_MS;
    for (http_conn_t *cc = h->conns; cc; cc = cc->next) {
        if (cc->shut || !cc->reading_since_ms || cc->fd < 0 ||
            now - cc->reading_since_ms < limit)
            continue;
        ldr_http_refused(h, "deadline"); /* before the client can see it */
        shutdown(cc->fd, SHUT_RDWR);
        cc->shut = true;
        shut++;
    }
    pthread_mutex_unlock(&h->conns_lock);
    return shut;
}

static void *http_watchdog(void *opaque) {
    ldr_http_t *h = opaque;
    int64_t logged_at = ldr_clock_mono_ms();
    pthread_mutex_lock(&h->stop_lock);
    while (!h->stopping) {
        struct timespec ts;
        int64_t at = ldr_clock_mono_ms() + HTTP_WATCHDOG_MS;
        ts.tv_sec = (time_t)(at / 1000);
        ts.tv_nsec = (long)(at % 1000) * 1000000L;
        pthread_cond_timedwait(&h->stop_cond, &h->stop_lock, &ts);
        if (h->stopping) break;
        pthread_mutex_unlock(&h->stop_lock);
        http_watch(h);
        if (ldr_clock_mono_ms() - logged_at >= HTTP_LOG_EVERY_MS) {
            unsigned n = atomic_exchange(&h->refused_recently, 0);
            if (n)
                LDR_LOG_WARN("http: %u connections or requests refused or "
                             "cut short by limits in the last %d s (see "
                             "ladder_http_refused_total)",
                             n, HTTP_LOG_EVERY_MS / 1000);
            logged_at = ldr_clock_mono_ms();
        }
        pthread_mutex_lock(&h->stop_lock);
    }
    pthread_mutex_unlock(&h->stop_lock);
    return NULL;
}

static void http_watchdog_stop(ldr_http_t *h) {
    if (!h->watching) return;
    pthread_mutex_lock(&h->stop_lock);
    h->stopping = true;
    pthread_cond_broadcast(&h->stop_cond);
    pthread_mutex_unlock(&h->stop_lock);
    pthread_join(h->watchdog, NULL);
    h->watching = false;
}

/* Matches @p url against @p pattern segment by segment, collecting the
 * {name} segments' values into @p req. */
static int http_match(const char *pattern, const char *url,
                      ldr_http_request_t *req) {
    req->nparams = 0;
    const char *p = pattern, *u = url;
    while (*p && *u) {
        if (*p != '/' || *u != '/') return 0;
        p++;
        u++;
        const char *pe = strchrnul(p, '/'), *ue = strchrnul(u, '/');
        if (*p == '{' && pe > p + 1 && pe[-1] == '}') {
            if (ue == u) return 0;
            int i = req->nparams++;
            req->param_name[i] = p + 1;
            req->param_name_len[i] = (size_t)(pe - p - 2);
            req->param_value[i] = ldr_malloc((size_t)(ue - u) + 1);
            memcpy(req->param_value[i], u, (size_t)(ue - u));
            req->param_value[i][ue - u] = '\0';
        } else if (pe - p != ue - u || memcmp(p, u, (size_t)(pe - p))) {
            return 0;
        }
        p = pe;
        u = ue;
    }
    return !*p && !*u;
}

static void http_request_fini(ldr_http_request_t *req) {
    for (int i = 0; i < req->nparams; i++)
        free(req->param_value[i]);
    req->nparams = 0;
}

typedef struct http_stream {
    ldr_http_stream_fn fn;
    void (*free_fn)(void *);
    void *stream;
} http_stream_t;

static ssize_t http_stream_read(void *cls, uint64_t pos, char *buf,
                                size_t max) {
    (void)pos;
    http_stream_t *st = cls;
    ssize_t n = st->fn(st->stream, buf, max);
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void http_stream_free(void *cls) {
    http_stream_t *st = cls;
    if (st->free_fn) st->free_fn(st->stream);
    free(st);
}

static http_result_t http_send(struct MHD_Connection *conn, int status,
                               const char *content_type, const char *body,
                               size_t len, const char *allow,
                               const ldr_http_response_t *res) {
    struct MHD_Response *r;
    if (res && res->stream_fn) {
        http_stream_t *st = ldr_malloc(sizeof(*st));
        *st = (http_stream_t){res->stream_fn, res->stream_free, res->stream};
        r = MHD_create_response_from_callback(
            MHD_SIZE_UNKNOWN, 4096, http_stream_read, st, http_stream_free);
        if (!r) {
            http_stream_free(st);
            return MHD_NO;
        }
    } else {
        r = MHD_create_response_from_buffer(len, (void *)(len ? body : ""),
                                            MHD_RESPMEM_MUST_COPY);
    }
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    /* On every answer: no content sniffing, no framing, no referrer, and
     * nothing but this server's own files (no inline script or style). */
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; frame-ancestors 'none'");
    if (allow) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    if (res)
        for (size_t off = 0; off < res->headers.len;) {
            const char *name = res->headers.data + off;
            const char *value = name + strlen(name) + 1;
            MHD_add_response_header(r, name, value);
            off = (size_t)(value + strlen(value) + 1 - res->headers.data);
        }
    http_result_t ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

/* True when @p url is a route of ldr_http_route_any(). */
static bool http_takes_body(const ldr_http_t *h, const char *url) {
    ldr_http_request_t req = {0};
    bool found = false;
    for (size_t i = 0; i < h->nroutes && !found; i++) {
        found =
            h->routes[i].any_method && http_match(h->routes[i].path, url, &req);
        http_request_fini(&req);
    }
    return found;
}

static void http_completed(void *cls, struct MHD_Connection *conn,
                           void **con_cls,
                           enum MHD_RequestTerminationCode toe) {
    (void)toe;
    ldr_http_t *h = cls;
    http_conn_t *cc = http_conn_of(conn);
    if (cc) {
        http_conn_request_done(h, cc);
        http_conn_reading(h, cc, true); /* the next request's time runs */
    }
    if (*con_cls && *con_cls != &http_seen) {
        http_body_t *body = *con_cls;
        ldr_buf_fini(&body->buf);
        free(body);
    }
    *con_cls = NULL;
}

/* Answers 503 at once and closes the connection after it. */
static http_result_t http_refuse(struct MHD_Connection *conn, const char *why) {
    ldr_http_response_t res = {.status = 503};
    ldr_buf_init(&res.headers);
    ldr_http_response_header(&res, "Retry-After", "10");
    ldr_http_response_header(&res, MHD_HTTP_HEADER_CONNECTION, "close");
    char body[128];
    snprintf(body, sizeof(body), "%s\n", why);
    http_result_t ret = http_send(conn, 503, "text/plain; charset=utf-8", body,
                                  strlen(body), NULL, &res);
    ldr_buf_fini(&res.headers);
    return ret;
}

/* Counts @p n more bytes of a request body; false (and counted as
 * refused) past what is read of one: HTTP_GET_BODY_MAX for a GET's,
 * which is dropped, twice LDR_HTTP_BODY_MAX for a body a route takes. */
static bool http_drain_ok(ldr_http_t *h, http_conn_t *cc, bool takes_body,
                          size_t n) {
    if (!cc) return true;
    cc->drained += n;
    if (cc->drained <= (takes_body ? 2 * (size_t)LDR_HTTP_BODY_MAX
                                   : (size_t)HTTP_GET_BODY_MAX))
        return true;
    ldr_http_refused(h, "body");
    return false;
}

static http_result_t http_access(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
    (void)version;
    ldr_http_t *h = cls;
    /* MHD calls once when the headers are in and again for the body and
     * its end. An answer given on the first call makes MHD close the
     * connection afterwards (the request was not read to its end), so a
     * GET or HEAD is answered on the second call and its connection stays
     * open for the next request; so is a request to a route that takes
     * every method, once its body is read; any other method is refused at
     * once, without reading its body. */
    bool get = !strcmp(method, MHD_HTTP_METHOD_GET) ||
               !strcmp(method, MHD_HTTP_METHOD_HEAD);
    http_conn_t *cc = http_conn_of(conn);
    if (!*con_cls && !http_conn_request(h, conn, cc))
        return http_refuse(conn, "too many connections from your address");
    if (!*con_cls) {
        if (get) {
            *con_cls = &http_seen;
            return MHD_YES;
        }
        if (http_takes_body(h, url)) {
            http_body_t *body = ldr_calloc(1, sizeof(*body));
            ldr_buf_init(&body->buf);
            *con_cls = body;
            return MHD_YES;
        }
    } else if (*upload_data_size) {
        if (!http_drain_ok(h, cc, *con_cls != &http_seen, *upload_data_size))
            return MHD_NO;            /* closes the connection */
        if (*con_cls != &http_seen) { /* a GET's body is dropped */
            http_body_t *body = *con_cls;
            if (body->buf.len + *upload_data_size > LDR_HTTP_BODY_MAX)
                body->too_large = true;
            else
                ldr_buf_append(&body->buf, upload_data, *upload_data_size);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    http_body_t *body =
        *con_cls && *con_cls != &http_seen ? (http_body_t *)*con_cls : NULL;
    static const char text[] = "text/plain; charset=utf-8";
    const http_route_t *route = NULL;
    ldr_http_request_t req = {
        .conn = conn, .method = method, .path = url, .body = body, .cc = cc};
    for (size_t i = 0; i < h->nroutes && !route; i++) {
        if (h->routes[i].fn ? !strcmp(h->routes[i].path, url)
                            : http_match(h->routes[i].path, url, &req))
            route = &h->routes[i];
        else
            http_request_fini(&req);
    }
    ldr_http_response_t res = {.status = MHD_HTTP_OK, .content_type = text};
    ldr_buf_init(&res.body);
    ldr_buf_init(&res.headers);
    const char *allow = NULL;
    bool allowed = get || (route && route->any_method);
    if (body && body->too_large) {
        res.status = 413;
        ldr_buf_append_str(&res.body, "request body too large\n");
    } else if (!route || !allowed) {
        res.status = route ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND;
        allow = route ? "GET, HEAD" : NULL;
        http_request_fini(&req);
        if (h->fallback)
            h->fallback(h->fallback_opaque, &req, &res);
        else
            ldr_buf_append_str(&res.body,
                               route ? "method not allowed\n" : "not found\n");
    } else if (route->fn) {
        route->fn(route->opaque, &res);
    } else {
        req.route = route->path;
        route->route_fn(route->opaque, &req, &res);
    }
    http_request_fini(&req);
    http_conn_reading(h, cc, false);
    http_result_t ret = http_send(conn, res.status, res.content_type,
                                  res.body.data, res.body.len, allow, &res);
    ldr_buf_fini(&res.body);
    ldr_buf_fini(&res.headers);
    return ret;
}

/* MHD's error logger; the attribute tells clang's -Wformat-nonliteral
 * that fmt is a printf format from MHD. */
static void http_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void http_log(void *cls, const char *fmt, va_list ap) {
    ldr_http_t *h = cls;
    /* Most of MHD's messages are about one client's connection; a flood
     * of bad clients must not flood the log. */
    int64_t now = ldr_clock_mono_ms();
    if (now - atomic_load(&h->log_window_ms) >= HTTP_LOG_EVERY_MS) {
        atomic_store(&h->log_window_ms, now);
        unsigned skipped = atomic_exchange(&h->log_lines, 0);
        if (skipped > HTTP_LOG_LINES_MAX)
            LDR_LOG_WARN("http: %u more messages of the HTTP server were "
                         "left out",
                         skipped - HTTP_LOG_LINES_MAX);
    }
    if (atomic_fetch_add(&h->log_lines, 1) >= HTTP_LOG_LINES_MAX) return;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = '\0';
    LDR_LOG_WARN("http: %s", line);
}

/* Splits "host:port" or "[v6]:port" into @p host and @p port. */
static int http_split(const char *addr, char *host, size_t host_size,
                      char *port, size_t port_size) {
    const char *h = addr, *colon;
    size_t hlen;
    if (*addr == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':') return 0;
        h = addr + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || memchr(addr, ':', (size_t)(colon - addr))) return 0;
        hlen = (size_t)(colon - addr);
    }
    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (!hlen || hlen >= host_size || !plen || plen > 5 || plen >= port_size)
        return 0;
    for (const char *c = p; *c; c++)
        if (*c < '0' || *c > '9') return 0;
    if (atoi(p) > 65535) return 0;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    memcpy(port, p, plen + 1);
    return 1;
}

/* A listening socket bound to @p addr, or -1 with errstr set. */
static int http_bind(const char *addr, int *bound_port, ldr_err_t *rc,
                     char *errstr, size_t errstr_size) {
    char host[256], port[8];
    if (!addr || !http_split(addr, host, sizeof(host), port, sizeof(port))) {
        *rc = ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                          "http.listen: \"%s\" is not a host:port address "
                          "(such as 127.0.0.1:9464 or [::1]:9464)",
                          addr ? addr : "");
        return -1;
    }
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai) {
        *rc = ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                          "http.listen: \"%s\": cannot resolve %s: %s", addr,
                          host, gai_strerror(gai));
        return -1;
    }
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    const char *step = "socket";
    if (fd >= 0) {
        int one = 1;
        /* Lets a restarted program bind while old connections linger in
         * TIME_WAIT; on Linux it does not let two servers share a port. */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        step = "bind";
        if (!bind(fd, ai->ai_addr, ai->ai_addrlen)) {
            step = "listen";
            /* A deep queue: a burst of connections that the limits
             * refuse at once must not crowd out a health check's. */
            if (!listen(fd, HTTP_LISTEN_BACKLOG)) step = NULL;
        }
    }
    if (step) {
        int e = errno;
        *rc = ldr_err_set(errstr, errstr_size, LDR_ERR_IO,
                          "http.listen: \"%s\": cannot %s: %s%s", addr, step,
                          strerror(e),
                          e == EADDRINUSE ? " (another program, or another "
                                            "instance, listens there: give "
                                            "each its own http.listen)"
                                          : "");
        if (fd >= 0) close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage sa;
    socklen_t salen = sizeof(sa);
    *bound_port = 0;
    if (!getsockname(fd, (struct sockaddr *)&sa, &salen))
        *bound_port = sa.ss_family == AF_INET6
                          ? ntohs(((struct sockaddr_in6 *)&sa)->sin6_port)
                          : ntohs(((struct sockaddr_in *)&sa)->sin_port);
    return fd;
}

ldr_err_t ldr_http_start(ldr_http_t *h, const char *addr, char *errstr,
                         size_t errstr_size) {
    if (h->daemon)
        return ldr_err_set(errstr, errstr_size, LDR_ERR_INVALID_ARG,
                           "http.listen: the server has started already");
    if (h->tls_cert && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                           "http.listen: this libmicrohttpd has no TLS");
    ldr_err_t rc = LDR_OK;
    int port = 0;
    int fd = http_bind(addr, &port, &rc, errstr, errstr_size);
    if (fd < 0) return rc;
    /* The server's thread inherits this mask: it takes no signals. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    if (h->limits.max_connections_per_client && !h->per_client)
        h->per_client = ldr_tally_new(0, h->limits.max_connections_per_client);
    unsigned max = h->limits.max_connections  ? h->limits.max_connections
                   : h->thread_per_connection ? h->thread_per_connection
                                              : 64;
    h->limits.max_connections = max;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (h->thread_per_connection) flags |= MHD_USE_THREAD_PER_CONNECTION;
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    if (h->tls_cert)
        flags |= MHD_USE_TLS;
    else
        tls[0].option = MHD_OPTION_END;
    h->daemon = MHD_start_daemon(
        flags, 0, http_accept, h, http_access, h, MHD_OPTION_EXTERNAL_LOGGER,
        http_log, h, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
        MHD_OPTION_CONNECTION_LIMIT, max, MHD_OPTION_NOTIFY_COMPLETED,
        http_completed, h, MHD_OPTION_NOTIFY_CONNECTION, http_notify, h,
        MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (h->daemon)
        h->watching = !pthread_create(&h->watchdog, NULL, http_watchdog, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!h->daemon) {
        close(fd);
        if (h->tls_cert)
            return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                               "http.listen: \"%s\": the HTTPS server did "
                               "not start: are the certificate and the "
                               "key a matching PEM pair? (see the log)",
                               addr);
        return ldr_err_set(errstr, errstr_size, LDR_ERR_IO,
                           "http.listen: \"%s\": the HTTP server did not "
                           "start (see the log)",
                           addr);
    }
    h->port = port;
    return LDR_OK;
}

int ldr_http_port(const ldr_http_t *h) {
    return h->daemon ? h->port : 0;
}
