/*
 * tests/unit/test_jwt.c - JWK Sets (util/jwk.h) and JWT verification and
 * claim checks (util/jwt.h): keys generated here with OpenSSL (RSA 2048,
 * P-256, Ed25519), tokens signed here (a signer of the test's own, so a
 * mistake shared by signing and verifying code cannot hide), and the
 * published examples of RFC 7515 (A.2 RS256, A.3 ES256) and RFC 8037 (A.4
 * Ed25519), signed by others.
 */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/jwk.h"
#include "util/jwt.h"

#define NOW   1800000000LL
#define ISS   "https://idp.example"
#define AUD   "https://mcp.example/mcp"
#define NONCE "n-0S6_WzA2Mj"

static EVP_PKEY *rsa, *ec, *ed, *rogue;

/* base64url of n bytes, malloc'd */
static char *b64(const void *p, size_t n)
{
    char *out = malloc(crypto_b64url_len(n) + 1);
    crypto_b64url_encode(p, n, out);
    return out;
}

static char *join3(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
    char *s = malloc(n);
    snprintf(s, n, "%s.%s.%s", a, b, c);
    return s;
}

/* The JOSE signature of alg over input with k (HS256: with secret). */
static unsigned char *sign_raw(const char *alg, EVP_PKEY *k, const void *secret, size_t secret_len,
                               const char *input, size_t *sig_len)
{
    unsigned char *sig = malloc(1024);
    if (strcmp(alg, "HS256") == 0) {
        crypto_hmac_sha256(secret, secret_len, input, strlen(input), sig);
        *sig_len = 32;
        return sig;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const char *md = EVP_PKEY_is_a(k, "ED25519") ? NULL : "SHA256";
    size_t len = 1024;
    int ok = EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, k, NULL) == 1;
    if (ok && strcmp(alg, "PS256") == 0)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    ok = ok && EVP_DigestSign(ctx, sig, &len, (const unsigned char *)input, strlen(input)) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        abort();
    if (strcmp(alg, "ES256") == 0 && k != NULL && EVP_PKEY_is_a(k, "EC")) {
        /* OpenSSL signs in DER; JOSE wants r || s, 32 bytes each */
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
        unsigned char raw[64];
        BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
        ECDSA_SIG_free(es);
        memcpy(sig, raw, 64);
        len = 64;
    }
    *sig_len = len;
    return sig;
}

/* A compact token: header and payload JSON as given, signed with alg. */
static char *token_ex(const char *alg, EVP_PKEY *k, const void *secret, size_t secret_len,
                      const char *header, const char *payload)
{
    char *h = b64(header, strlen(header)), *p = b64(payload, strlen(payload));
    char *input = join3(h, p, "");
    input[strlen(input) - 1] = '\0';
    size_t sig_len = 0;
    unsigned char *sig = sign_raw(alg, k, secret, secret_len, input, &sig_len);
    char *s = b64(sig, sig_len);
    char *t = join3(h, p, s);
    free(h);
    free(p);
    free(input);
    free(sig);
    free(s);
    return t;
}

static char *token(const char *alg, EVP_PKEY *k, const char *header, const char *payload)
{
    return token_ex(alg, k, NULL, 0, header, payload);
}

/* Claims of a good ID token, with extra members spliced in. */
static char *claims(const char *extra)
{
    static char buf[16384];
    snprintf(buf, sizeof buf,
             "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\",\"exp\":%lld,"
             "\"iat\":%lld,\"nonce\":\"" NONCE "\"%s%s}",
             NOW + 300, NOW - 10, extra[0] ? "," : "", extra);
    return buf;
}

/* The same claims written from scratch (nothing spliced in). */
static char *claims_raw(const char *fmt_members)
{
    static char buf[16384];
    snprintf(buf, sizeof buf, "{%s}", fmt_members);
    return buf;
}

static const char *const audiences[] = {AUD};

static struct jwt_expect expect_id(void)
{
    struct jwt_expect w = {
        .issuer = ISS,
        .audiences = audiences,
        .n_audiences = 1,
        .nonce = NONCE,
        .required = JWT_REQUIRE_ID_TOKEN,
        .now_s = NOW,
        .skew_s = 60,
    };
    return w;
}

/* jwt_validate() of tok; detail (MG_ERROR_DETAIL_LEN bytes) gets err.detail. */
static enum jwt_rc check(const char *tok, const struct jwk_set *keys, const struct jwt_expect *w,
                         char *detail)
{
    struct json_object *c = NULL;
    struct mg_error err = MG_ERROR_INIT;
    enum jwt_rc rc = jwt_validate(tok, strlen(tok), keys, w, &c, &err);
    snprintf(detail, MG_ERROR_DETAIL_LEN, "%s", err.detail);
    if (rc == JWT_OK && !c)
        return (enum jwt_rc) - 1;
    json_object_put(c);
    return rc;
}

static void is_rc(enum jwt_rc got, enum jwt_rc want, const char *what, const char *detail)
{
    if (!ok(got == want, "%s", what))
        printf("#   got:  %d (%s) %s\n#   want: %d (%s)\n", got, jwt_strerror(got), detail, want,
               jwt_strerror(want));
}

/* JWK members from OpenSSL keys */
static void add_b64(struct json_object *o, const char *name, const unsigned char *p, size_t n)
{
    char *s = b64(p, n);
    json_add(o, name, json_object_new_string(s));
    free(s);
}

static struct json_object *jwk_of(EVP_PKEY *k, const char *kid, const char *alg)
{
    struct json_object *o = json_object_new_object();
    unsigned char buf[1024];
    size_t len = 0;
    if (EVP_PKEY_is_a(k, "RSA")) {
        BIGNUM *n = NULL, *e = NULL;
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n);
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e);
        json_add(o, "kty", json_object_new_string("RSA"));
        add_b64(o, "n", buf, (size_t)BN_bn2bin(n, buf));
        add_b64(o, "e", buf, (size_t)BN_bn2bin(e, buf));
        BN_free(n);
        BN_free(e);
    } else if (EVP_PKEY_is_a(k, "EC")) {
        EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof buf, &len);
        json_add(o, "kty", json_object_new_string("EC"));
        json_add(o, "crv", json_object_new_string("P-256"));
        add_b64(o, "x", buf + 1, 32);
        add_b64(o, "y", buf + 33, 32);
    } else {
        len = sizeof buf;
        EVP_PKEY_get_raw_public_key(k, buf, &len);
        json_add(o, "kty", json_object_new_string("OKP"));
        json_add(o, "crv", json_object_new_string("Ed25519"));
        add_b64(o, "x", buf, len);
    }
    if (kid)
        json_add(o, "kid", json_object_new_string(kid));
    if (alg)
        json_add(o, "alg", json_object_new_string(alg));
    return o;
}

static struct json_object *set_of(struct json_object **keys, int n)
{
    struct json_object *arr = json_object_new_array();
    for (int i = 0; i < n; i++)
        json_object_array_add(arr, keys[i]);
    struct json_object *set = json_object_new_object();
    json_add(set, "keys", arr);
    return set;
}

/* the main set: RSA "r1" (no alg), EC "e1", Ed25519 "d1", RSA "r2" for
 * RS256 only (the same key material as r1) */
