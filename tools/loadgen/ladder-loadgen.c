/* ladder-loadgen -- an open-loop HTTP load generator for ladder-api.
 *
 * DESIGN: a closed-loop client (send, wait for the answer, send the next)
 * slows down when the server does, so it never sees the queue a real
 * crowd of clients would build up: the slow answers are few and the
 * percentiles look good ("coordinated omission"). This one is open-loop:
 * request i is due at start + i / rate whatever happened before, and its
 * latency is measured from that due time, not from when it was actually
 * sent, so time spent waiting behind a slow answer counts. The requests
 * are dealt round-robin over --connections keep-alive HTTP/1.1
 * connections, one thread each (each connection's requests are due every
 * connections / rate seconds); a connection that falls behind sends at
 * once, and its lateness shows in the latencies. Paths are taken in turn
 * from a file (one per line, e.g. /v1/enterprises/<USCC>). The first
 * --warmup seconds are sent but not counted. Answers must carry a
 * Content-Length (ladder-api's JSON answers do).
 *
 * The target and the token come from the same configuration as
 * ladder-api's (http.listen, api.token), so one file serves both. */
#include "ladder/config.h"
#include "ladder/log.h"
#include "ladder/svc.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

typedef struct lg_conf {
    char host[256];
    char port[8];
    const char *token;
    char **paths;
    size_t npaths;
    double rate;
    double duration_s;
    double warmup_s;
    int connections;
} lg_conf_t;

typedef struct lg_conn {
    const lg_conf_t *c;
    int index;
    int64_t start_ns;
    /* results */
    double *lat_ms; /* counted requests only */
    size_t nlat, cap;
    uint64_t sent, ok2xx, not_found, other, errors, reconnects;
    char first_error[160];
} lg_conn_t;

static int64_t lg_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void lg_sleep_until(int64_t t_ns) {
    struct timespec ts = {(time_t)(t_ns / 1000000000), t_ns % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
           EINTR) {
    }
}

