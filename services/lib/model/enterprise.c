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

/* The name of an enterprise that has none: shared, never freed. */
static const char ldr_no_name[] = "";

void ldr_enterprise_set_name(ldr_enterprise_t *e, const char *name,
                             size_t len) {
    if (len > LDR_ENTERPRISE_NAME_MAX - 1) len = LDR_ENTERPRISE_NAME_MAX - 1;
    if (e->name && strlen(e->name) == len &&
        (len == 0 || memcmp(e->name, name, len) == 0))
        return; /* the same again: most applications repeat it */
    if (e->name && e->name != ldr_no_name) free((char *)e->name);
    if (!len) {
        e->name = ldr_no_name;
        return;
    }
    char *copy = ldr_malloc(len + 1);
    memcpy(copy, name, len);
    copy[len] = '\0';
    e->name = copy;
}

void ldr_enterprise_init(ldr_enterprise_t *e, const char *uscc, size_t len) {
    memset(e, 0, sizeof(*e));
    e->name = ldr_no_name;
    if (len > 18) len = 18;
    memcpy(e->uscc, uscc, len);
}

void ldr_enterprise_fini(ldr_enterprise_t *e) {
    free(e->cases);
    free(e->events);
    ldr_buf_fini(&e->history);
    ldr_enterprise_set_name(e, NULL, 0);
    memset(e, 0, sizeof(*e));
}

