/*
 * store/audit.c - the audit trail of tool calls.
 */
#include "store/audit.h"

#include <stdio.h>
#include <stdlib.h>

#include "store/db_internal.h"

static const struct store_stmt stmt_append = {
    "audit_append",
    "INSERT INTO audit_log (user_id, client_id, tool, args_digest, outcome, detail,"
    " duration_ms, request_id) VALUES (nullif($1::bigint, 0), $2, $3, $4, $5, $6, $7::int, $8)",
    8,
};

static const struct store_stmt stmt_query = {
    "audit_query",
    "SELECT a.id, to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " coalesce(u.username, a.user_id::text, ''), coalesce(a.client_id, ''), a.tool,"
    " a.args_digest, a.outcome, coalesce(a.detail, ''), a.duration_ms, coalesce(a.request_id, '')"
    " FROM audit_log a LEFT JOIN users u ON u.id = a.user_id"
    " WHERE ($1::bigint IS NULL OR a.user_id = $1::bigint)"
    " AND ($2::text IS NULL OR u.username = $2)"
    " AND ($3::text IS NULL OR a.tool = $3)"
    " AND ($4::text IS NULL OR a.outcome = $4)"
    " AND ($5::timestamptz IS NULL OR a.at >= $5::timestamptz)"
    " ORDER BY a.id DESC LIMIT $6::int",
    6,
};

enum store_rc store_audit_append(struct store_conn *c, const struct store_audit_entry *e)
{
    char uid[24], dur[16];
    snprintf(uid, sizeof uid, "%lld", e->user_id);
    snprintf(dur, sizeof dur, "%d", e->duration_ms);
    const char *params[] = {uid,        e->client_id, e->tool, e->args_digest,
                            e->outcome, e->detail,    dur,     e->request_id};
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_append, params, &r);
    PQclear(r);
    return rc;
}

enum store_rc store_audit_query(struct store_conn *c, const struct store_audit_filter *f,
                                void (*fn)(const struct store_audit_row *row, void *arg), void *arg)
{
    char uid[24], lim[16];
    snprintf(uid, sizeof uid, "%lld", f->user_id);
    int limit = f->limit <= 0 ? 50 : f->limit > 10000 ? 10000 : f->limit;
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {
        f->user_id ? uid : NULL, f->username, f->tool, f->outcome, f->since, lim};
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_query, params, &r);
    if (rc != STORE_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_audit_row row = {PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                                      PQgetvalue(r, i, 3), PQgetvalue(r, i, 4), PQgetvalue(r, i, 5),
                                      PQgetvalue(r, i, 6), PQgetvalue(r, i, 7), PQgetvalue(r, i, 8),
                                      PQgetvalue(r, i, 9)};
        fn(&row, arg);
    }
    PQclear(r);
    return STORE_OK;
}
