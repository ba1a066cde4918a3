/*
 * util/config.c - the configuration file.
 */
#include "util/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/config_internal.h"
#include "util/crypto.h"
#include "util/url.h"

void config_defaults(struct mg_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->threads = 4;
    cfg->log_level = LOG_LEVEL_INFO;
    cfg->auth = MG_AUTH_OAUTH; /* deny by default: none must be asked for */
    cfg->max_body_bytes = 1024 * 1024;
    cfg->session_ttl_s = 24 * 3600;
    cfg->db_connect_timeout_s = 3;
    cfg->db_connections = 8;
    cfg->page_size = 100;
    cfg->sse_heartbeat_s = 5;
    cfg->sse_max_s = 120;
    cfg->sse_retry_ms = 1000;
    cfg->request_timeout_s = 120;
    cfg->rate_limit_user_per_min = 300;
    cfg->rate_limit_client_per_min = 1200;
    cfg->policy_default_allow = 1;
    cfg->discovery_threshold = 40;
    cfg->max_batch_messages = 50;
    cfg->max_progress_token_bytes = 256;
    cfg->max_events_per_call = 1000;
    cfg->search_max_query_bytes = 512;
    cfg->search_max_words = 32;
    cfg->upstream_tools_max_kib = 32 * 1024;
    cfg->access_token_ttl_s = 3600;
    cfg->refresh_token_ttl_s = 30 * 24 * 3600;
    cfg->refresh_grace_s = 2;
    cfg->web_session_ttl_s = 12 * 3600;
    cfg->register_per_hour = 20;
    cfg->cimd_allow_private = 0;
    cfg->body_timeout_s = 10;
    cfg->body_max_s = 30;
    cfg->body_min_rate = 500;
    cfg->streams_per_user = 6;
    cfg->streams_per_token = 4;
    cfg->unauth_waiting_max = 8;
    cfg->password_hash_max = 2;
    cfg->idp_allow_private = 0;
    cfg->local_users = 1;
    cfg->idp_jwks_refetch_s = 60;
    snprintf(cfg->rs.name, sizeof cfg->rs.name, "rs");
    snprintf(cfg->rs.scopes_read, sizeof cfg->rs.scopes_read, "mcp:tools:read");
    snprintf(cfg->rs.scopes_write, sizeof cfg->rs.scopes_write, "mcp:tools:write");
    snprintf(cfg->rs.groups_claim, sizeof cfg->rs.groups_claim, "groups");
    cfg->rs.cache_max_s = 300;
    cfg->rs.refetch_s = 60;
    snprintf(cfg->backends_dir, sizeof cfg->backends_dir, "%s", MG_DEFAULT_BACKENDS_DIR);
}

/* Copies s into dst of size n. Returns 0, or -1 if it does not fit. */
int config_copy_str(char *dst, size_t n, const char *s)
{
    size_t len = strlen(s);
    if (len >= n)
        return -1;
    memcpy(dst, s, len + 1);
    return 0;
}

int config_parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Splits a list separated by spaces or commas into list (*n entries). */
static int set_list(char list[][256], int *n, const char *value)
{
    *n = 0;
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, " \t,");
        if (*n == MG_MAX_ORIGINS || len >= 256)
            return -1;
        memcpy(list[*n], p, len);
        list[*n][len] = '\0';
        (*n)++;
        p += len;
    }
    return 0;
}

static int set_origins(struct mg_config *cfg, const char *value)
{
    return set_list(cfg->origins, &cfg->n_origins, value);
}

/* A setting that is a whole number in a range, an int of struct mg_config;
 * msg: what a bad value is told, or NULL for "KEY must be a whole number
 * from LO to HI". */
struct int_key {
    const char *key;
    size_t offset;
    long lo, hi;
    const char *msg;
};

