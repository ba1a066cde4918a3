/*
 * store/admin.c - what the admin console reads.
 */
#include "store/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (rc != STORE_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++)
        fn(arg, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
    PQclear(r);
    return STORE_OK;
}

enum store_rc store_admin_users(struct store_conn *c,
                                void (*fn)(void *arg, const struct store_admin_user *u), void *arg)
{
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_users, NULL, &r);
    if (rc != STORE_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_admin_user u = {
            .username = PQgetvalue(r, i, 0),
            .created = PQgetvalue(r, i, 1),
            .disabled = strcmp(PQgetvalue(r, i, 2), "t") == 0,
            .admin = strcmp(PQgetvalue(r, i, 3), "t") == 0,
            .groups = PQgetvalue(r, i, 4),
        };
        fn(arg, &u);
    }
    PQclear(r);
    return STORE_OK;
}

enum store_rc store_admin_hourly(struct store_conn *c,
                                 void (*fn)(void *arg, const char *hour, long long calls,
                                            long long errors),
                                 void *arg)
{
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_hourly, NULL, &r);
    if (rc != STORE_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++)
        fn(arg, PQgetvalue(r, i, 0), atoll(PQgetvalue(r, i, 1)), atoll(PQgetvalue(r, i, 2)));
    PQclear(r);
    return STORE_OK;
}

enum store_rc store_admin_top_tools(struct store_conn *c, int limit,
                                    void (*fn)(void *arg, const char *tool, long long calls),
                                    void *arg)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {lim};
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_top, params, &r);
    if (rc != STORE_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++)
        fn(arg, PQgetvalue(r, i, 0), atoll(PQgetvalue(r, i, 1)));
    PQclear(r);
    return STORE_OK;
}
