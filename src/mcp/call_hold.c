/*
 * mcp/call_hold.c - a session's tools/call that waits for the client's
 * answer without holding a worker thread.
 */
#include "mcp/call_hold.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/call.h"
#include "mcp/hold.h"
#include "mcp/methods.h"
#include "mcp/sse.h"
#include "mcp/wake.h"
#include "oauth/scope.h"
#include "store/stream.h"
#include "util/alloc.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

/* A call between its turns: what mcp_call_hold() took from the request. */
struct held_call {
    struct mcp_held held;    /* first: the holder hands back &held; held.sink is the
                                response (the request's until detached) */
    struct mcp_waiter group; /* what the holder waits on: answer or cancel */
    struct mcp_waiter answer, cancel;
    int cancel_on; /* cancel is registered */
    int detached;  /* held.sink is detached from its request */
    int sink_done; /* the response ended (or was never ours to end): held.sink writes nothing */
    int cancelled; /* the client cancelled the call */
    struct oauth_principal principal; /* a copy, without its bearer token */
    int has_principal;
    const struct mg_connector *connector;
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    char version[32];
    char log_level[16];
    char stream_id[24];
    char tool[160];
    char id[32];  /* the request waited for, "" between its answer and the next */
    char key[64]; /* its input key */
    long long deadline, life_end, started_ms, lease;
    int events_sent;
    /* owned */
    struct json_object *request_id, *progress_token, *caps, *args, *answers;
};

static int noop_write(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    (void)p;
    (void)n;
    return 0;
}

static void noop_end(void *ctx)
{
    (void)ctx;
}

/* Ends the call's response (once): a client that left, or the stream's
 * bounded life, ends it while the call goes on; the client resumes from
 * the stored stream. */
static void end_sink(struct held_call *h)
{
    if (!h->sink_done)
        h->held.sink.end(h->held.sink.ctx);
    h->sink_done = 1;
    h->held.sink = (struct mcp_sink){.write = noop_write, .end = noop_end};
    h->held.fd = -1;
}

/* The sink a turn writes to: held.sink, and its end is end_sink. */
static int turn_write(void *ctx, const char *p, size_t n)
{
    struct held_call *h = ctx;
    return h->held.sink.write(h->held.sink.ctx, p, n);
}

static void turn_end(void *ctx)
{
    end_sink(ctx);
}

static struct json_object *copy(struct json_object *v)
{
    struct json_object *out = NULL;
    if (v && json_object_deep_copy(v, &out, NULL) != 0)
        return NULL;
    return out;
}

int mcp_call_holdable(const struct mcp_call *call)
{
    const struct mcp_env *env = call->env;
    if (call->hold_turn)
        return 1;
    return !call->stateless && !call->mrtr && !call->in_task && !call->no_stream &&
           !call->publish_stream && call->session_hash && call->request_id && call->version &&
           strlen(call->version) < sizeof((struct held_call *)0)->version && env->sink &&
           env->sink->detach && mcp_hold_on();
}

/* Waits for the request the last run sent (call->hold_id). */
static void next_request(struct held_call *h, const struct mcp_call *call)
{
    snprintf(h->id, sizeof h->id, "%s", call->hold_id);
    snprintf(h->key, sizeof h->key, "%s", call->hold_key);
    h->deadline = mg_now_ms() + call->hold_timeout_ms;
    char key[MCP_WAKE_KEY_MAX];
    snprintf(key, sizeof key, "r:%s", h->id);
    mcp_wake_register_in(&h->answer, key, &h->group);
}

/* Looks for the answer. Returns 1 when the request is over (answered,
 * failed, timed out, cancelled, stopping: h->answers has its outcome),
 * 0 while it waits. */
