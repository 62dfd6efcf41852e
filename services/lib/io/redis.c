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
#include <stdbool.h>
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

void ldr_redis_url_hosts(const ldr_redis_url_t *u, char *buf, size_t n) {
    size_t off = 0;
    if (n) buf[0] = '\0';
    for (int i = 0; i < u->nnodes && off < n; i++) {
        int w = snprintf(buf + off, n - off, "%s%s:%d", i ? "," : "",
                         u->node[i].host, u->node[i].port);
        if (w < 0) break;
        off += (size_t)w;
    }
}

/* Parses one "host[:port]" of the host list into @p a. */
static int redis_parse_addr(const char *p, size_t len, ldr_redis_addr_t *a) {
    const char *colon = memchr(p, ':', len);
    size_t hlen = colon ? (size_t)(colon - p) : len;
    if (hlen == 0 || hlen >= sizeof(a->host) || memchr(p, '@', len)) return -1;
    memcpy(a->host, p, hlen);
    a->host[hlen] = '\0';
    a->port = 6379;
    if (colon) {
        long v;
        if (redis_parse_uint(colon + 1, len - hlen - 1, 65535, &v) || v == 0)
            return -1;
        a->port = (int)v;
    }
    return 0;
}

ldr_err_t ldr_redis_url_parse(const char *url, ldr_redis_url_t *out,
                              char *errstr, size_t n) {
    static const char scheme[] = "redis://";
    ldr_redis_url_t *u = calloc(1, sizeof(*u));
    ldr_err_t err = LDR_OK;
    if (!u) abort();
    if (url && strncmp(url, "rediss://", 9) == 0) {
        /* The supported path is named here, not only the refusal: an
         * operator who needs TLS can have it without a rebuild. */
        err = ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                          "redis.url: rediss:// is not supported (Debian's "
                          "hiredis 0.14 has no TLS): run a local stunnel "
                          "(stunnel4) in client mode to the Redis tls-port "
                          "and give redis.url its local end as redis:// "
                          "(docs/SECURITY.md)");
        goto out;
    }
    if (!url || strncmp(url, scheme, sizeof(scheme) - 1) != 0) {
        err = ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                          "redis.url: must start with redis://");
        goto out;
    }
    const char *p = url + sizeof(scheme) - 1;
    /* The userinfo ends at the last '@': a password may hold '@', a host
     * list never does. */
    const char *at = strrchr(p, '@');
    if (at) {
        /* [user]:password; without ':' the whole is the password. */
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        size_t ulen = colon ? (size_t)(colon - p) : 0;
        size_t pwlen = (size_t)(at - pw);
        if (pwlen >= sizeof(u->password) || ulen >= sizeof(u->user)) {
            err = ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                              "redis.url: user or password is too long");
            goto out;
        }
        memcpy(u->user, p, ulen);
        memcpy(u->password, pw, pwlen);
        p = at + 1;
    }
    const char *slash = strchr(p, '/');
    const char *hostend = slash ? slash : p + strlen(p);
    for (const char *h = p; h <= hostend;) {
        const char *comma = memchr(h, ',', (size_t)(hostend - h));
        const char *e = comma ? comma : hostend;
        if (u->nnodes == LDR_REDIS_NODES_MAX) {
            err = ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                              "redis.url: more than %d nodes",
                              LDR_REDIS_NODES_MAX);
            goto out;
        }
        if (redis_parse_addr(h, (size_t)(e - h), &u->node[u->nnodes])) {
            err = ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                              "redis.url: node %d of the host list is not "
                              "host[:port] with a port of 1..65535",
                              u->nnodes + 1);
            goto out;
        }
        u->nnodes++;
        h = e + 1;
    }
    char hosts[512];
    ldr_redis_url_hosts(u, hosts, sizeof(hosts));
    if (slash && slash[1]) {
        long v;
        if (redis_parse_uint(slash + 1, strlen(slash + 1), 1000000, &v)) {
            err =
                ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                            "redis.url (%s): database is not a number", hosts);
            goto out;
        }
        u->db = (int)v;
    }
    if (u->nnodes > 1 && u->db != 0) {
        err = ldr_err_set(errstr, n, LDR_ERR_CONFIG,
                          "redis.url (%s): database %d with several nodes: a "
                          "Redis Cluster has only database 0",
                          hosts, u->db);
        goto out;
    }
    memcpy(u->host, u->node[0].host, sizeof(u->host));
    u->port = u->node[0].port;
    *out = *u;
