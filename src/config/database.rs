//! Where the users and tokens are kept, and how long the database may take.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::de::non_empty;
use super::{ConfigError, Duration, Secret};

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    #[serde(deserialize_with = "non_empty")]
    pub database_url: Option<Secret>,
    pub data_dir: PathBuf,
    /// The longest a request waits for the database before it gets 503.
    pub database_timeout: Duration,
    /// How long a user row, and a token found not blacklisted, read from the database are
    /// reused; zero: every check asks the database.
    pub database_cache_ttl: Duration,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            database_url: None,
            data_dir: PathBuf::from("./data"),
            database_timeout: Duration::secs(5),
            database_cache_ttl: Duration::secs(1),
        }
    }
}

impl DatabaseSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        // Read when the database is opened: a `file:PATH` that cannot be read is reported
        // before anything starts.
        super::check_file_value("database_url", self.database_url.as_ref().map(Secret::expose))?;
        if let Some(url) = &self.database_url {
            let url = url.expose();
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.starts_with("file:"))
            {
                return Err(ConfigError::key(
                    "database_url",
                    "must start with sqlite:, postgres://, postgresql:// or file: (a file holding the URL)",
                ));
            }
        }
        Ok(())
    }

    /// The database to use: `database_url`, else the SQLite file under `data_dir`.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_string(),
            None => format!("sqlite://{}", self.data_dir.join("jwtd.db").display()),
        }
    }

    pub fn uses_default_database(&self) -> bool {
        self.database_url.is_none()
    }

    pub fn data_path(&self, name: &str) -> PathBuf {
        self.data_dir.join(name)
    }
}

/// Creates `data_dir` (owner-only) if it does not exist yet.
pub fn ensure_data_dir(dir: &Path) -> Result<(), String> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| format!("cannot create data_dir {}: {e}", dir.display()))
}
