/* metrics.c -- a registry of counters, gauges and histograms rendered in the
 * Prometheus text exposition format.
 *
 * DESIGN: see metrics.h. A family keeps its series in an array in creation
 * order; each series holds copies of its label values, their hash (so a
 * lookup compares strings only on a hash match) and either one value or a
 * histogram's bucket counts, sum and count. Every public function takes the
 * registry's mutex: the families point back to the registry for it. */
#include "ladder/metrics.h"

#include "ladder/alloc.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum metrics_type {
    METRICS_COUNTER,
    METRICS_GAUGE,
    METRICS_HISTOGRAM,
} metrics_type_t;

typedef struct metrics_series {
    char *labels[LDR_METRICS_LABELS_MAX];
    uint64_t hash;
    double value;     /* counter, gauge; a histogram's sum */
    uint64_t count;   /* histogram */
    uint64_t *bucket; /* histogram: per bound, not cumulative */
} metrics_series_t;

struct ldr_metric {
    ldr_metrics_t *m;
    metrics_type_t type;
    char *name;
    char *help;
    char *label_names[LDR_METRICS_LABELS_MAX];
    int nlabels;
    double *bounds;
    size_t nbounds;
    metrics_series_t *series;
    size_t nseries;
    size_t cap;
};

struct ldr_metrics {
    pthread_mutex_t lock;
    ldr_metric_t **families;
    size_t count;
    size_t cap;
};

static void metrics_die(const char *what, const char *name) {
    fprintf(stderr, "ldr_metrics: %s: %s\n", name, what);
    abort();
}

ldr_metrics_t *ldr_metrics_new(void) {
    ldr_metrics_t *m = ldr_calloc(1, sizeof(*m));
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

static void metrics_series_fini(metrics_series_t *s) {
    for (int i = 0; i < LDR_METRICS_LABELS_MAX; i++)
        free(s->labels[i]);
    free(s->bucket);
}

void ldr_metrics_destroy(ldr_metrics_t *m) {
    if (!m) return;
    for (size_t i = 0; i < m->count; i++) {
        ldr_metric_t *f = m->families[i];
        for (size_t j = 0; j < f->nseries; j++)
            metrics_series_fini(&f->series[j]);
        free(f->series);
        for (int j = 0; j < f->nlabels; j++)
            free(f->label_names[j]);
        free(f->bounds);
        free(f->name);
        free(f->help);
        free(f);
    }
    free(m->families);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static int metrics_name_ok(const char *s, int colon_ok) {
    if (!*s) return 0;
    for (const char *c = s; *c; c++) {
        int alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                    *c == '_' || (colon_ok && *c == ':');
        if (!alpha && !(c > s && *c >= '0' && *c <= '9')) return 0;
    }
    return 1;
}

static uint64_t metrics_hash(const ldr_metric_t *f, const char *const *labels) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (int i = 0; i < f->nlabels; i++) {
        for (const char *c = labels[i]; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL; /* separator: no value has it */
    }
    return h;
}

static metrics_series_t *
metrics_series_new(ldr_metric_t *f, const char *const *labels, uint64_t hash) {
    if (f->nseries == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->series = ldr_realloc(f->series, f->cap * sizeof(*f->series));
    }
    metrics_series_t *s = &f->series[f->nseries++];
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < f->nlabels; i++)
        s->labels[i] = ldr_strdup(labels[i]);
    s->hash = hash;
    if (f->type == METRICS_HISTOGRAM)
        s->bucket = ldr_calloc(f->nbounds ? f->nbounds : 1, sizeof(uint64_t));
    return s;
}

/* The series of @p labels, or NULL; @p hash receives their hash. */
static metrics_series_t *
metrics_find(ldr_metric_t *f, const char *const *labels, uint64_t *hash) {
    if (f->nlabels && !labels) metrics_die("label values missing", f->name);
    for (int i = 0; i < f->nlabels; i++)
        if (!labels[i]) metrics_die("a label value is NULL", f->name);
    uint64_t h = metrics_hash(f, labels);
    *hash = h;
    for (size_t i = 0; i < f->nseries; i++) {
        metrics_series_t *s = &f->series[i];
        if (s->hash != h) continue;
        int same = 1;
        for (int j = 0; j < f->nlabels && same; j++)
            same = !strcmp(s->labels[j], labels[j]);
        if (same) return s;
    }
    return NULL;
}

static metrics_series_t *metrics_get(ldr_metric_t *f,
                                     const char *const *labels) {
    uint64_t h;
    metrics_series_t *s = metrics_find(f, labels, &h);
    return s ? s : metrics_series_new(f, labels, h);
}

static ldr_metric_t *metrics_register(ldr_metrics_t *m, metrics_type_t type,
                                      const char *name, const char *help,
                                      const char *label_names,
                                      const double *bounds, size_t nbounds) {
    if (!metrics_name_ok(name, 1)) metrics_die("not a metric name", name);
    ldr_metric_t *f = ldr_calloc(1, sizeof(*f));
    f->m = m;
    f->type = type;
    f->name = ldr_strdup(name);
    f->help = ldr_strdup(help ? help : "");
    if (label_names && *label_names) {
        const char *p = label_names;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (f->nlabels == LDR_METRICS_LABELS_MAX)
                metrics_die("too many labels", name);
            char *l = ldr_strndup(p, len);
            f->label_names[f->nlabels++] = l;
            if (!metrics_name_ok(l, 0) || !strncmp(l, "__", 2) ||
                (type == METRICS_HISTOGRAM && !strcmp(l, "le")))
                metrics_die("not a label name", l);
            if (!comma) break;
            p = comma + 1;
        }
    }
    if (type == METRICS_HISTOGRAM) {
        for (size_t i = 0; i < nbounds; i++)
            if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
                metrics_die("bucket bounds must be finite and increasing",
                            name);
        f->bounds = ldr_malloc((nbounds ? nbounds : 1) * sizeof(double));
        if (nbounds) memcpy(f->bounds, bounds, nbounds * sizeof(double));
        f->nbounds = nbounds;
    }
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->count; i++)
        if (!strcmp(m->families[i]->name, name))
            metrics_die("registered twice", name);
    if (m->count == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->families = ldr_realloc(m->families, m->cap * sizeof(*m->families));
    }
    m->families[m->count++] = f;
    if (!f->nlabels) metrics_get(f, NULL);
    pthread_mutex_unlock(&m->lock);
    return f;
}

