/* ladder-registry.c -- a small Confluent-compatible schema registry.
 *
 * DESIGN: the tests and the quickstart need a schema registry that speaks
 * the part of Confluent's REST API that ladder and the common clients use
 * (register, look up, fetch by id, list subjects and versions), starts in
 * milliseconds on a free port and needs no JVM. State is in memory only: a
 * table of schemas (id = position + 1) and a table of subjects, each an
 * ordered list of schema ids (version = position + 1). Nothing is ever
 * deleted, so ids and versions stay dense and a lookup is a scan; a test
 * registers a handful of schemas, never thousands.
 *
 * Two registrations are the same schema when their Avro Parsing Canonical
 * Forms are equal (ldr_schema_canonical_form(), the function the codec
 * fingerprints with), so one schema gets one id whichever subject it is
 * registered under and however its JSON is laid out. The text returned is
 * the text of the first registration, as Avro-C drops logicalType and
 * default when it writes a schema back out. A schema is valid when the
 * codec's loader would take it (ldr_schema_check(): JSON, Avro-C's
 * avro_schema_from_json_length(), a canonical form), so the registry
 * never hands out an id that ladder's decoder then refuses. Compatibility is
 * not checked: every valid schema is accepted as the subject's next version,
 * and 409 is never sent. The compatibility levels of /config are only
 * recorded and echoed (clients such as @kafkajs/confluent-schema-registry
 * set one on first registration and read it back on the next); the
 * global level reads NONE until set, as nothing is enforced.
 *
 * The HTTP server is the project's wrapper (ladder/http.h) on one thread:
 * handlers run one at a time, so the tables need no lock. Errors are
 * Confluent's: {"error_code": N, "message": "..."} with the HTTP status
 * the code starts with (40401 -> 404). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ladder/alloc.h"
#include "ladder/buf.h"
#include "ladder/http.h"
#include "ladder/log.h"
#include "ladder/schema.h"
#include "ladder/svc.h"

#define PROG           "ladder-registry"
#define EXIT_USAGE     2
#define LISTEN_DEFAULT "127.0.0.1:8081"
#define CONTENT_TYPE   "application/vnd.schemaregistry.v1+json"
#define PEM_MAX        (1024 * 1024)

/* Confluent's error codes. */
enum {
    ERR_UNAUTHORIZED = 40101,
    ERR_SUBJECT_NOT_FOUND = 40401,
    ERR_VERSION_NOT_FOUND = 40402,
    ERR_SCHEMA_NOT_FOUND = 40403,
    ERR_INVALID_SCHEMA = 42201,
    ERR_SUBJECT_CONFIG_NOT_FOUND = 40408,
    ERR_INVALID_VERSION = 42202,
    ERR_INVALID_COMPATIBILITY = 42203,
};

/* A compatibility level as /config records it (never enforced). */
typedef struct reg_config {
    char *subject;
    const char *level; /* one of config_levels */
} reg_config_t;

static const char *const config_levels[] = {
    "NONE",           "BACKWARD",           "BACKWARD_TRANSITIVE",
    "FORWARD",        "FORWARD_TRANSITIVE", "FULL",
    "FULL_TRANSITIVE"};

typedef struct reg_schema {
    char *text;      /* as first registered */
    char *canonical; /* Parsing Canonical Form */
} reg_schema_t;

typedef struct reg_subject {
    char *name;
    int32_t *ids; /* ids[version - 1] */
    size_t nversions;
} reg_subject_t;

typedef struct registry {
    reg_schema_t *schemas; /* schemas[id - 1] */
    size_t nschemas;
    reg_subject_t *subjects; /* in order of first registration */
    size_t nsubjects;
    char *auth;            /* "Basic <base64 of user:password>", or NULL */
    const char *level;     /* the global compatibility level */
    reg_config_t *configs; /* subject levels */
    size_t nconfigs;
} registry_t;

/* ---- the tables ----------------------------------------------------- */

static reg_subject_t *reg_subject_find(registry_t *r, const char *name) {
    for (size_t i = 0; i < r->nsubjects; i++)
        if (!strcmp(r->subjects[i].name, name)) return &r->subjects[i];
    return NULL;
}

