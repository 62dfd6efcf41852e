/* ladder-admin -- the operator's tool: check the stack, show what the
 * workers stored, rebuild a partition, list and replay dead letters.
 *
 * DESIGN: one table of subcommands, each a file of its own (admin_int.h),
 * so that a new one (dlq, export) is a file and a line here. The tool
 * reads the same configuration as the services (--config FILE, then the
 * LADDER_* variables), so an operator points it at a stack exactly as the
 * workers are pointed; it joins no consumer group and commits nothing. Two
 * subcommands write: rebuild, through the store's one atomic call
 * (ldr_store_rebuild), and dlq replay, which produces dead letters back to
 * the input topic and keeps its ledger in the store (dlq.c). Clients are
 * made when a subcommand first needs them, so --help and usage errors
 * never wait on a network.
 * Every subcommand writes one answer to stdout (with --json, one JSON
 * object) and its exit status says how it went (docs/ADMIN.md). */
#include "admin_int.h"

#include "ladder/alloc.h"
#include "ladder/clock.h"
#include "ladder/kafka.h"
#include "ladder/log.h"
#include "ladder/svc.h"
#include "ladder/time.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADM_PROGRAM "ladder-admin"

/* The subcommands, in the order --help lists them: one per line. */
// clang-format off
static const adm_cmd_t *const adm_cmds[] = {
    &adm_check_cmd,
    &adm_enterprise_cmd,
    &adm_partition_cmd,
    &adm_dlq_cmd,
    &adm_rebuild_cmd,
    &adm_export_cmd,
};
// clang-format on

static void adm_main_usage(FILE *f) {
    fprintf(f,
            "Usage: " ADM_PROGRAM " [--config FILE] [--json] COMMAND [ARG]...\n"
            "The operator's tool: checks the stack, shows what the workers "
            "stored,\nrebuilds a partition, lists and replays dead letters. "
            "Reads the\nservices' configuration: --config FILE, then the "
            "LADDER_* variables\n(docs/CONFIG.md).\n\nCommands:\n");
    for (size_t i = 0; i < LDR_ARRAY_SIZE(adm_cmds); i++)
        fprintf(f, "  %-11s %s\n", adm_cmds[i]->name, adm_cmds[i]->summary);
    fprintf(f,
            "\nOptions (also after the command):\n"
            "  --config FILE     the configuration file\n"
            "  --json            one JSON object on stdout instead of text\n"
            "  --timeout-ms MS   how long a Kafka or Redis request may take "
            "(%d)\n"
            "  --help            this help; COMMAND --help: the command's\n"
            "  --version         the version, its commit, the libraries\n\n"
            "Exit status: 0 ok; 1 a check failed, the operation was refused "
            "or what was\nasked for does not exist; 2 bad usage or "
            "configuration; 3 Kafka or Redis\ncould not be reached. "
            "docs/ADMIN.md has the details.\n",
            ADM_TIMEOUT_MS);
}

void adm_usage(const adm_cmd_t *cmd, FILE *f) {
    fprintf(f, "Usage: " ADM_PROGRAM " %s [OPTION]... %s\n%s", cmd->name,
            cmd->args, cmd->help);
    fprintf(f,
            "\nCommon options:\n"
            "  --config FILE     the configuration file (then LADDER_*)\n"
            "  --json            one JSON object on stdout instead of text\n"
            "  --timeout-ms MS   how long a Kafka or Redis request may take "
            "(%d)\n"
            "  --help            this help\n\n"
            "Exit status: 0 ok; 1 failed or refused; 2 bad usage or "
            "configuration;\n3 Kafka or Redis unreachable (docs/ADMIN.md).\n",
            ADM_TIMEOUT_MS);
}

int adm_usage_error(const adm_cmd_t *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, ADM_PROGRAM "%s%s: ", cmd ? " " : "", cmd ? cmd->name : "");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see --help)\n");
    va_end(ap);
    return ADM_EXIT_USAGE;
}

int adm_common_opt(adm_t *a, const adm_cmd_t *cmd, int c) {
    switch (c) {
    case ADM_OPT_CONFIG: a->config_path = optarg; return ADM_CONTINUE;
    case ADM_OPT_JSON: a->json = true; return ADM_CONTINUE;
    case ADM_OPT_HELP:
        if (cmd)
            adm_usage(cmd, stdout);
        else
            adm_main_usage(stdout);
        return ADM_EXIT_OK;
    case ADM_OPT_TIMEOUT: {
        char *end;
        errno = 0;
        long v = strtol(optarg, &end, 10);
        if (errno || end == optarg || *end || v < 1 || v > 600000)
            return adm_usage_error(cmd, "--timeout-ms: not 1..600000: %s",
                                   optarg);
        a->timeout_ms = (int)v;
        return ADM_CONTINUE;
    }
    case '?': return ADM_EXIT_USAGE; /* getopt said what */
    default: return -1;
    }
}

/* ---- clients ------------------------------------------------------------- */

ldr_config_t *adm_config(adm_t *a, char *err, size_t n) {
    if (!a->cfg)
        a->cfg = ldr_svc_config_load(ADM_PROGRAM, a->config_path, err, n);
    return a->cfg;
}

ldr_store_t *adm_store(adm_t *a, char *err, size_t n) {
    if (a->store) return a->store;
    ldr_config_t *cfg = adm_config(a, err, n);
    if (!cfg) return NULL;
    a->store = ldr_store_new(
        ldr_config_get(cfg, "redis.url"), ldr_config_get(cfg, "redis.password"),
        ldr_config_get(cfg, "redis.cluster"), a->timeout_ms, err, n);
    return a->store;
}

