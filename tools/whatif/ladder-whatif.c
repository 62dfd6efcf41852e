/* ladder-whatif -- replays a history under a baseline and a variant policy
 * and reports what changes.
 *
 * DESIGN: the question "what if the rules had been different" is answered
 * by the same code that answers "what are the rules": the history is read
 * by the feed readers and merged in time order exactly as ladder-feed
 * produces it (ladder/feed_merge.h), or read back from the input topic;
 * every record is validated, partitioned and stepped as the worker does
 * it, under both policy sets in one pass (replay.c); the variant is a
 * policy directory, optionally changed by --set assignments that the
 * policy loader then checks like any file (ladder/policy_edit.h). Nothing
 * talks to Redis, and Kafka only with --from-kafka (or to read the input
 * topic's partition count when --partitions is not given), so a what-if
 * of the national register takes seconds and touches nothing live.
 *
 * The outputs are the table on stdout (or the --json document), and with
 * --out DIR the table, the JSON, the changed enterprises as CSV, two SVG
 * charts and a self-contained HTML report (report.c). */
#include "whatif_int.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ladder/alloc.h"
#include "ladder/clock.h"
#include "ladder/config.h"
#include "ladder/feed.h"
#include "ladder/feed_merge.h"
#include "ladder/policy_files.h"
#include "ladder/svc.h"
#include "ladder/time.h"
#include "ladder/units_file.h"

#define WI_REJECTS_SHOWN 20
#define WI_THREADS_MAX   16

static volatile sig_atomic_t wi_stop;

static void wi_on_signal(int sig) {
    (void)sig;
    wi_stop = 1;
}

static void usage(FILE *f) {
    fputs(
        "Usage: ladder-whatif --history FILE... --baseline DIR [--variant "
        "DIR]\n"
        "                     [--set VERSION.PATH=VALUE]... [--partitions N]\n"
        "                     [--out DIR] [--json] [--config FILE]\n"
        "       ladder-whatif --from-kafka [--allow-partial] --baseline DIR "
        "...\n"
        "Replay a history under a baseline and a variant policy set and "
        "report\n"
        "what changes (docs/WHATIF.md).\n\n"
        "  --history FILE     a feed file (.csv or .jsonl, as ladder-feed "
        "reads it);\n"
        "                     repeat it, or name more files after the "
        "options: they\n"
        "                     are merged in time order as ladder-feed "
        "merges them\n"
        "  --format FMT       csv or jsonl, for files named neither\n"
        "  --from-kafka       read input.topic from its beginning instead "
        "(refused\n"
        "                     when the log no longer starts at offset 0); "
        "needs\n"
        "                     kafka.bootstrap.servers\n"
        "  --allow-partial    with --from-kafka: replay what the log still "
        "holds\n"
        "  --baseline DIR     the policy directory of the register as it "
        "is\n"
        "  --variant DIR      the policy directory to compare (default: "
        "--baseline)\n"
        "  --set V.PATH=VAL   change one field of the variant's files, "
        "e.g.\n"
        "                     miit-2022.tiers.LITTLE_GIANT.criteria."
        "LG.YEARS_IN_NICHE.when.ge=5\n"
        "                     (repeatable; docs/WHATIF.md)\n"
        "  --partitions N     partitions of the input topic (default: "
        "input.topic's\n"
        "                     count, asked of kafka.bootstrap.servers)\n"
        "  --out DIR          also write report.html, table.txt, "
        "report.json,\n"
        "                     changed.csv, by-unit.svg and over-time.svg "
        "there\n"
        "  --register FILE    write every enterprise's final state under "
        "both\n"
        "                     policies there (JSON Lines; docs/WHATIF.md)\n"
        "  --threads N        replay on N threads, each reading the "
        "history and\n"
        "                     stepping its share of the partitions "
        "(default 2)\n"
        "  --json             print the JSON summary on stdout instead of "
        "the table\n"
        "  --config FILE      key = value configuration (docs/CONFIG.md): "
        "units.file,\n"
        "                     clock.max.skew.days, input.topic, kafka.*\n"
        "  --help, --version\n\n"
        "Exit status: 0 done; 2 usage, configuration, policy or --set "
        "error, or a\n"
        "history that cannot be read; 3 interrupted, Kafka failed, the log "
        "is\n"
        "partial, or an output could not be written.\n",
        f);
}

