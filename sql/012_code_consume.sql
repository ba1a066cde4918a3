-- 012_code_consume.sql - only the code's own client, with its PKCE
-- verifier, consumes an authorization code or, replaying it, revokes its
-- family (RFC 9700 section 4.8 / 2.1.1; OAuth 2.1 section 4.1.3).
--
-- Before, any token request naming a code consumed it: whoever learned a
-- code (a log, a Referer) could burn it with a wrong client or verifier,
-- and could present a used one to revoke the user's sign-in. Now a request
-- from another client, or with a verifier whose S256 challenge differs,
-- changes nothing and learns only that the grant is invalid.

DROP FUNCTION oauth_code_consume(text);

-- Consumes an authorization code for p_client presenting p_challenge (the
-- base64url SHA-256 of its code_verifier):
--   'ok'        consumed now; the grant's fields are returned
--   'client'    issued to another client: nothing changed
--   'verifier'  the verifier does not match: nothing changed
--   'replayed'  used before, presented by its client with its verifier:
--               the family it issued is revoked
--   'invalid'   unknown, expired, or its family revoked (an expired code
--               presented correctly is marked used)
CREATE FUNCTION oauth_code_consume(p_hash text, p_client text, p_challenge text)
RETURNS TABLE (status text, family bigint, client_id text, user_id bigint, scope text,
               resource text, redirect_uri text, code_challenge text)
LANGUAGE plpgsql AS $$
DECLARE
    c oauth_codes%ROWTYPE;
    f oauth_families%ROWTYPE;
BEGIN
    SELECT * INTO c FROM oauth_codes WHERE code_hash = p_hash FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'invalid'::text, NULL::bigint, NULL::text, NULL::bigint,
            NULL::text, NULL::text, NULL::text, NULL::text;
        RETURN;
    END IF;
    SELECT * INTO f FROM oauth_families WHERE id = c.family_id FOR UPDATE;
    IF f.client_id <> p_client THEN
        RETURN QUERY SELECT 'client'::text, NULL::bigint, NULL::text, NULL::bigint,
            NULL::text, NULL::text, NULL::text, NULL::text;
        RETURN;
    END IF;
    IF c.code_challenge <> p_challenge THEN
        RETURN QUERY SELECT 'verifier'::text, NULL::bigint, NULL::text, NULL::bigint,
            NULL::text, NULL::text, NULL::text, NULL::text;
        RETURN;
    END IF;
    IF c.used_at IS NOT NULL THEN
        UPDATE oauth_families SET revoked_at = coalesce(revoked_at, now()),
            revoke_reason = coalesce(revoke_reason, 'authorization code replay')
            WHERE id = f.id;
        RETURN QUERY SELECT 'replayed'::text, f.id, f.client_id, NULL::bigint,
            NULL::text, NULL::text, NULL::text, NULL::text;
        RETURN;
    END IF;
    UPDATE oauth_codes SET used_at = now() WHERE code_hash = p_hash;
    IF c.expires_at <= now() OR f.revoked_at IS NOT NULL THEN
        RETURN QUERY SELECT 'invalid'::text, f.id, f.client_id, NULL::bigint,
            NULL::text, NULL::text, NULL::text, NULL::text;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'ok'::text, f.id, f.client_id, f.user_id, f.scope, f.resource,
        c.redirect_uri, c.code_challenge;
END;
$$;
