/* policy_load.c -- policy files (JSON) to compiled policies, validated
 * completely.
 *
 * DESIGN: a wrong threshold means a wrong national designation, so the
 * loader accepts nothing it does not understand: every object's keys are
 * checked against the keys its place allows, every number has its type and
 * range checked, score bands must tile the whole number line without gap or
 * overlap, declared maxima must add up, every reason code and measure must be
 * known to the C vocabulary (policy.c), and a set of files must give exactly
 * one version for every instant. The first problem stops the load with a
 * message that names the file and the JSON path of the offending value
 * ("…/miit-2022.json: $.lifecycle.validity_years: missing"), because the
 * reader is an operator holding that file in an editor. The format itself is
 * documented for operators in docs/POLICY-FILES.md; keep the two in step.
 *
 * Thresholds are JSON numbers with at most two decimals. jansson gives
 * non-integers as doubles, so a value is accepted when it is the double
 * nearest to some t100 / 100 (checked by a round trip through the correctly
 * rounded division), and stored as that integer t100. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ladder/alloc.h"
#include "ladder/time.h"
#include "policy_int.h"

#define FORMAT_VERSION 1
#define COND_DEPTH_MAX 8
#define POINTS_MAX     1000
#define INT_THRESHOLD_MAX                                                      \
    INT64_C(1000000000000000)   /* 10^15, the largest amount */
#define REAL_THRESHOLD_MAX 1e13 /* keeps t100 below 2^53: exact in a double */
#define PCT_THRESHOLD_MAX  INT64_C(1000000000)

/* ---- context: file name, JSON path, error text ------------------------- */

struct ctx {
    const char *file;
    char path[512];
    size_t plen;
    char *errstr;
    size_t errstr_size;
    ldr_policy_t *p;
    int tier; /* the tier being parsed, for code checks */
    const struct ldr_policy__tier
        *rules; /* score groups visible to conditions */
};

static bool fail(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool fail(struct ctx *c, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ldr_err_set(c->errstr, c->errstr_size, LDR_ERR_POLICY, "%s: %s: %s",
                c->file, c->path, msg);
    return false;
}

/* Path segments are pushed before descending and popped by restoring the
 * saved length, so every message carries the full path of the value. */
static size_t push_key(struct ctx *c, const char *key) {
    size_t saved = c->plen;
    int n = snprintf(c->path + c->plen, sizeof c->path - c->plen, ".%s", key);
    if (n > 0)
        c->plen += (size_t)n < sizeof c->path - c->plen
                       ? (size_t)n
                       : sizeof c->path - c->plen - 1;
    return saved;
}

static size_t push_index(struct ctx *c, size_t i) {
    size_t saved = c->plen;
    int n = snprintf(c->path + c->plen, sizeof c->path - c->plen, "[%zu]", i);
    if (n > 0)
        c->plen += (size_t)n < sizeof c->path - c->plen
                       ? (size_t)n
                       : sizeof c->path - c->plen - 1;
    return saved;
}

static void pop(struct ctx *c, size_t saved) {
    c->plen = saved;
    c->path[saved] = '\0';
}

static const char *type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* ---- generic checks ------------------------------------------------------ */

/* Every key of @p obj must be one of @p allowed (NULL-terminated) or "note",
 * the free-text comment any object may carry. */
static bool check_keys(struct ctx *c, const json_t *obj,
                       const char *const *allowed) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (strcmp(key, "note") == 0) {
            if (!json_is_string(v)) {
                size_t s = push_key(c, key);
                bool r = fail(c, "expected a string, found %s", type_name(v));
                pop(c, s);
                return r;
            }
            ok = true;
        }
        if (!ok) {
            char list[300] = "";
            size_t len = 0;
            for (size_t i = 0; allowed[i]; i++) {
                int n = snprintf(list + len, sizeof list - len, "%s%s",
                                 i ? ", " : "", allowed[i]);
                if (n < 0 || (size_t)n >= sizeof list - len) break;
                len += (size_t)n;
            }
            size_t s = push_key(c, key);
            bool r = fail(c, "unknown key (expected %s%snote)", list,
                          len ? ", " : "");
            pop(c, s);
            return r;
        }
    }
    return true;
}

static bool expect_object(struct ctx *c, const json_t *v) {
    if (json_is_object(v)) return true;
    return fail(c, "expected an object, found %s", type_name(v));
}

/* The member @p key of @p obj, which must be present. Pushes nothing. */
static json_t *required(struct ctx *c, const json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    if (!v) {
        size_t s = push_key(c, key);
        fail(c, "missing");
        pop(c, s);
    }
    return v;
}

/* An integer in [lo, hi] at the current path. */
static bool get_int(struct ctx *c, const json_t *v, long long lo, long long hi,
                    int *out) {
    if (!json_is_integer(v))
        return fail(c, "expected an integer, found %s", type_name(v));
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return fail(c, "%lld is out of range %lld..%lld", x, lo, hi);
    *out = (int)x;
    return true;
}

static bool member_int(struct ctx *c, const json_t *obj, const char *key,
                       long long lo, long long hi, int *out) {
    json_t *v = required(c, obj, key);
    if (!v) return false;
    size_t s = push_key(c, key);
    bool ok = get_int(c, v, lo, hi, out);
    pop(c, s);
    return ok;
}

/* A threshold: an integer, or a decimal with at most two places. */
static bool get_threshold(struct ctx *c, const json_t *v, int64_t limit,
                          int64_t *t100) {
    if (json_is_integer(v)) {
        long long x = json_integer_value(v);
        if (x < -limit || x > limit)
            return fail(c, "%lld is out of range (at most %lld in magnitude)",
                        x, (long long)limit);
        *t100 = (int64_t)x * 100;
        return true;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (!(fabs(x) <= REAL_THRESHOLD_MAX) || fabs(x) > (double)limit)
            return fail(c, "%g is out of range for a threshold with decimals",
                        x);
        long long r = llround(x * 100.0);
        if ((double)r / 100.0 != x)
            return fail(c, "%.17g has more than two decimal places", x);
        *t100 = r;
        return true;
    }
    return fail(c, "expected a number, found %s", type_name(v));
}

static bool get_string(struct ctx *c, const json_t *v, const char **out) {
    if (!json_is_string(v))
        return fail(c, "expected a string, found %s", type_name(v));
    *out = json_string_value(v);
    return true;
}

/* Lower-case names: score groups (they become JSON keys of the output). */
static bool valid_group_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 32 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_'))
            return false;
    return true;
}

