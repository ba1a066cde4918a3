/*
 * mcp/discovery.c - discovery mode for large catalogs.
 */
#include "mcp/discovery.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/access.h"
#include "mcp/audit.h"
#include "mcp/methods.h"
#include "tools/registry.h"
#include "tools/search.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/time.h"

#define SEARCH_DEFAULT 5 /* tools a search returns unless it asks for more */
#define SEARCH_MAX     50
#define DESC_SHOWN     600 /* bytes of a description in a search result */

static const char search_schema[] =
    "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\",\"description\":"
    "\"Words describing what you want to do, e.g. 'list droplets' or 'database backup'\"},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":50,\"description\":"
    "\"How many tools to return (default 5)\"}},\"required\":[\"query\"],"
    "\"additionalProperties\":false}";

static const char call_schema[] =
    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"description\":"
    "\"The tool's name, as search_tools returned it\"},\"arguments\":{\"type\":\"object\","
    "\"description\":\"The tool's arguments, matching its inputSchema\"}},"
    "\"required\":[\"name\"],\"additionalProperties\":false}";

/* The meta-tools that run tools, one per access class, so that a client
 * asks before exactly the calls it would ask before if the tools were
 * listed directly (readOnlyHint, destructiveHint). */
static const struct {
    const char *name;
    enum tool_access access;
    const char *title;
    const char *desc;
} runners[] = {
    {MCP_DISCOVERY_CALL_READ, TOOL_READ, "Run a read-only tool",
     "Runs one of your tools that only reads (search_tools shows it with \"call_with\": "
     "\"" MCP_DISCOVERY_CALL_READ "\"), by name, with its arguments. Changes nothing."},
    {MCP_DISCOVERY_CALL, TOOL_WRITE, "Run a tool that changes things",
     "Runs one of your tools that creates or changes something but deletes nothing "
     "(search_tools shows it with \"call_with\": \"" MCP_DISCOVERY_CALL "\"), by name, with "
     "its arguments."},
    {MCP_DISCOVERY_CALL_DESTRUCTIVE, TOOL_DESTRUCTIVE, "Run a destructive tool",
     "Runs one of your tools that deletes, overwrites or cancels something (search_tools shows "
     "it with \"call_with\": \"" MCP_DISCOVERY_CALL_DESTRUCTIVE "\"), by name, with its "
     "arguments."},
};

static struct json_object *meta_tool(const char *name, const char *title, const char *desc,
                                     const char *schema, enum tool_access access)
{
    struct json_object *t = json_object_new_object();
    json_add(t, "name", json_object_new_string(name));
    json_add(t, "title", json_object_new_string(title));
    json_add(t, "description", json_object_new_string(desc));
    json_add(t, "inputSchema", json_tokener_parse(schema));
    struct json_object *a = json_object_new_object();
    json_add(a, "title", json_object_new_string(title));
    json_add(a, "readOnlyHint", json_object_new_boolean(access == TOOL_READ));
    json_add(a, "destructiveHint", json_object_new_boolean(access == TOOL_DESTRUCTIVE));
    json_add(a, "idempotentHint", json_object_new_boolean(access == TOOL_READ));
    json_add(a, "openWorldHint", json_object_new_boolean(access != TOOL_READ));
    json_add(t, "annotations", a);
    return t;
}

/* The access class of a Tool object, from its annotations (as the
 * registry writes them from enum tool_access). */
static enum tool_access entry_access(struct json_object *tool)
{
    struct json_object *a = json_get(tool, "annotations", json_type_object);
    if (json_object_get_boolean(json_get(a, "readOnlyHint", json_type_boolean)))
        return TOOL_READ;
    /* destructiveHint defaults to true in MCP when readOnlyHint is false */
    struct json_object *d = json_get(a, "destructiveHint", json_type_boolean);
    return d && !json_object_get_boolean(d) ? TOOL_WRITE : TOOL_DESTRUCTIVE;
}

const char *mcp_discovery_runner(enum tool_access access)
{
    for (size_t i = 0; i < sizeof runners / sizeof runners[0]; i++)
        if (runners[i].access == access)
            return runners[i].name;
    abort();
}

