/* loop.c -- ladder-worker's loop: poll a batch, decide it, publish it,
 * commit it in one atomic step once Kafka acknowledged it; take a
 * partition again when its Redis master comes back; refresh the gauges
 * and readiness; say when clock ticks are due.
 *
 * DESIGN: one thread does all of it, so the per-partition state, the
 * metrics the loop writes and the delivery bookkeeping need no lock. A
 * batch is decided and its decisions and dead letters produced at once
 * (wk_prepare); once Kafka acknowledged every one of them, its state
 * changes and next offset go to Redis in one epoch-fenced step
 * (wk_commit_acked), never before, so what Redis holds was always
 * published: a crash or a zombie can only make the next owner decide a
 * batch again, and the decisions being a function of the log, it
 * publishes the same ones with the same ids (docs/RELIABILITY.md). Each
 * round sends every acknowledged batch's step before reading any answer,
 * then waits up to WK_ROUND_WAIT_MS for the answers (wk_answers), or
 * takes only what has come while a partition has more to decide. Each
 * partition has up to WK_INFLIGHT batches on their way, committed in
 * order; when one is refused, the later ones are dropped and decided
 * again from the stored offset. A partition whose master is slow or
 * frozen waits alone, and the others go on (the store reads each
 * master's answers on their own connection). A batch's counts reach the
 * metrics only once it is committed, so a batch that is refused or
 * replayed is not counted twice. A partition whose master cannot be
 * reached goes down (wk_down): its messages are dropped, it is paused in
 * Kafka, and wk_retry takes it again and seeks to the stored offset once
 * the master answers. Nothing is half-applied, because the step is all or
 * nothing. */
#include "worker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ladder/alloc.h"
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
    while (skip < p->nmsgs && p->decided >= 0 &&
           p->msgs[skip]->offset < p->decided)
        rd_kafka_message_destroy(p->msgs[skip++]);
    if (skip) {
        memmove(p->msgs, p->msgs + skip, (p->nmsgs - skip) * sizeof(*p->msgs));
        p->nmsgs -= skip;
        if (!p->nmsgs) return false;
    }
    int64_t first = p->msgs[0]->offset;
    if (p->decided < 0 && first > 0) {
        /* Nothing stored: this is a rebuild (a new or a lost Redis), and
         * the state is a function of the whole log. A log whose head is
         * gone cannot give it back, so the worker says so and stops
         * rather than build a register that misses designations. */
        LDR_LOG_ERROR("partition %d: nothing is stored for it and the input "
                      "log starts at offset %lld, not 0: the state cannot be "
                      "rebuilt from this log (its first %lld messages are "
                      "gone); stopping (docs/OPERATIONS.md, recovering from "
                      "a lost Redis)",
                      pn, (long long)first, (long long)first);
        wk_destroy_msgs(p->msgs, &p->nmsgs);
        w->exit_code = WK_EXIT_LOG_HEAD_GONE;
        ldr_svc_stop();
        return false;
    }
    /* The batch must start where the store says. Anything else means the
     * log no longer holds those messages (evicted): reported and counted,
     * never skipped silently. */
    int64_t expected = p->decided >= 0 ? p->decided : 0;
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
    if (rc == LDR_ERR_TRANSIENT) {
        /* the schema registry did not answer for an id not cached yet:
         * the message waits, it is not a dead letter */
        LDR_LOG_WARN("partition %d: offset %lld: %s", pn, (long long)km->offset,
                     err);
        return rc;
    }
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
    size_t before = w->out.count;
    uint64_t duplicates = w->out.duplicates;
    ldr_machine_cause_t cause = {w->input_topic, km->partition, km->offset};
    rc = ldr_partition_step(p->state, &rec, &cause, &w->out);
    if (rc) {
        LDR_LOG_ERROR("partition %d offset %lld: %s", pn, (long long)km->offset,
                      ldr_err_str(rc));
        abort(); /* the policies loaded at start cover every time */
    }
    rd_kafka_timestamp_type_t ts_type;
    int64_t ts = rd_kafka_message_timestamp(km, &ts_type);
    wk_note_decisions(w, before, now,
                      ts_type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts);
    w->cur->tally.events[kind][w->out.duplicates > duplicates ? WK_DUPLICATE
                                                              : WK_APPLIED]++;
    return LDR_OK;
}

/* Sends the atomic step of batch @p bt of partition @p pn, acknowledged
 * by Kafka (or with nothing to publish), to Redis: the oldest of the
 * partition's batches whose step is not sent yet. */
