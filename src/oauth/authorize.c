/*
 * oauth/authorize.c - the authorization endpoint and the consent form
 * (OAuth 2.1 section 4.1.1, RFC 7636, RFC 8707, RFC 9207).
 *
 * Order of checks: client_id and redirect_uri first; while either is bad
 * the browser gets an error page and is never redirected (no open
 * redirect). After that, a fault goes back to the redirect URI as
 * error=..., with state and iss, only when that URI is trusted: the
 * client was registered by the operator, or the signed-in user has
 * approved it before. Anyone can register a client (dynamically, or by
 * publishing a metadata document) with any redirect URI, so for such a
 * client nobody approved, errors are a page too (RFC 9700 section
 * 4.11.2); on /consent the user has just seen the page and decided. The redirect URI must equal a
 * registered one exactly; for http on a loopback address the port may differ (RFC 8252
 * section 7.3). PKCE with S256 is required; "plain" is refused. No scope means OAUTH_SCOPE_DEFAULT.
 * Parameters may not repeat and have length limits. A signed-in user who already granted the scope
 * is sent straight back with a code; otherwise the consent page is shown, which posts the whole
 * request again to /consent, where it is checked again.
 */
#include <stdio.h>
#include <string.h>

#include "oauth/internal.h"
#include "pages/pages.h"
#include "store/oauth_tokens.h"
#include "store/users.h"
#include "util/log.h"
#include "util/url.h"

/* An authorization request after the checks. */
struct authz {
    struct store_client client;
    const char *redirect_uri; /* validated */
    const char *state;        /* may be NULL */
    const char *challenge;
    char scope[OAUTH_SCOPE_MAX]; /* canonical */
    char resource[1024];
    const char *prompt; /* may be NULL */
    int trusted;        /* errors may be redirected to redirect_uri */
};

/* The request's parameters that travel through the consent form. */
static const char *const carried[] = {
    "client_id", "redirect_uri",   "response_type",         "state",
    "scope",     "code_challenge", "code_challenge_method", "resource"};
#define N_CARRIED (sizeof carried / sizeof carried[0])

/* Sends the browser to the client's redirect URI with params (name,
 * value pairs; NULL values skipped), state and iss. */
static void redirect_to_client(struct oauth_ctx *ctx, const struct authz *a,
                               const char *const *params, int n)
{
    struct buf loc = {0};
    int rc = buf_puts(&loc, a->redirect_uri);
    char sep = strchr(a->redirect_uri, '?') ? '&' : '?';
    for (int i = 0; i + 1 < n && rc == 0; i += 2) {
        if (!params[i + 1])
            continue;
        rc = buf_printf(&loc, "%c%s=", sep, params[i]) || http_url_encode(&loc, params[i + 1]);
        sep = '&';
    }
    if (rc == 0 && a->state)
        rc = buf_printf(&loc, "%cstate=", sep) || http_url_encode(&loc, a->state);
    sep = '&';
    if (rc == 0)
        rc = buf_printf(&loc, "&iss=") || http_url_encode(&loc, ctx->cfg->base_url);
    if (rc == 0)
        oauth_see_other(ctx, buf_str(&loc));
    else
        oauth_error_page(ctx, 400, "Bad request", "the redirect URI is too long");
    buf_free(&loc);
}

/* Reports a fault of a request whose client and redirect URI are valid:
 * to the client when its redirect URI is trusted, else as a page. */
static void redirect_error(struct oauth_ctx *ctx, const struct authz *a, const char *error,
                           const char *description)
{
    if (!a->trusted) {
        char msg[300];
        snprintf(msg, sizeof msg, "The application's request cannot be served (%s): %s.", error,
                 description);
        oauth_error_page(ctx, 400, "Invalid request", msg);
        return;
    }
    const char *p[] = {"error", error, "error_description", description};
    redirect_to_client(ctx, a, p, 4);
}

