/*
 * cli/doctor.c - mcpgate doctor --url URL: check a live deployment the way
 * an MCP client sees it, and say how to fix what is wrong.
 *
 * Talks only HTTP (tools/probe.h) to the URL given; needs no configuration
 * and no database. Checks, in order: https; the Authorization header reaches
 * the responder (a made-up bearer token must be refused with
 * error="invalid_token", which only the responder can say); SSE is not
 * buffered (GET {base}/mcp/doctor, route/doctor.h, sends an event, waits
 * HTTP_DOCTOR_GAP_MS and ends: the first event must arrive well before the
 * end); the metadata documents answer at the paths clients try (RFC 9728
 * section 3.1, RFC 8414 section 3) and name this URL; the responder's
 * base_url is the URL used; its database schema is current; its clock
 * agrees with ours.
 *
 * With --tools (which reads the configuration, not the database) it checks
 * the tool surface the MCP endpoint offers instead or as well: the REST
 * backends of backends_dir and the builtin tools, as a client will see them
 * (tool count against discovery_threshold, names, descriptions, access
 * classes, deprecated tools), and for each connector (/mcp/NAME,
 * util/config.h) the tools its filters select against the threshold. The
 * tools of upstream MCP backends are known only at run time and are not
 * counted.
 *
 * With --idp (which reads the configuration) it checks each identity
 * provider: its discovery document answers and names its issuer (with
 * explicit endpoints, that the authorization endpoint answers), the
 * redirect URI to register there, and its clock against ours by the Date
 * header (ID tokens more than 60 s off are refused, oauth/idp.c).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/doctor.h"
#include "route/doctor.h"
#include "tools/policy.h"
#include "tools/probe.h"
#include "tools/registry.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/url.h"

#define CLOCK_WARN_MS 5000
#define CLOCK_FAIL_MS 60000

static const char *const status_names[] = {"PASS", "WARN", "FAIL", "SKIP"};

/* mod_fcgid's defaults, which shared hosts keep */
#define FCGID_OUTPUT_BUFFER_DEFAULT 65536
#define FCGID_MAX_REQUEST_DEFAULT   131072
#define FCGID_BUSY_TIMEOUT_DEFAULT  300
#define FCGID_IO_TIMEOUT_DEFAULT    40

struct check *doctor_add_check(struct doctor *d, const char *name, enum check_status status,
                               const char *fmt, ...)
{
    struct check *c = &d->checks[d->n_checks++];
    memset(c, 0, sizeof *c);
    c->name = name;
    c->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->seen, sizeof c->seen, fmt, ap);
    va_end(ap);
    return c;
}

static void note_server(struct doctor *d, const struct tool_probe_res *r)
{
    char v[128];
    if (d->server[0] || !tool_probe_header(r, "Server", v, sizeof v))
        return;
    snprintf(d->server, sizeof d->server, "%s", v);
    if (strncasecmp(v, "Apache", 6) == 0)
        d->fe = FE_APACHE;
    else if (strncasecmp(v, "lighttpd", 8) == 0)
        d->fe = FE_LIGHTTPD;
}

static int fetch(struct doctor *d, const char *method, const char *url, const char *const *headers,
                 const char *body, struct tool_probe_res *res)
{
    struct tool_probe_req req = {.method = method,
                                 .url = url,
                                 .headers = headers,
                                 .body = body,
                                 .timeout_ms = d->timeout_ms,
                                 .insecure = d->insecure};
    int rc = tool_probe_run(&req, res);
    note_server(d, res);
    return rc;
}

/* Splits --url into url, base, origin and path. Returns 0 or -1. */
static int parse_url(struct doctor *d, const char *arg)
{
    size_t n = strlen(arg);
    while (n > 0 && arg[n - 1] == '/')
        n--;
    if (n >= sizeof d->url - 8)
        return -1;
    snprintf(d->url, sizeof d->url, "%.*s", (int)n, arg);
    struct url_parts u;
    if (url_split(d->url, &u) < 0 ||
        (strcmp(u.scheme, "https") != 0 && strcmp(u.scheme, "http") != 0))
        return -1;
    size_t origin_len = (size_t)(u.rest - d->url); /* scheme://host[:port] as given */
    /* the MCP endpoint is {base}/mcp; a URL without /mcp is taken as the base */
    if (n >= origin_len + 4 && strcmp(d->url + n - 4, "/mcp") == 0) {
        snprintf(d->base, sizeof d->base, "%.*s", (int)(n - 4), d->url);
    } else {
        snprintf(d->base, sizeof d->base, "%s", d->url);
        snprintf(d->url, sizeof d->url, "%.1000s/mcp", d->base);
    }
    snprintf(d->origin, sizeof d->origin, "%.*s", (int)origin_len, d->base);
    d->path = d->base + origin_len;
    return 0;
}

