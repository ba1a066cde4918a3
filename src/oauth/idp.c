/*
 * oauth/idp.c - sign-in at an upstream OpenID provider (OpenID Connect
 * Core 1.0 section 3.1, Discovery 1.0, RFC 7636 PKCE, RFC 9207 iss), or at
 * a plain OAuth 2.0 one (RFC 6749 section 4.1).
 *
 * mcpgate stays the authorization server its MCP clients see; only the
 * person's sign-in happens at the provider:
 *
 *   /authorize (not signed in) -> /login (the providers, and the password
 *   form when local_users = yes; with one provider and no local users
 *   straight on) -> GET /login/idp?provider=P&return_to=/authorize?...
 *   -> the provider's authorization endpoint (code, S256 challenge, state,
 *   nonce) -> GET /login/callback?code&state&iss -> the code is exchanged
 *   at the provider's token endpoint, its ID token checked (util/jwt.h
 *   against the provider's JWKS: iss, aud, azp, exp, iat, nonce, RS256/
 *   PS256/ES256/EdDSA only) -> the user (P, sub) is found or provisioned,
 *   its groups set from a "groups" claim -> a browser session, and on to
 *   return_to (consent, code) as for a local user.
 *
 * Instead of the ID token, the identity may come from the userinfo
 * endpoint (its "sub") or, for plain OAuth 2.0, from a "who am I" URL (the
 * member subject_field), each called with the access token; explicit
 * endpoints then replace discovery, and without "openid" among the scopes
 * no nonce is sent. groups_allowed refuses anyone whose groups claim names
 * none of its groups, before a user is provisioned.
 *
 * State: 256 random bits; its SHA-256 is stored in idp_logins (consumed
 * once, 10 minutes) and the browser carries it in the mcpgate_idp cookie,
 * so a callback in another browser (a foreign state, login CSRF) is
 * refused before anything is consumed. The PKCE verifier and the nonce are
 * HMACs of the state under the installation secret "idp", never stored.
 * The callback's iss must be the issuer the sign-in went to (mix-up
 * between providers, RFC 9207); it is required when the provider's
 * metadata says it sends it.
 *
 * A link_only provider is no way to sign in: /login/idp?provider=P then
 * needs a signed-in browser, the state's row carries "link:UID:" before
 * return_to, and the callback keeps the code's tokens as that user's
 * linked account (tools/idp_token.h) when the same browser is still signed
 * in as UID.
 *
 * Outbound requests (discovery, JWKS, token, userinfo, who-am-I) use
 * libcurl: https only, no redirects, no proxy, 5 s, at most 256 KiB, never
 * to loopback or private addresses unless idp_allow_private is set (tests).
 * Discovery documents and key sets are cached per process for their
 * Cache-Control lifetime
 * (util/jwk.h jwk_cache_lifetime(): 60 s to 1 day, 1 hour by default); a
 * token with an unknown kid refetches the set at most once a minute
 * (jwk_refetch_allowed()), which is how a rotated key is picked up. A
 * failed discovery is remembered for 30 s: meanwhile sign-ins at that
 * provider fail at once instead of each waiting for it.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "oauth/internal.h"
#include "store/policy.h"
#include "store/secret.h"
#include "store/users.h"
#include "tools/fetch.h"
#include "tools/idp_token.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/jwk.h"
#include "util/jwt.h"
#include "util/log.h"
#include "util/net.h"
#include "util/time.h"

#define IDP_LOGIN_TTL_S    600
#define IDP_MAX_BYTES      (256 * 1024)
#define IDP_TIMEOUT_MS     5000
#define IDP_CACHE_DEFAULT  3600
#define IDP_CACHE_MIN      60
#define IDP_CACHE_MAX      86400
#define IDP_REFETCH_MIN_S  60
#define IDP_DOWN_S         30 /* after a failed discovery, sign-ins fail at once this long */
#define IDP_SKEW_S         60
#define IDP_COOKIE         "mcpgate_idp"
#define IDP_CONSENT_COOKIE "mcpgate_idp_consent" /* consent=provider: consent given there */
#define IDP_CONSENT_TTL_S  120
#define IDP_URL_MAX        1024
#define IDP_MAX_GROUPS     32 /* groups taken from one ID token */

/* What discovery says about one provider, and its keys; per process. */
struct idp_cache {
    char authorization_endpoint[IDP_URL_MAX];
    char token_endpoint[IDP_URL_MAX];
    char jwks_uri[IDP_URL_MAX];
    char introspection_endpoint[IDP_URL_MAX]; /* "" when the metadata name none */
    char revocation_endpoint[IDP_URL_MAX];    /* "" when the provider offers none */
    int iss_param;                            /* authorization_response_iss_parameter_supported */
    long long meta_until_s;                   /* 0: not fetched */
    long long down_until_s;                   /* discovery failed: do not try again before this */
    struct jwk_set *keys;                     /* NULL: not fetched */
    long long keys_fetched_s;                 /* when keys were fetched */
    long long keys_until_s;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
/* by index in cfg->idps, and RS_SLOT for auth = resource's issuer; under cache_lock */
static struct idp_cache caches[MG_MAX_IDPS + 1];
#define RS_SLOT MG_MAX_IDPS

/* Whom a cache slot is for: the issuer, a name for the log, and the
 * intervals of its refetch and failure memo. */
struct issuer {
    int slot;
    const char *issuer;
    const char *name;
    int rs;              /* 1: auth = resource's issuer: authorization endpoints not needed */
    int introspect;      /* 1: its introspection endpoint is needed */
    int jwks;            /* 1: its jwks_uri is needed */
    long long down_s;    /* a failed discovery is remembered this long */
    long long refetch_s; /* least time between key fetches for an unknown kid */
};

static struct issuer issuer_of_idp(const struct mg_config *cfg, const struct mg_idp *p)
{
    struct issuer is = {.slot = (int)(p - cfg->idps),
                        .issuer = p->issuer,
                        .name = p->name,
                        .jwks = 1,
                        .down_s = IDP_DOWN_S,
                        .refetch_s = IDP_REFETCH_MIN_S};
    return is;
}

static struct issuer issuer_of_rs(const struct mg_config *cfg)
{
    struct issuer is = {.slot = RS_SLOT,
                        .issuer = cfg->rs.issuer,
                        .name = cfg->rs.name,
                        .rs = 1,
                        .introspect = cfg->rs.introspect != 0,
                        .jwks = cfg->rs.introspect != 1,
                        .down_s = cfg->rs.refetch_s,
                        .refetch_s = cfg->rs.refetch_s};
    return is;
}

/* Seconds on the monotonic clock: cache lifetimes do not jump with the
 * wall clock (util/time.h). */
static long long now_s(void)
{
    return mg_now_ms() / 1000;
}

/* --- outbound HTTP --- */

struct fetch {
    struct buf body;
    const char *bearer; /* sent as "Authorization: Bearer" when not NULL; secret */
    int refused;        /* the address was not public */
    char cache_control[256];
};

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct fetch *f = arg;
    size_t len = size * n;
    if (len > 14 && strncasecmp(p, "Cache-Control:", 14) == 0) {
        size_t v = len - 14;
        if (v >= sizeof f->cache_control)
            v = sizeof f->cache_control - 1;
        memcpy(f->cache_control, p + 14, v);
        f->cache_control[v] = '\0';
        f->cache_control[strcspn(f->cache_control, "\r\n")] = '\0';
    }
    return len;
}

