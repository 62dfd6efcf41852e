/* bench_ceiling.c -- ladder-bench's two reference ceilings and the Kafka and
 * Redis helpers the driver shares with them.
 *
 * DESIGN: a ceiling answers "how fast could anything go here?" for one
 * design choice, on the same machine, over the same input messages, in the
 * same run as the worker:
 *
 * - passthrough: consume, decode with ladder's codec, encode again and
 *   produce to a topic. No Redis and no rules: what Kafka and the codec
 *   alone allow, the upper bound of any worker.
 * - one Redis script per event: the straightforward design, where a Lua
 *   script applies each event (read the enterprise's hash field, write it
 *   back, append a decision to a stream, set the partition's next offset),
 *   called with EVALSHA and pipelined BN_SCRIPT_PIPELINE calls per round
 *   trip. Its script does less than the real rules, so it is an upper
 *   bound for that design; Redis, single-threaded, is what limits it
 *   (PITFALLS.md).
 *
 * Both assign the input partitions directly (no group join is timed) and
 * stop at the end offsets they are given; a message that cannot be fetched
 * (offset out of range: the embedded cluster evicted it) fails the
 * ceiling instead of shrinking it silently. */
#include "bench.h"

#include "ladder/alloc.h"
#include "ladder/kafka.h"
#include "ladder/cluster.h"
#include "ladder/redis.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rd_kafka_t *bn_kafka_new(const ldr_config_t *cfg, rd_kafka_type_t type,
                         const ldr_kafka_prop_t *extra, size_t nextra,
                         void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *,
                                       void *),
                         void *opaque, char *errstr, size_t n) {
    /* The builder gives the worker's defaults (producer: linger.ms 20,
     * batch.num.messages 10000 and the contract's partitioner and
     * idempotence; consumer: earliest, the range assignor); these are the
     * bench's own, before the kafka.* keys. */
    static const ldr_kafka_prop_t consumer[] = {
        {"enable.auto.commit", "false"},
        {"enable.partition.eof", "false"},
        {"group.id", "ladder-bench"}, /* required; never joined */
    };
    bool producer = type == RD_KAFKA_PRODUCER;
    ldr_kafka_prop_t props[LDR_ARRAY_SIZE(consumer) + 4];
    size_t nprops = 0;
    if (!producer)
        for (size_t i = 0; i < LDR_ARRAY_SIZE(consumer); i++)
            props[nprops++] = consumer[i];
    for (size_t i = 0; i < nextra && nprops < LDR_ARRAY_SIZE(props); i++)
        props[nprops++] = extra[i];
    rd_kafka_conf_t *conf = ldr_kafka_conf_new(
        cfg, producer ? LDR_KAFKA_PRODUCER : LDR_KAFKA_CONSUMER, props, nprops,
        errstr, n);
    if (!conf) return NULL;
    if (dr_cb) rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, n);
    if (!rk) {
        rd_kafka_conf_destroy(conf); /* still ours when rd_kafka_new fails */
        return NULL;
    }
    if (type == RD_KAFKA_CONSUMER) rd_kafka_poll_set_consumer(rk);
    return rk;
}

int bn_redis_info(redisContext *c, const char *section, const char *field,
                  double *out) {
    redisReply *r = redisCommand(c, "INFO %s", section);
    int rc = -1;
    if (r && r->type == REDIS_REPLY_STRING) {
        size_t flen = strlen(field);
        for (const char *p = r->str; p && *p;) {
            if (!strncmp(p, field, flen) && p[flen] == ':') {
                *out = strtod(p + flen + 1, NULL);
                rc = 0;
                break;
            }
            p = strchr(p, '\n');
            if (p) p++;
        }
    }
    if (r) freeReplyObject(r);
    return rc;
}

/* ---- the shared consumer ------------------------------------------------ */

typedef struct bn_reader {
    rd_kafka_t *rk;
    const bn_ceiling_args_t *a;
    uint64_t total, seen;
    double first_s;
} bn_reader_t;

