/* dlq.c -- ladder-admin dlq list|show|replay: read the dead-letter topic
 * and send chosen dead letters back to the input topic.
 *
 * DESIGN: the dead-letter topic (dlq.topic) is read like the rest of the
 * tool reads Kafka: assigned by hand, one partition at a time from a known
 * offset up to the high watermark queried first, never joining a group
 * nor committing, so listing is repeatable and ends by itself. A letter
 * is its DLQ coordinates (PARTITION:OFFSET) plus the worker's headers
 * (ladder.error.code, ladder.error.message, ladder.source.topic,
 * ladder.source.partition, ladder.source.offset); list and replay walk
 * them one message at a time, so memory does not grow with the topic.
 *
 * replay sends the letter's value, unchanged, to input.topic through a
 * producer built by ldr_kafka_conf_new() (idempotent, murmur2_random):
 * keyed by the USCC of the decoded value, so a KEY_MISMATCH or
 * WRONG_PARTITION letter lands in the partition that owns its enterprise.
 * A value that does not decode keeps its original key (the line says so);
 * a letter without a key and without a USCC (a ClockTick) goes back to
 * its source partition. Each replayed message carries the header
 * ladder.replay.of = "DLQTOPIC/PARTITION/OFFSET".
 *
 * A replay is idempotent through the ledger in Redis (the store's
 * ldr:dlq:replays hash, one key, so cluster-safe): before a letter is
 * produced it is marked "pending MS" with HSETNX, which refuses a letter
 * the ledger already holds unless --again; after its delivery report the
 * mark becomes "done MS TOPIC/PARTITION/OFFSET". A crash between the
 * produce and the report leaves the pending mark, so a later replay
 * refuses and says that the message may or may not be in the input topic
 * (look for the header) rather than sending it twice silently; --again
 * overrides. A delivery that certainly failed (librdkafka reports it not
 * persisted) drops the mark, so the letter can simply be replayed later;
 * one that may have been written keeps it. */
#include "admin_int.h"

#include "ladder/alloc.h"
#include "ladder/buf.h"
#include "ladder/clock.h"
#include "ladder/codec.h"
#include "ladder/decision.h"
#include "ladder/feed.h"
#include "ladder/kafka.h"
#include "ladder/registry.h"
#include "ladder/svc.h"
#include "ladder/time.h"
#include "ladder/utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DLQ_REPLAY_HEADER "ladder.replay.of"
#define DLQ_HEX_MAX       64        /* value bytes show dumps */
#define DLQ_LIMIT_MAX     100000000 /* --limit */
#define DLQ_PROGRESS_MS   2000      /* between progress lines on stderr */

enum {
    DLQ_OPT_CODE = 0x200,
    DLQ_OPT_PARTITION,
    DLQ_OPT_LIMIT,
    DLQ_OPT_ALL,
    DLQ_OPT_AGAIN,
    DLQ_OPT_DRY_RUN,
};

typedef enum dlq_action { DLQ_LIST, DLQ_SHOW, DLQ_REPLAY } dlq_action_t;

/* A letter asked for by its coordinates (show, replay P:O). */
typedef struct dlq_coord {
    int32_t partition;
    int64_t offset;
    bool seen;
} dlq_coord_t;

typedef struct dlq_opts {
    dlq_action_t action;
    const char *code; /* --code; NULL: any */
    int partition;    /* --partition; -1: every one */
    long limit;       /* --limit; 0: none */
    bool all, again, dry_run;
    dlq_coord_t *coords;
    size_t ncoords;
} dlq_opts_t;

/* One dead letter: the message and its headers, copied out and
 * NUL-terminated (a header that is missing is ""; a number -1). */
typedef struct dlq_letter {
    const rd_kafka_message_t *m;
    char code[64];
    char message[2048];
    char src_topic[256];
    int32_t src_partition;
    int64_t src_offset;
} dlq_letter_t;

/* Where replay sends a letter. */
typedef struct dlq_target {
    const void *key; /* points into the letter's message */
    size_t key_len;
    int32_t partition;    /* RD_KAFKA_PARTITION_UA: the partitioner chooses */
    int32_t expect;       /* the partition it lands in; -1 unknown (random) */
    const char *key_from; /* "uscc", "original", "none" */
    char note[768];       /* why, for the report */
} dlq_target_t;

/* A replay in flight: the delivery report's opaque. */
typedef struct dlq_flight {
    char letter[300]; /* DLQTOPIC/PARTITION/OFFSET */
    int32_t partition;
    int64_t offset;
    char code[64];
    char key[80];
    const char *key_from;
    char note[768];
} dlq_flight_t;

typedef struct dlq {
    adm_t *a;
    dlq_opts_t o;
    const char *topic; /* dlq.topic */
    const char *input; /* input.topic */
    int parts;         /* of dlq.topic */
    int64_t *lo, *hi;  /* each DLQ partition's log start and end */
    ldr_registry_t *registry;
    ldr_schemas_t *schemas;
    ldr_codec_t *codec;
    bool codec_tried;
    char codec_err[512];
    json_t *letters; /* --json: the letters' objects */
    long read, shown;
    int status; /* the exit status so far */
    /* replay */
    rd_kafka_t *producer;
    int input_parts;
    long selected, replayed, refused, failed, inflight;
    int64_t progress_ms;
    bool progress_shown; /* a progress line was written */
    int32_t scan_partition;
    int64_t scan_offset, scan_end;
} dlq_t;

static const adm_cmd_t *dlq_cmd(void);

/* Raises the exit status to @p status when it is worse (3 > 1 > 0). */
static void dlq_status(dlq_t *d, int status) {
    if (status == ADM_EXIT_UNREACHABLE || d->status == ADM_EXIT_OK)
        d->status = status;
}

/* ---- bytes for people and for JSON -------------------------------------- */

/* Appends @p p for a terminal: valid UTF-8 as it is, control characters
 * and the bytes of invalid UTF-8 as \xNN. */
static void dlq_text_bytes(ldr_buf_t *b, const void *p, size_t len) {
    const unsigned char *s = p;
    bool utf8 = ldr_utf8_valid((const char *)s, len);
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f || (s[i] >= 0x80 && !utf8) ||
            s[i] == '\\')
            ldr_buf_printf(b, "\\x%02x", s[i]);
        else
            ldr_buf_append_byte(b, s[i]);
    }
}

/* A JSON string of @p p, or null when it is not UTF-8 (or absent). */
static json_t *dlq_json_bytes(const void *p, size_t len) {
    if (!p || !ldr_utf8_valid(p, len)) return json_null();
    json_t *j = json_stringn(p, len);
    return j ? j : json_null();
}

static json_t *dlq_json_hex(const void *p, size_t len) {
    ldr_buf_t b;
    ldr_buf_init(&b);
    for (size_t i = 0; i < len; i++)
        ldr_buf_printf(&b, "%02x", ((const unsigned char *)p)[i]);
    json_t *j = json_stringn(b.data ? b.data : "", b.len);
    ldr_buf_fini(&b);
    return j;
}

