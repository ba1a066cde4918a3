/*
 * oauth/resource.c - the bearer check of auth = resource: mcpgate as a
 * resource server only, trusting the access tokens of one external
 * authorization server (MCP 2025-06-18 authorization, RFC 6750, RFC 9728,
 * RFC 9068 JWT access tokens, RFC 7662 introspection, RFC 8707 audience).
 *
 * A token is checked in one of two ways (rs_validation; auto checks a JWS,
 * a token with two dots, as jwt and any other token by introspection):
 *
 *   jwt            a JWS signed by a key of the issuer's JWKS (util/jwt.h:
 *                  RS256, PS256, ES256, EdDSA; never none or HMAC); "iss"
 *                  exactly rs_issuer (checked before any key is fetched, so
 *                  a token of another issuer costs nothing), "exp", "nbf"
 *                  and "iat" with 60 s of skew, "aud" naming one of
 *                  rs_audience (default base_url/mcp; at a connector's
 *                  endpoint its own resource, base_url/mcp/NAME, and
 *                  rs_audience only with main_tokens), "typ" at+jwt or
 *                  JWT when the header has one (typ_ok()), and a "sub".
 *   introspection  the issuer's introspection endpoint, with mcpgate's own
 *                  client credentials, says "active": true; its "iss" (when
 *                  present) is rs_issuer, its "aud" names one of
 *                  rs_audience and its "exp" (when present) is ahead.
 *
 * The scopes in "scope" (a space-separated string) or "scp" (an array or a
 * string) map to mcpgate's classes: any of rs_scopes_write gives read and
 * write, any of rs_scopes_read gives read; none gives no scope, and the MCP
 * layer answers 403 insufficient_scope naming the external scope needed.
 * The person is the user keyed by (rs_name, "sub"), provisioned on first
 * use (oauth_user_provision()); the rs_groups_claim claim, when the token
 * has it, sets their groups and so their tool policy.
 *
 * An accepted token is remembered per process by its SHA-256 until its
 * "exp", at most rs_cache_max_s: the next request with it costs one hash
 * and one lookup. What that means for revocation: a JWT stays usable until
 * it expires whatever the issuer says meanwhile (mcpgate never asks); with
 * introspection a revoked token stops working within rs_cache_max_s.
 *
 * Answers: no token: 401 with WWW-Authenticate (resource_metadata, scope);
 * a malformed, expired, wrongly signed, wrong-issuer or wrong-audience
 * token: 401 with error="invalid_token"; the issuer unreachable while its
 * keys are not cached, or its introspection endpoint not answering: 503
 * with Retry-After (rs_jwks_refetch_s), never an accept.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "oauth/internal.h"
#include "store/users.h"
#include "util/json.h"
#include "util/jwt.h"
#include "util/log.h"
#include "util/time.h"

#define RS_SKEW_S      60
#define RS_CACHE_SLOTS 1024 /* accepted tokens remembered per process */
#define RS_CLIENT_MAX  256  /* bytes of a client id kept for the rate limit */

/* One accepted token. */
struct rs_entry {
    char hash[CRYPTO_SHA256_HEX_LEN + 1]; /* "" = free */
    char endpoint[33];                    /* the connector it was accepted at, "" for /mcp */
    long long until_s;                    /* wall clock: usable before this */
    long long expires_at;                 /* the token's "exp", 0 without one */
    long long user_id;
    char username[65];
    char client_id[RS_CLIENT_MAX + 1];
    char scope[OAUTH_SCOPE_MAX];
};

static pthread_mutex_t rs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rs_entry rs_cache[RS_CACHE_SLOTS]; /* by hash; under rs_lock */

static long long wall_s(void)
{
    return mg_wall_ms() / 1000;
}

