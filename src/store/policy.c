/*
 * store/policy.c - tool policy rules, groups, and tool-list notifications.
 */
#include "store/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/cache.h"
#include "store/db_internal.h"
#include "util/buf.h"
#include "util/time.h"

static const struct store_stmt stmt_load = {
    "policy_load",
    "SELECT effect = 'deny', pattern FROM tool_policies p"
    " WHERE (p.user_id IS NULL AND p.group_id IS NULL) OR p.user_id = $1::bigint"
    " OR p.group_id IN (SELECT group_id FROM group_members WHERE user_id = $1::bigint)",
    1,
};

static const struct store_stmt stmt_add = {
    "policy_add",
    "INSERT INTO tool_policies (user_id, group_id, effect, pattern)"
    " SELECT u.id, g.id, $3, $4 FROM (SELECT 1) one"
    " LEFT JOIN users u ON u.username = $1 LEFT JOIN user_groups g ON g.name = $2"
    " WHERE ($1::text IS NULL OR u.id IS NOT NULL) AND ($2::text IS NULL OR g.id IS NOT NULL)"
    " RETURNING id",
    4,
};

static const struct store_stmt stmt_remove = {
    "policy_remove",
    "DELETE FROM tool_policies WHERE id = $1::bigint RETURNING coalesce(user_id, 0)",
    1,
};

static const struct store_stmt stmt_list = {
    "policy_list",
    "SELECT p.id, CASE WHEN u.username IS NOT NULL THEN 'user:' || u.username"
    " WHEN g.name IS NOT NULL THEN 'group:' || g.name ELSE 'everyone' END,"
    " p.effect, p.pattern, to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"
    " FROM tool_policies p LEFT JOIN users u ON u.id = p.user_id"
    " LEFT JOIN user_groups g ON g.id = p.group_id"
    " WHERE $1::text IS NULL OR (p.user_id IS NULL AND p.group_id IS NULL)"
    " OR u.username = $1 OR p.group_id IN (SELECT m.group_id FROM group_members m"
    " JOIN users mu ON mu.id = m.user_id WHERE mu.username = $1)"
    " ORDER BY p.id",
    1,
};

static const struct store_stmt stmt_user_exists = {
    "policy_user_exists",
    "SELECT 1 FROM users WHERE username = $1",
    1,
};

static const struct store_stmt stmt_member_add = {
    "group_member_add",
    "WITH g AS (INSERT INTO user_groups (name) VALUES ($1)"
    " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id)"
    " INSERT INTO group_members (group_id, user_id)"
    " SELECT g.id, u.id FROM g, users u WHERE u.username = $2"
    " ON CONFLICT DO NOTHING RETURNING 1",
    2,
};

static const struct store_stmt stmt_member_remove = {
    "group_member_remove",
    "DELETE FROM group_members m USING user_groups g, users u"
    " WHERE m.group_id = g.id AND m.user_id = u.id AND g.name = $1 AND u.username = $2",
    2,
};

static const struct store_stmt stmt_group_sync = {
    "group_sync",
    "WITH g AS (INSERT INTO user_groups (name) SELECT DISTINCT unnest($2::text[])"
    " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id),"
    " del AS (DELETE FROM group_members WHERE user_id = $1::bigint"
    " AND group_id NOT IN (SELECT id FROM g) RETURNING 1),"
    " ins AS (INSERT INTO group_members (group_id, user_id) SELECT id, $1::bigint FROM g"
    " ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT (SELECT count(*) FROM del) + (SELECT count(*) FROM ins)",
    2,
};

static const struct store_stmt stmt_changed = {
    "tools_changed",
    "SELECT mcp_notify_tools_changed(coalesce((SELECT id FROM users WHERE username = $1), -1))",
    1,
};

static const struct store_stmt stmt_changed_all = {
    "tools_changed_all",
    "SELECT mcp_notify_tools_changed(NULL)",
    0,
};

#define CACHED_RULES_MAX 4096

/* The cached form of a user's rules: "d<pattern>\0" or "a<pattern>\0"
 * each. Returns 1 on a hit (rules added to p). */
static int rules_cached(const char *uid, struct tool_policy *p)
{
    char v[4096]; /* users with more rules than fit are read from PostgreSQL */
    long n = store_cache_get(STORE_CACHE_POLICY, uid, v, sizeof v);
    int hit = n >= 0 && (n == 0 || v[n - 1] == '\0');
    for (long i = 0; hit && i < n; i += (long)strlen(v + i) + 1)
        if (tool_policy_add(p, v[i] == 'd', v + i + 1) < 0)
            hit = 0;
    if (hit)
        p->loaded = 1;
    return hit;
}

