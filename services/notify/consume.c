/* consume.c -- the Kafka side: consume loop, rebalances, commits, lag.
 *
 * DESIGN: the main thread consumes the decisions topic in a consumer group
 * and decodes each DesignationDecision; when a subscriber selects its
 * type, it becomes one CloudEvents JSON body, shared by every subscriber
 * queue it is pushed to. Offsets are committed explicitly, per partition,
 * and only up to the first message that some subscriber has not yet
 * acknowledged or dead-lettered: every consumed message, selected or not,
 * has an entry in its partition's ordered list with a count of deliveries
 * outstanding, and finished entries are popped from the front before each
 * commit. A crash or a rebalance therefore re-sends at most the
 * uncommitted tail and never skips a notice. A revoked partition's list is
 * dropped while its notices may still sit in queues: they are marked
 * abandoned, for the new owner re-sends them from the committed offset.
 * Consumption pauses while NT_INFLIGHT_MAX entries are outstanding, and
 * from a commit refused for a rebalance until the new assignment. */
#include "notify_int.h"

#include "ladder/alloc.h"
#include "ladder/clock.h"
#include "ladder/cloudevents.h"
#include "ladder/kafka.h"
#include "ladder/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void nt_part_push(nt_part_t *p, nt_notice_t *n) {
    if (p->len == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        nt_notice_t **v = ldr_malloc(cap * sizeof(*v));
        for (size_t i = 0; i < p->len; i++)
            v[i] = p->v[(p->head + i) % p->cap];
        free(p->v);
        p->v = v;
        p->head = 0;
        p->cap = cap;
    }
    p->v[(p->head + p->len) % p->cap] = n;
    p->len++;
}

void nt_advance(nt_t *nt) {
    for (int pn = 0; pn < NT_MAX_PARTITIONS; pn++) {
        nt_part_t *p = &nt->part[pn];
        while (p->len && atomic_load(&p->v[p->head]->left) == 0) {
            nt_notice_t *n = p->v[p->head];
            p->done_next = n->offset + 1;
            p->head = (p->head + 1) % p->cap;
            p->len--;
            nt->inflight--;
            nt_notice_release(n);
        }
    }
}

/* Commits refused because the group is rebalancing (or this member's
 * generation just ended) are expected around every rebalance: they are
 * counted and logged at debug level, and the partition is committed again
 * on the next round, or by its next owner. */
static bool nt_commit_rebalancing(rd_kafka_resp_err_t err) {
    return err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
           err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
           err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID;
}

void nt_commit(nt_t *nt, const rd_kafka_topic_partition_list_t *only,
               bool sync) {
    rd_kafka_topic_partition_list_t *list =
        rd_kafka_topic_partition_list_new(8);
    for (int pn = 0; pn < NT_MAX_PARTITIONS; pn++) {
        nt_part_t *p = &nt->part[pn];
        if (!p->owned || p->done_next < 0 || p->done_next == p->committed_next)
            continue;
        if (only && !rd_kafka_topic_partition_list_find(only, nt->topic, pn))
            continue;
        rd_kafka_topic_partition_list_add(list, nt->topic, pn)->offset =
            p->done_next;
    }
    if (list->cnt) {
        rd_kafka_resp_err_t kerr = rd_kafka_commit(nt->consumer, list, !sync);
        if (kerr && kerr != RD_KAFKA_RESP_ERR__NO_OFFSET) {
            ldr_metrics_add(nt->m.commit_failures, NULL, 1);
            if (nt_commit_rebalancing(kerr))
                LDR_LOG_INFO("commit: %s: the next owner of these "
                             "partitions sends again what was not committed",
                             rd_kafka_err2str(kerr));
            else
                LDR_LOG_WARN("commit: %s", rd_kafka_err2str(kerr));
        } else
            for (int i = 0; i < list->cnt; i++) {
                nt_part_t *p = &nt->part[list->elems[i].partition];
                p->committed_next = list->elems[i].offset;
                ldr_metrics_set(nt->m.committed, LDR_METRICS_LABELS(p->label),
                                (double)p->committed_next);
            }
    }
    rd_kafka_topic_partition_list_destroy(list);
}

