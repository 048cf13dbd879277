-- The admin listing of users, ordered by when they joined or last logged in (each with the
-- id after it, so that pages are stable): a page is read off the index, not sorted out of
-- the whole table.
CREATE INDEX users_date_joined ON users (date_joined, id);
CREATE INDEX users_last_login ON users (last_login, id);

-- The search (each term in the username, email, first or last name) reads a trigram index
-- of those columns, kept by triggers; `LIKE '%term%'` would scan the table. It folds case
-- for every alphabet, as Postgres's ILIKE does.
CREATE VIRTUAL TABLE users_search USING fts5(
    username, email, first_name, last_name, content = 'users', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO users_search (users_search) VALUES ('rebuild');
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, username, email, first_name, last_name)
    VALUES (new.id, new.username, new.email, new.first_name, new.last_name);
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, username, email, first_name, last_name)
    VALUES ('delete', old.id, old.username, old.email, old.first_name, old.last_name);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF id, username, email, first_name, last_name ON users BEGIN
    INSERT INTO users_search (users_search, rowid, username, email, first_name, last_name)
    VALUES ('delete', old.id, old.username, old.email, old.first_name, old.last_name);
    INSERT INTO users_search (rowid, username, email, first_name, last_name)
    VALUES (new.id, new.username, new.email, new.first_name, new.last_name);
END;