static void wk_send(wk_t *w, int pn, wk_batch_t *bt) {
    char err[512];
    wk_part_t *p = &w->part[pn];
    bt->publishing = false;
    wk_test_hold(); /* TEST-ONLY: LADDERTEST_HOLD_BEFORE_STORE */
    if (ldr_store_step_send(w->store, bt->step, err, sizeof(err))) {
        /* The cache holds batches Redis never got: reloaded on retry. */
        wk_redis_error(w);
        wk_drop_batches(w, pn);
        wk_down(w, pn, err);
        return;
    }
    bt->sent = true;
    bt->round = w->round;
    p->nsent++;
    w->round_owed++;
}

/* Moves the first @p k messages in hand to batch @p bt. Each array keeps
 * its room: swapping them made the partition's grow again by doubling
 * after every batch, and the allocator's work on those large blocks was a
 * tenth of the worker's time. */
static void wk_hand_over(wk_part_t *p, wk_batch_t *bt, size_t k) {
    if (bt->cap < k) {
        bt->cap = k;
        bt->msgs = realloc(bt->msgs, bt->cap * sizeof(*bt->msgs));
        if (!bt->msgs) abort();
    }
    memcpy(bt->msgs, p->msgs, k * sizeof(*p->msgs));
    bt->nmsgs = k;
    memmove(p->msgs, p->msgs + k, (p->nmsgs - k) * sizeof(*p->msgs));
    p->nmsgs -= k;
}

/* Decides the next batch of partition @p pn from the messages in hand,
 * builds its step and produces its decisions and dead letters;
 * wk_commit_acked sends its step once Kafka acknowledged them and every
 * earlier batch of the partition was sent. */
static void wk_prepare(wk_t *w, int pn) {
    wk_part_t *p = &w->part[pn];
    int64_t now = ldr_clock_wall_ms();
    if (!wk_skip_applied(w, p, pn)) return;
    int64_t first = p->msgs[0]->offset;
    wk_batch_t *bt = wk_batch_at(p, p->nbatch);
    w->cur = bt;
    bt->started = ldr_clock_mono_s();
    ldr_machine_out_clear(&w->out);
    ldr_buf_reset(&w->payload);
    memset(&bt->tally, 0, sizeof(bt->tally));
    size_t k = p->nmsgs < WK_STEP_MAX ? p->nmsgs : WK_STEP_MAX;
    for (size_t i = 0; i < k; i++)
        if (wk_decide(w, p, pn, p->msgs[i], now) == LDR_ERR_TRANSIENT) {
            /* the state holds part of a batch: taken again on retry */
            wk_drop_batches(w, pn);
            wk_down(w, pn, "a schema could not be resolved");
            return;
        }
    bt->first = p->decided >= 0 ? p->decided : first;
    bt->next = p->msgs[k - 1]->offset + 1;
    bt->why = RD_KAFKA_RESP_ERR_NO_ERROR;
    bt->sent = false;
    for (size_t i = 0; i < w->out.count; i++)
        if ((unsigned)w->out.v[i].decision < LDR_DECISION__COUNT)
            bt->tally.decisions[w->out.v[i].decision]++;
    ldr_store_batch_t b = {0};
    b.partition = pn;
    b.epoch = p->epoch;
    b.first_offset = bt->first;
    b.next_offset = bt->next;
    b.clock = ldr_partition_clock(p->state);
    b.dirty = ldr_partition_take_dirty(p->state, &b.dirty_count);
    b.decisions = w->out.v;
    b.decisions_count = w->out.count;
    b.notices_maxlen = 10000;
    if (!bt->step) bt->step = ldr_store_step_new();
    ldr_store_step_build(w->store, &b, bt->step);
    wk_hand_over(p, bt, k);
    p->nbatch++;
    p->decided = bt->next;
    if (w->payload.len || w->out.count) {
        wk_publish_batch(w, pn, bt);
    } else { /* nothing to wait for */
        bt->publishing = true;
        bt->unacked = 0;
        bt->failed = false;
    }
}

/* Sends, partition by partition and in order, the step of every batch
 * whose messages Kafka all acknowledged. A batch Kafka refused (after
 * librdkafka retried it for message.timeout.ms) is not committed: once
 * the steps sent before it are answered, the partition is taken again and
 * decides it again from the stored offset, with the same ids; while
 * stopping, it is left to the next owner. */
