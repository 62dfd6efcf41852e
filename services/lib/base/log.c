/* log.c -- levelled, single-write log lines on stderr (see log.h).
 *
 * DESIGN: a line is built in a fixed stack buffer and written with one
 * write(2) on file descriptor 2, bypassing stdio: stdio's stderr is
 * unbuffered, so fprintf would issue one write per conversion and two
 * threads' lines could interleave. A single write of at most
 * LDR_LOG_LINE_MAX (= PIPE_BUF on Linux) bytes is atomic on a pipe and
 * appends whole on an O_APPEND file, which is what makes concurrent lines
 * come out whole. A JSON line is built the same way, from a message
 * formatted into a second stack buffer and escaped into the line. Logging
 * never allocates and never fails the caller: if
 * stderr is gone, the line is lost. */
#include "ladder/log.h"

#include "ladder/clock.h"
#include "ladder/utf8.h"
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
static ldr_log_format_t ldr_log_fmt = LDR_LOG_FORMAT_TEXT;

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

ldr_err_t ldr_log_parse_format(const char *name, ldr_log_format_t *format) {
    if (name && strcmp(name, "text") == 0) {
        *format = LDR_LOG_FORMAT_TEXT;
        return LDR_OK;
    }
    if (name && strcmp(name, "json") == 0) {
        *format = LDR_LOG_FORMAT_JSON;
        return LDR_OK;
    }
    return LDR_ERR_INVALID_ARG;
}

void ldr_log_set_format(ldr_log_format_t format) {
    ldr_log_fmt = format == LDR_LOG_FORMAT_JSON ? LDR_LOG_FORMAT_JSON
                                                : LDR_LOG_FORMAT_TEXT;
}

ldr_log_format_t ldr_log_get_format(void) {
    return ldr_log_fmt;
}

void ldr_log_set_program(const char *name) {
    snprintf(ldr_log_program, sizeof(ldr_log_program), "%s",
             name ? name : "ladder");
}

void ldr_log_set_timestamps(int on) {
    ldr_log_timestamps = on != 0;
}

/* Writes "2026-11-27T01:10:00.123Z" into @p buf; returns its length. */
static size_t log_timestamp(char *buf, size_t size) {
    int64_t ms = ldr_clock_wall_ms();
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf(buf + n, size - n, ".%03dZ", (int)(ms % 1000));
    return m < 0 ? n : n + (size_t)m;
}

static void log_emit(const char *line, size_t n) {
    ssize_t w;
    do {
        w = write(STDERR_FILENO, line, n);
    } while (w < 0 && errno == EINTR);
}

/* Appends @p s to @p out at *@p n when all of it fits below @p cap; returns
 * whether it did. */
static int log_put(char *out, size_t *n, size_t cap, const char *s,
                   size_t len) {
    if (len > cap - *n) return 0;
    memcpy(out + *n, s, len);
    *n += len;
    return 1;
}

/* The length of the UTF-8 sequence that lead byte @p c starts (0: none). */
static size_t log_utf8_len(unsigned char c) {
    if (c >= 0xC2 && c <= 0xDF) return 2;
    if (c >= 0xE0 && c <= 0xEF) return 3;
    if (c >= 0xF0 && c <= 0xF4) return 4;
    return 0;
}

/* Appends the @p len bytes at @p s to @p out as the inside of a JSON string,
 * stopping before the first character whose escape would pass @p cap.
 * Returns how many bytes of @p s went in. */
static size_t log_json_escape(char *out, size_t *n, size_t cap, const char *s,
                              size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8];
        size_t tl = 0;
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            tl = 2;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            tmp[0] = '\\';
            tmp[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            tl = 2;
        } else if (c < 0x20 || c == 0x7F) {
            tl = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", c);
        } else if (c < 0x80) {
            tmp[0] = (char)c;
            tl = 1;
        } else {
            size_t sl = log_utf8_len(c);
            if (sl && sl <= len - i && ldr_utf8_valid(s + i, sl)) {
                if (!log_put(out, n, cap, s + i, sl)) break;
                i += sl;
                continue;
            }
            /* Not UTF-8: the text \xNN, as ldr_escape_show() writes it. */
            tl = (size_t)snprintf(tmp, sizeof(tmp), "\\\\x%02x", c);
        }
        if (!log_put(out, n, cap, tmp, tl)) break;
        i++;
    }
    return i;
}

/* The "fields" member (with its leading comma) of @p kv into @p buf;
 * returns its length, 0 when there are none or they do not fit. */
