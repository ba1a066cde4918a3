/*
 * mcp/discovery.h - discovery mode for large catalogs.
 *
 * Owns: when a user's visible tool set is larger than discovery_threshold
 * (clients degrade with more than a few dozen tools; one imported API can
 * bring hundreds), tools/list offers these tools instead of the full list:
 *   search_tools {query, limit?}  read-only: the user's tools matching the
 *                                 words, with their schemas, annotations and
 *                                 the runner to call each with ("call_with");
 *   call_read_tool {name, arguments}         runners, one per access class
 *   call_tool {name, arguments}              (read, write, destructive) and
 *   call_destructive_tool {name, arguments}  annotated as that class: each
 *                                 calls one of the user's tools of its own
 *                                 class by name, with the same policy, scope
 *                                 checks, validation and audit as a direct
 *                                 call, and refuses (isError, audited as
 *                                 refused) a tool of another class. So a
 *                                 client asks for confirmation before the
 *                                 same calls as when the tools are listed.
 * A runner is listed only when the caller has visible tools of its class:
 * a token without mcp:tools:write sees search_tools and call_read_tool.
 * A tool of a backend with the same name as one of these wins: they are
 * looked up only when no tool of that name exists.
 */
#ifndef MG_MCP_DISCOVERY_H
#define MG_MCP_DISCOVERY_H

#include <json-c/json.h>

#include "mcp/types.h"
#include "tools/registry.h"

#define MCP_DISCOVERY_SEARCH           "search_tools"
#define MCP_DISCOVERY_CALL_READ        "call_read_tool"
#define MCP_DISCOVERY_CALL             "call_tool"
#define MCP_DISCOVERY_CALL_DESTRUCTIVE "call_destructive_tool"

/* Given the caller's visible tools (an array of Tool objects, taken),
 * returns what tools/list should list: the same array, or, above the
 * threshold, a new array of search_tools and the runners of the access
 * classes present among them. */
struct json_object *mcp_discovery_list(const struct mcp_call *call, struct json_object *visible);

/* The name of the runner for tools of class access (static). Cannot fail. */
const char *mcp_discovery_runner(enum tool_access access);

/* Returns 1 when name is one of the discovery tools. */
int mcp_discovery_is_meta(const char *name);

/* Runs a discovery tool. Returns a CallToolResult, or NULL with err (as
 * tools/call does). */
struct json_object *mcp_discovery_call(struct mcp_call *call, const char *name,
                                       struct json_object *args, struct mcp_err *err);

#endif