typedef struct wi_opts {
    const char *config_file, *baseline, *variant, *out_dir, *format;
    const char *register_path;
    const char **history;
    size_t nhistory;
    const char **sets;
    size_t nsets;
    int partitions; /* 0: ask Kafka */
    int threads;
    bool json, from_kafka, allow_partial;
} wi_opts_t;

#define WI_CONTINUE (-1)

static void push(const char ***v, size_t *n, const char *s) {
    *v = ldr_realloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = s;
}

static int parse_int(const char *s, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

/* Reads the command line into @p o: WI_CONTINUE, or the exit status. */
static int parse_opts(int argc, char **argv, wi_opts_t *o) {
    enum { O_PARTIAL = 256, O_FROM_KAFKA };
    static const struct option opts[] = {
        {"history", required_argument, NULL, 'H'},
        {"baseline", required_argument, NULL, 'b'},
        {"variant", required_argument, NULL, 'v'},
        {"set", required_argument, NULL, 's'},
        {"partitions", required_argument, NULL, 'p'},
        {"out", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},
        {"format", required_argument, NULL, 'f'},
        {"register", required_argument, NULL, 'r'},
        {"threads", required_argument, NULL, 't'},
        {"config", required_argument, NULL, 'c'},
        {"from-kafka", no_argument, NULL, O_FROM_KAFKA},
        {"allow-partial", no_argument, NULL, O_PARTIAL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    o->threads = 2;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'H': push(&o->history, &o->nhistory, optarg); break;
        case 'b': o->baseline = optarg; break;
        case 'v': o->variant = optarg; break;
        case 's': push(&o->sets, &o->nsets, optarg); break;
        case 'o': o->out_dir = optarg; break;
        case 'r': o->register_path = optarg; break;
        case 't':
            if (parse_int(optarg, 1, WI_THREADS_MAX, &o->threads)) {
                fprintf(stderr,
                        "ladder-whatif: --threads: '%s' is not a count from "
                        "1 to %d\n",
                        optarg, WI_THREADS_MAX);
                return 2;
            }
            break;
        case 'j': o->json = true; break;
        case 'c': o->config_file = optarg; break;
        case O_FROM_KAFKA: o->from_kafka = true; break;
        case O_PARTIAL: o->allow_partial = true; break;
        case 'p':
            if (parse_int(optarg, 1, 100000, &o->partitions)) {
                fprintf(stderr,
                        "ladder-whatif: --partitions: '%s' is not a count "
                        "from 1 to 100000\n",
                        optarg);
                return 2;
            }
            break;
        case 'f':
            if (strcmp(optarg, "csv") != 0 && strcmp(optarg, "jsonl") != 0) {
                fprintf(stderr,
                        "ladder-whatif: --format: '%s' is not csv or jsonl\n",
                        optarg);
                return 2;
            }
            o->format = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    for (int i = optind; i < argc; i++)
        push(&o->history, &o->nhistory, argv[i]);
    const char *missing = !o->baseline ? "--baseline DIR"
                          : !o->nhistory && !o->from_kafka
                              ? "--history FILE (or --from-kafka)"
                              : NULL;
    if (missing) {
        fprintf(stderr, "ladder-whatif: %s is required (see --help)\n",
                missing);
        return 2;
    }
    if (o->nhistory && o->from_kafka) {
        fprintf(stderr, "ladder-whatif: --from-kafka reads the topic: give "
                        "no history files with it\n");
        return 2;
    }
    if (o->allow_partial && !o->from_kafka) {
        fprintf(stderr, "ladder-whatif: --allow-partial goes with "
                        "--from-kafka\n");
        return 2;
    }
    if (!o->variant) o->variant = o->baseline;
    return WI_CONTINUE;
}

typedef struct wi_run wi_run_t;

/* One thread of the replay: it reads the whole history itself and steps
 * its own range of partitions (thread 0's replay is the run's, run->r). */
typedef struct wi_thread {
    wi_run_t *run;
    int index;
    wi_replay_t own;
    wi_replay_t *r;
    bool ready;
    FILE **files;
    ldr_feed_reader_t **readers;
    size_t nfiles;
    int rc;
    char err[1024];
} wi_thread_t;

/* Everything one run holds; run_fini() releases it. */
struct wi_run {
    wi_opts_t o;
    ldr_config_t *cfg;
    ldr_units_t *units;
    ldr_validator_t *validator;
    ldr_policies_t *policies[WI_SIDES];
    wi_replay_t r;
    wi_thread_t threads[WI_THREADS_MAX];
    int nthreads;
    wi_kafka_t *kafka; /* --from-kafka, or to ask the partition count */
    uint64_t shown_rejects;
    /* progress */
    bool tty;
    double start, next_progress;
    int64_t now_ms;
    char err[1024];
};

/* Freeing a national register enterprise by enterprise took a tenth of the
 * run, for memory the process gives back at once when it exits. So a run
 * that ends leaves its replays to the exit, except under AddressSanitizer,
 * whose leak check must see everything freed. */
#if defined(__SANITIZE_ADDRESS__)
#define WI_FREE_AT_EXIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WI_FREE_AT_EXIT 1
#endif
#endif
#ifndef WI_FREE_AT_EXIT
#define WI_FREE_AT_EXIT 0
#endif

static void run_fini(wi_run_t *run) {
    for (int k = 0; k < run->nthreads; k++) {
        wi_thread_t *th = &run->threads[k];
        for (size_t i = 0; i < th->nfiles; i++) {
            ldr_feed_reader_destroy(th->readers[i]);
            if (th->files[i]) fclose(th->files[i]);
        }
        free(th->files);
        free(th->readers);
        if (th->ready && WI_FREE_AT_EXIT) wi_replay_fini(th->r);
    }
    wi_kafka_close(run->kafka);
    for (int s = 0; s < WI_SIDES; s++)
        ldr_policies_destroy(run->policies[s]);
    ldr_validator_destroy(run->validator);
    ldr_units_destroy(run->units);
    ldr_config_destroy(run->cfg);
    free(run->o.history);
    free(run->o.sets);
}

/* Loads the configuration, the units and both policy sets: true, or false
 * after one line on stderr. */
static bool load(wi_run_t *run) {
    char path[4096];
    run->cfg = ldr_svc_config_load("ladder-whatif", run->o.config_file,
                                   run->err, sizeof run->err);
    if (run->cfg)
        run->units = ldr_units_load(
            ldr_config_data_path(ldr_config_get(run->cfg, "units.file"), path,
                                 sizeof path),
            run->err, sizeof run->err);
    if (!run->units) {
        fprintf(stderr, "ladder-whatif: %s\n", run->err);
        return false;
    }
    run->validator = ldr_validator_new(
        run->units, (int)ldr_config_get_int(run->cfg, "clock.max.skew.days"));
    run->policies[WI_BASE] =
        ldr_policies_load_dir(run->o.baseline, run->err, sizeof run->err);
    if (!run->policies[WI_BASE]) {
        fprintf(stderr, "ladder-whatif: --baseline: %s\n", run->err);
        return false;
    }
    run->policies[WI_VARIANT] = ldr_policies_load_dir_edited(
        run->o.variant, run->o.sets, run->o.nsets, run->err, sizeof run->err);
    if (!run->policies[WI_VARIANT]) {
        fprintf(stderr, "ladder-whatif: %s: %s\n",
                run->o.nsets ? "--set" : "--variant", run->err);
        return false;
    }
    return true;
}

static void progress(wi_run_t *run, bool last) {
    double t = ldr_clock_mono_s();
    if (!last && t < run->next_progress) return;
    run->next_progress = t + (run->tty ? 1.0 : 10.0);
    char at[LDR_TIME_FORMAT_SIZE] = "-";
    if (run->r.last_time != INT64_MIN)
        ldr_time_format(run->r.last_time, at, sizeof at);
    fprintf(stderr,
            "%sladder-whatif: %" PRIu64 " events, %" PRIu64
            " rejected, %zu changed so far, at %.10s, %.0f events/s%s",
            run->tty ? "\r" : "", run->r.events, run->r.rejected,
            run->r.nchanges, at,
            (double)run->r.events / (t - run->start + 1e-9),
            run->tty && !last ? "\033[K" : "\n");
}

/* ---- the history from files -----------------------------------------------
 */

static int format_of(const char *name, const char *flag,
                     ldr_feed_format_t *fmt) {
    size_t len = strlen(name);
    if (len > 4 && strcasecmp(name + len - 4, ".csv") == 0)
        *fmt = LDR_FEED_CSV;
    else if (len > 6 && strcasecmp(name + len - 6, ".jsonl") == 0)
        *fmt = LDR_FEED_JSONL;
    else if (flag)
        *fmt = strcmp(flag, "csv") == 0 ? LDR_FEED_CSV : LDR_FEED_JSONL;
    else
        return -1;
    return 0;
}

/* Opens every history file with a reader that validates as ladder-feed
 * does: true, or false after a message. */
static bool open_history(wi_run_t *run, wi_thread_t *th) {
    size_t n = run->o.nhistory;
    th->files = ldr_calloc(n, sizeof *th->files);
    th->readers = ldr_calloc(n, sizeof *th->readers);
    for (size_t i = 0; i < n; i++, th->nfiles++) {
        const char *name = run->o.history[i];
        ldr_feed_format_t fmt;
        if (format_of(name, run->o.format, &fmt)) {
            fprintf(stderr,
                    "ladder-whatif: %s: cannot tell the format: name it .csv "
                    "or .jsonl, or give --format\n",
                    name);
            return false;
        }
        th->files[i] = fopen(name, "rb");
        if (!th->files[i]) {
            fprintf(stderr, "ladder-whatif: %s: %s\n", name, strerror(errno));
            return false;
        }
        ldr_feed_reader_opts_t ro = {
            .format = fmt, .validator = run->validator, .now_ms = run->now_ms};
        th->readers[i] =
            ldr_feed_reader_new(th->files[i], &ro, run->err, sizeof run->err);
        if (!th->readers[i]) {
            fprintf(stderr, "ladder-whatif: %s:%s\n", name, run->err);
            return false;
        }
    }
    return true;
}

/* The merge's callback: a row ladder-feed would reject is counted (and
 * the first few shown), as the worker would never have seen it. */
static int on_row(void *opaque, size_t input, const ldr_feed_row_t *row) {
    wi_thread_t *th = opaque;
    wi_run_t *run = th->run;
    if (th->index == 0 && row->status == LDR_FEED_ROW_REJECTED) {
        run->r.events++;
        run->r.rejected++;
        if (++run->shown_rejects <= WI_REJECTS_SHOWN)
            fprintf(stderr, "%s:%" PRIu64 ": %s: %s\n", run->o.history[input],
                    row->line, row->field, row->reason);
    }
    return wi_stop != 0;
}

/* One thread's replay of the files: th->rc 0, 2 (a file cannot be read)
 * or 3 (interrupted). Only thread 0 speaks. */
static void *replay_files(void *opaque) {
    wi_thread_t *th = opaque;
    wi_run_t *run = th->run;
    ldr_feed_merge_t *m =
        ldr_feed_merge_new(th->readers, th->nfiles, on_row, th);
    const ldr_feed_row_t *row;
    size_t input;
    int got;
    uint64_t n = 0;
    th->rc = 0;
    while ((got = ldr_feed_merge_next(m, &row, &input, th->err,
                                      sizeof th->err)) > 0) {
        wi_replay_record(th->r, &row->rec, -1, NULL, 0);
        if ((++n & 4095) == 0 && th->index == 0) progress(run, false);
    }
    if (got < 0 && !wi_stop) {
        if (th->index == 0)
            fprintf(stderr, "ladder-whatif: %s: %s\n", run->o.history[input],
                    th->err);
        th->rc = 2;
    }
    ldr_feed_merge_destroy(m);
    if (wi_stop) th->rc = 3;
    if (!th->rc) wi_replay_end(th->r);
    return NULL;
}

/* Whether the history can be read once per thread: regular files only
 * (a pipe or a FIFO gives its rows to one reader). */
static bool history_rereadable(const wi_run_t *run) {
    for (size_t i = 0; i < run->o.nhistory; i++) {
        struct stat st;
        if (stat(run->o.history[i], &st) != 0 || !S_ISREG(st.st_mode))
            return false;
    }
    return true;
}

/* Sets up the threads (each opens the files itself), runs them and merges
 * their replays into run->r: 0, 2 or 3. */
static int replay_threads(wi_run_t *run) {
    int n = run->o.threads;
    if (n > run->o.partitions) n = run->o.partitions;
    if (!history_rereadable(run)) n = 1;
    int skew = (int)ldr_config_get_int(run->cfg, "clock.max.skew.days");
    for (int k = 0; k < n; k++) {
        wi_thread_t *th = &run->threads[k];
        run->nthreads++;
        th->run = run;
        th->index = k;
        th->r = k == 0 ? &run->r : &th->own;
        wi_replay_init(th->r, run->policies[WI_BASE], run->policies[WI_VARIANT],
                       run->units, run->validator, skew, run->o.partitions,
                       run->o.partitions * k / n,
                       run->o.partitions * (k + 1) / n, run->now_ms);
        th->ready = true;
        if (!open_history(run, th)) return 2;
    }
    pthread_t tid[WI_THREADS_MAX];
    for (int k = 1; k < n; k++)
        pthread_create(&tid[k], NULL, replay_files, &run->threads[k]);
    replay_files(&run->threads[0]);
    int rc = run->threads[0].rc;
    for (int k = 1; k < n; k++) {
        pthread_join(tid[k], NULL);
        if (run->threads[k].rc > rc) rc = run->threads[k].rc;
    }
    if (rc) return rc;
    for (int k = 1; k < n; k++)
        wi_replay_merge(&run->r, &run->threads[k].own);
    return 0;
}

/* ---- outputs --------------------------------------------------------------
 */

typedef void (*writer_fn)(wi_run_t *run, const wi_report_opts_t *ro, FILE *f);

static void w_table(wi_run_t *run, const wi_report_opts_t *ro, FILE *f) {
    (void)ro;
    wi_report_table(&run->r, f);
}
static void w_json(wi_run_t *run, const wi_report_opts_t *ro, FILE *f) {
    json_t *j = wi_report_json(&run->r, ro);
    json_dumpf(j, f,
               JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    fputc('\n', f);
    json_decref(j);
}
static void w_csv(wi_run_t *run, const wi_report_opts_t *ro, FILE *f) {
    (void)ro;
    wi_report_changes_csv(&run->r, f);
}
static void w_units(wi_run_t *run, const wi_report_opts_t *ro, FILE *f) {
    (void)ro;
    wi_report_svg_units(&run->r, f);
}
static void w_time(wi_run_t *run, const wi_report_opts_t *ro, FILE *f) {
    (void)ro;
    wi_report_svg_time(&run->r, f);
}
static void w_html(wi_run_t *run, const wi_report_opts_t *ro, FILE *f) {
    wi_report_html(&run->r, ro, f);
}

static void w_register(wi_run_t *run, const wi_report_opts_t *ro, FILE *f) {
    (void)ro;
    wi_report_register(&run->r, f);
}

/* Writes one output file: true, or false after a message. */
static bool write_path(wi_run_t *run, const wi_report_opts_t *ro,
                       const char *path, writer_fn fn) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "ladder-whatif: %s: %s\n", path, strerror(errno));
        return false;
    }
    fn(run, ro, f);
    bool ok = !ferror(f);
    if (fclose(f) != 0) ok = false;
    if (!ok) fprintf(stderr, "ladder-whatif: %s: cannot write\n", path);
    return ok;
}

/* Writes one file of --out. */
static bool write_file(wi_run_t *run, const wi_report_opts_t *ro,
                       const char *name, writer_fn fn) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", run->o.out_dir, name);
    return write_path(run, ro, path, fn);
}

