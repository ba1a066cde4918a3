/*
 * oauth/admin.c - the admin console: {base}/admin (overview and charts),
 * {base}/admin/users (disable, enable, groups) and {base}/admin/audit (the
 * audit trail with filters).
 *
 * Also {base}/admin/keys, /admin/clients and /admin/policy: every API key,
 * OAuth client and policy rule, each revoked or removed with a confirmed
 * button, and a form that adds a rule (admin/key_revoke,
 * admin/client_revoke, admin/policy_add, admin/policy_remove).
 *
 * Who may see it: a browser signed in (the account pages' session) as an
 * enabled user with the admin role (`mcpgate user admin NAME`); signed out:
 * 303 to the sign-in page and back; signed in as anyone else: 403. Every
 * change is a POST with the CSRF token and confirm=yes (the page's Confirm
 * box), and writes an audit row naming the admin: tool "admin/user_disable",
 * "admin/user_enable", "admin/group_add" or "admin/group_remove", outcome ok,
 * detail saying what changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/form.h"
#include "oauth/admin.h"
#include "oauth/internal.h"
#include "pages/admin.h"
#include "store/admin.h"
#include "store/api_keys.h"
#include "store/audit.h"
#include "store/metrics.h"
#include "store/oauth_tokens.h"
#include "store/policy.h"
#include "store/users.h"
#include "util/alloc.h"
#include "util/crypto.h"
#include "util/log.h"

#define ADMIN_TOP_TOOLS  10
#define ADMIN_AUDIT_ROWS 100

int oauth_admin_require(struct oauth_ctx *ctx, struct store_user *u, const char *page)
{
    if (!oauth_page_user(ctx, u, page))
        return 0;
    int admin = 0;
    if (store_user_is_admin(ctx->db, u->id, &admin) != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
        return 0;
    }
    if (!admin) {
        LOG_INFO("msg=\"admin console refused: not an admin\" user=%s", u->username);
        oauth_error_page(ctx, 403, "Forbidden",
                         "The admin console is for users with the admin "
                         "role.");
        return 0;
    }
    return 1;
}

int oauth_admin_get_only(struct oauth_ctx *ctx)
{
    if (strcmp(ctx->req->method, "GET") == 0 || strcmp(ctx->req->method, "HEAD") == 0)
        return 1;
    oauth_error_page(ctx, 405, "Method not allowed", "Use GET.");
    oauth_header(ctx->res, "Allow", "GET, HEAD");
    return 0;
}

/* --- overview ------------------------------------------------------------ */

struct overview {
    struct pages_admin_overview p;
    char hour_keys[PAGES_ADMIN_HOURS][20]; /* "YYYY-MM-DD HH:00" of each slot */
    struct pages_admin_bar tools[ADMIN_TOP_TOOLS];
    char *tool_names[ADMIN_TOP_TOOLS];
    struct oauth_admin_stats stats; /* per backend, from the deployment's counters */
    struct pages_admin_latency latency[OAUTH_ADMIN_BACKENDS];
};

static void on_hour(void *arg, const char *hour, long long calls, long long errors)
{
    struct overview *o = arg;
    for (int i = 0; i < PAGES_ADMIN_HOURS; i++)
        if (strcmp(o->hour_keys[i], hour) == 0) {
            o->p.hours[i].calls = calls;
            o->p.hours[i].errors = errors;
        }
}

static void on_tool(void *arg, const char *tool, long long calls)
{
    struct overview *o = arg;
    if (o->p.n_tools >= ADMIN_TOP_TOOLS)
        return;
    o->tool_names[o->p.n_tools] = xstrdup(tool);
    o->tools[o->p.n_tools] = (struct pages_admin_bar){o->tool_names[o->p.n_tools], (double)calls};
    o->p.n_tools++;
}

static void fill_hours(struct overview *o)
{
    time_t now = time(NULL);
    for (int i = 0; i < PAGES_ADMIN_HOURS; i++) {
        time_t t = now - (time_t)(PAGES_ADMIN_HOURS - 1 - i) * 3600;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(o->hour_keys[i], sizeof o->hour_keys[i], "%Y-%m-%d %H:00", &tm);
        strftime(o->p.hours[i].label, sizeof o->p.hours[i].label, "%H:00", &tm);
    }
}

