/*
 * tools/catalog.c - the resources, resource templates and prompts a client
 * can list, read and get, and the completions offered for their arguments.
 */
#include "tools/catalog.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/json.h"

#define MAX_TABLES            8
#define TEMPLATE_VAR_NAME_MAX 64     /* longest variable name in a URI template */
#define MATCH_BUDGET          100000 /* steps one template may take to match one URI */

/* The tables of one kind of definition, in the order they were added:
 * entries are size bytes apart, each naming itself by the string member at
 * key_off. Written only at start-up, before the threads. */
struct defs {
    const void *table[MAX_TABLES];
    int len[MAX_TABLES];
    int n;
    size_t size;
    size_t key_off;
};

static struct defs resources = {.size = sizeof(struct tool_resource_def),
                                .key_off = offsetof(struct tool_resource_def, uri)};
static struct defs templates = {.size = sizeof(struct tool_template_def),
                                .key_off = offsetof(struct tool_template_def, uri_template)};
static struct defs prompts = {.size = sizeof(struct tool_prompt_def),
                              .key_off = offsetof(struct tool_prompt_def, name)};

/* Entry i counting through all the tables in order, or NULL past the last. */
static const void *defs_nth(const struct defs *d, int i)
{
    for (int t = 0; t < d->n; t++) {
        if (i < d->len[t])
            return (const char *)d->table[t] + (size_t)i * d->size;
        i -= d->len[t];
    }
    return NULL;
}

/* The first entry named key, or NULL. */
static const void *defs_find(const struct defs *d, const char *key)
{
    const char *e;
    for (int i = 0; (e = defs_nth(d, i)) != NULL; i++)
        if (strcmp(*(const char *const *)(e + d->key_off), key) == 0)
            return e;
    return NULL;
}

static void die(const char *what, const char *name)
{
    fprintf(stderr, "mcpgate: %s: %s\n", what, name ? name : "(null)");
    abort();
}

static int name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 128)
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* An absolute URI of at most TOOL_URI_MAX bytes: scheme ":" and no
 * white space or control characters. */
static int uri_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > TOOL_URI_MAX)
        return 0;
    size_t scheme = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-");
    if (scheme == 0 || s[scheme] != ':')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return 0;
    return 1;
}

/* Checks a level-1 URI template: balanced {name} with names of 1 to
 * TEMPLATE_VAR_NAME_MAX of [A-Za-z0-9_], at most TOOL_TEMPLATE_VARS, never two variables side by
 * side (the split between them would be ambiguous). */
