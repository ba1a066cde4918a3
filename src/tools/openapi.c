/*
 * tools/openapi.c - turns an OpenAPI 3.0/3.1 document into a backend file.
 *
 * A single pass over paths x methods in document order: each selected
 * operation becomes one tool (its name, arguments, body, access). Schemas
 * are converted by tools/openapi_schema.c, security schemes by
 * tools/openapi_security.c. See tools/openapi.h for the mapping rules.
 */
#include "tools/openapi.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tools/backend.h"
#include "tools/names.h"
#include "tools/openapi_internal.h"
#include "tools/schema.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/url.h"

#define OPENAPI_TAGS_MAX 32  /* tags kept per tool (a backend file allows 32) */
#define OPENAPI_TAG_LEN  100 /* longer tags are left out (a backend file allows 100) */

static const char *const http_methods[] = {"get",     "put",  "post",  "delete",
                                           "options", "head", "patch", NULL};

static struct json_object *str(const char *s)
{
    return json_object_new_string(s);
}

/* --- the report ---------------------------------------------------------- */

void oa_note(struct json_object *report, const char *fmt, ...)
{
    char line[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (report && json_object_array_add(report, json_object_new_string(line)) != 0)
        abort();
}

/* --- selection ------------------------------------------------------------ */

static int selected(const struct openapi_opts *o, const char *method, const char *path,
                    struct json_object *op)
{
    if (o->n_methods) {
        int hit = 0;
        for (int i = 0; i < o->n_methods; i++)
            hit |= strcasecmp(o->methods[i], method) == 0;
        if (!hit)
            return 0;
    }
    if (o->n_paths) {
        int hit = 0;
        for (int i = 0; i < o->n_paths; i++)
            hit |= fnmatch(o->paths[i], path, 0) == 0;
        if (!hit)
            return 0;
    }
    if (o->n_tags) {
        struct json_object *tags = json_get(op, "tags", json_type_array);
        int hit = 0;
        for (size_t t = 0; tags && t < json_object_array_length(tags); t++)
            for (int i = 0; i < o->n_tags; i++)
                hit |= strcmp(o->tags[i],
                              json_object_get_string(json_object_array_get_idx(tags, t))) == 0;
        if (!hit)
            return 0;
    }
    return 1;
}

/* 1 when every "{name}" of the path template is an argument of args (the
 * backend file's "args") with "in": "path". */
static int path_covered(const char *path, struct json_object *args)
{
    for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
        size_t n = strcspn(p + 1, "}");
        int found = 0;
        json_object_object_foreach(args, aname, a)
        {
            const char *in = json_get_string(a, "in");
            const char *wire = json_get_string(a, "name") ? json_get_string(a, "name") : aname;
            found |=
                in && strcmp(in, "path") == 0 && strlen(wire) == n && strncmp(wire, p + 1, n) == 0;
        }
        if (!found)
            return 0;
    }
    return 1;
}
/* --- one operation -------------------------------------------------------- */

static int is_json_type(const char *t)
{
    return strncasecmp(t, "application/json", 16) == 0 || strstr(t, "+json") ||
           strcmp(t, "*/*") == 0;
}

/* Adds the request body's arguments. Returns 0, or -1 when the body type
 * is not supported (the operation is skipped). */
