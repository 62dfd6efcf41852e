/* svc.c -- the service skeleton (svc.h).
 *
 * DESIGN: a signal handler may only touch async-signal-safe state, so the
 * stop request is the one process-wide flag here (a signal is addressed to
 * the process, not to one service object) plus a self-pipe: the handler
 * sets the flag and writes a byte, ldr_svc_wait() sleeps in read() on the
 * pipe, so a signal delivered to any thread (an HTTP or librdkafka thread
 * included) wakes the waiting main thread without a race. */
#include "ladder/svc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

#include "ladder/alloc.h"
#include "ladder/clock.h"
#include "ladder/log.h"
#include "ladder/version.h"

extern char **environ;

struct ldr_svc {
    ldr_svc_spec_t spec;
    ldr_config_t *cfg;
    ldr_metrics_t *metrics;
    ldr_metric_t *ready_gauge; /* ladder_ready */
    /* the process figures Prometheus's client libraries export, read from
     * /proc at each scrape (svc_process_refresh) */
    ldr_metric_t *proc_rss, *proc_vsize, *proc_cpu, *proc_start, *proc_fds,
        *proc_max_fds;
    ldr_http_t *http;
    atomic_llong heartbeat_ms; /* last time round the loop (monotonic) */
    atomic_bool running;
    pthread_mutex_t health_lock;
    bool ready;
    char not_ready[256];
};

static volatile sig_atomic_t svc_stop_flag;
static volatile sig_atomic_t svc_stop_signal;
static int svc_pipe[2] = {-1, -1};

static void svc_on_signal(int sig) {
    int saved = errno;
    svc_stop_flag = 1;
    svc_stop_signal = sig;
    if (svc_pipe[1] >= 0) {
        ssize_t w = write(svc_pipe[1], "x", 1);
        (void)w; /* a full pipe already wakes the reader */
    }
    errno = saved;
}