/* Step 1: client and redirect URI. Returns 0, or -1 with an error page. */
static int check_client(struct oauth_ctx *ctx, const struct http_form *q, struct authz *a)
{
    struct mg_error err = MG_ERROR_INIT;
    const char *dup = http_form_duplicate(q);
    if (dup) {
        char msg[128];
        snprintf(msg, sizeof msg, "The parameter %.64s is repeated.", dup);
        oauth_error_page(ctx, 400, "Invalid request", msg);
        return -1;
    }
    int g = oauth_client_get(ctx, http_form_get(q, "client_id"), &a->client, &err);
    if (g < 0 && mg_error_is_unavailable(&err)) {
        oauth_reply_unavailable(ctx->res);
        return -1;
    }
    if (g < 0) {
        oauth_error_page(ctx, 400, "Unknown application", err.msg);
        return -1;
    }
    const char *uri = http_form_get(q, "redirect_uri");
    if (!uri) {
        /* allowed only when exactly one is registered */
        if (strchr(a->client.redirect_uris, '\n')) {
            oauth_error_page(ctx, 400, "Invalid request",
                             "redirect_uri is required for this application.");
            return -1;
        }
        uri = a->client.redirect_uris;
    }
    if (strlen(uri) > OAUTH_MAX_URI_LEN ||
        !oauth_redirect_uri_match(a->client.redirect_uris, uri)) {
        oauth_error_page(ctx, 400, "Invalid redirect URI",
                         "The redirect_uri is not registered for this application.");
        return -1;
    }
    a->redirect_uri = uri;
    return 0;
}

/* Step 2: everything else. Returns 0, or -1 after redirecting the error. */
static int check_request(struct oauth_ctx *ctx, const struct http_form *q, struct authz *a)
{
    a->state = http_form_get(q, "state");
    if (a->state && strlen(a->state) > OAUTH_MAX_STATE_LEN) {
        a->state = NULL;
        redirect_error(ctx, a, "invalid_request", "state is too long");
        return -1;
    }
    const char *rt = http_form_get(q, "response_type");
    if (!rt) {
        redirect_error(ctx, a, "invalid_request", "response_type is missing");
        return -1;
    }
    if (strcmp(rt, "code") != 0) {
        redirect_error(ctx, a, "unsupported_response_type", "response_type must be code");
        return -1;
    }
    a->challenge = http_form_get(q, "code_challenge");
    const char *method = http_form_get(q, "code_challenge_method");
    if (!a->challenge) {
        redirect_error(ctx, a, "invalid_request", "code_challenge is required (PKCE)");
        return -1;
    }
    if (!method || strcmp(method, "S256") != 0) {
        redirect_error(ctx, a, "invalid_request", "code_challenge_method must be S256");
        return -1;
    }
    size_t clen = strlen(a->challenge);
    if (clen != 43 || strspn(a->challenge, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                           "0123456789-_") != clen) {
        redirect_error(ctx, a, "invalid_request", "malformed code_challenge");
        return -1;
    }
    const char *scope = http_form_get(q, "scope");
    if (scope && strlen(scope) > 1024) {
        redirect_error(ctx, a, "invalid_scope", "scope is too long");
        return -1;
    }
    if (oauth_scope_canonical(scope && *scope ? scope : OAUTH_SCOPE_DEFAULT, a->scope,
                              sizeof a->scope) < 0 ||
        !a->scope[0]) {
        redirect_error(ctx, a, "invalid_scope", "unknown scope");
        return -1;
    }
    if (a->client.scope[0] && !oauth_scope_covers(a->client.scope, a->scope)) {
        redirect_error(ctx, a, "invalid_scope", "scope exceeds the application's registration");
        return -1;
    }
    const char *resource = http_form_get(q, "resource");
    if ((resource && strlen(resource) > 1000) ||
        oauth_resource_check(ctx->cfg, resource, a->resource, sizeof a->resource) < 0) {
        redirect_error(ctx, a, "invalid_target", "resource is not this server");
        return -1;
    }
    a->prompt = http_form_get(q, "prompt");
    return 0;
}

/* Issues a code for the request and redirects. */
static void issue_code(struct oauth_ctx *ctx, const struct authz *a, const struct store_user *u,
                       const char *scope)
{
    char code[OAUTH_SECRET_LEN + 1], hash[CRYPTO_SHA256_HEX_LEN + 1];
    oauth_secret_new("", code, sizeof code, hash);
    struct store_code_new n = {
        .code_hash = hash,
        .user_id = u->id,
        .client_id = a->client.client_id,
        .scope = scope,
        .resource = a->resource,
        .redirect_uri = a->redirect_uri,
        .code_challenge = a->challenge,
        .ttl_s = OAUTH_CODE_TTL_S,
    };
    if (store_code_create(ctx->db, &n) != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
    } else {
        LOG_INFO("msg=\"authorization code issued\" user=%s client_id=%.200s", u->username,
                 a->client.client_id);
        const char *p[] = {"code", code};
        redirect_to_client(ctx, a, p, 2);
    }
    explicit_bzero(code, sizeof code);
}

