/* ladder-api -- read-only HTTP/JSON over the register the workers keep.
 *
 * DESIGN: the workers are the only writers of the store (DESIGN.md);
 * ladder-api reads it and never writes, so it can run in any number of
 * copies next to the workers and a bug here cannot damage the register. An
 * enterprise lives in the partition murmur2_random gives its USCC among the
 * partition count the workers record (store.h), exactly as the producers
 * choose it, so one HGET finds it; its state is decoded with the worker's
 * own decoder (enterprise.h) and its recent decisions come from the
 * compact history the state carries (enterprise.c). Statistics are the sum
 * of the per-partition counters hashes, which the workers move in the same
 * atomic step as the states, so they always agree with the states
 * (stats.c). Notices come from the capped per-partition notices streams
 * (routes.c for the list, sse.c for the live stream).
 *
 * Every request runs on its connection's thread and takes a Redis
 * connection from a pool for the duration of its calls (pool.c). Answers
 * are JSON; every error is {"error": CODE, "message": TEXT} with a status
 * that says whose fault it is (400 the request, 401 the token, 404 nothing
 * there, 503 the store). With api.token set, every route that reads the
 * register requires it, as a bearer token, or a session cookie that the
 * dashboard gets by signing in once with the token (auth.c); a token in a
 * URL is refused.
 *
 * Start-up, configuration, signals and the HTTP server are the service
 * skeleton's (svc.h), as for every ladder program; this file only wires
 * the API's parts into it. */
#include "api_int.h"

#include "ladder/alloc.h"
#include "ladder/config.h"
#include "ladder/log.h"
#include "ladder/units_file.h"
#include "ladder/webhook.h"

#include <signal.h>
#include <string.h>

static const char api_summary[] =
    "Serve the register that ladder-worker keeps in Redis, read-only: an\n"
    "enterprise's designations and recent decisions, statistics against "
    "the\n14th Five-Year targets, revocation notices (also live, as "
    "Server-Sent\nEvents) and a dashboard page.\n\n"
    "  --config FILE   key = value configuration (docs/CONFIG.md); "
    "LADDER_*\n                  variables override it\n"
    "  --help          show this help\n\n"
    "Keys used: redis.url, redis.password, redis.cluster, http.listen (default "
    "127.0.0.1:8080),\nhttp.max.connections, http.max.connections.per.ip, "
    "http.request.timeout.ms,\nhttp.trusted.proxy, api.token, "
    "api.session.lifetime.s, api.notices.limit,\napi.sse.max.streams, "
    "api.sse.max.streams.per.ip, api.replay.max, input.topic,\nunits.file, "
    "log.level.\n\n"
    "Endpoints (docs/API.md): GET /, /v1/enterprises/{uscc}, "
    "/v1/stats[?unit=CODE],\n/v1/notices[?since=TIME&limit=N], "
    "/v1/notices/stream, /metrics, /livez, /readyz;\n"
    "GET and POST /v1/session (the dashboard's sign-in), POST "
    "/v1/session/end.\n\n"
    "Stops on SIGTERM or SIGINT, ending open notice streams. Exit "
    "status: 0 after\na clean stop, 2 for a configuration error or "
    "a Redis that cannot be reached\nat start-up.\n";

/* Registers the API's metrics in the service's registry. */
static void api_metrics_init(api_t *a) {
    ldr_metrics_t *m = ldr_svc_metrics(a->svc);
    a->requests = ldr_metrics_counter(m, "ladder_api_requests_total",
                                      "HTTP requests answered, by route and "
                                      "status code.",
                                      "route,code");
    static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                    0.025,  0.05,  0.1,    0.25,  1};
    a->seconds = ldr_metrics_histogram(
        m, "ladder_api_request_seconds",
        "Time to build an answer (for a stream: to open it), by route.",
        "route", bounds, LDR_ARRAY_SIZE(bounds));
    a->sse_clients =
        ldr_metrics_gauge(m, "ladder_api_sse_clients",
                          "Open /v1/notices/stream connections.", NULL);
    a->received = ldr_metrics_counter(
        m, "ladder_api_notices_received_total",
        "Notices read from the notices streams since start.", NULL);
    a->redis_errors = ldr_metrics_counter(m, "ladder_api_redis_errors_total",
                                          "Requests that failed because "
                                          "Redis did not answer.",
                                          NULL);
}

/* False with one line in @p err when the caps on connections and notice
 * streams do not fit together. */
static bool api_limits_check(const ldr_config_t *cfg, char *err,
                             size_t err_size) {
    long long conns = ldr_config_get_int(cfg, "http.max.connections");
    long long streams = ldr_config_get_int(cfg, "api.sse.max.streams");
    if (streams < conns) return true;
    snprintf(err, err_size,
             "api.sse.max.streams (%lld) must be below "
             "http.max.connections (%lld): open streams would leave no "
             "connection for /livez and the other requests",
             streams, conns);
    return false;
}

