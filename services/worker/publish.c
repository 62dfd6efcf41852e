/* publish.c -- what ladder-worker sends to Kafka: decisions, dead letters,
 * clock ticks, the producer.
 *
 * DESIGN: a batch's outgoing messages are noted here while the batch is
 * decided (wk_dead_letter, in the outbox encoding; wk_note_decisions,
 * the decisions' times) and produced before its state is committed (the
 * decisions encoded then, from the machine's list): the loop sends the
 * batch's step to Redis only once every one of its messages was
 * acknowledged (docs/RELIABILITY.md). Each produced message carries a tag
 * naming its partition; the delivery reports (served on the loop's thread,
 * inside rd_kafka_poll) count the batch's messages down. A batch that is
 * never acknowledged is never committed, so a crash, a zombie or a fatal
 * producer error can only make the next owner decide it again, with the
 * same ids: a duplicate, never a loss. The outbox entries a worker of an
 * earlier version left in Redis are produced again on assignment and
 * trimmed once acknowledged, oldest first. */
#include "worker_int.h"

#include <stdlib.h>
#include <string.h>

#include "ladder/alloc.h"
#include "ladder/clock.h"
#include "ladder/kafka.h"
#include "ladder/log.h"
#include "ladder/time.h"

/* ---- delivery tracking -------------------------------------------------- */

static void wk_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m,
                     void *opaque) {
    (void)rk;
    (void)opaque;
    wk_tag_t *tag = m->_private;
    if (!tag) return;
    if (!m->err && tag->src_ts_ms >= 0)
        ldr_metrics_observe(tag->w->m.latency_seconds, NULL,
                            (double)(ldr_clock_wall_ms() - tag->src_ts_ms) /
                                1000.0);
    wk_part_t *p = &tag->w->part[tag->partition];
    /* A report of a message produced before the partition was taken again
     * or its messages produced again would count them down twice. */
    if (tag->generation != p->generation) {
        free(tag);
        return;
    }
    if (tag->batch) {
        for (int i = p->nsent; i < p->nbatch; i++) {
            wk_batch_t *bt = wk_batch_at(p, i);
            if (bt->next != tag->id || !bt->publishing) continue;
            bt->unacked--;
            if (m->err && !bt->failed) {
                bt->failed = true;
                bt->why = m->err;
            }
            break;
        }
        free(tag);
        return;
    }
    for (int i = 0; i < p->npending; i++)
        if (p->pending_id[i] == tag->id) {
            p->pending_left[i]--;
            if (m->err) {
                p->pending_failed[i] = true;
                /* purged by a stop: stored, and said so once (main.c) */
                if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
                    m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
                    continue;
                LDR_LOG_ERROR("delivery of a stored outbox entry of partition "
                              "%d failed: %s",
                              (int)tag->partition, rd_kafka_err2str(m->err));
            }
        }
    free(tag);
}

/* How many of the partition's oldest outbox entries have every message
 * acknowledged. A failed entry stays in the outbox and is produced again on
 * reassignment. */
static int wk_trimmable(const wk_part_t *p) {
    int done = 0;
    while (done < p->npending && p->pending_left[done] == 0 &&
           !p->pending_failed[done])
        done++;
    return done;
}

static void wk_trimmed(wk_part_t *p, int done) {
    memmove(p->pending_id, p->pending_id + done,
            (size_t)(p->npending - done) * sizeof(p->pending_id[0]));
    memmove(p->pending_left, p->pending_left + done,
            (size_t)(p->npending - done) * sizeof(p->pending_left[0]));
    memmove(p->pending_failed, p->pending_failed + done,
            (size_t)(p->npending - done) * sizeof(p->pending_failed[0]));
    p->npending -= done;
}

/* Trims the acknowledged outbox entries of one partition. */
void wk_trim(wk_t *w, int partition) {
    wk_part_t *p = &w->part[partition];
    char err[512];
    int done = wk_trimmable(p);
    if (!done) return;
    if (ldr_store_outbox_trim(w->store, partition, p->pending_id[done - 1], err,
                              sizeof(err))) {
        LDR_LOG_WARN("%s", err);
        wk_redis_error(w);
        return;
    }
    wk_trimmed(p, done);
}

/* Trims the acknowledged outbox entries of every partition, pipelined (a
 * round trip per partition cost more than the trimming), one trim in
 * flight per partition. */
