/* test_cluster_migrate.c -- the move from the layout before placement
 * (ldr:{pN}:... to ldr:{pN.S}:..., ldr_store_claim()) on a real Redis
 * Cluster. There the old and the placed names lie in different slots,
 * which RENAME cannot cross, so the store copies them with DUMP and one
 * ladder_restore call on the placed master, then deletes the old keys on
 * theirs. Run by tests/support/with-cluster: three masters with the even
 * slot split of `redis-cli --cluster create`, three replicas.
 *
 * Partition 5's old tag {p5} is in slot 11951 and its placed tag {p5.616}
 * in slot 10245: two masters. Partition 6's are slots 7884 and 6158: one
 * master. The test asks the cluster where each slot lives rather than
 * trusting those numbers, and fails if a partition does not sit as it
 * should. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ladder/buf.h"
#include "ladder/cluster.h"
#include "ladder/policy_files.h"
#include "ladder/record.h"
#include "ladder/store.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY   (86400000LL)
#define NKEYS LDR_STORE_KEY_PARTITIONS /* the keys of one partition */

static ldr_policies_t *policies;
static const char *url;
static ldr_cluster_t *cl; /* the test's own router, to look at the nodes */

/* The names of the per-partition keys, as the layout before placement
 * spelled them (ldr:{p<N>}:<name>): written out here, not asked of the
 * store, so the test holds what an old worker left. */
static const char *const names[NKEYS] = {"meta",   "ent",      "timers",
                                         "outbox", "counters", "notices"};

typedef struct layout {
    char placed[NKEYS][LDR_STORE_KEY_SIZE];
    char old[NKEYS][LDR_STORE_KEY_SIZE];
    char placed_pattern[LDR_STORE_KEY_SIZE]; /* ldr:{pN.S}:* */
    char old_pattern[LDR_STORE_KEY_SIZE];    /* ldr:{pN}:* */
    int placed_slot, old_slot;
} layout_t;

static void layout_init(layout_t *l, int partition) {
    for (int i = 0; i < NKEYS; i++) {
        ldr_store_key(l->placed[i], LDR_STORE_KEY_SIZE, partition,
                      (ldr_store_key_t)i);
        snprintf(l->old[i], LDR_STORE_KEY_SIZE, "ldr:{p%d}:%s", partition,
                 names[i]);
    }
    snprintf(l->placed_pattern, LDR_STORE_KEY_SIZE, "%s", l->placed[0]);
    strcpy(strrchr(l->placed_pattern, ':'), ":*");
    snprintf(l->old_pattern, LDR_STORE_KEY_SIZE, "ldr:{p%d}:*", partition);
    l->placed_slot = ldr_cluster_key_slot(l->placed[0], strlen(l->placed[0]));
    l->old_slot = ldr_cluster_key_slot(l->old[0], strlen(l->old[0]));
}

/* One command on @p key's slot (following redirections); never NULL. */
static redisReply *von(const char *key, const char *fmt, va_list ap) {
    char err[512];
    redisReply *r = ldr_cluster_vcommand(
        cl, ldr_cluster_key_slot(key, strlen(key)), err, sizeof(err), fmt, ap);
    if (!r) fail_msg("%s", err);
    return r;
}

/* The same, failing on an error reply. */
static redisReply *on(const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = von(key, fmt, ap);
    va_end(ap);
    if (r->type == REDIS_REPLY_ERROR) fail_msg("%s: %s", fmt, r->str);
    return r;
}

/* An integer reply, or a string one read as an integer; -999 for nil. */
static long long ival(const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = von(key, fmt, ap);
    va_end(ap);
    if (r->type == REDIS_REPLY_ERROR) fail_msg("%s: %s", fmt, r->str);
    long long v = r->type == REDIS_REPLY_INTEGER  ? r->integer
                  : r->type == REDIS_REPLY_STRING ? atoll(r->str)
                                                  : -999;
    freeReplyObject(r);
    return v;
}

/* The port of the master serving @p slot: which node holds it. */
static int master_of(int slot) {
    char err[512];
    redisContext *c = ldr_cluster_ctx(cl, slot, err, sizeof(err));
    if (!c) fail_msg("%s", err);
    return c->tcp.port;
}

/* How many keys matching @p pattern each master holds, asked of the nodes
 * themselves (KEYS is node-local), so a key is found where it really is;
 * the total is returned and the count on the master at @p port put in
 * *there. */