/* The group is rebalancing: nothing read from now on could be committed
 * before the partitions move, so reading more would only make work for
 * their next owner to repeat. Consumption pauses until the assignment of
 * the new generation. (A real Kafka accepts commits while a rebalance is
 * being prepared; the embedded cluster refuses them.) */
static void nt_pause_for_rebalance(nt_t *nt) {
    if (nt->rebalancing) return;
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (rd_kafka_assignment(nt->consumer, &assigned) || !assigned) return;
    rd_kafka_pause_partitions(nt->consumer, assigned);
    rd_kafka_topic_partition_list_destroy(assigned);
    nt->rebalancing = true;
    LDR_LOG_INFO("the group is rebalancing: consumption paused until the new "
                 "assignment");
}

/* The result of an asynchronous commit (served on the main thread by the
 * consumer poll). A failed partition is committed again on the next round. */
static void nt_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *offsets,
                         void *opaque) {
    (void)rk;
    nt_t *nt = opaque;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR ||
        err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return;
    for (int i = 0; offsets && i < offsets->cnt; i++) {
        int pn = offsets->elems[i].partition;
        rd_kafka_resp_err_t perr =
            offsets->elems[i].err ? offsets->elems[i].err : err;
        ldr_metrics_add(nt->m.commit_failures, NULL, 1);
        if (nt_commit_rebalancing(perr)) nt_pause_for_rebalance(nt);
        if (nt_commit_rebalancing(perr))
            LDR_LOG_DEBUG("commit of %s/%d at %lld: %s", nt->topic, pn,
                          (long long)offsets->elems[i].offset,
                          rd_kafka_err2str(perr));
        else
            LDR_LOG_WARN("commit of %s/%d at %lld: %s; retrying", nt->topic, pn,
                         (long long)offsets->elems[i].offset,
                         rd_kafka_err2str(perr));
        if (pn >= 0 && pn < NT_MAX_PARTITIONS) nt->part[pn].committed_next = -1;
    }
}

/* Forgets a partition: its notices still queued are abandoned (the next
 * owner reads them again from the committed offset). */
void nt_part_drop(nt_t *nt, int pn) {
    nt_part_t *p = &nt->part[pn];
    while (p->len) {
        nt_notice_t *n = p->v[p->head];
        atomic_store(&n->abandoned, true);
        p->head = (p->head + 1) % p->cap;
        p->len--;
        nt->inflight--;
        nt_notice_release(n);
    }
    if (p->owned) {
        ldr_metrics_remove(nt->m.lag, LDR_METRICS_LABELS(p->label));
        ldr_metrics_remove(nt->m.committed, LDR_METRICS_LABELS(p->label));
    }
    p->owned = false;
}

static void nt_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    nt_t *nt = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++) {
            int pn = parts->elems[i].partition;
            if (pn < 0 || pn >= NT_MAX_PARTITIONS) continue;
            nt_part_t *p = &nt->part[pn];
            nt_part_drop(nt, pn);
            p->owned = true;
            p->done_next = p->committed_next = p->seen_next = -1;
            p->from_log_start = false;
        }
        LDR_LOG_INFO("assigned %d partitions of %s", parts->cnt, nt->topic);
        rd_kafka_assign(rk, parts);
        /* A new generation: commits work again. */
        nt->rebalancing = false;
        if (nt->paused)
            rd_kafka_pause_partitions(rk, parts);
        else
            rd_kafka_resume_partitions(rk, parts);
    } else {
        /* Commit what every subscriber finished, then let go. */
        nt_advance(nt);
        nt_commit(nt, parts, true);
        for (int i = 0; i < parts->cnt; i++) {
            int pn = parts->elems[i].partition;
            if (pn >= 0 && pn < NT_MAX_PARTITIONS) nt_part_drop(nt, pn);
        }
        LDR_LOG_INFO("revoked %d partitions of %s", parts->cnt, nt->topic);
        rd_kafka_assign(rk, NULL);
    }
}

