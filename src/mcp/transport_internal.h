/*
 * mcp/transport_internal.h - internal to the /mcp transport
 * (mcp/transport*.c): what the stateless protocol (2026-07-28,
 * mcp/transport_modern.c) shares with the rest. Not for other modules.
 */
#ifndef MG_MCP_TRANSPORT_INTERNAL_H
#define MG_MCP_TRANSPORT_INTERNAL_H

#include <json-c/json.h>

#include "mcp/transport.h"

#define MODERN_VERSION "2026-07-28"
#define META_VERSION   "io.modelcontextprotocol/protocolVersion"
#define META_CAPS      "io.modelcontextprotocol/clientCapabilities"

/* Answers status with a JSON-RPC error (code, message) and no id. */
void tr_reject(struct mcp_http_out *out, int status, int code, const char *message);

/* Answers 503 with Retry-After: the store could not be reached. */
void tr_unavailable(struct mcp_http_out *out);

/* Takes the lease a held stream needs (mcp_stream_lease_take). Returns 0
 * with *lease, or -1 with out holding 429 (over the caller's cap) or 503. */
int tr_stream_lease(const struct mcp_env *env, struct mcp_http_out *out, long long *lease);

/* The body's per-request protocol version (_meta), or NULL. */
const char *tr_meta_version(struct json_object *obj);

/* Handles one request of the stateless protocol (obj: its body). */
void tr_handle_modern(const struct mcp_env *env, const struct mcp_http_in *in,
                      struct json_object *obj, struct mcp_http_out *out);

#endif
