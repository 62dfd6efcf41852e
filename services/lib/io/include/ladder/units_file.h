/* units_file.h -- the reporting units file, read from disk.
 *
 * DESIGN: model/units.h parses the CSV text from memory; this reader is the
 * edge that opens the file (deploy/data/reporting_units.csv by default,
 * the units.file key), at most LDR_UNITS_FILE_MAX bytes. */
#ifndef LADDER_UNITS_FILE_H
#define LADDER_UNITS_FILE_H

#include <stddef.h>

#include "ladder/units.h"

/** The largest units file read (bytes). */
#define LDR_UNITS_FILE_MAX (16 << 20)

/** Reads and parses the units file at @p path (ldr_units_parse()).
 *  @returns a table the caller frees with ldr_units_destroy(), or NULL with
 *  one line "<path>:<line>: <problem>" (or "<path>: <problem>" for a file
 *  that cannot be read) in @p errstr. */
ldr_units_t *ldr_units_load(const char *path, char *errstr, size_t errstr_size);

#endif
