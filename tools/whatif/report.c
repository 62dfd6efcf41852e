/* report.c -- what ladder-whatif shows: the table by reporting unit and
 * tier, the changed enterprises as CSV, the --json document, two SVG
 * charts and one self-contained HTML page holding them all.
 *
 * DESIGN: the charts are SVG written here, a few rectangles, lines and
 * text elements, so a report needs no plotting service and opens in any
 * browser; the HTML page inlines them with its style, so it is one file
 * to mail or archive. Every text that comes from the input (enterprise
 * names, reasons, directory names) is escaped for the format it goes
 * into. */
#include "whatif_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ladder/time.h"

static const char *const side_name[WI_SIDES] = {"baseline", "variant"};
static const char *const tier_colour[LDR_TIER__COUNT] = {"#4e79a7", "#f28e2b",
                                                         "#e15759"};

/* ---- JSON --------------------------------------------------------------- */

static json_t *tally_json(const wi_tally_t *t) {
    json_t *o = json_object();
    for (int k = 0; k < WI_OUTCOMES; k++) {
        json_t *tiers = json_object();
        for (int tier = 0; tier < LDR_TIER__COUNT; tier++)
            json_object_set_new(tiers, ldr_tier_name((ldr_tier_t)tier),
                                json_integer((json_int_t)t->n[k][tier]));
        json_object_set_new(o, wi_outcome_name((wi_outcome_t)k), tiers);
    }
    return o;
}

json_t *wi_report_json(const wi_replay_t *r, const wi_report_opts_t *o) {
    json_t *root = json_object();
    json_object_set_new(root, "events", json_integer((json_int_t)r->events));
    json_object_set_new(root, "rejected",
                        json_integer((json_int_t)r->rejected));
    json_object_set_new(root, "enterprises",
                        json_integer((json_int_t)r->enterprises));
    json_object_set_new(root, "seconds",
                        json_real(round(o->seconds * 1000) / 1000));
    json_t *totals = json_object();
    for (int s = 0; s < WI_SIDES; s++)
        json_object_set_new(totals, side_name[s], tally_json(&r->total[s]));
    json_object_set_new(root, "totals", totals);
    json_object_set_new(root, "changed_enterprises",
                        json_integer((json_int_t)r->nchanges));
    json_t *units = json_array();
    for (size_t u = 0; u < r->nunits; u++) {
        const ldr_units_entry_t *e = ldr_units_at(r->units, u);
        json_t *x = json_object();
        json_object_set_new(x, "unit", json_stringn(e->code, e->code_len));
        for (int s = 0; s < WI_SIDES; s++)
            json_object_set_new(x, side_name[s], tally_json(&r->by_unit[s][u]));
        json_array_append_new(units, x);
    }
    json_object_set_new(root, "by_unit", units);
    return root;
}

/* ---- the table ----------------------------------------------------------- */

static bool tally_empty(const wi_tally_t *a, const wi_tally_t *b, int tier) {
    for (int k = 0; k < WI_OUTCOMES; k++)
        if (a->n[k][tier] || b->n[k][tier]) return false;
    return true;
}

static void table_row(FILE *out, const char *unit, int tier,
                      const wi_tally_t *b, const wi_tally_t *v) {
    fprintf(out, "%-6s %-13s", unit, ldr_tier_name((ldr_tier_t)tier));
    for (int k = 0; k < WI_OUTCOMES; k++) {
        uint64_t x = b->n[k][tier], y = v->n[k][tier];
        fprintf(out, " %8" PRIu64 " %8" PRIu64 " %+7" PRId64, x, y,
                (int64_t)(y - x));
    }
    fputc('\n', out);
}

