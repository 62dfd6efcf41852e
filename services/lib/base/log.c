/* log.c -- levelled, single-write log lines on stderr (see log.h).
 *
 * DESIGN: a line is built in a fixed stack buffer and written with one
 * write(2) on file descriptor 2, bypassing stdio: stdio's stderr is
 * unbuffered, so fprintf would issue one write per conversion and two
 * threads' lines could interleave. A single write of at most
 * LDR_LOG_LINE_MAX (= PIPE_BUF on Linux) bytes is atomic on a pipe and
 * appends whole on an O_APPEND file, which is what makes concurrent lines
 * come out whole. Logging never allocates and never fails the caller: if
 * stderr is gone, the line is lost. */
#include "ladder/log.h"

#include "ladder/clock.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

atomic_int ldr_log__level = LDR_LOG_LEVEL_INFO;

/* Set once at start-up, before threads exist (log.h), so plain variables. */
static char ldr_log_program[64] = "ladder";
static int ldr_log_timestamps = 1;

static const char *const ldr_log_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
static const char *const ldr_log_config_names[] = {"error", "warn", "info",
                                                   "debug"};

void ldr_log_set_level(ldr_log_level_t level) {
    if (level < LDR_LOG_LEVEL_ERROR) level = LDR_LOG_LEVEL_ERROR;
    if (level > LDR_LOG_LEVEL_DEBUG) level = LDR_LOG_LEVEL_DEBUG;
    atomic_store_explicit(&ldr_log__level, (int)level, memory_order_relaxed);
}

ldr_log_level_t ldr_log_get_level(void) {
    return (ldr_log_level_t)atomic_load_explicit(&ldr_log__level,
                                                 memory_order_relaxed);
}

ldr_err_t ldr_log_parse_level(const char *name, ldr_log_level_t *level) {
    for (int i = 0; i <= LDR_LOG_LEVEL_DEBUG; i++) {
        if (name && strcmp(name, ldr_log_config_names[i]) == 0) {
            *level = (ldr_log_level_t)i;
            return LDR_OK;
        }
    }
    return LDR_ERR_INVALID_ARG;
}

const char *ldr_log_level_name(ldr_log_level_t level) {
    if (level < LDR_LOG_LEVEL_ERROR || level > LDR_LOG_LEVEL_DEBUG) return "?";
    return ldr_log_names[level];
}

void ldr_log_set_program(const char *name) {
    snprintf(ldr_log_program, sizeof(ldr_log_program), "%s",
             name ? name : "ladder");
}

void ldr_log_set_timestamps(int on) {
    ldr_log_timestamps = on != 0;
}

/* Appends the "2026-11-27T01:10:00.123Z " prefix; returns its length. */
static size_t log_timestamp(char *buf, size_t size) {
    int64_t ms = ldr_clock_wall_ms();
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf(buf + n, size - n, ".%03dZ ", (int)(ms % 1000));
    return m < 0 ? n : n + (size_t)m;
}

void ldr_log_write(ldr_log_level_t level, const char *fmt, ...) {
    int saved_errno = errno;
    char line[LDR_LOG_LINE_MAX];
    /* Room for the newline is kept back from every step below. */
    const size_t cap = sizeof(line) - 1;
    size_t n = 0;

    if (ldr_log_timestamps) n = log_timestamp(line, cap);
    int m = snprintf(line + n, cap - n, "%s[%ld] %s ", ldr_log_program,
                     (long)getpid(), ldr_log_level_name(level));
    if (m > 0) n += (size_t)m < cap - n ? (size_t)m : cap - n - 1;

    size_t body = n;
    va_list ap;
    va_start(ap, fmt);
    m = vsnprintf(line + n, cap - n, fmt, ap);
    va_end(ap);
    if (m > 0) {
        if ((size_t)m >= cap - n) {
            /* Cut: vsnprintf kept cap - n - 1 bytes; end them with "...". */
            n = cap - 1;
            memcpy(line + n - 3, "...", 3);
        } else {
            n += (size_t)m;
        }
    }
    for (size_t i = body; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
    line[n++] = '\n';

    ssize_t w;
    do {
        w = write(STDERR_FILENO, line, n);
    } while (w < 0 && errno == EINTR);
    errno = saved_errno;
}
