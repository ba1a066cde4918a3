/*
 * oauth/issuer.h - an external issuer's metadata, keys and outbound
 * requests, shared by the sign-in at a provider (oauth/idp.c) and
 * auth = resource (oauth_rs_* in oauth/internal.h). Internal to oauth/.
 */
#ifndef MG_OAUTH_ISSUER_H
#define MG_OAUTH_ISSUER_H

#include <json-c/json.h>

#include "util/buf.h"
#include "util/config.h"
#include "util/jwk.h"
#include "util/jwt.h"

#define IDP_URL_MAX 1024

/* What discovery says about one provider, and its keys; per process. */
struct idp_cache {
    char authorization_endpoint[IDP_URL_MAX];
    char token_endpoint[IDP_URL_MAX];
    char jwks_uri[IDP_URL_MAX];
    char introspection_endpoint[IDP_URL_MAX]; /* "" when the metadata name none */
    char revocation_endpoint[IDP_URL_MAX];    /* "" when the provider offers none */
    int iss_param;                            /* authorization_response_iss_parameter_supported */
    long long meta_until_s;                   /* 0: not fetched */
    long long down_until_s;                   /* discovery failed: do not try again before this */
    struct jwk_set *keys;                     /* NULL: not fetched */
    long long keys_fetched_s;                 /* when keys were fetched */
    long long keys_until_s;
};

/* One outbound request's answer. */
struct fetch {
    struct buf body;
    const char *bearer; /* sent as "Authorization: Bearer" when not NULL; secret */
    int refused;        /* the address was not public */
    char cache_control[256];
};

/* GET url, or POST form (application/x-www-form-urlencoded) with HTTP
 * Basic client authentication when user is not NULL. Returns the HTTP
 * status with the body in f->body, or -1 (not reached, refused address,
 * too large) with a reason logged. */
long issuer_http_call(const struct mg_config *cfg, const char *url, const char *form,
                      const char *user, const char *password, struct fetch *f);

/* Copies provider p's endpoints out of the cache (discovering them when
 * needed). Returns 0 or -1. */
int issuer_discover(const struct mg_config *cfg, const struct mg_idp *p, struct idp_cache *out);

/* Validates the ID token against p's keys and want. On JWT_OK *claims is
 * the caller's; otherwise err's log-only detail says why. */
enum jwt_rc issuer_validate_id_token(const struct mg_config *cfg, const struct mg_idp *p,
                                     const char *token, const struct jwt_expect *want,
                                     struct json_object **claims, struct mg_error *err);

#endif
