-- 002_streams.sql - durable SSE streams, server-to-client requests, secrets.
--
-- Every SSE event is stored here before it is sent, so a client that lost
-- its connection resumes with Last-Event-ID at any process or host, and a
-- response to a server-to-client request (sampling, elicitation) can reach
-- the process that waits for it. NOTIFY carries only keys; the rows carry
-- the data.

-- Installation-wide secrets (e.g. the key that signs tools/list cursors),
-- created at random on first use by store_secret_get().
CREATE TABLE mcpgate_secrets (
    name       text PRIMARY KEY,
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- logging/setLevel per session (NULL: not set, every level is sent);
-- transport: 'streamable' (POST/GET /mcp) or 'sse' (2024-11-05 HTTP+SSE).
ALTER TABLE mcp_sessions
    ADD COLUMN log_level text,
    ADD COLUMN transport text NOT NULL DEFAULT 'streamable'
        CHECK (transport IN ('streamable', 'sse'));

-- One SSE stream: the response stream of one POSTed request ('post'), the
-- session's GET stream ('get'), or the 2024-11-05 /sse stream ('sse').
-- last_seq orders the stream's events; taking it with UPDATE ... RETURNING
-- row-locks the stream, so commit order is seq order and a reader that
-- catches up by seq never skips an event.
CREATE TABLE mcp_streams (
    stream_id    text PRIMARY KEY CHECK (stream_id ~ '^[A-Za-z0-9_-]{22}$'),
    session_hash text NOT NULL REFERENCES mcp_sessions (id_hash) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('post', 'get', 'sse')),
    request_id   text,              -- JSON text of the POSTed request's id (kind 'post')
    last_seq     bigint NOT NULL DEFAULT 0,
    done         boolean NOT NULL DEFAULT false, -- the stream's last event is stored
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX mcp_streams_session ON mcp_streams (session_hash);
CREATE UNIQUE INDEX mcp_streams_one_get ON mcp_streams (session_hash) WHERE kind IN ('get', 'sse');
CREATE INDEX mcp_streams_expires_at ON mcp_streams (expires_at);

CREATE TABLE mcp_events (
    stream_id  text NOT NULL REFERENCES mcp_streams (stream_id) ON DELETE CASCADE,
    seq        bigint NOT NULL,
    event      text,                -- SSE event name, NULL for the default "message"
    payload    text NOT NULL,       -- the JSON-RPC message as sent ('' for a priming event)
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, seq)
);

-- Server-to-client requests waiting for the client's response, which may
-- be POSTed to any process. The waiting process is woken by NOTIFY.
CREATE TABLE mcp_pending (
    session_hash text NOT NULL REFERENCES mcp_sessions (id_hash) ON DELETE CASCADE,
    request_id   text NOT NULL,     -- the id mcpgate sent (a string it generated)
    method       text NOT NULL,
    response     text,              -- the client's JSON-RPC response, once it arrived
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (session_hash, request_id)
);
CREATE INDEX mcp_pending_expires_at ON mcp_pending (expires_at);
