/*
 * oauth/admin_backends.c - {base}/admin/backends: each backend with its
 * tools and health, and the per-backend figures the overview charts too.
 *
 * Health is the deployment's, not this process's: calls ok and failed and
 * p50/p99 duration from the counters (summed over every process and host,
 * docs/monitoring.md), and the last failed call of each backend's tools in
 * the audit trail of the last 7 days. The tools are this process's list
 * (tools/list through the database's cache of upstream lists).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "oauth/admin.h"
#include "oauth/internal.h"
#include "pages/admin.h"
#include "store/admin.h"
#include "store/metrics.h"
#include "tools/backends.h"
#include "tools/registry.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"

#define TOOLS_SHOWN 12 /* tool names listed per backend; the rest are counted */

/* The label value of key in a series' labels into out; "" when absent. */
static void label_of(const char *labels, const char *key, char *out, size_t n)
{
    char pat[32];
    snprintf(pat, sizeof pat, "%s=\"", key);
    const char *v = strstr(labels, pat);
    while (v && v != labels && v[-1] != ',')
        v = strstr(v + 1, pat);
    out[0] = '\0';
    if (!v)
        return;
    v += strlen(pat);
    size_t len = strcspn(v, "\"");
    snprintf(out, n, "%.*s", (int)(len < n - 1 ? len : n - 1), v);
}

static struct oauth_admin_backend_stats *stats_of(struct oauth_admin_stats *s, const char *b)
{
    for (int k = 0; k < s->n; k++)
        if (strcmp(s->b[k].backend, b) == 0)
            return &s->b[k];
    if (s->n == OAUTH_ADMIN_BACKENDS)
        return NULL;
    snprintf(s->b[s->n].backend, sizeof s->b[0].backend, "%s", b);
    return &s->b[s->n++];
}

void oauth_admin_stats_series(const char *name, const char *labels, double value, void *arg)
{
    int bucket = strcmp(name, "mcpgate_tool_call_duration_seconds_bucket") == 0;
    if (!bucket && strcmp(name, "mcpgate_tool_calls_total") != 0)
        return;
    char backend[64], v[32];
    label_of(labels, "backend", backend, sizeof backend);
    struct oauth_admin_backend_stats *st = backend[0] ? stats_of(arg, backend) : NULL;
    if (!st)
        return;
    if (bucket) {
        label_of(labels, "le", v, sizeof v);
        if (st->n == OAUTH_ADMIN_BUCKETS || !v[0])
            return;
        st->le[st->n] = strcmp(v, "+Inf") == 0 ? 1e300 : strtod(v, NULL);
        st->count[st->n++] = value;
        return;
    }
    label_of(labels, "outcome", v, sizeof v);
    if (strcmp(v, "ok") == 0)
        st->ok += value;
    else if (strcmp(v, "tool_error") == 0 || strcmp(v, "unavailable") == 0)
        st->errors += value;
}

double oauth_admin_quantile_ms(const struct oauth_admin_backend_stats *s, double q)
{
    /* the buckets are kept per bucket (util/metrics.h) and arrive in any
     * order: the quantile's bucket is the first, by bound, whose running
     * total reaches q of all */
    int order[OAUTH_ADMIN_BUCKETS];
    double total = 0, finite = 0;
    for (int i = 0; i < s->n; i++) {
        order[i] = i;
        total += s->count[i];
        finite = s->le[i] < 1e300 && s->le[i] > finite ? s->le[i] : finite;
    }
    for (int i = 1; i < s->n; i++)
        for (int j = i; j > 0 && s->le[order[j - 1]] > s->le[order[j]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    if (total <= 0)
        return 0;
    double cum = 0;
    for (int i = 0; i < s->n; i++) {
        cum += s->count[order[i]];
        if (cum >= q * total) {
            double le = s->le[order[i]];
            return (le >= 1e300 ? finite : le) * 1000.0;
        }
    }
    return finite * 1000.0;
}

/* What the page shows of one backend. */
struct row {
    char name[64];
    const char *kind;
    int n_tools;
    struct buf tools; /* the first TOOLS_SHOWN names, comma-separated */
    char last_error[200];
    char last_error_at[32];
};

struct page_rows {
    struct row r[OAUTH_ADMIN_BACKENDS + 1]; /* the backends, then mcpgate's own tools */
    int n;
    struct store_conn *db;
};

/* The backend of the tool called name, "" for none. */
static const char *backend_of(struct store_conn *db, const char *name)
{
    const char *b = tool_backend_name(tool_find_db(db, name));
    return b ? b : "";
}

static struct row *row_of(struct page_rows *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->r[i].name, name) == 0)
            return &p->r[i];
    return NULL;
}

/* The newest failed call per tool, newest first: the first seen per
 * backend is its last error. */
