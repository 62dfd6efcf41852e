/* subscribers.c -- each subscriber's queue and thread: in-order delivery.
 *
 * DESIGN: each subscriber has a thread of its own and a FIFO queue. The
 * thread takes the oldest notice and hands it to nt_deliver() (deliver.c),
 * which returns only once the notice was acknowledged, dead-lettered or
 * abandoned; only then does the thread take the next one. A subscriber
 * therefore never receives a notice before the previous one was settled,
 * which keeps each enterprise's notices in order (an enterprise's
 * decisions share one partition). A thread per subscriber was chosen over
 * one curl multi loop because a subscriber is by nature sequential (one
 * request in flight, then a wait), blocking code says that directly, and a
 * slow or dead subscriber then holds up only its own thread; subscribers
 * are few (a handful of agencies), so threads cost nothing worth saving.
 * A notice is shared, read-only, by every queue it is in, and
 * reference-counted: whoever lets go last frees it. */
#include "notify_int.h"

#include "ladder/alloc.h"
#include "ladder/clock.h"
#include "ladder/log.h"
#include "ladder/redact.h"

#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

void nt_notice_release(nt_notice_t *n) {
    if (atomic_fetch_sub(&n->refs, 1) != 1) return;
    free(n->body);
    free(n->id);
    free(n);
}

/* A subscriber's thread: one notice at a time, in queue order. */
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

void nt_sub_push(nt_sub_t *s, nt_notice_t *n) {
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

void nt_subs_init(nt_t *nt) {
    for (int i = 0; i < NT_MAX_SUBSCRIBERS; i++) {
        pthread_mutex_init(&nt->sub[i].lock, NULL);
        /* nt_sub_sleep() waits on the monotonic clock. */
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&nt->sub[i].cond, &ca);
        pthread_condattr_destroy(&ca);
    }
}

void nt_subs_start(nt_t *nt) {
    /* The subscriber threads never take the signals: the main loop sees
     * them and stops the threads itself. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (int i = 0; i < nt->nsubs; i++) {
        nt_sub_t *s = &nt->sub[i];
        s->seed =
            (unsigned)ldr_clock_wall_ms() ^ (unsigned)getpid() ^ (unsigned)i;
        nt_sub_curl(s);
        if (pthread_create(&s->thread, NULL, nt_sub_main, s) != 0) {
            LDR_LOG_ERROR("subscriber %s: cannot start its thread", s->name);
            abort();
        }
        s->started = true;
        char shown[512];
        LDR_LOG_INFO("subscriber %s: %s", s->name,
                     ldr_redact_url_path(s->url, shown, sizeof(shown)));
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void nt_subs_stop(nt_t *nt) {
    atomic_store(&nt->stopping, true);
    for (int i = 0; i < nt->nsubs; i++) {
        nt_sub_t *s = &nt->sub[i];
        pthread_mutex_lock(&s->lock);
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
    }
    for (int i = 0; i < nt->nsubs; i++)
        if (nt->sub[i].started) pthread_join(nt->sub[i].thread, NULL);
}

void nt_subs_free(nt_t *nt) {
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
}
