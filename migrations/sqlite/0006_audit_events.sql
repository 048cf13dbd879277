-- Security events (logins, password changes, revoked sessions, changes to users), each
-- written in the transaction of the change it records. No foreign keys: an event outlives
-- its user and its session, and username keeps saying who. detail is JSON text.
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    type       TEXT NOT NULL,
    at         TEXT NOT NULL,
    user_id    INTEGER,
    username   TEXT,
    actor_id   INTEGER,
    ip_address TEXT,
    user_agent TEXT,
    session    TEXT,
    detail     TEXT
);
-- The listings (newest first, optionally by user or type, between since and until) and
-- the pruning of old events.
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_user_at ON audit_events (user_id, at, id);
CREATE INDEX audit_events_type_at ON audit_events (type, at, id);
