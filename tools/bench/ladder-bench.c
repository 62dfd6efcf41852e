/* ladder-bench -- measures the whole embedded stack and prints one table.
 *
 * DESIGN: every figure of the table comes from one run on one machine, so
 * the figures can be read against each other: the worker's sustained rate
 * next to two reference ceilings over the same input messages (bench.h),
 * its latency at a fixed offered rate, what it costs the worker and Redis
 * per event, and how fast a killed worker is replaced. ladder-bench is a
 * process supervisor: it starts a private redis-server (the project's
 * redis.conf: AOF on, appendfsync everysec) and ladder-kafka on free ports
 * in a fresh temporary directory, runs ladder-gen and the workers as child
 * processes, and always stops them all and removes the directory, on
 * success, on failure and on SIGINT/SIGTERM. Children run in their own
 * process group (a Ctrl-C reaches only the supervisor, which stops them in
 * order) with PR_SET_PDEATHSIG, so even a SIGKILLed supervisor leaves no
 * process behind. The ladder programs are found beside ladder-bench
 * (/proc/self/exe), never through PATH.
 *
 * With --redis-cluster M the store is a Redis Cluster of M masters (the
 * same redis.conf, no replicas: on one machine a replica only adds CPU)
 * joined by redis-cli --cluster create; the workers get the seed list.
 * ladder-bench reads Redis only through the store's router (ldr_cluster_*)
 * and names keys only with ldr_store_key(), so the key layout and its hash
 * tags stay the store's; INFO figures are summed over the masters.
 *
 * The phases, in order:
 *  1. ladder-gen writes one merged history (--single); the first --events
 *     rows are produced to the input topic BEFORE any worker starts, so the
 *     worker's rate is measured on a backlog. The embedded cluster keeps
 *     only about 5 MiB per partition (PITFALLS.md), so the partition count
 *     is chosen to hold the backlog, and an evicted message fails the run.
 *  2. The workers start; the run is timed from the first stored decision
 *     (a partition's next offset in Redis moving) to every partition's
 *     stored next offset equalling the topic's high watermark. Worker CPU
 *     (/proc/PID/stat), Redis CPU and commands (INFO), Redis memory per
 *     enterprise and the workers' peak RSS are read at that point; the
 *     commands ladder-bench itself sent are not counted. The workers then
 *     stop.
 *  3. The ceilings read the same backlog (offsets 0 to the high watermarks
 *     of phase 2) with the workers stopped, so nothing competes with them.
 *  4. Every master's AOF is rewritten first (bn_compact_aof). New workers
 *     start; once they are ready, the next rows are produced at
 *     --rate for --latency-seconds, each message stamped by Kafka with its
 *     send time (CreateTime). A decision's latency runs from the timestamp
 *     of its cause (its `cause` field: topic/partition/offset) to its
 *     arrival at ladder-bench's consumer of the decisions topic.
 *  5. Restart: more rows are produced, the first worker is SIGKILLed while
 *     a backlog is left, a new one starts at once, and the time from the
 *     kill to the first decision with a later decided_at is the restart
 *     time. Then everything must be decided.
 */
#include "bench.h"

#include "ladder/alloc.h"
#include "ladder/cluster.h"
#include "ladder/feed.h"
#include "ladder/redis.h"
#include "ladder/schema.h"
#include "ladder/store.h"
#include "ladder/svc.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PROG              "ladder-bench"
#define BN_MAX_WORKERS    16
#define BN_MAX_PARTITIONS 1024
/* --redis-cluster: redis-cli --cluster create wants at least 3 masters */
#define BN_MIN_MASTERS 3
#define BN_MAX_MASTERS 16
/* A cluster node's bus port is its port + 10000, so nodes take ports up to
 * 55535 only. */
#define BN_CLUSTER_PORT_MAX 55535
/* Bytes of input the embedded cluster keeps per partition, with a margin
 * under its 5 MiB. */
#define BN_PARTITION_BYTES (4.0 * 1024 * 1024)
/* Bytes a message takes in a partition besides its key and value. */
#define BN_RECORD_OVERHEAD 40
/* A cautious number of ladder-gen rows per unit of --scale (about 1.26
 * million with the default --until). */
#define BN_ROWS_PER_SCALE 1.1e6
/* Nothing stored for this long fails a phase. */
#define BN_STALL_S            60
#define BN_POLL_MS            20
#define BN_PASSTHROUGH_TOPIC  "ladder.bench.passthrough"
#define BN_SESSION_TIMEOUT_MS "6000"
/* the sustained phase's marks: its start and the end of each tenth */
#define BN_MARKS 11
/* What a worker may have decided and published beyond what Redis has
 * stored, a partition (its WK_INFLIGHT batches of at most WK_STEP_MAX
 * messages, services/worker/worker_int.h). */
#define BN_AHEAD_BATCHES 2
#define BN_AHEAD_BATCH   256
/* The first seconds of the latency phase are not timed: a worker and a
 * consumer that have just started fetch their first messages late. */
#define BN_WARMUP_S 2
/* A Redis command longer than this blocks every other client for too long
 * (the target: no step over a few milliseconds); SLOWLOG keeps the ones
 * above BN_SLOWLOG_US. */
#define BN_SLOW_US    5000
#define BN_SLOWLOG_US 1000

/* The performance targets (docs/BENCHMARKS.md): each figure is printed
 * with its target and met or MISSED. */
#define TARGET_RATE      100000.0
#define TARGET_RATIO_PT  0.6
#define TARGET_FLAT      0.9
#define TARGET_P99_MS    50.0
#define TARGET_MAX_MS    500.0
#define TARGET_WORKER_US 8.0
#define TARGET_REDIS_US  4.0
#define TARGET_MEM_BYTES 400.0
#define TARGET_RSS_MB    256.0
#define TARGET_RESTART_S 10.0

static volatile sig_atomic_t bn_stop;

static void bn_on_signal(int sig) {
    (void)sig;
    bn_stop = 1;
}

/* The sustained phase at one moment: messages stored, decisions produced
 * (the decisions topic's high watermarks), the time, the workers' and
 * Redis's CPU (s) and the forks Redis has started (its AOF rewrites). */
typedef struct bn_mark {
    uint64_t stored, decisions;
    double t, worker_cpu, redis_cpu, forks;
} bn_mark_t;

typedef struct bn_proc {
    pid_t pid; /* 0: not running */
    int status;
    char name[32];
    char log[PATH_MAX];
    int http_port;
} bn_proc_t;

/* One decision seen on the decisions topic: its cause and arrival. */
typedef struct bn_seen {
    int32_t partition;
    int64_t offset;
    int64_t arrival_us;
} bn_seen_t;

typedef struct bn {
    /* options */
    long long events;
    int partitions_opt; /* 0: enough for the backlog */
    double rate;
    int latency_s;
    int nworkers;
    int masters; /* --redis-cluster M; 0: one plain redis-server */
    bool keep, json;
    const char *config_file;
    bool usage_error; /* the run failed because of an option (exit 2) */

    ldr_config_t *cfg;
    ldr_schemas_t *schemas;
    ldr_codec_t *codec;
    char bindir[1024];
    char dir[1024];
    double t0;
    bn_proc_t kafka, gen, workers[BN_MAX_WORKERS];
    bn_proc_t redis[BN_MAX_MASTERS]; /* one, or the cluster's masters */
    int nredis;
    int generation;                           /* of workers, for log names */
    char redis_url[BN_MAX_MASTERS * 24 + 16]; /* the seed list */
    /* every read of Redis goes through the router, which serves one plain
     * server and a cluster alike */
    ldr_cluster_t *cl;
    int part_master[BN_MAX_PARTITIONS]; /* partition -> master index */
    int master_parts[BN_MAX_MASTERS];   /* partitions per master */
    char master_addr[BN_MAX_MASTERS][32];
    uint64_t own_commands; /* sent by ladder-bench to Redis */
    const char *input_topic, *decisions_topic, *dlq_topic;
    int partitions;

    /* the generated history */
    FILE *feed;
    ldr_feed_reader_t *reader;
    uint64_t rows_read;

    /* the input producer and its delivery reports */
    rd_kafka_t *prod;
    uint64_t produced, delivered, dr_failed;
    char dr_error[256];
    bool track;    /* record each delivered message's timestamp */
    int64_t *base; /* per partition: the first tracked offset */
    int64_t **ts;  /* per partition: timestamp (ms) by offset - base */
    size_t *ts_len, *ts_cap;

    /* results */
    uint64_t rows_backlog, messages;
    double first_s, last_s, rate_worker;
    double worker_cpu_s, redis_cpu_s, redis_commands;
    /* the same, from the first stored decision on (the steady window) */
    bool sample_first;
    double worker_cpu_win_s, redis_cpu_win_s;
    /* The sustained phase sampled at the first poll that found a message
     * stored (mark 0), at the first past each tenth of the backlog (1-9)
     * and at the end (10): tenth k lies between marks k - 1 and k. The
     * rate of the last tenth over the first's is the flatness. */
    bn_mark_t mark[BN_MARKS];
    int nmarks;
    double flat_ratio;
    double mem_bytes, baseline_mem;
    /* MEMORY USAGE of the store's keys after the backlog, by key type
     * (the name after the hash tag), over every partition */
    double key_bytes[LDR_STORE_KEY__COUNT];
    int key_count[LDR_STORE_KEY__COUNT];
    char key_type[LDR_STORE_KEY__COUNT][16];
    int aof_rewrites; /* BGREWRITEAOF forced in the latency phase */
    uint64_t enterprises;
    double rss_kb;
    bn_ceiling_result_t pt, sc;
    uint64_t lat_rows, lat_messages, lat_samples, lat_unmatched;
    double offered_rate, p50_ms, p99_ms, max_ms;
    /* the longest command Redis ran (SLOWLOG, over every master) in the
     * sustained phase and in the latency phase, and how many took longer
     * than BN_SLOW_US */
    double slow_max_us[2];
    /* the longest fork of the latency phase's rewrite over the masters
     * (INFO stats latest_fork_usec): Redis serves nobody while it forks */
    double fork_ms;
    uint64_t slow_over[2];
    bool restart_done;
    double restart_s;
    uint64_t restart_backlog;
} bn_t;

/* ---- small helpers ------------------------------------------------------- */

