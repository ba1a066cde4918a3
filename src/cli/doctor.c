/*
 * cli/doctor.c - mcpgate doctor --url URL: check a live deployment the way
 * an MCP client sees it, and say how to fix what is wrong.
 *
 * Talks only HTTP (tools/probe.h) to the URL given; needs no configuration
 * and no database. Checks, in order: https; the Authorization header reaches
 * the responder (a made-up bearer token must be refused with
 * error="invalid_token", which only the responder can say); SSE is not
 * buffered (GET {base}/mcp/doctor, http/doctor.h, sends an event, waits
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
#include "http/doctor.h"
#include "tools/policy.h"
#include "tools/probe.h"
#include "tools/registry.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/crypto.h"
#include "util/json.h"

#define CLOCK_WARN_MS 5000
#define CLOCK_FAIL_MS 60000

enum check_status { CHECK_PASS, CHECK_WARN, CHECK_FAIL, CHECK_SKIP };

static const char *const status_names[] = {"PASS", "WARN", "FAIL", "SKIP"};

/* Which web server the Server header names; the fixes shown follow it. */
enum front_end { FE_UNKNOWN, FE_APACHE, FE_LIGHTTPD };

#define MAX_CHECKS                                                                                 \
    (18 + MG_MAX_CONNECTORS + 3 * MG_MAX_IDPS) /* the live checks, the tool surface's, one per     \
                                                  connector and three per identity provider */
#define IDP_SKEW_FAIL_S 60                     /* oauth/idp.c refuses ID tokens further off */
#define IDP_SKEW_WARN_S 5

/* mod_fcgid's defaults, which shared hosts keep */
#define FCGID_OUTPUT_BUFFER_DEFAULT 65536
#define FCGID_MAX_REQUEST_DEFAULT   131072
#define FCGID_BUSY_TIMEOUT_DEFAULT  300
#define FCGID_IO_TIMEOUT_DEFAULT    40

#define TOOLS_ADVISED   40 /* clients degrade with more tools listed at once */
#define TOOL_NAME_SHORT 64 /* longest tool name every client takes whole */
#define TOOLS_NAMED     3  /* offending tools named in a check's line */

struct check {
    const char *name;
    enum check_status status;
    char seen[512];
    /* fixes, by front end; NULL where there is none to give */
    const char *fix_fcgid, *fix_proxy, *fix_lighttpd, *fix_any;
    /* for a customer of a shared host: what they can set themselves (in
     * .htaccess or mcpgate.conf), and what to ask the host for */
    const char *fix_customer, *ask_host;
    char fix_any_buf[600];
    char name_buf[64]; /* the name, when made at run time */
};

struct doctor {
    char url[1024];    /* the MCP endpoint, as given (no trailing slash) */
    char base[1024];   /* url without its final /mcp: what base_url should be */
    char origin[1024]; /* scheme://host[:port] */
    const char *path;  /* base's path part, borrowed from base ("" for the root) */
    long timeout_ms;
    int insecure;
    enum front_end fe;
    char server[128];
    struct check checks[MAX_CHECKS];
    int n_checks;
    struct json_object *diag; /* the first event of /mcp/doctor, or NULL */
};