/* The key for a one-line report: as text, or "-" when there is none. */
static void dlq_key_text(const void *key, size_t len, char *out, size_t n) {
    if (!key) {
        snprintf(out, n, "-");
        return;
    }
    ldr_buf_t b;
    ldr_buf_init(&b);
    dlq_text_bytes(&b, key, len);
    snprintf(out, n, "%.*s", (int)b.len, b.data ? b.data : "");
    ldr_buf_fini(&b);
}

/* ---- reading the dead-letter topic -------------------------------------- */

/* Copies header @p name (its last value) into @p out, "" when absent. */
static void dlq_header(const rd_kafka_message_t *m, const char *name, char *out,
                       size_t n) {
    rd_kafka_headers_t *h = NULL;
    const void *v = NULL;
    size_t len = 0;
    out[0] = '\0';
    if (rd_kafka_message_headers(m, &h) ||
        rd_kafka_header_get_last(h, name, &v, &len) || !v)
        return;
    if (len >= n) len = n - 1;
    memcpy(out, v, len);
    out[len] = '\0';
}

static int64_t dlq_parse_i64(const char *s, int64_t max) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > max) return -1;
    return v;
}

static void dlq_letter_read(const rd_kafka_message_t *m, dlq_letter_t *l) {
    char num[32];
    l->m = m;
    dlq_header(m, "ladder.error.code", l->code, sizeof(l->code));
    dlq_header(m, "ladder.error.message", l->message, sizeof(l->message));
    dlq_header(m, "ladder.source.topic", l->src_topic, sizeof(l->src_topic));
    dlq_header(m, "ladder.source.partition", num, sizeof(num));
    l->src_partition = (int32_t)dlq_parse_i64(num, INT32_MAX);
    dlq_header(m, "ladder.source.offset", num, sizeof(num));
    l->src_offset = dlq_parse_i64(num, INT64_MAX);
}

/* Whether the filter (--code, --partition) picks partition @p p at all. */
static bool dlq_filtering(const dlq_t *d, int32_t p) {
    bool filter = d->o.action == DLQ_LIST || d->o.all || d->o.code;
    return filter && (d->o.partition < 0 || d->o.partition == p);
}

/* Whether @p l is chosen: by the filter or by its coordinates. */
static bool dlq_selected(dlq_t *d, const dlq_letter_t *l) {
    bool chosen = false;
    for (size_t i = 0; i < d->o.ncoords; i++)
        if (d->o.coords[i].partition == l->m->partition &&
            d->o.coords[i].offset == l->m->offset) {
            d->o.coords[i].seen = true;
            chosen = true;
        }
    if (dlq_filtering(d, l->m->partition) &&
        (!d->o.code || strcmp(d->o.code, l->code) == 0))
        chosen = true;
    return chosen;
}

static void dlq_progress(dlq_t *d, bool force);
static void dlq_ledger_text(const char *v, const char *letter, char *out,
                            size_t n);

/* Called with each letter read; returns false to stop reading. */
typedef bool (*dlq_fn)(dlq_t *d, const dlq_letter_t *l);

/* Reads DLQ partition @p p from offset @p from up to @p to (excluded),
 * calling @p fn with each letter; *@p stop is set when @p fn asked to
 * stop. Returns 0, or an exit status after one line on stderr. */
