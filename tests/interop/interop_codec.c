/* interop_codec.c -- ladder's half of the python3-avro interop test.
 *
 *   interop_codec encode DIR   writes every sample record as
 * DIR/c-<kind>-<variant>.bin (Confluent framing, current schema; plus the
 *                              version-0 application as id 101) and its fields
 * as .json interop_codec decode DIR   decodes every DIR/py-*.bin that
 * python3-avro wrote and compares each field with DIR/py-*.json The JSON twin
 * is a plain object: enums as symbol names, honours as an array of symbol names
 * in enum order, timestamps as epoch milliseconds. */
#include "ladder/codec.h"
#include "ladder/indicators.h"

#include "../support/samples.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *jstr(ldr_str_t s) {
    return json_stringn(s.ptr ? s.ptr : "", s.len);
}

static void put_indicators(json_t *o, const ldr_indicators_t *i) {
    json_object_set_new(o, "indicators", ldr_indicators_to_json(i));
}

#define OPTV(has, v) ((has) ? (v) : json_null())

static json_t *to_json(const ldr_record_t *r) {
    json_t *o = json_object();
    switch (r->kind) {
    case LDR_RECORD_APPLICATION: {
        const ldr_application_t *a = &r->u.application;
        json_object_set_new(o, "event_id", jstr(a->event_id));
        json_object_set_new(o, "uscc", jstr(a->uscc));
        json_object_set_new(o, "enterprise_name", jstr(a->enterprise_name));
        json_object_set_new(o, "reporting_unit", jstr(a->reporting_unit));
        json_object_set_new(o, "tier", json_string(ldr_tier_name(a->tier)));
        json_object_set_new(o, "batch", json_integer(a->batch));
        json_object_set_new(o, "occurred_at", json_integer(a->occurred_at));
        put_indicators(o, &a->indicators);
        break;
    }
    case LDR_RECORD_REVIEW: {
        const ldr_review_t *a = &r->u.review;
        json_object_set_new(o, "event_id", jstr(a->event_id));
        json_object_set_new(o, "uscc", jstr(a->uscc));
        json_object_set_new(o, "enterprise_name", jstr(a->enterprise_name));
        json_object_set_new(o, "reporting_unit", jstr(a->reporting_unit));
        json_object_set_new(o, "tier", json_string(ldr_tier_name(a->tier)));
        json_object_set_new(o, "occurred_at", json_integer(a->occurred_at));
        put_indicators(o, &a->indicators);
        break;
    }
    case LDR_RECORD_VIOLATION: {
        const ldr_violation_t *v = &r->u.violation;
        json_object_set_new(o, "event_id", jstr(v->event_id));
        json_object_set_new(o, "uscc", jstr(v->uscc));
        json_object_set_new(o, "reporting_unit", jstr(v->reporting_unit));
        json_object_set_new(o, "case_id", jstr(v->case_id));
        json_object_set_new(o, "kind",
                            json_string(ldr_violation_kind_name(v->kind)));
        json_object_set_new(o, "status",
                            json_string(ldr_case_status_name(v->status)));
        json_object_set_new(o, "occurred_at", json_integer(v->occurred_at));
        json_object_set_new(o, "details",
                            OPTV(v->has_details, jstr(v->details)));
        break;
    }
    case LDR_RECORD_CLOCK_TICK:
        json_object_set_new(o, "tick_at", json_integer(r->u.tick.tick_at));
        json_object_set_new(o, "source", jstr(r->u.tick.source));
        break;
    case LDR_RECORD_DECISION: {
        const ldr_decision_t *d = &r->u.decision;
        json_object_set_new(o, "decision_id", jstr(d->decision_id));
        json_object_set_new(o, "uscc", jstr(d->uscc));
        json_object_set_new(o, "enterprise_name", jstr(d->enterprise_name));
        json_object_set_new(o, "reporting_unit", jstr(d->reporting_unit));
        json_object_set_new(
            o, "tier", OPTV(d->has_tier, json_string(ldr_tier_name(d->tier))));
        json_object_set_new(o, "decision",
                            json_string(ldr_decision_type_name(d->decision)));
        json_t *rs = json_array();
        for (size_t i = 0; i < d->reasons_count; i++)
            json_array_append_new(rs, jstr(d->reasons[i]));
        json_object_set_new(o, "reasons", rs);
        json_object_set_new(o, "effective_at", json_integer(d->effective_at));
        json_object_set_new(
            o, "valid_from",
            OPTV(d->has_valid_from, json_integer(d->valid_from)));
        json_object_set_new(
            o, "valid_until",
            OPTV(d->has_valid_until, json_integer(d->valid_until)));
        json_object_set_new(
            o, "review_deadline",
            OPTV(d->has_review_deadline, json_integer(d->review_deadline)));
        json_object_set_new(o, "ban_until",
                            OPTV(d->has_ban_until, json_integer(d->ban_until)));
        json_object_set_new(o, "case_id",
                            OPTV(d->has_case_id, jstr(d->case_id)));
        json_object_set_new(o, "batch",
                            OPTV(d->has_batch, json_integer(d->batch)));
        json_object_set_new(o, "score",
                            OPTV(d->has_score, json_integer(d->score)));
        json_object_set_new(o, "policy_version", jstr(d->policy_version));
        json_object_set_new(
            o, "cause_event_id",
            OPTV(d->has_cause_event_id, jstr(d->cause_event_id)));
        json_object_set_new(o, "cause", jstr(d->cause));
        json_object_set_new(o, "decided_at", json_integer(d->decided_at));
        break;
    }
    }
    return o;
}