void oauth_handle_admin(struct oauth_ctx *ctx)
{
    struct store_user u;
    if (!oauth_admin_get_only(ctx) || !oauth_admin_require(ctx, &u, "/admin"))
        return;
    struct overview *o = xcalloc(1, sizeof *o);
    fill_hours(o);
    if (store_admin_hourly(ctx->db, on_hour, o) != STORE_OK ||
        store_admin_top_tools(ctx->db, ADMIN_TOP_TOOLS, on_tool, o) != STORE_OK ||
        store_metrics_sum(ctx->db, oauth_admin_stats_series, &o->stats) != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    for (int k = 0; k < o->stats.n; k++)
        o->latency[k] = (struct pages_admin_latency){o->stats.b[k].backend,
                                                     oauth_admin_quantile_ms(&o->stats.b[k], 0.5),
                                                     oauth_admin_quantile_ms(&o->stats.b[k], 0.99)};
    o->p.base = ctx->cfg->base_path;
    o->p.username = u.username;
    o->p.tools = o->tools;
    o->p.latency = o->latency;
    o->p.n_latency = o->stats.n;
    struct buf html = {0};
    oauth_send_rendered(ctx, 200, pages_admin_overview(&html, &o->p), &html);
out:
    for (int i = 0; i < o->p.n_tools; i++)
        free(o->tool_names[i]);
    free(o);
}

/* --- users --------------------------------------------------------------- */

struct user_rows {
    struct pages_admin_user *v;
    char **strings;
    int n, cap;
};

static char *keep(struct user_rows *r, int i, int k, const char *s)
{
    return r->strings[i * 3 + k] = xstrdup(s);
}

static void on_user(void *arg, const struct store_admin_user *u)
{
    struct user_rows *r = arg;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 32;
        r->v = xrealloc(r->v, (size_t)r->cap * sizeof *r->v);
        r->strings = xrealloc(r->strings, (size_t)r->cap * 3 * sizeof *r->strings);
    }
    int i = r->n++;
    r->v[i] = (struct pages_admin_user){keep(r, i, 0, u->username), keep(r, i, 1, u->created),
                                        keep(r, i, 2, u->groups), u->disabled, u->admin};
}

static void users_page(struct oauth_ctx *ctx, const struct store_user *u, const char *notice)
{
    struct user_rows r = {0};
    char csrf[64];
    if (oauth_csrf_token(ctx, csrf, sizeof csrf) < 0 ||
        store_admin_users(ctx->db, on_user, &r) != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
    } else {
        struct pages_admin_users p = {.base = ctx->cfg->base_path,
                                      .csrf = csrf,
                                      .username = u->username,
                                      .notice = notice,
                                      .users = r.v,
                                      .n_users = r.n};
        struct buf html = {0};
        oauth_send_rendered(ctx, 200, pages_admin_users(&html, &p), &html);
    }
    alloc_strv_free(r.strings, r.n * 3);
    free(r.v);
}

typedef void (*page_fn)(struct oauth_ctx *ctx, const struct store_user *u, const char *notice);

/* Answers a console GET of path: the page (show) for an admin, or the
 * refusal oauth_admin_get_only() or oauth_admin_require() wrote. */
static void admin_get(struct oauth_ctx *ctx, const char *path, page_fn show)
{
    struct store_user u;
    if (oauth_admin_get_only(ctx) && oauth_admin_require(ctx, &u, path))
        show(ctx, &u, NULL);
}

void oauth_handle_admin_users(struct oauth_ctx *ctx)
{
    admin_get(ctx, "/admin/users", users_page);
}

/* Reads a console POST: form, CSRF, the admin, confirm=yes. Returns 1 when
 * the change may go ahead; otherwise the answer is in ctx->res. */
