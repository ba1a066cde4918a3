/*
 * store/oauth_tokens.c - authorization codes, token families, access and
 * refresh tokens, consents.
 */
#include "store/oauth_tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/cache.h"
#include "store/db_internal.h"
#include "util/alloc.h"
#include "util/time.h"

#define TS_TEXT(col)                                                                               \
    "coalesce(to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'), '')"

static const struct store_stmt stmt_code_create = {
    "code_create",
    "WITH f AS (INSERT INTO oauth_families (user_id, client_id, scope, resource)"
    " VALUES ($1::bigint, $2, $3, $4) RETURNING id)"
    " INSERT INTO oauth_codes (code_hash, family_id, redirect_uri, code_challenge, expires_at)"
    " SELECT $5, id, $6, $7, now() + make_interval(secs => $8::int) FROM f",
    8,
};

static const struct store_stmt stmt_code_redeem = {
    "code_redeem",
    "SELECT status, family, client_id, user_id, scope, resource, redirect_uri, code_challenge"
    " FROM oauth_code_redeem($1, $2, $3, $4, $5, $6, $7, $8::int, $9::int)",
    9,
};

static const struct store_stmt stmt_rotate = {
    "refresh_rotate",
    "SELECT status, coalesce(scope, '') FROM oauth_refresh_rotate($1, $2, $3, $4, $5::int,"
    " $6::int, $7::int, $8)",
    8,
};

#define GRANT_COLUMNS                                                                              \
    "u.id, u.username, f.client_id, t.scope, t.audience,"                                          \
    " extract(epoch FROM t.expires_at)::bigint, extract(epoch FROM t.created_at)::bigint, t.kind"

static const struct store_stmt stmt_access_find = {
    "access_find",
    "WITH touch AS (UPDATE oauth_families SET last_used_at = now() WHERE id ="
    " (SELECT family_id FROM oauth_tokens WHERE token_hash = $1 AND kind = 'access')"
    " AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute'))"
    " SELECT " GRANT_COLUMNS ", t.token_hash FROM oauth_tokens t"
    " JOIN oauth_families f ON f.id = t.family_id JOIN users u ON u.id = f.user_id"
    " JOIN oauth_clients cl ON cl.client_id = f.client_id"
    " WHERE t.token_hash = $1 AND t.kind = 'access' AND t.revoked_at IS NULL"
    " AND t.expires_at > now() AND f.revoked_at IS NULL AND NOT u.disabled"
    " AND cl.revoked_at IS NULL",
    1,
};

static const struct store_stmt stmt_introspect = {
    "token_introspect",
    "SELECT " GRANT_COLUMNS ", t.token_hash,"
    " t.revoked_at IS NULL AND t.expires_at > now() AND f.revoked_at IS NULL"
    " AND NOT u.disabled AND cl.revoked_at IS NULL AND (t.kind = 'access' OR t.used_at IS NULL)"
    " FROM oauth_tokens t JOIN oauth_families f ON f.id = t.family_id"
    " JOIN users u ON u.id = f.user_id JOIN oauth_clients cl ON cl.client_id = f.client_id"
    " WHERE t.token_hash = $1 AND f.client_id = $2",
    2,
};

static const struct store_stmt stmt_revoke = {
    "token_revoke",
    "WITH t AS (SELECT t.token_hash, t.kind, t.family_id FROM oauth_tokens t"
    " JOIN oauth_families f ON f.id = t.family_id"
    " WHERE t.token_hash = $1 AND ($2::text IS NULL OR f.client_id = $2)),"
    " a AS (UPDATE oauth_tokens SET revoked_at = now() WHERE revoked_at IS NULL"
    " AND token_hash IN (SELECT token_hash FROM t WHERE kind = 'access') RETURNING 1),"
    " r AS (UPDATE oauth_families SET revoked_at = now(), revoke_reason = 'revoked'"
    " WHERE revoked_at IS NULL AND id IN (SELECT family_id FROM t WHERE kind = 'refresh')"
    " RETURNING 1)"
    " SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM r)",
    2,
};

