/* ladder-gen -- writes a realistic synthetic national feed.
 *
 * DESIGN: the model (gen_model.c) plans the whole history in memory as
 * compact event descriptors, already in output order; this file turns them
 * into rows through the feed writer of libladder (ldr_feed_write_row), so
 * the generator can never write a row that ladder-feed reads differently.
 * Every row is validated with ldr_validate_record() before it is written,
 * with its own time as the clock, exactly as ladder-feed validates it: a row
 * that fails is a generator bug and stops the run (exit 1) rather than
 * producing a feed that loses events. Output files are written through
 * large buffers; a reporting unit's file receives its rows in the global
 * time order, so each file is in time order by construction. The data
 * depend only on --scale, --seed, --until and the policy and units files:
 * no wall clock and no rand() reach them (the wall clock only times the
 * summary). Exit status: 0 done, 1 a write, validation or planning
 * failure, 2 usage or configuration. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "gen_model.h"
#include "ladder/alloc.h"
#include "ladder/policy_files.h"
#include "ladder/units_file.h"
#include "ladder/buf.h"
#include "ladder/clock.h"
#include "ladder/codec.h"
#include "ladder/config.h"
#include "ladder/feed.h"
#include "ladder/kafka.h"
#include "ladder/machine.h"
#include "ladder/policy.h"
#include "ladder/schema.h"
#include "ladder/svc.h"
#include "ladder/time.h"
#include "ladder/units.h"
#include "ladder/validate.h"

#define EXIT_FAILED 1
#define EXIT_USAGE  2
#define FLUSH_AT    (1u << 18)

static const char usage_text[] =
    "Usage: ladder-gen --scale S --seed N --out DIR|- [OPTION]...\n"
    "Writes a synthetic national feed (docs/GEN.md, format docs/FEED.md):\n"
    "enterprises climbing the ladder from 2019 (innovative SME, provincial\n"
    "specialized SME, little giant batches 1-7), reviews, violation reports\n"
    "and monthly clock ticks. --scale 1 is the national register (about 1.2\n"
    "million events); the same seed gives byte-identical output.\n"
    "\n"
    "  --scale S         size relative to the national register, 0 < S <= 10\n"
    "  --seed N          seed of the generator, 0..9223372036854775807\n"
    "  --until TIME      end of the history, RFC 3339 (default\n"
    "                    2026-01-01T00:00:00Z); the final tick is at TIME\n"
    "  --format FMT      csv (default) or jsonl\n"
    "  --out DIR         one file per reporting unit, DIR/<code>.<fmt>, plus\n"
    "                    DIR/ticks.<fmt> and DIR/expected.json\n"
    "  --single          one merged file DIR/events.<fmt> in time order;\n"
    "                    with --out - the rows go to stdout\n"
    "  --kafka           produce the rows to input.topic, in time order, as\n"
    "                    ladder-feed would, instead of writing files; --out\n"
    "                    DIR then only receives expected.json\n"
    "  --config FILE     key = value configuration (docs/CONFIG.md):\n"
    "                    policy.dir, units.file, schemas.dir, input.topic,\n"
    "                    kafka.* (kafka.bootstrap.servers for --kafka),\n"
    "                    schema.registry.* (--kafka registers the schemas\n"
    "                    and writes the registry's ids, as ladder-feed);\n"
    "                    LADDER_* variables override it\n"
    "  --policy-dir DIR  policy files (default: the policy.dir key)\n"
    "  --verify          also replay the stream through libladder's state\n"
    "                    machine and fail unless it decides exactly what\n"
    "                    expected.json says (and refuses nothing)\n"
    "  -q, --quiet       no progress and no summary\n"
    "  -h, --help        this help\n"
    "  --version         show the version and exit\n"
    "\n"
    "Progress goes to stderr when it is a terminal; a summary ends the run.\n"
    "Exit status: 0 done (with --kafka: every message acknowledged), 1\n"
    "generation, output or delivery failed, 2 usage or configuration error.\n";

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* One clear line and exit status 2. */
static int usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("ladder-gen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see ladder-gen --help)\n", stderr);
    va_end(ap);
    return EXIT_USAGE;
}

/* ---- progress ----------------------------------------------------------- */

typedef struct prog {
    bool on;
    double last;
} prog_t;

