/*
 * tools/upstream.c - the client of an upstream MCP server over Streamable
 * HTTP (MCP 2025-11-25, "Transports"), with libcurl.
 *
 * Every message is one POST of a JSON-RPC message to the backend's URL
 * with "Accept: application/json, text/event-stream". A request is
 * answered with application/json (the response) or text/event-stream: an
 * SSE stream (WHATWG HTML, "Server-sent events") whose events carry
 * notifications, server-to-client requests and, last, the response:
 *
 *   stream = *( *comment-or-field end-of-line ) ; an empty line ends an event
 *   line   = ":" comment | field [ ":" [ " " ] value ]
 *   field  = "data" | "event" | "id" | "retry" | other (ignored)
 *   end-of-line = CRLF | LF | CR
 *
 * The stream is parsed as it arrives (in the libcurl write callback), so
 * progress reaches the client while the tool runs and the exchange ends
 * as soon as the response is read. A notification is answered 202.
 *
 * The session: initialize (protocolVersion 2025-11-25) returns the
 * upstream's Mcp-Session-Id (kept per process, sent on every later
 * message with MCP-Protocol-Version), then notifications/initialized. An
 * upstream that no longer knows the session answers 404 (some answer 400):
 * the session is dropped and the request sent again once after a new
 * initialize. One thread at a time initializes a session, without the
 * backend's lock: requests for that session wait for it (u->ready), the
 * others go on.
 *
 * A backend with an exchange slot (tools/exchange.h) keeps one session
 * per caller (keyed by tool_exchange_caller_key(), TOOL_UPSTREAM_CALLER_
 * SESSIONS of them, the least recently used given up): tools/call goes in
 * the caller's session with the caller's exchanged token; tools/list in
 * the shared session with mcpgate's own token (tool_exchange_own_token()).
 * A 401 gets a fresh token and the request once more. Requests the
 * upstream sends to us on a stream (sampling, elicitation, ping) are not
 * relayed in this version.
 */
#include "tools/upstream.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>

#include "tools/credentials.h"
#include "tools/exchange.h"
#include "tools/upstream_internal.h"
#include "tools/secret_source.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/net.h"
#include "util/time.h"
#include "util/url.h"

#include "config.h"

#define ERROR_EXCERPT_BYTES 500
#define MAX_PAGES           100
#define MAX_TOOLS           2000
#define CANCEL_TIMEOUT_MS   1000

/* How one exchange ended. */
enum up_rc {
    UP_OK,           /* the response (or, for a notification, 2xx) */
    UP_HTTP,         /* an HTTP status other than 2xx and 401 */
    UP_UNAUTHORIZED, /* 401: the token was refused */
    UP_NO_TOKEN,     /* an exchange slot's token could not be had */
    UP_SESSION_GONE, /* 404 (or 400) to a message with our session: initialize again */
    UP_GARBAGE,      /* 2xx, but no JSON-RPC response with our id in it */
    UP_TIMEOUT,
    UP_TOO_LARGE,
    UP_REFUSED, /* the address is private and allow_private is not set */
    UP_CANCELLED,
    UP_UNREACHABLE, /* connect failed, not HTTP, ... */
};

/* --- redaction ------------------------------------------------------- */

