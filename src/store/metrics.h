/*
 * store/metrics.h - the deployment's counters (table metrics,
 * sql/017_metrics.sql) and the admin role (users.admin).
 *
 * Owns: adding a process's drained deltas to its host's rows in one
 * statement, reading the sums over every host, and who is an admin.
 * Must not touch: HTTP, the text format (route/metrics.h renders it).
 */
#ifndef MG_STORE_METRICS_H
#define MG_STORE_METRICS_H

#include "store/db.h"
#include "util/metrics.h"

/* Adds the n deltas to host's rows (creating the missing ones) in one
 * upsert, one transaction. Returns STORE_OK, or a failure after which
 * nothing was added (the caller keeps the deltas: metrics_restore()). */
__attribute__((warn_unused_result)) enum store_rc
store_metrics_add(struct store_conn *c, const char *host, const struct metrics_delta *d, int n);

/* Calls fn for each series with its sum over every host, ordered by name
 * and labels. The strings are borrowed for the call. Returns STORE_OK or a
 * failure. */
__attribute__((warn_unused_result)) enum store_rc
store_metrics_sum(struct store_conn *c,
                  void (*fn)(const char *name, const char *labels, double value, void *arg),
                  void *arg);

/* Writes into *admin whether user id is an enabled user with the admin
 * role. Returns STORE_OK (also for no such user: *admin = 0) or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_user_is_admin(struct store_conn *c, long long user_id, int *admin);

/* Grants (on = 1) or takes back the admin role of username. Returns
 * STORE_OK, STORE_NOT_FOUND for no such user, or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_user_set_admin(struct store_conn *c, const char *username, int on);

#endif
