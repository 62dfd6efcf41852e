/* test_config.c -- configuration sources, validation, errors and the
 * generated reference.
 *
 * Every error test checks the one line a user would see: it must name the
 * file (or variable), the line and the key. The fixture files live in
 * tests/fixtures/config/.
 *
 * The same program regenerates the checked-in generated files when run from
 * the repository root as
 *     test_config --write-reference docs/CONFIG.md \
 *                 --write-sample deploy/config/ladder.conf.sample
 * and test_config_reference_is_current / test_config_sample_is_current fail
 * until that has been done after a change to the key table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ladder/config.h"

#include "../support/config_fixtures.h"

/* A file error must name the file, the line and the key. */
static void check_file_error(const char *name, const char *line,
                             const char *key, const char *reason) {
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    assert_int_equal(load_fixture(cfg, name), LDR_ERR_CONFIG);
    char where[256];
    snprintf(where, sizeof(where), "%s:%s: %s", name, line, key);
    assert_contains(errstr, where);
    assert_contains(errstr, reason);
    assert_null(strchr(errstr, '\n'));
    ldr_config_destroy(cfg);
}

/* ---- defaults --------------------------------------------------------- */

/* The subscribers of ladder-notify are the names given to
 * notify.subscriber.*.url, from any source; the defaults of the other "*"
 * keys apply to each name. */
static void each_collect(void *opaque, const char *key, const char *value) {
    char *acc = opaque;
    size_t n = strlen(acc);
    snprintf(acc + n, 512 - n, "%s=%s;", key, value);
}

static void test_config_each_star_key(void **state) {
    (void)state;
    char err[256], acc[512] = "";
    char *env[] = {"LADDER_NOTIFY_SUBSCRIBER_BANK_B_URL=http://b/", NULL};
    ldr_config_t *cfg = ldr_config_new("ladder-notify");
    assert_int_equal(
        ldr_config_each(cfg, "notify.subscriber.*.url", NULL, NULL), 0);
    assert_int_equal(ldr_config_set(cfg, "notify.subscriber.a.url", "http://a/",
                                    NULL, err, sizeof(err)),
                     LDR_OK);
    assert_int_equal(ldr_config_set(cfg, "notify.subscriber.a.secret", "s",
                                    NULL, err, sizeof(err)),
                     LDR_OK);
    assert_int_equal(ldr_config_load_env(cfg, env, err, sizeof(err)), LDR_OK);
    assert_int_equal(
        ldr_config_each(cfg, "notify.subscriber.*.url", each_collect, acc), 2);
    assert_string_equal(acc, "notify.subscriber.a.url=http://a/;"
                             "notify.subscriber.bank_b.url=http://b/;");
    assert_string_equal(ldr_config_get(cfg, "notify.subscriber.a.decisions"),
                        "REVOKED,CANCELLED,EXPIRED");
    assert_null(ldr_config_get(cfg, "notify.subscriber.bank_b.secret"));
    ldr_config_destroy(cfg);
}

static void test_config_defaults(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-feed");
    assert_string_equal(ldr_config_program(cfg), "ladder-feed");
    assert_string_equal(ldr_config_get(cfg, "input.topic"), "ladder.events.v1");
    assert_string_equal(ldr_config_get(cfg, "decisions.topic"),
                        "ladder.decisions.v1");
    assert_string_equal(ldr_config_get(cfg, "dlq.topic"), "ladder.dlq.v1");
    assert_string_equal(ldr_config_get(cfg, "redis.url"),
                        "redis://127.0.0.1:6379/0");
    assert_null(ldr_config_get(cfg, "redis.password"));
    assert_null(ldr_config_get(cfg, "schema.registry.url"));
    assert_string_equal(ldr_config_get(cfg, "policy.dir"), "deploy/policy");
    assert_string_equal(ldr_config_get(cfg, "schemas.dir"), "schemas");
    assert_string_equal(ldr_config_get(cfg, "units.file"),
                        "deploy/data/reporting_units.csv");
    assert_int_equal(ldr_config_get_int(cfg, "clock.tick.interval.ms"), 0);
    assert_int_equal(ldr_config_get_int(cfg, "clock.max.skew.days"), 400);
    assert_string_equal(ldr_config_get(cfg, "log.level"), "info");
    assert_true(ldr_config_get_bool(cfg, "log.timestamps"));
    assert_null(ldr_config_get(cfg, "kafka.bootstrap.servers"));
    assert_string_equal(ldr_config_origin(cfg, "input.topic"), "default");
    ldr_config_destroy(cfg);
    ldr_config_destroy(NULL);
}

