/* loop.c -- ladder-worker's loop: poll a batch, decide it, store it in one
 * atomic step, publish it; recover when Redis goes away; refresh the
 * gauges and readiness; say when clock ticks are due.
 *
 * DESIGN: one thread does all of it, so the per-partition state, the
 * metrics the loop writes and the outbox bookkeeping need no lock. Every
 * partition's step is sent to Redis before the first answer is read
 * (wk_prepare, then wk_answer), so Redis works on one batch while the next
 * is decided, and a batch is acted on (wk_finish) only once every answer
 * was read, because nothing else may use the connection in between. A
 * batch's counts reach the metrics only once it is stored, so a batch that
 * is refused or replayed is not counted twice. Redis unreachable at any
 * point sends the loop to wk_recover, which replays from the stored
 * offsets: nothing is half-applied, because the step is all or nothing. */
#include "worker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ladder/clock.h"
#include "ladder/kafka.h"
#include "ladder/log.h"

/* ---- one batch of one partition ----------------------------------------- */

/* TEST-ONLY (tests/faults): while the file named by
 * LADDERTEST_HOLD_BEFORE_STORE exists, wait before the atomic step. */
static void wk_test_hold(void) {
    static const char *path;
    static bool read;
    if (!read) {
        path = getenv("LADDERTEST_HOLD_BEFORE_STORE");
        read = true;
    }
    if (!path || access(path, F_OK) != 0) return;
    LDR_LOG_WARN("test hold: waiting before the store while %s exists", path);
    while (access(path, F_OK) == 0)
        ldr_clock_sleep_ms(10);
}

/* Drops the messages of the batch in hand that were applied already
 * (fetched before a seek took effect), and reports a batch that does not
 * start at the stored offset. Returns false when no message is left. */
static bool wk_skip_applied(wk_t *w, wk_part_t *p, int pn) {
    size_t skip = 0;
    while (skip < p->nmsgs && p->next_offset >= 0 &&
           p->msgs[skip]->offset < p->next_offset)
        rd_kafka_message_destroy(p->msgs[skip++]);
    if (skip) {
        memmove(p->msgs, p->msgs + skip, (p->nmsgs - skip) * sizeof(*p->msgs));
        p->nmsgs -= skip;
        if (!p->nmsgs) return false;
    }
    int64_t first = p->msgs[0]->offset;
    /* The batch must start where the store says (or at offset 0 when
     * nothing was stored yet). Anything else means the log no longer holds
     * those messages (evicted): reported and counted, never skipped
     * silently. */
    int64_t expected = p->next_offset >= 0 ? p->next_offset : 0;
    if (first != expected) {
        LDR_LOG_ERROR("partition %d: expected offset %lld, the log starts at "
                      "%lld: %lld messages are gone",
                      pn, (long long)expected, (long long)first,
                      (long long)(first - expected));
        ldr_metrics_add(w->m.lost, NULL, (double)(first - expected));
    }
    return true;
}

/* Decodes, validates and applies one message of the batch in hand
 * (w->cur): a bad one becomes a dead letter. Returns LDR_ERR_TRANSIENT
 * only, when the decoder cannot go on. */
static ldr_err_t wk_decide(wk_t *w, wk_part_t *p, int pn,
                           rd_kafka_message_t *km, int64_t now) {
    char err[512];
    ldr_record_t rec;
    ldr_err_t rc = ldr_codec_decode(w->codec, km->payload, km->len, &rec, NULL,
                                    err, sizeof(err));
    if (rc == LDR_ERR_TRANSIENT) return rc;
    int kind = !rc && rec.kind > 0 && rec.kind < WK_KINDS ? (int)rec.kind : 0;
    if (!rc && rec.kind == LDR_RECORD_DECISION) {
        rc = LDR_ERR_DECODE_FAILED;
        snprintf(err, sizeof(err), "a DesignationDecision is not input");
    }
    if (!rc)
        rc = ldr_validate_message(w->validator, &rec, km->key, km->key_len,
                                  ldr_partition_clock(p->state), now, err,
                                  sizeof(err));
    if (!rc && km->key &&
        ldr_kafka_partition_for_key(km->key, km->key_len, w->partitions) !=
            km->partition) {
        rc = LDR_ERR_WRONG_PARTITION;
        snprintf(err, sizeof(err),
                 "key hashes to partition %d of %d (murmur2_random)",
                 (int)ldr_kafka_partition_for_key(km->key, km->key_len,
                                                  w->partitions),
                 w->partitions);
    }
    if (rc) {
        wk_dead_letter(w, km, kind, rc, err);
        return LDR_OK;
    }
    size_t before = w->cur->out.count;
    uint64_t duplicates = w->cur->out.duplicates;
    ldr_machine_cause_t cause = {w->input_topic, km->partition, km->offset};
    rc = ldr_partition_step(p->state, &rec, &cause, &w->cur->out);
    if (rc) {
        LDR_LOG_ERROR("partition %d offset %lld: %s", pn, (long long)km->offset,
                      ldr_err_str(rc));
        abort(); /* the policies loaded at start cover every time */
    }
    rd_kafka_timestamp_type_t ts_type;
    int64_t ts = rd_kafka_message_timestamp(km, &ts_type);
    wk_decision_messages(w, before, now,
                         ts_type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts);
    w->events++;
    w->cur->tally
        .events[kind][w->cur->out.duplicates > duplicates ? WK_DUPLICATE
                                                          : WK_APPLIED]++;
    return LDR_OK;
}

