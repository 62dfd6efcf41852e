/* auth.c -- the api.token check of ladder-api and the dashboard's sign-in.
 *
 * DESIGN: with api.token set, every route but /, its two assets, /livez,
 * /readyz and /v1/session requires a credential (routes.c decides which):
 * the token as a bearer token (API clients), or a session cookie (the
 * dashboard). The token never travels in a URL: a URL lands in browser
 * history, proxy logs and Referer headers, so ?token= is refused with a
 * 401 that says how to sign in instead.
 *
 * The dashboard asks for the token once and POSTs it as JSON to
 * /v1/session; the answer sets the cookie ladder_session, HttpOnly (no
 * script can read it), SameSite=Strict (no other site's page can make the
 * browser send it) and Secure when the request came over TLS. Its value is
 * not the token but "<expiry>.<nonce>.<mac>": the expiry in Unix seconds,
 * 16 random bytes, and HMAC-SHA256 over the first two keyed by a session
 * key that is itself HMAC-SHA256(api.token, a fixed label). Deriving the
 * key from the token, rather than drawing it at random in each process, is
 * what lets every replica of ladder-api behind one load balancer accept
 * the others' sessions and a restarted process keep them; rotating
 * api.token ends every session at once. A session holds no state on the
 * server: it ends at its expiry (api.session.lifetime.s, re-checked on
 * every request, so shortening the lifetime applies at once) or when the
 * token changes; signing out clears the browser's cookie.
 *
 * The state-changing routes (sign-in and sign-out) take only POST with
 * Content-Type application/json: a page of another site can send neither
 * without a CORS preflight, which ladder-api never grants, and the cookie
 * is SameSite=Strict besides. Every comparison of a secret takes the same
 * time however much of a guess is right, so the answer's timing does not
 * help anyone guess it. */
#include "api_int.h"

#include "ladder/clock.h"
#include "ladder/log.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AUTH_COOKIE      "ladder_session"
#define AUTH_NONCE_BYTES 16
#define AUTH_MAC_BYTES   32
#define AUTH_KEY_LABEL   "ladder-api session key v1"
#define AUTH_VALUE_SIZE  128

/* Constant-time comparison: every byte of @p want is looked at. */
static bool token_ok(const char *want, const char *got) {
    if (!got) return false;
    size_t n = strlen(want), m = strlen(got);
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(want[i] ^ (i < m ? got[i] : 0));
    return diff == 0;
}

/* HMAC-SHA256(@p key, @p data) into @p out. OpenSSL fails here only when
 * the installation is broken (SHA-256 is always built in). */
static void hmac(const void *key, size_t key_len, const void *data, size_t len,
                 unsigned char out[AUTH_MAC_BYTES]) {
    unsigned int out_len = 0;
    if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) ||
        out_len != AUTH_MAC_BYTES)
        abort();
}

