/*
 * mcp/methods.c - MCP method dispatch.
 */
#include "mcp/methods.h"

#include <stdio.h>
#include <string.h>

#include "mcp/access.h"
#include "mcp/audit.h"
#include "mcp/call.h"
#include "mcp/call_hold.h"
#include "mcp/discovery.h"
#include "mcp/catalog.h"
#include "mcp/mrtr.h"
#include "mcp/task.h"
#include "mcp/version.h"
#include "oauth/scope.h"
#include "store/stream.h"
#include "store/policy.h"
#include "store/session.h"
#include "tools/registry.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

#include "config.h"

typedef struct json_object *(*method_fn)(struct mcp_call *call, struct json_object *params,
                                         struct mcp_err *err);

static const char instructions[] =
    "mcpgate connects you to the tools its operator configured for your account. "
    "Tools marked read-only only look things up; others change infrastructure, so "
    "confirm with the user before calling them.";

/* The server's capabilities, as initialize and server/discover state them. */
static struct json_object *server_capabilities(void)
{
    struct json_object *capabilities = json_object_new_object();
    struct json_object *tools = json_object_new_object();
    json_add(tools, "listChanged", json_object_new_boolean(1)); /* mcpgate policy changes */
    json_add(capabilities, "tools", tools);
    json_add(capabilities, "logging", json_object_new_object());
    struct json_object *ext = json_object_new_object();
    json_add(ext, MCP_TASKS_EXTENSION, json_object_new_object()); /* mcp/task.h */
    json_add(capabilities, "extensions", ext);
    mcp_catalog_capabilities(capabilities);
    return capabilities;
}

/* serverInfo: at a connector's endpoint its title is the connector's, which
 * clients show for the server. */
static struct json_object *server_info(const struct mg_connector *connector)
{
    struct json_object *info = json_object_new_object();
    json_add(info, "name", json_object_new_string("mcpgate"));
    json_add(info, "title", json_object_new_string(connector ? connector->title : "mcpgate"));
    json_add(info, "version", json_object_new_string(PACKAGE_VERSION));
    return info;
}

static struct json_object *m_initialize(struct mcp_call *call, struct json_object *params,
                                        struct mcp_err *err)
{
    const char *requested = json_get_string(params, "protocolVersion");
    if (!requested)
        return mcp_fail(err, JSONRPC_INVALID_PARAMS,
                        "initialize needs params.protocolVersion (a string)");
    struct json_object *client_info = json_get(params, "clientInfo", json_type_object);
    struct json_object *caps = json_get(params, "capabilities", json_type_object);
    const char *version = mcp_version_negotiate(requested);

    char id[MCP_SESSION_ID_LEN + 1] = "";
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    struct store_session_new s = {
        .id_hash = hash,
        .protocol_version = version,
        .client_name = json_get_string(client_info, "name"),
        .client_version = json_get_string(client_info, "version"),
        .capabilities = caps ? json_text(caps, NULL) : NULL,
        .ttl_s = call->env->cfg->session_ttl_s,
        .user_id = call->env->principal ? call->env->principal->user_id : 0,
    };
    enum store_rc rc;
    if (call->session_hash) {
        /* 2024-11-05 HTTP+SSE: the session exists since GET /sse */
        s.id_hash = call->session_hash;
        rc = store_session_initialized(call->env->db, &s);
    } else {
        mcp_session_id_new(id);
        mcp_session_id_hash(id, hash);
        /* an answer that goes out after the call rides the audit writer's
         * next COMMIT and waits for it there (transport), as a tools/call's
         * audit row does; this thread serves others meanwhile */
        rc = call->audit_later && !call->audit_pending &&
                     (call->audit_pending = mcp_session_create_pending(&s))
                 ? STORE_OK
                 : store_session_create(call->env->db, &s);
    }
    if (rc != STORE_OK)
        return mcp_unavailable(err);
    memcpy(call->new_session_id, id, sizeof id);
    LOG_INFO("msg=\"session initialized\" version=%s requested_version_supported=%d", version,
             mcp_version_supported(requested));

    /* now and then, sweep long-expired sessions; failure here is harmless */
    unsigned char dice;
    crypto_random(&dice, 1);
    int purged = 0;
    if (dice < 4 && store_session_purge(call->env->db, &purged) == STORE_OK && purged)
        LOG_INFO("msg=\"expired sessions purged\" count=%d", purged);

