/*
 * oauth/issuer.c - what mcpgate knows of an external issuer: an upstream
 * identity provider's (oauth/idp.c) or auth = resource's authorization
 * server (oauth/resource.c): its metadata (OpenID Connect Discovery 1.0,
 * RFC 8414), its key set, the validation of its JWTs (util/jwt.h) and
 * RFC 7662 introspection.
 *
 * Outbound requests (discovery, JWKS, token, userinfo, who-am-I) use
 * libcurl: https only, no redirects, no proxy, 5 s, at most 256 KiB, never
 * to loopback or private addresses unless idp_allow_private is set (tests).
 * Discovery documents and key sets are cached per process for their
 * Cache-Control lifetime
 * (util/jwk.h jwk_cache_lifetime(): 60 s to 1 day, 1 hour by default); a
 * token with an unknown kid refetches the set at most once per
 * idp_jwks_refetch_s (60 s by default; jwk_refetch_allowed()), which is how
 * a rotated key is picked up. A
 * failed discovery is remembered for 30 s: meanwhile sign-ins at that
 * provider fail at once instead of each waiting for it.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oauth/internal.h"
#include "oauth/issuer.h"
#include "tools/fetch.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/jwk.h"
#include "util/jwt.h"
#include "util/log.h"
#include "util/net.h"
#include "util/time.h"
#include "util/url.h"

#define IDP_MAX_BYTES     (256 * 1024)
#define IDP_TIMEOUT_MS    5000
#define IDP_CACHE_DEFAULT 3600
#define IDP_CACHE_MIN     60
#define IDP_CACHE_MAX     86400
#define IDP_DOWN_S        30 /* after a failed discovery, sign-ins fail at once this long */

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
                        .refetch_s = cfg->idp_jwks_refetch_s};
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
long issuer_http_call(const struct mg_config *cfg, const char *url, const char *form,
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
    long status = issuer_http_call(cfg, url, NULL, NULL, NULL, &f);
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
    if (!v || strlen(v) >= n || !url_is_web(v, cfg->idp_allow_private)) {
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
    const char *tok = json_get_string(doc, "token_endpoint"); /* rs: optional (token exchange) */
    if (is->rs && tok && strlen(tok) < sizeof n.token_endpoint &&
        url_is_web(tok, cfg->idp_allow_private))
        snprintf(n.token_endpoint, sizeof n.token_endpoint, "%s", tok);
    const char *rev = json_get_string(doc, "revocation_endpoint"); /* optional (RFC 8414) */
    if (rev && strlen(rev) < sizeof n.revocation_endpoint &&
        url_is_web(rev, cfg->idp_allow_private))
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
    long status = issuer_http_call(cfg, c->jwks_uri, NULL, NULL, NULL, &f);
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
int issuer_discover(const struct mg_config *cfg, const struct mg_idp *p, struct idp_cache *out)
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
                                   struct json_object **claims, int *no_keys, struct mg_error *err)
{
    enum jwt_rc rc = JWT_UNKNOWN_KID;
    struct idp_cache *c = &caches[is->slot];
    int fetched = 0;
    *no_keys = 0;
    if (!c->keys || c->keys_until_s <= now_s()) {
        if ((!c->jwks_uri[0] || c->meta_until_s <= now_s()) && discover_locked(cfg, is) < 0 &&
            !c->keys) {
            mg_error_detail(err, "no metadata");
            *no_keys = 1;
            return rc;
        }
        if (c->jwks_uri[0] && fetch_keys_locked(cfg, is) < 0 && !c->keys) {
            mg_error_detail(err, "no key set");
            c->down_until_s = now_s() + is->down_s;
            *no_keys = 1;
            return rc;
        }
        fetched = 1;
    }
    if (!c->keys) {
        mg_error_detail(err, "no key set");
        *no_keys = 1;
        return rc;
    }
    rc = jwt_validate(token, strlen(token), c->keys, want, claims, err);
    if (rc == JWT_UNKNOWN_KID && !fetched &&
        jwk_refetch_allowed(c->keys_fetched_s, now_s(), is->refetch_s) &&
        fetch_keys_locked(cfg, is) == 0)
        rc = jwt_validate(token, strlen(token), c->keys, want, claims, err);
    return rc;
}

/* Validates the ID token against p's keys and want. On JWT_OK *claims is
 * the caller's; otherwise err's log-only detail says why. */
enum jwt_rc issuer_validate_id_token(const struct mg_config *cfg, const struct mg_idp *p,
                                     const char *token, const struct jwt_expect *want,
                                     struct json_object **claims, struct mg_error *err)
{
    struct issuer is = issuer_of_idp(cfg, p);
    int no_keys;
    pthread_mutex_lock(&cache_lock);
    enum jwt_rc rc = validate_locked(cfg, &is, token, want, claims, &no_keys, err);
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

/* --- the external authorization server of auth = resource --- */

enum oauth_rs oauth_rs_jwt_validate(const struct mg_config *cfg, const char *token,
                                    const struct jwt_expect *want, struct json_object **claims,
                                    enum jwt_rc *jrc, struct mg_error *err)
{
    struct issuer is = issuer_of_rs(cfg);
    int no_keys;
    pthread_mutex_lock(&cache_lock);
    *jrc = validate_locked(cfg, &is, token, want, claims, &no_keys, err);
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
    long status = issuer_http_call(cfg, endpoint_url, buf_str(&form), user, password, &f);
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

int oauth_rs_token_endpoint(const struct mg_config *cfg, char *out, size_t n)
{
    struct issuer is = issuer_of_rs(cfg);
    pthread_mutex_lock(&cache_lock);
    int rc = discover_locked(cfg, &is);
    if (rc == 0 && !caches[RS_SLOT].token_endpoint[0])
        rc = -1;
    if (rc == 0)
        snprintf(out, n, "%s", caches[RS_SLOT].token_endpoint);
    pthread_mutex_unlock(&cache_lock);
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
