/*
 * tools/idp_token.h - the signed-in user's access token at their identity
 * provider, as the value of a credential slot with "from_idp"
 * (docs/backends.md), refreshed before it expires.
 *
 * Owns: when to refresh (the access token expires within
 * TOOL_IDP_REFRESH_MARGIN_S, or a backend refused it with HTTP 401), that one process does it while
 * the others wait for its result (the lease of store/idp_tokens.h), the refresh request (RFC 6749
 * section 6: grant_type refresh_token at the token endpoint the sign-in used, as the configured
 * client), and storing a rotated refresh token together with the new access token. A refresh the
 * provider refuses (revoked, user disabled there) deletes the stored
 * tokens and ends the user's mcpgate tokens, consents and browser sessions
 * (they rested on that sign-in), and the call is answered with a link to
 * sign in again.
 * When the user must sign in at the provider (again), a client that
 * declared URL-mode elicitation gets the sign-in page as a URL elicitation
 * (tools/registry.h tool_url_required()), the others the link in the
 * message.
 * Secrets: no token appears in a message or a log line.
 * Must not touch: SQL (store/idp_tokens.h), HTTP answers to clients.
 */
#ifndef MG_TOOLS_IDP_TOKEN_H
#define MG_TOOLS_IDP_TOKEN_H

#include <stddef.h>

#include "tools/backend.h"
#include "tools/registry.h"
#include "util/config.h"
#include "util/error.h"

#define TOOL_IDP_REFRESH_MARGIN_S 30 /* refresh when the access token expires this soon */

/* The configuration (borrowed for the process's life: identity providers,
 * credential keys, base_url, idp_allow_private). Called at start-up before
 * threads exist. Cannot fail. */
void tool_idp_setup(const struct mg_config *cfg);

/* The calling user's access token at the provider slot c names, refreshed
 * first when it expires soon. Returns a new string (free it with
 * tool_cred_free()), or NULL with a message for the model and the user in
 * err (not signed in at that provider, must sign in again, the provider or
 * the database unreachable). */
char *tool_idp_token(const struct backend *be, const struct backend_cred *c, struct tool_ctx *ctx,
                     struct mg_error *err);

/* After the backend answered HTTP 401 to stale (the token tool_idp_token()
 * gave): a new token, from another call that refreshed meanwhile, or
 * refreshed now (once across processes, as above) whatever its expiry
 * says. Returns a new string (tool_cred_free()), or NULL with a message in
 * err (sign in again: no refresh token, or the provider refused it, which
 * ends the sign-in as above). */
char *tool_idp_token_renew(const struct backend *be, const struct backend_cred *c,
                           struct tool_ctx *ctx, const char *stale, struct mg_error *err);

/* The message when the backend refused even the renewed token: sign in
 * again, with the link (and the URL elicitation of tool_url_required()).
 * Cannot fail. */
void tool_idp_token_still_refused(const struct backend *be, const struct backend_cred *c,
                                  struct tool_ctx *ctx, struct mg_error *err);

/* Keeps the tokens of a sign-in (linked 0) or of an account the user
 * linked (linked 1: a link_only provider) at provider idp for user_id:
 * access_token valid expires_in_s, refresh_token (may be NULL), sealed
 * under the first credential key; token_endpoint is where they are
 * refreshed. A refresh a linked account's server refuses forgets only that
 * link; the sign-in's provider refusing ends the sign-in. Returns 0, or
 * -1 (no credential_key configured, or the database failed: logged). */
__attribute__((warn_unused_result)) int
tool_idp_token_keep(struct store_conn *db, long long user_id, const char *idp,
                    const char *token_endpoint, const char *access_token, const char *refresh_token,
                    long long expires_in_s, int linked);

/* Disconnects user_id's account at provider p: revokes its refresh and
 * access token at revocation_endpoint (RFC 7009) when that is not NULL or
 * "", then forgets them, whether or not the provider revoked them.
 * *revoked is the number of tokens the provider said it revoked. Returns
 * 1 (disconnected), 0 (no tokens of p were kept) or -1 (the database
 * failed; nothing forgotten). */
__attribute__((warn_unused_result)) int
tool_idp_token_disconnect(struct store_conn *db, long long user_id, const struct mg_idp *p,
                          const char *revocation_endpoint, int *revoked);

#endif
