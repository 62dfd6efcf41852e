/* time.c -- RFC 3339, epoch milliseconds and calendar arithmetic in UTC.
 *
 * DESIGN: see time.h. The two calendar conversions are Howard Hinnant's
 * days_from_civil/civil_from_days, which are exact for every int64 day
 * number we can meet (eras of 400 years, floor division done by hand), so
 * no libc time function and no time_t is involved anywhere. Parsing is a
 * hand-written scanner over (pointer, length): inputs come from JSON strings
 * and command lines that are not NUL-terminated views, and a scanner states
 * precisely what it accepts, where sscanf() would skip blanks and accept
 * signs silently. */
#include "ladder/time.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Floor division and modulo for a positive divisor: C's '/' truncates
 * toward zero, which would put 1969-12-31T23:59:59.999Z on day 0. */
static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && (a < 0)) q--;
    return q;
}

/* The matching remainder, 0..b-1, computed without multiplying back
 * (floor_div(INT64_MIN, day) * day does not fit in an int64). */
static int64_t floor_mod(int64_t a, int64_t b) {
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

int ldr_time_is_leap_year(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m) {
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    if (m == 2 && ldr_time_is_leap_year(y)) return 29;
    return days[m - 1];
}

int64_t ldr_time_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;                                   /* 0..399 */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* 0..146096 */
    return era * 146097 + doe - 719468;
}

