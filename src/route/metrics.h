/*
 * route/metrics.h - GET {base}/metrics: the deployment's counters in the
 * Prometheus text format (version 0.0.4), and the flush that feeds them.
 *
 * Owns: who may scrape, the text rendering (families with # HELP and
 * # TYPE, histogram buckets in ascending le order) and moving this
 * process's deltas (util/metrics.h) into PostgreSQL (store/metrics.h).
 *
 * Who may scrape: a request whose Authorization: Bearer value is the token
 * of metrics_token_file (compared as SHA-256, in constant time), or, with
 * auth = oauth or resource, a personal API key or access token of an enabled user with
 * the admin role (`mcpgate user admin NAME`). No credential, or one that is
 * not valid: 401 with WWW-Authenticate: Bearer. A valid credential of a
 * user who is not an admin: 403. The database unreachable: 503.
 *
 * The numbers are sums over every process of every host: each process adds
 * its deltas to its host's rows at most HTTP_METRICS_FLUSH_MS after they
 * happened (and when it stops); the answering process flushes its own
 * first. A process with one connection in all (threads = 1, db_connections
 * = 1) flushes after a request instead, so what it counted last waits for
 * its next request, a scrape it answers, or its stop. What a process counted and did not flush
 * before it was killed (SIGKILL, a crash) is lost; docs/monitoring.md says so.
 */
#ifndef MG_ROUTE_METRICS_H
#define MG_ROUTE_METRICS_H

#include "route/router.h"

#define HTTP_METRICS_FLUSH_MS 2000

/* GET or HEAD {base}/metrics as above; 405 for another method. Returns
 * HTTP_REPLY. Cannot fail. */
enum http_rc http_metrics_handle(struct http_ctx *ctx);

/* Adds this process's deltas to the database through db (a connection the
 * caller owns), keeping them for the next try when it fails. Returns how
 * many series were added (0: nothing had changed, db untouched), or -1 when
 * the database could not take them (logged at most once a minute). */
int http_metrics_flush(struct store_conn *db);

/* http_metrics_flush() when this process last flushed at least
 * HTTP_METRICS_FLUSH_MS ago (or never); otherwise nothing. For a process
 * whose one connection is its worker's (threads = 1, db_connections = 1):
 * called after each request. Cannot fail (a failed flush keeps the deltas). */
void http_metrics_flush_due(struct store_conn *db);

/* Counts a request to an OAuth endpoint or page (route as in the route
 * table) in mcpgate_oauth_requests_total: every request that acts (not a
 * GET or HEAD, which only shows a page or a document, except /authorize
 * and the sign-in at a provider), with outcome ok (status below 400),
 * failed (4xx) or unavailable (5xx). Cannot fail. */
void http_metrics_oauth(const char *route, const char *method, int status);

#endif
