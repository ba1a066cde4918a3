/*
 * mcp/call.c - a running request's messages to the client.
 */
#include "mcp/call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcp/catalog.h"
#include "mcp/mrtr.h"
#include "mcp/task.h"
#include "mcp/sse.h"
#include "mcp/wake.h"
#include "oauth/scope.h"
#include "store/listen.h"
#include "store/stream.h"
#include "util/alloc.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

static const char *const log_levels[] = {"emergency", "alert",  "critical", "error",
                                         "warning",   "notice", "info",     "debug"};

int mcp_log_severity(const char *level)
{
    for (int i = 0; i < 8; i++)
        if (level && strcmp(level, log_levels[i]) == 0)
            return i;
    return -1;
}

/* Turns the response into an SSE stream (once). Returns 0, or -1 when the
 * call cannot stream (no sink, in a batch, store outage). */
static int start_stream(struct mcp_call *c)
{
    const struct mcp_env *env = c->env;
    if (c->streaming)
        return 0;
    if (!env->sink || c->no_stream || c->stream_refused)
        return -1;
    /* a stream holds this worker until the call ends: it counts against the
     * caller's held streams; over the cap the call goes on unstreamed */
    int ttl_s = env->cfg->sse_max_s + env->cfg->request_timeout_s + 60;
    switch (mcp_stream_lease_take(env, ttl_s, &c->stream_lease)) {
    case 0:
        break;
    case 1:
        c->stream_refused = 1;
        return -1;
    default:
        return -1;
    }
    if (!c->stateless) {
        const char *rid = c->request_id ? json_text(c->request_id, NULL) : NULL;
        if (store_stream_create(env->db, c->session_hash, rid, env->cfg->session_ttl_s,
                                c->stream_id) != STORE_OK) {
            mcp_stream_lease_release(env, c->stream_lease);
            c->stream_lease = 0;
            return -1;
        }
    }
    c->streaming = 1;
    if (mcp_sse_begin(env, env->sink, NULL) < 0) {
        c->ended = 1;
        c->cancelled |= c->stateless; /* stateless: a closed stream cancels */
        return 0;
    }
    /* the priming event gives the client an id to resume from (2025-11-25);
     * older clients would choke on its empty data */
    long long seq;
    if (!c->stateless && c->version && strcmp(c->version, "2025-11-25") >= 0 &&
        store_event_append(env->db, c->stream_id, NULL, "", 0, &seq) == STORE_OK) {
        char id[MCP_EVENT_ID_MAX];
        mcp_sse_event_id(id, c->stream_id, seq);
        if (mcp_sse_event(env->sink, id, NULL, "") < 0)
            c->ended = 1;
    }
    return 0;
}

static void end_response(struct mcp_call *c)
{
    if (!c->ended) {
        c->env->sink->end(c->env->sink->ctx);
        c->ended = 1;
    }
}

/* Counts a message that is not the call's response against
 * max_events_per_call. Returns msg (taken) to send; past the limit, once,
 * a warning to the client in its place (*rc set to -1); after that NULL:
 * drop it. */
static struct json_object *counted(struct mcp_call *c, struct json_object *msg, int *rc)
{
    int limit = c->env->cfg->max_events_per_call;
    if (c->events_sent > limit) {
        json_object_put(msg);
        *rc = -1;
        return NULL;
    }
    if (c->events_sent++ < limit)
        return msg;
    json_object_put(msg);
    *rc = -1;
    LOG_WARN("msg=\"a call sent more than max_events_per_call messages: the rest are dropped\" "
             "limit=%d",
             limit);
    char text[160];
    snprintf(text, sizeof text,
             "this call sent more than %d notifications (max_events_per_call): the rest are "
             "dropped",
             limit);
    struct json_object *p = json_object_new_object();
    json_add(p, "level", json_object_new_string("warning"));
    json_add(p, "logger", json_object_new_string("mcpgate"));
    json_add(p, "data", json_object_new_string(text));
    return jsonrpc_notification("notifications/message", p);
}

/* Sends msg (taken) to the client: stored first unless stateless, then
 * written while the response is open. final: the call's response; other
 * messages count against max_events_per_call, and past it are dropped
 * (-1). */
