/* ladder-notify -- deliver revocation notices to webhooks, at least once.
 *
 * DESIGN: the main thread consumes the decisions topic in a consumer group
 * (group.id, default ladder-notify), decodes each DesignationDecision with
 * ladder's codec and, when any subscriber selects its type, turns it into
 * one CloudEvents structured JSON body (ldr_cloudevents_from_decision). The
 * body is shared, read-only, by every subscriber that selected it.
 *
 * Each subscriber has a thread of its own and a FIFO queue. The thread
 * takes the oldest notice, POSTs it with libcurl (one easy handle per
 * thread, so connections are kept alive), and on a connection error, a
 * timeout or a non-2xx answer waits with exponential backoff
 * (notify.backoff.initial.ms doubling up to notify.backoff.max.ms; each
 * wait is drawn uniformly from the upper half of the step, so retries of
 * many notifiers do not march in step) and tries again. After
 * notify.max.attempts failures it appends the notice to
 * notify.deadletter.file and goes on. Only then does it take the next
 * notice: a subscriber never receives a notice before the previous one was
 * acknowledged or dead-lettered, which keeps each enterprise's notices in
 * order (an enterprise's decisions share one partition). A thread per
 * subscriber was chosen over one curl multi loop because a subscriber is
 * by nature sequential (one request in flight, then a wait), blocking code
 * says that directly, and a slow or dead subscriber then holds up only its
 * own thread; subscribers are few (a handful of agencies), so threads cost
 * nothing worth saving.
 *
 * Offsets are committed explicitly (enable.auto.commit=false), per
 * partition, and only up to the first message that some subscriber has not
 * yet acknowledged or dead-lettered: every consumed message, selected or
 * not, has an entry in its partition's ordered list, with a count of the
 * deliveries still outstanding, and the main thread pops finished entries
 * from the front and commits the offset after the last one popped. A crash
 * or a rebalance therefore re-sends at most the uncommitted tail, each
 * notice with the same CloudEvent id (= decision_id), and never skips one.
 * Entries are reference-counted because a revoked partition's list is
 * dropped while its notices may still sit in subscriber queues: they are
 * marked abandoned (the new owner re-sends them from the committed offset)
 * and freed by whoever lets go last. When more than NT_INFLIGHT_MAX entries
 * are outstanding (a subscriber is down and retrying), consumption pauses
 * until half of them are done, so memory stays bounded while the consumer
 * keeps serving the group. Likewise, once a commit is refused because the
 * group is rebalancing, reading pauses until the new assignment: nothing
 * read in between could be committed before the partitions move.
 *
 * On SIGTERM or SIGINT the subscriber threads abandon the request in hand
 * (the transfer is aborted from curl's progress callback) and their backoff
 * waits; the main thread commits what was acknowledged, nothing more, and
 * leaves the group. What was abandoned is sent again after a restart.
 *
 * Observability as in ladder-worker: /livez, /readyz and /metrics on
 * http.listen, served by ladder/http.h on its own thread. */
#include "ladder/alloc.h"
#include "ladder/kafka.h"
#include "ladder/cloudevents.h"
#include "ladder/codec.h"
#include "ladder/config.h"
#include "ladder/http.h"
#include "ladder/log.h"
#include "ladder/metrics.h"
#include "ladder/schema.h"
#include "ladder/time.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

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

static volatile sig_atomic_t nt_signalled;

static void nt_on_signal(int sig) {
    (void)sig;
    nt_signalled = 1;
}

static int64_t nt_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t nt_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- notices ------------------------------------------------------------ */

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

static void nt_notice_release(nt_notice_t *n) {
    if (atomic_fetch_sub(&n->refs, 1) != 1) return;
    free(n->body);
    free(n->id);
    free(n);
}

/* A partition's notices in offset order: a growable ring. */
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
    nt_notice_t **q; /* FIFO ring */
    size_t qhead, qlen, qcap;
    CURL *curl;
    char curl_err[CURL_ERROR_SIZE];
    unsigned seed;
} nt_sub_t;

