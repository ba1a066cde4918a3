/*
 * mcp/transport.h - the Streamable HTTP transport of /mcp.
 *
 * Owns: the transport rules of specification 2025-11-25
 * (basic/transports.mdx): which HTTP method, Accept, Content-Type, Origin,
 * Mcp-Session-Id and MCP-Protocol-Version are acceptable, which status each
 * fault gets, 202 for notifications and responses, batches for 2025-03-26.
 * It sees HTTP only through the plain structs below; http/ maps real
 * requests onto them and renders the answer.
 */
#ifndef MG_MCP_TRANSPORT_H
#define MG_MCP_TRANSPORT_H

#include <stddef.h>

#include "mcp/methods.h"

struct mcp_http_in {
    const char *method; /* HTTP method */
    const char *accept; /* header values, NULL when absent */
    const char *content_type;
    const char *origin;
    const char *session_id;
    const char *protocol_version;
    const char *body; /* the whole body, body_len bytes */
    size_t body_len;
    int body_too_large;    /* the body exceeded max_body_bytes (and is empty here) */
    size_t max_body_bytes; /* for the 413 message */
};

struct mcp_http_out {
    int status;
    struct json_object *body;                /* owned; NULL for an empty body */
    char session_id[MCP_SESSION_ID_LEN + 1]; /* "" or the Mcp-Session-Id to send */
    const char *allow;                       /* Allow header value, or NULL */
    int retry_after_s;                       /* > 0: send Retry-After */
};

/* Handles one request to the MCP endpoint. Always fills out (free with
 * mcp_http_out_free()). Writes to the store only for a valid initialize or
 * DELETE. */
void mcp_http_handle(const struct mcp_env *env, const struct mcp_http_in *in,
                     struct mcp_http_out *out);

void mcp_http_out_free(struct mcp_http_out *out);

#endif
