/* test_store.c -- the Redis store against a real redis-server: the atomic
 * step, the owner-epoch fence, the offset compare-and-set, reload. Run by
 * tests/support/with-stack, which provides an empty private Redis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ladder/buf.h"
#include "ladder/decision.h"
#include "ladder/policy_files.h"
#include "ladder/redis.h"
#include "ladder/store.h"
#include "ladder/time.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY (86400000LL)

static ldr_policies_t *policies;
static const char *url;

static redisContext *raw(void) {
    /* A second, plain connection to look at what the step wrote. */
    redisContext *c;
    char err[256];
    if (ldr_redis_connect(url, NULL, 2000, &c, err, sizeof(err)))
        fail_msg("%s", err);
    return c;
}

/* Key @p what of partition 5 as the store names it (LDR_STORE_KEY__COUNT:
 * "ldr:{<its tag>}", to build other names under the same tag). Four
 * rotating buffers, so a few may be used in one call. */
static const char *k5(ldr_store_key_t what) {
    static char keys[4][LDR_STORE_KEY_SIZE];
    static int next;
    char *k = keys[next++ % 4];
    if (what == LDR_STORE_KEY__COUNT) {
        ldr_store_key(k, LDR_STORE_KEY_SIZE, 5, LDR_STORE_KEY_META);
        *strrchr(k, ':') = '\0';
    } else {
        ldr_store_key(k, LDR_STORE_KEY_SIZE, 5, what);
    }
    return k;
}

/* ldr_enterprise_each_timer()'s callback: counts the timers, each of a
 * valid tier and kind with a due time. */
static void on_timer(void *opaque, int tier, int kind, int64_t due) {
    assert_true(tier >= 0 && tier < LDR_TIER__COUNT);
    assert_true(kind >= 0 && kind < LDR_TIMER__COUNT);
    assert_true(due > 0);
    (*(int *)opaque)++;
}

/* Counts into *@p n the timers of the state of @p uscc stored in
 * partition 5 (none when no state is stored). */
static ldr_err_t stored_timers(ldr_store_t *s, const char *uscc, int *n,
                               char *err, size_t errsize) {
    ldr_enterprise_t e;
    ldr_enterprise_init(&e, uscc, strlen(uscc));
    bool found = false;
    ldr_err_t rc = ldr_store_enterprise(s, 5, uscc, &e, &found, err, errsize);
    if (!rc && found) ldr_enterprise_each_timer(&e, on_timer, n);
    ldr_enterprise_fini(&e);
    return rc;
}

static long long ival(redisContext *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    long long v = r->type == REDIS_REPLY_INTEGER  ? r->integer
                  : r->type == REDIS_REPLY_STRING ? atoll(r->str)
                                                  : -999;
    freeReplyObject(r);
    return v;
}

static void app(ldr_partition_t *p, ldr_machine_out_t *out, int64_t offset,
                const char *uscc, const char *event_id, int64_t t) {
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
    ldr_machine_cause_t c = {"ladder.events.v1", 5, offset};
    assert_int_equal(ldr_partition_step(p, &m, &c, out), LDR_OK);
}

static void tick(ldr_partition_t *p, ldr_machine_out_t *out, int64_t offset,
                 int64_t t) {
    ldr_record_t m = {.kind = LDR_RECORD_CLOCK_TICK};
    m.u.tick.tick_at = t;
    m.u.tick.source = ldr_str("t");
    ldr_machine_cause_t c = {"ladder.events.v1", 5, offset};
    assert_int_equal(ldr_partition_step(p, &m, &c, out), LDR_OK);
}

static ldr_err_t commit(ldr_store_t *s, ldr_partition_t *p,
                        ldr_machine_out_t *out, int64_t epoch, int64_t first,
                        int64_t next, char *err) {
    ldr_store_batch_t b = {0};
    b.partition = 5;
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
    return ldr_store_commit(s, &b, err, 512);
}

