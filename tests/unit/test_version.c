/*
 * tests/unit/test_version.c - protocol version negotiation.
 */
#include "mcp/version.h"
#include "tap.h"

int main(void)
{
    const char *all[] = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"};
    for (int i = 0; i < 4; i++) {
        ok(mcp_version_supported(all[i]), "%s is supported", all[i]);
        is_str(mcp_version_negotiate(all[i]), all[i], "a supported version is echoed");
    }
    is_str(mcp_version_negotiate("1999-01-01"), MCP_VERSION_LATEST,
           "an unknown version gets the latest");
    is_str(mcp_version_negotiate("2026-07-28"), MCP_VERSION_LATEST,
           "the stateless era version is not negotiated by initialize");
    is_str(mcp_version_negotiate(NULL), MCP_VERSION_LATEST, "no version gets the latest");
    ok(!mcp_version_supported("2025-11-25 "), "trailing space is not a version");
    ok(!mcp_version_supported(""), "empty is not a version");
    ok(mcp_version_allows_batch("2025-03-26"), "2025-03-26 allows batches");
    ok(!mcp_version_allows_batch("2025-06-18"), "2025-06-18 forbids batches");
    ok(!mcp_version_allows_batch("2024-11-05"), "2024-11-05 forbids batches on /mcp");
    char list[128];
    mcp_version_list(list, sizeof list);
    is_str(list, "2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25", "version list for errors");
    return tap_done();
}
