/* registry.c -- a client of a Confluent-compatible Schema Registry.
 *
 * DESIGN: see registry.h. The REST calls are the documented ones:
 * POST /subjects/{subject}/versions with {"schema": TEXT} answers {"id": N};
 * GET /schemas/ids/{id} answers {"schema": TEXT}; an error is a status and
 * {"error_code": N, "message": TEXT}. Bodies are read into a bounded buffer
 * (a schema larger than 1 MiB is refused) and parsed with jansson. */
#include "ladder/registry.h"

#include "ladder/alloc.h"
#include "ladder/buf.h"
#include "ladder/clock.h"
#include "ladder/log.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REGISTRY_BODY_MAX   (1024 * 1024)
#define REGISTRY_UNKNOWN    64    /* ids known to be unknown, remembered */
#define REGISTRY_UNKNOWN_MS 60000 /* for this long */

typedef struct registry_unknown {
    int32_t id;
    int64_t until_ms;
} registry_unknown_t;

struct ldr_registry {
    char *url;
    char *user_info;
    char *ca_location;
    int timeout_ms, retries, backoff_ms;
    CURL *curl;
    pthread_mutex_t lock;
    registry_unknown_t unknown[REGISTRY_UNKNOWN];
    size_t next_unknown;
    uint64_t requests;
};

/* One answer: the HTTP status (0 when none came) and the body. */
typedef struct registry_reply {
    long status;
    ldr_buf_t body;
    bool too_big;
} registry_reply_t;

static size_t registry_write(char *p, size_t size, size_t nmemb, void *op) {
    registry_reply_t *rp = op;
    size_t len = size * nmemb;
    if (rp->body.len + len > REGISTRY_BODY_MAX) {
        rp->too_big = true;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    ldr_buf_append(&rp->body, p, len);
    return len;
}

ldr_registry_t *ldr_registry_new(const ldr_registry_opts_t *o, char *errstr,
                                 size_t n) {
    if (!o->url || !o->url[0]) {
        ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                    "schema.registry.url: empty; give http(s)://host:port");
        return NULL;
    }
    const char *rest = NULL;
    if (strncmp(o->url, "http://", 7) == 0)
        rest = o->url + 7;
    else if (strncmp(o->url, "https://", 8) == 0)
        rest = o->url + 8;
    if (!rest || !rest[0] || rest[0] == '/' || strchr(rest, '@')) {
        ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                    "schema.registry.url: '%s' is not http(s)://host[:port]"
                    "[/path] (credentials go in "
                    "schema.registry.basic.auth.user.info)",
                    strchr(o->url, '@') ? "(a URL with credentials)" : o->url);
        return NULL;
    }
    if (o->user_info && o->user_info[0] && !strchr(o->user_info, ':')) {
        ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                    "schema.registry.basic.auth.user.info: not user:password");
        return NULL;
    }
    ldr_registry_t *r = ldr_calloc(1, sizeof(*r));
    r->url = ldr_strdup(o->url);
    size_t len = strlen(r->url);
    while (len && r->url[len - 1] == '/')
        r->url[--len] = '\0';
    r->user_info =
        o->user_info && o->user_info[0] ? ldr_strdup(o->user_info) : NULL;
    r->ca_location =
        o->ca_location && o->ca_location[0] ? ldr_strdup(o->ca_location) : NULL;
    r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
    r->retries = o->retries > 0 ? o->retries : 0;
    r->backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : 200;
    pthread_mutex_init(&r->lock, NULL);
    r->curl = curl_easy_init();
    if (!r->curl) {
        ldr_err_set(errstr, n, LDR_ERR_CONFIG, "curl_easy_init failed");
        ldr_registry_destroy(r);
        return NULL;
    }
    return r;
}

