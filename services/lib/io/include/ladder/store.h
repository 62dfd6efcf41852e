/* store.h -- a partition's state in Redis, written one batch at a time.
 *
 * DESIGN: everything a partition needs lives under one hash tag,
 * ldr:{pN.S}:..., so one Redis Function call (store.lua, loaded at connect)
 * writes a whole batch atomically in one cluster slot: the changed
 * enterprises, their timers, the next offset and the clock, the counters,
 * the outbox entry and the revocation notices. Offsets are stored in the
 * same step as the state, so a crash anywhere replays from exactly where
 * the state stands; Kafka's committed offsets are only a hint.
 *
 * Before writing, the step checks that the caller still owns the partition
 * (the owner epoch it got from ldr_store_claim) and that the stored next
 * offset is the batch's first offset. When either fails another owner
 * wrote, or Redis rewound (an AOF restart loses the last second): the step
 * writes nothing and returns LDR_ERR_FENCED, and the caller drops its
 * cache, reloads and seeks to the stored offset.
 *
 * Keys of partition N (the hash tag {pN.S} is placed, see below):
 *   ldr:{pN.S}:meta      hash: epoch, next_offset, clock
 *   ldr:{pN.S}:ent       hash: USCC -> ldr_enterprise_encode()
 *   ldr:{pN.S}:timers    zset: "USCC:tier:kind" -> due (ms)
 *   ldr:{pN.S}:outbox    stream: one entry per batch, id <next_offset>-0
 *   ldr:{pN.S}:counters  hash: "state:UNIT:TIER:STATE" and
 *                        "lg:BATCH:OUTCOME" -> count
 *   ldr:{pN.S}:notices   stream, capped: recent REVOKED, CANCELLED, EXPIRED;
 *                        entry id <offset + 1>-<n> of the decision's cause
 *                        (the same ids whatever the batch boundaries)
 *   ldr:partitions       the input topic's partition count, for the API
 *
 * This file and store.c are the only places that spell a key: a reader
 * such as ladder-api, which keeps its own connections, gets every name
 * from ldr_store_key().
 *
 * Redis Cluster: the hash tag puts all of a partition's keys in one slot,
 * so the step runs on one master and the worker's pipelining per
 * partition is unchanged. The tag is placed so that partitions spread
 * evenly over the masters of an even split: the tag of partition N is
 * "pN.S" with the smallest S = 0, 1, 2, ... whose slot (CRC16-XMODEM of
 * the tag modulo 16384) lies in [t, t + LDR_STORE_PLACE_WINDOW), where t
 * is the bit-reversal of (N mod 16384) in 14 bits. Partitions 0..2^k-1
 * then sit 16384/2^k slots apart for every k, so the contiguous equal
 * ranges of `redis-cli --cluster create` over any number of masters get
 * an even share (32 partitions on 3 masters: 11, 11 and 10, where the
 * plain {pN} gave 8, 10 and 14; docs/REDIS-CLUSTER.md has the tables).
 * tests/support/store_keys.py mirrors the rule.
 *
 * Keys of the layout before placement (ldr:{pN}:...) are moved to their
 * placed names when the partition is claimed (ldr_store_claim()).
 *
 * @locality: one store per thread (hiredis is not thread-safe). */
#ifndef LADDER_STORE_H
#define LADDER_STORE_H

#include "ladder/err.h"
#include "ladder/machine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ldr_store ldr_store_t;

/** The keys of the layout above (the order is the step's KEYS order). */
typedef enum ldr_store_key {
    LDR_STORE_KEY_META,
    LDR_STORE_KEY_ENT,
    LDR_STORE_KEY_TIMERS,
    LDR_STORE_KEY_OUTBOX,
    LDR_STORE_KEY_COUNTERS,
    LDR_STORE_KEY_NOTICES,
    LDR_STORE_KEY_PARTITIONS, /* not per partition: @p partition is ignored */
    LDR_STORE_KEY__COUNT
} ldr_store_key_t;

/** Room for any key ldr_store_key() writes, terminator included. */
#define LDR_STORE_KEY_SIZE 48

/** The width, in slots, of the window a partition's hash tag aims at. */
#define LDR_STORE_PLACE_WINDOW 16

/** Writes the name of key @p what of partition @p partition into @p buf
 *  (@p n bytes, LDR_STORE_KEY_SIZE is always enough); returns its length
 *  as snprintf() does. The first call for a partition searches its tag
 *  (about a thousand CRC16s); later calls find it in a table (partitions
 *  below 16384). Thread-safe. */
int ldr_store_key(char *buf, size_t n, int partition, ldr_store_key_t what);

/** The partition whose key @p what is @p key (as a Redis reply names it,
 *  e.g. the streams of an XREAD), or -1 when @p key is not such a key. */
int ldr_store_key_partition(const char *key, ldr_store_key_t what);

/** Connects (redis.url, redis.password, redis.cluster: "auto", "on" or
 *  "off", NULL meaning auto) and loads the functions on every master. NULL
 *  with errstr set when Redis is unreachable or refuses them, or the
 *  configuration is wrong (cluster.h). */
