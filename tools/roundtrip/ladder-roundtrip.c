/* ladder-roundtrip -- sends a few real events through Kafka and back.
 *
 * DESIGN: the end-to-end check of the foundation, used by the quickstart
 * and by an integration test. It builds a handful of valid events of every
 * input kind (with real USCC check characters and reporting units),
 * validates them with the same validators as the feed and the worker,
 * encodes them with the codec and produces them keyed by USCC with the
 * murmur2_random partitioner and an idempotent producer, plus one ClockTick
 * per partition. It then reads the topic back from the beginning, decodes
 * every message, checks that it re-encodes to the very same bytes, that it
 * sits in the partition its key hashes to and that the key is its USCC, and
 * records the tallies in Redis to show the store is reachable. Nothing is
 * trusted that was not read back. Redis is reached through the cluster
 * router (cluster.h), as the worker and the API reach it, so that the check
 * means the same on one server and on a Redis Cluster, where the tallies'
 * key lives on whichever master owns its slot. */
#include "ladder/alloc.h"
#include "ladder/clock.h"
#include "ladder/cluster.h"
#include "ladder/codec.h"
#include "ladder/kafka.h"
#include "ladder/units_file.h"
#include "ladder/config.h"
#include "ladder/redis.h"
#include "ladder/schema.h"
#include "ladder/svc.h"
#include "ladder/units.h"
#include "ladder/uscc.h"
#include "ladder/validate.h"

#include <errno.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RT_MAX_EVENTS 1000

typedef struct rt_event {
    ldr_record_t rec;
    char uscc[19];
    char event_id[32];
    char name[96];
    char case_id[32];
    char *bytes;
    size_t len;
    int32_t partition;
    int64_t offset;
    int delivered;
    int verified;
} rt_event_t;

static volatile sig_atomic_t rt_stop;

static void rt_on_signal(int sig) {
    (void)sig;
    rt_stop = 1;
}

static void rt_usage(FILE *f) {
    fprintf(
        f,
        "Usage: ladder-roundtrip [--config FILE] [OPTION]...\n"
        "Produce a few valid ladder events of every kind to Kafka, read them\n"
        "back, and check each one byte for byte.\n\n"
        "  --config FILE      key = value configuration (docs/CONFIG.md); "
        "LADDER_*\n"
        "                     variables override it, and the flags below both\n"
        "  --bootstrap LIST   kafka.bootstrap.servers (ladder-kafka prints "
        "it)\n"
        "  --redis-url URL    redis.url, redis://host:port/db, or the seed "
        "list\n"
        "                     redis://h1:p1,h2:p2,... of a Redis Cluster\n"
        "  --topic NAME       input.topic (default ladder.events.v1)\n"
        "  --count N          events to send besides the ticks, 1..%d (default "
        "12)\n"
        "  --timeout-ms MS    how long to wait for delivery and read-back "
        "(default 20000)\n"
        "  --help             show this help\n"
        "  --version          show the version and exit\n\n"
        "Keys used: kafka.* (passed to librdkafka), redis.url, "
        "redis.password,\n"
        "redis.cluster, input.topic, schemas.dir, units.file, "
        "schema.registry.*\n(with schema.registry.url the schemas are "
        "registered and the registry's ids\nwritten and read back).\n\n"
        "Exit status: 0 every event verified, 1 a check failed, 2 bad usage,\n"
        "configuration or data files, 3 Kafka or Redis unreachable.\n",
        RT_MAX_EVENTS);
}

static const char *const rt_names[] = {
    "精密传感科技有限公司", "新材料股份有限公司", "智能装备制造有限公司",
    "生物医药科技有限公司", "工业软件有限公司",   "精细化工有限公司"};

/* A valid USCC for a unit: 91 (enterprise), the unit's region code padded
 * to six digits, an organisation code derived from i, check character. */
static void rt_make_uscc(const ldr_units_entry_t *unit, int i, char out[19]) {
    char region[7];
    snprintf(region, sizeof(region), "%.*s0000", (int)unit->code_len,
             unit->code);
    region[6] = '\0';
    snprintf(out, 19, "91%.6sMA%07X", region,
             (unsigned)(0x1A2B3 + i * 7919) & 0xFFFFFFF);
    out[17] = '\0';
    ldr_uscc_complete(out);
}

