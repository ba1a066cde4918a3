/*
 * oauth/scope.h - the scopes mcpgate grants and the authenticated caller.
 *
 * Owns: scope names, their hierarchy and their canonical spelling.
 *   mcp:tools:read   list tools and call the read-only ones (access class TOOL_READ)
 *   mcp:tools:write  also call tools that change or delete things; implies read
 * A request without a scope gets OAUTH_SCOPE_DEFAULT (ChatGPT re-authorizes
 * without one). A canonical scope string lists each scope once, in the order
 * above, separated by one space, and always includes read when it includes
 * write.
 * Must not touch: HTTP, SQL.
 */
#ifndef MG_OAUTH_SCOPE_H
#define MG_OAUTH_SCOPE_H

#include <stddef.h>

#define OAUTH_SCOPE_READ    "mcp:tools:read"
#define OAUTH_SCOPE_WRITE   "mcp:tools:write"
#define OAUTH_SCOPES_ALL    OAUTH_SCOPE_READ " " OAUTH_SCOPE_WRITE
#define OAUTH_SCOPE_DEFAULT OAUTH_SCOPES_ALL
#define OAUTH_SCOPE_MAX     256

/* Who is calling, once a bearer token or API key was accepted. */
struct oauth_principal {
    long long user_id;
    char username[65];
    char client_id[2049];        /* "" for an API key */
    char scope[OAUTH_SCOPE_MAX]; /* canonical */
    int api_key;                 /* 1: authenticated with a personal API key */
    char token_hash[65];         /* SHA-256 hex of the bearer token (per-token limits; the key
                                    oauth_principal_live() looks the credential up by again) */
    long long expires_at;        /* unix time the token expires, 0 when it does not (API key) or
                                    its issuer did not say */
    const char *bearer; /* auth = resource: the bearer token itself, borrowed from the request
                           (valid while it is served), for token exchange (tools/exchange.h);
                           NULL otherwise. A secret: never copied beyond the request. */
};

/* Returns 1 when p may act with scope (write implies read), else 0. p may
 * not be NULL. */
int oauth_principal_allows(const struct oauth_principal *p, const char *scope);

/* Writes the canonical form of a space-separated scope list to out (n >=
 * OAUTH_SCOPE_MAX). Returns 0; -1 when a scope is unknown or the list is
 * malformed (out is then ""). An empty list gives "". */
__attribute__((warn_unused_result)) int oauth_scope_canonical(const char *in, char *out, size_t n);

/* Returns 1 when every scope in want (canonical) is in have (canonical). */
int oauth_scope_covers(const char *have, const char *want);

/* A sentence for people: what scope allows (for the consent page). */
const char *oauth_scope_describe(const char *scope);

#endif
