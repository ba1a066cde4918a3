/*
 * store/db.h - PostgreSQL connections and prepared statements.
 *
 * Owns: the process's pool of PostgreSQL connections, from which each
 * worker thread borrows one for the length of a request (libpq connections
 * must not be shared between threads), opened lazily, re-opened after a
 * failure; standalone connections for the admin command;
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

/* A pool of at most max connections (conninfo copied). Its handles
 * (store_pool_handle) borrow a connection at their first statement and
 * keep it until store_conn_release(); a handle that finds every
 * connection lent waits up to connect_timeout_s for one, then answers
 * STORE_UNAVAILABLE. Cannot fail (aborts on OOM). */
struct store_pool *store_pool_new(const char *conninfo, int connect_timeout_s, int max);

/* A handle on pool for one thread; free it with store_conn_free() (which
 * gives back what it holds). */
struct store_conn *store_pool_handle(struct store_pool *pool);

/* Closes the pool's connections and frees it, once no handle holds one. */
void store_pool_free(struct store_pool *pool);

/* A pooled handle gives its connection back to the pool (the end of a
 * request, or a thread about to wait a long time on a held SSE stream); a
 * standalone connection is closed (re-opened on next use). Cannot fail. */
void store_conn_release(struct store_conn *c);

/* The readiness probe (GET /health/ready): borrows c's connection (a pooled
 * handle takes one from the pool, waiting as any statement does), opening it
 * if need be, and reads the applied schema version (0 for an empty database)
 * into *current with two trivial prepared statements. A connection found
 * dead, or whose server no longer takes writes, is closed and the probe run
 * once more on a fresh one. *known is always set to the newest version this
 * build knows. Returns STORE_OK (*current set) or STORE_UNAVAILABLE when no
 * server that takes writes answered (logged; *current untouched). The
 * caller releases the connection. */
__attribute__((warn_unused_result)) enum store_rc store_conn_probe(struct store_conn *c,
                                                                   int *current, int *known);

/* Opens the connection if it is not open, and checks that the schema is the
 * one this build knows. Returns STORE_OK or STORE_UNAVAILABLE (logged). */
__attribute__((warn_unused_result)) enum store_rc store_conn_ensure(struct store_conn *c);

#endif