ldr_metric_t *ldr_metrics_counter(ldr_metrics_t *m, const char *name,
                                  const char *help, const char *label_names) {
    return metrics_register(m, METRICS_COUNTER, name, help, label_names, NULL,
                            0);
}

ldr_metric_t *ldr_metrics_gauge(ldr_metrics_t *m, const char *name,
                                const char *help, const char *label_names) {
    return metrics_register(m, METRICS_GAUGE, name, help, label_names, NULL, 0);
}

ldr_metric_t *ldr_metrics_histogram(ldr_metrics_t *m, const char *name,
                                    const char *help, const char *label_names,
                                    const double *bounds, size_t nbounds) {
    return metrics_register(m, METRICS_HISTOGRAM, name, help, label_names,
                            bounds, nbounds);
}

void ldr_metrics_add(ldr_metric_t *f, const char *const *labels, double delta) {
    if (f->type == METRICS_HISTOGRAM)
        metrics_die("add to a histogram", f->name);
    if (f->type == METRICS_COUNTER && !(delta >= 0))
        metrics_die("a counter only goes up", f->name);
    pthread_mutex_lock(&f->m->lock);
    metrics_get(f, labels)->value += delta;
    pthread_mutex_unlock(&f->m->lock);
}

void ldr_metrics_set(ldr_metric_t *f, const char *const *labels, double value) {
    if (f->type != METRICS_GAUGE) metrics_die("set of a non-gauge", f->name);
    pthread_mutex_lock(&f->m->lock);
    metrics_get(f, labels)->value = value;
    pthread_mutex_unlock(&f->m->lock);
}

