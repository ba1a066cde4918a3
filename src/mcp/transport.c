/*
 * mcp/transport.c - the Streamable HTTP transport of /mcp.
 */
#include "mcp/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mcp/access.h"
#include "mcp/audit.h"
#include "mcp/call.h"
#include "mcp/listen.h"
#include "mcp/methods.h"
#include "mcp/sse.h"
#include "mcp/transport_internal.h"
#include "mcp/version.h"
#include "oauth/scope.h"
#include "store/stream.h"
#include "tools/registry.h"
#include "store/session.h"
#include "util/json.h"
#include "util/log.h"

#include "config.h"

#define ALLOW_METHODS "GET, POST, DELETE"

void tr_reject(struct mcp_http_out *out, int status, int code, const char *message)
{
    out->status = status;
    json_object_put(out->body);
    out->body = jsonrpc_error(NULL, code, message);
}

void tr_unavailable(struct mcp_http_out *out)
{
    tr_reject(out, 503, JSONRPC_INTERNAL_ERROR, "service temporarily unavailable, retry shortly");
    out->retry_after_s = 1;
}

/* Returns 1 when the q parameter in params (";q=0.5;x=y", len bytes) is 0. */
static int quality_zero(const char *params, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++) {
        if (params[i] != ';')
            continue;
        size_t j = i + 1;
        while (j < len && (params[j] == ' ' || params[j] == '\t'))
            j++;
        if (j + 2 < len + 1 && strncasecmp(params + j, "q=", 2) == 0) {
            char q[8] = {0};
            size_t k = 0;
            for (j += 2; j < len && k < sizeof q - 1 && params[j] != ';'; j++)
                q[k++] = params[j];
            return strtod(q, NULL) <= 0.0;
        }
    }
    return 0;
}

/* Returns 1 when the Accept list admits type ("application/json"): by
 * itself, by "application/" "*" or by "*" "/" "*", with a non-zero q. */
static int accepts(const char *accept, const char *type)
{
    size_t major = strcspn(type, "/");
    const char *p = accept;
    while (*p) {
        p += strspn(p, " \t,");
        size_t elem = strcspn(p, ",");
        size_t range = strcspn(p, ",;");
        size_t end = range;
        while (end && (p[end - 1] == ' ' || p[end - 1] == '\t'))
            end--;
        int match =
            (end == strlen(type) && strncasecmp(p, type, end) == 0) ||
            (end == 3 && strncmp(p, "*/*", 3) == 0) ||
            (end == major + 2 && strncasecmp(p, type, major + 1) == 0 && p[major + 1] == '*');
        if (match && !quality_zero(p + range, elem - range))
            return 1;
        p += elem;
    }
    return 0;
}

static int is_json_type(const char *ct)
{
    if (!ct)
        return 0;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return n == 16 && strncasecmp(ct, "application/json", 16) == 0;
}

/* The user a session lookup is made for: any session's owner without
 * authentication. */
static long long caller_id(const struct mcp_env *env)
{
    return env->principal ? env->principal->user_id : STORE_SESSION_ANY_USER;
}

/* With authentication on, a session belongs to the user who began it;
 * for anyone else it does not exist. */
static int session_owned(const struct mcp_env *env, const struct store_session *s)
{
    return !env->principal || s->user_id == env->principal->user_id;
}

/* Checks that the live session whose hash a client-sent id led to (a
 * stream id in /messages?sessionId= or in Last-Event-ID) belongs to the
 * caller. Returns STORE_OK; STORE_NOT_FOUND when it is gone or someone
 * else's (the two are told apart nowhere); or a failure. */
static enum store_rc session_check_owner(const struct mcp_env *env, const char *hash)
{
    struct store_session s;
    enum store_rc rc =
        store_session_find(env->db, hash, env->cfg->session_ttl_s, caller_id(env), &s);
    if (rc != STORE_OK)
        return rc;
    if (!session_owned(env, &s))
        rc = STORE_NOT_FOUND;
    store_session_clear(&s);
    return rc;
}