void wk_trim_all(wk_t *w) {
    char err[512];
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_part_t *p = &w->part[pn];
        if (!p->npending || p->trim_inflight || p->down) continue;
        int done = wk_trimmable(p);
        if (!done) continue;
        if (ldr_store_outbox_trim_send(w->store, pn, p->pending_id[done - 1],
                                       err, sizeof(err))) {
            wk_redis_error(w);
            wk_down(w, pn, err);
            continue;
        }
        p->trim_inflight = true;
        p->trim_id = p->pending_id[done - 1];
        p->trim_generation = p->generation;
    }
}

void wk_trim_answered(wk_t *w, int partition, bool ok) {
    wk_part_t *p = &w->part[partition];
    /* By id, not by count: wk_trim may have trimmed some meanwhile. A trim
     * sent before the partition was taken again is not about the pending
     * entries any more. */
    if (ok && p->trim_inflight && p->trim_generation == p->generation) {
        int done = 0;
        while (done < p->npending && p->pending_id[done] <= p->trim_id)
            done++;
        wk_trimmed(p, done);
    }
    p->trim_inflight = false;
}

/* Produces message @p m for partition @p partition, tagged with @p id,
 * @p batch and @p src_ts (its input message time, -1: none). Counts it up
 * in *@p left (the delivery reports count it down, maybe while this runs:
 * a full queue is served by polling), and sets *@p failed when it could
 * not be produced. */
