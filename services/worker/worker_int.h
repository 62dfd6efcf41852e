/* worker_int.h -- ladder-worker's shared types and internal prototypes.
 *
 * DESIGN: the worker is one program split by concern (main.c: start-up
 * and shutdown; loop.c: the batch loop; publish.c: what goes to Kafka;
 * partitions.c: taking and dropping partitions; group.c: the consumer
 * group and its rebalances; ticks.c: lag and clock ticks;
 * metrics.c: the Prometheus families), with calls pointing one way: main
 * starts the loop, the loop drives the others. They share one wk_t, owned by
 * main() and touched only by the loop's thread (the rebalance and delivery
 * callbacks run on it too, from the polls), so nothing here is locked; the
 * HTTP threads see only the svc skeleton's health and metrics registry.
 * Private to services/worker: nothing outside includes it. */
#ifndef LADDER_WORKER_INT_H
#define LADDER_WORKER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "ladder/clock.h"
#include "ladder/codec.h"
#include "ladder/config.h"
#include "ladder/machine.h"
#include "ladder/metrics.h"
#include "ladder/outbox.h"
#include "ladder/policy.h"
#include "ladder/policy_files.h"
#include "ladder/schema.h"
#include "ladder/store.h"
#include "ladder/svc.h"
#include "ladder/units.h"
#include "ladder/units_file.h"
#include "ladder/validate.h"

#define WK_MAX_PARTITIONS 1024
#define WK_BATCH_MAX      4096
/* Messages of one partition decided into one step at most: a step writes
 * every changed state in one Redis Function call, during which Redis
 * serves nobody else, so a step of a few thousand messages blocked Redis
 * for tens of milliseconds (ladder-bench's "longest Redis command"). The
 * rest of a partition's messages wait for its next round. */
#define WK_STEP_MAX 256
/* Messages fetched and not yet in a step, over every partition, above
 * which the loop fetches no more until steps have taken some. */
#define WK_IN_HAND_MAX (4 * WK_BATCH_MAX)
/* Decisions' room the worker keeps between batches (see wk_prepare). */
#define WK_KEEP_DECISIONS 256
/* Batches of one partition on their way at once: decided and published,
 * waiting for Kafka's acknowledgement, then for Redis's answer to their
 * step. One at a time, a partition decided one batch per Kafka round trip
 * (linger.ms and the brokers' acknowledgement), and the batches stayed
 * small: the cost of each step and of each produce request was shared by
 * a few messages. Two gave the rate of four (docs/BENCHMARKS.md), and a
 * fault costs a partition what it has in flight (docs/RELIABILITY.md). */
#define WK_INFLIGHT 2
/* How often the loop refreshes lag, backlog and readiness. */
#define WK_REFRESH_MS 500
/* /readyz fails while any owned partition lags by this many messages. */
#define WK_READY_LAG_MAX 10000
/* /livez fails when the loop has not come round for this long. */
#define WK_LIVE_STALL_MS 60000
#define WK_KINDS         6 /* ldr_record_kind_t 1..5, 0 = not decoded */
#define WK_CODES         9 /* dead-letter codes: -ldr_err_t 1..8 */
/* Outbox entries an earlier version left, produced again and not yet all
 * acknowledged, of one partition. */
#define WK_PENDING_MAX 64
/* How long a round waits for the answers to the steps it sent before it
 * goes on without the slow ones (their partitions wait, the others not). */
#define WK_ROUND_WAIT_MS 250
/* Exit status of a rebuild that finds the head of the input log gone. */
#define WK_EXIT_LOG_HEAD_GONE 3
/* Retrying the partitions whose Redis master is unreachable: the first
 * delay, doubled up to the last. */
#define WK_RETRY_MIN_MS 100
#define WK_RETRY_MAX_MS 2000

enum { WK_APPLIED, WK_DUPLICATE, WK_DEAD_LETTER, WK_OUTCOMES };

/* What a partition's batch makes, from deciding it until Redis has
 * answered its step: the batches of several partitions are in flight at
 * once (wk_run), up to WK_INFLIGHT of each partition. A batch goes
 * through two waits: Kafka's acknowledgement of every message it produced
 * (publishing), then Redis's answer to its step (sent). Its step is built
 * when it is decided, and sent in the partition's order. */
