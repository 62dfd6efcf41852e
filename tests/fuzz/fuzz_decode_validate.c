/* fuzz_decode_validate.c -- libFuzzer target: what ladder-worker does with
 * every consumed message before the state machine.
 *
 * DESIGN: one input is one Kafka message value. It goes through
 * ldr_codec_decode() exactly as wk_process() hands it over (Confluent or
 * single-object framing, any writer schema of the registry, every record
 * kind), a decoded DesignationDecision is refused as input, and any other
 * record goes through ldr_validate_message() with a key and a partition
 * clock chosen by the input's last byte (the key is the record's USCC half
 * of the time, otherwise none or the first bytes of the message) and a
 * fixed processing time, so the same input always takes the same path.
 * Beyond what ASan and UBSan see
 * (reads past the message, which libFuzzer hands over in a buffer of
 * exactly its size), the target aborts when an invariant the worker relies
 * on breaks:
 *   - decoding fails only with the documented codes and says why;
 *   - a decoded record encodes again, with its own writer schema and
 *     framing and with the current schema, and decodes to the same record;
 *     encoding the re-decoded record gives the same bytes (a fixed point);
 *   - validation is pure: the same record gets the same verdict and
 *     message twice; the message check is the record check followed by
 *     the key check, and a ClockTick's key changes nothing; it fails only
 *     with the dead-letter codes and a message that names the field and
 *     holds no control byte; a record it accepts meets the contract's
 *     bounds that the target can check independently (USCC, reporting
 *     unit, key, strings, time, batch, indicators).
 * The registry and the reporting units are the repository's own files
 * (schemas/, deploy/data/reporting_units.csv), loaded once. */
#include "ladder/codec.h"
#include "ladder/units_file.h"
#include "ladder/utf8.h"
#include "ladder/schema.h"
#include "ladder/units.h"
#include "ladder/uscc.h"
#include "ladder/validate.h"

#include "../support/samples.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Avro-C (the encoder under the round-trip check) packs the fields of its
 * generic values without alignment, and places a top-level value 4 bytes
 * into its block, so the only pointer to a string buffer it holds can sit
 * at an address that is not a multiple of 8. LeakSanitizer skips such
 * words by default and then reports the live buffer as a leak; it must
 * look at every byte offset. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void) {
    return "use_unaligned=1";
}

static ldr_schemas_t *fz_schemas;
static ldr_codec_t *fz_codec;
static ldr_units_t *fz_units;
static ldr_validator_t *fz_validator;

/* 2026-01-01T00:00:00Z: the processing time, fixed so runs repeat. */
#define FZ_NOW_MS INT64_C(1767225600000)
/* The worker's default clock.max.skew.days. */
#define FZ_SKEW_DAYS 400

#define FZ_CHECK(cond, ...)                                                    \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz invariant broken: %s: ", #cond);             \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

static void fz_cleanup(void) {
    ldr_validator_destroy(fz_validator);
    ldr_units_destroy(fz_units);
    ldr_codec_destroy(fz_codec);
    ldr_schemas_destroy(fz_schemas);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    /* LADDERTEST_SRC points at another checkout of the repository (the
     * source tree the target was built from is the default). */
    const char *src = getenv("LADDERTEST_SRC");
    if (!src || !*src) src = LADDER_SOURCE_DIR;
    char path[4096], err[512];
    snprintf(path, sizeof(path), "%s/schemas", src);
    fz_schemas = ldr_schemas_load(path, err, sizeof(err));
    if (!fz_schemas) {
        fprintf(stderr, "fuzz_decode_validate: %s\n", err);
        exit(2);
    }
    fz_codec = ldr_codec_new(fz_schemas, err, sizeof(err));
    if (!fz_codec) {
        fprintf(stderr, "fuzz_decode_validate: %s\n", err);
        exit(2);
    }
    snprintf(path, sizeof(path), "%s/%s", src, LDR_UNITS_DEFAULT_PATH);
    fz_units = ldr_units_load(path, err, sizeof(err));
    if (!fz_units) {
        fprintf(stderr, "fuzz_decode_validate: %s\n", err);
        exit(2);
    }
    fz_validator = ldr_validator_new(fz_units, FZ_SKEW_DAYS);
    if (!fz_validator) {
        fprintf(stderr, "fuzz_decode_validate: no validator\n");
        exit(2);
    }
    atexit(fz_cleanup);
    return 0;
}

