/*
 * tools/backend.c - REST backends: reading the backend files of
 * backends_dir, their credentials, and registering their tools.
 *
 * The format is described in tools/backend.h and docs/backends.md. Every
 * fault names the file and the place ("tools[3].args.id: ..."), and stops
 * the responder at start-up like a bad configuration file: a half-loaded
 * backend would show the model tools that cannot work.
 */
#include "tools/backend.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "tools/schema.h"
#include "tools/upstream.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/log.h"

#define MAX_BACKENDS      256
#define MAX_FILE_BYTES    (32 * 1024 * 1024)
#define FILE_JSON_DEPTH   1024
#define MAX_SECRET_BYTES  8192
#define MAX_TOOL_NAME_LEN 128
#define MAX_TAGS          32  /* tags of one tool */
#define MAX_TAG_LEN       100 /* bytes of one tag */

static struct backend *loaded[MAX_BACKENDS];
static int n_loaded;

/* ChatGPT's own tools: a connector tool with one of these names is
 * confused with them (ToolMesh PR #71), so ours are renamed. */
static const char *const reserved_names[] = {
    "web_search", "code_interpreter", "file_search", "computer_use", "image_generation",
    "browser",    "python",           "container",   "canmore",      "bio",
};

int tool_name_reserved(const char *name)
{
    for (size_t i = 0; i < sizeof reserved_names / sizeof reserved_names[0]; i++)
        if (strcasecmp(name, reserved_names[i]) == 0)
            return 1;
    return 0;
}

void tool_name_sanitize(const char *s, int snake, char *out, size_t max)
{
    size_t n = 0;
    char prev = '_';
    for (const char *p = s; *p && n < max; p++) {
        char c = *p;
        int word = isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
        if (!word)
            c = '_';
        if (snake && isupper((unsigned char)c)) {
            /* fooBar -> foo_bar, HTTPServer -> http_server */
            int lower_before =
                p > s && (islower((unsigned char)p[-1]) || isdigit((unsigned char)p[-1]));
            /* ...but IPs -> ips, IPv6 -> ipv6: a plural or a version stays */
            int acronym_end = p > s && isupper((unsigned char)p[-1]) &&
                              islower((unsigned char)p[1]) &&
                              !(p[1] == 's' && !islower((unsigned char)p[2])) &&
                              !(p[1] == 'v' && isdigit((unsigned char)p[2]));
            if ((lower_before || acronym_end) && prev != '_' && n < max)
                out[n++] = prev = '_';
            if (n >= max)
                break;
            c = (char)tolower((unsigned char)c);
        }
        if (c == '_' && prev == '_')
            continue;
        out[n++] = prev = c;
    }
    while (n > 0 && out[n - 1] == '_')
        n--;
    out[n] = '\0';
}

/* --- messages -------------------------------------------------------- */

struct parse {
    const char *path; /* the file */
    char *err;
    size_t errlen;
    int skip_secrets;
};

__attribute__((format(printf, 2, 3))) static void *bad(struct parse *p, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "backend file %s: %s", p->path, msg);
    return NULL;
}

/* --- freeing ----------------------------------------------------------- */

static void clear_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

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
        clear_secret(b->creds[i].value);
    }
    free(b->creds);
    for (int i = 0; i < b->n_headers; i++)
        free(b->headers[i]);
    free(b->headers);
    tool_upstream_free(b->up);
    free(b->auth);
    for (int i = 0; i < b->n_include; i++)
        free(b->include_tools[i]);
    free(b->include_tools);
    for (int i = 0; i < b->n_exclude; i++)
        free(b->exclude_tools[i]);
    free(b->exclude_tools);
    free(b->name);
    free(b->file);
    free(b->base_url);
    free(b);
}

/* --- reading files --------------------------------------------------- */

/* Reads path into out (limit bytes). Returns 0 or -1 with errno set. */
static int read_file(const char *path, struct buf *out, size_t limit)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    out->limit = limit;
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (buf_append(out, chunk, n) < 0) {
            errno = EFBIG;
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        errno = EIO;
        rc = -1;
    }
    explicit_bzero(chunk, sizeof chunk);
    fclose(f);
    return rc;
}

/* Parses one JSON text (deeper nesting allowed than for requests: imported
 * schemas are deep). Returns a new object, or NULL with *why. */
static struct json_object *parse_json_text(const char *text, size_t len, const char **why)
{
    struct json_tokener *tok = json_tokener_new_ex(FILE_JSON_DEPTH);
    if (!tok)
        abort();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (e != json_tokener_success) {
        *why = json_tokener_error_desc(e);
        json_object_put(obj);
        return NULL;
    }
    for (size_t i = used; i < len; i++) {
        if (!isspace((unsigned char)text[i])) {
            *why = "unexpected text after the JSON value";
            json_object_put(obj);
            return NULL;
        }
    }
    return obj;
}

/* Reads variable name from an env file ("NAME=value" lines, "#" comments,
 * an optional "export ", optional quotes). Returns a new string, or NULL
 * with *why. */
