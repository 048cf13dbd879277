//! Storage: users, Simple JWT's outstanding/blacklisted token tables, token families and
//! the login throttle's counters, in SQLite (embedded, the default) or Postgres (by URL).
//! All SQL lives below this module, one file per table, each query written once for both
//! databases where its SQL is the same (see `on_pool!`) and once per database, side by
//! side, where it is not. The queries are checked at run time, so building never needs a
//! database.
//!
//! `Database` is the one type callers use: no trait stands between them and it. Its
//! behaviour is tested against real SQLite and Postgres databases (in-memory SQLite is
//! fast enough for tests), so a seam for a fake would only add a second place to change.

/// Runs `$body` with `$db` bound to the pool of whichever database is configured — `read`:
/// SQLite's pool of readers, `write`: its one writer connection; Postgres has one pool for
/// both. The body (SQL, binds, and whatever it makes of the rows) is written once and
/// compiled for each database; sqlx's SQLite driver binds `$1`…`$n` by number, as Postgres
/// does, so one SQL text serves both. It may use `?` on sqlx's errors and must yield the
/// same type for both. Bounded by `database_timeout` and counted as one call (see
/// `Database::bounded`).
macro_rules! on_pool {
    ($self:ident, read, |$db:ident| $body:expr) => {
        $self.bounded(async {
            match &$self.pool {
                $crate::store::Pool::Sqlite { reader: $db, .. } => Ok::<_, $crate::store::StoreError>($body),
                $crate::store::Pool::Postgres($db) => Ok($body),
            }
        })
    };
    ($self:ident, write, |$db:ident| $body:expr) => {
        $self.bounded(async {
            match &$self.pool {
                $crate::store::Pool::Sqlite { writer: $db, .. } => Ok::<_, $crate::store::StoreError>($body),
                $crate::store::Pool::Postgres($db) => Ok($body),
            }
        })
    };
}

/// Runs `$body` in a write transaction, with `$tx` bound to it: on SQLite a `BEGIN
/// IMMEDIATE` one on the writer (the write lock taken up front, as the other writes here
/// take it), on Postgres a READ COMMITTED one, whose every statement sees what committed
/// before it began — so a statement that waited for a row lock sees the writes of the
/// transaction it waited for. The body is written once for both databases, as with
/// `on_pool!`, and must commit (`$tx.commit().await?`): dropped uncommitted, the
/// transaction rolls back, which is how a body refuses (nothing found, a precondition
/// failed). Bounded and counted as one call.
///
/// On SQLite, a transaction that failed for want of the database (a full or failing disk)
/// may leave its connection inside it — its rollback failed too — and the writer has one
/// connection: that connection is closed rather than handed to the next write, which
/// could never begin.
macro_rules! in_transaction {
    ($self:ident, |$tx:ident| $body:expr) => {
        $self.bounded(async {
            match &$self.pool {
                $crate::store::Pool::Sqlite { writer, .. } => {
                    let mut conn = writer.acquire().await?;
                    let result = async {
                        #[allow(unused_mut)]
                        let mut $tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
                        Ok::<_, $crate::store::StoreError>($body)
                    }
                    .await;
                    if matches!(result, Err($crate::store::StoreError::Unavailable(_))) {
                        conn.close_on_drop();
                    }
                    result
                }
                $crate::store::Pool::Postgres(pool) => {
                    #[allow(unused_mut)]
                    let mut $tx = pool.begin().await?;
                    Ok($body)
                }
            }
        })
    };
}

/// The columns of a `User`, in its order.
macro_rules! user_columns {
    () => {
        "id, username, password, email, first_name, last_name, is_active, is_staff, is_superuser, \
         last_login, date_joined, replaced_at"
    };
}

/// Binds a `NewUser`'s columns, in the order `username, password, email, first_name,
/// last_name, is_active, is_staff, is_superuser`, to a query of either database.
macro_rules! bind_user_fields {
    ($query:expr, $u:expr) => {
        $query
            .bind(&$u.username)
            .bind(&$u.password)
            .bind(&$u.email)
            .bind(&$u.first_name)
            .bind(&$u.last_name)
            .bind($u.is_active)
            .bind($u.is_staff)
            .bind($u.is_superuser)
    };
}

#[cfg(test)]
mod account_tests;
mod accounts;
mod audit;
mod cache;
mod error;
mod families;
mod import;
mod lease;
mod migrations;
mod pool;
mod redis;
mod sessions;
mod sqlite_file;
mod throttle;
mod tokens;
mod user_search;
mod users;

use std::fmt;
use std::future::Future;
use std::time::Duration;

use time::OffsetDateTime;

