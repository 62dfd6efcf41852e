/* ladder-decisions -- reads the decisions topic as JSON Lines.
 *
 * DESIGN: the reader of the national demo and of the worker's stream and
 * determinism tests. It assigns every partition of the decisions topic
 * (no consumer group, nothing committed) from the beginning or from given
 * offsets, decodes each message with ladder's codec and writes one JSON
 * object per decision: the decision's JSON form (ldr_decision_to_json,
 * CONTRACT.md "JSON form") plus "partition" and "offset". It runs WHILE the
 * stream is produced, because the embedded cluster keeps only about 5 MiB
 * per partition (PITFALLS.md): nothing may be skipped silently, so a
 * partition that does not start at the requested offset, a gap inside a
 * partition or an offset-out-of-range is counted as lost and makes the exit
 * status 1.
 *
 * It stops on SIGTERM after reading every partition up to the end offsets
 * it then asks the cluster for (so "stop" means "drain what is there"), on
 * SIGINT at once, or, with --count N, once N decisions were read and
 * nothing new came for --idle-ms. --end-offsets only prints a topic's end
 * offsets ("P:OFFSET,..."), which a script can pass to --start-offsets of a
 * later run to read only what came after. */
#include "ladder/alloc.h"
#include "ladder/clock.h"
#include "ladder/codec.h"
#include "ladder/kafka.h"
#include "ladder/config.h"
#include "ladder/decision.h"
#include "ladder/log.h"
#include "ladder/schema.h"
#include "ladder/svc.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RD_MAX_PARTITIONS 4096

static volatile sig_atomic_t rd_drain, rd_stop;

static void rd_on_signal(int sig) {
    if (sig == SIGTERM)
        rd_drain = 1;
    else
        rd_stop = 1;
}

static void rd_usage(FILE *f) {
    fprintf(
        f,
        "Usage: ladder-decisions [OPTION]...\n"
        "Read the decisions topic from the beginning of every partition "
        "(assigned,\nno consumer group), decode each message with ladder's "
        "codec and write\none JSON object per decision (its JSON form plus "
        "\"partition\" and \"offset\").\n\n"
        "  --bootstrap LIST       kafka.bootstrap.servers\n"
        "  --topic NAME           decisions.topic (default "
        "ladder.decisions.v1)\n"
        "  --out FILE             write there instead of standard output\n"
        "  --start-offsets LIST   P:OFFSET,... start there (partitions not "
        "named:\n"
        "                         from the beginning)\n"
        "  --count N              stop once N decisions were read and "
        "nothing new\n"
        "                         came for --idle-ms\n"
        "  --idle-ms MS           see --count (default 2000)\n"
        "  --end-offsets          print the topic's end offsets as "
        "P:OFFSET,... and exit\n"
        "  --help                 show this help\n"
        "  --version              show the version and exit\n\n"
        "LADDER_* variables and kafka.* keys apply as for every program "
        "(docs/CONFIG.md).\nSIGTERM: read every partition up to its current "
        "end, then stop; SIGINT: stop\nat once. A summary goes to stderr.\n\n"
        "Exit status: 0 every message read decoded and no offset missing; 1 "
        "some\nwere lost (evicted before they were read) or did not decode; 2 "
        "bad usage\nor configuration; 3 Kafka unreachable.\n");
}

/* Set after the kafka.* keys, so that they win: this reader must never
 * commit, join or jump to another offset (auto.offset.reset error makes an
 * evicted offset a loss it counts). */
static const ldr_kafka_prop_t rd_props[] = {
    {"client.id", "ladder-decisions"},
    {"group.id", "ladder-decisions"}, /* required; never joined */
    {"enable.auto.commit", "false"},
    {"enable.auto.offset.store", "false"},
    {"auto.offset.reset", "error"},
    {"fetch.wait.max.ms", "10"},
    {"enable.partition.eof", "true"},
};

static rd_kafka_t *rd_consumer(const ldr_config_t *cfg, char *err, size_t n) {
    rd_kafka_conf_t *conf =
        ldr_kafka_conf_new(cfg, LDR_KAFKA_CONSUMER, NULL, 0, err, n);
    if (!conf) return NULL;
    if (ldr_kafka_conf_set(conf, rd_props, LDR_ARRAY_SIZE(rd_props), err, n))
        goto bad;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, n);
    if (!rk) goto bad; /* conf is still ours */
    rd_kafka_poll_set_consumer(rk);
    return rk;
