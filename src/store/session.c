/*
 * store/session.c - MCP sessions (table mcp_sessions).
 */
#include "store/session.h"

#include <stdlib.h>
#include <string.h>

#include "store/cache.h"
#include "store/db_internal.h"
#include "util/alloc.h"
#include "util/time.h"

static const struct store_stmt stmt_create = {
    "session_create",
    "INSERT INTO mcp_sessions (id_hash, protocol_version, client_name, client_version,"
    " client_capabilities, expires_at, transport, user_id)"
    " VALUES ($1, $2, $3, $4, coalesce($5::jsonb, '{}'::jsonb),"
    " now() + make_interval(secs => $6::int), coalesce($7, 'streamable'), nullif($8::bigint, 0))",
    8,
};

/* One round trip: read the live session and, only when less than half of
 * its TTL is left, push the expiry forward. */
static const struct store_stmt stmt_find = {
    "session_find",
    "WITH slide AS ("
    " UPDATE mcp_sessions SET expires_at = now() + make_interval(secs => $2::int)"
    " WHERE id_hash = $1 AND expires_at > now()"
    " AND expires_at < now() + make_interval(secs => $2::int / 2)"
    " AND ($3::bigint < 0 OR coalesce(user_id, 0) = $3::bigint)"
    " RETURNING 1)"
    " SELECT protocol_version, (SELECT count(*) FROM slide), coalesce(log_level, ''),"
    " transport, client_capabilities::text, coalesce(user_id, 0) FROM mcp_sessions"
    " WHERE id_hash = $1 AND expires_at > now()",
    3,
};

static const struct store_stmt stmt_initialized = {
    "session_initialized",
    "UPDATE mcp_sessions SET protocol_version = $2, client_name = $3, client_version = $4,"
    " client_capabilities = coalesce($5::jsonb, '{}'::jsonb)"
    " WHERE id_hash = $1 AND expires_at > now()",
    5,
};

static const struct store_stmt stmt_log_level = {
    "session_log_level",
    "UPDATE mcp_sessions SET log_level = $2 WHERE id_hash = $1 AND expires_at > now()",
    2,
};

static const struct store_stmt stmt_delete = {
    "session_delete",
    "DELETE FROM mcp_sessions WHERE id_hash = $1 AND expires_at > now()",
    1,
};

/* Sessions (with their streams and events), and streams and pending
 * requests that outlived their own expiry, an hour after they expired.
 * The oldest first, through the expires_at indexes, deleted by ctid, and
 * planned on each call: no plan scans a whole table (see stmt_purge in
 * oauth_tokens.c). */
static const struct store_stmt stmt_purge = {
    NULL, /* planned on each call */
    "WITH st AS (DELETE FROM mcp_streams WHERE ctid = ANY (ARRAY(SELECT ctid FROM mcp_streams"
    " WHERE expires_at < now() - interval '1 hour' ORDER BY expires_at LIMIT 500))),"
    " pe AS (DELETE FROM mcp_pending WHERE expires_at < now() - interval '1 hour')"
    " DELETE FROM mcp_sessions WHERE ctid = ANY (ARRAY(SELECT ctid FROM mcp_sessions"
    " WHERE expires_at < now() - interval '1 hour' ORDER BY expires_at LIMIT 500))",
    0,
};

enum store_rc store_session_create(struct store_conn *c, const struct store_session_new *s)
{
    const char *params[] = {s->id_hash,        s->protocol_version,  s->client_name,
                            s->client_version, s->capabilities,      STORE_INT(s->ttl_s),
                            s->transport,      STORE_INT(s->user_id)};
    return store_exec_cmd(c, &stmt_create, params);
}

/* A session as the process cache holds it: the fixed fields, then the
 * capabilities text with its NUL. */
struct cached_session {
    char protocol_version[16];
    char log_level[16];
    char transport[16];
    long long user_id;
    char capabilities[];
};

#define CACHED_SESSION_MAX 8192

static int session_cached(const char *id_hash, struct store_session *out)
{
    union {
        struct cached_session s;
        char raw[CACHED_SESSION_MAX];
    } v;
    long n = store_cache_get(STORE_CACHE_SESSION, id_hash, &v, sizeof v);
    if (n <= (long)sizeof v.s || v.raw[n - 1] != '\0')
        return 0;
    memcpy(out->protocol_version, v.s.protocol_version, sizeof out->protocol_version);
    memcpy(out->log_level, v.s.log_level, sizeof out->log_level);
    memcpy(out->transport, v.s.transport, sizeof out->transport);
    out->user_id = v.s.user_id;
    out->capabilities = xstrdup(v.s.capabilities);
    return 1;
}

