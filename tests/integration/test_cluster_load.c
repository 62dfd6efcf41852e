/* test_cluster_load.c -- a partition's state read while a reshard moves its
 * slot back and forth between two masters (ldr_store_load()).
 *
 * The store reads a partition's enterprises with HSCAN, slice by slice. A
 * cursor is only good on the node that gave it: when the slot moves
 * between two slices, the next slice comes from the new node, whose hash is
 * laid out differently, and entries are missed. A worker that took such a
 * state as whole would decide the partition's next events against a
 * register with holes. The store must notice and read again: every load
 * that succeeds holds every enterprise.
 *
 * A second thread, with its own connections, moves the partition's slot
 * from its master to another and back, as `redis-cli --cluster reshard`
 * does (SETSLOT IMPORTING / MIGRATING, MIGRATE each key, SETSLOT NODE),
 * while the test loads the partition again and again through the store.
 * Run by tests/support/with-cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ladder/buf.h"
#include "ladder/clock.h"
#include "ladder/cluster.h"
#include "ladder/enterprise.h"
#include "ladder/machine.h"
#include "ladder/policy_files.h"
#include "ladder/store.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARTITION   3
#define ENTERPRISES 20000 /* a hashtable, not a listpack: many HSCAN slices */
#define RUN_MS      4000
#define MIN_LOADS   5

static ldr_policies_t *policies;
static const char *url;

typedef struct node {
    char host[256];
    int port;
    char id[64];
} node_t;

typedef struct mover {
    node_t a, b; /* the slot's first master, and the one it moves to */
    int slot;
    atomic_bool stop;
    atomic_int moves;
    char error[512];
} mover_t;

static redisContext *connect_to(const node_t *nd) {
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout(nd->host, nd->port, tv);
    if (!c || c->err) fail_msg("connect %s:%d", nd->host, nd->port);
    return c;
}

/* One command that must not fail; NULL (with m->error set) if it does. */
static bool run(mover_t *m, redisContext *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        snprintf(m->error, sizeof(m->error), "%s: %s", fmt,
                 r ? r->str : c->errstr);
        if (r) freeReplyObject(r);
        return false;
    }
    freeReplyObject(r);
    return true;
}

/* Moves the slot from @p src to @p dst, key by key, as a reshard does. */
static bool move_slot(mover_t *m, redisContext *src, const node_t *s,
                      redisContext *dst, const node_t *d) {
    if (!run(m, dst, "CLUSTER SETSLOT %d IMPORTING %s", m->slot, s->id) ||
        !run(m, src, "CLUSTER SETSLOT %d MIGRATING %s", m->slot, d->id))
        return false;
    for (;;) {
        redisReply *keys =
            redisCommand(src, "CLUSTER GETKEYSINSLOT %d 10", m->slot);
        if (!keys || keys->type != REDIS_REPLY_ARRAY) {
            snprintf(m->error, sizeof(m->error), "GETKEYSINSLOT failed");
            if (keys) freeReplyObject(keys);
            return false;
        }
        size_t nkeys = keys->elements;
        for (size_t i = 0; i < nkeys; i++)
            if (!run(m, src, "MIGRATE %s %d %s 0 5000", d->host, d->port,
                     keys->element[i]->str)) {
                freeReplyObject(keys);
                return false;
            }
        freeReplyObject(keys);
        if (!nkeys) break;
    }
    return run(m, dst, "CLUSTER SETSLOT %d NODE %s", m->slot, d->id) &&
           run(m, src, "CLUSTER SETSLOT %d NODE %s", m->slot, d->id);
}

static void *mover_main(void *opaque) {
    mover_t *m = opaque;
    redisContext *a = connect_to(&m->a), *b = connect_to(&m->b);
    bool there = false; /* the slot is on b */
    while (!atomic_load(&m->stop) && !m->error[0]) {
        if (!(there ? move_slot(m, b, &m->b, a, &m->a)
                    : move_slot(m, a, &m->a, b, &m->b)))
            break;
        there = !there;
        atomic_fetch_add(&m->moves, 1);
        ldr_clock_sleep_ms(20 + rand() % 80);
    }
    /* leave the slot where it started */
    if (there && !m->error[0]) move_slot(m, b, &m->b, a, &m->a);
    redisFree(a);
    redisFree(b);
    return NULL;
}

/* The node's address and id, asked of the node behind @p c. */
static void node_of(ldr_cluster_t *cl, int i, node_t *nd) {
    const ldr_redis_addr_t *addr = ldr_cluster_node_addr(cl, i);
    snprintf(nd->host, sizeof(nd->host), "%s", addr->host);
    nd->port = addr->port;
    redisContext *c = connect_to(nd);
    redisReply *r = redisCommand(c, "CLUSTER MYID");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    snprintf(nd->id, sizeof(nd->id), "%s", r->str);
    freeReplyObject(r);
    redisFree(c);
}