/* The server's settings that are whole numbers in a range. */
static const struct int_key server_ints[] = {
    {"threads", offsetof(struct mg_config, threads), 1, 1024,
     "threads must be a whole number from 1 to 1024"},
    {"session_ttl_s", offsetof(struct mg_config, session_ttl_s), 1, 30L * 24 * 3600,
     "session_ttl_s must be from 1 to 2592000 seconds"},
    {"db_connections", offsetof(struct mg_config, db_connections), 1, 256,
     "db_connections must be a whole number from 1 to 256"},
    {"db_connect_timeout_s", offsetof(struct mg_config, db_connect_timeout_s), 1, 60,
     "db_connect_timeout_s must be from 1 to 60 seconds"},
    {"page_size", offsetof(struct mg_config, page_size), 1, 1000,
     "page_size must be a whole number from 1 to 1000"},
    {"sse_heartbeat_s", offsetof(struct mg_config, sse_heartbeat_s), 1, 300,
     "sse_heartbeat_s must be from 1 to 300 seconds"},
    {"sse_max_s", offsetof(struct mg_config, sse_max_s), 1, 3600,
     "sse_max_s must be from 1 to 3600 seconds"},
    {"sse_retry_ms", offsetof(struct mg_config, sse_retry_ms), 0, 600000,
     "sse_retry_ms must be from 0 to 600000"},
    {"discovery_threshold", offsetof(struct mg_config, discovery_threshold), 0, 100000,
     "discovery_threshold must be from 0 (never) to 100000"},
    {"rate_limit_user_per_min", offsetof(struct mg_config, rate_limit_user_per_min), 0, 1000000,
     "rate_limit_user_per_min must be from 0 (no limit) to 1000000"},
    {"rate_limit_client_per_min", offsetof(struct mg_config, rate_limit_client_per_min), 0, 1000000,
     "rate_limit_client_per_min must be from 0 (no limit) to 1000000"},
    {"request_timeout_s", offsetof(struct mg_config, request_timeout_s), 1, 3600,
     "request_timeout_s must be from 1 to 3600 seconds"},
};

/* The OAuth settings that are whole numbers in a range. */
static const struct int_key oauth_ints[] = {
    {"access_token_ttl_s", offsetof(struct mg_config, access_token_ttl_s), 60, 86400, NULL},
    {"refresh_token_ttl_s", offsetof(struct mg_config, refresh_token_ttl_s), 3600, 365L * 24 * 3600,
     NULL},
    {"refresh_grace_s", offsetof(struct mg_config, refresh_grace_s), 0, 60, NULL},
    {"web_session_ttl_s", offsetof(struct mg_config, web_session_ttl_s), 300, 30L * 24 * 3600,
     NULL},
    {"register_per_hour", offsetof(struct mg_config, register_per_hour), 0, 100000, NULL},
    {"idp_jwks_refetch_s", offsetof(struct mg_config, idp_jwks_refetch_s), 1, 3600,
     "idp_jwks_refetch_s must be from 1 to 3600 seconds"},
    {"rs_cache_max_s", offsetof(struct mg_config, rs.cache_max_s), 0, 86400,
     "rs_cache_max_s must be from 0 to 86400 seconds"},
    {"rs_jwks_refetch_s", offsetof(struct mg_config, rs.refetch_s), 1, 3600,
     "rs_jwks_refetch_s must be from 1 to 3600 seconds"},
};

/* The limits on what one request may make the server hold or do (SECURITY.md,
 * "Limits"), whole numbers in a range. */
static const struct int_key limit_ints[] = {
    {"max_batch_messages", offsetof(struct mg_config, max_batch_messages), 1, 10000, NULL},
    {"max_progress_token_bytes", offsetof(struct mg_config, max_progress_token_bytes), 16, 65536,
     NULL},
    {"max_events_per_call", offsetof(struct mg_config, max_events_per_call), 10, 1000000, NULL},
    {"search_max_query_bytes", offsetof(struct mg_config, search_max_query_bytes), 16, 65536, NULL},
    {"search_max_words", offsetof(struct mg_config, search_max_words), 1, 1000, NULL},
    {"upstream_tools_max_kib", offsetof(struct mg_config, upstream_tools_max_kib), 64,
     4L * 1024 * 1024, NULL},
    /* what clients may hold across requests and processes */
    {"body_timeout_s", offsetof(struct mg_config, body_timeout_s), 1, 3600, NULL},
    {"body_max_s", offsetof(struct mg_config, body_max_s), 1, 3600, NULL},
    {"body_min_rate", offsetof(struct mg_config, body_min_rate), 0, 1000000000, NULL},
    {"streams_per_user", offsetof(struct mg_config, streams_per_user), 0, 100000, NULL},
    {"streams_per_token", offsetof(struct mg_config, streams_per_token), 0, 100000, NULL},
    {"unauth_waiting_max", offsetof(struct mg_config, unauth_waiting_max), 0, 100000, NULL},
    {"password_hash_max", offsetof(struct mg_config, password_hash_max), 1, 1024, NULL},
};

/* Applies key when it is one of server_ints, oauth_ints or limit_ints:
 * returns 1 and sets *rc to 0 (applied) or -1 (bad value, message in err);
 * returns 0 for other keys. */
