/*
 * fcgi/startup.h - the responder's start-up before it serves
 * (fcgi/startup.c).
 */
#ifndef MG_FCGI_STARTUP_H
#define MG_FCGI_STARTUP_H

#include "util/config.h"

/* Reads the command line, loads the configuration into cfg (with the log
 * file, backends and tool set-up) and sets *listen_spec (--listen, or
 * NULL: the listening socket is inherited). Returns -1 to go on and serve,
 * else the exit status (--version, --help, --check-config, a bad option or
 * configuration: message printed). */
int fcgi_startup(int argc, char **argv, struct mg_config *cfg, const char **listen_spec);

#endif
