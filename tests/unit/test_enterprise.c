/* test_enterprise.c -- an enterprise's compact encoding: the decision
 * history's entries written against the entry before (times as
 * differences, causes as the prefix they share, policy versions once),
 * every field read back as it was added, through the 20-entry cap and
 * policy changes; the states earlier versions stored (formats 2 and 3),
 * which still decode; and truncated states, which never do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ladder/enterprise.h"

/* A state as the version before stored it (format 2: every history entry
 * spells out its policy version), from a generated feed. */
static const char format2_hex[] =
    "020233322ae5b8b8e5b79ee9809ae7bf94e4bfa1e681afe68a80e69cafe882a1"
    "e4bbbde69c89e99990e585ace58fb800020aa08edaebc962a08edaebc962a08e"
    "a9af8b68096d6969742d3230323200a08ed08fbe67a08ea9af8b68020c90ede3"
    "acf16490ede3acf16490fdff9db26a096d6969742d323032320090fda6fee469"
    "90fdff9db26a000002b8dd828ffae9ff66afac8984fe8688cc04aa012fea1702"
    "0000a0fef5aac562b00ab4011439313332303530374c30504537324d384e572d"
    "31096d6969742d323032320024ff17000100a08edaebc96213a08edaebc962a0"
    "8ea9af8b680a096d6969742d32303232002ff42300000190ddffebec64b00cb2"
    "011439313332303530374c30504537324d384e572d32096d6969742d32303232"
    "00248b2400010190ede3acf1641390ede3acf16490fdff9db26a0c096d696974"
    "2d3230323200";

/* The same enterprise as format 3 stored it (times and causes spelled
 * out, a policy version repeated as "the oldest entry's"). */
static const char format3_hex[] =
    "030233322ae5b8b8e5b79ee9809ae7bf94e4bfa1e681afe68a80e69cafe882a1"
    "e4bbbde69c89e99990e585ace58fb800020aa08edaebc962a08edaebc962a08e"
    "a9af8b68096d6969742d3230323200a08ed08fbe67a08ea9af8b68020c90ede3"
    "acf16490ede3acf16490fdff9db26a096d6969742d323032320090fda6fee469"
    "90fdff9db26a000002b8dd828ffae9ff66afac8984fe8688cc048f012fea1702"
    "0000a0fef5aac562b00ab4011439313332303530374c30504537324d384e572d"
    "310a6d6969742d32303232001bff17000100a08edaebc96213a08edaebc962a0"
    "8ea9af8b680a000026f42300000190ddffebec64b00cb2011439313332303530"
    "374c30504537324d384e572d3200001b8b2400010190ede3acf1641390ede3ac"
    "f16490fdff9db26a0c0000";