static void bn_say(const bn_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void bn_say(const bn_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": [%7.1f s] ", ldr_clock_mono_s() - b->t0);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int bn_fail(char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bn_fail(char *err, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

static int64_t bn_wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A loopback TCP port that is free right now. */
static int bn_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int bn_find_in_path(const char *prog, char *out, size_t n) {
    const char *path = getenv("PATH");
    if (!path) return -1;
    char *copy = ldr_strdup(path), *save = NULL;
    int rc = -1;
    for (char *d = strtok_r(copy, ":", &save); d;
         d = strtok_r(NULL, ":", &save)) {
        snprintf(out, n, "%s/%s", *d ? d : ".", prog);
        if (access(out, X_OK) == 0) {
            rc = 0;
            break;
        }
    }
    free(copy);
    return rc;
}

static int bn_rm_entry(const char *path, const struct stat *st, int flag,
                       struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* ---- processes --------------------------------------------------------------
 */

/* Starts argv[0] with its output in proc->log and @p env ("NAME=value",
 * NULL-terminated) added to the environment. 0 or -1. */
static int bn_spawn(bn_t *b, bn_proc_t *proc, const char *name,
                    char *const argv[], char *const env[], char *err,
                    size_t n) {
    snprintf(proc->name, sizeof(proc->name), "%s", name);
    snprintf(proc->log, sizeof(proc->log), "%s/%s.log", b->dir, name);
    /* The environment is built here: between fork and exec a child of a
     * threaded process may only make async-signal-safe calls. */
    size_t nenv = 0, nextra = 0;
    while (environ[nenv])
        nenv++;
    while (env && env[nextra])
        nextra++;
    char **envp = ldr_calloc(nenv + nextra + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < nenv; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t nlen = eq ? (size_t)(eq - environ[i]) + 1 : strlen(environ[i]);
        int overridden = 0;
        for (size_t j = 0; j < nextra; j++)
            if (!strncmp(environ[i], env[j], nlen)) overridden = 1;
        if (!overridden) envp[k++] = environ[i];
    }
    for (size_t j = 0; j < nextra; j++)
        envp[k++] = env[j];
    envp[k] = NULL;
    static const char cannot[] = PROG ": cannot run a child program\n";
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        free(envp);
        return bn_fail(err, n, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* own process group: a terminal's Ctrl-C reaches only ladder-bench,
         * which stops the children in order; and the child dies with it */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(127);
        int in = open("/dev/null", O_RDONLY);
        int out = open(proc->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (in < 0 || out < 0) _exit(127);
        dup2(in, 0);
        dup2(out, 1);
        dup2(out, 2);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGPIPE, &dfl, NULL);
        execve(argv[0], argv, envp);
        if (write(2, cannot, sizeof(cannot) - 1) < 0) _exit(127);
        _exit(127);
    }
    free(envp);
    proc->pid = pid;
    proc->status = 0;
    return 0;
}

/* Non-zero while the process runs; reaps it once it has exited. */
static int bn_alive(bn_proc_t *proc) {
    if (!proc->pid) return 0;
    int st;
    pid_t r = waitpid(proc->pid, &st, WNOHANG);
    if (r == proc->pid) {
        proc->status = st;
        proc->pid = 0;
        return 0;
    }
    return 1;
}

/* Sends @p sig and waits up to @p timeout_s, then SIGKILL. The exit status
 * is left in proc->status. */
static void bn_stop_proc(bn_proc_t *proc, int sig, double timeout_s) {
    if (!proc->pid) return;
    kill(proc->pid, sig);
    double until = ldr_clock_mono_s() + timeout_s;
    while (bn_alive(proc) && ldr_clock_mono_s() < until)
        ldr_clock_sleep_ms(20);
    if (proc->pid) {
        kill(proc->pid, SIGKILL);
        waitpid(proc->pid, &proc->status, 0);
        proc->pid = 0;
    }
}

static const char *bn_status_text(int st, char *buf, size_t n) {
    if (WIFEXITED(st))
        snprintf(buf, n, "exit status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, n, "signal %d", WTERMSIG(st));
    else
        snprintf(buf, n, "status %d", st);
    return buf;
}

/* The last line of a log, for an error message. */
static const char *bn_log_tail(const char *path, char *buf, size_t n) {
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return buf;
    char line[400];
    while (fgets(line, sizeof(line), f))
        if (line[0] && line[0] != '\n') snprintf(buf, n, "%s", line);
    fclose(f);
    size_t l = strlen(buf);
    if (l && buf[l - 1] == '\n') buf[l - 1] = 0;
    return buf;
}

static int bn_died(bn_proc_t *proc, char *err, size_t n) {
    char st[64], tail[400];
    return bn_fail(err, n, "%s stopped (%s): %s", proc->name,
                   bn_status_text(proc->status, st, sizeof(st)),
                   bn_log_tail(proc->log, tail, sizeof(tail)));
}

/* utime + stime of a process, in seconds; -1 when unreadable. */
/* CPU time of process @p pid, every thread included, in seconds; -1 when
 * unreadable. Its CPU-time clock counts in nanoseconds: /proc/PID/stat's
 * clock ticks (10 ms) left the steady window of a small run at 0. */
static double bn_proc_cpu_s(pid_t pid) {
    clockid_t clock;
    struct timespec ts;
    if (clock_getcpuclockid(pid, &clock) || clock_gettime(clock, &ts))
        return -1;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmHWM of a process in KiB; 0 when unreadable. */
static double bn_proc_hwm_kb(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    double kb = 0;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmHWM:", 6)) kb = strtod(line + 6, NULL);
    fclose(f);
    return kb;
}

/* ---- the stack -------------------------------------------------------------
 */

/* A port for a cluster node: free, and so is its bus port (+10000), both
 * within BN_CLUSTER_PORT_MAX + 10000. -1 when none is found. */
static int bn_free_cluster_port(void) {
    for (int attempt = 0; attempt < 200; attempt++) {
        int port = 20000 + (int)(random() % (BN_CLUSTER_PORT_MAX - 20000 + 1));
        int ok = 1;
        for (int q = port; q <= port + 10000 && ok; q += 10000) {
            int fd = socket(AF_INET, SOCK_STREAM, 0);
            if (fd < 0) return -1;
            struct sockaddr_in a;
            memset(&a, 0, sizeof(a));
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            a.sin_port = htons((uint16_t)q);
            if (bind(fd, (struct sockaddr *)&a, sizeof(a))) ok = 0;
            close(fd);
        }
        if (ok) return port;
    }
    errno = EADDRINUSE;
    return -1;
}

/* Starts redis-server number @p i (the project's redis.conf: AOF on,
 * appendfsync everysec; in cluster mode with --cluster-enabled yes and its
 * own directory) and waits for its PONG. *port gets its port. */
static int bn_start_redis1(bn_t *b, int i, int *port, char *err, size_t n) {
    char server[PATH_MAX], conf_buf[PATH_MAX], portbuf[16], logpath[PATH_MAX];
    char dir[1100], name[32], nodes[PATH_MAX], url[64];
    if (bn_find_in_path("redis-server", server, sizeof(server)))
        return bn_fail(err, n,
                       "redis-server is not installed or not on PATH "
                       "(./tools/test installs it)");
    const char *conf = ldr_config_data_path("deploy/redis/redis.conf", conf_buf,
                                            sizeof(conf_buf));
    if (access(conf, R_OK))
        return bn_fail(err, n, "%s: %s", conf, strerror(errno));
    if (b->masters) {
        snprintf(dir, sizeof(dir), "%s/redis-%d", b->dir, i);
        if (mkdir(dir, 0700) && errno != EEXIST)
            return bn_fail(err, n, "%s: %s", dir, strerror(errno));
        snprintf(name, sizeof(name), "redis-%d", i);
    } else {
        snprintf(dir, sizeof(dir), "%s", b->dir);
        snprintf(name, sizeof(name), "redis");
    }
    snprintf(logpath, sizeof(logpath), "%s/redis-server.log", dir);
    snprintf(nodes, sizeof(nodes), "%s/nodes.conf", dir);
    bn_proc_t *proc = &b->redis[i];
    for (int attempt = 0; attempt < 10; attempt++) {
        int p = b->masters ? bn_free_cluster_port() : bn_free_port();
        if (p < 0) return bn_fail(err, n, "no free port: %s", strerror(errno));
        snprintf(portbuf, sizeof(portbuf), "%d", p);
        char *argv[] = {server,
                        (char *)conf,
                        "--port",
                        portbuf,
                        "--dir",
                        dir,
                        "--logfile",
                        logpath,
                        "--daemonize",
                        "no",
                        b->masters ? "--cluster-enabled" : NULL,
                        "yes",
                        "--cluster-config-file",
                        nodes,
                        "--cluster-node-timeout",
                        "5000",
                        NULL};
        if (bn_spawn(b, proc, name, argv, NULL, err, n)) return -1;
        snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", p);
        for (int k = 0; k < 100 && bn_alive(proc); k++) {
            redisContext *c = NULL;
            if (ldr_redis_connect(url, NULL, 30000, &c, err, n) == LDR_OK) {
                redisFree(c);
                *port = p;
                return 0;
            }
            ldr_clock_sleep_ms(50);
        }
        bn_stop_proc(proc, SIGKILL, 1);
    }
    /* A refused configuration is said on stderr (proc->log), before the
     * log file is opened. */
    char tail[400];
    if (!bn_log_tail(logpath, tail, sizeof(tail))[0])
        bn_log_tail(proc->log, tail, sizeof(tail));
    return bn_fail(err, n, "redis-server did not start: %s",
                   tail[0] ? tail : "it wrote nothing");
}

/* cluster_state:ok on every node (each then sees every slot served). */
static int bn_cluster_ok(const int *ports, int count) {
    for (int i = 0; i < count; i++) {
        char url[64], e[256];
        redisContext *c = NULL;
        snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", ports[i]);
        if (ldr_redis_connect(url, NULL, 5000, &c, e, sizeof(e))) return 0;
        redisReply *r = redisCommand(c, "CLUSTER INFO");
        int ok = r && r->type == REDIS_REPLY_STRING &&
                 strstr(r->str, "cluster_state:ok");
        if (r) freeReplyObject(r);
        redisFree(c);
        if (!ok) return 0;
    }
    return 1;
}

/* Joins the masters with redis-cli --cluster create (no replicas: a replica
 * would only add CPU on the same machine, and the figures are about the
 * masters' work) and waits for cluster_state:ok on every node. */
static int bn_create_cluster(bn_t *b, const int *ports, char *err, size_t n) {
    char cli[PATH_MAX], addr[BN_MAX_MASTERS][32];
    if (bn_find_in_path("redis-cli", cli, sizeof(cli)))
        return bn_fail(err, n,
                       "redis-cli is not installed or not on PATH "
                       "(./tools/test installs it)");
    char *argv[BN_MAX_MASTERS + 8];
    int k = 0;
    argv[k++] = cli;
    argv[k++] = "--cluster";
    argv[k++] = "create";
    for (int i = 0; i < b->nredis; i++) {
        snprintf(addr[i], sizeof(addr[i]), "127.0.0.1:%d", ports[i]);
        argv[k++] = addr[i];
    }
    argv[k++] = "--cluster-replicas";
    argv[k++] = "0";
    argv[k++] = "--cluster-yes";
    argv[k] = NULL;
    bn_proc_t create;
    memset(&create, 0, sizeof(create));
    if (bn_spawn(b, &create, "cluster-create", argv, NULL, err, n)) return -1;
    double until = ldr_clock_mono_s() + 60;
    while (bn_alive(&create)) {
        if (bn_stop || ldr_clock_mono_s() > until) {
            bn_stop_proc(&create, SIGTERM, 2);
            return bn_fail(err, n,
                           bn_stop ? "interrupted"
                                   : "redis-cli --cluster create "
                                     "did not finish within 60 s");
        }
        ldr_clock_sleep_ms(50);
    }
    char tail[400];
    if (!WIFEXITED(create.status) || WEXITSTATUS(create.status))
        return bn_fail(err, n, "redis-cli --cluster create failed: %s",
                       bn_log_tail(create.log, tail, sizeof(tail)));
    while (!bn_cluster_ok(ports, b->nredis)) {
        if (bn_stop) return bn_fail(err, n, "interrupted");
        if (ldr_clock_mono_s() > until)
            return bn_fail(err, n,
                           "the cluster did not reach "
                           "cluster_state:ok within 60 s");
        ldr_clock_sleep_ms(100);
    }
    return 0;
}

/* Where every partition's keys live: the master serving the slot of its
 * meta key (the router's map is CLUSTER SLOTS, its slot function CLUSTER
 * KEYSLOT's rule; all keys of a partition share one hash tag). */
static int bn_placement(bn_t *b, char *err, size_t n) {
    int masters = ldr_cluster_masters(b->cl);
    if (masters > BN_MAX_MASTERS)
        return bn_fail(err, n, "%d masters, more than %d", masters,
                       BN_MAX_MASTERS);
    memset(b->master_parts, 0, sizeof(b->master_parts));
    for (int i = 0; i < masters; i++) {
        redisContext *c = ldr_cluster_master(b->cl, i, err, n);
        if (!c) return -1;
        snprintf(b->master_addr[i], sizeof(b->master_addr[i]), "%s:%d",
                 c->tcp.host ? c->tcp.host : "?", c->tcp.port);
    }
    char key[LDR_STORE_KEY_SIZE];
    for (int p = 0; p < b->partitions; p++) {
        int len = ldr_store_key(key, sizeof(key), p, LDR_STORE_KEY_META);
        redisContext *c = ldr_cluster_ctx(
            b->cl, ldr_cluster_key_slot(key, (size_t)len), err, n);
        if (!c) return -1;
        b->part_master[p] = -1;
        for (int i = 0; i < masters; i++)
            if (ldr_cluster_master(b->cl, i, err, n) == c)
                b->part_master[p] = i;
        if (b->part_master[p] < 0)
            return bn_fail(err, n, "partition %d: its master is not known", p);
        b->master_parts[b->part_master[p]]++;
    }
    return 0;
}

/* One redis-server, or --redis-cluster M masters joined into a cluster;
 * then the router (b->cl) that every read of Redis goes through. */
static int bn_start_redis(bn_t *b, char *err, size_t n) {
    int ports[BN_MAX_MASTERS];
    b->nredis = b->masters ? b->masters : 1;
    srandom((unsigned)getpid() ^ (unsigned)bn_wall_us());
    size_t off =
        (size_t)snprintf(b->redis_url, sizeof(b->redis_url), "redis://");
    for (int i = 0; i < b->nredis; i++) {
        if (bn_start_redis1(b, i, &ports[i], err, n)) return -1;
        off += (size_t)snprintf(b->redis_url + off, sizeof(b->redis_url) - off,
                                "%s127.0.0.1:%d", i ? "," : "", ports[i]);
    }
    if (!b->masters)
        snprintf(b->redis_url + off, sizeof(b->redis_url) - off, "/0");
    else if (bn_create_cluster(b, ports, err, n))
        return -1;
    ldr_cluster_opts_t o = {.url = b->redis_url,
                            .mode =
                                b->masters ? LDR_CLUSTER_ON : LDR_CLUSTER_OFF,
                            .timeout_ms = 30000};
    if (ldr_cluster_new(&o, &b->cl, err, n)) return -1;
    return 0;
}

static int bn_start_kafka(bn_t *b, char *err, size_t n) {
    char prog[PATH_MAX], parts[16], topics[1024], bootfile[PATH_MAX];
    snprintf(prog, sizeof(prog), "%s/ladder-kafka", b->bindir);
    snprintf(parts, sizeof(parts), "%d", b->partitions);
    snprintf(topics, sizeof(topics), "%s,%s,%s,%s", b->input_topic,
             b->decisions_topic, b->dlq_topic, BN_PASSTHROUGH_TOPIC);
    snprintf(bootfile, sizeof(bootfile), "%s/bootstrap", b->dir);
    char *argv[] = {prog,   "--partitions",     parts,    "--topics",
                    topics, "--bootstrap-file", bootfile, "--die-with-parent",
                    NULL};
    if (bn_spawn(b, &b->kafka, "ladder-kafka", argv, NULL, err, n)) return -1;
    for (int i = 0; i < 300; i++) {
        FILE *f = fopen(bootfile, "r");
        char line[1024] = "";
        if (f) {
            if (!fgets(line, sizeof(line), f)) line[0] = 0;
            fclose(f);
        }
        line[strcspn(line, "\r\n")] = 0;
        if (line[0]) {
            return ldr_config_set(b->cfg, "kafka.bootstrap.servers", line,
                                  "ladder-kafka", err, n)
                       ? -1
                       : 0;
        }
        if (!bn_alive(&b->kafka)) return bn_died(&b->kafka, err, n);
        ldr_clock_sleep_ms(50);
    }
    return bn_fail(err, n,
                   "ladder-kafka did not announce its bootstrap list "
                   "within 15 s");
}

/* Runs ladder-gen for at least @p rows rows of merged history. */
static int bn_generate(bn_t *b, uint64_t rows, char *err, size_t n) {
    char prog[PATH_MAX], scale[32], out[1100], file[PATH_MAX];
    double s = (double)rows / BN_ROWS_PER_SCALE;
    if (s < 0.001) s = 0.001;
    if (s > 10)
        return bn_fail(err, n,
                       "%llu rows of history need ladder-gen --scale %.2f, "
                       "more than its 10",
                       (unsigned long long)rows, s);
    snprintf(prog, sizeof(prog), "%s/ladder-gen", b->bindir);
    snprintf(scale, sizeof(scale), "%.4f", s);
    snprintf(out, sizeof(out), "%s/gen", b->dir);
    char *argv[8] = {prog, "--scale",  scale,   "--seed",
                     "1",  "--single", "--out", out};
    char *argv_full[12];
    size_t k = 0;
    for (size_t i = 0; i < 8; i++)
        argv_full[k++] = argv[i];
    argv_full[k++] = "-q";
    if (b->config_file) {
        argv_full[k++] = "--config";
        argv_full[k++] = (char *)b->config_file;
    }
    argv_full[k] = NULL;
    bn_say(b,
           "generate: ladder-gen --scale %s --seed 1 --single (%llu rows "
           "wanted)",
           scale, (unsigned long long)rows);
    if (bn_spawn(b, &b->gen, "ladder-gen", argv_full, NULL, err, n)) return -1;
    while (bn_alive(&b->gen)) {
        if (bn_stop) return bn_fail(err, n, "interrupted");
        ldr_clock_sleep_ms(100);
    }
    if (!WIFEXITED(b->gen.status) || WEXITSTATUS(b->gen.status) != 0)
        return bn_died(&b->gen, err, n);
    snprintf(file, sizeof(file), "%s/events.csv", out);
    b->feed = fopen(file, "r");
    if (!b->feed) return bn_fail(err, n, "%s: %s", file, strerror(errno));
    ldr_feed_reader_opts_t o = {.format = LDR_FEED_CSV,
                                .validator = NULL,
                                .now_ms = ldr_clock_wall_ms()};
    b->reader = ldr_feed_reader_new(b->feed, &o, err, n);
    return b->reader ? 0 : -1;
}

/* The next row of the history: 1 and *rec, 0 at the end, -1 on error. */
static int bn_next_row(bn_t *b, ldr_record_t *rec, char *err, size_t n) {
    ldr_feed_row_t row;
    if (ldr_feed_reader_next(b->reader, &row, err, n)) return -1;
    if (row.status == LDR_FEED_ROW_END) return 0;
    if (row.status == LDR_FEED_ROW_REJECTED)
        return bn_fail(err, n, "generated history, line %llu: %s: %s",
                       (unsigned long long)row.line, row.field, row.reason);
    *rec = row.rec;
    b->rows_read++;
    return 1;
}

static ldr_str_t bn_uscc(const ldr_record_t *rec) {
    switch (rec->kind) {
    case LDR_RECORD_APPLICATION: return rec->u.application.uscc;
    case LDR_RECORD_REVIEW: return rec->u.review.uscc;
    case LDR_RECORD_VIOLATION: return rec->u.violation.uscc;
    default: return (ldr_str_t){NULL, 0};
    }
}

/* ---- the input producer -------------------------------------------------- */

static void bn_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *op) {
    (void)rk;
    bn_t *b = op;
    if (m->err) {
        if (!b->dr_failed)
            snprintf(b->dr_error, sizeof(b->dr_error), "%s",
                     rd_kafka_err2str(m->err));
        b->dr_failed++;
        return;
    }
    b->delivered++;
    if (!b->track || m->partition < 0 || m->partition >= b->partitions) return;
    int p = m->partition;
    if (m->offset < b->base[p]) return;
    size_t i = (size_t)(m->offset - b->base[p]);
    if (i >= b->ts_cap[p]) {
        size_t cap = b->ts_cap[p] ? b->ts_cap[p] : 1024;
        while (cap <= i)
            cap *= 2;
        b->ts[p] = ldr_realloc(b->ts[p], cap * sizeof(int64_t));
        memset(b->ts[p] + b->ts_cap[p], 0,
               (cap - b->ts_cap[p]) * sizeof(int64_t));
        b->ts_cap[p] = cap;
    }
    /* the send time this program stamped on the message (the timestamp a
     * delivery report carries is the broker's LogAppendTime, which the
     * embedded cluster does not keep) */
    b->ts[p][i] = (int64_t)(intptr_t)m->_private;
    if (i + 1 > b->ts_len[p]) b->ts_len[p] = i + 1;
}

static int bn_produce1(bn_t *b, int32_t partition, const void *key,
                       size_t key_len, const void *val, size_t len, char *err,
                       size_t n) {
    for (;;) {
        int64_t now_ms = ldr_clock_wall_ms();
        rd_kafka_resp_err_t kerr = rd_kafka_producev(
            b->prod, RD_KAFKA_V_TOPIC(b->input_topic),
            RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_KEY(key, key_len),
            RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_TIMESTAMP(now_ms),
            RD_KAFKA_V_OPAQUE((void *)(intptr_t)now_ms),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (kerr == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            /* a full queue stays full while Kafka is gone */
            if (bn_stop) return bn_fail(err, n, "interrupted");
            rd_kafka_poll(b->prod, 10);
            continue;
        }
        if (kerr)
            return bn_fail(err, n, "produce to %s: %s", b->input_topic,
                           rd_kafka_err2str(kerr));
        b->produced++;
        return 0;
    }
}

/* Encodes and produces one row: keyed by USCC (murmur2_random), a tick to
 * every partition, as ladder-feed does. */
static int bn_produce_row(bn_t *b, const ldr_record_t *rec, char *err,
                          size_t n) {
    const void *val;
    size_t len;
    if (ldr_codec_encode(b->codec, rec, &val, &len, err, n)) return -1;
    if (rec->kind == LDR_RECORD_CLOCK_TICK) {
        for (int p = 0; p < b->partitions; p++)
            if (bn_produce1(b, p, NULL, 0, val, len, err, n)) return -1;
        return 0;
    }
    ldr_str_t key = bn_uscc(rec);
    return bn_produce1(b, RD_KAFKA_PARTITION_UA, key.ptr, key.len, val, len,
                       err, n);
}

static int bn_flush(bn_t *b, char *err, size_t n) {
    while (b->delivered + b->dr_failed < b->produced) {
        if (bn_stop) return bn_fail(err, n, "interrupted");
        rd_kafka_flush(b->prod, 100);
    }
    if (b->dr_failed)
        return bn_fail(err, n, "%llu input messages were not delivered: %s",
                       (unsigned long long)b->dr_failed, b->dr_error);
    return 0;
}

/* Produces @p rows rows as fast as the cluster takes them. */
static int bn_produce_rows(bn_t *b, uint64_t rows, const char *what, char *err,
                           size_t n) {
    ldr_record_t rec;
    for (uint64_t i = 0; i < rows; i++) {
        if (bn_stop) return bn_fail(err, n, "interrupted");
        int r = bn_next_row(b, &rec, err, n);
        if (r < 0) return -1;
        if (r == 0)
            return bn_fail(err, n,
                           "the generated history ended after %llu rows "
                           "(%s)",
                           (unsigned long long)b->rows_read, what);
        if (bn_produce_row(b, &rec, err, n)) return -1;
        rd_kafka_poll(b->prod, 0);
        if ((i + 1) % 200000 == 0)
            bn_say(b, "%s: %llu of %llu rows produced", what,
                   (unsigned long long)(i + 1), (unsigned long long)rows);
    }
    return bn_flush(b, err, n);
}

/* The low and high watermarks of every partition of @p topic. */
static int bn_watermarks(bn_t *b, const char *topic, int64_t *lo, int64_t *hi,
                         char *err, size_t n) {
    char e[512];
    if (ldr_kafka_log_bounds(b->prod, topic, b->partitions, lo, hi, 10000, e,
                             sizeof(e)))
        return bn_fail(err, n, "%s", e);
    return 0;
}

static uint64_t bn_sum(const int64_t *v, int n) {
    uint64_t s = 0;
    for (int i = 0; i < n; i++)
        s += (uint64_t)(v[i] > 0 ? v[i] : 0);
    return s;
}

/* Decisions produced so far; 0 when the watermarks cannot be read. */
static uint64_t bn_decisions(bn_t *b) {
    int64_t hi[BN_MAX_PARTITIONS];
    char err[256];
    return bn_watermarks(b, b->decisions_topic, NULL, hi, err, sizeof(err))
               ? 0
               : bn_sum(hi, b->partitions);
}

/* Fails when the cluster evicted any input message: a figure over fewer
 * messages than it says would be wrong. */
static int bn_check_retained(bn_t *b, char *err, size_t n) {
    int64_t lo[BN_MAX_PARTITIONS];
    if (bn_watermarks(b, b->input_topic, lo, NULL, err, n)) return -1;
    for (int p = 0; p < b->partitions; p++)
        if (lo[p] != 0)
            return bn_fail(err, n,
                           "the embedded cluster evicted the first %lld "
                           "messages of %s [%d] (it keeps about 5 MiB per "
                           "partition): give more --partitions",
                           (long long)lo[p], b->input_topic, p);
    return 0;
}

/* ---- Redis --------------------------------------------------------------- */

/* The connection that serves partition @p p's keys. */
static redisContext *bn_part_ctx(bn_t *b, int p, char *err, size_t n) {
    return ldr_cluster_master(b->cl, b->part_master[p], err, n);
}

/* Every partition's stored next offset (0 when none yet): one pipeline per
 * master, the answers read back in the order they were asked (each master
 * answers its own in order). */
static int bn_stored(bn_t *b, int64_t *next, char *err, size_t n) {
    char key[LDR_STORE_KEY_SIZE];
    redisContext *ctx[BN_MAX_PARTITIONS];
    for (int p = 0; p < b->partitions; p++) {
        ldr_store_key(key, sizeof(key), p, LDR_STORE_KEY_META);
        if (!(ctx[p] = bn_part_ctx(b, p, err, n))) return -1;
        redisAppendCommand(ctx[p], "HGET %s next_offset", key);
    }
    b->own_commands += (uint64_t)b->partitions;
    int rc = 0;
    for (int p = 0; p < b->partitions; p++) {
        void *v = NULL;
        if (redisGetReply(ctx[p], &v) != REDIS_OK)
            return bn_fail(err, n, "Redis: %s", ctx[p]->errstr);
        redisReply *r = v;
        next[p] = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
        if (r->type == REDIS_REPLY_ERROR)
            rc = bn_fail(err, n, "HGET next_offset of partition %d: %s", p,
                         r->str);
        freeReplyObject(r);
    }
    return rc;
}

/* A numeric INFO field over every master: their sum, or with @p max the
 * largest (NAN when no master gave it). */
static double bn_info_fold(bn_t *b, const char *section, const char *field,
                           bool max) {
    double acc = max ? NAN : 0, v;
    char e[256];
    for (int i = 0; i < ldr_cluster_masters(b->cl); i++) {
        redisContext *c = ldr_cluster_master(b->cl, i, e, sizeof(e));
        b->own_commands++;
        if (!c || bn_redis_info(c, section, field, &v) != 0) continue;
        if (!max)
            acc += v;
        else if (isnan(acc) || v > acc)
            acc = v;
    }
    return acc;
}

/* A numeric INFO field summed over every master. */
static double bn_info(bn_t *b, const char *section, const char *field) {
    return bn_info_fold(b, section, field, false);
}

/* Redis CPU so far: the servers' and their children's (the AOF rewrite's
 * fork, counted once it has ended). */
static double bn_redis_cpu(bn_t *b) {
    return bn_info(b, "cpu", "used_cpu_sys") +
           bn_info(b, "cpu", "used_cpu_user") +
           bn_info(b, "cpu", "used_cpu_sys_children") +
           bn_info(b, "cpu", "used_cpu_user_children");
}

/* MEMORY USAGE (every element counted: SAMPLES 0) of each of the store's
 * keys, summed by key type. */
static void bn_key_memory(bn_t *b) {
    char key[LDR_STORE_KEY_SIZE], e[256];
    for (int t = 0; t < LDR_STORE_KEY__COUNT; t++) {
        bool global =
            t == LDR_STORE_KEY_PARTITIONS || t == LDR_STORE_KEY_REPLAYS;
        for (int p = 0; p < (global ? 1 : b->partitions); p++) {
            int len = ldr_store_key(key, sizeof(key), p, (ldr_store_key_t)t);
            const char *name = strrchr(key, ':');
            name = name ? name + 1 : key;
            size_t nl = strlen(name);
            if (nl >= sizeof(b->key_type[t])) nl = sizeof(b->key_type[t]) - 1;
            memcpy(b->key_type[t], name, nl);
            b->key_type[t][nl] = '\0';
            redisReply *r = ldr_cluster_command(
                b->cl, ldr_cluster_key_slot(key, (size_t)len), e, sizeof(e),
                "MEMORY USAGE %s SAMPLES 0", key);
            b->own_commands++;
            if (r && r->type == REDIS_REPLY_INTEGER) {
                b->key_bytes[t] += (double)r->integer;
                b->key_count[t]++;
            }
            if (r) freeReplyObject(r);
        }
    }
}

/* The name of ladder-bench's own connections, so that its commands (the
 * forced BGREWRITEAOF among them) are told apart in the SLOWLOG. */
#define BN_CLIENT_NAME "ladder-bench"

/* Empties every master's SLOWLOG and has it keep each command longer
 * than BN_SLOWLOG_US; names the bench's connection to each. */
static void bn_slowlog_reset(bn_t *b) {
    char e[256];
    for (int i = 0; i < ldr_cluster_masters(b->cl); i++) {
        redisContext *c = ldr_cluster_master(b->cl, i, e, sizeof(e));
        if (!c) continue;
        redisReply *r = redisCommand(c, "CLIENT SETNAME %s", BN_CLIENT_NAME);
        if (r) freeReplyObject(r);
        r = redisCommand(
            c, "CONFIG SET slowlog-log-slower-than %d slowlog-max-len 4096",
            BN_SLOWLOG_US);
        if (r) freeReplyObject(r);
        r = redisCommand(c, "SLOWLOG RESET");
        if (r) freeReplyObject(r);
        b->own_commands += 3;
    }
}

/* The longest command every master's SLOWLOG holds (µs), and how many
 * took longer than BN_SLOW_US, into phase @p ph's figures. The bench's
 * own commands do not count: its BGREWRITEAOF lasts as long as the fork,
 * which has a figure of its own (fork_ms). */
static void bn_slowlog_read(bn_t *b, int ph) {
    char e[256], longest[64] = "none";
    b->slow_max_us[ph] = 0;
    b->slow_over[ph] = 0;
    for (int i = 0; i < ldr_cluster_masters(b->cl); i++) {
        redisContext *c = ldr_cluster_master(b->cl, i, e, sizeof(e));
        redisReply *r = c ? redisCommand(c, "SLOWLOG GET 4096") : NULL;
        b->own_commands++;
        if (r && r->type == REDIS_REPLY_ARRAY)
            for (size_t k = 0; k < r->elements; k++) {
                redisReply *en = r->element[k];
                if (en->type != REDIS_REPLY_ARRAY || en->elements < 3 ||
                    en->element[2]->type != REDIS_REPLY_INTEGER)
                    continue;
                double us = (double)en->element[2]->integer;
                redisReply *who = en->elements > 5 ? en->element[5] : NULL;
                if (who && who->type == REDIS_REPLY_STRING &&
                    strcmp(who->str, BN_CLIENT_NAME) == 0)
                    continue;
                if (us > b->slow_max_us[ph]) {
                    b->slow_max_us[ph] = us;
                    redisReply *args = en->elements > 3 ? en->element[3] : NULL;
                    snprintf(longest, sizeof(longest), "%s %s",
                             args && args->type == REDIS_REPLY_ARRAY &&
                                     args->elements > 0
                                 ? args->element[0]->str
                                 : "?",
                             args && args->type == REDIS_REPLY_ARRAY &&
                                     args->elements > 1
                                 ? args->element[1]->str
                                 : "");
                }
                if (us > BN_SLOW_US) b->slow_over[ph]++;
            }
        if (r) freeReplyObject(r);
    }
    bn_say(b, "%s: %llu Redis commands over %d ms, the longest %.1f ms (%s)",
           ph ? "latency" : "sustained", (unsigned long long)b->slow_over[ph],
           BN_SLOW_US / 1000, b->slow_max_us[ph] / 1000, longest);
}

/* Rewrites every master's AOF and waits for the rewrites to end (up to
 * BN_STALL_S): the latency phase starts from a compact file, so that what
 * the earlier phases appended (the script ceiling's million calls among
 * it) does not start a rewrite of its own inside the window, beside the
 * one the phase forces. 0, or -1 with @p err. */
static int bn_compact_aof(bn_t *b, char *err, size_t n) {
    char e[256];
    for (int i = 0; i < ldr_cluster_masters(b->cl); i++) {
        redisContext *c = ldr_cluster_master(b->cl, i, e, sizeof(e));
        if (!c) return bn_fail(err, n, "compacting the AOF: %s", e);
        redisReply *r = redisCommand(c, "BGREWRITEAOF");
        b->own_commands++;
        if (!r) return bn_fail(err, n, "BGREWRITEAOF: %s", c->errstr);
        freeReplyObject(r); /* "already in progress" does as well */
    }
    double start = ldr_clock_mono_s();
    for (;;) {
        double busy = bn_info(b, "persistence", "aof_rewrite_in_progress") +
                      bn_info(b, "persistence", "aof_rewrite_scheduled");
        if (busy == 0) return 0;
        if (ldr_clock_mono_s() - start > BN_STALL_S)
            return bn_fail(err, n,
                           "compacting the AOF: a rewrite still runs after "
                           "%d s",
                           BN_STALL_S);
        if (bn_stop) return bn_fail(err, n, "interrupted");
        usleep(50 * 1000);
    }
}

/* Forces an AOF rewrite on every master, as a busy server's growing AOF
 * would start one: the latency phase measures through it. */
static void bn_force_rewrite(bn_t *b) {
    char e[256];
    for (int i = 0; i < ldr_cluster_masters(b->cl); i++) {
        redisContext *c = ldr_cluster_master(b->cl, i, e, sizeof(e));
        redisReply *r = c ? redisCommand(c, "BGREWRITEAOF") : NULL;
        b->own_commands++;
        /* one that Redis started of itself a moment before is the same
         * rewrite in the middle of the window */
        if (r && (r->type != REDIS_REPLY_ERROR ||
                  strstr(r->str, "already in progress")))
            b->aof_rewrites++;
        if (r && r->type == REDIS_REPLY_ERROR)
            bn_say(b, "latency: BGREWRITEAOF on master %d: %s", i, r->str);
        if (r)
            freeReplyObject(r);
        else
            bn_say(b, "latency: BGREWRITEAOF on master %d: %s", i,
                   c ? c->errstr : e);
    }
    bn_say(b, "latency: BGREWRITEAOF forced on %d of %d master(s)",
           b->aof_rewrites, ldr_cluster_masters(b->cl));
}

static uint64_t bn_enterprises(bn_t *b) {
    uint64_t total = 0;
    char key[LDR_STORE_KEY_SIZE], e[256];
    for (int p = 0; p < b->partitions; p++) {
        int len = ldr_store_key(key, sizeof(key), p, LDR_STORE_KEY_ENT);
        redisReply *r =
            ldr_cluster_command(b->cl, ldr_cluster_key_slot(key, (size_t)len),
                                e, sizeof(e), "HLEN %s", key);
        b->own_commands++;
        if (r && r->type == REDIS_REPLY_INTEGER) total += (uint64_t)r->integer;
        if (r) freeReplyObject(r);
    }
    return total;
}

/* ---- workers ------------------------------------------------------------- */

static int bn_start_worker(bn_t *b, int i, char *err, size_t n) {
    bn_proc_t *w = &b->workers[i];
    static char env[6][512];
    char prog[PATH_MAX], name[32];
    w->http_port = bn_free_port();
    snprintf(env[0], sizeof(env[0]), "LADDER_KAFKA_BOOTSTRAP_SERVERS=%s",
             ldr_config_get(b->cfg, "kafka.bootstrap.servers"));
    snprintf(env[1], sizeof(env[1]), "LADDER_REDIS_URL=%s", b->redis_url);
    snprintf(env[2], sizeof(env[2]), "LADDER_HTTP_LISTEN=127.0.0.1:%d",
             w->http_port);
    snprintf(env[3], sizeof(env[3]), "LADDER_KAFKA_FETCH_WAIT_MAX_MS=%s",
             BN_FETCH_WAIT_MS);
    snprintf(env[4], sizeof(env[4]), "LADDER_KAFKA_SESSION_TIMEOUT_MS=%s",
             BN_SESSION_TIMEOUT_MS);
    char *envp[] = {env[0], env[1], env[2], env[3], env[4], NULL};
    snprintf(prog, sizeof(prog), "%s/ladder-worker", b->bindir);
    snprintf(name, sizeof(name), "worker-%d.%d", b->generation, i);
    char *argv[] = {prog, NULL, NULL, NULL};
    if (b->config_file) {
        argv[1] = "--config";
        argv[2] = (char *)b->config_file;
    }
    return bn_spawn(b, w, name, argv, envp, err, n);
}

static int bn_start_workers(bn_t *b, char *err, size_t n) {
    b->generation++;
    for (int i = 0; i < b->nworkers; i++)
        if (bn_start_worker(b, i, err, n)) return -1;
    return 0;
}

static int bn_workers_alive(bn_t *b, char *err, size_t n) {
    for (int i = 0; i < b->nworkers; i++)
        if (!bn_alive(&b->workers[i])) return bn_died(&b->workers[i], err, n);
    return 0;
}

static size_t bn_curl_discard(char *p, size_t s, size_t nm, void *op) {
    (void)p;
    (void)op;
    return s * nm;
}

/* Waits until every worker answers /readyz with 200. */
static int bn_wait_ready(bn_t *b, char *err, size_t n) {
    CURL *curl = curl_easy_init();
    if (!curl) return bn_fail(err, n, "curl_easy_init failed");
    int rc = -1;
    double until = ldr_clock_mono_s() + BN_STALL_S;
    for (int i = 0; i < b->nworkers; i++) {
        char url[64];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz",
                 b->workers[i].http_port);
        for (;;) {
            if (bn_stop) {
                bn_fail(err, n, "interrupted");
                goto out;
            }
            if (bn_workers_alive(b, err, n)) goto out;
            long code = 0;
            curl_easy_setopt(curl, CURLOPT_URL, url);
            curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 2000L);
            curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, bn_curl_discard);
            if (curl_easy_perform(curl) == CURLE_OK)
                curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
            if (code == 200) break;
            if (ldr_clock_mono_s() > until) {
                bn_fail(err, n, "%s was not ready within %d s",
                        b->workers[i].name, BN_STALL_S);
                goto out;
            }
            ldr_clock_sleep_ms(100);
        }
    }
    rc = 0;
out:
    curl_easy_cleanup(curl);
    return rc;
}

/* The CPU the running workers have used so far, in seconds. */
static double bn_workers_cpu(bn_t *b) {
    double s = 0;
    for (int i = 0; i < b->nworkers; i++)
        s += bn_proc_cpu_s(b->workers[i].pid);
    return s;
}

/* Takes the sustained phase's next mark: @p stored messages at @p now. */
static void bn_mark(bn_t *b, uint64_t stored, double now) {
    if (b->nmarks >= BN_MARKS) return;
    bn_mark_t *m = &b->mark[b->nmarks++];
    if (m > b->mark && m[-1].t == now && m[-1].stored == stored) {
        *m = m[-1]; /* one poll past several marks: sampled once */
        return;
    }
    m->stored = stored;
    m->t = now;
    m->decisions = bn_decisions(b);
    m->worker_cpu = bn_workers_cpu(b);
    m->redis_cpu = bn_redis_cpu(b);
    m->forks = bn_info(b, "stats", "total_forks");
}

/* One tenth of the sustained phase: its rate, the workers' and Redis's
 * CPU per event, the decisions per event and the AOF rewrites started. */
typedef struct bn_tenth {
    double events, rate, worker_us, redis_us, decisions, rewrites;
} bn_tenth_t;

/* Tenth @p k (1-10), between marks k - 1 and k; NAN where nothing was
 * stored in it or no time passed (one poll past two marks). A worker
 * publishes a batch's decisions before Redis stores the batch, so the
 * decisions counted at a mark run ahead of the stored messages by what is
 * in flight: up to BN_AHEAD_BATCHES batches of BN_AHEAD_BATCH messages a
 * partition, whichever worker owns it. A tenth no larger than that has
 * no decisions per event (in a small run the last tenth's decisions were
 * all out at the 90 % mark); a larger one's is off by at most that share
 * of it. */
static bn_tenth_t bn_tenth(const bn_t *b, int k) {
    bn_tenth_t r = {NAN, NAN, NAN, NAN, NAN, NAN};
    if (k < 1 || k >= b->nmarks) return r;
    const bn_mark_t *a = &b->mark[k - 1], *z = &b->mark[k];
    if (z->stored <= a->stored) return r;
    double ev = (double)(z->stored - a->stored);
    double ahead = (double)BN_AHEAD_BATCHES * BN_AHEAD_BATCH * b->partitions;
    r.events = ev;
    r.rate = z->t > a->t ? ev / (z->t - a->t) : NAN;
    r.worker_us = (z->worker_cpu - a->worker_cpu) * 1e6 / ev;
    r.redis_us = (z->redis_cpu - a->redis_cpu) * 1e6 / ev;
    if (ev > ahead && a->decisions && z->decisions >= a->decisions)
        r.decisions = (double)(z->decisions - a->decisions) / ev;
    r.rewrites = z->forks - a->forks;
    return r;
}

/* Polls the stored next offsets until every partition's reaches
 * @p target. *first_s (when not NULL) gets the time the sum first moved
 * past @p from; *last_s the time all were reached. */
static int bn_wait_stored(bn_t *b, const int64_t *target, uint64_t from,
                          const char *what, double *first_s, double *last_s,
                          char *err, size_t n) {
    int64_t next[BN_MAX_PARTITIONS];
    uint64_t total = bn_sum(target, b->partitions), last = from;
    double moved = ldr_clock_mono_s(), said = moved;
    for (;;) {
        if (bn_stop) return bn_fail(err, n, "interrupted");
        if (bn_workers_alive(b, err, n)) return -1;
        if (bn_stored(b, next, err, n)) return -1;
        double now = ldr_clock_mono_s();
        uint64_t sum = 0;
        int done = 1;
        for (int p = 0; p < b->partitions; p++) {
            sum += (uint64_t)next[p];
            if (next[p] < target[p]) done = 0;
        }
        if (first_s && *first_s < 0 && sum > from) {
            *first_s = now;
            /* CPU so far is start-up, group join and the first batches:
             * the steady window starts here */
            if (b->sample_first) bn_mark(b, sum, now);
        }
        while (b->sample_first && b->nmarks > 0 && b->nmarks < BN_MARKS - 1 &&
               sum - from >= (total - from) / 10 * (uint64_t)b->nmarks)
            bn_mark(b, sum, now);
        if (done) {
            if (last_s) *last_s = now;
            return 0;
        }
        if (sum != last) {
            last = sum;
            moved = now;
        }
        if (now - moved > BN_STALL_S)
            return bn_fail(err, n,
                           "%s: the workers are stuck at %llu of %llu input "
                           "messages for %d s",
                           what, (unsigned long long)sum,
                           (unsigned long long)total, BN_STALL_S);
        if (now - said >= 2) {
            said = now;
            bn_say(b, "%s: %llu of %llu input messages stored", what,
                   (unsigned long long)(sum - from),
                   (unsigned long long)(total - from));
        }
        ldr_clock_sleep_ms(BN_POLL_MS);
    }
}

static void bn_stop_workers(bn_t *b) {
    for (int i = 0; i < b->nworkers; i++)
        if (b->workers[i].pid) kill(b->workers[i].pid, SIGTERM);
    for (int i = 0; i < b->nworkers; i++)
        bn_stop_proc(&b->workers[i], SIGTERM, 30);
}

static double bn_workers_hwm_kb(bn_t *b) {
    double m = 0;
    for (int i = 0; i < b->nworkers; i++)
        if (b->workers[i].pid) {
            double kb = bn_proc_hwm_kb(b->workers[i].pid);
            if (kb > m) m = kb;
        }
    return m;
}

/* ---- phases -------------------------------------------------------------- */

static int bn_phase_sustained(bn_t *b, int64_t *hwm, char *err, size_t n) {
    bn_say(b, "backlog: producing %lld rows to %s", b->events, b->input_topic);
    if (bn_produce_rows(b, (uint64_t)b->events, "backlog", err, n)) return -1;
    b->rows_backlog = (uint64_t)b->events;
    if (bn_watermarks(b, b->input_topic, NULL, hwm, err, n) ||
        bn_check_retained(b, err, n))
        return -1;
    b->messages = bn_sum(hwm, b->partitions);
    bn_say(b, "backlog: %llu input messages in %d partitions",
           (unsigned long long)b->messages, b->partitions);

    double cpu0 = bn_redis_cpu(b);
    double cmd0 = bn_info(b, "stats", "total_commands_processed");
    uint64_t own0 = b->own_commands;
    bn_say(b, "sustained: starting %d worker(s)", b->nworkers);
    bn_slowlog_reset(b);
    if (bn_start_workers(b, err, n)) return -1;
    b->first_s = -1;
    b->sample_first = true;
    int rc =
        bn_wait_stored(b, hwm, 0, "sustained", &b->first_s, &b->last_s, err, n);
    b->sample_first = false;
    if (rc) return -1;
    b->rate_worker = b->last_s > b->first_s
                         ? (double)b->messages / (b->last_s - b->first_s)
                         : 0;
    uint64_t own1 = b->own_commands;
    double cmd1 = bn_info(b, "stats", "total_commands_processed");
    b->redis_commands = cmd1 - cmd0 - (double)(own1 - own0) - 1;
    if (b->nmarks < BN_MARKS - 1)
        return bn_fail(err, n,
                       "sustained: the backlog was stored before a "
                       "tenth of it could be timed");
    bn_mark(b, b->messages, b->last_s);
    const bn_mark_t *first = &b->mark[0], *end = &b->mark[BN_MARKS - 1];
    b->worker_cpu_s = end->worker_cpu;
    b->worker_cpu_win_s = end->worker_cpu - first->worker_cpu;
    b->redis_cpu_s = end->redis_cpu - cpu0;
    b->redis_cpu_win_s = end->redis_cpu - first->redis_cpu;
    bn_slowlog_read(b, 0); /* before MEMORY USAGE, itself slow */
    b->mem_bytes = bn_info(b, "memory", "used_memory");
    b->enterprises = bn_enterprises(b);
    bn_key_memory(b);
    b->flat_ratio = bn_tenth(b, 10).rate / bn_tenth(b, 1).rate;
    double kb = bn_workers_hwm_kb(b);
    if (kb > b->rss_kb) b->rss_kb = kb;
    bn_say(b, "sustained: %llu messages in %.2f s, %.0f events/s",
           (unsigned long long)b->messages, b->last_s - b->first_s,
           b->rate_worker);
    bn_stop_workers(b);
    return 0;
}

static int bn_phase_ceilings(bn_t *b, const int64_t *hwm, char *err, size_t n) {
    if (bn_check_retained(b, err, n)) return -1;
    bn_ceiling_args_t a = {.cfg = b->cfg,
                           .codec = b->codec,
                           .input_topic = b->input_topic,
                           .output_topic = BN_PASSTHROUGH_TOPIC,
                           .redis_url = b->redis_url,
                           .partitions = b->partitions,
                           .end = hwm,
                           .stop = &bn_stop};
    bn_say(b, "ceiling: passthrough over the same %llu messages",
           (unsigned long long)b->messages);
    if (bn_ceiling_passthrough(&a, &b->pt, err, n)) return -1;
    bn_say(b, "ceiling: passthrough %.0f events/s", b->pt.rate);
    bn_say(b, "ceiling: one Redis script per event over the same messages");
    if (bn_ceiling_script(&a, &b->sc, err, n)) return -1;
    bn_say(b, "ceiling: one script per event %.0f events/s", b->sc.rate);
    return 0;
}

/* A consumer of the decisions topic from its current end. */
static rd_kafka_t *bn_decisions_consumer(bn_t *b, char *err, size_t n) {
    static const ldr_kafka_prop_t extra[] = {
        {"fetch.wait.max.ms", BN_FETCH_WAIT_MS}};
    int64_t hi[BN_MAX_PARTITIONS];
    if (bn_watermarks(b, b->decisions_topic, NULL, hi, err, n)) return NULL;
    rd_kafka_t *rk =
        bn_kafka_new(b->cfg, RD_KAFKA_CONSUMER, extra, 1, NULL, NULL, err, n);
    if (!rk) return NULL;
    rd_kafka_topic_partition_list_t *tpl =
        rd_kafka_topic_partition_list_new(b->partitions);
    for (int p = 0; p < b->partitions; p++)
        rd_kafka_topic_partition_list_add(tpl, b->decisions_topic, p)->offset =
            hi[p];
    rd_kafka_resp_err_t kerr = rd_kafka_assign(rk, tpl);
    rd_kafka_topic_partition_list_destroy(tpl);
    if (kerr) {
        bn_fail(err, n, "assign %s: %s", b->decisions_topic,
                rd_kafka_err2str(kerr));
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
}

/* Parses "topic/partition/offset". */
static int bn_parse_cause(ldr_str_t cause, int32_t *p, int64_t *off) {
    char buf[400];
    if (cause.len >= sizeof(buf)) return -1;
    memcpy(buf, cause.ptr, cause.len);
    buf[cause.len] = 0;
    char *s2 = strrchr(buf, '/');
    if (!s2) return -1;
    *s2 = 0;
    char *s1 = strrchr(buf, '/');
    if (!s1) return -1;
    char *end;
    long pp = strtol(s1 + 1, &end, 10);
    if (*end) return -1;
    long long oo = strtoll(s2 + 1, &end, 10);
    if (*end) return -1;
    *p = (int32_t)pp;
    *off = oo;
    return 0;
}

/* Decodes a decision message; 0 and *d, or -1 when it is not a decision
 * (the dead-letter topic is separate, but be safe). */
static int bn_decode_decision(bn_t *b, const rd_kafka_message_t *m,
                              ldr_record_t *rec) {
    char derr[256];
    if (ldr_codec_decode(b->codec, m->payload, m->len, rec, NULL, derr,
                         sizeof(derr)) != LDR_OK ||
        rec->kind != LDR_RECORD_DECISION)
        return -1;
    return 0;
}

static int bn_cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, c = *(const double *)y;
    return a < c ? -1 : a > c;
}

/* The latency phase's state between its steps. */
typedef struct bn_lat {
    rd_kafka_t *dec; /* the decisions consumer */
    bn_seen_t *seen; /* every decision read, with its arrival time */
    size_t nseen, seen_cap;
    int64_t hwm[BN_MAX_PARTITIONS];
    uint64_t rows, done_rows, from, produced0, timed_produced0, last_sum;
    double start, said, prod_end, settle, timed_start, next_check, moved;
    int64_t timed_from_ms; /* decisions of rows produced before: warm-up */
    bool have_hwm;
    bool rewrite_forced; /* the BGREWRITEAOF in the middle of the window */
} bn_lat_t;

/* Produces the rows due by @p now at the asked rate; once the last one is
 * out, records the offered rate: 0, or -1 with @p err. */
static int bn_lat_produce(bn_t *b, bn_lat_t *L, double now, char *err,
                          size_t n) {
    while (L->done_rows < L->rows &&
           (double)L->done_rows < (now - L->start) * b->rate) {
        ldr_record_t rec;
        int r = bn_next_row(b, &rec, err, n);
        if (r < 0) return -1;
        if (r == 0) {
            bn_fail(err, n,
                    "the generated history ended after %llu rows "
                    "(latency)",
                    (unsigned long long)b->rows_read);
            return -1;
        }
        if (bn_produce_row(b, &rec, err, n)) return -1;
        L->done_rows++;
    }
    if (L->done_rows == L->rows && L->prod_end < 0) {
        L->prod_end = ldr_clock_mono_s();
        if (L->timed_start < 0) {
            L->timed_start = L->start;
            L->timed_produced0 = L->produced0;
        }
        b->lat_messages = b->produced - L->timed_produced0;
        b->offered_rate =
            (double)b->lat_messages / (L->prod_end - L->timed_start > 0
                                           ? L->prod_end - L->timed_start
                                           : 1);
    }
    return 0;
}

/* Reads every decision waiting, without blocking, and notes its arrival
 * time: 0, or -1 with @p err. */
static int bn_lat_read(bn_t *b, bn_lat_t *L, char *err, size_t n) {
    rd_kafka_message_t *m;
    while ((m = rd_kafka_consumer_poll(L->dec, 0)) != NULL) {
        int64_t arrival = bn_wall_us();
        ldr_record_t rec;
        int32_t p;
        int64_t off;
        if (!m->err && bn_decode_decision(b, m, &rec) == 0 &&
            bn_parse_cause(rec.u.decision.cause, &p, &off) == 0) {
            if (L->nseen == L->seen_cap) {
                L->seen_cap = L->seen_cap ? L->seen_cap * 2 : 4096;
                L->seen = ldr_realloc(L->seen, L->seen_cap * sizeof(*L->seen));
            }
            L->seen[L->nseen++] = (bn_seen_t){p, off, arrival};
        } else if (m->err) {
            bn_fail(err, n, "reading %s: %s", b->decisions_topic,
                    rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            return -1;
        }
        rd_kafka_message_destroy(m);
    }
    return 0;
}

/* All produced: once every message is acknowledged and the workers stored
 * it all, read the decisions one more second. Checked without blocking,
 * so that decisions keep being read (and timed) as they arrive. 1 when
 * the phase is over, 0 to go on, -1 with @p err. */
static int bn_lat_settle(bn_t *b, bn_lat_t *L, double now, char *err,
                         size_t n) {
    if (L->settle >= 0) return now - L->settle > 1.0;
    if (now < L->next_check) return 0;
    L->next_check = now + 0.05;
    if (!L->have_hwm && b->delivered + b->dr_failed >= b->produced) {
        if (bn_flush(b, err, n) ||
            bn_watermarks(b, b->input_topic, NULL, L->hwm, err, n))
            return -1;
        L->have_hwm = true;
    }
    if (!L->have_hwm) return 0;
    int64_t next[BN_MAX_PARTITIONS];
    if (bn_stored(b, next, err, n)) return -1;
    int done = 1;
    uint64_t sum = bn_sum(next, b->partitions);
    for (int p = 0; p < b->partitions; p++)
        if (next[p] < L->hwm[p]) done = 0;
    if (done) L->settle = now;
    if (sum != L->last_sum) {
        L->last_sum = sum;
        L->moved = now;
    } else if (now - L->moved > BN_STALL_S) {
        bn_fail(err, n,
                "latency: the workers are stuck at %llu of "
                "%llu input messages for %d s",
                (unsigned long long)(sum - L->from),
                (unsigned long long)(bn_sum(L->hwm, b->partitions) - L->from),
                BN_STALL_S);
        return -1;
    }
    return 0;
}

/* Matches each decision to the time its input was produced and computes
 * the percentiles of those after the warm-up. */
static void bn_lat_figures(bn_t *b, const bn_lat_t *L) {
    b->lat_rows = L->rows;
    double *lat = ldr_malloc((L->nseen ? L->nseen : 1) * sizeof(double));
    size_t nlat = 0;
    for (size_t i = 0; i < L->nseen; i++) {
        const bn_seen_t *s = &L->seen[i];
        int32_t p = s->partition;
        if (p < 0 || p >= b->partitions || s->offset < b->base[p] ||
            (size_t)(s->offset - b->base[p]) >= b->ts_len[p] ||
            b->ts[p][s->offset - b->base[p]] <= 0) {
            b->lat_unmatched++;
            continue;
        }
        int64_t ts_ms = b->ts[p][s->offset - b->base[p]];
        if (ts_ms < L->timed_from_ms) continue; /* warm-up */
        lat[nlat++] = (double)(s->arrival_us - ts_ms * 1000) / 1000.0;
    }
    b->lat_samples = nlat;
    if (nlat) {
        qsort(lat, nlat, sizeof(double), bn_cmp_double);
        b->p50_ms = lat[(size_t)((double)(nlat - 1) * 0.5)];
        size_t i99 = (size_t)ceil(0.99 * (double)nlat);
        b->p99_ms = lat[i99 ? i99 - 1 : 0];
        b->max_ms = lat[nlat - 1];
    }
    bn_say(b,
           "latency: %llu decisions timed: p50 %.1f ms, p99 %.1f ms, max "
           "%.1f ms",
           (unsigned long long)nlat, b->p50_ms, b->p99_ms, b->max_ms);
    free(lat);
}

static int bn_phase_latency(bn_t *b, char *err, size_t n) {
    int rc = -1;
    bn_lat_t L = {.rows = (uint64_t)(b->rate * (b->latency_s + BN_WARMUP_S)),
                  .prod_end = -1,
                  .settle = -1,
                  .timed_start = -1};

    bn_say(b, "latency: compacting the AOF first (BGREWRITEAOF)");
    if (bn_compact_aof(b, err, n)) goto out;
    bn_say(b, "latency: starting %d worker(s)", b->nworkers);
    if (bn_start_workers(b, err, n) || bn_wait_ready(b, err, n)) goto out;
    L.dec = bn_decisions_consumer(b, err, n);
    if (!L.dec) goto out;
    if (bn_watermarks(b, b->input_topic, NULL, b->base, err, n)) goto out;
    L.from = bn_sum(b->base, b->partitions);
    b->track = true;
    bn_say(b, "latency: producing %llu rows at %.0f events/s",
           (unsigned long long)L.rows, b->rate);
    L.produced0 = b->produced;
    L.start = L.said = L.moved = ldr_clock_mono_s();
    L.timed_from_ms = ldr_clock_wall_ms() + BN_WARMUP_S * 1000;
    for (;;) {
        if (bn_stop) {
            bn_fail(err, n, "interrupted");
            goto out;
        }
        double now = ldr_clock_mono_s();
        if (L.timed_start < 0 && ldr_clock_wall_ms() >= L.timed_from_ms) {
            L.timed_start = now;
            L.timed_produced0 = b->produced;
            bn_slowlog_reset(b);
        }
        if (!L.rewrite_forced && L.timed_start >= 0 &&
            now - L.timed_start >= b->latency_s / 2.0) {
            L.rewrite_forced = true;
            bn_force_rewrite(b);
        }
        if (bn_lat_produce(b, &L, now, err, n)) goto out;
        rd_kafka_poll(b->prod, 0);
        if (bn_lat_read(b, &L, err, n)) goto out;
        now = ldr_clock_mono_s();
        if (now - L.said >= 2) {
            L.said = now;
            bn_say(b, "latency: %llu of %llu rows produced, %zu decisions seen",
                   (unsigned long long)L.done_rows, (unsigned long long)L.rows,
                   L.nseen);
        }
        if (L.prod_end >= 0) {
            int r = bn_lat_settle(b, &L, now, err, n);
            if (r < 0) goto out;
            if (r > 0) break;
        }
        if (bn_workers_alive(b, err, n)) goto out;
        ldr_clock_sleep_ms(1);
    }
    b->track = false;
    bn_slowlog_read(b, 1);
    /* the fork of the phase's rewrite, the longest over the masters */
    b->fork_ms = bn_info_fold(b, "stats", "latest_fork_usec", true) / 1000;
    bn_lat_figures(b, &L);
    rc = 0;
out:
    b->track = false;
    if (L.dec) {
        rd_kafka_consumer_close(L.dec);
        rd_kafka_destroy(L.dec);
    }
    free(L.seen);
    return rc;
}

static int bn_phase_restart(bn_t *b, char *err, size_t n) {
    int rc = -1;
    rd_kafka_t *dec = NULL;
    int64_t hwm[BN_MAX_PARTITIONS], next[BN_MAX_PARTITIONS];
    uint64_t rows = (uint64_t)(b->events / 10 > 2000 ? b->events / 10 : 2000);
    dec = bn_decisions_consumer(b, err, n);
    if (!dec) goto out;
    if (bn_stored(b, next, err, n)) goto out;
    uint64_t from = bn_sum(next, b->partitions);
    /* The first half makes the backlog; the worker is killed once it has
     * stored a quarter of it, and the second half is produced after the
     * kill, so a backlog is left whatever the worker's speed. */
    bn_say(b, "restart: producing %llu rows; SIGKILL of %s midway",
           (unsigned long long)rows, b->workers[0].name);
    if (bn_produce_rows(b, rows / 2, "restart", err, n) ||
        bn_watermarks(b, b->input_topic, NULL, hwm, err, n))
        goto out;
    uint64_t half = bn_sum(hwm, b->partitions) - from;
    for (;;) {
        if (bn_stop) {
            bn_fail(err, n, "interrupted");
            goto out;
        }
        if (bn_workers_alive(b, err, n) || bn_stored(b, next, err, n)) goto out;
        if (bn_sum(next, b->partitions) - from >= half / 4) break;
        ldr_clock_sleep_ms(5);
    }
    double kb = bn_workers_hwm_kb(b);
    if (kb > b->rss_kb) b->rss_kb = kb;
    int64_t kill_ms = ldr_clock_wall_ms();
    kill(b->workers[0].pid, SIGKILL);
    waitpid(b->workers[0].pid, &b->workers[0].status, 0);
    b->workers[0].pid = 0;
    b->generation++;
    if (bn_start_worker(b, 0, err, n)) goto out;
    bn_say(b, "restart: %s killed, %s started", "worker", b->workers[0].name);
    if (bn_produce_rows(b, rows - rows / 2, "restart", err, n) ||
        bn_watermarks(b, b->input_topic, NULL, hwm, err, n))
        goto out;
    if (bn_stored(b, next, err, n)) goto out;
    b->restart_backlog =
        bn_sum(hwm, b->partitions) - bn_sum(next, b->partitions);
    double until = ldr_clock_mono_s() + BN_STALL_S;
    while (!b->restart_done && ldr_clock_mono_s() < until) {
        if (bn_stop) {
            bn_fail(err, n, "interrupted");
            goto out;
        }
        if (bn_workers_alive(b, err, n)) goto out;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(dec, 10);
        if (!m) continue;
        int64_t arrival = ldr_clock_wall_ms();
        ldr_record_t rec;
        if (!m->err && bn_decode_decision(b, m, &rec) == 0 &&
            rec.u.decision.decided_at >= kill_ms) {
            b->restart_done = true;
            b->restart_s = (double)(arrival - kill_ms) / 1000.0;
        }
        rd_kafka_message_destroy(m);
    }
    if (b->restart_done)
        bn_say(b, "restart: first new decision %.2f s after the SIGKILL",
               b->restart_s);
    else
        bn_say(b, "restart: no new decision within %d s of the SIGKILL",
               BN_STALL_S);
    if (bn_wait_stored(b, hwm, from, "restart", NULL, NULL, err, n)) goto out;
    kb = bn_workers_hwm_kb(b);
    if (kb > b->rss_kb) b->rss_kb = kb;
    rc = 0;
out:
    if (dec) {
        rd_kafka_consumer_close(dec);
        rd_kafka_destroy(dec);
    }
    return rc;
}

/* ---- the report -----------------------------------------------------------
 */

typedef struct bn_row {
    const char *key;   /* JSON name */
    const char *label; /* table text */
    double value;      /* NAN: not measured */
    const char *unit;
    int decimals;       /* of the value */
    const char *target; /* text, or NULL */
    int met;            /* 1 met, 0 missed, -1 no target */
} bn_row_t;

static int bn_met(bool measured, bool ok) {
    return !measured ? 0 : ok;
}

/* The figures as one JSON object (--json) on stdout. */
static void bn_report_json(const bn_t *b, const bn_row_t *rows, size_t nrows) {
    json_t *o = json_object();
    json_t *run = json_pack(
        "{s:I, s:I, s:i, s:i, s:f, s:i, s:I, s:I, s:I, s:f, s:I, s:I, "
        "s:s, s:s, s:i}",
        "events", (json_int_t)b->rows_backlog, "input_messages",
        (json_int_t)b->messages, "partitions", b->partitions, "workers",
        b->nworkers, "rate", b->rate, "latency_seconds", b->latency_s,
        "latency_messages", (json_int_t)b->lat_messages, "latency_samples",
        (json_int_t)b->lat_samples, "enterprises", (json_int_t)b->enterprises,
        "offered_rate", b->offered_rate, "restart_backlog",
        (json_int_t)b->restart_backlog, "script_pipeline",
        (json_int_t)BN_SCRIPT_PIPELINE, "redis", "AOF on, appendfsync everysec",
        "worker_kafka",
        "fetch.wait.max.ms=" BN_FETCH_WAIT_MS
        ", session.timeout.ms=" BN_SESSION_TIMEOUT_MS,
        "redis_masters", b->masters);
    /* where the partitions' keys live: one entry per master */
    json_t *pl = json_array();
    for (int i = 0; i < b->nredis; i++)
        json_array_append_new(pl,
                              json_pack("{s:s, s:i}", "node", b->master_addr[i],
                                        "partitions", b->master_parts[i]));
    json_object_set_new(run, "partitions_per_master", pl);
    json_object_set_new(run, "aof_rewrites_forced",
                        json_integer(b->aof_rewrites));
    json_object_set_new(o, "run", run);
    /* MEMORY USAGE by key type, after the backlog */
    json_t *mem = json_array();
    for (int t = 0; t < LDR_STORE_KEY__COUNT; t++)
        json_array_append_new(
            mem, json_pack("{s:s, s:i, s:f, s:o}", "type", b->key_type[t],
                           "keys", b->key_count[t], "bytes", b->key_bytes[t],
                           "bytes_per_enterprise",
                           b->enterprises ? json_real(b->key_bytes[t] /
                                                      (double)b->enterprises)
                                          : json_null()));
    json_object_set_new(o, "memory_by_key_type", mem);
    /* the sustained phase tenth by tenth */
    json_t *tenths = json_array();
    for (int k = 1; k < BN_MARKS; k++) {
        bn_tenth_t t = bn_tenth(b, k);
        double v[] = {t.rate, t.worker_us, t.redis_us, t.decisions};
        const char *name[] = {"events_per_s", "worker_cpu_us_per_event",
                              "redis_cpu_us_per_event", "decisions_per_event"};
        json_t *row = json_pack("{s:i}", "tenth", k);
        json_object_set_new(
            row, "events",
            isnan(t.events) ? json_null() : json_integer((json_int_t)t.events));
        for (size_t i = 0; i < LDR_ARRAY_SIZE(v); i++)
            json_object_set_new(row, name[i],
                                isnan(v[i]) ? json_null() : json_real(v[i]));
        json_object_set_new(row, "aof_rewrites_started",
                            isnan(t.rewrites)
                                ? json_null()
                                : json_integer((json_int_t)t.rewrites));
        json_array_append_new(tenths, row);
    }
    json_object_set_new(o, "sustained_by_tenth", tenths);
    json_t *fig = json_object();
    for (size_t i = 0; i < nrows; i++) {
        json_t *r = json_object();
        json_object_set_new(r, "value",
                            isnan(rows[i].value) ? json_null()
                                                 : json_real(rows[i].value));
        json_object_set_new(r, "unit", json_string(rows[i].unit));
        if (rows[i].target) {
            json_object_set_new(r, "target", json_string(rows[i].target));
            json_object_set_new(r, "met", json_boolean(rows[i].met == 1));
        }
        json_object_set_new(fig, rows[i].key, r);
    }
    json_object_set_new(o, "figures", fig);
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(o);
}

/* The run and the figures as a table on stdout. */
static void bn_report_table(const bn_t *b, const bn_row_t *rows, size_t nrows) {
    printf("ladder-worker: ladder-bench\n");
    printf("  %llu events (%llu input messages: ticks go to every "
           "partition), %d partitions, %d worker(s),\n"
           "  Redis AOF on with appendfsync everysec, worker kafka "
           "fetch.wait.max.ms=" BN_FETCH_WAIT_MS
           " session.timeout.ms=" BN_SESSION_TIMEOUT_MS ";\n"
           "  latency: %llu input messages offered at %.0f events/s "
           "(asked %.0f) for %d s, %llu decisions timed;\n"
           "  restart: SIGKILL with %llu input messages left; %llu "
           "enterprises stored;\n",
           (unsigned long long)b->rows_backlog, (unsigned long long)b->messages,
           b->partitions, b->nworkers, (unsigned long long)b->lat_messages,
           b->offered_rate, b->rate, b->latency_s,
           (unsigned long long)b->lat_samples,
           (unsigned long long)b->restart_backlog,
           (unsigned long long)b->enterprises);
    if (b->masters) {
        printf("  Redis Cluster: %d masters, no replicas; partitions per "
               "master (by slot):",
               b->nredis);
        for (int i = 0; i < b->nredis; i++)
            printf(" %s %d", b->master_addr[i], b->master_parts[i]);
        printf("\n");
    } else {
        printf("  Redis: one redis-server\n");
    }
    printf("\n");
    printf("%-36s %14s %-9s %-40s %s\n", "figure", "value", "unit", "target",
           "");
    for (size_t i = 0; i < nrows; i++) {
        char v[32];
        if (isnan(rows[i].value))
            snprintf(v, sizeof(v), "n/a");
        else
            snprintf(v, sizeof(v), "%.*f", rows[i].decimals, rows[i].value);
        printf("%-36s %14s %-9s %-40s %s\n", rows[i].label, v, rows[i].unit,
               rows[i].target ? rows[i].target : "-",
               rows[i].met < 0 ? ""
               : rows[i].met   ? "met"
                               : "MISSED");
    }
    printf("\nRedis MEMORY USAGE by key type after the backlog (every "
           "partition):\n");
    printf("%-12s %6s %14s %22s\n", "key type", "keys", "bytes",
           "bytes per enterprise");
    for (int t = 0; t < LDR_STORE_KEY__COUNT; t++)
        printf("%-12s %6d %14.0f %22.1f\n", b->key_type[t], b->key_count[t],
               b->key_bytes[t],
               b->enterprises ? b->key_bytes[t] / (double)b->enterprises : NAN);
    printf("\nThe sustained phase by tenth of the backlog (AOF rewrites: "
           "started in it):\n");
    printf("%5s %10s %10s %12s %12s %13s %9s\n", "tenth", "events", "events/s",
           "worker us/ev", "Redis us/ev", "decisions/ev", "rewrites");
    for (int k = 1; k < BN_MARKS; k++) {
        bn_tenth_t t = bn_tenth(b, k);
        double v[] = {t.events,   t.rate,      t.worker_us,
                      t.redis_us, t.decisions, t.rewrites};
        int width[] = {10, 10, 12, 12, 13, 9}, decimals[] = {0, 0, 2, 2, 2, 0};
        printf("%5d", k);
        for (size_t i = 0; i < LDR_ARRAY_SIZE(v); i++)
            if (isnan(v[i]))
                printf(" %*s", width[i], "n/a");
            else
                printf(" %*.*f", width[i], decimals[i], v[i]);
        printf("\n");
    }
    fflush(stdout);
}

static void bn_report(bn_t *b) {
    char lat_label[96], tgt_rate[64];
    snprintf(lat_label, sizeof(lat_label), "decision latency p50 at %.0f ev/s",
             b->rate);
    snprintf(tgt_rate, sizeof(tgt_rate),
             ">= 100,000 events/s (1,000,000 "
             "events)");
    double mem = b->enterprises
                     ? (b->mem_bytes - b->baseline_mem) / (double)b->enterprises
                     : NAN;
    double rss_mb = b->rss_kb / 1024.0;
    double ratio_pt = b->pt.rate > 0 ? b->rate_worker / b->pt.rate : NAN;
    double ratio_sc = b->sc.rate > 0 ? b->rate_worker / b->sc.rate : NAN;
    double per = b->messages ? 1e6 / (double)b->messages : NAN;
    uint64_t win = b->nmarks ? b->messages - b->mark[0].stored : 0;
    double per_win = win ? 1e6 / (double)win : NAN;
    bool lat = b->lat_samples > 0;
    double w_us = b->worker_cpu_win_s * per_win;
    double r_us = b->redis_cpu_win_s * per_win;
    /* the same costs over the first and the last tenth of the backlog: is
     * a falling rate the worker's cost or Redis's? */
    bn_tenth_t t1 = bn_tenth(b, 1), t10 = bn_tenth(b, 10);
    double w10 = t1.worker_us, w90 = t10.worker_us;
    double rc10 = t1.redis_us, rc90 = t10.redis_us;
    double d10 = t1.decisions, d90 = t10.decisions;
    bn_row_t rows[] = {
        {"sustained_events_per_s", "sustained rate (worker)", b->rate_worker,
         "events/s", 0, tgt_rate, b->rate_worker >= TARGET_RATE},
        {"passthrough_events_per_s", "ceiling: passthrough", b->pt.rate,
         "events/s", 0, NULL, -1},
        {"script_per_event_events_per_s", "ceiling: one Redis script/event",
         b->sc.rate, "events/s", 0, NULL, -1},
        {"ratio_to_passthrough", "worker / passthrough", ratio_pt * 100, "%", 1,
         ">= 60 %", bn_met(!isnan(ratio_pt), ratio_pt >= TARGET_RATIO_PT)},
        {"ratio_to_script_per_event", "worker / one script per event",
         ratio_sc * 100, "%", 1, NULL, -1},
        {"flatness_last_to_first_10pct", "rate last 10 % / first 10 %",
         b->flat_ratio, "", 2, ">= 0.90 (2,000,000 events)",
         bn_met(!isnan(b->flat_ratio), b->flat_ratio >= TARGET_FLAT)},
        {"latency_p50_ms", lat_label, lat ? b->p50_ms : NAN, "ms", 1, NULL, -1},
        {"latency_p99_ms", "decision latency p99", lat ? b->p99_ms : NAN, "ms",
         1, "<= 50 ms at 20,000 ev/s, BGREWRITEAOF",
         bn_met(lat, b->p99_ms <= TARGET_P99_MS)},
        {"latency_max_ms", "decision latency max", lat ? b->max_ms : NAN, "ms",
         1, "<= 500 ms", bn_met(lat, b->max_ms <= TARGET_MAX_MS)},
        {"worker_cpu_us_per_event", "worker CPU per event (steady)", w_us, "us",
         2, "<= 8 us", bn_met(!isnan(w_us), w_us <= TARGET_WORKER_US)},
        {"redis_cpu_us_per_event", "Redis CPU per event (steady)", r_us, "us",
         2, "<= 4 us (AOF rewrite child included)",
         bn_met(!isnan(r_us), r_us <= TARGET_REDIS_US)},
        {"decisions_per_event_first_10pct", "decisions per event (first 10 %)",
         d10, "", 2, NULL, -1},
        {"decisions_per_event_last_10pct", "decisions per event (last 10 %)",
         d90, "", 2, NULL, -1},
        {"worker_cpu_us_per_event_first_10pct",
         "worker CPU per event (first 10 %)", w10, "us", 2, NULL, -1},
        {"worker_cpu_us_per_event_last_10pct",
         "worker CPU per event (last 10 %)", w90, "us", 2, NULL, -1},
        {"redis_cpu_us_per_event_first_10pct",
         "Redis CPU per event (first 10 %)", rc10, "us", 2, NULL, -1},
        {"redis_cpu_us_per_event_last_10pct", "Redis CPU per event (last 10 %)",
         rc90, "us", 2, NULL, -1},
        {"worker_cpu_us_per_event_all", "worker CPU per event (whole run)",
         b->worker_cpu_s * per, "us", 2, NULL, -1},
        {"redis_cpu_us_per_event_all", "Redis CPU per event (whole run)",
         b->redis_cpu_s * per, "us", 2, NULL, -1},
        {"redis_longest_command_ms", "longest Redis command (backlog)",
         b->slow_max_us[0] / 1000, "ms", 2, "<= 5 ms",
         b->slow_max_us[0] <= BN_SLOW_US},
        {"redis_commands_over_5ms", "Redis commands over 5 ms (backlog)",
         (double)b->slow_over[0], "", 0, NULL, -1},
        {"redis_longest_command_latency_ms", "longest Redis command (latency)",
         b->slow_max_us[1] / 1000, "ms", 2, "<= 5 ms",
         bn_met(lat, b->slow_max_us[1] <= BN_SLOW_US)},
        {"redis_commands_over_5ms_latency",
         "Redis commands over 5 ms (latency)", (double)b->slow_over[1], "", 0,
         NULL, -1},
        {"aof_rewrite_fork_ms", "AOF rewrite fork (latency)",
         lat ? b->fork_ms : NAN, "ms", 2, NULL, -1},
        {"redis_commands_per_event", "Redis commands per event",
         b->redis_commands / (double)(b->messages ? b->messages : 1), "", 4,
         NULL, -1},
        {"redis_bytes_per_enterprise", "Redis memory per enterprise", mem,
         "bytes", 0, "<= 400 bytes",
         bn_met(!isnan(mem), mem <= TARGET_MEM_BYTES)},
        {"worker_peak_rss_mb", "worker peak RSS (VmHWM)", rss_mb, "MB", 1,
         "<= 256 MB", bn_met(rss_mb > 0, rss_mb <= TARGET_RSS_MB)},
        {"restart_to_first_decision_s", "restart to first decision",
         b->restart_done ? b->restart_s : NAN, "s", 2,
         "<= 10 s (session.timeout.ms 6000)",
         bn_met(b->restart_done, b->restart_s <= TARGET_RESTART_S)},
    };
    size_t nrows = LDR_ARRAY_SIZE(rows);
    if (b->json)
        bn_report_json(b, rows, nrows);
    else
        bn_report_table(b, rows, nrows);
}

/* ---- main ------------------------------------------------------------------
 */

static void bn_usage(FILE *out) {
    fprintf(out,
            "Usage: ladder-bench [OPTION]...\n"
            "Runs the embedded stack (ladder-kafka, a private redis-server "
            "with AOF\n"
            "everysec, ladder-gen, ladder-worker) and prints one table of "
            "figures\n"
            "measured in the same run (docs/BENCHMARKS.md).\n\n"
            "  --events N            backlog of N generated events "
            "(default 1000000)\n"
            "  --partitions N        input partitions (default: 8, or as "
            "many as the\n"
            "                        backlog needs: the embedded cluster "
            "keeps about\n"
            "                        5 MiB per partition)\n"
            "  --rate R              offered events/s of the latency phase "
            "(default 20000)\n"
            "  --latency-seconds S   length of the latency phase (default "
            "20)\n"
            "  --workers N           workers, 1 to %d (default 1)\n"
            "  --redis-cluster M     a Redis Cluster of M masters (%d to %d, "
            "no\n"
            "                        replicas) instead of one redis-server\n"
            "  --keep                keep the temporary directory (logs, "
            "AOF, history)\n"
            "  --json                print the figures as JSON instead of "
            "a table\n"
            "  --config FILE         ladder configuration (kafka.* for every "
            "client;\n"
            "                        also given to ladder-gen and the "
            "workers; not\n"
            "                        schema.registry.url: the private "
            "stack uses the\n"
            "                        local schema ids)\n"
            "  --help                show this help and exit\n"
            "  --version             show the version and exit\n\n"
            "Progress goes to stderr. Exit status: 0 the run completed "
            "(targets are\n"
            "shown as met or MISSED in the table), 1 the run failed, 2 "
            "usage.\n",
            BN_MAX_WORKERS, BN_MIN_MASTERS, BN_MAX_MASTERS);
}

static int bn_parse_ll(const char *opt, const char *s, long long lo,
                       long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr,
                PROG ": %s: '%s' is not a whole number from %lld to "
                     "%lld\n",
                opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static void bn_cleanup(bn_t *b) {
    for (int i = 0; i < BN_MAX_WORKERS; i++)
        bn_stop_proc(&b->workers[i], SIGTERM, 10);
    bn_stop_proc(&b->gen, SIGTERM, 5);
    if (b->prod) {
        rd_kafka_flush(b->prod, 2000);
        rd_kafka_destroy(b->prod);
    }
    bn_stop_proc(&b->kafka, SIGTERM, 10);
    ldr_cluster_destroy(b->cl);
    for (int i = 0; i < BN_MAX_MASTERS; i++)
        bn_stop_proc(&b->redis[i], SIGTERM, 10);
    if (b->reader) ldr_feed_reader_destroy(b->reader);
    if (b->feed) fclose(b->feed);
    if (b->dir[0]) {
        if (b->keep)
            fprintf(stderr, PROG ": logs and data kept in %s\n", b->dir);
        else
            nftw(b->dir, bn_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (b->ts)
        for (int p = 0; p < b->partitions; p++)
            free(b->ts[p]);
    free(b->ts);
    free(b->ts_len);
    free(b->ts_cap);
    free(b->base);
    ldr_codec_destroy(b->codec);
    ldr_schemas_destroy(b->schemas);
    ldr_config_destroy(b->cfg);
}

/* Reads the backlog rows once to size the partitions: the encoded bytes
 * must fit in the embedded cluster's retention. */
static int bn_size_partitions(bn_t *b, uint64_t rows, char *err, size_t n) {
    double bytes = 0;
    uint64_t ticks = 0;
    ldr_record_t rec;
    for (uint64_t i = 0; i < rows; i++) {
        if (bn_stop) return bn_fail(err, n, "interrupted");
        int r = bn_next_row(b, &rec, err, n);
        if (r < 0) return -1;
        if (r == 0)
            return bn_fail(err, n, "the generated history has only %llu rows",
                           (unsigned long long)i);
        const void *val;
        size_t len;
        if (ldr_codec_encode(b->codec, &rec, &val, &len, err, n)) return -1;
        if (rec.kind == LDR_RECORD_CLOCK_TICK) ticks++;
        bytes += (double)len + (double)bn_uscc(&rec).len + BN_RECORD_OVERHEAD;
    }
    int need = (int)ceil(bytes / BN_PARTITION_BYTES);
    if (b->partitions_opt) {
        b->partitions = b->partitions_opt;
        /* ticks are produced to every partition */
        if (bytes / b->partitions + (double)ticks * 80 > BN_PARTITION_BYTES) {
            b->usage_error = true;
            return bn_fail(err, n,
                           "--partitions %d: %lld events take about %.0f MB, "
                           "more than the embedded cluster keeps in %d "
                           "partitions (about 5 MiB each); give at least %d",
                           b->partitions, b->events, bytes / 1e6, b->partitions,
                           need + 1);
        }
    } else {
        b->partitions = need + 1 > 8 ? need + 1 : 8;
    }
    if (b->partitions > BN_MAX_PARTITIONS)
        return bn_fail(err, n, "%d partitions needed, more than %d",
                       b->partitions, BN_MAX_PARTITIONS);
    /* read again from the start */
    ldr_feed_reader_destroy(b->reader);
    b->reader = NULL;
    rewind(b->feed);
    b->rows_read = 0;
    ldr_feed_reader_opts_t o = {.format = LDR_FEED_CSV,
                                .validator = NULL,
                                .now_ms = ldr_clock_wall_ms()};
    b->reader = ldr_feed_reader_new(b->feed, &o, err, n);
    return b->reader ? 0 : -1;
}

static int bn_run(bn_t *b, char *err, size_t n) {
    char self[PATH_MAX], pbuf[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (len <= 0) return bn_fail(err, n, "/proc/self/exe: %s", strerror(errno));
    self[len] = 0;
    char *slash = strrchr(self, '/');
    if (slash) *slash = 0;
    if (strlen(self) >= sizeof(b->bindir) - 32)
        return bn_fail(err, n, "%s: path too long", self);
    memcpy(b->bindir, self, strlen(self) + 1);
    const char *progs[] = {"ladder-kafka", "ladder-gen", "ladder-worker"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(pbuf, sizeof(pbuf), "%s/%s", b->bindir, progs[i]);
        if (access(pbuf, X_OK))
            return bn_fail(err, n,
                           "%s: %s (ladder-bench runs the programs "
                           "built beside it)",
                           pbuf, strerror(errno));
    }
    b->schemas = ldr_schemas_load(
        ldr_config_data_path(ldr_config_get(b->cfg, "schemas.dir"), pbuf,
                             sizeof(pbuf)),
        err, n);
    if (!b->schemas) return -1;
    b->codec = ldr_codec_new(b->schemas, err, n);
    if (!b->codec) return -1;

    const char *tmp = getenv("TMPDIR");
    snprintf(b->dir, sizeof(b->dir), "%s/ladder-bench.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(b->dir)) {
        int e = errno;
        char d[PATH_MAX];
        snprintf(d, sizeof(d), "%s", b->dir);
        b->dir[0] = 0;
        return bn_fail(err, n, "%s: %s", d, strerror(e));
    }
    bn_say(b, "working in %s", b->dir);

    uint64_t lat_rows = (uint64_t)(b->rate * (b->latency_s + BN_WARMUP_S));
    uint64_t restart_rows =
        (uint64_t)(b->events / 10 > 2000 ? b->events / 10 : 2000);
    if (bn_generate(b, (uint64_t)b->events + lat_rows + restart_rows, err, n) ||
        bn_size_partitions(b, (uint64_t)b->events, err, n))
        return -1;
    b->base = ldr_calloc((size_t)b->partitions, sizeof(int64_t));
    b->ts = ldr_calloc((size_t)b->partitions, sizeof(int64_t *));
    b->ts_len = ldr_calloc((size_t)b->partitions, sizeof(size_t));
    b->ts_cap = ldr_calloc((size_t)b->partitions, sizeof(size_t));

    bn_say(b, "stack: redis-server and ladder-kafka (%d partitions)",
           b->partitions);
    if (bn_start_redis(b, err, n) || bn_placement(b, err, n)) return -1;
    if (b->masters) {
        char line[256];
        size_t off = 0;
        for (int i = 0; i < b->nredis; i++)
            off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%d",
                                    i ? "/" : "", b->master_parts[i]);
        bn_say(b,
               "stack: a Redis Cluster of %d masters; partitions per "
               "master %s",
               b->nredis, line);
    }
    b->baseline_mem = bn_info(b, "memory", "used_memory");
    if (bn_start_kafka(b, err, n)) return -1;
    /* The backlog's producer: ladder's producer settings with a long
     * linger, so that the backlog is stored in well-filled batches; the
     * embedded cluster walks a partition's batches on every fetch and
     * serves little per fetch from tiny ones (PITFALLS.md), which would
     * measure the cluster instead of the worker. */
    static const ldr_kafka_prop_t backlog[] = {{"linger.ms", "1000"}};
    b->prod =
        bn_kafka_new(b->cfg, RD_KAFKA_PRODUCER, backlog, 1, bn_dr, b, err, n);
    if (!b->prod) return -1;
    int64_t hwm[BN_MAX_PARTITIONS];
    if (bn_phase_sustained(b, hwm, err, n)) return -1;
    if (bn_phase_ceilings(b, hwm, err, n)) return -1;
    /* The live producer sends as ladder-feed does (ladder's producer
     * defaults: linger.ms 20). Each message's latency counts from its send
     * time, linger included. A shorter linger stored a few messages per
     * set, and the cluster's walk of a partition's sets on every fetch
     * grew with each second of the phase until it took most of a core
     * (PITFALLS.md; docs/BENCHMARKS.md). */
    rd_kafka_destroy(b->prod);
    b->prod =
        bn_kafka_new(b->cfg, RD_KAFKA_PRODUCER, NULL, 0, bn_dr, b, err, n);
    if (!b->prod) return -1;
    if (bn_phase_latency(b, err, n)) return -1;
    if (bn_phase_restart(b, err, n)) return -1;
    double kb = bn_workers_hwm_kb(b);
    if (kb > b->rss_kb) b->rss_kb = kb;
    bn_stop_workers(b);
    bn_say(b, "done");
    return 0;
}

/* The stack is private and short-lived and the workers inherit this
 * configuration: a registry would only add a process to measure, so the run
 * keeps the local ids rather than write them where a registry is expected.
 * True (after one line on stderr) when schema.registry.url is set. */
static bool bn_refuse_registry(const ldr_config_t *cfg) {
    if (!ldr_config_get(cfg, "schema.registry.url")) return false;
    fprintf(stderr, PROG ": schema.registry.url is set, but ladder-bench runs "
                         "its private stack on the local schema ids: unset it "
                         "(LADDER_SCHEMA_REGISTRY_URL)\n");
    return true;
}

int main(int argc, char **argv) {
    if (ldr_svc_version("ladder-bench", argc, argv)) return 0;
    static bn_t bench;
    bn_t *b = &bench;
    b->events = 1000000;
    b->rate = 20000;
    b->latency_s = 20;
    b->nworkers = 1;
    static const struct option opts[] = {
        {"events", required_argument, NULL, 'e'},
        {"partitions", required_argument, NULL, 'p'},
        {"rate", required_argument, NULL, 'r'},
        {"latency-seconds", required_argument, NULL, 's'},
        {"workers", required_argument, NULL, 'w'},
        {"redis-cluster", required_argument, NULL, 'R'},
        {"keep", no_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'j'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    long long v;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            if (bn_parse_ll("--events", optarg, 1000, 100000000, &v)) return 2;
            b->events = v;
            break;
        case 'p':
            if (bn_parse_ll("--partitions", optarg, 1, BN_MAX_PARTITIONS, &v))
                return 2;
            b->partitions_opt = (int)v;
            break;
        case 'r':
            if (bn_parse_ll("--rate", optarg, 1, 10000000, &v)) return 2;
            b->rate = (double)v;
            break;
        case 's':
            if (bn_parse_ll("--latency-seconds", optarg, 1, 3600, &v)) return 2;
            b->latency_s = (int)v;
            break;
        case 'w':
            if (bn_parse_ll("--workers", optarg, 1, BN_MAX_WORKERS, &v))
                return 2;
            b->nworkers = (int)v;
            break;
        case 'R':
            if (bn_parse_ll("--redis-cluster", optarg, BN_MIN_MASTERS,
                            BN_MAX_MASTERS, &v))
                return 2;
            b->masters = (int)v;
            break;
        case 'k': b->keep = true; break;
        case 'j': b->json = true; break;
        case 'c': b->config_file = optarg; break;
        case 'h': bn_usage(stdout); return 0;
        default: bn_usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n",
                argv[optind]);
        return 2;
    }
    char err[1024];
    b->cfg = ldr_svc_config_load(PROG, b->config_file, err, sizeof(err));
    if (!b->cfg) {
        fprintf(stderr, PROG ": %s\n", err);
        return 2;
    }
    if (bn_refuse_registry(b->cfg)) return 2;
    b->input_topic = ldr_config_get(b->cfg, "input.topic");
    b->decisions_topic = ldr_config_get(b->cfg, "decisions.topic");
    b->dlq_topic = ldr_config_get(b->cfg, "dlq.topic");
    b->t0 = ldr_clock_mono_s();
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = bn_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = bn_run(b, err, sizeof(err));
    if (rc == 0) bn_report(b);
    bn_cleanup(b);
    curl_global_cleanup();
    if (rc) {
        fprintf(stderr, PROG ": %s\n", err);
        return b->usage_error ? 2 : 1;
    }
    return 0;
}
