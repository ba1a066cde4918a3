/*
 * store/listen.h - the process's one LISTEN connection.
 *
 * Owns: a thread with its own PostgreSQL connection that LISTENs on the
 * notify channel (store/stream.h) and hands each key to a callback. Held
 * SSE streams wait on that callback, not on a connection of their own.
 * When the connection is lost or (re)established the callback gets NULL:
 * notifications may have been missed, so every waiter should look again.
 * Cache keys ("x...") go to store/cache.h instead, and the process cache is
 * on only while the LISTEN holds.
 */
#ifndef MG_STORE_LISTEN_H
#define MG_STORE_LISTEN_H

struct store_conn;

typedef void (*store_listen_fn)(const char *key, void *arg);

/* Starts the listener thread. conninfo is copied. Returns 0, or -1 if the
 * thread could not be started. Connection failures are retried forever
 * (logged), not reported here. */
__attribute__((warn_unused_result)) int
store_listener_start(const char *conninfo, int connect_timeout_s, store_listen_fn fn, void *arg);

enum store_listener_state {
    STORE_LISTENER_OFF,       /* not started, or stopped */
    STORE_LISTENER_STARTING,  /* started; the first connection attempt runs */
    STORE_LISTENER_CONNECTED, /* LISTEN holds on a server that takes writes */
    STORE_LISTENER_RETRYING,  /* the connection failed or was lost; retrying */
    STORE_LISTENER_SHARED,    /* shared mode (below): the worker's connection LISTENs */
};

/* What the listener thread is doing now (it is CONNECTED from the moment
 * LISTEN succeeded until the connection is found lost or its server stops
 * taking writes), or SHARED in shared mode. Any thread may call it. Cannot
 * fail. */
enum store_listener_state store_listener_state(void);

/* Stops the thread and closes its connection. Safe to call when not started. */
void store_listener_stop(void);

/* Shared mode, for a process with one worker thread (threads = 1, as under
 * mod_fcgid, where every process would otherwise hold two connections):
 * no listener thread and no connection of its own. The worker's connection
 * LISTENs, and the worker reads the notifications through it whenever it
 * waits (store_listen_pump) or runs a statement; so the process holds at
 * most one connection. The worker LISTENs from the start of each request
 * (store_listen_pump(c, 0)) to its end (store_listen_quiet), so nothing
 * piles up between requests. The process cache stays off: a notification
 * is read only when the worker looks, so every lookup goes to PostgreSQL. */
void store_listen_shared(store_listen_fn fn, void *arg);

/* Shared mode, at the end of a request: UNLISTEN on c's connection, and
 * drop what came. Does nothing when it does not LISTEN. */
void store_listen_quiet(struct store_conn *c);

/* 1 in shared mode. */
int store_listen_is_shared(void);

/* Shared mode: LISTENs on c's connection (opening it if need be; the
 * callback then gets NULL, as notifications may have been missed), waits up
 * to timeout_ms for notifications and hands each to the callback. Returns
 * the number handed on (0 on timeout), or -1 when the database cannot be
 * reached (at once; the caller waits instead) or not in shared mode. */
int store_listen_pump(struct store_conn *c, int timeout_ms);

#endif
