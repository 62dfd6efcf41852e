/* codec.c -- Avro bytes <-> ladder records. See codec.h for the design.
 *
 * DESIGN: each writer schema is compiled once into a plan against the
 * reader's record (codec.h), so decoding a message walks the plan instead of
 * resolving schemas per message, and encoding writes the binary form
 * directly. Avro-C's allocator is replaced by one that refuses absurd sizes,
 * because a corrupt length in a message must fail the decode, not exhaust
 * the worker's memory. */
#include "ladder/codec.h"

#include "ladder/alloc.h"
#include "ladder/buf.h"
#include "schema_int.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Avro-C allocator guard ------------------------------------------- */

/* Nothing ladder hands to Avro-C needs more than a few MiB; a request
 * beyond this is a corrupt length that reached malloc, and is refused so
 * Avro-C fails cleanly instead of the process exhausting memory. */
#define LDR_AVRO_ALLOC_MAX (16u * 1024 * 1024)

static atomic_uint_fast64_t ldr_avro_allocations;
static atomic_uint_fast64_t ldr_avro_refused;
static pthread_once_t ldr_avro_alloc_once = PTHREAD_ONCE_INIT;

static void *codec_avro_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (nsize > LDR_AVRO_ALLOC_MAX) {
        atomic_fetch_add(&ldr_avro_refused, 1);
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p) atomic_fetch_add(&ldr_avro_allocations, 1);
    return p;
}

static void codec_avro_alloc_install(void) {
    avro_set_allocator(codec_avro_alloc, NULL);
}

void ldr_codec_alloc_stats(ldr_codec_alloc_stats_t *out) {
    out->allocations = atomic_load(&ldr_avro_allocations);
    out->refused = atomic_load(&ldr_avro_refused);
}

/* ---- The reader side: ladder's C records as field tables -------------- */

typedef enum ldr_fkind {
    F_STRING,
    F_OPT_STRING,
    F_INT,
    F_OPT_INT,
    F_LONG,
    F_OPT_LONG,
    F_DOUBLE,
    F_BOOL,
    F_ENUM,
    F_OPT_ENUM,
    F_ENUM_SET,    /* array of enum symbols -> uint32_t bit set */
    F_STRING_LIST, /* array of strings -> ldr_str_t[], count at aux_off */
    F_RECORD,
} ldr_fkind_t;

typedef struct ldr_renum {
    const char *name; /* the Avro enum's short name */
    int count;
    const char *(*symbol)(int v);
    int (*parse)(const char *s, size_t len);
} ldr_renum_t;

typedef struct ldr_rrec ldr_rrec_t;

typedef struct ldr_rfield {
    const char *name;
    ldr_fkind_t kind;
    size_t off;     /* of the value, from the start of the record struct */
    size_t aux_off; /* F_OPT_*: the bool has_ flag; F_STRING_LIST: count */
    const ldr_renum_t *en;
    const ldr_rrec_t *rec;
} ldr_rfield_t;

struct ldr_rrec {
    const char *name; /* short name */
    const ldr_rfield_t *fields;
    size_t count;
};

_Static_assert(sizeof(ldr_tier_t) == sizeof(int), "enums are int-sized");

