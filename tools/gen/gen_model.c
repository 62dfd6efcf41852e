/* gen_model.c -- the planner, the declaration drawer and the replay of
 * ladder-gen (see gen_model.h for the design, docs/GEN.md for the numbers).
 *
 * Planning runs year by year from 2019, and in each year tier by tier:
 * innovative applications (new enterprises, and some that lost or never got
 * the tier), then provincial applications from enterprises whose innovative
 * designation is active on the application day, then the year's
 * little-giant batch from enterprises whose provincial designation is
 * active. When a pool is short (early 2019) a "climber" is created: a new
 * enterprise that passes the lower tiers in time. A passed application
 * starts a designation chain whose fate is decided at once, period by
 * period: a review inside the window that passes (renewal), one that fails
 * (revoked at the review), or none (revoked or expired at valid_until). So
 * every tier of every enterprise is a list of known intervals, and a later
 * application is only placed where the state machine will accept it.
 * Violations come last: they are placed where no publicity period ends
 * while the case is open, and a verified one drops the rest of that
 * enterprise's history, as the 3-year ban and the cancellation would make
 * it meaningless. */
#include "gen_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_names.h"
#include "ladder/alloc.h"
#include "ladder/err.h"
#include "ladder/time.h"
#include "ladder/validate.h"

#define DAY_MS     LDR_TIME_MS_PER_DAY
#define T_INF      INT64_MAX
#define YEAR0      2019
#define MAX_TRIES  400
#define POOL_TRIES 64

static const long public_designated[GEN_PUBLIC_BATCHES + 1] = {
    0, 248, 1744, 2930, 4357, 3671, 3012, 3482};
static const long public_first_passed[4] = {0, 142, 1079, 2430};

long gen_public_designated(int batch) {
    return batch >= 1 && batch <= GEN_PUBLIC_BATCHES ? public_designated[batch]
                                                     : 0;
}

long gen_public_first_passed(int batch) {
    return batch >= 1 && batch <= 3 ? public_first_passed[batch] : 0;
}

/* Applications per year at scale 1 (2019..2025; later years repeat the
 * last). They add up to 750,000 innovative and 180,000 provincial
 * applications by the end of 2025. */
static const long inn_apps[7] = {45000,  65000,  90000, 125000,
                                 135000, 140000, 150000};
static const long sp_apps[7] = {9000, 18000, 23000, 30000, 32000, 33000, 35000};

#define INN_PASS        0.80
#define SP_PASS         0.78
#define LG_APP_FACTOR   1.6
#define INN_REAPPLY     0.15
#define VIOLATION_SHARE 0.005
#define VERIFIED_SHARE  0.4

/* Review fates per tier: pass, fail (the rest submit nothing). */
static const double fate_pass[LDR_TIER__COUNT] = {0.65, 0.75, 0.85};
static const double fate_fail[LDR_TIER__COUNT] = {0.10, 0.12, 0.10};

/* ---- random numbers --------------------------------------------------- */

/* splitmix64: tiny, fast, and good enough for synthetic data; one stream
 * per purpose, seeded by mixing the run's seed with a label, so that adding
 * a draw in one place does not shift the numbers everywhere else. */
typedef struct rng {
    uint64_t s;
} rng_t;

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t rng_next(rng_t *r) {
    r->s += UINT64_C(0x9e3779b97f4a7c15);
    return mix64(r->s);
}

static rng_t rng_make(uint64_t a, uint64_t b) {
    rng_t r = {mix64(a ^ mix64(b + UINT64_C(0x632be59bd9b4e019)))};
    return r;
}

