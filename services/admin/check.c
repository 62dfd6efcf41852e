/* check.c -- ladder-admin check: is the configuration good, and can the
 * stack be reached as the services would reach it?
 *
 * DESIGN: one line per check, each saying what was found and, when it
 * failed, how to fix it, so that an operator reads the first FAIL and
 * knows what to do. The checks after an unreachable dependency that need
 * it are not run (their lines would only repeat the cause). Kafka: the
 * cluster answers metadata, and the three topics exist (with their
 * partition counts). Redis: the store connects as the worker does (which
 * loads the ladder functions on every master), then every master answers
 * PING, holds the functions and, in a cluster, reports cluster_state:ok.
 * Then the partition count the workers recorded in Redis must be the
 * input topic's, or enterprises would be looked up in the wrong
 * partition. Last, with schema.registry.url set, the schema registry must
 * answer GET /subjects with the configured credentials and CA (the line
 * says how many subjects it has and how many are ladder's records); no
 * line without it, since the local ids need nothing. */
#include "admin_int.h"

#include "ladder/alloc.h"
#include "ladder/redis.h"
#include "ladder/registry.h"

#include <stdio.h>
#include <string.h>

typedef struct chk {
    adm_t *a;
    json_t *checks; /* --json */
    int failed;
} chk_t;

/* Reports one check; @p fix is what to do when it failed (NULL: none). */
static void chk_line(chk_t *k, const char *name, bool ok, const char *detail,
                     const char *fix) {
    if (!ok) k->failed++;
    if (k->a->json) {
        json_t *j = json_object();
        json_object_set_new(j, "check", json_string(name));
        json_object_set_new(j, "ok", json_boolean(ok));
        json_object_set_new(j, "detail", json_string(detail));
        json_object_set_new(j, "fix",
                            ok || !fix ? json_null() : json_string(fix));
        json_array_append_new(k->checks, j);
        return;
    }
    printf("%-4s %s: %s%s%s\n", ok ? "ok" : "FAIL", name, detail,
           !ok && fix ? "; fix: " : "", !ok && fix ? fix : "");
}

static void chk_node(void *opaque, const char *node, const char *what, bool ok,
                     const char *detail) {
    char name[400], fix[400];
    snprintf(name, sizeof(name), "redis %s %s", node, what);
    if (strcmp(what, "ping") == 0)
        snprintf(fix, sizeof(fix),
                 "start the Redis master at %s, or correct "
                 "redis.url",
                 node);
    else if (strcmp(what, "functions") == 0)
        snprintf(fix, sizeof(fix),
                 "the store loads them on connect: look for a FUNCTION LOAD "
                 "error (Redis 7 is required, and scripts must be allowed)");
    else
        snprintf(fix, sizeof(fix),
                 "every slot needs a master that answers: redis-cli --cluster "
                 "check %s, then fix or fail over the missing nodes",
                 node);
    chk_line(opaque, name, ok, detail, fix);
}

/* The Redis URL without its userinfo, for messages. */
static void chk_redis_where(const char *url, char *buf, size_t n) {
    const char *at = url ? strrchr(url, '@') : NULL;
    snprintf(buf, n, "%s%s", at ? "redis://" : "",
             at    ? at + 1
             : url ? url
                   : "");
}

/* Kafka: the cluster, then the topics. Returns the input topic's partition
 * count (-1 when unknown). */
