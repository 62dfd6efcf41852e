/* units.c -- loading and looking up the reporting-unit table.
 *
 * DESIGN: the file is small (37 rows) and read once at start-up, so the
 * loader favours exact error messages over speed: it reads line by line,
 * splits each line into fields itself (no CSV library: the format is five
 * plain columns, optionally RFC 4180 quoted) and stops at the first problem
 * with "<path>:<line>: <problem>". Lookups are on the worker's hot path (one
 * per keyed message), so codes are also indexed by their numeric value in two
 * small direct tables, one per code length: "11" and "0011" are different
 * codes, and a lookup is two bounds checks and one load. */
#include "ladder/units.h"
#include "ladder/utf8.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ladder/alloc.h"
#include "ladder/err.h"
#include "ladder/validate.h"

#define LDR_UNITS_COLUMNS 5
#define LDR_UNITS_HEADER  "code,name_zh,name_en,kind,weight"
/* Longest accepted line and name: far above any real row, low enough that a
 * binary file is reported as such rather than copied into names. */
#define LDR_UNITS_LINE_MAX 4096
#define LDR_UNITS_NAME_MAX 200
/* Shown in messages: at most this many bytes of an offending field. */
#define LDR_UNITS_SHOW 40

struct ldr_units {
    ldr_units_entry_t *entries;
    size_t count;
    size_t cap;
    /* index + 1 into entries by numeric code; 0 = no such code */
    uint16_t by2[100];
    uint16_t by4[10000];
};

static const char *const ldr_units_kind_names[LDR_UNITS_KIND__COUNT] = {
    "province", "separately-listed city", "corps"};

const char *ldr_units_kind_name(ldr_units_kind_t kind) {
    return (unsigned)kind < LDR_UNITS_KIND__COUNT ? ldr_units_kind_names[kind]
                                                  : "?";
}

typedef struct ldr_units_field {
    char *ptr; /* unescaped, NUL-terminated inside the scratch buffer */
    size_t len;
} ldr_units_field_t;

/* Splits @p line (@p len bytes, no line end) into at most @p max fields,
 * unescaping quoted ones into @p scratch (at least len + max bytes).
 * Returns the number of fields found (which may exceed max: counting
 * continues so the message can say how many there were), or -1 with a
 * problem in @p why. */
static int units_split(const char *line, size_t len, char *scratch,
                       ldr_units_field_t *fields, int max, const char **why) {
    int n = 0;
    size_t i = 0;
    char *out = scratch;
    for (;;) {
        char *start = out;
        if (i < len && line[i] == '"') {
            i++;
            for (;;) {
                if (i >= len) {
                    *why = "unterminated quoted field (a quoted field may "
                           "not span lines)";
                    return -1;
                }
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        *out++ = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                *out++ = line[i++];
            }
            if (i < len && line[i] != ',') {
                *why = "text after the closing quote of a quoted field";
                return -1;
            }
        } else {
            while (i < len && line[i] != ',') {
                if (line[i] == '"') {
                    *why = "quote inside an unquoted field";
                    return -1;
                }
                *out++ = line[i++];
            }
        }
        if (n < max) {
            fields[n].ptr = start;
            fields[n].len = (size_t)(out - start);
        }
        *out++ = '\0';
        n++;
        if (i >= len) return n;
        i++; /* the comma */
    }
}

/* A non-negative decimal: digits, optional fraction, optional exponent. No
 * sign, no hex, no inf/nan, no spaces: strtod alone accepts all of those. */
static bool units_decimal_syntax(const char *s, size_t len) {
    size_t i = 0, digits = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (digits == 0) return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) i++;
        size_t exp_digits = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, exp_digits++;
        if (exp_digits == 0) return false;
    }
    return i == len;
}

/* The numeric value of a code of 2 or 4 digits, or -1. */
static int units_code_value(const char *code, size_t len) {
    if (len != 2 && len != 4) return -1;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (code[i] < '0' || code[i] > '9') return -1;
        v = v * 10 + (code[i] - '0');
    }
    return v;
}

