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
 * Observability: an HTTP server on http.listen (its own thread, ladder/http.h)
 * answers /livez, /readyz and /metrics. The loop is the only writer of the
 * metrics registry (delivery reports, too, run on it, from rd_kafka_poll);
 * the server's thread only renders it and reads the health the loop
 * publishes. Counts of a batch are added only once Redis has taken the
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
 * the atomic step of each batch (wk_prepare) for as long as that file
 * exists. The fault suite (tests/faults) uses it to freeze a
 * worker deterministically between deciding a batch and storing it, so
 * that the owner-epoch fence is certain to refuse the batch. Unset, it
 * costs one pointer test per batch. */
#include "ladder/codec.h"
#include "ladder/policy_files.h"
#include "ladder/units_file.h"
#include "ladder/config.h"
#include "ladder/http.h"
#include "ladder/kafka.h"
#include "ladder/log.h"
#include "ladder/machine.h"
#include "ladder/metrics.h"
#include "ladder/outbox.h"
#include "ladder/policy.h"
#include "ladder/schema.h"
#include "ladder/store.h"
#include "ladder/time.h"
#include "ladder/units.h"
#include "ladder/validate.h"

#include <errno.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define WK_MAX_PARTITIONS 1024
#define WK_BATCH_MAX      4096
/* Decisions' room a partition keeps between batches (see wk_finish). */
#define WK_KEEP_DECISIONS 256
/* How often the loop refreshes lag, backlog and readiness. */
#define WK_REFRESH_MS 500
/* /readyz fails while any owned partition lags by this many messages. */
#define WK_READY_LAG_MAX 10000
/* /livez fails when the loop has not come round for this long. */
#define WK_LIVE_STALL_MS 60000
#define WK_KINDS         6 /* ldr_record_kind_t 1..5, 0 = not decoded */
#define WK_CODES         9 /* dead-letter codes: -ldr_err_t 1..8 */

enum { WK_APPLIED, WK_DUPLICATE, WK_DEAD_LETTER, WK_OUTCOMES };

/* What a partition's batch in hand makes, from deciding it until Redis
 * has answered its step: the batches of several partitions are in flight
 * at once (wk_run). */
typedef struct wk_batch {
    ldr_machine_out_t out;
    ldr_buf_t payload; /* the outbox entry */
    /* the input message timestamp (ms, -1: none) of each message of the
     * outbox entry, in order: the start of a decision's latency */
    int64_t *src_ts;
    size_t nsrc, src_cap;
    /* what the batch adds to the metrics once it is stored */
    struct {
        uint64_t events[WK_KINDS][WK_OUTCOMES];
        uint64_t dead_letters[WK_CODES];
    } tally;
    int64_t next;   /* the offset after its last message */
    double started; /* when deciding it began (monotonic seconds) */
    bool sent;      /* its step is on its way to Redis */
    bool answered;  /* Redis answered: result and why hold the answer */
    ldr_err_t result;
    char why[512];
} wk_batch_t;

typedef struct wk_part {
    bool owned;
    int64_t epoch;
    int64_t next_offset; /* the offset the next batch must start at */
    ldr_partition_t *state;
    /* messages of the batch in hand */
    rd_kafka_message_t **msgs;
    size_t nmsgs;
    size_t cap;
    /* outbox entries produced and not yet all acknowledged, oldest first */
    int64_t pending_id[64];
    char label[12]; /* the partition number, as a metric label */
    int pending_left[64];
    bool pending_failed[64];
    int npending;
    wk_batch_t batch;
} wk_part_t;

typedef struct wk {
    ldr_config_t *cfg;
    ldr_policies_t *policies;
    ldr_schemas_t *schemas;
    ldr_codec_t *codec;
    ldr_units_t *units;
    ldr_validator_t *validator;
    ldr_store_t *store;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    const char *input_topic;
    const char *decisions_topic;
    const char *dlq_topic;
    int partitions; /* of the input topic */
    wk_part_t part[WK_MAX_PARTITIONS];
    wk_batch_t *cur; /* the batch being decided or counted */
    bool store_down;
    uint64_t events, decisions, dead_letters, fenced;
    ldr_metrics_t *metrics;
    struct {
        ldr_metric_t *events, *decisions, *dead_letters, *duplicates;
        ldr_metric_t *batch_seconds, *latency_seconds;
        ldr_metric_t *lag, *backlog, *assigned;
        ldr_metric_t *redis_errors, *redis_retries, *fenced, *lost, *rewound;
    } m;
    ldr_http_t *http;
    int64_t next_refresh_ms;
    int64_t tick_interval_ms; /* clock.tick.interval.ms; 0: no ticks */
    int64_t next_tick_ms;
    uint64_t ticks_written, producers_recreated;
    /* health, written by the loop and read by the HTTP thread */
    atomic_llong heartbeat_ms; /* last time round the loop */
    atomic_bool running;
    pthread_mutex_t health_lock;
    bool ready;
    char not_ready[160];
} wk_t;

static volatile sig_atomic_t wk_stop;

static void wk_set_health(wk_t *w, bool ready, const char *why);

static void wk_on_signal(int sig) {
    (void)sig;
    wk_stop = 1;
}

static int64_t wk_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double wk_mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void wk_heartbeat(wk_t *w) {
    atomic_store_explicit(&w->heartbeat_ms, wk_now_ms(), memory_order_relaxed);
}

static void wk_redis_error(wk_t *w) {
    ldr_metrics_add(w->m.redis_errors, NULL, 1);
}

/* ---- delivery tracking -------------------------------------------------- */

typedef struct wk_tag {
    wk_t *w;
    int32_t partition;
    int64_t id;
    int64_t src_ts_ms; /* a decision's input message time, or -1 */
} wk_tag_t;

static void wk_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m,
                     void *opaque) {
    (void)rk;
    (void)opaque;
    wk_tag_t *tag = m->_private;
    if (!tag) return;
    if (!m->err && tag->src_ts_ms >= 0)
        ldr_metrics_observe(tag->w->m.latency_seconds, NULL,
                            (double)(wk_now_ms() - tag->src_ts_ms) / 1000.0);
    wk_part_t *p = &tag->w->part[tag->partition];
    for (int i = 0; i < p->npending; i++)
        if (p->pending_id[i] == tag->id) {
            p->pending_left[i]--;
            if (m->err) {
                p->pending_failed[i] = true;
                LDR_LOG_ERROR("delivery of a batch of partition %d failed: %s",
                              (int)tag->partition, rd_kafka_err2str(m->err));
            }
        }
    free(tag);
}

