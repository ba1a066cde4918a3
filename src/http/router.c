/*
 * http/router.c - which handler answers which path, and the access log.
 */
#include "http/router.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mcp/transport.h"
#include "util/json.h"
#include "util/log.h"

typedef enum http_rc (*http_handler)(struct http_ctx *ctx);

static void set_json_body(struct http_response *res, int status, struct json_object *o)
{
    size_t len = 0;
    const char *text = json_text(o, &len);
    http_response_set_body(res, status, "application/json", text, len);
}

static enum http_rc handle_mcp(struct http_ctx *ctx)
{
    const struct http_request *r = ctx->req;
    struct mcp_env env = {.cfg = ctx->cfg, .db = ctx->db};
    struct mcp_http_in in = {
        .method = r->method,
        .accept = http_header(r, "Accept"),
        .content_type = r->content_type,
        .origin = http_header(r, "Origin"),
        .session_id = http_header(r, "Mcp-Session-Id"),
        .protocol_version = http_header(r, "MCP-Protocol-Version"),
        .body = r->body,
        .body_len = r->body_len,
        .body_too_large = r->body_too_large,
        .max_body_bytes = ctx->cfg->max_body_bytes,
    };
    struct mcp_http_out out;
    mcp_http_handle(&env, &in, &out);
    struct http_response *res = ctx->res;
    if (out.body)
        set_json_body(res, out.status, out.body);
    else
        res->status = out.status;
    int rc = 0;
    if (out.session_id[0])
        rc |= http_response_header(res, "Mcp-Session-Id", out.session_id);
    if (out.allow)
        rc |= http_response_header(res, "Allow", out.allow);
    if (out.retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", out.retry_after_s);
        rc |= http_response_header(res, "Retry-After", v);
    }
    if (rc)
        LOG_ERROR("msg=\"could not add a response header\"");
    mcp_http_out_free(&out);
    return HTTP_REPLY;
}

static const struct route {
    const char *path;
    http_handler handler;
} routes[] = {
    {.path = "/mcp", .handler = handle_mcp},
};

static void json_error_body(struct http_response *res, int status, const char *code,
                            const char *description)
{
    struct json_object *o = json_object_new_object();
    json_add(o, "error", json_object_new_string(code));
    if (description)
        json_add(o, "error_description", json_object_new_string(description));
    set_json_body(res, status, o);
    json_object_put(o);
}

/* Strips the base path ("/gw" of https://h/gw) from path. Returns the route
 * part, borrowed from path, or NULL when path is outside the base. */
static const char *route_path(const struct mg_config *cfg, const char *path)
{
    size_t n = strlen(cfg->base_path);
    if (n == 0)
        return path;
    if (strncmp(path, cfg->base_path, n) != 0 || path[n] != '/')
        return NULL;
    return path + n;
}

/* Copies at most n-1 printable ASCII characters of s for a log line. */
static void log_safe(char *dst, size_t n, const char *s)
{
    size_t i = 0;
    for (; s && *s && i + 1 < n; s++)
        dst[i++] = (*s > 0x20 && *s < 0x7f && *s != '"' && *s != '\\') ? *s : '?';
    dst[i] = '\0';
}

static double elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int send_reply(struct http_ctx *ctx)
{
    if (http_response_header(ctx->res, "X-Request-Id", ctx->req->request_id) < 0 ||
        http_response_header(ctx->res, "Cache-Control", "no-store") < 0 ||
        http_response_header(ctx->res, "X-Content-Type-Options", "nosniff") < 0)
        LOG_ERROR("msg=\"could not add a response header\"");
    return http_response_send(ctx->res, ctx->out);
}

static void access_log(const struct http_ctx *ctx, const char *path, const struct timespec *t0,
                       int sent_rc)
{
    char safe_path[129];
    char method[17];
    log_safe(safe_path, sizeof safe_path, path);
    log_safe(method, sizeof method, ctx->req->method);
    LOG_INFO("msg=request method=%s path=%s status=%d bytes=%zu dur_ms=%.2f%s", method, safe_path,
             ctx->res->status, ctx->res->body.len, elapsed_ms(t0),
             sent_rc < 0 ? " client_gone=1" : "");
}

int http_serve(struct http_ctx *ctx)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char path[1024];
    const char *route = NULL;
    if (http_request_path(ctx->req, path, sizeof path) == 0)
        route = route_path(ctx->cfg, path);
    else
        path[0] = '\0';

    const struct route *found = NULL;
    for (size_t i = 0; route && i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(route, routes[i].path) == 0)
            found = &routes[i];

    int rc = 0;
    if (found && found->handler != handle_mcp && ctx->req->body_too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "request body exceeds the limit of %zu bytes",
                 ctx->cfg->max_body_bytes);
        json_error_body(ctx->res, 413, "invalid_request", msg);
        rc = send_reply(ctx);
    } else if (!found) {
        json_error_body(ctx->res, 404, "not_found", "no such endpoint");
        rc = send_reply(ctx);
    } else if (found->handler(ctx) == HTTP_REPLY) {
        rc = send_reply(ctx);
    }
    access_log(ctx, path, &t0, rc);
    return rc;
}

int http_serve_rejected(struct http_ctx *ctx, int status, const char *code, const char *description)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char path[1024];
    if (http_request_path(ctx->req, path, sizeof path) < 0)
        path[0] = '\0';
    const char *route = route_path(ctx->cfg, path);
    if (route && strcmp(route, "/mcp") == 0) {
        struct json_object *o = jsonrpc_error(NULL, MCP_ERROR_TRANSPORT, description);
        set_json_body(ctx->res, status, o);
        json_object_put(o);
    } else {
        json_error_body(ctx->res, status, code, description);
    }
    int rc = send_reply(ctx);
    access_log(ctx, path, &t0, rc);
    return rc;
}