static int add_body(struct conv *c, struct json_object *rb, struct json_object *tool,
                    struct json_object *props, struct json_object *required,
                    struct json_object *args)
{
    rb = oa_deref(c->doc, rb);
    struct json_object *content = json_get(rb, "content", json_type_object);
    if (!content)
        return 0;
    struct json_object *media = NULL;
    int form = 0;
    json_object_object_foreach(content, type, m)
    {
        if (!media && is_json_type(type))
            media = m;
    }
    if (!media) {
        json_object_object_foreach(content, type2, m2)
        {
            if (!media && strncasecmp(type2, "application/x-www-form-urlencoded", 33) == 0) {
                media = m2;
                form = 1;
            }
        }
    }
    /* A body marked required makes its required fields required. Many
     * documents leave "required" out although the API needs the body: its
     * required fields are required then too, unless it says false. */
    struct json_object *req = json_get(rb, "required", json_type_boolean);
    int body_required = req && json_object_get_boolean(req);
    int fields_required = !req || json_object_get_boolean(req);
    if (!media)
        return body_required ? -1 : 0;
    if (form)
        json_add(tool, "body_type", str("form"));
    else if (body_required)
        json_add(tool, "body_required", json_object_new_boolean(1));
    c->request = 1;
    struct json_object *schema = NULL;
    json_object_object_get_ex(media, "schema", &schema);
    struct json_object *bs = schema ? oa_convert(c, schema) : json_object_new_object();
    c->request = 0;
    /* flatten an object body into arguments when nothing clashes */
    struct json_object *bprops = json_get(bs, "properties", json_type_object);
    int flat = bprops && !json_object_object_get_ex(bs, "allOf", NULL) &&
               !json_object_object_get_ex(bs, "anyOf", NULL) &&
               !json_object_object_get_ex(bs, "oneOf", NULL) &&
               json_object_object_length(bprops) > 0;
    if (flat) {
        json_object_object_foreach(bprops, k, v)
        {
            (void)v;
            char clean[OA_MAX_ARG_NAME + 1];
            tool_name_sanitize(k, 0, clean, OA_MAX_ARG_NAME);
            flat &= strcmp(clean, k) == 0 && !json_object_object_get_ex(props, k, NULL);
        }
    }
    if (!flat) {
        const char *name = json_object_object_get_ex(props, "body", NULL) ? "request_body" : "body";
        json_add(props, name, bs);
        struct json_object *a = json_object_new_object();
        json_add(a, "in", str("body"));
        json_add(args, name, a);
        if (body_required && json_object_array_add(required, str(name)) != 0)
            abort();
        return 0;
    }
    json_object_object_foreach(bprops, k, v)
    {
        json_add(props, k, json_object_get(v));
        struct json_object *a = json_object_new_object();
        json_add(a, "in", str("body_field"));
        json_add(args, k, a);
    }
    struct json_object *breq = json_get(bs, "required", json_type_array);
    for (size_t i = 0; fields_required && breq && i < json_object_array_length(breq); i++)
        if (json_object_array_add(required, json_object_get(json_object_array_get_idx(breq, i))) !=
            0)
            abort();
    json_object_put(bs);
    return 0;
}

/* The absolute URL of an operation's or path's own servers, or NULL. */
static const char *own_server(struct json_object *o)
{
    struct json_object *servers = json_get(o, "servers", json_type_array);
    if (!servers || json_object_array_length(servers) == 0)
        return NULL;
    const char *url = json_get_string(json_object_array_get_idx(servers, 0), "url");
    if (!url_is_web(url, 1) || strchr(url, '{'))
        return NULL;
    return url;
}
/* title, description, method, path, tags, deprecated, base_url. */
static void tool_texts(struct json_object *tool, const struct openapi_opts *o,
                       const char *up_method, const char *path, struct json_object *item,
                       struct json_object *op)
{
    const char *summary = json_get_string(op, "summary");
    const char *description = json_get_string(op, "description");
    if (summary && *summary)
        json_add(tool, "title", oa_desc(summary));
    struct buf d = {0};
    if (buf_printf(&d, "%s%s%s", summary ? summary : "",
                   summary && description && *description ? "\n\n" : "",
                   description ? description : "") < 0)
        abort();
    if (d.len)
        json_add(tool, "description", oa_desc(d.data));
    buf_free(&d);
    json_add(tool, "method", str(up_method));
    json_add(tool, "path", str(path));
    struct json_object *tags = json_get(op, "tags", json_type_array);
    struct json_object *tag_list = json_object_new_array();
    for (size_t i = 0; tags && i < json_object_array_length(tags) && i < OPENAPI_TAGS_MAX; i++) {
        const char *tag = json_object_get_string(json_object_array_get_idx(tags, i));
        if (json_object_is_type(json_object_array_get_idx(tags, i), json_type_string) &&
            strlen(tag) <= OPENAPI_TAG_LEN && json_object_array_add(tag_list, str(tag)) != 0)
            abort();
    }
    if (json_object_array_length(tag_list))
        json_add(tool, "tags", tag_list);
    else
        json_object_put(tag_list);
    if (json_object_get_boolean(json_get(op, "deprecated", json_type_boolean)))
        json_add(tool, "deprecated", json_object_new_boolean(1));
    if (!o->base_url) {
        const char *own = own_server(op) ? own_server(op) : own_server(item);
        if (own && tool_url_ok(own, 0)) /* else the document's server (fuzz_openapi) */
            json_add(tool, "base_url", str(own));
    }
}