typedef struct wk_batch {
    /* its messages, from the moment it is decided */
    rd_kafka_message_t **msgs;
    size_t nmsgs, cap;
    ldr_store_step_t *step; /* its atomic step, built when it was decided */
    /* what the batch adds to the metrics once it is stored */
    struct {
        uint64_t events[WK_KINDS][WK_OUTCOMES];
        uint64_t dead_letters[WK_CODES];
        uint64_t decisions[LDR_DECISION__COUNT];
    } tally;
    int64_t first;           /* the offset its step starts at */
    int64_t next;            /* the offset after its last message */
    double started;          /* when deciding it began (monotonic seconds) */
    bool publishing;         /* produced, and not yet all acknowledged ... */
    int unacked;             /* ... by this many delivery reports to come */
    bool failed;             /* a message of it was not delivered ... */
    rd_kafka_resp_err_t why; /* ... for this reason (the first) */
    bool sent;               /* its step is owed an answer */
    uint64_t round;          /* the loop round that sent it */
} wk_batch_t;

typedef struct wk_part {
    bool owned;
    /* its Redis master is unreachable: paused in Kafka, its batches
     * dropped, taken again by wk_retry */
    bool down;
    int64_t epoch;
    int64_t next_offset; /* the stored offset: the next batch committed
                            starts there */
    int64_t decided;     /* the offset the next batch decided starts at */
    ldr_partition_t *state;
    /* messages fetched and not yet in a batch sent */
    rd_kafka_message_t **msgs;
    size_t nmsgs;
    size_t cap;
    /* outbox entries a worker of an earlier version left in Redis,
     * produced again and not yet all acknowledged, oldest first */
    int64_t pending_id[WK_PENDING_MAX];
    char label[12]; /* the partition number, as a metric label */
    int pending_left[WK_PENDING_MAX];
    bool pending_failed[WK_PENDING_MAX];
    int npending;
    /* the stop found its outbox entries full: the rest of its stored
     * entries are left to the next owner, unproduced (a trim must never
     * reach past one that was not produced) */
    bool held_back;
    bool trim_inflight; /* a trim is owed an answer ... */
    int64_t trim_id;    /* ... for the entries up to this id */
    uint32_t trim_generation;
    /* bumped whenever the pending entries are forgotten and the outbox is
     * produced again (wk_take, a new producer): a delivery report of a
     * message produced before then belongs to no pending entry any more */
    uint32_t generation;
    /* its batches on their way, oldest first from head: the first nsent
     * have their step sent */
    wk_batch_t batch[WK_INFLIGHT];
    int head, nbatch, nsent;
    /* steps sent for batches dropped since (taken again, revoked): their
     * answers are not about the batches in the ring, and no step is sent
     * until they are in */
    int stale_steps;
} wk_part_t;

/* Partition @p p has batches produced and not all committed, which a new
 * producer must make it decide again. */
static inline bool wk_unacked(const wk_part_t *p) {
    return p->owned && !p->down && p->nsent < p->nbatch;
}

/* The @p i-th oldest batch of partition @p p on its way. */
static inline wk_batch_t *wk_batch_at(wk_part_t *p, int i) {
    return &p->batch[(p->head + i) % WK_INFLIGHT];
}