/* GET url, or POST form (application/x-www-form-urlencoded) with HTTP
 * Basic client authentication when user is not NULL. Returns the HTTP
 * status with the body in f->body, or -1 (not reached, refused address,
 * too large) with a reason logged. */
static long http_call(const struct mg_config *cfg, const char *url, const char *form,
                      const char *user, const char *password, struct fetch *f)
{
    f->body.limit = IDP_MAX_BYTES;
    struct buf auth = {0};
    const char *headers[3] = {"Accept: application/json", NULL, NULL};
    if (f->bearer && buf_printf(&auth, "Authorization: Bearer %s", f->bearer) == 0)
        headers[1] = buf_str(&auth);
    struct tool_fetch_req req = {.url = url,
                                 .form = form,
                                 .user = user,
                                 .password = password,
                                 .headers = headers,
                                 .user_agent = "mcpgate (OpenID Connect sign-in)",
                                 .allow_private = cfg->idp_allow_private,
                                 .timeout_ms = IDP_TIMEOUT_MS,
                                 .connect_timeout_ms = 3000,
                                 .max_file_size = IDP_MAX_BYTES,
                                 .on_header = on_header,
                                 .header_arg = f};
    long status = 0;
    int rc = tool_fetch(&req, &f->body, &status, &f->refused);
    if (auth.data)
        explicit_bzero(auth.data, auth.len);
    buf_free(&auth);
    if (f->refused) {
        LOG_WARN("msg=\"identity provider address is not public\" hint=\"idp_allow_private\"");
        return -1;
    }
    if (rc != CURLE_OK) {
        LOG_WARN("msg=\"identity provider request failed\" curl=%d", (int)rc);
        return -1;
    }
    return status;
}

/* GET url as a JSON object. Returns it (the caller puts it), or NULL. */
static struct json_object *get_json(const struct mg_config *cfg, const char *url, char *cc,
                                    size_t cc_len)
{
    struct fetch f;
    memset(&f, 0, sizeof f);
    struct json_object *doc = NULL;
    long status = http_call(cfg, url, NULL, NULL, NULL, &f);
    if (status != 200) {
        if (status > 0)
            LOG_WARN("msg=\"identity provider answered\" status=%ld", status);
    } else if (json_parse_request(f.body.data ? f.body.data : "", f.body.len, &doc, NULL) < 0 ||
               !json_object_is_type(doc, json_type_object)) {
        LOG_WARN("msg=\"identity provider document is not a JSON object\"");
        json_object_put(doc);
        doc = NULL;
    }
    if (cc)
        snprintf(cc, cc_len, "%s", f.cache_control);
    buf_free(&f.body);
    return doc;
}

/* Copies member name of doc, an http(s) URL, into out. Returns 0 or -1. */
static int endpoint(const struct mg_config *cfg, struct json_object *doc, const char *name,
                    char *out, size_t n)
{
    const char *v = json_get_string(doc, name);
    if (!v || strlen(v) >= n ||
        !(strncmp(v, "https://", 8) == 0 ||
          (cfg->idp_allow_private && strncmp(v, "http://", 7) == 0))) {
        LOG_WARN("msg=\"identity provider metadata lack an endpoint\" member=%s", name);
        return -1;
    }
    snprintf(out, n, "%s", v);
    return 0;
}

/* Makes caches[is->slot] hold the issuer's metadata. Under cache_lock.
 * Returns 0 or -1. */
static int discover_locked(const struct mg_config *cfg, const struct issuer *is)
{
    struct idp_cache *c = &caches[is->slot];
    if (c->meta_until_s > now_s())
        return 0;
    if (c->down_until_s > now_s()) /* a provider that is down costs one wait per interval */
        return -1;
    char url[IDP_URL_MAX + 64], cc[256];
    size_t il = strlen(is->issuer);
    snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration",
             (int)(il && is->issuer[il - 1] == '/' ? il - 1 : il), is->issuer);
    struct json_object *doc = get_json(cfg, url, cc, sizeof cc);
    int rc = -1;
    if (!doc)
        goto out;
    const char *iss = json_get_string(doc, "issuer");
    if (!iss || strcmp(iss, is->issuer) != 0) { /* Discovery 1.0 section 4.3 */
        LOG_WARN("msg=\"identity provider metadata name another issuer\" idp=%s", is->name);
        goto out;
    }
    struct idp_cache n;
    memset(&n, 0, sizeof n);
    if ((!is->rs &&
         (endpoint(cfg, doc, "authorization_endpoint", n.authorization_endpoint,
                   sizeof n.authorization_endpoint) < 0 ||
          endpoint(cfg, doc, "token_endpoint", n.token_endpoint, sizeof n.token_endpoint) < 0)) ||
        (is->jwks && endpoint(cfg, doc, "jwks_uri", n.jwks_uri, sizeof n.jwks_uri) < 0) ||
        (is->introspect && endpoint(cfg, doc, "introspection_endpoint", n.introspection_endpoint,
                                    sizeof n.introspection_endpoint) < 0))
        goto out;
    const char *rev = json_get_string(doc, "revocation_endpoint"); /* optional (RFC 8414) */
    if (rev && strlen(rev) < sizeof n.revocation_endpoint &&
        (strncmp(rev, "https://", 8) == 0 ||
         (cfg->idp_allow_private && strncmp(rev, "http://", 7) == 0)))
        snprintf(n.revocation_endpoint, sizeof n.revocation_endpoint, "%s", rev);
    struct json_object *ip =
        json_get(doc, "authorization_response_iss_parameter_supported", json_type_boolean);
    n.iss_param = ip && json_object_get_boolean(ip);
    int keys_same = strcmp(n.jwks_uri, c->jwks_uri) == 0;
    memcpy(c->authorization_endpoint, n.authorization_endpoint, sizeof n.authorization_endpoint);
    memcpy(c->token_endpoint, n.token_endpoint, sizeof n.token_endpoint);
    memcpy(c->jwks_uri, n.jwks_uri, sizeof n.jwks_uri);
    memcpy(c->introspection_endpoint, n.introspection_endpoint, sizeof n.introspection_endpoint);
    memcpy(c->revocation_endpoint, n.revocation_endpoint, sizeof n.revocation_endpoint);
    c->iss_param = n.iss_param;
    if (!keys_same) {
        jwk_set_free(c->keys);
        c->keys = NULL;
    }
    c->meta_until_s = now_s() + jwk_cache_lifetime(cc[0] ? cc : NULL, IDP_CACHE_DEFAULT,
                                                   IDP_CACHE_MIN, IDP_CACHE_MAX);
    rc = 0;
