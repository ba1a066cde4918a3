/*
 * util/crypto.h - randomness, hashing, encodings and constant-time compare
 * on top of OpenSSL 3.
 *
 * Owns: how secrets are generated (RAND_bytes), hashed (SHA-256) and encoded
 * (base64url without padding, lowercase hex).
 * Must not touch: storage or HTTP.
 */
#ifndef MG_UTIL_CRYPTO_H
#define MG_UTIL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN     32
#define CRYPTO_SHA256_HEX_LEN 64

/* Fills out with n cryptographically secure random bytes. Aborts if the
 * generator fails (the process cannot work safely without it). */
void crypto_random(void *out, size_t n);

/* Encodes n bytes as base64url without padding into out, which must hold
 * crypto_b64url_len(n) + 1 bytes. Returns the encoded length. Cannot fail. */
size_t crypto_b64url_encode(const void *in, size_t n, char *out);
size_t crypto_b64url_len(size_t n);

/* Encodes n bytes as lowercase hex into out (2n + 1 bytes). Cannot fail. */
void crypto_hex_encode(const void *in, size_t n, char *out);

/* The value of one hex digit (0-9, a-f, A-F), or -1 for any other char. */
int crypto_hex_digit(char c);

/* Decodes the 2n hex digits (either case) at hex into n bytes at out.
 * Returns 0, or -1 when one of them is not a hex digit (a string shorter
 * than 2n ends in a NUL, which is not one); out is then partly written. */
int crypto_hex_decode(const char *hex, size_t n, unsigned char *out);

/* SHA-256 of s (len bytes) into out. Cannot fail. */
void crypto_sha256(const void *s, size_t len, unsigned char out[CRYPTO_SHA256_LEN]);

/* SHA-256 of s (len bytes) as 64 hex chars plus NUL in out. Cannot fail. */
void crypto_sha256_hex(const void *s, size_t len, char out[CRYPTO_SHA256_HEX_LEN + 1]);

/* Returns 1 when the n bytes at a and b are equal, in time independent of
 * their contents, else 0. */
int crypto_equal(const void *a, const void *b, size_t n);

/* Generates a random token of nbytes entropy as base64url into out, which
 * must hold crypto_b64url_len(nbytes) + 1 bytes. */
void crypto_token(size_t nbytes, char *out);

/* Decodes base64url without padding (n chars of in) into out, which must
 * hold n * 3 / 4 bytes. Returns the decoded length, or -1 when in holds a
 * character outside the alphabet, a length no encoder produces, or
 * non-zero trailing bits (so every byte string has one encoding). */
long crypto_b64url_decode(const char *in, size_t n, unsigned char *out);

/* HMAC-SHA256 of msg (len bytes) under key (keylen bytes) into out.
 * Aborts if OpenSSL fails (it cannot for these inputs). */
void crypto_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
                        unsigned char out[CRYPTO_SHA256_LEN]);

/* scrypt (RFC 7914) of password (plen bytes) with salt, N = 2^log_n, r and
 * p, into keylen bytes of key; at most 256 MB of memory. Returns 0, or -1
 * when OpenSSL refuses (parameters beyond its limits, out of memory). */
int crypto_scrypt(const char *password, size_t plen, const unsigned char *salt, size_t salt_len,
                  int log_n, int r, int p, unsigned char *key, size_t keylen);

/* Overwrites n bytes at p with zeros in a way the compiler keeps (a key
 * or a derived secret that is no longer needed). */
void crypto_wipe(void *p, size_t n);

/* Decodes standard base64 (RFC 4648 §4, padding required) into out (cap
 * bytes). Returns the decoded length, or -1 when in is not base64 or does
 * not fit. */
long crypto_b64_decode(const char *in, size_t n, unsigned char *out, size_t cap);

#endif
