/* store.h -- a partition's state in Redis, written one batch at a time.
 *
 * DESIGN: everything a partition needs lives under one hash tag,
 * ldr:{pN.S}:..., so one Redis Function call (store.lua, loaded at connect)
 * writes a whole batch atomically in one cluster slot: the changed
 * enterprises (each state holds its timers), the next offset and the
 * clock, the counters,
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
 *   ldr:{pN.S}:meta      hash: epoch, next_offset, clock, heartbeat
 *   ldr:{pN.S}:ent       hash: USCC -> ldr_enterprise_encode()
 *   ldr:{pN.S}:timers    not written any more (an earlier layout's zset
 *                        "USCC:tier:kind" -> due, which doubled the
 *                        states' timers); deleted by ldr_store_claim()
 *   ldr:{pN.S}:outbox    stream: one entry per batch, id <next_offset>-0
 *   ldr:{pN.S}:counters  hash: "state:UNIT:TIER:STATE" and
 *                        "lg:BATCH:OUTCOME" -> count (none at zero); a
 *                        partition's owner reads them when it loads it
 *                        and its steps set the values of the fields they
 *                        move (one HSET, and an HDEL of those back at
 *                        zero); a step of a store that did not load the
 *                        partition sends the moves (HINCRBY each)
 *   ldr:{pN.S}:notices   stream, capped: recent REVOKED, CANCELLED, EXPIRED;
 *                        entry id <offset + 1>-<n> of the decision's cause
 *                        (the same ids whatever the batch boundaries),
 *                        field "decision": the notice's compact form
 *                        (decision.h), or JSON text an earlier version
 *                        wrote
 *   ldr:partitions       the input topic's partition count, for the API
 *   ldr:dlq:replays      hash: the replay ledger of ladder-admin dlq replay,
 *                        dead letter "TOPIC/PARTITION/OFFSET" -> what became
 *                        of it (ldr_store_replay_get())
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
 * The heartbeat (wall-clock ms) is refreshed by the owner every
 * LDR_STORE_BEAT_INTERVAL_MS (ldr_store_beat_send): the epoch says who
 * claimed last, the heartbeat whether that owner is still alive, which is
 * what ladder-admin rebuild asks before it drops a partition
 * (ldr_store_rebuild).
 *
 * Keys of the layout before placement (ldr:{pN}:...) are moved to their
 * placed names when the partition is claimed (ldr_store_claim()).
 *
 * @locality: one store per thread (hiredis is not thread-safe). */
#ifndef LADDER_STORE_H
#define LADDER_STORE_H

#include "ladder/err.h"
#include "ladder/enterprise.h"
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
    LDR_STORE_KEY_REPLAYS,    /* not per partition either */
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

/** Closes every connection and connects again (the answers owed are
 *  delivered as lost). The caller must claim its partitions again
 *  afterwards: a reconnect may follow a Redis restart. Calls reconnect by
 *  themselves when needed; this is for a caller that wants it now. */
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
 *  the beginning of the log), and its counters into @p s, which the steps
 *  built after it move: like the states, a partition whose steps were
 *  dropped before they were committed must be loaded again.
 *  LDR_ERR_TRANSIENT when the read was not whole (a reshard moved the slot
 *  between two HSCAN slices): @p p then holds part of the state; load
 *  again into an empty one. */
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

/** The atomic step, sent and its answer awaited: LDR_OK, LDR_ERR_FENCED
 *  (nothing written) or LDR_ERR_TRANSIENT (Redis unreachable: nothing or
 *  everything written; reload and replay). Only while nothing else is
 *  owed (ldr_store_owed() is 0): it aborts otherwise. */
ldr_err_t ldr_store_commit(ldr_store_t *s, const ldr_store_batch_t *b,
                           char *errstr, size_t errstr_size);

/** The partition's pending outbox entries, oldest first: calls @p fn with
 *  each entry's id (its batch's next offset) and payload. */
ldr_err_t ldr_store_outbox(ldr_store_t *s, int partition,
                           void (*fn)(void *opaque, int64_t id,
                                      const void *payload, size_t len),
                           void *opaque, char *errstr, size_t errstr_size);

/** Drops outbox entries up to and including @p id, once published (on the
 *  command connection: it may run while steps are owed). */
ldr_err_t ldr_store_outbox_trim(ldr_store_t *s, int partition, int64_t id,
                                char *errstr, size_t errstr_size);

/* ---- the pipeline ---------------------------------------------------------
 *
 * The worker sends steps, trims and pings without waiting, and reads the
 * answers with ldr_store_poll(). Each master has a pipeline connection of
 * its own and answers in the order it was sent, so a slow or frozen master
 * delays only what was sent to it. An answer owed for longer than the
 * timeout, or a failed connection, closes that master's pipeline: every
 * answer it owed is delivered as LDR_ERR_TRANSIENT with node_lost set (the
 * master may have restarted: its partitions must be reloaded), and the
 * master backs off (cluster.h). Blocking calls (claim, load, outbox, trim)
 * use other connections, so they may run while answers are owed. */

