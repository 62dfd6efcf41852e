/* policy_show.c -- a compiled policy as readable text (`ladder-policy show`).
 *
 * DESIGN: printed from the compiled form, not from the JSON, so what an
 * operator reads is exactly what the evaluator will apply, with the
 * loader's defaults and same_as references resolved. Conditions print in
 * the infix notation of POLICY.md ("rd_intensity >= 3", "1 <= v < 2"). */
#include <stdio.h>
#include <string.h>

#include "ladder/time.h"
#include "policy_int.h"

static void print_range(FILE *out, const char *what,
                        const struct ldr_policy__range *r) {
    char a[32], b[32];
    if (r->lo.set && r->hi.set)
        fprintf(out, "%s %s %s %s %s",
                ldr_policy_format_number(r->lo.t100, a, sizeof a),
                r->lo.inclusive ? "<=" : "<", what,
                r->hi.inclusive ? "<=" : "<",
                ldr_policy_format_number(r->hi.t100, b, sizeof b));
    else if (r->lo.set)
        fprintf(out, "%s %s %s", what, r->lo.inclusive ? ">=" : ">",
                ldr_policy_format_number(r->lo.t100, a, sizeof a));
    else if (r->hi.set)
        fprintf(out, "%s %s %s", what, r->hi.inclusive ? "<=" : "<",
                ldr_policy_format_number(r->hi.t100, b, sizeof b));
    else
        fprintf(out, "any %s", what);
}

static void print_mask(FILE *out, uint32_t mask, int count,
                       const char *(*name)(int)) {
    bool first = true;
    for (int i = 0; i < count; i++)
        if (mask & (1u << i)) {
            fprintf(out, "%s%s", first ? "" : ", ", name(i));
            first = false;
        }
}

static const char *honour_name(int i) {
    return ldr_honour_name((ldr_honour_t)i);
}
static const char *rd_name(int i) {
    return ldr_rd_institution_name((ldr_rd_institution_t)i);
}

static void print_cond(FILE *out, const struct ldr_policy__cond *c,
                       const struct ldr_policy__tier *t, bool nested) {
    switch (c->kind) {
    case LDR_C_ALL:
    case LDR_C_ANY:
        if (c->nkids == 1) {
            print_cond(out, c->kids[0], t, nested);
            break;
        }
        if (nested) fputc('(', out);
        for (size_t i = 0; i < c->nkids; i++) {
            if (i) fputs(c->kind == LDR_C_ALL ? " and " : " or ", out);
            print_cond(out, c->kids[i], t, true);
        }
        if (nested) fputc(')', out);
        break;
    case LDR_C_NOT:
        fputs("not ", out);
        print_cond(out, c->kids[0], t, true);
        break;
    case LDR_C_MEASURE:
        print_range(out, ldr_policy__measure_name(c->id), &c->range);
        break;
    case LDR_C_FLAG: fputs(ldr_policy__flag_name(c->id), out); break;
    case LDR_C_HONOUR:
        fputs((c->mask & (c->mask - 1)) ? "honour one of {" : "honour {", out);
        print_mask(out, c->mask, LDR_HONOUR__COUNT, honour_name);
        fputc('}', out);
        break;
    case LDR_C_RD_INSTITUTION:
        fputs("rd_institution in {", out);
        print_mask(out, c->mask, LDR_RD__COUNT, rd_name);
        fputc('}', out);
        break;
    case LDR_C_SCORE: {
        char what[64];
        if (c->id < 0)
            snprintf(what, sizeof what, "score");
        else
            snprintf(what, sizeof what, "%s sub-score", t->groups[c->id].name);
        print_range(out, what, &c->range);
        break;
    }
    }
}

static void print_indicator(FILE *out, const struct ldr_policy__indicator *ind,
                            const struct ldr_policy__tier *t, int indent) {
    fprintf(out, "%*s%s (max %d): ", indent, "", ind->name, ind->max);
    switch (ind->kind) {
    case LDR_I_BANDS:
        fprintf(out, "bands of %s\n", ldr_policy__measure_name(ind->measure));
        for (size_t i = ind->n; i-- > 0;) {
            fprintf(out, "%*s", indent + 4, "");
            print_range(out, "v", &ind->bands[i].range);
            fprintf(out, " -> %d\n", ind->bands[i].points);
        }
        /* Only ratios can be undefined (zero or negative denominator). */
        if (ldr_policy__measure_class(ind->measure) == LDR_MC_RATIO ||
            ldr_policy__measure_class(ind->measure) == LDR_MC_CAGR)
            fprintf(out, "%*sv = %s: no band, 0 points\n", indent + 4, "",
                    ldr_policy__measure_meaning(ind->measure));
        break;
    case LDR_I_FIRST:
        fputs("the first that holds\n", out);
        for (size_t i = 0; i < ind->n; i++) {
            fprintf(out, "%*s", indent + 4, "");
            print_cond(out, ind->rules[i].when, t, false);
            fprintf(out, " -> %d\n", ind->rules[i].points);
        }
        fprintf(out, "%*sotherwise -> %d\n", indent + 4, "", ind->else_points);
        break;
    case LDR_I_LINEAR:
        if (ind->divide != 1)
            fprintf(out, "floor(%s", ldr_policy__measure_name(ind->measure));
        else
            fputs(ldr_policy__measure_name(ind->measure), out);
        if (ind->multiply != 1)
            fprintf(out, " x %lld", (long long)ind->multiply);
        if (ind->divide != 1) fprintf(out, " / %lld)", (long long)ind->divide);
        fprintf(out, ", at most %d", ind->max);
        if (ind->has_min) fprintf(out, ", at least %d", ind->min);
        fputc('\n', out);
        break;
    case LDR_I_BEST_OF:
        fputs("the higher of\n", out);
        for (size_t i = 0; i < ind->n; i++)
            print_indicator(out, &ind->children[i], t, indent + 4);
        break;
    case LDR_I_LEVELS:
        fprintf(out, "by %s:", ldr_policy__measure_name(ind->measure));
        for (int i = LDR_RD__COUNT; i-- > 0;)
            fprintf(out, " %s %d%s",
                    ldr_rd_institution_name((ldr_rd_institution_t)i),
                    ind->levels[i], i ? "," : "");
        fputc('\n', out);
        break;
    }
}