ldr_err_t ldr_registry_from_config(const ldr_config_t *cfg,
                                   ldr_registry_t **out, char *errstr,
                                   size_t n) {
    *out = NULL;
    const char *url = ldr_config_get(cfg, "schema.registry.url");
    if (!url) return LDR_OK;
    ldr_registry_opts_t o = {
        .url = url,
        .user_info =
            ldr_config_get(cfg, "schema.registry.basic.auth.user.info"),
        .ca_location = ldr_config_get(cfg, "schema.registry.ssl.ca.location"),
        .timeout_ms =
            (int)ldr_config_get_int(cfg, "schema.registry.request.timeout.ms"),
        .retries = 3,
        .backoff_ms = 200,
    };
    *out = ldr_registry_new(&o, errstr, n);
    return *out ? LDR_OK : LDR_ERR_CONFIG;
}

void ldr_registry_destroy(ldr_registry_t *r) {
    if (!r) return;
    if (r->curl) curl_easy_cleanup(r->curl);
    pthread_mutex_destroy(&r->lock);
    free(r->url);
    free(r->user_info);
    free(r->ca_location);
    free(r);
}

uint64_t ldr_registry_requests(const ldr_registry_t *r) {
    return r->requests;
}

/* One request (under the lock). @p body NULL: GET. Returns the curl code;
 * rp gets the status and the body. */
static CURLcode registry_request(ldr_registry_t *r, const char *path,
                                 const char *body, registry_reply_t *rp,
                                 char *curl_err) {
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", r->url, path);
    CURL *c = r->curl;
    curl_easy_reset(c);
    struct curl_slist *hdr = NULL;
    hdr = curl_slist_append(
        hdr, "Accept: application/vnd.schemaregistry.v1+json, "
             "application/vnd.schemaregistry+json, application/json");
    if (body)
        hdr = curl_slist_append(
            hdr, "Content-Type: application/vnd.schemaregistry.v1+json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, registry_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, rp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    if (r->user_info) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, r->user_info);
    }
    if (r->ca_location) curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_location);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    curl_err[0] = '\0';
    r->requests++;
    CURLcode cc = curl_easy_perform(c);
    rp->status = 0;
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rp->status);
    curl_slist_free_all(hdr);
    return cc;
}

/* The registry's error message and code from an error body, for errstr. */
static void registry_error_of(const registry_reply_t *rp, int *code, char *msg,
                              size_t n) {
    *code = 0;
    snprintf(msg, n, "no message");
    json_t *j =
        json_loadb(rp->body.data ? rp->body.data : "", rp->body.len, 0, NULL);
    if (!j) return;
    json_t *c = json_object_get(j, "error_code");
    json_t *m = json_object_get(j, "message");
    if (json_is_integer(c)) *code = (int)json_integer_value(c);
    if (json_is_string(m)) snprintf(msg, n, "%s", json_string_value(m));
    json_decref(j);
}

/* Sorts one finished request into ladder's errors; LDR_OK for a 200 whose
 * body is a JSON object or array (*out set; the caller checks which). @p what
 * names the request in messages. */
static ldr_err_t registry_outcome(ldr_registry_t *r, CURLcode cc,
                                  const char *curl_err, registry_reply_t *rp,
                                  const char *what, json_t **out, int *code,
                                  char *errstr, size_t n) {
    *code = 0;
    if (cc != CURLE_OK) {
        if (rp->too_big)
            return ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                               "schema registry at %s: %s: the answer is "
                               "larger than %d bytes",
                               r->url, what, REGISTRY_BODY_MAX);
        return ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                           "schema registry at %s: %s: %s", r->url, what,
                           curl_err[0] ? curl_err : curl_easy_strerror(cc));
    }
    if (rp->status == 200) {
        json_error_t je;
        *out = json_loadb(rp->body.data ? rp->body.data : "", rp->body.len, 0,
                          &je);
        if (!*out || !(json_is_object(*out) || json_is_array(*out))) {
            json_decref(*out);
            *out = NULL;
            return ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                               "schema registry at %s: %s: the answer is not "
                               "a JSON object or array",
                               r->url, what);
        }
        return LDR_OK;
    }
    char msg[256];
    registry_error_of(rp, code, msg, sizeof(msg));
    ldr_err_t kind = rp->status >= 500 || rp->status == 408 || rp->status == 429
                         ? LDR_ERR_TRANSIENT
                         : LDR_ERR_CONFIG;
    const char *hint = "";
    if (rp->status == 401 || rp->status == 403)
        hint = " (check schema.registry.basic.auth.user.info)";
    return ldr_err_set(errstr, n, kind,
                       "schema registry at %s: %s: HTTP %ld, error code %d: "
                       "%s%s",
                       r->url, what, rp->status, *code, msg, hint);
}