static int fz_str_ok(ldr_str_t s, size_t max) {
    return s.len >= 1 && s.len <= max && s.ptr && !memchr(s.ptr, '\0', s.len) &&
           ldr_utf8_valid(s.ptr, s.len);
}

/* The contract's bounds a record that passed validation must meet, checked
 * without the validator's own code paths where that is cheap. */
static void fz_check_accepted(const ldr_record_t *rec, const void *key,
                              size_t key_len, int64_t clock_ms) {
    int64_t tmax = ldr_validate_time_max(clock_ms, FZ_NOW_MS, FZ_SKEW_DAYS);
    ldr_str_t uscc = {0}, unit = {0}, event_id = {0};
    int64_t t;
    switch (rec->kind) {
    case LDR_RECORD_APPLICATION:
        uscc = rec->u.application.uscc;
        unit = rec->u.application.reporting_unit;
        event_id = rec->u.application.event_id;
        t = rec->u.application.occurred_at;
        FZ_CHECK(fz_str_ok(rec->u.application.enterprise_name,
                           LDR_VALIDATE_NAME_MAX),
                 "enterprise_name");
        FZ_CHECK(rec->u.application.batch >= LDR_VALIDATE_BATCH_MIN &&
                     rec->u.application.batch <= LDR_VALIDATE_BATCH_MAX,
                 "batch %d", (int)rec->u.application.batch);
        break;
    case LDR_RECORD_REVIEW:
        uscc = rec->u.review.uscc;
        unit = rec->u.review.reporting_unit;
        event_id = rec->u.review.event_id;
        t = rec->u.review.occurred_at;
        FZ_CHECK(
            fz_str_ok(rec->u.review.enterprise_name, LDR_VALIDATE_NAME_MAX),
            "enterprise_name");
        break;
    case LDR_RECORD_VIOLATION:
        uscc = rec->u.violation.uscc;
        unit = rec->u.violation.reporting_unit;
        event_id = rec->u.violation.event_id;
        t = rec->u.violation.occurred_at;
        FZ_CHECK(fz_str_ok(rec->u.violation.case_id, LDR_VALIDATE_ID_MAX),
                 "case_id");
        break;
    case LDR_RECORD_CLOCK_TICK:
        FZ_CHECK(fz_str_ok(rec->u.tick.source, LDR_VALIDATE_ID_MAX), "source");
        t = rec->u.tick.tick_at;
        break;
    default: FZ_CHECK(0, "validation accepted kind %d", (int)rec->kind);
    }
    FZ_CHECK(t >= LDR_VALIDATE_TIME_MIN_MS && t <= tmax,
             "time %lld outside [%lld, %lld]", (long long)t,
             (long long)LDR_VALIDATE_TIME_MIN_MS, (long long)tmax);
    if (rec->kind == LDR_RECORD_CLOCK_TICK) return;
    FZ_CHECK(fz_str_ok(event_id, LDR_VALIDATE_ID_MAX), "event_id");
    FZ_CHECK(ldr_uscc_is_valid(uscc.ptr, uscc.len), "uscc of %zu bytes",
             uscc.len);
    FZ_CHECK(ldr_units_find(fz_units, unit.ptr, unit.len) != NULL,
             "reporting_unit of %zu bytes", unit.len);
    FZ_CHECK(key && key_len == uscc.len && memcmp(key, uscc.ptr, key_len) == 0,
             "key of %zu bytes differs from the uscc", key_len);
    if (rec->kind != LDR_RECORD_VIOLATION) {
        const ldr_indicators_t *ind = rec->kind == LDR_RECORD_APPLICATION
                                          ? &rec->u.application.indicators
                                          : &rec->u.review.indicators;
        char err[512];
        FZ_CHECK(ldr_validate_indicators(ind, err, sizeof(err)) == LDR_OK, "%s",
                 err);
        FZ_CHECK(ind->rd_staff <= ind->employees, "rd_staff > employees");
    }
}

/* A dead-letter reason ends up in Kafka headers, logs and JSON: it holds
 * no control byte and is valid UTF-8 whatever the input was. */
