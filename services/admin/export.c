/* export.c -- ladder-admin export --from TIME --to TIME --out FILE
 * [--allow-partial]: every decision whose effective_at is in [from, to),
 * once, into an Avro object container file.
 *
 * DESIGN: the decisions topic is the record of what was decided, so the
 * export reads it, not Redis: it assigns every partition (no consumer
 * group, nothing committed) from its log start and reads each one up to
 * the end offset it had when the export started, so an export terminates
 * however fast the workers keep publishing, and two exports started at the
 * same time write the same set. Each message is decoded with the codec
 * (schema ids resolve through the Schema Registry when
 * schema.registry.url is set) and re-encoded with the current
 * DesignationDecision schema, so decisions written by an older schema
 * version come out in one shape. A worker that replays a partition
 * publishes its decisions again with the same ids (CONTRACT.md), so the
 * export keeps the first message of each decision_id and drops the rest;
 * the set of ids in range is the only state that grows with the export.
 *
 * The file is written through ocf.c rather than Avro-C's file writer:
 * that writer serialises a parsed schema, which loses logicalType (the
 * timestamps would read back as plain longs in Spark, DuckDB or
 * python3-avro) and cannot be handed the .avsc text instead, so the
 * container is written here around the codec's bytes, with the text the
 * codec loaded (schemas/designation_decision.avsc) as avro.schema. It goes
 * to a temporary file beside --out and is renamed over it only once
 * complete, so a reader never sees half a file and a failed export leaves
 * no file behind.
 *
 * A partition whose log no longer starts at offset 0 may have lost
 * decisions of the range (the embedded cluster evicts a partition's head;
 * a real one deletes by retention), and a gap that appears while reading
 * is the same loss. The export refuses then (exit status 1, naming the
 * partitions) unless --allow-partial says that what is left will do;
 * messages that do not decode are treated alike, never skipped silently. */
#include "admin_int.h"

#include "ladder/alloc.h"
#include "ladder/clock.h"
#include "ladder/codec.h"
#include "ladder/kafka.h"
#include "ladder/ocf.h"
#include "ladder/registry.h"
#include "ladder/schema.h"
#include "ladder/svc.h"
#include "ladder/time.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EX_OPT_FROM    'f'
#define EX_OPT_TO      't'
#define EX_OPT_OUT     'o'
#define EX_OPT_PARTIAL 'p'

/* How often a long export says how far it got, on stderr. */
#define EX_PROGRESS_MS 2000
/* Undecodable messages and Kafka errors named one by one; then counted. */
#define EX_REPORT_MAX 5

static volatile sig_atomic_t ex_stop;

static void ex_on_signal(int sig) {
    (void)sig;
    ex_stop = 1;
}

/* ---- the set of decision ids written ----------------------------------- */

typedef struct ex_ids {
    char **slot; /* open addressing; NULL = free */
    size_t cap, count;
} ex_ids_t;

static uint64_t ex_hash(const char *p, size_t len) {
    uint64_t h = 14695981039346656037u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211u;
    return h;
}

static void ex_ids_insert(ex_ids_t *s, char *id) {
    size_t i = ex_hash(id, strlen(id)) & (s->cap - 1);
    while (s->slot[i])
        i = (i + 1) & (s->cap - 1);
    s->slot[i] = id;
}

/* Adds @p id unless present: true when it was new. */
static bool ex_ids_add(ex_ids_t *s, ldr_str_t id) {
    if ((s->count + 1) * 2 > s->cap) {
        ex_ids_t grown = {
            ldr_calloc(s->cap ? s->cap * 2 : 1024, sizeof(char *)),
            s->cap ? s->cap * 2 : 1024, s->count};
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i]) ex_ids_insert(&grown, s->slot[i]);
        free(s->slot);
        *s = grown;
    }
    size_t i = ex_hash(id.ptr, id.len) & (s->cap - 1);
    for (; s->slot[i]; i = (i + 1) & (s->cap - 1))
        if (strlen(s->slot[i]) == id.len && !memcmp(s->slot[i], id.ptr, id.len))
            return false;
    s->slot[i] = ldr_strndup(id.ptr ? id.ptr : "", id.len);
    s->count++;
    return true;
}