typedef struct wk {
    ldr_svc_t *svc;
    ldr_config_t *cfg; /* the svc's */
    ldr_policies_t *policies;
    ldr_schemas_t *schemas;
    ldr_registry_t *registry; /* NULL: local schema ids */
    ldr_codec_t *codec;
    ldr_units_t *units;
    ldr_validator_t *validator;
    ldr_store_t *store;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    const char *input_topic;
    const char *decisions_topic;
    const char *dlq_topic;
    /* the producer's handles of those two topics: given to producev, where
     * a topic's name cost a lookup of the producer's topics, under its
     * lock, for every message (wk_producer_open) */
    rd_kafka_topic_t *decisions_rkt, *dlq_rkt;
    int partitions; /* of the input topic */
    wk_part_t part[WK_MAX_PARTITIONS];
    wk_batch_t *cur; /* the batch being decided or counted */
    /* the decisions of the batch being decided: produced and built into
     * its step at once, so one list serves every batch */
    ldr_machine_out_t out;
    /* Their outgoing messages, produced as soon as the batch is decided
     * (a batch Kafka refuses is decided again from the stored offset, not
     * produced again from here): the decisions straight from out, each
     * with the input message timestamp (ms, -1: none) of the message that
     * caused it, the start of its latency, and decided_at; the dead
     * letters in the outbox encoding. */
    int64_t *src_ts; /* by decision, as out.v */
    size_t src_cap;
    int64_t decided_at;
    ldr_buf_t payload;
    int ndown;      /* owned partitions that are down */
    uint64_t round; /* loop rounds */
    int round_owed; /* steps this round sent and not yet answered */
    int64_t next_retry_ms;
    int retry_delay_ms;
    /* events, decisions and dead letters of the committed batches */
    uint64_t events, decisions, dead_letters, fenced;
    struct {
        ldr_metric_t *events, *decisions, *dead_letters, *duplicates;
        ldr_metric_t *batch_seconds, *latency_seconds;
        ldr_metric_t *lag, *backlog, *assigned;
        ldr_metric_t *redis_errors, *redis_retries, *fenced, *lost, *rewound;
    } m;
    int64_t next_refresh_ms;
    int64_t next_beat_ms;     /* the next heartbeat of the owned partitions */
    int64_t tick_interval_ms; /* clock.tick.interval.ms; 0: no ticks */
    int64_t next_tick_ms;
    uint64_t ticks_written, producers_recreated;
    int exit_code;               /* 0, or WK_EXIT_LOG_HEAD_GONE */
    int64_t shutdown_timeout_ms; /* shutdown.timeout.ms */
    /* once stopping: when shutdown.timeout.ms runs out (monotonic ms) */
    int64_t stop_by_ms;
    bool draining; /* inside wk_drain */
} wk_t;

/* The opaque of one produced message (freed by its delivery report), and
 * of a re-send of a partition's stored outbox (wk_publish_cb). */
typedef struct wk_tag {
    wk_t *w;
    int32_t partition;
    uint32_t generation; /* the partition's, when it was produced */
    bool batch;          /* of a batch on its way, not of a stored entry */
    int64_t id;          /* a batch's next offset, or an entry's id */
    int64_t src_ts_ms;   /* a decision's input message time, or -1 */
} wk_tag_t;

static inline void wk_redis_error(wk_t *w) {
    ldr_metrics_add(w->m.redis_errors, NULL, 1);
}

/* How long a wait may take: @p normal_ms, or once stopping what is left
 * of shutdown.timeout.ms (0 once it ran out), counted from the first call
 * that finds the worker stopping. */
static inline int wk_wait_ms(wk_t *w, int normal_ms) {
    if (!w->stop_by_ms) {
        if (!ldr_svc_stopping()) return normal_ms;
        w->stop_by_ms = ldr_clock_mono_ms() + w->shutdown_timeout_ms;
    }
    int64_t left = w->stop_by_ms - ldr_clock_mono_ms();
    return left <= 0 ? 0 : left < normal_ms ? (int)left : normal_ms;
}

/* Destroys @p n messages of @p msgs. */
static inline void wk_destroy_msgs(rd_kafka_message_t **msgs, size_t *n) {
    for (size_t i = 0; i < *n; i++)
        rd_kafka_message_destroy(msgs[i]);
    *n = 0;
}

/* ---- down.c: a partition whose Redis master is away ------------------- */

/* Partition @p pn's Redis master cannot be reached (@p why): drops its
 * messages and batch, pauses it and leaves it to wk_retry. */
void wk_down(wk_t *w, int pn, const char *why);
/* Pauses or resumes the consumption of input partition @p pn. */
void wk_pause(wk_t *w, int pn, bool pause);

/* ---- metrics.c: the Prometheus families -------------------------------- */

/* Creates the worker's families in the svc registry (w->metrics). */
void wk_metrics_register(wk_t *w);
/* Adds what the batch just stored (w->cur) did to the metrics. */
void wk_count(wk_t *w);

