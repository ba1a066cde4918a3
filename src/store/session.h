/*
 * store/session.h - MCP sessions (table mcp_sessions).
 *
 * Owns: persistence of sessions so any process on any host can continue
 * one. Sessions are keyed by the SHA-256 (hex) of the Mcp-Session-Id: the
 * id itself is never stored. An idle session expires after its TTL; use
 * slides the expiry forward (written at most once per half TTL).
 */
#ifndef MG_STORE_SESSION_H
#define MG_STORE_SESSION_H

#include "store/db.h"

struct store_session {
    char protocol_version[16]; /* negotiated at initialize */
    char log_level[16];        /* logging/setLevel, "" when not set */
    char transport[16];        /* "streamable" or "sse" (2024-11-05 HTTP+SSE) */
    char *capabilities;        /* the client's capabilities as JSON text; malloc'ed */
    long long user_id;         /* the user who began it; 0 without authentication */
};

/* Frees what store_session_find() allocated. */
void store_session_clear(struct store_session *s);

struct store_session_new {
    const char *id_hash;          /* 64 hex chars */
    const char *protocol_version; /* negotiated */
    const char *client_name;      /* may be NULL */
    const char *client_version;   /* may be NULL */
    const char *capabilities;     /* client capabilities as JSON text, may be NULL */
    const char *transport;        /* "streamable" (NULL) or "sse" */
    long long user_id;            /* the authenticated user, 0 for none */
    int ttl_s;
};

/* Inserts a session. Returns STORE_OK, STORE_UNAVAILABLE or STORE_ERROR. */
__attribute__((warn_unused_result)) enum store_rc
store_session_create(struct store_conn *c, const struct store_session_new *s);

#define STORE_SESSION_ANY_USER (-1LL)

/* Finds a live session and slides its expiry, but only when it belongs to
 * owner, the user asking (0: none; STORE_SESSION_ANY_USER: whoever it
 * belongs to): someone else's lookup changes nothing. Returns STORE_OK
 * and fills *out (the caller compares out->user_id); STORE_NOT_FOUND for
 * an unknown or expired one; or a failure. */
__attribute__((warn_unused_result)) enum store_rc store_session_find(struct store_conn *c,
                                                                     const char *id_hash, int ttl_s,
                                                                     long long owner,
                                                                     struct store_session *out);

/* Records initialize's outcome on an existing session (the 2024-11-05
 * transport creates the session at GET /sse, before initialize). */
__attribute__((warn_unused_result)) enum store_rc
store_session_initialized(struct store_conn *c, const struct store_session_new *s);

/* Sets the session's logging/setLevel threshold. */
__attribute__((warn_unused_result)) enum store_rc
store_session_set_log_level(struct store_conn *c, const char *id_hash, const char *level);

/* Deletes a session and, when it existed, waits (at most
 * STORE_CACHE_SYNC_MS) until this process has the notification that makes
 * every process forget it. Returns STORE_OK, STORE_NOT_FOUND or a failure. */
__attribute__((warn_unused_result)) enum store_rc store_session_delete(struct store_conn *c,
                                                                       const char *id_hash);

/* Deletes up to 500 sessions that expired more than an hour ago (their
 * streams and events with them), and streams and pending server requests
 * past their own expiry; writes the number of sessions to *n. Returns
 * STORE_OK or a failure. */
__attribute__((warn_unused_result)) enum store_rc store_session_purge(struct store_conn *c, int *n);

#endif
