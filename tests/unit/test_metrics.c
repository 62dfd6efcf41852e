/* test_metrics.c -- the registry's Prometheus text, byte for byte.
 *
 * Each test registers a family, updates it and compares the whole rendered
 * text with what a Prometheus scraper must read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ladder/metrics.h"

static void assert_text(ldr_metrics_t *m, const char *want) {
    ldr_buf_t b;
    ldr_buf_init(&b);
    ldr_metrics_render(m, &b);
    assert_string_equal(b.data ? b.data : "", want);
    ldr_buf_fini(&b);
}

static void test_metrics_counter(void **state) {
    (void)state;
    ldr_metrics_t *m = ldr_metrics_new();
    ldr_metric_t *c =
        ldr_metrics_counter(m, "app_duplicates_total", "Duplicates.", NULL);
    assert_text(m, "# HELP app_duplicates_total Duplicates.\n"
                   "# TYPE app_duplicates_total counter\n"
                   "app_duplicates_total 0\n");
    ldr_metrics_add(c, NULL, 1);
    ldr_metrics_add(c, NULL, 2);
    assert_text(m, "# HELP app_duplicates_total Duplicates.\n"
                   "# TYPE app_duplicates_total counter\n"
                   "app_duplicates_total 3\n");
    assert_true(ldr_metrics_value(c, NULL) == 3);
    ldr_metrics_destroy(m);
}

static void test_metrics_labelled_counter(void **state) {
    (void)state;
    ldr_metrics_t *m = ldr_metrics_new();
    ldr_metric_t *c = ldr_metrics_counter(
        m, "app_events_total", "Events by kind and outcome.", "kind,outcome");
    /* A family without series still says what it is. */
    assert_text(m, "# HELP app_events_total Events by kind and outcome.\n"
                   "# TYPE app_events_total counter\n");
    ldr_metrics_add(c, LDR_METRICS_LABELS("tick", "applied"), 1);
    ldr_metrics_add(c, LDR_METRICS_LABELS("application", "dead_letter"), 1);
    ldr_metrics_add(c, LDR_METRICS_LABELS("tick", "applied"), 4);
    /* Values are escaped: backslash, double quote, newline. */
    ldr_metrics_add(c, LDR_METRICS_LABELS("a\\b\"c\nd", "x"), 0.5);
    assert_text(m, "# HELP app_events_total Events by kind and outcome.\n"
                   "# TYPE app_events_total counter\n"
                   "app_events_total{kind=\"tick\",outcome=\"applied\"} 5\n"
                   "app_events_total{kind=\"application\","
                   "outcome=\"dead_letter\"} 1\n"
                   "app_events_total{kind=\"a\\\\b\\\"c\\nd\",outcome=\"x\"} "
                   "0.5\n");
    assert_true(ldr_metrics_value(c, LDR_METRICS_LABELS("tick", "applied")) ==
                5);
    assert_true(ldr_metrics_value(c, LDR_METRICS_LABELS("tick", "x")) == 0);
    ldr_metrics_destroy(m);
}

static void test_metrics_gauge(void **state) {
    (void)state;
    ldr_metrics_t *m = ldr_metrics_new();
    ldr_metric_t *g = ldr_metrics_gauge(m, "app_lag",
                                        "Lag\\backlog\nper "
                                        "partition.",
                                        "partition");
    ldr_metrics_set(g, LDR_METRICS_LABELS("0"), 12);
    ldr_metrics_set(g, LDR_METRICS_LABELS("1"), 7);
    ldr_metrics_set(g, LDR_METRICS_LABELS("2"), 1e20);
    ldr_metrics_add(g, LDR_METRICS_LABELS("0"), -2);
    ldr_metrics_set(g, LDR_METRICS_LABELS("3"), -0.1);
    ldr_metrics_set(g, LDR_METRICS_LABELS("4"), NAN);
    ldr_metrics_remove(g, LDR_METRICS_LABELS("1"));
    ldr_metrics_remove(g, LDR_METRICS_LABELS("9")); /* none: no change */
    assert_text(m, "# HELP app_lag Lag\\\\backlog\\nper partition.\n"
                   "# TYPE app_lag gauge\n"
                   "app_lag{partition=\"0\"} 10\n"
                   "app_lag{partition=\"2\"} 1e+20\n"
                   "app_lag{partition=\"3\"} -0.1\n"
                   "app_lag{partition=\"4\"} NaN\n");
    ldr_metrics_destroy(m);
}

