/* poison -- produce one message for each dead-letter code, then check the
 * DLQ (a test helper for tests/integration/test_worker_dlq.sh and the fault
 * suite, tests/faults).
 *
 *   poison produce BOOTSTRAP SCHEMAS_DIR   sends the poison messages and a
 *       valid application after them; prints "sent CODE PARTITION OFFSET"
 *       lines and "sent VALID USCC" for the good one
 *   poison check BOOTSTRAP SENT_FILE        reads ladder.dlq.v1 and checks
 *       that every poison message is there exactly once, with its bytes
 *       unchanged and the contract's headers (code, message, source topic,
 *       partition, offset); exits non-zero on any difference
 *   poison mix BOOTSTRAP SCHEMAS_DIR EVENTS_CSV PERMILLE SEED SENT_FILE
 *       produces a feed file (ladder-feed's CSV, valid rows only, in file
 *       order: keyed rows to their murmur2_random partition, a tick to
 *       every partition) with, after each row, a poison message with
 *       probability PERMILLE/1000, cycling through every code and built
 *       around the row's USCC; one idempotent producer, so the offsets are
 *       known: SENT_FILE gets a "sent" line per poison message, as
 *       produce prints them, for check
 *
 * Messages are addressed to exact partitions so that every check of the
 * worker is reached: the wrong key goes to the partition of that key, the
 * wrong partition is the key's partition + 1. */
#include "ladder/codec.h"
#include "ladder/config.h"
#include "ladder/feed.h"
#include "ladder/kafka.h"
#include "ladder/uscc.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOPIC     "ladder.events.v1"
#define DLQ_TOPIC "ladder.dlq.v1"

/* Which USCC a poison message's body or key is built from: the valid one
 * it is built around, that one with a wrong check character, or another
 * valid one. */
typedef enum poison_uscc {
    POISON_NONE, /* no key */
    POISON_GOOD,
    POISON_BAD,
    POISON_OTHER,
} poison_uscc_t;

/* One dead-letter code and how its bytes are made: either fixed bytes
 * (@c raw, never keyed), or an application around @c body encoded with
 * ladder's codec after @c spoil changed it, keyed by @c key. The message
 * goes to the partition of its key (+ @c partition_shift), unkeyed ones to
 * partition 0. */
typedef struct poison_case {
    const char *code;
    const char *raw;
    size_t raw_len;
    const char *event_id;
    poison_uscc_t body, key;
    void (*spoil)(ldr_application_t *a);
    int partition_shift;
} poison_case_t;

static void spoil_batch(ldr_application_t *a) {
    a->batch = 0;
}

static void spoil_unit(ldr_application_t *a) {
    a->reporting_unit = ldr_str("99");
}

#define RAW(bytes) .raw = (bytes), .raw_len = sizeof(bytes) - 1

static const poison_case_t poison_cases[] = {
    {"BAD_FRAMING", RAW("not avro at all")},
    {"UNKNOWN_SCHEMA", RAW("\x00\x00\x00\x00\x63\x02")},
    {"DECODE_FAILED",
     RAW("\x00\x00\x00\x00\x04\x80")}, /* a ClockTick cut short */
    {"INVALID_USCC", .event_id = "p-uscc", .body = POISON_BAD,
     .key = POISON_BAD},
    {"INVALID_FIELD", .event_id = "p-field", .body = POISON_GOOD,
     .key = POISON_GOOD, .spoil = spoil_batch},
    {"UNKNOWN_REPORTING_UNIT", .event_id = "p-unit", .body = POISON_GOOD,
     .key = POISON_GOOD, .spoil = spoil_unit},
    {"KEY_MISMATCH", .event_id = "p-key", .body = POISON_GOOD,
     .key = POISON_OTHER},
    {"WRONG_PARTITION", .event_id = "p-part", .body = POISON_GOOD,
     .key = POISON_GOOD, .partition_shift = 1},
};

#define NPOISON ((int)(sizeof(poison_cases) / sizeof(poison_cases[0])))

/* A poison message as it is sent. */
typedef struct poison {
    const char *code;
    uint8_t value[4096];
    size_t len;
    char key[19];
    bool has_key;
    int32_t partition;
} poison_t;

static void die(const char *what, const char *err) {
    fprintf(stderr, "poison: %s%s%s\n", what, *err ? ": " : "", err);
    exit(2);
}

/* A Kafka client built like every ladder client (ldr_kafka_conf_new():
 * producers idempotent with the murmur2_random partitioner), with
 * @p defaults on top and @p dr as delivery report callback when not NULL.
 * The configuration is ladder-feed's: poison writes the input topic as
 * ladder-feed does. The caller destroys the client. */
