/* kafka.c -- see kafka.h.
 *
 * DESIGN: librdkafka errors stop here: produce and flush translate them
 * into ldr_err_t and a line of text. The delivery-report callback only
 * counts (and keeps the first error's text), so the counters are exact and
 * cheap. A fatal error is noticed in the error callback; librdkafka then
 * fails every queued and in-flight message through the delivery reports,
 * so "delivered == produced" stays the one test of success. */
#include "ladder/kafka.h"

#include "ladder/clock.h"
#include "ladder/alloc.h"
#include "ladder/log.h"
#include "ladder/redact.h"

#include <stdbool.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ldr_kafka_producer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    int partitions;
    uint64_t produced, delivered, failed;
    unsigned since_poll;
    int fatal;
    char first_error[512];
    /* the fatal error's text: it names the cause whatever delivery report
     * came before it, so the caller always learns the producer is dead */
    char fatal_error[512];
};

static _Thread_local ldr_err_t kafka_new_error = LDR_OK;

ldr_err_t ldr_kafka_producer_new_error(void) {
    return kafka_new_error;
}

static void kafka_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque) {
    (void)rk;
    ldr_kafka_producer_t *p = opaque;
    if (!m->err) {
        p->delivered++;
        return;
    }
    p->failed++;
    if (!p->first_error[0])
        snprintf(p->first_error, sizeof p->first_error, "%s",
                 rd_kafka_err2str(m->err));
}

static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason,
                           void *opaque) {
    ldr_kafka_producer_t *p = opaque;
    if (err != RD_KAFKA_RESP_ERR__FATAL) return; /* librdkafka retries */
    char why[256];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
    p->fatal = 1;
    snprintf(p->fatal_error, sizeof p->fatal_error, "fatal error: %s (%s)",
             orig ? why : reason, rd_kafka_err2name(orig));
}

/* librdkafka's own log lines, through ladder's logger. kafka.* keys go to
 * every client, so each warns about the others' properties (CONFWARN):
 * that is expected, and only shown at debug level. */
static void kafka_log(int level, const char *fac, const char *buf) {
    /* A line may name a URL (a proxy, a token endpoint) with a password
     * in it; the redaction runs only for lines that are written. */
    char shown[LDR_LOG_LINE_MAX];
    if (strcmp(fac, "CONFWARN") == 0 || level >= 6)
        LDR_LOG_DEBUG("rdkafka: %s: %s", fac,
                      ldr_redact_url(buf, shown, sizeof shown));
    else if (level >= 4)
        LDR_LOG_WARN("rdkafka: %s: %s", fac,
                     ldr_redact_url(buf, shown, sizeof shown));
    else
        LDR_LOG_ERROR("rdkafka: %s: %s", fac,
                      ldr_redact_url(buf, shown, sizeof shown));
}

static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                         const char *buf) {
    (void)rk;
    kafka_log(level, fac, buf);
}

/* A command-line tool's errors are one line each: librdkafka's own lines
 * (connection refused, retries) would be noise on them, and what matters
 * reaches the caller as an error or a delivery failure. They remain
 * visible at log.level debug. */
static void kafka_log_quiet_cb(const rd_kafka_t *rk, int level, const char *fac,
                               const char *buf) {
    (void)rk;
    char shown[LDR_LOG_LINE_MAX];
    LDR_LOG_DEBUG("rdkafka: %d %s: %s", level, fac,
                  ldr_redact_url(buf, shown, sizeof shown));
}

/* Every producer: the contract's partitioner and idempotence (CONTRACT.md),
 * applied last, so a kafka.* key cannot change them. */
static const ldr_kafka_prop_t kafka_required[] = {
    {"enable.idempotence", "true"},
    {"partitioner", "murmur2_random"},
};

/* Every producer's defaults, before the kafka.* keys (PITFALLS.md: the
 * embedded cluster wants well-filled batches). */
static const ldr_kafka_prop_t kafka_producer_defaults[] = {
    {"linger.ms", "20"},
    {"batch.num.messages", "10000"},
};

/* Every consumer's defaults (PITFALLS.md: the range assignor with eager
 * rebalancing is the safe one in librdkafka 2.0.2; a group that finds no
 * committed offset reads from the beginning, as the contract says). */
static const ldr_kafka_prop_t kafka_consumer_defaults[] = {
    {"auto.offset.reset", "earliest"},
    {"partition.assignment.strategy", "range"},
};

static ldr_err_t kafka_conf_set_one(void *opaque, const char *prop,
                                    const char *value, char *why,
                                    size_t why_size) {
    return rd_kafka_conf_set(opaque, prop, value, why, why_size) ==
                   RD_KAFKA_CONF_OK
               ? LDR_OK
               : LDR_ERR_CONFIG;
}

