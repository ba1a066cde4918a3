/*
 * tools/catalog.c - the resources, resource templates and prompts a client
 * can list, read and get, and the completions offered for their arguments.
 */
#include "tools/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/json.h"

#define MAX_TABLES            8
#define TEMPLATE_VAR_NAME_MAX 64     /* longest variable name in a URI template */
#define MATCH_BUDGET          100000 /* steps one template may take to match one URI */

static const struct tool_resource_def *res_tables[MAX_TABLES];
static int res_len[MAX_TABLES];
static int n_res_tables;

static const struct tool_template_def *tmpl_tables[MAX_TABLES];
static int tmpl_len[MAX_TABLES];
static int n_tmpl_tables;

static const struct tool_prompt_def *prompt_tables[MAX_TABLES];
static int prompt_len[MAX_TABLES];
static int n_prompt_tables;

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

void tool_resources_add(const struct tool_resource_def *defs, int n)
{
    if (n_res_tables == MAX_TABLES)
        abort();
    for (int i = 0; i < n; i++) {
        const struct tool_resource_def *d = &defs[i];
        const struct tool_resource_def *r = NULL;
        const struct tool_template_def *t = NULL;
        struct json_object *vars = NULL;
        if (!uri_valid(d->uri) || !d->name || !d->read)
            die("invalid resource definition", d->uri);
        if (tool_resource_resolve(d->uri, &r, &t, &vars) == 0 && r)
            die("resource registered twice", d->uri);
        json_object_put(vars);
        for (int j = 0; j < i; j++)
            if (strcmp(defs[j].uri, d->uri) == 0)
                die("resource registered twice", d->uri);
    }
    res_tables[n_res_tables] = defs;
    res_len[n_res_tables] = n;
    n_res_tables++;
}

void tool_templates_add(const struct tool_template_def *defs, int n)
{
    if (n_tmpl_tables == MAX_TABLES)
        abort();
    for (int i = 0; i < n; i++) {
        const struct tool_template_def *d = &defs[i];
        if (!template_valid(d->uri_template) || !d->name || !d->read)
            die("invalid resource template definition", d->uri_template);
        if (tool_template_find(d->uri_template))
            die("resource template registered twice", d->uri_template);
        for (int j = 0; j < i; j++)
            if (strcmp(defs[j].uri_template, d->uri_template) == 0)
                die("resource template registered twice", d->uri_template);
    }
    tmpl_tables[n_tmpl_tables] = defs;
    tmpl_len[n_tmpl_tables] = n;
    n_tmpl_tables++;
}

void tool_prompts_add(const struct tool_prompt_def *defs, int n)
{
    if (n_prompt_tables == MAX_TABLES)
        abort();
    for (int i = 0; i < n; i++) {
        const struct tool_prompt_def *d = &defs[i];
        if (!name_valid(d->name) || !d->get || (d->n_args > 0 && !d->args) || d->n_args < 0)
            die("invalid prompt definition", d->name);
        if (tool_prompt_find(d->name))
            die("prompt registered twice", d->name);
        for (int j = 0; j < i; j++)
            if (strcmp(defs[j].name, d->name) == 0)
                die("prompt registered twice", d->name);
        for (int a = 0; a < d->n_args; a++)
            if (!d->args[a].name || !*d->args[a].name)
                die("prompt argument without a name", d->name);
    }
    prompt_tables[n_prompt_tables] = defs;
    prompt_len[n_prompt_tables] = n;
    n_prompt_tables++;
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
    for (int t = 0; t < n_res_tables; t++) {
        for (int i = 0; i < res_len[t]; i++) {
            const struct tool_resource_def *d = &res_tables[t][i];
            push(arr, listed("uri", d->uri, d->name, d->title, d->description, d->mime_type));
        }
    }
    return arr;
}

struct json_object *tool_template_list_json(void)
{
    struct json_object *arr = json_object_new_array();
    for (int t = 0; t < n_tmpl_tables; t++) {
        for (int i = 0; i < tmpl_len[t]; i++) {
            const struct tool_template_def *d = &tmpl_tables[t][i];
            push(arr, listed("uriTemplate", d->uri_template, d->name, d->title, d->description,
                             d->mime_type));
        }
    }
    return arr;
}

struct json_object *tool_prompt_list_json(void)
{
    struct json_object *arr = json_object_new_array();
    for (int t = 0; t < n_prompt_tables; t++) {
        for (int i = 0; i < prompt_len[t]; i++) {
            const struct tool_prompt_def *d = &prompt_tables[t][i];
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
    for (int t = 0; t < n_res_tables; t++) {
        for (int i = 0; i < res_len[t]; i++) {
            if (strcmp(res_tables[t][i].uri, uri) != 0)
                continue;
            *res = &res_tables[t][i];
            *tmpl = NULL;
            *vars = NULL;
            return 0;
        }
    }
    for (int t = 0; t < n_tmpl_tables; t++) {
        for (int i = 0; i < tmpl_len[t]; i++) {
            struct json_object *v = json_object_new_object();
            long budget = MATCH_BUDGET;
            if (match(tmpl_tables[t][i].uri_template, uri, v, &budget)) {
                *res = NULL;
                *tmpl = &tmpl_tables[t][i];
                *vars = v;
                return 0;
            }
            json_object_put(v);
        }
    }
    return -1;
}

const struct tool_template_def *tool_template_find(const char *uri_template)
{
    for (int t = 0; t < n_tmpl_tables; t++)
        for (int i = 0; i < tmpl_len[t]; i++)
            if (strcmp(tmpl_tables[t][i].uri_template, uri_template) == 0)
                return &tmpl_tables[t][i];
    return NULL;
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
    for (int t = 0; t < n_prompt_tables; t++)
        for (int i = 0; i < prompt_len[t]; i++)
            if (strcmp(prompt_tables[t][i].name, name) == 0)
                return &prompt_tables[t][i];
    return NULL;
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
