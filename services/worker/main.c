/* ladder-worker -- consume input, decide, keep state in Redis, publish.
 *
 * DESIGN: one thread runs the whole loop (DESIGN.md): poll a batch from the
 * consumer group, and for each partition in it decode and validate every
 * message (bad ones become dead letters, which never move the clock), run
 * the state machine over the good ones, write the changed state, the next
 * offset, the counters, the notices and the batch's outgoing messages (the
 * outbox) to Redis in one atomic step, and only then produce the outbox and
 * trim it once Kafka has acknowledged every message. The offsets Redis holds
 * are the truth: on assignment the worker claims the partition (a new owner
 * epoch), loads its state and seeks to the stored offset; Kafka's committed
 * offsets are only a hint for lag monitoring.
 *
 * When the step is refused (FENCED: another owner wrote, or Redis rewound),
 * the partition's cache is dropped and reloaded and consumption resumes at
 * the stored offset. When Redis is unreachable the worker stops consuming,
 * reconnects with backoff, claims its partitions again (the server may have
 * restarted) and replays from the stored offsets: nothing is half-applied,
 * because the step is all or nothing.
 *
 * Observability: the svc skeleton's HTTP server on http.listen (its own
 * threads, ladder/svc.h) answers /livez, /readyz and /metrics. The loop is the
 * only writer of the metrics registry (delivery reports, too, run on it, from
 * rd_kafka_poll); the server's thread only renders it and reads the health the
 * loop publishes. Counts of a batch are added only once Redis has taken the
 * batch, so a batch that is refused or replayed is not counted twice. Lag
 * is the partition's high watermark (librdkafka's cached one, from the
 * fetches) minus the stored next offset, refreshed every WK_REFRESH_MS, and
 * the worker is ready when it owns partitions, Redis is up and every lag is
 * below WK_READY_LAG_MAX. The server binds before anything connects, so a
 * second worker given the same address fails at once (exit 2) instead of
 * joining the group and moving partitions.
 *
 * With clock.tick.interval.ms set, the worker writes ClockTicks into its own
 * caught-up partitions whose clock is behind the wall clock, so the timers
 * of a quiet partition fire. A fatal error of the idempotent producer is
 * survived by recreating it and re-sending the outboxes.
 *
 * TEST-ONLY: when the environment variable LADDERTEST_HOLD_BEFORE_STORE
 * names a file, the worker waits, polling every 10 ms, just before sending
 * the atomic step of each batch (wk_prepare, loop.c) for as long as that file
 * exists. The fault suite (tests/faults) uses it to freeze a
 * worker deterministically between deciding a batch and storing it, so
 * that the owner-epoch fence is certain to refuse the batch. Unset, it
 * costs one pointer test per batch. */

#include "worker_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "ladder/alloc.h"
#include "ladder/kafka.h"
#include "ladder/log.h"

/* --help, after the "Usage:" line. */
static const char wk_summary[] =
    "Consume ladder's input topic, apply the designation rules, keep "
    "each\nenterprise's state in Redis and publish every decision.\n\n"
    "  --config FILE   key = value configuration (docs/CONFIG.md); "
    "LADDER_*\n                  variables override it\n"
    "  --help          show this help\n\n"
    "Keys used: kafka.*, group.id, input.topic, decisions.topic, "
    "dlq.topic,\nredis.url, redis.password, redis.cluster, policy.dir, "
    "schemas.dir, schema.registry.*, "
    "units.file,\nclock.max.skew.days, clock.tick.interval.ms, "
    "http.listen, log.level.\n\n"
    "Serves /livez, /readyz and /metrics (Prometheus) on "
    "http.listen.\n\n"
    "Stops on SIGTERM or SIGINT after the batch in hand, with every "
    "decision\npublished. Exit status: 0 after a clean stop, 2 for a "
    "configuration\nerror or a dependency that is not there at "
    "start-up, 3 when a partition\nwith nothing stored finds the input "
    "log's start above offset 0 (its\nstate cannot be rebuilt).\n";

/* A start-up failure: one line, exit 2 (the HTTP server stops with the
 * svc). */
static int wk_fail(wk_t *w, const char *why) {
    int rc = ldr_svc_fail(w->svc, why);
    ldr_svc_destroy(w->svc);
    w->svc = NULL;
    return rc;
}

/* Loads what deciding needs: policies, schemas, codec, units, validator;
 * and connects to Redis. */
static ldr_err_t wk_load(wk_t *w, char *err, size_t n) {
    char pbuf[3][4096];
    w->policies = ldr_policies_load_dir(
        ldr_config_data_path(ldr_config_get(w->cfg, "policy.dir"), pbuf[0],
                             sizeof(pbuf[0])),
        err, n);
    if (w->policies)
        w->schemas = ldr_svc_schemas_load(w->cfg, true, &w->registry, err, n);
    if (w->schemas) w->codec = ldr_codec_new(w->schemas, err, n);
    if (w->codec)
        w->units = ldr_units_load(
            ldr_config_data_path(ldr_config_get(w->cfg, "units.file"), pbuf[2],
                                 sizeof(pbuf[2])),
            err, n);
    if (!w->units) return LDR_ERR_CONFIG;
    w->validator = ldr_validator_new(
        w->units, (int)ldr_config_get_int(w->cfg, "clock.max.skew.days"));
    w->tick_interval_ms = ldr_config_get_int(w->cfg, "clock.tick.interval.ms");
    w->store =
        ldr_store_new(ldr_config_get(w->cfg, "redis.url"),
                      ldr_config_get(w->cfg, "redis.password"),
                      ldr_config_get(w->cfg, "redis.cluster"), 5000, err, n);
    return w->store ? LDR_OK : LDR_ERR_CONFIG;
}