static void test_store_step_fence_cas_and_reload(void **state) {
    (void)state;
    char err[512];
    ldr_store_t *s = ldr_store_new(url, NULL, NULL, 2000, err, sizeof(err));
    if (!s) fail_msg("%s", err);
    redisContext *c = raw();
    int64_t epoch;
    assert_int_equal(ldr_store_claim(s, 5, &epoch, err, sizeof(err)), LDR_OK);
    assert_int_equal(epoch, 1);

    ldr_partition_t *p = ldr_partition_new(policies);
    ldr_machine_out_t out;
    ldr_machine_out_init(&out);
    int64_t t = 1654041600000LL; /* 2022-06-01 */
    app(p, &out, 0, "91440300MA5F0XYZ1T", "a", t);
    app(p, &out, 1, "91440300MA5F0XYZ2R", "b", t);
    tick(p, &out, 2, t + 8 * DAY); /* both designated */
    assert_int_equal(out.count, 4);
    assert_int_equal(commit(s, p, &out, epoch, 0, 3, err), LDR_OK);

    assert_int_equal(ival(c, "HLEN %s", k5(LDR_STORE_KEY_ENT)), 2);
    assert_int_equal(ival(c, "HGET %s next_offset", k5(LDR_STORE_KEY_META)), 3);
    assert_int_equal(ival(c, "HGET %s clock", k5(LDR_STORE_KEY_META)),
                     t + 8 * DAY);
    /* Each designation has a review-window and a validity-end timer, held
     * by the states only: no sorted set beside them. */
    ldr_store_info_t info;
    assert_int_equal(ldr_store_info(s, 5, &info, err, sizeof(err)), LDR_OK);
    assert_int_equal(info.timers, 4);
    assert_int_equal(ival(c, "EXISTS %s", k5(LDR_STORE_KEY_TIMERS)), 0);
    int ntimers = 0;
    assert_int_equal(
        stored_timers(s, "91440300MA5F0XYZ1T", &ntimers, err, sizeof(err)),
        LDR_OK);
    assert_int_equal(ntimers, 2);
    assert_int_equal(
        stored_timers(s, "91440300MA5F0XYZ9Z", &ntimers, err, sizeof(err)),
        LDR_OK);
    assert_int_equal(ntimers, 2); /* no state, no timers */
    assert_int_equal(ival(c, "HGET %s state:4403:INNOVATIVE:DESIGNATED",
                          k5(LDR_STORE_KEY_COUNTERS)),
                     2);
    /* Counters move by the net change over the batch: NONE -> DESIGNATED,
     * so the publicity in between never shows. */
    assert_int_equal(ival(c, "HGET %s state:4403:INNOVATIVE:PUBLICITY",
                          k5(LDR_STORE_KEY_COUNTERS)),
                     -999);
    assert_int_equal(ival(c, "XLEN %s", k5(LDR_STORE_KEY_OUTBOX)), 1);
    assert_int_equal(ival(c, "GET %s:nothing", k5(LDR_STORE_KEY__COUNT)), -999);

    /* The compare-and-set: a batch that does not start at the stored next
     * offset is refused and writes nothing. */
    ldr_machine_out_clear(&out);
    app(p, &out, 7, "91440300MA5F0XYZ3P", "c", t + 9 * DAY);
    ldr_err_t rc = commit(s, p, &out, epoch, 7, 8, err);
    assert_int_equal(rc, LDR_ERR_FENCED);
    assert_non_null(strstr(err, "next offset is 3"));
    assert_int_equal(ival(c, "HLEN %s", k5(LDR_STORE_KEY_ENT)), 2);
    assert_int_equal(ival(c, "HGET %s next_offset", k5(LDR_STORE_KEY_META)), 3);

    /* The fence: once another owner claimed the partition, the old epoch
     * writes nothing. */
    int64_t epoch2;
    /* (the claim also deletes the timers' sorted set an earlier layout
     * kept) */
    freeReplyObject(redisCommand(c, "ZADD %s 1 91440300MA5F0XYZ1T:0:1",
                                 k5(LDR_STORE_KEY_TIMERS)));
    assert_int_equal(ldr_store_claim(s, 5, &epoch2, err, sizeof(err)), LDR_OK);
    assert_int_equal(epoch2, 2);
    assert_int_equal(ival(c, "EXISTS %s", k5(LDR_STORE_KEY_TIMERS)), 0);
    ldr_machine_out_clear(&out);
    app(p, &out, 3, "91440300MA5F0XYZ3P", "d", t + 9 * DAY);
    assert_int_equal(commit(s, p, &out, epoch, 3, 4, err), LDR_ERR_FENCED);
    assert_non_null(strstr(err, "owner epoch is 2"));
    assert_int_equal(ival(c, "HLEN %s", k5(LDR_STORE_KEY_ENT)), 2);

    /* A new owner reloads exactly the committed state. */
    ldr_partition_t *q = ldr_partition_new(policies);
    int64_t next;
    assert_int_equal(ldr_store_load(s, 5, q, &next, err, sizeof(err)), LDR_OK);
    assert_int_equal(next, 3);
    assert_int_equal(ldr_partition_count(q), 2);
    assert_int_equal(ldr_partition_clock(q), t + 8 * DAY);
    const ldr_enterprise_t *e = ldr_partition_find(q, "91440300MA5F0XYZ1T", 18);
    assert_non_null(e);
    assert_int_equal(e->tiers[0].state, LDR_TIER_STATE_DESIGNATED);
    assert_string_equal(e->name, "深圳新材料股份有限公司");
    /* Its timers are live: years later the designations expire, and the
     * notices stream gets the EXPIRED decisions. */
    ldr_machine_out_clear(&out);
    tick(q, &out, 3, t + 4 * 365 * DAY);
    assert_int_equal(out.count, 4); /* 2 x REVIEW_DUE, 2 x EXPIRED */
    assert_int_equal(commit(s, q, &out, epoch2, 3, 4, err), LDR_OK);
    assert_int_equal(ival(c, "XLEN %s", k5(LDR_STORE_KEY_NOTICES)), 2);
    assert_int_equal(ldr_store_info(s, 5, &info, err, sizeof(err)), LDR_OK);
    assert_int_equal(info.timers, 0);
    /* A counter back at zero is gone, not "0": the hash does not depend
     * on where batches began and ended. */
    assert_int_equal(ival(c, "HGET %s state:4403:INNOVATIVE:DESIGNATED",
                          k5(LDR_STORE_KEY_COUNTERS)),
                     -999);
    redisReply *r =
        redisCommand(c, "XRANGE %s - + COUNT 1", k5(LDR_STORE_KEY_NOTICES));
    assert_true(r && r->elements == 1);
    /* Its id is the causing message's offset + 1 and the decision's place
     * among that message's decisions, whatever the batch. */
    char want[32] = "";
    for (size_t i = 0; i < out.count && !want[0]; i++)
        if (out.v[i].decision == LDR_DECISION_EXPIRED)
            snprintf(want, sizeof(want), "4-%d", out.v[i].n);
    assert_string_equal(r->element[0]->element[0]->str, want);
    /* kept in the compact form, which gives the decision back */
    const redisReply *v = r->element[0]->element[1]->element[1];
    ldr_decision_t d;
    assert_int_equal(ldr_decision_read_notice(v->str, v->len, &d), LDR_OK);
    ldr_buf_t json;
    ldr_buf_init(&json);
    ldr_decision_write_json(&d, &json);
    assert_non_null(strstr(json.data, "\"decision\":\"EXPIRED\""));
    assert_non_null(strstr(json.data, "\"reasons\":[\"NOT_RENEWED\"]"));
    ldr_buf_fini(&json);
    freeReplyObject(r);

    /* The outbox: both batches' payloads, oldest first; trimmed once
     * published. */
    assert_int_equal(ival(c, "XLEN %s", k5(LDR_STORE_KEY_OUTBOX)), 2);
    assert_int_equal(ldr_store_outbox_trim(s, 5, 3, err, sizeof(err)), LDR_OK);
    assert_int_equal(ival(c, "XLEN %s", k5(LDR_STORE_KEY_OUTBOX)), 1);

    ldr_machine_out_fini(&out);
    ldr_partition_destroy(p);
    ldr_partition_destroy(q);
    redisFree(c);
    ldr_store_destroy(s);
}

