/*
 * mcp/hold.c - held streams that cost no worker thread.
 *
 * Locks: a waiter's hook (on_wake) runs under the wake registry's lock and
 * takes the holder's; so nothing here calls into mcp/wake.h while holding
 * the holder's lock.
 */
#include "mcp/hold.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

/* Where a stream is: being parked, held (in the table), held while the
 * holder writes its heartbeat, in the ready queue, run by a worker. */
enum { H_NEW, H_HELD, H_BEATING, H_READY, H_RUNNING };

/* The longest the holder sleeps without looking at its table. */
#define HOLD_TICK_MS 1000

static struct {
    pthread_mutex_t lock;
    int on;       /* the thread runs and takes streams */
    int stopping; /* it stops: park refuses */
    const struct mg_config *cfg;
    const volatile int *stop;
    int ep;       /* epoll: the held streams' connections and wake_fd */
    int wake_fd;  /* wakes the holder (stop) */
    int ready_fd; /* eventfd (semaphore): one count per stream in the ready queue */
    struct mcp_held **table;
    unsigned *gen; /* per slot: told apart from an earlier stream in the same slot */
    int cap, used;
    int *free_slots;
    int n_free;
    struct mcp_held *ready_head, *ready_tail;
    pthread_t thread;
} H = {.lock = PTHREAD_MUTEX_INITIALIZER, .ep = -1, .wake_fd = -1, .ready_fd = -1};

static uint64_t slot_key(int slot)
{
    return (uint64_t)(unsigned)slot | ((uint64_t)H.gen[slot] << 32);
}

/* Takes h out of the table (the caller holds the lock). */
static void table_remove(struct mcp_held *h)
{
    if (h->fd >= 0)
        epoll_ctl(H.ep, EPOLL_CTL_DEL, h->fd, NULL);
    H.table[h->slot] = NULL;
    H.gen[h->slot]++;
    H.free_slots[H.n_free++] = h->slot;
    H.used--;
    h->slot = -1;
}

/* Puts h in the table. Returns 0, or -1 (out of memory for the table). */
static int table_add(struct mcp_held *h)
{
    if (H.n_free == 0) {
        int cap = H.cap ? H.cap * 2 : 256;
        H.table = xrealloc(H.table, (size_t)cap * sizeof *H.table);
        H.gen = xrealloc(H.gen, (size_t)cap * sizeof *H.gen);
        H.free_slots = xrealloc(H.free_slots, (size_t)cap * sizeof *H.free_slots);
        for (int i = cap - 1; i >= H.cap; i--) {
            H.table[i] = NULL;
            H.gen[i] = 0;
            H.free_slots[H.n_free++] = i;
        }
        H.cap = cap;
    }
    int slot = H.free_slots[--H.n_free];
    H.table[slot] = h;
    h->slot = slot;
    H.used++;
    if (h->fd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = slot_key(slot)};
        if (epoll_ctl(H.ep, EPOLL_CTL_ADD, h->fd, &ev) < 0)
            LOG_WARN("msg=\"a held stream's connection is not watched\" errno=%d", errno);
    }
    return 0;
}

/* Moves h to the ready queue (the caller holds the lock). */
static void make_ready(struct mcp_held *h)
{
    if (h->state == H_HELD || h->state == H_BEATING)
        table_remove(h);
    h->state = H_READY;
    h->next = NULL;
    if (H.ready_tail)
        H.ready_tail->next = h;
    else
        H.ready_head = h;
    H.ready_tail = h;
    uint64_t one = 1;
    if (write(H.ready_fd, &one, sizeof one) != sizeof one)
        LOG_ERROR("msg=\"could not signal a ready stream\" errno=%d", errno);
}

/* A held stream's waiter was signalled (under the wake registry's lock). */
static void on_wake(void *arg)
{
    struct mcp_held *h = arg;
    pthread_mutex_lock(&H.lock);
    h->why |= MCP_HOLD_WOKEN;
    if (h->state == H_HELD)
        make_ready(h);
    pthread_mutex_unlock(&H.lock);
}

