/* version.c -- what a program says it is (version.h).
 *
 * DESIGN: the build's identity comes from ladder_build_info.h, which
 * cmake/build_info.cmake writes at every build; this file is the only one
 * that includes it, so a new commit recompiles one file. */
#include "ladder/version.h"

#include <string.h>

#include "ladder_build_info.h"

const char *ldr_version(void) {
    return LADDER_BUILD_VERSION;
}

const char *ldr_version_commit(void) {
    return LADDER_BUILD_COMMIT;
}

void ldr_version_print(FILE *out, const char *program,
                       const ldr_version_libs_t *libs) {
    fprintf(out, "%s %s\ncommit %s\n", program, ldr_version(),
            ldr_version_commit());
    if (libs && libs->rdkafka) fprintf(out, "librdkafka %s\n", libs->rdkafka);
    if (libs && libs->hiredis) fprintf(out, "hiredis %s\n", libs->hiredis);
    if (libs && libs->avro) fprintf(out, "avro-c %s\n", libs->avro);
}

int ldr_version_requested(int argc, char **argv) {
    for (int i = 1; i < argc && argv[i]; i++) {
        if (strcmp(argv[i], "--") == 0) return 0;
        if (strcmp(argv[i], "--version") == 0) return 1;
    }
    return 0;
}
