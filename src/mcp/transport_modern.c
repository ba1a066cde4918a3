/*
 * mcp/transport_modern.c - the stateless protocol of /mcp (2026-07-28):
 * every request carries its version and the client's capabilities in
 * _meta and mirrors its method and parameters in headers; no session,
 * messages written, never stored; results that may be cached say so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mcp/access.h"
#include "mcp/call.h"
#include "mcp/listen.h"
#include "mcp/methods.h"
#include "mcp/mrtr.h"
#include "mcp/sse.h"
#include "mcp/transport.h"
#include "mcp/transport_internal.h"
#include "mcp/version.h"
#include "util/json.h"
#include "util/log.h"

#include "config.h"

/* The body's per-request protocol version, or NULL. */
const char *tr_meta_version(struct json_object *obj)
{
    struct json_object *params = json_get(obj, "params", json_type_object);
    return json_get_string(json_get(params, "_meta", json_type_object), META_VERSION);
}

/* Decodes an Mcp-Name style header value ("=?base64?...?=") into out.
 * Returns 0, or -1 when the encoding is broken. */
static int header_value(const char *v, char *out, size_t cap)
{
    size_t n = strlen(v);
    if (n >= 11 && strncmp(v, "=?base64?", 9) == 0 && strcmp(v + n - 2, "?=") == 0) {
        long len = crypto_b64_decode(v + 9, n - 11, (unsigned char *)out, cap - 1);
        if (len < 0 || memchr(out, '\0', (size_t)len))
            return -1;
        out[len] = '\0';
        return 0;
    }
    if (n >= cap)
        return -1;
    memcpy(out, v, n + 1);
    return 0;
}

static void modern_reject(struct mcp_http_out *out, int status, struct json_object *id, int code,
                          const char *message)
{
    json_object_put(out->body);
    out->status = status;
    out->body = jsonrpc_error(id, code, message);
}

/* Checks Mcp-Method and Mcp-Name against the body (2026-07-28 Server
 * Validation). Returns 0, or -1 with out filled (-32020 HeaderMismatch). */
static int check_request_headers(const struct mcp_http_in *in, const struct jsonrpc_msg *msg,
                                 struct mcp_http_out *out)
{
    char value[1024];
    if (!in->mcp_method || header_value(in->mcp_method, value, sizeof value) < 0 ||
        strcmp(value, msg->method) != 0) {
        modern_reject(out, 400, msg->id, MCP_ERROR_HEADER_MISMATCH,
                      in->mcp_method ? "Header mismatch: Mcp-Method does not match the body"
                                     : "Header mismatch: Mcp-Method header is required");
        return -1;
    }
    const char *field = NULL;
    if (strcmp(msg->method, "tools/call") == 0 || strcmp(msg->method, "prompts/get") == 0)
        field = "name";
    else if (strcmp(msg->method, "resources/read") == 0)
        field = "uri";
    else if (strcmp(msg->method, "tasks/get") == 0 || strcmp(msg->method, "tasks/update") == 0 ||
             strcmp(msg->method, "tasks/cancel") == 0)
        field = "taskId"; /* SEP-2663 */
    if (!field)
        return 0;
    const char *body_value = json_get_string(msg->params, field);
    if (!in->mcp_name || !body_value || header_value(in->mcp_name, value, sizeof value) < 0 ||
        strcmp(value, body_value) != 0) {
        modern_reject(out, 400, msg->id, MCP_ERROR_HEADER_MISMATCH,
                      in->mcp_name ? "Header mismatch: Mcp-Name does not match the body"
                                   : "Header mismatch: Mcp-Name header is required");
        return -1;
    }
    return 0;
}

/* The text a header must carry for the argument v (SEP-2243): a string
 * as it is, an integer in decimal, a boolean as true or false. Returns 0,
 * or -1 for a type a header cannot carry. */
static int param_text(struct json_object *v, char *out, size_t cap)
{
    switch (json_object_get_type(v)) {
    case json_type_string:
        snprintf(out, cap, "%s", json_object_get_string(v));
        return strlen(json_object_get_string(v)) < cap ? 0 : -1;
    case json_type_int:
        snprintf(out, cap, "%lld", (long long)json_object_get_int64(v));
        return 0;
    case json_type_boolean:
        snprintf(out, cap, "%s", json_object_get_boolean(v) ? "true" : "false");
        return 0;
    case json_type_null:
    case json_type_double:
    case json_type_object:
    case json_type_array:
        break;
    }
    return -1;
}

/* Checks the Mcp-Param-<Name> headers of a tools/call against its
 * arguments, for each property of the tool's inputSchema annotated
 * "x-mcp-header": "<Name>" (SEP-2243): a present argument needs its
 * header, with the same value (literal, or "=?base64?...?=" with strict
 * base64); an absent or null one must come without. Returns 0, or -1 with
 * out filled (400, -32020 HeaderMismatch). */