/* 1 when parameter p (of the path item when from_item) is left out: in a
 * place a backend file does not know, or a header parameter whose name is
 * not a header name (the written file would fail to load; both found by
 * tests/fuzz/fuzz_openapi.c), a path parameter not in the template, a
 * header mcpgate sets, or redefined by the operation. */
static int param_left_out(struct conv *c, const char *path, struct json_object *p, int from_item,
                          struct json_object *op_params)
{
    const char *pname = json_get_string(p, "name");
    const char *in = json_get_string(p, "in");
    if (!pname || !in || strcmp(in, "cookie") == 0)
        return 1;
    if (strcmp(in, "path") != 0 && strcmp(in, "query") != 0 && strcmp(in, "header") != 0)
        return 1;
    if (strcmp(in, "header") == 0 && !tool_header_name_ok(pname))
        return 1;
    if (strcmp(in, "path") == 0 && !tool_path_has(path, pname))
        return 1; /* not in the template: nothing to fill (fuzz_openapi.c) */
    if (strcmp(in, "header") == 0 &&
        (strcasecmp(pname, "Authorization") == 0 || strcasecmp(pname, "Content-Type") == 0 ||
         strcasecmp(pname, "Accept") == 0 || strcasecmp(pname, "Content-Length") == 0 ||
         strcasecmp(pname, "Host") == 0))
        return 1;
    if (!from_item)
        return 0;
    /* the operation may redefine it */
    int overridden = 0;
    for (size_t j = 0; op_params && j < json_object_array_length(op_params); j++) {
        struct json_object *q = oa_deref(c->doc, json_object_array_get_idx(op_params, j));
        const char *qn = json_get_string(q, "name"), *qi = json_get_string(q, "in");
        overridden |= qn && qi && strcmp(qn, pname) == 0 && strcmp(qi, in) == 0;
    }
    return overridden;
}

/* Adds parameter p as an argument: its schema to props, where it goes to
 * args, its name to required when it is required. */
static void add_param(struct conv *c, struct json_object *p, struct json_object *props,
                      struct json_object *required, struct json_object *args)
{
    const char *pname = json_get_string(p, "name");
    const char *in = json_get_string(p, "in");
    struct json_object *ps = NULL;
    json_object_object_get_ex(p, "schema", &ps);
    if (!ps) {
        struct json_object *content = json_get(p, "content", json_type_object);
        if (content) {
            json_object_object_foreach(content, t, m)
            {
                (void)t;
                if (!ps)
                    json_object_object_get_ex(m, "schema", &ps);
            }
        }
    }
    struct json_object *s = ps ? oa_convert(c, ps) : json_object_new_object();
    if (!json_object_is_type(s, json_type_object)) {
        json_object_put(s);
        s = json_object_new_object();
    }
    const char *pd = json_get_string(p, "description");
    if (pd && *pd)
        json_add(s, "description", oa_desc(pd));
    char aname[OA_MAX_ARG_NAME + 1];
    oa_arg_name(pname, in, props, aname);
    json_add(props, aname, s);
    struct json_object *a = json_object_new_object();
    json_add(a, "in", str(in));
    if (strcmp(aname, pname) != 0)
        json_add(a, "name", str(pname));
    json_add(args, aname, a);
    struct json_object *req = json_get(p, "required", json_type_boolean);
    if ((strcmp(in, "path") == 0 || (req && json_object_get_boolean(req))) &&
        json_object_array_add(required, str(aname)) != 0)
        abort();
}

/* The parameters: the operation's override the path item's (same name and
 * in). */
static void add_params(struct conv *c, const char *path, struct json_object *item,
                       struct json_object *op, struct json_object *props,
                       struct json_object *required, struct json_object *args)
{
    struct json_object *lists[2] = {json_get(item, "parameters", json_type_array),
                                    json_get(op, "parameters", json_type_array)};
    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; lists[l] && i < json_object_array_length(lists[l]); i++) {
            struct json_object *p = oa_deref(c->doc, json_object_array_get_idx(lists[l], i));
            if (!param_left_out(c, path, p, l == 0, lists[1]))
                add_param(c, p, props, required, args);
        }
    }
}
/* Builds the tool for one operation. Returns a new tool object, or NULL
 * when it is skipped. */