static void hex(const unsigned char *b, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void api_auth_init(api_auth_t *auth, const char *token, int lifetime_s) {
    memset(auth, 0, sizeof(*auth));
    auth->token = token;
    auth->lifetime_s = lifetime_s;
    if (token)
        hmac(token, strlen(token), AUTH_KEY_LABEL, strlen(AUTH_KEY_LABEL),
             auth->key);
}

/* A new session value expiring at @p expiry (Unix seconds) into @p out. */
static void session_new(const api_auth_t *auth, int64_t expiry,
                        char out[AUTH_VALUE_SIZE]) {
    unsigned char nonce[AUTH_NONCE_BYTES], mac[AUTH_MAC_BYTES];
    if (RAND_bytes(nonce, sizeof(nonce)) != 1) abort();
    char nonce_hex[2 * AUTH_NONCE_BYTES + 1];
    hex(nonce, sizeof(nonce), nonce_hex);
    int n = snprintf(out, AUTH_VALUE_SIZE, "%" PRId64 ".%s", expiry, nonce_hex);
    hmac(auth->key, sizeof(auth->key), out, (size_t)n, mac);
    out[n++] = '.';
    hex(mac, sizeof(mac), out + n);
}

/* True when @p v (@p len bytes) is a session value this token signed and
 * it has not expired: "<digits>.<32 hex>.<64 hex>". */
static bool session_ok(const api_auth_t *auth, const char *v, size_t len) {
    const size_t tail = 1 + 2 * AUTH_NONCE_BYTES + 1 + 2 * AUTH_MAC_BYTES;
    if (len <= tail || len - tail > 12) return false; /* no overflow */
    size_t digits = len - tail;
    int64_t expiry = 0;
    for (size_t i = 0; i < digits; i++) {
        if (v[i] < '0' || v[i] > '9') return false;
        expiry = expiry * 10 + (v[i] - '0');
    }
    const char *mac_hex = v + len - 2 * AUTH_MAC_BYTES;
    if (v[digits] != '.' || mac_hex[-1] != '.') return false;
    unsigned char mac[AUTH_MAC_BYTES];
    char want[2 * AUTH_MAC_BYTES + 1];
    hmac(auth->key, sizeof(auth->key), v, (size_t)(mac_hex - 1 - v), mac);
    hex(mac, sizeof(mac), want);
    bool signed_ok = CRYPTO_memcmp(want, mac_hex, 2 * AUTH_MAC_BYTES) == 0;
    int64_t now = ldr_clock_wall_ms() / 1000;
    return signed_ok && expiry > now && expiry - now <= auth->lifetime_s;
}

/* True when the request's Cookie header holds a valid ladder_session. */
static bool cookie_ok(const api_auth_t *auth, const ldr_http_request_t *req) {
    const char *c = ldr_http_request_header(req, "Cookie");
    const size_t name_len = strlen(AUTH_COOKIE);
    while (c && *c) {
        while (*c == ' ' || *c == ';')
            c++;
        size_t len = strcspn(c, ";");
        if (len > name_len && !strncmp(c, AUTH_COOKIE, name_len) &&
            c[name_len] == '=' &&
            session_ok(auth, c + name_len + 1, len - name_len - 1))
            return true;
        c += len;
    }
    return false;
}

bool api_authorized(const api_auth_t *auth, const ldr_http_request_t *req) {
    if (!auth->token) return true;
    const char *h = ldr_http_request_header(req, "Authorization");
    if (h && !strncasecmp(h, "Bearer ", 7) && token_ok(auth->token, h + 7))
        return true;
    return cookie_ok(auth, req);
}

bool api_token_in_url(const api_auth_t *auth, const ldr_http_request_t *req) {
    return auth->token && ldr_http_request_query(req, "token");
}

/* ---- the routes ---------------------------------------------------------- */

/* True when the request is a POST with a JSON body; else false with the
 * 405 or 415 answer written. */
static bool post_json(const ldr_http_request_t *req, ldr_http_response_t *res) {
    if (strcmp(ldr_http_request_method(req), "POST")) {
        ldr_http_response_header(res, "Allow", "POST");
        api_error(res, 405, "method_not_allowed", "%.16s %.64s: only POST",
                  ldr_http_request_method(req), ldr_http_request_path(req));
        return false;
    }
    const char *ct = ldr_http_request_header(req, "Content-Type");
    size_t n = strlen("application/json");
    if (!ct || strncasecmp(ct, "application/json", n) ||
        (ct[n] && ct[n] != ';' && ct[n] != ' ')) {
        api_error(res, 415, "unsupported_media_type",
                  "send Content-Type: application/json (got %.64s)",
                  ct ? ct : "none");
        return false;
    }
    return true;
}

/* Set-Cookie for @p value and @p max_age_s ("" and 0 clear it). */
static void set_cookie(const ldr_http_request_t *req, ldr_http_response_t *res,
                       const char *value, int max_age_s) {
    const char *proto = ldr_http_request_header(req, "X-Forwarded-Proto");
    bool secure =
        ldr_http_request_tls(req) || (proto && !strcasecmp(proto, "https"));
    char cookie[256];
    snprintf(cookie, sizeof(cookie),
             AUTH_COOKIE "=%s; Max-Age=%d; Path=/; HttpOnly; "
                         "SameSite=Strict%s",
             value, max_age_s, secure ? "; Secure" : "");
    ldr_http_response_header(res, "Set-Cookie", cookie);
}

/* GET /v1/session: whether a credential is needed and whether the
 * request has one. */
static void session_get(const api_auth_t *auth, const ldr_http_request_t *req,
                        ldr_http_response_t *res) {
    api_json(res, 200,
             json_pack("{s:b, s:b}", "required", auth->token != NULL,
                       "signed_in", auth->token && cookie_ok(auth, req)));
}

/* POST /v1/session {"token": "..."}: signs in. */
static void session_post(const api_auth_t *auth, const ldr_http_request_t *req,
                         ldr_http_response_t *res) {
    if (!auth->token) {
        api_json(res, 200,
                 json_pack("{s:b, s:b}", "required", 0, "signed_in", 0));
        return;
    }
    size_t len;
    const char *body = ldr_http_request_body(req, &len);
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *got = json_string_value(json_object_get(j, "token"));
    if (!got) {
        json_decref(j);
        api_error(
            res, 400, "invalid_request",
            "the body must be a JSON object {\"token\": \"<api.token>\"}");
        return;
    }
    bool ok = token_ok(auth->token, got);
    json_decref(j);
    if (!ok) {
        api_error(res, 401, "unauthorized", "wrong token: not signed in");
        return;
    }
    int64_t expiry = ldr_clock_wall_ms() / 1000 + auth->lifetime_s;
    char value[AUTH_VALUE_SIZE];
    session_new(auth, expiry, value);
    set_cookie(req, res, value, auth->lifetime_s);
    api_json(res, 200,
             json_pack("{s:b, s:b, s:o}", "required", 1, "signed_in", 1,
                       "expires_at", api_time(expiry * 1000)));
}

void api_session(const api_auth_t *auth, const ldr_http_request_t *req,
                 ldr_http_response_t *res) {
    const char *m = ldr_http_request_method(req);
    if (!strcmp(m, "GET") || !strcmp(m, "HEAD"))
        session_get(auth, req, res);
    else if (post_json(req, res))
        session_post(auth, req, res);
}

void api_session_end(const ldr_http_request_t *req, ldr_http_response_t *res) {
    if (!post_json(req, res)) return;
    set_cookie(req, res, "", 0);
    api_json(res, 200, json_pack("{s:b}", "signed_in", 0));
}