/* Remembers a session just found (and slid). It stays cached for a
 * quarter of its TTL: by then at least half of it is still left, and the
 * next lookup from PostgreSQL slides the expiry again when it is due. */
static void session_keep(const char *id_hash, int ttl_s, const struct store_session *s,
                         unsigned long seq)
{
    size_t caps = strlen(s->capabilities) + 1;
    size_t len = sizeof(struct cached_session) + caps;
    if (len > CACHED_SESSION_MAX)
        return;
    struct cached_session *v = xcalloc(1, len);
    memcpy(v->protocol_version, s->protocol_version, sizeof v->protocol_version);
    memcpy(v->log_level, s->log_level, sizeof v->log_level);
    memcpy(v->transport, s->transport, sizeof v->transport);
    v->user_id = s->user_id;
    memcpy(v->capabilities, s->capabilities, caps);
    store_cache_put(STORE_CACHE_SESSION, id_hash, s->user_id, v, len,
                    mg_now_ms() + (long long)ttl_s * 250, seq);
    free(v);
}

/* stmt_find's columns; the second says whether the expiry was pushed. */
#define SESSION(kind, field) STORE_COL(kind, struct store_session, field)
STORE_ROW_MAP_DEFINE(session_row, struct store_session, SESSION(TEXT, protocol_version),
                     STORE_COL_NONE, SESSION(TEXT, log_level), SESSION(TEXT, transport),
                     SESSION(DUP, capabilities), SESSION(LL, user_id));

enum store_rc store_session_find(struct store_conn *c, const char *id_hash, int ttl_s,
                                 long long owner, struct store_session *out)
{
    if (session_cached(id_hash, out))
        return STORE_OK;
    unsigned long seq;
    int cache = store_cache_begin(&seq);
    const char *params[] = {id_hash, STORE_INT(ttl_s), STORE_INT(owner)};
    enum store_rc rc = store_exec_row(c, &stmt_find, params, &session_row, out);
    if (rc != STORE_OK)
        return rc;
    /* kept only when slid: someone else's lookup did not push the expiry */
    if (cache && (owner < 0 || out->user_id == owner))
        session_keep(id_hash, ttl_s, out, seq);
    return STORE_OK;
}

void store_session_clear(struct store_session *s)
{
    free(s->capabilities);
    s->capabilities = NULL;
}

enum store_rc store_session_initialized(struct store_conn *c, const struct store_session_new *s)
{
    const char *params[] = {s->id_hash, s->protocol_version, s->client_name, s->client_version,
                            s->capabilities};
    enum store_rc rc = store_exec_changed(c, &stmt_initialized, params);
    store_cache_drop(STORE_CACHE_SESSION, s->id_hash); /* after the change, for this process */
    return rc;
}

enum store_rc store_session_set_log_level(struct store_conn *c, const char *id_hash,
                                          const char *level)
{
    const char *params[] = {id_hash, level};
    enum store_rc rc = store_exec_changed(c, &stmt_log_level, params);
    store_cache_drop(STORE_CACHE_SESSION, id_hash);
    return rc;
}

enum store_rc store_session_delete(struct store_conn *c, const char *id_hash)
{
    const char *params[] = {id_hash};
    unsigned long seq;
    int cached = store_cache_begin(&seq);
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_delete, params, &r);
    store_cache_drop(STORE_CACHE_SESSION, id_hash);
    if (rc != STORE_OK)
        return rc;
    int n = atoi(PQcmdTuples(r));
    PQclear(r);
    /* The other processes drop their copy on the trigger's NOTIFY: answer
     * once it has arrived here, when theirs is due too (store_cache_sync). */
    if (cached && n > 0)
        store_cache_sync(seq, STORE_CACHE_SYNC_MS);
    return n > 0 ? STORE_OK : STORE_NOT_FOUND;
}

enum store_rc store_session_purge(struct store_conn *c, int *n)
{
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_purge, NULL, &r);
    if (rc != STORE_OK)
        return rc;
    *n = atoi(PQcmdTuples(r));
    PQclear(r);
    return STORE_OK;
}
