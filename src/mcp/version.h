/*
 * mcp/version.h - the MCP protocol versions mcpgate serves and how a
 * version is negotiated at initialize.
 *
 * Source: specification 2025-11-25, basic/lifecycle.mdx: the server echoes
 * the requested version when it supports it, otherwise answers with the
 * latest it supports; the client then decides whether to continue.
 */
#ifndef MG_MCP_VERSION_H
#define MG_MCP_VERSION_H

#include <json-c/json.h>

#define MCP_VERSION_LATEST "2025-11-25"

/* Versions that use the initialize handshake, oldest first. */
extern const char *const mcp_versions[];
extern const int mcp_n_versions;

/* Returns 1 when v names a supported version, else 0. */
int mcp_version_supported(const char *v);

/* Returns the version to answer initialize with: requested when supported,
 * else MCP_VERSION_LATEST. Static string. */
const char *mcp_version_negotiate(const char *requested);

/* Returns 1 when the version accepts JSON-RPC batches (2025-03-26 only). */
int mcp_version_allows_batch(const char *v);

/* The stateless version (2026-07-28: no initialize, per-request _meta). */
#define MCP_VERSION_MODERN "2026-07-28"

/* Returns a new JSON array of every version served, newest first: the
 * stateless one, then the handshake ones. server/discover's
 * supportedVersions and the -32022 error's data.supported both use it, so
 * the two never disagree. */
struct json_object *mcp_versions_json(void);

/* Writes the supported versions as "a, b, c" into out. */
void mcp_version_list(char *out, unsigned long n);

#endif
