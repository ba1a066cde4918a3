/*
 * store/audit.h - the audit trail of tool calls (table audit_log, append-
 * only: a trigger refuses UPDATE, DELETE and TRUNCATE).
 *
 * Owns: the rows' shape, their group commit (which new sessions' rows
 * join: store_audit_session_then) and the queries the admin command runs.
 */
#ifndef MG_STORE_AUDIT_H
#define MG_STORE_AUDIT_H

#include <pthread.h>

#include "store/db.h"
#include "store/session.h"

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

/* Starts the process's audit writer: one thread that inserts every row
 * queued meanwhile in one statement (group commit) on a connection of its
 * own (conninfo). Returns 0, or -1 (rows are then inserted one by one by
 * their callers). */
int store_audit_writer_start(const char *conninfo, int connect_timeout_s,
                             const pthread_attr_t *attr);

/* Writes what is queued, then stops the writer (after the threads that
 * queue rows have stopped). Safe when it never started. */
void store_audit_writer_stop(void);

/* Appends one row and returns once it is committed: STORE_OK or a
 * failure. With the writer, rows that threads of this process append at
 * the same time are group-committed (c is released meanwhile); without,
 * the row is inserted on c. */
__attribute__((warn_unused_result)) enum store_rc
store_audit_append(struct store_conn *c, const struct store_audit_entry *e);

/* Queues a copy of one row for the writer and returns at once; the writer
 * calls done(arg, rc) on its thread once the row's transaction has
 * committed (STORE_OK) or failed. Returns 0, or -1 (no writer: nothing
 * queued, done is never called). */
int store_audit_append_then(const struct store_audit_entry *e,
                            void (*done)(void *arg, enum store_rc rc), void *arg);

/* Queues a copy of a new session's row (store/session.h) for the writer,
 * inserted in the same transaction as the audit rows of its batch; done is
 * called as for store_audit_append_then (STORE_OK: the session exists).
 * Returns 0, or -1 (no writer: nothing queued, done is never called; use
 * store_session_create). */
int store_audit_session_then(const struct store_session_new *s,
                             void (*done)(void *arg, enum store_rc rc), void *arg);

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
