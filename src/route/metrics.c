/*
 * route/metrics.c - GET {base}/metrics and the flush that feeds it.
 */
#include "route/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "oauth/oauth.h"
#include "oauth/scope.h"
#include "store/metrics.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/time.h"

/* The families this build exports: their type and help text. A series
 * whose name is not here is shown as untyped. */
static const double duration_bounds[] = {METRICS_DURATION_BUCKETS};
static const double batch_bounds[] = {METRICS_BATCH_BUCKETS};

static const struct family {
    const char *name;
    const char *type;
    const char *help;
    const double *bounds; /* a histogram's bucket bounds, ascending */
    int n_bounds;
} families[] = {
    {"mcpgate_tool_calls_total", "counter", "Tool calls by tool, backend, outcome and OAuth client",
     NULL, 0},
    {"mcpgate_tool_call_duration_seconds", "histogram", "Tool call duration per backend",
     duration_bounds, (int)(sizeof duration_bounds / sizeof duration_bounds[0])},
    {"mcpgate_oauth_requests_total", "counter",
     "Requests to the OAuth endpoints and pages that act, by endpoint and outcome", NULL, 0},
    {"mcpgate_oauth_replays_total", "counter",
     "Authorization codes or refresh tokens presented again: their family was revoked", NULL, 0},
    {"mcpgate_sse_streams_total", "counter", "SSE streams opened", NULL, 0},
    {"mcpgate_sse_streams_open", "gauge", "SSE streams open now", NULL, 0},
    {"mcpgate_sse_events_replayed_total", "counter",
     "Stored events sent again to a client resuming with Last-Event-ID", NULL, 0},
    {"mcpgate_db_pool_waits_total", "counter",
     "Times a thread waited for a pooled PostgreSQL connection, by result", NULL, 0},
    {"mcpgate_db_errors_total", "counter", "PostgreSQL statements that failed, by kind", NULL, 0},
    {"mcpgate_cache_lookups_total", "counter",
     "Lookups in the per-process cache, by table and result", NULL, 0},
    {"mcpgate_cache_invalidations_total", "counter",
     "Cache entries dropped on a notification from PostgreSQL, by table", NULL, 0},
    {"mcpgate_audit_batch_rows", "histogram", "Audit rows written per group commit", batch_bounds,
     (int)(sizeof batch_bounds / sizeof batch_bounds[0])},
    {"mcpgate_upstream_token_refreshes_total", "counter",
     "Refreshes of identity provider tokens for upstream calls, by provider and outcome", NULL, 0},
    {"mcpgate_metrics_dropped_total", "counter",
     "Counts lost because a process's table of series was full", NULL, 0},
};

static const struct family *family_of(const char *name, const char **suffix)
{
    static const char *const parts[] = {"_bucket", "_sum", "_count"};
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        size_t n = strlen(families[i].name);
        if (strncmp(name, families[i].name, n) != 0)
            continue;
        if (name[n] == '\0') {
            *suffix = "";
            return &families[i];
        }
        for (size_t k = 0; strcmp(families[i].type, "histogram") == 0 && k < 3; k++)
            if (strcmp(name + n, parts[k]) == 0) {
                *suffix = parts[k];
                return &families[i];
            }
    }
    *suffix = "";
    return NULL;
}

/* --- the flush ---------------------------------------------------------- */

static pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;
static long long failed_log_ms; /* under flush_lock: when "could not" was last logged */
static char host[256];          /* this host's name, set once */
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

static void host_init(void)
{
    if (gethostname(host, sizeof host) < 0 || !host[0])
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
}

int http_metrics_flush(struct store_conn *db)
{
    pthread_once(&host_once, host_init);
    /* one flush at a time per process, so the rows see this process's
     * deltas in order and a failed batch is restored before the next */
    pthread_mutex_lock(&flush_lock);
    struct metrics_delta *d = NULL;
    int n = metrics_drain(&d);
    int rc = n;
    if (n > 0 && store_metrics_add(db, host, d, n) != STORE_OK) {
        metrics_restore(d, n);
        rc = -1;
        long long now = mg_now_ms();
        if (now - failed_log_ms >= 60000) {
            failed_log_ms = now;
            LOG_WARN("msg=\"could not store this process's metrics: kept for the next flush\" "
                     "series=%d",
                     n);
        }
    }
    pthread_mutex_unlock(&flush_lock);
    free(d);
    return rc;
}

void http_metrics_oauth(const char *route, const char *method, int status)
{
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (strncmp(route, "/.well-known/", 13) == 0 || strncmp(route, "/admin", 6) == 0)
        return;
    if (get && strcmp(route, "/authorize") != 0 && strcmp(route, "/login/idp") != 0 &&
        strcmp(route, "/login/callback") != 0)
        return;
    const char *outcome = status < 400 ? "ok" : status < 500 ? "failed" : "unavailable";
    metrics_add("mcpgate_oauth_requests_total", 1, "endpoint", route + 1, "outcome", outcome, NULL);
}