static int chk_kafka(chk_t *k, adm_t *a, const ldr_config_t *cfg) {
    char err[1024], detail[1200], fix[600];
    const char *bootstrap = ldr_config_get(cfg, "kafka.bootstrap.servers");
    bool kafka_up = false;
    if (!bootstrap) {
        chk_line(k, "kafka", false, "kafka.bootstrap.servers is not set",
                 "set LADDER_KAFKA_BOOTSTRAP_SERVERS (or the key in --config); "
                 "for the embedded cluster, start build/bin/ladder-kafka and "
                 "use the list it prints");
    } else if (!adm_kafka(a, err, sizeof(err))) {
        chk_line(k, "kafka", false, err, "correct the kafka.* keys");
    } else {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t kerr =
            rd_kafka_metadata(a->rk, 0, NULL, &md, a->timeout_ms);
        if (kerr) {
            snprintf(detail, sizeof(detail), "%s did not answer metadata: %s",
                     bootstrap, rd_kafka_err2str(kerr));
            chk_line(k, "kafka", false, detail,
                     "start the Kafka cluster, or correct "
                     "kafka.bootstrap.servers");
        } else {
            kafka_up = true;
            snprintf(detail, sizeof(detail), "%s: %d broker(s) answered",
                     bootstrap, md->broker_cnt);
            rd_kafka_metadata_destroy(md);
            chk_line(k, "kafka", true, detail, NULL);
        }
    }
    int input_parts = -1;
    static const char *const topic_keys[] = {"input.topic", "decisions.topic",
                                             "dlq.topic"};
    for (size_t i = 0; kafka_up && i < LDR_ARRAY_SIZE(topic_keys); i++) {
        const char *topic = ldr_config_get(cfg, topic_keys[i]);
        bool missing;
        int parts = adm_topic_partitions(a, topic, &missing, err, sizeof(err));
        char name[300];
        snprintf(name, sizeof(name), "kafka topic %s (%s)", topic,
                 topic_keys[i]);
        if (parts > 0) snprintf(detail, sizeof(detail), "%d partitions", parts);
        if (missing)
            snprintf(fix, sizeof(fix),
                     "create the topic (ladder-kafka creates all three; on a "
                     "real cluster, kafka-topics.sh --create --topic %s), or "
                     "correct %s",
                     topic, topic_keys[i]);
        else
            snprintf(fix, sizeof(fix),
                     "see the error; is the cluster "
                     "healthy?");
        chk_line(k, name, parts > 0, parts > 0 ? detail : err, fix);
        if (i == 0) input_parts = parts;
    }
    return input_parts;
}

/* The partition count the workers recorded against the input topic's. */
static void chk_partitions(chk_t *k, ldr_store_t *s, int input_parts) {
    char err[1024], detail[1200];
    int stored = 0;
    if (ldr_store_get_partitions(s, &stored, err, sizeof(err))) {
        chk_line(k, "partition count", false, err,
                 "see the error; is Redis healthy?");
    } else if (!stored) {
        chk_line(k, "partition count", true,
                 "no worker has recorded one yet (the store is empty)", NULL);
    } else if (input_parts > 0 && stored != input_parts) {
        snprintf(detail, sizeof(detail),
                 "the workers recorded %d partitions, the input topic has "
                 "%d: enterprises are looked up in the wrong partition",
                 stored, input_parts);
        chk_line(k, "partition count", false, detail,
                 "the input topic's partition count must not change; "
                 "restore it, or rebuild the store from a log produced "
                 "with the new count");
    } else {
        snprintf(detail, sizeof(detail), "%d, as the workers recorded it%s",
                 stored, input_parts > 0 ? " and the input topic has" : "");
        chk_line(k, "partition count", true, detail, NULL);
    }
}

/* Redis: connecting loads the functions on every master. */
static void chk_redis(chk_t *k, adm_t *a, const ldr_config_t *cfg,
                      int input_parts) {
    char err[1024], detail[1200], fix[600], where[512];
    chk_redis_where(ldr_config_get(cfg, "redis.url"), where, sizeof(where));
    ldr_store_t *s = adm_store(a, err, sizeof(err));
    if (!s) {
        snprintf(fix, sizeof(fix),
                 "start Redis (7.0 or later) at %s, or correct redis.url "
                 "(and redis.password, redis.cluster)",
                 where);
        chk_line(k, "redis", false, err, fix);
        return;
    }
    snprintf(detail, sizeof(detail), "%s: %s", where,
             ldr_store_clustered(s) ? "a Redis Cluster" : "one server");
    chk_line(k, "redis", true, detail, NULL);
    ldr_store_check(s, chk_node, k);
    chk_partitions(k, s, input_parts);
}

/* The schema registry, when schema.registry.url is set: it answers GET
 * /subjects with the configured credentials and CA, as the producers'
 * registration at start needs. ladder's records not registered yet are no
 * failure: a producer registers them when it starts. */
