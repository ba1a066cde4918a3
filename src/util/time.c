/*
 * util/time.c - the clocks, in milliseconds (util/time.h).
 */
#include "util/time.h"

static long long ms_of(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long mg_now_ms(void)
{
    return ms_of(CLOCK_MONOTONIC);
}

long long mg_wall_ms(void)
{
    return ms_of(CLOCK_REALTIME);
}

double mg_since_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}