/* Sends the atomic step of the decided batch in hand to Redis. */
static ldr_err_t wk_send(wk_t *w, wk_part_t *p, int pn, int64_t first) {
    char err[512];
    int64_t next = p->msgs[p->nmsgs - 1]->offset + 1;
    ldr_store_batch_t b = {0};
    b.partition = pn;
    b.epoch = p->epoch;
    b.first_offset = p->next_offset >= 0 ? p->next_offset : first;
    b.next_offset = next;
    b.clock = ldr_partition_clock(p->state);
    b.dirty = ldr_partition_take_dirty(p->state, &b.dirty_count);
    b.decisions = w->cur->out.v;
    b.decisions_count = w->cur->out.count;
    b.outbox = w->cur->payload.len ? w->cur->payload.data : NULL;
    b.outbox_len = w->cur->payload.len;
    b.notices_maxlen = 10000;
    wk_test_hold(); /* TEST-ONLY: LADDERTEST_HOLD_BEFORE_STORE */
    ldr_err_t rc = ldr_store_commit_send(w->store, &b, err, sizeof(err));
    if (rc) {
        LDR_LOG_WARN("%s", err);
        wk_redis_error(w);
        return rc;
    }
    p->batch.next = next;
    p->batch.sent = true;
    return LDR_OK;
}

/* Decides the batch in hand and sends its atomic step to Redis, without
 * waiting for the answer (wk_answer reads it). Returns LDR_ERR_TRANSIENT
 * when Redis is down (the batch is dropped and will be replayed). */
static ldr_err_t wk_prepare(wk_t *w, int pn) {
    wk_part_t *p = &w->part[pn];
    p->batch.sent = false;
    if (!p->nmsgs) return LDR_OK;
    int64_t now = ldr_clock_wall_ms();
    if (!wk_skip_applied(w, p, pn)) return LDR_OK;
    int64_t first = p->msgs[0]->offset;
    w->cur = &p->batch;
    w->cur->started = ldr_clock_mono_s();
    ldr_machine_out_clear(&w->cur->out);
    ldr_buf_reset(&w->cur->payload);
    memset(&w->cur->tally, 0, sizeof(w->cur->tally));
    w->cur->nsrc = 0;
    for (size_t i = 0; i < p->nmsgs; i++)
        if (wk_decide(w, p, pn, p->msgs[i], now) == LDR_ERR_TRANSIENT)
            return LDR_ERR_TRANSIENT;
    return wk_send(w, p, pn, first);
}

/* Reads Redis's answer to the step wk_prepare sent for the partition, and
 * only that: nothing else may use the connection until every step sent has
 * been answered (ldr_store_commit_recv), so acting on the answer is
 * wk_finish's job. Returns LDR_ERR_TRANSIENT when Redis is down. */
static ldr_err_t wk_answer(wk_t *w, int pn) {
    wk_batch_t *bt = &w->part[pn].batch;
    bt->sent = false;
    ldr_err_t rc =
        ldr_store_commit_recv(w->store, pn, bt->why, sizeof(bt->why));
    if (rc == LDR_OK || rc == LDR_ERR_FENCED) {
        bt->result = rc;
        bt->answered = true;
        return LDR_OK;
    }
    LDR_LOG_WARN("%s", bt->why);
    wk_redis_error(w);
    return rc;
}

/* Finishes an answered batch: once stored, publishes its outbox entry;
 * when fenced, reloads the partition and seeks to the stored offset. */
