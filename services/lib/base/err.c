/* err.c -- names and classes of ldr_err_t.
 *
 * DESIGN: every error code has one row in one table, with its stable code
 * name and its description, so the name a log line, a dead-letter header and
 * a metric label carry cannot drift apart. Whether an error is retried or
 * sent to the dead-letter topic is decided here and nowhere else, by the
 * code alone, because the worker must make that choice the same way on every
 * path. */
#include "ladder/err.h"

#include "ladder/alloc.h"
#include <stdarg.h>
#include <stdio.h>

static const struct {
    ldr_err_t err;
    const char *code;
    const char *desc;
} ldr_errs[] = {
    {LDR_OK, "OK", "success"},
    {LDR_ERR_BAD_FRAMING, "BAD_FRAMING",
     "message framing is neither Confluent wire format nor Avro single-object "
     "encoding"},
    {LDR_ERR_UNKNOWN_SCHEMA, "UNKNOWN_SCHEMA",
     "schema id or fingerprint is not known"},
    {LDR_ERR_DECODE_FAILED, "DECODE_FAILED",
     "Avro body does not decode against its writer schema"},
    {LDR_ERR_INVALID_USCC, "INVALID_USCC",
     "unified social credit code is invalid"},
    {LDR_ERR_INVALID_FIELD, "INVALID_FIELD",
     "a field is out of range or malformed"},
    {LDR_ERR_UNKNOWN_REPORTING_UNIT, "UNKNOWN_REPORTING_UNIT",
     "reporting unit is not one of the 37 codes"},
    {LDR_ERR_KEY_MISMATCH, "KEY_MISMATCH",
     "message key is not the record's USCC"},
    {LDR_ERR_WRONG_PARTITION, "WRONG_PARTITION",
     "message is not in the partition its key hashes to"},
    {LDR_ERR_INVALID_ARG, "INVALID_ARG", "invalid argument"},
    {LDR_ERR_CONFIG, "CONFIG", "configuration error"},
    {LDR_ERR_IO, "IO", "local I/O error"},
    {LDR_ERR_SCHEMA, "SCHEMA", "schema file error"},
    {LDR_ERR_ENCODE, "ENCODE", "record could not be encoded"},
    {LDR_ERR_POLICY, "POLICY", "policy file error"},
    {LDR_ERR_TRANSIENT, "TRANSIENT", "dependency temporarily unavailable"},
    {LDR_ERR_FENCED, "FENCED",
     "write refused: partition owned by another worker or store rewound"},
};

static int err_index(ldr_err_t err) {
    for (size_t i = 0; i < LDR_ARRAY_SIZE(ldr_errs); i++)
        if (ldr_errs[i].err == err) return (int)i;
    return -1;
}

const char *ldr_err_str(ldr_err_t err) {
    int i = err_index(err);
    return i < 0 ? "unknown error" : ldr_errs[i].desc;
}

const char *ldr_err_code(ldr_err_t err) {
    int i = err_index(err);
    return i < 0 ? "UNKNOWN" : ldr_errs[i].code;
}

int ldr_err_is_retriable(ldr_err_t err) {
    return err == LDR_ERR_TRANSIENT || err == LDR_ERR_FENCED;
}

int ldr_err_is_dead_letter(ldr_err_t err) {
    return err <= LDR_ERR_BAD_FRAMING && err >= LDR_ERR_WRONG_PARTITION;
}

ldr_err_t ldr_err_set(char *errstr, size_t errstr_size, ldr_err_t err,
                      const char *fmt, ...) {
    if (errstr && errstr_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return err;
}
