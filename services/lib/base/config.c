/* config.c -- the configuration key table and everything built from it.
 *
 * DESIGN: config_keys[] below is the only list of ladder's keys. The loaders
 * validate against it, the environment mapping is derived from its names, and
 * ldr_config_write_reference()/ldr_config_write_sample() generate the docs
 * from it (a unit test fails when the checked-in copies differ), so adding a
 * key is one table row. A configuration object stores only what a source set,
 * each value with its rank (file < environment < command line), its origin
 * for ldr_config_origin() and its error prefix for later errors (librdkafka
 * refusing a kafka.* property at apply time); defaults are read from the
 * table on demand. Loads validate every line or variable into a batch first
 * and commit it only when all of it is valid, so a failed load leaves the
 * configuration as it was. The table is checked against itself whenever a
 * configuration is created (names well formed and unique, every default
 * valid for its type), which turns a bad row into an abort in the first test
 * run rather than a surprise in production. */
#include "ladder/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#include "ladder/alloc.h"
#include "ladder/redact.h"

enum config_type {
    CONFIG_STRING,
    CONFIG_INT,
    CONFIG_BOOL,
    CONFIG_ENUM,
    CONFIG_LISTEN, /* host:port */
};

/* Sources, weakest first; a value is replaced only by an equal or stronger
 * one. */
enum config_rank {
    CONFIG_RANK_FILE = 1,
    CONFIG_RANK_ENV = 2,
    CONFIG_RANK_SET = 3,
};

struct config_program_default {
    const char *program;
    const char *value;
};

struct config_key {
    const char *name; /* may hold one "*" segment */
    enum config_type type;
    const char *def;                              /* NULL: no default */
    struct config_program_default per_program[4]; /* overrides def */
    long long min, max;                           /* CONFIG_INT */
    const char *const *values;                    /* CONFIG_ENUM */
    const char *refused; /* non-NULL: setting the key is an error */
    const char *desc;
};

static const char *const config_programs[] = {
    "ladder-worker",
    "ladder-api",
    "ladder-notify",
    "ladder-feed",
    "ladder-gen",
    "ladder-policy",
    "ladder-bench",
    "ladder-roundtrip",
    "ladder-admin",
    "ladder-whatif",
    NULL,
};

static const char *const config_redis_cluster[] = {"auto", "on", "off", NULL};
static const char *const config_log_levels[] = {"error", "warn", "info",
                                                "debug", NULL};
static const char *const config_log_formats[] = {"text", "json", NULL};

#define CONFIG_NO_MAX LLONG_MAX