pub use accounts::{Expected, Guarded, UserChanges, UserUpdate};
pub use audit::{Event, EventFilter, EventType, NewEvent};
pub use error::{Result, StoreError};
pub use families::{Joined, Rotation};
pub use import::{
    Conflict, IMPORT_BATCH, Import, ImportCounts, ImportOptions, ImportReport, ImportedUser, Planned,
};
pub use lease::HOUSEKEEPING_LOCK;
use pool::Pool;
pub use redis::RedisCounters;
pub use sessions::{NewSession, Revoked, Session};
pub use throttle::{Counters, Full, LoginState, now_micros};
pub use tokens::{Batched, Blacklisting, FlushedTokens, OutstandingToken, Reason};
pub use user_search::{Ordering, OrderingField, UserQuery};
pub use users::{NewUser, User};

/// A page of a list: rows `offset..offset + limit` of it in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: i64,
    pub limit: i64,
}

/// The configured database, every call bounded by `database_timeout`.
pub struct Database {
    pool: Pool,
    timeout: Duration,
    /// Calls made to the database (each one statement, so one round trip), for metrics.
    queries: std::sync::atomic::AtomicU64,
    pings: std::sync::Arc<std::sync::atomic::AtomicU64>,
    cache: Option<cache::ReadCache>,
    /// The last write failed for want of the database (disk full, read-only, I/O error,
    /// unreachable): `/readyz` then tries a write of its own until one succeeds.
    write_failed: std::sync::atomic::AtomicBool,
    /// When this instance last wrote each session's `last_used_at` (see `touch_session`).
    touched: sessions::Touched,
    /// The periodic housekeeping's advisory lock, while this instance holds it.
    lease: lease::Lease,
}

/// Connections of the pool, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    /// How long a query may wait for a connection before the request gets a 503.
    pub acquire_timeout: Duration,
    /// `database_cache_ttl`; zero: no read is reused.
    pub cache_ttl: Duration,
    /// Counts the pool's pings (see `pool.rs`).
    pub pings: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            cache_ttl: Duration::ZERO,
            pings: Default::default(),
        }
    }
}

impl Database {
    /// Connects by URL scheme: `sqlite:` (the file and its folder are created) or
    /// `postgres://`.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Database> {
        let pool = if url.starts_with("sqlite:") {
            Pool::sqlite(url, options).await?
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Pool::postgres(url, options).await?
        } else {
            return Err(StoreError::Other(
                "database_url must start with sqlite: or postgres://".into(),
            ));
        };
        Ok(Database {
            pool,
            timeout: options.acquire_timeout,
            queries: Default::default(),
            pings: options.pings.clone(),
            cache: cache::ReadCache::new(options.cache_ttl),
            write_failed: Default::default(),
            touched: Default::default(),
            lease: Default::default(),
        })
    }

    pub fn kind(&self) -> &'static str {
        match &self.pool {
            Pool::Sqlite { .. } => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        self.end_lease().await;
        self.pool.close().await;
    }

    // Writes drop the cached reads they change, whether or not they succeeded (a write that
    // timed out may still have committed).
    fn forget_user(&self, id: i64) {
        if let Some(cache) = &self.cache {
            cache.forget_user(id);
        }
    }

    fn forget_users(&self) {
        if let Some(cache) = &self.cache {
            cache.forget_users();
        }
    }

    fn forget_token(&self, jti: &str) {
        if let Some(cache) = &self.cache {
            cache.forget_token(jti);
        }
    }

    fn forget_tokens(&self) {
        if let Some(cache) = &self.cache {
            cache.forget_tokens();
        }
    }

    /// Database calls so far; each is one statement (Postgres: one round trip).
    pub fn queries(&self) -> u64 {
        self.queries.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Pings the connection pool sent (each one more round trip; see `pool.rs`).
    pub fn pings(&self) -> u64 {
        self.pings.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn pool_state(&self) -> PoolState {
        self.pool.state()
    }
}

/// Why `/readyz` answers 503. The reason it gives is one of jwtd's own; the database's text
/// (which may name tables, files or hosts) goes only to the log.
#[derive(Debug)]
pub enum NotReady {
    Unreachable(StoreError),
    Migrations { latest: i64, applied: i64 },
    Writes(StoreError),
}

impl NotReady {
    pub fn reason(&self) -> &'static str {
        match self {
            NotReady::Unreachable(_) => "database unavailable",
            NotReady::Migrations { .. } => "database migrations not applied",
            NotReady::Writes(_) => "database writes are failing",
        }
    }
}

impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotReady::Unreachable(e) | NotReady::Writes(e) => write!(f, "{}: {e}", self.reason()),
            NotReady::Migrations { latest, applied } => {
                write!(f, "migration {latest} is not applied (at {applied})")
            }
        }
    }
}

