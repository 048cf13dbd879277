//! Storage: users and Simple JWT's outstanding/blacklisted token tables, behind one trait
//! with one implementation per database (SQLite embedded by default, Postgres by URL).
//! All SQL lives below this module; the queries are checked at run time, so building
//! never needs a database.

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

mod cache;
mod import;
mod migrations;
mod pool;
mod postgres;
mod redis;
mod sqlite;
mod throttle;

use std::fmt;
use std::future::Future;
use std::time::Duration;

use time::OffsetDateTime;

pub use import::{Conflict, ImportOptions, ImportReport, ImportedUser, Planned};
pub use postgres::PostgresStore;
pub use redis::RedisCounters;
pub use sqlite::SqliteStore;
pub use throttle::{Counters, Full, LoginState, now_micros};

/// A user, with Django's `auth_user` fields.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    /// The password hash (a PHC string, or a Django hash string after an import).
    pub password: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub last_login: Option<OffsetDateTime>,
    pub date_joined: OffsetDateTime,
    /// When an import last gave this id (or username) to someone else (`--replace`, or a
    /// renamed user): tokens issued before name the previous holder and are refused.
    pub replaced_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
}

/// An outstanding-token row to be written: never the token itself, only its jti and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutstandingToken {
    pub user_id: Option<i64>,
    pub jti: String,
    /// Hex SHA-256 of the encoded token.
    pub token_sha256: String,
    /// The jti of the login the token descends from.
    pub family: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// Why a token was blacklisted (kept in the blacklist row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// `POST /api/token/blacklist/` (Simple JWT's logout).
    Blacklist,
    /// Rotated away by a refresh with `blacklist_after_rotation`.
    Rotation,
    /// Revoked: RFC 7009, `jwtd token revoke|blacklist`, a password change.
    Revoke,
    /// Its family was revoked because a rotated-away token was presented again.
    Reuse,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Blacklist => "blacklist",
            Reason::Rotation => "rotation",
            Reason::Revoke => "revoke",
            Reason::Reuse => "reuse",
        }
    }

    pub fn parse(s: &str) -> Reason {
        match s {
            "rotation" => Reason::Rotation,
            "revoke" => Reason::Revoke,
            "reuse" => Reason::Reuse,
            _ => Reason::Blacklist,
        }
    }
}

/// When and why a token was blacklisted, and the family it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blacklisting {
    pub at: OffsetDateTime,
    pub reason: Reason,
    pub family: String,
}

/// The result of rotating a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The old token was blacklisted by this call and the new one recorded.
    Rotated,
    /// Another request blacklisted the old token first; nothing was written.
    AlreadyBlacklisted,
    /// The old token's family is revoked: no new token was recorded.
    FamilyRevoked,
}

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

/// Everything the rules need from a database. Both backends pass the same tests.
pub trait Store: Send + Sync {
    fn ping(&self) -> impl Future<Output = Result<()>> + Send;
    /// Applies pending migrations.
    fn migrate(&self) -> impl Future<Output = Result<()>> + Send;
    /// The newest migration applied (0 for none).
    fn latest_migration(&self) -> impl Future<Output = Result<i64>> + Send;