static void ex_ids_fini(ex_ids_t *s) {
    for (size_t i = 0; i < s->cap; i++)
        free(s->slot[i]);
    free(s->slot);
}

/* ---- one run ------------------------------------------------------------ */

typedef struct ex_run {
    adm_t *a;
    int64_t from, to;
    const char *out;
    bool allow_partial;
    const char *topic;
    ldr_schemas_t *schemas;
    ldr_registry_t *registry;
    ldr_codec_t *codec;
    rd_kafka_t *rk;
    int parts;
    int64_t *lo, *end, *next, *lost; /* per partition */
    char *tmp;                       /* the temporary file, until renamed */
    FILE *f;
    ldr_ocf_t *ocf;
    ex_ids_t ids;
    long long messages, out_of_range, duplicates, bad, kafka_errors;
    bool transient, write_failed;
    int64_t t0;
    ldr_record_t rec;
    char err[1024];
} ex_run_t;

static void ex_fini(ex_run_t *r) {
    ldr_ocf_destroy(r->ocf);
    if (r->f) fclose(r->f);
    if (r->tmp) unlink(r->tmp);
    free(r->tmp);
    if (r->rk) {
        rd_kafka_consumer_close(r->rk);
        rd_kafka_destroy(r->rk);
    }
    ldr_codec_destroy(r->codec);
    ldr_schemas_destroy(r->schemas);
    ldr_registry_destroy(r->registry);
    free(r->lo);
    free(r->end);
    free(r->next);
    free(r->lost);
    ex_ids_fini(&r->ids);
}

/* Parses --from or --to into *@p ms: 0, or the usage error's status. */
static int ex_parse_time(const char *opt, const char *s, int64_t *ms) {
    char why[256];
    if (ldr_time_parse_rfc3339(s, strlen(s), ms, why, sizeof(why)))
        return adm_usage_error(&adm_export_cmd,
                               "%s: not an RFC 3339 time (like "
                               "2022-06-01T00:00:00Z): %s",
                               opt, why);
    return 0;
}

/* Reads the command line into @p r: ADM_CONTINUE, or an exit status. */
static int ex_parse(ex_run_t *r, int argc, char **argv) {
    static const struct option opts[] = {
        {"from", required_argument, NULL, EX_OPT_FROM},
        {"to", required_argument, NULL, EX_OPT_TO},
        {"out", required_argument, NULL, EX_OPT_OUT},
        {"allow-partial", no_argument, NULL, EX_OPT_PARTIAL},
        ADM_COMMON_OPTS,
        {NULL, 0, NULL, 0}};
    const char *from = NULL, *to = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = adm_common_opt(r->a, &adm_export_cmd, c);
        if (rc == -1 && c == EX_OPT_FROM)
            from = optarg;
        else if (rc == -1 && c == EX_OPT_TO)
            to = optarg;
        else if (rc == -1 && c == EX_OPT_OUT)
            r->out = optarg;
        else if (rc == -1 && c == EX_OPT_PARTIAL)
            r->allow_partial = true;
        else if (rc != ADM_CONTINUE)
            return rc < 0 ? ADM_EXIT_USAGE : rc;
    }
    if (optind < argc)
        return adm_usage_error(&adm_export_cmd, "unexpected argument \"%s\"",
                               argv[optind]);
    if (!from || !to || !r->out || !*r->out)
        return adm_usage_error(&adm_export_cmd, "--%s is required",
                               !from ? "from"
                               : !to ? "to"
                                     : "out");
    int rc = ex_parse_time("--from", from, &r->from);
    if (!rc) rc = ex_parse_time("--to", to, &r->to);
    if (rc) return rc;
    if (r->from >= r->to)
        return adm_usage_error(&adm_export_cmd,
                               "--from %s is not before --to %s: the range "
                               "[from, to) holds no instant",
                               from, to);
    return ADM_CONTINUE;
}

/* Creates the temporary file beside --out and writes the container's
 * header: 0, or ADM_EXIT_USAGE after a message (--out cannot be written). */