static struct jwk_set *main_set(void)
{
    struct json_object *k[] = {jwk_of(rsa, "r1", NULL), jwk_of(ec, "e1", "ES256"),
                               jwk_of(ed, "d1", NULL), jwk_of(rsa, "r2", "RS256")};
    struct json_object *doc = set_of(k, 4);
    struct jwk_set *s = jwk_set_parse(doc, NULL);
    json_object_put(doc);
    return s;
}

static int has_skip(const struct jwk_set *s, const char *kid, const char *reason_part)
{
    for (int i = 0; i < jwk_set_skipped_count(s); i++) {
        const char *k = NULL;
        const char *why = jwk_set_skipped(s, i, &k);
        if (k && strcmp(k, kid) == 0 && strstr(why, reason_part))
            return 1;
    }
    return 0;
}

static void test_set_parse(void)
{
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    struct json_object *k[] = {
        jwk_of(rsa, "ok-rsa", "PS256"),
        jwk_of(ec, "ok-ec", NULL),
        jwk_of(ed, "ok-ed", "EdDSA"),
        json_tokener_parse("{\"kty\":\"oct\",\"kid\":\"oct\",\"k\":\"c2VjcmV0\"}"),
        jwk_of(rsa, "priv", NULL),
        jwk_of(small, "small", NULL),
        jwk_of(ec, "p384", NULL),
        jwk_of(ec, "enc", NULL),
        jwk_of(ec, "offcurve", NULL),
        json_tokener_parse("{\"kty\":\"XYZ\",\"kid\":\"xyz\"}"),
        jwk_of(rsa, "hs", "HS256"),
        jwk_of(rsa, "mismatch", "ES256"),
        jwk_of(ed, "signonly", NULL),
        json_object_new_string("not a key"),
        jwk_of(ed, "x448", NULL),
        jwk_of(ec, "short", NULL),
        jwk_of(rsa, "e-one", NULL),
        jwk_of(rsa, "e-even", NULL),
        jwk_of(rsa, "n-even", NULL),
    };
    json_add(k[4], "d", json_object_new_string("AQAB"));
    json_object_object_del(k[6], "crv");
    json_add(k[6], "crv", json_object_new_string("P-384"));
    json_add(k[7], "use", json_object_new_string("enc"));
    /* y + 1 is (all but certainly) not on the curve with this x */
    {
        const char *y = json_get_string(k[8], "y");
        unsigned char raw[32];
        crypto_b64url_decode(y, strlen(y), raw);
        raw[31] ^= 1;
        json_object_object_del(k[8], "y");
        add_b64(k[8], "y", raw, 32);
    }
    json_add(k[12], "key_ops", json_tokener_parse("[\"sign\"]"));
    json_object_object_del(k[14], "crv");
    json_add(k[14], "crv", json_object_new_string("X448"));
    {
        const char *x = json_get_string(k[15], "x");
        unsigned char raw[32];
        crypto_b64url_decode(x, strlen(x), raw);
        json_object_object_del(k[15], "x");
        add_b64(k[15], "x", raw + 1, 31);
    }
    /* RSA exponents 1 (anyone could forge: s^1 = s) and 65536, an even modulus */
    json_object_object_del(k[16], "e");
    json_add(k[16], "e", json_object_new_string("AQ"));
    json_object_object_del(k[17], "e");
    json_add(k[17], "e", json_object_new_string("AQAA"));
    {
        const char *n = json_get_string(k[18], "n");
        unsigned char raw[512];
        long len = crypto_b64url_decode(n, strlen(n), raw);
        raw[len - 1] &= 0xfe;
        json_object_object_del(k[18], "n");
        add_b64(k[18], "n", raw, (size_t)len);
    }
    struct json_object *doc = set_of(k, (int)(sizeof k / sizeof *k));
    struct mg_error why = MG_ERROR_INIT;
    struct jwk_set *s = jwk_set_parse(doc, &why);
    ok(s != NULL, "a set with good and bad keys parses");
    is_int(jwk_set_count(s), 3, "three keys are trusted");
    is_int(jwk_set_skipped_count(s), 16, "sixteen are skipped, each with a reason");
    is_str(jwk_kid(jwk_set_key(s, 0)), "ok-rsa", "the first trusted key is the RSA one");
    ok(jwk_kty(jwk_set_key(s, 0)) == JWK_RSA && jwk_alg(jwk_set_key(s, 0)) == JWS_PS256,
       "RSA key for PS256");
    ok(jwk_kty(jwk_set_key(s, 1)) == JWK_EC_P256 && jwk_alg(jwk_set_key(s, 1)) == JWS_ALG_NONE,
       "P-256 key, no alg named");
    ok(jwk_kty(jwk_set_key(s, 2)) == JWK_OKP_ED25519, "Ed25519 key");
    ok(has_skip(s, "oct", "HMAC"), "a symmetric key is skipped: never an HMAC key from a set");
    ok(has_skip(s, "priv", "private"), "a key with private members is skipped");
    ok(has_skip(s, "small", "2048"), "an RSA key of 1024 bits is skipped");
    ok(has_skip(s, "p384", "P-256"), "an EC key on another curve is skipped");
    ok(has_skip(s, "enc", "sig"), "an encryption key is skipped");
    ok(has_skip(s, "offcurve", "point"), "a point off the curve is skipped");
    ok(has_skip(s, "xyz", "kty"), "an unknown key type is skipped");
    ok(has_skip(s, "hs", "alg"), "a key for HS256 is skipped");
    ok(has_skip(s, "mismatch", "fit"), "an RSA key naming ES256 is skipped");
    ok(has_skip(s, "signonly", "verify"), "a key whose key_ops lack verify is skipped");
    ok(has_skip(s, "x448", "Ed25519"), "an OKP key on X448 is skipped");
    ok(has_skip(s, "short", "32-byte"), "an EC coordinate of 31 bytes is skipped");
    ok(has_skip(s, "e-one", "exponent"), "an RSA key with e = 1 is skipped");
    ok(has_skip(s, "e-even", "exponent"), "an RSA key with an even e is skipped");
    ok(has_skip(s, "n-even", "modulus"), "an RSA key with an even n is skipped");
    const char *kid = "x";
    ok(jwk_set_skipped(s, 10, &kid) && kid == NULL, "a skipped entry without a kid says so");
    jwk_set_free(s);
    json_object_put(doc);
    EVP_PKEY_free(small);

    why.msg[0] = '\0';
    doc = json_tokener_parse("{\"keys\":1}");
    s = jwk_set_parse(doc, &why);
    ok(s == NULL && why.msg[0], "\"keys\" not an array: no set (%s)", why.msg);
    json_object_put(doc);
    doc = json_tokener_parse("[]");
    ok(jwk_set_parse(doc, &why) == NULL, "not an object: no set");
    json_object_put(doc);
    struct json_object *many[JWK_SET_MAX_KEYS + 1];
    for (int i = 0; i <= JWK_SET_MAX_KEYS; i++)
        many[i] = jwk_of(ed, NULL, NULL);
    doc = set_of(many, JWK_SET_MAX_KEYS + 1);
    s = jwk_set_parse(doc, &why);
    ok(s == NULL, "33 keys: no set (%s)", why.msg);
    json_object_put(doc);
    doc = set_of(many, 0);
    s = jwk_set_parse(doc, &why);
    ok(s && jwk_set_count(s) == 0, "an empty set parses, with no key");
    jwk_set_free(s);
    json_object_put(doc);
    ok(jwk_set_parse_text("{\"keys\":[", 9, &why) == NULL, "set text that is not JSON: no set");
    char *big = malloc(JWK_SET_MAX_TEXT + 2);
    memset(big, ' ', JWK_SET_MAX_TEXT + 1);
    memcpy(big, "{\"keys\":[]}", 11);
    ok(jwk_set_parse_text(big, JWK_SET_MAX_TEXT + 1, &why) == NULL, "set text over 64 KiB: no set");
    s = jwk_set_parse_text(big, JWK_SET_MAX_TEXT, &why);
    ok(s != NULL, "set text of exactly 64 KiB parses");
    jwk_set_free(s);
    free(big);
}

