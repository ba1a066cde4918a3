/*
 * util/jwk.c - JSON Web Key Sets as OpenSSL public keys, and the signature
 * check with one of them (RFC 7517, RFC 7518, RFC 8037).
 */
#include "util/jwk.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/crypto.h"
#include "util/json.h"

#define EC_P256_COORD_LEN 32
#define ED25519_KEY_LEN   32
#define ES256_SIG_LEN     64
#define ED25519_SIG_LEN   64
#define RSA_E_MAX_LEN     8 /* a 64-bit public exponent at most */

struct jwk {
    char *kid;        /* owned; NULL when the JWK has none */
    enum jwk_kty kty; /* the key's type */
    enum jws_alg alg; /* the JWK's "alg", JWS_ALG_NONE when absent */
    EVP_PKEY *pkey;   /* owned; public parts only; never changed after parse */
};

struct jwk_skip {
    char *kid;       /* owned; NULL when the entry has no usable kid */
    const char *why; /* static */
};

struct jwk_set {
    int n;                                     /* trusted keys in keys[] */
    int n_skipped;                             /* entries in skipped[] */
    struct jwk keys[JWK_SET_MAX_KEYS];         /* in the set's order */
    struct jwk_skip skipped[JWK_SET_MAX_KEYS]; /* in the set's order */
};

/* The algorithms' registered names, each way: the first name of an
 * algorithm is the one written ("Ed25519" is read as EdDSA). */
static const struct {
    const char *name;
    enum jws_alg alg;
} jws_names[] = {
    {"RS256", JWS_RS256}, {"PS256", JWS_PS256},   {"ES256", JWS_ES256},
    {"EdDSA", JWS_EDDSA}, {"Ed25519", JWS_EDDSA},
};

enum jws_alg jws_alg_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof jws_names / sizeof *jws_names; i++)
        if (strcmp(name, jws_names[i].name) == 0)
            return jws_names[i].alg;
    return JWS_ALG_NONE;
}

const char *jws_alg_name(enum jws_alg alg)
{
    for (size_t i = 0; i < sizeof jws_names / sizeof *jws_names; i++)
        if (jws_names[i].alg == alg)
            return jws_names[i].name;
    return "none";
}

/* Decodes the base64url member name of k into out (cap bytes). Returns the
 * decoded length, or -1 when the member is absent, not a string, empty,
 * not strict base64url, or longer than cap. */
static long member_b64url(struct json_object *k, const char *name, unsigned char *out, size_t cap)
{
    struct json_object *v = json_get(k, name, json_type_string);
    if (!v)
        return -1;
    size_t n = (size_t)json_object_get_string_len(v);
    if (n == 0 || n * 3 / 4 > cap)
        return -1;
    return crypto_b64url_decode(json_object_get_string(v), n, out);
}

/* 1 when k has a member name, whatever its type. */
static int has_member(struct json_object *k, const char *name)
{
    struct json_object *v = NULL;
    return json_object_object_get_ex(k, name, &v);
}

/* Checks the new public key pkey with OpenSSL's own public-key validation
 * (for EC: the point is on the curve and not the identity). Takes pkey and
 * returns it, or frees it and returns NULL. */
static EVP_PKEY *checked_public(EVP_PKEY *pkey)
{
    if (!pkey)
        return NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!ctx)
        abort();
    int ok = EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return pkey;
}

/* An OpenSSL key from OSSL_PARAMs of type name, or NULL when OpenSSL
 * refuses the values (with check, also when checked_public() does). */
static EVP_PKEY *pkey_from_params(const char *name, OSSL_PARAM *params, int check)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1)
        abort();
    EVP_PKEY *pkey = NULL;
    if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    return check ? checked_public(pkey) : pkey;
}

