/*
 * route/router.h - which handler answers which path, and the access log.
 *
 * Owns: the route table, the mapping of the public base path onto routes,
 * and the rendering of handler results as HTTP responses.
 * route/ is the dispatcher: the one folder above mcp/, oauth/ and pages/
 * that knows all of them (with the endpoints of its own: health, metrics,
 * the doctor probe). Handlers live with their subsystem; http/ below holds
 * only the request and response primitives they share.
 */
#ifndef MG_ROUTE_ROUTER_H
#define MG_ROUTE_ROUTER_H

#include <time.h>

#include "http/request.h"
#include "http/response.h"
#include "store/db.h"
#include "util/config.h"

struct oauth_principal;

/* Everything a handler may use for one request. */
struct http_ctx {
    const struct mg_config *cfg; /* read-only, shared */
    struct store_conn *db;       /* this thread's connection */
    const struct http_request *req;
    struct http_response *res;     /* filled by the handler when it returns HTTP_REPLY */
    const struct http_out *out;    /* for handlers that stream */
    const volatile int *stop_flag; /* non-zero once the process is stopping (may be NULL) */
    const struct oauth_principal *principal; /* set by the router's bearer check (auth = oauth) */
    const struct mg_connector *connector;    /* set by the router for /mcp/NAME and its metadata */
    /* set by http_serve for its access-log line; a handler that hands its
     * answer to another thread sets access_logged_later and that thread
     * writes the line with what was sent */
    const char *path;
    struct timespec t0;
    int access_logged_later;
};

enum http_rc {
    HTTP_REPLY, /* res holds the response; the router sends it */
    HTTP_SENT,  /* the handler wrote the response itself */
};

/* Answers a request whose body (if any) has been read: routes it, sends the
 * response and writes one access-log line. Returns 0, or -1 when the
 * client went away while we wrote. */
int http_serve(struct http_ctx *ctx);

/* Sends a rejection decided before routing (e.g. 413 before the body is
 * read), shaped as the endpoint's clients expect: a JSON-RPC error on the MCP
 * endpoint, {"error","error_description"} elsewhere. Returns as http_serve(). */
int http_serve_rejected(struct http_ctx *ctx, int status, const char *code,
                        const char *description);

#endif
