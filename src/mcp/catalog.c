/*
 * mcp/catalog.c - the MCP methods over the catalog, list cursors and
 * notifications/resources/updated.
 */
#include "mcp/catalog.h"
#include "mcp/access.h"
#include "mcp/discovery.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/call.h"
#include "mcp/listen.h"
#include "mcp/wake.h"
#include "store/stream.h"
#include "store/subscription.h"
#include "tools/catalog.h"
#include "tools/registry.h"
#include "util/alloc.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/log.h"

#define CURSOR_BODY_LEN 6 /* version, list, offset */
#define CURSOR_RAW_LEN  (CURSOR_BODY_LEN + CRYPTO_SHA256_LEN)

/* The cursor key, read from the store once per process: it never changes
 * once created, and most lists fit one page and never need it. */
static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char key_cache[STORE_SECRET_LEN];
static int key_cached;

void mcp_cursor_encode(const unsigned char key[STORE_SECRET_LEN], enum mcp_list list,
                       unsigned offset, char out[MCP_CURSOR_LEN + 1])
{
    unsigned char raw[CURSOR_RAW_LEN];
    raw[0] = MCP_CURSOR_VERSION;
    raw[1] = (unsigned char)list;
    raw[2] = (unsigned char)(offset >> 24);
    raw[3] = (unsigned char)(offset >> 16);
    raw[4] = (unsigned char)(offset >> 8);
    raw[5] = (unsigned char)offset;
    crypto_hmac_sha256(key, STORE_SECRET_LEN, raw, CURSOR_BODY_LEN, raw + CURSOR_BODY_LEN);
    crypto_b64url_encode(raw, sizeof raw, out);
}

int mcp_cursor_decode(const unsigned char key[STORE_SECRET_LEN], enum mcp_list list,
                      const char *cursor, unsigned *offset)
{
    unsigned char raw[CURSOR_RAW_LEN + 3];
    unsigned char mac[CRYPTO_SHA256_LEN];
    if (strlen(cursor) != MCP_CURSOR_LEN ||
        crypto_b64url_decode(cursor, MCP_CURSOR_LEN, raw) != CURSOR_RAW_LEN)
        return -1;
    crypto_hmac_sha256(key, STORE_SECRET_LEN, raw, CURSOR_BODY_LEN, mac);
    if (!crypto_equal(mac, raw + CURSOR_BODY_LEN, sizeof mac))
        return -1;
    if (raw[0] != MCP_CURSOR_VERSION || raw[1] != (unsigned char)list)
        return -1;
    *offset = (unsigned)raw[2] << 24 | (unsigned)raw[3] << 16 | (unsigned)raw[4] << 8 | raw[5];
    return 0;
}

/* Copies the cursor key into key. Returns 0, or -1 when the store is away. */
static int cursor_key(struct mcp_call *call, unsigned char key[STORE_SECRET_LEN])
{
    pthread_mutex_lock(&key_lock);
    int have = key_cached;
    if (have)
        memcpy(key, key_cache, STORE_SECRET_LEN);
    pthread_mutex_unlock(&key_lock);
    if (have)
        return 0;
    if (store_secret_get(call->env->db, "cursor", key) != STORE_OK)
        return -1;
    pthread_mutex_lock(&key_lock);
    memcpy(key_cache, key, STORE_SECRET_LEN);
    key_cached = 1;
    pthread_mutex_unlock(&key_lock);
    return 0;
}

/* Sets *items to a new array of up to size entries of a list from
 * position first on; returns the position the next page starts at, or 0
 * at the end. */
typedef unsigned (*page_fill)(struct mcp_call *call, void *list, unsigned first, unsigned size,
                              struct json_object **items);

/* page_fill over a JSON array (the whole list, built). */
static unsigned fill_from_array(struct mcp_call *call, void *list, unsigned first, unsigned size,
                                struct json_object **items)
{
    (void)call;
    struct json_object *all = list;
    size_t n = json_object_array_length(all);
    *items = json_object_new_array();
    if (first >= n)
        return 0;
    size_t end = n - first > size ? first + size : n;
    for (size_t i = first; i < end; i++)
        if (json_object_array_add(*items, json_object_get(json_object_array_get_idx(all, i))) != 0)
            abort();
    return end < n ? (unsigned)end : 0;
}

