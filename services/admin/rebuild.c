/* rebuild.c -- ladder-admin rebuild --partition N [--force]: drop a
 * partition's state so that its owner replays it from the input log.
 *
 * DESIGN: a partition's state is a function of its whole input log, so a
 * rebuild is safe exactly when the log still starts at offset 0 (the
 * worker refuses to rebuild from a log whose head is gone, and stops with
 * exit status 3: docs/OPERATIONS.md), and the tool checks that first. The
 * drop itself is one Redis function call (ldr_store_rebuild): it bumps the
 * owner epoch, so a running owner's next step is fenced and the owner
 * reloads the now empty partition and replays it from offset 0, and it
 * deletes everything else. The epoch says who claimed last, not who is
 * alive, so the same call refuses while the owner's heartbeat is fresh
 * (younger than LDR_STORE_BEAT_FRESH_MS), checked atomically with the
 * drop; --force skips that check (the running owner then replays the
 * partition from its next batch on), never the log check. */
#include "admin_int.h"

#include "ladder/clock.h"

#include <stdio.h>
#include <string.h>

#define RB_OPT_PARTITION 'p'
#define RB_OPT_FORCE     'f'

/* Prints the outcome (text or JSON) and returns @p status. */
static int rb_report(adm_t *a, int p, const char *outcome, int64_t epoch,
                     int64_t log_start, int64_t log_end, int64_t beat_age,
                     const char *why, int status) {
    if (a->json) {
        json_t *j = json_object();
        json_object_set_new(j, "partition", json_integer(p));
        json_object_set_new(j, "outcome", json_string(outcome));
        json_object_set_new(j, "owner_epoch",
                            epoch > 0 ? json_integer(epoch) : json_null());
        json_object_set_new(j, "log_start",
                            log_start >= 0 ? json_integer(log_start)
                                           : json_null());
        json_object_set_new(j, "log_end",
                            log_end >= 0 ? json_integer(log_end) : json_null());
        json_object_set_new(j, "heartbeat_age_ms",
                            beat_age >= 0 ? json_integer(beat_age)
                                          : json_null());
        json_object_set_new(j, "message", json_string(why));
        adm_json_print(j);
    } else {
        printf("partition %d: %s\n", p, why);
    }
    return status;
}