static void wk_finish(wk_t *w, int pn) {
    wk_part_t *p = &w->part[pn];
    wk_batch_t *bt = &p->batch;
    bt->answered = false;
    if (bt->result == LDR_ERR_FENCED) {
        /* Another owner wrote, or Redis rewound: the cache is not the
         * truth any more. */
        w->fenced++;
        ldr_metrics_add(w->m.fenced, NULL, 1);
        LDR_LOG_WARN("%s: reloading and seeking to the stored offset", bt->why);
        for (size_t i = 0; i < p->nmsgs; i++)
            rd_kafka_message_destroy(p->msgs[i]);
        p->nmsgs = 0;
        if (wk_take(w, pn) == LDR_OK) wk_seek(w, pn);
        return;
    }
    w->cur = bt;
    p->next_offset = bt->next;
    wk_count(w);
    if (bt->payload.len)
        wk_publish(w, pn, bt->next, bt->payload.data, bt->payload.len,
                   bt->src_ts, bt->nsrc);
    /* The committed Kafka offset is a hint for lag monitoring only: stored
     * here, committed by librdkafka every auto.commit.interval.ms (a commit
     * request per batch cost the worker and the brokers dearly). */
    const rd_kafka_message_t *last = p->msgs[p->nmsgs - 1];
    rd_kafka_offset_store(last->rkt, last->partition, last->offset);
    for (size_t i = 0; i < p->nmsgs; i++)
        rd_kafka_message_destroy(p->msgs[i]);
    p->nmsgs = 0;
    ldr_metrics_observe(w->m.batch_seconds, NULL,
                        ldr_clock_mono_s() - bt->started);
    /* A batch's decisions take 1.2 KB each: a partition that once had a
     * large batch does not keep that much memory for the rest of the run
     * (with a hundred partitions, that was most of the worker's RSS). */
    if (bt->out.cap > WK_KEEP_DECISIONS) {
        ldr_machine_out_fini(&bt->out);
        ldr_machine_out_init(&bt->out);
    }
    if (bt->payload.cap > WK_KEEP_DECISIONS * 512) {
        ldr_buf_fini(&bt->payload);
        ldr_buf_init(&bt->payload);
    }
}

/* Redis went away: drop every batch in hand, reconnect with backoff, claim
 * the partitions again and replay from the stored offsets. */
static void wk_recover(wk_t *w) {
    int delay_ms = 100;
    char err[512];
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_part_t *p = &w->part[pn];
        for (size_t i = 0; i < p->nmsgs; i++)
            rd_kafka_message_destroy(p->msgs[i]);
        p->nmsgs = 0;
        /* Steps sent or answered are forgotten: what Redis holds is
         * reloaded below, whichever of them it took. */
        p->batch.sent = false;
        p->batch.answered = false;
    }
    rd_kafka_topic_partition_list_t *assigned = NULL;
    rd_kafka_assignment(w->consumer, &assigned);
    if (assigned) rd_kafka_pause_partitions(w->consumer, assigned);
    w->store_down = true;
    ldr_svc_set_ready(w->svc, false, "redis is unreachable");
    while (!ldr_svc_stopping()) {
        ldr_svc_heartbeat(w->svc);
        ldr_metrics_add(w->m.redis_retries, NULL, 1);
        if (ldr_store_reconnect(w->store, err, sizeof(err)) == LDR_OK) {
            bool ok = true;
            for (int pn = 0; pn < WK_MAX_PARTITIONS && ok; pn++)
                if (w->part[pn].owned) ok = wk_take(w, pn) == LDR_OK;
            if (ok) break;
        } else {
            LDR_LOG_WARN("%s; retrying in %d ms", err, delay_ms);
            wk_redis_error(w);
        }
        rd_kafka_poll(w->producer, delay_ms);
        delay_ms = delay_ms < 5000 ? delay_ms * 2 : 5000;
    }
    if (assigned) {
        for (int i = 0; i < assigned->cnt; i++) {
            int pn = assigned->elems[i].partition;
            if (pn >= 0 && pn < WK_MAX_PARTITIONS && w->part[pn].owned)
                wk_seek(w, pn);
        }
        rd_kafka_resume_partitions(w->consumer, assigned);
        rd_kafka_topic_partition_list_destroy(assigned);
    }
    w->store_down = false;
    w->next_refresh_ms = 0;
    LDR_LOG_INFO("redis is back: resumed from the stored offsets");
}

