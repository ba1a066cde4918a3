/*
 * mcp/catalog.h - the MCP methods over the catalog: tools/list,
 * resources/list, resources/templates/list, resources/read,
 * resources/subscribe, resources/unsubscribe, prompts/list, prompts/get and
 * completion/complete; list cursors; notifications/resources/updated.
 *
 * Owns: pagination and the cursor format, the capabilities these methods
 * declare at initialize, and the error codes of their failures
 * (specification 2025-11-25: server/resources.mdx, server/prompts.mdx,
 * server/utilities/completion.mdx, server/utilities/pagination.mdx).
 *
 * Cursor: base64url (no padding, 51 characters) of 38 bytes
 *     version (1) | list (1: 't' tools, 'r' resources, 'T' templates,
 *     'p' prompts) | offset (4, big-endian) | HMAC-SHA256 of those 6 bytes
 * under the installation's "cursor" secret (store/secret.h), so a client
 * can neither forge nor alter one, and one list's cursor is refused by
 * another; any other string is "invalid cursor" (-32602). The offset is
 * the index of the page's first item in registration order.
 *
 * Must not touch: SQL (store/), HTTP (the transport).
 */
#ifndef MG_MCP_CATALOG_H
#define MG_MCP_CATALOG_H

#include <json-c/json.h>

#include "mcp/types.h"
#include "store/db.h"
#include "store/secret.h"

#define MCP_ERROR_RESOURCE_NOT_FOUND (-32002) /* up to 2025-11-25; -32602 from 2026-07-28 */

#define MCP_CURSOR_LEN     51 /* characters of a cursor */
#define MCP_CURSOR_VERSION 1

enum mcp_list {
    MCP_LIST_TOOLS = 't',
    MCP_LIST_RESOURCES = 'r',
    MCP_LIST_TEMPLATES = 'T',
    MCP_LIST_PROMPTS = 'p',
};

/* Writes the cursor for offset in list under key into out. Cannot fail. */
void mcp_cursor_encode(const unsigned char key[STORE_SECRET_LEN], enum mcp_list list,
                       unsigned offset, char out[MCP_CURSOR_LEN + 1]);

/* Checks a cursor a client sent back. Returns 0 with *offset set, or -1
 * when it is not a cursor of this list signed with key (malformed,
 * truncated, altered, from another list or another installation). */
__attribute__((warn_unused_result)) int mcp_cursor_decode(const unsigned char key[STORE_SECRET_LEN],
                                                          enum mcp_list list, const char *cursor,
                                                          unsigned *offset);

/* Adds resources, prompts and completions to the capabilities object
 * (borrowed) of initialize and server/discover. Cannot fail. */
void mcp_catalog_capabilities(struct json_object *capabilities);

/* Publishes notifications/resources/updated for uri to every live session
 * subscribed to it, whatever process or host serves it. Writes the number
 * of sessions to *n. Returns 0, or -1 when the subscriptions could not be
 * read or a notification could not be stored (logged; the others are
 * sent). */
__attribute__((warn_unused_result)) int mcp_resource_updated(struct store_conn *db, const char *uri,
                                                             int *n);

/* struct tool_ctx's resource_updated for a call (impl: struct mcp_call). */
int mcp_catalog_ctx_resource_updated(void *impl, const char *uri);

/* Method handlers for the methods[] table of mcp/methods.c; see there. */
/* The tools the caller may see and call (scopes and policy): a new array of
 * Tool objects. */
struct json_object *mcp_visible_tools(const struct mcp_call *call);

struct json_object *mcp_tools_list(struct mcp_call *call, struct json_object *params,
                                   struct mcp_err *err);
struct json_object *mcp_resources_list(struct mcp_call *call, struct json_object *params,
                                       struct mcp_err *err);
struct json_object *mcp_resources_templates_list(struct mcp_call *call, struct json_object *params,
                                                 struct mcp_err *err);
struct json_object *mcp_resources_read(struct mcp_call *call, struct json_object *params,
                                       struct mcp_err *err);
struct json_object *mcp_resources_subscribe(struct mcp_call *call, struct json_object *params,
                                            struct mcp_err *err);
struct json_object *mcp_resources_unsubscribe(struct mcp_call *call, struct json_object *params,
                                              struct mcp_err *err);
struct json_object *mcp_prompts_list(struct mcp_call *call, struct json_object *params,
                                     struct mcp_err *err);
struct json_object *mcp_prompts_get(struct mcp_call *call, struct json_object *params,
                                    struct mcp_err *err);
struct json_object *mcp_completion_complete(struct mcp_call *call, struct json_object *params,
                                            struct mcp_err *err);

#endif
