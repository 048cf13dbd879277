//! Pool settings shared by both databases.
//!
//! sqlx pings a connection whenever one is handed out and again whenever one is given back:
//! on Postgres two round trips around every query, on SQLite two trips to the connection's
//! thread. jwtd pings before use only a connection that sat idle for `PING_AFTER_IDLE` (one
//! broken by a database restart is then replaced instead of failing a request); the ping on
//! release cannot be turned off, so it is counted, for the round trips the metrics show.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::Connection;
use sqlx::pool::PoolOptions;

use super::{ConnectOptions, StoreError};

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

/// Where a Postgres URL leads, for messages: host and port (or socket), database and user,
/// never the password.
pub(super) fn postgres_place(options: &sqlx::postgres::PgConnectOptions) -> String {
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
pub(super) async fn first_connection<C: sqlx::Connection>(
    options: &C::Options,
    timeout: Duration,
    place: &str,
) -> Result<(), StoreError> {
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

/// SQLite's errors name no file ("unable to open database file", "attempt to write a
/// readonly database"): this names the file, and what keeps it from being used.
pub(super) fn sqlite_error(path: &Path, error: StoreError) -> StoreError {
    let shown = path.display();
    match (sqlite_file_problem(path), error) {
        (Some(problem), _) => StoreError::Other(format!("SQLite database {shown}: {problem}")),
        (None, StoreError::Other(m)) => StoreError::Other(format!("SQLite database {shown}: {m}")),
        (None, StoreError::Unavailable(m)) => {
            StoreError::Unavailable(format!("SQLite database {shown}: {m}"))
        }
        (None, conflict) => conflict,
    }
}

/// Checked before the database is opened: a read-only file opens fine and fails only at
/// the first write, without naming itself.
pub(super) fn check_sqlite_file(path: &Path) -> Result<(), StoreError> {
    match sqlite_file_problem(path) {
        Some(problem) => Err(StoreError::Other(format!(
            "SQLite database {}: {problem}",
            path.display()
        ))),
        None => Ok(()),
    }
}

/// What keeps SQLite from writing the file: the file itself, or its directory, where it
/// keeps its write-ahead log and shared-memory files.
fn sqlite_file_problem(path: &Path) -> Option<String> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if let Err(e) = writable_dir(dir) {
        return Some(format!(
            "cannot create files in its directory {}: {e}",
            dir.display()
        ));
    }
    match std::fs::OpenOptions::new().write(true).open(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Some(format!("the file cannot be written: {e}"))
        }
        _ => None,
    }
}

fn writable_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: a NUL-terminated path that access() only reads.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
