/* partition.c -- ladder-admin partition N: where one input partition
 * stands, in Redis and in Kafka.
 *
 * DESIGN: Redis holds the truth (owner epoch, next offset, clock, the
 * owner's heartbeat and the sizes of the partition's keys, all read by
 * ldr_store_info); Kafka adds the log's bounds and the group's committed
 * offset, which is only the worker's hint for monitoring (the worker
 * resumes from Redis). The lag is the log's end minus the stored next
 * offset (the log start when nothing is stored), as the worker's own lag
 * gauge computes it. A Kafka that cannot be reached leaves its fields
 * unknown (null) rather than hiding what Redis says. */
#include "admin_int.h"

#include "ladder/clock.h"

#include <stdio.h>
#include <string.h>

static json_t *part_opt(bool known, int64_t v) {
    return known ? json_integer(v) : json_null();
}

static int part_run(adm_t *a, int argc, char **argv) {
    static const struct option opts[] = {ADM_COMMON_OPTS, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = adm_common_opt(a, &adm_partition_cmd, c);
        if (rc != ADM_CONTINUE) return rc < 0 ? ADM_EXIT_USAGE : rc;
    }
    if (argc - optind != 1)
        return adm_usage_error(&adm_partition_cmd, "give one partition number");
    int p = adm_parse_partition(argv[optind]);
    if (p < 0)
        return adm_usage_error(&adm_partition_cmd, "not a partition number: %s",
                               argv[optind]);
    char err[1024];
    ldr_config_t *cfg = adm_config(a, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "ladder-admin: %s\n", err);
        return ADM_EXIT_USAGE;
    }
    const char *topic = ldr_config_get(cfg, "input.topic");
    ldr_store_t *s = adm_store(a, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "ladder-admin partition: %s\n", err);
        return ADM_EXIT_UNREACHABLE;
    }
    /* Kafka: the partition must exist; its bounds and the group's offset. */
    char kafka_err[1024] = "";
    int parts =
        adm_topic_partitions(a, topic, NULL, kafka_err, sizeof(kafka_err));
    if (parts > 0 && p >= parts) {
        fprintf(stderr,
                "ladder-admin partition: %s has %d partitions (0..%d), not "
                "%d\n",
                topic, parts, parts - 1, p);
        return ADM_EXIT_USAGE;
    }
    int64_t lo = -1, hi = -1, committed = -1;
    bool kafka =
        parts > 0 &&
        !adm_log_bound(a, p, false, &lo, kafka_err, sizeof(kafka_err)) &&
        !adm_log_bound(a, p, true, &hi, kafka_err, sizeof(kafka_err));
    bool has_committed = false;
    if (kafka) {
        rd_kafka_topic_partition_list_t *l =
            rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, topic, p);
        rd_kafka_resp_err_t kerr = rd_kafka_committed(a->rk, l, a->timeout_ms);
        if (!kerr) kerr = l->elems[0].err;
        if (kerr)
            snprintf(kafka_err, sizeof(kafka_err), "committed offset: %s",
                     rd_kafka_err2str(kerr));
        else if (l->elems[0].offset >= 0) {
            committed = l->elems[0].offset;
            has_committed = true;
        }
        rd_kafka_topic_partition_list_destroy(l);
    }

    ldr_store_info_t info;
    if (ldr_store_info(s, p, &info, err, sizeof(err))) {
        fprintf(stderr, "ladder-admin partition: %s\n", err);
        return ADM_EXIT_UNREACHABLE;
    }
    int64_t now = ldr_clock_wall_ms();
    bool has_beat = info.heartbeat_ms >= 0;
    int64_t age = has_beat ? now - info.heartbeat_ms : -1;
    bool alive = has_beat && age < LDR_STORE_BEAT_FRESH_MS;
    int64_t from = info.next_offset >= 0 ? info.next_offset : (lo > 0 ? lo : 0);
    int64_t lag = kafka ? (hi > from ? hi - from : 0) : -1;
    const char *group = ldr_config_get(cfg, "group.id");

    if (a->json) {
        json_t *j = json_object();
        json_object_set_new(j, "partition", json_integer(p));
        json_object_set_new(j, "topic", json_string(topic));
        json_object_set_new(j, "owner_epoch", json_integer(info.epoch));
        json_object_set_new(j, "next_offset",
                            part_opt(info.next_offset >= 0, info.next_offset));
        json_object_set_new(j, "clock", adm_time_json(info.clock));
        json_object_set_new(j, "heartbeat_ms",
                            part_opt(has_beat, info.heartbeat_ms));
        json_object_set_new(j, "heartbeat_age_ms", part_opt(has_beat, age));
        json_object_set_new(j, "owner_alive", json_boolean(alive));
        json_object_set_new(j, "enterprises", json_integer(info.enterprises));
        json_object_set_new(j, "timers", json_integer(info.timers));
        json_object_set_new(j, "outbox", json_integer(info.outbox));
        json_object_set_new(j, "notices", json_integer(info.notices));
        json_object_set_new(j, "log_start", part_opt(kafka, lo));
        json_object_set_new(j, "log_end", part_opt(kafka, hi));
        json_object_set_new(j, "group",
                            group ? json_string(group) : json_null());
        json_object_set_new(j, "committed_offset",
                            part_opt(has_committed, committed));
        json_object_set_new(j, "lag", part_opt(kafka, lag));
        json_object_set_new(j, "kafka_error",
                            kafka_err[0] ? json_string(kafka_err)
                                         : json_null());
        adm_json_print(j);
        return ADM_EXIT_OK;
    }
    char t[40];
    printf("partition %d of %s\n", p, topic);
    printf("  owner epoch    %lld%s\n", (long long)info.epoch,
           info.epoch ? "" : " (never claimed)");
    if (info.next_offset >= 0)
        printf("  stored offset  %lld (the next message to apply)\n",
               (long long)info.next_offset);
    else
        printf(
            "  stored offset  none (the next owner replays from offset 0)\n");
    printf("  clock          %s\n", adm_time(info.clock, t, sizeof(t)));
    if (has_beat)
        printf("  heartbeat      %.1f s ago (%s: fresh below %d s)\n",
               (double)age / 1000.0, alive ? "owner alive" : "owner gone",
               LDR_STORE_BEAT_FRESH_MS / 1000);
    else
        printf("  heartbeat      none (no owner since the last rebuild, or "
               "a worker without heartbeats)\n");
    printf("  enterprises    %lld\n", info.enterprises);
    printf("  timers         %lld\n", info.timers);
    printf("  outbox         %lld entries not yet published\n", info.outbox);
    printf("  notices        %lld\n", info.notices);
    if (kafka) {
        printf("  log            offsets %lld to %lld\n", (long long)lo,
               (long long)hi);
        if (has_committed)
            printf("  committed      %lld (group %s; a hint only)\n",
                   (long long)committed, group ? group : "-");
        else
            printf("  committed      none (group %s)%s%s\n",
                   group ? group : "-", kafka_err[0] ? ": " : "", kafka_err);
        printf("  lag            %lld\n", (long long)lag);
    } else {
        printf("  kafka          unknown: %s\n", kafka_err);
    }
    return ADM_EXIT_OK;
}

const adm_cmd_t adm_partition_cmd = {
    .name = "partition",
    .args = "N",
    .summary = "one input partition: owner, offsets, lag, heartbeat",
    .help = "Shows input partition N: from Redis, its owner epoch, the "
            "stored next offset,\nthe event-time clock, the owner's "
            "heartbeat and its age (the owner counts\nas alive below 3 "
            "heartbeat intervals), and the number of enterprises,\ntimers, "
            "unpublished outbox entries and notices; from Kafka, the log's "
            "start\nand end offsets, the group's committed offset (group.id; "
            "a hint only) and\nthe lag (log end minus the stored offset). "
            "When Kafka cannot be reached its\nfields are unknown (null) and "
            "the reason is said.\n\nExit status: 0 shown; 2 bad usage, "
            "configuration, or no such partition;\n3 Redis unreachable.\n",
    .run = part_run,
};
