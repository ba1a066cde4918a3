/*
 * fcgi/output.c - a FastCGI request's output: writes, its end, lingering
 * closes, and handing a held stream's request to another thread.
 */
#include "fcgi/output.h"

#include <errno.h>
#include <fastcgi.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

static int linger_max_s;                /* body_max_s */
static const volatile int *linger_stop; /* the process's stop flag */

/* How long a held stream's write may wait for the web server to take it:
 * the holder writes every held stream's heartbeat (mcp/hold.h). */
#define HELD_SEND_TIMEOUT_MS 1000

/* A large answer was written by this thread (fcgi_large_answer_take). */
static _Thread_local int wrote_large;

int fcgi_large_answer_take(void)
{
    int was = wrote_large;
    wrote_large = 0;
    return was;
}

/* A write of at least DIRECT_MIN_BYTES goes to the connection as it is,
 * in FCGI_STDOUT records of up to RECORD_MAX bytes, DIRECT_RECORDS to a
 * system call: libfcgi would copy it into its 8 KiB buffer and write a
 * record (a system call, and a wake-up of the web server) per 8 KiB. */
#define DIRECT_MIN_BYTES (16 * 1024)
#define RECORD_MAX       (FCGI_MAX_LENGTH & ~7) /* content bytes of a record */
#define DIRECT_RECORDS   4
#define DIRECT_IOV       16 /* buffers of one writev() */

/* Writes the cnt buffers of iov (changed on the way) to fd in full.
 * Returns 0, or -1 when the connection failed. */
