/*
 * tools/backend.h - REST backends: tools declared in JSON files of the
 * configuration directory (backends_dir), each tool one HTTP request.
 *
 * Owns: the backend file format (docs/backends.md has the full reference
 * and an example), parsed by tools/backend.c (each tool by
 * tools/backend_op.c), the credentials of each backend (read from the
 * sources the file names, tools/secret_source.h; never shown to clients or
 * logged), one tool per operation, named "<backend>_<tool>". The table of
 * loaded backends is tools/backends.h, a call tools/rest.h, names and
 * validators shared with the importer tools/names.h.
 *
 *   {
 *     "mcpgate_backend": 1,
 *     "name": "petstore",                       [a-z0-9_], 1..32, unique
 *     "title": "...", "description": "...",
 *     "base_url": "https://api.example.com/v1", http or https
 *     "allow_private": false,   may connect to loopback/private addresses
 *     "timeout_ms": 15000, "max_response_bytes": 1048576,
 *     "headers": {"Accept": "application/json"},  sent on every request
 *     "credentials": {SLOT: {"type": "bearer"|"basic"|"header"|"query",
 *                            "name": "X-Api-Key", "prefix": "Token ",
 *                            "env_file": PATH, "variable": NAME | "file": PATH,
 *                            "per_user": false}},   true: each user links their own
 *                                                   value (tools/credentials.h)
 *                 or {"type": "bearer", "exchange": {"audience": A, "resource": R,
 *                     "scope": S, "client_id": ID, "client_secret_file": PATH}}:
 *                     the caller's token exchanged at the issuer (tools/exchange.h)
 *     "auth": [SLOT, ...],      slots every tool uses unless it says otherwise
 *     "tools": [{
 *       "name": "list_pets", "title": "...", "description": "...",
 *       "access": "read"|"write"|"destructive",   default from the method
 *       "method": "GET", "path": "/pets/{petId}", "base_url": (own, optional),
 *       "input_schema": {JSON Schema, type object},
 *       "args": {ARG: {"in": "path"|"query"|"header"|"body"|"body_field",
 *                      "name": WIRE_NAME}},
 *       "body_type": "json"|"form", "body_required": false, "auth": [SLOT, ...],
 *       "timeout_ms": ..., "max_response_bytes": ...,
 *       "result": {"pointer": "/data"}
 *     }]
 *   }
 *
 * A backend of kind "mcp" aggregates an upstream MCP server instead
 * (tools/upstream.h): "kind": "mcp", "url" (the upstream's Streamable HTTP
 * endpoint) instead of "base_url", no "tools"; optional "cache_ttl_s"
 * (how long its tools/list is cached, 10..86400, default 300),
 * "include_tools" / "exclude_tools" (fnmatch patterns of upstream tool
 * names). allow_private, timeout_ms, max_response_bytes, headers,
 * credentials and auth as for REST backends; every upstream request
 * carries the "auth" slots.
 *
 * Must not touch: HTTP of the client side, JSON-RPC, SQL (the encrypted
 * credential store goes through store/).
 */
#ifndef MG_TOOLS_BACKEND_H
#define MG_TOOLS_BACKEND_H

#include <json-c/json.h>
#include <stddef.h>

#include "tools/registry.h"

#define TOOL_BACKEND_NAME_MAX           32
#define TOOL_BACKEND_SLOT_MAX           128 /* a slot kept in the database */
#define TOOL_BACKEND_DEFAULT_TIMEOUT_MS 15000
#define TOOL_BACKEND_DEFAULT_MAX_BYTES  (1024 * 1024)
#define TOOL_BACKEND_MAX_TIMEOUT_MS     300000
#define TOOL_BACKEND_MAX_BYTES_LIMIT    (64 * 1024 * 1024)

/* mcp backends: how long an upstream's tools/list is cached */
#define TOOL_BACKEND_DEFAULT_CACHE_TTL_S 300
#define TOOL_BACKEND_MIN_CACHE_TTL_S     10
#define TOOL_BACKEND_MAX_CACHE_TTL_S     86400

enum backend_kind { BACKEND_REST, BACKEND_MCP };

enum backend_arg_in { ARG_PATH, ARG_QUERY, ARG_HEADER, ARG_BODY, ARG_BODY_FIELD };
enum backend_cred_type { CRED_BEARER, CRED_BASIC, CRED_HEADER, CRED_QUERY };

