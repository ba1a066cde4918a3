/*
 * store/credentials.c - backend credentials (table backend_credentials).
 *
 * The backend's own value has user_id NULL; the functions take 0 for it
 * ($3 = 0 matches "user_id IS NULL", see the unique index on
 * coalesce(user_id, 0)).
 */
#include "store/credentials.h"

#include "store/db_internal.h"

static const struct store_stmt stmt_put = {
    "cred_put",
    "INSERT INTO backend_credentials (backend, slot, user_id, sealed, key_id)"
    " VALUES ($1, $2, nullif($3::bigint, 0), $4, $5)"
    " ON CONFLICT (backend, slot, (coalesce(user_id, 0)))"
    " DO UPDATE SET sealed = excluded.sealed, key_id = excluded.key_id, updated_at = now()",
    5,
};

static const struct store_stmt stmt_get = {
    "cred_get",
    "SELECT sealed FROM backend_credentials"
    " WHERE backend = $1 AND slot = $2 AND coalesce(user_id, 0) = $3::bigint",
    3,
};

static const struct store_stmt stmt_delete = {
    "cred_delete",
    "DELETE FROM backend_credentials"
    " WHERE backend = $1 AND slot = $2 AND coalesce(user_id, 0) = $3::bigint",
    3,
};

static const struct store_stmt stmt_list = {
    "cred_list",
    "SELECT backend, slot, coalesce(user_id, 0), key_id,"
    " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'), sealed"
    " FROM backend_credentials WHERE $1::bigint = 0 OR user_id = $1::bigint"
    " ORDER BY backend, slot, coalesce(user_id, 0)",
    1,
};

static const struct store_stmt stmt_reseal = {
    "cred_reseal",
    "UPDATE backend_credentials SET sealed = $5, key_id = $6, updated_at = now()"
    " WHERE backend = $1 AND slot = $2 AND coalesce(user_id, 0) = $3::bigint AND sealed = $4",
    6,
};

enum store_rc store_cred_put(struct store_conn *c, const char *backend, const char *slot,
                             long long user_id, const char *sealed, const char *key_id)
{
    const char *params[] = {backend, slot, STORE_INT(user_id), sealed, key_id};
    return store_exec_cmd(c, &stmt_put, params);
}

enum store_rc store_cred_get(struct store_conn *c, const char *backend, const char *slot,
                             long long user_id, char **sealed)
{
    const char *params[] = {backend, slot, STORE_INT(user_id)};
    return store_exec_value(c, &stmt_get, params, STORE_COL_DUP, sealed, sizeof *sealed);
}

enum store_rc store_cred_delete(struct store_conn *c, const char *backend, const char *slot,
                                long long user_id)
{
    const char *params[] = {backend, slot, STORE_INT(user_id)};
    return store_exec_changed(c, &stmt_delete, params);
}

#define CRED(kind, field) STORE_COL(kind, struct store_cred, field)
STORE_ROW_MAP_DEFINE(cred_row, struct store_cred, CRED(TEXT, backend), CRED(TEXT, slot),
                     CRED(LL, user_id), CRED(TEXT, key_id), CRED(TEXT, updated_at),
                     CRED(REF, sealed));
STORE_ROWS_EACH_DEFINE(cred_each, struct store_cred, &cred_row)

enum store_rc store_cred_list(struct store_conn *c, long long user_id,
                              void (*fn)(void *arg, const struct store_cred *cred), void *arg)
{
    const char *params[] = {STORE_INT(user_id)};
    return cred_each(c, &stmt_list, params, fn, arg);
}

enum store_rc store_cred_reseal(struct store_conn *c, const char *backend, const char *slot,
                                long long user_id, const char *old_sealed, const char *new_sealed,
                                const char *key_id)
{
    const char *params[] = {backend, slot, STORE_INT(user_id), old_sealed, new_sealed, key_id};
    return store_exec_changed(c, &stmt_reseal, params);
}
