/*
 * oauth/oauth.h - the OAuth 2.1 authorization server's HTTP endpoints.
 *
 * Owns: what each endpoint answers (RFC 6749 / OAuth 2.1, RFC 7636 PKCE,
 * RFC 7591 registration, RFC 7009 revocation, RFC 7662 introspection,
 * RFC 8414 and RFC 9728 metadata, RFC 8707 resource indicators, RFC 9207
 * iss), the sign-in, consent and account pages' behaviour, and the bearer
 * check in front of the MCP endpoints.
 * Uses the HTTP primitives (http/request.h, http/response.h, http/form.h)
 * but not the router, which calls these functions; persistence is in
 * store/, HTML in pages/.
 * Must not touch: SQL, the MCP protocol.
 *
 * Every handler fills ctx->res completely (status, headers, body) and
 * cannot fail: database outages become 503 with Retry-After.
 */
#ifndef MG_OAUTH_OAUTH_H
#define MG_OAUTH_OAUTH_H

#include "http/request.h"
#include "http/response.h"
#include "oauth/scope.h"
#include "store/db.h"
#include "util/config.h"

struct oauth_ctx {
    const struct mg_config *cfg; /* read-only, shared */
    struct store_conn *db;       /* this thread's connection */
    const struct http_request *req;
    struct http_response *res; /* filled by the handler */
    /* the connector whose endpoint or metadata the request is for
     * (/mcp/NAME, /.well-known/oauth-protected-resource/mcp/NAME); NULL: /mcp */
    const struct mg_connector *connector;
};

typedef void (*oauth_handler)(struct oauth_ctx *ctx);

/* /.well-known/oauth-protected-resource[/mcp[/NAME]] (RFC 9728): the
 * metadata of ctx->connector's resource */
void oauth_handle_resource_metadata(struct oauth_ctx *ctx);
/* /.well-known/oauth-authorization-server (RFC 8414) */
void oauth_handle_as_metadata(struct oauth_ctx *ctx);
/* /register (RFC 7591) */
void oauth_handle_register(struct oauth_ctx *ctx);
/* /authorize: validates, then sign-in, consent or the redirect with a code */
void oauth_handle_authorize(struct oauth_ctx *ctx);
/* /consent: the consent form's POST */
void oauth_handle_consent(struct oauth_ctx *ctx);
/* /token */
void oauth_handle_token(struct oauth_ctx *ctx);
/* /revoke (RFC 7009) */
void oauth_handle_revoke(struct oauth_ctx *ctx);
/* /introspect (RFC 7662) */
void oauth_handle_introspect(struct oauth_ctx *ctx);
/* /login, /logout */
void oauth_handle_login(struct oauth_ctx *ctx);
void oauth_handle_logout(struct oauth_ctx *ctx);
/* /login/idp (start a sign-in at an identity provider), /login/callback
 * (its answer) */
void oauth_handle_idp_start(struct oauth_ctx *ctx);
void oauth_handle_idp_callback(struct oauth_ctx *ctx);
/* /account, /account/revoke, /account/keys, /account/keys/revoke */
void oauth_handle_account(struct oauth_ctx *ctx);
void oauth_handle_account_revoke(struct oauth_ctx *ctx);
void oauth_handle_account_key_create(struct oauth_ctx *ctx);
void oauth_handle_account_key_revoke(struct oauth_ctx *ctx);
/* /account/credentials, /account/credentials/unlink: a user's own values
 * of per_user backend credential slots (tools/credentials.h) */
void oauth_handle_account_cred_link(struct oauth_ctx *ctx);
void oauth_handle_account_cred_unlink(struct oauth_ctx *ctx);
/* /account/linked/disconnect: forget (and revoke) the user's tokens at an
 * identity provider */
void oauth_handle_account_linked_disconnect(struct oauth_ctx *ctx);

/* /admin, /admin/users, /admin/users/state, /admin/users/groups, /admin/audit:
 * the admin console (oauth/admin.c), for users with the admin role */
