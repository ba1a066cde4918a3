/*
 * util/time.h - the clocks, in milliseconds.
 *
 * Owns: reading the two clocks the code uses. Durations, deadlines and cache
 * lifetimes use the monotonic clock (never jumps with the wall clock);
 * timestamps shown to other machines use the wall clock.
 * Must not touch: anything else; it keeps no state.
 */
#ifndef MG_UTIL_TIME_H
#define MG_UTIL_TIME_H

#include <time.h>

/* Milliseconds on the monotonic clock (CLOCK_MONOTONIC): only differences
 * between two readings mean anything. */
long long mg_now_ms(void);

/* Milliseconds since the Unix epoch on the wall clock (CLOCK_REALTIME). */
long long mg_wall_ms(void);

/* Milliseconds, with fractions, from *t0 (read with
 * clock_gettime(CLOCK_MONOTONIC, t0)) to now. */
double mg_since_ms(const struct timespec *t0);

#endif