struct json_object *tool_upstream_redact(const struct backend *be, struct json_object *obj)
{
    static const char mark[] = "[redacted]";
    if (!obj)
        return NULL;
    size_t len;
    const char *text = json_text(obj, &len);
    struct buf b = {0};
    if (buf_append(&b, text, len) < 0)
        abort();
    int changed = 0;
    for (int i = 0; i < be->n_creds; i++) {
        const char *s = be->creds[i].value;
        size_t sn = s ? strlen(s) : 0;
        if (sn < 4)
            continue;
        /* the secret as it appears in JSON text: escapes are unlikely in a
         * one-line secret; a secret with quotes or backslashes is also
         * looked for verbatim */
        char *hit;
        size_t from = 0;
        while (from < b.len && (hit = memmem(b.data + from, b.len - from, s, sn)) != NULL) {
            struct buf out = {0};
            size_t at = (size_t)(hit - b.data);
            if (buf_append(&out, b.data, at) < 0 || buf_puts(&out, mark) < 0 ||
                buf_append(&out, hit + sn, b.len - at - sn) < 0)
                abort();
            explicit_bzero(b.data, b.len);
            buf_free(&b);
            b = out;
            from = at + sizeof mark - 1;
            changed = 1;
        }
    }
    if (!changed) {
        explicit_bzero(b.data, b.len);
        buf_free(&b);
        return obj;
    }
    struct json_object *clean = NULL;
    if (json_parse_strict(b.data, b.len, &clean, NULL) < 0 || !clean)
        clean = tool_result_text("the upstream's answer held a credential and was withheld", 1);
    explicit_bzero(b.data, b.len);
    buf_free(&b);
    json_object_put(obj);
    return clean;
}

static void free_headers(struct curl_slist *h)
{
    for (struct curl_slist *p = h; p; p = p->next)
        explicit_bzero(p->data, strlen(p->data));
    curl_slist_free_all(h);
}

/* The URL and headers with the backend's credentials, an exchange slot's
 * value being bearer. Returns 0, or -1 with a message in err (a slot
 * without a value). *userpwd is a new string for basic authentication, or
 * NULL. */
static int with_credentials(const struct backend *be, const char *bearer, struct buf *url,
                            struct curl_slist **headers, char **userpwd, struct mg_error *err)
{
    if (buf_puts(url, be->base_url) < 0)
        abort();
    for (int i = 0; i < be->n_auth; i++) {
        const struct backend_cred *c = &be->creds[be->auth[i]];
        const char *value = c->exchange ? bearer : c->value;
        if (!value) {
            mg_error_msg(
                err,
                "%s is not set up: its credential \"%s\" has no value (the operator sets it "
                "with env_file/file in the backend file, see docs/backends.md)",
                be->name, c->slot);
            return -1;
        }
        struct buf h = {0};
        /* value is c->value but for an exchange slot, which is bearer or header */
        if (tool_cred_put(c, value, &h, url, strchr(buf_str(url), '?') ? "&" : "?", userpwd) < 0)
            abort();
        if (h.len)
            *headers = curl_slist_append(*headers, h.data);
        buf_free_secret(&h);
    }
    return 0;
}

/* err for an answer with HTTP status outside 2xx: a JSON-RPC error's
 * message, else the start of the body when it is text. */
static void http_error(const struct backend *be, const struct xfer *x, long status,
                       struct mg_error *err)
{
    size_t n = x->body.len < ERROR_EXCERPT_BYTES ? x->body.len : ERROR_EXCERPT_BYTES;
    /* a JSON-RPC error body says more than the status */
    struct json_object *doc = NULL;
    const char *m = NULL;
    if (x->body.len && json_parse_strict(x->body.data, x->body.len, &doc, NULL) == 0)
        m = json_get_string(json_get(doc, "error", json_type_object), "message");
    if (m)
        mg_error_msg(err, "%s answered HTTP %ld: %.300s", be->name, status, m);
    else if (n && !memchr(x->body.data, '\0', n) && !x->sse)
        mg_error_msg(err, "%s answered HTTP %ld: %.*s", be->name, status, (int)n, x->body.data);
    else
        mg_error_msg(err, "%s answered HTTP %ld", be->name, status);
    json_object_put(doc);
}

/* What an exchange came to (cc: libcurl's result, status: the HTTP
 * status), with err for every failure. */
