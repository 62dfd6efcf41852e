/* gen_names.h -- enterprise identities for ladder-gen: names, region codes
 * and USCCs, each a pure function of counters (docs/GEN.md). */
#ifndef LADDER_GEN_NAMES_H
#define LADDER_GEN_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "ladder/units.h"

/** The company name of the @p n-th enterprise of @p unit: city short name +
 *  two-character brand + industry + 有限公司/股份有限公司. Distinct @p n give
 *  distinct names within a unit (and the city names differ between units).
 */
void gen_names_company(const ldr_units_entry_t *unit, uint32_t n, char *buf,
                       size_t size);

/** The 6-digit region code for @p unit chosen by @p pick (any number). */
void gen_names_region(const ldr_units_entry_t *unit, uint32_t pick,
                      char out[7]);

/** The USCC "91" + region + 9 characters derived from @p serial + check
 *  character; distinct serials give distinct USCCs. */
void gen_names_uscc(const ldr_units_entry_t *unit, uint32_t region_pick,
                    uint32_t serial, char out[19]);

#endif
