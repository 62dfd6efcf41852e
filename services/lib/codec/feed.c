/* feed.c -- see feed.h.
 *
 * DESIGN: one column table, in docs/FEED.md's writer order: the fourteen
 * top-level columns, then the indicators of indicators.h's field table. Each
 * row kind is a set of those columns (feed_kinds), and both the writer and
 * the readers walk that set in column order, so the reject for a row names
 * the first bad field in the same order the validator checks fields.
 *
 * The CSV reader keeps one buffer of LDR_FEED_LINE_MAX plus a read chunk. A
 * row is scanned from its start; when the scan runs off the end of the
 * buffer, the unread part is moved to the front, more is read and the row is
 * scanned again from its start, so the scanner never needs to resume in the
 * middle of a quoted field. Rows are short next to the read chunk, so a
 * rescan is rare. A row that grows past the limit is rejected and skipped up
 * to the next line end without regard to quotes: that is the only way to
 * resynchronise in constant memory, and it is what docs/FEED.md promises. */
#include "ladder/feed.h"
#include "ladder/utf8.h"

#include "ladder/alloc.h"
#include "ladder/escape.h"
#include "ladder/indicators.h"
#include "ladder/time.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the column table ------------------------------------------------- */

enum {
    COL_KIND,
    COL_EVENT_ID,
    COL_USCC,
    COL_ENTERPRISE_NAME,
    COL_REPORTING_UNIT,
    COL_TIER,
    COL_BATCH,
    COL_OCCURRED_AT,
    COL_CASE_ID,
    COL_VIOLATION_KIND,
    COL_STATUS,
    COL_DETAILS,
    COL_TICK_AT,
    COL_SOURCE,
    COL_IND0,
    COL_COUNT = COL_IND0 + LDR_INDICATORS_FIELD_COUNT
};

static const char *const feed_top_names[COL_IND0] = {
    "kind",   "event_id", "uscc",        "enterprise_name", "reporting_unit",
    "tier",   "batch",    "occurred_at", "case_id",         "violation_kind",
    "status", "details",  "tick_at",     "source"};

static const char *feed_col_name(int col) {
    return col < COL_IND0 ? feed_top_names[col]
                          : ldr_indicators_fields[col - COL_IND0].name;
}

const char *ldr_feed_column_name(size_t i) {
    return i < COL_COUNT ? feed_col_name((int)i) : NULL;
}

size_t ldr_feed_column_count(void) {
    return COL_COUNT;
}

#define BIT(c)   (UINT64_C(1) << (c))
#define IND_ALL  (((UINT64_C(1) << LDR_INDICATORS_FIELD_COUNT) - 1) << COL_IND0)
#define IND_DEV  BIT(COL_IND0 + LDR_INDICATORS_FIELD_COUNT - 1)
#define COMMON_A (BIT(COL_KIND) | BIT(COL_EVENT_ID) | BIT(COL_USCC))

typedef struct feed_kind {
    const char *name;
    ldr_record_kind_t kind;
    uint64_t used;     /* columns of the kind */
    uint64_t optional; /* of those, the ones that may be absent */
} feed_kind_t;

static const feed_kind_t feed_kinds[] = {
    {"application", LDR_RECORD_APPLICATION,
     COMMON_A | BIT(COL_ENTERPRISE_NAME) | BIT(COL_REPORTING_UNIT) |
         BIT(COL_TIER) | BIT(COL_BATCH) | BIT(COL_OCCURRED_AT) | IND_ALL,
     IND_DEV},
    {"review", LDR_RECORD_REVIEW,
     COMMON_A | BIT(COL_ENTERPRISE_NAME) | BIT(COL_REPORTING_UNIT) |
         BIT(COL_TIER) | BIT(COL_OCCURRED_AT) | IND_ALL,
     IND_DEV},
    {"violation", LDR_RECORD_VIOLATION,
     COMMON_A | BIT(COL_REPORTING_UNIT) | BIT(COL_CASE_ID) |
         BIT(COL_VIOLATION_KIND) | BIT(COL_STATUS) | BIT(COL_OCCURRED_AT) |
         BIT(COL_DETAILS),
     BIT(COL_DETAILS)},
    {"tick", LDR_RECORD_CLOCK_TICK,
     BIT(COL_KIND) | BIT(COL_TICK_AT) | BIT(COL_SOURCE), 0},
};
#define FEED_KIND_COUNT (LDR_ARRAY_SIZE(feed_kinds))

static const feed_kind_t *feed_kind_of(ldr_record_kind_t kind) {
    for (size_t i = 0; i < FEED_KIND_COUNT; i++)
        if (feed_kinds[i].kind == kind) return &feed_kinds[i];
    return NULL;
}

const char *ldr_feed_kind_name(ldr_record_kind_t kind) {
    const feed_kind_t *k = feed_kind_of(kind);
    return k ? k->name : NULL;
}

int64_t ldr_feed_record_time(const ldr_record_t *rec) {
    switch (rec->kind) {
    case LDR_RECORD_APPLICATION: return rec->u.application.occurred_at;
    case LDR_RECORD_REVIEW: return rec->u.review.occurred_at;
    case LDR_RECORD_VIOLATION: return rec->u.violation.occurred_at;
    case LDR_RECORD_CLOCK_TICK: return rec->u.tick.tick_at;
    case LDR_RECORD_DECISION: break;
    }
    return 0;
}

/* The fields shared by applications and reviews, by pointer, so that the
 * writer and the readers handle both with one piece of code. */
typedef struct feed_fields {
    ldr_str_t *event_id, *uscc, *enterprise_name, *reporting_unit, *case_id,
        *details, *source;
    ldr_tier_t *tier;
    int32_t *batch;
    int64_t *occurred_at, *tick_at;
    ldr_violation_kind_t *violation_kind;
    ldr_case_status_t *status;
    bool *has_details;
    ldr_indicators_t *ind;
} feed_fields_t;

static void feed_fields(ldr_record_t *rec, feed_fields_t *f) {
    memset(f, 0, sizeof *f);
    switch (rec->kind) {
    case LDR_RECORD_APPLICATION: {
        ldr_application_t *a = &rec->u.application;
        f->event_id = &a->event_id;
        f->uscc = &a->uscc;
        f->enterprise_name = &a->enterprise_name;
        f->reporting_unit = &a->reporting_unit;
        f->tier = &a->tier;
        f->batch = &a->batch;
        f->occurred_at = &a->occurred_at;
        f->ind = &a->indicators;
        break;
    }
    case LDR_RECORD_REVIEW: {
        ldr_review_t *r = &rec->u.review;
        f->event_id = &r->event_id;
        f->uscc = &r->uscc;
        f->enterprise_name = &r->enterprise_name;
        f->reporting_unit = &r->reporting_unit;
        f->tier = &r->tier;
        f->occurred_at = &r->occurred_at;
        f->ind = &r->indicators;
        break;
    }
    case LDR_RECORD_VIOLATION: {
        ldr_violation_t *v = &rec->u.violation;
        f->event_id = &v->event_id;
        f->uscc = &v->uscc;
        f->reporting_unit = &v->reporting_unit;
        f->case_id = &v->case_id;
        f->violation_kind = &v->kind;
        f->status = &v->status;
        f->occurred_at = &v->occurred_at;
        f->has_details = &v->has_details;
        f->details = &v->details;
        break;
    }
    case LDR_RECORD_CLOCK_TICK:
        f->tick_at = &rec->u.tick.tick_at;
        f->source = &rec->u.tick.source;
        break;
    case LDR_RECORD_DECISION: break;
    }
}

