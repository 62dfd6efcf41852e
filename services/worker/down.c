/* down.c -- a partition whose Redis master cannot be reached goes down:
 * its messages are dropped and it is paused in Kafka until wk_retry
 * (loop.c) takes it again.
 *
 * DESIGN: every file that talks to Redis may find a master gone -- the
 * loop's steps, publish.c's trims, partitions.c's claims -- so this sits
 * below all of them and calls none of them. */
#include "worker_int.h"

#include "ladder/clock.h"
#include "ladder/log.h"

/* Pauses or resumes the consumption of input partition @p pn. */
void wk_pause(wk_t *w, int pn, bool pause) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, w->input_topic, pn);
    if (pause)
        rd_kafka_pause_partitions(w->consumer, l);
    else
        rd_kafka_resume_partitions(w->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
}

void wk_down(wk_t *w, int pn, const char *why) {
    wk_part_t *p = &w->part[pn];
    wk_destroy_msgs(p->msgs, &p->nmsgs);
    if (!p->owned || p->down) return;
    p->down = true;
    if (!w->ndown++) {
        w->retry_delay_ms = WK_RETRY_MIN_MS;
        w->next_retry_ms = ldr_clock_mono_ms() + w->retry_delay_ms;
        ldr_svc_set_ready(w->svc, false, "redis is unreachable");
    }
    wk_pause(w, pn, true);
    LDR_LOG_WARN("partition %d: %s; paused until its Redis master answers", pn,
                 why);
}