static int template_valid(const char *t)
{
    if (!uri_valid(t))
        return 0;
    int vars = 0;
    const char *prev_end = NULL;
    for (const char *p = t; *p; p++) {
        if (*p == '}')
            return 0;
        if (*p != '{')
            continue;
        const char *end = strchr(p, '}');
        size_t n = end ? (size_t)(end - p - 1) : 0;
        if (!end || n == 0 || n > TEMPLATE_VAR_NAME_MAX ||
            strspn(p + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != n)
            return 0;
        if (prev_end == p || ++vars > TOOL_TEMPLATE_VARS)
            return 0;
        p = end;
        prev_end = end + 1;
    }
    return 1;
}

/* Adds table (n entries) to d, or aborts when an entry is not valid (fault()
 * says why, or returns NULL when it is) or when an earlier entry took its
 * name (the message twice). The table is added first, so the lookup finds
 * the first entry of a name among all the tables: any but the entry itself
 * is an earlier one. */
static void defs_add(struct defs *d, const void *table, int n, const char *(*fault)(const void *e),
                     const char *twice)
{
    if (d->n == MAX_TABLES)
        abort();
    d->table[d->n] = table;
    d->len[d->n] = n;
    d->n++;
    for (int i = 0; i < n; i++) {
        const char *e = (const char *)table + (size_t)i * d->size;
        const char *key = *(const char *const *)(e + d->key_off);
        const char *why = fault(e);
        if (why)
            die(why, key);
        if (defs_find(d, key) != e)
            die(twice, key);
    }
}

static const char *resource_fault(const void *e)
{
    const struct tool_resource_def *d = e;
    return !uri_valid(d->uri) || !d->name || !d->read ? "invalid resource definition" : NULL;
}

static const char *template_fault(const void *e)
{
    const struct tool_template_def *d = e;
    return !template_valid(d->uri_template) || !d->name || !d->read
               ? "invalid resource template definition"
               : NULL;
}

static const char *prompt_fault(const void *e)
{
    const struct tool_prompt_def *d = e;
    if (!name_valid(d->name) || !d->get || (d->n_args > 0 && !d->args) || d->n_args < 0)
        return "invalid prompt definition";
    for (int a = 0; a < d->n_args; a++)
        if (!d->args[a].name || !*d->args[a].name)
            return "prompt argument without a name";
    return NULL;
}

void tool_resources_add(const struct tool_resource_def *defs, int n)
{
    defs_add(&resources, defs, n, resource_fault, "resource registered twice");
}

void tool_templates_add(const struct tool_template_def *defs, int n)
{
    defs_add(&templates, defs, n, template_fault, "resource template registered twice");
}

void tool_prompts_add(const struct tool_prompt_def *defs, int n)
{
    defs_add(&prompts, defs, n, prompt_fault, "prompt registered twice");
}

static void add_opt(struct json_object *o, const char *key, const char *value)
{
    if (value)
        json_add(o, key, json_object_new_string(value));
}

static void push(struct json_object *arr, struct json_object *item)
{
    if (json_object_array_add(arr, item) != 0)
        abort();
}

/* A resource or template as resources/list and resources/templates/list
 * show it: key ("uri" or "uriTemplate") holding id, its name and texts. */
static struct json_object *listed(const char *key, const char *id, const char *name,
                                  const char *title, const char *description, const char *mime_type)
{
    struct json_object *o = json_object_new_object();
    json_add(o, key, json_object_new_string(id));
    json_add(o, "name", json_object_new_string(name));
    add_opt(o, "title", title);
    add_opt(o, "description", description);
    add_opt(o, "mimeType", mime_type);
    return o;
}

struct json_object *tool_resource_list_json(void)
{
    struct json_object *arr = json_object_new_array();
    const struct tool_resource_def *d;
    for (int i = 0; (d = defs_nth(&resources, i)) != NULL; i++)
        push(arr, listed("uri", d->uri, d->name, d->title, d->description, d->mime_type));
    return arr;
}

struct json_object *tool_template_list_json(void)
{
    struct json_object *arr = json_object_new_array();
    const struct tool_template_def *d;
    for (int i = 0; (d = defs_nth(&templates, i)) != NULL; i++)
        push(arr, listed("uriTemplate", d->uri_template, d->name, d->title, d->description,
                         d->mime_type));
    return arr;
}

struct json_object *tool_prompt_list_json(void)
{
    struct json_object *arr = json_object_new_array();
    const struct tool_prompt_def *d;
    for (int i = 0; (d = defs_nth(&prompts, i)) != NULL; i++) {
        struct json_object *o = json_object_new_object();
        json_add(o, "name", json_object_new_string(d->name));
        add_opt(o, "title", d->title);
        add_opt(o, "description", d->description);
        if (d->n_args > 0) {
            struct json_object *args = json_object_new_array();
            for (int a = 0; a < d->n_args; a++) {
                struct json_object *arg = json_object_new_object();
                json_add(arg, "name", json_object_new_string(d->args[a].name));
                add_opt(arg, "description", d->args[a].description);
                json_add(arg, "required", json_object_new_boolean(d->args[a].required));
                push(args, arg);
            }
            json_add(o, "arguments", args);
        }
        push(arr, o);
    }
    return arr;
}

/* Matches uri against the template from t on, adding each variable to
 * vars. A variable takes one or more characters other than '/'; shorter
 * values are tried first, so the first match is the same on every call.
 * *budget bounds the work a hostile URI can cause (backtracking over many
 * variables): when it runs out the URI does not match. Returns 1 on a
 * match (vars complete), else 0 (vars may hold leftovers the caller
 * discards). */
static int match(const char *t, const char *uri, struct json_object *vars, long *budget)
{
    if (--*budget < 0)
        return 0;
    while (*t && *t != '{') {
        if (*t != *uri)
            return 0;
        t++;
        uri++;
    }
    if (!*t)
        return *uri == '\0';
    const char *name_end = strchr(t, '}');
    char name[TEMPLATE_VAR_NAME_MAX + 1];
    size_t name_len = (size_t)(name_end - t - 1);
    memcpy(name, t + 1, name_len);
    name[name_len] = '\0';
    size_t avail = strcspn(uri, "/");
    for (size_t n = 1; n <= avail; n++) {
        if (!match(name_end + 1, uri + n, vars, budget))
            continue;
        json_add(vars, name, json_object_new_string_len(uri, (int)n));
        return 1;
    }
    return 0;
}

int tool_resource_resolve(const char *uri, const struct tool_resource_def **res,
                          const struct tool_template_def **tmpl, struct json_object **vars)
{
    if (!uri || strlen(uri) > TOOL_URI_MAX)
        return -1;
    const struct tool_resource_def *r = defs_find(&resources, uri);
    if (r) {
        *res = r;
        *tmpl = NULL;
        *vars = NULL;
        return 0;
    }
    const struct tool_template_def *t;
    for (int i = 0; (t = defs_nth(&templates, i)) != NULL; i++) {
        struct json_object *v = json_object_new_object();
        long budget = MATCH_BUDGET;
        if (match(t->uri_template, uri, v, &budget)) {
            *res = NULL;
            *tmpl = t;
            *vars = v;
            return 0;
        }
        json_object_put(v);
    }
    return -1;
}

const struct tool_template_def *tool_template_find(const char *uri_template)
{
    return defs_find(&templates, uri_template);
}

int tool_template_has_var(const struct tool_template_def *t, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strchr(t->uri_template, '{'); p; p = strchr(p + 1, '{'))
        if (strncmp(p + 1, name, n) == 0 && p[1 + n] == '}')
            return 1;
    return 0;
}