static int admin_post(struct oauth_ctx *ctx, struct http_form *f, struct store_user *u,
                      const char *page)
{
    if (oauth_read_form(ctx, f) < 0)
        return 0;
    if (!oauth_csrf_ok(ctx, f)) {
        oauth_error_page(ctx, 403, "Forbidden", "The form expired; reload the page.");
        return 0;
    }
    if (!oauth_admin_require(ctx, u, page))
        return 0;
    const char *confirm = http_form_get(f, "confirm");
    if (!confirm || strcmp(confirm, "yes") != 0) {
        oauth_error_page(ctx, 400, "Not confirmed",
                         "Tick the Confirm box next to the change to make it.");
        return 0;
    }
    return 1;
}

/* The admin action's audit row. Returns 0, or -1 when it could not be
 * written (logged). */
static int audit_action(struct oauth_ctx *ctx, const struct store_user *admin, const char *tool,
                        const char *detail)
{
    char digest[65];
    crypto_sha256_hex(detail, strlen(detail), digest);
    struct store_audit_entry e = {.user_id = admin->id,
                                  .client_id = NULL,
                                  .tool = tool,
                                  .args_digest = digest,
                                  .outcome = "ok",
                                  .detail = detail,
                                  .duration_ms = 0,
                                  .request_id = ctx->req->request_id};
    if (store_audit_append(ctx->db, &e) != STORE_OK) {
        LOG_ERROR("msg=\"could not write the audit row of an admin action\" action=%s", tool);
        return -1;
    }
    return 0;
}

static int valid_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") == n;
}

/* Answers a change's outcome: its page (show) with a notice, or an error. */
static void after_change_on(struct oauth_ctx *ctx, const struct store_user *admin, enum store_rc rc,
                            const char *tool, const char *detail, const char *missing, page_fn show)
{
    if (rc == STORE_NOT_FOUND) {
        oauth_error_page(ctx, 404, "Not found", missing);
    } else if (rc != STORE_OK || audit_action(ctx, admin, tool, detail) < 0) {
        oauth_reply_unavailable(ctx->res);
    } else {
        LOG_INFO("msg=\"admin action\" admin=%s action=%s", admin->username, tool);
        show(ctx, admin, detail);
    }
}

static void after_change(struct oauth_ctx *ctx, const struct store_user *admin, enum store_rc rc,
                         const char *tool, const char *detail, const char *missing)
{
    after_change_on(ctx, admin, rc, tool, detail, missing, users_page);
}

void oauth_handle_admin_user_state(struct oauth_ctx *ctx)
{
    struct http_form f;
    struct store_user u;
    if (admin_post(ctx, &f, &u, "/admin/users")) {
        const char *user = http_form_get(&f, "user"), *action = http_form_get(&f, "action");
        int disable = action && strcmp(action, "disable") == 0;
        char detail[160];
        if (!valid_name(user) || !action || (!disable && strcmp(action, "enable") != 0)) {
            oauth_error_page(ctx, 400, "Bad request",
                             "Name a user and the action: disable or enable.");
        } else if (disable && strcmp(user, u.username) == 0) {
            oauth_error_page(ctx, 400, "Bad request", "You cannot disable yourself here.");
        } else {
            snprintf(detail, sizeof detail, "user %s %s", user, disable ? "disabled" : "enabled");
            after_change(ctx, &u, store_user_set_disabled(ctx->db, user, disable),
                         disable ? "admin/user_disable" : "admin/user_enable", detail,
                         "There is no such user.");
        }
    }
    http_form_free(&f);
}

void oauth_handle_admin_user_groups(struct oauth_ctx *ctx)
{
    struct http_form f;
    struct store_user u;
    if (admin_post(ctx, &f, &u, "/admin/users")) {
        const char *user = http_form_get(&f, "user"), *group = http_form_get(&f, "group");
        const char *op = http_form_get(&f, "op");
        int add = op && strcmp(op, "add") == 0;
        char detail[200];
        if (!valid_name(user) || !valid_name(group) || !op || (!add && strcmp(op, "remove") != 0)) {
            oauth_error_page(ctx, 400, "Bad request",
                             "Name a user, a group (1 to 64 of A-Z a-z 0-9 . _ @ -) and the "
                             "change: add or remove.");
        } else {
            snprintf(detail, sizeof detail, "user %s %s group %s", user,
                     add ? "added to" : "removed from", group);
            after_change(ctx, &u, store_group_member(ctx->db, group, user, add),
                         add ? "admin/group_add" : "admin/group_remove", detail,
                         add ? "There is no such user." : "The user is not in that group.");
        }
    }
    http_form_free(&f);
}

