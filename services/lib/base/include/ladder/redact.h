/* redact.h -- secrets kept out of logs and error messages.
 *
 * DESIGN: a password may reach a message through a URL
 * (redis://user:pass@host, https://user:pass@host/hook) or through a
 * configuration value whose key holds a secret (redis.password,
 * notify.subscriber.*.secret, kafka.sasl.password, api.token...). Every
 * message that shows a URL or a configuration value passes it through one
 * of these helpers, so which keys are secret and how a URL's password is
 * found is decided in one place. They err on the side of hiding: text that
 * might be a password is replaced, never guessed to be harmless. Each writes
 * into a caller-sized buffer and never allocates, so a log call can use
 * them. */
#ifndef LADDER_REDACT_H
#define LADDER_REDACT_H

#include <stddef.h>

/** What a hidden secret is replaced with. */
#define LDR_REDACT_MASK "***"

/** Copies @p text into @p buf (@p size bytes; cut to fit) with the password
 *  of every URL in it replaced by LDR_REDACT_MASK: after each "://", the
 *  user information up to the last '@' before the next space or quote.
 *  "redis://u:pw@h:1/0" -> "redis://u:***@h:1/0". In redis:// and
 *  rediss:// URLs the user information without ':' is the password
 *  (for "redis://pw@h" only the host part "@h" stays, as redis.url reads it);
 * elsewhere it is a user name and is kept. Returns @p buf. */
const char *ldr_redact_url(const char *text, char *buf, size_t size);

/** A URL whose path is a secret (a webhook: https://host/hooks/TOKEN) as a
 *  message may show it: the scheme, LDR_REDACT_MASK + "@" for any user
 *  information, the host and port, then, when a path, query or fragment
 *  follows, "/" + LDR_REDACT_MASK in its place: "https://u:pw@h:8443/a?b"
 *  becomes "https://" "***@h:8443/" "***". When the host cannot be told
 *  from the rest (an '@' after the first '/', '?' or '#'), only the scheme
 *  and "://" + LDR_REDACT_MASK are shown; without "://", LDR_REDACT_MASK.
 *  Written into @p buf; returns @p buf. */
const char *ldr_redact_url_path(const char *url, char *buf, size_t size);

/** Non-zero when configuration key @p key (a table key or a kafka.* key,
 *  any case) holds a secret: a last segment "password", "secret" or
 *  "token", a key ending in "basic.auth.user.info", and librdkafka's
 *  sasl.oauthbearer.config and ssl.key.pem. */
int ldr_redact_is_secret_key(const char *key);

/** @p value as a message may show it for @p key: LDR_REDACT_MASK for a
 *  secret key, else @p value with its URLs redacted as ldr_redact_url()
 *  does, except that the value is taken as one word (a password with a
 *  blank in it is hidden whole), into @p buf. Returns @p buf. */
const char *ldr_redact_config_value(const char *key, const char *value,
                                    char *buf, size_t size);

/** How many leading characters of @p line can make up a configuration key
 *  (letters, digits, '.', '_', '-', '*'): "api.token: x" -> 9. */
size_t ldr_redact_key_len(const char *line);

/** A configuration file line as a message may show it. With an '=', its
 *  key is the text before it: a secret key's value becomes LDR_REDACT_MASK
 *  ("redis.password = ***"), any other line has its URLs redacted. Without
 *  an '=' the line is malformed and what follows its key
 *  (ldr_redact_key_len()) is likely the value, of whatever key, so only
 *  the key is kept: "api.token: tok" -> "api.token ***". Written into
 *  @p buf; returns @p buf. */
const char *ldr_redact_config_line(const char *line, char *buf, size_t size);

/** Copies @p text into @p buf with every occurrence of @p secret (when it
 *  is not empty) replaced by LDR_REDACT_MASK, for a library's message that
 *  may quote a secret value back (librdkafka refusing a property). Returns
 *  @p buf. */
const char *ldr_redact_secret_in(const char *text, const char *secret,
                                 char *buf, size_t size);

#endif