static void print_tier(FILE *out, const struct ldr_policy__tier *t) {
    if (t->has_score) {
        fprintf(out, "  score (max %d); sub-scores:", t->score_max);
        for (size_t g = 0; g < t->ngroups; g++)
            fprintf(out, "%s %s", g ? "," : "", t->groups[g].name);
        fputc('\n', out);
        for (size_t g = 0; g < t->ngroups; g++) {
            fprintf(out, "    %s (max %d)\n", t->groups[g].name,
                    t->groups[g].max);
            for (size_t i = 0; i < t->groups[g].n; i++)
                print_indicator(out, &t->groups[g].indicators[i], t, 6);
        }
    } else {
        fputs("  no score\n", out);
    }
    fputs(
        "  criteria (all must hold; failed codes are reported in this order)\n",
        out);
    for (size_t i = 0; i < t->ncriteria; i++) {
        fprintf(out, "    %s: ", ldr_policy__code_name(t->criteria[i].code));
        print_cond(out, t->criteria[i].when, t, false);
        if (!t->criteria[i].on_review) fputs("  [not checked on review]", out);
        fputc('\n', out);
    }
    if (t->ndirect) {
        fputs("  direct qualification (any one satisfies the codes it names)\n",
              out);
        for (size_t i = 0; i < t->ndirect; i++) {
            fprintf(out, "    %s: ", t->direct[i].name);
            print_cond(out, t->direct[i].when, t, false);
            fputs("\n      satisfies", out);
            for (size_t k = 0; k < t->ncriteria; k++)
                if (t->direct[i].satisfies & (1u << k))
                    fprintf(out, " %s",
                            ldr_policy__code_name(t->criteria[k].code));
            fputc('\n', out);
        }
    }
}

void ldr_policy_show(const ldr_policy_t *p, FILE *out) {
    char buf[LDR_TIME_FORMAT_SIZE];
    const ldr_policy_lifecycle_t *lc = &p->lifecycle;
    fprintf(out, "policy %s (%s)\n", p->version, p->path);
    if (p->description) fprintf(out, "  %s\n", p->description);
    for (int m = 0; m < LDR_EVAL__COUNT; m++) {
        fprintf(out, "applies to %ss ", ldr_eval_mode_name((ldr_eval_mode_t)m));
        if (p->has_from[m]) {
            ldr_time_format(p->from_ms[m], buf, sizeof buf);
            fprintf(out, "occurring at or after %s", buf);
        } else {
            fputs("from the beginning", out);
        }
        fputs(" (until a later version starts)\n", out);
    }
    fputs("\nlifecycle\n", out);
    fprintf(out,
            "  validity: %d years (same month, day and time, UTC; 29 Feb -> 28 "
            "Feb)\n",
            lc->validity_years);
    fprintf(out, "  publicity after a passed evaluation: %d days\n",
            lc->publicity_days);
    fprintf(out, "  review window opens %d days before valid_until\n",
            lc->review_window_days);
    fprintf(out, "  re-application ban after a verified violation: %d years\n",
            lc->ban_years);
    for (int t = 0; t < LDR_TIER__COUNT; t++) {
        fprintf(out, "  %s: at validity end without a passed review %s [%s]; ",
                ldr_tier_name((ldr_tier_t)t),
                ldr_decision_type_name(lc->on_validity_end[t]),
                lc->validity_end_reason[t]);
        if (lc->prerequisite[t] < 0)
            fputs("no prerequisite\n", out);
        else
            fprintf(out, "applying needs an active %s\n",
                    ldr_tier_name((ldr_tier_t)lc->prerequisite[t]));
    }
    for (int t = 0; t < LDR_TIER__COUNT; t++) {
        fprintf(out, "\n%s", ldr_tier_name((ldr_tier_t)t));
        if (p->same_as[t]) fprintf(out, ": the rules of %s", p->same_as[t]);
        fputc('\n', out);
        if (p->tier[t])
            print_tier(out, p->tier[t]);
        else
            fputs("  (not resolved: load the whole policy directory)\n", out);
    }
}
