/* ladder-feed -- validates provincial feeds and produces them to Kafka.
 *
 * DESIGN: every partition of the input topic has one event-time clock
 * (POLICY.md), so the files are not fed one after another but merged into
 * one stream ordered by (event time, position of the file on the command
 * line, line number) by the library's merge (ladder/feed_merge.h), in
 * memory that does not grow with the input. A row that is earlier than the
 * row before it in the same file is still produced at its turn in the file
 * (the merge never looks ahead), and counted and reported as out of order.
 *
 * Rows are validated by the reader with the worker's own validator, so the
 * feed rejects exactly what the worker would dead-letter. A rejected row is
 * reported on stderr as FILE:LINE: FIELD: reason, and its original bytes
 * (under the file's CSV header) go to --rejects, ready to be corrected and
 * fed again. Valid rows are encoded by the codec and produced by the
 * project's producer (murmur2_random, idempotent); the program ends only
 * after every message was acknowledged or failed, and exits 0 only when all
 * were acknowledged and nothing was rejected.
 *
 * --encode FILE writes the one valid row of a feed, encoded exactly as it
 * would be produced (Confluent framing), to FILE instead, and connects to
 * nothing: the value for another producer, such as kcat, to send. One row
 * only, so the file is one message. */
#include "ladder/clock.h"
#include "ladder/codec.h"
#include "ladder/units_file.h"
#include "ladder/config.h"
#include "ladder/feed.h"
#include "ladder/feed_merge.h"
#include "ladder/kafka.h"
#include "ladder/schema.h"
#include "ladder/svc.h"
#include "ladder/time.h"
#include "ladder/units.h"
#include "ladder/validate.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Out-of-order rows reported one by one per file; the rest are counted. */
#define FEED_ORDER_REPORT_MAX 20

static volatile sig_atomic_t feed_stop;

static void feed_on_signal(int sig) {
    (void)sig;
    feed_stop++;
}

static void feed_usage(FILE *f) {
    fprintf(f,
            "Usage: ladder-feed [--config FILE] [--dry-run] [--rejects FILE]\n"
            "                   [--format csv|jsonl] [--encode OUT] FILE...\n"
            "Validate provincial feeds (docs/FEED.md) and produce their rows "
            "to the\n"
            "input topic as Avro events, merged in time order across the "
            "files.\n\n"
            "  FILE               a feed, .csv or .jsonl; - reads standard "
            "input\n"
            "  --config FILE      key = value configuration (docs/CONFIG.md); "
            "LADDER_*\n"
            "                     variables override it\n"
            "  --dry-run          parse and validate only; connect to "
            "nothing\n"
            "  --rejects FILE     write the rejected rows there, as they were "
            "(CSV\n"
            "                     rows under their file's header)\n"
            "  --format FMT       csv or jsonl, for files (and -) without "
            ".csv or\n"
            "                     .jsonl at the end of their name\n"
            "  --encode OUT       write the feed's one valid row to OUT (- for "
            "standard\n"
            "                     output) as the message value it would be "
            "produced as\n"
            "                     (Avro, Confluent framing), and its key on "
            "stderr;\n"
            "                     connect to nothing\n"
            "  --help             show this help\n"
            "  --version          show the version and exit\n\n"
            "Each rejected row is reported on stderr as FILE:LINE: FIELD: "
            "reason.\n"
            "Keys used: kafka.* (passed to librdkafka; "
            "kafka.bootstrap.servers is\n"
            "required unless --dry-run), input.topic, schemas.dir, "
            "units.file,\n"
            "clock.max.skew.days.\n\n"
            "Exit status: 0 every row valid and every message acknowledged; "
            "1 some\n"
            "rows rejected, every valid one acknowledged; 2 a delivery "
            "failed, the\n"
            "configuration or a file is unusable, or the run was "
            "interrupted.\n");
}

typedef struct feed_input feed_input_t;

/* What the command line asked for. */
typedef struct feed_opts {
    const char *config_file, *rejects_path, *format;
    const char *encode_path; /* --encode: NULL, a file or "-" */
    int dry_run;
    char **names; /* the input files, "-" for standard input */
    size_t ninputs;
} feed_opts_t;

