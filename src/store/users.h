/*
 * store/users.h - local users, their browser sessions and failed logins
 * (tables users, web_sessions, login_failures).
 *
 * Owns: persistence only. Passwords arrive already hashed (oauth/password.h);
 * browser session ids arrive as their SHA-256 hex. Failure counters are
 * shared by every process and host through the table.
 */
#ifndef MG_STORE_USERS_H
#define MG_STORE_USERS_H

#include "store/db.h"

struct store_user {
    long long id;
    char username[65];
    char password_hash[256];
    int disabled;
    char created_at[40]; /* ISO 8601, UTC */
};

/* Inserts a user; *id gets the new id. Returns STORE_OK, STORE_ERROR (also
 * when the name is taken: check with store_user_find first) or
 * STORE_UNAVAILABLE. */
__attribute__((warn_unused_result)) enum store_rc store_user_create(struct store_conn *c,
                                                                    const char *username,
                                                                    const char *password_hash,
                                                                    long long *id);

/* Finds a user by name (disabled ones too). STORE_OK, STORE_NOT_FOUND or a
 * failure. */
__attribute__((warn_unused_result)) enum store_rc
store_user_find(struct store_conn *c, const char *username, struct store_user *out);

/* Sets the password hash. STORE_OK, STORE_NOT_FOUND or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_user_set_password(struct store_conn *c, const char *username, const char *password_hash);

/* Disables (1) or enables (0) a user; disabling also ends its browser
 * sessions. Its tokens and keys stop working while it is disabled.
 * STORE_OK, STORE_NOT_FOUND or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_user_set_disabled(struct store_conn *c, const char *username, int disabled);

/* Calls fn for every user, by name. STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_user_list(struct store_conn *c, void (*fn)(void *arg, const struct store_user *u), void *arg);

/* Stores a browser session. STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_web_session_create(struct store_conn *c, const char *id_hash, long long user_id, int ttl_s);

/* The enabled user of a live browser session (password_hash left empty).
 * STORE_OK, STORE_NOT_FOUND or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_web_session_find(struct store_conn *c, const char *id_hash, struct store_user *out);

/* Ends a browser session. STORE_OK (also when it did not exist) or a failure. */
__attribute__((warn_unused_result)) enum store_rc store_web_session_delete(struct store_conn *c,
                                                                           const char *id_hash);

/* How many seconds sign-in must still wait because of earlier failures of
 * account key user_key (after user_free failures) or address key addr_key
 * (after addr_free failures): the delay doubles with each failure beyond
 * the free ones, up to 15 minutes; counters older than an hour start over.
 * Writes *wait_s (0: go ahead). STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_login_wait(struct store_conn *c, const char *user_key, const char *addr_key, int user_free,
                 int addr_free, int *wait_s);

/* Counts a failed sign-in against both keys. STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_login_failed(struct store_conn *c, const char *user_key, const char *addr_key);

/* Clears the account counter after a successful sign-in. */
__attribute__((warn_unused_result)) enum store_rc store_login_succeeded(struct store_conn *c,
                                                                        const char *user_key);

/* Counts one event for key in the current fixed window of window_s seconds
 * and writes the window's count so far (including this one) to *count.
 * STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_rate_hit(struct store_conn *c, const char *key, int window_s, int *count);

/* As store_rate_hit(), counting n events at once (a lease of calls that
 * one process hands out itself). */
__attribute__((warn_unused_result)) enum store_rc
store_rate_add(struct store_conn *c, const char *key, int window_s, int n, int *count);

#endif
