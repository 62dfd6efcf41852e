/* policy_files.c -- the policy directory, read from disk (policy_files.h).
 *
 * DESIGN: the model parses policies from buffers and never touches a file,
 * so reading them lives here at the edge. A directory's *.json files are
 * loaded in sorted name order, so the same directory always gives the same
 * policy set whatever order readdir() returns, and one bad file fails the
 * whole load with its name in errstr rather than running with part of the
 * policy. */
#include "ladder/policy_files.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ladder/alloc.h"
#include "ladder/buf.h"

ldr_err_t ldr_policy_load_file(const char *path, ldr_policy_t **policyp,
                               char *errstr, size_t errstr_size) {
    ldr_buf_t text;
    ldr_buf_init(&text);
    ldr_err_t rc;
    if (ldr_buf_read_file(&text, path, LDR_POLICY_FILE_MAX, errstr,
                          errstr_size))
        rc = text.len > LDR_POLICY_FILE_MAX ? LDR_ERR_POLICY : LDR_ERR_IO;
    else
        rc = ldr_policy_parse(path, text.data ? text.data : "", text.len,
                              policyp, errstr, errstr_size);
    ldr_buf_fini(&text);
    return rc;
}

ldr_policies_t *ldr_policies_load_files(const char *const *paths, size_t n,
                                        char *errstr, size_t errstr_size) {
    ldr_policy_t **v = ldr_calloc(n ? n : 1, sizeof *v);
    ldr_policies_t *set = NULL;
    size_t i;
    for (i = 0; i < n; i++)
        if (ldr_policy_load_file(paths[i], &v[i], errstr, errstr_size) !=
            LDR_OK)
            break;
    if (i == n) set = ldr_policies_new(v, n, errstr, errstr_size);
    for (size_t j = 0; j < i && j < n; j++)
        ldr_policy_destroy(v[j]); /* only those not taken over */
    free(v);
    return set;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

ldr_policies_t *ldr_policies_load_dir(const char *dir, char *errstr,
                                      size_t errstr_size) {
    DIR *d = opendir(dir);
    char **paths = NULL;
    size_t n = 0, cap = 0;
    ldr_policies_t *set = NULL;
    if (!d) {
        ldr_err_set(errstr, errstr_size, LDR_ERR_IO, "%s: %s", dir,
                    strerror(errno));
        return NULL;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= 5 ||
            strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            paths = ldr_realloc(paths, cap * sizeof *paths);
        }
        size_t dlen = strlen(dir);
        bool slash = dlen > 0 && dir[dlen - 1] == '/';
        paths[n] = ldr_malloc(dlen + len + 2);
        snprintf(paths[n], dlen + len + 2, "%s%s%s", dir, slash ? "" : "/",
                 e->d_name);
        n++;
    }
    closedir(d);
    if (n == 0) {
        ldr_err_set(errstr, errstr_size, LDR_ERR_POLICY,
                    "%s: no policy files (*.json)", dir);
        goto out;
    }
    /* Name order makes the first error reported, and ldr_policies_get(),
     * the same on every machine. */
    qsort(paths, n, sizeof *paths, cmp_names);
    set = ldr_policies_load_files((const char *const *)paths, n, errstr,
                                  errstr_size);
out:
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    return set;
}
