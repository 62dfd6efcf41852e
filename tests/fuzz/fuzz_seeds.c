/* fuzz_seeds.c -- writes the seed corpus of fuzz_decode_validate.
 *
 * DESIGN: the seeds are generated from the repository rather than kept as
 * binary files, so they follow every schema change: the sample records of
 * tests/support/samples.h (every record kind, every optional set and
 * unset, with a valid USCC so that validation runs to its end) in both
 * framings and with the old application schema; every row of the feed
 * fixtures (tests/fixtures/feed/ *.csv and *.jsonl) that parses, encoded as
 * the worker would receive it; and the hostile messages the codec's unit
 * test uses (bad framing, unknown schemas, negative and huge lengths, long
 * varints, bad union branches, trailing bytes, a decision).
 *
 * Usage: fuzz_seeds SOURCE_DIR OUT_DIR; prints the number of seeds. */
#include "ladder/codec.h"
#include "ladder/feed.h"
#include "ladder/schema.h"
#include "ladder/uscc.h"

#include "../support/samples.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *sd_out;
static int sd_count;

static void sd_write(const char *name, const void *data, size_t len) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", sd_out, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "fuzz_seeds: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    sd_count++;
}

static void sd_encode(ldr_codec_t *codec, const ldr_schema_t *writer,
                      ldr_framing_t framing, const ldr_record_t *rec,
                      const char *name) {
    const void *out;
    size_t len;
    char err[512];
    ldr_err_t rc =
        writer ? ldr_codec_encode_with(codec, writer, framing, rec, &out, &len,
                                       err, sizeof(err))
               : ldr_codec_encode(codec, rec, &out, &len, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "fuzz_seeds: %s: %s\n", name, err);
        exit(1);
    }
    sd_write(name, out, len);
}

/* The samples' USCCs with their check character corrected. */
static char sd_usccs[5][19];

static void sd_sample(ldr_record_t *rec, int kind, int variant) {
    ldr_sample_record(rec, (ldr_record_kind_t)kind, variant);
    ldr_str_t *u = kind == LDR_RECORD_APPLICATION ? &rec->u.application.uscc
                   : kind == LDR_RECORD_REVIEW    ? &rec->u.review.uscc
                   : kind == LDR_RECORD_VIOLATION ? &rec->u.violation.uscc
                   : kind == LDR_RECORD_DECISION  ? &rec->u.decision.uscc
                                                  : NULL;
    if (!u || u->len != 18) return;
    memcpy(sd_usccs[kind - 1], u->ptr, 18);
    sd_usccs[kind - 1][18] = '\0';
    if (ldr_uscc_complete(sd_usccs[kind - 1]) == LDR_OK)
        *u = (ldr_str_t){sd_usccs[kind - 1], 18};
}

static void sd_samples(ldr_codec_t *codec, ldr_schemas_t *schemas) {
    char name[128];
    for (int k = LDR_RECORD_APPLICATION; k <= LDR_RECORD_DECISION; k++)
        for (int v = 0; v < 2; v++) {
            ldr_record_t rec;
            sd_sample(&rec, k, v);
            snprintf(name, sizeof(name), "sample-%d-%d-confluent", k, v);
            sd_encode(codec, NULL, LDR_FRAMING_CONFLUENT, &rec, name);
            snprintf(name, sizeof(name), "sample-%d-%d-single-object", k, v);
            sd_encode(codec, ldr_schemas_current(schemas, k),
                      LDR_FRAMING_SINGLE_OBJECT, &rec, name);
        }
    /* Every other schema of the registry (older versions). */
    for (size_t i = 0; i < ldr_schemas_count(schemas); i++) {
        const ldr_schema_t *s = ldr_schemas_at(schemas, i);
        ldr_record_kind_t k = ldr_schema_kind(s);
        if (!k || s == ldr_schemas_current(schemas, k)) continue;
        ldr_record_t rec;
        sd_sample(&rec, k, 0);
        for (int framing = 0; framing < 2; framing++) {
            snprintf(name, sizeof(name), "old-%d-%s", (int)ldr_schema_id(s),
                     framing ? "single-object" : "confluent");
            sd_encode(codec, s, (ldr_framing_t)framing, &rec, name);
        }
    }
}

static void sd_feed(ldr_codec_t *codec, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "fuzz_seeds: %s: %s\n", dir, strerror(errno));
        exit(1);
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        int csv = n > 4 && strcmp(e->d_name + n - 4, ".csv") == 0;
        int jsonl = n > 6 && strcmp(e->d_name + n - 6, ".jsonl") == 0;
        if (!csv && !jsonl) continue;
        char path[4096], err[512];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) {
            fprintf(stderr, "fuzz_seeds: %s: %s\n", path, strerror(errno));
            exit(1);
        }
        ldr_feed_reader_opts_t opts = {0};
        opts.format = csv ? LDR_FEED_CSV : LDR_FEED_JSONL;
        ldr_feed_reader_t *r = ldr_feed_reader_new(f, &opts, err, sizeof(err));
        if (!r) {
            fprintf(stderr, "fuzz_seeds: %s: %s\n", path, err);
            exit(1);
        }
        ldr_feed_row_t row;
        while (ldr_feed_reader_next(r, &row, err, sizeof(err)) == LDR_OK &&
               row.status != LDR_FEED_ROW_END) {
            if (row.status != LDR_FEED_ROW_VALID) continue;
            char name[256];
            snprintf(name, sizeof(name), "feed-%s-%llu", e->d_name,
                     (unsigned long long)row.line);
            sd_encode(codec, NULL, LDR_FRAMING_CONFLUENT, &row.rec, name);
        }
        ldr_feed_reader_destroy(r);
        fclose(f);
    }
    closedir(d);
}

