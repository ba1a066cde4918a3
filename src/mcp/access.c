/*
 * mcp/access.c - who may see and call which tool.
 */
#include "mcp/access.h"

#include <string.h>

#include "oauth/live.h"
#include "oauth/scope.h"
#include "store/policy.h"
#include "tools/policy.h"
#include "util/config.h"
#include "util/json.h"
#include "util/log.h"

int mcp_policy_load(const struct mcp_env *env)
{
    struct tool_policy *p = env->policy;
    if (!env->principal || !p || p->loaded)
        return p && p->failed ? -1 : 0;
    p->default_allow = env->cfg->policy_default_allow;
    if (store_policy_load(env->db, env->principal->user_id, p) != STORE_OK) {
        LOG_ERROR("msg=\"could not load the tool policy: nothing is permitted\"");
        p->failed = 1;
        p->loaded = 1;
        return -1;
    }
    return 0;
}

const struct tool_def *mcp_tool_find(const struct mcp_env *env, const char *name)
{
    const struct tool_def *tool = tool_find_db(env->db, name);
    return tool && tool_connector_has(env->connector, tool) ? tool : NULL;
}

int mcp_tool_permitted(const struct mcp_env *env, const struct tool_def *tool)
{
    if (!tool_connector_has(env->connector, tool))
        return 0;
    if (!env->principal || !env->policy)
        return 1;
    (void)mcp_policy_load(env); /* a failed load permits nothing */
    return tool_policy_allows(env->policy, tool->name);
}

int mcp_access_allowed(const struct mcp_env *env, enum tool_access access)
{
    const char *needs = access == TOOL_READ ? OAUTH_SCOPE_READ : OAUTH_SCOPE_WRITE;
    return !env->principal || oauth_principal_allows(env->principal, needs);
}

int mcp_tool_allowed(const struct mcp_env *env, const struct tool_def *tool)
{
    return mcp_access_allowed(env, tool->access);
}

const char *mcp_scope_missing(const struct mcp_env *env, const struct jsonrpc_msg *msg)
{
    if (!env->principal || msg->kind != JSONRPC_REQUEST || strcmp(msg->method, "tools/call") != 0)
        return NULL;
    const char *name = json_get_string(msg->params, "name");
    const struct tool_def *tool = name ? mcp_tool_find(env, name) : NULL;
    return tool && !mcp_tool_allowed(env, tool) ? OAUTH_SCOPES_ALL : NULL;
}

int mcp_credential_ended(const struct mcp_env *env)
{
    switch (oauth_principal_live(env->cfg, env->db, env->principal)) {
    case OAUTH_LIVE_OK:
        return 0;
    case OAUTH_LIVE_ENDED:
        LOG_INFO("msg=\"call stopped: its credential was revoked or has expired\" user=%s "
                 "api_key=%d",
                 env->principal->username, env->principal->api_key);
        return 1;
    case OAUTH_LIVE_UNAVAIL:
        LOG_WARN("msg=\"could not check the credential of a waiting call again\"");
        return -1;
    }
    return -1;
}
