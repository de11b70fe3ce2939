-- Full migration: roles and groups from exports, one TOTP seed per user, and the checkpoints
-- that let an interrupted import resume. Times are milliseconds since the Unix epoch.

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
) WITHOUT ROWID;

CREATE TABLE user_groups (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_name TEXT NOT NULL,               -- as the export names it, e.g. a Keycloak path
    PRIMARY KEY (user_id, group_name)
) WITHOUT ROWID;

CREATE UNIQUE INDEX credentials_one_totp ON credentials (user_id) WHERE kind = 'totp';

-- One row per named import: how far it got, in records read from its source file.
CREATE TABLE imports (
    name        TEXT PRIMARY KEY NOT NULL,
    source      TEXT NOT NULL,              -- a fingerprint of the file and mapping it reads
    position    INTEGER NOT NULL,           -- records consumed and committed
    started_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    finished_at INTEGER
);
