/* version.h -- what a program says it is: --version and ladder_build_info.
 *
 * DESIGN: the version is the project's (the top-level CMakeLists.txt) and the
 * commit is the one the build was made from, recorded by CMake at every
 * build ("unknown" outside a git checkout), so a binary can be traced to
 * its source. The versions of the libraries it runs with come from the
 * layers that wrap them (librdkafka's at run time, hiredis's from its
 * header, Avro-C's from pkg-config, which is all Debian's libavro-dev
 * exposes), so base takes them as arguments and stays free of them;
 * ldr_svc_version() fills them in for every program built on libladder.
 * Every program prints the same lines, so a script can read any of them:
 *
 *     ladder-worker 0.1.0
 *     commit 0123456789ab
 *     librdkafka 2.0.2
 *     hiredis 0.14.1
 *     avro-c 1.11.1
 */
#ifndef LADDER_VERSION_H
#define LADDER_VERSION_H

#include <stdio.h>

/** The project's version ("0.1.0"; static storage). */
const char *ldr_version(void);

/** The commit the build was made from, 12 hex digits, or "unknown"
 *  (static storage). */
const char *ldr_version_commit(void);

/** The versions of the libraries a program runs with; NULL: not linked. */
typedef struct ldr_version_libs {
    const char *rdkafka;
    const char *hiredis;
    const char *avro;
} ldr_version_libs_t;

/** Writes the lines above for @p program to @p out. */
void ldr_version_print(FILE *out, const char *program,
                       const ldr_version_libs_t *libs);

/** Non-zero when the command line asks for the version: "--version" among
 *  the arguments before a "--". For programs that parse their options
 *  themselves, before they do. */
int ldr_version_requested(int argc, char **argv);

#endif