/* Percent-encodes a subject for the path. */
static void registry_escape(char *out, size_t n, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_') {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
}

ldr_err_t ldr_registry_register(ldr_registry_t *r, const char *subject,
                                const char *schema, int32_t *id, char *errstr,
                                size_t n) {
    char esc[512], path[600], what[600];
    registry_escape(esc, sizeof(esc), subject);
    snprintf(path, sizeof(path), "/subjects/%s/versions", esc);
    snprintf(what, sizeof(what), "registering the schema of %s", subject);
    json_t *req = json_pack("{s:s}", "schema", schema);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    ldr_err_t err = LDR_ERR_TRANSIENT;
    int delay = r->backoff_ms;
    for (int attempt = 0; attempt <= r->retries; attempt++) {
        if (attempt) {
            LDR_LOG_WARN("%s; retrying in %d ms", errstr, delay);
            ldr_clock_sleep_ms(delay);
            delay *= 2;
        }
        registry_reply_t rp = {0};
        ldr_buf_init(&rp.body);
        char curl_err[CURL_ERROR_SIZE];
        json_t *ans = NULL;
        int code;
        pthread_mutex_lock(&r->lock);
        CURLcode cc = registry_request(r, path, body, &rp, curl_err);
        pthread_mutex_unlock(&r->lock);
        err = registry_outcome(r, cc, curl_err, &rp, what, &ans, &code, errstr,
                               n);
        ldr_buf_fini(&rp.body);
        if (!err) {
            json_t *j = json_object_get(ans, "id");
            if (!json_is_integer(j) || json_integer_value(j) <= 0 ||
                json_integer_value(j) > INT32_MAX)
                err = ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                                  "schema registry at %s: %s: the answer has "
                                  "no positive \"id\"",
                                  r->url, what);
            else
                *id = (int32_t)json_integer_value(j);
            json_decref(ans);
        }
        if (err != LDR_ERR_TRANSIENT) break;
    }
    free(body);
    return err;
}

/* True when @p id was answered 40403 less than a minute ago. */
static bool registry_known_unknown(ldr_registry_t *r, int32_t id, int64_t now) {
    for (size_t i = 0; i < REGISTRY_UNKNOWN; i++)
        if (r->unknown[i].id == id && r->unknown[i].until_ms > now) return true;
    return false;
}

