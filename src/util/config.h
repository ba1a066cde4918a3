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

#include "util/error.h"
#include "util/log.h"
#include "util/seal.h"

#define MG_DEFAULT_CONFIG "/etc/mcpgate/mcpgate.conf"
#define MG_MAX_ORIGINS    16

#define MG_DEFAULT_BACKENDS_DIR "/etc/mcpgate/backends.d"

#define MG_MAX_IDPS 8

/* How the person signed in at a provider is known (oauth/idp.c). */
enum mg_idp_identity {
    MG_IDP_ID_TOKEN, /* the verified ID token's claims (OpenID Connect) */
    MG_IDP_USERINFO, /* the userinfo endpoint's answer, called with the access token */
    MG_IDP_WHOAMI,   /* a "who am I" API URL's answer; the subject in subject_field */
};

/* An upstream identity provider people sign in at (OpenID Connect or plain
 * OAuth 2.0; one "idp = NAME issuer=URL client_id=ID [...]" line each, see
 * mcpgate.conf(5), oauth/idp.c). */
struct mg_idp {
    char name[33];           /* [a-z0-9_-]{1,32}: in URLs, user names and the users table */
    char issuer[512];        /* exact issuer identifier; discovery below it; "" only with
                                explicit endpoints (no iss to check then) */
    char client_id[256];     /* mcpgate's client id at the provider */
    char client_secret[256]; /* read from client_secret_file; "" = public client (PKCE only);
                                secret, never logged */
    char scopes[256];        /* space-separated; "openid" among them unless identity is whoami;
                                "" = no scope parameter */
    int openid;              /* 1: "openid" is among the scopes (a nonce is sent) */
    enum mg_idp_identity identity;
    char authorization_endpoint[512]; /* explicit endpoints ("" = from discovery); */
    char token_endpoint[512];         /* both or neither */
    char userinfo_endpoint[512];      /* identity from here when set */
    char revocation_endpoint[512];    /* RFC 7009, for Disconnect; "" = discovery's, if any */
    char whoami_url[512];             /* identity from here when set (plain OAuth 2.0) */
    char subject_field[128];          /* the subject's member in the whoami answer, dotted
                                         for nested objects ("account.id") */
    char groups_allowed[512];         /* space-separated; "" = anyone may sign in */
    int consent_provider;             /* 1 (consent=provider): the provider's consent
                                         (prompt=consent) replaces mcpgate's page */
    int link_only;                    /* 1 (link_only=yes): not a way to sign in; signed-in
                                         users link their account there (Connect) */
};

#define MG_MAX_CONNECTORS 16

/* Access classes a connector serves (bits of mg_connector.access). */
#define MG_ACCESS_READ        1
#define MG_ACCESS_WRITE       2
#define MG_ACCESS_DESTRUCTIVE 4

/* A connector: a named set of tools served at its own MCP endpoint,
 * base_url + "/mcp/" + name, with its own resource indicator (RFC 8707)
 * and protected resource metadata (RFC 9728). One "connector = NAME
 * [backends=a,b] [tags=T,U] [names=p*,q*] [access=read,write]
 * [title="..."] [main_tokens=yes]" line each. A tool is in the set when it
 * passes every filter given (within one filter, any listed value will do);
 * the lists are comma-separated, kept as written and matched by
 * tools/policy.h. */
struct mg_connector {
    char name[33];      /* [a-z0-9_-]{1,32}, not "doctor": the path /mcp/NAME */
    char title[129];    /* for people: consent page, metadata; default the name */
    char backends[512]; /* backend names; "" = any tool, builtins too */
    char tags[512];     /* tags (case-insensitive); "" = any */
    char names[512];    /* fnmatch(3) patterns over tool names; "" = any */
    int access;         /* MG_ACCESS_* bits; 0 = every class */
    int main_tokens;    /* 1: tokens issued for base_url/mcp are accepted here too */
};

enum mg_auth_mode {
    MG_AUTH_NONE,     /* no authentication */
    MG_AUTH_OAUTH,    /* mcpgate is the authorization server */
    MG_AUTH_RESOURCE, /* an external authorization server issues the tokens (rs_* below) */
};

