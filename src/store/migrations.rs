//! The migrations in `migrations/<database>/`, embedded in the binary so that a container
//! needs nothing beside it. A new file needs a line here.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::tokens::Key;
use super::{Database, Pool, Result, StoreError};

type Files = &'static [(i64, &'static str, &'static str)];

const SQLITE: Files = &[
    (
        1,
        "initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "token families",
        include_str!("../../migrations/sqlite/0002_token_families.sql"),
    ),
    (
        3,
        "login throttle",
        include_str!("../../migrations/sqlite/0003_login_throttle.sql"),
    ),
    (
        4,
        "user_origin",
        include_str!("../../migrations/sqlite/0004_user_origin.sql"),
    ),
    (
        5,
        "sessions",
        include_str!("../../migrations/sqlite/0005_sessions.sql"),
    ),
    (
        6,
        "audit events",
        include_str!("../../migrations/sqlite/0006_audit_events.sql"),
    ),
    (
        7,
        "user listing",
        include_str!("../../migrations/sqlite/0007_user_listing.sql"),
    ),
    (
        8,
        "housekeeping",
        include_str!("../../migrations/sqlite/0008_housekeeping.sql"),
    ),
    (
        9,
        "compact tokens",
        include_str!("../../migrations/sqlite/0009_compact_tokens.sql"),
    ),
];

const POSTGRES: Files = &[
    (
        1,
        "initial",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "token families",
        include_str!("../../migrations/postgres/0002_token_families.sql"),
    ),
    (
        3,
        "login throttle",
        include_str!("../../migrations/postgres/0003_login_throttle.sql"),
    ),
    (
        4,
        "user_origin",
        include_str!("../../migrations/postgres/0004_user_origin.sql"),
    ),
    (
        5,
        "sessions",
        include_str!("../../migrations/postgres/0005_sessions.sql"),
    ),
    (
        6,
        "audit events",
        include_str!("../../migrations/postgres/0006_audit_events.sql"),
    ),
    (
        7,
        "user listing",
        include_str!("../../migrations/postgres/0007_user_listing.sql"),
    ),
    (
        8,
        "housekeeping",
        include_str!("../../migrations/postgres/0008_housekeeping.sql"),
    ),
    (
        9,
        "compact tokens",
        include_str!("../../migrations/postgres/0009_compact_tokens.sql"),
    ),
];

fn latest(files: Files) -> i64 {
    files.iter().map(|(v, _, _)| *v).max().unwrap_or(0)
}

fn migrator(files: Files) -> Migrator {
    migrator_to(files, i64::MAX)
}

fn migrator_to(files: Files, last: i64) -> Migrator {
    Migrator::with_migrations(
        files
            .iter()
            .filter(|(version, _, _)| *version <= last)
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sqlx::SqlStr::from_static(sql),
                    false,
                )
            })
            .collect(),
    )
}

/// The SQLite migration that stores jtis and families as 16-byte keys.
const TOKEN_KEYS: i64 = 9;
/// The ids it cannot convert in SQL (any but 32 lowercase hex digits), into `token_keys`.
const OTHER_IDS: &str = "INSERT OR IGNORE INTO token_keys (id) SELECT id FROM (\
     SELECT jti AS id FROM outstanding_tokens \
     UNION SELECT family FROM outstanding_tokens WHERE family IS NOT NULL \
     UNION SELECT family FROM token_families) \
     WHERE NOT (length(id) = 32 AND id NOT GLOB '*[^0-9a-f]*')";
const KEYS_PAGE: i64 = 1000;

