-- A session is one login and everything refreshed from it: a token family, so a row here is
-- a session once it names its user. Revoking a session is revoking its family (which
-- blacklists its tokens under the write lock). Rows that revocation created for logins
-- recorded without a session keep these columns empty.
ALTER TABLE token_families ADD COLUMN user_id INTEGER REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE token_families ADD COLUMN created_at TEXT;
ALTER TABLE token_families ADD COLUMN last_used_at TEXT;
-- the expiry of the family's newest token: the session ends with it
ALTER TABLE token_families ADD COLUMN expires_at TEXT;
ALTER TABLE token_families ADD COLUMN user_agent TEXT;
ALTER TABLE token_families ADD COLUMN ip_address TEXT;

-- A user's sessions, most recently used first; also what deleting a user looks up.
CREATE INDEX token_families_user_last_used ON token_families (user_id, last_used_at, family);

-- The logins live before this migration become sessions: every family with a token neither
-- expired nor blacklisted. A family's tokens are created by its login and each refresh, so
-- the first and last creation are when it started and was last used. (Times are stored as
-- RFC 3339 text in UTC, whole seconds, which compares in time order.)
INSERT INTO token_families (family, user_id, created_at, last_used_at, expires_at)
SELECT COALESCE(o.family, o.jti), MAX(o.user_id), MIN(o.created_at),
       COALESCE(MAX(o.created_at), strftime('%Y-%m-%dT%H:%M:%SZ', 'now')), MAX(o.expires_at)
FROM outstanding_tokens o LEFT JOIN blacklisted_tokens b ON b.token_id = o.id
WHERE o.user_id IS NOT NULL
GROUP BY COALESCE(o.family, o.jti)
HAVING MAX(b.id IS NULL AND o.expires_at > strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
ON CONFLICT (family) DO UPDATE SET user_id = excluded.user_id, created_at = excluded.created_at,
    last_used_at = excluded.last_used_at, expires_at = excluded.expires_at;
