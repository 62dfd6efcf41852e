/* kafka.h -- the producer of input events (ladder-feed, ladder-gen --kafka,
 * ladder-roundtrip).
 *
 * DESIGN: every producer of the input topic must use the murmur2_random
 * partitioner and idempotence (CONTRACT.md), so both are set here and a
 * configuration that asks for something else is refused rather than
 * obeyed. Ladder's defaults favour well-filled batches (linger.ms 20,
 * batch.num.messages 10000), which the embedded cluster needs to keep up
 * (PITFALLS.md); kafka.* keys of the configuration are applied after them
 * and may change them. Delivery is counted from the delivery reports: a
 * message counts as delivered only when the cluster acknowledged it, and
 * ldr_kafka_producer_flush() succeeds only when every message produced was
 * acknowledged. A fatal error (librdkafka 2.0.2 can raise a spurious one
 * with idempotence, PITFALLS.md) fails the messages still in flight, which
 * is reported, never hidden: the caller decides whether to start again.
 *
 * @locality: one thread produces, flushes and destroys; the delivery
 * reports are served on that thread (inside produce and flush). */
#ifndef LADDER_KAFKA_H
#define LADDER_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "ladder/codec.h"
#include "ladder/config.h"
#include "ladder/err.h"
#include "ladder/record.h"

/* ---- the one builder of every Kafka client's configuration ----------- */

typedef struct ldr_kafka_prop {
    const char *key, *value;
} ldr_kafka_prop_t;

typedef enum ldr_kafka_role {
    LDR_KAFKA_PRODUCER,      /* a service's producer (decisions, DLQ, ticks) */
    LDR_KAFKA_TOOL_PRODUCER, /* a command-line tool's producer: quiet log */
    LDR_KAFKA_CONSUMER,      /* group.id from the group.id key when set */
} ldr_kafka_role_t;

/** The linger of a producer that sends in whole batches of its own: the
 *  worker produces a step's decisions at once, keyed like the input (so
 *  into the input partition's decisions partition), and the message set is
 *  whole before the first millisecond is out. A longer linger would only
 *  hold each decision back: with 20 ms, the decisions of the bench's
 *  latency phase spent 23 ms of their 36 ms median between the worker and
 *  the consumer (docs/BENCHMARKS.md). Callers pass it as {"linger.ms",
 *  LDR_KAFKA_STEP_LINGER_MS} in @p defaults of ldr_kafka_conf_new(), so a
 *  kafka.linger.ms key still wins. */
#define LDR_KAFKA_STEP_LINGER_MS "2"

/** A librdkafka configuration for a client of @p role, built in one order
 *  for every program: client.id = the program's name; ladder's defaults for
 *  the role (producers: linger.ms 20, batch.num.messages 10000; consumers:
 *  auto.offset.reset earliest, the range assignor); the caller's
 *  @p defaults; every kafka.* key of @p cfg; and last, for producers, what
 *  the contract requires (enable.idempotence, the murmur2_random
 *  partitioner), which a kafka.* key asking otherwise makes an error rather
 *  than being overridden. librdkafka's log lines go through ladder's logger.
 *  NULL on error with one line in @p errstr; on success the caller owns the
 *  configuration (rd_kafka_new() takes it, or rd_kafka_conf_destroy()). */
rd_kafka_conf_t *ldr_kafka_conf_new(const ldr_config_t *cfg,
                                    ldr_kafka_role_t role,
                                    const ldr_kafka_prop_t *defaults,
                                    size_t ndefaults, char *errstr,
                                    size_t errstr_size);

/** Sets the @p n properties @p props on @p conf, in order: for settings a
 *  client must keep whatever kafka.* says (set them after
 *  ldr_kafka_conf_new()). A refused one is LDR_ERR_CONFIG naming it. */
ldr_err_t ldr_kafka_conf_set(rd_kafka_conf_t *conf,
                             const ldr_kafka_prop_t *props, size_t n,
                             char *errstr, size_t errstr_size);

/** Sets every kafka.* value of @p cfg on @p conf, without the prefix, in
 *  the order they were first set (ldr_config_each_kafka()). A property
 *  librdkafka refuses is LDR_ERR_CONFIG with one line naming the key, where
 *  it came from and librdkafka's reason. */
ldr_err_t ldr_kafka_conf_apply(const ldr_config_t *cfg, rd_kafka_conf_t *conf,
                               char *errstr, size_t errstr_size);

