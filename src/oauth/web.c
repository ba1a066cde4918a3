/*
 * oauth/web.c - sign-in, sign-out and the account page, and what every
 * page shares: browser sessions, CSRF tokens, security headers.
 *
 * Cookies: mcpgate_session (the browser session id; only its SHA-256 is
 * stored) and mcpgate_csrf (a random value; forms carry
 * base64url(HMAC-SHA256(installation secret "csrf", cookie))). Both are
 * Secure, HttpOnly, SameSite=Lax (the session cookie must come along when a
 * client's site sends the browser to /authorize) and scoped to base_url's
 * path. Every page has Content-Security-Policy default-src 'none' with
 * frame-ancestors 'none', X-Frame-Options DENY, no-referrer and no-store;
 * every POST ends in 303 See Other.
 *
 * Sign-in throttling: failures are counted in PostgreSQL per account and
 * per address; after 5 failures of an account (20 of an address) each
 * further attempt must wait 1, 2, 4 ... seconds (at most 15 minutes) after
 * the last failure, whatever process or host it reaches. Each attempt is
 * counted (reserved) before its password is checked and given back when it
 * was right, so concurrent guesses get no more tries than sequential ones.
 * At most password_hash_max passwords are checked at once per process and
 * per host (all its processes, counted in PostgreSQL); more get 503 at once. Unknown accounts cost
 * the same scrypt time as known ones.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "http/form.h"
#include "oauth/internal.h"
#include "oauth/password.h"
#include "pages/pages.h"
#include "store/api_keys.h"
#include "store/credentials.h"
#include "store/idp_tokens.h"
#include "store/lease.h"
#include "store/oauth_tokens.h"
#include "store/secret.h"
#include "store/users.h"
#include "tools/backends.h"
#include "tools/credentials.h"
#include "util/alloc.h"
#include "util/crypto.h"
#include "util/log.h"

#define USER_FREE_FAILURES 5
#define ADDR_FREE_FAILURES 20

static void cookie_path(const struct mg_config *cfg, char *out, size_t n)
{
    snprintf(out, n, "%s/", cfg->base_path);
}

void oauth_set_cookie(struct oauth_ctx *ctx, const char *name, const char *value, int max_age_s,
                      const char *path_suffix)
{
    char path[300], line[512];
    cookie_path(ctx->cfg, path, sizeof path);
    snprintf(line, sizeof line, "%s=%s; Path=%s%s; Max-Age=%d; Secure; HttpOnly; SameSite=Lax",
             name, value, path, path_suffix, max_age_s);
    oauth_header(ctx->res, "Set-Cookie", line);
    explicit_bzero(line, sizeof line);
}

int oauth_cookie(struct oauth_ctx *ctx, const char *name, char *out, size_t n)
{
    return http_cookie_get(http_header(ctx->req, "Cookie"), name, out, n);
}

int oauth_query(struct oauth_ctx *ctx, struct http_form *f, struct mg_error *err)
{
    const char *uri = ctx->req->uri ? ctx->req->uri : "";
    const char *q = strchr(uri, '?');
    f->n = 0;
    if (!q)
        return 0;
    q++;
    size_t len = strcspn(q, "#");
    if (len > 16384) {
        mg_error_msg(err, "the query string is too long");
        return -1;
    }
    return http_form_parse(q, len, f, err);
}

int oauth_page_get_only(struct oauth_ctx *ctx, const char *allow)
{
    if (strcmp(ctx->req->method, "GET") == 0)
        return 1;
    oauth_error_page(ctx, 405, "Method not allowed",
                     strcmp(allow, "GET") == 0 ? "Use GET." : "Use GET or POST.");
    oauth_header(ctx->res, "Allow", allow);
    return 0;
}

int oauth_page_query(struct oauth_ctx *ctx, const char *allow, struct http_form *q)
{
    struct mg_error err = MG_ERROR_INIT;
    q->n = 0;
    if (!oauth_page_get_only(ctx, allow))
        return -1;
    if (oauth_query(ctx, q, &err) < 0) {
        oauth_error_page(ctx, 400, "Invalid request", err.msg);
        http_form_free(q);
        return -1;
    }
    return 0;
}

int oauth_web_user(struct oauth_ctx *ctx, struct store_user *out)
{
    char sid[OAUTH_SECRET_LEN + 1];
    if (oauth_cookie(ctx, OAUTH_COOKIE_SESSION, sid, sizeof sid) < 0)
        return 0;
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    crypto_sha256_hex(sid, strlen(sid), hash);
    explicit_bzero(sid, sizeof sid);
    switch (store_web_session_find(ctx->db, hash, out)) {
    case STORE_OK:
        return 1;
    case STORE_NOT_FOUND:
        return 0;
    case STORE_UNAVAILABLE:
    case STORE_ERROR:
        break;
    }
    oauth_reply_unavailable(ctx->res);
    return -1;
}

/* base64url(HMAC-SHA256(key "csrf", value)) into out. */
static int csrf_of(struct oauth_ctx *ctx, const char *value, char *out, size_t n)
{
    unsigned char key[STORE_SECRET_LEN], md[CRYPTO_SHA256_LEN];
    if (n < 64 || store_secret_get(ctx->db, "csrf", key) != STORE_OK)
        return -1;
    crypto_hmac_sha256(key, sizeof key, value, strlen(value), md);
    explicit_bzero(key, sizeof key);
    crypto_b64url_encode(md, sizeof md, out);
    return 0;
}

