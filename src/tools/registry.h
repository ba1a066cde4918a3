/*
 * tools/registry.h - the tools a user can list and call.
 *
 * Owns: tool definitions (name, description, input schema, access class and
 * the annotations it implies) and the lookup by name. In this version the
 * registry holds the builtin tools and, in the test build only, the test
 * fixtures; backends (REST, upstream MCP) come later.
 * Must not touch: JSON-RPC framing, HTTP, SQL.
 */
#ifndef MG_TOOLS_REGISTRY_H
#define MG_TOOLS_REGISTRY_H

#include <json-c/json.h>

/* What a tool may do; sets the MCP annotations clients use to decide
 * whether to ask the user before a call. */
enum tool_access {
    TOOL_READ,        /* reads only: readOnlyHint */
    TOOL_WRITE,       /* changes something, can be repeated safely or not */
    TOOL_DESTRUCTIVE, /* deletes or overwrites: destructiveHint */
};

/* Calls the tool with its arguments (an object, borrowed). Returns a new
 * CallToolResult object ({content, isError}); tool failures are results
 * with isError true, never NULL. */
typedef struct json_object *(*tool_call_fn)(struct json_object *args);

struct tool_def {
    const char *name;         /* [A-Za-z0-9_.-]{1,128} */
    const char *title;        /* for people */
    const char *description;  /* for the model */
    const char *input_schema; /* JSON Schema text: an object schema */
    enum tool_access access;
    int open_world; /* 1 when it reaches outside mcpgate */
    tool_call_fn call;
};

/* Adds a table of n definitions (static storage, not copied) to the
 * registry. Called at start-up, before threads exist. Aborts when a name
 * is invalid or taken (a programming error). */
void tool_registry_add(const struct tool_def *defs, int n);

/* Returns the tool named name, or NULL. */
const struct tool_def *tool_find(const char *name);

/* Returns a new array of MCP Tool objects for tools/list. */
struct json_object *tool_list_json(void);

/* Helper for tool implementations: a new result with one text content. */
struct json_object *tool_result_text(const char *text, int is_error);

/* Registers the builtin tools. Idempotent. */
void tool_builtin_register(void);

#endif
