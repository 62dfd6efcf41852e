/* redis.c -- Redis URLs and connections (redis.h).
 *
 * DESIGN: every Redis client in ladder connects through ldr_redis_connect(),
 * so the URL syntax, the password, the database number and the timeouts mean
 * the same thing in the worker, the API and the tools. hiredis errors are
 * translated here into ldr_err_t with the host and port in errstr, and a
 * connection or command that fails is a transient error, because Redis coming
 * back is the expected way out of it. */
#include "ladder/redis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int redis_parse_uint(const char *s, size_t len, long max, long *out) {
    if (len == 0 || len > 9) return -1;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max) return -1;
    *out = v;
    return 0;
}

ldr_err_t ldr_redis_url_parse(const char *url, ldr_redis_url_t *out,
                              char *errstr, size_t n) {
    static const char scheme[] = "redis://";
    ldr_redis_url_t u;
    memset(&u, 0, sizeof(u));
    u.port = 6379;
    if (!url || strncmp(url, scheme, sizeof(scheme) - 1) != 0)
        return ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                           "redis.url '%s': must start with redis://",
                           url ? url : "");
    const char *p = url + sizeof(scheme) - 1;
    const char *at = strchr(p, '@');
    if (at) {
        /* userinfo: [user]:password (Redis 6 ACL users are not used) */
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        size_t pwlen = (size_t)(at - pw);
        if (pwlen >= sizeof(u.password))
            return ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                               "redis.url: password is too long");
        memcpy(u.password, pw, pwlen);
        p = at + 1;
    }
    const char *slash = strchr(p, '/');
    const char *hostend = slash ? slash : p + strlen(p);
    const char *colon = memchr(p, ':', (size_t)(hostend - p));
    const char *hend = colon ? colon : hostend;
    if (hend == p || (size_t)(hend - p) >= sizeof(u.host))
        return ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                           "redis.url '%s': missing or overlong host", url);
    memcpy(u.host, p, (size_t)(hend - p));
    long v;
    if (colon) {
        if (redis_parse_uint(colon + 1, (size_t)(hostend - colon - 1), 65535,
                             &v) ||
            v == 0)
            return ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                               "redis.url '%s': port is not 1..65535", url);
        u.port = (int)v;
    }
    if (slash && slash[1]) {
        if (redis_parse_uint(slash + 1, strlen(slash + 1), 1000000, &v))
            return ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                               "redis.url '%s': database is not a number", url);
        u.db = (int)v;
    }
    *out = u;
    return LDR_OK;
}

static ldr_err_t redis_ok(redisContext *c, redisReply *r, const char *what,
                          char *errstr, size_t n) {
    ldr_err_t err = LDR_OK;
    if (!r)
        err = ldr_err_set(errstr, n, LDR_ERR_TRANSIENT, "redis %s: %s", what,
                          c->errstr[0] ? c->errstr : "no reply");
    else if (r->type == REDIS_REPLY_ERROR)
        err = ldr_err_set(errstr, n, LDR_ERR_TRANSIENT, "redis %s: %s", what,
                          r->str);
    freeReplyObject(r);
    return err;
}

ldr_err_t ldr_redis_connect(const char *url, const char *password,
                            int timeout_ms, redisContext **out, char *errstr,
                            size_t n) {
    ldr_redis_url_t u;
    ldr_err_t err = ldr_redis_url_parse(url, &u, errstr, n);
    if (err) return err;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(u.host, u.port, tv);
    if (!c || c->err) {
        err = ldr_err_set(errstr, n, LDR_ERR_TRANSIENT, "redis at %s:%d: %s",
                          u.host, u.port,
                          c ? c->errstr : "cannot allocate a connection");
        redisFree(c);
        return err;
    }
    redisSetTimeout(c, tv);
    const char *pw = password && *password ? password : u.password;
    if (*pw)
        err = redis_ok(c, redisCommand(c, "AUTH %s", pw), "AUTH", errstr, n);
    if (!err && u.db)
        err = redis_ok(c, redisCommand(c, "SELECT %d", u.db), "SELECT", errstr,
                       n);
    if (!err) err = redis_ok(c, redisCommand(c, "PING"), "PING", errstr, n);
    if (err) {
        redisFree(c);
        return err;
    }
    *out = c;
    return LDR_OK;
}