static size_t log_json_fields(const char *const *kv, char *buf, size_t cap) {
    size_t n = 0;
    if (!kv || !kv[0] || !kv[1]) return 0;
    if (!log_put(buf, &n, cap, ",\"fields\":{", 11)) return 0;
    for (size_t i = 0; kv[i] && kv[i + 1]; i += 2) {
        size_t kl = strlen(kv[i]), vl = strlen(kv[i + 1]);
        if ((i && !log_put(buf, &n, cap, ",", 1)) ||
            !log_put(buf, &n, cap, "\"", 1) ||
            log_json_escape(buf, &n, cap, kv[i], kl) != kl ||
            !log_put(buf, &n, cap, "\":\"", 3) ||
            log_json_escape(buf, &n, cap, kv[i + 1], vl) != vl ||
            !log_put(buf, &n, cap, "\"", 1))
            return 0;
    }
    if (!log_put(buf, &n, cap, "}", 1)) return 0;
    return n;
}

/* One JSON line: the message is formatted first, then escaped into the
 * line, so the cut falls between characters and the line stays valid. */
__attribute__((format(printf, 3, 0))) static void
log_write_json(ldr_log_level_t level, const char *const *kv, const char *fmt,
               va_list ap) {
    char msg[LDR_LOG_LINE_MAX];
    int m = vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t mlen = m < 0 ? 0 : (size_t)m;
    int cut = mlen >= sizeof(msg);
    if (cut) mlen = sizeof(msg) - 1;

    char fields[1024];
    size_t flen = log_json_fields(kv, fields, sizeof(fields));

    char line[LDR_LOG_LINE_MAX];
    const size_t cap = sizeof(line) - 1; /* the newline */
    size_t n = 0;
    char ts[40];
    int p;
    if (ldr_log_timestamps) {
        log_timestamp(ts, sizeof(ts));
        p = snprintf(line, cap, "{\"time\":\"%s\",", ts);
    } else {
        p = snprintf(line, cap, "{");
    }
    n = (size_t)p;
    /* The program name is the caller's, so it is escaped like the rest. */
    p = snprintf(line + n, cap - n, "\"level\":\"%s\",\"program\":\"",
                 ldr_log_level_name(level));
    n += (size_t)p;
    log_json_escape(line, &n, n + 128, ldr_log_program,
                    strlen(ldr_log_program));
    p = snprintf(line + n, cap - n, "\",\"pid\":%ld,\"event\":\"",
                 (long)getpid());
    n += (size_t)p;
    /* Keep back room for "...", the closing quote, the fields and '}'. */
    size_t tail = 3 + 1 + flen + 1;
    size_t used = log_json_escape(line, &n, cap - tail, msg, mlen);
    if (cut || used < mlen) log_put(line, &n, cap, "...", 3);
    log_put(line, &n, cap, "\"", 1);
    log_put(line, &n, cap, fields, flen);
    log_put(line, &n, cap, "}", 1);
    line[n++] = '\n';
    log_emit(line, n);
}

__attribute__((format(printf, 3, 0))) static void
log_write_text(ldr_log_level_t level, const char *const *kv, const char *fmt,
               va_list ap) {
    char line[LDR_LOG_LINE_MAX];
    /* Room for the newline is kept back from every step below. */
    const size_t cap = sizeof(line) - 1;
    size_t n = 0;

    if (ldr_log_timestamps) {
        n = log_timestamp(line, cap);
        line[n++] = ' ';
    }
    int m = snprintf(line + n, cap - n, "%s[%ld] %s ", ldr_log_program,
                     (long)getpid(), ldr_log_level_name(level));
    if (m > 0) n += (size_t)m < cap - n ? (size_t)m : cap - n - 1;

    size_t body = n;
    m = vsnprintf(line + n, cap - n, fmt, ap);
    if (m > 0) {
        if ((size_t)m >= cap - n) {
            /* Cut: vsnprintf kept cap - n - 1 bytes; end them with "...". */
            n = cap - 1;
            memcpy(line + n - 3, "...", 3);
        } else {
            n += (size_t)m;
        }
    }
    for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2) {
        m = snprintf(line + n, cap - n, " %s=%s", kv[i], kv[i + 1]);
        if (m < 0 || (size_t)m >= cap - n) break;
        n += (size_t)m;
    }
    for (size_t i = body; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
    line[n++] = '\n';
    log_emit(line, n);
}

__attribute__((format(printf, 3, 0))) static void
log_vwrite(ldr_log_level_t level, const char *const *kv, const char *fmt,
           va_list ap) {
    int saved_errno = errno;
    if (ldr_log_fmt == LDR_LOG_FORMAT_JSON)
        log_write_json(level, kv, fmt, ap);
    else
        log_write_text(level, kv, fmt, ap);
    errno = saved_errno;
}

void ldr_log_write(ldr_log_level_t level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, NULL, fmt, ap);
    va_end(ap);
}

void ldr_log_write_kv(ldr_log_level_t level, const char *const *kv,
                      const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, kv, fmt, ap);
    va_end(ap);
}
