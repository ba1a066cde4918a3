/*
 * oauth/revoke.c - token revocation (RFC 7009) and introspection
 * (RFC 7662).
 *
 * Revocation: the client authenticates (public clients with their
 * client_id); a token it does not own, or an unknown one, still gets 200
 * (RFC 7009 section 2.2) and nothing changes. A refresh token is revoked
 * with its whole family, access tokens included; an access token alone.
 * Introspection: only for an authenticated confidential client, and only
 * about its own tokens; anything else is {"active": false}.
 */
#include <string.h>

#include "oauth/internal.h"
#include "store/oauth_tokens.h"
#include "util/json.h"
#include "util/log.h"

/* A request to /revoke or /introspect: its form, the client that sent it
 * and the hash of the token it asks about. */
struct token_req {
    struct http_form f;
    struct store_client cl;
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
};

/* The shared start of /revoke and /introspect (RFC 7009 §2.1, RFC 7662
 * §2.1): reads the form, authenticates the client (confidential: only a
 * client with a secret), and hashes the "token" parameter. Returns 0; or
 * -1 with the error response set (r->f is freed either way on -1, and must
 * be freed by the caller on 0). */
static int token_request(struct oauth_ctx *ctx, struct token_req *r, int confidential)
{
    if (oauth_read_form(ctx, &r->f) < 0)
        return -1;
    const char *token = http_form_get(&r->f, "token");
    if (oauth_client_authenticate(ctx, &r->f, &r->cl, confidential) < 0)
        goto fail;
    if (!token || !*token) {
        oauth_reply_error(ctx->res, 400, "invalid_request", "token is missing");
        goto fail;
    }
    crypto_sha256_hex(token, strlen(token), r->hash);
    return 0;
fail:
    http_form_free(&r->f);
    return -1;
}

void oauth_handle_revoke(struct oauth_ctx *ctx)
{
    struct token_req r;
    if (token_request(ctx, &r, 0) < 0)
        return;
    int n = 0;
    if (store_token_revoke(ctx->db, r.hash, r.cl.client_id, &n) != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    if (n)
        LOG_INFO("msg=\"token revoked\" client_id=%.200s", r.cl.client_id);
    ctx->res->status = 200;
    ctx->res->content_type = NULL;
out:
    http_form_free(&r.f);
}

void oauth_handle_introspect(struct oauth_ctx *ctx)
{
    struct token_req r;
    if (token_request(ctx, &r, 1) < 0)
        return;
    struct store_grant g;
    enum store_rc rc = store_token_introspect(ctx->db, r.hash, r.cl.client_id, &g);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    struct json_object *o = json_object_new_object();
    int active = rc == STORE_OK && g.active;
    json_add(o, "active", json_object_new_boolean(active));
    if (active) {
        json_add(o, "scope", json_object_new_string(g.scope));
        json_add(o, "client_id", json_object_new_string(g.client_id));
        json_add(o, "username", json_object_new_string(g.username));
        json_add(
            o, "token_type",
            json_object_new_string(strcmp(g.kind, "access") == 0 ? "Bearer" : "refresh_token"));
        json_add(o, "exp", json_object_new_int64(g.expires_at));
        json_add(o, "iat", json_object_new_int64(g.issued_at));
        json_add(o, "sub", json_object_new_string(g.username));
        json_add(o, "aud", json_object_new_string(g.audience));
        json_add(o, "iss", json_object_new_string(ctx->cfg->base_url));
    }
    oauth_reply_json(ctx->res, 200, o);
out:
    http_form_free(&r.f);
}