static void test_good(const struct jwk_set *keys)
{
    struct mg_error e = MG_ERROR_INIT;
    char *d = e.detail;
    struct jwt_expect w = expect_id();
    static const struct {
        const char *alg, *kid;
    } cases[] = {
        {"RS256", "r1"}, {"PS256", "r1"}, {"ES256", "e1"}, {"EdDSA", "d1"}, {"RS256", "r2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        EVP_PKEY *k = cases[i].kid[0] == 'r' ? rsa : cases[i].kid[0] == 'e' ? ec : ed;
        char header[128], what[64];
        snprintf(header, sizeof header, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
                 cases[i].alg, cases[i].kid);
        char *t = token(cases[i].alg, k, header, claims(""));
        struct json_object *c = NULL;
        enum jwt_rc rc = jwt_validate(t, strlen(t), keys, &w, &c, &e);
        snprintf(what, sizeof what, "a valid %s token (kid %s) is accepted", cases[i].alg,
                 cases[i].kid);
        is_rc(rc, JWT_OK, what, d);
        is_str(json_get_string(c, "sub"), "alice", "its claims come back to the caller");
        json_object_put(c);
        free(t);
    }
    /* no kid: every key that fits the algorithm is tried */
    char *t = token("ES256", ec, "{\"alg\":\"ES256\"}", claims(""));
    is_rc(check(t, keys, &w, d), JWT_OK, "ES256 without a kid: the fitting key is found", d);
    free(t);
    t = token("Ed25519", ed, "{\"alg\":\"Ed25519\",\"kid\":\"d1\"}", claims(""));
    is_rc(check(t, keys, &w, d), JWT_OK, "alg \"Ed25519\" (RFC 9864) is EdDSA with Ed25519", d);
    free(t);
    /* the parts one at a time */
    t = token("ES256", ec, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", claims(""));
    struct jwt *j = NULL;
    is_rc(jwt_decode(t, strlen(t), &j, &e), JWT_OK, "jwt_decode", d);
    ok(jwt_alg(j) == JWS_ES256 && strcmp(jwt_kid(j), "e1") == 0, "alg and kid of the header");
    is_str(json_get_string(jwt_unverified_claims(j), "iss"), ISS,
           "the unverified issuer, to choose a key set by");
    ok(jwt_take_claims(j) == NULL, "no claims are handed out before the signature is verified");
    is_rc(jwt_check_claims(j, &w, &e), JWT_SIGNATURE, "claims are not checked before the signature",
          d);
    is_rc(jwt_verify(j, keys, &e), JWT_OK, "jwt_verify", d);
    is_rc(jwt_check_claims(j, &w, &e), JWT_OK, "jwt_check_claims", d);
    struct json_object *c = jwt_take_claims(j);
    ok(c != NULL && jwt_take_claims(j) == NULL, "claims are handed out once");
    json_object_put(c);
    jwt_free(j);
    free(t);
}

static void test_alg_attacks(const struct jwk_set *keys)
{
    struct mg_error e = MG_ERROR_INIT;
    char *d = e.detail;
    struct jwt_expect w = expect_id();
    const char *payload = claims("");
    char *p = b64(payload, strlen(payload));
    static const char *const nones[] = {"{\"alg\":\"none\"}", "{\"alg\":\"None\",\"kid\":\"r1\"}",
                                        "{\"alg\":\"NONE\"}"};
    for (size_t i = 0; i < 3; i++) {
        char *h = b64(nones[i], strlen(nones[i]));
        char *t = join3(h, p, "");
        char what[80];
        snprintf(what, sizeof what, "an unsigned token (%s) is refused", nones[i]);
        is_rc(check(t, keys, &w, d), JWT_ALG, what, d);
        free(t);
        free(h);
    }
    /* alg none with a signature of a real key appended does not help */
    char *good = token("RS256", rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", payload);
    char *h = b64("{\"alg\":\"none\",\"kid\":\"r1\"}", 25);
    char *t = join3(h, p, strrchr(good, '.') + 1);
    is_rc(check(t, keys, &w, d), JWT_ALG, "alg none with a valid RS256 signature is refused", d);
    free(t);
    free(h);
    free(good);

    /* key confusion: HS256 with the RSA public key as the HMAC secret */
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, rsa);
    char *pem = NULL;
    long pem_len = BIO_get_mem_data(bio, &pem);
    t = token_ex("HS256", NULL, pem, (size_t)pem_len, "{\"alg\":\"HS256\",\"kid\":\"r1\"}",
                 payload);
    is_rc(check(t, keys, &w, d), JWT_ALG, "HS256 keyed with the RSA public key's PEM is refused",
          d);
    ok(strstr(d, "HMAC") != NULL, "the detail says why: %s", d);
    free(t);
    BIO_free(bio);
    unsigned char *der = NULL;
    int der_len = i2d_PUBKEY(rsa, &der);
    t = token_ex("HS256", NULL, der, (size_t)der_len, "{\"alg\":\"HS256\",\"kid\":\"r1\"}",
                 payload);
    is_rc(check(t, keys, &w, d), JWT_ALG, "HS256 keyed with the RSA public key's DER is refused",
          d);
    free(t);
    OPENSSL_free(der);
    t = token_ex("HS256", NULL, "secret", 6, "{\"alg\":\"HS512\"}", payload);
    is_rc(check(t, keys, &w, d), JWT_ALG, "HS512 is refused", d);
    free(t);
    t = token("RS256", rsa, "{\"alg\":\"RS512\",\"kid\":\"r1\"}", payload);
    is_rc(check(t, keys, &w, d), JWT_ALG, "an algorithm not on the list (RS512) is refused", d);
    free(t);
    t = token("RS256", rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"exp\"]}", payload);
    is_rc(check(t, keys, &w, d), JWT_ALG, "a crit header is refused", d);
    free(t);
    t = token("RS256", rsa, "{\"kid\":\"r1\"}", payload);
    is_rc(check(t, keys, &w, d), JWT_MALFORMED, "a header without alg is refused", d);
    free(t);

    /* the alg and the key must fit each other */
    t = token("RS256", rsa, "{\"alg\":\"RS256\",\"kid\":\"e1\"}", payload);
    is_rc(check(t, keys, &w, d), JWT_KEY_MISMATCH, "RS256 naming the EC key's kid is refused", d);
    free(t);
    t = token("ES256", ec, "{\"alg\":\"ES256\",\"kid\":\"r1\"}", payload);
    is_rc(check(t, keys, &w, d), JWT_KEY_MISMATCH, "ES256 naming an RSA key's kid is refused", d);
    free(t);
    t = token("PS256", rsa, "{\"alg\":\"PS256\",\"kid\":\"r2\"}", payload);
    is_rc(check(t, keys, &w, d), JWT_KEY_MISMATCH, "PS256 with a key whose JWK says RS256", d);
    free(t);
    t = token("EdDSA", ed, "{\"alg\":\"EdDSA\",\"kid\":\"e1\"}", payload);
    is_rc(check(t, keys, &w, d), JWT_KEY_MISMATCH, "EdDSA naming the P-256 key is refused", d);
    free(t);
    t = token("PS256", rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", payload);
    is_rc(check(t, keys, &w, d), JWT_SIGNATURE, "a PSS signature under alg RS256 is refused", d);
    free(t);

    /* keys come only from the set, never from the token */
    struct json_object *rj = jwk_of(rogue, "r1", NULL);
    char header[2048];
    snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"kid\":\"r1\",\"jwk\":%s}",
             json_object_to_json_string(rj));
    t = token("RS256", rogue, header, payload);
    is_rc(check(t, keys, &w, d), JWT_SIGNATURE,
          "a token signed by a key it carries in its own \"jwk\" header is refused", d);
    free(t);
    json_object_put(rj);
    free(p);
}

/* token with the character at part/offset changed */
static char *tamper(const char *tok, int part, size_t off)
{
    char *t = strdup(tok);
    char *s = t;
    for (int i = 0; i < part; i++)
        s = strchr(s, '.') + 1;
    s[off] = s[off] == 'A' ? 'B' : 'A';
    return t;
}

static void test_tamper(const struct jwk_set *keys)
{
    struct mg_error e = MG_ERROR_INIT;
    char *d = e.detail;
    struct jwt_expect w = expect_id();
    static const char *const algs[] = {"RS256", "PS256", "ES256", "EdDSA"};
    static const char *const kids[] = {"r1", "r1", "e1", "d1"};
    EVP_PKEY *ks[] = {rsa, rsa, ec, ed};
    for (int i = 0; i < 4; i++) {
        char header[64], what[80];
        snprintf(header, sizeof header, "{\"alg\":\"%s\",\"kid\":\"%s\"}", algs[i], kids[i]);
        char *t = token(algs[i], ks[i], header, claims(""));
        /* a claims part with another subject, the header and signature kept */
        const char *evil =
            claims_raw("\"iss\":\"" ISS "\",\"sub\":\"mallory\",\"aud\":\"" AUD
                       "\",\"exp\":1800000300,\"iat\":1799999990,\"nonce\":\"" NONCE "\"");
        char *ep = b64(evil, strlen(evil));
        char *h = strndup(t, (size_t)(strchr(t, '.') - t));
        char *t2 = join3(h, ep, strrchr(t, '.') + 1);
        snprintf(what, sizeof what, "%s: a changed payload is refused", algs[i]);
        is_rc(check(t2, keys, &w, d), JWT_SIGNATURE, what, d);
        free(t2);
        free(ep);
        free(h);
        /* a header with a member added, payload and signature kept */
        char h2[96];
        snprintf(h2, sizeof h2, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", algs[i],
                 kids[i]);
        h = b64(h2, strlen(h2));
        char *rest = strchr(t, '.') + 1;
        size_t n = strlen(h) + strlen(rest) + 2;
        t2 = malloc(n);
        snprintf(t2, n, "%s.%s", h, rest);
        snprintf(what, sizeof what, "%s: a changed header is refused", algs[i]);
        is_rc(check(t2, keys, &w, d), JWT_SIGNATURE, what, d);
        free(t2);
        free(h);
        t2 = tamper(t, 2, 10);
        snprintf(what, sizeof what, "%s: a changed signature is refused", algs[i]);
        is_rc(check(t2, keys, &w, d), JWT_SIGNATURE, what, d);
        ok(strstr(d, strrchr(t2, '.') + 1) == NULL && strstr(d, rest) == NULL,
           "the detail quotes no part of the token");
        free(t2);
        /* a signature cut short */
        t2 = strdup(t);
        t2[strlen(t2) - 4] = '\0';
        snprintf(what, sizeof what, "%s: a shortened signature is refused", algs[i]);
        enum jwt_rc rc = check(t2, keys, &w, d);
        ok(rc == JWT_SIGNATURE || rc == JWT_MALFORMED, "%s", what);
        free(t2);
        free(t);
    }
    /* ES256 in DER rather than r || s */
    const char *payload = claims("");
    char *h = b64("{\"alg\":\"ES256\",\"kid\":\"e1\"}", 26);
    char *p = b64(payload, strlen(payload));
    size_t input_len = strlen(h) + strlen(p) + 2;
    char *input = malloc(input_len);
    snprintf(input, input_len, "%s.%s", h, p);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[80];
    size_t der_len = sizeof der;
    EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, ec, NULL);
    EVP_DigestSign(ctx, der, &der_len, (unsigned char *)input, strlen(input));
    EVP_MD_CTX_free(ctx);
    char *s = b64(der, der_len);
    char *t = join3(h, p, s);
    is_rc(check(t, keys, &w, d), JWT_SIGNATURE, "an ES256 signature in DER form is refused", d);
    free(t);
    free(s);
    free(input);
    free(h);
    free(p);
}

static void test_kid(const struct jwk_set *keys)
{
    struct mg_error e = MG_ERROR_INIT;
    char *d = e.detail;
    struct jwt_expect w = expect_id();
    char *t = token("RS256", rsa, "{\"alg\":\"RS256\",\"kid\":\"nope\"}", claims(""));
    is_rc(check(t, keys, &w, d), JWT_UNKNOWN_KID, "an unknown kid: JWT_UNKNOWN_KID", d);
    ok(strstr(d, "nope") != NULL, "the detail names the kid: %s", d);
    free(t);
    t = token("RS256", rsa, "{\"alg\":\"RS256\",\"kid\":\"\\\"\\n<x>\"}", claims(""));
    check(t, keys, &w, d);
    ok(strchr(d, '\n') == NULL && strchr(d, '<') == NULL && strchr(d, '"') == NULL,
       "a kid is shown only in safe characters: %s", d);
    free(t);

    /* rotation: a new key the old set does not have; after a refetch it verifies */
    EVP_PKEY *next = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    t = token("ES256", next, "{\"alg\":\"ES256\",\"kid\":\"e2\"}", claims(""));
    is_rc(check(t, keys, &w, d), JWT_UNKNOWN_KID, "a rotated key not yet in the set: unknown kid",
          d);
    struct json_object *k[] = {jwk_of(ec, "e1", NULL), jwk_of(next, "e2", NULL)};
    struct json_object *doc = set_of(k, 2);
    struct jwk_set *fresh = jwk_set_parse(doc, NULL);
    is_rc(check(t, fresh, &w, d), JWT_OK, "the same token verifies with the refetched set", d);
    jwk_set_free(fresh);
    json_object_put(doc);
    free(t);
    /* without kid, no key of the type: also unknown (a refetch may bring one) */
    struct json_object *only_rsa[] = {jwk_of(rsa, "r1", NULL)};
    doc = set_of(only_rsa, 1);
    struct jwk_set *rsa_set = jwk_set_parse(doc, NULL);
    t = token("ES256", ec, "{\"alg\":\"ES256\"}", claims(""));
    is_rc(check(t, rsa_set, &w, d), JWT_UNKNOWN_KID, "no kid and no key of its type: unknown", d);
    free(t);
    t = token("ES256", next, "{\"alg\":\"ES256\"}", claims(""));
    is_rc(check(t, keys, &w, d), JWT_SIGNATURE, "no kid, signed by a key not in the set: refused",
          d);
    free(t);
    jwk_set_free(rsa_set);
    json_object_put(doc);
    EVP_PKEY_free(next);
}

/* Checks a token with claims payload (signed ES256 by e1) against w. */
static enum jwt_rc claims_rc(const struct jwk_set *keys, const struct jwt_expect *w,
                             const char *header, const char *payload, char *d)
{
    char *t = token("ES256", ec, header ? header : "{\"alg\":\"ES256\",\"kid\":\"e1\"}", payload);
    enum jwt_rc rc = check(t, keys, w, d);
    free(t);
    return rc;
}

static void test_claims(const struct jwk_set *keys)
{
    struct mg_error e = MG_ERROR_INIT;
    char *d = e.detail, m[512];
    struct jwt_expect w = expect_id();
#define BASE "\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\",\"nonce\":\"" NONCE "\""
    /* times */
    snprintf(m, sizeof m, BASE ",\"exp\":%lld,\"iat\":%lld", NOW - 61, NOW - 600);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_EXPIRED, "expired beyond the skew", d);
    snprintf(m, sizeof m, BASE ",\"exp\":%lld,\"iat\":%lld", NOW - 59, NOW - 600);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_OK, "expired within the skew: ok", d);
    w.skew_s = 0;
    snprintf(m, sizeof m, BASE ",\"exp\":%lld,\"iat\":%lld", NOW, NOW - 600);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_EXPIRED, "exp == now: expired", d);
    snprintf(m, sizeof m, BASE ",\"exp\":%lld.5,\"iat\":%lld", NOW - 1, NOW - 600);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_EXPIRED,
          "a fractional exp half a second ago: expired", d);
    w.skew_s = 60;
    snprintf(m, sizeof m, BASE ",\"exp\":%lld,\"iat\":%lld,\"nbf\":%lld", NOW + 300, NOW,
             NOW + 120);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_NOT_YET_VALID,
          "nbf two minutes ahead: not yet valid", d);
    snprintf(m, sizeof m, BASE ",\"exp\":%lld,\"iat\":%lld,\"nbf\":%lld", NOW + 300, NOW, NOW + 30);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_OK, "nbf within the skew: ok", d);
    snprintf(m, sizeof m, BASE ",\"exp\":%lld,\"iat\":%lld", NOW + 900, NOW + 600);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_NOT_YET_VALID,
          "iat ten minutes ahead: not yet valid", d);
    snprintf(m, sizeof m, BASE ",\"exp\":\"%lld\",\"iat\":%lld", NOW + 300, NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_CLAIM, "exp as a string: refused", d);
    snprintf(m, sizeof m, BASE ",\"exp\":1e300,\"iat\":%lld", NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_CLAIM, "exp out of range: refused", d);
    snprintf(m, sizeof m, BASE ",\"exp\":99999999999999999999,\"iat\":%lld", NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_MALFORMED,
          "an integer json-c cannot hold: refused", d);
    snprintf(m, sizeof m, BASE ",\"iat\":%lld", NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_CLAIM, "no exp: refused", d);
    snprintf(m, sizeof m, BASE ",\"exp\":%lld", NOW + 300);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_CLAIM, "no iat for an ID token", d);

    /* issuer */
    is_rc(claims_rc(keys, &w, NULL, claims("\"x\":1"), d), JWT_OK, "the base claims pass", d);
    snprintf(m, sizeof m,
             "\"iss\":\"" ISS "/\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"nonce\":\"" NONCE
             "\",\"exp\":%lld,\"iat\":%lld",
             NOW + 300, NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_ISSUER,
          "iss with a trailing slash: wrong issuer", d);
    snprintf(m, sizeof m,
             "\"iss\":\"https://evil.example\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"nonce\":\"" NONCE
             "\",\"exp\":%lld,\"iat\":%lld",
             NOW + 300, NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_ISSUER, "another issuer: refused", d);
    snprintf(m, sizeof m,
             "\"sub\":\"a\",\"aud\":\"" AUD "\",\"nonce\":\"" NONCE "\",\"exp\":%lld,\"iat\":%lld",
             NOW + 300, NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_CLAIM, "no iss: refused", d);
    snprintf(m, sizeof m,
             "\"iss\":[\"" ISS "\"],\"sub\":\"a\",\"aud\":\"" AUD "\",\"nonce\":\"" NONCE
             "\",\"exp\":%lld,\"iat\":%lld",
             NOW + 300, NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_CLAIM, "iss as an array: refused", d);

    /* audience */