static const struct config_key config_keys[] = {
    {
        .name = "group.id",
        .type = CONFIG_STRING,
        .per_program = {{"ladder-worker", "ladder-worker"},
                        {"ladder-notify", "ladder-notify"},
                        {"ladder-admin", "ladder-worker"}},
        .desc = "Kafka consumer group of the program's input consumer; the "
                "workers of one group share the input partitions between "
                "them. ladder-api joins no group: it assigns partitions "
                "itself. ladder-admin joins none either: it reads this "
                "group's committed offsets.",
    },
    {
        .name = "input.topic",
        .type = CONFIG_STRING,
        .def = "ladder.events.v1",
        .desc = "Topic of the input events: ladder-feed produces to it, "
                "ladder-worker consumes it.",
    },
    {
        .name = "decisions.topic",
        .type = CONFIG_STRING,
        .def = "ladder.decisions.v1",
        .desc = "Topic the workers publish every decision to; ladder-notify "
                "and ladder-api consume it.",
    },
    {
        .name = "dlq.topic",
        .type = CONFIG_STRING,
        .def = "ladder.dlq.v1",
        .desc = "Dead-letter topic: input messages that can never be "
                "applied, with their bytes intact and the reason in their "
                "headers.",
    },
    {
        .name = "schema.registry.url",
        .type = CONFIG_STRING,
        .desc = "URL of a Confluent-compatible schema registry "
                "(http(s)://host:port). When set, producers register the "
                "current schemas under their record names at start and "
                "write the registry's ids, and readers resolve ids with it "
                "(cached); unset, the ids are the local ones of "
                "schemas.dir (docs/SCHEMA-REGISTRY.md).",
    },
    {
        .name = "schema.registry.basic.auth.user.info",
        .type = CONFIG_STRING,
        .desc = "user:password for the schema registry's basic "
                "authentication.",
    },
    {
        .name = "schema.registry.ssl.ca.location",
        .type = CONFIG_STRING,
        .desc = "PEM file of the CA that signed the schema registry's TLS "
                "certificate (https://); unset, the system's CAs.",
    },
    {
        .name = "schema.registry.request.timeout.ms",
        .type = CONFIG_INT,
        .def = "5000",
        .min = 100,
        .max = 120000,
        .desc = "Timeout of one request to the schema registry. A "
                "registration at start is tried 4 times with a doubling "
                "backoff; a schema id that is not cached while the registry "
                "does not answer is a transient fault (the partition "
                "waits).",
    },
    {
        .name = "redis.url",
        .type = CONFIG_STRING,
        .def = "redis://127.0.0.1:6379/0",
        .desc = "Redis that keeps the state, timers, offsets and notices: "
                "redis://[[user]:password@]host:port[/db] for one server, or "
                "redis://[[user]:password@]h1:p1,h2:p2,... naming seed "
                "nodes of a Redis Cluster (one user and password for every "
                "node; db 0). With a user, AUTH is user and password (Redis "
                "6 ACL). The password may be given here or in "
                "redis.password. rediss:// (TLS) is refused: Debian's "
                "hiredis 0.14 has no TLS; reach a Redis tls-port through a "
                "local stunnel in client mode (docs/SECURITY.md).",
    },
    {
        .name = "redis.cluster",
        .type = CONFIG_ENUM,
        .def = "auto",
        .values = config_redis_cluster,
        .desc = "Whether redis.url names a Redis Cluster. auto: a node that "
                "answers cluster_enabled:1 to INFO cluster means cluster "
                "mode (naming one master is enough); on: a node that is not "
                "in cluster mode is a start-up error; off: the first node is "
                "used as one plain server.",
    },
    {
        .name = "redis.password",
        .type = CONFIG_STRING,
        .desc = "Password for Redis AUTH when it is not part of redis.url.",
    },
    {
        .name = "policy.dir",
        .type = CONFIG_STRING,
        .def = "deploy/policy",
        .desc = "Directory of the policy files that the designation rules "
                "are evaluated against.",
    },
    {
        .name = "schemas.dir",
        .type = CONFIG_STRING,
        .def = "schemas",
        .desc = "Directory of the .avsc schema files, the single source of "
                "truth for every encoder and decoder.",
    },
    {
        .name = "units.file",
        .type = CONFIG_STRING,
        .def = "deploy/data/reporting_units.csv",
        .desc = "CSV file of the 37 reporting units; an event's "
                "reporting_unit must be one of its codes.",
    },
    {
        /* Capped at a day: the worker adds the interval to millisecond
         * timestamps, and a cap keeps that sum far from overflow. */
        .name = "clock.tick.interval.ms",
        .type = CONFIG_INT,
        .def = "0",
        .min = 0,
        .max = 86400000,
        .desc = "How often, in milliseconds, ladder-worker writes a "
                "ClockTick into each partition it has caught up on, so "
                "that the timers of a quiet partition fire; 0 writes none. "
                "Ticks go into the log itself, so a replay sees the same "
                "ones.",
    },
    {
        .name = "clock.max.skew.days",
        .type = CONFIG_INT,
        .def = "400",
        .min = 1,
        .max = 36500,
        .desc = "How far ahead an event time (occurred_at, tick_at) may "
                "lie: at most this many days after the later of the "
                "partition's clock and the processing time. ladder-feed, "
                "which has no clock, uses the processing time.",
    },
    {
        /* At least a second: the revocation and the group's leave need
         * a round trip each when Kafka answers. */
        .name = "shutdown.timeout.ms",
        .type = CONFIG_INT,
        .def = "10000",
        .min = 1000,
        .max = 600000,
        .desc = "How long, in milliseconds, ladder-worker may take to stop "
                "on SIGTERM or SIGINT: it waits this long at most for Redis "
                "to answer the steps sent, for Kafka to acknowledge the "
                "decisions stored and for the group to take its leave, "
                "then stops whatever Kafka does and names what it left "
                "unpublished (stored in Redis: the next owner of the "
                "partition publishes it, with the same ids).",
    },
    {
        .name = "http.listen",
        .type = CONFIG_LISTEN,
        .per_program = {{"ladder-worker", "127.0.0.1:9464"},
                        {"ladder-api", "127.0.0.1:8080"},
                        {"ladder-notify", "127.0.0.1:9465"}},
        .desc = "Address of the program's HTTP server (metrics and health; "
                "for ladder-api also its API). Scripts that start several "
                "programs give each its own.",
    },
    {
        .name = "http.max.connections",
        .type = CONFIG_INT,
        .def = "64",
        .per_program = {{"ladder-api", "512"}},
        .min = 8,
        .max = 10000,
        .desc = "Connections the program's HTTP server keeps open at once; "
                "more wait in the listen queue. ladder-api serves each on a "
                "thread of its own. While three quarters of them are open, "
                "a connection must deliver its request within 1 s, so the "
                "rest stay free for /livez and for clients that do ask.",
    },
    {
        .name = "http.max.connections.per.ip",
        .type = CONFIG_INT,
        .def = "32",
        .min = 0,
        .max = 10000,
        .desc = "Connections one client address may hold open at once; "
                "more are closed as they arrive. 0 turns the limit off. "
                "Behind http.trusted.proxy, counted per request by "
                "X-Forwarded-For instead. Must be below "
                "http.max.connections.",
    },
    {
        .name = "http.request.timeout.ms",
        .type = CONFIG_INT,
        .def = "10000",
        .min = 100,
        .max = 600000,
        .desc = "Time a client has to send a whole request, headers and "
                "body, counted from the connection's opening or the end "
                "of the previous answer; a connection that takes longer "
                "is closed, however steadily it trickles bytes in. An "
                "idle connection is also closed after 10 s.",
    },
    {
        .name = "http.trusted.proxy",
        .type = CONFIG_STRING,
        .desc = "IP address of the one reverse proxy that every client "
                "reaches the HTTP server through. Requests from it are "
                "counted against the per-address limits "
                "(http.max.connections.per.ip, api.sse.max.streams.per.ip) "
                "by the last address of their X-Forwarded-For header, which "
                "the proxy must set. Unset, X-Forwarded-For is ignored.",
    },
    {
        .name = "api.token",
        .type = CONFIG_STRING,
        .desc = "Bearer token that ladder-api requires on every request "
                "that reads the register (header `Authorization: Bearer "
                "<token>`; the dashboard asks for it once and keeps a "
                "session cookie instead; `?token=` in a URL is refused); "
                "unset, the API is open to whoever can reach http.listen.",
    },
    {
        .name = "api.session.lifetime.s",
        .type = CONFIG_INT,
        .def = "43200",
        .min = 1,
        .max = 2592000,
        .desc = "How long, in seconds, a dashboard sign-in lasts: the "
                "session cookie that POST /v1/session sets expires after "
                "this, and the browser asks for api.token again. Checked "
                "on every request, so lowering it ends longer sessions at "
                "once.",
    },
    {
        .name = "api.notices.limit",
        .type = CONFIG_INT,
        .def = "100",
        .min = 1,
        .max = 10000,
        .desc = "Default and largest `limit` of GET /v1/notices when the "
                "request gives none: how many notices one answer holds.",
    },
    {
        .name = "api.sse.max.streams",
        .type = CONFIG_INT,
        .def = "128",
        .min = 1,
        .max = 10000,
        .desc = "Notice streams (GET /v1/notices/stream) ladder-api keeps "
                "open at once; more are answered 503 with Retry-After. Each "
                "holds a connection for as long as it lasts, so this must "
                "be below http.max.connections: the difference stays free "
                "for every other request.",
    },
    {
        .name = "api.sse.max.streams.per.ip",
        .type = CONFIG_INT,
        .def = "8",
        .min = 1,
        .max = 10000,
        .desc = "Notice streams one client address may hold open at once "
                "(behind http.trusted.proxy: by X-Forwarded-For); more are "
                "answered 503 with Retry-After.",
    },
    {
        .name = "api.replay.max",
        .type = CONFIG_INT,
        .def = "1000",
        .min = 0,
        .max = 10000,
        .desc = "Notices a stream resumed with Last-Event-ID reads back from "
                "the store, at most: when more were missed, the latest this "
                "many are sent, after a comment that says how many were "
                "left out (GET /v1/notices lists the rest).",
    },
    {
        .name = "notify.subscriber.*.url",
        .type = CONFIG_STRING,
        .desc = "Webhook URL of subscriber *: ladder-notify POSTs each "
                "selected decision to it as a CloudEvents structured JSON "
                "body. Naming a subscriber here is what creates it.",
    },
    {
        .name = "notify.subscriber.*.secret",
        .type = CONFIG_STRING,
        .desc = "Secret of subscriber *: the key of the HMAC-SHA256 "
                "signatures sent with each request, `X-Ladder-Signature-V2: "
                "sha256=<hex>` over `<X-Ladder-Timestamp>.<body>` and, "
                "while notify.signature.v1 is on, `X-Ladder-Signature: "
                "sha256=<hex>` over the body alone. Required for every "
                "subscriber, at least 32 bytes (e.g. `openssl rand -hex "
                "32`); a shorter one is a start-up error.",
    },
    {
        .name = "notify.subscriber.*.decisions",
        .type = CONFIG_STRING,
        .def = "REVOKED,CANCELLED,EXPIRED",
        .desc = "Comma-separated decision types subscriber * receives.",
    },
    {
        .name = "notify.signature.v1",
        .type = CONFIG_BOOL,
        .def = "true",
        .desc = "Also send the old body-only signature, `X-Ladder-Signature: "
                "sha256=<hex of HMAC-SHA256(secret, body)>`, beside "
                "X-Ladder-Timestamp and X-Ladder-Signature-V2. It cannot "
                "tell a fresh request from a replayed one and goes away in "
                "a later version: turn it off once every receiver checks "
                "X-Ladder-Signature-V2 (docs/NOTIFY.md).",
    },
    {
        .name = "notify.max.attempts",
        .type = CONFIG_INT,
        .def = "8",
        .min = 1,
        .max = 1000,
        .desc = "Attempts to deliver one notice to one subscriber before it "
                "is written to notify.deadletter.file and delivery goes on.",
    },
    {
        .name = "notify.backoff.initial.ms",
        .type = CONFIG_INT,
        .def = "200",
        .min = 1,
        .max = 3600000,
        .desc = "Wait before the first retry of a failed delivery; each "
                "further retry doubles it, with jitter, up to "
                "notify.backoff.max.ms.",
    },
    {
        .name = "notify.backoff.max.ms",
        .type = CONFIG_INT,
        .def = "30000",
        .min = 1,
        .max = 3600000,
        .desc = "Longest wait between two attempts of one delivery.",
    },
    {
        .name = "notify.timeout.ms",
        .type = CONFIG_INT,
        .def = "5000",
        .min = 100,
        .max = 600000,
        .desc = "How long one webhook request may take before it counts as "
                "a failed attempt.",
    },
    {
        .name = "notify.deadletter.file",
        .type = CONFIG_STRING,
        .def = "ladder-notify.deadletter.jsonl",
        .desc = "File that notices are appended to, one JSON line each "
                "(subscriber, attempts, last error, the CloudEvent), when "
                "every attempt to deliver them failed.",
    },
    {
        .name = "log.level",
        .type = CONFIG_ENUM,
        .def = "info",
        .values = config_log_levels,
        .desc = "Most verbose level of the log lines written to stderr.",
    },
    {
        .name = "log.format",
        .type = CONFIG_ENUM,
        .def = "text",
        .values = config_log_formats,
        .desc = "Form of the log lines on stderr. text: `TIME PROGRAM[PID] "
                "LEVEL message`; json: one JSON object per line with time "
                "(while log.timestamps is on), level, program, pid, event "
                "(the message) and, where the line has them, fields.",
    },
    {
        .name = "log.timestamps",
        .type = CONFIG_BOOL,
        .def = "true",
        .desc = "Start every log line with its UTC time; turn off when the "
                "journal or the container runtime already stamps each "
                "line.",
    },
};

