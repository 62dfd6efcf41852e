/* test_schema.c -- Parsing Canonical Form, CRC-64-AVRO and the registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ladder/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMAS LADDER_SOURCE_DIR "/schemas"

/* The Avro specification's test vectors (share/test/data/schema-tests.txt):
 * input, Parsing Canonical Form and, where given, the fingerprint as the
 * signed 64-bit number the specification prints. */
static const struct {
    const char *input;
    const char *canonical;
    int has_fp;
    int64_t fp;
} pcf_vectors[] = {
    {"\"null\"", "\"null\"", 1, 7195948357588979594LL},
    {"{\"type\":\"null\"}", "\"null\"", 0, 0},
    {"\"boolean\"", "\"boolean\"", 1, -6970731678124411036LL},
    {"{\"type\":\"boolean\"}", "\"boolean\"", 0, 0},
    {"\"int\"", "\"int\"", 1, 8247732601305521295LL},
    {"{\"type\":\"int\"}", "\"int\"", 0, 0},
    {"\"long\"", "\"long\"", 1, -3434872931120570953LL},
    {"{\"type\":\"long\"}", "\"long\"", 0, 0},
    {"\"float\"", "\"float\"", 1, 5583340709985441680LL},
    {"{\"type\":\"float\"}", "\"float\"", 0, 0},
    {"\"double\"", "\"double\"", 1, -8181574048448539266LL},
    {"{\"type\":\"double\"}", "\"double\"", 0, 0},
    {"\"bytes\"", "\"bytes\"", 1, 5746618253357095269LL},
    {"{\"type\":\"bytes\"}", "\"bytes\"", 0, 0},
    {"\"string\"", "\"string\"", 1, -8142146995180207161LL},
    {"{\"type\":\"string\"}", "\"string\"", 0, 0},
    {"[  ]", "[]", 1, -1241056759729112623LL},
    {"[ \"int\"  ]", "[\"int\"]", 1, -5232228896498058493LL},
    {"[ \"int\" , {\"type\":\"boolean\"} ]", "[\"int\",\"boolean\"]", 1,
     5392556393470105090LL},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\"}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", 1,
     -4824392279771201922LL},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", "
     "\"namespace\":\"x.y\"}",
     "{\"name\":\"x.y.foo\",\"type\":\"record\",\"fields\":[]}", 1,
     5916914534497305771LL},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"a.b.foo\", "
     "\"namespace\":\"x.y\"}",
     "{\"name\":\"a.b.foo\",\"type\":\"record\",\"fields\":[]}", 1,
     -4616218487480524110LL},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"doc\":\"Useful "
     "info\"}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", 1,
     -4824392279771201922LL},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", "
     "\"aliases\":[\"foo\",\"bar\"]}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", 1,
     -4824392279771201922LL},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"doc\":\"foo\", "
     "\"aliases\":[\"foo\",\"bar\"]}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", 1,
     -4824392279771201922LL},
    {"{\"fields\":[{\"type\":{\"type\":\"boolean\"}, \"name\":\"f1\"}], "
     "\"type\":\"record\", \"name\":\"foo\"}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\","
     "\"type\":\"boolean\"}]}",
     1, 7843277075252814651LL},
    {"{ \"fields\":[{\"type\":\"boolean\", \"aliases\":[], \"name\":\"f1\", "
     "\"default\":\"true\"},\n"
     "            "
     "{\"order\":\"descending\",\"name\":\"f2\",\"doc\":\"Hello\",\"type\":"
     "\"int\"}],\n"
     "  \"type\":\"record\", \"name\":\"foo\"\n}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\","
     "\"type\":\"boolean\"},{\"name\":\"f2\",\"type\":\"int\"}]}",
     1, -4860222112080293046LL},
    {"{\"type\":\"enum\", \"name\":\"foo\", \"symbols\":[\"A1\"]}",
     "{\"name\":\"foo\",\"type\":\"enum\",\"symbols\":[\"A1\"]}", 1,
     -6342190197741309591LL},
    {"{\"namespace\":\"x.y.z\", \"type\":\"enum\", \"name\":\"foo\", "
     "\"doc\":\"foo bar\", \"symbols\":[\"A1\", \"A2\"]}",
     "{\"name\":\"x.y.z.foo\",\"type\":\"enum\",\"symbols\":[\"A1\",\"A2\"]}",
     1, -4448647247586288245LL},
    {"{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}",
     "{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}", 1,
     1756455273707447556LL},
    {"{\"namespace\":\"x.y.z\", \"type\":\"fixed\", \"name\":\"foo\", "
     "\"doc\":\"foo bar\", \"size\":32}",
     "{\"name\":\"x.y.z.foo\",\"type\":\"fixed\",\"size\":32}", 1,
     -3064184465700546786LL},
    {"{ \"items\":{\"type\":\"null\"}, \"type\":\"array\"}",
     "{\"type\":\"array\",\"items\":\"null\"}", 1, -589620603366471059LL},
    {"{ \"values\":\"string\", \"type\":\"map\"}",
     "{\"type\":\"map\",\"values\":\"string\"}", 1, -8732877298790414990LL},
    {"  {\"name\":\"PigValue\",\"type\":\"record\",\n"
     "   \"fields\":[{\"name\":\"value\", \"type\":[\"null\", \"int\", "
     "\"long\", \"PigValue\"]}]}",
     "{\"name\":\"PigValue\",\"type\":\"record\",\"fields\":[{\"name\":"
     "\"value\",\"type\":[\"null\",\"int\",\"long\",\"PigValue\"]}]}",
     1, -1759257747318642341LL},
};