static enum up_rc outcome(const struct backend *be, struct xfer *x, CURLcode cc, long status,
                          long long want_id, const char *session, struct mg_error *err)
{
    enum up_rc rc;
    if (x->refused) {
        rc = UP_REFUSED;
        mg_error_msg(err,
                     "%s was not called: its address is loopback or private, and the backend does "
                     "not allow that (allow_private)",
                     be->name);
    } else if (x->cancelled) {
        rc = UP_CANCELLED;
        mg_error_msg(err, "the call to %s was cancelled", be->name);
    } else if (x->response) {
        rc = UP_OK; /* read in full, whatever came after it */
    } else if (x->too_large || cc == CURLE_FILESIZE_EXCEEDED) {
        rc = UP_TOO_LARGE;
        mg_error_msg(err, "%s answered with more than %zu bytes, the limit of this backend",
                     be->name, be->max_bytes);
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = UP_TIMEOUT;
        mg_error_msg(err, "%s did not answer within %ld ms", be->name, be->timeout_ms);
    } else if (cc != CURLE_OK) {
        rc = UP_UNREACHABLE;
        mg_error_msg(err, "%s could not be reached or its answer was not HTTP (%s)", be->name,
                     curl_easy_strerror(cc));
    } else if ((status == 404 || status == 400) && session[0]) {
        rc = UP_SESSION_GONE;
        mg_error_msg(err, "%s no longer knows the session (HTTP %ld)", be->name, status);
    } else if (status < 200 || status >= 300) {
        rc = status == 401 ? UP_UNAUTHORIZED : UP_HTTP;
        http_error(be, x, status, err);
    } else if (want_id < 0) {
        rc = UP_OK; /* a notification: 202 Accepted */
    } else if (!x->sse) {
        struct json_object *doc = NULL;
        struct mg_error jerr = MG_ERROR_INIT;
        if (x->body.len && json_parse_strict(x->body.data, x->body.len, &doc, &jerr) == 0 && doc)
            up_on_message(x, doc);
        rc = x->response ? UP_OK : UP_GARBAGE;
        if (!x->response)
            mg_error_msg(err,
                         "%s answered HTTP %ld with something that is not a JSON-RPC "
                         "response (%s)",
                         be->name, status,
                         doc           ? "no response to our request in it"
                         : jerr.msg[0] ? jerr.msg
                                       : "empty body");
    } else {
        rc = UP_GARBAGE;
        mg_error_msg(err, "%s ended its event stream without a response to our request%s", be->name,
                     x->bad_json ? " (an event was not JSON)" : "");
    }
    return rc;
}

/* The options of one POST of body (len bytes) to url. */
static void set_options(CURL *h, const char *url, struct curl_slist *headers, const char *userpwd,
                        const char *body, size_t body_len, long timeout_ms, struct xfer *x)
{
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 10000 ? timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, up_open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, up_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, up_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, up_on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mcpgate/" PACKAGE_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    if (userpwd) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
    }
}

/*
 * POSTs msg (borrowed) with the session headers session/version ("" for
 * none) and bearer as an exchange slot's value within timeout_ms. want_id is the request's id (-1:
 * a notification). On UP_OK the response, if any, is in x->response (the caller puts it); *status
 * is the HTTP status; err gets a message for the failures.
 */