static void rt_make_event(rt_event_t *e, int i, const ldr_units_t *units,
                          int64_t now) {
    const ldr_units_entry_t *unit =
        ldr_units_at(units, (size_t)(i * 5) % ldr_units_count(units));
    rt_make_uscc(unit, i, e->uscc);
    snprintf(e->event_id, sizeof(e->event_id), "roundtrip-%d-%lld", i,
             (long long)now);
    snprintf(e->name, sizeof(e->name), "%s%s", unit->name_zh, rt_names[i % 6]);
    snprintf(e->case_id, sizeof(e->case_id), "case-%d", i);
    memset(&e->rec, 0, sizeof(e->rec));
    ldr_indicators_t ind;
    memset(&ind, 0, sizeof(ind));
    ind.years_in_niche = 3 + i % 5;
    ind.revenue = 120000000 + i * 1000003LL;
    ind.revenue_prev = 100000000;
    ind.main_revenue = 110000000;
    ind.main_revenue_prev = 90000000;
    ind.main_revenue_prev2 = 80000000;
    ind.net_profit = 9000000;
    ind.rd_expense = 6000000;
    ind.rd_expense_prev = 5000000;
    ind.employees = 300;
    ind.rd_staff = 60;
    ind.asset_liability_pct = 48.5;
    ind.niche_market_share_pct = 11.25;
    ind.niche_market_rank = 2;
    ind.ip_class1 = 4;
    ind.ip_class1_high_value = 1;
    ind.rd_institution = LDR_RD_PROVINCIAL;
    ind.digitalization_level = 3;
    ind.quality_items = 2;
    ind.own_brand = ind.mgmt_certification = ind.core_business_on_info_system =
        true;
    ind.field_six_foundations = ind.key_chain_link = true;
    ind.honours = 1u << LDR_HONOUR_HIGH_TECH_ENTERPRISE;
    ind.local_score = 10;
    ind.has_development_score = i % 2;
    ind.development_score = 70;
    int64_t at = now - 86400000LL * (30 - i % 30);
    switch (i % 3) {
    case 0:
        e->rec.kind = LDR_RECORD_APPLICATION;
        e->rec.u.application =
            (ldr_application_t){ldr_str(e->event_id),
                                ldr_str(e->uscc),
                                ldr_str(e->name),
                                {unit->code, unit->code_len},
                                (ldr_tier_t)(i % 3 == 0 ? i / 3 % 3 : 0),
                                1 + i % 7,
                                at,
                                ind};
        break;
    case 1:
        e->rec.kind = LDR_RECORD_REVIEW;
        e->rec.u.review = (ldr_review_t){ldr_str(e->event_id),
                                         ldr_str(e->uscc),
                                         ldr_str(e->name),
                                         {unit->code, unit->code_len},
                                         LDR_TIER_SPECIALIZED,
                                         at,
                                         ind};
        break;
    default:
        e->rec.kind = LDR_RECORD_VIOLATION;
        e->rec.u.violation =
            (ldr_violation_t){ldr_str(e->event_id),
                              ldr_str(e->uscc),
                              {unit->code, unit->code_len},
                              ldr_str(e->case_id),
                              LDR_VIOLATION_SAFETY_ACCIDENT,
                              LDR_CASE_REPORTED,
                              at,
                              true,
                              ldr_str("reported by the provincial department")};
    }
}

static void rt_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m,
                     void *opaque) {
    (void)rk;
    (void)opaque;
    rt_event_t *e = m->_private;
    if (!e) return;
    if (m->err) {
        fprintf(stderr, "ladder-roundtrip: delivery failed: %s\n",
                rd_kafka_err2str(m->err));
        return;
    }
    e->delivered = 1;
    e->partition = m->partition;
    e->offset = m->offset;
}

static const char *rt_kind(ldr_record_kind_t k) {
    switch (k) {
    case LDR_RECORD_APPLICATION: return "application";
    case LDR_RECORD_REVIEW: return "review";
    case LDR_RECORD_VIOLATION: return "violation";
    case LDR_RECORD_CLOCK_TICK: return "tick";
    case LDR_RECORD_DECISION: return "decision";
    }
    return "?";
}

/* The round trip's own client settings, set after the kafka.* keys of the
 * configuration so that they win (ldr_kafka_conf_new() gives client.id,
 * the contract's partitioner and idempotence). */
static const ldr_kafka_prop_t rt_producer_props[] = {
    {"linger.ms", "5"},
};
static const ldr_kafka_prop_t rt_consumer_props[] = {
    {"group.id", "ladder-roundtrip"},
    {"enable.auto.commit", "false"},
    {"fetch.wait.max.ms", "10"},
};

