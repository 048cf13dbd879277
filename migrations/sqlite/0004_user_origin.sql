-- Where a user came from, so that `jwtd user import-django` never overwrites by surprise a
-- user created in jwtd itself (CLI, API, registration): 'local' for those (the default,
-- so that every way of creating a user is covered), 'import' for rows an import wrote.
-- Rows stored before this migration may be either: 'unknown', which an import updates only
-- where a record has both the row's id and its username (the same person), and otherwise
-- refuses to overwrite without --replace.
ALTER TABLE users ADD COLUMN origin TEXT NOT NULL DEFAULT 'local'
    CHECK (origin IN ('local', 'import', 'unknown'));
UPDATE users SET origin = 'unknown';

-- When an import last gave the row's id or username to another person: tokens issued
-- before then name the previous holder and are refused, access tokens included.
ALTER TABLE users ADD COLUMN replaced_at TEXT;