static ldr_str_t *feed_str_field(const feed_fields_t *f, int col) {
    switch (col) {
    case COL_EVENT_ID: return f->event_id;
    case COL_USCC: return f->uscc;
    case COL_ENTERPRISE_NAME: return f->enterprise_name;
    case COL_REPORTING_UNIT: return f->reporting_unit;
    case COL_CASE_ID: return f->case_id;
    case COL_DETAILS: return f->details;
    case COL_SOURCE: return f->source;
    }
    return NULL;
}

/* ---- writing ---------------------------------------------------------- */

/* The shortest %g form that strtod() reads back as the same double. If the
 * 15-digit form round-trips, it is the shortest (%g drops trailing zeros,
 * and any shorter decimal that round-trips rounds to it at 15 digits). */
static size_t feed_format_double(double d, char *buf, size_t size) {
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, size, "%.*g", prec, d);
        if (!isfinite(d) || strtod(buf, NULL) == d) break;
    }
    return n < 0 ? 0 : (size_t)n;
}

typedef enum cell_type {
    CELL_ABSENT,  /* an optional without a value */
    CELL_STRING,  /* text: s */
    CELL_NUMBER,  /* literal text in tmp: numbers, booleans */
    CELL_SYMBOL,  /* an enum symbol or time: text in tmp or s, a string */
    CELL_HONOURS, /* a bit set */
} cell_type_t;

typedef struct cell {
    cell_type_t type;
    ldr_str_t s;
    uint32_t honours;
    char tmp[48];
} cell_t;

static void cell_text(cell_t *c, cell_type_t type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cell_text(cell_t *c, cell_type_t type, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->tmp, sizeof c->tmp, fmt, ap);
    va_end(ap);
    c->type = type;
    c->s.ptr = c->tmp;
    c->s.len = n < 0 ? 0 : (size_t)n;
}

static void feed_cell(const feed_fields_t *f, int col, cell_t *c) {
    c->type = CELL_ABSENT;
    ldr_str_t *s = feed_str_field(f, col);
    if (s) {
        if (col == COL_DETAILS && !*f->has_details) return;
        c->type = CELL_STRING;
        c->s = *s;
        return;
    }
    switch (col) {
    case COL_TIER:
        c->type = CELL_SYMBOL;
        c->s = ldr_str(ldr_tier_name(*f->tier));
        return;
    case COL_BATCH: cell_text(c, CELL_NUMBER, "%" PRId32, *f->batch); return;
    case COL_OCCURRED_AT:
    case COL_TICK_AT:
        c->type = CELL_SYMBOL;
        c->s.ptr = c->tmp;
        c->s.len =
            ldr_time_format(col == COL_TICK_AT ? *f->tick_at : *f->occurred_at,
                            c->tmp, sizeof c->tmp);
        return;
    case COL_VIOLATION_KIND:
        c->type = CELL_SYMBOL;
        c->s = ldr_str(ldr_violation_kind_name(*f->violation_kind));
        return;
    case COL_STATUS:
        c->type = CELL_SYMBOL;
        c->s = ldr_str(ldr_case_status_name(*f->status));
        return;
    }
    const ldr_indicator_field_t *fd = &ldr_indicators_fields[col - COL_IND0];
    const char *p = (const char *)f->ind + fd->off;
    switch (fd->type) {
    case LDR_IND_I32: {
        int32_t x;
        memcpy(&x, p, sizeof x);
        cell_text(c, CELL_NUMBER, "%" PRId32, x);
        return;
    }
    case LDR_IND_I64: {
        int64_t x;
        memcpy(&x, p, sizeof x);
        cell_text(c, CELL_NUMBER, "%" PRId64, x);
        return;
    }
    case LDR_IND_DOUBLE: {
        double x;
        memcpy(&x, p, sizeof x);
        c->type = CELL_NUMBER;
        c->s.ptr = c->tmp;
        c->s.len = feed_format_double(x, c->tmp, sizeof c->tmp);
        return;
    }
    case LDR_IND_BOOL: {
        bool x;
        memcpy(&x, p, sizeof x);
        cell_text(c, CELL_NUMBER, "%s", x ? "true" : "false");
        return;
    }
    case LDR_IND_RD_INSTITUTION: {
        const char *name = ldr_rd_institution_name(f->ind->rd_institution);
        c->type = CELL_SYMBOL;
        c->s = ldr_str(name ? name : "?");
        return;
    }
    case LDR_IND_HONOURS:
        c->type = CELL_HONOURS;
        c->honours = f->ind->honours;
        return;
    case LDR_IND_DEVELOPMENT_SCORE:
        if (f->ind->has_development_score)
            cell_text(c, CELL_NUMBER, "%" PRId32, f->ind->development_score);
        return;
    }
}

static void csv_append_string(ldr_buf_t *out, ldr_str_t s, bool force_quote) {
    bool quote = force_quote;
    for (size_t i = 0; i < s.len && !quote; i++) {
        char ch = s.ptr[i];
        quote = ch == ',' || ch == '"' || ch == '\n' || ch == '\r';
    }
    if (!quote) {
        ldr_buf_append(out, s.ptr, s.len);
        return;
    }
    ldr_buf_append_byte(out, '"');
    size_t from = 0;
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] == '"') {
            ldr_buf_append(out, s.ptr + from, i + 1 - from);
            ldr_buf_append_byte(out, '"');
            from = i + 1;
        }
    ldr_buf_append(out, s.ptr + from, s.len - from);
    ldr_buf_append_byte(out, '"');
}

static void json_append_string(ldr_buf_t *out, ldr_str_t s) {
    static const char hex[] = "0123456789abcdef";
    ldr_buf_append_byte(out, '"');
    size_t from = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
        ldr_buf_append(out, s.ptr + from, i - from);
        from = i + 1;
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (ch) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = esc[3] = '0';
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 15];
            n = 6;
        }
        ldr_buf_append(out, esc, n);
    }
    ldr_buf_append(out, s.ptr + from, s.len - from);
    ldr_buf_append_byte(out, '"');
}

void ldr_feed_write_header(ldr_buf_t *out, ldr_feed_format_t fmt) {
    if (fmt != LDR_FEED_CSV) return;
    for (int col = 0; col < COL_COUNT; col++) {
        if (col) ldr_buf_append_byte(out, ',');
        ldr_buf_append_str(out, feed_col_name(col));
    }
    ldr_buf_append_byte(out, '\n');
}