static enum up_rc post(const struct backend *be, const char *bearer, struct json_object *msg,
                       long long want_id, const char *session, const char *version,
                       struct tool_ctx *ctx, const char *progress_tok, long timeout_ms,
                       struct xfer *x, struct mg_error *err)
{
    memset(x, 0, sizeof *x);
    x->be = be;
    x->ctx = ctx;
    x->want_id = want_id;
    x->progress_tok = progress_tok;
    x->sse = -1;
    x->body.limit = be->max_bytes;
    x->line.limit = be->max_bytes;
    x->data.limit = be->max_bytes;
    if (timeout_ms < 1) {
        mg_error_msg(err, "%s did not answer within %ld ms", be->name, be->timeout_ms);
        return UP_TIMEOUT;
    }
    struct buf url = {.limit = 64 * 1024};
    struct curl_slist *headers = NULL;
    char *userpwd = NULL;
    enum up_rc rc = UP_UNREACHABLE;
    CURL *h = NULL;
    if (with_credentials(be, bearer, &url, &headers, &userpwd, err) < 0)
        goto out; /* UP_UNREACHABLE with the message */
    for (int i = 0; i < be->n_headers; i++)
        headers = curl_slist_append(headers, be->headers[i]);
    headers = curl_slist_append(headers, "Accept: application/json, text/event-stream");
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    char line[400];
    if (session[0]) {
        snprintf(line, sizeof line, "Mcp-Session-Id: %s", session);
        headers = curl_slist_append(headers, line);
    }
    if (version[0]) {
        snprintf(line, sizeof line, "MCP-Protocol-Version: %s", version);
        headers = curl_slist_append(headers, line);
    }
    h = curl_easy_init();
    if (!h) {
        mg_error_msg(err, "%s could not be called (out of resources)", be->name);
        goto out;
    }
    size_t body_len;
    const char *body = json_text(msg, &body_len);
    set_options(h, url.data, headers, userpwd, body, body_len, timeout_ms, x);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (x->sse == 1 && !x->response && cc == CURLE_OK) {
        up_sse_feed(x, "\n\n", 2); /* a last event without its empty line */
    }
    rc = outcome(be, x, cc, status, want_id, session, err);
    if (rc == UP_OK && x->session_id[0] == '\0' && session[0])
        snprintf(x->session_id, sizeof x->session_id, "%s", session);
    LOG_DEBUG("msg=\"upstream exchange\" backend=%s method=%.64s status=%ld curl=%d sse=%d "
              "bytes=%zu result=%d",
              be->name, json_get_string(msg, "method") ? json_get_string(msg, "method") : "-",
              status, (int)cc, x->sse == 1, x->received, (int)rc);
out:
    if (h)
        curl_easy_cleanup(h);
    free_headers(headers);
    tool_secret_free(userpwd);
    buf_free_secret(&url);
    buf_free(&x->line);
    buf_free(&x->data);
    buf_free_secret(&x->body);
    return rc;
}

/* --- the session ----------------------------------------------------- */

static struct json_object *rpc(long long id, const char *method, struct json_object *params)
{
    struct json_object *m = json_object_new_object();
    json_add(m, "jsonrpc", json_object_new_string("2.0"));
    if (id >= 0)
        json_add(m, "id", json_object_new_int64(id));
    json_add(m, "method", json_object_new_string(method));
    if (params)
        json_add(m, "params", params);
    return m;
}

/* The session for key (a caller's, tool_exchange_caller_key()) or, key
 * NULL, the shared one; a caller without one gets a fresh one, in place
 * of the least recently used when all are taken. With u->lock held. */
static struct up_session *session_locked(struct upstream *u, const char *key)
{
    if (!key || !u->callers)
        return &u->shared;
    struct up_session *s = &u->callers[0];
    for (int i = 0; i < TOOL_UPSTREAM_CALLER_SESSIONS; i++) {
        struct up_session *c = &u->callers[i];
        if (strcmp(c->key, key) == 0) {
            s = c;
            break;
        }
        if (c->used_ms < s->used_ms)
            s = c; /* free ones have used_ms 0 */
    }
    if (strcmp(s->key, key) != 0) {
        memset(s, 0, sizeof *s);
        snprintf(s->key, sizeof s->key, "%s", key);
    }
    s->used_ms = mg_now_ms();
    return s;
}

/* Who a request goes as: the session key (NULL: the shared session) and
 * the exchange slot's token (NULL without one). */
struct up_as {
    const char *key;
    const char *bearer;
};

/* initialize (JSON-RPC id id) and notifications/initialized as bearer,
 * into s's session_id and version. Without u->lock: a slow upstream holds
 * up only the requests that wait for this session. */