static int ex_open_out(ex_run_t *r) {
    size_t n = strlen(r->out) + 16;
    r->tmp = ldr_malloc(n);
    snprintf(r->tmp, n, "%s.tmp.XXXXXX", r->out);
    int fd = mkstemp(r->tmp);
    if (fd < 0) {
        fprintf(stderr, "ladder-admin export: cannot create %s: %s\n", r->tmp,
                strerror(errno));
        free(r->tmp);
        r->tmp = NULL;
        return ADM_EXIT_USAGE;
    }
    /* mkstemp makes it 0600; the export is an ordinary file */
    mode_t um = umask(0);
    umask(um);
    (void)fchmod(fd, 0666 & ~um);
    r->f = fdopen(fd, "wb");
    const char *text =
        ldr_schema_text(ldr_schemas_current(r->schemas, LDR_RECORD_DECISION));
    r->ocf =
        ldr_ocf_new(r->f, text, strlen(text), NULL, 0, r->err, sizeof(r->err));
    if (!r->ocf) {
        fprintf(stderr, "ladder-admin export: %s: %s\n", r->tmp, r->err);
        return ADM_EXIT_USAGE;
    }
    return 0;
}

/* Completes the file and renames it over --out: 0, or ADM_EXIT_FAILED
 * after a message (the temporary file is then removed by ex_fini). */
static int ex_commit_out(ex_run_t *r) {
    int rc = ldr_ocf_finish(r->ocf, r->err, sizeof(r->err)) ? -1 : 0;
    if (!rc && fsync(fileno(r->f))) {
        rc = -1;
        snprintf(r->err, sizeof(r->err), "fsync: %s", strerror(errno));
    }
    FILE *f = r->f;
    r->f = NULL;
    if (fclose(f) && !rc) {
        rc = -1;
        snprintf(r->err, sizeof(r->err), "close: %s", strerror(errno));
    }
    if (!rc && rename(r->tmp, r->out)) {
        rc = -1;
        snprintf(r->err, sizeof(r->err), "rename to %s: %s", r->out,
                 strerror(errno));
    }
    if (rc) {
        fprintf(stderr, "ladder-admin export: %s: %s; nothing was written\n",
                r->tmp, r->err);
        return ADM_EXIT_FAILED;
    }
    free(r->tmp);
    r->tmp = NULL;
    /* the rename survives a crash only once the directory is synced */
    char *dup = ldr_strdup(r->out);
    int dfd = open(dirname(dup), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(dup);
    return 0;
}

/* Set after the kafka.* keys, so that they win: the export never commits
 * nor joins, and an offset evicted while it reads resets to the log start,
 * where the gap is seen and counted (ex_take). */
static const ldr_kafka_prop_t ex_props[] = {
    {"client.id", "ladder-admin-export"},
    {"group.id", "ladder-admin-export"}, /* required; never joined */
    {"enable.auto.commit", "false"},
    {"enable.auto.offset.store", "false"},
    {"auto.offset.reset", "earliest"},
    {"enable.partition.eof", "false"},
    {"log_level", "2"},
};

/* The schemas, the codec and the consumer: 0, or an exit status after a
 * message. */
static int ex_setup(ex_run_t *r) {
    ldr_config_t *cfg = adm_config(r->a, r->err, sizeof(r->err));
    if (!cfg) {
        fprintf(stderr, "ladder-admin: %s\n", r->err);
        return ADM_EXIT_USAGE;
    }
    r->topic = ldr_config_get(cfg, "decisions.topic");
    if (!ldr_config_get(cfg, "kafka.bootstrap.servers")) {
        fprintf(stderr, "ladder-admin export: kafka.bootstrap.servers is not "
                        "set (LADDER_KAFKA_BOOTSTRAP_SERVERS or --config "
                        "FILE)\n");
        return ADM_EXIT_USAGE;
    }
    r->schemas =
        ldr_svc_schemas_load(cfg, false, &r->registry, r->err, sizeof(r->err));
    if (r->schemas)
        r->codec = ldr_codec_new(r->schemas, r->err, sizeof(r->err));
    rd_kafka_conf_t *conf = NULL;
    if (r->codec)
        conf = ldr_kafka_conf_new(cfg, LDR_KAFKA_CONSUMER, NULL, 0, r->err,
                                  sizeof(r->err));
    if (conf && ldr_kafka_conf_set(conf, ex_props, LDR_ARRAY_SIZE(ex_props),
                                   r->err, sizeof(r->err))) {
        rd_kafka_conf_destroy(conf);
        conf = NULL;
    }
    if (conf) {
        r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, r->err, sizeof(r->err));
        if (!r->rk) rd_kafka_conf_destroy(conf); /* still ours */
    }
    if (!r->rk) {
        fprintf(stderr, "ladder-admin export: %s\n", r->err);
        return ADM_EXIT_USAGE;
    }
    rd_kafka_poll_set_consumer(r->rk);
    return 0;
}