int oauth_csrf_token(struct oauth_ctx *ctx, char *out, size_t n)
{
    char value[OAUTH_SECRET_LEN + 1];
    if (oauth_cookie(ctx, OAUTH_COOKIE_CSRF, value, sizeof value) < 0 ||
        strlen(value) != OAUTH_SECRET_LEN) {
        crypto_token(OAUTH_SECRET_BYTES, value);
        oauth_set_cookie(ctx, OAUTH_COOKIE_CSRF, value, 30 * 24 * 3600, "");
    }
    return csrf_of(ctx, value, out, n);
}

int oauth_csrf_ok(struct oauth_ctx *ctx, const struct http_form *f)
{
    char value[OAUTH_SECRET_LEN + 1], want[64];
    const char *got = http_form_get(f, "csrf");
    if (!got || oauth_cookie(ctx, OAUTH_COOKIE_CSRF, value, sizeof value) < 0 ||
        csrf_of(ctx, value, want, sizeof want) < 0)
        return 0;
    return strlen(got) == strlen(want) && crypto_equal(got, want, strlen(want));
}

void oauth_send_page(struct oauth_ctx *ctx, int status, const struct buf *html)
{
    http_response_set_body(ctx->res, status, "text/html; charset=utf-8", buf_str(html), html->len);
    oauth_header(ctx->res, "Content-Security-Policy",
                 "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
                 "base-uri 'none'");
    oauth_header(ctx->res, "X-Frame-Options", "DENY");
    oauth_header(ctx->res, "Referrer-Policy", "no-referrer");
}

void oauth_send_rendered(struct oauth_ctx *ctx, int status, int rendered, struct buf *html)
{
    if (rendered < 0)
        LOG_ERROR("msg=\"could not render a page\"");
    oauth_send_page(ctx, status, html);
    buf_free_secret(html);
}

void oauth_error_page(struct oauth_ctx *ctx, int status, const char *title, const char *message)
{
    struct buf html = {0};
    oauth_send_rendered(ctx, status, pages_error(&html, title, message), &html);
}

void oauth_see_other(struct oauth_ctx *ctx, const char *location)
{
    http_response_set_body(ctx->res, 303, NULL, "", 0);
    oauth_header(ctx->res, "Location", location);
}

/* 1 when s is all printable ASCII but space and backslash: a URL as this
 * server writes it (percent-encoded), fit for a Location header. */
static int plain_url(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p > '~' || *p == '\\')
            return 0;
    return 1;
}

/* A return_to target after sign-in: our /authorize?..., /account or a page
 * of the admin console, given as a path; anything else (another host, //,
 * \, a control or non-ASCII character) becomes /account. */
