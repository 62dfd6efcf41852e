/* test_http.c -- the HTTP wrapper over a real loopback socket.
 *
 * Each test starts a server on 127.0.0.1:0 (a free port), talks HTTP/1.0 to
 * it with a plain socket and checks the status line, headers and body a
 * client would read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ladder/http.h"
#include "ladder/metrics.h"

static int hello_calls;

static void hello(void *opaque, ldr_http_response_t *res) {
    hello_calls++;
    ldr_buf_append_str(&res->body, opaque);
}

static void unavailable(void *opaque, ldr_http_response_t *res) {
    (void)opaque;
    res->status = 503;
    res->content_type = "application/json";
    ldr_buf_append_str(&res->body, "{\"ready\":false}\n");
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends @p request and returns the whole answer (caller frees). */
static char *ask(int port, const char *request) {
    int fd = connect_to(port);
    assert_true(fd >= 0);
    size_t len = strlen(request);
    assert_int_equal(write(fd, request, len), (ssize_t)len);
    size_t cap = 1 << 16, got = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    ssize_t r;
    while ((r = read(fd, buf + got, cap - 1 - got)) > 0)
        got += (size_t)r;
    close(fd);
    buf[got] = '\0';
    return buf;
}

static ldr_http_t *start(void) {
    ldr_http_t *h = ldr_http_new();
    ldr_http_get(h, "/hello", hello, "hello, world\n");
    ldr_http_get(h, "/readyz", unavailable, NULL);
    char err[256];
    assert_int_equal(ldr_http_start(h, "127.0.0.1:0", err, sizeof(err)),
                     LDR_OK);
    assert_true(ldr_http_port(h) > 0);
    return h;
}

/* The headers every answer carries, whatever its status. */
static void assert_security_headers(const char *a) {
    assert_non_null(strstr(a, "\r\nX-Content-Type-Options: nosniff\r\n"));
    assert_non_null(strstr(a, "\r\nX-Frame-Options: DENY\r\n"));
    assert_non_null(strstr(a, "\r\nReferrer-Policy: no-referrer\r\n"));
    assert_non_null(strstr(a, "\r\nContent-Security-Policy: default-src "
                              "'self'; frame-ancestors 'none'\r\n"));
}

