/* test_redact.c -- secrets kept out of messages: URLs, secret keys,
 * configuration lines, and the configuration errors that quote them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "ladder/config.h"
#include "ladder/redact.h"

static void test_redact_url_table(void **state) {
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
        {"redis://user:pass@host:6379/0", "redis://user:***@host:6379/0"},
        {"redis://:pass@host:6379", "redis://:***@host:6379"},
        {"redis://pass@host", "redis://***@host"},
        {"rediss://u:p@h", "rediss://u:***@h"},
        {"redis://u:p@ss@w0rd@h1:1,h2:2", "redis://u:***@h1:1,h2:2"},
        {"REDIS://u:p@h", "REDIS://u:***@h"},
        {"http://alice:s3cret@example.org/hook",
         "http://alice:***@example.org/hook"},
        {"https://alice:s3cret@example.org:8443/h?q=1",
         "https://alice:***@example.org:8443/h?q=1"},
        {"https://alice@example.org/hook", "https://alice@example.org/hook"},
        {"https://example.org/a@b", "https://example.org/a@b"},
        {"connect to redis://u:pw@h:1 failed: \"x\"",
         "connect to redis://u:***@h:1 failed: \"x\""},
        {"two: http://a:b@h1/ and https://c:d@h2/",
         "two: http://a:***@h1/ and https://c:***@h2/"},
        {"no url here", "no url here"},
        {"", ""},
        {"://", "://"},
        {"x://@", "x://@"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[256];
        assert_string_equal(ldr_redact_url(cases[i].in, buf, sizeof(buf)),
                            cases[i].out);
    }
}

/* A buffer too small cuts the result; the password never shows. */
static void test_redact_url_cut(void **state) {
    (void)state;
    char buf[20];
    ldr_redact_url("redis://user:hunter2@host:6379/0", buf, sizeof(buf));
    assert_int_equal(strlen(buf), sizeof(buf) - 1);
    assert_null(strstr(buf, "hunter"));
    assert_string_equal(ldr_redact_url(NULL, buf, sizeof(buf)), "");
}