/* ENTERPRISES encoded enterprises in the partition's state hash. */
static void fill(ldr_cluster_t *cl, const char *ent, int slot) {
    char err[512];
    redisContext *c = ldr_cluster_ctx(cl, slot, err, sizeof(err));
    if (!c) fail_msg("%s", err);
    ldr_buf_t v;
    ldr_buf_init(&v);
    for (int i = 0; i < ENTERPRISES; i++) {
        char uscc[19];
        snprintf(uscc, sizeof(uscc), "91110000%010d", i);
        ldr_enterprise_t e;
        ldr_enterprise_init(&e, uscc, strlen(uscc));
        ldr_buf_reset(&v);
        ldr_enterprise_encode(&e, &v);
        ldr_enterprise_fini(&e);
        redisAppendCommand(c, "HSET %s %s %b", ent, uscc, v.data, v.len);
    }
    ldr_buf_fini(&v);
    for (int i = 0; i < ENTERPRISES; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r ||
            r->type == REDIS_REPLY_ERROR)
            fail_msg("HSET %s: %s", ent, r ? r->str : c->errstr);
        freeReplyObject(r);
    }
}

static void test_cluster_load_during_reshard(void **state) {
    (void)state;
    char err[512];
    ldr_cluster_t *cl;
    ldr_cluster_opts_t o = {
        .url = url, .mode = LDR_CLUSTER_ON, .timeout_ms = 2000};
    if (ldr_cluster_new(&o, &cl, err, sizeof(err))) fail_msg("%s", err);
    char ent[LDR_STORE_KEY_SIZE];
    ldr_store_key(ent, sizeof(ent), PARTITION, LDR_STORE_KEY_ENT);
    static mover_t m;
    m.slot = ldr_cluster_key_slot(ent, strlen(ent));
    fill(cl, ent, m.slot);
    int home = ldr_cluster_slot_node(cl, m.slot);
    assert_true(home >= 0);
    assert_true(ldr_cluster_masters(cl) >= 2);
    node_of(cl, home, &m.a);
    node_of(cl, home == 0 ? 1 : 0, &m.b);
    ldr_cluster_destroy(cl);

    ldr_store_t *s = ldr_store_new(url, NULL, "on", 2000, err, sizeof(err));
    if (!s) fail_msg("%s", err);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, mover_main, &m), 0);
    int whole = 0, again = 0;
    char last[512] = "";
    int64_t until = ldr_clock_mono_ms() + RUN_MS;
    while (ldr_clock_mono_ms() < until || whole < MIN_LOADS) {
        if (m.error[0] || ldr_clock_mono_ms() > until + 30000) break;
        ldr_partition_t *p = ldr_partition_new(policies);
        int64_t next = 0;
        ldr_err_t rc = ldr_store_load(s, PARTITION, p, &next, err, sizeof(err));
        size_t got = ldr_partition_count(p);
        ldr_partition_destroy(p);
        if (rc == LDR_ERR_TRANSIENT) {
            again++; /* a redirection mid-read, or a partial read noticed */
            snprintf(last, sizeof(last), "%s", err);
            continue;
        }
        if (rc) fail_msg("load: %s", err);
        if (got != ENTERPRISES)
            fail_msg("a load succeeded with %zu of %d enterprises (after %d "
                     "moves of slot %d)",
                     got, ENTERPRISES, atomic_load(&m.moves), m.slot);
        whole++;
    }
    atomic_store(&m.stop, true);
    pthread_join(t, NULL);
    ldr_store_destroy(s);
    if (m.error[0]) fail_msg("moving slot %d: %s", m.slot, m.error);
    printf("# slot %d moved %d times between %s:%d and %s:%d; %d loads whole, "
           "%d read again (the last: %s)\n",
           m.slot, atomic_load(&m.moves), m.a.host, m.a.port, m.b.host,
           m.b.port, whole, again, last[0] ? last : "none");
    assert_true(whole >= MIN_LOADS);
    assert_true(atomic_load(&m.moves) >= 2);
}

static int setup(void **state) {
    (void)state;
    url = getenv("LADDERTEST_REDIS_URL");
    if (!url || !getenv("LADDERTEST_CLUSTER_PORTS"))
        fail_msg("run under tests/support/with-cluster");
    char err[512];
    policies = ldr_policies_load_dir(LADDER_SOURCE_DIR "/deploy/policy", err,
                                     sizeof(err));
    if (!policies) fail_msg("%s", err);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    ldr_policies_destroy(policies);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_load_during_reshard),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