/* A store and a plain connection to an emptied Redis. */
static ldr_store_t *fresh_store(redisContext **c) {
    char err[512];
    ldr_store_t *s = ldr_store_new(url, NULL, NULL, 2000, err, sizeof(err));
    if (!s) fail_msg("%s", err);
    *c = raw();
    freeReplyObject(redisCommand(*c, "FLUSHALL"));
    return s;
}

/* Calls of @p cmd Redis has counted since the last CONFIG RESETSTAT. */
static long long calls(redisContext *c, const char *cmd) {
    redisReply *r = redisCommand(c, "INFO commandstats");
    assert_true(r && r->type == REDIS_REPLY_STRING);
    char want[64];
    snprintf(want, sizeof(want), "cmdstat_%s:calls=", cmd);
    const char *at = strstr(r->str, want);
    long long n = at ? atoll(at + strlen(want)) : 0;
    freeReplyObject(r);
    return n;
}

/* A partition loaded by this store: its steps set each moved counter to
 * its value in one HSET (a counter back at zero is deleted), starting
 * from the values the hash held when it was loaded. A hash holding a
 * field this version does not write is left to the moves (HINCRBY), which
 * need no reading, and the field is kept. */
static void test_store_loaded_partition_sets_counter_values(void **state) {
    (void)state;
    char err[512];
    redisContext *c;
    ldr_store_t *s = fresh_store(&c);
    /* what earlier owners left: 40 designations, 7 little giants */
    freeReplyObject(redisCommand(c,
                                 "HSET %s state:4403:INNOVATIVE:DESIGNATED 40 "
                                 "lg:1:designated 7",
                                 k5(LDR_STORE_KEY_COUNTERS)));
    int64_t epoch, next;
    assert_int_equal(ldr_store_claim(s, 5, &epoch, err, sizeof(err)), LDR_OK);
    ldr_partition_t *p = ldr_partition_new(policies);
    assert_int_equal(ldr_store_load(s, 5, p, &next, err, sizeof(err)), LDR_OK);
    ldr_machine_out_t out;
    ldr_machine_out_init(&out);
    int64_t t = 1654041600000LL; /* 2022-06-01 */
    app(p, &out, 0, "91440300MA5F0XYZ1T", "a", t);
    app(p, &out, 1, "91440300MA5F0XYZ2R", "b", t);
    freeReplyObject(redisCommand(c, "CONFIG RESETSTAT"));
    assert_int_equal(commit(s, p, &out, epoch, 0, 2, err), LDR_OK);
    assert_int_equal(ival(c, "HGET %s state:4403:INNOVATIVE:PUBLICITY",
                          k5(LDR_STORE_KEY_COUNTERS)),
                     2);
    ldr_machine_out_clear(&out);
    tick(p, &out, 2, t + 8 * DAY); /* both designated */
    assert_int_equal(commit(s, p, &out, epoch, 2, 3, err), LDR_OK);
    assert_int_equal(ival(c, "HGET %s state:4403:INNOVATIVE:DESIGNATED",
                          k5(LDR_STORE_KEY_COUNTERS)),
                     42);
    assert_int_equal(ival(c, "HGET %s state:4403:INNOVATIVE:PUBLICITY",
                          k5(LDR_STORE_KEY_COUNTERS)),
                     -999);
    assert_int_equal(
        ival(c, "HGET %s lg:1:designated", k5(LDR_STORE_KEY_COUNTERS)), 7);
    assert_int_equal(calls(c, "hincrby"), 0);
    assert_true(calls(c, "hdel") >= 1);

    /* A field of another version: the next owner sends moves. */
    freeReplyObject(
        redisCommand(c, "HSET %s future:field 1", k5(LDR_STORE_KEY_COUNTERS)));
    int64_t epoch2;
    assert_int_equal(ldr_store_claim(s, 5, &epoch2, err, sizeof(err)), LDR_OK);
    ldr_partition_t *q = ldr_partition_new(policies);
    assert_int_equal(ldr_store_load(s, 5, q, &next, err, sizeof(err)), LDR_OK);
    ldr_machine_out_clear(&out);
    tick(q, &out, 3, t + 4 * 365 * DAY); /* both expire */
    freeReplyObject(redisCommand(c, "CONFIG RESETSTAT"));
    assert_int_equal(commit(s, q, &out, epoch2, 3, 4, err), LDR_OK);
    assert_true(calls(c, "hincrby") >= 1);
    assert_int_equal(ival(c, "HGET %s state:4403:INNOVATIVE:DESIGNATED",
                          k5(LDR_STORE_KEY_COUNTERS)),
                     40);
    assert_int_equal(
        ival(c, "HGET %s future:field", k5(LDR_STORE_KEY_COUNTERS)), 1);

    ldr_machine_out_fini(&out);
    ldr_partition_destroy(p);
    ldr_partition_destroy(q);
    redisFree(c);
    ldr_store_destroy(s);
}

/* A worker of an earlier version that connects during a rolling upgrade
 * loads its own library over ours, and its ladder_step does not read this
 * version's steps. The step fails, writing nothing; the next claim loads
 * our library again, and the partition goes on. */
