/*
 * tools/catalog.h - the resources, resource templates and prompts a client
 * can list, read and get, and the completions offered for their arguments.
 *
 * Owns: their definitions (what resources/list, resources/templates/list
 * and prompts/list show), the lookup of a resource by URI (exact URI first,
 * then the first template that matches), URI template matching (RFC 6570
 * level 1: literal text and {name} variables, a variable matching one or
 * more characters other than '/'), and the argument rules of prompts.
 * Definitions live in static tables registered at start-up, like tools
 * (tools/registry.h); the callbacks receive the same struct tool_ctx.
 * Must not touch: JSON-RPC framing and error codes (mcp/catalog.c maps the
 * results below onto them), HTTP, SQL.
 */
#ifndef MG_TOOLS_CATALOG_H
#define MG_TOOLS_CATALOG_H

#include <json-c/json.h>
#include <stddef.h>

#include "tools/registry.h"
#include "util/error.h"

#define TOOL_URI_MAX        2048 /* longest resource URI accepted */
#define TOOL_TEMPLATE_VARS  8    /* most variables in one URI template */
#define TOOL_COMPLETION_MAX 100  /* values in one completion/complete result (spec limit) */

/* Reads a resource. uri is the URI asked for; vars is NULL for a fixed
 * resource, or an object of the template's variables (strings) for a
 * templated one (both borrowed). Returns a new ReadResourceResult
 * ({"contents": [...]}), or NULL when no such resource exists after all
 * (e.g. a template matched but the id is unknown). */
typedef struct json_object *(*tool_read_fn)(struct tool_ctx *ctx, const char *uri,
                                            struct json_object *vars);

/* Offers values for argument (of a prompt, or a variable of a template)
 * that start with or contain value; context holds the other arguments the
 * client already chose (an object of strings, borrowed, maybe empty).
 * Returns a new array of strings, best first (the caller cuts it to
 * TOOL_COMPLETION_MAX and reports the total). */
typedef struct json_object *(*tool_complete_fn)(struct tool_ctx *ctx, const char *argument,
                                                const char *value, struct json_object *context);

struct tool_resource_def {
    const char *uri;         /* absolute URI, at most TOOL_URI_MAX bytes */
    const char *name;        /* programmatic name */
    const char *title;       /* for people, or NULL */
    const char *description; /* for the model, or NULL */
    const char *mime_type;   /* or NULL */
    tool_read_fn read;
};

struct tool_template_def {
    const char *uri_template; /* e.g. "test://template/{id}/data" */
    const char *name;
    const char *title;       /* or NULL */
    const char *description; /* or NULL */
    const char *mime_type;   /* or NULL */
    tool_read_fn read;
    tool_complete_fn complete; /* completions for its variables, or NULL */
};

struct tool_prompt_arg {
    const char *name;
    const char *description; /* or NULL */
    int required;
};

/* Returns a new GetPromptResult ({"description"?, "messages": [...]}).
 * args is an object holding only declared arguments, all strings, every
 * required one present (checked before the call; borrowed). */
typedef struct json_object *(*tool_prompt_fn)(struct tool_ctx *ctx, struct json_object *args);

struct tool_prompt_def {
    const char *name; /* [A-Za-z0-9_.-]{1,128} */
    const char *title;
    const char *description;
    const struct tool_prompt_arg *args; /* n_args entries, or NULL */
    int n_args;
    tool_prompt_fn get;
    tool_complete_fn complete; /* completions for its arguments, or NULL */
};

/* Add tables of n definitions (static storage, not copied). Called at
 * start-up, before threads exist. Abort when a definition is invalid or
 * its URI, template or name is taken (programming errors). */
void tool_resources_add(const struct tool_resource_def *defs, int n);
void tool_templates_add(const struct tool_template_def *defs, int n);
void tool_prompts_add(const struct tool_prompt_def *defs, int n);

/* New arrays of MCP Resource, ResourceTemplate and Prompt objects, in
 * registration order. Cannot fail. */
struct json_object *tool_resource_list_json(void);
struct json_object *tool_template_list_json(void);
struct json_object *tool_prompt_list_json(void);

/* Finds what serves uri: a fixed resource (*res set, *vars NULL) or else
 * the first template that matches (*tmpl set, *vars a new object of the
 * variables that the caller puts). Returns 0, or -1 when nothing does
 * (outputs untouched). */
int tool_resource_resolve(const char *uri, const struct tool_resource_def **res,
                          const struct tool_template_def **tmpl, struct json_object **vars);

/* The template whose uri_template is exactly uri_template, or NULL. */
const struct tool_template_def *tool_template_find(const char *uri_template);

/* Returns 1 when the template has a variable called name, else 0. */
int tool_template_has_var(const struct tool_template_def *t, const char *name);

/* The prompt called name, or NULL. */
const struct tool_prompt_def *tool_prompt_find(const char *name);

/* The declared argument called name of prompt p, or NULL. */
const struct tool_prompt_arg *tool_prompt_arg_find(const struct tool_prompt_def *p,
                                                   const char *name);

/* Checks the arguments of a prompts/get (args: NULL or the borrowed
 * "arguments" member). Returns 0, or -1 with a message for the client in
 * err: not an object, a value that is not a string, an argument the prompt
 * does not declare, a required one missing. */
int tool_prompt_check_args(const struct tool_prompt_def *p, struct json_object *args,
                           struct mg_error *err);

/* Helper for completion callbacks: a new array of the candidates (a NULL-
 * terminated list) that start with value, compared without regard to case. */
struct json_object *tool_complete_prefix(const char *const *candidates, const char *value);

#endif