/* For the outcome of finding a session: 1 when rc is STORE_OK; otherwise
 * answers 404 (the session is unknown: not_found says what to do) or 503
 * and returns 0. */
static int session_rc_ok(enum store_rc rc, struct mcp_http_out *out, const char *not_found)
{
    switch (rc) {
    case STORE_OK:
        return 1;
    case STORE_NOT_FOUND:
        tr_reject(out, 404, MCP_ERROR_SESSION_UNKNOWN, not_found);
        return 0;
    case STORE_UNAVAILABLE:
    case STORE_ERROR:
        break;
    }
    tr_unavailable(out);
    return 0;
}

/* Checks Mcp-Session-Id and loads the session into s (clear it after).
 * Returns 0, or -1 with out filled with the rejection. */
static int load_session(const struct mcp_env *env, const struct mcp_http_in *in,
                        struct mcp_http_out *out, struct store_session *s,
                        char hash[CRYPTO_SHA256_HEX_LEN + 1])
{
    memset(s, 0, sizeof *s);
    if (!in->session_id) {
        tr_reject(out, 400, MCP_ERROR_TRANSPORT, "Bad Request: Mcp-Session-Id header is required");
        return -1;
    }
    if (!mcp_session_id_valid(in->session_id)) {
        tr_reject(out, 400, MCP_ERROR_TRANSPORT, "Bad Request: malformed Mcp-Session-Id header");
        return -1;
    }
    mcp_session_id_hash(in->session_id, hash);
    enum store_rc rc =
        store_session_find(env->db, hash, env->cfg->session_ttl_s, caller_id(env), s);
    if (rc == STORE_OK && !session_owned(env, s)) {
        store_session_clear(s);
        rc = STORE_NOT_FOUND; /* another caller's session is not found for this one */
    }
    return session_rc_ok(rc, out, "Session not found: initialize a new session") ? 0 : -1;
}

static int check_protocol_header(const struct mcp_http_in *in, struct mcp_http_out *out)
{
    if (!in->protocol_version || mcp_version_supported(in->protocol_version))
        return 0;
    char list[128];
    char msg[256];
    mcp_version_list(list, sizeof list);
    snprintf(msg, sizeof msg, "Bad Request: unsupported MCP-Protocol-Version %.32s (supported: %s)",
             in->protocol_version, list);
    tr_reject(out, 400, MCP_ERROR_TRANSPORT, msg);
    return -1;
}

static void handle_delete(const struct mcp_env *env, const struct mcp_http_in *in,
                          struct mcp_http_out *out)
{
    struct store_session s;
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    if (load_session(env, in, out, &s, hash) < 0)
        return;
    store_session_clear(&s);
    if (session_rc_ok(store_session_delete(env->db, hash), out, "Session not found")) {
        out->status = 204;
        LOG_INFO("msg=\"session deleted\"");
    }
}

/* A client's answer to one of our requests (sampling, elicitation). */
static struct json_object *take_response(const struct mcp_env *env, const char *hash,
                                         const struct jsonrpc_msg *msg, struct json_object *obj,
                                         int *unavail)
{
    const char *id =
        json_object_is_type(msg->id, json_type_string) ? json_object_get_string(msg->id) : NULL;
    enum store_rc rc =
        id ? store_pending_respond(env->db, hash, id, json_text(obj, NULL)) : STORE_NOT_FOUND;
    if (rc == STORE_OK)
        return NULL;
    if (rc != STORE_NOT_FOUND) {
        *unavail = 1;
        return NULL;
    }
    return jsonrpc_error(NULL, JSONRPC_INVALID_REQUEST,
                         "Invalid Request: no request with this id is waiting for a response");
}