#define CONFIG_NKEYS (LDR_ARRAY_SIZE(config_keys))

static const char config_kafka_prefix[] = "kafka.";
#define CONFIG_KAFKA_PREFIX_LEN (sizeof(config_kafka_prefix) - 1)

static const char config_env_prefix[] = "LADDER_";
#define CONFIG_ENV_PREFIX_LEN (sizeof(config_env_prefix) - 1)

/* One value set by a source; every string is owned. */
struct config_value {
    char *key;
    char *value;
    char *origin;       /* for ldr_config_origin() */
    char *where;        /* prefix of errors about it: "ladder.conf:7: key" */
    unsigned long line; /* file line, for duplicate errors; 0 otherwise */
    int rank;
};

struct config_values {
    struct config_value *v;
    size_t n, cap;
};

struct ldr_config {
    const char *program; /* an entry of config_programs[] */
    struct config_values set;
};

/* ---- small helpers ---------------------------------------------------- */

static void config_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Misuse by the calling code: print it and abort, even in release builds
 * (assert() is compiled out there, and a NULL default would crash later
 * with less to go on). */
static void config_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("ladder: config: programming error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

static char *config_fmt(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* printf into a new string; the caller frees it. */
static char *config_fmt(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) config_die("bad format \"%s\"", fmt);
    char *s = ldr_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static char *config_trim(char *s) {
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int config_is_kafka(const char *key) {
    return strncmp(key, config_kafka_prefix, CONFIG_KAFKA_PREFIX_LEN) == 0;
}

static void config_value_free(struct config_value *v) {
    free(v->key);
    free(v->value);
    free(v->origin);
    free(v->where);
}

static void config_values_free(struct config_values *vs) {
    for (size_t i = 0; i < vs->n; i++)
        config_value_free(&vs->v[i]);
    free(vs->v);
    vs->v = NULL;
    vs->n = vs->cap = 0;
}

/* Appends @p v; the array takes ownership of its strings. */
static void config_values_push(struct config_values *vs,
                               struct config_value v) {
    if (vs->n == vs->cap) {
        vs->cap = vs->cap ? 2 * vs->cap : 16;
        vs->v = ldr_realloc(vs->v, vs->cap * sizeof(*vs->v));
    }
    vs->v[vs->n++] = v;
}

static struct config_value *config_values_find(const struct config_values *vs,
                                               const char *key) {
    for (size_t i = 0; i < vs->n; i++)
        if (strcmp(vs->v[i].key, key) == 0) return &vs->v[i];
    return NULL;
}

/* Moves every value of @p batch into @p cfg, where a weaker source does not
 * replace a stronger one, and empties @p batch. Cannot fail. */
static void config_commit(ldr_config_t *cfg, struct config_values *batch) {
    for (size_t i = 0; i < batch->n; i++) {
        struct config_value *v = &batch->v[i];
        struct config_value *old = config_values_find(&cfg->set, v->key);
        if (!old) {
            config_values_push(&cfg->set, *v);
        } else if (old->rank <= v->rank) {
            config_value_free(old);
            *old = *v; /* keeps its place: kafka.* apply order */
        } else {
            config_value_free(v);
        }
    }
    free(batch->v);
    batch->v = NULL;
    batch->n = batch->cap = 0;
}

/* ---- the table -------------------------------------------------------- */

int ldr_config_key_match(const char *pattern, const char *key) {
    const char *p = pattern, *k = key;
    for (;;) {
        size_t pl = strcspn(p, "."), kl = strcspn(k, ".");
        if (kl == 0) return 0;
        int star = pl == 1 && p[0] == '*';
        if (!star && (pl != kl || memcmp(p, k, pl) != 0)) return 0;
        p += pl;
        k += kl;
        if (*p == '\0' || *k == '\0') return *p == *k;
        p++;
        k++;
    }
}

/* The variable spelling of a key character: upper case, '.' as '_'. */
static int config_env_char(char c) {
    return c == '.' ? '_' : toupper((unsigned char)c);
}

/* Non-zero when @p n bytes of variable text @p v spell key text @p k. */
static int config_env_spells(const char *v, const char *k, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (v[i] != config_env_char(k[i])) return 0;
    return 1;
}

int ldr_config_variable_match(const char *pattern, const char *name, char *key,
                              size_t key_size) {
    if (strncmp(name, config_env_prefix, CONFIG_ENV_PREFIX_LEN) != 0) return 0;
    const char *r = name + CONFIG_ENV_PREFIX_LEN;
    size_t rl = strlen(r);
    const char *star = strstr(pattern, "*");
    if (!star) {
        if (rl != strlen(pattern) || !config_env_spells(r, pattern, rl))
            return 0;
        return snprintf(key, key_size, "%s", pattern) < (int)key_size;
    }
    /* pattern = head "*" tail, where head ends and tail starts with '.'
     * (or is empty); the variable must be head, a non-empty middle, tail. */
    size_t hl = (size_t)(star - pattern);
    const char *tail = star + 1;
    size_t tl = strlen(tail);
    if (rl <= hl + tl || !config_env_spells(r, pattern, hl) ||
        !config_env_spells(r + rl - tl, tail, tl))
        return 0;
    size_t ml = rl - hl - tl;
    if (memchr(r + hl, '.', ml)) return 0;
    if (hl + ml + tl + 1 > key_size) return 0;
    memcpy(key, pattern, hl);
    for (size_t i = 0; i < ml; i++)
        key[hl + i] = (char)tolower((unsigned char)r[hl + i]);
    memcpy(key + hl + ml, tail, tl + 1);
    return 1;
}

/* The table row for @p key, exact names before patterns; NULL if none. */
static const struct config_key *config_find_key(const char *key) {
    for (size_t i = 0; i < CONFIG_NKEYS; i++)
        if (strcmp(config_keys[i].name, key) == 0) return &config_keys[i];
    for (size_t i = 0; i < CONFIG_NKEYS; i++)
        if (strchr(config_keys[i].name, '*') &&
            ldr_config_key_match(config_keys[i].name, key))
            return &config_keys[i];
    return NULL;
}

/* Edit distance of @p a and @p b, capped: 3 means "3 or more". */
static size_t config_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64 || (la > lb ? la - lb : lb - la) >= 3) return 3;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb] < 3 ? row[lb] : 3;
}

