/* ladder-worker -- consume input, decide, keep state in Redis, publish.
 *
 * DESIGN: one thread runs the whole loop (DESIGN.md): poll a batch from the
 * consumer group, and for each partition in it decode and validate every
 * message (bad ones become dead letters, which never move the clock), run
 * the state machine over the good ones, produce the batch's decisions and
 * dead letters, and once Kafka has acknowledged every one of them write
 * the changed state, the next offset, the counters and the notices to
 * Redis in one atomic, epoch-fenced step. The offsets Redis holds are the
 * truth: on assignment the worker claims the partition (a new owner epoch),
 * loads its state and seeks to the stored offset; Kafka's committed
 * offsets are only a hint for lag monitoring. A batch that was published
 * and not committed is decided again by the next owner: the decisions are
 * a function of the log, so it publishes them again with the same ids.
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
 * survived by recreating it and deciding again, from the stored offset,
 * every batch not yet acknowledged.
 *
 * TEST-ONLY: when the environment variable LADDERTEST_HOLD_BEFORE_STORE
 * names a file, the worker waits, polling every 10 ms, just before sending
 * the atomic step of each batch (wk_send, loop.c) for as long as that file
 * exists. The fault suite (tests/faults) uses it to freeze a
 * worker deterministically between deciding a batch and storing it, so
 * that the owner-epoch fence is certain to refuse the batch. Unset, it
 * costs one pointer test per batch. */

#include "worker_int.h"

#ifdef LADDER_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
/* jemalloc's options, read at its start. A page freed stays "dirty"
 * (resident, for reuse) for dirty_decay_ms, then "muzzy" (MADV_FREE:
 * still counted in RSS until the kernel wants it) for muzzy_decay_ms. With
 * the defaults (10 s each) a worker's RSS ran 90-100 MB above the memory
 * it used; returned after 1 s, straight to the kernel, and by jemalloc's
 * own thread (so an idle worker returns it too), RSS fell from 346-377 to
 * 291 MB in ladder-bench with the same CPU per event (docs/BENCHMARKS.md).
 * LADDER_SANITIZE builds do not link jemalloc and have no such symbol. */
const char *malloc_conf =
    "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
#endif

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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
    "shutdown.timeout.ms, http.listen,\nlog.level.\n\n"
    "Serves /livez, /readyz and /metrics (Prometheus) on "
    "http.listen.\n\n"
    "Stops on SIGTERM or SIGINT after the batch in hand, within\n"
    "shutdown.timeout.ms: what Kafka has not acknowledged by then stays "
    "stored\nin Redis, is named in the log, and the next owner publishes "
    "it.\nExit status: 0 after a clean stop, 2 for a "
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
    if (wk_producer_open(w, err, n)) w->consumer = wk_consumer_new(w, err, n);
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

/* The allocator the worker runs on, for its start-up line: jemalloc when
 * built with it (LADDER_JEMALLOC), else the C library's. */
static const char *wk_allocator(void) {
#ifdef LADDER_HAVE_JEMALLOC
    static char name[64];
    const char *version = NULL;
    size_t len = sizeof(version);
    if (mallctl("version", (void *)&version, &len, NULL, 0) == 0 && version) {
        snprintf(name, sizeof(name), "jemalloc %.40s", version);
        return name;
    }
    return "jemalloc";
#else
    return "the C library's malloc";
#endif
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
    LDR_LOG_INFO("consuming %s (%d partitions) as group %s; allocator: %s",
                 w->input_topic, w->partitions,
                 ldr_config_get(w->cfg, "group.id"), wk_allocator());
    return LDR_OK;
}

/* Says what the stop leaves to the next owner of each partition: batches
 * produced and not committed (decided again from the stored offset, their
 * decisions published again with the same ids), outbox entries an earlier
 * version stored that Kafka has not acknowledged (published again) and
 * steps Redis has not answered (replayed if they were not applied). */
static void wk_report_left(wk_t *w) {
    int batches = 0, entries = 0, nparts = 0, held = 0;
    size_t messages = 0;
    char parts[160] = "";
    size_t used = 0;
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_part_t *p = &w->part[pn];
        int left = p->down ? 0 : p->nbatch - p->nsent;
        if (!p->owned || (!left && !p->npending && !p->held_back)) continue;
        batches += left;
        for (int i = p->nsent; i < p->nsent + left; i++)
            messages += wk_batch_at(p, i)->nmsgs;
        entries += p->npending;
        held += p->held_back;
        if (used < sizeof(parts) - 16)
            used += (size_t)snprintf(parts + used, sizeof(parts) - used, "%s%d",
                                     nparts ? ", " : "", pn);
        else if (used < sizeof(parts) - 4)
            used += (size_t)snprintf(parts + used, sizeof(parts) - used, "...");
        nparts++;
    }
    size_t owed = ldr_store_owed(w->store);
    if (!nparts && !owed) {
        LDR_LOG_INFO("stopping: every decided batch is published and "
                     "committed");
        return;
    }
    if (batches)
        LDR_LOG_WARN("stopping with %d batches (%zu input messages) whose "
                     "decisions Kafka has not all acknowledged, in "
                     "partitions %s: they are not committed, and the next "
                     "owner of each partition decides them again from the "
                     "stored offset and publishes the same decisions with "
                     "the same ids",
                     batches, messages, parts);
    if (entries || held)
        LDR_LOG_WARN("stopping with %d outbox entries an earlier version "
                     "stored that Kafka has not acknowledged%s: they stay "
                     "in Redis, and the next owner of each partition "
                     "publishes them with the same ids",
                     entries, held ? ", and later entries not produced" : "");
    if (owed)
        LDR_LOG_WARN("stopping with %zu steps Redis has not answered: a step "
                     "is applied whole or not at all, and the next owner "
                     "replays from the stored offset",
                     owed);
}