/* Fills call with what the session says about the client. */
static void call_from_session(struct mcp_call *call, const struct store_session *s,
                              const char *hash)
{
    call->version = s->protocol_version;
    call->session_hash = hash;
    snprintf(call->log_level, sizeof call->log_level, "%s", s->log_level);
    if (s->capabilities &&
        json_parse_strict(s->capabilities, strlen(s->capabilities), &call->client_caps, NULL) < 0)
        call->client_caps = NULL;
}

/* Runs one request or notification of a session; err (zeroed) receives
 * its failure (mcp_dispatch()). Returns the JSON-RPC response to send as
 * JSON, or NULL (notification, or the response went out on the call's
 * stream: then *streamed is set). */
static struct json_object *run_message(const struct mcp_env *env, struct mcp_call *call,
                                       const struct jsonrpc_msg *msg, struct mcp_err *err,
                                       int *unavail, int *streamed)
{
    mcp_call_begin(call, msg);
    struct json_object *r = mcp_dispatch(call, msg, err);
    if (err->e.http == 503 && !call->streaming && !call->publish_stream) {
        json_object_put(r);
        r = NULL;
        *unavail = 1;
    } else if (r && mcp_call_respond(call, r)) {
        r = NULL;
        *streamed = 1;
    }
    mcp_call_finish(call);
    (void)env;
    return r;
}

/* Answers one message of a session in a batch (no streaming there). A call
 * refused for its scope sets *scope (the batch then answers 403). */
static struct json_object *batch_message(const struct mcp_env *env, const struct store_session *s,
                                         const char *hash, struct json_object *obj, int *unavail,
                                         const char **scope)
{
    struct jsonrpc_msg msg;
    jsonrpc_classify(obj, &msg);
    if (msg.kind == JSONRPC_INVALID)
        return jsonrpc_error(msg.id, JSONRPC_INVALID_REQUEST, msg.why);
    if (msg.kind == JSONRPC_RESPONSE)
        return take_response(env, hash, &msg, obj, unavail);
    if (strcmp(msg.method, "initialize") == 0) {
        if (msg.kind == JSONRPC_NOTIFICATION)
            return NULL;
        return jsonrpc_error(msg.id, JSONRPC_INVALID_REQUEST,
                             "initialize must be sent alone, without a session");
    }
    struct mcp_call call = {.env = env, .no_stream = 1};
    call_from_session(&call, s, hash);
    int streamed = 0;
    struct mcp_err err = {0};
    struct json_object *r = run_message(env, &call, &msg, &err, unavail, &streamed);
    if (err.e.http == 403)
        *scope = err.scope;
    return r;
}

/* A batch longer than max_batch_messages is refused whole, before any of
 * it runs. Returns 1 when out holds the 400. */
static int batch_too_long(const struct mcp_env *env, struct json_object *doc,
                          struct mcp_http_out *out)
{
    if (!json_object_is_type(doc, json_type_array) ||
        json_object_array_length(doc) <= (size_t)env->cfg->max_batch_messages)
        return 0;
    char msg[128];
    snprintf(msg, sizeof msg, "Invalid Request: a batch may hold at most %d messages",
             env->cfg->max_batch_messages);
    tr_reject(out, 400, JSONRPC_INVALID_REQUEST, msg);
    return 1;
}