static void fz_check_message(const char *err) {
    for (const char *q = err; *q; q++)
        FZ_CHECK((unsigned char)*q >= 0x20 && *q != 0x7f,
                 "control byte 0x%02x in '%s': untrusted bytes unescaped",
                 (unsigned)(unsigned char)*q, err);
    FZ_CHECK(ldr_utf8_valid(err, strlen(err)),
             "message is not valid UTF-8: untrusted bytes unescaped");
}

static ldr_str_t fz_uscc_of(const ldr_record_t *rec) {
    switch (rec->kind) {
    case LDR_RECORD_APPLICATION: return rec->u.application.uscc;
    case LDR_RECORD_REVIEW: return rec->u.review.uscc;
    case LDR_RECORD_VIOLATION: return rec->u.violation.uscc;
    default: return (ldr_str_t){0};
    }
}

/* Encodes @p rec with @p writer / @p framing (the current schema when
 * @p writer is NULL) into a private copy the caller frees, or NULL when
 * the codec refused, with the reason in @p err. */
static uint8_t *fz_encode(const ldr_schema_t *writer, ldr_framing_t framing,
                          const ldr_record_t *rec, size_t *len, ldr_err_t *rc,
                          char *err, size_t n) {
    const void *out;
    *rc = writer ? ldr_codec_encode_with(fz_codec, writer, framing, rec, &out,
                                         len, err, n)
                 : ldr_codec_encode(fz_codec, rec, &out, len, err, n);
    if (*rc) return NULL;
    uint8_t *copy = malloc(*len ? *len : 1);
    FZ_CHECK(copy != NULL, "out of memory");
    memcpy(copy, out, *len);
    return copy;
}

/* Re-encoding: the decoded record @p rec (from @p size input bytes) must
 * survive encode -> decode unchanged. */
