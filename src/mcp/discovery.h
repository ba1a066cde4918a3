/*
 * mcp/discovery.h - discovery mode for large catalogs.
 *
 * Owns: when a user's visible tool set is larger than discovery_threshold
 * (clients degrade with more than a few dozen tools; one imported API can
 * bring hundreds), tools/list offers two tools instead of the full list:
 *   search_tools {query, limit?}  read-only: the user's tools matching the
 *                                 words, with their schemas and annotations;
 *   call_tool {name, arguments}   calls one of them by name, with the same
 *                                 policy, scope checks, validation and audit
 *                                 as a direct call.
 * A tool of a backend with the same name as one of these wins: they are
 * looked up only when no tool of that name exists.
 */
#ifndef MG_MCP_DISCOVERY_H
#define MG_MCP_DISCOVERY_H

#include <json-c/json.h>

#include "mcp/methods.h"

#define MCP_DISCOVERY_SEARCH "search_tools"
#define MCP_DISCOVERY_CALL   "call_tool"

/* Given the caller's visible tools (an array of Tool objects, taken),
 * returns what tools/list should list: the same array, or, above the
 * threshold, a new array of the two discovery tools. */
struct json_object *mcp_discovery_list(const struct mcp_call *call, struct json_object *visible);

/* Returns 1 when name is one of the discovery tools. */
int mcp_discovery_is_meta(const char *name);

/* Runs a discovery tool. Returns a CallToolResult, or NULL with err (as
 * tools/call does). */
struct json_object *mcp_discovery_call(struct mcp_call *call, const char *name,
                                       struct json_object *args, struct mcp_err *err);

#endif