static void test_schema_crc64_empty_is_the_spec_constant(void **state) {
    (void)state;
    assert_true(ldr_crc64_avro("", 0) == 0xc15d213aa4d7a795ULL);
}

static void test_schema_canonical_form_matches_spec_vectors(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(pcf_vectors) / sizeof(pcf_vectors[0]); i++) {
        char *out = NULL;
        char err[256];
        ldr_err_t rc = ldr_schema_canonical_form(pcf_vectors[i].input,
                                                 strlen(pcf_vectors[i].input),
                                                 &out, err, sizeof(err));
        if (rc != LDR_OK) fail_msg("vector %zu: %s", i, err);
        if (strcmp(out, pcf_vectors[i].canonical) != 0)
            fail_msg("vector %zu: got %s want %s", i, out,
                     pcf_vectors[i].canonical);
        if (pcf_vectors[i].has_fp) {
            int64_t fp = (int64_t)ldr_crc64_avro(out, strlen(out));
            if (fp != pcf_vectors[i].fp)
                fail_msg("vector %zu: fingerprint %lld want %lld", i,
                         (long long)fp, (long long)pcf_vectors[i].fp);
        }
        free(out);
    }
}

static void test_schema_canonical_form_strips_logical_types(void **state) {
    (void)state;
    const char *in =
        "{\"type\":\"record\",\"name\":\"T\",\"namespace\":\"n\",\"fields\":"
        "[{\"name\":\"t\",\"type\":{\"type\":\"long\",\"logicalType\":"
        "\"timestamp-millis\"}},{\"name\":\"o\",\"type\":[\"null\","
        "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}],"
        "\"default\":null},{\"name\":\"p\",\"type\":\"E\"}]}";
    char *out;
    char err[256];
    assert_int_equal(
        ldr_schema_canonical_form(in, strlen(in), &out, err, sizeof(err)),
        LDR_OK);
    assert_string_equal(
        out,
        "{\"name\":\"n.T\",\"type\":\"record\",\"fields\":["
        "{\"name\":\"t\",\"type\":\"long\"},{\"name\":\"o\",\"type\":"
        "[\"null\",{\"name\":\"n.E\",\"type\":\"enum\",\"symbols\":[\"A\"]}]},"
        "{\"name\":\"p\",\"type\":\"n.E\"}]}");
    free(out);
}

