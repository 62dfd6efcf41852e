/* ladder-policy -- evaluate declarations against the policy files, check
 * the files, show the rules.
 *
 * DESIGN: the operator's and the tester's window on the rules engine. `eval`
 * runs the very evaluator the worker uses (ldr_policy_evaluate) over JSON
 * Lines, one output line per input line, so the engine can be checked from
 * outside with nothing but a shell. A malformed line yields an error line
 * for that line and the run goes on: one bad record in a feed of 100,000
 * must not hide the verdicts on the others, but the exit status says that
 * something was wrong. Output is written by hand into one buffer per line
 * (every string in it is either a static code, a validated policy name or
 * escaped here), which keeps 100,000 lines well under a second on top of
 * jansson's parsing. Exit status: 0 ok, 1 a line was malformed or a check
 * failed, 2 usage. */
#include <errno.h>
#include <math.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "ladder/config.h"
#include "ladder/policy_files.h"
#include "ladder/indicators.h"
#include "ladder/policy.h"
#include "ladder/record.h"
#include "ladder/svc.h"
#include "ladder/time.h"

#define EXIT_FAILED 1
#define EXIT_USAGE  2

/* ---- policy directory --------------------------------------------------- */

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* deploy/policy under the current directory (a checkout, or a deployment
 * laid out like one), else the source tree the program was built from. */
static const char *default_policy_dir(void) {
    static char buf[4096];
    return ldr_config_data_path("deploy/policy", buf, sizeof(buf));
}

static ldr_policies_t *load_policies(const char *dir) {
    char err[1024];
    ldr_policies_t *set = ldr_policies_load_dir(dir, err, sizeof err);
    if (!set) fprintf(stderr, "ladder-policy: %s\n", err);
    return set;
}

/* ---- output buffer ------------------------------------------------------- */

struct out {
    char *buf;
    size_t len, cap;
};

static void out_grow(struct out *o, size_t more) {
    if (o->len + more <= o->cap) return;
    size_t cap = o->cap ? o->cap : 1024;
    while (cap < o->len + more)
        cap *= 2;
    char *b = realloc(o->buf, cap);
    if (!b) {
        fputs("ladder-policy: out of memory\n", stderr);
        exit(EXIT_FAILED);
    }
    o->buf = b;
    o->cap = cap;
}

static void out_mem(struct out *o, const char *s, size_t n) {
    out_grow(o, n);
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void out_str(struct out *o, const char *s) {
    out_mem(o, s, strlen(s));
}

static void out_int(struct out *o, long long v) {
    char b[32];
    int n = snprintf(b, sizeof b, "%lld", v);
    out_mem(o, b, (size_t)n);
}

/* A JSON string literal; bytes below 0x20, '"' and '\\' escaped, the rest
 * copied (error messages quote input, which jansson has checked as UTF-8). */
static void out_json_string(struct out *o, const char *s) {
    out_mem(o, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            char e[2] = {'\\', (char)ch};
            out_mem(o, e, 2);
        } else if (ch < 0x20) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", ch);
            out_mem(o, e, 6);
        } else {
            out_mem(o, (const char *)&ch, 1);
        }
    }
    out_mem(o, "\"", 1);
}

/* ---- indicator lines --------------------------------------------------------
 */

/* The Indicators fields come from the indicators module, in contract
 * order. */
#define fields      ldr_indicators_fields
#define FIELD_COUNT LDR_INDICATORS_FIELD_COUNT

/* What one line asks for: the indicators and, possibly, its own tier,
 * mode and time. */
struct request {
    ldr_indicators_t ind;
    int tier, mode;
    bool has_at;
    int64_t at_ms;
};

