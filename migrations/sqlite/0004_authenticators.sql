-- Local authenticators: when a credential was last used (for TOTP the time step of the last
-- accepted code, so no code is accepted twice), and each user's registration-prompt state.
-- Times are milliseconds since the Unix epoch.
ALTER TABLE credentials ADD COLUMN last_used INTEGER;

-- A user's passkeys are kept in one row, as a JSON array of WebAuthn credentials.
CREATE UNIQUE INDEX credentials_one_passkey_set ON credentials (user_id) WHERE kind = 'passkey';

CREATE TABLE authenticator_prompts (
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    prompt          TEXT NOT NULL,          -- the register step's prompt name
    skips           INTEGER NOT NULL DEFAULT 0,
    first_asked_at  INTEGER,
    last_asked_at   INTEGER,
    last_skipped_at INTEGER,
    registered_at   INTEGER,
    PRIMARY KEY (user_id, prompt)
) WITHOUT ROWID;
