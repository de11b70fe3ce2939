-- Users, their credentials, and the log of every migration, for the embedded SQLite store.
-- Times are milliseconds since the Unix epoch.

CREATE TABLE users (
    id               TEXT PRIMARY KEY NOT NULL,
    identifier       TEXT NOT NULL UNIQUE,   -- normalised, as the user logs in
    attributes       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attributes)),
    migration_source TEXT,                   -- the IDP's name in ferry.yaml
    legacy_provider  TEXT,                   -- user_file, oauth2, okta, ...
    legacy_subject   TEXT,                   -- the user's id at the legacy IDP
    migrated_at      INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

-- One local user per legacy account.
CREATE UNIQUE INDEX users_legacy_account ON users (migration_source, legacy_subject)
    WHERE legacy_subject IS NOT NULL;

CREATE TABLE credentials (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,               -- password
    secret     TEXT NOT NULL,               -- a PHC string for passwords
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE UNIQUE INDEX credentials_one_password ON credentials (user_id) WHERE kind = 'password';

CREATE TABLE migration_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        TEXT NOT NULL REFERENCES users (id),
    at             INTEGER NOT NULL,
    event          TEXT NOT NULL,           -- created, updated
    method         TEXT NOT NULL,           -- password, ...
    journey        TEXT NOT NULL,
    idp            TEXT,
    provider       TEXT,
    legacy_subject TEXT
);

CREATE INDEX migration_log_user ON migration_log (user_id);
