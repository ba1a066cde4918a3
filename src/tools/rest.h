/*
 * tools/rest.h - one call of a REST backend's tool (tools/backend.h): the
 * arguments checked against its inputSchema, one HTTP request with
 * libcurl, the response mapped to a CallToolResult. tools/rest.c says how
 * the request is kept safe.
 *
 * Must not touch: HTTP of the client side, JSON-RPC, SQL (stored
 * credentials come through tools/credentials.h).
 */
#ifndef MG_TOOLS_REST_H
#define MG_TOOLS_REST_H

#include <json-c/json.h>

#include "tools/backend.h"
#include "tools/registry.h"

struct buf;

/* Calls op with args (an object, borrowed; checked against the schema
 * first). progress_ctx may be NULL (no cancellation, no progress). Returns
 * a new CallToolResult; failures are results with isError true. */
struct json_object *tool_backend_call(const struct backend_op *op, struct tool_ctx *ctx,
                                      struct json_object *args);

/* For tests only (tests/fuzz/fuzz_backend.c): builds the URL (into url) and
 * body (into payload) that tool_backend_call() would send for args, with
 * "x" for every credential, sending nothing. Returns NULL, or a new
 * CallToolResult with isError true when args do not fit the operation. */
struct json_object *tool_backend_build_for_tests(const struct backend_op *op,
                                                 struct json_object *args, struct buf *url,
                                                 struct buf *payload);

#endif
