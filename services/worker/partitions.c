/* partitions.c -- the input partitions the worker owns: taking, dropping,
 * seeking in them.
 *
 * DESIGN: the offsets Redis holds are the truth, Kafka's committed offsets
 * only a hint. Taking a partition claims it in Redis (a new owner epoch,
 * which fences any previous owner's steps), loads its state, re-sends the
 * outbox entries a worker of an earlier version left and starts consuming
 * at the stored next offset. When the group assigns and revokes them is
 * group.c's concern; this file calls into nothing above it. */
#include "worker_int.h"

#include "ladder/log.h"

void wk_drop_batches(wk_t *w, int partition) {
    wk_part_t *p = &w->part[partition];
    for (int i = 0; i < p->nbatch; i++) {
        wk_batch_t *bt = wk_batch_at(p, i);
        if (bt->sent) {
            p->stale_steps++;
            if (bt->round == w->round && w->round_owed > 0) w->round_owed--;
        }
        bt->sent = false;
        bt->publishing = false;
        wk_destroy_msgs(bt->msgs, &bt->nmsgs);
        if (bt->step) ldr_store_step_clear(bt->step, WK_KEEP_DECISIONS * 512);
    }
    p->head = 0;
    p->nbatch = 0;
    p->nsent = 0;
    p->decided = p->next_offset;
    /* their delivery reports to come count nothing down */
    p->generation++;
}

void wk_drop(wk_t *w, int partition) {
    wk_part_t *p = &w->part[partition];
    wk_destroy_msgs(p->msgs, &p->nmsgs);
    wk_drop_batches(w, partition);
    ldr_partition_destroy(p->state);
    p->state = NULL;
    if (p->owned) ldr_metrics_remove(w->m.lag, LDR_METRICS_LABELS(p->label));
    if (p->down) w->ndown--;
    p->down = false;
    p->owned = false;
}

ldr_err_t wk_take(wk_t *w, int partition) {
    wk_part_t *p = &w->part[partition];
    char err[512];
    ldr_err_t rc;
    /* A partition still owned is being reloaded (fenced, or Redis came
     * back): remember how far this worker had stored, to tell a rewound
     * store from a restart. */
    int64_t cached = p->owned ? p->next_offset : -1;
    ldr_partition_destroy(p->state);
    p->state = ldr_partition_new(w->policies);
    p->npending = 0;
    p->held_back = false;
    /* The batches produced and not committed are decided again from the
     * stored offset (their reports, of the generation before, are not
     * counted); the answers their sent steps are owed are stale. */
    wk_drop_batches(w, partition);
    if ((rc = ldr_store_claim(w->store, partition, &p->epoch, err,
                              sizeof(err))) ||
        (rc = ldr_store_load(w->store, partition, p->state, &p->next_offset,
                             err, sizeof(err)))) {
        LDR_LOG_ERROR("partition %d: %s", partition, err);
        wk_redis_error(w);
        return rc;
    }
    p->decided = p->next_offset;
    wk_tag_t t = {w, partition, 0, false, 0, -1};
    if ((rc = ldr_store_outbox(w->store, partition, wk_publish_cb, &t, err,
                               sizeof(err)))) {
        LDR_LOG_ERROR("partition %d: %s", partition, err);
        wk_redis_error(w);
        return rc;
    }
    int64_t stored = p->next_offset >= 0 ? p->next_offset : 0;
    if (cached > stored) {
        /* Redis lost writes it had acknowledged (an AOF restart loses the
         * last second): the state and the offset rewound together, and
         * the messages since are replayed. */
        LDR_LOG_WARN("partition %d: the store rewound from offset %lld to "
                     "%lld: replaying %lld messages",
                     partition, (long long)cached, (long long)stored,
                     (long long)(cached - stored));
        ldr_metrics_add(w->m.rewound, NULL, (double)(cached - stored));
    }
    p->owned = true;
    w->next_beat_ms = 0; /* its heartbeat at the loop's next round */
    LDR_LOG_INFO("partition %d: owner epoch %lld, %zu enterprises, resuming "
                 "at offset %lld",
                 partition, (long long)p->epoch, ldr_partition_count(p->state),
                 (long long)p->next_offset);
    return LDR_OK;
}

/* Moves consumption of a partition to its stored next offset. Messages
 * already fetched from the old position are discarded by librdkafka. (The
 * per-partition rd_kafka_seek: rd_kafka_seek_partitions has a timeout bug
 * in 2.0.2, PITFALLS.md.) */
void wk_seek(wk_t *w, int partition) {
    wk_part_t *p = &w->part[partition];
    rd_kafka_topic_t *rkt =
        rd_kafka_topic_new(w->consumer, w->input_topic, NULL);
    rd_kafka_resp_err_t kerr = rd_kafka_seek(
        rkt, partition,
        p->next_offset >= 0 ? p->next_offset : RD_KAFKA_OFFSET_BEGINNING, 5000);
    if (kerr)
        LDR_LOG_WARN("partition %d: seek to %lld: %s", partition,
                     (long long)p->next_offset, rd_kafka_err2str(kerr));
    rd_kafka_topic_destroy(rkt);
}

void wk_retake(wk_t *w, int partition, const char *why) {
    wk_destroy_msgs(w->part[partition].msgs, &w->part[partition].nmsgs);
    if (wk_take(w, partition) == LDR_OK)
        wk_seek(w, partition);
    else
        wk_down(w, partition, why);
}