struct json_object *mcp_discovery_list(const struct mcp_call *call, struct json_object *visible)
{
    int threshold = call->env->cfg->discovery_threshold;
    size_t n = json_object_array_length(visible);
    if (threshold <= 0 || n <= (size_t)threshold)
        return visible;
    int has[TOOL_DESTRUCTIVE + 1] = {0};
    for (size_t i = 0; i < n; i++)
        has[entry_access(json_object_array_get_idx(visible, i))] = 1;
    json_object_put(visible);
    struct json_object *arr = json_object_new_array();
    char desc[512];
    snprintf(desc, sizeof desc,
             "Searches the %zu tools available to you by words and returns the best "
             "matches with their input schemas and the tool to run each with "
             "(\"call_with\"). Use it first.",
             n);
    if (json_object_array_add(
            arr, meta_tool(MCP_DISCOVERY_SEARCH, "Search tools", desc, search_schema, TOOL_READ)))
        abort();
    /* only the paths the caller can use: a read-only token sees the read path alone */
    for (size_t i = 0; i < sizeof runners / sizeof runners[0]; i++)
        if (has[runners[i].access] &&
            json_object_array_add(arr, meta_tool(runners[i].name, runners[i].title, runners[i].desc,
                                                 call_schema, runners[i].access)))
            abort();
    return arr;
}

int mcp_discovery_is_meta(const char *name)
{
    if (strcmp(name, MCP_DISCOVERY_SEARCH) == 0)
        return 1;
    for (size_t i = 0; i < sizeof runners / sizeof runners[0]; i++)
        if (strcmp(name, runners[i].name) == 0)
            return 1;
    return 0;
}

/* search_tools' keep function: the tools the caller may see. */
static int visible_to(void *arg, const struct tool_def *d)
{
    const struct mcp_call *call = arg;
    return mcp_tool_allowed(call->env, d) && mcp_tool_permitted(call->env, d);
}

/* Cuts a Tool object's description to its first DESC_SHOWN bytes, at a
 * word, so that a page of results stays small; the full text is in
 * tools/list and in the direct listing. */
static void compact(struct json_object *tool)
{
    const char *desc = json_get_string(tool, "description");
    size_t len = desc ? strlen(desc) : 0;
    if (len <= DESC_SHOWN)
        return;
    size_t cut = json_utf8_cut(desc, DESC_SHOWN);
    while (cut > DESC_SHOWN / 2 && !isspace((unsigned char)desc[cut]))
        cut--;
    char *s = xmalloc(cut + 4);
    memcpy(s, desc, cut);
    memcpy(s + cut, "...", 4);
    json_add(tool, "description", json_object_new_string(s));
    free(s);
}

/* Ranks the caller's tools for query (tools/search.h): the static ones
 * through the index, those of dynamic sources scored one by one. Writes
 * the best limit into found (Tool objects with call_with) and returns the
 * number of matches. */
static int rank(struct mcp_call *call, const char *query, int limit, struct json_object *found)
{
    struct tool_query *q = tool_query_new(query);
    if (!q)
        return 0;
    struct tool_search_hit *hits = xcalloc((size_t)limit + 1, sizeof *hits);
    int total = 0;
    int n = tool_search_static(q, visible_to, call, hits, limit, &total);
    struct json_object *dynamic = NULL;
    if (tool_source_count() > 0) {
        dynamic = tool_sources_list_json_db(call->env->db);
        for (size_t i = 0; i < json_object_array_length(dynamic); i++) {
            struct json_object *t = json_object_array_get_idx(dynamic, i);
            const char *name = json_get_string(t, "name");
            const struct tool_def *d = name ? tool_find(name) : NULL;
            if (!d || !visible_to(call, d))
                continue;
            struct tool_search_hit h = {
                .def = NULL,
                .index = -1 - (int)i, /* < 0: the i-th of dynamic */
                .score = tool_search_score(q, name, json_get_string(t, "title"),
                                           json_get_string(t, "description"), NULL,
                                           json_get(t, "inputSchema", json_type_object)),
            };
            if (h.score <= 0)
                continue;
            total++;
            hits[n] = h; /* the spare slot, then back in order */
            qsort(hits, (size_t)n + 1, sizeof *hits, tool_search_hit_cmp);
            if (n < limit)
                n++;
        }
    }
    tool_query_free(q);
    for (int i = 0; i < n; i++) {
        struct json_object *t =
            hits[i].index >= 0
                ? tool_static_json(hits[i].index)
                : json_object_get(json_object_array_get_idx(dynamic, (size_t)(-1 - hits[i].index)));
        compact(t);
        json_add(t, "call_with", json_object_new_string(mcp_discovery_runner(entry_access(t))));
        if (json_object_array_add(found, t))
            abort();
    }
    json_object_put(dynamic);
    free(hits);
    return total;
}

/* Refuses a query over search_max_query_bytes or search_max_words (each
 * word is matched against every visible tool). Returns 1 with err filled
 * and the refusal audited, else 0. */
