/* test_enterprise.c -- an enterprise's compact encoding: the decision
 * history's policy versions written once for the entries that repeat the
 * oldest entry's, through the 20-entry cap and policy changes, and the
 * states the version before stored (format 2), which still decode. */
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
    assert_int_equal((uint8_t)b.data[0], 3);
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
        cmocka_unit_test(test_enterprise_history_policies_through_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
