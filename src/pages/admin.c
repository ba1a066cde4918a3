/*
 * pages/admin.c - the HTML of the admin console.
 */
#include "pages/admin.h"

#include <stdio.h>
#include <string.h>

#include "pages/pages.h"

#define CHART_W  720
#define CHART_H  180
#define BAR_ROW  26
#define BAR_SPAN (CHART_W - 330) /* the longest bar: the width less labels and figures */

/* The console's links; current marks the page shown. */
static int nav(struct buf *b, const char *base, const char *current, const char *username)
{
    static const char *const links[][2] = {{"/admin", "Overview"},
                                           {"/admin/users", "Users"},
                                           {"/admin/keys", "API keys"},
                                           {"/admin/clients", "OAuth clients"},
                                           {"/admin/apps", "Connected apps"},
                                           {"/admin/policy", "Policy"},
                                           {"/admin/backends", "Backends"},
                                           {"/admin/audit", "Audit trail"}};
    int rc = buf_puts(b, "<nav id=\"admin-nav\"><p>");
    for (size_t i = 0; i < sizeof links / sizeof links[0] && rc == 0; i++) {
        if (strcmp(links[i][0], current) == 0)
            rc = buf_printf(b, "<strong>%s</strong> | ", links[i][1]);
        else
            rc = buf_puts(b, "<a href=\"") || pages_escape(b, base) ||
                 buf_printf(b, "%s\">%s</a> | ", links[i][0], links[i][1]);
    }
    return rc || buf_puts(b, "<a href=\"") || pages_escape(b, base) ||
           buf_puts(b, "/account\">Your account</a></p><p><small>Signed in as <strong "
                       "id=\"username\">") ||
           pages_escape(b, username) || buf_puts(b, "</strong> (admin)</small></p></nav>\n");
}

/* Calls (blue) and calls that were not ok (red) per hour, as SVG bars. */
static int chart_hours(struct buf *b, const struct pages_admin_hour *h)
{
    long long max = 1, total = 0, errors = 0;
    for (int i = 0; i < PAGES_ADMIN_HOURS; i++) {
        max = h[i].calls > max ? h[i].calls : max;
        total += h[i].calls;
        errors += h[i].errors;
    }
    const int slot = CHART_W / PAGES_ADMIN_HOURS, top = 10, bottom = CHART_H - 20;
    int rc =
        buf_printf(b,
                   "<h2>Calls and errors per hour</h2>\n<p><small>Last 24 hours: %lld calls, "
                   "%lld not ok (most in one hour: %lld).</small></p>\n"
                   "<svg id=\"chart-hours\" role=\"img\" viewBox=\"0 0 %d %d\" width=\"100%%\" "
                   "xmlns=\"http://www.w3.org/2000/svg\"><title>Calls and errors per hour"
                   "</title>",
                   total, errors, max, CHART_W, CHART_H);
    for (int i = 0; i < PAGES_ADMIN_HOURS && rc == 0; i++) {
        int hc = (int)((double)h[i].calls / (double)max * (bottom - top));
        int he = (int)((double)h[i].errors / (double)max * (bottom - top));
        int x = i * slot + 2;
        rc = buf_printf(b,
                        "<g class=\"hour\"><title>%s: %lld calls, %lld not ok</title>"
                        "<rect class=\"calls\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                        "fill=\"#1f5fd1\"/><rect class=\"errors\" x=\"%d\" y=\"%d\" width=\"%d\" "
                        "height=\"%d\" fill=\"#c62828\"/></g>",
                        h[i].label, h[i].calls, h[i].errors, x, bottom - hc, slot / 2 - 2, hc,
                        x + slot / 2 - 2, bottom - he, slot / 2 - 2, he);
        if (rc == 0 && i % 4 == 0)
            rc = buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>", x, CHART_H - 5,
                            h[i].label);
    }
    return rc || buf_printf(b,
                            "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>"
                            "</svg>\n",
                            bottom, CHART_W, bottom);
}

/* The length of a bar of value v when the largest value, max, fills the
 * space right of the labels (BAR_SPAN); 0 when max is not positive. */
static int bar_len(double v, double max)
{
    return max > 0 ? (int)(v / max * BAR_SPAN) : 0;
}