void ldr_svc_signals(void) {
    if (svc_pipe[0] < 0 && pipe2(svc_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        svc_pipe[0] = svc_pipe[1] = -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = svc_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* A write to a peer that went away (a restarted Redis, a webhook) must
     * be an error the caller sees, not a signal that ends the program. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

bool ldr_svc_stopping(void) {
    return svc_stop_flag != 0;
}

void ldr_svc_stop(void) {
    svc_on_signal(0);
}

ldr_config_t *ldr_svc_config_load(const char *program, const char *path,
                                  char *errstr, size_t errstr_size) {
    ldr_log_set_program(program);
    ldr_config_t *cfg = ldr_config_new(program);
    if ((path && ldr_config_load_file(cfg, path, errstr, errstr_size)) ||
        ldr_config_load_env(cfg, environ, errstr, errstr_size)) {
        ldr_config_destroy(cfg);
        return NULL;
    }
    ldr_log_level_t level;
    if (ldr_log_parse_level(ldr_config_get(cfg, "log.level"), &level) == LDR_OK)
        ldr_log_set_level(level);
    ldr_log_format_t format;
    if (ldr_log_parse_format(ldr_config_get(cfg, "log.format"), &format) ==
        LDR_OK)
        ldr_log_set_format(format);
    ldr_log_set_timestamps(ldr_config_get_bool(cfg, "log.timestamps"));
    return cfg;
}

#ifndef LADDER_AVRO_VERSION
#define LADDER_AVRO_VERSION "unknown"
#endif
#define SVC_STR_(x) #x
#define SVC_STR(x)  SVC_STR_(x)
#define SVC_HIREDIS_VERSION                                                    \
    SVC_STR(HIREDIS_MAJOR) "." SVC_STR(HIREDIS_MINOR) "." SVC_STR(HIREDIS_PATCH)

void ldr_svc_version_print(const char *program, FILE *out) {
    /* Avro-C has no version macro or function: CMake records the version
     * pkg-config reports (LADDER_AVRO_VERSION). */
    const ldr_version_libs_t libs = {
        .rdkafka = rd_kafka_version_str(),
        .hiredis = SVC_HIREDIS_VERSION,
        .avro = LADDER_AVRO_VERSION,
    };
    ldr_version_print(out, program, &libs);
}

int ldr_svc_version(const char *program, int argc, char **argv) {
    if (!ldr_version_requested(argc, argv)) return 0;
    ldr_svc_version_print(program, stdout);
    return 1;
}

/* A configuration that does not load: when LADDER_LOG_FORMAT asks for
 * JSON, the reason is a JSON line too (a collector reading the service's
 * output sees why it stopped); the file's log.format is not known here. */
static void svc_config_fail(const char *program, const char *why) {
    ldr_log_format_t format;
    const char *env = getenv("LADDER_LOG_FORMAT");
    if (env && ldr_log_parse_format(env, &format) == LDR_OK &&
        format == LDR_LOG_FORMAT_JSON) {
        ldr_log_set_format(format);
        ldr_log_write(LDR_LOG_LEVEL_ERROR, "%s", why);
    } else {
        fprintf(stderr, "%s: %s\n", program, why);
    }
}

static void svc_usage(const ldr_svc_spec_t *spec, FILE *f) {
    fprintf(f, "Usage: %s [--config FILE] [--version]\n%s", spec->program,
            spec->summary);
}

ldr_svc_t *ldr_svc_new(const ldr_svc_spec_t *spec, int argc, char **argv,
                       int *exit_code) {
    const char *config_file = NULL;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0}};
    int c;
    *exit_code = 2;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'c') {
            config_file = optarg;
        } else if (c == 'h') {
            svc_usage(spec, stdout);
            *exit_code = 0;
            return NULL;
        } else if (c == 'v') {
            ldr_svc_version_print(spec->program, stdout);
            *exit_code = 0;
            return NULL;
        } else {
            svc_usage(spec, stderr);
            return NULL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", spec->program,
                argv[optind]);
        return NULL;
    }
    char err[1024];
    ldr_config_t *cfg =
        ldr_svc_config_load(spec->program, config_file, err, sizeof(err));
    if (!cfg) {
        svc_config_fail(spec->program, err);
        return NULL;
    }
    ldr_svc_t *svc = ldr_calloc(1, sizeof(*svc));
    svc->spec = *spec;
    svc->cfg = cfg;
    svc->metrics = ldr_metrics_new();
    /* The same gauge in every program, so one alert covers them all. */
    svc->ready_gauge = ldr_metrics_gauge(
        svc->metrics, "ladder_ready",
        "1 while the program is ready (what /readyz answers), 0 otherwise.",
        NULL);
    /* Which build is running, as the Prometheus convention has it: a
     * gauge of 1 whose labels say it. */
    ldr_metric_t *build = ldr_metrics_gauge(
        svc->metrics, "ladder_build_info",
        "1, labelled with the version, commit and name of the program.",
        "version,commit,program");
    ldr_metrics_set(
        build,
        LDR_METRICS_LABELS(ldr_version(), ldr_version_commit(), spec->program),
        1);
    svc->proc_rss =
        ldr_metrics_gauge(svc->metrics, "process_resident_memory_bytes",
                          "Resident memory size in bytes.", NULL);
    svc->proc_vsize =
        ldr_metrics_gauge(svc->metrics, "process_virtual_memory_bytes",
                          "Virtual memory size in bytes.", NULL);
    svc->proc_cpu = ldr_metrics_counter(
        svc->metrics, "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.", NULL);
    svc->proc_start = ldr_metrics_gauge(
        svc->metrics, "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.", NULL);
    svc->proc_fds = ldr_metrics_gauge(svc->metrics, "process_open_fds",
                                      "Number of open file descriptors.", NULL);
    svc->proc_max_fds =
        ldr_metrics_gauge(svc->metrics, "process_max_fds",
                          "Maximum number of open file descriptors.", NULL);
    svc->http = ldr_http_new();
    pthread_mutex_init(&svc->health_lock, NULL);
    atomic_store(&svc->running, true);
    ldr_svc_heartbeat(svc);
    ldr_svc_set_ready(svc, false, "starting");
    ldr_svc_signals();
    return svc;
}

void ldr_svc_destroy(ldr_svc_t *svc) {
    if (!svc) return;
    ldr_http_destroy(svc->http); /* joins the threads that read the rest */
    ldr_metrics_destroy(svc->metrics);
    ldr_config_destroy(svc->cfg);
    pthread_mutex_destroy(&svc->health_lock);
    free(svc);
}

ldr_config_t *ldr_svc_config(const ldr_svc_t *svc) {
    return svc->cfg;
}

ldr_metrics_t *ldr_svc_metrics(const ldr_svc_t *svc) {
    return svc->metrics;
}

ldr_http_t *ldr_svc_http(const ldr_svc_t *svc) {
    return svc->http;
}

/* ---- health --------------------------------------------------------------
 */

void ldr_svc_heartbeat(ldr_svc_t *svc) {
    atomic_store_explicit(&svc->heartbeat_ms, ldr_clock_mono_ms(),
                          memory_order_relaxed);
}