typedef struct nt {
    ldr_config_t *cfg;
    ldr_schemas_t *schemas;
    ldr_codec_t *codec;
    rd_kafka_t *consumer;
    const char *topic;
    nt_part_t part[NT_MAX_PARTITIONS];
    nt_sub_t sub[NT_MAX_SUBSCRIBERS];
    int nsubs;
    long long max_attempts, backoff_initial_ms, backoff_max_ms, timeout_ms;
    const char *deadletter_path;
    pthread_mutex_t deadletter_lock;
    atomic_bool stopping;
    size_t inflight;  /* entries in the partition lists */
    bool paused;      /* too much outstanding (nt_flow) */
    bool rebalancing; /* a commit found the group rebalancing */
    int64_t next_refresh_ms, next_commit_ms;
    uint64_t read, selected, undecodable, lost;
    ldr_metrics_t *metrics;
    struct {
        ldr_metric_t *decisions, *undecodable, *lost, *delivered, *failed;
        ldr_metric_t *dead_letters, *latency, *queue, *lag, *assigned,
            *committed, *commit_failures;
    } m;
    ldr_http_t *http;
    atomic_llong heartbeat_ms;
    atomic_bool running;
    pthread_mutex_t health_lock;
    bool ready;
    char not_ready[160];
} nt_t;

/* ---- delivery: one subscriber's thread ---------------------------------- */

/* Waits up to @p ms, or less when stopping. Returns false when stopping. */
static bool nt_sub_sleep(nt_sub_t *s, int64_t ms) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    while (!atomic_load(&s->n->stopping))
        if (pthread_cond_timedwait(&s->cond, &s->lock, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&s->lock);
    return !atomic_load(&s->n->stopping);
}

/* Aborts a transfer in hand once the program is stopping. */
static int nt_progress(void *opaque, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow) {
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    nt_sub_t *s = opaque;
    return atomic_load(&s->n->stopping) ? 1 : 0;
}

/* The answer's body is not used: only the status counts. */
static size_t nt_discard(char *ptr, size_t size, size_t nmemb, void *opaque) {
    (void)ptr;
    (void)opaque;
    return size * nmemb;
}

/* Lower-case hex of HMAC-SHA256(@p key, @p data) into @p hex (65 bytes). */
static void nt_sign(const char *key, const void *data, size_t len,
                    char hex[65]) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), data, len, mac, &mac_len);
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < mac_len && i < 32; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 15];
    }
    hex[64] = '\0';
}

typedef enum { NT_SENT, NT_FAILED, NT_ABORTED } nt_attempt_t;

/* One POST. On failure @p why says what happened and @p reason is the
 * metric label (connection, timeout, status). */
static nt_attempt_t nt_post(nt_sub_t *s, const nt_notice_t *n, char *why,
                            size_t why_size, const char **reason) {
    char hex[65], sig[96];
    nt_sign(s->secret, n->body, n->body_len, hex);
    snprintf(sig, sizeof(sig), "X-Ladder-Signature: sha256=%s", hex);
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Content-Type: " LDR_CLOUDEVENTS_CONTENT_TYPE
                                   "; charset=utf-8");
    hdrs = curl_slist_append(hdrs, sig);
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, n->body);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)n->body_len);
    s->curl_err[0] = '\0';
    CURLcode rc = curl_easy_perform(s->curl);
    curl_slist_free_all(hdrs);
    if (rc == CURLE_ABORTED_BY_CALLBACK && atomic_load(&s->n->stopping))
        return NT_ABORTED;
    if (rc != CURLE_OK) {
        snprintf(why, why_size, "%s",
                 s->curl_err[0] ? s->curl_err : curl_easy_strerror(rc));
        *reason = rc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "connection";
        return NT_FAILED;
    }
    long status = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) return NT_SENT;
    snprintf(why, why_size, "HTTP status %ld", status);
    *reason = "status";
    return NT_FAILED;
}

/* Appends one dead-letter line. Returns false when the file cannot be
 * written (the notice is then not acknowledged: it stays first in line). */
static bool nt_dead_letter(nt_sub_t *s, const nt_notice_t *n, long attempts,
                           const char *why) {
    nt_t *nt = s->n;
    char when[LDR_TIME_FORMAT_SIZE];
    ldr_time_format(nt_now_ms(), when, sizeof(when));
    json_t *line = json_object();
    json_object_set_new(line, "subscriber", json_string(s->name));
    json_object_set_new(line, "attempts", json_integer(attempts));
    json_object_set_new(line, "last_error", json_string(why));
    json_object_set_new(line, "dead_lettered_at", json_string(when));
    json_object_set_new(line, "topic", json_string(nt->topic));
    json_object_set_new(line, "partition", json_integer(n->partition));
    json_object_set_new(line, "offset", json_integer(n->offset));
    json_object_set_new(line, "event",
                        json_loadb(n->body, n->body_len, 0, NULL));
    char *text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    bool ok = false;
    pthread_mutex_lock(&nt->deadletter_lock);
    int fd = open(nt->deadletter_path,
                  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0 && text) {
        size_t len = strlen(text);
        text[len] = '\n'; /* replaces the NUL: written with its length */
        ok = write(fd, text, len + 1) == (ssize_t)(len + 1);
        if (!ok)
            LDR_LOG_ERROR("notify.deadletter.file: %s: %s", nt->deadletter_path,
                          strerror(errno));
        /* One line per notice, on disk before the offset may be committed. */
        if (ok && fdatasync(fd) != 0) ok = false;
    } else if (fd < 0) {
        LDR_LOG_ERROR("notify.deadletter.file: %s: %s", nt->deadletter_path,
                      strerror(errno));
    }
    if (fd >= 0) close(fd);
    pthread_mutex_unlock(&nt->deadletter_lock);
    free(text);
    return ok;
}