void http_metrics_flush_due(struct store_conn *db)
{
    static _Atomic long long last_ms;
    long long now = mg_now_ms();
    if (now - atomic_load(&last_ms) < HTTP_METRICS_FLUSH_MS)
        return;
    atomic_store(&last_ms, now);
    (void)http_metrics_flush(db);
}

/* --- who may scrape ----------------------------------------------------- */

/* The bearer value of the Authorization header, or NULL. Borrowed. */
static const char *bearer_value(const struct http_request *r)
{
    const char *h = http_header(r, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return *h ? h : NULL;
}

static void json_error(struct http_response *res, int status, const char *code, const char *desc)
{
    struct json_object *o = json_object_new_object();
    json_add(o, "error", json_object_new_string(code));
    json_add(o, "error_description", json_object_new_string(desc));
    size_t len = 0;
    const char *text = json_text(o, &len);
    http_response_set_body(res, status, "application/json", text, len);
    json_object_put(o);
}

static void unauthorized(struct http_response *res)
{
    json_error(res, 401, "invalid_token",
               "metrics need the scrape token or an admin's API key (Authorization: Bearer)");
    if (http_response_header(res, "WWW-Authenticate", "Bearer realm=\"mcpgate metrics\"") < 0)
        LOG_ERROR("msg=\"could not add a response header\"");
}

/* Returns 1 when the request may read the metrics; 0 when ctx->res holds
 * the 401, 403 or 503. */
static int scrape_allowed(struct http_ctx *ctx)
{
    const char *token = bearer_value(ctx->req);
    if (token && ctx->cfg->metrics_token_sha256[0]) {
        char hash[65];
        crypto_sha256_hex(token, strlen(token), hash);
        if (crypto_equal(hash, ctx->cfg->metrics_token_sha256, 64))
            return 1;
    }
    if (!token || ctx->cfg->auth == MG_AUTH_NONE) {
        unauthorized(ctx->res);
        return 0;
    }
    struct oauth_ctx oc = {.cfg = ctx->cfg, .db = ctx->db, .req = ctx->req, .res = ctx->res};
    struct oauth_principal p;
    switch (oauth_bearer_check(&oc, &p)) {
    case OAUTH_BEARER_OK:
        break;
    case OAUTH_BEARER_DENIED:
        return 0;
    case OAUTH_BEARER_UNAVAIL:
        return 0;
    }
    int admin = 0;
    if (store_user_is_admin(ctx->db, p.user_id, &admin) != STORE_OK) {
        json_error(ctx->res, 503, "temporarily_unavailable", "the database cannot be reached");
        if (http_response_header(ctx->res, "Retry-After", "1") < 0)
            LOG_ERROR("msg=\"could not add a response header\"");
        return 0;
    }
    if (!admin) {
        LOG_INFO("msg=\"metrics refused: not an admin\" user_id=%lld", p.user_id);
        json_error(ctx->res, 403, "forbidden", "metrics are for users with the admin role");
        return 0;
    }
    return 1;
}

/* --- the text ------------------------------------------------------------ */

struct series {
    char *name;
    char *labels; /* without le="..." */
    double le;    /* the bucket's bound (+Inf as HUGE_VAL); 0 for other series */
    char *le_text;
    double value;
};

struct series_list {
    struct series *v;
    int n, cap;
};

/* Splits le="..." off a bucket's labels. */
static void take_le(struct series *s, const char *labels)
{
    const char *at = strstr(labels, "le=\"");
    while (at && at != labels && at[-1] != ',')
        at = strstr(at + 1, "le=\"");
    if (!at) {
        s->labels = xstrdup(labels);
        s->le_text = xstrdup("");
        return;
    }
    const char *v = at + 4, *end = strchr(v, '"');
    size_t vlen = end ? (size_t)(end - v) : strlen(v);
    s->le_text = xmalloc(vlen + 1);
    memcpy(s->le_text, v, vlen);
    s->le_text[vlen] = '\0';
    s->le = strcmp(s->le_text, "+Inf") == 0 ? 1e300 : strtod(s->le_text, NULL);
    struct buf b = {0};
    size_t head = (size_t)(at - labels);
    const char *rest = end ? end + 1 : v + vlen;
    if (*rest == ',')
        rest++;
    else if (head > 0)
        head--; /* drop the comma before le */
    if (buf_append(&b, labels, head) < 0 || buf_puts(&b, rest) < 0)
        abort();
    s->labels = xstrdup(buf_str(&b));
    buf_free(&b);
}

static void add_series(const char *name, const char *labels, double value, void *arg)
{
    struct series_list *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
    }
    struct series *s = &l->v[l->n++];
    memset(s, 0, sizeof *s);
    s->name = xstrdup(name);
    s->value = value;
    size_t n = strlen(name);
    if (n > 7 && strcmp(name + n - 7, "_bucket") == 0) {
        take_le(s, labels);
    } else {
        s->labels = xstrdup(labels);
        s->le_text = xstrdup("");
    }
}

/* The family's name of a series: without _bucket/_sum/_count for a
 * histogram. Into out (n bytes). */
