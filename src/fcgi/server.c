/*
 * fcgi/server.c - the responder process.
 *
 * libfcgi notes (research: FastCGI facts tested on Debian 12):
 * - its own SIGTERM handler does not stop a blocked accept(), so we install
 *   ours first and never block in accept(): each worker polls the listening
 *   socket together with a wake-up pipe the signal handler writes to, and
 *   the socket is non-blocking so a connection another process took first
 *   shows up as EAGAIN rather than a hang;
 * - FCGX_GetParam() strings die at FCGX_Finish_r(): a request is served
 *   completely before it is finished.
 */
#include "fcgi/server.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fcgi/output.h"
#include "fcgi/park.h"
#include "fcgi/startup.h"
#include "mcp/hold.h"
#include "route/metrics.h"
#include "route/router.h"
#include "mcp/task.h"
#include "mcp/wake.h"
#include "store/audit.h"
#include "store/listen.h"
#include "store/db.h"
#include "tools/backends.h"
#include "tools/credentials.h"
#include "tools/idp_token.h"
#include "tools/upstream.h"
#include "util/alloc.h"
#include "util/config.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/time.h"

/* Stacks of worker threads: requests need little (buffers are on the heap),
 * and a process may hold hundreds of idle streams. Sanitizers need more. */
#if defined(__SANITIZE_ADDRESS__)
#define WORKER_STACK_BYTES (4 * 1024 * 1024)
#else
#define WORKER_STACK_BYTES (512 * 1024)
#endif

/* A request or body whose next bytes take longer than the grace to come is
 * "slow": waiting for it takes a slot (body_wait_take). The grace is short
 * when every slot is taken, so that slow clients beyond the slots cost a
 * worker little. */
#define BODY_GRACE_MS      50
#define BODY_GRACE_BUSY_MS 5

static atomic_int body_waiters; /* workers waiting for a slow body (at most half) */
static volatile int stopping;   /* set by the signal handler (an int is atomic here) */
/* A large answer's buffers (fcgi_large_answer_take) were freed since the
 * heap was last trimmed: the first worker with nothing to do trims it.
 * Buffers of ~100 KB from several threads at once leave holes in the
 * arenas that glibc's own trimming (of the top only) keeps for good. */
static atomic_int trim_due;
static int metrics_on_worker; /* shared mode: the worker flushes the metrics (set before
                                 the threads start) */
static int wake_pipe[2] = {-1, -1};
static int listen_fd;
static int park_fd = -1; /* fcgi/park.h, watched by every worker */
static struct mg_config config;

struct worker {
    pthread_t thread;
    int index;
    struct store_conn *db; /* owned by this worker's thread */
    struct buf body;       /* request body, reused between requests */
    struct buf params;     /* a copy of the request's FastCGI parameters */
    const char **envp;     /* pointers into params, NULL-terminated */
    size_t envp_cap;
};

static void on_stop_signal(int sig)
{
    (void)sig;
    int saved = errno;
    stopping = 1;
    FCGX_ShutdownPending();
    if (write(wake_pipe[1], "x", 1) < 0) {
        /* the pipe already holds a byte: the workers will see it */
    }
    errno = saved;
}

/* Installs our handlers before FCGX_Init(), so libfcgi leaves them alone. */
static int install_signals(void)
{
    if (pipe(wake_pipe) < 0)
        return -1;
    fcntl(wake_pipe[0], F_SETFD, FD_CLOEXEC);
    fcntl(wake_pipe[1], F_SETFD, FD_CLOEXEC);
    fcntl(wake_pipe[1], F_SETFL, O_NONBLOCK);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGUSR1, &sa, NULL) < 0 ||
        sigaction(SIGINT, &sa, NULL) < 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

/* A new request for a worker: connections are accepted by the worker
 * (accept_ready), never by libfcgi. Returns NULL when it cannot be set up. */
static FCGX_Request *request_new(void)
{
    FCGX_Request *fr = xcalloc(1, sizeof *fr);
    if (FCGX_InitRequest(fr, listen_fd, 0) != 0) {
        free(fr);
        return NULL;
    }
    /* after a request whose records did not come, libfcgi's accept fails
     * (EBADF) */
    fr->listen_sock = -1;
    return fr;
}

/* Copies the FastCGI parameters into the worker, so the request stays
 * readable after FCGX_Finish_r() ends the response early. */
