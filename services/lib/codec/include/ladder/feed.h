/* feed.h -- the provincial feed format (docs/FEED.md): rows of CSV or JSON
 * Lines to ladder records and back.
 *
 * DESIGN: the writer (ladder-gen) and the reader (ladder-feed) share one
 * column table in feed.c, in the writer order of docs/FEED.md, and the
 * indicators come from the one field table of indicators.h, so the two ends
 * cannot drift apart. The reader streams: it holds one row at a time in a
 * buffer bounded by the line limit (LDR_FEED_LINE_MAX), so any size of input
 * is read in constant memory. Record strings point into that buffer, or into
 * a scratch buffer for quoted CSV cells that needed unescaping, and stay
 * valid until the next call on the same reader; a CSV row that needs no
 * unescaping is parsed without copying a byte.
 *
 * A row is parsed strictly (types, enum symbols, required and unused cells),
 * then, when the reader has a validator, checked with ldr_validate_record()
 * exactly as the worker checks a decoded message, with the processing time
 * as both clock and now: the feed rejects what the worker would dead-letter,
 * and nothing it would accept. A bad row is a reject naming its first
 * physical line, a field and a reason, and carrying the row's original bytes;
 * the reader then goes on with the next row. Only problems that make the
 * whole file unusable (an unknown header column, a read error) are errors.
 *
 * @locality: a reader or a buffer is used by one thread at a time. */
#ifndef LADDER_FEED_H
#define LADDER_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "ladder/buf.h"
#include "ladder/err.h"
#include "ladder/record.h"
#include "ladder/validate.h"

typedef enum ldr_feed_format {
    LDR_FEED_CSV = 0,
    LDR_FEED_JSONL = 1
} ldr_feed_format_t;

/** Longest physical line, and longest row, in bytes (line end excluded). */
#define LDR_FEED_LINE_MAX (1024 * 1024)

/* ---- writing ---------------------------------------------------------- */

/* Appends the CSV header line (every column in docs/FEED.md's writer order,
 * '\n'-terminated); nothing for JSONL. */
void ldr_feed_write_header(ldr_buf_t *out, ldr_feed_format_t fmt);

/* Appends one row (with '\n') for an application, review, violation or tick
 * record. CSV: quoting per RFC 4180 when needed; honours ';'-joined in enum
 * order; times RFC 3339 UTC with milliseconds via ldr_time_format; doubles
 * in the shortest form that parses back to the same double; empty cells for
 * columns the kind does not use and for absent optionals (a present but
 * empty `details` is written as ""). JSONL: keys of the row's kind only,
 * "kind" first, absent optionals as null. Returns LDR_ERR_INVALID_ARG for a
 * decision record (nothing is appended). */
ldr_err_t ldr_feed_write_row(ldr_buf_t *out, ldr_feed_format_t fmt,
                             const ldr_record_t *rec);

/** The name of column @p i in writer order (0..ldr_feed_column_count()-1),
 *  or NULL past the end. */
const char *ldr_feed_column_name(size_t i);
size_t ldr_feed_column_count(void);

/** The row kind's name ("application", "review", "violation", "tick") of a
 *  record kind, or NULL for a decision. */
const char *ldr_feed_kind_name(ldr_record_kind_t kind);

/** The event time of an input record (occurred_at or tick_at), the key the
 *  feed is merged by; 0 for a decision. */
int64_t ldr_feed_record_time(const ldr_record_t *rec);

/* ---- reading ---------------------------------------------------------- */

typedef struct ldr_feed_reader ldr_feed_reader_t;

typedef struct ldr_feed_reader_opts {
    ldr_feed_format_t format;
    /* Validates every parsed row when non-NULL (borrowed; it must outlive
     * the reader). NULL checks the format alone (tests, tools). */
    const ldr_validator_t *validator;
    /* Processing time for the validator's time bound, ms since the epoch. */
    int64_t now_ms;
    /* Optional: receives the original bytes of a row longer than
     * LDR_FEED_LINE_MAX, in pieces as they are skipped, before that row's
     * reject is returned (whose raw_len is then 0 and spilled true). */
    void (*spill)(void *opaque, const void *data, size_t len);
    void *spill_opaque;
} ldr_feed_reader_opts_t;

typedef enum ldr_feed_row_status {
    LDR_FEED_ROW_END = 0,      /* no more rows */
    LDR_FEED_ROW_VALID = 1,    /* rec holds a valid record */
    LDR_FEED_ROW_REJECTED = 2, /* field and reason say why */
} ldr_feed_row_status_t;

/** One row. Every pointer is owned by the reader and valid until the next
 *  ldr_feed_reader_next() on it. */
typedef struct ldr_feed_row {
    ldr_feed_row_status_t status;
    uint64_t line;      /* the row's first physical line, from 1 */
    ldr_record_t rec;   /* VALID */
    int64_t time;       /* VALID: occurred_at or tick_at */
    const char *field;  /* REJECTED: column name, or "row" for the row itself */
    const char *reason; /* REJECTED: why, one line of text */
    /* The row's original bytes, line end included (REJECTED and VALID). */
    const char *raw;
    size_t raw_len;
    bool spilled; /* REJECTED: the raw bytes went to opts.spill instead */
} ldr_feed_row_t;

/** Creates a reader over @p f (borrowed, read sequentially; the caller
 *  closes it after ldr_feed_reader_destroy()). For CSV it reads the header
 *  line at once: an unknown or repeated column, or a header without `kind`,
 *  fails with LDR_ERR_INVALID_FIELD and "1: unknown column 'x'" in
 *  @p errstr; a read error is LDR_ERR_IO. An empty file is a file of no
 *  rows. @returns the reader (free it with ldr_feed_reader_destroy()) or
 *  NULL on error. */
ldr_feed_reader_t *ldr_feed_reader_new(FILE *f,
                                       const ldr_feed_reader_opts_t *opts,
                                       char *errstr, size_t errstr_size);
void ldr_feed_reader_destroy(ldr_feed_reader_t *r);

/** Reads the next row into @p row. @returns LDR_OK (row->status says
 *  whether a valid row, a reject or the end came), or LDR_ERR_IO when the
 *  file cannot be read (@p errstr says why). */
ldr_err_t ldr_feed_reader_next(ldr_feed_reader_t *r, ldr_feed_row_t *row,
                               char *errstr, size_t errstr_size);

/** The CSV header line as read, line end included (empty for JSONL and for
 *  an empty file), for writing rejected rows under it. Owned by the
 *  reader. */
const char *ldr_feed_reader_header(const ldr_feed_reader_t *r, size_t *len);

/** json_loadb(@p p, @p len, JSON_REJECT_DUPLICATES, @p err), with a fast
 *  path for flat objects whose strings hold no escapes: the same value, or
 * the same error, as jansson gives, in about half the time. The caller
 *  owns the reference. (The reader parses JSON Lines with it; exposed for
 *  the test that compares it with jansson.) */
json_t *ldr_feed_json_loadb(const char *p, size_t len, json_error_t *err);

/** Physical lines read so far. */
uint64_t ldr_feed_reader_lines(const ldr_feed_reader_t *r);

#endif
