/*
 * tests/fuzz/fuzz_ids.c - session ids, event ids and Last-Event-ID: the
 * input (up to its first newline) is checked with mcp_session_id_valid()
 * and mcp_sse_parse_event_id() (whose output is encoded again and must
 * round-trip), then sent as Mcp-Session-Id and as Last-Event-ID on GET
 * /mcp, and as the sessionId of POST /messages, through the router with an
 * unreachable database.
 */
#include <stdio.h>

#include "fuzz.h"
#include "mcp/session.h"
#include "mcp/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    if (!inited) {
        fuzz_router_init("none");
        inited = 1;
    }
    char *s = fuzz_next(&data, &size, '\n');

    if (mcp_session_id_valid(s)) {
        char hash[CRYPTO_SHA256_HEX_LEN + 1];
        mcp_session_id_hash(s, hash);
    }
    char stream[STORE_STREAM_ID_LEN + 1];
    long long seq;
    if (mcp_sse_parse_event_id(s, stream, &seq) == 0) {
        char again[MCP_EVENT_ID_MAX];
        mcp_sse_event_id(again, stream, seq);
        char stream2[STORE_STREAM_ID_LEN + 1];
        long long seq2;
        if (mcp_sse_parse_event_id(again, stream2, &seq2) != 0 || seq2 != seq ||
            strcmp(stream, stream2) != 0)
            abort(); /* an accepted id must survive encoding */
    }

    struct buf sid = {0}, last = {0}, uri = {0};
    (void)!buf_printf(&sid, "HTTP_MCP_SESSION_ID=%s", s);
    (void)!buf_printf(&last, "HTTP_LAST_EVENT_ID=%s", s);
    (void)!buf_printf(&uri, "/messages?sessionId=%s", s);
    const char *get_env[] = {"HTTP_ACCEPT=text/event-stream", buf_str(&sid), buf_str(&last),
                             "HTTP_MCP_PROTOCOL_VERSION=2025-11-25", NULL};
    fuzz_serve("GET", "/mcp", NULL, "", 0, get_env);
    const char *del_env[] = {buf_str(&sid), NULL};
    fuzz_serve("DELETE", "/mcp", NULL, "", 0, del_env);
    const char *msg_env[] = {"HTTP_ACCEPT=application/json", NULL};
    static const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
    fuzz_serve("POST", buf_str(&uri), "application/json", ping, sizeof ping - 1, msg_env);
    buf_free(&sid);
    buf_free(&last);
    buf_free(&uri);
    free(s);
    return 0;
}
