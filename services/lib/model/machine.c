/* machine.c -- the designation state machine. See machine.h for the design;
 * the rules are POLICY.md's table "The state machine" and its "Precise
 * semantics", which the comments below cite. */
#include "ladder/machine.h"

#include "ladder/alloc.h"
#include "ladder/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool machine_active(const ldr_tier_rec_t *t) {
    return t->state == LDR_TIER_STATE_DESIGNATED ||
           t->state == LDR_TIER_STATE_REVIEW_DUE;
}

/* ---- decisions ----------------------------------------------------------- */

void ldr_machine_out_init(ldr_machine_out_t *out) {
    memset(out, 0, sizeof(*out));
}

void ldr_machine_out_clear(ldr_machine_out_t *out) {
    out->count = 0;
}

void ldr_machine_out_fini(ldr_machine_out_t *out) {
    free(out->v);
    memset(out, 0, sizeof(*out));
}

static void machine_copy(char *dst, size_t size, const char *src, size_t len) {
    if (len >= size) len = size - 1;
    if (len) memcpy(dst, src, len);
    dst[len] = '\0';
}

/* The context of one message step: what every decision of it shares. */
typedef struct ldr_step {
    const ldr_policies_t *policies;
    const ldr_machine_cause_t *cause;
    ldr_machine_out_t *out;
    const char *event_id; /* NULL for timer decisions */
    size_t event_id_len;
} ldr_step_t;

/* Decision ids are "<partition>-<offset>-<n>": the message that caused the
 * decision and its place among that message's decisions. The log fixes
 * both, so a replay gives the same ids. */
static size_t machine_digits(char *out, int64_t v);

static size_t machine_seq_of(const ldr_machine_out_t *out,
                             const ldr_machine_cause_t *c) {
    size_t n = 0;
    for (size_t i = out->count; i > 0; i--) {
        const ldr_machine_decision_t *d = &out->v[i - 1];
        if (d->offset != c->offset || d->partition != c->partition) break;
        n++;
    }
    return n;
}

/* Writes @p v in decimal at @p out; returns its length (at most 20). A
 * decision's id and cause are formatted for every decision, where snprintf
 * cost a tenth of the worker's instructions. */
static size_t machine_digits(char *out, int64_t v) {
    char tmp[20];
    size_t n = 0, k = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) out[k++] = '-';
    while (n)
        out[k++] = tmp[--n];
    return k;
}

/* Copies the @p len bytes at @p src into @p dst of @p size, truncated as
 * snprintf would, NUL-terminated. */