out:
    if (rc < 0)
        c->down_until_s = now_s() + is->down_s;
    json_object_put(doc);
    return rc;
}

/* Fetches caches[is->slot]'s key set. Under cache_lock. Returns 0 or -1. */
static int fetch_keys_locked(const struct mg_config *cfg, const struct issuer *is)
{
    struct idp_cache *c = &caches[is->slot];
    struct fetch f;
    memset(&f, 0, sizeof f);
    long status = http_call(cfg, c->jwks_uri, NULL, NULL, NULL, &f);
    int rc = -1;
    struct mg_error jerr = MG_ERROR_INIT;
    struct jwk_set *set = NULL;
    if (status == 200)
        set = jwk_set_parse_text(f.body.data ? f.body.data : "", f.body.len, &jerr);
    if (!set) {
        LOG_WARN("msg=\"identity provider key set unusable\" idp=%s status=%ld why=\"%s\"",
                 is->name, status, jerr.msg[0] ? jerr.msg : "-");
        goto out;
    }
    for (int k = 0; k < jwk_set_skipped_count(set); k++)
        LOG_DEBUG("msg=\"identity provider key skipped\" idp=%s why=\"%s\"", is->name,
                  jwk_set_skipped(set, k, NULL));
    jwk_set_free(c->keys);
    c->keys = set;
    c->keys_fetched_s = now_s();
    c->keys_until_s =
        c->keys_fetched_s + jwk_cache_lifetime(f.cache_control[0] ? f.cache_control : NULL,
                                               IDP_CACHE_DEFAULT, IDP_CACHE_MIN, IDP_CACHE_MAX);
    rc = 0;
out:
    buf_free(&f.body);
    return rc;
}

/* Copies provider p's endpoints out of the cache (discovering them when
 * needed). Returns 0 or -1. */
