/*
 * util/seal.h - authenticated encryption of stored secrets (AES-256-GCM,
 * OpenSSL EVP) under keys from the configuration.
 *
 * Owns: the sealed format and the key syntax. A sealed value is one line
 * of text:
 *
 *   sealed = "v1:" key-id ":" b64url(nonce) ":" b64url(ciphertext || tag)
 *   key-id = 1*32( ALPHA / DIGIT / "_" / "-" / "." )
 *   nonce  = 12 random bytes, new for every value (RAND_bytes)
 *   tag    = the 16-byte GCM tag
 *
 * (b64url: base64url without padding, util/crypto.h.) The associated data
 * authenticated with the value is "v1:" key-id, a NUL, then the caller's
 * binding (the owner of the value: backend, slot and user), so a sealed
 * value copied to another row, or given another key id, does not open.
 *
 * A key is given as "key-id:64 hex digits" (credential_key in the
 * configuration). Several keys may be known: the first seals, every one
 * opens (the key id in the value says which): rotation adds a key in
 * front, re-seals every stored value, then drops the old key.
 *
 * Must not touch: storage, logging of key material or plaintext.
 */
#ifndef MG_UTIL_SEAL_H
#define MG_UTIL_SEAL_H

#include "util/error.h"

#include <stddef.h>

#define SEAL_KEY_LEN    32
#define SEAL_KEY_ID_MAX 32
#define SEAL_NONCE_LEN  12
#define SEAL_TAG_LEN    16
#define SEAL_MAX_PLAIN  16384 /* largest value sealed */
#define SEAL_MAX_KEYS   8

struct seal_key {
    char id[SEAL_KEY_ID_MAX + 1];
    unsigned char key[SEAL_KEY_LEN]; /* secret: never logged, cleared with seal_key_clear() */
};

enum seal_rc {
    SEAL_OK = 0,
    SEAL_FORMAT, /* not a sealed value of a known version */
    SEAL_NO_KEY, /* sealed under a key id none of the keys has */
    SEAL_BAD,    /* does not authenticate: tampered, wrong owner or wrong key material */
};

/* Parses "key-id:64 hex digits" into out. Returns 0, or -1 with a message
 * (which never quotes the key material) in err. out is written only on
 * success. */
__attribute__((warn_unused_result)) int seal_key_parse(const char *spec, struct seal_key *out,
                                                       struct mg_error *err);

/* Clears a key's material. Accepts NULL. */
void seal_key_clear(struct seal_key *k);

/* Seals n bytes of plain (n <= SEAL_MAX_PLAIN) under k, bound to aad
 * (aad_len bytes, may be 0). Returns a new NUL-terminated string the
 * caller frees, or NULL when n is too large. Aborts if OpenSSL fails. */
char *seal_encrypt(const struct seal_key *k, const void *plain, size_t n, const void *aad,
                   size_t aad_len);

/* Opens sealed with whichever of keys[0..n_keys) its key id names, checking
 * the binding aad. On SEAL_OK *plain is a new NUL-terminated string of
 * *plain_len bytes (clear it with explicit_bzero before free); otherwise
 * nothing is written. */
__attribute__((warn_unused_result)) enum seal_rc seal_decrypt(const struct seal_key *keys,
                                                              int n_keys, const char *sealed,
                                                              const void *aad, size_t aad_len,
                                                              char **plain, size_t *plain_len);

/* Copies the key id of sealed into out (SEAL_KEY_ID_MAX + 1 bytes).
 * Returns 0, or -1 when sealed is not in the format. */
int seal_key_id(const char *sealed, char out[SEAL_KEY_ID_MAX + 1]);

/* A short, static description of rc for messages. */
const char *seal_strerror(enum seal_rc rc);

#endif
