/* policy.c -- the vocabulary of the rules, policy selection and evaluation.
 *
 * DESIGN: this file holds what the C code fixes about the rules -- the
 * measures (what each quantity means and how it is computed exactly), the
 * boolean indicators, the reason codes -- and the evaluator, a pure function
 * of (compiled policy, tier, mode, indicators). Numbers and structure come
 * from the policy files through policy_load.c. docs/POLICY-FILES.md lists
 * the measures, flags and codes for operators: keep it in step with the
 * tables below.
 *
 * Exactness. POLICY.md requires ratios to be compared exactly: a threshold
 * t (stored as t100 = t x 100) is met by n/d (d > 0) when n x 100 >= t100 x
 * d. The 2022 two-year average growth is
 *     (g1 + g2) / 2 = 100 ((m1 - m2) m1 + (m0 - m1) m2) / (2 m1 m2),
 * a rational whose numerator needs about 136 bits for int64 revenues, and
 * the 2026 compound growth test m0 / m2 >= (1 + t/100)^2 becomes
 *     m0 x 10^8 >= (10^4 + t100)^2 x m2,
 * about 190 bits. __int128 is not enough for either, and the evaluator must
 * take any int64 values without undefined behaviour, so all exact
 * comparisons use a 256-bit two's-complement integer (`wide`): products of
 * values that fit are exact, nothing is ever divided, nothing is NaN.
 *
 * Percentages declared as doubles (asset_liability_pct,
 * niche_market_share_pct) are compared as given against the double nearest
 * to the threshold: t100 / 100.0 is a correctly rounded division of two
 * exactly representable numbers (the loader keeps |t100| < 2^53 for them),
 * so it is exactly what a JSON reader makes of the threshold's text. A
 * declared 10.1 therefore meets ">= 10.1", and integer thresholds such as 55
 * or 70 are exact. Comparing v x 100 against t100 instead would add a
 * rounding of its own (0.29 x 100 = 28.999999999999996). A NaN, which valid
 * input never holds, makes the measure undefined like a zero denominator. */
#include "policy_int.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ladder/alloc.h"

/* ---- measures ------------------------------------------------------------ */

enum measure {
    M_YEARS_IN_NICHE,
    M_REVENUE,
    M_REVENUE_PREV,
    M_MAIN_REVENUE,
    M_MAIN_REVENUE_PREV,
    M_MAIN_REVENUE_PREV2,
    M_NET_PROFIT,
    M_RD_EXPENSE,
    M_RD_EXPENSE_PREV,
    M_EMPLOYEES,
    M_RD_STAFF,
    M_EQUITY_FINANCING_2Y,
    M_EQUITY_FINANCING_3Y,
    M_NICHE_MARKET_RANK,
    M_IP_CLASS1,
    M_IP_CLASS1_HIGH_VALUE,
    M_IP_CLASS1_SELF_DEVELOPED,
    M_IP_CLASS2,
    M_DIGITALIZATION_LEVEL,
    M_QUALITY_ITEMS,
    M_LOCAL_SCORE,
    M_DEVELOPMENT_SCORE,
    M_RD_EXPENSE_2Y,
    M_RD_EXPENSE_AVG2,
    M_RD_INTENSITY,
    M_RD_INTENSITY_PREV,
    M_MAIN_SHARE,
    M_NET_MARGIN,
    M_RD_STAFF_SHARE,
    M_MAIN_GROWTH,
    M_MAIN_GROWTH_AVG2,
    M_MAIN_GROWTH_CAGR2,
    M_ASSET_LIABILITY_PCT,
    M_NICHE_MARKET_SHARE_PCT,
    M_RD_INSTITUTION,
    M__COUNT
};