static int is_loopback(const char *origin)
{
    struct url_parts u;
    return url_split(origin, &u) == 0 &&
           (strncmp(u.host, "127.", 4) == 0 || strcmp(u.host, "localhost") == 0 ||
            strcmp(u.host, "[::1]") == 0);
}

static void check_https(struct doctor *d)
{
    if (strncasecmp(d->url, "https:", 6) == 0) {
        doctor_add_check(d, "https", CHECK_PASS, "https");
        return;
    }
    if (is_loopback(d->origin)) {
        doctor_add_check(d, "https", CHECK_WARN, "plain http, on loopback only (fine for tests)");
        return;
    }
    struct check *c =
        doctor_add_check(d, "https", CHECK_FAIL,
                         "plain http on a public address: clients send tokens in clear, "
                         "and OAuth clients refuse it");
    c->fix_fcgid = c->fix_proxy = "serve base_url from a <VirtualHost *:443> with SSLEngine on "
                                  "(a2enmod ssl) and set base_url = https://...";
    c->fix_lighttpd = "ssl.engine = \"enable\" on the $SERVER[\"socket\"] == \":443\" block, "
                      "and set base_url = https://...";
}

/* The first "data:" line of the SSE event called event, parsed. */
static struct json_object *sse_event_json(const char *body, const char *event)
{
    char tag[64];
    snprintf(tag, sizeof tag, "event: %s\n", event);
    const char *p = strstr(body, tag);
    if (!p || !(p = strstr(p, "data: ")))
        return NULL;
    p += 6;
    struct json_object *o = NULL;
    if (json_parse_strict(p, strcspn(p, "\n"), &o, NULL) < 0)
        return NULL;
    return o;
}

/* GETs {base}/mcp/doctor (with query, if any). Fills r; returns 1 when both
 * events came, 2 when they came and the first well before the end (not
 * buffered), 0 when the probe failed (a check says why). */
static int probe_stream(struct doctor *d, const char *bearer_header, const char *query,
                        struct tool_probe_res *r, struct json_object **diag)
{
    char url[1100];
    snprintf(url, sizeof url, "%s/mcp/doctor%s", d->base, query);
    const char *headers[] = {"Accept: text/event-stream", bearer_header, NULL};
    int rc = fetch(d, "GET", url, headers, NULL, r);
    if (rc < 0 || r->status != 200) {
        struct check *c = doctor_add_check(d, "sse-streaming", CHECK_FAIL, "GET %s: %s%s%ld", url,
                                           r->error[0] ? r->error : "",
                                           r->error[0] ? "; status " : "status ", r->status);
        if (r->status == 404 || r->status == 403)
            c->fix_any = "route {base}/mcp/doctor to the responder (the path regexes of conf/ "
                         "cover /mcp/...), and run an mcpgate.fcgi as new as this mcpgate";
        else if (r->status == 429)
            c->status = CHECK_WARN, c->fix_any = "another doctor is running: try again";
        return 0;
    }
    struct json_object *end = sse_event_json(buf_str(&r->body), "end");
    *diag = sse_event_json(buf_str(&r->body), "doctor");
    int got = *diag && end;
    json_object_put(end);
    if (!got) {
        doctor_add_check(d, "sse-streaming", CHECK_FAIL, "%s did not send the two events", url);
        return 0;
    }
    return r->first_body_ms >= 0 && r->total_ms - r->first_body_ms >= HTTP_DOCTOR_GAP_MS / 2 ? 2
                                                                                             : 1;
}

static long long diag_int(struct json_object *diag, const char *key)
{
    struct json_object *v = json_get(diag, key, json_type_int);
    return v ? json_object_get_int64(v) : -1;
}

