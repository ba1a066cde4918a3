/*
 * store/api_keys.c - personal API keys (table api_keys).
 */
#include "store/api_keys.h"

#include "store/db_internal.h"

static const struct store_stmt stmt_create = {
    "apikey_create",
    "INSERT INTO api_keys (user_id, name, key_hash, key_prefix, scope)"
    " VALUES ($1::bigint, $2, $3, $4, $5) RETURNING id",
    5,
};

static const struct store_stmt stmt_list = {
    "apikey_list",
    "SELECT k.id, k.user_id, u.username, k.name, k.key_prefix, k.scope,"
    " to_char(k.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'),"
    " coalesce(to_char(k.last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'), '')"
    " FROM api_keys k JOIN users u ON u.id = k.user_id"
    " WHERE k.revoked_at IS NULL AND ($1::bigint = 0 OR k.user_id = $1::bigint)"
    " ORDER BY k.created_at DESC, k.id DESC",
    1,
};

static const struct store_stmt stmt_revoke = {
    "apikey_revoke",
    "UPDATE api_keys SET revoked_at = now() WHERE id = $1::bigint AND revoked_at IS NULL"
    " AND ($2::bigint = 0 OR user_id = $2::bigint)",
    2,
};

static const struct store_stmt stmt_find = {
    "apikey_find",
    "WITH touch AS (UPDATE api_keys SET last_used_at = now() WHERE key_hash = $1"
    " AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute'))"
    " SELECT u.id, u.username, k.scope, extract(epoch FROM k.created_at)::bigint, k.key_hash"
    " FROM api_keys k JOIN users u ON u.id = k.user_id"
    " WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND NOT u.disabled",
    1,
};

enum store_rc store_apikey_create(struct store_conn *c, long long user_id, const char *name,
                                  const char *key_hash, const char *prefix, const char *scope,
                                  long long *id)
{
    const char *params[] = {STORE_INT(user_id), name, key_hash, prefix, scope};
    return store_exec_ll(c, &stmt_create, params, id);
}

#define KEY(kind, field) STORE_COL(kind, struct store_api_key, field)
STORE_ROW_MAP_DEFINE(key_row, struct store_api_key, KEY(LL, id), KEY(LL, user_id),
                     KEY(TEXT, username), KEY(TEXT, name), KEY(TEXT, prefix), KEY(TEXT, scope),
                     KEY(TEXT, created_at), KEY(TEXT, last_used));
STORE_ROWS_EACH_DEFINE(key_each, struct store_api_key, &key_row)

enum store_rc store_apikey_list(struct store_conn *c, long long user_id,
                                void (*fn)(void *arg, const struct store_api_key *k), void *arg)
{
    const char *params[] = {STORE_INT(user_id)};
    return key_each(c, &stmt_list, params, fn, arg);
}

enum store_rc store_apikey_revoke(struct store_conn *c, long long id, long long user_id)
{
    const char *params[] = {STORE_INT(id), STORE_INT(user_id)};
    int n = 0;
    enum store_rc rc = store_exec_revoke(c, &stmt_revoke, params, store_exec_rows, &n);
    return rc == STORE_OK && n == 0 ? STORE_NOT_FOUND : rc;
}

/* stmt_find's columns; column 4, the hash, is checked by store_exec_row_hash. */
#define GRANT(kind, field) STORE_COL(kind, struct store_grant, field)
STORE_ROW_MAP_DEFINE(grant_row, struct store_grant, GRANT(LL, user_id), GRANT(TEXT, username),
                     GRANT(TEXT, scope), GRANT(LL, issued_at));

enum store_rc store_apikey_find(struct store_conn *c, const char *key_hash, struct store_grant *out)
{
    static const struct store_grant_lookup key = {'k', &stmt_find, &grant_row, 4, "apikey"};
    return store_grant_find(c, &key, key_hash, out);
}