static void family_name(const char *name, char *out, size_t n)
{
    const char *suffix;
    const struct family *f = family_of(name, &suffix);
    snprintf(out, n, "%s", f ? f->name : name);
}

/* Orders series by family, then labels, then part (buckets by le, then
 * _count, then _sum), so each histogram's buckets ascend. */
static int series_cmp(const void *a, const void *b)
{
    const struct series *x = a, *y = b;
    char fx[METRICS_NAME_MAX], fy[METRICS_NAME_MAX];
    family_name(x->name, fx, sizeof fx);
    family_name(y->name, fy, sizeof fy);
    int c = strcmp(fx, fy);
    if (c == 0)
        c = strcmp(x->labels, y->labels);
    if (c == 0)
        c = strcmp(x->name, y->name);
    if (c == 0)
        c = x->le < y->le ? -1 : x->le > y->le;
    return c;
}

/* The buckets of one histogram's label set, from l->v[i] on (its stored
 * buckets are per bucket, util/metrics.h): every bound of the family,
 * cumulative, then le="+Inf". Writes the index after its last bucket to
 * *next. Returns 0 or -1. */
static int render_buckets(struct buf *out, const struct family *f, const struct series_list *l,
                          int i, int *next)
{
    const struct series *first = &l->v[i];
    int end = i;
    while (end < l->n && strcmp(l->v[end].name, first->name) == 0 &&
           strcmp(l->v[end].labels, first->labels) == 0)
        end++;
    *next = end;
    const char *sep = first->labels[0] ? "," : "";
    double cum = 0;
    int k = i, rc = 0;
    for (int b = 0; b < f->n_bounds && rc == 0; b++) {
        for (; k < end && l->v[k].le <= f->bounds[b]; k++)
            cum += l->v[k].value;
        rc = buf_printf(out, "%s{%s%sle=\"%g\"} %.17g\n", first->name, first->labels, sep,
                        f->bounds[b], cum);
    }
    for (; k < end; k++)
        cum += l->v[k].value;
    return rc ||
           buf_printf(out, "%s{%s%sle=\"+Inf\"} %.17g\n", first->name, first->labels, sep, cum);
}

static int render(struct buf *out, const struct series_list *l)
{
    int rc = 0;
    char last[METRICS_NAME_MAX] = "";
    for (int i = 0; i < l->n && rc == 0;) {
        const struct series *s = &l->v[i];
        char fam[METRICS_NAME_MAX];
        family_name(s->name, fam, sizeof fam);
        const char *suffix;
        const struct family *f = family_of(s->name, &suffix);
        if (strcmp(fam, last) != 0) {
            if (f)
                rc |= buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                                 f->type);
            snprintf(last, sizeof last, "%s", fam);
        }
        if (f && f->n_bounds && strcmp(suffix, "_bucket") == 0) {
            rc |= render_buckets(out, f, l, i, &i);
            continue;
        }
        char labels[METRICS_LABELS_MAX + 32];
        if (s->le_text[0])
            snprintf(labels, sizeof labels, "%s%sle=\"%s\"", s->labels, s->labels[0] ? "," : "",
                     s->le_text);
        else
            snprintf(labels, sizeof labels, "%s", s->labels);
        rc |= buf_printf(out, "%s%s%s%s %.17g\n", s->name, labels[0] ? "{" : "", labels,
                         labels[0] ? "}" : "", s->value);
        i++;
    }
    return rc;
}

static void series_free(struct series_list *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].labels);
        free(l->v[i].le_text);
    }
    free(l->v);
}

enum http_rc http_metrics_handle(struct http_ctx *ctx)
{
    const char *m = ctx->req->method;
    if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
        json_error(ctx->res, 405, "invalid_request", "use GET or HEAD");
        if (http_response_header(ctx->res, "Allow", "GET, HEAD") < 0)
            LOG_ERROR("msg=\"could not add a response header\"");
        return HTTP_REPLY;
    }
    if (!scrape_allowed(ctx))
        return HTTP_REPLY;
    (void)http_metrics_flush(ctx->db); /* this process's own counts, now */
    struct series_list l = {0};
    if (store_metrics_sum(ctx->db, add_series, &l) != STORE_OK) {
        series_free(&l);
        json_error(ctx->res, 503, "temporarily_unavailable", "the database cannot be reached");
        if (http_response_header(ctx->res, "Retry-After", "1") < 0)
            LOG_ERROR("msg=\"could not add a response header\"");
        return HTTP_REPLY;
    }
    if (l.n > 1)
        qsort(l.v, (size_t)l.n, sizeof *l.v, series_cmp);
    struct buf text = {0};
    text.limit = 64u << 20;
    if (render(&text, &l) < 0)
        LOG_ERROR("msg=\"metrics text cut: past its size limit\"");
    http_response_set_body(ctx->res, 200, "text/plain; version=0.0.4; charset=utf-8",
                           buf_str(&text), text.len);
    buf_free(&text);
    series_free(&l);
    return HTTP_REPLY;
}