/* How many of the partition's oldest outbox entries have every message
 * acknowledged. A failed entry stays in the outbox and is produced again on
 * reassignment. */
static int wk_trimmable(const wk_part_t *p) {
    int done = 0;
    while (done < p->npending && p->pending_left[done] == 0 &&
           !p->pending_failed[done])
        done++;
    return done;
}

static void wk_trimmed(wk_part_t *p, int done) {
    memmove(p->pending_id, p->pending_id + done,
            (size_t)(p->npending - done) * sizeof(p->pending_id[0]));
    memmove(p->pending_left, p->pending_left + done,
            (size_t)(p->npending - done) * sizeof(p->pending_left[0]));
    memmove(p->pending_failed, p->pending_failed + done,
            (size_t)(p->npending - done) * sizeof(p->pending_failed[0]));
    p->npending -= done;
}

/* Trims the acknowledged outbox entries of one partition. */
static void wk_trim(wk_t *w, int partition) {
    wk_part_t *p = &w->part[partition];
    char err[512];
    int done = wk_trimmable(p);
    if (!done) return;
    if (ldr_store_outbox_trim(w->store, partition, p->pending_id[done - 1], err,
                              sizeof(err))) {
        LDR_LOG_WARN("%s", err);
        wk_redis_error(w);
        return;
    }
    wk_trimmed(p, done);
}

/* Trims the acknowledged outbox entries of every partition in one round
 * trip (a round trip per partition cost more than the trimming). */
static ldr_err_t wk_trim_all(wk_t *w) {
    int sent[WK_MAX_PARTITIONS], done[WK_MAX_PARTITIONS];
    int nsent = 0;
    char err[512];
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_part_t *p = &w->part[pn];
        if (!p->npending || !(done[pn] = wk_trimmable(p))) continue;
        if (ldr_store_outbox_trim_send(
                w->store, pn, p->pending_id[done[pn] - 1], err, sizeof(err))) {
            LDR_LOG_WARN("%s", err);
            wk_redis_error(w);
            return LDR_ERR_TRANSIENT; /* the connection is gone */
        }
        sent[nsent++] = pn;
    }
    for (int i = 0; i < nsent; i++) {
        if (ldr_store_outbox_trim_recv(w->store, err, sizeof(err))) {
            LDR_LOG_WARN("%s", err);
            wk_redis_error(w);
            return LDR_ERR_TRANSIENT; /* the connection is gone */
        }
        wk_trimmed(&w->part[sent[i]], done[sent[i]]);
    }
    return LDR_OK;
}

/* Produces every message of one outbox entry. @p src_ts, when not NULL,
 * holds the input message time of each message (w->cur->src_ts). */
