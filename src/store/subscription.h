/*
 * store/subscription.h - resource subscriptions (table mcp_subscriptions,
 * sql/004_catalog.sql).
 *
 * Owns: which session is subscribed to which resource URI, readable by any
 * process so that the one that learns of a change can notify every
 * subscriber. A session holds at most STORE_SUBSCRIPTIONS_MAX
 * subscriptions; they are deleted with the session.
 * Must not touch: JSON-RPC, HTTP.
 */
#ifndef MG_STORE_SUBSCRIPTION_H
#define MG_STORE_SUBSCRIPTION_H

#include "store/db.h"

#define STORE_SUBSCRIPTIONS_MAX 1000 /* per session */

/* Subscribes the live session (SHA-256 hex of its id) to uri; subscribing
 * twice is one subscription. Returns STORE_OK; STORE_NOT_FOUND when the
 * session does not exist (or expired); STORE_ERROR with *full = 1 when the
 * session already holds STORE_SUBSCRIPTIONS_MAX others (nothing logged,
 * nothing written); or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_subscription_add(struct store_conn *c, const char *session_hash, const char *uri, int *full);

/* Ends the subscription. Returns STORE_OK, STORE_NOT_FOUND when there was
 * none, or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_subscription_remove(struct store_conn *c, const char *session_hash, const char *uri);

/* Called once per subscribed session with its hash (borrowed for the
 * call) and legacy = 1 when it uses the 2024-11-05 HTTP+SSE transport. */
typedef void (*store_subscriber_fn)(const char *session_hash, int legacy, void *arg);

/* Calls fn for every live session subscribed to uri, writing their number
 * to *n. Returns STORE_OK (also for none) or a failure (fn not called). */
__attribute__((warn_unused_result)) enum store_rc store_subscription_each(struct store_conn *c,
                                                                          const char *uri,
                                                                          store_subscriber_fn fn,
                                                                          void *arg, int *n);

#endif