static void copy_params(struct worker *w, char **envp)
{
    size_t n = 0;
    buf_reset(&w->params);
    for (char **e = envp; e && *e; e++, n++)
        if (buf_append(&w->params, *e, strlen(*e) + 1) < 0)
            abort();
    if (n + 1 > w->envp_cap) {
        w->envp_cap = n + 16;
        w->envp = xrealloc(w->envp, w->envp_cap * sizeof *w->envp);
    }
    const char *p = w->params.data;
    for (size_t i = 0; i < n; i++, p += strlen(p) + 1)
        w->envp[i] = p;
    w->envp[n] = NULL;
}

/* Bounds each read(2) libfcgi makes on fd to ms (0: no bound). */
static void set_read_timeout(int fd, long long ms)
{
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    if (ms > 0 && tv.tv_sec == 0 && tv.tv_usec == 0)
        tv.tv_usec = 1000;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        LOG_WARN("msg=\"could not bound a body read\" errno=%d", errno);
}

/* The body's clock, as mod_reqtimeout's body=T-MAX,MinRate=R: the body must
 * arrive by deadline_ms, which starts body_timeout_s away and moves 1 s
 * further per body_min_rate bytes received, but never past hard_ms
 * (body_max_s after the start). Under mod_proxy_fcgi the body comes as the
 * client sends it, so a client trickling bytes would otherwise hold a
 * worker for as long as it likes. */
struct body_clock {
    long long deadline_ms;
    long long hard_ms;
    long long credit_ms; /* fractions of the extension earned so far, in bytes*1000 */
    int waiting;         /* holds a body_waiters slot */
};

/* How many workers of the process may wait for slow clients at once. */
static int waiters_max(void)
{
    return config.threads > 1 ? config.threads / 2 : 1;
}

/* Takes one of the process's slots for a worker waiting on a slow body:
 * at most half the workers (at least one) wait, so the others keep serving
 * whatever slow bodies come in. Returns 1 (taken) or 0. */
static int body_wait_take(void)
{
    if (atomic_fetch_add(&body_waiters, 1) < waiters_max())
        return 1;
    atomic_fetch_sub(&body_waiters, 1);
    return 0;
}

/* How long a worker without a waiting slot waits for a client's next bytes. */
static int grace_ms(void)
{
    return atomic_load(&body_waiters) < waiters_max() ? BODY_GRACE_MS : BODY_GRACE_BUSY_MS;
}

/* Reads into p (up to n bytes) what the stream holds already, or else
 * waits for one more record until the deadline. Without a waiting slot
 * (bc->waiting) a read(2) may wait the grace only (grace_ms()): a body that does
 * not come that fast needs a slot. Returns the byte count, 0 at the end of
 * the body, -1 when the deadline passed (or the connection failed),
 * READ_CROWDED when the body was slow and no slot was free. */
enum { READ_CROWDED = -2 };
static int read_some(FCGX_Request *fr, char *p, int n, struct body_clock *bc)
{
    FCGX_Stream *in = fr->in;
    for (;;) {
        long long buffered = in->stop - in->rdNext;
        if (buffered > 0)
            return FCGX_GetStr(p, buffered < n ? (int)buffered : n, in);
        if (in->isClosed)
            return FCGX_GetError(in) ? -1 : 0;
        long long left = bc->deadline_ms - mg_now_ms();
        if (left <= 0)
            return -1;
        int grace = grace_ms();
        set_read_timeout(fr->ipcFd, bc->waiting || left < grace ? left : grace);
        if (FCGX_GetStr(p, 1, in) == 1)
            return 1;
        int err = FCGX_GetError(in);
        if (err == 0)
            return 0;
        if (bc->waiting || (err != EAGAIN && err != EWOULDBLOCK))
            return -1;
        /* libfcgi's read(2) timed out with its buffer empty, so the stream
         * may go on (a record header split across two writes of the web
         * server would be lost here; the web servers write a header with
         * its content) */
        FCGX_ClearError(in);
        in->isClosed = 0;
        if (!body_wait_take())
            return READ_CROWDED;
        bc->waiting = 1;
    }
}

/* What became of a request body. */
enum body_rc {
    BODY_OK,        /* read whole into w->body */
    BODY_TOO_LARGE, /* over max_body_bytes (declared or found so; the rest is not read:
                     * the connection is closed after the answer) */
    BODY_LATE,      /* did not arrive in time */
    BODY_CROWDED,   /* slow to come while enough workers wait already */
    BODY_SHORT,     /* ended before CONTENT_LENGTH bytes */
};