typedef enum { NT_DONE, NT_STOPPED } nt_outcome_t;

/* Delivers one notice: until acknowledged, dead-lettered, abandoned (its
 * partition was revoked) or the program stops. */
static nt_outcome_t nt_deliver(nt_sub_t *s, nt_notice_t *n) {
    nt_t *nt = s->n;
    const char *const label[] = {s->name};
    int64_t step = nt->backoff_initial_ms;
    char why[CURL_ERROR_SIZE + 64] = "";
    for (long attempt = 1;; attempt++) {
        if (atomic_load(&nt->stopping)) return NT_STOPPED;
        if (atomic_load(&n->abandoned)) return NT_DONE;
        const char *reason = "connection";
        nt_attempt_t a = nt_post(s, n, why, sizeof(why), &reason);
        if (a == NT_ABORTED) return NT_STOPPED;
        if (a == NT_SENT) {
            ldr_metrics_add(nt->m.delivered, label, 1);
            if (n->ts_ms >= 0)
                ldr_metrics_observe(nt->m.latency, label,
                                    (double)(nt_now_ms() - n->ts_ms) / 1000.0);
            LDR_LOG_DEBUG("%s: delivered %s (attempt %ld)", s->name, n->id,
                          attempt);
            return NT_DONE;
        }
        ldr_metrics_add(nt->m.failed, LDR_METRICS_LABELS(s->name, reason), 1);
        if (attempt >= nt->max_attempts) {
            /* The file must hold the notice before the offset can move. */
            while (!nt_dead_letter(s, n, attempt, why))
                if (!nt_sub_sleep(s, nt->backoff_max_ms)) return NT_STOPPED;
            ldr_metrics_add(nt->m.dead_letters, label, 1);
            LDR_LOG_WARN("%s: %s dead-lettered after %ld attempts: %s", s->name,
                         n->id, attempt, why);
            return NT_DONE;
        }
        /* Upper half of the step, uniformly: [step/2, step]. */
        int64_t wait = step / 2 + (int64_t)(rand_r(&s->seed) %
                                            (unsigned)(step - step / 2 + 1));
        LDR_LOG_DEBUG("%s: %s attempt %ld failed: %s; retrying in %lld ms",
                      s->name, n->id, attempt, why, (long long)wait);
        if (!nt_sub_sleep(s, wait)) return NT_STOPPED;
        step = step * 2 < nt->backoff_max_ms ? step * 2 : nt->backoff_max_ms;
    }
}