static unsigned slot_of(const char *hash)
{
    unsigned v = 0;
    for (int i = 0; i < 8; i++) {
        char c = hash[i];
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return v % RS_CACHE_SLOTS;
}

static const char *endpoint_name(const struct mg_connector *c)
{
    return c ? c->name : "";
}

/* Fills out from the cache. Returns 1 on a live entry for hash accepted
 * at the endpoint of connector c (NULL: /mcp), else 0. */
static int cache_find(const char *hash, const struct mg_connector *c, struct oauth_principal *out)
{
    int found = 0;
    pthread_mutex_lock(&rs_lock);
    struct rs_entry *e = &rs_cache[slot_of(hash)];
    if (strcmp(e->hash, hash) == 0 && strcmp(e->endpoint, endpoint_name(c)) == 0) {
        if (e->until_s > wall_s()) {
            memset(out, 0, sizeof *out);
            out->user_id = e->user_id;
            memcpy(out->username, e->username, sizeof e->username);
            memcpy(out->client_id, e->client_id, sizeof e->client_id);
            memcpy(out->scope, e->scope, sizeof e->scope);
            memcpy(out->token_hash, hash, sizeof out->token_hash);
            out->expires_at = e->expires_at;
            found = 1;
        } else {
            e->hash[0] = '\0';
        }
    }
    pthread_mutex_unlock(&rs_lock);
    return found;
}

static void cache_put(const struct oauth_principal *p, const struct mg_connector *c,
                      long long until_s)
{
    pthread_mutex_lock(&rs_lock);
    struct rs_entry *e = &rs_cache[slot_of(p->token_hash)];
    memcpy(e->hash, p->token_hash, sizeof e->hash);
    snprintf(e->endpoint, sizeof e->endpoint, "%s", endpoint_name(c));
    e->until_s = until_s;
    e->expires_at = p->expires_at;
    e->user_id = p->user_id;
    memcpy(e->username, p->username, sizeof e->username);
    size_t cl = strnlen(p->client_id, RS_CLIENT_MAX);
    memcpy(e->client_id, p->client_id, cl);
    e->client_id[cl] = '\0';
    memcpy(e->scope, p->scope, sizeof e->scope);
    pthread_mutex_unlock(&rs_lock);
}

/* 1 when the space-separated list names word (len bytes). */
static int in_list(const char *list, const char *word, size_t len)
{
    for (const char *s = list; *s;) {
        size_t w = strcspn(s, " ");
        if (w == len && strncmp(s, word, len) == 0)
            return 1;
        s += w;
        s += strspn(s, " ");
    }
    return 0;
}

static void scope_word(const struct mg_rs *rs, const char *w, size_t len, int *read, int *write)
{
    if (len == 0)
        return;
    if (in_list(rs->scopes_write, w, len))
        *write = 1;
    if (in_list(rs->scopes_read, w, len))
        *read = 1;
}

/* mcpgate's canonical scope for the token's "scope" / "scp" claims into
 * out (OAUTH_SCOPE_MAX bytes): write implies read; "" when none maps. */
static void map_scopes(const struct mg_rs *rs, struct json_object *claims, char *out)
{
    int read = 0, write = 0;
    const char *names[] = {"scope", "scp"};
    for (int k = 0; k < 2; k++) {
        struct json_object *v = NULL;
        if (!json_object_object_get_ex(claims, names[k], &v))
            continue;
        if (json_object_is_type(v, json_type_string)) {
            for (const char *s = json_object_get_string(v); *s;) {
                size_t w = strcspn(s, " ");
                scope_word(rs, s, w, &read, &write);
                s += w;
                s += strspn(s, " ");
            }
        } else if (json_object_is_type(v, json_type_array)) {
            size_t n = json_object_array_length(v);
            for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(v, i);
                if (json_object_is_type(e, json_type_string))
                    scope_word(rs, json_object_get_string(e), (size_t)json_object_get_string_len(e),
                               &read, &write);
            }
        }
    }
    snprintf(out, OAUTH_SCOPE_MAX, "%s",
             write  ? OAUTH_SCOPE_READ " " OAUTH_SCOPE_WRITE
             : read ? OAUTH_SCOPE_READ
                    : "");
}