static enum up_rc initialize(struct upstream *u, struct up_session *s, const char *bearer,
                             long long id, long long deadline, struct mg_error *err)
{
    const struct backend *be = u->be;
    struct json_object *params = json_object_new_object();
    json_add(params, "protocolVersion", json_object_new_string(TOOL_UPSTREAM_PROTOCOL_VERSION));
    json_add(params, "capabilities", json_object_new_object());
    struct json_object *info = json_object_new_object();
    json_add(info, "name", json_object_new_string("mcpgate"));
    json_add(info, "version", json_object_new_string(PACKAGE_VERSION));
    json_add(params, "clientInfo", info);
    struct json_object *msg = rpc(id, "initialize", params);
    struct xfer x;
    enum up_rc rc =
        post(be, bearer, msg, id, "", "", NULL, NULL, (long)(deadline - mg_now_ms()), &x, err);
    json_object_put(msg);
    if (rc != UP_OK)
        return rc;
    struct json_object *result = json_get(x.response, "result", json_type_object);
    const char *version = json_get_string(result, "protocolVersion");
    if (!version || strlen(version) >= sizeof s->version) {
        const char *m = json_get_string(json_get(x.response, "error", json_type_object), "message");
        mg_error_msg(err, "%s refused initialize: %.300s", be->name,
                     m ? m : "no protocolVersion in its answer");
        json_object_put(x.response);
        return UP_GARBAGE;
    }
    snprintf(s->version, sizeof s->version, "%s", version);
    snprintf(s->session_id, sizeof s->session_id, "%s", x.session_id);
    json_object_put(x.response);
    msg = rpc(-1, "notifications/initialized", NULL);
    struct mg_error nerr = MG_ERROR_INIT;
    rc = post(be, bearer, msg, -1, s->session_id, s->version, NULL, NULL,
              (long)(deadline - mg_now_ms()), &x, &nerr);
    json_object_put(msg);
    if (rc != UP_OK)
        LOG_WARN("msg=\"upstream did not accept notifications/initialized\" backend=%s why=\"%s\"",
                 be->name, nerr.msg);
    LOG_INFO("msg=\"upstream session initialized\" backend=%s version=%s session=%d caller=%d",
             be->name, s->version, s->session_id[0] != '\0', s->key[0] != '\0');
    return UP_OK;
}

/* Waits on u->ready until another thread's initialize ends or deadline
 * (monotonic ms) passes. With u->lock held. Returns 0, or -1 at the
 * deadline. */
