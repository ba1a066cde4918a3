/*
 * mcp/sse.c - Server-Sent Events on an HTTP response, and following a
 * durable stream.
 */
#include "mcp/sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcp/hold.h"
#include "mcp/wake.h"
#include "oauth/scope.h"
#include "store/lease.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/crypto.h"
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

/* A stream being followed: on its worker's stack frame no more, as it may
 * be held (mcp/hold.h) and resumed on another worker. */
struct follow {
    struct mcp_held held; /* first: the holder hands back &held */
    struct mcp_waiter w;
    const struct mcp_sink *sink; /* the request's, or &held.sink once detached */
    int detached;
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    char stream_id[STORE_STREAM_ID_LEN + 1];
    const char *default_event; /* static */
    long long cursor, deadline, lease;
    int stop_when_done;
    int unpushed;  /* the stream's start (and what follows) has not been pushed */
    int replaying; /* resumed with Last-Event-ID: what is stored is sent again */
    int rc;
};

/* Waits in this thread for the stream's next event or heartbeat. Returns
 * 0, or -1 when the client left. */
static int follow_wait(struct follow *f, const struct mcp_env *env, long long left)
{
    int wait_ms = env->cfg->sse_heartbeat_s * 1000;
    if (wait_ms > left)
        wait_ms = (int)left;
    if (!mcp_wake_wait_db(&f->w, env->db, wait_ms) && mg_now_ms() < f->deadline)
        return f->sink->write(f->sink->ctx, ": ping\n\n", 8) < 0 ? -1 : 0;
    return 0;
}

/* Delivers what is stored, then waits. Returns 1 when the stream was
 * handed to the holder, 0 when it ended (f->rc). */
static int follow_run(struct follow *f, const struct mcp_env *env)
{
    for (;;) {
        struct store_event_batch b;
        enum store_rc src = store_events_after(env->db, f->stream_id, f->hash, f->cursor, &b);
        if (src == STORE_NOT_FOUND) {
            f->rc = -2;
            return 0;
        }
        if (src != STORE_OK) {
            f->rc = -3;
            return 0;
        }
        long long before = f->cursor;
        int wrc = write_batch(f->sink, f->stream_id, &b, f->default_event, &f->cursor);
        if (f->replaying && f->cursor > before)
            metrics_add("mcpgate_sse_events_replayed_total", (double)(f->cursor - before), NULL);
        f->unpushed |= f->cursor > before;
        /* a later connection without Last-Event-ID starts after this */
        if (f->cursor > before &&
            store_stream_delivered(env->db, f->stream_id, f->cursor) != STORE_OK)
            LOG_WARN("msg=\"could not record how far a stream was delivered\"");
        int more = b.n == (int)(sizeof b.ev / sizeof b.ev[0]);
        int complete = b.done && f->cursor >= b.last_seq;
        store_event_batch_free(&b);
        if (wrc < 0) {
            f->rc = -1;
            return 0;
        }
        if (complete && f->stop_when_done)
            return 0;
        if (more)
            continue;
        /* hold no database connection while nothing happens */
        store_conn_release(env->db);
        long long left = f->deadline - mg_now_ms();
        if (left <= 0 || (env->stop_flag && *env->stop_flag))
            return 0;
        /* about to wait: push the events written through a buffering web
         * server now (heartbeats need not reach the client, only keep the
         * web server's idle timer going, so they are never pushed) */
        if (f->unpushed && mcp_sse_push(f->sink) < 0) {
            f->rc = -1;
            return 0;
        }
        f->unpushed = 0;
        f->replaying = 0;
        if (!f->detached && mcp_hold_detach(&f->held, f->sink) == 0) {
            f->detached = 1;
            f->sink = &f->held.sink;
        }
        int parked =
            f->detached ? (f->held.end_ms = f->deadline, mcp_hold_park(&f->held, &f->w)) : -1;
        if (parked == 0)
            return 1;
        if (parked == 1) {
            mcp_wake_take(&f->w);
            continue;
        }
        if (follow_wait(f, env, left) < 0) {
            f->rc = -1;
            return 0;
        }
        if (env->stop_flag && *env->stop_flag)
            return 0;
    }
}

/* The stream ended: what it held goes; a detached one ends its response
 * and gives its lease back here. */
static void follow_end(struct follow *f, const struct mcp_env *env)
{
    mcp_wake_unregister(&f->w);
    metrics_add("mcpgate_sse_streams_open", -1, NULL);
    LOG_DEBUG("msg=\"stream delivery ended\" rc=%d last_seq=%lld", f->rc, f->cursor);
    if (f->detached) {
        store_conn_release(env->db);
        mcp_stream_lease_release(env, f->lease);
        f->held.sink.end(f->held.sink.ctx);
    }
    free(f);
}

/* The holder handed the stream back (mcp/hold.h). */
static void follow_resume(struct mcp_held *h, const struct mcp_env *env)
{
    struct follow *f = (struct follow *)h;
    mcp_hold_unhook(&f->w);
    mcp_wake_take(&f->w);
    if (h->why & MCP_HOLD_GONE)
        f->rc = -1;
    else if (follow_run(f, env))
        return;
    follow_end(f, env);
}

int mcp_sse_follow(const struct mcp_env *env, const struct mcp_sink *sink, const char *session_hash,
                   const char *stream_id, long long after, const char *default_event,
                   int stop_when_done, long long lease)
{
    struct follow *f = xcalloc(1, sizeof *f);
    f->held.resume = follow_resume;
    f->held.fd = -1;
    f->sink = sink;
    snprintf(f->hash, sizeof f->hash, "%s", session_hash);
    snprintf(f->stream_id, sizeof f->stream_id, "%s", stream_id);
    f->default_event = default_event;
    f->cursor = after;
    f->deadline = mg_now_ms() + (long long)env->cfg->sse_max_s * 1000;
    f->lease = lease;
    f->stop_when_done = stop_when_done;
    f->unpushed = 1;
    f->replaying = after > 0;
    char key[MCP_WAKE_KEY_MAX];
    snprintf(key, sizeof key, "e:%s", stream_id);
    /* register before the first read, so no event can slip between them */
    mcp_wake_register(&f->w, key);
    metrics_add("mcpgate_sse_streams_open", 1, NULL);
    if (follow_run(f, env))
        return MCP_SSE_HELD;
    int rc = f->detached ? MCP_SSE_HELD : f->rc;
    follow_end(f, env);
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
