/*
 * store/oauth_clients.c - OAuth clients (table oauth_clients).
 */
#include "store/oauth_clients.h"

#include <stdlib.h>

#include "store/db_internal.h"
#include "util/alloc.h"

#define CLIENT_COLUMNS                                                                             \
    "client_id, kind, coalesce(secret_hash, ''), auth_method, name,"                               \
    " array_to_string(redirect_uris, E'\\n'), coalesce(scope, ''),"                                \
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"                   \
    " kind = 'cimd' AND cimd_expires_at <= now()"

static const struct store_stmt stmt_create = {
    "client_create",
    "INSERT INTO oauth_clients (client_id, kind, secret_hash, auth_method, name, redirect_uris,"
    " scope, registered_addr) VALUES ($1, $2, nullif($3, ''), $4, $5,"
    " string_to_array($6, E'\\n'), nullif($7, ''), $8)",
    8,
};

static const struct store_stmt stmt_cimd_save = {
    "client_cimd_save",
    "INSERT INTO oauth_clients (client_id, kind, auth_method, name, redirect_uris,"
    " cimd_expires_at) VALUES ($1, 'cimd', 'none', $2, string_to_array($3, E'\\n'),"
    " now() + make_interval(secs => $4::int))"
    " ON CONFLICT (client_id) DO UPDATE SET name = EXCLUDED.name,"
    " redirect_uris = EXCLUDED.redirect_uris, cimd_expires_at = EXCLUDED.cimd_expires_at"
    " WHERE oauth_clients.kind = 'cimd' AND oauth_clients.revoked_at IS NULL",
    4,
};

static const struct store_stmt stmt_find = {
    "client_find",
    "SELECT " CLIENT_COLUMNS " FROM oauth_clients WHERE client_id = $1 AND revoked_at IS NULL",
    1,
};

static const struct store_stmt stmt_list = {
    "client_list",
    "SELECT " CLIENT_COLUMNS " FROM oauth_clients WHERE revoked_at IS NULL"
    " ORDER BY created_at DESC, client_id",
    0,
};

static const struct store_stmt stmt_revoke = {
    "client_revoke",
    "WITH cl AS (UPDATE oauth_clients SET revoked_at = now()"
    " WHERE client_id = $1 AND revoked_at IS NULL RETURNING client_id),"
    " f AS (UPDATE oauth_families SET revoked_at = now(), revoke_reason = 'client revoked'"
    " WHERE client_id IN (SELECT client_id FROM cl) AND revoked_at IS NULL RETURNING 1)"
    " SELECT (SELECT count(*) FROM cl), (SELECT count(*) FROM f)",
    1,
};

enum store_rc store_client_create(struct store_conn *c, const struct store_client *cl,
                                  const char *addr)
{
    const char *params[] = {cl->client_id, cl->kind,          cl->secret_hash, cl->auth_method,
                            cl->name,      cl->redirect_uris, cl->scope,       addr};
    return store_exec_cmd(c, &stmt_create, params);
}

enum store_rc store_client_cimd_save(struct store_conn *c, const struct store_client *cl, int ttl_s)
{
    const char *params[] = {cl->client_id, cl->name, cl->redirect_uris, STORE_INT(ttl_s)};
    return store_exec_changed(c, &stmt_cimd_save, params);
}

/* CLIENT_COLUMNS */
#define CLIENT(kind, field) STORE_COL(kind, struct store_client, field)
STORE_ROW_MAP_DEFINE(client_row, struct store_client, CLIENT(TEXT, client_id), CLIENT(TEXT, kind),
                     CLIENT(TEXT, secret_hash), CLIENT(TEXT, auth_method), CLIENT(TEXT, name),
                     CLIENT(TEXT, redirect_uris), CLIENT(TEXT, scope), CLIENT(TEXT, created_at),
                     CLIENT(BOOL, cimd_stale));

enum store_rc store_client_find(struct store_conn *c, const char *client_id,
                                struct store_client *out)
{
    const char *params[] = {client_id};
    return store_exec_row(c, &stmt_find, params, &client_row, out);
}

enum store_rc store_client_list(struct store_conn *c,
                                void (*fn)(void *arg, const struct store_client *cl), void *arg)
{
    struct store_rows rows;
    struct store_client *cl = xmalloc(sizeof *cl); /* 11 kB: not on a worker's stack */
    enum store_rc rc = store_rows_open(c, &stmt_list, NULL, &rows);
    while (rc == STORE_OK && store_rows_next(&rows, &client_row, cl))
        fn(arg, cl);
    free(cl);
    return rc;
}

enum store_rc store_client_revoke(struct store_conn *c, const char *client_id)
{
    const char *params[] = {client_id};
    return store_exec_found(c, &stmt_revoke, params);
}
