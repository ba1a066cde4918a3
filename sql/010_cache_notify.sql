-- 010_cache_notify.sql - tell every responder process when a row it may
-- have cached changes.
--
-- Responders keep live access tokens and API keys, sessions and policy
-- rules in memory for at most a minute (store/cache.h). Whatever changes
-- them, the responder, `mcpgate` or an operator's own SQL, these triggers
-- send a NOTIFY on the 'mcpgate' channel at commit, and each process drops
-- what it holds within milliseconds:
--   xa:<user id>   tokens and keys of that user (revoked, user disabled)
--   xa:*           every token (a client was revoked or deleted)
--   xs:<id hash>   one session (deleted, expiry shortened, state changed)
--   xp             every user's policy rules
-- Only changes that can make a cached row wrong notify: a refresh that
-- slides a session's expiry or records a token's use does not.

-- A trigger's key: its first argument, followed by the value of the old
-- row's column named by the second argument, if any.
CREATE FUNCTION mcp_cache_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    key text := TG_ARGV[0];
BEGIN
    IF TG_NARGS > 1 THEN
        key := key || coalesce(to_jsonb(OLD) ->> TG_ARGV[1], '*');
    END IF;
    PERFORM pg_notify('mcpgate', key);
    RETURN NULL;
END $$;

CREATE TRIGGER users_cache AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.disabled IS DISTINCT FROM NEW.disabled OR OLD.username IS DISTINCT FROM NEW.username)
    EXECUTE FUNCTION mcp_cache_changed('xa:', 'id');
CREATE TRIGGER users_cache_delete AFTER DELETE ON users FOR EACH ROW
    EXECUTE FUNCTION mcp_cache_changed('xa:', 'id');

CREATE TRIGGER oauth_families_cache AFTER UPDATE ON oauth_families FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
    EXECUTE FUNCTION mcp_cache_changed('xa:', 'user_id');
CREATE TRIGGER oauth_families_cache_delete AFTER DELETE ON oauth_families FOR EACH ROW
    EXECUTE FUNCTION mcp_cache_changed('xa:', 'user_id');
CREATE TRIGGER api_keys_cache AFTER UPDATE ON api_keys FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
    EXECUTE FUNCTION mcp_cache_changed('xa:', 'user_id');
CREATE TRIGGER api_keys_cache_delete AFTER DELETE ON api_keys FOR EACH ROW
    EXECUTE FUNCTION mcp_cache_changed('xa:', 'user_id');

-- A token row names its family, not its user.
CREATE FUNCTION mcp_cache_token_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mcpgate', 'xa:' || coalesce(
        (SELECT user_id::text FROM oauth_families WHERE id = OLD.family_id), '*'));
    RETURN NULL;
END $$;

-- Expired tokens deleted by the purge were already gone from every cache.
CREATE TRIGGER oauth_tokens_cache AFTER UPDATE ON oauth_tokens FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR NEW.expires_at < OLD.expires_at)
    EXECUTE FUNCTION mcp_cache_token_changed();
CREATE TRIGGER oauth_tokens_cache_delete AFTER DELETE ON oauth_tokens FOR EACH ROW
    WHEN (OLD.kind = 'access' AND OLD.revoked_at IS NULL AND OLD.expires_at > now())
    EXECUTE FUNCTION mcp_cache_token_changed();

CREATE TRIGGER oauth_clients_cache AFTER UPDATE ON oauth_clients FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
    EXECUTE FUNCTION mcp_cache_changed('xa:*');
CREATE TRIGGER oauth_clients_cache_delete AFTER DELETE ON oauth_clients FOR EACH STATEMENT
    EXECUTE FUNCTION mcp_cache_changed('xa:*');

CREATE TRIGGER mcp_sessions_cache AFTER UPDATE ON mcp_sessions FOR EACH ROW
    WHEN (NEW.expires_at < OLD.expires_at
          OR OLD.protocol_version IS DISTINCT FROM NEW.protocol_version
          OR OLD.log_level IS DISTINCT FROM NEW.log_level
          OR OLD.transport IS DISTINCT FROM NEW.transport
          OR OLD.client_capabilities IS DISTINCT FROM NEW.client_capabilities
          OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION mcp_cache_changed('xs:', 'id_hash');
-- Sessions the purge deletes expired long ago.
CREATE TRIGGER mcp_sessions_cache_delete AFTER DELETE ON mcp_sessions FOR EACH ROW
    WHEN (OLD.expires_at > now())
    EXECUTE FUNCTION mcp_cache_changed('xs:', 'id_hash');

CREATE TRIGGER tool_policies_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tool_policies
    FOR EACH STATEMENT EXECUTE FUNCTION mcp_cache_changed('xp');
CREATE TRIGGER group_members_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON group_members
    FOR EACH STATEMENT EXECUTE FUNCTION mcp_cache_changed('xp');
CREATE TRIGGER user_groups_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_groups
    FOR EACH STATEMENT EXECUTE FUNCTION mcp_cache_changed('xp');
