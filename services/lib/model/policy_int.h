/* policy_int.h -- the compiled form of a policy file, shared by
 * policy.c (evaluation), policy_load.c (JSON -> this form) and
 * policy_show.c (this form -> text). Not installed, not for other modules.
 *
 * DESIGN: the loader turns the JSON into plain structs once, so that
 * evaluation never looks at JSON, strings or the heap: a condition is a small
 * tree of nodes, a scored indicator is one of five shapes (bands, first
 * match, linear, best of, levels), thresholds are int64 values scaled by
 * 100. Everything a policy owns lives in one arena that
 * ldr_policy_destroy() frees at once, so the loader's error paths need no
 * bookkeeping. */
#ifndef LADDER_POLICY_INT_H
#define LADDER_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ladder/policy.h"

/* ---- vocabulary fixed in C (policy.c) ------------------------------------ */

/* What a measure's value is, which decides how it may be compared:
 * INT     an exact integer (a field, or a sum of fields);
 * RATIO   an exact rational, possibly undefined (zero/negative denominator);
 * CAGR    the 2026 compound growth, compared by its own exact formula;
 * PCT     a percentage declared as a double, compared as given;
 * ENUM    rd_institution, usable only in levels and rd_institution tests. */
enum ldr_policy__mclass {
    LDR_MC_INT,
    LDR_MC_RATIO,
    LDR_MC_CAGR,
    LDR_MC_PCT,
    LDR_MC_ENUM
};

int ldr_policy__measure_parse(const char *name); /* id or -1 */
const char *ldr_policy__measure_name(int measure);
const char *ldr_policy__measure_meaning(int measure);
enum ldr_policy__mclass ldr_policy__measure_class(int measure);
int ldr_policy__measure_count(void);

int ldr_policy__flag_parse(const char *name); /* boolean indicator id or -1 */
const char *ldr_policy__flag_name(int flag);

/* Reason codes: each belongs to one tier. The strings are static, so a
 * result's reasons outlive the policies they came from. */
int ldr_policy__code_parse(const char *code); /* id or -1 */
const char *ldr_policy__code_name(int code);
ldr_tier_t ldr_policy__code_tier(int code);

/* ---- compiled policy ----------------------------------------------------- */

/* One end of a range. `set` false means unbounded on that side. */
struct ldr_policy__bound {
    bool set;
    bool inclusive; /* ge/le when true, gt/lt when false */
    int64_t t100;   /* the threshold x 100 */
};

/* lo <(=) v <(=) hi; used by comparisons and by score bands. */
struct ldr_policy__range {
    struct ldr_policy__bound lo, hi;
};

enum ldr_policy__ckind {
    LDR_C_ALL,
    LDR_C_ANY,
    LDR_C_NOT,
    LDR_C_MEASURE,
    LDR_C_FLAG,
    LDR_C_HONOUR,
    LDR_C_RD_INSTITUTION,
    LDR_C_SCORE,
};

struct ldr_policy__cond {
    enum ldr_policy__ckind kind;
    size_t nkids; /* ALL, ANY; NOT has exactly one */
    const struct ldr_policy__cond **kids;
    int id; /* MEASURE: measure; FLAG: flag; SCORE: group or -1 = total */
    struct ldr_policy__range range; /* MEASURE, SCORE */
    uint32_t mask; /* HONOUR: honour bits; RD_INSTITUTION: level bits */
};

enum ldr_policy__ikind {
    LDR_I_BANDS,
    LDR_I_FIRST,
    LDR_I_LINEAR,
    LDR_I_BEST_OF,
    LDR_I_LEVELS
};

struct ldr_policy__band {
    struct ldr_policy__range range;
    int points;
};

struct ldr_policy__rule {
    const struct ldr_policy__cond *when;
    int points;
};

struct ldr_policy__indicator {
    const char *name;
    int max;
    enum ldr_policy__ikind kind;
    int measure; /* BANDS, LINEAR, LEVELS */
    size_t n;    /* bands, rules or children */
    const struct ldr_policy__band
        *bands; /* BANDS, ascending, tiling the line */
    const struct ldr_policy__rule *rules; /* FIRST, top-down */
    int else_points;                      /* FIRST */
    int64_t multiply, divide; /* LINEAR: floor(v * multiply / divide) */
    bool has_min;             /* LINEAR: lower clamp (upper is max) */
    int min;
    const struct ldr_policy__indicator *children; /* BEST_OF */
    int levels[LDR_RD__COUNT];                    /* LEVELS */
};

struct ldr_policy__group {
    const char *name;
    int max;
    size_t n;
    const struct ldr_policy__indicator *indicators;
};

struct ldr_policy__criterion {
    int code;
    const struct ldr_policy__cond *when;
    bool on_review; /* false: skipped when mode is review */
};

struct ldr_policy__direct {
    const char *name;
    const struct ldr_policy__cond *when;
    uint32_t satisfies; /* bit i: criterion i of the tier */
};

struct ldr_policy__tier {
    bool has_score;
    int score_max;
    size_t ngroups;
    struct ldr_policy__group groups[LDR_POLICY_SUBSCORES_MAX];
    size_t ncriteria;
    struct ldr_policy__criterion criteria[LDR_POLICY_REASONS_MAX];
    size_t ndirect;
    const struct ldr_policy__direct *direct;
};

struct ldr_policy__chunk;

struct ldr_policy {
    char *version;
    char *path;
    char *description; /* NULL if none */
    bool has_from[LDR_EVAL__COUNT];
    int64_t from_ms[LDR_EVAL__COUNT];
    ldr_policy_lifecycle_t lifecycle;
    /* The version a tier is taken over from ("same_as"), or NULL. */
    char *same_as[LDR_TIER__COUNT];
    /* The rules in force: &own[t], or the resolved rules of another version
     * of the same set, or NULL while a same_as is unresolved. */
    const struct ldr_policy__tier *tier[LDR_TIER__COUNT];
    struct ldr_policy__tier own[LDR_TIER__COUNT];
    struct ldr_policy__chunk *arena;
};

struct ldr_policies {
    size_t n;
    ldr_policy_t **v; /* file-name order */
};

/* Arena of a policy: zeroed, aligned, freed all at once. */
void *ldr_policy__alloc(ldr_policy_t *policy, size_t size);
char *ldr_policy__strdup(ldr_policy_t *policy, const char *s);

#endif
