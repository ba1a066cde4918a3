/*
 * mcp/call.h - a running request's messages to the client.
 *
 * Owns: the switch of a response from JSON to an SSE stream at its first
 * notification; storing every event before it is written (so a client that
 * lost the stream resumes it elsewhere); server-to-client requests and the
 * wait for their answer through PostgreSQL; cancellation; logging levels.
 * Declarations live in mcp/methods.h (struct mcp_call); this header adds
 * what the transports need.
 */
#ifndef MG_MCP_CALL_H
#define MG_MCP_CALL_H

#include "mcp/methods.h"

/* RFC 5424 severity of an MCP logging level (0 = emergency .. 7 = debug),
 * or -1 for an unknown name. */
int mcp_log_severity(const char *level);

/* Publishes a notification to a session's long-lived stream (its GET
 * stream, or its /sse stream for the 2024-11-05 transport). Takes msg.
 * Returns 0, or -1 when it could not be stored. */
int mcp_session_notify(struct store_conn *db, const char *session_hash, int legacy,
                       struct json_object *msg);

#endif
