/* routes.c -- ladder-api's routes: the table, the dispatch through the
 * token check, the store errors, the notices list, the dashboard's files
 * and the health routes.
 *
 * DESIGN: every request goes through api_dispatch(), which checks the
 * credentials (auth.c: with api.token set, every route but the dashboard's
 * files, the session routes, /livez and /readyz needs the token or a
 * session cookie, and ?token= is refused everywhere),
 * runs the handler and counts the answer by route and status, so no
 * handler can forget either. Answers are JSON; every error is {"error":
 * CODE, "message": TEXT} with a status that says whose fault it is (400 the
 * request, 401 the token, 404 nothing there, 503 the store). /livez is the
 * skeleton's (svc.h); /readyz is the API's own, as it is ready exactly
 * when Redis answers. */
#include "api_int.h"

#include "ladder/alloc.h"
#include "ladder/clock.h"
#include "ladder/store.h"
#include "ladder/time.h"

#include "dashboard_css.h"
#include "dashboard_html.h"
#include "dashboard_js.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One route: its handler and whether it needs the token. */
typedef struct api_route {
    api_t *a;
    void (*fn)(api_t *a, const ldr_http_request_t *req,
               ldr_http_response_t *res);
    bool open;
} api_route_t;

/* ---- answers ------------------------------------------------------------- */

void api_store_error(api_t *a, ldr_http_response_t *res, const char *what) {
    ldr_metrics_add(a->redis_errors, NULL, 1);
    api_error(res, 503, "store_unavailable", "redis: %s", what);
}

void api_partitions_error(api_t *a, ldr_http_response_t *res) {
    char key[LDR_STORE_KEY_SIZE], what[80];
    ldr_store_key(key, sizeof(key), 0, LDR_STORE_KEY_PARTITIONS);
    snprintf(what, sizeof(what), "cannot read %s", key);
    api_store_error(a, res, what);
}

bool api_open_partitions(api_t *a, ldr_http_response_t *res, int *parts,
                         ldr_cluster_t **c) {
    *parts = api_partitions(&a->pool);
    if (*parts < 0) {
        api_partitions_error(a, res);
        return false;
    }
    char err[512];
    *c = *parts ? api_pool_get(&a->pool, err, sizeof(err)) : NULL;
    if (*parts && !*c) {
        api_store_error(a, res, err);
        return false;
    }
    return true;
}

/* ---- GET /v1/notices ----------------------------------------------------- */

typedef struct api_notice {
    json_t *j;
    int64_t eff;
} api_notice_t;

static int api_notice_cmp(const void *x, const void *y) {
    const api_notice_t *a = x, *b = y;
    if (a->eff != b->eff) return a->eff > b->eff ? -1 : 1;
    return strcmp(json_string_value(json_object_get(a->j, "decision_id")),
                  json_string_value(json_object_get(b->j, "decision_id")));
}

/* What GET /v1/notices collects: the best `limit` notices so far, as a
 * binary heap whose root is the one that sorts last, so the answer's
 * memory and sorting stay bounded by the limit however many partitions
 * there are (each may offer up to `limit`). */
typedef struct api_notices_list {
    api_notice_t *v;
    size_t n, cap; /* cap: the limit */
} api_notices_list_t;

static void api_heap_swap(api_notice_t *v, size_t i, size_t j) {
    api_notice_t t = v[i];
    v[i] = v[j];
    v[j] = t;
}

/* Moves v[i] down while a child sorts after it. */
static void api_heap_down(api_notices_list_t *l, size_t i) {
    for (;;) {
        size_t worst = i, c = 2 * i + 1;
        for (size_t e = c; e < c + 2 && e < l->n; e++)
            if (api_notice_cmp(&l->v[e], &l->v[worst]) > 0) worst = e;
        if (worst == i) return;
        api_heap_swap(l->v, i, worst);
        i = worst;
    }
}

/* Keeps @p x when it is among the best l->cap so far (takes its
 * reference either way). */
