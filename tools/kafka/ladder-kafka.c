/* ladder-kafka.c -- the embedded Kafka cluster (librdkafka's mock cluster)
 * as a process.
 *
 * DESIGN: the mock cluster lives inside a librdkafka client handle, so a
 * program that wants an embedded Kafka either links it in (and dies with it)
 * or talks to this process over TCP like it would to a real cluster. This
 * process creates the cluster and every topic before it says anything, then
 * announces the bootstrap list exactly once: in the bootstrap file (written
 * to a temporary name and renamed, so a reader never sees half a line) and
 * then as the first line on stdout. Whoever sees either can connect at once;
 * the control FIFO, when asked for, is open before the announcement too, so
 * a fault injected right after start-up is never lost and never creates a
 * regular file by accident. Everything else goes to stderr. The main thread
 * only waits in poll() on a self-pipe fed by the signal handler and on the
 * FIFO; the mock brokers run on librdkafka's own threads. Lifetime is tied
 * to SIGTERM/SIGINT only (and, with --die-with-parent, to the parent through
 * PR_SET_PDEATHSIG), never to stdin, so a fixture may close every pipe.
 * Control commands are checked before they reach the mock: it silently
 * auto-creates unknown topics and accepts impossible partition counts, so a
 * typo must be an error here rather than a new topic there. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "ladder/version.h"

/* --version prints what every ladder program prints (version.h). This
 * program links only librdkafka and libladder's base, so the hiredis
 * version comes from its header alone, and Avro-C's from pkg-config. */
#ifndef LADDER_AVRO_VERSION
#define LADDER_AVRO_VERSION "unknown"
#endif
#define KAFKA_STR_(x) #x
#define KAFKA_STR(x)  KAFKA_STR_(x)
#define KAFKA_HIREDIS_VERSION                                                  \
    KAFKA_STR(HIREDIS_MAJOR)                                                   \
    "." KAFKA_STR(HIREDIS_MINOR) "." KAFKA_STR(HIREDIS_PATCH)

#define PROG "ladder-kafka"

#define EXIT_FAILURE_STARTUP 1
#define EXIT_USAGE           2

#define BROKERS_DEFAULT     3
#define BROKERS_MAX         64
#define PARTITIONS_DEFAULT  8
#define PARTITIONS_MAX      10000
#define REPLICATION_DEFAULT 3
#define TOPICS_DEFAULT      "ladder.events.v1,ladder.decisions.v1,ladder.dlq.v1"
#define TOPICS_MAX          64
#define TOPIC_NAME_MAX      249 /* Kafka's own limit */
#define CONTROL_LINE_MAX    1024
#define CONTROL_ARGS_MAX    8
#define ERRORS_COUNT_MAX    100000
#define RTT_MS_MAX          3600000

struct options {
    int brokers;
    int partitions;
    int replication;
    char *topics[TOPICS_MAX]; /* point into topics_buf */
    int topic_cnt;
    char *topics_buf;
    const char *bootstrap_file;
    const char *control_fifo;
    int die_with_parent;
};

/* What a control command may touch. */
struct cluster {
    rd_kafka_mock_cluster_t *mcluster;
    const struct options *opts;
};

/* The control FIFO's reader. wfd is a writer of our own that is never
 * written to: while it is open the reader never sees EOF, so poll() does
 * not spin between two external writers. */
struct control {
    const char *path;
    int created; /* we made the FIFO, so we remove it at exit */
    int rfd;
    int wfd;
    char line[CONTROL_LINE_MAX];
    size_t len;
    int discarding; /* skipping the rest of an over-long line */
};

/* ------------------------------------------------------------------------ */
/* Numbers */

/* Parses all of @p s as a decimal integer from @p min to @p max. Returns 0
 * and sets *out, or -1 and leaves *out untouched. Leading blanks, empty
 * strings, trailing garbage and overflow are all refused. */
static int parse_long(const char *s, long min, long max, long *out) {
    char *end;
    long v;

    if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) return -1;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Options */

static void usage_hint(void) {
    fprintf(stderr, "Try '" PROG " --help' for more information.\n");
}