#define NOAUD                                                                                      \
    "\"iss\":\"" ISS "\",\"sub\":\"alice\",\"nonce\":\"" NONCE "\",\"exp\":%lld,\"iat\":%lld"
    snprintf(m, sizeof m, NOAUD ",\"aud\":\"https://other.example/mcp\"", NOW + 300, NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_AUDIENCE, "another audience: refused",
          d);
    snprintf(m, sizeof m, NOAUD ",\"aud\":[\"https://other.example\",\"" AUD "\"]", NOW + 300, NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_OK, "aud array naming us: ok", d);
    snprintf(m, sizeof m, NOAUD ",\"aud\":[\"https://other.example\",\"x\"]", NOW + 300, NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_AUDIENCE,
          "aud array not naming us: refused", d);
    snprintf(m, sizeof m, NOAUD ",\"aud\":[]", NOW + 300, NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_CLAIM, "aud as an empty array", d);
    snprintf(m, sizeof m, NOAUD ",\"aud\":[\"" AUD "\",7]", NOW + 300, NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_CLAIM, "aud array with a number", d);
    snprintf(m, sizeof m, NOAUD, NOW + 300, NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_AUDIENCE, "no aud: refused", d);
    snprintf(m, sizeof m, NOAUD ",\"aud\":\"" AUD "x\"", NOW + 300, NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_AUDIENCE, "aud with a suffix: refused",
          d);
    static const char *const two[] = {"https://a.example", AUD};
    struct jwt_expect w2 = w;
    w2.audiences = two;
    w2.n_audiences = 2;
    is_rc(claims_rc(keys, &w2, NULL, claims(""), d), JWT_OK,
          "one of several configured audiences: ok", d);

    /* nonce */
    w2 = w;
    w2.nonce = "n-other";
    is_rc(claims_rc(keys, &w2, NULL, claims(""), d), JWT_NONCE, "another nonce: refused", d);
    w2.nonce = "n-0S6_WzA2M";
    is_rc(claims_rc(keys, &w2, NULL, claims(""), d), JWT_NONCE, "a nonce one shorter: refused", d);
    snprintf(m, sizeof m,
             "\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":%lld,\"iat\":%lld",
             NOW + 300, NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_NONCE, "no nonce: refused", d);
    w2.nonce = NULL;
    is_rc(claims_rc(keys, &w2, NULL, claims_raw(m), d), JWT_OK,
          "no nonce expected (an access token): ok", d);

    /* azp */
    w2 = w;
    w2.azp = "client-1";
    snprintf(m, sizeof m, BASE ",\"exp\":%lld,\"iat\":%lld,\"azp\":\"client-2\"", NOW + 300, NOW);
    is_rc(claims_rc(keys, &w2, NULL, claims_raw(m), d), JWT_AZP, "another azp: refused", d);
    snprintf(m, sizeof m, NOAUD ",\"aud\":[\"" AUD "\",\"x\"]", NOW + 300, NOW);
    is_rc(claims_rc(keys, &w2, NULL, claims_raw(m), d), JWT_AZP,
          "several audiences without azp: refused", d);
    snprintf(m, sizeof m, NOAUD ",\"aud\":[\"" AUD "\",\"x\"],\"azp\":\"client-1\"", NOW + 300,
             NOW);
    is_rc(claims_rc(keys, &w2, NULL, claims_raw(m), d), JWT_OK, "several audiences, azp ours: ok",
          d);
    is_rc(claims_rc(keys, &w2, NULL, claims(""), d), JWT_OK, "one audience, no azp: ok", d);

    /* typ (RFC 9068) */
    w2 = w;
    w2.typ = "at+jwt";
    is_rc(claims_rc(keys, &w2, "{\"alg\":\"ES256\",\"kid\":\"e1\",\"typ\":\"at+jwt\"}", claims(""),
                    d),
          JWT_OK, "typ at+jwt: ok", d);
    is_rc(claims_rc(keys, &w2, "{\"alg\":\"ES256\",\"kid\":\"e1\",\"typ\":\"application/AT+JWT\"}",
                    claims(""), d),
          JWT_OK, "typ application/AT+JWT: ok", d);
    is_rc(claims_rc(keys, &w2, "{\"alg\":\"ES256\",\"kid\":\"e1\",\"typ\":\"JWT\"}", claims(""), d),
          JWT_TYPE, "typ JWT where at+jwt is expected: refused", d);
    is_rc(claims_rc(keys, &w2, NULL, claims(""), d), JWT_OK, "no typ, not required: ok", d);
    w2.typ_required = 1;
    is_rc(claims_rc(keys, &w2, NULL, claims(""), d), JWT_TYPE, "no typ, required: refused", d);
    is_rc(claims_rc(keys, &w2, "{\"alg\":\"ES256\",\"kid\":\"e1\",\"typ\":7}", claims(""), d),
          JWT_MALFORMED, "typ not a string: refused", d);

    /* required claims */
    w2 = w;
    w2.required = JWT_REQUIRE_ACCESS_TOKEN;
    w2.nonce = NULL;
    is_rc(claims_rc(keys, &w2, NULL, claims(""), d), JWT_CLAIM,
          "an access token without jti and client_id: refused", d);
    is_rc(claims_rc(keys, &w2, NULL, claims("\"jti\":\"j1\",\"client_id\":\"c1\""), d), JWT_OK,
          "with jti and client_id: ok", d);
    snprintf(m, sizeof m,
             "\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"nonce\":\"" NONCE
             "\",\"exp\":%lld,\"iat\":%lld",
             NOW + 300, NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_CLAIM, "an ID token without sub", d);
    snprintf(m, sizeof m,
             "\"iss\":\"" ISS "\",\"sub\":42,\"aud\":\"" AUD "\",\"nonce\":\"" NONCE
             "\",\"exp\":%lld,\"iat\":%lld",
             NOW + 300, NOW);
    is_rc(claims_rc(keys, &w, NULL, claims_raw(m), d), JWT_CLAIM, "sub as a number: refused", d);
    is_rc(claims_rc(keys, &w, NULL, claims("\"sub\":\"mallory\""), d), JWT_MALFORMED,
          "sub twice (the second would win in json-c): refused", d);
    is_rc(claims_rc(keys, &w, NULL, claims("\"iss\":\"" ISS "\""), d), JWT_MALFORMED,
          "iss twice, even with the same value: refused", d);
    is_rc(claims_rc(keys, &w, NULL, claims("\"x\":{\"a\":1,\"b\":[1,{\"c\":\"}:\"}]}"), d), JWT_OK,
          "nested objects and colons in strings are not mistaken for members", d);
    is_rc(claims_rc(keys, &w, "{\"alg\":\"none\",\"alg\":\"ES256\",\"kid\":\"e1\"}", claims(""), d),
          JWT_MALFORMED, "alg twice in the header: refused", d);
    is_rc(claims_rc(keys, &w, NULL, claims("\"name\":\"a\\u0000b\""), d), JWT_MALFORMED,
          "a claim with U+0000: refused", d);
    struct jwt_expect w3 = w;
    w3.issuer = NULL;
    is_rc(claims_rc(keys, &w3, NULL, claims(""), d), JWT_ISSUER,
          "no issuer configured: nothing is accepted", d);
}