static void on_error(void *arg, const char *tool, const char *at)
{
    struct page_rows *p = arg;
    struct row *r = row_of(p, backend_of(p->db, tool));
    if (r && !r->last_error_at[0]) {
        snprintf(r->last_error_at, sizeof r->last_error_at, "%s", at);
        snprintf(r->last_error, sizeof r->last_error, "%s", tool);
    }
}

static void collect(struct page_rows *p, struct json_object *tools)
{
    for (int i = 0; i < tool_backend_count() && p->n < OAUTH_ADMIN_BACKENDS; i++) {
        const struct backend *b = tool_backend_at(i);
        struct row *r = &p->r[p->n++];
        snprintf(r->name, sizeof r->name, "%s", b->name);
        r->kind = b->kind == BACKEND_REST ? "REST" : "MCP";
    }
    struct row *own = &p->r[p->n++];
    snprintf(own->name, sizeof own->name, "mcpgate");
    own->kind = "builtin";
    for (size_t i = 0; i < json_object_array_length(tools); i++) {
        const char *name = json_object_get_string(
            json_object_object_get(json_object_array_get_idx(tools, i), "name"));
        struct row *r = name ? row_of(p, backend_of(p->db, name)) : NULL;
        if (!r)
            continue;
        if (r->n_tools < TOOLS_SHOWN &&
            (buf_puts(&r->tools, r->tools.len ? ", " : "") || buf_puts(&r->tools, name)))
            abort();
        r->n_tools++;
    }
}

void oauth_handle_admin_backends(struct oauth_ctx *ctx)
{
    struct store_user u;
    if (!oauth_admin_get_only(ctx) || !oauth_admin_require(ctx, &u, "/admin/backends"))
        return;
    static const char *const cols[] = {"Backend", "Kind",         "Tools",        "Calls ok",
                                       "Failed",  "p50 (ms, <=)", "p99 (ms, <=)", "Last failure"};
    enum { NC = 8 };
    struct page_rows *p = xcalloc(1, sizeof *p);
    struct oauth_admin_stats *st = xcalloc(1, sizeof *st);
    p->db = ctx->db;
    struct json_object *tools = tool_list_json_db(ctx->db);
    collect(p, tools);
    json_object_put(tools);
    char *cells[(OAUTH_ADMIN_BACKENDS + 1) * NC] = {0};
    const char *values[OAUTH_ADMIN_BACKENDS + 1];
    if (store_metrics_sum(ctx->db, oauth_admin_stats_series, st) != STORE_OK ||
        store_admin_last_errors(ctx->db, on_error, p) != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    for (int i = 0; i < p->n; i++) {
        const struct row *r = &p->r[i];
        struct oauth_admin_backend_stats zero = {0};
        const struct oauth_admin_backend_stats *s = stats_of(st, r->name);
        s = s ? s : &zero;
        char **c = &cells[i * NC], buf[400];
        c[0] = xstrdup(r->name);
        c[1] = xstrdup(r->kind);
        snprintf(buf, sizeof buf, "%d: %s%s", r->n_tools, buf_str(&r->tools),
                 r->n_tools > TOOLS_SHOWN ? ", ..." : "");
        c[2] = xstrdup(buf);
        snprintf(buf, sizeof buf, "%.0f", s->ok);
        c[3] = xstrdup(buf);
        snprintf(buf, sizeof buf, "%.0f", s->errors);
        c[4] = xstrdup(buf);
        snprintf(buf, sizeof buf, "%.6g", oauth_admin_quantile_ms(s, 0.5));
        c[5] = xstrdup(buf);
        snprintf(buf, sizeof buf, "%.6g", oauth_admin_quantile_ms(s, 0.99));
        c[6] = xstrdup(buf);
        snprintf(buf, sizeof buf, "%s%s%s", r->last_error_at[0] ? r->last_error_at : "none",
                 r->last_error[0] ? " " : "", r->last_error);
        c[7] = xstrdup(buf);
        values[i] = r->name;
    }
    struct pages_admin_table t = {
        .base = ctx->cfg->base_path,
        .username = u.username,
        .path = "/admin/backends",
        .title = "Backends",
        .intro = "Calls, failures (tool errors and calls that could not be audited) and "
                 "durations over every process and host since the counters began; the last "
                 "failed call in the audit trail of the last 7 days.",
        .id = "backends",
        .columns = cols,
        .n_cols = NC,
        .cells = (const char *const *)cells,
        .n_rows = p->n,
        .values = values,
    };
    struct buf html = {0};
    oauth_send_rendered(ctx, 200, pages_admin_table(&html, &t), &html);
out:
    for (int i = 0; i < (OAUTH_ADMIN_BACKENDS + 1) * NC; i++)
        free(cells[i]);
    for (int i = 0; i < p->n; i++)
        buf_free(&p->r[i].tools);
    free(st);
    free(p);
}
