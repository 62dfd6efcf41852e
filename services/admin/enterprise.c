/* enterprise.c -- ladder-admin enterprise USCC: one enterprise as the
 * worker stored it.
 *
 * DESIGN: the enterprise's partition is found as every producer finds it,
 * murmur2_random of the USCC over the partition count the workers
 * recorded in Redis (the input topic's when none is recorded yet), and
 * its state is decoded with the worker's own decoder (ldr_store_enterprise
 * and enterprise.h), so what is shown is what the worker will load. Beside
 * the state: the timers pending in it (the state holds them; no sorted set
 * beside it), the decision history the state keeps, and the partition's
 * notices that name it. */
#include "admin_int.h"

#include "ladder/enterprise.h"
#include "ladder/record.h"
#include "ladder/uscc.h"
#include "ladder/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ent_timer_names[LDR_TIMER__COUNT] = {
    "PUBLICITY_END", "REVIEW_WINDOW", "VALIDITY_END"};

typedef struct ent_timer {
    int tier, kind;
    int64_t due;
} ent_timer_t;

typedef struct ent_view {
    const char *uscc;
    ent_timer_t timers[LDR_TIER__COUNT * LDR_TIMER__COUNT];
    int ntimers;
    json_t *notices; /* array of {id, decision} */
} ent_view_t;

static void ent_on_timer(void *opaque, int tier, int kind, int64_t due) {
    ent_view_t *v = opaque;
    if (tier < 0 || tier >= LDR_TIER__COUNT || kind < 0 ||
        kind >= LDR_TIMER__COUNT ||
        v->ntimers >= (int)(sizeof(v->timers) / sizeof(v->timers[0])))
        return;
    v->timers[v->ntimers++] = (ent_timer_t){tier, kind, due};
}

static void ent_on_notice(void *opaque, const char *id, const char *text,
                          size_t len) {
    ent_view_t *v = opaque;
    json_t *d = json_loadb(text, len, 0, NULL);
    json_t *u = d ? json_object_get(d, "uscc") : NULL;
    if (!u || !json_is_string(u) || strcmp(json_string_value(u), v->uscc)) {
        json_decref(d);
        return;
    }
    json_t *n = json_object();
    json_object_set_new(n, "id", json_string(id));
    json_object_set_new(n, "decision", d);
    json_array_append_new(v->notices, n);
}

static int ent_by_due(const void *x, const void *y) {
    const ent_timer_t *a = x, *b = y;
    if (a->due != b->due) return a->due < b->due ? -1 : 1;
    return a->tier != b->tier ? a->tier - b->tier : a->kind - b->kind;
}

static json_t *ent_str(ldr_str_t s) {
    return s.len ? json_stringn(s.ptr, s.len) : json_null();
}

/* The history entry @p h as JSON (the decision's fields the history
 * keeps). */
static json_t *ent_history_json(const ldr_history_entry_t *h) {
    json_t *j = json_object();
    json_object_set_new(j, "offset", json_integer(h->offset));
    json_object_set_new(j, "n", json_integer(h->n));
    json_object_set_new(j, "decision",
                        json_string(ldr_decision_type_name(h->decision)));
    json_object_set_new(j, "tier",
                        h->has_tier ? json_string(ldr_tier_name(h->tier))
                                    : json_null());
    json_object_set_new(j, "effective_at", adm_time_json(h->effective_at));
    json_object_set_new(j, "valid_from",
                        h->has_valid_from ? adm_time_json(h->valid_from)
                                          : json_null());
    json_object_set_new(j, "valid_until",
                        h->has_valid_until ? adm_time_json(h->valid_until)
                                           : json_null());
    json_object_set_new(j, "review_deadline",
                        h->has_review_deadline
                            ? adm_time_json(h->review_deadline)
                            : json_null());
    json_object_set_new(j, "ban_until",
                        h->has_ban_until ? adm_time_json(h->ban_until)
                                         : json_null());
    json_object_set_new(j, "batch",
                        h->has_batch ? json_integer(h->batch) : json_null());
    json_object_set_new(j, "score",
                        h->has_score ? json_integer(h->score) : json_null());
    json_object_set_new(j, "case_id", ent_str(h->case_id));
    json_object_set_new(j, "cause_event_id", ent_str(h->cause_event_id));
    json_object_set_new(j, "policy_version", ent_str(h->policy_version));
    json_t *reasons = json_array();
    for (size_t i = 0; i < h->reasons_count; i++)
        json_array_append_new(reasons, ent_str(h->reasons[i]));
    json_object_set_new(j, "reasons", reasons);
    return j;
}

