/* auth.c -- the api.token check of ladder-api.
 *
 * DESIGN: with api.token set, every route but /livez and /readyz requires
 * it (routes.c decides which), as a bearer token or as ?token=: the
 * dashboard's EventSource cannot send headers. The comparison takes the
 * same time however much of a guessed token is right, so the answer's
 * timing does not help anyone guess it. */
#include "api_int.h"

#include <string.h>
#include <strings.h>

/* Constant-time comparison: every byte of @p want is looked at. */
static bool api_token_ok(const char *want, const char *got) {
    if (!got) return false;
    size_t n = strlen(want), m = strlen(got);
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(want[i] ^ (i < m ? got[i] : 0));
    return diff == 0;
}

bool api_authorized(const char *token, const ldr_http_request_t *req) {
    if (!token) return true;
    const char *h = ldr_http_request_header(req, "Authorization");
    if (h && !strncasecmp(h, "Bearer ", 7) && api_token_ok(token, h + 7))
        return true;
    return api_token_ok(token, ldr_http_request_query(req, "token"));
}