static int bn_reader_open(bn_reader_t *rd, const bn_ceiling_args_t *a,
                          char *errstr, size_t n) {
    static const ldr_kafka_prop_t extra[] = {
        {"fetch.wait.max.ms", BN_FETCH_WAIT_MS}};
    memset(rd, 0, sizeof(*rd));
    rd->a = a;
    rd->first_s = -1;
    rd->rk = bn_kafka_new(a->cfg, RD_KAFKA_CONSUMER, extra, 1, NULL, NULL,
                          errstr, n);
    if (!rd->rk) return -1;
    rd_kafka_topic_partition_list_t *tpl =
        rd_kafka_topic_partition_list_new(a->partitions);
    for (int p = 0; p < a->partitions; p++) {
        rd->total += (uint64_t)a->end[p];
        if (a->end[p] > 0)
            rd_kafka_topic_partition_list_add(tpl, a->input_topic, p)->offset =
                0;
    }
    rd_kafka_resp_err_t kerr = rd_kafka_assign(rd->rk, tpl);
    rd_kafka_topic_partition_list_destroy(tpl);
    if (kerr) {
        snprintf(errstr, n, "assign %s: %s", a->input_topic,
                 rd_kafka_err2str(kerr));
        return -1;
    }
    return 0;
}

/* The next input message within the end offsets, NULL after a timeout
 * (*failed stays 0) or on an error (*failed = 1, errstr set). The caller
 * destroys the message. */
static rd_kafka_message_t *bn_reader_next(bn_reader_t *rd, int timeout_ms,
                                          int *failed, char *errstr, size_t n) {
    for (;;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rd->rk, timeout_ms);
        if (!m) return NULL;
        if (m->err) {
            snprintf(errstr, n, "reading %s [%d] at %lld: %s",
                     rd->a->input_topic, (int)m->partition,
                     (long long)m->offset, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            *failed = 1;
            return NULL;
        }
        if (m->partition < 0 || m->partition >= rd->a->partitions ||
            m->offset >= rd->a->end[m->partition]) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (rd->first_s < 0) rd->first_s = ldr_clock_mono_s();
        rd->seen++;
        return m;
    }
}

static void bn_reader_close(bn_reader_t *rd) {
    if (!rd->rk) return;
    rd_kafka_consumer_close(rd->rk);
    rd_kafka_destroy(rd->rk);
    rd->rk = NULL;
}

/* ---- passthrough ----------------------------------------------------------
 */

typedef struct bn_pt_counts {
    uint64_t delivered, failed;
    char first_error[256];
} bn_pt_counts_t;

static void bn_pt_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *op) {
    (void)rk;
    bn_pt_counts_t *c = op;
    if (m->err) {
        if (!c->failed)
            snprintf(c->first_error, sizeof(c->first_error), "%s",
                     rd_kafka_err2str(m->err));
        c->failed++;
    } else {
        c->delivered++;
    }
}