/* ---- loop.c: the consume -> decide -> store -> publish loop ----------- */

/* Runs until ldr_svc_stopping(). */
void wk_run(wk_t *w);
/* Commits every batch Kafka acknowledges and takes Redis's answers, until
 * no batch is on its way or @p until_ms (monotonic) passes: for a
 * revocation and a stop, so that the next owner replays as little as
 * possible. Answers taken meanwhile never claim a partition again. */
void wk_drain(wk_t *w, int64_t until_ms);

/* ---- publish.c: what goes to Kafka ------------------------------------ */

/* Creates w->producer (decisions, dead letters and ticks, its delivery
 * reports to @p w) and its handles of the decisions and dead-letter
 * topics; false with @p err set on error. wk_producer_close frees them. */
bool wk_producer_open(wk_t *w, char *err, size_t n);
void wk_producer_close(wk_t *w);
/* Recreates the producer after a fatal error and re-sends the stored
 * outboxes of the partitions with no batch to decide again; true when it
 * did, and the caller then takes those partitions again (wk_retake). */
bool wk_check_producer(wk_t *w);
/* Produces every message of batch @p bt of partition @p partition (its
 * payload), counting them in its unacked. */
void wk_publish_batch(wk_t *w, int partition, wk_batch_t *bt);
/* Produces every message of one stored outbox entry of @p partition. */
void wk_publish(wk_t *w, int partition, int64_t id, const void *payload,
                size_t len);
/* ldr_store_outbox()'s callback: @p opaque is a wk_tag_t. */
void wk_publish_cb(void *opaque, int64_t id, const void *payload, size_t len);
void wk_trim(wk_t *w, int partition);
/* Sends a trim of the acknowledged outbox entries of every partition that
 * has some (the answers come through wk_on_answer). */
void wk_trim_all(wk_t *w);
/* The answer to a trim wk_trim_all sent. */
void wk_trim_answered(wk_t *w, int partition, bool ok);
/* Appends a dead letter for @p km to the batch in hand (w->cur). */
void wk_dead_letter(wk_t *w, const rd_kafka_message_t *km, int kind,
                    ldr_err_t code, const char *why);
/* Notes the input time and decision time of decisions w->out.v[@p from..],
 * which wk_publish_batch produces. */
void wk_note_decisions(wk_t *w, size_t from, int64_t decided_at,
                       int64_t src_ts_ms);

/* ---- partitions.c: taking and dropping partitions ----------------------- */

/* Claims a partition, loads its state and resends its pending outbox. */
ldr_err_t wk_take(wk_t *w, int partition);
void wk_drop(wk_t *w, int partition);
/* Forgets every batch of @p partition on its way (not committed: the
 * partition is taken again or left, and its next owner decides them
 * again); the answers their sent steps are owed are counted as stale. */
void wk_drop_batches(wk_t *w, int partition);
void wk_seek(wk_t *w, int partition);
/* Takes @p partition again from what Redis holds: drops the messages in
 * hand, reloads, seeks to the stored offset; takes it down (@p why) when
 * Redis does not answer. */
void wk_retake(wk_t *w, int partition, const char *why);

/* ---- group.c: the consumer group and its rebalances --------------------- */

/* The group's consumer, its rebalances handled by @p w. NULL with @p err
 * set on error; the caller closes and destroys it. */
rd_kafka_t *wk_consumer_new(wk_t *w, char *err, size_t n);
/* The consumer's rebalance callback (@p opaque: the wk_t); main.c calls
 * it too, for the rebalance events of the group's leave. */
void wk_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                  rd_kafka_topic_partition_list_t *parts, void *opaque);

/* ---- ticks.c: lag and clock ticks --------------------------------------- */

/* The lag of owned partition @p pn from librdkafka's cached watermarks,
 * or -1 when not known yet; never asks the cluster. */
int64_t wk_lag(wk_t *w, int pn);
/* Writes a ClockTick into each caught-up owned partition whose clock is
 * behind the wall clock. */
void wk_ticks(wk_t *w);

#endif