/* Everything one run holds; feed_fini() releases it. */
typedef struct feed_run {
    FILE *rejects;
    const char *rejects_path;
    FILE *encode;                          /* --encode's output */
    int encoded;                           /* the row was written to it */
    const feed_input_t *rejects_header_of; /* whose header was written last */
    int progress;                          /* stderr is a terminal */
    int progress_shown;                    /* a progress line is on screen */
    uint64_t rows_read, rows_ok, rejected, out_of_order, ticks, events;
    double t0, next_progress;
    int io_failed;
    const feed_opts_t *o;
    ldr_config_t *cfg;
    ldr_schemas_t *schemas;
    ldr_registry_t *registry;
    ldr_codec_t *codec;
    ldr_units_t *units;
    ldr_validator_t *validator;
    ldr_kafka_producer_t *producer;
    feed_input_t *inputs;
    ldr_feed_reader_t **readers; /* the inputs' readers, for the merge */
    double start; /* when the run began; t0 once the merge starts */
    char err[1024];
} feed_run_t;

struct feed_input {
    const char *name;
    int index;
    FILE *f;
    ldr_feed_format_t fmt;
    ldr_feed_reader_t *r;
    int has_prev;
    int64_t prev_time;
    uint64_t prev_line;
    uint64_t out_of_order;
    char last_spilled; /* the last byte passed to feed_spill */
    feed_run_t *run;
};

static void feed_clear_progress(feed_run_t *run) {
    if (run->progress_shown) {
        fputs("\r\033[K", stderr);
        run->progress_shown = 0;
    }
}

/* Shows rows/s and the rejected count on the terminal, about once a
 * second. */
static void feed_progress(feed_run_t *run) {
    if (!run->progress || (run->rows_read & 1023) != 0) return;
    double t = ldr_clock_mono_s();
    if (t < run->next_progress) return;
    fprintf(
        stderr, "\r%" PRIu64 " rows, %.0f rows/s, %" PRIu64 " rejected\033[K",
        run->rows_read, (double)run->rows_read / (t - run->t0), run->rejected);
    run->progress_shown = 1;
    run->next_progress = t + 1.0;
}

/* Writes the input's CSV header into the rejects file before its first
 * rejected row, unless the last header written there is the same. */
static void feed_rejects_header(feed_input_t *in) {
    feed_run_t *run = in->run;
    if (!run->rejects || run->rejects_header_of == in) return;
    size_t len, plen = 0;
    const char *h = ldr_feed_reader_header(in->r, &len);
    const char *prev =
        run->rejects_header_of
            ? ldr_feed_reader_header(run->rejects_header_of->r, &plen)
            : NULL;
    if (len && !(prev && plen == len && memcmp(prev, h, len) == 0))
        fwrite(h, 1, len, run->rejects);
    if (len || !prev) run->rejects_header_of = in;
}

static void feed_spill(void *opaque, const void *data, size_t len) {
    feed_input_t *in = opaque;
    if (!in->run->rejects) return;
    feed_rejects_header(in);
    fwrite(data, 1, len, in->run->rejects);
    if (len) in->last_spilled = ((const char *)data)[len - 1];
}

/* The merge's callback, for every row an input yields: counts it, shows
 * progress, reports a reject (and copies it to --rejects), and reports a
 * valid row that is earlier than the one before it in the same file.
 * Non-zero stops the merge (a signal arrived). */
static int feed_on_row(void *opaque, size_t index, const ldr_feed_row_t *row) {
    feed_run_t *run = opaque;
    feed_input_t *in = &run->inputs[index];
    if (feed_stop) return 1;
    run->rows_read++;
    feed_progress(run);
    if (row->status != LDR_FEED_ROW_VALID) {
        run->rejected++;
        feed_clear_progress(run);
        fprintf(stderr, "%s:%" PRIu64 ": %s: %s\n", in->name, row->line,
                row->field, row->reason);
        if (run->rejects && row->spilled && in->last_spilled != '\n')
            fputc('\n', run->rejects);
        if (run->rejects && !row->spilled) {
            feed_rejects_header(in);
            fwrite(row->raw, 1, row->raw_len, run->rejects);
            if (row->raw_len && row->raw[row->raw_len - 1] != '\n')
                fputc('\n', run->rejects);
        }
        return 0;
    }
    if (in->has_prev && row->time < in->prev_time) {
        run->out_of_order++;
        if (++in->out_of_order <= FEED_ORDER_REPORT_MAX) {
            char a[LDR_TIME_FORMAT_SIZE], b[LDR_TIME_FORMAT_SIZE];
            ldr_time_format(row->time, a, sizeof a);
            ldr_time_format(in->prev_time, b, sizeof b);
            feed_clear_progress(run);
            fprintf(stderr,
                    "%s:%" PRIu64
                    ": out of order: %s is before %s (line %" PRIu64
                    "); produced in file order\n",
                    in->name, row->line, a, b, in->prev_line);
        }
    }
    in->has_prev = 1;
    in->prev_time = row->time;
    in->prev_line = row->line;
    return 0;
}

