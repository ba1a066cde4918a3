/*
 * tools/upstream_internal.h - internal to the upstream MCP client
 * (tools/upstream*.c): one POST's transfer state and the libcurl callbacks
 * that parse the answer (JSON or an SSE stream) as it arrives. Not for
 * other modules.
 */
#ifndef MG_TOOLS_UPSTREAM_INTERNAL_H
#define MG_TOOLS_UPSTREAM_INTERNAL_H

#include <stddef.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "tools/backend.h"
#include "tools/registry.h"
#include "util/buf.h"

/* One POST and what came back. */
struct xfer {
    const struct backend *be;
    struct tool_ctx *ctx;         /* the client's call (progress, cancellation), or NULL */
    long long want_id;            /* our request's id; -1 for a notification */
    const char *progress_tok;     /* our progressToken upstream, or NULL */
    char ctype[128];              /* the response's Content-Type */
    char session_id[256];         /* the response's Mcp-Session-Id */
    size_t received;              /* body bytes so far (capped at be->max_bytes) */
    int sse;                      /* -1 undecided, 0 JSON, 1 SSE */
    struct buf body;              /* the JSON body, or the excerpt of an error body */
    struct buf line;              /* SSE: the line being read */
    struct buf data;              /* SSE: the event's data lines */
    char event[32];               /* SSE: the event's type */
    int cr;                       /* SSE: the last byte was CR */
    struct json_object *response; /* the response to want_id, once read */
    int too_large, refused, cancelled, bad_json;
    long long progress_seen; /* notifications/progress passed on */
};

/* libcurl's callbacks for one POST; arg is its struct xfer. */
curl_socket_t up_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a);
size_t up_on_header(char *p, size_t size, size_t n, void *arg);
size_t up_on_body(char *p, size_t size, size_t n, void *arg);
int up_on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow);

/* Feeds n bytes of an SSE stream to x. Returns 0, or -1 (too large). */
int up_sse_feed(struct xfer *x, const char *p, size_t n);

/* One JSON-RPC message of the answer (taken). */
void up_on_message(struct xfer *x, struct json_object *msg);

#endif
