/* metrics.c -- ladder-worker's Prometheus families and the counts of a
 * stored batch.
 *
 * DESIGN: the loop is the only writer of these metrics, and a batch's
 * counts (events by kind and outcome, decisions by type, dead letters by
 * code) are added only once Redis has taken the batch, so a batch that is
 * refused or replayed is never counted twice. Every code and type is
 * created at start with 0, so a rate is 0 rather than missing. */
#include "worker_int.h"

#include "ladder/alloc.h"

void wk_metrics_register(wk_t *w) {
    static const double batch_bounds[] = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    static const double latency_bounds[] = {
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
    ldr_metrics_t *m = ldr_svc_metrics(w->svc);
    w->m.events = ldr_metrics_counter(
        m, "ladder_worker_events_total",
        "Input messages by kind and outcome (applied, duplicate, "
        "dead_letter), counted once their batch is stored.",
        "kind,outcome");
    w->m.decisions = ldr_metrics_counter(
        m, "ladder_worker_decisions_total",
        "Decisions made, by type, counted once their batch is stored.", "type");
    w->m.dead_letters = ldr_metrics_counter(
        m, "ladder_worker_dead_letters_total",
        "Messages sent to the dead-letter topic, by error code.", "code");
    w->m.duplicates = ldr_metrics_counter(
        m, "ladder_worker_duplicates_total",
        "Messages ignored because their event_id was applied before.", NULL);
    w->m.batch_seconds = ldr_metrics_histogram(
        m, "ladder_worker_batch_duration_seconds",
        "Time to decode, decide, store and hand over one partition's batch.",
        NULL, batch_bounds, LDR_ARRAY_SIZE(batch_bounds));
    w->m.latency_seconds = ldr_metrics_histogram(
        m, "ladder_worker_decision_latency_seconds",
        "From the input message's timestamp to Kafka's acknowledgement of "
        "the decision it caused.",
        NULL, latency_bounds, LDR_ARRAY_SIZE(latency_bounds));
    w->m.lag = ldr_metrics_gauge(
        m, "ladder_worker_partition_lag",
        "Messages of an owned partition not yet stored: high watermark "
        "minus the stored next offset.",
        "partition");
    w->m.backlog = ldr_metrics_gauge(
        m, "ladder_worker_unacknowledged_batches",
        "Batches whose decisions and dead letters are produced to Kafka and "
        "not all acknowledged yet (not committed until they are), and outbox "
        "entries an earlier version left, produced again and not yet "
        "trimmed.",
        NULL);
    w->m.assigned =
        ldr_metrics_gauge(m, "ladder_worker_partitions_assigned",
                          "Input partitions this worker owns.", NULL);
    w->m.redis_errors = ldr_metrics_counter(
        m, "ladder_worker_redis_errors_total",
        "Redis operations that failed (the batch is replayed, never half "
        "applied).",
        NULL);
    w->m.redis_retries = ldr_metrics_counter(
        m, "ladder_worker_redis_retries_total",
        "Attempts to reconnect to Redis and claim the partitions again.", NULL);
    w->m.lost = ldr_metrics_counter(
        m, "ladder_worker_lost_messages_total",
        "Input messages the log no longer held when the worker reached "
        "them (evicted before they were decided): never skipped silently.",
        NULL);
    w->m.fenced = ldr_metrics_counter(
        m, "ladder_worker_fenced_batches_total",
        "Batches Redis refused (another owner, or a rewound store): the "
        "partition was reloaded.",
        NULL);
    w->m.rewound = ldr_metrics_counter(
        m, "ladder_worker_rewound_messages_total",
        "Messages replayed because a reload found the stored next offset "
        "behind what this worker had stored (Redis lost acknowledged "
        "writes).",
        NULL);
    /* Every code and type from the start, so a rate is 0, not missing. */
    for (int c = 1; c < WK_CODES; c++)
        ldr_metrics_add(w->m.dead_letters,
                        LDR_METRICS_LABELS(ldr_err_code((ldr_err_t)-c)), 0);
    for (int t = 0; t < LDR_DECISION__COUNT; t++)
        ldr_metrics_add(
            w->m.decisions,
            LDR_METRICS_LABELS(ldr_decision_type_name((ldr_decision_type_t)t)),
            0);
}

/* Adds what the batch just stored did to the metrics. */
void wk_count(wk_t *w) {
    static const char *const kinds[WK_KINDS] = {
        "undecoded", "application", "review", "violation", "tick", "decision"};
    static const char *const outcomes[WK_OUTCOMES] = {"applied", "duplicate",
                                                      "dead_letter"};
    for (int k = 0; k < WK_KINDS; k++)
        for (int o = 0; o < WK_OUTCOMES; o++)
            if (w->cur->tally.events[k][o])
                ldr_metrics_add(w->m.events,
                                LDR_METRICS_LABELS(kinds[k], outcomes[o]),
                                (double)w->cur->tally.events[k][o]);
    uint64_t duplicates = 0;
    for (int k = 0; k < WK_KINDS; k++) {
        duplicates += w->cur->tally.events[k][WK_DUPLICATE];
        w->dead_letters += w->cur->tally.events[k][WK_DEAD_LETTER];
        for (int o = 0; o < WK_OUTCOMES; o++)
            w->events += o == WK_DEAD_LETTER ? 0 : w->cur->tally.events[k][o];
    }

    if (duplicates) ldr_metrics_add(w->m.duplicates, NULL, (double)duplicates);
    for (int c = 1; c < WK_CODES; c++)
        if (w->cur->tally.dead_letters[c])
            ldr_metrics_add(w->m.dead_letters,
                            LDR_METRICS_LABELS(ldr_err_code((ldr_err_t)-c)),
                            (double)w->cur->tally.dead_letters[c]);
    const uint64_t *types = w->cur->tally.decisions;
    for (int t = 0; t < LDR_DECISION__COUNT; t++) {
        w->decisions += types[t];
        if (types[t])
            ldr_metrics_add(w->m.decisions,
                            LDR_METRICS_LABELS(
                                ldr_decision_type_name((ldr_decision_type_t)t)),
                            (double)types[t]);
    }
}