void oauth_safe_return(const struct mg_config *cfg, const char *want, char *out, size_t n)
{
    char authorize[300], account[300], admin[300];
    snprintf(authorize, sizeof authorize, "%s/authorize?", cfg->base_path);
    snprintf(account, sizeof account, "%s/account", cfg->base_path);
    snprintf(admin, sizeof admin, "%s/admin", cfg->base_path);
    size_t al = strlen(admin);
    int console = want && strncmp(want, admin, al) == 0 &&
                  (want[al] == '\0' || strcmp(want + al, "/users") == 0 ||
                   strcmp(want + al, "/audit") == 0 || strcmp(want + al, "/keys") == 0 ||
                   strcmp(want + al, "/clients") == 0 || strcmp(want + al, "/policy") == 0 ||
                   strcmp(want + al, "/backends") == 0 || strcmp(want + al, "/apps") == 0);
    int ok = want && strlen(want) < n &&
             (strncmp(want, authorize, strlen(authorize)) == 0 || strcmp(want, account) == 0 ||
              console) &&
             plain_url(want) && !strstr(want, "//");
    snprintf(out, n, "%s", ok ? want : account);
}

static void render_login(struct oauth_ctx *ctx, int status, const char *return_to,
                         const char *username, const char *error)
{
    char csrf[64], action[300];
    if (oauth_csrf_token(ctx, csrf, sizeof csrf) < 0) {
        oauth_reply_unavailable(ctx->res);
        return;
    }
    snprintf(action, sizeof action, "%s/login", ctx->cfg->base_path);
    struct pages_login p = {
        .action = action,
        .csrf = csrf,
        .return_to = return_to,
        .username = username,
        .error = error,
        .local = ctx->cfg->local_users,
    };
    struct pages_field providers[MG_MAX_IDPS];
    struct buf hrefs[MG_MAX_IDPS];
    memset(hrefs, 0, sizeof hrefs);
    int rc = 0, n = 0;
    for (int i = 0; i < ctx->cfg->n_idps && rc == 0; i++) {
        if (ctx->cfg->idps[i].link_only) /* for linking accounts, not a way to sign in */
            continue;
        rc = oauth_idp_start_url(ctx->cfg, &ctx->cfg->idps[i], return_to, &hrefs[n]);
        providers[n] = (struct pages_field){ctx->cfg->idps[i].name, buf_str(&hrefs[n])};
        n++;
    }
    p.providers = providers;
    p.n_providers = n;
    struct buf html = {0};
    oauth_send_rendered(ctx, status, rc < 0 ? -1 : pages_login(&html, &p), &html);
    for (int i = 0; i < ctx->cfg->n_idps; i++)
        buf_free(&hrefs[i]);
}

void oauth_web_session_start(struct oauth_ctx *ctx, const struct store_user *u, const char *target)
{
    char sid[OAUTH_SECRET_LEN + 1], hash[CRYPTO_SHA256_HEX_LEN + 1];
    oauth_secret_new("", sid, sizeof sid, hash);
    if (store_web_session_create(ctx->db, hash, u->id, ctx->cfg->web_session_ttl_s) != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
        return;
    }
    LOG_INFO("msg=\"signed in\" user=%s", u->username);
    oauth_see_other(ctx, target);
    oauth_set_cookie(ctx, OAUTH_COOKIE_SESSION, sid, ctx->cfg->web_session_ttl_s, "");
    explicit_bzero(sid, sizeof sid);
}

/* Takes a password hashing slot: one of password_hash_max in this process,
 * then one of password_hash_max on this host, counted in PostgreSQL
 * (store/lease.h), since mod_fcgid runs many single-threaded processes.
 * Returns 1 (taken: give it back with hash_slot_release()), 0 (every slot
 * is busy) or -1 (the store is unavailable). */
