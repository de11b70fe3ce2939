-- Consecutive failed logins per throttling key ('account:<identifier>' or 'client:<address>'),
-- kept across restarts. Times are milliseconds since the Unix epoch.
CREATE TABLE login_failures (
    key          TEXT PRIMARY KEY NOT NULL,
    count        INTEGER NOT NULL,
    last_at      INTEGER NOT NULL,
    locked_until INTEGER
);
