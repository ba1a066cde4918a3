/*
 * tools/backend.c - the backend file format: parsing one backend file
 * (its top-level keys, headers, credentials, the keys of mcp backends) and
 * freeing a backend. Each tool of a REST backend is parsed by
 * tools/backend_op.c; the table of loaded backends is tools/backends.c.
 *
 * The format is described in tools/backend.h and docs/backends.md. Every
 * fault names the file and the place ("tools[3].args.id: ..."), and stops
 * the responder at start-up like a bad configuration file: a half-loaded
 * backend would show the model tools that cannot work.
 */
#include "tools/backend.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tools/backend_parse.h"
#include "tools/names.h"
#include "tools/rest.h"
#include "tools/secret_source.h"
#include "tools/upstream.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/url.h"

#define MAX_FILE_BYTES (32 * 1024 * 1024)

/* --- messages -------------------------------------------------------- */

void *bk_bad(struct parse *p, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mg_error_msg(p->err, "backend file %s: %s", p->path, msg);
    return NULL;
}

/* --- freeing ----------------------------------------------------------- */

void tool_backend_free(struct backend *b)
{
    if (!b)
        return;
    for (int i = 0; i < b->n_ops; i++) {
        struct backend_op *op = &b->ops[i];
        free(op->tool_name);
        free(op->method);
        free(op->path);
        free(op->base_url);
        json_object_put(op->schema);
        for (int a = 0; a < op->n_args; a++) {
            free(op->args[a].arg);
            free(op->args[a].wire);
        }
        free(op->args);
        free(op->auth);
        free(op->result_pointer);
        if (b->defs) {
            free((char *)b->defs[i].title);
            free((char *)b->defs[i].description);
            free((char *)b->defs[i].input_schema);
            free((char *)b->defs[i].keywords);
            free((char *)b->defs[i].tags);
        }
    }
    free(b->ops);
    free(b->defs);
    for (int i = 0; i < b->n_creds; i++) {
        free(b->creds[i].slot);
        free(b->creds[i].name);
        free(b->creds[i].prefix);
        free(b->creds[i].from_idp);
        free(b->creds[i].description);
        struct backend_exchange *x = b->creds[i].exchange;
        if (x) {
            free(x->audience);
            free(x->resource);
            free(x->scope);
            free(x->client_id);
            tool_secret_free(x->client_secret);
            free(x);
        }
        tool_secret_free(b->creds[i].value);
    }
    free(b->creds);
    alloc_strv_free(b->headers, b->n_headers);
    tool_upstream_free(b->up);
    free(b->auth);
    alloc_strv_free(b->include_tools, b->n_include);
    alloc_strv_free(b->exclude_tools, b->n_exclude);
    free(b->name);
    free(b->file);
    free(b->base_url);
    free(b);
}

/* Parses one JSON text (deeper nesting allowed than for requests: imported
 * schemas are deep). Returns a new object, or NULL with err's msg set. */
static struct json_object *parse_json_text(const char *text, size_t len, struct mg_error *err)
{
    struct json_object *obj;
    size_t used;
    enum json_tokener_error e = json_tokenize(text, len, BACKEND_FILE_JSON_DEPTH, &obj, &used);
    if (e != json_tokener_success) {
        mg_error_msg(err, "%s", json_tokener_error_desc(e));
        return NULL;
    }
    for (size_t i = used; i < len; i++) {
        if (!isspace((unsigned char)text[i])) {
            mg_error_msg(err, "unexpected text after the JSON value");
            json_object_put(obj);
            return NULL;
        }
    }
    return obj;
}

/* --- pieces of the format ---------------------------------------------- */

int bk_opt_long(struct parse *p, struct json_object *o, const char *where, const char *key, long lo,
                long hi, long *out)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        return 0;
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < lo ||
        json_object_get_int64(v) > hi) {
        bk_bad(p, "%s%s must be a whole number from %ld to %ld", where, key, lo, hi);
        return -1;
    }
    *out = (long)json_object_get_int64(v);
    return 0;
}

