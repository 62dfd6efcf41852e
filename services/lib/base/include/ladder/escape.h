/* escape.h -- untrusted bytes quoted safely in a message.
 *
 * DESIGN: messages about bad input (dead-letter headers, feed rejects, log
 * lines, JSON answers) quote the offending value so that a person can find
 * it, but the value may hold any bytes. One helper turns it into printable
 * ASCII, cut to a bound, so no message carries a control character, a quote
 * or an unbounded value, whoever writes it. */
#ifndef LADDER_ESCAPE_H
#define LADDER_ESCAPE_H

#include <stddef.h>

/** The buffer size ldr_escape_show() needs for at most @p max bytes. */
#define LDR_ESCAPE_SHOW_BUF(max) ((max)*4 + 4)

/** Writes the @p len bytes at @p s into @p buf (LDR_ESCAPE_SHOW_BUF(@p max)
 *  bytes) as printable ASCII: bytes outside 0x20..0x7E, '"' and '\' become
 *  \xNN; a value longer than @p max bytes is cut and ends in "...".
 *  Returns @p buf, NUL-terminated. */
const char *ldr_escape_show(const char *s, size_t len, size_t max, char *buf);

#endif
