//! The storage layer's one error type, and how the databases' errors map onto it.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The database cannot be reached or is restarting: worth a 503 and a retry.
    Unavailable(String),
    /// A unique constraint refused the write (e.g. a username that is taken).
    Conflict(String),
    Other(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(m) => write!(f, "database unavailable: {m}"),
            StoreError::Conflict(m) => write!(f, "conflict: {m}"),
            StoreError::Other(m) => write!(f, "database error: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => StoreError::Unavailable(e.to_string()),
            sqlx::Error::Database(db) => {
                if db.is_unique_violation() {
                    return StoreError::Conflict(db.message().to_string());
                }
                let code = db.code().unwrap_or_default();
                let transient = if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    // SQLite's extended result codes carry the primary one in their low byte:
                    // BUSY (5) and LOCKED (6) after the busy timeout; the storage failing
                    // under it: READONLY (8), IOERR (10), FULL (13), CANTOPEN (14).
                    code.parse::<i32>()
                        .is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 8 | 10 | 13 | 14))
                } else {
                    // Postgres: connection exceptions (08), insufficient resources such as a
                    // full disk (53), operator intervention such as a shutdown (57),
                    // serialization failures (40), system errors such as I/O (58), and a
                    // read-only transaction (25006: a standby, a failover under way).
                    ["08", "53", "57", "40", "58", "25006"]
                        .iter()
                        .any(|c| code.starts_with(c))
                };
                if transient {
                    StoreError::Unavailable(db.message().to_string())
                } else {
                    StoreError::Other(db.message().to_string())
                }
            }
            _ => StoreError::Other(e.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;