/* Horizontal bars: one row per label, scaled to the largest value. */
static int chart_bars(struct buf *b, const char *id, const char *title,
                      const struct pages_admin_bar *bars, int n, const char *unit)
{
    int rc = buf_printf(b, "<h2>%s</h2>\n", title);
    if (n == 0)
        return rc || buf_printf(b, "<p id=\"%s-none\">Nothing yet.</p>\n", id);
    double max = 0;
    for (int i = 0; i < n; i++)
        max = bars[i].value > max ? bars[i].value : max;
    rc = rc || buf_printf(b,
                          "<svg id=\"%s\" role=\"img\" viewBox=\"0 0 %d %d\" width=\"100%%\" "
                          "xmlns=\"http://www.w3.org/2000/svg\"><title>%s</title>",
                          id, CHART_W, n * BAR_ROW + 4, title);
    for (int i = 0; i < n && rc == 0; i++) {
        int w = bar_len(bars[i].value, max);
        int y = i * BAR_ROW + 2;
        rc = buf_printf(b, "<g class=\"bar\"><text x=\"0\" y=\"%d\" font-size=\"13\">", y + 16) ||
             pages_escape(b, bars[i].label) ||
             buf_printf(b,
                        "</text><rect x=\"220\" y=\"%d\" width=\"%d\" height=\"%d\" "
                        "fill=\"#1f5fd1\"/><text x=\"%d\" y=\"%d\" font-size=\"13\">%.6g %s"
                        "</text></g>",
                        y + 3, w > 1 ? w : 1, BAR_ROW - 8, 226 + w, y + 16, bars[i].value, unit);
    }
    return rc || buf_puts(b, "</svg>\n");
}

/* p50 (light) and p99 (dark) per backend, as paired bars. */
static int chart_latency(struct buf *b, const struct pages_admin_latency *l, int n)
{
    int rc = buf_puts(b, "<h2>Call duration per backend (p50, p99)</h2>\n");
    if (n == 0)
        return rc || buf_puts(b, "<p id=\"chart-latency-none\">Nothing yet.</p>\n");
    double max = 0;
    for (int i = 0; i < n; i++)
        max = l[i].p99_ms > max ? l[i].p99_ms : max;
    rc = rc || buf_printf(b,
                          "<p><small>Since the counters began (docs/monitoring.md); each bound "
                          "is the upper end of the histogram bucket holding it.</small></p>\n"
                          "<svg id=\"chart-latency\" role=\"img\" viewBox=\"0 0 %d %d\" "
                          "width=\"100%%\" xmlns=\"http://www.w3.org/2000/svg\"><title>Call "
                          "duration per backend</title>",
                          CHART_W, n * BAR_ROW * 2 + 4);
    for (int i = 0; i < n && rc == 0; i++) {
        int y = i * BAR_ROW * 2 + 2;
        int w50 = bar_len(l[i].p50_ms, max);
        int w99 = bar_len(l[i].p99_ms, max);
        rc = buf_printf(b, "<g class=\"backend\"><text x=\"0\" y=\"%d\" font-size=\"13\">",
                        y + 16) ||
             pages_escape(b, l[i].backend) ||
             buf_printf(b,
                        "</text><rect class=\"p50\" x=\"220\" y=\"%d\" width=\"%d\" height=\"%d\" "
                        "fill=\"#8fb3f0\"/><text x=\"%d\" y=\"%d\" font-size=\"12\">p50 &#8804; "
                        "%.6g ms</text><rect class=\"p99\" x=\"220\" y=\"%d\" width=\"%d\" "
                        "height=\"%d\" fill=\"#1f3f8f\"/><text x=\"%d\" y=\"%d\" "
                        "font-size=\"12\">p99 &#8804; %.6g ms</text></g>",
                        y + 3, w50 > 1 ? w50 : 1, BAR_ROW - 12, 226 + w50, y + 14, l[i].p50_ms,
                        y + BAR_ROW, w99 > 1 ? w99 : 1, BAR_ROW - 12, 226 + w99, y + BAR_ROW + 11,
                        l[i].p99_ms);
    }
    return rc || buf_puts(b, "</svg>\n");
}

/* Ends a console page: lays body out as the page title into out unless rc
 * says building it failed, and frees body. Returns 0 or -1. */