static int32_t reg_schema_find(const registry_t *r, const char *canonical) {
    for (size_t i = 0; i < r->nschemas; i++)
        if (!strcmp(r->schemas[i].canonical, canonical)) return (int32_t)i + 1;
    return 0;
}

/* The version of schema @p id in @p s, or 0. */
static int reg_subject_version(const reg_subject_t *s, int32_t id) {
    for (size_t v = 0; v < s->nversions; v++)
        if (s->ids[v] == id) return (int)v + 1;
    return 0;
}

/* Checks @p text as Avro and computes its canonical form (*canonical, the
 * caller frees). Returns 0, or -1 with the reason in @p why. */
static int reg_parse(const char *text, size_t len, char **canonical, char *why,
                     size_t why_size) {
    return ldr_schema_check(text, len, "Invalid schema", canonical, NULL, why,
                            why_size)
               ? -1
               : 0;
}

/* Registers @p text (parsed already, @p canonical owned by the call) under
 * @p subject and returns its id; the same schema again under the same
 * subject adds no version. */
static int32_t reg_register(registry_t *r, const char *subject,
                            const char *text, char *canonical) {
    int32_t id = reg_schema_find(r, canonical);
    if (!id) {
        r->schemas =
            ldr_realloc(r->schemas, (r->nschemas + 1) * sizeof(*r->schemas));
        r->schemas[r->nschemas++] = (reg_schema_t){ldr_strdup(text), canonical};
        id = (int32_t)r->nschemas;
        canonical = NULL;
    }
    free(canonical);
    reg_subject_t *s = reg_subject_find(r, subject);
    if (!s) {
        r->subjects =
            ldr_realloc(r->subjects, (r->nsubjects + 1) * sizeof(*r->subjects));
        s = &r->subjects[r->nsubjects++];
        *s = (reg_subject_t){ldr_strdup(subject), NULL, 0};
    }
    if (!reg_subject_version(s, id)) {
        s->ids = ldr_realloc(s->ids, (s->nversions + 1) * sizeof(*s->ids));
        s->ids[s->nversions++] = id;
        LDR_LOG_INFO("registered schema id %d as %s version %zu", (int)id,
                     subject, s->nversions);
    }
    return id;
}

static void reg_fini(registry_t *r) {
    for (size_t i = 0; i < r->nschemas; i++) {
        free(r->schemas[i].text);
        free(r->schemas[i].canonical);
    }
    for (size_t i = 0; i < r->nsubjects; i++) {
        free(r->subjects[i].name);
        free(r->subjects[i].ids);
    }
    for (size_t i = 0; i < r->nconfigs; i++)
        free(r->configs[i].subject);
    free(r->schemas);
    free(r->subjects);
    free(r->configs);
    free(r->auth);
}

/* ---- answers -------------------------------------------------------- */

/* Sends @p v (its reference is taken) as the body. */
static void reply_json(ldr_http_response_t *res, int status, json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    res->status = status;
    res->content_type = CONTENT_TYPE;
    ldr_buf_append_str(&res->body, s);
    free(s);
}

static void reply_error(ldr_http_response_t *res, int code,
                        const char *message) {
    int status = code >= 1000 ? code / 100 : code;
    reply_json(res, status,
               json_pack("{s:i, s:s}", "error_code", code, "message", message));
}

/* The subject-version object of Confluent's answers. */
static void reply_version(ldr_http_response_t *res, const registry_t *r,
                          const reg_subject_t *s, int version) {
    int32_t id = s->ids[version - 1];
    reply_json(res, 200,
               json_pack("{s:s, s:i, s:i, s:s}", "subject", s->name, "id",
                         (int)id, "version", version, "schema",
                         r->schemas[id - 1].text));
}

/* ---- requests ------------------------------------------------------- */

