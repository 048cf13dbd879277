-- The flush of ended sessions reads them off this index, oldest expiry first; the families
-- recorded without an expiry (rotated or revoked logins that had no session row) are paged
-- through by family, under expires_at IS NULL.
CREATE INDEX token_families_expires_at ON token_families (expires_at, family);

-- The kinds of imported password hashes still stored (their algorithm and cost are in the
-- first characters), which start-up times once each: read off this index by skipping from
-- one kind to the next, never by reading every user. Partial: the hashes jwtd wrote itself
-- and unusable passwords are left out, so the index shrinks as imported users log in.
CREATE INDEX users_legacy_hash_kind ON users (substr(password, 1, 24))
    WHERE password NOT LIKE '$argon2id$%' AND password NOT LIKE '!%' AND password <> '';
