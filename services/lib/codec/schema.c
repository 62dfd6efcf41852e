/* schema.c -- schema registry: local files, fingerprints, canonical form.
 *
 * DESIGN: see schema.h. Parsing Canonical Form follows the Avro
 * specification ("Parsing Canonical Form for Schemas"): primitives in
 * simple form, full names, only the attributes that matter for parsing
 * (name, type, fields, symbols, items, values, size) in that order, named
 * types written once and referenced by full name afterwards, no white
 * space. It is computed from the JSON text with jansson rather than from
 * Avro-C's parsed schema because Avro-C's JSON writer drops attributes and
 * cannot be trusted to reproduce the text it read. */
#include "schema_int.h"

#include "ladder/alloc.h"
#include "ladder/buf.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LDR_CRC64_EMPTY      0xc15d213aa4d7a795ULL
#define LDR_SCHEMA_MAX_DEPTH 32
#define LDR_SCHEMA_MAX_TEXT  (1024 * 1024)

struct ldr_schemas {
    ldr_schema_t **v;
    size_t count;
    size_t cap;
    const ldr_schema_t *current[LDR_RECORD_DECISION + 1];
    ldr_schema_fetch_fn fetch;
    void *fetch_opaque;
};

uint64_t ldr_crc64_avro(const void *data, size_t len) {
    /* The table is built per call: fingerprints are computed when a schema
     * is loaded, never per message, and a per-call table keeps this module
     * free of mutable globals. */
    uint64_t table[256];
    for (int i = 0; i < 256; i++) {
        uint64_t fp = (uint64_t)i;
        for (int j = 0; j < 8; j++)
            fp = (fp >> 1) ^ (LDR_CRC64_EMPTY & (0 - (fp & 1)));
        table[i] = fp;
    }
    const unsigned char *p = data;
    uint64_t fp = LDR_CRC64_EMPTY;
    for (size_t i = 0; i < len; i++)
        fp = (fp >> 8) ^ table[(fp ^ p[i]) & 0xff];
    return fp;
}

void ldr_schema__avro_error(char *errstr, size_t errstr_size,
                            const char *what) {
    const char *e = avro_strerror();
    ldr_err_set(errstr, errstr_size, LDR_ERR_SCHEMA, "%s: %s", what,
                e && *e ? e : "Avro-C reported an error");
}

/* ---- Parsing Canonical Form ------------------------------------------ */

static const char *const ldr_avro_primitives[] = {
    "null", "boolean", "int", "long", "float", "double", "bytes", "string"};

static int schema_is_primitive(const char *s) {
    for (size_t i = 0; i < LDR_ARRAY_SIZE(ldr_avro_primitives); i++)
        if (strcmp(s, ldr_avro_primitives[i]) == 0) return 1;
    return 0;
}

static int schema_valid_name(const char *s) {
    /* A full name: dot-separated parts of [A-Za-z_][A-Za-z0-9_]*. */
    int start = 1;
    if (!*s) return 0;
    for (; *s; s++) {
        char c = *s;
        if (c == '.') {
            if (start) return 0;
            start = 1;
            continue;
        }
        int alpha =
            (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
        int digit = c >= '0' && c <= '9';
        if (!alpha && !(digit && !start)) return 0;
        start = 0;
    }
    return !start;
}

/* Full name of a named type: a dotted name is already full; otherwise the
 * type's own namespace attribute, or else the enclosing one, applies. */
static void schema_fullname(const char *name, const char *ns, ldr_buf_t *out) {
    ldr_buf_reset(out);
    if (!strchr(name, '.') && ns && *ns) {
        ldr_buf_append_str(out, ns);
        ldr_buf_append_byte(out, '.');
    }
    ldr_buf_append_str(out, name);
}

static ldr_err_t schema_pcf(json_t *node, const char *ns, json_t *defined,
                            ldr_buf_t *out, int depth, char *errstr, size_t n);

/* The ,"fields":[...] of record @p full; nested names take @p inner_ns. */
static ldr_err_t schema_pcf_fields(json_t *node, const char *full,
                                   const char *inner_ns, json_t *defined,
                                   ldr_buf_t *out, int depth, char *errstr,
                                   size_t n) {
    json_t *fields = json_object_get(node, "fields");
    if (!json_is_array(fields))
        return ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                           "%s: \"fields\" is not an array", full);
    ldr_err_t err = LDR_OK;
    ldr_buf_append_str(out, ",\"fields\":[");
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) {
        json_t *fname = json_object_get(f, "name");
        json_t *ftype = json_object_get(f, "type");
        if (!json_is_string(fname) || !ftype) {
            err = ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                              "%s: field %zu needs \"name\" and "
                              "\"type\"",
                              full, i);
            break;
        }
        if (i) ldr_buf_append_byte(out, ',');
        ldr_buf_printf(out,
                       "{\"name\":\"%s\",\"type\":", json_string_value(fname));
        err = schema_pcf(ftype, inner_ns, defined, out, depth + 1, errstr, n);
        if (err) break;
        ldr_buf_append_byte(out, '}');
    }
    ldr_buf_append_byte(out, ']');
    return err;
}

