/* test_codec.c -- round trips, framing, old-schema resolution, hostile bytes
 * and allocation behaviour of the codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ladder/codec.h"

#include "../support/samples.h"

#include <avro.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMAS LADDER_SOURCE_DIR "/schemas"

/* The test binary is linked with --wrap for the allocation functions, so
 * that decoding can be shown to allocate nothing at all. */
void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
static size_t mallocs;
void *__wrap_malloc(size_t size) {
    mallocs++;
    return __real_malloc(size);
}
void *__wrap_calloc(size_t n, size_t size) {
    mallocs++;
    return __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t size) {
    mallocs++;
    return __real_realloc(p, size);
}

typedef struct fixture {
    ldr_schemas_t *schemas;
    ldr_codec_t *codec;
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof(*f));
    char err[512];
    f->schemas = ldr_schemas_load(SCHEMAS, err, sizeof(err));
    if (!f->schemas) fail_msg("%s", err);
    f->codec = ldr_codec_new(f->schemas, err, sizeof(err));
    if (!f->codec) fail_msg("%s", err);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    ldr_codec_destroy(f->codec);
    ldr_schemas_destroy(f->schemas);
    free(f);
    return 0;
}

/* Encodes into a private copy (the codec's buffer is reused). */
static uint8_t *encode_copy(fixture_t *f, const ldr_schema_t *s,
                            ldr_framing_t framing, const ldr_record_t *rec,
                            size_t *len) {
    const void *out;
    char err[512];
    ldr_err_t rc =
        s ? ldr_codec_encode_with(f->codec, s, framing, rec, &out, len, err,
                                  sizeof(err))
          : ldr_codec_encode(f->codec, rec, &out, len, err, sizeof(err));
    if (rc) fail_msg("encode: %s", err);
    uint8_t *copy = malloc(*len + 1);
    memcpy(copy, out, *len);
    return copy;
}

static void expect_round_trip(fixture_t *f, const ldr_schema_t *s,
                              ldr_framing_t framing, ldr_record_kind_t kind,
                              int variant) {
    ldr_record_t in, out;
    ldr_sample_record(&in, kind, variant);
    size_t len;
    uint8_t *bytes = encode_copy(f, s, framing, &in, &len);
    char err[512], what[64];
    const ldr_schema_t *writer;
    ldr_err_t rc =
        ldr_codec_decode(f->codec, bytes, len, &out, &writer, err, sizeof(err));
    if (rc) fail_msg("kind %d variant %d: %s", kind, variant, err);
    if (!ldr_sample_equal(&in, &out, what, sizeof(what)))
        fail_msg("kind %d variant %d framing %d: field %s differs", kind,
                 variant, framing, what);
    assert_int_equal(ldr_schema_kind(writer), kind);
    free(bytes);
}

static void test_codec_round_trips_every_record(void **state) {
    fixture_t *f = *state;
    for (int k = LDR_RECORD_APPLICATION; k <= LDR_RECORD_DECISION; k++)
        for (int v = 0; v < 2; v++)
            expect_round_trip(f, NULL, LDR_FRAMING_CONFLUENT, k, v);
}

/* The encoder writes Avro's binary encoding itself: Avro-C must read every
 * record it writes, and writing what Avro-C read must give the same bytes
 * back, for every record with its optional fields set and unset. */