/* Pauses consumption while too much is outstanding, resumes at half. */
static void nt_flow(nt_t *nt) {
    bool pause = nt->inflight >= NT_INFLIGHT_MAX;
    bool resume = nt->inflight <= NT_INFLIGHT_MAX / 2;
    if (nt->rebalancing) return;
    if ((nt->paused && !resume) || (!nt->paused && !pause)) return;
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (rd_kafka_assignment(nt->consumer, &assigned) || !assigned) return;
    if (pause) {
        rd_kafka_pause_partitions(nt->consumer, assigned);
        LDR_LOG_INFO("%zu notices outstanding: pausing consumption",
                     nt->inflight);
    } else {
        rd_kafka_resume_partitions(nt->consumer, assigned);
        LDR_LOG_INFO("%zu notices outstanding: resuming consumption",
                     nt->inflight);
    }
    nt->paused = pause;
    rd_kafka_topic_partition_list_destroy(assigned);
}

/* ---- consuming (main thread) -------------------------------------------- */

/* A decision whose schema cannot be resolved now (the registry is down or
 * slow, and its id is not cached) is neither delivered nor skipped: the
 * partition goes back to that offset and the main thread waits, doubling
 * from NT_RETRY_MIN_MS to NT_RETRY_MAX_MS, before it reads again. */
#define NT_RETRY_MIN_MS 100
#define NT_RETRY_MAX_MS 2000

