/*
 * store/admin.h - what the admin console (oauth/admin.c) reads: the users
 * with their role and groups, and the audit trail's calls per hour and
 * top tools of the last day.
 *
 * Owns: those queries. Changes go through the stores that own the rows
 * (store/users.h, store/policy.h, store/metrics.h).
 * Must not touch: HTTP, HTML.
 */
#ifndef MG_STORE_ADMIN_H
#define MG_STORE_ADMIN_H

#include "store/db.h"

/* One user as text, borrowed for the callback's duration. */
struct store_admin_user {
    const char *username, *created, *groups; /* groups: comma-separated, may be "" */
    int disabled, admin;
};

/* Calls fn for each user, by name. Returns STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_admin_users(struct store_conn *c, void (*fn)(void *arg, const struct store_admin_user *u),
                  void *arg);

/* Calls fn for each of the last 24 hours that had tool calls, oldest
 * first: the hour's start (UTC, "YYYY-MM-DD HH:00"), its calls and the
 * calls whose outcome was not ok. Admin actions (tool "admin/...") are not
 * calls. Returns STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_admin_hourly(struct store_conn *c,
                   void (*fn)(void *arg, const char *hour, long long calls, long long errors),
                   void *arg);

/* Calls fn for the at most limit most called tools of the last 24 hours,
 * most called first. Returns STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_admin_top_tools(struct store_conn *c, int limit,
                      void (*fn)(void *arg, const char *tool, long long calls), void *arg);

/* Calls fn for each tool with a failed call (outcome error) in the last 7
 * days, the newest failure first: the tool and when (UTC, "YYYY-MM-DD
 * HH:MI"). At most 500 tools. Returns STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_admin_last_errors(struct store_conn *c,
                        void (*fn)(void *arg, const char *tool, const char *at), void *arg);

/* One user's connection of an OAuth client (live tokens), as text,
 * borrowed for the callback's duration. */
struct store_admin_app {
    const char *username, *client_id, *name, *scope, *last_used, *since;
    long long user_id;
};

/* Calls fn for each (user, client) with live tokens, most recently used
 * first. Returns STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_admin_apps(struct store_conn *c, void (*fn)(void *arg, const struct store_admin_app *a),
                 void *arg);

#endif