static bool line_error(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool line_error(char *err, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return false;
}

/* Fills @p req from one parsed line; false with a message naming the field
 * on the first problem. */
static bool read_request(const json_t *obj, struct request *req, char *err,
                         size_t size) {
    const char *key;
    json_t *v;
    if (!json_is_object(obj))
        return line_error(err, size, "expected a JSON object, found %s",
                          ldr_json_type_name(obj));
    for (size_t f = 0; f < FIELD_COUNT; f++) {
        v = json_object_get(obj, fields[f].name);
        if (!v) {
            if (fields[f].type == LDR_IND_DEVELOPMENT_SCORE)
                continue; /* absent = null */
            return line_error(err, size, "missing field '%s'", fields[f].name);
        }
        if (ldr_indicators_set_json(&req->ind, f, v, err, size)) return false;
    }
    json_object_foreach((json_t *)obj, key, v) {
        if (strcmp(key, "tier") == 0) {
            const char *s = json_string_value(v);
            int t = s ? ldr_tier_parse(s, json_string_length(v)) : -1;
            if (t < 0)
                return line_error(
                    err, size,
                    "field 'tier': expected INNOVATIVE, SPECIALIZED or "
                    "LITTLE_GIANT");
            req->tier = t;
        } else if (strcmp(key, "mode") == 0) {
            const char *s = json_string_value(v);
            int m = s ? ldr_eval_mode_parse(s, json_string_length(v)) : -1;
            if (m < 0)
                return line_error(
                    err, size, "field 'mode': expected application or review");
            req->mode = m;
        } else if (strcmp(key, "at") == 0) {
            char terr[200];
            if (json_is_integer(v)) {
                req->at_ms = json_integer_value(v);
            } else if (!json_is_string(v) ||
                       ldr_time_parse(json_string_value(v),
                                      json_string_length(v), &req->at_ms, terr,
                                      sizeof terr) != LDR_OK) {
                return line_error(
                    err, size,
                    "field 'at': expected RFC 3339 or epoch milliseconds%s%s",
                    json_is_string(v) ? ": " : "",
                    json_is_string(v) ? terr : "");
            }
            req->has_at = true;
        } else {
            if (ldr_indicators_field_find(key, strlen(key)) < 0)
                return line_error(err, size, "unknown field '%s'", key);
        }
    }
    return true;
}

/* ---- fast path ------------------------------------------------------------
 */

/* jansson reads a character at a time through a stream layer and allocates
 * every value: about 20 us for a typical 800-byte line, which alone would
 * spend the 2 s budget for 100,000 lines. Almost every line of a real feed
 * is the same flat object, so this scanner reads that shape directly, and
 * nothing else: plain ASCII strings without escapes, JSON numbers, true,
 * false, null, one array of strings, no duplicate or unknown key, no
 * missing field, every value of the expected type. Anything it does not
 * accept it hands to the jansson path, unchanged, which then decides
 * (and words every error). So the fast path can only make a valid line
 * faster, never change a verdict or an error: the integration test checks
 * that `--jansson-only` gives byte-identical output. */

struct scan {
    const char *p, *end;
};

static void skip_ws(struct scan *s) {
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool scan_char(struct scan *s, char c) {
    skip_ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return true;
    }
    return false;
}

/* A string of printable ASCII without escapes, viewed by (str, len). */
static bool scan_plain_string(struct scan *s, const char **str, size_t *len) {
    skip_ws(s);
    if (s->p >= s->end || *s->p != '"') return false;
    const char *start = ++s->p;
    while (s->p < s->end && *s->p != '"') {
        unsigned char c = (unsigned char)*s->p;
        if (c < 0x20 || c >= 0x7f || c == '\\') return false;
        s->p++;
    }
    if (s->p >= s->end) return false;
    *str = start;
    *len = (size_t)(s->p - start);
    s->p++;
    return true;
}

/* A JSON number; *is_int when it has no fraction and no exponent. */
static bool scan_number(struct scan *s, const char **start, size_t *len,
                        bool *is_int) {
    skip_ws(s);
    const char *p = s->p, *e = s->end;
    *start = p;
    *is_int = true;
    if (p < e && *p == '-') p++;
    if (p >= e || *p < '0' || *p > '9') return false;
    if (*p == '0') {
        p++;
    } else {
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && *p == '.') {
        *is_int = false;
        p++;
        if (p >= e || *p < '0' || *p > '9') return false;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        *is_int = false;
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || *p < '0' || *p > '9') return false;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    *len = (size_t)(p - *start);
    s->p = p;
    return true;
}

/* The integer a JSON integer literal denotes, if it fits in an int64
 * (jansson refuses larger ones). */
static bool literal_int64(const char *p, size_t len, int64_t *out) {
    bool neg = *p == '-';
    uint64_t mag = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (size_t i = neg; i < len; i++) {
        uint64_t d = (uint64_t)(p[i] - '0');
        if (mag > (lim - d) / 10) return false;
        mag = mag * 10 + d;
    }
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return true;
}

static bool scan_int64(struct scan *s, int64_t *out) {
    const char *p;
    size_t len;
    bool is_int;
    return scan_number(s, &p, &len, &is_int) && is_int &&
           literal_int64(p, len, out);
}

static bool scan_literal(struct scan *s, const char *word) {
    size_t n = strlen(word);
    skip_ws(s);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) return false;
    s->p += n;
    return true;
}