/* page_fill over the static tools the caller may use, in registry order:
 * positions are registry indexes, so a page costs its own size (plus the
 * tools skipped as not visible), whatever the length of the catalog. The
 * page is the entries' text made at start-up (tool_static_page): no
 * object per tool. */
static unsigned fill_visible_static(struct mcp_call *call, void *unused, unsigned first,
                                    unsigned size, struct json_object **items)
{
    (void)unused;
    int n = tool_static_count(), i = (int)first;
    int *idx = xmalloc((size_t)(size ? size : 1) * sizeof *idx);
    unsigned taken = 0, next = 0;
    /* mcp_tool_allowed by access class: the token's scopes, read once */
    int may_read = mcp_access_allowed(call->env, TOOL_READ);
    int may_write = mcp_access_allowed(call->env, TOOL_WRITE);
    for (; i < n; i++) {
        const struct tool_def *d = tool_static_at(i);
        if (!(d->access == TOOL_READ ? may_read : may_write) || !mcp_tool_permitted(call->env, d))
            continue;
        if (taken == size) {
            next = (unsigned)i; /* another visible tool: the next page starts there */
            break;
        }
        idx[taken++] = i;
    }
    *items = tool_static_page(idx, (int)taken);
    free(idx);
    return next;
}

/* The last cursor this thread signed: the next page of a list is most
 * often the same one (every client's first page of the same list). */
static _Thread_local struct {
    unsigned char key[STORE_SECRET_LEN];
    enum mcp_list list;
    unsigned offset;
    char text[MCP_CURSOR_LEN + 1]; /* "" until the first */
} last_cursor;

/* mcp_cursor_encode, remembering the last answer of this thread. */
static void cursor_encode_cached(const unsigned char key[STORE_SECRET_LEN], enum mcp_list list,
                                 unsigned offset, char out[MCP_CURSOR_LEN + 1])
{
    if (!last_cursor.text[0] || last_cursor.list != list || last_cursor.offset != offset ||
        !crypto_equal(last_cursor.key, key, STORE_SECRET_LEN)) {
        mcp_cursor_encode(key, list, offset, last_cursor.text);
        memcpy(last_cursor.key, key, STORE_SECRET_LEN);
        last_cursor.list = list;
        last_cursor.offset = offset;
    }
    memcpy(out, last_cursor.text, MCP_CURSOR_LEN + 1);
}

/*
 * Answers one page of a list: all (taken) is the whole list, member the
 * result's array member. A present cursor must be a string this server
 * signed for this list (null counts as absent); a cursor past the end
 * (the list shrank) gives an empty last page.
 */
static struct json_object *page_with(struct mcp_call *call, struct json_object *params,
                                     enum mcp_list list, const char *member, page_fill fill,
                                     void *source, struct mcp_err *err)
{
    unsigned char key[STORE_SECRET_LEN];
    unsigned offset = 0;
    struct json_object *cursor = NULL;
    struct json_object *result = NULL;
    if (json_object_object_get_ex(params, "cursor", &cursor) && cursor) {
        if (!json_object_is_type(cursor, json_type_string)) {
            mcp_fail(err, JSONRPC_INVALID_PARAMS, "invalid cursor: params.cursor must be a string");
            goto out;
        }
        if (cursor_key(call, key) < 0) {
            mcp_unavailable(err);
            goto out;
        }
        if (mcp_cursor_decode(key, list, json_object_get_string(cursor), &offset) < 0) {
            mcp_fail(err, JSONRPC_INVALID_PARAMS,
                     "invalid cursor: pass back a nextCursor of this list unchanged");
            goto out;
        }
    }
    struct json_object *items = NULL;
    unsigned next = fill(call, source, offset, (unsigned)call->env->cfg->page_size, &items);
    result = json_object_new_object();
    json_add(result, member, items);
    if (next) {
        if (cursor_key(call, key) < 0) {
            json_object_put(result);
            result = mcp_unavailable(err);
            goto out;
        }
        char text[MCP_CURSOR_LEN + 1];
        cursor_encode_cached(key, list, next, text);
        json_add(result, "nextCursor", json_object_new_string(text));
    }
out:
    explicit_bzero(key, sizeof key);
    return result;
}