static int dlq_scan_partition(dlq_t *d, int32_t p, int64_t from, int64_t to,
                              dlq_fn fn, bool *stop) {
    rd_kafka_t *rk = d->a->rk;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, d->topic, p)->offset = from;
    rd_kafka_resp_err_t kerr = rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (kerr) {
        fprintf(stderr, "ladder-admin dlq: reading %s/%d: %s\n", d->topic,
                (int)p, rd_kafka_err2str(kerr));
        return ADM_EXIT_UNREACHABLE;
    }
    int rc = 0;
    int64_t next = from, idle_since = ldr_clock_wall_ms();
    d->scan_partition = p;
    d->scan_end = to;
    while (next < to && !*stop) {
        d->scan_offset = next;
        dlq_progress(d, false);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        int64_t now = ldr_clock_wall_ms();
        if (!m) {
            if (now - idle_since <= d->a->timeout_ms) continue;
            fprintf(stderr,
                    "ladder-admin dlq: reading %s/%d: nothing came for %d ms "
                    "at offset %lld (the log ends at %lld)\n",
                    d->topic, (int)p, d->a->timeout_ms, (long long)next,
                    (long long)to);
            rc = ADM_EXIT_UNREACHABLE;
            break;
        }
        idle_since = now;
        if (m->err) {
            fprintf(
                stderr, "ladder-admin dlq: reading %s/%d at offset %lld: %s\n",
                d->topic, (int)p, (long long)next, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            rc = ADM_EXIT_UNREACHABLE;
            break;
        }
        if (m->partition == p && m->offset >= next &&
            strcmp(rd_kafka_topic_name(m->rkt), d->topic) == 0) {
            next = m->offset + 1;
            d->read++;
            dlq_letter_t let;
            dlq_letter_read(m, &let);
            if (!fn(d, &let)) *stop = true;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(rk, NULL);
    return rc;
}

/* Reads every DLQ partition the filter or the coordinates need, in
 * partition and offset order. Returns 0 or an exit status. */
static int dlq_scan(dlq_t *d, dlq_fn fn) {
    bool stop = false;
    for (int32_t p = 0; p < d->parts && !stop; p++) {
        int64_t from = d->hi[p], to = d->lo[p];
        if (dlq_filtering(d, p)) {
            from = d->lo[p];
            to = d->hi[p];
        }
        for (size_t i = 0; i < d->o.ncoords; i++) {
            const dlq_coord_t *c = &d->o.coords[i];
            if (c->partition != p) continue;
            if (c->offset < from) from = c->offset;
            if (c->offset + 1 > to) to = c->offset + 1;
        }
        if (from >= to) continue;
        int rc = dlq_scan_partition(d, p, from, to, fn, &stop);
        if (rc) return rc;
    }
    return 0;
}

/* Connects to Kafka and learns the DLQ's partitions and their bounds;
 * checks --partition and the coordinates against them. Returns 0 or an
 * exit status after one line on stderr. */
static int dlq_open(dlq_t *d) {
    char err[1024];
    bool missing = false;
    d->parts = adm_topic_partitions(d->a, d->topic, &missing, err, sizeof(err));
    if (d->parts < 0) {
        fprintf(stderr, "ladder-admin dlq: %s\n", err);
        return missing ? ADM_EXIT_FAILED : ADM_EXIT_UNREACHABLE;
    }
    if (d->o.partition >= d->parts)
        return adm_usage_error(dlq_cmd(),
                               "--partition: %s has %d partitions "
                               "(0..%d), not %d",
                               d->topic, d->parts, d->parts - 1,
                               d->o.partition);
    d->lo = ldr_calloc((size_t)d->parts, sizeof(*d->lo));
    d->hi = ldr_calloc((size_t)d->parts, sizeof(*d->hi));
    if (ldr_kafka_log_bounds(d->a->rk, d->topic, d->parts, d->lo, d->hi,
                             d->a->timeout_ms, err, sizeof(err))) {
        fprintf(stderr, "ladder-admin dlq: %s\n", err);
        return ADM_EXIT_UNREACHABLE;
    }
    for (size_t i = 0; i < d->o.ncoords; i++) {
        const dlq_coord_t *c = &d->o.coords[i];
        if (c->partition >= d->parts)
            return adm_usage_error(dlq_cmd(),
                                   "%d:%lld: %s has %d partitions "
                                   "(0..%d)",
                                   (int)c->partition, (long long)c->offset,
                                   d->topic, d->parts, d->parts - 1);
        if (c->offset < d->lo[c->partition] ||
            c->offset >= d->hi[c->partition]) {
            fprintf(stderr,
                    "ladder-admin dlq: no dead letter at %d:%lld: %s/%d "
                    "holds offsets %lld to %lld\n",
                    (int)c->partition, (long long)c->offset, d->topic,
                    (int)c->partition, (long long)d->lo[c->partition],
                    (long long)d->hi[c->partition] - 1);
            return ADM_EXIT_FAILED;
        }
    }
    return 0;
}

/* ---- decoding ------------------------------------------------------------ */

/* Ladder's codec over schemas.dir (and the registry when configured),
 * loaded on first use; NULL when it does not load (d->codec_err says
 * why). */
static ldr_codec_t *dlq_codec(dlq_t *d) {
    if (d->codec_tried) return d->codec;
    d->codec_tried = true;
    d->schemas = ldr_svc_schemas_load(d->a->cfg, false, &d->registry,
                                      d->codec_err, sizeof(d->codec_err));
    if (d->schemas)
        d->codec =
            ldr_codec_new(d->schemas, d->codec_err, sizeof(d->codec_err));
    return d->codec;
}

/* Decodes @p m's value into @p rec (whose strings point into @p m). */
static ldr_err_t dlq_decode(dlq_t *d, const rd_kafka_message_t *m,
                            ldr_record_t *rec, const ldr_schema_t **writer,
                            char *err, size_t n) {
    ldr_codec_t *codec = dlq_codec(d);
    if (!codec)
        return ldr_err_set(err, n, LDR_ERR_CONFIG, "no codec: %s",
                           d->codec_err);
    if (m->len > LDR_CODEC_MAX_MESSAGE)
        return ldr_err_set(err, n, LDR_ERR_DECODE_FAILED,
                           "%zu bytes, larger than 1 MiB", m->len);
    return ldr_codec_decode(codec, m->payload ? m->payload : "", m->len, rec,
                            writer, err, n);
}

/* The USCC a decoded record names; false for a ClockTick. */
static bool dlq_record_uscc(const ldr_record_t *r, ldr_str_t *u) {
    switch (r->kind) {
    case LDR_RECORD_APPLICATION: *u = r->u.application.uscc; return true;
    case LDR_RECORD_REVIEW: *u = r->u.review.uscc; return true;
    case LDR_RECORD_VIOLATION: *u = r->u.violation.uscc; return true;
    case LDR_RECORD_DECISION: *u = r->u.decision.uscc; return true;
    default: return false;
    }
}

/* The JSON form of a decoded record: a decision's (CONTRACT.md), or an
 * input record as a ladder-feed JSON Lines row. NULL when none. */
static json_t *dlq_record_json(const ldr_record_t *r) {
    if (r->kind == LDR_RECORD_DECISION)
        return ldr_decision_to_json(&r->u.decision);
    ldr_buf_t b;
    ldr_buf_init(&b);
    json_t *j = NULL;
    if (ldr_feed_write_row(&b, LDR_FEED_JSONL, r) == LDR_OK) {
        json_error_t e;
        j = json_loadb(b.data, b.len, 0, &e);
    }
    ldr_buf_fini(&b);
    return j;
}

/* ---- list ---------------------------------------------------------------- */

/* The fields list and show share. */
static json_t *dlq_letter_json(const dlq_t *d, const dlq_letter_t *l) {
    const rd_kafka_message_t *m = l->m;
    json_t *j = json_object();
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    json_object_set_new(j, "topic", json_string(d->topic));
    json_object_set_new(j, "partition", json_integer(m->partition));
    json_object_set_new(j, "offset", json_integer(m->offset));
    json_object_set_new(j, "timestamp", adm_time_json(ts > 0 ? ts : 0));
    json_object_set_new(j, "code", json_string(l->code));
    json_object_set_new(j, "message",
                        dlq_json_bytes(l->message, strlen(l->message)));
    json_object_set_new(j, "source_topic",
                        l->src_topic[0] ? json_string(l->src_topic)
                                        : json_null());
    json_object_set_new(j, "source_partition",
                        l->src_partition >= 0 ? json_integer(l->src_partition)
                                              : json_null());
    json_object_set_new(j, "source_offset",
                        l->src_offset >= 0 ? json_integer(l->src_offset)
                                           : json_null());
    json_object_set_new(j, "key", dlq_json_bytes(m->key, m->key_len));
    if (m->key && !ldr_utf8_valid(m->key, m->key_len))
        json_object_set_new(j, "key_hex", dlq_json_hex(m->key, m->key_len));
    json_object_set_new(j, "value_size", json_integer((json_int_t)m->len));
    return j;
}

static bool dlq_list_one(dlq_t *d, const dlq_letter_t *l) {
    if (!dlq_selected(d, l)) return true;
    d->shown++;
    if (d->a->json) {
        json_array_append_new(d->letters, dlq_letter_json(d, l));
    } else {
        char key[128];
        ldr_buf_t msg;
        ldr_buf_init(&msg);
        dlq_text_bytes(&msg, l->message, strlen(l->message));
        dlq_key_text(l->m->key, l->m->key_len, key, sizeof(key));
        char src[320] = "-";
        if (l->src_topic[0])
            snprintf(src, sizeof(src), "%s/%d/%lld", l->src_topic,
                     (int)l->src_partition, (long long)l->src_offset);
        printf("%d:%lld %s %s key=%s %.*s\n", (int)l->m->partition,
               (long long)l->m->offset, l->code[0] ? l->code : "-", src, key,
               (int)msg.len, msg.data ? msg.data : "");
        ldr_buf_fini(&msg);
    }
    return !(d->o.limit && d->shown >= d->o.limit);
}

static int dlq_list(dlq_t *d) {
    d->letters = json_array();
    int rc = dlq_scan(d, dlq_list_one);
    if (rc) return rc;
    bool truncated = d->o.limit && d->shown >= d->o.limit;
    if (d->a->json) {
        json_t *j = json_object();
        json_object_set_new(j, "topic", json_string(d->topic));
        json_object_set_new(j, "partitions", json_integer(d->parts));
        json_object_set_new(j, "read", json_integer(d->read));
        json_object_set_new(j, "shown", json_integer(d->shown));
        json_object_set_new(j, "truncated", json_boolean(truncated));
        json_object_set_new(j, "letters", json_incref(d->letters));
        adm_json_print(j);
    } else {
        printf("%ld dead letter%s shown (%ld read from %s)%s\n", d->shown,
               d->shown == 1 ? "" : "s", d->read, d->topic,
               truncated ? "; --limit reached" : "");
    }
    return ADM_EXIT_OK;
}

/* ---- show ---------------------------------------------------------------- */

/* The hex dump of the value's first bytes, 16 a line. */
static void dlq_hexdump(const rd_kafka_message_t *m) {
    const unsigned char *v = m->payload;
    size_t n = m->len < DLQ_HEX_MAX ? m->len : DLQ_HEX_MAX;
    for (size_t row = 0; row < n; row += 16) {
        printf("    %04zx ", row);
        for (size_t i = row; i < row + 16; i++)
            if (i < n)
                printf(" %02x", v[i]);
            else
                printf("   ");
        printf("  |");
        for (size_t i = row; i < row + 16 && i < n; i++)
            putchar(v[i] >= 0x20 && v[i] < 0x7f ? v[i] : '.');
        printf("|\n");
    }
    if (m->len > n) printf("    ... %zu more bytes\n", m->len - n);
}

/* What the ledger says about @p letter: a JSON string, or null (never
 * replayed); *@p err set when Redis cannot be asked. */
static json_t *dlq_ledger_json(dlq_t *d, const char *letter, char *err,
                               size_t n) {
    ldr_store_t *s = adm_store(d->a, err, n);
    char v[256];
    bool found = false;
    if (!s || ldr_store_replay_get(s, letter, v, sizeof(v), &found, err, n))
        return NULL;
    return found ? json_string(v) : json_null();
}

static void dlq_show_text(dlq_t *d, const dlq_letter_t *l, json_t *j) {
    const rd_kafka_message_t *m = l->m;
    char key[128];
    dlq_key_text(m->key, m->key_len, key, sizeof(key));
    printf("dead letter %s %d:%lld\n", d->topic, (int)m->partition,
           (long long)m->offset);
    printf("  timestamp  %s\n",
           json_string_value(json_object_get(j, "timestamp"))
               ? json_string_value(json_object_get(j, "timestamp"))
               : "-");
    printf("  key        %s (%zu bytes)\n", key, m->key ? m->key_len : 0);
    printf("  headers\n");
    rd_kafka_headers_t *h = NULL;
    const char *name;
    const void *v;
    size_t len;
    if (!rd_kafka_message_headers(m, &h))
        for (size_t i = 0; !rd_kafka_header_get_all(h, i, &name, &v, &len);
             i++) {
            ldr_buf_t b;
            ldr_buf_init(&b);
            if (v) dlq_text_bytes(&b, v, len);
            printf("    %s = %.*s\n", name, (int)b.len, b.data ? b.data : "");
            ldr_buf_fini(&b);
        }
    printf("  value      %zu bytes%s\n", m->len,
           m->len > DLQ_HEX_MAX ? ", the first 64:" : "");
    dlq_hexdump(m);
    json_t *rec = json_object_get(j, "decoded");
    if (json_is_object(rec)) {
        char *text = json_dumps(rec, JSON_PRESERVE_ORDER | JSON_INDENT(2));
        printf("  decoded    %s\n%s\n",
               json_string_value(json_object_get(j, "record")), text);
        free(text);
    } else {
        printf("  decoded    no: %s\n",
               json_string_value(json_object_get(j, "decode_error")));
    }
    const char *rp = json_string_value(json_object_get(j, "replay"));
    const char *rpe = json_string_value(json_object_get(j, "replay_error"));
    char why[600] = "", letter[300];
    snprintf(letter, sizeof(letter), "%s/%d/%lld", d->topic, (int)m->partition,
             (long long)m->offset);
    if (rp) dlq_ledger_text(rp, letter, why, sizeof(why));
    if (rpe)
        printf("  replay     unknown: %s\n", rpe);
    else if (rp)
        printf("  replay     %s: %s\n", rp, why);
    else
        printf("  replay     never replayed\n");
}

static bool dlq_show_one(dlq_t *d, const dlq_letter_t *l) {
    if (!dlq_selected(d, l)) return true;
    const rd_kafka_message_t *m = l->m;
    json_t *j = dlq_letter_json(d, l);
    json_t *hs = json_array();
    rd_kafka_headers_t *h = NULL;
    const char *name;
    const void *v;
    size_t len;
    if (!rd_kafka_message_headers(m, &h))
        for (size_t i = 0; !rd_kafka_header_get_all(h, i, &name, &v, &len); i++)
            json_array_append_new(hs,
                                  json_pack("{s:s,s:o}", "name", name, "value",
                                            dlq_json_bytes(v, v ? len : 0)));
    json_object_set_new(j, "headers", hs);
    size_t n = m->len < DLQ_HEX_MAX ? m->len : DLQ_HEX_MAX;
    json_object_set_new(j, "value_hex", dlq_json_hex(m->payload, n));
    ldr_record_t rec;
    const ldr_schema_t *writer = NULL;
    char err[1024];
    json_t *dj = NULL;
    if (!dlq_decode(d, m, &rec, &writer, err, sizeof(err))) {
        dj = dlq_record_json(&rec);
        json_object_set_new(j, "record",
                            json_string(ldr_record_kind_fullname(rec.kind)));
        json_object_set_new(j, "schema_id",
                            writer ? json_integer(ldr_schema_id(writer))
                                   : json_null());
    }
    json_object_set_new(j, "decoded", dj ? dj : json_null());
    json_object_set_new(j, "decode_error", dj ? json_null() : json_string(err));
    char letter[300];
    snprintf(letter, sizeof(letter), "%s/%d/%lld", d->topic, (int)m->partition,
             (long long)m->offset);
    json_t *ledger = dlq_ledger_json(d, letter, err, sizeof(err));
    json_object_set_new(j, "replay", ledger ? ledger : json_null());
    json_object_set_new(j, "replay_error",
                        ledger ? json_null() : json_string(err));
    if (d->a->json)
        adm_json_print(json_incref(j));
    else
        dlq_show_text(d, l, j);
    json_decref(j);
    return false;
}

/* ---- replay ------------------------------------------------------------- */

/* Where @p l goes: re-keyed by the USCC of its value when it decodes.
 * Returns the decoder's answer: LDR_ERR_TRANSIENT (the registry cannot be
 * reached) means that the target is not known, with @p t->note saying
 * why. */
static ldr_err_t dlq_target(dlq_t *d, const dlq_letter_t *l, dlq_target_t *t) {
    const rd_kafka_message_t *m = l->m;
    ldr_record_t rec;
    ldr_str_t u;
    char err[512];
    t->partition = RD_KAFKA_PARTITION_UA;
    t->note[0] = '\0';
    ldr_err_t rc = dlq_decode(d, m, &rec, NULL, err, sizeof(err));
    if (!rc && dlq_record_uscc(&rec, &u)) {
        t->key = u.ptr;
        t->key_len = u.len;
        t->key_from = "uscc";
        snprintf(t->note, sizeof(t->note), "the USCC of its value");
    } else if (m->key) {
        t->key = m->key;
        t->key_len = m->key_len;
        t->key_from = "original";
        snprintf(t->note, sizeof(t->note), "its original key: %s%s",
                 rc ? "the value does not decode: " : "its value names no USCC",
                 rc ? err : "");
    } else {
        t->key = NULL;
        t->key_len = 0;
        t->key_from = "none";
        bool back = l->src_partition >= 0 && l->src_partition < d->input_parts;
        if (back) t->partition = l->src_partition;
        snprintf(t->note, sizeof(t->note), "no key, %s%s; %s",
                 rc ? "and the value does not decode: " : "a ClockTick",
                 rc ? err : "",
                 back ? "to its source partition"
                      : "to a partition the partitioner picks at random");
    }
    t->expect = t->partition;
    if (t->key)
        t->expect =
            ldr_kafka_partition_for_key(t->key, t->key_len, d->input_parts);
    if (rc == LDR_ERR_TRANSIENT) snprintf(t->note, sizeof(t->note), "%s", err);
    return rc;
}

/* Reports one letter's outcome: a line on stdout, or an object for
 * --json. @p as is "TOPIC/P/O" once delivered, @p ledger the ledger's
 * value that refused it. */
static void dlq_report(dlq_t *d, const dlq_flight_t *f, const char *outcome,
                       int32_t partition, const char *as, const char *ledger,
                       const char *line) {
    if (!d->a->json) {
        printf("%s\n", line);
        fflush(stdout);
        return;
    }
    json_t *j = json_object();
    json_object_set_new(j, "letter", json_string(f->letter));
    json_object_set_new(j, "partition", json_integer(f->partition));
    json_object_set_new(j, "offset", json_integer(f->offset));
    json_object_set_new(j, "code", json_string(f->code));
    json_object_set_new(j, "outcome", json_string(outcome));
    json_object_set_new(j, "key", dlq_json_bytes(f->key, strlen(f->key)));
    json_object_set_new(j, "key_from", json_string(f->key_from));
    json_object_set_new(j, "to_partition",
                        partition >= 0 ? json_integer(partition) : json_null());
    json_object_set_new(j, "replayed_as", as ? json_string(as) : json_null());
    json_object_set_new(j, "ledger",
                        ledger ? json_string(ledger) : json_null());
    json_object_set_new(j, "message", dlq_json_bytes(line, strlen(line)));
    json_array_append_new(d->letters, j);
}

/* The text of a ledger value ("pending MS", "done MS TOPIC/P/O"). */
static void dlq_ledger_text(const char *v, const char *letter, char *out,
                            size_t n) {
    char state[16] = "", as[300] = "", t[LDR_TIME_FORMAT_SIZE];
    long long ms = 0;
    int k = sscanf(v, "%15s %lld %299s", state, &ms, as);
    adm_time(k >= 2 ? ms : 0, t, sizeof(t));
    if (k == 3 && strcmp(state, "done") == 0)
        snprintf(out, n, "already replayed at %s as %s", t, as);
    else if (k >= 2 && strcmp(state, "pending") == 0)
        snprintf(
            out, n,
            "a replay started at %s was never confirmed (it may or may "
            "not be in the input topic: look for the header " DLQ_REPLAY_HEADER
            "=%s)",
            t, letter);
    else
        snprintf(out, n, "the ledger holds \"%s\"", v);
}

/* The letter is refused (or would be, in a dry run): the ledger holds
 * @p v for it. */
static void dlq_refuse(dlq_t *d, const dlq_flight_t *f, const char *v) {
    char why[600], line[2048];
    dlq_ledger_text(v, f->letter, why, sizeof(why));
    snprintf(line, sizeof(line),
             "refused %d:%lld %s: %s; --again replays it "
             "again",
             (int)f->partition, (long long)f->offset, f->code, why);
    d->refused++;
    dlq_status(d, ADM_EXIT_FAILED);
    dlq_report(d, f, "refused", -1, NULL, v, line);
}

/* The delivery report of one replay: the ledger's mark becomes "done", or
 * is dropped when the message certainly was not written. */
static void dlq_delivered(rd_kafka_t *rk, const rd_kafka_message_t *m,
                          void *opaque) {
    (void)rk;
    dlq_t *d = opaque;
    dlq_flight_t *f = m->_private;
    char line[2048], err[512], as[320], v[400];
    d->inflight--;
    ldr_store_t *s = d->a->store; /* connected: the mark was written */
    if (!m->err) {
        snprintf(as, sizeof(as), "%s/%d/%lld", d->input, (int)m->partition,
                 (long long)m->offset);
        snprintf(v, sizeof(v), "done %lld %s", (long long)ldr_clock_wall_ms(),
                 as);
        bool ledger = !ldr_store_replay_set(s, f->letter, v, false, NULL, err,
                                            sizeof(err));
        snprintf(line, sizeof(line),
                 "replayed %d:%lld %s as %s, key %s (%s)%s%s",
                 (int)f->partition, (long long)f->offset, f->code, as, f->key,
                 f->note, ledger ? "" : "; but the ledger still says pending: ",
                 ledger ? "" : err);
        d->replayed++;
        if (!ledger) dlq_status(d, ADM_EXIT_UNREACHABLE);
        dlq_report(d, f, "replayed", m->partition, as, NULL, line);
        free(f);
        return;
    }
    bool surely_not =
        rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
    bool forgot =
        surely_not && !ldr_store_replay_forget(s, f->letter, err, sizeof(err));
    snprintf(line, sizeof(line), "failed %d:%lld %s: %s; %s", (int)f->partition,
             (long long)f->offset, f->code, rd_kafka_err2str(m->err),
             forgot ? "it was not written, and the ledger forgot it: replay "
                      "it again later"
                    : "it may have been written: the ledger keeps it pending "
                      "(look for the header in the input topic, then "
                      "--again)");
    d->failed++;
    dlq_status(d, ADM_EXIT_FAILED);
    dlq_report(d, f, "failed", -1, NULL, NULL, line);
    free(f);
}

/* Produces @p l as @p t says, @p f (ours until produced) riding along to
 * the delivery report. */
static void dlq_produce(dlq_t *d, const dlq_letter_t *l, const dlq_target_t *t,
                        dlq_flight_t *f) {
    char err[512];
    for (;;) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(1);
        rd_kafka_header_add(h, DLQ_REPLAY_HEADER, -1, f->letter, -1);
        rd_kafka_resp_err_t kerr = rd_kafka_producev(
            d->producer, RD_KAFKA_V_TOPIC(d->input),
            RD_KAFKA_V_PARTITION(t->partition),
            RD_KAFKA_V_KEY(t->key, t->key_len),
            RD_KAFKA_V_VALUE(l->m->payload, l->m->len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
            RD_KAFKA_V_OPAQUE(f), RD_KAFKA_V_END);
        if (!kerr) {
            d->inflight++;
            rd_kafka_poll(d->producer, 0);
            return;
        }
        rd_kafka_headers_destroy(h); /* still ours when refused */
        if (kerr == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(d->producer, 100);
            continue;
        }
        /* Refused before it was queued: certainly not written. */
        char line[1024];
        bool forgot =
            !ldr_store_replay_forget(d->a->store, f->letter, err, sizeof(err));
        snprintf(line, sizeof(line),
                 "failed %d:%lld %s: %s; it was not "
                 "written%s",
                 (int)f->partition, (long long)f->offset, f->code,
                 rd_kafka_err2str(kerr),
                 forgot ? ", and the ledger forgot it"
                        : ": the ledger keeps it pending");
        d->failed++;
        dlq_status(d, ADM_EXIT_FAILED);
        dlq_report(d, f, "failed", -1, NULL, NULL, line);
        free(f);
        return;
    }
}

/* The flight record of @p l going to @p t. */
static dlq_flight_t *dlq_flight(dlq_t *d, const dlq_letter_t *l,
                                const dlq_target_t *t) {
    dlq_flight_t *f = ldr_calloc(1, sizeof(*f));
    snprintf(f->letter, sizeof(f->letter), "%s/%d/%lld", d->topic,
             (int)l->m->partition, (long long)l->m->offset);
    f->partition = l->m->partition;
    f->offset = l->m->offset;
    snprintf(f->code, sizeof(f->code), "%s", l->code[0] ? l->code : "-");
    dlq_key_text(t->key, t->key_len, f->key, sizeof(f->key));
    f->key_from = t->key_from;
    snprintf(f->note, sizeof(f->note), "%s", t->note);
    return f;
}

/* One chosen letter: checked against the ledger, marked pending and
 * produced (or, in a dry run, said what would happen). */
static bool dlq_replay_one(dlq_t *d, const dlq_letter_t *l) {
    if (!dlq_selected(d, l)) return true;
    d->selected++;
    dlq_target_t t;
    if (dlq_target(d, l, &t) == LDR_ERR_TRANSIENT) {
        /* Keeping the original key would be wrong for a KEY_MISMATCH. */
        fprintf(stderr, "ladder-admin dlq replay: %d:%lld: %s\n",
                (int)l->m->partition, (long long)l->m->offset, t.note);
        dlq_status(d, ADM_EXIT_UNREACHABLE);
        return false;
    }
    dlq_flight_t *f = dlq_flight(d, l, &t);
    char err[512], v[400], line[2048];
    bool found = false, written = false;
    ldr_err_t rc;
    if (d->o.dry_run) {
        rc = ldr_store_replay_get(d->a->store, f->letter, v, sizeof(v), &found,
                                  err, sizeof(err));
    } else {
        snprintf(v, sizeof(v), "pending %lld", (long long)ldr_clock_wall_ms());
        rc = ldr_store_replay_set(d->a->store, f->letter, v, !d->o.again,
                                  &written, err, sizeof(err));
        if (!rc && !written)
            rc = ldr_store_replay_get(d->a->store, f->letter, v, sizeof(v),
                                      &found, err, sizeof(err));
    }
    if (rc) {
        fprintf(stderr, "ladder-admin dlq replay: the ledger: %s\n", err);
        dlq_status(d, ADM_EXIT_UNREACHABLE);
        free(f);
        return false;
    }
    if (found && !d->o.again) {
        dlq_refuse(d, f, v);
        free(f);
    } else if (d->o.dry_run) {
        char to[64] = "a partition picked at random";
        if (t.expect >= 0) snprintf(to, sizeof(to), "partition %d", t.expect);
        snprintf(line, sizeof(line),
                 "would replay %d:%lld %s to %s %s, key %s "
                 "(%s)%s",
                 (int)f->partition, (long long)f->offset, f->code, d->input, to,
                 f->key, f->note, found ? " (again)" : "");
        dlq_report(d, f, "would_replay", t.expect, NULL, found ? v : NULL,
                   line);
        free(f);
    } else if (written) {
        dlq_produce(d, l, &t, f);
    } else {
        dlq_refuse(d, f, ""); /* dropped between HSETNX and HGET */
        free(f);
    }
    return !(d->o.limit && d->selected >= d->o.limit);
}

/* A progress line on stderr at most every DLQ_PROGRESS_MS (@p force: now,
 * when one was written before), so that a long run shows it is moving and
 * a short one prints nothing. */
static void dlq_progress(dlq_t *d, bool force) {
    int64_t now = ldr_clock_wall_ms();
    if (!d->progress_ms) d->progress_ms = now;
    if (now - d->progress_ms < DLQ_PROGRESS_MS && !force) return;
    if (force && !d->progress_shown) return;
    d->progress_ms = now;
    d->progress_shown = true;
    if (d->o.action == DLQ_REPLAY)
        fprintf(stderr,
                "ladder-admin dlq replay: %ld read (%s/%d at %lld of %lld), "
                "%ld chosen, %ld replayed, %ld refused, %ld failed, %ld in "
                "flight\n",
                d->read, d->topic, (int)d->scan_partition,
                (long long)d->scan_offset, (long long)d->scan_end, d->selected,
                d->replayed, d->refused, d->failed, d->inflight);
    else
        fprintf(stderr, "ladder-admin dlq: %ld read (%s/%d at %lld of %lld)\n",
                d->read, d->topic, (int)d->scan_partition,
                (long long)d->scan_offset, (long long)d->scan_end);
}

/* The producer of the input topic: ldr_kafka_conf_new() makes it
 * idempotent with the murmur2_random partitioner, as every producer of
 * the input topic must be. NULL after one line on stderr. */
static rd_kafka_t *dlq_producer(dlq_t *d) {
    char err[1024], timeout[32];
    /* A tool should not wait librdkafka's default 5 minutes on a message:
     * 30 s, or the --timeout-ms when longer; kafka.message.timeout.ms
     * still wins. */
    snprintf(timeout, sizeof(timeout), "%d",
             d->a->timeout_ms > 30000 ? d->a->timeout_ms : 30000);
    const ldr_kafka_prop_t defaults[] = {{"message.timeout.ms", timeout}};
    rd_kafka_conf_t *conf =
        ldr_kafka_conf_new(d->a->cfg, LDR_KAFKA_TOOL_PRODUCER, defaults,
                           LDR_ARRAY_SIZE(defaults), err, sizeof(err));
    if (!conf) {
        fprintf(stderr, "ladder-admin dlq replay: %s\n", err);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dlq_delivered);
    rd_kafka_conf_set_opaque(conf, d);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        rd_kafka_conf_destroy(conf); /* still ours on failure */
        fprintf(stderr, "ladder-admin dlq replay: %s\n", err);
    }
    return rk;
}

/* What replay needs besides the DLQ: the input topic's partition count,
 * the store (the ledger), the codec and, unless a dry run, the producer.
 * Returns 0 or an exit status after one line on stderr. */
static int dlq_replay_open(dlq_t *d) {
    char err[1024];
    bool missing = false;
    d->input_parts =
        adm_topic_partitions(d->a, d->input, &missing, err, sizeof(err));
    if (d->input_parts < 0) {
        fprintf(stderr, "ladder-admin dlq replay: %s\n", err);
        return missing ? ADM_EXIT_FAILED : ADM_EXIT_UNREACHABLE;
    }
    if (!adm_store(d->a, err, sizeof(err))) {
        fprintf(stderr, "ladder-admin dlq replay: %s\n", err);
        return ADM_EXIT_UNREACHABLE;
    }
    /* Re-keying needs the codec: without it every letter would keep its
     * key, which is what a KEY_MISMATCH letter must not. */
    if (!dlq_codec(d)) {
        fprintf(stderr, "ladder-admin dlq replay: %s\n", d->codec_err);
        return ADM_EXIT_USAGE;
    }
    if (!d->o.dry_run && !(d->producer = dlq_producer(d)))
        return ADM_EXIT_USAGE;
    return 0;
}

/* Waits for every delivery report (bounded by message.timeout.ms, after
 * which librdkafka fails what is left). */
static void dlq_drain(dlq_t *d) {
    while (d->producer && d->inflight > 0) {
        rd_kafka_poll(d->producer, 100);
        dlq_progress(d, false);
    }
}

static int dlq_replay(dlq_t *d) {
    int rc = dlq_replay_open(d);
    if (rc) return rc;
    d->letters = json_array();
    rc = dlq_scan(d, dlq_replay_one);
    dlq_drain(d);
    dlq_progress(d, true);
    if (rc) dlq_status(d, rc);
    for (size_t i = 0; i < d->o.ncoords; i++)
        if (!d->o.coords[i].seen && !rc) {
            fprintf(stderr,
                    "ladder-admin dlq replay: no dead letter at %d:%lld\n",
                    (int)d->o.coords[i].partition,
                    (long long)d->o.coords[i].offset);
            dlq_status(d, ADM_EXIT_FAILED);
        }
    if (d->a->json) {
        json_t *j = json_object();
        json_object_set_new(j, "topic", json_string(d->topic));
        json_object_set_new(j, "input_topic", json_string(d->input));
        json_object_set_new(j, "dry_run", json_boolean(d->o.dry_run));
        json_object_set_new(j, "chosen", json_integer(d->selected));
        json_object_set_new(j, "replayed", json_integer(d->replayed));
        json_object_set_new(j, "refused", json_integer(d->refused));
        json_object_set_new(j, "failed", json_integer(d->failed));
        json_object_set_new(j, "letters", json_incref(d->letters));
        adm_json_print(j);
    } else if (d->o.dry_run) {
        printf("dry run: %ld would be replayed, %ld refused (%ld chosen); "
               "nothing was sent\n",
               d->selected - d->refused, d->refused, d->selected);
    } else {
        printf("%ld replayed, %ld refused, %ld failed (%ld chosen)\n",
               d->replayed, d->refused, d->failed, d->selected);
    }
    return d->status;
}

/* ---- the command line ------------------------------------------------- */

static bool dlq_known_code(const char *code) {
    for (int e = LDR_ERR_BAD_FRAMING; e >= LDR_ERR_WRONG_PARTITION; e--)
        if (strcmp(ldr_err_code((ldr_err_t)e), code) == 0) return true;
    return false;
}

/* Parses "PARTITION:OFFSET" into a new coordinate; false when it is not
 * one. */
static bool dlq_parse_coord(dlq_opts_t *o, const char *s) {
    const char *colon = strchr(s, ':');
    if (!colon || colon == s) return false;
    char part[16];
    size_t n = (size_t)(colon - s);
    if (n >= sizeof(part)) return false;
    memcpy(part, s, n);
    part[n] = '\0';
    int p = adm_parse_partition(part);
    int64_t off = dlq_parse_i64(colon + 1, INT64_MAX - 1);
    if (p < 0 || off < 0) return false;
    o->coords = realloc(o->coords, (o->ncoords + 1) * sizeof(*o->coords));
    if (!o->coords) abort();
    o->coords[o->ncoords++] = (dlq_coord_t){.partition = p, .offset = off};
    return true;
}

/* One option of dlq's own (getopt_long's @p c); an exit status, or
 * ADM_CONTINUE. */
static int dlq_opt(dlq_opts_t *o, int c) {
    const adm_cmd_t *cmd = dlq_cmd();
    switch (c) {
    case DLQ_OPT_CODE:
        if (!dlq_known_code(optarg))
            return adm_usage_error(
                cmd,
                "--code: not a dead-letter code: %s (one of "
                "BAD_FRAMING, UNKNOWN_SCHEMA, DECODE_FAILED, "
                "INVALID_USCC, INVALID_FIELD, "
                "UNKNOWN_REPORTING_UNIT, KEY_MISMATCH, "
                "WRONG_PARTITION)",
                optarg);
        o->code = optarg;
        return ADM_CONTINUE;
    case DLQ_OPT_PARTITION:
        o->partition = adm_parse_partition(optarg);
        if (o->partition < 0)
            return adm_usage_error(cmd,
                                   "--partition: not a partition number: "
                                   "%s",
                                   optarg);
        return ADM_CONTINUE;
    case DLQ_OPT_LIMIT:
        o->limit = (long)dlq_parse_i64(optarg, DLQ_LIMIT_MAX);
        if (o->limit < 1)
            return adm_usage_error(cmd, "--limit: not 1..%d: %s", DLQ_LIMIT_MAX,
                                   optarg);
        return ADM_CONTINUE;
    case DLQ_OPT_ALL: o->all = true; return ADM_CONTINUE;
    case DLQ_OPT_AGAIN: o->again = true; return ADM_CONTINUE;
    case DLQ_OPT_DRY_RUN: o->dry_run = true; return ADM_CONTINUE;
    default: return ADM_EXIT_USAGE;
    }
}

/* Checks that the options and arguments fit the action. */
static int dlq_check_usage(dlq_opts_t *o, int argc, char **argv) {
    const adm_cmd_t *cmd = dlq_cmd();
    const char *act = argv[optind];
    if (o->action != DLQ_REPLAY && (o->again || o->dry_run || o->all))
        return adm_usage_error(cmd,
                               "%s: --again, --dry-run and --all are for "
                               "replay",
                               act);
    if (o->action == DLQ_SHOW && (o->code || o->partition >= 0 || o->limit))
        return adm_usage_error(cmd, "show: --code, --partition and --limit "
                                    "are for list and replay");
    for (int i = optind + 1; i < argc; i++)
        if (o->action == DLQ_LIST || !dlq_parse_coord(o, argv[i]))
            return adm_usage_error(cmd, "%s: not PARTITION:OFFSET: \"%s\"", act,
                                   argv[i]);
    if (o->action == DLQ_SHOW && o->ncoords != 1)
        return adm_usage_error(cmd, "show: give one PARTITION:OFFSET");
    if (o->action == DLQ_REPLAY && o->all && o->code)
        return adm_usage_error(cmd, "replay: give --all or --code, not both");
    if (o->action == DLQ_REPLAY && o->partition >= 0 && !o->all && !o->code)
        return adm_usage_error(cmd, "replay: --partition narrows --code or "
                                    "--all; give one of them");
    if (o->action == DLQ_REPLAY && !o->all && !o->code && !o->ncoords)
        return adm_usage_error(cmd, "replay: choose letters: PARTITION:OFFSET"
                                    "..., --code CODE or --all");
    return ADM_CONTINUE;
}

/* Parses the command line into @p o; an exit status, or ADM_CONTINUE. */
static int dlq_parse(adm_t *a, dlq_opts_t *o, int argc, char **argv) {
    static const struct option opts[] = {
        {"code", required_argument, NULL, DLQ_OPT_CODE},
        {"partition", required_argument, NULL, DLQ_OPT_PARTITION},
        {"limit", required_argument, NULL, DLQ_OPT_LIMIT},
        {"all", no_argument, NULL, DLQ_OPT_ALL},
        {"again", no_argument, NULL, DLQ_OPT_AGAIN},
        {"dry-run", no_argument, NULL, DLQ_OPT_DRY_RUN},
        ADM_COMMON_OPTS,
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = adm_common_opt(a, dlq_cmd(), c);
        if (rc == -1) rc = dlq_opt(o, c);
        if (rc != ADM_CONTINUE) return rc < 0 ? ADM_EXIT_USAGE : rc;
    }
    if (optind >= argc)
        return adm_usage_error(dlq_cmd(), "give list, show or replay");
    const char *act = argv[optind];
    if (strcmp(act, "list") == 0)
        o->action = DLQ_LIST;
    else if (strcmp(act, "show") == 0)
        o->action = DLQ_SHOW;
    else if (strcmp(act, "replay") == 0)
        o->action = DLQ_REPLAY;
    else
        return adm_usage_error(
            dlq_cmd(), "unknown action \"%s\" (list, show or replay)", act);
    return dlq_check_usage(o, argc, argv);
}

static void dlq_fini(dlq_t *d) {
    if (d->producer) rd_kafka_destroy(d->producer);
    json_decref(d->letters);
    ldr_codec_destroy(d->codec);
    ldr_schemas_destroy(d->schemas);
    ldr_registry_destroy(d->registry);
    free(d->lo);
    free(d->hi);
    free(d->o.coords);
}

static int dlq_run(adm_t *a, int argc, char **argv) {
    dlq_t d = {.a = a, .o = {.partition = -1}};
    int rc = dlq_parse(a, &d.o, argc, argv);
    if (rc != ADM_CONTINUE) {
        free(d.o.coords);
        return rc;
    }
    char err[1024];
    ldr_config_t *cfg = adm_config(a, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "ladder-admin: %s\n", err);
        free(d.o.coords);
        return ADM_EXIT_USAGE;
    }
    d.topic = ldr_config_get(cfg, "dlq.topic");
    d.input = ldr_config_get(cfg, "input.topic");
    rc = dlq_open(&d);
    if (!rc && d.o.action == DLQ_LIST) rc = dlq_list(&d);
    if (!rc && d.o.action == DLQ_SHOW) {
        rc = dlq_scan(&d, dlq_show_one);
        if (!rc && !d.o.coords[0].seen) {
            fprintf(
                stderr, "ladder-admin dlq show: no dead letter at %d:%lld\n",
                (int)d.o.coords[0].partition, (long long)d.o.coords[0].offset);
            rc = ADM_EXIT_FAILED;
        }
    }
    if (!rc && d.o.action == DLQ_REPLAY) rc = dlq_replay(&d);
    dlq_fini(&d);
    return rc;
}

