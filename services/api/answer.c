/* answer.c -- ladder-api's JSON answers: a JSON body, the error shape
 * every route uses, and times as the contract writes them.
 *
 * DESIGN: the lowest file of the API: it knows the HTTP response and
 * jansson, nothing of routes, sessions or streams, so routes.c, auth.c
 * and sse.c all answer through it without calling each other. Every error
 * is {"error": CODE, "message": TEXT}. */
#include "api_int.h"

#include "ladder/time.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void api_json(ldr_http_response_t *res, int status, json_t *j) {
    res->status = status;
    res->content_type = "application/json";
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
    ldr_buf_append_str(&res->body, text);
    ldr_buf_append_byte(&res->body, '\n');
    free(text);
    json_decref(j);
}

void api_error(ldr_http_response_t *res, int status, const char *code,
               const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    api_json(res, status,
             json_pack("{s:s, s:s}", "error", code, "message", msg));
}

json_t *api_time(int64_t ms) {
    char buf[LDR_TIME_FORMAT_SIZE];
    ldr_time_format(ms, buf, sizeof(buf));
    return json_string(buf);
}

json_t *api_opt_time(bool has, int64_t ms) {
    return has ? api_time(ms) : json_null();
}
