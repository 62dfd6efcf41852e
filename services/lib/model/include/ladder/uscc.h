/* uscc.h -- unified social credit codes (GB 32100-2015).
 *
 * DESIGN: a USCC is the key of every keyed message, so the check runs once per
 * message on the worker's hot path: it is a table lookup per character and
 * one modulo, with no allocation and no locale. The contract's rule is
 * exactly "18 characters of the alphabet and the right check character"
 * (CONTRACT.md "Dead letters"); the structure of the first 17 characters
 * (registration authority, organisation type, administrative division,
 * organisation code) is not checked, because real registries hold codes whose
 * inner parts do not follow the later rules and the contract does not ask for
 * it. Lower case is invalid: the standard's alphabet is upper case and the
 * key bytes must be canonical for partitioning. */
#ifndef LADDER_USCC_H
#define LADDER_USCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ladder/err.h"
#include "ladder/record.h"

/** Length of a USCC in bytes (all characters are ASCII). */
#define LDR_USCC_LEN 18

/** The 31 characters a USCC may contain; a character's value is its index. */
#define LDR_USCC_ALPHABET "0123456789ABCDEFGHJKLMNPQRTUWXY"

/** Computes the check character of the 17 characters at @p s17 (which need
 *  not be NUL-terminated) into *@p out.
 *  @returns LDR_OK; LDR_ERR_INVALID_USCC when one of the 17 characters is not
 *  in the alphabet (*out untouched); LDR_ERR_INVALID_ARG for NULL pointers. */
ldr_err_t ldr_uscc_check_char(const char *s17, char *out);

/** True when the @p len bytes at @p s are a valid USCC: exactly 18 characters
 *  of the alphabet whose 18th is the check character of the first 17. Any
 *  other byte (lower case, I O Z S V, NUL, non-ASCII) makes it invalid.
 *  @p s may be NULL when @p len is 0. */
bool ldr_uscc_is_valid(const char *s, size_t len);

/** Fills in the check character of the 17-character prefix in @p s (which
 *  must hold at least 17 characters; for generators and tests): writes
 *  s[17] = check character and s[18] = NUL.
 *  @returns LDR_OK, or LDR_ERR_INVALID_USCC when the prefix has a character
 *  outside the alphabet (s untouched). */
ldr_err_t ldr_uscc_complete(char s[static 19]);

/** The administrative division of a USCC: a view of its characters 3 to 8
 *  (6 bytes from offset 2). @p uscc must hold at least 8 characters. The view
 *  points into @p uscc. */
ldr_str_t ldr_uscc_region(const char *uscc);

/** The administrative division of a USCC as a number (0..999999), or -1 when
 *  characters 3 to 8 are not all decimal digits. @p uscc must hold at least 8
 *  characters. */
int32_t ldr_uscc_region_code(const char *uscc);

#endif
