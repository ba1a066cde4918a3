/*
 * mcp/transport.c - the Streamable HTTP transport of /mcp.
 */
#include "mcp/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mcp/version.h"
#include "store/session.h"
#include "util/json.h"
#include "util/log.h"

#define ALLOW_METHODS "GET, POST, DELETE"

static void reject(struct mcp_http_out *out, int status, int code, const char *message)
{
    out->status = status;
    json_object_put(out->body);
    out->body = jsonrpc_error(NULL, code, message);
}

static void unavailable(struct mcp_http_out *out)
{
    reject(out, 503, JSONRPC_INTERNAL_ERROR, "service temporarily unavailable, retry shortly");
    out->retry_after_s = 1;
}

/* Returns 1 when the q parameter in params (";q=0.5;x=y", len bytes) is 0. */
static int quality_zero(const char *params, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++) {
        if (params[i] != ';')
            continue;
        size_t j = i + 1;
        while (j < len && (params[j] == ' ' || params[j] == '\t'))
            j++;
        if (j + 2 < len + 1 && strncasecmp(params + j, "q=", 2) == 0) {
            char q[8] = {0};
            size_t k = 0;
            for (j += 2; j < len && k < sizeof q - 1 && params[j] != ';'; j++)
                q[k++] = params[j];
            return strtod(q, NULL) <= 0.0;
        }
    }
    return 0;
}

/* Returns 1 when the Accept list admits type ("application/json"): by
 * itself, by "application/" "*" or by "*" "/" "*", with a non-zero q. */
static int accepts(const char *accept, const char *type)
{
    size_t major = strcspn(type, "/");
    const char *p = accept;
    while (*p) {
        p += strspn(p, " \t,");
        size_t elem = strcspn(p, ",");
        size_t range = strcspn(p, ",;");
        size_t end = range;
        while (end && (p[end - 1] == ' ' || p[end - 1] == '\t'))
            end--;
        int match =
            (end == strlen(type) && strncasecmp(p, type, end) == 0) ||
            (end == 3 && strncmp(p, "*/*", 3) == 0) ||
            (end == major + 2 && strncasecmp(p, type, major + 1) == 0 && p[major + 1] == '*');
        if (match && !quality_zero(p + range, elem - range))
            return 1;
        p += elem;
    }
    return 0;
}

static int is_json_type(const char *ct)
{
    if (!ct)
        return 0;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return n == 16 && strncasecmp(ct, "application/json", 16) == 0;
}

/* Checks Mcp-Session-Id and loads the session. Returns 0, or -1 with out
 * filled with the rejection. */
static int load_session(const struct mcp_env *env, const struct mcp_http_in *in,
                        struct mcp_http_out *out, struct store_session *s)
{
    if (!in->session_id) {
        reject(out, 400, MCP_ERROR_TRANSPORT, "Bad Request: Mcp-Session-Id header is required");
        return -1;
    }
    if (!mcp_session_id_valid(in->session_id)) {
        reject(out, 400, MCP_ERROR_TRANSPORT, "Bad Request: malformed Mcp-Session-Id header");
        return -1;
    }
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    mcp_session_id_hash(in->session_id, hash);
    switch (store_session_find(env->db, hash, env->cfg->session_ttl_s, s)) {
    case STORE_OK:
        return 0;
    case STORE_NOT_FOUND:
        reject(out, 404, MCP_ERROR_SESSION_UNKNOWN, "Session not found: initialize a new session");
        return -1;
    case STORE_UNAVAILABLE:
    case STORE_ERROR:
        unavailable(out);
        return -1;
    }
    return -1;
}

static int check_protocol_header(const struct mcp_http_in *in, struct mcp_http_out *out)
{
    if (!in->protocol_version || mcp_version_supported(in->protocol_version))
        return 0;
    char list[128];
    char msg[256];
    mcp_version_list(list, sizeof list);
    snprintf(msg, sizeof msg, "Bad Request: unsupported MCP-Protocol-Version %.32s (supported: %s)",
             in->protocol_version, list);
    reject(out, 400, MCP_ERROR_TRANSPORT, msg);
    return -1;
}

static void handle_delete(const struct mcp_env *env, const struct mcp_http_in *in,
                          struct mcp_http_out *out)
{
    struct store_session s;
    if (load_session(env, in, out, &s) < 0)
        return;
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    mcp_session_id_hash(in->session_id, hash);
    switch (store_session_delete(env->db, hash)) {
    case STORE_OK:
        out->status = 204;
        LOG_INFO("msg=\"session deleted\"");
        return;
    case STORE_NOT_FOUND:
        reject(out, 404, MCP_ERROR_SESSION_UNKNOWN, "Session not found");
        return;
    case STORE_UNAVAILABLE:
    case STORE_ERROR:
        unavailable(out);
        return;
    }
}

/* Answers one message of a session; returns the response or NULL. */
static struct json_object *session_message(const struct mcp_env *env, const char *version,
                                           const struct jsonrpc_msg *msg, int *unavail)
{
    if (msg->kind == JSONRPC_RESPONSE)
        return NULL; /* no server-to-client requests are outstanding yet */
    if (msg->kind == JSONRPC_INVALID)
        return jsonrpc_error(msg->id, JSONRPC_INVALID_REQUEST, msg->why);
    if (strcmp(msg->method, "initialize") == 0) {
        if (msg->kind == JSONRPC_NOTIFICATION)
            return NULL;
        return jsonrpc_error(msg->id, JSONRPC_INVALID_REQUEST,
                             "initialize must be sent alone, without a session");
    }
    struct mcp_call call = {.env = env, .version = version};
    struct json_object *r = mcp_dispatch(&call, msg);
    if (call.unavailable)
        *unavail = 1;
    return r;
}

