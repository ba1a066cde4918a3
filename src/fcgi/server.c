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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "config.h"
#include "http/router.h"
#include "mcp/task.h"
#include "mcp/wake.h"
#include "store/listen.h"
#include "store/db.h"
#include "tools/backend.h"
#include "tools/credentials.h"
#include "tools/upstream.h"
#include "util/alloc.h"
#include "util/config.h"
#include "util/crypto.h"
#include "util/log.h"

/* Stacks of worker threads: requests need little (buffers are on the heap),
 * and a process may hold hundreds of idle streams. Sanitizers need more. */
#if defined(__SANITIZE_ADDRESS__)
#define WORKER_STACK_BYTES (4 * 1024 * 1024)
#else
#define WORKER_STACK_BYTES (512 * 1024)
#endif
#define DRAIN_LIMIT ((long long)256 * 1024 * 1024)

static volatile int stopping; /* set by the signal handler (an int is atomic here) */
static int wake_pipe[2] = {-1, -1};
static int listen_fd;
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

/* The output of one FastCGI request; finish ends it before the handler
 * returns (an SSE stream closed early, a 202 sent before the work). */
struct fcgi_out {
    FCGX_Request *fr;
    int finished;
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

static int fcgi_write(void *ctx, const char *p, size_t n)
{
    struct fcgi_out *o = ctx;
    if (o->finished)
        return -1;
    FCGX_Stream *out = o->fr->out;
    while (n > 0) {
        int chunk = n > 65536 ? 65536 : (int)n;
        if (FCGX_PutStr(p, chunk, out) != chunk)
            return -1;
        p += chunk;
        n -= (size_t)chunk;
    }
    return 0;
}

static int fcgi_flush(void *ctx)
{
    struct fcgi_out *o = ctx;
    if (o->finished)
        return -1;
    return FCGX_FFlush(o->fr->out) < 0 ? -1 : 0;
}

static void fcgi_finish(void *ctx)
{
    struct fcgi_out *o = ctx;
    if (!o->finished) {
        FCGX_Finish_r(o->fr);
        o->finished = 1;
    }
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

/* Reads and discards what is left of the body, up to DRAIN_LIMIT bytes, so
 * the web server is not left blocked writing a body nobody reads. */
static void drain_body(FCGX_Stream *in)
{
    char scratch[16384];
    long long total = 0;
    int n;
    while (total < DRAIN_LIMIT && (n = FCGX_GetStr(scratch, sizeof scratch, in)) > 0)
        total += n;
}

/* Reads the body into w->body. Returns 0, 1 when it is over the limit (then
 * drained), or -1 when it ended before CONTENT_LENGTH bytes. */
static int read_body(struct worker *w, FCGX_Stream *in, long long content_length)
{
    buf_reset(&w->body);
    size_t max = config.max_body_bytes;
    if (content_length > (long long)max) {
        drain_body(in);
        return 1;
    }
    char chunk[16384];
    int n;
    while ((n = FCGX_GetStr(chunk, sizeof chunk, in)) > 0) {
        if (w->body.len + (size_t)n > max) {
            drain_body(in);
            return 1;
        }
        if (buf_append(&w->body, chunk, (size_t)n) < 0)
            abort();
    }
    if (content_length >= 0 && (long long)w->body.len != content_length)
        return -1;
    return 0;
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

static void serve_one(struct worker *w, FCGX_Request *fr)
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
    unsigned char rid[8];
    crypto_random(rid, sizeof rid);
    crypto_hex_encode(rid, sizeof rid, req.request_id);
    log_set_request_id(req.request_id);

    struct http_response res;
    http_response_init(&res);
    struct fcgi_out o = {.fr = fr};
    struct http_out out = {
        .write = fcgi_write, .flush = fcgi_flush, .finish = fcgi_finish, .ctx = &o};
    struct http_ctx ctx = {
        .cfg = &config, .db = w->db, .req = &req, .res = &res, .out = &out, .stop_flag = &stopping};

    int body = read_body(w, fr->in, req.content_length);
    /* the rest of the request is served from our copies */
    if (body < 0) {
        http_serve_rejected(&ctx, 400, "invalid_request", "request body shorter than its length");
    } else {
        /* an oversized body is reported by the endpoint, after the checks
         * that come first in its protocol (e.g. 415 before 413 on /mcp) */
        req.body_too_large = body == 1;
        req.body = body == 1 ? "" : w->body.data ? w->body.data : "";
        req.body_len = body == 1 ? 0 : w->body.len;
        http_serve(&ctx);
    }
    http_response_free(&res);
    fcgi_finish(&o);
    /* do not keep a huge body's memory around between requests */
    if (w->body.cap > 4 * 1024 * 1024)
        buf_free(&w->body);
    log_set_request_id(NULL);
}

/* Creates the worker's epoll set: the listening socket, exclusively (a new
 * connection wakes one waiting worker, not all of them, and no lock is
 * passed around between them), and the wake-up pipe (wakes every worker).
 * Returns the epoll fd or -1. */
static int watch_listener(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return -1;
    struct epoll_event lev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = listen_fd};
    struct epoll_event wev = {.events = EPOLLIN, .data.fd = wake_pipe[0]};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &lev) < 0 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, wake_pipe[0], &wev) < 0) {
        close(ep);
        return -1;
    }
    return ep;
}

/* Waits until the listening socket is readable or we are stopping.
 * Returns 1 when a connection may be waiting, 0 when stopping. */
