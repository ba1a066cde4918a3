/*
 * oauth/password.h - password hashing with scrypt (OpenSSL 3 EVP_KDF).
 *
 * Owns: the stored format and the cost parameters:
 *     $scrypt$ln=15,r=8,p=3$<salt, 16 bytes, base64url>$<key, 32 bytes, base64url>
 * N = 2^15, r = 8, p = 3 is one of OWASP's equivalent scrypt settings (the
 * same work as N = 2^17, p = 1) with 32 MiB of memory per hash instead of
 * 128 MiB, so that many responder processes can verify at once. The
 * parameters are read back from each stored hash, so they can be raised
 * later without invalidating existing passwords.
 * Why scrypt: it is memory-hard and in the OpenSSL 3.0 we already link;
 * Argon2 needs OpenSSL 3.2 or another library (libargon2).
 * Must not touch: storage; passwords are never logged or kept.
 */
#ifndef MG_OAUTH_PASSWORD_H
#define MG_OAUTH_PASSWORD_H

#include <stddef.h>

#define OAUTH_PASSWORD_HASH_MAX 160
#define OAUTH_PASSWORD_MAX_LEN  1024 /* longer passwords are refused */

/* Hashes password with a fresh salt into out. Returns 0, or -1 when the
 * password is empty or too long, or the KDF failed (logged). */
__attribute__((warn_unused_result)) int oauth_password_hash(const char *password,
                                                            char out[OAUTH_PASSWORD_HASH_MAX]);

/* Returns 1 when password matches stored, else 0 (also for a malformed
 * stored hash). With stored NULL it spends the same time and returns 0,
 * so unknown accounts cannot be told apart by timing. */
int oauth_password_verify(const char *password, const char *stored);

#endif