void oauth_handle_admin(struct oauth_ctx *ctx);
void oauth_handle_admin_users(struct oauth_ctx *ctx);
void oauth_handle_admin_user_state(struct oauth_ctx *ctx);
void oauth_handle_admin_user_groups(struct oauth_ctx *ctx);
void oauth_handle_admin_audit(struct oauth_ctx *ctx);
/* /admin/keys[/revoke], /admin/clients[/revoke], /admin/policy[/add|/remove] */
void oauth_handle_admin_keys(struct oauth_ctx *ctx);
void oauth_handle_admin_key_revoke(struct oauth_ctx *ctx);
void oauth_handle_admin_clients(struct oauth_ctx *ctx);
void oauth_handle_admin_client_revoke(struct oauth_ctx *ctx);
void oauth_handle_admin_policy(struct oauth_ctx *ctx);
void oauth_handle_admin_policy_add(struct oauth_ctx *ctx);
void oauth_handle_admin_policy_remove(struct oauth_ctx *ctx);
/* /admin/backends: each backend with its tools and health (oauth/admin_backends.c) */
void oauth_handle_admin_backends(struct oauth_ctx *ctx);
/* /admin/apps[/revoke]: every user's connected applications */
void oauth_handle_admin_apps(struct oauth_ctx *ctx);
void oauth_handle_admin_app_revoke(struct oauth_ctx *ctx);

enum oauth_bearer {
    OAUTH_BEARER_OK,      /* *out holds the caller */
    OAUTH_BEARER_DENIED,  /* ctx->res holds the 401 with WWW-Authenticate */
    OAUTH_BEARER_UNAVAIL, /* ctx->res holds a 503 */
};

/* Checks the Authorization header of a request to an MCP endpoint: an
 * access token of this endpoint's resource (audience: base_url/mcp, or
 * base_url/mcp/NAME for ctx->connector, which may also take base_url/mcp's
 * tokens when configured so), live, or a personal API key. Never logs the
 * header. */
__attribute__((warn_unused_result)) enum oauth_bearer
oauth_bearer_check(struct oauth_ctx *ctx, struct oauth_principal *out);

/* Adds the WWW-Authenticate header of a 403 insufficient_scope answer
 * naming every scope the operation needs (scopes, space-separated) and the
 * metadata of the endpoint's resource (connector NULL: /mcp). Returns 0, or
 * -1 when the header could not be added. */
__attribute__((warn_unused_result)) int
oauth_insufficient_scope_header(const struct mg_config *cfg, const struct mg_connector *connector,
                                struct http_response *res, const char *scopes);

/* Checks a redirect URI for registration: absolute https, or http on a
 * loopback host (127.0.0.1, [::1], localhost); no fragment, no user info,
 * at most OAUTH_MAX_URI_LEN. Returns 0, or -1 with err's msg set (err may
 * be NULL). */
__attribute__((warn_unused_result)) int oauth_redirect_uri_check(const char *uri,
                                                                 struct mg_error *err);

/* Returns 1 when the host of uri is exactly a loopback one (127.0.0.1,
 * [::1], localhost, any case, any port): "127.0.0.1.evil.example" and
 * "localhost.evil.example" are not. Returns 0 otherwise, also for a URI
 * that does not parse. Cannot fail. */
int oauth_redirect_uri_loopback(const char *uri);

/* The canonical resource identifier of the MCP endpoint (base_url + "/mcp")
 * into out (n bytes). */
void oauth_resource_uri(const struct mg_config *cfg, char *out, size_t n);

/* The same for connector c's endpoint (base_url + "/mcp/" + name); c NULL:
 * oauth_resource_uri(). */
void oauth_endpoint_resource_uri(const struct mg_config *cfg, const struct mg_connector *c,
                                 char *out, size_t n);

/* The connector whose resource identifier is resource (canonical, as
 * oauth_endpoint_resource_uri() writes it), or NULL (base_url/mcp, or not
 * ours). Borrowed from cfg. */
const struct mg_connector *oauth_resource_connector(const struct mg_config *cfg,
                                                    const char *resource);

/* The token endpoint of auth = resource's issuer (rs_issuer), from its
 * metadata (discovered and cached as for its keys), into out (n bytes):
 * where backends' exchange slots exchange the caller's token
 * (tools/exchange.h tool_exchange_setup()). Returns 0, or -1 when the
 * metadata could not be had or name none. */
int oauth_rs_token_endpoint(const struct mg_config *cfg, char *out, size_t n);

#endif