static int table_int_key(struct mg_config *cfg, const char *key, const char *value, long *rc,
                         struct mg_error *err)
{
    static const struct {
        const struct int_key *keys;
        size_t n;
    } tables[] = {{server_ints, sizeof server_ints / sizeof server_ints[0]},
                  {oauth_ints, sizeof oauth_ints / sizeof oauth_ints[0]},
                  {limit_ints, sizeof limit_ints / sizeof limit_ints[0]}};
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        for (size_t i = 0; i < tables[t].n; i++) {
            const struct int_key *k = &tables[t].keys[i];
            if (strcmp(key, k->key) != 0)
                continue;
            long v;
            if (config_parse_int(value, k->lo, k->hi, &v) == 0) {
                *(int *)(void *)((char *)cfg + k->offset) = (int)v;
                *rc = 0;
            } else if (k->msg) {
                mg_error_msg(err, "%s", k->msg);
                *rc = -1;
            } else {
                mg_error_msg(err, "%s must be a whole number from %ld to %ld", key, k->lo, k->hi);
                *rc = -1;
            }
            return 1;
        }
    }
    return 0;
}

/* Reads the first line of the file at path (a client secret) into out;
 * what names the setting in a message. Returns 0, or -1 with a message in
 * err. */
int config_read_secret_file(const char *what, const char *path, char *out, size_t n,
                            struct mg_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        mg_error_msg(err, "%s: could not open %.200s: %s", what, path, strerror(errno));
        return -1;
    }
    char line[512];
    int ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (ok)
        line[strcspn(line, "\r\n")] = '\0';
    if (!ok || !line[0] || config_copy_str(out, n, line) < 0) {
        mg_error_msg(err,
                     "%s %.200s must hold the secret on its first line (at most 255 "
                     "characters)",
                     what, path);
        explicit_bzero(line, sizeof line);
        return -1;
    }
    explicit_bzero(line, sizeof line);
    return 0;
}

/* yes/no into *out. Returns 0, or -1 with err naming key. */
int config_word(const char *value, const char *const *words)
{
    for (int i = 0; words[i]; i++)
        if (strcmp(value, words[i]) == 0)
            return i;
    return -1;
}

int config_set_word(const char *value, const char *const *words, int *out, const char *msg,
                    struct mg_error *err)
{
    int i = config_word(value, words);
    if (i < 0)
        return mg_error_msg(err, "%s", msg);
    *out = i;
    return 0;
}

int config_yes_no(const char *key, const char *value, int *out, struct mg_error *err)
{
    static const char *const no_yes[] = {"no", "yes", NULL};
    int i = config_word(value, no_yes);
    if (i < 0)
        return mg_error_msg(err, "%s must be yes or no", key);
    *out = i;
    return 0;
}

/* metrics_token_file: the scrape credential of /metrics (route/metrics.h),
 * kept only as its SHA-256. At least METRICS_TOKEN_MIN characters. */
static int read_metrics_token(struct mg_config *cfg, const char *path, struct mg_error *err)
{
    if (!path[0]) {
        cfg->metrics_token_sha256[0] = '\0';
        return 0;
    }
    char token[256];
    if (config_read_secret_file("metrics_token_file", path, token, sizeof token, err) < 0)
        return -1;
    size_t len = strlen(token);
    if (len < MG_METRICS_TOKEN_MIN) {
        mg_error_msg(err, "metrics_token_file %.200s: the token must have at least %d characters",
                     path, MG_METRICS_TOKEN_MIN);
        explicit_bzero(token, sizeof token);
        return -1;
    }
    crypto_sha256_hex(token, len, cfg->metrics_token_sha256);
    explicit_bzero(token, sizeof token);
    return 0;
}

