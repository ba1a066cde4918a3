/*
 * route/doctor.c - GET {base}/mcp/doctor: the probe `mcpgate doctor` reads.
 */
#include "route/doctor.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/lease.h"
#include "store/migrate.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

static atomic_int streams_running;

/* Sleeps about ms milliseconds, in slices, ending early once stop is set. */
static void nap_ms(int ms, const volatile int *stop)
{
    for (int left = ms; left > 0 && !(stop && *stop); left -= 100) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (left < 100 ? left : 100) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static const char *schema_state(enum store_rc rc, int current, int known)
{
    if (rc != STORE_OK)
        return "unknown";
    return current == known ? "current" : current < known ? "behind" : "ahead";
}

/* Writes one SSE event whose data is o's JSON text. Returns 0 or -1. */
static int write_event(const struct http_out *out, const char *event, struct json_object *o)
{
    struct buf b = {0};
    int rc = buf_printf(&b, "event: %s\ndata: %s\n\n", event, json_text(o, NULL));
    if (rc == 0)
        rc = out->write(out->ctx, b.data, b.len);
    if (rc == 0)
        rc = out->flush(out->ctx);
    buf_free(&b);
    return rc;
}

/* sse_pad_bytes of padding (one SSE comment line), as streams write it
 * before they wait. Returns 0 or -1. */
static int write_pad(const struct http_out *out, size_t n)
{
    if (n < 2)
        return 0;
    char *pad = malloc(n);
    if (!pad)
        return -1;
    pad[0] = ':';
    memset(pad + 1, ' ', n - 2);
    pad[n - 1] = '\n';
    int rc = out->write(out->ctx, pad, n);
    if (rc == 0)
        rc = out->flush(out->ctx);
    free(pad);
    return rc;
}

/* 1 when the query asks for no padding ("?pad=0"): doctor's way to see
 * whether the web server itself buffers. */
static int unpadded(const char *uri)
{
    const char *q = strchr(uri, '?');
    return q && strcmp(q + 1, "pad=0") == 0;
}

static int write_stream(struct http_ctx *ctx)
{
    const struct http_out *out = ctx->out;
    int current = 0, known = 0;
    enum store_rc src = store_migrate_status(ctx->db, &current, &known);
    /* the stream waits: give the connection back first */
    store_conn_release(ctx->db);

    struct buf head = {0};
    int rc = buf_printf(&head,
                        "Status: 200 OK\r\nContent-Type: text/event-stream\r\n"
                        "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n"
                        "X-Request-Id: %s\r\n\r\n",
                        ctx->req->request_id);
    if (rc == 0)
        rc = out->write(out->ctx, head.data, head.len);
    buf_free(&head);
    ctx->res->status = 200;

    struct json_object *o = json_object_new_object();
    json_add(o, "base_url", json_object_new_string(ctx->cfg->base_url));
    json_add(o, "auth",
             json_object_new_string(ctx->cfg->auth == MG_AUTH_OAUTH      ? "oauth"
                                    : ctx->cfg->auth == MG_AUTH_RESOURCE ? "resource"
                                                                         : "none"));
    json_add(o, "time_ms", json_object_new_int64(mg_wall_ms()));
    json_add(o, "schema", json_object_new_string(schema_state(src, current, known)));
    json_add(o, "schema_version", json_object_new_int(src == STORE_OK ? current : -1));
    json_add(o, "schema_needed", json_object_new_int(known));
    json_add(o, "authorization_header",
             json_object_new_boolean(http_header(ctx->req, "Authorization") != NULL));
    json_add(o, "gap_ms", json_object_new_int(HTTP_DOCTOR_GAP_MS));
    size_t pad = unpadded(ctx->req->uri) ? 0 : ctx->cfg->sse_pad_bytes;
    json_add(o, "sse_pad_bytes", json_object_new_int64((int64_t)ctx->cfg->sse_pad_bytes));
    json_add(o, "padded", json_object_new_boolean(pad > 0));
    json_add(o, "max_body_bytes", json_object_new_int64((int64_t)ctx->cfg->max_body_bytes));
    json_add(o, "sse_max_s", json_object_new_int(ctx->cfg->sse_max_s));
    json_add(o, "sse_heartbeat_s", json_object_new_int(ctx->cfg->sse_heartbeat_s));
    if (rc == 0)
        rc = write_event(out, "doctor", o);
    json_object_put(o);
    if (rc == 0)
        rc = write_pad(out, pad);
    if (rc < 0)
        return -1;

    nap_ms(HTTP_DOCTOR_GAP_MS, ctx->stop_flag);
    o = json_object_new_object();
    json_add(o, "time_ms", json_object_new_int64(mg_wall_ms()));
    rc = write_event(out, "end", o);
    json_object_put(o);
    return rc;
}

/* Answers 429 (too many diagnostic streams) or 503 (the store is down). */
static enum http_rc busy(struct http_ctx *ctx, int status)
{
    static const char many[] = "{\"error\":\"too_many_requests\","
                               "\"error_description\":\"too many diagnostic streams are running\"}";
    static const char down[] = "{\"error\":\"temporarily_unavailable\","
                               "\"error_description\":\"service temporarily unavailable\"}";
    if (status == 429)
        http_response_set_body(ctx->res, 429, "application/json", many, sizeof many - 1);
    else
        http_response_set_body(ctx->res, 503, "application/json", down, sizeof down - 1);
    if (http_response_header(ctx->res, "Retry-After", "3") < 0)
        LOG_ERROR("msg=\"could not add a response header\"");
    return HTTP_REPLY;
}

enum http_rc http_doctor_handle(struct http_ctx *ctx)
{
    if (strcmp(ctx->req->method, "GET") != 0) {
        ctx->res->status = 405;
        if (http_response_header(ctx->res, "Allow", "GET") < 0)
            LOG_ERROR("msg=\"could not add a response header\"");
        return HTTP_REPLY;
    }
    if (atomic_fetch_add(&streams_running, 1) >= HTTP_DOCTOR_MAX_STREAMS) {
        atomic_fetch_sub(&streams_running, 1);
        return busy(ctx, 429);
    }
    /* the probe is unauthenticated and waits: it shares unauth_waiting_max,
     * counted across every process, with client metadata fetches */
    const char *keys[] = {"uw"};
    const int caps[] = {ctx->cfg->unauth_waiting_max};
    long long lease = 0;
    enum store_rc src =
        store_lease_acquire(ctx->db, keys, caps, 1, HTTP_DOCTOR_GAP_MS / 1000 + 30, &lease);
    if (src != STORE_OK || lease == 0) {
        atomic_fetch_sub(&streams_running, 1);
        return busy(ctx, src == STORE_OK ? 429 : 503);
    }
    if (write_stream(ctx) < 0)
        LOG_INFO("msg=\"client left the diagnostic stream\"");
    if (ctx->out->finish)
        ctx->out->finish(ctx->out->ctx);
    if (store_lease_release(ctx->db, lease) != STORE_OK)
        LOG_WARN("msg=\"could not give back a doctor lease: it expires on its own\"");
    atomic_fetch_sub(&streams_running, 1);
    return HTTP_SENT;
}
