/*
 * store/users.c - local users, their browser sessions and failed logins.
 */
#include "store/users.h"

#include <stdio.h>
#include <string.h>

#include "store/db_internal.h"

static const struct store_stmt stmt_user_create = {
    "user_create",
    "INSERT INTO users (username, password_hash) VALUES ($1, $2) RETURNING id",
    2,
};

static const struct store_stmt stmt_user_find = {
    "user_find",
    "SELECT id, username, password_hash, disabled,"
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    " FROM users WHERE username = $1",
    1,
};

static const struct store_stmt stmt_user_list = {
    "user_list",
    "SELECT id, username, '', disabled,"
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " coalesce(idp, ''), coalesce(subject, ''), coalesce(email, '')"
    " FROM users ORDER BY username",
    0,
};

/* Finds the user of (idp, subject) or creates it; the arbiter is the
 * (idp, subject) constraint, so a name taken by another user is an error
 * the caller answers with the fallback name. */
static const struct store_stmt stmt_user_federated = {
    "user_federated",
    "INSERT INTO users (username, password_hash, idp, subject, email, display_name)"
    " VALUES ($3, '!', $1, $2, nullif($4, ''), nullif($5, ''))"
    " ON CONFLICT (idp, subject) DO UPDATE SET email = EXCLUDED.email,"
    " display_name = EXCLUDED.display_name, updated_at = now()"
    " RETURNING id, username, '', disabled,"
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
    5,
};

static const struct store_stmt stmt_idp_login_create = {
    "idp_login_create",
    "WITH purge AS (DELETE FROM idp_logins WHERE expires_at < now())"
    " INSERT INTO idp_logins (state_hash, idp, return_to, expires_at)"
    " VALUES ($1, $2, $3, now() + make_interval(secs => $4::int))",
    4,
};

static const struct store_stmt stmt_idp_login_take = {
    "idp_login_take",
    "DELETE FROM idp_logins WHERE state_hash = $1 RETURNING idp, return_to, expires_at > now()",
    1,
};

static const struct store_stmt stmt_user_password = {
    "user_password",
    "UPDATE users SET password_hash = $2, updated_at = now() WHERE username = $1",
    2,
};

static const struct store_stmt stmt_user_disable = {
    "user_disable",
    "WITH u AS (UPDATE users SET disabled = ($2 = '1'), updated_at = now()"
    " WHERE username = $1 RETURNING id, disabled),"
    " s AS (DELETE FROM web_sessions WHERE user_id IN (SELECT id FROM u WHERE disabled))"
    " SELECT count(*) FROM u",
    2,
};

static const struct store_stmt stmt_ws_create = {
    "web_session_create",
    "INSERT INTO web_sessions (id_hash, user_id, expires_at)"
    " VALUES ($1, $2::bigint, now() + make_interval(secs => $3::int))",
    3,
};

static const struct store_stmt stmt_ws_find = {
    "web_session_find",
    "SELECT u.id, u.username, '', u.disabled,"
    " to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " coalesce(u.idp, '')"
    " FROM web_sessions s JOIN users u ON u.id = s.user_id"
    " WHERE s.id_hash = $1 AND s.expires_at > now() AND NOT u.disabled",
    1,
};

static const struct store_stmt stmt_ws_end_user = {
    "web_sessions_end",
    "DELETE FROM web_sessions WHERE user_id = $1::bigint",
    1,
};

static const struct store_stmt stmt_ws_delete = {
    "web_session_delete",
    "DELETE FROM web_sessions WHERE id_hash = $1 OR expires_at < now() - interval '1 day'",
    1,
};

/* The wait is last_failed + 2^(failures - free) seconds (at most 900)
 * minus now, for counters beyond their free failures and under an hour old. */
/* The wait login_reserve would impose, read without taking its row locks:
 * refusing a flood of throttled attempts must not queue them all on the
 * same two rows. */
static const struct store_stmt stmt_login_wait = {
    "login_wait",
    "SELECT coalesce(max(ceil(extract(epoch FROM last_failed"
    " + make_interval(secs => least(900, power(2, failures - CASE WHEN key = $1 THEN $3::int"
    " ELSE $4::int END))) - now()))), 0)::int"
    " FROM login_failures WHERE last_failed > now() - interval '1 hour'"
    " AND ((key = $1 AND failures >= $3::int) OR (key = $2 AND failures >= $4::int))",
    4,
};

static const struct store_stmt stmt_login_reserve = {
    "login_reserve",
    "SELECT login_reserve($1, $2, $3::int, $4::int)",
    4,
};

static const struct store_stmt stmt_login_failed = {
    "login_failed",
    "UPDATE login_failures SET last_failed = greatest(last_failed, now()) WHERE key IN ($1, $2)",
    2,
};

/* A success gives the attempt's reservation back: the account starts over,
 * the address has one failure less. */
static const struct store_stmt stmt_login_ok = {
    "login_succeeded",
    "WITH a AS (UPDATE login_failures SET failures = greatest(failures - 1, 0) WHERE key = $2)"
    " DELETE FROM login_failures WHERE key = $1 OR last_failed < now() - interval '1 day'",
    2,
};

static const struct store_stmt stmt_rate_hit = {
    "rate_hit",
    "WITH w AS (SELECT to_timestamp(floor(extract(epoch FROM now()) / $2::int) * $2::int) AS ws),"
    " purge AS (DELETE FROM rate_counters WHERE window_start < now() - interval '1 day')"
    " INSERT INTO rate_counters (key, window_start, count) SELECT $1, ws, $3::int FROM w"
    " ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + $3::int"
    " RETURNING count",
    3,
};