ldr_err_t ldr_feed_write_row(ldr_buf_t *out, ldr_feed_format_t fmt,
                             const ldr_record_t *rec) {
    const feed_kind_t *k = rec ? feed_kind_of(rec->kind) : NULL;
    if (!k) return LDR_ERR_INVALID_ARG;
    feed_fields_t f;
    feed_fields((ldr_record_t *)rec, &f);
    cell_t c;
    if (fmt == LDR_FEED_CSV) {
        for (int col = 0; col < COL_COUNT; col++) {
            if (col) ldr_buf_append_byte(out, ',');
            if (col == COL_KIND) {
                ldr_buf_append_str(out, k->name);
                continue;
            }
            if (!(k->used & BIT(col))) continue;
            feed_cell(&f, col, &c);
            switch (c.type) {
            case CELL_ABSENT: break;
            case CELL_STRING:
                /* An empty but present optional is "", so that it reads
                 * back as present. */
                csv_append_string(out, c.s, c.s.len == 0);
                break;
            case CELL_NUMBER:
            case CELL_SYMBOL: ldr_buf_append(out, c.s.ptr, c.s.len); break;
            case CELL_HONOURS: {
                int first = 1;
                for (int h = 0; h < LDR_HONOUR__COUNT; h++)
                    if ((c.honours >> h) & 1u) {
                        if (!first) ldr_buf_append_byte(out, ';');
                        ldr_buf_append_str(out, ldr_honour_name(h));
                        first = 0;
                    }
                break;
            }
            }
        }
        ldr_buf_append_byte(out, '\n');
        return LDR_OK;
    }
    ldr_buf_append_str(out, "{\"kind\":\"");
    ldr_buf_append_str(out, k->name);
    ldr_buf_append_byte(out, '"');
    for (int col = 1; col < COL_COUNT; col++) {
        if (!(k->used & BIT(col))) continue;
        ldr_buf_append_str(out, ",\"");
        ldr_buf_append_str(out, feed_col_name(col));
        ldr_buf_append_str(out, "\":");
        feed_cell(&f, col, &c);
        switch (c.type) {
        case CELL_ABSENT: ldr_buf_append_str(out, "null"); break;
        case CELL_STRING:
        case CELL_SYMBOL: json_append_string(out, c.s); break;
        case CELL_NUMBER:
            /* JSON has no NaN or infinity: null, which a reader refuses. */
            if (c.s.len &&
                (c.s.ptr[c.s.len - 1] == 'f' || c.s.ptr[c.s.len - 1] == 'n'))
                ldr_buf_append_str(out, "null");
            else
                ldr_buf_append(out, c.s.ptr, c.s.len);
            break;
        case CELL_HONOURS: {
            ldr_buf_append_byte(out, '[');
            int first = 1;
            for (int h = 0; h < LDR_HONOUR__COUNT; h++)
                if ((c.honours >> h) & 1u) {
                    if (!first) ldr_buf_append_byte(out, ',');
                    ldr_buf_append_byte(out, '"');
                    ldr_buf_append_str(out, ldr_honour_name(h));
                    ldr_buf_append_byte(out, '"');
                    first = 0;
                }
            ldr_buf_append_byte(out, ']');
            break;
        }
        }
    }
    ldr_buf_append_str(out, "}\n");
    return LDR_OK;
}

/* ---- reading: values -------------------------------------------------- */

#define FEED_CHUNK     (256 * 1024)
#define FEED_SHOW_MAX  40
#define FEED_REASON_SZ 512

struct ldr_feed_reader {
    FILE *f;
    ldr_feed_reader_opts_t o;
    char *buf;
    size_t cap, start, end; /* unread bytes are buf[start, end) */
    bool eof;
    uint64_t line; /* physical lines consumed */
    /* CSV: header cell i holds column hdr[i]; col_cell[c] is the cell of
     * column c, or -1. */
    size_t ncols;
    int hdr[COL_COUNT];
    int col_cell[COL_COUNT];
    ldr_buf_t header;
    /* The current row's cells: byte ranges of buf, or of scratch when a
     * quoted cell held doubled quotes. */
    ldr_str_t cells[COL_COUNT];
    bool quoted[COL_COUNT];
    ldr_buf_t scratch;
    json_t *json; /* JSONL: the current row, owning its strings */
    char field[80];
    char reason[FEED_REASON_SZ];
};

/* @p s as printable ASCII for a message (ldr_escape_show). */
static const char *feed_show(ldr_str_t s, char *buf) {
    return ldr_escape_show(s.ptr, s.len, FEED_SHOW_MAX, buf);
}
#define FEED_SHOW_BUF LDR_ESCAPE_SHOW_BUF(FEED_SHOW_MAX)

