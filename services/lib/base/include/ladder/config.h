/* config.h -- configuration of every ladder program (CONTRACT.md
 * "Configuration").
 *
 * DESIGN: ladder's own keys are one static table in config.c (name, type,
 * bounds, default, per-program defaults, description); parsing, validation,
 * the environment mapping, docs/CONFIG.md and deploy/config/ladder.conf.sample
 * all come from it, so a key cannot be documented one way and parsed another.
 * Keys under "kafka." are not in the table: they are stored unchecked and
 * handed to librdkafka, which knows its own properties better than a copy of
 * them would (ldr_config_each_kafka(), ldr_kafka_conf_new()).
 *
 * Values come from four sources, weakest first: the table's defaults, a
 * `key = value` file, LADDER_* environment variables, and ldr_config_set()
 * (command-line flags). Every stored value remembers its source, and a weaker
 * source never replaces a stronger one, so the result does not depend on the
 * order in which a program loads them. Every value is validated when it is
 * loaded, even one that a stronger source overrides, and a load that fails
 * changes nothing; the error is one line in the caller's errstr naming the
 * place (file and line, or variable) and the key, ready to print before
 * exiting. A caller that asks for a key that is not in the table has a bug,
 * not a configuration problem: that aborts with a message. The getters only
 * read, so once loading is done the threads of a program may share one
 * configuration; loading and setting need the caller's exclusion.
 *
 * Typical start-up:
 *
 *     ldr_config_t *cfg = ldr_config_new("ladder-worker");
 *     if (ldr_config_load_file(cfg, path, errstr, sizeof(errstr)) ||
 *         ldr_config_load_env(cfg, environ, errstr, sizeof(errstr)))
 *         -> print errstr, exit non-zero
 *     const char *topic = ldr_config_get(cfg, "input.topic");
 */
#ifndef LADDER_CONFIG_H
#define LADDER_CONFIG_H

#include <stdio.h>

#include "ladder/err.h"

typedef struct ldr_config ldr_config_t;

/** Creates a configuration holding the defaults for @p program, one of
 *  "ladder-worker", "ladder-api", "ladder-notify", "ladder-feed",
 *  "ladder-gen", "ladder-policy", "ladder-bench" (another name aborts: the
 *  per-program defaults would silently not apply). The caller frees it with
 *  ldr_config_destroy(). */
ldr_config_t *ldr_config_new(const char *program);

/** Frees @p cfg and every string it returned (NULL is accepted). */
void ldr_config_destroy(ldr_config_t *cfg);

/** The program name given to ldr_config_new() (static storage). */
const char *ldr_config_program(const ldr_config_t *cfg);

/** Reads a `key = value` file: one pair per line, whitespace around key and
 *  value ignored, lines that are blank or start with '#' skipped. The value
 *  is the rest of the line taken literally ('#' inside it is kept, quotes are
 *  not removed). A missing or unreadable file, a line without '=', an unknown
 *  key, a malformed value or a key given twice is LDR_ERR_CONFIG with one
 *  line in @p errstr, such as
 *  `ladder.conf:7: clock.max.skew.days: "abc" is not a whole number
 *  (expected 1..36500)`; @p cfg is then unchanged. */
ldr_err_t ldr_config_load_file(ldr_config_t *cfg, const char *path,
                               char *errstr, size_t errstr_size);

/** Applies the LADDER_* variables of @p envp (NULL-terminated "NAME=value"
 *  strings; pass environ). LADDER_ + the key upper-cased with '.' -> '_' sets
 *  a table key; LADDER_KAFKA_X_Y sets kafka.x.y (lower-cased, every '_' a
 *  '.'). Any other LADDER_ variable is LDR_ERR_CONFIG ("unknown variable");
 *  variables not starting with "LADDER_" (LADDERTEST_*, for one) are ignored.
 *  Errors read `environment: LADDER_X: ...`; on error @p cfg is unchanged. */
ldr_err_t ldr_config_load_env(ldr_config_t *cfg, char *const *envp,
                              char *errstr, size_t errstr_size);

/** Sets @p key from the command line, the strongest source. @p origin names
 *  the source in ldr_config_origin() and in errors (NULL: "command line").
 *  Validation and errors as for a file line. */