/* Looks at every held stream: those whose end came go to the ready queue,
 * those whose heartbeat is due are marked and listed in *beats. Returns
 * how long to sleep until the next is due. */
static int scan(long long now, struct mcp_held ***beats, int *n_beats)
{
    long long next = now + HOLD_TICK_MS;
    long long beat_ms = (long long)H.cfg->sse_heartbeat_s * 1000;
    *n_beats = 0;
    *beats = H.used ? xcalloc((size_t)H.used, sizeof **beats) : NULL;
    for (int i = 0; i < H.cap; i++) {
        struct mcp_held *h = H.table[i];
        if (!h || h->state != H_HELD)
            continue;
        if (now >= h->end_ms) {
            h->why |= MCP_HOLD_LATE;
            make_ready(h);
            continue;
        }
        if (now >= h->beat_ms) {
            h->state = H_BEATING;
            h->beat_ms = now + beat_ms;
            (*beats)[(*n_beats)++] = h;
        }
        long long due = h->beat_ms < h->end_ms ? h->beat_ms : h->end_ms;
        if (due < next)
            next = due;
    }
    return next > now ? (int)(next - now) : 0;
}

static void *holder_main(void *arg)
{
    (void)arg;
    int sleep_ms = 0;
    for (;;) {
        struct epoll_event ev[256];
        int n = epoll_wait(H.ep, ev, 256, sleep_ms);
        pthread_mutex_lock(&H.lock);
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u64 == UINT64_MAX)
                continue; /* wake_fd: stopping, seen below */
            int slot = (int)(ev[i].data.u64 & 0xffffffffu);
            struct mcp_held *h = slot < H.cap ? H.table[slot] : NULL;
            if (!h || slot_key(slot) != ev[i].data.u64 || h->state != H_HELD)
                continue;
            h->why |= MCP_HOLD_GONE;
            make_ready(h);
        }
        if (H.stopping) {
            pthread_mutex_unlock(&H.lock);
            return NULL;
        }
        struct mcp_held **beats;
        int n_beats;
        sleep_ms = scan(mg_now_ms(), &beats, &n_beats);
        pthread_mutex_unlock(&H.lock);
        /* heartbeats keep the web server's idle timer going; written
         * outside the lock, the streams marked H_BEATING stay ours */
        int *failed = n_beats ? xcalloc((size_t)n_beats, sizeof *failed) : NULL;
        for (int i = 0; i < n_beats; i++)
            failed[i] = beats[i]->sink.write(beats[i]->sink.ctx, ": ping\n\n", 8) < 0;
        pthread_mutex_lock(&H.lock);
        for (int i = 0; i < n_beats; i++) {
            struct mcp_held *h = beats[i];
            if (failed[i])
                h->why |= MCP_HOLD_GONE;
            if (h->why)
                make_ready(h);
            else
                h->state = H_HELD;
        }
        pthread_mutex_unlock(&H.lock);
        free(failed);
        free(beats);
    }
}