static struct json_object *page(struct mcp_call *call, struct json_object *params,
                                enum mcp_list list, const char *member, struct json_object *all,
                                struct mcp_err *err)
{
    struct json_object *result = page_with(call, params, list, member, fill_from_array, all, err);
    json_object_put(all);
    return result;
}

void mcp_catalog_capabilities(struct json_object *capabilities)
{
    /* The catalog is fixed when the process starts, so its lists never
     * change while a session lives: listChanged is false. */
    struct json_object *resources = json_object_new_object();
    json_add(resources, "subscribe", json_object_new_boolean(1));
    json_add(resources, "listChanged", json_object_new_boolean(0));
    json_add(capabilities, "resources", resources);
    struct json_object *prompts = json_object_new_object();
    json_add(prompts, "listChanged", json_object_new_boolean(0));
    json_add(capabilities, "prompts", prompts);
    json_add(capabilities, "completions", json_object_new_object());
}

/* The tools the caller may use (mcp_tool_allowed): a token without
 * mcp:tools:write does not see the tools it could not call. Returns a new
 * array. */
struct json_object *mcp_visible_tools(const struct mcp_call *call)
{
    struct json_object *all = tool_list_json_db(call->env->db);
    if (!call->env->principal && !call->env->connector)
        return all;
    struct json_object *some = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(all); i++) {
        struct json_object *t = json_object_array_get_idx(all, i);
        const char *name = json_get_string(t, "name");
        const struct tool_def *d = name ? tool_find(name) : NULL;
        if (d && mcp_tool_allowed(call->env, d) && mcp_tool_permitted(call->env, d) &&
            json_object_array_add(some, json_object_get(t)) != 0)
            abort();
    }
    json_object_put(all);
    return some;
}

/* Whether the caller may use more than limit static tools. */
static int mcp_visible_over(const struct mcp_call *call, int limit)
{
    int seen = 0;
    for (int i = 0; i < tool_static_count() && seen <= limit; i++) {
        const struct tool_def *d = tool_static_at(i);
        seen += mcp_tool_allowed(call->env, d) && mcp_tool_permitted(call->env, d);
    }
    return seen > limit;
}

struct json_object *mcp_tools_list(struct mcp_call *call, struct json_object *params,
                                   struct mcp_err *err)
{
    if (mcp_policy_load(call->env) < 0)
        return mcp_unavailable(err); /* not an empty list: the store is down */
    /* Without dynamic sources, and unless discovery mode may apply, page
     * through the registry instead of building the whole list. */
    int threshold = call->env->cfg->discovery_threshold;
    if (tool_source_count() == 0 &&
        (threshold <= 0 || tool_static_count() <= threshold || !mcp_visible_over(call, threshold)))
        return page_with(call, params, MCP_LIST_TOOLS, "tools", fill_visible_static, NULL, err);
    return page(call, params, MCP_LIST_TOOLS, "tools",
                mcp_discovery_list(call, mcp_visible_tools(call)), err);
}

struct json_object *mcp_resources_list(struct mcp_call *call, struct json_object *params,
                                       struct mcp_err *err)
{
    return page(call, params, MCP_LIST_RESOURCES, "resources", tool_resource_list_json(), err);
}

struct json_object *mcp_resources_templates_list(struct mcp_call *call, struct json_object *params,
                                                 struct mcp_err *err)
{
    return page(call, params, MCP_LIST_TEMPLATES, "resourceTemplates", tool_template_list_json(),
                err);
}