/* The partition count and each partition's log start and end as of now:
 * 0, or ADM_EXIT_UNREACHABLE after a message. */
static int ex_bounds(ex_run_t *r) {
    r->parts = ldr_kafka_partition_count(r->rk, r->topic, r->a->timeout_ms,
                                         r->err, sizeof(r->err));
    if (r->parts < 1) {
        fprintf(stderr, "ladder-admin export: %s\n", r->err);
        return ADM_EXIT_UNREACHABLE;
    }
    r->lo = ldr_calloc((size_t)r->parts, sizeof(int64_t));
    r->end = ldr_calloc((size_t)r->parts, sizeof(int64_t));
    r->next = ldr_calloc((size_t)r->parts, sizeof(int64_t));
    r->lost = ldr_calloc((size_t)r->parts, sizeof(int64_t));
    if (ldr_kafka_log_bounds(r->rk, r->topic, r->parts, r->lo, r->end,
                             r->a->timeout_ms, r->err, sizeof(r->err))) {
        fprintf(stderr, "ladder-admin export: %s\n", r->err);
        return ADM_EXIT_UNREACHABLE;
    }
    for (int p = 0; p < r->parts; p++) {
        r->next[p] = r->lo[p];
        r->lost[p] = r->lo[p]; /* offsets 0 .. lo-1 are gone */
    }
    return 0;
}

/* "T/P starts at offset S (S messages gone), ..." for every partition
 * that lost messages, into @p buf; the number of such partitions. */
static int ex_partial_list(const ex_run_t *r, char *buf, size_t n) {
    int count = 0;
    size_t used = 0;
    buf[0] = '\0';
    for (int p = 0; p < r->parts; p++) {
        if (!r->lost[p]) continue;
        int w = snprintf(buf + used, used < n ? n - used : 0,
                         "%s%s/%d starts at offset %lld (%lld messages gone)",
                         count ? ", " : "", r->topic, p, (long long)r->lo[p],
                         (long long)r->lost[p]);
        if (w > 0) used += (size_t)w;
        if (used >= n) used = n - 1;
        count++;
    }
    return count;
}

/* Says on stderr that decisions of the range may be missing: a refusal
 * (ADM_EXIT_FAILED) without --allow-partial, else a warning (0). */
static int ex_partial_say(const ex_run_t *r) {
    char list[2048];
    if (!ex_partial_list(r, list, sizeof(list))) return 0;
    if (!r->allow_partial) {
        fprintf(stderr,
                "ladder-admin export: refused: the decisions topic no longer "
                "holds the start of the range, older decisions may have "
                "been deleted: %s; nothing was written (give --allow-partial "
                "to export what is left)\n",
                list);
        return ADM_EXIT_FAILED;
    }
    fprintf(stderr,
            "ladder-admin export: warning: partial export, decisions may be "
            "missing: %s\n",
            list);
    return 0;
}

