/* alloc.c -- the one place where running out of memory is handled (alloc.h).
 *
 * DESIGN: a daemon that cannot allocate a few hundred bytes cannot do
 * anything useful, so every wrapper here aborts with the size it asked for
 * instead of returning NULL, and callers carry no dead NULL checks. A
 * request for zero bytes is rounded up to one, so a NULL result can never be
 * mistaken for a success. */
#include "ladder/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void alloc_oom(size_t size) {
    fprintf(stderr, "ladder: out of memory allocating %zu bytes\n", size);
    abort();
}

void *ldr_malloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) alloc_oom(size);
    return p;
}

void *ldr_calloc(size_t nmemb, size_t size) {
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p) alloc_oom(nmemb * size);
    return p;
}

void *ldr_realloc(void *ptr, size_t size) {
    void *p = realloc(ptr, size ? size : 1);
    if (!p) alloc_oom(size);
    return p;
}

char *ldr_strndup(const char *s, size_t n) {
    char *p = ldr_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ldr_strdup(const char *s) {
    return ldr_strndup(s, strlen(s));
}