    struct json_object *r = json_object_new_object();
    json_add(r, "protocolVersion", json_object_new_string(version));
    json_add(r, "capabilities", server_capabilities());
    json_add(r, "serverInfo", server_info(call->env->connector));
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

/* Runs a tools/call that passed every check and audits its outcome. */
static struct json_object *run_tool(struct mcp_call *call, const struct tool_def *tool,
                                    struct json_object *args, long long t0, struct mcp_err *err)
{
    struct tool_ctx ctx;
    mcp_call_tool_ctx(call, &ctx);
    ctx.tool = tool;
    call->hold_ok = mcp_call_holdable(call);
    struct json_object *r = tool->call(&ctx, args);
    if (call->hold_id[0]) {
        /* it waits for the client's answer: held, and run again once it came */
        json_object_put(r);
        return mcp_call_hold(call, tool, args);
    }
    if (call->escalate && !call->refusal.e.code && !call->input_requests) {
        /* a task_late tool has its input: it goes on as a task */
        json_object_put(r);
        return mcp_task_start(call, tool, args, err);
    }
    if (!r) {
        mcp_audit_call(call, tool->name, args, "error", "no result", t0);
        return mcp_fail(err, JSONRPC_INTERNAL_ERROR, "the tool failed without a result");
    }
    if (call->refusal.e.code) {
        /* the client lacks a capability the tool needed, or the user must
         * visit a URL first: that is the answer */
        json_object_put(r);
        mcp_audit_call(call, tool->name, args, "refused", call->refusal.e.detail, t0);
        *err = call->refusal;
        call->refusal.data = NULL; /* err's now; e.code stays: the call was refused */
        return NULL;
    }
    int is_error = json_object_get_boolean(json_get(r, "isError", json_type_boolean));
    const char *outcome = call->cancelled        ? "cancelled"
                          : call->input_requests ? "input_required" /* mcp/mrtr.h */
                          : is_error             ? "error"
                                                 : "ok";
    LOG_INFO("msg=\"tool called\" tool=%s outcome=%s", tool->name, outcome);
    return mcp_tool_result_audited(call, tool->name, args, outcome, NULL, t0, r, err);
}

struct json_object *mcp_tool_result_audited(struct mcp_call *call, const char *tool,
                                            struct json_object *args, const char *outcome,
                                            const char *detail, long long started_ms,
                                            struct json_object *r, struct mcp_err *err)
{
    /* an answer that goes out after the call waits for its row there
     * (transport), not here: this thread serves others meanwhile */
    if (call->audit_later && !call->audit_pending && !call->streaming && !call->publish_stream &&
        !call->no_stream &&
        (call->audit_pending =
             mcp_audit_call_pending(call, tool, args, outcome, detail, started_ms)))
        return r;
    if (mcp_audit_call(call, tool, args, outcome, detail, started_ms) == 0)
        return r;
    json_object_put(r);
    LOG_WARN("msg=\"tool result withheld: its audit row could not be written\" tool=%s", tool);
    return mcp_unavailable(err);
}

static struct json_object *m_tools_call(struct mcp_call *call, struct json_object *params,
                                        struct mcp_err *err)
{
    const char *name = json_get_string(params, "name");
    if (!name)
        return mcp_fail(err, JSONRPC_INVALID_PARAMS, "tools/call needs params.name (a string)");
    struct json_object *args = NULL;
    if (json_object_object_get_ex(params, "arguments", &args) &&
        !json_object_is_type(args, json_type_object))
        return mcp_fail(err, JSONRPC_INVALID_PARAMS, "params.arguments must be an object");
    if (mcp_policy_load(call->env) < 0) /* not "not permitted": the store is down */
        return mcp_unavailable(err);
    /* every tools/call counts, whatever it names: an unknown tool, a refused
     * one or a discovery meta-tool, each of which writes an audit row */
    int retry_after = 0;
    switch (mcp_rate_check(call, &retry_after)) {
    case 0:
        break;
    case 1: {
        char msg[128];
        snprintf(msg, sizeof msg, "Rate limit exceeded: retry after %d seconds", retry_after);
        mcp_audit_call(call, name, args, "refused", "rate limited", mg_now_ms());
        return mcp_rate_limited(err, retry_after, msg);
    }
    default:
        return mcp_unavailable(err);
    }
    if (mcp_discovery_is_meta(name) && !mcp_tool_find(call->env, name))
        return mcp_discovery_call(call, name, args ? args : NULL, err);
    return mcp_tools_call_named(call, name, args, err);
}

struct json_object *mcp_tools_call_named(struct mcp_call *call, const char *name,
                                         struct json_object *args, struct mcp_err *err)
{
    long long t0 = call->hold_turn ? call->started_ms : mg_now_ms(); /* audited once, at its end */
    if (call->hold_turn) {
        /* the request that brought the call was authenticated; its next
         * turn runs only while that credential still holds */
        int ended = mcp_credential_ended(call->env);
        if (ended < 0)
            return mcp_unavailable(err);
        if (ended) {
            mcp_audit_call(call, name, args, "refused", MCP_CREDENTIAL_ENDED_DETAIL, t0);
            return mcp_fail(err, MCP_CREDENTIAL_ENDED_CODE, MCP_CREDENTIAL_ENDED_MSG);
        }
    }
    const struct tool_def *tool = mcp_tool_find(call->env, name);
    if (!tool) {
        char msg[200];
        snprintf(msg, sizeof msg, "Unknown tool: %.128s", name);
        mcp_audit_call(call, name, args, "refused", "unknown tool", t0);
        return mcp_fail(err, JSONRPC_INVALID_PARAMS, msg);
    }
    call->tool = tool;
    if (!mcp_tool_permitted(call->env, tool)) {
        char msg[200];
        snprintf(msg, sizeof msg, "Tool not permitted for your account: %.128s", tool->name);
        mcp_audit_call(call, tool->name, args, "refused", "not permitted by policy", t0);
        return mcp_fail(err, JSONRPC_INVALID_PARAMS, msg);
    }
    /* OAuth: a token with only mcp:tools:read may call TOOL_READ tools; the
     * transport turns e.http 403 into HTTP 403 whose WWW-Authenticate names
     * both scopes. */
    if (!mcp_tool_allowed(call->env, tool)) {
        mcp_audit_call(call, tool->name, args, "refused", "insufficient scope", t0);
        mcp_fail(err, JSONRPC_INVALID_REQUEST,
                 "insufficient scope: this tool needs " OAUTH_SCOPE_WRITE);
        err->e.http = 403;
        err->scope = OAUTH_SCOPES_ALL;
        return NULL;
    }
    struct json_object *empty = NULL;
    if (!args)
        args = empty = json_object_new_object();
    struct json_object *r;
    if (call->stateless && !call->in_task && tool->task_support != TOOL_TASK_FORBIDDEN &&
        !mcp_task_declared(call) && tool->task_support == TOOL_TASK_REQUIRED) {
        mcp_audit_call(call, tool->name, args, "refused", "needs the tasks extension", t0);
        r = mcp_task_required_error(err);
    } else if (call->stateless && !call->in_task && tool->task_support != TOOL_TASK_FORBIDDEN &&
               mcp_task_declared(call) && !tool->task_late) {
        r = mcp_task_start(call, tool, args, err); /* the server decides: a task */
    } else {
        r = run_tool(call, tool, args, t0, err);
    }
    json_object_put(empty);
    return r;
}

static struct json_object *m_logging_set_level(struct mcp_call *call, struct json_object *params,
                                               struct mcp_err *err)
{
    const char *level = json_get_string(params, "level");
    if (!level || mcp_log_severity(level) < 0)
        return mcp_fail(err, JSONRPC_INVALID_PARAMS,
                        "logging/setLevel needs params.level: one of debug, info, notice, warning, "
                        "error, critical, alert, emergency");
    if (!call->session_hash)
        return mcp_fail(err, JSONRPC_INVALID_PARAMS, "logging/setLevel needs a session");
    if (store_session_set_log_level(call->env->db, call->session_hash, level) != STORE_OK)
        return mcp_unavailable(err);
    return json_object_new_object();
}

/* 2026-07-28 server/discover: what a stateless client needs up front. */
static struct json_object *m_server_discover(struct mcp_call *call, struct json_object *params,
                                             struct mcp_err *err)
{
    (void)params;
    (void)err;
    struct json_object *r = json_object_new_object();
    json_add(r, "supportedVersions", mcp_versions_json());
    json_add(r, "capabilities", server_capabilities());
    json_add(r, "serverInfo", server_info(call->env->connector));
    json_add(r, "instructions", json_object_new_string(instructions));
    return r;
}

static const struct {
    const char *name;
    method_fn fn;
} methods[] = {
    {"initialize", m_initialize},
    {"ping", m_ping},
    {"tools/list", mcp_tools_list}, /* the catalog's methods: mcp/catalog.c */
    {"resources/list", mcp_resources_list},
    {"resources/templates/list", mcp_resources_templates_list},
    {"resources/read", mcp_resources_read},
    {"resources/subscribe", mcp_resources_subscribe},
    {"resources/unsubscribe", mcp_resources_unsubscribe},
    {"prompts/list", mcp_prompts_list},
    {"prompts/get", mcp_prompts_get},
    {"completion/complete", mcp_completion_complete},
    {"tools/call", m_tools_call},
    {"logging/setLevel", m_logging_set_level},
    {"server/discover", m_server_discover},
    {"tasks/get", mcp_tasks_get}, /* the tasks extension: mcp/task.c */
    {"tasks/update", mcp_tasks_update},
    {"tasks/cancel", mcp_tasks_cancel},
};

int mcp_method_known(const char *method)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(method, methods[i].name) == 0)
            return 1;
    return 0;
}