static void test_config_per_program_defaults(void **state) {
    (void)state;
    static const struct {
        const char *program, *group, *listen;
    } cases[] = {
        {"ladder-worker", "ladder-worker", "127.0.0.1:9464"},
        {"ladder-api", NULL, "127.0.0.1:8080"},
        {"ladder-notify", "ladder-notify", "127.0.0.1:9465"},
        {"ladder-feed", NULL, NULL},
        {"ladder-gen", NULL, NULL},
        {"ladder-policy", NULL, NULL},
        {"ladder-bench", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ldr_config_t *cfg = ldr_config_new(cases[i].program);
        const char *group = ldr_config_get(cfg, "group.id");
        const char *listen = ldr_config_get(cfg, "http.listen");
        if (cases[i].group)
            assert_string_equal(group, cases[i].group);
        else
            assert_null(group);
        if (cases[i].listen)
            assert_string_equal(listen, cases[i].listen);
        else
            assert_null(listen);
        ldr_config_destroy(cfg);
    }
}

/* ---- the file --------------------------------------------------------- */

static void test_config_file_values(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    assert_int_equal(load_fixture(cfg, "good.conf"), LDR_OK);
    assert_string_equal(ldr_config_get(cfg, "redis.url"),
                        "redis://10.0.0.5:6379/2");
    assert_int_equal(ldr_config_get_int(cfg, "clock.max.skew.days"), 30);
    assert_string_equal(ldr_config_get(cfg, "redis.password"), "s3cr#t");
    assert_string_equal(ldr_config_get(cfg, "http.listen"), "[::1]:9500");
    assert_string_equal(ldr_config_get(cfg, "log.level"), "debug");
    assert_false(ldr_config_get_bool(cfg, "log.timestamps"));
    /* Untouched keys keep their defaults. */
    assert_string_equal(ldr_config_get(cfg, "group.id"), "ladder-worker");
    ldr_config_destroy(cfg);
}

static void test_config_unknown_key_in_file(void **state) {
    (void)state;
    check_file_error("unknown_key.conf", "4", "redis.urll",
                     "unknown key (did you mean redis.url?)");
}

static void test_config_bad_number(void **state) {
    (void)state;
    check_file_error("bad_number.conf", "3", "clock.max.skew.days",
                     "\"abc\" is not a whole number (expected 1..36500)");
}

static void test_config_out_of_bounds_number(void **state) {
    (void)state;
    check_file_error("out_of_bounds.conf", "3", "clock.max.skew.days",
                     "36501 is out of range (expected 1..36500)");
    /* Past what a long long holds is out of range too, not wrapped. */
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    assert_int_equal(ldr_config_set(cfg, "clock.tick.interval.ms",
                                    "99999999999999999999", NULL, errstr,
                                    sizeof(errstr)),
                     LDR_ERR_CONFIG);
    assert_contains(errstr, "command line: clock.tick.interval.ms: ");
    assert_contains(errstr, "out of range");
    assert_int_equal(ldr_config_set(cfg, "clock.tick.interval.ms", "-1", NULL,
                                    errstr, sizeof(errstr)),
                     LDR_ERR_CONFIG);
    assert_contains(errstr, "-1 is out of range");
    assert_int_equal(ldr_config_set(cfg, "clock.max.skew.days", "12x", NULL,
                                    errstr, sizeof(errstr)),
                     LDR_ERR_CONFIG);
    assert_contains(errstr, "\"12x\" is not a whole number");
    assert_int_equal(ldr_config_get_int(cfg, "clock.max.skew.days"), 400);
    assert_int_equal(ldr_config_set(cfg, "clock.max.skew.days", "36500", NULL,
                                    errstr, sizeof(errstr)),
                     LDR_OK);
    assert_int_equal(ldr_config_get_int(cfg, "clock.max.skew.days"), 36500);
    ldr_config_destroy(cfg);
}

static void test_config_bad_bool(void **state) {
    (void)state;
    check_file_error("bad_bool.conf", "3", "log.timestamps",
                     "\"maybe\" is not a boolean");
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    static const char *const falses[] = {"false", "no", "off", "0", "FALSE"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(ldr_config_set(cfg, "log.timestamps", falses[i], NULL,
                                        errstr, sizeof(errstr)),
                         LDR_OK);
        assert_false(ldr_config_get_bool(cfg, "log.timestamps"));
        assert_int_equal(ldr_config_set(cfg, "log.timestamps", "yes", NULL,
                                        errstr, sizeof(errstr)),
                         LDR_OK);
        assert_true(ldr_config_get_bool(cfg, "log.timestamps"));
    }
    ldr_config_destroy(cfg);
}

static void test_config_bad_enum(void **state) {
    (void)state;
    check_file_error("bad_enum.conf", "2", "log.level",
                     "\"verbose\" is not one of error, warn, info, debug");
}

static void test_config_bad_listen_address(void **state) {
    (void)state;
    check_file_error("bad_listen.conf", "3", "http.listen",
                     "\"localhost\" is not a host:port address");
    static const char *const bad[] = {
        ":8080",         "127.0.0.1:",   "127.0.0.1:0", "127.0.0.1:65536",
        "127.0.0.1:80x", "::1:8080",     "[::1]8080",   "[]:8080",
        "my host:8080",  "127.0.0.1:-1",
    };
    static const char *const good[] = {"127.0.0.1:1", "localhost:65535",
                                       "[::1]:8080", "0.0.0.0:9464"};
    ldr_config_t *cfg = ldr_config_new("ladder-api");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ldr_config_set(cfg, "http.listen", bad[i], NULL, errstr,
                           sizeof(errstr)) != LDR_ERR_CONFIG)
            fail_msg("http.listen accepted \"%s\"", bad[i]);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (ldr_config_set(cfg, "http.listen", good[i], NULL, errstr,
                           sizeof(errstr)) != LDR_OK)
            fail_msg("http.listen refused \"%s\": %s", good[i], errstr);
        assert_string_equal(ldr_config_get(cfg, "http.listen"), good[i]);
    }
    ldr_config_destroy(cfg);
}

