/*
 * tests/unit/test_sse.c - SSE event ids and framing, Host checks, logging
 * levels, base64 for Mcp-Name.
 */
#include <stdlib.h>

#include "mcp/call.h"
#include "mcp/sse.h"
#include "tap.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/crypto.h"

static struct buf wire;

static int mem_write(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    return buf_append(&wire, p, n);
}

int main(void)
{
    char stream[STORE_STREAM_ID_LEN + 1];
    long long seq = -1;
    char id[MCP_EVENT_ID_MAX];
    mcp_sse_event_id(id, "abcdefghijklmnopqrstuv", 42);
    is_str(id, "abcdefghijklmnopqrstuv.42", "event id names its stream");
    ok(mcp_sse_parse_event_id(id, stream, &seq) == 0 && seq == 42 &&
           strcmp(stream, "abcdefghijklmnopqrstuv") == 0,
       "event id parses back");
    const char *bad[] = {"",
                         "junk",
                         "abcdefghijklmnopqrstuv",
                         "abcdefghijklmnopqrstuv.",
                         "abcdefghijklmnopqrstuv.-1",
                         "abcdefghijklmnopqrstu!.1",
                         "abcdefghijklmnopqrstuv.1x",
                         "abcdefghijklmnopqrstuv.99999999999999999999",
                         "abcdefghijklmnopqrstuvw.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ok(mcp_sse_parse_event_id(bad[i], stream, &seq) < 0, "bad Last-Event-ID %zu refused", i);

    struct mcp_sink sink = {.write = mem_write};
    ok(mcp_sse_event(&sink, "s.1", NULL, "{\"a\":1}") == 0, "event written");
    is_str(buf_str(&wire), "id: s.1\ndata: {\"a\":1}\n\n", "event framing");
    buf_reset(&wire);
    ok(mcp_sse_event(&sink, NULL, "message", "line1\nline2") == 0, "multi-line data");
    is_str(buf_str(&wire), "event: message\ndata: line1\ndata: line2\n\n",
           "each line of data gets its own field");
    buf_reset(&wire);
    ok(mcp_sse_event(&sink, "s.2", NULL, "") == 0, "priming event");
    is_str(buf_str(&wire), "id: s.2\ndata: \n\n", "priming event has an id and empty data");
    buf_reset(&wire);
    ok(mcp_sse_push(&sink) == 0 && wire.len == 0, "no padding unless sse_pad_bytes is set");
    sink.pad_bytes = 65537;
    ok(mcp_sse_push(&sink) == 0 && wire.len == 65537, "sse_pad_bytes: that many bytes");
    ok(wire.data[0] == ':' && wire.data[65536] == '\n' && !memchr(wire.data, '\n', 65536),
       "the padding is one SSE comment line, which clients ignore");
    buf_free(&wire);

    struct mg_config cfg;
    struct mg_error err = MG_ERROR_INIT;
    config_defaults(&cfg);
    if (config_set(&cfg, "base_url", "https://MCP.example.org", &err) ||
        config_set(&cfg, "database", "dbname=x", &err) ||
        config_set(&cfg, "allowed_hosts", "internal:8080", &err) || config_finish(&cfg, &err))
        printf("Bail out! %s\n", err.msg);
    ok(config_host_allowed(&cfg, "mcp.example.org"), "own host allowed");
    ok(config_host_allowed(&cfg, "MCP.EXAMPLE.ORG:443"), "own host with default port allowed");
    ok(config_host_allowed(&cfg, "internal:8080"), "listed host allowed");
    ok(!config_host_allowed(&cfg, "mcp.example.org:8443"), "other port refused");
    ok(!config_host_allowed(&cfg, "evil.example.com"), "foreign host refused");
    ok(!config_host_allowed(&cfg, "mcp.example.org.evil.com"), "suffix trick refused");

    is_int(mcp_log_severity("emergency"), 0, "emergency is most severe");
    is_int(mcp_log_severity("debug"), 7, "debug is least severe");
    is_int(mcp_log_severity("warning"), 4, "warning");
    is_int(mcp_log_severity("warn"), -1, "unknown level");

    unsigned char out[64];
    is_int(crypto_b64_decode("ZWNobw==", 8, out, sizeof out), 4, "base64 with padding");
    ok(memcmp(out, "echo", 4) == 0, "base64 decodes");
    is_int(crypto_b64_decode("5LiW55WM", 8, out, sizeof out), 6, "base64 of UTF-8");
    is_int(crypto_b64_decode("***", 3, out, sizeof out), -1, "not base64");
    is_int(crypto_b64_decode("ZWNo", 4, out, 2), -1, "does not fit");
    return tap_done();
}