static void check_stream(struct doctor *d, const char *bearer_header)
{
    struct tool_probe_res r;
    int got = probe_stream(d, bearer_header, "", &r, &d->diag);
    if (!got) {
        tool_probe_res_free(&r);
        return;
    }
    long long pad = diag_int(d->diag, "sse_pad_bytes");
    struct check *c = NULL;
    if (pad <= 0 && got == 2) {
        doctor_add_check(d, "sse-streaming", CHECK_PASS,
                         "first event after %.0f ms, end after %.0f ms: not buffered",
                         r.first_body_ms, r.total_ms);
    } else if (pad <= 0) {
        c = doctor_add_check(
            d, "sse-streaming", CHECK_FAIL,
            "first event after %.0f ms, end after %.0f ms: the stream is buffered (the "
            "responder sent them %d ms apart)",
            r.first_body_ms, r.total_ms, HTTP_DOCTOR_GAP_MS);
    } else {
        /* padded: look at the web server's own buffering too */
        struct tool_probe_res u;
        struct json_object *udiag = NULL;
        int ugot = probe_stream(d, bearer_header, "?pad=0", &u, &udiag);
        json_object_put(udiag);
        if (ugot && got == 2 && ugot == 1) {
            doctor_add_check(d, "sse-streaming", CHECK_PASS,
                             "the web server buffers streams (unpadded, the first event came after "
                             "%.0f ms of %.0f); sse_pad_bytes = %lld pushes each event through at "
                             "that many bytes per event (first event after %.0f ms)",
                             u.first_body_ms, u.total_ms, pad, r.first_body_ms);
        } else if (ugot == 2) {
            c = doctor_add_check(
                d, "sse-streaming", CHECK_WARN,
                "the web server does not buffer streams: sse_pad_bytes = %lld only "
                "costs that many bytes per event",
                pad);
            c->fix_customer = "sse_pad_bytes = 0   (in mcpgate.conf)";
        } else if (ugot) {
            c = doctor_add_check(
                d, "sse-streaming", CHECK_FAIL,
                "buffered even with sse_pad_bytes = %lld: first event after %.0f ms, "
                "end after %.0f ms; the web server's buffer is larger",
                pad, r.first_body_ms, r.total_ms);
        }
        tool_probe_res_free(&u);
    }
    if (c && c->status == CHECK_FAIL) {
        c->fix_fcgid = "FcgidOutputBufferSize 0   (in the VirtualHost or server config)";
        c->fix_proxy = "add flushpackets=on to the ProxyPass/ProxyPassMatch line of the responder";
        c->fix_lighttpd = "server.stream-response-body = 2";
        c->fix_customer = "sse_pad_bytes = 65537   (in mcpgate.conf: one more than the host's "
                          "FcgidOutputBufferSize, 65536 by default)";
        c->ask_host = "FcgidOutputBufferSize 0 for your web space (then sse_pad_bytes = 0)";
    }
    /* the clock: the responder's stamp must fall between our send and receipt */
    struct json_object *t = json_get(d->diag, "time_ms", json_type_int);
    if (t) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        double local_end = (double)now.tv_sec * 1e3 + (double)now.tv_nsec / 1e6;
        double lo = local_end - r.total_ms, hi = lo + (r.first_body_ms >= 0 ? r.first_body_ms : 0);
        double srv = (double)json_object_get_int64(t);
        double skew = srv < lo ? srv - lo : srv > hi ? srv - hi : 0;
        double a = skew < 0 ? -skew : skew;
        struct check *k = doctor_add_check(d, "clock",
                                           a > CLOCK_FAIL_MS   ? CHECK_FAIL
                                           : a > CLOCK_WARN_MS ? CHECK_WARN
                                                               : CHECK_PASS,
                                           "responder clock %+.1f s from ours", skew / 1e3);
        if (k->status != CHECK_PASS)
            k->fix_any = "synchronize the clocks (systemd-timesyncd or chrony) on the responder "
                         "host and here: tokens and sessions expire by the clock";
    }
    tool_probe_res_free(&r);
}

/* A body of max_body_bytes must reach the responder: mod_fcgid answers a
 * body over FcgidMaxRequestLen (131072 by default) with a bare 500. */
