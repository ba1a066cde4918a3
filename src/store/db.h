/*
 * store/db.h - PostgreSQL connections and prepared statements.
 *
 * Owns: one struct store_conn per worker thread (libpq connections must not
 * be shared between threads), opened lazily, re-opened after a failure;
 * statement preparation (once per connection, on first use); the retry of a
 * statement whose connection turned out to be dead.
 * Must not touch: HTTP, JSON-RPC. This directory is the only place in the
 * code that includes libpq-fe.h or contains SQL.
 */
#ifndef MG_STORE_DB_H
#define MG_STORE_DB_H

#include <stddef.h>

/* Result of every store function. */
enum store_rc {
    STORE_OK = 0,
    STORE_NOT_FOUND,   /* the row does not exist (or has expired) */
    STORE_UNAVAILABLE, /* the database cannot be reached or is not migrated: retry later */
    STORE_ERROR,       /* the statement failed for another reason (logged) */
};

struct store_conn;

/* Creates an unconnected handle; nothing is opened until first use.
 * conninfo is copied. Free with store_conn_free(). Cannot fail (aborts on OOM). */
struct store_conn *store_conn_new(const char *conninfo, int connect_timeout_s);

/* Closes the connection and frees the handle. Accepts NULL. */
void store_conn_free(struct store_conn *c);

/* Closes the connection (it is re-opened on next use): a thread that is
 * about to wait a long time (a held SSE stream) gives its connection back
 * to the server. Cannot fail. */
void store_conn_release(struct store_conn *c);

/* Opens the connection if it is not open, and checks that the schema is the
 * one this build knows. Returns STORE_OK or STORE_UNAVAILABLE (logged). */
__attribute__((warn_unused_result)) enum store_rc store_conn_ensure(struct store_conn *c);

#endif