void ldr_time_civil_from_days(int64_t days, int64_t *y, int *m, int *d) {
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* days * LDR_TIME_MS_PER_DAY + rem, saturating: callers may add years to
 * any int64, and a wrapped instant would be a silent wrong answer. */
static int64_t compose(int64_t days, int64_t rem) {
    int64_t ms;
    if (__builtin_mul_overflow(days, LDR_TIME_MS_PER_DAY, &ms) ||
        __builtin_add_overflow(ms, rem, &ms))
        return days < 0 ? INT64_MIN : INT64_MAX;
    return ms;
}

int64_t ldr_time_add_years(int64_t ms, int years) {
    int64_t days = floor_div(ms, LDR_TIME_MS_PER_DAY);
    int64_t rem = floor_mod(ms, LDR_TIME_MS_PER_DAY);
    int64_t y;
    int m, d;
    ldr_time_civil_from_days(days, &y, &m, &d);
    y += years;
    if (m == 2 && d == 29 && !ldr_time_is_leap_year(y)) d = 28;
    return compose(ldr_time_days_from_civil(y, m, d), rem);
}

int64_t ldr_time_add_days(int64_t ms, int days) {
    int64_t delta = (int64_t)days * LDR_TIME_MS_PER_DAY, out;
    if (__builtin_add_overflow(ms, delta, &out))
        return days < 0 ? INT64_MIN : INT64_MAX;
    return out;
}

/* ---- parsing ---------------------------------------------------------- */

struct scan {
    const char *s;
    size_t len, pos;
};

static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* Exactly @p n digits at the cursor. */
static bool scan_digits(struct scan *sc, int n, int *out) {
    int v = 0;
    if (sc->len - sc->pos < (size_t)n) return false;
    for (int i = 0; i < n; i++) {
        char c = sc->s[sc->pos + (size_t)i];
        if (!is_digit(c)) return false;
        v = v * 10 + (c - '0');
    }
    sc->pos += (size_t)n;
    *out = v;
    return true;
}

static bool scan_char(struct scan *sc, char a, char b) {
    if (sc->pos < sc->len && (sc->s[sc->pos] == a || sc->s[sc->pos] == b)) {
        sc->pos++;
        return true;
    }
    return false;
}

ldr_err_t ldr_time_parse_rfc3339(const char *s, size_t len, int64_t *ms_out,
                                 char *errstr, size_t errstr_size) {
    struct scan sc = {s, len, 0};
    int year, mon, day, hour, min, sec, frac_ms = 0, off_min = 0;
    if (!s)
        return ldr_err_set(errstr, errstr_size, LDR_ERR_INVALID_ARG,
                           "no time given");
    if (!scan_digits(&sc, 4, &year) || !scan_char(&sc, '-', '-') ||
        !scan_digits(&sc, 2, &mon) || !scan_char(&sc, '-', '-') ||
        !scan_digits(&sc, 2, &day))
        return ldr_err_set(
            errstr, errstr_size, LDR_ERR_INVALID_ARG,
            "'%.*s' is not an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SSZ)",
            (int)(len > 64 ? 64 : len), s);
    if (!scan_char(&sc, 'T', 't'))
        return ldr_err_set(errstr, errstr_size, LDR_ERR_INVALID_ARG,
                           "'%.*s' has no 'T' and time of day after the date",
                           (int)(len > 64 ? 64 : len), s);
    if (!scan_digits(&sc, 2, &hour) || !scan_char(&sc, ':', ':') ||
        !scan_digits(&sc, 2, &min) || !scan_char(&sc, ':', ':') ||
        !scan_digits(&sc, 2, &sec))
        return ldr_err_set(errstr, errstr_size, LDR_ERR_INVALID_ARG,
                           "'%.*s' has no time of day HH:MM:SS",
                           (int)(len > 64 ? 64 : len), s);
    if (scan_char(&sc, '.', '.')) {
        int digits = 0;
        while (sc.pos < sc.len && is_digit(sc.s[sc.pos])) {
            if (digits < 3) frac_ms = frac_ms * 10 + (sc.s[sc.pos] - '0');
            digits++;
            sc.pos++;
        }
        if (digits == 0)
            return ldr_err_set(errstr, errstr_size, LDR_ERR_INVALID_ARG,
                               "'%.*s': no digits after the decimal point",
                               (int)(len > 64 ? 64 : len), s);
        for (int i = digits; i < 3; i++)
            frac_ms *= 10;
    }
    if (scan_char(&sc, 'Z', 'z')) {
        off_min = 0;
    } else if (sc.pos < sc.len &&
               (sc.s[sc.pos] == '+' || sc.s[sc.pos] == '-')) {
        int sign = sc.s[sc.pos] == '-' ? -1 : 1, oh, om;
        sc.pos++;
        if (!scan_digits(&sc, 2, &oh) || !scan_char(&sc, ':', ':') ||
            !scan_digits(&sc, 2, &om) || oh > 23 || om > 59)
            return ldr_err_set(errstr, errstr_size, LDR_ERR_INVALID_ARG,
                               "'%.*s': the offset must be Z or +HH:MM/-HH:MM",
                               (int)(len > 64 ? 64 : len), s);
        off_min = sign * (oh * 60 + om);
    } else {
        return ldr_err_set(errstr, errstr_size, LDR_ERR_INVALID_ARG,
                           "'%.*s' has no offset: add Z for UTC or +HH:MM",
                           (int)(len > 64 ? 64 : len), s);
    }
    if (sc.pos != sc.len)
        return ldr_err_set(errstr, errstr_size, LDR_ERR_INVALID_ARG,
                           "'%.*s': unexpected text after the offset",
                           (int)(len > 64 ? 64 : len), s);
    if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) ||
        hour > 23 || min > 59 || sec > 59)
        return ldr_err_set(errstr, errstr_size, LDR_ERR_INVALID_ARG,
                           "'%.*s': date or time of day out of range%s",
                           (int)(len > 64 ? 64 : len), s,
                           sec == 60 ? " (leap seconds are not accepted)" : "");
    int64_t days = ldr_time_days_from_civil(year, mon, day);
    int64_t ms = days * LDR_TIME_MS_PER_DAY +
                 ((int64_t)hour * 3600 + min * 60 + sec) * 1000 + frac_ms -
                 (int64_t)off_min * 60000;
    *ms_out = ms;
    return LDR_OK;
}

