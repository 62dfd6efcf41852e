/* decision.c -- a decision as JSON, and the notices stream's compact form
 * (decision.h).
 *
 * DESIGN: there are two writers with the same output: ldr_decision_to_json()
 * builds a jansson object for the API and CloudEvents, and
 * ldr_decision_write_json() appends the text straight into a buffer for the
 * notices stream, where the worker writes one per revocation inside the commit
 * and building a jansson tree for each would only be thrown away. Absent
 * optional times and integers are written as null, so a reader sees every key
 * on every decision. */
#include "ladder/decision.h"

#include "ladder/time.h"

#include <jansson.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static json_t *decision_j_str(ldr_str_t s) {
    return json_stringn(s.ptr ? s.ptr : "", s.len);
}

static json_t *decision_j_time(int64_t ms) {
    char buf[LDR_TIME_FORMAT_SIZE];
    ldr_time_format(ms, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *decision_j_opt_time(bool has, int64_t ms) {
    return has ? decision_j_time(ms) : json_null();
}

json_t *ldr_decision_to_json(const ldr_decision_t *d) {
    json_t *o = json_object();
    json_t *reasons = json_array();
    for (size_t i = 0; i < d->reasons_count; i++)
        json_array_append_new(reasons, decision_j_str(d->reasons[i]));
    json_object_set_new(o, "decision_id", decision_j_str(d->decision_id));
    json_object_set_new(o, "uscc", decision_j_str(d->uscc));
    json_object_set_new(o, "enterprise_name",
                        decision_j_str(d->enterprise_name));
    json_object_set_new(o, "reporting_unit", decision_j_str(d->reporting_unit));
    json_object_set_new(o, "tier",
                        d->has_tier ? json_string(ldr_tier_name(d->tier))
                                    : json_null());
    json_object_set_new(o, "decision",
                        json_string(ldr_decision_type_name(d->decision)));
    json_object_set_new(o, "reasons", reasons);
    json_object_set_new(o, "effective_at", decision_j_time(d->effective_at));
    json_object_set_new(o, "valid_from",
                        decision_j_opt_time(d->has_valid_from, d->valid_from));
    json_object_set_new(
        o, "valid_until",
        decision_j_opt_time(d->has_valid_until, d->valid_until));
    json_object_set_new(
        o, "review_deadline",
        decision_j_opt_time(d->has_review_deadline, d->review_deadline));
    json_object_set_new(o, "ban_until",
                        decision_j_opt_time(d->has_ban_until, d->ban_until));
    json_object_set_new(o, "case_id",
                        d->has_case_id ? decision_j_str(d->case_id)
                                       : json_null());
    json_object_set_new(o, "batch",
                        d->has_batch ? json_integer(d->batch) : json_null());
    json_object_set_new(o, "score",
                        d->has_score ? json_integer(d->score) : json_null());
    json_object_set_new(o, "policy_version", decision_j_str(d->policy_version));
    json_object_set_new(o, "cause_event_id",
                        d->has_cause_event_id
                            ? decision_j_str(d->cause_event_id)
                            : json_null());
    json_object_set_new(o, "cause", decision_j_str(d->cause));
    json_object_set_new(o, "decided_at", decision_j_time(d->decided_at));
    return o;
}

/* ---- the same form written straight into a buffer ----------------------
 *
 * The worker writes every revocation notice into Redis as JSON. Building a
 * jansson object and dumping it cost about 70,000 instructions a notice
 * (callgrind), a tenth of the worker's time on the national data, for a
 * shape that never changes. This writer gives the same bytes as
 * json_dumps(ldr_decision_to_json(d), JSON_COMPACT) (test_decision checks
 * it): keys in the same order, strings escaped as jansson escapes them. */

static void decision_w_str(ldr_buf_t *b, const char *p, size_t len) {
    static const char hex[] = "0123456789ABCDEF";
    ldr_buf_append_byte(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        ldr_buf_append(b, p + run, i - run);
        run = i + 1;
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        ldr_buf_append(b, esc, n);
    }
    ldr_buf_append(b, p + run, len - run);
    ldr_buf_append_byte(b, '"');
}

static void decision_w_key(ldr_buf_t *b, const char *key) {
    ldr_buf_append_str(b, key);
}

static void decision_w_s(ldr_buf_t *b, const char *key, ldr_str_t s) {
    decision_w_key(b, key);
    decision_w_str(b, s.ptr ? s.ptr : "", s.ptr ? s.len : 0);
}

static void decision_w_time(ldr_buf_t *b, const char *key, bool has,
                            int64_t ms) {
    decision_w_key(b, key);
    if (!has) {
        ldr_buf_append(b, "null", 4);
        return;
    }
    char t[LDR_TIME_FORMAT_SIZE];
    size_t n = ldr_time_format(ms, t, sizeof(t));
    decision_w_str(b, t, n < sizeof(t) ? n : sizeof(t) - 1);
}

static void decision_w_int(ldr_buf_t *b, const char *key, bool has, int64_t v) {
    decision_w_key(b, key);
    if (!has) {
        ldr_buf_append(b, "null", 4);
        return;
    }
    char t[24];
    int n = snprintf(t, sizeof(t), "%lld", (long long)v);
    ldr_buf_append(b, t, (size_t)n);
}

void ldr_decision_write_json(const ldr_decision_t *d, ldr_buf_t *b) {
    decision_w_s(b, "{\"decision_id\":", d->decision_id);
    decision_w_s(b, ",\"uscc\":", d->uscc);
    decision_w_s(b, ",\"enterprise_name\":", d->enterprise_name);
    decision_w_s(b, ",\"reporting_unit\":", d->reporting_unit);
    decision_w_key(b, ",\"tier\":");
    if (d->has_tier) {
        const char *t = ldr_tier_name(d->tier);
        decision_w_str(b, t, strlen(t));
    } else {
        ldr_buf_append(b, "null", 4);
    }
    decision_w_key(b, ",\"decision\":");
    const char *dt = ldr_decision_type_name(d->decision);
    decision_w_str(b, dt, strlen(dt));
    decision_w_key(b, ",\"reasons\":[");
    for (size_t i = 0; i < d->reasons_count; i++) {
        if (i) ldr_buf_append_byte(b, ',');
        decision_w_str(b, d->reasons[i].ptr ? d->reasons[i].ptr : "",
                       d->reasons[i].ptr ? d->reasons[i].len : 0);
    }
    ldr_buf_append_byte(b, ']');
    decision_w_time(b, ",\"effective_at\":", true, d->effective_at);
    decision_w_time(b, ",\"valid_from\":", d->has_valid_from, d->valid_from);
    decision_w_time(b, ",\"valid_until\":", d->has_valid_until, d->valid_until);
    decision_w_time(b, ",\"review_deadline\":", d->has_review_deadline,
                    d->review_deadline);
    decision_w_time(b, ",\"ban_until\":", d->has_ban_until, d->ban_until);
    if (d->has_case_id) {
        decision_w_s(b, ",\"case_id\":", d->case_id);
    } else {
        decision_w_key(b, ",\"case_id\":null");
    }
    decision_w_int(b, ",\"batch\":", d->has_batch, d->batch);
    decision_w_int(b, ",\"score\":", d->has_score, d->score);
    decision_w_s(b, ",\"policy_version\":", d->policy_version);
    if (d->has_cause_event_id) {
        decision_w_s(b, ",\"cause_event_id\":", d->cause_event_id);
    } else {
        decision_w_key(b, ",\"cause_event_id\":null");
    }
    decision_w_s(b, ",\"cause\":", d->cause);
    decision_w_time(b, ",\"decided_at\":", true, d->decided_at);
    ldr_buf_append_byte(b, '}');
}

/* ---- the notices stream's compact form ---------------------------------- */

enum {
    NOTICE_VALID_FROM = 1,
    NOTICE_VALID_UNTIL = 2,
    NOTICE_REVIEW_DEADLINE = 4,
    NOTICE_BAN_UNTIL = 8,
    NOTICE_CASE_ID = 16,
    NOTICE_BATCH = 32,
    NOTICE_SCORE = 64,
    NOTICE_CAUSE_EVENT_ID = 128,
};

static void notice_put_str(ldr_buf_t *b, ldr_str_t s) {
    ldr_buf_append_varint(b, s.ptr ? s.len : 0);
    if (s.ptr && s.len) ldr_buf_append(b, s.ptr, s.len);
}

void ldr_decision_write_notice(const ldr_decision_t *d, ldr_buf_t *b) {
    ldr_buf_append_byte(b, LDR_DECISION_NOTICE_FORMAT);
    notice_put_str(b, d->decision_id);
    notice_put_str(b, d->uscc);
    notice_put_str(b, d->enterprise_name);
    notice_put_str(b, d->reporting_unit);
    ldr_buf_append_byte(b, d->has_tier ? (uint8_t)d->tier : 255);
    ldr_buf_append_byte(b, (uint8_t)d->decision);
    ldr_buf_append_varint(b, d->reasons_count);
    for (size_t i = 0; i < d->reasons_count; i++)
        notice_put_str(b, d->reasons[i]);
    ldr_buf_append_svarint(b, d->effective_at);
    uint8_t flags =
        (uint8_t)((d->has_valid_from ? NOTICE_VALID_FROM : 0) |
                  (d->has_valid_until ? NOTICE_VALID_UNTIL : 0) |
                  (d->has_review_deadline ? NOTICE_REVIEW_DEADLINE : 0) |
                  (d->has_ban_until ? NOTICE_BAN_UNTIL : 0) |
                  (d->has_case_id ? NOTICE_CASE_ID : 0) |
                  (d->has_batch ? NOTICE_BATCH : 0) |
                  (d->has_score ? NOTICE_SCORE : 0) |
                  (d->has_cause_event_id ? NOTICE_CAUSE_EVENT_ID : 0));
    ldr_buf_append_byte(b, flags);
    if (d->has_valid_from) ldr_buf_append_svarint(b, d->valid_from);
    if (d->has_valid_until) ldr_buf_append_svarint(b, d->valid_until);
    if (d->has_review_deadline) ldr_buf_append_svarint(b, d->review_deadline);
    if (d->has_ban_until) ldr_buf_append_svarint(b, d->ban_until);
    if (d->has_case_id) notice_put_str(b, d->case_id);
    if (d->has_batch) ldr_buf_append_svarint(b, d->batch);
    if (d->has_score) ldr_buf_append_svarint(b, d->score);
    if (d->has_cause_event_id) notice_put_str(b, d->cause_event_id);
    notice_put_str(b, d->policy_version);
    notice_put_str(b, d->cause);
    ldr_buf_append_svarint(b, d->decided_at);
}

bool ldr_decision_is_notice(const void *data, size_t len) {
    return len > 0 && *(const uint8_t *)data == LDR_DECISION_NOTICE_FORMAT;
}

typedef struct notice_rd {
    const uint8_t *p, *end;
    bool bad;
} notice_rd_t;

static uint64_t notice_get_varint(notice_rd_t *r) {
    uint64_t v = 0;
    if (!r->bad && ldr_buf_read_varint(&r->p, r->end, &v)) r->bad = true;
    return r->bad ? 0 : v;
}

static int64_t notice_get_int(notice_rd_t *r) {
    int64_t v = 0;
    if (!r->bad && ldr_buf_read_svarint(&r->p, r->end, &v)) r->bad = true;
    return r->bad ? 0 : v;
}

static int32_t notice_get_i32(notice_rd_t *r) {
    int64_t v = notice_get_int(r);
    if (v < INT32_MIN || v > INT32_MAX) r->bad = true;
    return r->bad ? 0 : (int32_t)v;
}

static uint8_t notice_get_byte(notice_rd_t *r) {
    if (r->bad || r->p == r->end) {
        r->bad = true;
        return 0;
    }
    return *r->p++;
}

static ldr_str_t notice_get_str(notice_rd_t *r) {
    uint64_t n = notice_get_varint(r);
    ldr_str_t s = {"", 0};
    if (r->bad || n > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        return s;
    }
    s.ptr = (const char *)r->p;
    s.len = (size_t)n;
    r->p += n;
    return s;
}

ldr_err_t ldr_decision_read_notice(const void *data, size_t len,
                                   ldr_decision_t *d) {
    memset(d, 0, sizeof(*d));
    notice_rd_t r = {(const uint8_t *)data, (const uint8_t *)data + len, false};
    if (notice_get_byte(&r) != LDR_DECISION_NOTICE_FORMAT)
        return LDR_ERR_DECODE_FAILED;
    d->decision_id = notice_get_str(&r);
    d->uscc = notice_get_str(&r);
    d->enterprise_name = notice_get_str(&r);
    d->reporting_unit = notice_get_str(&r);
    uint8_t tier = notice_get_byte(&r);
    d->has_tier = tier != 255;
    if (d->has_tier && tier >= LDR_TIER__COUNT) r.bad = true;
    d->tier = d->has_tier ? (ldr_tier_t)tier : LDR_TIER_INNOVATIVE;
    uint8_t type = notice_get_byte(&r);
    if (type >= LDR_DECISION__COUNT) r.bad = true;
    d->decision = (ldr_decision_type_t)type;
    uint64_t reasons = notice_get_varint(&r);
    if (reasons > LDR_DECISION_REASONS_MAX) r.bad = true;
    for (uint64_t i = 0; i < reasons && !r.bad; i++)
        d->reasons[i] = notice_get_str(&r);
    d->reasons_count = r.bad ? 0 : (size_t)reasons;
    d->effective_at = notice_get_int(&r);
    uint8_t flags = notice_get_byte(&r);
    if ((d->has_valid_from = flags & NOTICE_VALID_FROM))
        d->valid_from = notice_get_int(&r);
    if ((d->has_valid_until = flags & NOTICE_VALID_UNTIL))
        d->valid_until = notice_get_int(&r);
    if ((d->has_review_deadline = flags & NOTICE_REVIEW_DEADLINE))
        d->review_deadline = notice_get_int(&r);
    if ((d->has_ban_until = flags & NOTICE_BAN_UNTIL))
        d->ban_until = notice_get_int(&r);
    if ((d->has_case_id = flags & NOTICE_CASE_ID))
        d->case_id = notice_get_str(&r);
    if ((d->has_batch = flags & NOTICE_BATCH)) d->batch = notice_get_i32(&r);
    if ((d->has_score = flags & NOTICE_SCORE)) d->score = notice_get_i32(&r);
    if ((d->has_cause_event_id = flags & NOTICE_CAUSE_EVENT_ID))
        d->cause_event_id = notice_get_str(&r);
    d->policy_version = notice_get_str(&r);
    d->cause = notice_get_str(&r);
    d->decided_at = notice_get_int(&r);
    if (r.bad || r.p != r.end) {
        memset(d, 0, sizeof(*d));
        return LDR_ERR_DECODE_FAILED;
    }
    return LDR_OK;
}