/* Reads the body into w->body. */
static enum body_rc read_body(struct worker *w, FCGX_Request *fr, long long content_length)
{
    buf_reset(&w->body);
    size_t max = config.max_body_bytes;
    if (content_length > (long long)max)
        return BODY_TOO_LARGE;
    long long start = mg_now_ms();
    struct body_clock bc = {.deadline_ms = start + (long long)config.body_timeout_s * 1000,
                            .hard_ms = start + (long long)config.body_max_s * 1000};
    char chunk[16384];
    int n;
    enum body_rc rc = BODY_OK;
    while ((n = read_some(fr, chunk, (int)sizeof chunk, &bc)) > 0) {
        if (w->body.len + (size_t)n > max) {
            rc = BODY_TOO_LARGE;
            break;
        }
        if (buf_append(&w->body, chunk, (size_t)n) < 0)
            abort();
        if (config.body_min_rate > 0) {
            bc.credit_ms += (long long)n * 1000;
            bc.deadline_ms += bc.credit_ms / config.body_min_rate;
            bc.credit_ms %= config.body_min_rate;
            if (bc.deadline_ms > bc.hard_ms)
                bc.deadline_ms = bc.hard_ms;
        }
    }
    set_read_timeout(fr->ipcFd, 0);
    if (bc.waiting)
        atomic_fetch_sub(&body_waiters, 1);
    if (rc == BODY_OK && n < 0)
        rc = n == READ_CROWDED ? BODY_CROWDED : BODY_LATE;
    if (rc == BODY_OK && content_length >= 0 && (long long)w->body.len != content_length)
        rc = BODY_SHORT;
    return rc;
}

static long long parse_length(const char *s)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return (errno || *end || v < 0) ? -1 : v;
}

/* A request id (16 hex digits) for the logs, the audit row and X-Request-Id:
 * unique, not secret. Each thread seeds a 64-bit state from the CSPRNG
 * once and steps it (splitmix64), instead of a RAND_bytes call per request
 * (OpenSSL's DRBG under its locks, a few percent of a tool call). */
static void request_id_new(char out[17])
{
    static _Thread_local uint64_t state;
    static _Thread_local int seeded;
    if (!seeded) {
        crypto_random(&state, sizeof state);
        seeded = 1;
    }
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    unsigned char rid[8];
    for (int i = 0; i < 8; i++)
        rid[i] = (unsigned char)(z >> (56 - 8 * i));
    crypto_hex_encode(rid, sizeof rid, out);
}

/* Serves the request fr. Returns 1 when it went to a held stream (fr
 * belongs to that stream now), else 0 (fr is finished). */
static int serve_one(struct worker *w, FCGX_Request *fr)
{
    struct http_request req = {0};
    copy_params(w, fr->envp);
    req.envp = w->envp;
    req.method = http_param(&req, "REQUEST_METHOD");
    req.uri = http_param(&req, "REQUEST_URI");
    req.content_type = http_param(&req, "CONTENT_TYPE");
    req.remote_addr = http_param(&req, "REMOTE_ADDR");
    req.content_length = parse_length(http_param(&req, "CONTENT_LENGTH"));
    if (!req.method)
        req.method = "GET";
    if (!req.uri)
        req.uri = "/";
    request_id_new(req.request_id);
    log_set_request_id(req.request_id);

    struct http_response res;
    http_response_init(&res);
    struct fcgi_out o = {.fr = fr};
    struct http_out out = {.write = fcgi_write,
                           .writev = fcgi_writev,
                           .flush = fcgi_flush,
                           .finish = fcgi_finish,
                           .detach = fcgi_detach,
                           .ctx = &o};
    struct http_ctx ctx = {
        .cfg = &config, .db = w->db, .req = &req, .res = &res, .out = &out, .stop_flag = &stopping};

    enum body_rc body = read_body(w, fr, req.content_length);
    /* the rest of the request is served from our copies */
    if (body == BODY_SHORT) {
        http_serve_rejected(&ctx, 400, "invalid_request", "request body shorter than its length");
    } else if (body == BODY_CROWDED) {
        LOG_INFO("msg=\"request body slow while other workers wait for theirs\"");
        if (http_response_header(&res, "Retry-After", "1") < 0)
            LOG_ERROR("msg=\"could not add a response header\"");
        http_serve_rejected(&ctx, 503, "temporarily_unavailable",
                            "Service Unavailable: too many slow request bodies at once, retry "
                            "shortly");
    } else if (body == BODY_LATE) {
        LOG_INFO("msg=\"request body too slow\" received=%zu", w->body.len);
        http_serve_rejected(&ctx, 408, "invalid_request",
                            "Request Timeout: the request body did not arrive in time");
    } else {
        /* an oversized body is reported by the endpoint, after the checks
         * that come first in its protocol (e.g. 415 before 413 on /mcp) */
        req.body_too_large = body == BODY_TOO_LARGE;
        req.body = body == BODY_TOO_LARGE ? "" : w->body.data ? w->body.data : "";
        req.body_len = body == BODY_TOO_LARGE ? 0 : w->body.len;
        http_serve(&ctx);
    }
    http_response_free(&res);
    if (o.detached)
        ; /* a held stream ends it */
    else if (body == 0)
        fcgi_finish(&o);
    else
        fcgi_finish_unread(&o);
    /* do not keep a huge body's memory around between requests */
    if (w->body.cap > 4 * 1024 * 1024)
        buf_free(&w->body);
    log_set_request_id(NULL);
    return o.detached;
}

