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

/* Counts the call against the user's and the client's limits. Returns 0
 * when it may run, 1 when a limit is exceeded (*retry_after_s set), -1 when
 * the store is unavailable. Without an authenticated principal there is
 * nothing to count: 0. */
int mcp_rate_check(const struct mcp_call *call, int *retry_after_s);

#endif