static rd_kafka_t *rt_kafka(rd_kafka_type_t type, const ldr_config_t *cfg) {
    char err[512];
    bool producer = type == RD_KAFKA_PRODUCER;
    rd_kafka_conf_t *conf = ldr_kafka_conf_new(
        cfg, producer ? LDR_KAFKA_TOOL_PRODUCER : LDR_KAFKA_CONSUMER, NULL, 0,
        err, sizeof(err));
    if (!conf) goto bad;
    if (producer ? ldr_kafka_conf_set(conf, rt_producer_props,
                                      LDR_ARRAY_SIZE(rt_producer_props), err,
                                      sizeof(err))
                 : ldr_kafka_conf_set(conf, rt_consumer_props,
                                      LDR_ARRAY_SIZE(rt_consumer_props), err,
                                      sizeof(err)))
        goto bad;
    if (producer) rd_kafka_conf_set_dr_msg_cb(conf, rt_dr_cb);
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (!rk) {
        rd_kafka_conf_destroy(conf); /* still ours when rd_kafka_new fails */
        fprintf(stderr, "ladder-roundtrip: kafka: %s\n", err);
        return NULL;
    }
    return rk;
bad:
    fprintf(stderr, "ladder-roundtrip: %s\n", err);
    if (conf) rd_kafka_conf_destroy(conf);
    return NULL;
}

/* Why message @p m, read back, is not event @p e as produced at @p now to
 * a topic of @p partitions partitions, or NULL when it is: it decodes,
 * validates, re-encodes to the very same bytes and sits in the partition
 * its key hashes to. The reason may be written to @p err. */
static const char *rt_check(ldr_codec_t *codec,
                            const ldr_validator_t *validator,
                            const rt_event_t *e, const rd_kafka_message_t *m,
                            int64_t now, int partitions, char *err, size_t n) {
    ldr_record_t rec;
    const void *again = NULL;
    size_t again_len = 0;
    if (ldr_codec_decode(codec, m->payload, m->len, &rec, NULL, err, n))
        return err;
    if (ldr_validate_message(validator, &rec, m->key, m->key_len, now,
                             ldr_clock_wall_ms(), err, n))
        return err;
    if (ldr_codec_encode(codec, &rec, &again, &again_len, err, n)) return err;
    if (again_len != e->len || memcmp(again, e->bytes, e->len) != 0)
        return "re-encoded bytes differ from those produced";
    if (m->key && ldr_kafka_partition_for_key(m->key, m->key_len, partitions) !=
                      m->partition)
        return "message is not in the partition its key hashes to";
    return NULL;
}

/* ---- the command line -------------------------------------------------- */

/* What the command line asked for. Flags override the file and the
 * environment, so they are collected first and applied last. */
typedef struct rt_opts {
    const char *config_file;
    long count, timeout_ms;
    const char *flag_key[8];
    const char *flag_val[8];
    int nflags;
} rt_opts_t;

/* rt_parse_opts(): go on with the run. */
#define RT_CONTINUE (-1)

/* Reads the options into @p o; RT_CONTINUE, or the exit status (0 after
 * --help, 2 after a message on stderr). */
static int rt_parse_opts(int argc, char **argv, rt_opts_t *o) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"bootstrap", required_argument, NULL, 'b'},
        {"redis-url", required_argument, NULL, 'r'},
        {"topic", required_argument, NULL, 't'},
        {"count", required_argument, NULL, 'n'},
        {"timeout-ms", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->count = 12;
    o->timeout_ms = 20000;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'c': o->config_file = optarg; break;
        case 'b':
        case 'r':
        case 't': {
            const char *key = c == 'b'   ? "kafka.bootstrap.servers"
                              : c == 'r' ? "redis.url"
                                         : "input.topic";
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
        case 'n':
        case 'T': {
            errno = 0;
            long v = strtol(optarg, &end, 10);
            long max = c == 'n' ? RT_MAX_EVENTS : 600000;
            if (errno || *end || end == optarg || v < 1 || v > max) {
                fprintf(stderr,
                        "ladder-roundtrip: --%s: '%s' is not a number from 1 "
                        "to %ld\n",
                        c == 'n' ? "count" : "timeout-ms", optarg, max);
                return 2;
            }
            if (c == 'n')
                o->count = v;
            else
                o->timeout_ms = v;
            break;
        }
        case 'h': rt_usage(stdout); return 0;
        default: rt_usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr,
                "ladder-roundtrip: unexpected argument '%s' (see --help)\n",
                argv[optind]);
        return 2;
    }
    return RT_CONTINUE;
}

