/*
 * tools/fetch.h - one outbound HTTP request of mcpgate's own (a client
 * metadata document, an identity provider's discovery, keys or token
 * endpoint): libcurl set up the same safe way every time.
 *
 * Owns: http and https only (plain http only where private addresses are
 * allowed), no redirects, no proxy from the environment, no signals, the
 * address checked after DNS and before connect (a loopback or private
 * address is refused unless allow_private), bounded time and size.
 * Must not touch: what is fetched (the callers parse and check it), logs
 * (the callers say what failed; a request may carry secrets).
 */
#ifndef MG_TOOLS_FETCH_H
#define MG_TOOLS_FETCH_H

#include <stddef.h>

struct buf;

struct tool_fetch_req {
    const char *url;
    const char *form;            /* POSTed (form-urlencoded), or NULL: a GET */
    const char *user, *password; /* HTTP Basic authentication, or NULL */
    const char *const *headers;  /* extra header lines, NULL-terminated, or NULL */
    const char *user_agent;      /* says which part of mcpgate asks */
    int allow_private;           /* plain http and private addresses allowed */
    long timeout_ms;             /* the whole request */
    long connect_timeout_ms;     /* 0: libcurl's default */
    long max_file_size;          /* a larger announced answer is refused up front; 0: none */
    /* each header line of the answer (libcurl's header callback), or NULL */
    size_t (*on_header)(char *line, size_t size, size_t n, void *arg);
    void *header_arg;
};

/* Performs req, the answer's body appended to body (whose limit caps it).
 * Returns libcurl's result (0: done, *status is the HTTP status); *refused
 * is set to 1 when the address was not public. */
int tool_fetch(const struct tool_fetch_req *req, struct buf *body, long *status, int *refused);

#endif