static void wk_publish(wk_t *w, int partition, int64_t id, const void *payload,
                       size_t len, const int64_t *src_ts, size_t nsrc) {
    wk_part_t *p = &w->part[partition];
    while (p->npending == 64) { /* back-pressure: wait for acknowledgements */
        rd_kafka_poll(w->producer, 100);
        wk_trim(w, partition);
    }
    int slot = p->npending++;
    p->pending_id[slot] = id;
    p->pending_left[slot] = 0;
    p->pending_failed[slot] = false;
    ldr_outbox_reader_t r;
    ldr_outbox_reader_init(&r, payload, len);
    ldr_outbox_msg_t m;
    ldr_err_t err;
    size_t index = 0;
    while ((err = ldr_outbox_next(&r, &m)) == LDR_OK) {
        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(m.headers_count);
        for (size_t i = 0; i < m.headers_count; i++)
            rd_kafka_header_add(hdrs, m.headers[i].name,
                                (ssize_t)m.headers[i].name_len,
                                m.headers[i].value, (ssize_t)m.headers[i].len);
        wk_tag_t *tag = malloc(sizeof(*tag));
        *tag = (wk_tag_t){w, partition, id,
                          src_ts && index < nsrc ? src_ts[index] : -1};
        index++;
        p->pending_left[slot]++;
        const char *topic =
            m.topic == LDR_OUTBOX_DLQ ? w->dlq_topic : w->decisions_topic;
        for (;;) {
            rd_kafka_resp_err_t kerr = rd_kafka_producev(
                w->producer, RD_KAFKA_V_TOPIC(topic),
                RD_KAFKA_V_KEY(m.key, m.key ? m.key_len : 0),
                RD_KAFKA_V_VALUE((void *)m.value, m.value_len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(tag),
                RD_KAFKA_V_END);
            if (!kerr) break;
            if (kerr == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(w->producer, 50);
                continue;
            }
            LDR_LOG_ERROR("produce: %s", rd_kafka_err2str(kerr));
            rd_kafka_headers_destroy(hdrs);
            free(tag);
            p->pending_left[slot]--;
            p->pending_failed[slot] = true;
            break;
        }
    }
    if (err != LDR_ERR_INVALID_ARG) {
        LDR_LOG_ERROR("partition %d: outbox entry %lld is corrupt", partition,
                      (long long)id);
        p->pending_failed[slot] = true;
    }
}

static void wk_publish_cb(void *opaque, int64_t id, const void *payload,
                          size_t len) {
    wk_tag_t *t = opaque;
    wk_publish(t->w, t->partition, id, payload, len, NULL, 0);
}

/* ---- building the outbox --------------------------------------------------
 */

/* Notes the input time of the message just appended to the outbox. */
static void wk_src_ts(wk_t *w, int64_t ts_ms) {
    if (w->cur->nsrc == w->cur->src_cap) {
        w->cur->src_cap = w->cur->src_cap ? w->cur->src_cap * 2 : 256;
        w->cur->src_ts =
            realloc(w->cur->src_ts, w->cur->src_cap * sizeof(*w->cur->src_ts));
        if (!w->cur->src_ts) abort();
    }
    w->cur->src_ts[w->cur->nsrc++] = ts_ms;
}

static void wk_header(ldr_outbox_msg_t *m, const char *name,
                      const char *value) {
    ldr_outbox_header_t *h = &m->headers[m->headers_count++];
    h->name = name;
    h->name_len = strlen(name);
    h->value = value;
    h->len = strlen(value);
}

static void wk_dead_letter(wk_t *w, const rd_kafka_message_t *km, int kind,
                           ldr_err_t code, const char *why) {
    char part[16], off[24];
    snprintf(part, sizeof(part), "%d", (int)km->partition);
    snprintf(off, sizeof(off), "%lld", (long long)km->offset);
    ldr_outbox_msg_t m = {0};
    m.topic = LDR_OUTBOX_DLQ;
    m.partition = km->partition;
    m.key = km->key;
    m.key_len = km->key_len;
    m.value = km->payload ? km->payload : "";
    m.value_len = km->len;
    wk_header(&m, "ladder.error.code", ldr_err_code(code));
    wk_header(&m, "ladder.error.message", why);
    wk_header(&m, "ladder.source.topic", w->input_topic);
    wk_header(&m, "ladder.source.partition", part);
    wk_header(&m, "ladder.source.offset", off);
    ldr_outbox_append(&w->cur->payload, &m);
    wk_src_ts(w, -1);
    w->dead_letters++;
    w->cur->tally.events[kind][WK_DEAD_LETTER]++;
    if (-code > 0 && -code < WK_CODES) w->cur->tally.dead_letters[-code]++;
    LDR_LOG_DEBUG("dead letter %s/%d/%lld: %s: %s", w->input_topic,
                  (int)km->partition, (long long)km->offset, ldr_err_code(code),
                  why);
}

static void wk_decision_messages(wk_t *w, size_t from, int64_t decided_at,
                                 int64_t src_ts_ms) {
    for (size_t i = from; i < w->cur->out.count; i++) {
        ldr_record_t rec;
        ldr_machine_decision_record(&w->cur->out.v[i], &rec);
        rec.u.decision.decided_at = decided_at;
        const void *bytes;
        size_t len;
        char err[512];
        if (ldr_codec_encode(w->codec, &rec, &bytes, &len, err, sizeof(err))) {
            /* The machine only makes decisions the schema can carry. */
            LDR_LOG_ERROR("decision %s: %s", w->cur->out.v[i].decision_id, err);
            abort();
        }
        /* Concatenated by hand: two snprintf calls per decision were a
         * few percent of the worker's instructions. */
        char type[64] = "ladder.decision.", source[32] = "ladder/";
        char when[LDR_TIME_FORMAT_SIZE];
        strncat(type, ldr_decision_type_name(w->cur->out.v[i].decision),
                sizeof(type) - sizeof("ladder.decision."));
        strncat(source, w->cur->out.v[i].reporting_unit,
                sizeof(source) - sizeof("ladder/"));
        ldr_time_format(w->cur->out.v[i].effective_at, when, sizeof(when));
        ldr_outbox_msg_t m = {0};
        m.topic = LDR_OUTBOX_DECISIONS;
        m.partition = -1;
        m.key = w->cur->out.v[i].uscc;
        m.key_len = strlen(w->cur->out.v[i].uscc);
        m.value = bytes;
        m.value_len = len;
        wk_header(&m, "ce_specversion", "1.0");
        wk_header(&m, "ce_id", w->cur->out.v[i].decision_id);
        wk_header(&m, "ce_type", type);
        wk_header(&m, "ce_source", source);
        wk_header(&m, "ce_time", when);
        wk_header(&m, "content-type", "application/avro");
        ldr_outbox_append(&w->cur->payload, &m);
        wk_src_ts(w, src_ts_ms);
    }
    w->decisions += w->cur->out.count - from;
}

/* ---- partitions --------------------------------------------------------- */

static void wk_drop(wk_t *w, int partition) {
    wk_part_t *p = &w->part[partition];
    for (size_t i = 0; i < p->nmsgs; i++)
        rd_kafka_message_destroy(p->msgs[i]);
    p->nmsgs = 0;
    ldr_partition_destroy(p->state);
    p->state = NULL;
    if (p->owned) ldr_metrics_remove(w->m.lag, LDR_METRICS_LABELS(p->label));
    p->owned = false;
}

/* Claims a partition, loads its state and resends its pending outbox. */
static ldr_err_t wk_take(wk_t *w, int partition) {
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
    if ((rc = ldr_store_claim(w->store, partition, &p->epoch, err,
                              sizeof(err))) ||
        (rc = ldr_store_load(w->store, partition, p->state, &p->next_offset,
                             err, sizeof(err)))) {
        LDR_LOG_ERROR("partition %d: %s", partition, err);
        wk_redis_error(w);
        return rc;
    }
    wk_tag_t t = {w, partition, 0, -1};
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
static void wk_seek(wk_t *w, int partition) {
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

static void wk_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    wk_t *w = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++) {
            int pn = parts->elems[i].partition;
            if (pn < 0 || pn >= WK_MAX_PARTITIONS) continue;
            while (!wk_stop && wk_take(w, pn) != LDR_OK) {
                char e[512];
                sleep(1);
                wk_heartbeat(w);
                ldr_metrics_add(w->m.redis_retries, NULL, 1);
                if (ldr_store_reconnect(w->store, e, sizeof(e))) {
                    LDR_LOG_WARN("%s", e);
                    wk_redis_error(w);
                }
            }
            parts->elems[i].offset = w->part[pn].next_offset >= 0
                                         ? w->part[pn].next_offset
                                         : RD_KAFKA_OFFSET_BEGINNING;
        }
        rd_kafka_assign(rk, parts);
    } else {
        rd_kafka_flush(w->producer, 10000);
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

/* ---- one batch of one partition
 * ---------------------------------------------- */

/* Adds what the batch just stored did to the metrics. */
static void wk_count(wk_t *w) {
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
    for (int k = 0; k < WK_KINDS; k++)
        duplicates += w->cur->tally.events[k][WK_DUPLICATE];
    if (duplicates) ldr_metrics_add(w->m.duplicates, NULL, (double)duplicates);
    for (int c = 1; c < WK_CODES; c++)
        if (w->cur->tally.dead_letters[c])
            ldr_metrics_add(w->m.dead_letters,
                            LDR_METRICS_LABELS(ldr_err_code((ldr_err_t)-c)),
                            (double)w->cur->tally.dead_letters[c]);
    uint64_t types[LDR_DECISION__COUNT] = {0};
    for (size_t i = 0; i < w->cur->out.count; i++)
        if ((unsigned)w->cur->out.v[i].decision < LDR_DECISION__COUNT)
            types[w->cur->out.v[i].decision]++;
    for (int t = 0; t < LDR_DECISION__COUNT; t++)
        if (types[t])
            ldr_metrics_add(w->m.decisions,
                            LDR_METRICS_LABELS(
                                ldr_decision_type_name((ldr_decision_type_t)t)),
                            (double)types[t]);
}

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
    while (access(path, F_OK) == 0) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Decides the batch in hand and sends its atomic step to Redis, without
 * waiting for the answer (wk_complete reads it). Returns LDR_ERR_TRANSIENT
 * when Redis is down (the batch is dropped and will be replayed). */
static ldr_err_t wk_prepare(wk_t *w, int pn) {
    wk_part_t *p = &w->part[pn];
    p->batch.sent = false;
    if (!p->nmsgs) return LDR_OK;
    char err[512];
    int64_t now = wk_now_ms();
    /* Messages before the stored offset were applied already (fetched
     * before a seek took effect): they are not applied twice. */
    size_t skip = 0;
    while (skip < p->nmsgs && p->next_offset >= 0 &&
           p->msgs[skip]->offset < p->next_offset)
        rd_kafka_message_destroy(p->msgs[skip++]);
    if (skip) {
        memmove(p->msgs, p->msgs + skip, (p->nmsgs - skip) * sizeof(*p->msgs));
        p->nmsgs -= skip;
        if (!p->nmsgs) return LDR_OK;
    }
    int64_t first = p->msgs[0]->offset;
    /* The batch must start where the store says (or at offset 0 when
     * nothing was stored yet). Anything else means the log no longer holds
     * those messages (evicted): reported and counted, never skipped
     * silently. */
    int64_t expected = p->next_offset >= 0 ? p->next_offset : 0;
    if (first != expected) {
        LDR_LOG_ERROR("partition %d: expected offset %lld, the log starts at "
                      "%lld: %lld messages are gone",
                      pn, (long long)expected, (long long)first,
                      (long long)(first - expected));
        ldr_metrics_add(w->m.lost, NULL, (double)(first - expected));
    }
    w->cur = &p->batch;
    w->cur->started = wk_mono_s();
    ldr_machine_out_clear(&w->cur->out);
    ldr_buf_reset(&w->cur->payload);
    memset(&w->cur->tally, 0, sizeof(w->cur->tally));
    w->cur->nsrc = 0;
    for (size_t i = 0; i < p->nmsgs; i++) {
        rd_kafka_message_t *km = p->msgs[i];
        ldr_record_t rec;
        ldr_err_t rc = ldr_codec_decode(w->codec, km->payload, km->len, &rec,
                                        NULL, err, sizeof(err));
        if (rc == LDR_ERR_TRANSIENT) return rc;
        int kind =
            !rc && rec.kind > 0 && rec.kind < WK_KINDS ? (int)rec.kind : 0;
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
            continue;
        }
        size_t before = w->cur->out.count;
        uint64_t duplicates = w->cur->out.duplicates;
        ldr_machine_cause_t cause = {w->input_topic, km->partition, km->offset};
        rc = ldr_partition_step(p->state, &rec, &cause, &w->cur->out);
        if (rc) {
            LDR_LOG_ERROR("partition %d offset %lld: %s", pn,
                          (long long)km->offset, ldr_err_str(rc));
            abort(); /* the policies loaded at start cover every time */
        }
        rd_kafka_timestamp_type_t ts_type;
        int64_t ts = rd_kafka_message_timestamp(km, &ts_type);
        wk_decision_messages(w, before, now,
                             ts_type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1
                                                                         : ts);
        w->events++;
        w->cur->tally
            .events[kind][w->cur->out.duplicates > duplicates ? WK_DUPLICATE
                                                              : WK_APPLIED]++;
    }
    int64_t next = p->msgs[p->nmsgs - 1]->offset + 1;
    ldr_store_batch_t b = {0};
    b.partition = pn;
    b.epoch = p->epoch;
    b.first_offset = p->next_offset >= 0 ? p->next_offset : first;
    b.next_offset = next;
    b.clock = ldr_partition_clock(p->state);
    b.dirty = ldr_partition_take_dirty(p->state, &b.dirty_count);
    b.decisions = w->cur->out.v;
    b.decisions_count = w->cur->out.count;
    b.outbox = w->cur->payload.len ? w->cur->payload.data : NULL;
    b.outbox_len = w->cur->payload.len;
    b.notices_maxlen = 10000;
    wk_test_hold(); /* TEST-ONLY: LADDERTEST_HOLD_BEFORE_STORE */
    ldr_err_t rc = ldr_store_commit_send(w->store, &b, err, sizeof(err));
    if (rc) {
        LDR_LOG_WARN("%s", err);
        wk_redis_error(w);
        return rc;
    }
    p->batch.next = next;
    p->batch.sent = true;
    return LDR_OK;
}

/* Reads Redis's answer to the step wk_prepare sent for the partition, and
 * only that: nothing else may use the connection until every step sent has
 * been answered (ldr_store_commit_recv), so acting on the answer is
 * wk_finish's job. Returns LDR_ERR_TRANSIENT when Redis is down. */
static ldr_err_t wk_answer(wk_t *w, int pn) {
    wk_batch_t *bt = &w->part[pn].batch;
    bt->sent = false;
    ldr_err_t rc =
        ldr_store_commit_recv(w->store, pn, bt->why, sizeof(bt->why));
    if (rc == LDR_OK || rc == LDR_ERR_FENCED) {
        bt->result = rc;
        bt->answered = true;
        return LDR_OK;
    }
    LDR_LOG_WARN("%s", bt->why);
    wk_redis_error(w);
    return rc;
}

/* Finishes an answered batch: once stored, publishes its outbox entry;
 * when fenced, reloads the partition and seeks to the stored offset. */
static void wk_finish(wk_t *w, int pn) {
    wk_part_t *p = &w->part[pn];
    wk_batch_t *bt = &p->batch;
    bt->answered = false;
    if (bt->result == LDR_ERR_FENCED) {
        /* Another owner wrote, or Redis rewound: the cache is not the
         * truth any more. */
        w->fenced++;
        ldr_metrics_add(w->m.fenced, NULL, 1);
        LDR_LOG_WARN("%s: reloading and seeking to the stored offset", bt->why);
        for (size_t i = 0; i < p->nmsgs; i++)
            rd_kafka_message_destroy(p->msgs[i]);
        p->nmsgs = 0;
        if (wk_take(w, pn) == LDR_OK) wk_seek(w, pn);
        return;
    }
    w->cur = bt;
    p->next_offset = bt->next;
    wk_count(w);
    if (bt->payload.len)
        wk_publish(w, pn, bt->next, bt->payload.data, bt->payload.len,
                   bt->src_ts, bt->nsrc);
    /* The committed Kafka offset is a hint for lag monitoring only: stored
     * here, committed by librdkafka every auto.commit.interval.ms (a commit
     * request per batch cost the worker and the brokers dearly). */
    const rd_kafka_message_t *last = p->msgs[p->nmsgs - 1];
    rd_kafka_offset_store(last->rkt, last->partition, last->offset);
    for (size_t i = 0; i < p->nmsgs; i++)
        rd_kafka_message_destroy(p->msgs[i]);
    p->nmsgs = 0;
    ldr_metrics_observe(w->m.batch_seconds, NULL, wk_mono_s() - bt->started);
    /* A batch's decisions take 1.2 KB each: a partition that once had a
     * large batch does not keep that much memory for the rest of the run
     * (with a hundred partitions, that was most of the worker's RSS). */
    if (bt->out.cap > WK_KEEP_DECISIONS) {
        ldr_machine_out_fini(&bt->out);
        ldr_machine_out_init(&bt->out);
    }
    if (bt->payload.cap > WK_KEEP_DECISIONS * 512) {
        ldr_buf_fini(&bt->payload);
        ldr_buf_init(&bt->payload);
    }
}

/* Redis went away: drop every batch in hand, reconnect with backoff, claim
 * the partitions again and replay from the stored offsets. */
static void wk_recover(wk_t *w) {
    int delay_ms = 100;
    char err[512];
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_part_t *p = &w->part[pn];
        for (size_t i = 0; i < p->nmsgs; i++)
            rd_kafka_message_destroy(p->msgs[i]);
        p->nmsgs = 0;
        /* Steps sent or answered are forgotten: what Redis holds is
         * reloaded below, whichever of them it took. */
        p->batch.sent = false;
        p->batch.answered = false;
    }
    rd_kafka_topic_partition_list_t *assigned = NULL;
    rd_kafka_assignment(w->consumer, &assigned);
    if (assigned) rd_kafka_pause_partitions(w->consumer, assigned);
    w->store_down = true;
    wk_set_health(w, false, "redis is unreachable");
    while (!wk_stop) {
        wk_heartbeat(w);
        ldr_metrics_add(w->m.redis_retries, NULL, 1);
        if (ldr_store_reconnect(w->store, err, sizeof(err)) == LDR_OK) {
            bool ok = true;
            for (int pn = 0; pn < WK_MAX_PARTITIONS && ok; pn++)
                if (w->part[pn].owned) ok = wk_take(w, pn) == LDR_OK;
            if (ok) break;
        } else {
            LDR_LOG_WARN("%s; retrying in %d ms", err, delay_ms);
            wk_redis_error(w);
        }
        rd_kafka_poll(w->producer, delay_ms);
        delay_ms = delay_ms < 5000 ? delay_ms * 2 : 5000;
    }
    if (assigned) {
        for (int i = 0; i < assigned->cnt; i++) {
            int pn = assigned->elems[i].partition;
            if (pn >= 0 && pn < WK_MAX_PARTITIONS && w->part[pn].owned)
                wk_seek(w, pn);
        }
        rd_kafka_resume_partitions(w->consumer, assigned);
        rd_kafka_topic_partition_list_destroy(assigned);
    }
    w->store_down = false;
    w->next_refresh_ms = 0;
    LDR_LOG_INFO("redis is back: resumed from the stored offsets");
}

