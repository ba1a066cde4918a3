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

#include "util/crypto.h"

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
    snprintf(cfg->rs.name, sizeof cfg->rs.name, "rs");
    snprintf(cfg->rs.scopes_read, sizeof cfg->rs.scopes_read, "mcp:tools:read");
    snprintf(cfg->rs.scopes_write, sizeof cfg->rs.scopes_write, "mcp:tools:write");
    snprintf(cfg->rs.groups_claim, sizeof cfg->rs.groups_claim, "groups");
    cfg->rs.cache_max_s = 300;
    cfg->rs.refetch_s = 60;
    snprintf(cfg->backends_dir, sizeof cfg->backends_dir, "%s", MG_DEFAULT_BACKENDS_DIR);
}

/* Copies s into dst of size n. Returns 0, or -1 if it does not fit. */
static int copy_str(char *dst, size_t n, const char *s)
{
    size_t len = strlen(s);
    if (len >= n)
        return -1;
    memcpy(dst, s, len + 1);
    return 0;
}

static int parse_int(const char *s, long lo, long hi, long *out)
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
            if (parse_int(value, k->lo, k->hi, &v) == 0) {
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

const struct mg_idp *config_idp_find(const struct mg_config *cfg, const char *name)
{
    for (int i = 0; name && i < cfg->n_idps; i++)
        if (strcmp(cfg->idps[i].name, name) == 0)
            return &cfg->idps[i];
    return NULL;
}

int config_idp_signin_count(const struct mg_config *cfg, const struct mg_idp **first)
{
    int n = 0;
    *first = NULL;
    for (int i = 0; i < cfg->n_idps; i++)
        if (!cfg->idps[i].link_only && n++ == 0)
            *first = &cfg->idps[i];
    return n;
}

/* Reads the first line of the file at path (a client secret) into out;
 * what names the setting in a message. Returns 0, or -1 with a message in
 * err. */
static int read_secret_file(const char *what, const char *path, char *out, size_t n,
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
    if (!ok || !line[0] || copy_str(out, n, line) < 0) {
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

/* Copies v, an http(s) URL, into out (n bytes) for idp key word. Returns 0,
 * or -1 with err. */
static int idp_url(const char *word, const char *v, char *out, size_t n, struct mg_error *err)
{
    if ((strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) || strchr(v, '#') ||
        copy_str(out, n, v) < 0) {
        mg_error_msg(err, "idp: %s must be an http(s) URL without fragment", word);
        return -1;
    }
    return 0;
}

/* The comma-separated list v into out as a space-separated one. Returns 0,
 * or -1 when it has characters no scope or group name has, or is too long. */
static int idp_list(const char *v, char *out, size_t n)
{
    if (strlen(v) + 8 >= n ||
        strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/,@-") !=
            strlen(v))
        return -1;
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", v);
    out[0] = '\0';
    size_t o = 0;
    for (char *s = tmp, *c; s; s = c) {
        c = strchr(s, ',');
        if (c)
            *c++ = '\0';
        if (*s)
            o += (size_t)snprintf(out + o, n - o, "%s%s", o ? " " : "", s);
    }
    return 0;
}

/* 1 when the space-separated list has word. */
static int list_has(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *s = list; (s = strstr(s, word)); s += n)
        if ((s == list || s[-1] == ' ') && (s[n] == ' ' || s[n] == '\0'))
            return 1;
    return 0;
}

/* Applies one "name=value" word of an idp line to p. Returns 0, or -1 with
 * a message in err. */
static int idp_word(struct mg_idp *p, char *word, struct mg_error *err)
{
    char *eq = strchr(word, '=');
    if (!eq || eq == word || !eq[1]) {
        mg_error_msg(err, "idp: expected name=value, got \"%.64s\"", word);
        return -1;
    }
    *eq = '\0';
    const char *v = eq + 1;
    if (strcmp(word, "issuer") == 0) {
        if ((strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) || strpbrk(v, "?#") ||
            copy_str(p->issuer, sizeof p->issuer, v) < 0) {
            mg_error_msg(err, "idp: issuer must be an http(s) URL without query or fragment");
            return -1;
        }
    } else if (strcmp(word, "client_id") == 0) {
        if (copy_str(p->client_id, sizeof p->client_id, v) < 0) {
            mg_error_msg(err, "idp: client_id is too long");
            return -1;
        }
    } else if (strcmp(word, "client_secret_file") == 0) {
        return read_secret_file("idp: client_secret_file", v, p->client_secret,
                                sizeof p->client_secret, err);
    } else if (strcmp(word, "scopes") == 0) {
        if (idp_list(v, p->scopes, sizeof p->scopes) < 0) {
            mg_error_msg(err, "idp: scopes must be a comma-separated list of scope names");
            return -1;
        }
    } else if (strcmp(word, "groups_allowed") == 0) {
        if (idp_list(v, p->groups_allowed, sizeof p->groups_allowed) < 0 || !p->groups_allowed[0]) {
            mg_error_msg(err, "idp: groups_allowed must be a comma-separated list of group "
                              "names");
            return -1;
        }
    } else if (strcmp(word, "authorization_endpoint") == 0) {
        return idp_url(word, v, p->authorization_endpoint, sizeof p->authorization_endpoint, err);
    } else if (strcmp(word, "token_endpoint") == 0) {
        return idp_url(word, v, p->token_endpoint, sizeof p->token_endpoint, err);
    } else if (strcmp(word, "userinfo_endpoint") == 0) {
        return idp_url(word, v, p->userinfo_endpoint, sizeof p->userinfo_endpoint, err);
    } else if (strcmp(word, "link_only") == 0) {
        if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0) {
            mg_error_msg(err, "idp: link_only must be yes or no");
            return -1;
        }
        p->link_only = v[0] == 'y';
    } else if (strcmp(word, "consent") == 0) {
        if (strcmp(v, "provider") != 0 && strcmp(v, "mcpgate") != 0) {
            mg_error_msg(err, "idp: consent must be mcpgate or provider");
            return -1;
        }
        p->consent_provider = v[0] == 'p';
    } else if (strcmp(word, "revocation_endpoint") == 0) {
        return idp_url(word, v, p->revocation_endpoint, sizeof p->revocation_endpoint, err);
    } else if (strcmp(word, "whoami_url") == 0) {
        return idp_url(word, v, p->whoami_url, sizeof p->whoami_url, err);
    } else if (strcmp(word, "subject_field") == 0) {
        size_t n = strlen(v);
        if (n >= sizeof p->subject_field || v[0] == '.' || v[n - 1] == '.' || strstr(v, "..") ||
            strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n) {
            mg_error_msg(err, "idp: subject_field must be a member name, dotted for nested "
                              "objects (account.id)");
            return -1;
        }
        snprintf(p->subject_field, sizeof p->subject_field, "%s", v);
    } else {
        mg_error_msg(err, "idp: unknown parameter \"%.64s\"", word);
        return -1;
    }
    return 0;
}

/* Checks that p's words go together and settles its identity source and
 * scopes. Returns 0, or -1 with err. */
static int idp_settle(struct mg_idp *p, int scopes_given, struct mg_error *err)
{
    int explicit = p->authorization_endpoint[0] || p->token_endpoint[0];
    if (explicit && !(p->authorization_endpoint[0] && p->token_endpoint[0])) {
        mg_error_msg(err, "idp %s: authorization_endpoint= and token_endpoint= go together",
                     p->name);
        return -1;
    }
    if (p->whoami_url[0] && p->userinfo_endpoint[0]) {
        mg_error_msg(err, "idp %s: userinfo_endpoint= or whoami_url=, not both", p->name);
        return -1;
    }
    if (!p->whoami_url[0] != !p->subject_field[0]) {
        mg_error_msg(err, "idp %s: whoami_url= and subject_field= go together", p->name);
        return -1;
    }
    p->identity = p->whoami_url[0]          ? MG_IDP_WHOAMI
                  : p->userinfo_endpoint[0] ? MG_IDP_USERINFO
                                            : MG_IDP_ID_TOKEN;
    if (p->identity == MG_IDP_ID_TOKEN && !p->link_only && (explicit || !p->issuer[0])) {
        mg_error_msg(err, "idp %s: %s", p->name,
                     explicit
                         ? "with explicit endpoints the identity comes from userinfo_endpoint= "
                           "or whoami_url= (an ID token needs discovery, issuer=)"
                         : "issuer= is required (or explicit endpoints)");
        return -1;
    }
    if (!explicit && !p->issuer[0]) {
        mg_error_msg(err, "idp %s: issuer= is required (or explicit endpoints)", p->name);
        return -1;
    }
    if (!scopes_given)
        snprintf(p->scopes, sizeof p->scopes, "%s",
                 p->identity == MG_IDP_WHOAMI || p->link_only ? "" : "openid profile email");
    /* a linked account needs no identity: its scopes are the API's alone */
    if (p->identity != MG_IDP_WHOAMI && !p->link_only && !list_has(p->scopes, "openid")) {
        size_t o = strlen(p->scopes);
        snprintf(p->scopes + o, sizeof p->scopes - o, "%sopenid", o ? " " : "");
    }
    p->openid = list_has(p->scopes, "openid");
    return 0;
}

/* An "idp" line: NAME then name=value words. Returns 0, or -1 with err. */
static int set_idp(struct mg_config *cfg, const char *value, struct mg_error *err)
{
    if (cfg->n_idps == MG_MAX_IDPS) {
        mg_error_msg(err, "idp: at most %d identity providers", MG_MAX_IDPS);
        return -1;
    }
    char line[4096];
    if (copy_str(line, sizeof line, value) < 0) {
        mg_error_msg(err, "idp: the line is too long");
        return -1;
    }
    struct mg_idp p;
    memset(&p, 0, sizeof p);
    int rc = -1, scopes_given = 0;
    char *save = NULL;
    char *name = strtok_r(line, " \t", &save);
    if (!name || strlen(name) > 32 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(name)) {
        mg_error_msg(err, "idp: the first word must be the provider's name ([a-z0-9_-], at "
                          "most 32 characters)");
        goto out;
    }
    snprintf(p.name, sizeof p.name, "%s", name);
    if (config_idp_find(cfg, p.name)) {
        mg_error_msg(err, "idp: %s is configured twice", p.name);
        goto out;
    }
    for (char *w; (w = strtok_r(NULL, " \t", &save));) {
        scopes_given |= strncmp(w, "scopes=", 7) == 0;
        if (idp_word(&p, w, err) < 0)
            goto out;
    }
    if (!p.client_id[0]) {
        mg_error_msg(err, "idp %s: client_id= is required", p.name);
        goto out;
    }
    if (idp_settle(&p, scopes_given, err) < 0)
        goto out;
    cfg->idps[cfg->n_idps++] = p;
    rc = 0;
out:
    explicit_bzero(&p, sizeof p);
    explicit_bzero(line, sizeof line);
    return rc;
}

/* yes/no into *out. Returns 0, or -1 with err naming key. */
static int set_yes_no(const char *key, const char *value, int *out, struct mg_error *err)
{
    if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0) {
        *out = value[0] == 'y';
        return 0;
    }
    mg_error_msg(err, "%s must be yes or no", key);
    return -1;
}