static void wk_commit_acked(wk_t *w) {
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_part_t *p = &w->part[pn];
        if (p->nsent == p->nbatch || !p->owned || p->down || p->stale_steps)
            continue;
        while (p->nsent < p->nbatch && !p->down) {
            wk_batch_t *bt = wk_batch_at(p, p->nsent);
            if (!bt->publishing || bt->unacked > 0) break;
            if (!bt->failed) {
                wk_send(w, pn, bt);
                continue;
            }
            if (ldr_svc_stopping() || p->nsent) break;
            LDR_LOG_ERROR("partition %d: Kafka did not take the batch at "
                          "offsets %lld..%lld (%s): nothing of it is "
                          "committed; deciding it again from the stored "
                          "offset",
                          pn, (long long)bt->first, (long long)bt->next - 1,
                          rd_kafka_err2str(bt->why));
            wk_retake(w, pn, "taking it again after Kafka refused a batch");
            break;
        }
    }
}

/* Finishes the partition's oldest batch, committed: counts it and moves
 * the partition on. */
static void wk_finish(wk_t *w, int pn) {
    wk_part_t *p = &w->part[pn];
    wk_batch_t *bt = wk_batch_at(p, 0);
    w->cur = bt;
    p->next_offset = bt->next;
    wk_count(w);
    /* The committed Kafka offset is a hint for lag monitoring only: stored
     * here, committed by librdkafka every auto.commit.interval.ms (a commit
     * request per batch cost the worker and the brokers dearly). */
    const rd_kafka_message_t *last = bt->msgs[bt->nmsgs - 1];
    rd_kafka_offset_store(last->rkt, last->partition, last->offset);
    wk_destroy_msgs(bt->msgs, &bt->nmsgs);
    ldr_metrics_observe(w->m.batch_seconds, NULL,
                        ldr_clock_mono_s() - bt->started);
    ldr_store_step_clear(bt->step, WK_KEEP_DECISIONS * 512);
    bt->sent = false;
    p->head = (p->head + 1) % WK_INFLIGHT;
    p->nbatch--;
    p->nsent--;
}

/* Every partition on master @p node goes down: the master's connection
 * was lost, and it may have restarted with older state. */
static void wk_node_lost(wk_t *w, int node, const char *why) {
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++)
        if (w->part[pn].owned && !w->part[pn].down &&
            ldr_store_partition_node(w->store, pn) == node)
            wk_down(w, pn, why);
}

/* The answer to a step. */
static void wk_step_answered(wk_t *w, const ldr_store_answer_t *a) {
    wk_part_t *p = &w->part[a->partition];
    if (p->stale_steps) {
        /* the step of a batch dropped since (revoked, taken again): the
         * store has the truth */
        p->stale_steps--;
        return;
    }
    if (!p->nsent) return;
    wk_batch_t *bt = wk_batch_at(p, 0);
    if (bt->round == w->round) w->round_owed--;
    if (a->result == LDR_OK) {
        wk_finish(w, a->partition);
        return;
    }
    /* The later steps sent are refused too (the stored offset is not
     * where they start): their answers are stale. */
    bt->sent = false;
    p->nsent--;
    wk_destroy_msgs(bt->msgs, &bt->nmsgs);
    p->head = (p->head + 1) % WK_INFLIGHT;
    p->nbatch--;
    wk_drop_batches(w, a->partition);
    if (a->result == LDR_ERR_FENCED) {
        /* Another owner wrote, or Redis rewound: the cache is not the
         * truth any more. */
        w->fenced++;
        ldr_metrics_add(w->m.fenced, NULL, 1);
        if (w->draining) { /* leaving it: the next owner has the truth */
            wk_destroy_msgs(p->msgs, &p->nmsgs);
            LDR_LOG_WARN("%s", a->why);
            return;
        }
        LDR_LOG_WARN("%s: reloading and seeking to the stored offset", a->why);
        wk_retake(w, a->partition, "reloading after a fenced step failed");
        return;
    }
    wk_redis_error(w);
    if (a->node_lost) wk_node_lost(w, a->node, a->why);
    wk_down(w, a->partition, a->why);
}

/* ldr_store_poll()'s callback. */
static void wk_on_answer(void *opaque, const ldr_store_answer_t *a) {
    wk_t *w = opaque;
    if (a->partition >= WK_MAX_PARTITIONS) return;
    switch (a->op) {
    case LDR_STORE_OP_STEP: wk_step_answered(w, a); return;
    case LDR_STORE_OP_TRIM:
        wk_trim_answered(w, a->partition, a->result == LDR_OK);
        break;
    case LDR_STORE_OP_PING:
    case LDR_STORE_OP_BEAT: break;
    }
    if (a->result == LDR_OK) return;
    wk_redis_error(w);
    if (a->node_lost)
        wk_node_lost(w, a->node, a->why);
    else if (a->partition >= 0)
        wk_down(w, a->partition, a->why);
    else
        LDR_LOG_WARN("%s", a->why);
}

