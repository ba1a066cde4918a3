/*
 * http/request.h - one HTTP request as the web server handed it over.
 *
 * Owns: the struct the router and handlers read; header lookup by HTTP name.
 * The FastCGI layer fills it; tests fill it by hand. Every string is
 * borrowed and lives until the response has been sent.
 */
#ifndef MG_HTTP_REQUEST_H
#define MG_HTTP_REQUEST_H

#include <stddef.h>

struct http_request {
    const char *method;       /* REQUEST_METHOD, e.g. "POST" */
    const char *uri;          /* REQUEST_URI as sent (path and query) */
    const char *content_type; /* CONTENT_TYPE or NULL */
    const char *remote_addr;  /* REMOTE_ADDR or NULL */
    long long content_length; /* CONTENT_LENGTH, -1 when absent or invalid */
    const char *body;         /* the body (not NUL-terminated), NULL until read */
    size_t body_len;
    int body_too_large;      /* 1: the body exceeded max_body_bytes and was discarded */
    char request_id[17];     /* 16 hex chars, for logs and X-Request-Id */
    const char *const *envp; /* FastCGI parameters NAME=value, NULL-terminated */
};

/* Looks up a request header by its HTTP name ("Mcp-Session-Id"), case-
 * insensitively, through its CGI name (HTTP_MCP_SESSION_ID). Returns the
 * value, borrowed from the request, or NULL when absent. */
const char *http_header(const struct http_request *r, const char *name);

/* Looks up a FastCGI parameter by exact name. Borrowed, or NULL. */
const char *http_param(const struct http_request *r, const char *name);

/* Writes the path part of r->uri (before '?') into out, without
 * decoding. Returns 0, or -1 when it does not fit in n bytes. */
__attribute__((warn_unused_result)) int http_request_path(const struct http_request *r, char *out,
                                                          size_t n);

#endif
