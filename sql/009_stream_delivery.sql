-- 009_stream_delivery.sql - how far a session's long-lived stream was
-- delivered.
--
-- A GET (or /sse) stream opened without Last-Event-ID starts after the last
-- event written to any earlier connection of that stream, not at its newest
-- event: notifications published while no stream was connected (between
-- reconnects, or before the first GET arrives) are delivered, not lost.

ALTER TABLE mcp_streams ADD COLUMN delivered_seq bigint NOT NULL DEFAULT 0;
