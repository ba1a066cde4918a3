/*
 * mcp/session.h - Mcp-Session-Id values.
 *
 * Owns: the format of session ids (32 random bytes as 43 chars of
 * base64url: visible ASCII as the transport requires, 256 bits so they
 * cannot be guessed) and their hashing for storage.
 */
#ifndef MG_MCP_SESSION_H
#define MG_MCP_SESSION_H

#include "util/crypto.h"

#define MCP_SESSION_ID_LEN 43

/* Writes a new random session id (43 chars + NUL). Cannot fail. */
void mcp_session_id_new(char out[MCP_SESSION_ID_LEN + 1]);

/* Returns 1 when s has the form of a session id, else 0. */
int mcp_session_id_valid(const char *s);

/* The storage key of a session id: SHA-256 as hex. */
void mcp_session_id_hash(const char *id, char out[CRYPTO_SHA256_HEX_LEN + 1]);

#endif
