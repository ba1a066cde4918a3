-- 019_code_redeem.sql - an authorization code is consumed and its tokens
-- are issued in one transaction.
--
-- Before, the token endpoint consumed the code in one statement and wrote
-- the tokens in a second. A database failover between the two left the
-- code spent with no tokens: the client, told to retry (503), presented
-- the code again, was refused as a replay and its sign-in was revoked.
-- Now both happen in one statement, so a failure leaves the code unused.

-- Redeems an authorization code for p_client presenting p_challenge (the
-- base64url SHA-256 of its code_verifier), p_redirect_uri and p_resource
-- (as the token request names them): on success stores the new access
-- token p_access and refresh token p_refresh (hashes) and marks the family
-- issued. status is oauth_code_consume's, or
--   'redirect_uri'  the code was consumed but the redirect_uri differs
--   'resource'      the code was consumed but the resource differs
-- and issued tells whether the tokens were stored.
CREATE FUNCTION oauth_code_redeem(p_hash text, p_client text, p_challenge text,
                                  p_redirect_uri text, p_resource text, p_access text,
                                  p_refresh text, p_access_ttl int, p_refresh_ttl int)
RETURNS TABLE (status text, family bigint, client_id text, user_id bigint, scope text,
               resource text, redirect_uri text, code_challenge text, issued boolean)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n int;
BEGIN
    SELECT * INTO r FROM oauth_code_consume(p_hash, p_client, p_challenge);
    IF r.status = 'ok' AND r.redirect_uri IS DISTINCT FROM p_redirect_uri THEN
        r.status := 'redirect_uri';
    ELSIF r.status = 'ok' AND r.resource IS DISTINCT FROM p_resource THEN
        r.status := 'resource';
    END IF;
    IF r.status <> 'ok' THEN
        RETURN QUERY SELECT r.status, r.family, r.client_id, r.user_id, r.scope, r.resource,
            r.redirect_uri, r.code_challenge, false;
        RETURN;
    END IF;
    UPDATE oauth_families SET issued = true, last_used_at = now()
        WHERE id = r.family AND revoked_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'invalid'::text, r.family, r.client_id, NULL::bigint,
            NULL::text, NULL::text, NULL::text, NULL::text, false;
        RETURN;
    END IF;
    INSERT INTO oauth_tokens (token_hash, kind, family_id, scope, audience, expires_at)
        VALUES (p_access, 'access', r.family, r.scope, r.resource,
                now() + make_interval(secs => p_access_ttl)),
               (p_refresh, 'refresh', r.family, r.scope, r.resource,
                now() + make_interval(secs => p_refresh_ttl));
    RETURN QUERY SELECT r.status, r.family, r.client_id, r.user_id, r.scope, r.resource,
        r.redirect_uri, r.code_challenge, true;
END;
$$;
