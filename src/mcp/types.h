/*
 * mcp/types.h - the types every MCP module shares: what the layer needs
 * from its caller for one HTTP request (struct mcp_env), one request's
 * dispatch state (struct mcp_call) and a method's failure (struct
 * mcp_err). Declarations only; the functions are in mcp/methods.h
 * (dispatch), mcp/call.h (a running call), mcp/access.h (who may use which
 * tool).
 */
#ifndef MG_MCP_TYPES_H
#define MG_MCP_TYPES_H

#include <json-c/json.h>

#include "mcp/jsonrpc.h"
#include "mcp/session.h"
#include "store/db.h"
#include "tools/policy.h"
#include "tools/registry.h"
#include "util/config.h"
#include "util/error.h"

struct mcp_sink;
struct oauth_principal;

/* What the MCP layer needs from its caller for one HTTP request. */
struct mcp_env {
    const struct mg_config *cfg;             /* read-only, shared */
    struct store_conn *db;                   /* this thread's connection */
    const struct mcp_sink *sink;             /* for streamed (SSE) responses; NULL: none */
    const volatile int *stop_flag;           /* non-zero once the process is stopping */
    const struct oauth_principal *principal; /* who is calling (oauth/scope.h); NULL: auth = none */
    struct tool_policy *policy; /* the caller's tool policy, loaded on first use; may be NULL */
    const struct mg_connector *connector; /* the endpoint's tool set (/mcp/NAME); NULL: all */
};

/* A method's failure: the error of util/error.h (e.code the JSON-RPC
 * code, e.msg the message safe to show the client, at most 255 bytes as
 * JSON-RPC errors always were), optionally the error's data member (owned;
 * mcp_dispatch sends it), and what the transport makes of it: e.http is
 *
 *   503  the store could not be reached (mcp_unavailable()): the answer is
 *        503 with Retry-After instead of the JSON-RPC error;
 *   429  a rate limit refused the call (mcp_rate_limited()): Retry-After
 *        retry_after_s;
 *   403  the token's scope does not cover the call: WWW-Authenticate
 *        insufficient_scope names scope;
 *   0    anything else: the error travels in the JSON-RPC response (the
 *        2026-07-28 transport answers MissingRequiredClientCapability,
 *        -32021, with 400).
 *
 * retry_after_s and scope are set with their status only (mcp_fail()
 * clears them). */
struct mcp_err {
    struct mg_error e;
    struct json_object *data;
    int retry_after_s; /* e.http 429: seconds the client waits before retrying */
    const char *scope; /* static; e.http 403: the scopes the call needs (oauth/scope.h) */
};

/* One request's dispatch state: who asked, and how its messages travel. */
struct mcp_call {
    const struct mcp_env *env;
    const char *version;            /* the session's version, "2026-07-28", NULL at initialize */
    const char *session_hash;       /* NULL without a session (initialize, stateless) */
    struct json_object *request_id; /* borrowed JSON-RPC id; NULL for notifications */
    struct json_object *progress_token; /* borrowed params._meta.progressToken, or NULL */
    char log_level[16];                 /* notifications/message threshold, "" = not set */
    struct json_object *client_caps;    /* owned: the client's capabilities, or NULL */
    int stateless;                      /* 2026-07-28: messages are written, never stored */
    int no_stream;                      /* in a batch: notifications cannot be streamed */
    const char *publish_stream;         /* 2024-11-05: every message goes to this stored stream */

    int streaming;        /* the HTTP response has become an SSE stream */
    int ended;            /* the HTTP response is over (client gone, or closed) */
    int cancelled;        /* the client cancelled (or, stateless, hung up) */
    long long started_ms; /* monotonic start, for the stream's bounded life */
    char stream_id[24];   /* the POST stream once streaming ("" before) */
    void *cancel_waiter;  /* struct mcp_waiter while the call runs */
    int mrtr;             /* stateless, and input is asked for by result (mcp/mrtr.h) */
    struct json_object *input_answers;  /* owned: the client's answers by input key */
    struct json_object *input_requests; /* owned: the input this round asks for, or NULL */
    int input_seq;                      /* numbers the keys of plain tool_request() calls */
    int in_task;            /* runs as a task (mcp/task.h): no request to answer, input is parked */
    int escalate;           /* a task_late tool asked to go on as a task (tool_become_task) */
    int events_sent;        /* notifications and requests sent (max_events_per_call) */
    long long stream_lease; /* the held-stream lease while streaming (mcp/sse.h), or 0 */
    int stream_refused;     /* the caller holds too many streams: this one cannot stream */
    /* a session's tools/call whose waits for the client are held (mcp/call_hold.h) */
    int hold_ok;         /* its requests to the client do not wait in the worker */
    int hold_turn;       /* a later turn: the tool runs again with the answers so far */
    int replay_left;     /* answers of earlier turns not yet asked for again in this run */
    int held;            /* handed over: its response is the held call's, not the caller's */
    char hold_id[32];    /* the request this run sent and must wait for, or "" */
    char hold_key[64];   /* its input key */
    int hold_timeout_ms; /* how long it waits for its answer */

    char new_session_id[MCP_SESSION_ID_LEN + 1]; /* set by a successful initialize */
    const struct tool_def *tool; /* tools/call: the tool once found (metrics), else NULL */
    /* e.code != 0: the error the tools/call answers with whatever its tool
     * returns: a client capability a stateless call's request needed
     * (mcp_call_missing_capability()), or the URL elicitation (-32042) the
     * user must complete first; e.detail is the audit row's; data owned */
    struct mcp_err refusal;
    /* The answer goes out as one JSON body after the call (not streamed,
     * not in a batch): the call's audit row, or initialize's new session
     * row, may stay pending until then. */
    int audit_later;
    struct mcp_audit_pending *audit_pending; /* owned: the row not committed yet (mcp/audit.h) */
};

#endif