static void handle_batch(const struct mcp_env *env, const struct mcp_http_in *in,
                         struct json_object *arr, struct mcp_http_out *out)
{
    if (batch_too_long(env, arr, out))
        return;
    if (!in->session_id) {
        tr_reject(out, 400, JSONRPC_INVALID_REQUEST,
                  "batch requests need a session of protocol version 2025-03-26");
        return;
    }
    struct store_session s;
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    if (load_session(env, in, out, &s, hash) < 0)
        return;
    if (check_protocol_header(in, out) < 0)
        goto out;
    if (!mcp_version_allows_batch(s.protocol_version)) {
        char msg[128];
        snprintf(msg, sizeof msg, "batch requests are not allowed in protocol version %s",
                 s.protocol_version);
        tr_reject(out, 400, JSONRPC_INVALID_REQUEST, msg);
        goto out;
    }
    size_t n = json_object_array_length(arr);
    if (n == 0) {
        tr_reject(out, 400, JSONRPC_INVALID_REQUEST, "empty batch");
        goto out;
    }
    struct json_object *replies = json_object_new_array();
    int unavail = 0;
    for (size_t i = 0; i < n && !unavail; i++) {
        struct json_object *r = batch_message(env, &s, hash, json_object_array_get_idx(arr, i),
                                              &unavail, &out->insufficient_scope);
        if (r && json_object_array_add(replies, r) != 0)
            json_object_put(r);
    }
    if (unavail) {
        json_object_put(replies);
        tr_unavailable(out);
    } else if (json_object_array_length(replies) == 0) {
        json_object_put(replies);
        out->status = 202;
    } else {
        out->status = out->insufficient_scope ? 403 : 200; /* oauth: the header is added above */
        out->body = replies;
    }
out:
    store_session_clear(&s);
}

static void handle_initialize(const struct mcp_env *env, const struct jsonrpc_msg *msg,
                              struct mcp_http_out *out)
{
    /* the answer is one JSON body: the session's row may be committed later,
     * the answer (with its id) going out only after that (out->audit) */
    struct mcp_call call = {.env = env, .audit_later = 1};
    struct mcp_err err = {0};
    struct json_object *r = mcp_dispatch(&call, msg, &err);
    if (err.e.http == 503) {
        if (call.audit_pending)
            (void)mcp_audit_pending_wait(call.audit_pending);
        json_object_put(r);
        tr_unavailable(out);
        return;
    }
    out->status = 200;
    out->body = r;
    memcpy(out->session_id, call.new_session_id, sizeof out->session_id);
    out->audit = call.audit_pending;
}

static void handle_message(const struct mcp_env *env, const struct mcp_http_in *in,
                           struct json_object *obj, struct mcp_http_out *out)
{
    struct jsonrpc_msg msg;
    jsonrpc_classify(obj, &msg);
    if (msg.kind == JSONRPC_INVALID) {
        out->status = 400;
        out->body = jsonrpc_error(msg.id, JSONRPC_INVALID_REQUEST, msg.why);
        return;
    }
    if (msg.kind == JSONRPC_REQUEST && strcmp(msg.method, "initialize") == 0) {
        handle_initialize(env, &msg, out);
        return;
    }
    struct store_session s;
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    if (load_session(env, in, out, &s, hash) < 0)
        return;
    int unavail = 0, streamed = 0;
    struct json_object *r = NULL;
    if (check_protocol_header(in, out) < 0)
        goto out;
    if (msg.kind == JSONRPC_RESPONSE) {
        r = take_response(env, hash, &msg, obj, &unavail);
        if (r) {
            out->status = 400;
            out->body = r;
            goto out;
        }
    } else if (strcmp(msg.method, "initialize") == 0) {
        /* an initialize notification is meaningless: accept and ignore */
    } else {
        struct mcp_call call = {.env = env, .audit_later = 1};
        call_from_session(&call, &s, hash);
        struct mcp_err err = {0};
        r = run_message(env, &call, &msg, &err, &unavail, &streamed);
        out->insufficient_scope = err.e.http == 403 ? err.scope : NULL; /* oauth: 403 below */
        out->retry_after_s = err.e.http == 429 ? err.retry_after_s : 0; /* 429 below */
        if (call.audit_pending && (unavail || streamed || !r))
            (void)mcp_audit_pending_wait(call.audit_pending); /* no result goes out */
        else
            out->audit = call.audit_pending; /* the result waits for its row */
    }
    if (unavail) {
        json_object_put(r);
        tr_unavailable(out);
    } else if (streamed) {
        out->streamed = 1;
    } else if (!r) {
        out->status = 202;
    } else {
        out->status = out->insufficient_scope ? 403 : out->retry_after_s ? 429 : 200;
        out->body = r;
    }
out:
    store_session_clear(&s);
}

