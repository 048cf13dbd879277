//! Postgres, selected by a `postgres://` URL; several jwtd instances may share it.

mod tokens;
mod users;

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool};
use time::OffsetDateTime;

use super::{
    Blacklisting, ConnectOptions, ImportOptions, ImportReport, ImportedUser, NewUser, OutstandingToken,
    Reason, Result, Rotation, Store, StoreError, User, migrations,
};

const MIGRATIONS_TABLE_EXISTS: &str = "SELECT to_regclass('_sqlx_migrations') IS NOT NULL";

pub struct PostgresStore {
    pub(super) pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<PostgresStore> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("bad Postgres URL: {e}")))?
            .application_name("jwtd");
        let place = super::pool::postgres_place(&connect);
        super::pool::first_connection::<sqlx::PgConnection>(&connect, options.acquire_timeout, &place)
            .await?;
        let pool = super::pool::options(options, options.pings.clone())
            .connect_with(connect)
            .await?;
        Ok(PostgresStore { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub fn pool_state(&self) -> super::PoolState {
        super::PoolState {
            size: self.pool.size(),
            idle: self.pool.num_idle() as u32,
            max: self.pool.options().get_max_connections(),
        }
    }

    /// A write that leaves nothing behind, for readiness after a failed write (see
    /// `Database::ready`): a read-only server (a standby, a failover under way) refuses it,
    /// and committing it writes the catalog's log.
    pub async fn probe_write(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("CREATE TEMPORARY TABLE jwtd_write_probe (b bytea) ON COMMIT DROP")
            .persistent(false)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Store for PostgresStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn migrate(&self) -> Result<()> {
        // sqlx's migrator creates its table with IF NOT EXISTS each time, and Postgres answers
        // an up-to-date database with a NOTICE that sqlx logs at INFO, on every command. The
        // session setting is reset before the connection goes back to the pool.
        let mut conn = self.pool.acquire().await?;
        sqlx::query("SET client_min_messages = warning")
            .execute(&mut *conn)
            .await?;
        // `run_direct` is what `run` calls once it holds a connection; `run(&mut *conn)` does
        // not compile in a future that must be Send (sqlx's "Acquire is not general enough").
        let migrated = migrations::migrator(migrations::POSTGRES)
            .run_direct(None, &mut *conn, false)
            .await
            .map_err(|e| StoreError::Other(format!("migration failed: {e}")));
        sqlx::query("RESET client_min_messages")
            .execute(&mut *conn)
            .await?;
        migrated
    }

    async fn latest_migration(&self) -> Result<i64> {
        let exists: bool = sqlx::query_scalar(MIGRATIONS_TABLE_EXISTS)
            .fetch_one(&self.pool)
            .await?;
        if !exists {
            return Ok(0);
        }
        Ok(
            sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await?
                .unwrap_or(0),
        )
    }

    async fn create_user(&self, user: &NewUser) -> Result<User> {
        users::create(&self.pool, user).await
    }
    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        users::by_id(&self.pool, id).await
    }
    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        users::by_username(&self.pool, username).await
    }
    async fn list_users(&self) -> Result<Vec<User>> {
        users::list(&self.pool).await
    }
    async fn legacy_password_hashes(&self) -> Result<Vec<String>> {
        users::legacy_password_hashes(&self.pool).await
    }
    async fn set_password(&self, id: i64, hash: &str) -> Result<bool> {
        users::set_password(&self.pool, id, hash).await
    }
    async fn replace_password(&self, id: i64, old: &str, new: &str) -> Result<bool> {
        users::replace_password(&self.pool, id, old, new).await
    }
    async fn import_users(&self, users: &[ImportedUser], options: ImportOptions) -> Result<ImportReport> {
        users::import(&self.pool, users, options).await
    }
    async fn set_active(&self, id: i64, active: bool) -> Result<bool> {
        users::set_active(&self.pool, id, active).await
    }
    async fn set_last_login(&self, id: i64, at: OffsetDateTime) -> Result<()> {
        users::set_last_login(&self.pool, id, at).await
    }
    async fn delete_user(&self, id: i64) -> Result<bool> {
        users::delete(&self.pool, id).await
    }

    async fn add_outstanding(&self, token: &OutstandingToken) -> Result<()> {
        tokens::add_outstanding(&self.pool, token).await
    }
    async fn is_blacklisted(&self, jti: &str) -> Result<bool> {
        tokens::is_blacklisted(&self.pool, jti).await
    }
    async fn blacklist(&self, token: &OutstandingToken, reason: Reason) -> Result<bool> {
        tokens::blacklist(&self.pool, token, reason).await
    }
    async fn rotate(&self, old: &OutstandingToken, new: &OutstandingToken) -> Result<Rotation> {
        tokens::rotate(&self.pool, old, new).await
    }
    async fn add_to_family(&self, new: &OutstandingToken) -> Result<bool> {
        tokens::add_to_family(&self.pool, new).await
    }
    async fn blacklisting(&self, jti: &str) -> Result<Option<Blacklisting>> {
        tokens::blacklisting(&self.pool, jti).await
    }
    async fn blacklist_family(&self, family: &str, reason: Reason) -> Result<u64> {
        tokens::blacklist_family(&self.pool, family, reason).await
    }
    async fn blacklist_user(&self, user_id: i64, reason: Reason) -> Result<u64> {
        tokens::blacklist_user(&self.pool, user_id, reason).await
    }
    async fn blacklist_jti(&self, jti: &str, reason: Reason) -> Result<Option<bool>> {
        tokens::blacklist_jti(&self.pool, jti, reason).await
    }
    async fn flush_expired(&self, now: OffsetDateTime) -> Result<u64> {
        tokens::flush_expired(&self.pool, now).await
    }
}
