/*
 * store/subscription.c - resource subscriptions (table mcp_subscriptions).
 */
#include "store/subscription.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

/* One statement: the session must be live, the subscription is inserted
 * unless it exists or the session is at its limit. Returns one row
 * (live, present, count) so the three outcomes can be told apart. */
static const struct store_stmt stmt_add = {
    "subscription_add",
    "WITH s AS (SELECT id_hash FROM mcp_sessions WHERE id_hash = $1 AND expires_at > now()),"
    " n AS (SELECT count(*) AS c FROM mcp_subscriptions WHERE session_hash = $1),"
    " ins AS (INSERT INTO mcp_subscriptions (session_hash, uri)"
    "  SELECT id_hash, $2 FROM s, n WHERE n.c < " STR(
        STORE_SUBSCRIPTIONS_MAX) "  ON CONFLICT (session_hash, uri) DO NOTHING RETURNING 1)"
                                 " SELECT (SELECT count(*) FROM s),"
                                 " (SELECT count(*) FROM ins)"
                                 "  + (SELECT count(*) FROM mcp_subscriptions WHERE session_hash = "
                                 "$1 AND uri = $2)",
    2,
};

static const struct store_stmt stmt_remove = {
    "subscription_remove",
    "DELETE FROM mcp_subscriptions WHERE session_hash = $1 AND uri = $2",
    2,
};

static const struct store_stmt stmt_each = {
    "subscription_each",
    "SELECT sub.session_hash, s.transport = 'sse' FROM mcp_subscriptions sub"
    " JOIN mcp_sessions s ON s.id_hash = sub.session_hash"
    " WHERE sub.uri = $1 AND s.expires_at > now()",
    1,
};

enum store_rc store_subscription_add(struct store_conn *c, const char *session_hash,
                                     const char *uri, int *full)
{
    const char *params[] = {session_hash, uri};
    PGresult *r;
    *full = 0;
    enum store_rc rc = store_exec(c, &stmt_add, params, &r);
    if (rc != STORE_OK)
        return rc;
    int live = atoi(PQgetvalue(r, 0, 0));
    int present = atoi(PQgetvalue(r, 0, 1));
    PQclear(r);
    if (!live)
        return STORE_NOT_FOUND;
    if (!present) {
        *full = 1;
        return STORE_ERROR;
    }
    return STORE_OK;
}

enum store_rc store_subscription_remove(struct store_conn *c, const char *session_hash,
                                        const char *uri)
{
    const char *params[] = {session_hash, uri};
    return store_exec_changed(c, &stmt_remove, params);
}

enum store_rc store_subscription_each(struct store_conn *c, const char *uri, store_subscriber_fn fn,
                                      void *arg, int *n)
{
    const char *params[] = {uri};
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_each, params, &r);
    if (rc != STORE_OK)
        return rc;
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++)
        fn(PQgetvalue(r, i, 0), strcmp(PQgetvalue(r, i, 1), "t") == 0, arg);
    PQclear(r);
    *n = rows;
    return STORE_OK;
}