static int lg_connect(const lg_conf_t *c, char *err, size_t n) {
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(c->host, c->port, &hints, &ai);
    if (gai) {
        snprintf(err, n, "%s:%s: %s", c->host, c->port, gai_strerror(gai));
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
        snprintf(err, n, "connect %s:%s: %s", c->host, c->port,
                 strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Sends one request and reads its whole answer; the status, or -1 (the
 * connection is then unusable). */
static int lg_exchange(int fd, const char *req, size_t len, char *buf,
                       size_t cap, char *err, size_t n) {
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (w <= 0) {
            snprintf(err, n, "send: %s", strerror(errno));
            return -1;
        }
        off += (size_t)w;
    }
    size_t got = 0;
    char *end = NULL;
    while (!end) {
        if (got + 1 >= cap) {
            snprintf(err, n, "headers larger than %zu bytes", cap);
            return -1;
        }
        ssize_t r = recv(fd, buf + got, cap - 1 - got, 0);
        if (r <= 0) {
            snprintf(err, n, "recv: %s",
                     r == 0 ? "the server closed the connection"
                            : strerror(errno));
            return -1;
        }
        got += (size_t)r;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        snprintf(err, n, "not an HTTP answer");
        return -1;
    }
    long long body = -1;
    for (char *line = strstr(buf, "\r\n"); line && line < end;
         line = strstr(line + 2, "\r\n"))
        if (!strncasecmp(line + 2, "Content-Length:", 15))
            body = strtoll(line + 17, NULL, 10);
    if (body < 0) {
        snprintf(err, n, "the answer has no Content-Length");
        return -1;
    }
    size_t have = got - (size_t)(end + 4 - buf);
    while ((long long)have < body) {
        ssize_t r = recv(fd, buf, cap, 0);
        if (r <= 0) {
            snprintf(err, n, "recv body: %s",
                     r == 0 ? "closed" : strerror(errno));
            return -1;
        }
        have += (size_t)r;
    }
    return status;
}

static void *lg_run(void *opaque) {
    lg_conn_t *k = opaque;
    const lg_conf_t *c = k->c;
    char err[160], req[1024], *buf = malloc(65536);
    if (!buf) abort();
    int fd = -1;
    int64_t interval_ns = (int64_t)(1e9 / c->rate);
    int64_t end_ns =
        k->start_ns + (int64_t)((c->warmup_s + c->duration_s) * 1e9);
    int64_t count_from = k->start_ns + (int64_t)(c->warmup_s * 1e9);
    for (uint64_t i = (uint64_t)k->index; !ldr_svc_stopping();
         i += (uint64_t)c->connections) {
        int64_t due = k->start_ns + (int64_t)i * interval_ns;
        if (due >= end_ns) break;
        lg_sleep_until(due);
        const char *path = c->paths[i % c->npaths];
        int len = snprintf(
            req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%s\r\n%s%s%s\r\n",
            path, c->host, c->port, c->token ? "Authorization: Bearer " : "",
            c->token ? c->token : "", c->token ? "\r\n" : "");
        int status = -1;
        for (int attempt = 0; attempt < 2 && status < 0; attempt++) {
            if (fd < 0 && (fd = lg_connect(c, err, sizeof(err))) < 0) break;
            status =
                lg_exchange(fd, req, (size_t)len, buf, 65536, err, sizeof(err));
            if (status < 0) {
                close(fd);
                fd = -1;
                k->reconnects++;
            }
        }
        int64_t done = lg_now_ns();
        k->sent++;
        if (status < 0) {
            if (!k->errors)
                snprintf(k->first_error, sizeof(k->first_error), "%s", err);
            k->errors++;
            continue;
        }
        if (status >= 200 && status < 300)
            k->ok2xx++;
        else if (status == 404)
            k->not_found++;
        else
            k->other++;
        if (due < count_from) continue;
        if (k->nlat == k->cap) {
            k->cap = k->cap ? k->cap * 2 : 4096;
            k->lat_ms = realloc(k->lat_ms, k->cap * sizeof(*k->lat_ms));
            if (!k->lat_ms) abort();
        }
        k->lat_ms[k->nlat++] = (double)(done - due) / 1e6;
    }
    if (fd >= 0) close(fd);
    free(buf);
    return NULL;
}

static int lg_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double lg_pct(const double *v, size_t n, double p) {
    if (!n) return NAN;
    size_t i = (size_t)ceil(p / 100.0 * (double)n);
    return v[i ? i - 1 : 0];
}

/* SIGINT and SIGTERM end the run early through the svc stop flag, which
 * every connection's thread polls (ldr_svc_stopping()). */
static void lg_on_signal(int sig) {
    (void)sig;
    ldr_svc_stop();
}

static void lg_usage(FILE *f) {
    fprintf(f, "Usage: ladder-loadgen --paths FILE [--rate N] [--duration S] "
               "[--warmup S]\n"
               "                      [--connections N] [--config FILE]\n"
               "Offer GET requests to ladder-api at a fixed rate (open loop) "
               "and print the\nlatency percentiles, measured from each "
               "request's scheduled send time.\n\n"
               "  --paths FILE       one request path a line "
               "(/v1/enterprises/<USCC>), used in turn\n"
               "  --rate N           requests per second offered (default "
               "2000)\n"
               "  --duration S       seconds measured (default 30)\n"
               "  --warmup S         seconds sent first and not counted "
               "(default 5)\n"
               "  --connections N    keep-alive connections, one thread each "
               "(default 8)\n"
               "  --config FILE      ladder-api's configuration: the target is "
               "its http.listen\n"
               "                     (default 127.0.0.1:8080), the token its "
               "api.token;\n"
               "                     LADDER_* variables override it\n"
               "  --help             show this help\n"
               "  --version          show the version and exit\n\n"
               "Exit status: 0 when every request was answered, 1 when some "
               "failed, 2 for bad\nusage.\n");
}

static int lg_num(const char *opt, const char *s, double lo, double hi,
                  double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr,
                "ladder-loadgen: %s: \"%s\" is not a number from %g "
                "to %g\n",
                opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* lg_parse_opts(): go on with the run. */
#define LG_CONTINUE (-1)

/* Reads the options into @p c, @p config_file and @p paths_file;
 * LG_CONTINUE, or the exit status (0 after --help, 2 after a message on
 * stderr). */
static int lg_parse_opts(int argc, char **argv, lg_conf_t *c,
                         const char **config_file, const char **paths_file) {
    double conns = 8;
    static const struct option opts[] = {
        {"paths", required_argument, NULL, 'p'},
        {"rate", required_argument, NULL, 'r'},
        {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'w'},
        {"connections", required_argument, NULL, 'n'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (o) {
        case 'p': *paths_file = optarg; break;
        case 'r': bad = lg_num("--rate", optarg, 1, 1e6, &c->rate); break;
        case 'd':
            bad = lg_num("--duration", optarg, 0.1, 86400, &c->duration_s);
            break;
        case 'w':
            bad = lg_num("--warmup", optarg, 0, 3600, &c->warmup_s);
            break;
        case 'n': bad = lg_num("--connections", optarg, 1, 1024, &conns); break;
        case 'c': *config_file = optarg; break;
        case 'h': lg_usage(stdout); return 0;
        default: lg_usage(stderr); return 2;
        }
        if (bad) return 2;
    }
    c->connections = (int)conns;
    if (optind < argc || !*paths_file) {
        fprintf(stderr, "ladder-loadgen: %s\n",
                optind < argc ? "unexpected argument" : "--paths is required");
        return 2;
    }
    return LG_CONTINUE;
}

/* The target (http.listen) and the token (api.token) of @p cfg into @p c;
 * -1 after a message on stderr. */
static int lg_target(lg_conf_t *c, const ldr_config_t *cfg) {
    const char *listen_at = ldr_config_get(cfg, "http.listen");
    const char *colon = strrchr(listen_at, ':');
    const char *host = listen_at;
    size_t hlen = colon ? (size_t)(colon - listen_at) : 0;
    if (hlen && host[0] == '[') {
        host++;
        hlen -= 2;
    }
    if (!colon || !hlen || hlen >= sizeof(c->host) ||
        strlen(colon + 1) >= sizeof(c->port)) {
        fprintf(stderr,
                "ladder-loadgen: http.listen: \"%s\" is not host:port\n",
                listen_at);
        return -1;
    }
    memcpy(c->host, host, hlen);
    snprintf(c->port, sizeof(c->port), "%s", colon + 1);
    c->token = ldr_config_get(cfg, "api.token");
    return 0;
}

/* Reads the request paths, one a line, into c->paths; -1 after a message
 * on stderr. */
static int lg_read_paths(lg_conf_t *c, const char *paths_file) {
    FILE *f = fopen(paths_file, "r");
    if (!f) {
        fprintf(stderr, "ladder-loadgen: %s: %s\n", paths_file,
                strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, pcap = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (!n) continue;
        if (line[0] != '/' || n > 512) {
            fprintf(stderr, "ladder-loadgen: %s:%zu: not a path\n", paths_file,
                    c->npaths + 1);
            rc = -1;
            break;
        }
        if (c->npaths == pcap) {
            pcap = pcap ? pcap * 2 : 1024;
            c->paths = realloc(c->paths, pcap * sizeof(*c->paths));
            if (!c->paths) abort();
        }
        c->paths[c->npaths++] = strdup(line);
    }
    free(line);
    fclose(f);
    if (rc == 0 && !c->npaths) {
        fprintf(stderr, "ladder-loadgen: %s: no paths\n", paths_file);
        rc = -1;
    }
    return rc;
}

/* Prints the request counts and the latency percentiles over all
 * connections, and the first failure: 0, or 1 when a request failed. */
static int lg_report(const lg_conf_t *c, const lg_conn_t *k, double wall) {
    size_t total = 0;
    uint64_t sent = 0, ok = 0, nf = 0, other = 0, errors = 0, reconn = 0;
    for (int i = 0; i < c->connections; i++) {
        total += k[i].nlat;
        sent += k[i].sent;
        ok += k[i].ok2xx;
        nf += k[i].not_found;
        other += k[i].other;
        errors += k[i].errors;
        reconn += k[i].reconnects;
    }
    double *all = malloc((total ? total : 1) * sizeof(*all));
    if (!all) abort();
    size_t at = 0;
    for (int i = 0; i < c->connections; i++) {
        memcpy(all + at, k[i].lat_ms, k[i].nlat * sizeof(*all));
        at += k[i].nlat;
    }
    qsort(all, total, sizeof(*all), lg_cmp);
    printf("requests: %llu sent in %.1f s (%.0f/s offered, %.0f/s "
           "achieved); %llu 2xx, %llu 404, %llu other, %llu failed, %llu "
           "reconnects\n",
           (unsigned long long)sent, wall, c->rate, (double)sent / wall,
           (unsigned long long)ok, (unsigned long long)nf,
           (unsigned long long)other, (unsigned long long)errors,
           (unsigned long long)reconn);
    printf("latency from the scheduled send time, %zu requests after the "
           "warm-up (ms): p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max "
           "%.3f\n",
           total, lg_pct(all, total, 50), lg_pct(all, total, 90),
           lg_pct(all, total, 99), lg_pct(all, total, 99.9),
           total ? all[total - 1] : NAN);
    for (int i = 0; i < c->connections; i++)
        if (k[i].errors) {
            fprintf(stderr, "ladder-loadgen: first failure: %s\n",
                    k[i].first_error);
            break;
        }
    free(all);
    return errors ? 1 : 0;
}

/* Probes the target, then runs one thread per connection and reports:
 * the exit status. */
static int lg_load(const lg_conf_t *c) {
    char err[1024];
    /* One probe: the target must answer before the clock starts. */
    int probe = lg_connect(c, err, sizeof(err));
    if (probe < 0) {
        fprintf(stderr, "ladder-loadgen: %s\n", err);
        return 1;
    }
    close(probe);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = lg_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fprintf(stderr,
            "ladder-loadgen: %g requests/s to http://%s:%s over %d "
            "connections, %g s warm-up + %g s measured, %zu paths\n",
            c->rate, c->host, c->port, c->connections, c->warmup_s,
            c->duration_s, c->npaths);
    lg_conn_t *k = calloc((size_t)c->connections, sizeof(*k));
    pthread_t *th = calloc((size_t)c->connections, sizeof(*th));
    if (!k || !th) abort();
    int64_t start = lg_now_ns() + 100000000; /* all threads ready */
    for (int i = 0; i < c->connections; i++) {
        k[i] = (lg_conn_t){.c = c, .index = i, .start_ns = start};
        pthread_create(&th[i], NULL, lg_run, &k[i]);
    }
    for (int i = 0; i < c->connections; i++)
        pthread_join(th[i], NULL);
    double wall = (double)(lg_now_ns() - start) / 1e9;
    int rc = lg_report(c, k, wall);
    for (int i = 0; i < c->connections; i++)
        free(k[i].lat_ms);
    free(k);
    free(th);
    return rc;
}

int main(int argc, char **argv) {
    if (ldr_svc_version("ladder-loadgen", argc, argv)) return 0;
    lg_conf_t c = {
        .rate = 2000, .duration_s = 30, .warmup_s = 5, .connections = 8};
    const char *config_file = NULL, *paths_file = NULL;
    int rc = lg_parse_opts(argc, argv, &c, &config_file, &paths_file);
    if (rc != LG_CONTINUE) return rc;
    char err[1024];
    /* ladder-api's configuration: http.listen is where it answers. */
    ldr_config_t *cfg =
        ldr_svc_config_load("ladder-api", config_file, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "ladder-loadgen: %s\n", err);
        return 2;
    }
    ldr_log_set_program("ladder-loadgen");
    if (lg_target(&c, cfg) || lg_read_paths(&c, paths_file))
        rc = 2;
    else
        rc = lg_load(&c);
    for (size_t i = 0; i < c.npaths; i++)
        free(c.paths[i]);
    free(c.paths);
    ldr_config_destroy(cfg);
    return rc;
}