static int feed_format_of(const char *name, const char *flag,
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

/* feed_parse_opts(): go on with the run. */
#define FEED_CONTINUE (-1)

/* Reads the options and checks the input names into @p o; FEED_CONTINUE,
 * or the exit status (0 after --help, 2 after a message on stderr). */
static int feed_parse_opts(int argc, char **argv, feed_opts_t *o) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"dry-run", no_argument, NULL, 'n'},
        {"rejects", required_argument, NULL, 'r'},
        {"format", required_argument, NULL, 'f'},
        {"encode", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config_file = optarg; break;
        case 'n': o->dry_run = 1; break;
        case 'r': o->rejects_path = optarg; break;
        case 'e':
            /* Nothing is produced: the row goes to the file. */
            o->encode_path = optarg;
            o->dry_run = 1;
            break;
        case 'f':
            if (strcmp(optarg, "csv") != 0 && strcmp(optarg, "jsonl") != 0) {
                fprintf(stderr,
                        "ladder-feed: --format: '%s' is not csv or jsonl\n",
                        optarg);
                return 2;
            }
            o->format = optarg;
            break;
        case 'h': feed_usage(stdout); return 0;
        default: feed_usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "ladder-feed: no input file (see --help)\n");
        return 2;
    }
    o->names = argv + optind;
    o->ninputs = (size_t)(argc - optind);
    int stdin_used = 0;
    for (size_t i = 0; i < o->ninputs; i++) {
        const char *name = o->names[i];
        ldr_feed_format_t fmt;
        if (strcmp(name, "-") == 0 && stdin_used++) {
            fprintf(stderr, "ladder-feed: - (standard input) given twice\n");
            return 2;
        }
        if (feed_format_of(name, o->format, &fmt)) {
            fprintf(stderr,
                    "ladder-feed: %s: cannot tell the format: name it .csv "
                    "or .jsonl, or give --format\n",
                    name);
            return 2;
        }
    }
    return FEED_CONTINUE;
}

static void feed_fini(feed_run_t *run) {
    ldr_kafka_producer_destroy(run->producer);
    for (size_t i = 0; i < run->o->ninputs; i++) {
        ldr_feed_reader_destroy(run->inputs[i].r);
        if (run->inputs[i].f && run->inputs[i].f != stdin)
            fclose(run->inputs[i].f);
    }
    if (run->rejects) fclose(run->rejects);
    if (run->encode && run->encode != stdout) fclose(run->encode);
    free(run->inputs);
    free(run->readers);
    ldr_validator_destroy(run->validator);
    ldr_units_destroy(run->units);
    ldr_codec_destroy(run->codec);
    ldr_schemas_destroy(run->schemas);
    ldr_registry_destroy(run->registry);
    ldr_config_destroy(run->cfg);
}

/* Loads the configuration, the schemas and the units, and opens the
 * rejects file: true, or false after a message on stderr. */
static bool feed_load(feed_run_t *run) {
    const feed_opts_t *o = run->o;
    char pbuf[2][4096];
    char *err = run->err;
    size_t n = sizeof run->err;
    run->cfg = ldr_svc_config_load("ladder-feed", o->config_file, err, n);
    if (!run->cfg) {
        fprintf(stderr, "ladder-feed: %s\n", err);
        return false;
    }
    run->schemas =
        ldr_svc_schemas_load(run->cfg, !o->dry_run, &run->registry, err, n);
    if (run->schemas) run->codec = ldr_codec_new(run->schemas, err, n);
    if (run->codec)
        run->units = ldr_units_load(
            ldr_config_data_path(ldr_config_get(run->cfg, "units.file"),
                                 pbuf[1], sizeof pbuf[1]),
            err, n);
    if (!run->units) {
        fprintf(stderr, "ladder-feed: %s\n", err);
        return false;
    }
    run->validator = ldr_validator_new(
        run->units, (int)ldr_config_get_int(run->cfg, "clock.max.skew.days"));
    if (o->rejects_path) {
        run->rejects = fopen(o->rejects_path, "wb");
        if (!run->rejects) {
            fprintf(stderr, "ladder-feed: --rejects %s: %s\n", o->rejects_path,
                    strerror(errno));
            return false;
        }
    }
    if (o->encode_path) {
        run->encode = strcmp(o->encode_path, "-") == 0
                          ? stdout
                          : fopen(o->encode_path, "wb");
        if (!run->encode) {
            fprintf(stderr, "ladder-feed: --encode %s: %s\n", o->encode_path,
                    strerror(errno));
            return false;
        }
    }
    return true;
}