static char *env_file_value(const char *path, const char *name, const char **why)
{
    struct buf text = {0};
    char *value = NULL;
    if (read_file(path, &text, MAX_SECRET_BYTES * 16) < 0) {
        *why = strerror(errno);
        buf_free(&text);
        return NULL;
    }
    *why = "the variable is not set in it";
    char *save = text.data ? text.data : NULL;
    char *line = save;
    while (line && *line) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *s = line;
        line = next;
        while (isspace((unsigned char)*s))
            s++;
        if (*s == '#' || !*s)
            continue;
        if (strncmp(s, "export ", 7) == 0)
            s += 7;
        size_t klen = strcspn(s, "= \t");
        if (klen != strlen(name) || strncmp(s, name, klen) != 0)
            continue;
        s += klen;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s != '=')
            continue;
        s++;
        while (*s == ' ' || *s == '\t')
            s++;
        size_t vlen = strlen(s);
        while (vlen && (s[vlen - 1] == '\r' || s[vlen - 1] == ' ' || s[vlen - 1] == '\t'))
            vlen--;
        if (vlen >= 2 && (s[0] == '"' || s[0] == '\'') && s[vlen - 1] == s[0]) {
            s++;
            vlen -= 2;
        }
        free(value);
        value = xmalloc(vlen + 1);
        memcpy(value, s, vlen);
        value[vlen] = '\0';
        *why = NULL;
    }
    if (text.data)
        explicit_bzero(text.data, text.len);
    buf_free(&text);
    if (value && !*value) {
        free(value);
        *why = "the variable is empty";
        return NULL;
    }
    return value;
}

/* Reads a whole file holding one secret (a final newline is dropped).
 * Returns a new string or NULL with *why. */
static char *file_value(const char *path, const char **why)
{
    struct buf text = {0};
    if (read_file(path, &text, MAX_SECRET_BYTES) < 0) {
        *why = strerror(errno);
        if (text.data)
            explicit_bzero(text.data, text.len);
        buf_free(&text);
        return NULL;
    }
    size_t n = text.len;
    while (n && (text.data[n - 1] == '\n' || text.data[n - 1] == '\r'))
        n--;
    char *v = xmalloc(n + 1);
    if (n)
        memcpy(v, text.data, n);
    v[n] = '\0';
    if (text.data)
        explicit_bzero(text.data, text.len);
    buf_free(&text);
    if (!*v || strpbrk(v, "\r\n")) {
        free(v);
        *why = !n ? "the file is empty" : "the secret must be one line";
        return NULL;
    }
    return v;
}

/* --- pieces of the format ---------------------------------------------- */

/* Header names: RFC 9110 token characters. */
int tool_url_ok(const char *url, int query_ok)
{
    return url && (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) &&
           !strpbrk(url, " \t\r\n#") && (query_ok || !strchr(url, '?')) && strlen(url) <= 1024;
}

int tool_path_ok(const char *path)
{
    return path && path[0] == '/' && !strpbrk(path, " \t\r\n?#");
}

int tool_header_name_ok(const char *s)
{
    if (!*s || strlen(s) > 128)
        return 0;
    return strspn(
               s,
               "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") ==
           strlen(s);
}

static int header_value_ok(const char *s)
{
    return strlen(s) < 4096 && !strpbrk(s, "\r\n");
}

/* Optional integer member key of o in [lo, hi]; *out keeps its value when
 * absent. Returns 0, or -1 (message written). */
static int opt_long(struct parse *p, struct json_object *o, const char *where, const char *key,
                    long lo, long hi, long *out)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        return 0;
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < lo ||
        json_object_get_int64(v) > hi) {
        bad(p, "%s%s must be a whole number from %ld to %ld", where, key, lo, hi);
        return -1;
    }
    *out = (long)json_object_get_int64(v);
    return 0;
}

static int opt_string(struct parse *p, struct json_object *o, const char *where, const char *key,
                      const char **out)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        return 0;
    if (!json_object_is_type(v, json_type_string)) {
        bad(p, "%s%s must be a string", where, key);
        return -1;
    }
    *out = json_object_get_string(v);
    return 0;
}

/* Known keys: a typo must not silently drop a setting. */
static int only_keys(struct parse *p, struct json_object *o, const char *where,
                     const char *const *keys)
{
    json_object_object_foreach(o, k, v)
    {
        (void)v;
        int known = 0;
        for (const char *const *kk = keys; *kk; kk++)
            known |= strcmp(k, *kk) == 0;
        if (!known && strncmp(k, "x-", 2) != 0 && strcmp(k, "$comment") != 0) {
            bad(p, "%sunknown key \"%.64s\"", where, k);
            return -1;
        }
    }
    return 0;
}