static void test_config_missing_file(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    assert_int_equal(load_fixture(cfg, "does-not-exist.conf"), LDR_ERR_CONFIG);
    assert_contains(errstr, "config file '");
    assert_contains(errstr, "does-not-exist.conf': No such file or directory");
    /* A directory opens but cannot be read: the same kind of error. */
    assert_int_equal(load_fixture(cfg, ""), LDR_ERR_CONFIG);
    assert_contains(errstr, "config file '");
    assert_contains(errstr, "Is a directory");
    ldr_config_destroy(cfg);
}

static void test_config_line_without_equals(void **state) {
    (void)state;
    check_file_error("no_equals.conf", "4", "redis.url",
                     "no '=' in \"redis.url ***\" (expected key = value)");
}

static void test_config_duplicate_key(void **state) {
    (void)state;
    check_file_error("duplicate.conf", "5", "input.topic",
                     "duplicate key (first set on line 2)");
}

static void test_config_empty_value(void **state) {
    (void)state;
    check_file_error("empty_value.conf", "2", "redis.url", "empty value");
}

static void test_config_failed_load_changes_nothing(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    /* Line 2 is valid, line 3 is not: line 2 must not have been applied. */
    assert_int_equal(load_fixture(cfg, "bad_number.conf"), LDR_ERR_CONFIG);
    assert_string_equal(ldr_config_get(cfg, "input.topic"), "ladder.events.v1");
    char *envp[] = {"LADDER_INPUT_TOPIC=changed",
                    "LADDER_CLOCK_MAX_SKEW_DAYS=0", NULL};
    assert_int_equal(load_env(cfg, envp), LDR_ERR_CONFIG);
    assert_string_equal(ldr_config_get(cfg, "input.topic"), "ladder.events.v1");
    assert_string_equal(ldr_config_origin(cfg, "input.topic"), "default");
    ldr_config_destroy(cfg);
}