/* The ,"symbols":[...] of enum @p full. */
static ldr_err_t schema_pcf_symbols(json_t *node, const char *full,
                                    ldr_buf_t *out, char *errstr, size_t n) {
    json_t *syms = json_object_get(node, "symbols");
    if (!json_is_array(syms))
        return ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                           "%s: \"symbols\" is not an array", full);
    ldr_err_t err = LDR_OK;
    ldr_buf_append_str(out, ",\"symbols\":[");
    size_t i;
    json_t *s;
    json_array_foreach(syms, i, s) {
        if (!json_is_string(s) || !schema_valid_name(json_string_value(s))) {
            err = ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                              "%s: symbol %zu is not a valid name", full, i);
            break;
        }
        ldr_buf_printf(out, "%s\"%s\"", i ? "," : "", json_string_value(s));
    }
    ldr_buf_append_byte(out, ']');
    return err;
}

/* The ,"size":N of fixed @p full. */
static ldr_err_t schema_pcf_size(json_t *node, const char *full, ldr_buf_t *out,
                                 char *errstr, size_t n) {
    json_t *size = json_object_get(node, "size");
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                           "%s: \"size\" is not a non-negative integer", full);
    ldr_buf_printf(out, ",\"size\":%lld", (long long)json_integer_value(size));
    return LDR_OK;
}

static ldr_err_t schema_pcf_named(json_t *node, const char *type,
                                  const char *ns, json_t *defined,
                                  ldr_buf_t *out, int depth, char *errstr,
                                  size_t n) {
    json_t *jname = json_object_get(node, "name");
    if (!json_is_string(jname))
        return ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                           "a %s has no string \"name\"", type);
    json_t *jns = json_object_get(node, "namespace");
    if (jns && !json_is_string(jns) && !json_is_null(jns))
        return ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                           "%s: \"namespace\" is not a string",
                           json_string_value(jname));
    const char *own_ns = json_is_string(jns) ? json_string_value(jns) : ns;
    ldr_buf_t full;
    ldr_buf_init(&full);
    schema_fullname(json_string_value(jname), own_ns, &full);
    ldr_err_t err = LDR_OK;
    if (!schema_valid_name(full.data)) {
        err = ldr_err_set(errstr, n, LDR_ERR_SCHEMA, "invalid name \"%s\"",
                          full.data);
        goto out;
    }
    if (json_object_get(defined, full.data)) {
        err = ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                          "type \"%s\" is defined twice", full.data);
        goto out;
    }
    json_object_set_new(defined, full.data, json_true());
    /* Names nested inside take the namespace of this type's full name. */
    char *inner_ns = ldr_strdup(full.data);
    char *dot = strrchr(inner_ns, '.');
    if (dot)
        *dot = '\0';
    else
        inner_ns[0] = '\0';

    ldr_buf_append_str(out, "{\"name\":\"");
    ldr_buf_append_str(out, full.data);
    ldr_buf_printf(out, "\",\"type\":\"%s\"", type);
    if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0)
        err = schema_pcf_fields(node, full.data, inner_ns, defined, out, depth,
                                errstr, n);
    else if (strcmp(type, "enum") == 0)
        err = schema_pcf_symbols(node, full.data, out, errstr, n);
    else /* fixed */
        err = schema_pcf_size(node, full.data, out, errstr, n);
    ldr_buf_append_byte(out, '}');
    free(inner_ns);
out:
    ldr_buf_fini(&full);
    return err;
}