/* The key of each type's public members, or NULL with *why set. */
static EVP_PKEY *rsa_key(struct json_object *k, const char **why)
{
    unsigned char n[JWK_RSA_MAX_BITS / 8 + 1], e[RSA_E_MAX_LEN];
    long n_len = member_b64url(k, "n", n, sizeof n);
    long e_len = member_b64url(k, "e", e, sizeof e);
    if (n_len < 0 || e_len < 0) {
        *why = n_len < 0 ? "RSA key without a valid \"n\"" : "RSA key without a valid \"e\"";
        return NULL;
    }
    BIGNUM *bn_n = BN_bin2bn(n, (int)n_len, NULL);
    BIGNUM *bn_e = BN_bin2bn(e, (int)e_len, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (!bn_n || !bn_e || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
        abort();
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    if (!params)
        abort();
    /* Not OpenSSL's RSA public-key check: it tests n for primality, some
     * 20 ms for a 2048-bit key and 300 ms for an 8192-bit one, on every
     * fetch of the set, and a weak n only lets its owner, who signs with
     * it anyway, forge. What verifying needs is checked here: an odd n of
     * a sane size, and an odd e above 1 (with e = 1 anyone could forge). */
    int bits = BN_num_bits(bn_n);
    int sane = bits >= JWK_RSA_MIN_BITS && bits <= JWK_RSA_MAX_BITS && BN_is_odd(bn_n) &&
               BN_is_odd(bn_e) && !BN_is_one(bn_e);
    EVP_PKEY *pkey = sane ? pkey_from_params("RSA", params, 0) : NULL;
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    if (bits < JWK_RSA_MIN_BITS || bits > JWK_RSA_MAX_BITS)
        *why = "RSA key size outside 2048 to 8192 bits";
    else if (!pkey)
        *why = "RSA key with an even modulus, or an exponent even or 1";
    return pkey;
}

static EVP_PKEY *ec_key(struct json_object *k, const char **why)
{
    /* the uncompressed point: 0x04 || x || y (SEC 1 §2.3.3), each
     * coordinate exactly as long as the field (RFC 7518 §6.2.1.2) */
    unsigned char pub[1 + 2 * EC_P256_COORD_LEN], x[EC_P256_COORD_LEN + 1], y[sizeof x];
    if (member_b64url(k, "x", x, sizeof x) != EC_P256_COORD_LEN ||
        member_b64url(k, "y", y, sizeof y) != EC_P256_COORD_LEN) {
        *why = "EC key without 32-byte \"x\" and \"y\"";
        return NULL;
    }
    pub[0] = 0x04;
    memcpy(pub + 1, x, EC_P256_COORD_LEN);
    memcpy(pub + 1 + EC_P256_COORD_LEN, y, EC_P256_COORD_LEN);
    char group[] = "P-256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *pkey = pkey_from_params("EC", params, 1);
    if (!pkey)
        *why = "EC key is not a point on P-256";
    return pkey;
}

static EVP_PKEY *okp_key(struct json_object *k, const char **why)
{
    unsigned char x[ED25519_KEY_LEN + 1];
    if (member_b64url(k, "x", x, sizeof x) != ED25519_KEY_LEN) {
        *why = "Ed25519 key without a 32-byte \"x\"";
        return NULL;
    }
    EVP_PKEY *pkey =
        checked_public(EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, x, ED25519_KEY_LEN));
    if (!pkey)
        *why = "Ed25519 key refused by OpenSSL";
    return pkey;
}

/* The key types a set may hold: "kty", the one curve taken ("crv", NULL
 * where the type has none) and the answer to another, and the reader of
 * the public members. */
static const struct {
    const char *kty;
    const char *crv, *other_crv;
    enum jwk_kty type;
    EVP_PKEY *(*key)(struct json_object *k, const char **why);
} key_types[] = {
    {"RSA", NULL, NULL, JWK_RSA, rsa_key},
    {"EC", "P-256", "EC key on a curve other than P-256", JWK_EC_P256, ec_key},
    {"OKP", "Ed25519", "OKP key on a curve other than Ed25519", JWK_OKP_ED25519, okp_key},
};

/* The public key of the type named kty into out. Returns NULL, or the
 * reason to skip k (out unchanged). */
static const char *typed_parse(struct json_object *k, const char *kty, struct jwk *out)
{
    for (size_t i = 0; i < sizeof key_types / sizeof *key_types; i++) {
        if (strcmp(kty, key_types[i].kty) != 0)
            continue;
        const char *crv = key_types[i].crv ? json_get_string(k, "crv") : NULL;
        if (key_types[i].crv && (!crv || strcmp(crv, key_types[i].crv) != 0))
            return key_types[i].other_crv;
        const char *why = NULL;
        EVP_PKEY *pkey = key_types[i].key(k, &why);
        if (!pkey)
            return why;
        out->kty = key_types[i].type;
        out->pkey = pkey;
        return NULL;
    }
    return "unsupported \"kty\"";
}

/* Checks the members every key type shares ("use", "key_ops", "alg") and
 * that k carries no private parts. Returns NULL or the reason to skip. */
static const char *common_members(struct json_object *k, struct jwk *out)
{
    static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    for (size_t i = 0; i < sizeof private_members / sizeof *private_members; i++)
        if (has_member(k, private_members[i]))
            return "carries private key members: a published private key is not trusted";
    if (has_member(k, "use")) {
        const char *use = json_get_string(k, "use");
        if (!use)
            return "\"use\" is not a string";
        if (strcmp(use, "sig") != 0)
            return "not a signature key (\"use\" is not \"sig\")";
    }
    if (has_member(k, "key_ops")) {
        struct json_object *ops = json_get(k, "key_ops", json_type_array);
        int verify = 0;
        for (size_t i = 0; ops && i < json_object_array_length(ops); i++) {
            struct json_object *op = json_object_array_get_idx(ops, i);
            if (!json_object_is_type(op, json_type_string))
                return "\"key_ops\" is not an array of strings";
            if (strcmp(json_object_get_string(op), "verify") == 0)
                verify = 1;
        }
        if (!verify)
            return "\"key_ops\" does not include \"verify\"";
    }
    out->alg = JWS_ALG_NONE;
    if (has_member(k, "alg")) {
        out->alg = jws_alg_parse(json_get_string(k, "alg"));
        if (out->alg == JWS_ALG_NONE)
            return "\"alg\" is not one of RS256, PS256, ES256, EdDSA";
    }
    return NULL;
}

/* Parses one entry of "keys" into out. Returns NULL, or the reason it is
 * skipped; out->kid is set whenever the entry has a usable kid, and
 * out->pkey only on success. */
static const char *key_parse(struct json_object *k, struct jwk *out)
{
    if (!json_object_is_type(k, json_type_object))
        return "not a JSON object";
    if (has_member(k, "kid")) {
        struct json_object *kid = json_get(k, "kid", json_type_string);
        if (!kid)
            return "\"kid\" is not a string";
        size_t len = (size_t)json_object_get_string_len(kid);
        if (len == 0 || len > JWK_KID_MAX || strlen(json_object_get_string(kid)) != len)
            return "\"kid\" is empty, too long or holds U+0000";
        out->kid = xstrdup(json_object_get_string(kid));
    }
    const char *kty = json_get_string(k, "kty");
    if (!kty)
        return "no \"kty\"";
    if (strcmp(kty, "oct") == 0)
        return "symmetric key: HMAC keys are never taken from a key set";
    const char *why = common_members(k, out);
    if (why)
        return why;
    why = typed_parse(k, kty, out);
    if (why)
        return why;
    if (out->alg != JWS_ALG_NONE && !jwk_fits(out, out->alg)) {
        EVP_PKEY_free(out->pkey);
        out->pkey = NULL;
        return "\"alg\" does not fit the key type";
    }
    return NULL;
}

struct jwk_set *jwk_set_parse(struct json_object *set, struct mg_error *err)
{
    struct json_object *keys = json_get(set, "keys", json_type_array);
    if (!keys) {
        mg_error_msg(err, "not a JWK Set: no \"keys\" array");
        return NULL;
    }
    size_t n = json_object_array_length(keys);
    if (n > JWK_SET_MAX_KEYS) {
        mg_error_msg(err, "JWK Set has more than 32 keys");
        return NULL;
    }
    struct jwk_set *s = xcalloc(1, sizeof *s);
    for (size_t i = 0; i < n; i++) {
        struct jwk k = {0};
        const char *skip = key_parse(json_object_array_get_idx(keys, i), &k);
        if (skip) {
            s->skipped[s->n_skipped].kid = k.kid;
            s->skipped[s->n_skipped++].why = skip;
        } else {
            s->keys[s->n++] = k;
        }
    }
    /* OpenSSL queues an error for every value it refused: leave none
     * behind for the next caller in this thread to trip over */
    ERR_clear_error();
    return s;
}

struct jwk_set *jwk_set_parse_text(const char *text, size_t len, struct mg_error *err)
{
    if (len > JWK_SET_MAX_TEXT) {
        mg_error_msg(err, "JWK Set text longer than 64 KiB");
        return NULL;
    }
    struct json_object *doc = NULL;
    if (json_parse_strict(text, len, &doc, err) != 0)
        return NULL;
    struct jwk_set *s = jwk_set_parse(doc, err);
    json_object_put(doc);
    return s;
}

void jwk_set_free(struct jwk_set *set)
{
    if (!set)
        return;
    for (int i = 0; i < set->n; i++) {
        free(set->keys[i].kid);
        EVP_PKEY_free(set->keys[i].pkey);
    }
    for (int i = 0; i < set->n_skipped; i++)
        free(set->skipped[i].kid);
    free(set);
}

int jwk_set_count(const struct jwk_set *set)
{
    return set->n;
}

const struct jwk *jwk_set_key(const struct jwk_set *set, int i)
{
    return i >= 0 && i < set->n ? &set->keys[i] : NULL;
}

int jwk_set_skipped_count(const struct jwk_set *set)
{
    return set->n_skipped;
}

const char *jwk_set_skipped(const struct jwk_set *set, int i, const char **kid)
{
    if (i < 0 || i >= set->n_skipped)
        return NULL;
    if (kid)
        *kid = set->skipped[i].kid;
    return set->skipped[i].why;
}

const char *jwk_kid(const struct jwk *key)
{
    return key->kid;
}

enum jwk_kty jwk_kty(const struct jwk *key)
{
    return key->kty;
}

enum jws_alg jwk_alg(const struct jwk *key)
{
    return key->alg;
}

int jwk_fits(const struct jwk *key, enum jws_alg alg)
{
    if (key->alg != JWS_ALG_NONE && key->alg != alg)
        return 0;
    switch (alg) {
    case JWS_ALG_NONE:
        return 0;
    case JWS_RS256:
    case JWS_PS256:
        return key->kty == JWK_RSA;
    case JWS_ES256:
        return key->kty == JWK_EC_P256;
    case JWS_EDDSA:
        return key->kty == JWK_OKP_ED25519;
    }
    return 0;
}

/* The DER ECDSA-Sig-Value (SEC 1 §C.5) of the JOSE signature r || s
 * (RFC 7518 §3.4) into der (cap bytes). Returns its length, or 0 when it
 * does not fit. */
static size_t es256_der(const unsigned char sig[ES256_SIG_LEN], unsigned char *der, size_t cap)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, ES256_SIG_LEN / 2, NULL);
    BIGNUM *s = BN_bin2bn(sig + ES256_SIG_LEN / 2, ES256_SIG_LEN / 2, NULL);
    if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1)
        abort();
    size_t len = 0;
    int need = i2d_ECDSA_SIG(es, NULL);
    if (need > 0 && (size_t)need <= cap) {
        unsigned char *p = der;
        len = (size_t)i2d_ECDSA_SIG(es, &p);
    }
    ECDSA_SIG_free(es);
    return len;
}

