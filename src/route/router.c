/*
 * route/router.c - which handler answers which path, and the access log.
 */
#include "route/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "route/doctor.h"
#include "route/health.h"
#include "route/metrics.h"
#include "mcp/audit.h"
#include "mcp/sse.h"
#include "mcp/transport.h"
#include "oauth/oauth.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

typedef enum http_rc (*http_handler)(struct http_ctx *ctx);

/* The sink through which MCP handlers stream: HTTP status and headers once,
 * then flushed writes. */
struct sink_state {
    struct http_ctx *ctx;
    int begun;
};

static int sink_begin(void *arg, int status, const char *content_type, const char *const *headers)
{
    struct sink_state *st = arg;
    struct http_ctx *ctx = st->ctx;
    struct buf head = {0};
    int rc = buf_printf(&head, "Status: %d %s\r\nContent-Type: %s\r\nX-Request-Id: %s\r\n", status,
                        http_reason(status), content_type, ctx->req->request_id);
    for (const char *const *h = headers; rc == 0 && *h; h++)
        if (!strpbrk(*h, "\r\n"))
            rc = buf_printf(&head, "%s\r\n", *h);
    if (rc == 0)
        rc = buf_puts(&head, "\r\n");
    if (rc == 0)
        rc = ctx->out->write(ctx->out->ctx, head.data, head.len);
    if (rc == 0)
        rc = ctx->out->flush(ctx->out->ctx);
    buf_free(&head);
    st->begun = 1;
    ctx->res->status = status;
    return rc;
}

static void sink_end(void *arg)
{
    struct sink_state *st = arg;
    const struct http_out *out = st->ctx->out;
    if (out->finish)
        out->finish(out->ctx);
}

/* A detached sink (mcp/hold.h): ctx is the detached http_out. */
static int held_write(void *arg, const char *p, size_t n)
{
    const struct http_out *out = arg;
    return out->write(out->ctx, p, n) < 0 || out->flush(out->ctx) < 0 ? -1 : 0;
}

static int sink_write(void *arg, const char *p, size_t n)
{
    struct sink_state *st = arg;
    return held_write((void *)st->ctx->out, p, n);
}

static void held_end(void *arg)
{
    struct http_out *out = arg;
    out->finish(out->ctx);
    free(out);
}

static int sink_detach(void *arg, struct mcp_sink *held, int *fd)
{
    struct sink_state *st = arg;
    const struct http_out *out = st->ctx->out;
    if (!out->detach || !out->finish)
        return -1;
    struct http_out *h = xcalloc(1, sizeof *h);
    if (out->detach(out->ctx, h, fd) < 0) {
        free(h);
        return -1;
    }
    *held = (struct mcp_sink){
        .write = held_write, .end = held_end, .ctx = h, .pad_bytes = st->ctx->cfg->sse_pad_bytes};
    return 0;
}

/* The sessionId parameter of /messages?sessionId=... (base64url: no escapes). */
static const char *legacy_session_param(const char *uri, char *out, size_t n)
{
    const char *q = uri ? strchr(uri, '?') : NULL;
    for (const char *p = q; p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, "sessionId=", 10) != 0)
            continue;
        size_t len = strcspn(p + 11, "&#");
        if (len == 0 || len >= n)
            return NULL;
        memcpy(out, p + 11, len);
        out[len] = '\0';
        return out;
    }
    return NULL;
}

/* http_header() for mcp/: the Mcp-Param-* headers of x-mcp-header. */
static const char *any_header(const void *ctx, const char *name)
{
    return http_header(ctx, name);
}
static void reply_headers(const char *request_id, struct http_response *res);

/* res for the MCP answer out (ctx may be NULL when out needs no scope
 * header). */
static void fill_reply(const struct http_ctx *ctx, const struct mcp_http_out *out,
                       struct http_response *res)
{
    if (out->body)
        http_response_set_json(res, out->status, out->body);
    else
        res->status = out->status;
    int rc = 0;
    if (out->session_id[0])
        rc |= http_response_header(res, "Mcp-Session-Id", out->session_id);
    if (out->allow)
        rc |= http_response_header(res, "Allow", out->allow);
    if (out->retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", out->retry_after_s);
        rc |= http_response_header(res, "Retry-After", v);
    }
    if (out->insufficient_scope)
        rc |=
            oauth_insufficient_scope_header(ctx->cfg, ctx->connector, res, out->insufficient_scope);
    if (rc)
        LOG_ERROR("msg=\"could not add a response header\"");
}

