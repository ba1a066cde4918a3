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

/* Takes one of max password-hashing slots of this process, without waiting:
 * a flood of sign-ins is answered at once instead of queueing behind
 * scrypt (32 MiB and tens of milliseconds of CPU each) and starving other
 * requests. Returns 1 (taken: give it back with
 * oauth_password_slot_release()) or 0 (all max in use). Thread-safe. */
int oauth_password_slot_take(int max);

/* Gives back a slot oauth_password_slot_take() returned. */
void oauth_password_slot_release(void);

#endif
