/*
 * http/response.c - building and sending a response.
 */
#include "http/response.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "util/json.h"

void http_response_init(struct http_response *res)
{
    memset(res, 0, sizeof *res);
    res->status = 200;
    res->headers.limit = 64 * 1024;
}

/* Drops the body held as a JSON object (set_json). */
static void drop_json(struct http_response *res)
{
    json_object_put(res->json);
    res->json = NULL;
    res->json_text = NULL;
    res->json_len = 0;
}

void http_response_free(struct http_response *res)
{
    buf_free(&res->headers);
    buf_free(&res->body);
    drop_json(res);
}

const char *http_response_body(const struct http_response *res, size_t *len)
{
    if (res->json) {
        *len = res->json_len;
        return res->json_text;
    }
    *len = res->body.len;
    return res->body.data ? res->body.data : "";
}

int http_response_header(struct http_response *res, const char *name, const char *value)
{
    if (strpbrk(value, "\r\n") || strpbrk(name, "\r\n: "))
        return -1;
    if (buf_printf(&res->headers, "%s: %s\r\n", name, value) < 0)
        return -1;
    return 0;
}

void http_response_set_body(struct http_response *res, int status, const char *content_type,
                            const char *text, size_t len)
{
    res->status = status;
    res->content_type = content_type;
    buf_reset(&res->body);
    if (buf_append(&res->body, text, len) < 0)
        abort();    /* bodies are capped well below the buffer limit */
    drop_json(res); /* after the copy: text may be its own */
}

const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 303:
        return "See Other";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

int http_response_send(const struct http_response *res, const struct http_out *out)
{
    struct buf head = {0};
    size_t body_len;
    const char *body = http_response_body(res, &body_len);
    int rc = buf_printf(&head, "Status: %d %s\r\n", res->status, http_reason(res->status));
    if (rc == 0 && res->content_type)
        rc = buf_printf(&head, "Content-Type: %s\r\n", res->content_type);
    if (rc == 0 && res->status != 204)
        rc = buf_printf(&head, "Content-Length: %zu\r\n", body_len);
    if (rc == 0)
        rc = buf_append(&head, buf_str(&res->headers), res->headers.len);
    if (rc == 0)
        rc = buf_puts(&head, "\r\n");
    int with_body = body_len && res->status != 204;
    if (rc == 0 && out->writev) { /* the head and a large body in one go */
        struct iovec iov[2] = {{.iov_base = head.data, .iov_len = head.len},
                               {.iov_base = (void *)body, .iov_len = body_len}};
        rc = out->writev(out->ctx, iov, with_body ? 2 : 1);
    } else {
        if (rc == 0)
            rc = out->write(out->ctx, head.data, head.len);
        if (rc == 0 && with_body)
            rc = out->write(out->ctx, body, body_len);
    }
    buf_free(&head);
    return rc;
}

void http_response_set_json(struct http_response *res, int status, struct json_object *o)
{
    size_t len = 0;
    const char *text = json_text(o, &len);
    if (!o) { /* json-c's constant "null": nothing to hold */
        http_response_set_body(res, status, "application/json", text, len);
        return;
    }
    res->status = status;
    res->content_type = "application/json";
    buf_reset(&res->body);
    struct json_object *held = json_object_get(o); /* before the put: o may be res->json */
    drop_json(res);
    res->json = held;
    res->json_text = text;
    res->json_len = len;
}

void http_response_json_error(struct http_response *res, int status, const char *code,
                              const char *description)
{
    struct json_object *o = json_object_new_object();
    json_add(o, "error", json_object_new_string(code));
    if (description)
        json_add(o, "error_description", json_object_new_string(description));
    http_response_set_json(res, status, o);
    json_object_put(o);
}
