/* redact.c -- secrets kept out of logs and error messages (redact.h).
 *
 * DESIGN: the helpers copy their input through one bounded appender, so a
 * result is always NUL-terminated and never longer than the caller's
 * buffer; a cut result may lose its tail, never gain a secret. The URL
 * scan takes the user information up to the last '@' of the URL's word,
 * as redis.url's parser does (a password may hold '@'), so a password with
 * an '@' in it is hidden whole; an '@' later in a path only hides more. */
#include "ladder/redact.h"

#include <string.h>
#include <strings.h>

struct redact_out {
    char *buf;
    size_t size, n;
};

static void redact_put(struct redact_out *o, const char *s, size_t len) {
    if (o->size == 0) return;
    size_t room = o->size - 1 - o->n;
    if (len > room) len = room;
    memcpy(o->buf + o->n, s, len);
    o->n += len;
    o->buf[o->n] = '\0';
}

static void redact_init(struct redact_out *o, char *buf, size_t size) {
    o->buf = buf;
    o->size = size;
    o->n = 0;
    if (size) buf[0] = '\0';
}

/* Where the word that starts at @p s ends: a blank or a quote. */
static size_t redact_word(const char *s) {
    return strcspn(s, " \t\r\n\"'<>");
}

/* A character of a configuration key: a table key, a kafka.* property
 * (any case), or a LADDER_ variable. */
static int redact_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
           c == '*';
}

static int redact_scheme_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' ||
           c == '-' || c == '.';
}

/* Appends @p text with its URLs' passwords masked. @p whole: the text is
 * one value (a configuration value), so a URL's user information may run
 * to its last '@' even across blanks and quotes, as redis.url's parser
 * reads it; in running text a URL ends at a blank or a quote. */
static void redact_urls(struct redact_out *o, const char *text, int whole) {
    const char *p = text;
    const char *sep;
    while ((sep = strstr(p, "://")) != NULL) {
        const char *auth = sep + 3;
        size_t word = whole ? strlen(auth) : redact_word(auth);
        const char *at = NULL;
        for (const char *c = auth; c < auth + word; c++)
            if (*c == '@') at = c;
        if (!at) {
            redact_put(o, p, (size_t)(auth - p));
            p = auth;
            continue;
        }
        /* The scheme is the run of letters (and + - .) before "://". */
        const char *scheme = sep;
        while (scheme > p && redact_scheme_char(scheme[-1]))
            scheme--;
        size_t slen = (size_t)(sep - scheme);
        int redis = (slen == 5 && strncasecmp(scheme, "redis", 5) == 0) ||
                    (slen == 6 && strncasecmp(scheme, "rediss", 6) == 0);
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        redact_put(o, p, (size_t)(auth - p));
        if (colon) {
            redact_put(o, auth, (size_t)(colon + 1 - auth));
            redact_put(o, LDR_REDACT_MASK, strlen(LDR_REDACT_MASK));
        } else if (redis) {
            redact_put(o, LDR_REDACT_MASK, strlen(LDR_REDACT_MASK));
        } else {
            redact_put(o, auth, (size_t)(at - auth));
        }
        p = at; /* from the '@' on */
    }
    redact_put(o, p, strlen(p));
}

const char *ldr_redact_url(const char *text, char *buf, size_t size) {
    struct redact_out o;
    redact_init(&o, buf, size);
    if (text) redact_urls(&o, text, 0);
    return buf;
}

const char *ldr_redact_url_path(const char *url, char *buf, size_t size) {
    struct redact_out o;
    redact_init(&o, buf, size);
    if (!url) return buf;
    const char *sep = strstr(url, "://");
    if (!sep) {
        redact_put(&o, LDR_REDACT_MASK, strlen(LDR_REDACT_MASK));
        return buf;
    }
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = strrchr(auth, '@');
    redact_put(&o, url, (size_t)(auth - url));
    if (at && at >= auth + alen) {
        /* A password with a '/' in it, or a path with an '@': which
         * part is the host cannot be told, so none is shown. */
        redact_put(&o, LDR_REDACT_MASK, strlen(LDR_REDACT_MASK));
        return buf;
    }
    const char *host = auth;
    if (at) {
        redact_put(&o, LDR_REDACT_MASK "@", strlen(LDR_REDACT_MASK) + 1);
        host = at + 1;
    }
    redact_put(&o, host, (size_t)(auth + alen - host));
    if (auth[alen] != '\0') {
        redact_put(&o, "/", 1);
        redact_put(&o, LDR_REDACT_MASK, strlen(LDR_REDACT_MASK));
    }
    return buf;
}