/* Sets the reject of the current row; returns false for `return reject()`. */
static bool feed_reject(ldr_feed_reader_t *r, const char *field,
                        const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool feed_reject(ldr_feed_reader_t *r, const char *field,
                        const char *fmt, ...) {
    snprintf(r->field, sizeof r->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
    return false;
}

static bool parse_i64(ldr_str_t s, int64_t *out) {
    size_t i = 0;
    bool neg = s.len > 0 && s.ptr[0] == '-';
    if (neg) i++;
    if (i == s.len) return false;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < s.len; i++) {
        unsigned d = (unsigned char)s.ptr[i] - '0';
        if (d > 9) return false;
        if (v > (lim - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static bool feed_int(ldr_feed_reader_t *r, const char *field, ldr_str_t s,
                     int64_t lo, int64_t hi, int64_t *out) {
    char show[FEED_SHOW_BUF];
    if (!parse_i64(s, out)) {
        size_t i = s.len > 0 && s.ptr[0] == '-';
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
            i++;
        if (i == s.len && s.len > (size_t)(s.ptr[0] == '-'))
            return feed_reject(r, field, "%s does not fit in a long",
                               feed_show(s, show));
        return feed_reject(r, field, "\"%s\" is not a whole number",
                           feed_show(s, show));
    }
    if (*out < lo || *out > hi)
        return feed_reject(r, field, "%" PRId64 " does not fit in %s", *out,
                           hi == INT32_MAX ? "an int" : "a long");
    return true;
}

/* A decimal: -?digits(.digits)?([eE][+-]?digits)?, finite. */
static bool feed_double(ldr_feed_reader_t *r, const char *field, ldr_str_t s,
                        double *out) {
    char show[FEED_SHOW_BUF], tmp[72];
    size_t i = 0, n = s.len;
    const char *p = s.ptr;
    bool ok = n > 0 && n < sizeof tmp;
    if (ok && p[i] == '-') i++;
    size_t d0 = i;
    while (ok && i < n && p[i] >= '0' && p[i] <= '9')
        i++;
    ok = ok && i > d0;
    if (ok && i < n && p[i] == '.') {
        size_t f0 = ++i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        ok = i > f0;
    }
    if (ok && i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-')) i++;
        size_t e0 = i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        ok = i > e0;
    }
    if (!ok || i != n)
        return feed_reject(r, field, "\"%s\" is not a decimal number",
                           feed_show(s, show));
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    double d = strtod(tmp, NULL);
    if (!isfinite(d))
        return feed_reject(r, field, "\"%s\" is not finite",
                           feed_show(s, show));
    *out = d;
    return true;
}

static bool feed_bool(ldr_feed_reader_t *r, const char *field, ldr_str_t s,
                      bool *out) {
    char show[FEED_SHOW_BUF];
    if (s.len == 4 && memcmp(s.ptr, "true", 4) == 0)
        *out = true;
    else if (s.len == 5 && memcmp(s.ptr, "false", 5) == 0)
        *out = false;
    else
        return feed_reject(r, field, "\"%s\" is not true or false",
                           feed_show(s, show));
    return true;
}

/* Symbols of an enum as "A, B, C" for messages. */
static const char *feed_symbols(const char *(*name)(int), int count, char *buf,
                                size_t size) {
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < count && o < size; i++) {
        int w = snprintf(buf + o, size - o, "%s%s", i ? ", " : "", name(i));
        if (w < 0) break;
        o += (size_t)w;
    }
    return buf;
}
static const char *n_tier(int i) {
    return ldr_tier_name((ldr_tier_t)i);
}
static const char *n_vk(int i) {
    return ldr_violation_kind_name((ldr_violation_kind_t)i);
}
static const char *n_cs(int i) {
    return ldr_case_status_name((ldr_case_status_t)i);
}
static const char *n_rd(int i) {
    return ldr_rd_institution_name((ldr_rd_institution_t)i);
}

static bool feed_enum(ldr_feed_reader_t *r, const char *field, ldr_str_t s,
                      int (*parse)(const char *, size_t),
                      const char *(*name)(int), int count, const char *type,
                      int *out) {
    int v = parse(s.ptr, s.len);
    if (v >= 0) {
        *out = v;
        return true;
    }
    char show[FEED_SHOW_BUF], syms[300];
    return feed_reject(r, field, "\"%s\" is not a %s (%s)", feed_show(s, show),
                       type, feed_symbols(name, count, syms, sizeof syms));
}

static bool feed_time(ldr_feed_reader_t *r, const char *field, ldr_str_t s,
                      int64_t *out) {
    char err[200], show[FEED_SHOW_BUF];
    if (ldr_time_parse_rfc3339(s.ptr, s.len, out, err, sizeof err) == LDR_OK)
        return true;
    /* The parser's message starts with the value itself, which is shown
     * here escaped. */
    const char *why = s.len <= 64 ? strstr(err, "': ") : NULL;
    return feed_reject(r, field, "\"%s\" is not an RFC 3339 time%s%s",
                       feed_show(s, show), why ? ": " : "", why ? why + 3 : "");
}

static bool feed_honours(ldr_feed_reader_t *r, const char *field, ldr_str_t s,
                         uint32_t *out) {
    uint32_t set = 0;
    size_t i = 0;
    while (s.len > 0 && i <= s.len) {
        const char *semi = memchr(s.ptr + i, ';', s.len - i);
        size_t end = semi ? (size_t)(semi - s.ptr) : s.len;
        ldr_str_t one = {s.ptr + i, end - i};
        int h = ldr_honour_parse(one.ptr, one.len);
        if (h < 0) {
            char show[FEED_SHOW_BUF];
            return feed_reject(r, field, "\"%s\" is not an Honour",
                               feed_show(one, show));
        }
        set |= 1u << h;
        i = end + 1;
    }
    *out = set;
    return true;
}

/* ---- reading: one row from cells -------------------------------------- */

/* The value of column @p col for the row being converted: from the CSV cells
 * or from the JSON object. */
typedef struct feed_src {
    ldr_feed_reader_t *r;
    json_t *obj; /* JSONL, else NULL */
} feed_src_t;

/* Sets one indicator from CSV text. */
static bool feed_ind_text(ldr_feed_reader_t *r, ldr_indicators_t *ind,
                          size_t fi, ldr_str_t s) {
    const ldr_indicator_field_t *fd = &ldr_indicators_fields[fi];
    char *p = (char *)ind + fd->off;
    int64_t x;
    switch (fd->type) {
    case LDR_IND_I32:
    case LDR_IND_DEVELOPMENT_SCORE: {
        if (!feed_int(r, fd->name, s, INT32_MIN, INT32_MAX, &x)) return false;
        int32_t y = (int32_t)x;
        memcpy(p, &y, sizeof y);
        if (fd->type == LDR_IND_DEVELOPMENT_SCORE)
            ind->has_development_score = true;
        return true;
    }
    case LDR_IND_I64:
        if (!feed_int(r, fd->name, s, INT64_MIN, INT64_MAX, &x)) return false;
        memcpy(p, &x, sizeof x);
        return true;
    case LDR_IND_DOUBLE: {
        double d = 0;
        if (!feed_double(r, fd->name, s, &d)) return false;
        memcpy(p, &d, sizeof d);
        return true;
    }
    case LDR_IND_BOOL: {
        bool b = false;
        if (!feed_bool(r, fd->name, s, &b)) return false;
        memcpy(p, &b, sizeof b);
        return true;
    }
    case LDR_IND_RD_INSTITUTION: {
        int v;
        if (!feed_enum(r, fd->name, s, ldr_rd_institution_parse, n_rd,
                       LDR_RD__COUNT, "RdInstitution", &v))
            return false;
        ind->rd_institution = (ldr_rd_institution_t)v;
        return true;
    }
    case LDR_IND_HONOURS: return feed_honours(r, fd->name, s, &ind->honours);
    }
    return feed_reject(r, fd->name, "no type");
}

/* Finds the row kind: the "kind" key of the JSON object or the kind cell. */
static bool feed_row_kind(ldr_feed_reader_t *r, json_t *obj,
                          const feed_kind_t **out) {
    char show[FEED_SHOW_BUF];
    ldr_str_t kind_s = {NULL, 0};
    if (obj) {
        json_t *k = json_object_get(obj, "kind");
        if (!k || json_is_null(k)) return feed_reject(r, "kind", "missing");
        if (!json_is_string(k))
            return feed_reject(r, "kind", "expected a string, found %s",
                               ldr_json_type_name(k));
        kind_s.ptr = json_string_value(k);
        kind_s.len = json_string_length(k);
    } else {
        kind_s = r->cells[r->col_cell[COL_KIND]];
        if (kind_s.len == 0) return feed_reject(r, "kind", "empty cell");
    }
    const feed_kind_t *k = NULL;
    for (size_t i = 0; i < FEED_KIND_COUNT && !k; i++)
        if (ldr_str_eq(kind_s, feed_kinds[i].name)) k = &feed_kinds[i];
    if (!k)
        return feed_reject(
            r, "kind",
            "\"%s\" is not a row kind (application, review, violation, tick)",
            feed_show(kind_s, show));
    *out = k;
    return true;
}

/* Rejects a JSON object with a key that is not a column of its kind. */
static bool feed_json_keys(ldr_feed_reader_t *r, json_t *obj,
                           const feed_kind_t *k) {
    char show[FEED_SHOW_BUF];
    /* Every key must be a column of the kind. Counting the kind's
     * columns that are present (hash lookups) finds out cheaply whether
     * any key is not one; only then are the keys searched by name. */
    size_t present = 0;
    for (int col = 0; col < COL_COUNT; col++)
        if ((k->used & BIT(col)) && json_object_get(obj, feed_col_name(col)))
            present++;
    if (present == json_object_size(obj)) return true;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        int col = -1;
        for (int c = 0; c < COL_COUNT && col < 0; c++)
            if (strcmp(feed_col_name(c), key) == 0) col = c;
        if (col < 0)
            return feed_reject(r,
                               feed_show((ldr_str_t){key, strlen(key)}, show),
                               "not a column");
        if (!(k->used & BIT(col)))
            return feed_reject(r, key, "not a field of %s %s row",
                               k->name[0] == 'a' ? "an" : "a", k->name);
    }
    return true;
}

/* Fetches column col of the row: *jv from the JSON object, or *s from the
 * CSV cells. Sets *skip when an optional column is absent or empty. */
static bool feed_col_source(ldr_feed_reader_t *r, json_t *obj,
                            const feed_kind_t *k, int col, json_t **jv,
                            ldr_str_t *s, bool *skip) {
    const char *name = feed_col_name(col);
    bool optional = (k->optional & BIT(col)) != 0;
    if (obj) {
        *jv = json_object_get(obj, name);
        if (!*jv || json_is_null(*jv)) {
            if (optional) return *skip = true;
            return feed_reject(r, name, "missing");
        }
        return true;
    }
    int cell = r->col_cell[col];
    if (cell < 0) {
        if (optional) return *skip = true;
        return feed_reject(r, name, "no such column in the header");
    }
    *s = r->cells[cell];
    bool quoted = r->quoted[cell];
    /* An empty honours cell is the empty set. */
    if (s->len == 0 && !(quoted && col == COL_DETAILS) &&
        !(col >= COL_IND0 &&
          ldr_indicators_fields[col - COL_IND0].type == LDR_IND_HONOURS)) {
        if (optional) return *skip = true;
        return feed_reject(r, name, "empty cell");
    }
    return true;
}

/* Sets indicator column col from the JSON value jv or the cell text s. */
static bool feed_col_indicator(ldr_feed_reader_t *r, json_t *obj,
                               feed_fields_t *f, int col, json_t *jv,
                               ldr_str_t s) {
    size_t fi = (size_t)(col - COL_IND0);
    if (!obj) return feed_ind_text(r, f->ind, fi, s);
    char err[300];
    if (ldr_indicators_set_json(f->ind, fi, jv, err, sizeof err)) {
        /* "field 'NAME': reason" -> NAME, reason */
        const char *why = strstr(err, "': ");
        return feed_reject(r, feed_col_name(col), "%s", why ? why + 3 : err);
    }
    return true;
}

/* Reads a non-indicator JSON value: the batch integer straight into the
 * record (*done), any other column as the string *s to parse like a cell. */
static bool feed_col_json(ldr_feed_reader_t *r, feed_fields_t *f, int col,
                          json_t *jv, ldr_str_t *s, bool *done) {
    const char *name = feed_col_name(col);
    if (col == COL_BATCH) {
        if (!json_is_integer(jv))
            return feed_reject(r, name, "expected an integer, found %s",
                               ldr_json_type_name(jv));
        json_int_t x = json_integer_value(jv);
        if (x < INT32_MIN || x > INT32_MAX)
            return feed_reject(r, name, "%lld does not fit in an int",
                               (long long)x);
        *f->batch = (int32_t)x;
        return *done = true;
    }
    if (!json_is_string(jv))
        return feed_reject(r, name, "expected a string, found %s",
                           ldr_json_type_name(jv));
    s->ptr = json_string_value(jv);
    s->len = json_string_length(jv);
    return true;
}

/* Parses the text s of non-indicator column col into the record. */
static bool feed_col_text(ldr_feed_reader_t *r, feed_fields_t *f, int col,
                          ldr_str_t s) {
    const char *name = feed_col_name(col);
    ldr_str_t *sf = feed_str_field(f, col);
    if (sf) {
        if (col == COL_DETAILS) {
            /* The validator has no rule for details, but Avro strings
             * are UTF-8 and the feed is UTF-8. */
            size_t ok = ldr_utf8_valid_prefix(s.ptr, s.len);
            if (ok != s.len)
                return feed_reject(r, name, "invalid UTF-8 at offset %zu", ok);
            *f->has_details = true;
        }
        *sf = s;
        return true;
    }
    int e;
    int64_t x;
    switch (col) {
    case COL_TIER:
        if (!feed_enum(r, name, s, ldr_tier_parse, n_tier, LDR_TIER__COUNT,
                       "Tier", &e))
            return false;
        *f->tier = (ldr_tier_t)e;
        break;
    case COL_BATCH:
        if (!feed_int(r, name, s, INT32_MIN, INT32_MAX, &x)) return false;
        *f->batch = (int32_t)x;
        break;
    case COL_OCCURRED_AT:
        if (!feed_time(r, name, s, f->occurred_at)) return false;
        break;
    case COL_TICK_AT:
        if (!feed_time(r, name, s, f->tick_at)) return false;
        break;
    case COL_VIOLATION_KIND:
        if (!feed_enum(r, name, s, ldr_violation_kind_parse, n_vk,
                       LDR_VIOLATION__COUNT, "ViolationKind", &e))
            return false;
        *f->violation_kind = (ldr_violation_kind_t)e;
        break;
    case COL_STATUS:
        if (!feed_enum(r, name, s, ldr_case_status_parse, n_cs, LDR_CASE__COUNT,
                       "CaseStatus", &e))
            return false;
        *f->status = (ldr_case_status_t)e;
        break;
    }
    return true;
}

/* Converts column col of the current row into the record. */
static bool feed_col(ldr_feed_reader_t *r, json_t *obj, const feed_kind_t *k,
                     feed_fields_t *f, int col) {
    json_t *jv = NULL;
    ldr_str_t s = {"", 0};
    bool skip = false;
    if (!feed_col_source(r, obj, k, col, &jv, &s, &skip)) return false;
    if (skip) return true;
    if (col >= COL_IND0) return feed_col_indicator(r, obj, f, col, jv, s);
    if (obj) {
        bool done = false;
        if (!feed_col_json(r, f, col, jv, &s, &done)) return false;
        if (done) return true;
    }
    return feed_col_text(r, f, col, s);
}

/* Runs the validator on the converted record, naming the feed's column in
 * the rejection. */
static bool feed_validate(ldr_feed_reader_t *r, const feed_kind_t *k,
                          const ldr_feed_row_t *row) {
    char err[FEED_REASON_SZ];
    if (!ldr_validate_record(r->o.validator, &row->rec, r->o.now_ms,
                             r->o.now_ms, err, sizeof err))
        return true;
    const char *colon = strstr(err, ": ");
    if (!colon) return feed_reject(r, "row", "%s", err);
    char fld[80];
    size_t fl = (size_t)(colon - err);
    if (fl >= sizeof fld) fl = sizeof fld - 1;
    memcpy(fld, err, fl);
    fld[fl] = '\0';
    /* The contract's ViolationReported.kind is violation_kind in the
     * feed. */
    if (k->kind == LDR_RECORD_VIOLATION && strcmp(fld, "kind") == 0)
        snprintf(fld, sizeof fld, "violation_kind");
    return feed_reject(r, fld, "%s", colon + 2);
}

/* Converts the current row (CSV cells or the JSON object) into row->rec. */
static bool feed_convert(ldr_feed_reader_t *r, json_t *obj,
                         ldr_feed_row_t *row) {
    const feed_kind_t *k = NULL;
    if (!feed_row_kind(r, obj, &k)) return false;

    memset(&row->rec, 0, sizeof row->rec);
    row->rec.kind = k->kind;
    feed_fields_t f;
    feed_fields(&row->rec, &f);

    if (obj && !feed_json_keys(r, obj, k)) return false;
    for (int col = 1; col < COL_COUNT; col++)
        if ((k->used & BIT(col)) && !feed_col(r, obj, k, &f, col)) return false;

    if (!obj) /* cells of other kinds' columns must be empty */
        for (size_t i = 0; i < r->ncols; i++) {
            int col = r->hdr[i];
            if (!(k->used & BIT(col)) && (r->cells[i].len || r->quoted[i]))
                return feed_reject(r, feed_col_name(col),
                                   "not a field of %s %s row; leave it empty",
                                   k->name[0] == 'a' ? "an" : "a", k->name);
        }

    row->time = ldr_feed_record_time(&row->rec);
    if (r->o.validator) return feed_validate(r, k, row);
    return true;
}

/* ---- reading: the buffer ---------------------------------------------- */

/* Moves the unread bytes to the front and reads more. Returns false on a
 * read error (errno kept). */
static bool feed_fill(ldr_feed_reader_t *r) {
    if (r->eof) return true;
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    size_t room = r->cap - r->end;
    if (room == 0) return true;
    /* read(2) where there is a descriptor, so that rows arriving on a pipe
     * are handled as they come instead of a buffer at a time. EINTR is
     * returned as an error, so that a signal can stop a blocked read. */
    int fd = fileno(r->f);
    if (fd < 0) { /* a memory stream */
        size_t got = fread(r->buf + r->end, 1, room, r->f);
        r->end += got;
        if (got < room) {
            if (ferror(r->f)) return false;
            r->eof = true;
        }
        return true;
    }
    ssize_t got = read(fd, r->buf + r->end, room);
    if (got < 0) return false;
    if (got == 0) r->eof = true;
    r->end += (size_t)got;
    return true;
}

/* Skips an over-long row: from r->start up to and including the next '\n'
 * after @p from, passing the bytes to the spill callback. Returns the lines
 * skipped, or -1 on a read error. */
static int64_t feed_skip_long(ldr_feed_reader_t *r, size_t from) {
    int64_t lines = 0;
    for (size_t i = r->start; i < from; i++)
        lines += r->buf[i] == '\n';
    for (;;) {
        char *nl = memchr(r->buf + from, '\n', r->end - from);
        size_t stop = nl ? (size_t)(nl - r->buf) + 1 : r->end;
        if (r->o.spill && stop > r->start)
            r->o.spill(r->o.spill_opaque, r->buf + r->start, stop - r->start);
        r->start = stop;
        if (nl) return lines + 1;
        if (r->eof) return lines + (stop > from ? 1 : 0);
        r->start = r->end = 0;
        if (!feed_fill(r)) return -1;
        from = 0;
        if (r->end == 0 && r->eof) return lines + 1;
    }
}

typedef enum scan_result {
    SCAN_ROW,     /* a complete row in buf[start, stop) */
    SCAN_MORE,    /* ran off the buffer: fill and scan again */
    SCAN_TOOLONG, /* the row passed the limit at byte `stop` */
} scan_result_t;

/* Scans one CSV row starting at r->start: splits cells (into r->cells, up to
 * COL_COUNT; *ncells counts them all), counts its line breaks. *problem is
 * set for a malformed row (a reason), but the row's extent is still found so
 * that reading goes on after it. */
static scan_result_t csv_scan(ldr_feed_reader_t *r, size_t *stop,
                              size_t *ncells, uint64_t *lines,
                              const char **problem, bool *unescape) {
    const char *b = r->buf;
    size_t i = r->start, end = r->end, limit = r->start + LDR_FEED_LINE_MAX;
    size_t n = 0;
    uint64_t nl = 0;
    *problem = NULL;
    *unescape = false;
    for (;;) { /* one cell per iteration */
        size_t cs = i;
        bool q = false, needs = false;
        size_t ce;
        if (i < end && b[i] == '"') {
            q = true;
            i++;
            for (;;) {
                if (i >= end) {
                    if (!r->eof) goto more;
                    /* The file ends inside the quotes: the row is what
                     * remains. */
                    *problem = "a quoted cell is not closed";
                    *stop = end;
                    *ncells = n + 1;
                    *lines = nl + 1;
                    return SCAN_ROW;
                }
                if (i >= limit) goto toolong;
                char ch = b[i];
                if (ch == '"') {
                    if (i + 1 >= end && !r->eof) goto more;
                    if (i + 1 < end && b[i + 1] == '"') {
                        needs = true;
                        i += 2;
                        continue;
                    }
                    break;
                }
                if (ch == '\n') nl++;
                i++;
            }
            ce = i; /* the closing quote */
            i++;
            if (i < end && b[i] != ',' && b[i] != '\n' &&
                !(b[i] == '\r' && (i + 1 < end && b[i + 1] == '\n')))
                if (!*problem) *problem = "text after a closing quote";
        }
        /* Unquoted text (or the junk after a closing quote). */
        for (;;) {
            if (i >= end) {
                if (!r->eof) goto more;
                break;
            }
            char ch = b[i];
            if (ch == ',' || ch == '\n') break;
            if (ch == '\r' && i + 1 < end && b[i + 1] == '\n') break;
            if (ch == '\r' && i + 1 >= end && !r->eof) goto more;
            if (i >= limit) goto toolong; /* a content byte past the limit */
            if (ch == '"' && !*problem)
                *problem = q ? "text after a closing quote"
                             : "a quote inside an unquoted cell";
            i++;
        }
        if (n < COL_COUNT) {
            if (q) {
                r->cells[n].ptr = b + cs + 1;
                r->cells[n].len = ce - cs - 1;
            } else {
                r->cells[n].ptr = b + cs;
                r->cells[n].len = i - cs;
            }
            r->quoted[n] = q;
            if (needs) *unescape = true;
        }
        n++;
        if (i >= end) break; /* EOF without a line end */
        if (b[i] == ',') {
            i++;
            continue;
        }
        if (b[i] == '\r') i++;
        i++; /* '\n' */
        nl++;
        break;
    }
    *stop = i;
    *ncells = n;
    *lines = nl;
    return SCAN_ROW;
more:
    if (r->end - r->start > LDR_FEED_LINE_MAX + 2) goto toolong;
    return SCAN_MORE;
toolong:
    *stop = i;
    return SCAN_TOOLONG;
}

/* Replaces doubled quotes in the quoted cells of the row with single ones,
 * in the scratch buffer. */
static void csv_unescape(ldr_feed_reader_t *r, size_t ncells) {
    ldr_buf_reset(&r->scratch);
    size_t total = 0;
    for (size_t i = 0; i < ncells && i < COL_COUNT; i++)
        if (r->quoted[i]) total += r->cells[i].len;
    ldr_buf_reserve(&r->scratch, total + 1);
    for (size_t i = 0; i < ncells && i < COL_COUNT; i++) {
        if (!r->quoted[i] || !memchr(r->cells[i].ptr, '"', r->cells[i].len))
            continue;
        char *dst = r->scratch.data + r->scratch.len;
        size_t o = 0;
        for (size_t j = 0; j < r->cells[i].len; j++) {
            dst[o++] = r->cells[i].ptr[j];
            if (r->cells[i].ptr[j] == '"') j++;
        }
        r->scratch.len += o;
        r->cells[i].ptr = dst;
        r->cells[i].len = o;
    }
}

/* Reads the next row's extent: a CSV row or a JSONL line. Skips blank
 * lines. *kind: 0 end, 1 row in [start, stop), 2 too long (skipped). */
static ldr_err_t feed_next_extent(ldr_feed_reader_t *r, int *kind, size_t *stop,
                                  size_t *ncells, uint64_t *lines,
                                  const char **problem, bool *unescape,
                                  char *errstr, size_t n) {
    for (;;) {
        /* Blank lines. */
        if (r->start < r->end &&
            (r->buf[r->start] == '\n' ||
             (r->buf[r->start] == '\r' && r->start + 1 < r->end &&
              r->buf[r->start + 1] == '\n'))) {
            r->start += r->buf[r->start] == '\r' ? 2 : 1;
            r->line++;
            continue;
        }
        if (r->start + 1 >= r->end && !r->eof) {
            if (!feed_fill(r))
                return ldr_err_set(errstr, n, LDR_ERR_IO, "read error: %s",
                                   strerror(errno));
            continue;
        }
        if (r->start >= r->end) {
            *kind = 0;
            return LDR_OK;
        }
        scan_result_t sr;
        if (r->o.format == LDR_FEED_CSV) {
            sr = csv_scan(r, stop, ncells, lines, problem, unescape);
        } else {
            const char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
            size_t lim = r->start + LDR_FEED_LINE_MAX;
            *problem = NULL;
            *unescape = false;
            *ncells = 0;
            size_t line_len = nl ? (size_t)(nl - r->buf) - r->start : 0;
            if (line_len && nl[-1] == '\r') line_len--;
            if (nl && line_len <= LDR_FEED_LINE_MAX) {
                *stop = (size_t)(nl - r->buf) + 1;
                *lines = 1;
                sr = SCAN_ROW;
            } else if (nl || r->end - r->start > LDR_FEED_LINE_MAX + 1 ||
                       (r->eof && r->end - r->start > LDR_FEED_LINE_MAX)) {
                *stop = lim;
                sr = SCAN_TOOLONG;
            } else if (r->eof) {
                *stop = r->end;
                *lines = 1;
                sr = SCAN_ROW;
            } else {
                sr = SCAN_MORE;
            }
        }
        if (sr == SCAN_MORE) {
            size_t before = r->end - r->start;
            if (!feed_fill(r))
                return ldr_err_set(errstr, n, LDR_ERR_IO, "read error: %s",
                                   strerror(errno));
            if (r->end - r->start == before && !r->eof) /* buffer full */
                return ldr_err_set(errstr, n, LDR_ERR_IO, "buffer full");
            continue;
        }
        *kind = sr == SCAN_ROW ? 1 : 2;
        return LDR_OK;
    }
}

/* ---- reading: the reader ---------------------------------------------- */

ldr_feed_reader_t *ldr_feed_reader_new(FILE *f,
                                       const ldr_feed_reader_opts_t *opts,
                                       char *errstr, size_t n) {
    ldr_feed_reader_t *r = ldr_calloc(1, sizeof *r);
    r->f = f;
    r->o = *opts;
    r->cap = LDR_FEED_LINE_MAX + 2 + FEED_CHUNK;
    r->buf = ldr_malloc(r->cap);
    ldr_buf_init(&r->header);
    ldr_buf_init(&r->scratch);
    for (int c = 0; c < COL_COUNT; c++)
        r->col_cell[c] = -1;
    if (!feed_fill(r)) {
        ldr_err_set(errstr, n, LDR_ERR_IO, "read error: %s", strerror(errno));
        goto fail;
    }
    while (r->end - r->start < 3 && !r->eof)
        if (!feed_fill(r)) {
            ldr_err_set(errstr, n, LDR_ERR_IO, "read error: %s",
                        strerror(errno));
            goto fail;
        }
    if (r->end >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0) r->start = 3;
    if (r->o.format != LDR_FEED_CSV) return r;

    int kind;
    size_t stop, ncells;
    uint64_t lines;
    const char *problem;
    bool unescape;
    if (feed_next_extent(r, &kind, &stop, &ncells, &lines, &problem, &unescape,
                         errstr, n))
        goto fail;
    if (kind == 0) return r; /* empty file */
    if (r->line != 0) {
        ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                    "%" PRIu64 ": the header must be on line 1", r->line + 1);
        goto fail;
    }
    if (kind == 2) {
        ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                    "1: header longer than %d bytes", LDR_FEED_LINE_MAX);
        goto fail;
    }
    if (problem) {
        ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD, "1: header: %s", problem);
        goto fail;
    }
    if (unescape) csv_unescape(r, ncells);
    if (ncells > COL_COUNT) {
        ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                    "1: %zu columns; there are only %d column names", ncells,
                    COL_COUNT);
        goto fail;
    }
    for (size_t i = 0; i < ncells; i++) {
        int col = -1;
        for (int c = 0; c < COL_COUNT && col < 0; c++)
            if (ldr_str_eq(r->cells[i], feed_col_name(c))) col = c;
        char show[FEED_SHOW_BUF];
        if (col < 0) {
            ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                        "1: unknown column \"%s\"",
                        feed_show(r->cells[i], show));
            goto fail;
        }
        if (r->col_cell[col] >= 0) {
            ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                        "1: column \"%s\" appears twice", feed_col_name(col));
            goto fail;
        }
        r->col_cell[col] = (int)i;
        r->hdr[i] = col;
    }
    if (r->col_cell[COL_KIND] < 0) {
        ldr_err_set(errstr, n, LDR_ERR_INVALID_FIELD,
                    "1: the header has no \"kind\" column");
        goto fail;
    }
    r->ncols = ncells;
    ldr_buf_append(&r->header, r->buf + r->start, stop - r->start);
    if (r->header.len == 0 || r->header.data[r->header.len - 1] != '\n')
        ldr_buf_append_byte(&r->header, '\n');
    r->start = stop;
    r->line += lines ? lines : 1;
    return r;
