-- The outstanding-token table, smaller on disk (bytes per row, table and indexes: 327 → 143
-- at bench/scale's 1M tokens; Simple JWT's 526): a token is named by its jti alone, stored as
-- 16 bytes.
--  * token_sha256 goes: nothing ever read it. jwtd finds a token by its jti, and the
--    token's signature, not a stored digest, proves it.
--  * created_at goes: nothing read it either; a token's issue time is its own iat claim, and
--    a session's start is kept in token_families.
--  * jti and family become uuid: Simple JWT's and jwtd's jtis are uuid4().hex, 32 lowercase
--    hex digits, stored as the bytes they spell. Any other id (drf-jwt's token ids, another
--    issuer's jti) is stored as the first 16 bytes of its SHA-256, as jwtd keys it from now
--    on (src/store/tokens.rs, Key), so no row is lost or left unreachable.
--  * the jti is the primary key (the surrogate id and its index go), and a blacklist row
--    names its token by jti, as its primary key: one blacklist row per token still lets
--    exactly one of several concurrent rotations of a refresh token win.
-- token_families.family, a family's (its login's) jti, is keyed the same way.
CREATE FUNCTION pg_temp.token_key(id text) RETURNS uuid LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE WHEN id ~ '^[0-9a-f]{32}$' THEN id::uuid
                ELSE encode(substring(sha256(convert_to(id, 'UTF8')) FROM 1 FOR 16), 'hex')::uuid END
$$;

ALTER TABLE blacklisted_tokens ADD COLUMN jti uuid;
UPDATE blacklisted_tokens b SET jti = pg_temp.token_key(o.jti)
FROM outstanding_tokens o WHERE o.id = b.token_id;
ALTER TABLE blacklisted_tokens DROP COLUMN id, DROP COLUMN token_id;

ALTER TABLE outstanding_tokens
    DROP COLUMN id,
    DROP COLUMN token_sha256,
    DROP COLUMN created_at,
    DROP CONSTRAINT outstanding_tokens_jti_key,
    ALTER COLUMN jti TYPE uuid USING pg_temp.token_key(jti),
    ALTER COLUMN family TYPE uuid USING pg_temp.token_key(family),
    ADD PRIMARY KEY (jti);

ALTER TABLE blacklisted_tokens
    ALTER COLUMN jti SET NOT NULL,
    ADD PRIMARY KEY (jti),
    ADD FOREIGN KEY (jti) REFERENCES outstanding_tokens (jti) ON DELETE CASCADE;

-- A session keeps its family's id beside the key when the key does not read back as it (the
-- id is no uuid hex: a drf-jwt login's token id), so that its id shows as it was given.
ALTER TABLE token_families ADD COLUMN name TEXT;
UPDATE token_families SET name = family WHERE family !~ '^[0-9a-f]{32}$';
ALTER TABLE token_families ALTER COLUMN family TYPE uuid USING pg_temp.token_key(family);

DROP FUNCTION pg_temp.token_key(text);