static ldr_err_t schema_pcf(json_t *node, const char *ns, json_t *defined,
                            ldr_buf_t *out, int depth, char *errstr, size_t n) {
    if (depth > LDR_SCHEMA_MAX_DEPTH)
        return ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                           "schema nests deeper than %d levels",
                           LDR_SCHEMA_MAX_DEPTH);
    if (json_is_string(node)) {
        const char *s = json_string_value(node);
        if (schema_is_primitive(s)) {
            ldr_buf_printf(out, "\"%s\"", s);
            return LDR_OK;
        }
        /* A reference to a named type defined earlier. */
        ldr_buf_t full;
        ldr_buf_init(&full);
        schema_fullname(s, ns, &full);
        ldr_err_t err = LDR_OK;
        if (!json_object_get(defined, full.data))
            err = ldr_err_set(errstr, n, LDR_ERR_SCHEMA, "unknown type \"%s\"",
                              full.data);
        else
            ldr_buf_printf(out, "\"%s\"", full.data);
        ldr_buf_fini(&full);
        return err;
    }
    if (json_is_array(node)) {
        ldr_buf_append_byte(out, '[');
        size_t i;
        json_t *b;
        json_array_foreach(node, i, b) {
            if (i) ldr_buf_append_byte(out, ',');
            ldr_err_t err =
                schema_pcf(b, ns, defined, out, depth + 1, errstr, n);
            if (err) return err;
        }
        ldr_buf_append_byte(out, ']');
        return LDR_OK;
    }
    if (!json_is_object(node))
        return ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                           "a schema must be a string, an array or an object");
    json_t *jtype = json_object_get(node, "type");
    if (!json_is_string(jtype))
        return ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                           "a schema object needs a string \"type\"");
    const char *type = json_string_value(jtype);
    if (schema_is_primitive(type)) {
        /* Attributes such as logicalType do not change parsing. */
        ldr_buf_printf(out, "\"%s\"", type);
        return LDR_OK;
    }
    if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0 ||
        strcmp(type, "enum") == 0 || strcmp(type, "fixed") == 0)
        return schema_pcf_named(node, type, ns, defined, out, depth, errstr, n);
    if (strcmp(type, "array") == 0 || strcmp(type, "map") == 0) {
        int is_array = type[0] == 'a';
        json_t *inner = json_object_get(node, is_array ? "items" : "values");
        if (!inner)
            return ldr_err_set(errstr, n, LDR_ERR_SCHEMA, "%s without \"%s\"",
                               type, is_array ? "items" : "values");
        ldr_buf_printf(out, "{\"type\":\"%s\",\"%s\":", type,
                       is_array ? "items" : "values");
        ldr_err_t err =
            schema_pcf(inner, ns, defined, out, depth + 1, errstr, n);
        if (err) return err;
        ldr_buf_append_byte(out, '}');
        return LDR_OK;
    }
    /* A bare reference written as {"type": "Name"}. */
    json_t *as_ref = json_string(type);
    ldr_err_t err = schema_pcf(as_ref, ns, defined, out, depth + 1, errstr, n);
    json_decref(as_ref);
    return err;
}

static ldr_err_t schema_pcf_json(json_t *root, char **out, char *errstr,
                                 size_t n) {
    ldr_buf_t b;
    ldr_buf_init(&b);
    json_t *defined = json_object();
    ldr_err_t err = schema_pcf(root, "", defined, &b, 0, errstr, n);
    json_decref(defined);
    if (err) {
        ldr_buf_fini(&b);
        return err;
    }
    *out = ldr_buf_steal(&b);
    return LDR_OK;
}

ldr_err_t ldr_schema_canonical_form(const char *json_text, size_t len,
                                    char **out, char *errstr,
                                    size_t errstr_size) {
    json_error_t jerr;
    json_t *root = json_loadb(json_text, len, JSON_DECODE_ANY, &jerr);
    if (!root)
        return ldr_err_set(errstr, errstr_size, LDR_ERR_SCHEMA,
                           "schema is not JSON: line %d: %s", jerr.line,
                           jerr.text);
    ldr_err_t err = schema_pcf_json(root, out, errstr, errstr_size);
    json_decref(root);
    return err;
}

/* ---- The registry ---------------------------------------------------- */

static void schema_free(ldr_schema_t *s) {
    if (!s) return;
    if (s->avro) avro_schema_decref(s->avro);
    json_decref(s->json);
    free(s->fullname);
    free(s->origin);
    free(s->text);
    free(s->canonical);
    free(s);
}

