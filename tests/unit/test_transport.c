/*
 * tests/unit/test_transport.c - requests fed straight into the router, no
 * sockets: the HTTP rules of /mcp that hold before (or without) the
 * database. The database here is unreachable on purpose, which also checks
 * that an outage gives 503 with Retry-After.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route/router.h"
#include "mcp/session.h"
#include "store/db.h"
#include "tap.h"
#include "tools/registry.h"
#include "util/json.h"

static struct mg_config cfg;
static struct store_conn *db;
static struct buf wire;

static int mem_write(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    return buf_append(&wire, p, n);
}

static int mem_flush(void *ctx)
{
    (void)ctx;
    return 0;
}

/* Serves one request; returns the status parsed from the wire. */
static int too_large;

static int serve(const char *method, const char *uri, const char *ctype, const char *body,
                 const char **env)
{
    buf_reset(&wire);
    struct http_request req = {
        .method = method,
        .uri = uri,
        .content_type = ctype,
        .content_length = body ? (long long)strlen(body) : -1,
        .body = body ? body : "",
        .body_len = body ? strlen(body) : 0,
        .request_id = "00112233aabbccdd",
        .envp = env,
        .body_too_large = too_large,
    };
    struct http_response res;
    http_response_init(&res);
    struct http_out out = {.write = mem_write, .flush = mem_flush};
    struct http_ctx ctx = {.cfg = &cfg, .db = db, .req = &req, .res = &res, .out = &out};
    http_serve(&ctx);
    http_response_free(&res);
    return atoi(buf_str(&wire) + strlen("Status: "));
}

static const char *wire_body(void)
{
    const char *p = strstr(buf_str(&wire), "\r\n\r\n");
    return p ? p + 4 : "";
}

static int body_error_code(void)
{
    struct json_object *o = json_tokener_parse(wire_body());
    struct json_object *e = json_get(o, "error", json_type_object);
    int code = e ? json_object_get_int(json_get(e, "code", json_type_int)) : 0;
    json_object_put(o);
    return code;
}

static int has_header(const char *line)
{
    return strstr(buf_str(&wire), line) != NULL;
}

static void expect(const char *what, int status, int want_status, int want_code)
{
    int code = body_error_code();
    if (!ok(status == want_status && code == want_code, "%s -> %d %d", what, want_status,
            want_code))
        printf("#   got %d %d\n#   %s\n", status, code, buf_str(&wire));
}

#define PING "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}"

/* Sends res through out into wire; returns the body as sent (wire_body). */
static const char *sent(const struct http_response *res, const struct http_out *out)
{
    buf_reset(&wire);
    if (http_response_send(res, out) < 0)
        return "(send failed)";
    return wire_body();
}

/* http_out.writev over wire, counting its calls. */
static int writev_calls;
static int mem_writev(void *ctx, const struct iovec *iov, int n)
{
    writev_calls++;
    for (int i = 0; i < n; i++)
        if (mem_write(ctx, iov[i].iov_base, iov[i].iov_len) < 0)
            return -1;
    return 0;
}

/* A JSON body is the object's text, held by the response (not a copy):
 * the same bytes, Content-Length and replacement rules as a copied body,
 * through write and through writev. */
