/*
 * mcp/listen.c - subscriptions/listen streams (2026-07-28).
 */
#include "mcp/listen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcp/hold.h"
#include "mcp/sse.h"
#include "mcp/wake.h"
#include "oauth/scope.h"
#include "tools/catalog.h"
#include "util/alloc.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

#include "config.h"

#define SUBSCRIPTION_ID "io.modelcontextprotocol/subscriptionId"

/* What one stream listens for: the group waiter its thread sleeps on and
 * one member per key. */
struct listen_state {
    struct mcp_held held;        /* first: the holder hands back &held (mcp/hold.h) */
    const struct mcp_sink *sink; /* the request's, or &held.sink once detached */
    int detached;
    long long deadline;
    long long lease; /* given back at the end of a detached stream */
    struct mcp_waiter group;
    struct mcp_waiter tools_all, tools_user;
    struct mcp_waiter *res; /* one per URI */
    int n_res;
    int tools;                  /* toolsListChanged agreed */
    struct json_object *uris;   /* owned: the resourceSubscriptions array */
    struct json_object *sub_id; /* owned: the request id */
};

static int fail(struct mcp_err *err, const char *message)
{
    return mg_error_set(&err->e, 0, JSONRPC_INVALID_PARAMS, "%.255s", message);
}

void mcp_listen_resource_key(const char *uri, char *key, size_t n)
{
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    crypto_sha256_hex(uri, strlen(uri), hash);
    snprintf(key, n, "l:res:%s", hash);
}

/* Checks the filter. Returns 0, or -1 with err. */
static int check_filter(struct json_object *f, struct mcp_err *err)
{
    if (!f)
        return fail(err, "Invalid params: subscriptions/listen needs params.notifications "
                         "(an object)");
    static const char *const flags[] = {"toolsListChanged", "promptsListChanged",
                                        "resourcesListChanged"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        struct json_object *v = NULL;
        if (json_object_object_get_ex(f, flags[i], &v) &&
            !json_object_is_type(v, json_type_boolean))
            return fail(err, "Invalid params: the notifications' flags must be booleans");
    }
    struct json_object *uris = NULL;
    if (!json_object_object_get_ex(f, "resourceSubscriptions", &uris))
        return 0;
    if (!json_object_is_type(uris, json_type_array))
        return fail(err, "Invalid params: resourceSubscriptions must be an array of URIs");
    if (json_object_array_length(uris) > MCP_LISTEN_URIS_MAX)
        return fail(err, "Invalid params: at most 100 resourceSubscriptions per stream");
    for (size_t i = 0; i < json_object_array_length(uris); i++) {
        struct json_object *u = json_object_array_get_idx(uris, i);
        if (!json_object_is_type(u, json_type_string) || !json_object_get_string_len(u) ||
            json_object_get_string_len(u) > TOOL_URI_MAX)
            return fail(err, "Invalid params: each resourceSubscriptions entry must be a URI");
    }
    return 0;
}

/* A notification of this stream: method, params (taken, may be NULL)
 * tagged with the subscription id. Returns 0, or -1 when the client is gone. */
static int notify_stream(const struct mcp_env *env, struct listen_state *ls, const char *method,
                         struct json_object *params)
{
    if (!params)
        params = json_object_new_object();
    struct json_object *meta = json_object_new_object();
    json_add(meta, SUBSCRIPTION_ID, json_object_get(ls->sub_id));
    json_add(params, "_meta", meta);
    struct json_object *n = jsonrpc_notification(method, params);
    int rc = mcp_sse_event(ls->sink, NULL, NULL, json_text(n, NULL));
    json_object_put(n);
    (void)env;
    return rc;
}

static struct json_object *agreed_filter(struct listen_state *ls)
{
    struct json_object *f = json_object_new_object();
    if (ls->tools)
        json_add(f, "toolsListChanged", json_object_new_boolean(1));
    if (ls->n_res)
        json_add(f, "resourceSubscriptions", json_object_get(ls->uris));
    return f;
}

/* Sends what the members that fired announce. Returns 0 or -1 (client gone). */
static int deliver(const struct mcp_env *env, struct listen_state *ls)
{
    int tools = mcp_wake_take(&ls->tools_all);
    tools |= mcp_wake_take(&ls->tools_user);
    if (ls->tools && tools && notify_stream(env, ls, "notifications/tools/list_changed", NULL) < 0)
        return -1;
    for (int i = 0; i < ls->n_res; i++) {
        if (!mcp_wake_take(&ls->res[i]))
            continue;
        struct json_object *p = json_object_new_object();
        json_add(p, "uri", json_object_get(json_object_array_get_idx(ls->uris, i)));
        if (notify_stream(env, ls, "notifications/resources/updated", p) < 0)
            return -1;
    }
    return 0;
}

/* Writes the request's result, which ends the subscription gracefully. */
static void close_subscription(const struct mcp_env *env, struct listen_state *ls)
{
    struct json_object *meta = json_object_new_object();
    json_add(meta, SUBSCRIPTION_ID, json_object_get(ls->sub_id));
    struct json_object *info = json_object_new_object();
    json_add(info, "name", json_object_new_string("mcpgate"));
    json_add(info, "version", json_object_new_string(PACKAGE_VERSION));
    json_add(meta, "io.modelcontextprotocol/serverInfo", info);
    struct json_object *r = json_object_new_object();
    json_add(r, "resultType", json_object_new_string("complete"));
    json_add(r, "_meta", meta);
    struct json_object *resp = jsonrpc_result(ls->sub_id, r);
    (void)env;
    if (mcp_sse_event(ls->sink, NULL, NULL, json_text(resp, NULL)) < 0)
        LOG_DEBUG("msg=\"listen stream: the client left before its end\"");
    json_object_put(resp);
}

