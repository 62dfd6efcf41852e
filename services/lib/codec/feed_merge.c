/* feed_merge.c -- feeds merged in (time, input, line) order. See
 * feed_merge.h for the design. */
#include "ladder/feed_merge.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ladder/alloc.h"

typedef struct merge_input {
    ldr_feed_reader_t *r;
    size_t index;
    ldr_feed_row_t row; /* the pending valid row */
} merge_input_t;

struct ldr_feed_merge {
    merge_input_t *inputs;
    merge_input_t **heap;
    size_t n, nheap;
    ldr_feed_merge_row_fn on_row;
    void *opaque;
    bool started;  /* the heap was filled */
    bool returned; /* heap[0]'s row was handed out */
    bool done;     /* stopped or failed: nothing more */
};

ldr_feed_merge_t *ldr_feed_merge_new(ldr_feed_reader_t *const *readers,
                                     size_t n, ldr_feed_merge_row_fn on_row,
                                     void *opaque) {
    ldr_feed_merge_t *m = ldr_calloc(1, sizeof *m);
    m->inputs = ldr_calloc(n ? n : 1, sizeof *m->inputs);
    m->heap = ldr_calloc(n ? n : 1, sizeof *m->heap);
    m->n = n;
    for (size_t i = 0; i < n; i++) {
        m->inputs[i].r = readers[i];
        m->inputs[i].index = i;
    }
    m->on_row = on_row;
    m->opaque = opaque;
    return m;
}

void ldr_feed_merge_destroy(ldr_feed_merge_t *m) {
    if (!m) return;
    free(m->inputs);
    free(m->heap);
    free(m);
}

/* Reads the input's next valid row into in->row, handing every row to the
 * callback on the way: 1 for a row, 0 at the end or when the callback says
 * stop, -1 on a read error. */
static int merge_advance(ldr_feed_merge_t *m, merge_input_t *in, char *errstr,
                         size_t errstr_size) {
    for (;;) {
        if (ldr_feed_reader_next(in->r, &in->row, errstr, errstr_size))
            return -1;
        if (in->row.status == LDR_FEED_ROW_END) return 0;
        if (m->on_row && m->on_row(m->opaque, in->index, &in->row)) {
            m->done = true;
            return 0;
        }
        if (in->row.status == LDR_FEED_ROW_VALID) return 1;
    }
}

/* The merge order: (time, input, line). */
static bool merge_before(const merge_input_t *a, const merge_input_t *b) {
    if (a->row.time != b->row.time) return a->row.time < b->row.time;
    if (a->index != b->index) return a->index < b->index;
    return a->row.line < b->row.line;
}

static void merge_sift_down(merge_input_t **heap, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, k = i;
        if (l < n && merge_before(heap[l], heap[k])) k = l;
        if (l + 1 < n && merge_before(heap[l + 1], heap[k])) k = l + 1;
        if (k == i) return;
        merge_input_t *t = heap[i];
        heap[i] = heap[k];
        heap[k] = t;
        i = k;
    }
}

/* Reads every input's first row and builds the heap: false on a read
 * error (*input names it). */
static bool merge_start(ldr_feed_merge_t *m, size_t *input, char *errstr,
                        size_t errstr_size) {
    m->started = true;
    for (size_t i = 0; i < m->n && !m->done; i++) {
        int got = merge_advance(m, &m->inputs[i], errstr, errstr_size);
        if (got < 0) {
            *input = i;
            return false;
        }
        if (got > 0) m->heap[m->nheap++] = &m->inputs[i];
    }
    for (size_t i = m->nheap; i-- > 0;)
        merge_sift_down(m->heap, m->nheap, i);
    return true;
}

int ldr_feed_merge_next(ldr_feed_merge_t *m, const ldr_feed_row_t **row,
                        size_t *input, char *errstr, size_t errstr_size) {
    if (m->done) return 0;
    if (!m->started) {
        if (!merge_start(m, input, errstr, errstr_size)) {
            m->done = true;
            return -1;
        }
    } else if (m->returned) {
        /* The row handed out last is consumed: its input moves on. */
        merge_input_t *in = m->heap[0];
        int got = merge_advance(m, in, errstr, errstr_size);
        if (got < 0) {
            *input = in->index;
            m->done = true;
            return -1;
        }
        if (got == 0) m->heap[0] = m->heap[--m->nheap];
        merge_sift_down(m->heap, m->nheap, 0);
    }
    m->returned = false;
    if (m->done || m->nheap == 0) {
        m->done = true;
        return 0;
    }
    m->returned = true;
    *row = &m->heap[0]->row;
    *input = m->heap[0]->index;
    return 1;
}