/* The host (and port) of a URI, for people; the URI itself when it has
 * none (registered redirect URIs always have one). */
static void uri_host(const char *uri, char *out, size_t n)
{
    struct url_parts u;
    if (url_split(uri, &u) == 0)
        url_authority(&u, out, n);
    else
        snprintf(out, n, "%s", uri);
}

static void show_consent(struct oauth_ctx *ctx, const struct http_form *q, const struct authz *a,
                         const struct store_user *u)
{
    char csrf[64], action[300], host[300];
    if (oauth_csrf_token(ctx, csrf, sizeof csrf) < 0) {
        oauth_reply_unavailable(ctx->res);
        return;
    }
    snprintf(action, sizeof action, "%s/consent", ctx->cfg->base_path);
    uri_host(a->redirect_uri, host, sizeof host);
    struct pages_field hidden[N_CARRIED];
    int n = 0;
    for (size_t i = 0; i < N_CARRIED; i++) {
        const char *v = strcmp(carried[i], "redirect_uri") == 0 ? a->redirect_uri
                        : strcmp(carried[i], "scope") == 0      ? a->scope
                                                                : http_form_get(q, carried[i]);
        if (v)
            hidden[n++] = (struct pages_field){carried[i], v};
    }
    const struct mg_connector *c = oauth_resource_connector(ctx->cfg, a->resource);
    char path[64];
    snprintf(path, sizeof path, "/mcp/%s", c ? c->name : "");
    /* each scope of the canonical list, with what it allows */
    char names[OAUTH_SCOPE_MAX];
    snprintf(names, sizeof names, "%s", a->scope);
    struct pages_field scopes[OAUTH_SCOPE_MAX / 2];
    int n_scopes = 0;
    for (char *s = names; *s && n_scopes < (int)(sizeof scopes / sizeof scopes[0]);) {
        size_t len = strcspn(s, " ");
        int last = s[len] == '\0';
        s[len] = '\0';
        scopes[n_scopes++] = (struct pages_field){s, oauth_scope_describe(s)};
        s += len + !last;
    }
    struct pages_consent p = {
        .connector_title = c ? c->title : NULL,
        .connector_path = c ? path : NULL,
        .action = action,
        .csrf = csrf,
        .username = u->username,
        .client_name = a->client.name,
        .client_id = a->client.client_id,
        .redirect_host = host,
        .localhost_only = oauth_redirect_uri_loopback(a->redirect_uri),
        .cimd = strcmp(a->client.kind, "cimd") == 0,
        .scopes = scopes,
        .n_scopes = n_scopes,
        .offers_read_only = strstr(a->scope, OAUTH_SCOPE_WRITE) != NULL,
        .hidden = hidden,
        .n_hidden = n,
    };
    struct buf html = {0};
    oauth_send_rendered(ctx, 200, pages_consent(&html, &p), &html);
}

/* The browser comes from consenting at the provider (consent=provider) to
 * this request: the consent is remembered as if given on mcpgate's page,
 * and the code issued. */
static void consented_at_provider(struct oauth_ctx *ctx, const struct authz *a,
                                  const struct store_user *u)
{
    if (store_consent_save(ctx->db, u->id, a->client.client_id, a->scope) != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
        return;
    }
    LOG_INFO("msg=\"consent given at the identity provider\" user=%s client_id=%.200s", u->username,
             a->client.client_id);
    issue_code(ctx, a, u, a->scope);
}

/* Sends the browser to provider p to consent there (prompt=consent), and
 * back to this request. */
static void consent_at_provider(struct oauth_ctx *ctx, const struct mg_idp *p)
{
    struct buf loc = {0};
    if (oauth_idp_start_url(ctx->cfg, p, ctx->req->uri, &loc) == 0)
        oauth_see_other(ctx, buf_str(&loc));
    else
        oauth_error_page(ctx, 400, "Invalid request", "the request is too long");
    buf_free(&loc);
}