static void test_json_body(void)
{
    struct http_out out = {.write = mem_write, .flush = mem_flush};
    struct http_out outv = {.write = mem_write, .writev = mem_writev, .flush = mem_flush};
    struct http_response res;
    http_response_init(&res);
    struct json_object *o = json_object_new_object();
    json_add(o, "a", json_object_new_string("caf\xc3\xa9 \xff"));
    http_response_set_json(&res, 200, o);
    json_object_put(o); /* the response holds its own reference */
    size_t len;
    const char *body = http_response_body(&res, &len);
    is_str(body, "{\"a\":\"caf\xc3\xa9 ?\"}", "the body is the object's text, mended to UTF-8");
    is_str(sent(&res, &out), body, "sent as it is through write");
    char want_len[64];
    snprintf(want_len, sizeof want_len, "Content-Length: %zu\r\n", strlen(body));
    ok(len == strlen(body) && strstr(buf_str(&wire), want_len) != NULL,
       "with its Content-Length (%zu)", len);
    writev_calls = 0;
    is_str(sent(&res, &outv), body, "and through writev");
    is_int(writev_calls, 1, "head and body in one writev");
    http_response_set_json(&res, 201, res.json);
    is_str(http_response_body(&res, &len), "{\"a\":\"caf\xc3\xa9 ?\"}",
           "set_json with the object it holds keeps it");
    http_response_set_body(&res, 202, "text/plain", res.json_text, res.json_len);
    ok(res.json == NULL &&
           strcmp(http_response_body(&res, &len), "{\"a\":\"caf\xc3\xa9 ?\"}") == 0 &&
           res.status == 202,
       "set_body with the held text copies it, then lets the object go");
    http_response_set_json(&res, 200, NULL);
    is_str(http_response_body(&res, &len), "null", "set_json(NULL) is null");
    http_response_set_body(&res, 204, NULL, "", 0);
    is_str(sent(&res, &outv), "", "a 204 sends no body");
    ok(strstr(buf_str(&wire), "Content-Length") == NULL, "nor a Content-Length");
    http_response_free(&res);
}