static int answered(struct held_call *h, const struct mcp_env *env)
{
    char *text = NULL;
    enum store_rc rc = store_pending_take(env->db, h->hash, h->id, &text);
    struct json_object *resp = NULL, *result = NULL;
    const char *why = "service temporarily unavailable";
    if (rc == STORE_OK) {
        if (json_parse_strict(text, strlen(text), &resp, NULL) < 0)
            why = "the client's answer was not valid JSON";
        else if (!(result = json_get(resp, "result", json_type_object)))
            why = "the client answered with an error";
        free(text);
    } else if (rc == STORE_NOT_FOUND) {
        h->cancelled |= h->cancel_on && mcp_wake_fired(&h->cancel);
        if (mg_now_ms() < h->deadline && !h->cancelled && !(env->stop_flag && *env->stop_flag))
            return 0;
        why = "the client did not answer in time";
    }
    if (rc != STORE_OK && store_pending_drop(env->db, h->hash, h->id) != STORE_OK)
        LOG_WARN("msg=\"could not drop a pending request\"");
    mcp_call_remember(&h->answers, h->key, result, why);
    json_object_put(resp);
    mcp_wake_unregister(&h->answer);
    h->id[0] = '\0';
    return 1;
}

/* Hands the call to the holder, or waits a moment here when no holder
 * takes it. Returns 1 when it is held (h is the holder's), else 0. */
static int hold_again(struct held_call *h, const struct mcp_env *env)
{
    store_conn_release(env->db); /* hold no connection while nothing happens */
    long long now = mg_now_ms();
    if (!h->sink_done && now >= h->life_end)
        end_sink(h); /* the stream's bounded life; the call goes on */
    if (!h->detached && !h->sink_done) {
        struct mcp_sink req = h->held.sink;
        if (mcp_hold_detach(&h->held, &req) == 0)
            h->detached = 1;
        else
            h->held.sink = req;
    }
    if (h->detached || h->sink_done) {
        h->held.end_ms = h->sink_done || h->deadline < h->life_end ? h->deadline : h->life_end;
        int parked = mcp_hold_park(&h->held, &h->group);
        if (parked == 0)
            return 1;
        if (parked == 1) {
            mcp_wake_take(&h->group);
            return 0;
        }
    }
    long long left = h->deadline - now;
    mcp_wake_wait_db(&h->group, env->db, left > 1000 ? 1000 : left < 0 ? 0 : (int)left);
    return 0;
}

/* Runs the tool again with the answers so far. Returns 1 when it waits
 * for another answer (h->id), 0 when the call was answered. */
static int turn(struct held_call *h, const struct mcp_env *env)
{
    struct tool_policy policy = {0};
    struct mcp_sink sink = {
        .write = turn_write, .end = turn_end, .ctx = h, .pad_bytes = h->held.sink.pad_bytes};
    struct mcp_env e = {.cfg = env->cfg,
                        .db = env->db,
                        .sink = &sink,
                        .stop_flag = env->stop_flag,
                        .principal = h->has_principal ? &h->principal : NULL,
                        .policy = &policy,
                        .connector = h->connector};
    struct mcp_call c = {.env = &e,
                         .version = h->version,
                         .session_hash = h->hash,
                         .request_id = h->request_id,
                         .progress_token = h->progress_token,
                         .client_caps = h->caps,
                         .streaming = 1,
                         .ended = h->sink_done,
                         .cancelled = h->cancelled,
                         .started_ms = h->started_ms,
                         .cancel_waiter = h->cancel_on ? &h->cancel : NULL,
                         .input_answers = h->answers,
                         .events_sent = h->events_sent,
                         .stream_lease = h->lease,
                         .hold_turn = 1};
    snprintf(c.log_level, sizeof c.log_level, "%s", h->log_level);
    snprintf(c.stream_id, sizeof c.stream_id, "%s", h->stream_id);
    c.replay_left = h->answers ? json_object_object_length(h->answers) : 0;
    h->caps = h->answers = NULL;
    h->lease = 0;
    struct json_object *resp = mcp_tools_call_turn(&c, h->tool, h->args);
    int again = c.hold_id[0] != '\0';
    if (again) {
        json_object_put(resp);
        h->caps = c.client_caps;
        h->answers = c.input_answers;
        h->lease = c.stream_lease;
        c.client_caps = c.input_answers = NULL;
        c.stream_lease = 0;
        h->events_sent = c.events_sent;
        if (c.ended)
            end_sink(h); /* the client left while it ran */
        next_request(h, &c);
    } else {
        mcp_call_respond(&c, resp); /* the last event, and the response ends */
    }
    c.cancel_waiter = NULL; /* the held call's, not the turn's to free */
    mcp_call_finish(&c);
    tool_policy_free(&policy);
    return again;
}