static json_t *ent_json(const ldr_enterprise_t *e, int p, ent_view_t *v) {
    json_t *j = json_object();
    json_object_set_new(j, "uscc", json_string(e->uscc));
    json_object_set_new(j, "enterprise_name", json_string(e->name));
    json_object_set_new(j, "reporting_unit", json_string(e->unit));
    json_object_set_new(j, "partition", json_integer(p));
    json_t *tiers = json_object();
    for (int t = 0; t < LDR_TIER__COUNT; t++) {
        const ldr_tier_rec_t *r = &e->tiers[t];
        json_t *tj = json_object();
        bool any = r->state != LDR_TIER_STATE_NONE;
        json_object_set_new(tj, "state",
                            json_string(ldr_tier_state_name(r->state)));
        json_object_set_new(tj, "batch",
                            any ? json_integer(r->batch) : json_null());
        json_object_set_new(tj, "policy_version",
                            any ? json_string(r->policy) : json_null());
        json_object_set_new(tj, "publicity_end",
                            adm_time_json(r->publicity_end));
        json_object_set_new(tj, "valid_from", adm_time_json(r->valid_from));
        json_object_set_new(tj, "valid_until", adm_time_json(r->valid_until));
        json_object_set_new(tj, "held_by_open_case", json_boolean(r->held));
        json_object_set_new(tiers, ldr_tier_name((ldr_tier_t)t), tj);
    }
    json_object_set_new(j, "tiers", tiers);
    json_t *cases = json_array();
    for (size_t i = 0; i < e->cases_count; i++)
        json_array_append_new(cases, json_string(e->cases[i]));
    json_object_set_new(j, "open_cases", cases);
    json_object_set_new(j, "ban_until", adm_time_json(e->ban_until));
    json_object_set_new(j, "events_applied",
                        json_integer((json_int_t)e->events_count));
    json_t *timers = json_array();
    for (int i = 0; i < v->ntimers; i++) {
        json_t *tj = json_object();
        json_object_set_new(
            tj, "tier",
            json_string(ldr_tier_name((ldr_tier_t)v->timers[i].tier)));
        json_object_set_new(tj, "kind",
                            json_string(ent_timer_names[v->timers[i].kind]));
        json_object_set_new(tj, "due", adm_time_json(v->timers[i].due));
        json_object_set_new(tj, "due_ms", json_integer(v->timers[i].due));
        json_array_append_new(timers, tj);
    }
    json_object_set_new(j, "timers", timers);
    json_t *history = json_array();
    for (int i = 0; i < e->history_count; i++) {
        ldr_history_entry_t h;
        if (ldr_enterprise_history_get(e, i, &h)) break;
        json_array_append_new(history, ent_history_json(&h));
    }
    json_object_set_new(j, "history", history);
    json_object_set_new(j, "notices", json_incref(v->notices));
    return j;
}

static void ent_print(const ldr_enterprise_t *e, int p, ent_view_t *v) {
    char t1[40], t2[40];
    printf("enterprise %s: %s (reporting unit %s), partition %d, %zu events "
           "applied\n",
           e->uscc, e->name, e->unit, p, e->events_count);
    printf("designations:\n");
    for (int t = 0; t < LDR_TIER__COUNT; t++) {
        const ldr_tier_rec_t *r = &e->tiers[t];
        printf("  %-13s %-10s", ldr_tier_name((ldr_tier_t)t),
               ldr_tier_state_name(r->state));
        if (r->state != LDR_TIER_STATE_NONE)
            printf(" batch %d, policy %s", (int)r->batch, r->policy);
        if (r->state == LDR_TIER_STATE_PUBLICITY)
            printf(", publicity ends %s%s",
                   adm_time(r->publicity_end, t1, sizeof(t1)),
                   r->held ? " (held by an open case)" : "");
        if (r->valid_from || r->valid_until)
            printf(", valid %s to %s", adm_time(r->valid_from, t1, sizeof(t1)),
                   adm_time(r->valid_until, t2, sizeof(t2)));
        printf("\n");
    }
    printf("open cases: ");
    for (size_t i = 0; i < e->cases_count; i++)
        printf("%s%s", i ? ", " : "", e->cases[i]);
    printf("%s\nbanned until: %s\n", e->cases_count ? "" : "none",
           adm_time(e->ban_until, t1, sizeof(t1)));
    printf("timers (%d):\n", v->ntimers);
    for (int i = 0; i < v->ntimers; i++)
        printf("  %s  %-13s %s\n", adm_time(v->timers[i].due, t1, sizeof(t1)),
               ldr_tier_name((ldr_tier_t)v->timers[i].tier),
               ent_timer_names[v->timers[i].kind]);
    printf("history (%d kept, oldest first):\n", e->history_count);
    for (int i = 0; i < e->history_count; i++) {
        ldr_history_entry_t h;
        if (ldr_enterprise_history_get(e, i, &h)) break;
        printf("  %s  %-22s %-13s offset %lld",
               adm_time(h.effective_at, t1, sizeof(t1)),
               ldr_decision_type_name(h.decision),
               h.has_tier ? ldr_tier_name(h.tier) : "-", (long long)h.offset);
        for (size_t r = 0; r < h.reasons_count; r++)
            printf("%s%.*s", r ? ", " : "  ", (int)h.reasons[r].len,
                   h.reasons[r].ptr);
        printf("\n");
    }
    printf("notices (%zu):\n", json_array_size(v->notices));
    size_t i;
    json_t *n;
    json_array_foreach(v->notices, i, n) {
        json_t *d = json_object_get(n, "decision");
        printf("  %s  %s %s\n", json_string_value(json_object_get(n, "id")),
               json_string_value(json_object_get(d, "decision")),
               json_is_string(json_object_get(d, "effective_at"))
                   ? json_string_value(json_object_get(d, "effective_at"))
                   : "");
    }
}

