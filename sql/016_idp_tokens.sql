-- 016_idp_tokens.sql - the tokens an identity provider issued at sign-in,
-- for backends that call the provider's API as the signed-in user (a
-- credential slot with "from_idp", docs/backends.md).
--
-- One row per user (a user signs in at one provider). Access and refresh
-- token are sealed like backend_credentials (AES-256-GCM under a
-- credential_key, bound to the user and to which token it is). A refresh
-- happens once across all processes and hosts: the process whose UPDATE
-- sets refresh_lease (while none is live) refreshes and stores the new
-- pair with one UPDATE naming its lease; the others wait for that row.
CREATE TABLE idp_tokens (
    user_id        bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    idp            text NOT NULL CHECK (idp ~ '^[a-z0-9_-]{1,32}$'),
    token_endpoint text NOT NULL CHECK (length(token_endpoint) <= 1024),
    access_sealed  text NOT NULL CHECK (access_sealed LIKE 'v1:%'),
    refresh_sealed text CHECK (refresh_sealed LIKE 'v1:%'),
    expires_at     timestamptz NOT NULL,
    refresh_lease  text,
    lease_until    timestamptz,
    refreshes      integer NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