static struct json_object *make_tool(struct conv *c, const struct openapi_opts *o,
                                     const char *method, const char *path, struct json_object *item,
                                     struct json_object *op, struct json_object *schemes,
                                     struct json_object *slots, struct json_object *names,
                                     struct json_object *report)
{
    if (!tool_path_ok(path))
        return NULL; /* the file would not load (found by tests/fuzz/fuzz_openapi.c) */
    struct json_object *tool = json_object_new_object();
    struct json_object *props = json_object_new_object();
    struct json_object *required = json_object_new_array();
    struct json_object *args = json_object_new_object();
    char unique[OA_NAME_MAX + 1], up_method[16];
    oa_tool_name(o, method, path, op, names, report, unique, up_method);
    json_add(tool, "name", str(unique));
    tool_texts(tool, o, up_method, path, item, op);
    add_params(c, path, item, op, props, required, args);
    struct json_object *rb = NULL;
    if ((json_object_object_get_ex(op, "requestBody", &rb) &&
         add_body(c, rb, tool, props, required, args) < 0) ||
        !path_covered(path, args)) {
        /* a body of a type not supported, or a {name} no path parameter
         * fills: the file would not load (found by
         * tests/fuzz/fuzz_openapi.c); skipped */
        json_object_put(tool);
        json_object_put(props);
        json_object_put(required);
        json_object_put(args);
        return NULL;
    }
    struct json_object *schema = json_object_new_object();
    json_add(schema, "type", str("object"));
    json_add(schema, "properties", props);
    if (json_object_array_length(required) > 0)
        json_add(schema, "required", required);
    else
        json_object_put(required);
    json_add(schema, "additionalProperties", json_object_new_boolean(0));
    json_add(tool, "input_schema", schema);
    json_add(tool, "args", args);
    json_add(tool, "access", str(oa_access(o, method, up_method, path, op, unique, report)));
    struct json_object *sec = NULL;
    if (json_object_object_get_ex(op, "security", &sec)) {
        struct json_object *auth = oa_auth_of(sec, schemes, slots);
        if (auth)
            json_add(tool, "auth", auth);
    }
    return tool;
}

static int count_ops(struct json_object *paths)
{
    int n = 0;
    json_object_object_foreach(paths, path, item)
    {
        (void)path;
        for (const char *const *m = http_methods; *m; m++)
            n += json_get(item, *m, json_type_object) != NULL;
    }
    return n;
}

/* servers[0].url with its variables' defaults, into out. Returns 0 or -1. */
static int server_url(struct json_object *doc, struct buf *out)
{
    struct json_object *servers = json_get(doc, "servers", json_type_array);
    struct json_object *s0 =
        servers && json_object_array_length(servers) ? json_object_array_get_idx(servers, 0) : NULL;
    const char *url = json_get_string(s0, "url");
    if (!url)
        return -1;
    struct json_object *vars = json_get(s0, "variables", json_type_object);
    for (const char *p = url; *p;) {
        if (*p == '{') {
            size_t len = strcspn(p + 1, "}");
            char var[128];
            snprintf(var, sizeof var, "%.*s", (int)(len < 127 ? len : 127), p + 1);
            struct json_object *v = json_get(vars, var, json_type_object);
            const char *dflt = json_get_string(v, "default");
            if (!dflt)
                return -1;
            if (buf_puts(out, dflt) < 0)
                return -1;
            p += len + (p[len + 1] ? 2 : 1);
        } else {
            if (buf_append(out, p, 1) < 0)
                return -1;
            p++;
        }
    }
    const char *u = buf_str(out); /* "" when the URL was empty */
    return url_is_web(u, 1) ? 0 : -1;
}

/* The error for a selection that matches no operation, naming the
 * document's tags (tags are compared exactly: "project" is not "Project"). */
static void no_match(struct json_object *paths, struct mg_error *err)
{
    struct json_object *seen = json_object_new_object();
    struct buf b = {0};
    json_object_object_foreach(paths, path, item)
    {
        (void)path;
        for (const char *const *m = http_methods; *m; m++) {
            struct json_object *tags =
                json_get(json_get(item, *m, json_type_object), "tags", json_type_array);
            for (size_t i = 0; tags && i < json_object_array_length(tags); i++) {
                struct json_object *t = json_object_array_get_idx(tags, i);
                if (json_object_is_type(t, json_type_string))
                    json_add(seen, json_object_get_string(t), json_object_new_boolean(1));
            }
        }
    }
    json_object_object_foreach(seen, tag, v)
    {
        (void)v;
        if (buf_printf(&b, "%s\"%s\"", b.len ? ", " : "", tag) < 0)
            abort();
    }
    mg_error_msg(err,
                 "no operation matches the selection (tags are compared exactly, upper and lower "
                 "case too); the document's tags: %s",
                 b.len ? b.data : "none");
    buf_free(&b);
    json_object_put(seen);
}

