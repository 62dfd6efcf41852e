/* policy.h -- the designation rules as data: load, select, evaluate.
 *
 * DESIGN: a policy version (deploy/policy/<version>.json, format in
 * docs/POLICY-FILES.md) holds every number of POLICY.md: thresholds, score
 * bands and points, direct-qualification paths, which criteria a tier checks
 * and in which order, lifecycle parameters, prerequisites and the dates from
 * which it applies. What the C code fixes is the vocabulary: the measures a
 * rule can read (each with its exact arithmetic, e.g. `rd_intensity` is
 * rd_expense / revenue x 100 and cannot be computed when revenue <= 0) and
 * the set of reason codes. So an operator corrects a threshold, a band or
 * even the shape of a partly unverified rule without a rebuild, while a typo
 * in a measure or code name is a load error, never a silent pass.
 *
 * Evaluation is a pure function of (policy, tier, mode, indicators): no I/O,
 * no clock, no globals, no allocation. Every comparison is exact: a
 * threshold is stored as an integer scaled by 100 and every ratio, average
 * and compound growth is compared by cross-multiplying in 256-bit integer
 * arithmetic, so band edges are right for any int64 input and nothing is
 * ever divided (POLICY.md "Conventions").
 *
 * Ownership: ldr_policies_new() (and io's ldr_policies_load_dir()) return a set
 * that the caller destroys with ldr_policies_destroy(); every ldr_policy_t,
 * name and sub-score name obtained from it lives until then. Reason codes in a
 * result are static strings and live forever. Loaded policies are immutable, so
 * one set may be shared by any number of threads. */
#ifndef LADDER_POLICY_H
#define LADDER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ladder/err.h"
#include "ladder/record.h"

/** Most reason codes one evaluation can report (the loader refuses a tier
 *  with more criteria). */
#define LDR_POLICY_REASONS_MAX 16
/** Most score groups (sub-scores) a tier can have. */
#define LDR_POLICY_SUBSCORES_MAX 4

typedef struct ldr_policy ldr_policy_t;
typedef struct ldr_policies ldr_policies_t;

/** What is being evaluated: an application, or the review of a designation
 *  (POLICY.md: reviews skip LG.MAIN_GROWTH and use their own switch date). */
typedef enum ldr_eval_mode {
    LDR_EVAL_APPLICATION = 0,
    LDR_EVAL_REVIEW,
    LDR_EVAL__COUNT
} ldr_eval_mode_t;

/** "application" / "review". */
const char *ldr_eval_mode_name(ldr_eval_mode_t mode);
/** The mode named by @p s, or -1. */
int ldr_eval_mode_parse(const char *s, size_t len);

/** Lifecycle parameters of a policy version (POLICY.md "Lifecycle
 *  parameters"), all from the file. */
typedef struct ldr_policy_lifecycle {
    int validity_years;     /* calendar years, ldr_time_add_years() */
    int publicity_days;     /* publicity period after a passed evaluation */
    int review_window_days; /* the review window opens this long before
                               valid_until */
    /* At validity end without a passed review: LDR_DECISION_REVOKED with
     * reason "NO_REVIEW_SUBMITTED", or LDR_DECISION_EXPIRED with
     * "NOT_RENEWED" (static strings). */
    ldr_decision_type_t on_validity_end[LDR_TIER__COUNT];
    const char *validity_end_reason[LDR_TIER__COUNT];
    int ban_years; /* re-application ban after a verified violation */
    int prerequisite[LDR_TIER__COUNT]; /* ldr_tier_t that must be active, or -1
                                        */
} ldr_policy_lifecycle_t;

typedef struct ldr_eval_subscore {
    const char *name; /* the score group's name, e.g. "innovation" */
    int value;
} ldr_eval_subscore_t;

/** Result of one evaluation. */
typedef struct ldr_eval_result {
    const ldr_policy_t *policy; /* the version applied; NULL if none applies */
    bool pass;
    bool
        has_score; /* INNOVATIVE and SPECIALIZED: always; LITTLE_GIANT: never */
    int score;
    size_t subscores_count;
    ldr_eval_subscore_t subscores[LDR_POLICY_SUBSCORES_MAX]; /* in file order */
    size_t reasons_count; /* every failed criterion, in the policy's order */
    const char *reasons[LDR_POLICY_REASONS_MAX];
} ldr_eval_result_t;

