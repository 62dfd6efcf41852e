/* ladder-notify-bench -- produce synthetic decisions for ladder-notify.
 *
 * DESIGN: ladder-notify's tests and its benchmark need decisions on the
 * decisions topic whose ids, types, enterprises and order they know, at a
 * chosen rate, without running the whole rule engine. This program encodes
 * DesignationDecision records with ladder's codec (the same bytes a worker
 * writes) and produces them keyed by USCC with the idempotent murmur2_random
 * producer of ladder/kafka.h, so an enterprise's decisions share a
 * partition, in order, as the worker's do. Each decision's decided_at is
 * the wall-clock time at which it is handed to the producer, i.e. the
 * message's Kafka create timestamp to the millisecond, so a receiver can
 * compute the end-to-end latency from the body alone. It reads ladder-notify's
 * configuration (--config, LADDER_*), so it produces to the decisions.topic
 * the notifier consumes. One line per decision ("ID TYPE USCC SEQ") goes to
 * --out, in the order produced. */
#include "ladder/alloc.h"
#include "ladder/clock.h"
#include "ladder/codec.h"
#include "ladder/config.h"
#include "ladder/kafka.h"
#include "ladder/log.h"
#include "ladder/record.h"
#include "ladder/schema.h"
#include "ladder/svc.h"
#include "ladder/uscc.h"

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* SIGINT and SIGTERM stop producing through the svc stop flag. */
static void nb_on_signal(int sig) {
    (void)sig;
    ldr_svc_stop();
}

static void nb_usage(FILE *f) {
    fprintf(
        f, "Usage: ladder-notify-bench [OPTION]...\n"
           "Produce synthetic DesignationDecisions to decisions.topic for "
           "ladder-notify's\ntests and benchmark, keyed by USCC "
           "(murmur2_random), with decided_at = the\nmessage's Kafka create "
           "time.\n\n"
           "  --config FILE    ladder-notify's configuration (kafka.*, "
           "decisions.topic,\n                   schemas.dir, "
           "schema.registry.*: with schema.registry.url\n                   "
           "the registry's ids are written); LADDER_* variables override "
           "it\n"
           "  --count N        decisions to produce (default 1000)\n"
           "  --rate R         decisions per second (default 0: as fast as "
           "possible)\n"
           "  --types LIST     decision types, cycled in order (default "
           "REVOKED,CANCELLED,EXPIRED)\n"
           "  --enterprises K  spread over K enterprises, round robin (default "
           "16)\n"
           "  --prefix TEXT    decision ids are TEXT-SEQ (default \"bench\")\n"
           "  --first N        first SEQ (default 1)\n"
           "  --out FILE       write \"ID TYPE USCC SEQ\" per decision, in "
           "order\n"
           "  --help           show this help\n"
           "  --version        show the version and exit\n\n"
           "Exit status: 0 when Kafka acknowledged every decision, 1 when not, "
           "2 for a\nusage or configuration error.\n");
}

