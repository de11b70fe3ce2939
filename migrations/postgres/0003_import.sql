-- Full migration: roles and groups from exports, and the checkpoints that let an interrupted
-- import resume. (TOTP seeds are credentials of kind 'totp'; 0001 already allows one per
-- user.) Times are milliseconds since the Unix epoch.

CREATE TABLE user_roles (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    text NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE user_groups (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_name text NOT NULL,               -- as the export names it, e.g. a Keycloak path
    PRIMARY KEY (user_id, group_name)
);

-- One row per named import: how far it got, in records read from its source file.
CREATE TABLE imports (
    name        text PRIMARY KEY,
    source      text NOT NULL,              -- a fingerprint of the file and mapping it reads
    position    bigint NOT NULL,            -- records consumed and committed
    started_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    finished_at bigint
);