fail:
    ldr_feed_reader_destroy(r);
    return NULL;
}

void ldr_feed_reader_destroy(ldr_feed_reader_t *r) {
    if (!r) return;
    if (r->json) json_decref(r->json);
    free(r->buf);
    ldr_buf_fini(&r->header);
    ldr_buf_fini(&r->scratch);
    free(r);
}

const char *ldr_feed_reader_header(const ldr_feed_reader_t *r, size_t *len) {
    *len = r->header.len;
    return r->header.len ? r->header.data : "";
}

uint64_t ldr_feed_reader_lines(const ldr_feed_reader_t *r) {
    return r->line;
}

/* ---- JSON Lines: a fast path for flat objects ------------------------ */

/* jansson's reader costs about 30 us for a row of the feed (it lexes one
 * byte at a time through a callback), more than everything else a row
 * costs together. The rows ladder-gen writes are flat objects whose strings
 * hold no escapes, so those are parsed here straight into jansson values.
 * Anything else (an escape, nesting, a number that might not fit, a
 * duplicate key, any syntax error) goes to json_loadb(), so the result, the
 * values or the error and its message, is always jansson's own. A unit test
 * compares the two on valid and broken lines. */

static const char *fj_ws(const char *p, const char *e) {
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* A string without escapes or control characters; returns the byte after
 * its closing quote, or NULL. */
static const char *fj_str(const char *p, const char *e, const char **s,
                          size_t *n) {
    if (p >= e || *p != '"') return NULL;
    const char *q = ++p;
    while (q < e && *q != '"') {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20 || c == '\\') return NULL;
        q++;
    }
    if (q >= e) return NULL;
    *s = p;
    *n = (size_t)(q - p);
    return q + 1;
}