/* The optional member key of o: 1 with it in *v when it has type, 0 when
 * absent, -1 when it has another type (reported: "<key> must be <what>"). */
static int opt_member(struct parse *p, struct json_object *o, const char *where, const char *key,
                      enum json_type type, const char *what, struct json_object **v)
{
    if (!json_object_object_get_ex(o, key, v))
        return 0;
    if (!json_object_is_type(*v, type)) {
        bk_bad(p, "%s%s must be %s", where, key, what);
        return -1;
    }
    return 1;
}

int bk_opt_string(struct parse *p, struct json_object *o, const char *where, const char *key,
                  const char **out)
{
    struct json_object *v = NULL;
    int rc = opt_member(p, o, where, key, json_type_string, "a string", &v);
    if (rc > 0)
        *out = json_object_get_string(v);
    return rc < 0 ? -1 : 0;
}

int bk_opt_strings(struct parse *p, struct json_object *o, const char *where,
                   const struct bk_opt_str *opts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (bk_opt_string(p, o, where, opts[i].key, opts[i].out) < 0)
            return -1;
    return 0;
}

int bk_only_keys(struct parse *p, struct json_object *o, const char *where, const char *const *keys)
{
    json_object_object_foreach(o, k, v)
    {
        (void)v;
        int known = 0;
        for (const char *const *kk = keys; *kk; kk++)
            known |= strcmp(k, *kk) == 0;
        if (!known && strncmp(k, "x-", 2) != 0 && strcmp(k, "$comment") != 0) {
            bk_bad(p, "%sunknown key \"%.64s\"", where, k);
            return -1;
        }
    }
    return 0;
}

int bk_object_of(struct parse *p, struct json_object *o, const char *where, const char *const *keys)
{
    if (!json_object_is_type(o, json_type_object)) {
        bk_bad(p, "%smust be an object", where);
        return -1;
    }
    return bk_only_keys(p, o, where, keys);
}

int bk_opt_bool(struct parse *p, struct json_object *o, const char *where, const char *key,
                int *out)
{
    struct json_object *v = NULL;
    int rc = opt_member(p, o, where, key, json_type_boolean, "true or false", &v);
    if (rc > 0)
        *out = json_object_get_boolean(v);
    return rc < 0 ? -1 : 0;
}