static bool valid_version(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64 ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return false;
    return true;
}

/* ---- ranges
 * ------------------------------------------------------------------ */

/* Reads the bound keys ge/gt (lower) and le/lt (upper) of @p obj. */
static bool get_range(struct ctx *c, const json_t *obj, int64_t limit,
                      struct ldr_policy__range *r) {
    static const char *const keys[4] = {"ge", "gt", "le", "lt"};
    memset(r, 0, sizeof *r);
    for (int k = 0; k < 4; k++) {
        json_t *v = json_object_get(obj, keys[k]);
        if (!v) continue;
        struct ldr_policy__bound *b = k < 2 ? &r->lo : &r->hi;
        if (b->set)
            return fail(c, "give only one of %s",
                        k < 2 ? "ge and gt" : "le and lt");
        size_t s = push_key(c, keys[k]);
        bool ok = get_threshold(c, v, limit, &b->t100);
        pop(c, s);
        if (!ok) return false;
        b->set = true;
        b->inclusive = (k == 0 || k == 2);
    }
    if (r->lo.set && r->hi.set &&
        (r->lo.t100 > r->hi.t100 ||
         (r->lo.t100 == r->hi.t100 && !(r->lo.inclusive && r->hi.inclusive)))) {
        char a[32], b[32];
        return fail(c, "the range from %s to %s is empty",
                    ldr_policy_format_number(r->lo.t100, a, sizeof a),
                    ldr_policy_format_number(r->hi.t100, b, sizeof b));
    }
    return true;
}

static int64_t limit_for(int measure) {
    return ldr_policy__measure_class(measure) == LDR_MC_PCT ? PCT_THRESHOLD_MAX
                                                            : INT_THRESHOLD_MAX;
}

/* ---- conditions ---------------------------------------------------------- */

static const struct ldr_policy__cond *
parse_cond(struct ctx *c, const json_t *v, int depth, bool scores_allowed);

static bool get_names_mask(struct ctx *c, const json_t *arr,
                           int (*parse)(const char *, size_t), const char *what,
                           uint32_t *mask) {
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return fail(c, "expected a non-empty array of %s names", what);
    *mask = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *e = json_array_get(arr, i);
        size_t s = push_index(c, i);
        const char *name;
        if (!get_string(c, e, &name)) return false;
        int id = parse(name, strlen(name));
        if (id < 0) {
            fail(c, "unknown %s '%s'", what, name);
            return false;
        }
        if (*mask & (1u << id)) {
            fail(c, "'%s' is listed twice", name);
            return false;
        }
        *mask |= 1u << id;
        pop(c, s);
    }
    return true;
}

/* The keys that name a condition's kind, in the order of cond_kind(). */
static const char *const cond_kinds[] = {
    "all",   "any", "not", "measure", "flag", "honour", "rd_institution",
    "score", NULL};

/* Finds which one of the kind keys the condition object v has; -1 after
 * failing when it has none or more than one. */
static int cond_kind(struct ctx *c, const json_t *v) {
    int kind = -1;
    for (int k = 0; cond_kinds[k]; k++) {
        if (!json_object_get(v, cond_kinds[k])) continue;
        if (kind >= 0) {
            fail(c,
                 "a condition has exactly one of all, any, not, measure, flag, "
                 "honour, "
                 "rd_institution, score: found both '%s' and '%s'",
                 cond_kinds[kind], cond_kinds[k]);
            return -1;
        }
        kind = k;
    }
    if (kind < 0)
        fail(c,
             "a condition needs one of all, any, not, measure, flag, honour, "
             "rd_institution, score");
    return kind;
}

/* {"all": [...]} (kind 0) or {"any": [...]} (kind 1). */
static bool cond_list(struct ctx *c, const json_t *v, int kind, int depth,
                      bool scores_allowed, struct ldr_policy__cond *n) {
    static const char *const k01[][2] = {{"all", NULL}, {"any", NULL}};
    const char *key = cond_kinds[kind];
    json_t *arg = json_object_get(v, key);
    if (!check_keys(c, v, k01[kind])) return false;
    n->kind = kind == 0 ? LDR_C_ALL : LDR_C_ANY;
    size_t s = push_key(c, key);
    if (!json_is_array(arg) || json_array_size(arg) == 0) {
        fail(c, "expected a non-empty array of conditions, found %s",
             type_name(arg));
        return false;
    }
    n->nkids = json_array_size(arg);
    n->kids = ldr_policy__alloc(c->p, n->nkids * sizeof *n->kids);
    for (size_t i = 0; i < n->nkids; i++) {
        size_t s2 = push_index(c, i);
        if (!(n->kids[i] = parse_cond(c, json_array_get(arg, i), depth + 1,
                                      scores_allowed)))
            return false;
        pop(c, s2);
    }
    pop(c, s);
    return true;
}

/* {"not": {...}}. */
static bool cond_not(struct ctx *c, const json_t *v, int depth,
                     bool scores_allowed, struct ldr_policy__cond *n) {
    static const char *const k2[] = {"not", NULL};
    if (!check_keys(c, v, k2)) return false;
    n->kind = LDR_C_NOT;
    n->nkids = 1;
    n->kids = ldr_policy__alloc(c->p, sizeof *n->kids);
    size_t s = push_key(c, "not");
    if (!(n->kids[0] = parse_cond(c, json_object_get(v, "not"), depth + 1,
                                  scores_allowed)))
        return false;
    pop(c, s);
    return true;
}

/* {"measure": NAME, "ge"|"gt"|"le"|"lt": N, ...}. */
static bool cond_measure(struct ctx *c, const json_t *v,
                         struct ldr_policy__cond *n) {
    static const char *const k3[] = {"measure", "ge", "gt", "le", "lt", NULL};
    const char *name;
    if (!check_keys(c, v, k3)) return false;
    n->kind = LDR_C_MEASURE;
    size_t s = push_key(c, "measure");
    if (!get_string(c, json_object_get(v, "measure"), &name)) return false;
    n->id = ldr_policy__measure_parse(name);
    if (n->id < 0) {
        fail(c, "unknown measure '%s' (docs/POLICY-FILES.md lists them)", name);
        return false;
    }
    if (ldr_policy__measure_class(n->id) == LDR_MC_ENUM) {
        fail(c,
             "'%s' is not a number: test it with {\"rd_institution\": "
             "[...]}",
             name);
        return false;
    }
    pop(c, s);
    if (!get_range(c, v, limit_for(n->id), &n->range)) return false;
    if (!n->range.lo.set && !n->range.hi.set) {
        fail(c, "missing threshold: give ge, gt, le or lt for '%s'", name);
        return false;
    }
    return true;
}

