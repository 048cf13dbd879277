//! The `outstanding_tokens` and `blacklisted_tokens` tables on SQLite. Writes run in
//! `BEGIN IMMEDIATE` transactions: the write lock is taken up front, so concurrent writers
//! queue on the busy timeout instead of failing when they upgrade a read lock.

use sqlx::{Sqlite, SqlitePool, Transaction};
use time::OffsetDateTime;

use crate::store::{Blacklisting, OutstandingToken, Reason, Result, Rotation, now};

/// The user is looked up in the insert, so a token naming a deleted user is recorded
/// without one (the foreign key would refuse it otherwise).
const INSERT_OUTSTANDING: &str = "INSERT INTO outstanding_tokens \
     (user_id, jti, token_sha256, family, created_at, expires_at) \
     VALUES ((SELECT id FROM users WHERE id = ?), ?, ?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING";

const BLACKLIST_BY_JTI: &str = "INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) \
     SELECT id, ?, ? FROM outstanding_tokens WHERE jti = ? ON CONFLICT (token_id) DO NOTHING";

async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

async fn insert_outstanding(tx: &mut Transaction<'_, Sqlite>, t: &OutstandingToken) -> Result<()> {
    sqlx::query(INSERT_OUTSTANDING)
        .bind(t.user_id)
        .bind(&t.jti)
        .bind(&t.token_sha256)
        .bind(&t.family)
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Blacklists by jti; false when it already was (or is not recorded).
async fn blacklist_jti_in(tx: &mut Transaction<'_, Sqlite>, jti: &str, reason: Reason) -> Result<bool> {
    let done = sqlx::query(BLACKLIST_BY_JTI)
        .bind(now())
        .bind(reason.as_str())
        .bind(jti)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn add_outstanding(pool: &SqlitePool, t: &OutstandingToken) -> Result<()> {
    sqlx::query(
        "INSERT INTO outstanding_tokens (user_id, jti, token_sha256, family, created_at, expires_at) \
         VALUES ((SELECT id FROM users WHERE id = ?), ?, ?, ?, ?, ?) \
         ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at, token_sha256 = excluded.token_sha256",
    )
    .bind(t.user_id)
    .bind(&t.jti)
    .bind(&t.token_sha256)
    .bind(&t.family)
    .bind(t.created_at)
    .bind(t.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn is_blacklisted(pool: &SqlitePool, jti: &str) -> Result<bool> {
    Ok(sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM blacklisted_tokens b \
         JOIN outstanding_tokens o ON o.id = b.token_id WHERE o.jti = ?)",
    )
    .bind(jti)
    .fetch_one(pool)
    .await?)
}

pub(super) async fn blacklist(pool: &SqlitePool, t: &OutstandingToken, reason: Reason) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    insert_outstanding(&mut tx, t).await?;
    let newly = blacklist_jti_in(&mut tx, &t.jti, reason).await?;
    tx.commit().await?;
    Ok(newly)
}

pub(super) async fn rotate(
    pool: &SqlitePool,
    old: &OutstandingToken,
    new: &OutstandingToken,
) -> Result<Rotation> {
    let mut tx = begin_write(pool).await?;
    insert_outstanding(&mut tx, old).await?;
    if !blacklist_jti_in(&mut tx, &old.jti, Reason::Rotation).await? {
        tx.rollback().await?;
        return Ok(Rotation::AlreadyBlacklisted);
    }
    sqlx::query(
        "INSERT INTO outstanding_tokens (user_id, jti, token_sha256, family, created_at, expires_at) \
         SELECT (SELECT id FROM users WHERE id = ?), ?, ?, COALESCE(family, jti), ?, ? \
         FROM outstanding_tokens WHERE jti = ?",
    )
    .bind(new.user_id)
    .bind(&new.jti)
    .bind(&new.token_sha256)
    .bind(new.created_at)
    .bind(new.expires_at)
    .bind(&old.jti)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Rotation::Rotated)
}

pub(super) async fn blacklisting(pool: &SqlitePool, jti: &str) -> Result<Option<Blacklisting>> {
    let row = sqlx::query_as::<_, (OffsetDateTime, String, String)>(
        "SELECT b.blacklisted_at, b.reason, COALESCE(o.family, o.jti) FROM blacklisted_tokens b \
         JOIN outstanding_tokens o ON o.id = b.token_id WHERE o.jti = ?",
    )
    .bind(jti)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(at, reason, family)| Blacklisting {
        at,
        reason: Reason::parse(&reason),
        family,
    }))
}

pub(super) async fn blacklist_family(pool: &SqlitePool, family: &str, reason: Reason) -> Result<u64> {
    let done = sqlx::query(
        "INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) \
         SELECT id, ?, ? FROM outstanding_tokens WHERE (family = ? OR jti = ?) AND expires_at > ? \
         ON CONFLICT (token_id) DO NOTHING",
    )
    .bind(now())
    .bind(reason.as_str())
    .bind(family)
    .bind(family)
    .bind(now())
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn blacklist_user(pool: &SqlitePool, user_id: i64, reason: Reason) -> Result<u64> {
    let done = sqlx::query(
        "INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) \
         SELECT id, ?, ? FROM outstanding_tokens WHERE user_id = ? AND expires_at > ? \
         ON CONFLICT (token_id) DO NOTHING",
    )
    .bind(now())
    .bind(reason.as_str())
    .bind(user_id)
    .bind(now())
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn blacklist_jti(pool: &SqlitePool, jti: &str, reason: Reason) -> Result<Option<bool>> {
    let mut tx = begin_write(pool).await?;
    let newly = blacklist_jti_in(&mut tx, jti, reason).await?;
    let known = newly
        || sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM outstanding_tokens WHERE jti = ?)")
            .bind(jti)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(known.then_some(newly))
}

pub(super) async fn flush_expired(pool: &SqlitePool, now: OffsetDateTime) -> Result<u64> {
    let done = sqlx::query("DELETE FROM outstanding_tokens WHERE expires_at < ?")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