static void on_progress(void *arg, const char *phase, double done) {
    prog_t *p = arg;
    if (!p->on) return;
    double t = ldr_clock_mono_s();
    if (t - p->last < 0.2 && done > 0) return;
    p->last = t;
    fprintf(stderr, "\rladder-gen: %-10s %5.1f%%", phase, 100.0 * done);
    fflush(stderr);
}

/* ---- output files ------------------------------------------------------- */

typedef struct out_file {
    FILE *f;
    char *path;
    ldr_buf_t buf;
} out_file_t;

static bool out_open(out_file_t *o, const char *dir, const char *name,
                     const char *ext, ldr_feed_format_t fmt) {
    memset(o, 0, sizeof *o);
    ldr_buf_init(&o->buf);
    if (!dir) {
        o->f = stdout;
        o->path = strdup("stdout");
    } else {
        size_t n = strlen(dir) + strlen(name) + strlen(ext) + 3;
        o->path = malloc(n);
        if (!o->path) abort();
        snprintf(o->path, n, "%s/%s.%s", dir, name, ext);
        o->f = fopen(o->path, "wb");
        if (!o->f) {
            fprintf(stderr, "ladder-gen: %s: %s\n", o->path, strerror(errno));
            return false;
        }
    }
    ldr_feed_write_header(&o->buf, fmt);
    return true;
}

static bool out_flush(out_file_t *o) {
    if (o->buf.len && fwrite(o->buf.data, 1, o->buf.len, o->f) != o->buf.len) {
        fprintf(stderr, "ladder-gen: %s: %s\n", o->path, strerror(errno));
        return false;
    }
    ldr_buf_reset(&o->buf);
    return true;
}

static bool out_close(out_file_t *o) {
    bool ok = !o->f || out_flush(o);
    if (o->f && o->f != stdout) {
        if (fclose(o->f) != 0 && ok) {
            fprintf(stderr, "ladder-gen: %s: %s\n", o->path, strerror(errno));
            ok = false;
        }
    } else if (o->f == stdout && fflush(stdout) != 0 && ok) {
        fprintf(stderr, "ladder-gen: stdout: %s\n", strerror(errno));
        ok = false;
    }
    ldr_buf_fini(&o->buf);
    free(o->path);
    o->f = NULL;
    o->path = NULL;
    return ok;
}

/* ---- expected.json -------------------------------------------------------
 */

/* Adds the outcome counts of @p o to @p j and returns @p j. */
static json_t *outcomes_json(json_t *j, const gen_outcomes_t *o) {
    json_object_set_new(j, "applications", json_integer(o->applications));
    json_object_set_new(j, "designated", json_integer(o->designated));
    json_object_set_new(j, "rejected", json_integer(o->rejected));
    json_object_set_new(j, "reviews", json_integer(o->reviews));
    json_object_set_new(j, "renewed", json_integer(o->renewed));
    json_object_set_new(j, "revoked_review_failed",
                        json_integer(o->revoked_review_failed));
    json_object_set_new(j, "revoked_no_submission",
                        json_integer(o->revoked_no_submission));
    json_object_set_new(j, "expired", json_integer(o->expired));
    json_object_set_new(j, "cancelled", json_integer(o->cancelled));
    return j;
}