/* Removes the credential slots no tool uses (the document may define
 * schemes for operations that were not selected), and the backend's
 * default auth when every tool has its own. */
static void drop_unused_slots(struct json_object *out, struct openapi_stats *st)
{
    struct json_object *used = json_object_new_object();
    struct json_object *tools = json_get(out, "tools", json_type_array);
    int defaulted = 0;
    for (size_t i = 0; tools && i < json_object_array_length(tools); i++) {
        struct json_object *auth =
            json_get(json_object_array_get_idx(tools, i), "auth", json_type_array);
        defaulted |= !auth;
        for (size_t k = 0; auth && k < json_object_array_length(auth); k++)
            json_add(used, json_object_get_string(json_object_array_get_idx(auth, k)),
                     json_object_new_boolean(1));
    }
    struct json_object *dflt = json_get(out, "auth", json_type_array);
    if (dflt && !defaulted)
        json_object_object_del(out, "auth");
    for (size_t k = 0; dflt && defaulted && k < json_object_array_length(dflt); k++)
        json_add(used, json_object_get_string(json_object_array_get_idx(dflt, k)),
                 json_object_new_boolean(1));
    struct json_object *slots = json_get(out, "credentials", json_type_object);
    struct json_object *drop = json_object_new_array();
    json_object_object_foreach(slots, slot, v)
    {
        (void)v;
        if (!json_object_object_get_ex(used, slot, NULL) &&
            json_object_array_add(drop, json_object_new_string(slot)) != 0)
            abort();
    }
    for (size_t i = 0; i < json_object_array_length(drop); i++) {
        const char *gone = json_object_get_string(json_object_array_get_idx(drop, i));
        oa_note(st->report, "credential slot %s left out: no selected operation uses it", gone);
        json_object_object_del(slots, gone);
    }
    st->slots = slots ? json_object_object_length(slots) : 0;
    json_object_put(drop);
    json_object_put(used);
}

/* The checks of the document, and its base URL (the operator's, else the
 * document's first server) into base. Returns 0, or -1 with a message. */
static int import_check(struct json_object *doc, const struct openapi_opts *o, struct buf *base,
                        struct mg_error *err)
{
    const char *ver = json_get_string(doc, "openapi");
    if (!ver || (strncmp(ver, "3.0", 3) != 0 && strncmp(ver, "3.1", 3) != 0)) {
        mg_error_msg(err, "not an OpenAPI 3.0 or 3.1 document (no \"openapi\": \"3.x\"; "
                          "convert Swagger 2.0 first, e.g. with swagger2openapi)");
        return -1;
    }
    if (!json_get(doc, "paths", json_type_object)) {
        mg_error_msg(err, "the document has no \"paths\"");
        return -1;
    }
    if (oa_schemes_check(json_get(json_get(doc, "components", json_type_object), "securitySchemes",
                                  json_type_object),
                         err) < 0)
        return -1;
    if (o->base_url) {
        if (buf_puts(base, o->base_url) < 0)
            abort();
    } else if (server_url(doc, base) < 0 || !tool_url_ok(base->data, 0)) {
        mg_error_msg(err, "the document names no usable absolute server URL (servers[0].url): give "
                          "the API's address with --base-url");
        return -1;
    }
    if (!tool_url_ok(base->data, 0)) {
        mg_error_msg(err, "--base-url must be an http:// or https:// URL without query, "
                          "fragment or spaces");
        return -1;
    }
    return 0;
}

/* The backend file's head: name, title, base_url, credentials, auth and
 * what it was made from. Returns it; *slots borrows its credentials. */