static struct check *add_check(struct doctor *d, const char *name, enum check_status status,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static struct check *add_check(struct doctor *d, const char *name, enum check_status status,
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
    const char *scheme_end = strstr(arg, "://");
    if (!scheme_end || !((scheme_end - arg == 5 && strncasecmp(arg, "https", 5) == 0) ||
                         (scheme_end - arg == 4 && strncasecmp(arg, "http", 4) == 0)))
        return -1;
    const char *host = scheme_end + 3;
    if ((size_t)(host - arg) >= n)
        return -1;
    snprintf(d->url, sizeof d->url, "%.*s", (int)n, arg);
    /* the MCP endpoint is {base}/mcp; a URL without /mcp is taken as the base */
    if (n >= 4 && strcmp(d->url + n - 4, "/mcp") == 0 && n - 4 >= (size_t)(host - arg)) {
        snprintf(d->base, sizeof d->base, "%.*s", (int)(n - 4), d->url);
    } else {
        snprintf(d->base, sizeof d->base, "%s", d->url);
        snprintf(d->url, sizeof d->url, "%.1000s/mcp", d->base);
    }
    size_t hl = strcspn(d->base + (host - arg), "/?#");
    snprintf(d->origin, sizeof d->origin, "%.*s", (int)((size_t)(host - arg) + hl), d->base);
    d->path = d->base + strlen(d->origin);
    return 0;
}

static int is_loopback(const char *origin)
{
    const char *h = strstr(origin, "://") + 3;
    return strncmp(h, "127.", 4) == 0 || strncmp(h, "localhost", 9) == 0 ||
           strncmp(h, "[::1]", 5) == 0;
}

static void check_https(struct doctor *d)
{
    if (strncasecmp(d->url, "https:", 6) == 0) {
        add_check(d, "https", CHECK_PASS, "https");
        return;
    }
    if (is_loopback(d->origin)) {
        add_check(d, "https", CHECK_WARN, "plain http, on loopback only (fine for tests)");
        return;
    }
    struct check *c = add_check(d, "https", CHECK_FAIL,
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
    const char *why;
    if (json_parse_strict(p, strcspn(p, "\n"), &o, &why) < 0)
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
        struct check *c = add_check(d, "sse-streaming", CHECK_FAIL, "GET %s: %s%s%ld", url,
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
        add_check(d, "sse-streaming", CHECK_FAIL, "%s did not send the two events", url);
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
        add_check(d, "sse-streaming", CHECK_PASS,
                  "first event after %.0f ms, end after %.0f ms: not buffered", r.first_body_ms,
                  r.total_ms);
    } else if (pad <= 0) {
        c = add_check(d, "sse-streaming", CHECK_FAIL,
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
            add_check(d, "sse-streaming", CHECK_PASS,
                      "the web server buffers streams (unpadded, the first event came after "
                      "%.0f ms of %.0f); sse_pad_bytes = %lld pushes each event through at "
                      "that many bytes per event (first event after %.0f ms)",
                      u.first_body_ms, u.total_ms, pad, r.first_body_ms);
        } else if (ugot == 2) {
            c = add_check(d, "sse-streaming", CHECK_WARN,
                          "the web server does not buffer streams: sse_pad_bytes = %lld only "
                          "costs that many bytes per event",
                          pad);
            c->fix_customer = "sse_pad_bytes = 0   (in mcpgate.conf)";
        } else if (ugot) {
            c = add_check(d, "sse-streaming", CHECK_FAIL,
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
        struct check *k = add_check(d, "clock",
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
        add_check(d, "request-length", CHECK_SKIP, "no answer from /mcp/doctor");
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
        add_check(d, "request-length", CHECK_PASS,
                  "a body of max_body_bytes (%lld) reaches the responder", max);
    } else {
        struct check *c = add_check(
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
        add_check(d, "stream-timeouts", CHECK_SKIP, "no answer from /mcp/doctor");
        return;
    }
    if (d->fe != FE_APACHE) {
        add_check(d, "stream-timeouts", CHECK_SKIP, "not Apache: no mod_fcgid timeouts");
        return;
    }
    if (max_s < FCGID_BUSY_TIMEOUT_DEFAULT * 9 / 10 && beat < FCGID_IO_TIMEOUT_DEFAULT / 2) {
        add_check(d, "stream-timeouts", CHECK_PASS,
                  "sse_max_s = %lld under FcgidBusyTimeout's default %d s, sse_heartbeat_s = "
                  "%lld under FcgidIOTimeout's default %d s",
                  max_s, FCGID_BUSY_TIMEOUT_DEFAULT, beat, FCGID_IO_TIMEOUT_DEFAULT);
        return;
    }
    struct check *c = add_check(
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
        c = add_check(d, "authorization", CHECK_FAIL, "POST %s: %s", d->url, r.error);
    } else if (r.status == 401 && strstr(www, "error=\"invalid_token\"")) {
        add_check(d, "authorization", CHECK_PASS,
                  "a made-up bearer token was refused with error=\"invalid_token\"");
    } else if (r.status == 401) {
        c = add_check(d, "authorization", CHECK_FAIL,
                      "401 without error=\"invalid_token\": the responder never saw the "
                      "Authorization header (WWW-Authenticate: %.200s)",
                      www[0] ? www : "none");
    } else if (auth && strcmp(auth, "none") == 0 && seen) {
        if (json_object_get_boolean(seen))
            add_check(d, "authorization", CHECK_PASS,
                      "auth = none; the Authorization header reaches the responder");
        else
            c = add_check(d, "authorization", CHECK_FAIL,
                          "auth = none, and the Authorization header does not reach the "
                          "responder (OAuth would not work)");
    } else {
        c = add_check(d, "authorization", CHECK_FAIL,
                      "POST %s with a made-up bearer token: status %ld, expected 401", d->url,
                      r.status);
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
    const char *why = NULL;
    struct check *c = NULL;
    if (rc < 0 || r.status != 200) {
        c = add_check(d, name, CHECK_FAIL, "GET %s: %s%sstatus %ld", url, r.error,
                      r.error[0] ? "; " : "", r.status);
        c->fix_fcgid = c->fix_proxy =
            "send /.well-known/(oauth-protected-resource|oauth-authorization-server)(/.*)? to "
            "the responder: use the AliasMatch / ProxyPassMatch regex of conf/";
        c->fix_lighttpd = "send /.well-known/(oauth-protected-resource|oauth-authorization-"
                          "server)(/.*)? to the responder: use the $HTTP[\"url\"] regex of conf/";
    } else if (json_parse_strict(buf_str(&r.body), r.body.len, &o, &why) < 0 ||
               !json_object_is_type(o, json_type_object)) {
        add_check(d, name, CHECK_FAIL, "GET %s: 200 but not a JSON object", url);
    } else if (key && (!json_get_string(o, key) || strcmp(json_get_string(o, key), want) != 0)) {
        c = add_check(d, name, CHECK_FAIL, "GET %s: %s is \"%.200s\", the URL used says \"%s\"",
                      url, key, json_get_string(o, key) ? json_get_string(o, key) : "", want);
        snprintf(c->fix_any_buf, sizeof c->fix_any_buf,
                 "set base_url = %.500s in mcpgate.conf (the URL clients use)", d->base);
        c->fix_any = c->fix_any_buf;
    } else {
        add_check(d, name, CHECK_PASS, "200 JSON%s%s", key ? ", " : "", key ? key : "");
    }
    json_object_put(o);
    tool_probe_res_free(&r);
}

static void check_metadata(struct doctor *d)
{
    const char *auth = json_get_string(d->diag, "auth");
    if (auth && strcmp(auth, "none") == 0) {
        add_check(d, "wellknown", CHECK_SKIP, "auth = none: no OAuth metadata needed");
        return;
    }
    char url[1200];
    snprintf(url, sizeof url, "%s/.well-known/oauth-protected-resource%s/mcp", d->origin, d->path);
    check_document(d, "wellknown-resource", url, "resource", d->url);
    snprintf(url, sizeof url, "%s/.well-known/oauth-protected-resource%s", d->origin, d->path);
    check_document(d, "wellknown-resource-root", url, NULL, NULL);
    snprintf(url, sizeof url, "%s/.well-known/oauth-authorization-server%s", d->origin, d->path);
    check_document(d, "wellknown-as", url, "issuer", d->base);
}

static void check_diag(struct doctor *d)
{
    if (!d->diag) {
        add_check(d, "base-url", CHECK_SKIP, "no answer from /mcp/doctor");
        add_check(d, "schema", CHECK_SKIP, "no answer from /mcp/doctor");
        return;
    }
    const char *base = json_get_string(d->diag, "base_url");
    if (base && strcmp(base, d->base) == 0) {
        add_check(d, "base-url", CHECK_PASS, "base_url = %s", base);
    } else {
        struct check *c = add_check(d, "base-url", CHECK_FAIL,
                                    "the responder's base_url is \"%.300s\", the URL used is %s",
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
        add_check(d, "schema", CHECK_PASS, "database schema version %d, current", ver);
        return;
    }
    struct check *c =
        add_check(d, "schema", CHECK_FAIL, "database schema %s (version %d, needs %d)",
                  schema ? schema : "unknown", ver, needed);
    c->fix_any = schema && strcmp(schema, "ahead") == 0
                     ? "the database is newer than the responder: upgrade mcpgate.fcgi"
                 : schema && strcmp(schema, "behind") == 0
                     ? "run mcpgate migrate with the responder's configuration"
                     : "the responder cannot reach PostgreSQL: check database in mcpgate.conf";
}

/* --- the identity providers (--idp) ------------------------------------ */

/* A check named PREFIX-NAME for provider p. */
static struct check *idp_check(struct doctor *d, const char *prefix, const struct mg_idp *p,
                               enum check_status status, const char *seen)
{
    struct check *c = add_check(d, "", status, "%s", seen);
    snprintf(c->name_buf, sizeof c->name_buf, "%s-%s", prefix, p->name);
    c->name = c->name_buf;
    return c;
}

/* Seconds since the epoch of an HTTP Date header (RFC 9110 IMF-fixdate),
 * or -1. */
static long long http_date(const char *v)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end)
        return -1;
    return (long long)timegm(&tm);
}

/* The clock check of p from the Date header of res, fetched between t0_s
 * and t1_s. */
static void idp_clock(struct doctor *d, const struct mg_idp *p, const struct tool_probe_res *res,
                      long long t0_s, long long t1_s)
{
    char v[128], seen[200];
    long long at = tool_probe_header(res, "Date", v, sizeof v) ? http_date(v) : -1;
    if (at < 0) {
        idp_check(d, "idp-clock", p, CHECK_SKIP, "the provider sent no Date header");
        return;
    }
    /* the stamp should fall between our send and receipt (whole seconds) */
    long long skew = at < t0_s ? at - t0_s : at > t1_s + 1 ? at - t1_s - 1 : 0;
    long long mag = skew < 0 ? -skew : skew;
    snprintf(seen, sizeof seen, "the provider's clock %+lld s from ours", skew);
    enum check_status st = mag > IDP_SKEW_FAIL_S   ? CHECK_FAIL
                           : mag > IDP_SKEW_WARN_S ? CHECK_WARN
                                                   : CHECK_PASS;
    struct check *c = idp_check(d, "idp-clock", p, st, seen);
    if (st != CHECK_PASS)
        c->fix_any = "synchronize this host's clock (systemd-timesyncd or chrony): ID tokens "
                     "more than 60 s off are refused";
}

/* Discovery (or the explicit endpoints), the redirect URI to register and
 * the clock of provider p. */
static void check_idp(struct doctor *d, const struct mg_config *cfg, const struct mg_idp *p)
{
    char url[700], seen[512];
    size_t il = strlen(p->issuer);
    int explicit = p->authorization_endpoint[0] != '\0';
    if (explicit)
        snprintf(url, sizeof url, "%s", p->authorization_endpoint);
    else
        snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration",
                 (int)(il && p->issuer[il - 1] == '/' ? il - 1 : il), p->issuer);
    struct tool_probe_req req = {.url = url, .timeout_ms = d->timeout_ms, .insecure = d->insecure};
    struct tool_probe_res res;
    struct timespec t0, t1;
    clock_gettime(CLOCK_REALTIME, &t0);
    int rc = tool_probe_run(&req, &res);
    clock_gettime(CLOCK_REALTIME, &t1);
    struct json_object *doc = NULL;
    struct check *c;
    if (rc < 0) {
        snprintf(seen, sizeof seen, "%.300s: %.150s", url, res.error);
        c = idp_check(d, "idp-discovery", p, CHECK_FAIL, seen);
        c->fix_any = "check issuer= (or the endpoints) on the idp line, and that this host "
                     "reaches the provider (DNS, firewall, proxy)";
    } else if (explicit) {
        snprintf(seen, sizeof seen, "explicit endpoints (no discovery); %.300s answers HTTP %ld",
                 url, res.status);
        idp_check(d, "idp-discovery", p, res.status < 500 ? CHECK_PASS : CHECK_FAIL, seen);
    } else {
        const char *why = NULL;
        if (res.status == 200)
            doc = json_tokener_parse(buf_str(&res.body));
        const char *iss = doc ? json_get_string(doc, "issuer") : NULL;
        if (!doc || !json_object_is_type(doc, json_type_object))
            why = "no JSON object";
        else if (!iss || strcmp(iss, p->issuer) != 0)
            why = "it names another issuer";
        else if (!json_get_string(doc, "authorization_endpoint") ||
                 !json_get_string(doc, "token_endpoint") ||
                 (p->identity == MG_IDP_ID_TOKEN && !json_get_string(doc, "jwks_uri")))
            why = "it lacks authorization_endpoint, token_endpoint or jwks_uri";
        if (why) {
            snprintf(seen, sizeof seen, "%.300s: HTTP %ld, %s", url, res.status, why);
            c = idp_check(d, "idp-discovery", p, CHECK_FAIL, seen);
            c->fix_any = "issuer= must be the provider's issuer identifier exactly (its "
                         "discovery document's \"issuer\")";
        } else {
            snprintf(
                seen, sizeof seen, "%.300s: issuer matches%s", url,
                json_get(doc, "authorization_response_iss_parameter_supported", json_type_boolean)
                    ? ", sends iss (RFC 9207)"
                    : "");
            idp_check(d, "idp-discovery", p, CHECK_PASS, seen);
        }
    }
    char cb[600];
    snprintf(cb, sizeof cb, "%s/login/callback", cfg->base_url);
    snprintf(seen, sizeof seen, "register %.250s at the provider for client_id %.150s%s", cb,
             p->client_id, p->client_secret[0] ? "" : " (a public client: PKCE, no secret)");
    idp_check(d, "idp-redirect", p, CHECK_PASS, seen);
    if (rc < 0)
        idp_check(d, "idp-clock", p, CHECK_SKIP, "the provider did not answer");
    else
        idp_clock(d, p, &res, (long long)t0.tv_sec, (long long)t1.tv_sec);
    json_object_put(doc);
    tool_probe_res_free(&res);
}

static void check_idps(struct doctor *d, const struct mg_config *cfg)
{
    if (cfg->n_idps == 0)
        add_check(d, "idp", CHECK_SKIP, "no idp line in the configuration");
    for (int i = 0; i < cfg->n_idps; i++)
        check_idp(d, cfg, &cfg->idps[i]);
}

/* --- the tool surface (--tools) ----------------------------------------- */

struct surface {
    const struct mg_config *cfg;
    int tools, upstreams;
    int in_connector[MG_MAX_CONNECTORS];                   /* tools of each connector */
    int class_of[MG_MAX_CONNECTORS][TOOL_DESTRUCTIVE + 1]; /* by access class */
    int long_names, bad_names, no_desc, write_as_read, deprecated;
    char long_ex[200], bad_ex[200], no_desc_ex[200], write_ex[200], dep_ex[200];
};

static void example(char *buf, size_t len, int *count, const char *name)
{
    if ((*count)++ < TOOLS_NAMED) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%.60s", used ? ", " : "", name);
    }
}

/* One tool as a client will see it: def for its name, backend, tags and
 * access class; method and access as its backend file says (or NULL). */
static void surface_tool(struct surface *s, const struct tool_def *def, const char *method,
                         const char *access, const char *desc, int deprecated)
{
    const char *name = def->name;
    s->tools++;
    for (int i = 0; i < s->cfg->n_connectors; i++)
        if (tool_connector_has(&s->cfg->connectors[i], def)) {
            s->in_connector[i]++;
            s->class_of[i][def->access]++;
        }
    size_t n = strlen(name);
    if (n == 0 ||
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != n)
        example(s->bad_ex, sizeof s->bad_ex, &s->bad_names, name);
    else if (n > TOOL_NAME_SHORT)
        example(s->long_ex, sizeof s->long_ex, &s->long_names, name);
    if (!desc || !*desc)
        example(s->no_desc_ex, sizeof s->no_desc_ex, &s->no_desc, name);
    if (method && access && strcmp(access, "read") == 0 &&
        (strcasecmp(method, "POST") == 0 || strcasecmp(method, "PUT") == 0 ||
         strcasecmp(method, "PATCH") == 0 || strcasecmp(method, "DELETE") == 0))
        example(s->write_ex, sizeof s->write_ex, &s->write_as_read, name);
    if (deprecated)
        example(s->dep_ex, sizeof s->dep_ex, &s->deprecated, name);
}

/* The access class the loader gives a tool of a backend file (tools/backend.h):
 * its "access", else by its method. */
static enum tool_access file_access(const char *method, const char *access)
{
    if (access && strcmp(access, "read") == 0)
        return TOOL_READ;
    if (access && strcmp(access, "write") == 0)
        return TOOL_WRITE;
    if (access && strcmp(access, "destructive") == 0)
        return TOOL_DESTRUCTIVE;
    if (!method || strcasecmp(method, "GET") == 0 || strcasecmp(method, "HEAD") == 0 ||
        strcasecmp(method, "OPTIONS") == 0)
        return TOOL_READ;
    return strcasecmp(method, "DELETE") == 0 ? TOOL_DESTRUCTIVE : TOOL_WRITE;
}

/* Reads the backend files of dir as the responder's loader finds them.
 * Returns 0, or -1 when dir cannot be read (a missing dir: no backends). */
static int surface_backends(struct surface *s, const char *dir, char *why, size_t whylen)
{
    DIR *dh = opendir(dir);
    if (!dh) {
        if (errno == ENOENT)
            return 0;
        snprintf(why, whylen, "could not open backends_dir %.200s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(dh))) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct json_object *b = json_object_from_file(path);
        const char *bname = json_get_string(b, "name");
        const char *kind = json_get_string(b, "kind");
        if (kind && strcmp(kind, "mcp") == 0)
            s->upstreams++;
        struct json_object *tools = json_get(b, "tools", json_type_array);
        for (size_t i = 0; bname && tools && i < json_object_array_length(tools); i++) {
            struct json_object *t = json_object_array_get_idx(tools, i);
            const char *tname = json_get_string(t, "name");
            const char *method = json_get_string(t, "method");
            const char *access = json_get_string(t, "access");
            char full[300];
            snprintf(full, sizeof full, "%.64s_%.200s", bname, tname ? tname : "");
            struct buf tags = {0};
            struct json_object *tl = json_get(t, "tags", json_type_array);
            for (size_t k = 0; tl && k < json_object_array_length(tl); k++) {
                const char *tag = json_object_get_string(json_object_array_get_idx(tl, k));
                if (tag && (buf_puts(&tags, tag) < 0 || buf_puts(&tags, "\n") < 0))
                    break;
            }
            struct tool_def def = {.name = full,
                                   .backend = bname,
                                   .tags = tags.len ? buf_str(&tags) : NULL,
                                   .access = file_access(method, access)};
            surface_tool(s, &def, method, access, json_get_string(t, "description"),
                         json_object_get_boolean(json_get(t, "deprecated", json_type_boolean)));
            buf_free(&tags);
        }
        json_object_put(b);
    }
    closedir(dh);
    return 0;
}

/* The tool count of connector i's endpoint (/mcp/NAME) against the
 * threshold, as tool-count does for /mcp. */
static void check_connector(struct doctor *d, const struct surface *s, int i, const char *more)
{
    const struct mg_connector *cn = &s->cfg->connectors[i];
    int n = s->in_connector[i], threshold = s->cfg->discovery_threshold;
    char seen[200];
    snprintf(seen, sizeof seen, "/mcp/%s (%s): %d tools%s (%d read, %d write, %d destructive)",
             cn->name, cn->title, n, more, s->class_of[i][TOOL_READ], s->class_of[i][TOOL_WRITE],
             s->class_of[i][TOOL_DESTRUCTIVE]);
    struct check *c;
    if (n == 0 && !s->upstreams) {
        c = add_check(d, "", CHECK_FAIL, "%s: its filters match no tool", seen);
        c->fix_any = "check the connector's backends=, tags=, names= and access= in "
                     "mcpgate.conf against the backend files (tags are the operations' tags)";
    } else if (threshold > 0 && n > threshold) {
        c = add_check(d, "", CHECK_WARN,
                      "%s, over discovery_threshold %d: clients see search_tools and a runner "
                      "per access class",
                      seen, threshold);
        c->fix_any = "narrow the connector (tags=, names=) or split it in two, so clients list "
                     "its tools directly";
    } else if (n > TOOLS_ADVISED) {
        c = add_check(d, "", CHECK_WARN, "%s listed at once: clients pick worse from more than %d",
                      seen, TOOLS_ADVISED);
        c->fix_any = "narrow the connector (tags=, names=) or split it in two";
    } else {
        c = add_check(d, "", CHECK_PASS, "%s (discovery_threshold %d)", seen, threshold);
    }
    snprintf(c->name_buf, sizeof c->name_buf, "connector-%s", cn->name);
    c->name = c->name_buf;
}

static void check_tools(struct doctor *d, const struct mg_config *cfg)
{
    struct surface s;
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    char why[300];
    tool_builtin_register();
    for (int i = 0; i < tool_static_count(); i++) {
        const struct tool_def *t = tool_static_at(i);
        surface_tool(&s, t, NULL, NULL, t->description, t->deprecated);
    }
    if (surface_backends(&s, cfg->backends_dir, why, sizeof why) < 0) {
        add_check(d, "tool-count", CHECK_FAIL, "%s", why);
        return;
    }
    char more[80] = "";
    if (s.upstreams)
        snprintf(more, sizeof more, " (and those of %d upstream MCP backends)", s.upstreams);
    int threshold = cfg->discovery_threshold;
    struct check *c;
    if (threshold > 0 && s.tools > threshold)
        add_check(d, "tool-count", CHECK_PASS,
                  "%d tools%s, over discovery_threshold %d: clients see search_tools and a "
                  "runner per access class",
                  s.tools, more, threshold);
    else if (s.tools > TOOLS_ADVISED) {
        c = add_check(d, "tool-count", CHECK_WARN,
                      "%d tools%s listed at once (discovery_threshold %d): clients pick worse "
                      "from more than %d",
                      s.tools, more, threshold, TOOLS_ADVISED);
        c->fix_any = "set discovery_threshold = 40 in mcpgate.conf, or import fewer operations "
                     "(mcpgate backend import-openapi --tag ...)";
    } else
        add_check(d, "tool-count", CHECK_PASS, "%d tools%s (discovery_threshold %d)", s.tools, more,
                  threshold);
    if (s.bad_names) {
        c = add_check(d, "tool-names", CHECK_FAIL,
                      "%d names with characters outside A-Z a-z 0-9 _ -: %s", s.bad_names,
                      s.bad_ex);
        c->fix_any = "rename them in the backend file (or import again: the importer's names "
                     "fit)";
    } else if (s.long_names) {
        c = add_check(d, "tool-names", CHECK_WARN,
                      "%d names longer than %d characters (some clients refuse or cut them): %s",
                      s.long_names, TOOL_NAME_SHORT, s.long_ex);
        c->fix_any = "a shorter backend name, or shorter tool names in the backend file";
    } else
        add_check(d, "tool-names", CHECK_PASS, "every name fits ^[a-zA-Z0-9_-]{1,%d}$",
                  TOOL_NAME_SHORT);
    if (s.no_desc) {
        c = add_check(d, "tool-descriptions", CHECK_WARN,
                      "%d tools without a description (the model sees only the method and "
                      "URL): %s",
                      s.no_desc, s.no_desc_ex);
        c->fix_any = "add \"description\" to those tools in the backend file";
    } else
        add_check(d, "tool-descriptions", CHECK_PASS, "every tool has a description");
    if (s.write_as_read) {
        c = add_check(d, "tool-access", CHECK_FAIL,
                      "%d tools with a write method marked read (clients run them without "
                      "asking): %s",
                      s.write_as_read, s.write_ex);
        c->fix_any = "remove \"access\": \"read\" from them, unless the API really only "
                     "reads there";
    } else
        add_check(d, "tool-access", CHECK_PASS, "no write method is marked read");
    if (s.deprecated) {
        c = add_check(d, "tool-deprecated", CHECK_WARN, "%d deprecated tools exposed: %s",
                      s.deprecated, s.dep_ex);
        c->fix_any = "import again without --include-deprecated, or remove them";
    } else
        add_check(d, "tool-deprecated", CHECK_PASS, "no deprecated tool exposed");
    for (int i = 0; i < cfg->n_connectors; i++)
        check_connector(d, &s, i, more);
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
        "  --idp           check the identity providers too (alone without --url)\n"
        "\n"
        "exit status: 0 no check failed (WARN and SKIP allowed), 1 a check failed,\n"
        "2 usage\n",
        HTTP_DOCTOR_GAP_MS, CLOCK_FAIL_MS / 1000, CLOCK_WARN_MS / 1000, TOOLS_ADVISED,
        TOOL_NAME_SHORT, IDP_SKEW_FAIL_S, IDP_SKEW_WARN_S);
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
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
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
            check_tools(&d, env->cfg);
        if (idps)
            check_idps(&d, env->cfg);
        int tok = 1;
        for (int i = 0; i < d.n_checks; i++)
            tok &= d.checks[i].status != CHECK_FAIL;
        if (as_json)
            print_json(&d, tok);
        else
            print_table(&d);
        return tok ? 0 : 1;
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
        check_tools(&d, env->cfg);
    if (idps)
        check_idps(&d, env->cfg);
    int ok = 1;
    for (int i = 0; i < d.n_checks; i++)
        ok &= d.checks[i].status != CHECK_FAIL;
    if (as_json)
        print_json(&d, ok);
    else
        print_table(&d);
    json_object_put(d.diag);
    return ok ? 0 : 1;
}