/* {"flag": NAME}. */
static bool cond_flag(struct ctx *c, const json_t *v,
                      struct ldr_policy__cond *n) {
    static const char *const k4[] = {"flag", NULL};
    const char *name;
    if (!check_keys(c, v, k4)) return false;
    n->kind = LDR_C_FLAG;
    size_t s = push_key(c, "flag");
    if (!get_string(c, json_object_get(v, "flag"), &name)) return false;
    if ((n->id = ldr_policy__flag_parse(name)) < 0) {
        fail(c, "unknown boolean indicator '%s'", name);
        return false;
    }
    pop(c, s);
    return true;
}

/* {"honour": [...]} (kind 5) or {"rd_institution": [...]} (kind 6). */
static bool cond_names(struct ctx *c, const json_t *v, int kind,
                       struct ldr_policy__cond *n) {
    static const char *const k56[][2] = {{"honour", NULL},
                                         {"rd_institution", NULL}};
    const char *key = cond_kinds[kind];
    if (!check_keys(c, v, k56[kind - 5])) return false;
    n->kind = kind == 5 ? LDR_C_HONOUR : LDR_C_RD_INSTITUTION;
    size_t s = push_key(c, key);
    if (!get_names_mask(c, json_object_get(v, key),
                        kind == 5 ? ldr_honour_parse : ldr_rd_institution_parse,
                        kind == 5 ? "Honour" : "RdInstitution", &n->mask))
        return false;
    pop(c, s);
    return true;
}

/* {"score": "total"|GROUP, "ge"|"gt"|"le"|"lt": N, ...}. */
static bool cond_score(struct ctx *c, const json_t *v, bool scores_allowed,
                       struct ldr_policy__cond *n) {
    static const char *const k7[] = {"score", "ge", "gt", "le", "lt", NULL};
    const char *name;
    if (!check_keys(c, v, k7)) return false;
    n->kind = LDR_C_SCORE;
    size_t s = push_key(c, "score");
    if (!scores_allowed) {
        fail(c, "a score cannot be tested inside the score itself");
        return false;
    }
    if (!c->rules || !c->rules->has_score) {
        fail(c, "this tier has no score");
        return false;
    }
    if (!get_string(c, json_object_get(v, "score"), &name)) return false;
    n->id = -2;
    if (strcmp(name, "total") == 0) n->id = -1;
    for (size_t g = 0; g < c->rules->ngroups; g++)
        if (strcmp(c->rules->groups[g].name, name) == 0) n->id = (int)g;
    if (n->id == -2) {
        fail(c, "'%s' is neither \"total\" nor a score group of this tier",
             name);
        return false;
    }
    pop(c, s);
    if (!get_range(c, v, INT_THRESHOLD_MAX, &n->range)) return false;
    if (!n->range.lo.set && !n->range.hi.set) {
        fail(c, "missing threshold: give ge, gt, le or lt for score '%s'",
             name);
        return false;
    }
    return true;
}

static const struct ldr_policy__cond *
parse_cond(struct ctx *c, const json_t *v, int depth, bool scores_allowed) {
    if (!expect_object(c, v)) return NULL;
    if (depth > COND_DEPTH_MAX) {
        fail(c, "conditions are nested more than %d deep", COND_DEPTH_MAX);
        return NULL;
    }
    int kind = cond_kind(c, v);
    if (kind < 0) return NULL;
    struct ldr_policy__cond *n = ldr_policy__alloc(c->p, sizeof *n);
    bool ok = false;
    switch (kind) {
    case 0:
    case 1: ok = cond_list(c, v, kind, depth, scores_allowed, n); break;
    case 2: ok = cond_not(c, v, depth, scores_allowed, n); break;
    case 3: ok = cond_measure(c, v, n); break;
    case 4: ok = cond_flag(c, v, n); break;
    case 5:
    case 6: ok = cond_names(c, v, kind, n); break;
    case 7: ok = cond_score(c, v, scores_allowed, n); break;
    }
    return ok ? n : NULL;
}

/* ---- score indicators -------------------------------------------------------
 */

static bool parse_indicator(struct ctx *c, const json_t *v, int depth,
                            struct ldr_policy__indicator *ind);

static bool parse_measure_key(struct ctx *c, const json_t *v, int *measure) {
    json_t *m = required(c, v, "measure");
    const char *name;
    if (!m) return false;
    size_t s = push_key(c, "measure");
    if (!get_string(c, m, &name)) return false;
    if ((*measure = ldr_policy__measure_parse(name)) < 0)
        return fail(c, "unknown measure '%s' (docs/POLICY-FILES.md lists them)",
                    name);
    pop(c, s);
    return true;
}

/* Bands must tile the number line: the first open below, the last open
 * above, each starting exactly where the previous ends, the shared edge in
 * exactly one of the two. */
static bool check_tiling(struct ctx *c, const struct ldr_policy__band *b,
                         size_t n) {
    char x[32], y[32];
    if (b[0].range.lo.set)
        return fail(
            c,
            "the first band must be open below (no ge/gt), so that every value "
            "is in a band; values below %s have none",
            ldr_policy_format_number(b[0].range.lo.t100, x, sizeof x));
    if (b[n - 1].range.hi.set)
        return fail(
            c,
            "the last band must be open above (no le/lt), so that every value "
            "is in a band; values above %s have none",
            ldr_policy_format_number(b[n - 1].range.hi.t100, x, sizeof x));
    for (size_t i = 1; i < n; i++) {
        const struct ldr_policy__bound *end = &b[i - 1].range.hi,
                                       *start = &b[i].range.lo;
        if (!end->set)
            return fail(c,
                        "bands overlap: bands[%zu] is open above but "
                        "bands[%zu] follows "
                        "(list bands in ascending order)",
                        i - 1, i);
        if (!start->set)
            return fail(c,
                        "bands overlap: only the first band may be open below, "
                        "bands[%zu] is too",
                        i);
        ldr_policy_format_number(end->t100, x, sizeof x);
        ldr_policy_format_number(start->t100, y, sizeof y);
        if (end->t100 < start->t100)
            return fail(
                c,
                "bands leave a gap from %s to %s (bands[%zu] and bands[%zu])",
                x, y, i - 1, i);
        if (end->t100 > start->t100)
            return fail(c,
                        "bands overlap from %s to %s (bands[%zu] and "
                        "bands[%zu]; list bands "
                        "in ascending order)",
                        y, x, i - 1, i);
        if (end->inclusive && start->inclusive)
            return fail(c,
                        "bands overlap at %s (bands[%zu] and bands[%zu] both "
                        "include it)",
                        x, i - 1, i);
        if (!end->inclusive && !start->inclusive)
            return fail(
                c,
                "bands leave a gap at %s (neither bands[%zu] nor bands[%zu] "
                "includes it)",
                x, i - 1, i);
    }
    return true;
}

