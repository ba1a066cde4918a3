/*
 * mcp/audit.h - what the audit trail and the rate limits see of a tool
 * call.
 *
 * Owns: the decision of what a call's audit row says (outcome, a digest of
 * its arguments with secret-looking fields redacted first, never the
 * arguments themselves) and which counters a call hits (per user and per
 * client, from the configuration).
 */
#ifndef MG_MCP_AUDIT_H
#define MG_MCP_AUDIT_H

#include <json-c/json.h>

#include "mcp/types.h"
#include "store/session.h"

/* Writes the SHA-256 (hex) of args' JSON after replacing the values of
 * fields whose names look secret (password, secret, token, key,
 * credential, authorization, cookie) with "[redacted]". NULL args hash as
 * {}. Cannot fail. */
void mcp_args_digest(struct json_object *args, char out[65]);

/* Appends the call's audit row. Returns 0, or -1 when the store failed
 * (logged). A refusal's row is best effort: its answer is an error anyway.
 * A call answered with a result goes through mcp_tool_result_audited()
 * (mcp/methods.h), which withholds the result when the row is missing. */
int mcp_audit_call(const struct mcp_call *call, const char *tool, struct json_object *args,
                   const char *outcome, const char *detail, long long started_ms);

/* A call's audit row queued for the process's audit writer
 * (store/audit.h), committed later: the call's answer must not go out
 * before it is (mcp_audit_pending_then). */
struct mcp_audit_pending;

/* Queues the call's audit row (as mcp_audit_call) and returns at once.
 * Returns the pending row, which exactly one of the functions below must
 * be given, or NULL when there is no writer (then call mcp_audit_call). */
struct mcp_audit_pending *mcp_audit_call_pending(const struct mcp_call *call, const char *tool,
                                                 struct json_object *args, const char *outcome,
                                                 const char *detail, long long started_ms);

/* Queues a new session's row (store/session.h) for the audit writer, to be
 * committed with the rows of its batch, and returns at once: the pending
 * row, given to exactly one of the functions below (the session exists
 * once it is committed, and its id must not be sent before), or NULL when
 * there is no writer (then call store_session_create). */
struct mcp_audit_pending *mcp_session_create_pending(const struct store_session_new *s);

/* Returns 1 (p freed, *stored set: 1 committed, 0 failed and logged) when
 * the row's transaction is over, else 0 (p still pending). */
int mcp_audit_pending_poll(struct mcp_audit_pending *p, int *stored);

/* Waits until the row's transaction is over and frees p. Returns 0 when it
 * was committed, -1 when it failed (logged). */
int mcp_audit_pending_wait(struct mcp_audit_pending *p);

/* Calls then(arg, stored) once the row's transaction is over: on the
 * writer's thread right after its COMMIT, or on the caller's at once when
 * it is over already; stored is 1 when the row was committed. Frees p. */
void mcp_audit_pending_then(struct mcp_audit_pending *p, void (*then)(void *arg, int stored),
                            void *arg);

/* Counts the call against the user's and the client's limits. Returns 0
 * when it may run, 1 when a limit is exceeded (*retry_after_s set), -1 when
 * the store is unavailable. Without an authenticated principal there is
 * nothing to count: 0. */
int mcp_rate_check(const struct mcp_call *call, int *retry_after_s);

#endif