static int discover(const struct mg_config *cfg, const struct mg_idp *p, struct idp_cache *out)
{
    if (p->authorization_endpoint[0]) { /* explicit endpoints: nothing to discover */
        memset(out, 0, sizeof *out);
        snprintf(out->authorization_endpoint, sizeof out->authorization_endpoint, "%s",
                 p->authorization_endpoint);
        snprintf(out->token_endpoint, sizeof out->token_endpoint, "%s", p->token_endpoint);
        return 0;
    }
    struct issuer is = issuer_of_idp(cfg, p);
    pthread_mutex_lock(&cache_lock);
    int rc = discover_locked(cfg, &is);
    if (rc == 0) {
        *out = caches[is.slot];
        out->keys = NULL; /* the set stays under the lock */
    }
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

/* Validates token against the issuer's keys (fetched, or fetched again
 * for an unknown kid when allowed) and want. On JWT_OK *claims is the
 * caller's. *no_keys is set to 1 when the issuer's keys could not be had
 * at all (discovery or the key set failed and none is cached); the result
 * is then JWT_UNKNOWN_KID. */
static enum jwt_rc validate_locked(const struct mg_config *cfg, const struct issuer *is,
                                   const char *token, const struct jwt_expect *want,
                                   struct json_object **claims, int *no_keys, char *detail,
                                   size_t dlen)
{
    enum jwt_rc rc = JWT_UNKNOWN_KID;
    struct idp_cache *c = &caches[is->slot];
    int fetched = 0;
    *no_keys = 0;
    if (!c->keys || c->keys_until_s <= now_s()) {
        if ((!c->jwks_uri[0] || c->meta_until_s <= now_s()) && discover_locked(cfg, is) < 0 &&
            !c->keys) {
            snprintf(detail, dlen, "no metadata");
            *no_keys = 1;
            return rc;
        }
        if (c->jwks_uri[0] && fetch_keys_locked(cfg, is) < 0 && !c->keys) {
            snprintf(detail, dlen, "no key set");
            c->down_until_s = now_s() + is->down_s;
            *no_keys = 1;
            return rc;
        }
        fetched = 1;
    }
    if (!c->keys) {
        snprintf(detail, dlen, "no key set");
        *no_keys = 1;
        return rc;
    }
    rc = jwt_validate(token, strlen(token), c->keys, want, claims, detail, dlen);
    if (rc == JWT_UNKNOWN_KID && !fetched &&
        jwk_refetch_allowed(c->keys_fetched_s, now_s(), is->refetch_s) &&
        fetch_keys_locked(cfg, is) == 0)
        rc = jwt_validate(token, strlen(token), c->keys, want, claims, detail, dlen);
    return rc;
}

/* Validates the ID token against p's keys and want. On JWT_OK *claims is
 * the caller's. */
static enum jwt_rc validate_id_token(const struct mg_config *cfg, const struct mg_idp *p,
                                     const char *token, const struct jwt_expect *want,
                                     struct json_object **claims, char *detail, size_t dlen)
{
    struct issuer is = issuer_of_idp(cfg, p);
    int no_keys;
    pthread_mutex_lock(&cache_lock);
    enum jwt_rc rc = validate_locked(cfg, &is, token, want, claims, &no_keys, detail, dlen);
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

/* --- the external authorization server of auth = resource --- */

enum oauth_rs oauth_rs_jwt_validate(const struct mg_config *cfg, const char *token,
                                    const struct jwt_expect *want, struct json_object **claims,
                                    enum jwt_rc *jrc, char *detail, size_t dlen)
{
    struct issuer is = issuer_of_rs(cfg);
    int no_keys;
    pthread_mutex_lock(&cache_lock);
    *jrc = validate_locked(cfg, &is, token, want, claims, &no_keys, detail, dlen);
    pthread_mutex_unlock(&cache_lock);
    if (no_keys)
        return OAUTH_RS_UNREACHABLE;
    return *jrc == JWT_OK ? OAUTH_RS_OK : OAUTH_RS_REFUSED;
}

enum oauth_rs oauth_rs_introspect(const struct mg_config *cfg, const char *token,
                                  struct json_object **out)
{
    struct issuer is = issuer_of_rs(cfg);
    char endpoint_url[IDP_URL_MAX];
    pthread_mutex_lock(&cache_lock);
    int drc = discover_locked(cfg, &is);
    snprintf(endpoint_url, sizeof endpoint_url, "%s", caches[RS_SLOT].introspection_endpoint);
    pthread_mutex_unlock(&cache_lock);
    if (drc < 0 || !endpoint_url[0])
        return OAUTH_RS_UNREACHABLE;
    enum oauth_rs rc = OAUTH_RS_UNREACHABLE;
    struct buf form = {0};
    struct fetch f;
    memset(&f, 0, sizeof f);
    char *user = NULL, *password = NULL;
    CURL *h = curl_easy_init();
    if (h) { /* client_secret_basic: both form-urlencoded (RFC 6749 2.3.1) */
        user = curl_easy_escape(h, cfg->rs.client_id, 0);
        password = curl_easy_escape(h, cfg->rs.client_secret, 0);
        curl_easy_cleanup(h);
    }
    if (!user || !password || buf_puts(&form, "token_type_hint=access_token&token=") ||
        http_url_encode(&form, token))
        goto out;
    long status = http_call(cfg, endpoint_url, buf_str(&form), user, password, &f);
    struct json_object *doc = NULL;
    if (status != 200 ||
        json_parse_request(f.body.data ? f.body.data : "", f.body.len, &doc, NULL) < 0 ||
        !json_object_is_type(doc, json_type_object)) {
        LOG_WARN("msg=\"introspection failed\" idp=%s status=%ld", is.name, status);
        json_object_put(doc);
        goto out;
    }
    *out = doc;
    rc = OAUTH_RS_OK;
out:
    if (password) {
        explicit_bzero(password, strlen(password));
        curl_free(password);
    }
    curl_free(user);
    if (form.data)
        explicit_bzero(form.data, form.len);
    buf_free(&form);
    buf_free(&f.body);
    return rc;
}

int oauth_rs_probe(const struct mg_config *cfg, char *msg, size_t n)
{
    struct issuer is = issuer_of_rs(cfg);
    pthread_mutex_lock(&cache_lock);
    struct idp_cache *c = &caches[RS_SLOT];
    int rc = -1;
    c->meta_until_s = 0; /* a fresh look, as doctor asks */
    c->down_until_s = 0;
    if (discover_locked(cfg, &is) < 0) {
        snprintf(msg, n,
                 "the issuer's metadata (%s/.well-known/openid-configuration) could not "
                 "be fetched or name another issuer or lack an endpoint",
                 is.issuer);
    } else if (!is.jwks) {
        snprintf(msg, n, "metadata ok, introspection at %s", c->introspection_endpoint);
        rc = 0;
    } else if (fetch_keys_locked(cfg, &is) < 0) {
        snprintf(msg, n, "the issuer's key set (%s) could not be fetched or is not a JWK set",
                 c->jwks_uri);
    } else if (jwk_set_count(c->keys) == 0) {
        snprintf(msg, n, "the issuer's key set (%s) holds no usable signing key", c->jwks_uri);
    } else {
        snprintf(msg, n, "metadata ok, %d signing key(s) at %s", jwk_set_count(c->keys),
                 c->jwks_uri);
        rc = 0;
    }
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

/* --- secrets derived from the state --- */

/* base64url(HMAC-SHA256(installation secret "idp", label ":" state)) into
 * out (44 bytes). Returns 0, or -2 when the database is unreachable. */
static int derive(struct oauth_ctx *ctx, const char *label, const char *state,
                  char out[OAUTH_SECRET_LEN + 1])
{
    unsigned char key[STORE_SECRET_LEN], md[32];
    if (store_secret_get(ctx->db, "idp", key) != STORE_OK)
        return -2;
    char msg[128];
    int n = snprintf(msg, sizeof msg, "%s:%s", label, state);
    crypto_hmac_sha256(key, sizeof key, msg, (size_t)n, md);
    explicit_bzero(key, sizeof key);
    explicit_bzero(msg, sizeof msg);
    crypto_b64url_encode(md, sizeof md, out);
    explicit_bzero(md, sizeof md);
    return 0;
}

/* The mark of a consent given at the provider for user_id's authorization
 * request target (a path with query): base64url(HMAC(installation secret
 * "idp", "consent:" user_id ":" target)) into out. Returns 0, or -2 when the
 * database is unreachable. */
static int consent_mark(struct oauth_ctx *ctx, long long user_id, const char *target,
                        char out[OAUTH_SECRET_LEN + 1])
{
    unsigned char key[STORE_SECRET_LEN], md[32];
    if (store_secret_get(ctx->db, "idp", key) != STORE_OK)
        return -2;
    struct buf msg = {0};
    int rc = buf_printf(&msg, "consent:%lld:%s", user_id, target) ? -2 : 0;
    if (rc == 0) {
        crypto_hmac_sha256(key, sizeof key, msg.data, msg.len, md);
        crypto_b64url_encode(md, sizeof md, out);
    }
    explicit_bzero(key, sizeof key);
    explicit_bzero(md, sizeof md);
    buf_free(&msg);
    return rc;
}

/* --- the handlers --- */

int oauth_idp_start_url(const struct mg_config *cfg, const struct mg_idp *p, const char *return_to,
                        struct buf *out)
{
    int rc = buf_printf(out, "%s/login/idp?provider=%s", cfg->base_path, p->name);
    if (rc == 0 && return_to)
        rc = buf_puts(out, "&return_to=") || http_url_encode(out, return_to);
    return rc ? -1 : 0;
}

static void fail_page(struct oauth_ctx *ctx, int status, const char *message)
{
    oauth_error_page(ctx, status, "Sign-in failed", message);
}

/* The redirect URI registered at every provider: base_url/login/callback. */
static void callback_uri(const struct mg_config *cfg, char *out, size_t n)
{
    oauth_url(cfg, "/login/callback", out, n);
}

/* For a link_only provider: the stored target "link:UID:target" of the
 * signed-in user UID into out. Returns 1; 0 when nobody is signed in (the
 * browser is sent to sign in first) or -1 (the database failed), answered. */
static int link_target(struct oauth_ctx *ctx, const char *target, char *out, size_t n)
{
    struct store_user u;
    int s = oauth_web_user(ctx, &u);
    if (s == -2) {
        oauth_reply_unavailable(ctx->res);
        return -1;
    }
    if (s == 0) {
        char login[600];
        snprintf(login, sizeof login, "%s/login?return_to=%s/account", ctx->cfg->base_path,
                 ctx->cfg->base_path);
        oauth_see_other(ctx, login);
        return 0;
    }
    snprintf(out, n, "link:%lld:%s", u.id, target);
    return 1;
}

void oauth_handle_idp_start(struct oauth_ctx *ctx)
{
    if (strcmp(ctx->req->method, "GET") != 0) {
        oauth_error_page(ctx, 405, "Method not allowed", "Use GET.");
        oauth_header(ctx->res, "Allow", "GET");
        return;
    }
    struct http_form q;
    const char *why = NULL;
    struct buf loc = {0};
    char state[OAUTH_SECRET_LEN + 1], hash[CRYPTO_SHA256_HEX_LEN + 1];
    char verifier[OAUTH_SECRET_LEN + 1], nonce[OAUTH_SECRET_LEN + 1];
    memset(verifier, 0, sizeof verifier);
    if (oauth_query(ctx, &q, &why) < 0) {
        oauth_error_page(ctx, 400, "Invalid request", why);
        goto out;
    }
    const struct mg_idp *p = config_idp_find(ctx->cfg, http_form_get(&q, "provider"));
    if (!p) {
        oauth_error_page(ctx, 400, "Invalid request", "There is no such identity provider here.");
        goto out;
    }
    char target[4200], safe_target[4096];
    oauth_safe_return(ctx->cfg, http_form_get(&q, "return_to"), safe_target, sizeof safe_target);
    snprintf(target, sizeof target, "%s", safe_target);
    if (p->link_only && link_target(ctx, safe_target, target, sizeof target) <= 0)
        goto out; /* answered */
    struct idp_cache meta;
    if (discover(ctx->cfg, p, &meta) < 0) {
        LOG_WARN("msg=\"identity provider discovery failed\" idp=%s", p->name);
        oauth_error_page(ctx, 502, "Identity provider unavailable",
                         "The identity provider cannot be reached; try again later.");
        goto out;
    }
    crypto_token(OAUTH_SECRET_BYTES, state);
    crypto_sha256_hex(state, strlen(state), hash);
    if (derive(ctx, "pkce", state, verifier) < 0 || derive(ctx, "nonce", state, nonce) < 0 ||
        store_idp_login_create(ctx->db, hash, p->name, target, IDP_LOGIN_TTL_S) != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    unsigned char md[CRYPTO_SHA256_LEN];
    char challenge[OAUTH_SECRET_LEN + 1], redirect[600];
    crypto_sha256(verifier, strlen(verifier), md);
    crypto_b64url_encode(md, sizeof md, challenge);
    callback_uri(ctx->cfg, redirect, sizeof redirect);
    char sep = strchr(meta.authorization_endpoint, '?') ? '&' : '?';
    /* a nonce only with openid: plain OAuth 2.0 servers may refuse unknown parameters */
    int rc =
        buf_printf(&loc, "%s%cresponse_type=code&client_id=", meta.authorization_endpoint, sep) ||
        http_url_encode(&loc, p->client_id) || buf_puts(&loc, "&redirect_uri=") ||
        http_url_encode(&loc, redirect) ||
        (p->scopes[0] && (buf_puts(&loc, "&scope=") || http_url_encode(&loc, p->scopes))) ||
        buf_printf(&loc, "&state=%s&code_challenge=%s&code_challenge_method=S256", state,
                   challenge) ||
        (p->openid && buf_printf(&loc, "&nonce=%s", nonce)) ||
        (p->consent_provider && buf_puts(&loc, "&prompt=consent"));
    if (rc != 0) {
        oauth_error_page(ctx, 500, "Sign-in failed", "The sign-in request is too long.");
        goto out;
    }
    LOG_INFO("msg=\"sign-in sent to identity provider\" idp=%s", p->name);
    oauth_see_other(ctx, buf_str(&loc));
    oauth_set_cookie(ctx, IDP_COOKIE, state, IDP_LOGIN_TTL_S, "login/");
out:
    explicit_bzero(state, sizeof state);
    explicit_bzero(verifier, sizeof verifier);
    buf_free(&loc);
    http_form_free(&q);
}

/* A user name for a provisioned user: the preferred name (or email, or
 * subject) reduced to [A-Za-z0-9._-], then "@" and the provider. */
static void make_username(const char *source, const char *preferred, char *out, size_t n)
{
    char base[64];
    size_t o = 0, max = 63 - strlen(source) - 1;
    for (const char *s = preferred; s && *s && o < max && o + 1 < sizeof base; s++) {
        char ch = *s;
        if (ch == '@')
            break;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '.' || ch == '_' || ch == '-')
            base[o++] = ch;
    }
    base[o] = '\0';
    snprintf(out, n, "%s@%s", o ? base : "user", source);
}

int oauth_user_provision(struct oauth_ctx *ctx, const char *source, struct json_object *claims,
                         struct store_user *u, const char **why)
{
    const char *sub = json_get_string(claims, "sub");
    const char *email = json_get_string(claims, "email");
    const char *name = json_get_string(claims, "name");
    const char *preferred = json_get_string(claims, "preferred_username");
    if (!sub || !*sub || strlen(sub) > 255 || (email && strlen(email) > 320) ||
        (name && strlen(name) > 200)) {
        *why = "claims too long to keep, or no subject";
        return -1;
    }
    char username[65], fallback[65], h[CRYPTO_SHA256_HEX_LEN + 1], key[300];
    make_username(source, preferred ? preferred : email ? email : sub, username, sizeof username);
    snprintf(key, sizeof key, "%s\n%s", source, sub);
    crypto_sha256_hex(key, strlen(key), h);
    snprintf(fallback, sizeof fallback, "%.16s@%s", h, source);
    if (store_user_federated(ctx->db, source, sub, username, fallback, email ? email : "",
                             name ? name : "", u) != STORE_OK)
        return -2;
    return 0;
}

int oauth_groups_sync(struct oauth_ctx *ctx, const char *source, const char *claim,
                      const struct store_user *u, struct json_object *claims)
{
    struct json_object *arr = claim[0] ? json_get(claims, claim, json_type_array) : NULL;
    if (!arr)
        return 0;
    const char *names[IDP_MAX_GROUPS];
    int n = 0, skipped = 0;
    size_t len = json_object_array_length(arr);
    for (size_t i = 0; i < len; i++) {
        struct json_object *g = json_object_array_get_idx(arr, i);
        const char *name =
            json_object_is_type(g, json_type_string) ? json_object_get_string(g) : NULL;
        size_t nl = name ? strlen(name) : 0;
        if (n == IDP_MAX_GROUPS || nl < 1 || nl > 64 ||
            strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-") !=
                nl) {
            skipped++;
            continue;
        }
        names[n++] = name;
    }
    if (skipped)
        LOG_WARN("msg=\"groups claim entries skipped\" idp=%s user=%s skipped=%d", source,
                 u->username, skipped);
    int changed = 0, sessions = 0;
    if (store_group_sync(ctx->db, u->id, names, n, &changed) != STORE_OK)
        return -1;
    if (changed > 0 && store_tools_changed(ctx->db, u->username, &sessions) != STORE_OK)
        LOG_WARN("msg=\"could not tell the sessions that the groups changed\" user=%s",
                 u->username);
    return 0;
}

/* The provider's tokens from the code exchange, kept for from_idp slots. */
struct idp_grant {
    char *id_token; /* owned, or NULL */
    char *access;   /* owned, or NULL */
    char *refresh;  /* owned, or NULL */
    long long expires_in_s;
};

static void grant_clear(struct idp_grant *g)
{
    char *v[] = {g->id_token, g->access, g->refresh};
    for (int i = 0; i < 3; i++)
        if (v[i]) {
            explicit_bzero(v[i], strlen(v[i]));
            free(v[i]);
        }
    g->id_token = g->access = g->refresh = NULL;
}

/* Exchanges code at the provider's token endpoint. Returns 0 with the
 * tokens in *grant (the ID token required when the identity comes from it,
 * the access token otherwise), or -1 with *why set for the page. */
static int exchange_code(struct oauth_ctx *ctx, const struct mg_idp *p,
                         const struct idp_cache *meta, const char *code, const char *verifier,
                         struct idp_grant *grant, const char **why)
{
    char redirect[600];
    callback_uri(ctx->cfg, redirect, sizeof redirect);
    struct buf form = {0};
    struct fetch f;
    memset(&f, 0, sizeof f);
    int result = -1;
    char *user = NULL, *password = NULL;
    int rc = buf_puts(&form, "grant_type=authorization_code&code=") ||
             http_url_encode(&form, code) || buf_puts(&form, "&redirect_uri=") ||
             http_url_encode(&form, redirect) || buf_printf(&form, "&code_verifier=%s", verifier);
    if (rc == 0 && !p->client_secret[0])
        rc = buf_puts(&form, "&client_id=") || http_url_encode(&form, p->client_id);
    if (rc != 0) {
        *why = "The provider's answer is too long.";
        goto out;
    }
    if (p->client_secret[0]) { /* client_secret_basic: both form-urlencoded (RFC 6749 2.3.1) */
        CURL *h = curl_easy_init();
        if (h) {
            user = curl_easy_escape(h, p->client_id, 0);
            password = curl_easy_escape(h, p->client_secret, 0);
            curl_easy_cleanup(h);
        }
    }
    long status = http_call(ctx->cfg, meta->token_endpoint, buf_str(&form), user, password, &f);
    struct json_object *doc = NULL;
    if (status != 200 ||
        json_parse_request(f.body.data ? f.body.data : "", f.body.len, &doc, NULL) < 0 ||
        !json_object_is_type(doc, json_type_object)) {
        LOG_WARN("msg=\"identity provider refused the code\" idp=%s status=%ld", p->name, status);
        *why = "The identity provider did not accept the sign-in (the code was refused).";
        json_object_put(doc);
        goto out;
    }
    const char *t = json_get_string(doc, "id_token");
    const char *at = json_get_string(doc, "access_token");
    if (!t && p->identity == MG_IDP_ID_TOKEN && !p->link_only) {
        *why = "The identity provider sent no ID token.";
    } else if (!at && (p->identity != MG_IDP_ID_TOKEN || p->link_only)) {
        *why = "The identity provider sent no access token.";
    } else {
        const char *rt = json_get_string(doc, "refresh_token");
        struct json_object *e = json_get(doc, "expires_in", json_type_int);
        grant->id_token = t ? xstrdup(t) : NULL;
        grant->access = at ? xstrdup(at) : NULL;
        grant->refresh = rt ? xstrdup(rt) : NULL;
        grant->expires_in_s = e ? json_object_get_int64(e) : 3600;
        result = 0;
    }
    json_object_put(doc);
out:
    if (password) {
        explicit_bzero(password, strlen(password));
        curl_free(password);
    }
    curl_free(user);
    if (f.body.data)
        explicit_bzero(f.body.data, f.body.len);
    buf_free(&f.body);
    buf_free(&form);
    return result;
}

/* The member at the dotted path of doc (borrowed), or NULL; *holder is the
 * object that has it. */
static struct json_object *member_at(struct json_object *doc, const char *path,
                                     struct json_object **holder)
{
    char part[128];
    struct json_object *o = doc;
    for (const char *s = path; o;) {
        size_t n = strcspn(s, ".");
        if (n >= sizeof part || !json_object_is_type(o, json_type_object))
            return NULL;
        memcpy(part, s, n);
        part[n] = '\0';
        struct json_object *v = NULL;
        if (!json_object_object_get_ex(o, part, &v))
            return NULL;
        if (!s[n]) {
            *holder = o;
            return v;
        }
        o = v;
        s += n + 1;
    }
    return NULL;
}

/* Copies member name of from, when it is a string (or an array, for
 * groups), into claims as key. */
static void copy_claim(struct json_object *claims, const char *key, struct json_object *from,
                       const char *name)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(from, name, &v) || json_object_object_get_ex(claims, key, NULL))
        return;
    if (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_array))
        json_add(claims, key, json_object_get(v));
}