#define LDR_ENUM_DESC(var, avro_name, fn, count)                               \
    static const char *var##_sym(int v) {                                      \
        return ldr_##fn##_name(v);                                             \
    }                                                                          \
    static const ldr_renum_t var = {avro_name, count, var##_sym,               \
                                    ldr_##fn##_parse};

LDR_ENUM_DESC(ldr_e_tier, "Tier", tier, LDR_TIER__COUNT)
LDR_ENUM_DESC(ldr_e_rd, "RdInstitution", rd_institution, LDR_RD__COUNT)
LDR_ENUM_DESC(ldr_e_honour, "Honour", honour, LDR_HONOUR__COUNT)
LDR_ENUM_DESC(ldr_e_kind, "ViolationKind", violation_kind, LDR_VIOLATION__COUNT)
LDR_ENUM_DESC(ldr_e_status, "CaseStatus", case_status, LDR_CASE__COUNT)
LDR_ENUM_DESC(ldr_e_decision, "DecisionType", decision_type,
              LDR_DECISION__COUNT)

#define FLD(T, f, k)                                                           \
    { #f, k, offsetof(T, f), 0, NULL, NULL }
#define OPT(T, f, k, has)                                                      \
    { #f, k, offsetof(T, f), offsetof(T, has), NULL, NULL }
#define ENM(T, f, k, e)                                                        \
    { #f, k, offsetof(T, f), 0, &e, NULL }
#define OPTENM(T, f, k, e, has)                                                \
    { #f, k, offsetof(T, f), offsetof(T, has), &e, NULL }

#define I ldr_indicators_t
static const ldr_rfield_t ldr_indicators_fields[] = {
    FLD(I, years_in_niche, F_INT),
    FLD(I, revenue, F_LONG),
    FLD(I, revenue_prev, F_LONG),
    FLD(I, main_revenue, F_LONG),
    FLD(I, main_revenue_prev, F_LONG),
    FLD(I, main_revenue_prev2, F_LONG),
    FLD(I, net_profit, F_LONG),
    FLD(I, rd_expense, F_LONG),
    FLD(I, rd_expense_prev, F_LONG),
    FLD(I, employees, F_INT),
    FLD(I, rd_staff, F_INT),
    FLD(I, asset_liability_pct, F_DOUBLE),
    FLD(I, equity_financing_2y, F_LONG),
    FLD(I, equity_financing_3y, F_LONG),
    FLD(I, niche_market_share_pct, F_DOUBLE),
    FLD(I, niche_market_rank, F_INT),
    FLD(I, ip_class1, F_INT),
    FLD(I, ip_class1_high_value, F_INT),
    FLD(I, ip_class1_self_developed, F_INT),
    FLD(I, ip_class2, F_INT),
    ENM(I, rd_institution, F_ENUM, ldr_e_rd),
    FLD(I, digitalization_level, F_INT),
    FLD(I, quality_items, F_INT),
    FLD(I, own_brand, F_BOOL),
    FLD(I, mgmt_certification, F_BOOL),
    FLD(I, core_business_on_info_system, F_BOOL),
    FLD(I, strategic_emerging_field, F_BOOL),
    FLD(I, field_gap_filling, F_BOOL),
    FLD(I, field_six_foundations, F_BOOL),
    FLD(I, key_chain_link, F_BOOL),
    ENM(I, honours, F_ENUM_SET, ldr_e_honour),
    FLD(I, local_score, F_INT),
    OPT(I, development_score, F_OPT_INT, has_development_score),
};
#undef I
static const ldr_rrec_t ldr_r_indicators = {
    "Indicators", ldr_indicators_fields, LDR_ARRAY_SIZE(ldr_indicators_fields)};

#define REC(T, f)                                                              \
    { #f, F_RECORD, offsetof(T, f), 0, NULL, &ldr_r_indicators }

#define A ldr_application_t
static const ldr_rfield_t ldr_application_fields[] = {
    FLD(A, event_id, F_STRING),        FLD(A, uscc, F_STRING),
    FLD(A, enterprise_name, F_STRING), FLD(A, reporting_unit, F_STRING),
    ENM(A, tier, F_ENUM, ldr_e_tier),  FLD(A, batch, F_INT),
    FLD(A, occurred_at, F_LONG),       REC(A, indicators),
};
#undef A
#define R ldr_review_t
static const ldr_rfield_t ldr_review_fields[] = {
    FLD(R, event_id, F_STRING),
    FLD(R, uscc, F_STRING),
    FLD(R, enterprise_name, F_STRING),
    FLD(R, reporting_unit, F_STRING),
    ENM(R, tier, F_ENUM, ldr_e_tier),
    FLD(R, occurred_at, F_LONG),
    REC(R, indicators),
};
#undef R
#define V ldr_violation_t
static const ldr_rfield_t ldr_violation_fields[] = {
    FLD(V, event_id, F_STRING),
    FLD(V, uscc, F_STRING),
    FLD(V, reporting_unit, F_STRING),
    FLD(V, case_id, F_STRING),
    ENM(V, kind, F_ENUM, ldr_e_kind),
    ENM(V, status, F_ENUM, ldr_e_status),
    FLD(V, occurred_at, F_LONG),
    OPT(V, details, F_OPT_STRING, has_details),
};
#undef V
#define T ldr_clock_tick_t
static const ldr_rfield_t ldr_tick_fields[] = {
    FLD(T, tick_at, F_LONG),
    FLD(T, source, F_STRING),
};
#undef T
#define D ldr_decision_t
static const ldr_rfield_t ldr_decision_fields[] = {
    FLD(D, decision_id, F_STRING),
    FLD(D, uscc, F_STRING),
    FLD(D, enterprise_name, F_STRING),
    FLD(D, reporting_unit, F_STRING),
    OPTENM(D, tier, F_OPT_ENUM, ldr_e_tier, has_tier),
    ENM(D, decision, F_ENUM, ldr_e_decision),
    {"reasons", F_STRING_LIST, offsetof(D, reasons), offsetof(D, reasons_count),
     NULL, NULL},
    FLD(D, effective_at, F_LONG),
    OPT(D, valid_from, F_OPT_LONG, has_valid_from),
    OPT(D, valid_until, F_OPT_LONG, has_valid_until),
    OPT(D, review_deadline, F_OPT_LONG, has_review_deadline),
    OPT(D, ban_until, F_OPT_LONG, has_ban_until),
    OPT(D, case_id, F_OPT_STRING, has_case_id),
    OPT(D, batch, F_OPT_INT, has_batch),
    OPT(D, score, F_OPT_INT, has_score),
    FLD(D, policy_version, F_STRING),
    OPT(D, cause_event_id, F_OPT_STRING, has_cause_event_id),
    FLD(D, cause, F_STRING),
    FLD(D, decided_at, F_LONG),
};
#undef D

#define RREC(var, name, fields)                                                \
    static const ldr_rrec_t var = {name, fields, LDR_ARRAY_SIZE(fields)};
RREC(ldr_r_application, "ApplicationSubmitted", ldr_application_fields)
RREC(ldr_r_review, "ReviewSubmitted", ldr_review_fields)
RREC(ldr_r_violation, "ViolationReported", ldr_violation_fields)
RREC(ldr_r_tick, "ClockTick", ldr_tick_fields)
RREC(ldr_r_decision, "DesignationDecision", ldr_decision_fields)

static const ldr_rrec_t *codec_rrec_of(ldr_record_kind_t kind) {
    switch (kind) {
    case LDR_RECORD_APPLICATION: return &ldr_r_application;
    case LDR_RECORD_REVIEW: return &ldr_r_review;
    case LDR_RECORD_VIOLATION: return &ldr_r_violation;
    case LDR_RECORD_CLOCK_TICK: return &ldr_r_tick;
    case LDR_RECORD_DECISION: return &ldr_r_decision;
    }
    return NULL;
}

static int codec_fkind_optional(ldr_fkind_t k) {
    return k == F_OPT_STRING || k == F_OPT_INT || k == F_OPT_LONG ||
           k == F_OPT_ENUM;
}

/* ---- Writer plans ------------------------------------------------------ */

typedef struct ldr_wnode ldr_wnode_t;

typedef struct ldr_wfield {
    const char *name; /* the writer's field name, for error messages */
    ldr_wnode_t *node;
    const ldr_rfield_t *target; /* NULL: the reader has no such field */
} ldr_wfield_t;

typedef struct ldr_wdefault {
    const ldr_rfield_t *target;
    json_t *value; /* borrowed from the reader schema's JSON */
} ldr_wdefault_t;

struct ldr_wnode {
    avro_type_t type;
    int compatible; /* may this node's value be stored into its target? */
    int64_t fixed_size;
    int nsym;
    int *symmap; /* writer symbol index -> reader enum value, or -1 */
    ldr_wnode_t *items;
    int nbranch;
    ldr_wnode_t **branches;
    int nfields;
    ldr_wfield_t *fields;
    int ndefaults;
    ldr_wdefault_t *defaults;
    int min_size; /* fewest bytes one value of this type takes */
};

typedef struct ldr_plan {
    int compiled;
    ldr_err_t err; /* a writer schema that cannot be resolved */
    char why[256];
    ldr_wnode_t *root;
    const ldr_rrec_t *rrec;
} ldr_plan_t;

struct ldr_codec {
    ldr_schemas_t *schemas;
    ldr_plan_t *plans; /* indexed by ldr_schema_t.index */
    size_t nplans;
    ldr_buf_t out;
};

static void codec_wnode_free(ldr_wnode_t *n) {
    if (!n) return;
    free(n->symmap);
    codec_wnode_free(n->items);
    for (int i = 0; i < n->nbranch; i++)
        codec_wnode_free(n->branches[i]);
    free(n->branches);
    for (int i = 0; i < n->nfields; i++)
        codec_wnode_free(n->fields[i].node);
    free(n->fields);
    free(n->defaults);
    free(n);
}

typedef struct codec_compile {
    char *why;
    size_t why_size;
    int depth;
} ldr_compile_t;

static ldr_err_t codec_compile_fail(ldr_compile_t *cc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static ldr_err_t codec_compile_fail(ldr_compile_t *cc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cc->why, cc->why_size, fmt, ap);
    va_end(ap);
    return LDR_ERR_DECODE_FAILED;
}

static avro_schema_t codec_deref(avro_schema_t s) {
    while (s && avro_typeof(s) == AVRO_LINK)
        s = avro_schema_link_target(s);
    return s;
}

/* The JSON object of a field named @p name inside record JSON @p rjson. */
static json_t *codec_json_field(json_t *rjson, const char *name) {
    json_t *fields = json_object_get(rjson, "fields");
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) {
        const char *n = json_string_value(json_object_get(f, "name"));
        if (n && strcmp(n, name) == 0) return f;
    }
    return NULL;
}

static ldr_err_t codec_compile(ldr_compile_t *cc, avro_schema_t ws,
                               const ldr_rfield_t *target,
                               const ldr_rrec_t *rrec, json_t *rjson,
                               ldr_wnode_t **out);

/* Records: map writer fields to reader fields by name; reader fields the
 * writer lacks take the reader's default. */
static ldr_err_t codec_compile_record(ldr_compile_t *cc, avro_schema_t ws,
                                      const ldr_rrec_t *rrec, json_t *rjson,
                                      ldr_wnode_t *n) {
    size_t count = avro_schema_record_size(ws);
    n->nfields = (int)count;
    n->fields = ldr_calloc(count ? count : 1, sizeof(*n->fields));
    unsigned char *seen = ldr_calloc(rrec ? rrec->count + 1 : 1, 1);
    ldr_err_t err = LDR_OK;
    for (size_t i = 0; i < count && !err; i++) {
        const char *fname = avro_schema_record_field_name(ws, (int)i);
        avro_schema_t fs = avro_schema_record_field_get_by_index(ws, (int)i);
        const ldr_rfield_t *t = NULL;
        for (size_t j = 0; rrec && j < rrec->count; j++)
            if (strcmp(rrec->fields[j].name, fname) == 0) {
                t = &rrec->fields[j];
                seen[j] = 1;
            }
        n->fields[i].name = fname;
        json_t *sub = NULL;
        if (t && t->kind == F_RECORD)
            sub = json_object_get(codec_json_field(rjson, t->name), "type");
        err = codec_compile(cc, fs, t, t ? t->rec : NULL, sub,
                            &n->fields[i].node);
        if (!err && t && !n->fields[i].node->compatible)
            err = codec_compile_fail(
                cc,
                "field %s: writer type %s cannot be "
                "read as ladder's %s",
                fname, avro_schema_type_name(codec_deref(fs)), t->name);
        n->fields[i].target = t;
    }
    for (size_t j = 0; rrec && j < rrec->count && !err; j++) {
        if (seen[j]) continue;
        json_t *jf = codec_json_field(rjson, rrec->fields[j].name);
        json_t *def = jf ? json_object_get(jf, "default") : NULL;
        if (!def)
            err = codec_compile_fail(cc,
                                     "the writer has no field %s and the "
                                     "reader schema gives it no default",
                                     rrec->fields[j].name);
        else {
            n->defaults = ldr_realloc(n->defaults, (size_t)(n->ndefaults + 1) *
                                                       sizeof(*n->defaults));
            n->defaults[n->ndefaults].target = &rrec->fields[j];
            n->defaults[n->ndefaults].value = def;
            n->ndefaults++;
        }
    }
    free(seen);
    return err;
}

static int codec_scalar_compatible(avro_type_t wt, ldr_fkind_t k) {
    switch (k) {
    case F_STRING:
    case F_OPT_STRING: return wt == AVRO_STRING || wt == AVRO_BYTES;
    case F_INT:
    case F_OPT_INT: return wt == AVRO_INT32;
    case F_LONG:
    case F_OPT_LONG: return wt == AVRO_INT32 || wt == AVRO_INT64;
    case F_DOUBLE:
        return wt == AVRO_INT32 || wt == AVRO_INT64 || wt == AVRO_FLOAT ||
               wt == AVRO_DOUBLE;
    case F_BOOL: return wt == AVRO_BOOLEAN;
    default: return 0;
    }
}

/* Enums: map each writer symbol to ladder's value, -1 for one ladder lacks
 * (an error only when a message carries it). */
static void codec_compile_enum(avro_schema_t ws, const ldr_rfield_t *target,
                               ldr_wnode_t *n) {
    ldr_fkind_t k = target ? target->kind : F_STRING;
    n->min_size = 1;
    n->nsym = avro_schema_enum_number_of_symbols(ws);
    const ldr_renum_t *en = target ? target->en : NULL;
    int want = target && (k == F_ENUM || k == F_OPT_ENUM || k == F_ENUM_SET);
    n->compatible =
        !target ||
        (want && en && strcmp(avro_schema_type_name(ws), en->name) == 0);
    if (n->compatible && en) {
        n->symmap = ldr_calloc((size_t)(n->nsym ? n->nsym : 1), sizeof(int));
        for (int i = 0; i < n->nsym; i++) {
            const char *sym = avro_schema_enum_get(ws, i);
            n->symmap[i] = sym ? en->parse(sym, strlen(sym)) : -1;
        }
    }
}

static ldr_err_t codec_compile_array(ldr_compile_t *cc, avro_schema_t ws,
                                     const ldr_rfield_t *target,
                                     ldr_wnode_t *n) {
    ldr_fkind_t k = target ? target->kind : F_STRING;
    ldr_err_t err = LDR_OK;
    n->min_size = 1;
    avro_schema_t items = avro_schema_array_items(ws);
    if (!target) {
        err = codec_compile(cc, items, NULL, NULL, NULL, &n->items);
        n->compatible = 1;
    } else if (k == F_ENUM_SET || k == F_STRING_LIST) {
        /* Enum items need the symbol map of the set's enum; string
         * items are stored by the array walk itself. */
        err = codec_compile(cc, items, k == F_ENUM_SET ? target : NULL, NULL,
                            NULL, &n->items);
        avro_type_t it = n->items ? n->items->type : AVRO_NULL;
        n->compatible = !err && n->items->compatible &&
                        (k == F_ENUM_SET ? it == AVRO_ENUM : it == AVRO_STRING);
    }
    return err;
}

/* Unions: every branch is compiled against the same target; the union may
 * be stored if any branch may (the walk checks the branch it meets). */
static ldr_err_t codec_compile_union(ldr_compile_t *cc, avro_schema_t ws,
                                     const ldr_rfield_t *target,
                                     const ldr_rrec_t *rrec, json_t *rjson,
                                     ldr_wnode_t *n) {
    ldr_err_t err = LDR_OK;
    n->min_size = 1;
    n->nbranch = (int)avro_schema_union_size(ws);
    n->branches =
        ldr_calloc((size_t)(n->nbranch ? n->nbranch : 1), sizeof(*n->branches));
    for (int i = 0; i < n->nbranch && !err; i++) {
        err = codec_compile(cc, avro_schema_union_branch(ws, i), target, rrec,
                            rjson, &n->branches[i]);
        if (!err && n->branches[i]->compatible) n->compatible = 1;
    }
    return err;
}

static ldr_err_t codec_compile(ldr_compile_t *cc, avro_schema_t ws,
                               const ldr_rfield_t *target,
                               const ldr_rrec_t *rrec, json_t *rjson,
                               ldr_wnode_t **out) {
    ws = codec_deref(ws);
    if (!ws) return codec_compile_fail(cc, "unresolved named type");
    if (++cc->depth > 32) {
        cc->depth--;
        return codec_compile_fail(cc, "schema nests deeper than 32 levels "
                                      "(recursive types are not supported)");
    }
    ldr_wnode_t *n = ldr_calloc(1, sizeof(*n));
    *out = n;
    n->type = avro_typeof(ws);
    ldr_err_t err = LDR_OK;
    ldr_fkind_t k = target ? target->kind : F_STRING;
    switch (n->type) {
    case AVRO_STRING:
    case AVRO_BYTES:
    case AVRO_INT32:
    case AVRO_INT64:
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
    case AVRO_BOOLEAN:
        n->min_size = n->type == AVRO_FLOAT    ? 4
                      : n->type == AVRO_DOUBLE ? 8
                                               : 1;
        n->compatible = !target || codec_scalar_compatible(n->type, k);
        break;
    case AVRO_NULL: n->compatible = !target || codec_fkind_optional(k); break;
    case AVRO_FIXED:
        n->fixed_size = avro_schema_fixed_size(ws);
        n->min_size = (int)(n->fixed_size > 1024 ? 1024 : n->fixed_size);
        n->compatible = !target;
        break;
    case AVRO_ENUM: codec_compile_enum(ws, target, n); break;
    case AVRO_ARRAY: err = codec_compile_array(cc, ws, target, n); break;
    case AVRO_MAP:
        n->min_size = 1;
        err = codec_compile(cc, avro_schema_map_values(ws), NULL, NULL, NULL,
                            &n->items);
        n->compatible = !target;
        break;
    case AVRO_UNION:
        err = codec_compile_union(cc, ws, target, rrec, rjson, n);
        break;
    case AVRO_RECORD:
        if (target && (k != F_RECORD || !rrec ||
                       strcmp(avro_schema_type_name(ws), rrec->name) != 0)) {
            n->compatible = 0;
            break;
        }
        n->compatible = 1;
        err = codec_compile_record(cc, ws, target ? rrec : NULL, rjson, n);
        for (int i = 0; i < n->nfields; i++)
            if (n->fields[i].node) n->min_size += n->fields[i].node->min_size;
        break;
    default:
        err = codec_compile_fail(cc, "unsupported Avro type %d", (int)n->type);
    }
    /* Item loops over zero-sized types are bounded elsewhere. */
    if (n->min_size > 1024) n->min_size = 1024;
    cc->depth--;
    return err;
}

/* Strict identity of the current schema and ladder's C record: same field
 * names in the same order and exactly the expected Avro types. */
static int codec_exact(const ldr_wnode_t *n, const ldr_rfield_t *t,
                       const ldr_rrec_t *rrec);

static int codec_exact_scalar(const ldr_wnode_t *n, ldr_fkind_t k) {
    switch (k) {
    case F_STRING:
    case F_OPT_STRING: return n->type == AVRO_STRING;
    case F_INT:
    case F_OPT_INT: return n->type == AVRO_INT32;
    case F_LONG:
    case F_OPT_LONG: return n->type == AVRO_INT64;
    case F_DOUBLE: return n->type == AVRO_DOUBLE;
    case F_BOOL: return n->type == AVRO_BOOLEAN;
    case F_ENUM:
    case F_OPT_ENUM: return n->type == AVRO_ENUM && n->compatible;
    default: return 0;
    }
}

static int codec_exact(const ldr_wnode_t *n, const ldr_rfield_t *t,
                       const ldr_rrec_t *rrec) {
    if (!t || t->kind == F_RECORD) {
        if (n->type != AVRO_RECORD || n->ndefaults ||
            (size_t)n->nfields != rrec->count)
            return 0;
        for (int i = 0; i < n->nfields; i++)
            if (n->fields[i].target != &rrec->fields[i] ||
                !codec_exact(n->fields[i].node, n->fields[i].target,
                             n->fields[i].target->rec))
                return 0;
        return 1;
    }
    if (codec_fkind_optional(t->kind))
        return n->type == AVRO_UNION && n->nbranch == 2 &&
               n->branches[0]->type == AVRO_NULL &&
               codec_exact_scalar(n->branches[1], t->kind);
    if (t->kind == F_ENUM_SET)
        return n->type == AVRO_ARRAY && n->items->type == AVRO_ENUM &&
               n->items->compatible;
    if (t->kind == F_STRING_LIST)
        return n->type == AVRO_ARRAY && n->items->type == AVRO_STRING;
    if (t->kind == F_ENUM) {
        if (!codec_exact_scalar(n, t->kind) || n->nsym != t->en->count)
            return 0;
        for (int i = 0; i < n->nsym; i++)
            if (n->symmap[i] != i) return 0;
        return 1;
    }
    return codec_exact_scalar(n, t->kind);
}

static ldr_plan_t *codec_plan(ldr_codec_t *c, const ldr_schema_t *s) {
    if (s->index >= c->nplans) {
        size_t n = s->index + 8;
        c->plans = ldr_realloc(c->plans, n * sizeof(*c->plans));
        memset(c->plans + c->nplans, 0, (n - c->nplans) * sizeof(*c->plans));
        c->nplans = n;
    }
    ldr_plan_t *p = &c->plans[s->index];
    if (p->compiled) return p;
    p->compiled = 1;
    p->rrec = codec_rrec_of(s->kind);
    if (!p->rrec) {
        p->err = LDR_ERR_UNKNOWN_SCHEMA;
        snprintf(p->why, sizeof(p->why),
                 "schema id %d is %s, which is not a ladder record", (int)s->id,
                 s->fullname);
        return p;
    }
    const ldr_schema_t *reader = ldr_schemas_current(c->schemas, s->kind);
    ldr_compile_t cc = {p->why, sizeof(p->why), 0};
    ldr_err_t err =
        codec_compile(&cc, s->avro, NULL, p->rrec, reader->json, &p->root);
    if (!err && p->root->type != AVRO_RECORD)
        err = codec_compile_fail(&cc, "the writer schema is not a record");
    if (!err) {
        /* The top level was compiled as "skip"; compile it as the record. */
        codec_wnode_free(p->root);
        p->root = ldr_calloc(1, sizeof(*p->root));
        p->root->type = AVRO_RECORD;
        p->root->compatible = 1;
        err =
            codec_compile_record(&cc, s->avro, p->rrec, reader->json, p->root);
    }
    if (err) {
        p->err = LDR_ERR_DECODE_FAILED;
        char tmp[256];
        snprintf(tmp, sizeof(tmp), "%s", p->why);
        /* The return value is checked so that a long schema origin may
         * truncate the message without a warning. */
        if (snprintf(p->why, sizeof(p->why),
                     "schema id %d (%s) cannot be "
                     "read as %s: %s",
                     (int)s->id, s->origin, s->fullname, tmp) < 0)
            p->why[0] = '\0';
    }
    return p;
}

/* ---- The decoding walk --------------------------------------------------- */

typedef struct ldr_cursor {
    const uint8_t *start;
    const uint8_t *p;
    const uint8_t *end;
    size_t items; /* array and map items seen, against looping on nulls */
    const char *field;
    char *errstr;
    size_t errstr_size;
} ldr_cursor_t;

static ldr_err_t codec_bad(ldr_cursor_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static ldr_err_t codec_bad(ldr_cursor_t *c, const char *fmt, ...) {
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return ldr_err_set(c->errstr, c->errstr_size, LDR_ERR_DECODE_FAILED,
                       "Avro body, byte %zu, field %s: %s",
                       (size_t)(c->p - c->start), c->field ? c->field : "-",
                       what);
}

static ldr_err_t codec_read_long(ldr_cursor_t *c, int64_t *out) {
    uint64_t u = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (c->p >= c->end) return codec_bad(c, "truncated varint");
        uint8_t b = *c->p++;
        if (shift == 63 && (b & 0x7e))
            return codec_bad(c, "varint overflows 64 bits");
        u |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)((u >> 1) ^ (0 - (u & 1)));
            return LDR_OK;
        }
    }
    return codec_bad(c, "varint longer than 10 bytes");
}

static ldr_err_t codec_read_int(ldr_cursor_t *c, int32_t *out) {
    int64_t v;
    ldr_err_t err = codec_read_long(c, &v);
    if (err) return err;
    if (v < INT32_MIN || v > INT32_MAX)
        return codec_bad(c, "int value %lld out of range", (long long)v);
    *out = (int32_t)v;
    return LDR_OK;
}

static ldr_err_t codec_read_bytes(ldr_cursor_t *c, ldr_str_t *out) {
    int64_t len;
    ldr_err_t err = codec_read_long(c, &len);
    if (err) return err;
    if (len < 0) return codec_bad(c, "negative length %lld", (long long)len);
    if ((uint64_t)len > (uint64_t)(c->end - c->p))
        return codec_bad(c, "length %lld exceeds the %zu bytes left",
                         (long long)len, (size_t)(c->end - c->p));
    out->ptr = (const char *)c->p;
    out->len = (size_t)len;
    c->p += len;
    return LDR_OK;
}

static ldr_err_t codec_need(ldr_cursor_t *c, size_t n) {
    if ((size_t)(c->end - c->p) < n)
        return codec_bad(c, "truncated: %zu bytes needed, %zu left", n,
                         (size_t)(c->end - c->p));
    return LDR_OK;
}

#define AT(base, off, type) ((type *)((char *)(base) + (off)))

static void codec_set_has(void *base, const ldr_rfield_t *t, bool v) {
    if (codec_fkind_optional(t->kind)) *AT(base, t->aux_off, bool) = v;
}

static ldr_err_t codec_walk(ldr_cursor_t *c, const ldr_wnode_t *n,
                            const ldr_rfield_t *t, void *base);

static ldr_err_t codec_walk_record(ldr_cursor_t *c, const ldr_wnode_t *n,
                                   void *base) {
    const char *outer = c->field;
    for (int i = 0; i < n->nfields; i++) {
        c->field = n->fields[i].name;
        ldr_err_t err =
            codec_walk(c, n->fields[i].node, n->fields[i].target, base);
        if (err) return err;
    }
    c->field = outer;
    for (int i = 0; i < n->ndefaults; i++) {
        const ldr_rfield_t *t = n->defaults[i].target;
        json_t *v = n->defaults[i].value;
        if (json_is_null(v)) {
            codec_set_has(base, t, false);
        } else if (json_is_array(v) && json_array_size(v) == 0 &&
                   (t->kind == F_ENUM_SET || t->kind == F_STRING_LIST)) {
            if (t->kind == F_ENUM_SET)
                *AT(base, t->off, uint32_t) = 0;
            else
                *AT(base, t->aux_off, size_t) = 0;
        } else if (json_is_integer(v) &&
                   (t->kind == F_INT || t->kind == F_OPT_INT)) {
            *AT(base, t->off, int32_t) = (int32_t)json_integer_value(v);
            codec_set_has(base, t, true);
        } else if (json_is_integer(v) &&
                   (t->kind == F_LONG || t->kind == F_OPT_LONG)) {
            *AT(base, t->off, int64_t) = json_integer_value(v);
            codec_set_has(base, t, true);
        } else if (json_is_number(v) && t->kind == F_DOUBLE) {
            *AT(base, t->off, double) = json_number_value(v);
        } else if (json_is_boolean(v) && t->kind == F_BOOL) {
            *AT(base, t->off, bool) = json_is_true(v);
        } else if (json_is_string(v) &&
                   (t->kind == F_STRING || t->kind == F_OPT_STRING)) {
            AT(base, t->off, ldr_str_t)->ptr = json_string_value(v);
            AT(base, t->off, ldr_str_t)->len = json_string_length(v);
            codec_set_has(base, t, true);
        } else if (json_is_string(v) &&
                   (t->kind == F_ENUM || t->kind == F_OPT_ENUM)) {
            int e = t->en->parse(json_string_value(v), json_string_length(v));
            if (e < 0)
                return codec_bad(c, "default of %s is not a symbol", t->name);
            *AT(base, t->off, int) = e;
            codec_set_has(base, t, true);
        } else {
            return codec_bad(c, "default of %s is not supported", t->name);
        }
    }
    return LDR_OK;
}

static ldr_err_t codec_walk_items(ldr_cursor_t *c, const ldr_wnode_t *n,
                                  const ldr_rfield_t *t, void *base,
                                  int is_map) {
    for (;;) {
        int64_t count;
        ldr_err_t err = codec_read_long(c, &count);
        if (err) return err;
        if (count == 0) return LDR_OK;
        if (count < 0) {
            int64_t size;
            if (count == INT64_MIN) return codec_bad(c, "absurd block count");
            count = -count;
            if ((err = codec_read_long(c, &size))) return err;
            if (size < 0 || (uint64_t)size > (uint64_t)(c->end - c->p))
                return codec_bad(c, "block size %lld out of bounds",
                                 (long long)size);
        }
        /* Every item takes at least min_size bytes (one for a map key), so
         * a count larger than the bytes left is corrupt; zero-sized items
         * are bounded by the item budget instead. */
        int64_t min = n->items->min_size + (is_map ? 1 : 0);
        if (min > 0 && count > (c->end - c->p) / min)
            return codec_bad(c, "block of %lld items exceeds the bytes left",
                             (long long)count);
        if ((uint64_t)count > LDR_CODEC_MAX_MESSAGE - c->items)
            return codec_bad(c, "more than %d items", LDR_CODEC_MAX_MESSAGE);
        c->items += (size_t)count;
        for (int64_t i = 0; i < count; i++) {
            if (is_map) {
                ldr_str_t key;
                if ((err = codec_read_bytes(c, &key))) return err;
            }
            if (t && t->kind == F_ENUM_SET) {
                int64_t idx = 0;
                if ((err = codec_read_long(c, &idx))) return err;
                if (idx < 0 || idx >= n->items->nsym)
                    return codec_bad(c, "enum index %lld out of range",
                                     (long long)idx);
                int v = n->items->symmap[idx];
                if (v < 0) return codec_bad(c, "enum symbol unknown to ladder");
                *AT(base, t->off, uint32_t) |= 1u << (unsigned)v;
            } else if (t && t->kind == F_STRING_LIST) {
                size_t *cnt = AT(base, t->aux_off, size_t);
                if (*cnt >= LDR_DECISION_REASONS_MAX)
                    return codec_bad(c, "more than %d strings",
                                     LDR_DECISION_REASONS_MAX);
                if ((err = codec_read_bytes(
                         c, &AT(base, t->off, ldr_str_t)[*cnt])))
                    return err;
                (*cnt)++;
            } else if ((err = codec_walk(c, n->items, NULL, NULL))) {
                return err;
            }
        }
    }
}

/* The per-type steps of codec_walk. Each is called from one place, so the
 * compiler inlines them back into the switch: the walk stays one function
 * per nesting level on the hot path, with no call per field. */

static ldr_err_t codec_walk_null(ldr_cursor_t *c, const ldr_rfield_t *t,
                                 void *base) {
    if (t) {
        if (!codec_fkind_optional(t->kind))
            return codec_bad(c, "null for a required field");
        codec_set_has(base, t, false);
    }
    return LDR_OK;
}

static ldr_err_t codec_walk_boolean(ldr_cursor_t *c, const ldr_rfield_t *t,
                                    void *base) {
    ldr_err_t err;
    if ((err = codec_need(c, 1))) return err;
    uint8_t b = *c->p++;
    if (b > 1) return codec_bad(c, "boolean byte %u is neither 0 nor 1", b);
    if (t) *AT(base, t->off, bool) = b;
    return LDR_OK;
}

static ldr_err_t codec_walk_int(ldr_cursor_t *c, const ldr_rfield_t *t,
                                void *base) {
    ldr_err_t err;
    int32_t v = 0;
    if ((err = codec_read_int(c, &v))) return err;
    if (!t) return LDR_OK;
    if (t->kind == F_INT || t->kind == F_OPT_INT)
        *AT(base, t->off, int32_t) = v;
    else if (t->kind == F_LONG || t->kind == F_OPT_LONG)
        *AT(base, t->off, int64_t) = v;
    else
        *AT(base, t->off, double) = v;
    codec_set_has(base, t, true);
    return LDR_OK;
}

static ldr_err_t codec_walk_long(ldr_cursor_t *c, const ldr_rfield_t *t,
                                 void *base) {
    ldr_err_t err;
    int64_t v = 0;
    if ((err = codec_read_long(c, &v))) return err;
    if (!t) return LDR_OK;
    if (t->kind == F_DOUBLE)
        *AT(base, t->off, double) = (double)v;
    else
        *AT(base, t->off, int64_t) = v;
    codec_set_has(base, t, true);
    return LDR_OK;
}

static ldr_err_t codec_walk_float(ldr_cursor_t *c, const ldr_rfield_t *t,
                                  void *base) {
    ldr_err_t err;
    if ((err = codec_need(c, 4))) return err;
    uint32_t u = (uint32_t)c->p[0] | (uint32_t)c->p[1] << 8 |
                 (uint32_t)c->p[2] << 16 | (uint32_t)c->p[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    c->p += 4;
    if (t) *AT(base, t->off, double) = f;
    return LDR_OK;
}

static ldr_err_t codec_walk_double(ldr_cursor_t *c, const ldr_rfield_t *t,
                                   void *base) {
    ldr_err_t err;
    if ((err = codec_need(c, 8))) return err;
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | c->p[i];
    double d;
    memcpy(&d, &u, 8);
    c->p += 8;
    if (t) *AT(base, t->off, double) = d;
    return LDR_OK;
}

static ldr_err_t codec_walk_string(ldr_cursor_t *c, const ldr_rfield_t *t,
                                   void *base) {
    ldr_err_t err;
    ldr_str_t s;
    if ((err = codec_read_bytes(c, &s))) return err;
    if (t) {
        *AT(base, t->off, ldr_str_t) = s;
        codec_set_has(base, t, true);
    }
    return LDR_OK;
}

static ldr_err_t codec_walk_enum(ldr_cursor_t *c, const ldr_wnode_t *n,
                                 const ldr_rfield_t *t, void *base) {
    ldr_err_t err;
    int64_t idx = 0;
    if ((err = codec_read_long(c, &idx))) return err;
    if (idx < 0 || idx >= n->nsym)
        return codec_bad(c, "enum index %lld out of range 0..%d",
                         (long long)idx, n->nsym - 1);
    if (t) {
        int v = n->symmap[idx];
        if (v < 0) return codec_bad(c, "enum symbol unknown to ladder");
        *AT(base, t->off, int) = v;
        codec_set_has(base, t, true);
    }
    return LDR_OK;
}

/* The branch a union's value is written in, checked against the target. */
static ldr_err_t codec_walk_branch(ldr_cursor_t *c, const ldr_wnode_t *n,
                                   const ldr_rfield_t *t,
                                   const ldr_wnode_t **out) {
    ldr_err_t err;
    int64_t idx = 0;
    if ((err = codec_read_long(c, &idx))) return err;
    if (idx < 0 || idx >= n->nbranch)
        return codec_bad(c, "union branch %lld out of range 0..%d",
                         (long long)idx, n->nbranch - 1);
    const ldr_wnode_t *b = n->branches[idx];
    if (t && !b->compatible)
        return codec_bad(c, "union branch %lld cannot be read as %s",
                         (long long)idx, t->name);
    *out = b;
    return LDR_OK;
}

static ldr_err_t codec_walk(ldr_cursor_t *c, const ldr_wnode_t *n,
                            const ldr_rfield_t *t, void *base) {
    ldr_err_t err;
    switch (n->type) {
    case AVRO_NULL: return codec_walk_null(c, t, base);
    case AVRO_BOOLEAN: return codec_walk_boolean(c, t, base);
    case AVRO_INT32: return codec_walk_int(c, t, base);
    case AVRO_INT64: return codec_walk_long(c, t, base);
    case AVRO_FLOAT: return codec_walk_float(c, t, base);
    case AVRO_DOUBLE: return codec_walk_double(c, t, base);
    case AVRO_STRING:
    case AVRO_BYTES: return codec_walk_string(c, t, base);
    case AVRO_FIXED:
        if ((err = codec_need(c, (size_t)n->fixed_size))) return err;
        c->p += n->fixed_size;
        return LDR_OK;
    case AVRO_ENUM: return codec_walk_enum(c, n, t, base);
    case AVRO_ARRAY: return codec_walk_items(c, n, t, base, 0);
    case AVRO_MAP: return codec_walk_items(c, n, NULL, NULL, 1);
    case AVRO_UNION: {
        const ldr_wnode_t *b = NULL;
        if ((err = codec_walk_branch(c, n, t, &b))) return err;
        return codec_walk(c, b, t, base);
    }
    case AVRO_RECORD:
        return codec_walk_record(c, n,
                                 t ? (void *)AT(base, t->off, char) : NULL);
    default: return codec_bad(c, "unsupported type");
    }
}

static void *codec_record_body(ldr_record_t *rec) {
    switch (rec->kind) {
    case LDR_RECORD_APPLICATION: return &rec->u.application;
    case LDR_RECORD_REVIEW: return &rec->u.review;
    case LDR_RECORD_VIOLATION: return &rec->u.violation;
    case LDR_RECORD_CLOCK_TICK: return &rec->u.tick;
    case LDR_RECORD_DECISION: return &rec->u.decision;
    }
    return NULL;
}

ldr_err_t ldr_codec_decode(ldr_codec_t *c, const void *data, size_t len,
                           ldr_record_t *out, const ldr_schema_t **writer,
                           char *errstr, size_t n) {
    const uint8_t *p = data;
    if (len > LDR_CODEC_MAX_MESSAGE)
        return ldr_err_set(errstr, n, LDR_ERR_DECODE_FAILED,
                           "message of %zu bytes exceeds the 1 MiB limit", len);
    const ldr_schema_t *s = NULL;
    size_t hdr;
    if (len >= 1 && p[0] == 0x00) {
        if (len < 5)
            return ldr_err_set(errstr, n, LDR_ERR_BAD_FRAMING,
                               "Confluent framing needs 5 header bytes, "
                               "message has %zu",
                               len);
        int32_t id = (int32_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
                               (uint32_t)p[3] << 8 | (uint32_t)p[4]);
        ldr_err_t err = ldr_schemas_by_id(c->schemas, id, &s, errstr, n);
        if (err) return err;
        hdr = 5;
    } else if (len >= 2 && p[0] == 0xC3 && p[1] == 0x01) {
        if (len < 10)
            return ldr_err_set(errstr, n, LDR_ERR_BAD_FRAMING,
                               "single-object encoding needs 10 header "
                               "bytes, message has %zu",
                               len);
        uint64_t fp = 0;
        for (int i = 9; i >= 2; i--)
            fp = fp << 8 | p[i];
        s = ldr_schemas_by_fingerprint(c->schemas, fp);
        if (!s)
            return ldr_err_set(errstr, n, LDR_ERR_UNKNOWN_SCHEMA,
                               "schema fingerprint %016llx is not known",
                               (unsigned long long)fp);
        hdr = 10;
    } else {
        return ldr_err_set(errstr, n, LDR_ERR_BAD_FRAMING,
                           len ? "first byte 0x%02x is neither 0x00 "
                                 "(Confluent) nor 0xC3 0x01 (single object)"
                               : "empty message%.0d",
                           len ? p[0] : 0);
    }
    ldr_plan_t *plan = codec_plan(c, s);
    if (plan->err) return ldr_err_set(errstr, n, plan->err, "%s", plan->why);
    memset(out, 0, sizeof(*out));
    out->kind = s->kind;
    ldr_cursor_t cur = {p + hdr, p + hdr, p + len, 0, NULL, errstr, n};
    ldr_err_t err = codec_walk_record(&cur, plan->root, codec_record_body(out));
    if (err) return err;
    if (cur.p != cur.end)
        return ldr_err_set(errstr, n, LDR_ERR_DECODE_FAILED,
                           "%zu bytes left over after the record",
                           (size_t)(cur.end - cur.p));
    if (writer) *writer = s;
    return LDR_OK;
}

/* ---- Encoding ------------------------------------------------------------
 *
 * DESIGN: the encoder writes Avro's binary encoding itself, walking the same
 * compiled writer plan that decoding walks (every writer field already
 * mapped to ladder's field, so no name is looked up per record), straight
 * into the codec's output buffer. Building an Avro-C generic value and
 * writing it cost about a fifth of a worker's instructions (callgrind, one
 * decision per event), and the binary encoding is a handful of primitives:
 * zig-zag varints, length-prefixed bytes, little-endian doubles, a union's
 * branch index before its value, and arrays as one block plus the
 * zero-count end. The codec tests decode the bytes with the decoder and
 * with Avro-C (test_codec), and python3-avro reads them (interop). */

typedef struct ldr_enc {
    ldr_buf_t *out;
    char *errstr;
    size_t errstr_size;
} ldr_enc_t;

static ldr_err_t codec_enc_fail(ldr_enc_t *e, const char *field,
                                const char *what) {
    return ldr_err_set(e->errstr, e->errstr_size, LDR_ERR_ENCODE,
                       "field %s: %s", field, what);
}

static void codec_put_long(ldr_buf_t *b, int64_t v) {
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    uint8_t tmp[10];
    size_t n = 0;
    while (z >= 0x80) {
        tmp[n++] = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    tmp[n++] = (uint8_t)z;
    ldr_buf_append(b, tmp, n);
}

static void codec_put_bytes(ldr_buf_t *b, const char *p, size_t len) {
    codec_put_long(b, (int64_t)len);
    if (len) ldr_buf_append(b, p, len);
}

/* The writer's index of ladder's enum value @p v, or -1. */
static int codec_enc_symbol(const ldr_wnode_t *n, int v) {
    for (int i = 0; i < n->nsym; i++)
        if (n->symmap[i] == v) return i;
    return -1;
}

static ldr_err_t codec_enc_record(ldr_enc_t *e, const ldr_wnode_t *wn,
                                  const void *base);

static ldr_err_t codec_enc_value(ldr_enc_t *e, const ldr_wnode_t *wn,
                                 const ldr_rfield_t *t, const void *base) {
    ldr_buf_t *b = e->out;
    switch (wn->type) {
    case AVRO_UNION: {
        int present =
            !codec_fkind_optional(t->kind) || *AT(base, t->aux_off, const bool);
        for (int i = 0; i < wn->nbranch; i++) {
            int is_null = wn->branches[i]->type == AVRO_NULL;
            if (is_null != !present) continue;
            codec_put_long(b, i);
            return is_null ? LDR_OK
                           : codec_enc_value(e, wn->branches[i], t, base);
        }
        return codec_enc_fail(e, t->name, "no union branch fits the value");
    }
    case AVRO_STRING:
    case AVRO_BYTES: {
        const ldr_str_t *str = AT(base, t->off, const ldr_str_t);
        codec_put_bytes(b, str->ptr, str->ptr ? str->len : 0);
        return LDR_OK;
    }
    case AVRO_INT32:
        codec_put_long(b, *AT(base, t->off, const int32_t));
        return LDR_OK;
    case AVRO_INT64:
        codec_put_long(b, *AT(base, t->off, const int64_t));
        return LDR_OK;
    case AVRO_DOUBLE: {
        uint64_t u;
        memcpy(&u, AT(base, t->off, const double), 8);
        uint8_t le[8];
        for (int i = 0; i < 8; i++)
            le[i] = (uint8_t)(u >> (8 * i));
        ldr_buf_append(b, le, 8);
        return LDR_OK;
    }
    case AVRO_BOOLEAN:
        ldr_buf_append_byte(b, *AT(base, t->off, const bool) ? 1 : 0);
        return LDR_OK;
    case AVRO_ENUM: {
        int ev = *AT(base, t->off, const int);
        if (!t->en || ev < 0 || ev >= t->en->count)
            return codec_enc_fail(e, t->name, "enum value out of range");
        int idx = codec_enc_symbol(wn, ev);
        if (idx < 0)
            return codec_enc_fail(e, t->name,
                                  "symbol missing from the writer schema");
        codec_put_long(b, idx);
        return LDR_OK;
    }
    case AVRO_ARRAY:
        if (t->kind == F_ENUM_SET) {
            uint32_t set = *AT(base, t->off, const uint32_t);
            if (set >> t->en->count)
                return codec_enc_fail(e, t->name, "unknown member in the set");
            int count = 0;
            for (int i = 0; i < t->en->count; i++)
                count += (set >> i) & 1u;
            if (count) codec_put_long(b, count);
            for (int i = 0; i < t->en->count; i++) {
                if (!((set >> i) & 1u)) continue;
                int idx = codec_enc_symbol(wn->items, i);
                if (idx < 0)
                    return codec_enc_fail(
                        e, t->name, "symbol missing from the writer schema");
                codec_put_long(b, idx);
            }
        } else if (t->kind == F_STRING_LIST) {
            size_t cnt = *AT(base, t->aux_off, const size_t);
            if (cnt > LDR_DECISION_REASONS_MAX)
                return codec_enc_fail(e, t->name, "too many strings");
            const ldr_str_t *list = AT(base, t->off, const ldr_str_t);
            if (cnt) codec_put_long(b, (int64_t)cnt);
            for (size_t i = 0; i < cnt; i++)
                codec_put_bytes(b, list[i].ptr, list[i].ptr ? list[i].len : 0);
        } else {
            return codec_enc_fail(e, t->name, "array type does not match");
        }
        codec_put_long(b, 0);
        return LDR_OK;
    case AVRO_RECORD:
        return codec_enc_record(e, wn, AT(base, t->off, const char));
    default:
        return codec_enc_fail(e, t->name,
                              "writer type not supported for encoding");
    }
}

static ldr_err_t codec_enc_record(ldr_enc_t *e, const ldr_wnode_t *wn,
                                  const void *base) {
    for (int i = 0; i < wn->nfields; i++) {
        const ldr_rfield_t *t = wn->fields[i].target;
        if (!t)
            return codec_enc_fail(e, wn->fields[i].name,
                                  "ladder's record has no such field");
        ldr_err_t err = codec_enc_value(e, wn->fields[i].node, t, base);
        if (err) return err;
    }
    return LDR_OK;
}

ldr_err_t ldr_codec_encode_with(ldr_codec_t *c, const ldr_schema_t *s,
                                ldr_framing_t framing, const ldr_record_t *rec,
                                const void **out, size_t *out_len, char *errstr,
                                size_t n) {
    if (!s || s->kind != rec->kind)
        return ldr_err_set(errstr, n, LDR_ERR_ENCODE,
                           "writer schema is not a version of %s",
                           ldr_record_kind_fullname(rec->kind)
                               ? ldr_record_kind_fullname(rec->kind)
                               : "?");
    ldr_plan_t *p = codec_plan(c, s);
    if (p->err) return ldr_err_set(errstr, n, LDR_ERR_ENCODE, "%s", p->why);
    ldr_buf_reset(&c->out);
    uint8_t hdr[10];
    size_t hlen;
    if (framing == LDR_FRAMING_CONFLUENT) {
        uint32_t id = (uint32_t)s->id;
        hdr[0] = 0;
        hdr[1] = (uint8_t)(id >> 24);
        hdr[2] = (uint8_t)(id >> 16);
        hdr[3] = (uint8_t)(id >> 8);
        hdr[4] = (uint8_t)id;
        hlen = 5;
    } else {
        hdr[0] = 0xC3;
        hdr[1] = 0x01;
        for (int i = 0; i < 8; i++)
            hdr[2 + i] = (uint8_t)(s->fingerprint >> (8 * i));
        hlen = 10;
    }
    ldr_buf_append(&c->out, hdr, hlen);
    ldr_enc_t e = {&c->out, errstr, n};
    ldr_err_t err =
        codec_enc_record(&e, p->root, codec_record_body((ldr_record_t *)rec));
    if (err) return err;
    if (c->out.len > LDR_CODEC_MAX_MESSAGE)
        return ldr_err_set(errstr, n, LDR_ERR_ENCODE,
                           "encoded record of %zu bytes exceeds 1 MiB",
                           c->out.len);
    *out = c->out.data;
    *out_len = c->out.len;
    return LDR_OK;
}

ldr_err_t ldr_codec_encode(ldr_codec_t *c, const ldr_record_t *rec,
                           const void **out, size_t *out_len, char *errstr,
                           size_t n) {
    const ldr_schema_t *s = ldr_schemas_current(c->schemas, rec->kind);
    if (!s)
        return ldr_err_set(errstr, n, LDR_ERR_ENCODE,
                           "record kind %d is not "
                           "a ladder record",
                           (int)rec->kind);
    return ldr_codec_encode_with(c, s, LDR_FRAMING_CONFLUENT, rec, out, out_len,
                                 errstr, n);
}

/* ---- Life cycle -------------------------------------------------------------
 */

ldr_codec_t *ldr_codec_new(ldr_schemas_t *schemas, char *errstr, size_t n) {
    pthread_once(&ldr_avro_alloc_once, codec_avro_alloc_install);
    ldr_codec_t *c = ldr_calloc(1, sizeof(*c));
    c->schemas = schemas;
    ldr_buf_init(&c->out);
    for (int k = LDR_RECORD_APPLICATION; k <= LDR_RECORD_DECISION; k++) {
        const ldr_schema_t *s = ldr_schemas_current(schemas, k);
        ldr_plan_t *p = s ? codec_plan(c, s) : NULL;
        if (!p || p->err || !codec_exact(p->root, NULL, p->rrec)) {
            ldr_err_set(errstr, n, LDR_ERR_SCHEMA,
                        "%s: the current schema of %s does not match "
                        "ladder's record field for field%s%s",
                        s ? s->origin : "schemas", ldr_record_kind_fullname(k),
                        p && p->err ? ": " : "", p && p->err ? p->why : "");
            ldr_codec_destroy(c);
            return NULL;
        }
    }
    return c;
}

void ldr_codec_destroy(ldr_codec_t *c) {
    if (!c) return;
    for (size_t i = 0; i < c->nplans; i++) {
        codec_wnode_free(c->plans[i].root);
    }
    free(c->plans);
    ldr_buf_fini(&c->out);
    free(c);
}
