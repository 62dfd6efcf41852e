/* test_cluster_pipeline.c -- a frozen master holds back only what was
 * sent to it: the store's per-master pipelines (ldr_store_poll) and the
 * router's back-off, on a real Redis Cluster (tests/support/with-cluster:
 * three masters, three replicas; cluster-node-timeout 2 s, longer than
 * any freeze here is not needed: a master frozen for a few seconds with
 * SIGSTOP stays master while its replica waits for the timeout, and the
 * test resumes it well before a failover could finish).
 *
 * The store here has a 1 s timeout, so a frozen master's answer is given
 * up after 1 s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ladder/clock.h"
#include "ladder/cluster.h"
#include "ladder/store.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define TIMEOUT_MS 1000
#define PARTS      32

static const char *url;
static int ports[6];
static pid_t pids[6];

/* The pid of the redis-server that listens on "host:port" @p name. */
static pid_t pid_of(const char *name) {
    const char *colon = strrchr(name, ':');
    assert_non_null(colon);
    int port = atoi(colon + 1);
    for (int i = 0; i < 6; i++)
        if (ports[i] == port) return pids[i];
    fail_msg("no cluster node listens on %s", name);
    return 0;
}

typedef struct seen {
    int n;
    ldr_store_answer_t a[16];
    int64_t at[16]; /* when it was delivered, monotonic ms */
} seen_t;

static void collect(void *opaque, const ldr_store_answer_t *a) {
    seen_t *s = opaque;
    assert_true(s->n < 16);
    s->at[s->n] = ldr_clock_mono_ms();
    s->a[s->n++] = *a;
}

/* The index in @p s of the answer to @p op of @p partition, or -1. */
static int answer_of(const seen_t *s, ldr_store_op_t op, int partition) {
    for (int i = 0; i < s->n; i++)
        if (s->a[i].op == op && s->a[i].partition == partition) return i;
    return -1;
}

/* An empty step of @p partition from offset @p first to @p first + 1. */
static void send_step(ldr_store_t *st, int partition, int64_t epoch,
                      int64_t first) {
    char err[512];
    ldr_store_batch_t b = {0};
    b.partition = partition;
    b.epoch = epoch;
    b.first_offset = first;
    b.next_offset = first + 1;
    b.notices_maxlen = 100;
    assert_int_equal(ldr_store_commit_send(st, &b, err, sizeof(err)), LDR_OK);
}

/* Two partitions on two different masters: *@p pa on master *@p na, *@p pb
 * on another. */
static void pick(ldr_store_t *st, int *pa, int *na, int *pb) {
    *pa = 0;
    *na = ldr_store_partition_node(st, 0);
    assert_true(*na >= 0);
    for (int p = 1; p < PARTS; p++)
        if (ldr_store_partition_node(st, p) >= 0 &&
            ldr_store_partition_node(st, p) != *na) {
            *pb = p;
            return;
        }
    fail_msg("every partition sits on one master");
}

