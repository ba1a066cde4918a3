/*
 * tools/exchange.h - the value of a credential slot with "exchange"
 * (docs/backends.md): the caller's access token of auth = resource
 * exchanged at the issuer for one whose audience is the backend (OAuth 2.0
 * Token Exchange, RFC 8693), never the caller's own token.
 *
 * The request (RFC 8693 section 2.1), POSTed to the token_endpoint of the
 * issuer's metadata (rs_issuer) as the slot's client (its client_id and
 * client_secret_file) or else as rs_introspection_client_id:
 *
 *   grant_type=urn:ietf:params:oauth:grant-type:token-exchange
 *   subject_token=<the caller's access token>
 *   subject_token_type=urn:ietf:params:oauth:token-type:access_token
 *   requested_token_type=urn:ietf:params:oauth:token-type:access_token
 *   audience=<the slot's audience>   resource=<the slot's resource>
 *   scope=<the slot's scope>         (each only when configured)
 *
 * The answer must be 200 with an access_token of token_type Bearer
 * (section 2.2.1); a 400, 401 or 403 is the issuer refusing the exchange
 * (section 2.2.2: its OAuth error code goes into the tool's message, its
 * description does not). An exchanged token is cached in this process
 * by (SHA-256 of the caller's token, backend, slot) until its expires_in
 * less TOOL_EXCHANGE_SKEW_S (TOOL_EXCHANGE_DEFAULT_TTL_S without
 * expires_in): a repeat call costs no exchange. The caller's token itself
 * is never stored, only its hash is a key. A backend that answers 401 to
 * an exchanged token has it dropped from the cache and gets one fresh
 * exchange (tool_exchange_renew()).
 *
 * Where the caller's token comes from: tool_ctx.subject_token, the bearer
 * token of the request being served. Backend tools answer within their
 * request (task_support forbidden), so the exchange happens while it is at
 * hand. A task (mcp/task.h) runs after its request has ended and its copy
 * of the caller drops the token: an exchange slot called in a task answers
 * that the tool must be called without a task.
 *
 * Secrets: no token, client secret or issuer description appears in a
 * message or a log line.
 * Must not touch: oauth/ (the issuer's token endpoint comes through the
 * function given to tool_exchange_setup()), SQL, HTTP answers to clients.
 */
#ifndef MG_TOOLS_EXCHANGE_H
#define MG_TOOLS_EXCHANGE_H

#include <stddef.h>

#include "tools/backend.h"
#include "tools/registry.h"
#include "util/config.h"
#include "util/crypto.h"
#include "util/error.h"

#define TOOL_EXCHANGE_GRANT         "urn:ietf:params:oauth:grant-type:token-exchange"
#define TOOL_EXCHANGE_ACCESS_TOKEN  "urn:ietf:params:oauth:token-type:access_token"
#define TOOL_EXCHANGE_SKEW_S        30 /* an exchanged token is used until this long before expiry */
#define TOOL_EXCHANGE_DEFAULT_TTL_S 60  /* cached this long when the issuer gave no expires_in */
#define TOOL_EXCHANGE_CACHE_SLOTS   256 /* exchanged tokens remembered per process */

/* Writes the issuer's token endpoint into out (n bytes). Returns 0, or -1
 * when the issuer's metadata could not be had or name none. */
typedef int (*tool_exchange_endpoint_fn)(const struct mg_config *cfg, char *out, size_t n);

/* The configuration (borrowed for the process's life: auth, the rs_*
 * client, idp_allow_private) and how to find the issuer's token endpoint.
 * Called at start-up before threads exist. Cannot fail. */
void tool_exchange_setup(const struct mg_config *cfg, tool_exchange_endpoint_fn endpoint);

/* The token for slot c of be for the call ctx: the cached one while it is
 * good, else exchanged now. Returns a new string (tool_cred_free()), or
 * NULL with a message for the model and the user in err (not auth =
 * resource, no caller token (a task), the issuer refused or did not
 * answer). */
char *tool_exchange_token(const struct backend *be, const struct backend_cred *c,
                          struct tool_ctx *ctx, struct mg_error *err);

/* After the backend answered HTTP 401 to stale (the token
 * tool_exchange_token() gave): drops it from the cache and exchanges once
 * more. Returns a new string (tool_cred_free()), or NULL with err. */
char *tool_exchange_renew(const struct backend *be, const struct backend_cred *c,
                          struct tool_ctx *ctx, const char *stale, struct mg_error *err);

/* The message when the backend refused even a freshly exchanged token.
 * Cannot fail. */
void tool_exchange_still_refused(const struct backend *be, const struct backend_cred *c,
                                 struct mg_error *err);

/* For requests that serve no caller (an upstream MCP backend's tools/list,
 * tools/upstream.h): mcpgate's own token for slot c of be, asked for at
 * the same token endpoint as the same client with the client_credentials
 * grant (RFC 6749 section 4.4) and the slot's audience, resource and
 * scope, cached as the exchanged ones are. stale: the token the backend
 * just answered 401 to (dropped first), or NULL. Returns a new string
 * (tool_cred_free()), or NULL with a message for the log in err. */
char *tool_exchange_own_token(const struct backend *be, const struct backend_cred *c,
                              const char *stale, struct mg_error *err);

/* The cache key of ctx's caller for slot c of be (a hash of a hash of the
 * caller's token: no secret) into out, for state kept per caller (an
 * upstream MCP session). Returns 0, or -1 when ctx carries no token. */
int tool_exchange_caller_key(const struct backend *be, const struct backend_cred *c,
                             const struct tool_ctx *ctx, char out[CRYPTO_SHA256_HEX_LEN + 1]);

/* Forgets every cached token (tests, and the process's end). */
void tool_exchange_forget_all(void);

#endif