/* Parses one schema text completely; the result is not yet registered. */
static ldr_err_t schema_parse(int32_t id, const char *text, size_t len,
                              const char *origin, ldr_schema_t **out,
                              char *errstr, size_t n) {
    char why[512];
    if (len > LDR_SCHEMA_MAX_TEXT)
        return ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                           "%s: schema text is larger than %d bytes", origin,
                           LDR_SCHEMA_MAX_TEXT);
    ldr_schema_t *s = ldr_calloc(1, sizeof(*s));
    s->id = id;
    s->origin = ldr_strdup(origin);
    s->text = ldr_strndup(text, len);
    json_error_t jerr;
    s->json = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    if (!s->json) {
        ldr_err_set(errstr, n, LDR_ERR_SCHEMA, "%s: not JSON: line %d: %s",
                    origin, jerr.line, jerr.text);
        goto fail;
    }
    if (schema_pcf_json(s->json, &s->canonical, why, sizeof(why))) {
        ldr_err_set(errstr, n, LDR_ERR_SCHEMA, "%s: %s", origin, why);
        goto fail;
    }
    if (avro_schema_from_json_length(s->text, len, &s->avro)) {
        ldr_schema__avro_error(why, sizeof(why), "Avro-C rejects the schema");
        ldr_err_set(errstr, n, LDR_ERR_SCHEMA, "%s: %s", origin, why);
        s->avro = NULL;
        goto fail;
    }
    s->fingerprint = ldr_crc64_avro(s->canonical, strlen(s->canonical));
    const char *name = avro_schema_type_name(s->avro);
    if (is_avro_named_type(s->avro) && name) {
        const char *ns = avro_schema_namespace(s->avro);
        ldr_buf_t full;
        ldr_buf_init(&full);
        schema_fullname(name, ns, &full);
        s->fullname = ldr_buf_steal(&full);
    } else {
        s->fullname = ldr_strdup(name ? name : "?");
    }
    for (int k = LDR_RECORD_APPLICATION; k <= LDR_RECORD_DECISION; k++)
        if (strcmp(s->fullname, ldr_record_kind_fullname(k)) == 0)
            s->kind = (ldr_record_kind_t)k;
    *out = s;
    return LDR_OK;
fail:
    schema_free(s);
    return LDR_ERR_SCHEMA;
}

ldr_err_t ldr_schema_check(const char *json_text, size_t len,
                           const char *origin, char **canonical,
                           char **fullname, char *errstr, size_t errstr_size) {
    ldr_schema_t *s = NULL;
    ldr_err_t err =
        schema_parse(0, json_text, len, origin, &s, errstr, errstr_size);
    if (err) return err;
    *canonical = s->canonical;
    s->canonical = NULL;
    if (fullname) {
        *fullname = s->fullname;
        s->fullname = NULL;
    }
    schema_free(s);
    return LDR_OK;
}

static void schema_schemas_push(ldr_schemas_t *r, ldr_schema_t *s) {
    if (r->count == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->v = ldr_realloc(r->v, r->cap * sizeof(*r->v));
    }
    s->index = r->count;
    r->v[r->count++] = s;
}

static const ldr_schema_t *schema_schemas_find_id(const ldr_schemas_t *r,
                                                  int32_t id) {
    for (size_t i = 0; i < r->count; i++)
        if (r->v[i]->id == id) return r->v[i];
    return NULL;
}

ldr_err_t ldr_schemas_add(ldr_schemas_t *r, int32_t id, const char *json_text,
                          size_t len, const char *origin,
                          const ldr_schema_t **out, char *errstr, size_t n) {
    if (schema_schemas_find_id(r, id))
        return ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                           "%s: schema id %d is already registered", origin,
                           (int)id);
    ldr_schema_t *s;
    ldr_err_t err = schema_parse(id, json_text, len, origin, &s, errstr, n);
    if (err) return err;
    schema_schemas_push(r, s);
    if (out) *out = s;
    return LDR_OK;
}

static char *schema_read_file(const char *path, size_t *len, char *errstr,
                              size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        ldr_err_set(errstr, n, LDR_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    ldr_buf_t b;
    ldr_buf_init(&b);
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        ldr_buf_append(&b, chunk, got);
        if (b.len > LDR_SCHEMA_MAX_TEXT) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad || b.len > LDR_SCHEMA_MAX_TEXT) {
        ldr_err_set(errstr, n, LDR_ERR_IO, "%s: %s", path,
                    bad ? "read error" : "file is larger than 1 MiB");
        ldr_buf_fini(&b);
        return NULL;
    }
    *len = b.len;
    return ldr_buf_steal(&b);
}

static int schema_parse_id(const char *s, int32_t *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > INT32_MAX) return -1;
    *out = (int32_t)v;
    return 0;
}

