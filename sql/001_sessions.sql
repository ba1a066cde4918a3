-- 001_sessions.sql - MCP sessions.
--
-- A session begun at initialize in one responder process is continued by
-- any other process or host, so it lives here and nowhere else.
-- id_hash is the SHA-256 (hex) of the Mcp-Session-Id header value: the
-- session id itself is a bearer secret and is never stored.

CREATE TABLE mcp_sessions (
    id_hash             text PRIMARY KEY CHECK (id_hash ~ '^[0-9a-f]{64}$'),
    protocol_version    text NOT NULL,
    client_name         text,
    client_version      text,
    client_capabilities jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL
);

CREATE INDEX mcp_sessions_expires_at ON mcp_sessions (expires_at);