static bool fj_digit(const char *p, const char *e) {
    return p < e && *p >= '0' && *p <= '9';
}

/* A JSON number: integers of at most 18 digits, finite reals. */
static json_t *fj_number(const char **pp, const char *e) {
    const char *p = *pp, *start = p;
    bool real = false;
    if (p < e && *p == '-') p++;
    if (!fj_digit(p, e)) return NULL;
    if (*p == '0')
        p++;
    else
        while (fj_digit(p, e))
            p++;
    if (p < e && *p == '.') {
        real = true;
        p++;
        if (!fj_digit(p, e)) return NULL;
        while (fj_digit(p, e))
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        real = true;
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (!fj_digit(p, e)) return NULL;
        while (fj_digit(p, e))
            p++;
    }
    size_t len = (size_t)(p - start);
    char tmp[64];
    if (len >= sizeof tmp || (!real && len > 18)) return NULL;
    memcpy(tmp, start, len);
    tmp[len] = '\0';
    json_t *v;
    if (real) {
        double d = strtod(tmp, NULL);
        if (!isfinite(d)) return NULL;
        v = json_real(d);
    } else {
        v = json_integer((json_int_t)strtoll(tmp, NULL, 10));
    }
    *pp = p;
    return v;
}

static json_t *fj_value(const char **pp, const char *e) {
    const char *p = *pp, *s;
    size_t n;
    json_t *v = NULL;
    if (p >= e) return NULL;
    switch (*p) {
    case '"': {
        const char *q = fj_str(p, e, &s, &n);
        if (!q) return NULL;
        v = json_stringn_nocheck(s, n);
        p = q;
        break;
    }
    case 't':
        if (e - p < 4 || memcmp(p, "true", 4) != 0) return NULL;
        v = json_true();
        p += 4;
        break;
    case 'f':
        if (e - p < 5 || memcmp(p, "false", 5) != 0) return NULL;
        v = json_false();
        p += 5;
        break;
    case 'n':
        if (e - p < 4 || memcmp(p, "null", 4) != 0) return NULL;
        v = json_null();
        p += 4;
        break;
    case '[':
        v = json_array();
        p = fj_ws(p + 1, e);
        if (p < e && *p == ']') {
            p++;
            break;
        }
        for (;;) {
            const char *q = fj_str(p, e, &s, &n);
            if (!q) goto bad;
            json_array_append_new(v, json_stringn_nocheck(s, n));
            p = fj_ws(q, e);
            if (p < e && *p == ',') {
                p = fj_ws(p + 1, e);
                continue;
            }
            if (p < e && *p == ']') {
                p++;
                break;
            }
            goto bad;
        }
        break;
    default:
        v = fj_number(&p, e);
        if (!v) return NULL;
    }
    *pp = p;
    return v;
bad:
    json_decref(v);
    return NULL;
}