void ldr_metrics_observe(ldr_metric_t *f, const char *const *labels,
                         double value) {
    if (f->type != METRICS_HISTOGRAM)
        metrics_die("observe of a non-histogram", f->name);
    pthread_mutex_lock(&f->m->lock);
    metrics_series_t *s = metrics_get(f, labels);
    /* Only the first bucket that holds the value counts it; rendering
     * makes the counts cumulative. */
    size_t lo = 0, hi = f->nbounds;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (value <= f->bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    if (lo < f->nbounds) s->bucket[lo]++;
    s->count++;
    s->value += value;
    pthread_mutex_unlock(&f->m->lock);
}

void ldr_metrics_remove(ldr_metric_t *f, const char *const *labels) {
    pthread_mutex_lock(&f->m->lock);
    uint64_t h;
    metrics_series_t *s = metrics_find(f, labels, &h);
    if (s) {
        metrics_series_fini(s);
        size_t i = (size_t)(s - f->series);
        memmove(s, s + 1, (f->nseries - i - 1) * sizeof(*s));
        f->nseries--;
    }
    pthread_mutex_unlock(&f->m->lock);
}

double ldr_metrics_value(ldr_metric_t *f, const char *const *labels) {
    pthread_mutex_lock(&f->m->lock);
    uint64_t h;
    metrics_series_t *s = metrics_find(f, labels, &h);
    double v = !s                             ? 0
               : f->type == METRICS_HISTOGRAM ? (double)s->count
                                              : s->value;
    pthread_mutex_unlock(&f->m->lock);
    return v;
}

/* ---- rendering ---------------------------------------------------------- */

/* The shortest decimal form of @p v that reads back as @p v, in @p s. */
static const char *metrics_format(double v, char s[32]) {
    if (isnan(v)) return "NaN";
    if (isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(s, 32, "%.*g", prec, v);
        if (strtod(s, NULL) == v) break;
    }
    return s;
}

static void metrics_number(ldr_buf_t *out, double v) {
    char s[32];
    ldr_buf_append_str(out, metrics_format(v, s));
}

static void metrics_escape(ldr_buf_t *out, const char *s, int quote) {
    for (; *s; s++) {
        if (*s == '\\')
            ldr_buf_append_str(out, "\\\\");
        else if (*s == '\n')
            ldr_buf_append_str(out, "\\n");
        else if (quote && *s == '"')
            ldr_buf_append_str(out, "\\\"");
        else
            ldr_buf_append_byte(out, (uint8_t)*s);
    }
}

/* `name{a="x",b="y"` plus le when given, and the closing brace, or nothing
 * at all for a series without labels. */
static void metrics_labels(ldr_buf_t *out, const ldr_metric_t *f,
                           const metrics_series_t *s, const char *le) {
    if (!f->nlabels && !le) return;
    ldr_buf_append_byte(out, '{');
    for (int i = 0; i < f->nlabels; i++) {
        ldr_buf_printf(out, "%s%s=\"", i ? "," : "", f->label_names[i]);
        metrics_escape(out, s->labels[i], 1);
        ldr_buf_append_byte(out, '"');
    }
    if (le) ldr_buf_printf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    ldr_buf_append_byte(out, '}');
}

static void metrics_render_family(ldr_buf_t *out, const ldr_metric_t *f) {
    static const char *const types[] = {"counter", "gauge", "histogram"};
    ldr_buf_printf(out, "# HELP %s ", f->name);
    metrics_escape(out, f->help, 0);
    ldr_buf_printf(out, "\n# TYPE %s %s\n", f->name, types[f->type]);
    for (size_t i = 0; i < f->nseries; i++) {
        const metrics_series_t *s = &f->series[i];
        if (f->type != METRICS_HISTOGRAM) {
            ldr_buf_append_str(out, f->name);
            metrics_labels(out, f, s, NULL);
            ldr_buf_append_byte(out, ' ');
            metrics_number(out, s->value);
            ldr_buf_append_byte(out, '\n');
            continue;
        }
        uint64_t cumulative = 0;
        for (size_t b = 0; b <= f->nbounds; b++) {
            char num[32];
            const char *le = "+Inf";
            if (b < f->nbounds) {
                cumulative += s->bucket[b];
                le = metrics_format(f->bounds[b], num);
            } else {
                cumulative = s->count;
            }
            ldr_buf_printf(out, "%s_bucket", f->name);
            metrics_labels(out, f, s, le);
            ldr_buf_printf(out, " %llu\n", (unsigned long long)cumulative);
        }
        ldr_buf_printf(out, "%s_sum", f->name);
        metrics_labels(out, f, s, NULL);
        ldr_buf_append_byte(out, ' ');
        metrics_number(out, s->value);
        ldr_buf_printf(out, "\n%s_count", f->name);
        metrics_labels(out, f, s, NULL);
        ldr_buf_printf(out, " %llu\n", (unsigned long long)s->count);
    }
}

void ldr_metrics_render(ldr_metrics_t *m, ldr_buf_t *out) {
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->count; i++)
        metrics_render_family(out, m->families[i]);
    pthread_mutex_unlock(&m->lock);
}