/* Assigns every partition that has something to read, at its log start. */
static int ex_assign(ex_run_t *r) {
    rd_kafka_topic_partition_list_t *tpl =
        rd_kafka_topic_partition_list_new(r->parts);
    for (int p = 0; p < r->parts; p++)
        if (r->next[p] < r->end[p])
            rd_kafka_topic_partition_list_add(tpl, r->topic, p)->offset =
                r->next[p];
    rd_kafka_resp_err_t kerr = rd_kafka_assign(r->rk, tpl);
    rd_kafka_topic_partition_list_destroy(tpl);
    if (kerr) {
        fprintf(stderr, "ladder-admin export: assign %s: %s\n", r->topic,
                rd_kafka_err2str(kerr));
        return ADM_EXIT_UNREACHABLE;
    }
    return 0;
}

/* Writes one decision in range that was not written yet. */
static void ex_write(ex_run_t *r, const ldr_decision_t *d) {
    if (d->effective_at < r->from || d->effective_at >= r->to) {
        r->out_of_range++;
        return;
    }
    if (!ex_ids_add(&r->ids, d->decision_id)) {
        r->duplicates++;
        return;
    }
    const void *bytes;
    size_t len;
    /* The codec writes the Confluent framing (0x00, a 4-byte id) before
     * the Avro body; the container holds bodies alone. */
    if (ldr_codec_encode(r->codec, &r->rec, &bytes, &len, r->err,
                         sizeof(r->err)) ||
        len < 5 ||
        ldr_ocf_append(r->ocf, (const uint8_t *)bytes + 5, len - 5, r->err,
                       sizeof(r->err))) {
        fprintf(stderr, "ladder-admin export: %s: %s\n", r->tmp, r->err);
        r->write_failed = true;
    }
}

/* Stops fetching partition @p p once it was read to its end: what the
 * workers publish after the start of the export is not read. */
static void ex_pause(ex_run_t *r, int p) {
    rd_kafka_topic_partition_list_t *tpl = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tpl, r->topic, p);
    rd_kafka_pause_partitions(r->rk, tpl);
    rd_kafka_topic_partition_list_destroy(tpl);
}

/* Takes one polled message: counts a gap as lost, decodes a decision and
 * writes it when it is in range and new. Destroys @p m. */
static void ex_take(ex_run_t *r, rd_kafka_message_t *m) {
    int p = m->partition;
    if (m->err) {
        if (++r->kafka_errors <= EX_REPORT_MAX)
            fprintf(stderr, "ladder-admin export: %s/%d: %s\n", r->topic, p,
                    rd_kafka_message_errstr(m));
        goto out;
    }
    if (p < 0 || p >= r->parts || m->offset < r->next[p] ||
        r->next[p] >= r->end[p])
        goto out; /* a re-fetch, or past the end this export reads to */
    int64_t upto = m->offset < r->end[p] ? m->offset : r->end[p];
    if (upto > r->next[p]) {
        /* evicted while the export ran: the offset reset to the new start */
        r->lost[p] += upto - r->next[p];
        r->lo[p] = upto;
    }
    r->next[p] = upto;
    if (m->offset >= r->end[p]) {
        ex_pause(r, p);
        goto out;
    }
    r->next[p] = m->offset + 1;
    r->messages++;
    if (r->next[p] >= r->end[p]) ex_pause(r, p);
    ldr_err_t err = ldr_codec_decode(r->codec, m->payload, m->len, &r->rec,
                                     NULL, r->err, sizeof(r->err));
    if (err == LDR_ERR_TRANSIENT) {
        fprintf(stderr, "ladder-admin export: %s/%d/%lld: %s\n", r->topic, p,
                (long long)m->offset, r->err);
        r->transient = true;
    } else if (err || r->rec.kind != LDR_RECORD_DECISION) {
        if (++r->bad <= EX_REPORT_MAX)
            fprintf(stderr, "ladder-admin export: %s/%d/%lld: %s\n", r->topic,
                    p, (long long)m->offset, err ? r->err : "not a decision");
    } else {
        ex_write(r, &r->rec.u.decision);
    }
out:
    rd_kafka_message_destroy(m);
}

/* The messages left to read, up to the end offsets of the start. */
static int64_t ex_left(const ex_run_t *r) {
    int64_t left = 0;
    for (int p = 0; p < r->parts; p++)
        left += r->end[p] - r->next[p];
    return left;
}

