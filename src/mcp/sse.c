/*
 * mcp/sse.c - Server-Sent Events on an HTTP response, and following a
 * durable stream.
 */
#include "mcp/sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcp/wake.h"
#include "oauth/scope.h"
#include "store/lease.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/time.h"

int mcp_sse_begin(const struct mcp_env *env, const struct mcp_sink *sink, const char *extra_header)
{
    const char *headers[] = {"Cache-Control: no-cache, no-transform", "X-Accel-Buffering: no",
                             extra_header, NULL};
    if (sink->begin(sink->ctx, 200, "text/event-stream", headers) < 0)
        return -1;
    metrics_add("mcpgate_sse_streams_total", 1, NULL);
    char retry[32];
    snprintf(retry, sizeof retry, "retry: %d\n\n", env->cfg->sse_retry_ms);
    return sink->write(sink->ctx, retry, strlen(retry));
}

int mcp_sse_event(const struct mcp_sink *sink, const char *id, const char *event, const char *data)
{
    struct buf b = {0};
    int rc = 0;
    if (id)
        rc |= buf_printf(&b, "id: %s\n", id);
    if (event)
        rc |= buf_printf(&b, "event: %s\n", event);
    /* JSON text from json-c has no raw newlines; split anyway, as SSE needs */
    const char *p = data;
    do {
        size_t n = strcspn(p, "\n");
        rc |= buf_puts(&b, "data: ");
        rc |= buf_append(&b, p, n);
        rc |= buf_puts(&b, "\n");
        p += n;
        if (*p == '\n')
            p++;
    } while (*p);
    rc |= buf_puts(&b, "\n");
    if (rc == 0)
        rc = sink->write(sink->ctx, b.data, b.len);
    buf_free(&b);
    return rc < 0 ? -1 : 0;
}

int mcp_sse_push(const struct mcp_sink *sink)
{
    if (sink->pad_bytes < 2)
        return 0;
    char *pad = malloc(sink->pad_bytes);
    if (!pad)
        return -1;
    pad[0] = ':';
    memset(pad + 1, ' ', sink->pad_bytes - 2);
    pad[sink->pad_bytes - 1] = '\n';
    int rc = sink->write(sink->ctx, pad, sink->pad_bytes);
    free(pad);
    return rc < 0 ? -1 : 0;
}

void mcp_sse_event_id(char out[MCP_EVENT_ID_MAX], const char *stream_id, long long seq)
{
    snprintf(out, MCP_EVENT_ID_MAX, "%s.%lld", stream_id, seq);
}

int mcp_sse_parse_event_id(const char *s, char stream_id[STORE_STREAM_ID_LEN + 1], long long *seq)
{
    size_t n = strlen(s);
    if (n < STORE_STREAM_ID_LEN + 2 || n > STORE_STREAM_ID_LEN + 20 ||
        s[STORE_STREAM_ID_LEN] != '.')
        return -1;
    for (size_t i = 0; i < STORE_STREAM_ID_LEN; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return -1;
    }
    const char *digits = s + STORE_STREAM_ID_LEN + 1;
    if (strspn(digits, "0123456789") != strlen(digits) || strlen(digits) > 18)
        return -1;
    memcpy(stream_id, s, STORE_STREAM_ID_LEN);
    stream_id[STORE_STREAM_ID_LEN] = '\0';
    *seq = atoll(digits);
    return 0;
}

/* Writes a batch of stored events; returns 0 or -1 (client gone). */
static int write_batch(const struct mcp_sink *sink, const char *stream_id,
                       const struct store_event_batch *b, const char *default_event,
                       long long *cursor)
{
    for (int i = 0; i < b->n; i++) {
        const struct store_event *e = &b->ev[i];
        char id[MCP_EVENT_ID_MAX];
        mcp_sse_event_id(id, stream_id, e->seq);
        const char *name = e->event ? e->event : (e->payload[0] ? default_event : NULL);
        if (mcp_sse_event(sink, id, name, e->payload) < 0)
            return -1;
        *cursor = e->seq;
    }
    return 0;
}

