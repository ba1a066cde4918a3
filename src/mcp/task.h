/*
 * mcp/task.h - the tasks extension (io.modelcontextprotocol/tasks,
 * SEP-2663) for stateless (2026-07-28) clients.
 *
 * A client that declares the extension in its request's client
 * capabilities (_meta["io.modelcontextprotocol/clientCapabilities"]
 * .extensions) and calls a tool whose task_support is optional or
 * required gets, instead of the tool's result,
 *   {"resultType":"task","taskId":ID,"status":"working","createdAt":T,
 *    "lastUpdatedAt":T,"ttlMs":N,"pollIntervalMs":N}
 * once the task's row is committed (store/task.h), and then polls any
 * process with tasks/get (the result or error inlined once terminal),
 * answers input requests with tasks/update, and stops it with
 * tasks/cancel. A client without the extension gets -32021 for a
 * required tool and the plain result for an optional one.
 *
 * Which process runs a task: the one that created it, in a thread of its
 * own (not a worker thread: the process goes on serving requests, and
 * under mod_fcgid it counts as idle while the task runs), with its own
 * database connection. No FastCGI request is open meanwhile, so no web
 * server timeout bounds the task. When the process is told to stop
 * (SIGTERM: a web server restart, mod_fcgid retiring an idle process),
 * its tasks see cancellation; those that have not ended within
 * MCP_TASK_DRAIN_S are marked failed ("the process running the task
 * stopped"), so a client never waits on a task nobody runs. A process
 * killed outright (SIGKILL, a crash) cannot mark anything: its tasks stay
 * working until their TTL expires.
 *
 * A task keeps its caller's principal without the bearer token. Each
 * round after the first (the tool run again once tasks/update answered
 * its input) checks that credential again (mcp_credential_ended()): one
 * revoked or expired, or whose user was disabled or deleted, ends the
 * task failed with MCP_CREDENTIAL_ENDED_MSG (-32000), audited "refused".
 *
 * Must not touch: SQL (store/task.h), HTTP.
 */
#ifndef MG_MCP_TASK_H
#define MG_MCP_TASK_H

#include "mcp/types.h"

#define MCP_TASKS_EXTENSION      "io.modelcontextprotocol/tasks"
#define MCP_TASK_TTL_MS          3600000 /* a task is kept an hour after it was created */
#define MCP_TASK_POLL_MS         500     /* the pollIntervalMs clients are given */
#define MCP_TASK_MAX_PER_PROCESS 32      /* tasks one process runs at once */
#define MCP_TASK_DRAIN_S         10      /* how long a stopping process waits for its tasks */

/* Returns 1 when the call's client declared the tasks extension. */
int mcp_task_declared(const struct mcp_call *call);

/* The -32021 error for a tool that needs a task when the client lacks the
 * extension: fills err (with data.requiredCapabilities) and returns NULL. */
struct json_object *mcp_task_required_error(struct mcp_err *err);

/* Turns a tools/call of tool (checked: policy, scope, rate) into a task:
 * stores it with the answers gathered so far (call->input_answers, may be
 * NULL), starts its runner and returns the CreateTaskResult. Returns NULL
 * with err when it cannot be stored or too many tasks run here. */
struct json_object *mcp_task_start(struct mcp_call *call, const struct tool_def *tool,
                                   struct json_object *args, struct mcp_err *err);

/* The methods tasks/get, tasks/update and tasks/cancel (mcp/methods.c's
 * table). Only stateless calls have them. */
struct json_object *mcp_tasks_get(struct mcp_call *call, struct json_object *params,
                                  struct mcp_err *err);
struct json_object *mcp_tasks_update(struct mcp_call *call, struct json_object *params,
                                     struct mcp_err *err);
struct json_object *mcp_tasks_cancel(struct mcp_call *call, struct json_object *params,
                                     struct mcp_err *err);

/* At process stop, after the workers ended: waits up to MCP_TASK_DRAIN_S
 * for this process's tasks to end (they see cancellation), then marks the
 * rest failed through a connection of its own to conninfo. */
void mcp_tasks_drain(const char *conninfo, int connect_timeout_s);

#endif