static void
test_store_claim_reloads_the_functions_a_step_failed_in(void **state) {
    (void)state;
    char err[512];
    redisContext *c;
    ldr_store_t *s = fresh_store(&c);
    int64_t epoch, next;
    assert_int_equal(ldr_store_claim(s, 5, &epoch, err, sizeof(err)), LDR_OK);
    ldr_partition_t *p = ldr_partition_new(policies);
    assert_int_equal(ldr_store_load(s, 5, p, &next, err, sizeof(err)), LDR_OK);
    ldr_machine_out_t out;
    ldr_machine_out_init(&out);
    int64_t t = 1654041600000LL; /* 2022-06-01 */
    /* a first step, over the connection that loaded our library */
    app(p, &out, 0, "91440300MA5F0XYZ1T", "a", t);
    assert_int_equal(commit(s, p, &out, epoch, 0, 1, err), LDR_OK);
    static const char old[] =
        "#!lua name=ladder\n"
        "redis.register_function('ladder_step', function(keys, args)\n"
        "  return tonumber(args[5]) + tonumber(args[8 + 2 * args[5]])\n"
        "end)\n";
    redisReply *r = redisCommand(c, "FUNCTION LOAD REPLACE %s", old);
    assert_true(r && r->type == REDIS_REPLY_STRING);
    freeReplyObject(r);
    ldr_machine_out_clear(&out);
    app(p, &out, 1, "91440300MA5F0XYZ2R", "b", t);
    assert_int_equal(commit(s, p, &out, epoch, 1, 2, err), LDR_ERR_TRANSIENT);
    assert_int_equal(ival(c, "HLEN %s", k5(LDR_STORE_KEY_ENT)), 1);

    ldr_partition_t *q = ldr_partition_new(policies);
    assert_int_equal(ldr_store_claim(s, 5, &epoch, err, sizeof(err)), LDR_OK);
    assert_int_equal(ldr_store_load(s, 5, q, &next, err, sizeof(err)), LDR_OK);
    ldr_machine_out_clear(&out);
    app(q, &out, 1, "91440300MA5F0XYZ2R", "b", t);
    assert_int_equal(commit(s, q, &out, epoch, 1, 2, err), LDR_OK);
    assert_int_equal(ival(c, "HLEN %s", k5(LDR_STORE_KEY_ENT)), 2);

    ldr_machine_out_fini(&out);
    ldr_partition_destroy(p);
    ldr_partition_destroy(q);
    redisFree(c);
    ldr_store_destroy(s);
}

/* Everything Redis holds for partition 5 (every key under its tag, DUMPed),
 * as one comparable blob, with its key count. Caller frees. */
static char *snapshot(redisContext *c, size_t *len, size_t *keys) {
    redisReply *k = redisCommand(c, "KEYS %s:*", k5(LDR_STORE_KEY__COUNT));
    assert_true(k && k->type == REDIS_REPLY_ARRAY);
    /* KEYS has no order: sort by name so two snapshots compare. */
    for (size_t i = 1; i < k->elements; i++)
        for (size_t j = i;
             j > 0 && strcmp(k->element[j - 1]->str, k->element[j]->str) > 0;
             j--) {
            redisReply *t = k->element[j];
            k->element[j] = k->element[j - 1];
            k->element[j - 1] = t;
        }
    ldr_buf_t b;
    ldr_buf_init(&b);
    for (size_t i = 0; i < k->elements; i++) {
        redisReply *d = redisCommand(c, "DUMP %s", k->element[i]->str);
        assert_true(d && d->type == REDIS_REPLY_STRING);
        ldr_buf_append(&b, k->element[i]->str, k->element[i]->len + 1);
        ldr_buf_append(&b, d->str, d->len);
        freeReplyObject(d);
    }
    *keys = k->elements;
    freeReplyObject(k);
    *len = b.len;
    char *out = malloc(b.len + 1);
    memcpy(out, b.data, b.len);
    ldr_buf_fini(&b);
    return out;
}

/* A batch written with a stale owner epoch (a zombie: another worker
 * claimed the partition since) is refused as FENCED even though it starts
 * at the stored next offset, and writes nothing at all: no state, timer,
 * counter, outbox entry, notice, offset or clock. */
