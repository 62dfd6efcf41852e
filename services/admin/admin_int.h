/* admin_int.h -- ladder-admin's shared types and helpers.
 *
 * DESIGN: ladder-admin is one table of subcommands (main.c), each in a
 * file of its own that exports one adm_cmd_t. A subcommand gets the
 * options every subcommand shares (--config, --json, --help) through
 * adm_common_opt(), and the clients it needs (the store, a Kafka handle)
 * from the helpers below, which build them from the same configuration as
 * the services: the file, then the LADDER_* variables. A new subcommand
 * (dlq, export) is a new file and one line in main.c's table.
 *
 * Exit statuses (docs/ADMIN.md): ADM_EXIT_OK; ADM_EXIT_FAILED when a check
 * fails, an operation is refused or what was asked for does not exist;
 * ADM_EXIT_USAGE for bad usage or configuration; ADM_EXIT_UNREACHABLE when
 * Kafka or Redis cannot be reached (check reports that as a failed check).
 * Private to services/admin: nothing outside includes it. */
#ifndef LADDER_ADMIN_INT_H
#define LADDER_ADMIN_INT_H

#include <getopt.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ladder/config.h"
#include "ladder/store.h"

enum {
    ADM_EXIT_OK = 0,
    ADM_EXIT_FAILED = 1,
    ADM_EXIT_USAGE = 2,
    ADM_EXIT_UNREACHABLE = 3,
};

/* How long a Kafka or Redis request may take, by default (--timeout-ms). */
#define ADM_TIMEOUT_MS 5000

/* What every subcommand shares: the options and the clients, made when
 * first needed and destroyed by adm_fini(). */
typedef struct adm {
    const char *config_path; /* --config; NULL: none */
    bool json;               /* --json */
    int timeout_ms;          /* --timeout-ms */
    ldr_config_t *cfg;
    ldr_store_t *store;
    rd_kafka_t *rk;
} adm_t;

/* One subcommand. */
typedef struct adm_cmd {
    const char *name;
    const char *args;    /* the usage after the name: "USCC" */
    const char *summary; /* one line, for ladder-admin --help */
    const char *help;    /* its --help after the "Usage:" line */
    /* Runs it; argv[0] is its name. Returns an exit status. */
    int (*run)(adm_t *a, int argc, char **argv);
} adm_cmd_t;

extern const adm_cmd_t adm_check_cmd;
extern const adm_cmd_t adm_dlq_cmd;
extern const adm_cmd_t adm_enterprise_cmd;
extern const adm_cmd_t adm_partition_cmd;
extern const adm_cmd_t adm_rebuild_cmd;
extern const adm_cmd_t adm_export_cmd;

/* The long options every subcommand accepts (--config, --json, --help,
 * --timeout-ms), to append to its own: ADM_COMMON_OPTS inside its table. */
#define ADM_OPT_CONFIG  0x100
#define ADM_OPT_JSON    0x101
#define ADM_OPT_HELP    0x102
#define ADM_OPT_TIMEOUT 0x103
#define ADM_COMMON_OPTS                                                        \
    {"config", required_argument, NULL, ADM_OPT_CONFIG},                       \
        {"json", no_argument, NULL, ADM_OPT_JSON},                             \
        {"help", no_argument, NULL, ADM_OPT_HELP}, {                           \
        "timeout-ms", required_argument, NULL, ADM_OPT_TIMEOUT                 \
    }

/* Handles getopt_long()'s answer @p c when it is a common option (or an
 * unknown one): returns -1 when @p c is the subcommand's own, else an exit
 * status to return now (0 after --help) or ADM_CONTINUE. */
#define ADM_CONTINUE (-2)
int adm_common_opt(adm_t *a, const adm_cmd_t *cmd, int c);

/* Prints "Usage: ..." and @p cmd's help on @p f. */
void adm_usage(const adm_cmd_t *cmd, FILE *f);
/* "ladder-admin NAME: MSG" on stderr, and ADM_EXIT_USAGE. */
int adm_usage_error(const adm_cmd_t *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The configuration (loaded on first use); NULL with @p err set. */
ldr_config_t *adm_config(adm_t *a, char *err, size_t n);
/* The store (connected on first use: loads the ladder functions); NULL
 * with @p err set. */
ldr_store_t *adm_store(adm_t *a, char *err, size_t n);
/* A Kafka handle of the worker's group.id that never joins the group nor
 * commits: for metadata, log bounds and the group's committed offsets.
 * NULL with @p err set. */
rd_kafka_t *adm_kafka(adm_t *a, char *err, size_t n);
void adm_fini(adm_t *a);

/* The partition count of @p topic, -1 with @p err set (unreachable or no
 * such topic; *@p missing tells which when not NULL). */
int adm_topic_partitions(adm_t *a, const char *topic, bool *missing, char *err,
                         size_t n);
/* The first (@p end false) or next (@p end true) offset of input
 * partition @p partition: offsets_for_times with RD_KAFKA_OFFSET_BEGINNING
 * or _END, as the log start is what a rebuild depends on. */
int adm_log_bound(adm_t *a, int partition, bool end, int64_t *offset, char *err,
                  size_t n);
/* The input partition of @p uscc: murmur2_random over the partition count
 * the workers recorded in Redis, or else the input topic's. */
int adm_uscc_partition(adm_t *a, const char *uscc, char *err, size_t n);
/* Parses a partition number; -1 when @p s is not one. */
int adm_parse_partition(const char *s);

/* The text of a time for humans and JSON: RFC 3339, or "-" / null for 0. */
const char *adm_time(int64_t ms, char *buf, size_t n);
json_t *adm_time_json(int64_t ms);
/* Writes @p j (stolen) as one line on stdout. */
void adm_json_print(json_t *j);

#endif
