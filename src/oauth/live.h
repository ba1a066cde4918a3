/*
 * oauth/live.h - whether the credential behind a principal still holds,
 * for work that outlives the request that brought it: a held tool call's
 * next turn (mcp/call_hold.h), a task's next round (mcp/task.h).
 *
 * Such work keeps a copy of the principal without its bearer token; what
 * it looks the credential up by again is the token's SHA-256
 * (token_hash, the key the store already keeps it under) and its kind.
 *
 *   auth = oauth     an access token is live while store_access_find()
 *                    finds it: not revoked (itself, its family, its
 *                    client), not expired, its user there and enabled; an
 *                    API key while store_apikey_find() finds it: not
 *                    revoked, its user there and enabled.
 *   auth = resource  the issuer's tokens: mcpgate cannot ask whether the
 *                    issuer revoked one (a JWT is never asked about, and
 *                    the token for introspection is not kept), so one is
 *                    live until its "exp" while its user is there and
 *                    enabled here.
 *   auth = none      no principal: always live.
 *
 * Must not touch: SQL (store/), HTTP.
 */
#ifndef MG_OAUTH_LIVE_H
#define MG_OAUTH_LIVE_H

#include "oauth/scope.h"
#include "store/db.h"
#include "util/config.h"

enum oauth_live {
    OAUTH_LIVE_OK = 0,  /* the credential still holds */
    OAUTH_LIVE_ENDED,   /* revoked, expired, or its user deleted or disabled */
    OAUTH_LIVE_UNAVAIL, /* the store could not tell */
};

/* Checks again the credential p (NULL: auth = none) was accepted with, as
 * above, through db. Cannot fail otherwise; logs nothing secret. */
__attribute__((warn_unused_result)) enum oauth_live
oauth_principal_live(const struct mg_config *cfg, struct store_conn *db,
                     const struct oauth_principal *p);

#endif
