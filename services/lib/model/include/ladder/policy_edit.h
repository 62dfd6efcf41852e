/* policy_edit.h -- one field of a policy set changed by a path, before the
 * set is loaded (ladder-whatif --set).
 *
 * DESIGN: a what-if asks "what if this one number were different", and
 * copying a policy directory to change one threshold invites mistakes in
 * everything else. So a change is addressed by the names the files already
 * use: `VERSION.PATH=VALUE`, where VERSION is a policy version of the set
 * and PATH walks the file's JSON, object keys by name and array elements
 * by their `code` (criteria) or `name` (score groups, indicators, direct
 * paths), or by their index. Codes hold dots (`LG.YEARS_IN_NICHE`), so an
 * array element is matched by the shortest run of path segments that
 * names it. The edit works on the parsed JSON before the loader sees it,
 * so an edited set passes exactly the checks of a file on disk: the
 * editor only finds the place, the loader judges the result.
 *
 * `same_as` is a reference (docs/POLICY-FILES.md): changing a tier of
 * miit-2026 that is `same_as` miit-2022 first gives miit-2026 its own copy
 * of those rules, so the change stays in the version named and miit-2022
 * is untouched. (A change to miit-2022 itself still reaches every version
 * that refers to it, as it would in the files.)
 *
 * Pure: no I/O, no globals. */
#ifndef LADDER_POLICY_EDIT_H
#define LADDER_POLICY_EDIT_H

#include <stddef.h>

#include <jansson.h>

#include "ladder/err.h"

/** Applies one assignment `VERSION.PATH=VALUE` to the policy documents
 *  @p docs (the parsed files of one set; each names its version in its
 *  "version" key; borrowed and changed in place). VALUE is read as JSON
 *  when it is JSON (a number, true, false, null, a quoted string, an array
 *  or an object) and as a string otherwise, so `ge=5` sets a number and
 *  `application=2022-01-01T00:00:00Z` a string. The last key of PATH may
 *  be new to its object (the loader refuses keys it does not know); every
 *  other step must exist. @returns LDR_OK, or LDR_ERR_INVALID_ARG with a
 *  message in @p errstr naming the step that does not exist and what is
 *  there instead, e.g. "no criterion, group, indicator or path 'LG.X' in
 *  miit-2022.tiers.LITTLE_GIANT.criteria (has LG.YEARS_IN_NICHE, ...)". On
 *  error nothing is changed. */
ldr_err_t ldr_policy_edit(json_t *const *docs, size_t n, const char *assignment,
                          char *errstr, size_t errstr_size);

#endif