/* Writes into @p out the table key (or, with @p as_variable, the variable)
 * closest to the misspelt @p name; 0 if none is within two edits. */
static int config_suggest(const char *name, int as_variable, char *out,
                          size_t out_size) {
    size_t best_d = 3;
    for (size_t i = 0; i < CONFIG_NKEYS; i++) {
        const char *key = config_keys[i].name;
        char spelt[128];
        if (strchr(key, '*')) continue;
        snprintf(spelt, sizeof(spelt), "%s%s",
                 as_variable ? config_env_prefix : "", key);
        if (as_variable)
            for (char *c = spelt + CONFIG_ENV_PREFIX_LEN; *c; c++)
                *c = (char)config_env_char(*c);
        size_t d = config_distance(name, spelt);
        if (d < best_d) {
            best_d = d;
            snprintf(out, out_size, "%s", spelt);
        }
    }
    return best_d < 3;
}

static const struct config_key *config_need_key(const char *key,
                                                const char *caller) {
    const struct config_key *k = key ? config_find_key(key) : NULL;
    if (!k)
        config_die("%s: \"%s\" is not a configuration key", caller,
                   key ? key : "(null)");
    return k;
}

static const char *config_default(const struct config_key *k,
                                  const char *program) {
    for (size_t i = 0; i < 4 && k->per_program[i].program; i++)
        if (strcmp(k->per_program[i].program, program) == 0)
            return k->per_program[i].value;
    return k->def;
}

/* ---- values ----------------------------------------------------------- */

/* Parses a whole base-10 number; 0 if @p s is anything else. */
static int config_parse_int(const char *s, long long *out, int *overflow) {
    const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
    if (!isdigit((unsigned char)*d)) return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0') return 0;
    *overflow = errno == ERANGE;
    *out = v;
    return 1;
}

static int config_parse_bool(const char *s, int *out) {
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return 1;
        }
    }
    return 0;
}

/* host:port, with the host bracketed when it is an IPv6 address. */
static int config_listen_ok(const char *s) {
    const char *colon;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close == s + 1 || close[1] != ':') return 0;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s || memchr(s, ':', (size_t)(colon - s)))
            return 0;
    }
    for (const char *c = s; c < colon; c++)
        if (isspace((unsigned char)*c) || *c == '/') return 0;
    const char *port = colon + 1;
    if (!*port || strlen(port) > 5) return 0;
    for (const char *c = port; *c; c++)
        if (!isdigit((unsigned char)*c)) return 0;
    long p = strtol(port, NULL, 10);
    return p >= 1 && p <= 65535;
}

/* "1..36500" or "0 or more". */
static void config_int_range(const struct config_key *k, char *buf,
                             size_t size) {
    if (k->max == CONFIG_NO_MAX)
        snprintf(buf, size, "%lld or more", k->min);
    else
        snprintf(buf, size, "%lld..%lld", k->min, k->max);
}

/* "error, warn, info, debug" into @p buf. */
static void config_enum_list(const struct config_key *k, char *buf,
                             size_t size) {
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; k->values[i] && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "",
                              k->values[i]);
}