struct json_object *mcp_prompts_list(struct mcp_call *call, struct json_object *params,
                                     struct mcp_err *err)
{
    return page(call, params, MCP_LIST_PROMPTS, "prompts", tool_prompt_list_json(), err);
}

/* The error for a URI that names no resource: -32002 up to 2025-11-25,
 * -32602 from 2026-07-28 on (specification 2026-07-28 changelog); its
 * data names the URI (server/resources.mdx, "Error Handling"). */
static struct json_object *not_found(struct mcp_call *call, const char *uri, struct mcp_err *err)
{
    char msg[200];
    snprintf(msg, sizeof msg, "Resource not found: %.128s", uri);
    int modern = call->stateless || (call->version && strcmp(call->version, "2026-07-28") >= 0);
    err->data = json_object_new_object();
    json_add(err->data, "uri", json_object_new_string(uri));
    return mcp_fail(err, modern ? JSONRPC_INVALID_PARAMS : MCP_ERROR_RESOURCE_NOT_FOUND, msg);
}

/* params.uri of method as a string of at most TOOL_URI_MAX bytes, on a
 * call with a session when need_session is set (subscriptions belong to
 * one). Returns it (borrowed from params), or NULL with err filled. */
static const char *param_uri(const struct mcp_call *call, struct json_object *params,
                             const char *method, int need_session, struct mcp_err *err)
{
    const char *uri = json_get_string(params, "uri");
    char msg[128];
    if (!uri || !*uri)
        snprintf(msg, sizeof msg, "%s needs params.uri (a string)", method);
    else if (strlen(uri) > TOOL_URI_MAX)
        snprintf(msg, sizeof msg, "params.uri is longer than %d bytes", TOOL_URI_MAX);
    else if (need_session && !call->session_hash)
        snprintf(msg, sizeof msg, "%s needs a session: send initialize first", method);
    else
        return uri;
    mcp_fail(err, JSONRPC_INVALID_PARAMS, msg);
    return NULL;
}

struct json_object *mcp_resources_read(struct mcp_call *call, struct json_object *params,
                                       struct mcp_err *err)
{
    const char *uri = param_uri(call, params, "resources/read", 0, err);
    if (!uri)
        return NULL;
    const struct tool_resource_def *res = NULL;
    const struct tool_template_def *tmpl = NULL;
    struct json_object *vars = NULL;
    if (tool_resource_resolve(uri, &res, &tmpl, &vars) < 0)
        return not_found(call, uri, err);
    struct tool_ctx ctx;
    mcp_call_tool_ctx(call, &ctx);
    struct json_object *r = res ? res->read(&ctx, uri, NULL) : tmpl->read(&ctx, uri, vars);
    json_object_put(vars);
    if (!r)
        return not_found(call, uri, err);
    LOG_INFO("msg=\"resource read\" resource=\"%s\"", res ? res->name : tmpl->name);
    return r;
}

/* Checks that uri names a resource (resources/subscribe). */
static int resource_exists(const char *uri)
{
    const struct tool_resource_def *res = NULL;
    const struct tool_template_def *tmpl = NULL;
    struct json_object *vars = NULL;
    if (tool_resource_resolve(uri, &res, &tmpl, &vars) < 0)
        return 0;
    json_object_put(vars);
    return 1;
}

struct json_object *mcp_resources_subscribe(struct mcp_call *call, struct json_object *params,
                                            struct mcp_err *err)
{
    const char *uri = param_uri(call, params, "resources/subscribe", 1, err);
    if (!uri)
        return NULL;
    if (!resource_exists(uri))
        return not_found(call, uri, err);
    int full = 0;
    switch (store_subscription_add(call->env->db, call->session_hash, uri, &full)) {
    case STORE_OK:
        LOG_INFO("msg=\"resource subscribed\"");
        return json_object_new_object();
    case STORE_NOT_FOUND:
        return mcp_fail(err, JSONRPC_INVALID_PARAMS, "session not found: initialize a new session");
    case STORE_ERROR:
        if (full) {
            char msg[128];
            snprintf(msg, sizeof msg, "too many subscriptions: a session may hold %d",
                     STORE_SUBSCRIPTIONS_MAX);
            return mcp_fail(err, JSONRPC_INVALID_PARAMS, msg);
        }
        return mcp_unavailable(err);
    case STORE_UNAVAILABLE:
        return mcp_unavailable(err);
    }
    return mcp_unavailable(err);
}

