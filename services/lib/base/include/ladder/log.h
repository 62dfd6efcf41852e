/* log.h -- the levelled logger every ladder program writes to stderr with.
 *
 * DESIGN: one line per record, in the form
 *
 *     2026-11-27T01:10:00.123Z ladder-worker[1234] WARN message
 *
 * (UTC with milliseconds, program name, process id, level, message). The
 * LDR_LOG_* macros compare the level before they evaluate their arguments or
 * format anything, so a DEBUG line in a hot loop costs one relaxed atomic load
 * when debug logging is off. Each line is formatted into a stack buffer and
 * handed to the kernel in a single write(), so lines from concurrent threads
 * (or processes sharing the terminal or pipe) never interleave mid-line; a
 * message longer than LDR_LOG_LINE_MAX is cut and marked with "...". Newlines
 * inside a message become spaces, so one record is always one line for the
 * tools that read the log.
 *
 * With log.format = json each record is instead one JSON object per line,
 *
 *     {"time":"2026-11-27T01:10:00.123Z","level":"WARN",
 *      "program":"ladder-worker","pid":1234,"event":"message",
 *      "fields":{"partition":"3"}}
 *
 * for log collectors that parse lines: "time" only while log.timestamps is
 * on, "fields" only when the call gave some (LDR_LOG_KV()). The message is
 * escaped for JSON as it is written: valid UTF-8 passes through, control
 * characters become \u00xx and a byte that is not UTF-8 is written as the
 * text \xnn (as ldr_escape_show() writes it), so any message, whatever it
 * holds, stays one valid JSON line. A message that does not fit is cut
 * between two characters as it is escaped, never inside an escape, and ends
 * in "..." inside the string.
 *
 * The level, the program name, the format and the timestamp switch are
 * process-wide, like Redis's verbosity: a program sets them once at start-up
 * from its configuration (log.level, log.format, log.timestamps) before it
 * starts threads. */
#ifndef LADDER_LOG_H
#define LADDER_LOG_H

#include <stdatomic.h>

#include "ladder/err.h"

typedef enum ldr_log_level {
    LDR_LOG_LEVEL_ERROR = 0,
    LDR_LOG_LEVEL_WARN = 1,
    LDR_LOG_LEVEL_INFO = 2,
    LDR_LOG_LEVEL_DEBUG = 3,
} ldr_log_level_t;

typedef enum ldr_log_format {
    LDR_LOG_FORMAT_TEXT = 0,
    LDR_LOG_FORMAT_JSON = 1,
} ldr_log_format_t;

/** Longest line written, newline included; longer messages are cut. */
#define LDR_LOG_LINE_MAX 4096

/* Log a printf-style message at a level: LDR_LOG_WARN("lag %d", lag).
 * Nothing after the level check is evaluated when the level is off. */
#define LDR_LOG_ERROR(...) LDR_LOG__AT(LDR_LOG_LEVEL_ERROR, __VA_ARGS__)
#define LDR_LOG_WARN(...)  LDR_LOG__AT(LDR_LOG_LEVEL_WARN, __VA_ARGS__)
#define LDR_LOG_INFO(...)  LDR_LOG__AT(LDR_LOG_LEVEL_INFO, __VA_ARGS__)
#define LDR_LOG_DEBUG(...) LDR_LOG__AT(LDR_LOG_LEVEL_DEBUG, __VA_ARGS__)

/** Sets the most verbose level that is written (default INFO). */
void ldr_log_set_level(ldr_log_level_t level);

/** The current level. */
ldr_log_level_t ldr_log_get_level(void);

/** Parses "error", "warn", "info" or "debug" (the values of log.level) into
 *  @p level. Returns LDR_ERR_INVALID_ARG, leaving @p level untouched, for
 *  anything else. */
ldr_err_t ldr_log_parse_level(const char *name, ldr_log_level_t *level);

/** Upper-case name of @p level as it appears in a line ("WARN"; static
 *  storage). */
const char *ldr_log_level_name(ldr_log_level_t level);

/** Parses "text" or "json" (the values of log.format) into @p format.
 *  Returns LDR_ERR_INVALID_ARG, leaving @p format untouched, for anything
 *  else. */
ldr_err_t ldr_log_parse_format(const char *name, ldr_log_format_t *format);

/** Sets the line format (default text). Call before starting threads. */
void ldr_log_set_format(ldr_log_format_t format);

/** The current line format. */
ldr_log_format_t ldr_log_get_format(void);

/** Sets the program name written on every line (default "ladder"). The name
 *  is copied (at most 63 bytes are kept). Call before starting threads. */
void ldr_log_set_program(const char *name);

/** Turns the leading UTC timestamp on (the default) or off, for when the
 *  journal or the container runtime already stamps every line. Call before
 *  starting threads. */
void ldr_log_set_timestamps(int on);

/** Writes one line at @p level, whatever the current level; the macros are
 *  the interface. Preserves errno. */
void ldr_log_write(ldr_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** As ldr_log_write(), with structured fields: @p kv is a NULL-terminated
 *  list of name, value, name, value... (NULL: none). In JSON they form the
 *  "fields" object; in text they follow the message as " name=value". */
void ldr_log_write_kv(ldr_log_level_t level, const char *const *kv,
                      const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Log with fields: LDR_LOG_KV(LDR_LOG_LEVEL_INFO,
 * ((const char *[]){"partition", p, NULL}), "resuming at offset %lld", o). */
#define LDR_LOG_KV(level, kv, ...)                                             \
    do {                                                                       \
        if ((int)(level) <=                                                    \
            atomic_load_explicit(&ldr_log__level, memory_order_relaxed))       \
            ldr_log_write_kv((level), (kv), __VA_ARGS__);                      \
    } while (0)

/* Internal: the level the macros test. Use ldr_log_set_level(). */
extern atomic_int ldr_log__level;

#define LDR_LOG__AT(level, ...)                                                \
    do {                                                                       \
        if ((int)(level) <=                                                    \
            atomic_load_explicit(&ldr_log__level, memory_order_relaxed))       \
            ldr_log_write((level), __VA_ARGS__);                               \
    } while (0)

#endif
