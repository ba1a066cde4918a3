/*
 * tools/openapi.c - turns an OpenAPI 3.0/3.1 document into a backend file.
 *
 * A single pass over paths x methods in document order. Schemas are copied
 * keyword by keyword (an allowlist: what JSON Schema validators and models
 * understand), $refs inlined with a stack of the ones being expanded so a
 * recursive schema ends in {} instead of looping. See tools/openapi.h for
 * the mapping rules.
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
#include "tools/schema.h"
#include "util/buf.h"
#include "util/json.h"

#define MAX_REF_STACK     64
#define MAX_DESC_LEN      1024
#define MAX_ARG_NAME_LEN  64
#define OPENAPI_NAME_MAX  64  /* a tool's name after the backend prefix */
#define OPENAPI_LONG_NAME 400 /* longest name worked on before it is shortened */
#define OPENAPI_TAGS_MAX  32  /* tags kept per tool (a backend file allows 32) */
#define OPENAPI_TAG_LEN   100 /* longer tags are left out (a backend file allows 100) */

static const char *const http_methods[] = {"get",     "put",  "post",  "delete",
                                           "options", "head", "patch", NULL};

struct conv {
    struct json_object *doc;
    const char *stack[MAX_REF_STACK];
    int depth;
    int request; /* drop readOnly properties */
};

static struct json_object *convert(struct conv *c, struct json_object *s);

/* Follows $ref chains of non-schema objects (parameters, request bodies).
 * Returns a borrowed object (s itself when it has no $ref), or NULL. */
static struct json_object *deref(struct json_object *doc, struct json_object *s)
{
    for (int i = 0; i < 16 && s; i++) {
        const char *ref = json_get_string(s, "$ref");
        if (!ref)
            return s;
        s = tool_schema_resolve(doc, ref);
    }
    return s;
}

static struct json_object *str(const char *s)
{
    return json_object_new_string(s);
}

static void add_copy(struct json_object *to, const char *key, struct json_object *v)
{
    json_add(to, key, json_object_get(v));
}

/* A description cut to MAX_DESC_LEN bytes on a UTF-8 boundary. */
static struct json_object *desc(const char *s)
{
    size_t n = strlen(s);
    if (n <= MAX_DESC_LEN)
        return str(s);
    size_t cut = MAX_DESC_LEN;
    while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
        cut--;
    struct buf b = {0};
    if (buf_append(&b, s, cut) < 0 || buf_puts(&b, " ...") < 0)
        abort();
    struct json_object *o = str(b.data);
    buf_free(&b);
    return o;
}

static int is_read_only(struct conv *c, struct json_object *s)
{
    struct json_object *t = deref(c->doc, s);
    struct json_object *ro = json_get(t, "readOnly", json_type_boolean);
    if (!ro)
        ro = json_get(s, "readOnly", json_type_boolean);
    return ro && json_object_get_boolean(ro);
}

static struct json_object *convert_list(struct conv *c, struct json_object *list)
{
    struct json_object *out = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(list); i++)
        if (json_object_array_add(out, convert(c, json_object_array_get_idx(list, i))) != 0)
            abort();
    return out;
}

static struct json_object *convert_props(struct conv *c, struct json_object *props,
                                         struct json_object *required, struct json_object *out)
{
    struct json_object *p = json_object_new_object();
    struct json_object *req = json_object_new_array();
    if (props) {
        json_object_object_foreach(props, k, v)
        {
            if (c->request && is_read_only(c, v))
                continue;
            json_add(p, k, convert(c, v));
        }
    }
    for (size_t i = 0; required && i < json_object_array_length(required); i++) {
        struct json_object *r = json_object_array_get_idx(required, i);
        const char *name = json_object_get_string(r);
        if (json_object_is_type(r, json_type_string) &&
            (!props || json_object_object_get_ex(p, name, NULL) ||
             !json_object_object_get_ex(props, name, NULL)))
            if (json_object_array_add(req, json_object_get(r)) != 0)
                abort();
    }
    json_add(out, "properties", p);
    return req;
}

/* For a oneOf with a discriminator mapping: each branch's discriminator
 * property gets the enum of the values that select it, so the model (and a
 * validator) can tell the branches apart. */