static bool parse_bands(struct ctx *c, const json_t *arr, int measure,
                        struct ldr_policy__indicator *ind, int *top) {
    static const char *const keys[] = {"ge", "gt", "le", "lt", "points", NULL};
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return fail(c, "expected a non-empty array of bands, found %s",
                    type_name(arr));
    size_t n = json_array_size(arr);
    struct ldr_policy__band *b = ldr_policy__alloc(c->p, n * sizeof *b);
    *top = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        size_t s = push_index(c, i);
        if (!expect_object(c, e) || !check_keys(c, e, keys) ||
            !get_range(c, e, limit_for(measure), &b[i].range) ||
            !member_int(c, e, "points", 0, POINTS_MAX, &b[i].points))
            return false;
        if (b[i].points > *top) *top = b[i].points;
        pop(c, s);
    }
    if (!check_tiling(c, b, n)) return false;
    ind->n = n;
    ind->bands = b;
    return true;
}

/* The keys that name an indicator's shape, in the order of ind_shape(). */
static const char *const ind_shapes[] = {"bands",   "first",  "linear",
                                         "best_of", "levels", NULL};

/* Finds which one of the shape keys the indicator object v has and checks
 * that v has only the keys of that shape; -1 after failing. */
static int ind_shape(struct ctx *c, const json_t *v) {
    static const char *const kb[] = {"name", "max", "measure", "bands", NULL};
    static const char *const kf[] = {"name", "max", "first", "else", NULL};
    static const char *const kl[] = {"name", "max", "measure", "linear", NULL};
    static const char *const kbo[] = {"name", "max", "best_of", NULL};
    static const char *const klv[] = {"name", "max", "measure", "levels", NULL};
    static const char *const *const allowed[] = {kb, kf, kl, kbo, klv};
    int shape = -1;
    for (int k = 0; ind_shapes[k]; k++) {
        if (!json_object_get(v, ind_shapes[k])) continue;
        if (shape >= 0) {
            fail(c,
                 "an indicator has exactly one of bands, first, linear, "
                 "best_of, "
                 "levels: found both '%s' and '%s'",
                 ind_shapes[shape], ind_shapes[k]);
            return -1;
        }
        shape = k;
    }
    if (shape < 0) {
        fail(c,
             "an indicator needs one of bands, first, linear, best_of, levels");
        return -1;
    }
    if (!check_keys(c, v, allowed[shape])) return -1;
    return shape;
}

/* {"measure": M, "bands": [...]}; *top is the most the bands give. */
static bool ind_bands(struct ctx *c, const json_t *v, const json_t *arg,
                      struct ldr_policy__indicator *ind, int *top) {
    ind->kind = LDR_I_BANDS;
    if (!parse_measure_key(c, v, &ind->measure)) return false;
    if (ldr_policy__measure_class(ind->measure) == LDR_MC_ENUM)
        return fail(c, "rd_institution takes levels, not bands");
    size_t s = push_key(c, "bands");
    if (!parse_bands(c, arg, ind->measure, ind, top)) return false;
    pop(c, s);
    return true;
}

/* {"first": [{"when", "points"}, ...], "else": N}: the points of the first
 * rule whose condition holds. */
static bool ind_first(struct ctx *c, const json_t *v, const json_t *arg,
                      struct ldr_policy__indicator *ind, int *top) {
    static const char *const kr[] = {"when", "points", NULL};
    ind->kind = LDR_I_FIRST;
    size_t s = push_key(c, "first");
    if (!json_is_array(arg) || json_array_size(arg) == 0)
        return fail(c,
                    "expected a non-empty array of {\"when\", \"points\"}, "
                    "found %s",
                    type_name(arg));
    ind->n = json_array_size(arg);
    struct ldr_policy__rule *r = ldr_policy__alloc(c->p, ind->n * sizeof *r);
    for (size_t i = 0; i < ind->n; i++) {
        json_t *e = json_array_get(arg, i), *w;
        size_t s2 = push_index(c, i);
        if (!expect_object(c, e) || !check_keys(c, e, kr) ||
            !member_int(c, e, "points", 0, POINTS_MAX, &r[i].points) ||
            !(w = required(c, e, "when")))
            return false;
        size_t s3 = push_key(c, "when");
        if (!(r[i].when = parse_cond(c, w, 0, false))) return false;
        pop(c, s3);
        if (r[i].points > *top) *top = r[i].points;
        pop(c, s2);
    }
    ind->rules = r;
    pop(c, s);
    if (!member_int(c, v, "else", 0, POINTS_MAX, &ind->else_points))
        return false;
    if (ind->else_points > *top) *top = ind->else_points;
    return true;
}

/* {"measure": M, "linear": {"multiply", "divide", "min"}}: points grow with
 * an integer measure up to max. */
static bool ind_linear(struct ctx *c, const json_t *v, const json_t *arg,
                       struct ldr_policy__indicator *ind, int *top) {
    static const char *const kl[] = {"multiply", "divide", "min", NULL};
    int mul, div;
    ind->kind = LDR_I_LINEAR;
    if (!parse_measure_key(c, v, &ind->measure)) return false;
    if (ldr_policy__measure_class(ind->measure) != LDR_MC_INT) {
        push_key(c, "measure");
        return fail(c, "linear points need an integer measure; '%s' is not one",
                    ldr_policy__measure_name(ind->measure));
    }
    size_t s = push_key(c, "linear");
    if (!expect_object(c, arg) || !check_keys(c, arg, kl) ||
        !member_int(c, arg, "multiply", 1, POINTS_MAX, &mul) ||
        !member_int(c, arg, "divide", 1, POINTS_MAX, &div))
        return false;
    ind->multiply = mul;
    ind->divide = div;
    if (json_object_get(arg, "min")) {
        if (!member_int(c, arg, "min", 0, POINTS_MAX, &ind->min)) return false;
        if (ind->min > ind->max)
            return fail(c, "min is above the indicator's max");
        ind->has_min = true;
    }
    pop(c, s);
    *top = ind->max; /* max is the upper clamp */
    return true;
}