/* notifications/cancelled: tell whichever process runs the request. */
static void cancel_request(struct mcp_call *call, struct json_object *params)
{
    struct json_object *id = NULL;
    if (!call->session_hash || !json_object_object_get_ex(params, "requestId", &id) ||
        !(json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int)))
        return;
    char key[256];
    int n = snprintf(key, sizeof key, "c:%s:%s", call->session_hash, json_text(id, NULL));
    if (n < 0 || (size_t)n >= sizeof key)
        return;
    if (store_notify(call->env->db, key) != STORE_OK)
        LOG_WARN("msg=\"could not pass on a cancellation\"");
    else
        LOG_INFO("msg=\"request cancelled by the client\"");
}

/* Returns 1 when params._meta.progressToken is a string longer than
 * max_progress_token_bytes: every progress notification of the call, each
 * stored, would carry it. */
static int progress_token_too_long(const struct mcp_call *call, struct json_object *params)
{
    struct json_object *meta = json_get(params, "_meta", json_type_object);
    struct json_object *token = json_get(meta, "progressToken", json_type_string);
    return token && json_object_get_string_len(token) > call->env->cfg->max_progress_token_bytes;
}

/* Fills err with code and text and returns the JSON-RPC error response to
 * id: dispatch's own refusals. */
static struct json_object *refuse(struct json_object *id, int code, const char *text,
                                  struct mcp_err *err)
{
    mcp_fail(err, code, text);
    return jsonrpc_error(id, code, text);
}

