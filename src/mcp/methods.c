/*
 * mcp/methods.c - MCP method dispatch.
 */
#include "mcp/methods.h"

#include <stdio.h>
#include <string.h>

#include "mcp/version.h"
#include "store/session.h"
#include "tools/registry.h"
#include "util/json.h"
#include "util/log.h"

#include "config.h"

/* A method's failure: code and a message safe to show the client. */
struct mcp_err {
    int code;
    char message[256];
};

typedef struct json_object *(*method_fn)(struct mcp_call *call, struct json_object *params,
                                         struct mcp_err *err);

static struct json_object *fail(struct mcp_err *err, int code, const char *message)
{
    err->code = code;
    snprintf(err->message, sizeof err->message, "%s", message);
    return NULL;
}

static struct json_object *unavailable(struct mcp_call *call, struct mcp_err *err)
{
    call->unavailable = 1;
    return fail(err, JSONRPC_INTERNAL_ERROR, "service temporarily unavailable, retry shortly");
}

static const char instructions[] =
    "mcpgate connects you to the tools its operator configured for your account. "
    "Tools marked read-only only look things up; others change infrastructure, so "
    "confirm with the user before calling them.";

static struct json_object *m_initialize(struct mcp_call *call, struct json_object *params,
                                        struct mcp_err *err)
{
    const char *requested = json_get_string(params, "protocolVersion");
    if (!requested)
        return fail(err, JSONRPC_INVALID_PARAMS,
                    "initialize needs params.protocolVersion (a string)");
    struct json_object *client_info = json_get(params, "clientInfo", json_type_object);
    struct json_object *caps = json_get(params, "capabilities", json_type_object);
    const char *version = mcp_version_negotiate(requested);

    char id[MCP_SESSION_ID_LEN + 1];
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    mcp_session_id_new(id);
    mcp_session_id_hash(id, hash);
    struct store_session_new s = {
        .id_hash = hash,
        .protocol_version = version,
        .client_name = json_get_string(client_info, "name"),
        .client_version = json_get_string(client_info, "version"),
        .capabilities = caps ? json_text(caps, NULL) : NULL,
        .ttl_s = call->env->cfg->session_ttl_s,
    };
    enum store_rc rc = store_session_create(call->env->db, &s);
    if (rc != STORE_OK)
        return unavailable(call, err);
    memcpy(call->new_session_id, id, sizeof id);
    LOG_INFO("msg=\"session created\" version=%s requested_version_supported=%d", version,
             mcp_version_supported(requested));

    /* now and then, sweep long-expired sessions; failure here is harmless */
    unsigned char dice;
    crypto_random(&dice, 1);
    int purged = 0;
    if (dice < 4 && store_session_purge(call->env->db, &purged) == STORE_OK && purged)
        LOG_INFO("msg=\"expired sessions purged\" count=%d", purged);

    struct json_object *r = json_object_new_object();
    json_add(r, "protocolVersion", json_object_new_string(version));
    struct json_object *capabilities = json_object_new_object();
    struct json_object *tools = json_object_new_object();
    json_add(tools, "listChanged", json_object_new_boolean(0));
    json_add(capabilities, "tools", tools);
    json_add(r, "capabilities", capabilities);
    struct json_object *info = json_object_new_object();
    json_add(info, "name", json_object_new_string("mcpgate"));
    json_add(info, "title", json_object_new_string("mcpgate"));
    json_add(info, "version", json_object_new_string(PACKAGE_VERSION));
    json_add(r, "serverInfo", info);
    json_add(r, "instructions", json_object_new_string(instructions));
    return r;
}

static struct json_object *m_ping(struct mcp_call *call, struct json_object *params,
                                  struct mcp_err *err)
{
    (void)call;
    (void)params;
    (void)err;
    return json_object_new_object();
}

static struct json_object *m_tools_list(struct mcp_call *call, struct json_object *params,
                                        struct mcp_err *err)
{
    (void)call;
    struct json_object *cursor = NULL;
    if (params && json_object_object_get_ex(params, "cursor", &cursor))
        return fail(err, JSONRPC_INVALID_PARAMS, "invalid cursor");
    struct json_object *r = json_object_new_object();
    json_add(r, "tools", tool_list_json());
    return r;
}

static struct json_object *m_tools_call(struct mcp_call *call, struct json_object *params,
                                        struct mcp_err *err)
{
    (void)call;
    const char *name = json_get_string(params, "name");
    if (!name)
        return fail(err, JSONRPC_INVALID_PARAMS, "tools/call needs params.name (a string)");
    struct json_object *args = NULL;
    if (json_object_object_get_ex(params, "arguments", &args) &&
        !json_object_is_type(args, json_type_object))
        return fail(err, JSONRPC_INVALID_PARAMS, "params.arguments must be an object");
    const struct tool_def *tool = tool_find(name);
    if (!tool) {
        char msg[200];
        snprintf(msg, sizeof msg, "Unknown tool: %.128s", name);
        return fail(err, JSONRPC_INVALID_PARAMS, msg);
    }
    struct json_object *empty = NULL;
    if (!args)
        args = empty = json_object_new_object();
    struct json_object *r = tool->call(args);
    json_object_put(empty);
    LOG_INFO("msg=\"tool called\" tool=%s is_error=%d", tool->name,
             json_object_get_boolean(json_get(r, "isError", json_type_boolean)));
    return r;
}

static const struct {
    const char *name;
    method_fn fn;
} methods[] = {
    {"initialize", m_initialize},
    {"ping", m_ping},
    {"tools/list", m_tools_list},
    {"tools/call", m_tools_call},
};

struct json_object *mcp_dispatch(struct mcp_call *call, const struct jsonrpc_msg *msg)
{
    if (msg->kind == JSONRPC_NOTIFICATION) {
        LOG_DEBUG("msg=\"notification\" method=%.64s", msg->method);
        return NULL;
    }
    if (msg->params && !json_object_is_type(msg->params, json_type_object))
        return jsonrpc_error(msg->id, JSONRPC_INVALID_PARAMS, "params must be an object");
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (strcmp(msg->method, methods[i].name) != 0)
            continue;
        struct mcp_err err = {0};
        struct json_object *result = methods[i].fn(call, msg->params, &err);
        if (!result)
            return jsonrpc_error(msg->id, err.code, err.message);
        return jsonrpc_result(msg->id, result);
    }
    char text[200];
    snprintf(text, sizeof text, "Method not found: %.128s", msg->method);
    return jsonrpc_error(msg->id, JSONRPC_METHOD_NOT_FOUND, text);
}
