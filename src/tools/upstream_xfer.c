/*
 * tools/upstream_xfer.c - one POST to an upstream MCP server as libcurl
 * delivers it: the address check before connect, the response headers,
 * and the body parsed as it arrives (a JSON response, or an SSE stream
 * whose events carry notifications and, last, the response), progress and
 * cancellation passed on. tools/upstream.c has the stream's grammar.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "tools/upstream.h"
#include "tools/upstream_internal.h"
#include "util/json.h"
#include "util/log.h"
#include "util/net.h"

/* --- the transfer ---------------------------------------------------- */

curl_socket_t up_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct xfer *x = arg;
    (void)purpose;
    if (!x->be->allow_private && net_addr_private(&a->addr)) {
        x->refused = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

/* Copies a header's value (trimmed) into out when line is "name: value". */
static void header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t len = (size_t)(end - v);
    if (len >= outlen)
        len = 0; /* too long to be ours: treat as absent */
    memcpy(out, v, len);
    out[len] = '\0';
}

size_t up_on_header(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        x->ctype[0] = x->session_id[0] = '\0'; /* a new response (after 1xx) */
        return len;
    }
    header_value(p, len, "Content-Type", x->ctype, sizeof x->ctype);
    header_value(p, len, "Mcp-Session-Id", x->session_id, sizeof x->session_id);
    return len;
}

static int same_id(struct json_object *id, long long want)
{
    return json_object_is_type(id, json_type_int) && json_object_get_int64(id) == want;
}

/* A notification the upstream sent during our request. */
static void on_notification(struct xfer *x, const char *method, struct json_object *params)
{
    if (!x->ctx)
        return;
    if (strcmp(method, "notifications/progress") == 0) {
        const char *tok = json_get_string(params, "progressToken");
        struct json_object *p = json_get(params, "progress", json_type_double);
        if (!p)
            p = json_get(params, "progress", json_type_int);
        if (!tok || !x->progress_tok || strcmp(tok, x->progress_tok) != 0 || !p)
            return;
        struct json_object *t = json_get(params, "total", json_type_double);
        if (!t)
            t = json_get(params, "total", json_type_int);
        /* the client's own token replaces ours (tool_progress) */
        tool_progress(x->ctx, json_object_get_double(p), t ? json_object_get_double(t) : -1,
                      json_get_string(params, "message"));
        x->progress_seen++;
    } else if (strcmp(method, "notifications/message") == 0) {
        const char *level = json_get_string(params, "level");
        struct json_object *data = NULL;
        if (!level || !json_object_object_get_ex(params, "data", &data))
            return;
        tool_log(x->ctx, level, x->be->name, json_object_get(data));
    }
}

/* One JSON-RPC message (or batch) from the upstream. Takes msg. */
void up_on_message(struct xfer *x, struct json_object *msg)
{
    if (json_object_is_type(msg, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(msg); i++)
            up_on_message(x, json_object_get(json_object_array_get_idx(msg, i)));
        json_object_put(msg);
        return;
    }
    const char *method = json_get_string(msg, "method");
    struct json_object *id = NULL;
    int has_id = json_object_object_get_ex(msg, "id", &id);
    if (method && !has_id) {
        on_notification(x, method, json_get(msg, "params", json_type_object));
    } else if (method) {
        LOG_DEBUG("msg=\"upstream request not relayed\" backend=%s method=%.64s", x->be->name,
                  method);
    } else if (has_id && same_id(id, x->want_id) && !x->response &&
               (json_object_object_get_ex(msg, "result", NULL) ||
                json_get(msg, "error", json_type_object))) {
        x->response = json_object_get(msg);
    }
    json_object_put(msg);
}

/* The end of an SSE event: its data is one JSON-RPC message. */
static void sse_dispatch(struct xfer *x)
{
    if (x->data.len && (!x->event[0] || strcmp(x->event, "message") == 0)) {
        size_t n = x->data.len;
        if (x->data.data[n - 1] == '\n')
            n--; /* the data lines' last newline is not part of the data */
        struct json_object *msg = NULL;
        if (json_parse_strict(x->data.data, n, &msg, NULL) < 0 || !msg)
            x->bad_json = 1;
        else
            up_on_message(x, msg);
    }
    buf_reset(&x->data);
    x->event[0] = '\0';
}