static int schema_safe_relpath(const char *p) {
    return *p && p[0] != '/' && !strstr(p, "..");
}

/* Parses and registers every schema file the index's "ids" lists. */
static ldr_err_t schema_load_ids(ldr_schemas_t *r, const char *dir,
                                 const char *path, json_t *ids, char *errstr,
                                 size_t n) {
    char why[512];
    const char *key;
    json_t *val;
    json_object_foreach(ids, key, val) {
        int32_t id;
        if (schema_parse_id(key, &id))
            return ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                               "%s: ids: \"%s\" is not a schema id "
                               "(1..2^31-1)",
                               path, key);
        if (!json_is_string(val) ||
            !schema_safe_relpath(json_string_value(val)))
            return ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                               "%s: ids.%s: not a relative path inside %s",
                               path, key, dir);
        char file[4096];
        snprintf(file, sizeof(file), "%s/%s", dir, json_string_value(val));
        size_t len;
        char *text = schema_read_file(file, &len, why, sizeof(why));
        if (!text)
            return ldr_err_set(errstr, n, LDR_ERR_SCHEMA, "%s: ids.%s: %s",
                               path, key, why);
        ldr_err_t err = ldr_schemas_add(
            r, id, text, len, json_string_value(val), NULL, why, sizeof(why));
        free(text);
        if (err)
            return ldr_err_set(errstr, n, LDR_ERR_SCHEMA, "%s/%s", dir, why);
    }
    return LDR_OK;
}

/* The index's "fingerprints" must map exactly the registered schemas. */
static ldr_err_t schema_check_fingerprints(const ldr_schemas_t *r,
                                           const char *path, json_t *fps,
                                           char *errstr, size_t n) {
    /* Every schema's fingerprint must be listed, for its own file. */
    for (size_t i = 0; i < r->count; i++) {
        char hex[17];
        snprintf(hex, sizeof(hex), "%016llx",
                 (unsigned long long)r->v[i]->fingerprint);
        json_t *f = json_object_get(fps, hex);
        if (!json_is_string(f) || strcmp(json_string_value(f), r->v[i]->origin))
            return ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                               "%s: fingerprints: %s (id %d) has fingerprint "
                               "%s, which the index does not map to it",
                               path, r->v[i]->origin, (int)r->v[i]->id, hex);
    }
    const char *key;
    json_t *val;
    json_object_foreach(fps, key, val) {
        int found = 0;
        for (size_t i = 0; i < r->count && !found; i++) {
            char hex[17];
            snprintf(hex, sizeof(hex), "%016llx",
                     (unsigned long long)r->v[i]->fingerprint);
            found = strcmp(hex, key) == 0;
        }
        if (!found)
            return ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                               "%s: fingerprints: %s matches no schema in "
                               "\"ids\"",
                               path, key);
    }
    return LDR_OK;
}

/* Sets r->current from the index's "current": one schema per record kind. */
static ldr_err_t schema_load_current(ldr_schemas_t *r, const char *path,
                                     json_t *current, char *errstr, size_t n) {
    for (int k = LDR_RECORD_APPLICATION; k <= LDR_RECORD_DECISION; k++) {
        const char *name = ldr_record_kind_fullname(k);
        json_t *jid = json_object_get(current, name);
        const ldr_schema_t *s =
            json_is_integer(jid)
                ? schema_schemas_find_id(r, (int32_t)json_integer_value(jid))
                : NULL;
        if (!s || (int)s->kind != k)
            return ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                               "%s: current.\"%s\" must name the id of a "
                               "schema of that record",
                               path, name);
        r->current[k] = s;
    }
    return LDR_OK;
}

ldr_schemas_t *ldr_schemas_load(const char *dir, char *errstr, size_t n) {
    ldr_schemas_t *r = ldr_calloc(1, sizeof(*r));
    char path[4096];
    snprintf(path, sizeof(path), "%s/index.json", dir);
    json_error_t jerr;
    json_t *index = json_load_file(path, 0, &jerr);
    if (!index) {
        ldr_err_set(errstr, n, LDR_ERR_SCHEMA, "%s: %s (line %d)", path,
                    jerr.text, jerr.line);
        goto fail;
    }
    json_t *ids = json_object_get(index, "ids");
    json_t *fps = json_object_get(index, "fingerprints");
    json_t *current = json_object_get(index, "current");
    if (!json_is_object(ids) || !json_is_object(fps) ||
        !json_is_object(current)) {
        ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                    "%s: needs objects \"ids\", \"fingerprints\" and "
                    "\"current\"",
                    path);
        goto fail;
    }
    if (schema_load_ids(r, dir, path, ids, errstr, n) ||
        schema_check_fingerprints(r, path, fps, errstr, n) ||
        schema_load_current(r, path, current, errstr, n))
        goto fail;
    json_decref(index);
    return r;