void wi_report_table(const wi_replay_t *r, FILE *out) {
    fprintf(out, "%-6s %-13s", "", "");
    for (int k = 0; k < WI_OUTCOMES; k++)
        fprintf(out, " %-25s", wi_outcome_name((wi_outcome_t)k));
    fprintf(out, "\n%-6s %-13s", "unit", "tier");
    for (int k = 0; k < WI_OUTCOMES; k++)
        fprintf(out, " %8s %8s %7s", "baseline", "variant", "diff");
    fputc('\n', out);
    for (size_t u = 0; u <= r->nunits; u++) {
        const char *code = "?";
        char buf[8];
        if (u < r->nunits) {
            const ldr_units_entry_t *e = ldr_units_at(r->units, u);
            snprintf(buf, sizeof buf, "%.*s", (int)e->code_len, e->code);
            code = buf;
        }
        for (int t = 0; t < LDR_TIER__COUNT; t++)
            if (!tally_empty(&r->by_unit[WI_BASE][u],
                             &r->by_unit[WI_VARIANT][u], t))
                table_row(out, code, t, &r->by_unit[WI_BASE][u],
                          &r->by_unit[WI_VARIANT][u]);
    }
    for (int t = 0; t < LDR_TIER__COUNT; t++)
        table_row(out, "total", t, &r->total[WI_BASE], &r->total[WI_VARIANT]);
}

/* ---- CSV ----------------------------------------------------------------- */

static void csv_cell(FILE *out, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static const char *top_tier(const wi_change_t *c, int s) {
    return c->top_tier[s] < 0 ? "" : ldr_tier_name((ldr_tier_t)c->top_tier[s]);
}

void wi_report_changes_csv(const wi_replay_t *r, FILE *out) {
    fputs("uscc,name,unit,baseline_tier,baseline_status,variant_tier,"
          "variant_status,differs_at,baseline_decision,baseline_decision_tier,"
          "baseline_reasons,variant_decision,variant_decision_tier,"
          "variant_reasons\n",
          out);
    for (size_t i = 0; i < r->nchanges; i++) {
        const wi_change_t *c = r->changes[i];
        char at[LDR_TIME_FORMAT_SIZE];
        ldr_time_format(c->at, at, sizeof at);
        fprintf(out, "%s,", c->uscc);
        csv_cell(out, c->name);
        fprintf(out, ",%s", c->unit);
        for (int s = 0; s < WI_SIDES; s++)
            fprintf(out, ",%s,%s", top_tier(c, s),
                    ldr_tier_state_name(c->top_state[s]));
        fprintf(out, ",%s", at);
        for (int s = 0; s < WI_SIDES; s++) {
            const wi_first_t *f = &c->first[s];
            fprintf(out, ",%s,%s,",
                    f->has ? ldr_decision_type_name(f->decision) : "",
                    f->has && f->has_tier ? ldr_tier_name(f->tier) : "");
            csv_cell(out, f->has ? f->reasons : "");
        }
        fputc('\n', out);
    }
}

/* ---- SVG ----------------------------------------------------------------- */

static void xml_text(FILE *out, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
    }
}

static int64_t active_diff(const wi_replay_t *r, size_t u, int t) {
    return (int64_t)r->by_unit[WI_VARIANT][u].n[WI_ACTIVE_AT_END][t] -
           (int64_t)r->by_unit[WI_BASE][u].n[WI_ACTIVE_AT_END][t];
}

/* A round step for an axis from 0 to @p max in about 5 steps. */
static double nice_step(double max) {
    if (max <= 0) return 1;
    double raw = max / 5, p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static void svg_legend(FILE *out, double x, double y, const char *label,
                       const char *colour, const char *dash) {
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"%s\" stroke-width=\"3\"%s%s%s/>"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">",
            x, y, x + 24, y, colour, dash ? " stroke-dasharray=\"" : "",
            dash ? dash : "", dash ? "\"" : "", x + 30, y + 4);
    xml_text(out, label);
    fputs("</text>\n", out);
}

