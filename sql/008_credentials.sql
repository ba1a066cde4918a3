-- 008_credentials.sql - backend credentials kept in the database.
--
-- A row is the secret of one credential slot of one backend (docs/backends.md):
-- the backend's own value (user_id NULL, set with `mcpgate backend credential`)
-- or one user's value for a slot marked per_user (linked on the account page).
-- Only the sealed form is stored: AES-256-GCM under a credential_key of the
-- configuration, "v1:<key id>:<b64url nonce>:<b64url ciphertext and tag>",
-- bound to backend, slot and user so that a value moved to another row does
-- not open (util/seal.h). key_id repeats the sealed value's key id so that
-- rotation can find what is left under an old key.
CREATE TABLE backend_credentials (
    id         bigserial PRIMARY KEY,
    backend    text NOT NULL CHECK (backend ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    slot       text NOT NULL CHECK (length(slot) BETWEEN 1 AND 128),
    user_id    bigint REFERENCES users (id) ON DELETE CASCADE,
    sealed     text NOT NULL CHECK (sealed LIKE 'v1:%'),
    key_id     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX backend_credentials_owner
    ON backend_credentials (backend, slot, coalesce(user_id, 0));
CREATE INDEX backend_credentials_user ON backend_credentials (user_id) WHERE user_id IS NOT NULL;