enum store_rc store_user_create(struct store_conn *c, const char *username,
                                const char *password_hash, long long *id)
{
    const char *params[] = {username, password_hash};
    return store_exec_ll(c, &stmt_user_create, params, id);
}

/* The user columns; a statement has the first five, or more of them
 * (the sign-in's provider, and so on), and the rest stay empty. */
#define USER(kind, field) STORE_COL(kind, struct store_user, field)
STORE_ROW_MAP_DEFINE(user_row, struct store_user, USER(LL, id), USER(TEXT, username),
                     USER(TEXT, password_hash), USER(BOOL, disabled), USER(TEXT, created_at),
                     USER(TEXT, idp), USER(TEXT, subject), USER(TEXT, email));
STORE_ROWS_EACH_DEFINE(user_each, struct store_user, &user_row)

enum store_rc store_user_find(struct store_conn *c, const char *username, struct store_user *out)
{
    const char *params[] = {username};
    return store_exec_row(c, &stmt_user_find, params, &user_row, out);
}

enum store_rc store_user_set_password(struct store_conn *c, const char *username,
                                      const char *password_hash)
{
    const char *params[] = {username, password_hash};
    return store_exec_changed(c, &stmt_user_password, params);
}

enum store_rc store_user_set_disabled(struct store_conn *c, const char *username, int disabled)
{
    const char *params[] = {username, disabled ? "1" : "0"};
    return store_exec_found(c, &stmt_user_disable, params);
}

enum store_rc store_user_list(struct store_conn *c,
                              void (*fn)(void *arg, const struct store_user *u), void *arg)
{
    return user_each(c, &stmt_user_list, NULL, fn, arg);
}

enum store_rc store_web_session_create(struct store_conn *c, const char *id_hash, long long user_id,
                                       int ttl_s)
{
    const char *params[] = {id_hash, STORE_INT(user_id), STORE_INT(ttl_s)};
    return store_exec_cmd(c, &stmt_ws_create, params);
}

enum store_rc store_web_session_find(struct store_conn *c, const char *id_hash,
                                     struct store_user *out)
{
    const char *params[] = {id_hash};
    return store_exec_row(c, &stmt_ws_find, params, &user_row, out);
}

enum store_rc store_web_session_delete(struct store_conn *c, const char *id_hash)
{
    const char *params[] = {id_hash};
    return store_exec_cmd(c, &stmt_ws_delete, params);
}

enum store_rc store_login_reserve(struct store_conn *c, const char *user_key, const char *addr_key,
                                  int user_free, int addr_free, int *wait_s)
{
    const char *params[] = {user_key, addr_key, STORE_INT(user_free), STORE_INT(addr_free)};
    int w = 0;
    enum store_rc rc = store_exec_count(c, &stmt_login_wait, params, &w);
    if (rc == STORE_OK && w <= 0)
        rc = store_exec_count(c, &stmt_login_reserve, params, &w);
    if (rc != STORE_OK)
        return rc;
    *wait_s = w > 0 ? w : 0;
    return STORE_OK;
}

enum store_rc store_login_failed(struct store_conn *c, const char *user_key, const char *addr_key)
{
    const char *params[] = {user_key, addr_key};
    return store_exec_cmd(c, &stmt_login_failed, params);
}

enum store_rc store_login_succeeded(struct store_conn *c, const char *user_key,
                                    const char *addr_key)
{
    const char *params[] = {user_key, addr_key};
    return store_exec_cmd(c, &stmt_login_ok, params);
}

enum store_rc store_rate_hit(struct store_conn *c, const char *key, int window_s, int *count)
{
    return store_rate_add(c, key, window_s, 1, count);
}

enum store_rc store_rate_add(struct store_conn *c, const char *key, int window_s, int n, int *count)
{
    const char *params[] = {key, STORE_INT(window_s), STORE_INT(n)};
    return store_exec_count(c, &stmt_rate_hit, params, count);
}

enum store_rc store_user_federated(struct store_conn *c, const char *idp, const char *subject,
                                   const char *username, const char *fallback_username,
                                   const char *email, const char *display_name,
                                   struct store_user *out)
{
    const char *params[] = {idp, subject, username, email, display_name};
    enum store_rc rc = store_exec_row(c, &stmt_user_federated, params, &user_row, out);
    if (rc == STORE_ERROR) { /* the name is another user's */
        params[2] = fallback_username;
        rc = store_exec_row(c, &stmt_user_federated, params, &user_row, out);
    }
    return rc == STORE_NOT_FOUND ? STORE_ERROR : rc;
}

enum store_rc store_idp_login_create(struct store_conn *c, const char *state_hash, const char *idp,
                                     const char *return_to, int ttl_s)
{
    const char *params[] = {state_hash, idp, return_to, STORE_INT(ttl_s)};
    return store_exec_cmd(c, &stmt_idp_login_create, params);
}

enum store_rc store_idp_login_take(struct store_conn *c, const char *state_hash, char *idp,
                                   size_t idp_len, char *return_to, size_t return_len)
{
    const char *params[] = {state_hash};
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_idp_login_take, params, &r);
    if (rc != STORE_OK)
        return rc;
    if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 2), "t") == 0) {
        snprintf(idp, idp_len, "%s", PQgetvalue(r, 0, 0));
        snprintf(return_to, return_len, "%s", PQgetvalue(r, 0, 1));
    } else {
        rc = STORE_NOT_FOUND;
    }
    PQclear(r);
    return rc;
}

enum store_rc store_web_sessions_end(struct store_conn *c, long long user_id)
{
    const char *params[] = {STORE_INT(user_id)};
    return store_exec_cmd(c, &stmt_ws_end_user, params);
}