static const char base64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64(const char *s) {
    size_t n = strlen(s);
    ldr_buf_t b;
    ldr_buf_init(&b);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
        if (i + 1 < n) v |= (uint32_t)(unsigned char)s[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)s[i + 2];
        char out[4] = {base64_chars[v >> 18 & 63], base64_chars[v >> 12 & 63],
                       i + 1 < n ? base64_chars[v >> 6 & 63] : '=',
                       i + 2 < n ? base64_chars[v & 63] : '='};
        ldr_buf_append(&b, out, 4);
    }
    return ldr_buf_steal(&b);
}

/* Compares without stopping at the first difference, so the time taken
 * does not tell how much of a guess was right. */
static bool same_secret(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    unsigned char d = na != nb;
    for (size_t i = 0; i < na; i++)
        d |= (unsigned char)(a[i] ^ b[i % (nb ? nb : 1)]);
    return !d;
}

/* Every request starts here: true when it may go on, else @p res holds
 * the 401. */
static bool reg_allowed(const registry_t *r, const ldr_http_request_t *req,
                        ldr_http_response_t *res) {
    if (!r->auth) return true;
    const char *given = ldr_http_request_header(req, "Authorization");
    /* The scheme is case-insensitive; the credentials are not. */
    if (given && strlen(given) > 6 && !strncasecmp(given, "Basic ", 6) &&
        same_secret(given + 6, r->auth + 6))
        return true;
    ldr_http_response_header(res, "WWW-Authenticate",
                             "Basic realm=\"ladder-registry\"");
    reply_error(res, ERR_UNAUTHORIZED,
                "Unauthorized: valid basic-auth credentials are required");
    return false;
}

static bool method_is(const ldr_http_request_t *req, const char *m) {
    return !strcmp(ldr_http_request_method(req), m);
}

static void reply_method_not_allowed(ldr_http_response_t *res,
                                     const char *allow) {
    ldr_http_response_header(res, "Allow", allow);
    reply_error(res, 405, "HTTP 405 Method Not Allowed");
}

/* The body of a POST as {"schema": ...}: the schema text (into @p text,
 * owned by the returned JSON value) or NULL with @p res filled in. */
static json_t *reg_read_schema(const ldr_http_request_t *req,
                               ldr_http_response_t *res, const char **text) {
    const char *type = ldr_http_request_header(req, "Content-Type");
    if (type) {
        size_t n = strcspn(type, "; ");
        static const char *const accepted[] = {
            CONTENT_TYPE, "application/vnd.schemaregistry+json",
            "application/json", "application/octet-stream"};
        bool ok = false;
        for (size_t i = 0; i < sizeof(accepted) / sizeof(*accepted); i++)
            ok |=
                strlen(accepted[i]) == n && !strncasecmp(type, accepted[i], n);
        if (!ok) {
            reply_error(res, 415, "HTTP 415 Unsupported Media Type");
            return NULL;
        }
    }
    size_t len;
    const char *body = ldr_http_request_body(req, &len);
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (!root) {
        char why[300];
        snprintf(why, sizeof(why), "Unparseable request body: %s", jerr.text);
        reply_error(res, 400, why);
        return NULL;
    }
    json_t *schema = json_object_get(root, "schema");
    const char *stype = json_string_value(json_object_get(root, "schemaType"));
    json_t *refs = json_object_get(root, "references");
    const char *why = NULL;
    if (!json_is_string(schema))
        why = "Invalid schema: the body has no \"schema\" string";
    else if (stype && strcmp(stype, "AVRO"))
        why = "Invalid schema: only schemaType AVRO is supported";
    else if (refs && json_array_size(refs))
        why = "Invalid schema: schema references are not supported";
    if (why) {
        json_decref(root);
        reply_error(res, ERR_INVALID_SCHEMA, why);
        return NULL;
    }
    *text = json_string_value(schema);
    return root;
}

/* "latest", -1 or 1..2^31-1 of @p s, or (0 and the 42202 answer). */
static long reg_version_arg(const char *v, const reg_subject_t *s,
                            ldr_http_response_t *res) {
    if (!strcmp(v, "latest") || !strcmp(v, "-1")) return (long)s->nversions;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || end == v || n < 1 || n > INT32_MAX) {
        char why[400];
        snprintf(why, sizeof(why),
                 "The specified version '%.200s' is not a valid version id. "
                 "Allowed values are between [1, 2^31-1] and the string "
                 "\"latest\"",
                 v);
        reply_error(res, ERR_INVALID_VERSION, why);
        return 0;
    }
    return n;
}

