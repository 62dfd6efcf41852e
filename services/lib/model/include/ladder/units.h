/* units.h -- the reporting-unit table (deploy/data/reporting_units.csv).
 *
 * DESIGN: the 37 units that report to the national programme are data, not
 * code: an operator corrects a name or a weight without a rebuild, and the
 * validator asks this table whether a record's `reporting_unit` exists.
 * Loading is strict, because a silently skipped or mangled row would turn
 * every event of a province into a dead letter: the header must be exactly
 * `code,name_zh,name_en,kind,weight`, every row must have those five columns,
 * codes are unique strings of 2 or 4 decimal digits, names are non-empty
 * valid UTF-8, `kind` is one of `province`, `separately-listed city`, `corps`,
 * and `weight` is a finite non-negative decimal number. The first problem
 * found is reported with the file name and line number. Fields may be quoted
 * as in RFC 4180 (a quoted field may not span lines); CRLF line ends, a
 * leading UTF-8 byte-order mark and empty lines are tolerated.
 *
 * A loaded table is immutable, so any number of threads may read it. */
#ifndef LADDER_UNITS_H
#define LADDER_UNITS_H

#include <stddef.h>

/** Path of the units file relative to the repository root. */
#define LDR_UNITS_DEFAULT_PATH "deploy/data/reporting_units.csv"

typedef enum ldr_units_kind {
    LDR_UNITS_KIND_PROVINCE = 0, /* "province": 31 provincial units */
    LDR_UNITS_KIND_CITY,         /* "separately-listed city": 5 */
    LDR_UNITS_KIND_CORPS,        /* "corps": the XPCC, code 66 */
    LDR_UNITS_KIND__COUNT
} ldr_units_kind_t;

/** One reporting unit. Strings are NUL-terminated and owned by the table. */
typedef struct ldr_units_entry {
    const char *code; /* 2 or 4 decimal digits, e.g. "11", "4403" */
    size_t code_len;
    const char *name_zh; /* e.g. "北京市" */
    const char *name_en; /* e.g. "Beijing" */
    ldr_units_kind_t kind;
    double weight; /* share of national little giants; synthetic data only */
} ldr_units_entry_t;

typedef struct ldr_units ldr_units_t;

/** Parses the @p size bytes at @p data, the text of the units file
 *  @p path (named in messages; io/units_file.h reads the file).
 *  @returns a table the caller frees with ldr_units_destroy(), or NULL on
 *  any error, with a one-line message "<path>:<line>: <problem>" in
 *  @p errstr. */
ldr_units_t *ldr_units_parse(const char *path, const char *data, size_t size,
                             char *errstr, size_t errstr_size);

/** Frees @p units and every string of its entries. Accepts NULL. */
void ldr_units_destroy(ldr_units_t *units);

/** Number of units, in file order. */
size_t ldr_units_count(const ldr_units_t *units);

/** The @p i-th unit in file order, or NULL when @p i >= count. Valid until
 *  ldr_units_destroy(). */
const ldr_units_entry_t *ldr_units_at(const ldr_units_t *units, size_t i);

/** The unit whose code is exactly the @p len bytes at @p code (not
 *  NUL-terminated; may be NULL when @p len is 0), or NULL when there is none.
 *  Valid until ldr_units_destroy(). */
const ldr_units_entry_t *ldr_units_find(const ldr_units_t *units,
                                        const char *code, size_t len);

/** The file spelling of a kind ("province", "separately-listed city",
 *  "corps"), or "?" for a value that is not a kind. */
const char *ldr_units_kind_name(ldr_units_kind_t kind);

#endif
