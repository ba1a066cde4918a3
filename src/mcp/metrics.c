/*
 * mcp/metrics.c - what the counters see of a tool call.
 */
#include "mcp/metrics.h"

#include <stdio.h>
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

void mcp_metrics_call_prepare(struct mcp_call_metric *m, const struct mcp_call *call,
                              const char *tool, const char *outcome, const char *detail,
                              int duration_ms)
{
    const struct oauth_principal *p = call->env ? call->env->principal : NULL;
    const char *client = !p                ? "none"
                         : p->api_key      ? "api_key"
                         : p->client_id[0] ? p->client_id
                                           : "none";
    const char *backend = call->tool ? tool_backend_name(call->tool) : NULL;
    if (!call->tool && mcp_discovery_is_meta(tool))
        backend = "mcpgate";
    snprintf(m->tool, sizeof m->tool, "%s", backend ? tool : "(unknown)");
    snprintf(m->backend, sizeof m->backend, "%s", backend ? backend : "none");
    snprintf(m->client, sizeof m->client, "%s", client);
    snprintf(m->outcome, sizeof m->outcome, "%s", outcome);
    snprintf(m->detail, sizeof m->detail, "%s", detail ? detail : "");
    m->duration_ms = duration_ms;
    m->has_backend = backend != NULL;
}

void mcp_metrics_call_record(const struct mcp_call_metric *m, int stored)
{
    const char *out = metrics_outcome(m->outcome, m->detail, stored);
    metrics_add("mcpgate_tool_calls_total", 1, "tool", m->tool, "backend", m->backend, "outcome",
                out, "client", m->client, NULL);
    if (m->has_backend && strcmp(m->outcome, "refused") != 0)
        metrics_observe("mcpgate_tool_call_duration_seconds", m->duration_ms / 1000.0,
                        duration_bounds, (int)(sizeof duration_bounds / sizeof duration_bounds[0]),
                        "backend", m->backend, NULL);
}

void mcp_metrics_call(const struct mcp_call *call, const char *tool, const char *outcome,
                      const char *detail, int duration_ms, int stored)
{
    struct mcp_call_metric m;
    mcp_metrics_call_prepare(&m, call, tool, outcome, detail, duration_ms);
    mcp_metrics_call_record(&m, stored);
}