/* --- audit trail --------------------------------------------------------- */

struct audit_rows {
    struct pages_admin_audit_row v[ADMIN_AUDIT_ROWS];
    char *strings[ADMIN_AUDIT_ROWS * 7];
    int n;
};

static void on_audit(const struct store_audit_row *row, void *arg)
{
    struct audit_rows *r = arg;
    if (r->n >= ADMIN_AUDIT_ROWS)
        return;
    char **s = &r->strings[r->n * 7];
    const char *src[7] = {row->at,      row->user,   row->client_id,  row->tool,
                          row->outcome, row->detail, row->duration_ms};
    for (int k = 0; k < 7; k++)
        s[k] = xstrdup(src[k]);
    r->v[r->n++] = (struct pages_admin_audit_row){s[0], s[1], s[2], s[3], s[4], s[5], s[6]};
}

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

void oauth_handle_admin_audit(struct oauth_ctx *ctx)
{
    struct store_user u;
    if (!oauth_admin_get_only(ctx) || !oauth_admin_require(ctx, &u, "/admin/audit"))
        return;
    struct http_form q;
    struct mg_error err = MG_ERROR_INIT;
    if (oauth_query(ctx, &q, &err) < 0) {
        oauth_error_page(ctx, 400, "Bad request", err.msg);
        return;
    }
    struct pages_admin_audit p = {
        .base = ctx->cfg->base_path,
        .username = u.username,
        .f_user = nonempty(http_form_get(&q, "user")),
        .f_tool = nonempty(http_form_get(&q, "tool")),
        .f_outcome = nonempty(http_form_get(&q, "outcome")),
        .f_since = nonempty(http_form_get(&q, "since")),
    };
    static const char *const outcomes[] = {"ok", "error", "refused", "cancelled"};
    int outcome_ok = !p.f_outcome;
    for (size_t i = 0; i < sizeof outcomes / sizeof outcomes[0]; i++)
        outcome_ok |= p.f_outcome && strcmp(p.f_outcome, outcomes[i]) == 0;
    struct audit_rows *rows = xcalloc(1, sizeof *rows);
    int status = 200;
    if (!outcome_ok || (p.f_user && !valid_name(p.f_user)) ||
        (p.f_tool && strlen(p.f_tool) > 128) || (p.f_since && strlen(p.f_since) > 64)) {
        status = 400;
        p.error = "A filter is not valid: a user name, a tool name (at most 128 characters), "
                  "one of the outcomes, a time.";
    } else {
        struct store_audit_filter f = {.username = p.f_user,
                                       .tool = p.f_tool,
                                       .outcome = p.f_outcome,
                                       .since = p.f_since,
                                       .limit = ADMIN_AUDIT_ROWS};
        enum store_rc rc = store_audit_query(ctx->db, &f, on_audit, rows);
        if (rc == STORE_ERROR && p.f_since) {
            status = 400;
            p.error = "Since is not a time PostgreSQL understands (e.g. 2026-12-06 18:00).";
        } else if (rc != STORE_OK) {
            oauth_reply_unavailable(ctx->res);
            goto out;
        }
    }
    p.rows = rows->v;
    p.n_rows = rows->n;
    struct buf html = {0};
    oauth_send_rendered(ctx, status, pages_admin_audit(&html, &p), &html);
out:
    for (int i = 0; i < rows->n * 7; i++)
        free(rows->strings[i]);
    free(rows);
    http_form_free(&q);
}

/* --- API keys, OAuth clients, policy rules -------------------------------- */

struct table_rows {
    int n_cols, n, cap;
    char **cells;  /* n * n_cols */
    char **values; /* n */
};