/* A ClockTick message with a hand-made body. */
static void sd_tick(const char *name, const uint8_t *body, size_t n) {
    uint8_t buf[64] = {0x00, 0x00, 0x00, 0x00, LDR_RECORD_CLOCK_TICK};
    memcpy(buf + 5, body, n);
    sd_write(name, buf, 5 + n);
}

static void sd_hostile(ldr_codec_t *codec) {
    static const struct {
        const char *name;
        uint8_t bytes[16];
        size_t n;
    } raw[] = {
        {"hostile-short-confluent", {0x00, 0x00, 0x00, 0x01}, 4},
        {"hostile-wrong-magic", {0x01, 0x00, 0x00, 0x00, 0x01, 0x02}, 6},
        {"hostile-wrong-single-object",
         {0xC3, 0x02, 1, 2, 3, 4, 5, 6, 7, 8, 9},
         11},
        {"hostile-short-single-object", {0xC3, 0x01, 1, 2, 3}, 5},
        {"hostile-unknown-id-99", {0x00, 0x00, 0x00, 0x00, 99, 0x02}, 6},
        {"hostile-negative-id", {0x00, 0xff, 0xff, 0xff, 0xff, 0x02}, 6},
        {"hostile-unknown-fingerprint",
         {0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x02},
         11},
        {"hostile-json", "{\"uscc\": \"x\"}", 13},
    };
    for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
        sd_write(raw[i].name, raw[i].bytes, raw[i].n);
    static const struct {
        const char *name;
        uint8_t body[16];
        size_t n;
    } ticks[] = {
        {"hostile-negative-string-length", {0x02, 0x01}, 2},
        {"hostile-huge-string-length",
         {0x02, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
         10},
        {"hostile-string-past-end", {0x02, 0x40, 'a', 'b'}, 4},
        {"hostile-varint-11-bytes",
         {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
         11},
        {"hostile-varint-overflow",
         {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
         10},
        {"hostile-truncated-varint", {0x80}, 1},
        {"hostile-trailing-byte", {0x02, 0x02, 'x', 0x00}, 4},
    };
    for (size_t i = 0; i < sizeof(ticks) / sizeof(ticks[0]); i++)
        sd_tick(ticks[i].name, ticks[i].body, ticks[i].n);

    /* A violation whose details union names branch 2 of 2. */
    ldr_record_t rec;
    sd_sample(&rec, LDR_RECORD_VIOLATION, 1);
    const void *out;
    size_t len;
    char err[512];
    if (ldr_codec_encode(codec, &rec, &out, &len, err, sizeof(err)) == LDR_OK &&
        len < 512) {
        uint8_t b[512];
        memcpy(b, out, len);
        b[len - 1] = 0x04;
        sd_write("hostile-union-branch", b, len);
        /* ... and every truncation of it. */
        b[len - 1] = 0x00;
        char name[64];
        for (size_t cut = 5; cut < len; cut += 7) {
            snprintf(name, sizeof(name), "hostile-violation-cut-%zu", cut);
            sd_write(name, b, cut);
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: fuzz_seeds SOURCE_DIR OUT_DIR\n");
        return 2;
    }
    sd_out = argv[2];
    if (mkdir(sd_out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "fuzz_seeds: %s: %s\n", sd_out, strerror(errno));
        return 1;
    }
    char path[4096], err[512];
    snprintf(path, sizeof(path), "%s/schemas", argv[1]);
    ldr_schemas_t *schemas = ldr_schemas_load(path, err, sizeof(err));
    if (!schemas) {
        fprintf(stderr, "fuzz_seeds: %s\n", err);
        return 1;
    }
    ldr_codec_t *codec = ldr_codec_new(schemas, err, sizeof(err));
    if (!codec) {
        fprintf(stderr, "fuzz_seeds: %s\n", err);
        ldr_schemas_destroy(schemas);
        return 1;
    }
    sd_samples(codec, schemas);
    snprintf(path, sizeof(path), "%s/tests/fixtures/feed", argv[1]);
    sd_feed(codec, path);
    sd_hostile(codec);
    ldr_codec_destroy(codec);
    ldr_schemas_destroy(schemas);
    printf("%d seeds in %s\n", sd_count, sd_out);
    return 0;
}
