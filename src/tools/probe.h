/*
 * tools/probe.h - one timed HTTP request for `mcpgate doctor`.
 *
 * Owns: the libcurl side of the doctor (libcurl is kept to src/tools/ and
 * the CIMD fetcher). A probe records what a client would see: the status,
 * the response header block, the body (capped), and when the first body
 * byte and the end arrived, so that buffering between client and responder
 * shows as a first byte that came only with the end.
 * Must not touch: the database, the configuration, stdout.
 */
#ifndef MG_TOOLS_PROBE_H
#define MG_TOOLS_PROBE_H

#include <stddef.h>

#include "util/buf.h"

#define TOOL_PROBE_BODY_MAX ((size_t)256 * 1024)

struct tool_probe_req {
    const char *method;         /* "GET" unless set */
    const char *url;            /* absolute http(s) URL */
    const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
    const char *body;           /* request body or NULL */
    long timeout_ms;            /* whole request, connect included; > 0 */
    int insecure;               /* skip TLS certificate and host checks */
};

struct tool_probe_res {
    long status;          /* HTTP status; 0 when the request failed */
    struct buf head;      /* header lines of the final response, CRLFs kept */
    struct buf body;      /* at most TOOL_PROBE_BODY_MAX bytes */
    double first_body_ms; /* since the start; -1 when no body came */
    double total_ms;      /* since the start, to the end or the failure */
    char error[256];      /* why the request failed ("" when it did not) */
};

/* Runs req. Returns 0 when an HTTP response arrived complete (any status),
 * -1 when it did not (connection refused, TLS, timeout; res->error says
 * which, res keeps what arrived). res is overwritten; free it with
 * tool_probe_res_free() either way. */
__attribute__((warn_unused_result)) int tool_probe_run(const struct tool_probe_req *req,
                                                       struct tool_probe_res *res);

/* Copies the value of the first header called name (case-insensitive) into
 * out (truncated to n-1 bytes). Returns out, or NULL when there is none. */
const char *tool_probe_header(const struct tool_probe_res *res, const char *name, char *out,
                              size_t n);

/* Frees what res holds; accepts a zeroed struct. */
void tool_probe_res_free(struct tool_probe_res *res);

#endif