static void write_pair(const char *dir, const char *name, const void *b,
                       size_t len, json_t *j) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.bin", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, len, f) != len) {
        perror(path);
        exit(2);
    }
    fclose(f);
    snprintf(path, sizeof(path), "%s/%s.json", dir, name);
    if (json_dump_file(j, path, JSON_SORT_KEYS | JSON_REAL_PRECISION(17))) {
        perror(path);
        exit(2);
    }
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Compares JSON values; doubles exactly, integers across int/real. */
static int same(json_t *a, json_t *b, const char *path) {
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b)) {
            if (json_integer_value(a) == json_integer_value(b)) return 1;
        } else if (json_number_value(a) == json_number_value(b)) {
            return 1;
        }
        fprintf(stderr, "  %s: %g != %g\n", path, json_number_value(a),
                json_number_value(b));
        return 0;
    }
    if (json_is_object(a) && json_is_object(b)) {
        int ok = json_object_size(a) == json_object_size(b);
        if (!ok) fprintf(stderr, "  %s: field count differs\n", path);
        const char *k;
        json_t *v;
        json_object_foreach(a, k, v) {
            char sub[512];
            snprintf(sub, sizeof(sub), "%s.%s", path, k);
            json_t *w = json_object_get(b, k);
            if (!w) {
                fprintf(stderr, "  %s: missing\n", sub);
                ok = 0;
                continue;
            }
            ok &= same(v, w, sub);
        }
        return ok;
    }
    if (json_equal(a, b)) return 1;
    char *x = json_dumps(a, JSON_ENCODE_ANY),
         *y = json_dumps(b, JSON_ENCODE_ANY);
    fprintf(stderr, "  %s: %s != %s\n", path, x, y);
    free(x);
    free(y);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: interop_codec encode|decode SCHEMA_DIR DIR\n");
        return 2;
    }
    char err[1024];
    ldr_schemas_t *schemas = ldr_schemas_load(argv[2], err, sizeof(err));
    ldr_codec_t *codec =
        schemas ? ldr_codec_new(schemas, err, sizeof(err)) : NULL;
    if (!codec) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    int failures = 0, count = 0;
    if (strcmp(argv[1], "encode") == 0) {
        for (int k = LDR_RECORD_APPLICATION; k <= LDR_RECORD_DECISION; k++)
            for (int v = 0; v < 2; v++) {
                ldr_record_t rec;
                ldr_sample_record(&rec, k, v);
                const void *b;
                size_t len;
                if (ldr_codec_encode(codec, &rec, &b, &len, err, sizeof(err))) {
                    fprintf(stderr, "%s\n", err);
                    return 1;
                }
                char name[64];
                snprintf(name, sizeof(name), "c-%d-%d", k, v);
                json_t *j = to_json(&rec);
                write_pair(argv[3], name, b, len, j);
                json_decref(j);
                count++;
            }
        const ldr_schema_t *old;
        ldr_record_t rec;
        ldr_sample_record(&rec, LDR_RECORD_APPLICATION, 0);
        ldr_schemas_by_id(schemas, 101, &old, err, sizeof(err));
        const void *b;
        size_t len;
        if (ldr_codec_encode_with(codec, old, LDR_FRAMING_CONFLUENT, &rec, &b,
                                  &len, err, sizeof(err))) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        json_t *j = to_json(&rec);
        /* Version 0 has no honours and no development_score. */
        json_object_del(json_object_get(j, "indicators"), "honours");
        json_object_del(json_object_get(j, "indicators"), "development_score");
        write_pair(argv[3], "c-v0-1", b, len, j);
        json_decref(j);
        printf("ladder encoded %d records\n", count + 1);
    } else {
        DIR *d = opendir(argv[3]);
        struct dirent *de;
        while ((de = readdir(d))) {
            size_t n = strlen(de->d_name);
            if (strncmp(de->d_name, "py-", 3) || n < 5 ||
                strcmp(de->d_name + n - 4, ".bin"))
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[3], de->d_name);
            size_t len;
            char *b = read_all(path, &len);
            snprintf(path + strlen(path) - 4, 6, ".json");
            json_error_t jerr;
            json_t *want = json_load_file(path, 0, &jerr);
            if (!want) {
                fprintf(stderr, "%s: %s\n", path, jerr.text);
                return 2;
            }
            ldr_record_t rec;
            const ldr_schema_t *writer;
            if (ldr_codec_decode(codec, b, len, &rec, &writer, err,
                                 sizeof(err))) {
                fprintf(stderr, "%s: ladder cannot decode: %s\n", de->d_name,
                        err);
                failures++;
            } else {
                json_t *got = to_json(&rec);
                if (!same(want, got, de->d_name)) {
                    fprintf(stderr, "%s (schema id %d): fields differ\n",
                            de->d_name, (int)ldr_schema_id(writer));
                    failures++;
                }
                json_decref(got);
            }
            count++;
            json_decref(want);
            free(b);
        }
        closedir(d);
        printf("ladder decoded %d records written by python3-avro: %d differ\n",
               count, failures);
        if (count == 0) failures++;
    }
    ldr_codec_destroy(codec);
    ldr_schemas_destroy(schemas);
    return failures ? 1 : 0;
}
