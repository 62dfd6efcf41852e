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
#include "ladder/log.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
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

struct ldr_http {
    struct MHD_Daemon *daemon;
    int port;
    http_route_t *routes;
    size_t nroutes;
    ldr_http_route_fn fallback;
    void *fallback_opaque;
    unsigned thread_per_connection; /* 0: one thread; else max connections */
    char *tls_cert, *tls_key;       /* PEM; NULL: plain HTTP */
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
    return ldr_calloc(1, sizeof(ldr_http_t));
}

void ldr_http_destroy(ldr_http_t *h) {
    if (!h) return;
    if (h->daemon) MHD_stop_daemon(h->daemon);
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
    (void)cls;
    (void)conn;
    (void)toe;
    if (*con_cls && *con_cls != &http_seen) {
        http_body_t *body = *con_cls;
        ldr_buf_fini(&body->buf);
        free(body);
    }
    *con_cls = NULL;
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
        .conn = conn, .method = method, .path = url, .body = body};
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
    (void)cls;
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
            if (!listen(fd, 64)) step = NULL;
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
        flags, 0, NULL, NULL, http_access, h, MHD_OPTION_EXTERNAL_LOGGER,
        http_log, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
        MHD_OPTION_CONNECTION_LIMIT,
        h->thread_per_connection ? h->thread_per_connection : (unsigned)64,
        MHD_OPTION_NOTIFY_COMPLETED, http_completed, NULL, MHD_OPTION_ARRAY,
        tls, MHD_OPTION_END);
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