static void api_heap_offer(api_notices_list_t *l, api_notice_t x) {
    if (l->n < l->cap) {
        size_t i = l->n++;
        l->v[i] = x;
        while (i && api_notice_cmp(&l->v[i], &l->v[(i - 1) / 2]) > 0) {
            api_heap_swap(l->v, i, (i - 1) / 2);
            i = (i - 1) / 2;
        }
    } else if (l->n && api_notice_cmp(&x, &l->v[0]) < 0) {
        json_decref(l->v[0].j);
        l->v[0] = x;
        api_heap_down(l, 0);
    } else {
        json_decref(x.j);
    }
}

/* Adds the qualifying notices of one page of a notices stream (entries
 * newest first) to @p l, at most @p limit of partition's *@p taken; @p from
 * gets the exclusive start of the next page. */
static void api_notices_page(const redisReply *r, int64_t since, int limit,
                             int *taken, char *from, size_t from_size,
                             api_notices_list_t *l) {
    for (size_t i = 0; i < r->elements && *taken < limit; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) continue;
        snprintf(from, from_size, "(%s", e->element[0]->str);
        const redisReply *f = e->element[1];
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            if (strcmp(f->element[k]->str, "decision")) continue;
            int64_t eff;
            json_t *j = api_notice_json(f->element[k + 1]->str,
                                        f->element[k + 1]->len, &eff);
            if (!j) continue;
            if (eff < since) {
                json_decref(j);
                continue;
            }
            api_heap_offer(l, (api_notice_t){j, eff});
            (*taken)++;
        }
    }
}

/* Per partition, newest first in the stream's order, in pages, until
 * `limit` of them qualify or the (capped) stream ends. False when Redis
 * failed. */
static bool api_notices_collect(ldr_cluster_t *c, int parts, int64_t since,
                                int limit, api_notices_list_t *l) {
    char err[256];
    for (int p = 0; p < parts; p++) {
        char key[LDR_STORE_KEY_SIZE], from[48] = "+";
        ldr_store_key(key, sizeof(key), p, LDR_STORE_KEY_NOTICES);
        int taken = 0;
        for (;;) {
            redisReply *r =
                api_command(c, p, err, sizeof(err),
                            "XREVRANGE %s %s - COUNT 256", key, from);
            if (!r || r->type != REDIS_REPLY_ARRAY) {
                freeReplyObject(r);
                return false;
            }
            api_notices_page(r, since, limit, &taken, from, sizeof(from), l);
            size_t got = r->elements;
            freeReplyObject(r);
            if (got < 256 || taken >= limit) break;
        }
    }
    return true;
}

/* Reads ?since= and ?limit=; false with the 400 answer written. */
static bool api_notices_query(api_t *a, const ldr_http_request_t *req,
                              ldr_http_response_t *res, int64_t *since,
                              int *limit) {
    const char *since_s = ldr_http_request_query(req, "since");
    const char *limit_s = ldr_http_request_query(req, "limit");
    char err[512];
    if (since_s && ldr_time_parse_rfc3339(since_s, strlen(since_s), since, err,
                                          sizeof(err))) {
        api_error(res, 400, "invalid_since",
                  "since: \"%.64s\" is not an RFC 3339 time such as "
                  "2024-01-01T00:00:00Z (%s)",
                  since_s, err);
        return false;
    }
    *limit = a->notices_limit;
    if (limit_s) {
        char *end;
        long v = strtol(limit_s, &end, 10);
        if (!*limit_s || *end || v < 1 || v > a->notices_limit) {
            api_error(res, 400, "invalid_limit",
                      "limit: \"%.32s\" is not a whole number from 1 to %d "
                      "(api.notices.limit)",
                      limit_s, a->notices_limit);
            return false;
        }
        *limit = (int)v;
    }
    return true;
}

