/* webhook.c -- webhook signatures and the loopback test (webhook.h).
 *
 * DESIGN: the MAC is computed with OpenSSL's EVP_MAC interface, fed the
 * timestamp prefix and the body one after the other, so a large body is
 * never copied to be signed. Failures of OpenSSL here can only mean a
 * broken installation (HMAC and SHA-256 are always built in), and a
 * notice sent unsigned or signed wrongly would be refused by every
 * receiver anyway, so they abort rather than return an error nobody could
 * act on. */
#include "ladder/webhook.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* HMAC-SHA256(@p secret, @p prefix || @p body) as lower-case hex. */
static void webhook_hmac(const char *secret, const char *prefix,
                         const void *body, size_t len,
                         char hex[LDR_WEBHOOK_HEX_SIZE]) {
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end()};
    unsigned char out[EVP_MAX_MD_SIZE];
    size_t out_len = 0;
    if (!ctx ||
        !EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret),
                      params) ||
        !EVP_MAC_update(ctx, (const unsigned char *)prefix, strlen(prefix)) ||
        !EVP_MAC_update(ctx, body, len) ||
        !EVP_MAC_final(ctx, out, &out_len, sizeof(out)) || out_len != 32)
        abort();
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        hex[2 * i] = digits[out[i] >> 4];
        hex[2 * i + 1] = digits[out[i] & 15];
    }
    hex[64] = '\0';
}

void ldr_webhook_sign_v1(const char *secret, const void *body, size_t len,
                         char hex[LDR_WEBHOOK_HEX_SIZE]) {
    webhook_hmac(secret, "", body, len, hex);
}

void ldr_webhook_sign_v2(const char *secret, int64_t ts, const void *body,
                         size_t len, char hex[LDR_WEBHOOK_HEX_SIZE]) {
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "%" PRId64 ".", ts);
    webhook_hmac(secret, prefix, body, len, hex);
}

bool ldr_webhook_host_is_loopback(const char *host) {
    char bare[64];
    size_t len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof(bare)) return false;
    memcpy(bare, host, len);
    bare[len] = '\0';
    if (strcasecmp(bare, "localhost") == 0 ||
        strcasecmp(bare, "localhost.") == 0)
        return true;
    unsigned char addr[16];
    if (inet_pton(AF_INET, bare, addr) == 1) return addr[0] == 127;
    static const unsigned char one[16] = {[15] = 1};
    return inet_pton(AF_INET6, bare, addr) == 1 &&
           memcmp(addr, one, sizeof(one)) == 0;
}