ldr_err_t ldr_config_set(ldr_config_t *cfg, const char *key, const char *value,
                         const char *origin, char *errstr, size_t errstr_size);

/** The value of @p key (a table key or a kafka.* key), or NULL when it is
 *  unset and has no default for this program. The string belongs to @p cfg
 *  and stays valid until @p key is set again or @p cfg is destroyed. */
const char *ldr_config_get(const ldr_config_t *cfg, const char *key);

/** The value of an integer key (integer keys always have a value). */
long long ldr_config_get_int(const ldr_config_t *cfg, const char *key);

/** The value of a boolean key as 0 or 1 (boolean keys always have a value). */
int ldr_config_get_bool(const ldr_config_t *cfg, const char *key);

/** Where the value of @p key came from: "default", "ladder.conf:7",
 *  "environment LADDER_REDIS_URL", or the origin given to ldr_config_set()
 *  ("command line"). Owned by @p cfg, valid as ldr_config_get()'s result. */
const char *ldr_config_origin(const ldr_config_t *cfg, const char *key);

/** What ldr_config_each_kafka() calls for each kafka.* value: @p prop is
 *  the librdkafka property (the key without "kafka."). Returns LDR_OK, or
 *  an error with the library's reason in @p why. */
typedef ldr_err_t ldr_config_kafka_fn(void *opaque, const char *prop,
                                      const char *value, char *why,
                                      size_t why_size);

/** Calls @p fn for every kafka.* value, in the order they were first set,
 *  and stops at the first that @p fn refuses: LDR_ERR_CONFIG with one line
 *  naming the key, where it came from and @p fn's reason (io/kafka.c hands
 *  them to librdkafka: ldr_kafka_conf_new()). group.id is not among them:
 *  the consumer code sets it from the group.id key. */
ldr_err_t ldr_config_each_kafka(const ldr_config_t *cfg,
                                ldr_config_kafka_fn *fn, void *opaque,
                                char *errstr, size_t errstr_size);

/** Non-zero when @p key matches table name @p pattern: the same dot-separated
 *  segments, where a "*" segment stands for any one non-empty segment
 *  ("notify.subscriber.*.url" matches "notify.subscriber.a.url"). */
int ldr_config_key_match(const char *pattern, const char *key);

/** Calls @p cb (when not NULL) for every key set from any source that
 *  matches @p pattern (as ldr_config_key_match()), in the order they were
 *  first set, and returns how many there were. Defaults are not visited:
 *  this is how a program finds the names a "*" key was given
 *  ("notify.subscriber.*.url" -> each subscriber). */
size_t ldr_config_each(const ldr_config_t *cfg, const char *pattern,
                       void (*cb)(void *opaque, const char *key,
                                  const char *value),
                       void *opaque);

/** Non-zero when environment variable @p name (with its LADDER_ prefix) sets
 *  a key matching table name @p pattern; the key is then written to @p key
 *  (0, and @p key unspecified, when it does not fit in @p key_size).
 *  LADDER_NOTIFY_SUBSCRIBER_A_B_URL sets notify.subscriber.a_b.url: a "*"
 *  segment is the lower-cased variable text, its underscores kept. */
int ldr_config_variable_match(const char *pattern, const char *name, char *key,
                              size_t key_size);

/** Writes the Markdown configuration reference (docs/CONFIG.md) generated
 *  from the table. Returns LDR_ERR_IO if writing to @p out failed. */
ldr_err_t ldr_config_write_reference(FILE *out);

/** Writes the sample configuration file (deploy/config/ladder.conf.sample):
 *  every key commented out with its default and description. Returns
 *  LDR_ERR_IO if writing to @p out failed. */
ldr_err_t ldr_config_write_sample(FILE *out);

/** Where a program finds repository data named by a path such as
 *  "schemas" or "deploy/policy" (the defaults of schemas.dir, policy.dir and
 *  units.file): an absolute path, or a relative one that exists from the
 *  working directory, is used as it is; any other relative path is taken
 *  under the source tree the programs were built from, so they work from
 *  any directory on a developer's machine. Returns @p path, or @p buf
 *  holding the resolved path. */
const char *ldr_config_data_path(const char *path, char *buf, size_t buf_size);

#endif
