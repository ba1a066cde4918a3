/*
 * tests/unit/test_search.c - tools/search.h on a small registry: stems,
 * field weights, verb synonyms, the implied "list", deprecated tools last,
 * the keep function, tools scored apart, and the bounds of a query.
 */
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "tools/registry.h"
#include "tools/search.h"

static struct json_object *never(struct tool_ctx *ctx, struct json_object *args)
{
    (void)ctx;
    (void)args;
    return tool_result_text("not called", 1);
}

#define OBJ "{\"type\":\"object\"}"

static const struct tool_def tools[] = {
    {.name = "t_app_installations_list",
     .title = "List app installations",
     .description = "Every installation of an application.",
     .input_schema = OBJ,
     .call = never},
    {.name = "t_widgets_create",
     .title = "Create a widget",
     .description = "Makes a new widget.",
     .input_schema = "{\"type\":\"object\",\"properties\":{\"colour\":{\"type\":\"string\"}}}",
     .access = TOOL_WRITE,
     .call = never},
    {.name = "t_widgets_destroy",
     .title = "Destroy a widget",
     .description = "Removes the widget for good.",
     .input_schema = OBJ,
     .access = TOOL_DESTRUCTIVE,
     .call = never},
    {.name = "t_widgets_list",
     .title = "Widgets",
     .description = "The widgets.",
     .input_schema = OBJ,
     .call = never},
    {.name = "t_widgets_get",
     .title = "One widget",
     .description = "A widget by id.",
     .input_schema = OBJ,
     .call = never},
    {.name = "t_gadgets_old_list",
     .title = "List gadgets (old)",
     .description = "Gadgets gadgets gadgets: every gadget.",
     .input_schema = OBJ,
     .call = never,
     .keywords = "Gadgets /v1/gadgets",
     .deprecated = 1},
    {.name = "t_things",
     .title = "Things",
     .description = "Returns gadgets too, as things.",
     .input_schema = OBJ,
     .call = never},
    {.name = "t_zones",
     .title = "Zones",
     .description = "DNS zones.",
     .input_schema = OBJ,
     .call = never,
     .keywords = "Domains /v2/domains/{domain_name}/records"},
};

/* The names of the best max tools for text, space-separated, into out. */
static const char *top(const char *text, int max, char *out, size_t len)
{
    struct tool_search_hit hits[16];
    int total = 0;
    out[0] = '\0';
    struct tool_query *q = tool_query_new(text);
    if (!q)
        return "(no query)";
    int n = tool_search_static(q, NULL, NULL, hits, max, &total);
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " " : "", hits[i].def->name);
    tool_query_free(q);
    return out;
}

static int no_writes(void *arg, const struct tool_def *d)
{
    (void)arg;
    return d->access == TOOL_READ;
}

int main(void)
{
    tool_registry_add(tools, (int)(sizeof tools / sizeof tools[0]));
    char buf[512];

    ok(strncmp(top("apps", 1, buf, sizeof buf), "t_app_installations_list", 24) == 0,
       "plurals meet their stem: \"apps\" finds app installations (%s)", buf);
    ok(strcmp(top("installed applications", 1, buf, sizeof buf), "t_app_installations_list") == 0,
       "so do other forms: \"installed applications\" (%s)", buf);
    ok(strcmp(top("add a widget", 1, buf, sizeof buf), "t_widgets_create") == 0,
       "create/add are synonyms (%s)", buf);
    ok(strcmp(top("remove widget", 1, buf, sizeof buf), "t_widgets_destroy") == 0,
       "delete/remove/destroy are synonyms (%s)", buf);
    ok(strcmp(top("show widgets", 1, buf, sizeof buf), "t_widgets_list") == 0,
       "list/show/get: \"show widgets\" finds the list (%s)", buf);
    ok(strcmp(top("widgets", 1, buf, sizeof buf), "t_widgets_list") == 0,
       "a query without a verb leans towards the list (%s)", buf);
    ok(strcmp(top("widget colour", 1, buf, sizeof buf), "t_widgets_create") == 0,
       "argument names are searched (%s)", buf);
    ok(strcmp(top("domain records", 1, buf, sizeof buf), "t_zones") == 0,
       "keywords (tags, path segments) are searched (%s)", buf);
    top("gadgets", 8, buf, sizeof buf);
    ok(strcmp(buf, "t_things t_gadgets_old_list") == 0,
       "a deprecated tool comes after the rest though it says more (%s)", buf);
    ok(strcmp(top("the of to my", 4, buf, sizeof buf), "(no query)") == 0,
       "stop words alone are no query");
    ok(strcmp(top("xyzzy", 4, buf, sizeof buf), "") == 0, "a word no tool has: nothing");

    /* the keep function decides what counts */
    struct tool_search_hit hits[8];
    int total = 0;
    struct tool_query *q = tool_query_new("widget");
    int n = tool_search_static(q, no_writes, NULL, hits, 8, &total);
    int writes = 0;
    for (int i = 0; i < n; i++)
        writes += hits[i].def->access != TOOL_READ;
    ok(n == 2 && total == 2 && writes == 0,
       "what keep refuses is neither returned nor counted (%d of %d)", n, total);
    n = tool_search_static(q, NULL, NULL, hits, 1, &total);
    ok(n == 1 && total == 4, "at most max returned, every match counted (%d, %d)", n, total);

    /* a tool of a dynamic source, scored the same way */
    double s_match =
        tool_search_score(q, "up_widget_tool", "Widget", "A widget upstream.", NULL, NULL);
    double s_none = tool_search_score(q, "up_other", "Other", "Nothing here.", NULL, NULL);
    ok(s_match > 0 && s_none == 0, "tools scored apart: a match scores, a miss is 0 (%g, %g)",
       s_match, s_none);
    tool_query_free(q);

    /* bounds: only TOOL_SEARCH_MAX_WORDS words count */
    char longq[4096] = "";
    for (int i = 0; i < 40; i++)
        snprintf(longq + strlen(longq), sizeof longq - strlen(longq), "word%02d ", i);
    snprintf(longq + strlen(longq), sizeof longq - strlen(longq), "widgets");
    ok(strcmp(top(longq, 1, buf, sizeof buf), "") == 0, "words after the first %d are ignored",
       TOOL_SEARCH_MAX_WORDS);
    return tap_done();
}