/* 1 when v is one line of 1..max printable characters. */
static int text_ok(const char *v, size_t max)
{
    size_t n = strlen(v);
    if (n < 1 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return 0;
    return 1;
}

/* The credential types' names in backend files, by enum backend_cred_type. */
static const char *const cred_type_names[] = {
    [CRED_BEARER] = "bearer",
    [CRED_BASIC] = "basic",
    [CRED_HEADER] = "header",
    [CRED_QUERY] = "query",
};
_Static_assert(sizeof cred_type_names / sizeof *cred_type_names == CRED_QUERY + 1,
               "a name for each credential type");

const char *tool_cred_type_name(enum backend_cred_type t)
{
    return (size_t)t < sizeof cred_type_names / sizeof *cred_type_names ? cred_type_names[t] : "?";
}

/* The type named name into *out. Returns 0, or -1 for no such type. */
static int cred_type_parse(const char *name, enum backend_cred_type *out)
{
    for (size_t i = 0; i < sizeof cred_type_names / sizeof *cred_type_names; i++) {
        if (strcmp(name, cred_type_names[i]) == 0) {
            *out = (enum backend_cred_type)i;
            return 0;
        }
    }
    return -1;
}

/* The "exchange" object of slot c (tools/exchange.h). Returns 0, or -1. */
static int parse_exchange(struct parse *p, const char *where, struct json_object *o,
                          struct backend_cred *c)
{
    static const char *const keys[] = {"audience",  "resource",           "scope",
                                       "client_id", "client_secret_file", NULL};
    char w[160];
    snprintf(w, sizeof w, "%sexchange: ", where);
    if (bk_object_of(p, o, w, keys) < 0)
        return -1;
    const char *audience = NULL, *resource = NULL, *scope = NULL, *client_id = NULL,
               *secret_file = NULL;
    const struct bk_opt_str strs[] = {{"audience", &audience},
                                      {"resource", &resource},
                                      {"scope", &scope},
                                      {"client_id", &client_id},
                                      {"client_secret_file", &secret_file}};
    if (bk_opt_strings(p, o, w, strs, sizeof strs / sizeof *strs) < 0)
        return -1;
    if (!audience && !resource) {
        bk_bad(p, "%saudience or resource is required: what the exchanged token is for", w);
        return -1;
    }
    if ((audience && !text_ok(audience, 512)) || (scope && !text_ok(scope, 512)) ||
        (client_id && !text_ok(client_id, 255))) {
        bk_bad(p,
               "%saudience, scope and client_id must each be one line of 1 to 255 or 512 "
               "characters",
               w);
        return -1;
    }
    if (resource &&
        (!text_ok(resource, 512) || strchr(resource, '#') || !url_is_web(resource, 1))) {
        bk_bad(p, "%sresource must be an absolute http(s) URL without a fragment (RFC 8707)", w);
        return -1;
    }
    if (secret_file && !client_id) {
        bk_bad(p, "%sclient_secret_file goes with client_id", w);
        return -1;
    }
    if (c->type != CRED_BEARER && c->type != CRED_HEADER) {
        bk_bad(p, "%san exchange slot is of type bearer or header", where);
        return -1;
    }
    struct backend_exchange *x = xcalloc(1, sizeof *x);
    c->exchange = x;
    x->audience = audience ? xstrdup(audience) : NULL;
    x->resource = resource ? xstrdup(resource) : NULL;
    x->scope = scope ? xstrdup(scope) : NULL;
    x->client_id = client_id ? xstrdup(client_id) : NULL;
    if (!secret_file || p->skip_secrets)
        return 0;
    struct mg_error err = MG_ERROR_INIT;
    x->client_secret = tool_secret_from_file(secret_file, &err);
    if (!x->client_secret) {
        bk_bad(p, "%scould not read the client secret from %s: %s", w, secret_file, err.msg);
        return -1;
    }
    return 0;
}

static int parse_cred(struct parse *p, const char *slot, struct json_object *o,
                      struct backend_cred *c)
{
    static const char *const keys[] = {"type",     "name",     "prefix",      "env_file",
                                       "variable", "file",     "description", "per_user",
                                       "from_idp", "exchange", NULL};
    char where[128];
    snprintf(where, sizeof where, "credentials.%.64s: ", slot);
    if (bk_object_of(p, o, where, keys) < 0)
        return -1;
    c->slot = xstrdup(slot);
    const char *type = json_get_string(o, "type");
    const char *name = json_get_string(o, "name");
    const char *prefix = NULL, *env_file = NULL, *variable = NULL, *file = NULL;
    const struct bk_opt_str strs[] = {
        {"prefix", &prefix}, {"env_file", &env_file}, {"variable", &variable}, {"file", &file}};
    if (bk_opt_strings(p, o, where, strs, sizeof strs / sizeof *strs) < 0)
        return -1;
    if (!type) {
        bk_bad(p, "%s\"type\" is required: bearer, basic, header or query", where);
        return -1;
    }
    if (cred_type_parse(type, &c->type) < 0) {
        bk_bad(p, "%stype must be bearer, basic, header or query", where);
        return -1;
    }
    if ((c->type == CRED_HEADER || c->type == CRED_QUERY) && (!name || !*name)) {
        bk_bad(p, "%s\"name\" (the %s parameter to put the secret in) is required", where,
               tool_cred_type_name(c->type));
        return -1;
    }
    if (c->type == CRED_HEADER && !tool_header_name_ok(name)) {
        bk_bad(p, "%sname is not a valid header name", where);
        return -1;
    }
    if (prefix && !tool_header_value_ok(prefix)) {
        bk_bad(p, "%sprefix must be one line", where);
        return -1;
    }
    const char *description = NULL;
    if (bk_opt_string(p, o, where, "description", &description) < 0)
        return -1;
    c->description = description && *description ? xstrdup(description) : NULL;
    if (bk_opt_bool(p, o, where, "per_user", &c->per_user) < 0)
        return -1;
    if (c->per_user && strlen(slot) > TOOL_BACKEND_SLOT_MAX) {
        bk_bad(p, "%sa per_user slot's name is at most %d characters", where,
               TOOL_BACKEND_SLOT_MAX);
        return -1;
    }
    c->name = name ? xstrdup(name) : NULL;
    c->prefix = prefix ? xstrdup(prefix) : NULL;
    if ((env_file != NULL) != (variable != NULL)) {
        bk_bad(p, "%senv_file and variable go together", where);
        return -1;
    }
    if (env_file && file) {
        bk_bad(p, "%sgive either env_file and variable, or file", where);
        return -1;
    }
    const char *from_idp = NULL;
    if (bk_opt_string(p, o, where, "from_idp", &from_idp) < 0)
        return -1;
    if (from_idp) {
        size_t n = strlen(from_idp);
        if (n < 1 || n > 32 || strspn(from_idp, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n) {
            bk_bad(p, "%sfrom_idp must name an identity provider (an idp line of mcpgate.conf)",
                   where);
            return -1;
        }
        if (c->per_user || env_file || file) {
            bk_bad(p,
                   "%sa from_idp slot takes the signed-in user's provider token only: no "
                   "per_user, env_file or file",
                   where);
            return -1;
        }
        c->from_idp = xstrdup(from_idp);
    }
    struct json_object *x = NULL;
    if (json_object_object_get_ex(o, "exchange", &x)) {
        if (c->per_user || env_file || file || c->from_idp) {
            bk_bad(p,
                   "%san exchange slot takes the caller's exchanged token only: no per_user, "
                   "from_idp, env_file or file",
                   where);
            return -1;
        }
        return parse_exchange(p, where, x, c);
    }
    if (c->per_user && (env_file || file)) {
        bk_bad(p, "%sa per_user slot takes each user's own value only: no env_file or file", where);
        return -1;
    }
    if (p->skip_secrets || (!env_file && !file))
        return 0;
    struct mg_error err = MG_ERROR_INIT;
    c->value = env_file ? tool_secret_from_env_file(env_file, variable, &err)
                        : tool_secret_from_file(file, &err);
    if (!c->value) {
        bk_bad(p, "%scould not read the secret %s%s%s: %s", where, env_file ? variable : "from ",
               env_file ? " from " : "", env_file ? env_file : file, err.msg);
        return -1;
    }
    if (!tool_header_value_ok(c->value)) {
        bk_bad(p, "%sthe secret must be one line", where);
        return -1;
    }
    return 0;
}

static int find_cred(const struct backend *b, const char *slot)
{
    for (int i = 0; i < b->n_creds; i++)
        if (strcmp(b->creds[i].slot, slot) == 0)
            return i;
    return -1;
}

int bk_parse_auth(struct parse *p, const struct backend *b, struct json_object *list,
                  const char *where, int **out, int *n)
{
    if (!json_object_is_type(list, json_type_array)) {
        bk_bad(p, "%sauth must be a list of credential slot names", where);
        return -1;
    }
    size_t len = json_object_array_length(list);
    *out = xcalloc(len, sizeof **out);
    *n = 0;
    for (size_t i = 0; i < len; i++) {
        struct json_object *s = json_object_array_get_idx(list, i);
        int idx =
            json_object_is_type(s, json_type_string) ? find_cred(b, json_object_get_string(s)) : -1;
        if (idx < 0) {
            bk_bad(p, "%sauth[%zu] is not a slot declared in \"credentials\"", where, i);
            return -1;
        }
        (*out)[(*n)++] = idx;
    }
    return 0;
}

static struct json_object *backend_tool_call(struct tool_ctx *ctx, struct json_object *args)
{
    const struct backend_op *op = ctx->tool ? ctx->tool->data : NULL;
    if (!op)
        return tool_result_text("this backend tool is not set up (no operation)", 1);
    return tool_backend_call(op, ctx, args);
}

/* A list of fnmatch patterns (upstream tool names). Returns 0, or -1. */
static int parse_patterns(struct parse *p, struct json_object *json, const char *key, char ***out,
                          int *n)
{
    struct json_object *list = NULL;
    if (!json_object_object_get_ex(json, key, &list))
        return 0;
    if (!json_object_is_type(list, json_type_array) || json_object_array_length(list) > 1000) {
        bk_bad(p, "%s must be a list of tool name patterns (\"get_*\")", key);
        return -1;
    }
    size_t len = json_object_array_length(list);
    *out = xcalloc(len, sizeof **out);
    for (size_t i = 0; i < len; i++) {
        struct json_object *s = json_object_array_get_idx(list, i);
        if (!json_object_is_type(s, json_type_string) || !json_object_get_string_len(s) ||
            json_object_get_string_len(s) > 256) {
            bk_bad(p, "%s[%zu] must be a tool name pattern (1 to 256 characters)", key, i);
            return -1;
        }
        (*out)[(*n)++] = xstrdup(json_object_get_string(s));
    }
    return 0;
}

/* The keys of an mcp backend that REST backends do not have. */
static int parse_mcp(struct parse *p, struct backend *b, struct json_object *json)
{
    for (int i = 0; i < b->n_headers; i++) {
        static const char *const ours[] = {"Accept:",         "Content-Type:",
                                           "Mcp-Session-Id:", "MCP-Protocol-Version:",
                                           "Last-Event-ID:",  NULL};
        for (const char *const *o = ours; *o; o++) {
            if (strncasecmp(b->headers[i], *o, strlen(*o)) == 0) {
                bk_bad(p, "headers: %.*s is set by mcpgate for mcp backends", (int)strlen(*o) - 1,
                       *o);
                return -1;
            }
        }
    }
    long ttl = TOOL_BACKEND_DEFAULT_CACHE_TTL_S;
    if (bk_opt_long(p, json, "", "cache_ttl_s", TOOL_BACKEND_MIN_CACHE_TTL_S,
                    TOOL_BACKEND_MAX_CACHE_TTL_S, &ttl) < 0)
        return -1;
    b->cache_ttl_s = (int)ttl;
    if (parse_patterns(p, json, "include_tools", &b->include_tools, &b->n_include) < 0 ||
        parse_patterns(p, json, "exclude_tools", &b->exclude_tools, &b->n_exclude) < 0)
        return -1;
    return 0;
}

/* The top-level keys every backend has, the kind and the base URL or
 * upstream endpoint. Returns a new backend, or NULL. */
static struct backend *parse_head(struct parse *p, struct json_object *json)
{
    static const char *const keys[] = {
        "mcpgate_backend", "name",          "title",      "description",
        "base_url",        "allow_private", "timeout_ms", "max_response_bytes",
        "headers",         "credentials",   "auth",       "tools",
        "openapi",         "kind",          "url",        "cache_ttl_s",
        "include_tools",   "exclude_tools", NULL};
    if (!json_object_is_type(json, json_type_object))
        return bk_bad(p, "not a JSON object");
    if (bk_only_keys(p, json, "", keys) < 0)
        return NULL;
    struct json_object *ver = json_get(json, "mcpgate_backend", json_type_int);
    if (!ver || json_object_get_int64(ver) != 1)
        return bk_bad(p, "\"mcpgate_backend\": 1 is required (the format version)");
    const char *name = json_get_string(json, "name");
    if (!name || !tool_backend_name_ok(name))
        return bk_bad(p,
                      "\"name\" is required: 1 to %d characters of a-z 0-9 _ -, starting with "
                      "a letter or digit",
                      TOOL_BACKEND_NAME_MAX);
    const char *kind = NULL;
    if (bk_opt_string(p, json, "", "kind", &kind) < 0)
        return NULL;
    if (kind && strcmp(kind, "rest") != 0 && strcmp(kind, "mcp") != 0)
        return bk_bad(p, "kind must be rest (the default) or mcp");
    int mcp = kind && strcmp(kind, "mcp") == 0;
    static const char *const rest_only[] = {"base_url", "tools", "openapi", NULL};
    static const char *const mcp_only[] = {"url", "cache_ttl_s", "include_tools", "exclude_tools",
                                           NULL};
    for (const char *const *k = mcp ? rest_only : mcp_only; *k; k++)
        if (json_object_object_get_ex(json, *k, NULL))
            return bk_bad(p, "\"%s\" is not a key of %s backends", *k,
                          mcp ? "mcp" : "REST (kind rest)");
    const char *base = json_get_string(json, mcp ? "url" : "base_url");
    if (!base || !(mcp ? tool_url_ok(base, 1) : tool_url_ok(base, 0)))
        return bk_bad(p, mcp ? "\"url\" is required: the http:// or https:// URL of the upstream's "
                               "MCP endpoint, without fragment"
                             : "\"base_url\" is required: an http:// or https:// URL without "
                               "query or fragment");
    struct backend *b = xcalloc(1, sizeof *b);
    b->kind = mcp ? BACKEND_MCP : BACKEND_REST;
    b->name = xstrdup(name);
    b->file = xstrdup(p->path);
    b->base_url = xstrdup(base);
    size_t bl = strlen(b->base_url);
    while (!mcp && bl > 0 && b->base_url[bl - 1] == '/')
        b->base_url[--bl] = '\0';
    return b;
}

/* "headers": sent on every request. Returns 0, or -1. */
static int parse_headers(struct parse *p, struct backend *b, struct json_object *json)
{
    struct json_object *headers = NULL;
    if (!json_object_object_get_ex(json, "headers", &headers))
        return 0;
    if (!json_object_is_type(headers, json_type_object)) {
        bk_bad(p, "headers must be an object of strings");
        return -1;
    }
    b->headers = xcalloc((size_t)json_object_object_length(headers), sizeof *b->headers);
    json_object_object_foreach(headers, hk, hv)
    {
        if (!tool_header_name_ok(hk) || !json_object_is_type(hv, json_type_string) ||
            !tool_header_value_ok(json_object_get_string(hv)) ||
            strcasecmp(hk, "Authorization") == 0 || strcasecmp(hk, "Host") == 0 ||
            strcasecmp(hk, "Content-Length") == 0) {
            bk_bad(p,
                   "headers.%.64s: a header name and a one-line string value (not "
                   "Authorization, Host or Content-Length: use credentials for secrets)",
                   hk);
            return -1;
        }
        struct buf line = {0};
        if (buf_printf(&line, "%s: %s", hk, json_object_get_string(hv)) < 0)
            abort();
        b->headers[b->n_headers++] = line.data;
    }
    return 0;
}

/* "credentials" and the default "auth" (into *def_auth, also on failure).
 * Returns 0, or -1. */
static int parse_creds(struct parse *p, struct backend *b, struct json_object *json, int **def_auth,
                       int *n_def_auth)
{
    struct json_object *creds = NULL;
    if (json_object_object_get_ex(json, "credentials", &creds)) {
        if (!json_object_is_type(creds, json_type_object)) {
            bk_bad(p, "credentials must be an object: slot name -> definition");
            return -1;
        }
        b->creds = xcalloc((size_t)json_object_object_length(creds), sizeof *b->creds);
        json_object_object_foreach(creds, slot, def)
        {
            if (parse_cred(p, slot, def, &b->creds[b->n_creds++]) < 0)
                return -1;
        }
    }
    struct json_object *auth = NULL;
    if (json_object_object_get_ex(json, "auth", &auth) &&
        bk_parse_auth(p, b, auth, "", def_auth, n_def_auth) < 0)
        return -1;
    for (int i = 0; b->kind == BACKEND_MCP && i < b->n_creds; i++) {
        if (b->creds[i].per_user || b->creds[i].from_idp) {
            bk_bad(p,
                   "credentials.%.64s: per_user and from_idp slots are for REST backends only in "
                   "this version",
                   b->creds[i].slot);
            return -1;
        }
    }
    /* an upstream MCP backend's sessions are kept per caller of its one
     * exchange slot (tools/upstream.h) */
    for (int i = 0, n = 0; b->kind == BACKEND_MCP && i < *n_def_auth; i++) {
        if (b->creds[(*def_auth)[i]].exchange && ++n > 1) {
            bk_bad(p, "auth: an mcp backend uses at most one exchange slot");
            return -1;
        }
    }
    return 0;
}

/* "tools" of a REST backend. Returns 0, or -1. */
static int parse_tools(struct parse *p, struct backend *b, struct json_object *json,
                       const struct op_defaults *d)
{
    struct json_object *tools = json_get(json, "tools", json_type_array);
    if (!tools) {
        bk_bad(p, "\"tools\" is required: a list of tools");
        return -1;
    }
    size_t nt = json_object_array_length(tools);
    b->ops = xcalloc(nt, sizeof *b->ops);
    b->defs = xcalloc(nt, sizeof *b->defs);
    for (size_t i = 0; i < nt; i++) {
        b->n_ops++;
        if (bk_parse_op(p, b, json_object_array_get_idx(tools, i), (int)i, d, &b->defs[i]) < 0)
            return -1;
        b->defs[i].call = backend_tool_call;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(b->ops[j].tool_name, b->ops[i].tool_name) == 0) {
                bk_bad(p, "tools[%zu] and tools[%zu] are both named %s", j, i, b->ops[i].tool_name);
                return -1;
            }
        }
    }
    return 0;
}

