/*
 * pages/pages.c - the HTML of the sign-in, consent, account and error pages.
 *
 * Templates use {{name}} for a value that is escaped and {{{name}}} for a
 * fragment this file built itself (already escaped).
 */
#include "pages/pages.h"

#include <stdio.h>
#include <string.h>

struct var {
    const char *name;
    const char *value; /* NULL renders as "" */
    int raw;
};

static const char head[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<meta name=\"referrer\" content=\"no-referrer\">"
    "<title>{{title}} - mcpgate</title><style>"
    "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}"
    "main{max-width:34rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;"
    "box-shadow:0 1px 4px rgba(0,0,0,.12)}"
    "h1{font-size:1.4rem;margin-top:0}label{display:block;margin:.8rem 0 .2rem}"
    "input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;"
    "font-size:1rem}button{padding:.5rem 1.1rem;font-size:1rem;margin:1rem .5rem 0 0;"
    "cursor:pointer}.primary{background:#1f5fd1;color:#fff;border:0;border-radius:4px}"
    ".error{color:#a4000f;background:#fde8ea;padding:.5rem;border-radius:4px}"
    ".notice{background:#e8f2fd;padding:.5rem;border-radius:4px}"
    ".warn{color:#7a4b00;background:#fff4dc;padding:.5rem;border-radius:4px}"
    "code{background:#eef;padding:.1rem .3rem;word-break:break-all}"
    "table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem;"
    "border-bottom:1px solid #ddd;vertical-align:top}small{color:#555}"
    "form.inline{display:inline}form.inline button{margin:0}"
    /* pages with tables: wider, a date or a button never broken over lines, long
     * ids broken anywhere, and a table scrolls sideways rather than overflow */
    "main.wide{max-width:56rem}.table{overflow-x:auto}"
    "th,td.date,td.status,td.actions{white-space:nowrap}td small{overflow-wrap:anywhere}"
    "td code{word-break:normal;white-space:nowrap}"
    /* the admin console: a change's fields on one line; the audit filters in a row */
    "form.admin-action{display:block;margin:.2rem 0;white-space:nowrap}"
    "form.admin-action label{display:inline;margin:0 .3rem}form.admin-action button{margin:0}"
    "form.admin-action input[type=text],#audit-filter input[type=text]{width:8rem}"
    "#audit-filter label{display:inline-block;margin:0 .6rem .4rem 0}"
    "</style></head><body><main{{{main_class}}}>\n";

static const char tail[] = "\n</main></body></html>\n";

static int render(struct buf *out, const char *tmpl, const struct var *vars, size_t n)
{
    const char *p = tmpl;
    while (*p) {
        const char *open = strstr(p, "{{");
        if (!open)
            return buf_puts(out, p);
        if (buf_append(out, p, (size_t)(open - p)) < 0)
            return -1;
        int raw = open[2] == '{';
        const char *name = open + (raw ? 3 : 2);
        const char *close = strstr(name, raw ? "}}}" : "}}");
        if (!close)
            return -1;
        size_t len = (size_t)(close - name);
        const struct var *v = NULL;
        for (size_t i = 0; i < n && !v; i++)
            if (strlen(vars[i].name) == len && strncmp(vars[i].name, name, len) == 0)
                v = &vars[i];
        if (v && v->value && (raw ? buf_puts(out, v->value) : pages_escape(out, v->value)) < 0)
            return -1;
        p = close + (raw ? 3 : 2);
    }
    return 0;
}

int pages_escape(struct buf *out, const char *s)
{
    for (; *s; s++) {
        const char *e = NULL;
        switch (*s) {
        case '&':
            e = "&amp;";
            break;
        case '<':
            e = "&lt;";
            break;
        case '>':
            e = "&gt;";
            break;
        case '"':
            e = "&quot;";
            break;
        case '\'':
            e = "&#39;";
            break;
        default:
            break;
        }
        if (e ? buf_puts(out, e) < 0 : buf_append(out, s, 1) < 0)
            return -1;
    }
    return 0;
}

int pages_wrap(struct buf *out, const char *open, const char *text, const char *close)
{
    if (!text)
        return 0;
    return buf_puts(out, open) || pages_escape(out, text) || buf_puts(out, close) ? -1 : 0;
}

/* A page in the shared layout; wide for pages with tables (the account
 * page). Returns 0 or -1 (out of buffer space). */
static int page_layout(struct buf *out, const char *title, const char *body, const struct var *vars,
                       size_t n, int wide)
{
    struct var t[] = {{"title", title, 0}, {"main_class", wide ? " class=\"wide\"" : "", 1}};
    if (render(out, head, t, 2) < 0 || render(out, body, vars, n) < 0)
        return -1;
    return buf_puts(out, tail);
}

int pages_layout(struct buf *out, const char *title, const char *body_html)
{
    struct var v[] = {{"body", body_html, 1}};
    return page_layout(out, title, "{{{body}}}", v, 1, 1);
}

static int page(struct buf *out, const char *title, const char *body, const struct var *vars,
                size_t n)
{
    return page_layout(out, title, body, vars, n, 0);
}

static const char login_body[] = "<h1>Sign in to mcpgate</h1>\n"
                                 "{{{error}}}"
                                 "{{{providers}}}"
                                 "{{{form}}}";

static const char login_provider[] = "<p><a class=\"idp\" id=\"idp-{{name}}\" href=\"{{href}}\">"
                                     "Sign in with {{name}}</a></p>\n";

static const char login_form[] =
    "<form method=\"post\" action=\"{{action}}\">\n"
    "<input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">\n"
    "<input type=\"hidden\" name=\"return_to\" value=\"{{return_to}}\">\n"
    "<label for=\"username\">User name</label>"
    "<input type=\"text\" id=\"username\" name=\"username\" value=\"{{username}}\" "
    "autocomplete=\"username\" autocapitalize=\"none\" required maxlength=\"64\">\n"
    "<label for=\"password\">Password</label>"
    "<input type=\"password\" id=\"password\" name=\"password\" "
    "autocomplete=\"current-password\" required maxlength=\"1024\">\n"
    "<button class=\"primary\" type=\"submit\" id=\"signin\">Sign in</button>\n"
    "</form>";

int pages_login(struct buf *out, const struct pages_login *p)
{
    struct buf err = {0};
    int rc = pages_wrap(&err, "<p class=\"error\" role=\"alert\">", p->error, "</p>\n");
    struct buf providers = {0}, form = {0};
    for (int i = 0; i < p->n_providers && rc == 0; i++) {
        struct var pv[] = {{"name", p->providers[i].name, 0}, {"href", p->providers[i].value, 0}};
        rc = render(&providers, login_provider, pv, 2);
    }
    struct var v[] = {
        {"error", buf_str(&err), 1},    {"action", p->action, 0},     {"csrf", p->csrf, 0},
        {"return_to", p->return_to, 0}, {"username", p->username, 0},
    };
    if (rc == 0 && p->local)
        rc = render(&form, login_form, v, sizeof v / sizeof v[0]);
    struct var body[] = {
        {"error", buf_str(&err), 1},
        {"providers", buf_str(&providers), 1},
        {"form", buf_str(&form), 1},
    };
    if (rc == 0)
        rc = page(out, "Sign in", login_body, body, sizeof body / sizeof body[0]);
    buf_free(&err);
    buf_free(&providers);
    buf_free(&form);
    return rc ? -1 : 0;
}

static const char consent_body[] =
    "<h1>Allow access?</h1>\n"
    "<p><strong id=\"client-name\">{{client_name}}</strong> wants to use {{{connector}}} "
    "as <strong>{{username}}</strong>.</p>\n"
    "<p><small>Client: <code>{{client_id}}</code>{{{cimd}}}</small></p>\n"
    "<p>After you decide, your browser goes to <strong id=\"redirect-host\">{{redirect_host}}"
    "</strong>.</p>\n"
    "{{{localhost}}}"
    "<p>It asks to:</p><ul id=\"scopes\">{{{scopes}}}</ul>\n"
    "<form method=\"post\" action=\"{{action}}\">\n"
    "<input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">\n"
    "{{{hidden}}}"
    "{{{readonly}}}"
    "<button class=\"primary\" type=\"submit\" name=\"decision\" value=\"allow\" id=\"allow\">"
    "Allow</button>"
    "<button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button>\n"
    "</form>\n"
    "<p><small>The name above is what the application says about itself. Only allow "
    "applications you trust.</small></p>";

int pages_consent(struct buf *out, const struct pages_consent *p)
{
    struct buf scopes = {0}, hidden = {0};
    int rc = 0;
    for (int i = 0; i < p->n_scopes && rc == 0; i++)
        rc = buf_puts(&scopes, "<li>") || pages_escape(&scopes, p->scopes[i].value) ||
             buf_puts(&scopes, " <small><code>") || pages_escape(&scopes, p->scopes[i].name) ||
             buf_puts(&scopes, "</code></small></li>");
    for (int i = 0; i < p->n_hidden && rc == 0; i++)
        rc = buf_puts(&hidden, "<input type=\"hidden\" name=\"") ||
             pages_escape(&hidden, p->hidden[i].name) || buf_puts(&hidden, "\" value=\"") ||
             pages_escape(&hidden, p->hidden[i].value) || buf_puts(&hidden, "\">\n");
    struct buf connector = {0};
    if (rc == 0 && p->connector_title)
        rc = buf_puts(&connector, "the tools of the connector <strong id=\"connector\">") ||
             pages_escape(&connector, p->connector_title) ||
             buf_puts(&connector, "</strong> (<code id=\"connector-path\">") ||
             pages_escape(&connector, p->connector_path ? p->connector_path : "") ||
             buf_puts(&connector, "</code>) of mcpgate");
    else if (rc == 0)
        rc = buf_puts(&connector, "mcpgate's tools");
    struct var v[] = {
        {"connector", buf_str(&connector), 1},
        {"client_name", p->client_name, 0},
        {"username", p->username, 0},
        {"client_id", p->client_id, 0},
        {"cimd", p->cimd ? " (its published metadata document)" : "", 1},
        {"redirect_host", p->redirect_host, 0},
        {"localhost",
         p->localhost_only ? "<p class=\"warn\">This application receives the answer on this "
                             "computer (localhost). Allow only if you started it yourself.</p>\n"
                           : "",
         1},
        {"scopes", buf_str(&scopes), 1},
        {"action", p->action, 0},
        {"csrf", p->csrf, 0},
        {"hidden", buf_str(&hidden), 1},
        {"readonly",
         p->offers_read_only ? "<label><input type=\"checkbox\" name=\"read_only\" value=\"1\" "
                               "id=\"read-only\"> Allow read-only tools only</label>\n"
                             : "",
         1},
    };
    if (rc == 0)
        rc = page(out, "Allow access", consent_body, v, sizeof v / sizeof v[0]);
    buf_free(&connector);
    buf_free(&scopes);
    buf_free(&hidden);
    return rc ? -1 : 0;
}

static const char account_body[] =
    "<h1>Your account</h1>\n"
    "<p>Signed in as <strong id=\"username\">{{username}}</strong>.</p>\n"
    "<form method=\"post\" action=\"{{base}}/logout\" class=\"inline\">"
    "<input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">"
    "<button type=\"submit\" id=\"logout\">Sign out</button></form>\n"
    "{{{notice}}}{{{new_key}}}"
    "<h2>Connected applications</h2>\n{{{apps}}}{{{linked}}}{{{creds}}}"
    "<h2>API keys</h2>\n"
    "<p><small>For clients that send a fixed header, e.g. <code>Authorization: Bearer "
    "&lt;key&gt;</code> (Claude Code, scripts, mcp-remote --header).</small></p>\n"
    "{{{keys}}}"
    "<form method=\"post\" action=\"{{base}}/account/keys\">\n"
    "<input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">\n"
    "<label for=\"key-name\">New key name</label>"
    "<input type=\"text\" id=\"key-name\" name=\"name\" required maxlength=\"100\">\n"
    "<label><input type=\"checkbox\" name=\"read_only\" value=\"1\"> Read-only tools only"
    "</label>\n"
    "<button type=\"submit\" id=\"create-key\">Create key</button>\n"
    "</form>";

/* A one-button POST form. */
static int button_form(struct buf *b, const char *base, const char *action, const char *csrf,
                       const char *field, const char *value, const char *label, const char *id)
{
    return buf_puts(b, "<form method=\"post\" class=\"inline\" action=\"") ||
           pages_escape(b, base) || buf_puts(b, action) ||
           buf_puts(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"") ||
           pages_escape(b, csrf) || buf_puts(b, "\"><input type=\"hidden\" name=\"") ||
           buf_puts(b, field) || buf_puts(b, "\" value=\"") || pages_escape(b, value) ||
           buf_puts(b, "\"><button type=\"submit\" data-id=\"") || pages_escape(b, id) ||
           buf_puts(b, "\">") || buf_puts(b, label) || buf_puts(b, "</button></form>");
}

static int account_apps(struct buf *b, const struct pages_account *p)
{
    if (p->n_apps == 0)
        return buf_puts(b, "<p id=\"no-apps\">No application is connected.</p>\n");
    int rc = buf_puts(b, "<div class=\"table\"><table id=\"apps\"><tr><th>Application</th>"
                         "<th>Access</th><th>Last used</th><th></th></tr>\n");
    for (int i = 0; i < p->n_apps && rc == 0; i++) {
        const struct pages_app *a = &p->apps[i];
        rc = buf_puts(b, "<tr class=\"app\"><td>") || pages_escape(b, a->name) ||
             buf_puts(b, "<br><small>") || pages_escape(b, a->client_id) ||
             buf_puts(b, "</small></td><td>") || pages_escape(b, a->scope) ||
             buf_puts(b, "</td><td class=\"date\">") ||
             pages_escape(b, a->last_used[0] ? a->last_used : "never") ||
             buf_puts(b, "</td><td class=\"actions\">") ||
             button_form(b, p->base, "/account/revoke", p->csrf, "client_id", a->client_id,
                         "Disconnect", a->client_id) ||
             buf_puts(b, "</td></tr>\n");
    }
    return rc || buf_puts(b, "</table></div>\n");
}

static int account_keys(struct buf *b, const struct pages_account *p)
{
    if (p->n_keys == 0)
        return buf_puts(b, "<p id=\"no-keys\">You have no API keys.</p>\n");
    int rc = buf_puts(b, "<div class=\"table\"><table id=\"keys\"><tr><th>Name</th>"
                         "<th>Access</th><th>Created</th><th>Last used</th><th></th></tr>\n");
    for (int i = 0; i < p->n_keys && rc == 0; i++) {
        const struct pages_key *k = &p->keys[i];
        char id[24];
        snprintf(id, sizeof id, "%lld", k->id);
        rc = buf_puts(b, "<tr class=\"key\"><td>") || pages_escape(b, k->name) ||
             buf_puts(b, "<br><small><code>") || pages_escape(b, k->prefix) ||
             buf_puts(b, "...</code></small></td><td>") || pages_escape(b, k->scope) ||
             buf_puts(b, "</td><td class=\"date\">") || pages_escape(b, k->created) ||
             buf_puts(b, "</td><td class=\"date\">") ||
             pages_escape(b, k->last_used[0] ? k->last_used : "never") ||
             buf_puts(b, "</td><td class=\"actions\">") ||
             button_form(b, p->base, "/account/keys/revoke", p->csrf, "key_id", id, "Revoke", id) ||
             buf_puts(b, "</td></tr>\n");
    }
    return rc || buf_puts(b, "</table></div>\n");
}

/* Linked accounts at identity providers, each with Disconnect. */
static int account_linked(struct buf *b, const struct pages_account *p)
{
    if (p->n_linked == 0)
        return 0;
    int rc = buf_puts(b, "<h2>Linked accounts</h2>\n"
                         "<p><small>Tools act as you at these services with the tokens of "
                         "your sign-in there. Disconnect revokes them at the service (where it "
                         "offers that) and forgets them here; sign in there again to "
                         "reconnect.</small></p>\n"
                         "<div class=\"table\"><table id=\"linked\"><tr><th>Service</th>"
                         "<th>Signed in or renewed</th><th></th></tr>\n");
    for (int i = 0; i < p->n_linked && rc == 0; i++) {
        const struct pages_linked *l = &p->linked[i];
        struct buf id = {0};
        rc = buf_puts(&id, "disconnect:") || buf_puts(&id, l->provider);
        if (rc == 0 && !l->since) /* not linked yet: Connect */
            rc = buf_puts(b, "<tr class=\"linked\"><td>") || pages_escape(b, l->provider) ||
                 buf_puts(b, "</td><td>not linked</td><td class=\"actions\"><a id=\"connect-") ||
                 pages_escape(b, l->provider) || buf_puts(b, "\" href=\"") ||
                 pages_escape(b, l->connect) || buf_puts(b, "\">Connect</a></td></tr>\n");
        else
            rc = rc || buf_puts(b, "<tr class=\"linked\" id=\"linked-") ||
                 pages_escape(b, l->provider) || buf_puts(b, "\"><td>") ||
                 pages_escape(b, l->provider) || buf_puts(b, "</td><td class=\"date\">") ||
                 pages_escape(b, l->since) || buf_puts(b, "</td><td class=\"actions\">") ||
                 button_form(b, p->base, "/account/linked/disconnect", p->csrf, "provider",
                             l->provider, "Disconnect", buf_str(&id)) ||
                 buf_puts(b, "</td></tr>\n");
        buf_free(&id);
    }
    return rc || buf_puts(b, "</table></div>\n");
}

/* The hidden fields that name one credential slot. */
static int cred_fields(struct buf *b, const struct pages_account *p, const struct pages_cred *c)
{
    return buf_puts(b, "<input type=\"hidden\" name=\"csrf\" value=\"") ||
           pages_escape(b, p->csrf) ||
           buf_puts(b, "\"><input type=\"hidden\" name=\"backend\" value=\"") ||
           pages_escape(b, c->backend) ||
           buf_puts(b, "\"><input type=\"hidden\" name=\"slot\" value=\"") ||
           pages_escape(b, c->slot) || buf_puts(b, "\">");
}

/* Linked credentials: per backend slot, linked or not, and the forms to
 * link (a password field: the value is never shown) and unlink. */
static int account_creds(struct buf *b, const struct pages_account *p)
{
    if (p->n_creds == 0)
        return 0;
    int rc = buf_puts(b, "<h2>Linked credentials</h2>\n"
                         "<p><small>Some tools act with your own account at another service: "
                         "link your API token for it here. It is stored encrypted, sent only "
                         "to that service, and never shown again.</small></p>\n");
    if (rc == 0 && !p->creds_enabled)
        rc = buf_puts(b, "<p class=\"warn\" id=\"creds-off\">Linking is not available: the "
                         "operator has not configured a credential key.</p>\n");
    rc = rc || buf_puts(b, "<div class=\"table\"><table id=\"creds\"><tr><th>Service</th>"
                           "<th>Credential</th><th>Status</th><th></th></tr>\n");
    for (int i = 0; i < p->n_creds && rc == 0; i++) {
        const struct pages_cred *c = &p->creds[i];
        struct buf id = {0};
        rc = buf_puts(&id, c->backend) || buf_puts(&id, "/") || buf_puts(&id, c->slot);
        rc = rc || buf_puts(b, "<tr class=\"cred\" data-id=\"") || pages_escape(b, buf_str(&id)) ||
             buf_puts(b, "\"><td>") || pages_escape(b, c->backend) || buf_puts(b, "</td><td>") ||
             pages_escape(b, c->slot);
        if (rc == 0 && c->description && *c->description)
            rc = buf_puts(b, "<br><small>") || pages_escape(b, c->description) ||
                 buf_puts(b, "</small>");
        rc = rc || buf_puts(b, "</td><td class=\"status\">");
        if (rc == 0 && c->linked_at)
            rc = buf_puts(b, "linked ") || pages_escape(b, c->linked_at);
        else if (rc == 0)
            rc = buf_puts(b, "not linked");
        rc = rc || buf_puts(b, "</td><td>");
        if (rc == 0 && p->creds_enabled)
            rc = buf_puts(b, "<form method=\"post\" class=\"inline\" action=\"") ||
                 pages_escape(b, p->base) || buf_puts(b, "/account/credentials\">") ||
                 cred_fields(b, p, c) ||
                 buf_puts(b, "<input type=\"password\" name=\"value\" required "
                             "maxlength=\"8192\" autocomplete=\"off\" aria-label=\"Token for ") ||
                 pages_escape(b, buf_str(&id)) ||
                 buf_puts(b, "\"><button type=\"submit\" data-id=\"link:") ||
                 pages_escape(b, buf_str(&id)) || buf_puts(b, "\">") ||
                 buf_puts(b, c->linked_at ? "Replace" : "Link") || buf_puts(b, "</button></form>");
        if (rc == 0 && c->linked_at)
            rc = buf_puts(b, " <form method=\"post\" class=\"inline\" action=\"") ||
                 pages_escape(b, p->base) || buf_puts(b, "/account/credentials/unlink\">") ||
                 cred_fields(b, p, c) || buf_puts(b, "<button type=\"submit\" data-id=\"unlink:") ||
                 pages_escape(b, buf_str(&id)) || buf_puts(b, "\">Unlink</button></form>");
        rc = rc || buf_puts(b, "</td></tr>\n");
        buf_free(&id);
    }
    return rc || buf_puts(b, "</table></div>\n");
}

int pages_account(struct buf *out, const struct pages_account *p)
{
    struct buf apps = {0}, keys = {0}, notice = {0}, key = {0}, creds = {0}, linked = {0};
    int rc = account_apps(&apps, p) || account_keys(&keys, p) || account_creds(&creds, p) ||
             account_linked(&linked, p);
    rc = rc || pages_wrap(&notice, "<p class=\"notice\" id=\"notice\">", p->notice, "</p>\n");
    if (rc == 0 && p->new_key)
        rc = buf_puts(&key, "<p class=\"notice\">Your new API key; copy it now, it is not shown "
                            "again:<br><code id=\"new-key\">") ||
             pages_escape(&key, p->new_key) || buf_puts(&key, "</code></p>\n");
    struct var v[] = {
        {"base", p->base, 0},
        {"csrf", p->csrf, 0},
        {"username", p->username, 0},
        {"notice", buf_str(&notice), 1},
        {"new_key", buf_str(&key), 1},
        {"apps", buf_str(&apps), 1},
        {"keys", buf_str(&keys), 1},
        {"creds", buf_str(&creds), 1},
        {"linked", buf_str(&linked), 1},
    };
    if (rc == 0)
        rc = page_layout(out, "Your account", account_body, v, sizeof v / sizeof v[0], 1);
    buf_free(&apps);
    buf_free(&keys);
    buf_free(&creds);
    buf_free(&linked);
    buf_free(&notice);
    if (key.data)
        explicit_bzero(key.data, key.len);
    buf_free(&key);
    return rc ? -1 : 0;
}

static const char error_body[] = "<h1>{{title}}</h1>\n<p class=\"error\" id=\"error\">{{message}}"
                                 "</p>\n<p>You can close this window.</p>";

int pages_error(struct buf *out, const char *title, const char *message)
{
    struct var v[] = {{"title", title, 0}, {"message", message, 0}};
    return page(out, title, error_body, v, sizeof v / sizeof v[0]);
}
