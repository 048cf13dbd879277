//! The connection pools of either database, and their settings.
//!
//! sqlx pings a connection whenever one is handed out and again whenever one is given back:
//! on Postgres two round trips around every query, on SQLite two trips to the connection's
//! thread. jwtd pings before use only a connection that sat idle for `PING_AFTER_IDLE` (one
//! broken by a database restart is then replaced instead of failing a request); the ping on
//! release cannot be turned off, so it is counted, for the round trips the metrics show.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::Connection;
use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};

use super::sqlite_file::{check_sqlite_file, create_owner_only, creates_file, sqlite_error};
use super::{ConnectOptions, PoolState, Result, StoreError};

/// The configured database's pools. `on_pool!` runs one query text on either.
pub(super) enum Pool {
    /// One SQLite file in WAL mode (the embedded default). Readers share a pool; every write
    /// goes through one connection of its own. SQLite lets one writer at a time in anyway,
    /// and writers that meet on the file wait in its busy handler, which sleeps in steps of
    /// milliseconds: queueing for the one connection in the pool is fair and wakes the next
    /// writer the moment the last one commits, with far better throughput and tail latency
    /// than writers meeting on the lock.
    Sqlite { reader: SqlitePool, writer: SqlitePool },
    /// Postgres, selected by a `postgres://` URL; several jwtd instances may share it. One
    /// pool for reads and writes.
    Postgres(PgPool),
}

impl Pool {
    pub(super) async fn sqlite(url: &str, options: &ConnectOptions) -> Result<Pool> {
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("bad SQLite URL: {e}")))?;
        if creates_file(url) {
            create_owner_only(connect.get_filename())?;
        }
        let path = connect.get_filename().to_path_buf();
        check_sqlite_file(&path)?;
        let connect = connect
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with synchronous=NORMAL is durable across process crashes and loses at most
            // the last transactions on power loss; FULL would cost an fsync per refresh.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(options.acquire_timeout);
        // The writer first: it creates the file and switches it to WAL.
        let named = |e: sqlx::Error| sqlite_error(&path, e.into());
        let writer = pool_options(options, options.pings.clone())
            .max_connections(1)
            .connect_with(connect.clone())
            .await
            .map_err(named)?;
        let reader = pool_options(options, options.pings.clone())
            .connect_with(connect)
            .await
            .map_err(named)?;
        Ok(Pool::Sqlite { reader, writer })
    }

    pub(super) async fn postgres(url: &str, options: &ConnectOptions) -> Result<Pool> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("bad Postgres URL: {e}")))?
            .application_name("jwtd");
        let place = postgres_place(&connect);
        first_connection::<sqlx::PgConnection>(&connect, options.acquire_timeout, &place).await?;
        let pool = pool_options(options, options.pings.clone())
            .connect_with(connect)
            .await?;
        Ok(Pool::Postgres(pool))
    }

    pub(super) async fn close(&self) {
        match self {
            Pool::Sqlite { reader, writer } => {
                reader.close().await;
                writer.close().await;
            }
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    pub(super) fn state(&self) -> PoolState {
        match self {
            Pool::Sqlite { reader, writer } => PoolState {
                size: reader.size() + writer.size(),
                idle: (reader.num_idle() + writer.num_idle()) as u32,
                max: reader.options().get_max_connections() + 1,
            },
            Pool::Postgres(pool) => PoolState {
                size: pool.size(),
                idle: pool.num_idle() as u32,
                max: pool.options().get_max_connections(),
            },
        }
    }
}

const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

fn pool_options<DB: sqlx::Database>(options: &ConnectOptions, pings: Arc<AtomicU64>) -> PoolOptions<DB> {
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

/// Where a Postgres URL leads, for messages: host and port (or socket), database and user,
/// never the password.
fn postgres_place(options: &sqlx::postgres::PgConnectOptions) -> String {
    let at = match options.get_socket() {
        Some(socket) => format!("socket {}", socket.display()),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    let database = options.get_database().unwrap_or(options.get_username());
    format!(
        "Postgres at {at} (database {database:?}, user {:?})",
        options.get_username()
    )
}

/// Opens one connection before the pool does. The pool retries a refused connection until
/// `acquire_timeout` and then reports only that it timed out; this names the address and
/// the operating system's reason at once.
async fn first_connection<C: sqlx::Connection>(
    options: &C::Options,
    timeout: Duration,
    place: &str,
) -> Result<()> {
    let error = match tokio::time::timeout(timeout, C::connect_with(options)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            return Ok(());
        }
        Ok(Err(e)) => e,
        Err(_) => {
            return Err(StoreError::Unavailable(format!(
                "cannot connect to {place}: no answer within {timeout:?}"
            )));
        }
    };
    let reason = match &error {
        // "error communicating with database: Connection refused (os error 111)"
        sqlx::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    };
    Err(match StoreError::from(error) {
        StoreError::Unavailable(_) => StoreError::Unavailable(format!("cannot connect to {place}: {reason}")),
        _ => StoreError::Other(format!("cannot connect to {place}: {reason}")),
    })
}
