/* cluster.h -- routing Redis commands over a Redis Cluster, or to one server.
 *
 * DESIGN: hiredis 0.14 has no cluster client and Debian ships none, so this
 * small router keeps the slot map from CLUSTER SLOTS and one hiredis
 * connection per master, created lazily with the URL's timeout and AUTH.
 * The same object serves a plain server (one connection, every slot on it),
 * so a caller has one code path and the single-server case costs a lookup.
 *
 * Whether redis.url names a cluster is redis.cluster's job: auto asks the
 * first reachable node `INFO cluster` (cluster_enabled:1 means a cluster,
 * so naming one master is enough), on requires it, off uses the first node
 * as a plain server.
 *
 * Each master has two connections, both made on first use: one for
 * commands whose reply is read at once (ldr_cluster_ctx, _command), and a
 * pipeline (ldr_cluster_pipe) whose replies its caller reads when it
 * likes, so that a slow or frozen master delays only the work sent to it.
 * The router never sends anything of its own on a pipeline, and tells the
 * caller through the on_drop hook whenever it closes one (its unread
 * replies will never come).
 *
 * Faults: MOVED refreshes the map and retries; ASK sends ASKING and the
 * command once to the target; TRYAGAIN and CLUSTERDOWN are retried with a
 * short backoff a bounded number of times, then LDR_ERR_TRANSIENT. A lost
 * node is transient too: its connections are dropped and the map is marked
 * stale, and the next routed call (or ldr_cluster_reconnect()) refreshes it
 * from any reachable known node or seed. A node that did not answer in
 * time (or refused a connection) backs off: for 100 ms doubling to 2 s no
 * connection to it is tried (calls fail at once), and the next one is a
 * probe with a 500 ms timeout, so that a frozen master costs the callers
 * of the other masters a short probe now and then, never the full timeout
 * on every call. Every new connection runs the caller's on_connect hook
 * first (the store loads its Redis Functions there), so a replica promoted
 * by failover gets them before its first command.
 *
 * Ownership: the cluster owns every connection it hands out; a caller never
 * frees one, and a connection is valid until the next call that may drop or
 * refresh (ldr_cluster_drop, _refresh, _reconnect, _command on a failure).
 *
 * @locality: one cluster object per thread (hiredis is not thread-safe). */
#ifndef LADDER_CLUSTER_H
#define LADDER_CLUSTER_H

#include "ladder/err.h"
#include "ladder/redis.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LDR_CLUSTER_SLOTS     16384
#define LDR_CLUSTER_NODES_MAX 256
#define LDR_CLUSTER_NO_NODE   0xffff

typedef struct ldr_cluster ldr_cluster_t;

typedef enum ldr_cluster_mode {
    LDR_CLUSTER_AUTO,
    LDR_CLUSTER_ON,
    LDR_CLUSTER_OFF,
} ldr_cluster_mode_t;

/** redis.cluster's value ("auto", "on", "off"; NULL or "" is auto). */
ldr_err_t ldr_cluster_mode_parse(const char *s, ldr_cluster_mode_t *out,
                                 char *errstr, size_t errstr_size);

/** CRC16-XMODEM as the Redis Cluster spec defines it
 *  (CRC16("123456789") = 0x31C3). */
uint16_t ldr_cluster_crc16(const void *p, size_t len);

/** The slot of @p key: CRC16 of its hash tag (the bytes between the first
 *  '{' and the next '}', when that is not empty) or of the whole key,
 *  modulo 16384. */
int ldr_cluster_key_slot(const char *key, size_t len);

/** A slot map: the masters, and each slot's master (an index into node[],
 *  or LDR_CLUSTER_NO_NODE when no node serves it). */
typedef struct ldr_cluster_map {
    int nnodes;
    ldr_redis_addr_t node[LDR_CLUSTER_NODES_MAX];
    uint16_t slot[LDR_CLUSTER_SLOTS];
} ldr_cluster_map_t;

/** Parses a CLUSTER SLOTS reply into @p out. LDR_ERR_DECODE_FAILED when it
 *  is not one. @p seed_host replaces an empty host (a node that does not
 *  know its own address answers ""). */
ldr_err_t ldr_cluster_map_parse(const redisReply *r, const char *seed_host,
                                ldr_cluster_map_t *out, char *errstr,
                                size_t errstr_size);

/** Runs on every new connection before it is used; an error drops it. */
typedef ldr_err_t (*ldr_cluster_hook_t)(void *opaque, redisContext *c,
                                        char *errstr, size_t errstr_size);

/** Runs just before a pipeline connection is closed (@p why says why). */
typedef void (*ldr_cluster_drop_hook_t)(void *opaque, redisContext *pipe,
                                        const char *why);

