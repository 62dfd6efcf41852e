/* enterprise.c -- see enterprise.h. */
#include "ladder/enterprise.h"

#include "ladder/alloc.h"

#include <stdlib.h>
#include <string.h>

static const char *const ldr_tier_state_names[] = {"NONE", "PUBLICITY",
                                                   "DESIGNATED", "REVIEW_DUE"};

const char *ldr_tier_state_name(ldr_tier_state_t s) {
    return (unsigned)s < 4 ? ldr_tier_state_names[s] : "?";
}

void ldr_enterprise_init(ldr_enterprise_t *e, const char *uscc, size_t len) {
    memset(e, 0, sizeof(*e));
    if (len > 18) len = 18;
    memcpy(e->uscc, uscc, len);
}

void ldr_enterprise_fini(ldr_enterprise_t *e) {
    free(e->cases);
    free(e->events);
    memset(e, 0, sizeof(*e));
}

uint64_t ldr_enterprise_event_hash(const char *id, size_t len) {
    /* FNV-1a, then the splitmix64 finaliser to spread the bits. */
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)id[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

/* Index of the first hash >= h in the sorted list. */
static size_t ldr_events_lower(const ldr_enterprise_t *e, uint64_t h) {
    size_t lo = 0, hi = e->events_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->events[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool ldr_enterprise_seen(const ldr_enterprise_t *e, const char *id,
                         size_t len) {
    uint64_t h = ldr_enterprise_event_hash(id, len);
    size_t i = ldr_events_lower(e, h);
    return i < e->events_count && e->events[i] == h;
}

void ldr_enterprise_remember(ldr_enterprise_t *e, const char *id, size_t len) {
    uint64_t h = ldr_enterprise_event_hash(id, len);
    size_t i = ldr_events_lower(e, h);
    if (i < e->events_count && e->events[i] == h) return;
    if (e->events_count == e->events_cap) {
        e->events_cap = e->events_cap ? e->events_cap * 2 : 8;
        e->events = ldr_realloc(e->events, e->events_cap * sizeof(*e->events));
    }
    memmove(e->events + i + 1, e->events + i,
            (e->events_count - i) * sizeof(*e->events));
    e->events[i] = h;
    e->events_count++;
}

int ldr_enterprise_case_index(const ldr_enterprise_t *e, const char *id,
                              size_t len) {
    for (size_t i = 0; i < e->cases_count; i++)
        if (strlen(e->cases[i]) == len && memcmp(e->cases[i], id, len) == 0)
            return (int)i;
    return -1;
}

bool ldr_enterprise_case_open(const ldr_enterprise_t *e, const char *id,
                              size_t len) {
    return ldr_enterprise_case_index(e, id, len) >= 0;
}

void ldr_enterprise_case_add(ldr_enterprise_t *e, ldr_str_t id) {
    if (ldr_enterprise_case_index(e, id.ptr, id.len) >= 0) return;
    if (e->cases_count == e->cases_cap) {
        e->cases_cap = e->cases_cap ? e->cases_cap * 2 : 2;
        e->cases = ldr_realloc(e->cases, e->cases_cap * sizeof(*e->cases));
    }
    size_t n =
        id.len < LDR_ENTERPRISE_ID_MAX - 1 ? id.len : LDR_ENTERPRISE_ID_MAX - 1;
    memcpy(e->cases[e->cases_count], id.ptr, n);
    e->cases[e->cases_count][n] = '\0';
    e->cases_count++;
}

void ldr_enterprise_case_remove(ldr_enterprise_t *e, int i) {
    memmove(e->cases + i, e->cases + i + 1,
            (e->cases_count - (size_t)i - 1) * sizeof(*e->cases));
    e->cases_count--;
}
