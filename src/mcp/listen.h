/*
 * mcp/listen.h - subscriptions/listen (2026-07-28): the notification
 * stream of a stateless client.
 *
 * A stateless client has no session and no GET stream. It POSTs
 *   {"method":"subscriptions/listen","params":{"_meta":{...},
 *    "notifications":{"toolsListChanged":true,
 *                     "resourceSubscriptions":["uri", ...], ...}}}
 * and the response is an SSE stream: first
 * notifications/subscriptions/acknowledged with the filter the server
 * agreed to, then only the notifications the filter asked for, each with
 * _meta["io.modelcontextprotocol/subscriptionId"] = the request's id. At
 * the end of the stream's bounded life (sse_max_s) the request's result
 * closes it and the client listens again; there is nothing to resume.
 *
 * Changes reach the stream as NOTIFY keys, from whichever process or
 * `mcpgate` command made them (sql/011_stateless.sql, mcp/catalog.c):
 *   l:tools:<user id>, l:tools:*   the tool list of one user, of everyone
 *   l:res:<sha256 hex of the URI>  a resource changed
 * The stream holds no database connection while it waits. When the
 * process's LISTEN connection was lost, notifications may have been
 * missed, and the stream sends every kind it agreed to once: a list that
 * "may have changed" is re-read, never missed.
 *
 * Must not touch: SQL (store/), the HTTP response's status line (mcp_sse_begin).
 */
#ifndef MG_MCP_LISTEN_H
#define MG_MCP_LISTEN_H

#include "mcp/types.h"

#define MCP_LISTEN_URIS_MAX 100 /* resourceSubscriptions per stream */

/* The NOTIFY key that a change of the resource uri sends, into key. */
void mcp_listen_resource_key(const char *uri, char *key, size_t n);

/* Serves subscriptions/listen request id (borrowed) with params: streams
 * until its life ends, the client leaves or the process stops, then
 * returns 0 (the response is over). While it waits, the stream is handed
 * to the holder (mcp/hold.h) when one runs: then this returns 0 at once
 * and the stream goes on there, with its lease (*lease, from
 * mcp_stream_lease_take; set to 0: it is given back at the stream's end).
 * Returns -1 with err, and writes nothing, when params are invalid
 * (-32602). */
int mcp_listen_serve(const struct mcp_env *env, struct json_object *id, struct json_object *params,
                     long long *lease, struct mcp_err *err);

#endif