/* Checks @p value for table key @p k; errors read "<where>: <reason>". */
static ldr_err_t config_check_value(const struct config_key *k,
                                    const char *value, const char *where,
                                    char *errstr, size_t errstr_size) {
    char expect[256];
    /* What the errors below quote: a secret key's value is never shown. */
    char shown[512];
    value = ldr_redact_config_value(k->name, value, shown, sizeof(shown));
    if (k->refused)
        return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG, "%s: %s", where,
                           k->refused);
    if (*value == '\0')
        return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                           "%s: empty value (leave the key out to use the "
                           "default)",
                           where);
    switch (k->type) {
    case CONFIG_STRING: return LDR_OK;
    case CONFIG_INT: {
        long long v;
        int overflow = 0;
        config_int_range(k, expect, sizeof(expect));
        if (!config_parse_int(value, &v, &overflow))
            return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                               "%s: \"%s\" is not a whole number "
                               "(expected %s)",
                               where, value, expect);
        if (overflow || v < k->min || v > k->max)
            return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                               "%s: %s is out of range (expected %s)", where,
                               value, expect);
        return LDR_OK;
    }
    case CONFIG_BOOL: {
        int b;
        if (!config_parse_bool(value, &b))
            return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                               "%s: \"%s\" is not a boolean (expected true "
                               "or false)",
                               where, value);
        return LDR_OK;
    }
    case CONFIG_ENUM:
        for (size_t i = 0; k->values[i]; i++)
            if (strcmp(value, k->values[i]) == 0) return LDR_OK;
        config_enum_list(k, expect, sizeof(expect));
        return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                           "%s: \"%s\" is not one of %s", where, value, expect);
    case CONFIG_LISTEN:
        if (config_listen_ok(value)) return LDR_OK;
        return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                           "%s: \"%s\" is not a host:port address (expected "
                           "e.g. 127.0.0.1:9464, or [::1]:9464)",
                           where, value);
    }
    config_die("key %s has an unknown type", k->name);
}

/* Validates (key, value) from a source and appends it to @p batch, taking
 * ownership of @p origin and @p where either way. */
static ldr_err_t config_stage(struct config_values *batch, const char *key,
                              const char *value, int rank, unsigned long line,
                              char *origin, char *where, char *errstr,
                              size_t errstr_size) {
    ldr_err_t err = LDR_OK;
    if (config_is_kafka(key)) {
        const char *prop = key + CONFIG_KAFKA_PREFIX_LEN;
        if (*prop == '\0')
            err = ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                              "%s: no librdkafka property after \"kafka.\"",
                              where);
        else if (strcmp(prop, "group.id") == 0)
            err = ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                              "%s: not allowed: use group.id (ladder "
                              "decides which programs join a group)",
                              where);
        else if (strcmp(prop, "bootstrap.servers") == 0 &&
                 value[strspn(value, " \t")] == '\0')
            /* librdkafka takes an empty list and then reaches no broker,
             * which a program would report as Kafka unreachable */
            err = ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                              "%s: empty: the brokers' host:port list "
                              "(ladder-kafka prints the embedded cluster's)",
                              where);
    } else {
        const struct config_key *k = config_find_key(key);
        char guess[128];
        if (!k && config_suggest(key, 0, guess, sizeof(guess)))
            err =
                ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                            "%s: unknown key (did you mean %s?)", where, guess);
        else if (!k)
            err = ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                              "%s: unknown key", where);
        else
            err = config_check_value(k, value, where, errstr, errstr_size);
    }
    if (err) {
        free(origin);
        free(where);
        return err;
    }
    struct config_value v = {
        .key = ldr_strdup(key),
        .value = ldr_strdup(value),
        .origin = origin,
        .where = where,
        .line = line,
        .rank = rank,
    };
    config_values_push(batch, v);
    return LDR_OK;
}

/* Aborts unless the table is well formed: names of lower-case segments with
 * at most one "*" segment, unique, none under "kafka."; every default valid;
 * integer and boolean keys with a default; refused keys without one. */
static void config_check_table(void) {
    char err[512];
    for (size_t i = 0; i < CONFIG_NKEYS; i++) {
        const struct config_key *k = &config_keys[i];
        int stars = 0;
        for (const char *c = k->name; *c; c++)
            if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) ||
                  *c == '.' || *c == '*'))
                config_die("key \"%s\": bad character '%c'", k->name, *c);
        for (const char *seg = k->name;; seg++) {
            size_t len = strcspn(seg, ".");
            if (len == 0) config_die("key \"%s\": empty segment", k->name);
            if (memchr(seg, '*', len)) {
                if (len != 1)
                    config_die("key \"%s\": '*' inside a segment", k->name);
                stars++;
            }
            seg += len;
            if (*seg == '\0') break;
        }
        if (stars > 1) config_die("key \"%s\": more than one '*'", k->name);
        if (config_is_kafka(k->name))
            config_die("key \"%s\": kafka.* is librdkafka's", k->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(config_keys[j].name, k->name) == 0)
                config_die("key \"%s\" is in the table twice", k->name);
        if (k->type == CONFIG_ENUM && !k->values)
            config_die("key \"%s\": enum without values", k->name);
        if (k->refused && (k->def || k->per_program[0].program))
            config_die("key \"%s\": refused key with a default", k->name);
        for (size_t p = 0; config_programs[p]; p++) {
            const char *def = config_default(k, config_programs[p]);
            if (!def) {
                if (k->type == CONFIG_INT || k->type == CONFIG_BOOL)
                    config_die("key \"%s\": no default for %s", k->name,
                               config_programs[p]);
                continue;
            }
            if (config_check_value(k, def, k->name, err, sizeof(err)))
                config_die("default of %s for %s: %s", k->name,
                           config_programs[p], err);
        }
        for (size_t o = 0; o < 4 && k->per_program[o].program; o++) {
            size_t p = 0;
            while (config_programs[p] &&
                   strcmp(config_programs[p], k->per_program[o].program))
                p++;
            if (!config_programs[p])
                config_die("key \"%s\": default for unknown program %s",
                           k->name, k->per_program[o].program);
        }
    }
}

/* ---- the object ------------------------------------------------------- */

ldr_config_t *ldr_config_new(const char *program) {
    size_t p = 0;
    while (config_programs[p] && program &&
           strcmp(config_programs[p], program) != 0)
        p++;
    if (!program || !config_programs[p])
        config_die("ldr_config_new: \"%s\" is not a ladder program",
                   program ? program : "(null)");
    config_check_table();
    ldr_config_t *cfg = ldr_calloc(1, sizeof(*cfg));
    cfg->program = config_programs[p];
    return cfg;
}

void ldr_config_destroy(ldr_config_t *cfg) {
    if (!cfg) return;
    config_values_free(&cfg->set);
    free(cfg);
}