int mcp_hold_start(const struct mg_config *cfg, const volatile int *stop)
{
    H.cfg = cfg;
    H.stop = stop;
    H.ep = epoll_create1(EPOLL_CLOEXEC);
    H.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    H.ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
    if (H.ep < 0 || H.wake_fd < 0 || H.ready_fd < 0 ||
        epoll_ctl(H.ep, EPOLL_CTL_ADD, H.wake_fd, &ev) < 0)
        goto fail;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    int rc = pthread_create(&H.thread, &attr, holder_main, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        goto fail;
    H.on = 1;
    return 0;
fail:
    if (H.ep >= 0)
        close(H.ep);
    if (H.wake_fd >= 0)
        close(H.wake_fd);
    if (H.ready_fd >= 0)
        close(H.ready_fd);
    H.ep = H.wake_fd = H.ready_fd = -1;
    return -1;
}

int mcp_hold_on(void)
{
    pthread_mutex_lock(&H.lock);
    int on = H.on && !H.stopping;
    pthread_mutex_unlock(&H.lock);
    return on;
}

int mcp_hold_detach(struct mcp_held *h, const struct mcp_sink *sink)
{
    if (!sink->detach || !mcp_hold_on())
        return -1;
    h->fd = -1;
    h->slot = -1;
    snprintf(h->request_id, sizeof h->request_id, "%s", log_request_id() ? log_request_id() : "");
    return sink->detach(sink->ctx, &h->sink, &h->fd);
}

int mcp_hold_park(struct mcp_held *h, struct mcp_waiter *w)
{
    if (!mcp_hold_on())
        return -1;
    pthread_mutex_lock(&H.lock);
    h->why = 0;
    h->state = H_NEW;
    pthread_mutex_unlock(&H.lock);
    if (mcp_wake_hook(w, on_wake, h))
        return 1;
    pthread_mutex_lock(&H.lock);
    if (H.stopping) {
        pthread_mutex_unlock(&H.lock);
        mcp_wake_hook(w, NULL, NULL);
        return -1;
    }
    if (h->why) { /* signalled between the hook and here */
        make_ready(h);
    } else {
        h->beat_ms = mg_now_ms() + (long long)H.cfg->sse_heartbeat_s * 1000;
        h->state = H_HELD;
        table_add(h);
    }
    pthread_mutex_unlock(&H.lock);
    /* the holder's thread sleeps at most HOLD_TICK_MS: a stream whose end
     * comes sooner is seen late by less than that */
    return 0;
}

void mcp_hold_unhook(struct mcp_waiter *w)
{
    mcp_wake_hook(w, NULL, NULL);
}

int mcp_hold_ready_fd(void)
{
    return H.on ? H.ready_fd : -1;
}

/* Runs h, popped from the ready queue, on db. */
static void run(struct mcp_held *h, struct store_conn *db)
{
    struct mcp_env env = {.cfg = H.cfg, .db = db, .sink = &h->sink, .stop_flag = H.stop};
    log_set_request_id(h->request_id[0] ? h->request_id : NULL);
    h->resume(h, &env);
    log_set_request_id(NULL);
}

static struct mcp_held *pop_ready(void)
{
    pthread_mutex_lock(&H.lock);
    struct mcp_held *h = H.ready_head;
    if (h) {
        H.ready_head = h->next;
        if (!H.ready_head)
            H.ready_tail = NULL;
        h->state = H_RUNNING;
    }
    pthread_mutex_unlock(&H.lock);
    return h;
}

int mcp_hold_run_ready(struct store_conn *db)
{
    uint64_t v;
    if (H.ready_fd < 0 || read(H.ready_fd, &v, sizeof v) != sizeof v)
        return 0;
    struct mcp_held *h = pop_ready();
    if (!h)
        return 0;
    run(h, db);
    return 1;
}

void mcp_hold_stop(struct store_conn *db)
{
    if (!H.on)
        return;
    pthread_mutex_lock(&H.lock);
    H.stopping = 1;
    pthread_mutex_unlock(&H.lock);
    uint64_t one = 1;
    if (write(H.wake_fd, &one, sizeof one) != sizeof one)
        LOG_ERROR("msg=\"could not wake the holder\" errno=%d", errno);
    pthread_join(H.thread, NULL);
    /* what is still held ends now (the stop flag is set) */
    pthread_mutex_lock(&H.lock);
    for (int i = 0; i < H.cap; i++)
        if (H.table[i]) {
            H.table[i]->why |= MCP_HOLD_LATE;
            make_ready(H.table[i]);
        }
    pthread_mutex_unlock(&H.lock);
    struct mcp_held *h;
    while ((h = pop_ready()))
        run(h, db);
    H.on = 0;
    close(H.ep);
    close(H.wake_fd);
    close(H.ready_fd);
    H.ep = H.wake_fd = H.ready_fd = -1;
    free(H.table);
    free(H.gen);
    free(H.free_slots);
    H.table = NULL;
    H.gen = NULL;
    H.free_slots = NULL;
    H.cap = H.used = H.n_free = 0;
}
