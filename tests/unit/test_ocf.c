/* test_ocf.c -- the Avro object container file writer: the header keeps the
 * schema text byte for byte (logicalType included), the layout follows the
 * specification, and Avro-C's own reader reads back what it wrote, empty
 * files and files of many blocks alike. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ladder/codec.h"
#include "ladder/ocf.h"
#include "ladder/schema.h"

#include "../support/samples.h"

#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCHEMAS LADDER_SOURCE_DIR "/schemas"

static const char ocf_schema[] =
    "{\"type\": \"record\", \"name\": \"T\", \"namespace\": \"t.v1\",\n"
    " \"fields\": [{\"name\": \"id\", \"type\": \"string\"},\n"
    "  {\"name\": \"at\", \"type\": {\"type\": \"long\", "
    "\"logicalType\": \"timestamp-millis\"}, \"default\": 0}]}";

static const uint8_t ocf_sync[LDR_OCF_SYNC_SIZE] = {
    0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* A temporary file, open for writing; its name in @p path. */
static FILE *ocf_tmp(char *path, size_t n) {
    snprintf(path, n, "%s/ladder-ocf.XXXXXX", getenv("TMPDIR") ?: "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    return f;
}

/* The whole file in a malloc'ed buffer. */
static uint8_t *ocf_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    uint8_t *b = malloc(*len + 1);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

/* Reads a zig-zag varint at *p. */
static int64_t ocf_get_long(const uint8_t **p) {
    uint64_t z = 0;
    int shift = 0;
    while (**p & 0x80) {
        z |= (uint64_t)(**p & 0x7f) << shift;
        shift += 7;
        (*p)++;
    }
    z |= (uint64_t) * *p << shift;
    (*p)++;
    return (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
}

/* Checks that the string at *p is @p want (length-prefixed). */
static void ocf_expect_bytes(const uint8_t **p, const char *want, size_t n) {
    assert_int_equal(ocf_get_long(p), (int64_t)n);
    assert_memory_equal(*p, want, n);
    *p += n;
}

/* One datum of ocf_schema: id, then at. */
static size_t ocf_datum(uint8_t *out, const char *id, int64_t at) {
    size_t n = ldr_ocf_put_long(out, (int64_t)strlen(id));
    memcpy(out + n, id, strlen(id));
    n += strlen(id);
    return n + ldr_ocf_put_long(out + n, at);
}

static void test_ocf_put_long_is_zigzag(void **state) {
    (void)state;
    static const struct {
        int64_t v;
        size_t n;
        uint8_t b[10];
    } cases[] = {
        {0, 1, {0x00}},
        {-1, 1, {0x01}},
        {1, 1, {0x02}},
        {-64, 1, {0x7f}},
        {64, 2, {0x80, 0x01}},
        {1750000000000LL, 6, {0x80, 0xf0, 0x86, 0xc2, 0xee, 0x65}},
        {INT64_MAX,
         10,
         {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1}},
        {INT64_MIN,
         10,
         {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t out[10];
        assert_int_equal(ldr_ocf_put_long(out, cases[i].v), cases[i].n);
        assert_memory_equal(out, cases[i].b, cases[i].n);
        const uint8_t *p = out;
        assert_true(ocf_get_long(&p) == cases[i].v);
    }
}

static void test_ocf_header_keeps_schema_text(void **state) {
    (void)state;
    char path[256], err[256];
    FILE *f = ocf_tmp(path, sizeof(path));
    ldr_ocf_t *w = ldr_ocf_new(f, ocf_schema, strlen(ocf_schema), ocf_sync, 0,
                               err, sizeof(err));
    assert_non_null(w);
    assert_int_equal(ldr_ocf_finish(w, err, sizeof(err)), LDR_OK);
    assert_int_equal(ldr_ocf_count(w), 0);
    ldr_ocf_destroy(w);
    fclose(f);
    size_t len;
    uint8_t *b = ocf_slurp(path, &len);
    const uint8_t *p = b;
    assert_memory_equal(p, "Obj\x01", 4);
    p += 4;
    assert_int_equal(ocf_get_long(&p), 2);
    ocf_expect_bytes(&p, "avro.schema", 11);
    ocf_expect_bytes(&p, ocf_schema, strlen(ocf_schema));
    ocf_expect_bytes(&p, "avro.codec", 10);
    ocf_expect_bytes(&p, "null", 4);
    assert_int_equal(ocf_get_long(&p), 0);
    assert_memory_equal(p, ocf_sync, LDR_OCF_SYNC_SIZE);
    p += LDR_OCF_SYNC_SIZE;
    assert_int_equal((size_t)(p - b), len); /* empty: the header alone */
    free(b);
    unlink(path);
}

/* Reads @p path with Avro-C's file reader: the count of records, each
 * checked against ocf_datum(id "r<i>", at 1750000000000 + i). */
static int ocf_read_back(const char *path) {
    avro_file_reader_t r;
    assert_int_equal(avro_file_reader(path, &r), 0);
    avro_schema_t s = avro_file_reader_get_writer_schema(r);
    avro_value_iface_t *iface = avro_generic_class_from_schema(s);
    avro_value_t v, field;
    avro_generic_value_new(iface, &v);
    int n = 0;
    while (avro_file_reader_read_value(r, &v) == 0) {
        char want[32];
        const char *id;
        size_t idlen;
        int64_t at;
        snprintf(want, sizeof(want), "r%d", n);
        assert_int_equal(avro_value_get_by_name(&v, "id", &field, NULL), 0);
        avro_value_get_string(&field, &id, &idlen);
        assert_string_equal(id, want);
        assert_int_equal(avro_value_get_by_name(&v, "at", &field, NULL), 0);
        avro_value_get_long(&field, &at);
        assert_true(at == 1750000000000LL + n);
        n++;
    }
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(s);
    avro_file_reader_close(r);
    return n;
}

static void test_ocf_empty_file_reads_as_empty(void **state) {
    (void)state;
    char path[256], err[256];
    FILE *f = ocf_tmp(path, sizeof(path));
    ldr_ocf_t *w = ldr_ocf_new(f, ocf_schema, strlen(ocf_schema), NULL, 0, err,
                               sizeof(err));
    assert_non_null(w);
    assert_int_equal(ldr_ocf_finish(w, err, sizeof(err)), LDR_OK);
    ldr_ocf_destroy(w);
    fclose(f);
    assert_int_equal(ocf_read_back(path), 0);
    unlink(path);
}

static void test_ocf_many_blocks_read_back_with_avro_c(void **state) {
    (void)state;
    char path[256], err[256];
    FILE *f = ocf_tmp(path, sizeof(path));
    /* 256-byte blocks: about 20 objects each, so 1000 make ~50 blocks */
    ldr_ocf_t *w = ldr_ocf_new(f, ocf_schema, strlen(ocf_schema), ocf_sync, 256,
                               err, sizeof(err));
    assert_non_null(w);
    for (int i = 0; i < 1000; i++) {
        char id[32];
        uint8_t d[64];
        snprintf(id, sizeof(id), "r%d", i);
        size_t n = ocf_datum(d, id, 1750000000000LL + i);
        assert_int_equal(ldr_ocf_append(w, d, n, err, sizeof(err)), LDR_OK);
    }
    assert_int_equal(ldr_ocf_finish(w, err, sizeof(err)), LDR_OK);
    assert_int_equal(ldr_ocf_count(w), 1000);
    ldr_ocf_destroy(w);
    fclose(f);
    assert_int_equal(ocf_read_back(path), 1000);

    /* Walk the blocks: each is count, size, objects, the sync marker, and
     * the counts add up. */
    size_t len;
    uint8_t *b = ocf_slurp(path, &len);
    const uint8_t *p = b + 4;
    assert_int_equal(ocf_get_long(&p), 2);
    for (int i = 0; i < 4; i++)
        p += ocf_get_long(&p);
    assert_int_equal(ocf_get_long(&p), 0);
    p += LDR_OCF_SYNC_SIZE;
    int64_t total = 0, blocks = 0;
    while (p < b + len) {
        int64_t count = ocf_get_long(&p), size = ocf_get_long(&p);
        assert_true(count > 0 && size > 0);
        p += size;
        assert_memory_equal(p, ocf_sync, LDR_OCF_SYNC_SIZE);
        p += LDR_OCF_SYNC_SIZE;
        total += count;
        blocks++;
    }
    assert_true(p == b + len);
    assert_int_equal(total, 1000);
    assert_true(blocks > 10);
    free(b);
    unlink(path);
}

/* What ladder-admin export does: the codec's bytes without their framing,
 * under the .avsc text the codec loaded; Avro-C reads the decision back. */
static void test_ocf_holds_codec_decisions(void **state) {
    (void)state;
    char path[256], err[512];
    ldr_schemas_t *schemas = ldr_schemas_load(SCHEMAS, err, sizeof(err));
    assert_non_null(schemas);
    ldr_codec_t *codec = ldr_codec_new(schemas, err, sizeof(err));
    assert_non_null(codec);
    const ldr_schema_t *cur = ldr_schemas_current(schemas, LDR_RECORD_DECISION);
    const char *text = ldr_schema_text(cur);
    assert_non_null(strstr(text, "timestamp-millis"));
    FILE *f = ocf_tmp(path, sizeof(path));
    ldr_ocf_t *w =
        ldr_ocf_new(f, text, strlen(text), NULL, 0, err, sizeof(err));
    assert_non_null(w);
    ldr_record_t rec;
    ldr_sample_record(&rec, LDR_RECORD_DECISION, 0);
    const void *out;
    size_t out_len;
    assert_int_equal(
        ldr_codec_encode(codec, &rec, &out, &out_len, err, sizeof(err)),
        LDR_OK);
    assert_true(out_len > 5 && ((const uint8_t *)out)[0] == 0);
    assert_int_equal(ldr_ocf_append(w, (const uint8_t *)out + 5, out_len - 5,
                                    err, sizeof(err)),
                     LDR_OK);
    assert_int_equal(ldr_ocf_finish(w, err, sizeof(err)), LDR_OK);
    ldr_ocf_destroy(w);
    fclose(f);

    avro_file_reader_t r;
    assert_int_equal(avro_file_reader(path, &r), 0);
    avro_schema_t s = avro_file_reader_get_writer_schema(r);
    avro_value_iface_t *iface = avro_generic_class_from_schema(s);
    avro_value_t v, field;
    avro_generic_value_new(iface, &v);
    assert_int_equal(avro_file_reader_read_value(r, &v), 0);
    const char *id;
    size_t idlen;
    int64_t at;
    avro_value_get_by_name(&v, "decision_id", &field, NULL);
    avro_value_get_string(&field, &id, &idlen);
    assert_string_equal(id, "d-0f3a9c");
    avro_value_get_by_name(&v, "effective_at", &field, NULL);
    avro_value_get_long(&field, &at);
    assert_true(at == 1750000000000LL);
    assert_int_not_equal(avro_file_reader_read_value(r, &v), 0);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(s);
    avro_file_reader_close(r);
    unlink(path);
    ldr_codec_destroy(codec);
    ldr_schemas_destroy(schemas);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ocf_put_long_is_zigzag),
        cmocka_unit_test(test_ocf_header_keeps_schema_text),
        cmocka_unit_test(test_ocf_empty_file_reads_as_empty),
        cmocka_unit_test(test_ocf_many_blocks_read_back_with_avro_c),
        cmocka_unit_test(test_ocf_holds_codec_decisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