    // users
    fn create_user(&self, user: &NewUser) -> impl Future<Output = Result<User>> + Send;
    fn user_by_id(&self, id: i64) -> impl Future<Output = Result<Option<User>>> + Send;
    fn user_by_username(&self, username: &str) -> impl Future<Output = Result<Option<User>>> + Send;
    fn list_users(&self) -> impl Future<Output = Result<Vec<User>>> + Send;
    /// A sample of the stored hashes other than jwtd's own argon2id (imported ones, not yet
    /// upgraded by a login), unusable ones aside, covering the kinds present: what the
    /// hasher learns their cost from.
    fn legacy_password_hashes(&self) -> impl Future<Output = Result<Vec<String>>> + Send;
    fn set_password(&self, id: i64, hash: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Sets the password hash only if it is still `old`: a rehash at login, which must not
    /// overwrite what a concurrent login or password change stored.
    fn replace_password(&self, id: i64, old: &str, new: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Creates or updates users by id, all in one transaction or not at all; ids handed out
    /// afterwards come after the largest imported one. With conflicts (see `import::plan`)
    /// or `dry_run`, nothing is written and the report says what would have been. Users
    /// whose id or username changes hands have their tokens blacklisted in the same
    /// transaction.
    fn import_users(
        &self,
        users: &[ImportedUser],
        options: ImportOptions,
    ) -> impl Future<Output = Result<ImportReport>> + Send;
    fn set_active(&self, id: i64, active: bool) -> impl Future<Output = Result<bool>> + Send;
    fn set_last_login(&self, id: i64, at: OffsetDateTime) -> impl Future<Output = Result<()>> + Send;
    fn delete_user(&self, id: i64) -> impl Future<Output = Result<bool>> + Send;

    // outstanding and blacklisted tokens
    /// Records a token as outstanding; for a jti already recorded (a refreshed sliding
    /// token) the expiry and hash are brought up to date.
    fn add_outstanding(&self, token: &OutstandingToken) -> impl Future<Output = Result<()>> + Send;
    fn is_blacklisted(&self, jti: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Blacklists the token, recording it as outstanding first if it is not (Simple JWT's
    /// `get_or_create` twice). Returns whether this call blacklisted it.
    fn blacklist(
        &self,
        token: &OutstandingToken,
        reason: Reason,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// In one transaction: blacklist `old` (recording it if needed) and record `new` in
    /// `old`'s family — unless `old` is already blacklisted, in which case nothing is
    /// written, or the family is revoked, in which case `new` is not recorded. The unique
    /// blacklist row decides between concurrent rotations, on one instance or many; the
    /// family's lock orders a rotation and a revocation of its family.
    fn rotate(
        &self,
        old: &OutstandingToken,
        new: &OutstandingToken,
    ) -> impl Future<Output = Result<Rotation>> + Send;
    /// Records `new` in its family (`new.family`), as `add_outstanding` does, unless the
    /// family is revoked; returns whether it was recorded. Ordered with revocations of the
    /// family as `rotate` is.
    fn add_to_family(&self, new: &OutstandingToken) -> impl Future<Output = Result<bool>> + Send;
    /// When and why the token with this jti was blacklisted, if it was.
    fn blacklisting(&self, jti: &str) -> impl Future<Output = Result<Option<Blacklisting>>> + Send;
    /// Marks a family revoked and blacklists every unexpired token of it, in one transaction
    /// that waits for rotations of the family under way: a token they record is blacklisted,
    /// and none is recorded afterwards. Returns how many tokens were newly blacklisted.
    fn blacklist_family(&self, family: &str, reason: Reason) -> impl Future<Output = Result<u64>> + Send;
    /// Blacklists every unexpired token of a user; returns how many were newly blacklisted.
    fn blacklist_user(&self, user_id: i64, reason: Reason) -> impl Future<Output = Result<u64>> + Send;
    /// Blacklists a recorded token by jti: `None` when no such token is recorded, else
    /// whether this call blacklisted it.
    fn blacklist_jti(&self, jti: &str, reason: Reason) -> impl Future<Output = Result<Option<bool>>> + Send;
    /// Deletes outstanding tokens that expired before `now`, with their blacklist rows
    /// (Simple JWT's `flushexpiredtokens`), and the families left without tokens; returns
    /// how many tokens.
    fn flush_expired(&self, now: OffsetDateTime) -> impl Future<Output = Result<u64>> + Send;
}

/// The configured database, every call bounded by `database_timeout`.
pub struct Database {
    backend: Backend,
    timeout: Duration,
    /// Calls made to the database (each one statement, so one round trip), for metrics.
    queries: std::sync::atomic::AtomicU64,
    pings: std::sync::Arc<std::sync::atomic::AtomicU64>,
    cache: Option<cache::ReadCache>,
    /// The last write failed for want of the database (disk full, read-only, I/O error,
    /// unreachable): `/readyz` then tries a write of its own until one succeeds.
    write_failed: std::sync::atomic::AtomicBool,
}

enum Backend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
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
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite(SqliteStore::connect(url, options).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(PostgresStore::connect(url, options).await?)
        } else {
            return Err(StoreError::Other(
                "database_url must start with sqlite: or postgres://".into(),
            ));
        };
        Ok(Database {
            backend,
            timeout: options.acquire_timeout,
            queries: Default::default(),
            pings: options.pings.clone(),
            cache: cache::ReadCache::new(options.cache_ttl),
            write_failed: Default::default(),
        })
    }

    pub fn kind(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(s) => s.close().await,
            Backend::Postgres(s) => s.close().await,
        }
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
        match &self.backend {
            Backend::Sqlite(s) => s.pool_state(),
            Backend::Postgres(s) => s.pool_state(),
        }
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

/// Calls the backend, giving up after `database_timeout`: a database that stopped answering
/// costs a request a 503 within a bounded time, never a hang.
macro_rules! dispatch {
    ($self:ident, $s:ident => $call:expr) => {{
        $self.queries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match tokio::time::timeout($self.timeout, async {
            match &$self.backend {
                Backend::Sqlite($s) => $call.await,
                Backend::Postgres($s) => $call.await,
            }
        })
        .await
        {
            Ok(result) => result,
            Err(_) => Err(StoreError::Unavailable(
                "the database did not answer in time".into(),
            )),
        }
    }};
}

impl Database {
    /// Reachable, every migration this version knows applied, and — after a write failed
    /// for want of the database — writable again. Readiness costs one read while writes
    /// succeed; only after a failed one does it write (see `probe_write`), so that it
    /// recovers by itself while no traffic comes (a load balancer stops sending any).
    pub async fn ready(&self) -> std::result::Result<(), NotReady> {
        let latest = match &self.backend {
            Backend::Sqlite(_) => migrations::latest(migrations::SQLITE),
            Backend::Postgres(_) => migrations::latest(migrations::POSTGRES),
        };
        let applied = self.latest_migration().await.map_err(NotReady::Unreachable)?;
        if applied < latest {
            return Err(NotReady::Migrations { latest, applied });
        }
        if self.write_failed.load(std::sync::atomic::Ordering::Relaxed) {
            let probe = dispatch!(self, s => s.probe_write());
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
}

impl Store for Database {
    async fn ping(&self) -> Result<()> {
        dispatch!(self, s => s.ping())
    }
    async fn migrate(&self) -> Result<()> {
        // Migrations may take their time; no timeout.
        match &self.backend {
            Backend::Sqlite(s) => s.migrate().await,
            Backend::Postgres(s) => s.migrate().await,
        }
    }
    async fn latest_migration(&self) -> Result<i64> {
        dispatch!(self, s => s.latest_migration())
    }
    async fn create_user(&self, user: &NewUser) -> Result<User> {
        self.wrote(dispatch!(self, s => s.create_user(user)))
    }
    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let Some(cache) = &self.cache else {
            return dispatch!(self, s => s.user_by_id(id));
        };
        if let Some(user) = cache.user(id) {
            return Ok(Some(user));
        }
        let generation = cache.users_generation();
        let user = dispatch!(self, s => s.user_by_id(id))?;
        if let Some(user) = &user {
            cache.put_user(user, generation);
        }
        Ok(user)
    }
    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        dispatch!(self, s => s.user_by_username(username))
    }
    async fn list_users(&self) -> Result<Vec<User>> {
        dispatch!(self, s => s.list_users())
    }
    async fn legacy_password_hashes(&self) -> Result<Vec<String>> {
        dispatch!(self, s => s.legacy_password_hashes())
    }
    async fn set_password(&self, id: i64, hash: &str) -> Result<bool> {
        let result = self.wrote(dispatch!(self, s => s.set_password(id, hash)));
        self.forget_user(id);
        result
    }
    async fn replace_password(&self, id: i64, old: &str, new: &str) -> Result<bool> {
        let result = self.wrote(dispatch!(self, s => s.replace_password(id, old, new)));
        self.forget_user(id);
        result
    }
    async fn import_users(&self, users: &[ImportedUser], options: ImportOptions) -> Result<ImportReport> {
        // One transaction over the whole file may take longer than database_timeout, which
        // is meant for requests; as with migrations, no limit.
        self.queries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = self.wrote(match &self.backend {
            Backend::Sqlite(s) => s.import_users(users, options).await,
            Backend::Postgres(s) => s.import_users(users, options).await,
        });
        self.forget_users();
        // Blacklisted tokens of users that changed hands.
        self.forget_tokens();
        result
    }
    async fn set_active(&self, id: i64, active: bool) -> Result<bool> {
        let result = self.wrote(dispatch!(self, s => s.set_active(id, active)));
        self.forget_user(id);
        result
    }
    async fn set_last_login(&self, id: i64, at: OffsetDateTime) -> Result<()> {
        let result = self.wrote(dispatch!(self, s => s.set_last_login(id, at)));
        self.forget_user(id);
        result
    }
    async fn delete_user(&self, id: i64) -> Result<bool> {
        let result = self.wrote(dispatch!(self, s => s.delete_user(id)));
        self.forget_user(id);
        result
    }
    async fn add_outstanding(&self, token: &OutstandingToken) -> Result<()> {
        self.wrote(dispatch!(self, s => s.add_outstanding(token)))
    }
    async fn is_blacklisted(&self, jti: &str) -> Result<bool> {
        let Some(cache) = &self.cache else {
            return dispatch!(self, s => s.is_blacklisted(jti));
        };
        if cache.not_blacklisted(jti) {
            return Ok(false);
        }
        let generation = cache.tokens_generation();
        let blacklisted = dispatch!(self, s => s.is_blacklisted(jti))?;
        if !blacklisted {
            cache.put_not_blacklisted(jti, generation);
        }
        Ok(blacklisted)
    }
    async fn blacklist(&self, token: &OutstandingToken, reason: Reason) -> Result<bool> {
        let result = self.wrote(dispatch!(self, s => s.blacklist(token, reason)));
        self.forget_token(&token.jti);
        result
    }
    async fn rotate(&self, old: &OutstandingToken, new: &OutstandingToken) -> Result<Rotation> {
        let result = self.wrote(dispatch!(self, s => s.rotate(old, new)));
        self.forget_token(&old.jti);
        result
    }
    async fn add_to_family(&self, new: &OutstandingToken) -> Result<bool> {
        dispatch!(self, s => s.add_to_family(new))
    }
    async fn blacklisting(&self, jti: &str) -> Result<Option<Blacklisting>> {
        dispatch!(self, s => s.blacklisting(jti))
    }
    async fn blacklist_family(&self, family: &str, reason: Reason) -> Result<u64> {
        let result = self.wrote(dispatch!(self, s => s.blacklist_family(family, reason)));
        self.forget_tokens();
        result
    }
    async fn blacklist_user(&self, user_id: i64, reason: Reason) -> Result<u64> {
        let result = self.wrote(dispatch!(self, s => s.blacklist_user(user_id, reason)));
        self.forget_tokens();
        result
    }
    async fn blacklist_jti(&self, jti: &str, reason: Reason) -> Result<Option<bool>> {
        let result = self.wrote(dispatch!(self, s => s.blacklist_jti(jti, reason)));
        self.forget_token(jti);
        result
    }
    async fn flush_expired(&self, now: OffsetDateTime) -> Result<u64> {
        self.wrote(dispatch!(self, s => s.flush_expired(now)))
    }
}

/// The login throttles' counters in the database, each call bounded by `database_timeout`.
impl Counters for Database {
    async fn take(
        &self,
        bucket: &str,
        now: i64,
        since: i64,
        expires: i64,
        limit: i64,
    ) -> Result<Option<Full>> {
        self.bounded(async {
            match &self.backend {
                Backend::Sqlite(s) => {
                    throttle::sqlite::take(&s.writer, bucket, now, since, expires, limit).await
                }
                Backend::Postgres(s) => {
                    throttle::postgres::take(&s.pool, bucket, now, since, expires, limit).await
                }
            }
        })
        .await
    }
    async fn state(&self, locks: [&str; 2], failures: &str, now: i64, since: i64) -> Result<LoginState> {
        self.bounded(async {
            match &self.backend {
                Backend::Sqlite(s) => throttle::sqlite::state(&s.pool, locks, failures, now, since).await,
                Backend::Postgres(s) => throttle::postgres::state(&s.pool, locks, failures, now, since).await,
            }
        })
        .await
    }
    async fn fail(&self, buckets: [&str; 2], now: i64, since: i64, expires: i64) -> Result<[i64; 2]> {
        self.bounded(async {
            match &self.backend {
                Backend::Sqlite(s) => throttle::sqlite::fail(&s.writer, buckets, now, since, expires).await,
                Backend::Postgres(s) => throttle::postgres::fail(&s.pool, buckets, now, since, expires).await,
            }
        })
        .await
    }
    async fn lock(&self, lock: &str, failures: &str, now: i64, until: i64) -> Result<()> {
        self.bounded(async {
            match &self.backend {
                Backend::Sqlite(s) => throttle::sqlite::lock(&s.writer, lock, failures, now, until).await,
                Backend::Postgres(s) => throttle::postgres::lock(&s.pool, lock, failures, now, until).await,
            }
        })
        .await
    }
    async fn clear(&self, bucket: &str) -> Result<()> {
        self.bounded(async {
            match &self.backend {
                Backend::Sqlite(s) => throttle::sqlite::clear(&s.writer, bucket).await,
                Backend::Postgres(s) => throttle::postgres::clear(&s.pool, bucket).await,
            }
        })
        .await
    }
    async fn prune(&self, now: i64) -> Result<u64> {
        self.bounded(async {
            match &self.backend {
                Backend::Sqlite(s) => throttle::sqlite::prune(&s.writer, now).await,
                Backend::Postgres(s) => throttle::postgres::prune(&s.pool, now).await,
            }
        })
        .await
    }
}

impl Database {
    /// As `dispatch!`, for a call that may take several statements.
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
        let Backend::Sqlite(sqlite) = &db.backend else {
            unreachable!()
        };
        // The writer pool has one connection: the limit holds for every write.
        let limit = |pages: i64| async move {
            sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA max_page_count = {pages}")))
                .execute(&sqlite.writer)
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
