-- 003_oauth.sql - the OAuth 2.1 authorization server: local users, clients,
-- authorization codes, token families, consents, browser sessions, API
-- keys, login throttling and rate-limit counters.
--
-- No secret is stored: tokens, codes, client secrets, API keys and browser
-- session ids are kept as the SHA-256 (hex) of their value (they are 256-bit
-- random, so a fast hash is enough); passwords as a scrypt hash string.

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9._@-]{1,64}$'),
    password_hash text NOT NULL,               -- $scrypt$ln=..,r=..,p=..$salt$hash
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Registered clients: 'dcr' (RFC 7591 /register), 'static' (mcpgate client
-- register) and 'cimd' (client ID metadata documents, the row is the cache
-- of the fetched document and expires with it).
CREATE TABLE oauth_clients (
    client_id      text PRIMARY KEY CHECK (length(client_id) BETWEEN 1 AND 2048),
    kind           text NOT NULL CHECK (kind IN ('dcr', 'static', 'cimd')),
    secret_hash    text CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
    auth_method    text NOT NULL
        CHECK (auth_method IN ('none', 'client_secret_post', 'client_secret_basic')),
    name           text NOT NULL,
    redirect_uris  text[] NOT NULL,
    grant_types    text[] NOT NULL DEFAULT '{authorization_code,refresh_token}',
    scope          text,                        -- registered scope, NULL: any supported
    registered_addr text,                       -- REMOTE_ADDR of a DCR request
    cimd_expires_at timestamptz,                -- kind 'cimd': refetch after this
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    CHECK ((auth_method = 'none') = (secret_hash IS NULL))
);

-- One authorization of a client by a user: the code and every access and
-- refresh token that descend from it. Revoking the family revokes them all
-- (code replay, refresh token reuse, the account page, mcpgate token revoke).
CREATE TABLE oauth_families (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id    text NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    scope        text NOT NULL,
    resource     text NOT NULL,
    issued       boolean NOT NULL DEFAULT false, -- tokens were issued from its code
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    revoke_reason text
);
CREATE INDEX oauth_families_user ON oauth_families (user_id, client_id);

CREATE TABLE oauth_codes (
    code_hash      text PRIMARY KEY CHECK (code_hash ~ '^[0-9a-f]{64}$'),
    family_id      bigint NOT NULL REFERENCES oauth_families (id) ON DELETE CASCADE,
    redirect_uri   text NOT NULL,
    code_challenge text NOT NULL,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);
CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);

CREATE TABLE oauth_tokens (
    token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    kind       text NOT NULL CHECK (kind IN ('access', 'refresh')),
    family_id  bigint NOT NULL REFERENCES oauth_families (id) ON DELETE CASCADE,
    scope      text NOT NULL,
    audience   text NOT NULL,                  -- RFC 8707 resource
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,                    -- refresh: when it was rotated
    revoked_at timestamptz
);
CREATE INDEX oauth_tokens_family ON oauth_tokens (family_id);
CREATE INDEX oauth_tokens_expires_at ON oauth_tokens (expires_at);

-- What a user allowed a client, so the consent page is not shown again for
-- the same or a narrower scope.
CREATE TABLE oauth_consents (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  text NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    scope      text NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, client_id)
);

-- Signed-in browsers (login, consent and account pages).
CREATE TABLE web_sessions (
    id_hash    text PRIMARY KEY CHECK (id_hash ~ '^[0-9a-f]{64}$'),
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX web_sessions_expires_at ON web_sessions (expires_at);

-- Personal API keys, sent as "Authorization: Bearer mgk_...".
CREATE TABLE api_keys (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    key_hash     text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    key_prefix   text NOT NULL,                -- first characters, to recognise it
    scope        text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- Failed logins per account ('u:name') and per address ('a:addr'); every
-- process and host reads the same counters.
CREATE TABLE login_failures (
    key         text PRIMARY KEY,
    failures    integer NOT NULL,
    last_failed timestamptz NOT NULL
);

-- Fixed-window counters (e.g. client registrations per address per hour).
CREATE TABLE rate_counters (
    key          text NOT NULL,
    window_start timestamptz NOT NULL,
    count        integer NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- Rotates a refresh token under a row lock, so two processes that present
-- the same token at the same moment cannot both succeed.
--   'ok'      the old token is marked used; the new pair is stored
--   'grace'   the token was rotated less than p_grace_s ago (a client's
--             concurrent retry): refused, nothing revoked, nothing issued
--   'reused'  the token was rotated earlier: the whole family is revoked
--   'scope'   a narrower scope was asked for, but it is not narrower
--   'invalid' unknown, expired, revoked, another client's, or a revoked family
CREATE FUNCTION oauth_refresh_rotate(p_hash text, p_client text, p_access text,
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
    UPDATE oauth_families SET last_used_at = now() WHERE id = f.id;
    RETURN QUERY SELECT 'ok'::text, f.id, new_scope, f.user_id, t.audience;
END;
$$;

-- Consumes an authorization code: the first call returns it with 'ok' and
-- marks it used; a later call revokes the family it issued ('replayed').
CREATE FUNCTION oauth_code_consume(p_hash text)
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
