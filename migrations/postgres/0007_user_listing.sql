-- The admin listing of users, ordered by when they joined or last logged in (each with the
-- id after it, so that pages are stable): a page is read off the index, not sorted out of
-- the whole table.
CREATE INDEX users_date_joined ON users (date_joined, id);
CREATE INDEX users_last_login ON users (last_login, id);

-- The search (`ILIKE '%term%'` on username, email, first and last name) reads trigram
-- indexes where the pg_trgm extension can be had (it ships with Postgres's contrib and is
-- "trusted", so a database owner may create it); elsewhere it scans the table, which works
-- the same, only slower on many users.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        BEGIN
            CREATE EXTENSION pg_trgm;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'pg_trgm is not available (%): the admin user search will scan the users table', SQLERRM;
            RETURN;
        END;
    END IF;
    CREATE INDEX users_username_trgm ON users USING gin (username gin_trgm_ops);
    CREATE INDEX users_email_trgm ON users USING gin (email gin_trgm_ops);
    CREATE INDEX users_first_name_trgm ON users USING gin (first_name gin_trgm_ops);
    CREATE INDEX users_last_name_trgm ON users USING gin (last_name gin_trgm_ops);
END
$$;