static void test_syntax(const struct jwk_set *keys)
{
    struct mg_error e = MG_ERROR_INIT;
    char *d = e.detail;
    struct jwt_expect w = expect_id();
    char *good = token("EdDSA", ed, "{\"alg\":\"EdDSA\",\"kid\":\"d1\"}", claims(""));
    is_rc(check(good, keys, &w, d), JWT_OK, "the reference token is good", d);
    char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
    size_t n = strlen(good);
    char buf[4096];

    is_rc(check("", keys, &w, d), JWT_MALFORMED, "an empty token", d);
    snprintf(buf, sizeof buf, "%.*s", (int)(dot2 - good), good);
    is_rc(check(buf, keys, &w, d), JWT_MALFORMED, "two parts", d);
    snprintf(buf, sizeof buf, "%s.", good);
    is_rc(check(buf, keys, &w, d), JWT_MALFORMED, "four parts (a trailing dot)", d);
    snprintf(buf, sizeof buf, "%s.%s", good, dot1 + 1);
    is_rc(check(buf, keys, &w, d), JWT_MALFORMED, "five parts (a JWE-like token)", d);
    snprintf(buf, sizeof buf, "%.*s", (int)(dot2 + 1 - good), good);
    is_rc(check(buf, keys, &w, d), JWT_MALFORMED, "an empty signature", d);
    snprintf(buf, sizeof buf, ".%s", dot1 + 1);
    is_rc(check(buf, keys, &w, d), JWT_MALFORMED, "an empty header", d);
    snprintf(buf, sizeof buf, "%.*s.%s", (int)(dot1 - good), good, dot2);
    is_rc(check(buf, keys, &w, d), JWT_MALFORMED, "an empty payload", d);
    /* base64url, strictly */
    snprintf(buf, sizeof buf, "%s=", good);
    is_rc(check(buf, keys, &w, d), JWT_MALFORMED, "padding on the signature", d);
    snprintf(buf, sizeof buf, "%.*s=%s", (int)(dot1 - good), good, dot1);
    is_rc(check(buf, keys, &w, d), JWT_MALFORMED, "padding on the header", d);
    snprintf(buf, sizeof buf, "%s", good);
    buf[dot1 - good + 3] = '+';
    is_rc(check(buf, keys, &w, d), JWT_MALFORMED, "a '+' (base64, not base64url) in the payload",
          d);
    snprintf(buf, sizeof buf, "%s", good);
    buf[5] = ' ';
    is_rc(check(buf, keys, &w, d), JWT_MALFORMED, "a space in the header", d);
    /* {"alg":"EdDSA","kid":"d1"} is 26 bytes: 35 chars with 4 bits left over */
    snprintf(buf, sizeof buf, "%s", good);
    ok(dot1 - good == 35, "the header part has spare bits");
    buf[34] = (char)(buf[34] == 'Q' ? 'R' : buf[34] + 1);
    is_rc(check(buf, keys, &w, d), JWT_MALFORMED, "non-zero spare bits in the header", d);
    is_rc(check(good, keys, &w, d), JWT_OK, "(the token itself is untouched)", d);
    struct json_object *c = NULL;
    is_rc(jwt_validate(good, n - 1, keys, &w, &c, &e), JWT_MALFORMED,
          "one character fewer: refused", d);
    ok(c == NULL, "nothing is handed out on failure");
    snprintf(buf, sizeof buf, "%sAAAA", good);
    is_rc(jwt_validate(buf, n, keys, &w, &c, &e), JWT_OK,
          "the length is the caller's: bytes after it are not read", d);
    json_object_put(c);

    /* sizes */
    char *big = malloc(JWT_MAX_LEN + 2);
    memset(big, 'A', JWT_MAX_LEN + 1);
    big[100] = '.';
    big[200] = '.';
    big[JWT_MAX_LEN + 1] = '\0';
    is_rc(check(big, keys, &w, d), JWT_MALFORMED, "a token of 16385 bytes", d);
    free(big);
    char *pad = malloc(13000);
    memset(pad, 'x', 12990);
    pad[12990] = '\0';
    char *extra = malloc(13100);
    snprintf(extra, 13100, "\"pad\":\"%s\"", pad);
    char *t = token("EdDSA", ed, "{\"alg\":\"EdDSA\",\"kid\":\"d1\"}", claims(extra));
    is_rc(check(t, keys, &w, d), JWT_MALFORMED, "a signed token over 16 KiB is refused", d);
    free(t);
    pad[11000] = '\0';
    snprintf(extra, 13100, "\"pad\":\"%s\"", pad);
    t = token("EdDSA", ed, "{\"alg\":\"EdDSA\",\"kid\":\"d1\"}", claims(extra));
    ok(strlen(t) < JWT_MAX_LEN, "(a token of %zu bytes)", strlen(t));
    is_rc(check(t, keys, &w, d), JWT_OK, "a signed token just under 16 KiB is accepted", d);
    free(t);
    free(pad);
    free(extra);
    char hdr[3000];
    snprintf(hdr, sizeof hdr, "{\"alg\":\"EdDSA\",\"kid\":\"d1\",\"x\":\"%0*d\"}", 2100, 0);
    t = token("EdDSA", ed, hdr, claims(""));
    is_rc(check(t, keys, &w, d), JWT_MALFORMED, "a header over 2 KiB", d);
    free(t);
    snprintf(hdr, sizeof hdr, "{\"alg\":\"EdDSA\",\"kid\":\"%0*d\"}", JWK_KID_MAX + 1, 0);
    t = token("EdDSA", ed, hdr, claims(""));
    is_rc(check(t, keys, &w, d), JWT_MALFORMED, "a kid over 256 bytes", d);
    free(t);

    /* JSON that is not an object */
    static const char *const not_objects[] = {"[1,2]",   "\"claims\"", "42",         "null",
                                              "{\"a\":", "{'a':1}",    "{\"a\":1} x"};
    for (size_t i = 0; i < sizeof not_objects / sizeof *not_objects; i++) {
        char what[64];
        t = token("EdDSA", ed, "{\"alg\":\"EdDSA\",\"kid\":\"d1\"}", not_objects[i]);
        snprintf(what, sizeof what, "payload %s: refused", not_objects[i]);
        is_rc(check(t, keys, &w, d), JWT_MALFORMED, what, d);
        free(t);
    }
    t = token("EdDSA", ed, "[\"EdDSA\"]", claims(""));
    is_rc(check(t, keys, &w, d), JWT_MALFORMED, "a header that is an array", d);
    free(t);
    t = token("EdDSA", ed, "{\"alg\":\"EdDSA\",\"kid\":\"d1\"}", "{\"iss\":\"\xc3\x28\"}");
    is_rc(check(t, keys, &w, d), JWT_MALFORMED, "invalid UTF-8 in the payload", d);
    free(t);
    t = token("EdDSA", ed, "{\"alg\":\"EdDSA\",\"kid\":7}", claims(""));
    is_rc(check(t, keys, &w, d), JWT_MALFORMED, "a kid that is a number", d);
    free(t);
    free(good);
}

