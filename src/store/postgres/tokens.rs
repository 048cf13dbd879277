//! The `outstanding_tokens` and `blacklisted_tokens` tables on Postgres. Writes that must be
//! atomic are single statements (data-modifying CTEs): atomic without an explicit
//! transaction, and one round trip each.

use sqlx::PgPool;

use crate::store::{OutstandingToken, Result, Rotation, now};

/// `DO UPDATE` rather than `DO NOTHING` so that `RETURNING` yields the id of an existing row.
macro_rules! upsert_old {
    () => {
        "old_row AS (INSERT INTO outstanding_tokens \
         (user_id, jti, token_sha256, family, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (jti) DO UPDATE SET jti = EXCLUDED.jti RETURNING id)"
    };
}

pub(super) async fn add_outstanding(pool: &PgPool, t: &OutstandingToken) -> Result<()> {
    sqlx::query(
        "INSERT INTO outstanding_tokens (user_id, jti, token_sha256, family, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (jti) DO NOTHING",
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

pub(super) async fn blacklist(pool: &PgPool, t: &OutstandingToken) -> Result<bool> {
    let done = sqlx::query(concat!(
        "WITH ",
        upsert_old!(),
        " INSERT INTO blacklisted_tokens (token_id, blacklisted_at) SELECT id, $7 FROM old_row \
         ON CONFLICT (token_id) DO NOTHING"
    ))
    .bind(t.user_id)
    .bind(&t.jti)
    .bind(&t.token_sha256)
    .bind(&t.family)
    .bind(t.created_at)
    .bind(t.expires_at)
    .bind(now())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn rotate(
    pool: &PgPool,
    old: &OutstandingToken,
    new: &OutstandingToken,
) -> Result<Rotation> {
    let rotated = sqlx::query_scalar::<_, bool>(concat!(
        "WITH ",
        upsert_old!(),
        ", banned AS (INSERT INTO blacklisted_tokens (token_id, blacklisted_at) \
           SELECT id, $7 FROM old_row ON CONFLICT (token_id) DO NOTHING RETURNING token_id), \
         fresh AS (INSERT INTO outstanding_tokens \
           (user_id, jti, token_sha256, family, created_at, expires_at) \
           SELECT $8, $9, $10, $11, $12, $13 WHERE EXISTS (SELECT 1 FROM banned) RETURNING id) \
         SELECT EXISTS (SELECT 1 FROM fresh)"
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
    .bind(&new.family)
    .bind(new.created_at)
    .bind(new.expires_at)
    .fetch_one(pool)
    .await?;
    Ok(if rotated {
        Rotation::Rotated
    } else {
        Rotation::AlreadyBlacklisted
    })
}