static void held_free(struct held_call *h)
{
    end_sink(h);
    if (h->id[0])
        mcp_wake_unregister(&h->answer);
    if (h->cancel_on)
        mcp_wake_unregister(&h->cancel);
    mcp_wake_unregister(&h->group);
    json_object_put(h->request_id);
    json_object_put(h->progress_token);
    json_object_put(h->caps);
    json_object_put(h->args);
    json_object_put(h->answers);
    free(h);
}

/* Runs the call's turns on this thread until it is held again or over. */
static void drive(struct held_call *h, const struct mcp_env *env)
{
    for (;;) {
        if (!answered(h, env)) {
            if (hold_again(h, env))
                return;
            continue;
        }
        if (!turn(h, env)) {
            held_free(h);
            return;
        }
    }
}

/* The holder handed the call back (mcp/hold.h). */
static void call_resume(struct mcp_held *held, const struct mcp_env *env)
{
    struct held_call *h = (struct held_call *)held;
    mcp_hold_unhook(&h->group);
    mcp_wake_take(&h->group);
    if (held->why & MCP_HOLD_GONE)
        end_sink(h);
    drive(h, env);
}

struct json_object *mcp_call_hold(struct mcp_call *call, const struct tool_def *tool,
                                  struct json_object *args)
{
    if (call->hold_turn)
        return json_object_new_object(); /* its driver holds it again */
    const struct mcp_env *env = call->env;
    struct held_call *h = xcalloc(1, sizeof *h);
    h->held.resume = call_resume;
    h->held.fd = -1;
    h->held.sink = *env->sink;
    snprintf(h->held.request_id, sizeof h->held.request_id, "%s",
             log_request_id() ? log_request_id() : "");
    if (env->principal) {
        h->principal = *env->principal;
        h->principal.bearer = NULL; /* a secret: never kept beyond its request */
        h->has_principal = 1;
    }
    h->connector = env->connector;
    snprintf(h->hash, sizeof h->hash, "%s", call->session_hash);
    snprintf(h->version, sizeof h->version, "%s", call->version);
    snprintf(h->log_level, sizeof h->log_level, "%s", call->log_level);
    snprintf(h->stream_id, sizeof h->stream_id, "%s", call->stream_id);
    snprintf(h->tool, sizeof h->tool, "%s", tool->name);
    /* copies: the request's document is freed by its worker */
    h->request_id = copy(call->request_id);
    h->progress_token = copy(call->progress_token);
    h->args = copy(args);
    h->caps = call->client_caps;
    h->answers = call->input_answers;
    h->lease = call->stream_lease;
    call->client_caps = call->input_answers = NULL;
    call->stream_lease = 0;
    h->events_sent = call->events_sent;
    h->started_ms = call->started_ms;
    h->life_end = call->started_ms + (long long)env->cfg->sse_max_s * 1000;
    h->cancelled = call->cancelled || (call->cancel_waiter && mcp_wake_fired(call->cancel_waiter));
    mcp_wake_register(&h->group, "");
    char key[MCP_WAKE_KEY_MAX];
    int n = snprintf(key, sizeof key, "c:%s:%s", h->hash, json_text(h->request_id, NULL));
    if (n > 0 && (size_t)n < sizeof key) {
        mcp_wake_register_in(&h->cancel, key, &h->group);
        h->cancel_on = 1;
    }
    if (call->ended)
        end_sink(h); /* the client left during the first run */
    next_request(h, call);
    call->held = 1;
    LOG_DEBUG("msg=\"tool call waits for the client's answer, held\" tool=%s", h->tool);
    drive(h, env);
    return json_object_new_object();
}
