/*
 * oauth/token.c - the token endpoint (OAuth 2.1 section 3.2, RFC 7636,
 * RFC 8707).
 *
 * authorization_code: PKCE S256 is required (the code_verifier's SHA-256,
 * base64url, must equal the stored challenge); the redirect_uri must be the
 * one the code was issued for; the code is consumed atomically, only by its
 * own client with the right verifier (anyone else's attempt changes
 * nothing), and a code its client presents twice revokes every token it
 * issued.
 * refresh_token: rotation under a row lock (store_refresh_rotate): the old
 * token stops working, a reused one revokes its family, except that a token
 * presented again within refresh_grace_s of its rotation (a client's
 * concurrent retry) is only refused.
 * Tokens are 256-bit random, returned once, stored as SHA-256. Every answer
 * carries Cache-Control: no-store (added by the router) and Pragma: no-cache.
 * One token request in 64 also deletes codes and tokens expired for a day.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth/internal.h"
#include "store/oauth_tokens.h"
#include "util/json.h"
#include "util/log.h"
#include "util/metrics.h"

static void token_reply(struct oauth_ctx *ctx, const char *access, const char *refresh,
                        const char *scope)
{
    struct json_object *o = json_object_new_object();
    json_add(o, "access_token", json_object_new_string(access));
    json_add(o, "token_type", json_object_new_string("Bearer"));
    json_add(o, "expires_in", json_object_new_int(ctx->cfg->access_token_ttl_s));
    if (refresh)
        json_add(o, "refresh_token", json_object_new_string(refresh));
    json_add(o, "scope", json_object_new_string(scope));
    oauth_reply_json(ctx->res, 200, o);
    oauth_header(ctx->res, "Pragma", "no-cache");
}

/* RFC 7636 section 4.1: code-verifier = 43*128unreserved */
static int verifier_valid(const char *v)
{
    size_t len = strlen(v);
    return len >= 43 && len <= 128 &&
           strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") == len;
}

/* The S256 code_challenge of a verifier (RFC 7636 section 4.2) into out. */
static void pkce_challenge(const char *verifier, char out[64])
{
    unsigned char md[CRYPTO_SHA256_LEN];
    crypto_sha256(verifier, strlen(verifier), md);
    crypto_b64url_encode(md, sizeof md, out);
}

/* What the client is told when its code was not redeemed. */
static const char *code_refusal(enum store_consume status)
{
    switch (status) {
    case STORE_CODE_REPLAYED:
        return "authorization code was already used";
    case STORE_CODE_CLIENT:
        return "authorization code was issued to another client";
    case STORE_CODE_VERIFIER:
        return "code_verifier does not match the code_challenge";
    case STORE_CODE_REDIRECT_URI:
        return "redirect_uri differs from the authorization request's";
    case STORE_CODE_RESOURCE:
        return "resource differs from the authorization request's";
    case STORE_CODE_OK:
    case STORE_CODE_INVALID:
        break;
    }
    return "authorization code is invalid or expired";
}

/* The token request's resource parameter (RFC 8707), checked, into out.
 * Returns 0, or -1 after answering invalid_target. */
static int resource_param(struct oauth_ctx *ctx, const struct http_form *f, char *out, size_t n)
{
    if (oauth_resource_check(ctx->cfg, http_form_get(f, "resource"), out, n) == 0)
        return 0;
    oauth_reply_error(ctx->res, 400, "invalid_target", "resource is not this server");
    return -1;
}

static void grant_code(struct oauth_ctx *ctx, const struct http_form *f,
                       const struct store_client *cl)
{
    const char *code = http_form_get(f, "code");
    const char *verifier = http_form_get(f, "code_verifier");
    const char *redirect_uri = http_form_get(f, "redirect_uri");
    char resource[1024];
    if (!code || !*code || strlen(code) > 256) {
        oauth_reply_error(ctx->res, 400, "invalid_request", "code is missing");
        return;
    }
    if (!verifier) {
        oauth_reply_error(ctx->res, 400, "invalid_request", "code_verifier is required (PKCE)");
        return;
    }
    if (!verifier_valid(verifier)) {
        oauth_reply_error(ctx->res, 400, "invalid_grant", "malformed code_verifier");
        return;
    }
    if (resource_param(ctx, f, resource, sizeof resource) < 0)
        return;
    char hash[CRYPTO_SHA256_HEX_LEN + 1], challenge[64];
    crypto_sha256_hex(code, strlen(code), hash);
    pkce_challenge(verifier, challenge);
    char access[OAUTH_SECRET_LEN + 1], refresh[OAUTH_SECRET_LEN + 1];
    char ah[CRYPTO_SHA256_HEX_LEN + 1], rh[CRYPTO_SHA256_HEX_LEN + 1];
    oauth_secret_new("", access, sizeof access, ah);
    oauth_secret_new("", refresh, sizeof refresh, rh);
    const struct store_redeem_in in = {
        .code_hash = hash,
        .client_id = cl->client_id,
        .challenge = challenge,
        .redirect_uri = redirect_uri,
        .resource = resource,
        .access_hash = ah,
        .refresh_hash = rh,
        .access_ttl_s = ctx->cfg->access_token_ttl_s,
        .refresh_ttl_s = ctx->cfg->refresh_token_ttl_s,
    };
    enum store_consume status;
    struct store_code sc;
    if (store_code_redeem(ctx->db, &in, &status, &sc) != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
    } else if (status == STORE_CODE_OK) {
        LOG_INFO("msg=\"tokens issued\" grant=authorization_code client_id=%.200s family=%lld",
                 cl->client_id, sc.family_id);
        token_reply(ctx, access, refresh, sc.scope);
    } else {
        if (status == STORE_CODE_REPLAYED) {
            LOG_WARN("msg=\"authorization code replayed: its tokens are revoked\" family=%lld",
                     sc.family_id);
            metrics_add("mcpgate_oauth_replays_total", 1, "kind", "authorization_code", NULL);
        }
        oauth_reply_error(ctx->res, 400, "invalid_grant", code_refusal(status));
    }
    explicit_bzero(access, sizeof access);
    explicit_bzero(refresh, sizeof refresh);
}

