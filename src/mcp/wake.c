/*
 * mcp/wake.c - threads of this process waiting for a NOTIFY key.
 */
#include "mcp/wake.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/listen.h"
#include "util/time.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mcp_waiter *waiters;

void mcp_wake_register(struct mcp_waiter *w, const char *key)
{
    mcp_wake_register_in(w, key, NULL);
}

void mcp_wake_register_in(struct mcp_waiter *w, const char *key, struct mcp_waiter *group)
{
    w->group = group;
    snprintf(w->key, sizeof w->key, "%s", key);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    w->signalled = 0;
    w->fired = 0;
    w->hook = NULL;
    w->hook_arg = NULL;
    pthread_mutex_lock(&lock);
    w->next = waiters;
    waiters = w;
    pthread_mutex_unlock(&lock);
}

void mcp_wake_unregister(struct mcp_waiter *w)
{
    pthread_mutex_lock(&lock);
    for (struct mcp_waiter **p = &waiters; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    pthread_cond_destroy(&w->cond);
}

int mcp_wake_wait(struct mcp_waiter *w, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&lock);
    int rc = 0;
    while (!w->signalled && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->cond, &lock, &deadline);
    int got = w->signalled;
    w->signalled = 0;
    pthread_mutex_unlock(&lock);
    return got;
}

int mcp_wake_take(struct mcp_waiter *w)
{
    pthread_mutex_lock(&lock);
    int got = w->signalled;
    w->signalled = 0;
    pthread_mutex_unlock(&lock);
    return got;
}

int mcp_wake_hook(struct mcp_waiter *w, void (*hook)(void *arg), void *arg)
{
    pthread_mutex_lock(&lock);
    int pending = hook && w->signalled;
    if (!pending) {
        w->hook = hook;
        w->hook_arg = arg;
    }
    pthread_mutex_unlock(&lock);
    return pending;
}

int mcp_wake_fired(struct mcp_waiter *w)
{
    pthread_mutex_lock(&lock);
    int f = w->fired;
    pthread_mutex_unlock(&lock);
    return f;
}

void mcp_wake_dispatch(const char *key, void *unused)
{
    (void)unused;
    pthread_mutex_lock(&lock);
    for (struct mcp_waiter *w = waiters; w; w = w->next) {
        if (key && strcmp(w->key, key) != 0)
            continue;
        w->signalled = 1;
        if (key)
            w->fired = 1;
        pthread_cond_signal(&w->cond);
        if (w->hook)
            w->hook(w->hook_arg);
        if (w->group) {
            w->group->signalled = 1;
            pthread_cond_signal(&w->group->cond);
            if (w->group->hook)
                w->group->hook(w->group->hook_arg);
        }
    }
    pthread_mutex_unlock(&lock);
}

void mcp_wake_all(void)
{
    mcp_wake_dispatch(NULL, NULL);
}

/* Slices of a shared-mode wait: how soon a stopping process (mcp_wake_all)
 * or a lost connection is noticed. */
#define SHARED_SLICE_MS 250

int mcp_wake_wait_db(struct mcp_waiter *w, struct store_conn *db, int timeout_ms)
{
    if (!store_listen_is_shared())
        return mcp_wake_wait(w, timeout_ms);
    long long t0 = mg_now_ms();
    for (;;) {
        if (mcp_wake_wait(w, 0))
            return 1;
        long long left = timeout_ms - (mg_now_ms() - t0);
        if (left <= 0)
            return 0;
        int slice = left < SHARED_SLICE_MS ? (int)left : SHARED_SLICE_MS;
        if (store_listen_pump(db, slice) < 0 && mcp_wake_wait(w, slice))
            return 1; /* no connection: wait the slice out, then try again */
    }
}
