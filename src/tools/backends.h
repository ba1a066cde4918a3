/*
 * tools/backends.h - the table of loaded backends: every "*.json" file of
 * backends_dir, read once at start-up (tools/backend.h has the format),
 * their tools registered, mcp backends handed to tools/upstream.h.
 *
 * Owns: the order (by file name), unique backend and tool names, the
 * limit on how many backends there are. Written before threads exist,
 * read-only afterwards.
 * Must not touch: HTTP of the client side, JSON-RPC, SQL.
 */
#ifndef MG_TOOLS_BACKENDS_H
#define MG_TOOLS_BACKENDS_H

#include <stddef.h>

#include "tools/backend.h"

/* Loads every "*.json" file of dir (sorted by name) and registers their
 * tools. A missing dir means no backends. Call once at start-up, before
 * threads exist (it initialises libcurl). Returns the number of backends,
 * or -1 with a message naming the file and the fault in err. */
__attribute__((warn_unused_result)) int tool_backends_load(const char *dir, struct mg_error *err);

/* The "*.json" files of dir as the loader reads them: returns how many,
 * their paths sorted in *out (free each and the list), or -1 with errno
 * set when dir cannot be read. A missing dir has none. */
int tool_backend_files(const char *dir, char ***out);

/* Returns the loaded backend called name, or NULL. */
const struct backend *tool_backend_find(const char *name);

/* The loaded backends: how many, and the i-th (NULL out of range), in the
 * order of their files' names. */
int tool_backend_count(void);
const struct backend *tool_backend_at(int i);

/* The name of the backend whose tool t is (REST or upstream MCP), "mcpgate"
 * for a builtin tool, NULL for NULL. Borrowed for as long as t is. Cannot
 * fail. */
const char *tool_backend_name(const struct tool_def *t);

#endif
