//! Keys of another issuer, fetched from `jwk_url` (Simple JWT's `JWK_URL`) and kept.
//!
//! The set is cached for what its `Cache-Control` allows (at most `jwk_cache_max_age`). A
//! token with a `kid` the cache lacks triggers one fetch — at most one per
//! `jwk_refetch_interval`, whoever asks — so made-up `kid`s cannot hammer the remote. When
//! the remote is down, the keys already known keep working and unknown ones are refused.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;

use super::JwsError;
use super::jwk::{RemoteJwk, RemoteJwkSet, RemoteKey};
use crate::config::{ConfigError, KeySettings};

pub struct RemoteJwks {
    url: String,
    client: reqwest::Client,
    algorithms: Vec<Algorithm>,
    ceiling: Duration,
    refetch_interval: Duration,
    cache: RwLock<Arc<Cache>>,
    /// Held while fetching, so that one request fetches and the others wait for its result.
    fetching: tokio::sync::Mutex<Option<Instant>>,
}

struct Cache {
    keys: HashMap<String, RemoteKey>,
    fetched: Option<Instant>,
    max_age: Duration,
}

impl Cache {
    fn fresh(&self) -> bool {
        self.fetched.is_some_and(|t| t.elapsed() < self.max_age)
    }
}

impl RemoteJwks {
    pub fn new(url: &str, s: &KeySettings) -> Result<RemoteJwks, ConfigError> {
        let client = reqwest::Client::builder()
            .timeout(s.jwk_timeout.0)
            .connect_timeout(s.jwk_timeout.0)
            .user_agent(concat!("jwtd/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::key("jwk_url", format!("cannot build an HTTP client: {e}")))?;
        Ok(RemoteJwks {
            url: url.to_string(),
            client,
            algorithms: s.remote_algorithms.clone(),
            ceiling: s.jwk_cache_max_age.0,
            refetch_interval: s.jwk_refetch_interval.0,
            cache: RwLock::new(Arc::new(Cache {
                keys: HashMap::new(),
                fetched: None,
                max_age: Duration::ZERO,
            })),
            fetching: tokio::sync::Mutex::new(None),
        })
    }

    pub fn algorithms(&self) -> Vec<Algorithm> {
        self.algorithms.clone()
    }

    fn cache(&self) -> Arc<Cache> {
        self.cache.read().expect("cache lock").clone()
    }

    pub async fn verify(
        &self,
        kid: &str,
        alg: Algorithm,
        input: &[u8],
        signature: &[u8],
    ) -> Result<(), JwsError> {
        if !self.algorithms.contains(&alg) {
            return Err(JwsError::Algorithm);
        }
        let mut cache = self.cache();
        if !cache.keys.contains_key(kid) {
            // Unknown: wait for a fetch (unless one happened too recently), then look again.
            self.refresh(true).await;
            cache = self.cache();
        } else if !cache.fresh() {
            // Known but stale: refresh if nobody else is, and use what we have meanwhile.
            self.refresh(false).await;
            cache = self.cache();
        }
        let key = cache.keys.get(kid).ok_or(JwsError::UnknownKey)?;
        let (_, verifier) = key
            .verifiers
            .iter()
            .find(|(a, _)| *a == alg)
            .ok_or(JwsError::Algorithm)?;
        verifier.verify(input, signature)
    }

    /// Fetches the set, at most once per `jwk_refetch_interval`; `wait`: wait for a fetch
    /// already under way rather than return at once.
    async fn refresh(&self, wait: bool) {
        let mut last = match self.fetching.try_lock() {
            Ok(guard) => guard,
            Err(_) if wait => self.fetching.lock().await,
            Err(_) => return,
        };
        if last.is_some_and(|t| t.elapsed() < self.refetch_interval) {
            return;
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(cache) => {
                tracing::info!(url = %self.url, keys = cache.keys.len(), "fetched the JWK set of jwk_url");
                *self.cache.write().expect("cache lock") = Arc::new(cache);
            }
            Err(e) => {
                tracing::warn!(url = %self.url, error = %e, "fetching the JWK set of jwk_url failed; keeping the keys known so far")
            }
        }
    }

    async fn fetch(&self) -> Result<Cache, String> {
        let response = self
            .client
            .get(&self.url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let max_age = max_age(
            response
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
        )
        .unwrap_or(self.ceiling)
        .min(self.ceiling);
        // A key set is small; refuse what is not.
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        if body.len() > 1 << 20 {
            return Err("the JWK set is larger than 1 MiB".into());
        }
        let set: RemoteJwkSet = serde_json::from_slice(&body).map_err(|e| format!("not a JWK set: {e}"))?;
        let keys = set
            .keys
            .into_iter()
            .filter_map(|v| {
                serde_json::from_value::<RemoteJwk>(v)
                    .ok()?
                    .into_key(&self.algorithms)
            })
            .map(|k| (k.kid.clone(), k))
            .collect();
        Ok(Cache {
            keys,
            fetched: Some(Instant::now()),
            max_age,
        })
    }
}

/// `max-age` of a Cache-Control header; `no-store`/`no-cache` count as 0.
fn max_age(header: Option<&str>) -> Option<Duration> {
    let header = header?;
    let mut age = None;
    for directive in header.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            age = v.trim_matches('"').parse().ok().map(Duration::from_secs);
        }
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_is_read() {
        assert_eq!(
            max_age(Some("public, max-age=600")),
            Some(Duration::from_secs(600))
        );
        assert_eq!(max_age(Some("no-store")), Some(Duration::ZERO));
        assert_eq!(max_age(Some("public")), None);
        assert_eq!(max_age(None), None);
    }
}