void ldr_svc_set_ready(ldr_svc_t *svc, bool ready, const char *why) {
    pthread_mutex_lock(&svc->health_lock);
    svc->ready = ready;
    snprintf(svc->not_ready, sizeof(svc->not_ready), "%s",
             ready || !why ? "" : why);
    pthread_mutex_unlock(&svc->health_lock);
    ldr_metrics_set(svc->ready_gauge, NULL, ready ? 1 : 0);
}

void ldr_svc_stopped(ldr_svc_t *svc) {
    atomic_store(&svc->running, false);
}

void ldr_svc_livez(ldr_svc_t *svc, ldr_http_response_t *res) {
    res->content_type = "application/json";
    int64_t idle =
        ldr_clock_mono_ms() -
        atomic_load_explicit(&svc->heartbeat_ms, memory_order_relaxed);
    if (!atomic_load(&svc->running)) {
        res->status = 503;
        ldr_buf_append_str(&res->body,
                           "{\"live\":false,\"reason\":\"stopping\"}");
    } else if (svc->spec.live_stall_ms > 0 && idle > svc->spec.live_stall_ms) {
        res->status = 503;
        ldr_buf_printf(&res->body,
                       "{\"live\":false,\"reason\":\"the loop has not run "
                       "for %lld s\"}",
                       (long long)(idle / 1000));
    } else {
        ldr_buf_append_str(&res->body, "{\"live\":true}");
    }
}

static void svc_readyz_cb(void *opaque, ldr_http_response_t *res) {
    ldr_svc_t *svc = opaque;
    pthread_mutex_lock(&svc->health_lock);
    if (svc->ready) {
        ldr_buf_append_str(&res->body, "ready\n");
    } else {
        res->status = 503;
        ldr_buf_printf(&res->body, "not ready: %s\n", svc->not_ready);
    }
    pthread_mutex_unlock(&svc->health_lock);
}

/* The boot time (/proc/stat btime), in seconds since the epoch; 0 when
 * it cannot be read. */
static long long svc_boot_time(void) {
    FILE *f = fopen("/proc/stat", "r");
    char line[256];
    long long btime = 0;
    if (!f) return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "btime %lld", &btime) == 1) break;
    fclose(f);
    return btime;
}

/* Sets the process gauges from /proc/self/stat (fields 14-15 utime and
 * stime, 22 starttime in clock ticks since boot, 23 vsize in bytes, 24
 * rss in pages, counted after the ")" that ends the command name, which
 * may hold spaces) and the entries of /proc/self/fd. A figure /proc does
 * not give is left as it was. */
static void svc_process_refresh(ldr_svc_t *svc) {
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long long utime, stime, start, vsize;
    long long rss;
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    if (p && ticks > 0 && page > 0 &&
        sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d "
               "%*d %*d %*d %*d %*d %llu %llu %lld",
               &utime, &stime, &start, &vsize, &rss) == 5) {
        ldr_metrics_set(svc->proc_rss, NULL, (double)rss * (double)page);
        ldr_metrics_set(svc->proc_vsize, NULL, (double)vsize);
        /* the start does not move: /proc/stat is read until it is known */
        long long boot =
            ldr_metrics_value(svc->proc_start, NULL) > 0 ? 0 : svc_boot_time();
        if (boot > 0)
            ldr_metrics_set(svc->proc_start, NULL,
                            (double)boot + (double)start / (double)ticks);
        /* a counter only adds: what it lacks of the total, one scrape at a
         * time (the lock keeps two scrapes from adding it twice) */
        double cpu = (double)(utime + stime) / (double)ticks;
        pthread_mutex_lock(&svc->health_lock);
        double seen = ldr_metrics_value(svc->proc_cpu, NULL);
        if (cpu > seen) ldr_metrics_add(svc->proc_cpu, NULL, cpu - seen);
        pthread_mutex_unlock(&svc->health_lock);
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        int fds = 0;
        for (struct dirent *de; (de = readdir(d)) != NULL;)
            if (de->d_name[0] != '.') fds++;
        closedir(d);
        ldr_metrics_set(svc->proc_fds, NULL, fds - 1); /* less the DIR's */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        ldr_metrics_set(svc->proc_max_fds, NULL, (double)rl.rlim_cur);
}

void ldr_svc_metrics_page(ldr_svc_t *svc, ldr_http_response_t *res) {
    svc_process_refresh(svc);
    res->content_type = LDR_METRICS_CONTENT_TYPE;
    ldr_metrics_render(svc->metrics, &res->body);
}

static void svc_livez_cb(void *opaque, ldr_http_response_t *res) {
    ldr_svc_livez(opaque, res);
}

static void svc_metrics_cb(void *opaque, ldr_http_response_t *res) {
    ldr_svc_metrics_page(opaque, res);
}

