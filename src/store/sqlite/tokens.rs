//! The `outstanding_tokens`, `blacklisted_tokens` and `token_families` tables on SQLite.
//! Writes run in
//! `BEGIN IMMEDIATE` transactions (or are single statements): the write lock is taken up
//! front, so concurrent writers queue on the busy timeout instead of failing when they upgrade
//! a read lock. The file's one write lock also orders rotations and family revocations.

use sqlx::{Sqlite, SqlitePool, Transaction};
use time::OffsetDateTime;

use crate::store::{Blacklisting, OutstandingToken, Reason, Result, Rotation, now};

const BLACKLIST_BY_JTI: &str = "INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) \
     SELECT id, ?, ? FROM outstanding_tokens WHERE jti = ? ON CONFLICT (token_id) DO NOTHING";

async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
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

/// Records the token if it is not yet (`?1`…`?6`; the user is looked up in the insert, so a
/// token naming a deleted user is recorded without one), then blacklists it (`?7` when, `?8` why),
/// returning a row only when this call blacklisted it. sqlx runs the statements of one string
/// one after the other with the numbered parameters shared: one trip to SQLite's thread.
macro_rules! record_and_blacklist {
    () => {
        "INSERT INTO outstanding_tokens (user_id, jti, token_sha256, family, created_at, expires_at) \
         VALUES ((SELECT id FROM users WHERE id = ?1), ?2, ?3, ?4, ?5, ?6) ON CONFLICT (jti) DO NOTHING; \
         INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) \
         SELECT id, ?7, ?8 FROM outstanding_tokens WHERE jti = ?2 ON CONFLICT (token_id) DO NOTHING"
    };
}

fn bind_record<'q>(
    q: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments>,
    t: &'q OutstandingToken,
) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments> {
    q.bind(t.user_id)
        .bind(&t.jti)
        .bind(&t.token_sha256)
        .bind(&t.family)
        .bind(t.created_at)
        .bind(t.expires_at)
}

pub(super) async fn blacklist(pool: &SqlitePool, t: &OutstandingToken, reason: Reason) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let rows = bind_record(sqlx::query(concat!(record_and_blacklist!(), " RETURNING 1")), t)
        .bind(now())
        .bind(reason.as_str())
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows.len() == 1)
}

/// One transaction, three trips (begin, the statements, commit): the new token is recorded
/// only if the blacklist insert before it changed a row (`changes()`), i.e. if this call,
/// not a concurrent one, rotated the old token away, and if the family is not revoked.
pub(super) async fn rotate(
    pool: &SqlitePool,
    old: &OutstandingToken,
    new: &OutstandingToken,
) -> Result<Rotation> {
    let mut tx = begin_write(pool).await?;
    let rows = bind_record(
        sqlx::query(concat!(
            record_and_blacklist!(),
            "; INSERT INTO outstanding_tokens (user_id, jti, token_sha256, family, created_at, expires_at) \
             SELECT (SELECT id FROM users WHERE id = ?9), ?10, ?11, COALESCE(family, jti), ?12, ?13 \
             FROM outstanding_tokens o WHERE jti = ?2 AND changes() = 1 \
             AND NOT EXISTS (SELECT 1 FROM token_families f \
               WHERE f.family = COALESCE(o.family, o.jti) AND f.revoked_at IS NOT NULL) RETURNING 1"
        )),
        old,
    )
    .bind(now())
    .bind(Reason::Rotation.as_str())
    .bind(new.user_id)
    .bind(&new.jti)
    .bind(&new.token_sha256)
    .bind(new.created_at)
    .bind(new.expires_at)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        let revoked = sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM outstanding_tokens o JOIN token_families f \
             ON f.family = COALESCE(o.family, o.jti) WHERE o.jti = ? AND f.revoked_at IS NOT NULL)",
        )
        .bind(&old.jti)
        .fetch_one(&mut *tx)
        .await?;
        tx.rollback().await?;
        return Ok(if revoked {
            Rotation::FamilyRevoked
        } else {
            Rotation::AlreadyBlacklisted
        });
    }
    tx.commit().await?;
    Ok(Rotation::Rotated)
}

pub(super) async fn add_to_family(pool: &SqlitePool, t: &OutstandingToken) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO outstanding_tokens (user_id, jti, token_sha256, family, created_at, expires_at) \
         SELECT (SELECT id FROM users WHERE id = ?1), ?2, ?3, ?4, ?5, ?6 \
         WHERE NOT EXISTS (SELECT 1 FROM token_families WHERE family = ?4 AND revoked_at IS NOT NULL) \
         ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at, token_sha256 = excluded.token_sha256",
    )
    .bind(t.user_id)
    .bind(&t.jti)
    .bind(&t.token_sha256)
    .bind(t.family.as_ref().unwrap_or(&t.jti))
    .bind(t.created_at)
    .bind(t.expires_at)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
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

/// Marks the family revoked and blacklists its tokens in one transaction, which the write
/// lock orders with every rotation.
pub(super) async fn blacklist_family(pool: &SqlitePool, family: &str, reason: Reason) -> Result<u64> {
    let mut tx = begin_write(pool).await?;
    let rows = sqlx::query(
        "INSERT INTO token_families (family, revoked_at, reason) VALUES (?3, ?1, ?2) \
         ON CONFLICT (family) DO UPDATE SET revoked_at = COALESCE(revoked_at, excluded.revoked_at), \
         reason = COALESCE(reason, excluded.reason); \
         INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) \
         SELECT id, ?1, ?2 FROM outstanding_tokens WHERE (family = ?3 OR jti = ?3) AND expires_at > ?1 \
         ON CONFLICT (token_id) DO NOTHING RETURNING 1",
    )
    .bind(now())
    .bind(reason.as_str())
    .bind(family)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows.len() as u64)
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
    // A family whose tokens have all expired can neither be rotated nor retried any more.
    sqlx::query(
        "DELETE FROM token_families WHERE NOT EXISTS \
         (SELECT 1 FROM outstanding_tokens o WHERE o.family = token_families.family) \
         AND NOT EXISTS (SELECT 1 FROM outstanding_tokens o WHERE o.jti = token_families.family)",
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