/* [0, 1) */
static double rng_unit(rng_t *r) {
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_uniform(rng_t *r, double lo, double hi) {
    return lo + (hi - lo) * rng_unit(r);
}

/* [0, n) */
static uint64_t rng_below(rng_t *r, uint64_t n) {
    return n ? rng_next(r) % n : 0;
}

static int rng_int(rng_t *r, int lo, int hi) { /* [lo, hi] */
    return lo + (int)rng_below(r, (uint64_t)(hi - lo + 1));
}

static bool rng_chance(rng_t *r, double p) {
    return rng_unit(r) < p;
}

static double rng_normal(rng_t *r) {
    double u1 = rng_unit(r), u2 = rng_unit(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- enterprises and their designations ---------------------------------
 */

typedef struct gen_iv {
    int64_t from; /* application: the tier leaves NONE */
    int64_t vf;   /* first valid_from: the tier becomes active */
    int64_t to;   /* the tier is NONE again (T_INF: beyond the horizon) */
    uint32_t next;
    uint8_t tier;
} gen_iv_t;

typedef struct gen_ent {
    uint32_t unit;
    uint32_t unit_serial;
    uint32_t region_pick;
    uint32_t ivs; /* 1-based head of the interval list, 0 = none */
    float size;   /* log of the enterprise's typical revenue */
    int16_t last_year[LDR_TIER__COUNT];
    uint8_t lg_early; /* applied in a little-giant batch 1..3 */
    uint8_t pad;
} gen_ent_t;

typedef struct vec {
    void *p;
    size_t n, cap, elem;
} vec_t;

static void *vec_push(vec_t *v) {
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 1024;
        v->p = ldr_realloc(v->p, v->cap * v->elem);
    }
    return (char *)v->p + v->elem * v->n++;
}

#define VEC(type)                                                              \
    { NULL, 0, 0, sizeof(type) }
#define AT(v, type, i) (((type *)(v).p)[i])

struct gen_model {
    gen_params_t par;
    const ldr_units_t *units;
    const ldr_policies_t *pol;
    vec_t ents;            /* gen_ent_t */
    vec_t ivs;             /* gen_iv_t */
    vec_t evs;             /* gen_event_t */
    vec_t pool[2];         /* uint32_t: enterprises with an INN / SP chain */
    uint32_t *unit_serial; /* next serial per unit */
    double unit_wsum;
    uint64_t decl_counter;
    rng_t r; /* planning decisions */
    gen_counts_t counts;
    int last_year;
    char *err;
    size_t err_size;
    bool failed;
};

static int64_t day_ms(int y, int m, int d) {
    return ldr_time_days_from_civil(y, m, d) * DAY_MS;
}

static int year_of(int64_t t) {
    int64_t y;
    int m, d;
    ldr_time_civil_from_days(t / DAY_MS, &y, &m, &d);
    return (int)y;
}

/* A time in office hours (08:30-17:30 Beijing time, 00:30-09:30 UTC) on a
 * day in [from, to) (both midnights). */
static int64_t office_time(rng_t *r, int64_t from, int64_t to) {
    int64_t days = (to - from) / DAY_MS;
    if (days < 1) days = 1;
    int64_t day = from + (int64_t)rng_below(r, (uint64_t)days) * DAY_MS;
    return day + (30 + (int64_t)rng_below(r, 540)) * 60000 +
           (int64_t)rng_below(r, 60) * 1000;
}

static long scaled(double scale, double count) {
    double v = floor(scale * count + 0.5);
    return v < 0 ? 0 : (long)v;
}

static const ldr_policy_lifecycle_t *
lifecycle(const gen_model_t *m, ldr_eval_mode_t mode, int64_t t) {
    return ldr_policy_lifecycle(ldr_policies_select(m->pol, mode, t));
}

static uint32_t new_enterprise(gen_model_t *m) {
    double x = rng_unit(&m->r) * m->unit_wsum, acc = 0;
    size_t n = ldr_units_count(m->units), u = n - 1;
    for (size_t i = 0; i < n; i++) {
        acc += ldr_units_at(m->units, i)->weight;
        if (x < acc) {
            u = i;
            break;
        }
    }
    gen_ent_t *e = vec_push(&m->ents);
    memset(e, 0, sizeof *e);
    e->unit = (uint32_t)u;
    e->unit_serial = m->unit_serial[u]++;
    e->region_pick = (uint32_t)rng_below(&m->r, 1u << 20);
    /* Typical revenue: log-normal around 30 million yuan. */
    e->size = (float)(log(3e7) + 1.0 * rng_normal(&m->r));
    for (int t = 0; t < LDR_TIER__COUNT; t++)
        e->last_year[t] = -1;
    return (uint32_t)(m->ents.n - 1);
}

#define ENT(m, i) (&AT((m)->ents, gen_ent_t, i))
#define IV(m, i)  (&AT((m)->ivs, gen_iv_t, (i)-1))

static void add_iv(gen_model_t *m, uint32_t ent, int tier, int64_t from,
                   int64_t vf, int64_t to) {
    gen_iv_t *iv = vec_push(&m->ivs);
    iv->from = from;
    iv->vf = vf;
    iv->to = to;
    iv->tier = (uint8_t)tier;
    iv->next = ENT(m, ent)->ivs;
    ENT(m, ent)->ivs = (uint32_t)m->ivs.n;
}

/* The tier is active (DESIGNATED or REVIEW_DUE) around @p t, with a day's
 * margin on both sides. */
static bool tier_active(const gen_model_t *m, uint32_t ent, int tier,
                        int64_t t) {
    for (uint32_t i = ENT(m, ent)->ivs; i; i = IV(m, i)->next) {
        const gen_iv_t *iv = IV(m, i);
        if (iv->tier == tier && iv->vf + DAY_MS <= t &&
            (iv->to == T_INF || t + DAY_MS < iv->to))
            return true;
    }
    return false;
}

/* The tier is NONE at @p t and stays so afterwards: no chain ends later
 * than a day before @p t. */
static bool tier_free(const gen_model_t *m, uint32_t ent, int tier, int64_t t) {
    for (uint32_t i = ENT(m, ent)->ivs; i; i = IV(m, i)->next) {
        const gen_iv_t *iv = IV(m, i);
        if (iv->tier == tier && (iv->to == T_INF || iv->to + DAY_MS > t))
            return false;
    }
    return true;
}

/* ---- declarations ------------------------------------------------------- */

/* Criteria a failing little-giant declaration may break. */
enum {
    BRK_YEARS,
    BRK_SHARE,
    BRK_GROWTH,
    BRK_INFO,
    BRK_CERT,
    BRK_LIAB,
    BRK_MARKET,
    BRK_BRAND,
    BRK_RD,
    BRK_INST,
    BRK_IP,
    BRK_CHAIN,
    BRK_FIELD,
    BRK__COUNT
};
/* ... and a failing provincial one. */
enum { SBRK_YEARS, SBRK_RDEXP, SBRK_RDINT, SBRK_REVENUE, SBRK_SCORE };

static int64_t clamp_amount(double v) {
    if (!(v > 0)) return 0;
    if (v > 1e14) return INT64_C(100000000000000);
    return (int64_t)llround(v);
}

static double pct2(double v) { /* two decimals, like a statistics form */
    return floor(v * 100.0) / 100.0;
}

/* Draws one declaration for @p tier, from the passing profile (@p good) or
 * a failing one, for an enterprise of typical revenue exp(@p size) at time
 * @p t. A pure function of its arguments. */
static void draw(uint64_t seed, double size, int tier, bool good, int64_t t,
                 ldr_indicators_t *ind) {
    rng_t r = {seed};
    rng_t *R = &r;
    memset(ind, 0, sizeof *ind);
    bool lg = tier == LDR_TIER_LITTLE_GIANT, sp = tier == LDR_TIER_SPECIALIZED;
    bool inn = tier == LDR_TIER_INNOVATIVE;
    uint32_t brk = 0;  /* LG criteria to break */
    uint32_t sbrk = 0; /* SP conditions to break */
    if (lg && !good) {
        int k = rng_int(R, 1, 3);
        for (int i = 0; i < k; i++)
            brk |= 1u << rng_below(R, BRK__COUNT);
    }
    if (sp && !good) {
        int k = rng_int(R, 1, 2);
        for (int i = 0; i < k; i++)
            sbrk |= 1u << rng_below(R, 5);
    }
    bool strong = lg || (sp && !(sbrk & (1u << SBRK_SCORE)));
    bool weak = inn && !good;
    bool sp_good = sp && !(sbrk & (1u << SBRK_SCORE));

    /* revenue */
    int year = year_of(t);
    double rev = exp(size + 0.07 * (year - YEAR0) + 0.15 * rng_normal(R));
    if (sp && !(sbrk & (1u << SBRK_REVENUE)) && rev < 1.5e7)
        rev = 1.5e7 * (1.0 + 2.0 * rng_unit(R));
    if (sp && (sbrk & (1u << SBRK_REVENUE)) && rev >= 1e7)
        rev = rng_uniform(R, 3e6, 9.8e6);
    if (lg && rev < 2e8) rev = 2e8 * exp(0.7 * fabs(rng_normal(R)));
    if (rev > 5e10) rev = 5e10 * rng_uniform(R, 0.5, 1.0);

    /* main-business share and growth */
    double share;
    if (lg)
        share = (brk & (1u << BRK_SHARE)) ? rng_uniform(R, 50, 69.5)
                                          : rng_uniform(R, 91, 99.8);
    else if (sp)
        share = sp_good ? rng_uniform(R, 75, 99.5) : rng_uniform(R, 45, 70);
    else
        share = good ? rng_uniform(R, 62, 99.5) : rng_uniform(R, 30, 80);
    double share_prev = share + rng_uniform(R, -2.5, 2.5);
    if (share_prev > 100) share_prev = 100;
    if (share_prev < 20) share_prev = 20;
    double g1, g0;
    if ((lg && !(brk & (1u << BRK_GROWTH))) || sp_good || (inn && good)) {
        g1 = rng_uniform(R, 0.06, 0.35);
        g0 = rng_uniform(R, 0.06, 0.35);
    } else if (lg) {
        g1 = rng_uniform(R, -0.15, 0.04);
        g0 = rng_uniform(R, -0.12, 0.05);
    } else {
        g1 = rng_uniform(R, -0.25, 0.12);
        g0 = rng_uniform(R, -0.2, 0.2);
    }
    double main_rev = rev * share / 100.0;
    double main_prev = main_rev / (1.0 + g1);
    double main_prev2 = main_prev / (1.0 + g0);
    double rev_prev = main_prev * 100.0 / share_prev;
    ind->revenue = clamp_amount(rev);
    ind->main_revenue = clamp_amount(main_rev);
    if (ind->main_revenue > ind->revenue) ind->main_revenue = ind->revenue;
    ind->revenue_prev = clamp_amount(rev_prev);
    ind->main_revenue_prev = clamp_amount(main_prev);
    if (ind->main_revenue_prev > ind->revenue_prev)
        ind->main_revenue_prev = ind->revenue_prev;
    ind->main_revenue_prev2 = clamp_amount(main_prev2);

    /* profit */
    double margin = (strong || good) ? rng_uniform(R, 0.03, 0.18)
                                     : rng_uniform(R, -0.12, 0.10);
    ind->net_profit = (int64_t)llround(rev * margin);

    /* R&D */
    double in1, in0;
    if (lg) {
        if (brk & (1u << BRK_RD)) {
            in1 = rng_uniform(R, 1.0, 2.9);
            in0 = rng_uniform(R, 1.0, 4.0);
        } else {
            in1 = rng_uniform(R, 4.2, 9.0);
            in0 = rng_uniform(R, 4.0, 9.0);
        }
    } else if (sp) {
        if (sbrk & (1u << SBRK_RDINT)) {
            in1 = rng_uniform(R, 0.8, 2.9);
        } else {
            in1 = sp_good ? rng_uniform(R, 3.3, 12) : rng_uniform(R, 3.1, 5);
        }
        in0 = in1 + rng_uniform(R, -0.8, 0.8);
    } else {
        in1 = good ? rng_uniform(R, 1.5, 10) : rng_uniform(R, 0, 3.5);
        in0 = in1 + rng_uniform(R, -0.8, 0.8);
    }
    if (in0 < 0) in0 = 0;
    ind->rd_expense = clamp_amount(rev * in1 / 100.0);
    ind->rd_expense_prev = clamp_amount(rev_prev * in0 / 100.0);
    if (sp && !(sbrk & (1u << SBRK_RDEXP)) && ind->rd_expense < 1100000)
        ind->rd_expense = 1100000 + (int64_t)rng_below(R, 600000);
    if (sp && (sbrk & (1u << SBRK_RDEXP)) && ind->rd_expense >= 1000000)
        ind->rd_expense = 300000 + (int64_t)rng_below(R, 650000);
    if (ind->rd_expense > ind->revenue) ind->rd_expense = ind->revenue / 2;

    /* people */
    double per_head = rng_uniform(R, 6e5, 2e6);
    double emp = rev / per_head;
    if (emp < 8) emp = 8 + rng_below(R, 20);
    if (emp > 60000) emp = 60000;
    ind->employees = (int32_t)emp;
    double staff = (strong || good) ? rng_uniform(R, 0.12, 0.45)
                                    : rng_uniform(R, 0.02, 0.30);
    ind->rd_staff = (int32_t)(ind->employees * staff);

    /* balance sheet and financing */
    if (lg && (brk & (1u << BRK_LIAB)))
        ind->asset_liability_pct = pct2(rng_uniform(R, 70.5, 95));
    else if (strong || good)
        ind->asset_liability_pct = pct2(rng_uniform(R, 15, 62));
    else
        ind->asset_liability_pct = pct2(rng_uniform(R, 25, 95));
    if (!weak && rng_chance(R, lg ? 0.3 : 0.15)) {
        double e3 = exp(log(1.5e7) + 0.8 * rng_normal(R));
        ind->equity_financing_3y = clamp_amount(e3);
        ind->equity_financing_2y = clamp_amount(e3 * rng_uniform(R, 0.3, 1.0));
    }

    /* market */
    if (lg && !(brk & (1u << BRK_MARKET))) {
        ind->niche_market_share_pct = pct2(rng_uniform(R, 10.5, 42));
        ind->niche_market_rank = rng_int(R, 1, 5);
    } else {
        ind->niche_market_share_pct = pct2(rng_uniform(R, 0.5, lg ? 9.9 : 25));
        ind->niche_market_rank = rng_chance(R, 0.5) ? 0 : rng_int(R, 4, 80);
    }

    /* intellectual property */
    if (lg) {
        if (brk & (1u << BRK_IP))
            ind->ip_class1 = rng_int(R, 0, 1);
        else
            ind->ip_class1 = rng_int(R, 4, 35);
        ind->ip_class1_high_value = rng_int(R, 0, ind->ip_class1 / 2);
        ind->ip_class1_self_developed =
            ind->ip_class1 - rng_int(R, 0, ind->ip_class1 / 3);
        ind->ip_class2 = rng_int(R, 2, 60);
    } else {
        double x = rng_unit(R);
        double phv = (strong || good) ? 0.35 : 0.05;
        double pself = (strong || good) ? 0.25 : 0.10;
        double p1 = (strong || good) ? 0.20 : 0.15;
        if (x < phv) {
            ind->ip_class1 = rng_int(R, 1, 12);
            ind->ip_class1_high_value = rng_int(R, 1, ind->ip_class1);
            ind->ip_class1_self_developed = ind->ip_class1;
        } else if (x < phv + pself) {
            ind->ip_class1 = rng_int(R, 1, 8);
            ind->ip_class1_self_developed = rng_int(R, 1, ind->ip_class1);
        } else if (x < phv + pself + p1) {
            ind->ip_class1 = rng_int(R, 1, 4);
        }
        if (x >= phv + pself + p1 &&
            rng_chance(R, (strong || good) ? 0.8 : 0.5))
            ind->ip_class2 = rng_int(R, 1, 25);
        else if (ind->ip_class1 > 0)
            ind->ip_class2 = rng_int(R, 0, 25);
    }

    /* R&D institution */
    if (lg) {
        if (brk & (1u << BRK_INST)) {
            ind->rd_institution = LDR_RD_NONE;
        } else {
            double x = rng_unit(R);
            ind->rd_institution = x < 0.4    ? LDR_RD_MUNICIPAL
                                  : x < 0.85 ? LDR_RD_PROVINCIAL
                                             : LDR_RD_NATIONAL;
        }
    } else if (weak) {
        ind->rd_institution = (ldr_rd_institution_t)rng_int(R, 0, 2);
    } else if (strong || good) {
        ind->rd_institution = (ldr_rd_institution_t)rng_int(R, 1, 4);
    } else {
        ind->rd_institution = (ldr_rd_institution_t)rng_int(R, 0, 2);
    }

    /* management */
    ind->digitalization_level =
        (strong || good) ? rng_int(R, 3, 4) : rng_int(R, 1, 3);
    ind->quality_items = (strong || good) ? rng_int(R, 2, 4) : rng_int(R, 0, 2);
    ind->own_brand =
        lg ? !(brk & (1u << BRK_BRAND)) : rng_chance(R, strong ? 0.85 : 0.6);
    ind->mgmt_certification =
        lg ? !(brk & (1u << BRK_CERT)) : rng_chance(R, strong ? 0.85 : 0.6);
    ind->core_business_on_info_system =
        lg ? !(brk & (1u << BRK_INFO)) : rng_chance(R, strong ? 0.8 : 0.5);
    ind->strategic_emerging_field = rng_chance(R, strong ? 0.7 : 0.45);
    ind->field_gap_filling = rng_chance(R, strong ? 0.25 : 0.1);
    ind->field_six_foundations =
        lg ? !(brk & (1u << BRK_FIELD)) : rng_chance(R, strong ? 0.4 : 0.2);
    ind->key_chain_link =
        lg ? !(brk & (1u << BRK_CHAIN)) : rng_chance(R, strong ? 0.35 : 0.15);

    /* honours */
    uint32_t h = 0;
    if (!weak) {
        if (rng_chance(R, lg ? 0.8 : strong ? 0.5 : 0.3))
            h |= 1u << LDR_HONOUR_HIGH_TECH_ENTERPRISE;
        if (rng_chance(R, 0.05)) h |= 1u << LDR_HONOUR_ST_AWARD_3Y;
        if (rng_chance(R, 0.04)) h |= 1u << LDR_HONOUR_IP_ADVANTAGE_ENTERPRISE;
        if (rng_chance(R, 0.03))
            h |= 1u << LDR_HONOUR_TECH_INNOVATION_DEMO_ENTERPRISE;
        if (strong && rng_chance(R, 0.04))
            h |= 1u << LDR_HONOUR_ST_AWARD_PROVINCIAL_TOP3_3Y;
        if (strong && rng_chance(R, 0.03))
            h |= 1u << LDR_HONOUR_MAKER_CHINA_TOP500_3Y;
        if (lg && !brk && rng_chance(R, 0.02))
            h |= 1u << LDR_HONOUR_ST_AWARD_NATIONAL_TOP5_3Y;
        if (lg && !brk && rng_chance(R, 0.01))
            h |= 1u << LDR_HONOUR_MAKER_CHINA_TOP50_3Y;
    }
    ind->honours = h;
    ind->local_score = (strong || good) ? rng_int(R, 8, 15) : rng_int(R, 0, 9);

    /* years in the niche */
    if (lg)
        ind->years_in_niche =
            (brk & (1u << BRK_YEARS)) ? rng_int(R, 1, 2) : rng_int(R, 4, 25);
    else if (sp)
        ind->years_in_niche =
            (sbrk & (1u << SBRK_YEARS)) ? rng_int(R, 0, 1) : rng_int(R, 3, 20);
    else
        ind->years_in_niche = good ? rng_int(R, 1, 15) : rng_int(R, 0, 8);

    /* The 2026 measures' development evaluation, declared from 2026 on. */
    if (t >= day_ms(2026, 1, 1)) {
        ind->has_development_score = true;
        ind->development_score =
            (lg && !brk) ? rng_int(R, 62, 96) : rng_int(R, 35, 92);
    }
}

/* Draws declarations until the engine's verdict for (tier, mode, t) is
 * @p want; returns the verdict and stores the accepted seed. Gives up after
 * MAX_TRIES draws (a policy file made the wish impossible) and then keeps
 * the engine's verdict on the last draw. */
static bool declare(gen_model_t *m, uint32_t ent, int tier,
                    ldr_eval_mode_t mode, int64_t t, bool want,
                    uint64_t *seed_out) {
    uint64_t base = mix64(m->par.seed ^ mix64(++m->decl_counter));
    ldr_indicators_t ind;
    ldr_eval_result_t res;
    double size = ENT(m, ent)->size;
    for (int k = 0; k < MAX_TRIES; k++) {
        uint64_t seed = mix64(base + (uint64_t)k);
        draw(seed, size, tier, want, t, &ind);
        ldr_policy_evaluate(m->pol, (ldr_tier_t)tier, mode, t, &ind, &res);
        *seed_out = seed;
        if (res.pass == want) return want;
    }
    m->counts.flipped++;
    return !want;
}

static gen_event_t *add_event(gen_model_t *m, uint32_t ent, int kind, int tier,
                              int64_t t) {
    gen_event_t *ev = vec_push(&m->evs);
    memset(ev, 0, sizeof *ev);
    ev->t = t;
    ev->ent = ent;
    ev->kind = (uint8_t)kind;
    ev->tier = (uint8_t)tier;
    return ev;
}

/* ---- designation chains ------------------------------------------------- */

enum { FATE_PASS, FATE_FAIL, FATE_NONE, FATE_RANDOM };

static int draw_fate(gen_model_t *m, int tier) {
    double x = rng_unit(&m->r);
    if (x < fate_pass[tier]) return FATE_PASS;
    if (x < fate_pass[tier] + fate_fail[tier]) return FATE_FAIL;
    return FATE_NONE;
}

/* Plans the designation that an application passed at @p app starts:
 * every period's review (or its absence) up to the horizon. @p first_fate
 * decides the first period (FATE_RANDOM: drawn). Records the interval. */
static void plan_chain(gen_model_t *m, uint32_t ent, int tier, int64_t app,
                       int first_fate) {
    const ldr_policy_lifecycle_t *lc = lifecycle(m, LDR_EVAL_APPLICATION, app);
    int64_t vf0 = ldr_time_add_days(app, lc->publicity_days);
    int64_t vu = ldr_time_add_years(vf0, lc->validity_years);
    int64_t end = T_INF;
    int fate = first_fate == FATE_RANDOM ? draw_fate(m, tier) : first_fate;
    for (;;) {
        int window = lc->review_window_days;
        if (fate == FATE_NONE) {
            end = vu > m->par.until_ms ? T_INF : vu;
            break;
        }
        /* inside [vu - window, vu), a few days clear of both ends */
        int64_t lo = ldr_time_add_days(vu, -(window - 4));
        int64_t hi = ldr_time_add_days(vu, -3);
        int64_t r = office_time(&m->r, lo - lo % DAY_MS, hi - hi % DAY_MS);
        if (r >= m->par.until_ms) break; /* beyond the horizon */
        gen_event_t *ev = add_event(m, ent, GEN_EV_REVIEW, tier, r);
        uint64_t seed;
        bool pass =
            declare(m, ent, tier, LDR_EVAL_REVIEW, r, fate == FATE_PASS, &seed);
        ev = &AT(m->evs, gen_event_t, m->evs.n - 1);
        ev->seed = seed;
        ev->flags = (uint8_t)((pass ? GEN_F_PASS : 0) |
                              (fate == FATE_PASS ? GEN_F_GOOD : 0));
        if (!pass) {
            end = r;
            break;
        }
        lc = lifecycle(m, LDR_EVAL_REVIEW, r);
        vu = ldr_time_add_years(vu, lc->validity_years);
        fate = draw_fate(m, tier);
    }
    add_iv(m, ent, tier, app, vf0, end);
    if (tier != LDR_TIER_LITTLE_GIANT) {
        uint32_t *p = vec_push(&m->pool[tier]);
        *p = ent;
    }
}

/* One application; returns the engine's verdict. A passed one starts its
 * chain unless @p defer_chain (the caller plans it with a chosen fate). */
static bool apply(gen_model_t *m, uint32_t ent, int tier, int64_t t, int batch,
                  bool want, bool defer_chain) {
    add_event(m, ent, GEN_EV_APPLICATION, tier, t);
    size_t idx = m->evs.n - 1;
    uint64_t seed;
    bool pass = declare(m, ent, tier, LDR_EVAL_APPLICATION, t, want, &seed);
    gen_event_t *ev = &AT(m->evs, gen_event_t, idx);
    ev->seed = seed;
    ev->batch = (uint16_t)batch;
    ev->flags = (uint8_t)((pass ? GEN_F_PASS : 0) | (want ? GEN_F_GOOD : 0));
    ENT(m, ent)->last_year[tier] = (int16_t)year_of(t);
    if (tier == LDR_TIER_LITTLE_GIANT && batch <= 3) ENT(m, ent)->lg_early = 1;
    if (pass && !defer_chain) plan_chain(m, ent, tier, t, FATE_RANDOM);
    return pass;
}

/* A new enterprise that holds @p tier's prerequisites at @p t: it passed
 * the lower tiers shortly before. Returns UINT32_MAX when that would start
 * before 2019 or the engine refused a passing declaration. */
static uint32_t climber(gen_model_t *m, int tier, int64_t t) {
    int64_t start = day_ms(YEAR0, 1, 2);
    int64_t sp_at = t - (int64_t)rng_int(&m->r, 25, 50) * DAY_MS;
    int64_t inn_at = (tier == LDR_TIER_LITTLE_GIANT ? sp_at : t) -
                     (int64_t)rng_int(&m->r, 20, 40) * DAY_MS;
    inn_at = inn_at - inn_at % DAY_MS + 3600000;
    sp_at = sp_at - sp_at % DAY_MS + 7200000;
    if (inn_at < start) return UINT32_MAX;
    uint32_t e = new_enterprise(m);
    int b = year_of(inn_at) - YEAR0 + 1;
    if (!apply(m, e, LDR_TIER_INNOVATIVE, inn_at, b, true, false))
        return UINT32_MAX;
    if (!tier_active(m, e, LDR_TIER_INNOVATIVE,
                     tier == LDR_TIER_SPECIALIZED ? t : sp_at))
        return UINT32_MAX;
    if (tier == LDR_TIER_LITTLE_GIANT) {
        if (!apply(m, e, LDR_TIER_SPECIALIZED, sp_at,
                   year_of(sp_at) - YEAR0 + 1, true, false) ||
            !tier_active(m, e, LDR_TIER_SPECIALIZED, t))
            return UINT32_MAX;
    }
    return e;
}

/* An enterprise from @p pool (or any, for INNOVATIVE) that may apply for
 * @p tier at @p t: prerequisite active, tier free, not applied this year. */
static uint32_t pick(gen_model_t *m, int tier, int64_t t) {
    int y = year_of(t);
    for (int k = 0; k < POOL_TRIES; k++) {
        uint32_t e;
        if (tier == LDR_TIER_INNOVATIVE) {
            if (!m->ents.n) return UINT32_MAX;
            e = (uint32_t)rng_below(&m->r, m->ents.n);
        } else {
            vec_t *p = &m->pool[tier - 1];
            if (!p->n) return UINT32_MAX;
            e = AT(*p, uint32_t, rng_below(&m->r, p->n));
            if (!tier_active(m, e, tier - 1, t)) continue;
        }
        if (ENT(m, e)->last_year[tier] == y) continue;
        if (!tier_free(m, e, tier, t)) continue;
        return e;
    }
    return UINT32_MAX;
}

static void progress(gen_model_t *m, const char *phase, double done) {
    if (m->par.progress) m->par.progress(m->par.progress_arg, phase, done);
}

static void shuffle_u32(rng_t *r, uint32_t *a, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rng_below(r, i);
        uint32_t x = a[i - 1];
        a[i - 1] = a[j];
        a[j] = x;
    }
}

static void plan_year(gen_model_t *m, int y) {
    int yi = y - YEAR0 < 6 ? y - YEAR0 : 6;
    int batch = y - YEAR0 + 1;
    int64_t until = m->par.until_ms;

    /* innovative */
    long n = scaled(m->par.scale, (double)inn_apps[yi]);
    for (long i = 0; i < n; i++) {
        int64_t t = office_time(&m->r, day_ms(y, 1, 2), day_ms(y, 12, 29));
        bool want = rng_chance(&m->r, INN_PASS);
        if (t >= until) continue;
        uint32_t e = UINT32_MAX;
        if (y > YEAR0 && rng_chance(&m->r, INN_REAPPLY))
            e = pick(m, LDR_TIER_INNOVATIVE, t);
        if (e == UINT32_MAX) e = new_enterprise(m);
        apply(m, e, LDR_TIER_INNOVATIVE, t, batch, want, false);
    }

    /* provincial */
    n = scaled(m->par.scale, (double)sp_apps[yi]);
    for (long i = 0; i < n; i++) {
        int64_t t = office_time(&m->r, day_ms(y, 3, 1), day_ms(y, 12, 21));
        bool want = rng_chance(&m->r, SP_PASS);
        if (t >= until) continue;
        uint32_t e = pick(m, LDR_TIER_SPECIALIZED, t);
        if (e == UINT32_MAX) e = climber(m, LDR_TIER_SPECIALIZED, t);
        if (e == UINT32_MAX) continue;
        apply(m, e, LDR_TIER_SPECIALIZED, t, batch, want, false);
    }

    /* little giants: the batch's designations are exact */
    if (batch > GEN_BATCH_MAX) return;
    long pub = gen_public_designated(
        batch <= GEN_PUBLIC_BATCHES ? batch : GEN_PUBLIC_BATCHES);
    long d = scaled(m->par.scale, (double)pub);
    long a = (long)floor(LG_APP_FACTOR * (double)d + 0.5);
    m->counts.batches = batch;
    m->counts.batch_target[batch] = d;
    uint32_t *passed = ldr_calloc((size_t)a + 1, sizeof *passed);
    int64_t *passed_at = ldr_calloc((size_t)a + 1, sizeof *passed_at);
    size_t np = 0;
    /* exactly d of the a applications are meant to pass */
    uint32_t *want = ldr_calloc((size_t)a + 1, sizeof *want);
    for (long i = 0; i < a; i++)
        want[i] = i < d;
    shuffle_u32(&m->r, want, (size_t)a);
    for (long i = 0; i < a; i++) {
        int64_t t = office_time(&m->r, day_ms(y, 7, 1), day_ms(y, 11, 1));
        if (t >= until) continue;
        uint32_t e = pick(m, LDR_TIER_LITTLE_GIANT, t);
        if (e == UINT32_MAX) e = climber(m, LDR_TIER_LITTLE_GIANT, t);
        if (e == UINT32_MAX) continue;
        if (apply(m, e, LDR_TIER_LITTLE_GIANT, t, batch, want[i] != 0, true)) {
            passed[np] = e;
            passed_at[np++] = t;
        }
    }
    /* First reviews of batches 1-3 follow the public pass rates exactly;
     * the others are drawn. */
    long first_pass = -1;
    if (batch <= 3 && np)
        first_pass =
            (long)floor((double)np * (double)public_first_passed[batch] /
                            (double)public_designated[batch] +
                        0.5);
    uint32_t *order = ldr_calloc(np + 1, sizeof *order);
    for (size_t i = 0; i < np; i++)
        order[i] = (uint32_t)i;
    shuffle_u32(&m->r, order, np);
    for (size_t k = 0; k < np; k++) {
        size_t i = order[k];
        int fate = FATE_RANDOM;
        if (first_pass >= 0)
            fate = (long)k < first_pass      ? FATE_PASS
                   : rng_chance(&m->r, 0.75) ? FATE_FAIL
                                             : FATE_NONE;
        plan_chain(m, passed[i], LDR_TIER_LITTLE_GIANT, passed_at[i], fate);
    }
    free(order);
    free(want);
    free(passed);
    free(passed_at);
}

/* ---- violations --------------------------------------------------------- */

static int cmp_ent_time(const void *pa, const void *pb) {
    const gen_event_t *a = pa, *b = pb;
    if (a->ent != b->ent) return a->ent < b->ent ? -1 : 1;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
    if (a->tier != b->tier) return a->tier < b->tier ? -1 : 1;
    return (a->seed > b->seed) - (a->seed < b->seed);
}

static int cmp_output(const void *pa, const void *pb) {
    const gen_event_t *a = pa, *b = pb;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    if (a->ent != b->ent) return a->ent < b->ent ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

static void plan_violations(gen_model_t *m, size_t *first) {
    /* enterprises with a designation */
    vec_t des = VEC(uint32_t);
    for (size_t i = 0; i < m->pool[0].n; i++) {
        uint32_t *p = vec_push(&des);
        *p = AT(m->pool[0], uint32_t, i);
    }
    /* distinct, in a deterministic order */
    uint8_t *seen = ldr_calloc(m->ents.n + 1, 1);
    size_t nd = 0;
    for (size_t i = 0; i < des.n; i++) {
        uint32_t e = AT(des, uint32_t, i);
        if (!seen[e]) {
            seen[e] = 1;
            AT(des, uint32_t, nd++) = e;
        }
    }
    memset(seen, 0, m->ents.n + 1);
    long reported = scaled(1.0, VIOLATION_SHARE * (double)nd);
    long verified = scaled(1.0, VERIFIED_SHARE * (double)reported);
    const gen_event_t *evs = m->evs.p;
    long made = 0;
    rng_t r = rng_make(m->par.seed, 0x76696f6cu);
    for (long tries = 0; made < reported && tries < reported * 200 + 1000;
         tries++) {
        uint32_t e = AT(des, uint32_t, rng_below(&r, nd));
        if (seen[e]) continue;
        bool verify = made < verified;
        size_t lo = first[e], hi = first[e + 1];
        /* after the first designation (publicity end of the earliest
         * passed application) */
        int64_t vf = T_INF;
        for (size_t i = lo; i < hi; i++)
            if (evs[i].kind == GEN_EV_APPLICATION &&
                (evs[i].flags & GEN_F_PASS)) {
                vf = ldr_time_add_days(
                    evs[i].t, 1 + lifecycle(m, LDR_EVAL_APPLICATION, evs[i].t)
                                      ->publicity_days);
                break;
            }
        if (vf == T_INF) continue;
        int64_t v_lo = vf + 20 * DAY_MS;
        int64_t v_hi = vf + 3 * 365 * DAY_MS;
        if (v_hi > m->par.until_ms - 60 * DAY_MS)
            v_hi = m->par.until_ms - 60 * DAY_MS;
        if (v_hi <= v_lo + DAY_MS) continue;
        int64_t v = office_time(&r, v_lo - v_lo % DAY_MS, v_hi - v_hi % DAY_MS);
        int64_t v2 = office_time(&r, v - v % DAY_MS + 14 * DAY_MS,
                                 v - v % DAY_MS + 42 * DAY_MS);
        if (v2 >= m->par.until_ms) continue;
        bool ok = true;
        for (size_t i = lo; i < hi && ok; i++) {
            const gen_event_t *x = &evs[i];
            /* no publicity may start or end while the case is open */
            if (x->kind == GEN_EV_APPLICATION && (x->flags & GEN_F_PASS)) {
                int64_t pe = ldr_time_add_days(
                    x->t,
                    lifecycle(m, LDR_EVAL_APPLICATION, x->t)->publicity_days);
                if (x->t <= v2 + 2 * DAY_MS && pe >= v - 2 * DAY_MS) ok = false;
            }
            if (llabs(x->t - v) < DAY_MS || llabs(x->t - v2) < DAY_MS)
                ok = false;
            if (verify && x->tier == LDR_TIER_LITTLE_GIANT &&
                x->kind != GEN_EV_VIOLATION &&
                (x->t > v || ENT(m, e)->lg_early))
                ok = false;
        }
        if (!ok) continue;
        seen[e] = 1;
        made++;
        if (verify) /* nothing of this enterprise happens after the report */
            for (size_t i = lo; i < hi; i++)
                if (AT(m->evs, gen_event_t, i).t > v)
                    AT(m->evs, gen_event_t, i).flags |= GEN_F_DEAD;
        int kind = (int)rng_below(&r, LDR_VIOLATION__COUNT);
        gen_event_t *a = add_event(m, e, GEN_EV_VIOLATION, 0, v);
        a->vkind = (uint8_t)kind;
        a->vstatus = LDR_CASE_REPORTED;
        a->seed = (uint64_t)made;
        gen_event_t *b = add_event(m, e, GEN_EV_VIOLATION, 0, v2);
        b->vkind = (uint8_t)kind;
        b->vstatus = verify ? LDR_CASE_VERIFIED : LDR_CASE_DISMISSED;
        b->seed = (uint64_t)made;
        evs = m->evs.p; /* may have moved */
        if (verify)
            m->counts.verified++;
        else
            m->counts.dismissed++;
    }
    m->counts.violation_enterprises = made;
    free(seen);
    free(des.p);
}

/* ---- replay --------------------------------------------------------------
 */

typedef struct tstate {
    int st; /* 0 NONE, 1 PUBLICITY, 2 ACTIVE */
    int64_t pub_end, vu;
    int batch;
    bool first_pending;
    const ldr_policy_lifecycle_t *lc;
} tstate_t;

static bool replay_fail(gen_model_t *m, const char *what, uint32_t ent,
                        int64_t t) {
    char ts[LDR_TIME_FORMAT_SIZE];
    ldr_time_format(t, ts, sizeof ts);
    if (!m->failed)
        ldr_err_set(m->err, m->err_size, LDR_ERR_INVALID_ARG,
                    "planner bug: enterprise %u at %s: %s", ent, ts, what);
    m->failed = true;
    return false;
}

static void fire(gen_model_t *m, tstate_t *ts, int64_t now) {
    gen_counts_t *c = &m->counts;
    for (int tier = 0; tier < LDR_TIER__COUNT; tier++) {
        tstate_t *s = &ts[tier];
        for (;;) {
            if (s->st == 1 && s->pub_end <= now) {
                s->st = 2;
                s->vu = ldr_time_add_years(s->pub_end, s->lc->validity_years);
                c->tier[tier].designated++;
                if (tier == LDR_TIER_LITTLE_GIANT) {
                    c->batch[s->batch].designated++;
                    s->first_pending = true;
                }
            } else if (s->st == 2 && s->vu <= now) {
                s->st = 0;
                bool expire =
                    s->lc->on_validity_end[tier] == LDR_DECISION_EXPIRED;
                if (expire)
                    c->tier[tier].expired++;
                else
                    c->tier[tier].revoked_no_submission++;
                if (tier == LDR_TIER_LITTLE_GIANT) {
                    if (expire)
                        c->batch[s->batch].expired++;
                    else
                        c->batch[s->batch].revoked_no_submission++;
                    if (s->first_pending) c->first[s->batch].not_submitted++;
                    s->first_pending = false;
                }
            } else {
                break;
            }
        }
    }
}

static bool replay_enterprise(gen_model_t *m, gen_event_t *evs, size_t n) {
    gen_counts_t *c = &m->counts;
    tstate_t ts[LDR_TIER__COUNT];
    memset(ts, 0, sizeof ts);
    int64_t ban = INT64_MIN;
    int open = 0;
    for (size_t i = 0; i < n; i++) {
        gen_event_t *ev = &evs[i];
        ev->seq = (uint32_t)i + 1;
        fire(m, ts, ev->t);
        tstate_t *s = &ts[ev->tier];
        bool pass = ev->flags & GEN_F_PASS;
        gen_outcomes_t *bo = NULL;
        if (ev->kind == GEN_EV_APPLICATION) {
            const ldr_policy_lifecycle_t *lc =
                lifecycle(m, LDR_EVAL_APPLICATION, ev->t);
            int pre = lc->prerequisite[ev->tier];
            if (ban > ev->t)
                return replay_fail(m, "application while banned", ev->ent,
                                   ev->t);
            if (s->st != 0)
                return replay_fail(m, "application for a held tier", ev->ent,
                                   ev->t);
            if (pre >= 0 && ts[pre].st != 2)
                return replay_fail(m, "application without prerequisite",
                                   ev->ent, ev->t);
            c->tier[ev->tier].applications++;
            if (ev->tier == LDR_TIER_LITTLE_GIANT) {
                bo = &c->batch[ev->batch];
                bo->applications++;
            }
            if (pass) {
                s->st = 1;
                s->lc = lc;
                s->pub_end = ldr_time_add_days(ev->t, lc->publicity_days);
                s->batch = ev->batch;
                if (open)
                    return replay_fail(m, "publicity during an open case",
                                       ev->ent, ev->t);
            } else {
                c->tier[ev->tier].rejected++;
                if (bo) bo->rejected++;
            }
        } else if (ev->kind == GEN_EV_REVIEW) {
            if (s->st != 2 ||
                ev->t < ldr_time_add_days(s->vu, -s->lc->review_window_days))
                return replay_fail(m, "review outside the window", ev->ent,
                                   ev->t);
            c->tier[ev->tier].reviews++;
            if (ev->tier == LDR_TIER_LITTLE_GIANT) {
                bo = &c->batch[s->batch];
                bo->reviews++;
                if (s->first_pending) {
                    c->first[s->batch].submitted++;
                    if (pass)
                        c->first[s->batch].passed++;
                    else
                        c->first[s->batch].failed++;
                    s->first_pending = false;
                }
            }
            if (pass) {
                s->lc = lifecycle(m, LDR_EVAL_REVIEW, ev->t);
                s->vu = ldr_time_add_years(s->vu, s->lc->validity_years);
                c->tier[ev->tier].renewed++;
                if (bo) bo->renewed++;
            } else {
                s->st = 0;
                c->tier[ev->tier].revoked_review_failed++;
                if (bo) bo->revoked_review_failed++;
            }
        } else {
            if (ev->vstatus == LDR_CASE_REPORTED) {
                open++;
            } else if (ev->vstatus == LDR_CASE_DISMISSED) {
                open--;
            } else {
                if (open) open--;
                const ldr_policy_lifecycle_t *lc =
                    lifecycle(m, LDR_EVAL_APPLICATION, ev->t);
                int64_t b = ldr_time_add_years(ev->t, lc->ban_years);
                if (b > ban) ban = b;
                for (int tier = 0; tier < LDR_TIER__COUNT; tier++) {
                    if (!ts[tier].st) continue;
                    c->tier[tier].cancelled++;
                    if (tier == LDR_TIER_LITTLE_GIANT) {
                        c->batch[ts[tier].batch].cancelled++;
                        if (ts[tier].first_pending)
                            c->first[ts[tier].batch].cancelled++;
                        ts[tier].first_pending = false;
                    }
                    ts[tier].st = 0;
                }
            }
        }
    }
    fire(m, ts, m->par.until_ms);
    return true;
}

/* ---- the whole model ------------------------------------------------------
 */

gen_model_t *gen_model_build(const gen_params_t *params,
                             const ldr_units_t *units,
                             const ldr_policies_t *policies, char *errstr,
                             size_t errstr_size) {
    gen_model_t *m = ldr_calloc(1, sizeof *m);
    vec_t e0 = VEC(gen_ent_t), i0 = VEC(gen_iv_t), v0 = VEC(gen_event_t),
          p0 = VEC(uint32_t);
    m->ents = e0;
    m->ivs = i0;
    m->evs = v0;
    m->pool[0] = p0;
    m->pool[1] = p0;
    m->par = *params;
    m->units = units;
    m->pol = policies;
    m->err = errstr;
    m->err_size = errstr_size;
    m->r = rng_make(params->seed, 0x706c616eu);
    size_t nu = ldr_units_count(units);
    m->unit_serial = ldr_calloc(nu + 1, sizeof *m->unit_serial);
    for (size_t i = 0; i < nu; i++)
        m->unit_wsum += ldr_units_at(units, i)->weight;
    if (!(m->unit_wsum > 0)) {
        ldr_err_set(errstr, errstr_size, LDR_ERR_INVALID_ARG,
                    "the units file gives no unit a positive weight");
        gen_model_destroy(m);
        return NULL;
    }

    m->last_year = year_of(params->until_ms - 1);
    for (int y = YEAR0; y <= m->last_year; y++) {
        progress(m, "planning",
                 (double)(y - YEAR0) / (m->last_year - YEAR0 + 1));
        plan_year(m, y);
    }

    /* group by enterprise */
    progress(m, "violations", 0);
    qsort(m->evs.p, m->evs.n, sizeof(gen_event_t), cmp_ent_time);
    size_t *first = ldr_calloc(m->ents.n + 2, sizeof *first);
    for (size_t i = 0; i < m->evs.n; i++)
        first[AT(m->evs, gen_event_t, i).ent + 1]++;
    for (size_t e = 0; e < m->ents.n; e++)
        first[e + 1] += first[e];
    plan_violations(m, first);
    free(first);

    /* drop what a verified violation made moot, regroup, replay */
    size_t k = 0;
    for (size_t i = 0; i < m->evs.n; i++)
        if (!(AT(m->evs, gen_event_t, i).flags & GEN_F_DEAD))
            AT(m->evs, gen_event_t, k++) = AT(m->evs, gen_event_t, i);
    m->evs.n = k;
    qsort(m->evs.p, m->evs.n, sizeof(gen_event_t), cmp_ent_time);
    progress(m, "replay", 0);
    gen_event_t *evs = m->evs.p;
    for (size_t i = 0; i < m->evs.n;) {
        size_t j = i;
        while (j < m->evs.n && evs[j].ent == evs[i].ent)
            j++;
        if (!replay_enterprise(m, evs + i, j - i)) {
            gen_model_destroy(m);
            return NULL;
        }
        i = j;
    }
    for (size_t i = 0; i < m->evs.n; i++)
        m->counts.events[evs[i].kind]++;
    /* enterprises that kept at least one event */
    uint32_t last = UINT32_MAX;
    for (size_t i = 0; i < m->evs.n; i++)
        if (evs[i].ent != last) {
            m->counts.enterprises++;
            last = evs[i].ent;
        }
    qsort(m->evs.p, m->evs.n, sizeof(gen_event_t), cmp_output);
    return m;
}

void gen_model_destroy(gen_model_t *m) {
    if (!m) return;
    free(m->ents.p);
    free(m->ivs.p);
    free(m->evs.p);
    free(m->pool[0].p);
    free(m->pool[1].p);
    free(m->unit_serial);
    free(m);
}

const gen_counts_t *gen_model_counts(const gen_model_t *m) {
    return &m->counts;
}

size_t gen_model_event_count(const gen_model_t *m) {
    return m->evs.n;
}

const gen_event_t *gen_model_event(const gen_model_t *m, size_t i) {
    return &AT(m->evs, gen_event_t, i);
}

size_t gen_model_unit_of(const gen_model_t *m, uint32_t ent) {
    return ENT(m, ent)->unit;
}

static const char *const details_reported[] = {
    "群众举报：申报材料与实际经营情况不符",
    "地方主管部门通报：发生生产安全事故",
    "市场监管部门通报：产品质量抽检不合格",
    "生态环境部门通报：超标排放",
    "税务部门通报：涉嫌偷逃税款",
    "列入严重失信主体名单",
    "其他违法行为线索",
};

void gen_model_record(const gen_model_t *m, const gen_event_t *ev,
                      gen_row_t *row, ldr_record_t *rec) {
    const gen_ent_t *e = ENT(m, ev->ent);
    const ldr_units_entry_t *u = ldr_units_at(m->units, e->unit);
    /* The serial of the USCC is the enterprise index: unique. */
    gen_names_uscc(u, e->region_pick, ev->ent, row->uscc);
    snprintf(row->event_id, sizeof row->event_id, "%s-%u", row->uscc, ev->seq);
    memset(rec, 0, sizeof *rec);
    ldr_str_t uscc = {row->uscc, 18}, id = ldr_str(row->event_id),
              unit = {u->code, u->code_len};
    if (ev->kind == GEN_EV_VIOLATION) {
        snprintf(row->case_id, sizeof row->case_id, "CASE-%s-%llu", row->uscc,
                 (unsigned long long)ev->seed);
        rec->kind = LDR_RECORD_VIOLATION;
        ldr_violation_t *v = &rec->u.violation;
        v->event_id = id;
        v->uscc = uscc;
        v->reporting_unit = unit;
        v->case_id = ldr_str(row->case_id);
        v->kind = (ldr_violation_kind_t)ev->vkind;
        v->status = (ldr_case_status_t)ev->vstatus;
        v->occurred_at = ev->t;
        v->has_details = true;
        if (ev->vstatus == LDR_CASE_REPORTED)
            snprintf(row->details, sizeof row->details, "%s",
                     details_reported[ev->vkind % 7]);
        else if (ev->vstatus == LDR_CASE_VERIFIED)
            snprintf(row->details, sizeof row->details, "经核查属实");
        else
            snprintf(row->details, sizeof row->details, "经核查，举报不实");
        v->details = ldr_str(row->details);
        return;
    }
    gen_names_company(u, e->unit_serial, row->name, sizeof row->name);
    ldr_indicators_t ind;
    draw(ev->seed, e->size, ev->tier, (ev->flags & GEN_F_GOOD) != 0, ev->t,
         &ind);
    if (ev->kind == GEN_EV_APPLICATION) {
        rec->kind = LDR_RECORD_APPLICATION;
        ldr_application_t *a = &rec->u.application;
        a->event_id = id;
        a->uscc = uscc;
        a->enterprise_name = ldr_str(row->name);
        a->reporting_unit = unit;
        a->tier = (ldr_tier_t)ev->tier;
        a->batch = ev->batch;
        a->occurred_at = ev->t;
        a->indicators = ind;
    } else {
        rec->kind = LDR_RECORD_REVIEW;
        ldr_review_t *r = &rec->u.review;
        r->event_id = id;
        r->uscc = uscc;
        r->enterprise_name = ldr_str(row->name);
        r->reporting_unit = unit;
        r->tier = (ldr_tier_t)ev->tier;
        r->occurred_at = ev->t;
        r->indicators = ind;
    }
}