static void on_schema_by_id(void *opaque, const ldr_http_request_t *req,
                            ldr_http_response_t *res) {
    registry_t *r = opaque;
    if (!reg_allowed(r, req, res)) return;
    const char *v = ldr_http_request_param(req, "id");
    char *end;
    errno = 0;
    long id = strtol(v, &end, 10);
    if (errno || *end || id < 1 || (size_t)id > r->nschemas) {
        reply_error(res, ERR_SCHEMA_NOT_FOUND, "Schema not found");
        return;
    }
    reply_json(res, 200, json_pack("{s:s}", "schema", r->schemas[id - 1].text));
}

static void on_subjects(void *opaque, const ldr_http_request_t *req,
                        ldr_http_response_t *res) {
    registry_t *r = opaque;
    if (!reg_allowed(r, req, res)) return;
    json_t *a = json_array();
    for (size_t i = 0; i < r->nsubjects; i++)
        json_array_append_new(a, json_string(r->subjects[i].name));
    reply_json(res, 200, a);
}

/* /config and /config/{subject}: GET reads the recorded level, PUT
 * {"compatibility": LEVEL} records one. */
static void on_config(void *opaque, const ldr_http_request_t *req,
                      ldr_http_response_t *res) {
    registry_t *r = opaque;
    if (!reg_allowed(r, req, res)) return;
    const char *subject = ldr_http_request_param(req, "subject");
    reg_config_t *c = NULL;
    for (size_t i = 0; subject && i < r->nconfigs && !c; i++)
        if (!strcmp(r->configs[i].subject, subject)) c = &r->configs[i];
    if (method_is(req, "GET") || method_is(req, "HEAD")) {
        const char *global = ldr_http_request_query(req, "defaultToGlobal");
        if (c || !subject || (global && !strcmp(global, "true")))
            reply_json(res, 200,
                       json_pack("{s:s}", "compatibilityLevel",
                                 c ? c->level : r->level));
        else
            reply_error(res, ERR_SUBJECT_CONFIG_NOT_FOUND,
                        "Subject does not have subject-level compatibility "
                        "configured");
        return;
    }
    if (!method_is(req, "PUT")) {
        reply_method_not_allowed(res, "GET, HEAD, PUT");
        return;
    }
    size_t len;
    const char *body = ldr_http_request_body(req, &len);
    json_t *root = json_loadb(body, len, 0, NULL);
    const char *want =
        json_string_value(json_object_get(root, "compatibility"));
    const char *level = NULL;
    for (size_t i = 0; want && i < sizeof(config_levels) / sizeof(char *); i++)
        if (!strcmp(want, config_levels[i])) level = config_levels[i];
    json_decref(root);
    if (!level) {
        reply_error(res, ERR_INVALID_COMPATIBILITY,
                    "Invalid compatibility level. Valid values are none, "
                    "backward, forward, full, backward_transitive, "
                    "forward_transitive, and full_transitive");
        return;
    }
    if (!subject) {
        r->level = level;
    } else if (c) {
        c->level = level;
    } else {
        r->configs =
            ldr_realloc(r->configs, (r->nconfigs + 1) * sizeof(*r->configs));
        r->configs[r->nconfigs++] = (reg_config_t){ldr_strdup(subject), level};
    }
    reply_json(res, 200, json_pack("{s:s}", "compatibility", level));
}

