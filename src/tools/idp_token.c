/*
 * tools/idp_token.c - the signed-in user's provider token for a credential
 * slot with "from_idp", refreshed once across processes
 * (tools/idp_token.h).
 */
#include "tools/idp_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/idp_tokens.h"
#include "store/oauth_tokens.h"
#include "store/users.h"
#include "tools/credentials.h"
#include "tools/token_client.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/log.h"
#include "util/metrics.h"

#define LEASE_S        15         /* a refresh that takes longer loses its lease */
#define WAIT_STEP_MS   100        /* how often a waiting call looks at the row */
#define WAIT_STEPS     150        /* 15 s in all */
#define STALE_MARGIN_S 1000000000 /* a token a backend refused is refreshed whatever it says */

static const struct mg_config *cfg; /* set at start-up */

void tool_idp_setup(const struct mg_config *config)
{
    cfg = config;
}

/* Seals value for user_id's token "which" (access, refresh) at idp. */
static char *seal(const char *idp, const char *which, long long user_id, const char *value)
{
    char slot[64];
    snprintf(slot, sizeof slot, "%s/%s", idp, which);
    return tool_cred_seal(cfg->credential_keys, "@idp", slot, user_id, value);
}

static char *open_sealed(const char *idp, const char *which, long long user_id, const char *sealed)
{
    char slot[64], *value = NULL;
    snprintf(slot, sizeof slot, "%s/%s", idp, which);
    enum seal_rc rc = tool_cred_open(cfg->credential_keys, cfg->n_credential_keys, "@idp", slot,
                                     user_id, sealed, &value);
    if (rc != SEAL_OK) {
        LOG_WARN("msg=\"a stored provider token could not be opened\" idp=%s user_id=%lld "
                 "why=\"%s\"",
                 idp, user_id, seal_strerror(rc));
        return NULL;
    }
    return value;
}

int tool_idp_token_keep(struct store_conn *db, long long user_id, const char *idp,
                        const char *token_endpoint, const char *access_token,
                        const char *refresh_token, long long expires_in_s, int linked)
{
    if (!cfg || cfg->n_credential_keys == 0) {
        LOG_WARN("msg=\"provider tokens not kept: no credential_key is configured\" idp=%s", idp);
        return -1;
    }
    if (!tool_cred_value_ok(access_token) || (refresh_token && !tool_cred_value_ok(refresh_token)))
        return -1;
    char *a = seal(idp, "access", user_id, access_token);
    char *r = refresh_token ? seal(idp, "refresh", user_id, refresh_token) : NULL;
    int rc = -1;
    if (a && (r || !refresh_token) &&
        store_idp_token_put(db, user_id, idp, token_endpoint, a, r, expires_in_s, linked) ==
            STORE_OK)
        rc = 0;
    else
        LOG_WARN("msg=\"provider tokens not kept\" idp=%s", idp);
    free(a);
    free(r);
    return rc;
}

/* --- the refresh request --- */

/* The new tokens of a refresh. */
struct refreshed {
    char *access;  /* new, owned */
    char *refresh; /* new, owned, or NULL: not rotated */
    long long expires_in_s;
};

/* POSTs form to endpoint as p's client (tools/token_client.h). */
static long client_post(const struct mg_idp *p, const char *endpoint, const char *form,
                        const char *what, struct buf *body)
{
    struct tool_token_client cl = {.name = p->name,
                                   .id = p->client_id,
                                   .secret = p->client_secret,
                                   .allow_private = cfg->idp_allow_private};
    return tool_token_post(&cl, endpoint, form, what, body);
}

/* Asks p's token endpoint for new tokens with refresh_token. Returns 1 with
 * *out, 0 when the provider refused the grant (the sign-in is over), -1
 * when it could not be asked or answered nonsense. */