ldr_err_t ldr_registry_fetch(void *opaque, int32_t id, char **json_text,
                             char *errstr, size_t n) {
    ldr_registry_t *r = opaque;
    char path[64], what[64];
    snprintf(path, sizeof(path), "/schemas/ids/%d", (int)id);
    snprintf(what, sizeof(what), "fetching schema id %d", (int)id);
    pthread_mutex_lock(&r->lock);
    int64_t now = ldr_clock_mono_ms();
    if (registry_known_unknown(r, id, now)) {
        pthread_mutex_unlock(&r->lock);
        return ldr_err_set(errstr, n, LDR_ERR_UNKNOWN_SCHEMA,
                           "schema id %d is not in the registry at %s", (int)id,
                           r->url);
    }
    registry_reply_t rp = {0};
    ldr_buf_init(&rp.body);
    char curl_err[CURL_ERROR_SIZE];
    CURLcode cc = registry_request(r, path, NULL, &rp, curl_err);
    json_t *ans = NULL;
    int code;
    ldr_err_t err =
        registry_outcome(r, cc, curl_err, &rp, what, &ans, &code, errstr, n);
    if (err && rp.status == 404 && (code == 40403 || code == 0)) {
        registry_unknown_t *u =
            &r->unknown[r->next_unknown++ % REGISTRY_UNKNOWN];
        u->id = id;
        u->until_ms = now + REGISTRY_UNKNOWN_MS;
        err = ldr_err_set(errstr, n, LDR_ERR_UNKNOWN_SCHEMA,
                          "schema id %d is not in the registry at %s "
                          "(error code %d)",
                          (int)id, r->url, code);
    } else if (err == LDR_ERR_CONFIG) {
        /* any other refusal of a read (auth, a 4xx): the registry is not
         * usable now; the message waits rather than become a dead letter */
        err = LDR_ERR_TRANSIENT;
    }
    pthread_mutex_unlock(&r->lock);
    ldr_buf_fini(&rp.body);
    if (err) return err;
    json_t *s = json_object_get(ans, "schema");
    if (!json_is_string(s)) {
        json_decref(ans);
        return ldr_err_set(errstr, n, LDR_ERR_UNKNOWN_SCHEMA,
                           "schema registry at %s: %s: the answer has no "
                           "\"schema\" string",
                           r->url, what);
    }
    *json_text = ldr_strdup(json_string_value(s));
    json_decref(ans);
    return LDR_OK;
}

ldr_err_t ldr_registry_subjects(ldr_registry_t *r, char ***subjects,
                                size_t *count, char *errstr, size_t n) {
    registry_reply_t rp = {0};
    ldr_buf_init(&rp.body);
    char curl_err[CURL_ERROR_SIZE];
    json_t *ans = NULL;
    int code;
    pthread_mutex_lock(&r->lock);
    CURLcode cc = registry_request(r, "/subjects", NULL, &rp, curl_err);
    pthread_mutex_unlock(&r->lock);
    ldr_err_t err = registry_outcome(r, cc, curl_err, &rp, "listing subjects",
                                     &ans, &code, errstr, n);
    ldr_buf_fini(&rp.body);
    if (err) return err;
    size_t len = json_is_array(ans) ? json_array_size(ans) : 0;
    for (size_t i = 0; i < len; i++)
        if (!json_is_string(json_array_get(ans, i))) len = 0;
    if (!json_is_array(ans) || len != json_array_size(ans)) {
        json_decref(ans);
        return ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                           "schema registry at %s: listing subjects: the "
                           "answer is not an array of strings",
                           r->url);
    }
    char **v = ldr_calloc(len + 1, sizeof(*v));
    for (size_t i = 0; i < len; i++)
        v[i] = ldr_strdup(json_string_value(json_array_get(ans, i)));
    json_decref(ans);
    *subjects = v;
    *count = len;
    return LDR_OK;
}

ldr_err_t ldr_registry_attach(ldr_registry_t *r, ldr_schemas_t *schemas,
                              bool producer, char *errstr, size_t n) {
    int32_t ids[LDR_RECORD_DECISION + 1] = {0};
    if (producer)
        for (int k = LDR_RECORD_APPLICATION; k <= LDR_RECORD_DECISION; k++) {
            const ldr_schema_t *s =
                ldr_schemas_current(schemas, (ldr_record_kind_t)k);
            if (!s) continue;
            ldr_err_t err =
                ldr_registry_register(r, ldr_schema_fullname(s),
                                      ldr_schema_text(s), &ids[k], errstr, n);
            if (err) return err;
            LDR_LOG_INFO("schema registry: %s is id %d", ldr_schema_fullname(s),
                         (int)ids[k]);
        }
    ldr_err_t err = ldr_schemas_use_ids(schemas, ids, errstr, n);
    if (err) return err;
    ldr_schemas_set_fetcher(schemas, ldr_registry_fetch, r);
    return LDR_OK;
}