struct json_object *mcp_resources_unsubscribe(struct mcp_call *call, struct json_object *params,
                                              struct mcp_err *err)
{
    const char *uri = param_uri(call, params, "resources/unsubscribe", 1, err);
    if (!uri)
        return NULL;
    /* Ending a subscription that does not exist leaves the state the
     * client asked for: that is a success too. */
    switch (store_subscription_remove(call->env->db, call->session_hash, uri)) {
    case STORE_OK:
        LOG_INFO("msg=\"resource unsubscribed\"");
        return json_object_new_object();
    case STORE_NOT_FOUND:
        return json_object_new_object();
    case STORE_UNAVAILABLE:
    case STORE_ERROR:
        return mcp_unavailable(err);
    }
    return mcp_unavailable(err);
}

struct fanout {
    struct store_conn *db;
    const char *uri;
    int failed;
};

static void notify_subscriber(const char *session_hash, int legacy, void *arg)
{
    struct fanout *f = arg;
    struct json_object *params = json_object_new_object();
    json_add(params, "uri", json_object_new_string(f->uri));
    struct json_object *msg = jsonrpc_notification("notifications/resources/updated", params);
    if (mcp_session_notify(f->db, session_hash, legacy, msg) < 0)
        f->failed++;
}

int mcp_resource_updated(struct store_conn *db, const char *uri, int *n)
{
    struct fanout f = {.db = db, .uri = uri};
    *n = 0;
    /* the stateless clients' subscriptions/listen streams (mcp/listen.h) */
    char key[MCP_WAKE_KEY_MAX];
    mcp_listen_resource_key(uri, key, sizeof key);
    if (store_notify(db, key) != STORE_OK)
        LOG_WARN("msg=\"could not tell the listen streams that a resource changed\"");
    if (store_subscription_each(db, uri, notify_subscriber, &f, n) != STORE_OK) {
        LOG_WARN("msg=\"could not read the subscribers of a resource\"");
        return -1;
    }
    if (f.failed)
        LOG_WARN("msg=\"could not notify every subscriber of a resource\" failed=%d sessions=%d",
                 f.failed, *n);
    else
        LOG_INFO("msg=\"resource updated\" sessions=%d", *n);
    return f.failed ? -1 : 0;
}

int mcp_catalog_ctx_resource_updated(void *impl, const char *uri)
{
    struct mcp_call *call = impl;
    int n = 0;
    return mcp_resource_updated(call->env->db, uri, &n);
}

struct json_object *mcp_prompts_get(struct mcp_call *call, struct json_object *params,
                                    struct mcp_err *err)
{
    const char *name = json_get_string(params, "name");
    if (!name)
        return mcp_fail(err, JSONRPC_INVALID_PARAMS, "prompts/get needs params.name (a string)");
    const struct tool_prompt_def *p = tool_prompt_find(name);
    if (!p) {
        char msg[200];
        snprintf(msg, sizeof msg, "Unknown prompt: %.128s", name);
        return mcp_fail(err, JSONRPC_INVALID_PARAMS, msg);
    }
    struct json_object *args = NULL;
    json_object_object_get_ex(params, "arguments", &args);
    struct mg_error why = MG_ERROR_INIT;
    if (tool_prompt_check_args(p, args, &why) < 0)
        return mcp_fail(err, JSONRPC_INVALID_PARAMS, why.msg);
    struct json_object *empty = NULL;
    if (!args)
        args = empty = json_object_new_object();
    struct tool_ctx ctx;
    mcp_call_tool_ctx(call, &ctx);
    struct json_object *r = p->get(&ctx, args);
    json_object_put(empty);
    if (!r)
        return mcp_fail(err, JSONRPC_INTERNAL_ERROR, "the prompt could not be built");
    LOG_INFO("msg=\"prompt got\" prompt=%s", p->name);
    return r;
}