int bn_ceiling_passthrough(const bn_ceiling_args_t *a, bn_ceiling_result_t *r,
                           char *errstr, size_t n) {
    bn_reader_t rd;
    bn_pt_counts_t counts = {0};
    rd_kafka_t *prod = NULL;
    int rc = -1, failed = 0;
    memset(r, 0, sizeof(*r));
    if (bn_reader_open(&rd, a, errstr, n)) goto out;
    /* the worker's decisions producer's linger (kafka.h) */
    static const ldr_kafka_prop_t pt[] = {
        {"linger.ms", LDR_KAFKA_STEP_LINGER_MS}};
    prod = bn_kafka_new(a->cfg, RD_KAFKA_PRODUCER, pt, 1, bn_pt_dr, &counts,
                        errstr, n);
    if (!prod) goto out;
    double last_seen_s = ldr_clock_mono_s();
    while (rd.seen < rd.total) {
        if (*a->stop) {
            snprintf(errstr, n, "interrupted");
            goto out;
        }
        rd_kafka_message_t *m = bn_reader_next(&rd, 100, &failed, errstr, n);
        if (!m) {
            if (failed) goto out;
            if (ldr_clock_mono_s() - last_seen_s > 60) {
                snprintf(errstr, n,
                         "passthrough: nothing to read for 60 s after %llu "
                         "of %llu messages",
                         (unsigned long long)rd.seen,
                         (unsigned long long)rd.total);
                goto out;
            }
            rd_kafka_poll(prod, 0);
            continue;
        }
        last_seen_s = ldr_clock_mono_s();
        ldr_record_t rec;
        char derr[256];
        const void *val = m->payload;
        size_t len = m->len;
        /* An undecodable message is passed on as it is, as the worker
         * passes it to the dead-letter topic. */
        if (ldr_codec_decode(a->codec, m->payload, m->len, &rec, NULL, derr,
                             sizeof(derr)) == LDR_OK &&
            ldr_codec_encode(a->codec, &rec, &val, &len, derr, sizeof(derr)) !=
                LDR_OK) {
            val = m->payload;
            len = m->len;
        }
        for (;;) {
            rd_kafka_resp_err_t kerr = rd_kafka_producev(
                prod, RD_KAFKA_V_TOPIC(a->output_topic),
                RD_KAFKA_V_KEY(m->key, m->key_len),
                RD_KAFKA_V_VALUE((void *)val, len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (kerr == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(prod, 10);
                continue;
            }
            if (kerr) {
                snprintf(errstr, n, "passthrough: produce: %s",
                         rd_kafka_err2str(kerr));
                rd_kafka_message_destroy(m);
                goto out;
            }
            break;
        }
        rd_kafka_message_destroy(m);
        rd_kafka_poll(prod, 0);
    }
    rd_kafka_flush(prod, 120000);
    double end_s = ldr_clock_mono_s();
    if (counts.delivered != rd.total) {
        snprintf(
            errstr, n,
            "passthrough: %llu of %llu messages delivered, %llu failed%s%s",
            (unsigned long long)counts.delivered, (unsigned long long)rd.total,
            (unsigned long long)counts.failed, counts.failed ? ": " : "",
            counts.first_error);
        goto out;
    }
    r->messages = rd.total;
    r->seconds = end_s - rd.first_s;
    r->rate = r->seconds > 0 ? (double)r->messages / r->seconds : 0;
    rc = 0;
out:
    bn_reader_close(&rd);
    if (prod) rd_kafka_destroy(prod);
    return rc;
}

/* ---- one Redis script per event --------------------------------------- */

/* KEYS: the partition's enterprise hash, decision stream, meta hash;
 * ARGV: USCC, kind, cause, next offset. */
static const char bn_script[] =
    "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "local n = 0\n"
    "if v then n = tonumber(string.match(v, '^(%d+)')) or 0 end\n"
    "n = n + 1\n"
    "redis.call('HSET', KEYS[1], ARGV[1], n .. '|' .. ARGV[2] .. '|' .. "
    "ARGV[3])\n"
    "redis.call('XADD', KEYS[2], 'MAXLEN', '~', '100000', '*', 'uscc', "
    "ARGV[1], 'kind', ARGV[2], 'n', n, 'cause', ARGV[3])\n"
    "redis.call('HSET', KEYS[3], 'next_offset', ARGV[4])\n"
    "return n\n";

static int bn_script_replies1(redisContext *c, int pending, char *errstr,
                              size_t n) {
    for (int i = 0; i < pending; i++) {
        void *rep = NULL;
        if (redisGetReply(c, &rep) != REDIS_OK) {
            snprintf(errstr, n, "script per event: Redis: %s", c->errstr);
            return -1;
        }
        redisReply *r = rep;
        if (r->type == REDIS_REPLY_ERROR) {
            snprintf(errstr, n, "script per event: EVALSHA: %s", r->str);
            freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    return 0;
}

/* Reads the answers to what was sent to every master since the last call. */
static int bn_script_replies(ldr_cluster_t *cl, int *pending, char *errstr,
                             size_t n) {
    for (int i = 0; i < ldr_cluster_masters(cl); i++) {
        if (!pending[i]) continue;
        redisContext *c = ldr_cluster_master(cl, i, errstr, n);
        if (!c || bn_script_replies1(c, pending[i], errstr, n)) return -1;
        pending[i] = 0;
    }
    return 0;
}

/* used_cpu_sys + used_cpu_user and total_commands_processed, summed over
 * every master. */
static void bn_script_info(ldr_cluster_t *cl, double *cpu, double *cmd) {
    char e[256];
    double v;
    *cpu = *cmd = 0;
    for (int i = 0; i < ldr_cluster_masters(cl); i++) {
        redisContext *c = ldr_cluster_master(cl, i, e, sizeof(e));
        if (!c) continue;
        if (bn_redis_info(c, "cpu", "used_cpu_sys", &v) == 0) *cpu += v;
        if (bn_redis_info(c, "cpu", "used_cpu_user", &v) == 0) *cpu += v;
        if (bn_redis_info(c, "stats", "total_commands_processed", &v) == 0)
            *cmd += v;
    }
}

static ldr_str_t bn_record_uscc(const ldr_record_t *rec) {
    switch (rec->kind) {
    case LDR_RECORD_APPLICATION: return rec->u.application.uscc;
    case LDR_RECORD_REVIEW: return rec->u.review.uscc;
    case LDR_RECORD_VIOLATION: return rec->u.violation.uscc;
    default: return ldr_str("tick");
    }
}

int bn_ceiling_script(const bn_ceiling_args_t *a, bn_ceiling_result_t *r,
                      char *errstr, size_t n) {
    bn_reader_t rd;
    ldr_cluster_t *cl = NULL;
    int rc = -1, failed = 0, total_pending = 0;
    int pending[LDR_CLUSTER_NODES_MAX] = {0};
    int *master = NULL; /* per partition: the master of its hash tag */
    char sha[64] = "";
    double cpu0 = 0, cpu1 = 0, cmd0 = 0, cmd1 = 0;
    memset(r, 0, sizeof(*r));
    memset(&rd, 0, sizeof(rd));
    ldr_cluster_opts_t o = {.url = a->redis_url, .timeout_ms = 30000};
    if (ldr_cluster_new(&o, &cl, errstr, n)) goto out;
    for (int i = 0; i < ldr_cluster_masters(cl); i++) {
        redisContext *c = ldr_cluster_master(cl, i, errstr, n);
        if (!c) goto out;
        redisReply *rep = redisCommand(c, "SCRIPT LOAD %s", bn_script);
        if (!rep || rep->type != REDIS_REPLY_STRING) {
            snprintf(errstr, n, "script per event: SCRIPT LOAD: %s",
                     rep ? rep->str : c->errstr);
            if (rep) freeReplyObject(rep);
            goto out;
        }
        snprintf(sha, sizeof(sha), "%s", rep->str);
        freeReplyObject(rep);
    }
    master = calloc((size_t)a->partitions, sizeof(int));
    if (!master) {
        snprintf(errstr, n, "out of memory");
        goto out;
    }
    for (int p = 0; p < a->partitions; p++) {
        char tag[32];
        int len = snprintf(tag, sizeof(tag), "bench:{p%d}:ent", p);
        redisContext *c = ldr_cluster_ctx(
            cl, ldr_cluster_key_slot(tag, (size_t)len), errstr, n);
        if (!c) goto out;
        for (int i = 0; i < ldr_cluster_masters(cl); i++)
            if (ldr_cluster_master(cl, i, errstr, n) == c) master[p] = i;
    }
    if (bn_reader_open(&rd, a, errstr, n)) goto out;
    double last_seen_s = ldr_clock_mono_s();
    while (rd.seen < rd.total) {
        if (*a->stop) {
            snprintf(errstr, n, "interrupted");
            goto out;
        }
        rd_kafka_message_t *m = bn_reader_next(&rd, 100, &failed, errstr, n);
        if (!m) {
            if (failed) goto out;
            if (total_pending && bn_script_replies(cl, pending, errstr, n))
                goto out;
            total_pending = 0;
            if (ldr_clock_mono_s() - last_seen_s > 60) {
                snprintf(errstr, n,
                         "script per event: nothing to read for 60 s after "
                         "%llu of %llu messages",
                         (unsigned long long)rd.seen,
                         (unsigned long long)rd.total);
                goto out;
            }
            continue;
        }
        if (rd.seen == 1) bn_script_info(cl, &cpu0, &cmd0);
        last_seen_s = ldr_clock_mono_s();
        ldr_record_t rec;
        char derr[256];
        ldr_str_t uscc = ldr_str("undecodable");
        const char *kind = "undecodable";
        if (ldr_codec_decode(a->codec, m->payload, m->len, &rec, NULL, derr,
                             sizeof(derr)) == LDR_OK) {
            uscc = bn_record_uscc(&rec);
            kind = ldr_record_kind_fullname(rec.kind);
        }
        char ent[64], dec[64], meta[64], cause[320];
        snprintf(ent, sizeof(ent), "bench:{p%d}:ent", (int)m->partition);
        snprintf(dec, sizeof(dec), "bench:{p%d}:decisions", (int)m->partition);
        snprintf(meta, sizeof(meta), "bench:{p%d}:meta", (int)m->partition);
        snprintf(cause, sizeof(cause), "%s/%d/%lld", a->input_topic,
                 (int)m->partition, (long long)m->offset);
        int node = master[m->partition];
        redisContext *c = ldr_cluster_master(cl, node, errstr, n);
        if (!c) {
            rd_kafka_message_destroy(m);
            goto out;
        }
        redisAppendCommand(c, "EVALSHA %s 3 %s %s %s %b %s %s %lld", sha, ent,
                           dec, meta, uscc.ptr, uscc.len, kind ? kind : "?",
                           cause, (long long)m->offset + 1);
        rd_kafka_message_destroy(m);
        pending[node]++;
        if (++total_pending == BN_SCRIPT_PIPELINE) {
            if (bn_script_replies(cl, pending, errstr, n)) goto out;
            total_pending = 0;
        }
    }
    if (total_pending && bn_script_replies(cl, pending, errstr, n)) goto out;
    double end_s = ldr_clock_mono_s();
    bn_script_info(cl, &cpu1, &cmd1);
    r->messages = rd.total;
    r->seconds = end_s - rd.first_s;
    r->rate = r->seconds > 0 ? (double)r->messages / r->seconds : 0;
    r->redis_cpu_s = cpu1 - cpu0;
    r->redis_commands = cmd1 - cmd0;
    /* Its keys go: the phases after it measure ladder's data alone (a
     * rewrite copies every key, and a fork maps them). */
    for (int p = 0; p < a->partitions; p++) {
        redisContext *c = ldr_cluster_master(cl, master[p], errstr, n);
        if (!c) goto out;
        redisReply *rep = redisCommand(c,
                                       "UNLINK bench:{p%d}:ent "
                                       "bench:{p%d}:decisions bench:{p%d}:meta",
                                       p, p, p);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            snprintf(errstr, n, "script per event: UNLINK: %s",
                     rep ? rep->str : c->errstr);
            if (rep) freeReplyObject(rep);
            goto out;
        }
        freeReplyObject(rep);
    }
    rc = 0;
out:
    bn_reader_close(&rd);
    free(master);
    ldr_cluster_destroy(cl);
    return rc;
}