static int is_modern(const struct mcp_http_in *in, struct json_object *doc)
{
    if (in->protocol_version && strcmp(in->protocol_version, MODERN_VERSION) == 0)
        return 1;
    return json_object_is_type(doc, json_type_object) && tr_meta_version(doc) != NULL;
}

/* Reads the JSON body; 406/415/413/400 come first. Returns the document,
 * or NULL with out filled. */
static struct json_object *read_body(const struct mcp_http_in *in, struct mcp_http_out *out)
{
    if (in->accept && !accepts(in->accept, "application/json")) {
        tr_reject(out, 406, MCP_ERROR_TRANSPORT,
                  "Not Acceptable: the client must accept application/json");
        return NULL;
    }
    if (!is_json_type(in->content_type)) {
        tr_reject(out, 415, MCP_ERROR_TRANSPORT,
                  "Unsupported Media Type: Content-Type must be application/json");
        return NULL;
    }
    if (in->body_too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "Content Too Large: the request body exceeds %zu bytes",
                 in->max_body_bytes);
        tr_reject(out, 413, MCP_ERROR_TRANSPORT, msg);
        return NULL;
    }
    struct json_object *doc = NULL;
    struct mg_error jerr = MG_ERROR_INIT;
    if (json_parse_request(in->body, in->body_len, &doc, &jerr) < 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "Parse error: %.100s", jerr.msg);
        tr_reject(out, 400, JSONRPC_PARSE_ERROR, msg);
        return NULL;
    }
    if (!json_object_is_type(doc, json_type_array) && !json_object_is_type(doc, json_type_object)) {
        json_object_put(doc);
        tr_reject(out, 400, JSONRPC_INVALID_REQUEST,
                  "Invalid Request: a JSON-RPC message must be an object");
        return NULL;
    }
    return doc;
}

static void handle_post(const struct mcp_env *env, const struct mcp_http_in *in,
                        struct mcp_http_out *out)
{
    struct json_object *doc = read_body(in, out);
    if (!doc)
        return;
    if (is_modern(in, doc))
        tr_handle_modern(env, in, doc, out);
    else if (json_object_is_type(doc, json_type_array))
        handle_batch(env, in, doc, out);
    else
        handle_message(env, in, doc, out);
    json_object_put(doc);
}

/* --- streams: GET /mcp ------------------------------------------------------- */

/* Takes the lease a held stream needs (mcp_stream_lease_take). Returns 0
 * with *lease, or -1 with out holding 429 (over the caller's cap) or 503. */
int tr_stream_lease(const struct mcp_env *env, struct mcp_http_out *out, long long *lease)
{
    switch (mcp_stream_lease_take(env, env->cfg->sse_max_s + 60, lease)) {
    case 0:
        return 0;
    case 1:
        tr_reject(out, 429, MCP_ERROR_TRANSPORT,
                  "Too Many Requests: too many open streams for this user or token; close one "
                  "or retry later");
        out->retry_after_s = MCP_STREAM_RETRY_S;
        return -1;
    default:
        tr_unavailable(out);
        return -1;
    }
}

/* After mcp_sse_follow: a held stream gives its lease back itself. */
static void after_follow(int rc, struct mcp_http_out *out, long long *lease)
{
    out->streamed = 1;
    if (rc == MCP_SSE_HELD)
        *lease = 0;
    if (rc == -3)
        LOG_WARN("msg=\"stream ended early: the database is unavailable\"");
}

