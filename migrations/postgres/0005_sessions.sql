-- A session is one login and everything refreshed from it: a token family, so a row here is
-- a session once it names its user. Revoking a session is revoking its family (which takes
-- the family's lock and blacklists its tokens). Rows that rotation or revocation created
-- for logins recorded without a session keep these columns empty.
ALTER TABLE token_families
    ADD COLUMN user_id      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN created_at   TIMESTAMPTZ,
    ADD COLUMN last_used_at TIMESTAMPTZ,
    -- the expiry of the family's newest token: the session ends with it
    ADD COLUMN expires_at   TIMESTAMPTZ,
    ADD COLUMN user_agent   TEXT,
    ADD COLUMN ip_address   TEXT;

-- A user's sessions, most recently used first; also what deleting a user looks up.
CREATE INDEX token_families_user_last_used ON token_families (user_id, last_used_at, family);

-- The logins live before this migration become sessions: every family with a token neither
-- expired nor blacklisted. A family's tokens are created by its login and each refresh, so
-- the first and last creation are when it started and was last used.
INSERT INTO token_families (family, user_id, created_at, last_used_at, expires_at)
SELECT COALESCE(o.family, o.jti), MAX(o.user_id), MIN(o.created_at),
       COALESCE(MAX(o.created_at), date_trunc('second', now())), MAX(o.expires_at)
FROM outstanding_tokens o LEFT JOIN blacklisted_tokens b ON b.token_id = o.id
WHERE o.user_id IS NOT NULL
GROUP BY COALESCE(o.family, o.jti)
HAVING bool_or(b.id IS NULL AND o.expires_at > now())
ON CONFLICT (family) DO UPDATE SET user_id = EXCLUDED.user_id, created_at = EXCLUDED.created_at,
    last_used_at = EXCLUDED.last_used_at, expires_at = EXCLUDED.expires_at;