static bool ex_lost_any(const ex_run_t *r) {
    for (int p = 0; p < r->parts; p++)
        if (r->lost[p]) return true;
    return false;
}

/* Reads every partition to its end offset: 0, or an exit status after a
 * message on stderr. */
static int ex_read(ex_run_t *r) {
    int64_t total = ex_left(r), last_msg = ldr_clock_mono_ms();
    int64_t last_progress = last_msg;
    while (ex_left(r) > 0) {
        if (ex_stop) {
            fprintf(stderr, "ladder-admin export: interrupted; nothing was "
                            "written\n");
            return ADM_EXIT_FAILED;
        }
        if (r->transient) return ADM_EXIT_UNREACHABLE;
        if (r->write_failed) return ADM_EXIT_FAILED;
        if (!r->allow_partial && (ex_lost_any(r) || r->bad))
            break; /* refused below: reading on is wasted */
        int64_t now = ldr_clock_mono_ms();
        if (now - last_msg > r->a->timeout_ms) {
            fprintf(stderr,
                    "ladder-admin export: no message from %s for %d ms with "
                    "%lld left to read (--timeout-ms); nothing was written\n",
                    r->topic, r->a->timeout_ms, (long long)ex_left(r));
            return ADM_EXIT_UNREACHABLE;
        }
        if (now - last_progress >= EX_PROGRESS_MS) {
            last_progress = now;
            fprintf(stderr,
                    "ladder-admin export: read %lld of %lld messages "
                    "(%.0f%%), %zu decisions in range so far\n",
                    (long long)(total - ex_left(r)), (long long)total,
                    100.0 * (double)(total - ex_left(r)) / (double)total,
                    r->ids.count);
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 100);
        if (!m) continue;
        if (!m->err) last_msg = now;
        ex_take(r, m);
    }
    if (r->transient) return ADM_EXIT_UNREACHABLE;
    if (r->write_failed) return ADM_EXIT_FAILED;
    int rc = ex_partial_say(r);
    if (r->bad && !r->allow_partial) {
        fprintf(stderr,
                "ladder-admin export: refused: %lld message(s) of %s did not "
                "decode as decisions; nothing was written (give "
                "--allow-partial to export the others)\n",
                r->bad, r->topic);
        rc = ADM_EXIT_FAILED;
    }
    return rc;
}

/* Prints the outcome: one line of text, or one JSON object. */
static void ex_report(const ex_run_t *r, const char *outcome) {
    char from[LDR_TIME_FORMAT_SIZE], to[LDR_TIME_FORMAT_SIZE];
    ldr_time_format(r->from, from, sizeof(from));
    ldr_time_format(r->to, to, sizeof(to));
    bool exported = strcmp(outcome, "exported") == 0;
    struct stat st;
    long long bytes =
        exported && !stat(r->out, &st) ? (long long)st.st_size : 0;
    double secs = (double)(ldr_clock_mono_ms() - r->t0) / 1000.0;
    if (!r->a->json) {
        if (exported)
            printf("exported %zu decisions with effective_at in [%s, %s) to "
                   "%s (%lld bytes): read %lld messages from %d partitions "
                   "of %s in %.1f s, %lld out of range, %lld duplicates "
                   "dropped%s\n",
                   r->ids.count, from, to, r->out, bytes, r->messages, r->parts,
                   r->topic, secs, r->out_of_range, r->duplicates,
                   ex_lost_any(r) || r->bad ? " (PARTIAL: see stderr)" : "");
        return;
    }
    json_t *j = json_object(), *pp = json_array();
    json_object_set_new(j, "outcome", json_string(outcome));
    json_object_set_new(j, "from", json_string(from));
    json_object_set_new(j, "to", json_string(to));
    json_object_set_new(j, "out", exported ? json_string(r->out) : json_null());
    json_object_set_new(j, "decisions", json_integer((json_int_t)r->ids.count));
    json_object_set_new(j, "bytes", json_integer(bytes));
    json_object_set_new(j, "topic", json_string(r->topic));
    json_object_set_new(j, "partitions", json_integer(r->parts));
    json_object_set_new(j, "messages", json_integer(r->messages));
    json_object_set_new(j, "out_of_range", json_integer(r->out_of_range));
    json_object_set_new(j, "duplicates", json_integer(r->duplicates));
    json_object_set_new(j, "undecodable", json_integer(r->bad));
    json_object_set_new(j, "partial", json_boolean(ex_lost_any(r) || r->bad));
    for (int p = 0; p < r->parts; p++) {
        if (!r->lost[p]) continue;
        json_t *e = json_object();
        json_object_set_new(e, "partition", json_integer(p));
        json_object_set_new(e, "log_start", json_integer(r->lo[p]));
        json_object_set_new(e, "lost", json_integer(r->lost[p]));
        json_array_append_new(pp, e);
    }
    json_object_set_new(j, "partial_partitions", pp);
    json_object_set_new(j, "elapsed_ms",
                        json_integer(ldr_clock_mono_ms() - r->t0));
    adm_json_print(j);
}