/* Waits, then delivers what came. Returns 1 when the stream was handed to
 * the holder, 0 when it is over. */
static int follow(const struct mcp_env *env, struct listen_state *ls)
{
    for (;;) {
        store_conn_release(env->db); /* hold no connection while nothing happens */
        long long left = ls->deadline - mg_now_ms();
        if (left <= 0 || (env->stop_flag && *env->stop_flag)) {
            close_subscription(env, ls);
            return 0;
        }
        if (!ls->detached && mcp_hold_detach(&ls->held, ls->sink) == 0) {
            ls->detached = 1;
            ls->sink = &ls->held.sink;
        }
        int parked = ls->detached
                         ? (ls->held.end_ms = ls->deadline, mcp_hold_park(&ls->held, &ls->group))
                         : -1;
        if (parked == 0)
            return 1;
        int wait_ms = env->cfg->sse_heartbeat_s * 1000;
        if (wait_ms > left)
            wait_ms = (int)left;
        if (parked == 1 || mcp_wake_wait(&ls->group, wait_ms)) {
            mcp_wake_take(&ls->group);
            if (deliver(env, ls) < 0)
                return 0;
        } else if (mg_now_ms() < ls->deadline &&
                   ls->sink->write(ls->sink->ctx, ": ping\n\n", 8) < 0) {
            return 0;
        }
    }
}

/* The stream is over: its waiters and what it owns go; a detached one
 * ends its response and gives its lease back here. */
static void listen_end(const struct mcp_env *env, struct listen_state *ls)
{
    for (int i = 0; i < ls->n_res; i++)
        mcp_wake_unregister(&ls->res[i]);
    free(ls->res);
    if (ls->tools) {
        mcp_wake_unregister(&ls->tools_user);
        mcp_wake_unregister(&ls->tools_all);
    }
    mcp_wake_unregister(&ls->group);
    LOG_INFO("msg=\"listen stream ended\"");
    if (ls->detached) {
        store_conn_release(env->db);
        mcp_stream_lease_release(env, ls->lease);
        ls->held.sink.end(ls->held.sink.ctx);
    }
    json_object_put(ls->uris);
    json_object_put(ls->sub_id);
    free(ls);
}

/* The holder handed the stream back (mcp/hold.h). */
static void listen_resume(struct mcp_held *h, const struct mcp_env *env)
{
    struct listen_state *ls = (struct listen_state *)h;
    mcp_hold_unhook(&ls->group);
    if (!(h->why & MCP_HOLD_GONE)) {
        mcp_wake_take(&ls->group);
        if (deliver(env, ls) == 0 && follow(env, ls))
            return;
    }
    listen_end(env, ls);
}

int mcp_listen_serve(const struct mcp_env *env, struct json_object *id, struct json_object *params,
                     long long *lease, struct mcp_err *err)
{
    struct json_object *f = json_get(params, "notifications", json_type_object);
    if (check_filter(f, err) < 0)
        return -1;
    struct listen_state *ls = xcalloc(1, sizeof *ls);
    ls->held.resume = listen_resume;
    ls->held.fd = -1;
    ls->sink = env->sink;
    ls->deadline = mg_now_ms() + (long long)env->cfg->sse_max_s * 1000;
    ls->sub_id = json_object_get(id);
    ls->tools = json_object_get_boolean(json_get(f, "toolsListChanged", json_type_boolean));
    ls->uris = json_object_get(json_get(f, "resourceSubscriptions", json_type_array));
    ls->n_res = ls->uris ? (int)json_object_array_length(ls->uris) : 0;
    /* the waiters first: nothing that happens after the acknowledgement is lost */
    mcp_wake_register(&ls->group, "");
    char key[MCP_WAKE_KEY_MAX];
    if (ls->tools) {
        mcp_wake_register_in(&ls->tools_all, "l:tools:*", &ls->group);
        snprintf(key, sizeof key, "l:tools:%lld", env->principal ? env->principal->user_id : -1LL);
        mcp_wake_register_in(&ls->tools_user, key, &ls->group);
    }
    ls->res = ls->n_res ? xcalloc((size_t)ls->n_res, sizeof *ls->res) : NULL;
    for (int i = 0; i < ls->n_res; i++) {
        mcp_listen_resource_key(json_object_get_string(json_object_array_get_idx(ls->uris, i)), key,
                                sizeof key);
        mcp_wake_register_in(&ls->res[i], key, &ls->group);
    }
    LOG_INFO("msg=\"listen stream opened\" tools=%d resources=%d", ls->tools, ls->n_res);
    if (mcp_sse_begin(env, env->sink, NULL) == 0) {
        struct json_object *p = json_object_new_object();
        json_add(p, "notifications", agreed_filter(ls));
        if (notify_stream(env, ls, "notifications/subscriptions/acknowledged", p) == 0) {
            ls->lease = *lease;
            if (follow(env, ls)) {
                *lease = 0;
                return 0;
            }
            if (ls->detached)
                *lease = 0;
        }
    }
    listen_end(env, ls);
    return 0;
}
