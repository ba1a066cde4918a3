/*
 * store/upstream_cache.c - the cached tool lists of upstream MCP servers
 * (table upstream_tools).
 */
#include "store/upstream_cache.h"

#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"

/* The text of the list only when the caller's generation is another. */
static const struct store_stmt stmt_get = {
    "upstream_get",
    "SELECT generation,"
    " (expires_at > now() AND source IS NOT DISTINCT FROM $2),"
    " coalesce(claimed_until > now() AND last_error IS NULL, false),"
    " CASE WHEN generation <> $3::bigint THEN tools END"
    " FROM upstream_tools WHERE backend = $1",
    3,
};

/* One statement, so two processes cannot both claim: the row is created
 * claimed, or an existing row is claimed only when it needs a fetch and
 * nobody holds it (the UPDATE row-locks it; the loser sees the new claim). */
static const struct store_stmt stmt_claim = {
    "upstream_claim",
    "INSERT INTO upstream_tools AS u (backend, claimed_until)"
    " VALUES ($1, now() + make_interval(secs => $3::int))"
    " ON CONFLICT (backend) DO UPDATE SET claimed_until = EXCLUDED.claimed_until"
    " WHERE (u.tools IS NULL OR u.expires_at <= now() OR u.source IS DISTINCT FROM $2)"
    " AND (u.claimed_until IS NULL OR u.claimed_until <= now())"
    " RETURNING 1",
    3,
};

static const struct store_stmt stmt_put = {
    "upstream_put",
    "UPDATE upstream_tools SET tools = $3, source = $2, generation = generation + 1,"
    " fetched_at = now(), expires_at = now() + make_interval(secs => $4::int),"
    " claimed_until = NULL, fetches = fetches + 1, last_error = NULL"
    " WHERE backend = $1 RETURNING generation",
    4,
};

static const struct store_stmt stmt_fail = {
    "upstream_fail",
    "UPDATE upstream_tools SET claimed_until = now() + make_interval(secs => $2::int),"
    " failures = failures + 1, last_error = left($3, 500)"
    " WHERE backend = $1",
    3,
};

void store_upstream_tools_clear(struct store_upstream_tools *t)
{
    free(t->tools);
    t->tools = NULL;
}

#define TOOLS(kind, field) STORE_COL(kind, struct store_upstream_tools, field)
STORE_ROW_MAP_DEFINE(tools_row, struct store_upstream_tools, TOOLS(LL, generation),
                     TOOLS(BOOL, fresh), TOOLS(BOOL, fetching), TOOLS(DUP_NULL, tools));

enum store_rc store_upstream_get(struct store_conn *c, const char *backend, const char *source,
                                 long long known_generation, struct store_upstream_tools *out)
{
    const char *params[] = {backend, source, STORE_INT(known_generation)};
    enum store_rc rc = store_exec_row(c, &stmt_get, params, &tools_row, out);
    if (rc != STORE_NOT_FOUND)
        return rc;
    memset(out, 0, sizeof *out); /* nothing cached */
    return STORE_OK;
}

enum store_rc store_upstream_claim(struct store_conn *c, const char *backend, const char *source,
                                   int hold_s, int *claimed)
{
    const char *params[] = {backend, source, STORE_INT(hold_s)};
    int rows = 0;
    enum store_rc rc = store_exec_rows(c, &stmt_claim, params, &rows);
    if (rc == STORE_OK)
        *claimed = rows == 1;
    return rc;
}

enum store_rc store_upstream_put(struct store_conn *c, const char *backend, const char *source,
                                 const char *tools, int ttl_s, long long *generation)
{
    const char *params[] = {backend, source, tools, STORE_INT(ttl_s)};
    return store_exec_ll(c, &stmt_put, params, generation);
}

enum store_rc store_upstream_fail(struct store_conn *c, const char *backend, int retry_s,
                                  const char *why)
{
    const char *params[] = {backend, STORE_INT(retry_s), why};
    return store_exec_cmd(c, &stmt_fail, params);
}