/* Leaves the group, waiting for Kafka no longer than the stop's deadline:
 * a group that hears nothing drops this member after its session
 * timeout, and the partitions move all the same. Returns false when Kafka
 * did not answer in time: the consumer is then left as it is, since
 * destroying it would wait for its group requests in flight, up to
 * session.timeout.ms (docs/RELIABILITY.md). */
static bool wk_close_consumer(wk_t *w) {
    rd_kafka_queue_t *q = rd_kafka_queue_new(w->consumer);
    rd_kafka_error_t *e = rd_kafka_consumer_close_queue(w->consumer, q);
    bool closed = false;
    if (e) {
        LDR_LOG_WARN("leaving the group: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    } else {
        /* serves the revocation while the group is left: the close
         * forwards it to q as an event, not as a callback */
        while (!(closed = rd_kafka_consumer_closed(w->consumer))) {
            int ms = wk_wait_ms(w, 100);
            if (!ms) break;
            rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ms);
            if (!ev) continue;
            if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
                wk_rebalance(w->consumer, rd_kafka_event_error(ev),
                             rd_kafka_event_topic_partition_list(ev), w);
            rd_kafka_event_destroy(ev);
        }
    }
    rd_kafka_queue_destroy(q);
    if (!closed) {
        LDR_LOG_WARN("stopping without Kafka's answer to leaving the group "
                     "(shutdown.timeout.ms ran out): its partitions move "
                     "when the group drops this member (session.timeout.ms)");
        return false;
    }
    rd_kafka_destroy(w->consumer);
    return true;
}

/* Commits what Kafka acknowledges, leaves the group and frees everything,
 * within shutdown.timeout.ms whatever Kafka and Redis do: what is not
 * committed by then is decided and published again by the next owner.
 * Returns false when the consumer was left open (Kafka did not answer in
 * time). */
static bool wk_shutdown(wk_t *w) {
    ldr_svc_stopped(w->svc);
    /* wk_run returns only once stopping: this starts the stop's clock if
     * no wait did yet */
    int budget = wk_wait_ms(w, INT_MAX);
    LDR_LOG_INFO("stopping: committing what Kafka acknowledges (%d ms left "
                 "of shutdown.timeout.ms)",
                 budget);
    wk_drain(w, ldr_clock_mono_ms() + budget);
    rd_kafka_flush(w->producer, wk_wait_ms(w, INT_MAX));
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++)
        if (w->part[pn].npending && wk_wait_ms(w, INT_MAX)) wk_trim(w, pn);
    wk_report_left(w);
    /* What Kafka has not acknowledged is not committed (or stored by an
     * earlier version): drop it, so that the producer does not wait for
     * it (the reports free the tags). */
    rd_kafka_purge(w->producer, RD_KAFKA_PURGE_F_QUEUE |
                                    RD_KAFKA_PURGE_F_INFLIGHT |
                                    RD_KAFKA_PURGE_F_NON_BLOCKING);
    rd_kafka_poll(w->producer, 0);
    bool closed = wk_close_consumer(w);
    wk_producer_close(w);
    LDR_LOG_INFO(
        "stopped: %llu events, %llu decisions, %llu dead letters committed, "
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
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++)
        for (int i = 0; i < WK_INFLIGHT; i++) {
            wk_batch_t *bt = &w->part[pn].batch[i];
            for (size_t k = 0; k < bt->nmsgs; k++)
                rd_kafka_message_destroy(bt->msgs[k]);
            free(bt->msgs);
            ldr_store_step_free(bt->step);
        }
    ldr_machine_out_fini(&w->out);
    ldr_buf_fini(&w->payload);
    free(w->src_ts);
    ldr_store_destroy(w->store);
    ldr_validator_destroy(w->validator);
    ldr_units_destroy(w->units);
    ldr_codec_destroy(w->codec);
    ldr_schemas_destroy(w->schemas);
    ldr_registry_destroy(w->registry);
    ldr_policies_destroy(w->policies);
    return closed;
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
    w.shutdown_timeout_ms = ldr_config_get_int(w.cfg, "shutdown.timeout.ms");
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
    ldr_machine_out_init(&w.out);
    ldr_buf_init(&w.payload);
    if (wk_subscribe(&w, err, sizeof(err))) return wk_fail(&w, err);
    wk_run(&w);
    int status = w.exit_code;
    if (!wk_shutdown(&w)) {
        /* The consumer's threads still wait for Kafka: exit without
         * joining them (exit() would run the atexit handlers while they
         * run). Everything of ladder's own is freed already. */
        fflush(NULL);
        _exit(status);
    }
    return status;
}