static int rb_run(adm_t *a, int argc, char **argv) {
    static const struct option opts[] = {
        {"partition", required_argument, NULL, RB_OPT_PARTITION},
        {"force", no_argument, NULL, RB_OPT_FORCE},
        ADM_COMMON_OPTS,
        {NULL, 0, NULL, 0}};
    int c, p = -1;
    bool force = false;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = adm_common_opt(a, &adm_rebuild_cmd, c);
        if (rc == -1 && c == RB_OPT_PARTITION) {
            p = adm_parse_partition(optarg);
            if (p < 0)
                return adm_usage_error(&adm_rebuild_cmd,
                                       "--partition: not a partition number: "
                                       "%s",
                                       optarg);
        } else if (rc == -1 && c == RB_OPT_FORCE) {
            force = true;
        } else if (rc != ADM_CONTINUE) {
            return rc < 0 ? ADM_EXIT_USAGE : rc;
        }
    }
    if (optind < argc)
        return adm_usage_error(&adm_rebuild_cmd, "unexpected argument \"%s\"",
                               argv[optind]);
    if (p < 0)
        return adm_usage_error(&adm_rebuild_cmd, "--partition is required");
    char err[1024], why[1500];
    ldr_config_t *cfg = adm_config(a, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "ladder-admin: %s\n", err);
        return ADM_EXIT_USAGE;
    }
    const char *topic = ldr_config_get(cfg, "input.topic");
    int parts = adm_topic_partitions(a, topic, NULL, err, sizeof(err));
    if (parts < 0) {
        fprintf(stderr,
                "ladder-admin rebuild: %s (the log start must be known before "
                "a rebuild)\n",
                err);
        return ADM_EXIT_UNREACHABLE;
    }
    if (p >= parts) {
        fprintf(stderr,
                "ladder-admin rebuild: %s has %d partitions (0..%d), not %d\n",
                topic, parts, parts - 1, p);
        return ADM_EXIT_USAGE;
    }
    int64_t lo, hi;
    if (adm_log_bound(a, p, false, &lo, err, sizeof(err)) ||
        adm_log_bound(a, p, true, &hi, err, sizeof(err))) {
        fprintf(stderr, "ladder-admin rebuild: %s\n", err);
        return ADM_EXIT_UNREACHABLE;
    }
    if (lo > 0) {
        snprintf(why, sizeof(why),
                 "refused: the input log %s/%d starts at offset %lld, not 0 "
                 "(its first %lld messages are gone), so the state cannot be "
                 "rebuilt from it; nothing was changed (docs/OPERATIONS.md, "
                 "recovering from a lost Redis)",
                 topic, p, (long long)lo, (long long)lo);
        return rb_report(a, p, "refused_log_head_gone", 0, lo, hi, -1, why,
                         ADM_EXIT_FAILED);
    }
    ldr_store_t *s = adm_store(a, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "ladder-admin rebuild: %s\n", err);
        return ADM_EXIT_UNREACHABLE;
    }
    int64_t now = ldr_clock_wall_ms(), epoch = 0, beat = -1;
    ldr_err_t rc =
        ldr_store_rebuild(s, p, force ? -1 : now - LDR_STORE_BEAT_FRESH_MS,
                          &epoch, &beat, err, sizeof(err));
    if (rc == LDR_ERR_FENCED) {
        int64_t age = beat >= 0 ? now - beat : -1;
        snprintf(why, sizeof(why),
                 "refused: its owner is alive (heartbeat %.1f s ago, fresh "
                 "below %d s); stop the worker that owns it (or wait until the "
                 "group moves it) and run this again, or give --force to "
                 "rebuild under the running owner; nothing was changed",
                 (double)age / 1000.0, LDR_STORE_BEAT_FRESH_MS / 1000);
        return rb_report(a, p, "refused_owner_alive", 0, lo, hi, age, why,
                         ADM_EXIT_FAILED);
    }
    if (rc) {
        fprintf(stderr, "ladder-admin rebuild: %s\n", err);
        return rc == LDR_ERR_TRANSIENT ? ADM_EXIT_UNREACHABLE : ADM_EXIT_FAILED;
    }
    snprintf(why, sizeof(why),
             "rebuilt: its state was dropped and the owner epoch is now %lld; "
             "the worker that claims it next replays offsets %lld to %lld%s",
             (long long)epoch, (long long)lo, (long long)hi,
             force ? " (a running owner is fenced at its next batch and "
                     "replays it)"
                   : "");
    return rb_report(a, p, "rebuilt", epoch, lo, hi, -1, why, ADM_EXIT_OK);
}

const adm_cmd_t adm_rebuild_cmd = {
    .name = "rebuild",
    .args = "--partition N [--force]",
    .summary = "drop a partition's state so that it is replayed from the log",
    .help =
        "Drops input partition N's state in Redis (enterprises, timers, "
        "counters,\noutbox, notices, stored offset and clock) and bumps its "
        "owner epoch, in one\natomic call, so that the worker that claims it "
        "next replays the input log\nfrom offset 0 and reaches the same "
        "state again.\n\nRefused (nothing changed, exit status 1):\n"
        "  - when the input log no longer starts at offset 0 (its head was "
        "evicted\n    or deleted): the state could not be rebuilt from it;\n"
        "  - while the partition's owner is alive: its heartbeat is younger "
        "than\n    3 intervals. Stop the worker first, or give --force.\n\n"
        "  --partition N   the input partition (required)\n"
        "  --force         rebuild even while the owner's heartbeat is fresh; "
        "the\n                  running owner is fenced at its next batch "
        "and replays\n                  the partition (never overrides the "
        "log check)\n\n"
        "Exit status: 0 rebuilt; 1 refused; 2 bad usage, configuration, or "
        "no such\npartition; 3 Kafka or Redis unreachable.\n",
    .run = rb_run,
};
