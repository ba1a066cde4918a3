/*
 * util/jwt.h - decode, verify and check JSON Web Tokens: OpenID Connect ID
 * tokens and JWT access tokens (RFC 7519, RFC 7515 compact serialization,
 * RFC 9068, OpenID Connect Core 1.0 §3.1.3.7).
 *
 * Owns: the token's syntax, the choice of key, and the claim rules. The
 * compact serialization (RFC 7515 §7.1), read strictly:
 *
 *   token     = b64header "." b64payload "." b64signature
 *   b64*      = 1*( ALPHA / DIGIT / "-" / "_" )   ; base64url, no padding,
 *                                                 ; zero trailing bits
 *   header    = a JSON object: "alg" (RS256, PS256, ES256, EdDSA), optional
 *               "kid" and "typ"; no "crit" (no extension is understood)
 *   payload   = a JSON object: the claims
 *
 * At most JWT_MAX_LEN bytes in all. Header and payload are valid UTF-8 JSON
 * without U+0000 escapes, integers that do not fit, or a member name twice
 * at the top level (RFC 7515 §5.2 allows refusing them; two "iss" read two
 * ways are how confusion starts). "alg" "none" and every HMAC algorithm are
 * refused before any key is looked at, so a public key can never be used as
 * an HMAC secret (key confusion). Keys come only from the caller's set:
 * "jwk", "jku", "x5u" and "x5c" in a header are ignored.
 *
 * Key choice: with a "kid", the set's keys of that kid that fit "alg"
 * (util/jwk.h jwk_fits()); without one, every key that fits "alg". No such
 * key is JWT_UNKNOWN_KID, the one result after which fetching the issuer's
 * set again can help (a rotated key); the caller refetches at most once per
 * interval, so a flood of made-up kids costs it nothing. A kid that names a
 * key of another type or algorithm is JWT_KEY_MISMATCH.
 *
 * Use: jwt_validate() for the whole check; or jwt_decode(), then (having
 * picked the issuer's set by jwt_unverified_claims(), say) jwt_verify() and
 * jwt_check_claims(). Must not touch: HTTP, storage, logging.
 *
 * Errors: each check returns its enum jwt_rc (the caller's decision hangs
 * on which one) and writes why to err->detail (util/error.h), log-only:
 * the caller logs it; it never quotes the token or its signature. err may
 * be NULL; its http, code and msg are left alone (jwt_strerror() says the
 * result in words fit for a client).
 */
#ifndef MG_UTIL_JWT_H
#define MG_UTIL_JWT_H

#include <json-c/json.h>
#include <stddef.h>

#include "util/error.h"
#include "util/jwk.h"

#define JWT_MAX_LEN    16384          /* bytes of a whole compact token */
#define JWT_HEADER_MAX 2048           /* bytes of the decoded header */
#define JWT_TIME_MAX   253402300799LL /* 9999-12-31T23:59:59Z: beyond, a time is refused */

enum jwt_rc {
    JWT_OK = 0,
    JWT_MALFORMED,     /* not a compact JWS of JSON objects, or over a size limit */
    JWT_ALG,           /* "alg" none, HMAC or unknown, or a "crit" header */
    JWT_UNKNOWN_KID,   /* no key of the set fits: refetching the set may help */
    JWT_KEY_MISMATCH,  /* the kid names a key of another type or algorithm */
    JWT_SIGNATURE,     /* the signature does not verify */
    JWT_CLAIM,         /* a required claim is missing, or a claim has the wrong type */
    JWT_EXPIRED,       /* now is at or past "exp" (plus the skew) */
    JWT_NOT_YET_VALID, /* "nbf" or "iat" is later than now (plus the skew) */
    JWT_ISSUER,        /* "iss" is not the expected issuer */
    JWT_AUDIENCE,      /* "aud" does not name an expected audience */
    JWT_NONCE,         /* "nonce" is absent or not the expected one */
    JWT_TYPE,          /* the header's "typ" is not the expected type */
    JWT_AZP,           /* "azp" is not the expected party, or absent where needed */
};

/* Claims a token must carry beyond "iss" and "exp" (always required). */
enum {
    JWT_REQUIRE_SUB = 1 << 0,       /* "sub", a non-empty string */
    JWT_REQUIRE_IAT = 1 << 1,       /* "iat", a NumericDate */
    JWT_REQUIRE_JTI = 1 << 2,       /* "jti", a non-empty string */
    JWT_REQUIRE_CLIENT_ID = 1 << 3, /* "client_id", a non-empty string */
};
/* What OpenID Connect Core §2 requires of an ID token ("aud" is required
 * by naming audiences in struct jwt_expect) and RFC 9068 §2.2 of a JWT
 * access token. */
