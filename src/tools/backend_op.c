/*
 * tools/backend_op.c - one tool of a REST backend file ("tools"[i]): its
 * name, request, input schema and where each argument goes, credentials,
 * limits, result and what search finds it by. tools/backend.h has the
 * format.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/backend_parse.h"
#include "tools/names.h"
#include "tools/schema.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/log.h"

#define MAX_TOOL_NAME_LEN 128
#define MAX_TAGS          32  /* tags of one tool */
#define MAX_TAG_LEN       100 /* bytes of one tag */

/* Every $ref of the schema must resolve within it. */
static int refs_resolve(struct json_object *root, struct json_object *s, const char **bad_ref,
                        int depth)
{
    if (depth > BACKEND_FILE_JSON_DEPTH)
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

/* Fills op->args: one entry per property of the schema, from "args" or by
 * default (a "{name}" in the path, the query for GET/HEAD/DELETE, else a
 * body field). */
static int parse_args(struct parse *p, struct backend_op *op, struct json_object *args,
                      const char *where)
{
    static const char *const keys[] = {"in", "name", "description", NULL};
    struct json_object *props = json_get(op->schema, "properties", json_type_object);
    if (args && !json_object_is_type(args, json_type_object)) {
        bk_bad(p, "%sargs must be an object", where);
        return -1;
    }
    if (args) {
        json_object_object_foreach(args, k, v)
        {
            (void)v;
            if (!props || !json_object_object_get_ex(props, k, NULL)) {
                bk_bad(p, "%sargs.%.64s is not a property of input_schema", where, k);
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
                if (!json_object_is_type(m, json_type_object) || bk_only_keys(p, m, w, keys) < 0 ||
                    bk_opt_string(p, m, w, "in", &in) < 0 ||
                    bk_opt_string(p, m, w, "name", &wire) < 0) {
                    if (!json_object_is_type(m, json_type_object))
                        bk_bad(p, "%smust be an object", w);
                    return -1;
                }
            }
            if (!in)
                in = tool_path_has(op->path, wire ? wire : name) ? "path"
                     : reads                                     ? "query"
                                                                 : "body_field";
            if (arg_in(in, &a->in) < 0) {
                bk_bad(p, "%s\"in\" must be path, query, header, body or body_field", w);
                return -1;
            }
            a->wire = xstrdup(wire ? wire : name);
            if (a->in == ARG_HEADER && !tool_header_name_ok(a->wire)) {
                bk_bad(p, "%s\"%.64s\" is not a valid header name", w, a->wire);
                return -1;
            }
            if (a->in == ARG_PATH && !tool_path_has(op->path, a->wire)) {
                bk_bad(p, "%sthe path %.200s has no {%.64s}", w, op->path, a->wire);
                return -1;
            }
            bodies += a->in == ARG_BODY;
            fields += a->in == ARG_BODY_FIELD;
        }
    }
    if (bodies > 1 || (bodies && fields)) {
        bk_bad(p, "%sonly one argument can be the whole body, and then no body_field", where);
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
            bk_bad(p, "%sthe path's {%.*s} is not an argument with \"in\": \"path\"", where,
                   (int)(len > 64 ? 64 : len), q + 1);
            return -1;
        }
    }
    return 0;
}

static const char *const methods[] = {"GET",   "HEAD",   "POST",    "PUT",
                                      "PATCH", "DELETE", "OPTIONS", NULL};

/* The tool's name: "<backend>_<name>", renamed when it is a ChatGPT
 * built-in's. */
static int op_name(struct parse *p, const struct backend *b, struct json_object *t,
                   const char *where, struct backend_op *op)
{
    const char *name = json_get_string(t, "name");
    if (!name || !*name) {
        bk_bad(p, "%s\"name\" is required", where);
        return -1;
    }
    char full[MAX_TOOL_NAME_LEN + 16];
    int fl = snprintf(full, sizeof full, "%s_%s", b->name, name);
    char clean[MAX_TOOL_NAME_LEN + 16];
    tool_name_sanitize(full, 0, clean, sizeof clean - 1);
    if (fl < 0 || fl > MAX_TOOL_NAME_LEN || strcmp(clean, full) != 0) {
        bk_bad(p,
               "%sname \"%.64s\": the tool name %.140s must be at most 128 characters of "
               "A-Z a-z 0-9 _ . -",
               where, name, full);
        return -1;
    }
    if (tool_name_reserved(full)) {
        /* ChatGPT hygiene: never shadow (or be shadowed by) a built-in */
        size_t len = strlen(full);
        if (len + 5 > MAX_TOOL_NAME_LEN) {
            bk_bad(p, "%sname %s clashes with a ChatGPT built-in tool", where, full);
            return -1;
        }
        memcpy(full + len, "_tool", 6);
        LOG_INFO("msg=\"backend tool renamed: its name is a ChatGPT built-in\" tool=%s", full);
    }
    op->tool_name = xstrdup(full);
    return 0;
}

