-- One row per revoked token family (the tokens descending from one login). Rotation and
-- retries check it in their write transaction, so once a family is revoked no token of it
-- is recorded again. (Postgres also keeps a row for every rotated family, to lock it.)
CREATE TABLE token_families (
    family     TEXT PRIMARY KEY,
    revoked_at TEXT,
    -- the blacklist reason of the revocation: reuse or revoke
    reason     TEXT
);

-- The families reuse detection revoked before this table existed.
INSERT INTO token_families (family, revoked_at, reason)
SELECT COALESCE(o.family, o.jti), MIN(b.blacklisted_at), 'reuse'
FROM blacklisted_tokens b JOIN outstanding_tokens o ON o.id = b.token_id
WHERE b.reason = 'reuse'
GROUP BY COALESCE(o.family, o.jti);
