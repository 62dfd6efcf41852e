/* policy_edit.c -- one field of a policy set changed by a path. See
 * policy_edit.h for the design.
 *
 * The walk runs twice: once to check that the path exists (and to find the
 * tier a `same_as` must be copied from), changing nothing, and once more
 * after the copy to make the change, so a path that fails half-way leaves
 * the documents as they were. */
#include "ladder/policy_edit.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ladder/alloc.h"
#include "ladder/buf.h"

#define EDIT_SEGMENTS_MAX 64
#define EDIT_SAME_AS_MAX  8

typedef struct edit {
    char *segs[EDIT_SEGMENTS_MAX];
    size_t nsegs;
    json_t *const *docs;
    size_t ndocs;
    char *errstr;
    size_t errstr_size;
    char where[512]; /* the path walked so far, for messages */
    /* the target: parent[key] (an object) or parent[index] (an array) */
    json_t *parent;
    const char *key;
    size_t index;
    /* a `same_as` tier the walk went through: tiers[tier] gets a copy of
     * `resolved` before the change */
    json_t *tiers;
    const char *tier;
    json_t *resolved;
} edit_t;

static bool edit_fail(edit_t *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool edit_fail(edit_t *e, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ldr_err_set(e->errstr, e->errstr_size, LDR_ERR_INVALID_ARG, "%s", msg);
    return false;
}

static void edit_where_add(edit_t *e, const char *seg) {
    size_t len = strlen(e->where);
    snprintf(e->where + len, sizeof e->where - len, "%s%s", len ? "." : "",
             seg);
}

static const char *edit_version(json_t *doc) {
    return json_string_value(json_object_get(doc, "version"));
}

static json_t *edit_doc(const edit_t *e, const char *version) {
    for (size_t i = 0; i < e->ndocs; i++) {
        const char *v = edit_version(e->docs[i]);
        if (v && strcmp(v, version) == 0) return e->docs[i];
    }
    return NULL;
}

/* The label an array element is addressed by: its code, else its name. */
static const char *edit_label(json_t *el) {
    const char *s = json_string_value(json_object_get(el, "code"));
    return s ? s : json_string_value(json_object_get(el, "name"));
}

/* Lists what an object or array holds, for a message: "a, b, c". */
static void edit_list(json_t *v, char *buf, size_t size) {
    size_t len = 0;
    buf[0] = '\0';
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            len += (size_t)snprintf(buf + len, len < size ? size - len : 0,
                                    "%s%s", len ? ", " : "", k);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            const char *l = edit_label(x);
            char idx[24];
            if (!l) {
                snprintf(idx, sizeof idx, "%zu", i);
                l = idx;
            }
            len += (size_t)snprintf(buf + len, len < size ? size - len : 0,
                                    "%s%s", len ? ", " : "", l);
        }
    }
    if (len >= size && size > 4) memcpy(buf + size - 4, "...", 4);
}

/* Finds the element of array @p a named by segments i.. (the shortest run
 * that matches a code or name), or by the index segs[i]: true with *idx
 * and *used (segments consumed). */
static bool edit_find_element(edit_t *e, json_t *a, size_t i, size_t *idx,
                              size_t *used) {
    char joined[512] = "";
    for (size_t j = i; j < e->nsegs; j++) {
        size_t len = strlen(joined);
        snprintf(joined + len, sizeof joined - len, "%s%s", j > i ? "." : "",
                 e->segs[j]);
        size_t k;
        json_t *el;
        json_array_foreach(a, k, el) {
            const char *l = edit_label(el);
            if (l && strcmp(l, joined) == 0) {
                *idx = k;
                *used = j - i + 1;
                return true;
            }
        }
    }
    char *end;
    unsigned long n = strtoul(e->segs[i], &end, 10);
    if (e->segs[i][0] >= '0' && e->segs[i][0] <= '9' && !*end &&
        n < json_array_size(a)) {
        *idx = n;
        *used = 1;
        return true;
    }
    char have[384];
    edit_list(a, have, sizeof have);
    return edit_fail(e, "no element '%s' in %s (has %s)", e->segs[i], e->where,
                     have);
}

/* Resolves the tier @p tier of a `same_as` chain starting at version
 * @p version to the rules it finally names. */
static json_t *edit_resolve(edit_t *e, const char *version, const char *tier) {
    for (int depth = 0; depth < EDIT_SAME_AS_MAX; depth++) {
        json_t *doc = edit_doc(e, version);
        json_t *t = json_object_get(json_object_get(doc, "tiers"), tier);
        if (!t) {
            edit_fail(e, "%s is same_as '%s', which has no tier %s", e->where,
                      version, tier);
            return NULL;
        }
        const char *next = json_string_value(json_object_get(t, "same_as"));
        if (!next) return t;
        version = next;
    }
    edit_fail(e, "%s: same_as goes round in a circle", e->where);
    return NULL;
}

/* Steps from object @p cur by key segs[i]: the child, or NULL after a
 * message. A tier that is `same_as` another is entered through the rules
 * it names (pass 1 records it; pass 2 finds the copy in its place). */
static json_t *edit_step_object(edit_t *e, json_t *doc, json_t *cur, size_t i) {
    const char *seg = e->segs[i];
    const char *same_as = json_string_value(json_object_get(cur, "same_as"));
    if (same_as && e->tiers && json_object_get(e->tiers, e->tier) == cur &&
        strcmp(seg, "same_as") != 0 && strcmp(seg, "note") != 0) {
        json_t *r = edit_resolve(e, same_as, e->tier);
        if (!r) return NULL;
        e->resolved = r;
        cur = r;
    }
    json_t *child = json_object_get(cur, seg);
    if (!child) {
        char have[384];
        edit_list(cur, have, sizeof have);
        edit_fail(e, "no '%s' in %s (has %s)", seg, e->where, have);
        return NULL;
    }
    if (cur == json_object_get(doc, "tiers") && json_is_object(child)) {
        e->tiers = cur;
        e->tier = seg;
    }
    return child;
}