static int wait_ready_locked(struct upstream *u, long long deadline)
{
    long long left = deadline - mg_now_ms();
    if (left <= 0)
        return -1;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += left / 1000;
    until.tv_nsec += (left % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int rc = pthread_cond_timedwait(&u->ready, &u->lock, &until);
    return rc == 0 || rc == EINTR ? 0 : -1;
}

/* The session for key (session_locked()) once initialized: by this
 * thread, or by another that began it first (one initialize per session
 * at a time, outside the lock). With u->lock held; returns with it held,
 * the session's id and version in session and version. */
static enum up_rc ready_locked(struct upstream *u, const struct up_as *as, long long deadline,
                               char *session, size_t sn, char *version, size_t vn,
                               struct mg_error *err)
{
    struct up_session *s = session_locked(u, as->key);
    while (!s->initialized && s->initializing) {
        if (wait_ready_locked(u, deadline) < 0) {
            mg_error_msg(err, "%s did not answer initialize in time", u->be->name);
            return UP_TIMEOUT;
        }
        s = session_locked(u, as->key); /* it may have been given up meanwhile */
    }
    if (!s->initialized) {
        s->initializing = 1;
        long long id = ++u->next_id;
        struct up_session fresh;
        memset(&fresh, 0, sizeof fresh);
        snprintf(fresh.key, sizeof fresh.key, "%s", as->key ? as->key : "");
        pthread_mutex_unlock(&u->lock);
        enum up_rc rc = initialize(u, &fresh, as->bearer, id, deadline, err);
        pthread_mutex_lock(&u->lock);
        s = session_locked(u, as->key);
        s->initializing = 0;
        pthread_cond_broadcast(&u->ready);
        if (rc != UP_OK)
            return rc;
        snprintf(s->session_id, sizeof s->session_id, "%s", fresh.session_id);
        snprintf(s->version, sizeof s->version, "%s", fresh.version);
        s->initialized = 1;
    }
    snprintf(session, sn, "%s", s->session_id);
    snprintf(version, vn, "%s", s->version);
    return UP_OK;
}

/*
 * Sends the request method/params (taken) as as and returns its JSON-RPC
 * response (new: result or error), initializing the session first when
 * needed and once more when the upstream forgot it. NULL with a message in
 * err on failure, *rc says which.
 */
static struct json_object *request(struct upstream *u, const struct up_as *as, const char *method,
                                   struct json_object *params, struct tool_ctx *ctx,
                                   long long deadline, long long *sent_id, enum up_rc *rc,
                                   struct mg_error *err)
{
    struct json_object *response = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        char session[sizeof u->shared.session_id], version[sizeof u->shared.version];
        pthread_mutex_lock(&u->lock);
        *rc = ready_locked(u, as, deadline, session, sizeof session, version, sizeof version, err);
        long long id = ++u->next_id;
        pthread_mutex_unlock(&u->lock);
        if (*rc != UP_OK)
            break;
        char tok[48];
        snprintf(tok, sizeof tok, "mcpgate-%lld", id);
        struct json_object *p = json_object_get(params);
        if (ctx && p) {
            struct json_object *meta = json_object_new_object();
            json_add(meta, "progressToken", json_object_new_string(tok));
            json_add(p, "_meta", meta);
        }
        struct json_object *msg = rpc(id, method, p);
        struct xfer x;
        *sent_id = id;
        *rc = post(u->be, as->bearer, msg, id, session, version, ctx, ctx ? tok : NULL,
                   (long)(deadline - mg_now_ms()), &x, err);
        json_object_put(msg);
        if (*rc == UP_OK) {
            response = x.response;
            break;
        }
        if (*rc != UP_SESSION_GONE)
            break;
        pthread_mutex_lock(&u->lock);
        struct up_session *s = session_locked(u, as->key);
        if (strcmp(s->session_id, session) == 0)
            s->initialized = 0; /* another thread may have renewed it already */
        pthread_mutex_unlock(&u->lock);
        LOG_INFO("msg=\"upstream forgot the session: initializing again\" backend=%s", u->be->name);
    }
    json_object_put(params);
    return response;
}

/* The token an exchange backend's request goes with: the caller's
 * exchanged token (caller) or mcpgate's own (tools/list); stale: the one
 * just refused with 401, or NULL. NULL with err when there is none. */
static char *token_for(struct upstream *u, int caller, struct tool_ctx *ctx, const char *stale,
                       struct mg_error *err)
{
    const struct backend *be = u->be;
    if (!caller)
        return tool_exchange_own_token(be, u->exchange, stale, err);
    return stale ? tool_exchange_renew(be, u->exchange, ctx, stale, err)
                 : tool_exchange_token(be, u->exchange, ctx, err);
}

/*
 * request() for the caller of ctx (caller) or for mcpgate itself. An
 * exchange backend: with the caller's exchanged token in the caller's own
 * session, or mcpgate's own token in the shared one; a 401 gets a fresh
 * token and the request once more. Takes params.
 */
