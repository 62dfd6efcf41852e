/* webhook.h -- the signatures of a webhook request, and which webhook hosts
 * may be reached in the clear.
 *
 * DESIGN: a notice is POSTed with two signatures, both lower-case hex
 * HMAC-SHA256 keyed by the subscriber's secret (docs/NOTIFY.md). The first
 * (X-Ladder-Signature) covers the body only, so a recorded request can be
 * replayed at will; the second (X-Ladder-Signature-V2) covers
 * "<timestamp>.<body>", where the timestamp (X-Ladder-Timestamp, Unix
 * seconds) is the time of that attempt, so a receiver that checks it
 * against its own clock refuses an old request replayed later. Both are
 * pure functions of their arguments, computed here so that the notifier
 * and the tests share one definition. */
#ifndef LADDER_WEBHOOK_H
#define LADDER_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Size of a signature's hex text: 64 digits and the NUL. */
#define LDR_WEBHOOK_HEX_SIZE 65

/** Shortest secret a subscriber may have, in bytes (the HMAC-SHA256 key
 *  should be as long as its output). */
#define LDR_WEBHOOK_SECRET_MIN 32

/** How far, in seconds, a receiver lets X-Ladder-Timestamp lie from its
 *  own clock, either way, before it refuses the request. */
#define LDR_WEBHOOK_TOLERANCE_S 300

/** The body-only signature: lower-case hex of HMAC-SHA256(@p secret,
 *  @p body) into @p hex. */
void ldr_webhook_sign_v1(const char *secret, const void *body, size_t len,
                         char hex[LDR_WEBHOOK_HEX_SIZE]);

/** The timestamped signature: lower-case hex of HMAC-SHA256(@p secret,
 *  "<@p ts>.<@p body>"), @p ts in decimal Unix seconds, into @p hex. */
void ldr_webhook_sign_v2(const char *secret, int64_t ts, const void *body,
                         size_t len, char hex[LDR_WEBHOOK_HEX_SIZE]);

/** True when URL host @p host (as a URL parser returns it: IPv6 in
 *  brackets or not) is this machine: "localhost", 127.0.0.0/8 or ::1. */
bool ldr_webhook_host_is_loopback(const char *host);

#endif