/* Copies at most n-1 printable ASCII characters of s for a log line. */
static void log_safe(char *dst, size_t n, const char *s)
{
    size_t i = 0;
    for (; s && *s && i + 1 < n; s++)
        dst[i++] = (*s > 0x20 && *s < 0x7f && *s != '"' && *s != '\\') ? *s : '?';
    dst[i] = '\0';
}

/* One access-log line; method and path are already made safe. */
static void access_line(const char *method, const char *path, int status, size_t bytes,
                        const struct timespec *t0, int sent_rc)
{
    LOG_INFO("msg=request method=%s path=%s status=%d bytes=%zu dur_ms=%.2f%s", method, path,
             status, bytes, mg_since_ms(t0), sent_rc < 0 ? " client_gone=1" : "");
}

/* An answer whose audit row is not committed yet, detached from its
 * request: the audit writer's thread sends it right after the COMMIT (or
 * the 503 in its place when the row could not be written). */
struct audited_reply {
    struct http_out held;
    struct http_response ok;
    char request_id[sizeof((struct http_request *)0)->request_id];
    char method[17], path[129]; /* for the access-log line, made safe */
    struct timespec t0;
};

static void send_audited(void *arg, int stored)
{
    struct audited_reply *a = arg;
    if (!stored) { /* the result is withheld: 503 in its place */
        struct mcp_http_out u = {0};
        mcp_http_out_unavailable(&u);
        http_response_free(&a->ok);
        http_response_init(&a->ok);
        fill_reply(NULL, &u, &a->ok);
        reply_headers(a->request_id, &a->ok);
        mcp_http_out_free(&u);
    }
    int rc = http_response_send(&a->ok, &a->held);
    a->held.finish(a->held.ctx);
    log_set_request_id(a->request_id);
    size_t len;
    (void)http_response_body(&a->ok, &len);
    access_line(a->method, a->path, a->ok.status, len, &a->t0, rc);
    log_set_request_id(NULL);
    http_response_free(&a->ok);
    free(a);
}

/* Answers out once its audit row is committed: this thread goes on to the
 * next request while the audit writer commits the row and sends the
 * answer; when the request cannot be detached, it waits for the row. */
static enum http_rc reply_after_audit(struct http_ctx *ctx, struct mcp_http_out *out)
{
    struct mcp_audit_pending *p = out->audit;
    out->audit = NULL;
    int stored = 0, fd;
    if (!mcp_audit_pending_poll(p, &stored)) {
        const struct http_out *o = ctx->out;
        struct audited_reply *a = xcalloc(1, sizeof *a);
        if (o->detach && o->finish && o->detach(o->ctx, &a->held, &fd) == 0) {
            http_response_init(&a->ok);
            fill_reply(ctx, out, &a->ok);
            reply_headers(ctx->req->request_id, &a->ok);
            snprintf(a->request_id, sizeof a->request_id, "%s", ctx->req->request_id);
            log_safe(a->method, sizeof a->method, ctx->req->method);
            log_safe(a->path, sizeof a->path, ctx->path ? ctx->path : "");
            a->t0 = ctx->t0;
            ctx->access_logged_later = 1; /* with the status the client gets */
            /* the body as a copy: the audit writer's thread, which sends it,
             * must not release json-c objects of this one (their reference
             * counts are not atomic) */
            size_t len;
            const char *body = http_response_body(&a->ok, &len);
            http_response_set_body(&a->ok, a->ok.status, a->ok.content_type, body, len);
            mcp_http_out_free(out);
            mcp_audit_pending_then(p, send_audited, a);
            return HTTP_SENT;
        }
        free(a);
        stored = mcp_audit_pending_wait(p) == 0;
    }
    if (!stored)
        mcp_http_out_unavailable(out);
    fill_reply(ctx, out, ctx->res);
    mcp_http_out_free(out);
    return HTTP_REPLY;
}