static bool write_expected(const char *dir, const gen_counts_t *c, double scale,
                           unsigned long long seed, int64_t until, long ticks,
                           const char *fmt) {
    char ts[LDR_TIME_FORMAT_SIZE];
    ldr_time_format(until, ts, sizeof ts);
    json_t *root = json_object();
    json_object_set_new(root, "generator", json_string("ladder-gen"));
    json_object_set_new(root, "seed", json_integer((json_int_t)seed));
    json_object_set_new(root, "scale", json_real(scale));
    json_object_set_new(root, "until", json_string(ts));
    json_object_set_new(root, "format", json_string(fmt));
    json_object_set_new(root, "enterprises", json_integer(c->enterprises));
    json_t *ev = json_object();
    long total = c->events[0] + c->events[1] + c->events[2] + ticks;
    json_object_set_new(ev, "application", json_integer(c->events[0]));
    json_object_set_new(ev, "review", json_integer(c->events[1]));
    json_object_set_new(ev, "violation", json_integer(c->events[2]));
    json_object_set_new(ev, "tick", json_integer(ticks));
    json_object_set_new(ev, "total", json_integer(total));
    json_object_set_new(root, "events", ev);
    json_t *tiers = json_object();
    for (int t = 0; t < LDR_TIER__COUNT; t++)
        json_object_set_new(tiers, ldr_tier_name((ldr_tier_t)t),
                            outcomes_json(json_object(), &c->tier[t]));
    json_object_set_new(root, "tiers", tiers);
    json_t *batches = json_array();
    for (int b = 1; b <= c->batches; b++) {
        json_t *j = json_object();
        json_object_set_new(j, "batch", json_integer(b));
        json_object_set_new(j, "year", json_integer(2018 + b));
        long pub = gen_public_designated(b);
        json_object_set_new(j, "public_designated",
                            pub ? json_integer(pub) : json_null());
        json_object_set_new(j, "target_designated",
                            json_integer(c->batch_target[b]));
        outcomes_json(j, &c->batch[b]);
        json_t *f = json_object();
        json_object_set_new(f, "submitted",
                            json_integer(c->first[b].submitted));
        json_object_set_new(f, "passed", json_integer(c->first[b].passed));
        json_object_set_new(f, "failed", json_integer(c->first[b].failed));
        json_object_set_new(f, "not_submitted",
                            json_integer(c->first[b].not_submitted));
        json_object_set_new(f, "cancelled",
                            json_integer(c->first[b].cancelled));
        long pp = gen_public_first_passed(b);
        json_object_set_new(f, "public_passed",
                            pp ? json_integer(pp) : json_null());
        json_object_set_new(j, "first_review", f);
        json_array_append_new(batches, j);
    }
    json_object_set_new(root, "little_giant_batches", batches);
    json_t *vio = json_object();
    json_object_set_new(vio, "enterprises",
                        json_integer(c->violation_enterprises));
    json_object_set_new(vio, "verified", json_integer(c->verified));
    json_object_set_new(vio, "dismissed", json_integer(c->dismissed));
    json_object_set_new(root, "violations", vio);
    json_object_set_new(root, "flipped_declarations", json_integer(c->flipped));

    size_t n = strlen(dir) + 16;
    char *path = malloc(n);
    if (!path) abort();
    snprintf(path, n, "%s/expected.json", dir);
    int rc = json_dump_file(root, path,
                            JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                JSON_REAL_PRECISION(12));
    if (rc != 0) fprintf(stderr, "ladder-gen: %s: cannot write\n", path);
    free(path);
    json_decref(root);
    return rc == 0;
}

/* ---- --verify: the real state machine ----------------------------------- */

/* What libladder's state machine decided, counted like gen_counts_t. */
/* Enterprises are independent, so they are spread over partitions as the
 * worker's input topic spreads them (murmur2_random), every tick going to
 * each: smaller partitions replay faster. */
#define VERIFY_PARTITIONS 64

typedef struct verify {
    ldr_partition_t *part[VERIFY_PARTITIONS];
    ldr_machine_out_t out;
    int64_t offset;
    gen_outcomes_t tier[LDR_TIER__COUNT];
    gen_outcomes_t batch[GEN_BATCH_MAX + 1];
    long refused, held, other;
} verify_t;

static void verify_tally(verify_t *v);

static void verify_step(verify_t *v, const ldr_record_t *rec) {
    ldr_str_t key = {NULL, 0};
    if (rec->kind == LDR_RECORD_APPLICATION)
        key = rec->u.application.uscc;
    else if (rec->kind == LDR_RECORD_REVIEW)
        key = rec->u.review.uscc;
    else if (rec->kind == LDR_RECORD_VIOLATION)
        key = rec->u.violation.uscc;
    int32_t from = 0, to = VERIFY_PARTITIONS;
    if (key.len) {
        from = ldr_kafka_partition_for_key(key.ptr, key.len, VERIFY_PARTITIONS);
        to = from + 1;
    }
    for (int32_t p = from; p < to; p++) {
        ldr_machine_cause_t cause = {"ladder.events.v1", p, v->offset++};
        ldr_machine_out_clear(&v->out);
        if (ldr_partition_step(v->part[p], rec, &cause, &v->out) != LDR_OK)
            v->other++;
        else
            verify_tally(v);
    }
}

