/*
 * tests/fuzz/fuzz_upstream.c - the answers of an upstream MCP server
 * (tools/upstream_xfer.c): an SSE stream parsed incrementally, or a JSON body.
 * The first byte picks the Content-Type (text/event-stream or
 * application/json) and the size of the pieces the body arrives in (1 to
 * 64 bytes, or all at once); the rest is the body, the answer to request 1.
 */
#include "fuzz.h"
#include "tools/backend.h"
#include "tools/upstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static char name[] = "fuzz";
    struct backend be = {.kind = BACKEND_MCP, .name = name, .max_bytes = 64 * 1024};
    const char *ctype = data[0] & 0x80 ? "application/json" : "text/event-stream; charset=utf-8";
    size_t chunk = data[0] & 0x40 ? size : (size_t)(data[0] & 0x3f) + 1;
    char *body = fuzz_strndup(data + 1, size - 1);
    json_object_put(tool_upstream_parse_for_tests(&be, ctype, body, size - 1, chunk, 1));
    free(body);
    return 0;
}