static const struct store_stmt stmt_families_revoke = {
    "families_revoke",
    "WITH f AS (UPDATE oauth_families SET revoked_at = now(), revoke_reason = 'revoked by user'"
    " WHERE user_id = $1::bigint AND ($2::text IS NULL OR client_id = $2)"
    " AND revoked_at IS NULL RETURNING 1),"
    " c AS (DELETE FROM oauth_consents WHERE user_id = $1::bigint"
    " AND ($2::text IS NULL OR client_id = $2))"
    " SELECT count(*) FROM f",
    2,
};

static const struct store_stmt stmt_user_apps = {
    "user_apps",
    "SELECT f.client_id, cl.name,"
    " (SELECT string_agg(DISTINCT s, ' ') FROM oauth_families f2,"
    " regexp_split_to_table(f2.scope, ' ') s WHERE f2.user_id = $1::bigint"
    " AND f2.client_id = f.client_id AND f2.revoked_at IS NULL AND f2.issued),"
    " " TS_TEXT("max(f.last_used_at)") ", " TS_TEXT(
        "min(f.created_at)") " FROM oauth_families f JOIN oauth_clients cl ON cl.client_id = "
                             "f.client_id"
                             " WHERE f.user_id = $1::bigint AND f.revoked_at IS NULL AND f.issued"
                             " AND cl.revoked_at IS NULL AND EXISTS (SELECT 1 FROM oauth_tokens t "
                             "WHERE t.family_id = f.id"
                             " AND t.revoked_at IS NULL AND t.expires_at > now())"
                             " GROUP BY f.client_id, cl.name ORDER BY max(f.last_used_at) DESC "
                             "NULLS LAST, cl.name",
    1,
};

static const struct store_stmt stmt_consent_find = {
    "consent_find",
    "SELECT scope FROM oauth_consents WHERE user_id = $1::bigint AND client_id = $2",
    2,
};

static const struct store_stmt stmt_consent_resource = {
    "consent_resource",
    "SELECT EXISTS (SELECT 1 FROM oauth_families WHERE user_id = $1::bigint AND client_id = $2"
    " AND resource = $3 AND issued)",
    3,
};

static const struct store_stmt stmt_consent_save = {
    "consent_save",
    "INSERT INTO oauth_consents (user_id, client_id, scope) VALUES ($1::bigint, $2, $3)"
    " ON CONFLICT (user_id, client_id) DO UPDATE SET scope = EXCLUDED.scope, granted_at = now()",
    3,
};

/* The oldest rows first, through the expires_at index, deleted by ctid.
 * Planned on each call (no name): a prepared statement kept the plan made
 * while the table was small, sequential scans read in full on every call
 * once it had grown, even with nothing to delete; and without the ORDER BY
 * a table not yet analyzed got one too (the planner expected LIMIT to stop
 * it early). */
static const struct store_stmt stmt_purge = {
    NULL, /* planned on each call */
    "WITH t AS (DELETE FROM oauth_tokens WHERE ctid = ANY (ARRAY(SELECT ctid FROM oauth_tokens"
    " WHERE expires_at < now() - interval '1 day' ORDER BY expires_at LIMIT 500))),"
    " c AS (DELETE FROM oauth_codes WHERE ctid = ANY (ARRAY(SELECT ctid FROM oauth_codes"
    " WHERE expires_at < now() - interval '1 day' ORDER BY expires_at LIMIT 500)))"
    " SELECT 1",
    0,
};

enum store_rc store_code_create(struct store_conn *c, const struct store_code_new *n)
{
    const char *params[] = {STORE_INT(n->user_id), n->client_id,       n->scope,
                            n->resource,           n->code_hash,       n->redirect_uri,
                            n->code_challenge,     STORE_INT(n->ttl_s)};
    return store_exec_cmd(c, &stmt_code_create, params);
}

/* stmt_code_redeem's columns after the status: all of them for a code
 * redeemed, the family and client alone otherwise. */
