/*
 * store/upstream_cache.h - the cached tool lists of upstream MCP servers
 * (table upstream_tools, sql/006_upstream.sql).
 *
 * Owns: persistence of each "mcp" backend's tools/list so that it is
 * fetched from the upstream at most once per TTL across all processes and
 * hosts: reading the row, claiming an expired row for one fetcher,
 * storing a fetched list, recording a failed fetch.
 * Must not touch: HTTP, JSON-RPC, the upstream itself (tools/upstream.h).
 */
#ifndef MG_STORE_UPSTREAM_CACHE_H
#define MG_STORE_UPSTREAM_CACHE_H

#include "store/db.h"

/* One backend's row as store_upstream_get() reads it. */
struct store_upstream_tools {
    long long generation; /* of the stored list; 0 when none was ever stored */
    int fresh;            /* 1 while the list is within its TTL and from the same source */
    int fetching;         /* 1 while another process holds the claim to fetch (not
                             after a failed fetch, whose hold-off is not worth waiting on) */
    char *tools;          /* the list (JSON array text) when its generation differs from
                             the caller's, else NULL; malloc'ed, see clear */
};

/* Frees what store_upstream_get() allocated. Accepts a zeroed struct. */
void store_upstream_tools_clear(struct store_upstream_tools *t);

/* Reads backend's row. source is the fingerprint of the upstream URL (a
 * list from another source is not fresh); known_generation is the
 * generation the caller already holds (its text is then not sent again).
 * Returns STORE_OK and fills *out (all zero when there is no row), or
 * STORE_UNAVAILABLE / STORE_ERROR. */
__attribute__((warn_unused_result)) enum store_rc
store_upstream_get(struct store_conn *c, const char *backend, const char *source,
                   long long known_generation, struct store_upstream_tools *out);

/* Claims the fetch of backend's list for hold_s seconds when the row is
 * missing, expired or from another source and no other claim holds.
 * Sets *claimed to 1 when this caller is now the one to fetch, else 0.
 * Returns STORE_OK, STORE_UNAVAILABLE or STORE_ERROR. */
__attribute__((warn_unused_result)) enum store_rc store_upstream_claim(struct store_conn *c,
                                                                       const char *backend,
                                                                       const char *source,
                                                                       int hold_s, int *claimed);

/* Stores a fetched list (JSON array text) valid for ttl_s seconds and
 * ends the claim. Sets *generation to the new generation. Returns
 * STORE_OK, STORE_NOT_FOUND (no row: claim first), STORE_UNAVAILABLE or
 * STORE_ERROR. */
__attribute__((warn_unused_result)) enum store_rc
store_upstream_put(struct store_conn *c, const char *backend, const char *source, const char *tools,
                   int ttl_s, long long *generation);

/* Records a failed fetch: the last list (if any) stays, the claim holds
 * for retry_s more seconds so the upstream is not asked again at once.
 * why is a short description without secrets or URLs. Returns STORE_OK,
 * STORE_UNAVAILABLE or STORE_ERROR. */
__attribute__((warn_unused_result)) enum store_rc
store_upstream_fail(struct store_conn *c, const char *backend, int retry_s, const char *why);

#endif