static struct json_object *file_head(struct json_object *doc, const struct openapi_opts *o,
                                     const char *base, struct json_object *schemes,
                                     struct json_object **slots)
{
    struct json_object *info = json_get(doc, "info", json_type_object);
    struct json_object *out = json_object_new_object();
    json_add(out, "mcpgate_backend", json_object_new_int(1));
    json_add(out, "name", str(o->name));
    const char *title = json_get_string(info, "title");
    if (title && *title)
        json_add(out, "title", oa_desc(title));
    json_add(out, "base_url", str(base));
    if (o->allow_private)
        json_add(out, "allow_private", json_object_new_boolean(1));
    *slots = oa_slots_of(schemes, o, title);
    struct json_object *global = NULL;
    json_object_object_get_ex(doc, "security", &global);
    struct json_object *auth = oa_auth_of(global, schemes, *slots);
    struct json_object *meta = json_object_new_object();
    json_add(meta, "title", str(title ? title : ""));
    json_add(meta, "version",
             str(json_get_string(info, "version") ? json_get_string(info, "version") : ""));
    json_add(meta, "openapi", str(json_get_string(doc, "openapi")));
    json_add(out, "openapi", meta);
    json_add(out, "credentials", *slots);
    if (auth)
        json_add(out, "auth", auth);
    return out;
}

/* One tool per selected operation, in document order, into a new list. */
static struct json_object *make_tools(struct json_object *doc, const struct openapi_opts *o,
                                      struct json_object *schemes, struct json_object *slots,
                                      struct openapi_stats *st)
{
    struct json_object *paths = json_get(doc, "paths", json_type_object);
    struct json_object *tools = json_object_new_array();
    struct json_object *names = json_object_new_object();
    struct conv c = {.doc = doc};
    st->operations = count_ops(paths);
    int done = 0;
    json_object_object_foreach(paths, path, item)
    {
        if (!json_object_is_type(item, json_type_object))
            continue;
        for (const char *const *m = http_methods; *m; m++) {
            struct json_object *op = json_get(item, *m, json_type_object);
            if (!op)
                continue;
            done++;
            if (selected(o, *m, path, op) && !o->include_deprecated &&
                json_object_get_boolean(json_get(op, "deprecated", json_type_boolean))) {
                st->selected++;
                st->deprecated++;
            } else if (selected(o, *m, path, op)) {
                st->selected++;
                struct json_object *t =
                    make_tool(&c, o, *m, path, item, op, schemes, slots, names, st->report);
                if (t) {
                    if (json_object_array_add(tools, t) != 0)
                        abort();
                    st->tools++;
                } else {
                    st->skipped++;
                }
            }
            if (o->progress)
                o->progress(o->progress_arg, done, st->operations);
        }
    }
    json_object_put(names);
    return tools;
}

/* An option that selected nothing or named nothing: a message in err.
 * Returns 0, or -1. */
static int options_used(struct json_object *doc, const struct openapi_opts *o,
                        const struct openapi_stats *st, struct mg_error *err)
{
    if (st->selected == 0 && (o->n_tags || o->n_paths || o->n_methods)) {
        no_match(json_get(doc, "paths", json_type_object), err);
        return -1;
    }
    for (int i = 0; i < o->n_slot_names; i++) {
        if (o->slot_names_used && !o->slot_names_used[i]) {
            mg_error_msg(err,
                         "--credential-name %.200s: the document has no such security "
                         "scheme",
                         o->slot_names[i]);
            return -1;
        }
    }
    for (int i = 0; i < o->n_access; i++) {
        if (o->access_used && !o->access_used[i]) {
            mg_error_msg(err, "--access %.200s: no selected operation has that name", o->access[i]);
            return -1;
        }
    }
    return 0;
}

struct json_object *tool_openapi_import(struct json_object *doc, const struct openapi_opts *o,
                                        struct openapi_stats *st, struct mg_error *err)
{
    memset(st, 0, sizeof *st);
    st->report = json_object_new_array();
    struct buf base = {0};
    if (import_check(doc, o, &base, err) < 0) {
        buf_free(&base);
        return NULL;
    }
    struct json_object *schemes = json_get(json_get(doc, "components", json_type_object),
                                           "securitySchemes", json_type_object);
    struct json_object *empty = json_object_new_object();
    if (!schemes)
        schemes = empty;
    struct json_object *slots = NULL;
    struct json_object *out = file_head(doc, o, base.data, schemes, &slots);
    buf_free(&base);
    st->slots = json_object_object_length(slots);
    struct json_object *tools = make_tools(doc, o, schemes, slots, st);
    json_object_put(empty);
    if (options_used(doc, o, st, err) < 0) {
        json_object_put(tools);
        json_object_put(out);
        return NULL;
    }
    json_add(out, "tools", tools);
    drop_unused_slots(out, st);
    return out;
}
