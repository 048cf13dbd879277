//! What is built once at start-up from the settings and shared by every request and
//! command (Simple JWT's `state.py` holds its token backend the same way).

use super::backend::TokenBackend;
use super::clients::Clients;
use crate::config::{ConfigError, Settings};
use crate::passwords::PasswordHasher;
use crate::store::{ConnectOptions, Database, StoreError};

pub struct State {
    pub settings: Settings,
    pub backend: TokenBackend,
    pub store: Database,
    pub hasher: PasswordHasher,
    /// Introspection clients and their checked credentials.
    pub clients: Clients,
    /// Security events written, by type, for the metrics.
    pub audit_counts: super::audit::AuditCounts,
    /// What the periodic flush deleted, for the metrics.
    pub flush_stats: super::housekeeping::FlushStats,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A file that cannot be read or written.
    #[error("{0}")]
    Files(String),
}

impl State {
    /// Loads keys, connects to the database and applies its migrations.
    pub async fn build(settings: Settings) -> Result<State, StartError> {
        State::build_waiting(settings, std::time::Duration::ZERO).await
    }

    /// As `build`, retrying for up to `patience` while the database cannot be reached (a
    /// container started before its database, a database restarting).
    pub async fn build_waiting(
        settings: Settings,
        patience: std::time::Duration,
    ) -> Result<State, StartError> {
        crate::keys::check_dev_key_files(&settings.keys, &settings.database.data_dir)
            .map_err(StartError::Files)?;
        let backend =
            TokenBackend::from_settings(&settings.tokens, &settings.keys, &settings.database.data_dir)?;
        let started = std::time::Instant::now();
        let store = loop {
            let attempt = async {
                let store = connect(&settings).await?;
                store.migrate().await?;
                Ok::<_, StoreError>(store)
            };
            match attempt.await {
                Ok(store) => break store,
                Err(StoreError::Unavailable(e)) if started.elapsed() < patience => {
                    tracing::warn!(error = %e, "the database is not reachable yet; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        let hasher = PasswordHasher::new(settings.server.worker_count());
        let clients = Clients::new(settings.tokens.introspection_clients.clone());
        Ok(State {
            settings,
            backend,
            store,
            hasher,
            clients,
            audit_counts: Default::default(),
            flush_stats: Default::default(),
        })
    }
}

impl State {
    /// Teaches the hasher what the imported hashes still stored cost (one check of each
    /// kind with a password nobody has), so that refused logins are padded to it from the
    /// first one on: see `PasswordHasher::failure_floor`.
    pub async fn learn_legacy_hash_costs(&self) {
        let hashes = match self.store.legacy_password_hashes().await {
            Ok(hashes) => hashes,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the imported password hashes");
                return;
            }
        };
        let mut timed = std::collections::HashSet::new();
        for hash in &hashes {
            // One check per kind: more of the same would only cost start-up time.
            let Some(kind) = crate::passwords::cost_kind(hash) else {
                continue;
            };
            if !timed.insert(kind) {
                continue;
            }
            if let Err(e) = self.hasher.learn_cost(hash).await {
                tracing::warn!(error = %e, "could not time an imported password hash");
            }
        }
        let floor = self.hasher.failure_floor();
        if !floor.is_zero() {
            tracing::info!(
                floor_ms = floor.as_millis() as u64,
                "refused logins take as long as checking the dearest imported password hash"
            );
        }
    }
}

impl State {
    /// The oldest time `audit_retention` keeps events from.
    pub fn events_kept_since(&self) -> time::OffsetDateTime {
        events_kept_since(&self.settings)
    }
}

/// The oldest time `audit_retention` keeps events from, now.
pub fn events_kept_since(settings: &Settings) -> time::OffsetDateTime {
    crate::store::now() - settings.audit.audit_retention.0
}

/// Opens the configured database (the SQLite file under `data_dir` by default).
pub async fn connect(settings: &Settings) -> Result<Database, StoreError> {
    let options = ConnectOptions {
        // Every worker may wait on the database at once, plus room for a password rehash
        // or a command.
        max_connections: (settings.server.worker_count() * 2 + 2) as u32,
        acquire_timeout: settings.database.database_timeout.0,
        cache_ttl: settings.database.database_cache_ttl.0,
        ..ConnectOptions::default()
    };
    let url = settings.database.database_url();
    let url = match url.strip_prefix("file:") {
        // `file:/run/secrets/database_url`: the URL (with its password) kept in a file.
        Some(path) => std::fs::read_to_string(path.trim())
            .map_err(|e| StoreError::Other(format!("cannot read database_url from {}: {e}", path.trim())))?
            .trim()
            .to_string(),
        None => url,
    };
    Database::connect(&url, &options).await
}