static void mark_discriminator(struct json_object *disc, struct json_object *orig,
                               struct json_object *branches)
{
    const char *prop = json_get_string(disc, "propertyName");
    struct json_object *mapping = json_get(disc, "mapping", json_type_object);
    if (!prop || !mapping)
        return;
    for (size_t i = 0; i < json_object_array_length(orig); i++) {
        const char *ref = json_get_string(json_object_array_get_idx(orig, i), "$ref");
        struct json_object *props =
            json_get(json_object_array_get_idx(branches, i), "properties", json_type_object);
        struct json_object *p = json_get(props, prop, json_type_object);
        if (!ref || !p)
            continue;
        struct json_object *values = json_object_new_array();
        json_object_object_foreach(mapping, value, target)
        {
            if (json_object_is_type(target, json_type_string) &&
                strcmp(json_object_get_string(target), ref) == 0 &&
                json_object_array_add(values, str(value)) != 0)
                abort();
        }
        if (json_object_array_length(values) > 0)
            json_add(p, "enum", values);
        else
            json_object_put(values);
    }
}

/* Copies the JSON Schema keywords of s into a new schema. */
static struct json_object *convert(struct conv *c, struct json_object *s)
{
    if (json_object_is_type(s, json_type_boolean))
        return json_object_get(s);
    if (!json_object_is_type(s, json_type_object))
        return json_object_new_object();
    const char *ref = json_get_string(s, "$ref");
    if (ref) {
        for (int i = 0; i < c->depth; i++)
            if (strcmp(c->stack[i], ref) == 0)
                goto recursive;
        struct json_object *target = tool_schema_resolve(c->doc, ref);
        if (!target || c->depth == MAX_REF_STACK)
            goto recursive;
        c->stack[c->depth++] = ref;
        struct json_object *out = convert(c, target);
        c->depth--;
        const char *d = json_get_string(s, "description");
        if (d && json_object_is_type(out, json_type_object))
            json_add(out, "description", desc(d));
        return out;
    recursive : {
        struct json_object *any = json_object_new_object();
        json_add(any, "description", str("(a nested value of the same structure)"));
        return any;
    }
    }
    static const char *const plain[] = {
        "type",    "enum",    "const",      "minItems",      "maxItems",      "uniqueItems",
        "minimum", "maximum", "multipleOf", "minLength",     "maxLength",     "pattern",
        "format",  "title",   "default",    "minProperties", "maxProperties", NULL};
    struct json_object *out = json_object_new_object();
    for (const char *const *k = plain; *k; k++) {
        struct json_object *v = NULL;
        if (json_object_object_get_ex(s, *k, &v))
            add_copy(out, *k, v);
    }
    const char *d = json_get_string(s, "description");
    if (d)
        json_add(out, "description", desc(d));
    /* an example helps the model (OpenAPI 3.0 "example" -> "examples") */
    struct json_object *example = NULL;
    if (json_object_object_get_ex(s, "examples", &example) &&
        json_object_is_type(example, json_type_array)) {
        add_copy(out, "examples", example);
    } else if (json_object_object_get_ex(s, "example", &example) &&
               !json_object_is_type(example, json_type_object) &&
               !json_object_is_type(example, json_type_array)) {
        struct json_object *list = json_object_new_array();
        if (json_object_array_add(list, json_object_get(example)) != 0)
            abort();
        json_add(out, "examples", list);
    }
    /* OpenAPI 3.0 boolean exclusive bounds -> JSON Schema numbers */
    static const char *const ex[][2] = {{"exclusiveMinimum", "minimum"},
                                        {"exclusiveMaximum", "maximum"}};
    for (int i = 0; i < 2; i++) {
        struct json_object *v = NULL;
        if (!json_object_object_get_ex(s, ex[i][0], &v))
            continue;
        struct json_object *bound = NULL;
        if (json_object_is_type(v, json_type_boolean)) {
            if (json_object_get_boolean(v) && json_object_object_get_ex(s, ex[i][1], &bound)) {
                json_object_object_del(out, ex[i][1]);
                add_copy(out, ex[i][0], bound);
            }
        } else {
            add_copy(out, ex[i][0], v);
        }
    }
    struct json_object *v = NULL;
    if (json_object_object_get_ex(s, "items", &v))
        json_add(out, "items",
                 json_object_is_type(v, json_type_array) ? convert_list(c, v) : convert(c, v));
    if (json_object_object_get_ex(s, "prefixItems", &v) && json_object_is_type(v, json_type_array))
        json_add(out, "prefixItems", convert_list(c, v));
    static const char *const lists[] = {"allOf", "anyOf", "oneOf", NULL};
    for (const char *const *k = lists; *k; k++) {
        if (!json_object_object_get_ex(s, *k, &v) || !json_object_is_type(v, json_type_array))
            continue;
        /* with a discriminator, OpenAPI picks the branch by a property, so
         * branches may overlap: in JSON Schema that is anyOf, not oneOf */
        int discriminated =
            strcmp(*k, "oneOf") == 0 && json_object_object_get_ex(s, "discriminator", NULL);
        struct json_object *branches = convert_list(c, v);
        if (discriminated)
            mark_discriminator(json_get(s, "discriminator", json_type_object), v, branches);
        json_add(out, discriminated ? "anyOf" : *k, branches);
    }
    if (json_object_object_get_ex(s, "not", &v))
        json_add(out, "not", convert(c, v));
    if (json_object_object_get_ex(s, "additionalProperties", &v))
        json_add(out, "additionalProperties",
                 json_object_is_type(v, json_type_boolean) ? json_object_get(v) : convert(c, v));
    struct json_object *props = json_get(s, "properties", json_type_object);
    struct json_object *required = json_get(s, "required", json_type_array);
    if (props || required) {
        struct json_object *req = convert_props(c, props, required, out);
        if (!props)
            json_object_object_del(out, "properties");
        if (json_object_array_length(req) > 0)
            json_add(out, "required", req);
        else
            json_object_put(req);
    }
    /* OpenAPI 3.0 nullable -> a type list with "null" */
    struct json_object *nullable = json_get(s, "nullable", json_type_boolean);
    struct json_object *type = json_get(out, "type", json_type_string);
    if (nullable && json_object_get_boolean(nullable) && type) {
        struct json_object *types = json_object_new_array();
        if (json_object_array_add(types, str(json_object_get_string(type))) != 0 ||
            json_object_array_add(types, str("null")) != 0)
            abort();
        json_add(out, "type", types);
        struct json_object *e = json_get(out, "enum", json_type_array);
        if (e && json_object_array_add(e, NULL) != 0)
            abort();
    }
    return out;
}