static int refresh_request(const struct mg_idp *p, const char *endpoint, const char *refresh_token,
                           struct refreshed *out)
{
    struct buf body = {0};
    struct buf form = {0};
    long status = -1;
    if (tool_token_form_field(&form, "grant_type", "refresh_token") == 0 &&
        tool_token_form_field(&form, "refresh_token", refresh_token) == 0)
        status = client_post(p, endpoint, buf_str(&form), "token refresh", &body);
    buf_free_secret(&form);
    int result = -1;
    struct json_object *doc = NULL;
    if (status < 0) {
        /* logged */
    } else if (status == 400 || status == 401) {
        LOG_INFO("msg=\"provider refused the refresh\" idp=%s status=%ld", p->name, status);
        result = 0;
    } else if (status != 200 ||
               json_parse_request(body.data ? body.data : "", body.len, &doc, NULL) < 0 ||
               !json_get_string(doc, "access_token") ||
               !tool_cred_value_ok(json_get_string(doc, "access_token"))) {
        LOG_WARN("msg=\"token refresh answered nonsense\" idp=%s status=%ld", p->name, status);
    } else {
        struct json_object *e = json_get(doc, "expires_in", json_type_int);
        const char *newrt = json_get_string(doc, "refresh_token");
        out->access = xstrdup(json_get_string(doc, "access_token"));
        out->refresh = newrt && tool_cred_value_ok(newrt) ? xstrdup(newrt) : NULL;
        out->expires_in_s = e ? json_object_get_int64(e) : 3600;
        result = 1;
    }
    metrics_add("mcpgate_upstream_token_refreshes_total", 1, "idp", p->name, "outcome",
                result == 1   ? "ok"
                : result == 0 ? "refused"
                              : "failed",
                NULL);
    json_object_put(doc);
    buf_free_secret(&body);
    return result;
}

/* Revokes token (of kind hint) at endpoint (RFC 7009 section 2.1). Returns
 * 1 when the provider answered 200, else 0 (logged). */