static void sse_line(struct xfer *x)
{
    const char *l = buf_str(&x->line);
    size_t n = x->line.len;
    if (n == 0) {
        sse_dispatch(x);
        return;
    }
    if (l[0] == ':')
        return; /* a comment (keep-alive) */
    size_t fl = strcspn(l, ":");
    const char *v = fl < n ? l + fl + 1 : l + n;
    if (*v == ' ')
        v++;
    size_t vn = (size_t)(l + n - v);
    if (fl == 4 && strncmp(l, "data", 4) == 0) {
        if (buf_append(&x->data, v, vn) < 0 || buf_puts(&x->data, "\n") < 0)
            x->too_large = 1;
    } else if (fl == 5 && strncmp(l, "event", 5) == 0) {
        snprintf(x->event, sizeof x->event, "%.*s", (int)(vn < 31 ? vn : 31), v);
    } /* id, retry and unknown fields: ignored (we do not resume) */
}

/* Feeds SSE bytes. Returns 0, or -1 when a line is too long. */
int up_sse_feed(struct xfer *x, const char *p, size_t n)
{
    for (size_t i = 0; i < n && !x->response; i++) {
        char c = p[i];
        if (c == '\n' && x->cr) {
            x->cr = 0;
            continue; /* the LF of a CRLF */
        }
        x->cr = c == '\r';
        if (c == '\r' || c == '\n') {
            sse_line(x);
            buf_reset(&x->line);
        } else if (buf_append(&x->line, &c, 1) < 0) {
            return -1;
        }
    }
    return 0;
}

size_t up_on_body(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    x->received += len;
    if (x->received > x->be->max_bytes) {
        x->too_large = 1;
        return 0;
    }
    if (x->sse < 0)
        x->sse = strncasecmp(x->ctype, "text/event-stream", 17) == 0;
    if (!x->sse) {
        if (buf_append(&x->body, p, len) < 0) {
            x->too_large = 1;
            return 0;
        }
        return len;
    }
    if (up_sse_feed(x, p, len) < 0 || x->too_large) {
        x->too_large = 1;
        return 0;
    }
    return x->response ? 0 : len; /* the response ends the exchange */
}

/* For tests only (tests/fuzz/fuzz_upstream.c): runs body through the same
 * parsing as an answer to request want_id with Content-Type ctype, handed
 * over in pieces of chunk bytes as libcurl would, without any network.
 * Returns the response it found (new reference), or NULL. */
struct json_object *tool_upstream_parse_for_tests(const struct backend *be, const char *ctype,
                                                  const char *body, size_t len, size_t chunk,
                                                  long long want_id)
{
    struct xfer x = {.be = be, .want_id = want_id, .sse = -1};
    x.body.limit = x.line.limit = x.data.limit = be->max_bytes;
    snprintf(x.ctype, sizeof x.ctype, "%s", ctype);
    if (chunk == 0)
        chunk = 1;
    for (size_t off = 0; off < len;) {
        size_t n = len - off < chunk ? len - off : chunk;
        if (up_on_body((char *)body + off, 1, n, &x) != n)
            break;
        off += n;
    }
    if (x.sse == 1 && !x.response)
        up_sse_feed(&x, "\n\n", 2); /* as post(): a last event without its empty line */
    if (x.sse == 0 && !x.response && x.body.len) {
        struct json_object *doc = NULL;
        if (json_parse_strict(x.body.data, x.body.len, &doc, NULL) == 0 && doc)
            up_on_message(&x, doc);
    }
    buf_free(&x.line);
    buf_free(&x.data);
    buf_free(&x.body);
    return x.response;
}

int up_on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow)
{
    struct xfer *x = arg;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    if (x->ctx && tool_cancelled(x->ctx)) {
        x->cancelled = 1;
        return 1;
    }
    return 0;
}