static int emit(struct mcp_call *c, struct json_object *msg, int final)
{
    const struct mcp_env *env = c->env;
    int rc = 0;
    if (!final && !(msg = counted(c, msg, &rc)))
        return rc;
    const char *text = json_text(msg, NULL);
    long long seq = 0;
    if (c->publish_stream) {
        if (store_event_append(env->db, c->publish_stream, NULL, text, 0, &seq) != STORE_OK)
            rc = -1;
    } else if (start_stream(c) < 0) {
        LOG_DEBUG("msg=\"message not streamed: the response cannot become a stream\"");
        rc = -1;
    } else if (c->stateless) {
        if (!c->ended && mcp_sse_event(env->sink, NULL, NULL, text) < 0) {
            c->ended = 1;
            c->cancelled = 1;
        }
    } else if (store_event_append(env->db, c->stream_id, NULL, text, final, &seq) != STORE_OK) {
        rc = -1;
    } else if (!c->ended) {
        char id[MCP_EVENT_ID_MAX];
        mcp_sse_event_id(id, c->stream_id, seq);
        if (mcp_sse_event(env->sink, id, NULL, text) < 0)
            c->ended = 1; /* the client is gone; the work goes on, the log keeps it */
    }
    json_object_put(msg);
    if (c->streaming && !c->publish_stream &&
        (final || mg_now_ms() - c->started_ms > (long long)env->cfg->sse_max_s * 1000))
        end_response(c); /* at the bounded life: the client resumes from the log */
    else if (c->streaming && !c->publish_stream && !c->ended && mcp_sse_push(env->sink) < 0)
        c->ended = 1; /* the work goes on while the client waits: push the event to it */
    return rc;
}

static int ctx_notify(void *impl, const char *method, struct json_object *params)
{
    struct mcp_call *c = impl;
    if (c->replay_left > 0 || c->hold_id[0]) {
        /* a held call's run: what it sends before the answers of earlier
         * turns went out then; what it sends after its request is unseen */
        json_object_put(params);
        return 0;
    }
    return emit(c, jsonrpc_notification(method, params), 0);
}

static int ctx_progress(void *impl, double progress, double total, const char *message)
{
    struct mcp_call *c = impl;
    if (!c->progress_token)
        return 0;
    struct json_object *p = json_object_new_object();
    json_add(p, "progressToken", json_object_get(c->progress_token));
    json_add(p, "progress", json_object_new_double(progress));
    if (total >= 0)
        json_add(p, "total", json_object_new_double(total));
    if (message)
        json_add(p, "message", json_object_new_string(message));
    return ctx_notify(c, "notifications/progress", p);
}

static int ctx_log(void *impl, const char *level, const char *logger, struct json_object *data)
{
    struct mcp_call *c = impl;
    int severity = mcp_log_severity(level);
    int threshold = c->log_level[0] ? mcp_log_severity(c->log_level) : (c->stateless ? -1 : 7);
    if (severity < 0 || severity > threshold) {
        json_object_put(data);
        return 0;
    }
    struct json_object *p = json_object_new_object();
    json_add(p, "level", json_object_new_string(level));
    if (logger)
        json_add(p, "logger", json_object_new_string(logger));
    json_add(p, "data", data ? data : json_object_new_string(""));
    return ctx_notify(c, "notifications/message", p);
}

static int ctx_client_has(void *impl, const char *name)
{
    struct mcp_call *c = impl;
    return json_get(c->client_caps, name, json_type_object) != NULL;
}

static int ctx_url_required(void *impl, const char *url, const char *message)
{
    struct mcp_call *c = impl;
    struct json_object *el = json_get(c->client_caps, "elicitation", json_type_object);
    if (!el || !json_get(el, "url", json_type_object) || c->stateless || c->in_task)
        return 0;
    if (!c->refusal.e.code) { /* the first link the call needs is the one asked for */
        char id[32];
        crypto_token(16, id);
        struct json_object *e = json_object_new_object();
        json_add(e, "mode", json_object_new_string("url"));
        json_add(e, "elicitationId", json_object_new_string(id));
        json_add(e, "url", json_object_new_string(url));
        json_add(e, "message", json_object_new_string(message));
        /* the call ends with the 2025-11-25 URLElicitationRequiredError */
        char msg[200];
        snprintf(msg, sizeof msg, "This request needs you to visit %.150s first", url);
        mcp_fail(&c->refusal, MCP_ERROR_URL_ELICITATION, msg);
        mg_error_detail(&c->refusal.e, "the user must link an account first");
        struct json_object *list = json_object_new_array();
        json_object_array_add(list, e);
        c->refusal.data = json_object_new_object();
        json_add(c->refusal.data, "elicitations", list);
        LOG_INFO("msg=\"tool call needs a URL elicitation\" tool=%s",
                 c->tool ? c->tool->name : "-");
    }
    return 1;
}