const adm_cmd_t adm_dlq_cmd = {
    .name = "dlq",
    .args = "list | show PARTITION:OFFSET | replay [PARTITION:OFFSET]...",
    .summary = "list, show and replay the dead letters",
    .help =
        "Reads the dead-letter topic (dlq.topic) with the worker's headers.\n"
        "\n"
        "  list                  one line per dead letter: PARTITION:OFFSET, "
        "code,\n"
        "                        source topic/partition/offset, key=KEY, "
        "message\n"
        "  show PARTITION:OFFSET one letter in full: headers, key, value "
        "size, a hex\n"
        "                        dump of its first 64 bytes, its JSON form "
        "when it\n"
        "                        decodes, and what the replay ledger says\n"
        "  replay [P:O]...       sends the chosen letters' values to "
        "input.topic,\n"
        "                        keyed by the USCC of the value (the "
        "original key when\n"
        "                        the value does not decode), with the "
        "header\n"
        "                        " DLQ_REPLAY_HEADER "=DLQTOPIC/PARTITION/"
        "OFFSET, and waits\n"
        "                        for the delivery reports. The ledger in "
        "Redis\n"
        "                        (ldr:dlq:replays) refuses a letter already "
        "replayed,\n"
        "                        or whose replay was never confirmed, "
        "unless --again\n"
        "\n"
        "  --code CODE     only letters with this ladder.error.code (list, "
        "replay)\n"
        "  --partition N   only DLQ partition N (list, and replay's --code "
        "or --all)\n"
        "  --limit N       at most N letters (list, replay)\n"
        "  --all           replay: every letter (of --partition N)\n"
        "  --again         replay: also letters the ledger holds\n"
        "  --dry-run       replay: say what would be sent; send nothing, "
        "write nothing\n"
        "\n"
        "Exit status: 0 done; 1 a letter was refused or its delivery failed, "
        "or no\nletter at PARTITION:OFFSET; 2 bad usage or configuration; "
        "3 Kafka or Redis\nunreachable.\n",
    .run = dlq_run,
};

static const adm_cmd_t *dlq_cmd(void) {
    return &adm_dlq_cmd;
}