/* {"best_of": [indicator, indicator, ...]}: the best of its children. */
static bool ind_best_of(struct ctx *c, const json_t *arg, int depth,
                        struct ldr_policy__indicator *ind, int *top) {
    ind->kind = LDR_I_BEST_OF;
    size_t s = push_key(c, "best_of");
    if (!json_is_array(arg) || json_array_size(arg) < 2)
        return fail(c, "expected an array of at least two indicators");
    ind->n = json_array_size(arg);
    struct ldr_policy__indicator *kids =
        ldr_policy__alloc(c->p, ind->n * sizeof *kids);
    for (size_t i = 0; i < ind->n; i++) {
        size_t s2 = push_index(c, i);
        if (!parse_indicator(c, json_array_get(arg, i), depth + 1, &kids[i]))
            return false;
        if (kids[i].max > *top) *top = kids[i].max;
        pop(c, s2);
    }
    ind->children = kids;
    pop(c, s);
    return true;
}

/* {"measure": "rd_institution", "levels": {SYMBOL: points, ...}}. */
static bool ind_levels(struct ctx *c, const json_t *v, const json_t *arg,
                       struct ldr_policy__indicator *ind, int *top) {
    ind->kind = LDR_I_LEVELS;
    if (!parse_measure_key(c, v, &ind->measure)) return false;
    if (ldr_policy__measure_class(ind->measure) != LDR_MC_ENUM) {
        push_key(c, "measure");
        return fail(c, "levels need rd_institution; '%s' takes bands",
                    ldr_policy__measure_name(ind->measure));
    }
    static const char *const kv[] = {
        "NONE", "BELOW_MUNICIPAL", "MUNICIPAL", "PROVINCIAL", "NATIONAL", NULL};
    _Static_assert(LDR_ARRAY_SIZE(kv) == LDR_RD__COUNT + 1,
                   "RdInstitution symbols");
    size_t s = push_key(c, "levels");
    if (!expect_object(c, arg) || !check_keys(c, arg, kv)) return false;
    for (int i = 0; i < LDR_RD__COUNT; i++) {
        if (!member_int(c, arg,
                        ldr_rd_institution_name((ldr_rd_institution_t)i), 0,
                        POINTS_MAX, &ind->levels[i]))
            return false;
        if (ind->levels[i] > *top) *top = ind->levels[i];
    }
    pop(c, s);
    return true;
}

static bool parse_indicator(struct ctx *c, const json_t *v, int depth,
                            struct ldr_policy__indicator *ind) {
    const char *name;
    int top = 0;
    if (!expect_object(c, v)) return false;
    if (depth > 2) return fail(c, "best_of is nested too deep");
    int shape = ind_shape(c, v);
    if (shape < 0) return false;
    json_t *jn = required(c, v, "name");
    if (!jn) return false;
    size_t s = push_key(c, "name");
    if (!get_string(c, jn, &name)) return false;
    if (name[0] == '\0') return fail(c, "the name is empty");
    pop(c, s);
    ind->name = ldr_policy__strdup(c->p, name);
    if (!member_int(c, v, "max", 0, POINTS_MAX, &ind->max)) return false;
    json_t *arg = json_object_get(v, ind_shapes[shape]);
    bool ok = false;
    switch (shape) {
    case 0: ok = ind_bands(c, v, arg, ind, &top); break;
    case 1: ok = ind_first(c, v, arg, ind, &top); break;
    case 2: ok = ind_linear(c, v, arg, ind, &top); break;
    case 3: ok = ind_best_of(c, arg, depth, ind, &top); break;
    case 4: ok = ind_levels(c, v, arg, ind, &top); break;
    }
    if (!ok) return false;
    if (top != ind->max) {
        push_key(c, "max");
        return fail(c, "%d, but the most this indicator can give is %d",
                    ind->max, top);
    }
    return true;
}

static bool parse_score(struct ctx *c, const json_t *v,
                        struct ldr_policy__tier *t) {
    static const char *const ks[] = {"max", "groups", NULL};
    static const char *const kg[] = {"name", "max", "indicators", NULL};
    json_t *groups;
    int sum = 0;
    if (!expect_object(c, v) || !check_keys(c, v, ks) ||
        !member_int(c, v, "max", 0, POINTS_MAX, &t->score_max) ||
        !(groups = required(c, v, "groups")))
        return false;
    size_t s = push_key(c, "groups");
    if (!json_is_array(groups) || json_array_size(groups) == 0 ||
        json_array_size(groups) > LDR_POLICY_SUBSCORES_MAX)
        return fail(c, "expected an array of 1 to %d groups",
                    LDR_POLICY_SUBSCORES_MAX);
    t->ngroups = json_array_size(groups);
    for (size_t g = 0; g < t->ngroups; g++) {
        struct ldr_policy__group *gr = &t->groups[g];
        json_t *e = json_array_get(groups, g), *jn, *inds;
        const char *name;
        int isum = 0;
        size_t s2 = push_index(c, g);
        if (!expect_object(c, e) || !check_keys(c, e, kg) ||
            !(jn = required(c, e, "name")))
            return false;
        size_t s3 = push_key(c, "name");
        if (!get_string(c, jn, &name)) return false;
        if (!valid_group_name(name) || strcmp(name, "total") == 0)
            return fail(
                c,
                "'%s' is not a valid group name (lower case, digits, '_'; not "
                "\"total\")",
                name);
        for (size_t h = 0; h < g; h++)
            if (strcmp(t->groups[h].name, name) == 0)
                return fail(c, "group '%s' is defined twice", name);
        pop(c, s3);
        gr->name = ldr_policy__strdup(c->p, name);
        if (!member_int(c, e, "max", 0, POINTS_MAX, &gr->max) ||
            !(inds = required(c, e, "indicators")))
            return false;
        s3 = push_key(c, "indicators");
        if (!json_is_array(inds) || json_array_size(inds) == 0)
            return fail(c, "expected a non-empty array of indicators");
        gr->n = json_array_size(inds);
        struct ldr_policy__indicator *iv =
            ldr_policy__alloc(c->p, gr->n * sizeof *iv);
        for (size_t i = 0; i < gr->n; i++) {
            size_t s4 = push_index(c, i);
            if (!parse_indicator(c, json_array_get(inds, i), 0, &iv[i]))
                return false;
            isum += iv[i].max;
            pop(c, s4);
        }
        gr->indicators = iv;
        pop(c, s3);
        if (isum != gr->max) {
            s3 = push_key(c, "max");
            return fail(c, "%d, but the indicators' max add up to %d", gr->max,
                        isum);
        }
        sum += gr->max;
        pop(c, s2);
    }
    pop(c, s);
    if (sum != t->score_max) {
        s = push_key(c, "max");
        return fail(c, "%d, but the groups' max add up to %d", t->score_max,
                    sum);
    }
    t->has_score = true;
    return true;
}