static rd_kafka_t *kafka(ldr_kafka_role_t role, const char *bootstrap,
                         const ldr_kafka_prop_t *defaults, size_t ndefaults,
                         void (*dr)(rd_kafka_t *, const rd_kafka_message_t *,
                                    void *)) {
    char err[512] = "";
    ldr_config_t *cfg = ldr_config_new("ladder-feed");
    if (ldr_config_set(cfg, "kafka.bootstrap.servers", bootstrap, NULL, err,
                       sizeof(err)))
        die("", err);
    rd_kafka_conf_t *conf =
        ldr_kafka_conf_new(cfg, role, defaults, ndefaults, err, sizeof(err));
    ldr_config_destroy(cfg);
    if (!conf) die("", err);
    if (dr) rd_kafka_conf_set_dr_msg_cb(conf, dr);
    rd_kafka_t *rk = rd_kafka_new(
        role == LDR_KAFKA_CONSUMER ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER,
        conf, err, sizeof(err));
    if (!rk) die("", err);
    return rk;
}

/* The reader of the input topic and the DLQ: its own group, assigned by
 * hand, short fetch waits. */
static rd_kafka_t *reader(const char *bootstrap) {
    static const ldr_kafka_prop_t props[] = {{"group.id", "poison-check"},
                                             {"fetch.wait.max.ms", "10"}};
    return kafka(LDR_KAFKA_CONSUMER, bootstrap, props,
                 sizeof(props) / sizeof(props[0]), NULL);
}

/* Assigns every one of the @p parts partitions of @p topic to the
 * consumer @p c, from the beginning. */
static void assign_from_start(rd_kafka_t *c, const char *topic, int parts) {
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(parts);
    for (int i = 0; i < parts; i++)
        rd_kafka_topic_partition_list_add(l, topic, i)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, l);
    rd_kafka_topic_partition_list_destroy(l);
}

static int partitions_of(rd_kafka_t *rk, const char *topic) {
    char err[512] = "";
    int n = ldr_kafka_partition_count(rk, topic, 5000, err, sizeof(err));
    if (n < 0) die("no metadata", err);
    return n;
}

/* Ladder's codec over the schemas in @p schemas_dir; exits 2 when they do
 * not load. The caller destroys the codec, then *@p schemas. */
static ldr_codec_t *codec_load(const char *schemas_dir,
                               ldr_schemas_t **schemas) {
    char err[512] = "";
    *schemas = ldr_schemas_load(schemas_dir, err, sizeof(err));
    ldr_codec_t *codec =
        *schemas ? ldr_codec_new(*schemas, err, sizeof(err)) : NULL;
    if (!codec) die("", err);
    return codec;
}

static void uscc(const char *body17, char out[19]) {
    memcpy(out, body17, 17);
    out[17] = '\0';
    ldr_uscc_complete(out);
}

static ldr_application_t application(const char *u, const char *event_id) {
    ldr_application_t a;
    memset(&a, 0, sizeof(a));
    a.event_id = ldr_str(event_id);
    a.uscc = ldr_str(u);
    a.enterprise_name = ldr_str("厦门精密传感科技有限公司");
    a.reporting_unit = ldr_str("3502");
    a.tier = LDR_TIER_INNOVATIVE;
    a.batch = 1;
    a.occurred_at = 1654041600000LL;
    a.indicators.rd_institution = LDR_RD_NATIONAL;
    a.indicators.digitalization_level = 1;
    return a;
}

static void encode(ldr_codec_t *codec, const ldr_application_t *a,
                   poison_t *p) {
    ldr_record_t rec = {.kind = LDR_RECORD_APPLICATION};
    rec.u.application = *a;
    const void *out;
    char err[512];
    if (ldr_codec_encode(codec, &rec, &out, &p->len, err, sizeof(err)))
        die("", err);
    memcpy(p->value, out, p->len);
}

/* The poison messages of poison_cases, in its order, around the valid USCC
 * @p good (@p other is another valid USCC), addressed to the partitions of
 * @p parts where the worker checks them. */