const struct mg_connector *config_connector_find(const struct mg_config *cfg, const char *name)
{
    for (int i = 0; name && i < cfg->n_connectors; i++)
        if (strcmp(cfg->connectors[i].name, name) == 0)
            return &cfg->connectors[i];
    return NULL;
}

/* The next word of a connector line at *p into out (n bytes): up to a
 * blank, where name="value" may hold blanks inside its quotes (which are
 * dropped). Returns 1 with *p past the word, 0 at the end, or -1 for an
 * unterminated quote or a word longer than n - 1. */
static int connector_next_word(const char **p, char *out, size_t n)
{
    const char *s = *p + strspn(*p, " \t");
    if (!*s)
        return 0;
    size_t o = 0;
    int quoted = 0;
    for (; *s && (quoted || (*s != ' ' && *s != '\t')); s++) {
        if (*s == '"') {
            quoted = !quoted;
            continue;
        }
        if (o + 1 >= n)
            return -1;
        out[o++] = *s;
    }
    out[o] = '\0';
    *p = s;
    return quoted ? -1 : 1;
}

/* Returns 1 when every character of s is printable ASCII other than '"'
 * and, unless blanks is set, not a blank. */
static int connector_text_ok(const char *s, int blanks)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '"' || (!blanks && *s == ' '))
            return 0;
    return 1;
}