static int option_int(const char *name, const char *arg, long min, long max,
                      int *out) {
    long v;

    if (parse_long(arg, min, max, &v) != 0) {
        fprintf(stderr, PROG ": %s: '%s' is not an integer from %ld to %ld\n",
                name, arg, min, max);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Kafka topic names: 1 to 249 of [A-Za-z0-9._-], and not "." or "..". */
static int topic_name_valid(const char *name) {
    size_t n = strlen(name);

    if (n == 0 || n > TOPIC_NAME_MAX || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-') return 0;
    }
    return 1;
}

/* Splits @p arg at commas into opts->topics. The list keeps one copy of
 * @p arg in opts->topics_buf, freed by options_fini(). */
static int option_topics(struct options *opts, const char *arg) {
    char *p;

    free(opts->topics_buf);
    opts->topics_buf = strdup(arg);
    if (opts->topics_buf == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        abort();
    }
    opts->topic_cnt = 0;
    p = opts->topics_buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma != NULL) *comma = '\0';
        if (!topic_name_valid(p)) {
            fprintf(stderr,
                    PROG ": --topics: '%s' is not a topic name (1 to %d of "
                         "A-Z a-z 0-9 . _ -, separated by commas)\n",
                    p, TOPIC_NAME_MAX);
            return -1;
        }
        for (int i = 0; i < opts->topic_cnt; i++) {
            if (strcmp(opts->topics[i], p) == 0) {
                fprintf(stderr, PROG ": --topics: '%s' is listed twice\n", p);
                return -1;
            }
        }
        if (opts->topic_cnt == TOPICS_MAX) {
            fprintf(stderr, PROG ": --topics: more than %d topics\n",
                    TOPICS_MAX);
            return -1;
        }
        opts->topics[opts->topic_cnt++] = p;
        if (comma == NULL) break;
        p = comma + 1;
    }
    return 0;
}

static void options_fini(struct options *opts) {
    free(opts->topics_buf);
    opts->topics_buf = NULL;
    opts->topic_cnt = 0;
}

/* ------------------------------------------------------------------------ */
/* Control commands */

struct api_key_name {
    const char *name;
    int16_t key;
};

/* Kafka API keys that the mock implements and that are worth failing. */
static const struct api_key_name api_key_names[] = {
    {"Produce", 0},          {"Fetch", 1},
    {"ListOffsets", 2},      {"Metadata", 3},
    {"OffsetCommit", 8},     {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},
    {"Heartbeat", 12},       {"LeaveGroup", 13},
    {"SyncGroup", 14},       {"ApiVersions", 18},
    {"InitProducerId", 22},  {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25}, {"EndTxn", 26},
    {"TxnOffsetCommit", 28},
};

static int parse_api_key(const char *s, int16_t *out, char *errstr,
                         size_t errstr_size) {
    long v;

    for (size_t i = 0; i < sizeof(api_key_names) / sizeof(api_key_names[0]);
         i++) {
        if (strcasecmp(s, api_key_names[i].name) == 0) {
            *out = api_key_names[i].key;
            return 0;
        }
    }
    if (parse_long(s, 0, INT16_MAX, &v) == 0) {
        *out = (int16_t)v;
        return 0;
    }
    snprintf(errstr, errstr_size,
             "REQUEST_TYPE '%s' is neither a Kafka API key from 0 to %d nor "
             "a request name such as Produce",
             s, INT16_MAX);
    return -1;
}

/* An error code is a number or a librdkafka name (NOT_LEADER_FOR_PARTITION,
 * _TRANSPORT), and must be one that librdkafka knows: the client under test
 * would otherwise see a code that no real broker sends. */
static int parse_err_code(const char *s, rd_kafka_resp_err_t *out, char *errstr,
                          size_t errstr_size) {
    const struct rd_kafka_err_desc *descs;
    size_t cnt;
    long v;
    int numeric = parse_long(s, INT_MIN, INT_MAX, &v) == 0;

    rd_kafka_get_err_descs(&descs, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        if (descs[i].name == NULL || descs[i].desc == NULL) continue;
        if ((numeric && (long)descs[i].code == v) ||
            (!numeric && strcasecmp(descs[i].name, s) == 0)) {
            *out = descs[i].code;
            return 0;
        }
    }
    snprintf(errstr, errstr_size,
             "ERROR_CODE '%s' is not a Kafka or librdkafka error code "
             "(a number such as 6 or a name such as NOT_LEADER_FOR_PARTITION)",
             s);
    return -1;
}