static int ent_run(adm_t *a, int argc, char **argv) {
    static const struct option opts[] = {ADM_COMMON_OPTS, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = adm_common_opt(a, &adm_enterprise_cmd, c);
        if (rc != ADM_CONTINUE) return rc < 0 ? ADM_EXIT_USAGE : rc;
    }
    if (argc - optind != 1)
        return adm_usage_error(&adm_enterprise_cmd, "give one USCC");
    const char *uscc = argv[optind];
    char err[1024];
    if (ldr_validate_uscc(ldr_str(uscc), err, sizeof(err)))
        return adm_usage_error(&adm_enterprise_cmd, "%s", err);
    if (!adm_config(a, err, sizeof(err))) {
        fprintf(stderr, "ladder-admin: %s\n", err);
        return ADM_EXIT_USAGE;
    }
    int p = adm_uscc_partition(a, uscc, err, sizeof(err));
    if (p < 0) {
        fprintf(stderr, "ladder-admin enterprise: %s\n", err);
        return ADM_EXIT_UNREACHABLE;
    }
    ldr_enterprise_t e;
    ldr_enterprise_init(&e, uscc, LDR_USCC_LEN);
    ent_view_t v = {.uscc = uscc, .notices = json_array()};
    bool found = false;
    ldr_err_t rc =
        ldr_store_enterprise(a->store, p, uscc, &e, &found, err, sizeof(err));
    if (!rc && found) ldr_enterprise_each_timer(&e, ent_on_timer, &v);
    if (!rc && found)
        rc =
            ldr_store_notices(a->store, p, ent_on_notice, &v, err, sizeof(err));
    int status = ADM_EXIT_OK;
    if (rc) {
        fprintf(stderr, "ladder-admin enterprise: %s\n", err);
        status =
            rc == LDR_ERR_TRANSIENT ? ADM_EXIT_UNREACHABLE : ADM_EXIT_FAILED;
    } else if (!found) {
        if (a->json) {
            json_t *j = json_object();
            json_object_set_new(j, "uscc", json_string(uscc));
            json_object_set_new(j, "partition", json_integer(p));
            json_object_set_new(j, "found", json_false());
            adm_json_print(j);
        } else {
            printf("enterprise %s: nothing stored in partition %d\n", uscc, p);
        }
        status = ADM_EXIT_FAILED;
    } else {
        qsort(v.timers, (size_t)v.ntimers, sizeof(v.timers[0]), ent_by_due);
        if (a->json) {
            json_t *j = ent_json(&e, p, &v);
            json_object_set_new(j, "found", json_true());
            adm_json_print(j);
        } else {
            ent_print(&e, p, &v);
        }
    }
    json_decref(v.notices);
    ldr_enterprise_fini(&e);
    return status;
}

const adm_cmd_t adm_enterprise_cmd = {
    .name = "enterprise",
    .args = "USCC",
    .summary = "one enterprise's state, timers, history and notices",
    .help = "Shows one enterprise as the worker stored it: its designations "
            "per tier, open\ncases and ban, the timers the partition holds "
            "for it, the decision history\nits state keeps (the last 20) and "
            "the revocation notices of its partition\nthat name it. The "
            "partition is murmur2_random of the USCC over the partition\n"
            "count the workers recorded in Redis (the input topic's when none "
            "is).\n\nExit status: 0 shown; 1 nothing is stored for it (or "
            "its state does not\ndecode); 2 bad usage (an invalid USCC) or "
            "configuration; 3 Redis (or Kafka,\nwhen Redis holds no partition "
            "count) unreachable.\n",
    .run = ent_run,
};
