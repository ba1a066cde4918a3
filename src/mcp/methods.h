/*
 * mcp/methods.h - MCP method dispatch.
 *
 * Owns: the table of methods and what each returns: initialize (version
 * negotiation, session creation), ping, tools/list, tools/call.
 * Must not touch: HTTP (the transport decides statuses), SQL (store/).
 */
#ifndef MG_MCP_METHODS_H
#define MG_MCP_METHODS_H

#include <json-c/json.h>

#include "mcp/jsonrpc.h"
#include "mcp/session.h"
#include "tools/policy.h"
#include "tools/registry.h"
#include "store/db.h"
#include "util/config.h"

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

    int streaming;                  /* the HTTP response has become an SSE stream */
    int ended;                      /* the HTTP response is over (client gone, or closed) */
    int cancelled;                  /* the client cancelled (or, stateless, hung up) */
    long long started_ms;           /* monotonic start, for the stream's bounded life */
    char stream_id[24];             /* the POST stream once streaming ("" before) */
    void *cancel_waiter;            /* struct mcp_waiter while the call runs */
    const char *missing_capability; /* stateless: a client capability the call needed */
    int mrtr;                       /* stateless, and input is asked for by result (mcp/mrtr.h) */
    struct json_object *input_answers;  /* owned: the client's answers by input key */
    struct json_object *input_requests; /* owned: the input this round asks for, or NULL */
    int input_seq;                      /* numbers the keys of plain tool_request() calls */
    int in_task;            /* runs as a task (mcp/task.h): no request to answer, input is parked */
    int escalate;           /* a task_late tool asked to go on as a task (tool_become_task) */
    int rate_limited_s;     /* > 0: refused by a rate limit; retry after this long */
    int events_sent;        /* notifications and requests sent (max_events_per_call) */
    long long stream_lease; /* the held-stream lease while streaming (mcp/sse.h), or 0 */
    int stream_refused;     /* the caller holds too many streams: this one cannot stream */

    char new_session_id[MCP_SESSION_ID_LEN + 1]; /* set by a successful initialize */
    int unavailable;                             /* set when the store could not be reached */
    const char *insufficient_scope; /* static: the scopes a refused call needs (HTTP 403) */
    const struct tool_def *tool;    /* tools/call: the tool once found (metrics), else NULL */
};

/* A method's failure: code and a message safe to show the client, and
 * optionally the error's data member (owned; mcp_dispatch sends it). */
struct mcp_err {
    int code;
    char message[256];
    struct json_object *data;
};

/* Handles one request or notification (msg->kind must be one of those).
 * Returns a new JSON-RPC response object for a request, NULL for a
 * notification. Store outages set call->unavailable and answer -32603. */
struct json_object *mcp_dispatch(struct mcp_call *call, const struct jsonrpc_msg *msg);

/* Calls the tool named name with args (an object or NULL) with every check
 * a tools/call gets after the rate limits (which count the tools/call
 * itself): policy, scopes, audit. Returns the CallToolResult, or NULL with
 * err. */
struct json_object *mcp_tools_call_named(struct mcp_call *call, const char *name,
                                         struct json_object *args, struct mcp_err *err);

/* Writes the audit row of a call that produced the CallToolResult r
 * (outcome "ok", "error" or "cancelled"; detail may be NULL) and returns r.
 * When the row cannot be written it frees r, sets call->unavailable and
 * returns NULL with err (-32603: the client gets 503 with Retry-After), so
 * that no call is answered with a result the audit trail lacks. */
struct json_object *mcp_tool_result_audited(struct mcp_call *call, const char *tool,
                                            struct json_object *args, const char *outcome,
                                            const char *detail, long long started_ms,
                                            struct json_object *r, struct mcp_err *err);

/* Returns 1 when msg->method exists in the method table. */
int mcp_method_known(const char *method);

/* Loads the caller's tool policy (mcpgate policy) into env->policy unless
 * done. Returns 0, or -1 when it could not be read: the method should then
 * answer "unavailable" rather than list or refuse tools by it. */
int mcp_policy_load(const struct mcp_env *env);

/* Returns 1 when the caller's tool policy lets them see and call tool:
 * always without authentication. Loads the policy on first use; if it
 * cannot be loaded, nothing is permitted (mcp_policy_load says so first).
 * A tool outside the endpoint's connector is never permitted. */
int mcp_tool_permitted(const struct mcp_env *env, const struct tool_def *tool);

/* The tool called name as the endpoint serves it: tool_find_db(), or NULL
 * when there is none or it is outside env's connector (to the client, a
 * tool of another connector does not exist). */
const struct tool_def *mcp_tool_find(const struct mcp_env *env, const char *name);

/* Returns 1 when env's caller may see and call tool: always with auth = none
 * (no principal); with OAuth, TOOL_READ tools need mcp:tools:read and the
 * others mcp:tools:write. */
int mcp_tool_allowed(const struct mcp_env *env, const struct tool_def *tool);

/* The scopes msg needs and env's caller lacks (static, for a 403
 * insufficient_scope naming them all), or NULL when it may go ahead: a
 * tools/call of a tool the caller may not use. Lets a transport that must
 * answer before it dispatches (2024-11-05 /messages) refuse up front. */
const char *mcp_scope_missing(const struct mcp_env *env, const struct jsonrpc_msg *msg);

/* Builds the tool context of a call (mcp/call.c). */
void mcp_call_tool_ctx(struct mcp_call *call, struct tool_ctx *ctx);

/* Prepares call for msg (request id, progress token) and registers its
 * cancellation key; mcp_call_finish() undoes it. */
void mcp_call_begin(struct mcp_call *call, const struct jsonrpc_msg *msg);
void mcp_call_finish(struct mcp_call *call);

/* Delivers the call's final response. When the call is streaming it is
 * stored and written as the stream's last event, the response ends, and 1
 * is returned (the caller sends nothing more); otherwise 0 and the caller
 * sends resp as JSON. Takes resp in the first case only. */
int mcp_call_respond(struct mcp_call *call, struct json_object *resp);

#endif