/* ---- the environment -------------------------------------------------- */

static void test_config_environment_values(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    char *envp[] = {"PATH=/usr/bin", "LADDER_CLOCK_TICK_INTERVAL_MS=250",
                    "LADDER_GROUP_ID=blue", "LADDER_LOG_LEVEL=warn", NULL};
    assert_int_equal(load_env(cfg, envp), LDR_OK);
    assert_int_equal(ldr_config_get_int(cfg, "clock.tick.interval.ms"), 250);
    assert_string_equal(ldr_config_get(cfg, "group.id"), "blue");
    assert_string_equal(ldr_config_get(cfg, "log.level"), "warn");
    assert_string_equal(ldr_config_origin(cfg, "group.id"),
                        "environment LADDER_GROUP_ID");
    ldr_config_destroy(cfg);
}

static void test_config_unknown_variable(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    char *envp[] = {"LADDER_INPUT_TOPIC=in", "LADDER_REDIS_ULR=redis://x",
                    NULL};
    assert_int_equal(load_env(cfg, envp), LDR_ERR_CONFIG);
    assert_contains(errstr, "environment: LADDER_REDIS_ULR: unknown variable "
                            "(did you mean LADDER_REDIS_URL?)");
    /* Lower case is not the spelling of any key either. */
    char *lower[] = {"LADDER_input_topic=in", NULL};
    assert_int_equal(load_env(cfg, lower), LDR_ERR_CONFIG);
    assert_contains(errstr, "environment: LADDER_input_topic: unknown");
    char *bare[] = {"LADDER_=x", NULL};
    assert_int_equal(load_env(cfg, bare), LDR_ERR_CONFIG);
    assert_contains(errstr, "environment: LADDER_: unknown variable");
    ldr_config_destroy(cfg);
}

static void test_config_bad_number_in_environment(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    char *envp[] = {"LADDER_CLOCK_MAX_SKEW_DAYS=abc", NULL};
    assert_int_equal(load_env(cfg, envp), LDR_ERR_CONFIG);
    assert_string_equal(errstr,
                        "environment: LADDER_CLOCK_MAX_SKEW_DAYS: \"abc\" is "
                        "not a whole number (expected 1..36500)");
    ldr_config_destroy(cfg);
}

static void test_config_laddertest_variables_ignored(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    char *envp[] = {"LADDERTEST_SRC=/src",   "LADDERTEST_BIN=/bin",
                    "LADDERTESTING=1",       "LADDER=1",
                    "ladder_input_topic=x",  "XLADDER_INPUT_TOPIC=x",
                    "LADDER_NO_EQUALS_SIGN", NULL};
    assert_int_equal(load_env(cfg, envp), LDR_OK);
    assert_string_equal(ldr_config_get(cfg, "input.topic"), "ladder.events.v1");
    /* The real environment of a test run carries LADDERTEST_ variables. */
    setenv("LADDERTEST_CONFIG_PROBE", "1", 1);
    char **clean = calloc(64, sizeof(*clean));
    assert_non_null(clean);
    size_t n = 0;
    for (char **e = environ; *e && n < 63; e++)
        if (strncmp(*e, "LADDERTEST_", 11) == 0) clean[n++] = *e;
    assert_true(n >= 1);
    assert_int_equal(load_env(cfg, clean), LDR_OK);
    free(clean);
    unsetenv("LADDERTEST_CONFIG_PROBE");
    ldr_config_destroy(cfg);
}

/* ---- kafka.* ---------------------------------------------------------- */