static void handle_get(const struct mcp_env *env, const struct mcp_http_in *in,
                       struct mcp_http_out *out)
{
    if (in->accept && !accepts(in->accept, "text/event-stream")) {
        tr_reject(out, 406, MCP_ERROR_TRANSPORT,
                  "Not Acceptable: the GET stream needs Accept: text/event-stream");
        return;
    }
    struct store_session s;
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    if (load_session(env, in, out, &s, hash) < 0)
        return;
    store_session_clear(&s);
    if (check_protocol_header(in, out) < 0)
        return;
    char stream[STORE_STREAM_ID_LEN + 1];
    long long after = 0;
    if (in->last_event_id) {
        if (mcp_sse_parse_event_id(in->last_event_id, stream, &after) < 0) {
            tr_reject(out, 400, MCP_ERROR_TRANSPORT, "Bad Request: malformed Last-Event-ID");
            return;
        }
        struct store_event_batch probe;
        enum store_rc rc = store_events_after(env->db, stream, hash, after, &probe);
        if (rc == STORE_NOT_FOUND) {
            tr_reject(out, 404, MCP_ERROR_TRANSPORT,
                      "Not Found: Last-Event-ID names no stream of this session");
            return;
        }
        if (rc != STORE_OK) {
            tr_unavailable(out);
            return;
        }
        store_event_batch_free(&probe);
    } else {
        /* not found: deleted since load_session, a DELETE won the race */
        if (!session_rc_ok(store_stream_session(env->db, hash, STORE_STREAM_GET,
                                                env->cfg->session_ttl_s, stream, &after),
                           out, "Session not found: it was deleted; initialize a new one"))
            return;
    }
    long long lease = 0;
    if (tr_stream_lease(env, out, &lease) < 0)
        return;
    if (mcp_sse_begin(env, env->sink, NULL) < 0)
        out->streamed = 1;
    else
        after_follow(mcp_sse_follow(env, env->sink, hash, stream, after, NULL, 1, lease), out,
                     &lease);
    mcp_stream_lease_release(env, lease);
}

/* --- the 2024-11-05 HTTP+SSE transport ----------------------------------------- */

static void legacy_stream(const struct mcp_env *env, const struct mcp_http_in *in,
                          struct mcp_http_out *out, long long *lease);

/* GET /sse: opens (or, with Last-Event-ID, resumes) a session whose
 * messages all travel on this stream. The client names the session by the
 * stream's id in /messages?sessionId=, so the real session id never
 * appears in a URL. A stream id is no capability: Last-Event-ID resumes
 * only a stream of the caller's own session; an unknown one, or another
 * user's, opens a new session of the caller's, and the other stream is
 * neither read nor marked delivered. */
static void handle_legacy_open(const struct mcp_env *env, const struct mcp_http_in *in,
                               struct mcp_http_out *out)
{
    if (in->accept && !accepts(in->accept, "text/event-stream")) {
        tr_reject(out, 406, MCP_ERROR_TRANSPORT, "Not Acceptable: /sse needs text/event-stream");
        return;
    }
    long long lease = 0;
    if (tr_stream_lease(env, out, &lease) < 0)
        return;
    legacy_stream(env, in, out, &lease);
    mcp_stream_lease_release(env, lease);
}

/* Serves GET /sse once the caller holds its stream lease (*lease: 0 once a
 * held stream took it). */