/* --encode: writes the row's encoded value to the file and its key to
 * stderr; false after a message when a second row comes. */
static bool feed_encode_out(feed_run_t *run, const feed_input_t *in,
                            const ldr_feed_row_t *row, const void *bytes,
                            size_t len) {
    const ldr_record_t *rec = &row->rec;
    if (run->encoded) {
        feed_clear_progress(run);
        fprintf(stderr,
                "ladder-feed: %s:%" PRIu64 ": --encode writes one row, and "
                "this is the second valid one\n",
                in->name, row->line);
        return false;
    }
    if (fwrite(bytes, 1, len, run->encode) != len) run->io_failed = 1;
    run->encoded = 1;
    ldr_str_t key = {NULL, 0};
    switch (rec->kind) {
    case LDR_RECORD_APPLICATION: key = rec->u.application.uscc; break;
    case LDR_RECORD_REVIEW: key = rec->u.review.uscc; break;
    case LDR_RECORD_VIOLATION: key = rec->u.violation.uscc; break;
    default: break;
    }
    if (key.ptr)
        fprintf(stderr, "ladder-feed: --encode: %zu bytes, key %.*s\n", len,
                (int)key.len, key.ptr);
    else
        fprintf(stderr, "ladder-feed: --encode: %zu bytes, no key (a tick)\n",
                len);
    return true;
}

/* Opens every input and its reader, then the producer (not with
 * --dry-run): true, or false after a message on stderr. */
static bool feed_open(feed_run_t *run) {
    const feed_opts_t *o = run->o;
    int64_t now = ldr_clock_wall_ms();
    for (size_t i = 0; i < o->ninputs; i++) {
        feed_input_t *in = &run->inputs[i];
        const char *name = o->names[i];
        in->index = (int)i;
        in->run = run;
        feed_format_of(name, o->format, &in->fmt);
        if (strcmp(name, "-") == 0) {
            in->name = "stdin";
            in->f = stdin;
        } else {
            in->name = name;
            in->f = fopen(name, "rb");
            if (!in->f) {
                fprintf(stderr, "ladder-feed: %s: %s\n", name, strerror(errno));
                return false;
            }
        }
        ldr_feed_reader_opts_t ro = {.format = in->fmt,
                                     .validator = run->validator,
                                     .now_ms = now,
                                     .spill = feed_spill,
                                     .spill_opaque = in};
        in->r = ldr_feed_reader_new(in->f, &ro, run->err, sizeof run->err);
        run->readers[i] = in->r;
        if (!in->r) {
            fprintf(stderr, "ladder-feed: %s:%s\n", in->name, run->err);
            return false;
        }
    }
    /* Kafka last: a file that cannot be read fails at once. */
    if (!o->dry_run) {
        const char *topic = ldr_config_get(run->cfg, "input.topic");
        run->producer = ldr_kafka_producer_new(run->cfg, topic, 10000, run->err,
                                               sizeof run->err);
        if (!run->producer) {
            fprintf(stderr, "ladder-feed: %s\n", run->err);
            return false;
        }
    }
    return true;
}

/* Produces (or, with --dry-run, encodes) one row: true, or false after a
 * message on stderr. */
static bool feed_send(feed_run_t *run, const feed_input_t *in,
                      const ldr_feed_row_t *row) {
    const ldr_record_t *rec = &row->rec;
    char *err = run->err;
    size_t n = sizeof run->err;
    const void *bytes;
    size_t len;
    if (run->producer
            ? ldr_kafka_produce_record(run->producer, run->codec, rec, err, n)
            : ldr_codec_encode(run->codec, rec, &bytes, &len, err, n)) {
        feed_clear_progress(run);
        fprintf(stderr, "ladder-feed: %s:%" PRIu64 ": %s\n", in->name,
                row->line, err);
        return false;
    }
    if (run->encode) return feed_encode_out(run, in, row, bytes, len);
    return true;
}

/* Merges the inputs in (time, file, line) order and sends every valid row
 * until the inputs end, a read fails or a signal arrives: false when a row
 * could not be sent. */
