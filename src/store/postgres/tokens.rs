//! The `outstanding_tokens`, `blacklisted_tokens` and `token_families` tables on Postgres.
//! Writes that must be atomic are single statements (data-modifying CTEs): atomic without an
//! explicit transaction, and one round trip each. Revoking a family is the exception.

use sqlx::PgPool;
use time::OffsetDateTime;

use crate::store::{Blacklisting, OutstandingToken, Reason, Result, Rotation, now};

/// Records the token if it is not yet (the user looked up in the insert, so a deleted user
/// leaves it without one); `DO UPDATE` rather than `DO NOTHING` so that `RETURNING` yields
/// the existing row too. It sets a column outside any unique index, so the row lock it
/// takes is `FOR NO KEY UPDATE`: a family revocation blacklisting this token meanwhile only
/// needs `FOR KEY SHARE` for its foreign key and does not wait for it. (Setting `jti` would
/// lock `FOR UPDATE`, and a rotation holding that while it waits for the family's lock
/// deadlocks with the revocation holding the family's lock.)
macro_rules! upsert_old {
    () => {
        "old_row AS (INSERT INTO outstanding_tokens \
         (user_id, jti, token_sha256, family, created_at, expires_at) \
         VALUES ((SELECT id FROM users WHERE id = $1), $2, $3, $4, $5, $6) \
         ON CONFLICT (jti) DO UPDATE SET family = outstanding_tokens.family RETURNING id, family, jti)"
    };
}

pub(super) async fn add_outstanding(pool: &PgPool, t: &OutstandingToken) -> Result<()> {
    sqlx::query(
        "INSERT INTO outstanding_tokens (user_id, jti, token_sha256, family, created_at, expires_at) \
         VALUES ((SELECT id FROM users WHERE id = $1), $2, $3, $4, $5, $6) \
         ON CONFLICT (jti) DO UPDATE SET expires_at = EXCLUDED.expires_at, token_sha256 = EXCLUDED.token_sha256",
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

pub(super) async fn is_blacklisted(pool: &PgPool, jti: &str) -> Result<bool> {
    Ok(sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM blacklisted_tokens b \
         JOIN outstanding_tokens o ON o.id = b.token_id WHERE o.jti = $1)",
    )
    .bind(jti)
    .fetch_one(pool)
    .await?)
}