/* GET lists the versions, POST registers. */
static void on_versions(void *opaque, const ldr_http_request_t *req,
                        ldr_http_response_t *res) {
    registry_t *r = opaque;
    if (!reg_allowed(r, req, res)) return;
    const char *name = ldr_http_request_param(req, "subject");
    if (method_is(req, "GET") || method_is(req, "HEAD")) {
        const reg_subject_t *s = reg_subject_find(r, name);
        if (!s) {
            reply_error(res, ERR_SUBJECT_NOT_FOUND, "Subject not found.");
            return;
        }
        json_t *a = json_array();
        for (size_t v = 1; v <= s->nversions; v++)
            json_array_append_new(a, json_integer((json_int_t)v));
        reply_json(res, 200, a);
        return;
    }
    if (!method_is(req, "POST")) {
        reply_method_not_allowed(res, "GET, HEAD, POST");
        return;
    }
    const char *text;
    json_t *root = reg_read_schema(req, res, &text);
    if (!root) return;
    char *canonical, why[700];
    if (reg_parse(text, strlen(text), &canonical, why, sizeof(why))) {
        reply_error(res, ERR_INVALID_SCHEMA, why);
    } else {
        int32_t id = reg_register(r, name, text, canonical);
        reply_json(res, 200, json_pack("{s:i}", "id", (int)id));
    }
    json_decref(root);
}

/* POST: is this schema registered under the subject? */
static void on_subject(void *opaque, const ldr_http_request_t *req,
                       ldr_http_response_t *res) {
    registry_t *r = opaque;
    if (!reg_allowed(r, req, res)) return;
    if (!method_is(req, "POST")) {
        reply_method_not_allowed(res, "POST");
        return;
    }
    const char *text;
    json_t *root = reg_read_schema(req, res, &text);
    if (!root) return;
    const reg_subject_t *s =
        reg_subject_find(r, ldr_http_request_param(req, "subject"));
    char *canonical = NULL, why[700];
    if (reg_parse(text, strlen(text), &canonical, why, sizeof(why))) {
        reply_error(res, ERR_INVALID_SCHEMA, why);
    } else if (!s) {
        reply_error(res, ERR_SUBJECT_NOT_FOUND, "Subject not found.");
    } else {
        int32_t id = reg_schema_find(r, canonical);
        int version = id ? reg_subject_version(s, id) : 0;
        if (version)
            reply_version(res, r, s, version);
        else
            reply_error(res, ERR_SCHEMA_NOT_FOUND, "Schema not found");
    }
    free(canonical);
    json_decref(root);
}

/* GET /subjects/{subject}/versions/{version}[/schema] */
static const reg_subject_t *
reg_subject_version_arg(registry_t *r, const ldr_http_request_t *req,
                        ldr_http_response_t *res, int *version) {
    if (!reg_allowed(r, req, res)) return NULL;
    const reg_subject_t *s =
        reg_subject_find(r, ldr_http_request_param(req, "subject"));
    if (!s) {
        reply_error(res, ERR_SUBJECT_NOT_FOUND, "Subject not found.");
        return NULL;
    }
    long v = reg_version_arg(ldr_http_request_param(req, "version"), s, res);
    if (!v) return NULL;
    if ((size_t)v > s->nversions) {
        reply_error(res, ERR_VERSION_NOT_FOUND, "Version not found.");
        return NULL;
    }
    *version = (int)v;
    return s;
}

static void on_version(void *opaque, const ldr_http_request_t *req,
                       ldr_http_response_t *res) {
    int version;
    const reg_subject_t *s =
        reg_subject_version_arg(opaque, req, res, &version);
    if (s) reply_version(res, opaque, s, version);
}

static void on_version_schema(void *opaque, const ldr_http_request_t *req,
                              ldr_http_response_t *res) {
    registry_t *r = opaque;
    int version;
    const reg_subject_t *s = reg_subject_version_arg(r, req, res, &version);
    if (!s) return;
    res->content_type = CONTENT_TYPE;
    ldr_buf_append_str(&res->body, r->schemas[s->ids[version - 1] - 1].text);
}

/* Unknown paths and wrong methods, in Confluent's format. */
static void on_other(void *opaque, const ldr_http_request_t *req,
                     ldr_http_response_t *res) {
    if (!reg_allowed(opaque, req, res)) return;
    if (res->status == 405)
        reply_error(res, 405, "HTTP 405 Method Not Allowed");
    else
        reply_error(res, 404, "HTTP 404 Not Found");
}

