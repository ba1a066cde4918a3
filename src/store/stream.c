/*
 * store/stream.c - durable SSE streams, events and pending requests.
 */
#include "store/stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "util/crypto.h"

static const struct store_stmt stmt_create = {
    "stream_create",
    "INSERT INTO mcp_streams (stream_id, session_hash, kind, request_id, expires_at)"
    " VALUES ($1, $2, 'post', $3, now() + make_interval(secs => $4::int))",
    4,
};

/* The session row is locked (KEY SHARE) before the stream is made: a
 * DELETE of the session that commits meanwhile leaves no row to insert
 * (no result, STORE_NOT_FOUND) instead of a foreign-key violation. */
static const struct store_stmt stmt_session_stream = {
    "stream_session",
    "INSERT INTO mcp_streams (stream_id, session_hash, kind, expires_at)"
    " SELECT $1, id_hash, $3, now() + make_interval(secs => $4::int)"
    " FROM mcp_sessions WHERE id_hash = $2 FOR KEY SHARE"
    " ON CONFLICT (session_hash) WHERE kind IN ('get', 'sse')"
    " DO UPDATE SET expires_at = greatest(mcp_streams.expires_at, EXCLUDED.expires_at)"
    " RETURNING stream_id, delivered_seq",
    4,
};

/* seq is taken under the stream row's lock: commit order is seq order */
static const struct store_stmt stmt_append = {
    "event_append",
    "WITH s AS (UPDATE mcp_streams SET last_seq = last_seq + 1, done = done OR $4::bool"
    " WHERE stream_id = $1 RETURNING last_seq),"
    " e AS (INSERT INTO mcp_events (stream_id, seq, event, payload)"
    " SELECT $1, last_seq, $2, $3 FROM s RETURNING seq)"
    " SELECT seq, pg_notify('" STORE_NOTIFY_CHANNEL "', 'e:' || $1) FROM e",
    4,
};

static const struct store_stmt stmt_after = {
    "events_after",
    "SELECT s.done, s.last_seq, e.seq, e.event, e.payload FROM mcp_streams s"
    " LEFT JOIN mcp_events e ON e.stream_id = s.stream_id AND e.seq > $3::bigint"
    " WHERE s.stream_id = $1 AND s.session_hash = $2"
    " ORDER BY e.seq LIMIT 64",
    3,
};

static const struct store_stmt stmt_session_of = {
    "stream_session_of",
    "SELECT s.session_hash FROM mcp_streams s JOIN mcp_sessions m ON m.id_hash = s.session_hash"
    " WHERE s.stream_id = $1 AND s.kind = $2 AND m.expires_at > now()",
    2,
};

static const struct store_stmt stmt_delivered = {
    "stream_delivered",
    "UPDATE mcp_streams SET delivered_seq = $2::bigint"
    " WHERE stream_id = $1 AND delivered_seq < $2::bigint",
    2,
};

static const struct store_stmt stmt_pending_create = {
    "pending_create",
    "INSERT INTO mcp_pending (session_hash, request_id, method, expires_at)"
    " VALUES ($1, $2, $3, now() + make_interval(secs => $4::int))",
    4,
};

static const struct store_stmt stmt_pending_respond = {
    "pending_respond",
    "WITH u AS (UPDATE mcp_pending SET response = $3"
    " WHERE session_hash = $1 AND request_id = $2 AND response IS NULL AND expires_at > now()"
    " RETURNING 1)"
    " SELECT pg_notify('" STORE_NOTIFY_CHANNEL "', 'r:' || $2) FROM u",
    3,
};

static const struct store_stmt stmt_pending_take = {
    "pending_take",
    "DELETE FROM mcp_pending WHERE session_hash = $1 AND request_id = $2"
    " AND response IS NOT NULL RETURNING response",
    2,
};

static const struct store_stmt stmt_pending_drop = {
    "pending_drop",
    "DELETE FROM mcp_pending WHERE session_hash = $1 AND request_id = $2",
    2,
};

static const struct store_stmt stmt_notify = {
    "notify",
    "SELECT pg_notify('" STORE_NOTIFY_CHANNEL "', $1)",
    1,
};

static void new_stream_id(char out[STORE_STREAM_ID_LEN + 1])
{
    unsigned char raw[16];
    crypto_random(raw, sizeof raw);
    crypto_b64url_encode(raw, sizeof raw, out);
}

enum store_rc store_stream_create(struct store_conn *c, const char *session_hash,
                                  const char *request_id, int ttl_s,
                                  char id_out[STORE_STREAM_ID_LEN + 1])
{
    new_stream_id(id_out);
    const char *params[] = {id_out, session_hash, request_id, STORE_INT(ttl_s)};
    return store_exec_cmd(c, &stmt_create, params);
}

