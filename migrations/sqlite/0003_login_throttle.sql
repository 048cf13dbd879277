-- The login throttles' counters, shared by every instance on this database: one row per
-- login attempt counted against an address's rate (`rate:`), per failed login (`fail:`) and
-- per lock (`lock:`). Times are microseconds since the Unix epoch; a row is worth nothing
-- after expires_at and is pruned.
CREATE TABLE login_throttle (
    bucket     TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX login_throttle_bucket_at ON login_throttle (bucket, at);
CREATE INDEX login_throttle_expires_at ON login_throttle (expires_at);
