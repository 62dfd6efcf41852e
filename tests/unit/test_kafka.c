/* test_kafka.c -- the one builder of Kafka client configurations
 * (io/kafka.h): kafka.* keys reach librdkafka unchanged, what it refuses is
 * one line naming the key and its source, and the contract's producer
 * settings cannot be configured away. No broker is needed: librdkafka
 * checks properties when they are set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ladder/alloc.h"
#include "ladder/kafka.h"

#include "../support/config_fixtures.h"

/* The value librdkafka holds for @p prop, or "" when unset. */
static const char *conf_value(rd_kafka_conf_t *conf, const char *prop) {
    static char value[256];
    size_t size = sizeof(value);
    if (rd_kafka_conf_get(conf, prop, value, &size) != RD_KAFKA_CONF_OK)
        value[0] = '\0';
    return value;
}

static void test_kafka_conf_apply_sets_properties(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    char *envp[] = {"LADDER_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:39092",
                    "LADDER_KAFKA_LINGER_MS=20", NULL};
    assert_int_equal(load_env(cfg, envp), LDR_OK);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(ldr_kafka_conf_apply(cfg, conf, errstr, sizeof(errstr)),
                     LDR_OK);
    char value[256];
    size_t size = sizeof(value);
    assert_int_equal(rd_kafka_conf_get(conf, "bootstrap.servers", value, &size),
                     RD_KAFKA_CONF_OK);
    assert_string_equal(value, "127.0.0.1:39092");
    size = sizeof(value);
    assert_int_equal(rd_kafka_conf_get(conf, "linger.ms", value, &size),
                     RD_KAFKA_CONF_OK);
    assert_string_equal(value, "20");
    /* group.id is the consumer code's to set, from the group.id key. */
    size = sizeof(value);
    if (rd_kafka_conf_get(conf, "group.id", value, &size) == RD_KAFKA_CONF_OK)
        assert_string_not_equal(value, "ladder-worker");
    rd_kafka_conf_destroy(conf);
    ldr_config_destroy(cfg);
}

static void test_kafka_conf_apply_rejects_invalid_property(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    assert_int_equal(load_fixture(cfg, "kafka_invalid.conf"), LDR_OK);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(ldr_kafka_conf_apply(cfg, conf, errstr, sizeof(errstr)),
                     LDR_ERR_CONFIG);
    assert_contains(errstr, "kafka_invalid.conf:3: kafka.no.such.property: "
                            "librdkafka refused it: ");
    assert_contains(errstr, "no.such.property");
    assert_null(strchr(errstr, '\n'));
    rd_kafka_conf_destroy(conf);

    /* From the environment, the message names the variable and the key. */
    ldr_config_t *env_cfg = ldr_config_new("ladder-worker");
    char *envp[] = {"LADDER_KAFKA_LINGER_MS=soon", NULL};
    assert_int_equal(load_env(env_cfg, envp), LDR_OK);
    conf = rd_kafka_conf_new();
    assert_int_equal(
        ldr_kafka_conf_apply(env_cfg, conf, errstr, sizeof(errstr)),
        LDR_ERR_CONFIG);
    assert_contains(errstr, "environment: LADDER_KAFKA_LINGER_MS: ");
    assert_contains(errstr, "kafka.linger.ms");
    rd_kafka_conf_destroy(conf);
    ldr_config_destroy(env_cfg);
    ldr_config_destroy(cfg);
}

static void
test_kafka_conf_new_producer_has_the_contract_settings(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    char *envp[] = {"LADDER_KAFKA_LINGER_MS=5", NULL};
    assert_int_equal(load_env(cfg, envp), LDR_OK);
    static const ldr_kafka_prop_t mine[] = {{"linger.ms", "50"},
                                            {"batch.num.messages", "77"}};
    rd_kafka_conf_t *conf = ldr_kafka_conf_new(cfg, LDR_KAFKA_PRODUCER, mine, 2,
                                               errstr, sizeof(errstr));
    assert_non_null(conf);
    assert_string_equal(conf_value(conf, "enable.idempotence"), "true");
    assert_string_equal(conf_value(conf, "partitioner"), "murmur2_random");
    assert_string_equal(conf_value(conf, "client.id"), "ladder-worker");
    /* the caller's defaults beat ladder's, a kafka.* key beats both */
    assert_string_equal(conf_value(conf, "batch.num.messages"), "77");
    assert_string_equal(conf_value(conf, "linger.ms"), "5");
    rd_kafka_conf_destroy(conf);
    ldr_config_destroy(cfg);
}