static void *nt_sub_main(void *opaque) {
    nt_sub_t *s = opaque;
    nt_t *nt = s->n;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (!atomic_load(&nt->stopping) && s->qlen == 0)
            pthread_cond_wait(&s->cond, &s->lock);
        if (atomic_load(&nt->stopping)) {
            pthread_mutex_unlock(&s->lock);
            break;
        }
        nt_notice_t *n = s->q[s->qhead];
        pthread_mutex_unlock(&s->lock);
        if (nt_deliver(s, n) == NT_STOPPED) break;
        pthread_mutex_lock(&s->lock);
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
        pthread_mutex_unlock(&s->lock);
        atomic_fetch_sub(&n->left, 1);
        nt_notice_release(n);
    }
    /* Stopping: what is still queued was not acknowledged; let it go (the
     * main thread will not commit past it). */
    pthread_mutex_lock(&s->lock);
    while (s->qlen) {
        nt_notice_release(s->q[s->qhead]);
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void nt_sub_push(nt_sub_t *s, nt_notice_t *n) {
    pthread_mutex_lock(&s->lock);
    if (s->qlen == s->qcap) {
        size_t cap = s->qcap ? s->qcap * 2 : 64;
        nt_notice_t **q = ldr_malloc(cap * sizeof(*q));
        for (size_t i = 0; i < s->qlen; i++)
            q[i] = s->q[(s->qhead + i) % s->qcap];
        free(s->q);
        s->q = q;
        s->qhead = 0;
        s->qcap = cap;
    }
    s->q[(s->qhead + s->qlen) % s->qcap] = n;
    s->qlen++;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* ---- partitions and commits (main thread) ------------------------------- */

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

/* Pops the finished entries at the front of every owned partition. */
static void nt_advance(nt_t *nt) {
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

/* Commits every owned partition whose finished position moved (only those
 * of @p only when not NULL). */
static void nt_commit(nt_t *nt, const rd_kafka_topic_partition_list_t *only,
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
static void nt_part_drop(nt_t *nt, int pn) {
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

static void nt_handle(nt_t *nt, rd_kafka_message_t *km) {
    int pn = km->partition;
    if (pn < 0 || pn >= NT_MAX_PARTITIONS || !nt->part[pn].owned) return;
    nt_part_t *p = &nt->part[pn];
    if (p->seen_next >= 0 && km->offset < p->seen_next) return; /* re-read */
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
    ldr_record_t rec;
    char err[512];
    ldr_err_t rc = ldr_codec_decode(nt->codec, km->payload, km->len, &rec, NULL,
                                    err, sizeof(err));
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

/* ---- health and gauges -------------------------------------------------- */

static void nt_set_health(nt_t *nt, bool ready, const char *why) {
    pthread_mutex_lock(&nt->health_lock);
    nt->ready = ready;
    snprintf(nt->not_ready, sizeof(nt->not_ready), "%s", ready ? "" : why);
    pthread_mutex_unlock(&nt->health_lock);
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
    nt_set_health(nt, owned > 0, "no partitions assigned");
}

static void nt_livez(void *opaque, ldr_http_response_t *res) {
    nt_t *nt = opaque;
    int64_t idle = nt_now_ms() - atomic_load_explicit(&nt->heartbeat_ms,
                                                      memory_order_relaxed);
    if (!atomic_load(&nt->running)) {
        res->status = 503;
        ldr_buf_append_str(&res->body, "stopping\n");
    } else if (idle > NT_LIVE_STALL_MS) {
        res->status = 503;
        ldr_buf_printf(&res->body, "the loop has not run for %lld s\n",
                       (long long)(idle / 1000));
    } else {
        ldr_buf_append_str(&res->body, "ok\n");
    }
}

static void nt_readyz(void *opaque, ldr_http_response_t *res) {
    nt_t *nt = opaque;
    pthread_mutex_lock(&nt->health_lock);
    if (nt->ready) {
        ldr_buf_append_str(&res->body, "ready\n");
    } else {
        res->status = 503;
        ldr_buf_printf(&res->body, "not ready: %s\n", nt->not_ready);
    }
    pthread_mutex_unlock(&nt->health_lock);
}

static void nt_metrics_page(void *opaque, ldr_http_response_t *res) {
    nt_t *nt = opaque;
    res->content_type = LDR_METRICS_CONTENT_TYPE;
    ldr_metrics_render(nt->metrics, &res->body);
}

static void nt_metrics_register(nt_t *nt) {
    static const double latency_bounds[] = {
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
    ldr_metrics_t *m = nt->metrics = ldr_metrics_new();
    nt->m.decisions = ldr_metrics_counter(
        m, "ladder_notify_decisions_total",
        "Decisions read from the decisions topic, by type.", "type");
    nt->m.undecodable = ldr_metrics_counter(
        m, "ladder_notify_undecodable_total",
        "Messages of the decisions topic that are not a decodable "
        "DesignationDecision (logged and skipped).",
        NULL);
    nt->m.lost = ldr_metrics_counter(
        m, "ladder_notify_lost_messages_total",
        "Decisions the log no longer held when ladder-notify reached them "
        "(evicted before they were read).",
        NULL);
    nt->m.delivered = ldr_metrics_counter(
        m, "ladder_notify_delivered_total",
        "Notices a subscriber acknowledged with a 2xx status.", "subscriber");
    nt->m.failed = ldr_metrics_counter(
        m, "ladder_notify_failed_attempts_total",
        "Delivery attempts that failed, by reason (connection, timeout, "
        "status).",
        "subscriber,reason");
    nt->m.dead_letters =
        ldr_metrics_counter(m, "ladder_notify_dead_letters_total",
                            "Notices written to notify.deadletter.file after "
                            "notify.max.attempts failed attempts.",
                            "subscriber");
    nt->m.latency = ldr_metrics_histogram(
        m, "ladder_notify_delivery_latency_seconds",
        "From the decision message's Kafka timestamp to the subscriber's "
        "acknowledgement.",
        "subscriber", latency_bounds,
        sizeof(latency_bounds) / sizeof(latency_bounds[0]));
    nt->m.queue = ldr_metrics_gauge(
        m, "ladder_notify_queue_depth",
        "Notices waiting for a subscriber, the one in delivery included.",
        "subscriber");
    nt->m.lag = ldr_metrics_gauge(
        m, "ladder_notify_consumer_lag",
        "Decisions of an owned partition not yet acknowledged by every "
        "subscriber: high watermark minus the first outstanding offset.",
        "partition");
    nt->m.committed = ldr_metrics_gauge(
        m, "ladder_notify_committed_offset",
        "The offset last committed for an owned partition.", "partition");
    nt->m.commit_failures = ldr_metrics_counter(
        m, "ladder_notify_commit_failures_total",
        "Offset commits the group refused (usually during a rebalance); "
        "what they would have committed may be sent again.",
        NULL);
    nt->m.assigned =
        ldr_metrics_gauge(m, "ladder_notify_partitions_assigned",
                          "Partitions of the decisions topic this process "
                          "owns.",
                          NULL);
}

/* ---- start-up ----------------------------------------------------------- */

static void nt_usage(FILE *f) {
    fprintf(
        f,
        "Usage: ladder-notify [--config FILE]\n"
        "Consume ladder's decisions topic and POST the selected decisions "
        "(by default\nREVOKED, CANCELLED and EXPIRED) to each subscriber's "
        "webhook as CloudEvents\nJSON, signed with HMAC-SHA256, at least "
        "once (docs/NOTIFY.md).\n\n"
        "  --config FILE   key = value configuration (docs/CONFIG.md); "
        "LADDER_*\n                  variables override it\n"
        "  --help          show this help\n\n"
        "Keys used: kafka.*, group.id, decisions.topic, schemas.dir,\n"
        "notify.subscriber.NAME.url, notify.subscriber.NAME.secret,\n"
        "notify.subscriber.NAME.decisions, notify.max.attempts,\n"
        "notify.backoff.initial.ms, notify.backoff.max.ms, "
        "notify.timeout.ms,\nnotify.deadletter.file, http.listen, "
        "log.level, log.timestamps.\n\n"
        "Serves /livez, /readyz and /metrics (Prometheus) on http.listen.\n\n"
        "Stops on SIGTERM or SIGINT: requests in flight are abandoned, "
        "offsets are\ncommitted only up to what every subscriber "
        "acknowledged. Exit status: 0\nafter a clean stop, 2 for a "
        "configuration error or a dependency that is\nnot there at "
        "start-up.\n");
}

typedef struct nt_names {
    char names[NT_MAX_SUBSCRIBERS][128];
    int count;
    bool too_many, too_long;
} nt_names_t;

/* Collects the subscriber names of the keys matching a pattern. */
static void nt_collect(void *opaque, const char *key, const char *value) {
    (void)value;
    nt_names_t *names = opaque;
    const char *start = key + strlen("notify.subscriber.");
    const char *end = strrchr(key, '.');
    size_t len = end > start ? (size_t)(end - start) : 0;
    if (len >= sizeof(names->names[0])) {
        names->too_long = true;
        return;
    }
    for (int i = 0; i < names->count; i++)
        if (strlen(names->names[i]) == len &&
            memcmp(names->names[i], start, len) == 0)
            return;
    if (names->count == NT_MAX_SUBSCRIBERS) {
        names->too_many = true;
        return;
    }
    memcpy(names->names[names->count], start, len);
    names->names[names->count][len] = '\0';
    names->count++;
}

/* Parses "REVOKED, CANCELLED" into a bit set of decision types. */
static ldr_err_t nt_parse_types(const char *key, const char *value,
                                uint32_t *out, char *err, size_t n) {
    uint32_t types = 0;
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p) break;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *last = end;
        while (last > p && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        int t = ldr_decision_type_parse(p, (size_t)(last - p));
        if (t < 0)
            return ldr_err_set(
                err, n, LDR_ERR_CONFIG,
                "%s: unknown decision type \"%.*s\" (expected a "
                "comma-separated list of DecisionType symbols, such as "
                "REVOKED,CANCELLED,EXPIRED)",
                key, (int)(last - p), p);
        types |= 1u << (unsigned)t;
        p = end;
    }
    if (!types)
        return ldr_err_set(err, n, LDR_ERR_CONFIG, "%s: no decision type given",
                           key);
    *out = types;
    return LDR_OK;
}

static ldr_err_t nt_check_url(const char *key, const char *url, char *err,
                              size_t n) {
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    ldr_err_t rc = LDR_OK;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        rc = ldr_err_set(err, n, LDR_ERR_CONFIG,
                         "%s: \"%s\" is not a URL (expected http://host/... "
                         "or https://host/...)",
                         key, url);
    else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        rc = ldr_err_set(err, n, LDR_ERR_CONFIG,
                         "%s: \"%s\": only http and https URLs are allowed",
                         key, url);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* Reads and checks every subscriber. */
static ldr_err_t nt_subscribers(nt_t *nt, char *err, size_t n) {
    nt_names_t names = {0};
    static const char *const patterns[] = {"notify.subscriber.*.url",
                                           "notify.subscriber.*.secret",
                                           "notify.subscriber.*.decisions"};
    for (size_t i = 0; i < 3; i++)
        ldr_config_each(nt->cfg, patterns[i], nt_collect, &names);
    if (names.too_long)
        return ldr_err_set(err, n, LDR_ERR_CONFIG,
                           "notify.subscriber.*: a subscriber name is longer "
                           "than 127 bytes");
    if (names.too_many)
        return ldr_err_set(err, n, LDR_ERR_CONFIG,
                           "notify.subscriber.*: more than %d subscribers",
                           NT_MAX_SUBSCRIBERS);
    if (!names.count)
        return ldr_err_set(
            err, n, LDR_ERR_CONFIG,
            "no subscriber configured: set notify.subscriber.NAME.url and "
            "notify.subscriber.NAME.secret for at least one NAME");
    for (int i = 0; i < names.count; i++) {
        const char *name = names.names[i];
        char key[192];
        nt_sub_t *s = &nt->sub[i];
        snprintf(key, sizeof(key), "notify.subscriber.%s.url", name);
        const char *url = ldr_config_get(nt->cfg, key);
        if (!url || !*url)
            return ldr_err_set(err, n, LDR_ERR_CONFIG,
                               "%s is not set: subscriber %s has no webhook "
                               "URL",
                               key, name);
        if (nt_check_url(key, url, err, n)) return LDR_ERR_CONFIG;
        snprintf(key, sizeof(key), "notify.subscriber.%s.secret", name);
        const char *secret = ldr_config_get(nt->cfg, key);
        if (!secret || !*secret)
            return ldr_err_set(err, n, LDR_ERR_CONFIG,
                               "%s is not set: every subscriber needs a "
                               "secret to sign its notices with",
                               key);
        snprintf(key, sizeof(key), "notify.subscriber.%s.decisions", name);
        const char *types = ldr_config_get(nt->cfg, key);
        if (nt_parse_types(key, types ? types : "REVOKED,CANCELLED,EXPIRED",
                           &s->types, err, n))
            return LDR_ERR_CONFIG;
        s->n = nt;
        s->name = ldr_strdup(name);
        s->url = ldr_strdup(url);
        s->secret = ldr_strdup(secret);
        nt->nsubs++;
    }
    return LDR_OK;
}

/* A curl handle for one subscriber, set up once (connections are reused). */
static void nt_sub_curl(nt_sub_t *s) {
    CURL *c = s->curl = curl_easy_init();
    if (!c) abort();
    curl_easy_setopt(c, CURLOPT_URL, s->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->n->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)s->n->timeout_ms);
    curl_easy_setopt(c, CURLOPT_USERAGENT,
                     "ladder-notify/"
                     "0.1");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->curl_err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, nt_discard);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, nt_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
}

static void nt_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac,
                           const char *buf) {
    (void)rk;
    if (strcmp(fac, "CONFWARN") == 0 || level >= 6)
        LDR_LOG_DEBUG("rdkafka: %s: %s", fac, buf);
    else if (level >= 4)
        LDR_LOG_WARN("rdkafka: %s: %s", fac, buf);
    else
        LDR_LOG_ERROR("rdkafka: %s: %s", fac, buf);
}

static rd_kafka_t *nt_consumer(nt_t *nt, char *err, size_t n) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* ladder's defaults first, so that kafka.* keys can override them;
     * offsets are committed by hand, after delivery. */
    static const char *const props[][2] = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        {"partition.assignment.strategy", "range"},
        {"client.id", "ladder-notify"}};
    rd_kafka_conf_set_log_cb(conf, nt_rdkafka_log);
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], err, n) !=
            RD_KAFKA_CONF_OK)
            goto fail;
    if (ldr_kafka_conf_apply(nt->cfg, conf, err, n)) goto fail;
    /* The commit must stay in ladder-notify's hands whatever kafka.* says. */
    if (rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, n) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "group.id", ldr_config_get(nt->cfg, "group.id"),
                          err, n) != RD_KAFKA_CONF_OK)
        goto fail;
    rd_kafka_conf_set_rebalance_cb(conf, nt_rebalance);
    rd_kafka_conf_set_offset_commit_cb(conf, nt_commit_cb);
    rd_kafka_conf_set_opaque(conf, nt);
    return rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, n);
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static bool nt_deadletter_writable(const char *path, char *err, size_t n) {
    if (access(path, F_OK) == 0) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd >= 0) {
            close(fd);
            return true;
        }
    } else {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        if (!slash)
            snprintf(dir, sizeof(dir), ".");
        else if (slash == dir)
            dir[1] = '\0';
        else
            *slash = '\0';
        if (access(dir, W_OK | X_OK) == 0) return true;
    }
    snprintf(err, n, "notify.deadletter.file: %s: %s", path, strerror(errno));
    return false;
}

