/*
 * fcgi/server.h - the responder process: launch styles, worker threads,
 * signals, and the FastCGI accept loop.
 *
 * Owns: the process. One binary serves three launch styles: spawned by
 * lighttpd (bin-path) or mod_fcgid with the listening socket on fd 0, or
 * standalone with --listen unix:PATH|HOST:PORT (mod_proxy_fcgi, spawn-fcgi).
 * K worker threads accept in turn; each owns one PostgreSQL connection.
 * SIGTERM/SIGUSR1: stop accepting, let requests in flight finish, exit 0.
 */
#ifndef MG_FCGI_SERVER_H
#define MG_FCGI_SERVER_H

/* Runs the responder with the tools registered so far. Returns the process
 * exit status. */
int fcgi_responder_main(int argc, char **argv);

#endif
