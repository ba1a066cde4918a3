/*
 * tools/registry.c - the tools a user can list and call.
 */
#include "tools/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

#define MAX_TABLES 8

static const struct tool_def *tables[MAX_TABLES];
static int table_len[MAX_TABLES];
static int n_tables;

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

const struct tool_def *tool_find(const char *name)
{
    for (int t = 0; t < n_tables; t++)
        for (int i = 0; i < table_len[t]; i++)
            if (strcmp(tables[t][i].name, name) == 0)
                return &tables[t][i];
    return NULL;
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