static void api_notices_get(api_t *a, const ldr_http_request_t *req,
                            ldr_http_response_t *res) {
    int64_t since = INT64_MIN;
    int limit;
    if (!api_notices_query(a, req, res, &since, &limit)) return;
    int parts;
    ldr_cluster_t *c;
    if (!api_open_partitions(a, res, &parts, &c)) return;
    api_notices_list_t l = {ldr_malloc((size_t)limit * sizeof(api_notice_t)), 0,
                            (size_t)limit};
    bool ok = api_notices_collect(c, parts, since, limit, &l);
    api_pool_put(&a->pool, c);
    if (!ok) {
        for (size_t i = 0; i < l.n; i++)
            json_decref(l.v[i].j);
        free(l.v);
        api_store_error(a, res, "XREVRANGE of the notices failed");
        return;
    }
    if (l.n) qsort(l.v, l.n, sizeof(*l.v), api_notice_cmp);
    json_t *list = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append_new(list, l.v[i].j);
    free(l.v);
    json_t *j = json_object();
    json_object_set_new(j, "notices", list);
    json_object_set_new(j, "count",
                        json_integer((json_int_t)json_array_size(list)));
    json_object_set_new(j, "limit", json_integer(limit));
    json_object_set_new(j, "since",
                        ldr_http_request_query(req, "since") ? api_time(since)
                                                             : json_null());
    api_json(res, 200, j);
}

/* ---- the rest ------------------------------------------------------------ */

static void api_sse(api_t *a, const ldr_http_request_t *req,
                    ldr_http_response_t *res) {
    api_notices_sse(a->notices, req, res);
}

/* The dashboard's page and its two assets, compiled in (CMakeLists.txt).
 * Script and style are files of their own, never inline, so the
 * Content-Security-Policy every answer carries (default-src 'self') lets
 * them run and would block anything injected into the page. */
static void api_dashboard(api_t *a, const ldr_http_request_t *req,
                          ldr_http_response_t *res) {
    (void)a;
    (void)req;
    res->content_type = "text/html; charset=utf-8";
    ldr_buf_append_str(&res->body, api_dashboard_html);
}

static void api_dashboard_js(api_t *a, const ldr_http_request_t *req,
                             ldr_http_response_t *res) {
    (void)a;
    (void)req;
    res->content_type = "text/javascript; charset=utf-8";
    ldr_buf_append_str(&res->body, api_dashboard_js_text);
}

static void api_dashboard_css(api_t *a, const ldr_http_request_t *req,
                              ldr_http_response_t *res) {
    (void)a;
    (void)req;
    res->content_type = "text/css; charset=utf-8";
    ldr_buf_append_str(&res->body, api_dashboard_css_text);
}

static void api_session_route(api_t *a, const ldr_http_request_t *req,
                              ldr_http_response_t *res) {
    api_session(&a->auth, req, res);
}

static void api_session_end_route(api_t *a, const ldr_http_request_t *req,
                                  ldr_http_response_t *res) {
    (void)a;
    api_session_end(req, res);
}

static void api_livez(api_t *a, const ldr_http_request_t *req,
                      ldr_http_response_t *res) {
    (void)req;
    ldr_svc_livez(a->svc, res);
}

/* Asks Redis for a PING: the API is ready exactly when its store answers.
 * The answer also sets ladder_ready, so a scrape of /metrics checks too. */
static bool api_check_ready(api_t *a, char *err, size_t err_size) {
    ldr_cluster_t *c = api_pool_get(&a->pool, err, err_size);
    bool ok = c != NULL;
    /* Every master must answer: each holds some partitions. */
    for (int i = 0; ok && i < ldr_cluster_masters(c); i++) {
        redisContext *ctx = ldr_cluster_master(c, i, err, err_size);
        redisReply *r = ctx ? redisCommand(ctx, "PING") : NULL;
        ok = r && r->type == REDIS_REPLY_STATUS;
        if (!ok && ctx)
            snprintf(err, err_size, "%s",
                     r && r->type == REDIS_REPLY_ERROR ? r->str : ctx->errstr);
        if (!r && ctx) ldr_cluster_drop(c, ctx);
        freeReplyObject(r);
    }
    api_pool_put(&a->pool, c);
    ldr_svc_set_ready(a->svc, ok, err);
    return ok;
}

/* /readyz is open, so that a probe needs no token; why the store does not
 * answer names its address and the server's words, so only a caller that
 * sends the token (or any caller of an API without one) is told. */
static void api_readyz(api_t *a, const ldr_http_request_t *req,
                       ldr_http_response_t *res) {
    char err[512];
    if (api_check_ready(a, err, sizeof(err)))
        api_json(res, 200, json_pack("{s:b}", "ready", 1));
    else if (api_authorized(&a->auth, req))
        api_json(res, 503, json_pack("{s:b, s:s}", "ready", 0, "reason", err));
    else
        api_json(res, 503, json_pack("{s:b}", "ready", 0));
}

