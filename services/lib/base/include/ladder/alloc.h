/* alloc.h -- allocation wrappers that abort on out-of-memory.
 *
 * DESIGN: a service that cannot allocate a few hundred bytes cannot make
 * progress or report sensibly, so out-of-memory aborts here, in one place,
 * and callers carry no dead NULL checks. Sizes that come from untrusted
 * input are bounded before they reach these functions. */
#ifndef LADDER_ALLOC_H
#define LADDER_ALLOC_H

#include <stddef.h>

void *ldr_malloc(size_t size);
void *ldr_calloc(size_t nmemb, size_t size);
void *ldr_realloc(void *ptr, size_t size);
char *ldr_strdup(const char *s);
char *ldr_strndup(const char *s, size_t n);

/** The number of elements of array @p a (not of a pointer). */
#define LDR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
