/*
 * util/jwk.h - JSON Web Key Sets (RFC 7517, RFC 7518 §6, RFC 8037) as the
 * public keys that verify JWS signatures, on top of OpenSSL 3.
 *
 * Owns: which keys of a set are trusted, the signature algorithms mcpgate
 * accepts, and the one place that turns a JWK into an OpenSSL key and checks
 * a signature with it. The set is what an issuer publishes at its jwks_uri:
 *
 *   { "keys": [ { "kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
 *                 "n": b64url, "e": b64url },
 *               { "kty": "EC", "crv": "P-256", "x": b64url, "y": b64url },
 *               { "kty": "OKP", "crv": "Ed25519", "x": b64url } ] }
 *
 * Kept: RSA keys of 2048 to 8192 bits (an odd n, an odd e above 1; no
 * primality test, which would cost up to a third of a second per key on
 * every fetch), EC keys on P-256 (x and y of exactly 32 bytes, a point on
 * the curve), Ed25519 keys (x of exactly 32 bytes).
 * Each key may name its "kid" (at most JWK_KID_MAX bytes), "use" (only "sig"
 * or absent is kept), "key_ops" (must then include "verify") and "alg" (one
 * of the algorithms below, matching the key type).
 * Skipped, each with a reason the caller can log: symmetric keys ("oct":
 * an HMAC key from a published set is never trusted), other curves and
 * types, encryption keys, malformed members, and every key that carries
 * private members ("d", "p", "q", "dp", "dq", "qi", "oth", "k"): a private
 * key in a public set is a leaked key, and anyone could sign with it.
 * A skipped key does not fail the set; a set that is not an object with a
 * "keys" array, or has more than JWK_SET_MAX_KEYS entries, does.
 * X.509 members (x5c, x5t, x5u) are ignored: the key is the JWK's own.
 *
 * Algorithms (RFC 7518 §3, RFC 8037 §3.1): RS256, PS256 (RSASSA-PSS with
 * SHA-256, MGF1 SHA-256, salt of 32 bytes), ES256 (the JOSE signature is
 * r || s, 32 bytes each), EdDSA (Ed25519; the fully specified name
 * "Ed25519" of RFC 9864 means the same). "none" and every HMAC algorithm
 * are not algorithms here at all, so no key can verify them.
 *
 * A parsed set is immutable: any number of threads may verify with it at
 * once. Must not touch: HTTP (fetching the set belongs to its caller),
 * storage, logging (reasons go back to the caller).
 */
#ifndef MG_UTIL_JWK_H
#define MG_UTIL_JWK_H

#include "util/error.h"

#include <json-c/json.h>
#include <stddef.h>

#define JWK_SET_MAX_KEYS  32    /* entries in one set */
#define JWK_SET_MAX_TEXT  65536 /* bytes of a set's JSON text */
#define JWK_KID_MAX       256   /* bytes of a kid */
#define JWK_RSA_MIN_BITS  2048  /* RFC 7518 §3.3 */
#define JWK_RSA_MAX_BITS  8192  /* bounds the work one signature check costs */
#define JWS_SIGNATURE_MAX 1024  /* bytes of a signature (RSA 8192) */

/* The signature algorithms a key may verify. */
enum jws_alg {
    JWS_ALG_NONE = 0, /* not an accepted algorithm (or, in a JWK, none named) */
    JWS_RS256,
    JWS_PS256,
    JWS_ES256,
    JWS_EDDSA,
};

enum jwk_kty {
    JWK_RSA,
    JWK_EC_P256,
    JWK_OKP_ED25519,
};

struct jwk;     /* one trusted public key; borrowed from its set */
struct jwk_set; /* the trusted keys of one issuer's set, and the skipped ones */

/* The algorithm named name ("RS256", "PS256", "ES256", "EdDSA", "Ed25519"),
 * or JWS_ALG_NONE for anything else ("none", "HS256", NULL, ...). Pure. */
enum jws_alg jws_alg_parse(const char *name);

