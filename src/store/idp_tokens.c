/*
 * store/idp_tokens.c - the tokens an identity provider issued to a
 * signed-in user, and the refresh lease (store/idp_tokens.h).
 */
#include "store/idp_tokens.h"

#include <stdlib.h>

#include "store/db_internal.h"

#define ROW_COLUMNS                                                                                \
    "idp, token_endpoint, access_sealed, refresh_sealed,"                                          \
    " floor(extract(epoch FROM expires_at - now()))::bigint,"                                      \
    " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'), linked"

static const struct store_stmt stmt_put = {
    "idp_token_put",
    "INSERT INTO idp_tokens (user_id, idp, token_endpoint, access_sealed, refresh_sealed,"
    " expires_at, linked) VALUES ($1::bigint, $2, $3, $4, $5,"
    " now() + make_interval(secs => $6::bigint), $7::boolean)"
    " ON CONFLICT (user_id, idp) DO UPDATE SET"
    " token_endpoint = EXCLUDED.token_endpoint, access_sealed = EXCLUDED.access_sealed,"
    " refresh_sealed = EXCLUDED.refresh_sealed, expires_at = EXCLUDED.expires_at,"
    " linked = EXCLUDED.linked, refresh_lease = NULL, lease_until = NULL, updated_at = now()",
    7,
};

static const struct store_stmt stmt_get = {
    "idp_token_get",
    "SELECT " ROW_COLUMNS " FROM idp_tokens WHERE user_id = $1::bigint AND idp = $2",
    2,
};

static const struct store_stmt stmt_list = {
    "idp_token_list",
    "SELECT " ROW_COLUMNS " FROM idp_tokens WHERE user_id = $1::bigint ORDER BY linked, idp",
    1,
};

static const struct store_stmt stmt_lease = {
    "idp_token_lease",
    "UPDATE idp_tokens SET refresh_lease = $2, lease_until = now() + make_interval(secs =>"
    " $3::int) WHERE user_id = $1::bigint AND idp = $5 AND expires_at < now() +"
    " make_interval(secs => $4::int) AND (lease_until IS NULL OR lease_until < now())"
    " RETURNING " ROW_COLUMNS,
    5,
};

static const struct store_stmt stmt_refreshed = {
    "idp_token_refreshed",
    "UPDATE idp_tokens SET access_sealed = $3, refresh_sealed = coalesce($4, refresh_sealed),"
    " expires_at = now() + make_interval(secs => $5::bigint), refresh_lease = NULL,"
    " lease_until = NULL, refreshes = refreshes + 1, updated_at = now()"
    " WHERE user_id = $1::bigint AND idp = $6 AND refresh_lease = $2",
    6,
};

static const struct store_stmt stmt_delete = {
    "idp_token_delete",
    "DELETE FROM idp_tokens WHERE user_id = $1::bigint AND idp = $2",
    2,
};

void store_idp_token_clear(struct store_idp_token *t)
{
    free(t->access_sealed);
    free(t->refresh_sealed);
    t->access_sealed = t->refresh_sealed = NULL;
}

enum store_rc store_idp_token_put(struct store_conn *c, long long user_id, const char *idp,
                                  const char *token_endpoint, const char *access_sealed,
                                  const char *refresh_sealed, long long expires_in_s, int linked)
{
    const char *params[] = {STORE_INT(user_id),       idp,
                            token_endpoint,           access_sealed,
                            refresh_sealed,           STORE_INT(expires_in_s),
                            linked ? "true" : "false"};
    enum store_rc rc = store_exec_changed(c, &stmt_put, params);
    return rc == STORE_NOT_FOUND ? STORE_ERROR : rc;
}

/* ROW_COLUMNS */
#define TOKEN(kind, field) STORE_COL(kind, struct store_idp_token, field)
STORE_ROW_MAP_DEFINE(token_row, struct store_idp_token, TOKEN(TEXT, idp),
                     TOKEN(TEXT, token_endpoint), TOKEN(DUP, access_sealed),
                     TOKEN(DUP_NULL, refresh_sealed), TOKEN(LL, expires_in_s),
                     TOKEN(TEXT, updated_at), TOKEN(BOOL, linked));

enum store_rc store_idp_token_get(struct store_conn *c, long long user_id, const char *idp,
                                  struct store_idp_token *out)
{
    const char *params[] = {STORE_INT(user_id), idp};
    return store_exec_row(c, &stmt_get, params, &token_row, out);
}

enum store_rc store_idp_token_list(struct store_conn *c, long long user_id,
                                   struct store_idp_token *out, int max, int *n)
{
    const char *params[] = {STORE_INT(user_id)};
    struct store_rows rows;
    enum store_rc rc = store_rows_open(c, &stmt_list, params, &rows);
    if (rc != STORE_OK)
        return rc;
    *n = 0;
    while (*n < max && store_rows_next(&rows, &token_row, &out[*n]))
        (*n)++;
    store_rows_close(&rows);
    return STORE_OK;
}

enum store_rc store_idp_token_lease(struct store_conn *c, long long user_id, const char *idp,
                                    const char *lease, int lease_s, int margin_s,
                                    struct store_idp_token *out)
{
    const char *params[] = {STORE_INT(user_id), lease, STORE_INT(lease_s), STORE_INT(margin_s),
                            idp};
    return store_exec_row(c, &stmt_lease, params, &token_row, out);
}

enum store_rc store_idp_token_refreshed(struct store_conn *c, long long user_id, const char *idp,
                                        const char *lease, const char *access_sealed,
                                        const char *refresh_sealed, long long expires_in_s)
{
    const char *params[] = {STORE_INT(user_id),      lease, access_sealed, refresh_sealed,
                            STORE_INT(expires_in_s), idp};
    return store_exec_changed(c, &stmt_refreshed, params);
}

enum store_rc store_idp_token_delete(struct store_conn *c, long long user_id, const char *idp)
{
    const char *params[] = {STORE_INT(user_id), idp};
    enum store_rc rc = store_exec_changed(c, &stmt_delete, params);
    return rc == STORE_NOT_FOUND ? STORE_OK : rc;
}