/* The response to request id: result (taken), or else err's error (its
 * data taken; err keeps its code and message). */
static struct json_object *reply(struct json_object *id, struct json_object *result,
                                 struct mcp_err *err)
{
    if (result) {
        json_object_put(err->data);
        err->data = NULL;
        return jsonrpc_result(id, result);
    }
    struct json_object *resp = jsonrpc_error(id, err->e.code, err->e.msg);
    if (err->data)
        json_add(json_get(resp, "error", json_type_object), "data", err->data);
    err->data = NULL;
    return resp;
}

struct json_object *mcp_tools_call_turn(struct mcp_call *call, const char *name,
                                        struct json_object *args)
{
    struct mcp_err err = {0};
    struct json_object *result = mcp_tools_call_named(call, name, args, &err);
    return reply(call->request_id, result, &err);
}

struct json_object *mcp_dispatch(struct mcp_call *call, const struct jsonrpc_msg *msg,
                                 struct mcp_err *err)
{
    if (msg->kind == JSONRPC_NOTIFICATION) {
        LOG_DEBUG("msg=\"notification\" method=%.64s", msg->method);
        if (strcmp(msg->method, "notifications/cancelled") == 0)
            cancel_request(call, msg->params);
        return NULL;
    }
    if (msg->params && !json_object_is_type(msg->params, json_type_object))
        return refuse(msg->id, JSONRPC_INVALID_PARAMS, "params must be an object", err);
    if (progress_token_too_long(call, msg->params)) {
        char text[128];
        snprintf(text, sizeof text, "Invalid params: _meta.progressToken is longer than %d bytes",
                 call->env->cfg->max_progress_token_bytes);
        return refuse(msg->id, JSONRPC_INVALID_PARAMS, text, err);
    }
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (strcmp(msg->method, methods[i].name) != 0)
            continue;
        int mrtr = call->stateless && mcp_mrtr_method(msg->method);
        if (mrtr && mcp_mrtr_begin(call, msg->method, msg->params, err) < 0)
            return jsonrpc_error(msg->id, err->e.code, err->e.msg);
        struct json_object *result = methods[i].fn(call, msg->params, err);
        if (mrtr && call->input_requests && !call->refusal.e.code) {
            /* the answers missing decide the reply, whatever the run made of
             * their absence (an outage in err still makes it a 503) */
            json_object_put(err->data);
            err->data = NULL;
            if (!result)
                result = json_object_new_object();
            result = mcp_mrtr_finish(call, msg->method, msg->params, result, err);
        }
        return reply(msg->id, result, err);
    }
    char text[200];
    snprintf(text, sizeof text, "Method not found: %.128s", msg->method);
    return refuse(msg->id, JSONRPC_METHOD_NOT_FOUND, text, err);
}