static uint16_t *units_slot(ldr_units_t *units, const char *code, size_t len) {
    int v = units_code_value(code, len);
    if (v < 0) return NULL;
    return len == 2 ? &units->by2[v] : &units->by4[v];
}

/* Checks a name column; NULL when it is fine, else the problem. */
static const char *units_name_problem(const ldr_units_field_t *f) {
    if (f->len == 0) return "is empty";
    if (f->len > LDR_UNITS_NAME_MAX) return "is longer than 200 bytes";
    if (memchr(f->ptr, '\0', f->len)) return "contains a NUL byte";
    if (!ldr_utf8_valid(f->ptr, f->len)) return "is not valid UTF-8";
    return NULL;
}

/* Parses one data row into a new entry. Returns LDR_OK or LDR_ERR_CONFIG
 * with the message in errstr. */
static ldr_err_t units_add_row(ldr_units_t *units, const char *path,
                               size_t lineno, ldr_units_field_t *f,
                               size_t *first_line, char *errstr,
                               size_t errstr_size) {
    const ldr_units_field_t *code = &f[0], *zh = &f[1], *en = &f[2],
                            *kind = &f[3], *weight = &f[4];

    uint16_t *slot = units_slot(units, code->ptr, code->len);
    if (!slot)
        return ldr_err_set(
            errstr, errstr_size, LDR_ERR_CONFIG,
            "%s:%zu: code \"%.*s\" is not 2 or 4 decimal "
            "digits",
            path, lineno,
            (int)(code->len < LDR_UNITS_SHOW ? code->len : LDR_UNITS_SHOW),
            code->ptr);
    if (*slot)
        return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                           "%s:%zu: duplicate code %s (first on line %zu)",
                           path, lineno, code->ptr, first_line[*slot - 1]);

    const char *problem;
    if ((problem = units_name_problem(zh)))
        return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                           "%s:%zu: name_zh %s", path, lineno, problem);
    if ((problem = units_name_problem(en)))
        return ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                           "%s:%zu: name_en %s", path, lineno, problem);

    int k = -1;
    for (int i = 0; i < LDR_UNITS_KIND__COUNT; i++)
        if (strlen(ldr_units_kind_names[i]) == kind->len &&
            memcmp(ldr_units_kind_names[i], kind->ptr, kind->len) == 0)
            k = i;
    if (k < 0)
        return ldr_err_set(
            errstr, errstr_size, LDR_ERR_CONFIG,
            "%s:%zu: kind \"%.*s\" is not province, separately-listed city "
            "or corps",
            path, lineno,
            (int)(kind->len < LDR_UNITS_SHOW ? kind->len : LDR_UNITS_SHOW),
            kind->ptr);

    /* The syntax check comes first, so strtod sees only plain decimals; it
     * can still overflow to infinity (1e999), which isfinite catches. */
    double w = 0;
    if (units_decimal_syntax(weight->ptr, weight->len))
        w = strtod(weight->ptr, NULL);
    if (!units_decimal_syntax(weight->ptr, weight->len) || !isfinite(w))
        return ldr_err_set(
            errstr, errstr_size, LDR_ERR_CONFIG,
            "%s:%zu: weight \"%.*s\" is not a finite non-negative number", path,
            lineno,
            (int)(weight->len < LDR_UNITS_SHOW ? weight->len : LDR_UNITS_SHOW),
            weight->ptr);

    if (units->count == units->cap) {
        units->cap = units->cap ? units->cap * 2 : 64;
        units->entries =
            ldr_realloc(units->entries, units->cap * sizeof units->entries[0]);
    }
    ldr_units_entry_t *e = &units->entries[units->count];
    e->code = ldr_strndup(code->ptr, code->len);
    e->code_len = code->len;
    e->name_zh = ldr_strndup(zh->ptr, zh->len);
    e->name_en = ldr_strndup(en->ptr, en->len);
    e->kind = (ldr_units_kind_t)k;
    e->weight = w;
    first_line[units->count] = lineno;
    units->count++;
    *slot = (uint16_t)units->count;
    return LDR_OK;
}

