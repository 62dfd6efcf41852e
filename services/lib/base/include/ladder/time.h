/* time.h -- event-time arithmetic: RFC 3339 and epoch milliseconds, calendar
 * years and days, all in UTC.
 *
 * DESIGN: ladder's clock is the event time carried by the messages, never the
 * wall clock, so everything here is a pure function of its arguments. Instants
 * are int64 milliseconds since 1970-01-01T00:00:00Z (the Avro
 * timestamp-millis of CONTRACT.md). Calendar conversion uses the
 * days-from-civil algorithm on the proleptic Gregorian calendar instead of
 * timegm()/gmtime_r(): those depend on the C library, on time_t's width and
 * (for their local-time siblings) on TZ, and none of that may change a
 * decision. Results that would not fit in an int64 saturate at
 * INT64_MIN/INT64_MAX instead of overflowing. */
#ifndef LADDER_TIME_H
#define LADDER_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "ladder/err.h"

#define LDR_TIME_MS_PER_DAY INT64_C(86400000)

/** Bytes ldr_time_format() needs at most, the NUL included. */
#define LDR_TIME_FORMAT_SIZE 40

/** Days since 1970-01-01 of the proleptic Gregorian date @p y-@p m-@p d.
 *  @p m is 1..12 and @p d 1..31; no other check is made. */
int64_t ldr_time_days_from_civil(int64_t y, int m, int d);

/** The date of day number @p days since 1970-01-01. */
void ldr_time_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/** Non-zero when @p y is a Gregorian leap year. */
int ldr_time_is_leap_year(int64_t y);

/** Parses an RFC 3339 date-time ("2022-06-01T00:00:00Z",
 *  "2022-06-01T08:00:00.250+08:00"): 'T' or 't' between date and time, 'Z',
 *  'z' or a numeric offset up to 23:59, optional fractional seconds of any
 *  length (digits beyond milliseconds are dropped, i.e. rounded down). A
 *  leap second (:60) is refused: the instants are POSIX milliseconds, which
 *  have none. On success stores the instant in *@p ms_out; on error leaves
 *  it untouched, returns LDR_ERR_INVALID_ARG and says why in @p errstr. */
ldr_err_t ldr_time_parse_rfc3339(const char *s, size_t len, int64_t *ms_out,
                                 char *errstr, size_t errstr_size);

/** Parses milliseconds since the epoch: an optional '-' and 1 to 19 decimal
 *  digits that fit in an int64. Same conventions as above. */
ldr_err_t ldr_time_parse_epoch_ms(const char *s, size_t len, int64_t *ms_out,
                                  char *errstr, size_t errstr_size);

/** Either form: epoch milliseconds when @p s is only an optional '-' and
 *  digits, otherwise RFC 3339. */
ldr_err_t ldr_time_parse(const char *s, size_t len, int64_t *ms_out,
                         char *errstr, size_t errstr_size);

/** Writes @p ms as RFC 3339 UTC with milliseconds
 *  ("2022-06-01T00:00:00.000Z", CONTRACT.md's JSON form) into @p buf
 *  (always NUL-terminated when @p size > 0) and returns the length of the
 *  full text, as snprintf() does. Years outside 0000..9999, which RFC 3339
 *  cannot express, are written in ISO 8601's expanded form ("+010000-…"). */
size_t ldr_time_format(int64_t ms, char *buf, size_t size);

/** The same month, day and time of day @p years later (earlier when
 *  negative), UTC; 29 February becomes 28 February in a year that has no
 *  29 February (POLICY.md "Lifecycle parameters"). */
int64_t ldr_time_add_years(int64_t ms, int years);

/** @p ms plus @p days whole days of 86,400,000 ms (UTC has no DST). */
int64_t ldr_time_add_days(int64_t ms, int days);

#endif