pub(super) async fn blacklist(pool: &PgPool, t: &OutstandingToken, reason: Reason) -> Result<bool> {
    let done = sqlx::query(concat!(
        "WITH ",
        upsert_old!(),
        " INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) SELECT id, $7, $8 FROM old_row \
         ON CONFLICT (token_id) DO NOTHING"
    ))
    .bind(t.user_id)
    .bind(&t.jti)
    .bind(&t.token_sha256)
    .bind(&t.family)
    .bind(t.created_at)
    .bind(t.expires_at)
    .bind(now())
    .bind(reason.as_str())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Locks the row of the family `$family` (creating it), as the first thing its statement
/// does that the others wait for: `RETURNING` then gives the revocation committed last,
/// even one committed after the statement began, which a plain `SELECT` would not see.
macro_rules! lock_family {
    ($family:literal) => {
        concat!(
            "fam AS (INSERT INTO token_families (family) ",
            $family,
            " ON CONFLICT (family) DO UPDATE SET revoked_at = token_families.revoked_at \
             RETURNING revoked_at, reason)"
        )
    };
}

/// The old token's family is locked before the old token is blacklisted (the blacklist row
/// depends on `fam`), as `blacklist_family` does: a rotation and a revocation of one family
/// take their locks in the same order and never deadlock. If the family is revoked, the old
/// token is blacklisted for the revocation's reason and nothing is recorded.
pub(super) async fn rotate(
    pool: &PgPool,
    old: &OutstandingToken,
    new: &OutstandingToken,
) -> Result<Rotation> {
    let (rotated, revoked) = sqlx::query_as::<_, (bool, bool)>(concat!(
        "WITH ",
        upsert_old!(),
        ", ",
        lock_family!("SELECT COALESCE(family, jti) FROM old_row"),
        ", banned AS (INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) \
           SELECT o.id, $7, COALESCE(f.reason, 'rotation') FROM old_row o, fam f \
           ON CONFLICT (token_id) DO NOTHING RETURNING token_id), \
         fresh AS (INSERT INTO outstanding_tokens \
           (user_id, jti, token_sha256, family, created_at, expires_at) \
           SELECT (SELECT id FROM users WHERE id = $8), $9, $10, COALESCE(o.family, o.jti), $11, $12 \
           FROM old_row o, fam f WHERE f.revoked_at IS NULL AND EXISTS (SELECT 1 FROM banned) RETURNING id) \
         SELECT EXISTS (SELECT 1 FROM fresh), EXISTS (SELECT 1 FROM fam WHERE revoked_at IS NOT NULL)"
    ))
    .bind(old.user_id)
    .bind(&old.jti)
    .bind(&old.token_sha256)
    .bind(&old.family)
    .bind(old.created_at)
    .bind(old.expires_at)
    .bind(now())
    .bind(new.user_id)
    .bind(&new.jti)
    .bind(&new.token_sha256)
    .bind(new.created_at)
    .bind(new.expires_at)
    .fetch_one(pool)
    .await?;
    Ok(if rotated {
        Rotation::Rotated
    } else if revoked {
        Rotation::FamilyRevoked
    } else {
        Rotation::AlreadyBlacklisted
    })
}

pub(super) async fn add_to_family(pool: &PgPool, t: &OutstandingToken) -> Result<bool> {
    let done = sqlx::query(concat!(
        "WITH ",
        lock_family!("VALUES ($4)"),
        " INSERT INTO outstanding_tokens (user_id, jti, token_sha256, family, created_at, expires_at) \
         SELECT (SELECT id FROM users WHERE id = $1), $2, $3, $4, $5, $6 FROM fam WHERE revoked_at IS NULL \
         ON CONFLICT (jti) DO UPDATE SET expires_at = EXCLUDED.expires_at, token_sha256 = EXCLUDED.token_sha256"
    ))
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

pub(super) async fn blacklisting(pool: &PgPool, jti: &str) -> Result<Option<Blacklisting>> {
    let row = sqlx::query_as::<_, (OffsetDateTime, String, String)>(
        "SELECT b.blacklisted_at, b.reason, COALESCE(o.family, o.jti) FROM blacklisted_tokens b \
         JOIN outstanding_tokens o ON o.id = b.token_id WHERE o.jti = $1",
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

/// Two statements in one transaction: the first marks the family revoked and holds its lock,
/// after any rotation of the family under way has committed; the second, with a snapshot
/// taken only then, sees the token that rotation recorded. (One statement would not: its
/// snapshot predates the wait.)
pub(super) async fn blacklist_family(pool: &PgPool, family: &str, reason: Reason) -> Result<u64> {
    let at = now();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO token_families (family, revoked_at, reason) VALUES ($1, $2, $3) \
         ON CONFLICT (family) DO UPDATE SET revoked_at = COALESCE(token_families.revoked_at, EXCLUDED.revoked_at), \
         reason = COALESCE(token_families.reason, EXCLUDED.reason)",
    )
    .bind(family)
    .bind(at)
    .bind(reason.as_str())
    .execute(&mut *tx)
    .await?;
    let done = sqlx::query(
        "INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) \
         SELECT id, $1, $2 FROM outstanding_tokens WHERE (family = $3 OR jti = $3) AND expires_at > $1 \
         ON CONFLICT (token_id) DO NOTHING",
    )
    .bind(at)
    .bind(reason.as_str())
    .bind(family)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

pub(super) async fn blacklist_user(pool: &PgPool, user_id: i64, reason: Reason) -> Result<u64> {
    let done = sqlx::query(
        "INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) \
         SELECT id, $1, $2 FROM outstanding_tokens WHERE user_id = $3 AND expires_at > $1 \
         ON CONFLICT (token_id) DO NOTHING",
    )
    .bind(now())
    .bind(reason.as_str())
    .bind(user_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn blacklist_jti(pool: &PgPool, jti: &str, reason: Reason) -> Result<Option<bool>> {
    let (known, newly) = sqlx::query_as::<_, (bool, bool)>(
        "WITH target AS (SELECT id FROM outstanding_tokens WHERE jti = $3), \
         banned AS (INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) \
           SELECT id, $1, $2 FROM target ON CONFLICT (token_id) DO NOTHING RETURNING token_id) \
         SELECT EXISTS (SELECT 1 FROM target), EXISTS (SELECT 1 FROM banned)",
    )
    .bind(now())
    .bind(reason.as_str())
    .bind(jti)
    .fetch_one(pool)
    .await?;
    Ok(known.then_some(newly))
}

pub(super) async fn flush_expired(pool: &PgPool, now: OffsetDateTime) -> Result<u64> {
    let done = sqlx::query("DELETE FROM outstanding_tokens WHERE expires_at < $1")
        .bind(now)
        .execute(pool)
        .await?;
    sqlx::query(FORGET_EMPTY_FAMILIES).execute(pool).await?;
    Ok(done.rows_affected())
}

/// A family whose tokens have all expired can neither be rotated nor retried any more.
const FORGET_EMPTY_FAMILIES: &str = "DELETE FROM token_families f \
     WHERE NOT EXISTS (SELECT 1 FROM outstanding_tokens o WHERE o.family = f.family) \
     AND NOT EXISTS (SELECT 1 FROM outstanding_tokens o WHERE o.jti = f.family)";