static bool fast_field(struct scan *s, size_t f, ldr_indicators_t *ind) {
    char *p = (char *)ind + fields[f].off;
    switch (fields[f].type) {
    case LDR_IND_I32:
    case LDR_IND_I64: {
        int64_t v;
        if (!scan_int64(s, &v)) return false;
        if (fields[f].type == LDR_IND_I32) {
            if (v < INT32_MIN || v > INT32_MAX) return false;
            int32_t y = (int32_t)v;
            memcpy(p, &y, sizeof y);
        } else {
            memcpy(p, &v, sizeof v);
        }
        return true;
    }
    case LDR_IND_DOUBLE: {
        const char *start;
        size_t len;
        bool is_int;
        double d;
        if (!scan_number(s, &start, &len, &is_int)) return false;
        if (is_int) {
            /* jansson: an integer value, read as a double */
            int64_t v;
            if (!literal_int64(start, len, &v)) return false;
            d = (double)v;
        } else {
            char buf[64];
            if (len >= sizeof buf) return false;
            memcpy(buf, start, len);
            buf[len] = '\0';
            d = strtod(buf, NULL);
            if (isinf(d)) return false; /* jansson: "real number overflow" */
        }
        memcpy(p, &d, sizeof d);
        return true;
    }
    case LDR_IND_BOOL: {
        bool b;
        if (scan_literal(s, "true"))
            b = true;
        else if (scan_literal(s, "false"))
            b = false;
        else
            return false;
        memcpy(p, &b, sizeof b);
        return true;
    }
    case LDR_IND_RD_INSTITUTION: {
        const char *str;
        size_t len;
        int r;
        if (!scan_plain_string(s, &str, &len) ||
            (r = ldr_rd_institution_parse(str, len)) < 0)
            return false;
        ind->rd_institution = (ldr_rd_institution_t)r;
        return true;
    }
    case LDR_IND_HONOURS: {
        ind->honours = 0;
        if (!scan_char(s, '[')) return false;
        if (scan_char(s, ']')) return true;
        do {
            const char *str;
            size_t len;
            int h;
            if (!scan_plain_string(s, &str, &len) ||
                (h = ldr_honour_parse(str, len)) < 0)
                return false;
            ind->honours |= 1u << h;
        } while (scan_char(s, ','));
        return scan_char(s, ']');
    }
    case LDR_IND_DEVELOPMENT_SCORE: {
        int64_t v;
        if (scan_literal(s, "null")) {
            ind->has_development_score = false;
            return true;
        }
        if (!scan_int64(s, &v) || v < INT32_MIN || v > INT32_MAX) return false;
        ind->has_development_score = true;
        ind->development_score = (int32_t)v;
        return true;
    }
    }
    return false;
}

/* The per-line keys that are not Indicators fields. */
enum { K_TIER = FIELD_COUNT, K_MODE, K_AT, K__COUNT };

static size_t find_key(const char *key, size_t len, size_t hint) {
    /* Lines usually list the fields in contract order: try the next one
     * first, then search. */
    if (hint < FIELD_COUNT && strlen(fields[hint].name) == len &&
        memcmp(fields[hint].name, key, len) == 0)
        return hint;
    for (size_t f = 0; f < FIELD_COUNT; f++)
        if (strlen(fields[f].name) == len &&
            memcmp(fields[f].name, key, len) == 0)
            return f;
    if (len == 4 && memcmp(key, "tier", 4) == 0) return K_TIER;
    if (len == 4 && memcmp(key, "mode", 4) == 0) return K_MODE;
    if (len == 2 && memcmp(key, "at", 2) == 0) return K_AT;
    return K__COUNT;
}