static void machine_set_str(char *dst, size_t size, const char *src,
                            size_t len) {
    if (len >= size) len = size - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static ldr_machine_decision_t *machine_emit(ldr_step_t *s,
                                            const ldr_enterprise_t *e,
                                            ldr_decision_type_t type,
                                            int64_t effective_at) {
    ldr_machine_out_t *out = s->out;
    size_t seq = machine_seq_of(out, s->cause);
    if (out->count == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 16;
        out->v = ldr_realloc(out->v, out->cap * sizeof(*out->v));
    }
    ldr_machine_decision_t *d = &out->v[out->count++];
    memset(d, 0, sizeof(*d));
    /* the partition and the offset in decimal, once for both strings */
    char part[24], off[24], tmp[320];
    size_t pl = machine_digits(part, s->cause->partition);
    size_t ol = machine_digits(off, s->cause->offset);
    size_t n = 0;
    memcpy(tmp, part, pl);
    n += pl;
    tmp[n++] = '-';
    memcpy(tmp + n, off, ol);
    n += ol;
    tmp[n++] = '-';
    n += machine_digits(tmp + n, (int64_t)seq);
    machine_set_str(d->decision_id, sizeof(d->decision_id), tmp, n);
    d->partition = s->cause->partition;
    d->offset = s->cause->offset;
    d->n = (int)seq;
    memcpy(d->uscc, e->uscc, sizeof(d->uscc));
    machine_copy(d->enterprise_name, sizeof(d->enterprise_name), e->name,
                 strlen(e->name));
    memcpy(d->reporting_unit, e->unit, sizeof(d->reporting_unit));
    d->decision = type;
    d->effective_at = effective_at;
    const char *topic = s->cause->topic ? s->cause->topic : "";
    size_t tl = strnlen(topic, sizeof(tmp) - 48);
    memcpy(tmp, topic, tl);
    n = tl;
    tmp[n++] = '/';
    memcpy(tmp + n, part, pl);
    n += pl;
    tmp[n++] = '/';
    memcpy(tmp + n, off, ol);
    n += ol;
    machine_set_str(d->cause, sizeof(d->cause), tmp, n);
    if (s->event_id) {
        d->has_cause_event_id = true;
        machine_copy(d->cause_event_id, sizeof(d->cause_event_id), s->event_id,
                     s->event_id_len);
    }
    return d;
}

static void machine_d_tier(ldr_machine_decision_t *d, ldr_tier_t t) {
    d->has_tier = true;
    d->tier = t;
}

static void machine_d_batch(ldr_machine_decision_t *d, int32_t batch) {
    d->has_batch = true;
    d->batch = batch;
}

static void machine_d_reason(ldr_machine_decision_t *d, const char *r) {
    if (d->reasons_count < LDR_DECISION_REASONS_MAX)
        d->reasons[d->reasons_count++] = r;
}

static void machine_d_policy(ldr_machine_decision_t *d, const char *version) {
    machine_copy(d->policy_version, sizeof(d->policy_version), version,
                 strlen(version));
}

static void machine_d_case(ldr_machine_decision_t *d, ldr_str_t case_id) {
    d->has_case_id = true;
    machine_copy(d->case_id, sizeof(d->case_id), case_id.ptr, case_id.len);
}

static void machine_d_eval(ldr_machine_decision_t *d,
                           const ldr_eval_result_t *r) {
    if (r->has_score) {
        d->has_score = true;
        d->score = r->score;
    }
    for (size_t i = 0; i < r->reasons_count; i++)
        machine_d_reason(d, r->reasons[i]);
    machine_d_policy(d, ldr_policy_version(r->policy));
}

void ldr_machine_decision_record(const ldr_machine_decision_t *d,
                                 ldr_record_t *out) {
    memset(out, 0, sizeof(*out));
    out->kind = LDR_RECORD_DECISION;
    ldr_decision_t *r = &out->u.decision;
    r->decision_id = ldr_str(d->decision_id);
    r->uscc = ldr_str(d->uscc);
    r->enterprise_name = ldr_str(d->enterprise_name);
    r->reporting_unit = ldr_str(d->reporting_unit);
    r->has_tier = d->has_tier;
    r->tier = d->tier;
    r->decision = d->decision;
    r->reasons_count = d->reasons_count;
    for (size_t i = 0; i < d->reasons_count; i++)
        r->reasons[i] = ldr_str(d->reasons[i]);
    r->effective_at = d->effective_at;
    r->has_valid_from = d->has_valid_from;
    r->valid_from = d->valid_from;
    r->has_valid_until = d->has_valid_until;
    r->valid_until = d->valid_until;
    r->has_review_deadline = d->has_review_deadline;
    r->review_deadline = d->review_deadline;
    r->has_ban_until = d->has_ban_until;
    r->ban_until = d->ban_until;
    r->has_case_id = d->has_case_id;
    r->case_id = ldr_str(d->case_id);
    r->has_batch = d->has_batch;
    r->batch = d->batch;
    r->has_score = d->has_score;
    r->score = d->score;
    r->policy_version = ldr_str(d->policy_version);
    r->has_cause_event_id = d->has_cause_event_id;
    r->cause_event_id = ldr_str(d->cause_event_id);
    r->cause = ldr_str(d->cause);
}

/* ---- lifecycle helpers ------------------------------------------------------
 */

/* "Lifecycle numbers come from the policy version stored with the
 * designation (from its application or its latest renewal)." */
static const ldr_policy_lifecycle_t *
machine_stored_lifecycle(const ldr_policies_t *p, const ldr_tier_rec_t *t) {
    const ldr_policy_t *pol =
        ldr_policies_find(p, t->policy, strlen(t->policy));
    return pol ? ldr_policy_lifecycle(pol) : NULL;
}

static void machine_clear_timers(ldr_tier_rec_t *t) {
    for (int k = 0; k < LDR_TIMER__COUNT; k++)
        t->timer_due[k] = 0;
}

static void machine_to_none(ldr_tier_rec_t *t) {
    t->state = LDR_TIER_STATE_NONE;
    t->held = false;
    machine_clear_timers(t);
}

/* DESIGNATED (or RENEWED) from valid_from: sets validity, and replaces the
 * review-window and validity-end timers. */
static void machine_designate(ldr_tier_rec_t *t,
                              const ldr_policy_lifecycle_t *lc,
                              int64_t valid_from) {
    t->state = LDR_TIER_STATE_DESIGNATED;
    t->held = false;
    t->valid_from = valid_from;
    t->valid_until = ldr_time_add_years(valid_from, lc->validity_years);
    t->timer_due[LDR_TIMER_PUBLICITY_END] = 0;
    t->timer_due[LDR_TIMER_REVIEW_WINDOW] =
        ldr_time_add_days(t->valid_until, -lc->review_window_days);
    t->timer_due[LDR_TIMER_VALIDITY_END] = t->valid_until;
}

static void machine_d_validity(ldr_machine_decision_t *d,
                               const ldr_tier_rec_t *t) {
    d->has_valid_from = d->has_valid_until = true;
    d->valid_from = t->valid_from;
    d->valid_until = t->valid_until;
}

static void machine_set_identity(ldr_enterprise_t *e, ldr_str_t name,
                                 ldr_str_t unit) {
    ldr_enterprise_set_name(e, name.ptr, name.len);
    machine_copy(e->unit, sizeof(e->unit), unit.ptr, unit.len);
}

/* Keeps the decisions from @p from on in the enterprise's history. */
static void machine_record_history(ldr_enterprise_t *e,
                                   const ldr_machine_out_t *out, size_t from) {
    if (out->skip_history) return;
    for (size_t i = from; i < out->count; i++) {
        const ldr_machine_decision_t *d = &out->v[i];
        ldr_history_entry_t h;
        memset(&h, 0, sizeof(h));
        h.offset = d->offset;
        h.n = d->n;
        h.decision = d->decision;
        h.has_tier = d->has_tier;
        h.tier = d->tier;
        h.effective_at = d->effective_at;
        h.has_valid_from = d->has_valid_from;
        h.valid_from = d->valid_from;
        h.has_valid_until = d->has_valid_until;
        h.valid_until = d->valid_until;
        h.has_review_deadline = d->has_review_deadline;
        h.review_deadline = d->review_deadline;
        h.has_ban_until = d->has_ban_until;
        h.ban_until = d->ban_until;
        h.has_batch = d->has_batch;
        h.batch = d->batch;
        h.has_score = d->has_score;
        h.score = d->score;
        if (d->has_case_id) h.case_id = ldr_str(d->case_id);
        if (d->has_cause_event_id)
            h.cause_event_id = ldr_str(d->cause_event_id);
        h.policy_version = ldr_str(d->policy_version);
        h.reasons_count = d->reasons_count;
        for (size_t k = 0; k < d->reasons_count; k++)
            h.reasons[k] = ldr_str(d->reasons[k]);
        ldr_enterprise_history_add(e, &h);
    }
}

/* ---- messages
 * ---------------------------------------------------------------- */

static void machine_refuse(ldr_step_t *s, ldr_enterprise_t *e, int64_t t,
                           ldr_tier_t tier, const char *reason,
                           const ldr_policy_t *pol, bool has_batch,
                           int32_t batch) {
    ldr_machine_decision_t *d = machine_emit(s, e, LDR_DECISION_REFUSED, t);
    machine_d_tier(d, tier);
    machine_d_reason(d, reason);
    machine_d_policy(d, ldr_policy_version(pol));
    if (has_batch) machine_d_batch(d, batch);
}

static ldr_err_t machine_apply_application(ldr_step_t *s, ldr_enterprise_t *e,
                                           const ldr_application_t *a) {
    const ldr_policy_t *pol =
        ldr_policies_select(s->policies, LDR_EVAL_APPLICATION, a->occurred_at);
    if (!pol) return LDR_ERR_POLICY;
    const ldr_policy_lifecycle_t *lc = ldr_policy_lifecycle(pol);
    int64_t t = a->occurred_at;
    ldr_tier_rec_t *tr = &e->tiers[a->tier];
    machine_set_identity(e, a->enterprise_name, a->reporting_unit);

    /* Refusals follow the table's row order and carry one reason. */
    int pre = lc->prerequisite[a->tier];
    const char *refusal = NULL;
    if (e->ban_until > t)
        refusal = "REAPPLICATION_BANNED";
    else if (tr->state == LDR_TIER_STATE_PUBLICITY)
        refusal = "DUPLICATE_APPLICATION";
    else if (machine_active(tr))
        refusal = "ALREADY_DESIGNATED";
    else if (pre >= 0 && !machine_active(&e->tiers[pre]))
        refusal = "PREREQUISITE_MISSING";
    if (refusal) {
        machine_refuse(s, e, t, a->tier, refusal, pol, true, a->batch);
        return LDR_OK;
    }
    ldr_eval_result_t r;
    ldr_policy_evaluate_with(pol, a->tier, LDR_EVAL_APPLICATION, &a->indicators,
                             &r);
    ldr_machine_decision_t *d = machine_emit(
        s, e, r.pass ? LDR_DECISION_PUBLICITY_STARTED : LDR_DECISION_REJECTED,
        t);
    machine_d_tier(d, a->tier);
    machine_d_batch(d, a->batch);
    machine_d_eval(d, &r);
    if (r.pass) {
        machine_clear_timers(tr);
        tr->state = LDR_TIER_STATE_PUBLICITY;
        tr->held = false;
        tr->batch = a->batch;
        tr->valid_from = tr->valid_until = 0;
        tr->publicity_end = ldr_time_add_days(t, lc->publicity_days);
        machine_copy(tr->policy, sizeof(tr->policy), ldr_policy_version(pol),
                     strlen(ldr_policy_version(pol)));
        tr->timer_due[LDR_TIMER_PUBLICITY_END] = tr->publicity_end;
    }
    return LDR_OK;
}

static ldr_err_t machine_apply_review(ldr_step_t *s, ldr_enterprise_t *e,
                                      const ldr_review_t *rv) {
    const ldr_policy_t *pol =
        ldr_policies_select(s->policies, LDR_EVAL_REVIEW, rv->occurred_at);
    if (!pol) return LDR_ERR_POLICY;
    int64_t t = rv->occurred_at;
    ldr_tier_rec_t *tr = &e->tiers[rv->tier];
    machine_set_identity(e, rv->enterprise_name, rv->reporting_unit);

    /* A tier in PUBLICITY, or one the validity-end timer already ended, is
     * not designated. */
    if (!machine_active(tr)) {
        machine_refuse(s, e, t, rv->tier, "NOT_DESIGNATED", pol, false, 0);
        return LDR_OK;
    }
    const ldr_policy_lifecycle_t *stored =
        machine_stored_lifecycle(s->policies, tr);
    if (!stored) return LDR_ERR_POLICY;
    if (t < ldr_time_add_days(tr->valid_until, -stored->review_window_days)) {
        machine_refuse(s, e, t, rv->tier, "OUTSIDE_REVIEW_WINDOW", pol, true,
                       tr->batch);
        return LDR_OK;
    }
    ldr_eval_result_t r;
    ldr_policy_evaluate_with(pol, rv->tier, LDR_EVAL_REVIEW, &rv->indicators,
                             &r);
    if (r.pass) {
        /* RENEWED: valid_from = old valid_until, for a new validity under
         * the version that renewed it. */
        machine_copy(tr->policy, sizeof(tr->policy), ldr_policy_version(pol),
                     strlen(ldr_policy_version(pol)));
        machine_designate(tr, ldr_policy_lifecycle(pol), tr->valid_until);
        ldr_machine_decision_t *d = machine_emit(s, e, LDR_DECISION_RENEWED, t);
        machine_d_tier(d, rv->tier);
        machine_d_batch(d, tr->batch);
        machine_d_validity(d, tr);
        machine_d_eval(d, &r);
    } else {
        ldr_machine_decision_t *d = machine_emit(s, e, LDR_DECISION_REVOKED, t);
        machine_d_tier(d, rv->tier);
        machine_d_batch(d, tr->batch);
        if (r.has_score) {
            d->has_score = true;
            d->score = r.score;
        }
        machine_d_reason(d, "REVIEW_FAILED");
        for (size_t i = 0; i < r.reasons_count; i++)
            machine_d_reason(d, r.reasons[i]);
        machine_d_policy(d, ldr_policy_version(pol));
        machine_to_none(tr);
    }
    return LDR_OK;
}

static ldr_err_t machine_apply_violation(ldr_step_t *s, ldr_enterprise_t *e,
                                         const ldr_violation_t *v) {
    /* Enterprise-level decisions carry the application version at t. */
    const ldr_policy_t *pol =
        ldr_policies_select(s->policies, LDR_EVAL_APPLICATION, v->occurred_at);
    if (!pol) return LDR_ERR_POLICY;
    int64_t t = v->occurred_at;
    /* A violation report gives the unit only, and only to an enterprise
     * that has none yet. */
    if (!e->unit[0])
        machine_copy(e->unit, sizeof(e->unit), v->reporting_unit.ptr,
                     v->reporting_unit.len);
    int open = ldr_enterprise_case_index(e, v->case_id.ptr, v->case_id.len);
    ldr_machine_decision_t *d;
    switch (v->status) {
    case LDR_CASE_REPORTED:
        ldr_enterprise_case_add(e, v->case_id);
        d = machine_emit(s, e, LDR_DECISION_INVESTIGATION_OPENED, t);
        machine_d_case(d, v->case_id);
        machine_d_policy(d, ldr_policy_version(pol));
        return LDR_OK;
    case LDR_CASE_DISMISSED:
        if (open < 0) {
            d = machine_emit(s, e, LDR_DECISION_REFUSED, t);
            machine_d_reason(d, "UNKNOWN_CASE");
            machine_d_case(d, v->case_id);
            machine_d_policy(d, ldr_policy_version(pol));
            return LDR_OK;
        }
        ldr_enterprise_case_remove(e, open);
        d = machine_emit(s, e, LDR_DECISION_INVESTIGATION_CLEARED, t);
        machine_d_case(d, v->case_id);
        machine_d_policy(d, ldr_policy_version(pol));
        if (e->cases_count > 0) return LDR_OK;
        /* No case left open: every held publicity becomes DESIGNATED with
         * valid_from = max(the dismissal's time, the end of publicity). */
        for (int k = 0; k < LDR_TIER__COUNT; k++) {
            ldr_tier_rec_t *tr = &e->tiers[k];
            if (tr->state != LDR_TIER_STATE_PUBLICITY || !tr->held) continue;
            const ldr_policy_lifecycle_t *lc =
                machine_stored_lifecycle(s->policies, tr);
            if (!lc) return LDR_ERR_POLICY;
            machine_designate(tr, lc,
                              t > tr->publicity_end ? t : tr->publicity_end);
            d = machine_emit(s, e, LDR_DECISION_DESIGNATED, t);
            machine_d_tier(d, (ldr_tier_t)k);
            machine_d_batch(d, tr->batch);
            machine_d_validity(d, tr);
            machine_d_case(d, v->case_id);
            machine_d_policy(d, tr->policy);
        }
        return LDR_OK;
    case LDR_CASE_VERIFIED: {
        if (open >= 0) ldr_enterprise_case_remove(e, open);
        int64_t ban =
            ldr_time_add_years(t, ldr_policy_lifecycle(pol)->ban_years);
        if (ban > e->ban_until) e->ban_until = ban;
        d = machine_emit(s, e, LDR_DECISION_VIOLATION_CONFIRMED, t);
        d->has_ban_until = true;
        d->ban_until = e->ban_until;
        machine_d_case(d, v->case_id);
        machine_d_policy(d, ldr_policy_version(pol));
        for (int k = 0; k < LDR_TIER__COUNT; k++) {
            ldr_tier_rec_t *tr = &e->tiers[k];
            if (tr->state == LDR_TIER_STATE_NONE) continue;
            d = machine_emit(s, e, LDR_DECISION_CANCELLED, t);
            machine_d_tier(d, (ldr_tier_t)k);
            machine_d_batch(d, tr->batch);
            machine_d_reason(d, "VIOLATION_VERIFIED");
            machine_d_reason(d, ldr_violation_kind_name(v->kind));
            machine_d_case(d, v->case_id);
            machine_d_policy(d, tr->policy);
            machine_to_none(tr);
        }
        return LDR_OK;
    }
    case LDR_CASE__COUNT: break;
    }
    return LDR_ERR_INVALID_ARG;
}

static ldr_str_t machine_msg_uscc(const ldr_record_t *m) {
    switch (m->kind) {
    case LDR_RECORD_APPLICATION: return m->u.application.uscc;
    case LDR_RECORD_REVIEW: return m->u.review.uscc;
    case LDR_RECORD_VIOLATION: return m->u.violation.uscc;
    default: return ldr_str(NULL);
    }
}

static ldr_str_t machine_msg_event_id(const ldr_record_t *m) {
    switch (m->kind) {
    case LDR_RECORD_APPLICATION: return m->u.application.event_id;
    case LDR_RECORD_REVIEW: return m->u.review.event_id;
    case LDR_RECORD_VIOLATION: return m->u.violation.event_id;
    default: return ldr_str(NULL);
    }
}

ldr_err_t ldr_machine_apply(const ldr_policies_t *policies, ldr_enterprise_t *e,
                            const ldr_record_t *msg,
                            const ldr_machine_cause_t *cause,
                            ldr_machine_out_t *out) {
    ldr_str_t uscc = machine_msg_uscc(msg);
    if (!uscc.len || uscc.len != strlen(e->uscc) ||
        memcmp(uscc.ptr, e->uscc, uscc.len) != 0)
        return LDR_ERR_INVALID_ARG;
    ldr_str_t id = machine_msg_event_id(msg);
    /* Event ids are per enterprise and remembered for its whole history,
     * whatever the outcome of the event. */
    if (ldr_enterprise_seen(e, id.ptr, id.len)) {
        out->duplicates++;
        return LDR_OK;
    }
    ldr_step_t s = {policies, cause, out, id.ptr, id.len};
    size_t from = out->count;
    ldr_err_t err;
    switch (msg->kind) {
    case LDR_RECORD_APPLICATION:
        err = machine_apply_application(&s, e, &msg->u.application);
        break;
    case LDR_RECORD_REVIEW:
        err = machine_apply_review(&s, e, &msg->u.review);
        break;
    default: err = machine_apply_violation(&s, e, &msg->u.violation); break;
    }
    if (!err) {
        ldr_enterprise_remember(e, id.ptr, id.len);
        machine_record_history(e, out, from);
    }
    return err;
}

/* ---- timers
 * ------------------------------------------------------------------- */

static void machine_fire(const ldr_policies_t *policies, ldr_enterprise_t *e,
                         ldr_tier_t tier, ldr_timer_kind_t kind, int64_t due,
                         const ldr_machine_cause_t *cause,
                         ldr_machine_out_t *out) {
    ldr_tier_rec_t *tr = &e->tiers[tier];
    if (tr->timer_due[kind] != due || due == 0)
        return; /* replaced or dropped */
    tr->timer_due[kind] = 0;
    ldr_step_t s = {policies, cause, out, NULL, 0};
    const ldr_policy_lifecycle_t *lc = machine_stored_lifecycle(policies, tr);
    if (!lc) return;
    ldr_machine_decision_t *d;
    /* A timer checks the tier's state and does nothing unless it matches. */
    switch (kind) {
    case LDR_TIMER_PUBLICITY_END:
        if (tr->state != LDR_TIER_STATE_PUBLICITY) return;
        out->timers_fired++;
        if (e->cases_count > 0) {
            tr->held = true; /* designated when the last case closes */
            return;
        }
        machine_designate(tr, lc, due);
        d = machine_emit(&s, e, LDR_DECISION_DESIGNATED, due);
        machine_d_tier(d, tier);
        machine_d_batch(d, tr->batch);
        machine_d_validity(d, tr);
        machine_d_policy(d, tr->policy);
        return;
    case LDR_TIMER_REVIEW_WINDOW:
        if (tr->state != LDR_TIER_STATE_DESIGNATED) return;
        out->timers_fired++;
        tr->state = LDR_TIER_STATE_REVIEW_DUE;
        d = machine_emit(&s, e, LDR_DECISION_REVIEW_DUE, due);
        machine_d_tier(d, tier);
        machine_d_batch(d, tr->batch);
        d->has_review_deadline = true;
        d->review_deadline = tr->valid_until;
        machine_d_policy(d, tr->policy);
        return;
    case LDR_TIMER_VALIDITY_END:
        if (!machine_active(tr)) return;
        out->timers_fired++;
        d = machine_emit(&s, e, lc->on_validity_end[tier], due);
        machine_d_tier(d, tier);
        machine_d_batch(d, tr->batch);
        machine_d_reason(d, lc->validity_end_reason[tier]);
        machine_d_policy(d, tr->policy);
        machine_to_none(tr);
        return;
    case LDR_TIMER__COUNT: return;
    }
}

void ldr_machine_fire(const ldr_policies_t *policies, ldr_enterprise_t *e,
                      ldr_tier_t tier, ldr_timer_kind_t kind, int64_t due,
                      const ldr_machine_cause_t *cause,
                      ldr_machine_out_t *out) {
    size_t from = out->count;
    machine_fire(policies, e, tier, kind, due, cause, out);
    machine_record_history(e, out, from);
}

/* ---- partition
 * ------------------------------------------------------------------ */

/* A partition keeps each enterprise in its encoded form
 * (ldr_enterprise_encode: about 260 B, against some 800 B for a decoded
 * ldr_enterprise_t with its heap parts), so that a worker owning a large
 * share of the register stays small. An enterprise is decoded when a step
 * touches it, into a "hot" copy from a small pool, and encoded back when
 * the dirty list is taken; the store writes those same bytes. */

/* One enterprise: its USCC and encoded state side by side in the
 * partition's chunks, @c blob = USCC length (1 byte), USCC, state (@c len
 * bytes); NULL for an enterprise created by this batch and never encoded
 * yet. */
typedef struct ldr_ent_rec {
    uint8_t *blob;
    uint32_t len;
    uint32_t hot; /* 1 + its index in the hot list, or 0 */
} ldr_ent_rec_t;

/* The states are packed into chunks rather than allocated one by one: a
 * state of some 280 bytes took a 320-byte allocation. A state rewritten
 * larger moves to the end of the last chunk, and the space it left counts
 * as garbage until the chunks are packed again. */
typedef struct ldr_chunk {
    uint8_t *mem;
    size_t size, used;
} ldr_chunk_t;

#define MACHINE_CHUNK (64 * 1024)

/* The heap holds one entry per enterprise with a timer: its earliest
 * timer's due time. Popped, the entry fires that one timer (the first by
 * tier and kind among those due then) and goes back with the next
 * earliest, so timers fire in (due, USCC, tier, kind) order as if each had
 * its own entry, with half the entries. An entry whose due time is no
 * longer its enterprise's earliest (a timer replaced or dropped since) is
 * skipped when popped: an entry with the right one was pushed then. */
typedef struct ldr_timer_entry {
    int64_t due;
    uint32_t rec;
} ldr_timer_entry_t;

/* Only the entries due before the horizon are in the heap; the others
 * wait, unordered, in a wheel of buckets of 2^MACHINE_WHEEL_SHIFT ms
 * (about 25 days) each, and move into the heap when the clock reaches
 * their bucket. Most timers are years ahead (validity, review windows),
 * so the heap holds a few weeks' worth and stays in the cache: with every
 * timer in it, the walk down from its root missed the cache at each level
 * and took a seventh of a replay's time (docs/BENCHMARKS.md). The order
 * timers fire in does not change: every entry due by the clock is in the
 * heap when the heap is read. */
#define MACHINE_WHEEL_SHIFT 31
#define MACHINE_WHEEL       128 /* buckets: about 8.7 years */

typedef struct machine_bucket {
    ldr_timer_entry_t *v;
    size_t len, cap;
} machine_bucket_t;

/* A decoded enterprise a step touched, with what it was before. */
typedef struct ldr_hot {
    ldr_enterprise_t *e;
    uint32_t rec;
    char unit_before[LDR_ENTERPRISE_UNIT_MAX];
    ldr_tier_state_t state_before[LDR_TIER__COUNT];
} ldr_hot_t;

/* Decoded enterprises kept for reuse (their arrays with them): enough for
 * a batch of a few hundred messages, without holding a large one's. */
#define MACHINE_POOL_MAX 256

struct ldr_partition {
    const ldr_policies_t *policies;
    int64_t clock;
    ldr_ent_rec_t *recs; /* dense, in insertion order */
    uint32_t count;
    uint32_t recs_cap;
    uint32_t *slots; /* open addressing by USCC: machine_slot_make(), 0 free */
    size_t cap;
    ldr_chunk_t *chunks;
    size_t nchunks, chunks_cap;
    size_t live, garbage;    /* bytes of the chunks in use, and left */
    ldr_timer_entry_t *heap; /* the entries due before the horizon */
    size_t heap_len;
    size_t heap_cap;
    /* a multiple of the bucket span, past the clock; INT64_MIN before the
     * first entry */
    int64_t horizon;
    /* bucket number n (due >> MACHINE_WHEEL_SHIFT), from the horizon's
     * for MACHINE_WHEEL buckets, at wheel[n % MACHINE_WHEEL]; the entries
     * due later still in far */
    machine_bucket_t wheel[MACHINE_WHEEL];
    machine_bucket_t far;
    size_t waiting; /* entries in the wheel and far */
    /* touched since the last take: decoded, possibly changed */
    ldr_hot_t *hot;
    size_t hot_len, hot_cap;
    /* the list given out by the last take, released by the next step */
    ldr_partition_dirty_t *handed;
    size_t handed_len, handed_cap;
    ldr_enterprise_t **pool;
    size_t pool_len;
    ldr_enterprise_t peek; /* ldr_partition_find's and _each's copy */
    ldr_buf_t enc;         /* an encoding in progress */
};

/* Bytes a blob of a @p ulen-byte USCC and a @p len-byte state takes. */
static size_t machine_footprint(size_t ulen, size_t len) {
    return (1 + ulen + len + 7) & ~(size_t)7;
}

static size_t machine_rec_footprint(const ldr_ent_rec_t *r) {
    return machine_footprint(r->blob[0], r->len);
}

/* @p n bytes at the end of the last of @p *chunks, or of a new one. */
static uint8_t *machine_chunk_alloc(ldr_chunk_t **chunks, size_t *nchunks,
                                    size_t *cap, size_t n) {
    ldr_chunk_t *c = *nchunks ? &(*chunks)[*nchunks - 1] : NULL;
    if (!c || c->size - c->used < n) {
        if (*nchunks == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            *chunks = ldr_realloc(*chunks, *cap * sizeof(**chunks));
        }
        c = &(*chunks)[(*nchunks)++];
        c->size = n > MACHINE_CHUNK ? n : MACHINE_CHUNK;
        c->mem = ldr_malloc(c->size);
        c->used = 0;
    }
    uint8_t *at = c->mem + c->used;
    c->used += n;
    return at;
}

/* Stores @p len bytes of state for record @p r, whose USCC is @p uscc:
 * in place when it fits in what the record had. */
static void machine_rec_store(ldr_partition_t *p, ldr_ent_rec_t *r,
                              const char *uscc, size_t ulen, const void *state,
                              size_t len) {
    size_t need = machine_footprint(ulen, len);
    size_t had = r->blob ? machine_rec_footprint(r) : 0;
    if (had < need) {
        r->blob =
            machine_chunk_alloc(&p->chunks, &p->nchunks, &p->chunks_cap, need);
        r->blob[0] = (uint8_t)ulen;
        memcpy(r->blob + 1, uscc, ulen);
        p->garbage += had;
    } else {
        p->garbage += had - need;
    }
    p->live += need;
    p->live -= had;
    memcpy(r->blob + 1 + ulen, state, len);
    r->len = (uint32_t)len;
}

/* Packs the states into new chunks once a ninth of the old is garbage.
 * Nothing may point into the chunks: not while a take's list is out. */
static void machine_pack(ldr_partition_t *p) {
    if (p->garbage < MACHINE_CHUNK || p->garbage * 8 < p->live) return;
    ldr_chunk_t *chunks = NULL;
    size_t n = 0, cap = 0;
    for (uint32_t i = 0; i < p->count; i++) {
        ldr_ent_rec_t *r = &p->recs[i];
        if (!r->blob) continue;
        size_t fp = machine_rec_footprint(r);
        uint8_t *to = machine_chunk_alloc(&chunks, &n, &cap, fp);
        memcpy(to, r->blob, fp);
        r->blob = to;
    }
    for (size_t i = 0; i < p->nchunks; i++)
        free(p->chunks[i].mem);
    free(p->chunks);
    p->chunks = chunks;
    p->nchunks = n;
    p->chunks_cap = cap;
    p->garbage = 0;
}

ldr_partition_t *ldr_partition_new(const ldr_policies_t *policies) {
    ldr_partition_t *p = ldr_calloc(1, sizeof(*p));
    p->policies = policies;
    p->cap = 1024;
    p->slots = ldr_calloc(p->cap, sizeof(*p->slots));
    p->horizon = INT64_MIN;
    ldr_enterprise_init(&p->peek, "", 0);
    ldr_buf_init(&p->enc);
    return p;
}

static void machine_free_enterprise(ldr_enterprise_t *e) {
    ldr_enterprise_fini(e);
    free(e);
}

void ldr_partition_destroy(ldr_partition_t *p) {
    if (!p) return;
    for (size_t i = 0; i < p->nchunks; i++)
        free(p->chunks[i].mem);
    free(p->chunks);
    for (size_t i = 0; i < p->hot_len; i++)
        machine_free_enterprise(p->hot[i].e);
    for (size_t i = 0; i < p->handed_len; i++)
        machine_free_enterprise((ldr_enterprise_t *)p->handed[i].e);
    for (size_t i = 0; i < p->pool_len; i++)
        machine_free_enterprise(p->pool[i]);
    free(p->recs);
    free(p->slots);
    free(p->heap);
    for (int i = 0; i < MACHINE_WHEEL; i++)
        free(p->wheel[i].v);
    free(p->far.v);
    free(p->hot);
    free(p->handed);
    free(p->pool);
    ldr_enterprise_fini(&p->peek);
    ldr_buf_fini(&p->enc);
    free(p);
}

int64_t ldr_partition_clock(const ldr_partition_t *p) {
    return p->clock;
}
size_t ldr_partition_count(const ldr_partition_t *p) {
    return p->count;
}

/* Decodes record @p r into @p e (initialised). Only what this partition
 * encoded is ever there, so a failure is a bug, not bad input. */
static void machine_decode(const ldr_ent_rec_t *r, ldr_enterprise_t *e) {
    size_t ulen = r->blob[0];
    memset(e->uscc, 0, sizeof(e->uscc));
    memcpy(e->uscc, r->blob + 1, ulen);
    if (ldr_enterprise_decode_own(e, r->blob + 1 + ulen, r->len) != LDR_OK)
        abort();
}

/* Record @p i as an enterprise: its hot copy, or a decoding of it into
 * the partition's peek copy (valid until the next call). */
static const ldr_enterprise_t *machine_view(ldr_partition_t *p, uint32_t i) {
    const ldr_ent_rec_t *r = &p->recs[i];
    if (r->hot) return p->hot[r->hot - 1].e;
    machine_decode(r, &p->peek);
    return &p->peek;
}

void ldr_partition_each(ldr_partition_t *p,
                        void (*fn)(void *opaque, const ldr_enterprise_t *e),
                        void *opaque) {
    for (uint32_t i = 0; i < p->count; i++)
        fn(opaque, machine_view(p, i));
}

/* The USCC of record @p i: in its blob, or in its hot copy while it has
 * none (an enterprise this batch created and no take encoded yet). */
static const char *machine_key(const ldr_partition_t *p, uint32_t i,
                               size_t *len) {
    const ldr_ent_rec_t *r = &p->recs[i];
    if (r->blob) {
        *len = r->blob[0];
        return (const char *)r->blob + 1;
    }
    const char *u = p->hot[r->hot - 1].e->uscc;
    *len = strlen(u);
    return u;
}

/* A slot holds 1 + the record's index in its low MACHINE_SLOT_BITS bits
 * and, above them, eight more bits of the USCC's hash: a probe that meets
 * another enterprise's slot moves on without reading its record and blob
 * (two cache misses each, with tens of thousands of enterprises in a
 * partition), and a new enterprise's search for a free slot reads the
 * slots alone. A partition holds at most MACHINE_RECS_MAX enterprises. */
#define MACHINE_SLOT_BITS 24
#define MACHINE_RECS_MAX  ((1u << MACHINE_SLOT_BITS) - 2)

static uint32_t machine_slot_make(uint64_t hash, uint32_t rec) {
    return (uint32_t)(hash >> 56) << MACHINE_SLOT_BITS | (rec + 1);
}

static uint32_t machine_slot_rec(uint32_t slot) {
    return (slot & ((1u << MACHINE_SLOT_BITS) - 1)) - 1;
}

/* The slot of @p uscc (whose hash is @p hash): the one holding it, or the
 * free one it would take. */
static size_t machine_slot(const ldr_partition_t *p, const char *uscc,
                           size_t len, uint64_t hash) {
    size_t i = (size_t)hash & (p->cap - 1);
    uint32_t tag = (uint32_t)(hash >> 56);
    while (p->slots[i]) {
        if (p->slots[i] >> MACHINE_SLOT_BITS == tag) {
            size_t klen;
            const char *key =
                machine_key(p, machine_slot_rec(p->slots[i]), &klen);
            if (klen == len && memcmp(key, uscc, len) == 0) break;
        }
        i = (i + 1) & (p->cap - 1);
    }
    return i;
}

const ldr_enterprise_t *ldr_partition_find(ldr_partition_t *p, const char *uscc,
                                           size_t len) {
    if (len > 18) return NULL;
    uint32_t s = p->slots[machine_slot(p, uscc, len,
                                       ldr_enterprise_event_hash(uscc, len))];
    return s ? machine_view(p, machine_slot_rec(s)) : NULL;
}

/* A decoded enterprise from the pool, initialised. */
static ldr_enterprise_t *machine_pool_get(ldr_partition_t *p) {
    if (p->pool_len) return p->pool[--p->pool_len];
    ldr_enterprise_t *e = ldr_malloc(sizeof(*e));
    ldr_enterprise_init(e, "", 0);
    return e;
}

static void machine_pool_put(ldr_partition_t *p, ldr_enterprise_t *e) {
    if (p->pool_len == MACHINE_POOL_MAX) {
        machine_free_enterprise(e);
        return;
    }
    if (!p->pool) p->pool = ldr_malloc(MACHINE_POOL_MAX * sizeof(*p->pool));
    p->pool[p->pool_len++] = e;
}

/* Makes record @p i hot: a decoded copy from the pool, which the caller
 * fills, at the end of the hot list. */
static ldr_hot_t *machine_hot_push(ldr_partition_t *p, uint32_t i) {
    if (p->hot_len == p->hot_cap) {
        p->hot_cap = p->hot_cap ? p->hot_cap * 2 : 64;
        p->hot = ldr_realloc(p->hot, p->hot_cap * sizeof(*p->hot));
    }
    ldr_hot_t *h = &p->hot[p->hot_len++];
    h->e = machine_pool_get(p);
    h->rec = i;
    p->recs[i].hot = (uint32_t)p->hot_len;
    return h;
}

/* Record @p i decoded for change: its hot copy, made on first touch with
 * its units and states as last taken (the store moves the counters from
 * them). */
static ldr_enterprise_t *machine_touch(ldr_partition_t *p, uint32_t i) {
    ldr_ent_rec_t *r = &p->recs[i];
    if (r->hot) return p->hot[r->hot - 1].e;
    ldr_hot_t *h = machine_hot_push(p, i);
    machine_decode(r, h->e);
    memcpy(h->unit_before, h->e->unit, sizeof(h->unit_before));
    for (int t = 0; t < LDR_TIER__COUNT; t++)
        h->state_before[t] = h->e->tiers[t].state;
    return h->e;
}

/* Undoes the touch of the last hot copy (@p i's), which changed nothing. */
static void machine_untouch(ldr_partition_t *p, uint32_t i) {
    p->recs[i].hot = 0;
    machine_pool_put(p, p->hot[--p->hot_len].e);
}

static void machine_grow(ldr_partition_t *p) {
    uint32_t *old = p->slots;
    size_t old_cap = p->cap;
    p->cap *= 2;
    p->slots = ldr_calloc(p->cap, sizeof(*p->slots));
    for (size_t j = 0; j < old_cap; j++)
        if (old[j]) {
            size_t ulen;
            const char *u = machine_key(p, machine_slot_rec(old[j]), &ulen);
            p->slots[machine_slot(p, u, ulen,
                                  ldr_enterprise_event_hash(u, ulen))] = old[j];
        }
    free(old);
}

/* The record of @p uscc, created (and touched) when new; *@p fresh tells
 * which. */
static uint32_t machine_rec_get(ldr_partition_t *p, ldr_str_t uscc,
                                bool *fresh) {
    size_t len = uscc.len > 18 ? 18 : uscc.len;
    uint64_t hash = ldr_enterprise_event_hash(uscc.ptr, len);
    size_t i = machine_slot(p, uscc.ptr, len, hash);
    *fresh = !p->slots[i];
    if (p->slots[i]) return machine_slot_rec(p->slots[i]);
    if (p->count == MACHINE_RECS_MAX) {
        fprintf(stderr, "ladder: a partition holds at most %u enterprises\n",
                MACHINE_RECS_MAX);
        abort();
    }
    if ((p->count + 1) * 10 > p->cap * 7) {
        machine_grow(p);
        i = machine_slot(p, uscc.ptr, len, hash);
    }
    if (p->count == p->recs_cap) {
        p->recs_cap = p->recs_cap ? p->recs_cap + p->recs_cap / 2 : 256;
        p->recs = ldr_realloc(p->recs, p->recs_cap * sizeof(*p->recs));
    }
    uint32_t n = p->count++;
    p->recs[n] = (ldr_ent_rec_t){NULL, 0, 0};
    p->slots[i] = machine_slot_make(hash, n);
    /* a new enterprise: hot from the start, as if decoded from nothing */
    ldr_hot_t *h = machine_hot_push(p, n);
    ldr_enterprise_fini(h->e);
    ldr_enterprise_init(h->e, uscc.ptr, len);
    h->unit_before[0] = '\0';
    for (int t = 0; t < LDR_TIER__COUNT; t++)
        h->state_before[t] = LDR_TIER_STATE_NONE;
    return n;
}

static int machine_uscc_cmp(const ldr_partition_t *p, uint32_t a, uint32_t b) {
    if (a == b) return 0;
    size_t la, lb;
    const char *ua = machine_key(p, a, &la), *ub = machine_key(p, b, &lb);
    int c = memcmp(ua, ub, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

/* Entry order: (due, USCC); an enterprise picks (tier, kind) itself. */
static int machine_timer_less(const ldr_partition_t *p,
                              const ldr_timer_entry_t *a,
                              const ldr_timer_entry_t *b) {
    if (a->due != b->due) return a->due < b->due;
    return machine_uscc_cmp(p, a->rec, b->rec) < 0;
}

/* The heap is 4-ary: an entry's children are its index times four plus
 * one to four, so a level costs one or two cache lines where a binary
 * heap's took one for each of twice as many levels. With tens of
 * thousands of timers in a partition, the walk down from the root missed
 * the cache at every level and was a seventh of a replay's time
 * (docs/BENCHMARKS.md). */
#define MACHINE_HEAP_D 4

static void machine_heap_push(ldr_partition_t *p, ldr_timer_entry_t t) {
    if (p->heap_len == p->heap_cap) {
        p->heap_cap = p->heap_cap ? p->heap_cap + p->heap_cap / 2 : 256;
        p->heap = ldr_realloc(p->heap, p->heap_cap * sizeof(*p->heap));
    }
    size_t i = p->heap_len++;
    while (i > 0) {
        size_t parent = (i - 1) / MACHINE_HEAP_D;
        if (!machine_timer_less(p, &t, &p->heap[parent])) break;
        p->heap[i] = p->heap[parent];
        i = parent;
    }
    p->heap[i] = t;
}

static ldr_timer_entry_t machine_heap_pop(ldr_partition_t *p) {
    ldr_timer_entry_t top = p->heap[0];
    ldr_timer_entry_t last = p->heap[--p->heap_len];
    size_t i = 0;
    for (;;) {
        size_t first = MACHINE_HEAP_D * i + 1;
        if (first >= p->heap_len) break;
        size_t end = first + MACHINE_HEAP_D < p->heap_len
                         ? first + MACHINE_HEAP_D
                         : p->heap_len;
        size_t m = first;
        for (size_t c = first + 1; c < end; c++)
            if (machine_timer_less(p, &p->heap[c], &p->heap[m])) m = c;
        if (!machine_timer_less(p, &p->heap[m], &last)) break;
        p->heap[i] = p->heap[m];
        i = m;
    }
    if (p->heap_len) p->heap[i] = last;
    return top;
}

static void machine_bucket_add(machine_bucket_t *b, ldr_timer_entry_t t) {
    if (b->len == b->cap) {
        b->cap = b->cap ? b->cap + b->cap / 2 : 16;
        b->v = ldr_realloc(b->v, b->cap * sizeof(*b->v));
    }
    b->v[b->len++] = t;
}

/* Beyond this clock (millions of years) the wheel is left alone: the
 * horizon becomes INT64_MAX and every entry goes to the heap. */
#define MACHINE_WHEEL_END ((int64_t)1 << 62)

/* The first bucket span's start past @p clock (at least the first). */
static int64_t machine_horizon_after(int64_t clock) {
    if (clock < 0) clock = 0;
    return ((clock >> MACHINE_WHEEL_SHIFT) + 1) *
           ((int64_t)1 << MACHINE_WHEEL_SHIFT);
}

/* Files entry @p t: in the heap when it is due before the horizon, else
 * in its bucket of the wheel, or in far beyond the wheel. */
static void machine_timer_put(ldr_partition_t *p, ldr_timer_entry_t t) {
    if (p->horizon == INT64_MIN) p->horizon = machine_horizon_after(p->clock);
    if (t.due < p->horizon || p->horizon == INT64_MAX) {
        machine_heap_push(p, t);
        return;
    }
    int64_t n = t.due >> MACHINE_WHEEL_SHIFT;
    int64_t first = p->horizon >> MACHINE_WHEEL_SHIFT;
    machine_bucket_add(
        n - first < MACHINE_WHEEL ? &p->wheel[n % MACHINE_WHEEL] : &p->far, t);
    p->waiting++;
}

/* Moves the horizon past the clock, and into the heap every waiting entry
 * it passes: then every entry due by the clock is in the heap. */
static void machine_timers_advance(ldr_partition_t *p) {
    if (p->horizon == INT64_MIN || p->clock < p->horizon) return;
    int64_t target = p->clock < MACHINE_WHEEL_END
                         ? machine_horizon_after(p->clock)
                         : INT64_MAX;
    if (!p->waiting) {
        p->horizon = target;
        return;
    }
    int64_t first = p->horizon >> MACHINE_WHEEL_SHIFT;
    if (target == INT64_MAX ||
        (target >> MACHINE_WHEEL_SHIFT) - first >= MACHINE_WHEEL) {
        /* past the whole wheel (a reload before its clock was set, or a
         * long silence): every waiting entry is filed again */
        machine_bucket_t all = p->far;
        p->far = (machine_bucket_t){0};
        for (int i = 0; i < MACHINE_WHEEL; i++) {
            machine_bucket_t *b = &p->wheel[i];
            for (size_t k = 0; k < b->len; k++)
                machine_bucket_add(&all, b->v[k]);
            free(b->v);
            *b = (machine_bucket_t){0};
        }
        p->waiting = 0;
        p->horizon = target;
        for (size_t k = 0; k < all.len; k++)
            machine_timer_put(p, all.v[k]);
        free(all.v);
        return;
    }
    while (p->horizon < target) {
        machine_bucket_t *b =
            &p->wheel[(p->horizon >> MACHINE_WHEEL_SHIFT) % MACHINE_WHEEL];
        for (size_t k = 0; k < b->len; k++)
            machine_heap_push(p, b->v[k]);
        p->waiting -= b->len;
        free(b->v);
        *b = (machine_bucket_t){0};
        p->horizon += (int64_t)1 << MACHINE_WHEEL_SHIFT;
    }
    if (p->far.len) { /* what the wheel now reaches leaves far */
        machine_bucket_t far = p->far;
        p->far = (machine_bucket_t){0};
        p->waiting -= far.len;
        for (size_t k = 0; k < far.len; k++)
            machine_timer_put(p, far.v[k]);
        free(far.v);
    }
}

/* Drops every entry of record @p rec, waiting or in the heap. */
static void machine_timers_drop(ldr_partition_t *p, uint32_t rec) {
    size_t w = 0;
    for (size_t i = 0; i < p->heap_len; i++)
        if (p->heap[i].rec != rec) p->heap[w++] = p->heap[i];
    ldr_timer_entry_t *all = p->heap;
    size_t n = w;
    p->heap = NULL;
    p->heap_len = p->heap_cap = 0;
    for (size_t i = 0; i < n; i++)
        machine_heap_push(p, all[i]);
    free(all);
    for (int i = 0; i <= MACHINE_WHEEL; i++) {
        machine_bucket_t *b = i < MACHINE_WHEEL ? &p->wheel[i] : &p->far;
        w = 0;
        for (size_t k = 0; k < b->len; k++)
            if (b->v[k].rec != rec) b->v[w++] = b->v[k];
        p->waiting -= b->len - w;
        b->len = w;
    }
}

/* The earliest timer of @p e, the first by tier and kind among those due
 * then: its due time (0: none), tier and kind. */
static int64_t machine_first_timer(const ldr_enterprise_t *e, int *tier,
                                   int *kind) {
    int64_t first = 0;
    *tier = *kind = 0;
    for (int t = 0; t < LDR_TIER__COUNT; t++)
        for (int k = 0; k < LDR_TIMER__COUNT; k++) {
            int64_t due = e->tiers[t].timer_due[k];
            if (due && (!first || due < first)) {
                first = due;
                *tier = t;
                *kind = k;
            }
        }
    return first;
}

/* Indexes enterprise @p e (record @p rec) when its earliest timer is not
 * @p before any more (0: it had none, or its entry was just popped). */
static void machine_index(ldr_partition_t *p, uint32_t rec,
                          const ldr_enterprise_t *e, int64_t before) {
    int tier, kind;
    int64_t first = machine_first_timer(e, &tier, &kind);
    if (first && first != before)
        machine_timer_put(p, (ldr_timer_entry_t){first, rec});
}

/* Gives the hot copies handed out by the last take back to the pool;
 * with that list gone, the chunks may be packed. */
static void machine_release(ldr_partition_t *p) {
    for (size_t i = 0; i < p->handed_len; i++)
        machine_pool_put(p, (ldr_enterprise_t *)p->handed[i].e);
    p->handed_len = 0;
    machine_pack(p);
}

const ldr_partition_dirty_t *ldr_partition_take_dirty(ldr_partition_t *p,
                                                      size_t *count) {
    machine_release(p);
    if (p->handed_cap < p->hot_len) {
        p->handed_cap = p->hot_len;
        p->handed = ldr_realloc(p->handed, p->handed_cap * sizeof(*p->handed));
    }
    for (size_t i = 0; i < p->hot_len; i++) {
        ldr_hot_t *h = &p->hot[i];
        ldr_ent_rec_t *r = &p->recs[h->rec];
        ldr_buf_reset(&p->enc);
        ldr_enterprise_encode(h->e, &p->enc);
        machine_rec_store(p, r, h->e->uscc, strlen(h->e->uscc), p->enc.data,
                          p->enc.len);
        r->hot = 0;
        ldr_partition_dirty_t *d = &p->handed[i];
        d->e = h->e;
        d->state = r->blob + 1 + r->blob[0];
        d->state_len = r->len;
        memcpy(d->unit_before, h->unit_before, sizeof(d->unit_before));
        memcpy(d->state_before, h->state_before, sizeof(d->state_before));
    }
    p->handed_len = p->hot_len;
    p->hot_len = 0;
    *count = p->handed_len;
    return p->handed;
}

void ldr_partition_set_clock(ldr_partition_t *p, int64_t clock) {
    p->clock = clock;
    machine_timers_advance(p);
}

void ldr_partition_insert(ldr_partition_t *p, ldr_enterprise_t *e) {
    machine_release(p);
    size_t len = strlen(e->uscc);
    bool fresh;
    uint32_t rec = machine_rec_get(p, ldr_str(e->uscc), &fresh);
    if (!fresh) /* entries of the old one would point at the new */
        machine_timers_drop(p, rec);
    ldr_ent_rec_t *r = &p->recs[rec];
    ldr_buf_reset(&p->enc);
    ldr_enterprise_encode(e, &p->enc);
    machine_rec_store(p, r, e->uscc, len, p->enc.data, p->enc.len);
    if (fresh)
        machine_untouch(p, rec); /* made hot by its creation */
    else if (r->hot)
        machine_decode(r, p->hot[r->hot - 1].e); /* follows the insert */
    machine_index(p, rec, e, 0);
    machine_free_enterprise(e);
}

static int64_t machine_msg_time(const ldr_record_t *m) {
    switch (m->kind) {
    case LDR_RECORD_APPLICATION: return m->u.application.occurred_at;
    case LDR_RECORD_REVIEW: return m->u.review.occurred_at;
    case LDR_RECORD_VIOLATION: return m->u.violation.occurred_at;
    case LDR_RECORD_CLOCK_TICK: return m->u.tick.tick_at;
    default: return 0;
    }
}

ldr_err_t ldr_partition_step(ldr_partition_t *p, const ldr_record_t *msg,
                             const ldr_machine_cause_t *cause,
                             ldr_machine_out_t *out) {
    if (msg->kind == LDR_RECORD_DECISION) return LDR_ERR_INVALID_ARG;
    machine_release(p);
    int64_t t = machine_msg_time(msg);
    if (t > p->clock) p->clock = t;
    /* Every timer due at or before the clock fires first, in order; timers
     * set while firing join the same loop. */
    machine_timers_advance(p);
    while (p->heap_len && p->heap[0].due <= p->clock) {
        ldr_timer_entry_t te = machine_heap_pop(p);
        bool was_hot = p->recs[te.rec].hot != 0;
        ldr_enterprise_t *e = machine_touch(p, te.rec);
        int tier, kind;
        if (machine_first_timer(e, &tier, &kind) != te.due) {
            /* replaced or dropped since it was indexed */
            if (!was_hot) machine_untouch(p, te.rec);
            continue;
        }
        ldr_machine_fire(p->policies, e, (ldr_tier_t)tier,
                         (ldr_timer_kind_t)kind, te.due, cause, out);
        machine_index(p, te.rec, e, 0);
    }
    if (msg->kind == LDR_RECORD_CLOCK_TICK) return LDR_OK;
    ldr_str_t uscc = machine_msg_uscc(msg);
    bool fresh;
    uint32_t rec = machine_rec_get(p, uscc, &fresh);
    ldr_enterprise_t *e = machine_touch(p, rec);
    int tier, kind;
    int64_t before = machine_first_timer(e, &tier, &kind);
    ldr_err_t err = ldr_machine_apply(p->policies, e, msg, cause, out);
    machine_index(p, rec, e, before);
    return err;
}
