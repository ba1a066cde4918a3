/*
 * fcgi/park.c - accepted connections whose web server has sent nothing yet
 * (see park.h).
 *
 * A parked connection is in the park's epoll set with EPOLLONESHOT, so its
 * readiness is reported to one worker only; the event carries the slot's
 * generation with the fd, so a worker that harvested the event of a
 * connection the sweep closed meanwhile (and whose number a new connection
 * may have taken) finds no match and leaves it alone.
 */
#include "fcgi/park.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

static struct {
    pthread_mutex_t lock;
    int ep; /* -1 until started */
    int n;
    uint32_t gen;
    struct {
        int fd;
        uint32_t gen;
        long long until_ms;
    } items[FCGI_PARK_MAX];
} park = {.lock = PTHREAD_MUTEX_INITIALIZER, .ep = -1};

int fcgi_park_start(void)
{
    park.ep = epoll_create1(EPOLL_CLOEXEC);
    return park.ep;
}

int fcgi_park_put(int fd, long long until_ms)
{
    int rc = -1;
    pthread_mutex_lock(&park.lock);
    if (park.ep >= 0 && park.n < FCGI_PARK_MAX) {
        uint32_t gen = ++park.gen;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT,
                                 .data.u64 = (uint64_t)gen << 32 | (uint32_t)fd};
        if (epoll_ctl(park.ep, EPOLL_CTL_ADD, fd, &ev) == 0) {
            park.items[park.n].fd = fd;
            park.items[park.n].gen = gen;
            park.items[park.n].until_ms = until_ms;
            park.n++;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&park.lock);
    return rc;
}

/* Under the lock: takes item i out of the set (its fd stays open). */
static int unpark(int i)
{
    int fd = park.items[i].fd;
    (void)epoll_ctl(park.ep, EPOLL_CTL_DEL, fd, NULL);
    park.items[i] = park.items[--park.n];
    return fd;
}

int fcgi_park_take(void)
{
    struct epoll_event ev;
    if (park.ep < 0 || epoll_wait(park.ep, &ev, 1, 0) != 1)
        return -1;
    int fd = (int)(uint32_t)ev.data.u64;
    uint32_t gen = (uint32_t)(ev.data.u64 >> 32);
    int taken = -1;
    pthread_mutex_lock(&park.lock);
    for (int i = 0; i < park.n; i++) {
        if (park.items[i].fd == fd && park.items[i].gen == gen) {
            taken = unpark(i);
            break;
        }
    }
    pthread_mutex_unlock(&park.lock);
    return taken;
}

int fcgi_park_sweep(long long now_ms)
{
    int closed = 0;
    pthread_mutex_lock(&park.lock);
    for (int i = 0; i < park.n;) {
        if (park.items[i].until_ms <= now_ms) {
            close(unpark(i));
            closed++;
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&park.lock);
    return closed;
}

void fcgi_park_stop(void)
{
    pthread_mutex_lock(&park.lock);
    while (park.n > 0)
        close(unpark(park.n - 1));
    if (park.ep >= 0)
        close(park.ep);
    park.ep = -1;
    pthread_mutex_unlock(&park.lock);
}