typedef struct ldr_cluster_opts {
    const char *url;      /* redis.url */
    const char *password; /* redis.password: overrides the URL's if set */
    ldr_cluster_mode_t mode;
    int timeout_ms;
    ldr_cluster_hook_t on_connect; /* NULL: none */
    void *opaque;
    ldr_cluster_drop_hook_t on_drop; /* NULL: none */
} ldr_cluster_opts_t;

/** Parses the URL, finds a reachable node and, in cluster mode, loads the
 *  slot map and connects to every master. On success *out is a cluster the
 *  caller destroys; LDR_ERR_CONFIG for a bad URL or mode (a db other than 0
 *  in a cluster, redis.cluster=on with a plain server), LDR_ERR_TRANSIENT
 *  when no node answers. The strings of @p o are copied. */
ldr_err_t ldr_cluster_new(const ldr_cluster_opts_t *o, ldr_cluster_t **out,
                          char *errstr, size_t errstr_size);
void ldr_cluster_destroy(ldr_cluster_t *cl);

/** True in cluster mode, false for one plain server. */
bool ldr_cluster_enabled(const ldr_cluster_t *cl);

/** The connection serving @p slot, connected (and hooked) when needed;
 *  NULL with LDR_ERR_TRANSIENT in errstr when its node cannot be reached.
 *  For a plain server every slot is the one connection. */
redisContext *ldr_cluster_ctx(ldr_cluster_t *cl, int slot, char *errstr,
                              size_t errstr_size);

/** The number of masters (1 for a plain server) and the connection to
 *  master @p i, as ldr_cluster_ctx(): for commands that every node needs. */
int ldr_cluster_masters(const ldr_cluster_t *cl);
redisContext *ldr_cluster_master(ldr_cluster_t *cl, int i, char *errstr,
                                 size_t errstr_size);

/** The pipeline connection to the master of @p slot (or master @p i),
 *  connected and hooked when needed, as ldr_cluster_ctx(). Its replies are
 *  the caller's to read; see ldr_cluster_opts_t.on_drop. */
redisContext *ldr_cluster_pipe(ldr_cluster_t *cl, int slot, char *errstr,
                               size_t errstr_size);
redisContext *ldr_cluster_master_pipe(ldr_cluster_t *cl, int i, char *errstr,
                                      size_t errstr_size);

/** The master serving @p slot by the current map (0 for a plain server),
 *  -1 when none; the master whose connection @p c is, or -1; master @p i's
 *  address (NULL when there is no such master). Indices change when the
 *  map is refreshed. */
int ldr_cluster_slot_node(const ldr_cluster_t *cl, int slot);
int ldr_cluster_node_of(const ldr_cluster_t *cl, const redisContext *c);
const ldr_redis_addr_t *ldr_cluster_node_addr(const ldr_cluster_t *cl, int i);

/** Closes the connections of @p c's master after an I/O error on @p c (one
 *  of the cluster's own) and marks the map stale; a timeout on @p c makes
 *  the master back off. */
void ldr_cluster_drop(ldr_cluster_t *cl, redisContext *c);
/** ldr_cluster_drop() for a master that did not answer in time: it backs
 *  off whatever @p c's error says. */
void ldr_cluster_unresponsive(ldr_cluster_t *cl, redisContext *c);

/** Marks the map stale: the next routed call refreshes it first (after a
 *  MOVED read from a pipeline, say). */
void ldr_cluster_stale(ldr_cluster_t *cl);

/** Closes every connection and, in cluster mode, reloads the slot map from
 *  any reachable known node or seed and connects to every master. */
ldr_err_t ldr_cluster_reconnect(ldr_cluster_t *cl, char *errstr,
                                size_t errstr_size);

/** The kind of an error reply, for pipelined callers. */
typedef enum ldr_cluster_redirect {
    LDR_CLUSTER_REPLY_OTHER,
    LDR_CLUSTER_REPLY_MOVED,
    LDR_CLUSTER_REPLY_ASK,
    LDR_CLUSTER_REPLY_TRYAGAIN,
    LDR_CLUSTER_REPLY_CLUSTERDOWN,
} ldr_cluster_redirect_t;
ldr_cluster_redirect_t ldr_cluster_reply_kind(const redisReply *r);

/** Runs one command (printf-style as redisCommand) on @p slot's node,
 *  following MOVED and ASK, retrying TRYAGAIN and CLUSTERDOWN, and sending
 *  it once more on a fresh connection when the connection was lost (so use
 *  it for reads and idempotent writes only). Returns
 *  the reply (the caller frees it with freeReplyObject; it may be an error
 *  reply such as WRONGTYPE), or NULL with LDR_ERR_TRANSIENT in errstr. */
redisReply *ldr_cluster_command(ldr_cluster_t *cl, int slot, char *errstr,
                                size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/** ldr_cluster_command() with a va_list. */
redisReply *ldr_cluster_vcommand(ldr_cluster_t *cl, int slot, char *errstr,
                                 size_t errstr_size, const char *fmt,
                                 va_list ap);

#endif