/* Creates the Kafka clients, reads the input topic's partition count and
 * tells the store. The group is joined later (wk_subscribe). */
static ldr_err_t wk_kafka(wk_t *w, char *err, size_t n) {
    w->producer = wk_producer_new(w, err, n);
    if (w->producer) w->consumer = wk_consumer_new(w, err, n);
    if (!w->consumer) return LDR_ERR_CONFIG;
    w->partitions =
        ldr_kafka_partition_count(w->producer, w->input_topic, 10000, err, n);
    if (w->partitions < 1 || w->partitions > WK_MAX_PARTITIONS) {
        if (w->partitions >= 1) snprintf(err, n, "too many partitions");
        return LDR_ERR_CONFIG;
    }
    return ldr_store_set_partitions(w->store, w->partitions, err, n)
               ? LDR_ERR_CONFIG
               : LDR_OK;
}

/* Joins the consumer group: from here on partitions move to this worker. */
static ldr_err_t wk_subscribe(wk_t *w, char *err, size_t n) {
    rd_kafka_poll_set_consumer(w->consumer);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, w->input_topic,
                                      RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t kerr = rd_kafka_subscribe(w->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (kerr) {
        snprintf(err, n, "subscribe: %s", rd_kafka_err2str(kerr));
        return LDR_ERR_CONFIG;
    }
    LDR_LOG_INFO("consuming %s (%d partitions) as group %s", w->input_topic,
                 w->partitions, ldr_config_get(w->cfg, "group.id"));
    return LDR_OK;
}

/* Publishes what is stored, leaves the group and frees everything. */
static void wk_shutdown(wk_t *w) {
    ldr_svc_stopped(w->svc);
    LDR_LOG_INFO("stopping: publishing what is stored");
    wk_settle(w);
    rd_kafka_flush(w->producer, 8000);
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++)
        if (w->part[pn].npending) wk_trim(w, pn);
    rd_kafka_consumer_close(w->consumer);
    rd_kafka_destroy(w->consumer);
    rd_kafka_destroy(w->producer);
    LDR_LOG_INFO(
        "stopped: %llu events, %llu decisions, %llu dead letters, "
        "%llu fenced batches, %llu ticks written, %llu producers "
        "recreated",
        (unsigned long long)w->events, (unsigned long long)w->decisions,
        (unsigned long long)w->dead_letters, (unsigned long long)w->fenced,
        (unsigned long long)w->ticks_written,
        (unsigned long long)w->producers_recreated);
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_drop(w, pn);
        free(w->part[pn].msgs);
    }
    /* joins the threads that read the metrics, then frees the registry and
     * the configuration (nothing below reads them) */
    ldr_svc_destroy(w->svc);
    w->svc = NULL;
    w->cfg = NULL;
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_batch_t *bt = &w->part[pn].batch;
        for (size_t i = 0; i < bt->nmsgs; i++)
            rd_kafka_message_destroy(bt->msgs[i]);
        free(bt->msgs);
        free(bt->src_ts);
        ldr_machine_out_fini(&bt->out);
        ldr_buf_fini(&bt->payload);
    }
    ldr_store_destroy(w->store);
    ldr_validator_destroy(w->validator);
    ldr_units_destroy(w->units);
    ldr_codec_destroy(w->codec);
    ldr_schemas_destroy(w->schemas);
    ldr_registry_destroy(w->registry);
    ldr_policies_destroy(w->policies);
}

int main(int argc, char **argv) {
    static const ldr_svc_spec_t spec = {
        .program = "ladder-worker",
        .summary = wk_summary,
        .live_stall_ms = WK_LIVE_STALL_MS,
    };
    static wk_t w; /* large: partition table */
    char err[1024];
    int exit_code;
    if (!(w.svc = ldr_svc_new(&spec, argc, argv, &exit_code))) return exit_code;
    w.cfg = ldr_svc_config(w.svc);
    if (!ldr_config_get(w.cfg, "kafka.bootstrap.servers"))
        return wk_fail(&w, "kafka.bootstrap.servers is not set: "
                           "start the embedded cluster with "
                           "build/bin/ladder-kafka and set "
                           "LADDER_KAFKA_BOOTSTRAP_SERVERS to the list it "
                           "prints");
    /* Metrics and health first: a second worker given the same address
     * stops here, before it joins the group and moves partitions. */
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++)
        snprintf(w.part[pn].label, sizeof(w.part[pn].label), "%d", pn);
    wk_metrics_register(&w);
    ldr_svc_health_routes(w.svc);
    if (ldr_svc_serve(w.svc, "/livez, /readyz and /metrics", err, sizeof(err)))
        return wk_fail(&w, err);
    w.input_topic = ldr_config_get(w.cfg, "input.topic");
    w.decisions_topic = ldr_config_get(w.cfg, "decisions.topic");
    w.dlq_topic = ldr_config_get(w.cfg, "dlq.topic");
    if (wk_load(&w, err, sizeof(err)) || wk_kafka(&w, err, sizeof(err)))
        return wk_fail(&w, err);
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        ldr_machine_out_init(&w.part[pn].batch.out);
        ldr_buf_init(&w.part[pn].batch.payload);
    }
    if (wk_subscribe(&w, err, sizeof(err))) return wk_fail(&w, err);
    wk_run(&w);
    int status = w.exit_code;
    wk_shutdown(&w);
    return status;
}