/* Walks the path from document @p doc to the target's parent and key or
 * index: false after a message. */
static bool edit_walk(edit_t *e, json_t *doc, const char *version) {
    json_t *cur = doc;
    e->where[0] = '\0';
    e->tiers = NULL;
    e->tier = NULL;
    e->resolved = NULL;
    edit_where_add(e, version);
    size_t i = 0;
    while (i < e->nsegs) {
        if (json_is_array(cur)) {
            size_t idx, used;
            if (!edit_find_element(e, cur, i, &idx, &used)) return false;
            for (size_t k = 0; k < used; k++)
                edit_where_add(e, e->segs[i + k]);
            i += used;
            if (i == e->nsegs) {
                e->parent = cur;
                e->key = NULL;
                e->index = idx;
                return true;
            }
            cur = json_array_get(cur, idx);
        } else if (json_is_object(cur)) {
            if (i + 1 == e->nsegs) {
                /* the last key may be new: the loader judges it */
                json_t *target = cur;
                const char *same_as =
                    json_string_value(json_object_get(cur, "same_as"));
                if (same_as && e->tiers &&
                    json_object_get(e->tiers, e->tier) == cur &&
                    strcmp(e->segs[i], "same_as") != 0 &&
                    strcmp(e->segs[i], "note") != 0) {
                    target = edit_resolve(e, same_as, e->tier);
                    if (!target) return false;
                    e->resolved = target;
                }
                e->parent = target;
                e->key = e->segs[i];
                return true;
            }
            json_t *child = edit_step_object(e, doc, cur, i);
            if (!child) return false;
            edit_where_add(e, e->segs[i]);
            cur = child;
            i++;
        } else {
            return edit_fail(e,
                             "%s is a value, not an object or a list: "
                             "nothing inside it to set",
                             e->where);
        }
    }
    return edit_fail(e, "no field named after the version");
}

/* Splits "VERSION.PATH" into the version's document and the segments. */
static json_t *edit_split(edit_t *e, char *path, const char **version) {
    json_t *doc = NULL;
    size_t best = 0;
    for (size_t k = 0; k < e->ndocs; k++) {
        const char *v = edit_version(e->docs[k]);
        size_t len = v ? strlen(v) : 0;
        if (len && len > best && strncmp(path, v, len) == 0 &&
            path[len] == '.') {
            doc = e->docs[k];
            best = len;
            *version = v;
        }
    }
    if (!doc) {
        char have[384];
        size_t len = 0;
        have[0] = '\0';
        for (size_t k = 0; k < e->ndocs; k++) {
            const char *v = edit_version(e->docs[k]);
            len += (size_t)snprintf(have + len,
                                    len < sizeof have ? sizeof have - len : 0,
                                    "%s%s", len ? ", " : "", v ? v : "?");
        }
        edit_fail(e,
                  "'%s' does not start with a policy version and a field "
                  "(versions: %s)",
                  path, have);
        return NULL;
    }
    char *rest = path + best + 1;
    for (char *s = rest;;) {
        char *dot = strchr(s, '.');
        if (dot) *dot = '\0';
        if (!*s) {
            edit_fail(e, "'%s': an empty step in the path", path);
            return NULL;
        }
        if (e->nsegs == EDIT_SEGMENTS_MAX) {
            edit_fail(e, "the path has more than %d steps", EDIT_SEGMENTS_MAX);
            return NULL;
        }
        e->segs[e->nsegs++] = s;
        if (!dot) break;
        s = dot + 1;
    }
    return doc;
}

/* VALUE as JSON when it is JSON, else as a string. */
static json_t *edit_value(edit_t *e, const char *text) {
    json_t *v =
        json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    if (!v) v = json_string(text);
    if (!v) edit_fail(e, "the value is not valid UTF-8");
    return v;
}

static void edit_set(edit_t *e, json_t *value) {
    if (e->key)
        json_object_set(e->parent, e->key, value);
    else
        json_array_set(e->parent, e->index, value);
}

ldr_err_t ldr_policy_edit(json_t *const *docs, size_t n, const char *assignment,
                          char *errstr, size_t errstr_size) {
    edit_t e;
    memset(&e, 0, sizeof e);
    e.docs = docs;
    e.ndocs = n;
    e.errstr = errstr;
    e.errstr_size = errstr_size;
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        edit_fail(&e, "'%s' is not VERSION.PATH=VALUE", assignment);
        return LDR_ERR_INVALID_ARG;
    }
    char *path = ldr_malloc((size_t)(eq - assignment) + 1);
    memcpy(path, assignment, (size_t)(eq - assignment));
    path[eq - assignment] = '\0';
    const char *version = NULL;
    json_t *value = NULL;
    ldr_err_t rc = LDR_ERR_INVALID_ARG;
    json_t *doc = edit_split(&e, path, &version);
    if (!doc || !edit_walk(&e, doc, version) ||
        !(value = edit_value(&e, eq + 1)))
        goto out;
    if (e.resolved) {
        /* The tier gets its own copy of the rules it referred to, and the
         * walk finds its place again inside that copy. */
        json_object_set_new(e.tiers, e.tier, json_deep_copy(e.resolved));
        if (!edit_walk(&e, doc, version)) goto out; /* cannot happen */
    }
    edit_set(&e, value);
    rc = LDR_OK;
out:
    json_decref(value);
    free(path);
    return rc;
}