static void verify_tally(verify_t *v) {
    for (size_t i = 0; i < v->out.count; i++) {
        const ldr_machine_decision_t *d = &v->out.v[i];
        if (d->decision == LDR_DECISION_REFUSED) {
            v->refused++;
            continue;
        }
        if (!d->has_tier) continue;
        gen_outcomes_t *t = &v->tier[d->tier];
        gen_outcomes_t *b = d->tier == LDR_TIER_LITTLE_GIANT && d->has_batch &&
                                    d->batch >= 1 && d->batch <= GEN_BATCH_MAX
                                ? &v->batch[d->batch]
                                : NULL;
        long *ct = NULL, *cb = NULL;
        switch (d->decision) {
        case LDR_DECISION_DESIGNATED:
            ct = &t->designated;
            if (b) cb = &b->designated;
            break;
        case LDR_DECISION_REJECTED:
            ct = &t->rejected;
            if (b) cb = &b->rejected;
            break;
        case LDR_DECISION_RENEWED:
            ct = &t->renewed;
            if (b) cb = &b->renewed;
            break;
        case LDR_DECISION_REVOKED:
            if (d->reasons_count &&
                strcmp(d->reasons[0], "REVIEW_FAILED") == 0) {
                ct = &t->revoked_review_failed;
                if (b) cb = &b->revoked_review_failed;
            } else {
                ct = &t->revoked_no_submission;
                if (b) cb = &b->revoked_no_submission;
            }
            break;
        case LDR_DECISION_EXPIRED:
            ct = &t->expired;
            if (b) cb = &b->expired;
            break;
        case LDR_DECISION_CANCELLED:
            ct = &t->cancelled;
            if (b) cb = &b->cancelled;
            break;
        default: break;
        }
        if (ct) (*ct)++;
        if (cb) (*cb)++;
    }
}

static bool verify_same(const char *what, const gen_outcomes_t *want,
                        const gen_outcomes_t *got) {
    struct {
        const char *name;
        long w, g;
    } f[] = {
        {"designated", want->designated, got->designated},
        {"rejected", want->rejected, got->rejected},
        {"renewed", want->renewed, got->renewed},
        {"revoked_review_failed", want->revoked_review_failed,
         got->revoked_review_failed},
        {"revoked_no_submission", want->revoked_no_submission,
         got->revoked_no_submission},
        {"expired", want->expired, got->expired},
        {"cancelled", want->cancelled, got->cancelled},
    };
    bool ok = true;
    for (size_t i = 0; i < LDR_ARRAY_SIZE(f); i++)
        if (f[i].w != f[i].g) {
            fprintf(stderr,
                    "ladder-gen: --verify: %s %s: expected.json says %ld, the "
                    "state machine decided %ld\n",
                    what, f[i].name, f[i].w, f[i].g);
            ok = false;
        }
    return ok;
}

/* Compares the machine's decisions with the model's counts; prints every
 * difference. */
static bool verify_finish(const verify_t *v, const gen_counts_t *c) {
    bool ok = true;
    for (int t = 0; t < LDR_TIER__COUNT; t++)
        ok &=
            verify_same(ldr_tier_name((ldr_tier_t)t), &c->tier[t], &v->tier[t]);
    for (int b = 1; b <= c->batches; b++) {
        char what[48];
        snprintf(what, sizeof what, "LITTLE_GIANT batch %d", b);
        ok &= verify_same(what, &c->batch[b], &v->batch[b]);
    }
    if (v->refused || v->other) {
        fprintf(stderr,
                "ladder-gen: --verify: %ld refusals and %ld failed steps, "
                "want none\n",
                v->refused, v->other);
        ok = false;
    }
    return ok;
}