out:
    free(u);
    return err;
}

const char *ldr_redis_error_hint(const char *reply) {
    if (!reply || strncmp(reply, "NOPERM", 6) != 0) return "";
    return "; grant it to the Redis user of redis.url in the server's ACL "
           "file (deploy/redis/users.acl)";
}

static ldr_err_t redis_ok(redisContext *c, redisReply *r, const char *what,
                          char *errstr, size_t n) {
    ldr_err_t err = LDR_OK;
    if (!r)
        err =
            ldr_err_set(errstr, n, LDR_ERR_TRANSIENT, "redis at %s:%d: %s: %s",
                        c->tcp.host ? c->tcp.host : "?", c->tcp.port, what,
                        c->errstr[0] ? c->errstr : "no reply");
    else if (r->type == REDIS_REPLY_ERROR)
        err = ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                          "redis at %s:%d: %s: %s%s",
                          c->tcp.host ? c->tcp.host : "?", c->tcp.port, what,
                          r->str, ldr_redis_error_hint(r->str));
    freeReplyObject(r);
    return err;
}

/* AUTH with @p user (empty: the default user) and @p pw. A refusal names
 * the user and where its password comes from, never the password itself
 * (Redis' own answer does not hold it either). */
static ldr_err_t redis_auth(redisContext *c, const char *user, const char *pw,
                            char *errstr, size_t n) {
    redisReply *r = *user ? redisCommand(c, "AUTH %s %s", user, pw)
                          : redisCommand(c, "AUTH %s", pw);
    if (!r || r->type != REDIS_REPLY_ERROR)
        return redis_ok(c, r, "AUTH", errstr, n);
    ldr_err_t err = ldr_err_set(
        errstr, n, LDR_ERR_TRANSIENT,
        "redis at %s:%d: AUTH as user \"%s\" refused: %s (check that user's "
        "password in redis.url or redis.password against the server's ACL "
        "file)",
        c->tcp.host ? c->tcp.host : "?", c->tcp.port, *user ? user : "default",
        r->str);
    freeReplyObject(r);
    return err;
}

ldr_err_t ldr_redis_connect_node(const ldr_redis_url_t *u, const char *host,
                                 int port, const char *password, int db,
                                 int timeout_ms, redisContext **out,
                                 char *errstr, size_t n) {
    ldr_err_t err = LDR_OK;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        err = ldr_err_set(errstr, n, LDR_ERR_TRANSIENT, "redis at %s:%d: %s",
                          host, port,
                          c ? c->errstr : "cannot allocate a connection");
        redisFree(c);
        return err;
    }
    redisSetTimeout(c, tv);
    const char *pw = password && *password ? password : u->password;
    if (*pw) err = redis_auth(c, u->user, pw, errstr, n);
    if (!err && db)
        err =
            redis_ok(c, redisCommand(c, "SELECT %d", db), "SELECT", errstr, n);
    if (!err) {
        redisReply *r = redisCommand(c, "PING");
        bool noauth = r && r->type == REDIS_REPLY_ERROR &&
                      strncmp(r->str, "NOAUTH", 6) == 0;
        err = redis_ok(c, r, "PING", errstr, n);
        if (noauth)
            err = ldr_err_set(errstr, n, LDR_ERR_TRANSIENT,
                              "redis at %s:%d: the server wants a user and "
                              "password, and redis.url gives none "
                              "(redis://user:password@host:port)",
                              host, port);
    }
    if (err) {
        redisFree(c);
        return err;
    }
    *out = c;
    return LDR_OK;
}

ldr_err_t ldr_redis_connect(const char *url, const char *password,
                            int timeout_ms, redisContext **out, char *errstr,
                            size_t n) {
    ldr_redis_url_t u;
    ldr_err_t err = ldr_redis_url_parse(url, &u, errstr, n);
    if (err) return err;
    for (int i = 0; i < u.nnodes; i++) {
        err =
            ldr_redis_connect_node(&u, u.node[i].host, u.node[i].port, password,
                                   u.db, timeout_ms, out, errstr, n);
        if (!err) return LDR_OK;
    }
    return err;
}
