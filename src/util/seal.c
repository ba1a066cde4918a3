/*
 * util/seal.c - AES-256-GCM sealing of stored secrets (format in
 * util/seal.h). NIST SP 800-38D: a 96-bit random nonce per value (at most
 * 2^32 values per key keep the collision chance negligible), a 128-bit tag.
 */
#include "util/seal.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/crypto.h"

#define SEAL_PREFIX "v1:"

static int key_id_ok(const char *s, size_t n)
{
    if (n < 1 || n > SEAL_KEY_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

int seal_key_parse(const char *spec, struct seal_key *out, struct mg_error *err)
{
    const char *colon = strchr(spec, ':');
    if (!colon || !key_id_ok(spec, (size_t)(colon - spec))) {
        mg_error_msg(err,
                     "credential_key must be KEY-ID:HEX, the key id 1 to %d characters of "
                     "A-Z a-z 0-9 _ - .",
                     SEAL_KEY_ID_MAX);
        return -1;
    }
    const char *hex = colon + 1;
    if (strlen(hex) != 2 * SEAL_KEY_LEN) {
        mg_error_msg(err,
                     "credential_key %.*s: the key must be %d hex digits (32 random bytes, e.g. "
                     "openssl rand -hex 32)",
                     (int)(colon - spec), spec, 2 * SEAL_KEY_LEN);
        return -1;
    }
    struct seal_key k;
    if (crypto_hex_decode(hex, SEAL_KEY_LEN, k.key) < 0) {
        explicit_bzero(&k, sizeof k);
        mg_error_msg(err, "credential_key %.*s: the key must be hex digits only",
                     (int)(colon - spec), spec);
        return -1;
    }
    memcpy(k.id, spec, (size_t)(colon - spec));
    k.id[colon - spec] = '\0';
    *out = k;
    explicit_bzero(&k, sizeof k);
    return 0;
}

void seal_key_clear(struct seal_key *k)
{
    if (k)
        explicit_bzero(k, sizeof *k);
}

/* The associated data: "v1:" key-id NUL binding. A new buffer. */
static unsigned char *full_aad(const char *key_id, size_t id_len, const void *aad, size_t aad_len,
                               size_t *out_len)
{
    size_t n = strlen(SEAL_PREFIX) + id_len + 1 + aad_len;
    unsigned char *b = xmalloc(n);
    memcpy(b, SEAL_PREFIX, strlen(SEAL_PREFIX));
    memcpy(b + strlen(SEAL_PREFIX), key_id, id_len);
    b[strlen(SEAL_PREFIX) + id_len] = '\0';
    if (aad_len)
        memcpy(b + strlen(SEAL_PREFIX) + id_len + 1, aad, aad_len);
    *out_len = n;
    return b;
}

/* One AES-256-GCM operation. enc: in -> out, tag written; else in -> out
 * with tag checked. Returns 0, or -1 when the tag does not match. */
static int gcm(int enc, const unsigned char *key, const unsigned char *nonce,
               const unsigned char *aad, size_t aad_len, const unsigned char *in, size_t n,
               unsigned char *out, unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        abort();
    int len = 0, ok = 1;
    ok = ok && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) == 1;
    ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1;
    if (!ok)
        abort();
    if (aad_len && EVP_CipherUpdate(ctx, NULL, &len, aad, (int)aad_len) != 1)
        abort();
    if (n && EVP_CipherUpdate(ctx, out, &len, in, (int)n) != 1)
        abort();
    if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, tag) != 1)
        abort();
    int rc = EVP_CipherFinal_ex(ctx, out + (n ? len : 0), &len) == 1 ? 0 : -1;
    if (rc < 0 && enc)
        abort();
    if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, tag) != 1)
        abort();
    EVP_CIPHER_CTX_free(ctx); /* clears the key schedule */
    return rc;
}

char *seal_encrypt(const struct seal_key *k, const void *plain, size_t n, const void *aad,
                   size_t aad_len)
{
    if (n > SEAL_MAX_PLAIN)
        return NULL;
    unsigned char nonce[SEAL_NONCE_LEN];
    crypto_random(nonce, sizeof nonce);
    size_t ct_len = n + SEAL_TAG_LEN;
    unsigned char *ct = xmalloc(ct_len);
    size_t a_len;
    unsigned char *a = full_aad(k->id, strlen(k->id), aad, aad_len, &a_len);
    gcm(1, k->key, nonce, a, a_len, plain, n, ct, ct + n);
    free(a);
    size_t id_len = strlen(k->id);
    size_t total = strlen(SEAL_PREFIX) + id_len + 1 + crypto_b64url_len(sizeof nonce) + 1 +
                   crypto_b64url_len(ct_len) + 1;
    char *out = xmalloc(total);
    char *p = out;
    memcpy(p, SEAL_PREFIX, strlen(SEAL_PREFIX));
    p += strlen(SEAL_PREFIX);
    memcpy(p, k->id, id_len);
    p += id_len;
    *p++ = ':';
    p += crypto_b64url_encode(nonce, sizeof nonce, p);
    *p++ = ':';
    p += crypto_b64url_encode(ct, ct_len, p);
    *p = '\0';
    free(ct);
    return out;
}