/* ---- loading ------------------------------------------------------------ */

/** Makes one set of the @p n policies @p v (parsed with
 *  ldr_policy_parse(); the set takes them over, every v[i] is set to NULL,
 *  also on error) and validates the set as a whole: tiers taken over from
 *  another version exist, exactly one version applies at every instant for
 *  each mode. Returns NULL on error, with a message in @p errstr that names
 *  the file and the JSON path of the problem. The caller owns the result:
 *  ldr_policies_destroy(). Reading the files of a directory is
 *  io/policy_files.h's. */
ldr_policies_t *ldr_policies_new(ldr_policy_t **v, size_t n, char *errstr,
                                 size_t errstr_size);

/** Frees a set and every policy in it (NULL is fine). */
void ldr_policies_destroy(ldr_policies_t *policies);

/** Validates one policy file's @p len bytes of JSON text on its own:
 *  everything but the references to other versions ("same_as"), which only
 *  a set can resolve. @p name is the file name used for the version check
 *  and in messages. On success stores a new policy in *@p policyp (the
 *  caller frees it with ldr_policy_destroy()); on error leaves it
 *  untouched. A tier taken over from another version cannot be evaluated
 *  through a policy parsed alone. */
ldr_err_t ldr_policy_parse(const char *name, const char *text, size_t len,
                           ldr_policy_t **policyp, char *errstr,
                           size_t errstr_size);

/** Frees a policy from ldr_policy_parse() (NULL is
 *  fine). Never call it on a policy that belongs to a set. */
void ldr_policy_destroy(ldr_policy_t *policy);

/* ---- lookup ------------------------------------------------------------- */

/** The version that applies to a submission of @p mode at @p at_ms
 *  (POLICY.md "Which policy applies"): the one whose start for that mode
 *  is the latest at or before @p at_ms. NULL only for an unloaded set. */
const ldr_policy_t *ldr_policies_select(const ldr_policies_t *policies,
                                        ldr_eval_mode_t mode, int64_t at_ms);

/** The version named @p version (@p len bytes), or NULL. */
const ldr_policy_t *ldr_policies_find(const ldr_policies_t *policies,
                                      const char *version, size_t len);

size_t ldr_policies_count(const ldr_policies_t *policies);
/** The @p i-th version of the set, in file-name order. */
const ldr_policy_t *ldr_policies_get(const ldr_policies_t *policies, size_t i);

/** The version name, e.g. "miit-2022". */
const char *ldr_policy_version(const ldr_policy_t *policy);
/** The file it was loaded from. */
const char *ldr_policy_path(const ldr_policy_t *policy);
/** When the version starts to apply to @p mode: true and the instant in
 *  *@p from_ms, or false when it applies from the beginning of time. */
bool ldr_policy_applies_from(const ldr_policy_t *policy, ldr_eval_mode_t mode,
                             int64_t *from_ms);
const ldr_policy_lifecycle_t *ldr_policy_lifecycle(const ldr_policy_t *policy);

/* ---- evaluation --------------------------------------------------------- */

/** Evaluates @p ind for @p tier under the version that applies to @p mode
 *  at @p at_ms. Pure: writes only *@p out. */
void ldr_policy_evaluate(const ldr_policies_t *policies, ldr_tier_t tier,
                         ldr_eval_mode_t mode, int64_t at_ms,
                         const ldr_indicators_t *ind, ldr_eval_result_t *out);

/** Evaluates under the given version. For a tier that a standalone policy
 *  takes over from another version (not resolvable alone) the result has
 *  pass false and no reasons. */
void ldr_policy_evaluate_with(const ldr_policy_t *policy, ldr_tier_t tier,
                              ldr_eval_mode_t mode, const ldr_indicators_t *ind,
                              ldr_eval_result_t *out);

/* ---- description -------------------------------------------------------- */

/** Prints the rules of @p policy in readable form (what `ladder-policy
 *  show` prints). */
void ldr_policy_show(const ldr_policy_t *policy, FILE *out);

/** Writes threshold @p t100 (a value scaled by 100) as the shortest decimal
 *  ("10", "3.5", "0.05", "-2") into @p buf; returns @p buf. */
char *ldr_policy_format_number(int64_t t100, char *buf, size_t size);

#endif