void mcp_call_remember(struct json_object **answers, const char *key, struct json_object *result,
                       const char *why)
{
    if (!*answers)
        *answers = json_object_new_object();
    json_add(*answers, key, result ? json_object_get(result) : json_object_new_string(why));
}

static int ctx_cancelled(void *impl)
{
    struct mcp_call *c = impl;
    if (c->cancel_waiter && store_listen_is_shared())
        (void)store_listen_pump(c->env->db, 0); /* one worker: read what came */
    if (c->cancel_waiter && mcp_wake_fired(c->cancel_waiter))
        c->cancelled = 1;
    /* a task outlives its request: the process stopping is its end */
    if (c->in_task && c->env->stop_flag && *c->env->stop_flag)
        c->cancelled = 1;
    return c->cancelled;
}

/* Waits for the answer to request id; returns the parsed response or NULL. */
static struct json_object *await_answer(struct mcp_call *c, const char *id, int timeout_ms,
                                        struct mg_error *err)
{
    const struct mcp_env *env = c->env;
    struct mcp_waiter w;
    char key[MCP_WAKE_KEY_MAX];
    snprintf(key, sizeof key, "r:%s", id);
    mcp_wake_register(&w, key);
    long long deadline = mg_now_ms() + timeout_ms;
    struct json_object *resp = NULL;
    mg_error_msg(err, "the client did not answer in time");
    while (!resp) {
        char *text = NULL;
        enum store_rc rc = store_pending_take(env->db, c->session_hash, id, &text);
        if (rc == STORE_OK) {
            if (json_parse_strict(text, strlen(text), &resp, NULL) < 0)
                mg_error_msg(err, "the client's answer was not valid JSON");
            free(text);
            break;
        }
        if (rc != STORE_NOT_FOUND) {
            mg_error_msg(err, "service temporarily unavailable");
            break;
        }
        long long left = deadline - mg_now_ms();
        if (left <= 0 || ctx_cancelled(c) || (env->stop_flag && *env->stop_flag))
            break;
        mcp_wake_wait_db(&w, env->db, left > 1000 ? 1000 : (int)left);
    }
    mcp_wake_unregister(&w);
    return resp;
}

/* A held call's answer under key from an earlier turn (mcp/call_hold.h):
 * returns 1 with *out (a new reference, or NULL with err when the request
 * failed then), or 0 when the call has none. */
static int earlier_answer(struct mcp_call *c, const char *key, struct json_object **out,
                          struct mg_error *err)
{
    struct json_object *a = NULL;
    if (!c->input_answers || !json_object_object_get_ex(c->input_answers, key, &a))
        return 0;
    if (c->replay_left > 0)
        c->replay_left--;
    if (json_object_is_type(a, json_type_string)) {
        mg_error_msg(err, "%s", json_object_get_string(a));
        *out = NULL;
    } else {
        *out = json_object_get(a);
    }
    return 1;
}

/* Sends method to a session's client and waits for its answer: in this
 * worker, or (c->hold_ok) by ending the run with c->hold_id set, for the
 * call to be held and run again once the answer under key came. */