static void test_config_kafka_group_id_refused(void **state) {
    (void)state;
    check_file_error("kafka_group_id.conf", "3", "kafka.group.id",
                     "use group.id");
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    char *envp[] = {"LADDER_KAFKA_GROUP_ID=mine", NULL};
    assert_int_equal(load_env(cfg, envp), LDR_ERR_CONFIG);
    assert_contains(errstr, "environment: LADDER_KAFKA_GROUP_ID: ");
    assert_contains(errstr, "use group.id");
    assert_int_equal(ldr_config_set(cfg, "kafka.group.id", "mine", NULL, errstr,
                                    sizeof(errstr)),
                     LDR_ERR_CONFIG);
    assert_contains(errstr, "command line: kafka.group.id: ");
    ldr_config_destroy(cfg);
}

/* An empty broker list is a configuration error wherever it comes from,
 * not a Kafka that cannot be reached. */
static void test_config_kafka_empty_bootstrap_refused(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    char *envp[] = {"LADDER_KAFKA_BOOTSTRAP_SERVERS=", NULL};
    assert_int_equal(load_env(cfg, envp), LDR_ERR_CONFIG);
    assert_contains(errstr, "environment: LADDER_KAFKA_BOOTSTRAP_SERVERS: ");
    assert_contains(errstr, "empty");
    assert_int_equal(ldr_config_set(cfg, "kafka.bootstrap.servers", "  ", NULL,
                                    errstr, sizeof(errstr)),
                     LDR_ERR_CONFIG);
    assert_contains(errstr, "command line: kafka.bootstrap.servers: empty");
    assert_int_equal(ldr_config_set(cfg, "kafka.bootstrap.servers",
                                    "127.0.0.1:9092", NULL, errstr,
                                    sizeof(errstr)),
                     LDR_OK);
    ldr_config_destroy(cfg);
}

static void test_config_kafka_passthrough_from_file(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    assert_int_equal(load_fixture(cfg, "kafka_invalid.conf"), LDR_OK);
    assert_string_equal(ldr_config_get(cfg, "kafka.bootstrap.servers"),
                        "127.0.0.1:9092");
    assert_string_equal(ldr_config_get(cfg, "kafka.no.such.property"), "1");
    ldr_config_destroy(cfg);
}

static void test_config_kafka_passthrough_from_environment(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-api");
    char *envp[] = {"LADDER_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:39092",
                    "LADDER_KAFKA_FETCH_WAIT_MAX_MS=10", NULL};
    assert_int_equal(load_env(cfg, envp), LDR_OK);
    assert_string_equal(ldr_config_get(cfg, "kafka.bootstrap.servers"),
                        "127.0.0.1:39092");
    assert_string_equal(ldr_config_get(cfg, "kafka.fetch.wait.max.ms"), "10");
    assert_string_equal(ldr_config_origin(cfg, "kafka.bootstrap.servers"),
                        "environment LADDER_KAFKA_BOOTSTRAP_SERVERS");
    char *empty[] = {"LADDER_KAFKA_=1", NULL};
    assert_int_equal(load_env(cfg, empty), LDR_ERR_CONFIG);
    assert_contains(errstr, "environment: LADDER_KAFKA_: ");
    ldr_config_destroy(cfg);
}

/* ---- precedence and origins ------------------------------------------- */

static void test_config_precedence_env_beats_file(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    char *envp[] = {"LADDER_REDIS_URL=redis://env:6379/0",
                    "LADDER_KAFKA_BOOTSTRAP_SERVERS=env:9092", NULL};
    assert_int_equal(load_fixture(cfg, "good.conf"), LDR_OK);
    assert_int_equal(load_env(cfg, envp), LDR_OK);
    assert_string_equal(ldr_config_get(cfg, "redis.url"), "redis://env:6379/0");
    assert_string_equal(ldr_config_get(cfg, "kafka.bootstrap.servers"),
                        "env:9092");
    /* What the environment does not set stays as the file says. */
    assert_int_equal(ldr_config_get_int(cfg, "clock.max.skew.days"), 30);
    ldr_config_destroy(cfg);
}