/* The flat object of @p p / @p len, or NULL when the fast path does not
 * apply (not an error: the caller then asks jansson). */
static json_t *fj_object(const char *p, size_t len) {
    const char *e = p + len;
    if (!ldr_utf8_valid(p, len)) return NULL;
    p = fj_ws(p, e);
    if (p >= e || *p != '{') return NULL;
    json_t *obj = json_object();
    p = fj_ws(p + 1, e);
    if (p < e && *p == '}') {
        p++;
    } else {
        for (;;) {
            const char *k;
            size_t kn;
            p = fj_str(p, e, &k, &kn);
            if (!p) goto bad;
            p = fj_ws(p, e);
            if (p >= e || *p != ':') goto bad;
            p = fj_ws(p + 1, e);
            json_t *v = fj_value(&p, e);
            if (!v) goto bad;
            if (json_object_getn(obj, k, kn)) { /* jansson names it */
                json_decref(v);
                goto bad;
            }
            json_object_setn_new_nocheck(obj, k, kn, v);
            p = fj_ws(p, e);
            if (p < e && *p == ',') {
                p = fj_ws(p + 1, e);
                continue;
            }
            if (p < e && *p == '}') {
                p++;
                break;
            }
            goto bad;
        }
    }
    if (fj_ws(p, e) != e) goto bad;
    return obj;
bad:
    json_decref(obj);
    return NULL;
}

