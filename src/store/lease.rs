//! Which instance runs the periodic housekeeping (`flush_expired_interval`): on Postgres,
//! the one holding a session-level advisory lock, taken on a connection of its own (outside
//! the pool, so that it never goes back to it with the lock held) and kept for as long as
//! the instance runs. Another instance finds the lock taken and skips its turn; when the
//! holder stops, or its connection breaks, Postgres releases the lock and the next instance
//! to try takes it over. Advisory locks belong to one database, so instances on different
//! databases of one server do not exclude each other.
//!
//! SQLite has no such lock: an SQLite file is used from one host, normally by one instance.
//! Should several processes share the file, each runs the housekeeping; their batches queue
//! on the file's write lock, and one finds little left after the other.

use sqlx::Connection;

use super::{Database, Pool, Result};

/// The advisory lock's key: "jwtd_hk" in ASCII, so that `pg_locks` shows where it comes from.
pub const HOUSEKEEPING_LOCK: i64 = 0x006a_7774_645f_686b;

#[derive(Default)]
pub(super) struct Lease(tokio::sync::Mutex<Option<sqlx::PgConnection>>);

impl Database {
    /// Whether this instance is the one to run the periodic housekeeping now: on Postgres,
    /// whether it holds (or could take) the advisory lock; on SQLite, always.
    pub async fn lead_housekeeping(&self) -> Result<bool> {
        let Pool::Postgres(pool) = &self.pool else {
            return Ok(true);
        };
        let mut held = self.lease.0.lock().await;
        if let Some(conn) = held.as_mut() {
            // Still connected: still holding it.
            if self.bounded(async { Ok(conn.ping().await?) }).await.is_ok() {
                return Ok(true);
            }
            *held = None;
        }
        let options = pool.connect_options();
        let taken = self
            .bounded(async {
                let mut conn = sqlx::PgConnection::connect_with(&options).await?;
                let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(HOUSEKEEPING_LOCK)
                    .fetch_one(&mut conn)
                    .await?;
                Ok(taken.then_some(conn))
            })
            .await?;
        let leads = taken.is_some();
        *held = taken;
        Ok(leads)
    }

    /// Gives the lease up (the connection closed, so the lock released), for a stop.
    pub(super) async fn end_lease(&self) {
        if let Some(conn) = self.lease.0.lock().await.take() {
            let _ = conn.close().await;
        }
    }
}