static int check_param_headers(const struct mcp_env *env, const struct mcp_http_in *in,
                               const struct jsonrpc_msg *msg, struct mcp_http_out *out)
{
    if (strcmp(msg->method, "tools/call") != 0 || !in->header)
        return 0;
    const char *name = json_get_string(msg->params, "name");
    const struct tool_def *tool = name ? mcp_tool_find(env, name) : NULL;
    if (!tool || !tool->input_schema || !strstr(tool->input_schema, "x-mcp-header"))
        return 0;
    struct json_object *schema = json_tokener_parse(tool->input_schema);
    struct json_object *props = json_get(schema, "properties", json_type_object);
    struct json_object *args = json_get(msg->params, "arguments", json_type_object);
    const char *problem = NULL;
    char why[200];
    json_object_object_foreach(props, prop, def)
    {
        const char *h = json_get_string(def, "x-mcp-header");
        if (!h || strlen(h) > 64)
            continue;
        char hname[80], got[1024], want[1024];
        snprintf(hname, sizeof hname, "Mcp-Param-%s", h);
        const char *raw = in->header(in->header_ctx, hname);
        struct json_object *v = NULL;
        json_object_object_get_ex(args, prop, &v);
        int has = v && !json_object_is_type(v, json_type_null);
        if (!has && !raw)
            continue;
        if (!raw)
            problem = "is required: the argument it mirrors is in the body";
        else if (!has)
            problem = "is sent for an argument the body does not have";
        else if (header_value(raw, got, sizeof got) < 0)
            problem = "is not valid: broken =?base64?...?= encoding";
        else if (param_text(v, want, sizeof want) < 0 || strcmp(got, want) != 0)
            problem = "does not match the argument in the body";
        if (problem) {
            snprintf(why, sizeof why, "Header mismatch: %.80s %s", hname, problem);
            break;
        }
    }
    json_object_put(schema);
    if (!problem)
        return 0;
    modern_reject(out, 400, msg->id, MCP_ERROR_HEADER_MISMATCH, why);
    return -1;
}

static void unsupported_version(struct mcp_http_out *out, struct json_object *id,
                                const char *requested)
{
    struct json_object *err =
        jsonrpc_error(id, MCP_ERROR_UNSUPPORTED_VERSION, "Unsupported protocol version");
    struct json_object *data = json_object_new_object();
    json_add(data, "supported", mcp_versions_json());
    json_add(data, "requested", json_object_new_string(requested));
    json_add(json_get(err, "error", json_type_object), "data", data);
    json_object_put(out->body);
    out->status = 400;
    out->body = err;
}

/* Returns 1 for the methods whose results are cacheable (2026-07-28
 * CacheableResult: lists, reads and DiscoverResult). */
static int cacheable(const char *method)
{
    static const char *const methods[] = {
        "tools/list",     "resources/list", "resources/templates/list",
        "resources/read", "prompts/list",   "server/discover"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(method, methods[i]) == 0)
            return 1;
    return 0;
}

/* Marks a stateless result as complete and names the server (2026-07-28);
 * lists and reads say how long they may be cached, and by whom: what a
 * user may see depends on their policy and scopes, so only by them, and
 * policy changes take effect at once, so not at all (ttlMs 0). */
static void finish_modern_result(struct json_object *resp, const char *method)
{
    struct json_object *result = json_get(resp, "result", json_type_object);
    if (!result)
        return;
    if (!json_get(result, "resultType", json_type_string)) /* "input_required" stays */
        json_add(result, "resultType", json_object_new_string("complete"));
    if (cacheable(method)) {
        json_add(result, "ttlMs", json_object_new_int(0));
        json_add(result, "cacheScope", json_object_new_string("private"));
    }
    struct json_object *meta = json_get(result, "_meta", json_type_object);
    if (!meta) {
        meta = json_object_new_object();
        json_add(result, "_meta", meta);
    }
    struct json_object *info = json_object_new_object();
    json_add(info, "name", json_object_new_string("mcpgate"));
    json_add(info, "version", json_object_new_string(PACKAGE_VERSION));
    json_add(meta, "io.modelcontextprotocol/serverInfo", info);
}

/* Returns 1 for the methods 2026-07-28 removed: a stateless request for
 * one is answered as for any unknown method (404, -32601), although the
 * handshake versions still serve them. */
static int removed_method(const char *method)
{
    static const char *const removed[] = {"initialize", "ping", "logging/setLevel",
                                          "resources/subscribe", "resources/unsubscribe"};
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++)
        if (strcmp(method, removed[i]) == 0)
            return 1;
    return 0;
}

/* The HTTP status of a stateless JSON response: 400 for the errors the
 * revision ties to it (-32021 MissingRequiredClientCapability), else 200. */