static void test_config_precedence_set_beats_env(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    char *envp[] = {"LADDER_REDIS_URL=redis://env:6379/0", NULL};
    assert_int_equal(load_fixture(cfg, "good.conf"), LDR_OK);
    assert_int_equal(load_env(cfg, envp), LDR_OK);
    assert_int_equal(ldr_config_set(cfg, "redis.url", "redis://flag:6379/0",
                                    "--redis-url", errstr, sizeof(errstr)),
                     LDR_OK);
    assert_string_equal(ldr_config_get(cfg, "redis.url"),
                        "redis://flag:6379/0");
    assert_string_equal(ldr_config_origin(cfg, "redis.url"), "--redis-url");
    ldr_config_destroy(cfg);
}

static void test_config_precedence_independent_of_load_order(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    char *envp[] = {"LADDER_REDIS_URL=redis://env:6379/0", NULL};
    assert_int_equal(ldr_config_set(cfg, "clock.max.skew.days", "7", NULL,
                                    errstr, sizeof(errstr)),
                     LDR_OK);
    assert_int_equal(load_env(cfg, envp), LDR_OK);
    assert_int_equal(load_fixture(cfg, "good.conf"), LDR_OK);
    assert_string_equal(ldr_config_get(cfg, "redis.url"), "redis://env:6379/0");
    assert_int_equal(ldr_config_get_int(cfg, "clock.max.skew.days"), 7);
    assert_string_equal(ldr_config_origin(cfg, "clock.max.skew.days"),
                        "command line");
    ldr_config_destroy(cfg);
}

static void test_config_origin_strings(void **state) {
    (void)state;
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    char *envp[] = {"LADDER_LOG_LEVEL=error", NULL};
    assert_int_equal(load_fixture(cfg, "good.conf"), LDR_OK);
    assert_int_equal(load_env(cfg, envp), LDR_OK);
    assert_int_equal(
        ldr_config_set(cfg, "input.topic", "t", NULL, errstr, sizeof(errstr)),
        LDR_OK);
    assert_string_equal(ldr_config_origin(cfg, "dlq.topic"), "default");
    assert_string_equal(ldr_config_origin(cfg, "group.id"), "default");
    assert_string_equal(ldr_config_origin(cfg, "redis.url"),
                        FIXTURES "good.conf:3");
    assert_string_equal(ldr_config_origin(cfg, "kafka.bootstrap.servers"),
                        FIXTURES "good.conf:7");
    assert_string_equal(ldr_config_origin(cfg, "log.level"),
                        "environment LADDER_LOG_LEVEL");
    assert_string_equal(ldr_config_origin(cfg, "input.topic"), "command line");
    ldr_config_destroy(cfg);
}

/* The registry's keys load from a file and the environment; a timeout
 * outside its bounds names the key. */
static void test_config_schema_registry_keys(void **state) {
    (void)state;
    check_file_error("schema_registry.conf", "5",
                     "schema.registry.request.timeout.ms", "100");
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    char *envp[] = {"LADDER_SCHEMA_REGISTRY_URL=http://127.0.0.1:8081",
                    "LADDER_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=u:p",
                    "LADDER_SCHEMA_REGISTRY_REQUEST_TIMEOUT_MS=250", NULL};
    assert_int_equal(load_env(cfg, envp), LDR_OK);
    assert_string_equal(ldr_config_get(cfg, "schema.registry.url"),
                        "http://127.0.0.1:8081");
    assert_string_equal(
        ldr_config_get(cfg, "schema.registry.basic.auth.user.info"), "u:p");
    assert_int_equal(
        ldr_config_get_int(cfg, "schema.registry.request.timeout.ms"), 250);
    assert_null(ldr_config_get(cfg, "schema.registry.ssl.ca.location"));
    ldr_config_destroy(cfg);
}

/* ---- table mechanics -------------------------------------------------- */