fail:
    json_decref(index);
    ldr_schemas_destroy(r);
    return NULL;
}

void ldr_schemas_destroy(ldr_schemas_t *r) {
    if (!r) return;
    for (size_t i = 0; i < r->count; i++)
        schema_free(r->v[i]);
    free(r->v);
    free(r);
}

ldr_err_t ldr_schemas_use_ids(ldr_schemas_t *r,
                              const int32_t ids[LDR_RECORD_DECISION + 1],
                              char *errstr, size_t n) {
    for (int k = LDR_RECORD_APPLICATION; k <= LDR_RECORD_DECISION; k++)
        for (int j = k + 1; j <= LDR_RECORD_DECISION; j++)
            if (ids[k] > 0 && ids[k] == ids[j])
                return ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                                   "schema id %d given to two records",
                                   (int)ids[k]);
    /* Local ids become negative: no id on the wire (a positive int32 in
     * practice) finds them any more, while their fingerprints still do. */
    for (size_t i = 0; i < r->count; i++)
        r->v[i]->id = -(int32_t)(i + 1);
    for (int k = LDR_RECORD_APPLICATION; k <= LDR_RECORD_DECISION; k++)
        if (ids[k] > 0 && r->current[k])
            ((ldr_schema_t *)r->current[k])->id = ids[k];
    return LDR_OK;
}

void ldr_schemas_set_fetcher(ldr_schemas_t *r, ldr_schema_fetch_fn fn,
                             void *opaque) {
    r->fetch = fn;
    r->fetch_opaque = opaque;
}

ldr_err_t ldr_schemas_by_id(ldr_schemas_t *r, int32_t id,
                            const ldr_schema_t **out, char *errstr, size_t n) {
    const ldr_schema_t *s = schema_schemas_find_id(r, id);
    if (s) {
        *out = s;
        return LDR_OK;
    }
    if (!r->fetch)
        return ldr_err_set(errstr, n, LDR_ERR_UNKNOWN_SCHEMA,
                           "schema id %d is not known", (int)id);
    char *text = NULL;
    ldr_err_t err = r->fetch(r->fetch_opaque, id, &text, errstr, n);
    if (err) return err;
    char origin[64];
    snprintf(origin, sizeof(origin), "registry id %d", (int)id);
    err = ldr_schemas_add(r, id, text, strlen(text), origin, out, errstr, n);
    free(text);
    /* A registry that serves text we cannot parse has handed us a schema
     * no ladder reader can use: the message is a dead letter. */
    return err ? LDR_ERR_UNKNOWN_SCHEMA : LDR_OK;
}

const ldr_schema_t *ldr_schemas_by_fingerprint(const ldr_schemas_t *r,
                                               uint64_t fp) {
    for (size_t i = 0; i < r->count; i++)
        if (r->v[i]->fingerprint == fp) return r->v[i];
    return NULL;
}

const ldr_schema_t *ldr_schemas_current(const ldr_schemas_t *r,
                                        ldr_record_kind_t kind) {
    if (kind < LDR_RECORD_APPLICATION || kind > LDR_RECORD_DECISION)
        return NULL;
    return r->current[kind];
}

size_t ldr_schemas_count(const ldr_schemas_t *r) {
    return r->count;
}

const ldr_schema_t *ldr_schemas_at(const ldr_schemas_t *r, size_t i) {
    return i < r->count ? r->v[i] : NULL;
}

int32_t ldr_schema_id(const ldr_schema_t *s) {
    return s->id;
}
const char *ldr_schema_fullname(const ldr_schema_t *s) {
    return s->fullname;
}
uint64_t ldr_schema_fingerprint(const ldr_schema_t *s) {
    return s->fingerprint;
}
const char *ldr_schema_canonical(const ldr_schema_t *s) {
    return s->canonical;
}
const char *ldr_schema_text(const ldr_schema_t *s) {
    return s->text;
}
const char *ldr_schema_origin(const ldr_schema_t *s) {
    return s->origin;
}
ldr_record_kind_t ldr_schema_kind(const ldr_schema_t *s) {
    return s->kind;
}
