/*
 * route/health.h - GET {base}/health/live and {base}/health/ready: what a
 * load balancer polls.
 *
 * Owns: the two health endpoints and the per-process memo of the readiness
 * probe. They need no token and reveal nothing secret: states and the
 * schema's version numbers, never a connection string, host name or
 * PostgreSQL message.
 *
 * /health/live answers 200 {"status":"live"} as long as the responder
 * serves requests; it touches nothing else, so a database outage never makes
 * a balancer restart or drop a healthy process for liveness.
 *
 * /health/ready answers 200 when this process can serve, else 503 with
 * Retry-After: 1; the body names each check either way:
 *
 *   {"status":"ready"|"not_ready",
 *    "checks":{"database":{"ok":true,"state":"reachable"|"unreachable"},
 *              "schema":{"ok":true,"state":"current"|"ahead"|"behind"|"unknown",
 *                        "version":12,"needed":12},
 *              "listener":{"ok":true,"state":"connected"|"connecting"|"disconnected"|"off"|
 *                                     "shared"}}}
 *
 *   database  a pooled connection answers a trivial statement and its server
 *             takes writes ("unreachable" otherwise);
 *   schema    the applied migration is the one this build needs ("current"),
 *             or newer ("ahead": this build still serves it, as during a
 *             rolling upgrade that migrated first); "behind" (run mcpgate
 *             migrate) and "unknown" (database unreachable) are not ready;
 *             version is -1 when unknown;
 *   listener  the process's LISTEN connection (store/listen.h) is up, so
 *             held streams and cache invalidations get their notifications;
 *             a process that has just started waits up to
 *             HTTP_HEALTH_START_WAIT_MS for its first attempt to end ("off":
 *             the listener thread could not be started); "shared" (threads =
 *             1 and db_connections = 1, store/listen.h) has no listener of
 *             its own: the worker's connection LISTENs, so it is ok when the
 *             database check is.
 *
 * Cost: the database and schema checks run at most once per
 * HTTP_HEALTH_MEMO_MS per process, on a connection of the pool (never a new
 * one per poll); polls in between answer from the memo. The listener state is
 * read from memory on every poll.
 */
#ifndef MG_ROUTE_HEALTH_H
#define MG_ROUTE_HEALTH_H

#include "route/router.h"

#define HTTP_HEALTH_MEMO_MS       1000
#define HTTP_HEALTH_START_WAIT_MS 1000 /* a new process's first listener connection */

/* GET or HEAD {base}/health/live: 200, or 405 for another method. Returns
 * HTTP_REPLY (ctx->res holds the answer). Cannot fail. */
enum http_rc http_health_live(struct http_ctx *ctx);

/* GET or HEAD {base}/health/ready: 200 or 503 as above, or 405 for another
 * method. Returns HTTP_REPLY (ctx->res holds the answer). Cannot fail. */
enum http_rc http_health_ready(struct http_ctx *ctx);

#endif
