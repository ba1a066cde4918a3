-- 004_catalog.sql - resource subscriptions.
--
-- resources/subscribe records here which session wants
-- notifications/resources/updated for which URI, so whichever process
-- learns of a change can find every subscriber, whatever process or host
-- the subscription was made at. A session's subscriptions end with it.

CREATE TABLE mcp_subscriptions (
    session_hash text NOT NULL REFERENCES mcp_sessions (id_hash) ON DELETE CASCADE,
    uri          text NOT NULL CHECK (length(uri) BETWEEN 1 AND 2048),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_hash, uri)
);

-- fan-out: every session subscribed to one URI
CREATE INDEX mcp_subscriptions_uri ON mcp_subscriptions (uri);
