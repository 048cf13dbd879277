//! Pool settings shared by both databases.
//!
//! sqlx pings a connection whenever one is handed out and again whenever one is given back:
//! on Postgres two round trips around every query, on SQLite two trips to the connection's
//! thread. jwtd pings before use only a connection that sat idle for `PING_AFTER_IDLE` (one
//! broken by a database restart is then replaced instead of failing a request); the ping on
//! release cannot be turned off, so it is counted, for the round trips the metrics show.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::Connection;
use sqlx::pool::PoolOptions;

use super::ConnectOptions;

const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

pub(super) fn options<DB: sqlx::Database>(
    options: &ConnectOptions,
    pings: Arc<AtomicU64>,
) -> PoolOptions<DB> {
    let on_release = pings.clone();
    PoolOptions::<DB>::new()
        .max_connections(options.max_connections.max(1))
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            let pings = pings.clone();
            Box::pin(async move {
                if meta.idle_for > PING_AFTER_IDLE {
                    pings.fetch_add(1, Ordering::Relaxed);
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .after_release(move |_, _| {
            // sqlx pings right after this hook.
            on_release.fetch_add(1, Ordering::Relaxed);
            Box::pin(async { Ok(true) })
        })
}
