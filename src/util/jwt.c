/*
 * util/jwt.c - decode, verify and check JSON Web Tokens (RFC 7519, RFC 7515
 * compact serialization, RFC 9068, OpenID Connect Core 1.0).
 */
#include "util/jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/crypto.h"
#include "util/json.h"

struct jwt {
    struct json_object *header;           /* owned; a JSON object */
    struct json_object *claims;           /* owned until taken; a JSON object */
    enum jws_alg alg;                     /* the header's accepted algorithm */
    const char *kid;                      /* borrowed from header; NULL when absent */
    char *input;                          /* owned: the signing input, header "." payload */
    size_t input_len;                     /* bytes of input */
    unsigned char sig[JWS_SIGNATURE_MAX]; /* the decoded signature */
    size_t sig_len;                       /* bytes of sig */
    int verified;                         /* 1 once jwt_verify() accepted the signature */
};

/* A printable copy of a value from the token for a log-only detail: at
 * most 32 bytes of it, anything but letters, digits and "+-._:/" as '?'. */
static const char *printable(const char *s, char out[33])
{
    size_t i = 0;
    for (; s && s[i] && i < 32; i++) {
        char c = s[i];
        int safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   strchr("+-._:/", c) != NULL;
        out[i] = safe ? c : '?';
    }
    out[i] = '\0';
    return out;
}

/* What a client is told of a signature that does not verify, whatever the
 * cause. */
static const char signature_refusal[] =
    "the token's signature does not verify with the authorization server's keys";

/* Each result in words: terse for logs and pages (jwt_strerror()) and as
 * the sentence for a client whose bearer token it refused (jwt_refusal()). */
static const struct {
    const char *terse, *sentence;
} jwt_words[] = {
    [JWT_OK] = {"ok", "the token is invalid"},
    [JWT_MALFORMED] = {"malformed token", "the token is invalid"},
    [JWT_ALG] = {"token algorithm not accepted", "the token's signature algorithm is not accepted"},
    [JWT_UNKNOWN_KID] = {"token signed with an unknown key", signature_refusal},
    [JWT_KEY_MISMATCH] = {"token key does not fit its algorithm", signature_refusal},
    [JWT_SIGNATURE] = {"token signature does not verify", signature_refusal},
    [JWT_CLAIM] = {"token claims missing or malformed", "the token is invalid"},
    [JWT_EXPIRED] = {"token expired", "the token has expired"},
    [JWT_NOT_YET_VALID] = {"token not yet valid", "the token is not valid yet"},
    [JWT_ISSUER] = {"token issuer not accepted",
                    "the token was issued by another authorization server"},
    [JWT_AUDIENCE] = {"token audience not accepted", "the token was issued for another resource"},
    [JWT_NONCE] = {"token nonce does not match", "the token is invalid"},
    [JWT_TYPE] = {"token type not accepted", "the token is not an access token"},
    [JWT_AZP] = {"token authorized party not accepted", "the token is invalid"},
};
_Static_assert(sizeof jwt_words / sizeof *jwt_words == JWT_AZP + 1, "words for every jwt_rc");

const char *jwt_strerror(enum jwt_rc rc)
{
    return (size_t)rc < sizeof jwt_words / sizeof *jwt_words ? jwt_words[rc].terse
                                                             : "invalid token";
}

const char *jwt_refusal(enum jwt_rc rc)
{
    return (size_t)rc < sizeof jwt_words / sizeof *jwt_words ? jwt_words[rc].sentence
                                                             : "the token is invalid";
}

/* Number of members of the JSON object text (len bytes, already parsed as
 * one object): the colons at depth 1 outside strings. json-c keeps only
 * the last of two members of one name, so fewer members in the parsed
 * object than here means a name came twice. */
static size_t top_level_members(const char *text, size_t len)
{
    size_t n = 0;
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == ':' && depth == 1) {
            n++;
        }
    }
    return n;
}