bad:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* The end (high watermark) of every partition; -1 on error. */
static int rd_ends(rd_kafka_t *rk, const char *topic, int parts, int64_t *end,
                   char *err, size_t n) {
    return ldr_kafka_log_bounds(rk, topic, parts, NULL, end, 10000, err, n);
}

/* "P:OFFSET,..." into start[]; -1 on a malformed list. */
static int rd_parse_offsets(const char *s, int64_t *start, int parts) {
    while (*s) {
        char *end;
        errno = 0;
        long p = strtol(s, &end, 10);
        if (errno || end == s || *end != ':' || p < 0 || p >= parts) return -1;
        s = end + 1;
        long long o = strtoll(s, &end, 10);
        if (errno || end == s || o < 0) return -1;
        start[p] = o;
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return 0;
}

/* ---- the command line -------------------------------------------------- */

/* What the command line asked for. */
typedef struct rd_opts {
    const char *out_path, *start_list;
    long long target; /* --count, -1 without it */
    long idle_ms;
    int only_ends;
    const char *flag_key[4], *flag_val[4];
    int nflags;
} rd_opts_t;

/* rd_parse_opts(): go on with the run. */
#define RD_CONTINUE (-1)

/* Reads the options into @p o; RD_CONTINUE, or the exit status (0 after
 * --help, 2 after a message on stderr). */
static int rd_parse_opts(int argc, char **argv, rd_opts_t *o) {
    static const struct option opts[] = {
        {"bootstrap", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"out", required_argument, NULL, 'o'},
        {"start-offsets", required_argument, NULL, 's'},
        {"count", required_argument, NULL, 'n'},
        {"idle-ms", required_argument, NULL, 'i'},
        {"end-offsets", no_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->target = -1;
    o->idle_ms = 2000;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'b':
        case 't': {
            const char *key =
                c == 'b' ? "kafka.bootstrap.servers" : "decisions.topic";
            /* A repeated option replaces the earlier one: the table holds
             * one entry per key, so it cannot overflow. */
            int i = 0;
            while (i < o->nflags && strcmp(o->flag_key[i], key) != 0)
                i++;
            o->flag_key[i] = key;
            o->flag_val[i] = optarg;
            if (i == o->nflags) o->nflags++;
            break;
        }
        case 'o': o->out_path = optarg; break;
        case 's': o->start_list = optarg; break;
        case 'n':
        case 'i': {
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            if (errno || *end || end == optarg || v < 0 ||
                (c == 'i' && v > 3600000)) {
                fprintf(stderr, "ladder-decisions: --%s: '%s' is not valid\n",
                        c == 'n' ? "count" : "idle-ms", optarg);
                return 2;
            }
            if (c == 'n')
                o->target = v;
            else
                o->idle_ms = (long)v;
            break;
        }
        case 'e': o->only_ends = 1; break;
        case 'h': rd_usage(stdout); return 0;
        default: rd_usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr,
                "ladder-decisions: unexpected argument '%s' (see --help)\n",
                argv[optind]);
        return 2;
    }
    return RD_CONTINUE;
}

/* ---- the run ------------------------------------------------------------ */

/* Everything one run holds; rd_fini() releases it. Large: main keeps it
 * in static storage. */
typedef struct rd_run {
    const rd_opts_t *o;
    ldr_config_t *cfg;
    const char *topic;
    FILE *out;
    ldr_schemas_t *schemas;
    ldr_registry_t *registry;
    ldr_codec_t *codec;
    rd_kafka_t *rk;
    int parts;
    int64_t start[RD_MAX_PARTITIONS], next[RD_MAX_PARTITIONS],
        end[RD_MAX_PARTITIONS];
    long long read, lost, bad, errors;
    int64_t last_msg;
    ldr_record_t rec;
    char err[1024];
} rd_run_t;

static void rd_fini(rd_run_t *r) {
    if (r->out != stdout) fclose(r->out);
    if (r->rk) {
        rd_kafka_consumer_close(r->rk);
        rd_kafka_destroy(r->rk);
    }
    ldr_codec_destroy(r->codec);
    ldr_schemas_destroy(r->schemas);
    ldr_registry_destroy(r->registry);
    ldr_config_destroy(r->cfg);
}

/* Loads the configuration and applies the flags over it: 0, or 2 after a
 * message on stderr. */
static int rd_config(rd_run_t *r) {
    const rd_opts_t *o = r->o;
    /* ladder-bench's configuration: the reader is part of its runs. */
    r->cfg = ldr_svc_config_load("ladder-bench", NULL, r->err, sizeof(r->err));
    if (!r->cfg) {
        fprintf(stderr, "ladder-decisions: %s\n", r->err);
        return 2;
    }
    ldr_log_set_program("ladder-decisions");
    for (int i = 0; i < o->nflags; i++)
        if (ldr_config_set(r->cfg, o->flag_key[i], o->flag_val[i], NULL, r->err,
                           sizeof(r->err))) {
            fprintf(stderr, "ladder-decisions: %s\n", r->err);
            return 2;
        }
    if (!ldr_config_get(r->cfg, "kafka.bootstrap.servers")) {
        fprintf(stderr, "ladder-decisions: no --bootstrap (or "
                        "LADDER_KAFKA_BOOTSTRAP_SERVERS) given\n");
        return 2;
    }
    r->topic = ldr_config_get(r->cfg, "decisions.topic");
    return 0;
}

/* Loads the schemas, creates the consumer and counts the topic's
 * partitions: 0, or the exit status after a message on stderr. */
static int rd_setup(rd_run_t *r) {
    r->schemas = ldr_svc_schemas_load(r->cfg, false, &r->registry, r->err,
                                      sizeof(r->err));
    if (r->schemas)
        r->codec = ldr_codec_new(r->schemas, r->err, sizeof(r->err));
    if (r->codec) r->rk = rd_consumer(r->cfg, r->err, sizeof(r->err));
    if (!r->rk) {
        fprintf(stderr, "ladder-decisions: %s\n", r->err);
        return 2;
    }
    r->parts = ldr_kafka_partition_count(r->rk, r->topic, 10000, r->err,
                                         sizeof(r->err));
    if (r->parts < 1 || r->parts > RD_MAX_PARTITIONS) {
        fprintf(stderr, "ladder-decisions: %s\n",
                r->parts < 1 ? r->err : "too many partitions");
        return 3;
    }
    return 0;
}

/* --end-offsets: prints "P:OFFSET,...": 0, or 3 after a message. */
static int rd_print_ends(rd_run_t *r) {
    if (rd_ends(r->rk, r->topic, r->parts, r->end, r->err, sizeof(r->err))) {
        fprintf(stderr, "ladder-decisions: %s\n", r->err);
        return 3;
    }
    for (int p = 0; p < r->parts; p++)
        printf("%s%d:%lld", p ? "," : "", p, (long long)r->end[p]);
    printf("\n");
    return 0;
}

/* Reads --start-offsets, opens --out, installs the signal handlers and
 * assigns every partition: 0, or the exit status after a message. */
static int rd_start(rd_run_t *r) {
    const rd_opts_t *o = r->o;
    if (o->start_list && rd_parse_offsets(o->start_list, r->start, r->parts)) {
        fprintf(stderr,
                "ladder-decisions: --start-offsets: '%s' is not a list of "
                "P:OFFSET for partitions 0..%d\n",
                o->start_list, r->parts - 1);
        return 2;
    }
    if (o->out_path && !(r->out = fopen(o->out_path, "w"))) {
        fprintf(stderr, "ladder-decisions: %s: %s\n", o->out_path,
                strerror(errno));
        r->out = stdout;
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = rd_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    rd_kafka_topic_partition_list_t *tpl =
        rd_kafka_topic_partition_list_new(r->parts);
    for (int p = 0; p < r->parts; p++) {
        r->next[p] = r->start[p];
        rd_kafka_topic_partition_list_add(tpl, r->topic, p)->offset =
            r->start[p] ? r->start[p] : RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_resp_err_t kerr = rd_kafka_assign(r->rk, tpl);
    rd_kafka_topic_partition_list_destroy(tpl);
    if (kerr) {
        fprintf(stderr, "ladder-decisions: assign: %s\n",
                rd_kafka_err2str(kerr));
        return 3;
    }
    return 0;
}

/* Takes one polled message: counts a gap as lost, writes a decision as
 * one JSON line, counts what does not decode. Destroys @p m. */
static void rd_take(rd_run_t *r, rd_kafka_message_t *m) {
    int p = m->partition;
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* offset-out-of-range included: never skipped silently */
            fprintf(stderr, "ladder-decisions: %s/%d: %s\n", r->topic, p,
                    rd_kafka_message_errstr(m));
            r->errors++;
            if (m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
                m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET)
                rd_stop = 1;
        }
        goto out;
    }
    if (p < 0 || p >= r->parts) goto out;
    if (m->offset < r->next[p]) goto out; /* a re-fetch after a retry */
    if (m->offset > r->next[p]) {
        fprintf(stderr,
                "ladder-decisions: %s/%d: offsets %lld..%lld are gone "
                "(evicted before they were read)\n",
                r->topic, p, (long long)r->next[p], (long long)m->offset - 1);
        r->lost += m->offset - r->next[p];
    }
    r->next[p] = m->offset + 1;
    r->last_msg = ldr_clock_mono_ms();
    const ldr_schema_t *writer;
    if (ldr_codec_decode(r->codec, m->payload, m->len, &r->rec, &writer, r->err,
                         sizeof(r->err)) ||
        r->rec.kind != LDR_RECORD_DECISION) {
        fprintf(stderr, "ladder-decisions: %s/%d/%lld: %s\n", r->topic, p,
                (long long)m->offset,
                r->rec.kind != LDR_RECORD_DECISION ? "not a decision" : r->err);
        r->bad++;
        goto out;
    }
    json_t *j = ldr_decision_to_json(&r->rec.u.decision);
    json_object_set_new(j, "partition", json_integer(p));
    json_object_set_new(j, "offset", json_integer(m->offset));
    char *line = json_dumps(j, JSON_COMPACT);
    fputs(line, r->out);
    fputc('\n', r->out);
    free(line);
    json_decref(j);
    r->read++;
out:
    rd_kafka_message_destroy(m);
}

/* Reads until SIGINT, the drain after SIGTERM, or --count and --idle-ms
 * say stop, then prints the summary: 0, or 1 when anything was lost,
 * undecodable or an error. */
static int rd_read(rd_run_t *r) {
    const rd_opts_t *o = r->o;
    int draining = 0;
    r->last_msg = ldr_clock_mono_ms();
    int64_t t0 = r->last_msg;
    while (!rd_stop) {
        if (rd_drain && !draining) {
            if (rd_ends(r->rk, r->topic, r->parts, r->end, r->err,
                        sizeof(r->err))) {
                fprintf(stderr, "ladder-decisions: %s\n", r->err);
                r->errors++;
                break;
            }
            draining = 1;
        }
        if (draining) {
            int left = 0;
            for (int p = 0; p < r->parts; p++)
                left += r->next[p] < r->end[p];
            if (!left) break;
        }
        if (o->target >= 0 && r->read >= o->target &&
            ldr_clock_mono_ms() - r->last_msg >= o->idle_ms)
            break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 50);
        if (!m) {
            fflush(r->out);
            continue;
        }
        rd_take(r, m);
    }
    fflush(r->out);
    double secs = (double)(ldr_clock_mono_ms() - t0) / 1000.0;
    fprintf(stderr,
            "ladder-decisions: %lld decisions from %d partitions of %s in "
            "%.1f s; %lld lost, %lld undecodable, %lld errors%s\n",
            r->read, r->parts, r->topic, secs, r->lost, r->bad, r->errors,
            rd_stop ? " (interrupted)" : "");
    return r->lost || r->bad || r->errors ? 1 : 0;
}

int main(int argc, char **argv) {
    if (ldr_svc_version("ladder-decisions", argc, argv)) return 0;
    rd_opts_t opts;
    int rc = rd_parse_opts(argc, argv, &opts);
    if (rc != RD_CONTINUE) return rc;
    static rd_run_t run;
    memset(&run, 0, sizeof run);
    run.o = &opts;
    run.out = stdout;
    rc = rd_config(&run);
    if (rc == 0) rc = rd_setup(&run);
    if (rc == 0 && opts.only_ends) {
        rc = rd_print_ends(&run);
    } else if (rc == 0) {
        rc = rd_start(&run);
        if (rc == 0) rc = rd_read(&run);
    }
    rd_fini(&run);
    return rc;
}