static void test_schema_canonical_form_rejects_bad_schemas(void **state) {
    (void)state;
    const char *bad[] = {
        "{\"type\":\"record\",\"name\":\"x\"}", /* no fields */
        "{\"type\":\"enum\",\"name\":\"e\",\"symbols\":[\"1a\"]}", /* bad symbol
                                                                    */
        "\"Nope\"", /* unknown ref */
        "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a\","
        "\"type\":"
        "{\"type\":\"enum\",\"name\":\"r\",\"symbols\":[\"A\"]}}]}", /* defined
                                                                        twice */
        "not json",
        "42",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *out = NULL;
        char err[256] = "";
        assert_int_equal(ldr_schema_canonical_form(bad[i], strlen(bad[i]), &out,
                                                   err, sizeof(err)),
                         LDR_ERR_SCHEMA);
        assert_null(out);
        assert_true(strlen(err) > 0);
    }
}

static void test_schema_check_gives_canonical_form_and_name(void **state) {
    (void)state;
    static const char text[] =
        "{ \"namespace\": \"a.b\", \"name\": \"R\", \"type\": \"record\",\n"
        "  \"doc\": \"x\", \"fields\": [{\"name\": \"f\", \"type\": \"long\"}] "
        "}";
    char *canonical = NULL, *full = NULL, err[256];
    assert_int_equal(ldr_schema_check(text, strlen(text), "t", &canonical,
                                      &full, err, sizeof(err)),
                     LDR_OK);
    assert_string_equal(canonical, "{\"name\":\"a.b.R\",\"type\":\"record\","
                                   "\"fields\":[{\"name\":\"f\",\"type\":"
                                   "\"long\"}]}");
    assert_string_equal(full, "a.b.R");
    free(canonical);
    free(full);
    /* A type Avro does not know, and text that is not JSON: the origin
     * leads the message and nothing is handed out. */
    static const char *const bad[] = {
        "{\"type\":\"record\",\"name\":\"X\",\"fields\":[{\"name\":\"a\","
        "\"type\":\"nope\"}]}",
        "{\"type\":", "\"strin\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        canonical = NULL;
        assert_int_equal(ldr_schema_check(bad[i], strlen(bad[i]), "origin",
                                          &canonical, NULL, err, sizeof(err)),
                         LDR_ERR_SCHEMA);
        assert_null(canonical);
        assert_int_equal(strncmp(err, "origin: ", 8), 0);
    }
}

static void test_schema_load_repository_schemas(void **state) {
    (void)state;
    char err[512];
    ldr_schemas_t *s = ldr_schemas_load(SCHEMAS, err, sizeof(err));
    if (!s) fail_msg("%s", err);
    assert_int_equal(ldr_schemas_count(s), 6);
    static const char *names[] = {NULL,
                                  "ladder.v1.ApplicationSubmitted",
                                  "ladder.v1.ReviewSubmitted",
                                  "ladder.v1.ViolationReported",
                                  "ladder.v1.ClockTick",
                                  "ladder.v1.DesignationDecision"};
    for (int id = 1; id <= 5; id++) {
        const ldr_schema_t *x;
        assert_int_equal(ldr_schemas_by_id(s, id, &x, err, sizeof(err)),
                         LDR_OK);
        assert_string_equal(ldr_schema_fullname(x), names[id]);
        assert_int_equal(ldr_schema_kind(x), id);
        assert_ptr_equal(ldr_schemas_current(s, (ldr_record_kind_t)id), x);
        assert_ptr_equal(
            ldr_schemas_by_fingerprint(s, ldr_schema_fingerprint(x)), x);
    }
    const ldr_schema_t *old;
    assert_int_equal(ldr_schemas_by_id(s, 101, &old, err, sizeof(err)), LDR_OK);
    assert_int_equal(ldr_schema_kind(old), LDR_RECORD_APPLICATION);
    assert_true(
        ldr_schema_fingerprint(old) !=
        ldr_schema_fingerprint(ldr_schemas_current(s, LDR_RECORD_APPLICATION)));
    /* The canonical form of the current application has no logical types,
     * docs or defaults. */
    const char *pcf =
        ldr_schema_canonical(ldr_schemas_current(s, LDR_RECORD_APPLICATION));
    assert_null(strstr(pcf, "logicalType"));
    assert_null(strstr(pcf, "default"));
    assert_null(strstr(pcf, " "));
    assert_int_equal(ldr_schemas_by_id(s, 99, &old, err, sizeof(err)),
                     LDR_ERR_UNKNOWN_SCHEMA);
    ldr_schemas_destroy(s);
}