static void test_metrics_histogram(void **state) {
    (void)state;
    ldr_metrics_t *m = ldr_metrics_new();
    static const double bounds[] = {0.005, 0.1, 1, 2.5};
    ldr_metric_t *h = ldr_metrics_histogram(m, "app_batch_seconds",
                                            "Batch duration.", NULL, bounds, 4);
    ldr_metrics_observe(h, NULL, 0.005); /* on a bound: that bucket */
    ldr_metrics_observe(h, NULL, 0.05);
    ldr_metrics_observe(h, NULL, 0.5);
    ldr_metrics_observe(h, NULL, 0.75);
    ldr_metrics_observe(h, NULL, 10); /* above every bound: +Inf only */
    assert_text(m, "# HELP app_batch_seconds Batch duration.\n"
                   "# TYPE app_batch_seconds histogram\n"
                   "app_batch_seconds_bucket{le=\"0.005\"} 1\n"
                   "app_batch_seconds_bucket{le=\"0.1\"} 2\n"
                   "app_batch_seconds_bucket{le=\"1\"} 4\n"
                   "app_batch_seconds_bucket{le=\"2.5\"} 4\n"
                   "app_batch_seconds_bucket{le=\"+Inf\"} 5\n"
                   "app_batch_seconds_sum 11.305\n"
                   "app_batch_seconds_count 5\n");
    assert_true(ldr_metrics_value(h, NULL) == 5);
    ldr_metrics_destroy(m);
}

static void test_metrics_labelled_histogram(void **state) {
    (void)state;
    ldr_metrics_t *m = ldr_metrics_new();
    static const double bounds[] = {1, 2};
    ldr_metric_t *h = ldr_metrics_histogram(m, "app_latency_seconds",
                                            "Latency.", "topic", bounds, 2);
    ldr_metric_t *c = ldr_metrics_counter(m, "app_x_total", "X.", NULL);
    ldr_metrics_observe(h, LDR_METRICS_LABELS("dlq"), 1.5);
    ldr_metrics_add(c, NULL, 1);
    assert_text(m, "# HELP app_latency_seconds Latency.\n"
                   "# TYPE app_latency_seconds histogram\n"
                   "app_latency_seconds_bucket{topic=\"dlq\",le=\"1\"} 0\n"
                   "app_latency_seconds_bucket{topic=\"dlq\",le=\"2\"} 1\n"
                   "app_latency_seconds_bucket{topic=\"dlq\",le=\"+Inf\"} 1\n"
                   "app_latency_seconds_sum{topic=\"dlq\"} 1.5\n"
                   "app_latency_seconds_count{topic=\"dlq\"} 1\n"
                   "# HELP app_x_total X.\n"
                   "# TYPE app_x_total counter\n"
                   "app_x_total 1\n");
    ldr_metrics_destroy(m);
}

/* One thread updates while another renders: the counts come out whole
 * (and ThreadSanitizer/ASan builds see no race). */
struct writer {
    ldr_metric_t *c;
    ldr_metric_t *h;
};

static void *writer_run(void *arg) {
    struct writer *w = arg;
    for (int i = 0; i < 20000; i++) {
        ldr_metrics_add(w->c, LDR_METRICS_LABELS(i % 2 ? "a" : "b"), 1);
        ldr_metrics_observe(w->h, NULL, i % 3);
    }
    return NULL;
}

static void test_metrics_concurrent_render(void **state) {
    (void)state;
    ldr_metrics_t *m = ldr_metrics_new();
    static const double bounds[] = {1};
    struct writer w = {
        ldr_metrics_counter(m, "app_n_total", "N.", "k"),
        ldr_metrics_histogram(m, "app_h", "H.", NULL, bounds, 1)};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer_run, &w), 0);
    ldr_buf_t b;
    ldr_buf_init(&b);
    for (int i = 0; i < 200; i++) {
        ldr_buf_reset(&b);
        ldr_metrics_render(m, &b);
        assert_non_null(strstr(b.data, "# TYPE app_h histogram\n"));
    }
    pthread_join(t, NULL);
    ldr_buf_reset(&b);
    ldr_metrics_render(m, &b);
    assert_non_null(strstr(b.data, "app_n_total{k=\"b\"} 10000\n"
                                   "app_n_total{k=\"a\"} 10000\n"));
    assert_non_null(strstr(b.data, "app_h_count 20000\n"));
    ldr_buf_fini(&b);
    ldr_metrics_destroy(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_counter),
        cmocka_unit_test(test_metrics_labelled_counter),
        cmocka_unit_test(test_metrics_gauge),
        cmocka_unit_test(test_metrics_histogram),
        cmocka_unit_test(test_metrics_labelled_histogram),
        cmocka_unit_test(test_metrics_concurrent_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
