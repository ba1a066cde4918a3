/*
 * mcp/metrics.c - what the counters see of a tool call.
 */
#include "mcp/metrics.h"

#include <stdlib.h>
#include <string.h>

#include "mcp/discovery.h"
#include "oauth/scope.h"
#include "tools/backends.h"
#include "util/alloc.h"
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

/* Copies s, cut to max bytes as the labels always were, to *at and returns
 * the copy. */
static const char *label_copy(char **at, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    char *out = *at;
    memcpy(out, s, n);
    out[n] = '\0';
    *at += n + 1;
    return out;
}

struct mcp_call_metric *mcp_metrics_call_new(const struct mcp_call *call, const char *tool,
                                             const char *outcome, const char *detail,
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
    enum { TOOL, BACKEND, CLIENT, OUTCOME, DETAIL, LABELS };
    const char *s[LABELS] = {backend ? tool : "(unknown)", backend ? backend : "none", client,
                             outcome, detail ? detail : ""};
    static const size_t max[LABELS] = {128, 128, 2048, 23, 63};
    size_t n = 0;
    for (int i = 0; i < LABELS; i++)
        n += strnlen(s[i], max[i]) + 1;
    struct mcp_call_metric *m = xmalloc(sizeof *m + n);
    char *at = m->text;
    m->tool = label_copy(&at, s[TOOL], max[TOOL]);
    m->backend = label_copy(&at, s[BACKEND], max[BACKEND]);
    m->client = label_copy(&at, s[CLIENT], max[CLIENT]);
    m->outcome = label_copy(&at, s[OUTCOME], max[OUTCOME]);
    m->detail = label_copy(&at, s[DETAIL], max[DETAIL]);
    m->duration_ms = duration_ms;
    m->has_backend = backend != NULL;
    return m;
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
    struct mcp_call_metric *m = mcp_metrics_call_new(call, tool, outcome, detail, duration_ms);
    mcp_metrics_call_record(m, stored);
    free(m);
}
