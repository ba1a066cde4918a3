/*
 * fcgi/startup.c - the responder's start-up before it serves: its command
 * line, the configuration (and --check-config), the log file, the
 * backends and what the tools need from the configuration.
 */
#include "fcgi/startup.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "oauth/oauth.h"
#include "tools/backends.h"
#include "tools/credentials.h"
#include "tools/exchange.h"
#include "tools/idp_token.h"
#include "tools/upstream.h"
#include "util/log.h"

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

/* The command line of the responder. */
struct options {
    const char *config_file, *listen_spec, *threads_arg;
    int check_only;
};

/* Reads the command line into o. Returns -1 to go on, else the exit
 * status (--version, --help, a bad option). */
static int parse_options(int argc, char **argv, struct options *o)
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
    int opt;
    while ((opt = getopt_long(argc, argv, "c:l:t:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            o->config_file = optarg;
            break;
        case 'l':
            o->listen_spec = optarg;
            break;
        case 't':
            o->threads_arg = optarg;
            break;
        case 'k':
            o->check_only = 1;
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
    return -1;
}

/* Loads the configuration, the backends and what the tools need from it.
 * Returns -1 to go on and serve, else the exit status (--check-config,
 * a fault: message printed). */
static int load_everything(const struct options *o, struct mg_config *cfg)
{
    struct mg_error err = MG_ERROR_INIT;
    const char *path = config_path(o->config_file);
    config_defaults(cfg);
    if (config_load(cfg, path, &err) < 0 ||
        (o->threads_arg && config_set(cfg, "threads", o->threads_arg, &err) < 0) ||
        config_finish(cfg, &err) < 0) {
        fprintf(stderr, "mcpgate: %s\n", err.msg);
        return 1;
    }
    log_set_level(cfg->log_level);
    open_log_file(cfg->log_file);
    tool_upstream_set_max_bytes((size_t)cfg->upstream_tools_max_kib * 1024);
    if (tool_backends_load(cfg->backends_dir, &err) < 0) {
        fprintf(stderr, "mcpgate: %s\n", err.msg);
        return 1;
    }
    tool_cred_setup(cfg->credential_keys, cfg->n_credential_keys, cfg->base_url);
    tool_idp_setup(cfg);
    tool_exchange_setup(cfg, oauth_rs_token_endpoint);
    malloc_trim(0); /* parsing the backend files left freed memory behind */
    if (o->check_only) {
        printf("mcpgate: configuration %s is valid\n", path);
        return 0;
    }
    return -1;
}

int fcgi_startup(int argc, char **argv, struct mg_config *cfg, const char **listen_spec)
{
    struct options o = {0};
    int rc = parse_options(argc, argv, &o);
    if (rc < 0)
        rc = load_everything(&o, cfg);
    *listen_spec = o.listen_spec;
    return rc;
}
