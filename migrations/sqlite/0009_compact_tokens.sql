-- The outstanding-token table, smaller on disk (bytes per row, table and indexes: 324 → 160
-- at bench/scale's 1M tokens; Simple JWT's 526): a token is named by its jti alone, stored as
-- 16 bytes.
--  * token_sha256 goes: nothing ever read it. jwtd finds a token by its jti, and the
--    token's signature, not a stored digest, proves it.
--  * created_at goes: nothing read it either; a token's issue time is its own iat claim, and
--    a session's start is kept in token_families.
--  * jti and family become 16-byte BLOBs: Simple JWT's and jwtd's jtis are uuid4().hex, 32
--    lowercase hex digits, stored as the bytes they spell. Any other id (drf-jwt's token
--    ids, another issuer's jti) is stored as the first 16 bytes of its SHA-256, as jwtd keys
--    it from now on (src/store/tokens.rs, Key), so no row is lost or left unreachable.
--    SQLite has no SHA-256: jwtd computes those keys into token_keys just before this
--    migration runs (src/store/migrations.rs); an id missing there (the file migrated by
--    other means) gets a random key, which leaves that token unknown.
--  * the jti is the primary key (the rowid stays, as in any SQLite table), and a blacklist
--    row names its token by jti, as its primary key: one blacklist row per token still
--    lets exactly one of several concurrent rotations of a refresh token win.
-- token_families.family, a family's (its login's) jti, is keyed the same way.
-- The tables are made again (SQLite changes no column's type in place); renaming the old
-- ones first carries the blacklist's foreign key along, so that dropping them cascades
-- nowhere.
CREATE TABLE IF NOT EXISTS token_keys (id TEXT PRIMARY KEY, key BLOB NOT NULL);

ALTER TABLE blacklisted_tokens RENAME TO old_blacklisted_tokens;
ALTER TABLE outstanding_tokens RENAME TO old_outstanding_tokens;
ALTER TABLE token_families RENAME TO old_token_families;
DROP INDEX outstanding_tokens_user_id;
DROP INDEX outstanding_tokens_expires_at;
DROP INDEX outstanding_tokens_family;
DROP INDEX token_families_user_last_used;
DROP INDEX token_families_expires_at;

CREATE TABLE outstanding_tokens (
    jti        BLOB    NOT NULL PRIMARY KEY,
    user_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    -- the jti of the login this token descends from, for refresh-token reuse detection
    family     BLOB,
    expires_at TEXT    NOT NULL
);
CREATE TABLE blacklisted_tokens (
    jti            BLOB NOT NULL PRIMARY KEY REFERENCES outstanding_tokens (jti) ON DELETE CASCADE,
    blacklisted_at TEXT NOT NULL,
    -- blacklist (the endpoint), rotation, revoke (RFC 7009, CLI, password change), reuse
    reason         TEXT NOT NULL DEFAULT 'blacklist'
);
CREATE TABLE token_families (
    family       BLOB PRIMARY KEY,
    revoked_at   TEXT,
    -- the blacklist reason of the revocation: reuse or revoke
    reason       TEXT,
    user_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at   TEXT,
    last_used_at TEXT,
    -- the expiry of the family's newest token: the session ends with it
    expires_at   TEXT,
    user_agent   TEXT,
    ip_address   TEXT,
    -- the family's id when its key does not read back as it (the id is no uuid hex: a
    -- drf-jwt login's token id), so that the session's id shows as it was given
    name         TEXT
);

-- Every id's key: its bytes, or the one computed into token_keys, or a random one.
CREATE TEMP TABLE new_keys (id TEXT PRIMARY KEY, key BLOB NOT NULL);
INSERT INTO new_keys (id, key)
SELECT id, COALESCE((SELECT k.key FROM token_keys k WHERE k.id = ids.id),
                    CASE WHEN length(id) = 32 AND id NOT GLOB '*[^0-9a-f]*' THEN unhex(id) END,
                    randomblob(16))
FROM (SELECT jti AS id FROM old_outstanding_tokens
      UNION SELECT family FROM old_outstanding_tokens WHERE family IS NOT NULL
      UNION SELECT family FROM old_token_families) ids;

INSERT INTO outstanding_tokens (jti, user_id, family, expires_at)
SELECT j.key, o.user_id, f.key, o.expires_at
FROM old_outstanding_tokens o JOIN new_keys j ON j.id = o.jti LEFT JOIN new_keys f ON f.id = o.family
ORDER BY o.id;
INSERT INTO blacklisted_tokens (jti, blacklisted_at, reason)
SELECT j.key, b.blacklisted_at, b.reason
FROM old_blacklisted_tokens b JOIN old_outstanding_tokens o ON o.id = b.token_id JOIN new_keys j ON j.id = o.jti;
INSERT INTO token_families
    (family, revoked_at, reason, user_id, created_at, last_used_at, expires_at, user_agent, ip_address, name)
SELECT k.key, f.revoked_at, f.reason, f.user_id, f.created_at, f.last_used_at, f.expires_at, f.user_agent,
       f.ip_address, CASE WHEN NOT (length(f.family) = 32 AND f.family NOT GLOB '*[^0-9a-f]*') THEN f.family END
FROM old_token_families f JOIN new_keys k ON k.id = f.family;

DROP TABLE old_blacklisted_tokens;
DROP TABLE old_outstanding_tokens;
DROP TABLE old_token_families;
DROP TABLE new_keys;
DROP TABLE token_keys;

CREATE INDEX outstanding_tokens_user_id ON outstanding_tokens (user_id);
CREATE INDEX outstanding_tokens_expires_at ON outstanding_tokens (expires_at);
CREATE INDEX outstanding_tokens_family ON outstanding_tokens (family);
-- A user's sessions, most recently used first; also what deleting a user looks up.
CREATE INDEX token_families_user_last_used ON token_families (user_id, last_used_at, family);
-- The flush of ended sessions reads them off this index, oldest expiry first.
CREATE INDEX token_families_expires_at ON token_families (expires_at, family);