const struct tool_prompt_def *tool_prompt_find(const char *name)
{
    return defs_find(&prompts, name);
}

const struct tool_prompt_arg *tool_prompt_arg_find(const struct tool_prompt_def *p,
                                                   const char *name)
{
    for (int a = 0; a < p->n_args; a++)
        if (strcmp(p->args[a].name, name) == 0)
            return &p->args[a];
    return NULL;
}

int tool_prompt_check_args(const struct tool_prompt_def *p, struct json_object *args,
                           struct mg_error *err)
{
    if (args && !json_object_is_type(args, json_type_object)) {
        mg_error_msg(err, "params.arguments must be an object of strings");
        return -1;
    }
    if (args) {
        json_object_object_foreach(args, key, val)
        {
            if (!tool_prompt_arg_find(p, key)) {
                mg_error_msg(err, "prompt %s has no argument \"%.64s\"", p->name, key);
                return -1;
            }
            if (!json_object_is_type(val, json_type_string)) {
                mg_error_msg(err, "argument \"%.64s\" of prompt %s must be a string", key, p->name);
                return -1;
            }
        }
    }
    for (int a = 0; a < p->n_args; a++) {
        if (p->args[a].required && !json_get(args, p->args[a].name, json_type_string)) {
            mg_error_msg(err, "prompt %s needs the argument \"%.64s\"", p->name, p->args[a].name);
            return -1;
        }
    }
    return 0;
}

struct json_object *tool_complete_prefix(const char *const *candidates, const char *value)
{
    struct json_object *arr = json_object_new_array();
    size_t n = strlen(value);
    for (; candidates && *candidates; candidates++)
        if (strncasecmp(*candidates, value, n) == 0)
            push(arr, json_object_new_string(*candidates));
    return arr;
}