/* ---- start-up ------------------------------------------------------- */

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --preload DIR: every DIR/ *.avsc in name order, under its full name.
 * 0, or -1 after one line on stderr. */
static int reg_preload(registry_t *r, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, PROG ": --preload %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".avsc")) {
            names = ldr_realloc(names, (n + 1) * sizeof(*names));
            names[n++] = ldr_strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(*names), name_cmp);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char path[4096], why[700];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        ldr_buf_t b;
        ldr_buf_init(&b);
        char *canonical = NULL, *full = NULL;
        if (ldr_buf_read_file(&b, path, LDR_HTTP_BODY_MAX, why, sizeof(why)) ||
            ldr_schema_check(b.data, b.len, path, &canonical, &full, why,
                             sizeof(why))) {
            fprintf(stderr, PROG ": --preload: %s\n", why);
            rc = -1;
        } else {
            reg_register(r, full, b.data, canonical);
        }
        free(full);
        ldr_buf_fini(&b);
    }
    if (!rc && !n) {
        fprintf(stderr, PROG ": --preload %s: no .avsc files there\n", dir);
        rc = -1;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static void usage(FILE *f) {
    fprintf(
        f,
        "Usage: " PROG " [OPTION]...\n"
        "A small Confluent-compatible schema registry (Avro only) for tests\n"
        "and the demo. State is in memory only: everything registered is\n"
        "lost when it stops. Compatibility is not checked.\n"
        "\n"
        "  --listen HOST:PORT     where to listen (default " LISTEN_DEFAULT
        ");\n"
        "                         port 0 picks a free port\n"
        "  --port-file FILE       write the bound port to FILE once listening\n"
        "  --tls-cert FILE        serve HTTPS with this PEM certificate "
        "(chain)\n"
        "  --tls-key FILE         ... and this PEM private key (both or none)\n"
        "  --basic-auth USER:PASSWORD\n"
        "                         require these credentials (401, error_code\n"
        "                         40101, without them)\n"
        "  --preload DIR          register every DIR/*.avsc (in name order)\n"
        "                         under its record's full name at start\n"
        "  --help                 this text\n"
        "  --version              the version\n"
        "\n"
        "LADDER_LOG_FORMAT=json writes the log lines as JSON, as every ladder\n"
        "program does. Stops on SIGTERM or SIGINT. Exit status 2 for a bad\n"
        "option or a start-up failure.\n");
}

typedef struct options {
    const char *listen, *port_file, *tls_cert, *tls_key, *basic_auth, *preload;
} options_t;

/* -1: carry on; otherwise the exit status. */
static int parse_options(int argc, char **argv, options_t *o) {
    enum {
        O_LISTEN = 1,
        O_PORT_FILE,
        O_CERT,
        O_KEY,
        O_AUTH,
        O_PRELOAD,
        O_HELP,
        O_VERSION
    };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"port-file", required_argument, NULL, O_PORT_FILE},
        {"tls-cert", required_argument, NULL, O_CERT},
        {"tls-key", required_argument, NULL, O_KEY},
        {"basic-auth", required_argument, NULL, O_AUTH},
        {"preload", required_argument, NULL, O_PRELOAD},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    *o = (options_t){.listen = LISTEN_DEFAULT};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_LISTEN: o->listen = optarg; break;
        case O_PORT_FILE: o->port_file = optarg; break;
        case O_CERT: o->tls_cert = optarg; break;
        case O_KEY: o->tls_key = optarg; break;
        case O_AUTH: o->basic_auth = optarg; break;
        case O_PRELOAD: o->preload = optarg; break;
        case O_HELP: usage(stdout); return 0;
        case O_VERSION: ldr_svc_version_print(PROG, stdout); return 0;
        default:
            if (optopt)
                fprintf(stderr, PROG ": option --%s needs a value\n",
                        longopts[optopt - 1].name);
            else
                fprintf(stderr, PROG ": unknown option '%s' (see --help)\n",
                        argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    const char *why = NULL;
    if (optind < argc)
        fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
    else if (!o->tls_cert != !o->tls_key)
        why = "--tls-cert and --tls-key go together";
    else if (o->basic_auth &&
             (!strchr(o->basic_auth, ':') || *o->basic_auth == ':'))
        why = "--basic-auth: expected USER:PASSWORD";
    else if (o->port_file && !*o->port_file)
        why = "--port-file: empty path";
    else
        return -1;
    if (why) fprintf(stderr, PROG ": %s\n", why);
    return EXIT_USAGE;
}

/* Writes @p port to @p path through a temporary file, so a reader never
 * sees half of it. */
static int write_port_file(const char *path, int port) {
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) || rename(tmp, path)) {
        fprintf(stderr, PROG ": --port-file %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int read_pem(const char *opt, const char *path, ldr_buf_t *b) {
    char why[600];
    if (ldr_buf_read_file(b, path, PEM_MAX, why, sizeof(why))) {
        fprintf(stderr, PROG ": %s: %s\n", opt, why);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    options_t o;
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0) return rc;
    ldr_log_set_program(PROG);
    /* It reads no ladder configuration, but its log lines take the shape
     * of every program's: LADDER_LOG_FORMAT=json writes JSON lines. */
    const char *fmt = getenv("LADDER_LOG_FORMAT");
    ldr_log_format_t format;
    if (fmt && ldr_log_parse_format(fmt, &format) != LDR_OK) {
        fprintf(stderr,
                PROG ": LADDER_LOG_FORMAT: \"%s\" is not one of text, json\n",
                fmt);
        return EXIT_USAGE;
    }
    if (fmt) ldr_log_set_format(format);
    registry_t reg = {.level = "NONE"};
    ldr_http_t *http = ldr_http_new();
    ldr_buf_t cert, key;
    ldr_buf_init(&cert);
    ldr_buf_init(&key);
    rc = EXIT_USAGE;
    if (o.tls_cert && (read_pem("--tls-cert", o.tls_cert, &cert) ||
                       read_pem("--tls-key", o.tls_key, &key)))
        goto out;
    if (o.tls_cert) ldr_http_tls(http, cert.data, key.data);
    if (o.basic_auth) {
        char *b64 = base64(o.basic_auth);
        size_t n = strlen(b64) + 7;
        reg.auth = ldr_malloc(n);
        snprintf(reg.auth, n, "Basic %s", b64);
        free(b64);
    }
    if (o.preload && reg_preload(&reg, o.preload)) goto out;

    ldr_http_route(http, "/schemas/ids/{id}", on_schema_by_id, &reg);
    ldr_http_route(http, "/subjects", on_subjects, &reg);
    ldr_http_route_any(http, "/config", on_config, &reg);
    ldr_http_route_any(http, "/config/{subject}", on_config, &reg);
    ldr_http_route_any(http, "/subjects/{subject}", on_subject, &reg);
    ldr_http_route_any(http, "/subjects/{subject}/versions", on_versions, &reg);
    ldr_http_route(http, "/subjects/{subject}/versions/{version}", on_version,
                   &reg);
    ldr_http_route(http, "/subjects/{subject}/versions/{version}/schema",
                   on_version_schema, &reg);
    ldr_http_fallback(http, on_other, &reg);

    ldr_svc_signals();
    char err[512];
    if (ldr_http_start(http, o.listen, err, sizeof(err))) {
        /* The wrapper names the setting "http.listen"; here it is --listen. */
        const char *msg = strncmp(err, "http.listen: ", 13) ? err : err + 13;
        fprintf(stderr, PROG ": --listen %s\n", msg);
        goto out;
    }
    int port = ldr_http_port(http);
    if (o.port_file && write_port_file(o.port_file, port)) goto out;
    LDR_LOG_INFO("serving %s on %s (port %d), %zu schemas preloaded",
                 o.tls_cert ? "https" : "http", o.listen, port, reg.nschemas);
    int sig = ldr_svc_wait(NULL);
    LDR_LOG_INFO("stopping (signal %d)", sig);
    rc = 0;
out:
    ldr_http_destroy(http);
    ldr_buf_fini(&cert);
    ldr_buf_fini(&key);
    reg_fini(&reg);
    return rc;
}
