-- Users, shaped like Django's auth_user so that ids (and so user_id claims) line up with a
-- Django project's. AUTOINCREMENT: an id is never handed out twice, as with a Postgres sequence.
CREATE TABLE users (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    username     TEXT    NOT NULL UNIQUE,
    password     TEXT    NOT NULL,
    email        TEXT    NOT NULL DEFAULT '',
    first_name   TEXT    NOT NULL DEFAULT '',
    last_name    TEXT    NOT NULL DEFAULT '',
    is_active    BOOLEAN NOT NULL DEFAULT 1,
    is_staff     BOOLEAN NOT NULL DEFAULT 0,
    is_superuser BOOLEAN NOT NULL DEFAULT 0,
    last_login   TEXT,
    date_joined  TEXT    NOT NULL
);

-- Simple JWT's token_blacklist app, except that the token itself is never stored: a row
-- holds its jti and SHA-256, so reading the table does not hand out live tokens.
CREATE TABLE outstanding_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    jti          TEXT    NOT NULL UNIQUE,
    token_sha256 TEXT    NOT NULL,
    -- the jti of the login this token descends from, for refresh-token reuse detection
    family       TEXT,
    created_at   TEXT,
    expires_at   TEXT    NOT NULL
);
CREATE INDEX outstanding_tokens_user_id ON outstanding_tokens (user_id);
CREATE INDEX outstanding_tokens_expires_at ON outstanding_tokens (expires_at);
CREATE INDEX outstanding_tokens_family ON outstanding_tokens (family);

-- One row per blacklisted outstanding token; the UNIQUE token_id is what lets exactly one
-- of several concurrent rotations of the same refresh token win.
CREATE TABLE blacklisted_tokens (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id       INTEGER NOT NULL UNIQUE REFERENCES outstanding_tokens (id) ON DELETE CASCADE,
    blacklisted_at TEXT    NOT NULL,
    -- blacklist (the endpoint), rotation, revoke (RFC 7009, CLI, password change), reuse
    reason         TEXT    NOT NULL DEFAULT 'blacklist'
);