static void test_config_key_match_patterns(void **state) {
    (void)state;
    const char *p = "notify.subscriber.*.url";
    assert_true(ldr_config_key_match(p, "notify.subscriber.a.url"));
    assert_true(ldr_config_key_match(p, "notify.subscriber.my_hook.url"));
    assert_false(ldr_config_key_match(p, "notify.subscriber..url"));
    assert_false(ldr_config_key_match(p, "notify.subscriber.a.b.url"));
    assert_false(ldr_config_key_match(p, "notify.subscriber.url"));
    assert_false(ldr_config_key_match(p, "notify.subscriber.a.urls"));
    assert_true(ldr_config_key_match("a.*", "a.b"));
    assert_false(ldr_config_key_match("a.*", "a."));
    assert_false(ldr_config_key_match("a.*", "a"));
    assert_true(ldr_config_key_match("redis.url", "redis.url"));
    assert_false(ldr_config_key_match("redis.url", "redis.urls"));
    assert_false(ldr_config_key_match("redis.url", "redis"));
}

static void test_config_variable_match_patterns(void **state) {
    (void)state;
    char key[64];
    const char *p = "notify.subscriber.*.url";
    assert_true(ldr_config_variable_match(p, "LADDER_NOTIFY_SUBSCRIBER_A_B_URL",
                                          key, sizeof(key)));
    assert_string_equal(key, "notify.subscriber.a_b.url");
    assert_false(ldr_config_variable_match(p, "LADDER_NOTIFY_SUBSCRIBER_URL",
                                           key, sizeof(key)));
    assert_false(ldr_config_variable_match(p, "LADDER_NOTIFY_SUBSCRIBER__URL",
                                           key, sizeof(key)));
    assert_false(ldr_config_variable_match(p, "LADDERX_NOTIFY_SUBSCRIBER_A_URL",
                                           key, sizeof(key)));
    assert_true(ldr_config_variable_match("clock.tick.interval.ms",
                                          "LADDER_CLOCK_TICK_INTERVAL_MS", key,
                                          sizeof(key)));
    assert_string_equal(key, "clock.tick.interval.ms");
    assert_false(ldr_config_variable_match("clock.tick.interval.ms",
                                           "LADDER_CLOCK_TICK_INTERVAL", key,
                                           sizeof(key)));
    /* A key that does not fit the buffer is no match, not a cut key. */
    assert_false(
        ldr_config_variable_match(p, "LADDER_NOTIFY_SUBSCRIBER_A_URL", key, 8));
}

static void test_config_unknown_key_getter_aborts(void **state) {
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(2);
        ldr_config_t *cfg = ldr_config_new("ladder-worker");
        ldr_config_get(cfg, "no.such.key");
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

/* ---- generated files -------------------------------------------------- */

/* The generator's output as a string (caller frees). */
static char *generate(ldr_err_t (*write)(FILE *)) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(write(f), LDR_OK);
    fclose(f);
    return text;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, n, m);
    fclose(m);
    fclose(f);
    return text;
}

static void check_generated(ldr_err_t (*write)(FILE *), const char *rel) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", LADDER_SOURCE_DIR, rel);
    char *want = generate(write);
    char *have = slurp(path);
    if (!have || strcmp(want, have) != 0) {
        int line = 1;
        for (size_t i = 0; have && want[i] && want[i] == have[i]; i++)
            if (want[i] == '\n') line++;
        free(want);
        free(have);
        fail_msg("%s is out of date with the key table (first difference on "
                 "line %d); regenerate it from the repository root with: "
                 "test_config --write-reference docs/CONFIG.md "
                 "--write-sample deploy/config/ladder.conf.sample",
                 rel, line);
    }
    free(want);
    free(have);
}

static void test_config_reference_is_current(void **state) {
    (void)state;
    check_generated(ldr_config_write_reference, "docs/CONFIG.md");
}

static void test_config_sample_is_current(void **state) {
    (void)state;
    check_generated(ldr_config_write_sample,
                    "deploy/config/ladder.conf.sample");
}

/* Uncommenting every "#key = value" line of the sample gives a valid file
 * for every program that changes nothing. */