static void rows_add(struct table_rows *t, const char *value, const char *const *cells)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->cells = xrealloc(t->cells, (size_t)(t->cap * t->n_cols) * sizeof *t->cells);
        t->values = xrealloc(t->values, (size_t)t->cap * sizeof *t->values);
    }
    for (int c = 0; c < t->n_cols; c++)
        t->cells[t->n * t->n_cols + c] = xstrdup(cells[c]);
    t->values[t->n++] = xstrdup(value);
}

static void rows_free(struct table_rows *t)
{
    alloc_strv_free(t->cells, t->n * t->n_cols);
    alloc_strv_free(t->values, t->n);
}

static void on_key_row(void *arg, const struct store_api_key *k)
{
    char id[24], prefix[32];
    snprintf(id, sizeof id, "%lld", k->id);
    snprintf(prefix, sizeof prefix, "%s...", k->prefix);
    const char *cells[] = {id,
                           k->username,
                           k->name,
                           prefix,
                           k->scope,
                           k->created_at,
                           k->last_used[0] ? k->last_used : "never"};
    rows_add(arg, id, cells);
}

static void on_client_row(void *arg, const struct store_client *cl)
{
    const char *cells[] = {cl->client_id, cl->kind, cl->name, cl->auth_method, cl->created_at};
    rows_add(arg, cl->client_id, cells);
}

/* The value of a connected app's row: "USER_ID CLIENT_ID". */
static void on_app_row(void *arg, const struct store_admin_app *a)
{
    char value[2100];
    snprintf(value, sizeof value, "%lld %s", a->user_id, a->client_id);
    const char *cells[] = {
        a->username, a->name, a->client_id, a->scope, a->last_used[0] ? a->last_used : "never",
        a->since};
    rows_add(arg, value, cells);
}

static void on_rule_row(const struct store_policy_row *r, void *arg)
{
    const char *cells[] = {r->id, r->subject, r->effect, r->pattern, r->created_at};
    rows_add(arg, r->id, cells);
}

/* One of the three list pages (what: 'k', 'c' or 'p'), with notice. */
static void table_page(struct oauth_ctx *ctx, const struct store_user *u, const char *notice,
                       char what)
{
    static const char *const key_cols[] = {"ID",     "User",    "Name",     "Key",
                                           "Access", "Created", "Last used"};
    static const char *const client_cols[] = {"Client", "Kind", "Name", "Authentication",
                                              "Registered"};
    static const char *const rule_cols[] = {"ID", "Applies to", "Effect", "Pattern", "Added"};
    static const char *const app_cols[] = {"User",   "Application", "Client",
                                           "Access", "Last used",   "Since"};
    struct pages_admin_table p = {
        .base = ctx->cfg->base_path, .username = u->username, .notice = notice};
    struct table_rows t = {0};
    enum store_rc rc;
    if (what == 'k') {
        p.path = "/admin/keys", p.title = "API keys", p.id = "keys", p.columns = key_cols;
        p.n_cols = 7, p.action = "/admin/keys/revoke", p.action_field = "key_id";
        p.action_label = "Revoke", p.intro = "Every live personal API key.";
        t.n_cols = 7;
        rc = store_apikey_list(ctx->db, 0, on_key_row, &t);
    } else if (what == 'c') {
        p.path = "/admin/clients", p.title = "OAuth clients", p.id = "clients";
        p.columns = client_cols, p.n_cols = 5, p.action = "/admin/clients/revoke";
        p.action_field = "client_id", p.action_label = "Revoke";
        p.intro = "Revoking a client ends every token it holds, for every user.";
        t.n_cols = 5;
        rc = store_client_list(ctx->db, on_client_row, &t);
    } else if (what == 'a') {
        p.path = "/admin/apps", p.title = "Connected apps", p.id = "apps";
        p.columns = app_cols, p.n_cols = 6, p.action = "/admin/apps/revoke";
        p.action_field = "app", p.action_label = "Disconnect";
        p.intro = "Each user's applications with live tokens; disconnecting one revokes its "
                  "tokens for that user and forgets the consent.";
        t.n_cols = 6;
        rc = store_admin_apps(ctx->db, on_app_row, &t);
    } else {
        p.path = "/admin/policy", p.title = "Policy", p.id = "rules", p.columns = rule_cols;
        p.n_cols = 5, p.action = "/admin/policy/remove", p.action_field = "rule_id";
        p.action_label = "Remove", p.policy_form = 1;
        t.n_cols = 5;
        rc = store_policy_list(ctx->db, NULL, on_rule_row, &t);
    }
    char csrf[64];
    if (rc != STORE_OK || oauth_csrf_token(ctx, csrf, sizeof csrf) < 0) {
        oauth_reply_unavailable(ctx->res);
    } else {
        p.csrf = csrf;
        p.cells = (const char *const *)t.cells;
        p.values = (const char *const *)t.values;
        p.n_rows = t.n;
        struct buf html = {0};
        oauth_send_rendered(ctx, 200, pages_admin_table(&html, &p), &html);
    }
    rows_free(&t);
}

