/*
 * store/oauth_tokens.h - authorization codes, token families, access and
 * refresh tokens, consents (tables oauth_codes, oauth_families,
 * oauth_tokens, oauth_consents).
 *
 * Owns: the atomic steps of the grants. A code is consumed and a refresh
 * token rotated each in one transaction under a row lock (SQL functions
 * oauth_code_consume in sql/012_code_consume.sql, oauth_refresh_rotate in
 * sql/003_oauth.sql), so
 * two processes presenting the same code or token at the same moment
 * cannot both succeed; a replayed code or reused refresh token revokes its
 * whole family. Every value arrives as the SHA-256 hex of the secret.
 */
#ifndef MG_STORE_OAUTH_TOKENS_H
#define MG_STORE_OAUTH_TOKENS_H

#include "store/db.h"

struct store_code_new {
    const char *code_hash;
    long long user_id;
    const char *client_id;
    const char *scope;
    const char *resource;
    const char *redirect_uri;
    const char *code_challenge;
    int ttl_s;
};

/* Creates a family and its authorization code. STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc store_code_create(struct store_conn *c,
                                                                    const struct store_code_new *n);

enum store_consume {
    STORE_CODE_OK,           /* consumed now: the fields below are set */
    STORE_CODE_INVALID,      /* unknown, expired or its family revoked */
    STORE_CODE_REPLAYED,     /* used before: its family has just been revoked */
    STORE_CODE_CLIENT,       /* issued to another client: nothing changed */
    STORE_CODE_VERIFIER,     /* the PKCE challenge differs: nothing changed */
    STORE_CODE_REDIRECT_URI, /* consumed, but the redirect_uri differs: no tokens */
    STORE_CODE_RESOURCE,     /* consumed, but the resource differs: no tokens */
};

struct store_code {
    long long family_id;
    long long user_id;
    char client_id[2049];
    char scope[256];
    char resource[1024];
    char redirect_uri[2049];
    char code_challenge[64];
};

struct store_redeem_in {
    const char *code_hash;    /* the presented code */
    const char *client_id;    /* the authenticated client */
    const char *challenge;    /* base64url SHA-256 of its code_verifier */
    const char *redirect_uri; /* as the token request names them (may be NULL) */
    const char *resource;
    const char *access_hash; /* the new pair */
    const char *refresh_hash;
    int access_ttl_s;
    int refresh_ttl_s;
};

/* Redeems a code in one transaction: only the code's own client with the
 * right verifier consumes it, or, when it was used before, revokes its
 * family; any other request changes nothing (sql/012_code_consume.sql).
 * When it was consumed and the redirect_uri and resource match the
 * authorization request's, the new access and refresh tokens are stored
 * and the family marked issued (sql/019_code_redeem.sql); a failure
 * leaves the code unused. Writes *status (STORE_CODE_OK: tokens stored);
 * on STORE_CODE_OK fills *out (otherwise only out->family_id and
 * out->client_id may be set). STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_code_redeem(struct store_conn *c, const struct store_redeem_in *in,
                  enum store_consume *status, struct store_code *out);

enum store_rotate {
    STORE_ROTATE_OK,      /* rotated: *scope and *audience hold the new tokens' */
    STORE_ROTATE_GRACE,   /* presented again within the grace: refused, nothing revoked */
    STORE_ROTATE_REUSED,  /* rotated before: the family is revoked now */
    STORE_ROTATE_SCOPE,   /* the requested scope exceeds the token's: nothing changed */
    STORE_ROTATE_INVALID, /* unknown, expired, revoked or another client's */
};

struct store_rotate_in {
    const char *refresh_hash; /* the presented token */
    const char *client_id;    /* the authenticated client */
    const char *access_hash;  /* the new pair */
    const char *new_refresh_hash;
    const char *scope; /* narrower scope requested, or NULL to keep */
    int access_ttl_s, refresh_ttl_s, grace_s;
};

/* Rotates a refresh token. Writes *status, and on STORE_ROTATE_OK the
 * scope (scope_n bytes). STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_refresh_rotate(struct store_conn *c, const struct store_rotate_in *in,
                     enum store_rotate *status, char *scope, size_t scope_n);

/* What an access token or API key stands for. */
struct store_grant {
    long long user_id;
    char username[65];
    char client_id[2049]; /* "" for an API key */
    char scope[256];
    char audience[1024];  /* "" for an API key (bound to this server) */
    long long expires_at; /* unix time; 0 for an API key */
    long long issued_at;  /* unix time */
    char kind[8];         /* access, refresh, apikey */
    int active;           /* for introspection: live and not revoked */
};

/* Finds a live access token (not expired or revoked, family live, user
 * enabled, client not revoked) and records its use (at most once a
 * minute). STORE_OK, STORE_NOT_FOUND or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_access_find(struct store_conn *c, const char *token_hash, struct store_grant *out);

/* Looks up any token of client_id for introspection; out->active tells
 * whether it is live. STORE_OK, STORE_NOT_FOUND (unknown or another
 * client's) or a failure. */
__attribute__((warn_unused_result)) enum store_rc store_token_introspect(struct store_conn *c,
                                                                         const char *token_hash,
                                                                         const char *client_id,
                                                                         struct store_grant *out);

/* Revokes a token of client_id (NULL: any client): an access token alone,
 * a refresh token with its whole family. Writes the number revoked to *n.
 * STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_token_revoke(struct store_conn *c, const char *token_hash, const char *client_id, int *n);

/* Revokes every family of user_id with client_id (NULL: all clients) and
 * forgets the consent. Writes the count to *n. STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_families_revoke(struct store_conn *c, long long user_id, const char *client_id, int *n);

struct store_app {
    char client_id[2049];
    char name[256];
    char scope[256];
    char last_used[40]; /* "" when never used */
    char since[40];
};

/* Calls fn for each client that holds live tokens of user_id. */
__attribute__((warn_unused_result)) enum store_rc
store_user_apps(struct store_conn *c, long long user_id,
                void (*fn)(void *arg, const struct store_app *app), void *arg);

/* Whether user_id's consent to client_id was ever used for resource (a
 * token family for it was issued): a remembered consent stands for the
 * resources it was given for, not for another connector's. Writes *used.
 * STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_consent_resource_used(struct store_conn *c, long long user_id, const char *client_id,
                            const char *resource, int *used);

/* The scope user_id granted client_id before, into scope (n bytes).
 * STORE_OK, STORE_NOT_FOUND or a failure. */
__attribute__((warn_unused_result)) enum store_rc store_consent_find(struct store_conn *c,
                                                                     long long user_id,
                                                                     const char *client_id,
                                                                     char *scope, size_t n);

/* Remembers the scope user_id granted client_id. STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc store_consent_save(struct store_conn *c,
                                                                     long long user_id,
                                                                     const char *client_id,
                                                                     const char *scope);

/* Deletes expired codes and tokens (a few hundred at a time). */
__attribute__((warn_unused_result)) enum store_rc store_tokens_purge(struct store_conn *c);

#endif