static const struct {
    const char *name;
    enum ldr_policy__mclass mclass;
    const char *meaning;
} measures[] = {
    {"years_in_niche", LDR_MC_INT, "years_in_niche"},
    {"revenue", LDR_MC_INT, "revenue (y)"},
    {"revenue_prev", LDR_MC_INT, "revenue_prev (y-1)"},
    {"main_revenue", LDR_MC_INT, "main_revenue (y)"},
    {"main_revenue_prev", LDR_MC_INT, "main_revenue_prev (y-1)"},
    {"main_revenue_prev2", LDR_MC_INT, "main_revenue_prev2 (y-2)"},
    {"net_profit", LDR_MC_INT, "net_profit (y)"},
    {"rd_expense", LDR_MC_INT, "rd_expense (y)"},
    {"rd_expense_prev", LDR_MC_INT, "rd_expense_prev (y-1)"},
    {"employees", LDR_MC_INT, "employees"},
    {"rd_staff", LDR_MC_INT, "rd_staff"},
    {"equity_financing_2y", LDR_MC_INT, "equity_financing_2y"},
    {"equity_financing_3y", LDR_MC_INT, "equity_financing_3y"},
    {"niche_market_rank", LDR_MC_INT, "niche_market_rank (0 = unknown)"},
    {"ip_class1", LDR_MC_INT, "ip_class1"},
    {"ip_class1_high_value", LDR_MC_INT, "ip_class1_high_value"},
    {"ip_class1_self_developed", LDR_MC_INT, "ip_class1_self_developed"},
    {"ip_class2", LDR_MC_INT, "ip_class2"},
    {"digitalization_level", LDR_MC_INT, "digitalization_level"},
    {"quality_items", LDR_MC_INT, "quality_items"},
    {"local_score", LDR_MC_INT, "local_score"},
    {"development_score", LDR_MC_INT,
     "development_score; undefined when absent"},
    {"rd_expense_2y", LDR_MC_INT, "rd_expense + rd_expense_prev"},
    {"rd_expense_avg2", LDR_MC_RATIO, "(rd_expense + rd_expense_prev) / 2"},
    {"rd_intensity", LDR_MC_RATIO,
     "rd_expense / revenue x 100; undefined when revenue <= 0"},
    {"rd_intensity_prev", LDR_MC_RATIO,
     "rd_expense_prev / revenue_prev x 100; undefined when revenue_prev <= 0"},
    {"main_share", LDR_MC_RATIO,
     "main_revenue / revenue x 100; undefined when revenue <= 0"},
    {"net_margin", LDR_MC_RATIO,
     "net_profit / revenue x 100; undefined when revenue <= 0"},
    {"rd_staff_share", LDR_MC_RATIO,
     "rd_staff / employees x 100; undefined when employees <= 0"},
    {"main_growth", LDR_MC_RATIO,
     "(main_revenue - main_revenue_prev) / main_revenue_prev x 100; undefined "
     "when "
     "main_revenue_prev <= 0"},
    {"main_growth_avg2", LDR_MC_RATIO,
     "mean of the growths y-2 -> y-1 and y-1 -> y; undefined unless "
     "main_revenue_prev > 0 "
     "and main_revenue_prev2 > 0"},
    {"main_growth_cagr2", LDR_MC_CAGR,
     "((main_revenue / main_revenue_prev2)^(1/2) - 1) x 100, tested as "
     "main_revenue / "
     "main_revenue_prev2 >= (1 + t/100)^2; undefined when main_revenue_prev2 "
     "<= 0"},
    {"asset_liability_pct", LDR_MC_PCT, "asset_liability_pct, as declared"},
    {"niche_market_share_pct", LDR_MC_PCT,
     "niche_market_share_pct, as declared"},
    {"rd_institution", LDR_MC_ENUM, "rd_institution"},
};
_Static_assert(LDR_ARRAY_SIZE(measures) == M__COUNT, "measure table");

int ldr_policy__measure_count(void) {
    return M__COUNT;
}

int ldr_policy__measure_parse(const char *name) {
    for (int i = 0; i < M__COUNT; i++)
        if (strcmp(measures[i].name, name) == 0) return i;
    return -1;
}

const char *ldr_policy__measure_name(int m) {
    return m >= 0 && m < M__COUNT ? measures[m].name : "?";
}

const char *ldr_policy__measure_meaning(int m) {
    return m >= 0 && m < M__COUNT ? measures[m].meaning : "?";
}

enum ldr_policy__mclass ldr_policy__measure_class(int m) {
    return m >= 0 && m < M__COUNT ? measures[m].mclass : LDR_MC_ENUM;
}

/* ---- boolean indicators ----------------------------------------------------
 */

static const struct {
    const char *name;
    size_t offset;
} flags[] = {
    {"own_brand", offsetof(ldr_indicators_t, own_brand)},
    {"mgmt_certification", offsetof(ldr_indicators_t, mgmt_certification)},
    {"core_business_on_info_system",
     offsetof(ldr_indicators_t, core_business_on_info_system)},
    {"strategic_emerging_field",
     offsetof(ldr_indicators_t, strategic_emerging_field)},
    {"field_gap_filling", offsetof(ldr_indicators_t, field_gap_filling)},
    {"field_six_foundations",
     offsetof(ldr_indicators_t, field_six_foundations)},
    {"key_chain_link", offsetof(ldr_indicators_t, key_chain_link)},
};
#define FLAG_COUNT ((int)(LDR_ARRAY_SIZE(flags)))

