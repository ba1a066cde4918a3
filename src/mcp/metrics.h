/*
 * mcp/metrics.h - what the counters (util/metrics.h) see of a tool call.
 *
 * Owns: the labels of mcpgate_tool_calls_total (tool, backend, outcome,
 * client) and the observation of mcpgate_tool_call_duration_seconds, taken
 * where the call's audit row is written (mcp/audit.h), so the counts and
 * the audit trail see the same calls:
 *
 *   audit outcome          metrics outcome
 *   ok                     ok
 *   error                  tool_error
 *   refused, rate limited  rate_limited
 *   refused, otherwise     policy_refused (policy, scope, unknown tool, ...)
 *   cancelled              cancelled
 *   input_required         input_required
 *   (row not written)      unavailable
 *
 * A name the client made up never becomes a label: a call refused before
 * its tool was found (unknown tool, rate limit) counts as tool="(unknown)",
 * backend="none". client is the OAuth client id, "api_key" for a personal
 * API key, "none" without authentication.
 */
#ifndef MG_MCP_METRICS_H
#define MG_MCP_METRICS_H

#include "mcp/types.h"

/* One call's labels, copied into one allocation sized to them, for counting
 * it later on another thread (once its audit row is committed): up to every
 * connection's call may wait so at once. */
struct mcp_call_metric {
    const char *tool;
    const char *backend;
    const char *client; /* as oauth_principal.client_id */
    const char *outcome;
    const char *detail; /* "rate limited" or not is all that counts */
    int duration_ms;
    int has_backend;
    char text[]; /* the labels */
};

/* The call's labels (free() them). Cannot fail. */
struct mcp_call_metric *mcp_metrics_call_new(const struct mcp_call *call, const char *tool,
                                             const char *outcome, const char *detail,
                                             int duration_ms);

/* Counts the call of m (stored: 1 when its audit row was written). */
void mcp_metrics_call_record(const struct mcp_call_metric *m, int stored);

/* Counts one audited tool call (stored: 1 when its audit row was written):
 * its labels and its count at once. Cannot fail. */
void mcp_metrics_call(const struct mcp_call *call, const char *tool, const char *outcome,
                      const char *detail, int duration_ms, int stored);

#endif
