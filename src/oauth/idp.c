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
 * What an issuer's metadata, keys and outbound requests are, and how they
 * are cached, is oauth/issuer.c's.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oauth/internal.h"
#include "oauth/issuer.h"
#include "store/policy.h"
#include "store/secret.h"
#include "store/users.h"
#include "tools/fetch.h"
#include "tools/idp_token.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/jwt.h"
#include "util/log.h"
#include "util/time.h"

#define IDP_LOGIN_TTL_S    600
#define IDP_SKEW_S         60
#define IDP_COOKIE         "mcpgate_idp"
#define IDP_CONSENT_COOKIE "mcpgate_idp_consent" /* consent=provider: consent given there */
#define IDP_CONSENT_TTL_S  120
#define IDP_MAX_GROUPS     32 /* groups taken from one ID token */
/* --- secrets derived from the state --- */

/* base64url(HMAC-SHA256(installation secret "idp", label ":" state)) into
 * out (44 bytes). Returns 0, or -1 when the database is unreachable. */
static int derive(struct oauth_ctx *ctx, const char *label, const char *state,
                  char out[OAUTH_SECRET_LEN + 1])
{
    unsigned char key[STORE_SECRET_LEN], md[32];
    if (store_secret_get(ctx->db, "idp", key) != STORE_OK)
        return -1;
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
 * "idp", "consent:" user_id ":" target)) into out. Returns 0, or -1 when the
 * database is unreachable. */
static int consent_mark(struct oauth_ctx *ctx, long long user_id, const char *target,
                        char out[OAUTH_SECRET_LEN + 1])
{
    unsigned char key[STORE_SECRET_LEN], md[32];
    if (store_secret_get(ctx->db, "idp", key) != STORE_OK)
        return -1;
    struct buf msg = {0};
    int rc = buf_printf(&msg, "consent:%lld:%s", user_id, target) ? -1 : 0;
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
 * browser is sent to sign in first) or the database failed, answered. */
static int link_target(struct oauth_ctx *ctx, const char *target, char *out, size_t n)
{
    struct store_user u;
    if (!oauth_page_user(ctx, &u, "/account"))
        return 0;
    snprintf(out, n, "link:%lld:%s", u.id, target);
    return 1;
}