/* ---- health and gauges ---------------------------------------------------
 */

static void wk_set_health(wk_t *w, bool ready, const char *why) {
    pthread_mutex_lock(&w->health_lock);
    w->ready = ready;
    snprintf(w->not_ready, sizeof(w->not_ready), "%s", ready ? "" : why);
    pthread_mutex_unlock(&w->health_lock);
}

/* The partition's lag: its high watermark minus the stored next offset
 * (or the log start, when nothing is stored yet). The watermarks come from
 * librdkafka's cache, which every fetch refreshes; a partition not fetched
 * yet is asked once per refresh (*queried), so a refresh blocks for at most
 * one short request. Returns -1 when the lag is not known. */
static int64_t wk_lag(wk_t *w, int pn, bool *queried) {
    int64_t lo = -1, hi = -1;
    rd_kafka_resp_err_t kerr = rd_kafka_get_watermark_offsets(
        w->consumer, w->input_topic, pn, &lo, &hi);
    if ((kerr || hi < 0) && !*queried) {
        *queried = true;
        kerr = rd_kafka_query_watermark_offsets(w->consumer, w->input_topic, pn,
                                                &lo, &hi, 200);
    }
    if (kerr || hi < 0) return -1;
    int64_t from = w->part[pn].next_offset;
    if (from < 0) from = lo > 0 ? lo : 0;
    return hi > from ? hi - from : 0;
}

