/*
 * store/api_keys.c - personal API keys (table api_keys).
 */
#include "store/api_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/cache.h"
#include "store/db_internal.h"
#include "util/crypto.h"

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

enum store_rc store_apikey_list(struct store_conn *c, long long user_id,
                                void (*fn)(void *arg, const struct store_api_key *k), void *arg)
{
    const char *params[] = {STORE_INT(user_id)};
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_list, params, &r);
    if (rc != STORE_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_api_key k = {0};
        k.id = atoll(PQgetvalue(r, i, 0));
        k.user_id = atoll(PQgetvalue(r, i, 1));
        snprintf(k.username, sizeof k.username, "%s", PQgetvalue(r, i, 2));
        snprintf(k.name, sizeof k.name, "%s", PQgetvalue(r, i, 3));
        snprintf(k.prefix, sizeof k.prefix, "%s", PQgetvalue(r, i, 4));
        snprintf(k.scope, sizeof k.scope, "%s", PQgetvalue(r, i, 5));
        snprintf(k.created_at, sizeof k.created_at, "%s", PQgetvalue(r, i, 6));
        snprintf(k.last_used, sizeof k.last_used, "%s", PQgetvalue(r, i, 7));
        fn(arg, &k);
    }
    PQclear(r);
    return STORE_OK;
}

enum store_rc store_apikey_revoke(struct store_conn *c, long long id, long long user_id)
{
    const char *params[] = {STORE_INT(id), STORE_INT(user_id)};
    unsigned long seq;
    store_cache_begin(&seq);
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_revoke, params, &r);
    if (rc != STORE_OK)
        return rc;
    int n = atoi(PQcmdTuples(r));
    PQclear(r);
    if (n > 0)
        store_cache_sync(seq, STORE_CACHE_SYNC_MS);
    return n > 0 ? STORE_OK : STORE_NOT_FOUND;
}

enum store_rc store_apikey_find(struct store_conn *c, const char *key_hash, struct store_grant *out)
{
    if (store_grant_cached('k', key_hash, out))
        return STORE_OK;
    unsigned long seq;
    int cache = store_cache_begin(&seq);
    const char *params[] = {key_hash};
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_find, params, &r);
    if (rc != STORE_OK)
        return rc;
    if (PQntuples(r) == 1 && PQgetlength(r, 0, 4) == 64 &&
        crypto_equal(PQgetvalue(r, 0, 4), key_hash, 64)) {
        memset(out, 0, sizeof *out);
        out->user_id = atoll(PQgetvalue(r, 0, 0));
        snprintf(out->username, sizeof out->username, "%s", PQgetvalue(r, 0, 1));
        snprintf(out->scope, sizeof out->scope, "%s", PQgetvalue(r, 0, 2));
        out->issued_at = atoll(PQgetvalue(r, 0, 3));
        snprintf(out->kind, sizeof out->kind, "apikey");
        out->active = 1;
        if (cache)
            store_grant_keep('k', key_hash, out, seq);
    } else {
        rc = STORE_NOT_FOUND;
    }
    PQclear(r);
    return rc;
}