enum store_rc store_policy_load(struct store_conn *c, long long user_id, struct tool_policy *p)
{
    const char *uid = STORE_INT(user_id);
    if (rules_cached(uid, p))
        return STORE_OK;
    tool_policy_free(p);
    unsigned long seq;
    int cache = store_cache_begin(&seq);
    const char *params[] = {uid};
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_load, params, &r);
    if (rc != STORE_OK)
        return rc;
    struct buf packed = {0};
    for (int i = 0; i < PQntuples(r); i++) {
        int deny = strcmp(PQgetvalue(r, i, 0), "t") == 0;
        if (tool_policy_add(p, deny, PQgetvalue(r, i, 1)) < 0)
            rc = STORE_ERROR;
        if (buf_printf(&packed, "%c%s", deny ? 'd' : 'a', PQgetvalue(r, i, 1)) < 0 ||
            buf_append(&packed, "", 1) < 0)
            abort();
    }
    PQclear(r);
    p->loaded = 1;
    if (rc == STORE_OK && cache && packed.len <= CACHED_RULES_MAX)
        store_cache_put(STORE_CACHE_POLICY, uid, user_id, packed.len ? packed.data : "", packed.len,
                        mg_now_ms() + STORE_CACHE_MAX_LIFE_MS, seq);
    buf_free(&packed);
    return rc;
}

enum store_rc store_policy_add(struct store_conn *c, const char *user, const char *group,
                               const char *effect, const char *pattern, long long *id)
{
    const char *params[] = {user, group, effect, pattern};
    return store_exec_ll(c, &stmt_add, params, id);
}

enum store_rc store_policy_remove(struct store_conn *c, long long id, long long *user_id)
{
    const char *params[] = {STORE_INT(id)};
    return store_exec_ll(c, &stmt_remove, params, user_id);
}

#define RULE(field) STORE_COL(REF, struct store_policy_row, field)
STORE_ROW_MAP_DEFINE(rule_row, struct store_policy_row, RULE(id), RULE(subject), RULE(effect),
                     RULE(pattern), RULE(created_at));
STORE_ROWS_EACH_ROW_FIRST_DEFINE(rule_each, struct store_policy_row, &rule_row)

enum store_rc store_policy_list(struct store_conn *c, const char *user,
                                void (*fn)(const struct store_policy_row *row, void *arg),
                                void *arg)
{
    int rows = 0;
    if (user) {
        const char *uparams[] = {user};
        enum store_rc rc = store_exec_rows(c, &stmt_user_exists, uparams, &rows);
        if (rc != STORE_OK)
            return rc;
        if (rows == 0)
            return STORE_NOT_FOUND;
    }
    const char *params[] = {user};
    return rule_each(c, &stmt_list, params, fn, arg);
}

enum store_rc store_group_member(struct store_conn *c, const char *group, const char *user, int add)
{
    const char *params[] = {group, user};
    int rows = 0;
    enum store_rc rc =
        store_exec_rows(c, add ? &stmt_member_add : &stmt_member_remove, params, &rows);
    if (rc != STORE_OK)
        return rc;
    if (add && rows == 0) {
        /* either no such user, or already a member */
        const char *uparams[] = {user};
        rc = store_exec_rows(c, &stmt_user_exists, uparams, &rows);
        if (rc != STORE_OK)
            return rc;
    }
    return rows > 0 ? STORE_OK : STORE_NOT_FOUND;
}

enum store_rc store_group_sync(struct store_conn *c, long long user_id, const char *const *groups,
                               int n, int *changed)
{
    /* a PostgreSQL array literal; group names need no escaping ([A-Za-z0-9._@-]) */
    struct buf arr = {0};
    int bad = buf_puts(&arr, "{");
    for (int i = 0; i < n && !bad; i++)
        bad = buf_printf(&arr, "%s\"%s\"", i ? "," : "", groups[i]);
    bad = bad || buf_puts(&arr, "}");
    if (bad) {
        buf_free(&arr);
        return STORE_ERROR;
    }
    const char *params[] = {STORE_INT(user_id), buf_str(&arr)};
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_group_sync, params, &r);
    buf_free(&arr);
    if (rc != STORE_OK)
        return rc;
    *changed = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return STORE_OK;
}

enum store_rc store_tools_changed(struct store_conn *c, const char *user, int *sessions)
{
    const char *params[] = {user};
    PGresult *r;
    enum store_rc rc =
        store_exec(c, user ? &stmt_changed : &stmt_changed_all, user ? params : NULL, &r);
    if (rc != STORE_OK)
        return rc;
    *sessions = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return STORE_OK;
}
