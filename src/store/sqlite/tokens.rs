//! The `outstanding_tokens` and `blacklisted_tokens` tables on SQLite.

use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::store::{OutstandingToken, Result, Rotation, now};

const INSERT_OUTSTANDING: &str = "INSERT INTO outstanding_tokens \
     (user_id, jti, token_sha256, family, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) \
     ON CONFLICT (jti) DO NOTHING";

const BLACKLIST_BY_JTI: &str = "INSERT INTO blacklisted_tokens (token_id, blacklisted_at) \
     SELECT id, ? FROM outstanding_tokens WHERE jti = ? ON CONFLICT (token_id) DO NOTHING";

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

/// Blacklists by jti; false when it already was.
async fn blacklist_jti(tx: &mut Transaction<'_, Sqlite>, jti: &str) -> Result<bool> {
    let done = sqlx::query(BLACKLIST_BY_JTI)
        .bind(now())
        .bind(jti)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// `BEGIN IMMEDIATE` takes the write lock up front, so two writers queue on the busy
/// timeout instead of one failing when it upgrades a read lock.
async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

pub(super) async fn add_outstanding(pool: &SqlitePool, t: &OutstandingToken) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    insert_outstanding(&mut tx, t).await?;
    tx.commit().await?;
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

pub(super) async fn blacklist(pool: &SqlitePool, t: &OutstandingToken) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    insert_outstanding(&mut tx, t).await?;
    let newly = blacklist_jti(&mut tx, &t.jti).await?;
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
    if !blacklist_jti(&mut tx, &old.jti).await? {
        tx.rollback().await?;
        return Ok(Rotation::AlreadyBlacklisted);
    }
    insert_outstanding(&mut tx, new).await?;
    tx.commit().await?;
    Ok(Rotation::Rotated)
}
