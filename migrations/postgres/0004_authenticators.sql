-- Local authenticators: when a credential was last used (for TOTP the time step of the last
-- accepted code, so no code is accepted twice), and each user's registration-prompt state.
-- A user's passkeys are one credential row of kind 'passkey', a JSON array. Times are
-- milliseconds since the Unix epoch.
ALTER TABLE credentials ADD COLUMN last_used bigint;

CREATE TABLE authenticator_prompts (
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    prompt          text NOT NULL,          -- the register step's prompt name
    skips           bigint NOT NULL DEFAULT 0,
    first_asked_at  bigint,
    last_asked_at   bigint,
    last_skipped_at bigint,
    registered_at   bigint,
    PRIMARY KEY (user_id, prompt)
);