/* Fills @p req from the line when it has the common shape; false hands the
 * line to the jansson path (req may then be half-written: the caller
 * starts that path from a fresh copy). */
static bool fast_request(const char *line, size_t len, struct request *req) {
    struct scan s = {line, line + len};
    uint64_t seen = 0;
    size_t hint = 0;
    _Static_assert(K__COUNT <= 64, "seen is a 64-bit set");
    if (!scan_char(&s, '{')) return false;
    if (!scan_char(&s, '}')) {
        do {
            const char *key, *str;
            size_t klen, slen, k;
            if (!scan_plain_string(&s, &key, &klen) || !scan_char(&s, ':'))
                return false;
            k = find_key(key, klen, hint);
            if (k == K__COUNT || (seen >> k) & 1u) return false;
            seen |= (uint64_t)1 << k;
            hint = k + 1;
            if (k < FIELD_COUNT) {
                if (!fast_field(&s, k, &req->ind)) return false;
            } else if (k == K_TIER) {
                if (!scan_plain_string(&s, &str, &slen) ||
                    (req->tier = ldr_tier_parse(str, slen)) < 0)
                    return false;
            } else if (k == K_MODE) {
                if (!scan_plain_string(&s, &str, &slen) ||
                    (req->mode = ldr_eval_mode_parse(str, slen)) < 0)
                    return false;
            } else {
                int64_t v;
                if (scan_plain_string(&s, &str, &slen)) {
                    if (ldr_time_parse(str, slen, &v, NULL, 0) != LDR_OK)
                        return false;
                } else if (!scan_int64(&s, &v)) {
                    return false;
                }
                req->at_ms = v;
                req->has_at = true;
            }
        } while (scan_char(&s, ','));
        if (!scan_char(&s, '}')) return false;
    }
    skip_ws(&s);
    if (s.p != s.end) return false;
    /* every field but development_score present */
    for (size_t f = 0; f < FIELD_COUNT; f++)
        if (!((seen >> f) & 1u) && fields[f].type != LDR_IND_DEVELOPMENT_SCORE)
            return false;
    return true;
}

/* ---- eval
 * -------------------------------------------------------------------- */

static void eval_usage(FILE *f) {
    fprintf(f, "Usage: ladder-policy eval [--tier TIER] [--mode "
               "application|review] [--at TIME]\n"
               "                          [--policy-dir DIR]\n"
               "Reads one JSON object per line on stdin: the Indicators fields "
               "of CONTRACT.md\n"
               "(enums as symbol names, honours as an array of names, "
               "development_score\n"
               "absent or null allowed), optionally with \"tier\", \"mode\" "
               "and \"at\" keys that\n"
               "override the flags for that line. Writes one JSON line per "
               "input line:\n"
               "  {\"policy_version\": \"...\", \"pass\": true|false, "
               "\"score\": N|null,\n"
               "   \"subscores\": {...}, \"reasons\": [...]}\n"
               "or, for a malformed line, {\"error\": \"...\", \"line\": N}. "
               "Blank lines are skipped.\n\n"
               "  --tier TIER        INNOVATIVE, SPECIALIZED or LITTLE_GIANT\n"
               "  --mode MODE        application (default) or review\n"
               "  --at TIME          event time: RFC 3339 "
               "(2022-06-01T00:00:00Z) or epoch ms;\n"
               "                     it selects the policy version\n"
               "  --policy-dir DIR   policy files (default: ./deploy/policy if "
               "it exists,\n"
               "                     else the source tree's deploy/policy)\n"
               "  --jansson-only     parse every line with jansson instead of "
               "the fast path\n"
               "                     for the common shape (same output; for "
               "cross-checks)\n"
               "  -h, --help         this help\n\n"
               "Exit status: 0 every line evaluated, 1 some line malformed (or "
               "the policy\n"
               "files failed to load), 2 usage error.\n");
}

