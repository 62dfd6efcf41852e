/* feed_merge.h -- several provincial feeds merged into one stream in time
 * order.
 *
 * DESIGN: every partition of the input topic has one event-time clock
 * (POLICY.md), so feeds are not read one after another but merged into one
 * stream ordered by (event time, position of the input, line number): the
 * order ladder-feed produces them in, and so the order every partition's
 * log holds them in. Each input holds exactly one pending valid row (its
 * reader's storage keeps that row's strings alive), and a small binary heap
 * of the inputs picks the next row, so memory does not grow with the input.
 * A row that is earlier than the row before it in the same input is still
 * returned at its turn in the input (the merge never looks ahead).
 *
 * The merge only orders: what to do with a rejected row, or with a valid
 * row as it is read (counting, reporting order), is the caller's, through
 * the callback of ldr_feed_merge_new().
 *
 * @locality: one thread. */
#ifndef LADDER_FEED_MERGE_H
#define LADDER_FEED_MERGE_H

#include <stddef.h>

#include "ladder/err.h"
#include "ladder/feed.h"

typedef struct ldr_feed_merge ldr_feed_merge_t;

/** Called for every row an input yields (valid or rejected), in that
 *  input's order, when it is read: @p input is the input's index. Returns
 *  0 to go on, or non-zero to stop the merge (ldr_feed_merge_next() then
 *  returns 0, as at the end). */
typedef int (*ldr_feed_merge_row_fn)(void *opaque, size_t input,
                                     const ldr_feed_row_t *row);

/** Merges the @p n readers @p readers (borrowed: they must outlive the
 *  merge), input i before input j on equal times when i < j. @p on_row may
 *  be NULL. The caller frees the merge with ldr_feed_merge_destroy(). No
 *  row is read before the first ldr_feed_merge_next(). */
ldr_feed_merge_t *ldr_feed_merge_new(ldr_feed_reader_t *const *readers,
                                     size_t n, ldr_feed_merge_row_fn on_row,
                                     void *opaque);
void ldr_feed_merge_destroy(ldr_feed_merge_t *m);

/** The next valid row in (time, input, line) order: 1 with *@p row (owned
 *  by its reader, valid until the next call) and *@p input set; 0 at the
 *  end of every input or when the callback asked to stop; -1 when an input
 *  cannot be read, with *@p input naming it and the reason in @p errstr
 *  (the merge then stops: every later call returns 0). */
int ldr_feed_merge_next(ldr_feed_merge_t *m, const ldr_feed_row_t **row,
                        size_t *input, char *errstr, size_t errstr_size);

#endif
