/*
 * store/stream.h - durable SSE streams, their events, and server-to-client
 * requests waiting for a response (tables mcp_streams, mcp_events,
 * mcp_pending from sql/002_streams.sql).
 *
 * Owns: the event log's ordering rule (seq taken under the stream's row
 * lock, so commit order is seq order) and the NOTIFY keys on channel
 * "mcpgate" that tell other processes something changed. Keys only, never
 * data:
 *   e:<stream_id>            a new event on that stream
 *   r:<request_id>           a client's response to that server request
 *   c:<session_hash>:<id>    the client cancelled request <id> (JSON text)
 *   s:<session_hash>         something for that session (e.g. its GET stream)
 */
#ifndef MG_STORE_STREAM_H
#define MG_STORE_STREAM_H

#include "store/db.h"

#define STORE_NOTIFY_CHANNEL "mcpgate"
#define STORE_STREAM_ID_LEN  22

enum store_stream_kind { STORE_STREAM_POST, STORE_STREAM_GET, STORE_STREAM_SSE };

/* Creates a stream of a request's response (kind POST) with a new random id
 * written to id_out (23 bytes). request_id is the JSON text of the
 * request's id. Returns STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_stream_create(struct store_conn *c, const char *session_hash, const char *request_id,
                    int ttl_s, char id_out[STORE_STREAM_ID_LEN + 1]);

/* Returns the session's long-lived stream (kind GET or SSE), creating it if
 * needed; its id goes to id_out, and to *last_seq the seq after which a new
 * connection starts: the last event written to an earlier connection
 * (store_stream_delivered), so nothing published meanwhile is lost.
 * STORE_NOT_FOUND when the session is gone, also when a DELETE of it
 * commits while this runs (the session row is locked, not trusted). */
__attribute__((warn_unused_result)) enum store_rc
store_stream_session(struct store_conn *c, const char *session_hash, enum store_stream_kind kind,
                     int ttl_s, char id_out[STORE_STREAM_ID_LEN + 1], long long *last_seq);

/* Finds the session of a stream of the given kind (the 2024-11-05
 * transport names its session by its /sse stream). Writes the session's
 * hash (65 bytes). Returns STORE_OK, STORE_NOT_FOUND or a failure. The
 * stream id comes from a client and proves nothing: the caller checks
 * that the session is the requester's before using it. */
__attribute__((warn_unused_result)) enum store_rc
store_stream_session_of(struct store_conn *c, const char *stream_id, enum store_stream_kind kind,
                        char session_hash[65]);

/* Appends an event (event name may be NULL; payload '' for a priming event)
 * and notifies; done marks the stream's last event. Writes its seq to
 * *seq. Returns STORE_OK, STORE_NOT_FOUND (no such stream) or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_event_append(struct store_conn *c, const char *stream_id, const char *event,
                   const char *payload, int done, long long *seq);

/* Records that the events of a session's long-lived stream up to seq were
 * written to a client. Returns STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_stream_delivered(struct store_conn *c, const char *stream_id, long long seq);

/* One stored event, as read back for delivery. */
struct store_event {
    long long seq;
    char *event;   /* NULL for the default event */
    char *payload; /* the JSON-RPC message ('' for a priming event) */
};

struct store_event_batch {
    int n;
    struct store_event ev[64];
    int done;           /* the stream's last event is stored */
    long long last_seq; /* the stream's newest seq */
};

/* Reads up to 64 events after seq `after` of a stream that belongs to the
 * session. Returns STORE_OK (b filled; free with store_event_batch_free()),
 * STORE_NOT_FOUND when the stream does not exist in that session, or a
 * failure. */
__attribute__((warn_unused_result)) enum store_rc
store_events_after(struct store_conn *c, const char *stream_id, const char *session_hash,
                   long long after, struct store_event_batch *b);

void store_event_batch_free(struct store_event_batch *b);

/* Records a server-to-client request that waits for the client's answer. */
__attribute__((warn_unused_result)) enum store_rc
store_pending_create(struct store_conn *c, const char *session_hash, const char *request_id,
                     const char *method, int ttl_s);

/* Stores the client's response to an outstanding request and notifies the
 * waiter. Returns STORE_OK, STORE_NOT_FOUND when no such request is
 * outstanding (never sent, answered already, or expired), or a failure. */
__attribute__((warn_unused_result)) enum store_rc store_pending_respond(struct store_conn *c,
                                                                        const char *session_hash,
                                                                        const char *request_id,
                                                                        const char *response);

/* Takes the response once it arrived: returns STORE_OK with a malloc'ed
 * *response (caller frees) and deletes the row; STORE_NOT_FOUND while none
 * is there; or a failure. */
__attribute__((warn_unused_result)) enum store_rc store_pending_take(struct store_conn *c,
                                                                     const char *session_hash,
                                                                     const char *request_id,
                                                                     char **response);

/* Forgets a request that will not be waited for any more. */
__attribute__((warn_unused_result)) enum store_rc
store_pending_drop(struct store_conn *c, const char *session_hash, const char *request_id);

/* Sends key on the notify channel (e.g. a cancellation). */
__attribute__((warn_unused_result)) enum store_rc store_notify(struct store_conn *c,
                                                               const char *key);

#endif
