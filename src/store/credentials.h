/*
 * store/credentials.h - backend credentials kept in the database (table
 * backend_credentials, sql/008_credentials.sql).
 *
 * Owns: persistence of sealed values (util/seal.h) of a backend's
 * credential slots: the backend's own value (user_id 0 here, NULL in the
 * table) and each user's value for per_user slots. Values arrive sealed
 * and leave sealed; this module never sees a secret.
 * Must not touch: keys, sealing, HTTP.
 */
#ifndef MG_STORE_CREDENTIALS_H
#define MG_STORE_CREDENTIALS_H

#include "store/db.h"

/* One stored value, for listings. */
struct store_cred {
    char backend[33];
    char slot[129];
    long long user_id;   /* 0: the backend's own value */
    char key_id[33];     /* the key it is sealed under */
    char updated_at[40]; /* "YYYY-MM-DD HH:MI UTC" */
    const char *sealed;  /* borrowed for the callback only */
};

/* Stores (inserts or replaces) the sealed value of backend's slot for
 * user_id (0: the backend's own). STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_cred_put(struct store_conn *c, const char *backend, const char *slot, long long user_id,
               const char *sealed, const char *key_id);

/* Reads the sealed value of backend's slot for user_id (0: the backend's
 * own) into *sealed (new string, free it). STORE_OK, STORE_NOT_FOUND or a
 * failure; *sealed is written only on STORE_OK. */
__attribute__((warn_unused_result)) enum store_rc store_cred_get(struct store_conn *c,
                                                                 const char *backend,
                                                                 const char *slot,
                                                                 long long user_id, char **sealed);

/* Deletes the value of backend's slot for user_id (0: the backend's own).
 * STORE_OK, STORE_NOT_FOUND or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_cred_delete(struct store_conn *c, const char *backend, const char *slot, long long user_id);

/* Calls fn for every value of user_id (0: every value of every owner,
 * backends' own included), ordered by backend, slot, user. The struct and
 * its sealed text are valid during the call only. */
__attribute__((warn_unused_result)) enum store_rc
store_cred_list(struct store_conn *c, long long user_id,
                void (*fn)(void *arg, const struct store_cred *cred), void *arg);

/* Replaces the sealed value of one row, only if it still holds old_sealed
 * (a value changed meanwhile is left alone). STORE_OK, STORE_NOT_FOUND
 * (changed or gone) or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_cred_reseal(struct store_conn *c, const char *backend, const char *slot, long long user_id,
                  const char *old_sealed, const char *new_sealed, const char *key_id);

#endif