ldr_err_t ldr_kafka_conf_set(rd_kafka_conf_t *conf,
                             const ldr_kafka_prop_t *props, size_t n,
                             char *errstr, size_t errstr_size) {
    for (size_t i = 0; i < n; i++) {
        char why[512];
        if (rd_kafka_conf_set(conf, props[i].key, props[i].value, why,
                              sizeof(why)) != RD_KAFKA_CONF_OK)
            return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                               "kafka: %s=%s: %s", props[i].key, props[i].value,
                               why);
    }
    return LDR_OK;
}

ldr_err_t ldr_kafka_conf_apply(const ldr_config_t *cfg, rd_kafka_conf_t *conf,
                               char *errstr, size_t errstr_size) {
    return ldr_config_each_kafka(cfg, kafka_conf_set_one, conf, errstr,
                                 errstr_size);
}

rd_kafka_conf_t *ldr_kafka_conf_new(const ldr_config_t *cfg,
                                    ldr_kafka_role_t role,
                                    const ldr_kafka_prop_t *defaults,
                                    size_t ndefaults, char *errstr,
                                    size_t errstr_size) {
    bool producer = role != LDR_KAFKA_CONSUMER;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ldr_kafka_prop_t client_id = {"client.id", ldr_config_program(cfg)};
    rd_kafka_conf_set_log_cb(conf, role == LDR_KAFKA_TOOL_PRODUCER
                                       ? kafka_log_quiet_cb
                                       : kafka_log_cb);
    if (ldr_kafka_conf_set(conf, &client_id, 1, errstr, errstr_size) ||
        (producer ? ldr_kafka_conf_set(conf, kafka_producer_defaults,
                                       LDR_ARRAY_SIZE(kafka_producer_defaults),
                                       errstr, errstr_size)
                  : ldr_kafka_conf_set(conf, kafka_consumer_defaults,
                                       LDR_ARRAY_SIZE(kafka_consumer_defaults),
                                       errstr, errstr_size)) ||
        ldr_kafka_conf_set(conf, defaults, ndefaults, errstr, errstr_size) ||
        ldr_kafka_conf_apply(cfg, conf, errstr, errstr_size))
        goto fail;
    if (producer) {
        /* A kafka.* key that asks for another partitioner or no
         * idempotence is refused, not silently overridden. */
        for (size_t i = 0; i < LDR_ARRAY_SIZE(kafka_required); i++) {
            char key[64];
            snprintf(key, sizeof key, "kafka.%s", kafka_required[i].key);
            const char *v = ldr_config_get(cfg, key);
            if (v && strcmp(v, kafka_required[i].value) != 0) {
                ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                            "%s (from %s): must be %s for ladder's topics "
                            "(CONTRACT.md)",
                            key, ldr_config_origin(cfg, key),
                            kafka_required[i].value);
                goto fail;
            }
        }
        if (ldr_kafka_conf_set(conf, kafka_required,
                               LDR_ARRAY_SIZE(kafka_required), errstr,
                               errstr_size))
            goto fail;
    } else {
        const char *group = ldr_config_get(cfg, "group.id");
        if (group &&
            ldr_kafka_conf_set(conf, &(ldr_kafka_prop_t){"group.id", group}, 1,
                               errstr, errstr_size))
            goto fail;
    }
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