static void check_request_length(struct doctor *d, const char *bearer_header)
{
    long long max = diag_int(d->diag, "max_body_bytes");
    if (max <= 0) {
        doctor_add_check(d, "request-length", CHECK_SKIP, "no answer from /mcp/doctor");
        return;
    }
    static const char head[] =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"p\":\"";
    static const char tail[] = "\"}}";
    size_t n = (size_t)max;
    char *body = xmalloc(n + 1);
    memcpy(body, head, sizeof head - 1);
    memset(body + sizeof head - 1, 'x', n - (sizeof head - 1) - (sizeof tail - 1));
    memcpy(body + n - (sizeof tail - 1), tail, sizeof tail);
    const char *headers[] = {"Content-Type: application/json",
                             "Accept: application/json, text/event-stream",
                             "MCP-Protocol-Version: 2025-11-25", bearer_header, NULL};
    struct tool_probe_res r;
    int rc = fetch(d, "POST", d->url, headers, body, &r);
    free(body);
    char rid[128];
    if (rc == 0 && tool_probe_header(&r, "X-Request-Id", rid, sizeof rid)) {
        doctor_add_check(d, "request-length", CHECK_PASS,
                         "a body of max_body_bytes (%lld) reaches the responder", max);
    } else {
        struct check *c = doctor_add_check(
            d, "request-length", CHECK_FAIL,
            "a body of max_body_bytes (%lld) got %s%ld from the web server, not the responder: "
            "the web server's request limit (FcgidMaxRequestLen, %d by default) is lower, and "
            "larger bodies get its bare error instead of mcpgate's 413",
            max, r.error[0] ? r.error : "status ", r.status, FCGID_MAX_REQUEST_DEFAULT);
        c->fix_fcgid = "FcgidMaxRequestLen above max_body_bytes   (in the VirtualHost or server "
                       "config)";
        c->fix_customer = "max_body_bytes = 131072   (in mcpgate.conf: the host's "
                          "FcgidMaxRequestLen, 131072 by default)";
        c->ask_host = "FcgidMaxRequestLen above max_body_bytes, if clients send larger bodies";
    }
    tool_probe_res_free(&r);
}

/* Under Apache: streams must end before FcgidBusyTimeout and send something
 * more often than FcgidIOTimeout, at the defaults hosts keep. */
static void check_timeouts(struct doctor *d)
{
    long long max_s = diag_int(d->diag, "sse_max_s"), beat = diag_int(d->diag, "sse_heartbeat_s");
    if (max_s < 0 || beat < 0) {
        doctor_add_check(d, "stream-timeouts", CHECK_SKIP, "no answer from /mcp/doctor");
        return;
    }
    if (d->fe != FE_APACHE) {
        doctor_add_check(d, "stream-timeouts", CHECK_SKIP, "not Apache: no mod_fcgid timeouts");
        return;
    }
    if (max_s < FCGID_BUSY_TIMEOUT_DEFAULT * 9 / 10 && beat < FCGID_IO_TIMEOUT_DEFAULT / 2) {
        doctor_add_check(
            d, "stream-timeouts", CHECK_PASS,
            "sse_max_s = %lld under FcgidBusyTimeout's default %d s, sse_heartbeat_s = "
            "%lld under FcgidIOTimeout's default %d s",
            max_s, FCGID_BUSY_TIMEOUT_DEFAULT, beat, FCGID_IO_TIMEOUT_DEFAULT);
        return;
    }
    struct check *c = doctor_add_check(
        d, "stream-timeouts", CHECK_WARN,
        "sse_max_s = %lld, sse_heartbeat_s = %lld: at mod_fcgid's defaults (FcgidBusyTimeout "
        "%d s, FcgidIOTimeout %d s) streams are killed instead of ending cleanly",
        max_s, beat, FCGID_BUSY_TIMEOUT_DEFAULT, FCGID_IO_TIMEOUT_DEFAULT);
    c->fix_fcgid = "FcgidBusyTimeout above sse_max_s, FcgidIOTimeout above sse_heartbeat_s";
    c->fix_customer = "sse_max_s = 120 and sse_heartbeat_s = 5   (in mcpgate.conf)";
    c->ask_host = "FcgidBusyTimeout above sse_max_s and FcgidIOTimeout above sse_heartbeat_s, "
                  "if streams must live longer";
}