static struct json_object *request_as(struct upstream *u, int caller, const char *method,
                                      struct json_object *params, struct tool_ctx *ctx,
                                      long long deadline, long long *sent_id, enum up_rc *rc,
                                      struct mg_error *err)
{
    struct up_as as = {0};
    if (!u->exchange)
        return request(u, &as, method, params, ctx, deadline, sent_id, rc, err);
    char key[CRYPTO_SHA256_HEX_LEN + 1];
    struct json_object *response = NULL;
    char *tok = token_for(u, caller, ctx, NULL, err);
    *rc = UP_NO_TOKEN;
    if (tok && caller && tool_exchange_caller_key(u->be, u->exchange, ctx, key) == 0)
        as.key = key;
    as.bearer = tok;
    if (tok)
        response =
            request(u, &as, method, json_object_get(params), ctx, deadline, sent_id, rc, err);
    if (!response && *rc == UP_UNAUTHORIZED) {
        char *fresh = token_for(u, caller, ctx, tok, err);
        as.bearer = fresh;
        *rc = UP_NO_TOKEN;
        if (fresh)
            response =
                request(u, &as, method, json_object_get(params), ctx, deadline, sent_id, rc, err);
        if (!response && *rc == UP_UNAUTHORIZED && caller)
            tool_exchange_still_refused(u->be, u->exchange, err);
        else if (!response && *rc == UP_UNAUTHORIZED)
            mg_error_msg(err, "%s refused mcpgate's own token (HTTP 401) even after a fresh one",
                         u->be->name);
        tool_cred_free(fresh);
    }
    tool_cred_free(tok);
    json_object_put(params);
    return response;
}

/* notifications/cancelled for our request id, best effort, as ctx's
 * caller. */
static void send_cancel(struct upstream *u, struct tool_ctx *ctx, long long id)
{
    char key[CRYPTO_SHA256_HEX_LEN + 1];
    struct mg_error err = MG_ERROR_INIT;
    struct up_as as = {0};
    char *tok = u->exchange ? token_for(u, 1, ctx, NULL, &err) : NULL;
    if (tok && tool_exchange_caller_key(u->be, u->exchange, ctx, key) == 0)
        as.key = key;
    as.bearer = tok;
    char session[sizeof u->shared.session_id], version[sizeof u->shared.version];
    pthread_mutex_lock(&u->lock);
    struct up_session *s = session_locked(u, as.key);
    snprintf(session, sizeof session, "%s", s->session_id);
    snprintf(version, sizeof version, "%s", s->version);
    pthread_mutex_unlock(&u->lock);
    struct json_object *params = json_object_new_object();
    json_add(params, "requestId", json_object_new_int64(id));
    json_add(params, "reason", json_object_new_string("the client cancelled the call"));
    struct json_object *msg = rpc(-1, "notifications/cancelled", params);
    struct xfer x;
    long timeout = u->be->timeout_ms < CANCEL_TIMEOUT_MS ? u->be->timeout_ms : CANCEL_TIMEOUT_MS;
    if (post(u->be, as.bearer, msg, -1, session, version, NULL, NULL, timeout, &x, &err) != UP_OK)
        LOG_INFO("msg=\"could not pass the cancellation upstream\" backend=%s why=\"%s\"",
                 u->be->name, err.msg);
    json_object_put(msg);
    tool_cred_free(tok);
}

/* --- tools/list and tools/call --------------------------------------- */