/* The registered name of alg ("RS256", ...; "none" for JWS_ALG_NONE).
 * Static, cannot fail. */
const char *jws_alg_name(enum jws_alg alg);

/* Parses the JWK Set set (borrowed; the caller keeps it). Returns a new set
 * the caller frees with jwk_set_free(), possibly with no trusted key (see
 * jwk_set_skipped()); or NULL when set is not a JWK Set object with a
 * "keys" array of at most JWK_SET_MAX_KEYS entries, with the reason in
 * err->msg (util/error.h; err may be NULL). Aborts when memory or OpenSSL
 * fails. */
__attribute__((warn_unused_result)) struct jwk_set *jwk_set_parse(struct json_object *set,
                                                                  struct mg_error *err);

/* As jwk_set_parse(), from the set's JSON text (len bytes, at most
 * JWK_SET_MAX_TEXT). NULL with err->msg set when the text is not JSON or
 * too long, or as for jwk_set_parse(). */
__attribute__((warn_unused_result)) struct jwk_set *jwk_set_parse_text(const char *text, size_t len,
                                                                       struct mg_error *err);

/* Frees set and its keys. Accepts NULL. */
void jwk_set_free(struct jwk_set *set);

/* Number of trusted keys in set, and the i-th of them (0 <= i < count),
 * borrowed until set is freed. */
int jwk_set_count(const struct jwk_set *set);
const struct jwk *jwk_set_key(const struct jwk_set *set, int i);

/* Number of skipped entries in set, and the reason the i-th was skipped
 * (borrowed until set is freed; never quotes key material). When kid is not
 * NULL, *kid is that entry's kid, or NULL when it has none. */
int jwk_set_skipped_count(const struct jwk_set *set);
const char *jwk_set_skipped(const struct jwk_set *set, int i, const char **kid);

/* A key's kid (NULL when it has none; borrowed until its set is freed),
 * type, and the algorithm its JWK names (JWS_ALG_NONE when none). */
const char *jwk_kid(const struct jwk *key);
enum jwk_kty jwk_kty(const struct jwk *key);
enum jws_alg jwk_alg(const struct jwk *key);

/* 1 when key may verify signatures made with alg: the algorithm fits the
 * key's type (RS256 and PS256 an RSA key, ES256 a P-256 key, EdDSA an
 * Ed25519 key) and the JWK names no other algorithm; else 0. Pure. */
int jwk_fits(const struct jwk *key, enum jws_alg alg);

/* Checks the signature sig (sig_len bytes, in its JWS form) over msg (len
 * bytes, the JWS signing input) with key under alg. Returns 1 when it is
 * valid, 0 when it is not, or the key does not fit alg (jwk_fits()), or sig
 * has the wrong length for alg. Aborts only when OpenSSL cannot allocate. */
int jwk_verify(const struct jwk *key, enum jws_alg alg, const void *msg, size_t len,
               const unsigned char *sig, size_t sig_len);

/* Cache policy for a fetched set (the fetching is the caller's).
 *
 * How long a set fetched now may be used before it is fetched again, in
 * seconds, from the Cache-Control field value of the response that carried
 * it (RFC 9111 §5.2.2; NULL when the response had none): its "max-age"
 * (the first one; a value that is not all digits is ignored, one too large
 * counts as max_s), min_s when it says "no-store" or "no-cache", default_s
 * when it says neither; the result clamped to [min_s, max_s]. Directive
 * names are case-insensitive; quoted values are skipped whole. Pure. */
long long jwk_cache_lifetime(const char *cache_control, long long default_s, long long min_s,
                             long long max_s);

/* 1 when a token with an unknown kid may make the caller fetch the set
 * again now: the set was fetched at fetched_s, at least min_interval_s
 * before now_s (or "in the future", a clock that went back). Else 0, and
 * the token is refused with the set as it is: a flood of made-up kids
 * costs the issuer one fetch per interval at most. Pure. */
int jwk_refetch_allowed(long long fetched_s, long long now_s, long long min_interval_s);

#endif