/* Creates the worker's epoll set: the listening socket, exclusively (a new
 * connection wakes one waiting worker, not all of them, and no lock is
 * passed around between them), the wake-up pipe (wakes every worker), the
 * held streams' ready fd and the park (fcgi/park.h). Returns the epoll fd
 * or -1. */
static int watch_listener(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return -1;
    struct epoll_event lev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = listen_fd};
    struct epoll_event wev = {.events = EPOLLIN, .data.fd = wake_pipe[0]};
    int ready = mcp_hold_ready_fd();
    struct epoll_event rev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = ready};
    /* an epoll set cannot be watched exclusively: every worker wakes, and
     * the first to take the parked connection serves it */
    struct epoll_event pev = {.events = EPOLLIN, .data.fd = park_fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &lev) < 0 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, wake_pipe[0], &wev) < 0 ||
        (ready >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, ready, &rev) < 0) ||
        (park_fd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, park_fd, &pev) < 0)) {
        close(ep);
        return -1;
    }
    return ep;
}

/* Waits until the listening socket is readable, a held stream is ready
 * for a worker (mcp/hold.h), a parked connection is, or we are stopping.
 * Returns 1 when a connection may be waiting, 2 when a held stream may be,
 * 3 when a parked connection may be, 0 when stopping. */
static int wait_for_connection(int ep)
{
    while (!stopping) {
        struct epoll_event ev[3];
        int n = epoll_wait(ep, ev, 3, atomic_load(&trim_due) ? 0 : -1);
        if (n == 0) { /* nothing to do: a good time to trim (see trim_due) */
            if (atomic_exchange(&trim_due, 0))
                malloc_trim(0);
            continue;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            LOG_ERROR("msg=\"epoll_wait failed\" errno=%d", errno);
            return 0;
        }
        int ready = 0;
        for (int i = 0; i < n; i++) {
            if (ev[i].data.fd == wake_pipe[0])
                return 0;
            if (ev[i].data.fd == mcp_hold_ready_fd())
                return 2;
            if (ev[i].data.fd == park_fd)
                return 3;
            if (ev[i].events & EPOLLERR) {
                LOG_ERROR("msg=\"listening socket failed\"");
                stopping = 1;
                return 0;
            }
            ready = 1;
        }
        if (ready)
            return 1;
    }
    return 0;
}

/* Accepts a connection and waits until the web server sends on it: at
 * once, or else it waits in the park (fcgi/park.h) until body_timeout_s
 * (libfcgi would wait for the request's records for ever). When the park is
 * full, this worker waits holding a slot. Returns the connection, or -1
 * (none waiting, parked, no slot free, nothing sent in time, or stopping:
 * then it is closed). */