/* ---- the producer of input events ------------------------------------ */

typedef struct ldr_kafka_producer ldr_kafka_producer_t;

/* Idempotent, partitioner murmur2_random, kafka.* config applied
 * (ldr_kafka_conf_new) after ladder's defaults (linger.ms 20,
 * batch.num.messages 10000, queue.buffering.max.messages 1000000,
 * compression none); fails with LDR_ERR_CONFIG naming kafka.bootstrap.servers
 * when unset. Reads the topic's partition count (metadata) at start:
 * LDR_ERR_TRANSIENT if unreachable within the timeout. NULL on error with
 * errstr set; the caller frees the producer with
 * ldr_kafka_producer_destroy(). */
ldr_kafka_producer_t *ldr_kafka_producer_new(const ldr_config_t *cfg,
                                             const char *topic, int timeout_ms,
                                             char *errstr, size_t n);

/* The error of the last failed ldr_kafka_producer_new() on this thread
 * (LDR_ERR_CONFIG or LDR_ERR_TRANSIENT), for choosing an exit status. */
ldr_err_t ldr_kafka_producer_new_error(void);

int ldr_kafka_producer_partitions(const ldr_kafka_producer_t *p);

/* Produces encoded bytes keyed by key (NULL key + partition >= 0 for ticks;
 * partition -1 lets the partitioner choose); blocks and polls on a full
 * queue; copies the bytes. LDR_ERR_TRANSIENT after a fatal error or when
 * librdkafka refuses the message. */
ldr_err_t ldr_kafka_produce(ldr_kafka_producer_t *p, const void *key,
                            size_t key_len, int32_t partition,
                            const void *value, size_t len, char *errstr,
                            size_t n);

/* Encodes a record with the codec and produces it: keyed records by USCC
 * (murmur2_random), a ClockTick once to EVERY partition. A decision is
 * LDR_ERR_INVALID_ARG, an unencodable record LDR_ERR_ENCODE. */
ldr_err_t ldr_kafka_produce_record(ldr_kafka_producer_t *p, ldr_codec_t *codec,
                                   const ldr_record_t *rec, char *errstr,
                                   size_t n);

/* Waits until every message is acknowledged or failed (or timeout); returns
 * LDR_OK only when all were delivered, else LDR_ERR_TRANSIENT with the
 * counts and the first delivery error in errstr. */
ldr_err_t ldr_kafka_producer_flush(ldr_kafka_producer_t *p, int timeout_ms,
                                   char *errstr, size_t n);

/* Messages produced, acknowledged and failed so far. */
uint64_t ldr_kafka_producer_produced(const ldr_kafka_producer_t *p);
uint64_t ldr_kafka_producer_delivered(const ldr_kafka_producer_t *p);
uint64_t ldr_kafka_producer_failed(const ldr_kafka_producer_t *p);

/* Serves delivery reports without blocking (call now and then in a loop
 * that produces rarely). */
void ldr_kafka_producer_poll(ldr_kafka_producer_t *p);

/* Frees the producer. Messages not yet flushed are dropped (flush first).
 * Accepts NULL. */
void ldr_kafka_producer_destroy(ldr_kafka_producer_t *p);

/* The partition murmur2_random gives a key:
 * rd_kafka_msg_partitioner_murmur2_random(NULL, key, len, partitions, NULL,
 * NULL) */
int32_t ldr_kafka_partition_for_key(const void *key, size_t len,
                                    int partitions);

/* The partition count of @p topic as @p rk's cluster reports it, or -1
 * with errstr naming the topic and the reason. One metadata request. */
int ldr_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms,
                              char *errstr, size_t n);

/* The log bounds of partitions 0 .. @p parts - 1 of @p topic: into @p lo
 * the first offset each still holds, into @p hi its high watermark
 * (either may be NULL), asked of the partitions' leaders, one ListOffsets
 * request a leader for each bound. Returns within about @p timeout_ms in
 * all: rd_kafka_query_watermark_offsets() waits for its answer past its
 * timeout while a broker does not answer (up to socket.timeout.ms, a
 * minute, for every partition). 0, or -1 with errstr naming the topic,
 * the partition and the reason. */
int ldr_kafka_log_bounds(rd_kafka_t *rk, const char *topic, int parts,
                         int64_t *lo, int64_t *hi, int timeout_ms, char *errstr,
                         size_t n);

#endif