/* Refreshes the gauges and the readiness /readyz reports. */
static void wk_refresh(wk_t *w) {
    int owned = 0, pending = 0;
    bool queried = false;
    char why[160] = "";
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_part_t *p = &w->part[pn];
        pending += p->npending;
        if (!p->owned) continue;
        owned++;
        int64_t lag = wk_lag(w, pn, &queried);
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
    if (w->store_down)
        snprintf(why, sizeof(why), "redis is unreachable");
    else if (!owned)
        snprintf(why, sizeof(why), "no partitions assigned");
    wk_set_health(w, !why[0], why);
}

static void wk_livez(void *opaque, ldr_http_response_t *res) {
    wk_t *w = opaque;
    int64_t idle = wk_now_ms() -
                   atomic_load_explicit(&w->heartbeat_ms, memory_order_relaxed);
    if (!atomic_load(&w->running)) {
        res->status = 503;
        ldr_buf_append_str(&res->body, "stopping\n");
    } else if (idle > WK_LIVE_STALL_MS) {
        res->status = 503;
        ldr_buf_printf(&res->body, "the loop has not run for %lld s\n",
                       (long long)(idle / 1000));
    } else {
        ldr_buf_append_str(&res->body, "ok\n");
    }
}

static void wk_readyz(void *opaque, ldr_http_response_t *res) {
    wk_t *w = opaque;
    pthread_mutex_lock(&w->health_lock);
    if (w->ready) {
        ldr_buf_append_str(&res->body, "ready\n");
    } else {
        res->status = 503;
        ldr_buf_printf(&res->body, "not ready: %s\n", w->not_ready);
    }
    pthread_mutex_unlock(&w->health_lock);
}

