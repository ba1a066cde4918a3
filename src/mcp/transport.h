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

#include "mcp/types.h"

/* Which of the MCP endpoints a request reached. */
enum mcp_endpoint {
    MCP_EP_MCP,      /* /mcp: Streamable HTTP (and the stateless 2026-07-28 protocol) */
    MCP_EP_SSE,      /* /sse: the 2024-11-05 HTTP+SSE stream */
    MCP_EP_MESSAGES, /* /messages?sessionId=: the 2024-11-05 POST endpoint */
};

struct mcp_http_in {
    enum mcp_endpoint endpoint;
    const char *method; /* HTTP method */
    const char *accept; /* header values, NULL when absent */
    const char *content_type;
    const char *origin;
    const char *host;
    const char *session_id;
    const char *protocol_version;
    const char *last_event_id;
    const char *mcp_method;     /* Mcp-Method (2026-07-28) */
    const char *mcp_name;       /* Mcp-Name (2026-07-28) */
    const char *legacy_session; /* sessionId query parameter of /messages */
    /* Any request header by name (case-insensitive), NULL when absent: the
     * Mcp-Param-* headers a tool's x-mcp-header annotations name. */
    const char *(*header)(const void *ctx, const char *name);
    const void *header_ctx;
    const char *body; /* the whole body, body_len bytes */
    size_t body_len;
    int body_too_large;    /* the body exceeded max_body_bytes (and is empty here) */
    size_t max_body_bytes; /* for the 413 message */
};

/* The answer. A method's failure shapes it through the struct mcp_err that
 * mcp_dispatch() fills (mcp/types.h): e.http 503 becomes 503 with
 * Retry-After, 429 copies retry_after_s, 403 copies scope into
 * insufficient_scope. */
struct mcp_http_out {
    int status;
    struct json_object *body;                /* owned; NULL for an empty body */
    char session_id[MCP_SESSION_ID_LEN + 1]; /* "" or the Mcp-Session-Id to send */
    const char *allow;                       /* Allow header value, or NULL */
    int retry_after_s;                       /* > 0: send Retry-After */
    int streamed;                            /* the response was written through the sink */
    const char *insufficient_scope;          /* static: HTTP 403, WWW-Authenticate names these */
    /* owned, or NULL: the answer may go out only once this row (a call's
     * audit row, or initialize's new session) is committed (mcp/audit.h:
     * mcp_audit_pending_then); when it fails, the answer is
     * mcp_http_out_unavailable()'s instead (no session id) */
    struct mcp_audit_pending *audit;
};

/* Handles one request to the MCP endpoint. Always fills out (free with
 * mcp_http_out_free()). Writes to the store only for a valid initialize or
 * DELETE. */
void mcp_http_handle(const struct mcp_env *env, const struct mcp_http_in *in,
                     struct mcp_http_out *out);

/* Frees what out holds (a pending audit row is waited for first). */
void mcp_http_out_free(struct mcp_http_out *out);

/* Makes out the answer of a request that found the store unavailable (503
 * with Retry-After). */
void mcp_http_out_unavailable(struct mcp_http_out *out);

#endif