static int nb_parse_long(const char *opt, const char *s, long min, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min) {
        fprintf(stderr,
                "ladder-notify-bench: %s: \"%s\" is not a number >= %ld\n", opt,
                s, min);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- the command line -------------------------------------------------- */

/* What the command line asked for. */
typedef struct nb_opts {
    const char *config_file, *out_path, *prefix, *types_arg;
    long count, rate, enterprises, first;
    int types[LDR_DECISION__COUNT * 4]; /* --types, parsed */
    int ntypes;
} nb_opts_t;

/* nb_parse_opts(): go on with the run. */
#define NB_CONTINUE (-1)

/* Reads --types into o->types: NB_CONTINUE, or 2 after a message. */
static int nb_parse_types(nb_opts_t *o) {
    for (const char *p = o->types_arg; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int t = ldr_decision_type_parse(p, len);
        if (t < 0 || o->ntypes == (int)LDR_ARRAY_SIZE(o->types)) {
            fprintf(stderr,
                    "ladder-notify-bench: --types: \"%.*s\" is not a "
                    "DecisionType\n",
                    (int)len, p);
            return 2;
        }
        o->types[o->ntypes++] = t;
        p = end ? end + 1 : p + len;
    }
    if (!o->ntypes) {
        fprintf(stderr, "ladder-notify-bench: --types: empty\n");
        return 2;
    }
    return NB_CONTINUE;
}

/* Reads the options into @p o; NB_CONTINUE, or the exit status (0 after
 * --help, 2 after a message on stderr). */
static int nb_parse_opts(int argc, char **argv, nb_opts_t *o) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"count", required_argument, NULL, 'n'},
        {"rate", required_argument, NULL, 'r'},
        {"types", required_argument, NULL, 't'},
        {"enterprises", required_argument, NULL, 'e'},
        {"prefix", required_argument, NULL, 'p'},
        {"first", required_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->prefix = "bench";
    o->types_arg = "REVOKED,CANCELLED,EXPIRED";
    o->count = 1000;
    o->enterprises = 16;
    o->first = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config_file = optarg; break;
        case 'n':
            if (nb_parse_long("--count", optarg, 0, &o->count)) return 2;
            break;
        case 'r':
            if (nb_parse_long("--rate", optarg, 0, &o->rate)) return 2;
            break;
        case 'e':
            if (nb_parse_long("--enterprises", optarg, 1, &o->enterprises))
                return 2;
            break;
        case 'f':
            if (nb_parse_long("--first", optarg, 0, &o->first)) return 2;
            break;
        case 't': o->types_arg = optarg; break;
        case 'p': o->prefix = optarg; break;
        case 'o': o->out_path = optarg; break;
        case 'h': nb_usage(stdout); return 0;
        default: nb_usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ladder-notify-bench: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    return nb_parse_types(o);
}

/* ---- the run ------------------------------------------------------------ */

/* Everything one run holds; nb_fini() releases it. */
typedef struct nb_run {
    const nb_opts_t *o;
    ldr_config_t *cfg;
    ldr_schemas_t *schemas;
    ldr_registry_t *registry; /* schema.registry.url, or NULL */
    ldr_codec_t *codec;
    ldr_kafka_producer_t *producer;
    FILE *out;
    char err[1024];
} nb_run_t;

/* One synthetic decision and the text its fields point into. */
typedef struct nb_decision {
    ldr_record_t rec;
    char uscc[19], id[160], name[64], cause[64];
} nb_decision_t;

static const char *const nb_units[] = {"1100", "3100", "4403", "3502"};

/* Closes --out and releases the rest: 1 when --out could not be written,
 * else @p rc. */
static int nb_fini(nb_run_t *r, int rc) {
    if (r->out && fclose(r->out) != 0) rc = 1;
    ldr_kafka_producer_destroy(r->producer);
    ldr_codec_destroy(r->codec);
    ldr_schemas_destroy(r->schemas);
    ldr_registry_destroy(r->registry);
    ldr_config_destroy(r->cfg);
    return rc;
}

/* Loads the configuration and the schemas, connects the producer and opens
 * --out: 0, or 2 after a message on stderr. */
static int nb_setup(nb_run_t *r) {
    /* ladder-notify's configuration: the topic and cluster it reads. */
    r->cfg = ldr_svc_config_load("ladder-notify", r->o->config_file, r->err,
                                 sizeof(r->err));
    if (!r->cfg) {
        fprintf(stderr, "ladder-notify-bench: %s\n", r->err);
        return 2;
    }
    ldr_log_set_program("ladder-notify-bench");
    /* A producer of decisions like the worker: with schema.registry.url
     * it registers the schemas and writes the registry's ids. */
    r->schemas = ldr_svc_schemas_load(r->cfg, true, &r->registry, r->err,
                                      sizeof(r->err));
    if (r->schemas)
        r->codec = ldr_codec_new(r->schemas, r->err, sizeof(r->err));
    if (r->codec)
        r->producer = ldr_kafka_producer_new(
            r->cfg, ldr_config_get(r->cfg, "decisions.topic"), 10000, r->err,
            sizeof(r->err));
    if (!r->producer) {
        fprintf(stderr, "ladder-notify-bench: %s\n", r->err);
        return 2;
    }
    if (r->o->out_path && !(r->out = fopen(r->o->out_path, "w"))) {
        fprintf(stderr, "ladder-notify-bench: --out %s: cannot open\n",
                r->o->out_path);
        return 2;
    }
    return 0;
}