void oauth_handle_idp_start(struct oauth_ctx *ctx)
{
    struct http_form q;
    if (oauth_page_query(ctx, "GET", &q) < 0)
        return;
    struct buf loc = {0};
    char state[OAUTH_SECRET_LEN + 1], hash[CRYPTO_SHA256_HEX_LEN + 1];
    char verifier[OAUTH_SECRET_LEN + 1], nonce[OAUTH_SECRET_LEN + 1];
    memset(verifier, 0, sizeof verifier);
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
    if (issuer_discover(ctx->cfg, p, &meta) < 0) {
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
                         struct store_user *u, struct mg_error *err)
{
    const char *sub = json_get_string(claims, "sub");
    const char *email = json_get_string(claims, "email");
    const char *name = json_get_string(claims, "name");
    const char *preferred = json_get_string(claims, "preferred_username");
    if (!sub || !*sub || strlen(sub) > 255 || (email && strlen(email) > 320) ||
        (name && strlen(name) > 200)) {
        mg_error_msg(err, "claims too long to keep, or no subject");
        return -1;
    }
    char username[65], fallback[65], h[CRYPTO_SHA256_HEX_LEN + 1], key[300];
    make_username(source, preferred ? preferred : email ? email : sub, username, sizeof username);
    snprintf(key, sizeof key, "%s\n%s", source, sub);
    crypto_sha256_hex(key, strlen(key), h);
    snprintf(fallback, sizeof fallback, "%.16s@%s", h, source);
    if (store_user_federated(ctx->db, source, sub, username, fallback, email ? email : "",
                             name ? name : "", u) != STORE_OK)
        return mg_error_unavailable(err);
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
 * the access token otherwise), or -1 with err (its msg for the page). */
static int exchange_code(struct oauth_ctx *ctx, const struct mg_idp *p,
                         const struct idp_cache *meta, const char *code, const char *verifier,
                         struct idp_grant *grant, struct mg_error *err)
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
        mg_error_msg(err, "The provider's answer is too long.");
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
    long status =
        issuer_http_call(ctx->cfg, meta->token_endpoint, buf_str(&form), user, password, &f);
    struct json_object *doc = NULL;
    if (status != 200 ||
        json_parse_request(f.body.data ? f.body.data : "", f.body.len, &doc, NULL) < 0 ||
        !json_object_is_type(doc, json_type_object)) {
        LOG_WARN("msg=\"identity provider refused the code\" idp=%s status=%ld", p->name, status);
        mg_error_msg(err,
                     "The identity provider did not accept the sign-in (the code was refused).");
        json_object_put(doc);
        goto out;
    }
    const char *t = json_get_string(doc, "id_token");
    const char *at = json_get_string(doc, "access_token");
    if (!t && p->identity == MG_IDP_ID_TOKEN && !p->link_only) {
        mg_error_msg(err, "The identity provider sent no ID token.");
    } else if (!at && (p->identity != MG_IDP_ID_TOKEN || p->link_only)) {
        mg_error_msg(err, "The identity provider sent no access token.");
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
 * with err (its msg for the page). */
static struct json_object *fetch_identity(struct oauth_ctx *ctx, const struct mg_idp *p,
                                          const char *access, struct mg_error *err)
{
    struct fetch f;
    memset(&f, 0, sizeof f);
    f.bearer = access;
    int whoami = p->identity == MG_IDP_WHOAMI;
    long status = issuer_http_call(ctx->cfg, whoami ? p->whoami_url : p->userinfo_endpoint, NULL,
                                   NULL, NULL, &f);
    struct json_object *doc = NULL, *claims = NULL;
    if (status != 200 ||
        json_parse_request(f.body.data ? f.body.data : "", f.body.len, &doc, NULL) < 0 ||
        !json_object_is_type(doc, json_type_object)) {
        LOG_WARN("msg=\"identity provider did not say who signed in\" idp=%s status=%ld "
                 "source=%s",
                 p->name, status, whoami ? "whoami_url" : "userinfo_endpoint");
        mg_error_msg(err, "The identity provider did not say who signed in (its user information "
                          "could not be read).");
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
        mg_error_msg(err, "The identity provider's user information lacks the subject.");
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
    struct mg_error err = MG_ERROR_INIT; /* err.detail: why, for the log */
    char msg[200];
    enum jwt_rc jrc = issuer_validate_id_token(ctx->cfg, p, id_token, &want, claims, &err);
    if (jrc == JWT_OK)
        return 0;
    LOG_WARN("msg=\"ID token refused\" idp=%s error=\"%s\" detail=\"%s\"", p->name,
             jwt_strerror(jrc), err.detail);
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
    struct mg_error err = MG_ERROR_INIT;
    struct json_object *claims = NULL;
    struct idp_grant grant = {0};
    if (derive(ctx, "pkce", state, verifier) < 0 || derive(ctx, "nonce", state, nonce) < 0) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    if (exchange_code(ctx, p, meta, code, verifier, &grant, &err) < 0) {
        fail_page(ctx, 502, err.msg);
        goto out;
    }
    if (p->identity == MG_IDP_ID_TOKEN) {
        if (id_token_claims(ctx, p, grant.id_token, nonce, &claims) < 0)
            goto out;
    } else if (!(claims = fetch_identity(ctx, p, grant.access, &err))) {
        fail_page(ctx, 502, err.msg);
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
    if (oauth_user_provision(ctx, p->name, claims, &u, &err) < 0) { /* the claims were checked */
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
    if (!rev[0] && !p->authorization_endpoint[0] && issuer_discover(ctx->cfg, p, &meta) == 0)
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
    struct mg_error err = MG_ERROR_INIT;
    struct idp_grant grant = {0};
    struct store_user u;
    int s = oauth_web_user(ctx, &u);
    if (s < 0)
        goto out;
    if (derive(ctx, "pkce", state, verifier) < 0) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    if (s == 0 || u.id != uid) {
        fail_page(ctx, 403, "Sign in here as the user who started linking this account.");
        goto out;
    }
    if (exchange_code(ctx, p, meta, code, verifier, &grant, &err) < 0) {
        fail_page(ctx, 502, err.msg);
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
    struct http_form q;
    if (oauth_page_query(ctx, "GET", &q) < 0)
        return;
    char cookie[OAUTH_SECRET_LEN + 1];
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
    if (!p || issuer_discover(ctx->cfg, p, &meta) < 0) {
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