static int accept_ready(void)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return -1;
    /* the request's records, like its body, must come in time */
    set_read_timeout(fd, (long long)config.body_timeout_s * 1000);
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = wake_pipe[0], .events = POLLIN}};
    if (poll(p, 1, grace_ms()) > 0)
        return fd;
    if (fcgi_park_put(fd, mg_now_ms() + (long long)config.body_timeout_s * 1000) == 0)
        return -1;
    if (!body_wait_take()) {
        LOG_INFO("msg=\"connection closed: its request is slow while other workers wait\"");
        close(fd);
        return -1;
    }
    int rc;
    do
        rc = poll(p, 2, config.body_timeout_s * 1000);
    while (rc < 0 && errno == EINTR);
    atomic_fetch_sub(&body_waiters, 1);
    if (rc > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !stopping)
        return fd;
    LOG_INFO("msg=\"connection closed: no request came in time\"");
    close(fd);
    return -1;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int ep = watch_listener();
    FCGX_Request *fr = ep >= 0 ? request_new() : NULL;
    if (!fr) {
        LOG_ERROR("msg=\"could not set up a worker\" errno=%d", errno);
        if (ep >= 0)
            close(ep);
        return NULL;
    }
    while (!stopping) {
        int what = wait_for_connection(ep);
        if (!what)
            break;
        if (what == 2) { /* a held stream has something to do */
            if (mcp_hold_run_ready(w->db))
                store_conn_release(w->db);
            continue;
        }
        /* a connection the web server keeps open carries its next request;
         * a new one is accepted here, so that waiting for its request is
         * bounded, and handed to libfcgi (which then skips its accept) */
        if (fr->ipcFd < 0) {
            int fd = what == 3 ? fcgi_park_take() : accept_ready();
            if (fd < 0)
                continue;
            fr->ipcFd = fd;
            fr->keepConnection = 1; /* FCGX_Accept_r must not close it first */
        }
        int rc = FCGX_Accept_r(fr);
        if (rc < 0) {
            if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR || rc == -ECONNABORTED ||
                rc == -EBADF)
                continue;
            if (!stopping)
                LOG_ERROR("msg=\"accept failed\" rc=%d", rc);
            break;
        }
        /* shared LISTEN mode: the worker's connection LISTENs while the
         * request runs (a cancellation or an answer it waits for) */
        if (store_listen_is_shared())
            (void)store_listen_pump(w->db, 0);
        if (serve_one(w, fr)) { /* it finishes the request itself, or a held stream will */
            fr = request_new();
            if (!fr) {
                LOG_ERROR("msg=\"could not set up a worker's next request\"");
                break;
            }
        }
        if (metrics_on_worker)
            http_metrics_flush_due(w->db); /* after the answer, on the connection it holds */
        store_listen_quiet(w->db);
        store_conn_release(w->db); /* the connection goes back to the pool */
        if (fcgi_large_answer_take())
            atomic_store(&trim_due, 1); /* its buffers are freed by now */
    }
    if (fr) {
        FCGX_Free(fr, 0);
        free(fr);
    }
    close(ep);
    return NULL;
}

static int open_listener(const char *spec)
{
    const char *path = strncmp(spec, "unix:", 5) == 0 ? spec + 5 : spec;
    int fd = FCGX_OpenSocket(path, 128);
    if (fd < 0)
        fprintf(stderr, "mcpgate: could not listen on %s: %s\n", spec, strerror(errno));
    return fd;
}

/* Starts what the workers hand work to, before them: the linger thread,
 * the park, the holder of held streams and the audit writer. Each one that
 * cannot start is logged and its work stays in the workers. */
static void start_helpers(const pthread_attr_t *attr, int n)
{
    /* before the workers, which hand it their connections to close */
    if (fcgi_linger_start(config.body_max_s, &stopping, attr) < 0)
        LOG_ERROR("msg=\"could not start the linger thread: connections end in "
                  "libfcgi's own close\"");
    park_fd = fcgi_park_start();
    if (park_fd < 0)
        LOG_ERROR("msg=\"could not set up the park: connections slow to send wait in "
                  "workers\"");
    /* held streams wait in one thread, woken by the listener thread; in
     * shared mode only the worker reads the notifications, so they wait
     * in it */
    if (!(n == 1 && config.db_connections == 1) && mcp_hold_start(&config, &stopping) < 0)
        LOG_ERROR("msg=\"could not start the holder thread: held streams wait in workers\"");
    /* a tool call's answer waits for its audit row in the audit writer,
     * not in its worker; one thread alone writes its rows itself */
    if (n > 1 && store_audit_writer_start(config.database, config.db_connect_timeout_s, attr) < 0)
        LOG_ERROR("msg=\"could not start the audit writer: each call writes its own audit row\"");
}