static void build_poisons(ldr_codec_t *codec, const char good[19],
                          const char other[19], int parts,
                          poison_t p[NPOISON]) {
    char bad[19];
    memcpy(bad, good, 19);
    bad[17] = bad[17] == '0' ? '1' : '0'; /* a wrong check character */
    const char *const usccs[] = {
        [POISON_NONE] = NULL,
        [POISON_GOOD] = good,
        [POISON_BAD] = bad,
        [POISON_OTHER] = other,
    };
    memset(p, 0, NPOISON * sizeof(*p));
    for (int i = 0; i < NPOISON; i++) {
        const poison_case_t *c = &poison_cases[i];
        p[i].code = c->code;
        if (c->raw) {
            memcpy(p[i].value, c->raw, c->raw_len);
            p[i].len = c->raw_len;
        } else {
            ldr_application_t a = application(usccs[c->body], c->event_id);
            if (c->spoil) c->spoil(&a);
            encode(codec, &a, &p[i]);
        }
        if (c->key != POISON_NONE) {
            memcpy(p[i].key, usccs[c->key], 19);
            p[i].has_key = true;
            p[i].partition = (ldr_kafka_partition_for_key(p[i].key, 18, parts) +
                              c->partition_shift) %
                             parts;
        }
    }
}

static int produce(const char *bootstrap, const char *schemas_dir) {
    ldr_schemas_t *schemas = NULL;
    ldr_codec_t *codec = codec_load(schemas_dir, &schemas);
    rd_kafka_t *rk = kafka(LDR_KAFKA_TOOL_PRODUCER, bootstrap, NULL, 0, NULL);
    int parts = partitions_of(rk, TOPIC);
    char good[19], other[19];
    uscc("91350200MA2YN5GX1", good);
    uscc("91350200MA2YN5GX2", other);
    poison_t p[NPOISON];
    int n = NPOISON;
    build_poisons(codec, good, other, parts, p);
    int good_part = ldr_kafka_partition_for_key(good, 18, parts);
    ldr_application_t a;
    /* And a valid application after them: the stream goes on. */
    a = application(good, "valid-1");
    poison_t v = {0};
    encode(codec, &a, &v);

    for (int i = 0; i <= n; i++) {
        const poison_t *m = i < n ? &p[i] : &v;
        int32_t part = i < n ? m->partition : good_part;
        const char *key = i < n ? (m->has_key ? m->key : NULL) : good;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, TOPIC, NULL);
        if (rd_kafka_produce(rkt, part, RD_KAFKA_MSG_F_COPY, (void *)m->value,
                             m->len, key, key ? 18 : 0, NULL)) {
            fprintf(stderr, "poison: produce failed\n");
            return 2;
        }
        rd_kafka_topic_destroy(rkt);
        rd_kafka_flush(rk, 5000); /* one by one: offsets in order */
    }
    /* The offsets: read them back from the partitions' high watermarks is
     * racy; instead read the topic from the beginning and match bytes. */
    rd_kafka_t *c = reader(bootstrap);
    assign_from_start(c, TOPIC, parts);
    int found = 0;
    time_t end = time(NULL) + 15;
    while (found < n && time(NULL) < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m) continue;
        for (int i = 0; !m->err && i < n; i++)
            if (m->len == p[i].len &&
                memcmp(m->payload, p[i].value, p[i].len) == 0 &&
                m->partition == p[i].partition) {
                printf("sent %s %d %lld %zu ", p[i].code, (int)m->partition,
                       (long long)m->offset, p[i].len);
                for (size_t b = 0; b < p[i].len; b++)
                    printf("%02x", p[i].value[b]);
                printf("\n");
                found++;
            }
        rd_kafka_message_destroy(m);
    }
    printf("sent VALID %s\n", good);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    rd_kafka_destroy(rk);
    ldr_codec_destroy(codec);
    ldr_schemas_destroy(schemas);
    return found == n ? 0 : 1;
}

