-- 007_policy.sql - who may see and call which tools; sessions bound to users.
--
-- A rule allows or denies the tools whose names match a pattern (a shell
-- glob: "echo", "petstore_*", "*") to one user, a group, or everyone. A
-- matching deny beats any allow; with no matching rule the configured
-- default (policy_default) decides. Tools of a backend share its name as a
-- prefix, so "backend_*" names a whole backend.

-- With authentication on, a session belongs to the user who began it: any
-- other user's requests with its id are answered as if it did not exist.
ALTER TABLE mcp_sessions ADD COLUMN user_id bigint REFERENCES users (id) ON DELETE CASCADE;
CREATE INDEX mcp_sessions_user ON mcp_sessions (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE user_groups (
    id   bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._@-]{1,64}$')
);

CREATE TABLE group_members (
    group_id bigint NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE tool_policies (
    id         bigserial PRIMARY KEY,
    user_id    bigint REFERENCES users (id) ON DELETE CASCADE,
    group_id   bigint REFERENCES user_groups (id) ON DELETE CASCADE,
    effect     text NOT NULL CHECK (effect IN ('allow', 'deny')),
    pattern    text NOT NULL CHECK (pattern ~ '^[A-Za-z0-9_.*?-]{1,128}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (user_id IS NULL OR group_id IS NULL)  -- both NULL: everyone
);

-- Tells the live sessions of one user (or of everyone, for NULL) that
-- their tool list changed: notifications/tools/list_changed on each
-- session's long-lived stream (its GET stream, or its /sse stream).
CREATE FUNCTION mcp_notify_tools_changed(target bigint) RETURNS integer
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
    RETURN n;
END
$$;
