/* deliver.c -- one notice to one webhook: signed POST, retries, dead letter.
 *
 * DESIGN: runs on a subscriber's own thread (subscribers.c), one request
 * at a time with the subscriber's curl handle, so connections are kept
 * alive. A connection error, a timeout or a non-2xx answer is retried after
 * an exponential backoff (notify.backoff.initial.ms doubling up to
 * notify.backoff.max.ms), each wait drawn uniformly from the upper half of
 * the step so that retries of many notifiers do not march in step. After
 * notify.max.attempts failures the notice is appended to
 * notify.deadletter.file, synced to disk before it counts as done, because
 * the offset may be committed past it right after. A stop aborts the
 * transfer in hand from curl's progress callback and cuts the backoff
 * waits short: what was abandoned is sent again after a restart.
 *
 * Every attempt carries X-Ladder-Timestamp (its own time, Unix seconds) and
 * X-Ladder-Signature-V2 over "<timestamp>.<body>", and, while
 * notify.signature.v1 is on, the old body-only X-Ladder-Signature
 * (ladder/webhook.h). A retry is signed again with its own time, so a
 * receiver's freshness check holds however long the backoff lasted. */
#include "notify_int.h"

#include "ladder/clock.h"
#include "ladder/cloudevents.h"
#include "ladder/log.h"
#include "ladder/redact.h"
#include "ladder/time.h"
#include "ladder/webhook.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

/* Waits up to @p ms, or less when stopping. Returns false when stopping. */
static bool nt_sub_sleep(nt_sub_t *s, int64_t ms) {
    /* The condition variable waits on CLOCK_MONOTONIC (subscribers.c). */
    int64_t until_ms = ldr_clock_mono_ms() + ms;
    struct timespec until = {.tv_sec = (time_t)(until_ms / 1000),
                             .tv_nsec = (long)(until_ms % 1000) * 1000000L};
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

/* The headers of one attempt, signed at @p now_s (Unix seconds): each
 * attempt is signed afresh, so a retry carries the time it was sent, not
 * the time of the first try. Freed with curl_slist_free_all(). */
static struct curl_slist *nt_headers(const nt_sub_t *s, const nt_notice_t *n,
                                     int64_t now_s) {
    char hex[LDR_WEBHOOK_HEX_SIZE], line[128];
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Content-Type: " LDR_CLOUDEVENTS_CONTENT_TYPE
                                   "; charset=utf-8");
    snprintf(line, sizeof(line), "X-Ladder-Timestamp: %" PRId64, now_s);
    hdrs = curl_slist_append(hdrs, line);
    ldr_webhook_sign_v2(s->secret, now_s, n->body, n->body_len, hex);
    snprintf(line, sizeof(line), "X-Ladder-Signature-V2: sha256=%s", hex);
    hdrs = curl_slist_append(hdrs, line);
    if (s->n->signature_v1) {
        ldr_webhook_sign_v1(s->secret, n->body, n->body_len, hex);
        snprintf(line, sizeof(line), "X-Ladder-Signature: sha256=%s", hex);
        hdrs = curl_slist_append(hdrs, line);
    }
    return curl_slist_append(hdrs, "Expect:"); /* no 100-continue trip */
}

typedef enum { NT_SENT, NT_FAILED, NT_ABORTED } nt_attempt_t;

/* One POST. On failure @p why says what happened and @p reason is the
 * metric label (connection, timeout, status). */
static nt_attempt_t nt_post(nt_sub_t *s, const nt_notice_t *n, char *why,
                            size_t why_size, const char **reason) {
    struct curl_slist *hdrs = nt_headers(s, n, ldr_clock_wall_ms() / 1000);
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
        /* libcurl may name the URL, and a URL may carry a password. */
        ldr_redact_url(s->curl_err[0] ? s->curl_err : curl_easy_strerror(rc),
                       why, why_size);
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
    ldr_time_format(ldr_clock_wall_ms(), when, sizeof(when));
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
    /* 0600 and no symbolic link: the notices are the register's data. */
    int fd = open(nt->deadletter_path,
                  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
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

nt_outcome_t nt_deliver(nt_sub_t *s, nt_notice_t *n) {
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
                                    (double)(ldr_clock_wall_ms() - n->ts_ms) /
                                        1000.0);
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

void nt_sub_curl(nt_sub_t *s) {
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

bool nt_deadletter_writable(const char *path, char *err, size_t n) {
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        snprintf(err, n,
                 "notify.deadletter.file: %s is a symbolic link; name the "
                 "file itself",
                 path);
        return false;
    }
    if (access(path, F_OK) == 0) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
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