static int admin_page(struct buf *out, const char *title, struct buf *body, int rc)
{
    rc = rc || pages_layout(out, title, buf_str(body));
    buf_free(body);
    return rc ? -1 : 0;
}

int pages_admin_overview(struct buf *out, const struct pages_admin_overview *p)
{
    struct buf b = {0};
    int rc =
        buf_puts(&b, "<h1>mcpgate admin</h1>\n") || nav(&b, p->base, "/admin", p->username) ||
        chart_hours(&b, p->hours) ||
        chart_bars(&b, "chart-tools", "Top tools (last 24 hours)", p->tools, p->n_tools, "calls") ||
        chart_latency(&b, p->latency, p->n_latency);
    return admin_page(out, "Admin", &b, rc);
}

/* A POST form with the CSRF token, hidden user, a Confirm box the server
 * checks, and the given inner fields and button. */
static int action_form(struct buf *b, const struct pages_admin_users *p, const char *action,
                       const char *user, const char *inner, const char *id)
{
    return buf_puts(b, "<form method=\"post\" class=\"inline admin-action\" action=\"") ||
           pages_escape(b, p->base) || buf_puts(b, action) ||
           buf_puts(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"") ||
           pages_escape(b, p->csrf) ||
           buf_puts(b, "\"><input type=\"hidden\" name=\"user\" value=\"") ||
           pages_escape(b, user) || buf_puts(b, "\">") || buf_puts(b, inner) ||
           buf_puts(b, " <label class=\"confirm\"><input type=\"checkbox\" name=\"confirm\" "
                       "value=\"yes\" required data-id=\"confirm-") ||
           pages_escape(b, id) || buf_puts(b, "\"> Confirm</label> <button type=\"submit\" ") ||
           buf_puts(b, "data-id=\"") || pages_escape(b, id) || buf_puts(b, "\">Apply</button>") ||
           buf_puts(b, "</form>");
}

static int user_row(struct buf *b, const struct pages_admin_users *p,
                    const struct pages_admin_user *u)
{
    char state_inner[160], id[100];
    snprintf(state_inner, sizeof state_inner,
             "<input type=\"hidden\" name=\"action\" value=\"%s\">%s",
             u->disabled ? "enable" : "disable", u->disabled ? "Enable" : "Disable");
    int rc = buf_puts(b, "<tr class=\"user\"><td class=\"name\">") ||
             pages_escape(b, u->username) || buf_puts(b, "</td><td class=\"status\">") ||
             buf_puts(b, u->disabled ? "disabled" : "enabled") ||
             buf_puts(b, u->admin ? ", admin" : "") || buf_puts(b, "</td><td class=\"groups\">") ||
             pages_escape(b, u->groups[0] ? u->groups : "-") ||
             buf_puts(b, "</td><td class=\"date\">") || pages_escape(b, u->created) ||
             buf_puts(b, "</td><td class=\"actions\">");
    snprintf(id, sizeof id, "state-%s", u->username);
    rc = rc || action_form(b, p, "/admin/users/state", u->username, state_inner, id);
    snprintf(id, sizeof id, "groups-%s", u->username);
    rc = rc || buf_puts(b, "<br>") ||
         action_form(b, p, "/admin/users/groups", u->username,
                     "<select name=\"op\"><option value=\"add\">Add to</option>"
                     "<option value=\"remove\">Remove from</option></select> "
                     "<input type=\"text\" name=\"group\" required maxlength=\"64\" size=\"10\" "
                     "placeholder=\"group\">",
                     id);
    return rc || buf_puts(b, "</td></tr>\n");
}

int pages_admin_users(struct buf *out, const struct pages_admin_users *p)
{
    struct buf b = {0};
    int rc = buf_puts(&b, "<h1>Users</h1>\n") || nav(&b, p->base, "/admin/users", p->username);
    rc = rc || pages_wrap(&b, "<p class=\"notice\" id=\"notice\">", p->notice, "</p>\n");
    rc = rc || buf_puts(&b, "<p><small>Each change needs its Confirm box ticked and is written "
                            "to the audit trail as an admin action.</small></p>\n"
                            "<div class=\"table\"><table id=\"users\"><tr><th>User</th>"
                            "<th>State</th><th>Groups</th><th>Added</th><th></th></tr>\n");
    for (int i = 0; i < p->n_users && rc == 0; i++)
        rc = user_row(&b, p, &p->users[i]);
    rc = rc || buf_puts(&b, "</table></div>\n");
    return admin_page(out, "Users", &b, rc);
}