int ldr_policy__flag_parse(const char *name) {
    for (int i = 0; i < FLAG_COUNT; i++)
        if (strcmp(flags[i].name, name) == 0) return i;
    return -1;
}

const char *ldr_policy__flag_name(int f) {
    return f >= 0 && f < FLAG_COUNT ? flags[f].name : "?";
}

static bool flag_value(const ldr_indicators_t *ind, int f) {
    bool v;
    memcpy(&v, (const char *)ind + flags[f].offset, sizeof v);
    return v;
}

/* ---- reason codes ----------------------------------------------------------
 */

/* The criteria set: every reason code an evaluation can produce. A policy
 * file chooses which of its tier's codes it checks, in which order, and what
 * each tests; a code not listed here is a load error. */
static const struct {
    const char *code;
    ldr_tier_t tier;
} codes[] = {
    {"IN.SCORE", LDR_TIER_INNOVATIVE},
    {"IN.INNOVATION_SUBSCORE", LDR_TIER_INNOVATIVE},
    {"IN.GROWTH_SUBSCORE", LDR_TIER_INNOVATIVE},
    {"IN.SPECIALIZATION_SUBSCORE", LDR_TIER_INNOVATIVE},
    {"SP.YEARS_IN_NICHE", LDR_TIER_SPECIALIZED},
    {"SP.RD_EXPENSE", LDR_TIER_SPECIALIZED},
    {"SP.RD_INTENSITY", LDR_TIER_SPECIALIZED},
    {"SP.REVENUE", LDR_TIER_SPECIALIZED},
    {"SP.SCORE", LDR_TIER_SPECIALIZED},
    {"LG.YEARS_IN_NICHE", LDR_TIER_LITTLE_GIANT},
    {"LG.REVENUE", LDR_TIER_LITTLE_GIANT},
    {"LG.MAIN_SHARE", LDR_TIER_LITTLE_GIANT},
    {"LG.MAIN_GROWTH", LDR_TIER_LITTLE_GIANT},
    {"LG.INFO_SYSTEM", LDR_TIER_LITTLE_GIANT},
    {"LG.MGMT_CERT", LDR_TIER_LITTLE_GIANT},
    {"LG.ASSET_LIABILITY", LDR_TIER_LITTLE_GIANT},
    {"LG.MARKET_SHARE", LDR_TIER_LITTLE_GIANT},
    {"LG.OWN_BRAND", LDR_TIER_LITTLE_GIANT},
    {"LG.RD_INTENSITY", LDR_TIER_LITTLE_GIANT},
    {"LG.RD_INSTITUTION", LDR_TIER_LITTLE_GIANT},
    {"LG.IP_CLASS1", LDR_TIER_LITTLE_GIANT},
    {"LG.KEY_CHAIN", LDR_TIER_LITTLE_GIANT},
    {"LG.FIELD", LDR_TIER_LITTLE_GIANT},
    {"LG.DEVELOPMENT_SCORE", LDR_TIER_LITTLE_GIANT},
};
#define CODE_COUNT ((int)(LDR_ARRAY_SIZE(codes)))

int ldr_policy__code_parse(const char *code) {
    for (int i = 0; i < CODE_COUNT; i++)
        if (strcmp(codes[i].code, code) == 0) return i;
    return -1;
}

const char *ldr_policy__code_name(int c) {
    return c >= 0 && c < CODE_COUNT ? codes[c].code : "?";
}

ldr_tier_t ldr_policy__code_tier(int c) {
    return c >= 0 && c < CODE_COUNT ? codes[c].tier : LDR_TIER__COUNT;
}

/* ---- modes -----------------------------------------------------------------
 */

const char *ldr_eval_mode_name(ldr_eval_mode_t mode) {
    switch (mode) {
    case LDR_EVAL_APPLICATION: return "application";
    case LDR_EVAL_REVIEW: return "review";
    default: return "?";
    }
}

int ldr_eval_mode_parse(const char *s, size_t len) {
    if (len == 11 && memcmp(s, "application", 11) == 0)
        return LDR_EVAL_APPLICATION;
    if (len == 6 && memcmp(s, "review", 6) == 0) return LDR_EVAL_REVIEW;
    return -1;
}

