-- Consecutive failed logins per throttling key ('account:<identifier>' or 'client:<address>'),
-- shared by every node. Times are milliseconds since the Unix epoch.
CREATE TABLE login_failures (
    key          text PRIMARY KEY,
    count        bigint NOT NULL,
    last_at      bigint NOT NULL,
    locked_until bigint
);