/* method, path and the tool's own base_url. */
static int op_request(struct parse *p, struct json_object *t, const char *where,
                      struct backend_op *op)
{
    const char *method = json_get_string(t, "method");
    const char *path = json_get_string(t, "path");
    if (!method) {
        bk_bad(p, "%s\"method\" is required", where);
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
        bk_bad(p, "%smethod must be GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS", where);
        return -1;
    }
    op->method = xstrdup(up);
    if (!tool_path_ok(path)) {
        bk_bad(p, "%s\"path\" is required: it starts with / and has no spaces, query or fragment",
               where);
        return -1;
    }
    op->path = xstrdup(path);
    const char *own_base = NULL;
    if (bk_opt_string(p, t, where, "base_url", &own_base) < 0)
        return -1;
    if (own_base) {
        if (!tool_url_ok(own_base, 0)) {
            bk_bad(p, "%sbase_url must be an http:// or https:// URL without query or fragment",
                   where);
            return -1;
        }
        op->base_url = xstrdup(own_base);
        size_t ol = strlen(op->base_url);
        while (ol > 0 && op->base_url[ol - 1] == '/')
            op->base_url[--ol] = '\0';
    }
    return 0;
}

/* input_schema (every $ref local) and where each argument goes. */
static int op_schema(struct parse *p, struct json_object *t, const char *where,
                     struct backend_op *op)
{
    struct json_object *schema = NULL;
    if (!json_object_object_get_ex(t, "input_schema", &schema))
        schema = NULL;
    if (!schema) {
        op->schema = json_tokener_parse("{\"type\":\"object\",\"properties\":{},"
                                        "\"additionalProperties\":false}");
    } else if (!json_object_is_type(schema, json_type_object) || !json_get_string(schema, "type") ||
               strcmp(json_get_string(schema, "type"), "object") != 0) {
        bk_bad(p, "%sinput_schema must be a JSON Schema object with \"type\": \"object\"", where);
        return -1;
    } else {
        op->schema = json_object_get(schema);
    }
    const char *bad_ref = NULL;
    if (refs_resolve(op->schema, op->schema, &bad_ref, 0) < 0) {
        bk_bad(p,
               "%sinput_schema: $ref %.200s does not resolve within the schema (only local "
               "references \"#/...\" are supported)",
               where, bad_ref ? bad_ref : "(too deep)");
        return -1;
    }
    struct json_object *args = NULL;
    json_object_object_get_ex(t, "args", &args);
    return parse_args(p, op, args, where);
}

/* body_type, body_required, auth, timeout_ms, max_response_bytes. */
static int op_sending(struct parse *p, const struct backend *b, struct json_object *t,
                      const char *where, const char *body_type, const struct op_defaults *d,
                      struct backend_op *op)
{
    if (body_type && strcmp(body_type, "json") != 0 && strcmp(body_type, "form") != 0) {
        bk_bad(p, "%sbody_type must be json or form", where);
        return -1;
    }
    op->form_body = body_type && strcmp(body_type, "form") == 0;
    if (bk_opt_bool(p, t, where, "body_required", &op->body_required) < 0)
        return -1;
    struct json_object *auth = NULL;
    if (json_object_object_get_ex(t, "auth", &auth)) {
        if (bk_parse_auth(p, b, auth, where, &op->auth, &op->n_auth) < 0)
            return -1;
    } else {
        op->auth = xcalloc((size_t)d->n_auth, sizeof *op->auth);
        if (d->n_auth) /* d->auth is NULL when the backend has no default auth */
            memcpy(op->auth, d->auth, (size_t)d->n_auth * sizeof *op->auth);
        op->n_auth = d->n_auth;
    }
    long timeout = d->timeout_ms, max = d->max_bytes;
    if (bk_opt_long(p, t, where, "timeout_ms", 100, TOOL_BACKEND_MAX_TIMEOUT_MS, &timeout) < 0 ||
        bk_opt_long(p, t, where, "max_response_bytes", 1024, TOOL_BACKEND_MAX_BYTES_LIMIT, &max) <
            0)
        return -1;
    op->timeout_ms = timeout;
    op->max_bytes = (size_t)max;
    return 0;
}

