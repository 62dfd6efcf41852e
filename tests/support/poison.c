/* poison -- produce one message for each dead-letter code, then check the
 * DLQ (a test helper for tests/integration/test_worker_dlq.sh).
 *
 *   poison produce BOOTSTRAP SCHEMAS_DIR   sends the poison messages and a
 *       valid application after them; prints "sent CODE PARTITION OFFSET"
 *       lines and "sent VALID USCC" for the good one
 *   poison check BOOTSTRAP SENT_FILE        reads ladder.dlq.v1 and checks
 *       that every poison message is there exactly once, with its bytes
 *       unchanged and the contract's headers (code, message, source topic,
 *       partition, offset); exits non-zero on any difference
 *
 * Messages are addressed to exact partitions so that every check of the
 * worker is reached: the wrong key goes to the partition of that key, the
 * wrong partition is the key's partition + 1. */
#include "ladder/codec.h"
#include "ladder/kafka.h"
#include "ladder/uscc.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOPIC     "ladder.events.v1"
#define DLQ_TOPIC "ladder.dlq.v1"

typedef struct poison {
    const char *code;
    uint8_t value[4096];
    size_t len;
    char key[19];
    bool has_key;
    int32_t partition;
} poison_t;

static rd_kafka_t *kafka(rd_kafka_type_t type, const char *bootstrap) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err));
    if (type == RD_KAFKA_CONSUMER) {
        rd_kafka_conf_set(conf, "group.id", "poison-check", err, sizeof(err));
        rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof(err));
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "poison: %s\n", err);
        exit(2);
    }
    return rk;
}

static int partitions_of(rd_kafka_t *rk, const char *topic) {
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 5000)) {
        fprintf(stderr, "poison: no metadata for %s\n", topic);
        exit(2);
    }
    int n = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
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
    if (ldr_codec_encode(codec, &rec, &out, &p->len, err, sizeof(err))) {
        fprintf(stderr, "poison: %s\n", err);
        exit(2);
    }
    memcpy(p->value, out, p->len);
}

static int produce(const char *bootstrap, const char *schemas_dir) {
    char err[512];
    ldr_schemas_t *schemas = ldr_schemas_load(schemas_dir, err, sizeof(err));
    ldr_codec_t *codec =
        schemas ? ldr_codec_new(schemas, err, sizeof(err)) : NULL;
    if (!codec) {
        fprintf(stderr, "poison: %s\n", err);
        return 2;
    }
    rd_kafka_t *rk = kafka(RD_KAFKA_PRODUCER, bootstrap);
    int parts = partitions_of(rk, TOPIC);
    char good[19], other[19], bad[19];
    uscc("91350200MA2YN5GX1", good);
    uscc("91350200MA2YN5GX2", other);
    memcpy(bad, good, 19);
    bad[17] = bad[17] == '0' ? '1' : '0'; /* a wrong check character */
    poison_t p[9];
    memset(p, 0, sizeof(p));
    int n = 0;
    ldr_application_t a;

    p[n].code = "BAD_FRAMING";
    memcpy(p[n].value, "not avro at all", 15);
    p[n].len = 15;
    n++;
    p[n].code = "UNKNOWN_SCHEMA";
    memcpy(p[n].value, "\x00\x00\x00\x00\x63\x02", 6);
    p[n].len = 6;
    n++;
    p[n].code = "DECODE_FAILED"; /* a ClockTick cut short */
    memcpy(p[n].value, "\x00\x00\x00\x00\x04\x80", 6);
    p[n].len = 6;
    n++;
    a = application(bad, "p-uscc");
    p[n].code = "INVALID_USCC";
    encode(codec, &a, &p[n]);
    memcpy(p[n].key, bad, 19);
    p[n].has_key = true;
    n++;
    a = application(good, "p-field");
    a.batch = 0;
    p[n].code = "INVALID_FIELD";
    encode(codec, &a, &p[n]);
    memcpy(p[n].key, good, 19);
    p[n].has_key = true;
    n++;
    a = application(good, "p-unit");
    a.reporting_unit = ldr_str("99");
    p[n].code = "UNKNOWN_REPORTING_UNIT";
    encode(codec, &a, &p[n]);
    memcpy(p[n].key, good, 19);
    p[n].has_key = true;
    n++;
    a = application(good, "p-key");
    p[n].code = "KEY_MISMATCH";
    encode(codec, &a, &p[n]);
    memcpy(p[n].key, other, 19);
    p[n].has_key = true;
    n++;
    a = application(good, "p-part");
    p[n].code = "WRONG_PARTITION";
    encode(codec, &a, &p[n]);
    memcpy(p[n].key, good, 19);
    p[n].has_key = true;
    n++;
    int good_part = ldr_kafka_partition_for_key(good, 18, parts);
    for (int i = 0; i < n; i++) {
        p[i].partition =
            !p[i].has_key ? 0
            : strcmp(p[i].code, "WRONG_PARTITION") == 0
                ? (ldr_kafka_partition_for_key(p[i].key, 18, parts) + 1) % parts
                : ldr_kafka_partition_for_key(p[i].key, 18, parts);
    }
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
    rd_kafka_t *c = kafka(RD_KAFKA_CONSUMER, bootstrap);
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(parts);
    for (int i = 0; i < parts; i++)
        rd_kafka_topic_partition_list_add(l, TOPIC, i)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, l);
    rd_kafka_topic_partition_list_destroy(l);
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
    struct {
        char code[32];
        int partition;
        long long offset;
        size_t len;
        uint8_t bytes[4096];
        int seen;
    } want[16];
    int n = 0;
    char line[16384];
    while (n < 16 && fgets(line, sizeof(line), f)) {
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
    rd_kafka_t *c = kafka(RD_KAFKA_CONSUMER, bootstrap);
    int parts = partitions_of(c, DLQ_TOPIC);
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(parts);
    for (int i = 0; i < parts; i++)
        rd_kafka_topic_partition_list_add(l, DLQ_TOPIC, i)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, l);
    rd_kafka_topic_partition_list_destroy(l);
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
        int matched = 0;
        for (int i = 0; i < n; i++) {
            if (strcmp(want[i].code, code) != 0) continue;
            matched = 1;
            want[i].seen++;
            int ok = m->len == want[i].len &&
                     memcmp(m->payload, want[i].bytes, want[i].len) == 0 &&
                     atoi(src_part) == want[i].partition &&
                     atoll(src_off) == want[i].offset &&
                     strcmp(topic, TOPIC) == 0 && has_msg;
            printf("%s %s: source %s/%s/%s, %zu bytes %s\n",
                   ok ? "ok  " : "FAIL", code, topic, src_part, src_off, m->len,
                   ok ? "unchanged" : "(bytes, source or message differ)");
            bad += !ok;
        }
        if (!matched) {
            printf("FAIL unexpected dead letter with code '%s'\n", code);
            bad++;
        }
        rd_kafka_message_destroy(m);
    }
    for (int i = 0; i < n; i++)
        if (want[i].seen != 1) {
            printf("FAIL %s: seen %d times in the DLQ\n", want[i].code,
                   want[i].seen);
            bad++;
        }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    printf("%d dead letters checked, %d problems\n", total, bad);
    return bad || n < 8 ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "produce") == 0)
        return produce(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "check") == 0)
        return check(argv[2], argv[3]);
    fprintf(stderr, "usage: poison produce BOOTSTRAP SCHEMAS_DIR | poison "
                    "check BOOTSTRAP SENT_FILE\n");
    return 2;
}