/* ---- the run ------------------------------------------------------------ */

/* Everything one run holds; rt_run_fini() releases it. */
typedef struct rt_run {
    const rt_opts_t *o;
    ldr_config_t *cfg;
    const char *bootstrap, *redis_url, *topic;
    ldr_cluster_mode_t redis_mode;
    ldr_schemas_t *schemas;
    ldr_registry_t *registry; /* schema.registry.url, or NULL */
    ldr_codec_t *codec;
    ldr_units_t *units;
    ldr_validator_t *validator;
    rd_kafka_t *producer, *consumer;
    ldr_cluster_t *redis;
    rt_event_t *ev;
    int partitions, total;
    int64_t now;
    char err[1024];
} rt_run_t;

static void rt_run_fini(rt_run_t *r) {
    if (r->consumer) {
        rd_kafka_consumer_close(r->consumer);
        rd_kafka_destroy(r->consumer);
    }
    if (r->producer) rd_kafka_destroy(r->producer);
    ldr_cluster_destroy(r->redis);
    if (r->ev)
        for (long i = 0; i < r->o->count + 1024; i++)
            free(r->ev[i].bytes);
    free(r->ev);
    ldr_validator_destroy(r->validator);
    ldr_units_destroy(r->units);
    ldr_codec_destroy(r->codec);
    ldr_schemas_destroy(r->schemas);
    ldr_registry_destroy(r->registry);
    ldr_config_destroy(r->cfg);
}

/* Loads the configuration and applies the flags over it: 0, or 2 after a
 * message on stderr. */
static int rt_config(rt_run_t *r) {
    const rt_opts_t *o = r->o;
    r->cfg = ldr_svc_config_load("ladder-roundtrip", o->config_file, r->err,
                                 sizeof(r->err));
    if (!r->cfg) {
        fprintf(stderr, "ladder-roundtrip: %s\n", r->err);
        return 2;
    }
    for (int i = 0; i < o->nflags; i++)
        if (ldr_config_set(r->cfg, o->flag_key[i], o->flag_val[i], NULL, r->err,
                           sizeof(r->err))) {
            fprintf(stderr, "ladder-roundtrip: %s\n", r->err);
            return 2;
        }
    r->bootstrap = ldr_config_get(r->cfg, "kafka.bootstrap.servers");
    r->redis_url = ldr_config_get(r->cfg, "redis.url");
    r->topic = ldr_config_get(r->cfg, "input.topic");
    if (ldr_cluster_mode_parse(ldr_config_get(r->cfg, "redis.cluster"),
                               &r->redis_mode, r->err, sizeof(r->err))) {
        fprintf(stderr, "ladder-roundtrip: %s\n", r->err);
        return 2;
    }
    if (!r->bootstrap) {
        fprintf(
            stderr,
            "ladder-roundtrip: kafka.bootstrap.servers is not set: start the "
            "embedded cluster with build/bin/ladder-kafka and pass the list it "
            "prints with --bootstrap\n");
        return 2;
    }
    return 0;
}

/* Asks the producer how many partitions the topic has: 0, or 3 after a
 * message on stderr. */
static int rt_partitions(rt_run_t *r) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(r->producer, r->topic, NULL);
    rd_kafka_resp_err_t kerr =
        rd_kafka_metadata(r->producer, 0, rkt, &md, 5000);
    rd_kafka_topic_destroy(rkt);
    if (kerr || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "ladder-roundtrip: topic %s on %s: %s\n", r->topic,
                r->bootstrap,
                rd_kafka_err2str(kerr ? kerr
                                 : md ? md->topics[0].err
                                      : RD_KAFKA_RESP_ERR__FAIL));
        if (md) rd_kafka_metadata_destroy(md);
        return 3;
    }
    r->partitions = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    printf("kafka: %s, topic %s with %d partitions\n", r->bootstrap, r->topic,
           r->partitions);
    return 0;
}

/* Loads the schemas and units, connects Redis and both Kafka clients and
 * reads the topic's partition count: 0, or the exit status after a message
 * on stderr. */