struct backend *tool_backend_parse(const char *path, struct json_object *json, int skip_secrets,
                                   struct mg_error *err)
{
    struct parse p = {.path = path, .err = err, .skip_secrets = skip_secrets};
    struct backend *b = parse_head(&p, json);
    if (!b)
        return NULL;
    int *def_auth = NULL, n_def_auth = 0;
    long timeout = TOOL_BACKEND_DEFAULT_TIMEOUT_MS, max = TOOL_BACKEND_DEFAULT_MAX_BYTES;
    if (bk_opt_bool(&p, json, "", "allow_private", &b->allow_private) < 0 ||
        bk_opt_long(&p, json, "", "timeout_ms", 100, TOOL_BACKEND_MAX_TIMEOUT_MS, &timeout) < 0 ||
        bk_opt_long(&p, json, "", "max_response_bytes", 1024, TOOL_BACKEND_MAX_BYTES_LIMIT, &max) <
            0 ||
        parse_headers(&p, b, json) < 0 || parse_creds(&p, b, json, &def_auth, &n_def_auth) < 0)
        goto fail;
    if (b->kind == BACKEND_MCP) {
        b->auth = def_auth;
        b->n_auth = n_def_auth;
        b->timeout_ms = timeout;
        b->max_bytes = (size_t)max;
        if (parse_mcp(&p, b, json) < 0) {
            tool_backend_free(b);
            return NULL;
        }
        return b;
    }
    struct op_defaults d = {
        .auth = def_auth, .n_auth = n_def_auth, .timeout_ms = timeout, .max_bytes = max};
    if (parse_tools(&p, b, json, &d) < 0)
        goto fail;
    free(def_auth);
    return b;
fail:
    free(def_auth);
    tool_backend_free(b);
    return NULL;
}

struct backend *tool_backend_load_file(const char *path, int skip_secrets, struct mg_error *err)
{
    struct buf text = {0};
    if (tool_file_read(path, &text, MAX_FILE_BYTES) < 0) {
        mg_error_msg(err, "backend file %s: could not read it: %s", path, strerror(errno));
        buf_free(&text);
        return NULL;
    }
    struct mg_error jerr = MG_ERROR_INIT;
    mg_error_msg(&jerr, "empty file");
    struct json_object *json = text.len ? parse_json_text(text.data, text.len, &jerr) : NULL;
    buf_free(&text);
    if (!json) {
        mg_error_msg(err, "backend file %s: not valid JSON: %s", path, jerr.msg);
        return NULL;
    }
    struct backend *b = tool_backend_parse(path, json, skip_secrets, err);
    json_object_put(json);
    return b;
}
