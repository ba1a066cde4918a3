/*
 * store/lease.h - leases on held resources, counted across every process
 * and host (table mcp_leases, sql/014_bounds.sql).
 *
 * Owns: taking a lease under one or more keys only while each key holds
 * fewer than its cap (atomically, under an advisory lock per key), giving
 * it back, and the expiry that reaps the leases of a process that died.
 * The keys' meaning belongs to the callers (sql/014_bounds.sql lists them;
 * also ph:<host name>, the password hashes running on a host, oauth/web.c).
 * Must not touch: HTTP, JSON-RPC.
 */
#ifndef MG_STORE_LEASE_H
#define MG_STORE_LEASE_H

#include "store/db.h"

#define STORE_LEASE_MAX_KEYS 4
#define STORE_LEASE_KEY_MAX  80 /* bytes with the NUL; [A-Za-z0-9:_-] only */

/* Takes a lease under each of the n keys (1..STORE_LEASE_MAX_KEYS) for at
 * most ttl_s seconds, if every keys[i] holds fewer than caps[i] live
 * leases. Writes the lease's id to *id (0 when a key was full: nothing is
 * taken). Returns STORE_OK, STORE_ERROR for a key outside the alphabet, or
 * a failure (*id untouched). */
__attribute__((warn_unused_result)) enum store_rc store_lease_acquire(struct store_conn *c,
                                                                      const char *const *keys,
                                                                      const int *caps, int n,
                                                                      int ttl_s, long long *id);

/* Gives back lease id (0 is ignored). Returns STORE_OK (also when it had
 * expired) or a failure; a lease not given back expires on its own. */
__attribute__((warn_unused_result)) enum store_rc store_lease_release(struct store_conn *c,
                                                                      long long id);

/* How many live leases key holds, into *count. STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc store_lease_count(struct store_conn *c,
                                                                    const char *key, int *count);

#endif
