-- 011_stateless.sql - what the stateless protocol (2026-07-28) needs.
--
-- An input-required round (SEP-2322) ends a tool call without running it
-- to completion: the audit trail records it as 'input_required', and the
-- client's retry, which carries the answers, gets a row of its own.
--
-- subscriptions/listen streams belong to no session, so the notification
-- of a changed tool list reaches them as a NOTIFY key instead of a stored
-- event: 'l:tools:<user id>' for one user's list, 'l:tools:*' for
-- everyone's. Any process holding a listen stream of that user writes
-- notifications/tools/list_changed on it.

ALTER TABLE audit_log DROP CONSTRAINT audit_log_outcome_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_outcome_check
    CHECK (outcome IN ('ok', 'error', 'refused', 'cancelled', 'input_required'));

CREATE OR REPLACE FUNCTION mcp_notify_tools_changed(target bigint) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    s record;
    sid text;
    seq bigint;
    n integer := 0;
BEGIN
    FOR s IN SELECT id_hash, transport FROM mcp_sessions
             WHERE expires_at > now() AND (target IS NULL OR user_id = target)
    LOOP
        -- the session's long-lived stream, made if it has none yet
        INSERT INTO mcp_streams (stream_id, session_hash, kind, expires_at)
        VALUES (translate(encode(decode(replace(gen_random_uuid()::text, '-', ''), 'hex'),
                                 'base64'), '+/=', '-_'),
                s.id_hash, CASE WHEN s.transport = 'sse' THEN 'sse' ELSE 'get' END,
                now() + interval '1 day')
        ON CONFLICT (session_hash) WHERE kind IN ('get', 'sse')
        DO UPDATE SET expires_at = greatest(mcp_streams.expires_at, EXCLUDED.expires_at)
        RETURNING stream_id INTO sid;
        -- the next seq under the stream's row lock, as store/stream.c does
        UPDATE mcp_streams SET last_seq = last_seq + 1 WHERE stream_id = sid
        RETURNING last_seq INTO seq;
        INSERT INTO mcp_events (stream_id, seq, payload)
        VALUES (sid, seq, '{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}');
        PERFORM pg_notify('mcpgate', 'e:' || sid);
        n := n + 1;
    END LOOP;
    -- the stateless clients' subscriptions/listen streams
    PERFORM pg_notify('mcpgate', 'l:tools:' || coalesce(target::text, '*'));
    RETURN n;
END
$$;