static struct json_object *ask(struct mcp_call *c, const char *key, const char *method,
                               struct json_object *params, int timeout_ms, struct mg_error *err)
{
    const struct mcp_env *env = c->env;
    const char *cap = mcp_request_capability(method);
    if (c->stateless && cap && !ctx_client_has(c, cap)) {
        /* 2026-07-28: the request fails with MissingRequiredClientCapability */
        mcp_call_missing_capability(c, cap);
        json_object_put(params);
        mg_error_msg(err, "the client did not declare the capability this request needs");
        return NULL;
    }
    if (c->stateless || !c->session_hash) {
        json_object_put(params);
        mg_error_msg(err, "server-to-client requests need a session");
        return NULL;
    }
    if (cap && !ctx_client_has(c, cap)) {
        json_object_put(params);
        mg_error_msg(err, "the client did not declare the capability this request needs");
        return NULL;
    }
    char seq_key[32];
    if (!key) { /* the n-th request of a run is the n-th again when it reruns */
        snprintf(seq_key, sizeof seq_key, "input-%d", ++c->input_seq);
        key = seq_key;
    }
    int hold = c->hold_ok && strlen(key) < sizeof c->hold_key;
    struct json_object *earlier = NULL;
    if (hold && earlier_answer(c, key, &earlier, err)) {
        json_object_put(params);
        return earlier;
    }
    if (hold && c->hold_id[0]) { /* this run waits already: it ends unseen */
        json_object_put(params);
        mg_error_msg(err, "the client's input is required");
        return NULL;
    }
    if (timeout_ms <= 0 || timeout_ms > env->cfg->request_timeout_s * 1000)
        timeout_ms = env->cfg->request_timeout_s * 1000;
    char id[32] = "mcpgate-";
    crypto_token(12, id + 8);
    if (store_pending_create(env->db, c->session_hash, id, method, timeout_ms / 1000 + 5) !=
        STORE_OK) {
        json_object_put(params);
        mg_error_msg(err, "service temporarily unavailable");
        return NULL;
    }
    struct json_object *msg = json_object_new_object();
    json_add(msg, "jsonrpc", json_object_new_string("2.0"));
    json_add(msg, "id", json_object_new_string(id));
    json_add(msg, "method", json_object_new_string(method));
    if (params)
        json_add(msg, "params", params);
    if (emit(c, msg, 0) < 0) {
        mg_error_msg(err, "%s",
                     c->stream_refused ? "the request could not be sent: too many open streams for "
                                         "this user or token"
                                       : "the request could not be sent");
        if (store_pending_drop(env->db, c->session_hash, id) != STORE_OK)
            LOG_WARN("msg=\"could not drop a pending request\"");
        return NULL;
    }
    if (hold) {
        snprintf(c->hold_id, sizeof c->hold_id, "%s", id);
        snprintf(c->hold_key, sizeof c->hold_key, "%s", key);
        c->hold_timeout_ms = timeout_ms;
        mg_error_msg(err, "the client's input is required");
        return NULL;
    }
    struct json_object *result = NULL;
    struct json_object *resp = await_answer(c, id, timeout_ms, err);
    if (!resp) {
        if (store_pending_drop(env->db, c->session_hash, id) != STORE_OK)
            LOG_WARN("msg=\"could not drop a pending request\"");
    } else if ((result = json_get(resp, "result", json_type_object))) {
        json_object_get(result);
    } else {
        mg_error_msg(err, "the client answered with an error");
    }
    json_object_put(resp);
    if (c->hold_ok) /* a later turn of the held call is given the same */
        mcp_call_remember(&c->input_answers, key, result, err->msg);
    return result;
}

static struct json_object *ctx_request(void *impl, const char *method, struct json_object *params,
                                       int timeout_ms, struct mg_error *err)
{
    struct mcp_call *c = impl;
    if (c->mrtr) {
        /* the n-th request of a run is the n-th again when it reruns */
        char key[32];
        snprintf(key, sizeof key, "input-%d", ++c->input_seq);
        return mcp_mrtr_input(c, key, method, params, err);
    }
    return ask(c, NULL, method, params, timeout_ms, err);
}

static struct json_object *ctx_input(void *impl, const char *key, const char *method,
                                     struct json_object *params, int timeout_ms,
                                     struct mg_error *err)
{
    struct mcp_call *c = impl;
    if (c->mrtr)
        return mcp_mrtr_input(c, key, method, params, err);
    return ask(c, key, method, params, timeout_ms, err);
}

static int ctx_become_task(void *impl)
{
    struct mcp_call *c = impl;
    if (c->in_task || !c->stateless || !mcp_task_declared(c))
        return 0;
    c->escalate = 1;
    return 1;
}

static void ctx_close_stream(void *impl)
{
    struct mcp_call *c = impl;
    if (c->stateless || c->publish_stream || start_stream(c) < 0)
        return;
    end_response(c);
}

void mcp_call_tool_ctx(struct mcp_call *call, struct tool_ctx *ctx)
{
    ctx->impl = call;
    ctx->tool = NULL; /* the caller sets it (mcp/methods.c) */
    ctx->db = call->env->db;
    ctx->user_id = call->env->principal ? call->env->principal->user_id : 0;
    ctx->subject_token = call->env->principal ? call->env->principal->bearer : NULL;
    ctx->notify = ctx_notify;
    ctx->progress = ctx_progress;
    ctx->log = ctx_log;
    ctx->request = ctx_request;
    ctx->input = ctx_input;
    ctx->become_task = ctx_become_task;
    ctx->cancelled = ctx_cancelled;
    ctx->client_has = ctx_client_has;
    ctx->url_required = ctx_url_required;
    ctx->close_stream = ctx_close_stream;
    ctx->resource_updated = mcp_catalog_ctx_resource_updated; /* mcp/catalog.c */
}