/* mkdir -p: every missing component of @p path. */
static int mkdir_p(const char *path) {
    char *p = strdup(path);
    if (!p) abort();
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = mkdir(p, 0777) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

/* ---- the command line -------------------------------------------------- */

/* What the command line asked for. */
typedef struct gen_opts {
    double scale;
    unsigned long long seed;
    int64_t until;
    ldr_feed_format_t fmt;
    const char *out, *config, *policy_dir;
    bool single, kafka, quiet, verify, to_stdout;
} gen_opts_t;

/* gen_parse_opts() and gen_check_opts(): go on with the run. */
#define GEN_CONTINUE (-1)

/* Reads the options into @p o; GEN_CONTINUE, or the exit status (0 after
 * --help, EXIT_USAGE after one line on stderr). */
static int gen_parse_opts(int argc, char **argv, gen_opts_t *o) {
    enum {
        O_SCALE = 1000,
        O_SEED,
        O_UNTIL,
        O_FORMAT,
        O_OUT,
        O_SINGLE,
        O_KAFKA,
        O_CONFIG,
        O_POLICY,
        O_VERIFY
    };
    static const struct option opts[] = {
        {"scale", required_argument, NULL, O_SCALE},
        {"seed", required_argument, NULL, O_SEED},
        {"until", required_argument, NULL, O_UNTIL},
        {"format", required_argument, NULL, O_FORMAT},
        {"out", required_argument, NULL, O_OUT},
        {"single", no_argument, NULL, O_SINGLE},
        {"kafka", no_argument, NULL, O_KAFKA},
        {"config", required_argument, NULL, O_CONFIG},
        {"policy-dir", required_argument, NULL, O_POLICY},
        {"verify", no_argument, NULL, O_VERIFY},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool have_seed = false;
    char errbuf[1024];
    memset(o, 0, sizeof *o);
    o->scale = -1;
    o->fmt = LDR_FEED_CSV;
    ldr_time_parse_rfc3339("2026-01-01T00:00:00Z", 20, &o->until, errbuf,
                           sizeof errbuf);
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case O_SCALE:
            errno = 0;
            o->scale = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o->scale > 0) ||
                o->scale > 10)
                return usage_error("--scale: '%s' is not a number in (0, 10]",
                                   optarg);
            break;
        case O_SEED:
            errno = 0;
            o->seed = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-' ||
                o->seed > (unsigned long long)INT64_MAX)
                return usage_error("--seed: '%s' is not a whole number in "
                                   "0..9223372036854775807",
                                   optarg);
            have_seed = true;
            break;
        case O_UNTIL:
            if (ldr_time_parse_rfc3339(optarg, strlen(optarg), &o->until,
                                       errbuf, sizeof errbuf) != LDR_OK)
                return usage_error("--until: '%s' is not an RFC 3339 time",
                                   optarg);
            break;
        case O_FORMAT:
            if (strcmp(optarg, "csv") == 0)
                o->fmt = LDR_FEED_CSV;
            else if (strcmp(optarg, "jsonl") == 0)
                o->fmt = LDR_FEED_JSONL;
            else
                return usage_error("--format: '%s' is not csv or jsonl",
                                   optarg);
            break;
        case O_OUT: o->out = optarg; break;
        case O_SINGLE: o->single = true; break;
        case O_KAFKA: o->kafka = true; break;
        case O_CONFIG: o->config = optarg; break;
        case O_POLICY: o->policy_dir = optarg; break;
        case O_VERIFY: o->verify = true; break;
        case 'q': o->quiet = true; break;
        case 'h': fputs(usage_text, stdout); return 0;
        case '?':
        default:
            if (optopt && optopt < O_SCALE)
                return usage_error("unknown option '-%c' or missing value",
                                   optopt);
            return usage_error("unknown option or missing value in '%s'",
                               argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (o->scale < 0) return usage_error("--scale is required");
    if (!have_seed) return usage_error("--seed is required");
    return GEN_CONTINUE;
}

/* The checks between options; GEN_CONTINUE or EXIT_USAGE. */
static int gen_check_opts(gen_opts_t *o) {
    char errbuf[1024];
    int64_t min_until, max_until;
    ldr_time_parse_rfc3339("2019-01-01T00:00:00Z", 20, &min_until, errbuf,
                           sizeof errbuf);
    ldr_time_parse_rfc3339("2100-01-01T00:00:00Z", 20, &max_until, errbuf,
                           sizeof errbuf);
    if (o->until <= min_until || o->until > max_until)
        return usage_error("--until must lie after 2019-01-01T00:00:00Z and "
                           "not after 2100-01-01T00:00:00Z");
    if (!o->out && !o->kafka)
        return usage_error("--out DIR (or --out - with --single) is required");
    o->to_stdout = o->out && strcmp(o->out, "-") == 0;
    if (o->to_stdout && o->kafka)
        return usage_error("--out - and --kafka exclude each other");
    if (o->to_stdout && !o->single)
        return usage_error("--out - needs --single");
    return GEN_CONTINUE;
}