static void legacy_stream(const struct mcp_env *env, const struct mcp_http_in *in,
                          struct mcp_http_out *out, long long *lease)
{
    char stream[STORE_STREAM_ID_LEN + 1];
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    long long after = 0;
    enum store_rc rc = STORE_NOT_FOUND;
    if (in->last_event_id && mcp_sse_parse_event_id(in->last_event_id, stream, &after) == 0)
        rc = store_stream_session_of(env->db, stream, STORE_STREAM_SSE, hash);
    if (rc == STORE_OK)
        rc = session_check_owner(env, hash);
    if (rc == STORE_NOT_FOUND) {
        char id[MCP_SESSION_ID_LEN + 1];
        mcp_session_id_new(id);
        mcp_session_id_hash(id, hash);
        struct store_session_new s = {.id_hash = hash,
                                      .protocol_version = "2024-11-05",
                                      .transport = "sse",
                                      .user_id = env->principal ? env->principal->user_id : 0,
                                      .ttl_s = env->cfg->session_ttl_s};
        rc = store_session_create(env->db, &s);
        if (rc == STORE_OK)
            rc = store_stream_session(env->db, hash, STORE_STREAM_SSE, env->cfg->session_ttl_s,
                                      stream, &after);
    }
    if (rc != STORE_OK) {
        tr_unavailable(out);
        return;
    }
    if (mcp_sse_begin(env, env->sink, NULL) < 0) {
        out->streamed = 1;
        return;
    }
    char endpoint[512], id[MCP_EVENT_ID_MAX];
    snprintf(endpoint, sizeof endpoint, "%s/messages?sessionId=%s", env->cfg->base_path, stream);
    mcp_sse_event_id(id, stream, after);
    if (mcp_sse_event(env->sink, id, "endpoint", endpoint) < 0) {
        out->streamed = 1;
        return;
    }
    after_follow(mcp_sse_follow(env, env->sink, hash, stream, after, "message", 0, *lease), out,
                 lease);
}

/* Answers the POST with 202 at once; the replies travel on the /sse stream. */
static void accepted_now(const struct mcp_env *env, struct mcp_http_out *out)
{
    const char *headers[] = {NULL};
    if (env->sink->begin(env->sink->ctx, 202, "text/plain; charset=utf-8", headers) == 0)
        env->sink->write(env->sink->ctx, "Accepted", 8);
    env->sink->end(env->sink->ctx);
    out->streamed = 1;
}

static void legacy_message(const struct mcp_env *env, const char *hash, const char *stream,
                           struct json_object *obj)
{
    struct jsonrpc_msg msg;
    jsonrpc_classify(obj, &msg);
    struct store_session s;
    if (store_session_find(env->db, hash, env->cfg->session_ttl_s, caller_id(env), &s) != STORE_OK)
        return;
    struct json_object *r = NULL;
    int unavail = 0, streamed = 0;
    if (msg.kind == JSONRPC_INVALID) {
        r = jsonrpc_error(msg.id, JSONRPC_INVALID_REQUEST, msg.why);
    } else if (msg.kind == JSONRPC_RESPONSE) {
        r = take_response(env, hash, &msg, obj, &unavail);
    } else {
        struct mcp_call call = {.env = env, .publish_stream = stream};
        call_from_session(&call, &s, hash);
        struct mcp_err err = {0};
        r = run_message(env, &call, &msg, &err, &unavail, &streamed);
    }
    if (unavail && !r)
        r = jsonrpc_error(msg.id, JSONRPC_INTERNAL_ERROR, "service temporarily unavailable");
    long long seq;
    if (r && store_event_append(env->db, stream, NULL, json_text(r, NULL), 0, &seq) != STORE_OK)
        LOG_WARN("msg=\"could not store a reply for the /sse stream\"");
    json_object_put(r);
    store_session_clear(&s);
}

/* OAuth: the replies to /messages travel on the /sse stream after a 202, too
 * late for a 403, so a call the token's scope does not cover is refused up
 * front, and nothing in the POST runs. Returns 1 when out holds the 403. */
static int legacy_scope_refused(const struct mcp_env *env, struct json_object *doc,
                                struct mcp_http_out *out)
{
    int batch = json_object_is_type(doc, json_type_array);
    size_t n = batch ? json_object_array_length(doc) : 1;
    for (size_t i = 0; i < n; i++) {
        struct jsonrpc_msg msg;
        jsonrpc_classify(batch ? json_object_array_get_idx(doc, i) : doc, &msg);
        const char *missing = mcp_scope_missing(env, &msg);
        if (!missing)
            continue;
        out->status = 403;
        out->insufficient_scope = missing;
        out->body = jsonrpc_error(batch ? NULL : msg.id, JSONRPC_INVALID_REQUEST,
                                  "insufficient scope: this tool needs " OAUTH_SCOPE_WRITE);
        return 1;
    }
    return 0;
}