static int modern_error_status(struct json_object *resp)
{
    struct json_object *err = json_get(resp, "error", json_type_object);
    struct json_object *code = json_get(err, "code", json_type_int);
    return code && json_object_get_int(code) == MCP_ERROR_MISSING_CAPABILITY ? 400 : 200;
}

void tr_handle_modern(const struct mcp_env *env, const struct mcp_http_in *in,
                      struct json_object *obj, struct mcp_http_out *out)
{
    if (!json_object_is_type(obj, json_type_object)) {
        tr_reject(out, 400, JSONRPC_INVALID_REQUEST, "Invalid Request: 2026-07-28 has no batches");
        return;
    }
    struct jsonrpc_msg msg;
    jsonrpc_classify(obj, &msg);
    if (msg.kind == JSONRPC_INVALID) {
        modern_reject(out, 400, msg.id, JSONRPC_INVALID_REQUEST, msg.why);
        return;
    }
    const char *body_version = tr_meta_version(obj);
    if (!in->protocol_version) {
        modern_reject(out, 400, msg.id, MCP_ERROR_HEADER_MISMATCH,
                      "Header mismatch: MCP-Protocol-Version header is required");
        return;
    }
    if (body_version && strcmp(body_version, in->protocol_version) != 0) {
        modern_reject(out, 400, msg.id, MCP_ERROR_HEADER_MISMATCH,
                      "Header mismatch: MCP-Protocol-Version does not match the body's _meta");
        return;
    }
    const char *version = body_version ? body_version : in->protocol_version;
    if (strcmp(version, MODERN_VERSION) != 0) {
        unsupported_version(out, msg.id, version);
        return;
    }
    if (msg.kind == JSONRPC_NOTIFICATION) {
        out->status = 202;
        return;
    }
    if (msg.kind == JSONRPC_RESPONSE) {
        modern_reject(out, 400, NULL, JSONRPC_INVALID_REQUEST,
                      "Invalid Request: clients send no responses in 2026-07-28");
        return;
    }
    if (check_request_headers(in, &msg, out) < 0 || check_param_headers(env, in, &msg, out) < 0)
        return;
    int listen = strcmp(msg.method, "subscriptions/listen") == 0;
    if (removed_method(msg.method) || (!listen && !mcp_method_known(msg.method))) {
        char text[200];
        snprintf(text, sizeof text, "Method not found: %.128s", msg.method);
        modern_reject(out, 404, msg.id, JSONRPC_METHOD_NOT_FOUND, text);
        return;
    }
    struct json_object *meta = json_get(msg.params, "_meta", json_type_object);
    struct json_object *caps = json_get(meta, META_CAPS, json_type_object);
    if (!meta || !body_version || !caps) {
        modern_reject(out, 400, msg.id, JSONRPC_INVALID_PARAMS,
                      !meta           ? "Invalid params: params._meta is required"
                      : !body_version ? "Invalid params: _meta[\"" META_VERSION "\"] is required"
                                      : "Invalid params: _meta[\"" META_CAPS "\"] is required");
        return;
    }
    if (listen) {
        /* a listen stream is held like a GET stream: it counts against the
         * caller's streams */
        long long lease = 0;
        if (tr_stream_lease(env, out, &lease) < 0)
            return;
        struct mcp_err err = {0};
        if (mcp_listen_serve(env, msg.id, msg.params, &lease, &err) < 0)
            modern_reject(out, 200, msg.id, err.e.code, err.e.msg);
        else
            out->streamed = 1;
        mcp_stream_lease_release(env, lease);
        return;
    }
    struct mcp_call call = {.env = env, .version = MODERN_VERSION, .stateless = 1};
    call.client_caps = json_object_get(caps);
    const char *level = json_get_string(meta, "io.modelcontextprotocol/logLevel");
    if (level && mcp_log_severity(level) >= 0)
        snprintf(call.log_level, sizeof call.log_level, "%s", level);
    mcp_call_begin(&call, &msg);
    struct mcp_err err = {0};
    struct json_object *r = mcp_dispatch(&call, &msg, &err);
    finish_modern_result(r, msg.method);
    if (err.e.http == 503 && !call.streaming) {
        json_object_put(r);
        tr_unavailable(out);
    } else if (mcp_call_respond(&call, r)) {
        out->streamed = 1;
    } else {
        out->insufficient_scope = err.e.http == 403 ? err.scope : NULL; /* oauth: 403 */
        out->retry_after_s = err.e.http == 429 ? err.retry_after_s : 0; /* a rate limit */
        out->status = out->insufficient_scope ? 403
                      : out->retry_after_s    ? 429
                                              : modern_error_status(r);
        out->body = r;
    }
    mcp_call_finish(&call);
}