/* RFC 7515 A.2 and A.3, RFC 8037 A.4: signatures made by others */
#define RFC7515_PAYLOAD                                                                            \
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl" \
    "fQ"
static const char rfc7515_a2[] =
    "eyJhbGciOiJSUzI1NiJ9." RFC7515_PAYLOAD
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5"
    "jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb"
    "1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOY"
    "EUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
static const char rfc7515_a2_jwks[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
    "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wG"
    "zjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxv"
    "b3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWy"
    "uXpoQ\",\"e\":\"AQAB\"}]}";
static const char rfc7515_a3[] = "eyJhbGciOiJFUzI1NiJ9." RFC7515_PAYLOAD
                                 ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlS"
                                 "ApmWQxfKTUJqPP3-Kg6NU1Q";
static const char rfc7515_a3_jwks[] = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
                                      "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
                                      "\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";
static const char rfc8037_input[] = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
static const char rfc8037_sig[] =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
static const char rfc8037_jwks[] = "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                                   "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}";

static void rfc_jws(const char *name, const char *tok, const char *jwks)
{
    struct mg_error e = MG_ERROR_INIT;
    char *d = e.detail, what[96];
    struct jwk_set *s = jwk_set_parse_text(jwks, strlen(jwks), NULL);
    ok(s && jwk_set_count(s) == 1, "%s: its key parses", name);
    struct jwt_expect w = {.issuer = "joe", .now_s = 1300819000, .skew_s = 0};
    struct json_object *c = NULL;
    snprintf(what, sizeof what, "%s: the published token verifies, iss joe, before exp", name);
    is_rc(jwt_validate(tok, strlen(tok), s, &w, &c, &e), JWT_OK, what, d);
    ok(c && json_object_get_boolean(json_get(c, "http://example.com/is_root", json_type_boolean)),
       "%s: its claims read back", name);
    json_object_put(c);
    w.now_s = 1300819380;
    c = NULL;
    snprintf(what, sizeof what, "%s: at its exp it is expired", name);
    is_rc(jwt_validate(tok, strlen(tok), s, &w, &c, &e), JWT_EXPIRED, what, d);
    w.now_s = 1300819000;
    /* the payload with "joe" as "eve": still JSON, no longer what was signed */
    const char *p0 = strchr(tok, '.') + 1;
    size_t p_len = (size_t)(strchr(p0, '.') - p0);
    unsigned char raw[256];
    long raw_len = crypto_b64url_decode(p0, p_len, raw);
    char *joe = memmem(raw, (size_t)raw_len, "joe", 3);
    ok(joe != NULL, "%s: the payload names joe", name);
    memcpy(joe, "eve", 3);
    char *p1 = b64(raw, (size_t)raw_len);
    size_t n = strlen(tok) + 1;
    char *t = malloc(n);
    snprintf(t, n, "%.*s%s%s", (int)(p0 - tok), tok, p1, p0 + p_len);
    snprintf(what, sizeof what, "%s: the payload changed, it fails", name);
    is_rc(jwt_validate(t, strlen(t), s, &w, &c, &e), JWT_SIGNATURE, what, d);
    free(p1);
    free(t);
    jwk_set_free(s);
}