/* ---- the run ------------------------------------------------------------ */

/* Everything one run holds; gen_run_fini() releases it. */
typedef struct gen_run {
    const gen_opts_t *o;
    ldr_config_t *cfg;
    ldr_policies_t *pol;
    ldr_units_t *units;
    ldr_validator_t *val;
    gen_model_t *model;
    ldr_schemas_t *schemas;
    ldr_registry_t *registry; /* schema.registry.url with --kafka, or NULL */
    ldr_codec_t *codec;
    ldr_kafka_producer_t *producer;
    verify_t ver;
    out_file_t *files;
    size_t nfiles;
    int64_t *ticks;
    size_t nticks;
    prog_t prog;
    double t0;
    uint64_t produced, delivered;
    char errbuf[1024];
} gen_run_t;

static void gen_run_fini(gen_run_t *r) {
    for (int p = 0; p < VERIFY_PARTITIONS; p++)
        ldr_partition_destroy(r->ver.part[p]);
    ldr_machine_out_fini(&r->ver.out);
    free(r->ticks);
    free(r->files);
    ldr_kafka_producer_destroy(r->producer);
    ldr_codec_destroy(r->codec);
    ldr_schemas_destroy(r->schemas);
    ldr_registry_destroy(r->registry);
    gen_model_destroy(r->model);
    ldr_validator_destroy(r->val);
    ldr_units_destroy(r->units);
    ldr_policies_destroy(r->pol);
    ldr_config_destroy(r->cfg);
}

/* Loads the configuration, the policy and units files, connects the
 * producer (--kafka) and makes the output directory: 0, or the exit status
 * after one line on stderr. */
static int gen_setup(gen_run_t *r) {
    const gen_opts_t *o = r->o;
    char *err = r->errbuf;
    size_t n = sizeof r->errbuf;
    r->cfg = ldr_svc_config_load("ladder-gen", o->config, err, n);
    if (!r->cfg) {
        fprintf(stderr, "ladder-gen: %s\n", err);
        return EXIT_USAGE;
    }
    char pbuf[4096], ubuf[4096];
    const char *pdir =
        o->policy_dir
            ? o->policy_dir
            : ldr_config_data_path(ldr_config_get(r->cfg, "policy.dir"), pbuf,
                                   sizeof pbuf);
    const char *ufile = ldr_config_data_path(
        ldr_config_get(r->cfg, "units.file"), ubuf, sizeof ubuf);
    r->pol = ldr_policies_load_dir(pdir, err, n);
    if (r->pol) r->units = ldr_units_load(ufile, err, n);
    if (!r->units) {
        fprintf(stderr, "ladder-gen: %s\n", err);
        return EXIT_USAGE;
    }
    r->val = ldr_validator_new(r->units, 400);
    if (o->verify)
        for (int p = 0; p < VERIFY_PARTITIONS; p++)
            r->ver.part[p] = ldr_partition_new(r->pol);
    if (o->kafka) {
        /* Connect before generating: a wrong address should not cost the
         * minutes of a large run. A producer like ladder-feed: with
         * schema.registry.url the schemas are registered and the
         * registry's ids written. */
        r->schemas = ldr_svc_schemas_load(r->cfg, true, &r->registry, err, n);
        if (r->schemas) r->codec = ldr_codec_new(r->schemas, err, n);
        if (r->codec)
            r->producer = ldr_kafka_producer_new(
                r->cfg, ldr_config_get(r->cfg, "input.topic"), 10000, err, n);
        if (!r->producer) {
            fprintf(stderr, "ladder-gen: %s\n", err);
            return EXIT_USAGE;
        }
    }
    if (o->out && !o->to_stdout && mkdir_p(o->out) != 0) {
        fprintf(stderr, "ladder-gen: %s: %s\n", o->out, strerror(errno));
        return EXIT_FAILED;
    }
    return 0;
}

