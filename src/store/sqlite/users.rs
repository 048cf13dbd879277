//! The `users` table on SQLite.

use sqlx::SqlitePool;
use time::OffsetDateTime;

use crate::store::import::{Change, Stored, plan, vacated_name};
use crate::store::{ImportOptions, ImportReport, ImportedUser, NewUser, Reason, Result, User, now};

macro_rules! columns {
    () => {
        "id, username, password, email, first_name, last_name, is_active, is_staff, is_superuser, \
         last_login, date_joined, replaced_at"
    };
}

pub(super) async fn create(pool: &SqlitePool, u: &NewUser) -> Result<User> {
    let query = sqlx::query_as::<_, User>(concat!(
        "INSERT INTO users (username, password, email, first_name, last_name, is_active, is_staff, \
         is_superuser, date_joined) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ",
        columns!()
    ));
    Ok(bind_user_fields!(query, u).bind(now()).fetch_one(pool).await?)
}

pub(super) async fn by_id(pool: &SqlitePool, id: i64) -> Result<Option<User>> {
    Ok(
        sqlx::query_as::<_, User>(concat!("SELECT ", columns!(), " FROM users WHERE id = ?"))
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

pub(super) async fn by_username(pool: &SqlitePool, username: &str) -> Result<Option<User>> {
    Ok(
        sqlx::query_as::<_, User>(concat!("SELECT ", columns!(), " FROM users WHERE username = ?"))
            .bind(username)
            .fetch_optional(pool)
            .await?,
    )
}

/// A sample of the stored hashes that are not jwtd's argon2id nor unusable: one per
/// distinct beginning (algorithm, work factors and the first salt characters), so that
/// every kind present is likely among them; the caller keeps one per kind.
pub(super) async fn legacy_password_hashes(pool: &SqlitePool) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT MIN(password) FROM users WHERE password NOT LIKE '$argon2id$%' \
         AND password NOT LIKE '!%' AND password <> '' \
         GROUP BY substr(password, 1, 24) LIMIT 64",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(p,)| p).collect())
}

pub(super) async fn list(pool: &SqlitePool) -> Result<Vec<User>> {
    Ok(
        sqlx::query_as::<_, User>(concat!("SELECT ", columns!(), " FROM users ORDER BY id"))
            .fetch_all(pool)
            .await?,
    )
}

pub(super) async fn set_password(pool: &SqlitePool, id: i64, hash: &str) -> Result<bool> {
    let done = sqlx::query("UPDATE users SET password = ? WHERE id = ?")
        .bind(hash)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn replace_password(pool: &SqlitePool, id: i64, old: &str, new: &str) -> Result<bool> {
    let done = sqlx::query("UPDATE users SET password = ? WHERE id = ? AND password = ?")
        .bind(new)
        .bind(id)
        .bind(old)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn import(
    pool: &SqlitePool,
    users: &[ImportedUser],
    options: ImportOptions,
) -> Result<ImportReport> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let existing = sqlx::query_as::<_, Stored>(concat!("SELECT ", columns!(), ", origin FROM users"))
        .fetch_all(&mut *tx)
        .await?;
    let (changes, mut report) = plan(&existing, users, options)?;
    if options.dry_run || !report.conflicts.is_empty() {
        // The transaction is dropped: rolled back, nothing written.
        return Ok(report);
    }
    let at = now();
    for change in changes {
        let (sql, u, changes_hands) = match change {
            Change::Vacate(id) => {
                sqlx::query("UPDATE users SET username = ? WHERE id = ?")
                    .bind(vacated_name(id))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                continue;
            }
            Change::Adopt(id) => {
                sqlx::query("UPDATE users SET origin = 'import' WHERE id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                continue;
            }
            Change::Create(u, changes_hands) => (
                "INSERT INTO users (username, password, email, first_name, last_name, is_active, \
                 is_staff, is_superuser, last_login, date_joined, id, replaced_at, origin) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'import')",
                u,
                changes_hands,
            ),
            Change::Update(u, changes_hands) => (
                "UPDATE users SET username = ?, password = ?, email = ?, first_name = ?, \
                 last_name = ?, is_active = ?, is_staff = ?, is_superuser = ?, last_login = ?, \
                 date_joined = COALESCE(?, date_joined), replaced_at = COALESCE(?12, replaced_at), \
                 origin = 'import' WHERE id = ?11",
                u,
                changes_hands,
            ),
        };
        // A new user without date_joined joins now; a stored one keeps its date.
        let date_joined = match change {
            Change::Create(..) => Some(u.date_joined.unwrap_or_else(now)),
            _ => u.date_joined,
        };
        bind_user_fields!(sqlx::query(sql), u.fields)
            .bind(u.last_login)
            .bind(date_joined)
            .bind(u.id)
            .bind(changes_hands.then_some(at))
            .execute(&mut *tx)
            .await?;
        if changes_hands {
            // The tokens of whoever held the id before; access tokens, which no blacklist
            // reaches, are refused by `replaced_at`.
            sqlx::query(
                "INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) \
                 SELECT id, ?, ? FROM outstanding_tokens WHERE user_id = ? AND expires_at > ? \
                 ON CONFLICT (token_id) DO NOTHING",
            )
            .bind(at)
            .bind(Reason::Revoke.as_str())
            .bind(u.id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
    }
    // AUTOINCREMENT keeps sqlite_sequence at the largest id ever inserted, explicit ones
    // included: the next `user create` gets a fresh id with nothing more to do.
    tx.commit().await?;
    report.written = true;
    Ok(report)
}

pub(super) async fn set_active(pool: &SqlitePool, id: i64, active: bool) -> Result<bool> {
    let done = sqlx::query("UPDATE users SET is_active = ? WHERE id = ?")
        .bind(active)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn set_last_login(pool: &SqlitePool, id: i64, at: OffsetDateTime) -> Result<()> {
    sqlx::query("UPDATE users SET last_login = ? WHERE id = ?")
        .bind(at)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn delete(pool: &SqlitePool, id: i64) -> Result<bool> {
    let done = sqlx::query("DELETE FROM users WHERE id = ?")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}
