/*
 * mcp/sse.h - Server-Sent Events on an HTTP response, and following a
 * durable stream.
 *
 * Owns: the SSE wire format (WHATWG HTML §9.2: "id:", "event:", "data:",
 * "retry:" fields, ":" comments, a blank line ends an event), event ids
 * "<stream_id>.<seq>" (they name their stream, so a Last-Event-ID can only
 * resume the stream it came from), the heartbeat and the bounded life of
 * every stream (heartbeats well under the web server's idle timeout, then
 * close with a retry hint well before mod_fcgid's FcgidBusyTimeout).
 */
#ifndef MG_MCP_SSE_H
#define MG_MCP_SSE_H

#include <stddef.h>

#include "mcp/types.h"
#include "store/stream.h"

/* Where an MCP handler writes a streamed response. The HTTP layer
 * implements it. Header lines are "Name: value" strings, NULL-terminated. */
struct mcp_sink {
    int (*begin)(void *ctx, int status, const char *content_type, const char *const *headers);
    int (*write)(void *ctx, const char *p, size_t n); /* writes and flushes; -1: client gone */
    void (*end)(void *ctx);                           /* ends the HTTP response now */
    void *ctx;
    /* sse_pad_bytes: > 0 when a web server holds output back until that much
     * has come (mod_fcgid's FcgidOutputBufferSize); see mcp_sse_push */
    size_t pad_bytes;
    /* Moves the response out of the request being served into *held (write,
     * end, ctx, pad_bytes; end finishes the response and frees what held
     * it), so that another thread may write and end it once the request's
     * handler has returned (mcp/hold.h); *fd: its connection, or -1.
     * Returns 0, or -1 (nothing changed). NULL: the response cannot be
     * detached. */
    int (*detach)(void *ctx, struct mcp_sink *held, int *fd);
};

#define MCP_EVENT_ID_MAX (STORE_STREAM_ID_LEN + 24)

/* Starts an SSE response (200, text/event-stream, no buffering) with a retry
 * hint. extra_header may be NULL. Returns 0 or -1 (client gone). */
int mcp_sse_begin(const struct mcp_env *env, const struct mcp_sink *sink, const char *extra_header);

/* Writes one event; id and event may be NULL. Returns 0 or -1. */
int mcp_sse_event(const struct mcp_sink *sink, const char *id, const char *event, const char *data);

/* Pushes what was written so far through a buffering web server: with
 * sink->pad_bytes > 0, writes one SSE comment line of that many bytes
 * (clients ignore comments); otherwise nothing. Call it when the stream is
 * about to wait with events (or its start) not yet pushed. Returns 0 or -1. */
int mcp_sse_push(const struct mcp_sink *sink);

/* Formats "<stream_id>.<seq>". */
void mcp_sse_event_id(char out[MCP_EVENT_ID_MAX], const char *stream_id, long long seq);

/* Parses a Last-Event-ID. Returns 0 and fills stream_id/seq, or -1 when it
 * is not one of ours. */
int mcp_sse_parse_event_id(const char *s, char stream_id[STORE_STREAM_ID_LEN + 1], long long *seq);

/* Delivers a stored stream from seq `after` on: replays what is stored,
 * then waits (holding no database connection) for more until the stream is
 * done (stop_when_done), its life is over, the client is gone or the
 * process stops. While it waits, the stream is handed to the holder
 * (mcp/hold.h) when one runs: then this returns MCP_SSE_HELD at once, and
 * the stream, its response and its lease (mcp_stream_lease_take, 0: none;
 * given back at its end) belong to the holder. default_event names events
 * stored without a name (the 2024-11-05 transport wants "message"). The
 * SSE response must have been begun. Otherwise returns 0 when the stream
 * ended normally, -1 when the client left, -2 when the stream does not
 * exist in this session, -3 on a store outage; the caller then gives the
 * lease back. */
#define MCP_SSE_HELD 1
int mcp_sse_follow(const struct mcp_env *env, const struct mcp_sink *sink, const char *session_hash,
                   const char *stream_id, long long after, const char *default_event,
                   int stop_when_done, long long lease);

/* How long a caller over its stream cap is told to wait (Retry-After). */
#define MCP_STREAM_RETRY_S 5

/* Takes a lease for one held stream of the caller (store/lease.h): under
 * the caller's user (streams_per_user) and token (streams_per_token), across
 * every process and host, for at most ttl_s seconds. Without a principal
 * (auth = none) nothing is counted, nor under a cap of 0. Returns 0 with
 * *lease set (0 when nothing was counted; give it back with
 * mcp_stream_lease_release()), 1 when
 * the caller already holds as many streams as allowed, -1 when the store
 * cannot be reached. */
__attribute__((warn_unused_result)) int mcp_stream_lease_take(const struct mcp_env *env, int ttl_s,
                                                              long long *lease);

/* Gives back a lease from mcp_stream_lease_take() (0 is ignored). Cannot
 * fail: a lease not given back expires. */
void mcp_stream_lease_release(const struct mcp_env *env, long long lease);

#endif