void oauth_handle_authorize(struct oauth_ctx *ctx)
{
    struct http_form q;
    struct authz a;
    memset(&a, 0, sizeof a);
    if (oauth_page_query(ctx, "GET", &q) < 0)
        return;
    if (check_client(ctx, &q, &a) < 0)
        goto out;
    struct store_user u;
    int s = oauth_web_user(ctx, &u);
    if (s < 0)
        goto out;
    char granted[OAUTH_SCOPE_MAX];
    enum store_rc consent = STORE_NOT_FOUND;
    if (s == 1)
        consent = store_consent_find(ctx->db, u.id, a.client.client_id, granted, sizeof granted);
    if (consent != STORE_OK && consent != STORE_NOT_FOUND) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    a.trusted = strcmp(a.client.kind, "static") == 0 || consent == STORE_OK;
    if (check_request(ctx, &q, &a) < 0)
        goto out;
    int force_login = a.prompt && strstr(a.prompt, "login");
    if (s == 0 || force_login) {
        if (a.prompt && strcmp(a.prompt, "none") == 0) {
            redirect_error(ctx, &a, "login_required", "the user is not signed in");
            goto out;
        }
        struct buf loc = {0};
        int rc = 0;
        const struct mg_idp *only = NULL;
        if (!ctx->cfg->local_users && config_idp_signin_count(ctx->cfg, &only) == 1) {
            /* nothing to choose */
            rc = oauth_idp_start_url(ctx->cfg, only, ctx->req->uri, &loc);
        } else {
            rc = buf_printf(&loc, "%s/login?return_to=", ctx->cfg->base_path) ||
                 http_url_encode(&loc, ctx->req->uri);
        }
        if (rc == 0)
            oauth_see_other(ctx, buf_str(&loc));
        else
            oauth_error_page(ctx, 400, "Invalid request", "the request is too long");
        buf_free(&loc);
        goto out;
    }
    int remembered = consent == STORE_OK && oauth_scope_covers(granted, a.scope) &&
                     !(a.prompt && strstr(a.prompt, "consent"));
    /* consent to an application is remembered per resource: allowing it one
     * connector's tools is no consent to /mcp's or another connector's */
    if (remembered && store_consent_resource_used(ctx->db, u.id, a.client.client_id, a.resource,
                                                  &remembered) != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    /* consent=provider: the provider's consent page, asked for each time
       mcpgate would show its own, stands instead of it */
    const struct mg_idp *cp = oauth_idp_consent_at(ctx->cfg, &u);
    if (remembered)
        issue_code(ctx, &a, &u, a.scope);
    else if (a.prompt && strcmp(a.prompt, "none") == 0)
        redirect_error(ctx, &a, "consent_required", "the user has not allowed this application");
    else if (cp && oauth_idp_consent_given(ctx, &u))
        consented_at_provider(ctx, &a, &u);
    else if (cp)
        consent_at_provider(ctx, cp);
    else
        show_consent(ctx, &q, &a, &u);
out:
    http_form_free(&q);
}

void oauth_handle_consent(struct oauth_ctx *ctx)
{
    struct http_form f;
    struct authz a;
    memset(&a, 0, sizeof a);
    if (oauth_read_form(ctx, &f) < 0)
        return;
    if (!oauth_csrf_ok(ctx, &f)) {
        oauth_error_page(ctx, 403, "Forbidden",
                         "The form expired or did not come from this site; start again from "
                         "the application.");
        goto out;
    }
    struct store_user u;
    int s = oauth_web_user(ctx, &u);
    if (s < 0)
        goto out;
    if (s == 0) {
        oauth_error_page(ctx, 403, "Signed out", "Sign in again from the application.");
        goto out;
    }
    a.trusted = 1; /* the user saw the consent page (its host) and answered it */
    if (check_client(ctx, &f, &a) < 0 || check_request(ctx, &f, &a) < 0)
        goto out;
    const char *decision = http_form_get(&f, "decision");
    if (!decision || strcmp(decision, "allow") != 0) {
        LOG_INFO("msg=\"authorization denied by the user\" client_id=%.200s", a.client.client_id);
        redirect_error(ctx, &a, "access_denied", "the user denied the request");
        goto out;
    }
    char scope[OAUTH_SCOPE_MAX];
    snprintf(scope, sizeof scope, "%s",
             http_form_get(&f, "read_only") ? OAUTH_SCOPE_READ : a.scope);
    if (store_consent_save(ctx->db, u.id, a.client.client_id, scope) != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    issue_code(ctx, &a, &u, scope);
out:
    http_form_free(&f);
}
