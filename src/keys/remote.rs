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

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Deserialize;
use serde_json::Value;

use super::material::public_verifier;
use super::{JwsError, Verifier};
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

/// A JWK as found in someone else's JWK Set; only what verification needs.
#[derive(Debug, Deserialize)]
pub struct RemoteJwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// A verifying key from a JWK Set, for every allowed algorithm its type can serve.
pub struct RemoteKey {
    pub(super) kid: String,
    pub(super) verifiers: Vec<(Algorithm, Verifier)>,
}

impl RemoteJwk {
    /// `None` for keys jwtd will not use: no `kid`, not for signatures, symmetric, or of
    /// no allowed algorithm.
    pub fn into_key(self, allowed: &[Algorithm]) -> Option<RemoteKey> {
        let kid = self.kid.clone()?;
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return None;
        }
        let b64 = |v: &Option<String>| {
            v.as_deref()
                .and_then(|s| B64.decode(s.trim_end_matches('=')).ok())
        };
        let candidates: Vec<Algorithm> = match self.kty.as_str() {
            "RSA" => vec![
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ],
            "EC" => match self.crv.as_deref() {
                Some("P-256") => vec![Algorithm::ES256],
                Some("P-384") => vec![Algorithm::ES384],
                _ => return None,
            },
            "OKP" if self.crv.as_deref() == Some("Ed25519") => vec![Algorithm::EdDSA],
            _ => return None,
        };
        let declared = match &self.alg {
            Some(name) => Some(name.parse::<Algorithm>().ok()?),
            None => None,
        };
        let algs: Vec<Algorithm> = candidates
            .into_iter()
            .filter(|a| allowed.contains(a) && declared.is_none_or(|d| d == *a))
            .collect();
        let der = match self.kty.as_str() {
            "RSA" => rsa_public_der(&b64(&self.n)?, &b64(&self.e)?),
            "EC" => {
                let (x, y) = (b64(&self.x)?, b64(&self.y)?);
                [&[4u8][..], &x, &y].concat()
            }
            _ => b64(&self.x)?,
        };
        let verifiers: Vec<(Algorithm, Verifier)> = algs
            .into_iter()
            .filter_map(|a| Some((a, public_verifier(a, &der).ok()?)))
            .collect();
        (!verifiers.is_empty()).then_some(RemoteKey { kid, verifiers })
    }
}

/// DER of PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
fn rsa_public_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn length(len: usize) -> Vec<u8> {
        if len < 0x80 {
            vec![len as u8]
        } else {
            let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
            [vec![0x80 | bytes.len() as u8], bytes].concat()
        }
    }
    fn integer(v: &[u8]) -> Vec<u8> {
        let v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
        let body = if v.first().is_none_or(|b| b & 0x80 != 0) {
            [vec![0], v].concat()
        } else {
            v
        };
        [vec![0x02], length(body.len()), body].concat()
    }
    let body = [integer(n), integer(e)].concat();
    [vec![0x30], length(body.len()), body].concat()
}

/// A JWK Set document.
#[derive(Deserialize)]
pub struct RemoteJwkSet {
    pub keys: Vec<Value>,
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

    #[test]
    fn rsa_public_der_encodes_the_components() {
        use aws_lc_rs::signature::KeyPair;
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let parts = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let der = rsa_public_der(&parts.n, &parts.e);
        let back = aws_lc_rs::rsa::PublicKey::from_der(&der).unwrap();
        let back = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(&back);
        assert_eq!((back.n, back.e), (parts.n, parts.e));
    }
}
