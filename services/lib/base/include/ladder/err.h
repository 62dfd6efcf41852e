/* err.h -- the one project-wide error type.
 *
 * DESIGN: every fallible ladder function returns an ldr_err_t: 0 is success,
 * negative values are errors. The first group are the permanent input errors
 * of CONTRACT.md (a message that carries one of them goes to the dead-letter
 * queue under the code name returned by ldr_err_code()). The second group are
 * operational errors. Whether the worker retries or dead-letters a message is
 * decided in exactly one place, from ldr_err_is_retriable(). Foreign errors
 * (Avro-C, hiredis, librdkafka) are translated inside the wrapper that called
 * the library and never leak past it. */
#ifndef LADDER_ERR_H
#define LADDER_ERR_H

#include <stddef.h>

typedef enum ldr_err {
    LDR_OK = 0,

    /* Permanent input errors: dead letters (CONTRACT.md "Dead letters"). */
    LDR_ERR_BAD_FRAMING = -1,
    LDR_ERR_UNKNOWN_SCHEMA = -2,
    LDR_ERR_DECODE_FAILED = -3,
    LDR_ERR_INVALID_USCC = -4,
    LDR_ERR_INVALID_FIELD = -5,
    LDR_ERR_UNKNOWN_REPORTING_UNIT = -6,
    LDR_ERR_KEY_MISMATCH = -7,
    LDR_ERR_WRONG_PARTITION = -8,

    /* Operational errors. */
    LDR_ERR_INVALID_ARG = -20, /* a caller passed something impossible */
    LDR_ERR_CONFIG = -21,      /* configuration file, variable or value */
    LDR_ERR_IO = -22,          /* a local file could not be read or written */
    LDR_ERR_SCHEMA = -23,      /* a schema file is missing or malformed */
    LDR_ERR_ENCODE = -24,      /* a record could not be encoded */
    LDR_ERR_POLICY = -25,      /* a policy file is missing or malformed */
    LDR_ERR_TRANSIENT = -30,   /* a dependency is unreachable: retry later */
    LDR_ERR_FENCED = -31,      /* another owner wrote: drop cache, re-seek */
} ldr_err_t;

/** Human-readable description of @p err (static storage). */
const char *ldr_err_str(ldr_err_t err);

/** Upper-case code name, e.g. "BAD_FRAMING", as used in the DLQ header
 *  ladder.error.code (static storage). */
const char *ldr_err_code(ldr_err_t err);

/** Non-zero when the operation may succeed if retried unchanged. */
int ldr_err_is_retriable(ldr_err_t err);

/** Non-zero when a message that failed with @p err belongs in the DLQ. */
int ldr_err_is_dead_letter(ldr_err_t err);

/** Formats a message into a caller-supplied errstr buffer (NULL-safe,
 *  always NUL-terminated) and returns @p err, so that call sites read
 *  `return ldr_err_set(errstr, errstr_size, LDR_ERR_X, "fmt", ...)`. */
ldr_err_t ldr_err_set(char *errstr, size_t errstr_size, ldr_err_t err,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