static void fz_check_round_trip(const ldr_record_t *rec,
                                const ldr_schema_t *writer,
                                ldr_framing_t framing, size_t size) {
    char err[512], what[64];
    size_t len;
    ldr_err_t rc;
    ldr_record_t back;
    const ldr_schema_t *w2;
    for (int pass = 0; pass < 2; pass++) {
        const ldr_schema_t *s = pass == 0 ? writer : NULL;
        uint8_t *b = fz_encode(s, framing, rec, &len, &rc, err, sizeof(err));
        if (!b) {
            /* Only a record at the size limit may grow past it: the
             * current schema writes fields an older one lacked. */
            FZ_CHECK(rc == LDR_ERR_ENCODE && size + 64 > LDR_CODEC_MAX_MESSAGE,
                     "pass %d: a decoded record does not encode: %s", pass,
                     err);
            continue;
        }
        rc = ldr_codec_decode(fz_codec, b, len, &back, &w2, err, sizeof(err));
        FZ_CHECK(rc == LDR_OK, "pass %d: re-encoded record does not decode: %s",
                 pass, err);
        FZ_CHECK(ldr_sample_equal(rec, &back, what, sizeof(what)),
                 "pass %d: field %s changed through encode and decode", pass,
                 what);
        FZ_CHECK(w2 == (s ? s : ldr_schemas_current(fz_schemas, rec->kind)),
                 "pass %d: decoded with another writer schema", pass);
        if (pass == 1) {
            /* Canonical form: the re-decoded record encodes to the same
             * bytes again. */
            size_t len2;
            uint8_t *b2 = fz_encode(NULL, LDR_FRAMING_CONFLUENT, &back, &len2,
                                    &rc, err, sizeof(err));
            FZ_CHECK(b2 != NULL, "second encode: %s", err);
            FZ_CHECK(len2 == len && memcmp(b, b2, len) == 0,
                     "encoding is not a fixed point (%zu vs %zu bytes)", len,
                     len2);
            free(b2);
        }
        free(b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ldr_record_t rec;
    const ldr_schema_t *writer = NULL;
    char err[512];
    err[0] = '\0';
    ldr_err_t rc =
        ldr_codec_decode(fz_codec, data, size, &rec, &writer, err, sizeof(err));
    if (rc) {
        /* No schema fetcher: TRANSIENT cannot happen here. */
        FZ_CHECK(rc == LDR_ERR_BAD_FRAMING || rc == LDR_ERR_UNKNOWN_SCHEMA ||
                     rc == LDR_ERR_DECODE_FAILED,
                 "decode returned %d (%s)", (int)rc, err);
        FZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL,
                 "decode error %d without a message", (int)rc);
        fz_check_message(err);
        return 0;
    }
    FZ_CHECK(writer != NULL && ldr_schema_kind(writer) == rec.kind,
             "writer schema of kind %d for a record of kind %d",
             writer ? (int)ldr_schema_kind(writer) : -1, (int)rec.kind);
    FZ_CHECK(rec.kind >= LDR_RECORD_APPLICATION &&
                 rec.kind <= LDR_RECORD_DECISION,
             "kind %d", (int)rec.kind);
    ldr_framing_t framing =
        data[0] == 0x00 ? LDR_FRAMING_CONFLUENT : LDR_FRAMING_SINGLE_OBJECT;
    fz_check_round_trip(&rec, writer, framing, size);

    /* The message's key, partition clock and processing time, from the
     * input's last byte (which is part of the record, so the mutator moves
     * between the choices). */
    uint8_t sel = data[size - 1];
    const void *key = NULL;
    size_t key_len = 0;
    ldr_str_t uscc = fz_uscc_of(&rec);
    switch (sel & 3) {
    case 0:
    case 1:
        key = uscc.ptr;
        key_len = uscc.len;
        break;
    case 2: break; /* no key */
    case 3:
        key = data;
        key_len = size < 18 ? size : 18;
        break;
    }
    static const int64_t clocks[] = {INT64_MIN, 0, FZ_NOW_MS,
                                     FZ_NOW_MS + 1000 * LDR_VALIDATE_DAY_MS,
                                     INT64_MAX};
    int64_t clock_ms = clocks[((sel >> 2) & 7) % 5];

    char err2[512];
    rc = ldr_validate_message(fz_validator, &rec, key, key_len, clock_ms,
                              FZ_NOW_MS, err, sizeof(err));
    if (rec.kind == LDR_RECORD_DECISION) {
        /* The worker dead-letters it before validation; the validator
         * refuses it as no input record. */
        FZ_CHECK(rc == LDR_ERR_INVALID_ARG,
                 "a DesignationDecision validated with %d", (int)rc);
        return 0;
    }
    ldr_err_t rc2 =
        ldr_validate_message(fz_validator, &rec, key, key_len, clock_ms,
                             FZ_NOW_MS, err2, sizeof(err2));
    FZ_CHECK(rc == rc2 && (rc == LDR_OK || strcmp(err, err2) == 0),
             "validation is not repeatable: %d '%s' then %d '%s'", (int)rc, err,
             (int)rc2, err2);
    /* The message check is the record check, then the key check; an
     * invalid record is reported as such whatever its key. */
    ldr_err_t rc_rec = ldr_validate_record(fz_validator, &rec, clock_ms,
                                           FZ_NOW_MS, err2, sizeof(err2));
    if (rc_rec == LDR_OK)
        rc_rec = ldr_validate_key(&rec, key, key_len, err2, sizeof(err2));
    FZ_CHECK(rc_rec == rc, "message check %d, record and key checks %d",
             (int)rc, (int)rc_rec);
    if (rec.kind == LDR_RECORD_CLOCK_TICK) {
        /* A tick is unkeyed: any key, or none, gets the same answer. */
        rc2 = ldr_validate_message(fz_validator, &rec, NULL, 0, clock_ms,
                                   FZ_NOW_MS, err2, sizeof(err2));
        FZ_CHECK(rc2 == rc, "a tick's key changed the answer: %d vs %d",
                 (int)rc, (int)rc2);
    }
    if (rc == LDR_OK) {
        fz_check_accepted(&rec, key, key_len, clock_ms);
        return 0;
    }
    FZ_CHECK(rc == LDR_ERR_INVALID_USCC ||
                 rc == LDR_ERR_UNKNOWN_REPORTING_UNIT ||
                 rc == LDR_ERR_KEY_MISMATCH || rc == LDR_ERR_INVALID_FIELD,
             "validation returned %d (%s)", (int)rc, err);
    FZ_CHECK(strchr(err, ':') != NULL && err[0] != ':',
             "message does not start with a field name: '%s'", err);
    fz_check_message(err);
    return 0;
}