static int check(const char *bootstrap, const char *sent_file) {
    FILE *f = fopen(sent_file, "r");
    if (!f) {
        perror(sent_file);
        return 2;
    }
    struct want {
        char code[32];
        int partition;
        long long offset;
        size_t len;
        uint8_t bytes[4096];
        int seen;
    } *want = NULL;
    int n = 0, cap = 0;
    char line[16384];
    while (fgets(line, sizeof(line), f)) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            want = realloc(want, (size_t)cap * sizeof(*want));
        }
        char hex[9000];
        if (sscanf(line, "sent %31s %d %lld %zu %8999s", want[n].code,
                   &want[n].partition, &want[n].offset, &want[n].len, hex) != 5)
            continue;
        for (size_t b = 0; b < want[n].len; b++)
            sscanf(hex + 2 * b, "%2hhx", &want[n].bytes[b]);
        want[n].seen = 0;
        n++;
    }
    fclose(f);
    rd_kafka_t *c = reader(bootstrap);
    int parts = partitions_of(c, DLQ_TOPIC);
    assign_from_start(c, DLQ_TOPIC, parts);
    int bad = 0, total = 0;
    time_t end = time(NULL) + 20;
    while (time(NULL) < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        if (!m) {
            int all = 1;
            for (int i = 0; i < n; i++)
                all &= want[i].seen > 0;
            if (all && total) break;
            continue;
        }
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        total++;
        rd_kafka_headers_t *h = NULL;
        rd_kafka_message_headers(m, &h);
        const void *v;
        size_t vlen;
        char code[64] = "", src_part[16] = "", src_off[32] = "", topic[64] = "";
        int has_msg = 0;
#define HDR(name, dst)                                                         \
    if (h && !rd_kafka_header_get_last(h, name, &v, &vlen))                    \
        snprintf(dst, sizeof(dst), "%.*s", (int)vlen, (const char *)v);
        HDR("ladder.error.code", code)
        HDR("ladder.source.partition", src_part)
        HDR("ladder.source.offset", src_off)
        HDR("ladder.source.topic", topic)
#undef HDR
        if (h &&
            !rd_kafka_header_get_last(h, "ladder.error.message", &v, &vlen) &&
            vlen)
            has_msg = 1;
        /* The poison message this dead letter names by its source. */
        int matched = 0;
        for (int i = 0; i < n && !matched; i++) {
            if (atoi(src_part) != want[i].partition ||
                atoll(src_off) != want[i].offset)
                continue;
            matched = 1;
            want[i].seen++;
            int ok = strcmp(want[i].code, code) == 0 && m->len == want[i].len &&
                     memcmp(m->payload, want[i].bytes, want[i].len) == 0 &&
                     strcmp(topic, TOPIC) == 0 && has_msg;
            if (!ok || n <= 16)
                printf("%s %s: source %s/%s/%s, %zu bytes %s\n",
                       ok ? "ok  " : "FAIL", code, topic, src_part, src_off,
                       m->len,
                       ok ? "unchanged"
                          : "(code, bytes, topic or message differ)");
            bad += !ok;
        }
        if (!matched) {
            printf("FAIL unexpected dead letter with code '%s' from %s/%s/%s\n",
                   code, topic, src_part, src_off);
            bad++;
        }
        rd_kafka_message_destroy(m);
    }
    int codes[NPOISON] = {0};
    for (int i = 0; i < n; i++) {
        if (want[i].seen != 1) {
            printf("FAIL %s %d/%lld: seen %d times in the DLQ\n", want[i].code,
                   want[i].partition, want[i].offset, want[i].seen);
            bad++;
        }
        for (int k = 0; k < NPOISON; k++)
            if (strcmp(want[i].code, poison_cases[k].code) == 0) codes[k] = 1;
    }
    int ncodes = 0;
    for (int k = 0; k < NPOISON; k++)
        ncodes += codes[k];
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    free(want);
    printf("%d dead letters checked (%d poison messages sent, %d codes), %d "
           "problems\n",
           total, n, ncodes, bad);
    return bad || ncodes < NPOISON ? 1 : 0;
}

/* ---- mix: a feed with poison messages among its rows ------------------ */

static uint64_t rng_state;

static uint64_t rng_next(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static int mix_failed;

static void mix_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err) {
        if (!mix_failed)
            fprintf(stderr, "poison: delivery failed: %s\n",
                    rd_kafka_err2str(m->err));
        mix_failed++;
    }
}

static void mix_send(rd_kafka_t *rk, int32_t part, const char *key,
                     const void *value, size_t len) {
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(part),
            RD_KAFKA_V_KEY(key, key ? 18 : 0),
            RD_KAFKA_V_VALUE((void *)value, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 10);
            continue;
        }
        if (e) {
            fprintf(stderr, "poison: produce: %s\n", rd_kafka_err2str(e));
            exit(1);
        }
        return;
    }
}

