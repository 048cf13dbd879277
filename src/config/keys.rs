//! The keys that sign and verify: Simple JWT's `ALGORITHM`, `SIGNING_KEY`, `VERIFYING_KEY`
//! and `JWK_URL`, drf-jwt's key ring, and a folder of PEM keys.

use std::path::PathBuf;

use jsonwebtoken::Algorithm;
use serde::Deserialize;

use super::de::{is_http_url, non_empty, string_or_list};
use super::{ConfigError, Duration, Secret, algorithm, strict};

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct KeySettings {
    pub algorithm: Algorithm,
    #[serde(deserialize_with = "non_empty")]
    pub signing_key: Option<Secret>,
    #[serde(deserialize_with = "non_empty")]
    pub verifying_key: Option<String>,
    #[serde(deserialize_with = "non_empty")]
    pub jwk_url: Option<String>,
    /// Several keys with key ids: the first signs, all verify. Instead of signing_key.
    pub keys: Vec<KeyConfig>,
    /// A folder of PEM keys (`KID.pem`) instead of signing_key and `[[keys]]`: every key
    /// verifies and is published; `signing_kid` (else the newest file) signs.
    #[serde(deserialize_with = "non_empty")]
    pub keys_dir: Option<PathBuf>,
    #[serde(deserialize_with = "non_empty")]
    pub signing_kid: Option<String>,
    /// Refuse tokens without a known `kid` (drf-jwt's JWT_INSIST_ON_KID).
    pub insist_on_kid: bool,
    /// Algorithms accepted from `jwk_url`'s keys, as written; empty: `algorithm`.
    #[serde(rename = "jwk_algorithms", deserialize_with = "string_or_list")]
    pub jwk_algorithm_names: Vec<String>,
    /// The algorithms `jwk_url`'s keys may use (none without `jwk_url`), from
    /// `jwk_algorithms` when the settings are validated.
    #[serde(skip)]
    pub remote_algorithms: Vec<Algorithm>,
    /// The longest `jwk_url`'s keys are cached, whatever its Cache-Control says.
    pub jwk_cache_max_age: Duration,
    /// The shortest time between two fetches of `jwk_url` (an unknown `kid` triggers one).
    pub jwk_refetch_interval: Duration,
    /// Time limit of one fetch of `jwk_url`.
    pub jwk_timeout: Duration,
}

impl Default for KeySettings {
    fn default() -> Self {
        KeySettings {
            algorithm: Algorithm::HS256,
            signing_key: None,
            verifying_key: None,
            jwk_url: None,
            keys: Vec::new(),
            keys_dir: None,
            signing_kid: None,
            insist_on_kid: false,
            jwk_algorithm_names: Vec::new(),
            remote_algorithms: Vec::new(),
            jwk_cache_max_age: Duration::secs(3600),
            jwk_refetch_interval: Duration::secs(30),
            jwk_timeout: Duration::secs(5),
        }
    }
}

/// One key of the ring (`[[keys]]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    pub kid: String,
    /// Defaults to the top-level `algorithm`.
    pub algorithm: Option<Algorithm>,
    /// The private key (or HMAC secret): PEM text or `file:PATH`. Required for the first key.
    #[serde(default, deserialize_with = "non_empty")]
    pub signing_key: Option<Secret>,
    /// The public key, for a key that only verifies.
    #[serde(default, deserialize_with = "non_empty")]
    pub verifying_key: Option<String>,
}

impl KeySettings {
    pub(super) fn validate(&mut self) -> Result<(), ConfigError> {
        if let Some(url) = &self.jwk_url
            && !is_http_url(url)
        {
            return Err(ConfigError::key(
                "jwk_url",
                format!("{url:?} is not an http(s) URL"),
            ));
        }
        let mut named = Vec::with_capacity(self.jwk_algorithm_names.len());
        for name in &self.jwk_algorithm_names {
            let name = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(name);
            match Algorithm::deserialize(strict::Strict(name)) {
                Ok(alg) => named.push(alg),
                Err(e) => return Err(ConfigError::key("jwk_algorithms", e)),
            }
        }
        self.remote_algorithms = match (&self.jwk_url, named.is_empty()) {
            (None, _) => Vec::new(),
            (Some(_), true) => vec![self.algorithm],
            (Some(_), false) => named,
        };
        if self.remote_algorithms.iter().any(|alg| algorithm::is_hmac(*alg)) {
            return Err(ConfigError::key(
                "jwk_algorithms",
                "keys from jwk_url are public keys: HMAC algorithms cannot be used with them",
            ));
        }
        Ok(())
    }

    /// `file:PATH` values are read when the keys are loaded; one that cannot be read
    /// (missing, or a container secret the service's user may not read) is a configuration
    /// error, reported before anything starts.
    pub(super) fn check_file_values(&self) -> Result<(), ConfigError> {
        let mut values = vec![
            (
                "signing_key".to_string(),
                self.signing_key.as_ref().map(Secret::expose),
            ),
            ("verifying_key".to_string(), self.verifying_key.as_deref()),
        ];
        for (i, k) in self.keys.iter().enumerate() {
            values.push((
                format!("keys[{i}].signing_key"),
                k.signing_key.as_ref().map(Secret::expose),
            ));
            values.push((format!("keys[{i}].verifying_key"), k.verifying_key.as_deref()));
        }
        for (key, value) in values {
            super::check_file_value(&key, value)?;
        }
        Ok(())
    }
}