static void test_codec_encoding_matches_avro_c(void **state) {
    fixture_t *f = *state;
    static const char *const files[] = {NULL,
                                        "application_submitted.avsc",
                                        "review_submitted.avsc",
                                        "violation_reported.avsc",
                                        "clock_tick.avsc",
                                        "designation_decision.avsc"};
    for (int k = LDR_RECORD_APPLICATION; k <= LDR_RECORD_DECISION; k++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", SCHEMAS, files[k]);
        FILE *fp = fopen(path, "r");
        assert_non_null(fp);
        static char text[65536];
        size_t tn = fread(text, 1, sizeof(text) - 1, fp);
        fclose(fp);
        text[tn] = 0;
        avro_schema_t schema;
        assert_int_equal(avro_schema_from_json_length(text, tn, &schema), 0);
        avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
        assert_non_null(iface);
        for (int v = 0; v < 2; v++) {
            ldr_record_t in;
            ldr_sample_record(&in, k, v);
            size_t len;
            uint8_t *bytes =
                encode_copy(f, NULL, LDR_FRAMING_CONFLUENT, &in, &len);
            avro_value_t value;
            assert_int_equal(avro_generic_value_new(iface, &value), 0);
            avro_reader_t r =
                avro_reader_memory((const char *)bytes + 5, (int64_t)len - 5);
            if (avro_value_read(r, &value))
                fail_msg("kind %d variant %d: Avro-C cannot read it: %s", k, v,
                         avro_strerror());
            size_t size = 0;
            assert_int_equal(avro_value_sizeof(&value, &size), 0);
            assert_int_equal(size, len - 5);
            char *again = malloc(size);
            avro_writer_t w = avro_writer_memory(again, (int64_t)size);
            assert_int_equal(avro_value_write(w, &value), 0);
            assert_memory_equal(again, bytes + 5, size);
            avro_writer_free(w);
            avro_reader_free(r);
            avro_value_decref(&value);
            free(again);
            free(bytes);
        }
        avro_value_iface_decref(iface);
        avro_schema_decref(schema);
    }
}

static void test_codec_confluent_header_names_current_id(void **state) {
    fixture_t *f = *state;
    for (int k = LDR_RECORD_APPLICATION; k <= LDR_RECORD_DECISION; k++) {
        ldr_record_t rec;
        ldr_sample_record(&rec, k, 0);
        size_t len;
        uint8_t *b = encode_copy(f, NULL, LDR_FRAMING_CONFLUENT, &rec, &len);
        assert_int_equal(b[0], 0);
        assert_int_equal((b[1] << 24) | (b[2] << 16) | (b[3] << 8) | b[4], k);
        free(b);
    }
}

static void test_codec_decodes_single_object_encoding(void **state) {
    fixture_t *f = *state;
    for (int k = LDR_RECORD_APPLICATION; k <= LDR_RECORD_DECISION; k++) {
        const ldr_schema_t *s = ldr_schemas_current(f->schemas, k);
        for (int v = 0; v < 2; v++)
            expect_round_trip(f, s, LDR_FRAMING_SINGLE_OBJECT, k, v);
        ldr_record_t rec;
        ldr_sample_record(&rec, k, 0);
        size_t len;
        uint8_t *b = encode_copy(f, s, LDR_FRAMING_SINGLE_OBJECT, &rec, &len);
        assert_int_equal(b[0], 0xC3);
        assert_int_equal(b[1], 0x01);
        uint64_t fp = 0;
        for (int i = 9; i >= 2; i--)
            fp = fp << 8 | b[i];
        assert_true(fp == ldr_schema_fingerprint(s));
        free(b);
    }
}

static void test_codec_resolves_old_application_schema(void **state) {
    fixture_t *f = *state;
    const ldr_schema_t *old;
    char err[512], what[64];
    assert_int_equal(ldr_schemas_by_id(f->schemas, 101, &old, err, sizeof(err)),
                     LDR_OK);
    for (int framing = 0; framing < 2; framing++) {
        ldr_record_t in, out;
        ldr_sample_record(&in, LDR_RECORD_APPLICATION, 0);
        size_t len;
        uint8_t *b = encode_copy(f, old, (ldr_framing_t)framing, &in, &len);
        if (framing == LDR_FRAMING_CONFLUENT) assert_int_equal(b[4], 101);
        const ldr_schema_t *writer;
        ldr_err_t rc =
            ldr_codec_decode(f->codec, b, len, &out, &writer, err, sizeof(err));
        if (rc) fail_msg("%s", err);
        assert_ptr_equal(writer, old);
        /* The two fields version 0 lacks take the reader's defaults. */
        assert_int_equal(out.u.application.indicators.honours, 0);
        assert_false(out.u.application.indicators.has_development_score);
        in.u.application.indicators.honours = 0;
        in.u.application.indicators.has_development_score = false;
        if (!ldr_sample_equal(&in, &out, what, sizeof(what)))
            fail_msg("field %s differs", what);
        /* The old encoding really is shorter: the fields are absent. */
        ldr_record_t cur;
        ldr_sample_record(&cur, LDR_RECORD_APPLICATION, 0);
        size_t cur_len;
        uint8_t *cb =
            encode_copy(f, NULL, LDR_FRAMING_CONFLUENT, &cur, &cur_len);
        assert_true(len - (framing ? 10 : 5) < cur_len - 5);
        free(cb);
        free(b);
    }
}