static void grant_refresh(struct oauth_ctx *ctx, const struct http_form *f,
                          const struct store_client *cl)
{
    const char *token = http_form_get(f, "refresh_token");
    const char *scope_in = http_form_get(f, "scope");
    char resource[1024], scope[OAUTH_SCOPE_MAX] = "";
    if (!token || !*token || strlen(token) > 256) {
        oauth_reply_error(ctx->res, 400, "invalid_request", "refresh_token is missing");
        return;
    }
    if (scope_in && oauth_scope_canonical(scope_in, scope, sizeof scope) < 0) {
        oauth_reply_error(ctx->res, 400, "invalid_scope", "unknown scope");
        return;
    }
    if (resource_param(ctx, f, resource, sizeof resource) < 0)
        return;
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    crypto_sha256_hex(token, strlen(token), hash);
    char access[OAUTH_SECRET_LEN + 1], refresh[OAUTH_SECRET_LEN + 1];
    char ah[CRYPTO_SHA256_HEX_LEN + 1], rh[CRYPTO_SHA256_HEX_LEN + 1];
    oauth_secret_new("", access, sizeof access, ah);
    oauth_secret_new("", refresh, sizeof refresh, rh);
    struct store_rotate_in in = {
        .refresh_hash = hash,
        .client_id = cl->client_id,
        .access_hash = ah,
        .new_refresh_hash = rh,
        .scope = scope[0] ? scope : NULL,
        .access_ttl_s = ctx->cfg->access_token_ttl_s,
        .refresh_ttl_s = ctx->cfg->refresh_token_ttl_s,
        .grace_s = ctx->cfg->refresh_grace_s,
    };
    enum store_rotate status;
    char granted[OAUTH_SCOPE_MAX];
    if (store_refresh_rotate(ctx->db, &in, &status, granted, sizeof granted) != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    switch (status) {
    case STORE_ROTATE_OK:
        LOG_INFO("msg=\"tokens issued\" grant=refresh_token client_id=%.200s", cl->client_id);
        token_reply(ctx, access, refresh, granted);
        break;
    case STORE_ROTATE_GRACE:
        oauth_reply_error(ctx->res, 400, "invalid_grant",
                          "refresh token was just rotated: use the new one");
        break;
    case STORE_ROTATE_REUSED:
        LOG_WARN("msg=\"refresh token reused: its family is revoked\" client_id=%.200s",
                 cl->client_id);
        metrics_add("mcpgate_oauth_replays_total", 1, "kind", "refresh_token", NULL);
        oauth_reply_error(ctx->res, 400, "invalid_grant", "refresh token was already used");
        break;
    case STORE_ROTATE_SCOPE:
        oauth_reply_error(ctx->res, 400, "invalid_scope",
                          "scope exceeds what the refresh token was granted");
        break;
    case STORE_ROTATE_INVALID:
        oauth_reply_error(ctx->res, 400, "invalid_grant",
                          "refresh token is invalid, expired or revoked");
        break;
    }
out:
    explicit_bzero(access, sizeof access);
    explicit_bzero(refresh, sizeof refresh);
}

/* Now and then (one request in 64), deletes codes and tokens that expired
 * more than a day ago, a few hundred at a time, so the tables do not grow
 * without bound. A failure is harmless: the next sweep catches up. */
static void sweep_expired(struct oauth_ctx *ctx)
{
    unsigned char dice;
    crypto_random(&dice, 1);
    if (dice < 4 && store_tokens_purge(ctx->db) != STORE_OK)
        LOG_INFO("msg=\"could not purge expired tokens\"");
}

void oauth_handle_token(struct oauth_ctx *ctx)
{
    struct http_form f;
    if (oauth_read_form(ctx, &f) < 0)
        return;
    struct store_client cl;
    const char *grant = http_form_get(&f, "grant_type");
    if (!grant) {
        oauth_reply_error(ctx->res, 400, "invalid_request", "grant_type is missing");
    } else if (strcmp(grant, "authorization_code") != 0 && strcmp(grant, "refresh_token") != 0) {
        oauth_reply_error(ctx->res, 400, "unsupported_grant_type",
                          "grant_type must be authorization_code or refresh_token");
    } else if (oauth_client_authenticate(ctx, &f, &cl, 0) == 0) {
        if (grant[0] == 'a')
            grant_code(ctx, &f, &cl);
        else
            grant_refresh(ctx, &f, &cl);
        if (ctx->res->status != 503)
            sweep_expired(ctx);
    }
    http_form_free(&f);
}