static int parse_broker_id(const struct cluster *cl, const char *s,
                           int allow_none, int32_t *out, char *errstr,
                           size_t errstr_size) {
    long v;

    if (parse_long(s, allow_none ? -1 : 1, cl->opts->brokers, &v) != 0 ||
        v == 0) {
        snprintf(errstr, errstr_size,
                 "BROKER_ID '%s' is not a broker of this cluster (1 to %d%s)",
                 s, cl->opts->brokers, allow_none ? ", or -1 for none" : "");
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

/* The mock creates any topic it is told about, so only ours are accepted. */
static int check_topic(const struct cluster *cl, const char *s, char *errstr,
                       size_t errstr_size) {
    for (int i = 0; i < cl->opts->topic_cnt; i++)
        if (strcmp(cl->opts->topics[i], s) == 0) return 0;
    snprintf(errstr, errstr_size, "TOPIC '%s' is not a topic of this cluster",
             s);
    return -1;
}

static int mock_result(rd_kafka_resp_err_t err, char *errstr,
                       size_t errstr_size) {
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
    snprintf(errstr, errstr_size, "%s (%s)", rd_kafka_err2str(err),
             rd_kafka_err2name(err));
    return -1;
}

typedef int command_fn(const struct cluster *cl, char **argv, char *errstr,
                       size_t errstr_size);

static int cmd_broker_down(const struct cluster *cl, char **argv, char *errstr,
                           size_t errstr_size) {
    int32_t id;

    if (parse_broker_id(cl, argv[0], 0, &id, errstr, errstr_size) != 0)
        return -1;
    return mock_result(rd_kafka_mock_broker_set_down(cl->mcluster, id), errstr,
                       errstr_size);
}

static int cmd_broker_up(const struct cluster *cl, char **argv, char *errstr,
                         size_t errstr_size) {
    int32_t id;

    if (parse_broker_id(cl, argv[0], 0, &id, errstr, errstr_size) != 0)
        return -1;
    return mock_result(rd_kafka_mock_broker_set_up(cl->mcluster, id), errstr,
                       errstr_size);
}

static int cmd_rtt(const struct cluster *cl, char **argv, char *errstr,
                   size_t errstr_size) {
    int32_t id;
    long ms;

    if (parse_broker_id(cl, argv[0], 0, &id, errstr, errstr_size) != 0)
        return -1;
    if (parse_long(argv[1], 0, RTT_MS_MAX, &ms) != 0) {
        snprintf(errstr, errstr_size, "MS '%s' is not an integer from 0 to %d",
                 argv[1], RTT_MS_MAX);
        return -1;
    }
    return mock_result(rd_kafka_mock_broker_set_rtt(cl->mcluster, id, (int)ms),
                       errstr, errstr_size);
}

static int cmd_errors(const struct cluster *cl, char **argv, char *errstr,
                      size_t errstr_size) {
    int16_t key;
    long cnt;
    rd_kafka_resp_err_t err;
    rd_kafka_resp_err_t *errs;

    if (parse_api_key(argv[0], &key, errstr, errstr_size) != 0) return -1;
    if (parse_long(argv[1], 1, ERRORS_COUNT_MAX, &cnt) != 0) {
        snprintf(errstr, errstr_size,
                 "COUNT '%s' is not an integer from 1 to %d", argv[1],
                 ERRORS_COUNT_MAX);
        return -1;
    }
    if (parse_err_code(argv[2], &err, errstr, errstr_size) != 0) return -1;
    errs = calloc((size_t)cnt, sizeof(*errs));
    if (errs == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        abort();
    }
    for (long i = 0; i < cnt; i++)
        errs[i] = err;
    rd_kafka_mock_push_request_errors_array(cl->mcluster, key, (size_t)cnt,
                                            errs);
    free(errs);
    return 0;
}

static int cmd_clear_errors(const struct cluster *cl, char **argv, char *errstr,
                            size_t errstr_size) {
    int16_t key;

    if (parse_api_key(argv[0], &key, errstr, errstr_size) != 0) return -1;
    rd_kafka_mock_clear_request_errors(cl->mcluster, key);
    return 0;
}

static int cmd_topic_error(const struct cluster *cl, char **argv, char *errstr,
                           size_t errstr_size) {
    rd_kafka_resp_err_t err;

    if (check_topic(cl, argv[0], errstr, errstr_size) != 0 ||
        parse_err_code(argv[1], &err, errstr, errstr_size) != 0)
        return -1;
    rd_kafka_mock_topic_set_error(cl->mcluster, argv[0], err);
    return 0;
}

static int cmd_leader(const struct cluster *cl, char **argv, char *errstr,
                      size_t errstr_size) {
    long partition;
    int32_t id;

    if (check_topic(cl, argv[0], errstr, errstr_size) != 0) return -1;
    if (parse_long(argv[1], 0, cl->opts->partitions - 1, &partition) != 0) {
        snprintf(errstr, errstr_size,
                 "PARTITION '%s' is not an integer from 0 to %d", argv[1],
                 cl->opts->partitions - 1);
        return -1;
    }
    if (parse_broker_id(cl, argv[2], 1, &id, errstr, errstr_size) != 0)
        return -1;
    return mock_result(rd_kafka_mock_partition_set_leader(
                           cl->mcluster, argv[0], (int32_t)partition, id),
                       errstr, errstr_size);
}

struct command {
    const char *name;
    int argc;
    const char *args;
    const char *doc;
    command_fn *run;
};

/* The one table of commands: the dispatcher and --help both read it. */
static const struct command commands[] = {
    {"broker-down", 1, "ID",
     "disconnect the broker and refuse new connections (leaders stay put)",
     cmd_broker_down},
    {"broker-up", 1, "ID", "let the broker accept connections again",
     cmd_broker_up},
    {"rtt", 2, "ID MS", "delay every response of the broker by MS ms", cmd_rtt},
    {"errors", 3, "REQUEST_TYPE COUNT ERROR_CODE",
     "fail the next COUNT requests of that type, on any broker, "
     "with ERROR_CODE",
     cmd_errors},
    {"clear-errors", 1, "REQUEST_TYPE",
     "drop the errors still queued for that type", cmd_clear_errors},
    {"topic-error", 2, "TOPIC ERROR_CODE",
     "report ERROR_CODE for the topic in Metadata (0 clears it)",
     cmd_topic_error},
    {"leader", 3, "TOPIC PARTITION BROKER_ID",
     "move the partition's leader (-1: no leader)", cmd_leader},
};

#define COMMAND_CNT (sizeof(commands) / sizeof(commands[0]))

/* Copies @p s into @p out for logging, replacing bytes that are not
 * printable ASCII, so a binary line cannot garble the log. */
static void sanitize(const char *s, char *out, size_t out_size) {
    size_t i;

    for (i = 0; s[i] != '\0' && i + 1 < out_size; i++)
        out[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
    out[i] = '\0';
}

/* Runs one line from the FIFO and logs its outcome. A malformed or failing
 * command is reported and ignored: the cluster keeps running. */
static void control_exec(const struct cluster *cl, char *line) {
    char *argv[CONTROL_ARGS_MAX];
    int argc = 0;
    char shown[CONTROL_LINE_MAX];
    char errstr[512];
    const struct command *cmd = NULL;
    char *save = NULL;
    char *tok;
    int too_many = 0;

    errstr[0] = '\0';
    for (tok = strtok_r(line, " \t\r", &save); tok != NULL;
         tok = strtok_r(NULL, " \t\r", &save)) {
        if (argc == CONTROL_ARGS_MAX) {
            too_many = 1;
            break;
        }
        argv[argc++] = tok;
    }
    if (argc == 0 || argv[0][0] == '#') return; /* blank line or comment */

    /* Show the command as it was understood: its words, one space apart. */
    shown[0] = '\0';
    for (int i = 0; i < argc; i++) {
        size_t used = strlen(shown);
        snprintf(shown + used, sizeof(shown) - used, "%s%s", i ? " " : "",
                 argv[i]);
    }
    sanitize(shown, shown, sizeof(shown));

    for (size_t i = 0; i < COMMAND_CNT; i++)
        if (strcmp(commands[i].name, argv[0]) == 0) cmd = &commands[i];

    if (cmd == NULL) {
        snprintf(errstr, sizeof(errstr),
                 "unknown command (one of broker-down, broker-up, rtt, "
                 "errors, clear-errors, topic-error, leader)");
    } else if (too_many || argc - 1 != cmd->argc) {
        snprintf(errstr, sizeof(errstr), "usage: %s %s", cmd->name, cmd->args);
    } else if (cmd->run(cl, argv + 1, errstr, sizeof(errstr)) == 0) {
        fprintf(stderr, PROG ": control: %s: ok\n", shown);
        return;
    }
    sanitize(errstr, errstr, sizeof(errstr));
    fprintf(stderr, PROG ": control: %s: error: %s\n", shown, errstr);
}

/* ------------------------------------------------------------------------ */
/* Control FIFO */

static int control_open(struct control *ctl) {
    struct stat st;

    ctl->rfd = open(ctl->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (ctl->rfd < 0) {
        fprintf(stderr, PROG ": --control-fifo: cannot open %s: %s\n",
                ctl->path, strerror(errno));
        return -1;
    }
    /* Checked on the open descriptor, so a file swapped in after mkfifo()
     * is refused too. */
    if (fstat(ctl->rfd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
        fprintf(stderr, PROG ": --control-fifo: %s is not a FIFO\n", ctl->path);
        return -1;
    }
    /* Cannot block: a reader is open. */
    ctl->wfd = open(ctl->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (ctl->wfd < 0) {
        fprintf(stderr, PROG ": --control-fifo: cannot open %s: %s\n",
                ctl->path, strerror(errno));
        return -1;
    }
    return 0;
}

static void control_close(struct control *ctl) {
    if (ctl->rfd >= 0) close(ctl->rfd);
    if (ctl->wfd >= 0) close(ctl->wfd);
    ctl->rfd = ctl->wfd = -1;
}

/* Creates the FIFO when it does not exist and opens it. Returns 0, or -1
 * after a message on stderr. */
static int control_init(struct control *ctl, const char *path) {
    memset(ctl, 0, sizeof(*ctl));
    ctl->path = path;
    ctl->rfd = ctl->wfd = -1;
    if (mkfifo(path, 0600) == 0) {
        ctl->created = 1;
    } else if (errno != EEXIST) {
        fprintf(stderr, PROG ": --control-fifo: cannot create %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    return control_open(ctl);
}

static void control_fini(struct control *ctl) {
    control_close(ctl);
    if (ctl->created && unlink(ctl->path) != 0 && errno != ENOENT)
        fprintf(stderr, PROG ": cannot remove %s: %s\n", ctl->path,
                strerror(errno));
    ctl->created = 0;
}

/* Reads what the FIFO holds and runs every complete line. Returns 0, or -1
 * when the FIFO cannot be read any more. */
static int control_read(struct control *ctl, const struct cluster *cl) {
    for (;;) {
        ssize_t n = read(ctl->rfd, ctl->line + ctl->len,
                         sizeof(ctl->line) - 1 - ctl->len);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            fprintf(stderr, PROG ": control: read %s: %s\n", ctl->path,
                    strerror(errno));
            return -1;
        }
        if (n == 0) {
            /* Only possible if our own writer is gone: start afresh, and
             * treat what is buffered as one last line. */
            if (ctl->len > 0 && !ctl->discarding) {
                ctl->line[ctl->len] = '\0';
                control_exec(cl, ctl->line);
            }
            ctl->len = 0;
            ctl->discarding = 0;
            control_close(ctl);
            return control_open(ctl);
        }
        ctl->len += (size_t)n;

        char *start = ctl->line;
        char *nl;
        while ((nl = memchr(start, '\n',
                            ctl->len - (size_t)(start - ctl->line))) != NULL) {
            *nl = '\0';
            if (ctl->discarding)
                ctl->discarding = 0;
            else if (strlen(start) != (size_t)(nl - start))
                fprintf(stderr, PROG ": control: error: line with a NUL byte "
                                     "ignored\n");
            else
                control_exec(cl, start);
            start = nl + 1;
        }
        ctl->len -= (size_t)(start - ctl->line);
        memmove(ctl->line, start, ctl->len);
        if (ctl->len == sizeof(ctl->line) - 1) {
            if (!ctl->discarding)
                fprintf(stderr,
                        PROG ": control: error: line longer than %d bytes "
                             "ignored\n",
                        CONTROL_LINE_MAX - 1);
            ctl->discarding = 1;
            ctl->len = 0;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Signals */

static int signal_pipe[2] = {-1, -1};

/* Async-signal-safe: one write() to the self-pipe, errno preserved. */
static void on_signal(int signo) {
    int saved_errno = errno;
    unsigned char b = (unsigned char)signo;
    ssize_t r = write(signal_pipe[1], &b, 1);

    (void)r; /* a full pipe already holds a wake-up */
    errno = saved_errno;
}

static int signals_init(void) {
    struct sigaction sa;

    if (pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        fprintf(stderr, PROG ": pipe: %s\n", strerror(errno));
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_signal;
    if (sigaction(SIGTERM, &sa, NULL) != 0 ||
        sigaction(SIGINT, &sa, NULL) != 0) {
        fprintf(stderr, PROG ": sigaction: %s\n", strerror(errno));
        return -1;
    }
    /* A reader that closes our stderr or stdout must not kill the cluster. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    return 0;
}

/* After the first signal, a second one stops the process at once, in case
 * tearing the cluster down ever hangs. */
static void signals_default(void) {
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
}

/* ------------------------------------------------------------------------ */
/* Start-up */

static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes @p bootstraps and a newline to @p path through a temporary file in
 * the same directory and rename(), so a reader sees all or nothing. */
static int write_bootstrap_file(const char *path, const char *bootstraps) {
    size_t tmp_size = strlen(path) + 32;
    char *tmp = malloc(tmp_size);
    int fd = -1;
    int ret = -1;

    if (tmp == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        abort();
    }
    snprintf(tmp, tmp_size, "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, bootstraps, strlen(bootstraps)) != 0 ||
        write_all(fd, "\n", 1) != 0) {
        fprintf(stderr, PROG ": --bootstrap-file: cannot write %s: %s\n", tmp,
                strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        fprintf(stderr, PROG ": --bootstrap-file: cannot write %s: %s\n", tmp,
                strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        fprintf(stderr, PROG ": --bootstrap-file: cannot rename %s to %s: %s\n",
                tmp, path, strerror(errno));
        goto out;
    }
    ret = 0;
out:
    if (fd >= 0) close(fd);
    if (ret != 0) unlink(tmp);
    free(tmp);
    return ret;
}

/* librdkafka's log lines, prefixed like ours. The handle only hosts the mock
 * cluster and never connects anywhere itself, so its warning about a missing
 * bootstrap.servers is noise and is dropped. */
static void on_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac,
                           const char *buf) {
    (void)rk;
    if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "bootstrap.servers"))
        return;
    fprintf(stderr, PROG ": rdkafka: %s (level %d): %s\n", fac, level, buf);
}

static void print_help(void) {
    int column;

    printf("Usage: " PROG " [OPTION]...\n"
           "Run an embedded Kafka cluster (librdkafka's mock) until "
           "SIGTERM or SIGINT.\n"
           "The bootstrap list is the first line on stdout; everything "
           "else goes to stderr.\n"
           "\n"
           "  --brokers N            number of brokers, 1 to %d (default %d)\n"
           "  --partitions P         partitions of every topic, 1 to %d "
           "(default %d)\n"
           "  --topics A,B,...       topics to create (default\n"
           "                         " TOPICS_DEFAULT ")\n"
           "  --replication R        replication factor, 1 to N (default "
           "min(%d, N))\n"
           "  --bootstrap-file PATH  also write the bootstrap list and a "
           "newline to PATH,\n"
           "                         atomically, before printing it\n"
           "  --control-fifo PATH    read fault-injection commands from the "
           "FIFO at PATH;\n"
           "                         created if missing (and then removed "
           "at exit)\n"
           "  --die-with-parent      stop as on SIGTERM when the parent "
           "process dies\n"
           "  --help                 show this help and exit\n"
           "  --version              show the version and exit\n"
           "\n"
           "Control commands, one per line (blank lines and # comments are "
           "skipped):\n",
           BROKERS_MAX, BROKERS_DEFAULT, PARTITIONS_MAX, PARTITIONS_DEFAULT,
           REPLICATION_DEFAULT);
    for (size_t i = 0; i < COMMAND_CNT; i++) {
        char synopsis[64];
        snprintf(synopsis, sizeof(synopsis), "%s %s", commands[i].name,
                 commands[i].args);
        printf("  %s\n      %s\n", synopsis, commands[i].doc);
    }
    printf("Brokers are numbered 1 to N. REQUEST_TYPE is a Kafka API key or "
           "its name:\n ");
    column = 1;
    for (size_t i = 0; i < sizeof(api_key_names) / sizeof(api_key_names[0]);
         i++) {
        char item[48];
        int len = snprintf(item, sizeof(item), " %s %d", api_key_names[i].name,
                           api_key_names[i].key);
        if (column + len > 78) {
            printf("\n ");
            column = 1;
        }
        printf("%s", item);
        column += len;
    }
    printf("\n"
           "ERROR_CODE is a Kafka or librdkafka error code or name, e.g. 6 "
           "or\n"
           "NOT_LEADER_FOR_PARTITION. Each result is logged on stderr as\n"
           "'" PROG ": control: COMMAND: ok' or '...: error: REASON'; a bad "
           "command\n"
           "is reported and ignored.\n"
           "\n"
           "Everything is kept in memory. Each partition keeps at most about "
           "5 MiB\n"
           "(or 100,000 message sets) and evicts its oldest data beyond that "
           "(the log\n"
           "start offset moves), so size --partitions for the data in "
           "flight. Clients\n"
           "should use fetch.wait.max.ms=10 and well-filled batches "
           "(linger.ms >= 20).\n"
           "\n"
           "Exit status: 0 after SIGTERM or SIGINT, 1 when the cluster "
           "cannot start,\n"
           "2 for a bad option.\n");
}

static int parse_options(int argc, char **argv, struct options *opts) {
    enum {
        OPT_BROKERS = 1000,
        OPT_PARTITIONS,
        OPT_TOPICS,
        OPT_REPLICATION,
        OPT_BOOTSTRAP_FILE,
        OPT_CONTROL_FIFO,
        OPT_DIE_WITH_PARENT,
        OPT_HELP,
        OPT_VERSION,
    };
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, OPT_BROKERS},
        {"partitions", required_argument, NULL, OPT_PARTITIONS},
        {"topics", required_argument, NULL, OPT_TOPICS},
        {"replication", required_argument, NULL, OPT_REPLICATION},
        {"bootstrap-file", required_argument, NULL, OPT_BOOTSTRAP_FILE},
        {"control-fifo", required_argument, NULL, OPT_CONTROL_FIFO},
        {"die-with-parent", no_argument, NULL, OPT_DIE_WITH_PARENT},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    const char *replication_arg = NULL;
    int c;

    opts->brokers = BROKERS_DEFAULT;
    opts->partitions = PARTITIONS_DEFAULT;
    if (option_topics(opts, TOPICS_DEFAULT) != 0) return EXIT_USAGE;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_BROKERS:
            if (option_int("--brokers", optarg, 1, BROKERS_MAX,
                           &opts->brokers) != 0)
                return EXIT_USAGE;
            break;
        case OPT_PARTITIONS:
            if (option_int("--partitions", optarg, 1, PARTITIONS_MAX,
                           &opts->partitions) != 0)
                return EXIT_USAGE;
            break;
        case OPT_TOPICS:
            if (option_topics(opts, optarg) != 0) return EXIT_USAGE;
            break;
        case OPT_REPLICATION: replication_arg = optarg; break;
        case OPT_BOOTSTRAP_FILE:
            if (*optarg == '\0') {
                fprintf(stderr, PROG ": --bootstrap-file: empty path\n");
                return EXIT_USAGE;
            }
            opts->bootstrap_file = optarg;
            break;
        case OPT_CONTROL_FIFO:
            if (*optarg == '\0') {
                fprintf(stderr, PROG ": --control-fifo: empty path\n");
                return EXIT_USAGE;
            }
            opts->control_fifo = optarg;
            break;
        case OPT_DIE_WITH_PARENT: opts->die_with_parent = 1; break;
        case OPT_HELP: print_help(); return EXIT_SUCCESS;
        case OPT_VERSION:
            ldr_version_print(
                stdout, PROG,
                &(ldr_version_libs_t){.rdkafka = rd_kafka_version_str(),
                                      .hiredis = KAFKA_HIREDIS_VERSION,
                                      .avro = LADDER_AVRO_VERSION});
            return EXIT_SUCCESS;
        default: usage_hint(); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
        usage_hint();
        return EXIT_USAGE;
    }
    /* Checked last: its bound depends on --brokers, in whatever order. */
    opts->replication = opts->brokers < REPLICATION_DEFAULT
                            ? opts->brokers
                            : REPLICATION_DEFAULT;
    if (replication_arg != NULL &&
        option_int("--replication", replication_arg, 1, opts->brokers,
                   &opts->replication) != 0)
        return EXIT_USAGE;
    return -1; /* carry on */
}

/* ------------------------------------------------------------------------ */

/* Everything one run holds; run_fini() releases it. */
struct run {
    struct options opts;
    struct cluster cl;
    struct control ctl;
    rd_kafka_t *rk;
    int have_control;
};

/* --die-with-parent: SIGTERM when the parent process @p parent dies.
 * 0, or -1 after a message on stderr. */
static int watch_parent(pid_t parent) {
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
        fprintf(stderr, PROG ": prctl(PR_SET_PDEATHSIG): %s\n",
                strerror(errno));
        return -1;
    }
    /* The parent may have died before prctl(): then no signal comes. */
    if (getppid() != parent) {
        fprintf(stderr, PROG ": parent exited before start-up\n");
        return -1;
    }
    return 0;
}

/* Creates the client handle, the mock cluster and its topics: 0, or -1
 * after a message on stderr. */
static int cluster_start(struct run *r) {
    const struct options *opts = &r->opts;
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, on_rdkafka_log);
    if (rd_kafka_conf_set(conf, "client.id", PROG, errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        fprintf(stderr, PROG ": %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    r->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (r->rk == NULL) {
        fprintf(stderr, PROG ": cannot create the client handle: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    r->cl.mcluster = rd_kafka_mock_cluster_new(r->rk, opts->brokers);
    if (r->cl.mcluster == NULL) {
        fprintf(stderr, PROG ": cannot create the mock cluster\n");
        return -1;
    }
    for (int i = 0; i < opts->topic_cnt; i++) {
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(r->cl.mcluster, opts->topics[i],
                                       opts->partitions, opts->replication);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, PROG ": cannot create topic %s: %s\n",
                    opts->topics[i], rd_kafka_err2str(err));
            return -1;
        }
    }
    return 0;
}

/* Opens the control FIFO, then announces the bootstrap list (the file,
 * stdout) and the cluster's shape (stderr): 0, or -1 after a message. */
static int announce(struct run *r) {
    const struct options *opts = &r->opts;
    /* Everything a client may use is ready before the announcement. */
    if (opts->control_fifo != NULL) {
        if (control_init(&r->ctl, opts->control_fifo) != 0) {
            r->have_control = r->ctl.created; /* so that it is removed */
            return -1;
        }
        r->have_control = 1;
    }
    const char *bootstraps = rd_kafka_mock_cluster_bootstraps(r->cl.mcluster);
    if (opts->bootstrap_file != NULL &&
        write_bootstrap_file(opts->bootstrap_file, bootstraps) != 0)
        return -1;
    printf("%s\n", bootstraps);
    if (fflush(stdout) != 0)
        fprintf(stderr,
                PROG ": cannot write the bootstrap list to stdout: %s\n",
                strerror(errno));

    fprintf(stderr, PROG ": %d broker%s, replication %d, topics", opts->brokers,
            opts->brokers == 1 ? "" : "s", opts->replication);
    for (int i = 0; i < opts->topic_cnt; i++)
        fprintf(stderr, " %s(%d)", opts->topics[i], opts->partitions);
    if (r->have_control)
        fprintf(stderr, "; control fifo %s", opts->control_fifo);
    fprintf(stderr, "; send SIGTERM to stop\n");
    return 0;
}

/* Runs the control commands until SIGTERM or SIGINT: 0, or -1 after a
 * message on stderr when poll() fails. */
static int serve(struct run *r) {
    for (;;) {
        struct pollfd pfd[2] = {
            {.fd = signal_pipe[0], .events = POLLIN},
            {.fd = r->have_control ? r->ctl.rfd : -1, .events = POLLIN},
        };
        int n = poll(pfd, 2, 1000);

        if (n < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
            return -1;
        }
        if (pfd[0].revents != 0) {
            unsigned char signo = 0;
            ssize_t got = read(signal_pipe[0], &signo, 1);
            (void)got;
            signals_default();
            fprintf(stderr, PROG ": %s, stopping\n",
                    signo == SIGINT ? "SIGINT" : "SIGTERM");
            return 0;
        }
        if (pfd[1].revents != 0 && control_read(&r->ctl, &r->cl) != 0) {
            /* Faults can no longer be injected, but clients still work. */
            fprintf(stderr, PROG ": control fifo closed\n");
            control_close(&r->ctl);
            r->have_control = 0;
        }
        rd_kafka_poll(r->rk, 0);
    }
}

static void run_fini(struct run *r) {
    if (r->have_control || r->ctl.created) control_fini(&r->ctl);
    if (r->cl.mcluster != NULL) rd_kafka_mock_cluster_destroy(r->cl.mcluster);
    if (r->rk != NULL) rd_kafka_destroy(r->rk);
    options_fini(&r->opts);
}

int main(int argc, char **argv) {
    static struct run r;
    int status = EXIT_FAILURE_STARTUP;
    pid_t parent = getppid();

    r.cl.opts = &r.opts;
    r.ctl.rfd = r.ctl.wfd = -1;
    {
        int rc = parse_options(argc, argv, &r.opts);
        if (rc >= 0) {
            options_fini(&r.opts);
            return rc;
        }
    }
    if (signals_init() == 0 &&
        (!r.opts.die_with_parent || watch_parent(parent) == 0) &&
        cluster_start(&r) == 0 && announce(&r) == 0 && serve(&r) == 0)
        status = EXIT_SUCCESS;
    run_fini(&r);
    if (status == EXIT_SUCCESS) fprintf(stderr, PROG ": stopped\n");
    return status;
}