/* ---- tiers --------------------------------------------------------------- */

static bool parse_criteria(struct ctx *c, const json_t *arr,
                           struct ldr_policy__tier *t) {
    static const char *const kc[] = {"code", "when", "checked_on_review", NULL};
    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > LDR_POLICY_REASONS_MAX)
        return fail(c, "expected an array of 1 to %d criteria",
                    LDR_POLICY_REASONS_MAX);
    t->ncriteria = json_array_size(arr);
    for (size_t i = 0; i < t->ncriteria; i++) {
        struct ldr_policy__criterion *cr = &t->criteria[i];
        json_t *e = json_array_get(arr, i), *jc, *w, *r;
        const char *code;
        size_t s = push_index(c, i);
        if (!expect_object(c, e) || !check_keys(c, e, kc) ||
            !(jc = required(c, e, "code")) || !(w = required(c, e, "when")))
            return false;
        size_t s2 = push_key(c, "code");
        if (!get_string(c, jc, &code)) return false;
        if ((cr->code = ldr_policy__code_parse(code)) < 0)
            return fail(c, "unknown criterion '%s'", code);
        if ((int)ldr_policy__code_tier(cr->code) != c->tier)
            return fail(c, "criterion '%s' belongs to %s", code,
                        ldr_tier_name(ldr_policy__code_tier(cr->code)));
        for (size_t j = 0; j < i; j++)
            if (t->criteria[j].code == cr->code)
                return fail(c, "criterion '%s' is listed twice", code);
        pop(c, s2);
        s2 = push_key(c, "when");
        if (!(cr->when = parse_cond(c, w, 0, true))) return false;
        pop(c, s2);
        cr->on_review = true;
        if ((r = json_object_get(e, "checked_on_review"))) {
            s2 = push_key(c, "checked_on_review");
            if (!json_is_boolean(r))
                return fail(c, "expected a boolean, found %s", type_name(r));
            cr->on_review = json_is_true(r);
            pop(c, s2);
        }
        pop(c, s);
    }
    return true;
}

static bool parse_direct(struct ctx *c, const json_t *arr,
                         struct ldr_policy__tier *t) {
    static const char *const kd[] = {"name", "when", "satisfies", NULL};
    if (!json_is_array(arr))
        return fail(c, "expected an array, found %s", type_name(arr));
    t->ndirect = json_array_size(arr);
    struct ldr_policy__direct *d =
        ldr_policy__alloc(c->p, (t->ndirect + 1) * sizeof *d);
    for (size_t i = 0; i < t->ndirect; i++) {
        json_t *e = json_array_get(arr, i), *jn, *w, *sat;
        const char *name;
        size_t s = push_index(c, i);
        if (!expect_object(c, e) || !check_keys(c, e, kd) ||
            !(jn = required(c, e, "name")) || !(w = required(c, e, "when")) ||
            !(sat = required(c, e, "satisfies")))
            return false;
        size_t s2 = push_key(c, "name");
        if (!get_string(c, jn, &name)) return false;
        pop(c, s2);
        d[i].name = ldr_policy__strdup(c->p, name);
        s2 = push_key(c, "when");
        if (!(d[i].when = parse_cond(c, w, 0, true))) return false;
        pop(c, s2);
        s2 = push_key(c, "satisfies");
        if (!json_is_array(sat) || json_array_size(sat) == 0)
            return fail(
                c, "expected a non-empty array of this tier's criterion codes");
        for (size_t k = 0; k < json_array_size(sat); k++) {
            const char *code;
            size_t s3 = push_index(c, k);
            if (!get_string(c, json_array_get(sat, k), &code)) return false;
            int id = ldr_policy__code_parse(code);
            size_t j = 0;
            while (j < t->ncriteria && t->criteria[j].code != id)
                j++;
            if (id < 0 || j == t->ncriteria)
                return fail(c, "'%s' is not a criterion of this tier", code);
            if (d[i].satisfies & (1u << j))
                return fail(c, "'%s' is listed twice", code);
            d[i].satisfies |= 1u << j;
            pop(c, s3);
        }
        pop(c, s2);
        pop(c, s);
    }
    t->direct = d;
    return true;
}

static bool parse_tier(struct ctx *c, const json_t *v, int tier) {
    static const char *const kt[] = {"score", "criteria", "direct", NULL};
    static const char *const ksame[] = {"same_as", NULL};
    struct ldr_policy__tier *t = &c->p->own[tier];
    json_t *same, *crit, *sc, *dir;
    if (!expect_object(c, v)) return false;
    c->tier = tier;
    if ((same = json_object_get(v, "same_as"))) {
        const char *name;
        if (!check_keys(c, v, ksame)) return false;
        size_t s = push_key(c, "same_as");
        if (!get_string(c, same, &name)) return false;
        if (!valid_version(name))
            return fail(c, "'%s' is not a policy version name", name);
        if (strcmp(name, c->p->version) == 0)
            return fail(c, "a version cannot refer to itself");
        pop(c, s);
        c->p->same_as[tier] = ldr_policy__strdup(c->p, name);
        return true;
    }
    if (!check_keys(c, v, kt)) return false;
    c->rules = t;
    if ((sc = json_object_get(v, "score"))) {
        size_t s = push_key(c, "score");
        if (!parse_score(c, sc, t)) return false;
        pop(c, s);
    }
    if (!(crit = required(c, v, "criteria"))) return false;
    size_t s = push_key(c, "criteria");
    if (!parse_criteria(c, crit, t)) return false;
    pop(c, s);
    if ((dir = json_object_get(v, "direct"))) {
        s = push_key(c, "direct");
        if (!parse_direct(c, dir, t)) return false;
        pop(c, s);
    }
    c->p->tier[tier] = t;
    c->rules = NULL;
    return true;
}