static void test_http_get(void **state) {
    (void)state;
    ldr_http_t *h = start();
    hello_calls = 0;
    char *a = ask(ldr_http_port(h), "GET /hello HTTP/1.0\r\n\r\n");
    assert_true(strncmp(a, "HTTP/1.0 200 OK\r\n", 17) == 0 ||
                strncmp(a, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(a, "Content-Type: text/plain; charset=utf-8\r\n"));
    assert_non_null(strstr(a, "\r\n\r\nhello, world\n"));
    assert_int_equal(hello_calls, 1);
    assert_security_headers(a);
    free(a);
    /* A query string does not change the path. */
    a = ask(ldr_http_port(h), "GET /hello?x=1 HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(a, " 200 OK\r\n"));
    free(a);
    /* HEAD: the handler's headers, no body. */
    a = ask(ldr_http_port(h), "HEAD /hello HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(a, " 200 OK\r\n"));
    assert_null(strstr(a, "hello, world"));
    free(a);
    ldr_http_destroy(h);
}

static void test_http_status_and_type(void **state) {
    (void)state;
    ldr_http_t *h = start();
    char *a = ask(ldr_http_port(h), "GET /readyz HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(a, " 503 Service Unavailable\r\n"));
    assert_non_null(strstr(a, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(a, "\r\n\r\n{\"ready\":false}\n"));
    free(a);
    ldr_http_destroy(h);
}

static void test_http_not_found(void **state) {
    (void)state;
    ldr_http_t *h = start();
    char *a = ask(ldr_http_port(h), "GET /nope HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(a, " 404 Not Found\r\n"));
    assert_security_headers(a);
    free(a);
    a = ask(ldr_http_port(h), "GET /hello/ HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(a, " 404 Not Found\r\n"));
    free(a);
    ldr_http_destroy(h);
}

static void test_http_method_not_allowed(void **state) {
    (void)state;
    ldr_http_t *h = start();
    hello_calls = 0;
    char *a = ask(ldr_http_port(h), "POST /hello HTTP/1.0\r\n"
                                    "Content-Length: 3\r\n\r\nabc");
    assert_non_null(strstr(a, " 405 Method Not Allowed\r\n"));
    assert_non_null(strstr(a, "Allow: GET, HEAD\r\n"));
    assert_int_equal(hello_calls, 0);
    free(a);
    a = ask(ldr_http_port(h), "DELETE /hello HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(a, " 405 Method Not Allowed\r\n"));
    free(a);
    ldr_http_destroy(h);
}

static void test_http_port_in_use(void **state) {
    (void)state;
    ldr_http_t *h = start();
    char addr[64], err[256];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", ldr_http_port(h));
    ldr_http_t *h2 = ldr_http_new();
    assert_int_equal(ldr_http_start(h2, addr, err, sizeof(err)), LDR_ERR_IO);
    assert_true(strncmp(err, "http.listen: \"127.0.0.1:", 24) == 0);
    assert_non_null(strstr(err, "cannot bind: Address already in use"));
    assert_int_equal(ldr_http_port(h2), 0);
    ldr_http_destroy(h2);
    ldr_http_destroy(h);
}

static void test_http_bad_address(void **state) {
    (void)state;
    static const char *const bad[] = {
        "nonsense",        "127.0.0.1",    ":9464", "127.0.0.1:",
        "127.0.0.1:65536", "127.0.0.1:x1", "[::1",  "::1:9464",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ldr_http_t *h = ldr_http_new();
        char err[256], want[128];
        assert_int_equal(ldr_http_start(h, bad[i], err, sizeof(err)),
                         LDR_ERR_CONFIG);
        snprintf(want, sizeof(want),
                 "http.listen: \"%s\" is not a host:port address", bad[i]);
        assert_true(strncmp(err, want, strlen(want)) == 0);
        ldr_http_destroy(h);
    }
    /* An address that is not this machine's. */
    ldr_http_t *h = ldr_http_new();
    char err[256];
    assert_int_equal(ldr_http_start(h, "192.0.2.1:0", err, sizeof(err)),
                     LDR_ERR_IO);
    assert_non_null(strstr(err, "http.listen: \"192.0.2.1:0\": cannot bind: "));
    ldr_http_destroy(h);
}

static void test_http_stops(void **state) {
    (void)state;
    ldr_http_t *h = start();
    int port = ldr_http_port(h);
    ldr_http_destroy(h);
    /* The socket is closed: nobody answers, and the port can be bound
     * again at once. */
    assert_int_equal(connect_to(port), -1);
    char addr[64], err[256];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    h = ldr_http_new();
    ldr_http_get(h, "/hello", hello, "again\n");
    assert_int_equal(ldr_http_start(h, addr, err, sizeof(err)), LDR_OK);
    char *a = ask(port, "GET /hello HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(a, "\r\n\r\nagain\n"));
    free(a);
    ldr_http_destroy(h);
}

/* Two requests on one HTTP/1.1 connection: the first answer keeps it
 * open (load generators and browsers reuse connections). */
static void test_http_keep_alive(void **state) {
    (void)state;
    ldr_http_t *h = start();
    int fd = connect_to(ldr_http_port(h));
    assert_true(fd >= 0);
    static const char one[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(write(fd, one, sizeof(one) - 1), (ssize_t)sizeof(one) - 1);
    char buf[4096];
    size_t got = 0;
    while (!memmem(buf, got, "hello, world\n", 13)) {
        ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    buf[got] = '\0';
    assert_null(strstr(buf, "Connection: close"));
    static const char two[] =
        "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    assert_int_equal(write(fd, two, sizeof(two) - 1), (ssize_t)sizeof(two) - 1);
    got = 0;
    ssize_t r;
    while ((r = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    assert_non_null(strstr(buf, " 200 OK\r\n"));
    assert_non_null(strstr(buf, "hello, world\n"));
    close(fd);
    ldr_http_destroy(h);
}

/* ---- routes with parameters, queries, headers, fallback, streams ----- */

static void echo(void *opaque, const ldr_http_request_t *req,
                 ldr_http_response_t *res) {
    (void)opaque;
    const char *q = ldr_http_request_query(req, "q");
    const char *hd = ldr_http_request_header(req, "x-test");
    ldr_buf_printf(&res->body, "route=%s id=%s part=%s q=%s h=%s\n",
                   ldr_http_request_route(req),
                   ldr_http_request_param(req, "id"),
                   ldr_http_request_param(req, "part")
                       ? ldr_http_request_param(req, "part")
                       : "-",
                   q ? (*q ? q : "(empty)") : "(none)", hd ? hd : "(none)");
    ldr_http_response_header(res, "X-Echo", "yes");
}

static void fallback(void *opaque, const ldr_http_request_t *req,
                     ldr_http_response_t *res) {
    (void)opaque;
    res->content_type = "application/json";
    ldr_buf_printf(&res->body, "{\"status\":%d,\"method\":\"%s\"}\n",
                   res->status, ldr_http_request_method(req));
}

static int stream_freed;

static ssize_t count_down(void *stream, char *buf, size_t size) {
    int *left = stream;
    if (*left == 0) return -1;
    int n = snprintf(buf, size, "tick %d\n", (*left)--);
    return n;
}

static void count_free(void *stream) {
    free(stream);
    stream_freed++;
}

static void streamer(void *opaque, const ldr_http_request_t *req,
                     ldr_http_response_t *res) {
    (void)opaque;
    (void)req;
    int *left = malloc(sizeof(*left));
    assert_non_null(left);
    *left = 3;
    res->content_type = "text/event-stream";
    ldr_http_response_stream(res, count_down, count_free, left);
}

static ldr_http_t *start_routes(void) {
    ldr_http_t *h = ldr_http_new();
    ldr_http_thread_per_connection(h, 8);
    ldr_http_route(h, "/v1/things/{id}", echo, NULL);
    ldr_http_route(h, "/v1/things/{id}/parts/{part}", echo, NULL);
    ldr_http_route(h, "/stream", streamer, NULL);
    ldr_http_fallback(h, fallback, NULL);
    char err[256];
    assert_int_equal(ldr_http_start(h, "127.0.0.1:0", err, sizeof(err)),
                     LDR_OK);
    return h;
}

static void test_http_route_params(void **state) {
    (void)state;
    ldr_http_t *h = start_routes();
    int port = ldr_http_port(h);
    char *a = ask(port, "GET /v1/things/abc?q=x%20y HTTP/1.0\r\n"
                        "X-Test: hi\r\n\r\n");
    assert_non_null(strstr(a, " 200 OK\r\n"));
    assert_non_null(strstr(a, "X-Echo: yes\r\n"));
    assert_non_null(strstr(a, "route=/v1/things/{id} id=abc part=- q=x y "
                              "h=hi\n"));
    free(a);
    a = ask(port, "GET /v1/things/7/parts/9?q HTTP/1.0\r\n\r\n");
    assert_non_null(
        strstr(a, "route=/v1/things/{id}/parts/{part} id=7 part=9 q=(empty) "
                  "h=(none)\n"));
    free(a);
    a = ask(port, "GET /v1/things/7 HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(a, "q=(none)"));
    free(a);
    /* An empty or missing segment matches no parameter. */
    static const char *const missing[] = {"/v1/things/", "/v1/things",
                                          "/v1/things/7/parts/",
                                          "/v1/things/7/x", "/"};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        char req[128];
        snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", missing[i]);
        a = ask(port, req);
        assert_non_null(strstr(a, " 404 Not Found\r\n"));
        assert_non_null(strstr(a, "{\"status\":404,\"method\":\"GET\"}"));
        free(a);
    }
    a = ask(port, "PUT /v1/things/7 HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(a, " 405 Method Not Allowed\r\n"));
    assert_non_null(strstr(a, "Allow: GET, HEAD\r\n"));
    assert_non_null(strstr(a, "{\"status\":405,\"method\":\"PUT\"}"));
    free(a);
    ldr_http_destroy(h);
}

/* Echoes the method and the body of an ldr_http_route_any() route. */
static void echo_body(void *opaque, const ldr_http_request_t *req,
                      ldr_http_response_t *res) {
    (void)opaque;
    size_t len;
    const char *body = ldr_http_request_body(req, &len);
    ldr_buf_printf(&res->body, "%s %s len=%zu body=%s\n",
                   ldr_http_request_method(req),
                   ldr_http_request_param(req, "name"), len, body);
}

static void test_http_route_any_reads_the_body(void **state) {
    (void)state;
    ldr_http_t *h = ldr_http_new();
    ldr_http_route_any(h, "/items/{name}", echo_body, NULL);
    char err[256];
    assert_int_equal(ldr_http_start(h, "127.0.0.1:0", err, sizeof(err)),
                     LDR_OK);
    int port = ldr_http_port(h);
    char *a = ask(port, "POST /items/x HTTP/1.0\r\n"
                        "Content-Length: 11\r\n\r\n{\"a\": true}");
    assert_non_null(strstr(a, " 200 OK\r\n"));
    assert_non_null(strstr(a, "POST x len=11 body={\"a\": true}\n"));
    free(a);
    /* A body that comes in pieces (chunked) arrives whole. */
    a = ask(port, "PUT /items/y HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    assert_non_null(strstr(a, "PUT y len=5 body=abcde\n"));
    free(a);
    /* GET still works, with an empty body; so does DELETE without one. */
    a = ask(port, "GET /items/z HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(a, "GET z len=0 body=\n"));
    free(a);
    a = ask(port, "DELETE /items/z HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(a, "DELETE z len=0 body=\n"));
    free(a);
    /* Over LDR_HTTP_BODY_MAX: 413, and the handler is not called. */
    size_t big = LDR_HTTP_BODY_MAX + 1;
    char head[128];
    int n = snprintf(head, sizeof(head),
                     "POST /items/big HTTP/1.0\r\nContent-Length: %zu\r\n\r\n",
                     big);
    char *req = malloc((size_t)n + big + 1);
    assert_non_null(req);
    memcpy(req, head, (size_t)n);
    memset(req + n, 'x', big);
    req[(size_t)n + big] = '\0';
    a = ask(port, req);
    assert_non_null(strstr(a, " 413 "));
    assert_null(strstr(a, "POST big"));
    free(a);
    free(req);
    /* Other paths keep the old rules. */
    a = ask(port, "POST /other HTTP/1.0\r\nContent-Length: 1\r\n\r\nx");
    assert_non_null(strstr(a, " 404 Not Found\r\n"));
    free(a);
    ldr_http_destroy(h);
}

static void test_http_stream(void **state) {
    (void)state;
    ldr_http_t *h = start_routes();
    stream_freed = 0;
    char *a = ask(ldr_http_port(h), "GET /stream HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(a, "Content-Type: text/event-stream\r\n"));
    assert_non_null(strstr(a, "\r\n\r\ntick 3\ntick 2\ntick 1\n"));
    free(a);
    ldr_http_destroy(h);
    assert_int_equal(stream_freed, 1);
}

/* ---- limits ---------------------------------------------------------------
 */

/* A server on 127.0.0.1:0 with @p lim, counting into @p m. */
static ldr_http_t *start_limited(ldr_http_limits_t lim, ldr_metrics_t *m) {
    ldr_http_t *h = ldr_http_new();
    ldr_http_get(h, "/hello", hello, "hello, world\n");
    lim.metrics = m;
    ldr_http_limits(h, &lim);
    char err[256];
    assert_int_equal(ldr_http_start(h, "127.0.0.1:0", err, sizeof(err)),
                     LDR_OK);
    return h;
}

/* A connection to @p port from source address @p from. */
static int connect_from(const char *from, int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in src = {0};
    src.sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, from, &src.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* True when the server closes @p fd within @p ms (reads what comes). */
static bool closed_within(int fd, int ms) {
    struct pollfd p = {fd, POLLIN, 0};
    char buf[4096];
    for (int left = ms; left > 0; left -= 10) {
        if (poll(&p, 1, 10) > 0) {
            ssize_t r = recv(fd, buf, sizeof(buf), 0);
            if (r <= 0) return true;
        }
    }
    return false;
}

static double refused(ldr_metrics_t *m, const char *reason) {
    ldr_buf_t out;
    ldr_buf_init(&out);
    ldr_metrics_render(m, &out);
    char want[128];
    snprintf(want, sizeof(want), "ladder_http_refused_total{reason=\"%s\"} ",
             reason);
    const char *at = strstr(out.data ? out.data : "", want);
    double v = at ? atof(at + strlen(want)) : 0;
    ldr_buf_fini(&out);
    return v;
}

/* One address may hold only its share of the connections; others are
 * still served. */
static void test_http_limits_per_client(void **state) {
    (void)state;
    ldr_metrics_t *m = ldr_metrics_new();
    ldr_http_t *h =
        start_limited((ldr_http_limits_t){.max_connections = 16,
                                          .max_connections_per_client = 2},
                      m);
    int port = ldr_http_port(h);
    int a = connect_from("127.0.0.2", port),
        b = connect_from("127.0.0.2", port);
    usleep(100000);
    int c = connect_from("127.0.0.2", port);
    assert_true(closed_within(c, 1000));
    assert_false(closed_within(a, 200));
    char *ans = ask(port, "GET /hello HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(ans, " 200 OK\r\n"));
    free(ans);
    assert_true(refused(m, "per_ip") >= 1);
    close(a);
    close(b);
    close(c);
    usleep(200000);
    /* Given back: the address may connect again. */
    a = connect_from("127.0.0.2", port);
    assert_false(closed_within(a, 200));
    close(a);
    ldr_http_destroy(h);
    ldr_metrics_destroy(m);
}

/* A client that trickles header lines in is cut off at the deadline,
 * although it is never idle for long. */
static void test_http_limits_request_deadline(void **state) {
    (void)state;
    ldr_metrics_t *m = ldr_metrics_new();
    ldr_http_t *h = start_limited(
        (ldr_http_limits_t){.max_connections = 16, .request_timeout_ms = 400},
        m);
    int fd = connect_to(ldr_http_port(h));
    assert_true(fd >= 0);
    const char *line = "GET /hello HTTP/1.1\r\n";
    assert_int_equal(send(fd, line, strlen(line), MSG_NOSIGNAL),
                     (ssize_t)strlen(line));
    bool cut = false;
    for (int i = 0; i < 20 && !cut; i++) {
        send(fd, "X-A: b\r\n", 8, MSG_NOSIGNAL);
        cut = closed_within(fd, 100);
    }
    assert_true(cut);
    assert_true(refused(m, "deadline") >= 1);
    close(fd);
    ldr_http_destroy(h);
    ldr_metrics_destroy(m);
}

/* A GET's body is read (and dropped) only so far. */
static void test_http_limits_get_body(void **state) {
    (void)state;
    ldr_metrics_t *m = ldr_metrics_new();
    ldr_http_t *h = start_limited((ldr_http_limits_t){0}, m);
    int fd = connect_to(ldr_http_port(h));
    const char *head =
        "GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n";
    send(fd, head, strlen(head), MSG_NOSIGNAL);
    static char chunk[16384];
    memset(chunk, 'x', sizeof(chunk));
    size_t sent = 0;
    while (sent < 100000000 && send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL) > 0)
        sent += sizeof(chunk);
    assert_true(sent < 100000000);
    assert_true(closed_within(fd, 1000));
    assert_true(refused(m, "body") >= 1);
    close(fd);
    ldr_http_destroy(h);
    ldr_metrics_destroy(m);
}

static void client_echo(void *opaque, const ldr_http_request_t *req,
                        ldr_http_response_t *res) {
    (void)opaque;
    ldr_buf_printf(&res->body, "client=%s\n", ldr_http_request_client(req));
}

/* The answer's "client=" line for @p xff (NULL: no header) on a server
 * that trusts @p proxy (NULL: none). */
static void assert_client(const char *proxy, const char *xff,
                          const char *want) {
    ldr_http_t *h = ldr_http_new();
    ldr_http_route(h, "/who", client_echo, NULL);
    ldr_http_limits(h, &(ldr_http_limits_t){.max_connections = 8,
                                            .max_connections_per_client = 4,
                                            .trusted_proxy = proxy});
    char err[256], req[256], line[128];
    assert_int_equal(ldr_http_start(h, "127.0.0.1:0", err, sizeof(err)),
                     LDR_OK);
    snprintf(req, sizeof(req), "GET /who HTTP/1.0\r\n%s%s%s\r\n",
             xff ? "X-Forwarded-For: " : "", xff ? xff : "", xff ? "\r\n" : "");
    char *a = ask(ldr_http_port(h), req);
    snprintf(line, sizeof(line), "\r\n\r\nclient=%s\n", want);
    if (!strstr(a, line)) fail_msg("wanted %s, got: %s", want, a);
    free(a);
    ldr_http_destroy(h);
}

/* X-Forwarded-For names the client only behind the trusted proxy, and
 * then its last address, the one the proxy added. */
static void test_http_limits_trusted_proxy(void **state) {
    (void)state;
    assert_client(NULL, "203.0.113.9", "127.0.0.1");
    assert_client("127.0.0.1", "203.0.113.9, 198.51.100.7", "198.51.100.7");
    assert_client("127.0.0.1", "2001:db8::1", "2001:db8::1");
    assert_client("127.0.0.1", NULL, "127.0.0.1");
    assert_client("127.0.0.1", "not-an-address", "127.0.0.1");
    assert_client("10.9.9.9", "203.0.113.9", "127.0.0.1");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_get),
        cmocka_unit_test(test_http_status_and_type),
        cmocka_unit_test(test_http_not_found),
        cmocka_unit_test(test_http_method_not_allowed),
        cmocka_unit_test(test_http_port_in_use),
        cmocka_unit_test(test_http_bad_address),
        cmocka_unit_test(test_http_stops),
        cmocka_unit_test(test_http_keep_alive),
        cmocka_unit_test(test_http_route_params),
        cmocka_unit_test(test_http_stream),
        cmocka_unit_test(test_http_route_any_reads_the_body),
        cmocka_unit_test(test_http_limits_per_client),
        cmocka_unit_test(test_http_limits_request_deadline),
        cmocka_unit_test(test_http_limits_get_body),
        cmocka_unit_test(test_http_limits_trusted_proxy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