/* Reads the answers of the steps this round sent, waiting for them up to
 * WK_ROUND_WAIT_MS: a master slower than that does not hold the others'
 * partitions back (its answers are taken in a later round). With @p busy
 * (a partition has a batch to decide), it takes only what has come: the
 * worker decides while Redis applies. */
static void wk_answers(wk_t *w, bool busy) {
    int64_t start = ldr_clock_mono_ms();
    if (busy) {
        ldr_store_poll(w->store, 0, wk_on_answer, w);
        return;
    }
    if (!w->round_owed) {
        /* Nothing of this round: take what has come, waiting a little
         * when answers are owed so that the loop does not spin. */
        ldr_store_poll(w->store, ldr_store_owed(w->store) ? 10 : 0,
                       wk_on_answer, w);
        return;
    }
    while (w->round_owed > 0 && !ldr_svc_stopping()) {
        int64_t left = start + WK_ROUND_WAIT_MS - ldr_clock_mono_ms();
        if (left <= 0) break;
        ldr_store_poll(w->store, (int)left, wk_on_answer, w);
    }
}

void wk_drain(wk_t *w, int64_t until_ms) {
    w->draining = true;
    for (;;) {
        rd_kafka_poll(w->producer, 0);
        wk_commit_acked(w);
        bool on_way = false;
        for (int pn = 0; pn < WK_MAX_PARTITIONS && !on_way; pn++) {
            wk_part_t *p = &w->part[pn];
            if (!p->owned || p->down || p->nsent == p->nbatch) continue;
            const wk_batch_t *bt = wk_batch_at(p, p->nsent);
            on_way = bt->publishing && !(bt->failed && !bt->unacked);
        }
        bool owed = ldr_store_owed(w->store) > 0;
        if (!on_way && !owed) break;
        int64_t left = until_ms - ldr_clock_mono_ms();
        if (left <= 0) break;
        int ms = left < 10 ? (int)left : 10;
        if (owed)
            ldr_store_poll(w->store, ms, wk_on_answer, w);
        else
            rd_kafka_poll(w->producer, ms);
    }
    w->draining = false;
}

/* Takes the down partitions again whose master answers: one failure per
 * master per attempt, then the next attempt after a growing delay. */
static void wk_retry(wk_t *w) {
    int failed[16], nfailed = 0;
    int back = 0;
    ldr_metrics_add(w->m.redis_retries, NULL, 1);
    for (int pn = 0; pn < WK_MAX_PARTITIONS && !ldr_svc_stopping(); pn++) {
        wk_part_t *p = &w->part[pn];
        if (!p->owned || !p->down || p->nsent || p->stale_steps) continue;
        int node = ldr_store_partition_node(w->store, pn);
        bool skip = false;
        for (int i = 0; i < nfailed && !skip; i++)
            skip = failed[i] == node;
        if (skip) continue;
        ldr_svc_heartbeat(w->svc);
        if (wk_take(w, pn) != LDR_OK) {
            if (nfailed < (int)LDR_ARRAY_SIZE(failed)) failed[nfailed++] = node;
            continue;
        }
        p->down = false;
        w->ndown--;
        back++;
        wk_seek(w, pn);
        wk_pause(w, pn, false);
    }
    if (!w->ndown) {
        w->next_refresh_ms = 0;
        LDR_LOG_INFO("redis is back: resumed from the stored offsets");
        return;
    }
    if (!back && w->retry_delay_ms < WK_RETRY_MAX_MS) w->retry_delay_ms *= 2;
    if (w->retry_delay_ms > WK_RETRY_MAX_MS)
        w->retry_delay_ms = WK_RETRY_MAX_MS;
    w->next_retry_ms = ldr_clock_mono_ms() + w->retry_delay_ms;
    LDR_LOG_WARN("%d partitions wait for their Redis master; retrying in %d ms",
                 w->ndown, w->retry_delay_ms);
}

/* ---- gauges, readiness and ticks --------------------------------------- */