ldr_store_t *ldr_store_new(const char *url, const char *password,
                           const char *cluster, int timeout_ms, char *errstr,
                           size_t errstr_size);

/** True when the store runs on a Redis Cluster. */
bool ldr_store_clustered(const ldr_store_t *s);
void ldr_store_destroy(ldr_store_t *s);

/** Connects again after an error (every call returns LDR_ERR_TRANSIENT
 *  while the connection is down). The caller must claim its partitions
 *  again afterwards: a reconnect may follow a Redis restart. */
ldr_err_t ldr_store_reconnect(ldr_store_t *s, char *errstr, size_t errstr_size);

/** Records the input topic's partition count. */
ldr_err_t ldr_store_set_partitions(ldr_store_t *s, int count, char *errstr,
                                   size_t errstr_size);

/** Takes partition @p partition over: bumps its owner epoch and returns
 *  the new one, which every later commit must carry. */
ldr_err_t ldr_store_claim(ldr_store_t *s, int partition, int64_t *epoch,
                          char *errstr, size_t errstr_size);

/** Reads the partition's enterprises and clock into @p p (which should be
 *  empty) and its next offset (-1 when nothing was ever stored: start at
 *  the beginning of the log). */
ldr_err_t ldr_store_load(ldr_store_t *s, int partition, ldr_partition_t *p,
                         int64_t *next_offset, char *errstr,
                         size_t errstr_size);

/** One batch of one partition. */
typedef struct ldr_store_batch {
    int partition;
    int64_t epoch;
    int64_t first_offset; /* offset of the batch's first message */
    int64_t next_offset;  /* offset after its last message */
    int64_t clock;
    const ldr_partition_dirty_t *dirty; /* ldr_partition_take_dirty() */
    size_t dirty_count;
    const ldr_machine_decision_t *decisions; /* for counters and notices */
    size_t decisions_count;
    const void *outbox; /* opaque payload the worker publishes; NULL: none */
    size_t outbox_len;
    int notices_maxlen; /* cap of the notices stream (approximate) */
} ldr_store_batch_t;

/** The atomic step. LDR_OK, LDR_ERR_FENCED (nothing written) or
 *  LDR_ERR_TRANSIENT (Redis unreachable: nothing or everything written;
 *  reconnect, reload and replay). */
ldr_err_t ldr_store_commit(ldr_store_t *s, const ldr_store_batch_t *b,
                           char *errstr, size_t errstr_size);

/** ldr_store_commit() in two halves, so that Redis runs one partition's
 *  step while the caller prepares the next: _send() writes the step to the
 *  connection (the batch may be reused once it returns) and _recv() reads
 *  the outcome of the oldest step sent and not yet read, with the same
 *  results as ldr_store_commit(). Every send needs its recv, in order,
 *  before any other call on the store; after LDR_ERR_TRANSIENT from either,
 *  the connection is gone and the steps not yet read have unknown
 *  outcomes (reconnect, reload and replay, as for ldr_store_commit()). */
ldr_err_t ldr_store_commit_send(ldr_store_t *s, const ldr_store_batch_t *b,
                                char *errstr, size_t errstr_size);
ldr_err_t ldr_store_commit_recv(ldr_store_t *s, int partition, char *errstr,
                                size_t errstr_size);

/** The partition's pending outbox entries, oldest first: calls @p fn with
 *  each entry's id (its batch's next offset) and payload. */
ldr_err_t ldr_store_outbox(ldr_store_t *s, int partition,
                           void (*fn)(void *opaque, int64_t id,
                                      const void *payload, size_t len),
                           void *opaque, char *errstr, size_t errstr_size);

/** Checks that the connection is alive: LDR_OK or LDR_ERR_TRANSIENT (the
 *  connection is then gone: reconnect, as after any transient error). A
 *  worker with nothing to do calls it so that a Redis restarted from an
 *  older AOF is noticed without waiting for the next message. */
ldr_err_t ldr_store_ping(ldr_store_t *s, char *errstr, size_t errstr_size);

/** Drops outbox entries up to and including @p id, once published. */
ldr_err_t ldr_store_outbox_trim(ldr_store_t *s, int partition, int64_t id,
                                char *errstr, size_t errstr_size);

/** ldr_store_outbox_trim() in two halves, to trim many partitions in one
 *  round trip: every _send() needs its _recv(), in order, as for
 *  ldr_store_commit_send(). */
ldr_err_t ldr_store_outbox_trim_send(ldr_store_t *s, int partition, int64_t id,
                                     char *errstr, size_t errstr_size);
ldr_err_t ldr_store_outbox_trim_recv(ldr_store_t *s, char *errstr,
                                     size_t errstr_size);

/** The outcome a LITTLE_GIANT decision counts as per batch ("designated",
 *  "renewed", "revoked_review_failed", "revoked_no_submission",
 *  "cancelled"), or NULL. */
const char *ldr_store_lg_outcome(const ldr_machine_decision_t *d);

#endif
