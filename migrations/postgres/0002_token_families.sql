-- One row per token family (the tokens descending from one login) that has been rotated or
-- revoked. Rotation and revocation both take the family's row lock: a revocation then never
-- misses a successor that a concurrent rotation is recording, and once `revoked_at` is set
-- no rotation or retry records another token of the family.
CREATE TABLE token_families (
    family     TEXT PRIMARY KEY,
    revoked_at TIMESTAMPTZ,
    -- the blacklist reason of the revocation: reuse or revoke
    reason     TEXT
);

-- The families reuse detection revoked before this table existed.
INSERT INTO token_families (family, revoked_at, reason)
SELECT COALESCE(o.family, o.jti), MIN(b.blacklisted_at), 'reuse'
FROM blacklisted_tokens b JOIN outstanding_tokens o ON o.id = b.token_id
WHERE b.reason = 'reuse'
GROUP BY COALESCE(o.family, o.jti);
