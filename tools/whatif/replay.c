/* replay.c -- one history under two policy sets, in one pass.
 *
 * DESIGN: the register a worker builds is a function of its partitions'
 * logs (DESIGN.md, guarantee 4), so the what-if rebuilds those logs rather
 * than approximating them: each record goes to the partition
 * murmur2_random gives its USCC (a tick to every partition, as ladder-feed
 * and ladder-gen produce it), is validated exactly as the worker validates
 * it, against that partition's clock (a reject never moves the clock), and
 * is stepped through the pure state machine, ldr_partition_step(), once
 * under each policy set. The partitions' clocks depend on the log alone,
 * so the two sides step the same records at the same clocks, and their
 * decisions can be compared step by step: the first decision of an
 * enterprise that differs is the first place where the policies part.
 *
 * The table counts decisions by the reporting unit they carry, and active
 * designations at the end by the enterprise's final unit. Active counts
 * over time move with every changed enterprise (the state machine's list
 * of enterprises a step changed, the one the store moves its counters
 * by) and are sampled at every month start of the merged stream's time. */
#include "whatif_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ladder/alloc.h"
#include "ladder/kafka.h"

const char *wi_outcome_name(wi_outcome_t o) {
    static const char *const names[WI_OUTCOMES] = {
        "designated", "revoked", "cancelled", "expired", "active_at_end"};
    return (unsigned)o < WI_OUTCOMES ? names[o] : "?";
}

void wi_replay_init(wi_replay_t *r, const ldr_policies_t *base,
                    const ldr_policies_t *variant, const ldr_units_t *units,
                    const ldr_validator_t *validator, int max_skew_days,
                    int partitions, int own_lo, int own_hi, int64_t now_ms) {
    memset(r, 0, sizeof *r);
    r->policies[WI_BASE] = base;
    r->policies[WI_VARIANT] = variant;
    r->units = units;
    r->validator = validator;
    r->now_ms = now_ms;
    r->partitions = partitions;
    r->own_lo = own_lo;
    r->own_hi = own_hi;
    r->max_skew_days = max_skew_days;
    r->nunits = ldr_units_count(units);
    for (int s = 0; s < WI_SIDES; s++) {
        r->part[s] = ldr_calloc((size_t)partitions, sizeof *r->part[s]);
        for (int p = own_lo; p < own_hi; p++)
            r->part[s][p] = ldr_partition_new(r->policies[s]);
        ldr_machine_out_init(&r->out[s]);
        r->out[s].skip_history = true;
        r->by_unit[s] = ldr_calloc(r->nunits + 1, sizeof *r->by_unit[s]);
    }
    r->next_offset = ldr_calloc((size_t)partitions, sizeof *r->next_offset);
    r->last_time = INT64_MIN;
    r->next_sample = INT64_MIN;
}

void wi_replay_fini(wi_replay_t *r) {
    for (int s = 0; s < WI_SIDES; s++) {
        for (int p = 0; p < r->partitions; p++)
            ldr_partition_destroy(r->part[s][p]);
        free(r->part[s]);
        ldr_machine_out_fini(&r->out[s]);
        free(r->by_unit[s]);
    }
    free(r->next_offset);
    free(r->samples);
    for (size_t i = 0; i < r->changes_cap; i++)
        free(r->changes[i]);
    free(r->changes);
    memset(r, 0, sizeof *r);
}

/* ---- counting ----------------------------------------------------------- */

/* The unit's index in the units table, or nunits for one not in it. */
static size_t unit_index(const wi_replay_t *r, const char *code) {
    size_t len = strlen(code);
    for (size_t i = 0; i < r->nunits; i++) {
        const ldr_units_entry_t *u = ldr_units_at(r->units, i);
        if (u->code_len == len && memcmp(u->code, code, len) == 0) return i;
    }
    return r->nunits;
}

static int outcome_of(ldr_decision_type_t d) {
    switch (d) {
    case LDR_DECISION_DESIGNATED: return WI_DESIGNATED;
    case LDR_DECISION_REVOKED: return WI_REVOKED;
    case LDR_DECISION_CANCELLED: return WI_CANCELLED;
    case LDR_DECISION_EXPIRED: return WI_EXPIRED;
    default: return -1;
    }
}