static size_t keys_on_masters(const char *pattern, int port, size_t *there) {
    char err[512];
    size_t total = 0;
    *there = 0;
    for (int i = 0; i < ldr_cluster_masters(cl); i++) {
        redisContext *c = ldr_cluster_master(cl, i, err, sizeof(err));
        if (!c) fail_msg("%s", err);
        redisReply *r = redisCommand(c, "KEYS %s", pattern);
        assert_true(r && r->type == REDIS_REPLY_ARRAY);
        total += r->elements;
        if (c->tcp.port == port) *there += r->elements;
        freeReplyObject(r);
    }
    return total;
}

static void flush_all(void) {
    char err[512];
    assert_int_equal(ldr_cluster_masters(cl), 3);
    for (int i = 0; i < ldr_cluster_masters(cl); i++) {
        redisContext *c = ldr_cluster_master(cl, i, err, sizeof(err));
        if (!c) fail_msg("%s", err);
        redisReply *r = redisCommand(c, "FLUSHALL");
        assert_true(r && r->type == REDIS_REPLY_STATUS);
        freeReplyObject(r);
    }
}

/* A key's contents in a canonical form, so that two copies compare
 * whatever their encoding: type, time to live, and the value (a hash's
 * fields sorted; a zset by rank; a stream's entries and the metadata that
 * later ids depend on). DUMP payloads do not compare: a hash too big for
 * a listpack is written in the order of its dict, which a RESTORE on
 * another node (another hash seed) changes. */
static void canon_reply(ldr_buf_t *b, const redisReply *r) {
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        ldr_buf_printf(b, "$%zu:", r->len);
        ldr_buf_append(b, r->str, r->len);
        break;
    case REDIS_REPLY_INTEGER: ldr_buf_printf(b, ":%lld", r->integer); break;
    case REDIS_REPLY_NIL: ldr_buf_append_str(b, "_"); break;
    case REDIS_REPLY_ARRAY:
        ldr_buf_printf(b, "*%zu[", r->elements);
        for (size_t i = 0; i < r->elements; i++)
            canon_reply(b, r->element[i]);
        ldr_buf_append_str(b, "]");
        break;
    default: fail_msg("reply type %d", r->type);
    }
}