static void test_rfc_vectors(void)
{
    rfc_jws("RFC 7515 A.2 (RS256)", rfc7515_a2, rfc7515_a2_jwks);
    rfc_jws("RFC 7515 A.3 (ES256)", rfc7515_a3, rfc7515_a3_jwks);

    /* RFC 8037 A.4: the payload is not JSON, so only the signature itself */
    struct jwk_set *s = jwk_set_parse_text(rfc8037_jwks, strlen(rfc8037_jwks), NULL);
    ok(s && jwk_set_count(s) == 1, "RFC 8037 A.4: its Ed25519 key parses");
    unsigned char sig[64];
    ok(crypto_b64url_decode(rfc8037_sig, strlen(rfc8037_sig), sig) == 64, "a 64-byte signature");
    const struct jwk *k = jwk_set_key(s, 0);
    ok(jwk_verify(k, JWS_EDDSA, rfc8037_input, strlen(rfc8037_input), sig, 64) == 1,
       "RFC 8037 A.4: the published Ed25519 signature verifies");
    ok(jwk_verify(k, JWS_EDDSA, rfc8037_input, strlen(rfc8037_input) - 1, sig, 64) == 0,
       "RFC 8037 A.4: over a shorter input it does not");
    sig[0] ^= 1;
    ok(jwk_verify(k, JWS_EDDSA, rfc8037_input, strlen(rfc8037_input), sig, 64) == 0,
       "RFC 8037 A.4: a changed signature does not");
    ok(jwk_verify(k, JWS_ES256, rfc8037_input, strlen(rfc8037_input), sig, 64) == 0,
       "an Ed25519 key never verifies ES256");
    char token8037[256];
    struct mg_error e = MG_ERROR_INIT;
    char *d = e.detail;
    snprintf(token8037, sizeof token8037, "%s.%s", rfc8037_input, rfc8037_sig);
    struct jwt *j = NULL;
    is_rc(jwt_decode(token8037, strlen(token8037), &j, &e), JWT_MALFORMED,
          "RFC 8037 A.4 as a JWT: its payload is not a claims object", d);
    jwk_set_free(s);
}

