/*
 * mcp/hold.h - held streams that cost no worker thread.
 *
 * Owns: one thread per process (the holder) that keeps every SSE stream
 * with nothing to send: it writes their heartbeats and watches their
 * connections, and hands a stream back to a worker thread (the ready
 * queue) when its waiter is signalled (a NOTIFY key, store/listen.h), its
 * life is over, its client left or the process stops. The worker reads
 * what came (it holds a database connection, the holder never does),
 * writes it, and holds the stream again or ends it. A stream is owned by
 * one thread at a time: the worker that parks it must not touch it after
 * mcp_hold_park() returned 0.
 *
 * Without a holder (not started: one worker sharing one connection, whose
 * LISTEN only that worker reads), streams wait in their worker as before.
 *
 * Must not touch: SQL (store/), FastCGI (the output comes as a sink).
 */
#ifndef MG_MCP_HOLD_H
#define MG_MCP_HOLD_H

#include "mcp/sse.h"
#include "mcp/types.h"
#include "mcp/wake.h"

/* Why a held stream came back to a worker (bits of mcp_held.why). */
#define MCP_HOLD_WOKEN 1 /* its waiter was signalled */
#define MCP_HOLD_GONE  2 /* its connection was closed, or a heartbeat failed */
#define MCP_HOLD_LATE  4 /* its end (mcp_held.end_ms) came */

struct mcp_held;

/* Runs a stream that came back, on a worker thread: env->db is the
 * worker's connection, env->sink the stream's held sink. The function
 * parks it again (mcp_hold_park) or ends it and frees it. */
typedef void (*mcp_held_resume)(struct mcp_held *h, const struct mcp_env *env);

/* A held stream: embedded at the start of its kind's state. */
struct mcp_held {
    mcp_held_resume resume;
    struct mcp_sink sink; /* the stream's output, detached from its request */
    int fd;               /* its connection, watched for a hang-up; -1: none */
    long long end_ms;     /* when its life ends (monotonic ms) */
    char request_id[17];  /* for the logs of its later turns */
    /* the holder's */
    int why;   /* MCP_HOLD_*, set while it was held */
    int state; /* where it is */
    int slot;  /* index in the holder's table while held */
    long long beat_ms;
    struct mcp_held *next; /* ready queue */
};

/* Starts the holder thread (heartbeat every cfg->sse_heartbeat_s). stop:
 * the process's stop flag. Returns 0, or -1 (streams then wait in their
 * workers). */
int mcp_hold_start(const struct mg_config *cfg, const volatile int *stop);

/* Returns 1 when a holder runs and takes streams. */
int mcp_hold_on(void);

/* Detaches the stream's output from its request into h->sink (the request
 * is then finished by h->sink.end, by whichever thread ends the stream)
 * and fills h->fd. Returns 0, or -1 when the sink cannot be detached (the
 * stream then waits in its worker). */
int mcp_hold_detach(struct mcp_held *h, const struct mcp_sink *sink);

/* Hands h (detached) to the holder until w is signalled. Returns 0: held
 * (the caller must not touch h any more); 1: w was signalled already (read
 * and try again); -1: no holder takes it (stopping). */
int mcp_hold_park(struct mcp_held *h, struct mcp_waiter *w);

/* Stops holding w's stream: the worker that runs it calls this first. */
void mcp_hold_unhook(struct mcp_waiter *w);

/* An eventfd a worker watches: readable while streams wait in the ready
 * queue; -1 without a holder. */
int mcp_hold_ready_fd(void);

/* Runs one stream of the ready queue on the calling worker (db: its
 * connection), if there is one. Returns 1 when it ran one, else 0. */
int mcp_hold_run_ready(struct store_conn *db);

/* Stops the holder thread and runs every stream it held on db (they end:
 * the stop flag is set). Call after the workers have stopped. */
void mcp_hold_stop(struct store_conn *db);

#endif