int mcp_sse_follow(const struct mcp_env *env, const struct mcp_sink *sink, const char *session_hash,
                   const char *stream_id, long long after, const char *default_event,
                   int stop_when_done)
{
    struct mcp_waiter w;
    char key[MCP_WAKE_KEY_MAX];
    snprintf(key, sizeof key, "e:%s", stream_id);
    /* register before the first read, so no event can slip between them */
    mcp_wake_register(&w, key);
    long long deadline = mg_now_ms() + (long long)env->cfg->sse_max_s * 1000;
    long long cursor = after;
    int rc = 0;
    int unpushed = 1;          /* the stream's start (and what follows) has not been pushed */
    int replaying = after > 0; /* resumed with Last-Event-ID: what is stored is sent again */
    metrics_add("mcpgate_sse_streams_open", 1, NULL);
    for (;;) {
        struct store_event_batch b;
        enum store_rc src = store_events_after(env->db, stream_id, session_hash, cursor, &b);
        if (src == STORE_NOT_FOUND) {
            rc = -2;
            break;
        }
        if (src != STORE_OK) {
            rc = -3;
            break;
        }
        long long before = cursor;
        int wrc = write_batch(sink, stream_id, &b, default_event, &cursor);
        if (replaying && cursor > before)
            metrics_add("mcpgate_sse_events_replayed_total", (double)(cursor - before), NULL);
        unpushed |= cursor > before;
        /* a later connection without Last-Event-ID starts after this */
        if (cursor > before && store_stream_delivered(env->db, stream_id, cursor) != STORE_OK)
            LOG_WARN("msg=\"could not record how far a stream was delivered\"");
        int more = b.n == (int)(sizeof b.ev / sizeof b.ev[0]);
        int complete = b.done && cursor >= b.last_seq;
        store_event_batch_free(&b);
        if (wrc < 0) {
            rc = -1;
            break;
        }
        if (complete && stop_when_done)
            break;
        if (more)
            continue;
        /* hold no database connection while nothing happens */
        store_conn_release(env->db);
        long long left = deadline - mg_now_ms();
        if (left <= 0 || (env->stop_flag && *env->stop_flag))
            break;
        /* about to wait: push the events written through a buffering web
         * server now (heartbeats need not reach the client, only keep the
         * web server's idle timer going, so they are never pushed) */
        if (unpushed && mcp_sse_push(sink) < 0) {
            rc = -1;
            break;
        }
        unpushed = 0;
        replaying = 0;
        int wait_ms = env->cfg->sse_heartbeat_s * 1000;
        if (wait_ms > left)
            wait_ms = (int)left;
        if (!mcp_wake_wait_db(&w, env->db, wait_ms) && mg_now_ms() < deadline) {
            if (sink->write(sink->ctx, ": ping\n\n", 8) < 0) {
                rc = -1;
                break;
            }
        }
        if (env->stop_flag && *env->stop_flag)
            break;
    }
    mcp_wake_unregister(&w);
    metrics_add("mcpgate_sse_streams_open", -1, NULL);
    LOG_DEBUG("msg=\"stream delivery ended\" rc=%d last_seq=%lld", rc, cursor);
    return rc;
}

int mcp_stream_lease_take(const struct mcp_env *env, int ttl_s, long long *lease)
{
    *lease = 0;
    const struct oauth_principal *p = env->principal;
    if (!p)
        return 0;
    char user_key[40], token_key[80];
    const char *keys[2];
    int caps[2], n = 0;
    /* a cap of 0 is no cap: that key is not counted */
    if (env->cfg->streams_per_user > 0) {
        snprintf(user_key, sizeof user_key, "su:%lld", p->user_id);
        keys[n] = user_key;
        caps[n++] = env->cfg->streams_per_user;
    }
    if (p->token_hash[0] && env->cfg->streams_per_token > 0) {
        snprintf(token_key, sizeof token_key, "st:%s", p->token_hash);
        keys[n] = token_key;
        caps[n++] = env->cfg->streams_per_token;
    }
    if (n == 0)
        return 0;
    long long id = 0;
    if (store_lease_acquire(env->db, keys, caps, n, ttl_s, &id) != STORE_OK)
        return -1;
    if (id == 0) {
        LOG_INFO("msg=\"stream refused: too many held streams\" user_id=%lld", p->user_id);
        return 1;
    }
    *lease = id;
    return 0;
}

void mcp_stream_lease_release(const struct mcp_env *env, long long lease)
{
    if (lease && store_lease_release(env->db, lease) != STORE_OK)
        LOG_WARN("msg=\"could not give back a stream lease: it expires on its own\"");
}