typedef enum ldr_store_op {
    LDR_STORE_OP_STEP,
    LDR_STORE_OP_TRIM,
    LDR_STORE_OP_PING,
    LDR_STORE_OP_BEAT,
} ldr_store_op_t;

typedef struct ldr_store_answer {
    ldr_store_op_t op;
    int partition; /* -1 for a PING */
    int node;      /* the master it was sent to (ldr_store_partition_node) */
    /* LDR_OK; LDR_ERR_FENCED (a step: nothing written); LDR_ERR_TRANSIENT
     * (nothing or everything written: reload the partition and replay) */
    ldr_err_t result;
    bool node_lost; /* the master's pipeline was closed: reload them all */
    char why[256];  /* what went wrong, for the log */
} ldr_store_answer_t;

typedef void (*ldr_store_answer_fn)(void *opaque, const ldr_store_answer_t *a);

/** Sends the atomic step without waiting (the batch may be reused once it
 *  returns). LDR_OK: an answer will come through ldr_store_poll(), even if
 *  the connection fails; LDR_ERR_TRANSIENT: the partition's master cannot
 *  be reached now, nothing was sent and no answer will come. */
ldr_err_t ldr_store_commit_send(ldr_store_t *s, const ldr_store_batch_t *b,
                                char *errstr, size_t errstr_size);
/* A step built ahead of its sending: the worker decides and publishes a
 * partition's next batches while the earlier ones wait for Kafka's
 * acknowledgement, so each batch's step is built as soon as it is decided
 * (its dirty list is only good until the partition's next step) and sent
 * once its decisions are acknowledged, in the partition's order. Steps of
 * one partition sent one after the other are applied in that order, and
 * the offset compare-and-set refuses every step after one that was not
 * applied. */
typedef struct ldr_store_step ldr_store_step_t;

ldr_store_step_t *ldr_store_step_new(void);
void ldr_store_step_free(ldr_store_step_t *st);
/** Forgets a built step that will not be sent, and lets go of its buffer
 *  when it grew past @p keep bytes. */
void ldr_store_step_clear(ldr_store_step_t *st, size_t keep);
/** Builds @p b's step into @p st: everything it needs is copied, so the
 *  batch, its dirty list and its decisions may go once this returns. */
void ldr_store_step_build(ldr_store_t *s, const ldr_store_batch_t *b,
                          ldr_store_step_t *st);
/** Sends a built step, as ldr_store_commit_send() (it aborts on one not
 *  built). The step may be built again once this returns. */
ldr_err_t ldr_store_step_send(ldr_store_t *s, ldr_store_step_t *st,
                              char *errstr, size_t errstr_size);
/** ldr_store_outbox_trim() without waiting, as ldr_store_commit_send(). */
ldr_err_t ldr_store_outbox_trim_send(ldr_store_t *s, int partition, int64_t id,
                                     char *errstr, size_t errstr_size);
/** PINGs every master whose pipeline owes nothing (a master backing off is
 *  skipped). A worker with nothing to do sends it now and then, so that a
 *  Redis restarted from an older AOF is noticed without waiting for the
 *  next message: its answer is node_lost. */
void ldr_store_ping_send(ldr_store_t *s);

/** Refreshes the heartbeat of @p partition (one HSET of its meta, the
 *  wall-clock time @p now_ms) without waiting, as
 *  ldr_store_outbox_trim_send(). The owner sends one per partition every
 *  LDR_STORE_BEAT_INTERVAL_MS, off the per-message path. */
ldr_err_t ldr_store_beat_send(ldr_store_t *s, int partition, int64_t now_ms,
                              char *errstr, size_t errstr_size);

/** Answers owed and not yet delivered. */
size_t ldr_store_owed(const ldr_store_t *s);
/** Delivers every answer that has come to @p fn, in the order each master
 *  answered, waiting up to @p timeout_ms for the first when none has come;
 *  closes the pipelines whose oldest answer is overdue. Returns how many
 *  were delivered. @p fn may call the store. */
size_t ldr_store_poll(ldr_store_t *s, int timeout_ms, ldr_store_answer_fn fn,
                      void *opaque);

/** The master that holds @p partition by the current slot map (0 for one
 *  server; -1 when none serves it), as ldr_store_answer_t.node; its
 *  "host:port" for messages. */
int ldr_store_partition_node(ldr_store_t *s, int partition);
const char *ldr_store_node_name(ldr_store_t *s, int node, char *buf, size_t n);

/* ---- the operator's view (ladder-admin) ------------------------------- */

/** How often an owner refreshes each partition's heartbeat, and the age
 *  below which the owner counts as alive (three intervals: one lost or
 *  late refresh does not make a live owner look dead). Both sides read the
 *  wall clock, so the hosts' clocks must agree (NTP) to well within it. */
#define LDR_STORE_BEAT_INTERVAL_MS 2000
#define LDR_STORE_BEAT_FRESH_MS    (3 * LDR_STORE_BEAT_INTERVAL_MS)

