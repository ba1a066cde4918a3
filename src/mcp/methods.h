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
#include "store/db.h"
#include "util/config.h"

/* What the MCP layer needs from its caller for one HTTP request. */
struct mcp_env {
    const struct mg_config *cfg; /* read-only, shared */
    struct store_conn *db;       /* this thread's connection */
};

/* One request's dispatch state. */
struct mcp_call {
    const struct mcp_env *env;
    const char *version;                         /* the session's version; NULL at initialize */
    char new_session_id[MCP_SESSION_ID_LEN + 1]; /* set by a successful initialize */
    int unavailable;                             /* set when the store could not be reached */
};

/* Handles one request or notification (msg->kind must be one of those).
 * Returns a new JSON-RPC response object for a request, NULL for a
 * notification. Store outages set call->unavailable and answer -32603. */
struct json_object *mcp_dispatch(struct mcp_call *call, const struct jsonrpc_msg *msg);

#endif