static void test_kafka_conf_new_refuses_another_partitioner(void **state) {
    (void)state;
    static const char *const bad[][2] = {
        {"LADDER_KAFKA_PARTITIONER=consistent_random", "kafka.partitioner"},
        {"LADDER_KAFKA_ENABLE_IDEMPOTENCE=false", "kafka.enable.idempotence"}};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(bad); i++) {
        ldr_config_t *cfg = ldr_config_new("ladder-feed");
        char *envp[] = {(char *)bad[i][0], NULL};
        assert_int_equal(load_env(cfg, envp), LDR_OK);
        for (int role = LDR_KAFKA_PRODUCER; role <= LDR_KAFKA_TOOL_PRODUCER;
             role++) {
            assert_null(ldr_kafka_conf_new(cfg, (ldr_kafka_role_t)role, NULL, 0,
                                           errstr, sizeof(errstr)));
            assert_contains(errstr, bad[i][1]);
            assert_contains(errstr, "CONTRACT.md");
        }
        ldr_config_destroy(cfg);
    }
}

static void test_kafka_conf_new_consumer_joins_the_group(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-notify");
    rd_kafka_conf_t *conf = ldr_kafka_conf_new(cfg, LDR_KAFKA_CONSUMER, NULL, 0,
                                               errstr, sizeof(errstr));
    assert_non_null(conf);
    assert_string_equal(conf_value(conf, "group.id"), "ladder-notify");
    assert_string_equal(conf_value(conf, "partition.assignment.strategy"),
                        "range");
    /* librdkafka names "earliest" by its older name */
    assert_string_equal(conf_value(conf, "auto.offset.reset"), "smallest");
    rd_kafka_conf_destroy(conf);
    ldr_config_destroy(cfg);
}

/* The SASL_SSL example of docs/SECURITY.md, as variables: every property
 * reaches librdkafka, for every client role, and librdkafka accepts it. */
static void test_kafka_conf_new_takes_sasl_ssl(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    char *envp[] = {"LADDER_KAFKA_SECURITY_PROTOCOL=SASL_SSL",
                    "LADDER_KAFKA_SASL_MECHANISMS=SCRAM-SHA-512",
                    "LADDER_KAFKA_SASL_USERNAME=ladder-worker",
                    "LADDER_KAFKA_SASL_PASSWORD=S4sl-Pw-6021",
                    "LADDER_KAFKA_SSL_CA_LOCATION=/etc/ssl/certs/"
                    "ca-certificates.crt",
                    NULL};
    assert_int_equal(load_env(cfg, envp), LDR_OK);
    for (int role = LDR_KAFKA_PRODUCER; role <= LDR_KAFKA_CONSUMER; role++) {
        rd_kafka_conf_t *conf = ldr_kafka_conf_new(
            cfg, (ldr_kafka_role_t)role, NULL, 0, errstr, sizeof(errstr));
        assert_non_null(conf);
        assert_string_equal(conf_value(conf, "security.protocol"), "sasl_ssl");
        assert_string_equal(conf_value(conf, "sasl.mechanisms"),
                            "SCRAM-SHA-512");
        assert_string_equal(conf_value(conf, "sasl.username"), "ladder-worker");
        assert_string_equal(conf_value(conf, "sasl.password"), "S4sl-Pw-6021");
        assert_string_equal(conf_value(conf, "ssl.ca.location"),
                            "/etc/ssl/certs/ca-certificates.crt");
        rd_kafka_conf_destroy(conf);
    }
    ldr_config_destroy(cfg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kafka_conf_apply_sets_properties),
        cmocka_unit_test(test_kafka_conf_apply_rejects_invalid_property),
        cmocka_unit_test(
            test_kafka_conf_new_producer_has_the_contract_settings),
        cmocka_unit_test(test_kafka_conf_new_refuses_another_partitioner),
        cmocka_unit_test(test_kafka_conf_new_consumer_joins_the_group),
        cmocka_unit_test(test_kafka_conf_new_takes_sasl_ssl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
