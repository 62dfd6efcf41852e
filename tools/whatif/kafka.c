/* kafka.c -- ladder-whatif's history read back from the input topic
 * (--from-kafka), and the topic's partition count.
 *
 * DESIGN: the register a worker rebuilds from empty Redis is a function of
 * the whole log, so a what-if of it must read every partition from offset
 * 0; a log whose head was evicted or deleted gives a different register,
 * and the replay is refused unless --allow-partial says that is wanted
 * (then the lost messages are counted and said). The consumer assigns the
 * partitions itself (it joins no group and commits nothing) and reads each
 * to the end it had when the replay began. Each message is decoded with
 * the project's codec and handed to the replay with its partition and key,
 * so the worker's checks apply: what does not decode, or is keyed to
 * another partition, is rejected as the worker would dead-letter it. */
#include "whatif_int.h"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

#include "ladder/alloc.h"
#include "ladder/codec.h"
#include "ladder/kafka.h"
#include "ladder/registry.h"
#include "ladder/svc.h"

#define WI_KAFKA_TIMEOUT_MS 10000

struct wi_kafka {
    const ldr_config_t *cfg;
    const char *topic;
    rd_kafka_t *rk;
    ldr_schemas_t *schemas;
    ldr_registry_t *registry;
    ldr_codec_t *codec;
    int parts;
    int64_t *lo, *end, *next;
};

static const ldr_kafka_prop_t wk_props[] = {
    {"client.id", "ladder-whatif"},
    {"group.id", "ladder-whatif"}, /* required; never joined */
    {"enable.auto.commit", "false"},
    {"enable.auto.offset.store", "false"},
    {"auto.offset.reset", "earliest"},
    {"enable.partition.eof", "false"},
};

