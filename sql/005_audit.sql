-- 005_audit.sql - the audit trail of tool calls.
--
-- audit_log is append-only for every role that does not own the table: a
-- trigger refuses UPDATE, DELETE and TRUNCATE. Run the responder as a role
-- that does not own the schema (see docs/audit.md), so it cannot drop the
-- trigger either. Arguments are stored only as a SHA-256 digest of their
-- JSON with secret-looking fields redacted first.

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    user_id     bigint,                -- NULL when authentication is off
    client_id   text,                  -- the OAuth client, '' for an API key
    tool        text NOT NULL,         -- the tool name as called (at most 128 chars)
    args_digest text NOT NULL CHECK (args_digest ~ '^[0-9a-f]{64}$'),
    outcome     text NOT NULL CHECK (outcome IN ('ok', 'error', 'refused', 'cancelled')),
    detail      text,                  -- why it was refused or failed; never a secret
    duration_ms integer NOT NULL CHECK (duration_ms >= 0),
    request_id  text                   -- the X-Request-Id, to find the log lines
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_user_at ON audit_log (user_id, at);
CREATE INDEX audit_log_tool_at ON audit_log (tool, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