json_t *ldr_feed_json_loadb(const char *p, size_t len, json_error_t *err) {
    json_t *v = fj_object(p, len);
    return v ? v : json_loadb(p, len, JSON_REJECT_DUPLICATES, err);
}

static bool jsonl_row(ldr_feed_reader_t *r, const char *p, size_t len,
                      ldr_feed_row_t *row) {
    while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
        len--;
    json_error_t jerr;
    r->json = ldr_feed_json_loadb(p, len, &jerr);
    if (!r->json)
        return feed_reject(r, "row", "not JSON: %s (column %d)", jerr.text,
                           jerr.column);
    if (!json_is_object(r->json))
        return feed_reject(r, "row", "not a JSON object but %s",
                           ldr_json_type_name(r->json));
    return feed_convert(r, r->json, row);
}

ldr_err_t ldr_feed_reader_next(ldr_feed_reader_t *r, ldr_feed_row_t *row,
                               char *errstr, size_t n) {
    if (r->json) {
        json_decref(r->json);
        r->json = NULL;
    }
    memset(row, 0, sizeof *row);
    int kind;
    size_t stop, ncells;
    uint64_t lines;
    const char *problem;
    bool unescape;
    for (;;) {
        ldr_err_t err = feed_next_extent(r, &kind, &stop, &ncells, &lines,
                                         &problem, &unescape, errstr, n);
        if (err) return err;
        if (kind != 1 || r->o.format != LDR_FEED_JSONL) break;
        size_t i = r->start;
        while (i < stop && (r->buf[i] == ' ' || r->buf[i] == '\t' ||
                            r->buf[i] == '\r' || r->buf[i] == '\n'))
            i++;
        if (i < stop) break;
        r->start = stop; /* a blank line of JSON Lines */
        r->line += lines;
    }
    if (kind == 0) {
        row->status = LDR_FEED_ROW_END;
        return LDR_OK;
    }
    row->line = r->line + 1;
    if (kind == 2) {
        int64_t skipped = feed_skip_long(r, stop);
        if (skipped < 0)
            return ldr_err_set(errstr, n, LDR_ERR_IO, "read error: %s",
                               strerror(errno));
        r->line += (uint64_t)skipped;
        row->status = LDR_FEED_ROW_REJECTED;
        row->field = "row";
        snprintf(r->reason, sizeof r->reason,
                 "longer than %d bytes (a line or a row of several lines)",
                 LDR_FEED_LINE_MAX);
        row->reason = r->reason;
        row->spilled = r->o.spill != NULL;
        return LDR_OK;
    }
    row->raw = r->buf + r->start;
    row->raw_len = stop - r->start;
    r->start = stop;
    r->line += lines ? lines : 1;
    bool ok;
    if (r->o.format == LDR_FEED_CSV) {
        if (problem)
            ok = feed_reject(r, "row", "%s", problem);
        else if (ncells != r->ncols)
            ok = feed_reject(r, "row", "%zu cells; the header has %zu", ncells,
                             r->ncols);
        else {
            if (unescape) csv_unescape(r, ncells);
            ok = feed_convert(r, NULL, row);
        }
    } else {
        ok = jsonl_row(r, row->raw, row->raw_len, row);
    }
    if (ok) {
        row->status = LDR_FEED_ROW_VALID;
    } else {
        row->status = LDR_FEED_ROW_REJECTED;
        row->field = r->field;
        row->reason = r->reason;
    }
    return LDR_OK;
}
