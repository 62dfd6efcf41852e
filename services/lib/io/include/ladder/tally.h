/* tally.h -- how many of something each client holds, with caps.
 *
 * DESIGN: the HTTP server's per-address connection limit and ladder-api's
 * caps on event streams ask the same question: may this client take one
 * more, given what it and everybody together hold? A tally answers it
 * under one lock, counting holders per key (a client's address as text)
 * and in total, and refusing a take that would pass either cap. Keys are
 * kept only while they hold something, so memory follows what is open,
 * not how many clients ever came (a jansson object is the hash table).
 * Every function is thread-safe.
 *
 *     ldr_tally_t *t = ldr_tally_new(128, 8);   128 in all, 8 per key
 *     switch (ldr_tally_take(t, "203.0.113.7")) { ... }
 *     ...
 *     ldr_tally_give(t, "203.0.113.7");   once for every successful take
 *     ldr_tally_destroy(t);
 */
#ifndef LADDER_TALLY_H
#define LADDER_TALLY_H

#include <stddef.h>

typedef struct ldr_tally ldr_tally_t;

/** What ldr_tally_take() did. */
typedef enum ldr_tally_result {
    LDR_TALLY_TAKEN = 0,   /**< counted; give it back with ldr_tally_give() */
    LDR_TALLY_FULL = 1,    /**< refused: the total cap is reached */
    LDR_TALLY_KEY_FULL = 2 /**< refused: this key's cap is reached */
} ldr_tally_result_t;

/** A tally that allows at most @p max in total and @p per_key_max per key;
 *  0 means no cap of that kind. Free it with ldr_tally_destroy(). */
ldr_tally_t *ldr_tally_new(unsigned max, unsigned per_key_max);

/** Frees @p t (NULL is accepted). */
void ldr_tally_destroy(ldr_tally_t *t);

/** Counts one more for @p key unless a cap is reached. */
ldr_tally_result_t ldr_tally_take(ldr_tally_t *t, const char *key);

/** Counts one fewer for @p key (after a successful ldr_tally_take()). */
void ldr_tally_give(ldr_tally_t *t, const char *key);

/** How many @p key holds (NULL: how many in total). */
unsigned ldr_tally_count(ldr_tally_t *t, const char *key);

#endif