void ldr_enterprise_each_timer(const ldr_enterprise_t *e,
                               void (*fn)(void *opaque, int tier, int kind,
                                          int64_t due),
                               void *opaque) {
    for (int t = 0; t < LDR_TIER__COUNT; t++)
        for (int k = 0; k < LDR_TIMER__COUNT; k++)
            if (e->tiers[t].timer_due[k])
                fn(opaque, t, k, e->tiers[t].timer_due[k]);
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
static size_t enterprise_events_lower(const ldr_enterprise_t *e, uint64_t h) {
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
    size_t i = enterprise_events_lower(e, h);
    return i < e->events_count && e->events[i] == h;
}

void ldr_enterprise_remember(ldr_enterprise_t *e, const char *id, size_t len) {
    uint64_t h = ldr_enterprise_event_hash(id, len);
    size_t i = enterprise_events_lower(e, h);
    if (i < e->events_count && e->events[i] == h) return;
    if (e->events_count == e->events_cap) {
        e->events_cap = e->events_cap ? e->events_cap * 2 : 2;
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

/* 4: a history entry writes its times as differences (its offset and
 * effective time from the entry before's, its other times from its
 * effective time, in seconds when they are whole), its cause event id as
 * the length of the prefix it shares with the cause before (for the
 * first, with the enterprise's USCC) and the rest, and its policy version
 * in one byte when it is the entry before's. Read and converted on decode:
 * 3, whose entries spell out their times and causes and may repeat the
 * oldest entry's policy version in one byte; 2, whose entries spell out
 * their policy version too. */
#define LDR_ENTERPRISE_FORMAT    4
#define LDR_ENTERPRISE_FORMAT_V3 3
#define LDR_ENTERPRISE_FORMAT_V2 2

static void enterprise_put_str(ldr_buf_t *b, const char *s) {
    size_t n = strlen(s);
    ldr_buf_append_varint(b, n);
    ldr_buf_append(b, s, n);
}

void ldr_enterprise_encode(const ldr_enterprise_t *e, ldr_buf_t *out) {
    ldr_buf_append_byte(out, LDR_ENTERPRISE_FORMAT);
    enterprise_put_str(out, e->unit);
    enterprise_put_str(out, e->name);
    ldr_buf_append_svarint(out, e->ban_until);
    for (int t = 0; t < LDR_TIER__COUNT; t++) {
        const ldr_tier_rec_t *tr = &e->tiers[t];
        ldr_buf_append_byte(out, (uint8_t)(tr->state | (tr->held ? 4 : 0)));
        if (tr->state == LDR_TIER_STATE_NONE) continue;
        ldr_buf_append_svarint(out, tr->batch);
        ldr_buf_append_svarint(out, tr->publicity_end);
        ldr_buf_append_svarint(out, tr->valid_from);
        ldr_buf_append_svarint(out, tr->valid_until);
        enterprise_put_str(out, tr->policy);
        for (int k = 0; k < LDR_TIMER__COUNT; k++)
            ldr_buf_append_svarint(out, tr->timer_due[k]);
    }
    ldr_buf_append_varint(out, e->cases_count);
    for (size_t i = 0; i < e->cases_count; i++)
        enterprise_put_str(out, e->cases[i]);
    ldr_buf_append_varint(out, e->events_count);
    for (size_t i = 0; i < e->events_count; i++)
        for (int k = 0; k < 8; k++)
            ldr_buf_append_byte(out, (uint8_t)(e->events[i] >> (8 * k)));
    ldr_buf_append_varint(out, (uint64_t)e->history_count);
    ldr_buf_append_varint(out, e->history.len);
    ldr_buf_append(out, e->history.data, e->history.len);
}

typedef struct ldr_rd {
    const uint8_t *p, *end;
} ldr_rd_t;

static int enterprise_get_varint(ldr_rd_t *r, uint64_t *v) {
    return ldr_buf_read_varint(&r->p, r->end, v);
}

static int enterprise_get_svarint(ldr_rd_t *r, int64_t *v) {
    return ldr_buf_read_svarint(&r->p, r->end, v);
}

static int enterprise_get_str(ldr_rd_t *r, char *dst, size_t size) {
    uint64_t n;
    if (enterprise_get_varint(r, &n) || n >= size ||
        n > (uint64_t)(r->end - r->p))
        return -1;
    memcpy(dst, r->p, (size_t)n);
    dst[n] = '\0';
    r->p += n;
    return 0;
}

/* Empties @p e for a decode, keeping its USCC and the storage of its case,
 * event and history arrays so a reload allocates nothing new. */
static void enterprise_decode_reset(ldr_enterprise_t *e) {
    char uscc[sizeof(e->uscc)];
    memcpy(uscc, e->uscc, sizeof(uscc));
    /* Keep the arrays, forget their contents. */
    char(*cases)[LDR_ENTERPRISE_ID_MAX] = e->cases;
    size_t cases_cap = e->cases_cap;
    uint64_t *events = e->events;
    size_t events_cap = e->events_cap;
    ldr_buf_t history = e->history;
    ldr_enterprise_set_name(e, NULL, 0);
    memset(e, 0, sizeof(*e));
    e->name = ldr_no_name;
    e->history = history;
    ldr_buf_reset(&e->history);
    memcpy(e->uscc, uscc, sizeof(uscc));
    e->cases = cases;
    e->cases_cap = cases_cap;
    e->events = events;
    e->events_cap = events_cap;
}

/* The format byte (into *@p format), unit, name and ban: 0, or -1 when
 * corrupt. */
static int enterprise_get_head(ldr_rd_t *r, ldr_enterprise_t *e, int *format) {
    if (r->p >= r->end) return -1;
    *format = *r->p++;
    if (*format != LDR_ENTERPRISE_FORMAT &&
        *format != LDR_ENTERPRISE_FORMAT_V3 &&
        *format != LDR_ENTERPRISE_FORMAT_V2)
        return -1;
    uint64_t name_len;
    if (enterprise_get_str(r, e->unit, sizeof(e->unit)) ||
        enterprise_get_varint(r, &name_len) ||
        name_len >= LDR_ENTERPRISE_NAME_MAX ||
        name_len > (uint64_t)(r->end - r->p))
        return -1;
    ldr_enterprise_set_name(e, (const char *)r->p, (size_t)name_len);
    r->p += name_len;
    return enterprise_get_svarint(r, &e->ban_until);
}

/* One tier record: 0, or -1 when corrupt. */
static int enterprise_get_tier(ldr_rd_t *r, ldr_tier_rec_t *tr) {
    if (r->p >= r->end) return -1;
    uint8_t sb = *r->p++;
    if ((sb & 3) > LDR_TIER_STATE_REVIEW_DUE || sb > 7) return -1;
    tr->state = (ldr_tier_state_t)(sb & 3);
    tr->held = (sb & 4) != 0;
    if (tr->state == LDR_TIER_STATE_NONE) return tr->held ? -1 : 0;
    int64_t batch;
    if (enterprise_get_svarint(r, &batch) || batch < INT32_MIN ||
        batch > INT32_MAX || enterprise_get_svarint(r, &tr->publicity_end) ||
        enterprise_get_svarint(r, &tr->valid_from) ||
        enterprise_get_svarint(r, &tr->valid_until) ||
        enterprise_get_str(r, tr->policy, sizeof(tr->policy)))
        return -1;
    tr->batch = (int32_t)batch;
    for (int k = 0; k < LDR_TIMER__COUNT; k++)
        if (enterprise_get_svarint(r, &tr->timer_due[k])) return -1;
    return 0;
}

/* The open cases and the sorted event hashes: 0, or -1 when corrupt. */
static int enterprise_get_cases_events(ldr_rd_t *r, ldr_enterprise_t *e) {
    uint64_t n;
    /* Counts are bounded by the bytes left before anything is allocated. */
    if (enterprise_get_varint(r, &n) || n > (uint64_t)(r->end - r->p))
        return -1;
    for (uint64_t i = 0; i < n; i++) {
        char id[LDR_ENTERPRISE_ID_MAX];
        if (enterprise_get_str(r, id, sizeof(id))) return -1;
        ldr_enterprise_case_add(e, ldr_str(id));
    }
    if (enterprise_get_varint(r, &n) || n > (uint64_t)(r->end - r->p) / 8)
        return -1;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t h = 0;
        for (int k = 0; k < 8; k++)
            h |= (uint64_t)r->p[k] << (8 * k);
        r->p += 8;
        /* Stored sorted; a list that is not is corrupt. */
        if (i && h <= e->events[e->events_count - 1]) return -1;
        if (e->events_count == e->events_cap) {
            e->events_cap = e->events_cap ? e->events_cap * 2 : 2;
            e->events =
                ldr_realloc(e->events, e->events_cap * sizeof(*e->events));
        }
        e->events[e->events_count++] = h;
    }
    return 0;
}

static ldr_err_t enterprise_history_parse_old(const uint8_t *p, size_t size,
                                              int format,
                                              ldr_history_entry_t *out,
                                              bool *same_policy);
static ldr_err_t enterprise_history_check(const ldr_enterprise_t *e);

/* Entries of the formats before (2, 3), added again in this one. 0, or -1
 * when one does not read. */
static int enterprise_history_convert(ldr_enterprise_t *e, const uint8_t *p,
                                      size_t len, uint64_t count, int format) {
    ldr_rd_t r = {p, p + len};
    ldr_str_t oldest = {"", 0};
    for (uint64_t i = 0; i < count; i++) {
        uint64_t size;
        ldr_history_entry_t h;
        bool same;
        if (enterprise_get_varint(&r, &size) ||
            size > (uint64_t)(r.end - r.p) ||
            enterprise_history_parse_old(r.p, (size_t)size, format, &h,
                                         &same) ||
            (same && i == 0))
            return -1;
        r.p += size;
        if (i == 0) oldest = h.policy_version;
        if (same) h.policy_version = oldest;
        ldr_enterprise_history_add(e, &h);
    }
    return r.p == r.end ? 0 : -1;
}

/* The decision history, every entry checked when @p check: 0, or -1 when
 * corrupt. */
static int enterprise_get_history(ldr_rd_t *r, ldr_enterprise_t *e, int format,
                                  bool check) {
    uint64_t hcount, hlen;
    if (enterprise_get_varint(r, &hcount) ||
        hcount > LDR_ENTERPRISE_HISTORY_MAX ||
        enterprise_get_varint(r, &hlen) || hlen > (uint64_t)(r->end - r->p))
        return -1;
    if (format != LDR_ENTERPRISE_FORMAT) {
        const uint8_t *p = r->p;
        r->p += hlen;
        return enterprise_history_convert(e, p, (size_t)hlen, hcount, format);
    }
    ldr_buf_append(&e->history, r->p, (size_t)hlen);
    r->p += hlen;
    e->history_count = (int)hcount;
    /* Every entry must read back: check them now, not when the API asks. */
    return check && enterprise_history_check(e) ? -1 : 0;
}

static ldr_err_t enterprise_decode(ldr_enterprise_t *e, const void *data,
                                   size_t len, bool check) {
    ldr_rd_t r = {data, (const uint8_t *)data + len};
    enterprise_decode_reset(e);
    int format;
    if (enterprise_get_head(&r, e, &format)) goto bad;
    for (int t = 0; t < LDR_TIER__COUNT; t++)
        if (enterprise_get_tier(&r, &e->tiers[t])) goto bad;
    if (enterprise_get_cases_events(&r, e) ||
        enterprise_get_history(&r, e, format, check))
        goto bad;
    if (r.p != r.end) goto bad;
    return LDR_OK;
bad:
    ldr_buf_reset(&e->history);
    e->history_count = 0;
    e->cases_count = e->events_count = 0;
    memset(e->tiers, 0, sizeof(e->tiers));
    e->unit[0] = '\0';
    ldr_enterprise_set_name(e, NULL, 0);
    e->ban_until = 0;
    return LDR_ERR_DECODE_FAILED;
}

ldr_err_t ldr_enterprise_decode(ldr_enterprise_t *e, const void *data,
                                size_t len) {
    return enterprise_decode(e, data, len, true);
}

ldr_err_t ldr_enterprise_decode_own(ldr_enterprise_t *e, const void *data,
                                    size_t len) {
    return enterprise_decode(e, data, len, false);
}

/* ---- decision history ---------------------------------------------------- */

/* Entry layout (format 4): varint size of the rest, then the offset's
 * difference from the entry before's, n, type, tier (255: none), the
 * effective time (a time, below, from the entry before's), a flags byte,
 * the optional values it announces (times from the effective time), the
 * cause event id (the length of the prefix it shares with the cause
 * before, then the rest), the policy version (0: the entry before's, else
 * its length + 1 and its bytes), the reasons count and reasons. Before
 * the first entry: offset 0, time 0, the enterprise's USCC as the cause,
 * no policy version. */
enum {
    LDR_H_VALID_FROM = 1,
    LDR_H_VALID_UNTIL = 2,
    LDR_H_REVIEW_DEADLINE = 4,
    LDR_H_BAN_UNTIL = 8,
    LDR_H_BATCH = 16,
    LDR_H_SCORE = 32,
    LDR_H_CASE = 64,
    LDR_H_CAUSE = 128,
};

/* A history's times stay within +-2^60 ms, so that their differences
 * never overflow. */
#define LDR_H_TIME_MAX ((int64_t)1 << 60)

static bool enterprise_time_ok(int64_t v) {
    return v <= LDR_H_TIME_MAX && v >= -LDR_H_TIME_MAX;
}

/* What an entry is written against: the entry before it. */
typedef struct ldr_hctx {
    int64_t offset, effective_at;
    char cause[LDR_ENTERPRISE_ID_MAX];
    size_t cause_len;
    ldr_str_t policy;
} ldr_hctx_t;

static void enterprise_hctx_init(ldr_hctx_t *c, const char *uscc) {
    c->offset = c->effective_at = 0;
    c->cause_len = strlen(uscc);
    memcpy(c->cause, uscc, c->cause_len);
    c->policy = (ldr_str_t){"", 0};
}

static int64_t enterprise_time_clamp(int64_t v) {
    return v > LDR_H_TIME_MAX    ? LDR_H_TIME_MAX
           : v < -LDR_H_TIME_MAX ? -LDR_H_TIME_MAX
                                 : v;
}

/* A time @p v as its difference from @p base: in seconds, doubled, when
 * whole; else in milliseconds, doubled, plus one. A time beyond the
 * bound (validated input never comes near) is kept at the bound. */
static void enterprise_put_time(ldr_buf_t *b, int64_t v, int64_t base) {
    int64_t d = enterprise_time_clamp(v) - enterprise_time_clamp(base);
    ldr_buf_append_svarint(b, d % 1000 == 0 ? d / 1000 * 2 : d * 2 + 1);
}

static int enterprise_get_time(ldr_rd_t *r, int64_t base, int64_t *v) {
    int64_t z;
    if (enterprise_get_svarint(r, &z)) return -1;
    /* a difference of two times within the bound is within twice it */
    const int64_t dmax = 2 * LDR_H_TIME_MAX;
    int64_t d;
    if (z % 2 == 0) {
        if (z / 2 > dmax / 1000 || z / 2 < -dmax / 1000) return -1;
        d = z / 2 * 1000;
    } else {
        d = (z - 1) / 2;
        if (d > dmax || d < -dmax) return -1;
    }
    *v = base + d;
    return enterprise_time_ok(*v) ? 0 : -1;
}

static void enterprise_put_bytes(ldr_buf_t *b, ldr_str_t s) {
    ldr_buf_append_varint(b, s.len);
    ldr_buf_append(b, s.ptr, s.len);
}

static bool enterprise_same(ldr_str_t a, ldr_str_t b) {
    return a.len == b.len && (!a.len || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Appends entry @p d to @p history, written against @p c, which then
 * describes @p d. */
static void enterprise_history_append(ldr_buf_t *history, ldr_hctx_t *c,
                                      const ldr_history_entry_t *d) {
    /* The entry is written in place after a one-byte length, which is
     * right for every entry under 128 bytes; a longer one is moved up to
     * make room for its length. (Written into a buffer of its own and
     * copied, each entry cost three allocations.) @p c's policy version
     * may point into @p history, so it is compared before anything is
     * appended (an append may move the buffer). */
    bool same_policy = enterprise_same(d->policy_version, c->policy);
    size_t start = history->len;
    ldr_buf_append_byte(history, 0);
    ldr_buf_append_svarint(history, d->offset - c->offset);
    ldr_buf_append_varint(history, (uint64_t)d->n);
    ldr_buf_append_byte(history, (uint8_t)d->decision);
    ldr_buf_append_byte(history, d->has_tier ? (uint8_t)d->tier : 255);
    enterprise_put_time(history, d->effective_at, c->effective_at);
    uint8_t flags =
        (uint8_t)((d->has_valid_from ? LDR_H_VALID_FROM : 0) |
                  (d->has_valid_until ? LDR_H_VALID_UNTIL : 0) |
                  (d->has_review_deadline ? LDR_H_REVIEW_DEADLINE : 0) |
                  (d->has_ban_until ? LDR_H_BAN_UNTIL : 0) |
                  (d->has_batch ? LDR_H_BATCH : 0) |
                  (d->has_score ? LDR_H_SCORE : 0) |
                  (d->case_id.len ? LDR_H_CASE : 0) |
                  (d->cause_event_id.len ? LDR_H_CAUSE : 0));
    ldr_buf_append_byte(history, flags);
    if (d->has_valid_from)
        enterprise_put_time(history, d->valid_from, d->effective_at);
    if (d->has_valid_until)
        enterprise_put_time(history, d->valid_until, d->effective_at);
    if (d->has_review_deadline)
        enterprise_put_time(history, d->review_deadline, d->effective_at);
    if (d->has_ban_until)
        enterprise_put_time(history, d->ban_until, d->effective_at);
    if (d->has_batch) ldr_buf_append_svarint(history, d->batch);
    if (d->has_score) ldr_buf_append_svarint(history, d->score);
    if (d->case_id.len) enterprise_put_bytes(history, d->case_id);
    if (d->cause_event_id.len) {
        size_t len = d->cause_event_id.len < LDR_ENTERPRISE_ID_MAX - 1
                         ? d->cause_event_id.len
                         : LDR_ENTERPRISE_ID_MAX - 1;
        size_t k = 0;
        while (k < len && k < c->cause_len &&
               d->cause_event_id.ptr[k] == c->cause[k])
            k++;
        ldr_buf_append_varint(history, k);
        enterprise_put_bytes(history,
                             (ldr_str_t){d->cause_event_id.ptr + k, len - k});
        memcpy(c->cause, d->cause_event_id.ptr, len);
        c->cause_len = len;
    }
    if (same_policy) {
        ldr_buf_append_varint(history, 0);
    } else {
        ldr_buf_append_varint(history, d->policy_version.len + 1);
        ldr_buf_append(history, d->policy_version.ptr, d->policy_version.len);
    }
    ldr_buf_append_varint(history, d->reasons_count);
    for (size_t i = 0; i < d->reasons_count; i++)
        enterprise_put_bytes(history, d->reasons[i]);
    size_t len = history->len - start - 1;
    if (len < 0x80) {
        history->data[start] = (char)len;
    } else {
        /* rare: the length's varint, written at the end, then rotated
         * into place before the entry */
        ldr_buf_append_varint(history, len);
        size_t k = history->len - start - 1 - len;
        uint8_t v[10];
        memcpy(v, history->data + history->len - k, k);
        memmove(history->data + start + k, history->data + start + 1, len);
        memcpy(history->data + start, v, k);
        history->len -= 1;
        history->data[history->len] = '\0';
    }
    c->offset = d->offset;
    c->effective_at = enterprise_time_clamp(d->effective_at);
    c->policy = d->policy_version;
}

static int enterprise_get_view(ldr_rd_t *r, ldr_str_t *out) {
    uint64_t n;
    if (enterprise_get_varint(r, &n) || n > (uint64_t)(r->end - r->p))
        return -1;
    out->ptr = (const char *)r->p;
    out->len = (size_t)n;
    r->p += n;
    return 0;
}

/* An entry's decision type and tier (255: none), one byte each, in every
 * format: 0, or -1 when out of range or missing. */
static int enterprise_get_type_tier(ldr_rd_t *x, ldr_history_entry_t *out) {
    if (x->end - x->p < 2) return -1;
    uint8_t type = *x->p++, tier = *x->p++;
    if (type >= LDR_DECISION__COUNT || (tier >= LDR_TIER__COUNT && tier != 255))
        return -1;
    out->decision = (ldr_decision_type_t)type;
    out->has_tier = tier != 255;
    out->tier = out->has_tier ? (ldr_tier_t)tier : LDR_TIER_INNOVATIVE;
    return 0;
}

/* An entry's policy version (formats 3 and 4): 0 for "the same as" the
 * entry it refers to (*@p same set, @p out empty), else its length + 1
 * and its bytes. 0, or -1 when it does not read. */
static int enterprise_get_policy(ldr_rd_t *x, ldr_str_t *out, bool *same) {
    uint64_t k;
    if (enterprise_get_varint(x, &k) || k > (uint64_t)(x->end - x->p) + 1)
        return -1;
    *same = k == 0;
    *out = (ldr_str_t){k ? (const char *)x->p : "", k ? (size_t)k - 1 : 0};
    if (k) x->p += k - 1;
    return 0;
}

/* An entry's reasons, a count then each string, in every format. */
static int enterprise_get_reasons(ldr_rd_t *x, ldr_history_entry_t *out) {
    uint64_t cnt;
    if (enterprise_get_varint(x, &cnt) || cnt > LDR_DECISION_REASONS_MAX)
        return -1;
    out->reasons_count = (size_t)cnt;
    for (size_t i = 0; i < out->reasons_count; i++)
        if (enterprise_get_view(x, &out->reasons[i])) return -1;
    return 0;
}

/* An entry's optional values, those @p flags announce, in every format:
 * its times (from its effective time when @p relative, format 4; else
 * spelled out), batch and score. 0, or -1 when one does not read or is
 * out of range. */
static int enterprise_get_optional(ldr_rd_t *x, uint8_t flags, bool relative,
                                   ldr_history_entry_t *out) {
    struct {
        uint8_t bit;
        bool *has;
        int64_t *v;
    } times[] = {
        {LDR_H_VALID_FROM, &out->has_valid_from, &out->valid_from},
        {LDR_H_VALID_UNTIL, &out->has_valid_until, &out->valid_until},
        {LDR_H_REVIEW_DEADLINE, &out->has_review_deadline,
         &out->review_deadline},
        {LDR_H_BAN_UNTIL, &out->has_ban_until, &out->ban_until},
    };
    int64_t v;
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        if (!(flags & times[i].bit)) continue;
        if (relative ? enterprise_get_time(x, out->effective_at, &v)
                     : enterprise_get_svarint(x, &v) || !enterprise_time_ok(v))
            return -1;
        *times[i].has = true;
        *times[i].v = v;
    }
    if (flags & LDR_H_BATCH) {
        if (enterprise_get_svarint(x, &v) || v < INT32_MIN || v > INT32_MAX)
            return -1;
        out->has_batch = true;
        out->batch = (int32_t)v;
    }
    if (flags & LDR_H_SCORE) {
        if (enterprise_get_svarint(x, &v) || v < INT32_MIN || v > INT32_MAX)
            return -1;
        out->has_score = true;
        out->score = (int32_t)v;
    }
    return 0;
}

/* An entry's offset (a difference from @p c's) and its place among its
 * message's decisions (format 4): 0, or -1 when out of range. */
static int enterprise_get_offset_n(ldr_rd_t *x, const ldr_hctx_t *c,
                                   int64_t *offset, int *n) {
    int64_t doff;
    uint64_t k;
    if (enterprise_get_svarint(x, &doff) || enterprise_get_varint(x, &k) ||
        k > INT32_MAX || !enterprise_time_ok(doff) || c->offset + doff < 0 ||
        c->offset + doff > LDR_H_TIME_MAX)
        return -1;
    *offset = c->offset + doff;
    *n = (int)k;
    return 0;
}

/* An entry's cause event id (format 4): the length of the prefix it
 * shares with @p c's cause, then the rest, which @p c then holds. 0, or
 * -1 when it does not read. */
static int enterprise_get_cause(ldr_rd_t *x, ldr_hctx_t *c) {
    uint64_t k;
    ldr_str_t rest;
    if (enterprise_get_varint(x, &k) || k > c->cause_len ||
        enterprise_get_view(x, &rest) ||
        k + rest.len > LDR_ENTERPRISE_ID_MAX - 1 || k + rest.len == 0)
        return -1;
    memcpy(c->cause + k, rest.ptr, rest.len);
    c->cause_len = (size_t)k + rest.len;
    return 0;
}

/* Reads the next entry of @p r (format 4) against @p c, which then
 * describes it. Its strings point into the history, but its cause into
 * its own cause_buf. */
static ldr_err_t enterprise_history_next(ldr_rd_t *r, ldr_hctx_t *c,
                                         ldr_history_entry_t *out) {
    uint64_t size;
    if (enterprise_get_varint(r, &size) || size > (uint64_t)(r->end - r->p))
        return LDR_ERR_DECODE_FAILED;
    ldr_rd_t x = {r->p, r->p + size};
    r->p += size;
    memset(out, 0, offsetof(ldr_history_entry_t, cause_buf));
    if (enterprise_get_offset_n(&x, c, &out->offset, &out->n) ||
        enterprise_get_type_tier(&x, out))
        return LDR_ERR_DECODE_FAILED;
    if (enterprise_get_time(&x, c->effective_at, &out->effective_at) ||
        x.p >= x.end)
        return LDR_ERR_DECODE_FAILED;
    uint8_t flags = *x.p++;
    if (enterprise_get_optional(&x, flags, true, out))
        return LDR_ERR_DECODE_FAILED;
    if ((flags & LDR_H_CASE) && enterprise_get_view(&x, &out->case_id))
        return LDR_ERR_DECODE_FAILED;
    if (flags & LDR_H_CAUSE) {
        if (enterprise_get_cause(&x, c)) return LDR_ERR_DECODE_FAILED;
        memcpy(out->cause_buf, c->cause, c->cause_len);
        out->cause_buf[c->cause_len] = '\0';
        out->cause_event_id = (ldr_str_t){out->cause_buf, c->cause_len};
    }
    bool same;
    if (enterprise_get_policy(&x, &out->policy_version, &same) ||
        enterprise_get_reasons(&x, out) || x.p != x.end)
        return LDR_ERR_DECODE_FAILED;
    if (same) out->policy_version = c->policy;
    c->offset = out->offset;
    c->effective_at = out->effective_at;
    c->policy = out->policy_version;
    return LDR_OK;
}

/* Moves @p c past the next entry of @p r (format 4), as
 * enterprise_history_next does, reading only what the context keeps:
 * what the next entry is written against, without the entry. */
static ldr_err_t enterprise_history_skip(ldr_rd_t *r, ldr_hctx_t *c) {
    uint64_t size;
    int64_t offset, v;
    int n;
    if (enterprise_get_varint(r, &size) || size > (uint64_t)(r->end - r->p))
        return LDR_ERR_DECODE_FAILED;
    ldr_rd_t x = {r->p, r->p + size};
    r->p += size;
    if (enterprise_get_offset_n(&x, c, &offset, &n) || x.end - x.p < 2)
        return LDR_ERR_DECODE_FAILED;
    x.p += 2; /* the decision type and the tier */
    int64_t effective_at;
    if (enterprise_get_time(&x, c->effective_at, &effective_at) || x.p >= x.end)
        return LDR_ERR_DECODE_FAILED;
    uint8_t flags = *x.p++;
    int values = 0; /* the times, batch and score: a varint each */
    for (uint8_t bit = LDR_H_VALID_FROM; bit <= LDR_H_SCORE; bit <<= 1)
        values += (flags & bit) != 0;
    for (int i = 0; i < values; i++)
        if (enterprise_get_svarint(&x, &v)) return LDR_ERR_DECODE_FAILED;
    ldr_str_t view;
    if ((flags & LDR_H_CASE) && enterprise_get_view(&x, &view))
        return LDR_ERR_DECODE_FAILED;
    if ((flags & LDR_H_CAUSE) && enterprise_get_cause(&x, c))
        return LDR_ERR_DECODE_FAILED;
    bool same;
    if (enterprise_get_policy(&x, &view, &same)) return LDR_ERR_DECODE_FAILED;
    c->offset = offset;
    c->effective_at = effective_at;
    if (!same) c->policy = view;
    return LDR_OK;
}

/* Entry @p i of the @p count entries of @p history, the history of the
 * enterprise @p uscc, read from the first; into @p ctx (when not NULL),
 * what an entry after it is written against. */
static ldr_err_t enterprise_history_at(const ldr_buf_t *history, int count,
                                       const char *uscc, int i,
                                       ldr_history_entry_t *out,
                                       ldr_hctx_t *ctx) {
    if (i < 0 || i >= count) return LDR_ERR_INVALID_ARG;
    ldr_rd_t r = {(const uint8_t *)history->data,
                  (const uint8_t *)history->data + history->len};
    ldr_hctx_t c;
    enterprise_hctx_init(&c, uscc);
    for (int k = 0; k <= i; k++)
        if (enterprise_history_next(&r, &c, out)) {
            memset(out, 0, sizeof(*out));
            return LDR_ERR_DECODE_FAILED;
        }
    if (ctx) *ctx = c;
    return LDR_OK;
}

/* Every entry reads, and nothing follows the last. */
static ldr_err_t enterprise_history_check(const ldr_enterprise_t *e) {
    ldr_rd_t r = {(const uint8_t *)e->history.data,
                  (const uint8_t *)e->history.data + e->history.len};
    ldr_hctx_t c;
    enterprise_hctx_init(&c, e->uscc);
    ldr_history_entry_t h;
    for (int k = 0; k < e->history_count; k++)
        if (enterprise_history_next(&r, &c, &h)) return LDR_ERR_DECODE_FAILED;
    return r.p == r.end ? LDR_OK : LDR_ERR_DECODE_FAILED;
}

void ldr_enterprise_history_add(ldr_enterprise_t *e,
                                const ldr_history_entry_t *d) {
    ldr_hctx_t c;
    enterprise_hctx_init(&c, e->uscc);
    /* the history before a drop: the context's policy version may point
     * into it until @p d is written */
    ldr_buf_t old;
    ldr_buf_init(&old);
    if (e->history_count == LDR_ENTERPRISE_HISTORY_MAX) {
        /* Drop the oldest: the others are written again, against a new
         * first entry. Only an enterprise with LDR_ENTERPRISE_HISTORY_MAX
         * decisions gets here, once per decision from then on. */
        old = e->history;
        int count = e->history_count;
        ldr_buf_init(&e->history);
        e->history_count = 0;
        ldr_rd_t r = {(const uint8_t *)old.data,
                      (const uint8_t *)old.data + old.len};
        ldr_hctx_t oc;
        enterprise_hctx_init(&oc, e->uscc);
        ldr_history_entry_t h;
        for (int i = 0; i < count; i++) {
            if (enterprise_history_next(&r, &oc, &h)) break;
            if (i == 0) continue;
            enterprise_history_append(&e->history, &c, &h);
            e->history_count++;
        }
    } else if (e->hctx_valid) {
        /* the context the last add left */
        c.offset = e->hctx_offset;
        c.effective_at = e->hctx_effective_at;
        c.cause_len = e->hctx_cause_len;
        memcpy(c.cause, e->hctx_cause, c.cause_len);
        c.policy = (ldr_str_t){e->hctx_policy, e->hctx_policy_len};
    } else if (e->history_count > 0) {
        /* the context of the last entry: every entry is written against
         * the one before */
        ldr_rd_t r = {(const uint8_t *)e->history.data,
                      (const uint8_t *)e->history.data + e->history.len};
        for (int i = 0; i < e->history_count; i++)
            if (enterprise_history_skip(&r, &c)) {
                enterprise_hctx_init(&c, e->uscc);
                break;
            }
    }
    enterprise_history_append(&e->history, &c, d);
    e->history_count++;
    /* kept for the next add: c's policy version is @p d's, which lives
     * elsewhere, so its bytes are copied */
    e->hctx_valid = c.policy.len < sizeof(e->hctx_policy);
    if (e->hctx_valid) {
        e->hctx_offset = c.offset;
        e->hctx_effective_at = c.effective_at;
        e->hctx_cause_len = c.cause_len;
        memcpy(e->hctx_cause, c.cause, c.cause_len);
        if (c.policy.len) memcpy(e->hctx_policy, c.policy.ptr, c.policy.len);
        e->hctx_policy_len = c.policy.len;
    }
    ldr_buf_fini(&old);
}

/* Reads one entry of @p size bytes at @p p, written in format 2 or 3;
 * with format 3, *@p same_policy says that its policy_version is the
 * oldest entry's (out->policy_version is then empty). */
static ldr_err_t enterprise_history_parse_old(const uint8_t *p, size_t size,
                                              int format,
                                              ldr_history_entry_t *out,
                                              bool *same_policy) {
    ldr_rd_t x = {p, p + size};
    memset(out, 0, offsetof(ldr_history_entry_t, cause_buf));
    *same_policy = false;
    uint64_t off, n;
    if (enterprise_get_varint(&x, &off) || enterprise_get_varint(&x, &n) ||
        off > (uint64_t)LDR_H_TIME_MAX || n > INT32_MAX)
        return LDR_ERR_DECODE_FAILED;
    out->offset = (int64_t)off;
    out->n = (int)n;
    if (enterprise_get_type_tier(&x, out)) return LDR_ERR_DECODE_FAILED;
    if (enterprise_get_svarint(&x, &out->effective_at) ||
        !enterprise_time_ok(out->effective_at) || x.p >= x.end)
        return LDR_ERR_DECODE_FAILED;
    uint8_t flags = *x.p++;
    if (enterprise_get_optional(&x, flags, false, out))
        return LDR_ERR_DECODE_FAILED;
    if (((flags & LDR_H_CASE) && enterprise_get_view(&x, &out->case_id)) ||
        ((flags & LDR_H_CAUSE) &&
         enterprise_get_view(&x, &out->cause_event_id)))
        return LDR_ERR_DECODE_FAILED;
    if (format == LDR_ENTERPRISE_FORMAT_V2) {
        if (enterprise_get_view(&x, &out->policy_version))
            return LDR_ERR_DECODE_FAILED;
    } else {
        if (enterprise_get_policy(&x, &out->policy_version, same_policy))
            return LDR_ERR_DECODE_FAILED;
    }
    return enterprise_get_reasons(&x, out) || x.p != x.end
               ? LDR_ERR_DECODE_FAILED
               : LDR_OK;
}

ldr_err_t ldr_enterprise_history_get(const ldr_enterprise_t *e, int i,
                                     ldr_history_entry_t *out) {
    return enterprise_history_at(&e->history, e->history_count, e->uscc, i, out,
                                 NULL);
}
