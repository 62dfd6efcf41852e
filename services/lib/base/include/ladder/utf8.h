/* utf8.h -- well-formed UTF-8, as Unicode table 3-7 defines it.
 *
 * DESIGN: one validator for every edge that takes text (the units file, the
 * feeds, the Avro strings of every record), so that what counts as UTF-8
 * cannot differ between them. It knows nothing of ladder's records. */
#ifndef LADDER_UTF8_H
#define LADDER_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/** True when the @p len bytes at @p s are well-formed UTF-8 (Unicode,
 *  table 3-7): no overlong forms, no surrogates (U+D800..U+DFFF), nothing
 *  above U+10FFFF, no truncated sequence, no stray continuation byte. U+0000
 *  is well-formed; callers that refuse NUL bytes check for them themselves.
 *  @p s may be NULL when @p len is 0. */
bool ldr_utf8_valid(const char *s, size_t len);

/** The length of the longest well-formed prefix of the @p len bytes at
 *  @p s: the offset of the first byte of the first ill-formed sequence, or
 *  @p len when all are well-formed (for messages such as "invalid UTF-8 at
 *  offset 7"). */
size_t ldr_utf8_valid_prefix(const char *s, size_t len);

#endif
