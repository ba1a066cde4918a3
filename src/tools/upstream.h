/*
 * tools/upstream.h - "mcp" backends: upstream MCP servers aggregated over
 * Streamable HTTP (MCP 2025-11-25, "Transports").
 *
 * Owns: the protocol client (upstream.c: initialize and the upstream's
 * Mcp-Session-Id, tools/list with its cursors, tools/call with a JSON or
 * an SSE answer, progress and log notifications passed on to the client,
 * cancellation, errors mapped to tool results) and the upstreams' tools
 * as a dynamic source of the registry (upstream_tools.c: each upstream's
 * tools/list cached in PostgreSQL through store/upstream_cache.h, a copy
 * per process, tools named "<backend>_<upstream name>").
 *
 * Safety, as for REST backends (tools/rest.c): requests are built from the
 * backend file and the arguments only, never from the client's request
 * (its Authorization header is never forwarded); the backend's credential
 * slots are injected here and appear in no listing, result, message or log
 * line (an upstream answer that echoes one has it replaced by
 * "[redacted]"); the connect-time address check refuses loopback and
 * private addresses unless allow_private; no redirects, no proxy from the
 * environment; every exchange is bounded by the backend's timeout_ms and
 * max_response_bytes. URLs are not logged.
 *
 * Must not touch: SQL (store/upstream_cache.h), the client side's HTTP and
 * JSON-RPC framing (tool_ctx).
 */
#ifndef MG_TOOLS_UPSTREAM_H
#define MG_TOOLS_UPSTREAM_H

#include <json-c/json.h>
#include <pthread.h>
#include <stddef.h>

#include "tools/backend.h"
#include "tools/registry.h"
#include "util/error.h"

#define TOOL_UPSTREAM_PROTOCOL_VERSION "2025-11-25"
#define TOOL_UPSTREAM_MAX              64 /* mcp backends per process */
#define TOOL_UPSTREAM_CALLER_SESSIONS  64 /* per-caller sessions kept per exchange backend */

struct up_snapshot;

/* One session with the upstream (MCP "Session Management"). */
struct up_session {
    char key[65];         /* the caller (tool_exchange_caller_key()); "" shared or free */
    char session_id[256]; /* the upstream's Mcp-Session-Id, "" when it gave none */
    char version[32];     /* the protocol version it answered initialize with */
    int initialized;      /* 1 after initialize and notifications/initialized */
    int initializing;     /* a thread is initializing it (outside the lock): wait on ready */
    long long used_ms;    /* last use (monotonic): the oldest is reused when all are taken */
};

/* The running state of one mcp backend, shared by the worker threads. */
struct upstream {
    const struct backend *be;            /* set at creation, read-only after */
    int index;                           /* in the list of upstreams (per-thread pins) */
    char source[65];                     /* SHA-256 hex of the URL and the filters: the cache key */
    const struct backend_cred *exchange; /* the exchange slot of the backend's auth, or NULL */
    pthread_mutex_t lock;                /* guards everything below */
    pthread_cond_t ready;                /* an initialize ended (CLOCK_MONOTONIC) */
    struct up_session shared;            /* tools/list's, and every request's without exchange */
    struct up_session *callers;   /* exchange: TOOL_UPSTREAM_CALLER_SESSIONS sessions, one per
                                     caller, else NULL */
    long long next_id;            /* JSON-RPC ids of our requests */
    struct up_snapshot *current;  /* the process's copy of the tools, or NULL */
    long long refused_generation; /* a stored list refused for the memory bound */
    long long checked_ms;         /* when the stored list was last looked at (monotonic) */
};

/* Creates b's running state (b->up) and, the first time, adds the
 * upstreams as a source of the registry. Called by tool_backends_load()
 * at start-up, before threads exist. Returns 0, or -1 when there are
 * TOOL_UPSTREAM_MAX already. */
__attribute__((warn_unused_result)) int tool_upstream_add(struct backend *b);

/* Sets the bound on the memory the upstreams' tool lists (the current
 * version of each) may take in this process, in bytes (config
 * upstream_tools_max_kib; default 32 MiB). A list that would pass it is
 * not stored (the process that fetched it) or not loaded (the others), and
 * the backend keeps the list it had. Call at start-up, before threads. */
void tool_upstream_set_max_bytes(size_t bytes);

/* Frees an upstream's state. Accepts NULL. */
void tool_upstream_free(struct upstream *u);

/* Fetches the upstream's whole tool list (initialize first when needed,
 * every page of nextCursor), bounded by the backend's timeout. Returns a
 * new JSON array of the Tool objects as the upstream sent them, or NULL
 * with a message for the log (no secret, no URL) in why. */
struct json_object *tool_upstream_fetch_tools(struct upstream *u, struct mg_error *err);

/* Calls the upstream's tool name with args (an object, borrowed); ctx may be NULL
 * (the admin command: no progress, no cancellation). The
 * client's progress request is passed on (upstream progress reaches the
 * client through tool_progress), its cancellation ends the exchange and is
 * sent on upstream. Returns a new CallToolResult; upstream faults (HTTP
 * errors, JSON-RPC errors, garbage, timeouts, too large) are results with
 * isError true. */
struct json_object *tool_upstream_call(struct upstream *u, struct tool_ctx *ctx, const char *name,
                                       struct json_object *args);

/* For tests only (tests/fuzz/fuzz_upstream.c): parses body as the answer
 * to request want_id with Content-Type ctype (JSON or an SSE stream), fed
 * in pieces of chunk bytes. Returns the JSON-RPC response to want_id (new
 * reference), or NULL when there is none. */
struct json_object *tool_upstream_parse_for_tests(const struct backend *be, const char *ctype,
                                                  const char *body, size_t len, size_t chunk,
                                                  long long want_id);

/* Replaces every credential value of be found in obj's strings by
 * "[redacted]". Returns obj, or a new object that replaces it (obj is then
 * put). */
struct json_object *tool_upstream_redact(const struct backend *be, struct json_object *obj);

#endif
