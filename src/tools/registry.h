/*
 * tools/registry.h - the tools a user can list and call.
 *
 * Owns: tool definitions (name, description, input schema, access class and
 * the annotations it implies) and the lookup by name. In this version the
 * registry holds the builtin tools and, in the test build only, the test
 * fixtures; backends (REST, upstream MCP) come later.
 * Must not touch: JSON-RPC framing, HTTP, SQL.
 */
#ifndef MG_TOOLS_REGISTRY_H
#define MG_TOOLS_REGISTRY_H

#include <json-c/json.h>

#include "util/error.h"

/* What a tool may do; sets the MCP annotations clients use to decide
 * whether to ask the user before a call. */
enum tool_access {
    TOOL_READ,        /* reads only: readOnlyHint */
    TOOL_WRITE,       /* changes something, can be repeated safely or not */
    TOOL_DESTRUCTIVE, /* deletes or overwrites: destructiveHint */
};

/*
 * What a running tool call may do besides return its result. mcp/ fills it
 * in for every call; tools use the tool_*() helpers below and never see
 * JSON-RPC or HTTP. All functions may be called from the calling thread
 * only.
 */
struct store_conn;

struct tool_ctx {
    void *impl;                /* the MCP layer's call state */
    struct store_conn *db;     /* the calling thread's store connection, or NULL */
    long long user_id;         /* the calling user (auth = oauth), or 0 */
    const char *subject_token; /* auth = resource: the caller's access token as its request
                                  carried it, borrowed for the call, for exchange slots
                                  (tools/exchange.h) only; a secret: never logged, stored
                                  or forwarded. NULL in other modes and in a task. */
    /* Sends a notification to the client on this call's stream (switching
     * the HTTP response to SSE). Takes params. Returns 0, or -1 when it
     * could not be stored (the client may still be gone: work goes on). */
    int (*notify)(void *impl, const char *method, struct json_object *params);
    /* Sends notifications/progress when the client asked for progress
     * (a progressToken); total < 0 and message NULL are omitted. */
    int (*progress)(void *impl, double progress, double total, const char *message);
    /* Sends notifications/message if level passes the session's
     * logging/setLevel threshold. Takes data. */
    int (*log)(void *impl, const char *level, const char *logger, struct json_object *data);
    /* Sends a server-to-client request (sampling/createMessage,
     * elicitation/create, roots/list) and waits up to timeout_ms for the
     * client's response, which may arrive at any process. Takes params.
     * Returns the new result object; or NULL with the reason in err->msg
     * (client lacks the capability, timeout, error response, cancelled).
     * On a session's POST the wait may be held without the worker: the
     * run then ends here (NULL) and the tool runs again from the start
     * once the answer came, its n-th request answered with the n-th
     * answer (mcp/call_hold.h); as with input (below), a tool must do
     * nothing before its requests that it cannot do twice. */
    struct json_object *(*request)(void *impl, const char *method, struct json_object *params,
                                   int timeout_ms, struct mg_error *err);
    /* As request, naming the input key: a stateless (2026-07-28) client
     * is not sent the request but answers it by retrying the call
     * (input-required results, mcp/mrtr.h), and the answer it gave under
     * key is returned when the call runs again. Returns NULL with err
     * while the answer is still missing; the tool then returns any
     * result, which the client never sees, and the call ends asking for
     * every input requested so far. Keys are the tool's own names. */
    struct json_object *(*input)(void *impl, const char *key, const char *method,
                                 struct json_object *params, int timeout_ms, struct mg_error *err);
    /* Returns 1 once the client cancelled this call (notifications/cancelled). */
    int (*cancelled)(void *impl);
    /* Returns 1 when the client declared capability name ("sampling",
     * "elicitation", "roots") at initialize. */
    int (*client_has)(void *impl, const char *name);
    /* The call cannot go on until the user visits url (to sign in or link
     * an account there; message says why, for the user). When the client
     * declared URL-mode elicitation (2025-11-25), the call is answered
     * with the URL elicitation error (-32042) instead of the tool's result
     * and 1 is returned; else 0 (the tool's result, with the link in its
     * text, is the answer). May be NULL (no MCP client: 0). */
    int (*url_required)(void *impl, const char *url, const char *message);
    /* Ends the HTTP response early with a retry hint (SSE polling,
     * SEP-1699): the client reconnects with Last-Event-ID and receives the
     * rest, the call goes on meanwhile. */
    void (*close_stream)(void *impl);
    /* For a tool with task_late set: asks to go on as a task (tasks
     * extension). Returns 1 when the call continues as a task that runs
     * the tool again, elsewhere, with the answers gathered so far (the tool
     * returns at once, any result); 0 when the tool should do its work
     * here (it already runs as a task, or the client cannot have one). */
    int (*become_task)(void *impl);
    /* Tells every session subscribed to uri, at whatever process, that the
     * resource changed (notifications/resources/updated on its GET or /sse
     * stream). Returns 0, or -1 when a notification could not be stored. */
    int (*resource_updated)(void *impl, const char *uri);
    const struct tool_def *tool; /* the tool being called (backend tools find their
                                    operation in tool->data) */
};