static bool feed_merge(feed_run_t *run) {
    /* Without SA_RESTART, so that a signal also ends a read that waits
     * on a pipe. (librdkafka's threads block signals.) */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = feed_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    ldr_feed_merge_t *m =
        ldr_feed_merge_new(run->readers, run->o->ninputs, feed_on_row, run);
    run->t0 = run->start;
    run->next_progress = run->start + 1.0;
    bool ok = true;
    const ldr_feed_row_t *row;
    size_t index;
    int got;
    while (!feed_stop && (got = ldr_feed_merge_next(m, &row, &index, run->err,
                                                    sizeof run->err)) != 0) {
        if (got < 0) {
            if (feed_stop) break; /* a signal interrupted the read */
            feed_clear_progress(run);
            fprintf(stderr, "ladder-feed: %s: %s\n", run->inputs[index].name,
                    run->err);
            run->io_failed = 1;
            break;
        }
        if (!feed_send(run, &run->inputs[index], row)) {
            ok = false;
            break;
        }
        run->rows_ok++;
        if (row->rec.kind == LDR_RECORD_CLOCK_TICK)
            run->ticks++;
        else
            run->events++;
    }
    ldr_feed_merge_destroy(m);
    return ok;
}

/* Waits for every acknowledgement; a second signal stops waiting. True
 * when the producer was flushed, false after a message on stderr. */
static bool feed_flush(feed_run_t *run) {
    ldr_kafka_producer_t *producer = run->producer;
    double deadline = ldr_clock_mono_s() + 330.0;
    sig_atomic_t stops = feed_stop;
    for (;;) {
        ldr_err_t ferr =
            ldr_kafka_producer_flush(producer, 500, run->err, sizeof run->err);
        if (!ferr) return true;
        uint64_t done = ldr_kafka_producer_delivered(producer) +
                        ldr_kafka_producer_failed(producer);
        if (done == ldr_kafka_producer_produced(producer) ||
            ldr_clock_mono_s() > deadline || feed_stop > stops + 1) {
            feed_clear_progress(run);
            fprintf(stderr, "ladder-feed: %s\n", run->err);
            return false;
        }
    }
}

/* Flushes the producer, prints the summary line and flushes the rejects
 * file: the exit status (0 all good, 1 rows rejected, 2 a failure). */
static int feed_finish(feed_run_t *run, bool sent) {
    const feed_opts_t *o = run->o;
    int interrupted = feed_stop != 0;
    bool delivery_ok = true;
    uint64_t produced = 0, delivered = 0;
    if (run->producer) {
        delivery_ok = feed_flush(run);
        produced = ldr_kafka_producer_produced(run->producer);
        delivered = ldr_kafka_producer_delivered(run->producer);
    }
    double elapsed = ldr_clock_mono_s() - run->start;
    feed_clear_progress(run);
    fprintf(stderr,
            "ladder-feed: %" PRIu64 " rows read, %" PRIu64 " %s (%" PRIu64
            " events, %" PRIu64 " ticks), %" PRIu64 " rejected, %" PRIu64
            " out of order",
            run->rows_read, run->rows_ok, o->dry_run ? "valid" : "produced",
            run->events, run->ticks, run->rejected, run->out_of_order);
    if (run->producer)
        fprintf(stderr, "; %" PRIu64 " of %" PRIu64 " messages acknowledged",
                delivered, produced);
    fprintf(stderr, "; %.1f s, %.0f rows/s%s\n", elapsed,
            elapsed > 0 ? (double)run->rows_read / elapsed : 0.0,
            interrupted ? "; interrupted" : "");
    if (run->encode && !run->encoded && sent && !interrupted) {
        fprintf(stderr, "ladder-feed: --encode: the feed has no valid row\n");
        run->io_failed = 1;
    }
    if (run->encode && fflush(run->encode) != 0) {
        fprintf(stderr, "ladder-feed: --encode %s: %s\n", o->encode_path,
                strerror(errno));
        run->io_failed = 1;
    }
    if (run->rejects && fflush(run->rejects) != 0) {
        fprintf(stderr, "ladder-feed: --rejects %s: %s\n", o->rejects_path,
                strerror(errno));
        run->io_failed = 1;
    }
    if (!sent || !delivery_ok || interrupted || run->io_failed) return 2;
    return run->rejected ? 1 : 0;
}

int main(int argc, char **argv) {
    if (ldr_svc_version("ladder-feed", argc, argv)) return 0;
    feed_opts_t opts;
    int rc = feed_parse_opts(argc, argv, &opts);
    if (rc != FEED_CONTINUE) return rc;
    feed_run_t run;
    memset(&run, 0, sizeof run);
    run.o = &opts;
    run.inputs = calloc(opts.ninputs, sizeof *run.inputs);
    run.readers = calloc(opts.ninputs, sizeof *run.readers);
    run.progress = isatty(STDERR_FILENO);
    run.rejects_path = opts.rejects_path;
    run.start = ldr_clock_mono_s();
    rc = 2;
    if (feed_load(&run) && feed_open(&run))
        rc = feed_finish(&run, feed_merge(&run));
    feed_fini(&run);
    return rc;
}
