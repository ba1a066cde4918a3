/*
 * tools/rest.c - one REST backend tool call: arguments checked against the
 * inputSchema, one HTTP request with libcurl, the response mapped to a
 * CallToolResult.
 *
 * Safety: the request is built only from the tool's definition, the
 * arguments and the backend's credentials, never from the client's request
 * (its Authorization header in particular is never forwarded). The address
 * libcurl is about to connect to is checked in CURLOPT_OPENSOCKETFUNCTION
 * (after DNS, before connect, for every connection) so a name that
 * resolves to a loopback or private address is refused unless the backend
 * has allow_private. No redirects, no proxies from the environment, http
 * and https only. Every call is bounded by the tool's timeout and response
 * size cap, and ends early when the client cancels it. Credentials appear
 * in no message, result or log line; a response that echoes one has it
 * replaced by "[redacted]". URLs are not logged (a query may carry a key).
 *
 * A 401 to a call that carried the user's provider token (a from_idp slot)
 * gets that token renewed (tools/idp_token.h) and the call made once more;
 * a second 401 ends with the message to sign in again. The same for an
 * exchanged token (an exchange slot): dropped from the cache and exchanged
 * once more (tools/exchange.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json_pointer.h>

#include "tools/rest.h"
#include "tools/credentials.h"
#include "tools/exchange.h"
#include "tools/idp_token.h"
#include "tools/schema.h"
#include "tools/secret_source.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/net.h"
#include "util/time.h"
#include "util/url.h"

#include "config.h"

#define ERROR_EXCERPT_BYTES 2000
#define PROGRESS_EVERY_MS   5000

/* --- the request --------------------------------------------------------- */

struct call {
    const struct backend_op *op;
    struct tool_ctx *ctx;
    struct buf body; /* the response body, capped */
    int refused;     /* the address was private */
    int too_large;
    int cancelled;
    long long started_ms;
    long long progress_ms;
};

static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct call *c = arg;
    (void)purpose;
    if (!c->op->be->allow_private && net_addr_private(&a->addr)) {
        c->refused = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct call *c = arg;
    if (buf_append(&c->body, p, size * n) < 0) {
        c->too_large = 1;
        return 0;
    }
    return size * n;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct call *c = arg;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    if (!c->ctx)
        return 0;
    if (tool_cancelled(c->ctx)) {
        c->cancelled = 1;
        return 1;
    }
    long long t = mg_now_ms();
    if (t - c->progress_ms >= PROGRESS_EVERY_MS) {
        c->progress_ms = t;
        char msg[96];
        snprintf(msg, sizeof msg, "waiting for %.40s (%lld s)", c->op->be->name,
                 (t - c->started_ms) / 1000);
        tool_progress(c->ctx, (double)(t - c->started_ms) / 1000.0, -1, msg);
    }
    return 0;
}

/* The text form of a scalar argument into out. Returns 0, or -1 for arrays
 * and objects (their callers decide). */
static int scalar_text(struct json_object *v, struct buf *out)
{
    switch (json_object_get_type(v)) {
    case json_type_string:
        return buf_puts(out, json_object_get_string(v));
    case json_type_int:
        return buf_printf(out, "%lld", (long long)json_object_get_int64(v));
    case json_type_double: {
        double d = json_object_get_double(v);
        if (d > -1e15 && d < 1e15 && (double)(long long)d == d)
            return buf_printf(out, "%.0f", d);
        return buf_printf(out, "%.17g", d);
    }
    case json_type_boolean:
        return buf_puts(out, json_object_get_boolean(v) ? "true" : "false");
    case json_type_null:
        return buf_puts(out, "");
    case json_type_object:
    case json_type_array:
        return -1;
    }
    return -1;
}

/* Appends "name=value" to the query (arrays repeat the name, objects go as
 * JSON text). */