static void handle_legacy_post(const struct mcp_env *env, const struct mcp_http_in *in,
                               struct mcp_http_out *out)
{
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    const char *stream = in->legacy_session;
    if (!stream || strlen(stream) != STORE_STREAM_ID_LEN) {
        tr_reject(out, 400, MCP_ERROR_TRANSPORT,
                  "Bad Request: sessionId query parameter is required");
        return;
    }
    enum store_rc rc = store_stream_session_of(env->db, stream, STORE_STREAM_SSE, hash);
    if (rc == STORE_OK)
        rc = session_check_owner(env, hash);
    if (!session_rc_ok(rc, out, "Session not found: open a new /sse stream"))
        return;
    struct json_object *doc = read_body(in, out);
    if (!doc)
        return;
    if (batch_too_long(env, doc, out) || legacy_scope_refused(env, doc, out)) {
        json_object_put(doc);
        return;
    }
    accepted_now(env, out);
    if (json_object_is_type(doc, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(doc); i++)
            legacy_message(env, hash, stream, json_object_array_get_idx(doc, i));
    } else {
        legacy_message(env, hash, stream, doc);
    }
    json_object_put(doc);
}

void mcp_http_handle(const struct mcp_env *env, const struct mcp_http_in *in,
                     struct mcp_http_out *out)
{
    memset(out, 0, sizeof *out);
    const char *allow = in->endpoint == MCP_EP_SSE        ? "GET"
                        : in->endpoint == MCP_EP_MESSAGES ? "POST"
                                                          : ALLOW_METHODS;
    int is_post = strcmp(in->method, "POST") == 0;
    int is_get = strcmp(in->method, "GET") == 0;
    int is_delete = strcmp(in->method, "DELETE") == 0;
    int allowed = in->endpoint == MCP_EP_SSE        ? is_get
                  : in->endpoint == MCP_EP_MESSAGES ? is_post
                                                    : is_post || is_get || is_delete;
    /* stateless clients have no GET stream and no session to delete */
    if (allowed && !is_post && in->protocol_version &&
        strcmp(in->protocol_version, MODERN_VERSION) == 0)
        allowed = 0;
    if (!allowed) {
        tr_reject(out, 405, MCP_ERROR_TRANSPORT, "Method Not Allowed");
        out->allow = allow;
        return;
    }
    if (in->origin && !config_origin_allowed(env->cfg, in->origin)) {
        tr_reject(out, 403, MCP_ERROR_TRANSPORT, "Forbidden: Origin not allowed");
        return;
    }
    if (in->host && !config_host_allowed(env->cfg, in->host)) {
        tr_reject(out, 403, MCP_ERROR_TRANSPORT, "Forbidden: Host not allowed");
        return;
    }
    switch (in->endpoint) {
    case MCP_EP_SSE:
        handle_legacy_open(env, in, out);
        return;
    case MCP_EP_MESSAGES:
        handle_legacy_post(env, in, out);
        return;
    case MCP_EP_MCP:
        break;
    }
    if (is_post)
        handle_post(env, in, out);
    else if (is_delete)
        handle_delete(env, in, out);
    else
        handle_get(env, in, out);
}

void mcp_http_out_free(struct mcp_http_out *out)
{
    if (out->audit)
        (void)mcp_audit_pending_wait(out->audit);
    out->audit = NULL;
    json_object_put(out->body);
    out->body = NULL;
}

void mcp_http_out_unavailable(struct mcp_http_out *out)
{
    json_object_put(out->body);
    out->body = NULL;
    out->session_id[0] = '\0';
    out->insufficient_scope = NULL;
    tr_unavailable(out);
}