/* The claims of a "who am I" answer: sub from subject_field (a string or
 * an integer), and from the object holding it email, name, a user name
 * (preferred_username, login or username) and groups. Returns them (the
 * caller puts them) or NULL. */
static struct json_object *whoami_claims(const struct mg_idp *p, struct json_object *doc)
{
    struct json_object *holder = NULL;
    struct json_object *v = member_at(doc, p->subject_field, &holder);
    char sub[64];
    const char *s = NULL;
    if (v && json_object_is_type(v, json_type_string)) {
        s = json_object_get_string(v);
    } else if (v && json_object_is_type(v, json_type_int)) {
        snprintf(sub, sizeof sub, "%lld", (long long)json_object_get_int64(v));
        s = sub;
    }
    if (!s || !s[0])
        return NULL;
    struct json_object *claims = json_object_new_object();
    json_add(claims, "sub", json_object_new_string(s));
    copy_claim(claims, "email", holder, "email");
    copy_claim(claims, "name", holder, "name");
    copy_claim(claims, "preferred_username", holder, "preferred_username");
    copy_claim(claims, "preferred_username", holder, "login");
    copy_claim(claims, "preferred_username", holder, "username");
    copy_claim(claims, "groups", holder, "groups");
    return claims;
}

/* Asks p's userinfo endpoint (OpenID Connect Core 5.3) or "who am I" URL,
 * with the access token, whose it is. Returns the claims (sub, and maybe
 * email, name, preferred_username, groups; the caller puts them), or NULL
 * with *why for the page. */
