/*
 * tests/fuzz/fuzz_jwt.c - JWK Sets and JWTs (util/jwk.c, util/jwt.c), the
 * input an identity provider or any client with a bearer token controls.
 * The input is a JWK Set's text, a NUL, then a token. When the set does not
 * parse, the keys of RFC 7515 A.2 (RSA), A.3 (P-256) and RFC 8037 A.4
 * (Ed25519) are used, so the published tokens in the corpus verify and the
 * fuzzer can work from valid signatures. Checked: the results stay in the
 * enum, a failure hands out nothing, an accepted token's claims are an
 * object that names the expected issuer, the detail is a bounded string,
 * and the skipped entries of a set each carry a reason. The set's text is
 * also read as a Cache-Control value: the lifetime stays in its bounds.
 */
#include "fuzz.h"
#include "util/json.h"
#include "util/jwk.h"
#include "util/jwt.h"

static const char builtin_jwks[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
    "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wG"
    "zjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxv"
    "b3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWy"
    "uXpoQ\",\"e\":\"AQAB\"},"
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}";

static struct jwk_set *builtin;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mg_error why = MG_ERROR_INIT;
    if (!builtin) {
        builtin = jwk_set_parse_text(builtin_jwks, strlen(builtin_jwks), &why);
        if (!builtin || jwk_set_count(builtin) != 3)
            abort();
    }
    const uint8_t *end = memchr(data, '\0', size);
    size_t set_len = end ? (size_t)(end - data) : 0;
    const char *tok = end ? (const char *)end + 1 : (const char *)data;
    size_t tok_len = end ? size - set_len - 1 : size;

    struct jwk_set *own = set_len ? jwk_set_parse_text((const char *)data, set_len, &why) : NULL;
    if (own) {
        if (jwk_set_count(own) + jwk_set_skipped_count(own) > JWK_SET_MAX_KEYS)
            abort();
        for (int i = 0; i < jwk_set_skipped_count(own); i++)
            if (!jwk_set_skipped(own, i, NULL))
                abort(); /* every skipped key says why */
    }
    const struct jwk_set *keys = own ? own : builtin;
    char *cache_control = fuzz_strndup(data, set_len); /* the set's text read as one */
    long long life = jwk_cache_lifetime(cache_control, 3600, 300, 86400);
    if (life < 300 || life > 86400)
        abort();
    free(cache_control);

    static const char *const aud[] = {"bob"};
    struct jwt_expect want = {.issuer = "joe", .now_s = 1300819000, .skew_s = 30};
    if (set_len == 1) {
        want.audiences = aud; /* a one-byte set text: also check an audience */
        want.n_audiences = 1;
    }
    struct mg_error err = MG_ERROR_INIT;
    memset(err.detail, 'x', sizeof err.detail);
    struct json_object *claims = NULL;
    enum jwt_rc rc = jwt_validate(tok, tok_len, keys, &want, &claims, &err);
    if ((int)rc < JWT_OK || rc > JWT_AZP)
        abort();
    if (rc == JWT_OK) {
        const char *iss = json_get_string(claims, "iss");
        if (!json_object_is_type(claims, json_type_object) || !iss || strcmp(iss, "joe") != 0)
            abort();
        json_object_put(claims);
    } else if (claims != NULL || !memchr(err.detail, '\0', sizeof err.detail)) {
        abort();
    }

    struct jwt *t = NULL;
    if (jwt_decode(tok, tok_len, &t, NULL) == JWT_OK) {
        if (jwt_alg(t) == JWS_ALG_NONE ||
            !json_object_is_type(jwt_unverified_claims(t), json_type_object) ||
            jwt_take_claims(t) != NULL)
            abort(); /* nothing is handed out unverified */
        if (jwt_verify(t, keys, NULL) == JWT_OK) {
            struct json_object *c = jwt_take_claims(t);
            if (!c)
                abort();
            json_object_put(c);
        }
        jwt_free(t);
    }
    jwk_set_free(own);
    return 0;
}
