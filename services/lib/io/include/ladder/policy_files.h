/* policy_files.h -- the policy directory, read from disk.
 *
 * DESIGN: the rules engine (model/policy.h) parses policy text from memory
 * and never opens a file, so it stays a pure function of its input; these
 * readers are the edge that turns a directory into that text. Files are
 * read whole, at most LDR_POLICY_FILE_MAX bytes each. */
#ifndef LADDER_POLICY_FILES_H
#define LADDER_POLICY_FILES_H

#include <stddef.h>

#include "ladder/err.h"
#include "ladder/policy.h"

/** The largest policy file read (bytes). */
#define LDR_POLICY_FILE_MAX (4 << 20)

/** Reads and parses one policy file on its own (ldr_policy_parse()). */
ldr_err_t ldr_policy_load_file(const char *path, ldr_policy_t **policyp,
                               char *errstr, size_t errstr_size);

/** Loads the files @p paths as one set (ldr_policies_new()). */
ldr_policies_t *ldr_policies_load_files(const char *const *paths, size_t n,
                                        char *errstr, size_t errstr_size);

/** Loads every `*.json` file of @p dir, in name order, as one set; NULL on
 *  error with a message naming the file and the JSON path of the first
 *  problem, e.g. "deploy/policy/miit-2022.json: $.tiers.INNOVATIVE.score
 *  .groups[1].indicators[0].bands[2]: bands overlap at 10". The caller owns
 *  the result: ldr_policies_destroy(). */
ldr_policies_t *ldr_policies_load_dir(const char *dir, char *errstr,
                                      size_t errstr_size);

/** Loads the `*.json` files of @p dir as ldr_policies_load_dir() does,
 *  after applying the @p nsets assignments @p sets (`VERSION.PATH=VALUE`,
 *  ladder/policy_edit.h) in order to their JSON: what the set would be had
 *  the files said so. NULL on error: an assignment that names nothing is
 *  LDR_ERR_INVALID_ARG's message alone (without a file name); a result the
 *  loader refuses is its message, naming the file and the JSON path. The
 *  files are not changed. The caller owns the result. */
ldr_policies_t *ldr_policies_load_dir_edited(const char *dir,
                                             const char *const *sets,
                                             size_t nsets, char *errstr,
                                             size_t errstr_size);

#endif