/* The ticks: the first of every month from 2019-01, and the final one. */
static void gen_make_ticks(gen_run_t *r) {
    int64_t until = r->o->until;
    size_t ntick_cap = 12 * 100 + 2, nticks = 0;
    r->ticks = ldr_calloc(ntick_cap, sizeof *r->ticks);
    for (int y = 2019; nticks < ntick_cap - 1; y++) {
        bool done = false;
        for (int mo = 1; mo <= 12; mo++) {
            int64_t t =
                ldr_time_days_from_civil(y, mo, 1) * LDR_TIME_MS_PER_DAY;
            if (t >= until) {
                done = true;
                break;
            }
            r->ticks[nticks++] = t;
        }
        if (done) break;
    }
    r->ticks[nticks++] = until;
    r->nticks = nticks;
}

/* Opens the output files (none with --kafka); false after a message. */
static bool gen_open_outputs(gen_run_t *r, const char *ext) {
    const gen_opts_t *o = r->o;
    size_t nu = ldr_units_count(r->units);
    bool ok = true;
    if (o->kafka) return true;
    r->nfiles = o->single ? 1 : nu + 1;
    r->files = ldr_calloc(r->nfiles, sizeof *r->files);
    if (o->single) {
        ok = out_open(&r->files[0], o->to_stdout ? NULL : o->out, "events", ext,
                      o->fmt);
    } else {
        for (size_t i = 0; i < nu && ok; i++)
            ok = out_open(&r->files[i], o->out, ldr_units_at(r->units, i)->code,
                          ext, o->fmt);
        if (ok) ok = out_open(&r->files[nu], o->out, "ticks", ext, o->fmt);
    }
    return ok;
}

/* Writes (or produces) one record: false after a message. */
static bool gen_emit(gen_run_t *r, const ldr_record_t *rec, size_t file) {
    const gen_opts_t *o = r->o;
    if (o->verify) verify_step(&r->ver, rec);
    if (o->kafka) {
        if (ldr_kafka_produce_record(r->producer, r->codec, rec, r->errbuf,
                                     sizeof r->errbuf) != LDR_OK) {
            fprintf(stderr, "ladder-gen: %s\n", r->errbuf);
            return false;
        }
        return true;
    }
    out_file_t *f = &r->files[file];
    if (ldr_feed_write_row(&f->buf, o->fmt, rec) != LDR_OK) {
        fprintf(stderr, "ladder-gen: cannot format a row (a bug)\n");
        return false;
    }
    return f->buf.len >= FLUSH_AT ? out_flush(f) : true;
}

/* Events and ticks merged in time order; ticks first on a tie (they only
 * fire the timers due by then). False after a message. */
static bool gen_write(gen_run_t *r) {
    const gen_opts_t *o = r->o;
    size_t nu = ldr_units_count(r->units);
    size_t nev = gen_model_event_count(r->model), ti = 0, i = 0;
    gen_row_t row;
    ldr_record_t rec;
    bool ok = true;
    while (ok && (i < nev || ti < r->nticks)) {
        const gen_event_t *ev = i < nev ? gen_model_event(r->model, i) : NULL;
        size_t file;
        if (ti < r->nticks && (!ev || r->ticks[ti] <= ev->t)) {
            memset(&rec, 0, sizeof rec);
            rec.kind = LDR_RECORD_CLOCK_TICK;
            rec.u.tick.tick_at = r->ticks[ti++];
            rec.u.tick.source = ldr_str("ladder-gen");
            file = o->single ? 0 : nu;
        } else {
            gen_model_record(r->model, ev, &row, &rec);
            if (ldr_validate_record(r->val, &rec, ev->t, ev->t, r->errbuf,
                                    sizeof r->errbuf) != LDR_OK) {
                fprintf(stderr,
                        "ladder-gen: generated an invalid row (a bug): "
                        "%s: %s\n",
                        row.event_id, r->errbuf);
                return false;
            }
            file = o->single ? 0 : gen_model_unit_of(r->model, ev->ent);
            if ((i & 0xffff) == 0)
                on_progress(&r->prog, o->kafka ? "producing" : "writing",
                            (double)i / nev);
            i++;
        }
        ok = gen_emit(r, &rec, file);
    }
    return ok;
}

/* Exit 0 only when every message is acknowledged: false after a message
 * when some were not. */