static void chk_registry(chk_t *k, const ldr_config_t *cfg) {
    const char *url = ldr_config_get(cfg, "schema.registry.url");
    if (!url) return;
    char err[1024], detail[1200], fix[600];
    ldr_registry_t *r = NULL;
    char **subjects = NULL;
    size_t count = 0;
    ldr_err_t e = ldr_registry_from_config(cfg, &r, err, sizeof(err));
    if (e) {
        chk_line(k, "schema registry", false, err,
                 "correct schema.registry.url and "
                 "schema.registry.basic.auth.user.info");
        return;
    }
    e = ldr_registry_subjects(r, &subjects, &count, err, sizeof(err));
    ldr_registry_destroy(r);
    if (e) {
        snprintf(fix, sizeof(fix),
                 e == LDR_ERR_TRANSIENT
                     ? "start the schema registry at %s, or correct "
                       "schema.registry.url (for https, "
                       "schema.registry.ssl.ca.location names the CA)"
                     : "correct schema.registry.basic.auth.user.info (the "
                       "registry at %s refused it), or schema.registry.url",
                 url);
        chk_line(k, "schema registry", false, err, fix);
        return;
    }
    size_t ours = 0;
    for (size_t i = 0; i < count; i++) {
        if (strncmp(subjects[i], "ladder.v1.", 10) == 0) ours++;
        free(subjects[i]);
    }
    free(subjects);
    snprintf(detail, sizeof(detail),
             "%s: %zu subject(s), %zu of them ladder.v1 records%s", url, count,
             ours, ours ? "" : " (producers register them when they start)");
    chk_line(k, "schema registry", true, detail, NULL);
}

static int chk_run(adm_t *a, int argc, char **argv) {
    static const struct option opts[] = {ADM_COMMON_OPTS, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = adm_common_opt(a, &adm_check_cmd, c);
        if (rc != ADM_CONTINUE) return rc < 0 ? ADM_EXIT_USAGE : rc;
    }
    if (optind < argc)
        return adm_usage_error(&adm_check_cmd, "unexpected argument \"%s\"",
                               argv[optind]);
    chk_t k = {a, a->json ? json_array() : NULL, 0};
    char err[1024];
    ldr_config_t *cfg = adm_config(a, err, sizeof(err));
    chk_line(&k, "config", cfg != NULL,
             cfg ? (a->config_path ? a->config_path
                                   : "LADDER_* variables and defaults")
                 : err,
             "correct the key named (docs/CONFIG.md lists every key)");
    if (cfg) {
        int input_parts = chk_kafka(&k, a, cfg);
        chk_redis(&k, a, cfg, input_parts);
        chk_registry(&k, cfg);
    }
    if (a->json) {
        json_t *j = json_object();
        json_object_set_new(j, "ok", json_boolean(!k.failed));
        json_object_set_new(j, "checks", k.checks);
        adm_json_print(j);
    } else if (cfg) {
        printf("%s\n", k.failed ? "FAILED" : "all checks passed");
    }
    if (!cfg) return ADM_EXIT_USAGE;
    return k.failed ? ADM_EXIT_FAILED : ADM_EXIT_OK;
}

const adm_cmd_t adm_check_cmd = {
    .name = "check",
    .args = "",
    .summary = "validate the configuration and reach Kafka, Redis and the "
               "schema registry",
    .help = "Validates the configuration and reaches the stack as the services "
            "do: Kafka\n(metadata; the input, decisions and DLQ topics exist, "
            "with their partition\ncounts), Redis (one server or a cluster: "
            "every master answers PING and\nholds the ladder functions; the "
            "cluster state is ok), the partition count\nthe workers recorded "
            "against the input topic's and, with schema.registry.url\nset, the "
            "schema registry (it lists its subjects). One line per check: "
            "\"ok\" or\n\"FAIL\", "
            "what was found and, for a failure, how to fix it.\n\n"
            "Exit status: 0 every check passed; 1 one failed (Kafka, Redis "
            "or the schema\nregistry unreachable included); 2 bad usage or a "
            "configuration error.\n",
    .run = chk_run,
};
