/* notify_int.h -- ladder-notify's private types and cross-file helpers.
 *
 * DESIGN: ladder-notify is one process-wide nt_t, owned by main.c and
 * shared by three kinds of code: the consumer (consume.c, main thread
 * only), the subscriber queues and threads (subscribers.c) and the HTTP
 * delivery (deliver.c, on each subscriber's thread). What crosses threads
 * is said at each field: a notice's counters are atomic, a subscriber's
 * queue is under its lock, everything else belongs to the main thread.
 * Nothing here is exported from the program; the helpers keep the nt_
 * prefix. */
#ifndef LADDER_NOTIFY_INT_H
#define LADDER_NOTIFY_INT_H

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ladder/codec.h"
#include "ladder/config.h"
#include "ladder/err.h"
#include "ladder/metrics.h"
#include "ladder/schema.h"
#include "ladder/svc.h"

#define NT_MAX_PARTITIONS  1024
#define NT_MAX_SUBSCRIBERS 64
/* Consumption pauses with this many messages not yet done, and resumes at
 * half of it. */
#define NT_INFLIGHT_MAX 20000
/* How often the main loop refreshes lag and readiness, and commits. */
#define NT_REFRESH_MS 500
#define NT_COMMIT_MS  100
/* /livez fails when the main loop has not come round for this long. */
#define NT_LIVE_STALL_MS 60000

/* One consumed message. `left` counts the deliveries not yet acknowledged
 * or dead-lettered (0: the partition may commit past it); `refs` counts the
 * holders (its partition list and each queue it is in). */
typedef struct nt_notice {
    atomic_int refs;
    atomic_int left;
    atomic_bool abandoned;
    int32_t partition;
    int64_t offset;
    int64_t ts_ms; /* the message's Kafka timestamp, -1 when absent */
    char *body;    /* the CloudEvent, NULL when no subscriber selected it */
    size_t body_len;
    char *id;
} nt_notice_t;

/* A partition's notices in offset order: a growable ring (main thread). */
typedef struct nt_part {
    bool owned;
    char label[12];
    nt_notice_t **v;
    size_t head, len, cap;
    int64_t done_next;      /* offset after the last finished entry, or -1 */
    int64_t committed_next; /* what was last committed, or -1 */
    int64_t seen_next;      /* offset after the last message read, or -1 */
    bool from_log_start;    /* nothing committed: reading from the start */
} nt_part_t;

struct nt;

typedef struct nt_sub {
    struct nt *n;
    char *name, *url, *secret;
    uint32_t types; /* bit (1 << ldr_decision_type_t) */
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    nt_notice_t **q; /* FIFO ring, under lock */
    size_t qhead, qlen, qcap;
    CURL *curl;
    char curl_err[CURL_ERROR_SIZE];
    unsigned seed;
} nt_sub_t;

typedef struct nt {
    ldr_svc_t *svc;
    ldr_config_t *cfg; /* the svc's */
    ldr_schemas_t *schemas;
    ldr_registry_t *registry;
    ldr_codec_t *codec;
    rd_kafka_t *consumer;
    const char *topic;
    nt_part_t part[NT_MAX_PARTITIONS];
    nt_sub_t sub[NT_MAX_SUBSCRIBERS];
    int nsubs;
    long long max_attempts, backoff_initial_ms, backoff_max_ms, timeout_ms;
    bool signature_v1; /* also send the body-only X-Ladder-Signature */
    const char *deadletter_path;
    pthread_mutex_t deadletter_lock;
    atomic_bool stopping; /* the subscriber threads are to let go */
    size_t inflight;      /* entries in the partition lists */
    bool paused;          /* too much outstanding (nt_flow) */
    bool rebalancing;     /* a commit found the group rebalancing */
    int64_t next_refresh_ms, next_commit_ms;
    uint64_t read, selected, undecodable, lost;
    int64_t retry_ms;       /* the wait for a schema now (nt_handle), or 0 */
    ldr_metrics_t *metrics; /* the svc's registry */
    struct {
        ldr_metric_t *decisions, *undecodable, *transient, *lost, *delivered,
            *failed;
        ldr_metric_t *dead_letters, *latency, *queue, *lag, *assigned,
            *committed, *commit_failures;
    } m;
} nt_t;

/* ---- deliver.c (a subscriber's thread) ---------------------------------- */

typedef enum { NT_DONE, NT_STOPPED } nt_outcome_t;

/* Delivers one notice: until acknowledged, dead-lettered, abandoned (its
 * partition was revoked) or the program stops. */
nt_outcome_t nt_deliver(nt_sub_t *s, nt_notice_t *n);

/* Sets up @p s's curl handle, once (connections are reused); freed by
 * curl_easy_cleanup() in nt_free(). */
void nt_sub_curl(nt_sub_t *s);

/* True when notify.deadletter.file can be appended to or created; else
 * false with one line in @p err. */
bool nt_deadletter_writable(const char *path, char *err, size_t n);

/* ---- subscribers.c ------------------------------------------------------ */

/* Lets go of one reference; the last one frees the notice. */
void nt_notice_release(nt_notice_t *n);

/* Appends @p n to @p s's queue (the queue's reference was counted by the
 * caller) and wakes its thread. */
void nt_sub_push(nt_sub_t *s, nt_notice_t *n);

/* Initialises every subscriber slot's lock and condition variable. */
void nt_subs_init(nt_t *nt);

/* Starts one thread per subscriber; aborts when one cannot start. */
void nt_subs_start(nt_t *nt);

/* Makes every subscriber thread let go of what it holds, and joins them. */
void nt_subs_stop(nt_t *nt);

/* Frees what every subscriber slot holds (after nt_subs_stop()). */
void nt_subs_free(nt_t *nt);

/* ---- consume.c (main thread) -------------------------------------------- */

/* The consumer of the decisions topic, callbacks set; NULL with @p err. */
rd_kafka_t *nt_consumer(nt_t *nt, char *err, size_t n);

/* Subscribes to the decisions topic; LDR_ERR_CONFIG when refused. */
ldr_err_t nt_subscribe(nt_t *nt);

/* Consumes until a stop is asked for. */
void nt_run(nt_t *nt);

/* Pops the finished entries at the front of every owned partition. */
void nt_advance(nt_t *nt);

/* Commits every owned partition whose finished position moved (only those
 * of @p only when not NULL). */
void nt_commit(nt_t *nt, const rd_kafka_topic_partition_list_t *only,
               bool sync);

/* Forgets a partition: its notices still queued are abandoned. */
void nt_part_drop(nt_t *nt, int pn);

#endif
