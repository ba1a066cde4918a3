/*
 * mcp/session.c - Mcp-Session-Id values.
 */
#include "mcp/session.h"

#include <string.h>

void mcp_session_id_new(char out[MCP_SESSION_ID_LEN + 1])
{
    crypto_token(32, out);
}

int mcp_session_id_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_';
        if (!ok || n >= MCP_SESSION_ID_LEN)
            return 0;
    }
    return n == MCP_SESSION_ID_LEN;
}

void mcp_session_id_hash(const char *id, char out[CRYPTO_SHA256_HEX_LEN + 1])
{
    crypto_sha256_hex(id, strlen(id), out);
}