impl Database {
    /// Reachable, every migration this version knows applied, and — after a write failed
    /// for want of the database — writable again. Readiness costs one read while writes
    /// succeed; only after a failed one does it write (see `probe_write`), so that it
    /// recovers by itself while no traffic comes (a load balancer stops sending any).
    pub async fn ready(&self) -> std::result::Result<(), NotReady> {
        let latest = self.known_migration();
        let applied = self.latest_migration().await.map_err(NotReady::Unreachable)?;
        if applied < latest {
            return Err(NotReady::Migrations { latest, applied });
        }
        if self.write_failed.load(std::sync::atomic::Ordering::Relaxed) {
            let probe = self.bounded(self.probe_write()).await;
            self.wrote(probe).map_err(NotReady::Writes)?;
        }
        Ok(())
    }

    /// Remembers whether a write reached the database: a failure for want of it (see
    /// `write_failed`) until the next success.
    fn wrote<T>(&self, result: Result<T>) -> Result<T> {
        use std::sync::atomic::Ordering::Relaxed;
        match &result {
            Ok(_) => {
                if self.write_failed.load(Relaxed) {
                    self.write_failed.store(false, Relaxed);
                }
            }
            Err(StoreError::Unavailable(_)) => self.write_failed.store(true, Relaxed),
            Err(_) => {}
        }
        result
    }

    /// A write that leaves nothing behind, for readiness after a failed write.
    async fn probe_write(&self) -> Result<()> {
        match &self.pool {
            // It allocates pages (refused on a full database) and commits them to the
            // write-ahead log (refused on a full, read-only or failing disk), then the
            // transaction's net change is nil.
            // A failed probe's connection is closed, as `in_transaction!` closes one: its
            // rollback may have failed too, leaving it inside the transaction.
            Pool::Sqlite { writer, .. } => {
                let mut conn = writer.acquire().await?;
                let probe = async {
                    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                    for sql in [
                        "CREATE TABLE jwtd_write_probe (b BLOB)",
                        "INSERT INTO jwtd_write_probe VALUES (randomblob(16384))",
                        "DROP TABLE jwtd_write_probe",
                    ] {
                        sqlx::query(sql).persistent(false).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok::<_, StoreError>(())
                }
                .await;
                if probe.is_err() {
                    conn.close_on_drop();
                }
                probe?;
            }
            // A read-only server (a standby, a failover under way) refuses it, and
            // committing it writes the catalog's log.
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("CREATE TEMPORARY TABLE jwtd_write_probe (b bytea) ON COMMIT DROP")
                    .persistent(false)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, read, |db| {
            sqlx::query("SELECT 1").execute(db).await?;
        })
        .await
    }

    /// Bounds a call to the database by `database_timeout` (a database that stopped
    /// answering costs a request a 503 within a bounded time, never a hang), and counts it.
    async fn bounded<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        self.queries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Unavailable(
                "the database did not answer in time".into(),
            )),
        }
    }
}

/// The current time as stored: UTC, whole seconds (JWT times are whole seconds, and SQLite
/// compares the stored text, which must then all have the same shape).
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full SQLite database (`max_page_count` reached: SQLITE_FULL, as on a full disk) is
    /// unavailable, not an error of jwtd's; readiness follows the writes and comes back by
    /// itself once the database has room again.
    #[tokio::test]
    async fn a_full_sqlite_database_is_unavailable_until_it_has_room() {
        let dir = std::env::temp_dir().join(format!("jwtd-full-{}", uuid::Uuid::new_v4().simple()));
        let url = format!("sqlite://{}", dir.join("jwtd.db").display());
        let db = Database::connect(&url, &ConnectOptions::default()).await.unwrap();
        db.migrate().await.unwrap();
        let Pool::Sqlite { writer, .. } = &db.pool else {
            unreachable!()
        };
        // The writer pool has one connection: the limit holds for every write.
        let limit = |pages: i64| async move {
            sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA max_page_count = {pages}")))
                .execute(writer)
                .await
                .unwrap();
        };
        let user = |name: &str| NewUser {
            username: name.into(),
            password: "!".into(),
            // Larger than a page: the row needs pages of its own.
            email: "e".repeat(20_000),
            is_active: true,
            ..NewUser::default()
        };
        db.create_user(&user("alice")).await.unwrap();
        assert!(db.ready().await.is_ok());
        limit(1).await; // never below the current size: the database is full as it is.

        let refused = db.create_user(&user("bob")).await;
        assert!(matches!(refused, Err(StoreError::Unavailable(_))), "{refused:?}");
        let not_ready = db.ready().await.unwrap_err();
        assert!(matches!(not_ready, NotReady::Writes(_)), "{not_ready}");
        assert_eq!(not_ready.reason(), "database writes are failing");
        // Reads go on.
        assert!(db.user_by_username("alice").await.unwrap().is_some());

        limit(1 << 30).await;
        assert!(db.ready().await.is_ok());
        db.create_user(&user("bob")).await.unwrap();
        db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
