/* tally.c -- per-client counts with caps (tally.h).
 *
 * DESIGN: see tally.h. The counts live in a jansson object, keyed by the
 * client's address; a key is dropped when its count falls to zero. */
#include "ladder/tally.h"

#include "ladder/alloc.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>

struct ldr_tally {
    pthread_mutex_t lock;
    json_t *counts; /* key -> integer > 0 */
    unsigned total, max, per_key_max;
};

ldr_tally_t *ldr_tally_new(unsigned max, unsigned per_key_max) {
    ldr_tally_t *t = ldr_calloc(1, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    t->counts = json_object();
    if (!t->counts) abort();
    t->max = max;
    t->per_key_max = per_key_max;
    return t;
}

void ldr_tally_destroy(ldr_tally_t *t) {
    if (!t) return;
    json_decref(t->counts);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

static unsigned key_count(const ldr_tally_t *t, const char *key) {
    return (unsigned)json_integer_value(json_object_get(t->counts, key));
}

ldr_tally_result_t ldr_tally_take(ldr_tally_t *t, const char *key) {
    pthread_mutex_lock(&t->lock);
    unsigned n = key_count(t, key);
    ldr_tally_result_t r = LDR_TALLY_TAKEN;
    if (t->max && t->total >= t->max)
        r = LDR_TALLY_FULL;
    else if (t->per_key_max && n >= t->per_key_max)
        r = LDR_TALLY_KEY_FULL;
    else {
        json_object_set_new(t->counts, key, json_integer((json_int_t)n + 1));
        t->total++;
    }
    pthread_mutex_unlock(&t->lock);
    return r;
}

void ldr_tally_give(ldr_tally_t *t, const char *key) {
    pthread_mutex_lock(&t->lock);
    unsigned n = key_count(t, key);
    if (n > 1)
        json_object_set_new(t->counts, key, json_integer((json_int_t)n - 1));
    else if (n == 1)
        json_object_del(t->counts, key);
    if (n && t->total) t->total--;
    pthread_mutex_unlock(&t->lock);
}

unsigned ldr_tally_count(ldr_tally_t *t, const char *key) {
    pthread_mutex_lock(&t->lock);
    unsigned n = key ? key_count(t, key) : t->total;
    pthread_mutex_unlock(&t->lock);
    return n;
}
