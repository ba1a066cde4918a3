/*
 * mcp/wake.h - threads of this process waiting for a NOTIFY key.
 *
 * Owns: the registry that the listener thread (store/listen.h) signals. A
 * held SSE stream waits for "e:<stream>", a tool waiting for the client's
 * answer waits for "r:<request>", a running call watches
 * "c:<session>:<id>" for its cancellation. A NULL key (the listener
 * reconnected, notifications may be lost) wakes everyone.
 */
#ifndef MG_MCP_WAKE_H
#define MG_MCP_WAKE_H

#include <pthread.h>

#define MCP_WAKE_KEY_MAX 200

struct mcp_waiter {
    char key[MCP_WAKE_KEY_MAX]; /* what to wait for; set by mcp_wake_register() */
    pthread_cond_t cond;        /* signalled under the registry's lock */
    int signalled;              /* set by a matching key; cleared by mcp_wake_wait() */
    int fired;                  /* set by a matching key; never cleared (cancellation) */
    struct mcp_waiter *group;   /* also signalled with this one, or NULL (mcp_wake_register_in) */
    struct mcp_waiter *next;    /* registry list; owned by the registry */
    /* while set (mcp_wake_hook), a signal also calls hook(hook_arg), under
     * the registry's lock: it must be short and take no lock but its own */
    void (*hook)(void *hook_arg);
    void *hook_arg;
};

/* Registers w for key (copied). Until mcp_wake_unregister(), w must stay
 * valid. Cannot fail. */
void mcp_wake_register(struct mcp_waiter *w, const char *key);

/* As mcp_wake_register(), and a match also signals group (a waiter
 * registered before, which must outlive w): one thread waits on the group
 * for any of several keys, then asks each member with mcp_wake_take(). */
void mcp_wake_register_in(struct mcp_waiter *w, const char *key, struct mcp_waiter *group);

void mcp_wake_unregister(struct mcp_waiter *w);

/* Returns 1 when w was signalled since the last wait or take, and clears
 * that; 0 otherwise. Does not wait. */
int mcp_wake_take(struct mcp_waiter *w);

/* Waits until w is signalled or timeout_ms passed. Returns 1 when it was
 * signalled (and clears that), 0 on timeout. */
int mcp_wake_wait(struct mcp_waiter *w, int timeout_ms);

struct store_conn;

/* mcp_wake_wait for a thread that holds db: in the store's shared LISTEN
 * mode (one worker thread, store/listen.h) it reads the notifications on
 * db's connection while it waits, as no listener thread does; otherwise it
 * is mcp_wake_wait. */
int mcp_wake_wait_db(struct mcp_waiter *w, struct store_conn *db, int timeout_ms);

/* Sets (hook non-NULL) or clears w's hook, unless w was signalled and not
 * yet taken: then it sets nothing and returns 1 (the caller reads what came
 * and tries again); otherwise 0. A stream held by no thread (mcp/hold.h)
 * is woken by its hook. */
int mcp_wake_hook(struct mcp_waiter *w, void (*hook)(void *arg), void *arg);

/* Returns w->fired, read under the lock. */
int mcp_wake_fired(struct mcp_waiter *w);

/* The listener's callback: wakes the waiters registered for key (all of
 * them for NULL). */
void mcp_wake_dispatch(const char *key, void *unused);

/* Wakes every waiter (e.g. the process is stopping). */
void mcp_wake_all(void);

#endif
