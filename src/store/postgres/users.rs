//! The `users` table on Postgres.

use sqlx::PgPool;
use time::OffsetDateTime;

use crate::store::{NewUser, Result, User, now};

macro_rules! columns {
    () => {
        "id, username, password, email, first_name, last_name, is_active, is_staff, is_superuser, \
         last_login, date_joined"
    };
}

pub(super) async fn create(pool: &PgPool, u: &NewUser) -> Result<User> {
    Ok(sqlx::query_as::<_, User>(concat!(
        "INSERT INTO users (username, password, email, first_name, last_name, is_active, is_staff, \
         is_superuser, date_joined) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
        columns!()
    ))
    .bind(&u.username)
    .bind(&u.password)
    .bind(&u.email)
    .bind(&u.first_name)
    .bind(&u.last_name)
    .bind(u.is_active)
    .bind(u.is_staff)
    .bind(u.is_superuser)
    .bind(now())
    .fetch_one(pool)
    .await?)
}

pub(super) async fn by_id(pool: &PgPool, id: i64) -> Result<Option<User>> {
    Ok(
        sqlx::query_as::<_, User>(concat!("SELECT ", columns!(), " FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

pub(super) async fn by_username(pool: &PgPool, username: &str) -> Result<Option<User>> {
    Ok(
        sqlx::query_as::<_, User>(concat!("SELECT ", columns!(), " FROM users WHERE username = $1"))
            .bind(username)
            .fetch_optional(pool)
            .await?,
    )
}

pub(super) async fn list(pool: &PgPool) -> Result<Vec<User>> {
    Ok(
        sqlx::query_as::<_, User>(concat!("SELECT ", columns!(), " FROM users ORDER BY id"))
            .fetch_all(pool)
            .await?,
    )
}

pub(super) async fn set_password(pool: &PgPool, id: i64, hash: &str) -> Result<bool> {
    let done = sqlx::query("UPDATE users SET password = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn set_active(pool: &PgPool, id: i64, active: bool) -> Result<bool> {
    let done = sqlx::query("UPDATE users SET is_active = $1 WHERE id = $2")
        .bind(active)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn set_last_login(pool: &PgPool, id: i64, at: OffsetDateTime) -> Result<()> {
    sqlx::query("UPDATE users SET last_login = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn delete(pool: &PgPool, id: i64) -> Result<bool> {
    let done = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}