static int parse_cred(struct parse *p, const char *slot, struct json_object *o,
                      struct backend_cred *c)
{
    static const char *const keys[] = {"type", "name",        "prefix",   "env_file", "variable",
                                       "file", "description", "per_user", "from_idp", NULL};
    char where[128];
    snprintf(where, sizeof where, "credentials.%.64s: ", slot);
    if (!json_object_is_type(o, json_type_object)) {
        bad(p, "%smust be an object", where);
        return -1;
    }
    if (only_keys(p, o, where, keys) < 0)
        return -1;
    c->slot = xstrdup(slot);
    const char *type = json_get_string(o, "type");
    const char *name = json_get_string(o, "name");
    const char *prefix = NULL, *env_file = NULL, *variable = NULL, *file = NULL;
    if (opt_string(p, o, where, "prefix", &prefix) < 0 ||
        opt_string(p, o, where, "env_file", &env_file) < 0 ||
        opt_string(p, o, where, "variable", &variable) < 0 ||
        opt_string(p, o, where, "file", &file) < 0)
        return -1;
    if (!type) {
        bad(p, "%s\"type\" is required: bearer, basic, header or query", where);
        return -1;
    }
    if (strcmp(type, "bearer") == 0)
        c->type = CRED_BEARER;
    else if (strcmp(type, "basic") == 0)
        c->type = CRED_BASIC;
    else if (strcmp(type, "header") == 0)
        c->type = CRED_HEADER;
    else if (strcmp(type, "query") == 0)
        c->type = CRED_QUERY;
    else {
        bad(p, "%stype must be bearer, basic, header or query", where);
        return -1;
    }
    if ((c->type == CRED_HEADER || c->type == CRED_QUERY) && (!name || !*name)) {
        bad(p, "%s\"name\" (the %s parameter to put the secret in) is required", where,
            c->type == CRED_HEADER ? "header" : "query");
        return -1;
    }
    if (c->type == CRED_HEADER && !tool_header_name_ok(name)) {
        bad(p, "%sname is not a valid header name", where);
        return -1;
    }
    if (prefix && !header_value_ok(prefix)) {
        bad(p, "%sprefix must be one line", where);
        return -1;
    }
    const char *description = NULL;
    if (opt_string(p, o, where, "description", &description) < 0)
        return -1;
    c->description = description && *description ? xstrdup(description) : NULL;
    struct json_object *pu = NULL;
    if (json_object_object_get_ex(o, "per_user", &pu)) {
        if (!json_object_is_type(pu, json_type_boolean)) {
            bad(p, "%sper_user must be true or false", where);
            return -1;
        }
        c->per_user = json_object_get_boolean(pu);
        if (c->per_user && strlen(slot) > TOOL_BACKEND_SLOT_MAX) {
            bad(p, "%sa per_user slot's name is at most %d characters", where,
                TOOL_BACKEND_SLOT_MAX);
            return -1;
        }
    }
    c->name = name ? xstrdup(name) : NULL;
    c->prefix = prefix ? xstrdup(prefix) : NULL;
    if ((env_file != NULL) != (variable != NULL)) {
        bad(p, "%senv_file and variable go together", where);
        return -1;
    }
    if (env_file && file) {
        bad(p, "%sgive either env_file and variable, or file", where);
        return -1;
    }
    const char *from_idp = NULL;
    if (opt_string(p, o, where, "from_idp", &from_idp) < 0)
        return -1;
    if (from_idp) {
        size_t n = strlen(from_idp);
        if (n < 1 || n > 32 || strspn(from_idp, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n) {
            bad(p, "%sfrom_idp must name an identity provider (an idp line of mcpgate.conf)",
                where);
            return -1;
        }
        if (c->per_user || env_file || file) {
            bad(p,
                "%sa from_idp slot takes the signed-in user's provider token only: no "
                "per_user, env_file or file",
                where);
            return -1;
        }
        c->from_idp = xstrdup(from_idp);
    }
    if (c->per_user && (env_file || file)) {
        bad(p, "%sa per_user slot takes each user's own value only: no env_file or file", where);
        return -1;
    }
    if (p->skip_secrets || (!env_file && !file))
        return 0;
    const char *why = NULL;
    c->value = env_file ? env_file_value(env_file, variable, &why) : file_value(file, &why);
    if (!c->value) {
        bad(p, "%scould not read the secret %s%s%s: %s", where, env_file ? variable : "from ",
            env_file ? " from " : "", env_file ? env_file : file, why);
        return -1;
    }
    if (!header_value_ok(c->value)) {
        bad(p, "%sthe secret must be one line", where);
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

/* Parses an "auth" list into indexes. Returns 0, or -1. */
static int parse_auth(struct parse *p, const struct backend *b, struct json_object *list,
                      const char *where, int **out, int *n)
{
    if (!json_object_is_type(list, json_type_array)) {
        bad(p, "%sauth must be a list of credential slot names", where);
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
            bad(p, "%sauth[%zu] is not a slot declared in \"credentials\"", where, i);
            return -1;
        }
        (*out)[(*n)++] = idx;
    }
    return 0;
}

/* Every $ref of the schema must resolve within it. */
static int refs_resolve(struct json_object *root, struct json_object *s, const char **bad_ref,
                        int depth)
{
    if (depth > FILE_JSON_DEPTH)
        return -1;
    if (json_object_is_type(s, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(s); i++)
            if (refs_resolve(root, json_object_array_get_idx(s, i), bad_ref, depth + 1) < 0)
                return -1;
        return 0;
    }
    if (!json_object_is_type(s, json_type_object))
        return 0;
    json_object_object_foreach(s, k, v)
    {
        if (strcmp(k, "$ref") == 0 && json_object_is_type(v, json_type_string) &&
            !tool_schema_resolve(root, json_object_get_string(v))) {
            *bad_ref = json_object_get_string(v);
            return -1;
        }
        if (refs_resolve(root, v, bad_ref, depth + 1) < 0)
            return -1;
    }
    return 0;
}

static int arg_in(const char *s, enum backend_arg_in *out)
{
    static const struct {
        const char *name;
        enum backend_arg_in in;
    } ins[] = {{"path", ARG_PATH},
               {"query", ARG_QUERY},
               {"header", ARG_HEADER},
               {"body", ARG_BODY},
               {"body_field", ARG_BODY_FIELD}};
    for (size_t i = 0; i < sizeof ins / sizeof ins[0]; i++) {
        if (strcmp(s, ins[i].name) == 0) {
            *out = ins[i].in;
            return 0;
        }
    }
    return -1;
}

/* 1 when the path template holds "{name}". */
static int path_has(const char *path, const char *name)
{
    size_t n = strlen(name);
    for (const char *q = strchr(path, '{'); q; q = strchr(q + 1, '{'))
        if (strncmp(q + 1, name, n) == 0 && q[1 + n] == '}')
            return 1;
    return 0;
}

/* Fills op->args: one entry per property of the schema, from "args" or by
 * default (a "{name}" in the path, the query for GET/HEAD/DELETE, else a
 * body field). */
static int parse_args(struct parse *p, struct backend_op *op, struct json_object *args,
                      const char *where)
{
    static const char *const keys[] = {"in", "name", "description", NULL};
    struct json_object *props = json_get(op->schema, "properties", json_type_object);
    if (args && !json_object_is_type(args, json_type_object)) {
        bad(p, "%sargs must be an object", where);
        return -1;
    }
    if (args) {
        json_object_object_foreach(args, k, v)
        {
            (void)v;
            if (!props || !json_object_object_get_ex(props, k, NULL)) {
                bad(p, "%sargs.%.64s is not a property of input_schema", where, k);
                return -1;
            }
        }
    }
    int n = props ? json_object_object_length(props) : 0;
    op->args = xcalloc((size_t)n, sizeof *op->args);
    int bodies = 0, fields = 0;
    int reads = strcmp(op->method, "GET") == 0 || strcmp(op->method, "HEAD") == 0 ||
                strcmp(op->method, "DELETE") == 0;
    if (props) {
        json_object_object_foreach(props, name, schema)
        {
            (void)schema;
            struct backend_arg *a = &op->args[op->n_args++];
            a->arg = xstrdup(name);
            struct json_object *m = NULL;
            const char *in = NULL, *wire = NULL;
            char w[200];
            snprintf(w, sizeof w, "%sargs.%.64s: ", where, name);
            if (args && json_object_object_get_ex(args, name, &m)) {
                if (!json_object_is_type(m, json_type_object) || only_keys(p, m, w, keys) < 0 ||
                    opt_string(p, m, w, "in", &in) < 0 || opt_string(p, m, w, "name", &wire) < 0) {
                    if (!json_object_is_type(m, json_type_object))
                        bad(p, "%smust be an object", w);
                    return -1;
                }
            }
            if (!in)
                in = path_has(op->path, wire ? wire : name) ? "path"
                     : reads                                ? "query"
                                                            : "body_field";
            if (arg_in(in, &a->in) < 0) {
                bad(p, "%s\"in\" must be path, query, header, body or body_field", w);
                return -1;
            }
            a->wire = xstrdup(wire ? wire : name);
            if (a->in == ARG_HEADER && !tool_header_name_ok(a->wire)) {
                bad(p, "%s\"%.64s\" is not a valid header name", w, a->wire);
                return -1;
            }
            if (a->in == ARG_PATH && !path_has(op->path, a->wire)) {
                bad(p, "%sthe path %.200s has no {%.64s}", w, op->path, a->wire);
                return -1;
            }
            bodies += a->in == ARG_BODY;
            fields += a->in == ARG_BODY_FIELD;
        }
    }
    if (bodies > 1 || (bodies && fields)) {
        bad(p, "%sonly one argument can be the whole body, and then no body_field", where);
        return -1;
    }
    /* every {x} of the path must be filled */
    for (const char *q = strchr(op->path, '{'); q; q = strchr(q + 1, '{')) {
        size_t len = strcspn(q + 1, "}");
        int found = 0;
        for (int i = 0; i < op->n_args; i++)
            found |= op->args[i].in == ARG_PATH && strlen(op->args[i].wire) == len &&
                     strncmp(op->args[i].wire, q + 1, len) == 0;
        if (!found || q[1 + len] != '}') {
            bad(p, "%sthe path's {%.*s} is not an argument with \"in\": \"path\"", where,
                (int)(len > 64 ? 64 : len), q + 1);
            return -1;
        }
    }
    return 0;
}

static const char *const methods[] = {"GET",   "HEAD",   "POST",    "PUT",
                                      "PATCH", "DELETE", "OPTIONS", NULL};

static int parse_op(struct parse *p, struct backend *b, struct json_object *t, int index,
                    const int *def_auth, int n_def_auth, long def_timeout, long def_max,
                    struct tool_def *def)
{
    static const char *const keys[] = {"name",         "title",         "description",
                                       "access",       "method",        "path",
                                       "input_schema", "args",          "body_type",
                                       "auth",         "timeout_ms",    "max_response_bytes",
                                       "result",       "base_url",      "tags",
                                       "deprecated",   "body_required", NULL};
    struct backend_op *op = &b->ops[index];
    char where[64];
    snprintf(where, sizeof where, "tools[%d]: ", index);
    if (!json_object_is_type(t, json_type_object)) {
        bad(p, "%smust be an object", where);
        return -1;
    }
    if (only_keys(p, t, where, keys) < 0)
        return -1;
    op->be = b;
    const char *name = json_get_string(t, "name");
    if (!name || !*name) {
        bad(p, "%s\"name\" is required", where);
        return -1;
    }
    char full[MAX_TOOL_NAME_LEN + 16];
    int fl = snprintf(full, sizeof full, "%s_%s", b->name, name);
    char clean[MAX_TOOL_NAME_LEN + 16];
    tool_name_sanitize(full, 0, clean, sizeof clean - 1);
    if (fl < 0 || fl > MAX_TOOL_NAME_LEN || strcmp(clean, full) != 0) {
        bad(p,
            "%sname \"%.64s\": the tool name %.140s must be at most 128 characters of "
            "A-Z a-z 0-9 _ . -",
            where, name, full);
        return -1;
    }
    if (tool_name_reserved(full)) {
        /* ChatGPT hygiene: never shadow (or be shadowed by) a built-in */
        size_t len = strlen(full);
        if (len + 5 > MAX_TOOL_NAME_LEN) {
            bad(p, "%sname %s clashes with a ChatGPT built-in tool", where, full);
            return -1;
        }
        memcpy(full + len, "_tool", 6);
        LOG_INFO("msg=\"backend tool renamed: its name is a ChatGPT built-in\" tool=%s", full);
    }
    op->tool_name = xstrdup(full);
    const char *method = json_get_string(t, "method");
    const char *path = json_get_string(t, "path");
    const char *title = NULL, *description = NULL, *access = NULL, *body_type = NULL;
    if (opt_string(p, t, where, "title", &title) < 0 ||
        opt_string(p, t, where, "description", &description) < 0 ||
        opt_string(p, t, where, "access", &access) < 0 ||
        opt_string(p, t, where, "body_type", &body_type) < 0)
        return -1;
    if (!method) {
        bad(p, "%s\"method\" is required", where);
        return -1;
    }
    char up[16];
    tool_name_sanitize(method, 0, up, sizeof up - 1);
    for (char *c = up; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    int known = 0;
    for (const char *const *m = methods; *m; m++)
        known |= strcmp(up, *m) == 0;
    if (!known) {
        bad(p, "%smethod must be GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS", where);
        return -1;
    }
    op->method = xstrdup(up);
    if (!tool_path_ok(path)) {
        bad(p, "%s\"path\" is required: it starts with / and has no spaces, query or fragment",
            where);
        return -1;
    }
    op->path = xstrdup(path);
    const char *own_base = NULL;
    if (opt_string(p, t, where, "base_url", &own_base) < 0)
        return -1;
    if (own_base) {
        if (!tool_url_ok(own_base, 0)) {
            bad(p, "%sbase_url must be an http:// or https:// URL without query or fragment",
                where);
            return -1;
        }
        op->base_url = xstrdup(own_base);
        size_t ol = strlen(op->base_url);
        while (ol > 0 && op->base_url[ol - 1] == '/')
            op->base_url[--ol] = '\0';
    }
    struct json_object *schema = NULL;
    if (!json_object_object_get_ex(t, "input_schema", &schema))
        schema = NULL;
    if (!schema) {
        op->schema = json_tokener_parse("{\"type\":\"object\",\"properties\":{},"
                                        "\"additionalProperties\":false}");
    } else if (!json_object_is_type(schema, json_type_object) || !json_get_string(schema, "type") ||
               strcmp(json_get_string(schema, "type"), "object") != 0) {
        bad(p, "%sinput_schema must be a JSON Schema object with \"type\": \"object\"", where);
        return -1;
    } else {
        op->schema = json_object_get(schema);
    }
    const char *bad_ref = NULL;
    if (refs_resolve(op->schema, op->schema, &bad_ref, 0) < 0) {
        bad(p,
            "%sinput_schema: $ref %.200s does not resolve within the schema (only local "
            "references \"#/...\" are supported)",
            where, bad_ref ? bad_ref : "(too deep)");
        return -1;
    }
    struct json_object *args = NULL;
    json_object_object_get_ex(t, "args", &args);
    if (parse_args(p, op, args, where) < 0)
        return -1;
    if (body_type && strcmp(body_type, "json") != 0 && strcmp(body_type, "form") != 0) {
        bad(p, "%sbody_type must be json or form", where);
        return -1;
    }
    op->form_body = body_type && strcmp(body_type, "form") == 0;
    struct json_object *breq = NULL;
    if (json_object_object_get_ex(t, "body_required", &breq)) {
        if (!json_object_is_type(breq, json_type_boolean)) {
            bad(p, "%sbody_required must be true or false", where);
            return -1;
        }
        op->body_required = json_object_get_boolean(breq);
    }
    struct json_object *auth = NULL;
    if (json_object_object_get_ex(t, "auth", &auth)) {
        if (parse_auth(p, b, auth, where, &op->auth, &op->n_auth) < 0)
            return -1;
    } else {
        op->auth = xcalloc((size_t)n_def_auth, sizeof *op->auth);
        if (n_def_auth) /* def_auth is NULL when the backend has no default auth */
            memcpy(op->auth, def_auth, (size_t)n_def_auth * sizeof *op->auth);
        op->n_auth = n_def_auth;
    }
    long timeout = def_timeout, max = def_max;
    if (opt_long(p, t, where, "timeout_ms", 100, TOOL_BACKEND_MAX_TIMEOUT_MS, &timeout) < 0 ||
        opt_long(p, t, where, "max_response_bytes", 1024, TOOL_BACKEND_MAX_BYTES_LIMIT, &max) < 0)
        return -1;
    op->timeout_ms = timeout;
    op->max_bytes = (size_t)max;
    struct json_object *result = NULL;
    if (json_object_object_get_ex(t, "result", &result)) {
        static const char *const rkeys[] = {"pointer", NULL};
        const char *ptr = NULL;
        if (!json_object_is_type(result, json_type_object) ||
            only_keys(p, result, where, rkeys) < 0 ||
            opt_string(p, result, where, "pointer", &ptr) < 0) {
            if (!json_object_is_type(result, json_type_object))
                bad(p, "%sresult must be an object", where);
            return -1;
        }
        if (ptr && *ptr && ptr[0] != '/') {
            bad(p, "%sresult.pointer must be a JSON pointer (\"/data/items\")", where);
            return -1;
        }
        op->result_pointer = ptr && *ptr ? xstrdup(ptr) : NULL;
    }
    enum tool_access acc = strcmp(op->method, "GET") == 0 || strcmp(op->method, "HEAD") == 0 ||
                                   strcmp(op->method, "OPTIONS") == 0
                               ? TOOL_READ
                           : strcmp(op->method, "DELETE") == 0 ? TOOL_DESTRUCTIVE
                                                               : TOOL_WRITE;
    if (access) {
        if (strcmp(access, "read") == 0)
            acc = TOOL_READ;
        else if (strcmp(access, "write") == 0)
            acc = TOOL_WRITE;
        else if (strcmp(access, "destructive") == 0)
            acc = TOOL_DESTRUCTIVE;
        else {
            bad(p, "%saccess must be read, write or destructive", where);
            return -1;
        }
    }
    /* what search_tools finds it by besides its name, title, description
     * and arguments: its tags and its path */
    struct buf kw = {0};
    struct json_object *tags = NULL;
    if (json_object_object_get_ex(t, "tags", &tags)) {
        size_t nt = json_object_is_type(tags, json_type_array) ? json_object_array_length(tags) : 0;
        int ok = json_object_is_type(tags, json_type_array) && nt <= MAX_TAGS;
        for (size_t i = 0; ok && i < nt; i++) {
            struct json_object *tag = json_object_array_get_idx(tags, i);
            ok = json_object_is_type(tag, json_type_string) &&
                 json_object_get_string_len(tag) <= MAX_TAG_LEN;
            if (ok && (buf_puts(&kw, json_object_get_string(tag)) < 0 || buf_puts(&kw, " ") < 0))
                abort();
        }
        if (!ok) {
            bad(p, "%stags must be an array of at most %d strings of at most %d bytes", where,
                MAX_TAGS, MAX_TAG_LEN);
            buf_free(&kw);
            return -1;
        }
    }
    if (buf_puts(&kw, op->path) < 0)
        abort();
    struct json_object *dep = NULL;
    if (json_object_object_get_ex(t, "deprecated", &dep) &&
        !json_object_is_type(dep, json_type_boolean)) {
        bad(p, "%sdeprecated must be true or false", where);
        buf_free(&kw);
        return -1;
    }
    def->deprecated = dep && json_object_get_boolean(dep);
    def->keywords = xstrdup(buf_str(&kw));
    buf_free(&kw);
    char dflt[600];
    snprintf(dflt, sizeof dflt, "%s %s%s (%s)", op->method,
             op->base_url ? op->base_url : b->base_url, op->path, b->name);
    def->name = op->tool_name;
    def->title = title ? xstrdup(title) : NULL;
    def->description = xstrdup(description && *description ? description : dflt);
    def->input_schema = xstrdup(json_object_to_json_string_ext(
        op->schema, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    /* a call parses the text again: a thousand parsed schemas held for the
     * process's life cost megabytes, a parse costs microseconds */
    op->schema_text = def->input_schema;
    json_object_put(op->schema);
    op->schema = NULL;
    def->access = acc;
    def->open_world = 1;
    def->data = op;
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
        bad(p, "%s must be a list of tool name patterns (\"get_*\")", key);
        return -1;
    }
    size_t len = json_object_array_length(list);
    *out = xcalloc(len, sizeof **out);
    for (size_t i = 0; i < len; i++) {
        struct json_object *s = json_object_array_get_idx(list, i);
        if (!json_object_is_type(s, json_type_string) || !json_object_get_string_len(s) ||
            json_object_get_string_len(s) > 256) {
            bad(p, "%s[%zu] must be a tool name pattern (1 to 256 characters)", key, i);
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
                bad(p, "headers: %.*s is set by mcpgate for mcp backends", (int)strlen(*o) - 1, *o);
                return -1;
            }
        }
    }
    long ttl = TOOL_BACKEND_DEFAULT_CACHE_TTL_S;
    if (opt_long(p, json, "", "cache_ttl_s", TOOL_BACKEND_MIN_CACHE_TTL_S,
                 TOOL_BACKEND_MAX_CACHE_TTL_S, &ttl) < 0)
        return -1;
    b->cache_ttl_s = (int)ttl;
    if (parse_patterns(p, json, "include_tools", &b->include_tools, &b->n_include) < 0 ||
        parse_patterns(p, json, "exclude_tools", &b->exclude_tools, &b->n_exclude) < 0)
        return -1;
    return 0;
}

static int valid_backend_name(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= TOOL_BACKEND_NAME_MAX && isalnum((unsigned char)s[0]) &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

struct backend *tool_backend_parse(const char *path, struct json_object *json, int skip_secrets,
                                   char *err, size_t errlen)
{
    static const char *const keys[] = {
        "mcpgate_backend", "name",          "title",      "description",
        "base_url",        "allow_private", "timeout_ms", "max_response_bytes",
        "headers",         "credentials",   "auth",       "tools",
        "openapi",         "kind",          "url",        "cache_ttl_s",
        "include_tools",   "exclude_tools", NULL};
    struct parse p = {.path = path, .err = err, .errlen = errlen, .skip_secrets = skip_secrets};
    if (!json_object_is_type(json, json_type_object))
        return bad(&p, "not a JSON object");
    if (only_keys(&p, json, "", keys) < 0)
        return NULL;
    struct json_object *ver = json_get(json, "mcpgate_backend", json_type_int);
    if (!ver || json_object_get_int64(ver) != 1)
        return bad(&p, "\"mcpgate_backend\": 1 is required (the format version)");
    const char *name = json_get_string(json, "name");
    if (!name || !valid_backend_name(name))
        return bad(&p,
                   "\"name\" is required: 1 to %d characters of a-z 0-9 _ -, starting with "
                   "a letter or digit",
                   TOOL_BACKEND_NAME_MAX);
    const char *kind = NULL;
    if (opt_string(&p, json, "", "kind", &kind) < 0)
        return NULL;
    if (kind && strcmp(kind, "rest") != 0 && strcmp(kind, "mcp") != 0)
        return bad(&p, "kind must be rest (the default) or mcp");
    int mcp = kind && strcmp(kind, "mcp") == 0;
    static const char *const rest_only[] = {"base_url", "tools", "openapi", NULL};
    static const char *const mcp_only[] = {"url", "cache_ttl_s", "include_tools", "exclude_tools",
                                           NULL};
    for (const char *const *k = mcp ? rest_only : mcp_only; *k; k++)
        if (json_object_object_get_ex(json, *k, NULL))
            return bad(&p, "\"%s\" is not a key of %s backends", *k,
                       mcp ? "mcp" : "REST (kind rest)");
    const char *base = json_get_string(json, mcp ? "url" : "base_url");
    if (!base || !(mcp ? tool_url_ok(base, 1) : tool_url_ok(base, 0)))
        return bad(&p,
                   mcp ? "\"url\" is required: the http:// or https:// URL of the upstream's MCP "
                         "endpoint, without fragment"
                       : "\"base_url\" is required: an http:// or https:// URL without query or "
                         "fragment");
    struct backend *b = xcalloc(1, sizeof *b);
    b->kind = mcp ? BACKEND_MCP : BACKEND_REST;
    b->name = xstrdup(name);
    b->file = xstrdup(path);
    b->base_url = xstrdup(base);
    size_t bl = strlen(b->base_url);
    while (!mcp && bl > 0 && b->base_url[bl - 1] == '/')
        b->base_url[--bl] = '\0';
    struct json_object *v = NULL;
    if (json_object_object_get_ex(json, "allow_private", &v)) {
        if (!json_object_is_type(v, json_type_boolean)) {
            bad(&p, "allow_private must be true or false");
            goto fail;
        }
        b->allow_private = json_object_get_boolean(v);
    }
    long timeout = TOOL_BACKEND_DEFAULT_TIMEOUT_MS, max = TOOL_BACKEND_DEFAULT_MAX_BYTES;
    if (opt_long(&p, json, "", "timeout_ms", 100, TOOL_BACKEND_MAX_TIMEOUT_MS, &timeout) < 0 ||
        opt_long(&p, json, "", "max_response_bytes", 1024, TOOL_BACKEND_MAX_BYTES_LIMIT, &max) < 0)
        goto fail;
    struct json_object *headers = NULL;
    if (json_object_object_get_ex(json, "headers", &headers)) {
        if (!json_object_is_type(headers, json_type_object)) {
            bad(&p, "headers must be an object of strings");
            goto fail;
        }
        b->headers = xcalloc((size_t)json_object_object_length(headers), sizeof *b->headers);
        json_object_object_foreach(headers, hk, hv)
        {
            if (!tool_header_name_ok(hk) || !json_object_is_type(hv, json_type_string) ||
                !header_value_ok(json_object_get_string(hv)) ||
                strcasecmp(hk, "Authorization") == 0 || strcasecmp(hk, "Host") == 0 ||
                strcasecmp(hk, "Content-Length") == 0) {
                bad(&p,
                    "headers.%.64s: a header name and a one-line string value (not "
                    "Authorization, Host or Content-Length: use credentials for secrets)",
                    hk);
                goto fail;
            }
            struct buf line = {0};
            if (buf_printf(&line, "%s: %s", hk, json_object_get_string(hv)) < 0)
                abort();
            b->headers[b->n_headers++] = line.data;
        }
    }
    struct json_object *creds = NULL;
    if (json_object_object_get_ex(json, "credentials", &creds)) {
        if (!json_object_is_type(creds, json_type_object)) {
            bad(&p, "credentials must be an object: slot name -> definition");
            goto fail;
        }
        b->creds = xcalloc((size_t)json_object_object_length(creds), sizeof *b->creds);
        json_object_object_foreach(creds, slot, def)
        {
            if (parse_cred(&p, slot, def, &b->creds[b->n_creds++]) < 0)
                goto fail;
        }
    }
    int *def_auth = NULL, n_def_auth = 0;
    struct json_object *auth = NULL;
    if (json_object_object_get_ex(json, "auth", &auth) &&
        parse_auth(&p, b, auth, "", &def_auth, &n_def_auth) < 0) {
        free(def_auth);
        goto fail;
    }
    for (int i = 0; mcp && i < b->n_creds; i++) {
        if (b->creds[i].per_user || b->creds[i].from_idp) {
            free(def_auth);
            bad(&p,
                "credentials.%.64s: per_user and from_idp slots are for REST backends only in "
                "this version",
                b->creds[i].slot);
            goto fail;
        }
    }
    if (mcp) {
        b->auth = def_auth;
        b->n_auth = n_def_auth;
        b->timeout_ms = timeout;
        b->max_bytes = (size_t)max;
        if (parse_mcp(&p, b, json) < 0)
            goto fail;
        return b;
    }
    struct json_object *tools = json_get(json, "tools", json_type_array);
    if (!tools) {
        free(def_auth);
        bad(&p, "\"tools\" is required: a list of tools");
        goto fail;
    }
    size_t nt = json_object_array_length(tools);
    b->ops = xcalloc(nt, sizeof *b->ops);
    b->defs = xcalloc(nt, sizeof *b->defs);
    for (size_t i = 0; i < nt; i++) {
        b->n_ops++;
        if (parse_op(&p, b, json_object_array_get_idx(tools, i), (int)i, def_auth, n_def_auth,
                     timeout, max, &b->defs[i]) < 0) {
            free(def_auth);
            goto fail;
        }
        b->defs[i].call = backend_tool_call;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(b->ops[j].tool_name, b->ops[i].tool_name) == 0) {
                free(def_auth);
                bad(&p, "tools[%zu] and tools[%zu] are both named %s", j, i, b->ops[i].tool_name);
                goto fail;
            }
        }
    }
    free(def_auth);
    return b;
fail:
    tool_backend_free(b);
    return NULL;
}

struct backend *tool_backend_load_file(const char *path, int skip_secrets, char *err, size_t errlen)
{
    struct buf text = {0};
    if (read_file(path, &text, MAX_FILE_BYTES) < 0) {
        snprintf(err, errlen, "backend file %s: could not read it: %s", path, strerror(errno));
        buf_free(&text);
        return NULL;
    }
    const char *why = "empty file";
    struct json_object *json = text.len ? parse_json_text(text.data, text.len, &why) : NULL;
    buf_free(&text);
    if (!json) {
        snprintf(err, errlen, "backend file %s: not valid JSON: %s", path, why);
        return NULL;
    }
    struct backend *b = tool_backend_parse(path, json, skip_secrets, err, errlen);
    json_object_put(json);
    return b;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int tool_backend_count(void)
{
    return n_loaded;
}

const struct backend *tool_backend_at(int i)
{
    return i >= 0 && i < n_loaded ? loaded[i] : NULL;
}

const struct backend *tool_backend_find(const char *name)
{
    for (int i = 0; i < n_loaded; i++)
        if (strcmp(loaded[i]->name, name) == 0)
            return loaded[i];
    return NULL;
}

int tool_backends_load(const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "backends_dir %s: could not open it: %s", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = xrealloc(names, cap * sizeof *names);
        }
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    int rc = 0;
    if (n && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "could not initialise libcurl");
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct backend *b = tool_backend_load_file(path, 0, err, errlen);
        if (!b) {
            rc = -1;
            break;
        }
        const char *fault =
            tool_backend_find(b->name) ? "another file already defines a backend of this name"
            : n_loaded == MAX_BACKENDS ? "too many backends"
            : b->kind == BACKEND_MCP && tool_upstream_add(b) < 0 ? "too many mcp backends"
                                                                 : NULL;
        if (fault) {
            snprintf(err, errlen, "backend file %s: %s", path, fault);
            tool_backend_free(b);
            rc = -1;
            break;
        }
        for (int t = 0; t < b->n_ops; t++) {
            if (tool_find(b->defs[t].name)) {
                snprintf(err, errlen, "backend file %s: tool %s: another tool has this name", path,
                         b->defs[t].name);
                rc = -1;
                break;
            }
        }
        if (rc < 0) {
            tool_backend_free(b);
            break;
        }
        if (b->kind == BACKEND_REST)
            tool_registry_add(b->defs, b->n_ops);
        loaded[n_loaded++] = b;
        if (b->kind == BACKEND_MCP)
            LOG_INFO("msg=\"backend loaded\" backend=%s kind=mcp cache_ttl_s=%d", b->name,
                     b->cache_ttl_s);
        else
            LOG_INFO("msg=\"backend loaded\" backend=%s tools=%d", b->name, b->n_ops);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc < 0 ? -1 : n_loaded;
}