static void wk_produce_msg(wk_t *w, int partition, bool batch, int64_t id,
                           const ldr_outbox_msg_t *m, int64_t src_ts, int *left,
                           bool *failed) {
    wk_part_t *p = &w->part[partition];
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(m->headers_count);
    for (size_t i = 0; i < m->headers_count; i++)
        rd_kafka_header_add(hdrs, m->headers[i].name,
                            (ssize_t)m->headers[i].name_len,
                            m->headers[i].value, (ssize_t)m->headers[i].len);
    wk_tag_t *tag = malloc(sizeof(*tag));
    if (!tag) abort();
    *tag = (wk_tag_t){w, partition, p->generation, batch, id, src_ts};
    (*left)++;
    rd_kafka_topic_t *rkt =
        m->topic == LDR_OUTBOX_DLQ ? w->dlq_rkt : w->decisions_rkt;
    for (;;) {
        rd_kafka_resp_err_t kerr = rd_kafka_producev(
            w->producer, RD_KAFKA_V_RKT(rkt),
            RD_KAFKA_V_KEY(m->key, m->key ? m->key_len : 0),
            RD_KAFKA_V_VALUE((void *)m->value, m->value_len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
            RD_KAFKA_V_OPAQUE(tag), RD_KAFKA_V_END);
        if (!kerr) return;
        if (kerr == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(w->producer, 50);
            continue;
        }
        LDR_LOG_ERROR("produce: %s", rd_kafka_err2str(kerr));
        rd_kafka_headers_destroy(hdrs);
        free(tag);
        (*left)--;
        *failed = true;
        return;
    }
}

/* Produces every message of @p payload (the outbox encoding) for
 * partition @p partition, each tagged with @p id and @p batch, as
 * wk_produce_msg. */
static void wk_produce(wk_t *w, int partition, bool batch, int64_t id,
                       const void *payload, size_t len, int *left,
                       bool *failed) {
    ldr_outbox_reader_t r;
    ldr_outbox_reader_init(&r, payload, len);
    ldr_outbox_msg_t m;
    ldr_err_t err;
    while ((err = ldr_outbox_next(&r, &m)) == LDR_OK)
        wk_produce_msg(w, partition, batch, id, &m, -1, left, failed);
    if (err != LDR_ERR_INVALID_ARG) {
        LDR_LOG_ERROR("partition %d: outgoing messages %lld are corrupt",
                      partition, (long long)id);
        *failed = true;
    }
}

static void wk_header(ldr_outbox_msg_t *m, const char *name,
                      const char *value) {
    ldr_outbox_header_t *h = &m->headers[m->headers_count++];
    h->name = name;
    h->name_len = strlen(name);
    h->value = value;
    h->len = strlen(value);
}

/* Produces decision w->out.v[@p i] of the batch in hand for partition
 * @p partition, as part of batch @p bt. */
static void wk_produce_decision(wk_t *w, int partition, wk_batch_t *bt,
                                size_t i) {
    const ldr_machine_decision_t *d = &w->out.v[i];
    ldr_record_t rec;
    ldr_machine_decision_record(d, &rec);
    rec.u.decision.decided_at = w->decided_at;
    const void *bytes;
    size_t len;
    char err[512];
    if (ldr_codec_encode(w->codec, &rec, &bytes, &len, err, sizeof(err))) {
        /* The machine only makes decisions the schema can carry. */
        LDR_LOG_ERROR("decision %s: %s", d->decision_id, err);
        abort();
    }
    /* Concatenated by hand: two snprintf calls per decision were a few
     * percent of the worker's instructions. */
    char type[64] = "ladder.decision.", source[32] = "ladder/";
    char when[LDR_TIME_FORMAT_SIZE];
    strncat(type, ldr_decision_type_name(d->decision),
            sizeof(type) - sizeof("ladder.decision."));
    strncat(source, d->reporting_unit, sizeof(source) - sizeof("ladder/"));
    ldr_time_format(d->effective_at, when, sizeof(when));
    ldr_outbox_msg_t m = {0};
    m.topic = LDR_OUTBOX_DECISIONS;
    m.partition = -1;
    m.key = d->uscc;
    m.key_len = strlen(d->uscc);
    m.value = bytes;
    m.value_len = len;
    wk_header(&m, "ce_specversion", "1.0");
    wk_header(&m, "ce_id", d->decision_id);
    wk_header(&m, "ce_type", type);
    wk_header(&m, "ce_source", source);
    wk_header(&m, "ce_time", when);
    wk_header(&m, "content-type", "application/avro");
    wk_produce_msg(w, partition, true, bt->next, &m, w->src_ts[i], &bt->unacked,
                   &bt->failed);
}

void wk_publish_batch(wk_t *w, int partition, wk_batch_t *bt) {
    bt->publishing = true;
    bt->failed = false;
    bt->unacked = 0;
    for (size_t i = 0; i < w->out.count; i++)
        wk_produce_decision(w, partition, bt, i);
    wk_produce(w, partition, true, bt->next, w->payload.data, w->payload.len,
               &bt->unacked, &bt->failed);
    if (bt->failed && !bt->why) bt->why = RD_KAFKA_RESP_ERR__FAIL;
}

/* Produces every message of one stored outbox entry. */
void wk_publish(wk_t *w, int partition, int64_t id, const void *payload,
                size_t len) {
    wk_part_t *p = &w->part[partition];
    /* back-pressure: wait for acknowledgements, but not past a stop's
     * deadline (Kafka may be gone) */
    while (p->npending == WK_PENDING_MAX && !p->held_back) {
        int ms = wk_wait_ms(w, 100);
        if (!ms) {
            p->held_back = true;
            break;
        }
        rd_kafka_poll(w->producer, ms);
        wk_trim(w, partition);
    }
    if (p->held_back) return; /* stored: the next owner produces it */
    int slot = p->npending++;
    p->pending_id[slot] = id;
    p->pending_left[slot] = 0;
    p->pending_failed[slot] = false;
    wk_produce(w, partition, false, id, payload, len, &p->pending_left[slot],
               &p->pending_failed[slot]);
}

void wk_publish_cb(void *opaque, int64_t id, const void *payload, size_t len) {
    wk_tag_t *t = opaque;
    wk_publish(t->w, t->partition, id, payload, len);
}

/* ---- building a batch's outgoing messages -------------------------------- */

void wk_dead_letter(wk_t *w, const rd_kafka_message_t *km, int kind,
                    ldr_err_t code, const char *why) {
    char part[16], off[24];
    snprintf(part, sizeof(part), "%d", (int)km->partition);
    snprintf(off, sizeof(off), "%lld", (long long)km->offset);
    ldr_outbox_msg_t m = {0};
    m.topic = LDR_OUTBOX_DLQ;
    m.partition = km->partition;
    m.key = km->key;
    m.key_len = km->key_len;
    m.value = km->payload ? km->payload : "";
    m.value_len = km->len;
    wk_header(&m, "ladder.error.code", ldr_err_code(code));
    wk_header(&m, "ladder.error.message", why);
    wk_header(&m, "ladder.source.topic", w->input_topic);
    wk_header(&m, "ladder.source.partition", part);
    wk_header(&m, "ladder.source.offset", off);
    ldr_outbox_append(&w->payload, &m);
    w->cur->tally.events[kind][WK_DEAD_LETTER]++;
    if (-code > 0 && -code < WK_CODES) w->cur->tally.dead_letters[-code]++;
    LDR_LOG_DEBUG("dead letter %s/%d/%lld: %s: %s", w->input_topic,
                  (int)km->partition, (long long)km->offset, ldr_err_code(code),
                  why);
}

void wk_note_decisions(wk_t *w, size_t from, int64_t decided_at,
                       int64_t src_ts_ms) {
    if (w->out.count > w->src_cap) {
        w->src_cap =
            w->out.count > 2 * w->src_cap ? w->out.count : 2 * w->src_cap;
        w->src_ts = realloc(w->src_ts, w->src_cap * sizeof(*w->src_ts));
        if (!w->src_ts) abort();
    }
    for (size_t i = from; i < w->out.count; i++)
        w->src_ts[i] = src_ts_ms;
    w->decided_at = decided_at;
}

/* ---- clock ticks --------------------------------------------------------- */

/* ---- the producer ------------------------------------------------------- */

/* Creates the producer and its handles of the decisions and dead-letter
 * topics into @p w; false, with @p err, when it cannot. */
bool wk_producer_open(wk_t *w, char *err, size_t n) {
    /* Decisions are keyed by USCC with the same partitioner as the input
     * (ldr_kafka_conf_new sets it), so an enterprise's decisions stay in
     * one partition, in order, for every kind of consumer. A step's
     * decisions are produced at once: no need to linger (kafka.h). */
    static const ldr_kafka_prop_t defaults[] = {
        {"linger.ms", LDR_KAFKA_STEP_LINGER_MS},
    };
    rd_kafka_conf_t *conf = ldr_kafka_conf_new(
        w->cfg, LDR_KAFKA_PRODUCER, defaults, LDR_ARRAY_SIZE(defaults), err, n);
    if (!conf) return false;
    rd_kafka_conf_set_dr_msg_cb(conf, wk_dr_cb);
    rd_kafka_conf_set_opaque(conf, w);
    w->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, n);
    if (!w->producer) {
        rd_kafka_conf_destroy(conf); /* still ours on failure */
        return false;
    }
    w->decisions_rkt =
        rd_kafka_topic_new(w->producer, w->decisions_topic, NULL);
    w->dlq_rkt = rd_kafka_topic_new(w->producer, w->dlq_topic, NULL);
    if (!w->decisions_rkt || !w->dlq_rkt) {
        snprintf(err, n, "producer: topic %s or %s: %s", w->decisions_topic,
                 w->dlq_topic, rd_kafka_err2str(rd_kafka_last_error()));
        wk_producer_close(w);
        return false;
    }
    return true;
}