static void check_authorization(struct doctor *d, const char *bearer_header)
{
    const char *headers[] = {"Content-Type: application/json",
                             "Accept: application/json, text/event-stream",
                             "MCP-Protocol-Version: 2025-11-25", bearer_header, NULL};
    struct tool_probe_res r;
    int rc =
        fetch(d, "POST", d->url, headers, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", &r);
    char www[512] = "";
    tool_probe_header(&r, "WWW-Authenticate", www, sizeof www);
    struct json_object *seen = json_get(d->diag, "authorization_header", json_type_boolean);
    const char *auth = json_get_string(d->diag, "auth");
    struct check *c = NULL;
    if (rc < 0) {
        c = doctor_add_check(d, "authorization", CHECK_FAIL, "POST %s: %s", d->url, r.error);
    } else if (r.status == 401 && strstr(www, "error=\"invalid_token\"")) {
        doctor_add_check(d, "authorization", CHECK_PASS,
                         "a made-up bearer token was refused with error=\"invalid_token\"");
    } else if (r.status == 401) {
        c = doctor_add_check(d, "authorization", CHECK_FAIL,
                             "401 without error=\"invalid_token\": the responder never saw the "
                             "Authorization header (WWW-Authenticate: %.200s)",
                             www[0] ? www : "none");
    } else if (auth && strcmp(auth, "none") == 0 && seen) {
        if (json_object_get_boolean(seen))
            doctor_add_check(d, "authorization", CHECK_PASS,
                             "auth = none; the Authorization header reaches the responder");
        else
            c = doctor_add_check(d, "authorization", CHECK_FAIL,
                                 "auth = none, and the Authorization header does not reach the "
                                 "responder (OAuth would not work)");
    } else {
        c = doctor_add_check(d, "authorization", CHECK_FAIL,
                             "POST %s with a made-up bearer token: status %ld, expected 401",
                             d->url, r.status);
    }
    if (c) {
        c->fix_fcgid = "CGIPassAuth On   (in the <Directory> of mcpgate.fcgi; or FcgidPassHeader "
                       "Authorization), and remove any RequestHeader unset Authorization";
        c->fix_customer = "SetEnvIf Authorization \"(.+)\" HTTP_AUTHORIZATION=$1   (in the "
                          ".htaccess of mcpgate.fcgi's directory; needs AllowOverride FileInfo)";
        c->ask_host = "CGIPassAuth On for your web space (or AllowOverride FileInfo)";
        c->fix_proxy = "CGIPassAuth On   (in the <Location>/<LocationMatch> of the responder's "
                       "paths), and remove any RequestHeader unset Authorization";
        c->fix_lighttpd = "lighttpd passes Authorization by default: remove the mod_setenv or "
                          "mod_magnet rule that drops it";
    }
    tool_probe_res_free(&r);
}

/* GETs one metadata document; checks key == want when key is set. */
static void check_document(struct doctor *d, const char *name, const char *url, const char *key,
                           const char *want)
{
    const char *headers[] = {"Accept: application/json", NULL};
    struct tool_probe_res r;
    int rc = fetch(d, "GET", url, headers, NULL, &r);
    struct json_object *o = NULL;
    struct check *c = NULL;
    if (rc < 0 || r.status != 200) {
        c = doctor_add_check(d, name, CHECK_FAIL, "GET %s: %s%sstatus %ld", url, r.error,
                             r.error[0] ? "; " : "", r.status);
        c->fix_fcgid = c->fix_proxy =
            "send /.well-known/(oauth-protected-resource|oauth-authorization-server)(/.*)? to "
            "the responder: use the AliasMatch / ProxyPassMatch regex of conf/";
        c->fix_lighttpd = "send /.well-known/(oauth-protected-resource|oauth-authorization-"
                          "server)(/.*)? to the responder: use the $HTTP[\"url\"] regex of conf/";
    } else if (json_parse_strict(buf_str(&r.body), r.body.len, &o, NULL) < 0 ||
               !json_object_is_type(o, json_type_object)) {
        doctor_add_check(d, name, CHECK_FAIL, "GET %s: 200 but not a JSON object", url);
    } else if (key && (!json_get_string(o, key) || strcmp(json_get_string(o, key), want) != 0)) {
        c = doctor_add_check(d, name, CHECK_FAIL,
                             "GET %s: %s is \"%.200s\", the URL used says \"%s\"", url, key,
                             json_get_string(o, key) ? json_get_string(o, key) : "", want);
        snprintf(c->fix_any_buf, sizeof c->fix_any_buf,
                 "set base_url = %.500s in mcpgate.conf (the URL clients use)", d->base);
        c->fix_any = c->fix_any_buf;
    } else {
        doctor_add_check(d, name, CHECK_PASS, "200 JSON%s%s", key ? ", " : "", key ? key : "");
    }
    json_object_put(o);
    tool_probe_res_free(&r);
}

static void check_metadata(struct doctor *d)
{
    const char *auth = json_get_string(d->diag, "auth");
    if (auth && strcmp(auth, "none") == 0) {
        doctor_add_check(d, "wellknown", CHECK_SKIP, "auth = none: no OAuth metadata needed");
        return;
    }
    char url[1200];
    snprintf(url, sizeof url, "%s/.well-known/oauth-protected-resource%s/mcp", d->origin, d->path);
    check_document(d, "wellknown-resource", url, "resource", d->url);
    snprintf(url, sizeof url, "%s/.well-known/oauth-protected-resource%s", d->origin, d->path);
    check_document(d, "wellknown-resource-root", url, NULL, NULL);
    if (auth && strcmp(auth, "resource") == 0) {
        /* the authorization server is the one the resource metadata name */
        doctor_add_check(d, "wellknown-as", CHECK_SKIP,
                         "auth = resource: the authorization server is external");
        doctor_check_external_as(d, url);
        return;
    }
    snprintf(url, sizeof url, "%s/.well-known/oauth-authorization-server%s", d->origin, d->path);
    check_document(d, "wellknown-as", url, "issuer", d->base);
}

static void check_diag(struct doctor *d)
{
    if (!d->diag) {
        doctor_add_check(d, "base-url", CHECK_SKIP, "no answer from /mcp/doctor");
        doctor_add_check(d, "schema", CHECK_SKIP, "no answer from /mcp/doctor");
        return;
    }
    const char *base = json_get_string(d->diag, "base_url");
    if (base && strcmp(base, d->base) == 0) {
        doctor_add_check(d, "base-url", CHECK_PASS, "base_url = %s", base);
    } else {
        struct check *c = doctor_add_check(
            d, "base-url", CHECK_FAIL, "the responder's base_url is \"%.300s\", the URL used is %s",
            base ? base : "", d->base);
        snprintf(c->fix_any_buf, sizeof c->fix_any_buf,
                 "set base_url = %.250s in mcpgate.conf (or give clients %.250s/mcp)", d->base,
                 base ? base : "base_url");
        c->fix_any = c->fix_any_buf;
    }
    const char *schema = json_get_string(d->diag, "schema");
    struct json_object *v = json_get(d->diag, "schema_version", json_type_int);
    struct json_object *need = json_get(d->diag, "schema_needed", json_type_int);
    int ver = v ? json_object_get_int(v) : -1, needed = need ? json_object_get_int(need) : -1;
    if (schema && strcmp(schema, "current") == 0) {
        doctor_add_check(d, "schema", CHECK_PASS, "database schema version %d, current", ver);
        return;
    }
    struct check *c =
        doctor_add_check(d, "schema", CHECK_FAIL, "database schema %s (version %d, needs %d)",
                         schema ? schema : "unknown", ver, needed);
    c->fix_any = schema && strcmp(schema, "ahead") == 0
                     ? "the database is newer than the responder: upgrade mcpgate.fcgi"
                 : schema && strcmp(schema, "behind") == 0
                     ? "run mcpgate migrate with the responder's configuration"
                     : "the responder cannot reach PostgreSQL: check database in mcpgate.conf";
}

static void print_fix(const char *label, const char *fix)
{
    if (fix)
        printf("    %-17s %s\n", label, fix);
}

static void print_table(const struct doctor *d)
{
    printf("mcpgate doctor %s%s%s%s\n\n", d->url, d->server[0] ? " (Server: " : "", d->server,
           d->server[0] ? ")" : "");
    printf("%-24s %-5s %s\n", "CHECK", "", "SEEN");
    for (int i = 0; i < d->n_checks; i++)
        printf("%-24s %-5s %s\n", d->checks[i].name, status_names[d->checks[i].status],
               d->checks[i].seen);
    for (int i = 0; i < d->n_checks; i++) {
        const struct check *c = &d->checks[i];
        if (c->status != CHECK_FAIL && c->status != CHECK_WARN)
            continue;
        if (!c->fix_any && !c->fix_fcgid && !c->fix_lighttpd && !c->fix_customer)
            continue;
        printf("\nfix %s:\n", c->name);
        print_fix("any front end:", c->fix_any);
        if (d->fe != FE_LIGHTTPD) {
            print_fix("Apache mod_fcgid:", c->fix_fcgid);
            print_fix("mod_proxy_fcgi:", c->fix_proxy);
            /* a shared host's customer: what they can do, what to ask for */
            print_fix("shared host, you:", c->fix_customer);
            print_fix("ask the host for:", c->ask_host);
        }
        if (d->fe != FE_APACHE)
            print_fix("lighttpd:", c->fix_lighttpd);
    }
}

static void add_fix(struct json_object *fixes, const char *key, const char *fix)
{
    if (fix)
        json_add(fixes, key, json_object_new_string(fix));
}

static void print_json(const struct doctor *d, int ok)
{
    struct json_object *o = json_object_new_object();
    json_add(o, "url", json_object_new_string(d->url));
    json_add(o, "server", json_object_new_string(d->server));
    json_add(o, "ok", json_object_new_boolean(ok));
    struct json_object *arr = json_object_new_array();
    for (int i = 0; i < d->n_checks; i++) {
        const struct check *c = &d->checks[i];
        struct json_object *e = json_object_new_object();
        json_add(e, "name", json_object_new_string(c->name));
        json_add(e, "status", json_object_new_string(status_names[c->status]));
        json_add(e, "seen", json_object_new_string(c->seen));
        struct json_object *fixes = json_object_new_object();
        add_fix(fixes, "any", c->fix_any);
        add_fix(fixes, "apache_fcgid", c->fix_fcgid);
        add_fix(fixes, "apache_proxy_fcgi", c->fix_proxy);
        add_fix(fixes, "lighttpd", c->fix_lighttpd);
        add_fix(fixes, "shared_host_customer", c->fix_customer);
        add_fix(fixes, "shared_host_ask", c->ask_host);
        json_add(e, "fix", fixes);
        json_object_array_add(arr, e);
    }
    json_add(o, "checks", arr);
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: mcpgate doctor --url URL [--json] [--timeout S] [--insecure] [--tools] [--idp]\n"
        "       mcpgate [--config FILE] doctor [--tools] [--idp] [--json]\n"
        "Checks a live deployment the way an MCP client sees it, from any host; needs\n"
        "no configuration and no database. URL is the MCP endpoint clients are given\n"
        "(https://host/mcp; a URL without /mcp is taken as base_url).\n"
        "\n"
        "checks:\n"
        "  https                 the URL is https (plain http: WARN on loopback, else FAIL)\n"
        "  sse-streaming         GET {base}/mcp/doctor sends an event, waits %d ms and a\n"
        "                        second: the first must arrive well before the end, or\n"
        "                        the web server buffers server-sent events; with\n"
        "                        sse_pad_bytes set, also unpadded (?pad=0): whether the\n"
        "                        padding is needed (WARN when not)\n"
        "  clock                 the responder's clock within %d s of ours (WARN over %d s)\n"
        "  authorization         POST URL with a made-up bearer token must get 401 with\n"
        "                        error=\"invalid_token\": else the web server strips the\n"
        "                        Authorization header\n"
        "  request-length        a POST of max_body_bytes reaches the responder (else the\n"
        "                        web server's limit, FcgidMaxRequestLen, is lower)\n"
        "  stream-timeouts       under Apache: sse_max_s and sse_heartbeat_s well under\n"
        "                        mod_fcgid's default FcgidBusyTimeout and FcgidIOTimeout\n"
        "  wellknown-resource    /.well-known/oauth-protected-resource{path}/mcp: 200 JSON,\n"
        "                        resource = URL\n"
        "  wellknown-resource-root  /.well-known/oauth-protected-resource{path}: 200 JSON\n"
        "  wellknown-as          /.well-known/oauth-authorization-server{path}: 200 JSON,\n"
        "                        issuer = base_url (the three are skipped with auth = none)\n"
        "  base-url              the responder's base_url is the URL used\n"
        "  schema                the database schema is the one the responder needs\n"
        "With --tools (reads the configuration, not the database), the tool surface:\n"
        "  tool-count            the tools clients are offered against discovery_threshold\n"
        "                        (WARN: more than %d listed at once)\n"
        "  tool-names            FAIL: characters outside A-Z a-z 0-9 _ -; WARN: over %d\n"
        "  tool-descriptions     WARN: tools without a description\n"
        "  tool-access           FAIL: a POST, PUT, PATCH or DELETE marked read\n"
        "  tool-deprecated       WARN: deprecated tools exposed\n"
        "  connector-NAME        each connector's endpoint /mcp/NAME: its tools against\n"
        "                        discovery_threshold (FAIL: its filters match no tool)\n"
        "With --idp (reads the configuration), for each identity provider NAME:\n"
        "  idp-discovery-NAME    its discovery document answers and names its issuer\n"
        "                        (explicit endpoints: the authorization endpoint answers)\n"
        "  idp-redirect-NAME     the redirect URI to register there (base_url/login/callback)\n"
        "  idp-clock-NAME        its Date header within %d s of our clock (WARN over %d s):\n"
        "                        ID tokens are refused beyond that\n"
        "With auth = resource (under --url, from the resource metadata; under --idp,\n"
        "from rs_issuer):\n"
        "  rs-issuer             the authorization server's discovery document names it\n"
        "  rs-keys               its jwks_uri holds usable signing keys\n"
        "  rs-audience           (--idp) rs_audience lists base_url/mcp, the resource\n"
        "                        the metadata publish\n"
        "  rs-token-exchange     (--idp) its grant_types_supported lists token exchange\n"
        "                        (RFC 8693), which exchange slots of backends need\n"
        "For each problem it prints the fix: the directive for Apache mod_fcgid,\n"
        "mod_proxy_fcgi or lighttpd (only the web server the Server header names), and\n"
        "under Apache what a shared host's customer can set in .htaccess or mcpgate.conf\n"
        "and what to ask the host for.\n"
        "\n"
        "options:\n"
        "  --url URL       the MCP endpoint to check (required)\n"
        "  --json          print the results as one JSON object\n"
        "  --timeout S     longest wait for each request, in seconds (default 10)\n"
        "  --insecure      do not verify the TLS certificate (self-signed test servers)\n"
        "  --tools         check the tool surface too (alone without --url)\n"
        "  --idp           check the identity providers (and with auth = resource the\n"
        "                  authorization server) too (alone without --url)\n"
        "\n"
        "exit status: 0 no check failed (WARN and SKIP allowed), 1 a check failed,\n"
        "2 usage\n",
        HTTP_DOCTOR_GAP_MS, CLOCK_FAIL_MS / 1000, CLOCK_WARN_MS / 1000, TOOLS_ADVISED,
        TOOL_NAME_SHORT, IDP_SKEW_FAIL_S, IDP_SKEW_WARN_S);
}