static inline int tool_notify(struct tool_ctx *c, const char *method, struct json_object *params)
{
    return c->notify(c->impl, method, params);
}
static inline int tool_progress(struct tool_ctx *c, double progress, double total,
                                const char *message)
{
    return c->progress(c->impl, progress, total, message);
}
static inline int tool_log(struct tool_ctx *c, const char *level, const char *logger,
                           struct json_object *data)
{
    return c->log(c->impl, level, logger, data);
}
static inline struct json_object *tool_request(struct tool_ctx *c, const char *method,
                                               struct json_object *params, int timeout_ms,
                                               struct mg_error *err)
{
    return c->request(c->impl, method, params, timeout_ms, err);
}
static inline struct json_object *tool_input(struct tool_ctx *c, const char *key,
                                             const char *method, struct json_object *params,
                                             int timeout_ms, struct mg_error *err)
{
    return c->input(c->impl, key, method, params, timeout_ms, err);
}
static inline int tool_cancelled(struct tool_ctx *c)
{
    return c->cancelled(c->impl);
}
static inline int tool_client_has(struct tool_ctx *c, const char *name)
{
    return c->client_has(c->impl, name);
}
static inline int tool_url_required(struct tool_ctx *c, const char *url, const char *message)
{
    return c && c->url_required ? c->url_required(c->impl, url, message) : 0;
}
static inline void tool_close_stream(struct tool_ctx *c)
{
    c->close_stream(c->impl);
}
static inline int tool_become_task(struct tool_ctx *c)
{
    return c->become_task(c->impl);
}
static inline int tool_resource_updated(struct tool_ctx *c, const char *uri)
{
    return c->resource_updated(c->impl, uri);
}

/* Calls the tool with its arguments (an object, borrowed). Returns a new
 * CallToolResult object ({content, isError}); tool failures are results
 * with isError true, never NULL. */
typedef struct json_object *(*tool_call_fn)(struct tool_ctx *ctx, struct json_object *args);

/* Whether a tool may run as a task of the tasks extension (2026-07-28
 * clients that declared it): the server decides, not the client. */
enum tool_task {
    TOOL_TASK_FORBIDDEN, /* always answers in the request (the default) */
    TOOL_TASK_OPTIONAL,  /* a task when the client has the extension, else in the request */
    TOOL_TASK_REQUIRED,  /* only as a task: a client without the extension gets -32021 */
};