static int redact_ends_with(const char *s, size_t len, const char *suffix) {
    size_t sl = strlen(suffix);
    /* A whole last segment (or segments): "api.token", not "notoken". */
    return len >= sl && strncasecmp(s + len - sl, suffix, sl) == 0 &&
           (len == sl || s[len - sl - 1] == '.' || s[len - sl - 1] == '_');
}

int ldr_redact_is_secret_key(const char *key) {
    if (!key) return 0;
    size_t len = strlen(key);
    static const char *const last[] = {"password", "secret", "token"};
    for (size_t i = 0; i < sizeof(last) / sizeof(last[0]); i++)
        if (redact_ends_with(key, len, last[i])) return 1;
    return redact_ends_with(key, len, "basic.auth.user.info") ||
           redact_ends_with(key, len, "sasl.oauthbearer.config") ||
           redact_ends_with(key, len, "ssl.key.pem");
}

const char *ldr_redact_config_value(const char *key, const char *value,
                                    char *buf, size_t size) {
    struct redact_out o;
    redact_init(&o, buf, size);
    if (ldr_redact_is_secret_key(key))
        redact_put(&o, LDR_REDACT_MASK, strlen(LDR_REDACT_MASK));
    else if (value)
        redact_urls(&o, value, 1);
    return buf;
}

size_t ldr_redact_key_len(const char *line) {
    size_t n = 0;
    while (line && redact_key_char(line[n]))
        n++;
    return n;
}

const char *ldr_redact_config_line(const char *line, char *buf, size_t size) {
    struct redact_out o;
    redact_init(&o, buf, size);
    if (!line) return buf;
    const char *start = line + strspn(line, " \t");
    const char *eq = strchr(start, '=');
    if (!eq) {
        /* No '=': what follows the key is likely its value, whatever
         * the key ("api.token: x", a misspelt "redis.pasword x"). */
        size_t kl = ldr_redact_key_len(start);
        redact_put(&o, line, (size_t)(start - line) + kl);
        if (start[kl + strspn(start + kl, " \t:")] != '\0') {
            redact_put(&o, " ", 1);
            redact_put(&o, LDR_REDACT_MASK, strlen(LDR_REDACT_MASK));
        }
        return buf;
    }
    size_t klen = (size_t)(eq - start);
    char key[256];
    size_t kl = klen;
    while (kl && (start[kl - 1] == ' ' || start[kl - 1] == '\t'))
        kl--;
    if (kl < sizeof(key)) {
        memcpy(key, start, kl);
        key[kl] = '\0';
        if (ldr_redact_is_secret_key(key)) {
            redact_put(&o, line, (size_t)(start - line) + kl);
            redact_put(&o, " = ", 3);
            redact_put(&o, LDR_REDACT_MASK, strlen(LDR_REDACT_MASK));
            return buf;
        }
    }
    redact_urls(&o, line, 0);
    return buf;
}

const char *ldr_redact_secret_in(const char *text, const char *secret,
                                 char *buf, size_t size) {
    struct redact_out o;
    redact_init(&o, buf, size);
    if (!text) return buf;
    size_t sl = secret ? strlen(secret) : 0;
    const char *p = text, *hit;
    while (sl && (hit = strstr(p, secret)) != NULL) {
        redact_put(&o, p, (size_t)(hit - p));
        redact_put(&o, LDR_REDACT_MASK, strlen(LDR_REDACT_MASK));
        p = hit + sl;
    }
    redact_put(&o, p, strlen(p));
    return buf;
}