void wi_report_svg_units(const wi_replay_t *r, FILE *out) {
    const double left = 270, right = 40, top = 50, row = 30, w = 860;
    double h = top + row * (double)r->nunits + 40;
    int64_t max = 1;
    for (size_t u = 0; u < r->nunits; u++)
        for (int t = 0; t < LDR_TIER__COUNT; t++) {
            int64_t d = llabs(active_diff(r, u, t));
            if (d > max) max = d;
        }
    double plot = w - left - right, mid = left + plot / 2;
    double scale = plot / 2 / (double)max;
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"chart-units\" "
            "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"sans-serif\">\n"
            "<title>Active designations at the end, variant minus "
            "baseline, by reporting unit</title>\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">"
            "Active designations at the end: variant - baseline</text>\n",
            w, h, w, h);
    for (int t = 0; t < LDR_TIER__COUNT; t++)
        svg_legend(out, left + 170 * t, 38, ldr_tier_name((ldr_tier_t)t),
                   tier_colour[t], NULL);
    for (size_t u = 0; u < r->nunits; u++) {
        const ldr_units_entry_t *e = ldr_units_at(r->units, u);
        double y = top + row * (double)u;
        fprintf(out,
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
                "text-anchor=\"end\">%.*s ",
                left - 6, y + row / 2 + 4, (int)e->code_len, e->code);
        xml_text(out, e->name_en);
        fputs("</text>\n", out);
        for (int t = 0; t < LDR_TIER__COUNT; t++) {
            int64_t d = active_diff(r, u, t);
            double len = fabs((double)d) * scale;
            double x = d < 0 ? mid - len : mid;
            fprintf(out,
                    "<rect class=\"bar\" data-unit=\"%.*s\" data-tier=\"%s\" "
                    "data-diff=\"%" PRId64 "\" x=\"%.1f\" y=\"%.1f\" "
                    "width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                    (int)e->code_len, e->code, ldr_tier_name((ldr_tier_t)t), d,
                    x, y + 3 + 8 * t, len, 7.0, tier_colour[t]);
        }
    }
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#333\"/>\n",
            mid, top, mid, h - 30);
    fprintf(out,
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
            "text-anchor=\"start\">-%" PRId64 "</text>"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
            "text-anchor=\"end\">+%" PRId64 "</text>\n</svg>\n",
            left, h - 12, max, w - right, h - 12, max);
}

static void time_axis(FILE *out, const wi_replay_t *r, double left,
                      double plot_w, double bottom, int64_t t0, int64_t t1) {
    /* a tick at every 1 January */
    char buf[LDR_TIME_FORMAT_SIZE];
    ldr_time_format(t0, buf, sizeof buf);
    int year = atoi(buf);
    (void)r;
    for (int y = year + 1;; y++) {
        char iso[32];
        snprintf(iso, sizeof iso, "%04d-01-01T00:00:00Z", y);
        int64_t t;
        if (ldr_time_parse(iso, strlen(iso), &t, NULL, 0) || t > t1) break;
        double x = left + plot_w * (double)(t - t0) / (double)(t1 - t0);
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#ccc\"/><text x=\"%.1f\" y=\"%.1f\" "
                "font-size=\"11\" text-anchor=\"middle\">%d</text>\n",
                x, bottom, x, bottom + 5, x, bottom + 18, y);
    }
}

void wi_report_svg_time(const wi_replay_t *r, FILE *out) {
    const double w = 760, h = 420, left = 70, right = 20, top = 60,
                 bottom = h - 40;
    double plot_w = w - left - right, plot_h = bottom - top;
    uint32_t max = 1;
    for (size_t i = 0; i < r->nsamples; i++)
        for (int s = 0; s < WI_SIDES; s++)
            for (int t = 0; t < LDR_TIER__COUNT; t++)
                if (r->samples[i].active[s][t] > max)
                    max = r->samples[i].active[s][t];
    double ystep = nice_step(max), ymax = ceil(max / ystep) * ystep;
    int64_t t0 = r->nsamples ? r->samples[0].t : 0;
    int64_t t1 = r->nsamples ? r->samples[r->nsamples - 1].t : 1;
    if (t1 <= t0) t1 = t0 + 1;
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"chart-time\" "
            "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"sans-serif\">\n"
            "<title>Active designations per tier over time</title>\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">"
            "Active designations per tier (solid: baseline, dashed: "
            "variant)</text>\n",
            w, h, w, h);
    for (int t = 0; t < LDR_TIER__COUNT; t++)
        svg_legend(out, left + 170 * t, 42, ldr_tier_name((ldr_tier_t)t),
                   tier_colour[t], NULL);
    for (double y = 0; y <= ymax + ystep / 2; y += ystep) {
        double py = bottom - plot_h * y / ymax;
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#eee\"/><text x=\"%.1f\" y=\"%.1f\" "
                "font-size=\"11\" text-anchor=\"end\">%.0f</text>\n",
                left, py, w - right, py, left - 4, py + 4, y);
    }
    time_axis(out, r, left, plot_w, bottom, t0, t1);
    for (int s = 0; s < WI_SIDES; s++)
        for (int t = 0; t < LDR_TIER__COUNT; t++) {
            fprintf(out,
                    "<polyline class=\"series\" data-side=\"%s\" "
                    "data-tier=\"%s\" fill=\"none\" stroke=\"%s\" "
                    "stroke-width=\"2\"%s points=\"",
                    side_name[s], ldr_tier_name((ldr_tier_t)t), tier_colour[t],
                    s == WI_VARIANT ? " stroke-dasharray=\"6 4\"" : "");
            for (size_t i = 0; i < r->nsamples; i++) {
                const wi_sample_t *p = &r->samples[i];
                fprintf(out, "%s%.1f,%.1f", i ? " " : "",
                        left + plot_w * (double)(p->t - t0) / (double)(t1 - t0),
                        bottom - plot_h * p->active[s][t] / ymax);
            }
            fputs("\"/>\n", out);
        }
    fputs("</svg>\n", out);
}