static int writev_all(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        ssize_t w = writev(fd, iov, cnt);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (; cnt > 0 && (size_t)w >= iov->iov_len; iov++, cnt--)
            w -= (ssize_t)iov->iov_len;
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Writes the n buffers of src, in order, as FCGI_STDOUT records straight
 * to the connection, after what libfcgi holds (flushed first: no system
 * call when it holds nothing). A record never has length 0 (that one ends
 * the stream). Returns 0, or -1 when the connection failed. */
static int write_direct(struct fcgi_out *o, const struct iovec *src, int n)
{
    if (FCGX_FFlush(o->fr->out) < 0)
        return -1;
    unsigned id = (unsigned)o->fr->requestId;
    int s = 0;      /* the next byte to send is src[s].iov_base + off */
    size_t off = 0; /* (s == n: none left) */
    while (s < n) {
        FCGI_Header head[DIRECT_RECORDS];
        struct iovec iov[DIRECT_IOV];
        int cnt = 0;
        for (int k = 0; k < DIRECT_RECORDS && s < n && cnt + 2 <= DIRECT_IOV; k++) {
            int at = cnt++; /* the record's header goes first */
            size_t len = 0;
            while (s < n && len < RECORD_MAX && cnt < DIRECT_IOV) {
                size_t take = src[s].iov_len - off;
                if (take > RECORD_MAX - len)
                    take = RECORD_MAX - len;
                if (take) {
                    iov[cnt++] =
                        (struct iovec){.iov_base = (char *)src[s].iov_base + off, .iov_len = take};
                    len += take;
                    off += take;
                }
                if (off == src[s].iov_len) {
                    s++;
                    off = 0;
                }
            }
            if (len == 0) { /* only empty buffers were left */
                cnt--;
                break;
            }
            head[k] = (FCGI_Header){.version = FCGI_VERSION_1,
                                    .type = FCGI_STDOUT,
                                    .requestIdB1 = (unsigned char)(id >> 8),
                                    .requestIdB0 = (unsigned char)id,
                                    .contentLengthB1 = (unsigned char)(len >> 8),
                                    .contentLengthB0 = (unsigned char)len};
            iov[at] = (struct iovec){.iov_base = &head[k], .iov_len = sizeof head[k]};
        }
        if (cnt && writev_all(o->fr->ipcFd, iov, cnt) < 0)
            return -1;
    }
    return 0;
}

int fcgi_writev(void *ctx, const struct iovec *iov, int n)
{
    struct fcgi_out *o = ctx;
    if (o->finished)
        return -1;
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    if (total >= FCGI_LARGE_ANSWER_BYTES)
        wrote_large = 1;
    /* not on a held stream: its writes may time out halfway (SO_SNDTIMEO),
     * which libfcgi's own writes account for */
    if (total >= DIRECT_MIN_BYTES && !o->held)
        return write_direct(o, iov, n);
    FCGX_Stream *out = o->fr->out;
    for (int i = 0; i < n; i++) {
        const char *p = iov[i].iov_base;
        for (size_t left = iov[i].iov_len; left > 0;) {
            int chunk = left > 65536 ? 65536 : (int)left;
            if (FCGX_PutStr(p, chunk, out) != chunk)
                return -1;
            p += chunk;
            left -= (size_t)chunk;
        }
    }
    return 0;
}

int fcgi_write(void *ctx, const char *p, size_t n)
{
    struct iovec one = {.iov_base = (void *)p, .iov_len = n};
    return fcgi_writev(ctx, &one, 1);
}

int fcgi_flush(void *ctx)
{
    struct fcgi_out *o = ctx;
    if (o->finished)
        return -1;
    return FCGX_FFlush(o->fr->out) < 0 ? -1 : 0;
}

/* Connections answered before their body was read to its end (too large,
 * too slow) are handed to one thread that drains and then closes them.
 * Closed at once, a web server still sending the body fails its next write
 * and answers 503 instead of the answer (mod_proxy_fcgi reads the answer only
 * after that write); libfcgi's own close lingers in the worker until the
 * web server stops sending (2 s after each byte, so a client trickling bytes
 * would hold the worker for as long as it likes). Each connection lingers
 * at most body_max_s; at most LINGER_MAX at once, more are closed at once. */
#define LINGER_MAX 1024

static struct {
    pthread_mutex_t lock;
    int ep; /* epoll set of the lingering connections, -1 until started */
    int n;
    struct {
        int fd;
        long long until_ms;
    } items[LINGER_MAX];
} linger = {.lock = PTHREAD_MUTEX_INITIALIZER, .ep = -1};
static pthread_t linger_thread;

/* Closes lingering connection i. The caller holds linger.lock. */
static void linger_drop(int i)
{
    epoll_ctl(linger.ep, EPOLL_CTL_DEL, linger.items[i].fd, NULL);
    close(linger.items[i].fd);
    linger.items[i] = linger.items[--linger.n];
}

/* Reads what fd holds; closes it at its end. */
static void linger_drain(int fd)
{
    char trash[4096];
    ssize_t got = read(fd, trash, sizeof trash);
    if (got > 0 || (got < 0 && (errno == EAGAIN || errno == EINTR)))
        return;
    pthread_mutex_lock(&linger.lock);
    for (int i = 0; i < linger.n; i++)
        if (linger.items[i].fd == fd) {
            linger_drop(i);
            break;
        }
    pthread_mutex_unlock(&linger.lock);
}

static void *linger_main(void *arg)
{
    (void)arg;
    while (!*linger_stop) {
        struct epoll_event ev[64];
        int n = epoll_wait(linger.ep, ev, 64, 250);
        for (int i = 0; i < n; i++)
            linger_drain(ev[i].data.fd);
        long long now = mg_now_ms();
        pthread_mutex_lock(&linger.lock);
        for (int i = linger.n - 1; i >= 0; i--)
            if (linger.items[i].until_ms <= now)
                linger_drop(i);
        pthread_mutex_unlock(&linger.lock);
    }
    pthread_mutex_lock(&linger.lock);
    while (linger.n > 0)
        linger_drop(linger.n - 1);
    pthread_mutex_unlock(&linger.lock);
    return NULL;
}

/* Ends the request and hands its connection to the linger thread, which
 * closes it once the web server has closed its end (or body_max_s later). */
static void finish_detached(struct fcgi_out *o)
{
    if (o->finished)
        return;
    int fd = dup(o->fr->ipcFd);
    o->fr->detached = 1; /* libfcgi closes its descriptor without lingering */
    FCGX_Finish_r(o->fr);
    o->finished = 1;
    if (fd < 0)
        return;
    shutdown(fd, SHUT_WR);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
    pthread_mutex_lock(&linger.lock);
    if (linger.ep >= 0 && linger.n < LINGER_MAX &&
        epoll_ctl(linger.ep, EPOLL_CTL_ADD, fd, &ev) == 0) {
        linger.items[linger.n].fd = fd;
        linger.items[linger.n++].until_ms = mg_now_ms() + (long long)linger_max_s * 1000;
        fd = -1;
    }
    pthread_mutex_unlock(&linger.lock);
    if (fd >= 0)
        close(fd);
}

/* Ends a request whose body was not read to its end (see linger above). */
void fcgi_finish_unread(struct fcgi_out *o)
{
    finish_detached(o);
}

/* Ends a request. A connection the web server keeps for its next request
 * stays with libfcgi. Any other is closed by the linger thread: libfcgi's
 * own close waits in the worker, after the answer, until the web server
 * has read it and closed its end (a turn of the web server's event loop
 * per request, during which the worker serves nobody). */
void fcgi_finish(void *ctx)
{
    struct fcgi_out *o = ctx;
    if (o->finished)
        return;
    if (o->fr->keepConnection || linger.ep < 0) {
        FCGX_Finish_r(o->fr);
        o->finished = 1;
        return;
    }
    finish_detached(o);
}

/* Ends a held stream's request (from whichever thread ends the stream):
 * its connection closes (a worker would have to read its next request)
 * and what held it is freed. */
static void fcgi_finish_held(void *ctx)
{
    struct fcgi_out *o = ctx;
    o->fr->keepConnection = 0;
    fcgi_finish(o);
    free(o->fr);
    free(o);
}

/* Moves the request being served into a held stream (http_out.detach): the
 * worker gets a new request for its next connection. */
int fcgi_detach(void *ctx, struct http_out *held, int *fd)
{
    struct fcgi_out *o = ctx;
    if (o->finished || o->detached)
        return -1;
    struct fcgi_out *h = xcalloc(1, sizeof *h);
    h->fr = o->fr;
    h->held = 1;
    o->detached = 1;
    o->finished = 1; /* later writes through the request's own out fail */
    struct timeval tv = {.tv_sec = HELD_SEND_TIMEOUT_MS / 1000,
                         .tv_usec = (HELD_SEND_TIMEOUT_MS % 1000) * 1000};
    if (setsockopt(h->fr->ipcFd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
        LOG_WARN("msg=\"could not bound a held stream's writes\" errno=%d", errno);
    *held = (struct http_out){.write = fcgi_write,
                              .writev = fcgi_writev,
                              .flush = fcgi_flush,
                              .finish = fcgi_finish_held,
                              .ctx = h};
    *fd = h->fr->ipcFd;
    return 0;
}

int fcgi_linger_start(int body_max_s, const volatile int *stop, const pthread_attr_t *attr)
{
    linger_max_s = body_max_s;
    linger_stop = stop;
    linger.ep = epoll_create1(EPOLL_CLOEXEC);
    if (linger.ep >= 0 && pthread_create(&linger_thread, attr, linger_main, NULL) == 0)
        return 0;
    if (linger.ep >= 0)
        close(linger.ep);
    linger.ep = -1;
    return -1;
}

void fcgi_linger_stop(void)
{
    if (linger.ep < 0)
        return;
    pthread_join(linger_thread, NULL);
    close(linger.ep);
}