/** What the store holds for one partition. */
typedef struct ldr_store_info {
    int64_t epoch;        /* owner epoch; 0: never claimed */
    int64_t next_offset;  /* -1: nothing stored (replay from offset 0) */
    int64_t clock;        /* the partition's event-time clock (ms); 0: none */
    int64_t heartbeat_ms; /* the owner's last heartbeat; -1: none */
    long long enterprises, outbox, notices; /* entries of each key */
    long long timers; /* pending in the states: each one decoded */
} ldr_store_info_t;

/** Reads the partition's meta and the sizes of its keys into @p info; the
 *  timers are counted by decoding every state (O(enterprises): for
 *  operators' tools, not for a hot path). */
ldr_err_t ldr_store_info(ldr_store_t *s, int partition, ldr_store_info_t *info,
                         char *errstr, size_t errstr_size);

/** The input topic's partition count the workers recorded
 *  (ldr_store_set_partitions()); *@p count is 0 when none was. */
ldr_err_t ldr_store_get_partitions(ldr_store_t *s, int *count, char *errstr,
                                   size_t errstr_size);

/** Reads and decodes the stored state of @p uscc in @p partition into
 *  @p e, which the caller initialised (ldr_enterprise_init) and finalises.
 *  *@p found is false (and @p e untouched) when there is none. */
ldr_err_t ldr_store_enterprise(ldr_store_t *s, int partition, const char *uscc,
                               ldr_enterprise_t *e, bool *found, char *errstr,
                               size_t errstr_size);

/** Calls @p fn with every entry of the partition's notices stream, oldest
 *  first: its id and the decision's JSON form (not NUL-terminated), from
 *  the compact form the worker stores (decision.h) or from the JSON text
 *  an earlier version stored. LDR_ERR_DECODE_FAILED when an entry does not
 *  decode. */
ldr_err_t ldr_store_notices(ldr_store_t *s, int partition,
                            void (*fn)(void *opaque, const char *id,
                                       const char *json, size_t len),
                            void *opaque, char *errstr, size_t errstr_size);

/** Checks every master: it answers PING, holds the ladder functions
 *  (FUNCTION LIST) and, in a cluster, reports cluster_state:ok. Calls
 *  @p fn once per check with the master's "host:port", what was checked
 *  ("ping", "functions", "cluster_state"), whether it passed and what was
 *  found. Returns the number of checks that failed. */
int ldr_store_check(ldr_store_t *s,
                    void (*fn)(void *opaque, const char *node, const char *what,
                               bool ok, const char *detail),
                    void *opaque);

/** Drops partition @p partition's state so that its next owner replays
 *  the input log from offset 0: in one atomic call, bumps the owner epoch
 *  (a running owner's next step is fenced, and it reloads the empty
 *  partition) and deletes every other key and meta field. With
 *  @p alive_since_ms >= 0, refuses when the heartbeat is that recent or
 *  newer: LDR_ERR_FENCED (nothing written), with the heartbeat in
 *  *@p heartbeat_ms. On success the new epoch is in *@p epoch. */
ldr_err_t ldr_store_rebuild(ldr_store_t *s, int partition,
                            int64_t alive_since_ms, int64_t *epoch,
                            int64_t *heartbeat_ms, char *errstr,
                            size_t errstr_size);

/* ---- the replay ledger (ladder-admin dlq replay) -----------------------
 *
 * One hash, LDR_STORE_KEY_REPLAYS: one key, so on a Redis Cluster it lives
 * on one master and every call below is one command on it. A field names a
 * dead letter, "TOPIC/PARTITION/OFFSET" of the DLQ; its value says what
 * became of it, as the caller wrote it (ladder-admin writes "pending MS"
 * before it produces the replay and "done MS TOPIC/PARTITION/OFFSET" after
 * the delivery report). The ledger is never trimmed: one field per dead
 * letter replayed. */

/** What the ledger holds for @p letter, into @p value (@p value_size
 *  bytes, truncated); *@p found false (and @p value "") when nothing. */
ldr_err_t ldr_store_replay_get(ldr_store_t *s, const char *letter, char *value,
                               size_t value_size, bool *found, char *errstr,
                               size_t errstr_size);

/** Writes @p value for @p letter. With @p only_new, only when the ledger
 *  holds nothing for it (HSETNX): *@p written says whether it wrote. */
ldr_err_t ldr_store_replay_set(ldr_store_t *s, const char *letter,
                               const char *value, bool only_new, bool *written,
                               char *errstr, size_t errstr_size);

/** Forgets @p letter (a replay that certainly did not reach Kafka). */
ldr_err_t ldr_store_replay_forget(ldr_store_t *s, const char *letter,
                                  char *errstr, size_t errstr_size);

/** The outcome a LITTLE_GIANT decision counts as per batch ("designated",
 *  "renewed", "revoked_review_failed", "revoked_no_submission",
 *  "cancelled"), or NULL. */
const char *ldr_store_lg_outcome(const ldr_machine_decision_t *d);

#endif
