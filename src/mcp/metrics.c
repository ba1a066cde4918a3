/*
 * mcp/metrics.c - what the counters see of a tool call.
 */
#include "mcp/metrics.h"

#include <string.h>

#include "mcp/discovery.h"
#include "oauth/scope.h"
#include "tools/backends.h"
#include "util/metrics.h"

static const double duration_bounds[] = {METRICS_DURATION_BUCKETS};

static const char *metrics_outcome(const char *outcome, const char *detail, int stored)
{
    if (!stored)
        return "unavailable";
    if (strcmp(outcome, "error") == 0)
        return "tool_error";
    if (strcmp(outcome, "refused") == 0)
        return detail && strcmp(detail, "rate limited") == 0 ? "rate_limited" : "policy_refused";
    return outcome; /* ok, cancelled, input_required */
}

void mcp_metrics_call(const struct mcp_call *call, const char *tool, const char *outcome,
                      const char *detail, int duration_ms, int stored)
{
    const struct oauth_principal *p = call->env ? call->env->principal : NULL;
    const char *client = !p                ? "none"
                         : p->api_key      ? "api_key"
                         : p->client_id[0] ? p->client_id
                                           : "none";
    const char *backend = call->tool ? tool_backend_name(call->tool) : NULL;
    if (!call->tool && mcp_discovery_is_meta(tool))
        backend = "mcpgate";
    const char *name = backend ? tool : "(unknown)";
    const char *out = metrics_outcome(outcome, detail, stored);
    metrics_add("mcpgate_tool_calls_total", 1, "tool", name, "backend", backend ? backend : "none",
                "outcome", out, "client", client, NULL);
    if (backend && strcmp(outcome, "refused") != 0)
        metrics_observe("mcpgate_tool_call_duration_seconds", duration_ms / 1000.0, duration_bounds,
                        (int)(sizeof duration_bounds / sizeof duration_bounds[0]), "backend",
                        backend, NULL);
}