static void test_store_stale_epoch_is_fenced_and_writes_nothing(void **state) {
    (void)state;
    char err[512];
    redisContext *c;
    ldr_store_t *s = fresh_store(&c);
    int64_t old_epoch, new_epoch;
    assert_int_equal(ldr_store_claim(s, 5, &old_epoch, err, sizeof(err)),
                     LDR_OK);
    ldr_partition_t *p = ldr_partition_new(policies);
    ldr_machine_out_t out;
    ldr_machine_out_init(&out);
    int64_t t = 1654041600000LL; /* 2022-06-01 */
    app(p, &out, 0, "91440300MA5F0XYZ1T", "a", t);
    tick(p, &out, 1, t + 8 * DAY);
    assert_int_equal(commit(s, p, &out, old_epoch, 0, 2, err), LDR_OK);

    /* Another owner claims the partition. */
    assert_int_equal(ldr_store_claim(s, 5, &new_epoch, err, sizeof(err)),
                     LDR_OK);
    assert_true(new_epoch > old_epoch);
    size_t before_len, before_keys;
    char *before = snapshot(c, &before_len, &before_keys);
    assert_int_equal(before_keys, 4); /* meta, ent, counters, outbox */

    /* The zombie's next batch touches everything a batch can write: a new
     * enterprise, timers, counters, the outbox and (EXPIRED) notices. */
    ldr_machine_out_clear(&out);
    app(p, &out, 2, "91440300MA5F0XYZ2R", "b", t + 9 * DAY);
    tick(p, &out, 3, t + 4 * 365 * DAY);
    assert_true(out.count >= 3);
    ldr_err_t rc = commit(s, p, &out, old_epoch, 2, 4, err);
    assert_int_equal(rc, LDR_ERR_FENCED);
    assert_non_null(strstr(err, "FENCED"));
    size_t after_len, after_keys;
    char *after = snapshot(c, &after_len, &after_keys);
    assert_int_equal(after_keys, before_keys); /* no notices stream */
    assert_int_equal(after_len, before_len);
    assert_memory_equal(after, before, before_len);
    assert_int_equal(ival(c, "HGET %s next_offset", k5(LDR_STORE_KEY_META)), 2);
    assert_int_equal(ival(c, "HGET %s epoch", k5(LDR_STORE_KEY_META)),
                     new_epoch);

    /* The same batch with the current epoch is taken. */
    ldr_partition_t *q = ldr_partition_new(policies);
    int64_t next;
    assert_int_equal(ldr_store_load(s, 5, q, &next, err, sizeof(err)), LDR_OK);
    assert_int_equal(next, 2);
    ldr_machine_out_clear(&out);
    app(q, &out, 2, "91440300MA5F0XYZ2R", "b", t + 9 * DAY);
    tick(q, &out, 3, t + 4 * 365 * DAY);
    assert_int_equal(commit(s, q, &out, new_epoch, 2, 4, err), LDR_OK);
    assert_int_equal(ival(c, "HGET %s next_offset", k5(LDR_STORE_KEY_META)), 4);
    assert_int_equal(ival(c, "HLEN %s", k5(LDR_STORE_KEY_ENT)), 2);
    assert_true(ival(c, "XLEN %s", k5(LDR_STORE_KEY_NOTICES)) >= 1);

    free(before);
    free(after);
    ldr_machine_out_fini(&out);
    ldr_partition_destroy(p);
    ldr_partition_destroy(q);
    redisFree(c);
    ldr_store_destroy(s);
}

/* Redis written before the tags were placed (ldr:{p5}:...) is not
 * abandoned: the claim moves every key to its placed name with the same
 * contents, leaves no old key behind, and the owner resumes at the stored
 * offset. A second claim moves nothing; old keys that reappear beside a
 * placed meta (a move interrupted after its copy) are deleted as
 * leftovers, and the placed state is untouched. */
static void test_store_claim_moves_the_layout_before_placement(void **state) {
    (void)state;
    char err[512];
    redisContext *c;
    ldr_store_t *s = fresh_store(&c);
    int64_t epoch;
    assert_int_equal(ldr_store_claim(s, 5, &epoch, err, sizeof(err)), LDR_OK);
    ldr_partition_t *p = ldr_partition_new(policies);
    ldr_machine_out_t out;
    ldr_machine_out_init(&out);
    int64_t t = 1654041600000LL; /* 2022-06-01 */
    app(p, &out, 0, "91440300MA5F0XYZ1T", "a", t);
    app(p, &out, 1, "91440300MA5F0XYZ2R", "b", t);
    tick(p, &out, 2, t + 8 * DAY);
    tick(p, &out, 3, t + 4 * 365 * DAY); /* EXPIRED: the notices stream */
    assert_int_equal(commit(s, p, &out, epoch, 0, 4, err), LDR_OK);
    size_t want_len, want_keys;
    char *want = snapshot(c, &want_len, &want_keys);
    assert_int_equal(want_keys, 4); /* counters are back to empty */

    /* The same partition as the layout before placement held it. */
    for (int w = 0; w < LDR_STORE_KEY_PARTITIONS; w++) {
        char old[LDR_STORE_KEY_SIZE];
        const char *names[] = {"meta",   "ent",      "timers",
                               "outbox", "counters", "notices"};
        snprintf(old, sizeof(old), "ldr:{p5}:%s", names[w]);
        if (ival(c, "EXISTS %s", k5((ldr_store_key_t)w)))
            freeReplyObject(
                redisCommand(c, "RENAME %s %s", k5((ldr_store_key_t)w), old));
    }
    assert_int_equal(ival(c, "EXISTS %s", k5(LDR_STORE_KEY_META)), 0);
    assert_int_equal(ival(c, "HGET ldr:{p5}:meta next_offset"), 4);

    /* A new store claims it: every key is under its placed name, with the
     * same contents (the epoch aside, which the claim bumps), and no key of
     * the old layout is left. */
    ldr_store_destroy(s);
    s = ldr_store_new(url, NULL, NULL, 2000, err, sizeof(err));
    if (!s) fail_msg("%s", err);
    int64_t epoch2;
    assert_int_equal(ldr_store_claim(s, 5, &epoch2, err, sizeof(err)), LDR_OK);
    assert_int_equal(epoch2, epoch + 1);
    assert_int_equal(ival(c, "HINCRBY %s epoch -1", k5(LDR_STORE_KEY_META)),
                     epoch);
    size_t got_len, got_keys;
    char *got = snapshot(c, &got_len, &got_keys);
    assert_int_equal(got_keys, want_keys);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
    free(got);
    assert_int_equal(ival(c, "HINCRBY %s epoch 1", k5(LDR_STORE_KEY_META)),
                     epoch2);
    redisReply *r = redisCommand(c, "KEYS ldr:{p5}:*");
    assert_true(r && r->type == REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 0);
    freeReplyObject(r);

    /* The owner resumes at the stored offset and goes on from there. */
    ldr_partition_t *q = ldr_partition_new(policies);
    int64_t next;
    assert_int_equal(ldr_store_load(s, 5, q, &next, err, sizeof(err)), LDR_OK);
    assert_int_equal(next, 4);
    assert_int_equal(ldr_partition_count(q), 2);
    assert_int_equal(ldr_partition_clock(q), t + 4 * 365 * DAY);
    ldr_machine_out_clear(&out);
    app(q, &out, 4, "91440300MA5F0XYZ3P", "c", t + 4 * 365 * DAY + DAY);
    assert_int_equal(commit(s, q, &out, epoch2, 4, 5, err), LDR_OK);
    assert_int_equal(ival(c, "HGET %s next_offset", k5(LDR_STORE_KEY_META)), 5);
    assert_int_equal(ival(c, "HLEN %s", k5(LDR_STORE_KEY_ENT)), 3);

    /* A claim again moves nothing; leftovers of the old layout beside the
     * placed meta are deleted and the placed state stays as it is. */
    size_t keep_len, keep_keys;
    char *keep = snapshot(c, &keep_len, &keep_keys);
    freeReplyObject(redisCommand(c, "HSET ldr:{p5}:meta next_offset 2"));
    freeReplyObject(redisCommand(c, "HSET ldr:{p5}:ent x y"));
    int64_t epoch3;
    assert_int_equal(ldr_store_claim(s, 5, &epoch3, err, sizeof(err)), LDR_OK);
    assert_int_equal(epoch3, epoch2 + 1);
    assert_int_equal(ival(c, "EXISTS ldr:{p5}:meta ldr:{p5}:ent"), 0);
    assert_int_equal(ival(c, "HINCRBY %s epoch -1", k5(LDR_STORE_KEY_META)),
                     epoch2);
    got = snapshot(c, &got_len, &got_keys);
    assert_int_equal(got_len, keep_len);
    assert_memory_equal(got, keep, keep_len);

    free(got);
    free(keep);
    free(want);
    ldr_machine_out_fini(&out);
    ldr_partition_destroy(p);
    ldr_partition_destroy(q);
    redisFree(c);
    ldr_store_destroy(s);
}