/* ---- 256-bit integers -------------------------------------------------------
 */

/* Two's complement, little-endian limbs. Addition and multiplication modulo
 * 2^256 give the exact signed result whenever it fits, which the magnitudes
 * in the DESIGN note guarantee (at most about 2^192). */
typedef struct {
    uint64_t w[4];
} wide_t;

static wide_t wide_i64(int64_t v) {
    uint64_t fill = v < 0 ? UINT64_MAX : 0;
    wide_t r = {{(uint64_t)v, fill, fill, fill}};
    return r;
}

/* A value computed exactly in 128 bits (a declared amount, or the
 * difference of two, times 100: below 2^72), for the common products
 * without wide_mul's 256-bit loop, which was a seventieth of the worker's
 * instructions. */
static wide_t wide_i128(__int128 v) {
    uint64_t fill = v < 0 ? UINT64_MAX : 0;
    wide_t r = {
        {(uint64_t)v, (uint64_t)((unsigned __int128)v >> 64), fill, fill}};
    return r;
}

static wide_t wide_add(wide_t a, wide_t b) {
    wide_t r;
    unsigned __int128 carry = 0;
    for (int i = 0; i < 4; i++) {
        carry += (unsigned __int128)a.w[i] + b.w[i];
        r.w[i] = (uint64_t)carry;
        carry >>= 64;
    }
    return r;
}

static wide_t wide_neg(wide_t a) {
    for (int i = 0; i < 4; i++)
        a.w[i] = ~a.w[i];
    return wide_add(a, wide_i64(1));
}

static wide_t wide_sub(wide_t a, wide_t b) {
    return wide_add(a, wide_neg(b));
}

static wide_t wide_mul(wide_t a, wide_t b) {
    wide_t r = {{0, 0, 0, 0}};
    for (int i = 0; i < 4; i++) {
        unsigned __int128 carry = 0;
        for (int j = 0; i + j < 4; j++) {
            unsigned __int128 t =
                (unsigned __int128)a.w[i] * b.w[j] + r.w[i + j] + carry;
            r.w[i + j] = (uint64_t)t;
            carry = t >> 64;
        }
    }
    return r;
}

/* Whether @p a is a sign-extended 64-bit value; if so, it is in @p out. */
static bool wide_to_i64(wide_t a, int64_t *out) {
    uint64_t fill = (a.w[0] >> 63) ? UINT64_MAX : 0;
    if (a.w[1] != fill || a.w[2] != fill || a.w[3] != fill) return false;
    *out = (int64_t)a.w[0];
    return true;
}

static int wide_sign(wide_t a) {
    if (a.w[3] >> 63) return -1;
    return (a.w[0] | a.w[1] | a.w[2] | a.w[3]) ? 1 : 0;
}

/* ---- measure values --------------------------------------------------------
 */

enum vstate { V_UNDEFINED, V_RATIONAL, V_DOUBLE, V_CAGR };

/* A measure's value for one declaration: n/d with d > 0, a double, or the
 * pair (m0, m2) of the compound growth. */
struct mval {
    enum vstate state;
    wide_t n, d;
    double v;
};

static struct mval mval_ratio(wide_t n, wide_t d) {
    struct mval mv = {V_RATIONAL, n, d, 0};
    return mv;
}

static struct mval mval_int(int64_t v) {
    return mval_ratio(wide_i64(v), wide_i64(1));
}

static struct mval mval_undefined(void) {
    struct mval mv = {V_UNDEFINED, {{0, 0, 0, 0}}, {{0, 0, 0, 0}}, 0};
    return mv;
}

/* num / den x 100, undefined unless den > 0. */
static struct mval mval_pct(int64_t num, int64_t den) {
    if (den <= 0) return mval_undefined();
    return mval_ratio(wide_i128((__int128)num * 100), wide_i64(den));
}

