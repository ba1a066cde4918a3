/*
 * http/response.h - building and sending a response.
 *
 * Owns: the status line and header syntax of a FastCGI response (a CGI
 * "Status:" header), refusing header values that could split the response,
 * and the output abstraction: the FastCGI layer supplies write/flush, tests
 * supply a memory buffer.
 */
#ifndef MG_HTTP_RESPONSE_H
#define MG_HTTP_RESPONSE_H

#include <stddef.h>
#include <sys/uio.h>

#include "util/buf.h"

/* Where response bytes go. write returns 0, or -1 when the client is gone.
 * finish (may be NULL) ends the response at once: later writes fail. */
struct http_out {
    int (*write)(void *ctx, const char *p, size_t n);
    /* May be NULL. Writes the n buffers of iov in order, as write would,
     * in as few writes to the web server as it can. */
    int (*writev)(void *ctx, const struct iovec *iov, int n);
    int (*flush)(void *ctx);
    void (*finish)(void *ctx);
    void *ctx;
    /* May be NULL. Moves the response out of the request being served into
     * *held, whose finish ends it and frees what held it, from any thread,
     * after the request's handler has returned; later writes through this
     * out fail. *fd: the response's connection. Returns 0, or -1 (nothing
     * changed). */
    int (*detach)(void *ctx, struct http_out *held, int *fd);
};

struct http_response {
    int status;               /* 200 unless set */
    const char *content_type; /* NULL: no body type (empty body) */
    struct buf headers;       /* extra "Name: value\r\n" lines */
    struct buf body;          /* the body, unless json is set */
    /* NULL, or the object whose JSON text is the body (set_json): a
     * reference held until the body changes or res is freed, so that a
     * large answer is not copied once more. json_text is json-c's text in
     * it (util/json.h json_text), json_len its length. */
    struct json_object *json;
    const char *json_text;
    size_t json_len;
};

/* Initializes res for status 200 with no headers and an empty body. */
void http_response_init(struct http_response *res);

/* Frees what res holds. */
void http_response_free(struct http_response *res);

/* Adds a header. A value holding CR, LF or NUL is refused: returns -1 and
 * adds nothing; otherwise 0. */
__attribute__((warn_unused_result)) int http_response_header(struct http_response *res,
                                                             const char *name, const char *value);

/* The body: its bytes (borrowed until the body changes or res is freed;
 * NUL-terminated, "" when empty), and its length in *len. Cannot fail. */
const char *http_response_body(const struct http_response *res, size_t *len);

/* Replaces the body with a copy of text (which may be res's own body) and
 * sets the content type. */
void http_response_set_body(struct http_response *res, int status, const char *content_type,
                            const char *text, size_t len);

struct json_object;

/* Replaces the body with o as JSON text (application/json); o stays the
 * caller's. */
void http_response_set_json(struct http_response *res, int status, struct json_object *o);

/* Replaces the body with an error object {"error": code,
 * "error_description": description} (RFC 6749 section 5.2; no description
 * when NULL). */
void http_response_json_error(struct http_response *res, int status, const char *code,
                              const char *description);

/* Sends status, headers and body to out. Returns 0, or -1 if the client is
 * gone. */
int http_response_send(const struct http_response *res, const struct http_out *out);

/* The reason phrase for a status code ("Unknown" for others). */
const char *http_reason(int status);

#endif