static int mix(char **argv) {
    const char *bootstrap = argv[0], *schemas_dir = argv[1];
    long permille = atol(argv[3]);
    rng_state = (uint64_t)atoll(argv[4]) * 0x9E3779B97F4A7C15ULL + 1;
    char err[512];
    ldr_schemas_t *schemas = NULL;
    ldr_codec_t *codec = codec_load(schemas_dir, &schemas);
    FILE *in = fopen(argv[2], "r"), *sent = fopen(argv[5], "w");
    if (!in || !sent) {
        perror(!in ? argv[2] : argv[5]);
        return 2;
    }
    ldr_feed_reader_opts_t opts = {.format = LDR_FEED_CSV};
    ldr_feed_reader_t *r = ldr_feed_reader_new(in, &opts, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "poison: %s: %s\n", argv[2], err);
        return 2;
    }
    static const ldr_kafka_prop_t props[] = {
        {"linger.ms", "50"},
        {"batch.num.messages", "10000"},
        {"queue.buffering.max.messages", "1000000"}};
    rd_kafka_t *rk = kafka(LDR_KAFKA_TOOL_PRODUCER, bootstrap, props,
                           sizeof(props) / sizeof(props[0]), mix_dr);
    int parts = partitions_of(rk, TOPIC);
    /* One idempotent producer writes everything in order into an empty
     * topic, so each partition's offsets are the count sent to it. */
    int64_t *next = calloc((size_t)parts, sizeof(*next));
    uint64_t rows = 0, poisons = 0, messages = 0;
    int code = 0;
    ldr_feed_row_t row;
    for (;;) {
        if (ldr_feed_reader_next(r, &row, err, sizeof(err))) {
            fprintf(stderr, "poison: %s: %s\n", argv[2], err);
            return 1;
        }
        if (row.status == LDR_FEED_ROW_END) break;
        if (row.status != LDR_FEED_ROW_VALID) continue;
        const void *value;
        size_t len;
        if (ldr_codec_encode(codec, &row.rec, &value, &len, err, sizeof(err))) {
            fprintf(stderr, "poison: line %llu: %s\n",
                    (unsigned long long)row.line, err);
            return 1;
        }
        char good[19] = "91350200MA2YN5GX1";
        uscc("91350200MA2YN5GX1", good);
        if (row.rec.kind == LDR_RECORD_CLOCK_TICK) {
            for (int pn = 0; pn < parts; pn++) {
                mix_send(rk, pn, NULL, value, len);
                next[pn]++;
                messages++;
            }
        } else {
            ldr_str_t u = row.rec.kind == LDR_RECORD_APPLICATION
                              ? row.rec.u.application.uscc
                          : row.rec.kind == LDR_RECORD_REVIEW
                              ? row.rec.u.review.uscc
                              : row.rec.u.violation.uscc;
            if (u.len == 18) {
                memcpy(good, u.ptr, 18);
                good[18] = '\0';
            }
            int32_t pn = ldr_kafka_partition_for_key(good, 18, parts);
            mix_send(rk, pn, good, value, len);
            next[pn]++;
            messages++;
        }
        rows++;
        if ((long)(rng_next() % 1000) >= permille) continue;
        /* Another valid USCC: the same one with its 17th character
         * changed and the check character recomputed. */
        char other[19];
        memcpy(other, good, 17);
        other[16] = other[16] == '1' ? '2' : '1';
        other[17] = '\0';
        ldr_uscc_complete(other);
        poison_t p[NPOISON];
        build_poisons(codec, good, other, parts, p);
        poison_t *m = &p[code++ % NPOISON];
        if (!m->has_key) m->partition = (int32_t)(rng_next() % (uint64_t)parts);
        mix_send(rk, m->partition, m->has_key ? m->key : NULL, m->value,
                 m->len);
        fprintf(sent, "sent %s %d %lld %zu ", m->code, (int)m->partition,
                (long long)next[m->partition], m->len);
        for (size_t b = 0; b < m->len; b++)
            fprintf(sent, "%02x", m->value[b]);
        fprintf(sent, "\n");
        next[m->partition]++;
        messages++;
        poisons++;
    }
    while (rd_kafka_flush(rk, 1000) == RD_KAFKA_RESP_ERR__TIMED_OUT)
        ;
    fclose(sent);
    fclose(in);
    printf("mixed %llu rows (%llu messages) with %llu poison messages\n",
           (unsigned long long)rows, (unsigned long long)(messages - poisons),
           (unsigned long long)poisons);
    free(next);
    ldr_feed_reader_destroy(r);
    rd_kafka_destroy(rk);
    ldr_codec_destroy(codec);
    ldr_schemas_destroy(schemas);
    return mix_failed ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "produce") == 0)
        return produce(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "check") == 0)
        return check(argv[2], argv[3]);
    if (argc == 8 && strcmp(argv[1], "mix") == 0) return mix(argv + 2);
    fprintf(stderr, "usage: poison produce BOOTSTRAP SCHEMAS_DIR | poison "
                    "check BOOTSTRAP SENT_FILE | poison mix BOOTSTRAP "
                    "SCHEMAS_DIR EVENTS_CSV PERMILLE SEED SENT_FILE\n");
    return 2;
}
