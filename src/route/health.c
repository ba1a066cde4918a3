/*
 * route/health.c - GET {base}/health/live and {base}/health/ready: what a
 * load balancer polls.
 */
#include "route/health.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "store/listen.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

/* The last probe of the database, shared by this process's threads. */
static struct {
    pthread_mutex_t lock;
    long long at_ms;  /* monotonic time of the last probe, 0 before the first */
    int probing;      /* 1 while a thread runs a probe */
    enum store_rc rc; /* its result */
    int version;      /* the applied schema version when rc == STORE_OK, else -1 */
    int known;        /* the newest schema version this build knows */
} memo = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* 1 for GET and HEAD; otherwise fills ctx->res with 405 and returns 0. */
static int method_ok(struct http_ctx *ctx)
{
    const char *m = ctx->req->method;
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
        return 1;
    static const char body[] = "{\"error\":\"invalid_request\","
                               "\"error_description\":\"use GET or HEAD\"}";
    http_response_set_body(ctx->res, 405, "application/json", body, sizeof body - 1);
    if (http_response_header(ctx->res, "Allow", "GET, HEAD") < 0)
        LOG_ERROR("msg=\"could not add a response header\"");
    return 0;
}

static void set_json(struct http_response *res, int status, struct json_object *o)
{
    size_t len = 0;
    const char *text = json_text(o, &len);
    http_response_set_body(res, status, "application/json", text, len);
}

enum http_rc http_health_live(struct http_ctx *ctx)
{
    if (!method_ok(ctx))
        return HTTP_REPLY;
    static const char body[] = "{\"status\":\"live\"}";
    http_response_set_body(ctx->res, 200, "application/json", body, sizeof body - 1);
    return HTTP_REPLY;
}

/* The database probe's result, from the memo while it is younger than
 * HTTP_HEALTH_MEMO_MS (or while another thread refreshes it), otherwise
 * fresh from a pooled connection, which goes back to the pool at once. */
static enum store_rc probe_database(struct store_conn *db, int *version, int *known)
{
    long long now = mg_now_ms();
    pthread_mutex_lock(&memo.lock);
    if (memo.at_ms && (now - memo.at_ms < HTTP_HEALTH_MEMO_MS || memo.probing)) {
        enum store_rc rc = memo.rc;
        *version = memo.version;
        *known = memo.known;
        pthread_mutex_unlock(&memo.lock);
        return rc;
    }
    memo.probing = 1;
    pthread_mutex_unlock(&memo.lock);

    int v = -1;
    enum store_rc rc = store_conn_probe(db, &v, known);
    store_conn_release(db);

    pthread_mutex_lock(&memo.lock);
    memo.probing = 0;
    memo.at_ms = mg_now_ms();
    memo.rc = rc;
    memo.version = rc == STORE_OK ? v : -1;
    memo.known = *known;
    pthread_mutex_unlock(&memo.lock);
    *version = rc == STORE_OK ? v : -1;
    return rc;
}

/* The listener's state; a process that has just started waits up to
 * HTTP_HEALTH_START_WAIT_MS for its listener's first connection attempt, so a
 * process spawned for this very request (mod_fcgid) does not look unready. */
static enum store_listener_state listener_state(const volatile int *stop)
{
    enum store_listener_state st = store_listener_state();
    for (int waited = 0;
         st == STORE_LISTENER_STARTING && waited < HTTP_HEALTH_START_WAIT_MS && !(stop && *stop);
         waited += 10) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000000L};
        nanosleep(&ts, NULL);
        st = store_listener_state();
    }
    return st;
}

static const char *listener_name(enum store_listener_state st)
{
    switch (st) {
    case STORE_LISTENER_OFF:
        return "off";
    case STORE_LISTENER_STARTING:
        return "connecting";
    case STORE_LISTENER_CONNECTED:
        return "connected";
    case STORE_LISTENER_RETRYING:
        return "disconnected";
    case STORE_LISTENER_SHARED:
        return "shared";
    }
    return "unknown";
}

static struct json_object *check(int ok, const char *state)
{
    struct json_object *o = json_object_new_object();
    json_add(o, "ok", json_object_new_boolean(ok));
    json_add(o, "state", json_object_new_string(state));
    return o;
}

enum http_rc http_health_ready(struct http_ctx *ctx)
{
    if (!method_ok(ctx))
        return HTTP_REPLY;
    int version = -1, known = 0;
    int db_ok = probe_database(ctx->db, &version, &known) == STORE_OK;
    const char *schema = !db_ok             ? "unknown"
                         : version == known ? "current"
                         : version > known  ? "ahead"
                                            : "behind";
    int schema_ok = db_ok && version >= known;
    enum store_listener_state listener = listener_state(ctx->stop_flag);
    /* shared mode: the worker's own connection LISTENs, so it is up when
     * the database is */
    int listener_ok =
        listener == STORE_LISTENER_CONNECTED || (listener == STORE_LISTENER_SHARED && db_ok);
    int ready = db_ok && schema_ok && listener_ok;

    struct json_object *checks = json_object_new_object();
    json_add(checks, "database", check(db_ok, db_ok ? "reachable" : "unreachable"));
    struct json_object *s = check(schema_ok, schema);
    json_add(s, "version", json_object_new_int(version));
    json_add(s, "needed", json_object_new_int(known));
    json_add(checks, "schema", s);
    json_add(checks, "listener", check(listener_ok, listener_name(listener)));
    struct json_object *o = json_object_new_object();
    json_add(o, "status", json_object_new_string(ready ? "ready" : "not_ready"));
    json_add(o, "checks", checks);
    set_json(ctx->res, ready ? 200 : 503, o);
    json_object_put(o);
    if (!ready && http_response_header(ctx->res, "Retry-After", "1") < 0)
        LOG_ERROR("msg=\"could not add a response header\"");
    return HTTP_REPLY;
}