/* Decodes the base64url part (n chars at in) and parses it as a JSON
 * object without duplicate member names into *out (the caller puts it).
 * Returns 0, or -1 with err's detail written (what names the part). */
static int part_object(const char *in, size_t n, size_t max, const char *what,
                       struct json_object **out, struct mg_error *err)
{
    if (n == 0 || n * 3 / 4 > max) {
        mg_error_detail(err, "%s is empty or longer than %zu bytes", what, max);
        return -1;
    }
    unsigned char *raw = xmalloc(n * 3 / 4 + 1);
    long raw_len = crypto_b64url_decode(in, n, raw);
    int rc = -1;
    struct mg_error jerr = MG_ERROR_INIT;
    struct json_object *obj = NULL;
    if (raw_len < 0) {
        mg_error_detail(err, "%s is not base64url", what);
    } else if (raw_len == 0 ||
               json_parse_request((const char *)raw, (size_t)raw_len, &obj, &jerr) != 0) {
        mg_error_detail(err, "%s is not JSON: %s", what, jerr.msg[0] ? jerr.msg : "empty");
    } else if (!json_object_is_type(obj, json_type_object)) {
        mg_error_detail(err, "%s is not a JSON object", what);
    } else if (top_level_members((const char *)raw, (size_t)raw_len) !=
               (size_t)json_object_object_length(obj)) {
        mg_error_detail(err, "%s has a member name twice", what);
    } else {
        *out = obj;
        obj = NULL;
        rc = 0;
    }
    json_object_put(obj);
    free(raw);
    return rc;
}

/* Checks the header's "alg", "crit", "kid" and "typ" into t. */
static enum jwt_rc header_check(struct jwt *t, struct mg_error *err)
{
    struct json_object *v = NULL;
    char shown[33];
    const char *alg = json_get_string(t->header, "alg");
    if (!alg) {
        mg_error_detail(err, "header without a string \"alg\"");
        return JWT_MALFORMED;
    }
    t->alg = jws_alg_parse(alg);
    if (t->alg == JWS_ALG_NONE) {
        mg_error_detail(err, "alg %s is not one of RS256, PS256, ES256, EdDSA%s",
                        printable(alg, shown),
                        strcasecmp(alg, "none") == 0     ? " (an unsigned token)"
                        : strncasecmp(alg, "HS", 2) == 0 ? " (HMAC: never with keys from a key set)"
                                                         : "");
        return JWT_ALG;
    }
    if (json_object_object_get_ex(t->header, "crit", &v)) {
        mg_error_detail(err, "header has \"crit\": no extension is understood");
        return JWT_ALG;
    }
    if (json_object_object_get_ex(t->header, "kid", &v)) {
        if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0 ||
            json_object_get_string_len(v) > JWK_KID_MAX) {
            mg_error_detail(err, "\"kid\" is not a string of 1 to %d bytes", JWK_KID_MAX);
            return JWT_MALFORMED;
        }
        t->kid = json_object_get_string(v);
    }
    if (json_object_object_get_ex(t->header, "typ", &v) &&
        !json_object_is_type(v, json_type_string)) {
        mg_error_detail(err, "\"typ\" is not a string");
        return JWT_MALFORMED;
    }
    return JWT_OK;
}

