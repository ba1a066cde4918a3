/*
 * fcgi/output.h - a FastCGI request's output (struct http_out's functions).
 *
 * Owns: writing and ending a request's response; connections answered
 * before their body was read (or not kept by the web server) closed by a
 * linger thread; detaching a request into a held stream (mcp/hold.h),
 * after which any one thread at a time may write and finish it.
 */
#ifndef MG_FCGI_OUTPUT_H
#define MG_FCGI_OUTPUT_H

#include <fcgiapp.h>
#include <pthread.h>
#include <stddef.h>

#include "http/response.h"

/* The output of one FastCGI request; finish ends it before the handler
 * returns (an SSE stream closed early, a 202 sent before the work). */
struct fcgi_out {
    FCGX_Request *fr;
    int finished;
    int detached; /* the request went to a held stream (fcgi_detach) */
    int held;     /* this is the held stream's (fcgi_detach's *held) */
};

/* http_out.write, .writev and .flush: 0, or -1 when the client is gone. */
int fcgi_write(void *ctx, const char *p, size_t n);
int fcgi_writev(void *ctx, const struct iovec *iov, int n);

/* A write of at least this many bytes is a large answer (a tools/list page
 * of a large catalog): the buffers that held it are worth trimming. */
#define FCGI_LARGE_ANSWER_BYTES (64 * 1024)

/* Whether this thread wrote a large answer since it last asked; asking
 * clears it. Cannot fail. */
int fcgi_large_answer_take(void);
int fcgi_flush(void *ctx);

/* http_out.finish: ends the request (once). */
void fcgi_finish(void *ctx);

/* Ends a request whose body was not read to its end. */
void fcgi_finish_unread(struct fcgi_out *o);

/* http_out.detach: moves the request into *held, whose finish ends and
 * frees it; the caller's worker needs a new FCGX_Request. */
int fcgi_detach(void *ctx, struct http_out *held, int *fd);

/* Starts the linger thread (a connection lingers at most body_max_s; it
 * stops once *stop is set). Returns 0, or -1: connections then end in
 * libfcgi's own close. */
int fcgi_linger_start(int body_max_s, const volatile int *stop, const pthread_attr_t *attr);

/* Waits for the linger thread to stop (after *stop was set). */
void fcgi_linger_stop(void);

#endif