/* ---- lifecycle, dates ------------------------------------------------------
 */

static bool parse_lifecycle(struct ctx *c, const json_t *v) {
    static const char *const kl[] = {"validity_years",
                                     "publicity_days",
                                     "review_window_days",
                                     "ban_years",
                                     "on_validity_end",
                                     "prerequisite",
                                     NULL};
    static const char *const kt[] = {"INNOVATIVE", "SPECIALIZED",
                                     "LITTLE_GIANT", NULL};
    static const char *const ke[] = {"decision", "reason", NULL};
    ldr_policy_lifecycle_t *lc = &c->p->lifecycle;
    json_t *ove, *pre;
    if (!expect_object(c, v) || !check_keys(c, v, kl) ||
        !member_int(c, v, "validity_years", 1, 100, &lc->validity_years) ||
        !member_int(c, v, "publicity_days", 0, 3650, &lc->publicity_days) ||
        !member_int(c, v, "review_window_days", 0, 36500,
                    &lc->review_window_days) ||
        !member_int(c, v, "ban_years", 0, 100, &lc->ban_years))
        return false;
    if (lc->review_window_days >= lc->validity_years * 365) {
        push_key(c, "review_window_days");
        return fail(c,
                    "%d days would open the review window before the "
                    "designation starts",
                    lc->review_window_days);
    }
    if (!(ove = required(c, v, "on_validity_end"))) return false;
    size_t s = push_key(c, "on_validity_end");
    if (!expect_object(c, ove) || !check_keys(c, ove, kt)) return false;
    for (int t = 0; t < LDR_TIER__COUNT; t++) {
        json_t *e = required(c, ove, kt[t]), *jd, *jr;
        const char *dname, *rname;
        if (!e) return false;
        size_t s2 = push_key(c, kt[t]);
        if (!expect_object(c, e) || !check_keys(c, e, ke) ||
            !(jd = required(c, e, "decision")) ||
            !(jr = required(c, e, "reason")))
            return false;
        size_t s3 = push_key(c, "decision");
        if (!get_string(c, jd, &dname)) return false;
        int d = ldr_decision_type_parse(dname, strlen(dname));
        if (d != LDR_DECISION_REVOKED && d != LDR_DECISION_EXPIRED)
            return fail(
                c, "'%s': the decision at validity end is REVOKED or EXPIRED",
                dname);
        pop(c, s3);
        s3 = push_key(c, "reason");
        if (!get_string(c, jr, &rname)) return false;
        /* POLICY.md pairs them: REVOKED [NO_REVIEW_SUBMITTED], EXPIRED
         * [NOT_RENEWED]. */
        const char *want =
            d == LDR_DECISION_REVOKED ? "NO_REVIEW_SUBMITTED" : "NOT_RENEWED";
        if (strcmp(rname, want) != 0)
            return fail(c, "'%s': %s at validity end carries the reason %s",
                        rname, ldr_decision_type_name((ldr_decision_type_t)d),
                        want);
        pop(c, s3);
        lc->on_validity_end[t] = (ldr_decision_type_t)d;
        lc->validity_end_reason[t] = want; /* static string */
        pop(c, s2);
    }
    pop(c, s);
    if (!(pre = required(c, v, "prerequisite"))) return false;
    s = push_key(c, "prerequisite");
    if (!expect_object(c, pre) || !check_keys(c, pre, kt)) return false;
    for (int t = 0; t < LDR_TIER__COUNT; t++) {
        json_t *e = required(c, pre, kt[t]);
        const char *name;
        if (!e) return false;
        size_t s2 = push_key(c, kt[t]);
        lc->prerequisite[t] = -1;
        if (!json_is_null(e)) {
            if (!get_string(c, e, &name)) return false;
            int p = ldr_tier_parse(name, strlen(name));
            if (p < 0)
                return fail(c, "unknown tier '%s' (or null for none)", name);
            if (p >= t)
                return fail(c, "'%s' is not below %s on the ladder", name,
                            kt[t]);
            lc->prerequisite[t] = p;
        }
        pop(c, s2);
    }
    pop(c, s);
    return true;
}

static bool parse_applies_from(struct ctx *c, const json_t *v) {
    static const char *const ka[] = {"application", "review", NULL};
    if (!expect_object(c, v) || !check_keys(c, v, ka)) return false;
    for (int m = 0; m < LDR_EVAL__COUNT; m++) {
        json_t *e = required(c, v, ka[m]);
        const char *text;
        char err[200];
        if (!e) return false;
        size_t s = push_key(c, ka[m]);
        if (!json_is_null(e)) {
            if (!get_string(c, e, &text)) return false;
            if (ldr_time_parse_rfc3339(text, strlen(text), &c->p->from_ms[m],
                                       err, sizeof err) != LDR_OK)
                return fail(c, "%s", err);
            c->p->has_from[m] = true;
        }
        pop(c, s);
    }
    return true;
}

/* ---- one file ------------------------------------------------------------ */