typedef struct notices_seen {
    int count, expired;
} notices_seen_t;

static void notice_seen(void *opaque, const char *id, const char *json,
                        size_t len) {
    notices_seen_t *seen = opaque;
    (void)id;
    seen->count++;
    json_error_t e;
    json_t *j = json_loadb(json, len, 0, &e);
    if (!j) fail_msg("notice %s is not JSON: %s", id, e.text);
    const char *d = json_string_value(json_object_get(j, "decision"));
    if (d && strcmp(d, "EXPIRED") == 0) seen->expired++;
    json_decref(j);
}

/* The notices stream does not depend on where batches began and ended:
 * the same messages stored as one batch or as one batch per message give
 * the same entry ids and contents. */
static void test_store_notice_ids_follow_the_log(void **state) {
    (void)state;
    char err[512];
    ldr_store_t *s = ldr_store_new(url, NULL, NULL, 2000, err, sizeof(err));
    if (!s) fail_msg("%s", err);
    redisContext *c = raw();
    int64_t t = 1654041600000LL; /* 2022-06-01 */
    char *streams[2];
    for (int split = 0; split < 2; split++) {
        redisReply *r = redisCommand(c, "FLUSHALL");
        freeReplyObject(r);
        int64_t epoch;
        assert_int_equal(ldr_store_claim(s, 5, &epoch, err, sizeof(err)),
                         LDR_OK);
        ldr_partition_t *p = ldr_partition_new(policies);
        ldr_machine_out_t out;
        ldr_machine_out_init(&out);
        app(p, &out, 0, "91440300MA5F0XYZ1T", "a", t);
        app(p, &out, 1, "91440300MA5F0XYZ2R", "b", t);
        tick(p, &out, 2, t + 8 * DAY);
        if (split) {
            assert_int_equal(commit(s, p, &out, epoch, 0, 3, err), LDR_OK);
            ldr_machine_out_clear(&out);
        }
        tick(p, &out, 3, t + 4 * 365 * DAY); /* 2 x EXPIRED */
        tick(p, &out, 4, t + 5 * 365 * DAY);
        assert_int_equal(commit(s, p, &out, epoch, split ? 3 : 0, 5, err),
                         LDR_OK);
        r = redisCommand(c, "XRANGE %s - +", k5(LDR_STORE_KEY_NOTICES));
        assert_true(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
        ldr_buf_t b;
        ldr_buf_init(&b);
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *v = r->element[i]->element[1]->element[1];
            /* kept in the compact form (decision.h) */
            assert_true(ldr_decision_is_notice(v->str, v->len));
            ldr_buf_append_str(&b, r->element[i]->element[0]->str);
            ldr_buf_append_str(&b, " ");
            ldr_buf_append_varint(&b, v->len);
            ldr_buf_append(&b, v->str, v->len);
            ldr_buf_append_str(&b, "\n");
        }
        streams[split] = malloc(b.len + sizeof(size_t));
        memcpy(streams[split], &b.len, sizeof(size_t));
        memcpy(streams[split] + sizeof(size_t), b.data, b.len);
        ldr_buf_fini(&b);
        freeReplyObject(r);
        /* read back through the store: their JSON form */
        notices_seen_t seen = {0};
        assert_int_equal(
            ldr_store_notices(s, 5, notice_seen, &seen, err, sizeof(err)),
            LDR_OK);
        assert_int_equal(seen.count, 2);
        assert_int_equal(seen.expired, 2);
        ldr_machine_out_fini(&out);
        ldr_partition_destroy(p);
    }
    size_t len0, len1;
    memcpy(&len0, streams[0], sizeof(size_t));
    memcpy(&len1, streams[1], sizeof(size_t));
    assert_int_equal(len0, len1);
    assert_memory_equal(streams[0], streams[1], sizeof(size_t) + len0);
    assert_int_equal(strncmp(streams[0] + sizeof(size_t), "4-", 2), 0);
    free(streams[0]);
    free(streams[1]);
    redisFree(c);
    ldr_store_destroy(s);
}