static void keys_page(struct oauth_ctx *ctx, const struct store_user *u, const char *notice)
{
    table_page(ctx, u, notice, 'k');
}

static void clients_page(struct oauth_ctx *ctx, const struct store_user *u, const char *notice)
{
    table_page(ctx, u, notice, 'c');
}

static void apps_page(struct oauth_ctx *ctx, const struct store_user *u, const char *notice)
{
    table_page(ctx, u, notice, 'a');
}

void oauth_handle_admin_apps(struct oauth_ctx *ctx)
{
    admin_get(ctx, "/admin/apps", apps_page);
}

void oauth_handle_admin_app_revoke(struct oauth_ctx *ctx)
{
    struct http_form f;
    struct store_user u;
    if (admin_post(ctx, &f, &u, "/admin/apps")) {
        const char *v = http_form_get(&f, "app");
        const char *sp = v ? strchr(v, ' ') : NULL;
        char uid[24] = "", detail[300];
        if (sp && sp > v && (size_t)(sp - v) < sizeof uid)
            snprintf(uid, sizeof uid, "%.*s", (int)(sp - v), v);
        long long user_id = uid[0] && strspn(uid, "0123456789") == strlen(uid) ? atoll(uid) : 0;
        int n = 0;
        if (user_id <= 0 || !sp[1] || strlen(sp + 1) > 2048) {
            oauth_error_page(ctx, 400, "Bad request", "Name the user and the client.");
        } else {
            enum store_rc rc = store_families_revoke(ctx->db, user_id, sp + 1, &n);
            snprintf(detail, sizeof detail, "client %.200s disconnected from user %lld (%d)",
                     sp + 1, user_id, n);
            after_change_on(ctx, &u, rc == STORE_OK && n == 0 ? STORE_NOT_FOUND : rc,
                            "admin/app_revoke", detail, "The user has no such connection.",
                            apps_page);
        }
    }
    http_form_free(&f);
}

static void policy_page(struct oauth_ctx *ctx, const struct store_user *u, const char *notice)
{
    table_page(ctx, u, notice, 'p');
}

void oauth_handle_admin_keys(struct oauth_ctx *ctx)
{
    admin_get(ctx, "/admin/keys", keys_page);
}

void oauth_handle_admin_clients(struct oauth_ctx *ctx)
{
    admin_get(ctx, "/admin/clients", clients_page);
}

void oauth_handle_admin_policy(struct oauth_ctx *ctx)
{
    admin_get(ctx, "/admin/policy", policy_page);
}

/* A positive decimal id from field, or 0. */
static long long form_id(const struct http_form *f, const char *field)
{
    const char *s = http_form_get(f, field);
    if (!s || !*s || strlen(s) > 18 || strspn(s, "0123456789") != strlen(s))
        return 0;
    return atoll(s);
}

