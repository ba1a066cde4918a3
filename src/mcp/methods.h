/*
 * mcp/methods.h - MCP method dispatch.
 *
 * Owns: the table of methods and what each returns: initialize (version
 * negotiation, session creation), ping, tools/list, tools/call.
 * Must not touch: HTTP (the transport decides statuses), SQL (store/).
 */
#ifndef MG_MCP_METHODS_H
#define MG_MCP_METHODS_H

#include <json-c/json.h>

#include "mcp/jsonrpc.h"
#include "mcp/session.h"
#include "mcp/types.h"
#include "tools/policy.h"
#include "tools/registry.h"
#include "store/db.h"
#include "util/config.h"

/* Handles one request or notification (msg->kind must be one of those).
 * Returns a new JSON-RPC response object for a request, NULL for a
 * notification. err (zeroed by the caller) receives the failure the
 * response reports, and its e.http what the transport makes of it
 * (mcp/types.h: 503 for a store outage, 429 with retry_after_s, 403 with
 * scope); e.http 503 also stays when an input-required result replaced a
 * failed run. err->data is always NULL on return: it went into the
 * response. */
struct json_object *mcp_dispatch(struct mcp_call *call, const struct jsonrpc_msg *msg,
                                 struct mcp_err *err);

/* Calls the tool named name with args (an object or NULL) with every check
 * a tools/call gets after the rate limits (which count the tools/call
 * itself): policy, scopes, audit. Returns the CallToolResult, or NULL with
 * err. */
struct json_object *mcp_tools_call_named(struct mcp_call *call, const char *name,
                                         struct json_object *args, struct mcp_err *err);

/* A later turn of a held tools/call (mcp/call_hold.h, call->hold_turn):
 * mcp_tools_call_named() again, its outcome as the JSON-RPC response to
 * call->request_id (new). */
struct json_object *mcp_tools_call_turn(struct mcp_call *call, const char *name,
                                        struct json_object *args);

/* Writes the audit row of a call that produced the CallToolResult r
 * (outcome "ok", "error" or "cancelled"; detail may be NULL) and returns r.
 * When the row cannot be written it frees r and returns NULL with err
 * (mcp_unavailable(): the client gets 503 with Retry-After), so
 * that no call is answered with a result the audit trail lacks. */
struct json_object *mcp_tool_result_audited(struct mcp_call *call, const char *tool,
                                            struct json_object *args, const char *outcome,
                                            const char *detail, long long started_ms,
                                            struct json_object *r, struct mcp_err *err);

/* Returns 1 when msg->method exists in the method table. */
int mcp_method_known(const char *method);

#endif
