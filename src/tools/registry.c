/*
 * tools/registry.c - the tools a user can list and call.
 */
#include "tools/registry.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/printbuf.h>

#include "util/alloc.h"
#include "util/json.h"

#define MAX_TABLES 300 /* builtin and fixture tables, one per REST backend */

static const struct tool_def *tables[MAX_TABLES];
static int table_len[MAX_TABLES];
static int n_tables;

#define MAX_SOURCES 8 /* dynamic sources: the upstream MCP backends are one */

static const struct tool_source *sources[MAX_SOURCES];
static int n_sources;

/* Every static tool in listing order, with its tools/list entry as JSON
 * text (made once), and an open-addressing index by name. Built while the
 * process starts, read-only once threads run. */
static const struct tool_def **flat;
static char **flat_json;
static size_t *flat_json_len;
static int n_flat, flat_cap;
static int *by_name; /* indexes into flat, -1 for empty; size name_slots */
static unsigned name_slots;

static int name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static unsigned name_hash(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static const struct tool_def *find_static(const char *name)
{
    if (!name_slots)
        return NULL;
    for (unsigned i = name_hash(name) & (name_slots - 1);; i = (i + 1) & (name_slots - 1)) {
        if (by_name[i] < 0)
            return NULL;
        if (strcmp(flat[by_name[i]]->name, name) == 0)
            return flat[by_name[i]];
    }
}

/* Rebuilds the index for n_flat tools, at most half full. */
static void index_names(void)
{
    unsigned slots = 64;
    while (slots < 2u * (unsigned)n_flat)
        slots *= 2;
    free(by_name);
    by_name = xmalloc(slots * sizeof *by_name);
    for (unsigned i = 0; i < slots; i++)
        by_name[i] = -1;
    name_slots = slots;
    for (int k = 0; k < n_flat; k++) {
        unsigned i = name_hash(flat[k]->name) & (slots - 1);
        while (by_name[i] >= 0)
            i = (i + 1) & (slots - 1);
        by_name[i] = k;
    }
}

static struct json_object *annotations(const struct tool_def *d);

/* The tools/list entry of d. */
static struct json_object *entry_json(const struct tool_def *d)
{
    struct json_object *o = json_object_new_object();
    json_add(o, "name", json_object_new_string(d->name));
    if (d->title)
        json_add(o, "title", json_object_new_string(d->title));
    json_add(o, "description", json_object_new_string(d->description));
    json_add(o, "inputSchema", json_tokener_parse(d->input_schema));
    json_add(o, "annotations", annotations(d));
    if (d->task_support != TOOL_TASK_FORBIDDEN) {
        struct json_object *ex = json_object_new_object();
        json_add(ex, "taskSupport",
                 json_object_new_string(d->task_support == TOOL_TASK_REQUIRED ? "required"
                                                                              : "optional"));
        json_add(o, "execution", ex);
    }
    return o;
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
        if (n_flat == flat_cap) {
            flat_cap = flat_cap ? 2 * flat_cap : 64;
            flat = xrealloc(flat, (size_t)flat_cap * sizeof *flat);
            flat_json = xrealloc(flat_json, (size_t)flat_cap * sizeof *flat_json);
            flat_json_len = xrealloc(flat_json_len, (size_t)flat_cap * sizeof *flat_json_len);
        }
        struct json_object *o = entry_json(&defs[i]);
        size_t len;
        flat_json[n_flat] = xstrdup(json_text(o, &len));
        flat_json_len[n_flat] = len;
        json_object_put(o);
        flat[n_flat++] = &defs[i];
        /* index as we go, so a name repeated within defs is caught above */
        if (2u * (unsigned)n_flat > name_slots)
            index_names();
        else
            for (unsigned k = name_hash(defs[i].name) & (name_slots - 1);;
                 k = (k + 1) & (name_slots - 1))
                if (by_name[k] < 0) {
                    by_name[k] = n_flat - 1;
                    break;
                }
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

int tool_static_count(void)
{
    return n_flat;
}

int tool_source_count(void)
{
    return n_sources;
}

const struct tool_def *tool_static_at(int i)
{
    return i >= 0 && i < n_flat ? flat[i] : NULL;
}

struct json_object *tool_static_json(int i)
{
    return i >= 0 && i < n_flat ? json_tokener_parse(flat_json[i]) : NULL;
}

/* The page of tool_static_page: registry indexes, in listing order. */
struct static_page {
    int n;
    int idx[];
};

/* Writes the page as a JSON array of the entries' text made at start-up
 * (the object's userdata). */
static int print_page(struct json_object *o, struct printbuf *pb, int level, int flags)
{
    (void)level;
    (void)flags;
    const struct static_page *page = json_object_get_userdata(o);
    if (printbuf_memappend(pb, "[", 1) < 0)
        return -1;
    for (int k = 0; k < page->n; k++) {
        int i = page->idx[k];
        if ((k && printbuf_memappend(pb, ",", 1) < 0) ||
            printbuf_memappend(pb, flat_json[i], (int)flat_json_len[i]) < 0)
            return -1;
    }
    return printbuf_memappend(pb, "]", 1) < 0 ? -1 : 0;
}

static void free_page(struct json_object *o, void *userdata)
{
    (void)o;
    free(userdata);
}

struct json_object *tool_static_page(const int *idx, int n)
{
    assert(n >= 0);
    struct static_page *page = xmalloc(sizeof *page + (size_t)n * sizeof page->idx[0]);
    page->n = n;
    for (int k = 0; k < n; k++) {
        assert(idx[k] >= 0 && idx[k] < n_flat);
        page->idx[k] = idx[k];
    }
    struct json_object *o = json_object_new_array_ext(1);
    json_object_set_serializer(o, print_page, page, free_page);
    return o;
}

const struct tool_def *tool_find_static(const char *name)
{
    return find_static(name);
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
    struct json_object *arr = json_object_new_array_ext(n_flat);
    for (int i = 0; i < n_flat; i++)
        if (json_object_array_add(arr, tool_static_json(i)) != 0)
            abort();
    struct json_object *more = tool_sources_list_json_db(db);
    for (size_t i = 0; i < json_object_array_length(more); i++)
        if (json_object_array_add(arr, json_object_get(json_object_array_get_idx(more, i))) != 0)
            abort();
    json_object_put(more);
    return arr;
}

struct json_object *tool_sources_list_json_db(struct store_conn *db)
{
    struct json_object *arr = json_object_new_array();
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
