-- 015_idp.sql - sign-in at upstream identity providers (OpenID Connect).
--
-- A user signed in through a provider is keyed by (idp, subject): the
-- provider's configured name and its "sub" claim, which OpenID Connect Core
-- section 5.7 makes the only stable identifier. Such a user has no password
-- (password_hash '!', which no scrypt hash equals); name and email are
-- refreshed from the ID token at every sign-in. Local users have idp NULL.

ALTER TABLE users
    ADD COLUMN idp          text CHECK (idp ~ '^[a-z0-9_-]{1,32}$'),
    ADD COLUMN subject      text CHECK (length(subject) BETWEEN 1 AND 255),
    ADD COLUMN email        text CHECK (length(email) <= 320),
    ADD COLUMN display_name text CHECK (length(display_name) <= 200),
    ADD CONSTRAINT users_idp_subject UNIQUE (idp, subject),
    ADD CONSTRAINT users_idp_both CHECK ((idp IS NULL) = (subject IS NULL));

-- A sign-in under way at a provider, from the redirect to the callback.
-- Only the SHA-256 of the state is stored; the browser carries the state in
-- a cookie as well, so a callback in another browser finds nothing. The
-- PKCE verifier and the nonce are derived from the state with a server
-- secret (never stored). A row is consumed once (DELETE ... RETURNING).
CREATE TABLE idp_logins (
    state_hash text PRIMARY KEY,
    idp        text NOT NULL,
    return_to  text NOT NULL CHECK (length(return_to) <= 4096),
    expires_at timestamptz NOT NULL
);
CREATE INDEX idp_logins_expires ON idp_logins (expires_at);