static int rt_setup(rt_run_t *r) {
    char pbuf[4096];
    signal(SIGINT, rt_on_signal);
    signal(SIGTERM, rt_on_signal);
    r->ev = calloc((size_t)r->o->count + 1024, sizeof(*r->ev));
    /* Both ends at once: with schema.registry.url the events are written
     * with the ids the registry gives and read back through it. */
    r->schemas = ldr_svc_schemas_load(r->cfg, true, &r->registry, r->err,
                                      sizeof(r->err));
    if (r->schemas)
        r->codec = ldr_codec_new(r->schemas, r->err, sizeof(r->err));
    if (r->codec)
        r->units = ldr_units_load(
            ldr_config_data_path(ldr_config_get(r->cfg, "units.file"), pbuf,
                                 sizeof(pbuf)),
            r->err, sizeof(r->err));
    if (!r->units) {
        fprintf(stderr, "ladder-roundtrip: %s\n", r->err);
        return 2;
    }
    r->validator = ldr_validator_new(r->units, 400);
    ldr_cluster_opts_t ro = {.url = r->redis_url,
                             .password =
                                 ldr_config_get(r->cfg, "redis.password"),
                             .mode = r->redis_mode,
                             .timeout_ms = 2000};
    if (ldr_cluster_new(&ro, &r->redis, r->err, sizeof(r->err))) {
        fprintf(stderr, "ladder-roundtrip: %s\n", r->err);
        return 3;
    }
    r->producer = rt_kafka(RD_KAFKA_PRODUCER, r->cfg);
    r->consumer = rt_kafka(RD_KAFKA_CONSUMER, r->cfg);
    if (!r->producer || !r->consumer) return 2;
    return rt_partitions(r);
}

/* Builds, validates, encodes and produces the events and one tick per
 * partition, then waits for the acknowledgements: true when every one was
 * acknowledged. */
static bool rt_produce(rt_run_t *r) {
    long count = r->o->count;
    r->now = ldr_clock_wall_ms();
    r->total = (int)count + r->partitions;
    for (int i = 0; i < r->total; i++) {
        rt_event_t *e = &r->ev[i];
        if (i < count) {
            rt_make_event(e, i, r->units, r->now);
        } else {
            e->rec.kind = LDR_RECORD_CLOCK_TICK;
            e->rec.u.tick.tick_at = r->now;
            e->rec.u.tick.source = ldr_str("ladder-roundtrip");
        }
        if (ldr_validate_record(r->validator, &e->rec, r->now, r->now, r->err,
                                sizeof(r->err))) {
            fprintf(stderr, "ladder-roundtrip: event %d is invalid: %s\n", i,
                    r->err);
            return false;
        }
        const void *bytes;
        if (ldr_codec_encode(r->codec, &e->rec, &bytes, &e->len, r->err,
                             sizeof(r->err))) {
            fprintf(stderr, "ladder-roundtrip: event %d: %s\n", i, r->err);
            return false;
        }
        e->bytes = malloc(e->len);
        memcpy(e->bytes, bytes, e->len);
        int is_tick = e->rec.kind == LDR_RECORD_CLOCK_TICK;
        rd_kafka_resp_err_t kerr = rd_kafka_producev(
            r->producer, RD_KAFKA_V_TOPIC(r->topic),
            RD_KAFKA_V_PARTITION(is_tick ? i - (int)count
                                         : RD_KAFKA_PARTITION_UA),
            RD_KAFKA_V_KEY(is_tick ? NULL : e->uscc, is_tick ? 0 : 18),
            RD_KAFKA_V_VALUE(e->bytes, e->len), RD_KAFKA_V_OPAQUE(e),
            RD_KAFKA_V_END);
        if (kerr) {
            fprintf(stderr, "ladder-roundtrip: produce: %s\n",
                    rd_kafka_err2str(kerr));
            return false;
        }
    }
    rd_kafka_flush(r->producer, (int)r->o->timeout_ms);
    int delivered = 0;
    for (int i = 0; i < r->total; i++)
        delivered += r->ev[i].delivered;
    printf(
        "produced %d events (%ld application/review/violation, %d ticks) with "
        "murmur2_random and an idempotent producer: %d acknowledged\n",
        r->total, count, r->partitions, delivered);
    return delivered == r->total;
}

/* Reads everything back from the beginning of every partition and checks
 * each of our messages; the tallies go to @p verified and @p failures. */
