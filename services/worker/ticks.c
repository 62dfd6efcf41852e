/* ticks.c -- a partition's lag, and the ClockTicks ladder-worker writes
 * into its caught-up partitions.
 *
 * DESIGN: a quiet partition's timers fire only when its event-time clock
 * moves, so with clock.tick.interval.ms set the worker writes ClockTicks
 * into the log itself (DESIGN.md guarantee 4): a replay then sees the same
 * ticks. A partition gets one only when it is fully caught up (lag 0) and
 * its clock is behind the wall clock, so a tick never jumps a replay
 * forward. The lag is the high watermark librdkafka last saw minus the
 * stored next offset; the loop's readiness reads it too. */
#include "worker_int.h"

#include "ladder/clock.h"
#include "ladder/log.h"

/* The partition's lag: its high watermark minus the stored next offset
 * (or the log start, when nothing is stored yet). The watermarks come from
 * librdkafka's cache, which every fetch refreshes, and only from there:
 * rd_kafka_query_watermark_offsets() waits for its request's answer past
 * its timeout while the brokers are unreachable (docs/RELIABILITY.md), and the
 * loop must keep coming round. Returns -1 when the lag is not known (no fetch
 * has answered yet). */
int64_t wk_lag(wk_t *w, int pn) {
    int64_t lo = -1, hi = -1;
    rd_kafka_resp_err_t kerr = rd_kafka_get_watermark_offsets(
        w->consumer, w->input_topic, pn, &lo, &hi);
    if (kerr || hi < 0) return -1;
    int64_t from = w->part[pn].next_offset;
    if (from < 0) from = lo > 0 ? lo : 0;
    return hi > from ? hi - from : 0;
}

/* Writes a ClockTick into each owned partition that is fully caught up and
 * whose clock is behind the wall clock (DESIGN.md, guarantee 4). Ticks go
 * into the log itself, so a replay sees the same ticks; a partition that
 * still has messages to read gets none, so a tick never jumps a replay
 * forward. */
void wk_ticks(wk_t *w) {
    int64_t now = ldr_clock_wall_ms();
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_part_t *p = &w->part[pn];
        if (!p->owned || p->nmsgs || !p->state ||
            ldr_partition_clock(p->state) >= now || wk_lag(w, pn) != 0)
            continue;
        ldr_record_t rec = {.kind = LDR_RECORD_CLOCK_TICK};
        rec.u.tick.tick_at = now;
        rec.u.tick.source = ldr_str("ladder-worker");
        const void *bytes;
        size_t len;
        char err[512];
        if (ldr_codec_encode(w->codec, &rec, &bytes, &len, err, sizeof(err))) {
            LDR_LOG_ERROR("tick: %s", err);
            return;
        }
        rd_kafka_resp_err_t kerr = rd_kafka_producev(
            w->producer, RD_KAFKA_V_TOPIC(w->input_topic),
            RD_KAFKA_V_PARTITION(pn), RD_KAFKA_V_VALUE((void *)bytes, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (kerr)
            LDR_LOG_WARN("tick for partition %d: %s", pn,
                         rd_kafka_err2str(kerr));
        else
            w->ticks_written++;
    }
}