void mcp_call_begin(struct mcp_call *call, const struct jsonrpc_msg *msg)
{
    call->request_id = msg->id;
    call->started_ms = mg_now_ms();
    struct json_object *meta = json_get(msg->params, "_meta", json_type_object);
    struct json_object *token = NULL;
    if (meta && json_object_object_get_ex(meta, "progressToken", &token) &&
        (json_object_is_type(token, json_type_string) || json_object_is_type(token, json_type_int)))
        call->progress_token = token;
    if (!call->session_hash || call->stateless || !msg->id)
        return;
    char key[MCP_WAKE_KEY_MAX];
    int n = snprintf(key, sizeof key, "c:%s:%s", call->session_hash, json_text(msg->id, NULL));
    if (n < 0 || (size_t)n >= sizeof key)
        return; /* an id this long cannot be cancelled */
    struct mcp_waiter *w = xcalloc(1, sizeof *w);
    mcp_wake_register(w, key);
    call->cancel_waiter = w;
}

void mcp_call_finish(struct mcp_call *call)
{
    if (call->cancel_waiter) {
        mcp_wake_unregister(call->cancel_waiter);
        free(call->cancel_waiter);
        call->cancel_waiter = NULL;
    }
    json_object_put(call->client_caps);
    call->client_caps = NULL;
    json_object_put(call->refusal.data);
    call->refusal.data = NULL;
    json_object_put(call->input_answers);
    call->input_answers = NULL;
    json_object_put(call->input_requests);
    call->input_requests = NULL;
    mcp_stream_lease_release(call->env, call->stream_lease);
    call->stream_lease = 0;
}

int mcp_call_respond(struct mcp_call *call, struct json_object *resp)
{
    if (call->held) { /* the held call answers (mcp/call_hold.h) */
        json_object_put(resp);
        return 1;
    }
    if (!call->streaming && !call->publish_stream)
        return 0;
    if (ctx_cancelled(call)) {
        /* nothing is sent for a cancelled request; close its stream */
        json_object_put(resp);
        long long seq;
        if (call->streaming && !call->stateless &&
            store_event_append(call->env->db, call->stream_id, NULL, "", 1, &seq) != STORE_OK)
            LOG_WARN("msg=\"could not close a cancelled stream\"");
        if (call->streaming)
            end_response(call);
        return 1;
    }
    emit(call, resp, 1);
    return 1;
}

int mcp_session_notify(struct store_conn *db, const char *session_hash, int legacy,
                       struct json_object *msg)
{
    char stream[STORE_STREAM_ID_LEN + 1];
    long long last = 0, seq = 0;
    int rc = -1;
    if (store_stream_session(db, session_hash, legacy ? STORE_STREAM_SSE : STORE_STREAM_GET,
                             24 * 3600, stream, &last) == STORE_OK &&
        store_event_append(db, stream, NULL, json_text(msg, NULL), 0, &seq) == STORE_OK)
        rc = 0;
    json_object_put(msg);
    return rc;
}

struct json_object *mcp_fail(struct mcp_err *err, int code, const char *message)
{
    mg_error_set(&err->e, 0, code, "%.255s", message);
    err->retry_after_s = 0;
    err->scope = NULL;
    return NULL;
}

void mcp_call_missing_capability(struct mcp_call *call, const char *cap)
{
    struct mcp_err *r = &call->refusal;
    json_object_put(r->data);
    char msg[160];
    snprintf(msg, sizeof msg, "Missing required client capability: %s", cap);
    mcp_fail(r, MCP_ERROR_MISSING_CAPABILITY, msg);
    mg_error_detail(&r->e, "%s", msg);
    /* data.requiredCapabilities is a ClientCapabilities object */
    struct json_object *caps = json_object_new_object();
    json_add(caps, cap, json_object_new_object());
    r->data = json_object_new_object();
    json_add(r->data, "requiredCapabilities", caps);
}

struct json_object *mcp_unavailable(struct mcp_err *err)
{
    mcp_fail(err, JSONRPC_INTERNAL_ERROR, "service temporarily unavailable, retry shortly");
    err->e.http = 503;
    return NULL;
}

struct json_object *mcp_rate_limited(struct mcp_err *err, int retry_after_s, const char *message)
{
    mcp_fail(err, MCP_ERROR_RATE_LIMITED, message);
    err->e.http = 429;
    err->retry_after_s = retry_after_s;
    return NULL;
}
