/*
 * store/api_keys.h - personal API keys (table api_keys).
 *
 * Owns: persistence of keys a user creates for clients that send a fixed
 * header (Claude Code, scripts, mcp-remote --header). Keys arrive as their
 * SHA-256 hex plus a short prefix to recognise them by.
 */
#ifndef MG_STORE_API_KEYS_H
#define MG_STORE_API_KEYS_H

#include "store/db.h"
#include "store/oauth_tokens.h"

struct store_api_key {
    long long id;
    long long user_id;
    char username[65];
    char name[101];
    char prefix[16];
    char scope[256];
    char created_at[40];
    char last_used[40]; /* "" when never used */
};

/* Stores a key; *id gets its id. STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_apikey_create(struct store_conn *c, long long user_id, const char *name, const char *key_hash,
                    const char *prefix, const char *scope, long long *id);

/* Calls fn for each live key of user_id (0: of every user). */
__attribute__((warn_unused_result)) enum store_rc
store_apikey_list(struct store_conn *c, long long user_id,
                  void (*fn)(void *arg, const struct store_api_key *k), void *arg);

/* Revokes key id, when it belongs to user_id (0: to anyone). STORE_OK,
 * STORE_NOT_FOUND or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_apikey_revoke(struct store_conn *c, long long id, long long user_id);

/* Finds a live key of an enabled user and records its use (at most once a
 * minute). STORE_OK, STORE_NOT_FOUND or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_apikey_find(struct store_conn *c, const char *key_hash, struct store_grant *out);

#endif