#define JWT_REQUIRE_ID_TOKEN (JWT_REQUIRE_SUB | JWT_REQUIRE_IAT)
#define JWT_REQUIRE_ACCESS_TOKEN                                                                   \
    (JWT_REQUIRE_SUB | JWT_REQUIRE_IAT | JWT_REQUIRE_JTI | JWT_REQUIRE_CLIENT_ID)

/* What a token must say. Every pointer is borrowed for the call. */
struct jwt_expect {
    const char *issuer;           /* required: "iss" must equal it exactly */
    const char *const *audiences; /* "aud" (a string, or an array of them) must
                                     name one of these; NULL: "aud" not checked */
    size_t n_audiences;           /* entries in audiences */
    const char *nonce;            /* NULL: not checked; else "nonce" must equal it */
    const char *typ;              /* NULL: not checked; else the header's "typ", when
                                     present, must name it ("at+jwt" also matches
                                     "application/at+jwt", case-insensitively) */
    int typ_required;             /* 1: with typ set, a token without "typ" is refused */
    const char *azp;              /* NULL: not checked; else "azp", when present,
                                     must equal it, and must be present when "aud"
                                     names more than one audience (OIDC Core
                                     §3.1.3.7) */
    unsigned required;            /* JWT_REQUIRE_* bits */
    long long now_s;              /* the current time, seconds since the epoch */
    long long skew_s;             /* leeway for "exp", "nbf" and "iat" (>= 0) */
};

struct jwt; /* a decoded token: header and claims, and whether it was verified */

/* A short, static, lowercase description of rc, fit for a client or a page
 * (it names no value from the token). */
const char *jwt_strerror(enum jwt_rc rc);

/* The sentence a resource server tells the client whose bearer token rc
 * refused ("the token has expired"); the causes a client cannot act on
 * apart share one sentence. Static, names no value from the token. */
const char *jwt_refusal(enum jwt_rc rc);

/* Decodes the compact token (len bytes; need not be NUL-terminated)
 * without checking its signature. On JWT_OK *out is a new token the caller
 * frees with jwt_free(); on any other result (JWT_MALFORMED, JWT_ALG)
 * nothing is written to *out and err's detail says why. */
__attribute__((warn_unused_result)) enum jwt_rc jwt_decode(const char *token, size_t len,
                                                           struct jwt **out, struct mg_error *err);

/* Frees t. Accepts NULL. */
void jwt_free(struct jwt *t);

/* The header's algorithm (never JWS_ALG_NONE: jwt_decode() refuses it),
 * and its kid or NULL (borrowed until t is freed). */
enum jws_alg jwt_alg(const struct jwt *t);
const char *jwt_kid(const struct jwt *t);

/* The claims, NOT yet verified unless jwt_verify() returned JWT_OK: only
 * for choosing which issuer's key set to verify with. Borrowed until t is
 * freed. */
struct json_object *jwt_unverified_claims(const struct jwt *t);

/* Checks t's signature with a key chosen from keys (see the header). On
 * JWT_OK t is marked verified; otherwise (JWT_UNKNOWN_KID,
 * JWT_KEY_MISMATCH, JWT_SIGNATURE) t is unchanged and err's detail says
 * why. */
__attribute__((warn_unused_result)) enum jwt_rc
jwt_verify(struct jwt *t, const struct jwk_set *keys, struct mg_error *err);

/* Checks the claims of a verified t against want (times, issuer, audience,
 * nonce, type, azp and required claims, in that order). Returns JWT_OK, or
 * the first failed check with err's detail; a token not verified is
 * JWT_SIGNATURE. Changes nothing. */
__attribute__((warn_unused_result)) enum jwt_rc
jwt_check_claims(const struct jwt *t, const struct jwt_expect *want, struct mg_error *err);

/* Hands t's claims to the caller (who puts them), once t is verified;
 * NULL when it is not, or they were taken already. */
struct json_object *jwt_take_claims(struct jwt *t);

/* jwt_decode(), jwt_verify() with keys and jwt_check_claims() with want in
 * one call. On JWT_OK *claims is a new object the caller puts; otherwise
 * nothing is written to it and err's detail says why. */
__attribute__((warn_unused_result)) enum jwt_rc
jwt_validate(const char *token, size_t len, const struct jwk_set *keys,
             const struct jwt_expect *want, struct json_object **claims, struct mg_error *err);

#endif