/* The audiences a token must name one of at this endpoint: rs_audience at
 * /mcp; at a connector's its resource (base_url/mcp/NAME), and rs_audience
 * too when the connector takes main_tokens. Into aud (borrowed from cfg
 * and buf); returns their number. */
static size_t audiences(const struct oauth_ctx *ctx, const char **aud, char *buf, size_t n)
{
    const struct mg_rs *rs = &ctx->cfg->rs;
    size_t k = 0;
    if (ctx->connector) {
        oauth_endpoint_resource_uri(ctx->cfg, ctx->connector, buf, n);
        aud[k++] = buf;
    }
    if (!ctx->connector || ctx->connector->main_tokens)
        for (int i = 0; i < rs->n_audiences; i++)
            aud[k++] = rs->audiences[i];
    return k;
}

/* 1 when "aud" of o (a string or an array of strings) names one of want
 * (n_want entries). */
static int audience_ok(const char *const *want, size_t n_want, struct json_object *o)
{
    struct json_object *aud = NULL;
    if (!json_object_object_get_ex(o, "aud", &aud))
        return 0;
    size_t n = json_object_is_type(aud, json_type_array) ? json_object_array_length(aud) : 1;
    for (size_t i = 0; i < n; i++) {
        struct json_object *a =
            json_object_is_type(aud, json_type_array) ? json_object_array_get_idx(aud, i) : aud;
        if (!json_object_is_type(a, json_type_string))
            continue;
        for (size_t k = 0; k < n_want; k++)
            if (strcmp(json_object_get_string(a), want[k]) == 0)
                return 1;
    }
    return 0;
}

static void reply_unreachable(struct oauth_ctx *ctx)
{
    char v[16];
    snprintf(v, sizeof v, "%d", ctx->cfg->rs.refetch_s);
    oauth_reply_error(ctx->res, 503, "temporarily_unavailable",
                      "the authorization server cannot be reached to check the token; retry "
                      "later");
    oauth_header(ctx->res, "Retry-After", v);
}

/* 1 when the JOSE header of token (the part before the first dot) has no
 * "typ", or one an access token may have: at+jwt (RFC 9068 section 2.1,
 * also as application/at+jwt) or JWT, which Keycloak, Entra ID and others
 * put on their access tokens (an ID token, typ JWT too, fails the audience
 * check instead). Any other type (dpop+jwt, logout+jwt, ...) is another
 * kind of token. The header was already decoded once by jwt_decode(). */
static int typ_ok(const char *token)
{
    size_t n = strcspn(token, ".");
    unsigned char raw[JWT_HEADER_MAX + 1];
    if (n > crypto_b64url_len(JWT_HEADER_MAX))
        return 0;
    long len = crypto_b64url_decode(token, n, raw);
    if (len < 0)
        return 0;
    struct json_object *h = NULL;
    if (json_parse_strict((const char *)raw, (size_t)len, &h, NULL) < 0)
        return 0;
    const char *typ = h ? json_get_string(h, "typ") : NULL;
    int ok = h && (!typ || strcasecmp(typ, "at+jwt") == 0 ||
                   strcasecmp(typ, "application/at+jwt") == 0 || strcasecmp(typ, "JWT") == 0);
    json_object_put(h);
    return ok;
}

/* Checks token as a JWT. Returns OAUTH_BEARER_OK with *claims the caller's
 * (and *exp_s set), or the 401/503 already in ctx->res. */
