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

#include <jansson.h>

#include "ladder/alloc.h"
#include "ladder/buf.h"
#include "ladder/policy_edit.h"

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

/* The *.json files of @p dir in name order (name order makes the first
 * error reported, and ldr_policies_get(), the same on every machine): the
 * count, with *pathsp to free with paths_free(), or 0 after a message. */
static size_t dir_paths(const char *dir, char ***pathsp, char *errstr,
                        size_t errstr_size) {
    DIR *d = opendir(dir);
    char **paths = NULL;
    size_t n = 0, cap = 0;
    if (!d) {
        ldr_err_set(errstr, errstr_size, LDR_ERR_IO, "%s: %s", dir,
                    strerror(errno));
        return 0;
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
    if (n == 0)
        ldr_err_set(errstr, errstr_size, LDR_ERR_POLICY,
                    "%s: no policy files (*.json)", dir);
    else
        qsort(paths, n, sizeof *paths, cmp_names);
    *pathsp = paths;
    return n;
}

static void paths_free(char **paths, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

ldr_policies_t *ldr_policies_load_dir(const char *dir, char *errstr,
                                      size_t errstr_size) {
    char **paths = NULL;
    size_t n = dir_paths(dir, &paths, errstr, errstr_size);
    ldr_policies_t *set = NULL;
    if (n)
        set = ldr_policies_load_files((const char *const *)paths, n, errstr,
                                      errstr_size);
    paths_free(paths, n);
    return set;
}

/* Reads every file of @p paths as JSON into @p docs: false after a
 * message naming the file. */
static bool read_docs(char **paths, size_t n, json_t **docs, char *errstr,
                      size_t errstr_size) {
    for (size_t i = 0; i < n; i++) {
        ldr_buf_t text;
        ldr_buf_init(&text);
        if (ldr_buf_read_file(&text, paths[i], LDR_POLICY_FILE_MAX, errstr,
                              errstr_size)) {
            ldr_buf_fini(&text);
            return false;
        }
        json_error_t jerr;
        docs[i] = json_loadb(text.data ? text.data : "", text.len,
                             JSON_REJECT_DUPLICATES, &jerr);
        ldr_buf_fini(&text);
        if (!docs[i]) {
            ldr_err_set(errstr, errstr_size, LDR_ERR_POLICY, "%s: line %d: %s",
                        paths[i], jerr.line, jerr.text);
            return false;
        }
    }
    return true;
}

/* Parses the edited documents as the files they came from, one set. */
static ldr_policies_t *parse_docs(char **paths, size_t n, json_t **docs,
                                  char *errstr, size_t errstr_size) {
    ldr_policy_t **v = ldr_calloc(n, sizeof *v);
    ldr_policies_t *set = NULL;
    size_t i;
    for (i = 0; i < n; i++) {
        char *text = json_dumps(docs[i], JSON_PRESERVE_ORDER | JSON_COMPACT);
        ldr_err_t rc = ldr_policy_parse(paths[i], text, strlen(text), &v[i],
                                        errstr, errstr_size);
        free(text);
        if (rc) break;
    }
    if (i == n) set = ldr_policies_new(v, n, errstr, errstr_size);
    for (size_t j = 0; j < i && j < n; j++)
        ldr_policy_destroy(v[j]);
    free(v);
    return set;
}

ldr_policies_t *ldr_policies_load_dir_edited(const char *dir,
                                             const char *const *sets,
                                             size_t nsets, char *errstr,
                                             size_t errstr_size) {
    char **paths = NULL;
    size_t n = dir_paths(dir, &paths, errstr, errstr_size);
    if (!n) return NULL;
    json_t **docs = ldr_calloc(n, sizeof *docs);
    ldr_policies_t *set = NULL;
    if (!read_docs(paths, n, docs, errstr, errstr_size)) goto out;
    for (size_t k = 0; k < nsets; k++) {
        char msg[768];
        if (ldr_policy_edit(docs, n, sets[k], msg, sizeof msg)) {
            ldr_err_set(errstr, errstr_size, LDR_ERR_INVALID_ARG, "%s", msg);
            goto out;
        }
    }
    set = parse_docs(paths, n, docs, errstr, errstr_size);
out:
    for (size_t i = 0; i < n; i++)
        json_decref(docs[i]);
    free(docs);
    paths_free(paths, n);
    return set;
}
