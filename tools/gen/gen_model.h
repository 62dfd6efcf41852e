/* gen_model.h -- ladder-gen's synthetic national register: who applies for
 * what and when, what they declare, and what the worker should decide.
 *
 * DESIGN: the model plans every enterprise's history first, as compact event
 * descriptors (time, enterprise, kind, tier, batch, the seed of its
 * declaration), and writes the rows afterwards: 1.2 million full records
 * would not fit in a sensible amount of memory, but a declaration is a pure
 * function of its seed, so the writer draws it again, byte for byte. Every
 * declaration's outcome is decided by the planner and the indicators are
 * drawn until the real policy engine (ldr_policy_evaluate with the version
 * selected for the event's time and mode) agrees, so the data follow the
 * policy files. After planning, a replay of each enterprise's events through
 * a small copy of POLICY.md's state machine counts what the worker will
 * decide (expected.json) and refuses to emit a history the worker would
 * refuse (a duplicate application, a missing prerequisite, a review outside
 * its window): such a history is a planner bug, not data.
 *
 * Nothing here reads the wall clock or uses rand(): the same parameters and
 * policy files give the same plan. */
#ifndef LADDER_GEN_MODEL_H
#define LADDER_GEN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ladder/policy.h"
#include "ladder/record.h"
#include "ladder/units.h"

/** LITTLE_GIANT batches with public counts (batch 1 = 2019 ... 7 = 2025). */
#define GEN_PUBLIC_BATCHES 7
/** Most batches the model plans (one per year from 2019). */
#define GEN_BATCH_MAX 100

typedef enum gen_kind {
    GEN_EV_APPLICATION = 0,
    GEN_EV_REVIEW,
    GEN_EV_VIOLATION,
} gen_kind_t;

/* gen_event_t.flags */
#define GEN_F_PASS 1u /* the engine passes the declaration */
#define GEN_F_GOOD 2u /* drawn from the passing profile */
#define GEN_F_DEAD 4u /* dropped (after a verified violation) */

/** One planned event; the row is built from it by gen_model_record(). */
typedef struct gen_event {
    int64_t t;       /* occurred_at, ms */
    uint32_t ent;    /* enterprise index */
    uint32_t seq;    /* position in the enterprise's history (event_id) */
    uint64_t seed;   /* declaration seed, or the case number */
    uint16_t batch;  /* applications */
    uint8_t kind;    /* gen_kind_t */
    uint8_t tier;    /* ldr_tier_t (applications, reviews) */
    uint8_t flags;   /* GEN_F_* */
    uint8_t vkind;   /* violations: ldr_violation_kind_t */
    uint8_t vstatus; /* violations: ldr_case_status_t */
    uint8_t pad;
} gen_event_t;

/** Outcome counts of one tier or one LITTLE_GIANT batch. */
typedef struct gen_outcomes {
    long applications, designated, rejected, reviews, renewed,
        revoked_review_failed, revoked_no_submission, expired, cancelled;
} gen_outcomes_t;

/** First reviews of the designations of one LITTLE_GIANT batch. */
typedef struct gen_first_review {
    long submitted, passed, failed, not_submitted, cancelled;
} gen_first_review_t;

typedef struct gen_counts {
    long enterprises;
    long events[3]; /* per gen_kind_t */
    gen_outcomes_t tier[LDR_TIER__COUNT];
    int batches;                             /* LITTLE_GIANT batches planned */
    gen_outcomes_t batch[GEN_BATCH_MAX + 1]; /* [1..batches] */
    long batch_target[GEN_BATCH_MAX + 1];    /* intended designations */
    gen_first_review_t first[GEN_BATCH_MAX + 1];
    long violation_enterprises, verified, dismissed;
    long flipped; /* declarations whose intended outcome the engine refused */
} gen_counts_t;

typedef struct gen_params {
    double scale;
    uint64_t seed;
    int64_t until_ms;
    /* Called now and then while planning with a fraction done (0..1);
     * may be NULL. */
    void (*progress)(void *arg, const char *phase, double done);
    void *progress_arg;
} gen_params_t;

typedef struct gen_model gen_model_t;

/** Public little-giant counts per batch (1..7), and first reviews passed
 *  (batches 1..3, else 0). */
long gen_public_designated(int batch);
long gen_public_first_passed(int batch);

/** Plans the whole history. @p units and @p policies are borrowed and must
 *  outlive the model. Returns NULL with a message in @p errstr when the
 *  planner produced a history the worker would refuse (a bug) or the
 *  parameters are unusable. The caller frees the model with
 *  gen_model_destroy(). */
gen_model_t *gen_model_build(const gen_params_t *params,
                             const ldr_units_t *units,
                             const ldr_policies_t *policies, char *errstr,
                             size_t errstr_size);

void gen_model_destroy(gen_model_t *m);

/** The counts of the replay (what the worker should decide). */
const gen_counts_t *gen_model_counts(const gen_model_t *m);

/** The events in output order: time, then enterprise, then history
 *  position. */
size_t gen_model_event_count(const gen_model_t *m);
const gen_event_t *gen_model_event(const gen_model_t *m, size_t i);

/** Index in the units table of an enterprise's reporting unit. */
size_t gen_model_unit_of(const gen_model_t *m, uint32_t ent);

/** Storage for the strings of one row built by gen_model_record(). */
typedef struct gen_row {
    char uscc[19];
    char event_id[48];
    char name[128];
    char case_id[48];
    char details[128];
} gen_row_t;

/** Builds the record of event @p ev into @p rec; its strings point into
 *  @p row (and the units table), valid until @p row is reused. */
void gen_model_record(const gen_model_t *m, const gen_event_t *ev,
                      gen_row_t *row, ldr_record_t *rec);

#endif