#define MG_RS_MAX_AUDIENCES 4

/* The external authorization server of auth = resource (oauth/resource.c). */
struct mg_rs {
    char issuer[512]; /* rs_issuer: exact issuer identifier; discovery below it */
    char name[33];    /* rs_name: [a-z0-9_-]{1,32}, keys its users as (name, subject) */
    int n_audiences;  /* rs_audience: "aud" must name one; default base_url/mcp */
    char audiences[MG_RS_MAX_AUDIENCES][512];
    char scopes_read[256];   /* rs_scopes_read: external scopes granting mcp:tools:read */
    char scopes_write[256];  /* rs_scopes_write: external scopes granting mcp:tools:write */
    char groups_claim[64];   /* rs_groups_claim: "" = groups are not taken from tokens */
    int introspect;          /* rs_validation: jwt (0), introspection (1), or auto (2): JWTs
                                checked here, other tokens by introspection */
    char client_id[256];     /* rs_introspection_client_id */
    char client_secret[256]; /* from rs_introspection_client_secret_file; secret, never logged */
    int cache_max_s;         /* rs_cache_max_s: an accepted token is reused at most this long */
    int refetch_s;           /* rs_jwks_refetch_s: least time between key set fetches for an
                                unknown kid, and after a failed discovery */
};

#define MG_METRICS_TOKEN_MIN 16 /* characters of a metrics_token_file token */

struct mg_config {
    char base_url[512];    /* public URL without trailing slash, e.g. https://h/mcp-gw */
    char base_origin[512]; /* scheme://host[:port] of base_url, derived */
    char base_path[256];   /* path part of base_url ("" for the root), derived */
    char database[1024];   /* libpq conninfo or URI */
    int threads;           /* worker threads per process (1..1024) */
    int db_connections;    /* PostgreSQL connections per process shared by its threads */
    enum log_level log_level;
    enum mg_auth_mode auth;
    size_t max_body_bytes; /* largest request body accepted */
    int session_ttl_s;     /* idle lifetime of an MCP session */
    int db_connect_timeout_s;
    int page_size; /* items per page of tools/list, resources/list, prompts/list */
    int n_origins;
    char origins[MG_MAX_ORIGINS][256]; /* extra allowed Origin values */
    int n_hosts;
    char hosts[MG_MAX_ORIGINS][256]; /* extra allowed Host values (base_url's always is) */
    char base_host[256];             /* host[:port] of base_url, default port dropped, derived */
    int sse_heartbeat_s;             /* comment line this often on an idle SSE stream */
    int sse_max_s;                   /* an SSE response lasts at most this long */
    int sse_retry_ms;                /* the retry hint sent on every SSE stream */
    size_t sse_pad_bytes;            /* > 0: pad SSE events through a buffering web server */
    char log_file[512];              /* "" = stderr; else log lines are appended here */
    int request_timeout_s;           /* longest wait for a client's answer (sampling, ...) */
    int rate_limit_user_per_min;     /* tool calls per user and minute, 0 = no limit */
    int rate_limit_client_per_min;   /* tool calls per OAuth client and minute, 0 = no limit */
    int policy_default_allow;        /* 1: tools no policy rule names are allowed */
    int discovery_threshold;         /* more visible tools than this: discovery mode; 0: never */
    /* limits on what one request may make the server hold or do (SECURITY.md) */
    int max_batch_messages;       /* messages in one JSON-RPC batch (/mcp 2025-03-26, /messages) */
    int max_progress_token_bytes; /* a request's _meta.progressToken, as JSON text */
    int max_events_per_call;      /* notifications and requests one call sends the client */
    int search_max_query_bytes;   /* search_tools "query" */
    int search_max_words;         /* words in a search_tools "query" */
    int upstream_tools_max_kib;   /* upstream MCP tool lists held by one process, in KiB */
    /* OAuth (auth = oauth); see conf/mcpgate.conf */
    int access_token_ttl_s;  /* lifetime of an access token */
    int refresh_token_ttl_s; /* lifetime of each refresh token (rotated on use) */
    int refresh_grace_s;     /* a just-rotated refresh token presented again this soon is
                                refused without revoking its family (a concurrent retry) */
    int web_session_ttl_s;   /* lifetime of a sign-in on the login/consent/account pages */
    int register_per_hour;   /* dynamic client registrations per address per hour, 0: off */
    int cimd_allow_private;  /* 1: client metadata documents may be fetched from
                                loopback/private addresses and over http (tests only) */
    /* limits (docs/man/mcpgate.conf.5): a request body must arrive within
       body_timeout_s, extended by 1 s per body_min_rate bytes received (0: not
       extended), never beyond body_max_s; like mod_reqtimeout's
       body=10-30,MinRate=500 */
    int body_timeout_s;
    int body_max_s;
    int body_min_rate;
    int streams_per_user;   /* held SSE streams per user, across all processes; 0: none */
    int streams_per_token;  /* held SSE streams per access token or API key; 0: none */
    int unauth_waiting_max; /* unauthenticated requests that wait (doctor, client
                               metadata fetches) at once, across all processes */
    int password_hash_max;  /* passwords checked at once per process; more get 503 */
    int idp_allow_private;  /* 1: identity providers may be on loopback/private
                               addresses and use http (tests only) */
    int local_users;        /* 1: the sign-in page has the password form */
    int idp_jwks_refetch_s; /* least time between a provider's key set fetches for an ID
                               token with an unknown kid (a rotated key), per process */
    int n_idps;
    struct mg_idp idps[MG_MAX_IDPS]; /* configured identity providers, in file order */
    int n_connectors;
    struct mg_connector connectors[MG_MAX_CONNECTORS]; /* in file order */
    struct mg_rs rs;                                   /* auth = resource */
    char backends_dir[512]; /* REST backend files (*.json), read at start (tools/backend.h) */
    char metrics_token_sha256[65]; /* SHA-256 hex of metrics_token_file's token, "" = none */
    /* credential_key lines: [0] seals stored credentials, each opens them (util/seal.h);
       secret, never logged */
    struct seal_key credential_keys[SEAL_MAX_KEYS];
    int n_credential_keys;
};