int main(void)
{
    config_defaults(&cfg);
    struct mg_error err = MG_ERROR_INIT;
    if (config_set(&cfg, "base_url", "https://mcp.example.org", &err) ||
        config_set(&cfg, "database", "host=/nonexistent/socketdir dbname=x", &err) ||
        config_set(&cfg, "auth", "none", &err) || config_finish(&cfg, &err)) {
        printf("Bail out! %s\n", err.msg);
        return 1;
    }
    log_set_level(LOG_LEVEL_ERROR);
    tool_builtin_register();
    db = store_conn_new(cfg.database, 1);
    const char *json = "application/json";
    const char *no_env[] = {NULL};

    expect("unknown path", serve("GET", "/nope", NULL, NULL, no_env), 404, 0);
    ok(has_header("X-Request-Id: 00112233aabbccdd\r\n"), "X-Request-Id on every response");
    ok(strstr(wire_body(), "\"error\":\"not_found\"") != NULL, "404 body names the error");

    expect("PUT", serve("PUT", "/mcp", json, PING, no_env), 405, -32000);
    ok(has_header("Allow: GET, POST, DELETE\r\n"), "405 lists the allowed methods");
    expect("GET without a session", serve("GET", "/mcp", NULL, NULL, no_env), 400, -32000);
    const char *modern[] = {"HTTP_MCP_PROTOCOL_VERSION=2026-07-28", NULL};
    expect("GET from a stateless (2026-07-28) client", serve("GET", "/mcp", NULL, NULL, modern),
           405, -32000);
    expect("DELETE from a stateless client", serve("DELETE", "/mcp", NULL, NULL, modern), 405,
           -32000);
    const char *evil_host[] = {"HTTP_HOST=evil.example.com", NULL};
    expect("foreign Host (DNS rebinding)", serve("POST", "/mcp", json, PING, evil_host), 403,
           -32000);
    const char *own_host[] = {"HTTP_HOST=mcp.example.org:443", NULL};
    expect("own Host with the default port passes on", serve("POST", "/mcp", json, PING, own_host),
           400, -32000);

    const char *evil[] = {"HTTP_ORIGIN=https://evil.example.com", NULL};
    expect("foreign Origin", serve("POST", "/mcp", json, PING, evil), 403, -32000);
    const char *own[] = {"HTTP_ORIGIN=https://mcp.example.org", NULL};
    expect("own Origin passes on to the session check", serve("POST", "/mcp", json, PING, own), 400,
           -32000);

    const char *html[] = {"HTTP_ACCEPT=text/html", NULL};
    expect("Accept text/html", serve("POST", "/mcp", json, PING, html), 406, -32000);
    const char *sse_only[] = {"HTTP_ACCEPT=text/event-stream", NULL};
    expect("Accept text/event-stream only", serve("POST", "/mcp", json, PING, sse_only), 406,
           -32000);
    const char *q0[] = {"HTTP_ACCEPT=application/json;q=0, text/html", NULL};
    expect("Accept application/json;q=0", serve("POST", "/mcp", json, PING, q0), 406, -32000);
    const char *both[] = {"HTTP_ACCEPT=application/json, text/event-stream", NULL};
    expect("Accept json+sse passes on", serve("POST", "/mcp", json, PING, both), 400, -32000);
    const char *star[] = {"HTTP_ACCEPT=*/*", NULL};
    expect("Accept */* passes on", serve("POST", "/mcp", json, PING, star), 400, -32000);
    const char *appstar[] = {"HTTP_ACCEPT=text/plain;q=0.5, application/*;q=0.1", NULL};
    expect("Accept application/* passes on", serve("POST", "/mcp", json, PING, appstar), 400,
           -32000);

    expect("text/plain body", serve("POST", "/mcp", "text/plain", PING, no_env), 415, -32000);
    expect("no Content-Type", serve("POST", "/mcp", NULL, PING, no_env), 415, -32000);
    expect("application/jsonx", serve("POST", "/mcp", "application/jsonx", PING, no_env), 415,
           -32000);
    expect("json with charset passes on",
           serve("POST", "/mcp", "application/json; charset=utf-8", PING, no_env), 400, -32000);

    too_large = 1;
    expect("oversized body with the wrong type is 415 first",
           serve("POST", "/mcp", "text/plain", "", no_env), 415, -32000);
    expect("oversized body", serve("POST", "/mcp", json, "", no_env), 413, -32000);
    too_large = 0;
    expect("malformed JSON", serve("POST", "/mcp", json, "{\"jsonrpc\":", no_env), 400, -32700);
    expect("empty body", serve("POST", "/mcp", json, "", no_env), 400, -32700);
    expect(
        "invalid UTF-8",
        serve("POST", "/mcp", json, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xff\"}", no_env),
        400, -32700);
    expect("a number", serve("POST", "/mcp", json, "42", no_env), 400, -32600);
    expect("not JSON-RPC", serve("POST", "/mcp", json, "{\"id\":1,\"method\":\"ping\"}", no_env),
           400, -32600);
    ok(strstr(wire_body(), "\"id\":1") != NULL, "invalid request echoes a valid id");
    expect("batch without a session", serve("POST", "/mcp", json, "[" PING "]", no_env), 400,
           -32600);

    expect("no session id", serve("POST", "/mcp", json, PING, no_env), 400, -32000);
    const char *malformed[] = {"HTTP_MCP_SESSION_ID=not-a-session", NULL};
    expect("malformed session id", serve("POST", "/mcp", json, PING, malformed), 400, -32000);
    char sid[MCP_SESSION_ID_LEN + 1], hdr[80];
    mcp_session_id_new(sid);
    snprintf(hdr, sizeof hdr, "HTTP_MCP_SESSION_ID=%s", sid);
    const char *wellformed[] = {hdr, NULL};
    expect("database down", serve("POST", "/mcp", json, PING, wellformed), 503, -32603);
    ok(has_header("Retry-After: 1\r\n"), "503 carries Retry-After");
    ok(strstr(buf_str(&wire), sid) == NULL, "the session id is not echoed");
    expect("DELETE with database down", serve("DELETE", "/mcp", NULL, NULL, wellformed), 503,
           -32603);
    expect("DELETE without a session id", serve("DELETE", "/mcp", NULL, NULL, no_env), 400, -32000);

    expect("initialize without protocolVersion",
           serve("POST", "/mcp", json,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}", no_env),
           200, -32602);
    ok(!has_header("Mcp-Session-Id:"), "no session for a refused initialize");
    expect("initialize with database down",
           serve("POST", "/mcp", json,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
                 "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{}}}",
                 no_env),
           503, -32603);

    struct mg_config base = cfg;
    if (config_set(&cfg, "base_url", "https://mcp.example.org/gw/", &err) ||
        config_finish(&cfg, &err))
        printf("# %s\n", err.msg);
    expect("under a base path, /gw/mcp is the endpoint",
           serve("POST", "/gw/mcp?x=1", json, PING, no_env), 400, -32000);
    expect("under a base path, /mcp is not", serve("POST", "/mcp", json, PING, no_env), 404, 0);
    expect("under a base path, /gwmcp is not", serve("POST", "/gwmcp", json, PING, no_env), 404, 0);
    cfg = base;

    /* auth = oauth: the bearer check's outage answer is the same JSON-RPC 503 */
    if (config_set(&cfg, "auth", "oauth", &err) || config_finish(&cfg, &err))
        printf("# %s\n", err.msg);
    const char *bearer[] = {"HTTP_AUTHORIZATION=Bearer abcdefghijklmnopqrstuvwxyz", NULL};
    expect("auth = oauth, bearer check with database down",
           serve("POST", "/mcp", json, PING, bearer), 503, -32603);
    ok(has_header("Retry-After: 1\r\n"), "the bearer check's 503 carries Retry-After");
    expect("auth = oauth, no bearer token", serve("POST", "/mcp", json, PING, no_env), 401, 0);
    ok(has_header("WWW-Authenticate: Bearer"), "the 401 stays an OAuth challenge");
    cfg = base;

    /* connectors under a base path: /gw/mcp/NAME and its metadata, with the
     * base path inserted after the well-known prefix or not */
    if (config_set(&cfg, "base_url", "https://mcp.example.org/gw", &err) ||
        config_set(&cfg, "auth", "oauth", &err) ||
        config_set(&cfg, "connector", "projects tags=Projects title=\"DO Projects\"", &err) ||
        config_finish(&cfg, &err))
        printf("# %s\n", err.msg);
    expect("connector, no bearer token", serve("POST", "/gw/mcp/projects", json, PING, no_env), 401,
           0);
    ok(has_header("resource_metadata=\"https://mcp.example.org/.well-known/"
                  "oauth-protected-resource/gw/mcp/projects\""),
       "the connector's 401 names its own metadata");
    expect("unknown connector", serve("POST", "/gw/mcp/nosuch", json, PING, no_env), 404, 0);
    expect("connector outside the base path", serve("POST", "/mcp/projects", json, PING, no_env),
           404, 0);
    static const char *const prm[] = {"/.well-known/oauth-protected-resource/gw/mcp/projects",
                                      "/gw/.well-known/oauth-protected-resource/mcp/projects"};
    for (size_t i = 0; i < sizeof prm / sizeof prm[0]; i++) {
        int st = serve("GET", prm[i], NULL, NULL, no_env);
        struct json_object *o = json_tokener_parse(wire_body());
        const char *r = json_get_string(o, "resource"), *n = json_get_string(o, "resource_name");
        ok(st == 200 && r && strcmp(r, "https://mcp.example.org/gw/mcp/projects") == 0 && n &&
               strcmp(n, "DO Projects") == 0,
           "%s: the connector's resource and title", prm[i]);
        json_object_put(o);
    }
    ok(serve("GET", "/.well-known/oauth-protected-resource/gw/mcp/nosuch", NULL, NULL, no_env) ==
           404,
       "an unknown connector's metadata: 404");
    cfg = base;

    struct http_response res;
    http_response_init(&res);
    ok(http_response_header(&res, "X-A", "a\r\nSet-Cookie: x=1") < 0 && res.headers.len == 0,
       "a header value with CRLF is refused");
    http_response_free(&res);

    test_json_body();

    store_conn_free(db);
    buf_free(&wire);
    return tap_done();
}