/* Prints d's checks (as_json: as JSON, else a table). Returns the exit
 * status: 1 when a check failed, else 0. */
static int report(struct doctor *d, int as_json)
{
    int ok = 1;
    for (int i = 0; i < d->n_checks; i++)
        ok &= d->checks[i].status != CHECK_FAIL;
    if (as_json)
        print_json(d, ok);
    else
        print_table(d);
    return ok ? 0 : 1;
}

int cli_doctor(const struct cli_env *env, int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},     {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'}, {"insecure", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},          {"tools", no_argument, NULL, 'T'},
        {"idp", no_argument, NULL, 'I'},           {NULL, 0, NULL, 0},
    };
    int tools = 0, idps = 0;
    static struct doctor d;
    memset(&d, 0, sizeof d);
    d.timeout_ms = 10000;
    const char *url = NULL;
    int as_json = 0, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hk", opts, NULL)) != -1) {
        switch (opt) {
        case 'u':
            url = optarg;
            break;
        case 'j':
            as_json = 1;
            break;
        case 't': {
            char *end;
            long s = strtol(optarg, &end, 10);
            if (*end || s < 1 || s > 300) {
                fprintf(stderr, "mcpgate doctor: --timeout takes 1..300 seconds\n");
                return EXIT_USAGE;
            }
            d.timeout_ms = s * 1000 + HTTP_DOCTOR_GAP_MS;
            break;
        }
        case 'k':
            d.insecure = 1;
            break;
        case 'T':
            tools = 1;
            break;
        case 'I':
            idps = 1;
            break;
        default:
            return cli_usage_end(opt, usage);
        }
    }
    if ((!url && !tools && !idps) || optind < argc || ((tools || idps) && (!env || !env->cfg))) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!url) {
        /* the tool surface alone */
        snprintf(d.url, sizeof d.url, "(configuration)");
        if (tools)
            doctor_check_tools(&d, env->cfg);
        if (idps)
            doctor_check_idps(&d, env->cfg);
        return report(&d, as_json);
    }
    if (parse_url(&d, url) < 0) {
        fprintf(stderr, "mcpgate doctor: --url needs an http:// or https:// URL\n");
        return EXIT_USAGE;
    }
    char token[64], bearer[128];
    crypto_token(24, token);
    snprintf(bearer, sizeof bearer, "Authorization: Bearer mcpgate-doctor-%s", token);

    check_https(&d);
    check_stream(&d, bearer);
    check_authorization(&d, bearer);
    check_request_length(&d, bearer);
    check_timeouts(&d);
    check_metadata(&d);
    check_diag(&d);
    if (tools)
        doctor_check_tools(&d, env->cfg);
    if (idps)
        doctor_check_idps(&d, env->cfg);
    int status = report(&d, as_json);
    json_object_put(d.diag);
    return status;
}
