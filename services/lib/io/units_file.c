/* units_file.c -- the reporting units file, read from disk (units_file.h).
 *
 * DESIGN: the units table is parsed in the model from a buffer, so the model
 * stays free of I/O; this file only reads the file under a size cap, so a
 * wrong path cannot make a service read an unbounded amount into memory, and
 * passes the path on so parse errors name the file. */
#include "ladder/units_file.h"

#include "ladder/buf.h"
#include "ladder/err.h"

ldr_units_t *ldr_units_load(const char *path, char *errstr,
                            size_t errstr_size) {
    if (!path) {
        ldr_err_set(errstr, errstr_size, LDR_ERR_INVALID_ARG,
                    "units file: no path given");
        return NULL;
    }
    ldr_buf_t text;
    ldr_buf_init(&text);
    ldr_units_t *units = NULL;
    if (!ldr_buf_read_file(&text, path, LDR_UNITS_FILE_MAX, errstr,
                           errstr_size))
        units = ldr_units_parse(path, text.data ? text.data : "", text.len,
                                errstr, errstr_size);
    ldr_buf_fini(&text);
    return units;
}