static struct json_object *fetch_identity(struct oauth_ctx *ctx, const struct mg_idp *p,
                                          const char *access, const char **why)
{
    struct fetch f;
    memset(&f, 0, sizeof f);
    f.bearer = access;
    int whoami = p->identity == MG_IDP_WHOAMI;
    long status =
        http_call(ctx->cfg, whoami ? p->whoami_url : p->userinfo_endpoint, NULL, NULL, NULL, &f);
    struct json_object *doc = NULL, *claims = NULL;
    if (status != 200 ||
        json_parse_request(f.body.data ? f.body.data : "", f.body.len, &doc, NULL) < 0 ||
        !json_object_is_type(doc, json_type_object)) {
        LOG_WARN("msg=\"identity provider did not say who signed in\" idp=%s status=%ld "
                 "source=%s",
                 p->name, status, whoami ? "whoami_url" : "userinfo_endpoint");
        *why = "The identity provider did not say who signed in (its user information "
               "could not be read).";
        goto out;
    }
    if (whoami) {
        claims = whoami_claims(p, doc);
    } else if (json_get_string(doc, "sub")) {
        claims = json_object_get(doc);
    }
    if (!claims) {
        LOG_WARN("msg=\"identity provider's user information lacks the subject\" idp=%s "
                 "field=%s",
                 p->name, whoami ? p->subject_field : "sub");
        *why = "The identity provider's user information lacks the subject.";
    }
out:
    json_object_put(doc);
    if (f.body.data)
        explicit_bzero(f.body.data, f.body.len);
    buf_free(&f.body);
    return claims;
}