ldr_kafka_producer_t *ldr_kafka_producer_new(const ldr_config_t *cfg,
                                             const char *topic, int timeout_ms,
                                             char *errstr, size_t n) {
    char err[512];
    kafka_new_error = LDR_ERR_CONFIG;
    const char *bootstrap = ldr_config_get(cfg, "kafka.bootstrap.servers");
    if (!bootstrap || !*bootstrap) {
        ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                    "kafka.bootstrap.servers is not set: start the embedded "
                    "cluster with build/bin/ladder-kafka and pass the list it "
                    "prints (kafka.bootstrap.servers in --config, or "
                    "LADDER_KAFKA_BOOTSTRAP_SERVERS)");
        return NULL;
    }
    /* The input topic's producers may queue a whole feed. */
    static const ldr_kafka_prop_t input_defaults[] = {
        {"queue.buffering.max.messages", "1000000"},
        {"queue.buffering.max.kbytes", "1048576"},
        {"compression.codec", "none"},
    };
    rd_kafka_conf_t *conf =
        ldr_kafka_conf_new(cfg, LDR_KAFKA_TOOL_PRODUCER, input_defaults,
                           LDR_ARRAY_SIZE(input_defaults), errstr, n);
    if (!conf) return NULL;
    ldr_kafka_producer_t *p = ldr_calloc(1, sizeof *p);
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, kafka_dr_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!p->rk) { /* conf is still ours */
        rd_kafka_conf_destroy(conf);
        ldr_err_set(errstr, n, LDR_ERR_CONFIG, "kafka: %s", err);
        free(p);
        return NULL;
    }
    p->rkt = rd_kafka_topic_new(p->rk, topic, NULL);

    /* The partition count, which also proves the cluster is reachable.
     * Metadata for a topic that is still being created has no partitions:
     * ask again until the deadline. */
    kafka_new_error = LDR_ERR_TRANSIENT;
    int64_t deadline = ldr_clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 1);
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        int64_t left = deadline - ldr_clock_mono_ms();
        rd_kafka_resp_err_t kerr = rd_kafka_metadata(
            p->rk, 0, p->rkt, &md, (int)(left > 0 ? left : 1));
        if (!kerr && md->topic_cnt == 1 && !md->topics[0].err &&
            md->topics[0].partition_cnt > 0) {
            p->partitions = md->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(md);
            break;
        }
        if (!kerr && md->topic_cnt == 1 && md->topics[0].err) {
            kerr = md->topics[0].err;
            if (kerr != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
                kerr != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
                kafka_new_error = LDR_ERR_CONFIG;
        }
        if (md) rd_kafka_metadata_destroy(md);
        if (ldr_clock_mono_ms() >= deadline ||
            kafka_new_error == LDR_ERR_CONFIG) {
            char shown[512];
            ldr_err_set(
                errstr, n, kafka_new_error,
                "kafka: no partitions of topic %s from %s within %d ms (%s): "
                "is the cluster running?",
                topic, ldr_redact_url(bootstrap, shown, sizeof shown),
                timeout_ms,
                rd_kafka_err2str(kerr ? kerr : RD_KAFKA_RESP_ERR__TIMED_OUT));
            ldr_kafka_producer_destroy(p);
            return NULL;
        }
        ldr_clock_sleep_ms(100);
    }
    kafka_new_error = LDR_OK;
    return p;
}

int ldr_kafka_producer_partitions(const ldr_kafka_producer_t *p) {
    return p->partitions;
}

ldr_err_t ldr_kafka_produce(ldr_kafka_producer_t *p, const void *key,
                            size_t key_len, int32_t partition,
                            const void *value, size_t len, char *errstr,
                            size_t n) {
    for (;;) {
        if (p->fatal)
            return ldr_err_set(errstr, n, LDR_ERR_TRANSIENT, "kafka: %s",
                               p->fatal_error);
        if (rd_kafka_produce(p->rkt,
                             partition < 0 ? RD_KAFKA_PARTITION_UA : partition,
                             RD_KAFKA_MSG_F_COPY, (void *)value, len, key,
                             key ? key_len : 0, NULL) == 0)
            break;
        rd_kafka_resp_err_t kerr = rd_kafka_last_error();
        if (kerr != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                               "kafka: produce: %s", rd_kafka_err2str(kerr));
        /* The queue is full: serve delivery reports until there is room. */
        rd_kafka_poll(p->rk, 10);
    }
    p->produced++;
    /* Serve delivery reports now and then; each poll is cheap. */
    if (++p->since_poll >= 1000) {
        p->since_poll = 0;
        rd_kafka_poll(p->rk, 0);
    }
    return LDR_OK;
}

ldr_err_t ldr_kafka_produce_record(ldr_kafka_producer_t *p, ldr_codec_t *codec,
                                   const ldr_record_t *rec, char *errstr,
                                   size_t n) {
    ldr_str_t key = {NULL, 0};
    switch (rec->kind) {
    case LDR_RECORD_APPLICATION: key = rec->u.application.uscc; break;
    case LDR_RECORD_REVIEW: key = rec->u.review.uscc; break;
    case LDR_RECORD_VIOLATION: key = rec->u.violation.uscc; break;
    case LDR_RECORD_CLOCK_TICK: break;
    default:
        return ldr_err_set(errstr, n, LDR_ERR_INVALID_ARG,
                           "kafka: only input records go to the input topic");
    }
    const void *bytes;
    size_t len;
    ldr_err_t err = ldr_codec_encode(codec, rec, &bytes, &len, errstr, n);
    if (err) return err;
    if (rec->kind != LDR_RECORD_CLOCK_TICK)
        return ldr_kafka_produce(p, key.ptr, key.len, -1, bytes, len, errstr,
                                 n);
    for (int part = 0; part < p->partitions; part++) {
        err = ldr_kafka_produce(p, NULL, 0, part, bytes, len, errstr, n);
        if (err) return err;
    }
    return LDR_OK;
}