static enum http_rc serve_mcp(struct http_ctx *ctx, enum mcp_endpoint endpoint)
{
    const struct http_request *r = ctx->req;
    struct sink_state st = {.ctx = ctx};
    struct mcp_sink sink = {.begin = sink_begin,
                            .write = sink_write,
                            .end = sink_end,
                            .detach = sink_detach,
                            .ctx = &st,
                            .pad_bytes = ctx->cfg->sse_pad_bytes};
    struct mcp_env env = {
        .cfg = ctx->cfg, .db = ctx->db, .sink = &sink, .stop_flag = ctx->stop_flag};
    env.principal = ctx->principal;
    env.connector = ctx->connector;
    struct tool_policy policy = {0};
    env.policy = &policy;
    char legacy[64];
    struct mcp_http_in in = {
        .endpoint = endpoint,
        .method = r->method,
        .accept = http_header(r, "Accept"),
        .content_type = r->content_type,
        .origin = http_header(r, "Origin"),
        .host = http_header(r, "Host"),
        .session_id = http_header(r, "Mcp-Session-Id"),
        .protocol_version = http_header(r, "MCP-Protocol-Version"),
        .last_event_id = http_header(r, "Last-Event-ID"),
        .mcp_method = http_header(r, "Mcp-Method"),
        .mcp_name = http_header(r, "Mcp-Name"),
        .legacy_session = legacy_session_param(r->uri, legacy, sizeof legacy),
        .header = any_header,
        .header_ctx = r,
        .body = r->body,
        .body_len = r->body_len,
        .body_too_large = r->body_too_large,
        .max_body_bytes = ctx->cfg->max_body_bytes,
    };
    struct mcp_http_out out;
    mcp_http_handle(&env, &in, &out);
    tool_policy_free(&policy);
    if (out.streamed || st.begun) {
        mcp_http_out_free(&out);
        return HTTP_SENT;
    }
    if (out.audit)
        return reply_after_audit(ctx, &out);
    fill_reply(ctx, &out, ctx->res);
    mcp_http_out_free(&out);
    return HTTP_REPLY;
}

static enum http_rc handle_mcp(struct http_ctx *ctx)
{
    return serve_mcp(ctx, MCP_EP_MCP);
}

static enum http_rc handle_sse(struct http_ctx *ctx)
{
    return serve_mcp(ctx, MCP_EP_SSE);
}

static enum http_rc handle_messages(struct http_ctx *ctx)
{
    return serve_mcp(ctx, MCP_EP_MESSAGES);
}

/* A connector's endpoint, /mcp/NAME (ctx->connector set by the router). */
static enum http_rc handle_connector(struct http_ctx *ctx)
{
    return serve_mcp(ctx, MCP_EP_MCP);
}

/* An oauth/ endpoint: the handler fills the response and cannot fail. */
static enum http_rc run_oauth(struct http_ctx *ctx, oauth_handler fn)
{
    struct oauth_ctx oc = {.cfg = ctx->cfg,
                           .db = ctx->db,
                           .req = ctx->req,
                           .res = ctx->res,
                           .connector = ctx->connector};
    fn(&oc);
    return HTTP_REPLY;
}

static const struct route {
    const char *path;
    http_handler handler; /* or: */
    oauth_handler oauth;
    int bearer; /* with auth = oauth, only for a valid bearer token or API key */
} routes[] = {
    {.path = "/mcp", .handler = handle_mcp, .bearer = 1},
    {.path = "/mcp/doctor", .handler = http_doctor_handle}, /* mcpgate doctor, no token */
    {.path = "/health/live", .handler = http_health_live},  /* load balancers, no token */
    {.path = "/health/ready", .handler = http_health_ready},
    {.path = "/metrics", .handler = http_metrics_handle}, /* scrape token or admin key */
    {.path = "/sse", .handler = handle_sse, .bearer = 1},
    {.path = "/messages", .handler = handle_messages, .bearer = 1},
    {.path = "/.well-known/oauth-protected-resource", .oauth = oauth_handle_resource_metadata},
    {.path = "/.well-known/oauth-protected-resource/mcp", .oauth = oauth_handle_resource_metadata},
    {.path = "/.well-known/oauth-authorization-server", .oauth = oauth_handle_as_metadata},
    {.path = "/register", .oauth = oauth_handle_register},
    {.path = "/authorize", .oauth = oauth_handle_authorize},
    {.path = "/consent", .oauth = oauth_handle_consent},
    {.path = "/token", .oauth = oauth_handle_token},
    {.path = "/revoke", .oauth = oauth_handle_revoke},
    {.path = "/introspect", .oauth = oauth_handle_introspect},
    {.path = "/login", .oauth = oauth_handle_login},
    {.path = "/login/idp", .oauth = oauth_handle_idp_start},
    {.path = "/login/callback", .oauth = oauth_handle_idp_callback},
    {.path = "/logout", .oauth = oauth_handle_logout},
    {.path = "/admin", .oauth = oauth_handle_admin},
    {.path = "/admin/users", .oauth = oauth_handle_admin_users},
    {.path = "/admin/users/state", .oauth = oauth_handle_admin_user_state},
    {.path = "/admin/users/groups", .oauth = oauth_handle_admin_user_groups},
    {.path = "/admin/audit", .oauth = oauth_handle_admin_audit},
    {.path = "/admin/keys", .oauth = oauth_handle_admin_keys},
    {.path = "/admin/keys/revoke", .oauth = oauth_handle_admin_key_revoke},
    {.path = "/admin/clients", .oauth = oauth_handle_admin_clients},
    {.path = "/admin/clients/revoke", .oauth = oauth_handle_admin_client_revoke},
    {.path = "/admin/policy", .oauth = oauth_handle_admin_policy},
    {.path = "/admin/policy/add", .oauth = oauth_handle_admin_policy_add},
    {.path = "/admin/policy/remove", .oauth = oauth_handle_admin_policy_remove},
    {.path = "/admin/backends", .oauth = oauth_handle_admin_backends},
    {.path = "/admin/apps", .oauth = oauth_handle_admin_apps},
    {.path = "/admin/apps/revoke", .oauth = oauth_handle_admin_app_revoke},
    {.path = "/account", .oauth = oauth_handle_account},
    {.path = "/account/revoke", .oauth = oauth_handle_account_revoke},
    {.path = "/account/keys", .oauth = oauth_handle_account_key_create},
    {.path = "/account/keys/revoke", .oauth = oauth_handle_account_key_revoke},
    {.path = "/account/credentials", .oauth = oauth_handle_account_cred_link},
    {.path = "/account/credentials/unlink", .oauth = oauth_handle_account_cred_unlink},
    {.path = "/account/linked/disconnect", .oauth = oauth_handle_account_linked_disconnect},
};

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