static size_t unhex(const char *hex, uint8_t *out) {
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static void expect_same_history(const ldr_enterprise_t *a,
                                const ldr_enterprise_t *b) {
    assert_int_equal(a->history_count, b->history_count);
    for (int i = 0; i < a->history_count; i++) {
        ldr_history_entry_t x, y;
        assert_int_equal(ldr_enterprise_history_get(a, i, &x), LDR_OK);
        assert_int_equal(ldr_enterprise_history_get(b, i, &y), LDR_OK);
        assert_true(x.offset == y.offset && x.n == y.n);
        assert_int_equal(x.decision, y.decision);
        assert_true(x.effective_at == y.effective_at);
        assert_true(x.has_valid_until == y.has_valid_until &&
                    x.valid_until == y.valid_until);
        assert_int_equal(x.policy_version.len, y.policy_version.len);
        assert_memory_equal(x.policy_version.ptr, y.policy_version.ptr,
                            x.policy_version.len);
        assert_int_equal(x.cause_event_id.len, y.cause_event_id.len);
        assert_memory_equal(x.cause_event_id.ptr, y.cause_event_id.ptr,
                            x.cause_event_id.len);
        assert_int_equal(x.reasons_count, y.reasons_count);
    }
}

static void test_enterprise_reads_format_2(void **state) {
    (void)state;
    uint8_t blob[sizeof(format2_hex) / 2];
    size_t len = unhex(format2_hex, blob);
    assert_int_equal(blob[0], 2);
    ldr_enterprise_t e;
    ldr_enterprise_init(&e, "91320507L0PE72M8NW", 18);
    assert_int_equal(ldr_enterprise_decode(&e, blob, len), LDR_OK);
    assert_true(e.history_count >= 4);
    for (int i = 0; i < e.history_count; i++) {
        ldr_history_entry_t h;
        assert_int_equal(ldr_enterprise_history_get(&e, i, &h), LDR_OK);
        assert_true(ldr_str_eq(h.policy_version, "miit-2022"));
    }
    /* written again in this format: each repeated policy version is one
     * byte, not ten */
    ldr_buf_t b;
    ldr_buf_init(&b);
    ldr_enterprise_encode(&e, &b);
    assert_int_equal((uint8_t)b.data[0], 4);
    print_message("format 2: %zu bytes, format 4: %zu\n", len, b.len);
    assert_true(b.len + (size_t)(e.history_count - 1) * 9 <= len);
    ldr_enterprise_t again;
    ldr_enterprise_init(&again, "91320507L0PE72M8NW", 18);
    assert_int_equal(ldr_enterprise_decode(&again, b.data, b.len), LDR_OK);
    expect_same_history(&e, &again);
    assert_string_equal(again.name, e.name);
    ldr_buf_fini(&b);
    ldr_enterprise_fini(&again);
    ldr_enterprise_fini(&e);
}

static void test_enterprise_reads_format_3(void **state) {
    (void)state;
    uint8_t blob2[sizeof(format2_hex) / 2], blob3[sizeof(format3_hex) / 2];
    size_t len2 = unhex(format2_hex, blob2), len3 = unhex(format3_hex, blob3);
    assert_int_equal(blob3[0], 3);
    ldr_enterprise_t from2, from3;
    ldr_enterprise_init(&from2, "91320507L0PE72M8NW", 18);
    ldr_enterprise_init(&from3, "91320507L0PE72M8NW", 18);
    assert_int_equal(ldr_enterprise_decode(&from2, blob2, len2), LDR_OK);
    assert_int_equal(ldr_enterprise_decode(&from3, blob3, len3), LDR_OK);
    expect_same_history(&from2, &from3);
    ldr_history_entry_t h;
    assert_int_equal(ldr_enterprise_history_get(&from3, 2, &h), LDR_OK);
    assert_int_equal(h.offset, 4596);
    assert_true(ldr_str_eq(h.cause_event_id, "91320507L0PE72M8NW-2"));
    assert_true(ldr_str_eq(h.policy_version, "miit-2022"));
    /* the same state in this format, and smaller */
    ldr_buf_t a, b;
    ldr_buf_init(&a);
    ldr_buf_init(&b);
    ldr_enterprise_encode(&from2, &a);
    ldr_enterprise_encode(&from3, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    print_message("format 3: %zu bytes, format 4: %zu\n", len3, b.len);
    assert_true(b.len + 30 <= len3);
    ldr_buf_fini(&a);
    ldr_buf_fini(&b);
    ldr_enterprise_fini(&from2);
    ldr_enterprise_fini(&from3);
}

/* Each field of an entry reads back as it was added, whatever the entry
 * before it: times earlier and later, whole seconds or not, far apart;
 * causes sharing all, some or none of the cause before (or of the USCC),
 * as long as the contract allows; the policy version changing back and
 * forth. Then every truncation of the encoded state is refused. */
static void test_enterprise_history_fields_round_trip(void **state) {
    (void)state;
    char long_id[129];
    memset(long_id, 'x', 128);
    long_id[128] = '\0';
    static const struct {
        int64_t offset, effective_at, valid_from, valid_until;
        const char *cause, *policy, *case_id;
    } rows[] = {
        {7, 1654041600000LL, 1654041600000LL, 1748736000000LL,
         "91440300MA5F0XYZ1T-1", "miit-2022", NULL},
        {9, 1654041600001LL, -1, 1654041599999LL, "91440300MA5F0XYZ1T-12",
         "miit-2022", "SZ-1"},
        {9, 1554041600000LL, 1, -5, "91440300MA5F0XYZ1T", "miit-2025", NULL},
        {1000000007, 4102444800123LL, -1, -1, NULL, "miit-2022", NULL},
        {3, -86400000LL, 0, 4102444800000LL, "a", "", NULL},
        {3, 0, -1, -1, NULL, "miit-2025", "c"},
        {12, 1, 2, 3, "LONG", "miit-2025", NULL},
        {12, 1, 2, 3, "LONG", "miit-2025", NULL},
        {13, 1234567, -1, -1, "b", "miit-2022", NULL},
        /* a cause that shares a prefix with an earlier one (and the USCC)
         * but not with the one just before: written against the latest */
        {14, 1234567, -1, -1, "91440300MA5F0XYZ1T-3", "miit-2022", NULL},
        {15, 1234567, -1, -1, "zz-other-cause", "miit-2022", NULL},
        {16, 1234567, -1, -1, "91440300MA5F0XYZ1T-4", "miit-2022", NULL},
    };
    enum { N = sizeof(rows) / sizeof(rows[0]) };
    ldr_enterprise_t e;
    ldr_enterprise_init(&e, "91440300MA5F0XYZ1T", 18);
    for (int i = 0; i < N; i++) {
        ldr_history_entry_t h;
        memset(&h, 0, sizeof(h));
        h.offset = rows[i].offset;
        h.n = i % 3;
        h.decision = LDR_DECISION_DESIGNATED;
        h.has_tier = i % 2;
        h.tier = LDR_TIER_SPECIALIZED;
        h.effective_at = rows[i].effective_at;
        h.has_valid_from = rows[i].valid_from != -1;
        h.valid_from = rows[i].valid_from;
        h.has_valid_until = rows[i].valid_until != -1;
        h.valid_until = rows[i].valid_until;
        h.has_score = true;
        h.score = -i;
        if (rows[i].case_id) h.case_id = ldr_str(rows[i].case_id);
        if (rows[i].cause)
            h.cause_event_id = ldr_str(
                strcmp(rows[i].cause, "LONG") ? rows[i].cause : long_id);
        h.policy_version = ldr_str(rows[i].policy);
        h.reasons_count = 1;
        h.reasons[0] = ldr_str("IN.SCORE");
        ldr_enterprise_history_add(&e, &h);
    }
    ldr_buf_t b;
    ldr_buf_init(&b);
    ldr_enterprise_encode(&e, &b);
    ldr_enterprise_t copy;
    ldr_enterprise_init(&copy, e.uscc, 18);
    assert_int_equal(ldr_enterprise_decode(&copy, b.data, b.len), LDR_OK);
    const ldr_enterprise_t *both[] = {&e, &copy};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(both[k]->history_count, N);
        for (int i = 0; i < N; i++) {
            ldr_history_entry_t g;
            assert_int_equal(ldr_enterprise_history_get(both[k], i, &g),
                             LDR_OK);
            assert_int_equal(g.offset, rows[i].offset);
            assert_int_equal(g.n, i % 3);
            assert_int_equal(g.has_tier, i % 2);
            assert_true(g.effective_at == rows[i].effective_at);
            assert_int_equal(g.has_valid_from, rows[i].valid_from != -1);
            if (g.has_valid_from)
                assert_true(g.valid_from == rows[i].valid_from);
            assert_int_equal(g.has_valid_until, rows[i].valid_until != -1);
            if (g.has_valid_until)
                assert_true(g.valid_until == rows[i].valid_until);
            assert_int_equal(g.score, -i);
            const char *cause = !rows[i].cause                  ? ""
                                : strcmp(rows[i].cause, "LONG") ? rows[i].cause
                                                                : long_id;
            assert_int_equal(g.cause_event_id.len, strlen(cause));
            assert_memory_equal(g.cause_event_id.ptr, cause, strlen(cause));
            assert_true(ldr_str_eq(g.policy_version, rows[i].policy));
            assert_true(
                ldr_str_eq(g.case_id, rows[i].case_id ? rows[i].case_id : ""));
            assert_true(g.reasons_count == 1 &&
                        ldr_str_eq(g.reasons[0], "IN.SCORE"));
        }
    }
    /* a state cut short anywhere does not decode */
    for (size_t cut = 0; cut < b.len; cut++) {
        ldr_enterprise_t t;
        ldr_enterprise_init(&t, e.uscc, 18);
        assert_int_equal(ldr_enterprise_decode(&t, b.data, cut),
                         LDR_ERR_DECODE_FAILED);
        ldr_enterprise_fini(&t);
    }
    /* times beyond +-2^60 ms are kept at that bound, and still decode */
    ldr_enterprise_t x;
    ldr_enterprise_init(&x, e.uscc, 18);
    ldr_history_entry_t h;
    memset(&h, 0, sizeof(h));
    h.effective_at = INT64_MAX;
    h.has_valid_until = true;
    h.valid_until = INT64_MIN;
    ldr_enterprise_history_add(&x, &h);
    ldr_buf_reset(&b);
    ldr_enterprise_encode(&x, &b);
    ldr_enterprise_fini(&x);
    ldr_enterprise_init(&x, e.uscc, 18);
    assert_int_equal(ldr_enterprise_decode(&x, b.data, b.len), LDR_OK);
    assert_int_equal(ldr_enterprise_history_get(&x, 0, &h), LDR_OK);
    assert_true(h.effective_at == (int64_t)1 << 60);
    assert_true(h.valid_until == -((int64_t)1 << 60));
    ldr_enterprise_fini(&x);
    ldr_buf_fini(&b);
    ldr_enterprise_fini(&copy);
    ldr_enterprise_fini(&e);
}

/* An entry is written against the one before: after an add, the next is
 * written against what that add kept; after a decode, against what a read
 * of the history finds. Both must write the same bytes, through policy
 * changes, causes with and without a shared prefix, timers (no cause)
 * and the drop of the oldest entry past the cap. */
static void
test_enterprise_history_add_after_decode_writes_the_same(void **state) {
    (void)state;
    static const char *policies[] = {"miit-2022", "miit-2022", "miit-2025",
                                     "miit-2025", "",          "miit-2022"};
    static const char *causes[] = {"91440300MA5F0XYZ1T-1", NULL,
                                   "91440300MA5F0XYZ1T-12", "other-7",
                                   "91440300MA5F0XYZ1T-13"};
    ldr_enterprise_t kept;
    ldr_enterprise_init(&kept, "91440300MA5F0XYZ1T", 18);
    ldr_buf_t a, b;
    ldr_buf_init(&a);
    ldr_buf_init(&b);
    for (int i = 0; i < 2 * LDR_ENTERPRISE_HISTORY_MAX + 3; i++) {
        ldr_history_entry_t h;
        memset(&h, 0, sizeof(h));
        h.offset = 100 + 7 * i;
        h.n = i % 2;
        h.decision = LDR_DECISION_RENEWED;
        h.effective_at = INT64_C(1654041600000) + (int64_t)i * 86400123;
        h.has_valid_until = i % 3 == 0;
        h.valid_until = h.effective_at + INT64_C(94608000000);
        const char *cause = causes[i % 5];
        if (cause) h.cause_event_id = ldr_str(cause);
        h.policy_version = ldr_str(policies[i % 6]);
        /* the same entry, to the enterprise that kept its context and to a
         * fresh decode of what it held before */
        ldr_buf_reset(&a);
        ldr_enterprise_encode(&kept, &a);
        ldr_enterprise_t fresh;
        ldr_enterprise_init(&fresh, kept.uscc, 18);
        assert_int_equal(ldr_enterprise_decode(&fresh, a.data, a.len), LDR_OK);
        ldr_enterprise_history_add(&kept, &h);
        ldr_enterprise_history_add(&fresh, &h);
        ldr_buf_reset(&a);
        ldr_buf_reset(&b);
        ldr_enterprise_encode(&kept, &a);
        ldr_enterprise_encode(&fresh, &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        ldr_enterprise_fini(&fresh);
    }
    assert_int_equal(kept.history_count, LDR_ENTERPRISE_HISTORY_MAX);
    ldr_buf_fini(&a);
    ldr_buf_fini(&b);
    ldr_enterprise_fini(&kept);
}

/* 30 decisions under three policy versions in runs (A x8, B x10, A x12):
 * the last 20 keep theirs, whichever entry is the oldest after each drop,
 * in memory and through the encoding. */
static void test_enterprise_history_policies_through_the_cap(void **state) {
    (void)state;
    static const char *const policy[] = {"miit-2022", "miit-2025"};
    ldr_enterprise_t e;
    ldr_enterprise_init(&e, "91440300MA5F0XYZ1T", 18);
    int used[30];
    for (int i = 0; i < 30; i++) {
        used[i] = i < 8 ? 0 : i < 18 ? 1 : 0;
        char cause[16];
        snprintf(cause, sizeof(cause), "ev-%d", i);
        ldr_history_entry_t h;
        memset(&h, 0, sizeof(h));
        h.offset = i;
        h.decision = LDR_DECISION_DESIGNATED;
        h.effective_at = 1654041600000LL + i;
        h.cause_event_id = ldr_str(cause);
        h.policy_version = ldr_str(policy[used[i]]);
        ldr_enterprise_history_add(&e, &h);
        int kept = i + 1 < LDR_ENTERPRISE_HISTORY_MAX
                       ? i + 1
                       : LDR_ENTERPRISE_HISTORY_MAX;
        assert_int_equal(e.history_count, kept);
        for (int k = 0; k < kept; k++) {
            int at = i + 1 - kept + k;
            ldr_history_entry_t g;
            assert_int_equal(ldr_enterprise_history_get(&e, k, &g), LDR_OK);
            assert_int_equal(g.offset, at);
            if (!ldr_str_eq(g.policy_version, policy[used[at]]))
                fail_msg("after %d decisions, entry %d: policy %.*s, want %s",
                         i + 1, k, (int)g.policy_version.len,
                         g.policy_version.ptr, policy[used[at]]);
        }
    }
    ldr_buf_t b;
    ldr_buf_init(&b);
    ldr_enterprise_encode(&e, &b);
    ldr_enterprise_t copy;
    ldr_enterprise_init(&copy, "91440300MA5F0XYZ1T", 18);
    assert_int_equal(ldr_enterprise_decode(&copy, b.data, b.len), LDR_OK);
    expect_same_history(&e, &copy);
    ldr_buf_fini(&b);
    ldr_enterprise_fini(&copy);
    ldr_enterprise_fini(&e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enterprise_reads_format_2),
        cmocka_unit_test(test_enterprise_reads_format_3),
        cmocka_unit_test(test_enterprise_history_fields_round_trip),
        cmocka_unit_test(test_enterprise_history_policies_through_the_cap),
        cmocka_unit_test(
            test_enterprise_history_add_after_decode_writes_the_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
