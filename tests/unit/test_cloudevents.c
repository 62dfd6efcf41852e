/* test_cloudevents.c -- a decision as a CloudEvents structured JSON event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ladder/cloudevents.h"
#include <jansson.h>
#include "ladder/decision.h"

#include <stdlib.h>
#include <string.h>

static ldr_decision_t sample(void) {
    ldr_decision_t d = {0};
    d.decision_id = ldr_str("3-17-0");
    d.uscc = ldr_str("91350200MA2YN5GX1A");
    d.enterprise_name = ldr_str("厦门精密传感科技有限公司");
    /* not NUL-terminated in a decoded record: only the first 4 bytes */
    d.reporting_unit = (ldr_str_t){"3502XXXX", 4};
    d.has_tier = true;
    d.tier = LDR_TIER_SPECIALIZED;
    d.decision = LDR_DECISION_REVOKED;
    d.reasons_count = 1;
    d.reasons[0] = ldr_str("VIOLATION.SAFETY_ACCIDENT");
    d.effective_at = INT64_C(1654041600250); /* 2022-06-01T00:00:00.250Z */
    d.policy_version = ldr_str("miit-2022");
    d.cause = ldr_str("ladder.events.v1/3/17");
    d.decided_at = INT64_C(1654041601000);
    return d;
}

static void test_cloudevents_attributes_and_data(void **state) {
    (void)state;
    ldr_decision_t d = sample();
    json_t *ev = ldr_cloudevents_from_decision(&d);
    assert_string_equal(json_string_value(json_object_get(ev, "specversion")),
                        "1.0");
    assert_string_equal(json_string_value(json_object_get(ev, "id")), "3-17-0");
    assert_string_equal(json_string_value(json_object_get(ev, "type")),
                        "ladder.decision.REVOKED");
    assert_string_equal(json_string_value(json_object_get(ev, "source")),
                        "ladder/3502");
    assert_string_equal(json_string_value(json_object_get(ev, "time")),
                        "2022-06-01T00:00:00.250Z");
    assert_string_equal(
        json_string_value(json_object_get(ev, "datacontenttype")),
        "application/json");
    json_t *form = ldr_decision_to_json(&d);
    assert_true(json_equal(json_object_get(ev, "data"), form));
    json_decref(form);
    json_decref(ev);
}

/* The attributes come first, in a fixed order, and the same decision
 * always gives the same bytes (what the signature is computed over). */
static void test_cloudevents_stable_bytes(void **state) {
    (void)state;
    ldr_decision_t d = sample();
    json_t *a = ldr_cloudevents_from_decision(&d);
    json_t *b = ldr_cloudevents_from_decision(&d);
    char *sa = json_dumps(a, JSON_COMPACT);
    char *sb = json_dumps(b, JSON_COMPACT);
    assert_string_equal(sa, sb);
    const char *prefix =
        "{\"specversion\":\"1.0\",\"id\":\"3-17-0\",\"type\":\"ladder.decision."
        "REVOKED\",\"source\":\"ladder/3502\",\"time\":\"2022-06-01T00:00:00."
        "250Z\",\"datacontenttype\":\"application/json\",\"data\":{"
        "\"decision_id\":\"3-17-0\",";
    assert_memory_equal(sa, prefix, strlen(prefix));
    free(sa);
    free(sb);
    json_decref(a);
    json_decref(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cloudevents_attributes_and_data),
        cmocka_unit_test(test_cloudevents_stable_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