/* result: {"pointer": "/data"}. */
static int op_result(struct parse *p, struct json_object *t, const char *where,
                     struct backend_op *op)
{
    struct json_object *result = NULL;
    if (!json_object_object_get_ex(t, "result", &result))
        return 0;
    static const char *const rkeys[] = {"pointer", NULL};
    const char *ptr = NULL;
    if (!json_object_is_type(result, json_type_object) ||
        bk_only_keys(p, result, where, rkeys) < 0 ||
        bk_opt_string(p, result, where, "pointer", &ptr) < 0) {
        if (!json_object_is_type(result, json_type_object))
            bk_bad(p, "%sresult must be an object", where);
        return -1;
    }
    if (ptr && *ptr && ptr[0] != '/') {
        bk_bad(p, "%sresult.pointer must be a JSON pointer (\"/data/items\")", where);
        return -1;
    }
    op->result_pointer = ptr && *ptr ? xstrdup(ptr) : NULL;
    return 0;
}

/* access: given, or from the method. */
static int op_access(struct parse *p, const char *access, const char *where,
                     const struct backend_op *op, enum tool_access *out)
{
    static const struct {
        const char *name;
        enum tool_access access;
    } names[] = {{"read", TOOL_READ}, {"write", TOOL_WRITE}, {"destructive", TOOL_DESTRUCTIVE}};
    *out = strcmp(op->method, "GET") == 0 || strcmp(op->method, "HEAD") == 0 ||
                   strcmp(op->method, "OPTIONS") == 0
               ? TOOL_READ
           : strcmp(op->method, "DELETE") == 0 ? TOOL_DESTRUCTIVE
                                               : TOOL_WRITE;
    if (!access)
        return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(access, names[i].name) == 0) {
            *out = names[i].access;
            return 0;
        }
    }
    bk_bad(p, "%saccess must be read, write or destructive", where);
    return -1;
}

/* What search_tools finds the tool by besides its name, title,
 * description and arguments: its tags and its path; and "deprecated".
 * The tags also go to def->tags, for connectors (util/config.h). */
static int op_keywords(struct parse *p, struct json_object *t, const char *where,
                       const struct backend_op *op, struct tool_def *def)
{
    struct buf kw = {0}, tagged = {0};
    struct json_object *tags = NULL;
    if (json_object_object_get_ex(t, "tags", &tags)) {
        size_t nt = json_object_is_type(tags, json_type_array) ? json_object_array_length(tags) : 0;
        int ok = json_object_is_type(tags, json_type_array) && nt <= MAX_TAGS;
        for (size_t i = 0; ok && i < nt; i++) {
            struct json_object *tag = json_object_array_get_idx(tags, i);
            ok = json_object_is_type(tag, json_type_string) &&
                 json_object_get_string_len(tag) <= MAX_TAG_LEN;
            ok = ok && !strchr(json_object_get_string(tag), '\n');
            if (ok &&
                (buf_puts(&kw, json_object_get_string(tag)) < 0 || buf_puts(&kw, " ") < 0 ||
                 buf_puts(&tagged, json_object_get_string(tag)) < 0 || buf_puts(&tagged, "\n") < 0))
                abort();
        }
        if (!ok) {
            bk_bad(p,
                   "%stags must be an array of at most %d strings of at most %d bytes, each on "
                   "one line",
                   where, MAX_TAGS, MAX_TAG_LEN);
            buf_free(&kw);
            buf_free(&tagged);
            return -1;
        }
    }
    if (buf_puts(&kw, op->path) < 0)
        abort();
    if (bk_opt_bool(p, t, where, "deprecated", &def->deprecated) < 0) {
        buf_free(&kw);
        buf_free(&tagged);
        return -1;
    }
    def->keywords = xstrdup(buf_str(&kw));
    buf_free(&kw);
    def->tags = tagged.len ? xstrdup(buf_str(&tagged)) : NULL;
    buf_free(&tagged);
    def->backend = op->be->name;
    return 0;
}

int bk_parse_op(struct parse *p, struct backend *b, struct json_object *t, int index,
                const struct op_defaults *d, struct tool_def *def)
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
    if (bk_object_of(p, t, where, keys) < 0)
        return -1;
    op->be = b;
    if (op_name(p, b, t, where, op) < 0)
        return -1;
    const char *title = NULL, *description = NULL, *access = NULL, *body_type = NULL;
    const struct bk_opt_str strs[] = {{"title", &title},
                                      {"description", &description},
                                      {"access", &access},
                                      {"body_type", &body_type}};
    if (bk_opt_strings(p, t, where, strs, sizeof strs / sizeof *strs) < 0)
        return -1;
    enum tool_access acc;
    if (op_request(p, t, where, op) < 0 || op_schema(p, t, where, op) < 0 ||
        op_sending(p, b, t, where, body_type, d, op) < 0 || op_result(p, t, where, op) < 0 ||
        op_access(p, access, where, op, &acc) < 0 || op_keywords(p, t, where, op, def) < 0)
        return -1;
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