static void test_store_unreachable_redis_is_transient(void **state) {
    (void)state;
    char err[512];
    assert_null(ldr_store_new("redis://127.0.0.1:1/0", NULL, NULL, 500, err,
                              sizeof(err)));
    assert_non_null(strstr(err, "127.0.0.1:1"));
}

/* The API reads with its own connections and finds every key through
 * ldr_store_key(): the names it gives are the ones the step writes. */
static void test_store_key_names_and_parses_the_layout(void **state) {
    (void)state;
    char key[LDR_STORE_KEY_SIZE];
    ldr_store_key(key, sizeof(key), 5, LDR_STORE_KEY_ENT);
    assert_string_equal(key, "ldr:{p5.616}:ent");
    ldr_store_key(key, sizeof(key), 12, LDR_STORE_KEY_NOTICES);
    assert_string_equal(key, "ldr:{p12.740}:notices");
    ldr_store_key(key, sizeof(key), 3, LDR_STORE_KEY_PARTITIONS);
    assert_string_equal(key, "ldr:partitions");
    ldr_store_key(key, sizeof(key), 3, LDR_STORE_KEY_REPLAYS);
    assert_string_equal(key, "ldr:dlq:replays");
    assert_int_equal(
        ldr_store_key_partition("ldr:{p12.740}:notices", LDR_STORE_KEY_NOTICES),
        12);
    assert_int_equal(
        ldr_store_key_partition("ldr:{p12.740}:notices", LDR_STORE_KEY_ENT),
        -1);
    /* The layout before placement, and a tag with another salt. */
    assert_int_equal(
        ldr_store_key_partition("ldr:{p12}:notices", LDR_STORE_KEY_NOTICES),
        -1);
    assert_int_equal(
        ldr_store_key_partition("ldr:{p12.741}:notices", LDR_STORE_KEY_NOTICES),
        -1);
    assert_int_equal(
        ldr_store_key_partition("ldr:{p}:notices", LDR_STORE_KEY_NOTICES), -1);
    assert_int_equal(ldr_store_key_partition("ldr:{p1.1840}:noticesx",
                                             LDR_STORE_KEY_NOTICES),
                     -1);
}

/* tests/support/store_keys.py (the fault suite's and the scripts' names)
 * mirrors ldr_store_key(): every name of partitions 0..255 is the same. */
static void test_store_key_python_mirror_agrees(void **state) {
    (void)state;
    static const char *const names[] = {"meta",   "ent",      "timers",
                                        "outbox", "counters", "notices"};
    for (int w = 0; w < LDR_STORE_KEY_PARTITIONS; w++) {
        char cmd[4096];
        int len = snprintf(cmd, sizeof(cmd),
                           "/usr/bin/python3 " LADDER_SOURCE_DIR
                           "/tests/support/store_keys.py %s",
                           names[w]);
        for (int p = 0; p < 256; p++)
            len += snprintf(cmd + len, sizeof(cmd) - (size_t)len, " %d", p);
        FILE *f = popen(cmd, "r");
        assert_non_null(f);
        char line[128];
        int p = 0;
        while (fgets(line, sizeof(line), f)) {
            char key[LDR_STORE_KEY_SIZE];
            line[strcspn(line, "\n")] = '\0';
            ldr_store_key(key, sizeof(key), p, (ldr_store_key_t)w);
            if (strcmp(line, key))
                fail_msg("partition %d: store_keys.py says %s, the store %s", p,
                         line, key);
            p++;
        }
        assert_int_equal(pclose(f), 0);
        assert_int_equal(p, 256);
    }
}

/* ldr_store_poll()'s callback for one answer: keeps it. */
static void keep_answer(void *opaque, const ldr_store_answer_t *a) {
    *(ldr_store_answer_t *)opaque = *a;
}

/* The heartbeat lands in the meta hash; ldr_store_info() reads what was
 * stored; a rebuild is refused while the heartbeat is fresh, and otherwise
 * drops the partition (nothing stored: the next owner replays from 0) and
 * bumps the epoch, so the old owner's next step is fenced. */