/* 1 when p lets anyone sign in, or the claims' groups (an array of
 * strings) name one of groups_allowed; else 0. */
static int group_allowed(const struct mg_idp *p, struct json_object *claims)
{
    if (!p->groups_allowed[0])
        return 1;
    struct json_object *arr = json_get(claims, "groups", json_type_array);
    size_t len = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < len; i++) {
        struct json_object *g = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(g, json_type_string))
            continue;
        const char *name = json_object_get_string(g);
        size_t n = strlen(name);
        for (const char *s = p->groups_allowed; n && (s = strstr(s, name)); s += n)
            if ((s == p->groups_allowed || s[-1] == ' ') && (s[n] == ' ' || s[n] == '\0'))
                return 1;
    }
    return 0;
}

/* The verified claims of grant's ID token into *claims. Returns 0, or -1
 * with the page sent. */
static int id_token_claims(struct oauth_ctx *ctx, const struct mg_idp *p, const char *id_token,
                           const char *nonce, struct json_object **claims)
{
    const char *aud[] = {p->client_id};
    struct jwt_expect want = {
        .issuer = p->issuer,
        .audiences = aud,
        .n_audiences = 1,
        .nonce = nonce,
        .azp = p->client_id,
        .required = JWT_REQUIRE_ID_TOKEN,
        .now_s = mg_wall_ms() / 1000,
        .skew_s = IDP_SKEW_S,
    };
    char detail[JWT_DETAIL_MAX], msg[200];
    enum jwt_rc jrc =
        validate_id_token(ctx->cfg, p, id_token, &want, claims, detail, sizeof detail);
    if (jrc == JWT_OK)
        return 0;
    LOG_WARN("msg=\"ID token refused\" idp=%s error=\"%s\" detail=\"%s\"", p->name,
             jwt_strerror(jrc), detail);
    snprintf(msg, sizeof msg, "The identity provider's ID token was refused: %s.",
             jwt_strerror(jrc));
    fail_page(ctx, 400, msg);
    return -1;
}