static void nt_retry_later(nt_t *nt, const rd_kafka_message_t *km,
                           const char *err) {
    if (!nt->retry_ms) {
        LDR_LOG_WARN("%s/%d/%lld: %s; waiting for it, nothing is skipped",
                     nt->topic, km->partition, (long long)km->offset, err);
        nt->retry_ms = NT_RETRY_MIN_MS;
    } else {
        LDR_LOG_DEBUG("%s/%d/%lld: still waiting: %s", nt->topic, km->partition,
                      (long long)km->offset, err);
        nt->retry_ms = nt->retry_ms * 2 > NT_RETRY_MAX_MS ? NT_RETRY_MAX_MS
                                                          : nt->retry_ms * 2;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(nt->consumer, nt->topic, NULL);
    rd_kafka_resp_err_t kerr =
        rd_kafka_seek(rkt, km->partition, km->offset, 5000);
    if (kerr)
        LDR_LOG_WARN("%s/%d: seek to %lld: %s", nt->topic, km->partition,
                     (long long)km->offset, rd_kafka_err2str(kerr));
    rd_kafka_topic_destroy(rkt);
    ldr_metrics_add(nt->m.transient, NULL, 1);
    int64_t until = ldr_clock_mono_ms() + nt->retry_ms;
    while (!ldr_svc_stopping() && ldr_clock_mono_ms() < until)
        ldr_clock_sleep_ms(20);
}

static void nt_handle(nt_t *nt, rd_kafka_message_t *km) {
    int pn = km->partition;
    if (pn < 0 || pn >= NT_MAX_PARTITIONS || !nt->part[pn].owned) return;
    nt_part_t *p = &nt->part[pn];
    if (p->seen_next >= 0 && km->offset < p->seen_next) return; /* re-read */
    ldr_record_t rec;
    char err[512];
    ldr_err_t rc = ldr_codec_decode(nt->codec, km->payload, km->len, &rec, NULL,
                                    err, sizeof(err));
    if (rc == LDR_ERR_TRANSIENT) {
        nt_retry_later(nt, km, err);
        return;
    }
    nt->retry_ms = 0;
    if (p->seen_next >= 0 && km->offset > p->seen_next) {
        /* The log no longer held these (evicted before they were read):
         * reported and counted, never skipped silently. */
        LDR_LOG_ERROR("partition %d: expected offset %lld, got %lld: %lld "
                      "decisions are gone",
                      pn, (long long)p->seen_next, (long long)km->offset,
                      (long long)(km->offset - p->seen_next));
        ldr_metrics_add(nt->m.lost, NULL, (double)(km->offset - p->seen_next));
    }
    p->seen_next = km->offset + 1;
    nt->read++;
    nt_notice_t *n = ldr_calloc(1, sizeof(*n));
    n->partition = pn;
    n->offset = km->offset;
    rd_kafka_timestamp_type_t ts_type;
    int64_t ts = rd_kafka_message_timestamp(km, &ts_type);
    n->ts_ms = ts_type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts;
    if (!rc && rec.kind != LDR_RECORD_DECISION) {
        rc = LDR_ERR_DECODE_FAILED;
        snprintf(err, sizeof(err), "not a DesignationDecision (%s)",
                 ldr_record_kind_fullname(rec.kind));
    }
    nt_sub_t *chosen[NT_MAX_SUBSCRIBERS];
    int nchosen = 0;
    if (rc) {
        LDR_LOG_ERROR("%s/%d/%lld: skipped: %s", nt->topic, pn,
                      (long long)km->offset, err);
        ldr_metrics_add(nt->m.undecodable, NULL, 1);
        nt->undecodable++;
    } else {
        const ldr_decision_t *d = &rec.u.decision;
        ldr_metrics_add(nt->m.decisions,
                        LDR_METRICS_LABELS(ldr_decision_type_name(d->decision)),
                        1);
        for (int i = 0; i < nt->nsubs; i++)
            if (nt->sub[i].types & (1u << (unsigned)d->decision))
                chosen[nchosen++] = &nt->sub[i];
        if (nchosen) {
            json_t *ev = ldr_cloudevents_from_decision(d);
            n->body = json_dumps(ev, JSON_COMPACT);
            json_decref(ev);
            if (!n->body) abort(); /* out of memory, or a bug in the form */
            n->body_len = strlen(n->body);
            n->id = ldr_strndup(d->decision_id.ptr ? d->decision_id.ptr : "",
                                d->decision_id.len);
            nt->selected++;
        }
    }
    atomic_init(&n->left, nchosen);
    atomic_init(&n->refs, nchosen + 1);
    atomic_init(&n->abandoned, false);
    nt_part_push(p, n);
    nt->inflight++;
    for (int i = 0; i < nchosen; i++)
        nt_sub_push(chosen[i], n);
}

/* Lag of a partition: its high watermark minus the first offset not yet
 * acknowledged by every subscriber (or the fetch position, when nothing
 * is outstanding). -1 when not known. */
static int64_t nt_lag(nt_t *nt, int pn) {
    nt_part_t *p = &nt->part[pn];
    int64_t lo = -1, hi = -1;
    if (rd_kafka_get_watermark_offsets(nt->consumer, nt->topic, pn, &lo, &hi) ||
        hi < 0)
        return -1;
    int64_t from;
    if (p->len)
        from = p->v[p->head]->offset;
    else if (p->seen_next >= 0)
        from = p->seen_next;
    else if (p->from_log_start && lo >= 0)
        from = lo;
    else
        return -1;
    return hi > from ? hi - from : 0;
}

/* Where the owned partitions that have not had a message since their
 * assignment stand: their committed offsets (asked here, on the main
 * thread, not in the rebalance callback, where a slow answer would hold up
 * the whole group). It is the offset the first message must have, so a
 * later one shows decisions evicted before they were read (nt_handle), and
 * it is where the lag counts from. Without a committed offset reading
 * starts at the beginning of the log. */
static void nt_learn_positions(nt_t *nt) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    for (int pn = 0; pn < NT_MAX_PARTITIONS; pn++) {
        nt_part_t *p = &nt->part[pn];
        if (p->owned && p->seen_next < 0 && !p->len && !p->from_log_start)
            rd_kafka_topic_partition_list_add(l, nt->topic, pn);
    }
    if (l->cnt && !rd_kafka_committed(nt->consumer, l, 500))
        for (int i = 0; i < l->cnt; i++) {
            nt_part_t *p = &nt->part[l->elems[i].partition];
            if (l->elems[i].err || !p->owned || p->seen_next >= 0 || p->len)
                continue;
            if (l->elems[i].offset >= 0)
                p->seen_next = p->committed_next = l->elems[i].offset;
            else
                p->from_log_start = true;
        }
    rd_kafka_topic_partition_list_destroy(l);
}

