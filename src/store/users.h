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
    char idp[33];        /* store_user_list() and store_web_session_find() only: the provider
                            it signs in at, "" for local */
    char subject[256];   /* store_user_list() only: its subject there */
    char email[321];     /* store_user_list() only: from the provider's claims, may be "" */
};

/* The user signed in at provider idp as subject, created on first sign-in
 * (provisioning) with user name username (or, when another user has that
 * name, fallback_username), and with email and display_name (either may be
 * "") set from this sign-in's claims. STORE_OK with *out filled (disabled
 * users too: the caller refuses them), or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_user_federated(struct store_conn *c, const char *idp, const char *subject,
                     const char *username, const char *fallback_username, const char *email,
                     const char *display_name, struct store_user *out);

/* Records a sign-in started at provider idp: the SHA-256 hex of its state,
 * where to go afterwards, alive ttl_s seconds. STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_idp_login_create(struct store_conn *c, const char *state_hash, const char *idp,
                       const char *return_to, int ttl_s);

/* Consumes the live sign-in whose state hashes to state_hash (once: a
 * second call finds nothing): its provider into idp (idp_len bytes) and
 * return_to (return_len bytes). STORE_OK, STORE_NOT_FOUND (unknown, used or
 * expired) or a failure. Also deletes sign-ins that expired. */
__attribute__((warn_unused_result)) enum store_rc
store_idp_login_take(struct store_conn *c, const char *state_hash, char *idp, size_t idp_len,
                     char *return_to, size_t return_len);

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

/* Ends every browser session of user_id. STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc store_web_sessions_end(struct store_conn *c,
                                                                         long long user_id);

/* Ends a browser session. STORE_OK (also when it did not exist) or a failure. */
__attribute__((warn_unused_result)) enum store_rc store_web_session_delete(struct store_conn *c,
                                                                           const char *id_hash);

/* Reserves a sign-in attempt for account key user_key and address key
 * addr_key before the password is checked (sql/014_bounds.sql,
 * login_reserve): unless earlier failures still impose a wait, the attempt
 * is counted as a failure of both keys at once, in one transaction under
 * their row locks, so concurrent guesses cannot all pass before any is
 * counted. After user_free failures of the account (addr_free of the
 * address) the delay doubles with each failure, up to 15 minutes; counters
 * idle for an hour start over. A wait already due is read first without
 * the locks. Writes *wait_s: 0 (reserved: go ahead) or the seconds to wait
 * (nothing counted). STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_login_reserve(struct store_conn *c, const char *user_key, const char *addr_key, int user_free,
                    int addr_free, int *wait_s);

/* After a failed sign-in: its reservation already counted the failure;
 * this moves both keys' last failure to now, so the wait that follows runs
 * from when the guess was answered, not from when it was reserved (a slow
 * password hash must not use the wait up). STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_login_failed(struct store_conn *c, const char *user_key, const char *addr_key);

/* After a successful sign-in: clears the account counter and gives the
 * address its reserved attempt back. STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_login_succeeded(struct store_conn *c, const char *user_key, const char *addr_key);

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