static struct mval measure_value(const ldr_indicators_t *x, int m) {
    switch ((enum measure)m) {
    case M_YEARS_IN_NICHE: return mval_int(x->years_in_niche);
    case M_REVENUE: return mval_int(x->revenue);
    case M_REVENUE_PREV: return mval_int(x->revenue_prev);
    case M_MAIN_REVENUE: return mval_int(x->main_revenue);
    case M_MAIN_REVENUE_PREV: return mval_int(x->main_revenue_prev);
    case M_MAIN_REVENUE_PREV2: return mval_int(x->main_revenue_prev2);
    case M_NET_PROFIT: return mval_int(x->net_profit);
    case M_RD_EXPENSE: return mval_int(x->rd_expense);
    case M_RD_EXPENSE_PREV: return mval_int(x->rd_expense_prev);
    case M_EMPLOYEES: return mval_int(x->employees);
    case M_RD_STAFF: return mval_int(x->rd_staff);
    case M_EQUITY_FINANCING_2Y: return mval_int(x->equity_financing_2y);
    case M_EQUITY_FINANCING_3Y: return mval_int(x->equity_financing_3y);
    case M_NICHE_MARKET_RANK: return mval_int(x->niche_market_rank);
    case M_IP_CLASS1: return mval_int(x->ip_class1);
    case M_IP_CLASS1_HIGH_VALUE: return mval_int(x->ip_class1_high_value);
    case M_IP_CLASS1_SELF_DEVELOPED:
        return mval_int(x->ip_class1_self_developed);
    case M_IP_CLASS2: return mval_int(x->ip_class2);
    case M_DIGITALIZATION_LEVEL: return mval_int(x->digitalization_level);
    case M_QUALITY_ITEMS: return mval_int(x->quality_items);
    case M_LOCAL_SCORE: return mval_int(x->local_score);
    case M_DEVELOPMENT_SCORE:
        /* POLICY.md: "a missing score fails". */
        return x->has_development_score ? mval_int(x->development_score)
                                        : mval_undefined();
    case M_RD_EXPENSE_2Y:
        return mval_ratio(
            wide_add(wide_i64(x->rd_expense), wide_i64(x->rd_expense_prev)),
            wide_i64(1));
    case M_RD_EXPENSE_AVG2:
        return mval_ratio(
            wide_add(wide_i64(x->rd_expense), wide_i64(x->rd_expense_prev)),
            wide_i64(2));
    case M_RD_INTENSITY: return mval_pct(x->rd_expense, x->revenue);
    case M_RD_INTENSITY_PREV:
        return mval_pct(x->rd_expense_prev, x->revenue_prev);
    case M_MAIN_SHARE: return mval_pct(x->main_revenue, x->revenue);
    case M_NET_MARGIN: return mval_pct(x->net_profit, x->revenue);
    case M_RD_STAFF_SHARE: return mval_pct(x->rd_staff, x->employees);
    case M_MAIN_GROWTH:
        if (x->main_revenue_prev <= 0) return mval_undefined();
        return mval_ratio(
            wide_i128(((__int128)x->main_revenue - x->main_revenue_prev) * 100),
            wide_i64(x->main_revenue_prev));
    case M_MAIN_GROWTH_AVG2: {
        /* (g1 + g2) / 2 with g1 = 100 (m1 - m2) / m2, g2 = 100 (m0 - m1) / m1:
         * one fraction over the positive denominator 2 m1 m2. */
        if (x->main_revenue_prev <= 0 || x->main_revenue_prev2 <= 0)
            return mval_undefined();
        wide_t m0 = wide_i64(x->main_revenue),
               m1 = wide_i64(x->main_revenue_prev),
               m2 = wide_i64(x->main_revenue_prev2);
        wide_t num = wide_add(wide_mul(wide_sub(m1, m2), m1),
                              wide_mul(wide_sub(m0, m1), m2));
        return mval_ratio(wide_mul(num, wide_i64(100)),
                          wide_mul(wide_mul(m1, m2), wide_i64(2)));
    }
    case M_MAIN_GROWTH_CAGR2: {
        if (x->main_revenue_prev2 <= 0) return mval_undefined();
        struct mval mv = {V_CAGR, wide_i64(x->main_revenue),
                          wide_i64(x->main_revenue_prev2), 0};
        return mv;
    }
    case M_ASSET_LIABILITY_PCT:
    case M_NICHE_MARKET_SHARE_PCT: {
        double v = m == M_ASSET_LIABILITY_PCT ? x->asset_liability_pct
                                              : x->niche_market_share_pct;
        if (isnan(v)) return mval_undefined();
        struct mval mv = {V_DOUBLE, {{0, 0, 0, 0}}, {{0, 0, 0, 0}}, v};
        return mv;
    }
    case M_RD_INSTITUTION:
    case M__COUNT: break;
    }
    return mval_undefined(); /* the loader never compares the enum measure */
}