/* Fills @p dd with the @p i-th decision, decided now. */
static void nb_make(const nb_opts_t *o, long i, nb_decision_t *dd) {
    long seq = o->first + i;
    long e = i % o->enterprises;
    snprintf(dd->uscc, sizeof(dd->uscc), "91%s00MB%07d", nb_units[e % 4],
             (int)(e % 10000000));
    ldr_uscc_complete(dd->uscc);
    snprintf(dd->id, sizeof(dd->id), "%s-%08ld", o->prefix, seq);
    snprintf(dd->name, sizeof(dd->name), "Bench Enterprise %ld", e);
    snprintf(dd->cause, sizeof(dd->cause), "bench/0/%ld", seq);
    dd->rec = (ldr_record_t){.kind = LDR_RECORD_DECISION};
    ldr_decision_t *d = &dd->rec.u.decision;
    d->decision_id = ldr_str(dd->id);
    d->uscc = ldr_str(dd->uscc);
    d->enterprise_name = ldr_str(dd->name);
    d->reporting_unit = ldr_str(nb_units[e % 4]);
    d->has_tier = true;
    d->tier = LDR_TIER_SPECIALIZED;
    d->decision = (ldr_decision_type_t)o->types[i % o->ntypes];
    d->reasons_count = 1;
    d->reasons[0] = ldr_str("BENCH.SYNTHETIC");
    int64_t now = ldr_clock_wall_ms();
    d->effective_at = INT64_C(1654041600000) + seq * 1000; /* 2022-06-01 */
    d->has_score = true;
    d->score = (int32_t)(seq % 100);
    d->policy_version = ldr_str("miit-2022");
    d->cause = ldr_str(dd->cause);
    d->decided_at = now;
}

/* Produces the decisions at --rate, waits for the acknowledgements and
 * prints the count: 0, or 1 when one could not be produced or
 * acknowledged. */
static int nb_produce(nb_run_t *r) {
    const nb_opts_t *o = r->o;
    signal(SIGTERM, nb_on_signal);
    signal(SIGINT, nb_on_signal);
    int rc = 0;
    double start = ldr_clock_mono_s();
    for (long i = 0; i < o->count && !ldr_svc_stopping(); i++) {
        if (o->rate > 0) {
            double due = start + (double)i / (double)o->rate;
            while (ldr_clock_mono_s() < due) {
                ldr_kafka_producer_poll(r->producer);
                struct timespec ts = {0, 200000};
                nanosleep(&ts, NULL);
            }
        }
        nb_decision_t dd;
        nb_make(o, i, &dd);
        const void *bytes;
        size_t len;
        if (ldr_codec_encode(r->codec, &dd.rec, &bytes, &len, r->err,
                             sizeof(r->err)) ||
            ldr_kafka_produce(r->producer, dd.uscc, 18, -1, bytes, len, r->err,
                              sizeof(r->err))) {
            fprintf(stderr, "ladder-notify-bench: %s\n", r->err);
            rc = 1;
            break;
        }
        if (r->out)
            fprintf(r->out, "%s %s %s %ld\n", dd.id,
                    ldr_decision_type_name(dd.rec.u.decision.decision), dd.uscc,
                    o->first + i);
    }
    if (ldr_kafka_producer_flush(r->producer, 30000, r->err, sizeof(r->err))) {
        fprintf(stderr, "ladder-notify-bench: %s\n", r->err);
        rc = 1;
    }
    fprintf(stderr,
            "ladder-notify-bench: %llu decisions acknowledged in %.1f s\n",
            (unsigned long long)ldr_kafka_producer_delivered(r->producer),
            ldr_clock_mono_s() - start);
    return rc;
}

int main(int argc, char **argv) {
    if (ldr_svc_version("ladder-notify-bench", argc, argv)) return 0;
    nb_opts_t opts;
    int rc = nb_parse_opts(argc, argv, &opts);
    if (rc != NB_CONTINUE) return rc;
    nb_run_t run;
    memset(&run, 0, sizeof run);
    run.o = &opts;
    rc = nb_setup(&run);
    if (rc == 0) rc = nb_produce(&run);
    return nb_fini(&run, rc);
}
