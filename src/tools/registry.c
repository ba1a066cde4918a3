/*
 * tools/registry.c - the tools a user can list and call.
 */
#include "tools/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

#define MAX_TABLES 300 /* builtin and fixture tables, one per REST backend */

static const struct tool_def *tables[MAX_TABLES];
static int table_len[MAX_TABLES];
static int n_tables;

#define MAX_SOURCES 8 /* dynamic sources: the upstream MCP backends are one */

static const struct tool_source *sources[MAX_SOURCES];
static int n_sources;

static int name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

void tool_registry_add(const struct tool_def *defs, int n)
{
    if (n_tables == MAX_TABLES)
        abort();
    for (int i = 0; i < n; i++) {
        if (!name_valid(defs[i].name) || tool_find(defs[i].name)) {
            fprintf(stderr, "mcpgate: tool name %s is invalid or registered twice\n", defs[i].name);
            abort();
        }
        struct json_object *schema = json_tokener_parse(defs[i].input_schema);
        if (!json_object_is_type(schema, json_type_object)) {
            fprintf(stderr, "mcpgate: tool %s has an invalid input schema\n", defs[i].name);
            abort();
        }
        json_object_put(schema);
    }
    tables[n_tables] = defs;
    table_len[n_tables] = n;
    n_tables++;
}

void tool_registry_add_source(const struct tool_source *src)
{
    if (n_sources == MAX_SOURCES)
        abort();
    sources[n_sources++] = src;
}

static const struct tool_def *find_static(const char *name)
{
    for (int t = 0; t < n_tables; t++)
        for (int i = 0; i < table_len[t]; i++)
            if (strcmp(tables[t][i].name, name) == 0)
                return &tables[t][i];
    return NULL;
}

const struct tool_def *tool_find_db(struct store_conn *db, const char *name)
{
    const struct tool_def *found = find_static(name);
    if (found)
        return found;
    for (int s = 0; s < n_sources; s++) {
        const struct tool_def *d = sources[s]->find(sources[s]->self, db, name);
        if (d)
            return d;
    }
    return NULL;
}

const struct tool_def *tool_find(const char *name)
{
    return tool_find_db(NULL, name);
}

static struct json_object *annotations(const struct tool_def *d)
{
    struct json_object *a = json_object_new_object();
    if (d->title)
        json_add(a, "title", json_object_new_string(d->title));
    json_add(a, "readOnlyHint", json_object_new_boolean(d->access == TOOL_READ));
    json_add(a, "destructiveHint", json_object_new_boolean(d->access == TOOL_DESTRUCTIVE));
    json_add(a, "idempotentHint", json_object_new_boolean(d->access == TOOL_READ));
    json_add(a, "openWorldHint", json_object_new_boolean(d->open_world));
    return a;
}

struct json_object *tool_list_json(void)
{
    return tool_list_json_db(NULL);
}

struct json_object *tool_list_json_db(struct store_conn *db)
{
    struct json_object *arr = json_object_new_array();
    for (int t = 0; t < n_tables; t++) {
        for (int i = 0; i < table_len[t]; i++) {
            const struct tool_def *d = &tables[t][i];
            struct json_object *o = json_object_new_object();
            json_add(o, "name", json_object_new_string(d->name));
            if (d->title)
                json_add(o, "title", json_object_new_string(d->title));
            json_add(o, "description", json_object_new_string(d->description));
            json_add(o, "inputSchema", json_tokener_parse(d->input_schema));
            json_add(o, "annotations", annotations(d));
            if (json_object_array_add(arr, o) != 0)
                abort();
        }
    }
    for (int s = 0; s < n_sources; s++) {
        /* a static tool of the same name wins, as in tool_find_db() */
        struct json_object *more = json_object_new_array();
        sources[s]->list(sources[s]->self, db, more);
        for (size_t i = 0; i < json_object_array_length(more); i++) {
            struct json_object *o = json_object_array_get_idx(more, i);
            const char *name = json_get_string(o, "name");
            if (name && !find_static(name) && json_object_array_add(arr, json_object_get(o)) != 0)
                abort();
        }
        json_object_put(more);
    }
    return arr;
}

struct json_object *tool_result_text(const char *text, int is_error)
{
    struct json_object *r = json_object_new_object();
    struct json_object *content = json_object_new_array();
    struct json_object *item = json_object_new_object();
    json_add(item, "type", json_object_new_string("text"));
    json_add(item, "text", json_object_new_string(text));
    if (json_object_array_add(content, item) != 0)
        abort();
    json_add(r, "content", content);
    json_add(r, "isError", json_object_new_boolean(is_error));
    return r;
}
