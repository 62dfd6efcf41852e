/* feed_readback.c -- reads a whole topic back for test_ladder_feed.sh.
 *
 *   feed_readback BOOTSTRAP TOPIC SCHEMA_DIR
 *
 * Reads every partition from the beginning to its end, decodes each message
 * with ladder's codec and prints one JSON object per message on stdout:
 * partition, offset, key, the partition murmur2_random gives the key
 * (ldr_kafka_partition_for_key), the record kind, its event time, its
 * identifying fields and the value as hex (for python3-avro to decode on
 * its own). Exit status 0 when every message decoded, 1 otherwise. */
#include "ladder/codec.h"
#include "ladder/feed.h"
#include "ladder/kafka.h"
#include "ladder/schema.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *jstr(ldr_str_t s) {
    return json_stringn(s.ptr ? s.ptr : "", s.len);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: feed_readback BOOTSTRAP TOPIC SCHEMA_DIR\n");
        return 2;
    }
    char err[512];
    ldr_schemas_t *schemas = ldr_schemas_load(argv[3], err, sizeof err);
    ldr_codec_t *codec =
        schemas ? ldr_codec_new(schemas, err, sizeof err) : NULL;
    if (!codec) {
        fprintf(stderr, "feed_readback: %s\n", err);
        return 2;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err,
                          sizeof err) ||
        rd_kafka_conf_set(conf, "group.id", "feed-readback", err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", err,
                          sizeof err) ||
        rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof err)) {
        fprintf(stderr, "feed_readback: %s\n", err);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "feed_readback: %s\n", err);
        return 2;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, argv[2], NULL);
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1 ||
        md->topics[0].err) {
        fprintf(stderr, "feed_readback: no metadata for %s\n", argv[2]);
        return 2;
    }
    int partitions = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_topic_partition_list_t *tpl =
        rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(tpl, argv[2], p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, tpl);
    rd_kafka_topic_partition_list_destroy(tpl);

    int at_eof = 0, rc = 0, idle = 0;
    while (at_eof < partitions && idle < 300) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle++;
            continue;
        }
        idle = 0;
        if (m->err) {
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                at_eof++;
            else {
                fprintf(stderr, "feed_readback: %s\n",
                        rd_kafka_message_errstr(m));
                rc = 1;
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        json_t *o = json_object();
        json_object_set_new(o, "partition", json_integer(m->partition));
        json_object_set_new(o, "offset", json_integer(m->offset));
        json_object_set_new(
            o, "key", m->key ? json_stringn(m->key, m->key_len) : json_null());
        json_object_set_new(o, "key_partition",
                            m->key ? json_integer(ldr_kafka_partition_for_key(
                                         m->key, m->key_len, partitions))
                                   : json_null());
        char *hex = malloc(m->len * 2 + 1);
        for (size_t i = 0; i < m->len; i++)
            snprintf(hex + 2 * i, 3, "%02x", ((unsigned char *)m->payload)[i]);
        hex[m->len * 2] = '\0';
        json_object_set_new(o, "value", json_string(hex));
        free(hex);
        ldr_record_t rec;
        if (ldr_codec_decode(codec, m->payload, m->len, &rec, NULL, err,
                             sizeof err)) {
            json_object_set_new(o, "error", json_string(err));
            rc = 1;
        } else {
            json_object_set_new(o, "kind",
                                json_string(ldr_feed_kind_name(rec.kind)));
            json_object_set_new(o, "time",
                                json_integer(ldr_feed_record_time(&rec)));
            switch (rec.kind) {
            case LDR_RECORD_APPLICATION:
                json_object_set_new(o, "event_id",
                                    jstr(rec.u.application.event_id));
                json_object_set_new(o, "uscc", jstr(rec.u.application.uscc));
                break;
            case LDR_RECORD_REVIEW:
                json_object_set_new(o, "event_id", jstr(rec.u.review.event_id));
                json_object_set_new(o, "uscc", jstr(rec.u.review.uscc));
                break;
            case LDR_RECORD_VIOLATION:
                json_object_set_new(o, "event_id",
                                    jstr(rec.u.violation.event_id));
                json_object_set_new(o, "uscc", jstr(rec.u.violation.uscc));
                break;
            case LDR_RECORD_CLOCK_TICK:
                json_object_set_new(o, "source", jstr(rec.u.tick.source));
                break;
            default: break;
            }
        }
        char *line = json_dumps(o, JSON_COMPACT);
        puts(line);
        free(line);
        json_decref(o);
        rd_kafka_message_destroy(m);
    }
    if (at_eof < partitions) {
        fprintf(stderr,
                "feed_readback: only %d of %d partitions read to "
                "their end\n",
                at_eof, partitions);
        rc = 1;
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    ldr_codec_destroy(codec);
    ldr_schemas_destroy(schemas);
    return rc;
}