static enum oauth_bearer check_jwt(struct oauth_ctx *ctx, const char *token,
                                   struct json_object **claims, long long *exp_s)
{
    const struct mg_rs *rs = &ctx->cfg->rs;
    struct mg_error err = MG_ERROR_INIT; /* err.detail: why, for the log */
    struct jwt *t = NULL;
    enum jwt_rc jrc = jwt_decode(token, strlen(token), &t, &err);
    if (jrc != JWT_OK) {
        LOG_INFO("msg=\"token refused\" error=\"%s\" detail=\"%s\"", jwt_strerror(jrc), err.detail);
        oauth_challenge(ctx, 401, "invalid_token",
                        jrc == JWT_ALG ? jwt_refusal(jrc) : "the token is not a signed JWT");
        return OAUTH_BEARER_DENIED;
    }
    /* another issuer's token is refused before any key is fetched for it */
    const char *iss = json_get_string(jwt_unverified_claims(t), "iss");
    int same = iss && strcmp(iss, rs->issuer) == 0;
    jwt_free(t);
    if (!same) {
        LOG_INFO("msg=\"token refused: issued by another authorization server\"");
        oauth_challenge(ctx, 401, "invalid_token", jwt_refusal(JWT_ISSUER));
        return OAUTH_BEARER_DENIED;
    }
    if (!typ_ok(token)) {
        LOG_INFO("msg=\"token refused: not an access token (typ)\"");
        oauth_challenge(ctx, 401, "invalid_token", jwt_refusal(JWT_TYPE));
        return OAUTH_BEARER_DENIED;
    }
    const char *aud[MG_RS_MAX_AUDIENCES + 1];
    char own[1024];
    struct jwt_expect want = {
        .issuer = rs->issuer,
        .audiences = aud,
        .n_audiences = audiences(ctx, aud, own, sizeof own),
        .required = JWT_REQUIRE_SUB,
        .now_s = wall_s(),
        .skew_s = RS_SKEW_S,
    };
    switch (oauth_rs_jwt_validate(ctx->cfg, token, &want, claims, &jrc, &err)) {
    case OAUTH_RS_OK:
        break;
    case OAUTH_RS_UNREACHABLE:
        LOG_WARN("msg=\"token not checked: no key set of the authorization server\" "
                 "detail=\"%s\"",
                 err.detail);
        reply_unreachable(ctx);
        return OAUTH_BEARER_UNAVAIL;
    case OAUTH_RS_REFUSED:
        LOG_INFO("msg=\"token refused\" error=\"%s\" detail=\"%s\"", jwt_strerror(jrc), err.detail);
        oauth_challenge(ctx, 401, "invalid_token", jwt_refusal(jrc));
        return OAUTH_BEARER_DENIED;
    }
    struct json_object *e = json_get(*claims, "exp", json_type_int);
    *exp_s = e ? json_object_get_int64(e) : 0;
    return OAUTH_BEARER_OK;
}

/* Checks token by introspection. As check_jwt(). */
static enum oauth_bearer check_introspect(struct oauth_ctx *ctx, const char *token,
                                          struct json_object **claims, long long *exp_s)
{
    const struct mg_rs *rs = &ctx->cfg->rs;
    struct json_object *doc = NULL;
    const char *aud[MG_RS_MAX_AUDIENCES + 1];
    char own[1024];
    if (oauth_rs_introspect(ctx->cfg, token, &doc) != OAUTH_RS_OK) {
        reply_unreachable(ctx);
        return OAUTH_BEARER_UNAVAIL;
    }
    struct json_object *active = json_get(doc, "active", json_type_boolean);
    const char *iss = json_get_string(doc, "iss");
    struct json_object *exp = json_get(doc, "exp", json_type_int);
    const char *why = NULL;
    if (!active || !json_object_get_boolean(active))
        why = "the token is invalid, expired or revoked";
    else if (iss && strcmp(iss, rs->issuer) != 0)
        why = jwt_refusal(JWT_ISSUER);
    else if (exp && json_object_get_int64(exp) <= wall_s())
        why = jwt_refusal(JWT_EXPIRED);
    else if (!audience_ok(aud, audiences(ctx, aud, own, sizeof own), doc))
        why = jwt_refusal(JWT_AUDIENCE);
    if (why) {
        LOG_INFO("msg=\"token refused by introspection\" why=\"%s\"", why);
        oauth_challenge(ctx, 401, "invalid_token", why);
        json_object_put(doc);
        return OAUTH_BEARER_DENIED;
    }
    /* a client's own token (client credentials) has no "sub": the client is the subject,
       as in a JWT access token (RFC 9068 section 2.2) */
    const char *client = json_get_string(doc, "client_id");
    if (!json_get_string(doc, "sub") && client)
        json_add(doc, "sub", json_object_new_string(client));
    *exp_s = exp ? json_object_get_int64(exp) : 0;
    *claims = doc;
    return OAUTH_BEARER_OK;
}

