/*
 * oauth/live.c - whether the credential behind a principal still holds
 * (oauth/live.h).
 */
#include "oauth/live.h"

#include <string.h>

#include "store/api_keys.h"
#include "store/oauth_tokens.h"
#include "store/users.h"
#include "util/time.h"

/* auth = resource: the token's "exp" and its user here. */
static enum oauth_live external_live(struct store_conn *db, const struct oauth_principal *p)
{
    if (p->expires_at > 0 && p->expires_at <= mg_wall_ms() / 1000)
        return OAUTH_LIVE_ENDED;
    struct store_user u;
    enum store_rc rc = store_user_find(db, p->username, &u);
    if (rc == STORE_NOT_FOUND)
        return OAUTH_LIVE_ENDED;
    if (rc != STORE_OK)
        return OAUTH_LIVE_UNAVAIL;
    int live = u.id == p->user_id && !u.disabled;
    explicit_bzero(u.password_hash, sizeof u.password_hash);
    return live ? OAUTH_LIVE_OK : OAUTH_LIVE_ENDED;
}

enum oauth_live oauth_principal_live(const struct mg_config *cfg, struct store_conn *db,
                                     const struct oauth_principal *p)
{
    if (!p || cfg->auth == MG_AUTH_NONE)
        return OAUTH_LIVE_OK;
    if (cfg->auth == MG_AUTH_RESOURCE)
        return external_live(db, p);
    struct store_grant g;
    enum store_rc rc = p->api_key ? store_apikey_find(db, p->token_hash, &g)
                                  : store_access_find(db, p->token_hash, &g);
    if (rc == STORE_NOT_FOUND)
        return OAUTH_LIVE_ENDED;
    if (rc != STORE_OK)
        return OAUTH_LIVE_UNAVAIL;
    return g.user_id == p->user_id ? OAUTH_LIVE_OK : OAUTH_LIVE_ENDED;
}