/* The completion result: the strings among values (taken), at most
 * TOOL_COMPLETION_MAX, with the total and whether more exist. */
static struct json_object *completion_result(struct json_object *values)
{
    struct json_object *out = json_object_new_array();
    size_t total = 0;
    size_t n = values ? json_object_array_length(values) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(values, i);
        if (!json_object_is_type(v, json_type_string))
            continue;
        if (total++ < TOOL_COMPLETION_MAX && json_object_array_add(out, json_object_get(v)) != 0)
            abort();
    }
    json_object_put(values);
    struct json_object *c = json_object_new_object();
    json_add(c, "values", out);
    json_add(c, "total", json_object_new_int64((int64_t)total));
    json_add(c, "hasMore", json_object_new_boolean(total > TOOL_COMPLETION_MAX));
    struct json_object *r = json_object_new_object();
    json_add(r, "completion", c);
    return r;
}

struct json_object *mcp_completion_complete(struct mcp_call *call, struct json_object *params,
                                            struct mcp_err *err)
{
    struct json_object *ref = json_get(params, "ref", json_type_object);
    struct json_object *argument = json_get(params, "argument", json_type_object);
    const char *type = json_get_string(ref, "type");
    const char *arg_name = json_get_string(argument, "name");
    const char *value = json_get_string(argument, "value");
    if (!type)
        return mcp_fail(err, JSONRPC_INVALID_PARAMS,
                        "completion/complete needs params.ref (an object with a type)");
    if (!arg_name || !value)
        return mcp_fail(err, JSONRPC_INVALID_PARAMS,
                        "completion/complete needs params.argument with name and value (strings)");
    struct json_object *context =
        json_get(json_get(params, "context", json_type_object), "arguments", json_type_object);
    char msg[256];
    tool_complete_fn complete = NULL;
    if (strcmp(type, "ref/prompt") == 0) {
        const char *name = json_get_string(ref, "name");
        const struct tool_prompt_def *p = name ? tool_prompt_find(name) : NULL;
        if (!p) {
            snprintf(msg, sizeof msg, "Unknown prompt: %.128s", name ? name : "(no ref.name)");
            return mcp_fail(err, JSONRPC_INVALID_PARAMS, msg);
        }
        if (!tool_prompt_arg_find(p, arg_name)) {
            snprintf(msg, sizeof msg, "prompt %s has no argument \"%.64s\"", p->name, arg_name);
            return mcp_fail(err, JSONRPC_INVALID_PARAMS, msg);
        }
        complete = p->complete;
    } else if (strcmp(type, "ref/resource") == 0) {
        const char *uri = json_get_string(ref, "uri");
        const struct tool_template_def *t = uri ? tool_template_find(uri) : NULL;
        if (!t) {
            snprintf(msg, sizeof msg, "Unknown resource template: %.128s",
                     uri ? uri : "(no ref.uri)");
            return mcp_fail(err, JSONRPC_INVALID_PARAMS, msg);
        }
        if (!tool_template_has_var(t, arg_name)) {
            snprintf(msg, sizeof msg, "resource template %.128s has no variable \"%.64s\"",
                     t->uri_template, arg_name);
            return mcp_fail(err, JSONRPC_INVALID_PARAMS, msg);
        }
        complete = t->complete;
    } else {
        snprintf(msg, sizeof msg,
                 "Unknown completion reference type: %.64s (ref/prompt or ref/resource)", type);
        return mcp_fail(err, JSONRPC_INVALID_PARAMS, msg);
    }
    struct json_object *values = NULL;
    if (complete) {
        struct json_object *empty = NULL;
        if (!context)
            context = empty = json_object_new_object();
        struct tool_ctx ctx;
        mcp_call_tool_ctx(call, &ctx);
        values = complete(&ctx, arg_name, value, context);
        json_object_put(empty);
    }
    return completion_result(values);
}
