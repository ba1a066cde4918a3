/*
 * store/session.c - MCP sessions (table mcp_sessions).
 */
#include "store/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"

static const struct store_stmt stmt_create = {
    "session_create",
    "INSERT INTO mcp_sessions (id_hash, protocol_version, client_name, client_version,"
    " client_capabilities, expires_at)"
    " VALUES ($1, $2, $3, $4, coalesce($5::jsonb, '{}'::jsonb),"
    " now() + make_interval(secs => $6::int))",
    6,
};

/* One round trip: read the live session and, only when less than half of
 * its TTL is left, push the expiry forward. */
static const struct store_stmt stmt_find = {
    "session_find",
    "WITH slide AS ("
    " UPDATE mcp_sessions SET expires_at = now() + make_interval(secs => $2::int)"
    " WHERE id_hash = $1 AND expires_at > now()"
    " AND expires_at < now() + make_interval(secs => $2::int / 2)"
    " RETURNING 1)"
    " SELECT protocol_version, (SELECT count(*) FROM slide) FROM mcp_sessions"
    " WHERE id_hash = $1 AND expires_at > now()",
    2,
};

static const struct store_stmt stmt_delete = {
    "session_delete",
    "DELETE FROM mcp_sessions WHERE id_hash = $1 AND expires_at > now()",
    1,
};

static const struct store_stmt stmt_purge = {
    "session_purge",
    "DELETE FROM mcp_sessions WHERE id_hash IN (SELECT id_hash FROM mcp_sessions"
    " WHERE expires_at < now() - interval '1 hour' LIMIT 500)",
    0,
};

enum store_rc store_session_create(struct store_conn *c, const struct store_session_new *s)
{
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", s->ttl_s);
    const char *params[] = {s->id_hash,        s->protocol_version, s->client_name,
                            s->client_version, s->capabilities,     ttl};
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_create, params, &r);
    PQclear(r);
    return rc;
}

enum store_rc store_session_find(struct store_conn *c, const char *id_hash, int ttl_s,
                                 struct store_session *out)
{
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", ttl_s);
    const char *params[] = {id_hash, ttl};
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_find, params, &r);
    if (rc != STORE_OK)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return STORE_NOT_FOUND;
    }
    snprintf(out->protocol_version, sizeof out->protocol_version, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return STORE_OK;
}

enum store_rc store_session_delete(struct store_conn *c, const char *id_hash)
{
    const char *params[] = {id_hash};
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_delete, params, &r);
    if (rc != STORE_OK)
        return rc;
    int n = atoi(PQcmdTuples(r));
    PQclear(r);
    return n > 0 ? STORE_OK : STORE_NOT_FOUND;
}

enum store_rc store_session_purge(struct store_conn *c, int *n)
{
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_purge, NULL, &r);
    if (rc != STORE_OK)
        return rc;
    *n = atoi(PQcmdTuples(r));
    PQclear(r);
    return STORE_OK;
}
