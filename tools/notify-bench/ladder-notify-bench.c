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
           "decisions.topic,\n                   schemas.dir); LADDER_* "
           "variables override it\n"
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
           "  --help           show this help\n\n"
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

int main(int argc, char **argv) {
    const char *config_file = NULL, *out_path = NULL, *prefix = "bench";
    const char *types_arg = "REVOKED,CANCELLED,EXPIRED";
    long count = 1000, rate = 0, enterprises = 16, first = 1;
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
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_file = optarg; break;
        case 'n':
            if (nb_parse_long("--count", optarg, 0, &count)) return 2;
            break;
        case 'r':
            if (nb_parse_long("--rate", optarg, 0, &rate)) return 2;
            break;
        case 'e':
            if (nb_parse_long("--enterprises", optarg, 1, &enterprises))
                return 2;
            break;
        case 'f':
            if (nb_parse_long("--first", optarg, 0, &first)) return 2;
            break;
        case 't': types_arg = optarg; break;
        case 'p': prefix = optarg; break;
        case 'o': out_path = optarg; break;
        case 'h': nb_usage(stdout); return 0;
        default: nb_usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ladder-notify-bench: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    int types[LDR_DECISION__COUNT * 4];
    int ntypes = 0;
    for (const char *p = types_arg; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int t = ldr_decision_type_parse(p, len);
        if (t < 0 || ntypes == (int)LDR_ARRAY_SIZE(types)) {
            fprintf(stderr,
                    "ladder-notify-bench: --types: \"%.*s\" is not a "
                    "DecisionType\n",
                    (int)len, p);
            return 2;
        }
        types[ntypes++] = t;
        p = end ? end + 1 : p + len;
    }
    if (!ntypes) {
        fprintf(stderr, "ladder-notify-bench: --types: empty\n");
        return 2;
    }
    char err[1024], pbuf[4096];
    /* ladder-notify's configuration: the topic and cluster it reads. */
    ldr_config_t *cfg =
        ldr_svc_config_load("ladder-notify", config_file, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "ladder-notify-bench: %s\n", err);
        return 2;
    }
    ldr_log_set_program("ladder-notify-bench");
    int rc = 2;
    FILE *out = NULL;
    ldr_kafka_producer_t *producer = NULL;
    ldr_codec_t *codec = NULL;
    ldr_schemas_t *schemas = ldr_schemas_load(
        ldr_config_data_path(ldr_config_get(cfg, "schemas.dir"), pbuf,
                             sizeof(pbuf)),
        err, sizeof(err));
    if (schemas) codec = ldr_codec_new(schemas, err, sizeof(err));
    if (codec)
        producer =
            ldr_kafka_producer_new(cfg, ldr_config_get(cfg, "decisions.topic"),
                                   10000, err, sizeof(err));
    if (!producer) {
        fprintf(stderr, "ladder-notify-bench: %s\n", err);
        goto out;
    }
    if (out_path && !(out = fopen(out_path, "w"))) {
        fprintf(stderr, "ladder-notify-bench: --out %s: cannot open\n",
                out_path);
        goto out;
    }
    signal(SIGTERM, nb_on_signal);
    signal(SIGINT, nb_on_signal);
    rc = 0;
    double start = ldr_clock_mono_s();
    static const char *const units[] = {"1100", "3100", "4403", "3502"};
    for (long i = 0; i < count && !ldr_svc_stopping(); i++) {
        if (rate > 0) {
            double due = start + (double)i / (double)rate;
            while (ldr_clock_mono_s() < due) {
                ldr_kafka_producer_poll(producer);
                struct timespec ts = {0, 200000};
                nanosleep(&ts, NULL);
            }
        }
        long seq = first + i;
        long e = i % enterprises;
        char uscc[19], id[160], name[64], cause[64];
        snprintf(uscc, sizeof(uscc), "91%s00MB%07d", units[e % 4],
                 (int)(e % 10000000));
        ldr_uscc_complete(uscc);
        snprintf(id, sizeof(id), "%s-%08ld", prefix, seq);
        snprintf(name, sizeof(name), "Bench Enterprise %ld", e);
        snprintf(cause, sizeof(cause), "bench/0/%ld", seq);
        ldr_record_t rec = {.kind = LDR_RECORD_DECISION};
        ldr_decision_t *d = &rec.u.decision;
        d->decision_id = ldr_str(id);
        d->uscc = ldr_str(uscc);
        d->enterprise_name = ldr_str(name);
        d->reporting_unit = ldr_str(units[e % 4]);
        d->has_tier = true;
        d->tier = LDR_TIER_SPECIALIZED;
        d->decision = (ldr_decision_type_t)types[i % ntypes];
        d->reasons_count = 1;
        d->reasons[0] = ldr_str("BENCH.SYNTHETIC");
        int64_t now = ldr_clock_wall_ms();
        d->effective_at = INT64_C(1654041600000) + seq * 1000; /* 2022-06-01 */
        d->has_score = true;
        d->score = (int32_t)(seq % 100);
        d->policy_version = ldr_str("miit-2022");
        d->cause = ldr_str(cause);
        d->decided_at = now;
        const void *bytes;
        size_t len;
        if (ldr_codec_encode(codec, &rec, &bytes, &len, err, sizeof(err)) ||
            ldr_kafka_produce(producer, uscc, 18, -1, bytes, len, err,
                              sizeof(err))) {
            fprintf(stderr, "ladder-notify-bench: %s\n", err);
            rc = 1;
            break;
        }
        if (out)
            fprintf(out, "%s %s %s %ld\n", id,
                    ldr_decision_type_name(d->decision), uscc, seq);
    }
    if (ldr_kafka_producer_flush(producer, 30000, err, sizeof(err))) {
        fprintf(stderr, "ladder-notify-bench: %s\n", err);
        rc = 1;
    }
    fprintf(stderr,
            "ladder-notify-bench: %llu decisions acknowledged in %.1f s\n",
            (unsigned long long)ldr_kafka_producer_delivered(producer),
            ldr_clock_mono_s() - start);
out:
    if (out && fclose(out) != 0) rc = 1;
    ldr_kafka_producer_destroy(producer);
    ldr_codec_destroy(codec);
    ldr_schemas_destroy(schemas);
    ldr_config_destroy(cfg);
    return rc;
}