ldr_err_t ldr_kafka_producer_flush(ldr_kafka_producer_t *p, int timeout_ms,
                                   char *errstr, size_t n) {
    rd_kafka_flush(p->rk, timeout_ms);
    rd_kafka_poll(p->rk, 0);
    uint64_t pending = p->produced - p->delivered - p->failed;
    if (p->failed == 0 && pending == 0) return LDR_OK;
    /* A fatal error is the cause of every failure it brings: name it even
     * when a failed delivery report was served before the error callback. */
    const char *why = p->fatal ? p->fatal_error : p->first_error;
    return ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                       "kafka: %llu of %llu messages not acknowledged (%llu "
                       "failed, %llu still pending)%s%s",
                       (unsigned long long)(p->failed + pending),
                       (unsigned long long)p->produced,
                       (unsigned long long)p->failed,
                       (unsigned long long)pending, why[0] ? ": " : "", why);
}

uint64_t ldr_kafka_producer_produced(const ldr_kafka_producer_t *p) {
    return p->produced;
}

uint64_t ldr_kafka_producer_delivered(const ldr_kafka_producer_t *p) {
    return p->delivered;
}

uint64_t ldr_kafka_producer_failed(const ldr_kafka_producer_t *p) {
    return p->failed;
}

void ldr_kafka_producer_poll(ldr_kafka_producer_t *p) {
    rd_kafka_poll(p->rk, 0);
}

void ldr_kafka_producer_destroy(ldr_kafka_producer_t *p) {
    if (!p) return;
    if (p->rk) {
        /* Drop what was not flushed, so destroy does not wait for it. */
        rd_kafka_purge(p->rk,
                       RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(p->rk, 0);
    }
    if (p->rkt) rd_kafka_topic_destroy(p->rkt);
    if (p->rk) rd_kafka_destroy(p->rk);
    free(p);
}

int32_t ldr_kafka_partition_for_key(const void *key, size_t len,
                                    int partitions) {
    return rd_kafka_msg_partitioner_murmur2_random(NULL, key, len, partitions,
                                                   NULL, NULL);
}

int ldr_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms,
                              char *errstr, size_t n) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t kerr = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    rd_kafka_topic_destroy(rkt);
    int count = -1;
    if (kerr)
        ldr_err_set(errstr, n, LDR_ERR_TRANSIENT, "topic %s: %s", topic,
                    rd_kafka_err2str(kerr));
    else if (md->topic_cnt != 1 || md->topics[0].err)
        ldr_err_set(errstr, n, LDR_ERR_CONFIG, "topic %s: %s", topic,
                    rd_kafka_err2str(md->topics[0].err));
    else
        count = md->topics[0].partition_cnt;
    if (md) rd_kafka_metadata_destroy(md);
    return count;
}

int ldr_kafka_log_bounds(rd_kafka_t *rk, const char *topic, int parts,
                         int64_t *lo, int64_t *hi, int timeout_ms, char *errstr,
                         size_t n) {
    int64_t until = ldr_clock_mono_ms() + timeout_ms;
    int64_t *into[2] = {lo, hi};
    /* ListOffsets reads a timestamp of -2 as the log start, -1 as its end */
    const int64_t marker[2] = {RD_KAFKA_OFFSET_BEGINNING, RD_KAFKA_OFFSET_END};
    for (int b = 0; b < 2; b++) {
        if (!into[b]) continue;
        rd_kafka_topic_partition_list_t *l =
            rd_kafka_topic_partition_list_new(parts);
        for (int p = 0; p < parts; p++)
            rd_kafka_topic_partition_list_add(l, topic, p)->offset = marker[b];
        int64_t left = until - ldr_clock_mono_ms();
        rd_kafka_resp_err_t kerr =
            rd_kafka_offsets_for_times(rk, l, left > 0 ? (int)left : 0);
        for (int i = 0; !kerr && i < l->cnt; i++) {
            const rd_kafka_topic_partition_t *tp = &l->elems[i];
            if (tp->err) {
                ldr_err_set(errstr, n, LDR_ERR_TRANSIENT, "log %s of %s/%d: %s",
                            b ? "end" : "start", topic, (int)tp->partition,
                            rd_kafka_err2str(tp->err));
                rd_kafka_topic_partition_list_destroy(l);
                return -1;
            }
            into[b][tp->partition] = tp->offset;
        }
        rd_kafka_topic_partition_list_destroy(l);
        if (kerr) {
            ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                        "log %s of %s (%d partitions): %s",
                        b ? "ends" : "starts", topic, parts,
                        rd_kafka_err2str(kerr));
            return -1;
        }
    }
    return 0;
}