/* One key set, several worker threads verifying at once (as the responder's
 * threads will): every verification must still come out right. */
struct verifier {
    const struct jwk_set *keys;
    const char *good, *bad; /* a valid token, and one with a changed signature */
    int wrong;              /* results that were not the expected ones */
};

static void *verify_loop(void *arg)
{
    struct verifier *v = arg;
    struct jwt_expect w = expect_id();
    struct mg_error e = MG_ERROR_INIT;
    char *d = e.detail;
    for (int i = 0; i < 50; i++) {
        if (check(v->good, v->keys, &w, d) != JWT_OK)
            v->wrong++;
        if (check(v->bad, v->keys, &w, d) != JWT_SIGNATURE)
            v->wrong++;
    }
    return NULL;
}

static void test_threads(const struct jwk_set *keys)
{
    static const char *const algs[] = {"RS256", "PS256", "ES256", "EdDSA"};
    static const char *const kids[] = {"r1", "r1", "e1", "d1"};
    EVP_PKEY *ks[] = {rsa, rsa, ec, ed};
    struct verifier v[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        char header[64];
        snprintf(header, sizeof header, "{\"alg\":\"%s\",\"kid\":\"%s\"}", algs[i], kids[i]);
        v[i].keys = keys;
        v[i].good = token(algs[i], ks[i], header, claims(""));
        v[i].bad = tamper(v[i].good, 2, 5);
        v[i].wrong = 0;
        if (pthread_create(&th[i], NULL, verify_loop, &v[i]) != 0)
            abort();
    }
    int wrong = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        wrong += v[i].wrong;
        free((char *)v[i].good);
        free((char *)v[i].bad);
    }
    is_int(wrong, 0, "four threads verifying with one key set: 400 results, all right");
}

static void test_cache_policy(void)
{
    static const struct {
        const char *cc;
        long long want;
        const char *what;
    } cases[] = {
        {NULL, 3600, "no Cache-Control: the default"},
        {"", 3600, "an empty Cache-Control: the default"},
        {"public, max-age=7200", 7200, "max-age is taken"},
        {"MAX-AGE=600", 600, "directive names are case-insensitive"},
        {"max-age = 900 , must-revalidate", 900, "white space around = and ,"},
        {"max-age=\"1200\"", 1200, "a quoted max-age"},
        {"max-age=10", 300, "below the floor: the floor"},
        {"max-age=0", 300, "max-age=0: the floor"},
        {"max-age=999999999", 86400, "above the ceiling: the ceiling"},
        {"max-age=99999999999999999999999999", 86400, "a max-age past 64 bits: the ceiling"},
        {"max-age=-5", 3600, "a negative max-age is ignored"},
        {"max-age=12x", 3600, "a max-age with junk is ignored"},
        {"max-age=", 3600, "an empty max-age is ignored"},
        {"no-store", 300, "no-store: the floor"},
        {"max-age=7200, no-cache", 300, "no-cache wins over max-age"},
        {"private=\"a, max-age=5\", max-age=4000", 4000,
         "a comma and a directive inside quotes are not read"},
        {"max-age=4000, max-age=5000", 4000, "the first max-age counts"},
        {"s-maxage=10, x-max-age=20", 3600, "other directives are not max-age"},
        {",,, =, =x,", 3600, "stray separators"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        is_int(jwk_cache_lifetime(cases[i].cc, 3600, 300, 86400), cases[i].want, cases[i].what);
    ok(jwk_refetch_allowed(1000, 1300, 300) == 1, "an unknown kid 300 s after a fetch: refetch");
    ok(jwk_refetch_allowed(1000, 1299, 300) == 0, "299 s after a fetch: no refetch");
    ok(jwk_refetch_allowed(1000, 900, 300) == 1, "a clock that went back: refetch");
}

int main(void)
{
    rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    rogue = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!rsa || !rogue || !ec || !ed)
        abort();

    ok(jws_alg_parse("none") == JWS_ALG_NONE && jws_alg_parse("HS256") == JWS_ALG_NONE &&
           jws_alg_parse("rs256") == JWS_ALG_NONE && jws_alg_parse(NULL) == JWS_ALG_NONE,
       "none, HMAC, wrong case and NULL are no algorithm");
    ok(jws_alg_parse("RS256") == JWS_RS256 && jws_alg_parse("PS256") == JWS_PS256 &&
           jws_alg_parse("ES256") == JWS_ES256 && jws_alg_parse("EdDSA") == JWS_EDDSA,
       "the four accepted algorithms");
    is_str(jws_alg_name(JWS_PS256), "PS256", "jws_alg_name");

    test_set_parse();
    struct jwk_set *keys = main_set();
    ok(keys && jwk_set_count(keys) == 4, "the test's key set: four keys");
    test_good(keys);
    test_alg_attacks(keys);
    test_tamper(keys);
    test_kid(keys);
    test_claims(keys);
    test_syntax(keys);
    test_rfc_vectors();
    test_cache_policy();
    test_threads(keys);
    jwk_set_free(keys);

    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rogue);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ed);
    return tap_done();
}
