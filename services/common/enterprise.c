/* enterprise.c -- see enterprise.h. */
#include "ladder/enterprise.h"

#include "ladder/alloc.h"
#include "ladder/buf.h"
#include "ladder/err.h"

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

/* ---- compact encoding -------------------------------------------------- */

#define LDR_ENTERPRISE_FORMAT 1

static void ldr_put_varint(ldr_buf_t *b, uint64_t v) {
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) tmp[n] |= 0x80;
        n++;
    } while (v);
    ldr_buf_append(b, tmp, n);
}

static void ldr_put_svarint(ldr_buf_t *b, int64_t v) {
    ldr_put_varint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void ldr_put_str(ldr_buf_t *b, const char *s) {
    size_t n = strlen(s);
    ldr_put_varint(b, n);
    ldr_buf_append(b, s, n);
}

void ldr_enterprise_encode(const ldr_enterprise_t *e, ldr_buf_t *out) {
    ldr_buf_append_byte(out, LDR_ENTERPRISE_FORMAT);
    ldr_put_str(out, e->unit);
    ldr_put_str(out, e->name);
    ldr_put_svarint(out, e->ban_until);
    for (int t = 0; t < LDR_TIER__COUNT; t++) {
        const ldr_tier_rec_t *tr = &e->tiers[t];
        ldr_buf_append_byte(out, (uint8_t)(tr->state | (tr->held ? 4 : 0)));
        if (tr->state == LDR_TIER_STATE_NONE) continue;
        ldr_put_svarint(out, tr->batch);
        ldr_put_svarint(out, tr->publicity_end);
        ldr_put_svarint(out, tr->valid_from);
        ldr_put_svarint(out, tr->valid_until);
        ldr_put_str(out, tr->policy);
        for (int k = 0; k < LDR_TIMER__COUNT; k++)
            ldr_put_svarint(out, tr->timer_due[k]);
    }
    ldr_put_varint(out, e->cases_count);
    for (size_t i = 0; i < e->cases_count; i++)
        ldr_put_str(out, e->cases[i]);
    ldr_put_varint(out, e->events_count);
    for (size_t i = 0; i < e->events_count; i++)
        for (int k = 0; k < 8; k++)
            ldr_buf_append_byte(out, (uint8_t)(e->events[i] >> (8 * k)));
}

typedef struct ldr_rd {
    const uint8_t *p, *end;
} ldr_rd_t;

static int ldr_get_varint(ldr_rd_t *r, uint64_t *v) {
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return -1;
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

static int ldr_get_svarint(ldr_rd_t *r, int64_t *v) {
    uint64_t u;
    if (ldr_get_varint(r, &u)) return -1;
    *v = (int64_t)((u >> 1) ^ (0 - (u & 1)));
    return 0;
}

static int ldr_get_str(ldr_rd_t *r, char *dst, size_t size) {
    uint64_t n;
    if (ldr_get_varint(r, &n) || n >= size || n > (uint64_t)(r->end - r->p))
        return -1;
    memcpy(dst, r->p, (size_t)n);
    dst[n] = '\0';
    r->p += n;
    return 0;
}

ldr_err_t ldr_enterprise_decode(ldr_enterprise_t *e, const void *data,
                                size_t len) {
    ldr_rd_t r = {data, (const uint8_t *)data + len};
    char uscc[sizeof(e->uscc)];
    memcpy(uscc, e->uscc, sizeof(uscc));
    /* Keep the arrays, forget their contents. */
    char(*cases)[LDR_ENTERPRISE_ID_MAX] = e->cases;
    size_t cases_cap = e->cases_cap;
    uint64_t *events = e->events;
    size_t events_cap = e->events_cap;
    memset(e, 0, sizeof(*e));
    memcpy(e->uscc, uscc, sizeof(uscc));
    e->cases = cases;
    e->cases_cap = cases_cap;
    e->events = events;
    e->events_cap = events_cap;

    uint64_t n;
    if (r.p >= r.end || *r.p++ != LDR_ENTERPRISE_FORMAT) goto bad;
    if (ldr_get_str(&r, e->unit, sizeof(e->unit)) ||
        ldr_get_str(&r, e->name, sizeof(e->name)) ||
        ldr_get_svarint(&r, &e->ban_until))
        goto bad;
    for (int t = 0; t < LDR_TIER__COUNT; t++) {
        ldr_tier_rec_t *tr = &e->tiers[t];
        if (r.p >= r.end) goto bad;
        uint8_t sb = *r.p++;
        if ((sb & 3) > LDR_TIER_STATE_REVIEW_DUE || sb > 7) goto bad;
        tr->state = (ldr_tier_state_t)(sb & 3);
        tr->held = (sb & 4) != 0;
        if (tr->state == LDR_TIER_STATE_NONE) {
            if (tr->held) goto bad;
            continue;
        }
        int64_t batch;
        if (ldr_get_svarint(&r, &batch) || batch < INT32_MIN ||
            batch > INT32_MAX || ldr_get_svarint(&r, &tr->publicity_end) ||
            ldr_get_svarint(&r, &tr->valid_from) ||
            ldr_get_svarint(&r, &tr->valid_until) ||
            ldr_get_str(&r, tr->policy, sizeof(tr->policy)))
            goto bad;
        tr->batch = (int32_t)batch;
        for (int k = 0; k < LDR_TIMER__COUNT; k++)
            if (ldr_get_svarint(&r, &tr->timer_due[k])) goto bad;
    }
    /* Counts are bounded by the bytes left before anything is allocated. */
    if (ldr_get_varint(&r, &n) || n > (uint64_t)(r.end - r.p)) goto bad;
    for (uint64_t i = 0; i < n; i++) {
        char id[LDR_ENTERPRISE_ID_MAX];
        if (ldr_get_str(&r, id, sizeof(id))) goto bad;
        ldr_enterprise_case_add(e, ldr_str(id));
    }
    if (ldr_get_varint(&r, &n) || n > (uint64_t)(r.end - r.p) / 8) goto bad;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t h = 0;
        for (int k = 0; k < 8; k++)
            h |= (uint64_t)r.p[k] << (8 * k);
        r.p += 8;
        /* Stored sorted; a list that is not is corrupt. */
        if (i && h <= e->events[e->events_count - 1]) goto bad;
        if (e->events_count == e->events_cap) {
            e->events_cap = e->events_cap ? e->events_cap * 2 : 8;
            e->events =
                ldr_realloc(e->events, e->events_cap * sizeof(*e->events));
        }
        e->events[e->events_count++] = h;
    }
    if (r.p != r.end) goto bad;
    return LDR_OK;
bad:
    e->cases_count = e->events_count = 0;
    memset(e->tiers, 0, sizeof(e->tiers));
    e->unit[0] = e->name[0] = '\0';
    e->ban_until = 0;
    return LDR_ERR_DECODE_FAILED;
}