rd_kafka_t *adm_kafka(adm_t *a, char *err, size_t n) {
    if (a->rk) return a->rk;
    ldr_config_t *cfg = adm_config(a, err, n);
    if (!cfg) return NULL;
    if (!ldr_config_get(cfg, "kafka.bootstrap.servers")) {
        snprintf(err, n,
                 "kafka.bootstrap.servers is not set (LADDER_KAFKA_BOOTSTRAP_"
                 "SERVERS or --config FILE)");
        return NULL;
    }
    /* Set after the kafka.* keys, so that they win: the tool reads the
     * group's offsets and never commits; its own report says what failed,
     * so librdkafka's connection errors stay out of stderr. */
    static const ldr_kafka_prop_t props[] = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"log_level", "2"},
    };
    rd_kafka_conf_t *conf =
        ldr_kafka_conf_new(cfg, LDR_KAFKA_CONSUMER, NULL, 0, err, n);
    if (!conf) return NULL;
    if (ldr_kafka_conf_set(conf, props, LDR_ARRAY_SIZE(props), err, n)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    a->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, n);
    if (!a->rk) rd_kafka_conf_destroy(conf); /* still ours on failure */
    return a->rk;
}

void adm_fini(adm_t *a) {
    if (a->rk) rd_kafka_destroy(a->rk);
    ldr_store_destroy(a->store);
    ldr_config_destroy(a->cfg);
}

int adm_topic_partitions(adm_t *a, const char *topic, bool *missing, char *err,
                         size_t n) {
    if (missing) *missing = false;
    rd_kafka_t *rk = adm_kafka(a, err, n);
    if (!rk) return -1;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t kerr =
        rd_kafka_metadata(rk, 0, rkt, &md, a->timeout_ms);
    rd_kafka_topic_destroy(rkt);
    if (kerr) {
        snprintf(err, n, "metadata of %s: %s", topic, rd_kafka_err2str(kerr));
        return -1;
    }
    int count = -1;
    if (md->topic_cnt != 1 || md->topics[0].err) {
        kerr = md->topic_cnt == 1 ? md->topics[0].err
                                  : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        snprintf(err, n, "topic %s: %s", topic, rd_kafka_err2str(kerr));
        if (missing) *missing = kerr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    } else if (md->topics[0].partition_cnt <= 0) {
        snprintf(err, n, "topic %s has no partitions", topic);
        if (missing) *missing = true;
    } else {
        count = md->topics[0].partition_cnt;
    }
    rd_kafka_metadata_destroy(md);
    return count;
}

int adm_log_bound(adm_t *a, int partition, bool end, int64_t *offset, char *err,
                  size_t n) {
    rd_kafka_t *rk = adm_kafka(a, err, n);
    if (!rk) return -1;
    const char *topic = ldr_config_get(a->cfg, "input.topic");
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    /* The "timestamp" BEGINNING asks for the log start offset, END for the
     * next offset: one ListOffsets request, which the embedded cluster
     * answers too (it has no lookup by time). */
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset =
        end ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t kerr = rd_kafka_offsets_for_times(rk, l, a->timeout_ms);
    if (!kerr) kerr = l->elems[0].err;
    if (!kerr) *offset = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    if (kerr) {
        snprintf(err, n, "%s offset of %s/%d: %s", end ? "end" : "start", topic,
                 partition, rd_kafka_err2str(kerr));
        return -1;
    }
    return 0;
}

int adm_uscc_partition(adm_t *a, const char *uscc, char *err, size_t n) {
    ldr_store_t *s = adm_store(a, err, n);
    if (!s) return -1;
    int parts = 0;
    if (ldr_store_get_partitions(s, &parts, err, n)) return -1;
    if (parts <= 0) {
        parts = adm_topic_partitions(a, ldr_config_get(a->cfg, "input.topic"),
                                     NULL, err, n);
        if (parts < 0) return -1;
    }
    return (int)ldr_kafka_partition_for_key(uscc, strlen(uscc), parts);
}

int adm_parse_partition(const char *s) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 1000000) return -1;
    return (int)v;
}

const char *adm_time(int64_t ms, char *buf, size_t n) {
    if (!ms)
        snprintf(buf, n, "-");
    else
        ldr_time_format(ms, buf, n);
    return buf;
}

json_t *adm_time_json(int64_t ms) {
    if (!ms) return json_null();
    char buf[40];
    ldr_time_format(ms, buf, sizeof(buf));
    return json_string(buf);
}

void adm_json_print(json_t *j) {
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    puts(text);
    free(text);
    json_decref(j);
}

int main(int argc, char **argv) {
    static const struct option opts[] = {ADM_COMMON_OPTS, {NULL, 0, NULL, 0}};
    adm_t a = {.timeout_ms = ADM_TIMEOUT_MS};
    ldr_log_set_program(ADM_PROGRAM);
    if (ldr_svc_version(ADM_PROGRAM, argc, argv)) return ADM_EXIT_OK;
    int c;
    /* "+": stop at the command; its own options follow it. */
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        int rc = adm_common_opt(&a, NULL, c);
        if (rc != ADM_CONTINUE) return rc < 0 ? ADM_EXIT_USAGE : rc;
    }
    if (optind >= argc) {
        adm_main_usage(stderr);
        return ADM_EXIT_USAGE;
    }
    const adm_cmd_t *cmd = NULL;
    for (size_t i = 0; i < LDR_ARRAY_SIZE(adm_cmds) && !cmd; i++)
        if (strcmp(adm_cmds[i]->name, argv[optind]) == 0) cmd = adm_cmds[i];
    if (!cmd)
        return adm_usage_error(NULL, "unknown command \"%s\"", argv[optind]);
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    optind = 0; /* glibc: start over on the command's arguments */
    int rc = cmd->run(&a, sub_argc, sub_argv);
    adm_fini(&a);
    return rc;
}
