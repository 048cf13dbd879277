//! The embedded default: one SQLite file in WAL mode.

mod tokens;
mod users;

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use time::OffsetDateTime;

use super::{
    Blacklisting, ConnectOptions, ImportOptions, ImportReport, ImportedUser, NewUser, OutstandingToken,
    Reason, Result, Rotation, Store, StoreError, User, migrations,
};

const MIGRATIONS_TABLE_EXISTS: &str =
    "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')";

/// Readers share a pool; every write goes through one connection of its own. SQLite lets one
/// writer at a time in anyway, and writers that meet on the file wait in its busy handler,
/// which sleeps in steps of milliseconds: queueing for the one connection in the pool is fair
/// and wakes the next writer the moment the last one commits (rotation: ~5x the throughput
/// and a tenth of the p99 of writers meeting on the lock).
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
    pub(super) writer: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<SqliteStore> {
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("bad SQLite URL: {e}")))?;
        if creates_file(url) {
            create_owner_only(connect.get_filename())?;
        }
        let path = connect.get_filename().to_path_buf();
        super::pool::check_sqlite_file(&path)?;
        let connect = connect
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with synchronous=NORMAL is durable across process crashes and loses at most
            // the last transactions on power loss; FULL would cost an fsync per refresh.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(options.acquire_timeout);
        // The writer first: it creates the file and switches it to WAL.
        let named = |e: sqlx::Error| super::pool::sqlite_error(&path, e.into());
        let writer = super::pool::options(options, options.pings.clone())
            .max_connections(1)
            .connect_with(connect.clone())
            .await
            .map_err(named)?;
        let pool = super::pool::options(options, options.pings.clone())
            .connect_with(connect)
            .await
            .map_err(named)?;
        Ok(SqliteStore { pool, writer })
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }

    pub fn pool_state(&self) -> super::PoolState {
        super::PoolState {
            size: self.pool.size() + self.writer.size(),
            idle: (self.pool.num_idle() + self.writer.num_idle()) as u32,
            max: self.pool.options().get_max_connections() + 1,
        }
    }

    /// A write that leaves nothing behind, for readiness after a failed write (see
    /// `Database::ready`): it allocates pages (refused on a full database) and commits them
    /// to the write-ahead log (refused on a full, read-only or failing disk), then the
    /// transaction's net change is nil.
    pub async fn probe_write(&self) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        for sql in [
            "CREATE TABLE jwtd_write_probe (b BLOB)",
            "INSERT INTO jwtd_write_probe VALUES (randomblob(16384))",
            "DROP TABLE jwtd_write_probe",
        ] {
            sqlx::query(sql).persistent(false).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Whether the URL names a file that may be created: not an in-memory or read-only one.
fn creates_file(url: &str) -> bool {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    !url.contains(":memory:")
        && !query
            .split('&')
            .any(|p| matches!(p, "mode=memory" | "mode=ro" | "immutable=true" | "immutable=1"))
}

/// The database holds password hashes and e-mail addresses: its folder (when jwtd creates
/// it) is the owner's alone, and the file is created owner-only before SQLite opens it —
/// SQLite would create it under the umask (0644 with the usual 022), and it gives the
/// `-wal` and `-shm` files the database file's permissions. Existing files keep theirs.
fn create_owner_only(file: &std::path::Path) -> Result<()> {
    let cannot = |path: &std::path::Path, e: std::io::Error| {
        StoreError::Other(format!("cannot create {}: {e}", path.display()))
    };
    if let Some(dir) = file.parent()
        && !dir.as_os_str().is_empty()
        && !dir.is_dir()
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| cannot(dir, e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            warn_if_others_may_read(file);
            Ok(())
        }
        // The same words as for an existing file that cannot be written: the path and the
        // cause, whichever of the two steps finds it.
        Err(e) => Err(super::pool::check_sqlite_file(file)
            .err()
            .unwrap_or_else(|| cannot(file, e))),
    }
}

/// A database made by an earlier version (or by hand) may be readable by others: said once
/// at start-up, since changing an operator's permissions could lock out their backups.
fn warn_if_others_may_read(file: &std::path::Path) {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(file) {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                file = %file.display(),
                mode = format!("{mode:o}"),
                "the SQLite database is readable by other users; chmod 600 it (and its -wal and -shm files)"
            );
        }
    }
}

impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn migrate(&self) -> Result<()> {
        migrations::migrator(migrations::SQLITE)
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::Other(format!("migration failed: {e}")))
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
        users::create(&self.writer, user).await
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
        users::set_password(&self.writer, id, hash).await
    }
    async fn replace_password(&self, id: i64, old: &str, new: &str) -> Result<bool> {
        users::replace_password(&self.writer, id, old, new).await
    }
    async fn import_users(&self, users: &[ImportedUser], options: ImportOptions) -> Result<ImportReport> {
        users::import(&self.writer, users, options).await
    }
    async fn set_active(&self, id: i64, active: bool) -> Result<bool> {
        users::set_active(&self.writer, id, active).await
    }
    async fn set_last_login(&self, id: i64, at: OffsetDateTime) -> Result<()> {
        users::set_last_login(&self.writer, id, at).await
    }
    async fn delete_user(&self, id: i64) -> Result<bool> {
        users::delete(&self.writer, id).await
    }

    async fn add_outstanding(&self, token: &OutstandingToken) -> Result<()> {
        tokens::add_outstanding(&self.writer, token).await
    }
    async fn is_blacklisted(&self, jti: &str) -> Result<bool> {
        tokens::is_blacklisted(&self.pool, jti).await
    }
    async fn blacklist(&self, token: &OutstandingToken, reason: Reason) -> Result<bool> {
        tokens::blacklist(&self.writer, token, reason).await
    }
    async fn rotate(&self, old: &OutstandingToken, new: &OutstandingToken) -> Result<Rotation> {
        tokens::rotate(&self.writer, old, new).await
    }
    async fn add_to_family(&self, new: &OutstandingToken) -> Result<bool> {
        tokens::add_to_family(&self.writer, new).await
    }
    async fn blacklisting(&self, jti: &str) -> Result<Option<Blacklisting>> {
        tokens::blacklisting(&self.pool, jti).await
    }
    async fn blacklist_family(&self, family: &str, reason: Reason) -> Result<u64> {
        tokens::blacklist_family(&self.writer, family, reason).await
    }
    async fn blacklist_user(&self, user_id: i64, reason: Reason) -> Result<u64> {
        tokens::blacklist_user(&self.writer, user_id, reason).await
    }
    async fn blacklist_jti(&self, jti: &str, reason: Reason) -> Result<Option<bool>> {
        tokens::blacklist_jti(&self.writer, jti, reason).await
    }
    async fn flush_expired(&self, now: OffsetDateTime) -> Result<u64> {
        tokens::flush_expired(&self.writer, now).await
    }
}