struct tool_def {
    const char *name;         /* [A-Za-z0-9_.-]{1,128} */
    const char *title;        /* for people */
    const char *description;  /* for the model */
    const char *input_schema; /* JSON Schema text: an object schema */
    enum tool_access access;
    int open_world; /* 1 when it reaches outside mcpgate */
    tool_call_fn call;
    void *data;           /* the implementation's own (e.g. a REST operation), or NULL */
    const char *keywords; /* more words search_tools finds it by (a REST tool's tags and
                             path), or NULL */
    int deprecated;       /* 1: the API marks it deprecated (search ranks it last) */
    const char *backend;  /* the backend it comes from, or NULL (a builtin) */
    const char *tags;     /* its tags, each followed by '\n' ("Projects\nApps\n"), or NULL */
    enum tool_task task_support;
    int task_late; /* 1: runs in the request first, and asks for a task itself
                      (tool_become_task) once it has gathered its input */
};

/* Adds a table of n definitions (static storage, not copied) to the
 * registry. Called at start-up, before threads exist. Aborts when a name
 * is invalid or taken (a programming error). */
void tool_registry_add(const struct tool_def *defs, int n);

/* Returns the tool named name, or NULL. Dynamic sources answer from their
 * per-process copy (see tool_find_db). */
const struct tool_def *tool_find(const char *name);

/* Returns a new array of MCP Tool objects for tools/list. Dynamic sources
 * list their per-process copy (see tool_list_json_db). */
struct json_object *tool_list_json(void);

/*
 * A dynamic source of tools: tools that change while the process runs
 * (the tools of upstream MCP servers, tools/upstream.h), unlike the static
 * tables of tool_registry_add(). The registry consults the sources after
 * its tables, in the order they were added. Callbacks run on any worker
 * thread at once; db is the calling thread's store connection, or NULL
 * (then the source answers from what the process already holds).
 */
struct tool_source {
    /* Appends the source's MCP Tool objects (new) to arr. Cannot fail: a
     * source that cannot list leaves its tools out (and logs why). */
    void (*list)(void *self, struct store_conn *db, struct json_object *arr);
    /* Returns the source's tool called name, or NULL. The definition stays
     * valid on this thread until the thread's next find or list call on
     * the same source (each thread holds one version of the source's
     * tools), and at least for the duration of the tool's call. */
    const struct tool_def *(*find)(void *self, struct store_conn *db, const char *name);
    void *self;
};

/* Adds a source (static storage, not copied). Called at start-up, before
 * threads exist. Aborts when there are too many (a programming error). */
void tool_registry_add_source(const struct tool_source *src);

/* The static tools (those of tool_registry_add, in listing order), for
 * lists that page through them without building every entry:
 * tool_static_json() returns a new object, the tool's tools/list entry.
 * tool_source_count() tells whether dynamic sources exist, whose tools
 * come after the static ones. */
int tool_static_count(void);
int tool_source_count(void);
const struct tool_def *tool_static_at(int i);
struct json_object *tool_static_json(int i);

/* A page of static tools for output only: a new array object that
 * serializes as the entries of the static tools idx[0..n-1] (each an index
 * below tool_static_count()), in that order, each the text made at
 * start-up, and that has no elements to read. idx is copied. Cannot fail
 * (out of memory aborts). */
struct json_object *tool_static_page(const int *idx, int n);

/* The static tool called name (a builtin or a REST backend's), or NULL;
 * dynamic sources are not asked. */
const struct tool_def *tool_find_static(const char *name);

/* tool_find() that lets dynamic sources refresh their copy through db. */
const struct tool_def *tool_find_db(struct store_conn *db, const char *name);

/* tool_list_json() that lets dynamic sources refresh their copy through db. */
struct json_object *tool_list_json_db(struct store_conn *db);

/* The tools of the dynamic sources alone (those tool_list_json_db() lists
 * after the static ones): a new array. */
struct json_object *tool_sources_list_json_db(struct store_conn *db);

/* Helper for tool implementations: a new result with one text content. */
struct json_object *tool_result_text(const char *text, int is_error);

/* Registers the builtin tools. Idempotent. */
void tool_builtin_register(void);

#endif