static int ex_run(adm_t *a, int argc, char **argv) {
    static ex_run_t run;
    ex_run_t *r = &run;
    memset(r, 0, sizeof(*r));
    r->a = a;
    r->t0 = ldr_clock_mono_ms();
    int rc = ex_parse(r, argc, argv);
    if (rc != ADM_CONTINUE) return rc;
    rc = ex_setup(r);
    if (!rc) rc = ex_open_out(r);
    if (!rc) rc = ex_bounds(r);
    if (!rc && !r->allow_partial && ex_lost_any(r)) {
        rc = ex_partial_say(r); /* refused before reading anything */
        ex_report(r, "refused_partial");
    } else if (!rc) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = ex_on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        rc = ex_assign(r);
        if (!rc) rc = ex_read(r);
        if (rc == ADM_EXIT_FAILED && (ex_lost_any(r) || r->bad) && !ex_stop)
            ex_report(r, "refused_partial");
        if (!rc) rc = ex_commit_out(r);
        if (!rc) ex_report(r, "exported");
    }
    ex_fini(r);
    return rc;
}

const adm_cmd_t adm_export_cmd = {
    .name = "export",
    .args = "--from TIME --to TIME --out FILE [--allow-partial]",
    .summary = "write the decisions of a time range to an Avro file",
    .help =
        "Reads the decisions topic (every partition, from its log start to "
        "its end\nas of the start of the export; no consumer group, nothing "
        "committed) and\nwrites every decision whose effective_at is in "
        "[--from, --to) -- the start\nincluded, the end EXCLUDED -- once "
        "per decision_id (the first message of\neach id is kept) to an Avro "
        "object container file (codec null) whose\navro.schema is "
        "schemas/designation_decision.avsc as written, so the\n"
        "timestamps keep logicalType timestamp-millis in Spark, DuckDB or\n"
        "python3-avro. The file is written beside FILE and renamed over it "
        "once\ncomplete; a failed export leaves no file. Progress goes to "
        "stderr every\n2 s, the summary to stdout.\n\n"
        "  --from TIME       the start of the range, RFC 3339 "
        "(2022-01-01T00:00:00Z,\n"
        "                    2022-01-01T08:00:00+08:00), included\n"
        "  --to TIME         the end of the range, RFC 3339, excluded; must "
        "be after\n                    --from\n"
        "  --out FILE        the Avro file to write (replaced if it exists)\n"
        "  --allow-partial   export what is left when decisions may be "
        "missing: a\n"
        "                    partition of the decisions topic no longer "
        "starts at\n"
        "                    offset 0 (its head was deleted or evicted), or "
        "a message\n"
        "                    does not decode. Without it the export is "
        "refused.\n\n"
        "Exit status: 0 exported; 1 refused (decisions may be missing: the "
        "partitions\nare named on stderr) or the file could not be written; "
        "2 bad usage or\nconfiguration (a bad time, --from not before --to, "
        "FILE cannot be\ncreated); 3 Kafka or the schema registry "
        "unreachable.\n",
    .run = ex_run,
};