/// SQLite, before migration 0009: computes the keys of the ids it cannot convert in SQL
/// (their SHA-256, which SQLite lacks; see `Key`) into `token_keys`, which the migration
/// reads and drops. Paged, so that a database of drf-jwt token ids is not read into memory
/// at once; in one transaction, so that the migration never finds half of them.
async fn compute_token_keys(writer: &sqlx::SqlitePool) -> Result<()> {
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS token_keys (id TEXT PRIMARY KEY, key BLOB)")
        .execute(&mut *tx)
        .await?;
    sqlx::query(OTHER_IDS).execute(&mut *tx).await?;
    let mut after: Option<String> = None;
    loop {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM token_keys WHERE $1 IS NULL OR id > $1 ORDER BY id LIMIT $2")
                .bind(&after)
                .bind(KEYS_PAGE)
                .fetch_all(&mut *tx)
                .await?;
        for id in &ids {
            sqlx::query("UPDATE token_keys SET key = $2 WHERE id = $1")
                .bind(id)
                .bind(Key::of(id))
                .execute(&mut *tx)
                .await?;
        }
        match ids.into_iter().last() {
            Some(last) => after = Some(last),
            None => break,
        }
    }
    tx.commit().await?;
    Ok(())
}

impl Database {
    /// Applies pending migrations. They may take their time: no timeout.
    pub async fn migrate(&self) -> Result<()> {
        let failed = |e| StoreError::Other(format!("migration failed: {e}"));
        match &self.pool {
            Pool::Sqlite { writer, .. } => {
                if self.latest_migration().await? < TOKEN_KEYS {
                    migrator_to(SQLITE, TOKEN_KEYS - 1)
                        .run(writer)
                        .await
                        .map_err(failed)?;
                    compute_token_keys(writer).await?;
                }
                migrator(SQLITE).run(writer).await.map_err(failed)
            }
            Pool::Postgres(pool) => {
                // sqlx's migrator creates its table with IF NOT EXISTS each time, and Postgres
                // answers an up-to-date database with a NOTICE that sqlx logs at INFO, on every
                // command. The session setting is reset before the connection goes back to the
                // pool.
                let mut conn = pool.acquire().await?;
                sqlx::query("SET client_min_messages = warning")
                    .execute(&mut *conn)
                    .await?;
                // `run_direct` is what `run` calls once it holds a connection; `run(&mut *conn)`
                // does not compile in a future that must be Send (sqlx's "Acquire is not
                // general enough").
                let migrated = migrator(POSTGRES)
                    .run_direct(None, &mut *conn, false)
                    .await
                    .map_err(failed);
                sqlx::query("RESET client_min_messages")
                    .execute(&mut *conn)
                    .await?;
                migrated
            }
        }
    }

    /// Applies the migrations up to `last` only: a database as an older version left it.
    #[cfg(test)]
    pub(super) async fn migrate_to(&self, last: i64) -> Result<()> {
        let failed = |e| StoreError::Other(format!("migration failed: {e}"));
        match &self.pool {
            Pool::Sqlite { writer, .. } => migrator_to(SQLITE, last).run(writer).await.map_err(failed),
            Pool::Postgres(pool) => migrator_to(POSTGRES, last).run(pool).await.map_err(failed),
        }
    }

    /// The newest migration this version knows.
    pub(super) fn known_migration(&self) -> i64 {
        match &self.pool {
            Pool::Sqlite { .. } => latest(SQLITE),
            Pool::Postgres(_) => latest(POSTGRES),
        }
    }

    /// The newest migration applied (0 for none).
    pub async fn latest_migration(&self) -> Result<i64> {
        let table_exists = match &self.pool {
            Pool::Sqlite { .. } => {
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')"
            }
            Pool::Postgres(_) => "SELECT to_regclass('_sqlx_migrations') IS NOT NULL",
        };
        on_pool!(self, read, |db| {
            let exists: bool = sqlx::query_scalar(table_exists).fetch_one(db).await?;
            if exists {
                sqlx::query_scalar::<_, Option<i64>>(
                    "SELECT MAX(version) FROM _sqlx_migrations WHERE success",
                )
                .fetch_one(db)
                .await?
                .unwrap_or(0)
            } else {
                0
            }
        })
        .await
    }
}
