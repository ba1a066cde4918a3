-- 020_refresh_cost.sql - a refresh writes less.
--
-- oauth_refresh_rotate updated its family's last_used_at on every refresh:
-- one more row version, WAL record and index check per refresh, for a
-- column that is only shown to the minute (the account page, the admin
-- console). It is now written when it is more than a minute old, as the
-- bearer check already does for access tokens (store access_find). The
-- family row is still locked FOR UPDATE, so a refresh still serialises
-- with a revocation of its family; nothing else changes.

CREATE OR REPLACE FUNCTION oauth_refresh_rotate(p_hash text, p_client text, p_access text,
                                     p_refresh text, p_access_ttl int, p_refresh_ttl int,
                                     p_grace_s int, p_scope text)
RETURNS TABLE (status text, family bigint, scope text, user_id bigint, audience text)
LANGUAGE plpgsql AS $$
DECLARE
    t oauth_tokens%ROWTYPE;
    f oauth_families%ROWTYPE;
    new_scope text;
BEGIN
    SELECT * INTO t FROM oauth_tokens
        WHERE token_hash = p_hash AND kind = 'refresh' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'invalid'::text, NULL::bigint, NULL::text, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    SELECT * INTO f FROM oauth_families WHERE id = t.family_id FOR UPDATE;
    IF f.client_id <> p_client OR f.revoked_at IS NOT NULL OR t.revoked_at IS NOT NULL
       OR t.expires_at <= now() THEN
        RETURN QUERY SELECT 'invalid'::text, f.id, NULL::text, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    IF t.used_at IS NOT NULL THEN
        IF t.used_at > now() - make_interval(secs => p_grace_s) THEN
            RETURN QUERY SELECT 'grace'::text, f.id, NULL::text, NULL::bigint, NULL::text;
            RETURN;
        END IF;
        UPDATE oauth_families SET revoked_at = now(), revoke_reason = 'refresh token reuse'
            WHERE id = f.id;
        RETURN QUERY SELECT 'reused'::text, f.id, NULL::text, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    IF p_scope IS NOT NULL
       AND NOT string_to_array(p_scope, ' ') <@ string_to_array(t.scope, ' ') THEN
        RETURN QUERY SELECT 'scope'::text, f.id, NULL::text, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    new_scope := coalesce(p_scope, t.scope);
    UPDATE oauth_tokens SET used_at = now() WHERE token_hash = p_hash;
    INSERT INTO oauth_tokens (token_hash, kind, family_id, scope, audience, expires_at) VALUES
        (p_access, 'access', f.id, new_scope, t.audience,
         now() + make_interval(secs => p_access_ttl)),
        (p_refresh, 'refresh', f.id, new_scope, t.audience,
         now() + make_interval(secs => p_refresh_ttl));
    IF f.last_used_at IS NULL OR f.last_used_at < now() - interval '1 minute' THEN
        UPDATE oauth_families SET last_used_at = now() WHERE id = f.id;
    END IF;
    RETURN QUERY SELECT 'ok'::text, f.id, new_scope, f.user_id, t.audience;
END;
$$;
