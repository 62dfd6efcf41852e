/* redis.h -- connecting to Redis from a redis:// URL.
 *
 * DESIGN: every service reaches Redis through one URL
 * (redis://[:password@]host[:port][/db]), parsed strictly here so that a
 * typo is a start-up error naming the URL, never a silent default. hiredis
 * 0.14 has blocking connections with command timeouts only through
 * redisSetTimeout, and a connection that saw any error is dead
 * (PITFALLS.md), so connecting always sets the timeout and authenticates
 * and selects the database again. */
#ifndef LADDER_REDIS_H
#define LADDER_REDIS_H

#include "ladder/err.h"

#include <hiredis/hiredis.h>

typedef struct ldr_redis_url {
    char host[256];
    int port;
    int db;
    char password[256]; /* empty: no AUTH */
} ldr_redis_url_t;

/** Parses @p url. LDR_ERR_CONFIG with errstr naming the problem. */
ldr_err_t ldr_redis_url_parse(const char *url, ldr_redis_url_t *out,
                              char *errstr, size_t errstr_size);

/** Connects, sets the command timeout, authenticates (a non-empty
 *  @p password overrides the URL's) and selects the database. On success
 *  *out is a connection the caller frees with redisFree(). LDR_ERR_CONFIG
 *  for a bad URL, LDR_ERR_TRANSIENT when Redis cannot be reached or
 *  refuses. */
ldr_err_t ldr_redis_connect(const char *url, const char *password,
                            int timeout_ms, redisContext **out, char *errstr,
                            size_t errstr_size);

#endif