static int query_too_big(struct mcp_call *call, struct json_object *args, struct mcp_err *err,
                         long long t0)
{
    const struct mg_config *cfg = call->env->cfg;
    struct json_object *q = json_get(args, "query", json_type_string);
    if (!q)
        return 0;
    const char *query = json_object_get_string(q);
    int words = 0;
    for (const char *p = query; *p; p++)
        words += isalnum((unsigned char)p[0]) && (p == query || !isalnum((unsigned char)p[-1]));
    if (json_object_get_string_len(q) > cfg->search_max_query_bytes)
        mg_error_set(&err->e, 0, JSONRPC_INVALID_PARAMS,
                     "Invalid params: search_tools \"query\" is longer than %d bytes",
                     cfg->search_max_query_bytes);
    else if (words > cfg->search_max_words)
        mg_error_set(&err->e, 0, JSONRPC_INVALID_PARAMS,
                     "Invalid params: search_tools \"query\" has more than %d words",
                     cfg->search_max_words);
    else
        return 0;
    mcp_audit_call(call, MCP_DISCOVERY_SEARCH, args, "refused", "query too long", t0);
    return 1;
}

static struct json_object *search(struct mcp_call *call, struct json_object *args,
                                  struct mcp_err *err, long long t0)
{
    if (query_too_big(call, args, err, t0))
        return NULL;
    const char *query = json_get_string(args, "query");
    struct json_object *lim = json_get(args, "limit", json_type_int);
    int limit = lim ? json_object_get_int(lim) : SEARCH_DEFAULT;
    if (!query || !*query || limit < 1 || limit > SEARCH_MAX) {
        struct json_object *r = tool_result_text("search_tools needs a \"query\" (words) and an "
                                                 "optional \"limit\" from 1 to 50",
                                                 1);
        return mcp_tool_result_audited(call, MCP_DISCOVERY_SEARCH, args, "error", "bad arguments",
                                       t0, r, err);
    }
    struct json_object *found = json_object_new_array();
    int hits = rank(call, query, limit, found);
    struct json_object *structured = json_object_new_object();
    json_add(structured, "tools", found);
    json_add(structured, "total_matches", json_object_new_int(hits));
    /* the tools once, in the text content (no structuredContent copy: no
     * outputSchema promises one, and each schema twice doubles the cost) */
    struct json_object *r = tool_result_text(json_text(structured, NULL), 0);
    json_object_put(structured);
    return mcp_tool_result_audited(call, MCP_DISCOVERY_SEARCH, args, "ok", NULL, t0, r, err);
}

/* The access class of the runner called name. */
static enum tool_access runner_access(const char *name)
{
    for (size_t i = 0; i < sizeof runners / sizeof runners[0]; i++)
        if (strcmp(name, runners[i].name) == 0)
            return runners[i].access;
    abort();
}

struct json_object *mcp_discovery_call(struct mcp_call *call, const char *name,
                                       struct json_object *args, struct mcp_err *err)
{
    long long t0 = mg_now_ms();
    if (strcmp(name, MCP_DISCOVERY_SEARCH) == 0)
        return search(call, args, err, t0);
    const char *inner = json_get_string(args, "name");
    struct json_object *inner_args = NULL;
    if (!inner || mcp_discovery_is_meta(inner) ||
        (json_object_object_get_ex(args, "arguments", &inner_args) &&
         !json_object_is_type(inner_args, json_type_object))) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "%s needs the \"name\" of one of your tools (from search_tools) and its "
                 "\"arguments\" as an object",
                 name);
        struct json_object *r = tool_result_text(msg, 1);
        return mcp_tool_result_audited(call, name, args, "error", "bad arguments", t0, r, err);
    }
    /* A tool runs only through the runner of its own access class, so the
     * client's confirmation (asked or not for that runner) fits the tool.
     * Tools the caller cannot use get the direct call's own refusal. */
    const struct tool_def *tool = mcp_tool_find(call->env, inner);
    if (tool && tool->access != runner_access(name) && mcp_tool_permitted(call->env, tool) &&
        mcp_tool_allowed(call->env, tool)) {
        char msg[300];
        snprintf(msg, sizeof msg, "%.128s %s: run it with %s, not %s", tool->name,
                 tool->access == TOOL_READ    ? "only reads"
                 : tool->access == TOOL_WRITE ? "changes things"
                                              : "is destructive",
                 mcp_discovery_runner(tool->access), name);
        struct json_object *r = tool_result_text(msg, 1);
        return mcp_tool_result_audited(call, tool->name, inner_args, "refused",
                                       "access class does not match the runner", t0, r, err);
    }
    /* the named tool's own checks, validation and audit row */
    return mcp_tools_call_named(call, inner, inner_args, err);
}