enum jwt_rc jwt_decode(const char *token, size_t len, struct jwt **out, struct mg_error *err)
{
    if (len == 0 || len > JWT_MAX_LEN) {
        mg_error_detail(err, "token is empty or longer than %d bytes", JWT_MAX_LEN);
        return JWT_MALFORMED;
    }
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token))) {
        mg_error_detail(err, "not three parts separated by two dots");
        return JWT_MALFORMED;
    }
    size_t h_len = (size_t)(dot1 - token), p_len = (size_t)(dot2 - dot1 - 1);
    size_t s_len = len - (size_t)(dot2 + 1 - token);

    struct jwt *t = xcalloc(1, sizeof *t);
    enum jwt_rc rc = JWT_MALFORMED;
    if (part_object(token, h_len, JWT_HEADER_MAX, "header", &t->header, err) != 0)
        goto fail;
    if ((rc = header_check(t, err)) != JWT_OK)
        goto fail;
    rc = JWT_MALFORMED;
    if (part_object(dot1 + 1, p_len, JWT_MAX_LEN, "payload", &t->claims, err) != 0)
        goto fail;
    long sig_len = -1;
    if (s_len > 0 && s_len * 3 / 4 <= JWS_SIGNATURE_MAX)
        sig_len = crypto_b64url_decode(dot2 + 1, s_len, t->sig);
    if (sig_len <= 0) {
        mg_error_detail(err, "signature is empty, too long or not base64url");
        goto fail;
    }
    t->sig_len = (size_t)sig_len;
    t->input_len = h_len + 1 + p_len;
    t->input = xmalloc(t->input_len + 1);
    memcpy(t->input, token, t->input_len);
    t->input[t->input_len] = '\0';
    *out = t;
    return JWT_OK;
fail:
    jwt_free(t);
    return rc;
}

void jwt_free(struct jwt *t)
{
    if (!t)
        return;
    json_object_put(t->header);
    json_object_put(t->claims);
    free(t->input);
    free(t);
}

enum jws_alg jwt_alg(const struct jwt *t)
{
    return t->alg;
}

const char *jwt_kid(const struct jwt *t)
{
    return t->kid;
}

struct json_object *jwt_unverified_claims(const struct jwt *t)
{
    return t->claims;
}

enum jwt_rc jwt_verify(struct jwt *t, const struct jwk_set *keys, struct mg_error *err)
{
    int kid_seen = 0, tried = 0;
    char shown[33];
    for (int i = 0; i < jwk_set_count(keys); i++) {
        const struct jwk *k = jwk_set_key(keys, i);
        if (t->kid) {
            if (!jwk_kid(k) || strcmp(jwk_kid(k), t->kid) != 0)
                continue;
            kid_seen = 1;
        }
        if (!jwk_fits(k, t->alg))
            continue;
        tried++;
        if (jwk_verify(k, t->alg, t->input, t->input_len, t->sig, t->sig_len)) {
            t->verified = 1;
            return JWT_OK;
        }
    }
    if (tried) {
        mg_error_detail(err, "%s signature does not verify with %d key(s)", jws_alg_name(t->alg),
                        tried);
        return JWT_SIGNATURE;
    }
    if (kid_seen) {
        mg_error_detail(err, "kid %s names a key that does not fit %s", printable(t->kid, shown),
                        jws_alg_name(t->alg));
        return JWT_KEY_MISMATCH;
    }
    if (t->kid)
        mg_error_detail(err, "no key with kid %s", printable(t->kid, shown));
    else
        mg_error_detail(err, "no key fits %s", jws_alg_name(t->alg));
    return JWT_UNKNOWN_KID;
}

/* Reads the NumericDate claim name (RFC 7519 §2) of claims into *out,
 * rounded towards the stricter check: down for "exp", up for the others.
 * Returns 1, 0 when absent, -1 when not a number within JWT_TIME_MAX. */
static int claim_time(struct json_object *claims, const char *name, long long *out)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(claims, name, &v))
        return 0;
    if (json_object_is_type(v, json_type_int)) {
        int64_t i = json_object_get_int64(v);
        if (i < -JWT_TIME_MAX || i > JWT_TIME_MAX)
            return -1;
        *out = (long long)i;
        return 1;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (!(d >= (double)-JWT_TIME_MAX && d <= (double)JWT_TIME_MAX))
            return -1;
        long long t = (long long)d; /* fits: |d| <= JWT_TIME_MAX */
        if (strcmp(name, "exp") == 0 && (double)t > d)
            t--;
        else if (strcmp(name, "exp") != 0 && (double)t < d)
            t++;
        *out = t;
        return 1;
    }
    return -1;
}