#define CODE(kind, field) STORE_COL(kind, struct store_code, field)
STORE_ROW_MAP_DEFINE(code_row, struct store_code, STORE_COL_NONE, CODE(LL, family_id),
                     CODE(TEXT, client_id), CODE(LL, user_id), CODE(TEXT, scope),
                     CODE(TEXT, resource), CODE(TEXT, redirect_uri), CODE(TEXT, code_challenge));
static const struct store_row_map code_family_row = {code_row_cols, 3, sizeof(struct store_code)};

static enum store_consume consume_status(const char *st)
{
    static const struct {
        const char *name;
        enum store_consume status;
    } map[] = {
        {"ok", STORE_CODE_OK},
        {"replayed", STORE_CODE_REPLAYED},
        {"client", STORE_CODE_CLIENT},
        {"verifier", STORE_CODE_VERIFIER},
        {"redirect_uri", STORE_CODE_REDIRECT_URI},
        {"resource", STORE_CODE_RESOURCE},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(st, map[i].name) == 0)
            return map[i].status;
    return STORE_CODE_INVALID;
}

/* store_exec() for a statement that may revoke a family of tokens, with
 * *seq the cache's count from before it: when it did, the caller waits
 * with store_cache_sync(*seq) until the other processes dropped them. */
static enum store_rc exec_watched(struct store_conn *c, const struct store_stmt *stmt,
                                  const char *const *params, PGresult **r, unsigned long *seq)
{
    store_cache_begin(seq);
    return store_exec(c, stmt, params, r);
}

enum store_rc store_code_redeem(struct store_conn *c, const struct store_redeem_in *in,
                                enum store_consume *status, struct store_code *out)
{
    const char *params[] = {in->code_hash,
                            in->client_id,
                            in->challenge,
                            in->redirect_uri,
                            in->resource,
                            in->access_hash,
                            in->refresh_hash,
                            STORE_INT(in->access_ttl_s),
                            STORE_INT(in->refresh_ttl_s)};
    unsigned long seq;
    PGresult *r;
    enum store_rc rc = exec_watched(c, &stmt_code_redeem, params, &r, &seq);
    if (rc != STORE_OK)
        return rc;
    memset(out, 0, sizeof *out);
    *status = consume_status(PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "invalid");
    if (PQntuples(r) == 1)
        store_row_read(r, 0, *status == STORE_CODE_OK ? &code_row : &code_family_row, out);
    PQclear(r);
    if (*status == STORE_CODE_REPLAYED) /* the family's tokens were revoked */
        store_cache_sync(seq, STORE_CACHE_SYNC_MS);
    return STORE_OK;
}

