/*
 * store/audit.h - the audit trail of tool calls (table audit_log, append-
 * only: a trigger refuses UPDATE, DELETE and TRUNCATE).
 *
 * Owns: the rows' shape, their group commit and the queries the admin
 * command runs.
 */
#ifndef MG_STORE_AUDIT_H
#define MG_STORE_AUDIT_H

#include "store/db.h"

struct store_audit_entry {
    long long user_id;       /* 0: no user (authentication off) */
    const char *client_id;   /* NULL: none */
    const char *tool;        /* as called */
    const char *args_digest; /* 64 hex chars */
    const char *outcome;     /* "ok", "error", "refused", "cancelled" */
    const char *detail;      /* NULL or a reason without secrets */
    int duration_ms;
    const char *request_id; /* NULL or the X-Request-Id */
};

/* Appends one row and returns once it is committed: STORE_OK or a
 * failure. Rows that threads of this process append at the same time are
 * group-committed: one thread inserts them all in one statement on its
 * connection c (so a row's outcome may come from another thread's
 * connection). */
__attribute__((warn_unused_result)) enum store_rc
store_audit_append(struct store_conn *c, const struct store_audit_entry *e);

/* A query of the audit trail for the admin command; NULL/0 fields do not
 * filter. */
struct store_audit_filter {
    long long user_id;
    const char *username;
    const char *tool;
    const char *outcome;
    const char *since; /* a timestamp PostgreSQL understands */
    int limit;         /* newest rows first; at most 10000 */
};

/* One row as text, for printing. Borrowed for the callback's duration. */
struct store_audit_row {
    const char *id, *at, *user, *client_id, *tool, *args_digest, *outcome, *detail, *duration_ms,
        *request_id;
};

/* Calls fn for each matching row, newest first. Returns STORE_OK or a
 * failure. */
__attribute__((warn_unused_result)) enum store_rc
store_audit_query(struct store_conn *c, const struct store_audit_filter *f,
                  void (*fn)(const struct store_audit_row *row, void *arg), void *arg);

#endif