static int filter_field(struct buf *b, const char *name, const char *label, const char *value)
{
    return buf_printf(b, "<label>%s <input type=\"text\" name=\"%s\" id=\"filter-%s\" value=\"",
                      label, name, name) ||
           pages_escape(b, value ? value : "") || buf_puts(b, "\" size=\"14\"></label> ");
}

int pages_admin_audit(struct buf *out, const struct pages_admin_audit *p)
{
    static const char *const outcomes[] = {"", "ok", "error", "refused", "cancelled"};
    struct buf b = {0};
    int rc = buf_puts(&b, "<h1>Audit trail</h1>\n") ||
             nav(&b, p->base, "/admin/audit", p->username) ||
             buf_puts(&b, "<form method=\"get\" id=\"audit-filter\" action=\"") ||
             pages_escape(&b, p->base) || buf_puts(&b, "/admin/audit\">") ||
             filter_field(&b, "user", "User", p->f_user) ||
             filter_field(&b, "tool", "Tool", p->f_tool) ||
             buf_puts(&b, "<label>Outcome <select name=\"outcome\" id=\"filter-outcome\">");
    for (size_t i = 0; i < sizeof outcomes / sizeof outcomes[0] && rc == 0; i++) {
        int sel = p->f_outcome && strcmp(p->f_outcome, outcomes[i]) == 0;
        rc = buf_printf(&b, "<option value=\"%s\"%s>%s</option>", outcomes[i],
                        sel ? " selected" : "", outcomes[i][0] ? outcomes[i] : "any");
    }
    rc = rc || buf_puts(&b, "</select></label> ") ||
         filter_field(&b, "since", "Since (UTC)", p->f_since) ||
         buf_puts(&b, "<button type=\"submit\" id=\"filter\">Filter</button></form>\n");
    rc = rc || pages_wrap(&b, "<p class=\"error\" id=\"error\">", p->error, "</p>\n");
    rc = rc ||
         buf_printf(&b,
                    "<p><small id=\"audit-count\">%d rows (newest first, at most "
                    "100)</small></p>\n",
                    p->n_rows) ||
         buf_puts(&b, "<div class=\"table\"><table id=\"audit\"><tr><th>At (UTC)</th>"
                      "<th>User</th><th>Tool</th><th>Outcome</th><th>Detail</th><th>ms</th>"
                      "</tr>\n");
    for (int i = 0; i < p->n_rows && rc == 0; i++) {
        const struct pages_admin_audit_row *r = &p->rows[i];
        rc = buf_puts(&b, "<tr class=\"row\"><td class=\"date\">") || pages_escape(&b, r->at) ||
             buf_puts(&b, "</td><td>") || pages_escape(&b, r->user) ||
             buf_puts(&b, "<br><small>") || pages_escape(&b, r->client_id) ||
             buf_puts(&b, "</small></td><td class=\"tool\">") || pages_escape(&b, r->tool) ||
             buf_puts(&b, "</td><td class=\"status outcome\">") || pages_escape(&b, r->outcome) ||
             buf_puts(&b, "</td><td><small>") || pages_escape(&b, r->detail) ||
             buf_puts(&b, "</small></td><td>") || pages_escape(&b, r->duration_ms) ||
             buf_puts(&b, "</td></tr>\n");
    }
    rc = rc || buf_puts(&b, "</table></div>\n");
    return admin_page(out, "Audit trail", &b, rc);
}