static int query_add(struct buf *q, const char *name, struct json_object *v)
{
    if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (query_add(q, name, json_object_array_get_idx(v, i)) < 0)
                return -1;
        return 0;
    }
    struct buf text = {0};
    int rc = scalar_text(v, &text);
    if (rc < 0) {
        buf_reset(&text);
        rc = buf_puts(&text, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
    }
    if (rc == 0)
        rc = buf_puts(q, q->len ? "&" : "");
    if (rc == 0)
        rc = url_pct_encode(q, name, strlen(name), 0);
    if (rc == 0)
        rc = buf_puts(q, "=");
    if (rc == 0)
        rc = url_pct_encode(q, buf_str(&text), text.len, 0);
    buf_free(&text);
    return rc;
}

static struct json_object *error_result(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct json_object *error_result(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tool_result_text(msg, 1);
}

/* Replaces every occurrence of the backend's configured secrets and of the
 * n values resolved for this call (vals) in b with "[redacted]". */
static void redact(const struct backend *be, char *const *vals, int n, struct buf *b)
{
    static const char mark[] = "[redacted]";
    for (int i = 0; i < be->n_creds + n; i++) {
        const char *s = i < be->n_creds ? be->creds[i].value : vals[i - be->n_creds];
        size_t sn = s ? strlen(s) : 0;
        if (sn < 4 || !b->len)
            continue;
        char *hit;
        size_t from = 0;
        while ((hit = memmem(b->data + from, b->len - from, s, sn)) != NULL) {
            struct buf out = {.limit = b->limit + 64};
            size_t at = (size_t)(hit - b->data);
            if (buf_append(&out, b->data, at) < 0 || buf_puts(&out, mark) < 0 ||
                buf_append(&out, hit + sn, b->len - at - sn) < 0) {
                /* cannot grow: blank the secret in place instead */
                memset(hit, '*', sn);
                buf_free(&out);
            } else {
                explicit_bzero(b->data, b->len);
                buf_free(b);
                *b = out;
            }
            from = at + sizeof mark - 1;
            if (from >= b->len)
                break;
        }
    }
}

/* 1 when the n bytes at p are text: well-formed UTF-8 (util/json's rule:
 * no overlong forms, no surrogates) without a NUL. */
static int text_ok(const char *p, size_t n)
{
    return !memchr(p, '\0', n) && json_utf8_valid(p, n);
}

/* The result of a 2xx response. */
static struct json_object *success_result(const struct backend_op *op, long status,
                                          const char *ctype, struct buf *body)
{
    int looks_json = (ctype && strstr(ctype, "json")) ||
                     (!ctype && body->len && (body->data[0] == '{' || body->data[0] == '['));
    if (!body->len) {
        char text[64];
        snprintf(text, sizeof text, "HTTP %ld: done (no content)", status);
        struct json_object *r = tool_result_text(text, 0);
        struct json_object *sc = json_object_new_object();
        json_add(sc, "status", json_object_new_int64(status));
        json_add(r, "structuredContent", sc);
        return r;
    }
    if (looks_json) {
        struct json_object *doc = NULL;
        struct mg_error jerr = MG_ERROR_INIT;
        if (json_parse_strict(body->data, body->len, &doc, &jerr) < 0)
            return error_result("%s answered HTTP %ld with a body that is not valid JSON (%s)",
                                op->be->name, status, jerr.msg);
        struct json_object *val = doc;
        if (op->result_pointer) {
            if (!doc || json_pointer_get(doc, op->result_pointer, &val) != 0)
                val = NULL;
            if (!val) {
                json_object_put(doc);
                return error_result("%s answered HTTP %ld but the response has nothing at %s",
                                    op->be->name, status, op->result_pointer);
            }
        }
        struct json_object *r = json_object_new_object();
        struct json_object *content = json_object_new_array();
        struct json_object *item = json_object_new_object();
        json_add(item, "type", json_object_new_string("text"));
        json_add(item, "text",
                 json_object_new_string(json_object_to_json_string_ext(
                     val, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)));
        if (json_object_array_add(content, item) != 0)
            abort();
        json_add(r, "content", content);
        if (json_object_is_type(val, json_type_object)) {
            json_add(r, "structuredContent", json_object_get(val));
        } else {
            struct json_object *sc = json_object_new_object();
            json_add(sc, "result", json_object_get(val));
            json_add(r, "structuredContent", sc);
        }
        json_add(r, "isError", json_object_new_boolean(0));
        json_object_put(doc);
        return r;
    }
    if (!text_ok(body->data, body->len)) {
        char text[200];
        snprintf(text, sizeof text, "HTTP %ld: %zu bytes of binary content (%.80s)", status,
                 body->len, ctype ? ctype : "no content type");
        return tool_result_text(text, 0);
    }
    return tool_result_text(body->data, 0);
}

/* An excerpt of an error body for the model (valid UTF-8, bounded). */
static void excerpt(const struct buf *body, char *out, size_t n)
{
    size_t len = body->len < n - 1 ? body->len : n - 1;
    while (len && !text_ok(body->data, len))
        len--;
    if (len)
        memcpy(out, body->data, len);
    out[len] = '\0';
}

/* What build() makes of a call, piece by piece. */
struct request {
    struct buf *url, *payload;
    struct curl_slist **headers;
    int *has_payload;
    char **userpwd;
    struct buf query;           /* the query string, without "?" */
    struct json_object *fields; /* body_field arguments, owned */
    struct json_object *whole;  /* the body argument, borrowed */
};

static struct json_object *too_long(void)
{
    return error_result("invalid arguments: the request would be too large");
}

/* The base URL and the path, each {name} replaced by its argument. */
static struct json_object *build_path(const struct backend_op *op, struct json_object *args,
                                      struct buf *url)
{
    if (buf_puts(url, op->base_url ? op->base_url : op->be->base_url) < 0)
        return too_long();
    for (const char *p = op->path; *p;) {
        if (*p != '{') {
            size_t lit = strcspn(p, "{");
            if (buf_append(url, p, lit) < 0)
                return too_long();
            p += lit;
            continue;
        }
        size_t len = strcspn(p + 1, "}");
        const struct backend_arg *a = NULL;
        for (int i = 0; i < op->n_args; i++)
            if (op->args[i].in == ARG_PATH && strlen(op->args[i].wire) == len &&
                strncmp(op->args[i].wire, p + 1, len) == 0)
                a = &op->args[i];
        struct json_object *v = NULL;
        if (!a || !json_object_object_get_ex(args, a->arg, &v) || !v)
            return error_result("invalid arguments: %s is required (it is part of the URL)",
                                a ? a->arg : "a path parameter");
        struct buf text = {0};
        if (scalar_text(v, &text) < 0 || text.len == 0) {
            buf_free(&text);
            return error_result("invalid arguments: %s must be a non-empty string or number "
                                "(it is part of the URL)",
                                a->arg);
        }
        int rc = url_pct_encode(url, text.data, text.len, 1);
        buf_free(&text);
        if (rc < 0)
            return too_long();
        p += len + 2;
    }
    return NULL;
}

/* An argument sent as a header. */
static struct json_object *arg_header(struct request *rq, const struct backend_arg *a,
                                      struct json_object *v)
{
    struct buf h = {0};
    int rc = buf_printf(&h, "%s: ", a->wire);
    if (rc == 0 && scalar_text(v, &h) < 0)
        rc = buf_puts(&h, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
    if (rc < 0 || strpbrk(h.data, "\r\n") || h.len > 8192) {
        buf_free(&h);
        return error_result("invalid arguments: %s must be one line of text (it is an "
                            "HTTP header)",
                            a->arg);
    }
    *rq->headers = curl_slist_append(*rq->headers, h.data);
    buf_free(&h);
    return NULL;
}

/* The other arguments: query, headers, the body or its fields. */
static struct json_object *build_args(const struct backend_op *op, struct json_object *args,
                                      struct request *rq)
{
    for (int i = 0; i < op->n_args; i++) {
        const struct backend_arg *a = &op->args[i];
        struct json_object *v = NULL, *err = NULL;
        if (!json_object_object_get_ex(args, a->arg, &v))
            continue;
        switch (a->in) {
        case ARG_PATH:
            break;
        case ARG_QUERY:
            if (v && query_add(&rq->query, a->wire, v) < 0)
                return too_long();
            break;
        case ARG_HEADER:
            if (v && (err = arg_header(rq, a, v)) != NULL)
                return err;
            break;
        case ARG_BODY:
            rq->whole = v;
            *rq->has_payload = 1;
            break;
        case ARG_BODY_FIELD:
            if (!rq->fields)
                rq->fields = json_object_new_object();
            json_add(rq->fields, a->wire, json_object_get(v));
            *rq->has_payload = 1;
            break;
        }
    }
    return NULL;
}

/* The credentials (vals[i] for op->auth[i]): headers, query or userpwd. */
static struct json_object *build_creds(const struct backend_op *op, char *const *vals,
                                       struct request *rq)
{
    for (int i = 0; i < op->n_auth; i++) {
        const struct backend_cred *c = &op->be->creds[op->auth[i]];
        const char *value = vals[i];
        struct buf h = {0};
        if (tool_cred_put(c, value, &h, &rq->query, rq->query.len ? "&" : "", rq->userpwd) < 0) {
            buf_free_secret(&h);
            return too_long();
        }
        if (h.len)
            *rq->headers = curl_slist_append(*rq->headers, h.data);
        buf_free_secret(&h);
    }
    return NULL;
}

/* The body; a JSON body the API requires is sent even when every field
 * was left out: {} (an empty body would go out as an empty form). */
static struct json_object *build_body(const struct backend_op *op, struct request *rq)
{
    if (!*rq->has_payload && op->body_required && !op->form_body) {
        rq->fields = json_object_new_object();
        *rq->has_payload = 1;
    }
    struct json_object *body = rq->whole ? rq->whole : rq->fields;
    if (*rq->has_payload && op->form_body) {
        if (body && !json_object_is_type(body, json_type_object))
            return error_result("invalid arguments: the form body must be an object");
        if (body) {
            json_object_object_foreach(body, k, v)
            {
                if (v && query_add(rq->payload, k, v) < 0)
                    return too_long();
            }
        }
        *rq->headers =
            curl_slist_append(*rq->headers, "Content-Type: application/x-www-form-urlencoded");
    } else if (*rq->has_payload) {
        if (buf_puts(rq->payload,
                     json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
            return too_long();
        *rq->headers = curl_slist_append(*rq->headers, "Content-Type: application/json");
    }
    return NULL;
}

/* Builds URL, headers and body; vals are the values of op's auth slots
 * (tools/credentials.h). Returns NULL when ready, else an error result. */
static struct json_object *build(const struct backend_op *op, char *const *vals,
                                 struct json_object *args, struct buf *url,
                                 struct curl_slist **headers, struct buf *payload, int *has_payload,
                                 char **userpwd)
{
    struct request rq = {.url = url,
                         .payload = payload,
                         .headers = headers,
                         .has_payload = has_payload,
                         .userpwd = userpwd};
    struct json_object *err = build_path(op, args, url);
    if (!err)
        err = build_args(op, args, &rq);
    if (!err)
        err = build_creds(op, vals, &rq);
    if (!err && rq.query.len &&
        (buf_puts(url, "?") < 0 || buf_append(url, rq.query.data, rq.query.len) < 0))
        err = too_long();
    if (!err)
        err = build_body(op, &rq);
    buf_free_secret(&rq.query);
    json_object_put(rq.fields);
    return err;
}

static int has_header(const struct curl_slist *h, const char *name)
{
    size_t n = strlen(name);
    for (; h; h = h->next)
        if (strncasecmp(h->data, name, n) == 0 && h->data[n] == ':')
            return 1;
    return 0;
}

static void free_headers(struct curl_slist *h)
{
    for (struct curl_slist *p = h; p; p = p->next)
        explicit_bzero(p->data, strlen(p->data));
    curl_slist_free_all(h);
}

/* For tests only (tests/fuzz/fuzz_backend.c): what tool_backend_call()
 * would send for args, built by the same code, with "x" as every
 * credential value and nothing sent. */
struct json_object *tool_backend_build_for_tests(const struct backend_op *op,
                                                 struct json_object *args, struct buf *url,
                                                 struct buf *payload)
{
    char **vals = xcalloc(op->n_auth ? (size_t)op->n_auth : 1, sizeof *vals);
    static char fake[] = "x";
    for (int i = 0; i < op->n_auth; i++)
        vals[i] = fake;
    struct curl_slist *headers = NULL;
    char *userpwd = NULL;
    int has_payload = 0;
    struct json_object *result =
        build(op, vals, args, url, &headers, payload, &has_payload, &userpwd);
    free_headers(headers);
    free(userpwd);
    free(vals);
    return result;
}

static struct json_object *call_with(const struct backend_op *op, struct tool_ctx *ctx,
                                     struct json_object *args, char *const *vals, long *status_out);

/* The backend answered 401: replaces each from_idp slot's value in vals by
 * a renewed token (tools/idp_token.h: once across processes) and each
 * exchange slot's by a fresh exchange (tools/exchange.h). Returns the
 * number renewed (0: op has no such slot; the answer stands), or -1 with
 * *result replaced by the message (sign in again, or try later). */
static int renew_idp_tokens(const struct backend_op *op, struct tool_ctx *ctx, char **vals,
                            struct json_object **result)
{
    int n = 0;
    for (int i = 0; i < op->n_auth; i++) {
        const struct backend_cred *c = &op->be->creds[op->auth[i]];
        if (!c->from_idp && !c->exchange)
            continue;
        struct mg_error err = MG_ERROR_INIT;
        char *v = c->from_idp ? tool_idp_token_renew(op->be, c, ctx, vals[i], &err)
                              : tool_exchange_renew(op->be, c, ctx, vals[i], &err);
        if (!v) {
            json_object_put(*result);
            *result = tool_result_text(err.msg, 1);
            return -1;
        }
        tool_cred_free(vals[i]);
        vals[i] = v;
        n++;
    }
    return n;
}

/* The backend refused even the renewed token: *result becomes the message
 * to sign in again. */
static void still_refused(const struct backend_op *op, struct tool_ctx *ctx,
                          struct json_object **result)
{
    for (int i = 0; i < op->n_auth; i++) {
        const struct backend_cred *c = &op->be->creds[op->auth[i]];
        if (!c->from_idp && !c->exchange)
            continue;
        struct mg_error err = MG_ERROR_INIT;
        if (c->from_idp)
            tool_idp_token_still_refused(op->be, c, ctx, &err);
        else
            tool_exchange_still_refused(op->be, c, &err);
        json_object_put(*result);
        *result = tool_result_text(err.msg, 1);
        return;
    }
}

struct json_object *tool_backend_call(const struct backend_op *op, struct tool_ctx *ctx,
                                      struct json_object *args)
{
    struct mg_error err = MG_ERROR_INIT;
    struct json_object *schema = json_tokener_parse(op->schema_text);
    if (!schema)
        return error_result("this tool's input schema could not be read");
    int valid = tool_schema_validate(schema, schema, args, &err);
    json_object_put(schema);
    if (valid < 0)
        return error_result("invalid arguments: %s", err.msg);
    const struct backend *be = op->be;
    struct json_object *result = NULL;
    /* the slots' values: the user's, the stored or the configured one */
    char **vals = xcalloc(op->n_auth ? (size_t)op->n_auth : 1, sizeof *vals);
    for (int i = 0; i < op->n_auth; i++) {
        vals[i] = tool_cred_resolve(be, &be->creds[op->auth[i]], ctx, &err);
        if (!vals[i]) {
            result = tool_result_text(err.msg, 1);
            goto out;
        }
    }
    long status = 0;
    result = call_with(op, ctx, args, vals, &status);
    if (status == 401 && renew_idp_tokens(op, ctx, vals, &result) > 0) {
        json_object_put(result);
        result = call_with(op, ctx, args, vals, &status);
        if (status == 401)
            still_refused(op, ctx, &result);
    }
out:
    for (int i = 0; i < op->n_auth; i++)
        tool_cred_free(vals[i]);
    free(vals);
    return result;
}

/* One request of op with the slots' values vals: its tool result, and the
 * HTTP status in *status (0 when there was no answer). */
static struct json_object *call_with(const struct backend_op *op, struct tool_ctx *ctx,
                                     struct json_object *args, char *const *vals, long *status_out)
{
    const struct backend *be = op->be;
    struct buf url = {.limit = 64 * 1024}, payload = {.limit = 16 * 1024 * 1024};
    struct curl_slist *headers = NULL;
    char *userpwd = NULL;
    int has_payload = 0;
    struct json_object *result = NULL;
    *status_out = 0;
    result = build(op, vals, args, &url, &headers, &payload, &has_payload, &userpwd);
    if (result)
        goto out;
    for (int i = 0; i < be->n_headers; i++)
        headers = curl_slist_append(headers, be->headers[i]);
    if (!has_header(headers, "Accept"))
        headers = curl_slist_append(headers, "Accept: application/json, */*;q=0.1");
    headers = curl_slist_append(headers, "Expect:");
    CURL *h = curl_easy_init();
    if (!h) {
        result = error_result("%s could not be called (out of resources)", be->name);
        goto out;
    }
    struct call c = {.op = op, .ctx = ctx, .started_ms = mg_now_ms()};
    c.progress_ms = c.started_ms;
    c.body.limit = op->max_bytes;
    curl_easy_setopt(h, CURLOPT_URL, url.data);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, op->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     op->timeout_ms < 10000 ? op->timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)op->max_bytes);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &c);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &c);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mcpgate/" PACKAGE_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (userpwd) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
    }
    if (strcmp(op->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(op->method, "GET") != 0 || has_payload) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, op->method);
        if (has_payload || strcmp(op->method, "POST") == 0 || strcmp(op->method, "PUT") == 0 ||
            strcmp(op->method, "PATCH") == 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload.data ? payload.data : "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)payload.len);
        }
    }
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    char *ct = NULL;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    long long ms = mg_now_ms() - c.started_ms;
    redact(be, vals, op->n_auth, &c.body);
    *status_out = rc == CURLE_OK ? status : 0;
    if (c.refused) {
        result = error_result("%s was not called: its address is loopback or private, and the "
                              "backend does not allow that (allow_private)",
                              be->name);
    } else if (c.cancelled) {
        result = error_result("the call to %s was cancelled", be->name);
    } else if (c.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        result = error_result("%s answered with more than %zu bytes, the limit for this tool",
                              be->name, op->max_bytes);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        result = error_result("%s did not answer within %ld ms", be->name, op->timeout_ms);
    } else if (rc != CURLE_OK) {
        result = error_result("%s could not be reached or its answer was not HTTP (%s)", be->name,
                              curl_easy_strerror(rc));
    } else if (status >= 200 && status < 300) {
        result = success_result(op, status, ct, &c.body);
    } else {
        char ex[ERROR_EXCERPT_BYTES + 1];
        excerpt(&c.body, ex, sizeof ex);
        result = error_result("%s answered HTTP %ld%s%s%s", be->name, status,
                              status >= 300 && status < 400 ? " (a redirect, not followed)" : "",
                              ex[0] ? ": " : "", ex);
    }
    LOG_INFO("msg=\"backend call\" backend=%s tool=%s method=%s status=%ld curl=%d ms=%lld "
             "bytes=%zu refused=%d cancelled=%d",
             be->name, op->tool_name, op->method, status, (int)rc, ms, c.body.len, c.refused,
             c.cancelled);
    curl_easy_cleanup(h);
    buf_free_secret(&c.body);
out:
    free_headers(headers);
    tool_secret_free(userpwd);
    buf_free_secret(&url);
    buf_free(&payload);
    return result;
}