/* Prints the table or the JSON, and writes --out: 0, or 3. */
static int outputs(wi_run_t *run, double seconds) {
    wi_report_opts_t ro = {.baseline_dir = run->o.baseline,
                           .variant_dir = run->o.variant,
                           .sets = run->o.sets,
                           .nsets = run->o.nsets,
                           .seconds = seconds};
    if (run->o.json)
        w_json(run, &ro, stdout);
    else
        w_table(run, &ro, stdout);
    if (fflush(stdout) != 0) return 3;
    if (run->o.register_path &&
        !write_path(run, &ro, run->o.register_path, w_register))
        return 3;
    if (!run->o.out_dir) return 0;
    if (mkdir(run->o.out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "ladder-whatif: --out %s: %s\n", run->o.out_dir,
                strerror(errno));
        return 3;
    }
    static const struct {
        const char *name;
        writer_fn fn;
    } files[] = {{"table.txt", w_table},    {"report.json", w_json},
                 {"changed.csv", w_csv},    {"by-unit.svg", w_units},
                 {"over-time.svg", w_time}, {"report.html", w_html}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (!write_file(run, &ro, files[i].name, files[i].fn)) return 3;
    return 0;
}

/* ---- Kafka ----------------------------------------------------------------
 */

/* Opens the consumer when the input topic is needed (--from-kafka, or no
 * --partitions) and takes the partition count from it: 0, 2 (not
 * configured, or a count that is not the topic's) or 3 (unreachable). */
static int kafka_open(wi_run_t *run) {
    if (!run->o.from_kafka && run->o.partitions) return 0;
    run->kafka =
        wi_kafka_open(run->cfg, run->o.from_kafka, run->err, sizeof run->err);
    if (!run->kafka) {
        fprintf(stderr, "ladder-whatif: %s%s\n", run->err,
                run->o.from_kafka ? ""
                                  : "; or give --partitions N, the input "
                                    "topic's partition count");
        return 2;
    }
    int n = wi_kafka_partitions(run->kafka, run->err, sizeof run->err);
    if (n < 1) {
        fprintf(stderr, "ladder-whatif: %s\n", run->err);
        return 3;
    }
    if (run->o.partitions && run->o.partitions != n) {
        fprintf(stderr,
                "ladder-whatif: --partitions %d, but %s has %d: its "
                "messages are where %d partitions put them\n",
                run->o.partitions, ldr_config_get(run->cfg, "input.topic"), n,
                n);
        return 2;
    }
    run->o.partitions = n;
    return 0;
}

/* Replays the input topic on one thread into run->r: 0 or 3. */
static int replay_kafka(wi_run_t *run) {
    wi_thread_t *th = &run->threads[0];
    run->nthreads = 1;
    th->run = run;
    th->r = &run->r;
    wi_replay_init(th->r, run->policies[WI_BASE], run->policies[WI_VARIANT],
                   run->units, run->validator,
                   (int)ldr_config_get_int(run->cfg, "clock.max.skew.days"),
                   run->o.partitions, 0, run->o.partitions, run->now_ms);
    th->ready = true;
    int rc = wi_kafka_replay(run->kafka, th->r, run->o.allow_partial, &wi_stop,
                             run->err, sizeof run->err);
    if (rc && !wi_stop) {
        fprintf(stderr, "ladder-whatif: %s\n", run->err);
        return rc;
    }
    if (!rc) wi_replay_end(th->r);
    return rc;
}

/* ---- main -----------------------------------------------------------------
 */

static int run_all(wi_run_t *run) {
    if (!load(run)) return 2;
    int rc = kafka_open(run);
    if (rc) return rc;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = wi_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    run->start = ldr_clock_mono_s();
    run->next_progress = run->start + 1.0;
    rc = run->o.from_kafka ? replay_kafka(run) : replay_threads(run);
    if (rc == 3 && wi_stop) {
        fprintf(stderr,
                "\nladder-whatif: interrupted after %" PRIu64
                " events; nothing written\n",
                run->r.events);
        return 3;
    }
    if (rc) return rc;
    wi_replay_finish(&run->r);
    double seconds = ldr_clock_mono_s() - run->start;
    progress(run, true);
    if (run->r.steps_failed)
        fprintf(stderr,
                "ladder-whatif: %" PRIu64 " steps failed in the state "
                "machine\n",
                run->r.steps_failed);
    fprintf(stderr,
            "ladder-whatif: %" PRIu64 " events (%" PRIu64 " ticks), %" PRIu64
            " rejected, %zu enterprises, %zu changed; %.2f s\n",
            run->r.events, run->r.ticks, run->r.rejected, run->r.enterprises,
            run->r.nchanges, seconds);
    return outputs(run, seconds);
}

int main(int argc, char **argv) {
    if (ldr_svc_version("ladder-whatif", argc, argv)) return 0;
    wi_run_t run;
    memset(&run, 0, sizeof run);
    int rc = parse_opts(argc, argv, &run.o);
    if (rc == WI_CONTINUE) {
        run.tty = isatty(STDERR_FILENO);
        run.now_ms = ldr_clock_wall_ms();
        rc = run_all(&run);
    }
    run_fini(&run);
    return rc;
}