ldr_err_t ldr_time_parse_epoch_ms(const char *s, size_t len, int64_t *ms_out,
                                  char *errstr, size_t errstr_size) {
    size_t i = 0;
    bool neg = false;
    uint64_t mag = 0;
    if (!s)
        return ldr_err_set(errstr, errstr_size, LDR_ERR_INVALID_ARG,
                           "no time given");
    if (i < len && s[i] == '-') {
        neg = true;
        i++;
    }
    if (i == len || len - i > 19) goto bad;
    for (; i < len; i++) {
        if (!is_digit(s[i])) goto bad;
        mag = mag * 10 + (uint64_t)(s[i] - '0'); /* 19 digits fit in uint64 */
    }
    if (neg ? mag > (uint64_t)INT64_MAX + 1 : mag > (uint64_t)INT64_MAX)
        goto bad;
    *ms_out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return LDR_OK;
bad:
    return ldr_err_set(errstr, errstr_size, LDR_ERR_INVALID_ARG,
                       "'%.*s' is not a number of milliseconds since the epoch",
                       (int)(len > 64 ? 64 : len), s);
}

ldr_err_t ldr_time_parse(const char *s, size_t len, int64_t *ms_out,
                         char *errstr, size_t errstr_size) {
    bool numeric = s && len > 0;
    for (size_t i = 0; numeric && i < len; i++)
        if (!is_digit(s[i]) && !(i == 0 && s[i] == '-')) numeric = false;
    if (numeric)
        return ldr_time_parse_epoch_ms(s, len, ms_out, errstr, errstr_size);
    return ldr_time_parse_rfc3339(s, len, ms_out, errstr, errstr_size);
}

/* ---- formatting ------------------------------------------------------- */

size_t ldr_time_format(int64_t ms, char *buf, size_t size) {
    int64_t days = floor_div(ms, LDR_TIME_MS_PER_DAY);
    int64_t rem = floor_mod(ms, LDR_TIME_MS_PER_DAY); /* 0..86399999 */
    int64_t y;
    int m, d;
    int n;
    if (!buf) size = 0; /* snprintf(NULL, 0, ...) only measures */
    ldr_time_civil_from_days(days, &y, &m, &d);
    int hh = (int)(rem / 3600000), mm = (int)(rem / 60000 % 60),
        ss = (int)(rem / 1000 % 60), mss = (int)(rem % 1000);
    if (y >= 0 && y <= 9999) {
        /* The common case by hand, two digits at a time from a table:
         * snprintf cost 3,500 instructions a timestamp, a digit loop 530,
         * and every decision the worker produces carries one (its
         * CloudEvents time). Truncated and measured as snprintf would. */
        static const char d2[] = "00010203040506070809"
                                 "10111213141516171819"
                                 "20212223242526272829"
                                 "30313233343536373839"
                                 "40414243444546474849"
                                 "50515253545556575859"
                                 "60616263646566676869"
                                 "70717273747576777879"
                                 "80818283848586878889"
                                 "90919293949596979899";
        char tmp[25];
#define LDR_TIME_PUT2(at, v) memcpy(tmp + (at), d2 + 2 * (v), 2)
        LDR_TIME_PUT2(0, (int)y / 100);
        LDR_TIME_PUT2(2, (int)y % 100);
        tmp[4] = '-';
        LDR_TIME_PUT2(5, m);
        tmp[7] = '-';
        LDR_TIME_PUT2(8, d);
        tmp[10] = 'T';
        LDR_TIME_PUT2(11, hh);
        tmp[13] = ':';
        LDR_TIME_PUT2(14, mm);
        tmp[16] = ':';
        LDR_TIME_PUT2(17, ss);
        tmp[19] = '.';
        tmp[20] = (char)('0' + mss / 100);
        LDR_TIME_PUT2(21, mss % 100);
        tmp[23] = 'Z';
#undef LDR_TIME_PUT2
        if (size) {
            size_t c = size - 1 < 24 ? size - 1 : 24;
            memcpy(buf, tmp, c);
            buf[c] = '\0';
        }
        return 24;
    }
    n = snprintf(buf, size, "%c%06lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 y < 0 ? '-' : '+', (long long)(y < 0 ? -y : y), m, d, hh, mm,
                 ss, mss);
    return n < 0 ? 0 : (size_t)n;
}