static void handle_batch(const struct mcp_env *env, const struct mcp_http_in *in,
                         struct json_object *arr, struct mcp_http_out *out)
{
    if (!in->session_id) {
        reject(out, 400, JSONRPC_INVALID_REQUEST,
               "batch requests need a session of protocol version 2025-03-26");
        return;
    }
    struct store_session s;
    if (load_session(env, in, out, &s) < 0 || check_protocol_header(in, out) < 0)
        return;
    if (!mcp_version_allows_batch(s.protocol_version)) {
        char msg[128];
        snprintf(msg, sizeof msg, "batch requests are not allowed in protocol version %s",
                 s.protocol_version);
        reject(out, 400, JSONRPC_INVALID_REQUEST, msg);
        return;
    }
    size_t n = json_object_array_length(arr);
    if (n == 0) {
        reject(out, 400, JSONRPC_INVALID_REQUEST, "empty batch");
        return;
    }
    struct json_object *replies = json_object_new_array();
    int unavail = 0;
    for (size_t i = 0; i < n && !unavail; i++) {
        struct jsonrpc_msg msg;
        jsonrpc_classify(json_object_array_get_idx(arr, i), &msg);
        struct json_object *r = session_message(env, s.protocol_version, &msg, &unavail);
        if (r && json_object_array_add(replies, r) != 0)
            json_object_put(r);
    }
    if (unavail) {
        json_object_put(replies);
        unavailable(out);
    } else if (json_object_array_length(replies) == 0) {
        json_object_put(replies);
        out->status = 202;
    } else {
        out->status = 200;
        out->body = replies;
    }
}

static void handle_initialize(const struct mcp_env *env, const struct jsonrpc_msg *msg,
                              struct mcp_http_out *out)
{
    struct mcp_call call = {.env = env};
    struct json_object *r = mcp_dispatch(&call, msg);
    if (call.unavailable) {
        json_object_put(r);
        unavailable(out);
        return;
    }
    out->status = 200;
    out->body = r;
    memcpy(out->session_id, call.new_session_id, sizeof out->session_id);
}

static void handle_message(const struct mcp_env *env, const struct mcp_http_in *in,
                           struct json_object *obj, struct mcp_http_out *out)
{
    struct jsonrpc_msg msg;
    jsonrpc_classify(obj, &msg);
    if (msg.kind == JSONRPC_INVALID) {
        out->status = 400;
        out->body = jsonrpc_error(msg.id, JSONRPC_INVALID_REQUEST, msg.why);
        return;
    }
    if (msg.kind == JSONRPC_REQUEST && strcmp(msg.method, "initialize") == 0) {
        handle_initialize(env, &msg, out);
        return;
    }
    struct store_session s;
    if (load_session(env, in, out, &s) < 0 || check_protocol_header(in, out) < 0)
        return;
    int unavail = 0;
    struct json_object *r = session_message(env, s.protocol_version, &msg, &unavail);
    if (unavail) {
        json_object_put(r);
        unavailable(out);
    } else if (!r) {
        out->status = 202;
    } else {
        out->status = 200;
        out->body = r;
    }
}

static void handle_post(const struct mcp_env *env, const struct mcp_http_in *in,
                        struct mcp_http_out *out)
{
    if (in->accept && !accepts(in->accept, "application/json")) {
        reject(out, 406, MCP_ERROR_TRANSPORT,
               "Not Acceptable: the client must accept application/json");
        return;
    }
    if (!is_json_type(in->content_type)) {
        reject(out, 415, MCP_ERROR_TRANSPORT,
               "Unsupported Media Type: Content-Type must be application/json");
        return;
    }
    if (in->body_too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "Content Too Large: the request body exceeds %zu bytes",
                 in->max_body_bytes);
        reject(out, 413, MCP_ERROR_TRANSPORT, msg);
        return;
    }
    struct json_object *doc = NULL;
    const char *why = NULL;
    if (json_parse_strict(in->body, in->body_len, &doc, &why) < 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "Parse error: %s", why);
        reject(out, 400, JSONRPC_PARSE_ERROR, msg);
        return;
    }
    if (json_object_is_type(doc, json_type_array))
        handle_batch(env, in, doc, out);
    else if (json_object_is_type(doc, json_type_object))
        handle_message(env, in, doc, out);
    else
        reject(out, 400, JSONRPC_INVALID_REQUEST,
               "Invalid Request: a JSON-RPC message must be an object");
    json_object_put(doc);
}

void mcp_http_handle(const struct mcp_env *env, const struct mcp_http_in *in,
                     struct mcp_http_out *out)
{
    memset(out, 0, sizeof *out);
    int is_post = strcmp(in->method, "POST") == 0;
    int is_delete = strcmp(in->method, "DELETE") == 0;
    if (!is_post && !is_delete && strcmp(in->method, "GET") != 0) {
        reject(out, 405, MCP_ERROR_TRANSPORT, "Method Not Allowed");
        out->allow = ALLOW_METHODS;
        return;
    }
    if (in->origin && !config_origin_allowed(env->cfg, in->origin)) {
        reject(out, 403, MCP_ERROR_TRANSPORT, "Forbidden: Origin not allowed");
        return;
    }
    if (is_post)
        handle_post(env, in, out);
    else if (is_delete)
        handle_delete(env, in, out);
    else {
        /* The server-to-client stream on GET comes with SSE support. */
        reject(out, 405, MCP_ERROR_TRANSPORT, "Method Not Allowed: this server has no GET stream");
        out->allow = ALLOW_METHODS;
    }
}

void mcp_http_out_free(struct mcp_http_out *out)
{
    json_object_put(out->body);
    out->body = NULL;
}
