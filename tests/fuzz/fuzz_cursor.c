/*
 * tests/fuzz/fuzz_cursor.c - tools/list cursors (mcp/catalog.c). The input
 * is a cursor a client sent back: mcp_cursor_decode() must refuse it for
 * every list unless it is one we signed, and then give back the offset it
 * was made with. The first four bytes also make an offset whose cursor
 * must round-trip and be refused by the other lists and after any one
 * character changes. Also base64url decoding of any length.
 */
#include "fuzz.h"
#include "mcp/catalog.h"
#include "util/crypto.h"

static const unsigned char key[STORE_SECRET_LEN] = "fuzz-cursor-key-0123456789abcdef";
static const enum mcp_list lists[] = {MCP_LIST_TOOLS, MCP_LIST_RESOURCES, MCP_LIST_TEMPLATES,
                                      MCP_LIST_PROMPTS};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strndup(data, size);
    unsigned offset;
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        if (mcp_cursor_decode(key, lists[i], s, &offset) == 0) {
            char again[MCP_CURSOR_LEN + 1];
            mcp_cursor_encode(key, lists[i], offset, again);
            if (strcmp(again, s) != 0)
                abort(); /* one cursor per offset: an accepted one is ours */
        }
    unsigned char *raw = malloc(size * 3 / 4 + 1);
    if (!raw)
        abort();
    long n = crypto_b64url_decode(s, size, raw);
    if (n > (long)(size * 3 / 4))
        abort();
    free(raw);

    if (size >= 5) {
        unsigned want =
            (unsigned)data[0] << 24 | (unsigned)data[1] << 16 | (unsigned)data[2] << 8 | data[3];
        enum mcp_list list = lists[data[4] & 3];
        char c[MCP_CURSOR_LEN + 1];
        mcp_cursor_encode(key, list, want, c);
        for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
            int rc = mcp_cursor_decode(key, lists[i], c, &offset);
            if (lists[i] == list ? rc != 0 || offset != want : rc == 0)
                abort();
        }
        if (size >= 7) {
            size_t at = data[5] % MCP_CURSOR_LEN;
            char to = (char)data[6];
            if (to != c[at] && to != '\0') {
                c[at] = to;
                if (mcp_cursor_decode(key, list, c, &offset) == 0)
                    abort(); /* altered, yet accepted */
            }
        }
    }
    free(s);
    return 0;
}