/* Where one argument goes in the request. */
struct backend_arg {
    char *arg;  /* the argument's name in inputSchema */
    char *wire; /* the parameter, header or body field name upstream */
    enum backend_arg_in in;
};

/* Token exchange settings of a slot (tools/exchange.h). Written at load,
 * read-only afterwards. */
struct backend_exchange {
    char *audience;  /* sent as "audience", or NULL */
    char *resource;  /* sent as "resource", or NULL */
    char *scope;     /* sent as "scope", or NULL */
    char *client_id; /* the slot's own client at the issuer, or NULL: rs_introspection_client_id */
    char *client_secret; /* its secret (client_secret_file), or NULL; never logged */
};

/* A credential slot. value is the secret, or NULL when its source gave
 * none (a call that needs it then fails with a message saying how to set
 * it). Written at load, read-only afterwards. */
struct backend_cred {
    char *slot;
    enum backend_cred_type type;
    char *name;     /* header or query parameter name (header, query) */
    char *prefix;   /* put before the value in a header, or NULL */
    char *value;    /* the configured secret (env_file, file), or NULL: never logged, never
                       returned; a value stored in the database may override it at call time
                       (tools/credentials.h) */
    int per_user;   /* 1: each user links their own value on the account page */
    char *from_idp; /* the identity provider whose access token for the calling user
                       is the value (tools/idp_token.h), or NULL */
    struct backend_exchange *exchange; /* the caller's access token exchanged for the
                                          backend's (tools/exchange.h), or NULL */
    char *description;                 /* for people (the account page), or NULL */
};

struct backend;

/* One tool: one HTTP request. */
struct backend_op {
    const struct backend *be;
    char *tool_name;            /* registered name, "<backend>_<name>" */
    char *method;               /* upper case */
    char *path;                 /* template, "{name}" replaced by encoded path arguments */
    char *base_url;             /* this tool's own base URL, or NULL for the backend's */
    struct json_object *schema; /* the inputSchema while the file is parsed, then NULL */
    const char *schema_text;    /* the inputSchema ($refs resolved), the tool's input_schema */
    struct backend_arg *args;
    int n_args;
    int form_body;     /* 1: application/x-www-form-urlencoded, 0: JSON */
    int body_required; /* 1: a JSON body is always sent ({} without arguments) */
    int *auth;         /* indexes into be->creds */
    int n_auth;
    long timeout_ms;
    size_t max_bytes;
    char *result_pointer; /* JSON pointer into the response, or NULL */
};

struct upstream;

struct backend {
    enum backend_kind kind;
    char *name;
    char *file;     /* the file it came from, for messages */
    char *base_url; /* REST: the base URL; mcp: the upstream's endpoint ("url") */
    int allow_private;
    char **headers; /* "Name: value" lines */
    int n_headers;
    struct backend_cred *creds;
    int n_creds;
    struct backend_op *ops;
    int n_ops;
    struct tool_def *defs; /* n_ops, registered */
    /* kind mcp only (REST backends keep these per operation): */
    long timeout_ms;  /* each upstream request */
    size_t max_bytes; /* each upstream answer */
    int *auth;        /* indexes into creds: sent with every upstream request */
    int n_auth;
    int cache_ttl_s;      /* tools/list cached this long */
    char **include_tools; /* fnmatch patterns; none: every tool */
    int n_include;
    char **exclude_tools; /* fnmatch patterns */
    int n_exclude;
    struct upstream *up; /* the running state (tools/upstream.h), set at load */
};

/* Parses the backend file text (json, from path, for messages) into a new
 * backend. Reads credential sources unless skip_secrets. Returns it, or
 * NULL with a message naming the file and the fault in err. Free with
 * tool_backend_free(). */
struct backend *tool_backend_parse(const char *path, struct json_object *json, int skip_secrets,
                                   struct mg_error *err);

/* Frees b and clears its secrets. Accepts NULL. */
void tool_backend_free(struct backend *b);

/* The name of credential type t as backend files write it ("bearer",
 * "basic", "header", "query"). Static, cannot fail. */
const char *tool_cred_type_name(enum backend_cred_type t);

/* Reads and parses one backend file. Returns a new backend or NULL with a
 * message in err (see tool_backend_parse). */
struct backend *tool_backend_load_file(const char *path, int skip_secrets, struct mg_error *err);

#endif
