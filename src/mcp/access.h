/*
 * mcp/access.h - who may see and call which tool: the caller's tool policy
 * (mcpgate policy, loaded from the store on first use) and the OAuth scopes
 * of their token.
 *
 * Must not touch: HTTP (the transport turns a missing scope into 403),
 * SQL (store/policy.h).
 */
#ifndef MG_MCP_ACCESS_H
#define MG_MCP_ACCESS_H

#include "mcp/jsonrpc.h"
#include "mcp/types.h"
#include "tools/registry.h"

/* Loads the caller's tool policy (mcpgate policy) into env->policy unless
 * done. Returns 0, or -1 when it could not be read: the method should then
 * answer "unavailable" rather than list or refuse tools by it. */
int mcp_policy_load(const struct mcp_env *env);

/* Returns 1 when the caller's tool policy lets them see and call tool:
 * always without authentication. Loads the policy on first use; if it
 * cannot be loaded, nothing is permitted (mcp_policy_load says so first).
 * A tool outside the endpoint's connector is never permitted. */
int mcp_tool_permitted(const struct mcp_env *env, const struct tool_def *tool);

/* The tool called name as the endpoint serves it: tool_find_db(), or NULL
 * when there is none or it is outside env's connector (to the client, a
 * tool of another connector does not exist). */
const struct tool_def *mcp_tool_find(const struct mcp_env *env, const char *name);

/* Returns 1 when env's caller may see and call tool: always with auth = none
 * (no principal); with OAuth, TOOL_READ tools need mcp:tools:read and the
 * others mcp:tools:write. */
int mcp_tool_allowed(const struct mcp_env *env, const struct tool_def *tool);

/* mcp_tool_allowed for every tool whose access is access: for a list,
 * which decides it once per class. */
int mcp_access_allowed(const struct mcp_env *env, enum tool_access access);

/* The scopes msg needs and env's caller lacks (static, for a 403
 * insufficient_scope naming them all), or NULL when it may go ahead: a
 * tools/call of a tool the caller may not use. Lets a transport that must
 * answer before it dispatches (2024-11-05 /messages) refuse up front. */
const char *mcp_scope_missing(const struct mcp_env *env, const struct jsonrpc_msg *msg);

/* What a call that outlived its request answers when its credential no
 * longer holds (mcp_credential_ended() returned 1): the JSON-RPC error
 * the transport gives a request it cannot authenticate (MCP_ERROR_TRANSPORT,
 * as 401 bodies on /mcp), and the detail of its audit row, outcome
 * "refused". */
#define MCP_CREDENTIAL_ENDED_CODE MCP_ERROR_TRANSPORT
#define MCP_CREDENTIAL_ENDED_MSG                                                                   \
    "Unauthorized: the credential this call was made with was revoked or has expired"
#define MCP_CREDENTIAL_ENDED_DETAIL "credential revoked or expired"

/* For a call that outlived the request that brought it (a held call's
 * next turn, a task's next round): checks again the credential env's
 * caller was accepted with (oauth/live.h). Returns 0 while it holds
 * (always without authentication), 1 when it was revoked or expired or
 * its user was deleted or disabled (logged), -1 when the store could not
 * tell. */
int mcp_credential_ended(const struct mcp_env *env);

#endif