void ldr_svc_health_routes(ldr_svc_t *svc) {
    ldr_http_get(svc->http, "/livez", svc_livez_cb, svc);
    ldr_http_get(svc->http, "/readyz", svc_readyz_cb, svc);
    ldr_http_get(svc->http, "/metrics", svc_metrics_cb, svc);
}

/* Hands the http.* limits to the server; LDR_ERR_CONFIG when they do not
 * fit together. */
static ldr_err_t svc_http_limits(ldr_svc_t *svc, char *errstr,
                                 size_t errstr_size) {
    const ldr_config_t *cfg = svc->cfg;
    ldr_http_limits_t lim = {
        .max_connections =
            (unsigned)ldr_config_get_int(cfg, "http.max.connections"),
        .max_connections_per_client =
            (unsigned)ldr_config_get_int(cfg, "http.max.connections.per.ip"),
        .request_timeout_ms =
            (unsigned)ldr_config_get_int(cfg, "http.request.timeout.ms"),
        .trusted_proxy = ldr_config_get(cfg, "http.trusted.proxy"),
        .metrics = svc->metrics,
    };
    if (lim.max_connections_per_client >= lim.max_connections)
        return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                           "http.max.connections.per.ip (%u) must be below "
                           "http.max.connections (%u), or 0 for no "
                           "per-address limit: one client could otherwise "
                           "take every connection",
                           lim.max_connections_per_client, lim.max_connections);
    unsigned char bin[sizeof(struct in6_addr)];
    const char *proxy = lim.trusted_proxy;
    if (proxy && *proxy &&
        inet_pton(strchr(proxy, ':') ? AF_INET6 : AF_INET, proxy, bin) != 1)
        return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                           "http.trusted.proxy: \"%.64s\" is not an IP "
                           "address (such as 10.0.0.5 or fd00::5)",
                           proxy);
    ldr_http_limits(svc->http, &lim);
    return LDR_OK;
}

ldr_err_t ldr_svc_serve(ldr_svc_t *svc, const char *what, char *errstr,
                        size_t errstr_size) {
    const char *listen_at = ldr_config_get(svc->cfg, "http.listen");
    ldr_err_t err = svc_http_limits(svc, errstr, errstr_size);
    if (err) return err;
    err = ldr_http_start(svc->http, listen_at, errstr, errstr_size);
    if (err) return err;
    if (what) {
        char port[16];
        snprintf(port, sizeof(port), "%d", ldr_http_port(svc->http));
        LDR_LOG_KV(LDR_LOG_LEVEL_INFO,
                   ((const char *[]){"listen", listen_at, "port", port, NULL}),
                   "serving %s on %s (port %s)", what, listen_at, port);
    }
    return LDR_OK;
}

/* ---- stopping ------------------------------------------------------------
 */

int ldr_svc_wait(ldr_svc_t *svc) {
    while (!svc_stop_flag) {
        if (svc_pipe[0] < 0) {
            ldr_clock_sleep_ms(100);
            continue;
        }
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(svc_pipe[0], &rd);
        struct timeval tv = {1, 0};
        if (select(svc_pipe[0] + 1, &rd, NULL, NULL, &tv) > 0) {
            char drain[16];
            while (read(svc_pipe[0], drain, sizeof(drain)) > 0) {
            }
        }
    }
    if (svc) ldr_svc_stopped(svc);
    return svc_stop_signal;
}

int ldr_svc_fail(const ldr_svc_t *svc, const char *why) {
    /* The configuration is loaded by now: a collector that parses the log
     * lines gets the reason as one of them. */
    if (ldr_log_get_format() == LDR_LOG_FORMAT_JSON)
        ldr_log_write(LDR_LOG_LEVEL_ERROR, "%s", why);
    else
        fprintf(stderr, "%s: %s\n", svc->spec.program, why);
    return 2;
}

ldr_schemas_t *ldr_svc_schemas_load(const ldr_config_t *cfg, bool producer,
                                    ldr_registry_t **registry, char *errstr,
                                    size_t n) {
    char path[4096];
    *registry = NULL;
    ldr_schemas_t *schemas = ldr_schemas_load(
        ldr_config_data_path(ldr_config_get(cfg, "schemas.dir"), path,
                             sizeof(path)),
        errstr, n);
    if (!schemas) return NULL;
    if (ldr_registry_from_config(cfg, registry, errstr, n) == LDR_OK &&
        (!*registry || ldr_registry_attach(*registry, schemas, producer, errstr,
                                           n) == LDR_OK))
        return schemas;
    ldr_schemas_destroy(schemas);
    ldr_registry_destroy(*registry);
    *registry = NULL;
    return NULL;
}