static int revoke_request(const struct mg_idp *p, const char *endpoint, const char *token,
                          const char *hint)
{
    struct buf body = {0};
    struct buf form = {0};
    long status = -1;
    if (tool_token_form_field(&form, "token", token) == 0 &&
        tool_token_form_field(&form, "token_type_hint", hint) == 0)
        status = client_post(p, endpoint, buf_str(&form), "token revocation", &body);
    buf_free_secret(&form);
    buf_free_secret(&body);
    if (status != 200 && status >= 0)
        LOG_WARN("msg=\"provider did not revoke\" idp=%s status=%ld hint=%s", p->name, status,
                 hint);
    return status == 200;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* The provider ended user_id's sign-in: forget its tokens there, and end
 * what mcpgate issued on the strength of it (the user's OAuth tokens and
 * consents, and browser sessions), so that the user must come back through
 * the provider. Failures are logged. */
static void end_sign_in(struct store_conn *db, long long user_id, const char *idp)
{
    int n = 0;
    if (store_idp_token_delete(db, user_id, idp) != STORE_OK ||
        store_families_revoke(db, user_id, NULL, &n) != STORE_OK ||
        store_web_sessions_end(db, user_id) != STORE_OK)
        LOG_WARN("msg=\"could not end a sign-in the provider ended\" idp=%s user_id=%lld", idp,
                 user_id);
    else
        LOG_INFO("msg=\"sign-in ended by the provider\" idp=%s user_id=%lld families=%d", idp,
                 user_id, n);
}

/* Refreshes the leased row t of user_id. Returns the new access token, or
 * NULL with err (the row is deleted when the provider refused). */
static char *refresh_leased(struct tool_ctx *ctx, const struct backend *be, const struct mg_idp *p,
                            const char *lease, const struct store_idp_token *t,
                            struct mg_error *err, int *relink)
{
    char *rt =
        t->refresh_sealed ? open_sealed(p->name, "refresh", ctx->user_id, t->refresh_sealed) : NULL;
    struct refreshed n = {0};
    int got = rt ? refresh_request(p, t->token_endpoint, rt, &n) : 0;
    tool_cred_free(rt);
    char *value = NULL;
    if (got == 0 && t->linked) { /* only the link ends */
        *relink = 1;
        if (store_idp_token_delete(ctx->db, ctx->user_id, p->name) != STORE_OK)
            LOG_WARN("msg=\"could not forget a link the server ended\" idp=%s", p->name);
        mg_error_msg(
            err,
            "%s was not called: your linked account at %s has ended (the server no longer "
            "accepts it); connect it again: %s/login/idp?provider=%s&return_to=%%2Faccount",
            be->name, p->name, cfg->base_url, p->name);
        return NULL;
    }
    if (got == 0) {
        end_sign_in(ctx->db, ctx->user_id, p->name);
        *relink = 1;
        mg_error_msg(err,
                     "%s was not called: your sign-in at %s has ended (the provider no longer "
                     "accepts it); sign in again: %s/login/idp?provider=%s&return_to=%%2Faccount",
                     be->name, p->name, cfg->base_url, p->name);
        return NULL;
    }
    if (got < 0) {
        mg_error_msg(err,
                     "%s was not called: your token at %s could not be refreshed (the provider "
                     "did not answer); try again later",
                     be->name, p->name);
        return NULL;
    }
    char *a = seal(p->name, "access", ctx->user_id, n.access);
    char *r = n.refresh ? seal(p->name, "refresh", ctx->user_id, n.refresh) : NULL;
    if (a && (r || !n.refresh) &&
        store_idp_token_refreshed(ctx->db, ctx->user_id, p->name, lease, a, r, n.expires_in_s) ==
            STORE_OK) {
        LOG_INFO("msg=\"provider token refreshed\" idp=%s user_id=%lld rotated=%d", p->name,
                 ctx->user_id, n.refresh != NULL);
        value = n.access;
        n.access = NULL;
    } else {
        mg_error_msg(err,
                     "%s was not called: your refreshed token at %s could not be stored; try "
                     "again later",
                     be->name, p->name);
    }
    free(a);
    free(r);
    tool_cred_free(n.access);
    tool_cred_free(n.refresh);
    return value;
}

/* Opens the stored access token of t (and clears t). Returns it, or NULL
 * with err. */
static char *use_stored(const struct backend *be, const struct mg_idp *p, struct tool_ctx *ctx,
                        struct store_idp_token *t, struct mg_error *err, int *relink)
{
    char *v = open_sealed(p->name, "access", ctx->user_id, t->access_sealed);
    store_idp_token_clear(t);
    *relink = v == NULL;
    if (!v)
        mg_error_msg(err,
                     "%s was not called: your token at %s does not decrypt with the server's keys; "
                     "sign in again: %s/login/idp?provider=%s&return_to=%%2Faccount",
                     be->name, p->name, cfg->base_url, p->name);
    return v;
}

/* The message when user's token at p cannot be had and the user must sign
 * in again. */
static void sign_in_again(const struct backend *be, const struct mg_idp *p, const char *what,
                          struct mg_error *err)
{
    mg_error_msg(err,
                 "%s was not called: %s; sign in again: %s/login/idp?provider=%s"
                 "&return_to=%%2Faccount",
                 be->name, what, cfg->base_url, p->name);
}

/* 1 when stale is not NULL and the stored access token of t is another one
 * (another call refreshed it meanwhile): that one is then in *fresh. */
static int refreshed_meanwhile(const struct mg_idp *p, struct tool_ctx *ctx,
                               const struct store_idp_token *t, const char *stale, char **fresh)
{
    if (!stale || t->expires_in_s <= 0)
        return 0;
    char *v = open_sealed(p->name, "access", ctx->user_id, t->access_sealed);
    if (v && (strlen(v) != strlen(stale) || !crypto_equal(v, stale, strlen(v)))) {
        *fresh = v;
        return 1;
    }
    tool_cred_free(v);
    return 0;
}

/* The user's token at the provider c names: the stored one while it is
 * good, else refreshed under the lease. With stale (the token a backend
 * just refused), a token other than stale, refreshed now when no other
 * call has done so. Returns it (tool_cred_free()) or NULL with err. */
static char *get_token(const struct backend *be, const struct backend_cred *c, struct tool_ctx *ctx,
                       const char *stale, struct mg_error *err, int *relink)
{
    const struct mg_idp *p = cfg ? config_idp_find(cfg, c->from_idp) : NULL;
    if (!p || !ctx || !ctx->db || ctx->user_id <= 0) {
        mg_error_msg(err,
                     "%s needs you signed in at %s; sign in there: %s/login/idp?provider=%s"
                     "&return_to=%%2Faccount",
                     be->name, c->from_idp, cfg ? cfg->base_url : "", c->from_idp);
        return NULL;
    }
    char lease[32]; /* base64url of 16 bytes */
    crypto_token(16, lease);
    int margin = stale ? STALE_MARGIN_S : TOOL_IDP_REFRESH_MARGIN_S;
    for (int step = 0; step < WAIT_STEPS; step++) {
        struct store_idp_token t = {0};
        char *fresh = NULL;
        enum store_rc rc = store_idp_token_get(ctx->db, ctx->user_id, p->name, &t);
        if (rc == STORE_NOT_FOUND) {
            mg_error_msg(err,
                         "%s needs your %s at %s, and there is none: %s there: "
                         "%s/login/idp?provider=%s&return_to=%%2Faccount",
                         be->name, p->link_only ? "linked account" : "sign-in", p->name,
                         p->link_only ? "connect your account" : "sign in", cfg->base_url, p->name);
            *relink = 1;
            return NULL;
        }
        if (rc != STORE_OK)
            break;
        if (refreshed_meanwhile(p, ctx, &t, stale, &fresh)) {
            store_idp_token_clear(&t);
            return fresh;
        }
        if (!stale && t.expires_in_s > TOOL_IDP_REFRESH_MARGIN_S)
            return use_stored(be, p, ctx, &t, err, relink);
        if (stale && !t.refresh_sealed) {
            store_idp_token_clear(&t);
            sign_in_again(be, p,
                          "the backend refused your token and the provider gave none to "
                          "refresh it with",
                          err);
            *relink = 1;
            return NULL;
        }
        struct store_idp_token leased = {0};
        rc = store_idp_token_lease(ctx->db, ctx->user_id, p->name, lease, LEASE_S, margin, &leased);
        if (rc == STORE_OK) {
            store_idp_token_clear(&t);
            char *v = refresh_leased(ctx, be, p, lease, &leased, err, relink);
            store_idp_token_clear(&leased);
            return v;
        }
        /* another call is refreshing: its token is still good until it expires */
        if (rc == STORE_NOT_FOUND && !stale && t.expires_in_s > 0)
            return use_stored(be, p, ctx, &t, err, relink);
        store_idp_token_clear(&t);
        if (rc != STORE_NOT_FOUND)
            break;
        sleep_ms(WAIT_STEP_MS); /* another process is refreshing: wait for its tokens */
    }
    mg_error_msg(err,
                 "%s was not called: your token at %s could not be refreshed in time (or the "
                 "database is unavailable); try again later",
                 be->name, p->name);
    return NULL;
}

/* The user must sign in at provider name (again): a client that declared
 * URL-mode elicitation is asked to open the sign-in page (tools/registry.h
 * tool_url_required()); msg is the message for the others. */
static void elicit_sign_in(struct tool_ctx *ctx, const char *name, const char *msg)
{
    char url[700];
    snprintf(url, sizeof url, "%s/login/idp?provider=%s&return_to=%%2Faccount",
             cfg ? cfg->base_url : "", name);
    (void)tool_url_required(ctx, url, msg);
}

char *tool_idp_token(const struct backend *be, const struct backend_cred *c, struct tool_ctx *ctx,
                     struct mg_error *err)
{
    int relink = 0;
    char *v = get_token(be, c, ctx, NULL, err, &relink);
    if (!v && relink)
        elicit_sign_in(ctx, c->from_idp, err->msg);
    return v;
}

char *tool_idp_token_renew(const struct backend *be, const struct backend_cred *c,
                           struct tool_ctx *ctx, const char *stale, struct mg_error *err)
{
    int relink = 0;
    char *v = get_token(be, c, ctx, stale, err, &relink);
    if (!v && relink)
        elicit_sign_in(ctx, c->from_idp, err->msg);
    return v;
}

void tool_idp_token_still_refused(const struct backend *be, const struct backend_cred *c,
                                  struct tool_ctx *ctx, struct mg_error *err)
{
    mg_error_msg(err,
                 "%s refused your token at %s even after it was refreshed (HTTP 401); sign in "
                 "again: %s/login/idp?provider=%s&return_to=%%2Faccount",
                 be->name, c->from_idp, cfg ? cfg->base_url : "", c->from_idp);
    elicit_sign_in(ctx, c->from_idp, err->msg);
}

int tool_idp_token_disconnect(struct store_conn *db, long long user_id, const struct mg_idp *p,
                              const char *revocation_endpoint, int *revoked)
{
    *revoked = 0;
    struct store_idp_token t = {0};
    enum store_rc rc = store_idp_token_get(db, user_id, p->name, &t);
    if (rc == STORE_NOT_FOUND)
        return 0;
    if (rc != STORE_OK)
        return -1;
    if (revocation_endpoint && revocation_endpoint[0]) {
        /* the refresh token first: revoking it ends the grant at most providers */
        const char *kinds[] = {"refresh_token", "access_token"};
        const char *sealed[] = {t.refresh_sealed, t.access_sealed};
        const char *which[] = {"refresh", "access"};
        for (int i = 0; i < 2; i++) {
            char *v = sealed[i] ? open_sealed(p->name, which[i], user_id, sealed[i]) : NULL;
            if (v)
                *revoked += revoke_request(p, revocation_endpoint, v, kinds[i]);
            tool_cred_free(v);
        }
    }
    store_idp_token_clear(&t);
    if (store_idp_token_delete(db, user_id, p->name) != STORE_OK)
        return -1;
    LOG_INFO("msg=\"provider account disconnected\" idp=%s user_id=%lld revoked=%d", p->name,
             user_id, *revoked);
    return 1;
}