/* The part of the callback after state and iss are known good. */
static void finish_sign_in(struct oauth_ctx *ctx, const struct mg_idp *p,
                           const struct idp_cache *meta, const char *state, const char *code,
                           const char *target)
{
    char verifier[OAUTH_SECRET_LEN + 1], nonce[OAUTH_SECRET_LEN + 1];
    const char *why = NULL;
    struct json_object *claims = NULL;
    struct idp_grant grant = {0};
    if (derive(ctx, "pkce", state, verifier) < 0 || derive(ctx, "nonce", state, nonce) < 0) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    if (exchange_code(ctx, p, meta, code, verifier, &grant, &why) < 0) {
        fail_page(ctx, 502, why);
        goto out;
    }
    if (p->identity == MG_IDP_ID_TOKEN) {
        if (id_token_claims(ctx, p, grant.id_token, nonce, &claims) < 0)
            goto out;
    } else if (!(claims = fetch_identity(ctx, p, grant.access, &why))) {
        fail_page(ctx, 502, why);
        goto out;
    }
    const char *sub = json_get_string(claims, "sub");
    const char *email = json_get_string(claims, "email");
    const char *name = json_get_string(claims, "name");
    if (!sub || !sub[0] || strlen(sub) > 255 || (email && strlen(email) > 320) ||
        (name && strlen(name) > 200)) {
        fail_page(ctx, 400, "The identity provider's claims are missing or too long to keep.");
        goto out;
    }
    if (!group_allowed(p, claims)) {
        LOG_INFO("msg=\"sign-in refused: in none of the groups allowed\" idp=%s", p->name);
        fail_page(ctx, 403,
                  "Your account at the identity provider is not in a group allowed to sign in "
                  "here; nothing was signed in. Ask the operator of this service for access.");
        goto out;
    }
    struct store_user u;
    if (oauth_user_provision(ctx, p->name, claims, &u, &why) < 0) { /* the claims were checked */
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    if (u.disabled) {
        LOG_INFO("msg=\"sign-in of a disabled user\" user=%s", u.username);
        fail_page(ctx, 403, "This account is disabled here.");
        goto out;
    }
    if (oauth_groups_sync(ctx, p->name, "groups", &u, claims) < 0) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    /* kept for backends that call the provider as this user (from_idp slots);
       without a credential_key there is nowhere to keep them sealed. A failure
       is logged there and does not stop the sign-in: those calls then say to
       sign in again. */
    if (ctx->cfg->n_credential_keys > 0 && grant.access &&
        tool_idp_token_keep(ctx->db, u.id, p->name, meta->token_endpoint, grant.access,
                            grant.refresh, grant.expires_in_s, 0) < 0)
        LOG_WARN("msg=\"the provider's tokens were not kept\" idp=%s user=%s", p->name, u.username);
    LOG_INFO("msg=\"signed in at identity provider\" idp=%s user=%s", p->name, u.username);
    oauth_web_session_start(ctx, &u, target);
    char mark[OAUTH_SECRET_LEN + 1];
    if (p->consent_provider && consent_mark(ctx, u.id, target, mark) == 0)
        oauth_set_cookie(ctx, IDP_CONSENT_COOKIE, mark, IDP_CONSENT_TTL_S, "authorize");
out:
    grant_clear(&grant);
    json_object_put(claims);
    explicit_bzero(verifier, sizeof verifier);
}

const struct mg_idp *oauth_idp_consent_at(const struct mg_config *cfg, const struct store_user *u)
{
    const struct mg_idp *p = u->idp[0] ? config_idp_find(cfg, u->idp) : NULL;
    return p && p->consent_provider ? p : NULL;
}

int oauth_idp_consent_given(struct oauth_ctx *ctx, const struct store_user *u)
{
    char have[OAUTH_SECRET_LEN + 1], want[OAUTH_SECRET_LEN + 1];
    int ok = oauth_cookie(ctx, IDP_CONSENT_COOKIE, have, sizeof have) == 0 &&
             strlen(have) == OAUTH_SECRET_LEN &&
             consent_mark(ctx, u->id, ctx->req->uri ? ctx->req->uri : "", want) == 0 &&
             crypto_equal(have, want, OAUTH_SECRET_LEN);
    if (ok) /* spent */
        oauth_set_cookie(ctx, IDP_CONSENT_COOKIE, "", 0, "authorize");
    explicit_bzero(have, sizeof have);
    explicit_bzero(want, sizeof want);
    return ok;
}

int oauth_idp_disconnect(struct oauth_ctx *ctx, long long user_id, const struct mg_idp *p,
                         int *revoked)
{
    struct idp_cache meta;
    const char *rev = p->revocation_endpoint;
    if (!rev[0] && !p->authorization_endpoint[0] && discover(ctx->cfg, p, &meta) == 0)
        rev = meta.revocation_endpoint;
    return tool_idp_token_disconnect(ctx->db, user_id, p, rev, revoked);
}

/* The callback of a link (a link_only provider) for user uid: the same
 * browser must still be signed in as uid; the code's tokens are kept as
 * that user's linked account, and the browser goes on to target. */
static void finish_link(struct oauth_ctx *ctx, const struct mg_idp *p, const struct idp_cache *meta,
                        const char *state, const char *code, long long uid, const char *target)
{
    char verifier[OAUTH_SECRET_LEN + 1];
    const char *why = NULL;
    struct idp_grant grant = {0};
    struct store_user u;
    int s = oauth_web_user(ctx, &u);
    if (s == -2 || derive(ctx, "pkce", state, verifier) < 0) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    if (s == 0 || u.id != uid) {
        fail_page(ctx, 403, "Sign in here as the user who started linking this account.");
        goto out;
    }
    if (exchange_code(ctx, p, meta, code, verifier, &grant, &why) < 0) {
        fail_page(ctx, 502, why);
        goto out;
    }
    if (ctx->cfg->n_credential_keys == 0 ||
        tool_idp_token_keep(ctx->db, uid, p->name, meta->token_endpoint, grant.access,
                            grant.refresh, grant.expires_in_s, 1) < 0) {
        fail_page(ctx, 503, "The linked account could not be kept; try again later.");
        goto out;
    }
    LOG_INFO("msg=\"account linked\" idp=%s user=%s", p->name, u.username);
    oauth_see_other(ctx, target);
out:
    grant_clear(&grant);
    explicit_bzero(verifier, sizeof verifier);
}

void oauth_handle_idp_callback(struct oauth_ctx *ctx)
{
    if (strcmp(ctx->req->method, "GET") != 0) {
        oauth_error_page(ctx, 405, "Method not allowed", "Use GET.");
        oauth_header(ctx->res, "Allow", "GET");
        return;
    }
    struct http_form q;
    const char *why = NULL;
    char cookie[OAUTH_SECRET_LEN + 1];
    if (oauth_query(ctx, &q, &why) < 0) {
        oauth_error_page(ctx, 400, "Invalid request", why);
        goto out;
    }
    const char *state = http_form_get(&q, "state");
    if (http_form_duplicate(&q) || !state || strlen(state) != OAUTH_SECRET_LEN ||
        oauth_cookie(ctx, IDP_COOKIE, cookie, sizeof cookie) < 0 ||
        strlen(cookie) != OAUTH_SECRET_LEN || !crypto_equal(cookie, state, OAUTH_SECRET_LEN)) {
        LOG_WARN("msg=\"identity provider callback with a foreign state\"");
        fail_page(ctx, 400,
                  "This sign-in did not start in this browser, or it expired; start again from "
                  "the application.");
        goto out;
    }
    char hash[CRYPTO_SHA256_HEX_LEN + 1], name[40], target[4200];
    crypto_sha256_hex(state, strlen(state), hash);
    enum store_rc src =
        store_idp_login_take(ctx->db, hash, name, sizeof name, target, sizeof target);
    if (src == STORE_NOT_FOUND) {
        fail_page(ctx, 400,
                  "This sign-in expired or was used already; start again from the "
                  "application.");
        goto out;
    }
    if (src != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    const struct mg_idp *p = config_idp_find(ctx->cfg, name);
    char safe[4096];
    long long link_uid = 0;
    if (p && p->link_only) { /* "link:UID:" then where to go */
        char *end = NULL;
        link_uid = strncmp(target, "link:", 5) == 0 ? strtoll(target + 5, &end, 10) : 0;
        if (link_uid <= 0 || !end || *end != ':') {
            fail_page(ctx, 400, "This sign-in was not started to link an account.");
            goto out;
        }
        oauth_safe_return(ctx->cfg, end + 1, safe, sizeof safe);
    } else {
        oauth_safe_return(ctx->cfg, target, safe, sizeof safe);
    }
    struct idp_cache meta;
    if (!p || discover(ctx->cfg, p, &meta) < 0) {
        oauth_error_page(ctx, 502, "Identity provider unavailable",
                         "The identity provider cannot be reached; try again later.");
        goto out;
    }
    const char *iss = http_form_get(&q, "iss");
    if ((iss && strcmp(iss, p->issuer) != 0) || (!iss && meta.iss_param)) {
        LOG_WARN("msg=\"identity provider callback from another issuer\" idp=%s", p->name);
        fail_page(ctx, 400,
                  iss ? "The answer came from another identity provider than the one this "
                        "sign-in went to (iss does not match); nothing was signed in."
                      : "The identity provider's answer lacks its issuer (iss).");
        goto out;
    }
    const char *error = http_form_get(&q, "error");
    if (error) {
        char msg[200];
        snprintf(msg, sizeof msg, "The identity provider did not sign you in (%.64s).", error);
        fail_page(ctx, 403, msg);
        goto out;
    }
    const char *code = http_form_get(&q, "code");
    if (!code || strlen(code) > 2048) {
        fail_page(ctx, 400, "The identity provider's answer lacks the code.");
        goto out;
    }
    if (p->link_only)
        finish_link(ctx, p, &meta, state, code, link_uid, safe);
    else
        finish_sign_in(ctx, p, &meta, state, code, safe);
out:
    /* the state is spent either way (or was not this browser's) */
    oauth_set_cookie(ctx, IDP_COOKIE, "", 0, "login/");
    explicit_bzero(cookie, sizeof cookie);
    http_form_free(&q);
}
