/* test_webhook.c -- webhook signatures (HMAC-SHA256, body-only and
 * timestamped) and the loopback test for plain-HTTP webhook hosts. The
 * expected digests were computed with Python's hmac module, the same code
 * as the receiver example of docs/NOTIFY.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ladder/webhook.h"

#include <string.h>

static const char secret[] = "0123456789abcdef0123456789abcdef";
static const char body[] = "{\"id\":\"3-17-0\"}";

/* RFC 4231, test case 2: the body-only signature is plain HMAC-SHA256. */
static void test_webhook_v1_is_hmac_sha256(void **state) {
    (void)state;
    char hex[LDR_WEBHOOK_HEX_SIZE];
    static const char data[] = "what do ya want for nothing?";
    ldr_webhook_sign_v1("Jefe", data, strlen(data), hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c7"
                             "5a003f089d2739839dec58b964ec3843");
    ldr_webhook_sign_v1(secret, body, strlen(body), hex);
    assert_string_equal(hex, "9d4d73a638351d83c208f729d0d3b87d"
                             "35e36758f862899a6286dddbd5fa6c3d");
}

/* V2 signs "<timestamp>.<body>": another second, another signature. */
static void test_webhook_v2_signs_timestamp_and_body(void **state) {
    (void)state;
    char hex[LDR_WEBHOOK_HEX_SIZE];
    ldr_webhook_sign_v2(secret, 1700000000, body, strlen(body), hex);
    assert_string_equal(hex, "969d2a3f452aee779973dc38de45b460"
                             "53818acfc31c564d39d6455cea53af24");
    ldr_webhook_sign_v2(secret, 1700000001, body, strlen(body), hex);
    assert_string_equal(hex, "a2ec8abaeea89ff6321a77e099df0027"
                             "4d9b8ee03d11c67927f3490f79fae7af");
    ldr_webhook_sign_v2(secret, 0, "", 0, hex);
    assert_string_equal(hex, "b5b3fbed5b59d925316d6d39db497aba"
                             "70820961dda53dfe23a87559dab1eb6b");
}

static void test_webhook_loopback_hosts(void **state) {
    (void)state;
    static const struct {
        const char *host;
        bool loopback;
    } cases[] = {
        {"localhost", true},
        {"LocalHost", true},
        {"localhost.", true},
        {"127.0.0.1", true},
        {"127.255.3.4", true},
        {"[::1]", true},
        {"::1", true},
        {"[0:0:0:0:0:0:0:1]", true},
        {"192.0.2.1", false},
        {"128.0.0.1", false},
        {"10.0.0.1", false},
        {"[::2]", false},
        {"[::ffff:127.0.0.1]", false},
        {"localhost.example.com", false},
        {"127.0.0.1.example.com", false},
        {"example.com", false},
        {"", false},
        {"[]", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (ldr_webhook_host_is_loopback(cases[i].host) != cases[i].loopback)
            fail_msg("%s: want %s", cases[i].host,
                     cases[i].loopback ? "loopback" : "not loopback");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webhook_v1_is_hmac_sha256),
        cmocka_unit_test(test_webhook_v2_signs_timestamp_and_body),
        cmocka_unit_test(test_webhook_loopback_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