/* sign(value - t100 / 100) for a defined value. */
static int mval_cmp(const struct mval *mv, int64_t t100) {
    switch (mv->state) {
    case V_RATIONAL: {
        /* n / d - t100 / 100 has the sign of 100 n - t100 d (d > 0). When
         * n and d fit in 64 bits, as real declarations do, 128-bit
         * arithmetic is exact (|100 n| < 2^70, |t100 d| < 2^126); the
         * 256-bit path was a tenth of the worker's instructions. */
        int64_t n64, d64;
        if (wide_to_i64(mv->n, &n64) && wide_to_i64(mv->d, &d64)) {
            __int128 diff = (__int128)n64 * 100 - (__int128)t100 * d64;
            return (diff > 0) - (diff < 0);
        }
        return wide_sign(wide_sub(wide_mul(mv->n, wide_i64(100)),
                                  wide_mul(wide_i64(t100), mv->d)));
    }
    case V_CAGR: {
        /* m0 / m2 - (1 + t/100)^2 = (m0 10^8 - (10^4 + t100)^2 m2) / (10^8 m2).
         */
        wide_t base = wide_add(wide_i64(10000), wide_i64(t100));
        wide_t rhs = wide_mul(wide_mul(base, base), mv->d);
        return wide_sign(wide_sub(wide_mul(mv->n, wide_i64(100000000)), rhs));
    }
    case V_DOUBLE: {
        double t = (double)t100 / 100.0;
        return (mv->v > t) - (mv->v < t);
    }
    case V_UNDEFINED: break;
    }
    return 0;
}

static bool mval_in_range(const struct mval *mv,
                          const struct ldr_policy__range *r) {
    if (mv->state == V_UNDEFINED) return false;
    if (r->lo.set) {
        int s = mval_cmp(mv, r->lo.t100);
        if (s < 0 || (s == 0 && !r->lo.inclusive)) return false;
    }
    if (r->hi.set) {
        int s = mval_cmp(mv, r->hi.t100);
        if (s > 0 || (s == 0 && !r->hi.inclusive)) return false;
    }
    return true;
}

static bool int_in_range(int64_t v, const struct ldr_policy__range *r) {
    struct mval mv = mval_int(v);
    return mval_in_range(&mv, r);
}

/* ---- conditions and points ---------------------------------------------- */

/* Score values a criterion may test: total and one per group. */
struct scores {
    int total;
    int group[LDR_POLICY_SUBSCORES_MAX];
};

static bool cond_holds(const struct ldr_policy__cond *c,
                       const ldr_indicators_t *x, const struct scores *sc) {
    switch (c->kind) {
    case LDR_C_ALL:
        for (size_t i = 0; i < c->nkids; i++)
            if (!cond_holds(c->kids[i], x, sc)) return false;
        return true;
    case LDR_C_ANY:
        for (size_t i = 0; i < c->nkids; i++)
            if (cond_holds(c->kids[i], x, sc)) return true;
        return false;
    case LDR_C_NOT: return !cond_holds(c->kids[0], x, sc);
    case LDR_C_MEASURE: {
        struct mval mv = measure_value(x, c->id);
        return mval_in_range(&mv, &c->range);
    }
    case LDR_C_FLAG: return flag_value(x, c->id);
    case LDR_C_HONOUR: return (x->honours & c->mask) != 0;
    case LDR_C_RD_INSTITUTION:
        return (unsigned)x->rd_institution < LDR_RD__COUNT &&
               ((c->mask >> (unsigned)x->rd_institution) & 1u);
    case LDR_C_SCORE:
        /* The loader allows score tests only outside indicators, where sc
         * has been computed. */
        return sc && int_in_range(c->id < 0 ? sc->total : sc->group[c->id],
                                  &c->range);
    }
    return false;
}

/* Integer measures as an exact 128-bit value, for linear points. */
static bool measure_int(const ldr_indicators_t *x, int m, __int128 *out) {
    struct mval mv = measure_value(x, m);
    if (mv.state != V_RATIONAL) return false;
    /* INT measures have d == 1 and |n| < 2^65: the low two limbs hold n. */
    *out = (__int128)(((unsigned __int128)mv.n.w[1] << 64) | mv.n.w[0]);
    return true;
}

/* Far below any reachable score: keeps sums of points inside an int even
 * for a linear indicator fed absurd negative values. */
#define POINTS_FLOOR (-1000000)