static void api_metrics_page(api_t *a, const ldr_http_request_t *req,
                             ldr_http_response_t *res) {
    (void)req;
    char err[512];
    api_check_ready(a, err, sizeof(err));
    ldr_svc_metrics_page(a->svc, res);
}

static void api_observe(api_t *a, const char *route, int status, double t0) {
    char code[8];
    snprintf(code, sizeof(code), "%d", status);
    ldr_metrics_add(a->requests, LDR_METRICS_LABELS(route, code), 1);
    ldr_metrics_observe(a->seconds, LDR_METRICS_LABELS(route),
                        ldr_clock_mono_s() - t0);
}

static void api_dispatch(void *opaque, const ldr_http_request_t *req,
                         ldr_http_response_t *res) {
    api_route_t *rt = opaque;
    double t0 = ldr_clock_mono_s();
    if (api_token_in_url(&rt->a->auth, req)) {
        ldr_http_response_header(res, "WWW-Authenticate",
                                 "Bearer realm=\"ladder\"");
        api_error(res, 401, "token_in_url",
                  "?token= is not accepted: a token in a URL ends up in "
                  "browser history and proxy logs. Send Authorization: "
                  "Bearer <api.token>, or open the dashboard at / without "
                  "?token= and sign in there");
    } else if (!rt->open && !api_authorized(&rt->a->auth, req)) {
        ldr_http_response_header(res, "WWW-Authenticate",
                                 "Bearer realm=\"ladder\"");
        api_error(res, 401, "unauthorized",
                  "missing, wrong or expired credentials: send "
                  "Authorization: Bearer <api.token>, or sign in on the "
                  "dashboard at /");
    } else {
        rt->fn(rt->a, req, res);
    }
    api_observe(rt->a, ldr_http_request_route(req), res->status, t0);
}

static void api_fallback(void *opaque, const ldr_http_request_t *req,
                         ldr_http_response_t *res) {
    api_t *a = opaque;
    double t0 = ldr_clock_mono_s();
    if (res->status == 405)
        api_error(res, 405, "method_not_allowed",
                  "%.16s %.200s: only GET and HEAD are served",
                  ldr_http_request_method(req), ldr_http_request_path(req));
    else
        api_error(res, 404, "not_found", "no such endpoint: %.200s",
                  ldr_http_request_path(req));
    api_observe(a, "unmatched", res->status, t0);
}

void api_routes(api_t *a) {
    /* open: no credential needed (the page and its assets hold no data;
     * the session routes check the token themselves). any: every method
     * reaches the handler, with the request body. */
    static const struct {
        const char *pattern;
        void (*fn)(api_t *, const ldr_http_request_t *, ldr_http_response_t *);
        bool open, any;
    } table[] = {
        {"/", api_dashboard, true, false},
        {"/dashboard.js", api_dashboard_js, true, false},
        {"/dashboard.css", api_dashboard_css, true, false},
        {"/v1/session", api_session_route, true, true},
        {"/v1/session/end", api_session_end_route, true, true},
        {"/v1/enterprises/{uscc}", api_enterprise, false, false},
        {"/v1/stats", api_stats, false, false},
        {"/v1/notices", api_notices_get, false, false},
        {"/v1/notices/stream", api_sse, false, false},
        {"/metrics", api_metrics_page, false, false},
        {"/livez", api_livez, true, false},
        {"/readyz", api_readyz, true, false},
    };
    static api_route_t routes[LDR_ARRAY_SIZE(table)];
    ldr_http_t *http = ldr_svc_http(a->svc);
    for (size_t i = 0; i < LDR_ARRAY_SIZE(table); i++) {
        routes[i] = (api_route_t){a, table[i].fn, table[i].open};
        if (table[i].any)
            ldr_http_route_any(http, table[i].pattern, api_dispatch,
                               &routes[i]);
        else
            ldr_http_route(http, table[i].pattern, api_dispatch, &routes[i]);
    }
    ldr_http_fallback(http, api_fallback, a);
}
