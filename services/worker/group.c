/* group.c -- ladder-worker's consumer group: its consumer and what a
 * rebalance does.
 *
 * DESIGN: an assignment is not acknowledged until every partition of it is
 * taken (partitions.c), a partition whose Redis master is away going down
 * at once for the loop to retry. On revocation the batches on their way
 * are committed once Kafka acknowledged them (wk_drain, loop.c) and the
 * stored entries trimmed first, so the next owner decides and re-sends as
 * little as possible. Calls point down: main.c creates the consumer, its
 * callback drives the loop's drain and the partitions. */
#include "worker_int.h"

#include "ladder/alloc.h"
#include "ladder/clock.h"
#include "ladder/kafka.h"

void wk_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                  rd_kafka_topic_partition_list_t *parts, void *opaque) {
    wk_t *w = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* A partition whose master cannot be reached now is assigned all
         * the same and goes down at once: the loop takes it when the
         * master answers, and the others start meanwhile. */
        bool unreached[WK_MAX_PARTITIONS] = {false};
        for (int i = 0; i < parts->cnt; i++) {
            int pn = parts->elems[i].partition;
            if (pn < 0 || pn >= WK_MAX_PARTITIONS) continue;
            ldr_svc_heartbeat(w->svc);
            if (wk_take(w, pn) != LDR_OK) {
                unreached[pn] = true;
                w->part[pn].owned = true;
                continue;
            }
            parts->elems[i].offset = w->part[pn].next_offset >= 0
                                         ? w->part[pn].next_offset
                                         : RD_KAFKA_OFFSET_BEGINNING;
        }
        rd_kafka_assign(rk, parts);
        for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++)
            if (unreached[pn])
                wk_down(w, pn, "its Redis master did not answer the claim");
    } else {
        wk_drain(w, ldr_clock_mono_ms() + wk_wait_ms(w, 10000));
        rd_kafka_flush(w->producer, wk_wait_ms(w, 10000));
        for (int i = 0; i < parts->cnt; i++) {
            int pn = parts->elems[i].partition;
            if (pn >= 0 && pn < WK_MAX_PARTITIONS) {
                wk_trim(w, pn);
                wk_drop(w, pn);
            }
        }
        rd_kafka_assign(rk, NULL);
    }
}

rd_kafka_t *wk_consumer_new(wk_t *w, char *err, size_t n) {
    /* Offsets are stored by hand once Redis took a batch (wk_finish) and
     * committed by librdkafka in the background: a hint for lag
     * monitoring only. The prefetch is a few loops' worth, not
     * librdkafka's 64 MiB, and so is one fetch: a response is kept whole
     * until the last of its messages is destroyed, and with the default
     * 50 MiB a broker's response took a whole message set of every one of
     * its partitions (about 1 MiB each from a well-batched producer) at
     * once. 8 MiB took 30-40 MB off the worker's RSS in ladder-bench at
     * the same rate (docs/BENCHMARKS.md). */
    static const ldr_kafka_prop_t defaults[] = {
        {"enable.auto.commit", "true"},
        {"enable.auto.offset.store", "false"},
        {"auto.commit.interval.ms", "1000"},
        {"queued.max.messages.kbytes", "16384"},
        {"fetch.max.bytes", "8388608"},
    };
    rd_kafka_conf_t *conf = ldr_kafka_conf_new(
        w->cfg, LDR_KAFKA_CONSUMER, defaults, LDR_ARRAY_SIZE(defaults), err, n);
    if (!conf) return NULL;
    rd_kafka_conf_set_rebalance_cb(conf, wk_rebalance);
    rd_kafka_conf_set_opaque(conf, w);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, n);
    if (!rk) rd_kafka_conf_destroy(conf); /* still ours on failure */
    return rk;
}