static void test_config_sample_values_are_valid(void **state) {
    (void)state;
    char *sample = generate(ldr_config_write_sample);
    char path[] = "/tmp/test_config_sample_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    int lines = 0;
    for (char *line = strtok(sample, "\n"); line; line = strtok(NULL, "\n")) {
        char *eq = strstr(line, " = ");
        if (line[0] == '#' && line[1] != ' ' && line[1] != '\0' && eq &&
            eq[3] != '\0') {
            fprintf(f, "%s\n", line + 1);
            lines++;
        }
    }
    fclose(f);
    free(sample);
    assert_true(lines >= 10);
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    ldr_err_t err = ldr_config_load_file(cfg, path, errstr, sizeof(errstr));
    unlink(path);
    if (err) fail_msg("%s", errstr);
    assert_int_equal(ldr_config_get_int(cfg, "clock.max.skew.days"), 400);
    ldr_config_destroy(cfg);
}

static int write_file(const char *path, ldr_err_t (*write)(FILE *)) {
    FILE *f = fopen(path, "w");
    if (!f || write(f) != LDR_OK || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

static void test_config_data_path_falls_back_to_the_source_tree(void **state) {
    (void)state;
    char buf[4096], cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_string_equal(ldr_config_data_path("/etc/x", buf, sizeof(buf)),
                        "/etc/x");
    /* From a directory without it, a repository path is found in the
     * source tree... */
    assert_int_equal(chdir("/"), 0);
    assert_string_equal(ldr_config_data_path("schemas", buf, sizeof(buf)),
                        LADDER_SOURCE_DIR "/schemas");
    /* ...and one that exists from the working directory is used as is. */
    assert_int_equal(chdir(LADDER_SOURCE_DIR), 0);
    assert_string_equal(ldr_config_data_path("schemas", buf, sizeof(buf)),
                        "schemas");
    assert_int_equal(chdir(cwd), 0);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        int rc = 0;
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--write-reference") == 0 && i + 1 < argc) {
                rc |= write_file(argv[++i], ldr_config_write_reference);
            } else if (strcmp(argv[i], "--write-sample") == 0 && i + 1 < argc) {
                rc |= write_file(argv[++i], ldr_config_write_sample);
            } else {
                fprintf(stderr,
                        "usage: %s [--write-reference FILE] "
                        "[--write-sample FILE]\n",
                        argv[0]);
                return 2;
            }
        }
        return rc;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_each_star_key),
        cmocka_unit_test(test_config_per_program_defaults),
        cmocka_unit_test(test_config_file_values),
        cmocka_unit_test(test_config_unknown_key_in_file),
        cmocka_unit_test(test_config_bad_number),
        cmocka_unit_test(test_config_out_of_bounds_number),
        cmocka_unit_test(test_config_bad_bool),
        cmocka_unit_test(test_config_bad_enum),
        cmocka_unit_test(test_config_bad_listen_address),
        cmocka_unit_test(test_config_missing_file),
        cmocka_unit_test(test_config_line_without_equals),
        cmocka_unit_test(test_config_duplicate_key),
        cmocka_unit_test(test_config_empty_value),
        cmocka_unit_test(test_config_failed_load_changes_nothing),
        cmocka_unit_test(test_config_environment_values),
        cmocka_unit_test(test_config_unknown_variable),
        cmocka_unit_test(test_config_bad_number_in_environment),
        cmocka_unit_test(test_config_laddertest_variables_ignored),
        cmocka_unit_test(test_config_kafka_group_id_refused),
        cmocka_unit_test(test_config_kafka_empty_bootstrap_refused),
        cmocka_unit_test(test_config_kafka_passthrough_from_file),
        cmocka_unit_test(test_config_kafka_passthrough_from_environment),
        cmocka_unit_test(test_config_precedence_env_beats_file),
        cmocka_unit_test(test_config_precedence_set_beats_env),
        cmocka_unit_test(test_config_precedence_independent_of_load_order),
        cmocka_unit_test(test_config_origin_strings),
        cmocka_unit_test(test_config_data_path_falls_back_to_the_source_tree),
        cmocka_unit_test(test_config_schema_registry_keys),
        cmocka_unit_test(test_config_key_match_patterns),
        cmocka_unit_test(test_config_variable_match_patterns),
        cmocka_unit_test(test_config_unknown_key_getter_aborts),
        cmocka_unit_test(test_config_reference_is_current),
        cmocka_unit_test(test_config_sample_is_current),
        cmocka_unit_test(test_config_sample_values_are_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