static void test_store_heartbeat_info_and_rebuild(void **state) {
    (void)state;
    char err[512];
    redisContext *c = raw();
    redisReply *r = redisCommand(c, "FLUSHALL");
    freeReplyObject(r);
    ldr_store_t *s = ldr_store_new(url, NULL, NULL, 2000, err, sizeof(err));
    if (!s) fail_msg("%s", err);
    int64_t epoch;
    assert_int_equal(ldr_store_claim(s, 5, &epoch, err, sizeof(err)), LDR_OK);
    ldr_partition_t *p = ldr_partition_new(policies);
    ldr_machine_out_t out;
    ldr_machine_out_init(&out);
    int64_t t = 1654041600000LL;
    app(p, &out, 0, "91440300MA5F0XYZ1T", "a", t);
    tick(p, &out, 1, t + 8 * DAY);
    assert_int_equal(commit(s, p, &out, epoch, 0, 2, err), LDR_OK);

    int64_t beat = 1700000000000LL;
    assert_int_equal(ldr_store_beat_send(s, 5, beat, err, sizeof(err)), LDR_OK);
    ldr_store_answer_t a = {.result = LDR_ERR_TRANSIENT};
    while (ldr_store_owed(s))
        ldr_store_poll(s, 1000, keep_answer, &a);
    assert_int_equal(a.op, LDR_STORE_OP_BEAT);
    assert_int_equal(a.result, LDR_OK);

    ldr_store_info_t info;
    assert_int_equal(ldr_store_info(s, 5, &info, err, sizeof(err)), LDR_OK);
    assert_int_equal(info.epoch, epoch);
    assert_int_equal(info.next_offset, 2);
    assert_int_equal(info.heartbeat_ms, beat);
    assert_int_equal(info.enterprises, 1);
    assert_true(info.timers > 0);

    int64_t after = 0, seen = -1;
    assert_int_equal(
        ldr_store_rebuild(s, 5, beat, &after, &seen, err, sizeof(err)),
        LDR_ERR_FENCED);
    assert_int_equal(seen, beat);
    assert_int_equal(ival(c, "HLEN %s", k5(LDR_STORE_KEY_ENT)), 1);
    assert_int_equal(ival(c, "HGET %s epoch", k5(LDR_STORE_KEY_META)), epoch);

    assert_int_equal(
        ldr_store_rebuild(s, 5, beat + 1, &after, &seen, err, sizeof(err)),
        LDR_OK);
    assert_int_equal(after, epoch + 1);
    assert_int_equal(ldr_store_info(s, 5, &info, err, sizeof(err)), LDR_OK);
    assert_int_equal(info.epoch, epoch + 1);
    assert_int_equal(info.next_offset, -1);
    assert_int_equal(info.heartbeat_ms, -1);
    assert_int_equal(
        info.enterprises + info.timers + info.outbox + info.notices, 0);
    assert_int_equal(ival(c, "EXISTS %s", k5(LDR_STORE_KEY_COUNTERS)), 0);

    /* The old owner's next step is fenced and writes nothing. */
    tick(p, &out, 2, t + 9 * DAY);
    assert_int_equal(commit(s, p, &out, epoch, 2, 3, err), LDR_ERR_FENCED);
    assert_int_equal(ival(c, "HLEN %s", k5(LDR_STORE_KEY_ENT)), 0);
    /* --force: no heartbeat check. */
    assert_int_equal(
        ldr_store_rebuild(s, 5, -1, &after, &seen, err, sizeof(err)), LDR_OK);
    assert_int_equal(after, epoch + 2);
    /* Nothing stored means offset 0: the owner's step that starts later
     * (the second of two in flight, when the first was not taken) is
     * refused and writes nothing; the one from 0 is taken. */
    assert_int_equal(commit(s, p, &out, after, 2, 3, err), LDR_ERR_FENCED);
    assert_non_null(strstr(err, "next offset is 0"));
    assert_int_equal(ival(c, "HLEN %s", k5(LDR_STORE_KEY_ENT)), 0);
    assert_int_equal(commit(s, p, &out, after, 0, 3, err), LDR_OK);
    assert_int_equal(ival(c, "HGET %s next_offset", k5(LDR_STORE_KEY_META)), 3);

    ldr_machine_out_fini(&out);
    ldr_partition_destroy(p);
    ldr_store_destroy(s);
    redisFree(c);
}

/* The replay ledger: HSETNX semantics for a first replay (a second
 * "only new" write is refused and leaves the first value), an overwrite
 * when asked, and a forgotten letter reads as never replayed. */
static void test_store_replay_ledger(void **state) {
    (void)state;
    char err[512], v[128];
    ldr_store_t *s = ldr_store_new(url, NULL, NULL, 2000, err, sizeof(err));
    if (!s) fail_msg("%s", err);
    const char *l = "ladder.dlq.v1/3/17";
    bool found = true, written = false;
    assert_int_equal(
        ldr_store_replay_get(s, l, v, sizeof(v), &found, err, sizeof(err)),
        LDR_OK);
    assert_false(found);
    assert_int_equal(ldr_store_replay_set(s, l, "pending 1", true, &written,
                                          err, sizeof(err)),
                     LDR_OK);
    assert_true(written);
    assert_int_equal(ldr_store_replay_set(s, l, "pending 2", true, &written,
                                          err, sizeof(err)),
                     LDR_OK);
    assert_false(written);
    assert_int_equal(
        ldr_store_replay_get(s, l, v, sizeof(v), &found, err, sizeof(err)),
        LDR_OK);
    assert_true(found);
    assert_string_equal(v, "pending 1");
    assert_int_equal(ldr_store_replay_set(s, l, "done 3 t/0/5", false, &written,
                                          err, sizeof(err)),
                     LDR_OK);
    assert_true(written);
    redisContext *c = raw();
    redisReply *r = redisCommand(c, "HGET ldr:dlq:replays %s", l);
    assert_string_equal(r->str, "done 3 t/0/5");
    freeReplyObject(r);
    redisFree(c);
    assert_int_equal(ldr_store_replay_forget(s, l, err, sizeof(err)), LDR_OK);
    assert_int_equal(
        ldr_store_replay_get(s, l, v, sizeof(v), &found, err, sizeof(err)),
        LDR_OK);
    assert_false(found);
    ldr_store_destroy(s);
}

static int setup(void **state) {
    (void)state;
    url = getenv("LADDERTEST_REDIS_URL");
    if (!url) fail_msg("run under tests/support/with-stack");
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
        cmocka_unit_test(test_store_step_fence_cas_and_reload),
        cmocka_unit_test(test_store_loaded_partition_sets_counter_values),
        cmocka_unit_test(
            test_store_claim_reloads_the_functions_a_step_failed_in),
        cmocka_unit_test(test_store_stale_epoch_is_fenced_and_writes_nothing),
        cmocka_unit_test(test_store_claim_moves_the_layout_before_placement),
        cmocka_unit_test(test_store_notice_ids_follow_the_log),
        cmocka_unit_test(test_store_unreachable_redis_is_transient),
        cmocka_unit_test(test_store_key_names_and_parses_the_layout),
        cmocka_unit_test(test_store_key_python_mirror_agrees),
        cmocka_unit_test(test_store_heartbeat_info_and_rebuild),
        cmocka_unit_test(test_store_replay_ledger),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