const char *ldr_config_program(const ldr_config_t *cfg) {
    return cfg->program;
}

ldr_err_t ldr_config_load_file(ldr_config_t *cfg, const char *path,
                               char *errstr, size_t errstr_size) {
    FILE *f = fopen(path, "r");
    if (!f)
        return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                           "config file '%s': %s", path, strerror(errno));
    struct config_values batch = {0};
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t len;
    unsigned long lineno = 0;
    ldr_err_t err = LDR_OK;

    errno = 0;
    while ((len = getline(&line, &line_cap, f)) >= 0) {
        lineno++;
        if (strlen(line) != (size_t)len) {
            err = ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                              "%s:%lu: the line contains a NUL byte", path,
                              lineno);
            goto out;
        }
        char *s = line;
        if (lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3;
        s = config_trim(s);
        if (*s == '\0' || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            /* Name the key the line starts with; the rest may be its
             * value, a secret: the line is shown with it hidden. */
            char shown[512];
            err = ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                              "%s:%lu: %.*s: no '=' in \"%s\" (expected "
                              "key = value)",
                              path, lineno, (int)ldr_redact_key_len(s), s,
                              ldr_redact_config_line(s, shown, sizeof(shown)));
            goto out;
        }
        *eq = '\0';
        char *key = config_trim(s), *value = config_trim(eq + 1);
        if (*key == '\0') {
            err = ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                              "%s:%lu: no key before '='", path, lineno);
            goto out;
        }
        const struct config_value *first = config_values_find(&batch, key);
        if (first) {
            err = ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                              "%s:%lu: %s: duplicate key (first set on "
                              "line %lu)",
                              path, lineno, key, first->line);
            goto out;
        }
        err = config_stage(&batch, key, value, CONFIG_RANK_FILE, lineno,
                           config_fmt("%s:%lu", path, lineno),
                           config_fmt("%s:%lu: %s", path, lineno, key), errstr,
                           errstr_size);
        if (err) goto out;
    }
    if (ferror(f)) {
        err = ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                          "config file '%s': %s", path,
                          strerror(errno ? errno : EIO));
        goto out;
    }
    config_commit(cfg, &batch);
out:
    config_values_free(&batch);
    free(line);
    fclose(f);
    return err;
}

/* The key a LADDER_ variable sets, into @p key; 0 if it sets none. */
static int config_env_key(const char *name, char *key, size_t key_size) {
    const char *r = name + CONFIG_ENV_PREFIX_LEN;
    if (strncmp(r, "KAFKA_", 6) == 0) {
        int n = snprintf(key, key_size, "%s%s", config_kafka_prefix, r + 6);
        if (n < 0 || (size_t)n >= key_size) return 0;
        for (char *c = key + CONFIG_KAFKA_PREFIX_LEN; *c; c++)
            *c = *c == '_' ? '.' : (char)tolower((unsigned char)*c);
        return 1;
    }
    for (size_t i = 0; i < CONFIG_NKEYS; i++)
        if (ldr_config_variable_match(config_keys[i].name, name, key, key_size))
            return 1;
    return 0;
}

ldr_err_t ldr_config_load_env(ldr_config_t *cfg, char *const *envp,
                              char *errstr, size_t errstr_size) {
    struct config_values batch = {0};
    ldr_err_t err = LDR_OK;
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *eq = strchr(envp[i], '=');
        /* "LADDERTEST_X" is not "LADDER_" + anything: ignored here. */
        if (!eq ||
            strncmp(envp[i], config_env_prefix, CONFIG_ENV_PREFIX_LEN) != 0)
            continue;
        char *name = ldr_strndup(envp[i], (size_t)(eq - envp[i]));
        char key[256];
        if (!config_env_key(name, key, sizeof(key))) {
            char guess[128];
            if (config_suggest(name, 1, guess, sizeof(guess)))
                err = ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                                  "environment: %s: unknown variable (did "
                                  "you mean %s?)",
                                  name, guess);
            else
                err = ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                                  "environment: %s: unknown variable (no "
                                  "configuration key is spelled that way)",
                                  name);
            free(name);
            goto out;
        }
        err = config_stage(&batch, key, eq + 1, CONFIG_RANK_ENV, 0,
                           config_fmt("environment %s", name),
                           config_fmt("environment: %s", name), errstr,
                           errstr_size);
        free(name);
        if (err) goto out;
    }
    config_commit(cfg, &batch);
out:
    config_values_free(&batch);
    return err;
}

ldr_err_t ldr_config_set(ldr_config_t *cfg, const char *key, const char *value,
                         const char *origin, char *errstr, size_t errstr_size) {
    if (!key || !value)
        return ldr_err_set(errstr, errstr_size, LDR_ERR_INVALID_ARG,
                           "ldr_config_set: key and value are required");
    if (!origin) origin = "command line";
    struct config_values batch = {0};
    ldr_err_t err =
        config_stage(&batch, key, value, CONFIG_RANK_SET, 0, ldr_strdup(origin),
                     config_fmt("%s: %s", origin, key), errstr, errstr_size);
    if (!err) config_commit(cfg, &batch);
    config_values_free(&batch);
    return err;
}

/* ---- getters ---------------------------------------------------------- */

const char *ldr_config_get(const ldr_config_t *cfg, const char *key) {
    if (key && config_is_kafka(key)) {
        const struct config_value *v = config_values_find(&cfg->set, key);
        return v ? v->value : NULL;
    }
    const struct config_key *k = config_need_key(key, "ldr_config_get");
    const struct config_value *v = config_values_find(&cfg->set, key);
    return v ? v->value : config_default(k, cfg->program);
}

/* The value of an integer or boolean key, which always has one. */
static const char *config_get_typed(const ldr_config_t *cfg, const char *key,
                                    enum config_type type, const char *caller) {
    const struct config_key *k = config_need_key(key, caller);
    if (k->type != type) config_die("%s: %s is not of that type", caller, key);
    const struct config_value *v = config_values_find(&cfg->set, key);
    return v ? v->value : config_default(k, cfg->program);
}

long long ldr_config_get_int(const ldr_config_t *cfg, const char *key) {
    const char *s =
        config_get_typed(cfg, key, CONFIG_INT, "ldr_config_get_int");
    return strtoll(s, NULL, 10); /* validated when it was set */
}

int ldr_config_get_bool(const ldr_config_t *cfg, const char *key) {
    const char *s =
        config_get_typed(cfg, key, CONFIG_BOOL, "ldr_config_get_bool");
    int b = 0;
    config_parse_bool(s, &b); /* validated when it was set */
    return b;
}