static void count_decisions(wi_replay_t *r, int side) {
    const ldr_machine_out_t *out = &r->out[side];
    for (size_t i = 0; i < out->count; i++) {
        const ldr_machine_decision_t *d = &out->v[i];
        int o = outcome_of(d->decision);
        if (o < 0 || !d->has_tier) continue;
        r->by_unit[side][unit_index(r, d->reporting_unit)].n[o][d->tier]++;
        r->total[side].n[o][d->tier]++;
    }
}

static bool active(ldr_tier_state_t s) {
    return s == LDR_TIER_STATE_DESIGNATED || s == LDR_TIER_STATE_REVIEW_DUE;
}

/* Moves the active counts by the enterprises the step changed. */
static void count_active(wi_replay_t *r, int side, ldr_partition_t *p) {
    size_t n;
    const ldr_partition_dirty_t *dirty = ldr_partition_take_dirty(p, &n);
    for (size_t i = 0; i < n; i++)
        for (int t = 0; t < LDR_TIER__COUNT; t++) {
            bool was = active(dirty[i].state_before[t]);
            bool now = active(dirty[i].e->tiers[t].state);
            if (was != now) {
                if (now)
                    r->active[side][t]++;
                else
                    r->active[side][t]--;
            }
        }
}

/* The first instant of the month after @p t (UTC). */
static int64_t month_after(int64_t t) {
    time_t secs = (time_t)(t / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_mon++;
    return (int64_t)timegm(&tm) * 1000;
}

static void sample(wi_replay_t *r, int64_t t) {
    if (r->nsamples == r->samples_cap) {
        r->samples_cap = r->samples_cap ? r->samples_cap * 2 : 128;
        r->samples =
            ldr_realloc(r->samples, r->samples_cap * sizeof *r->samples);
    }
    wi_sample_t *s = &r->samples[r->nsamples++];
    s->t = t;
    memcpy(s->active, r->active, sizeof s->active);
}

/* Samples the active counts at every month start that @p t passes. */
static void sample_until(wi_replay_t *r, int64_t t) {
    if (r->next_sample == INT64_MIN) {
        sample(r, t);
        r->next_sample = month_after(t);
        return;
    }
    while (t >= r->next_sample) {
        sample(r, r->next_sample);
        r->next_sample = month_after(r->next_sample);
    }
}

/* ---- comparing the two sides --------------------------------------------- */

static bool same_decision(const ldr_machine_decision_t *a,
                          const ldr_machine_decision_t *b) {
    if (a->decision != b->decision || a->has_tier != b->has_tier ||
        (a->has_tier && a->tier != b->tier) ||
        a->effective_at != b->effective_at ||
        a->has_valid_until != b->has_valid_until ||
        a->valid_until != b->valid_until ||
        a->has_valid_from != b->has_valid_from ||
        a->valid_from != b->valid_from ||
        a->has_review_deadline != b->has_review_deadline ||
        a->review_deadline != b->review_deadline ||
        a->has_ban_until != b->has_ban_until || a->ban_until != b->ban_until ||
        a->reasons_count != b->reasons_count)
        return false;
    for (size_t i = 0; i < a->reasons_count; i++)
        if (strcmp(a->reasons[i], b->reasons[i]) != 0) return false;
    return true;
}

static size_t change_slot(const wi_replay_t *r, const char *uscc) {
    size_t i = (size_t)ldr_enterprise_event_hash(uscc, strlen(uscc)) &
               (r->changes_cap - 1);
    while (r->changes[i] && strcmp(r->changes[i]->uscc, uscc) != 0)
        i = (i + 1) & (r->changes_cap - 1);
    return i;
}

static bool changed(const wi_replay_t *r, const char *uscc) {
    return r->changes_cap && r->changes[change_slot(r, uscc)];
}

static void first_of(wi_first_t *f, const ldr_machine_decision_t *d) {
    memset(f, 0, sizeof *f);
    if (!d) return;
    f->has = true;
    f->decision = d->decision;
    f->has_tier = d->has_tier;
    f->tier = d->tier;
    f->effective_at = d->effective_at;
    size_t len = 0;
    for (size_t i = 0; i < d->reasons_count && len < sizeof f->reasons; i++)
        len += (size_t)snprintf(f->reasons + len, sizeof f->reasons - len,
                                "%s%s", i ? ";" : "", d->reasons[i]);
}

static void insert_change(wi_replay_t *r, wi_change_t *c);

static void add_change(wi_replay_t *r, const char *uscc,
                       const ldr_machine_decision_t *b,
                       const ldr_machine_decision_t *v) {
    wi_change_t *c = ldr_calloc(1, sizeof *c);
    memcpy(c->uscc, uscc, sizeof c->uscc);
    first_of(&c->first[WI_BASE], b);
    first_of(&c->first[WI_VARIANT], v);
    c->at = b ? b->effective_at : v->effective_at;
    if (b && v && v->effective_at < c->at) c->at = v->effective_at;
    insert_change(r, c);
}

/* Compares the decisions one enterprise got from this step on each side. */
static void compare_enterprise(wi_replay_t *r, const char *uscc) {
    const ldr_machine_out_t *ob = &r->out[WI_BASE], *ov = &r->out[WI_VARIANT];
    size_t i = 0, j = 0;
    for (;;) {
        while (i < ob->count && strcmp(ob->v[i].uscc, uscc) != 0)
            i++;
        while (j < ov->count && strcmp(ov->v[j].uscc, uscc) != 0)
            j++;
        const ldr_machine_decision_t *b = i < ob->count ? &ob->v[i] : NULL;
        const ldr_machine_decision_t *v = j < ov->count ? &ov->v[j] : NULL;
        if (!b && !v) return;
        if (!b || !v || !same_decision(b, v)) {
            add_change(r, uscc, b, v);
            return;
        }
        i++;
        j++;
    }
}

/* Finds the enterprises whose decisions of this step differ. Usually the
 * two lists are equal, checked at once; otherwise each enterprise of
 * either list is compared on its own. */
static void compare_step(wi_replay_t *r) {
    const ldr_machine_out_t *ob = &r->out[WI_BASE], *ov = &r->out[WI_VARIANT];
    bool equal = ob->count == ov->count;
    for (size_t i = 0; equal && i < ob->count; i++)
        equal = strcmp(ob->v[i].uscc, ov->v[i].uscc) == 0 &&
                same_decision(&ob->v[i], &ov->v[i]);
    if (equal) return;
    for (int s = 0; s < WI_SIDES; s++)
        for (size_t i = 0; i < r->out[s].count; i++) {
            const char *uscc = r->out[s].v[i].uscc;
            if (!changed(r, uscc)) compare_enterprise(r, uscc);
        }
}

/* ---- stepping ------------------------------------------------------------ */

static void step(wi_replay_t *r, int32_t pn, const ldr_record_t *rec) {
    ldr_machine_cause_t cause = {"ladder.events.v1", pn, r->next_offset[pn]++};
    for (int s = 0; s < WI_SIDES; s++) {
        ldr_machine_out_clear(&r->out[s]);
        if (ldr_partition_step(r->part[s][pn], rec, &cause, &r->out[s]))
            r->steps_failed++;
        count_decisions(r, s);
        count_active(r, s, r->part[s][pn]);
    }
    compare_step(r);
}

static ldr_str_t record_uscc(const ldr_record_t *rec) {
    switch (rec->kind) {
    case LDR_RECORD_APPLICATION: return rec->u.application.uscc;
    case LDR_RECORD_REVIEW: return rec->u.review.uscc;
    case LDR_RECORD_VIOLATION: return rec->u.violation.uscc;
    default: return (ldr_str_t){NULL, 0};
    }
}

static int64_t record_time(const ldr_record_t *rec) {
    switch (rec->kind) {
    case LDR_RECORD_APPLICATION: return rec->u.application.occurred_at;
    case LDR_RECORD_REVIEW: return rec->u.review.occurred_at;
    case LDR_RECORD_VIOLATION: return rec->u.violation.occurred_at;
    case LDR_RECORD_CLOCK_TICK: return rec->u.tick.tick_at;
    default: return 0;
    }
}

void wi_replay_record(wi_replay_t *r, const ldr_record_t *rec,
                      int32_t partition, const void *key, size_t key_len) {
    bool tick = rec->kind == LDR_RECORD_CLOCK_TICK;
    if (tick)
        r->ticks++;
    else
        r->events++;
    ldr_str_t uscc = record_uscc(rec);
    if (!key && !tick) {
        key = uscc.ptr;
        key_len = uscc.len;
    }
    int32_t from = partition, to = partition + 1;
    if (partition < 0) {
        from = 0;
        to = r->partitions;
        if (!tick) {
            from =
                ldr_kafka_partition_for_key(uscc.ptr, uscc.len, r->partitions);
            to = from + 1;
        }
    }
    if (partition >= 0 && key &&
        ldr_kafka_partition_for_key(key, key_len, r->partitions) != partition) {
        /* WRONG_PARTITION to the worker: a dead letter */
        r->rejected++;
        snprintf(r->last_reject, sizeof r->last_reject,
                 "key hashes to partition %d of %d (murmur2_random)",
                 (int)ldr_kafka_partition_for_key(key, key_len, r->partitions),
                 r->partitions);
        return;
    }
    int64_t t = record_time(rec);
    /* The stream's time (samples, the final tick) moves with every record
     * the worker's time bound would take against it, so that every thread
     * of a run, whichever partitions it owns, samples at the same
     * instants. */
    if (t > r->last_time && (r->last_time == INT64_MIN ||
                             t <= ldr_validate_time_max(r->last_time, r->now_ms,
                                                        r->max_skew_days))) {
        sample_until(r, t);
        r->last_time = t;
    }
    if (from < r->own_lo) from = r->own_lo;
    if (to > r->own_hi) to = r->own_hi;
    for (int32_t pn = from; pn < to; pn++) {
        /* the worker's check, against this partition's clock: the two
         * sides' clocks are the same (the log alone moves them) */
        char err[512];
        if (ldr_validate_message(r->validator, rec, key, key_len,
                                 ldr_partition_clock(r->part[WI_BASE][pn]),
                                 r->now_ms, err, sizeof err)) {
            r->rejected++;
            snprintf(r->last_reject, sizeof r->last_reject, "%s", err);
            r->next_offset[pn]++; /* it holds its place in the log */
            continue;
        }
        step(r, pn, rec);
    }
}

/* ---- the end ------------------------------------------------------------- */

typedef struct end_count {
    wi_replay_t *r;
    int side;
} end_count_t;

static void count_end(void *opaque, const ldr_enterprise_t *e) {
    end_count_t *c = opaque;
    wi_replay_t *r = c->r;
    if (c->side == WI_BASE) r->enterprises++;
    size_t u = unit_index(r, e->unit);
    for (int t = 0; t < LDR_TIER__COUNT; t++)
        if (active(e->tiers[t].state)) {
            r->by_unit[c->side][u].n[WI_ACTIVE_AT_END][t]++;
            r->total[c->side].n[WI_ACTIVE_AT_END][t]++;
        }
}

static int cmp_change(const void *a, const void *b) {
    return strcmp((*(wi_change_t *const *)a)->uscc,
                  (*(wi_change_t *const *)b)->uscc);
}

/* Fills a changed enterprise's name, unit and final tiers. */
static void change_final(wi_replay_t *r, wi_change_t *c) {
    size_t len = strlen(c->uscc);
    int32_t pn = ldr_kafka_partition_for_key(c->uscc, len, r->partitions);
    for (int s = 0; s < WI_SIDES; s++) {
        const ldr_enterprise_t *e =
            ldr_partition_find(r->part[s][pn], c->uscc, len);
        c->top_tier[s] = -1;
        c->top_state[s] = LDR_TIER_STATE_NONE;
        if (!e) continue;
        if (s == WI_BASE) {
            snprintf(c->name, sizeof c->name, "%s", e->name);
            snprintf(c->unit, sizeof c->unit, "%s", e->unit);
        }
        for (int t = LDR_TIER__COUNT - 1; t >= 0; t--)
            if (e->tiers[t].state != LDR_TIER_STATE_NONE) {
                c->top_tier[s] = t;
                c->top_state[s] = e->tiers[t].state;
                break;
            }
    }
}

void wi_replay_end(wi_replay_t *r) {
    if (r->last_time == INT64_MIN) return;
    ldr_record_t tick = {.kind = LDR_RECORD_CLOCK_TICK};
    tick.u.tick.tick_at = r->last_time;
    tick.u.tick.source = ldr_str("ladder-whatif");
    for (int32_t pn = r->own_lo; pn < r->own_hi; pn++)
        step(r, pn, &tick);
    sample(r, r->last_time);
}

static void insert_change(wi_replay_t *r, wi_change_t *c) {
    if ((r->nchanges + 1) * 2 > r->changes_cap) {
        wi_change_t **old = r->changes;
        size_t old_cap = r->changes_cap;
        r->changes_cap = old_cap ? old_cap * 2 : 1024;
        r->changes = ldr_calloc(r->changes_cap, sizeof *r->changes);
        for (size_t i = 0; i < old_cap; i++)
            if (old[i]) r->changes[change_slot(r, old[i]->uscc)] = old[i];
        free(old);
    }
    r->changes[change_slot(r, c->uscc)] = c;
    r->nchanges++;
}

void wi_replay_merge(wi_replay_t *dst, wi_replay_t *src) {
    for (int s = 0; s < WI_SIDES; s++) {
        for (int p = src->own_lo; p < src->own_hi; p++) {
            dst->part[s][p] = src->part[s][p];
            src->part[s][p] = NULL;
        }
        for (size_t u = 0; u <= dst->nunits; u++)
            for (int k = 0; k < WI_OUTCOMES; k++)
                for (int t = 0; t < LDR_TIER__COUNT; t++)
                    dst->by_unit[s][u].n[k][t] += src->by_unit[s][u].n[k][t];
        for (int k = 0; k < WI_OUTCOMES; k++)
            for (int t = 0; t < LDR_TIER__COUNT; t++)
                dst->total[s].n[k][t] += src->total[s].n[k][t];
    }
    if (src->own_lo < dst->own_lo) dst->own_lo = src->own_lo;
    if (src->own_hi > dst->own_hi) dst->own_hi = src->own_hi;
    /* the same instants on every thread (the stream's time) */
    size_t n = dst->nsamples < src->nsamples ? dst->nsamples : src->nsamples;
    dst->nsamples = n;
    for (size_t i = 0; i < n; i++)
        for (int s = 0; s < WI_SIDES; s++)
            for (int t = 0; t < LDR_TIER__COUNT; t++)
                dst->samples[i].active[s][t] += src->samples[i].active[s][t];
    for (size_t i = 0; i < src->changes_cap; i++)
        if (src->changes[i]) {
            insert_change(dst, src->changes[i]);
            src->changes[i] = NULL;
        }
    src->nchanges = 0;
    dst->rejected += src->rejected;
    dst->steps_failed += src->steps_failed;
}

void wi_replay_finish(wi_replay_t *r) {
    for (int s = 0; s < WI_SIDES; s++)
        for (int32_t pn = 0; pn < r->partitions; pn++) {
            end_count_t c = {r, s};
            ldr_partition_each(r->part[s][pn], count_end, &c);
        }
    /* the changes, packed and sorted by USCC */
    size_t n = 0;
    for (size_t i = 0; i < r->changes_cap; i++)
        if (r->changes[i]) r->changes[n++] = r->changes[i];
    for (size_t i = n; i < r->changes_cap; i++)
        r->changes[i] = NULL;
    if (n) qsort(r->changes, n, sizeof *r->changes, cmp_change);
    for (size_t i = 0; i < n; i++)
        change_final(r, r->changes[i]);
}