static void test_redact_secret_keys(void **state) {
    (void)state;
    static const struct {
        const char *key;
        int secret;
    } cases[] = {
        {"redis.password", 1},
        {"notify.subscriber.a.secret", 1},
        {"api.token", 1},
        {"schema.registry.basic.auth.user.info", 1},
        {"kafka.sasl.password", 1},
        {"kafka.ssl.key.password", 1},
        {"kafka.ssl.keystore.password", 1},
        {"kafka.sasl.oauthbearer.client.secret", 1},
        {"kafka.sasl.oauthbearer.config", 1},
        {"kafka.ssl.key.pem", 1},
        {"LADDER_REDIS_PASSWORD", 1},
        {"Redis.Password", 1},
        {"redis.url", 0},
        {"kafka.sasl.username", 0},
        {"kafka.bootstrap.servers", 0},
        {"log.level", 0},
        {"notify.subscriber.a.url", 0},
        {"api.notokens", 0},
        {"passwords", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (ldr_redact_is_secret_key(cases[i].key) != cases[i].secret)
            fail_msg("%s: want %d", cases[i].key, cases[i].secret);
    assert_false(ldr_redact_is_secret_key(NULL));
}

static void test_redact_config_value_and_line(void **state) {
    (void)state;
    char buf[256];
    assert_string_equal(
        ldr_redact_config_value("redis.password", "hunter2", buf, sizeof(buf)),
        "***");
    assert_string_equal(ldr_redact_config_value("redis.url",
                                                "redis://u:pw@h:1/0", buf,
                                                sizeof(buf)),
                        "redis://u:***@h:1/0");
    assert_string_equal(
        ldr_redact_config_value("log.level", "loud", buf, sizeof(buf)), "loud");
    /* A value is one word: a blank inside the password hides it whole. */
    assert_string_equal(ldr_redact_config_value("redis.url",
                                                "redis://u:pa ss\"@h:1", buf,
                                                sizeof(buf)),
                        "redis://u:***@h:1");
    static const struct {
        const char *in, *out;
    } lines[] = {
        {"redis.password = hunter2", "redis.password = ***"},
        {"redis.password=hunter2", "redis.password = ***"},
        {"  api.token   tok123", "  api.token ***"},
        {"kafka.sasl.password hunter2", "kafka.sasl.password ***"},
        {"redis.url = redis://u:pw@h:1", "redis.url = redis://u:***@h:1"},
        {"log.level = loud", "log.level = loud"},
        /* Without '=' whatever follows the key is hidden, for any key. */
        {"redis.url redis://u:pw@h:1", "redis.url ***"},
        {"log.level loud", "log.level ***"},
        {"api.token: tok123", "api.token ***"},
        {"api.token:tok123", "api.token ***"},
        {"api.tokn tok123", "api.tokn ***"},
        {"notify.subscriber.a.url https://h/hook/abc",
         "notify.subscriber.a.url ***"},
        {"LADDER_API_TOKEN tok123", "LADDER_API_TOKEN ***"},
        {"redis.url", "redis.url"},
        {"redis.url  :", "redis.url"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        assert_string_equal(
            ldr_redact_config_line(lines[i].in, buf, sizeof(buf)),
            lines[i].out);
    assert_string_equal(ldr_redact_secret_in("Invalid value \"hunter2\" for "
                                             "hunter2",
                                             "hunter2", buf, sizeof(buf)),
                        "Invalid value \"***\" for ***");
    assert_string_equal(ldr_redact_secret_in("as is", "", buf, sizeof(buf)),
                        "as is");
}

static void test_redact_url_path_table(void **state) {
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"https://hooks.example.org/T0/B1/sEcReT",
         "https://hooks.example.org/***"},
        {"http://127.0.0.1:8080/hooks/abc", "http://127.0.0.1:8080/***"},
        {"https://h:8443/?token=abc", "https://h:8443/***"},
        {"https://h#frag", "https://h/***"},
        {"https://h", "https://h"},
        {"https://h/", "https://h/***"},
        {"https://alice:s3cret@h/p", "https://***@h/***"},
        {"https://alice@h/p", "https://***@h/***"},
        {"https://u:p@ss@h:1/p", "https://***@h:1/***"},
        /* A '/' in the password or an '@' in the path: no host shown. */
        {"https://u:pa/ss@h/p", "https://***"},
        {"https://h/p@q/r", "https://***"},
        {"http://[::1/abc", "http://[::1/***"},
        {"ftp://u:pw@h/abc", "ftp://***@h/***"},
        {"not a url", "***"},
        {"", "***"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[256];
        assert_string_equal(ldr_redact_url_path(cases[i].in, buf, sizeof(buf)),
                            cases[i].out);
    }
    char small[12];
    ldr_redact_url_path("https://example.org/sEcReT", small, sizeof(small));
    assert_string_equal(small, "https://exa");
    assert_string_equal(ldr_redact_url_path(NULL, small, sizeof(small)), "");
    assert_int_equal(ldr_redact_key_len("api.token: x"), 9);
    assert_int_equal(ldr_redact_key_len(": x"), 0);
    assert_int_equal(ldr_redact_key_len(NULL), 0);
}

/* The configuration's own errors: a file line without '=' whose key is a
 * secret, and a URL key given a bad value, never quote the secret. */
static void test_redact_config_errors(void **state) {
    (void)state;
    char path[] = "/tmp/test_redact.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "redis.password hunter2\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
    close(fd);
    ldr_config_t *cfg = ldr_config_new("ladder-worker");
    char err[512];
    assert_int_equal(ldr_config_load_file(cfg, path, err, sizeof(err)),
                     LDR_ERR_CONFIG);
    unlink(path);
    assert_null(strstr(err, "hunter2"));
    assert_non_null(strstr(err, "redis.password"));
    assert_non_null(strstr(err, "no '='"));

    /* "key: value" and a misspelt key: the key named, the value hidden. */
    static const char *const lines[] = {
        "api.token: hunter2\n", "api.token:hunter2\n", "api.tokn hunter2\n"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        size_t len = strlen(lines[i]);
        assert_int_equal(write(fd, lines[i], len), (ssize_t)len);
        close(fd);
        assert_int_equal(ldr_config_load_file(cfg, path, err, sizeof(err)),
                         LDR_ERR_CONFIG);
        unlink(path);
        if (strstr(err, "hunter2")) fail_msg("%s shows the value", err);
        assert_non_null(
            strstr(err, i < 2 ? ": api.token: no '='" : ": api.tokn: no '='"));
    }

    char *env[] = {"LADDER_LOG_FORMAT=redis://u:hunter2@h", NULL};
    assert_int_equal(ldr_config_load_env(cfg, env, err, sizeof(err)),
                     LDR_ERR_CONFIG);
    assert_null(strstr(err, "hunter2"));
    assert_non_null(strstr(err, "redis://u:***@h"));
    ldr_config_destroy(cfg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact_url_table),
        cmocka_unit_test(test_redact_url_cut),
        cmocka_unit_test(test_redact_secret_keys),
        cmocka_unit_test(test_redact_config_value_and_line),
        cmocka_unit_test(test_redact_url_path_table),
        cmocka_unit_test(test_redact_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