static void test_frozen_master_holds_back_only_its_partitions(void **state) {
    (void)state;
    char err[512], name[300];
    ldr_store_t *st =
        ldr_store_new(url, NULL, "on", TIMEOUT_MS, err, sizeof(err));
    assert_non_null(st);
    int pa = 0, na = 0, pb = 0;
    pick(st, &pa, &na, &pb);
    int nb = ldr_store_partition_node(st, pb);
    int64_t ea, eb;
    assert_int_equal(ldr_store_claim(st, pa, &ea, err, sizeof(err)), LDR_OK);
    assert_int_equal(ldr_store_claim(st, pb, &eb, err, sizeof(err)), LDR_OK);
    pid_t frozen = pid_of(ldr_store_node_name(st, na, name, sizeof(name)));
    /* The pipelines are open (a ping answered) before the freeze, as in a
     * worker that has been running. */
    seen_t s = {0};
    ldr_store_ping_send(st);
    while (ldr_store_owed(st))
        ldr_store_poll(st, 100, collect, &s);
    s.n = 0;

    assert_int_equal(kill(frozen, SIGSTOP), 0);
    int64_t t0 = ldr_clock_mono_ms();
    send_step(st, pa, ea, 0);
    send_step(st, pb, eb, 0);
    assert_int_equal(ldr_store_owed(st), 2);
    while (answer_of(&s, LDR_STORE_OP_STEP, pb) < 0 &&
           ldr_clock_mono_ms() - t0 < 5000)
        ldr_store_poll(st, 50, collect, &s);
    int ib = answer_of(&s, LDR_STORE_OP_STEP, pb);
    assert_true(ib >= 0);
    /* The other master answered at once, though the frozen one was sent
     * its step first. */
    assert_int_equal(s.a[ib].result, LDR_OK);
    assert_int_equal(s.a[ib].node, nb);
    assert_true(s.at[ib] - t0 < TIMEOUT_MS / 2);
    assert_int_equal(answer_of(&s, LDR_STORE_OP_STEP, pa), -1);
    assert_int_equal(ldr_store_owed(st), 1);

    /* Blocking calls to the other master work while an answer is owed. */
    assert_int_equal(ldr_store_claim(st, pb, &eb, err, sizeof(err)), LDR_OK);
    send_step(st, pb, eb, 1);

    /* The frozen master's answer is given up after the timeout, as lost
     * with its connection. */
    while (answer_of(&s, LDR_STORE_OP_STEP, pa) < 0 &&
           ldr_clock_mono_ms() - t0 < 5000)
        ldr_store_poll(st, 50, collect, &s);
    int ia = answer_of(&s, LDR_STORE_OP_STEP, pa);
    assert_true(ia >= 0);
    assert_int_equal(s.a[ia].result, LDR_ERR_TRANSIENT);
    assert_true(s.a[ia].node_lost);
    assert_int_equal(s.a[ia].node, na);
    assert_true(s.at[ia] - t0 >= TIMEOUT_MS - 50);
    assert_true(s.at[ia] - t0 < TIMEOUT_MS + 1000);
    int ib2 = -1;
    for (int i = ib + 1; i < s.n; i++)
        if (s.a[i].partition == pb) ib2 = i;
    assert_true(ib2 > ib);
    assert_int_equal(s.a[ib2].result, LDR_OK);

    /* While it stays frozen, calls for its partitions fail fast (a backing
     * off master is not tried; then a short probe), never after the whole
     * timeout; the other master's go on. */
    for (int i = 0; i < 3; i++) {
        int64_t t = ldr_clock_mono_ms();
        assert_int_equal(ldr_store_claim(st, pa, &ea, err, sizeof(err)),
                         LDR_ERR_TRANSIENT);
        assert_true(ldr_clock_mono_ms() - t < 800);
        assert_int_equal(ldr_store_claim(st, pb, &eb, err, sizeof(err)),
                         LDR_OK);
    }
    assert_int_equal(kill(frozen, SIGCONT), 0);

    /* Once it answers, its partitions come back by themselves. */
    int64_t t1 = ldr_clock_mono_ms();
    ldr_err_t rc;
    while ((rc = ldr_store_claim(st, pa, &ea, err, sizeof(err))) != LDR_OK &&
           ldr_clock_mono_ms() - t1 < 10000)
        ldr_clock_sleep_ms(50);
    assert_int_equal(rc, LDR_OK);
    ldr_store_destroy(st);
}

