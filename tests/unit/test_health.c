/*
 * tests/unit/test_health.c - the health endpoints fed straight into the
 * router, no sockets, under a base_url with a path (https://h/gw): liveness
 * answers without anything else; readiness, with the database unreachable and
 * no listener running, answers 503 with Retry-After and names each check.
 */
#include <stdlib.h>

#include "route/router.h"
#include "store/db.h"
#include "store/listen.h"
#include "tap.h"
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
static int serve(const char *method, const char *uri)
{
    buf_reset(&wire);
    const char *env[] = {NULL};
    struct http_request req = {
        .method = method,
        .uri = uri,
        .content_length = -1,
        .body = "",
        .request_id = "00112233aabbccdd",
        .envp = env,
    };
    struct http_response res;
    http_response_init(&res);
    struct http_out out = {.write = mem_write, .flush = mem_flush};
    struct http_ctx ctx = {.cfg = &cfg, .db = db, .req = &req, .res = &res, .out = &out};
    http_serve(&ctx);
    http_response_free(&res);
    return atoi(buf_str(&wire) + strlen("Status: "));
}

static struct json_object *wire_json(void)
{
    const char *p = strstr(buf_str(&wire), "\r\n\r\n");
    return json_tokener_parse(p ? p + 4 : "");
}

static int has_header(const char *line)
{
    return strstr(buf_str(&wire), line) != NULL;
}

/* checks.NAME.state of the body, "" when missing; *ok_out gets checks.NAME.ok. */
static const char *check_state(struct json_object *o, const char *name, int *ok_out)
{
    struct json_object *c =
        json_get(json_get(o, "checks", json_type_object), name, json_type_object);
    struct json_object *okv = json_get(c, "ok", json_type_boolean);
    *ok_out = okv ? json_object_get_boolean(okv) : -1;
    struct json_object *s = json_get(c, "state", json_type_string);
    return s ? json_object_get_string(s) : "";
}

static void ignore_note(const char *key, void *arg)
{
    (void)key;
    (void)arg;
}

int main(void)
{
    config_defaults(&cfg);
    struct mg_error err = MG_ERROR_INIT;
    if (config_set(&cfg, "base_url", "https://mcp.example.org/gw", &err) ||
        config_set(&cfg, "database", "host=/nonexistent/socketdir dbname=x", &err) ||
        config_set(&cfg, "auth", "oauth", &err) || config_finish(&cfg, &err)) {
        printf("Bail out! %s\n", err.msg);
        return 1;
    }
    log_set_level(LOG_LEVEL_ERROR);
    db = store_conn_new(cfg.database, 1);

    is_int(serve("GET", "/gw/health/live"), 200, "GET {base}/health/live -> 200");
    struct json_object *o = wire_json();
    is_str(json_object_get_string(json_get(o, "status", json_type_string)), "live",
           "liveness body: status live");
    json_object_put(o);
    ok(has_header("Cache-Control: no-store\r\n"), "health answers are not cached");
    is_int(serve("HEAD", "/gw/health/live"), 200, "HEAD {base}/health/live -> 200");
    is_int(serve("GET", "/gw/health/live?probe=1"), 200, "a query string does not matter");
    is_int(serve("GET", "/health/live"), 404, "outside base_url's path -> 404");
    is_int(serve("POST", "/gw/health/live"), 405, "POST -> 405");
    ok(has_header("Allow: GET, HEAD\r\n"), "405 names GET and HEAD");

    is_int(serve("GET", "/gw/health/ready"), 503, "GET {base}/health/ready, no database -> 503");
    ok(has_header("Retry-After: 1\r\n"), "503 carries Retry-After: 1");
    o = wire_json();
    is_str(json_object_get_string(json_get(o, "status", json_type_string)), "not_ready",
           "readiness body: status not_ready");
    int okv = 0;
    is_str(check_state(o, "database", &okv), "unreachable", "database: unreachable");
    is_int(okv, 0, "database: ok false");
    is_str(check_state(o, "schema", &okv), "unknown", "schema: unknown");
    is_int(okv, 0, "schema: ok false");
    is_str(check_state(o, "listener", &okv), "off", "listener: off (never started)");
    is_int(okv, 0, "listener: ok false");
    json_object_put(o);
    ok(strstr(buf_str(&wire), "nonexistent") == NULL, "the body does not reveal the conninfo");
    is_int(serve("HEAD", "/gw/health/ready"), 503, "HEAD {base}/health/ready -> 503");
    is_int(serve("DELETE", "/gw/health/ready"), 405, "DELETE -> 405");

    /* shared mode (threads = 1, db_connections = 1): the worker's connection
     * is the listener, up exactly when the database is */
    store_listen_shared(ignore_note, NULL);
    is_int(serve("GET", "/gw/health/ready"), 503, "shared mode, no database -> 503");
    o = wire_json();
    is_str(check_state(o, "listener", &okv), "shared", "listener: shared");
    is_int(okv, 0, "listener: ok false while the database is unreachable");
    json_object_put(o);

    store_conn_free(db);
    buf_free(&wire);
    return tap_done();
}