static enum jwt_rc times_check(struct json_object *c, const struct jwt_expect *want,
                               struct mg_error *err)
{
    long long exp = 0, nbf = 0, iat = 0;
    int has_exp = claim_time(c, "exp", &exp), has_nbf = claim_time(c, "nbf", &nbf);
    int has_iat = claim_time(c, "iat", &iat);
    if (has_exp < 0 || has_nbf < 0 || has_iat < 0) {
        mg_error_detail(err, "\"exp\", \"nbf\" or \"iat\" is not a NumericDate");
        return JWT_CLAIM;
    }
    if (!has_exp || (!has_iat && (want->required & JWT_REQUIRE_IAT))) {
        mg_error_detail(err, "no \"%s\"", has_exp ? "iat" : "exp");
        return JWT_CLAIM;
    }
    if (want->now_s - want->skew_s >= exp) {
        mg_error_detail(err, "expired %lld s ago (skew %lld s)", want->now_s - exp, want->skew_s);
        return JWT_EXPIRED;
    }
    if (has_nbf && nbf - want->skew_s > want->now_s) {
        mg_error_detail(err, "\"nbf\" is %lld s ahead (skew %lld s)", nbf - want->now_s,
                        want->skew_s);
        return JWT_NOT_YET_VALID;
    }
    if (has_iat && iat - want->skew_s > want->now_s) {
        mg_error_detail(err, "\"iat\" is %lld s ahead (skew %lld s)", iat - want->now_s,
                        want->skew_s);
        return JWT_NOT_YET_VALID;
    }
    return JWT_OK;
}

/* Checks "aud" against want->audiences; sets *n_aud to the number of
 * audiences the token names. */
static enum jwt_rc audience_check(struct json_object *c, const struct jwt_expect *want,
                                  size_t *n_aud, struct mg_error *err)
{
    struct json_object *aud = NULL;
    *n_aud = 0;
    if (!json_object_object_get_ex(c, "aud", &aud)) {
        if (!want->audiences || want->n_audiences == 0)
            return JWT_OK;
        mg_error_detail(err, "no \"aud\"");
        return JWT_AUDIENCE;
    }
    int is_array = json_object_is_type(aud, json_type_array);
    size_t n = is_array ? json_object_array_length(aud) : 1;
    if ((!is_array && !json_object_is_type(aud, json_type_string)) || n == 0) {
        mg_error_detail(err, "\"aud\" is not a string or a non-empty array of strings");
        return JWT_CLAIM;
    }
    int match = 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *a = is_array ? json_object_array_get_idx(aud, i) : aud;
        if (!json_object_is_type(a, json_type_string)) {
            mg_error_detail(err, "\"aud\" is not a string or a non-empty array of strings");
            return JWT_CLAIM;
        }
        for (size_t j = 0; want->audiences && j < want->n_audiences; j++)
            if (strcmp(json_object_get_string(a), want->audiences[j]) == 0)
                match = 1;
    }
    *n_aud = n;
    if (want->audiences && want->n_audiences > 0 && !match) {
        mg_error_detail(err, "\"aud\" names none of the %zu expected audience(s)",
                        want->n_audiences);
        return JWT_AUDIENCE;
    }
    return JWT_OK;
}

/* 1 when the header type typ names the media type want: equal ignoring
 * case, with or without "application/" (RFC 7515 §4.1.9). */
static int typ_matches(const char *typ, const char *want)
{
    static const char prefix[] = "application/";
    if (strncasecmp(typ, prefix, sizeof prefix - 1) == 0 &&
        strchr(typ + sizeof prefix - 1, '/') == NULL)
        typ += sizeof prefix - 1;
    if (strncasecmp(want, prefix, sizeof prefix - 1) == 0)
        want += sizeof prefix - 1;
    return strcasecmp(typ, want) == 0;
}

/* The string claim name: *out borrowed, or NULL when absent. Returns 0, or
 * -1 when it is present but not a non-empty string. */