enum oauth_bearer oauth_rs_bearer_check(struct oauth_ctx *ctx, struct oauth_principal *out)
{
    const struct mg_rs *rs = &ctx->cfg->rs;
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    const char *token = oauth_bearer_token(ctx, JWT_MAX_LEN,
                                           "authorization required: get a token for this "
                                           "resource at its authorization server",
                                           hash);
    if (!token)
        return OAUTH_BEARER_DENIED;
    if (cache_find(hash, ctx->connector, out)) {
        out->bearer = token;
        return OAUTH_BEARER_OK;
    }

    struct json_object *claims = NULL;
    long long exp_s = 0;
    /* auto: a JWS (two dots) is checked here, anything else at the issuer */
    const char *dot = strchr(token, '.');
    int introspect = rs->introspect == 1 || (rs->introspect == 2 && !(dot && strchr(dot + 1, '.')));
    enum oauth_bearer brc = introspect ? check_introspect(ctx, token, &claims, &exp_s)
                                       : check_jwt(ctx, token, &claims, &exp_s);
    if (brc != OAUTH_BEARER_OK)
        return brc;
    struct store_user u;
    struct mg_error err = MG_ERROR_INIT;
    int prc = oauth_user_provision(ctx, rs->name, claims, &u, &err);
    if (prc < 0 && !mg_error_is_unavailable(&err)) {
        LOG_INFO("msg=\"token refused\" why=\"%s\"", err.msg);
        oauth_challenge(ctx, 401, "invalid_token", "the token names no usable subject");
        brc = OAUTH_BEARER_DENIED;
        goto out;
    }
    if (prc < 0) {
        oauth_reply_unavailable(ctx->res);
        brc = OAUTH_BEARER_UNAVAIL;
        goto out;
    }
    if (u.disabled) {
        LOG_INFO("msg=\"token of a disabled user refused\" user=%s", u.username);
        oauth_reply_error(ctx->res, 403, "access_denied", "this account is disabled here");
        brc = OAUTH_BEARER_DENIED;
        goto out;
    }
    if (oauth_groups_sync(ctx, rs->name, rs->groups_claim, &u, claims) < 0) {
        oauth_reply_unavailable(ctx->res);
        brc = OAUTH_BEARER_UNAVAIL;
        goto out;
    }
    memset(out, 0, sizeof *out);
    out->user_id = u.id;
    snprintf(out->username, sizeof out->username, "%s", u.username);
    const char *client = json_get_string(claims, "client_id");
    if (!client)
        client = json_get_string(claims, "azp");
    if (client && strlen(client) <= RS_CLIENT_MAX)
        snprintf(out->client_id, sizeof out->client_id, "%s", client);
    map_scopes(rs, claims, out->scope);
    memcpy(out->token_hash, hash, sizeof out->token_hash);
    out->expires_at = exp_s;
    out->bearer = token;
    long long until = wall_s() + rs->cache_max_s;
    if (exp_s > 0 && exp_s < until)
        until = exp_s;
    if (rs->cache_max_s > 0)
        cache_put(out, ctx->connector, until);
    LOG_INFO("msg=\"external token accepted\" idp=%s user=%s scope=\"%s\"", rs->name, u.username,
             out->scope);
out:
    json_object_put(claims);
    return brc;
}