enum store_rc store_stream_session(struct store_conn *c, const char *session_hash,
                                   enum store_stream_kind kind, int ttl_s,
                                   char id_out[STORE_STREAM_ID_LEN + 1], long long *last_seq)
{
    char fresh[STORE_STREAM_ID_LEN + 1];
    new_stream_id(fresh);
    const char *params[] = {fresh, session_hash, kind == STORE_STREAM_SSE ? "sse" : "get",
                            STORE_INT(ttl_s)};
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_session_stream, params, &r);
    if (rc != STORE_OK)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return STORE_NOT_FOUND; /* the session is gone */
    }
    snprintf(id_out, STORE_STREAM_ID_LEN + 1, "%s", PQgetvalue(r, 0, 0));
    *last_seq = atoll(PQgetvalue(r, 0, 1));
    PQclear(r);
    return STORE_OK;
}

enum store_rc store_stream_session_of(struct store_conn *c, const char *stream_id,
                                      enum store_stream_kind kind, char session_hash[65])
{
    const char *kinds[] = {
        [STORE_STREAM_POST] = "post", [STORE_STREAM_GET] = "get", [STORE_STREAM_SSE] = "sse"};
    const char *params[] = {stream_id, kinds[kind]};
    return store_exec_value(c, &stmt_session_of, params, STORE_COL_TEXT, session_hash, 65);
}

enum store_rc store_event_append(struct store_conn *c, const char *stream_id, const char *event,
                                 const char *payload, int done, long long *seq)
{
    const char *params[] = {stream_id, event, payload, done ? "true" : "false"};
    return store_exec_ll(c, &stmt_append, params, seq);
}

/* stmt_after's columns 2 to 4: an event (NULL when there is none). */
#define EVENT(kind, field) STORE_COL(kind, struct store_event, field)
STORE_ROW_MAP_DEFINE(event_row, struct store_event, STORE_COL_NONE, STORE_COL_NONE, EVENT(LL, seq),
                     EVENT(DUP_NULL, event), EVENT(DUP_NULL, payload));

enum store_rc store_events_after(struct store_conn *c, const char *stream_id,
                                 const char *session_hash, long long after,
                                 struct store_event_batch *b)
{
    const char *params[] = {stream_id, session_hash, STORE_INT(after)};
    PGresult *r;
    memset(b, 0, sizeof *b);
    enum store_rc rc = store_exec(c, &stmt_after, params, &r);
    if (rc != STORE_OK)
        return rc;
    int rows = PQntuples(r);
    if (rows == 0) {
        PQclear(r);
        return STORE_NOT_FOUND;
    }
    b->done = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    b->last_seq = atoll(PQgetvalue(r, 0, 1));
    for (int i = 0; i < rows && b->n < (int)(sizeof b->ev / sizeof b->ev[0]); i++) {
        if (PQgetisnull(r, i, 2))
            continue;
        store_row_read(r, i, &event_row, &b->ev[b->n++]);
    }
    PQclear(r);
    return STORE_OK;
}

void store_event_batch_free(struct store_event_batch *b)
{
    for (int i = 0; i < b->n; i++) {
        free(b->ev[i].event);
        free(b->ev[i].payload);
    }
    b->n = 0;
}

enum store_rc store_stream_delivered(struct store_conn *c, const char *stream_id, long long seq)
{
    const char *params[] = {stream_id, STORE_INT(seq)};
    return store_exec_cmd(c, &stmt_delivered, params);
}

enum store_rc store_pending_create(struct store_conn *c, const char *session_hash,
                                   const char *request_id, const char *method, int ttl_s)
{
    const char *params[] = {session_hash, request_id, method, STORE_INT(ttl_s)};
    return store_exec_cmd(c, &stmt_pending_create, params);
}

enum store_rc store_pending_respond(struct store_conn *c, const char *session_hash,
                                    const char *request_id, const char *response)
{
    const char *params[] = {session_hash, request_id, response};
    int rows = 0;
    enum store_rc rc = store_exec_rows(c, &stmt_pending_respond, params, &rows);
    if (rc != STORE_OK)
        return rc;
    return rows == 1 ? STORE_OK : STORE_NOT_FOUND;
}

enum store_rc store_pending_take(struct store_conn *c, const char *session_hash,
                                 const char *request_id, char **response)
{
    const char *params[] = {session_hash, request_id};
    enum store_rc rc = store_exec_value(c, &stmt_pending_take, params, STORE_COL_DUP_NULL, response,
                                        sizeof *response);
    return rc == STORE_OK && !*response ? STORE_NOT_FOUND : rc;
}

enum store_rc store_pending_drop(struct store_conn *c, const char *session_hash,
                                 const char *request_id)
{
    const char *params[] = {session_hash, request_id};
    return store_exec_cmd(c, &stmt_pending_drop, params);
}

enum store_rc store_notify(struct store_conn *c, const char *key)
{
    const char *params[] = {key};
    return store_exec_cmd(c, &stmt_notify, params);
}