static void write_result(struct out *o, const ldr_eval_result_t *r) {
    out_str(o, "{\"policy_version\": \"");
    out_str(o, ldr_policy_version(r->policy));
    out_str(o, r->pass ? "\", \"pass\": true, \"score\": "
                       : "\", \"pass\": false, \"score\": ");
    if (r->has_score)
        out_int(o, r->score);
    else
        out_str(o, "null");
    out_str(o, ", \"subscores\": {");
    for (size_t i = 0; i < r->subscores_count; i++) {
        if (i) out_str(o, ", ");
        out_json_string(o, r->subscores[i].name);
        out_str(o, ": ");
        out_int(o, r->subscores[i].value);
    }
    out_str(o, "}, \"reasons\": [");
    for (size_t i = 0; i < r->reasons_count; i++) {
        if (i) out_str(o, ", ");
        out_json_string(o, r->reasons[i]);
    }
    out_str(o, "]}\n");
}

static void write_error(struct out *o, const char *msg, size_t line) {
    out_str(o, "{\"error\": ");
    out_json_string(o, msg);
    out_str(o, ", \"line\": ");
    out_int(o, (long long)line);
    out_str(o, "}\n");
}

/* What the eval command line asked for: the defaults of every line. */
struct eval_opts {
    int tier, mode;
    bool has_at, jansson_only;
    int64_t at_ms;
    const char *dir;
};

/* eval_parse_opts(): go on with the command. */
#define EVAL_CONTINUE (-1)

/* Reads the eval options into @p o; EVAL_CONTINUE, or the exit status (0
 * after --help, EXIT_USAGE after a message on stderr). */