ldr_units_t *ldr_units_parse(const char *path, const char *data, size_t size,
                             char *errstr, size_t errstr_size) {
    ldr_units_t *units = NULL;
    char *scratch = NULL;
    /* Line of each entry, for "first on line N"; at most one per code. */
    size_t *first_line = NULL;
    bool ok = false;

    units = ldr_calloc(1, sizeof *units);
    first_line = ldr_calloc(100 + 10000, sizeof *first_line);
    scratch = ldr_malloc(LDR_UNITS_LINE_MAX + LDR_UNITS_COLUMNS + 16);

    size_t lineno = 0;
    bool header_seen = false;
    const char *next = data, *end = data + size;
    while (next < end) {
        const char *p = next;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        next = nl ? nl + 1 : end;
        lineno++;
        if (len > 0 && p[len - 1] == '\r') len--;
        if (lineno == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
            p += 3, len -= 3;
        if (len == 0) continue;
        if (len > LDR_UNITS_LINE_MAX) {
            ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                        "%s:%zu: line longer than %d bytes", path, lineno,
                        LDR_UNITS_LINE_MAX);
            goto out;
        }

        ldr_units_field_t f[LDR_UNITS_COLUMNS];
        const char *why = NULL;
        int n = units_split(p, len, scratch, f, LDR_UNITS_COLUMNS, &why);
        if (n < 0) {
            ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG, "%s:%zu: %s", path,
                        lineno, why);
            goto out;
        }

        if (!header_seen) {
            static const char *const names[LDR_UNITS_COLUMNS] = {
                "code", "name_zh", "name_en", "kind", "weight"};
            bool match = n == LDR_UNITS_COLUMNS;
            for (int i = 0; match && i < LDR_UNITS_COLUMNS; i++)
                match = f[i].len == strlen(names[i]) &&
                        memcmp(f[i].ptr, names[i], f[i].len) == 0;
            if (!match) {
                ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                            "%s:%zu: missing or wrong header: expected "
                            "\"" LDR_UNITS_HEADER "\"",
                            path, lineno);
                goto out;
            }
            header_seen = true;
            continue;
        }

        if (n != LDR_UNITS_COLUMNS) {
            ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                        "%s:%zu: expected %d columns, found %d", path, lineno,
                        LDR_UNITS_COLUMNS, n);
            goto out;
        }
        if (units_add_row(units, path, lineno, f, first_line, errstr,
                          errstr_size) != LDR_OK)
            goto out;
    }
    if (!header_seen) {
        ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                    "%s: empty file: missing header \"" LDR_UNITS_HEADER "\"",
                    path);
        goto out;
    }
    if (units->count == 0) {
        ldr_err_set(errstr, errstr_size, LDR_ERR_CONFIG,
                    "%s:%zu: no units after the header", path, lineno);
        goto out;
    }
    ok = true;

out:
    free(scratch);
    free(first_line);
    if (!ok) {
        ldr_units_destroy(units);
        return NULL;
    }
    return units;
}

void ldr_units_destroy(ldr_units_t *units) {
    if (!units) return;
    for (size_t i = 0; i < units->count; i++) {
        free((char *)units->entries[i].code);
        free((char *)units->entries[i].name_zh);
        free((char *)units->entries[i].name_en);
    }
    free(units->entries);
    free(units);
}

size_t ldr_units_count(const ldr_units_t *units) {
    return units->count;
}

const ldr_units_entry_t *ldr_units_at(const ldr_units_t *units, size_t i) {
    return i < units->count ? &units->entries[i] : NULL;
}

const ldr_units_entry_t *ldr_units_find(const ldr_units_t *units,
                                        const char *code, size_t len) {
    if (!code) return NULL;
    int v = units_code_value(code, len);
    if (v < 0) return NULL;
    uint16_t idx = len == 2 ? units->by2[v] : units->by4[v];
    return idx ? &units->entries[idx - 1] : NULL;
}
