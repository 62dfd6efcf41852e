/* redis.h -- connecting to Redis from a redis:// URL.
 *
 * DESIGN: every service reaches Redis through one URL, parsed strictly here
 * so that a typo is a start-up error naming the host list, never a silent
 * default:
 *
 *   redis://[[user]:password@]host[:port][/db]           one server
 *   redis://[[user]:password@]h1:p1,h2:p2,...[/0]        Redis Cluster seeds
 *
 * One user and password serve every node; with a user, AUTH sends both
 * (Redis 6 ACL); a refused AUTH names the user, never the password, and a
 * NOPERM reply gets a hint pointing at the ACL file (ldr_redis_error_hint).
 * The userinfo ends at the LAST '@', so a password may hold
 * '@' (and ':' after the first). Messages never show the URL itself, only
 * the host:port list, so a password cannot leak into a log. rediss:// is
 * refused: Debian's hiredis 0.14 has no TLS, and the message names the
 * supported path, a local stunnel in client mode in front of a Redis
 * tls-port (docs/SECURITY.md). hiredis 0.14 has blocking
 * connections with command timeouts only through redisSetTimeout, and a
 * connection that saw any error is dead (PITFALLS.md), so connecting always
 * sets the timeout and authenticates and selects the database again. */
#ifndef LADDER_REDIS_H
#define LADDER_REDIS_H

#include "ladder/err.h"

#include <hiredis/hiredis.h>

/** Most seed nodes one URL may name. */
#define LDR_REDIS_NODES_MAX 16

typedef struct ldr_redis_addr {
    char host[256];
    int port;
} ldr_redis_addr_t;

typedef struct ldr_redis_url {
    char host[256]; /* the first node (node[0]) */
    int port;
    int db;
    char user[128];     /* empty: AUTH password alone */
    char password[256]; /* empty: no AUTH */
    int nnodes;         /* 1..LDR_REDIS_NODES_MAX */
    ldr_redis_addr_t node[LDR_REDIS_NODES_MAX];
} ldr_redis_url_t;

/** Parses @p url. LDR_ERR_CONFIG with errstr naming the problem (never the
 *  password). Several nodes with a db other than 0 are refused. */
ldr_err_t ldr_redis_url_parse(const char *url, ldr_redis_url_t *out,
                              char *errstr, size_t errstr_size);

/** Writes "h1:p1,h2:p2,..." of @p u into @p buf, for messages. */
void ldr_redis_url_hosts(const ldr_redis_url_t *u, char *buf, size_t n);

/** Connects to @p host:@p port with @p u's credentials (a non-empty
 *  @p password overrides the URL's), sets the command timeout,
 *  authenticates, selects @p db when it is not 0 and PINGs. On success *out
 *  is a connection the caller frees with redisFree(); LDR_ERR_TRANSIENT
 *  when the node cannot be reached or refuses. */
ldr_err_t ldr_redis_connect_node(const ldr_redis_url_t *u, const char *host,
                                 int port, const char *password, int db,
                                 int timeout_ms, redisContext **out,
                                 char *errstr, size_t errstr_size);

/** The hint to append to the error reply @p reply of a command that Redis
 *  refused: for a NOPERM (the ACL user of redis.url may not run the command
 *  or touch the key) a sentence that points at the ACL file, otherwise "".
 *  Static text; @p reply may be NULL. */
const char *ldr_redis_error_hint(const char *reply);

/** Connects to the first node of @p url that answers (as a plain server:
 *  no cluster routing; see cluster.h for that), sets the command timeout,
 *  authenticates (a non-empty @p password overrides the URL's) and selects
 *  the database. On success *out is a connection the caller frees with
 *  redisFree(). LDR_ERR_CONFIG for a bad URL, LDR_ERR_TRANSIENT when Redis
 *  cannot be reached or refuses. */
ldr_err_t ldr_redis_connect(const char *url, const char *password,
                            int timeout_ms, redisContext **out, char *errstr,
                            size_t errstr_size);

#endif