static bool gen_flush_kafka(gen_run_t *r) {
    bool ok = true;
    double deadline = ldr_clock_mono_s() + 300.0;
    on_progress(&r->prog, "flushing", 1.0);
    for (;;) {
        if (ldr_kafka_producer_flush(r->producer, 500, r->errbuf,
                                     sizeof r->errbuf) == LDR_OK)
            break;
        uint64_t done = ldr_kafka_producer_delivered(r->producer) +
                        ldr_kafka_producer_failed(r->producer);
        if (done == ldr_kafka_producer_produced(r->producer) ||
            ldr_clock_mono_s() > deadline) {
            fprintf(stderr, "ladder-gen: %s\n", r->errbuf);
            ok = false;
            break;
        }
    }
    r->produced = ldr_kafka_producer_produced(r->producer);
    r->delivered = ldr_kafka_producer_delivered(r->producer);
    return ok;
}

/* The summary on stderr (not with --quiet). */
static void gen_summary(const gen_run_t *r, const gen_counts_t *cnt) {
    double el = ldr_clock_mono_s() - r->t0;
    if (r->prog.on) fputs("\r\033[K", stderr);
    if (r->o->quiet) return;
    long total =
        cnt->events[0] + cnt->events[1] + cnt->events[2] + (long)r->nticks;
    fprintf(stderr,
            "ladder-gen: %ld enterprises, %ld events (%ld applications, "
            "%ld reviews, %ld violations, %zu ticks) in %.2f s, %.0f "
            "events/s\n",
            cnt->enterprises, total, cnt->events[0], cnt->events[1],
            cnt->events[2], r->nticks, el, el > 0 ? total / el : 0.0);
    if (r->producer)
        fprintf(stderr,
                "ladder-gen: %llu of %llu messages acknowledged (a tick "
                "goes to every partition)\n",
                (unsigned long long)r->delivered,
                (unsigned long long)r->produced);
    if (cnt->flipped)
        fprintf(stderr,
                "ladder-gen: %ld declarations could not be drawn with "
                "their intended outcome under the policy files; "
                "expected.json follows the engine\n",
                cnt->flipped);
}

/* Plans the history, writes or produces it, checks it (--verify) and
 * writes expected.json: 0 or EXIT_FAILED after a message. */
static int gen_run(gen_run_t *r) {
    const gen_opts_t *o = r->o;
    r->prog = (prog_t){.on = !o->quiet && isatty(2), .last = 0};
    r->t0 = ldr_clock_mono_s();
    gen_params_t par = {.scale = o->scale,
                        .seed = o->seed,
                        .until_ms = o->until,
                        .progress = on_progress,
                        .progress_arg = &r->prog};
    r->model =
        gen_model_build(&par, r->units, r->pol, r->errbuf, sizeof r->errbuf);
    if (!r->model) {
        if (r->prog.on) fputc('\n', stderr);
        fprintf(stderr, "ladder-gen: %s\n", r->errbuf);
        return EXIT_FAILED;
    }
    gen_make_ticks(r);
    const char *ext = o->fmt == LDR_FEED_CSV ? "csv" : "jsonl";
    bool ok = gen_open_outputs(r, ext) && gen_write(r);
    for (size_t k = 0; k < r->nfiles; k++)
        if (!out_close(&r->files[k])) ok = false;
    if (r->producer && !gen_flush_kafka(r)) ok = false;
    const gen_counts_t *cnt = gen_model_counts(r->model);
    if (ok && o->verify) {
        ok = verify_finish(&r->ver, cnt);
        if (ok && !o->quiet)
            fprintf(stderr, "ladder-gen: --verify: the state machine decided "
                            "what expected.json says, and refused nothing\n");
    }
    if (ok && o->out && !o->to_stdout)
        ok = write_expected(o->out, cnt, o->scale, o->seed, o->until,
                            (long)r->nticks, o->kafka ? "kafka" : ext);
    if (!ok) return EXIT_FAILED;
    gen_summary(r, cnt);
    return 0;
}

int main(int argc, char **argv) {
    if (ldr_svc_version("ladder-gen", argc, argv)) return 0;
    gen_opts_t opts;
    int rc = gen_parse_opts(argc, argv, &opts);
    if (rc == GEN_CONTINUE) rc = gen_check_opts(&opts);
    if (rc != GEN_CONTINUE) return rc;
    gen_run_t run;
    memset(&run, 0, sizeof run);
    run.o = &opts;
    ldr_machine_out_init(&run.ver.out);
    rc = gen_setup(&run);
    if (rc == 0) rc = gen_run(&run);
    gen_run_fini(&run);
    return rc;
}