static int canon_field_cmp(const void *a, const void *b) {
    const redisReply *x = *(redisReply *const *)a, *y = *(redisReply *const *)b;
    int c = memcmp(x->str, y->str, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Appends the canonical form of @p key to @p b; false when it is absent. */
static bool canon_key(ldr_buf_t *b, const char *key) {
    redisReply *t = on(key, "TYPE %s", key);
    bool present = strcmp(t->str, "none") != 0;
    ldr_buf_printf(b, "%s;", t->str);
    redisReply *r = on(key, "PTTL %s", key);
    canon_reply(b, r);
    freeReplyObject(r);
    if (!strcmp(t->str, "hash")) {
        r = on(key, "HGETALL %s", key);
        /* Sort the (field, value) pairs by field. */
        size_t n = r->elements / 2;
        redisReply **pairs = malloc((n ? n : 1) * 2 * sizeof(*pairs));
        memcpy(pairs, r->element, n * 2 * sizeof(*pairs));
        qsort(pairs, n, 2 * sizeof(*pairs), canon_field_cmp);
        for (size_t i = 0; i < 2 * n; i++)
            canon_reply(b, pairs[i]);
        free(pairs);
    } else if (!strcmp(t->str, "zset")) {
        r = on(key, "ZRANGE %s 0 -1 WITHSCORES", key);
        canon_reply(b, r);
    } else if (!strcmp(t->str, "stream")) {
        r = on(key, "XRANGE %s - +", key);
        canon_reply(b, r);
        freeReplyObject(r);
        r = on(key, "XINFO STREAM %s", key);
        for (size_t i = 0; i + 1 < r->elements; i += 2)
            if (!strcmp(r->element[i]->str, "last-generated-id") ||
                !strcmp(r->element[i]->str, "max-deleted-entry-id") ||
                !strcmp(r->element[i]->str, "entries-added") ||
                !strcmp(r->element[i]->str, "groups")) {
                canon_reply(b, r->element[i]);
                canon_reply(b, r->element[i + 1]);
            }
    } else if (present) {
        fail_msg("%s: a %s, which no key of the store is", key, t->str);
    } else {
        r = NULL;
    }
    freeReplyObject(r);
    freeReplyObject(t);
    return present;
}

/* The canonical contents of every key of a partition (NULL where a key is
 * absent). */
typedef struct snap {
    char *v[NKEYS];
    size_t len[NKEYS];
} snap_t;

/* Takes @p l's placed keys, or its old ones; returns how many exist. */
static int snap_take(snap_t *d, const layout_t *l, bool placed) {
    int present = 0;
    for (int i = 0; i < NKEYS; i++) {
        ldr_buf_t b;
        ldr_buf_init(&b);
        d->v[i] = NULL;
        d->len[i] = 0;
        if (canon_key(&b, placed ? l->placed[i] : l->old[i])) {
            d->len[i] = b.len;
            d->v[i] = malloc(b.len);
            memcpy(d->v[i], b.data, b.len);
            present++;
        }
        ldr_buf_fini(&b);
    }
    return present;
}

static void snap_equal(const snap_t *got, const snap_t *want) {
    for (int i = 0; i < NKEYS; i++) {
        if (!got->v[i] != !want->v[i])
            fail_msg("%s: %s, want it %s", names[i],
                     got->v[i] ? "present" : "absent",
                     want->v[i] ? "present" : "absent");
        if (want->v[i] && (got->len[i] != want->len[i] ||
                           memcmp(got->v[i], want->v[i], want->len[i])))
            fail_msg("%s: %.*s\nwant %.*s", names[i], (int)got->len[i],
                     got->v[i], (int)want->len[i], want->v[i]);
    }
}

static void snap_fini(snap_t *d) {
    for (int i = 0; i < NKEYS; i++)
        free(d->v[i]);
}

/* Takes the placed keys as they would be with owner epoch @p epoch (a
 * claim bumps it; everything else must stay as it was), and puts the
 * epoch back. Returns how many keys exist. */
static int snap_epoch(snap_t *d, const layout_t *l, int64_t epoch) {
    const char *meta = l->placed[LDR_STORE_KEY_META];
    long long now = ival(meta, "HGET %s epoch", meta);
    long long back = (long long)epoch - now;
    assert_int_equal(ival(meta, "HINCRBY %s epoch %lld", meta, back), epoch);
    int present = snap_take(d, l, true);
    assert_int_equal(ival(meta, "HINCRBY %s epoch %lld", meta, -back), now);
    return present;
}

static ldr_store_t *store(void) {
    char err[512];
    ldr_store_t *s = ldr_store_new(url, NULL, "on", 2000, err, sizeof(err));
    if (!s) fail_msg("%s", err);
    assert_true(ldr_store_clustered(s));
    return s;
}

static void app(ldr_partition_t *p, ldr_machine_out_t *out, int partition,
                int64_t offset, const char *uscc, const char *event_id,
                int64_t t) {
    ldr_record_t m = {.kind = LDR_RECORD_APPLICATION};
    ldr_application_t *a = &m.u.application;
    a->event_id = ldr_str(event_id);
    a->uscc = ldr_str(uscc);
    a->enterprise_name = ldr_str("深圳新材料股份有限公司");
    a->reporting_unit = ldr_str("4403");
    a->tier = LDR_TIER_INNOVATIVE;
    a->batch = 1;
    a->occurred_at = t;
    a->indicators.rd_institution = LDR_RD_NATIONAL; /* passes directly */
    a->indicators.digitalization_level = 1;
    ldr_machine_cause_t c = {"ladder.events.v1", partition, offset};
    assert_int_equal(ldr_partition_step(p, &m, &c, out), LDR_OK);
}

static void tick(ldr_partition_t *p, ldr_machine_out_t *out, int partition,
                 int64_t offset, int64_t t) {
    ldr_record_t m = {.kind = LDR_RECORD_CLOCK_TICK};
    m.u.tick.tick_at = t;
    m.u.tick.source = ldr_str("t");
    ldr_machine_cause_t c = {"ladder.events.v1", partition, offset};
    assert_int_equal(ldr_partition_step(p, &m, &c, out), LDR_OK);
}

static void commit(ldr_store_t *s, ldr_partition_t *p, ldr_machine_out_t *out,
                   int partition, int64_t epoch, int64_t first, int64_t next) {
    char err[512];
    ldr_store_batch_t b = {0};
    b.partition = partition;
    b.epoch = epoch;
    b.first_offset = first;
    b.next_offset = next;
    b.clock = ldr_partition_clock(p);
    b.dirty = ldr_partition_take_dirty(p, &b.dirty_count);
    b.decisions = out->v;
    b.decisions_count = out->count;
    b.outbox = "payload-bytes";
    b.outbox_len = 13;
    b.notices_maxlen = 100;
    if (ldr_store_commit(s, &b, err, sizeof(err))) fail_msg("%s", err);
    ldr_machine_out_clear(out);
}

#define T0 1654041600000LL /* 2022-06-01 */

/* Writes partition @p partition's state through the store (the value
 * formats are the step's): with @p every_key, two enterprises designated
 * and expired (the notices stream) and a third in publicity (timers and
 * counters), so all six keys exist; otherwise one enterprise in publicity
 * and no notices stream, so the move meets an absent key. Returns the next
 * offset. */
static int64_t write_state(ldr_store_t *s, int partition, int64_t epoch,
                           bool every_key) {
    ldr_partition_t *p = ldr_partition_new(policies);
    ldr_machine_out_t out;
    ldr_machine_out_init(&out);
    int64_t next;
    app(p, &out, partition, 0, "91440300MA5F0XYZ1T", "a", T0);
    if (every_key) {
        app(p, &out, partition, 1, "91440300MA5F0XYZ2R", "b", T0);
        tick(p, &out, partition, 2, T0 + 8 * DAY); /* both designated */
        commit(s, p, &out, partition, epoch, 0, 3);
        tick(p, &out, partition, 3, T0 + 4 * 365 * DAY); /* both EXPIRED */
        app(p, &out, partition, 4, "91440300MA5F0XYZ3P", "c",
            T0 + 4 * 365 * DAY + DAY);
        commit(s, p, &out, partition, epoch, 3, 5);
        next = 5;
    } else {
        commit(s, p, &out, partition, epoch, 0, 1);
        next = 1;
    }
    ldr_machine_out_fini(&out);
    ldr_partition_destroy(p);
    return next;
}

/* The whole story of one partition: its state is written by the store and
 * put under the old names, as an old worker left it; a new store claims
 * it and must find it under the placed names, on the placed master, with
 * the same contents, and nothing under the old names on any master; it
 * resumes at the stored offset; a second claim changes nothing; old keys
 * that reappear beside the placed meta are deleted as leftovers. */
static void check_move(int partition, bool every_key, bool apart) {
    char err[512];
    layout_t l;
    layout_init(&l, partition);
    flush_all();
    int old_master = master_of(l.old_slot);
    int placed_master = master_of(l.placed_slot);
    if ((old_master != placed_master) != apart)
        fail_msg("partition %d: slots %d and %d are on masters %d and %d: "
                 "this test wants them %s",
                 partition, l.old_slot, l.placed_slot, old_master,
                 placed_master, apart ? "apart" : "together");

    ldr_store_t *s = store();
    int64_t epoch;
    assert_int_equal(ldr_store_claim(s, partition, &epoch, err, sizeof(err)),
                     LDR_OK);
    assert_int_equal(epoch, 1);
    int64_t next = write_state(s, partition, epoch, every_key);
    ldr_store_destroy(s);
    snap_t want;
    int present = snap_take(&want, &l, true);
    /* every key but the timers' sorted set, which the store writes no
     * more (the states hold the timers) */
    assert_int_equal(present, every_key ? NKEYS - 1 : NKEYS - 2);
    assert_null(want.v[LDR_STORE_KEY_TIMERS]);
    if (!every_key) assert_null(want.v[LDR_STORE_KEY_NOTICES]);

    /* As the layout before placement held it: each key under its old name
     * (a RENAME cannot cross slots: DUMP, RESTORE, DEL), nothing placed. */
    for (int i = 0; i < NKEYS; i++) {
        if (!want.v[i]) continue;
        redisReply *d = on(l.placed[i], "DUMP %s", l.placed[i]);
        assert_int_equal(d->type, REDIS_REPLY_STRING);
        freeReplyObject(
            on(l.old[i], "RESTORE %s 0 %b", l.old[i], d->str, d->len));
        freeReplyObject(d);
        assert_int_equal(ival(l.placed[i], "DEL %s", l.placed[i]), 1);
    }
    size_t there;
    assert_int_equal(keys_on_masters(l.placed_pattern, placed_master, &there),
                     0);
    assert_int_equal(keys_on_masters(l.old_pattern, old_master, &there),
                     (size_t)present);
    assert_int_equal(there, (size_t)present);
    assert_int_equal(ival(l.old[0], "HGET %s next_offset", l.old[0]), next);
    snap_t got;
    assert_int_equal(snap_take(&got, &l, false), present);
    snap_equal(&got, &want);
    snap_fini(&got);

    /* A new store claims it: every key under its placed name, on the placed
     * slot's master, with the same contents (the epoch aside, which the
     * claim bumps), and nothing of the old layout left on any master. */
    s = store();
    int64_t epoch2;
    assert_int_equal(ldr_store_claim(s, partition, &epoch2, err, sizeof(err)),
                     LDR_OK);
    assert_int_equal(epoch2, epoch + 1);
    assert_int_equal(keys_on_masters(l.old_pattern, old_master, &there), 0);
    for (int i = 0; i < NKEYS; i++)
        assert_int_equal(ival(l.old[i], "EXISTS %s", l.old[i]), 0);
    assert_int_equal(keys_on_masters(l.placed_pattern, placed_master, &there),
                     (size_t)present);
    assert_int_equal(there, (size_t)present);
    assert_int_equal(snap_epoch(&got, &l, epoch), present);
    snap_equal(&got, &want);
    snap_fini(&got);

    /* The owner resumes at the stored offset with the stored state. */
    ldr_partition_t *q = ldr_partition_new(policies);
    int64_t loaded;
    assert_int_equal(ldr_store_load(s, partition, q, &loaded, err, sizeof(err)),
                     LDR_OK);
    assert_int_equal(loaded, next);
    assert_int_equal(ldr_partition_count(q), every_key ? 3 : 1);
    assert_int_equal(ldr_partition_clock(q),
                     every_key ? T0 + 4 * 365 * DAY + DAY : T0);
    const ldr_enterprise_t *e = ldr_partition_find(q, "91440300MA5F0XYZ1T", 18);
    assert_non_null(e);
    assert_string_equal(e->name, "深圳新材料股份有限公司");
    assert_int_equal(e->tiers[LDR_TIER_INNOVATIVE].state,
                     every_key ? LDR_TIER_STATE_NONE
                               : LDR_TIER_STATE_PUBLICITY);

    /* A claim again moves nothing and changes nothing but the epoch. */
    int64_t epoch3;
    assert_int_equal(ldr_store_claim(s, partition, &epoch3, err, sizeof(err)),
                     LDR_OK);
    assert_int_equal(epoch3, epoch2 + 1);
    assert_int_equal(snap_epoch(&got, &l, epoch), present);
    snap_equal(&got, &want);
    snap_fini(&got);
    assert_int_equal(keys_on_masters(l.old_pattern, old_master, &there), 0);

    /* The owner goes on from there. */
    ldr_machine_out_t out;
    ldr_machine_out_init(&out);
    app(q, &out, partition, next, "91440300MA5F0XYZ4M", "d",
        ldr_partition_clock(q) + DAY);
    commit(s, q, &out, partition, epoch3, next, next + 1);
    assert_int_equal(ival(l.placed[0], "HGET %s next_offset", l.placed[0]),
                     next + 1);

    /* Old keys beside the placed meta (a move interrupted after its
     * restore) are leftovers: deleted, and the placed state is untouched
     * (no rewind to their offset). */
    snap_t keep;
    snap_epoch(&keep, &l, epoch3);
    freeReplyObject(on(l.old[0], "HSET %s next_offset 0 epoch 1", l.old[0]));
    freeReplyObject(on(l.old[1], "HSET %s x y", l.old[1]));
    int64_t epoch4;
    assert_int_equal(ldr_store_claim(s, partition, &epoch4, err, sizeof(err)),
                     LDR_OK);
    assert_int_equal(epoch4, epoch3 + 1);
    assert_int_equal(keys_on_masters(l.old_pattern, old_master, &there), 0);
    snap_epoch(&got, &l, epoch3);
    snap_equal(&got, &keep);
    assert_int_equal(ival(l.placed[0], "HGET %s next_offset", l.placed[0]),
                     next + 1);

    snap_fini(&got);
    snap_fini(&keep);
    snap_fini(&want);
    ldr_machine_out_fini(&out);
    ldr_partition_destroy(q);
    ldr_store_destroy(s);
}

static void test_cluster_migrate_across_masters(void **state) {
    (void)state;
    check_move(5, true, true);
}

static void test_cluster_migrate_on_one_master(void **state) {
    (void)state;
    check_move(6, false, false);
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
    ldr_cluster_opts_t o = {
        .url = url, .mode = LDR_CLUSTER_ON, .timeout_ms = 2000};
    if (ldr_cluster_new(&o, &cl, err, sizeof(err))) fail_msg("%s", err);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    ldr_cluster_destroy(cl);
    ldr_policies_destroy(policies);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_migrate_across_masters),
        cmocka_unit_test(test_cluster_migrate_on_one_master),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
