/*
 * oauth/bearer.c - the bearer check in front of the MCP endpoints
 * (RFC 6750, RFC 9728 section 5.1, MCP 2025-06-18 authorization).
 *
 * No or an unusable Authorization header: 401 with
 *     WWW-Authenticate: Bearer resource_metadata="<PRM URL>", scope="<all scopes>"
 * plus error="invalid_token" when a token was sent. A token is accepted
 * when it is a live access token whose audience is the endpoint's resource
 * (RFC 8707: base_url/mcp, or base_url/mcp/NAME at a connector's endpoint),
 * or a live personal API key ("mgk_..."). Tokens are looked up
 * by their SHA-256 and the stored hash compared in constant time.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "oauth/internal.h"
#include "store/api_keys.h"
#include "store/oauth_tokens.h"
#include "util/buf.h"
#include "util/log.h"

/* The resource metadata URL of the endpoint (connector c, or /mcp for
 * NULL) with base_url's path inserted after the well-known prefix (RFC
 * 9728 section 3.1). */
static void prm_url(const struct mg_config *cfg, const struct mg_connector *c, char *out, size_t n)
{
    snprintf(out, n, "%s/.well-known/oauth-protected-resource%s/mcp%s%s", cfg->base_origin,
             cfg->base_path, c ? "/" : "", c ? c->name : "");
}

/* The scopes a caller needs for want (mcpgate's canonical scopes), as this
 * server's clients ask for them: in auth = resource the external scopes
 * that grant them (the first of rs_scopes_read / rs_scopes_write each). */
static void client_scopes(const struct mg_config *cfg, const char *want, char *out, size_t n)
{
    if (cfg->auth != MG_AUTH_RESOURCE) {
        snprintf(out, n, "%s", want);
        return;
    }
    int read = strstr(want, OAUTH_SCOPE_READ) != NULL;
    int write = strstr(want, OAUTH_SCOPE_WRITE) != NULL;
    size_t r = strcspn(cfg->rs.scopes_read, " "), w = strcspn(cfg->rs.scopes_write, " ");
    snprintf(out, n, "%.*s%s%.*s", read ? (int)r : 0, cfg->rs.scopes_read, read && write ? " " : "",
             write ? (int)w : 0, cfg->rs.scopes_write);
}

void oauth_challenge(struct oauth_ctx *ctx, int status, const char *error, const char *why)
{
    char prm[1024], scope[600];
    prm_url(ctx->cfg, ctx->connector, prm, sizeof prm);
    client_scopes(ctx->cfg, OAUTH_SCOPES_ALL, scope, sizeof scope);
    struct buf h = {0};
    int rc = buf_printf(&h, "Bearer resource_metadata=\"%s\", scope=\"%s\"", prm, scope);
    if (rc == 0 && error)
        rc = buf_printf(&h, ", error=\"%s\", error_description=\"%s\"", error, why);
    if (rc == 0)
        oauth_header(ctx->res, "WWW-Authenticate", buf_str(&h));
    buf_free(&h);
    oauth_reply_error(ctx->res, status, error ? error : "invalid_request", why);
}

int oauth_insufficient_scope_header(const struct mg_config *cfg,
                                    const struct mg_connector *connector, struct http_response *res,
                                    const char *want)
{
    char prm[1024], scopes[600];
    prm_url(cfg, connector, prm, sizeof prm);
    client_scopes(cfg, want, scopes, sizeof scopes);
    struct buf h = {0};
    int rc = buf_printf(&h,
                        "Bearer error=\"insufficient_scope\", scope=\"%s\", "
                        "resource_metadata=\"%s\", error_description=\"this operation needs "
                        "the scopes %s\"",
                        scopes, prm, scopes);
    if (rc == 0)
        rc = http_response_header(res, "WWW-Authenticate", buf_str(&h));
    buf_free(&h);
    return rc;
}

const char *oauth_bearer_token(struct oauth_ctx *ctx, size_t max_len, const char *missing,
                               char hash[CRYPTO_SHA256_HEX_LEN + 1])
{
    const char *auth = http_header(ctx->req, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
        oauth_challenge(ctx, 401, NULL, missing);
        return NULL;
    }
    const char *token = auth + 7;
    token += strspn(token, " ");
    size_t len = strlen(token);
    /* RFC 6750 section 2.1 b64token */
    if (len == 0 || len > max_len ||
        strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789-._~+/=") != len) {
        oauth_challenge(ctx, 401, "invalid_token", "malformed bearer token");
        return NULL;
    }
    crypto_sha256_hex(token, len, hash);
    return token;
}

enum oauth_bearer oauth_bearer_check(struct oauth_ctx *ctx, struct oauth_principal *out)
{
    if (ctx->cfg->auth == MG_AUTH_RESOURCE)
        return oauth_rs_bearer_check(ctx, out);
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    const char *token = oauth_bearer_token(
        ctx, 256, "authorization required: sign in with OAuth or send an API key", hash);
    if (!token)
        return OAUTH_BEARER_DENIED;
    struct store_grant g;
    int api_key = strncmp(token, OAUTH_APIKEY_PREFIX, strlen(OAUTH_APIKEY_PREFIX)) == 0;
    enum store_rc rc =
        api_key ? store_apikey_find(ctx->db, hash, &g) : store_access_find(ctx->db, hash, &g);
    if (rc == STORE_UNAVAILABLE || rc == STORE_ERROR) {
        oauth_reply_unavailable(ctx->res);
        return OAUTH_BEARER_UNAVAIL;
    }
    char resource[1024], main[1024];
    oauth_endpoint_resource_uri(ctx->cfg, ctx->connector, resource, sizeof resource);
    oauth_resource_uri(ctx->cfg, main, sizeof main);
    if (rc == STORE_NOT_FOUND) {
        oauth_challenge(ctx, 401, "invalid_token", "the token is invalid, expired or revoked");
        return OAUTH_BEARER_DENIED;
    }
    /* a connector's token is for its tools alone: never accepted at /mcp
     * or another connector; /mcp's at a connector only when configured */
    int main_ok = ctx->connector && ctx->connector->main_tokens && strcmp(g.audience, main) == 0;
    if (!api_key && strcmp(g.audience, resource) != 0 && !main_ok) {
        LOG_INFO("msg=\"token refused: issued for another resource\"");
        oauth_challenge(ctx, 401, "invalid_token", "the token was issued for another resource");
        return OAUTH_BEARER_DENIED;
    }
    memset(out, 0, sizeof *out);
    out->user_id = g.user_id;
    snprintf(out->username, sizeof out->username, "%s", g.username);
    snprintf(out->client_id, sizeof out->client_id, "%s", g.client_id);
    if (oauth_scope_canonical(g.scope, out->scope, sizeof out->scope) < 0)
        out->scope[0] = '\0';
    out->api_key = api_key;
    memcpy(out->token_hash, hash, sizeof out->token_hash);
    out->expires_at = g.expires_at;
    return OAUTH_BEARER_OK;
}
