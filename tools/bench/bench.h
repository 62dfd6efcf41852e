/* bench.h -- what ladder-bench's driver and its reference ceilings share.
 *
 * DESIGN: the two ceilings are the yardsticks the worker's rate is read
 * against, so they must read exactly what the worker read, with the same
 * client settings: every Kafka handle of ladder-bench is made by
 * bn_kafka_new(), which applies the worker's own librdkafka defaults
 * (services/worker/worker.c) and then the kafka.* keys of the bench's
 * configuration, as the worker does. A ceiling consumes the given input
 * partitions by assignment (no consumer group, so no join delay is timed)
 * from offset 0 up to the given end offsets, and its time runs from its
 * first message to its last result (delivery report or Redis reply). */
#ifndef LADDER_BENCH_H
#define LADDER_BENCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

#include "ladder/clock.h"
#include "ladder/codec.h"
#include "ladder/config.h"
#include "ladder/kafka.h"

/* fetch.wait.max.ms of every consumer of the bench and of its workers.
 * The embedded cluster holds a fetch that finds nothing new for the whole
 * wait, even when messages arrive meanwhile (a broker answers as soon as
 * fetch.min.bytes is there), so the wait is a floor under every message's
 * latency; at 10 ms it was a third of the latency phase's median. A fetch
 * at the end of a partition walks none of its message sets, so a short
 * wait costs the cluster little. */
#define BN_FETCH_WAIT_MS "2"

/** A producer or consumer with the worker's settings, from
 *  ldr_kafka_conf_new() (producer: the contract's partitioner and
 *  idempotence, linger.ms 20, batch.num.messages 10000; consumer: no auto
 *  commit, earliest, range assignor, no partition EOF), then the @p extra
 *  pairs, then the kafka.* keys of @p cfg (bootstrap.servers among them). @p
 * opaque is the handle's opaque (delivery reports). NULL on error with errstr
 * set; the caller destroys the handle. */
rd_kafka_t *bn_kafka_new(const ldr_config_t *cfg, rd_kafka_type_t type,
                         const ldr_kafka_prop_t *extra, size_t nextra,
                         void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *,
                                       void *),
                         void *opaque, char *errstr, size_t n);

/** A numeric field ("used_cpu_sys") of INFO @p section; 0 on success. */
int bn_redis_info(redisContext *c, const char *section, const char *field,
                  double *out);

typedef struct bn_ceiling_args {
    const ldr_config_t *cfg;
    ldr_codec_t *codec;
    const char *input_topic;
    const char *output_topic; /* passthrough only */
    const char *redis_url;    /* script per event only; a seed list for a
                                 cluster */
    int partitions;
    const int64_t *end; /* per input partition: consume offsets [0, end) */
    volatile sig_atomic_t *stop;
} bn_ceiling_args_t;

typedef struct bn_ceiling_result {
    uint64_t messages;
    double seconds; /* first message consumed to last result */
    double rate;    /* messages / seconds */
    /* script per event: Redis's CPU and commands over the run */
    double redis_cpu_s;
    double redis_commands;
} bn_ceiling_result_t;

/** Consume, decode with ladder's codec, encode, produce to output_topic;
 *  done when every message is acknowledged. 0 or -1 with errstr. */
int bn_ceiling_passthrough(const bn_ceiling_args_t *a, bn_ceiling_result_t *r,
                           char *errstr, size_t n);

/** Consume, decode, and apply each event with one EVALSHA of a small Lua
 *  script (read the enterprise's field, write it back, XADD a decision,
 *  set the partition's next offset), BN_SCRIPT_PIPELINE calls per round
 *  trip. 0 or -1 with errstr. */
#define BN_SCRIPT_PIPELINE 500
int bn_ceiling_script(const bn_ceiling_args_t *a, bn_ceiling_result_t *r,
                      char *errstr, size_t n);

#endif