static const char policy_form[] =
    "<h2>Add a rule</h2>\n<form method=\"post\" class=\"admin-action\" id=\"policy-add\" "
    "action=\"{{base}}/admin/policy/add\"><input type=\"hidden\" name=\"csrf\" "
    "value=\"{{csrf}}\"><select name=\"effect\" id=\"policy-effect\">"
    "<option value=\"allow\">Grant</option><option value=\"deny\">Deny</option></select> "
    "<select name=\"kind\" id=\"policy-kind\"><option value=\"user\">user</option>"
    "<option value=\"group\">group</option><option value=\"everyone\">everyone</option>"
    "</select> <input type=\"text\" name=\"name\" id=\"policy-name\" maxlength=\"64\" "
    "placeholder=\"name\"> <input type=\"text\" name=\"pattern\" id=\"policy-pattern\" "
    "required maxlength=\"128\" placeholder=\"tool pattern\"> <label class=\"confirm\">"
    "<input type=\"checkbox\" name=\"confirm\" value=\"yes\" required "
    "id=\"policy-confirm\"> Confirm</label> <button type=\"submit\" id=\"policy-submit\">"
    "Apply</button></form>\n<p><small>A pattern is a tool name with * and ? wildcards; a "
    "deny wins over a grant.</small></p>\n";

/* The form of policy_form with base and csrf escaped in. */
static int render_policy_form(struct buf *b, const char *base, const char *csrf)
{
    const char *p = policy_form;
    int rc = 0;
    while (rc == 0 && *p) {
        const char *open = strstr(p, "{{");
        if (!open)
            return buf_puts(b, p);
        rc = buf_append(b, p, (size_t)(open - p));
        int is_base = strncmp(open, "{{base}}", 8) == 0;
        rc = rc || pages_escape(b, is_base ? base : csrf);
        p = open + 8; /* "{{base}}" and "{{csrf}}" are both 8 long */
    }
    return rc;
}

/* Row r's confirmed one-button form, in its own cell; nothing without an
 * action. */
static int row_action(struct buf *b, const struct pages_admin_table *p, int r)
{
    if (!p->action)
        return 0;
    return buf_puts(b, "<td class=\"actions\"><form method=\"post\" "
                       "class=\"inline admin-action\" action=\"") ||
           pages_escape(b, p->base) || buf_puts(b, p->action) ||
           buf_puts(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"") ||
           pages_escape(b, p->csrf) ||
           buf_printf(b, "\"><input type=\"hidden\" name=\"%s\" value=\"", p->action_field) ||
           pages_escape(b, p->values[r]) ||
           buf_puts(b, "\"><label class=\"confirm\"><input type=\"checkbox\" name=\"confirm\" "
                       "value=\"yes\" required> Confirm</label> <button type=\"submit\" "
                       "data-id=\"") ||
           pages_escape(b, p->values[r]) || buf_puts(b, "\">") ||
           pages_escape(b, p->action_label) || buf_puts(b, "</button></form></td>");
}

int pages_admin_table(struct buf *out, const struct pages_admin_table *p)
{
    struct buf b = {0};
    int rc = buf_puts(&b, "<h1>") || pages_escape(&b, p->title) || buf_puts(&b, "</h1>\n") ||
             nav(&b, p->base, p->path, p->username);
    rc = rc || pages_wrap(&b, "<p class=\"notice\" id=\"notice\">", p->notice, "</p>\n");
    rc = rc || pages_wrap(&b, "<p><small>", p->intro, "</small></p>\n");
    if (rc == 0 && p->policy_form)
        rc = render_policy_form(&b, p->base, p->csrf);
    if (rc == 0 && p->n_rows == 0)
        rc = buf_printf(&b, "<p id=\"%s-none\">None.</p>\n", p->id);
    else if (rc == 0) {
        rc = buf_printf(&b, "<div class=\"table\"><table id=\"%s\"><tr>", p->id);
        for (int c = 0; c < p->n_cols && rc == 0; c++)
            rc = buf_puts(&b, "<th>") || pages_escape(&b, p->columns[c]) || buf_puts(&b, "</th>");
        rc = rc || buf_puts(&b, p->action ? "<th></th></tr>\n" : "</tr>\n");
        for (int r = 0; r < p->n_rows && rc == 0; r++) {
            rc = buf_puts(&b, "<tr class=\"row\">");
            for (int c = 0; c < p->n_cols && rc == 0; c++)
                rc = buf_printf(&b, "<td class=\"c%d\">", c) ||
                     pages_escape(&b, p->cells[r * p->n_cols + c]) || buf_puts(&b, "</td>");
            rc = rc || row_action(&b, p, r) || buf_puts(&b, "</tr>\n");
        }
        rc = rc || buf_puts(&b, "</table></div>\n");
    }
    return admin_page(out, p->title, &b, rc);
}