static int nt_fail(nt_t *nt, const char *why) {
    fprintf(stderr, "ladder-notify: %s\n", why);
    ldr_http_destroy(nt->http);
    nt->http = NULL;
    return 2;
}

static void nt_free(nt_t *nt) {
    for (int pn = 0; pn < NT_MAX_PARTITIONS; pn++) {
        nt_part_drop(nt, pn);
        free(nt->part[pn].v);
    }
    for (int i = 0; i < NT_MAX_SUBSCRIBERS; i++) {
        nt_sub_t *s = &nt->sub[i];
        if (s->curl) curl_easy_cleanup(s->curl);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->cond);
        free(s->q);
        free(s->name);
        free(s->url);
        free(s->secret);
    }
    ldr_http_destroy(nt->http);
    ldr_metrics_destroy(nt->metrics);
    ldr_codec_destroy(nt->codec);
    ldr_schemas_destroy(nt->schemas);
    pthread_mutex_destroy(&nt->health_lock);
    pthread_mutex_destroy(&nt->deadletter_lock);
    ldr_config_destroy(nt->cfg);
}

static void nt_run(nt_t *nt) {
    while (!nt_signalled) {
        atomic_store_explicit(&nt->heartbeat_ms, nt_now_ms(),
                              memory_order_relaxed);
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
        int64_t now = nt_mono_ms();
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
            nt_usage(stdout);
            return 0;
        } else {
            nt_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ladder-notify: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    ldr_log_set_program("ladder-notify");
    static nt_t nt; /* large: partition table */
    char err[1024], pbuf[4096];
    pthread_mutex_init(&nt.health_lock, NULL);
    pthread_mutex_init(&nt.deadletter_lock, NULL);
    for (int i = 0; i < NT_MAX_SUBSCRIBERS; i++) {
        pthread_mutex_init(&nt.sub[i].lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&nt.sub[i].cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    for (int pn = 0; pn < NT_MAX_PARTITIONS; pn++)
        snprintf(nt.part[pn].label, sizeof(nt.part[pn].label), "%d", pn);
    nt.cfg = ldr_config_new("ladder-notify");
    if ((config_file &&
         ldr_config_load_file(nt.cfg, config_file, err, sizeof(err))) ||
        ldr_config_load_env(nt.cfg, environ, err, sizeof(err))) {
        fprintf(stderr, "ladder-notify: %s\n", err);
        nt_free(&nt);
        return 2;
    }
    ldr_log_level_t level;
    if (ldr_log_parse_level(ldr_config_get(nt.cfg, "log.level"), &level) ==
        LDR_OK)
        ldr_log_set_level(level);
    ldr_log_set_timestamps(ldr_config_get_bool(nt.cfg, "log.timestamps"));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 0;
    nt.max_attempts = ldr_config_get_int(nt.cfg, "notify.max.attempts");
    nt.backoff_initial_ms =
        ldr_config_get_int(nt.cfg, "notify.backoff.initial.ms");
    nt.backoff_max_ms = ldr_config_get_int(nt.cfg, "notify.backoff.max.ms");
    nt.timeout_ms = ldr_config_get_int(nt.cfg, "notify.timeout.ms");
    nt.deadletter_path = ldr_config_get(nt.cfg, "notify.deadletter.file");
    nt.topic = ldr_config_get(nt.cfg, "decisions.topic");
    if (nt_subscribers(&nt, err, sizeof(err))) {
        rc = nt_fail(&nt, err);
        goto out;
    }
    if (nt.backoff_initial_ms > nt.backoff_max_ms) {
        snprintf(err, sizeof(err),
                 "notify.backoff.initial.ms (%lld) is larger than "
                 "notify.backoff.max.ms (%lld)",
                 nt.backoff_initial_ms, nt.backoff_max_ms);
        rc = nt_fail(&nt, err);
        goto out;
    }
    if (!ldr_config_get(nt.cfg, "kafka.bootstrap.servers")) {
        rc = nt_fail(&nt, "kafka.bootstrap.servers is not set: start the "
                          "embedded cluster with build/bin/ladder-kafka and "
                          "set LADDER_KAFKA_BOOTSTRAP_SERVERS to the list it "
                          "prints");
        goto out;
    }
    /* The dead-letter file must be writable before anything is consumed
     * (it is created with the first dead letter). */
    if (!nt_deadletter_writable(nt.deadletter_path, err, sizeof(err))) {
        rc = nt_fail(&nt, err);
        goto out;
    }
    /* Metrics and health first: a second notifier given the same address
     * stops here, before it joins the group. */
    atomic_store(&nt.running, true);
    atomic_store(&nt.heartbeat_ms, nt_now_ms());
    nt_set_health(&nt, false, "starting");
    nt_metrics_register(&nt);
    for (int i = 0; i < nt.nsubs; i++) {
        const char *const label[] = {nt.sub[i].name};
        ldr_metrics_add(nt.m.delivered, label, 0);
        ldr_metrics_add(nt.m.dead_letters, label, 0);
        ldr_metrics_set(nt.m.queue, label, 0);
    }
    nt.http = ldr_http_new();
    ldr_http_get(nt.http, "/livez", nt_livez, &nt);
    ldr_http_get(nt.http, "/readyz", nt_readyz, &nt);
    ldr_http_get(nt.http, "/metrics", nt_metrics_page, &nt);
    const char *listen_at = ldr_config_get(nt.cfg, "http.listen");
    if (ldr_http_start(nt.http, listen_at, err, sizeof(err))) {
        rc = nt_fail(&nt, err);
        goto out;
    }
    LDR_LOG_INFO("serving /livez, /readyz and /metrics on %s (port %d)",
                 listen_at, ldr_http_port(nt.http));
    nt.schemas = ldr_schemas_load(
        ldr_config_data_path(ldr_config_get(nt.cfg, "schemas.dir"), pbuf,
                             sizeof(pbuf)),
        err, sizeof(err));
    if (nt.schemas) nt.codec = ldr_codec_new(nt.schemas, err, sizeof(err));
    if (!nt.codec || !(nt.consumer = nt_consumer(&nt, err, sizeof(err)))) {
        rc = nt_fail(&nt, err);
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = nt_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* The subscriber threads never take the signals: the main loop sees
     * them and stops the threads itself. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (int i = 0; i < nt.nsubs; i++) {
        nt_sub_t *s = &nt.sub[i];
        s->seed = (unsigned)nt_now_ms() ^ (unsigned)getpid() ^ (unsigned)i;
        nt_sub_curl(s);
        if (pthread_create(&s->thread, NULL, nt_sub_main, s) != 0) {
            LDR_LOG_ERROR("subscriber %s: cannot start its thread", s->name);
            abort();
        }
        s->started = true;
        LDR_LOG_INFO("subscriber %s: %s", s->name, s->url);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    rd_kafka_poll_set_consumer(nt.consumer);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, nt.topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t kerr = rd_kafka_subscribe(nt.consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (kerr) {
        LDR_LOG_ERROR("subscribe to %s: %s", nt.topic, rd_kafka_err2str(kerr));
        nt_signalled = 1;
        rc = 2;
    } else {
        LDR_LOG_INFO("consuming %s as group %s, %d subscribers", nt.topic,
                     ldr_config_get(nt.cfg, "group.id"), nt.nsubs);
    }
    nt_run(&nt);

    /* Stop: abandon what is in flight, commit only what was finished. */
    LDR_LOG_INFO("stopping: committing what every subscriber acknowledged");
    atomic_store(&nt.running, false);
    atomic_store(&nt.stopping, true);
    for (int i = 0; i < nt.nsubs; i++) {
        nt_sub_t *s = &nt.sub[i];
        pthread_mutex_lock(&s->lock);
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
    }
    for (int i = 0; i < nt.nsubs; i++)
        if (nt.sub[i].started) pthread_join(nt.sub[i].thread, NULL);
    nt_advance(&nt);
    nt_commit(&nt, NULL, true);
    size_t left = nt.inflight;
    rd_kafka_consumer_close(nt.consumer);
    rd_kafka_destroy(nt.consumer);
    nt.consumer = NULL;
    LDR_LOG_INFO("stopped: %llu decisions read, %llu selected for a "
                 "subscriber, %llu undecodable, %zu left for the next run",
                 (unsigned long long)nt.read, (unsigned long long)nt.selected,
                 (unsigned long long)nt.undecodable, left);
out:
    nt_free(&nt);
    curl_global_cleanup();
    return rc;
}