/* ---- gauges, readiness and ticks --------------------------------------- */

/* Refreshes the gauges and the readiness /readyz reports. */
static void wk_refresh(wk_t *w) {
    int owned = 0, pending = 0;
    bool queried = false;
    char why[160] = "";
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_part_t *p = &w->part[pn];
        pending += p->npending;
        if (!p->owned) continue;
        owned++;
        int64_t lag = wk_lag(w, pn, &queried);
        if (lag >= 0)
            ldr_metrics_set(w->m.lag, LDR_METRICS_LABELS(p->label),
                            (double)lag);
        if (why[0]) continue;
        if (lag < 0)
            snprintf(why, sizeof(why),
                     "the lag of partition %d is not known "
                     "yet",
                     pn);
        else if (lag >= WK_READY_LAG_MAX)
            snprintf(why, sizeof(why),
                     "partition %d lags %lld messages (ready below %d)", pn,
                     (long long)lag, WK_READY_LAG_MAX);
    }
    ldr_metrics_set(w->m.assigned, NULL, owned);
    ldr_metrics_set(w->m.backlog, NULL, pending);
    if (w->store_down)
        snprintf(why, sizeof(why), "redis is unreachable");
    else if (!owned)
        snprintf(why, sizeof(why), "no partitions assigned");
    ldr_svc_set_ready(w->svc, !why[0], why);
}

/* Gathers a batch: polls until the queue runs dry or the batch is
 * full, and hands each message to its partition's batch in hand. */
static void wk_gather(wk_t *w) {
    size_t n = 0;
    for (;;) {
        rd_kafka_message_t *km =
            rd_kafka_consumer_poll(w->consumer, n ? 0 : 100);
        if (!km) break;
        if (km->err) {
            if (km->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                LDR_LOG_WARN("consume: %s", rd_kafka_message_errstr(km));
            rd_kafka_message_destroy(km);
            continue;
        }
        if (km->partition < 0 || km->partition >= WK_MAX_PARTITIONS ||
            !w->part[km->partition].owned) {
            rd_kafka_message_destroy(km);
            continue;
        }
        wk_part_t *p = &w->part[km->partition];
        if (p->nmsgs == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 256;
            p->msgs = realloc(p->msgs, p->cap * sizeof(*p->msgs));
        }
        p->msgs[p->nmsgs++] = km;
        if (++n >= WK_BATCH_MAX) break;
    }
}

void wk_run(wk_t *w) {
    while (!ldr_svc_stopping()) {
        ldr_svc_heartbeat(w->svc);
        if (ldr_clock_wall_ms() >= w->next_refresh_ms) {
            wk_refresh(w);
            w->next_refresh_ms = ldr_clock_wall_ms() + WK_REFRESH_MS;
            /* An idle worker sends Redis nothing, so a Redis
             * restarted from an older AOF (state and offsets
             * rewound) would go unnoticed until the next message:
             * ask it. */
            char err[512];
            if (ldr_store_ping(w->store, err, sizeof(err))) {
                LDR_LOG_WARN("%s", err);
                wk_redis_error(w);
                wk_recover(w);
            }
        }
        wk_gather(w);
        /* Every partition's step is sent before the first answer is
         * read, so Redis works on one while the next is decided. A
         * partition's next batch is decided only after its step was
         * answered. */
        bool down = false;
        for (int pn = 0; pn < WK_MAX_PARTITIONS && !down; pn++)
            if (w->part[pn].nmsgs && wk_prepare(w, pn) == LDR_ERR_TRANSIENT)
                down = true;
        for (int pn = 0; pn < WK_MAX_PARTITIONS && !down; pn++)
            if (w->part[pn].batch.sent && wk_answer(w, pn) == LDR_ERR_TRANSIENT)
                down = true;
        if (down) {
            wk_recover(w);
        } else {
            for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++)
                if (w->part[pn].batch.answered) wk_finish(w, pn);
        }
        rd_kafka_poll(w->producer, 0);
        wk_check_producer(w);
        if (w->tick_interval_ms > 0 && ldr_clock_wall_ms() >= w->next_tick_ms) {
            wk_ticks(w);
            w->next_tick_ms = ldr_clock_wall_ms() + w->tick_interval_ms;
        }
        /* Redis gone while trimming: recover now, not at the next
         * batch, which may never come. */
        if (wk_trim_all(w) == LDR_ERR_TRANSIENT) wk_recover(w);
    }
}