void oauth_handle_admin_key_revoke(struct oauth_ctx *ctx)
{
    struct http_form f;
    struct store_user u;
    if (admin_post(ctx, &f, &u, "/admin/keys")) {
        long long id = form_id(&f, "key_id");
        char detail[80];
        snprintf(detail, sizeof detail, "API key %lld revoked", id);
        if (id <= 0)
            oauth_error_page(ctx, 400, "Bad request", "Name the key by its id.");
        else
            after_change_on(ctx, &u, store_apikey_revoke(ctx->db, id, 0), "admin/key_revoke",
                            detail, "There is no such live key.", keys_page);
    }
    http_form_free(&f);
}

void oauth_handle_admin_client_revoke(struct oauth_ctx *ctx)
{
    struct http_form f;
    struct store_user u;
    if (admin_post(ctx, &f, &u, "/admin/clients")) {
        const char *id = http_form_get(&f, "client_id");
        char detail[300];
        if (!id || !*id || strlen(id) > 2048) {
            oauth_error_page(ctx, 400, "Bad request", "Name the client by its client_id.");
        } else {
            snprintf(detail, sizeof detail, "client %.200s revoked", id);
            after_change_on(ctx, &u, store_client_revoke(ctx->db, id), "admin/client_revoke",
                            detail, "There is no such client.", clients_page);
        }
    }
    http_form_free(&f);
}

/* Tells the live sessions of user (NULL: every one) that their tools
 * changed; a failure only delays what they see (logged). */
static void tools_changed(struct oauth_ctx *ctx, const char *user)
{
    int n = 0;
    if (store_tools_changed(ctx->db, user, &n) != STORE_OK)
        LOG_WARN("msg=\"could not tell sessions that their tools changed\"");
}

void oauth_handle_admin_policy_remove(struct oauth_ctx *ctx)
{
    struct http_form f;
    struct store_user u;
    if (admin_post(ctx, &f, &u, "/admin/policy")) {
        long long id = form_id(&f, "rule_id"), uid = 0;
        char detail[80];
        snprintf(detail, sizeof detail, "policy rule %lld removed", id);
        enum store_rc rc = id > 0 ? store_policy_remove(ctx->db, id, &uid) : STORE_ERROR;
        if (id <= 0) {
            oauth_error_page(ctx, 400, "Bad request", "Name the rule by its id.");
        } else {
            if (rc == STORE_OK)
                tools_changed(ctx, NULL);
            after_change_on(ctx, &u, rc, "admin/policy_remove", detail, "There is no such rule.",
                            policy_page);
        }
    }
    http_form_free(&f);
}

static int valid_pattern(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= 128 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-*?") == n;
}

void oauth_handle_admin_policy_add(struct oauth_ctx *ctx)
{
    struct http_form f;
    struct store_user u;
    if (admin_post(ctx, &f, &u, "/admin/policy")) {
        const char *effect = http_form_get(&f, "effect"), *kind = http_form_get(&f, "kind");
        const char *name = http_form_get(&f, "name"), *pattern = http_form_get(&f, "pattern");
        int everyone = kind && strcmp(kind, "everyone") == 0;
        int user = kind && strcmp(kind, "user") == 0, group = kind && strcmp(kind, "group") == 0;
        if (!effect || (strcmp(effect, "allow") != 0 && strcmp(effect, "deny") != 0) ||
            !(everyone || user || group) || (!everyone && !valid_name(name)) ||
            !valid_pattern(pattern)) {
            oauth_error_page(ctx, 400, "Bad request",
                             "A rule needs grant or deny, a user, a group or everyone, and a "
                             "pattern: a tool name with * and ? wildcards (letters, digits, _ . "
                             "-), at most 128 characters.");
        } else {
            long long id = 0;
            char detail[300];
            enum store_rc rc = store_policy_add(ctx->db, user ? name : NULL, group ? name : NULL,
                                                effect, pattern, &id);
            snprintf(detail, sizeof detail, "policy rule %lld added: %s %s%s%s %s", id,
                     effect[0] == 'a' ? "grant" : "deny", kind, everyone ? "" : " ",
                     everyone ? "" : name, pattern);
            if (rc == STORE_OK)
                tools_changed(ctx, user ? name : NULL);
            after_change_on(ctx, &u, rc, "admin/policy_add", detail,
                            "There is no such user or group.", policy_page);
        }
    }
    http_form_free(&f);
}