wi_kafka_t *wi_kafka_open(const ldr_config_t *cfg, bool decode, char *errstr,
                          size_t errstr_size) {
    if (!ldr_config_get(cfg, "kafka.bootstrap.servers")) {
        snprintf(errstr, errstr_size,
                 "kafka.bootstrap.servers is not set "
                 "(LADDER_KAFKA_BOOTSTRAP_SERVERS or --config FILE)");
        return NULL;
    }
    wi_kafka_t *k = ldr_calloc(1, sizeof *k);
    k->cfg = cfg;
    k->topic = ldr_config_get(cfg, "input.topic");
    if (decode) {
        k->schemas =
            ldr_svc_schemas_load(cfg, false, &k->registry, errstr, errstr_size);
        if (k->schemas)
            k->codec = ldr_codec_new(k->schemas, errstr, errstr_size);
        if (!k->codec) goto fail;
    }
    rd_kafka_conf_t *conf = ldr_kafka_conf_new(cfg, LDR_KAFKA_CONSUMER, NULL, 0,
                                               errstr, errstr_size);
    if (conf &&
        ldr_kafka_conf_set(conf, wk_props, sizeof wk_props / sizeof wk_props[0],
                           errstr, errstr_size)) {
        rd_kafka_conf_destroy(conf);
        conf = NULL;
    }
    if (!conf) goto fail;
    k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
    if (!k->rk) {
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    rd_kafka_poll_set_consumer(k->rk);
    return k;
fail:
    wi_kafka_close(k);
    return NULL;
}

void wi_kafka_close(wi_kafka_t *k) {
    if (!k) return;
    if (k->rk) {
        rd_kafka_consumer_close(k->rk);
        rd_kafka_destroy(k->rk);
    }
    ldr_codec_destroy(k->codec);
    ldr_schemas_destroy(k->schemas);
    ldr_registry_destroy(k->registry);
    free(k->lo);
    free(k->end);
    free(k->next);
    free(k);
}

int wi_kafka_partitions(wi_kafka_t *k, char *errstr, size_t errstr_size) {
    if (!k->parts)
        k->parts = ldr_kafka_partition_count(
            k->rk, k->topic, WI_KAFKA_TIMEOUT_MS, errstr, errstr_size);
    return k->parts;
}

/* Each partition's log start and end as of now: true, or false with the
 * reason in @p errstr. */
static bool kafka_bounds(wi_kafka_t *k, char *errstr, size_t errstr_size) {
    if (wi_kafka_partitions(k, errstr, errstr_size) < 1) return false;
    k->lo = ldr_calloc((size_t)k->parts, sizeof *k->lo);
    k->end = ldr_calloc((size_t)k->parts, sizeof *k->end);
    k->next = ldr_calloc((size_t)k->parts, sizeof *k->next);
    if (ldr_kafka_log_bounds(k->rk, k->topic, k->parts, k->lo, k->end,
                             WI_KAFKA_TIMEOUT_MS, errstr, errstr_size))
        return false;
    for (int p = 0; p < k->parts; p++)
        k->next[p] = k->lo[p];
    return true;
}

/* The partitions whose log no longer starts at 0, listed into @p buf; how
 * many. */
static int kafka_partial(const wi_kafka_t *k, char *buf, size_t n) {
    int count = 0;
    size_t used = 0;
    buf[0] = '\0';
    for (int p = 0; p < k->parts; p++) {
        if (!k->lo[p]) continue;
        int w = snprintf(buf + used, used < n ? n - used : 0,
                         "%s%s/%d starts at offset %lld", count ? ", " : "",
                         k->topic, p, (long long)k->lo[p]);
        if (w > 0) used += (size_t)w;
        if (used >= n) used = n - 1;
        count++;
    }
    return count;
}

static void kafka_pause(wi_kafka_t *k, int p) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, k->topic, p);
    rd_kafka_pause_partitions(k->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

/* Hands one message of the assigned range to the replay, counting a gap
 * before it as lost, and pauses its partition at the end. */
static void kafka_take(wi_kafka_t *k, wi_replay_t *r, rd_kafka_message_t *m,
                       uint64_t *lost) {
    int p = m->partition;
    if (m->err || p < 0 || p >= k->parts || m->offset < k->next[p] ||
        k->next[p] >= k->end[p])
        return;
    if (m->offset > k->next[p]) *lost += (uint64_t)(m->offset - k->next[p]);
    k->next[p] = m->offset + 1;
    ldr_record_t rec;
    char err[512];
    if (ldr_codec_decode(k->codec, m->payload, m->len, &rec, NULL, err,
                         sizeof err) ||
        rec.kind == LDR_RECORD_DECISION) {
        /* a dead letter to the worker: counted, the clock unmoved */
        r->events++;
        r->rejected++;
        snprintf(r->last_reject, sizeof r->last_reject, "%s", err);
    } else {
        wi_replay_record(r, &rec, p, m->key, m->key_len);
    }
    if (k->next[p] >= k->end[p]) kafka_pause(k, p);
}

int wi_kafka_replay(wi_kafka_t *k, wi_replay_t *r, bool allow_partial,
                    volatile sig_atomic_t *stop, char *errstr,
                    size_t errstr_size) {
    if (!kafka_bounds(k, errstr, errstr_size)) return 3;
    char list[2048];
    if (kafka_partial(k, list, sizeof list)) {
        if (!allow_partial) {
            snprintf(errstr, errstr_size,
                     "refused: the input log no longer starts at offset 0, "
                     "so it cannot give the register back: %s (give "
                     "--allow-partial to replay what is left)",
                     list);
            return 3;
        }
        fprintf(stderr,
                "ladder-whatif: warning: partial replay, the first messages "
                "are gone: %s\n",
                list);
    }
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(k->parts);
    for (int p = 0; p < k->parts; p++)
        if (k->next[p] < k->end[p])
            rd_kafka_topic_partition_list_add(l, k->topic, p)->offset =
                k->next[p];
    rd_kafka_resp_err_t kerr = rd_kafka_assign(k->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (kerr) {
        snprintf(errstr, errstr_size, "assign %s: %s", k->topic,
                 rd_kafka_err2str(kerr));
        return 3;
    }
    uint64_t lost = 0;
    for (;;) {
        bool done = true;
        for (int p = 0; p < k->parts && done; p++)
            done = k->next[p] >= k->end[p];
        if (done || *stop) break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, 100);
        if (!m) continue;
        kafka_take(k, r, m, &lost);
        rd_kafka_message_destroy(m);
    }
    if (*stop) return 3;
    if (lost)
        fprintf(stderr,
                "ladder-whatif: warning: %llu messages were gone from the "
                "middle of the log\n",
                (unsigned long long)lost);
    return 0;
}