/* "read,write,destructive" into MG_ACCESS_* bits. Returns 0, or -1. */
static int connector_access(const char *v, int *out)
{
    int bits = 0;
    char tmp[64];
    if (copy_str(tmp, sizeof tmp, v) < 0)
        return -1;
    char *save = NULL;
    for (char *w = strtok_r(tmp, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        if (strcmp(w, "read") == 0)
            bits |= MG_ACCESS_READ;
        else if (strcmp(w, "write") == 0)
            bits |= MG_ACCESS_WRITE;
        else if (strcmp(w, "destructive") == 0)
            bits |= MG_ACCESS_DESTRUCTIVE;
        else
            return -1;
    }
    if (!bits)
        return -1;
    *out = bits;
    return 0;
}

/* Applies one "name=value" word of a connector line to c. Returns 0, or -1
 * with a message in err. */
static int connector_word(struct mg_connector *c, char *word, struct mg_error *err)
{
    char *eq = strchr(word, '=');
    if (!eq || eq == word || !eq[1]) {
        mg_error_msg(err, "connector %s: expected name=value, got \"%.64s\"", c->name, word);
        return -1;
    }
    *eq = '\0';
    const char *v = eq + 1;
    if (strcmp(word, "backends") == 0) {
        if (strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-,") == strlen(v) &&
            copy_str(c->backends, sizeof c->backends, v) == 0)
            return 0;
        mg_error_msg(err,
                     "connector %s: backends must be a comma-separated list of backend "
                     "names",
                     c->name);
    } else if (strcmp(word, "tags") == 0) {
        if (connector_text_ok(v, 1) && copy_str(c->tags, sizeof c->tags, v) == 0)
            return 0;
        mg_error_msg(err,
                     "connector %s: tags must be a comma-separated list of tags (at "
                     "most %zu bytes)",
                     c->name, sizeof c->tags - 1);
    } else if (strcmp(word, "names") == 0) {
        if (connector_text_ok(v, 0) && copy_str(c->names, sizeof c->names, v) == 0)
            return 0;
        mg_error_msg(err,
                     "connector %s: names must be a comma-separated list of tool name "
                     "patterns (\"do_*project*\")",
                     c->name);
    } else if (strcmp(word, "access") == 0) {
        if (connector_access(v, &c->access) == 0)
            return 0;
        mg_error_msg(err,
                     "connector %s: access must list read, write or destructive, "
                     "comma-separated",
                     c->name);
    } else if (strcmp(word, "title") == 0) {
        if (connector_text_ok(v, 1) && copy_str(c->title, sizeof c->title, v) == 0)
            return 0;
        mg_error_msg(err, "connector %s: title must be printable text of at most %zu bytes",
                     c->name, sizeof c->title - 1);
    } else if (strcmp(word, "main_tokens") == 0) {
        char key[64];
        snprintf(key, sizeof key, "connector %s: main_tokens", c->name);
        return set_yes_no(key, v, &c->main_tokens, err);
    } else {
        mg_error_msg(err,
                     "connector %s: unknown parameter \"%.64s\" (backends, tags, names, "
                     "access, title, main_tokens)",
                     c->name, word);
    }
    return -1;
}

/* A "connector" line: NAME then name=value words. Returns 0, or -1 with err. */
static int set_connector(struct mg_config *cfg, const char *value, struct mg_error *err)
{
    if (cfg->n_connectors == MG_MAX_CONNECTORS) {
        mg_error_msg(err, "connector: at most %d connectors", MG_MAX_CONNECTORS);
        return -1;
    }
    struct mg_connector c;
    memset(&c, 0, sizeof c);
    const char *p = value;
    char word[1024];
    if (connector_next_word(&p, word, sizeof word) != 1 || strlen(word) > 32 ||
        strspn(word, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(word) ||
        strcmp(word, "doctor") == 0) {
        mg_error_msg(err,
                     "connector: the first word must be the connector's name ([a-z0-9_-], at most "
                     "32 characters, not \"doctor\"), served at /mcp/NAME");
        return -1;
    }
    snprintf(c.name, sizeof c.name, "%s", word);
    if (config_connector_find(cfg, c.name)) {
        mg_error_msg(err, "connector: %s is configured twice", c.name);
        return -1;
    }
    int rc;
    while ((rc = connector_next_word(&p, word, sizeof word)) == 1)
        if (connector_word(&c, word, err) < 0)
            return -1;
    if (rc < 0) {
        mg_error_msg(err, "connector %s: a quote is not closed or a value is too long", c.name);
        return -1;
    }
    if (!c.title[0])
        snprintf(c.title, sizeof c.title, "%s", c.name);
    cfg->connectors[cfg->n_connectors++] = c;
    return 0;
}
static int set_rs(struct mg_config *cfg, const char *key, const char *value, struct mg_error *err);

/* metrics_token_file: the scrape credential of /metrics (http/metrics.h),
 * kept only as its SHA-256. At least METRICS_TOKEN_MIN characters. */
static int read_metrics_token(struct mg_config *cfg, const char *path, struct mg_error *err)
{
    if (!path[0]) {
        cfg->metrics_token_sha256[0] = '\0';
        return 0;
    }
    char token[256];
    if (read_secret_file("metrics_token_file", path, token, sizeof token, err) < 0)
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
        if (copy_str(cfg->base_url, sizeof cfg->base_url, value) == 0)
            return 0;
    } else if (strcmp(key, "database") == 0) {
        if (copy_str(cfg->database, sizeof cfg->database, value) == 0)
            return 0;
    } else if (strcmp(key, "log_level") == 0) {
        if (log_level_parse(value, &cfg->log_level) == 0)
            return 0;
        mg_error_msg(err, "log_level must be error, warn, info or debug");
        return -1;
    } else if (strcmp(key, "auth") == 0) {
        if (strcmp(value, "none") == 0 || strcmp(value, "oauth") == 0 ||
            strcmp(value, "resource") == 0) {
            cfg->auth = value[0] == 'n'   ? MG_AUTH_NONE
                        : value[0] == 'o' ? MG_AUTH_OAUTH
                                          : MG_AUTH_RESOURCE;
            return 0;
        }
        mg_error_msg(err, "auth must be oauth, resource or none");
        return -1;
    } else if (strncmp(key, "rs_", 3) == 0) {
        return set_rs(cfg, key, value, err);
    } else if (strcmp(key, "max_body_bytes") == 0) {
        if (parse_int(value, 1024, 64L * 1024 * 1024, &v) == 0) {
            cfg->max_body_bytes = (size_t)v;
            return 0;
        }
        mg_error_msg(err, "max_body_bytes must be from 1024 to 67108864");
        return -1;
    } else if (table_int_key(cfg, key, value, &v, err)) {
        return (int)v;
    } else if (strcmp(key, "cimd_allow_private") == 0) {
        if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0) {
            cfg->cimd_allow_private = value[0] == 'y';
            return 0;
        }
        mg_error_msg(err, "cimd_allow_private must be yes or no");
        return -1;
    } else if (strcmp(key, "idp") == 0) {
        return set_idp(cfg, value, err);
    } else if (strcmp(key, "connector") == 0) {
        return set_connector(cfg, value, err);
    } else if (strcmp(key, "idp_allow_private") == 0) {
        return set_yes_no(key, value, &cfg->idp_allow_private, err);
    } else if (strcmp(key, "local_users") == 0) {
        return set_yes_no(key, value, &cfg->local_users, err);
    } else if (strcmp(key, "backends_dir") == 0) {
        if (value[0] != '/') {
            mg_error_msg(err, "backends_dir must be an absolute path");
            return -1;
        }
        if (copy_str(cfg->backends_dir, sizeof cfg->backends_dir, value) == 0)
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
        if (parse_int(value, 0, 1048576, &v) == 0 && (v == 0 || v >= 64)) {
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
        if (copy_str(cfg->log_file, sizeof cfg->log_file, value) == 0)
            return 0;
    } else if (strcmp(key, "policy_default") == 0) {
        if (strcmp(value, "allow") == 0 || strcmp(value, "deny") == 0) {
            cfg->policy_default_allow = value[0] == 'a';
            return 0;
        }
        mg_error_msg(err, "policy_default must be allow or deny");
        return -1;
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

/* A list of scope names separated by commas or spaces into out as one
 * space-separated list. Returns 0, or -1 when a name has other characters,
 * the list is empty or does not fit. */
static int scope_list(const char *v, char *out, size_t n)
{
    size_t o = 0, len = strlen(v);
    if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/, -") != len)
        return -1;
    out[0] = '\0';
    for (size_t i = 0; i < len;) {
        size_t w = strcspn(v + i, ", ");
        if (w > 0) {
            if (o + w + 2 > n)
                return -1;
            if (o)
                out[o++] = ' ';
            memcpy(out + o, v + i, w);
            o += w;
            out[o] = '\0';
        }
        i += w + (v[i + w] ? 1 : 0);
    }
    return o ? 0 : -1;
}

/* The rs_* keys of auth = resource. Returns 0, or -1 with err. */
static int set_rs(struct mg_config *cfg, const char *key, const char *value, struct mg_error *err)
{
    struct mg_rs *rs = &cfg->rs;
    long v;
    if (strcmp(key, "rs_issuer") == 0) {
        if ((strncmp(value, "https://", 8) == 0 || strncmp(value, "http://", 7) == 0) &&
            !strpbrk(value, " \t?#") && copy_str(rs->issuer, sizeof rs->issuer, value) == 0)
            return 0;
        mg_error_msg(err, "rs_issuer must be the authorization server's issuer URL");
        return -1;
    } else if (strcmp(key, "rs_name") == 0) {
        if (strlen(value) >= 1 && strlen(value) <= 32 &&
            strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(value)) {
            snprintf(rs->name, sizeof rs->name, "%s", value);
            return 0;
        }
        mg_error_msg(err, "rs_name must be 1 to 32 characters of [a-z0-9_-]");
        return -1;
    } else if (strcmp(key, "rs_audience") == 0) {
        char tmp[2048];
        if (copy_str(tmp, sizeof tmp, value) < 0) {
            mg_error_msg(err, "rs_audience is too long");
            return -1;
        }
        rs->n_audiences = 0;
        char *save = NULL;
        for (char *w = strtok_r(tmp, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save)) {
            if (rs->n_audiences == MG_RS_MAX_AUDIENCES ||
                copy_str(rs->audiences[rs->n_audiences], sizeof rs->audiences[0], w) < 0) {
                mg_error_msg(err, "rs_audience: at most %d audiences of up to 511 bytes",
                             MG_RS_MAX_AUDIENCES);
                return -1;
            }
            rs->n_audiences++;
        }
        if (rs->n_audiences > 0)
            return 0;
        mg_error_msg(err, "rs_audience must name at least one audience");
        return -1;
    } else if (strcmp(key, "rs_scopes_read") == 0 || strcmp(key, "rs_scopes_write") == 0) {
        char *out = key[10] == 'r' ? rs->scopes_read : rs->scopes_write;
        if (scope_list(value, out, sizeof rs->scopes_read) == 0)
            return 0;
        mg_error_msg(err, "%s must be a list of scope names separated by commas", key);
        return -1;
    } else if (strcmp(key, "rs_groups_claim") == 0) {
        if (strlen(value) < sizeof rs->groups_claim &&
            strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/-") ==
                strlen(value)) {
            snprintf(rs->groups_claim, sizeof rs->groups_claim, "%s", value);
            return 0;
        }
        mg_error_msg(err, "rs_groups_claim must be a claim name, or empty for none");
        return -1;
    } else if (strcmp(key, "rs_validation") == 0) {
        if (strcmp(value, "jwt") == 0 || strcmp(value, "introspection") == 0 ||
            strcmp(value, "auto") == 0) {
            rs->introspect = value[0] == 'j' ? 0 : value[0] == 'i' ? 1 : 2;
            return 0;
        }
        mg_error_msg(err, "rs_validation must be jwt, introspection or auto");
        return -1;
    } else if (strcmp(key, "rs_introspection_client_id") == 0) {
        if (copy_str(rs->client_id, sizeof rs->client_id, value) == 0)
            return 0;
    } else if (strcmp(key, "rs_introspection_client_secret_file") == 0) {
        return read_secret_file(key, value, rs->client_secret, sizeof rs->client_secret, err);
    } else if (strcmp(key, "rs_cache_max_s") == 0) {
        if (parse_int(value, 0, 86400, &v) == 0) {
            rs->cache_max_s = (int)v;
            return 0;
        }
        mg_error_msg(err, "rs_cache_max_s must be from 0 to 86400 seconds");
        return -1;
    } else if (strcmp(key, "rs_jwks_refetch_s") == 0) {
        if (parse_int(value, 1, 3600, &v) == 0) {
            rs->refetch_s = (int)v;
            return 0;
        }
        mg_error_msg(err, "rs_jwks_refetch_s must be from 1 to 3600 seconds");
        return -1;
    } else {
        mg_error_msg(err, "unknown setting \"%.64s\"", key);
        return -1;
    }
    mg_error_msg(err, "%s is too long", key);
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
    const char *rest;
    int https;
    if (strncasecmp(u, "https://", 8) == 0) {
        rest = u + 8;
        https = 1;
    } else if (strncasecmp(u, "http://", 7) == 0) {
        rest = u + 7;
        https = 0;
    } else {
        return -1;
    }
    size_t hostlen = strcspn(rest, "/");
    if (hostlen == 0 || strpbrk(u, "?#@ "))
        return -1;
    const char *path = rest + hostlen;
    char host[256];
    if (hostlen >= sizeof host || strlen(path) >= sizeof cfg->base_path)
        return -1;
    memcpy(host, rest, hostlen);
    host[hostlen] = '\0';
    for (char *h = host; *h; h++)
        *h = (char)tolower((unsigned char)*h);
    size_t hl = strlen(host);
    const char *dflt = https ? ":443" : ":80";
    if (hl > strlen(dflt) && strcmp(host + hl - strlen(dflt), dflt) == 0)
        host[hl - strlen(dflt)] = '\0';
    snprintf(cfg->base_origin, sizeof cfg->base_origin, "%s://%s", https ? "https" : "http", host);
    snprintf(cfg->base_host, sizeof cfg->base_host, "%s", host);
    memcpy(cfg->base_path, path, strlen(path) + 1);
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
        if (strncmp(rs->issuer, "https://", 8) != 0 && !cfg->idp_allow_private) {
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
            snprintf(rs->audiences[0], sizeof rs->audiences[0], "%s/mcp", cfg->base_url);
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