/* --- naming -------------------------------------------------------------- */

/* Adds a line to the import report. */
__attribute__((format(printf, 2, 3))) static void note(struct json_object *report, const char *fmt,
                                                       ...)
{
    char line[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (report && json_object_array_add(report, json_object_new_string(line)) != 0)
        abort();
}

static unsigned fnv1a(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The tool's own name (without the backend prefix) into out: the
 * operationId in snake_case (else method and path), of A-Z a-z 0-9 _ -
 * only, at most max bytes (max >= 16): a longer name keeps its first
 * bytes and ends in "_" and 6 hex digits of a hash of the whole name, so
 * the same document always gives the same names. *why says why the name
 * is not simply the operationId in snake_case, or is NULL. */
static void op_name(const char *method, const char *path, struct json_object *op, char *out,
                    size_t max, const char **why)
{
    char full[OPENAPI_LONG_NAME + 1];
    const char *id = json_get_string(op, "operationId");
    *why = NULL;
    full[0] = '\0';
    if (id && *id)
        tool_name_sanitize(id, 1, full, OPENAPI_LONG_NAME);
    if (!full[0]) {
        struct buf b = {0};
        if (buf_printf(&b, "%s_%s", method, path) < 0)
            abort();
        tool_name_sanitize(b.data, 1, full, OPENAPI_LONG_NAME);
        buf_free(&b);
        *why = "no operationId: named after the method and path";
    }
    /* '.' is a name character for MCP but not for every client */
    int dots = 0;
    for (char *p = full; *p; p++)
        if (*p == '.') {
            *p = '_';
            dots = 1;
        }
    char clean[OPENAPI_LONG_NAME + 1];
    tool_name_sanitize(full, 0, clean, OPENAPI_LONG_NAME); /* runs of '_' collapse */
    if (dots && !*why)
        *why = "characters outside A-Z a-z 0-9 _ - replaced";
    if (!clean[0])
        snprintf(clean, sizeof clean, "%s", method);
    size_t len = strlen(clean);
    if (len <= max) {
        memcpy(out, clean, len + 1);
        return;
    }
    size_t keep = max - 7;
    while (keep > 1 && clean[keep - 1] == '_')
        keep--;
    snprintf(out, max + 1, "%.*s_%06x", (int)keep, clean, fnv1a(clean) & 0xffffffu);
    *why = "too long: shortened, with a hash of the full name";
}

/* Whether text (an operationId or summary) has a word starting with one
 * of roots (lower case), words split at non-letters and camelCase. */
static const char *says(const char *text, const char *const *roots)
{
    if (!text)
        return NULL;
    char words[512];
    tool_name_sanitize(text, 1, words, sizeof words - 1);
    for (char *w = words; *w;) {
        size_t n = strcspn(w, "_.-");
        for (const char *const *r = roots; *r; r++)
            if (n >= strlen(*r) && strncasecmp(w, *r, strlen(*r)) == 0)
                return *r;
        w += n;
        w += strspn(w, "_.-");
    }
    return NULL;
}

/* operations that destroy or undo something whatever their method */
static const char *const destructive_roots[] = {
    "delet", "destroy", "remov",  "terminat", "restor", "overwrit", "revok",
    "reset", "purg",    "cancel", "wipe",     "eras",   NULL};
/* operations that say they make or change something */
static const char *const write_roots[] = {"creat",  "add",    "install", "updat",
                                          "assign", "attach", "start",   NULL};
/* POSTs that usually only read */
static const char *const read_roots[] = {"preview", "check",  "verif",   "search", "query",
                                         "validat", "lookup", "estimat", NULL};

/* An argument name for a parameter, unique in props. */
static void arg_name(const char *wire, const char *in, struct json_object *props, char *out)
{
    tool_name_sanitize(wire, 0, out, MAX_ARG_NAME_LEN);
    if (!*out)
        snprintf(out, MAX_ARG_NAME_LEN + 1, "%s_param", in);
    if (!json_object_object_get_ex(props, out, NULL))
        return;
    char base[MAX_ARG_NAME_LEN + 1];
    snprintf(base, sizeof base, "%.50s_%s", out, in);
    snprintf(out, MAX_ARG_NAME_LEN + 1, "%s", base);
    for (int i = 2; json_object_object_get_ex(props, out, NULL); i++)
        snprintf(out, MAX_ARG_NAME_LEN + 1, "%.50s_%d", base, i);
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

/* --- security ------------------------------------------------------------- */

/* The first security requirement whose schemes all exist, as an "auth"
 * list; an empty list for "no security"; NULL when req is absent. */
static struct json_object *auth_of(struct json_object *req, struct json_object *schemes,
                                   struct json_object *slots)
{
    if (!json_object_is_type(req, json_type_array))
        return NULL;
    size_t n = json_object_array_length(req);
    for (size_t i = 0; i < n; i++) {
        struct json_object *alt = json_object_array_get_idx(req, i);
        if (!json_object_is_type(alt, json_type_object))
            continue;
        int usable = 1;
        json_object_object_foreach(alt, k, v)
        {
            (void)v;
            usable &= json_object_object_get_ex(schemes, k, NULL) &&
                      json_object_object_get_ex(slots, k, NULL);
        }
        if (!usable)
            continue;
        struct json_object *list = json_object_new_array();
        json_object_object_foreach(alt, k2, v2)
        {
            (void)v2;
            if (json_object_array_add(list, str(k2)) != 0)
                abort();
        }
        return list;
    }
    return json_object_new_array();
}

/* Checks that every apiKey scheme sent as a header (slots_of) names a
 * header that can be sent: the backend file would not load otherwise
 * (found by tests/fuzz/fuzz_openapi.c). Returns 0, or -1 with a message. */
static int schemes_check(struct json_object *schemes, char *err, size_t errlen)
{
    if (!schemes)
        return 0;
    json_object_object_foreach(schemes, name, s)
    {
        const char *type = json_get_string(s, "type");
        const char *in = json_get_string(s, "in");
        const char *pname = json_get_string(s, "name");
        if (!type || strcmp(type, "apiKey") != 0 || !pname ||
            (in && (strcmp(in, "query") == 0 || strcmp(in, "cookie") == 0)))
            continue;
        if (!tool_header_name_ok(pname)) {
            snprintf(err, errlen, "security scheme %.64s: \"%.64s\" is not a valid header name",
                     name, pname);
            return -1;
        }
    }
    return 0;
}

/* 1 when the path template holds "{name}". */
static int path_names(const char *path, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{'))
        if (strncmp(p + 1, name, n) == 0 && p[1 + n] == '}')
            return 1;
    return 0;
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

/* Credential slots for the security schemes. Slot names are the scheme
 * names (they must be usable as JSON keys only). */
static struct json_object *slots_of(struct json_object *schemes, const struct openapi_opts *o,
                                    const char *title)
{
    struct json_object *slots = json_object_new_object();
    json_object_object_foreach(schemes, name, s0)
    {
        struct json_object *s = s0;
        const char *type = json_get_string(s, "type");
        const char *scheme = json_get_string(s, "scheme");
        const char *in = json_get_string(s, "in");
        const char *pname = json_get_string(s, "name");
        struct json_object *slot = json_object_new_object();
        if (!type)
            type = "";
        if (strcmp(type, "http") == 0 && scheme && strcasecmp(scheme, "basic") == 0) {
            json_add(slot, "type", str("basic"));
            json_add(slot, "description", str("user:password"));
        } else if (strcmp(type, "http") == 0 && scheme && strcasecmp(scheme, "bearer") != 0) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "%.40s ", scheme);
            json_add(slot, "type", str("header"));
            json_add(slot, "name", str("Authorization"));
            json_add(slot, "prefix", str(prefix));
        } else if (strcmp(type, "apiKey") == 0 && pname && in && strcmp(in, "query") == 0) {
            json_add(slot, "type", str("query"));
            json_add(slot, "name", str(pname));
        } else if (strcmp(type, "apiKey") == 0 && pname && in && strcmp(in, "cookie") == 0) {
            char prefix[160];
            snprintf(prefix, sizeof prefix, "%.128s=", pname);
            json_add(slot, "type", str("header"));
            json_add(slot, "name", str("Cookie"));
            json_add(slot, "prefix", str(prefix));
        } else if (strcmp(type, "apiKey") == 0 && pname) {
            json_add(slot, "type", str("header"));
            json_add(slot, "name", str(pname));
        } else { /* http bearer, oauth2, openIdConnect: an access token */
            json_add(slot, "type", str("bearer"));
            if (strcmp(type, "http") != 0)
                json_add(slot, "description", str("an access token for the API"));
        }
        /* a name for people (the account page, messages): the operator's,
         * else the scheme's own description, else what the value is and for
         * which API */
        const char *sd = json_get_string(s, "description");
        for (int i = 0; i < o->n_slot_names; i++) {
            const char *eq = strchr(o->slot_names[i], '=');
            if (eq && (size_t)(eq - o->slot_names[i]) == strlen(name) &&
                strncmp(o->slot_names[i], name, strlen(name)) == 0) {
                sd = eq + 1;
                if (o->slot_names_used)
                    o->slot_names_used[i] = 1;
            }
        }
        char shown[160];
        if (sd && *sd) {
            size_t n = strcspn(sd, "\r\n");
            snprintf(shown, sizeof shown, "%.*s", (int)json_utf8_cut(sd, n < 120 ? n : 120), sd);
        } else {
            const char *what = json_get_string(slot, "description");
            const char *type_s = json_get_string(slot, "type");
            if (!what)
                what = strcmp(type_s, "bearer") == 0 ? "access token" : "API key";
            snprintf(shown, sizeof shown, "%.60s: %.40s (%.40s)", title && *title ? title : o->name,
                     what, name);
        }
        json_add(slot, "description", str(shown));
        if (o->env_file) {
            char var[160];
            char clean[129];
            tool_name_sanitize(name, 0, clean, 100);
            snprintf(var, sizeof var, "%s_%s", o->name, clean);
            for (char *p = var; *p; p++)
                *p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
            json_add(slot, "env_file", str(o->env_file));
            json_add(slot, "variable", str(var));
        }
        json_add(slots, name, slot);
    }
    return slots;
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
    rb = deref(c->doc, rb);
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
    struct json_object *bs = schema ? convert(c, schema) : json_object_new_object();
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
            char clean[MAX_ARG_NAME_LEN + 1];
            tool_name_sanitize(k, 0, clean, MAX_ARG_NAME_LEN);
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
    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
        strchr(url, '{'))
        return NULL;
    return url;
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
    struct json_object *schema = json_object_new_object();
    struct json_object *props = json_object_new_object();
    struct json_object *required = json_object_new_array();
    struct json_object *args = json_object_new_object();
    /* the name, unique */
    char name[OPENAPI_NAME_MAX + 1];
    size_t max = 128 - strlen(o->name) - 1;
    if (max > OPENAPI_NAME_MAX)
        max = OPENAPI_NAME_MAX;
    const char *why = NULL;
    op_name(method, path, op, name, max, &why);
    char unique[OPENAPI_NAME_MAX + 1];
    snprintf(unique, sizeof unique, "%s", name);
    for (int i = 2; json_object_object_get_ex(names, unique, NULL); i++) {
        char suffix[16];
        int sl = snprintf(suffix, sizeof suffix, "_%d", i);
        snprintf(unique, sizeof unique, "%.*s%s", (int)(max - (size_t)sl), name, suffix);
        why = "another operation has the same name";
    }
    json_add(names, unique, json_object_new_boolean(1));
    json_add(tool, "name", str(unique));
    const char *id = json_get_string(op, "operationId");
    char up_method[16];
    snprintf(up_method, sizeof up_method, "%s", method);
    for (char *p = up_method; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (why)
        note(report, "renamed: %s %.200s (operationId %.200s) is %s_%s: %s", up_method, path,
             id ? id : "none", o->name, unique, why);
    const char *summary = json_get_string(op, "summary");
    const char *description = json_get_string(op, "description");
    if (summary && *summary)
        json_add(tool, "title", desc(summary));
    struct buf d = {0};
    if (buf_printf(&d, "%s%s%s", summary ? summary : "",
                   summary && description && *description ? "\n\n" : "",
                   description ? description : "") < 0)
        abort();
    if (d.len)
        json_add(tool, "description", desc(d.data));
    buf_free(&d);
    char up[16];
    snprintf(up, sizeof up, "%s", method);
    for (char *p = up; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    json_add(tool, "method", str(up));
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
    /* parameters: the operation's override the path's (same name and in) */
    struct json_object *lists[2] = {json_get(item, "parameters", json_type_array),
                                    json_get(op, "parameters", json_type_array)};
    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; lists[l] && i < json_object_array_length(lists[l]); i++) {
            struct json_object *p = deref(c->doc, json_object_array_get_idx(lists[l], i));
            const char *pname = json_get_string(p, "name");
            const char *in = json_get_string(p, "in");
            if (!pname || !in || strcmp(in, "cookie") == 0)
                continue;
            /* A parameter in no place a backend file knows, or a header
             * parameter whose name is not a header name, cannot be sent and
             * would make the written file fail to load (both found by
             * tests/fuzz/fuzz_openapi.c): left out like a cookie. */
            if (strcmp(in, "path") != 0 && strcmp(in, "query") != 0 && strcmp(in, "header") != 0)
                continue;
            if (strcmp(in, "header") == 0 && !tool_header_name_ok(pname))
                continue;
            if (strcmp(in, "path") == 0 && !path_names(path, pname))
                continue; /* not in the template: nothing to fill (fuzz_openapi.c) */
            if (strcmp(in, "header") == 0 &&
                (strcasecmp(pname, "Authorization") == 0 ||
                 strcasecmp(pname, "Content-Type") == 0 || strcasecmp(pname, "Accept") == 0 ||
                 strcasecmp(pname, "Content-Length") == 0 || strcasecmp(pname, "Host") == 0))
                continue;
            if (l == 0) {
                /* the operation may redefine it */
                int overridden = 0;
                for (size_t j = 0; lists[1] && j < json_object_array_length(lists[1]); j++) {
                    struct json_object *q = deref(c->doc, json_object_array_get_idx(lists[1], j));
                    const char *qn = json_get_string(q, "name"), *qi = json_get_string(q, "in");
                    overridden |= qn && qi && strcmp(qn, pname) == 0 && strcmp(qi, in) == 0;
                }
                if (overridden)
                    continue;
            }
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
            struct json_object *s = ps ? convert(c, ps) : json_object_new_object();
            if (!json_object_is_type(s, json_type_object)) {
                json_object_put(s);
                s = json_object_new_object();
            }
            const char *pd = json_get_string(p, "description");
            if (pd && *pd)
                json_add(s, "description", desc(pd));
            char aname[MAX_ARG_NAME_LEN + 1];
            arg_name(pname, in, props, aname);
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
    }
    struct json_object *rb = NULL;
    if (json_object_object_get_ex(op, "requestBody", &rb) &&
        add_body(c, rb, tool, props, required, args) < 0) {
        json_object_put(tool);
        json_object_put(schema);
        json_object_put(props);
        json_object_put(required);
        json_object_put(args);
        return NULL;
    }
    if (!path_covered(path, args)) {
        /* a {name} no path parameter fills: the file would not load
         * (found by tests/fuzz/fuzz_openapi.c); skipped */
        json_object_put(tool);
        json_object_put(schema);
        json_object_put(props);
        json_object_put(required);
        json_object_put(args);
        return NULL;
    }
    json_add(schema, "type", str("object"));
    json_add(schema, "properties", props);
    if (json_object_array_length(required) > 0)
        json_add(schema, "required", required);
    else
        json_object_put(required);
    json_add(schema, "additionalProperties", json_object_new_boolean(0));
    json_add(tool, "input_schema", schema);
    json_add(tool, "args", args);
    /* access follows the method, raised to destructive when the operation
     * says it destroys or undoes something */
    const char *access =
        strcmp(method, "get") == 0 || strcmp(method, "head") == 0 || strcmp(method, "options") == 0
            ? "read"
        : strcmp(method, "delete") == 0 ? "destructive"
                                        : "write";
    const char *summary_text = json_get_string(op, "summary");
    if (strcmp(access, "write") == 0) {
        const char *word = says(id, destructive_roots);
        if (!word)
            word = says(summary_text, destructive_roots);
        if (word) {
            access = "destructive";
            note(report,
                 "destructive: %s_%s (%s %.200s): its operationId or summary says "
                 "\"%s...\"",
                 o->name, unique, up_method, path, word);
        } else if (strcmp(method, "post") == 0 && !says(id, write_roots) &&
                   !says(summary_text, write_roots)) {
            word = says(id, read_roots);
            if (!word)
                word = says(summary_text, read_roots);
            if (word)
                note(report,
                     "may only read: %s_%s (POST %.200s) says \"%s...\"; kept as "
                     "write, --access %s=read makes it read",
                     o->name, unique, path, word, unique);
        }
    }
    for (int i = 0; i < o->n_access; i++) {
        const char *eq = strchr(o->access[i], '=');
        size_t n = eq ? (size_t)(eq - o->access[i]) : 0;
        if (eq && ((strlen(unique) == n && strncmp(o->access[i], unique, n) == 0) ||
                   (id && strlen(id) == n && strncmp(o->access[i], id, n) == 0))) {
            access = eq + 1;
            o->access_used[i] = 1;
        }
    }
    json_add(tool, "access", str(access));
    struct json_object *sec = NULL;
    if (json_object_object_get_ex(op, "security", &sec)) {
        struct json_object *auth = auth_of(sec, schemes, slots);
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
    return strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0 ? 0 : -1;
}

/* The error for a selection that matches no operation, naming the
 * document's tags (tags are compared exactly: "project" is not "Project"). */
static void no_match(struct json_object *paths, char *err, size_t errlen)
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
    snprintf(err, errlen,
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
        note(st->report, "credential slot %s left out: no selected operation uses it", gone);
        json_object_object_del(slots, gone);
    }
    st->slots = slots ? json_object_object_length(slots) : 0;
    json_object_put(drop);
    json_object_put(used);
}

struct json_object *tool_openapi_import(struct json_object *doc, const struct openapi_opts *o,
                                        struct openapi_stats *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    st->report = json_object_new_array();
    const char *ver = json_get_string(doc, "openapi");
    if (!ver || (strncmp(ver, "3.0", 3) != 0 && strncmp(ver, "3.1", 3) != 0)) {
        snprintf(err, errlen,
                 "not an OpenAPI 3.0 or 3.1 document (no \"openapi\": \"3.x\"; "
                 "convert Swagger 2.0 first, e.g. with swagger2openapi)");
        return NULL;
    }
    struct json_object *paths = json_get(doc, "paths", json_type_object);
    if (!paths) {
        snprintf(err, errlen, "the document has no \"paths\"");
        return NULL;
    }
    if (schemes_check(json_get(json_get(doc, "components", json_type_object), "securitySchemes",
                               json_type_object),
                      err, errlen) < 0)
        return NULL;
    struct buf base = {0};
    if (o->base_url) {
        if (buf_puts(&base, o->base_url) < 0)
            abort();
    } else if (server_url(doc, &base) < 0 || !tool_url_ok(base.data, 0)) {
        buf_free(&base);
        snprintf(err, errlen,
                 "the document names no usable absolute server URL (servers[0].url): give "
                 "the API's address with --base-url");
        return NULL;
    }
    if (!tool_url_ok(base.data, 0)) {
        buf_free(&base);
        snprintf(err, errlen,
                 "--base-url must be an http:// or https:// URL without query, "
                 "fragment or spaces");
        return NULL;
    }
    struct json_object *info = json_get(doc, "info", json_type_object);
    struct json_object *schemes = json_get(json_get(doc, "components", json_type_object),
                                           "securitySchemes", json_type_object);
    struct json_object *empty = json_object_new_object();
    if (!schemes)
        schemes = empty;
    struct json_object *out = json_object_new_object();
    json_add(out, "mcpgate_backend", json_object_new_int(1));
    json_add(out, "name", str(o->name));
    const char *title = json_get_string(info, "title");
    if (title && *title)
        json_add(out, "title", desc(title));
    json_add(out, "base_url", str(base.data));
    buf_free(&base);
    if (o->allow_private)
        json_add(out, "allow_private", json_object_new_boolean(1));
    struct json_object *slots = slots_of(schemes, o, title);
    st->slots = json_object_object_length(slots);
    struct json_object *global = NULL;
    json_object_object_get_ex(doc, "security", &global);
    struct json_object *auth = auth_of(global, schemes, slots);
    struct json_object *meta = json_object_new_object();
    json_add(meta, "title", str(title ? title : ""));
    json_add(meta, "version",
             str(json_get_string(info, "version") ? json_get_string(info, "version") : ""));
    json_add(meta, "openapi", str(ver));
    json_add(out, "openapi", meta);
    json_add(out, "credentials", slots);
    if (auth)
        json_add(out, "auth", auth);
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
    json_object_put(empty);
    if (st->selected == 0 && (o->n_tags || o->n_paths || o->n_methods)) {
        no_match(paths, err, errlen);
        json_object_put(tools);
        json_object_put(out);
        return NULL;
    }
    for (int i = 0; i < o->n_slot_names; i++) {
        if (o->slot_names_used && !o->slot_names_used[i]) {
            snprintf(err, errlen,
                     "--credential-name %.200s: the document has no such security "
                     "scheme",
                     o->slot_names[i]);
            json_object_put(tools);
            json_object_put(out);
            return NULL;
        }
    }
    for (int i = 0; i < o->n_access; i++) {
        if (o->access_used && !o->access_used[i]) {
            snprintf(err, errlen, "--access %.200s: no selected operation has that name",
                     o->access[i]);
            json_object_put(tools);
            json_object_put(out);
            return NULL;
        }
    }
    json_add(out, "tools", tools);
    drop_unused_slots(out, st);
    return out;
}
