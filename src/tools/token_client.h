/*
 * tools/token_client.h - mcpgate as an OAuth client at an authorization
 * server's endpoints (token, revocation): the form of a request and its
 * POST with the client's authentication (RFC 6749 section 2.3.1).
 *
 * Owns: client_secret_basic when the client has a secret (id and secret
 * form-urlencoded before Basic, as section 2.3.1 says), client_id in the
 * form for a public client; the size cap and timeout of these requests.
 * Used by tools/idp_token.c (refresh, revocation) and tools/exchange.c
 * (token exchange, RFC 8693).
 * Secrets: forms and answers may carry tokens; callers free them with
 * buf_free_secret(). Nothing here logs a form, an answer or a secret.
 * Must not touch: what the answers mean (the callers parse them), SQL.
 */
#ifndef MG_TOOLS_TOKEN_CLIENT_H
#define MG_TOOLS_TOKEN_CLIENT_H

#include <stddef.h>

#include "util/buf.h"

#define TOOL_TOKEN_TIMEOUT_MS 5000
#define TOOL_TOKEN_MAX_BYTES  (64 * 1024)

/* Who asks (borrowed for the call). */
struct tool_token_client {
    const char *name;   /* for the log: the provider or the backend */
    const char *id;     /* client_id */
    const char *secret; /* client secret, or NULL or "": a public client */
    int allow_private;  /* plain http and private addresses allowed (tests) */
};

/* Appends the field key=value, value percent-encoded, to the
 * form-urlencoded form (after a "&" unless form is empty). value may be a
 * secret: free form with buf_free_secret(). Returns 0, or -1 (out of room). */
__attribute__((warn_unused_result)) int tool_token_form_field(struct buf *form, const char *key,
                                                              const char *value);

/* POSTs form to endpoint as client cl (what names the request in the
 * log). Returns the HTTP status with the answer appended to body (its
 * limit set to TOOL_TOKEN_MAX_BYTES; free it with buf_free_secret()), or
 * -1 when there was no answer (not reached, refused address, too large;
 * logged without the form). */
long tool_token_post(const struct tool_token_client *cl, const char *endpoint, const char *form,
                     const char *what, struct buf *body);

#endif