int fcgi_responder_main(int argc, char **argv)
{
    const char *listen_spec = NULL;
    int rc = fcgi_startup(argc, argv, &config, &listen_spec);
    if (rc >= 0)
        return rc;
    /* libfcgi allocates its buffers (several KiB) on every accept; with
     * fastbins on, each such allocation first consolidates every thread's
     * freed small chunks (glibc malloc_consolidate), which was the largest
     * user-space cost of a request. tcache still serves small allocations.
     * Two arenas keep the memory of many threads from spreading out. */
    mallopt(M_MXFAST, 0);
    mallopt(M_ARENA_MAX, 2);
    if (install_signals() < 0) {
        fprintf(stderr, "mcpgate: could not install signal handlers: %s\n", strerror(errno));
        return 1;
    }
    if (FCGX_Init() != 0) {
        fprintf(stderr, "mcpgate: FCGX_Init failed\n");
        return 1;
    }
    listen_fd = 0;
    if (listen_spec && (listen_fd = open_listener(listen_spec)) < 0)
        return 1;
    if (!listen_spec && FCGX_IsCGI()) {
        fprintf(stderr, "mcpgate: not started by a FastCGI web server: fd 0 is not a "
                        "listening socket (use --listen unix:PATH or HOST:PORT)\n");
        return 2;
    }
    fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);

    int n = config.threads;
    metrics_on_worker = n == 1 && config.db_connections == 1; /* shared mode */
    struct worker *workers = xcalloc((size_t)n, sizeof *workers);
    LOG_INFO("msg=\"responder started\" version=%s threads=%d listen=%s", PACKAGE_VERSION, n,
             listen_spec ? "own" : "inherited");
    struct store_pool *pool = store_pool_new(config.database, config.db_connect_timeout_s,
                                             config.db_connections < n ? config.db_connections : n);
    /* many threads hold idle SSE streams: give them small stacks */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK_BYTES);
    start_helpers(&attr, n);
    int started = 0;
    for (int i = 0; i < n; i++) {
        workers[i].index = i;
        workers[i].db = store_pool_handle(pool);
        if (pthread_create(&workers[i].thread, &attr, worker_main, &workers[i]) != 0) {
            LOG_ERROR("msg=\"could not start a worker thread\"");
            stopping = 1;
            break;
        }
        started++;
    }
    if (n == 1 && config.db_connections == 1) /* one connection in all, LISTEN included */
        store_listen_shared(mcp_wake_dispatch, NULL);
    else if (store_listener_start(config.database, config.db_connect_timeout_s, mcp_wake_dispatch,
                                  NULL) < 0)
        LOG_ERROR("msg=\"could not start the listener thread: streams will only see their own "
                  "events\"");
    /* wait for a stop signal, flushing the metrics meanwhile on a connection
     * of their own, held only while there is something to add (in shared
     * mode, one connection in all, the worker flushes after its requests
     * instead), then wake every held stream so it ends now */
    struct store_conn *metrics_db =
        metrics_on_worker ? NULL : store_conn_new(config.database, config.db_connect_timeout_s);
    long long flushed_ms = mg_now_ms();
    while (!stopping) {
        struct pollfd p = {.fd = wake_pipe[0], .events = POLLIN};
        if (poll(&p, 1, 1000) > 0)
            break;
        int late = fcgi_park_sweep(mg_now_ms());
        if (late)
            LOG_INFO("msg=\"connections closed: no request came in time\" count=%d", late);
        if (metrics_db && mg_now_ms() - flushed_ms >= HTTP_METRICS_FLUSH_MS) {
            flushed_ms = mg_now_ms();
            if (http_metrics_flush(metrics_db) == 0)
                store_conn_release(metrics_db);
        }
    }
    mcp_wake_all();
    for (int i = 0; i < started; i++)
        pthread_join(workers[i].thread, NULL);
    mcp_hold_stop(workers[0].db); /* the streams it still held end */
    store_conn_release(workers[0].db);
    store_audit_writer_stop(); /* the rows and answers still queued go out */
    fcgi_linger_stop();
    fcgi_park_stop();
    mcp_tasks_drain(config.database, config.db_connect_timeout_s); /* mcp/task.h */
    /* what this process counted last (the worker's connection is free now) */
    (void)http_metrics_flush(metrics_db ? metrics_db : workers[0].db);
    store_conn_free(metrics_db);
    store_listener_stop();
    pthread_attr_destroy(&attr);
    for (int i = 0; i < n; i++) {
        store_conn_free(workers[i].db);
        buf_free(&workers[i].body);
        buf_free(&workers[i].params);
        free(workers[i].envp);
    }
    free(workers);
    store_pool_free(pool);
    LOG_INFO("msg=\"responder stopped\"");
    return 0;
}