/* Reads the configuration, loads the units table and checks that Redis
 * answers; false with one line in @p err. */
static bool api_init(api_t *a, char *err, size_t err_size) {
    ldr_config_t *cfg = ldr_svc_config(a->svc);
    const char *token = ldr_config_get(cfg, "api.token");
    api_auth_init(&a->auth, token && *token ? token : NULL,
                  (int)ldr_config_get_int(cfg, "api.session.lifetime.s"));
    a->input_topic = ldr_config_get(cfg, "input.topic");
    a->notices_limit = (int)ldr_config_get_int(cfg, "api.notices.limit");
    if (!api_limits_check(cfg, err, err_size)) return false;
    char path[4096];
    a->units =
        ldr_units_load(ldr_config_data_path(ldr_config_get(cfg, "units.file"),
                                            path, sizeof(path)),
                       err, err_size);
    if (!a->units) return false;
    ldr_cluster_mode_t mode;
    if (ldr_cluster_mode_parse(ldr_config_get(cfg, "redis.cluster"), &mode, err,
                               err_size))
        return false;
    api_pool_init(&a->pool, ldr_config_get(cfg, "redis.url"),
                  ldr_config_get(cfg, "redis.password"), mode, 5000);
    /* Redis first: a service that cannot reach its store says so at once. */
    ldr_cluster_t *probe = api_pool_get(&a->pool, err, err_size);
    if (!probe) return false;
    api_pool_put(&a->pool, probe);
    ldr_svc_set_ready(a->svc, true, NULL);
    return true;
}

/* Sets the caps on connections and notice streams (checked by
 * api_limits_check()). */
static void api_limits(api_t *a) {
    ldr_config_t *cfg = ldr_svc_config(a->svc);
    long long conns = ldr_config_get_int(cfg, "http.max.connections");
    long long streams = ldr_config_get_int(cfg, "api.sse.max.streams");
    /* A stream blocks its connection's thread: one thread each. */
    ldr_http_thread_per_connection(ldr_svc_http(a->svc), (unsigned)conns);
    api_notices_limits(
        a->notices, ldr_svc_http(a->svc), (int)streams,
        (int)ldr_config_get_int(cfg, "api.sse.max.streams.per.ip"),
        (int)ldr_config_get_int(cfg, "api.replay.max"));
}

/* Warns when the API is open (no api.token) on an address that other
 * machines can reach: anyone there can read the whole register. */
static void api_warn_open(const api_t *a) {
    const char *listen = ldr_config_get(ldr_svc_config(a->svc), "http.listen");
    const char *colon = strrchr(listen, ':');
    char host[256];
    snprintf(host, sizeof(host), "%.*s",
             colon ? (int)(colon - listen) : (int)strlen(listen), listen);
    if (a->auth.token || ldr_webhook_host_is_loopback(host)) return;
    LDR_LOG_WARN("the API is open: api.token is not set and http.listen "
                 "(%s) is not a loopback address, so anyone who can reach "
                 "it reads the register; set api.token",
                 listen);
}

/* Starts the HTTP server; false with one line in @p err. */
static bool api_serve(api_t *a, char *err, size_t err_size) {
    ldr_http_t *http = ldr_svc_http(a->svc);
    api_limits(a);
    api_routes(a);
    if (ldr_svc_serve(a->svc, NULL, err, err_size)) return false;
    LDR_LOG_INFO("serving the API and the dashboard on http://%s/ (port %d)%s",
                 ldr_config_get(ldr_svc_config(a->svc), "http.listen"),
                 ldr_http_port(http),
                 a->auth.token ? "; api.token required (the dashboard "
                                 "asks for it once)"
                               : "");
    api_warn_open(a);
    return true;
}

int main(int argc, char **argv) {
    static const ldr_svc_spec_t spec = {"ladder-api", api_summary, 0};
    int rc;
    api_t a;
    memset(&a, 0, sizeof(a));
    a.svc = ldr_svc_new(&spec, argc, argv, &rc);
    if (!a.svc) return rc;
    rc = 2;
    char err[1024];
    if (!api_init(&a, err, sizeof(err))) {
        rc = ldr_svc_fail(a.svc, err);
        goto out;
    }
    api_metrics_init(&a);
    a.notices = api_notices_start(&a.pool, a.received, a.sse_clients);
    if (!api_serve(&a, err, sizeof(err))) {
        rc = ldr_svc_fail(a.svc, err);
        api_notices_stop(a.notices);
        goto out;
    }
    int sig = ldr_svc_wait(a.svc);
    LDR_LOG_INFO("stopping on %s: ending the notice streams",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
    api_notices_stop(a.notices);
    rc = 0;
out:
    /* The HTTP server first: its threads still read the notices and the
     * pool until they end. */
    ldr_svc_destroy(a.svc);
    api_notices_destroy(a.notices);
    if (a.pool.url) api_pool_fini(&a.pool);
    ldr_units_destroy(a.units);
    if (rc == 0) LDR_LOG_INFO("stopped");
    return rc;
}
