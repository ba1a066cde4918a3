/*
 * util/config.h - the configuration file.
 *
 * Owns: the file format and every setting's default and bounds.
 * Format: one "key = value" per line; '#' starts a comment; blank lines are
 * ignored; values may be wrapped in double quotes. Unknown keys and bad
 * values are errors (a typo must not silently fall back to a default).
 *
 * The file is read once at start; struct mg_config is then read-only and
 * shared by all threads.
 */
#ifndef MG_UTIL_CONFIG_H
#define MG_UTIL_CONFIG_H

#include <stddef.h>

#include "util/log.h"

#define MG_DEFAULT_CONFIG "/etc/mcpgate/mcpgate.conf"
#define MG_MAX_ORIGINS    16

enum mg_auth_mode { MG_AUTH_NONE, MG_AUTH_OAUTH };

struct mg_config {
    char base_url[512];    /* public URL without trailing slash, e.g. https://h/mcp-gw */
    char base_origin[512]; /* scheme://host[:port] of base_url, derived */
    char base_path[256];   /* path part of base_url ("" for the root), derived */
    char database[1024];   /* libpq conninfo or URI */
    int threads;           /* worker threads per process (1..256) */
    enum log_level log_level;
    enum mg_auth_mode auth;
    size_t max_body_bytes; /* largest request body accepted */
    int session_ttl_s;     /* idle lifetime of an MCP session */
    int db_connect_timeout_s;
    int n_origins;
    char origins[MG_MAX_ORIGINS][256]; /* extra allowed Origin values */
};

/* Fills cfg with the defaults. Cannot fail. */
void config_defaults(struct mg_config *cfg);

/* Reads the file at path over the defaults already in cfg. Returns 0, or -1
 * with a message naming the file, line and fault in err (errlen bytes). On
 * failure cfg holds an unspecified mix and must not be used. */
__attribute__((warn_unused_result)) int config_load(struct mg_config *cfg, const char *path,
                                                    char *err, size_t errlen);

/* Applies one "key", "value" pair. Returns 0, or -1 with a message in err.
 * Exposed for tests and command-line overrides. */
__attribute__((warn_unused_result)) int config_set(struct mg_config *cfg, const char *key,
                                                   const char *value, char *err, size_t errlen);

/* Checks the settings that have no usable default (base_url, database) and
 * derives base_origin/base_path. Returns 0, or -1 with a message in err. */
__attribute__((warn_unused_result)) int config_finish(struct mg_config *cfg, char *err,
                                                      size_t errlen);

/* Returns the path to read: explicit if not NULL, else $MCPGATE_CONFIG,
 * else MG_DEFAULT_CONFIG. Borrowed. */
const char *config_path(const char *explicit_path);

/* Returns 1 when origin (an Origin header value) may call /mcp, else 0. */
int config_origin_allowed(const struct mg_config *cfg, const char *origin);

#endif