static int wait_for_connection(int ep)
{
    while (!stopping) {
        struct epoll_event ev[2];
        int n = epoll_wait(ep, ev, 2, -1);
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

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    FCGX_Request fr;
    int ep = watch_listener();
    if (ep < 0 || FCGX_InitRequest(&fr, listen_fd, 0) != 0) {
        LOG_ERROR("msg=\"could not set up a worker\" errno=%d", errno);
        if (ep >= 0)
            close(ep);
        return NULL;
    }
    while (!stopping) {
        if (!wait_for_connection(ep))
            break;
        int rc = FCGX_Accept_r(&fr);
        if (rc < 0) {
            if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR || rc == -ECONNABORTED)
                continue;
            if (!stopping)
                LOG_ERROR("msg=\"accept failed\" rc=%d", rc);
            break;
        }
        /* shared LISTEN mode: the worker's connection LISTENs while the
         * request runs (a cancellation or an answer it waits for) */
        if (store_listen_is_shared())
            (void)store_listen_pump(w->db, 0);
        serve_one(w, &fr); /* it finishes the request itself */
        store_listen_quiet(w->db);
        store_conn_release(w->db); /* the connection goes back to the pool */
    }
    FCGX_Free(&fr, 0);
    close(ep);
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mcpgate.fcgi [--config FILE] [--listen unix:PATH|HOST:PORT] "
               "[--threads N]\n"
               "\n"
               "The mcpgate FastCGI responder. Spawned by lighttpd or mod_fcgid it serves\n"
               "the socket on fd 0; with --listen it opens its own (mod_proxy_fcgi).\n"
               "Config: --config, else $MCPGATE_CONFIG, else " MG_DEFAULT_CONFIG ".\n"
               "  --check-config  load the configuration, report problems and exit\n"
               "  --version       print the version and exit\n");
}

/* log_file: appends stderr (every log line, and whatever libraries print)
 * to path, so that the owner of a web space reads them where the web
 * server's own error log is not theirs. When it cannot be opened the lines
 * stay on stderr (the web server's log), and the first says why. */
static void open_log_file(const char *path)
{
    if (!path[0])
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        LOG_WARN("msg=\"could not open log_file: logging to stderr\" path=\"%s\" error=\"%s\"",
                 path, strerror(errno));
        return;
    }
    if (fd != STDERR_FILENO) {
        if (dup2(fd, STDERR_FILENO) < 0)
            LOG_WARN("msg=\"could not redirect stderr to log_file\" error=\"%s\"", strerror(errno));
        close(fd);
    }
}

static int open_listener(const char *spec)
{
    const char *path = strncmp(spec, "unix:", 5) == 0 ? spec + 5 : spec;
    int fd = FCGX_OpenSocket(path, 128);
    if (fd < 0)
        fprintf(stderr, "mcpgate: could not listen on %s: %s\n", spec, strerror(errno));
    return fd;
}

int fcgi_responder_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 't'},
        {"check-config", no_argument, NULL, 'k'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_file = NULL, *listen_spec = NULL, *threads_arg = NULL;
    int check_only = 0, opt;
    while ((opt = getopt_long(argc, argv, "c:l:t:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_file = optarg;
            break;
        case 'l':
            listen_spec = optarg;
            break;
        case 't':
            threads_arg = optarg;
            break;
        case 'k':
            check_only = 1;
            break;
        case 'V':
            printf("mcpgate.fcgi %s\n", PACKAGE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    char err[512];
    const char *path = config_path(config_file);
    config_defaults(&config);
    if (config_load(&config, path, err, sizeof err) < 0 ||
        (threads_arg && config_set(&config, "threads", threads_arg, err, sizeof err) < 0) ||
        config_finish(&config, err, sizeof err) < 0) {
        fprintf(stderr, "mcpgate: %s\n", err);
        return 1;
    }
    log_set_level(config.log_level);
    open_log_file(config.log_file);
    tool_upstream_set_max_bytes((size_t)config.upstream_tools_max_kib * 1024);
    if (tool_backends_load(config.backends_dir, err, sizeof err) < 0) {
        fprintf(stderr, "mcpgate: %s\n", err);
        return 1;
    }
    tool_cred_setup(config.credential_keys, config.n_credential_keys, config.base_url);
    malloc_trim(0); /* parsing the backend files left freed memory behind */
    if (check_only) {
        printf("mcpgate: configuration %s is valid\n", path);
        return 0;
    }
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
    struct worker *workers = xcalloc((size_t)n, sizeof *workers);
    LOG_INFO("msg=\"responder started\" version=%s threads=%d listen=%s", PACKAGE_VERSION, n,
             listen_spec ? "own" : "inherited");
    struct store_pool *pool = store_pool_new(config.database, config.db_connect_timeout_s,
                                             config.db_connections < n ? config.db_connections : n);
    /* many threads hold idle SSE streams: give them small stacks */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK_BYTES);
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
    /* wait for a stop signal, then wake every held stream so it ends now */
    while (!stopping) {
        struct pollfd p = {.fd = wake_pipe[0], .events = POLLIN};
        if (poll(&p, 1, 1000) > 0)
            break;
    }
    mcp_wake_all();
    for (int i = 0; i < started; i++)
        pthread_join(workers[i].thread, NULL);
    mcp_tasks_drain(config.database, config.db_connect_timeout_s); /* mcp/task.h */
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
