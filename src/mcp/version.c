/*
 * mcp/version.c - protocol versions and negotiation.
 */
#include "mcp/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const mcp_versions[] = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"};
const int mcp_n_versions = (int)(sizeof mcp_versions / sizeof mcp_versions[0]);

int mcp_version_supported(const char *v)
{
    for (int i = 0; i < mcp_n_versions; i++)
        if (strcmp(v, mcp_versions[i]) == 0)
            return 1;
    return 0;
}

const char *mcp_version_negotiate(const char *requested)
{
    for (int i = 0; i < mcp_n_versions; i++)
        if (requested && strcmp(requested, mcp_versions[i]) == 0)
            return mcp_versions[i];
    return MCP_VERSION_LATEST;
}

struct json_object *mcp_versions_json(void)
{
    struct json_object *a = json_object_new_array();
    if (json_object_array_add(a, json_object_new_string(MCP_VERSION_MODERN)) != 0)
        abort();
    for (int i = mcp_n_versions - 1; i >= 0; i--)
        if (json_object_array_add(a, json_object_new_string(mcp_versions[i])) != 0)
            abort();
    return a;
}

int mcp_version_allows_batch(const char *v)
{
    return strcmp(v, "2025-03-26") == 0;
}

void mcp_version_list(char *out, unsigned long n)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < mcp_n_versions && used < n; i++) {
        int w = snprintf(out + used, n - used, "%s%s", i ? ", " : "", mcp_versions[i]);
        if (w < 0)
            return;
        used += (size_t)w;
    }
}