/* Splits sealed into its parts. Returns 0, or -1. */
static int split(const char *sealed, const char **id, size_t *id_len, const char **nonce,
                 size_t *nonce_len, const char **ct, size_t *ct_len)
{
    if (strncmp(sealed, SEAL_PREFIX, strlen(SEAL_PREFIX)) != 0)
        return -1;
    *id = sealed + strlen(SEAL_PREFIX);
    const char *c1 = strchr(*id, ':');
    if (!c1)
        return -1;
    *id_len = (size_t)(c1 - *id);
    *nonce = c1 + 1;
    const char *c2 = strchr(*nonce, ':');
    if (!c2)
        return -1;
    *nonce_len = (size_t)(c2 - *nonce);
    *ct = c2 + 1;
    *ct_len = strlen(*ct);
    if (!key_id_ok(*id, *id_len) || strchr(*ct, ':'))
        return -1;
    return 0;
}

int seal_key_id(const char *sealed, char out[SEAL_KEY_ID_MAX + 1])
{
    const char *id, *nonce, *ct;
    size_t id_len, nonce_len, ct_len;
    if (split(sealed, &id, &id_len, &nonce, &nonce_len, &ct, &ct_len) < 0)
        return -1;
    memcpy(out, id, id_len);
    out[id_len] = '\0';
    return 0;
}

enum seal_rc seal_decrypt(const struct seal_key *keys, int n_keys, const char *sealed,
                          const void *aad, size_t aad_len, char **plain, size_t *plain_len)
{
    const char *id, *nonce_b64, *ct_b64;
    size_t id_len, nonce_b64_len, ct_b64_len;
    if (split(sealed, &id, &id_len, &nonce_b64, &nonce_b64_len, &ct_b64, &ct_b64_len) < 0 ||
        ct_b64_len > 2 * (SEAL_MAX_PLAIN + SEAL_TAG_LEN))
        return SEAL_FORMAT;
    const struct seal_key *k = NULL;
    for (int i = 0; i < n_keys && !k; i++)
        if (strlen(keys[i].id) == id_len && memcmp(keys[i].id, id, id_len) == 0)
            k = &keys[i];
    if (!k)
        return SEAL_NO_KEY;
    unsigned char nonce[SEAL_NONCE_LEN + 3];
    if (nonce_b64_len != crypto_b64url_len(SEAL_NONCE_LEN) ||
        crypto_b64url_decode(nonce_b64, nonce_b64_len, nonce) != SEAL_NONCE_LEN)
        return SEAL_FORMAT;
    unsigned char *ct = xmalloc(ct_b64_len * 3 / 4 + 1);
    long ct_len = crypto_b64url_decode(ct_b64, ct_b64_len, ct);
    if (ct_len < SEAL_TAG_LEN) {
        free(ct);
        return SEAL_FORMAT;
    }
    size_t n = (size_t)ct_len - SEAL_TAG_LEN;
    char *out = xmalloc(n + 1);
    size_t a_len;
    unsigned char *a = full_aad(id, id_len, aad, aad_len, &a_len);
    int rc = gcm(0, k->key, nonce, a, a_len, ct, n, (unsigned char *)out, ct + n);
    free(a);
    free(ct);
    if (rc < 0) {
        explicit_bzero(out, n + 1);
        free(out);
        return SEAL_BAD;
    }
    out[n] = '\0';
    *plain = out;
    *plain_len = n;
    return SEAL_OK;
}

const char *seal_strerror(enum seal_rc rc)
{
    switch (rc) {
    case SEAL_OK:
        return "ok";
    case SEAL_FORMAT:
        return "not a sealed value";
    case SEAL_NO_KEY:
        return "sealed under a key that is not configured (credential_key)";
    case SEAL_BAD:
        return "does not authenticate (altered, moved, or another key)";
    }
    return "?";
}