const char *ldr_config_origin(const ldr_config_t *cfg, const char *key) {
    if (!(key && config_is_kafka(key)))
        config_need_key(key, "ldr_config_origin");
    const struct config_value *v = config_values_find(&cfg->set, key);
    return v ? v->origin : "default";
}

size_t ldr_config_each(const ldr_config_t *cfg, const char *pattern,
                       void (*cb)(void *opaque, const char *key,
                                  const char *value),
                       void *opaque) {
    size_t n = 0;
    for (size_t i = 0; i < cfg->set.n; i++) {
        const struct config_value *v = &cfg->set.v[i];
        if (!ldr_config_key_match(pattern, v->key)) continue;
        if (cb) cb(opaque, v->key, v->value);
        n++;
    }
    return n;
}

ldr_err_t ldr_config_each_kafka(const ldr_config_t *cfg,
                                ldr_config_kafka_fn *fn, void *opaque,
                                char *errstr, size_t errstr_size) {
    for (size_t i = 0; i < cfg->set.n; i++) {
        const struct config_value *v = &cfg->set.v[i];
        if (!config_is_kafka(v->key)) continue;
        const char *prop = v->key + CONFIG_KAFKA_PREFIX_LEN;
        char why[512], shown[512];
        if (fn(opaque, prop, v->value, why, sizeof(why)) != LDR_OK) {
            /* librdkafka quotes the value back: not a secret one. */
            if (ldr_redact_is_secret_key(v->key))
                ldr_redact_secret_in(why, v->value, shown, sizeof(shown));
            else
                ldr_redact_url(why, shown, sizeof(shown));
            /* A variable's name does not spell the key; a file line's
             * prefix already does. */
            return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                               "%s: librdkafka refused %s: %s", v->where,
                               v->rank == CONFIG_RANK_ENV ? v->key : "it",
                               shown);
        }
    }
    return LDR_OK;
}

/* ---- generated documentation ------------------------------------------ */

static const char config_regenerate[] =
    "test_config --write-reference docs/CONFIG.md "
    "--write-sample deploy/config/ladder.conf.sample";

/* The variable for @p name: LADDER_CLOCK_TICK_INTERVAL_MS, with a "*"
 * segment shown as <NAME>. */
static void config_env_name(const char *name, char *buf, size_t size) {
    size_t n = (size_t)snprintf(buf, size, "%s", config_env_prefix);
    for (const char *c = name; *c && n + 7 < size; c++) {
        if (*c == '*') {
            memcpy(buf + n, "<NAME>", 6);
            n += 6;
        } else {
            buf[n++] = (char)config_env_char(*c);
        }
    }
    buf[n] = '\0';
}

static void config_type_text(const struct config_key *k, char *buf,
                             size_t size) {
    char tmp[256];
    switch (k->type) {
    case CONFIG_STRING: snprintf(buf, size, "string"); break;
    case CONFIG_INT:
        config_int_range(k, tmp, sizeof(tmp));
        snprintf(buf, size, "whole number, %s", tmp);
        break;
    case CONFIG_BOOL:
        snprintf(buf, size, "boolean: true or false (yes/no, on/off, 1/0)");
        break;
    case CONFIG_ENUM:
        config_enum_list(k, tmp, sizeof(tmp));
        snprintf(buf, size, "one of %s", tmp);
        break;
    case CONFIG_LISTEN:
        snprintf(buf, size, "host:port ([address]:port for IPv6)");
        break;
    }
}

/* The default as prose: "`400`", "`a` for ladder-x, `b` for ladder-y; none
 * for the other programs", "none". @p quote wraps values (Markdown). */
static void config_default_text(const struct config_key *k, int quote,
                                char *buf, size_t size) {
    const char *q = quote ? "`" : "";
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < 4 && k->per_program[i].program && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s%s%s for %s",
                              i ? ", " : "", q, k->per_program[i].value, q,
                              k->per_program[i].program);
    if (n >= size) return;
    if (n == 0 && k->def)
        snprintf(buf, size, "%s%s%s", q, k->def, q);
    else if (n == 0)
        snprintf(buf, size, "none");
    else if (k->def)
        snprintf(buf + n, size - n, "; %s%s%s for the other programs", q,
                 k->def, q);
    else
        snprintf(buf + n, size - n, "; none for the other programs");
}

/* Writes @p text word-wrapped at 78 columns, the first line led by @p first
 * and the others by @p rest. */
static void config_wrap_lead(FILE *out, const char *first, const char *rest,
                             const char *text) {
    const char *lead = first;
    size_t col = 0;
    const char *w = text;
    while (*w) {
        while (*w == ' ')
            w++;
        if (!*w) break;
        size_t wl = strcspn(w, " ");
        if (col > 0 && col + 1 + wl > 78) {
            fputc('\n', out);
            col = 0;
            lead = rest;
        }
        if (col == 0) {
            fputs(lead, out);
            col = strlen(lead);
        } else {
            fputc(' ', out);
            col++;
        }
        fwrite(w, 1, wl, out);
        col += wl;
        w += wl;
    }
    if (col > 0) fputc('\n', out);
}

static void config_wrap(FILE *out, const char *lead, const char *text) {
    config_wrap_lead(out, lead, lead, text);
}

static ldr_err_t config_written(FILE *out) {
    return fflush(out) != 0 || ferror(out) ? LDR_ERR_IO : LDR_OK;
}

