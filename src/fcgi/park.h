/*
 * fcgi/park.h - accepted connections whose web server has sent nothing yet.
 *
 * Owns: the set of connections a worker accepted but whose first record
 * did not come within the grace. They wait in one epoll set instead of in
 * a worker: a worker whose own epoll set reports the park readable takes
 * one connection that has something to read (fcgi_park_take); the main
 * thread closes those that waited past their deadline (fcgi_park_sweep).
 * So a web server that is slow to send (a loaded machine, or a client
 * holding connections open on purpose) costs a descriptor, not a worker,
 * and an honest request that came late is still served.
 */
#ifndef MG_FCGI_PARK_H
#define MG_FCGI_PARK_H

/* At most this many connections wait at once; more are not parked. */
#define FCGI_PARK_MAX 1024

/* Creates the park. Returns its epoll fd (for the workers' epoll sets:
 * readable when a parked connection is), or -1. */
int fcgi_park_start(void);

/* Parks connection fd until until_ms (mg_now_ms() clock). Returns 0, or -1
 * when the park is full or not started (fd stays the caller's). */
int fcgi_park_put(int fd, long long until_ms);

/* A parked connection that has something to read (or was hung up), now
 * the caller's; -1 when another worker took it first. */
int fcgi_park_take(void);

/* Closes the connections whose deadline passed by now_ms; returns how many. */
int fcgi_park_sweep(long long now_ms);

/* Closes every parked connection and the park. */
void fcgi_park_stop(void);

#endif
