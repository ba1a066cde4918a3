/*
 * tools/names.h - names and validators shared by the backend file loader
 * (tools/backend.h) and the OpenAPI importer (tools/openapi.h): tool and
 * argument names, backend names, base URLs, request paths, header names
 * and values.
 *
 * Must not touch: files, the network, the registry.
 */
#ifndef MG_TOOLS_NAMES_H
#define MG_TOOLS_NAMES_H

#include <stddef.h>

/* Sanitizes s into a tool or argument name: characters outside
 * [A-Za-z0-9_.-] become '_', camelCase becomes snake_case when snake is
 * set, runs of '_' collapse, at most max bytes. Writes out (max + 1). */
void tool_name_sanitize(const char *s, int snake, char *out, size_t max);

/* Returns 1 when name clashes with a tool ChatGPT has built in
 * (web_search, code_interpreter, file_search, computer_use, ...). */
int tool_name_reserved(const char *name);

/* Returns 1 when s can name a backend: 1 to TOOL_BACKEND_NAME_MAX
 * characters of a-z 0-9 _ -, starting with a letter or digit. */
int tool_backend_name_ok(const char *s);

/* Returns 1 when s can be sent as an HTTP header name (an RFC 9110 token
 * of at most 128 characters), else 0. */
int tool_header_name_ok(const char *s);

/* Returns 1 when s can be sent as an HTTP header value: one line, under
 * 4096 bytes. */
int tool_header_value_ok(const char *s);

/* Returns 1 when path can be a tool's request path: it starts with / and
 * has no white space, query or fragment (the loader's rule, which the
 * OpenAPI import applies too). */
int tool_path_ok(const char *path);

/* Returns 1 when the path template holds "{name}". */
int tool_path_has(const char *path, const char *name);

/* Returns 1 when url can be a backend's base URL (query_ok: an upstream MCP
 * endpoint, which may carry a query): http:// or https://, no white space
 * or fragment, at most 1024 bytes. */
int tool_url_ok(const char *url, int query_ok);

#endif
