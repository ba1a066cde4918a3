/*
 * tools/search.h - finds tools by words: ranked text retrieval over the
 * registry's tools, for discovery mode's search_tools (mcp/discovery.h).
 *
 * Owns: the tokenizer, the verb synonyms, the field weights, the ranking
 * and the inverted index of the static tools.
 *
 *   words     runs of letters and digits, split again at camelCase, lower
 *             case; stop words ("the", "my", "in", ...) and one-letter
 *             words dropped; each word reduced to its Snowball English stem
 *             (libstemmer), so "apps", "installations" and "installed"
 *             match "app", "installation" and "install";
 *   fields    a tool's words come from its name (weight 3), title (3),
 *             keywords (2: the backend's tags and path segments, struct
 *             tool_def's keywords), its input schema's property names (1)
 *             and the first TOOL_SEARCH_DESC_MAX bytes of its description
 *             (0.5 an occurrence, at most 3 counted);
 *   synonyms  a query word of a verb group also matches the group's other
 *             verbs at 0.6 of the weight: list/show/get/view/display/
 *             fetch/retrieve/read/describe/find, create/add/new/make/
 *             install/provision/launch, delete/remove/destroy/drop/
 *             uninstall/erase, update/change/modify/edit/rename/patch/alter;
 *   ranking   BM25-like: per query word, the best of its forms,
 *             idf * w (k1 + 1) / (w + k1), summed; times the share of the
 *             query words the tool matches; plus a bonus for the share of
 *             the tool's name words the query matched (a short name that
 *             says just what was asked beats a longer one). Deprecated
 *             tools come after every other match.
 *
 * The index of the static tools (tool_registry_add) is built once per
 * process, on the first search, and read-only afterwards. The cost of one
 * query is bounded: at most TOOL_SEARCH_MAX_WORDS words (the rest are
 * ignored), each with at most 12 forms, each form one pass over its
 * posting list (at most one entry per tool), then one pass over the tools
 * that matched.
 * Must not touch: JSON-RPC, HTTP, SQL, policy (the caller's keep function
 * says which tools the caller may see).
 */
#ifndef MG_TOOLS_SEARCH_H
#define MG_TOOLS_SEARCH_H

#include <json-c/json.h>

#include "tools/registry.h"

#define TOOL_SEARCH_MAX_WORDS 16   /* query words considered; the rest are ignored */
#define TOOL_SEARCH_WORD_MAX  48   /* bytes of one word; longer ones are cut */
#define TOOL_SEARCH_DESC_MAX  1000 /* bytes of a description that are indexed */

struct tool_query;

/* Parses a query. Returns a new query, or NULL when text has no word to
 * search for (only stop words, punctuation or nothing). Free with
 * tool_query_free(). */
struct tool_query *tool_query_new(const char *text);

/* Frees q. Accepts NULL. */
void tool_query_free(struct tool_query *q);

/* One ranked tool. */
struct tool_search_hit {
    const struct tool_def *def; /* a static tool, or NULL for one scored apart */
    int index;                  /* the static tool's index (tool_static_at), or -1 */
    double score;
    int deprecated;
};

/* Says whether the caller may see d (arg is the caller's). */
typedef int (*tool_search_keep_fn)(void *arg, const struct tool_def *d);

/* Ranks the static tools that match q and that keep accepts. Writes the
 * best max of them (best first: non-deprecated before deprecated, then by
 * score, then in registration order) to out and the number of matching
 * tools keep accepted to *total. Returns the number written (0..max).
 * Builds the index on first use (aborts when out of memory). */
int tool_search_static(const struct tool_query *q, tool_search_keep_fn keep, void *arg,
                       struct tool_search_hit *out, int max, int *total);

/* Scores one tool that is not in the static index (a tool of a dynamic
 * source) the same way, with the static index's word statistics: name,
 * title, description and keywords may be NULL; schema is its inputSchema
 * (borrowed, may be NULL). Returns the score, 0 when it does not match. */
double tool_search_score(const struct tool_query *q, const char *name, const char *title,
                         const char *description, const char *keywords, struct json_object *schema);

/* Orders hits as tool_search_static() does (for merging). */
int tool_search_hit_cmp(const void *a, const void *b);

#endif