static void nt_refresh(nt_t *nt) {
    nt_learn_positions(nt);
    int owned = 0;
    for (int pn = 0; pn < NT_MAX_PARTITIONS; pn++) {
        nt_part_t *p = &nt->part[pn];
        if (!p->owned) continue;
        owned++;
        int64_t lag = nt_lag(nt, pn);
        if (lag >= 0)
            ldr_metrics_set(nt->m.lag, LDR_METRICS_LABELS(p->label),
                            (double)lag);
    }
    for (int i = 0; i < nt->nsubs; i++) {
        nt_sub_t *s = &nt->sub[i];
        pthread_mutex_lock(&s->lock);
        size_t depth = s->qlen;
        pthread_mutex_unlock(&s->lock);
        ldr_metrics_set(nt->m.queue, LDR_METRICS_LABELS(s->name),
                        (double)depth);
    }
    ldr_metrics_set(nt->m.assigned, NULL, owned);
    ldr_svc_set_ready(nt->svc, owned > 0, "no partitions assigned");
}

rd_kafka_t *nt_consumer(nt_t *nt, char *err, size_t n) {
    /* Offsets are committed by hand, after delivery; kafka.* keys may
     * change the other defaults. */
    static const ldr_kafka_prop_t defaults[] = {
        {"enable.auto.commit", "false"}, {"enable.auto.offset.store", "false"}};
    /* The commit must stay in ladder-notify's hands whatever kafka.* says. */
    static const ldr_kafka_prop_t forced[] = {{"enable.auto.commit", "false"}};
    rd_kafka_conf_t *conf =
        ldr_kafka_conf_new(nt->cfg, LDR_KAFKA_CONSUMER, defaults,
                           LDR_ARRAY_SIZE(defaults), err, n);
    if (!conf) return NULL;
    if (ldr_kafka_conf_set(conf, forced, LDR_ARRAY_SIZE(forced), err, n)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_rebalance_cb(conf, nt_rebalance);
    rd_kafka_conf_set_offset_commit_cb(conf, nt_commit_cb);
    rd_kafka_conf_set_opaque(conf, nt);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, n);
    if (!rk) rd_kafka_conf_destroy(conf); /* still ours on failure */
    return rk;
}

ldr_err_t nt_subscribe(nt_t *nt) {
    rd_kafka_poll_set_consumer(nt->consumer);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, nt->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t kerr = rd_kafka_subscribe(nt->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (kerr) {
        LDR_LOG_ERROR("subscribe to %s: %s", nt->topic, rd_kafka_err2str(kerr));
        return LDR_ERR_CONFIG;
    }
    LDR_LOG_INFO("consuming %s as group %s, %d subscribers", nt->topic,
                 ldr_config_get(nt->cfg, "group.id"), nt->nsubs);
    return LDR_OK;
}

void nt_run(nt_t *nt) {
    while (!ldr_svc_stopping()) {
        ldr_svc_heartbeat(nt->svc);
        rd_kafka_message_t *km = rd_kafka_consumer_poll(nt->consumer, 20);
        if (km) {
            if (km->err) {
                if (km->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    LDR_LOG_WARN("consume: %s", rd_kafka_message_errstr(km));
            } else {
                nt_handle(nt, km);
            }
            rd_kafka_message_destroy(km);
        }
        int64_t now = ldr_clock_mono_ms();
        if (now >= nt->next_commit_ms) {
            nt_advance(nt);
            nt_commit(nt, NULL, false);
            nt_flow(nt);
            nt->next_commit_ms = now + NT_COMMIT_MS;
        }
        if (now >= nt->next_refresh_ms) {
            nt_refresh(nt);
            nt->next_refresh_ms = now + NT_REFRESH_MS;
        }
    }
}