/* Copies the schemas into a temp dir, replacing index.json. */
static char *make_schema_dir(const char *index_json) {
    char *dir = strdup("/tmp/ladder-schema-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cp -r '%s'/. '%s'/", SCHEMAS, dir);
    assert_int_equal(system(cmd), 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/index.json", dir);
    FILE *f = fopen(path, "w");
    fputs(index_json, f);
    fclose(f);
    return dir;
}

static void remove_dir(char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static void test_schema_load_rejects_stale_fingerprint(void **state) {
    (void)state;
    char *dir = make_schema_dir(
        "{\"current\":{\"ladder.v1.ClockTick\":4},\"ids\":{\"4\":\"clock_tick."
        "avsc\"},"
        "\"fingerprints\":{\"0000000000000001\":\"clock_tick.avsc\"}}");
    char err[512] = "";
    assert_null(ldr_schemas_load(dir, err, sizeof(err)));
    assert_non_null(strstr(err, "clock_tick.avsc"));
    assert_non_null(strstr(err, "58d932500e5a9f0a"));
    remove_dir(dir);
}

static void test_schema_load_rejects_missing_file_and_bad_index(void **state) {
    (void)state;
    char *dir = make_schema_dir(
        "{\"current\":{},\"ids\":{\"7\":\"nope.avsc\"},\"fingerprints\":{}}");
    char err[512] = "";
    assert_null(ldr_schemas_load(dir, err, sizeof(err)));
    assert_non_null(strstr(err, "nope.avsc"));
    remove_dir(dir);

    dir = make_schema_dir("{\"ids\": [1]}");
    assert_null(ldr_schemas_load(dir, err, sizeof(err)));
    assert_non_null(strstr(err, "index.json"));
    remove_dir(dir);

    dir = make_schema_dir("{\"current\":{},\"ids\":{\"1\":\"../../etc/"
                          "passwd\"},\"fingerprints\":{}}");
    assert_null(ldr_schemas_load(dir, err, sizeof(err)));
    assert_non_null(strstr(err, "relative path"));
    remove_dir(dir);
}

static int fetch_calls;
static ldr_err_t fake_fetch(void *opaque, int32_t id, char **json_text,
                            char *errstr, size_t n) {
    (void)opaque;
    fetch_calls++;
    if (id == 500) {
        *json_text =
            strdup("{\"type\":\"record\",\"name\":\"ClockTick\",\"namespace\":"
                   "\"ladder.v1\",\"fields\":[{\"name\":\"tick_at\",\"type\":"
                   "\"long\"},"
                   "{\"name\":\"source\",\"type\":\"string\"}]}");
        return LDR_OK;
    }
    if (id == 501)
        return ldr_err_set(errstr, n, LDR_ERR_TRANSIENT, "registry down");
    return ldr_err_set(errstr, n, LDR_ERR_UNKNOWN_SCHEMA, "no such id");
}

static void test_schema_fetcher_fills_misses_once(void **state) {
    (void)state;
    char err[512];
    ldr_schemas_t *s = ldr_schemas_load(SCHEMAS, err, sizeof(err));
    assert_non_null(s);
    ldr_schemas_set_fetcher(s, fake_fetch, NULL);
    const ldr_schema_t *x;
    fetch_calls = 0;
    assert_int_equal(ldr_schemas_by_id(s, 500, &x, err, sizeof(err)), LDR_OK);
    assert_int_equal(ldr_schema_kind(x), LDR_RECORD_CLOCK_TICK);
    assert_int_equal(ldr_schemas_by_id(s, 500, &x, err, sizeof(err)), LDR_OK);
    assert_int_equal(fetch_calls, 1);
    assert_int_equal(ldr_schemas_by_id(s, 501, &x, err, sizeof(err)),
                     LDR_ERR_TRANSIENT);
    assert_int_equal(ldr_schemas_by_id(s, 502, &x, err, sizeof(err)),
                     LDR_ERR_UNKNOWN_SCHEMA);
    ldr_schemas_destroy(s);
}

/* On a registry's ids, the local ids no longer resolve (id 1 goes to the
 * fetcher), the current schemas carry the ids given, and the fingerprints
 * still find the local schemas. */
static void test_schema_use_ids_moves_to_registry_ids(void **state) {
    (void)state;
    char err[512];
    ldr_schemas_t *s = ldr_schemas_load(SCHEMAS, err, sizeof(err));
    assert_non_null(s);
    const ldr_schema_t *dec = ldr_schemas_current(s, LDR_RECORD_DECISION);
    uint64_t fp = ldr_schema_fingerprint(dec);
    int32_t ids[LDR_RECORD_DECISION + 1] = {0};
    ids[LDR_RECORD_DECISION] = 77;
    ids[LDR_RECORD_CLOCK_TICK] = 78;
    assert_int_equal(ldr_schemas_use_ids(s, ids, err, sizeof(err)), LDR_OK);
    assert_int_equal(ldr_schema_id(dec), 77);
    assert_int_equal(
        ldr_schema_id(ldr_schemas_current(s, LDR_RECORD_CLOCK_TICK)), 78);
    assert_true(ldr_schema_id(ldr_schemas_current(s, LDR_RECORD_APPLICATION)) <
                0);
    assert_ptr_equal(ldr_schemas_by_fingerprint(s, fp), dec);
    const ldr_schema_t *x;
    assert_int_equal(ldr_schemas_by_id(s, 77, &x, err, sizeof(err)), LDR_OK);
    assert_ptr_equal(x, dec);
    ldr_schemas_set_fetcher(s, fake_fetch, NULL);
    fetch_calls = 0;
    assert_int_equal(ldr_schemas_by_id(s, 1, &x, err, sizeof(err)),
                     LDR_ERR_UNKNOWN_SCHEMA);
    assert_int_equal(fetch_calls, 1);
    ids[LDR_RECORD_CLOCK_TICK] = 77;
    assert_int_equal(ldr_schemas_use_ids(s, ids, err, sizeof(err)),
                     LDR_ERR_SCHEMA);
    ldr_schemas_destroy(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_crc64_empty_is_the_spec_constant),
        cmocka_unit_test(test_schema_canonical_form_matches_spec_vectors),
        cmocka_unit_test(test_schema_canonical_form_strips_logical_types),
        cmocka_unit_test(test_schema_canonical_form_rejects_bad_schemas),
        cmocka_unit_test(test_schema_check_gives_canonical_form_and_name),
        cmocka_unit_test(test_schema_load_repository_schemas),
        cmocka_unit_test(test_schema_load_rejects_stale_fingerprint),
        cmocka_unit_test(test_schema_load_rejects_missing_file_and_bad_index),
        cmocka_unit_test(test_schema_fetcher_fills_misses_once),
        cmocka_unit_test(test_schema_use_ids_moves_to_registry_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
