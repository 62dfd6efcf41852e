/* indicators.h -- the Indicators fields by name, and their JSON form.
 *
 * DESIGN: every edge that reads or writes a declaration by field name
 * (ladder-policy's JSON Lines, the feed's CSV and JSON Lines, JSON output,
 * tests) goes through this one table, in the contract's field order, so a
 * field added to the contract is added in one place. A unit test checks the
 * table against the Indicators record of schemas/application_submitted.avsc.
 * Reading is strict: a value of the wrong JSON type is an error naming the
 * field, never a silent zero. */
#ifndef LADDER_INDICATORS_H
#define LADDER_INDICATORS_H

#include "ladder/err.h"
#include "ladder/record.h"

#include <jansson.h>
#include <stddef.h>

typedef enum ldr_indicator_type {
    LDR_IND_I32,
    LDR_IND_I64,
    LDR_IND_DOUBLE,
    LDR_IND_BOOL,
    LDR_IND_RD_INSTITUTION,    /* an RdInstitution symbol */
    LDR_IND_HONOURS,           /* an array of Honour symbols: a bit set */
    LDR_IND_DEVELOPMENT_SCORE, /* an int or null (has_development_score) */
} ldr_indicator_type_t;

typedef struct ldr_indicator_field {
    const char *name;
    ldr_indicator_type_t type;
    size_t off; /* offset of the value in ldr_indicators_t */
} ldr_indicator_field_t;

/** The fields, in the contract's order. */
#define LDR_INDICATORS_FIELD_COUNT 33
extern const ldr_indicator_field_t
    ldr_indicators_fields[LDR_INDICATORS_FIELD_COUNT];

/** Index of the field named by @p name / @p len, or -1. */
int ldr_indicators_field_find(const char *name, size_t len);

/** Sets field @p field of @p ind from a JSON value. Fails with
 *  LDR_ERR_INVALID_FIELD and "field 'NAME': expected ..., found ..." when
 *  the value has the wrong type or does not fit; *ind may then hold a
 *  partial update of that one field's set (honours). */
ldr_err_t ldr_indicators_set_json(ldr_indicators_t *ind, size_t field,
                                  const json_t *value, char *errstr,
                                  size_t errstr_size);

/** The JSON form: an object with every field; enums as symbol names,
 *  honours as an array of names in enum order, development_score null
 *  when absent. The caller owns the new reference. */
json_t *ldr_indicators_to_json(const ldr_indicators_t *ind);

/** "an integer", "a string", ...: the JSON type of @p v, for messages. */
const char *ldr_json_type_name(const json_t *v);

#endif
