/* schema_int.h -- ldr_schema internals shared by schema.c and codec.c only.
 *
 * DESIGN: the schema registry and the codec need the same parsed schema (its
 * Avro-C form, canonical text and fingerprint), but nothing outside the
 * codec layer should depend on its layout, so the struct lives in this
 * private header next to the two files and the public schema.h keeps it
 * opaque. */
#ifndef LADDER_SCHEMA_INT_H
#define LADDER_SCHEMA_INT_H

#include "ladder/schema.h"

#include <avro.h>
#include <jansson.h>

struct ldr_schema {
    int32_t id;
    uint64_t fingerprint;
    ldr_record_kind_t kind; /* 0 when not a ladder record */
    char *fullname;
    char *origin;
    char *text;      /* the original JSON text (Avro-C drops defaults) */
    char *canonical; /* Parsing Canonical Form */
    json_t *json;    /* parsed text, for field defaults */
    avro_schema_t avro;
    size_t index; /* position in the registry, stable for its lifetime */
};

/** Copies Avro-C's last error text at once: in the Debian build
 *  avro_strerror() is one process-global buffer that the next call
 *  overwrites. */
void ldr_schema__avro_error(char *errstr, size_t errstr_size, const char *what);

#endif