enum store_rc store_refresh_rotate(struct store_conn *c, const struct store_rotate_in *in,
                                   enum store_rotate *status, char *scope, size_t scope_n)
{
    const char *at = STORE_INT(in->access_ttl_s), *rt = STORE_INT(in->refresh_ttl_s);
    const char *params[] = {
        in->refresh_hash,       in->client_id, in->access_hash, in->new_refresh_hash, at, rt,
        STORE_INT(in->grace_s), in->scope};
    unsigned long seq;
    PGresult *r;
    enum store_rc rc = exec_watched(c, &stmt_rotate, params, &r, &seq);
    if (rc != STORE_OK)
        return rc;
    const char *st = PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "invalid";
    *status = strcmp(st, "ok") == 0       ? STORE_ROTATE_OK
              : strcmp(st, "grace") == 0  ? STORE_ROTATE_GRACE
              : strcmp(st, "reused") == 0 ? STORE_ROTATE_REUSED
              : strcmp(st, "scope") == 0  ? STORE_ROTATE_SCOPE
                                          : STORE_ROTATE_INVALID;
    if (*status == STORE_ROTATE_OK)
        snprintf(scope, scope_n, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    if (*status == STORE_ROTATE_REUSED) /* the family's tokens were revoked */
        store_cache_sync(seq, STORE_CACHE_SYNC_MS);
    return STORE_OK;
}

/* A grant as the cache keeps it: the numbers, then username, client_id,
 * scope, audience and kind, each with its NUL. A struct store_grant is
 * 3.4 kB of mostly empty arrays: a full table of those would cost every
 * process 1.7 MB, filled slot by slot as new tokens arrive. */
struct cached_grant {
    long long user_id;
    long long expires_at;
    long long issued_at;
    int active;
    char text[];
};

#define CACHED_GRANT_MAX (sizeof(struct cached_grant) + sizeof(struct store_grant))

/* Copies the string at *p (it must end before end) into dst of n bytes and
 * moves *p past it. Returns 0, or -1 when it is not there or does not fit. */
static int take_text(const char **p, const char *end, char *dst, size_t n)
{
    size_t len = strnlen(*p, (size_t)(end - *p));
    if (len == (size_t)(end - *p) || len >= n)
        return -1;
    memcpy(dst, *p, len + 1);
    *p += len + 1;
    return 0;
}

static char *put_text(char *p, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(p, s, n);
    return p + n;
}

/* The process cache of grants by hash: grant_cached() returns 1 and fills
 * *out on a hit; grant_keep() remembers g, read after store_cache_begin(seq). */
static int grant_cached(char prefix, const char *hash, struct store_grant *out)
{
    char key[80];
    snprintf(key, sizeof key, "%c%s", prefix, hash);
    union {
        struct cached_grant g;
        char raw[CACHED_GRANT_MAX];
    } v;
    long n = store_cache_get(STORE_CACHE_AUTH, key, &v, sizeof v);
    if (n < (long)sizeof v.g)
        return 0;
    memset(out, 0, sizeof *out);
    const char *p = v.g.text, *end = v.raw + n;
    if (take_text(&p, end, out->username, sizeof out->username) < 0 ||
        take_text(&p, end, out->client_id, sizeof out->client_id) < 0 ||
        take_text(&p, end, out->scope, sizeof out->scope) < 0 ||
        take_text(&p, end, out->audience, sizeof out->audience) < 0 ||
        take_text(&p, end, out->kind, sizeof out->kind) < 0)
        return 0;
    out->user_id = v.g.user_id;
    out->expires_at = v.g.expires_at;
    out->issued_at = v.g.issued_at;
    out->active = v.g.active;
    return 1;
}

static void grant_keep(char prefix, const char *hash, const struct store_grant *g,
                       unsigned long seq)
{
    char key[80];
    snprintf(key, sizeof key, "%c%s", prefix, hash);
    long long expires = STORE_CACHE_MAX_LIFE_MS;
    if (g->expires_at) {
        long long left_ms = (g->expires_at - (long long)time(NULL)) * 1000;
        if (left_ms < expires)
            expires = left_ms;
    }
    if (expires <= 0)
        return;
    size_t len = sizeof(struct cached_grant) + strlen(g->username) + strlen(g->client_id) +
                 strlen(g->scope) + strlen(g->audience) + strlen(g->kind) + 5;
    struct cached_grant *v = xcalloc(1, len);
    v->user_id = g->user_id;
    v->expires_at = g->expires_at;
    v->issued_at = g->issued_at;
    v->active = g->active;
    char *p = put_text(v->text, g->username);
    p = put_text(p, g->client_id);
    p = put_text(p, g->scope);
    p = put_text(p, g->audience);
    put_text(p, g->kind);
    store_cache_put(STORE_CACHE_AUTH, key, g->user_id, v, len, mg_now_ms() + expires, seq);
    free(v);
}

/* GRANT_COLUMNS, the hash (checked by store_exec_row_hash), and where the
 * statement has it whether the token is active. */
#define GRANT(kind, field) STORE_COL(kind, struct store_grant, field)
STORE_ROW_MAP_DEFINE(grant_row, struct store_grant, GRANT(LL, user_id), GRANT(TEXT, username),
                     GRANT(TEXT, client_id), GRANT(TEXT, scope), GRANT(TEXT, audience),
                     GRANT(LL, expires_at), GRANT(LL, issued_at), GRANT(TEXT, kind), STORE_COL_NONE,
                     GRANT(BOOL, active));

enum store_rc store_grant_find(struct store_conn *c, const struct store_grant_lookup *lookup,
                               const char *hash, struct store_grant *out)
{
    if (grant_cached(lookup->prefix, hash, out))
        return STORE_OK;
    unsigned long seq;
    int cache = store_cache_begin(&seq);
    const char *params[] = {hash};
    enum store_rc rc =
        store_exec_row_hash(c, lookup->stmt, params, lookup->map, lookup->hash_col, out);
    if (rc != STORE_OK)
        return rc;
    if (lookup->kind)
        snprintf(out->kind, sizeof out->kind, "%s", lookup->kind);
    out->active = 1; /* the statements find live grants only */
    if (cache)
        grant_keep(lookup->prefix, hash, out, seq);
    return STORE_OK;
}

enum store_rc store_access_find(struct store_conn *c, const char *token_hash,
                                struct store_grant *out)
{
    static const struct store_grant_lookup access = {'t', &stmt_access_find, &grant_row, 8, NULL};
    return store_grant_find(c, &access, token_hash, out);
}

enum store_rc store_token_introspect(struct store_conn *c, const char *token_hash,
                                     const char *client_id, struct store_grant *out)
{
    const char *params[] = {token_hash, client_id};
    return store_exec_row_hash(c, &stmt_introspect, params, &grant_row, 8, out);
}

enum store_rc
store_exec_revoke(struct store_conn *c, const struct store_stmt *stmt, const char *const *params,
                  enum store_rc (*count)(struct store_conn *c, const struct store_stmt *stmt,
                                         const char *const *params, int *n),
                  int *n)
{
    unsigned long seq;
    store_cache_begin(&seq);
    enum store_rc rc = count(c, stmt, params, n);
    if (rc == STORE_OK && *n > 0)
        store_cache_sync(seq, STORE_CACHE_SYNC_MS);
    return rc;
}

enum store_rc store_token_revoke(struct store_conn *c, const char *token_hash,
                                 const char *client_id, int *n)
{
    const char *params[] = {token_hash, client_id};
    return store_exec_revoke(c, &stmt_revoke, params, store_exec_count, n);
}

enum store_rc store_families_revoke(struct store_conn *c, long long user_id, const char *client_id,
                                    int *n)
{
    const char *params[] = {STORE_INT(user_id), client_id};
    return store_exec_revoke(c, &stmt_families_revoke, params, store_exec_count, n);
}

#define APP(kind, field) STORE_COL(kind, struct store_app, field)
STORE_ROW_MAP_DEFINE(app_row, struct store_app, APP(TEXT, client_id), APP(TEXT, name),
                     APP(TEXT, scope), APP(TEXT, last_used), APP(TEXT, since));
STORE_ROWS_EACH_DEFINE(app_each, struct store_app, &app_row)

enum store_rc store_user_apps(struct store_conn *c, long long user_id,
                              void (*fn)(void *arg, const struct store_app *app), void *arg)
{
    const char *params[] = {STORE_INT(user_id)};
    return app_each(c, &stmt_user_apps, params, fn, arg);
}

enum store_rc store_consent_find(struct store_conn *c, long long user_id, const char *client_id,
                                 char *scope, size_t n)
{
    const char *params[] = {STORE_INT(user_id), client_id};
    return store_exec_value(c, &stmt_consent_find, params, STORE_COL_TEXT, scope, n);
}

enum store_rc store_consent_resource_used(struct store_conn *c, long long user_id,
                                          const char *client_id, const char *resource, int *used)
{
    const char *params[] = {STORE_INT(user_id), client_id, resource};
    return store_exec_value(c, &stmt_consent_resource, params, STORE_COL_BOOL, used, sizeof *used);
}

enum store_rc store_consent_save(struct store_conn *c, long long user_id, const char *client_id,
                                 const char *scope)
{
    const char *params[] = {STORE_INT(user_id), client_id, scope};
    return store_exec_cmd(c, &stmt_consent_save, params);
}

enum store_rc store_tokens_purge(struct store_conn *c)
{
    return store_exec_cmd(c, &stmt_purge, NULL);
}