int jwk_verify(const struct jwk *key, enum jws_alg alg, const void *msg, size_t len,
               const unsigned char *sig, size_t sig_len)
{
    if (!jwk_fits(key, alg))
        return 0;
    unsigned char der[2 * (ES256_SIG_LEN / 2 + 3) + 3];
    const EVP_MD *md = EVP_sha256();
    switch (alg) {
    case JWS_ALG_NONE:
        return 0;
    case JWS_RS256:
    case JWS_PS256:
        if (sig_len != (size_t)EVP_PKEY_get_size(key->pkey))
            return 0;
        break;
    case JWS_ES256:
        if (sig_len != ES256_SIG_LEN)
            return 0;
        sig_len = es256_der(sig, der, sizeof der);
        sig = der;
        if (sig_len == 0)
            return 0;
        break;
    case JWS_EDDSA:
        if (sig_len != ED25519_SIG_LEN)
            return 0;
        md = NULL; /* Ed25519 hashes the message itself (RFC 8032) */
        break;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        abort();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = EVP_DigestVerifyInit_ex(ctx, &pctx, md ? EVP_MD_get0_name(md) : NULL, NULL, NULL,
                                     key->pkey, NULL) == 1;
    if (ok && alg == JWS_RS256)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    if (ok && alg == JWS_PS256)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    if (ok)
        ok = EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* Moves p past a directive's value: a quoted-string (RFC 9110 §5.6.4) or a
 * token, up to the next ',' or the end. */
static const char *skip_value(const char *p)
{
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1])
                p++;
        if (*p == '"')
            p++;
    }
    return p + strcspn(p, ",");
}