static int claim_string(struct json_object *c, const char *name, const char **out)
{
    struct json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(c, name, &v))
        return 0;
    if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
        return -1;
    *out = json_object_get_string(v);
    return 0;
}

/* The claims every token may carry as strings: present ones must be
 * non-empty strings, required ones present. */
static enum jwt_rc strings_check(struct json_object *c, unsigned required, struct mg_error *err)
{
    static const struct {
        const char *name;
        unsigned flag;
    } names[] = {
        {"iss", 0},
        {"sub", JWT_REQUIRE_SUB},
        {"jti", JWT_REQUIRE_JTI},
        {"client_id", JWT_REQUIRE_CLIENT_ID},
        {"nonce", 0},
        {"azp", 0},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = NULL;
        if (claim_string(c, names[i].name, &v) != 0) {
            mg_error_detail(err, "\"%s\" is not a non-empty string", names[i].name);
            return JWT_CLAIM;
        }
        if (!v && (required & names[i].flag)) {
            mg_error_detail(err, "no \"%s\"", names[i].name);
            return JWT_CLAIM;
        }
    }
    return JWT_OK;
}

enum jwt_rc jwt_check_claims(const struct jwt *t, const struct jwt_expect *want,
                             struct mg_error *err)
{
    struct json_object *c = t->claims;
    if (!t->verified || !c) {
        mg_error_detail(err, "claims checked before the signature was verified");
        return JWT_SIGNATURE;
    }
    enum jwt_rc rc = strings_check(c, want->required, err);
    if (rc == JWT_OK)
        rc = times_check(c, want, err);
    if (rc != JWT_OK)
        return rc;

    const char *iss = json_get_string(c, "iss");
    if (!iss || !want->issuer || strcmp(iss, want->issuer) != 0) {
        mg_error_detail(err, "%s", iss ? "\"iss\" is not the expected issuer" : "no \"iss\"");
        return iss ? JWT_ISSUER : JWT_CLAIM;
    }
    size_t n_aud = 0;
    if ((rc = audience_check(c, want, &n_aud, err)) != JWT_OK)
        return rc;
    if (want->nonce) {
        const char *nonce = json_get_string(c, "nonce");
        size_t len = strlen(want->nonce);
        if (!nonce || strlen(nonce) != len || !crypto_equal(nonce, want->nonce, len)) {
            mg_error_detail(err, "%s", nonce ? "\"nonce\" does not match" : "no \"nonce\"");
            return JWT_NONCE;
        }
    }
    if (want->typ) {
        const char *typ = json_get_string(t->header, "typ");
        char shown[33];
        if (typ ? !typ_matches(typ, want->typ) : want->typ_required) {
            mg_error_detail(err, "header \"typ\" is %s, not %s",
                            typ ? printable(typ, shown) : "absent", want->typ);
            return JWT_TYPE;
        }
    }
    if (want->azp) {
        const char *azp = json_get_string(c, "azp");
        if (azp ? strcmp(azp, want->azp) != 0 : n_aud > 1) {
            mg_error_detail(err, azp ? "\"azp\" is not the expected party"
                                     : "several audiences and no \"azp\"");
            return JWT_AZP;
        }
    }
    return JWT_OK;
}

struct json_object *jwt_take_claims(struct jwt *t)
{
    if (!t->verified)
        return NULL;
    struct json_object *c = t->claims;
    t->claims = NULL;
    return c;
}

enum jwt_rc jwt_validate(const char *token, size_t len, const struct jwk_set *keys,
                         const struct jwt_expect *want, struct json_object **claims,
                         struct mg_error *err)
{
    struct jwt *t = NULL;
    enum jwt_rc rc = jwt_decode(token, len, &t, err);
    if (rc != JWT_OK)
        return rc;
    rc = jwt_verify(t, keys, err);
    if (rc == JWT_OK)
        rc = jwt_check_claims(t, want, err);
    if (rc == JWT_OK)
        *claims = jwt_take_claims(t);
    jwt_free(t);
    return rc;
}
