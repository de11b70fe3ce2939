-- Users, their credentials, and the log of every migration, for the PostgreSQL store. The
-- tables and their meaning follow the SQLite store's; times are milliseconds since the Unix
-- epoch (bigint), ids are uuids, attributes a JSON object (jsonb).

CREATE TABLE users (
    id               uuid PRIMARY KEY,
    identifier       text NOT NULL UNIQUE,   -- normalised, as the user logs in
    attributes       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    migration_source text,                   -- the IDP's name in ferry.yaml
    legacy_provider  text,                   -- user_file, oauth2, okta, ...
    legacy_subject   text,                   -- the user's id at the legacy IDP
    migrated_at      bigint,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL
);

-- One local user per legacy account.
CREATE UNIQUE INDEX users_legacy_account ON users (migration_source, legacy_subject)
    WHERE legacy_subject IS NOT NULL;

CREATE TABLE credentials (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       text NOT NULL,               -- password, totp, passkey, email, sms
    secret     text NOT NULL,               -- a PHC string for passwords
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);

-- At most one credential of each kind per user (SQLite says the same with one partial index
-- per kind).
CREATE UNIQUE INDEX credentials_one_per_kind ON credentials (user_id, kind);

CREATE TABLE migration_log (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id),
    at             bigint NOT NULL,
    event          text NOT NULL,           -- created, updated
    method         text NOT NULL,           -- password, import, ...
    journey        text NOT NULL,
    idp            text,
    provider       text,
    legacy_subject text
);

CREATE INDEX migration_log_user ON migration_log (user_id);
