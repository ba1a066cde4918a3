/*
 * store/cache.h - rows this process remembers between requests, and forgets
 * when PostgreSQL says they changed.
 *
 * Owns: small fixed-size tables of live access tokens and API keys,
 * sessions and policy rules, each entry kept at most a minute (less when
 * the row expires sooner), and dropped on the NOTIFY keys that
 * sql/010_cache_notify.sql sends. The cache is on only while the process's
 * listener (store/listen.h) holds its LISTEN: a lost listener flushes it and
 * turns it off, so a notification missed is never a stale answer. Not for
 * use outside src/store/; the store functions consult it themselves.
 * Thread-safe.
 */
#ifndef MG_STORE_CACHE_H
#define MG_STORE_CACHE_H

#include <stddef.h>

enum store_cache_kind {
    STORE_CACHE_AUTH,    /* key: token hash; owner: user id */
    STORE_CACHE_SESSION, /* key: session id hash */
    STORE_CACHE_POLICY,  /* key: user id */
    STORE_CACHE_KINDS,
};

#define STORE_CACHE_MAX_LIFE_MS 60000

/* The listener calls this with 1 once LISTEN is in place, 0 when the
 * connection is lost (then everything is dropped). Off at start. */
void store_cache_set_live(int live);

/* Before reading a row to cache: returns 1 and the invalidation count in
 * *seq when the cache is on, else 0 (then do not cache). */
int store_cache_begin(unsigned long *seq);

/* Copies the value of key into out (up to cap bytes) and returns its
 * length, or -1 when absent, expired or the cache is off. */
long store_cache_get(enum store_cache_kind kind, const char *key, void *out, size_t cap);

/* Stores a value read after store_cache_begin(seq), unless an
 * invalidation arrived since (the value may predate it). Lives until
 * expires_ms (on mg_now_ms()'s clock, capped at STORE_CACHE_MAX_LIFE_MS from
 * now). */
void store_cache_put(enum store_cache_kind kind, const char *key, long long owner, const void *val,
                     size_t len, long long expires_ms, unsigned long seq);

/* Drops one entry (this process changed the row itself). */
void store_cache_drop(enum store_cache_kind kind, const char *key);

/* Handles a NOTIFY key; returns 1 when it was a cache key ("x..."). */
int store_cache_note(const char *key);

/* After this process changed rows that others may have cached (a token
 * revoked through the OAuth endpoints or the account page, a family revoked
 * for a replayed code or refresh token): waits, at most
 * timeout_ms, until a notification arrived after store_cache_begin(since).
 * Once this process has the trigger's NOTIFY, the others get it within
 * milliseconds (each from its own server backend), so a client's next
 * request almost always finds the change wherever it lands; under load,
 * another process may still answer from its cache for those milliseconds.
 * since is store_cache_begin()'s count, taken before the change
 * (whether or not the cache was on). Returns at once while it is off. */
void store_cache_sync(unsigned long since, int timeout_ms);

#define STORE_CACHE_SYNC_MS 250

#endif