/* ---- HTML ---------------------------------------------------------------- */

static void html_table(const wi_replay_t *r, FILE *out) {
    fputs("<table id=\"by-unit\"><thead><tr><th rowspan=\"2\">unit</th>"
          "<th rowspan=\"2\">tier</th>",
          out);
    for (int k = 0; k < WI_OUTCOMES; k++)
        fprintf(out, "<th colspan=\"3\">%s</th>",
                wi_outcome_name((wi_outcome_t)k));
    fputs("</tr><tr>", out);
    for (int k = 0; k < WI_OUTCOMES; k++)
        fputs("<th>baseline</th><th>variant</th><th>diff</th>", out);
    fputs("</tr></thead><tbody>\n", out);
    for (size_t u = 0; u <= r->nunits; u++) {
        const wi_tally_t *b = &r->by_unit[WI_BASE][u],
                         *v = &r->by_unit[WI_VARIANT][u];
        for (int t = 0; t < LDR_TIER__COUNT; t++) {
            if (tally_empty(b, v, t)) continue;
            fputs("<tr><td>", out);
            if (u < r->nunits) {
                const ldr_units_entry_t *e = ldr_units_at(r->units, u);
                fprintf(out, "%.*s ", (int)e->code_len, e->code);
                xml_text(out, e->name_en);
            } else {
                fputs("?", out);
            }
            fprintf(out, "</td><td>%s</td>", ldr_tier_name((ldr_tier_t)t));
            for (int k = 0; k < WI_OUTCOMES; k++) {
                int64_t d = (int64_t)(v->n[k][t] - b->n[k][t]);
                fprintf(out,
                        "<td>%" PRIu64 "</td><td>%" PRIu64
                        "</td><td class=\"%s\">%+" PRId64 "</td>",
                        b->n[k][t], v->n[k][t],
                        d > 0   ? "up"
                        : d < 0 ? "down"
                                : "same",
                        d);
            }
            fputs("</tr>\n", out);
        }
    }
    fputs("</tbody></table>\n", out);
}

#define HTML_CHANGES_MAX 200