struct json_object *tool_upstream_fetch_tools(struct upstream *u, struct mg_error *err)
{
    const struct backend *be = u->be;
    long long deadline = mg_now_ms() + be->timeout_ms;
    struct json_object *all = json_object_new_array();
    char *cursor = NULL;
    for (int page = 0; page < MAX_PAGES; page++) {
        struct json_object *params = json_object_new_object();
        if (cursor)
            json_add(params, "cursor", json_object_new_string(cursor));
        free(cursor);
        cursor = NULL;
        enum up_rc rc;
        long long id;
        struct json_object *resp =
            request_as(u, 0, "tools/list", params, NULL, deadline, &id, &rc, err);
        if (!resp)
            goto fail;
        struct json_object *result = json_get(resp, "result", json_type_object);
        struct json_object *tools = json_get(result, "tools", json_type_array);
        if (!tools) {
            const char *m = json_get_string(json_get(resp, "error", json_type_object), "message");
            mg_error_msg(err, "%s answered tools/list %s%.300s", be->name,
                         m ? "with an error: " : "without a list of tools", m ? m : "");
            json_object_put(resp);
            goto fail;
        }
        for (size_t i = 0; i < json_object_array_length(tools); i++) {
            if (json_object_array_length(all) >= MAX_TOOLS)
                break;
            if (json_object_array_add(all, json_object_get(json_object_array_get_idx(tools, i))) !=
                0)
                abort();
        }
        const char *next = json_get_string(result, "nextCursor");
        if (next && *next && json_object_array_length(all) < MAX_TOOLS) {
            cursor = xstrdup(next);
        }
        json_object_put(resp);
        if (!cursor)
            return all;
    }
    mg_error_msg(err, "%s has more than %d pages of tools", be->name, MAX_PAGES);
fail:
    free(cursor);
    json_object_put(all);
    return NULL;
}

/* The upstream's CallToolResult, checked and trimmed to what MCP defines
 * (content, structuredContent, isError). Takes result. */
static struct json_object *clean_result(const struct backend *be, struct json_object *result)
{
    struct json_object *content = json_get(result, "content", json_type_array);
    if (!content) {
        json_object_put(result);
        char msg[200];
        snprintf(msg, sizeof msg, "%s answered the call without a valid tool result (no content)",
                 be->name);
        return tool_result_text(msg, 1);
    }
    struct json_object *r = json_object_new_object();
    json_add(r, "content", json_object_get(content));
    struct json_object *sc = json_get(result, "structuredContent", json_type_object);
    if (sc)
        json_add(r, "structuredContent", json_object_get(sc));
    struct json_object *err = json_get(result, "isError", json_type_boolean);
    json_add(r, "isError", json_object_new_boolean(err && json_object_get_boolean(err)));
    json_object_put(result);
    return r;
}

struct json_object *tool_upstream_call(struct upstream *u, struct tool_ctx *ctx, const char *name,
                                       struct json_object *args)
{
    const struct backend *be = u->be;
    long long started = mg_now_ms();
    struct json_object *params = json_object_new_object();
    json_add(params, "name", json_object_new_string(name));
    json_add(params, "arguments", json_object_get(args));
    struct mg_error err = MG_ERROR_INIT;
    enum up_rc rc;
    long long id = 0;
    struct json_object *resp =
        request_as(u, 1, "tools/call", params, ctx, started + be->timeout_ms, &id, &rc, &err);
    struct json_object *r;
    if (!resp) {
        if (id > 0 && (rc == UP_CANCELLED || rc == UP_TIMEOUT))
            send_cancel(u, ctx, id); /* the upstream may still be working on it */
        r = tool_result_text(err.msg, 1);
    } else if (json_get(resp, "result", json_type_object)) {
        r = clean_result(be, json_object_get(json_get(resp, "result", json_type_object)));
    } else if (!json_get(resp, "error", json_type_object)) {
        mg_error_msg(&err, "%s answered the call without a valid tool result", be->name);
        r = tool_result_text(err.msg, 1);
    } else {
        struct json_object *e = json_get(resp, "error", json_type_object);
        const char *m = json_get_string(e, "message");
        struct json_object *code = json_get(e, "code", json_type_int);
        mg_error_msg(&err, "%s answered the call with an error: %.500s (code %lld)", be->name,
                     m ? m : "(no message)", code ? (long long)json_object_get_int64(code) : 0);
        r = tool_result_text(err.msg, 1);
    }
    json_object_put(resp);
    LOG_INFO("msg=\"upstream call\" backend=%s tool=%.128s result=%d ms=%lld", be->name, name,
             (int)rc, mg_now_ms() - started);
    return tool_upstream_redact(be, r);
}