/* Fills cfg with the defaults. Cannot fail. */
void config_defaults(struct mg_config *cfg);

/* Reads the file at path over the defaults already in cfg. Returns 0, or -1
 * with a message naming the file, line and fault in err->msg. On
 * failure cfg holds an unspecified mix and must not be used. */
__attribute__((warn_unused_result)) int config_load(struct mg_config *cfg, const char *path,
                                                    struct mg_error *err);

/* Applies one "key", "value" pair. Returns 0, or -1 with a message in err.
 * Exposed for tests and command-line overrides. */
__attribute__((warn_unused_result)) int config_set(struct mg_config *cfg, const char *key,
                                                   const char *value, struct mg_error *err);

/* Checks the settings that have no usable default (base_url, database) and
 * derives base_origin/base_path. Returns 0, or -1 with a message in err. */
__attribute__((warn_unused_result)) int config_finish(struct mg_config *cfg, struct mg_error *err);

/* Returns the path to read: explicit if not NULL, else $MCPGATE_CONFIG,
 * else MG_DEFAULT_CONFIG. Borrowed. */
const char *config_path(const char *explicit_path);

/* The identity provider called name, or NULL. Borrowed from cfg. */
const struct mg_idp *config_idp_find(const struct mg_config *cfg, const char *name);

/* The number of providers people sign in at (link_only ones not counted),
 * and the first of them in *first (NULL when none). Cannot fail. */
int config_idp_signin_count(const struct mg_config *cfg, const struct mg_idp **first);

/* The connector called name, or NULL. Borrowed from cfg. */
const struct mg_connector *config_connector_find(const struct mg_config *cfg, const char *name);

/* Returns 1 when origin (an Origin header value) may call /mcp, else 0. */
int config_origin_allowed(const struct mg_config *cfg, const char *origin);

/* Returns 1 when host (a Host header value) names this server: base_url's
 * host or one of allowed_hosts (DNS rebinding protection), else 0. */
int config_host_allowed(const struct mg_config *cfg, const char *host);

#endif