static int indicator_points(const struct ldr_policy__indicator *ind,
                            const ldr_indicators_t *x) {
    switch (ind->kind) {
    case LDR_I_BANDS: {
        /* The bands tile the line in ascending order: the last band whose
         * lower end the value meets is its band. An undefined ratio is in
         * no band and scores 0 (POLICY.md "Precise semantics"). */
        struct mval mv = measure_value(x, ind->measure);
        if (mv.state == V_UNDEFINED) return 0;
        for (size_t i = ind->n; i-- > 0;)
            if (mval_in_range(&mv, &ind->bands[i].range))
                return ind->bands[i].points;
        return 0;
    }
    case LDR_I_FIRST:
        for (size_t i = 0; i < ind->n; i++)
            if (cond_holds(ind->rules[i].when, x, NULL))
                return ind->rules[i].points;
        return ind->else_points;
    case LDR_I_LINEAR: {
        __int128 v, q;
        if (!measure_int(x, ind->measure, &v)) return 0;
        v *= ind->multiply; /* |v| < 2^65, multiply <= 1000 */
        q = v / ind->divide;
        if (v % ind->divide != 0 && v < 0)
            q--; /* floor, as POLICY.md writes it */
        if (q > ind->max) q = ind->max;
        if (ind->has_min && q < ind->min) q = ind->min;
        if (q < POINTS_FLOOR) q = POINTS_FLOOR;
        return (int)q;
    }
    case LDR_I_BEST_OF: {
        int best = 0;
        for (size_t i = 0; i < ind->n; i++) {
            int p = indicator_points(&ind->children[i], x);
            if (i == 0 || p > best) best = p;
        }
        return best;
    }
    case LDR_I_LEVELS:
        return (unsigned)x->rd_institution < LDR_RD__COUNT
                   ? ind->levels[x->rd_institution]
                   : 0;
    }
    return 0;
}

/* ---- evaluation ------------------------------------------------------------
 */

static void result_reset(ldr_eval_result_t *out, const ldr_policy_t *policy) {
    memset(out, 0, sizeof *out);
    out->policy = policy;
}

static void evaluate_tier(const struct ldr_policy__tier *t,
                          ldr_eval_mode_t mode, const ldr_indicators_t *x,
                          ldr_eval_result_t *out) {
    struct scores sc;
    memset(&sc, 0, sizeof sc);
    if (t->has_score) {
        for (size_t g = 0; g < t->ngroups; g++) {
            int sum = 0;
            for (size_t i = 0; i < t->groups[g].n; i++)
                sum += indicator_points(&t->groups[g].indicators[i], x);
            sc.group[g] = sum;
            sc.total += sum;
            out->subscores[g].name = t->groups[g].name;
            out->subscores[g].value = sum;
        }
        out->has_score = true;
        out->score = sc.total;
        out->subscores_count = t->ngroups;
    }
    /* A direct-qualification path replaces the criteria it satisfies
     * (all of them for INNOVATIVE, SP.SCORE for SPECIALIZED, the three
     * innovation criteria for the 2022 little giant). */
    uint32_t satisfied = 0;
    for (size_t i = 0; i < t->ndirect; i++)
        if (cond_holds(t->direct[i].when, x, &sc))
            satisfied |= t->direct[i].satisfies;
    for (size_t i = 0; i < t->ncriteria; i++) {
        const struct ldr_policy__criterion *c = &t->criteria[i];
        if (mode == LDR_EVAL_REVIEW && !c->on_review) continue;
        if ((satisfied >> i) & 1u) continue;
        if (!cond_holds(c->when, x, &sc))
            out->reasons[out->reasons_count++] = ldr_policy__code_name(c->code);
    }
    out->pass = out->reasons_count == 0;
}

void ldr_policy_evaluate_with(const ldr_policy_t *policy, ldr_tier_t tier,
                              ldr_eval_mode_t mode, const ldr_indicators_t *ind,
                              ldr_eval_result_t *out) {
    result_reset(out, policy);
    if (!policy || (unsigned)tier >= LDR_TIER__COUNT || !policy->tier[tier])
        return;
    evaluate_tier(policy->tier[tier], mode, ind, out);
}

void ldr_policy_evaluate(const ldr_policies_t *policies, ldr_tier_t tier,
                         ldr_eval_mode_t mode, int64_t at_ms,
                         const ldr_indicators_t *ind, ldr_eval_result_t *out) {
    ldr_policy_evaluate_with(ldr_policies_select(policies, mode, at_ms), tier,
                             mode, ind, out);
}

/* ---- selection and accessors ------------------------------------------- */

