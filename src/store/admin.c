/*
 * store/admin.c - what the admin console reads.
 */
#include "store/admin.h"

#include <stdlib.h>

#include "store/db_internal.h"

static const struct store_stmt stmt_users = {
    "admin_users",
    "SELECT u.username, to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),"
    " u.disabled, u.admin, coalesce(string_agg(g.name, ',' ORDER BY g.name), '')"
    " FROM users u LEFT JOIN group_members m ON m.user_id = u.id"
    " LEFT JOIN user_groups g ON g.id = m.group_id"
    " GROUP BY u.id ORDER BY u.username",
    0,
};

static const struct store_stmt stmt_hourly = {
    "admin_hourly",
    "SELECT to_char(date_trunc('hour', at AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24:00'), count(*),"
    " count(*) FILTER (WHERE outcome <> 'ok')"
    " FROM audit_log WHERE at > now() - interval '24 hours' AND tool NOT LIKE 'admin/%'"
    " GROUP BY 1 ORDER BY 1",
    0,
};

static const struct store_stmt stmt_top = {
    "admin_top_tools",
    "SELECT tool, count(*) FROM audit_log"
    " WHERE at > now() - interval '24 hours' AND tool NOT LIKE 'admin/%'"
    " GROUP BY tool ORDER BY 2 DESC, 1 LIMIT $1::int",
    1,
};

static const struct store_stmt stmt_last_errors = {
    "admin_last_errors",
    "SELECT tool, to_char(max(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM audit_log"
    " WHERE outcome = 'error' AND at > now() - interval '7 days' AND tool NOT LIKE 'admin/%'"
    " GROUP BY tool ORDER BY max(at) DESC LIMIT 500",
    0,
};

enum store_rc store_admin_last_errors(struct store_conn *c,
                                      void (*fn)(void *arg, const char *tool, const char *at),
                                      void *arg)
{
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_last_errors, NULL, &r);
    for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++)
        fn(arg, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
    PQclear(r);
    return rc;
}

static const struct store_stmt stmt_apps = {
    "admin_apps",
    "SELECT u.username, f.client_id, cl.name, string_agg(DISTINCT f.scope, ' '),"
    " coalesce(to_char(max(f.last_used_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), ''),"
    " to_char(min(f.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), u.id"
    " FROM oauth_families f JOIN oauth_clients cl ON cl.client_id = f.client_id"
    " JOIN users u ON u.id = f.user_id"
    " WHERE f.revoked_at IS NULL AND f.issued AND cl.revoked_at IS NULL"
    " AND EXISTS (SELECT 1 FROM oauth_tokens t WHERE t.family_id = f.id"
    " AND t.revoked_at IS NULL AND t.expires_at > now())"
    " GROUP BY u.id, u.username, f.client_id, cl.name"
    " ORDER BY max(f.last_used_at) DESC NULLS LAST, u.username, cl.name LIMIT 500",
    0,
};

#define APP(kind, field) STORE_COL(kind, struct store_admin_app, field)
STORE_ROW_MAP_DEFINE(app_row, struct store_admin_app, APP(REF, username), APP(REF, client_id),
                     APP(REF, name), APP(REF, scope), APP(REF, last_used), APP(REF, since),
                     APP(LL, user_id));
STORE_ROWS_EACH_DEFINE(app_each, struct store_admin_app, &app_row)

enum store_rc store_admin_apps(struct store_conn *c,
                               void (*fn)(void *arg, const struct store_admin_app *a), void *arg)
{
    return app_each(c, &stmt_apps, NULL, fn, arg);
}

#define USER(kind, field) STORE_COL(kind, struct store_admin_user, field)
STORE_ROW_MAP_DEFINE(user_row, struct store_admin_user, USER(REF, username), USER(REF, created),
                     USER(BOOL, disabled), USER(BOOL, admin), USER(REF, groups));
STORE_ROWS_EACH_DEFINE(user_each, struct store_admin_user, &user_row)

enum store_rc store_admin_users(struct store_conn *c,
                                void (*fn)(void *arg, const struct store_admin_user *u), void *arg)
{
    return user_each(c, &stmt_users, NULL, fn, arg);
}

enum store_rc store_admin_hourly(struct store_conn *c,
                                 void (*fn)(void *arg, const char *hour, long long calls,
                                            long long errors),
                                 void *arg)
{
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_hourly, NULL, &r);
    for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++)
        fn(arg, PQgetvalue(r, i, 0), atoll(PQgetvalue(r, i, 1)), atoll(PQgetvalue(r, i, 2)));
    PQclear(r);
    return rc;
}

enum store_rc store_admin_top_tools(struct store_conn *c, int limit,
                                    void (*fn)(void *arg, const char *tool, long long calls),
                                    void *arg)
{
    const char *params[] = {STORE_INT(limit)};
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_top, params, &r);
    for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++)
        fn(arg, PQgetvalue(r, i, 0), atoll(PQgetvalue(r, i, 1)));
    PQclear(r);
    return rc;
}
