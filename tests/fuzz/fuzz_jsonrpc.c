/*
 * tests/fuzz/fuzz_jsonrpc.c - JSON-RPC parsing and dispatch: the input is a
 * request body, parsed with json_parse_request() and classified with
 * jsonrpc_classify() (each member of a batch), then POSTed to /mcp through
 * the router (mcp_http_handle) with an unreachable database. The first
 * byte picks the MCP-Protocol-Version header (none, 2025-03-26 for
 * batches, 2025-11-25, or 2026-07-28 with Mcp-Method and Mcp-Name).
 */
#include "fuzz.h"
#include "mcp/jsonrpc.h"
#include "util/json.h"

static void classify(struct json_object *o)
{
    struct jsonrpc_msg m;
    jsonrpc_classify(o, &m);
    if (m.kind == JSONRPC_REQUEST || m.kind == JSONRPC_NOTIFICATION)
        (void)strlen(m.method);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    if (!inited) {
        fuzz_router_init("none");
        inited = 1;
    }
    if (size < 1)
        return 0;
    unsigned pick = data[0] & 3;
    data++, size--;

    struct json_object *doc = NULL;
    if (json_parse_request((const char *)data, size, &doc, NULL) == 0) {
        if (json_object_is_type(doc, json_type_array))
            for (size_t i = 0; i < json_object_array_length(doc); i++)
                classify(json_object_array_get_idx(doc, i));
        else
            classify(doc);
        json_object_put(doc);
    }

    static const char *const envs[4][6] = {
        {"HTTP_ACCEPT=application/json, text/event-stream", NULL},
        {"HTTP_ACCEPT=application/json, text/event-stream", "HTTP_MCP_PROTOCOL_VERSION=2025-03-26",
         NULL},
        {"HTTP_ACCEPT=application/json, text/event-stream", "HTTP_MCP_PROTOCOL_VERSION=2025-11-25",
         "HTTP_MCP_SESSION_ID=Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5", NULL},
        {"HTTP_ACCEPT=application/json, text/event-stream", "HTTP_MCP_PROTOCOL_VERSION=2026-07-28",
         "HTTP_MCP_METHOD=tools/call", "HTTP_MCP_NAME=echo", NULL},
    };
    char *body = fuzz_strndup(data, size); /* not needed NUL-terminated, but ASan sees the end */
    fuzz_serve("POST", "/mcp", "application/json", body, size, envs[pick]);
    free(body);
    return 0;
}