/* Destroys the producer and its topic handles (these first, as librdkafka
 * asks). */
void wk_producer_close(wk_t *w) {
    if (w->decisions_rkt) rd_kafka_topic_destroy(w->decisions_rkt);
    if (w->dlq_rkt) rd_kafka_topic_destroy(w->dlq_rkt);
    w->decisions_rkt = w->dlq_rkt = NULL;
    if (w->producer) rd_kafka_destroy(w->producer);
    w->producer = NULL;
}

/* An idempotent producer can fail fatally (librdkafka 2.0.2 raises a
 * spurious "sequence desynchronization" after a disconnect: PITFALLS.md).
 * Nothing it had not delivered is committed: with a new producer, each
 * partition with batches not all acknowledged is taken again by the caller
 * and decides them again from the stored offset (the take produces its
 * stored outbox too); the others produce again the stored outbox entries
 * an earlier version left. Consumers may see a decision twice, always
 * with the same id. */
bool wk_check_producer(wk_t *w) {
    char why[512];
    if (!rd_kafka_fatal_error(w->producer, why, sizeof(why))) return false;
    LDR_LOG_WARN("producer: fatal error: %s: recreating it and producing "
                 "the batches not acknowledged again",
                 why);
    rd_kafka_purge(w->producer,
                   RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(w->producer, 1000);
    wk_producer_close(w);
    char err[512];
    while (!wk_producer_open(w, err, sizeof(err))) {
        LDR_LOG_ERROR("producer: %s; retrying", err);
        ldr_clock_sleep_ms(1000);
        if (ldr_svc_stopping()) exit(2);
    }
    w->producers_recreated++;
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_part_t *p = &w->part[pn];
        if (!p->owned || wk_unacked(p)) continue;
        p->npending = 0;
        p->generation++;
        wk_tag_t t = {w, pn, 0, false, 0, -1};
        if (ldr_store_outbox(w->store, pn, wk_publish_cb, &t, err, sizeof(err)))
            LDR_LOG_WARN("partition %d: %s (re-sent on the next take)", pn,
                         err);
    }
    return true;
}
