/* test_log.c -- the logger's level filter and line formats (text, json).
 *
 * Each test points file descriptor 2 at a pipe, logs, puts stderr back and
 * reads what was written, so the assertions see exactly the bytes a reader
 * of the program's stderr would see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ladder/log.h"

struct capture {
    int pipe_fd[2];
    int saved_stderr;
};

static void capture_begin(struct capture *c) {
    assert_int_equal(pipe(c->pipe_fd), 0);
    c->saved_stderr = dup(STDERR_FILENO);
    assert_true(c->saved_stderr >= 0);
    assert_true(dup2(c->pipe_fd[1], STDERR_FILENO) >= 0);
}

/* Restores stderr and returns what was written (caller frees). */
static char *capture_end(struct capture *c) {
    assert_true(dup2(c->saved_stderr, STDERR_FILENO) >= 0);
    close(c->saved_stderr);
    close(c->pipe_fd[1]);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    ssize_t r;
    while ((r = read(c->pipe_fd[0], buf + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    close(c->pipe_fd[0]);
    buf[len] = '\0';
    return buf;
}

static size_t count_lines(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        if (*s == '\n') n++;
    return n;
}

static void assert_matches(const char *text, const char *pattern) {
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    int rc = regexec(&re, text, 0, NULL, 0);
    regfree(&re);
    if (rc != 0) fail_msg("\"%s\" does not match /%s/", text, pattern);
}

static int setup(void **state) {
    (void)state;
    ldr_log_set_program("test-log");
    ldr_log_set_timestamps(1);
    ldr_log_set_level(LDR_LOG_LEVEL_INFO);
    ldr_log_set_format(LDR_LOG_FORMAT_TEXT);
    return 0;
}

/* The line's start up to and including "pid":N, for exact comparisons. */
static char *json_after_pid(char *out) {
    char pid[48];
    snprintf(pid, sizeof(pid), "\"pid\":%ld,", (long)getpid());
    char *p = strstr(out, pid);
    assert_non_null(p);
    return p + strlen(pid);
}

static int evaluations;

static int counted(int v) {
    evaluations++;
    return v;
}

static void test_log_level_filters_lines(void **state) {
    (void)state;
    struct capture c;
    ldr_log_set_level(LDR_LOG_LEVEL_WARN);
    capture_begin(&c);
    LDR_LOG_ERROR("e%d", 1);
    LDR_LOG_WARN("w%d", 2);
    LDR_LOG_INFO("i%d", 3);
    LDR_LOG_DEBUG("d%d", 4);
    char *out = capture_end(&c);
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, " ERROR e1\n"));
    assert_non_null(strstr(out, " WARN w2\n"));
    assert_null(strstr(out, "i3"));
    assert_null(strstr(out, "d4"));
    free(out);

    ldr_log_set_level(LDR_LOG_LEVEL_DEBUG);
    capture_begin(&c);
    LDR_LOG_DEBUG("d%d", 4);
    out = capture_end(&c);
    assert_non_null(strstr(out, " DEBUG d4\n"));
    free(out);
}

static void test_log_filtered_arguments_not_evaluated(void **state) {
    (void)state;
    struct capture c;
    evaluations = 0;
    ldr_log_set_level(LDR_LOG_LEVEL_INFO);
    capture_begin(&c);
    LDR_LOG_DEBUG("%d", counted(1));
    LDR_LOG_INFO("%d", counted(2));
    char *out = capture_end(&c);
    assert_int_equal(evaluations, 1);
    free(out);
}

static void test_log_line_format(void **state) {
    (void)state;
    struct capture c;
    capture_begin(&c);
    LDR_LOG_WARN("lag %d on %s", 42, "p7");
    char *out = capture_end(&c);
    assert_matches(out, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
                        "[0-9]{2}\\.[0-9]{3}Z test-log\\[[0-9]+\\] WARN "
                        "lag 42 on p7\n$");
    char pid[32];
    snprintf(pid, sizeof(pid), "[%ld]", (long)getpid());
    assert_non_null(strstr(out, pid));
    free(out);
}

static void test_log_without_timestamps(void **state) {
    (void)state;
    struct capture c;
    ldr_log_set_timestamps(0);
    ldr_log_set_program("ladder-worker");
    capture_begin(&c);
    LDR_LOG_INFO("ready");
    char *out = capture_end(&c);
    assert_matches(out, "^ladder-worker\\[[0-9]+\\] INFO ready\n$");
    free(out);
}

static void test_log_message_is_one_line(void **state) {
    (void)state;
    struct capture c;
    capture_begin(&c);
    LDR_LOG_ERROR("first\nsecond\r\nthird");
    char *out = capture_end(&c);
    assert_int_equal(count_lines(out), 1);
    assert_non_null(strstr(out, "ERROR first second  third\n"));
    free(out);
}

static void test_log_long_message_is_cut(void **state) {
    (void)state;
    struct capture c;
    char *big = malloc(3 * LDR_LOG_LINE_MAX);
    assert_non_null(big);
    memset(big, 'x', 3 * LDR_LOG_LINE_MAX - 1);
    big[3 * LDR_LOG_LINE_MAX - 1] = '\0';
    capture_begin(&c);
    LDR_LOG_INFO("%s", big);
    LDR_LOG_INFO("after");
    char *out = capture_end(&c);
    free(big);
    assert_int_equal(count_lines(out), 2);
    char *nl = strchr(out, '\n');
    assert_true((size_t)(nl - out) + 1 <= LDR_LOG_LINE_MAX);
    assert_memory_equal(nl - 3, "...", 3);
    assert_non_null(strstr(nl + 1, " INFO after\n"));
    free(out);
}

static void test_log_parse_level(void **state) {
    (void)state;
    ldr_log_level_t level = LDR_LOG_LEVEL_INFO;
    assert_int_equal(ldr_log_parse_level("debug", &level), LDR_OK);
    assert_int_equal(level, LDR_LOG_LEVEL_DEBUG);
    assert_int_equal(ldr_log_parse_level("error", &level), LDR_OK);
    assert_int_equal(level, LDR_LOG_LEVEL_ERROR);
    assert_int_equal(ldr_log_parse_level("verbose", &level),
                     LDR_ERR_INVALID_ARG);
    assert_int_equal(ldr_log_parse_level("WARN", &level), LDR_ERR_INVALID_ARG);
    assert_int_equal(ldr_log_parse_level(NULL, &level), LDR_ERR_INVALID_ARG);
    assert_int_equal(level, LDR_LOG_LEVEL_ERROR);
    assert_string_equal(ldr_log_level_name(LDR_LOG_LEVEL_WARN), "WARN");
    ldr_log_set_level(LDR_LOG_LEVEL_DEBUG);
    assert_int_equal(ldr_log_get_level(), LDR_LOG_LEVEL_DEBUG);
}

static void test_log_json_line_format(void **state) {
    (void)state;
    struct capture c;
    ldr_log_set_format(LDR_LOG_FORMAT_JSON);
    capture_begin(&c);
    LDR_LOG_WARN("lag %d on %s", 42, "p7");
    char *out = capture_end(&c);
    assert_matches(out, "^\\{\"time\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:"
                        "[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z\",\"level\":\"WARN\","
                        "\"program\":\"test-log\",\"pid\":[0-9]+,"
                        "\"event\":\"lag 42 on p7\"\\}\n$");
    free(out);

    ldr_log_set_timestamps(0);
    capture_begin(&c);
    LDR_LOG_INFO("ready");
    out = capture_end(&c);
    assert_matches(out, "^\\{\"level\":\"INFO\",\"program\":\"test-log\","
                        "\"pid\":[0-9]+,\"event\":\"ready\"\\}\n$");
    free(out);
}

/* Every kind of byte a message may hold, and what the JSON line holds. */
static void test_log_json_escapes_any_message(void **state) {
    (void)state;
    static const struct {
        const char *msg, *event;
    } cases[] = {
        {"plain", "plain"},
        {"say \"hi\"", "say \\\"hi\\\""},
        {"back\\slash", "back\\\\slash"},
        {"a\nb\r\nc\td", "a\\nb\\r\\nc\\td"},
        {"bell\x07 del\x7f", "bell\\u0007 del\\u007f"},
        {"caf\xc3\xa9 \xe5\x8e\xa6\xe9\x97\xa8",
         "caf\xc3\xa9 \xe5\x8e\xa6\xe9\x97\xa8"},
        {"bad \xff byte", "bad \\\\xff byte"},
        {"cut \xe5\x8e", "cut \\\\xe5\\\\x8e"},
        {"overlong \xc0\xaf", "overlong \\\\xc0\\\\xaf"},
        {"surrogate \xed\xa0\x80", "surrogate \\\\xed\\\\xa0\\\\x80"},
    };
    ldr_log_set_format(LDR_LOG_FORMAT_JSON);
    ldr_log_set_timestamps(0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct capture c;
        capture_begin(&c);
        LDR_LOG_INFO("%s", cases[i].msg);
        char *out = capture_end(&c);
        char want[256];
        snprintf(want, sizeof(want), "\"event\":\"%s\"}\n", cases[i].event);
        assert_int_equal(count_lines(out), 1);
        assert_string_equal(json_after_pid(out), want);
        free(out);
    }
}

static void test_log_json_fields(void **state) {
    (void)state;
    struct capture c;
    ldr_log_set_format(LDR_LOG_FORMAT_JSON);
    ldr_log_set_timestamps(0);
    capture_begin(&c);
    LDR_LOG_KV(LDR_LOG_LEVEL_INFO,
               ((const char *[]){"partition", "3", "topic", "a\"b\n", NULL}),
               "resuming at offset %d", 7);
    LDR_LOG_KV(LDR_LOG_LEVEL_DEBUG, ((const char *[]){"x", "y", NULL}),
               "filtered");
    char *out = capture_end(&c);
    assert_string_equal(json_after_pid(out),
                        "\"event\":\"resuming at offset 7\",\"fields\":"
                        "{\"partition\":\"3\",\"topic\":\"a\\\"b\\n\"}}\n");
    free(out);

    ldr_log_set_format(LDR_LOG_FORMAT_TEXT);
    capture_begin(&c);
    LDR_LOG_KV(LDR_LOG_LEVEL_WARN, ((const char *[]){"partition", "3", NULL}),
               "stalled");
    out = capture_end(&c);
    assert_matches(out, "^test-log\\[[0-9]+\\] WARN stalled partition=3\n$");
    free(out);
}

/* A message longer than a line, of characters whose escapes are 2 and 5
 * bytes long: the line is cut between characters and stays valid JSON. */
static void test_log_json_long_message_is_cut(void **state) {
    (void)state;
    static const char fill[] = {'x', '"', '\xff'};
    ldr_log_set_format(LDR_LOG_FORMAT_JSON);
    for (size_t f = 0; f < sizeof(fill); f++) {
        struct capture c;
        char *big = malloc(3 * LDR_LOG_LINE_MAX);
        assert_non_null(big);
        memset(big, fill[f], 3 * LDR_LOG_LINE_MAX - 1);
        big[3 * LDR_LOG_LINE_MAX - 1] = '\0';
        capture_begin(&c);
        LDR_LOG_KV(LDR_LOG_LEVEL_INFO, ((const char *[]){"k", "v", NULL}), "%s",
                   big);
        LDR_LOG_INFO("after");
        char *out = capture_end(&c);
        free(big);
        assert_int_equal(count_lines(out), 2);
        char *nl = strchr(out, '\n');
        assert_true((size_t)(nl - out) + 1 <= LDR_LOG_LINE_MAX);
        *nl = '\0';
        const char *end = "...\",\"fields\":{\"k\":\"v\"}}";
        assert_string_equal(nl - strlen(end), end);
        /* No escape is split: the character before "..." ends a whole one. */
        const char *tail = nl - strlen(end);
        if (fill[f] == '"') assert_memory_equal(tail - 2, "\\\"", 2);
        if (fill[f] == '\xff') assert_memory_equal(tail - 5, "\\\\xff", 5);
        assert_non_null(strstr(nl + 1, "\"event\":\"after\"}\n"));
        free(out);
    }
}

static void test_log_parse_format(void **state) {
    (void)state;
    ldr_log_format_t format = LDR_LOG_FORMAT_TEXT;
    assert_int_equal(ldr_log_parse_format("json", &format), LDR_OK);
    assert_int_equal(format, LDR_LOG_FORMAT_JSON);
    assert_int_equal(ldr_log_parse_format("text", &format), LDR_OK);
    assert_int_equal(format, LDR_LOG_FORMAT_TEXT);
    assert_int_equal(ldr_log_parse_format("JSON", &format),
                     LDR_ERR_INVALID_ARG);
    assert_int_equal(ldr_log_parse_format(NULL, &format), LDR_ERR_INVALID_ARG);
    assert_int_equal(format, LDR_LOG_FORMAT_TEXT);
    ldr_log_set_format(LDR_LOG_FORMAT_JSON);
    assert_int_equal(ldr_log_get_format(), LDR_LOG_FORMAT_JSON);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_log_level_filters_lines, setup),
        cmocka_unit_test_setup(test_log_filtered_arguments_not_evaluated,
                               setup),
        cmocka_unit_test_setup(test_log_line_format, setup),
        cmocka_unit_test_setup(test_log_without_timestamps, setup),
        cmocka_unit_test_setup(test_log_message_is_one_line, setup),
        cmocka_unit_test_setup(test_log_long_message_is_cut, setup),
        cmocka_unit_test_setup(test_log_parse_level, setup),
        cmocka_unit_test_setup(test_log_json_line_format, setup),
        cmocka_unit_test_setup(test_log_json_escapes_any_message, setup),
        cmocka_unit_test_setup(test_log_json_fields, setup),
        cmocka_unit_test_setup(test_log_json_long_message_is_cut, setup),
        cmocka_unit_test_setup(test_log_parse_format, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