int config_set(struct mg_config *cfg, const char *key, const char *value, struct mg_error *err)
{
    long v;
    if (strcmp(key, "base_url") == 0) {
        if (config_copy_str(cfg->base_url, sizeof cfg->base_url, value) == 0)
            return 0;
    } else if (strcmp(key, "database") == 0) {
        if (config_copy_str(cfg->database, sizeof cfg->database, value) == 0)
            return 0;
    } else if (strcmp(key, "log_level") == 0) {
        if (log_level_parse(value, &cfg->log_level) == 0)
            return 0;
        mg_error_msg(err, "log_level must be error, warn, info or debug");
        return -1;
    } else if (strcmp(key, "auth") == 0) {
        /* in the order of enum mg_auth_mode */
        static const char *const modes[] = {"none", "oauth", "resource", NULL};
        int i = config_word(value, modes);
        if (i >= 0) {
            cfg->auth = (enum mg_auth_mode)i;
            return 0;
        }
        mg_error_msg(err, "auth must be oauth, resource or none");
        return -1;
    } else if (table_int_key(cfg, key, value, &v, err)) {
        return (int)v;
    } else if (strncmp(key, "rs_", 3) == 0) {
        return config_set_rs(cfg, key, value, err);
    } else if (strcmp(key, "max_body_bytes") == 0) {
        if (config_parse_int(value, 1024, 64L * 1024 * 1024, &v) == 0) {
            cfg->max_body_bytes = (size_t)v;
            return 0;
        }
        mg_error_msg(err, "max_body_bytes must be from 1024 to 67108864");
        return -1;
    } else if (strcmp(key, "cimd_allow_private") == 0) {
        return config_yes_no(key, value, &cfg->cimd_allow_private, err);
    } else if (strcmp(key, "idp") == 0) {
        return config_set_idp(cfg, value, err);
    } else if (strcmp(key, "connector") == 0) {
        return config_set_connector(cfg, value, err);
    } else if (strcmp(key, "idp_allow_private") == 0) {
        return config_yes_no(key, value, &cfg->idp_allow_private, err);
    } else if (strcmp(key, "local_users") == 0) {
        return config_yes_no(key, value, &cfg->local_users, err);
    } else if (strcmp(key, "backends_dir") == 0) {
        if (value[0] != '/') {
            mg_error_msg(err, "backends_dir must be an absolute path");
            return -1;
        }
        if (config_copy_str(cfg->backends_dir, sizeof cfg->backends_dir, value) == 0)
            return 0;
    } else if (strcmp(key, "credential_key") == 0) {
        if (cfg->n_credential_keys == SEAL_MAX_KEYS) {
            mg_error_msg(err, "credential_key: at most %d keys", SEAL_MAX_KEYS);
            return -1;
        }
        struct seal_key k;
        if (seal_key_parse(value, &k, err) < 0)
            return -1;
        for (int i = 0; i < cfg->n_credential_keys; i++) {
            if (strcmp(cfg->credential_keys[i].id, k.id) == 0) {
                mg_error_msg(err, "credential_key: key id %s is given twice", k.id);
                seal_key_clear(&k);
                return -1;
            }
        }
        cfg->credential_keys[cfg->n_credential_keys++] = k;
        seal_key_clear(&k);
        return 0;
    } else if (strcmp(key, "allowed_hosts") == 0) {
        if (set_list(cfg->hosts, &cfg->n_hosts, value) == 0)
            return 0;
        mg_error_msg(err, "allowed_hosts: at most %d hosts of under 256 characters",
                     MG_MAX_ORIGINS);
        return -1;
    } else if (strcmp(key, "sse_pad_bytes") == 0) {
        if (config_parse_int(value, 0, 1048576, &v) == 0 && (v == 0 || v >= 64)) {
            cfg->sse_pad_bytes = (size_t)v;
            return 0;
        }
        mg_error_msg(err, "sse_pad_bytes must be 0 (off) or from 64 to 1048576 bytes");
        return -1;
    } else if (strcmp(key, "metrics_token_file") == 0) {
        return read_metrics_token(cfg, value, err);
    } else if (strcmp(key, "log_file") == 0) {
        if (value[0] != '\0' && value[0] != '/') {
            mg_error_msg(err, "log_file must be an absolute path (or empty: stderr)");
            return -1;
        }
        if (config_copy_str(cfg->log_file, sizeof cfg->log_file, value) == 0)
            return 0;
    } else if (strcmp(key, "policy_default") == 0) {
        static const char *const deny_allow[] = {"deny", "allow", NULL};
        return config_set_word(value, deny_allow, &cfg->policy_default_allow,
                               "policy_default must be allow or deny", err);
    } else if (strcmp(key, "allowed_origins") == 0) {
        if (set_origins(cfg, value) == 0)
            return 0;
        mg_error_msg(err, "allowed_origins: at most %d origins of under 256 characters",
                     MG_MAX_ORIGINS);
        return -1;
    } else {
        mg_error_msg(err, "unknown setting \"%.64s\"", key);
        return -1;
    }
    mg_error_msg(err, "value of %s is too long", key);
    return -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int config_load(struct mg_config *cfg, const char *path, struct mg_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        mg_error_msg(err, "could not open config file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[2048];
    struct mg_error why = MG_ERROR_INIT;
    int lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            mg_error_msg(err, "%s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            mg_error_msg(err, "%s:%d: expected \"key = value\"", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(s);
        char *value = trim(eq + 1);
        size_t vn = strlen(value);
        if (vn >= 2 && value[0] == '"' && value[vn - 1] == '"') {
            value[vn - 1] = '\0';
            value++;
        }
        if (config_set(cfg, key, value, &why) < 0) {
            mg_error_msg(err, "%s:%d: %s", path, lineno, why.msg);
            rc = -1;
            break;
        }
    }
    explicit_bzero(line, sizeof line); /* credential_key lines are secret */
    fclose(f);
    return rc;
}

/* Splits base_url into origin and path; drops a default port and a trailing
 * slash. Returns 0, or -1 if it is not an absolute http(s) URL. */
static int derive_base(struct mg_config *cfg)
{
    char *u = cfg->base_url;
    size_t n = strlen(u);
    while (n && u[n - 1] == '/')
        u[--n] = '\0';
    struct url_parts p;
    if (url_split(u, &p) < 0 || strpbrk(u, "?#@ ") || strlen(p.rest) >= sizeof cfg->base_path)
        return -1;
    int https = strcmp(p.scheme, "https") == 0;
    if (!https && strcmp(p.scheme, "http") != 0)
        return -1;
    int dflt = !p.port[0] || strcmp(p.port, https ? "443" : "80") == 0;
    int len = snprintf(cfg->base_host, sizeof cfg->base_host, "%s%s%s", p.host, dflt ? "" : ":",
                       dflt ? "" : p.port);
    if (len < 0 || (size_t)len >= sizeof cfg->base_host)
        return -1;
    snprintf(cfg->base_origin, sizeof cfg->base_origin, "%s://%s", p.scheme, cfg->base_host);
    memcpy(cfg->base_path, p.rest, strlen(p.rest) + 1);
    return 0;
}

int config_finish(struct mg_config *cfg, struct mg_error *err)
{
    if (cfg->base_url[0] == '\0') {
        mg_error_msg(err, "base_url is not set: set it to the public URL clients use, e.g. "
                          "base_url = https://mcp.example.org");
        return -1;
    }
    if (derive_base(cfg) < 0) {
        mg_error_msg(err, "base_url must be an absolute http:// or https:// URL without query, "
                          "fragment or user info");
        return -1;
    }
    if (cfg->database[0] == '\0') {
        mg_error_msg(err,
                     "database is not set: give a libpq conninfo, e.g. database = dbname=mcpgate");
        return -1;
    }
    if (cfg->auth == MG_AUTH_RESOURCE) {
        struct mg_rs *rs = &cfg->rs;
        if (!rs->issuer[0]) {
            mg_error_msg(err,
                         "auth = resource needs rs_issuer, the authorization server's issuer URL");
            return -1;
        }
        if (!url_is_web(rs->issuer, cfg->idp_allow_private)) {
            mg_error_msg(err, "rs_issuer must be an https URL");
            return -1;
        }
        if (rs->introspect && (!rs->client_id[0] || !rs->client_secret[0])) {
            mg_error_msg(err,
                         "rs_validation = introspection or auto needs rs_introspection_client_id "
                         "and rs_introspection_client_secret_file");
            return -1;
        }
        if (rs->n_audiences == 0) {
            rs->n_audiences = 1;
            int len = snprintf(rs->audiences[0], sizeof rs->audiences[0], "%s/mcp", cfg->base_url);
            if (len < 0 || (size_t)len >= sizeof rs->audiences[0]) {
                mg_error_msg(err, "base_url is too long to derive rs_audience from: set it");
                return -1;
            }
        }
    }
    return 0;
}

const char *config_path(const char *explicit_path)
{
    if (explicit_path)
        return explicit_path;
    const char *env = getenv("MCPGATE_CONFIG");
    return env && *env ? env : MG_DEFAULT_CONFIG;
}

int config_host_allowed(const struct mg_config *cfg, const char *host)
{
    size_t n = strlen(host);
    /* a client may name the default port explicitly */
    const char *dflt = strncmp(cfg->base_origin, "https:", 6) == 0 ? ":443" : ":80";
    size_t dl = strlen(dflt);
    size_t cmp = n > dl && strcmp(host + n - dl, dflt) == 0 ? n - dl : n;
    if (cmp == strlen(cfg->base_host) && strncasecmp(host, cfg->base_host, cmp) == 0)
        return 1;
    for (int i = 0; i < cfg->n_hosts; i++)
        if (strcasecmp(host, cfg->hosts[i]) == 0)
            return 1;
    return 0;
}

int config_origin_allowed(const struct mg_config *cfg, const char *origin)
{
    if (strcasecmp(origin, cfg->base_origin) == 0)
        return 1;
    for (int i = 0; i < cfg->n_origins; i++)
        if (strcasecmp(origin, cfg->origins[i]) == 0)
            return 1;
    return 0;
}