/* The delta-seconds of n characters at p (RFC 9111 §1.2.2), saturating at
 * max; -1 when empty or not all digits. */
static long long delta_seconds(const char *p, size_t n, long long max)
{
    if (n == 0)
        return -1;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        int digit = p[i] - '0';
        v = v > (max - digit) / 10 ? max : v * 10 + digit;
    }
    return v;
}

long long jwk_cache_lifetime(const char *cache_control, long long default_s, long long min_s,
                             long long max_s)
{
    long long life = default_s;
    int have_age = 0, no_cache = 0;
    for (const char *p = cache_control; p && *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, "=, \t");
        const char *name = p;
        p += n;
        p += strspn(p, " \t");
        const char *value = NULL;
        size_t value_len = 0;
        if (*p == '=') {
            p++;
            p += strspn(p, " \t");
            value = *p == '"' ? p + 1 : p;
            value_len = strcspn(value, *p == '"' ? "\"" : ", \t");
            p = skip_value(p);
        }
        if ((n == 8 && strncasecmp(name, "no-store", 8) == 0) ||
            (n == 8 && strncasecmp(name, "no-cache", 8) == 0)) {
            no_cache = 1;
        } else if (n == 7 && strncasecmp(name, "max-age", 7) == 0 && !have_age && value) {
            long long v = delta_seconds(value, value_len, max_s);
            if (v >= 0) {
                life = v;
                have_age = 1;
            }
        }
    }
    if (no_cache)
        life = min_s;
    if (life > max_s)
        life = max_s;
    if (life < min_s)
        life = min_s;
    return life;
}

int jwk_refetch_allowed(long long fetched_s, long long now_s, long long min_interval_s)
{
    return now_s < fetched_s || now_s - fetched_s >= min_interval_s;
}