static void rt_read_back(rt_run_t *r, int *verified, int *failures) {
    rd_kafka_topic_partition_list_t *tpl =
        rd_kafka_topic_partition_list_new(r->partitions);
    for (int p = 0; p < r->partitions; p++)
        rd_kafka_topic_partition_list_add(tpl, r->topic, p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(r->consumer, tpl);
    rd_kafka_topic_partition_list_destroy(tpl);
    int seen = 0;
    int64_t deadline = ldr_clock_wall_ms() + r->o->timeout_ms;
    while (*verified + *failures < r->total && ldr_clock_wall_ms() < deadline &&
           !rt_stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->consumer, 100);
        if (!m) continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "ladder-roundtrip: consume: %s\n",
                        rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        seen++;
        rt_event_t *e = NULL;
        for (int i = 0; i < r->total && !e; i++)
            if (r->ev[i].partition == m->partition &&
                r->ev[i].offset == m->offset)
                e = &r->ev[i];
        if (!e) { /* someone else's message: not ours to judge */
            rd_kafka_message_destroy(m);
            continue;
        }
        const char *why = rt_check(r->codec, r->validator, e, m, r->now,
                                   r->partitions, r->err, sizeof(r->err));
        printf("  %-11s %-18s partition %d offset %-4lld %s%s\n",
               rt_kind(e->rec.kind),
               e->rec.kind == LDR_RECORD_CLOCK_TICK ? "(no key)" : e->uscc,
               (int)m->partition, (long long)m->offset,
               why ? "FAILED: " : "decoded, validated, identical",
               why ? why : "");
        if (why)
            (*failures)++;
        else if (!e->verified) {
            e->verified = 1;
            (*verified)++;
        }
        rd_kafka_message_destroy(m);
    }
    printf("read back %d messages: %d of %d verified, %d failed\n", seen,
           *verified, r->total, *failures);
}

/* The tallies' key. On a Redis Cluster it lives on the master that owns
 * its slot, which need not be the first node of redis.url: the commands go
 * to that slot through the router, never to a connection of our own. */
static const char rt_tallies_key[] = "ldr:roundtrip";

/* Stores the tallies in Redis and reads one back: true when it matched. */
static bool rt_store_tallies(rt_run_t *r, int verified, int failures) {
    int slot = ldr_cluster_key_slot(rt_tallies_key, sizeof(rt_tallies_key) - 1);
    char err[512];
    redisReply *reply =
        ldr_cluster_command(r->redis, slot, err, sizeof(err),
                            "HSET %s produced %d verified %d failed %d",
                            rt_tallies_key, r->total, verified, failures);
    int redis_ok = reply && reply->type == REDIS_REPLY_INTEGER;
    freeReplyObject(reply);
    reply = redis_ok ? ldr_cluster_command(r->redis, slot, err, sizeof(err),
                                           "HGET %s verified", rt_tallies_key)
                     : NULL;
    redis_ok = reply && reply->type == REDIS_REPLY_STRING &&
               atoi(reply->str) == verified;
    freeReplyObject(reply);
    freeReplyObject(ldr_cluster_command(r->redis, slot, err, sizeof(err),
                                        "DEL %s", rt_tallies_key));
    /* The host list, never the URL: it may hold the password. */
    ldr_redis_url_t u;
    char hosts[1024] = "", cluster[48] = "";
    if (ldr_redis_url_parse(r->redis_url, &u, err, sizeof(err)) == LDR_OK)
        ldr_redis_url_hosts(&u, hosts, sizeof(hosts));
    if (ldr_cluster_enabled(r->redis))
        snprintf(cluster, sizeof(cluster), " (a cluster of %d masters)",
                 ldr_cluster_masters(r->redis));
    printf("redis: %s%s %s\n", hosts, cluster,
           redis_ok ? "stored and read back the tallies"
                    : "FAILED to store the tallies");
    return redis_ok;
}

/* Produces, reads back and records the tallies: 0 when every event was
 * verified, 1 otherwise. */
static int rt_run(rt_run_t *r) {
    if (!rt_produce(r)) return 1;
    int verified = 0, failures = 0;
    rt_read_back(r, &verified, &failures);
    bool redis_ok = rt_store_tallies(r, verified, failures);
    int rc = (verified == r->total && failures == 0 && redis_ok) ? 0 : 1;
    printf("%s\n", rc == 0 ? "round trip OK" : "round trip FAILED");
    return rc;
}

int main(int argc, char **argv) {
    if (ldr_svc_version("ladder-roundtrip", argc, argv)) return 0;
    rt_opts_t opts;
    int rc = rt_parse_opts(argc, argv, &opts);
    if (rc != RT_CONTINUE) return rc;
    rt_run_t run;
    memset(&run, 0, sizeof run);
    run.o = &opts;
    rc = rt_config(&run);
    if (rc == 0) rc = rt_setup(&run);
    if (rc == 0) rc = rt_run(&run);
    rt_run_fini(&run);
    return rc;
}