static int eval_parse_opts(int argc, char **argv, struct eval_opts *o) {
    static const struct option opts[] = {
        {"tier", required_argument, NULL, 't'},
        {"mode", required_argument, NULL, 'm'},
        {"at", required_argument, NULL, 'a'},
        {"policy-dir", required_argument, NULL, 'd'},
        {"jansson-only", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    *o = (struct eval_opts){.tier = -1, .mode = LDR_EVAL_APPLICATION};
    char terr[200];
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if ((o->tier = ldr_tier_parse(optarg, strlen(optarg))) < 0) {
                fprintf(stderr,
                        "ladder-policy eval: --tier: '%s' is not INNOVATIVE, "
                        "SPECIALIZED "
                        "or LITTLE_GIANT\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'm':
            if ((o->mode = ldr_eval_mode_parse(optarg, strlen(optarg))) < 0) {
                fprintf(stderr,
                        "ladder-policy eval: --mode: '%s' is not application "
                        "or review\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'a':
            if (ldr_time_parse(optarg, strlen(optarg), &o->at_ms, terr,
                               sizeof terr) != LDR_OK) {
                fprintf(stderr, "ladder-policy eval: --at: %s\n", terr);
                return EXIT_USAGE;
            }
            o->has_at = true;
            break;
        case 'd': o->dir = optarg; break;
        case 'j': o->jansson_only = true; break;
        case 'h': eval_usage(stdout); return 0;
        default: eval_usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr,
                "ladder-policy eval: unexpected argument '%s' (input comes on "
                "stdin)\n",
                argv[optind]);
        return EXIT_USAGE;
    }
    return EVAL_CONTINUE;
}

/* Evaluates one non-blank input line @p s of @p len bytes (line @p lineno)
 * and appends its result, or its error, to @p out: false when the line
 * was malformed. */
static bool eval_line(const ldr_policies_t *set, const struct eval_opts *o,
                      const char *s, size_t len, size_t lineno,
                      struct out *out) {
    char err[512];
    struct request req;
    memset(&req, 0, sizeof req);
    req.tier = o->tier;
    req.mode = o->mode;
    req.has_at = o->has_at;
    req.at_ms = o->at_ms;
    struct request fast = req;
    bool ok = true;
    if (!o->jansson_only && fast_request(s, len, &fast)) {
        req = fast;
    } else {
        json_error_t jerr;
        json_t *obj = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!obj)
            ok = line_error(err, sizeof err, "not JSON: %s (column %d)",
                            jerr.text, jerr.column);
        else
            ok = read_request(obj, &req, err, sizeof err);
        json_decref(obj);
    }
    if (ok && req.tier < 0)
        ok = line_error(err, sizeof err,
                        "no tier: give --tier or a \"tier\" field");
    if (ok && !req.has_at)
        ok = line_error(err, sizeof err,
                        "no time: give --at or an \"at\" field");
    if (ok) {
        ldr_eval_result_t r;
        ldr_policy_evaluate(set, (ldr_tier_t)req.tier,
                            (ldr_eval_mode_t)req.mode, req.at_ms, &req.ind, &r);
        if (!r.policy)
            ok = line_error(err, sizeof err,
                            "no policy version applies at that time");
        else
            write_result(out, &r);
    }
    if (!ok) write_error(out, err, lineno);
    return ok;
}

static int cmd_eval(int argc, char **argv) {
    struct eval_opts opts;
    int rc = eval_parse_opts(argc, argv, &opts);
    if (rc != EVAL_CONTINUE) return rc;
    ldr_policies_t *set =
        load_policies(opts.dir ? opts.dir : default_policy_dir());
    if (!set) return EXIT_FAILED;

    setvbuf(stdout, NULL, _IOFBF,
            1 << 16); /* one write per 64 KiB, not per line */
    struct out o = {NULL, 0, 0};
    char *line = NULL;
    size_t line_cap = 0, lineno = 0, bad = 0;
    ssize_t n;
    while ((n = getline(&line, &line_cap, stdin)) != -1) {
        lineno++;
        size_t len = (size_t)n;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
                           line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        size_t start = 0;
        while (start < len && (line[start] == ' ' || line[start] == '\t'))
            start++;
        if (start == len) continue;
        o.len = 0;
        if (!eval_line(set, &opts, line + start, len - start, lineno, &o))
            bad++;
        fwrite(o.buf, 1, o.len, stdout);
    }
    free(line);
    free(o.buf);
    ldr_policies_destroy(set);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "ladder-policy eval: writing stdout: %s\n",
                strerror(errno));
        return EXIT_FAILED;
    }
    if (bad) {
        fprintf(stderr, "ladder-policy eval: %zu of %zu lines malformed\n", bad,
                lineno);
        return EXIT_FAILED;
    }
    return 0;
}

/* ---- check
 * ------------------------------------------------------------------- */

static void check_usage(FILE *f) {
    fprintf(f, "Usage: ladder-policy check [DIR|FILE]...\n"
               "Validates policy files completely: every threshold, band, "
               "criterion and\n"
               "lifecycle parameter, and (for a directory) the set as a whole: "
               "same_as\n"
               "references and which version applies when. A FILE is checked "
               "on its own\n"
               "(its same_as references are not resolved). Default: "
               "./deploy/policy if it\n"
               "exists, else the source tree's deploy/policy.\n"
               "Problems name the file and the JSON path, e.g.\n"
               "  deploy/policy/miit-2022.json: "
               "$.tiers.SPECIALIZED.criteria[1].when: missing "
               "threshold ...\n\n"
               "  -h, --help   this help\n\n"
               "Exit status: 0 valid, 1 invalid, 2 usage error.\n");
}

static bool check_one(const char *path) {
    char err[1024], when[2][LDR_TIME_FORMAT_SIZE + 8];
    if (!is_dir(path)) {
        ldr_policy_t *p;
        if (ldr_policy_load_file(path, &p, err, sizeof err) != LDR_OK) {
            fprintf(stderr, "ladder-policy check: %s\n", err);
            return false;
        }
        printf("%s: ok (version %s, checked alone)\n", path,
               ldr_policy_version(p));
        ldr_policy_destroy(p);
        return true;
    }
    ldr_policies_t *set = ldr_policies_load_dir(path, err, sizeof err);
    if (!set) {
        fprintf(stderr, "ladder-policy check: %s\n", err);
        return false;
    }
    printf("%s: ok, %zu policy version%s\n", path, ldr_policies_count(set),
           ldr_policies_count(set) == 1 ? "" : "s");
    for (size_t i = 0; i < ldr_policies_count(set); i++) {
        const ldr_policy_t *p = ldr_policies_get(set, i);
        for (int m = 0; m < LDR_EVAL__COUNT; m++) {
            int64_t from;
            if (ldr_policy_applies_from(p, (ldr_eval_mode_t)m, &from)) {
                char t[LDR_TIME_FORMAT_SIZE];
                ldr_time_format(from, t, sizeof t);
                snprintf(when[m], sizeof when[m], "from %s", t);
            } else {
                snprintf(when[m], sizeof when[m], "from the beginning");
            }
        }
        printf("  %s: applications %s, reviews %s\n", ldr_policy_version(p),
               when[0], when[1]);
    }
    ldr_policies_destroy(set);
    return true;
}

static int cmd_check(int argc, char **argv) {
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            check_usage(stdout);
            return 0;
        }
        check_usage(stderr);
        return EXIT_USAGE;
    }
    bool ok = true;
    if (optind == argc)
        return check_one(default_policy_dir()) ? 0 : EXIT_FAILED;
    for (int i = optind; i < argc; i++)
        ok = check_one(argv[i]) && ok;
    return ok ? 0 : EXIT_FAILED;
}