/* Refreshes the gauges and the readiness /readyz reports. */
static void wk_refresh(wk_t *w) {
    int owned = 0, pending = 0;
    char why[160] = "";
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_part_t *p = &w->part[pn];
        pending += p->npending + (p->nbatch - p->nsent);
        if (!p->owned) continue;
        owned++;
        int64_t lag = wk_lag(w, pn);
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
    if (w->ndown)
        snprintf(why, sizeof(why),
                 "redis is unreachable for %d of the %d partitions", w->ndown,
                 owned);
    else if (!owned)
        snprintf(why, sizeof(why), "no partitions assigned");
    ldr_svc_set_ready(w->svc, !why[0], why);
}

/* Refreshes the heartbeat of every owned partition whose master answers:
 * one pipelined HSET each, every LDR_STORE_BEAT_INTERVAL_MS, so that
 * ladder-admin tells a live owner from one that only claimed last. It is
 * sent even while nothing arrives (an idle owner is alive too), and never
 * from the per-message path. */
static void wk_beat(wk_t *w) {
    char err[512];
    int64_t now = ldr_clock_wall_ms();
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_part_t *p = &w->part[pn];
        if (!p->owned || p->down) continue;
        if (ldr_store_beat_send(w->store, pn, now, err, sizeof(err))) {
            wk_redis_error(w);
            wk_down(w, pn, err);
        }
    }
}

/* Gathers a batch: polls until the queue runs dry or the batch is full
 * (waiting up to @p wait_ms for the first message), and hands each message
 * to its partition's batch in hand. */
static void wk_gather(wk_t *w, int wait_ms) {
    size_t n = 0, in_hand = 0;
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++)
        in_hand += w->part[pn].nmsgs;
    if (in_hand >= WK_IN_HAND_MAX) return; /* the steps take them first */
    for (;;) {
        rd_kafka_message_t *km =
            rd_kafka_consumer_poll(w->consumer, n ? 0 : wait_ms);
        if (!km) break;
        if (km->err) {
            if (km->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                LDR_LOG_WARN("consume: %s", rd_kafka_message_errstr(km));
            rd_kafka_message_destroy(km);
            continue;
        }
        if (km->partition < 0 || km->partition >= WK_MAX_PARTITIONS ||
            !w->part[km->partition].owned || w->part[km->partition].down) {
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
            /* An idle worker sends Redis nothing, so a Redis restarted
             * from an older AOF (state and offsets rewound) would go
             * unnoticed until the next message: ask every master. */
            ldr_store_ping_send(w->store);
        }
        if (ldr_clock_mono_ms() >= w->next_beat_ms) {
            wk_beat(w);
            w->next_beat_ms = ldr_clock_mono_ms() + LDR_STORE_BEAT_INTERVAL_MS;
        }
        if (w->ndown && ldr_clock_mono_ms() >= w->next_retry_ms) wk_retry(w);
        /* waits for input only when nothing else is owed */
        bool publishing = false;
        for (int pn = 0; pn < WK_MAX_PARTITIONS && !publishing; pn++)
            publishing = w->part[pn].nsent < w->part[pn].nbatch;
        wk_gather(w, ldr_store_owed(w->store) || publishing ? 0 : 100);
        /* Each partition's next batch is decided and produced while it
         * has fewer than WK_INFLIGHT on their way, then every acknowledged
         * batch's step sent before the first answer is read, so Kafka and
         * Redis work while the next are decided. A partition whose master
         * is slow waits alone. */
        w->round++;
        w->round_owed = 0;
        bool busy = false;
        for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
            wk_part_t *p = &w->part[pn];
            if (p->nmsgs && p->nbatch < WK_INFLIGHT && !p->stale_steps &&
                !p->down && p->owned) {
                wk_prepare(w, pn);
                busy |= p->nmsgs && p->nbatch < WK_INFLIGHT;
            }
        }
        /* the delivery reports, waiting a little for them when nothing
         * else is owed, so that the loop does not spin */
        rd_kafka_poll(w->producer,
                      publishing && !busy && !ldr_store_owed(w->store) ? 1 : 0);
        wk_commit_acked(w);
        wk_answers(w, busy);
        if (wk_check_producer(w))
            for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++)
                if (wk_unacked(&w->part[pn]))
                    wk_retake(w, pn,
                              "taking it again for the new producer failed");
        if (w->tick_interval_ms > 0 && ldr_clock_wall_ms() >= w->next_tick_ms) {
            wk_ticks(w);
            w->next_tick_ms = ldr_clock_wall_ms() + w->tick_interval_ms;
        }
        wk_trim_all(w);
    }
}