ldr_err_t ldr_config_write_reference(FILE *out) {
    char buf[1024];
    fputs("# ladder configuration\n\n", out);
    fprintf(out,
            "<!-- Generated from the key table in services/lib/base/config.c; "
            "do not edit.\n     Regenerate it and the sample config from the "
            "repository root with\n     %s\n     (test_config is the "
            "unit-test program of tests/unit/test_config.c). -->\n\n",
            config_regenerate);
    config_wrap(out, "",
                "Every ladder program (ladder-worker, ladder-api, "
                "ladder-notify, ladder-feed, ladder-gen, ladder-policy, "
                "ladder-bench, ladder-roundtrip) takes its settings from these "
                "sources, each "
                "overriding the ones before it:");
    fputs("\n", out);
    config_wrap_lead(out, "1. ", "   ", "the defaults below;");
    config_wrap_lead(out, "2. ", "   ",
                     "the file given with `--config FILE`: one `key = value` "
                     "per line; blank lines and lines starting with `#` are "
                     "skipped; whitespace around the key and the value is "
                     "ignored; the value is the rest of the line, taken "
                     "literally (no quotes, no trailing comments);");
    config_wrap_lead(out, "3. ", "   ",
                     "environment variables: `LADDER_` followed by the key "
                     "upper-cased with every `.` as `_` "
                     "(`clock.tick.interval.ms` is "
                     "`LADDER_CLOCK_TICK_INTERVAL_MS`);");
    config_wrap_lead(out, "4. ", "   ", "command-line flags.");
    fputs("\n", out);
    config_wrap(out, "",
                "A program stops at start-up, with one line on stderr that "
                "names the file and line or the variable, and the key, when "
                "a key or `LADDER_` variable is unknown, a value is "
                "malformed or out of range, or a key appears twice in the "
                "file. Variables that do not start with `LADDER_` (such "
                "as the tests' `LADDERTEST_` ones) are ignored.");
    fputs("\n", out);
    config_wrap(out, "",
                "Secrets are never shown: an error or log line quotes the "
                "value of a key whose last part is `password`, `secret` or "
                "`token` (and `*basic.auth.user.info`, "
                "`kafka.sasl.oauthbearer.config`, `kafka.ssl.key.pem`) as "
                "`***`, and the password of a URL "
                "(`redis://user:***@host`, `https://user:***@host`) the same "
                "way.");
    fputs("\n", out);
    config_wrap(out, "",
                "Every program answers `--version` with its name and the "
                "project version, the commit it was built from, and the "
                "librdkafka, hiredis and Avro-C versions, one per line, and "
                "exits 0; the services' /metrics pages carry "
                "`ladder_build_info{version,commit,program} 1`, and the "
                "process figures that Prometheus's client libraries export, "
                "read from `/proc` at each scrape: "
                "`process_resident_memory_bytes`, "
                "`process_virtual_memory_bytes`, "
                "`process_cpu_seconds_total`, `process_start_time_seconds`, "
                "`process_open_fds` and `process_max_fds`.");
    fputs("\n## Kafka client properties\n\n", out);
    config_wrap(out, "",
                "Keys starting with `kafka.` go to librdkafka unchanged, "
                "minus the prefix: `kafka.bootstrap.servers` sets "
                "librdkafka's `bootstrap.servers`. ladder does not check "
                "them; librdkafka does when the program starts, and a "
                "property it refuses stops the program in the same way. In "
                "a variable every `_` after `LADDER_KAFKA_` stands for a "
                "`.`: `LADDER_KAFKA_BOOTSTRAP_SERVERS` sets "
                "`kafka.bootstrap.servers`. `kafka.bootstrap.servers` has no "
                "default: a program that needs it says how to start the "
                "embedded cluster, and an empty one is refused as bad "
                "configuration. `kafka.group.id` is refused: use "
                "`group.id`.");
    fputs("\n## Keys\n\n| key | type | default |\n|---|---|---|\n", out);
    for (size_t i = 0; i < CONFIG_NKEYS; i++) {
        const struct config_key *k = &config_keys[i];
        char type[512];
        config_type_text(k, type, sizeof(type));
        config_default_text(k, 1, buf, sizeof(buf));
        fprintf(out, "| `%s` | %s | %s |\n", k->name, type,
                k->refused ? "none (setting it is an error)" : buf);
    }
    for (size_t i = 0; i < CONFIG_NKEYS; i++) {
        const struct config_key *k = &config_keys[i];
        char text[512];
        fprintf(out, "\n### `%s`\n\n", k->name);
        config_wrap(out, "", k->desc);
        fputs("\n", out);
        config_type_text(k, text, sizeof(text));
        fprintf(out, "- Type: %s\n", text);
        config_default_text(k, 1, buf, sizeof(buf));
        fprintf(out, "- Default: %s\n", buf);
        config_env_name(k->name, text, sizeof(text));
        fprintf(out, "- Variable: `%s`\n", text);
        if (k->refused) {
            snprintf(buf, sizeof(buf), "- Setting it is an error: %s.",
                     k->refused);
            config_wrap_lead(out, "", "  ", buf);
        }
    }
    return config_written(out);
}

ldr_err_t ldr_config_write_sample(FILE *out) {
    char buf[1024];
    fputs("# ladder.conf.sample -- every ladder configuration key with its "
          "default.\n#\n",
          out);
    fputs("# Generated from the key table in services/lib/base/config.c; do "
          "not edit.\n# Regenerate it and docs/CONFIG.md from the "
          "repository root with\n",
          out);
    fprintf(out, "#   %s\n", config_regenerate);
    fputs("# (test_config is the unit-test program of "
          "tests/unit/test_config.c).\n#\n",
          out);
    config_wrap(out, "# ",
                "One key = value per line; '#' starts a comment line. "
                "Uncomment what you change and pass the file with --config "
                "FILE. LADDER_<KEY> environment variables override the file "
                "and command-line flags override both; docs/CONFIG.md "
                "explains every key.");
    fputs("\n", out);
    config_wrap(out, "# ",
                "Kafka client properties: every kafka.* key goes to "
                "librdkafka without the prefix. kafka.bootstrap.servers has "
                "no default: a program that needs it says how to start the "
                "embedded cluster, and an empty one is refused as bad "
                "configuration. kafka.group.id is refused: use group.id.");
    fputs("#kafka.bootstrap.servers = 127.0.0.1:9092\n", out);
    for (size_t i = 0; i < CONFIG_NKEYS; i++) {
        const struct config_key *k = &config_keys[i];
        char type[512], env[256];
        fputs("\n", out);
        config_wrap(out, "# ", k->desc);
        config_type_text(k, type, sizeof(type));
        config_env_name(k->name, env, sizeof(env));
        if (k->refused) {
            snprintf(buf, sizeof(buf), "Type: %s. Setting it is an error: %s.",
                     type, k->refused);
            config_wrap(out, "# ", buf);
            fprintf(out, "#%s =\n", k->name);
            continue;
        }
        config_default_text(k, 0, buf, sizeof(buf));
        char line[2048];
        snprintf(line, sizeof(line), "Type: %s. Default: %s. Variable: %s.",
                 type, buf, env);
        config_wrap(out, "# ", line);
        const char *def = k->per_program[0].program ? NULL : k->def;
        fprintf(out, "#%s =%s%s\n", k->name, def ? " " : "", def ? def : "");
    }
    return config_written(out);
}

const char *ldr_config_data_path(const char *path, char *buf, size_t buf_size) {
    if (path[0] == '/' || access(path, F_OK) == 0) return path;
    if (snprintf(buf, buf_size, "%s/%s", LADDER_SOURCE_DIR, path) < 0)
        return path;
    return buf;
}
