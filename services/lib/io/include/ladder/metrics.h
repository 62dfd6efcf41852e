/* metrics.h -- counters, gauges and histograms in the Prometheus text format.
 *
 * DESIGN: a program owns one ldr_metrics_t registry (no globals, so tests
 * build as many as they like) and registers its metric families at start-up:
 * a family has a name, a help text, up to LDR_METRICS_LABELS_MAX label
 * names and, for a histogram, fixed bucket bounds. A family's series are
 * created the first time a combination of label values is updated, and kept
 * in that order, so the rendered text is stable (tests compare it byte for
 * byte). One mutex guards the registry: the intended use is one thread that
 * updates (a service's loop) and one that renders (the HTTP thread), and an
 * uncontended lock costs far less than the work being counted. Families
 * with only a few series (dozens, or a few hundred partitions) are the
 * expected size: series are found by a hash of their label values and a
 * linear scan.
 *
 * Registering a family twice, an invalid name or label name, or the wrong
 * number of label values is a programming error and aborts with a message,
 * like the configuration getters: the names are constants of the caller.
 *
 * Rendering follows the text exposition format 0.0.4: a HELP and a TYPE
 * line for every family (also one with no series yet), then one line per
 * series, `name{label="value",...} value`; a histogram has cumulative
 * `name_bucket{...,le="bound"}` lines ending with le="+Inf", then
 * `name_sum` and `name_count`. Label values are escaped (backslash, double
 * quote, newline), and so is the help text (backslash, newline). Numbers
 * are written in the shortest form that reads back exactly ("1", "0.25",
 * "+Inf", "NaN").
 *
 *     ldr_metrics_t *m = ldr_metrics_new();
 *     ldr_metric_t *ev = ldr_metrics_counter(m, "app_events_total",
 *                                            "Events read.", "kind");
 *     ldr_metrics_add(ev, LDR_METRICS_LABELS("tick"), 1);
 *     ldr_buf_t text; ldr_buf_init(&text);
 *     ldr_metrics_render(m, &text);   -> serve text.data
 *     ldr_buf_fini(&text);
 *     ldr_metrics_destroy(m);
 */
#ifndef LADDER_METRICS_H
#define LADDER_METRICS_H

#include <stddef.h>

#include "ladder/buf.h"

/** The most label names a family may have. */
#define LDR_METRICS_LABELS_MAX 4

/** Content-Type of the rendered text. */
#define LDR_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/** Label values for an update, in the order of the family's label names:
 *  ldr_metrics_add(f, LDR_METRICS_LABELS("tick", "applied"), 1). A family
 *  without labels takes NULL. */
#define LDR_METRICS_LABELS(...) ((const char *const[]){__VA_ARGS__})

typedef struct ldr_metrics ldr_metrics_t;
/** One metric family, owned by its registry. */
typedef struct ldr_metric ldr_metric_t;

/** Creates an empty registry; free it with ldr_metrics_destroy(). */
ldr_metrics_t *ldr_metrics_new(void);

/** Frees @p m and every family registered in it (NULL is accepted). No
 *  other thread may use it any more. */
void ldr_metrics_destroy(ldr_metrics_t *m);

/** Registers a counter. @p name matches [a-zA-Z_:][a-zA-Z0-9_:]* (by
 *  convention it ends in _total); @p help is one line of text;
 *  @p label_names is NULL or a comma-separated list of label names
 *  ("kind,outcome"; none may be "le" or start with "__"). A family without
 *  labels has its one series from the start, at 0. The family belongs to
 *  @p m and lives until ldr_metrics_destroy(). */
ldr_metric_t *ldr_metrics_counter(ldr_metrics_t *m, const char *name,
                                  const char *help, const char *label_names);

/** Registers a gauge; as ldr_metrics_counter(). */
ldr_metric_t *ldr_metrics_gauge(ldr_metrics_t *m, const char *name,
                                const char *help, const char *label_names);

/** Registers a histogram with @p nbounds upper bounds, strictly increasing
 *  and finite (copied; the +Inf bucket is implicit); otherwise as
 *  ldr_metrics_counter(). */
ldr_metric_t *ldr_metrics_histogram(ldr_metrics_t *m, const char *name,
                                    const char *help, const char *label_names,
                                    const double *bounds, size_t nbounds);

/** Adds @p delta to the series of @p labels (one value per label name, NULL
 *  for none; copied) of a counter or gauge, creating it at 0 first. A
 *  counter only goes up: a negative delta aborts. Adding 0 makes a series
 *  visible before anything has happened to it. */
void ldr_metrics_add(ldr_metric_t *f, const char *const *labels, double delta);

/** Sets the series of @p labels of a gauge to @p value. */
void ldr_metrics_set(ldr_metric_t *f, const char *const *labels, double value);

/** Counts one observation of @p value in the series of @p labels of a
 *  histogram: every bucket whose bound is >= @p value, the sum and the
 *  count. */
void ldr_metrics_observe(ldr_metric_t *f, const char *const *labels,
                         double value);

/** Removes the series of @p labels from a family (a gauge of a partition
 *  this process no longer owns); nothing happens when there is none. */
void ldr_metrics_remove(ldr_metric_t *f, const char *const *labels);

/** The value of the series of @p labels of a counter or gauge, or the
 *  count of a histogram's series; 0 when the series does not exist. */
double ldr_metrics_value(ldr_metric_t *f, const char *const *labels);

/** Appends the text exposition of every family, in registration order, to
 *  @p out. */
void ldr_metrics_render(ldr_metrics_t *m, ldr_buf_t *out);

#endif