const ldr_policy_t *ldr_policies_select(const ldr_policies_t *policies,
                                        ldr_eval_mode_t mode, int64_t at_ms) {
    const ldr_policy_t *best = NULL;
    if (!policies || (unsigned)mode >= LDR_EVAL__COUNT) return NULL;
    /* The loader guarantees exactly one version without a start for each
     * mode and distinct starts, so "latest start at or before at_ms" has
     * exactly one answer. */
    for (size_t i = 0; i < policies->n; i++) {
        const ldr_policy_t *p = policies->v[i];
        if (p->has_from[mode] && p->from_ms[mode] > at_ms) continue;
        if (!best ||
            (p->has_from[mode] &&
             (!best->has_from[mode] || p->from_ms[mode] > best->from_ms[mode])))
            best = p;
    }
    return best;
}

const ldr_policy_t *ldr_policies_find(const ldr_policies_t *policies,
                                      const char *version, size_t len) {
    if (!policies || !version) return NULL;
    for (size_t i = 0; i < policies->n; i++) {
        const char *v = policies->v[i]->version;
        if (strlen(v) == len && memcmp(v, version, len) == 0)
            return policies->v[i];
    }
    return NULL;
}

size_t ldr_policies_count(const ldr_policies_t *policies) {
    return policies ? policies->n : 0;
}

const ldr_policy_t *ldr_policies_get(const ldr_policies_t *policies, size_t i) {
    return policies && i < policies->n ? policies->v[i] : NULL;
}

const char *ldr_policy_version(const ldr_policy_t *policy) {
    return policy->version;
}

const char *ldr_policy_path(const ldr_policy_t *policy) {
    return policy->path;
}

bool ldr_policy_applies_from(const ldr_policy_t *policy, ldr_eval_mode_t mode,
                             int64_t *from_ms) {
    if ((unsigned)mode >= LDR_EVAL__COUNT || !policy->has_from[mode])
        return false;
    if (from_ms) *from_ms = policy->from_ms[mode];
    return true;
}

const ldr_policy_lifecycle_t *ldr_policy_lifecycle(const ldr_policy_t *policy) {
    return &policy->lifecycle;
}

char *ldr_policy_format_number(int64_t t100, char *buf, size_t size) {
    /* Magnitude as unsigned so that INT64_MIN needs no special case. */
    uint64_t mag = t100 < 0 ? 0 - (uint64_t)t100 : (uint64_t)t100;
    unsigned frac = (unsigned)(mag % 100);
    const char *sign = t100 < 0 ? "-" : "";
    if (frac == 0)
        snprintf(buf, size, "%s%llu", sign, (unsigned long long)(mag / 100));
    else if (frac % 10 == 0)
        snprintf(buf, size, "%s%llu.%u", sign, (unsigned long long)(mag / 100),
                 frac / 10);
    else
        snprintf(buf, size, "%s%llu.%02u", sign,
                 (unsigned long long)(mag / 100), frac);
    return buf;
}

/* ---- arena and destruction -------------------------------------------- */

struct ldr_policy__chunk {
    struct ldr_policy__chunk *next;
    size_t used, size;
    max_align_t data[]; /* aligned for anything */
};

#define CHUNK_BYTES 16384

void *ldr_policy__alloc(ldr_policy_t *policy, size_t size) {
    const size_t align = _Alignof(max_align_t);
    size = (size + align - 1) / align * align;
    struct ldr_policy__chunk *c = policy->arena;
    if (!c || c->size - c->used < size) {
        size_t cap = size > CHUNK_BYTES ? size : CHUNK_BYTES;
        c = ldr_malloc(sizeof *c + cap);
        c->next = policy->arena;
        c->used = 0;
        c->size = cap;
        policy->arena = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *ldr_policy__strdup(ldr_policy_t *policy, const char *s) {
    size_t n = strlen(s);
    char *p = ldr_policy__alloc(policy, n + 1);
    memcpy(p, s, n);
    return p;
}

void ldr_policy_destroy(ldr_policy_t *policy) {
    if (!policy) return;
    struct ldr_policy__chunk *c = policy->arena;
    while (c) {
        struct ldr_policy__chunk *next = c->next;
        free(c);
        c = next;
    }
    free(policy);
}

void ldr_policies_destroy(ldr_policies_t *policies) {
    if (!policies) return;
    for (size_t i = 0; i < policies->n; i++)
        ldr_policy_destroy(policies->v[i]);
    free(policies->v);
    free(policies);
}
