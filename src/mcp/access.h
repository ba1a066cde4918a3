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

/* The scopes msg needs and env's caller lacks (static, for a 403
 * insufficient_scope naming them all), or NULL when it may go ahead: a
 * tools/call of a tool the caller may not use. Lets a transport that must
 * answer before it dispatches (2024-11-05 /messages) refuse up front. */
const char *mcp_scope_missing(const struct mcp_env *env, const struct jsonrpc_msg *msg);

#endif
