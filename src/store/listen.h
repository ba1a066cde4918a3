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

typedef void (*store_listen_fn)(const char *key, void *arg);

/* Starts the listener thread. conninfo is copied. Returns 0, or -1 if the
 * thread could not be started. Connection failures are retried forever
 * (logged), not reported here. */
__attribute__((warn_unused_result)) int
store_listener_start(const char *conninfo, int connect_timeout_s, store_listen_fn fn, void *arg);

/* Stops the thread and closes its connection. Safe to call when not started. */
void store_listener_stop(void);

#endif
