/*
 * mcp/jsonrpc.h - JSON-RPC 2.0 messages as MCP uses them.
 *
 * Owns: classifying a parsed JSON value as request, notification, response
 * or invalid; building result and error objects; the error codes.
 * Grammar (JSON-RPC 2.0 §4-5, narrowed by MCP: ids are strings or integers,
 * never null; params is structured, an object for every MCP method):
 *   request      = {"jsonrpc":"2.0", "id":ID, "method":STRING [, "params":OBJECT|ARRAY]}
 *   notification = {"jsonrpc":"2.0", "method":STRING [, "params":OBJECT|ARRAY]}
 *   response     = {"jsonrpc":"2.0", "id":ID, "result":ANY} | {..., "error":{code,message[,data]}}
 */
#ifndef MG_MCP_JSONRPC_H
#define MG_MCP_JSONRPC_H

#include <json-c/json.h>

#define JSONRPC_PARSE_ERROR           (-32700)
#define JSONRPC_INVALID_REQUEST       (-32600)
#define JSONRPC_METHOD_NOT_FOUND      (-32601)
#define JSONRPC_INVALID_PARAMS        (-32602)
#define JSONRPC_INTERNAL_ERROR        (-32603)
#define MCP_ERROR_TRANSPORT           (-32000) /* HTTP-level rejection (SDK convention) */
#define MCP_ERROR_SESSION_UNKNOWN     (-32001) /* session not found (SDK convention) */
#define MCP_ERROR_RATE_LIMITED        (-32005) /* a rate limit was exceeded (implementation range) */
#define MCP_ERROR_HEADER_MISMATCH     (-32020) /* 2026-07-28: headers disagree with the body */
#define MCP_ERROR_MISSING_CAPABILITY  (-32021) /* 2026-07-28: client capability missing */
#define MCP_ERROR_UNSUPPORTED_VERSION (-32022) /* 2026-07-28: protocol version unsupported */
#define MCP_ERROR_URL_ELICITATION     (-32042) /* 2025-11-25: the user must visit a URL first */

enum jsonrpc_kind {
    JSONRPC_REQUEST,
    JSONRPC_NOTIFICATION,
    JSONRPC_RESPONSE,
    JSONRPC_INVALID,
};

struct jsonrpc_msg {
    enum jsonrpc_kind kind;
    const char *method;         /* requests and notifications */
    struct json_object *id;     /* borrowed; NULL for notifications and unusable ids */
    struct json_object *params; /* borrowed; NULL when absent */
    const char *why;            /* static reason when kind == JSONRPC_INVALID */
};

/* Classifies msg (borrowed). Never fails: malformed input yields
 * JSONRPC_INVALID with why set, and id set when the id itself was valid. */
void jsonrpc_classify(struct json_object *msg, struct jsonrpc_msg *out);

/* Returns a new response {"jsonrpc","id","result"}; takes result, copies
 * a reference to id. */
struct json_object *jsonrpc_result(struct json_object *id, struct json_object *result);

/* Returns a new error response; id may be NULL (rendered as null). */
struct json_object *jsonrpc_error(struct json_object *id, int code, const char *message);

/* Returns a new notification {"jsonrpc","method","params"}; takes params. */
struct json_object *jsonrpc_notification(const char *method, struct json_object *params);

#endif