static int hash_slot_take(struct oauth_ctx *ctx, long long *lease)
{
    if (!oauth_password_slot_take(ctx->cfg->password_hash_max))
        return 0;
    char host[64] = "", key[80];
    if (gethostname(host, sizeof host - 1) < 0)
        host[0] = '\0';
    for (char *p = host; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-')
            *p = '_';
    snprintf(key, sizeof key, "ph:%s", host[0] ? host : "-");
    const char *keys[] = {key};
    const int caps[] = {ctx->cfg->password_hash_max};
    *lease = 0;
    if (store_lease_acquire(ctx->db, keys, caps, 1, 60, lease) != STORE_OK) {
        oauth_password_slot_release();
        return -1;
    }
    if (*lease == 0) {
        oauth_password_slot_release();
        return 0;
    }
    return 1;
}

static void hash_slot_release(struct oauth_ctx *ctx, long long lease)
{
    oauth_password_slot_release();
    if (store_lease_release(ctx->db, lease) != STORE_OK)
        LOG_WARN("msg=\"could not give back a hashing lease: it expires on its own\"");
}

static void login_post(struct oauth_ctx *ctx)
{
    struct http_form f;
    if (oauth_read_form(ctx, &f) < 0)
        return;
    char target[4096];
    oauth_safe_return(ctx->cfg, http_form_get(&f, "return_to"), target, sizeof target);
    const char *user = http_form_get(&f, "username");
    const char *password = http_form_get(&f, "password");
    if (!ctx->cfg->local_users) {
        render_login(ctx, 403, target, NULL,
                     "Sign-in with a user name and password is turned off here.");
        goto out;
    }
    if (!oauth_csrf_ok(ctx, &f)) {
        render_login(ctx, 403, target, NULL, "Your session expired: please sign in again.");
        goto out;
    }
    if (!user || !password || !*user || strlen(user) > 64 ||
        strlen(password) > OAUTH_PASSWORD_MAX_LEN) {
        render_login(ctx, 400, target, NULL, "Enter your user name and password.");
        goto out;
    }
    char ukey[80], akey[80];
    snprintf(ukey, sizeof ukey, "u:%s", user);
    snprintf(akey, sizeof akey, "a:%.64s", ctx->req->remote_addr ? ctx->req->remote_addr : "-");
    /* a free hashing slot first (in this process, then on this host), then
     * the attempt is counted before the password is checked
     * (store_login_reserve) */
    long long lease = 0;
    int slot = hash_slot_take(ctx, &lease);
    if (slot <= 0) {
        if (slot == 0) {
            LOG_WARN("msg=\"sign-in refused: every password hashing slot is busy\"");
            render_login(ctx, 503, target, user,
                         "Too many sign-ins at once. Try again in a moment.");
            oauth_header(ctx->res, "Retry-After", "1");
        } else {
            oauth_reply_unavailable(ctx->res);
        }
        goto out;
    }
    int wait_s = 0;
    enum store_rc rc =
        store_login_reserve(ctx->db, ukey, akey, USER_FREE_FAILURES, ADDR_FREE_FAILURES, &wait_s);
    if (rc != STORE_OK) {
        hash_slot_release(ctx, lease);
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    if (wait_s > 0) {
        hash_slot_release(ctx, lease);
        char msg[160], ra[16];
        snprintf(msg, sizeof msg, "Too many failed sign-in attempts. Try again in %d second%s.",
                 wait_s, wait_s == 1 ? "" : "s");
        LOG_WARN("msg=\"sign-in throttled\" wait_s=%d", wait_s);
        render_login(ctx, 429, target, user, msg);
        snprintf(ra, sizeof ra, "%d", wait_s);
        oauth_header(ctx->res, "Retry-After", ra);
        goto out;
    }
    struct store_user u;
    rc = store_user_find(ctx->db, user, &u);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
        hash_slot_release(ctx, lease);
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    int ok = oauth_password_verify(password, rc == STORE_OK ? u.password_hash : NULL);
    hash_slot_release(ctx, lease);
    if (!ok || u.disabled) {
        /* the reservation already counted this failure; the wait it
         * imposes runs from now */
        if (store_login_failed(ctx->db, ukey, akey) != STORE_OK)
            LOG_WARN("msg=\"could not record the time of a failed sign-in\"");
        LOG_INFO("msg=\"sign-in failed\"");
        render_login(ctx, 401, target, user, "Wrong user name or password.");
        goto out;
    }
    if (store_login_succeeded(ctx->db, ukey, akey) != STORE_OK)
        LOG_WARN("msg=\"could not clear failed sign-ins\"");
    oauth_web_session_start(ctx, &u, target);
out:
    http_form_free(&f);
}

void oauth_handle_login(struct oauth_ctx *ctx)
{
    if (strcmp(ctx->req->method, "POST") == 0) {
        login_post(ctx);
        return;
    }
    struct http_form q;
    char target[4096];
    if (oauth_page_query(ctx, "GET, POST", &q) < 0)
        return;
    oauth_safe_return(ctx->cfg, http_form_get(&q, "return_to"), target, sizeof target);
    render_login(ctx, 200, target, NULL, NULL);
    http_form_free(&q);
}

void oauth_handle_logout(struct oauth_ctx *ctx)
{
    struct http_form f;
    if (oauth_read_form(ctx, &f) < 0)
        return;
    char login[300];
    snprintf(login, sizeof login, "%s/login", ctx->cfg->base_path);
    if (!oauth_csrf_ok(ctx, &f)) {
        oauth_error_page(ctx, 403, "Forbidden", "The form expired; reload the page.");
        goto out;
    }
    char sid[OAUTH_SECRET_LEN + 1], hash[CRYPTO_SHA256_HEX_LEN + 1];
    if (oauth_cookie(ctx, OAUTH_COOKIE_SESSION, sid, sizeof sid) == 0) {
        crypto_sha256_hex(sid, strlen(sid), hash);
        explicit_bzero(sid, sizeof sid);
        if (store_web_session_delete(ctx->db, hash) != STORE_OK) {
            oauth_reply_unavailable(ctx->res);
            goto out;
        }
    }
    oauth_see_other(ctx, login);
    oauth_set_cookie(ctx, OAUTH_COOKIE_SESSION, "", 0, "");
out:
    http_form_free(&f);
}

/* --- account page --- */

struct account_rows {
    struct pages_app apps[PAGES_MAX_ROWS];
    struct store_app app_data[PAGES_MAX_ROWS];
    int n_apps;
    struct pages_key keys[PAGES_MAX_ROWS];
    struct store_api_key key_data[PAGES_MAX_ROWS];
    int n_keys;
    struct pages_cred creds[PAGES_MAX_ROWS];
    int n_creds;
    struct store_cred linked[PAGES_MAX_ROWS]; /* the user's stored values (sealed: not kept) */
    int n_linked;
    struct store_idp_token tokens[MG_MAX_IDPS]; /* the user's provider tokens (names, dates) */
    struct pages_linked linked_rows[MG_MAX_IDPS];
    struct buf connect[MG_MAX_IDPS]; /* the Connect links of link_only providers */
    int n_linked_rows;
};

/* The user's accounts at providers (the sign-in's and linked ones), and a
 * Connect row for each link_only provider not linked. Returns 0 or -1 (the
 * database failed). */
static int collect_linked(struct oauth_ctx *ctx, const struct store_user *u, struct account_rows *r)
{
    int n = 0;
    if (store_idp_token_list(ctx->db, u->id, r->tokens, MG_MAX_IDPS, &n) != STORE_OK)
        return -1;
    for (int i = 0; i < n; i++) {
        store_idp_token_clear(&r->tokens[i]); /* the sealed tokens; name and date stay */
        r->linked_rows[r->n_linked_rows++] =
            (struct pages_linked){r->tokens[i].idp, r->tokens[i].updated_at, NULL};
    }
    for (int i = 0; i < ctx->cfg->n_idps && r->n_linked_rows < MG_MAX_IDPS; i++) {
        const struct mg_idp *p = &ctx->cfg->idps[i];
        int have = 0;
        for (int k = 0; k < n; k++)
            have |= strcmp(r->tokens[k].idp, p->name) == 0;
        if (!p->link_only || have || ctx->cfg->n_credential_keys == 0)
            continue;
        struct buf *b = &r->connect[r->n_linked_rows];
        if (oauth_idp_start_url(ctx->cfg, p, "/account", b) < 0)
            continue;
        r->linked_rows[r->n_linked_rows++] = (struct pages_linked){p->name, NULL, buf_str(b)};
    }
    return 0;
}

static void on_app(void *arg, const struct store_app *a)
{
    struct account_rows *r = arg;
    if (r->n_apps == PAGES_MAX_ROWS)
        return;
    struct store_app *d = &r->app_data[r->n_apps];
    *d = *a;
    r->apps[r->n_apps++] =
        (struct pages_app){d->client_id, d->name, d->scope, d->last_used, d->since};
}

static void on_key(void *arg, const struct store_api_key *k)
{
    struct account_rows *r = arg;
    if (r->n_keys == PAGES_MAX_ROWS)
        return;
    struct store_api_key *d = &r->key_data[r->n_keys];
    *d = *k;
    r->keys[r->n_keys++] =
        (struct pages_key){d->id, d->name, d->prefix, d->scope, d->created_at, d->last_used};
}

static void on_linked(void *arg, const struct store_cred *c)
{
    struct account_rows *r = arg;
    if (r->n_linked == PAGES_MAX_ROWS)
        return;
    r->linked[r->n_linked] = *c;
    r->linked[r->n_linked++].sealed = NULL;
}

/* The per_user slots of the loaded backends, each with when the user
 * linked a value (rows->linked must be filled). */
static void collect_creds(struct account_rows *r)
{
    for (int i = 0; i < tool_backend_count(); i++) {
        const struct backend *b = tool_backend_at(i);
        for (int k = 0; k < b->n_creds && r->n_creds < PAGES_MAX_ROWS; k++) {
            const struct backend_cred *c = &b->creds[k];
            if (!c->per_user)
                continue;
            const char *linked_at = NULL;
            for (int l = 0; l < r->n_linked; l++)
                if (strcmp(r->linked[l].backend, b->name) == 0 &&
                    strcmp(r->linked[l].slot, c->slot) == 0)
                    linked_at = r->linked[l].updated_at;
            r->creds[r->n_creds++] =
                (struct pages_cred){b->name, c->slot, c->description, linked_at};
        }
    }
}

int oauth_page_user(struct oauth_ctx *ctx, struct store_user *u, const char *page)
{
    int s = oauth_web_user(ctx, u);
    if (s == 0) {
        char login[700];
        snprintf(login, sizeof login, "%s/login?return_to=%s%s", ctx->cfg->base_path,
                 ctx->cfg->base_path, page);
        oauth_see_other(ctx, login);
    }
    return s == 1;
}

void oauth_handle_account(struct oauth_ctx *ctx)
{
    struct store_user u;
    if (!oauth_page_get_only(ctx, "GET"))
        return;
    if (!oauth_page_user(ctx, &u, "/account"))
        return;
    struct account_rows *rows = xcalloc(1, sizeof *rows);
    char csrf[64], new_key[OAUTH_SECRET_LEN + 8] = "";
    if (oauth_csrf_token(ctx, csrf, sizeof csrf) < 0 ||
        store_user_apps(ctx->db, u.id, on_app, rows) != STORE_OK ||
        store_apikey_list(ctx->db, u.id, on_key, rows) != STORE_OK ||
        store_cred_list(ctx->db, u.id, on_linked, rows) != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    collect_creds(rows);
    if (collect_linked(ctx, &u, rows) < 0) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    int has_key = oauth_cookie(ctx, OAUTH_COOKIE_FLASH, new_key, sizeof new_key) == 0 &&
                  strncmp(new_key, OAUTH_APIKEY_PREFIX, strlen(OAUTH_APIKEY_PREFIX)) == 0;
    struct pages_account p = {
        .base = ctx->cfg->base_path,
        .csrf = csrf,
        .username = u.username,
        .new_key = has_key ? new_key : NULL,
        .apps = rows->apps,
        .n_apps = rows->n_apps,
        .keys = rows->keys,
        .n_keys = rows->n_keys,
        .creds = rows->creds,
        .n_creds = rows->n_creds,
        .creds_enabled = ctx->cfg->n_credential_keys > 0,
        .linked = rows->linked_rows,
        .n_linked = rows->n_linked_rows,
    };
    struct buf html = {0};
    oauth_send_rendered(ctx, 200, pages_account(&html, &p), &html);
    if (has_key)
        oauth_set_cookie(ctx, OAUTH_COOKIE_FLASH, "", 0, "account");
out:
    explicit_bzero(new_key, sizeof new_key);
    for (int i = 0; i < MG_MAX_IDPS; i++)
        buf_free(&rows->connect[i]);
    free(rows);
}

/* Reads a POST of the account page: form, CSRF, signed-in user. Returns 1
 * when the action may go ahead; otherwise the answer is in ctx->res. */
static int account_post(struct oauth_ctx *ctx, struct http_form *f, struct store_user *u)
{
    if (oauth_read_form(ctx, f) < 0)
        return 0;
    if (!oauth_csrf_ok(ctx, f)) {
        oauth_error_page(ctx, 403, "Forbidden", "The form expired; reload the page.");
        return 0;
    }
    return oauth_page_user(ctx, u, "/account");
}

static void back_to_account(struct oauth_ctx *ctx)
{
    char account[300];
    snprintf(account, sizeof account, "%s/account", ctx->cfg->base_path);
    oauth_see_other(ctx, account);
}

void oauth_handle_account_revoke(struct oauth_ctx *ctx)
{
    struct http_form f;
    struct store_user u;
    if (account_post(ctx, &f, &u)) {
        const char *client_id = http_form_get(&f, "client_id");
        int n = 0;
        if (!client_id || !*client_id)
            oauth_error_page(ctx, 400, "Bad request", "No application was named.");
        else if (store_families_revoke(ctx->db, u.id, client_id, &n) != STORE_OK)
            oauth_reply_unavailable(ctx->res);
        else {
            LOG_INFO("msg=\"application disconnected\" user=%s families=%d", u.username, n);
            back_to_account(ctx);
        }
    }
    http_form_free(&f);
}

void oauth_handle_account_key_create(struct oauth_ctx *ctx)
{
    struct http_form f;
    struct store_user u;
    if (account_post(ctx, &f, &u)) {
        const char *name = http_form_get(&f, "name");
        int read_only = http_form_get(&f, "read_only") != NULL;
        char key[OAUTH_SECRET_LEN + 8], hash[CRYPTO_SHA256_HEX_LEN + 1], prefix[12];
        long long id = 0;
        if (!name || !*name || strlen(name) > 100) {
            oauth_error_page(ctx, 400, "Bad request",
                             "Give the key a name of 1 to 100 characters.");
        } else {
            oauth_secret_new(OAUTH_APIKEY_PREFIX, key, sizeof key, hash);
            snprintf(prefix, sizeof prefix, "%.8s", key);
            if (store_apikey_create(ctx->db, u.id, name, hash, prefix,
                                    read_only ? OAUTH_SCOPE_READ : OAUTH_SCOPES_ALL,
                                    &id) != STORE_OK) {
                oauth_reply_unavailable(ctx->res);
            } else {
                LOG_INFO("msg=\"api key created\" user=%s key_id=%lld", u.username, id);
                back_to_account(ctx);
                /* shown once, on the page the 303 leads to */
                oauth_set_cookie(ctx, OAUTH_COOKIE_FLASH, key, 120, "account");
            }
            explicit_bzero(key, sizeof key);
        }
    }
    http_form_free(&f);
}

void oauth_handle_account_key_revoke(struct oauth_ctx *ctx)
{
    struct http_form f;
    struct store_user u;
    if (account_post(ctx, &f, &u)) {
        const char *id = http_form_get(&f, "key_id");
        char *end = NULL;
        long long kid = id ? strtoll(id, &end, 10) : 0;
        if (!id || !*id || *end || kid <= 0) {
            oauth_error_page(ctx, 400, "Bad request", "No key was named.");
        } else {
            enum store_rc rc = store_apikey_revoke(ctx->db, kid, u.id);
            if (rc == STORE_OK || rc == STORE_NOT_FOUND)
                back_to_account(ctx);
            else
                oauth_reply_unavailable(ctx->res);
        }
    }
    http_form_free(&f);
}

/* The per_user slot the form names, or NULL (an error page is the answer). */
static const struct backend_cred *form_slot(struct oauth_ctx *ctx, const struct http_form *f,
                                            const struct backend **be)
{
    const char *backend = http_form_get(f, "backend");
    const char *slot = http_form_get(f, "slot");
    *be = backend ? tool_backend_find(backend) : NULL;
    for (int i = 0; *be && slot && i < (*be)->n_creds; i++)
        if ((*be)->creds[i].per_user && strcmp((*be)->creds[i].slot, slot) == 0)
            return &(*be)->creds[i];
    oauth_error_page(ctx, 400, "Bad request",
                     "No credential of a service that takes your own token was named.");
    return NULL;
}

void oauth_handle_account_cred_link(struct oauth_ctx *ctx)
{
    struct http_form f;
    struct store_user u;
    if (account_post(ctx, &f, &u)) {
        const struct backend *be = NULL;
        const struct backend_cred *c = form_slot(ctx, &f, &be);
        const char *value = http_form_get(&f, "value");
        char *sealed = NULL;
        if (!c) {
            /* answered */
        } else if (ctx->cfg->n_credential_keys == 0) {
            oauth_error_page(ctx, 503, "Not available",
                             "Linking credentials is not available: the operator has not "
                             "configured a credential key.");
        } else if (!tool_cred_value_ok(value)) {
            oauth_error_page(ctx, 400, "Bad request",
                             "Paste the token as one line of 1 to 8192 characters.");
        } else if (!(sealed = tool_cred_seal(ctx->cfg->credential_keys, be->name, c->slot, u.id,
                                             value))) {
            oauth_error_page(ctx, 400, "Bad request", "The token is too long.");
        } else if (store_cred_put(ctx->db, be->name, c->slot, u.id, sealed,
                                  ctx->cfg->credential_keys[0].id) != STORE_OK) {
            oauth_reply_unavailable(ctx->res);
        } else {
            LOG_INFO("msg=\"credential linked\" user=%s backend=%s slot=%.64s", u.username,
                     be->name, c->slot);
            back_to_account(ctx);
        }
        free(sealed);
    }
    http_form_free(&f); /* clears the value */
}

void oauth_handle_account_linked_disconnect(struct oauth_ctx *ctx)
{
    struct http_form f;
    struct store_user u;
    if (account_post(ctx, &f, &u)) {
        const struct mg_idp *p = config_idp_find(ctx->cfg, http_form_get(&f, "provider"));
        int revoked = 0;
        if (!p)
            oauth_error_page(ctx, 400, "Bad request", "No identity provider here was named.");
        else if (oauth_idp_disconnect(ctx, u.id, p, &revoked) < 0)
            oauth_reply_unavailable(ctx->res);
        else
            back_to_account(ctx);
    }
    http_form_free(&f);
}

void oauth_handle_account_cred_unlink(struct oauth_ctx *ctx)
{
    struct http_form f;
    struct store_user u;
    if (account_post(ctx, &f, &u)) {
        const struct backend *be = NULL;
        const struct backend_cred *c = form_slot(ctx, &f, &be);
        if (c) {
            enum store_rc rc = store_cred_delete(ctx->db, be->name, c->slot, u.id);
            if (rc == STORE_OK || rc == STORE_NOT_FOUND) {
                if (rc == STORE_OK)
                    LOG_INFO("msg=\"credential unlinked\" user=%s backend=%s slot=%.64s",
                             u.username, be->name, c->slot);
                back_to_account(ctx);
            } else {
                oauth_reply_unavailable(ctx->res);
            }
        }
    }
    http_form_free(&f);
}