static void wk_metrics_page(void *opaque, ldr_http_response_t *res) {
    wk_t *w = opaque;
    res->content_type = LDR_METRICS_CONTENT_TYPE;
    ldr_metrics_render(w->metrics, &res->body);
}

static void wk_metrics_register(wk_t *w) {
    static const double batch_bounds[] = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    static const double latency_bounds[] = {
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
    ldr_metrics_t *m = w->metrics = ldr_metrics_new();
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
        NULL, batch_bounds, sizeof(batch_bounds) / sizeof(batch_bounds[0]));
    w->m.latency_seconds = ldr_metrics_histogram(
        m, "ladder_worker_decision_latency_seconds",
        "From the input message's timestamp to Kafka's acknowledgement of "
        "the decision it caused.",
        NULL, latency_bounds,
        sizeof(latency_bounds) / sizeof(latency_bounds[0]));
    w->m.lag = ldr_metrics_gauge(
        m, "ladder_worker_partition_lag",
        "Messages of an owned partition not yet stored: high watermark "
        "minus the stored next offset.",
        "partition");
    w->m.backlog = ldr_metrics_gauge(
        m, "ladder_worker_outbox_backlog",
        "Outbox entries produced to Kafka but not yet trimmed from Redis.",
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

/* Writes a ClockTick into each owned partition that is fully caught up and
 * whose clock is behind the wall clock (DESIGN.md, guarantee 4). Ticks go
 * into the log itself, so a replay sees the same ticks; a partition that
 * still has messages to read gets none, so a tick never jumps a replay
 * forward. */
static void wk_ticks(wk_t *w) {
    int64_t now = wk_now_ms();
    bool queried = false;
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_part_t *p = &w->part[pn];
        if (!p->owned || p->nmsgs || !p->state ||
            ldr_partition_clock(p->state) >= now ||
            wk_lag(w, pn, &queried) != 0)
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

/* An idempotent producer can fail fatally (librdkafka 2.0.2 raises a
 * spurious "sequence desynchronization" after a disconnect: PITFALLS.md).
 * Everything it had not delivered is still in the outboxes, so a new
 * producer re-sends them from Redis: consumers may see a decision twice,
 * always with the same id. */
static rd_kafka_t *wk_kafka(wk_t *w, rd_kafka_type_t type, char *err, size_t n);

static void wk_check_producer(wk_t *w) {
    char why[512];
    if (!rd_kafka_fatal_error(w->producer, why, sizeof(why))) return;
    LDR_LOG_WARN("producer: fatal error: %s: recreating it and re-sending "
                 "the outboxes",
                 why);
    rd_kafka_purge(w->producer,
                   RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(w->producer, 1000);
    rd_kafka_destroy(w->producer);
    char err[512];
    while (!(w->producer = wk_kafka(w, RD_KAFKA_PRODUCER, err, sizeof(err)))) {
        LDR_LOG_ERROR("producer: %s; retrying", err);
        sleep(1);
        if (wk_stop) exit(2);
    }
    w->producers_recreated++;
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_part_t *p = &w->part[pn];
        if (!p->owned) continue;
        p->npending = 0;
        wk_tag_t t = {w, pn, 0, -1};
        if (ldr_store_outbox(w->store, pn, wk_publish_cb, &t, err, sizeof(err)))
            LDR_LOG_WARN("partition %d: %s (re-sent on the next take)", pn,
                         err);
    }
}

static void wk_run(wk_t *w) {
    while (!wk_stop) {
        wk_heartbeat(w);
        if (wk_now_ms() >= w->next_refresh_ms) {
            wk_refresh(w);
            w->next_refresh_ms = wk_now_ms() + WK_REFRESH_MS;
            /* An idle worker sends Redis nothing, so a Redis restarted
             * from an older AOF (state and offsets rewound) would go
             * unnoticed until the next message: ask it. */
            char err[512];
            if (ldr_store_ping(w->store, err, sizeof(err))) {
                LDR_LOG_WARN("%s", err);
                wk_redis_error(w);
                wk_recover(w);
            }
        }
        size_t n = 0;
        /* Gather a batch: poll until the queue runs dry or the batch is
         * full. */
        for (;;) {
            rd_kafka_message_t *km =
                rd_kafka_consumer_poll(w->consumer, n ? 0 : 100);
            if (!km) break;
            if (km->err) {
                if (km->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    LDR_LOG_WARN("consume: %s", rd_kafka_message_errstr(km));
                rd_kafka_message_destroy(km);
                continue;
            }
            if (km->partition < 0 || km->partition >= WK_MAX_PARTITIONS ||
                !w->part[km->partition].owned) {
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
        /* Every partition's step is sent before the first answer is read,
         * so Redis works on one while the next is decided. A partition's
         * next batch is decided only after its step was answered. */
        bool down = false;
        for (int pn = 0; pn < WK_MAX_PARTITIONS && !down; pn++)
            if (w->part[pn].nmsgs && wk_prepare(w, pn) == LDR_ERR_TRANSIENT)
                down = true;
        for (int pn = 0; pn < WK_MAX_PARTITIONS && !down; pn++)
            if (w->part[pn].batch.sent && wk_answer(w, pn) == LDR_ERR_TRANSIENT)
                down = true;
        if (down) {
            wk_recover(w);
        } else {
            for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++)
                if (w->part[pn].batch.answered) wk_finish(w, pn);
        }
        rd_kafka_poll(w->producer, 0);
        wk_check_producer(w);
        if (w->tick_interval_ms > 0 && wk_now_ms() >= w->next_tick_ms) {
            wk_ticks(w);
            w->next_tick_ms = wk_now_ms() + w->tick_interval_ms;
        }
        /* Redis gone while trimming: recover now, not at the next batch,
         * which may never come. */
        if (wk_trim_all(w) == LDR_ERR_TRANSIENT) wk_recover(w);
    }
}

/* ---- start-up
 * ----------------------------------------------------------------- */

static void wk_usage(FILE *f) {
    fprintf(f,
            "Usage: ladder-worker [--config FILE]\n"
            "Consume ladder's input topic, apply the designation rules, keep "
            "each\nenterprise's state in Redis and publish every decision.\n\n"
            "  --config FILE   key = value configuration (docs/CONFIG.md); "
            "LADDER_*\n                  variables override it\n"
            "  --help          show this help\n\n"
            "Keys used: kafka.*, group.id, input.topic, decisions.topic, "
            "dlq.topic,\nredis.url, redis.password, policy.dir, schemas.dir, "
            "units.file,\nclock.max.skew.days, clock.tick.interval.ms, "
            "http.listen, log.level.\n\n"
            "Serves /livez, /readyz and /metrics (Prometheus) on "
            "http.listen.\n\n"
            "Stops on SIGTERM or SIGINT after the batch in hand, with every "
            "decision\npublished. Exit status: 0 after a clean stop, 2 for a "
            "configuration\nerror or a dependency that is not there at "
            "start-up.\n");
}

/* A start-up failure after the HTTP server started: one line, exit 2. */
static int wk_fail(wk_t *w, const char *why) {
    fprintf(stderr, "ladder-worker: %s\n", why);
    ldr_http_destroy(w->http);
    w->http = NULL;
    return 2;
}

/* librdkafka's own log lines, through ladder's logger. kafka.* keys go to
 * both clients, so each warns about the other's properties (CONFWARN):
 * that is expected, and only shown at debug level. */
static void wk_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac,
                           const char *buf) {
    (void)rk;
    if (strcmp(fac, "CONFWARN") == 0 || level >= 6)
        LDR_LOG_DEBUG("rdkafka: %s: %s", fac, buf);
    else if (level >= 4)
        LDR_LOG_WARN("rdkafka: %s: %s", fac, buf);
    else
        LDR_LOG_ERROR("rdkafka: %s: %s", fac, buf);
}

static rd_kafka_t *wk_kafka(wk_t *w, rd_kafka_type_t type, char *err,
                            size_t n) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* ladder's defaults first, so that kafka.* keys can override them */
    /* Decisions are keyed by USCC with the same partitioner as the input,
     * so an enterprise's decisions stay in one partition, in order, for
     * every kind of consumer. */
    static const char *const producer[][2] = {{"enable.idempotence", "true"},
                                              {"partitioner", "murmur2_random"},
                                              {"linger.ms", "20"},
                                              {"batch.num.messages", "10000"},
                                              {"client.id", "ladder-worker"}};
    static const char *const consumer[][2] = {
        {"enable.auto.commit", "true"},
        {"enable.auto.offset.store", "false"},
        {"auto.commit.interval.ms", "1000"},
        /* prefetch: a few loops' worth, not librdkafka's 64 MiB */
        {"queued.max.messages.kbytes", "16384"},
        {"auto.offset.reset", "earliest"},
        {"partition.assignment.strategy", "range"},
        {"client.id", "ladder-worker"}};
    const char *const(*props)[2] =
        type == RD_KAFKA_PRODUCER ? producer : consumer;
    size_t nprops = type == RD_KAFKA_PRODUCER
                        ? sizeof(producer) / sizeof(producer[0])
                        : sizeof(consumer) / sizeof(consumer[0]);
    rd_kafka_conf_set_log_cb(conf, wk_rdkafka_log);
    for (size_t i = 0; i < nprops; i++)
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], err, n) !=
            RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    if (ldr_kafka_conf_apply(w->cfg, conf, err, n)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (type == RD_KAFKA_PRODUCER) {
        rd_kafka_conf_set_dr_msg_cb(conf, wk_dr_cb);
    } else {
        if (rd_kafka_conf_set(conf, "group.id",
                              ldr_config_get(w->cfg, "group.id"), err,
                              n) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
        rd_kafka_conf_set_rebalance_cb(conf, wk_rebalance);
    }
    rd_kafka_conf_set_opaque(conf, w);
    return rd_kafka_new(type, conf, err, n);
}

int main(int argc, char **argv) {
    const char *config_file = NULL;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'c')
            config_file = optarg;
        else if (c == 'h') {
            wk_usage(stdout);
            return 0;
        } else {
            wk_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ladder-worker: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    ldr_log_set_program("ladder-worker");
    static wk_t w; /* large: partition table */
    char err[1024], pbuf[3][4096];
    w.cfg = ldr_config_new("ladder-worker");
    if ((config_file &&
         ldr_config_load_file(w.cfg, config_file, err, sizeof(err))) ||
        ldr_config_load_env(w.cfg, environ, err, sizeof(err))) {
        fprintf(stderr, "ladder-worker: %s\n", err);
        return 2;
    }
    ldr_log_level_t level;
    if (ldr_log_parse_level(ldr_config_get(w.cfg, "log.level"), &level) ==
        LDR_OK)
        ldr_log_set_level(level);
    if (!ldr_config_get(w.cfg, "kafka.bootstrap.servers")) {
        fprintf(stderr,
                "ladder-worker: kafka.bootstrap.servers is not set: "
                "start the embedded cluster with build/bin/ladder-kafka "
                "and set LADDER_KAFKA_BOOTSTRAP_SERVERS to the list it "
                "prints\n");
        return 2;
    }
    /* Metrics and health first: a second worker given the same address
     * stops here, before it joins the group and moves partitions. */
    pthread_mutex_init(&w.health_lock, NULL);
    atomic_store(&w.running, true);
    wk_heartbeat(&w);
    wk_set_health(&w, false, "starting");
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++)
        snprintf(w.part[pn].label, sizeof(w.part[pn].label), "%d", pn);
    wk_metrics_register(&w);
    w.http = ldr_http_new();
    ldr_http_get(w.http, "/livez", wk_livez, &w);
    ldr_http_get(w.http, "/readyz", wk_readyz, &w);
    ldr_http_get(w.http, "/metrics", wk_metrics_page, &w);
    const char *listen_at = ldr_config_get(w.cfg, "http.listen");
    if (ldr_http_start(w.http, listen_at, err, sizeof(err)))
        return wk_fail(&w, err);
    LDR_LOG_INFO("serving /livez, /readyz and /metrics on %s (port %d)",
                 listen_at, ldr_http_port(w.http));
    w.input_topic = ldr_config_get(w.cfg, "input.topic");
    w.decisions_topic = ldr_config_get(w.cfg, "decisions.topic");
    w.dlq_topic = ldr_config_get(w.cfg, "dlq.topic");
    w.policies = ldr_policies_load_dir(
        ldr_config_data_path(ldr_config_get(w.cfg, "policy.dir"), pbuf[0],
                             sizeof(pbuf[0])),
        err, sizeof(err));
    if (w.policies)
        w.schemas = ldr_schemas_load(
            ldr_config_data_path(ldr_config_get(w.cfg, "schemas.dir"), pbuf[1],
                                 sizeof(pbuf[1])),
            err, sizeof(err));
    if (w.schemas) w.codec = ldr_codec_new(w.schemas, err, sizeof(err));
    if (w.codec)
        w.units = ldr_units_load(
            ldr_config_data_path(ldr_config_get(w.cfg, "units.file"), pbuf[2],
                                 sizeof(pbuf[2])),
            err, sizeof(err));
    if (!w.units) {
        return wk_fail(&w, err);
    }
    w.validator = ldr_validator_new(
        w.units, (int)ldr_config_get_int(w.cfg, "clock.max.skew.days"));
    w.tick_interval_ms = ldr_config_get_int(w.cfg, "clock.tick.interval.ms");
    w.store = ldr_store_new(ldr_config_get(w.cfg, "redis.url"),
                            ldr_config_get(w.cfg, "redis.password"), 5000, err,
                            sizeof(err));
    if (!w.store) {
        return wk_fail(&w, err);
    }
    w.producer = wk_kafka(&w, RD_KAFKA_PRODUCER, err, sizeof(err));
    if (w.producer)
        w.consumer = wk_kafka(&w, RD_KAFKA_CONSUMER, err, sizeof(err));
    if (!w.consumer) {
        return wk_fail(&w, err);
    }
    w.partitions = ldr_kafka_partition_count(w.producer, w.input_topic, 10000,
                                             err, sizeof(err));
    if (w.partitions < 1 || w.partitions > WK_MAX_PARTITIONS) {
        return wk_fail(&w, w.partitions < 1 ? err : "too many partitions");
    }
    if (ldr_store_set_partitions(w.store, w.partitions, err, sizeof(err))) {
        return wk_fail(&w, err);
    }
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        ldr_machine_out_init(&w.part[pn].batch.out);
        ldr_buf_init(&w.part[pn].batch.payload);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = wk_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* A write to a Redis that went away must be an error the store reports
     * (and the worker recovers from), not a signal that kills the worker:
     * with pipelined steps the second write after a restart hits a reset
     * connection before any read has noticed. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    rd_kafka_poll_set_consumer(w.consumer);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, w.input_topic,
                                      RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t kerr = rd_kafka_subscribe(w.consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (kerr) {
        snprintf(err, sizeof(err), "subscribe: %s", rd_kafka_err2str(kerr));
        return wk_fail(&w, err);
    }
    LDR_LOG_INFO("consuming %s (%d partitions) as group %s", w.input_topic,
                 w.partitions, ldr_config_get(w.cfg, "group.id"));
    wk_run(&w);

    atomic_store(&w.running, false);
    LDR_LOG_INFO("stopping: publishing what is stored");
    rd_kafka_flush(w.producer, 8000);
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++)
        if (w.part[pn].npending) wk_trim(&w, pn);
    rd_kafka_consumer_close(w.consumer);
    rd_kafka_destroy(w.consumer);
    rd_kafka_destroy(w.producer);
    LDR_LOG_INFO("stopped: %llu events, %llu decisions, %llu dead letters, "
                 "%llu fenced batches, %llu ticks written, %llu producers "
                 "recreated",
                 (unsigned long long)w.events, (unsigned long long)w.decisions,
                 (unsigned long long)w.dead_letters,
                 (unsigned long long)w.fenced,
                 (unsigned long long)w.ticks_written,
                 (unsigned long long)w.producers_recreated);
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_drop(&w, pn);
        free(w.part[pn].msgs);
    }
    ldr_http_destroy(w.http); /* joins the thread that reads the metrics */
    ldr_metrics_destroy(w.metrics);
    pthread_mutex_destroy(&w.health_lock);
    for (int pn = 0; pn < WK_MAX_PARTITIONS; pn++) {
        wk_batch_t *bt = &w.part[pn].batch;
        free(bt->src_ts);
        ldr_machine_out_fini(&bt->out);
        ldr_buf_fini(&bt->payload);
    }
    ldr_store_destroy(w.store);
    ldr_validator_destroy(w.validator);
    ldr_units_destroy(w.units);
    ldr_codec_destroy(w.codec);
    ldr_schemas_destroy(w.schemas);
    ldr_policies_destroy(w.policies);
    ldr_config_destroy(w.cfg);
    return 0;
}