/* The routes of the connectors (util/config.h): the MCP endpoint
 * /mcp/NAME and its resource metadata, each for the connector NAME. */
static const struct route connector_mcp = {
    .path = "/mcp/", .handler = handle_connector, .bearer = 1};
static const struct route connector_prm = {.path = "/.well-known/oauth-protected-resource/mcp/",
                                           .oauth = oauth_handle_resource_metadata};

/* The connector route a request is for: "/mcp/NAME" (route, base_url's
 * path stripped), or its metadata "/.well-known/oauth-protected-resource
 * /mcp/NAME" (route, or path with base_url's path inserted after the
 * well-known prefix, RFC 9728 section 3.1). Returns the route with *c set,
 * or NULL when no configured connector is named. route may be NULL. */
static const struct route *connector_route(const struct mg_config *cfg, const char *route,
                                           const char *path, const struct mg_connector **c)
{
    static const char prm[] = "/.well-known/oauth-protected-resource";
    const struct route *r = &connector_mcp;
    const char *rest = route;
    const char *wk = route && strncmp(route, prm, sizeof prm - 1) == 0   ? route
                     : !route && strncmp(path, prm, sizeof prm - 1) == 0 ? path
                                                                         : NULL;
    if (wk) {
        rest = wk + sizeof prm - 1;
        size_t bp = strlen(cfg->base_path);
        if (wk == path && bp && strncmp(rest, cfg->base_path, bp) == 0 && rest[bp] == '/')
            rest += bp;
        else if (wk == path && bp)
            return NULL;
        r = &connector_prm;
    }
    if (!rest || strncmp(rest, "/mcp/", 5) != 0)
        return NULL;
    *c = config_connector_find(cfg, rest + 5);
    return *c ? r : NULL;
}

/* The metadata documents with base_url's path inserted after the well-
 * known prefix (RFC 8414 / RFC 9728 section 3.1), e.g. for base_url
 * https://h/gw: /.well-known/oauth-authorization-server/gw and
 * /.well-known/oauth-protected-resource/gw/mcp. Returns the route path
 * they stand for, or NULL. */
static const char *wellknown_route(const struct mg_config *cfg, const char *path)
{
    static const char as[] = "/.well-known/oauth-authorization-server";
    static const char prm[] = "/.well-known/oauth-protected-resource";
    size_t bp = strlen(cfg->base_path);
    if (bp == 0)
        return NULL;
    if (strncmp(path, as, sizeof as - 1) == 0 && strcmp(path + sizeof as - 1, cfg->base_path) == 0)
        return as;
    if (strncmp(path, prm, sizeof prm - 1) == 0 &&
        strncmp(path + sizeof prm - 1, cfg->base_path, bp) == 0) {
        const char *rest = path + sizeof prm - 1 + bp;
        if (strcmp(rest, "/mcp") == 0)
            return "/.well-known/oauth-protected-resource/mcp";
        if (*rest == '\0')
            return prm;
    }
    return NULL;
}