static const char *base_name(const char *path) {
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static bool parse_root(struct ctx *c, const json_t *root) {
    static const char *const kr[] = {
        "format",    "version", "description", "applies_from",
        "lifecycle", "tiers",   NULL};
    static const char *const kt[] = {"INNOVATIVE", "SPECIALIZED",
                                     "LITTLE_GIANT", NULL};
    int format;
    json_t *jv, *jf, *jl, *jt, *jd;
    const char *version;
    if (!expect_object(c, root) || !check_keys(c, root, kr) ||
        !member_int(c, root, "format", INT_MIN, INT_MAX, &format))
        return false;
    if (format != FORMAT_VERSION) {
        push_key(c, "format");
        return fail(c,
                    "format %d is not supported (this build reads format %d)",
                    format, FORMAT_VERSION);
    }
    if (!(jv = required(c, root, "version"))) return false;
    size_t s = push_key(c, "version");
    if (!get_string(c, jv, &version)) return false;
    if (!valid_version(version))
        return fail(c,
                    "'%s' is not a valid version name (lower case, digits, "
                    "'-', '_', '.')",
                    version);
    /* The file name is the version, so that `show VERSION` and a decision's
     * policy_version lead straight to the file. */
    const char *base = base_name(c->file);
    size_t vlen = strlen(version);
    if (strncmp(base, version, vlen) != 0 || strcmp(base + vlen, ".json") != 0)
        return fail(c, "'%s' does not match the file name (expected %s.json)",
                    version, version);
    pop(c, s);
    c->p->version = ldr_policy__strdup(c->p, version);
    if ((jd = json_object_get(root, "description"))) {
        const char *d;
        s = push_key(c, "description");
        if (!get_string(c, jd, &d)) return false;
        pop(c, s);
        c->p->description = ldr_policy__strdup(c->p, d);
    }
    if (!(jf = required(c, root, "applies_from"))) return false;
    s = push_key(c, "applies_from");
    if (!parse_applies_from(c, jf)) return false;
    pop(c, s);
    if (!(jl = required(c, root, "lifecycle"))) return false;
    s = push_key(c, "lifecycle");
    if (!parse_lifecycle(c, jl)) return false;
    pop(c, s);
    if (!(jt = required(c, root, "tiers"))) return false;
    s = push_key(c, "tiers");
    if (!expect_object(c, jt) || !check_keys(c, jt, kt)) return false;
    for (int t = 0; t < LDR_TIER__COUNT; t++) {
        json_t *e = required(c, jt, kt[t]);
        if (!e) return false;
        size_t s2 = push_key(c, kt[t]);
        if (!parse_tier(c, e, t)) return false;
        pop(c, s2);
    }
    pop(c, s);
    return true;
}

ldr_err_t ldr_policy_parse(const char *name, const char *text, size_t len,
                           ldr_policy_t **policyp, char *errstr,
                           size_t errstr_size) {
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return ldr_err_set(errstr, errstr_size, LDR_ERR_POLICY,
                           "%s: line %d column %d: %s", name, jerr.line,
                           jerr.column, jerr.text);
    ldr_policy_t *p = ldr_calloc(1, sizeof *p);
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.file = name;
    c.path[0] = '$';
    c.path[1] = '\0';
    c.plen = 1;
    c.errstr = errstr;
    c.errstr_size = errstr_size;
    c.p = p;
    bool ok = parse_root(&c, root);
    json_decref(root);
    if (!ok) {
        ldr_policy_destroy(p);
        return LDR_ERR_POLICY;
    }
    p->path = ldr_policy__strdup(p, name);
    *policyp = p;
    return LDR_OK;
}

/* ---- sets ------------------------------------------------------------------
 */

static const char *const tier_keys[LDR_TIER__COUNT] = {
    "INNOVATIVE", "SPECIALIZED", "LITTLE_GIANT"};

static ldr_policy_t *set_find(ldr_policies_t *set, const char *version) {
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->v[i]->version, version) == 0) return set->v[i];
    return NULL;
}

/* Cross-file checks: names unique, same_as resolvable without cycles,
 * exactly one version at every instant for each mode. */
static bool validate_set(ldr_policies_t *set, char *errstr,
                         size_t errstr_size) {
    for (size_t i = 0; i < set->n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(set->v[i]->version, set->v[j]->version) == 0) {
                ldr_err_set(errstr, errstr_size, LDR_ERR_POLICY,
                            "%s: $.version: '%s' is also the version of %s",
                            set->v[i]->path, set->v[i]->version,
                            set->v[j]->path);
                return false;
            }
    for (size_t i = 0; i < set->n; i++) {
        ldr_policy_t *p = set->v[i];
        for (int t = 0; t < LDR_TIER__COUNT; t++) {
            const ldr_policy_t *q = p;
            size_t steps = 0;
            /* Follow the chain to a version that has its own rules. */
            while (q->same_as[t]) {
                const ldr_policy_t *next = set_find(set, q->same_as[t]);
                if (!next) {
                    ldr_err_set(errstr, errstr_size, LDR_ERR_POLICY,
                                "%s: $.tiers.%s.same_as: no version '%s' among "
                                "the loaded "
                                "policy files",
                                q->path, tier_keys[t], q->same_as[t]);
                    return false;
                }
                if (++steps > set->n) {
                    ldr_err_set(errstr, errstr_size, LDR_ERR_POLICY,
                                "%s: $.tiers.%s.same_as: the same_as "
                                "references form a cycle",
                                p->path, tier_keys[t]);
                    return false;
                }
                q = next;
            }
            p->tier[t] = &q->own[t];
        }
    }
    for (int m = 0; m < LDR_EVAL__COUNT; m++) {
        const ldr_policy_t *open = NULL;
        for (size_t i = 0; i < set->n; i++) {
            const ldr_policy_t *p = set->v[i];
            if (!p->has_from[m]) {
                if (open) {
                    ldr_err_set(
                        errstr, errstr_size, LDR_ERR_POLICY,
                        "%s: $.applies_from.%s: null (from the beginning) here "
                        "and in "
                        "%s: only the earliest version may have no start",
                        p->path, ldr_eval_mode_name((ldr_eval_mode_t)m),
                        open->path);
                    return false;
                }
                open = p;
                continue;
            }
            for (size_t j = 0; j < i; j++)
                if (set->v[j]->has_from[m] &&
                    set->v[j]->from_ms[m] == p->from_ms[m]) {
                    ldr_err_set(errstr, errstr_size, LDR_ERR_POLICY,
                                "%s: $.applies_from.%s: %s also starts then: "
                                "two versions "
                                "cannot start at the same instant",
                                p->path, ldr_eval_mode_name((ldr_eval_mode_t)m),
                                set->v[j]->path);
                    return false;
                }
        }
        if (!open) {
            ldr_err_set(errstr, errstr_size, LDR_ERR_POLICY,
                        "%s: no policy version applies to %ss before the "
                        "earliest start: give "
                        "the earliest version \"applies_from\": {\"%s\": null}",
                        set->n ? set->v[0]->path : "(no files)",
                        ldr_eval_mode_name((ldr_eval_mode_t)m),
                        ldr_eval_mode_name((ldr_eval_mode_t)m));
            return false;
        }
    }
    return true;
}

ldr_policies_t *ldr_policies_new(ldr_policy_t **v, size_t n, char *errstr,
                                 size_t errstr_size) {
    ldr_policies_t *set = ldr_calloc(1, sizeof *set);
    set->v = ldr_calloc(n ? n : 1, sizeof *set->v);
    for (size_t i = 0; i < n; i++) {
        set->v[set->n++] = v[i];
        v[i] = NULL;
    }
    if (n == 0) {
        ldr_err_set(errstr, errstr_size, LDR_ERR_POLICY,
                    "no policy files given");
        goto fail;
    }
    if (!validate_set(set, errstr, errstr_size)) goto fail;
    return set;
fail:
    ldr_policies_destroy(set);
    return NULL;
}
