/*
 * store/oauth_clients.h - OAuth clients (table oauth_clients).
 *
 * Owns: persistence of registered clients: dynamic registrations, clients
 * registered by the operator, and the cache of fetched client ID metadata
 * documents. Client secrets arrive as their SHA-256 hex. Redirect URIs are
 * passed as one string with a newline between URIs (they cannot contain
 * one: oauth/ validates them first).
 */
#ifndef MG_STORE_OAUTH_CLIENTS_H
#define MG_STORE_OAUTH_CLIENTS_H

#include "store/db.h"

struct store_client {
    char client_id[2049];
    char kind[8];         /* dcr, static, cimd */
    char secret_hash[65]; /* "" for public clients */
    char auth_method[24]; /* none, client_secret_post, client_secret_basic */
    char name[256];
    char redirect_uris[8192]; /* newline-separated */
    char scope[256];          /* "" when not restricted */
    char created_at[40];
    int cimd_stale; /* kind cimd and the cached document has expired */
};

/* Inserts a client (kind dcr or static). STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_client_create(struct store_conn *c, const struct store_client *cl, const char *addr);

/* Inserts or refreshes the cached document of a metadata-document client,
 * valid for ttl_s seconds. STORE_OK; STORE_NOT_FOUND when the client id
 * was revoked or belongs to another kind of client; or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_client_cimd_save(struct store_conn *c, const struct store_client *cl, int ttl_s);

/* Finds a client that is not revoked. STORE_OK, STORE_NOT_FOUND or a
 * failure. */
__attribute__((warn_unused_result)) enum store_rc
store_client_find(struct store_conn *c, const char *client_id, struct store_client *out);

/* Calls fn for every client that is not revoked, newest first. */
__attribute__((warn_unused_result)) enum store_rc
store_client_list(struct store_conn *c, void (*fn)(void *arg, const struct store_client *cl),
                  void *arg);

/* Revokes a client and every token family it holds. STORE_OK,
 * STORE_NOT_FOUND or a failure. */
__attribute__((warn_unused_result)) enum store_rc store_client_revoke(struct store_conn *c,
                                                                      const char *client_id);

#endif