/* ---- show
 * -------------------------------------------------------------------- */

static void show_usage(FILE *f) {
    fprintf(f, "Usage: ladder-policy show VERSION [--policy-dir DIR]\n"
               "Prints the rules of a policy version (e.g. miit-2022) in "
               "readable form:\n"
               "when it applies, lifecycle parameters, and per tier the score, "
               "the criteria\n"
               "in reporting order and the direct-qualification paths.\n\n"
               "  --policy-dir DIR   policy files (default: ./deploy/policy if "
               "it exists,\n"
               "                     else the source tree's deploy/policy)\n"
               "  -h, --help         this help\n\n"
               "Exit status: 0 shown, 1 unknown version or invalid files, 2 "
               "usage error.\n");
}

static int cmd_show(int argc, char **argv) {
    static const struct option opts[] = {
        {"policy-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'h': show_usage(stdout); return 0;
        default: show_usage(stderr); return EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        show_usage(stderr);
        return EXIT_USAGE;
    }
    const char *version = argv[optind];
    ldr_policies_t *set = load_policies(dir ? dir : default_policy_dir());
    if (!set) return EXIT_FAILED;
    const ldr_policy_t *p = ldr_policies_find(set, version, strlen(version));
    if (!p) {
        fprintf(stderr,
                "ladder-policy show: no policy version '%s'; known:", version);
        for (size_t i = 0; i < ldr_policies_count(set); i++)
            fprintf(stderr, " %s",
                    ldr_policy_version(ldr_policies_get(set, i)));
        fputc('\n', stderr);
        ldr_policies_destroy(set);
        return EXIT_FAILED;
    }
    ldr_policy_show(p, stdout);
    ldr_policies_destroy(set);
    return 0;
}

/* ---- main
 * -------------------------------------------------------------------- */

static void usage(FILE *f) {
    fprintf(f, "Usage: ladder-policy COMMAND [OPTION]...\n"
               "Evaluates declarations against ladder's policy files, checks "
               "and shows them.\n\n"
               "Commands:\n"
               "  eval    evaluate JSON Lines of Indicators from stdin "
               "(ladder-policy eval --help)\n"
               "  check   validate policy files (ladder-policy check --help)\n"
               "  show    print a policy version's rules (ladder-policy show "
               "--help)\n\n"
               "  -h, --help   this help\n"
               "  --version    show the version and exit\n\n"
               "Exit status: 0 ok, 1 malformed input or invalid policy files, "
               "2 usage error.\n");
}

int main(int argc, char **argv) {
    if (ldr_svc_version("ladder-policy", argc, argv)) return 0;
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    /* getopt_long sees the subcommand's arguments with the command as argv[0].
     */
    argc--;
    argv++;
    if (strcmp(cmd, "eval") == 0) return cmd_eval(argc, argv);
    if (strcmp(cmd, "check") == 0) return cmd_check(argc, argv);
    if (strcmp(cmd, "show") == 0) return cmd_show(argc, argv);
    fprintf(stderr, "ladder-policy: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