static void test_pings_reach_every_master(void **state) {
    (void)state;
    char err[512];
    ldr_store_t *st =
        ldr_store_new(url, NULL, "on", TIMEOUT_MS, err, sizeof(err));
    assert_non_null(st);
    ldr_store_ping_send(st);
    assert_int_equal(ldr_store_owed(st), 3);
    seen_t s = {0};
    int64_t t0 = ldr_clock_mono_ms();
    while (ldr_store_owed(st) && ldr_clock_mono_ms() - t0 < 5000)
        ldr_store_poll(st, 100, collect, &s);
    assert_int_equal(s.n, 3);
    bool node[3] = {false};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s.a[i].op, LDR_STORE_OP_PING);
        assert_int_equal(s.a[i].result, LDR_OK);
        assert_true(s.a[i].node >= 0 && s.a[i].node < 3);
        node[s.a[i].node] = true;
    }
    assert_true(node[0] && node[1] && node[2]);
    ldr_store_destroy(st);
}

typedef struct dropped {
    int n;
    redisContext *last;
} dropped_t;

static void on_drop(void *opaque, redisContext *pipe, const char *why) {
    dropped_t *d = opaque;
    (void)why;
    d->n++;
    d->last = pipe;
}

static void test_router_backs_off_an_unresponsive_master(void **state) {
    (void)state;
    char err[512];
    dropped_t d = {0};
    ldr_cluster_opts_t o = {.url = url,
                            .mode = LDR_CLUSTER_ON,
                            .timeout_ms = TIMEOUT_MS,
                            .opaque = &d,
                            .on_drop = on_drop};
    ldr_cluster_t *cl = NULL;
    assert_int_equal(ldr_cluster_new(&o, &cl, err, sizeof(err)), LDR_OK);
    redisContext *pipe = ldr_cluster_pipe(cl, 0, err, sizeof(err));
    assert_non_null(pipe);
    redisContext *cmd = ldr_cluster_ctx(cl, 0, err, sizeof(err));
    assert_non_null(cmd);
    /* Two connections: the pipeline's answers are never read as a
     * command's. */
    assert_ptr_not_equal(pipe, cmd);
    assert_int_equal(ldr_cluster_node_of(cl, pipe),
                     ldr_cluster_slot_node(cl, 0));

    ldr_cluster_unresponsive(cl, pipe);
    assert_int_equal(d.n, 1);
    assert_ptr_equal(d.last, pipe);
    /* Backing off: no attempt, an error that says so. */
    assert_null(ldr_cluster_pipe(cl, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "next attempt in"));
    assert_null(ldr_cluster_ctx(cl, 0, err, sizeof(err)));
    /* Another master's slot is not held back. */
    int other = -1;
    for (int slot = 0; slot < LDR_CLUSTER_SLOTS && other < 0; slot += 1000)
        if (ldr_cluster_slot_node(cl, slot) != ldr_cluster_slot_node(cl, 0))
            other = slot;
    assert_true(other >= 0);
    assert_non_null(ldr_cluster_ctx(cl, other, err, sizeof(err)));
    /* After the first back-off (100 ms), the master is tried again. */
    ldr_clock_sleep_ms(150);
    redisReply *r = ldr_cluster_command(cl, 0, err, sizeof(err), "PING");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    ldr_cluster_destroy(cl);
    /* Closing the router closes the pipeline it handed out: said. */
    assert_int_equal(d.n, 1);
}

static int setup(void **state) {
    (void)state;
    url = getenv("LADDERTEST_REDIS_URL");
    const char *p = getenv("LADDERTEST_CLUSTER_PORTS");
    const char *q = getenv("LADDERTEST_REDIS_PIDS");
    if (!url || !p || !q) fail_msg("run under tests/support/with-cluster");
    if (sscanf(p, "%d %d %d %d %d %d", &ports[0], &ports[1], &ports[2],
               &ports[3], &ports[4], &ports[5]) != 6 ||
        sscanf(q, "%d %d %d %d %d %d", &pids[0], &pids[1], &pids[2], &pids[3],
               &pids[4], &pids[5]) != 6)
        fail_msg("LADDERTEST_CLUSTER_PORTS or LADDERTEST_REDIS_PIDS: not six");
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pings_reach_every_master),
        cmocka_unit_test(test_router_backs_off_an_unresponsive_master),
        cmocka_unit_test(test_frozen_master_holds_back_only_its_partitions),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