static ldr_err_t decode(fixture_t *f, const void *b, size_t len, char *err,
                        size_t n) {
    ldr_record_t out;
    return ldr_codec_decode(f->codec, b, len, &out, NULL, err, n);
}

static void test_codec_rejects_bad_framing(void **state) {
    fixture_t *f = *state;
    char err[512];
    const uint8_t empty[1] = {0};
    assert_int_equal(decode(f, empty, 0, err, sizeof(err)),
                     LDR_ERR_BAD_FRAMING);
    const uint8_t short_confluent[] = {0x00, 0x00, 0x00, 0x01};
    assert_int_equal(
        decode(f, short_confluent, sizeof(short_confluent), err, sizeof(err)),
        LDR_ERR_BAD_FRAMING);
    const uint8_t wrong_magic[] = {0x01, 0x00, 0x00, 0x00, 0x01, 0x02};
    assert_int_equal(
        decode(f, wrong_magic, sizeof(wrong_magic), err, sizeof(err)),
        LDR_ERR_BAD_FRAMING);
    assert_non_null(strstr(err, "0x01"));
    const uint8_t wrong_so[] = {0xC3, 0x02, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    assert_int_equal(decode(f, wrong_so, sizeof(wrong_so), err, sizeof(err)),
                     LDR_ERR_BAD_FRAMING);
    const uint8_t short_so[] = {0xC3, 0x01, 1, 2, 3};
    assert_int_equal(decode(f, short_so, sizeof(short_so), err, sizeof(err)),
                     LDR_ERR_BAD_FRAMING);
    const char *text = "{\"uscc\": \"x\"}";
    assert_int_equal(decode(f, text, strlen(text), err, sizeof(err)),
                     LDR_ERR_BAD_FRAMING);
}

static void test_codec_rejects_unknown_schema(void **state) {
    fixture_t *f = *state;
    char err[512];
    const uint8_t id99[] = {0x00, 0x00, 0x00, 0x00, 99, 0x02};
    assert_int_equal(decode(f, id99, sizeof(id99), err, sizeof(err)),
                     LDR_ERR_UNKNOWN_SCHEMA);
    assert_non_null(strstr(err, "99"));
    const uint8_t neg[] = {0x00, 0xff, 0xff, 0xff, 0xff, 0x02};
    assert_int_equal(decode(f, neg, sizeof(neg), err, sizeof(err)),
                     LDR_ERR_UNKNOWN_SCHEMA);
    const uint8_t fp[] = {0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x02};
    assert_int_equal(decode(f, fp, sizeof(fp), err, sizeof(err)),
                     LDR_ERR_UNKNOWN_SCHEMA);
}

static void test_codec_every_truncation_fails_cleanly(void **state) {
    fixture_t *f = *state;
    for (int k = LDR_RECORD_APPLICATION; k <= LDR_RECORD_DECISION; k++) {
        ldr_record_t rec;
        ldr_sample_record(&rec, k, 0);
        size_t len;
        uint8_t *b = encode_copy(f, NULL, LDR_FRAMING_CONFLUENT, &rec, &len);
        for (size_t cut = 0; cut < len; cut++) {
            /* A fresh allocation of exactly `cut` bytes lets ASan catch any
             * read past the end. */
            uint8_t *p = malloc(cut ? cut : 1);
            memcpy(p, b, cut);
            char err[512];
            ldr_err_t rc = decode(f, p, cut, err, sizeof(err));
            ldr_err_t want =
                cut < 5 ? LDR_ERR_BAD_FRAMING : LDR_ERR_DECODE_FAILED;
            if (rc != want)
                fail_msg("kind %d cut %zu: got %d want %d (%s)", k, cut, rc,
                         want, err);
            free(p);
        }
        free(b);
    }
}

static void test_codec_rejects_trailing_bytes(void **state) {
    fixture_t *f = *state;
    ldr_record_t rec;
    ldr_sample_record(&rec, LDR_RECORD_CLOCK_TICK, 0);
    size_t len;
    uint8_t *b = encode_copy(f, NULL, LDR_FRAMING_CONFLUENT, &rec, &len);
    b[len] = 0;
    char err[512];
    assert_int_equal(decode(f, b, len + 1, err, sizeof(err)),
                     LDR_ERR_DECODE_FAILED);
    assert_non_null(strstr(err, "left over"));
    free(b);
}

/* A hand-built ClockTick body: tick_at (long), source (string). */
static size_t tick_with(uint8_t *buf, const uint8_t *body, size_t n) {
    const uint8_t hdr[] = {0x00, 0x00, 0x00, 0x00, 0x04};
    memcpy(buf, hdr, 5);
    memcpy(buf + 5, body, n);
    return 5 + n;
}

static void test_codec_rejects_hostile_lengths_and_varints(void **state) {
    fixture_t *f = *state;
    uint8_t buf[64];
    char err[512];
    static const struct {
        const char *what;
        uint8_t body[16];
        size_t n;
    } cases[] = {
        {"negative string length", {0x02, 0x01}, 2}, /* len = -1 */
        {"huge string length",
         {0x02, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
         10},
        {"string longer than the message", {0x02, 0x40, 'a', 'b'}, 4},
        {"varint of 11 bytes",
         {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
         11},
        {"varint overflowing 64 bits",
         {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
         10},
        {"truncated varint", {0x80}, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = tick_with(buf, cases[i].body, cases[i].n);
        ldr_err_t rc = decode(f, buf, len, err, sizeof(err));
        if (rc != LDR_ERR_DECODE_FAILED)
            fail_msg("%s: got %d", cases[i].what, rc);
    }
}

static void test_codec_rejects_bad_enum_union_and_boolean(void **state) {
    fixture_t *f = *state;
    char err[512];
    ldr_record_t rec;
    /* Violation: status enum is the 6th field; find and corrupt it by
     * encoding a known record and patching the byte after occurred_at. */
    ldr_sample_record(&rec, LDR_RECORD_VIOLATION, 1); /* details = null */
    size_t len;
    uint8_t *b = encode_copy(f, NULL, LDR_FRAMING_CONFLUENT, &rec, &len);
    /* The last byte is the union branch of details (0 = null). */
    assert_int_equal(b[len - 1], 0x00);
    b[len - 1] = 0x04; /* branch 2 of a 2-branch union */
    assert_int_equal(decode(f, b, len, err, sizeof(err)),
                     LDR_ERR_DECODE_FAILED);
    assert_non_null(strstr(err, "union"));
    b[len - 1] = 0x01; /* branch -1 */
    assert_int_equal(decode(f, b, len, err, sizeof(err)),
                     LDR_ERR_DECODE_FAILED);
    free(b);

    /* Decision: `decision` enum follows tier; make it symbol 12 (of 12). */
    ldr_sample_record(&rec, LDR_RECORD_DECISION, 1);
    rec.u.decision.decision =
        LDR_DECISION_CANCELLED; /* index 11 = varint 0x16 */
    b = encode_copy(f, NULL, LDR_FRAMING_CONFLUENT, &rec, &len);
    uint8_t *p = memchr(b + 5, 0x16, len - 5);
    while (p && !(p[-1] == 0x00))
        p = memchr(p + 1, 0x16, len - (size_t)(p + 1 - b));
    assert_non_null(p);
    *p = 0x18;
    assert_int_equal(decode(f, b, len, err, sizeof(err)),
                     LDR_ERR_DECODE_FAILED);
    assert_non_null(strstr(err, "enum"));
    free(b);

    /* Application: own_brand boolean set to 2. */
    ldr_sample_record(&rec, LDR_RECORD_APPLICATION, 0);
    /* digitalization_level, quality_items = 63, 62: varints 0x7e 0x7c,
     * a pair found nowhere else in the sample; own_brand follows. */
    rec.u.application.indicators.digitalization_level = 63;
    rec.u.application.indicators.quality_items = 62;
    b = encode_copy(f, NULL, LDR_FRAMING_CONFLUENT, &rec, &len);
    p = memmem(b + 5, len - 5, "\x7e\x7c", 2);
    assert_non_null(p);
    assert_int_equal(p[2], 1); /* own_brand = true */
    p[2] = 2;
    assert_int_equal(decode(f, b, len, err, sizeof(err)),
                     LDR_ERR_DECODE_FAILED);
    assert_non_null(strstr(err, "own_brand"));
    free(b);
}

static void test_codec_rejects_messages_over_one_mib(void **state) {
    fixture_t *f = *state;
    size_t len = LDR_CODEC_MAX_MESSAGE + 1;
    uint8_t *b = calloc(1, len);
    b[4] = 4;
    char err[512];
    assert_int_equal(decode(f, b, len, err, sizeof(err)),
                     LDR_ERR_DECODE_FAILED);
    assert_non_null(strstr(err, "1 MiB"));
    free(b);
}

/* Deterministic garbage: xorshift. */
static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_codec_survives_random_garbage(void **state) {
    fixture_t *f = *state;
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    ldr_record_t rec;
    for (int round = 0; round < 20000; round++) {
        int k = 1 + (int)(rng_next(&seed) % 5);
        ldr_sample_record(&rec, k, round & 1);
        size_t len;
        uint8_t *b = encode_copy(f, NULL, LDR_FRAMING_CONFLUENT, &rec, &len);
        /* Flip a few bytes of the body, sometimes cut it short. */
        int flips = 1 + (int)(rng_next(&seed) % 4);
        for (int i = 0; i < flips; i++)
            b[5 + rng_next(&seed) % (len - 5)] = (uint8_t)rng_next(&seed);
        if (rng_next(&seed) % 4 == 0) len = 5 + rng_next(&seed) % (len - 5);
        char err[512];
        ldr_err_t rc = decode(f, b, len, err, sizeof(err));
        assert_true(rc == LDR_OK || rc == LDR_ERR_DECODE_FAILED);
        free(b);
    }
}

static void test_codec_decoding_allocates_nothing(void **state) {
    fixture_t *f = *state;
    uint8_t *msgs[5];
    size_t lens[5];
    for (int k = 1; k <= 5; k++) {
        ldr_record_t rec;
        ldr_sample_record(&rec, k, 0);
        msgs[k - 1] =
            encode_copy(f, NULL, LDR_FRAMING_CONFLUENT, &rec, &lens[k - 1]);
    }
    ldr_record_t out;
    char err[512];
    /* First decodes compile and cache the plans. */
    for (int k = 0; k < 5; k++)
        assert_int_equal(ldr_codec_decode(f->codec, msgs[k], lens[k], &out,
                                          NULL, err, sizeof(err)),
                         LDR_OK);
    size_t before = mallocs;
    for (int i = 0; i < 10000; i++)
        assert_int_equal(ldr_codec_decode(f->codec, msgs[i % 5], lens[i % 5],
                                          &out, NULL, err, sizeof(err)),
                         LDR_OK);
    assert_int_equal(mallocs - before, 0);
    /* Strings point into the message: nothing was copied. */
    ldr_codec_decode(f->codec, msgs[0], lens[0], &out, NULL, err, sizeof(err));
    assert_true((const uint8_t *)out.u.application.uscc.ptr > msgs[0]);
    assert_true((const uint8_t *)out.u.application.uscc.ptr <
                msgs[0] + lens[0]);
    for (int k = 0; k < 5; k++)
        free(msgs[k]);
}

static void test_codec_encoding_reuses_its_buffers(void **state) {
    fixture_t *f = *state;
    ldr_record_t rec;
    ldr_sample_record(&rec, LDR_RECORD_APPLICATION, 0);
    const void *out;
    size_t len;
    char err[512];
    assert_int_equal(
        ldr_codec_encode(f->codec, &rec, &out, &len, err, sizeof(err)), LDR_OK);
    size_t before = mallocs;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(
            ldr_codec_encode(f->codec, &rec, &out, &len, err, sizeof(err)),
            LDR_OK);
    assert_int_equal(mallocs - before, 0);
}

static void test_codec_allocator_guard_refuses_absurd_sizes(void **state) {
    (void)state;
    ldr_codec_alloc_stats_t a, b;
    ldr_codec_alloc_stats(&a);
    void *p = avro_malloc((size_t)1 << 40);
    assert_null(p);
    ldr_codec_alloc_stats(&b);
    assert_int_equal(b.refused - a.refused, 1);
}

static void test_codec_encode_rejects_out_of_range_values(void **state) {
    fixture_t *f = *state;
    ldr_record_t rec;
    const void *out;
    size_t len;
    char err[512];
    ldr_sample_record(&rec, LDR_RECORD_APPLICATION, 0);
    rec.u.application.tier = (ldr_tier_t)7;
    assert_int_equal(
        ldr_codec_encode(f->codec, &rec, &out, &len, err, sizeof(err)),
        LDR_ERR_ENCODE);
    assert_non_null(strstr(err, "tier"));
    ldr_sample_record(&rec, LDR_RECORD_APPLICATION, 0);
    rec.u.application.indicators.honours = 1u << 20;
    assert_int_equal(
        ldr_codec_encode(f->codec, &rec, &out, &len, err, sizeof(err)),
        LDR_ERR_ENCODE);
    assert_non_null(strstr(err, "honours"));
    ldr_sample_record(&rec, LDR_RECORD_DECISION, 0);
    rec.u.decision.reasons_count = LDR_DECISION_REASONS_MAX + 1;
    assert_int_equal(
        ldr_codec_encode(f->codec, &rec, &out, &len, err, sizeof(err)),
        LDR_ERR_ENCODE);
    /* Old writer schema of another record kind. */
    const ldr_schema_t *old;
    ldr_schemas_by_id(f->schemas, 101, &old, err, sizeof(err));
    ldr_sample_record(&rec, LDR_RECORD_REVIEW, 0);
    assert_int_equal(ldr_codec_encode_with(f->codec, old, LDR_FRAMING_CONFLUENT,
                                           &rec, &out, &len, err, sizeof(err)),
                     LDR_ERR_ENCODE);
}

static void test_codec_preserves_strings_with_any_bytes(void **state) {
    fixture_t *f = *state;
    ldr_record_t in, out;
    ldr_sample_record(&in, LDR_RECORD_CLOCK_TICK, 0);
    static const char odd[] = {'a', 0, 'b', (char)0xff};
    in.u.tick.source.ptr = odd;
    in.u.tick.source.len = sizeof(odd);
    size_t len;
    uint8_t *b = encode_copy(f, NULL, LDR_FRAMING_CONFLUENT, &in, &len);
    char err[512];
    assert_int_equal(
        ldr_codec_decode(f->codec, b, len, &out, NULL, err, sizeof(err)),
        LDR_OK);
    assert_int_equal(out.u.tick.source.len, sizeof(odd));
    assert_memory_equal(out.u.tick.source.ptr, odd, sizeof(odd));
    free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_codec_encoding_matches_avro_c,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_codec_round_trips_every_record,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_codec_confluent_header_names_current_id, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_codec_decodes_single_object_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_codec_resolves_old_application_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_codec_rejects_bad_framing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_codec_rejects_unknown_schema,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_codec_every_truncation_fails_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_codec_rejects_trailing_bytes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_codec_rejects_hostile_lengths_and_varints, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_codec_rejects_bad_enum_union_and_boolean, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_codec_rejects_messages_over_one_mib, setup, teardown),
        cmocka_unit_test_setup_teardown(test_codec_survives_random_garbage,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_codec_decoding_allocates_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_codec_encoding_reuses_its_buffers,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_codec_allocator_guard_refuses_absurd_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_codec_encode_rejects_out_of_range_values, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_codec_preserves_strings_with_any_bytes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
