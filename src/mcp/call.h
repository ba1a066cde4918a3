/*
 * mcp/call.h - a running request's messages to the client.
 *
 * Owns: the switch of a response from JSON to an SSE stream at its first
 * notification; storing every event before it is written (so a client that
 * lost the stream resumes it elsewhere); server-to-client requests and the
 * wait for their answer through PostgreSQL; cancellation; logging levels.
 * struct mcp_call is declared in mcp/types.h.
 */
#ifndef MG_MCP_CALL_H
#define MG_MCP_CALL_H

#include "mcp/types.h"

struct jsonrpc_msg;
struct store_conn;
struct tool_ctx;

/* Builds the tool context of a call (mcp/call.c). */
void mcp_call_tool_ctx(struct mcp_call *call, struct tool_ctx *ctx);

/* Prepares call for msg (request id, progress token) and registers its
 * cancellation key; mcp_call_finish() undoes it. */
void mcp_call_begin(struct mcp_call *call, const struct jsonrpc_msg *msg);
void mcp_call_finish(struct mcp_call *call);

/* Delivers the call's final response. When the call is streaming it is
 * stored and written as the stream's last event, the response ends, and 1
 * is returned (the caller sends nothing more); otherwise 0 and the caller
 * sends resp as JSON. Takes resp in the first case only. */
int mcp_call_respond(struct mcp_call *call, struct json_object *resp);

/* Keeps the answer to a held call's request under key in *answers (made
 * when NULL) for its later turns (mcp/call_hold.h): result (borrowed), or
 * NULL when the request failed with why, which the tool is told again. */
void mcp_call_remember(struct json_object **answers, const char *key, struct json_object *result,
                       const char *why);

/* Sets err to code and message (copied; shown to the client), HTTP status
 * 0. Returns NULL, for "return mcp_fail(err, ...)". */
struct json_object *mcp_fail(struct mcp_err *err, int code, const char *message);

/* The store could not be reached: sets err to -32603 with HTTP status 503
 * (the client gets 503 with Retry-After). Returns NULL. */
struct json_object *mcp_unavailable(struct mcp_err *err);

/* A rate limit refused the call: sets err to MCP_ERROR_RATE_LIMITED with
 * message, HTTP status 429 and retry_after_s. Returns NULL. */
struct json_object *mcp_rate_limited(struct mcp_err *err, int retry_after_s, const char *message);

/* A stateless call's tool made a request needing client capability cap
 * ("sampling", "elicitation", "roots") that the client did not declare:
 * sets call->refusal to MissingRequiredClientCapability naming cap in
 * data.requiredCapabilities (the last one asked for wins), the answer of
 * the tools/call whatever the tool returns. Cannot fail. */
void mcp_call_missing_capability(struct mcp_call *call, const char *cap);

/* RFC 5424 severity of an MCP logging level (0 = emergency .. 7 = debug),
 * or -1 for an unknown name. */
int mcp_log_severity(const char *level);

/* Publishes a notification to a session's long-lived stream (its GET
 * stream, or its /sse stream for the 2024-11-05 transport). Takes msg.
 * Returns 0, or -1 when it could not be stored. */
int mcp_session_notify(struct store_conn *db, const char *session_hash, int legacy,
                       struct json_object *msg);

#endif