static void html_changes(const wi_replay_t *r, FILE *out) {
    fprintf(out,
            "<h2>Changed enterprises</h2><p>%zu enterprises decide "
            "differently%s.</p>\n<table id=\"changes\"><thead><tr>"
            "<th>USCC</th><th>name</th><th>unit</th><th>baseline</th>"
            "<th>variant</th><th>differs at</th><th>baseline decision</th>"
            "<th>variant decision</th></tr></thead><tbody>\n",
            r->nchanges,
            r->nchanges > HTML_CHANGES_MAX
                ? " (the first 200 by USCC here; all of them in changed.csv)"
                : "");
    for (size_t i = 0; i < r->nchanges && i < HTML_CHANGES_MAX; i++) {
        const wi_change_t *c = r->changes[i];
        char at[LDR_TIME_FORMAT_SIZE];
        ldr_time_format(c->at, at, sizeof at);
        fprintf(out, "<tr><td>%s</td><td>", c->uscc);
        xml_text(out, c->name);
        fprintf(out, "</td><td>%s</td>", c->unit);
        for (int s = 0; s < WI_SIDES; s++)
            fprintf(out, "<td>%s %s</td>", top_tier(c, s),
                    ldr_tier_state_name(c->top_state[s]));
        fprintf(out, "<td>%s</td>", at);
        for (int s = 0; s < WI_SIDES; s++) {
            const wi_first_t *f = &c->first[s];
            fputs("<td>", out);
            if (f->has) {
                fprintf(out, "%s %s ", ldr_decision_type_name(f->decision),
                        f->has_tier ? ldr_tier_name(f->tier) : "");
                xml_text(out, f->reasons);
            } else {
                fputs("(none)", out);
            }
            fputs("</td>", out);
        }
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
}

void wi_report_html(const wi_replay_t *r, const wi_report_opts_t *o,
                    FILE *out) {
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<title>ladder what-if</title><style>\n"
          "body{font-family:sans-serif;margin:2em;color:#222}\n"
          "table{border-collapse:collapse;font-size:12px;margin:1em 0}\n"
          "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}\n"
          "td:first-child,th:first-child{text-align:left}\n"
          ".up{color:#1a7f37}.down{color:#cf222e}.same{color:#888}\n"
          "figure{margin:1em 0}\n"
          "</style></head><body>\n<h1>Policy what-if</h1>\n<p id=\"summary\">",
          out);
    fputs("Baseline <code>", out);
    xml_text(out, o->baseline_dir);
    fputs("</code>, variant <code>", out);
    xml_text(out, o->variant_dir);
    fputs("</code>", out);
    for (size_t i = 0; i < o->nsets; i++) {
        fputs(i ? ", " : " with ", out);
        fputs("<code>", out);
        xml_text(out, o->sets[i]);
        fputs("</code>", out);
    }
    fprintf(out,
            ". %" PRIu64 " events (%" PRIu64 " rejected), %zu enterprises, "
            "<span id=\"changed\">%zu</span> of them changed.</p>\n",
            r->events, r->rejected, r->enterprises, r->nchanges);
    fputs("<figure>", out);
    wi_report_svg_units(r, out);
    fputs("</figure>\n<figure>", out);
    wi_report_svg_time(r, out);
    fputs("</figure>\n<h2>By reporting unit and tier</h2>\n", out);
    html_table(r, out);
    html_changes(r, out);
    fputs("</body></html>\n", out);
}

/* ---- the register ---------------------------------------------------------
 */

typedef struct reg_ctx {
    const wi_replay_t *r;
    int32_t pn;
    FILE *out;
} reg_ctx_t;

static void reg_time(FILE *out, const char *key, int64_t t) {
    char buf[LDR_TIME_FORMAT_SIZE];
    if (!t) {
        fprintf(out, "\"%s\":null", key);
        return;
    }
    ldr_time_format(t, buf, sizeof buf);
    fprintf(out, "\"%s\":\"%s\"", key, buf);
}

static void reg_side(FILE *out, const ldr_enterprise_t *e) {
    fputs("{\"tiers\":{", out);
    for (int t = 0; t < LDR_TIER__COUNT; t++) {
        fprintf(out, "%s\"%s\":{\"state\":\"%s\",", t ? "," : "",
                ldr_tier_name((ldr_tier_t)t),
                ldr_tier_state_name(e->tiers[t].state));
        /* a tier back at NONE keeps no validity (the store drops it) */
        reg_time(out, "valid_until",
                 e->tiers[t].state == LDR_TIER_STATE_NONE
                     ? 0
                     : e->tiers[t].valid_until);
        fputc('}', out);
    }
    fputs("},", out);
    reg_time(out, "ban_until", e->ban_until);
    fputc('}', out);
}

static void reg_one(void *opaque, const ldr_enterprise_t *e) {
    reg_ctx_t *c = opaque;
    const ldr_enterprise_t *v = ldr_partition_find(
        c->r->part[WI_VARIANT][c->pn], e->uscc, strlen(e->uscc));
    fprintf(c->out, "{\"uscc\":\"%s\",\"partition\":%d,\"baseline\":", e->uscc,
            (int)c->pn);
    reg_side(c->out, e);
    fputs(",\"variant\":", c->out);
    if (v)
        reg_side(c->out, v);
    else
        fputs("null", c->out);
    fputs("}\n", c->out);
}

void wi_report_register(const wi_replay_t *r, FILE *out) {
    for (int32_t pn = 0; pn < r->partitions; pn++) {
        reg_ctx_t c = {r, pn, out};
        ldr_partition_each(r->part[WI_BASE][pn], reg_one, &c);
    }
}
