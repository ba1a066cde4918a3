/*
 * store/idp_tokens.h - the tokens an identity provider issued to a
 * signed-in user (table idp_tokens, sql/016_idp_tokens.sql).
 *
 * Owns: persistence (one row per user and provider: the sign-in's, and
 * each account linked at a link_only provider), and the lease that makes
 * one process refresh a user's tokens while the others wait. Values arrive and leave sealed
 * (tools/credentials.h); nothing here sees a token.
 */
#ifndef MG_STORE_IDP_TOKENS_H
#define MG_STORE_IDP_TOKENS_H

#include "store/db.h"

struct store_idp_token {
    char idp[33];
    char token_endpoint[1025];
    char *access_sealed;    /* owned; free with store_idp_token_clear() */
    char *refresh_sealed;   /* owned, or NULL when the provider gave none */
    long long expires_in_s; /* seconds until the access token expires (< 0: expired) */
    char updated_at[32];    /* when signed in or last refreshed, "YYYY-MM-DD HH:MM UTC" */
    int linked;             /* 1: an account linked at a link_only provider; 0: the sign-in */
};

/* Frees the sealed strings of t. Accepts a zeroed t. */
void store_idp_token_clear(struct store_idp_token *t);

/* Stores user_id's tokens at idp from a sign-in (linked 0) or a link
 * (linked 1), replacing those of idp; the access token valid expires_in_s
 * more seconds, refresh_sealed may be NULL. STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_idp_token_put(struct store_conn *c, long long user_id, const char *idp,
                    const char *token_endpoint, const char *access_sealed,
                    const char *refresh_sealed, long long expires_in_s, int linked);

/* user_id's tokens at idp into *out. STORE_OK, STORE_NOT_FOUND or a
 * failure. */
__attribute__((warn_unused_result)) enum store_rc store_idp_token_get(struct store_conn *c,
                                                                      long long user_id,
                                                                      const char *idp,
                                                                      struct store_idp_token *out);

/* All of user_id's rows, the sign-in's first, at most max into out[]
 * (each cleared by the caller), their number in *n. STORE_OK or a
 * failure. */
__attribute__((warn_unused_result)) enum store_rc store_idp_token_list(struct store_conn *c,
                                                                       long long user_id,
                                                                       struct store_idp_token *out,
                                                                       int max, int *n);

/* Takes the refresh lease lease (a random id) of user_id's tokens at idp
 * for lease_s seconds, when the access token expires within margin_s and
 * no other lease is live; *out is then the row. STORE_OK (taken),
 * STORE_NOT_FOUND (fresh enough, or another process holds the lease, or no
 * row) or a failure. One statement. */
__attribute__((warn_unused_result)) enum store_rc
store_idp_token_lease(struct store_conn *c, long long user_id, const char *idp, const char *lease,
                      int lease_s, int margin_s, struct store_idp_token *out);

/* Stores the refreshed tokens of idp under lease and ends it:
 * access_sealed, and refresh_sealed when not NULL (a rotated refresh
 * token; NULL keeps the old one), valid expires_in_s. STORE_OK,
 * STORE_NOT_FOUND (the lease was lost) or a failure. One statement. */
__attribute__((warn_unused_result)) enum store_rc
store_idp_token_refreshed(struct store_conn *c, long long user_id, const char *idp,
                          const char *lease, const char *access_sealed, const char *refresh_sealed,
                          long long expires_in_s);

/* Deletes user_id's tokens at idp (the provider refused the refresh, or
 * the user disconnected). STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_idp_token_delete(struct store_conn *c, long long user_id, const char *idp);

#endif