/* The bearer check of an MCP route. Returns 1 when the request may go on
 * (ctx->principal set); 0 when ctx->res holds the 401/503. The 503 of an
 * outage keeps its status and Retry-After but carries the JSON-RPC error an
 * MCP client reads, the same as without authentication; the 401 stays an
 * OAuth challenge (RFC 6750). */
static int bearer_ok(struct http_ctx *ctx, struct oauth_principal *p)
{
    if (ctx->cfg->auth == MG_AUTH_NONE)
        return 1;
    struct oauth_ctx oc = {.cfg = ctx->cfg,
                           .db = ctx->db,
                           .req = ctx->req,
                           .res = ctx->res,
                           .connector = ctx->connector};
    switch (oauth_bearer_check(&oc, p)) {
    case OAUTH_BEARER_OK:
        ctx->principal = p;
        return 1;
    case OAUTH_BEARER_DENIED:
        return 0;
    case OAUTH_BEARER_UNAVAIL: {
        struct json_object *o = jsonrpc_error(NULL, JSONRPC_INTERNAL_ERROR,
                                              "service temporarily unavailable, retry shortly");
        http_response_set_json(ctx->res, 503, o);
        json_object_put(o);
        return 0;
    }
    }
    return 0;
}

static void reply_headers(const char *request_id, struct http_response *res)
{
    if (http_response_header(res, "X-Request-Id", request_id) < 0 ||
        http_response_header(res, "Cache-Control", "no-store") < 0 ||
        http_response_header(res, "X-Content-Type-Options", "nosniff") < 0)
        LOG_ERROR("msg=\"could not add a response header\"");
}

static int send_reply(struct http_ctx *ctx)
{
    reply_headers(ctx->req->request_id, ctx->res);
    return http_response_send(ctx->res, ctx->out);
}

static void access_log(const struct http_ctx *ctx, const char *path, const struct timespec *t0,
                       int sent_rc)
{
    char safe_path[129];
    char method[17];
    log_safe(safe_path, sizeof safe_path, path);
    log_safe(method, sizeof method, ctx->req->method);
    size_t body_len;
    (void)http_response_body(ctx->res, &body_len);
    access_line(method, safe_path, ctx->res->status, body_len, t0, sent_rc);
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

    if (!route && path[0])
        route = wellknown_route(ctx->cfg, path);
    const struct route *found = NULL;
    for (size_t i = 0; route && i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(route, routes[i].path) == 0)
            found = &routes[i];
    if (!found && path[0])
        found = connector_route(ctx->cfg, route, path, &ctx->connector);
    struct oauth_principal principal;
    ctx->path = path;
    ctx->t0 = t0;
    ctx->access_logged_later = 0;

    int rc = 0;
    if (found && found->handler != handle_mcp && found->handler != handle_messages &&
        found->handler != handle_connector && ctx->req->body_too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "request body exceeds the limit of %zu bytes",
                 ctx->cfg->max_body_bytes);
        http_response_json_error(ctx->res, 413, "invalid_request", msg);
        rc = send_reply(ctx);
    } else if (!found) {
        http_response_json_error(ctx->res, 404, "not_found", "no such endpoint");
        rc = send_reply(ctx);
    } else if (found->bearer && !bearer_ok(ctx, &principal)) {
        rc = send_reply(ctx);
    } else if (found->oauth && ctx->cfg->auth == MG_AUTH_RESOURCE &&
               found->oauth != oauth_handle_resource_metadata) {
        /* a resource server only: tokens come from rs_issuer, not from here */
        http_response_json_error(
            ctx->res, 404, "not_found",
            "this server is a resource server only: get tokens at the authorization "
            "server its protected resource metadata name");
        rc = send_reply(ctx);
    } else if (found->oauth) {
        run_oauth(ctx, found->oauth);
        http_metrics_oauth(found->path, ctx->req->method, ctx->res->status);
        rc = send_reply(ctx);
    } else if (found->handler(ctx) == HTTP_REPLY) {
        rc = send_reply(ctx);
    }
    if (!ctx->access_logged_later)
        access_log(ctx, path, &t0, rc);
    ctx->path = NULL;
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
    const struct mg_connector *c = NULL;
    if (route && (strcmp(route, "/mcp") == 0 ||
                  connector_route(ctx->cfg, route, path, &c) == &connector_mcp)) {
        struct json_object *o = jsonrpc_error(NULL, MCP_ERROR_TRANSPORT, description);
        http_response_set_json(ctx->res, status, o);
        json_object_put(o);
    } else {
        http_response_json_error(ctx->res, status, code, description);
    }
    int rc = send_reply(ctx);
    access_log(ctx, path, &t0, rc);
    return rc;
}
