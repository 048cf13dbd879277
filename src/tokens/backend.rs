//! The token backend (Simple JWT's `backends.py`): encodes claims into signed tokens and
//! decodes tokens, checking the registered claims the way PyJWT does for Simple JWT.

use serde_json::Value;

use super::error::TokenError;
use super::token::{Claims, is_truthy, number_as_secs, python_int};
use crate::config::{ConfigError, KeySettings, TokenSettings};
use crate::keys::{JwsError, KeyRing};

/// Why PyJWT refuses a token, as its exception classes tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PyJwtError {
    /// `DecodeError` (and its `InvalidSignatureError`): unreadable, or a wrong signature.
    Decode,
    /// `ExpiredSignatureError`
    Expired,
    /// Any other `InvalidTokenError`: algorithm, key id, audience, issuer, not yet valid,
    /// claims of the wrong type.
    Invalid,
}

pub struct TokenBackend {
    keys: KeyRing,
    audience: Vec<String>,
    issuer: Option<String>,
    leeway: f64,
    max_length: usize,
    /// The claims of tokens whose signature one of the ring's own keys accepted
    /// (`token_cache_size`): a client sends the same access token with every request for
    /// minutes, and reading it again (the signature, the base64 and the JSON — dear for the
    /// public-key algorithms, not free even for HMAC) costs far more than a hit (the claims
    /// are shared, not copied). Keyed by the whole token, so only those exact bytes pass;
    /// the claims are checked against the clock, audience and issuer on every use.
    verified: Option<quick_cache::sync::Cache<Box<[u8]>, Claims, BySize>>,
}

/// Weighs a remembered token by its size: one unit, and one more for each whole KiB of the
/// token, so the cache holds `token_cache_size` of jwtd's own tokens (under 1 KiB with their claims)
/// but fewer large ones that another issuer signed with a shared key — its memory stays
/// near `token_cache_size` × 2 KiB whatever the tokens.
#[derive(Clone)]
struct BySize;

impl quick_cache::Weighter<Box<[u8]>, Claims> for BySize {
    fn weight(&self, token: &Box<[u8]>, _: &Claims) -> u64 {
        1 + token.len() as u64 / 1024
    }
}

impl TokenBackend {
    /// `data_dir` holds the development key used when no key is configured.
    pub fn from_settings(
        s: &TokenSettings,
        keys: &KeySettings,
        data_dir: &std::path::Path,
    ) -> Result<TokenBackend, ConfigError> {
        Ok(TokenBackend::new(KeyRing::from_settings(keys, data_dir)?, s))
    }

    pub fn new(keys: KeyRing, s: &TokenSettings) -> TokenBackend {
        TokenBackend {
            keys,
            audience: s.audience.clone(),
            issuer: s.issuer.clone(),
            leeway: s.leeway.as_secs_f64(),
            max_length: s.max_token_length,
            verified: (s.token_cache_size > 0).then(|| {
                quick_cache::sync::Cache::with_weighter(s.token_cache_size, s.token_cache_size as u64, BySize)
            }),
        }
    }

    /// Tokens remembered as verified.
    #[cfg(test)]
    pub fn cached_tokens(&self) -> usize {
        self.verified.as_ref().map_or(0, |c| c.len())
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    pub fn leeway(&self) -> f64 {
        self.leeway
    }

    /// Signs the claims, adding `aud` and `iss` when configured (as Simple JWT does at
    /// encoding time, so they never need copying between tokens).
    pub fn encode(&self, payload: &Claims) -> String {
        let json = if self.audience.is_empty() && self.issuer.is_none() {
            serde_json::to_vec(payload)
        } else {
            let mut payload = payload.clone();
            match self.audience.as_slice() {
                [] => {}
                [one] => {
                    payload.insert("aud".into(), one.clone().into());
                }
                many => {
                    payload.insert("aud".into(), many.to_vec().into());
                }
            }
            if let Some(iss) = &self.issuer {
                payload.insert("iss".into(), iss.clone().into());
            }
            serde_json::to_vec(&payload)
        }
        .expect("claims serialize");
        self.keys.sign(&json)
    }

    /// Verifies the signature and the registered claims; `now` is the current time in
    /// (fractional) seconds.
    pub async fn decode(&self, token: &[u8], now: f64) -> Result<Claims, TokenError> {
        // Simple JWT passes `verify_aud` only when an audience is configured.
        self.decode_as_pyjwt(token, now, false)
            .await
            .map_err(|e| match e {
                PyJwtError::Expired => TokenError::Expired,
                PyJwtError::Decode | PyJwtError::Invalid => TokenError::Invalid,
            })
    }

    /// As `decode`, telling the failures apart as PyJWT's exception classes do, for
    /// protocols whose answers depend on them (drf-jwt). With `drf_jwt`, PyJWT as drf-jwt
    /// calls it: a token carrying an `aud` is refused when no audience is configured
    /// (PyJWT's default, which drf-jwt keeps), and `exp`, `iat` and `nbf` are read with
    /// Python's `int()`, so numeric strings pass. Simple JWT, after PyJWT let such a token
    /// through, fails on it with a 500; its endpoints refuse it.
    pub async fn decode_as_pyjwt(&self, token: &[u8], now: f64, drf_jwt: bool) -> Result<Claims, PyJwtError> {
        // Oversized tokens are refused before any base64 or crypto work.
        if token.len() > self.max_length {
            return Err(PyJwtError::Invalid);
        }
        let claims = match self.verified.as_ref().and_then(|cache| cache.get(token)) {
            Some(claims) => claims,
            None => {
                let verified = self.keys.verify(token).await.map_err(|e| match e {
                    JwsError::Malformed | JwsError::Signature => PyJwtError::Decode,
                    JwsError::Algorithm | JwsError::UnknownKey => PyJwtError::Invalid,
                })?;
                let claims: Claims =
                    serde_json::from_slice(&verified.payload).map_err(|_| PyJwtError::Decode)?;
                if verified.by_own_key
                    && let Some(cache) = &self.verified
                {
                    cache.insert(token.into(), claims.clone());
                }
                claims
            }
        };
        self.validate_claims(&claims, now, drf_jwt)?;
        Ok(claims)
    }

    /// PyJWT's `_validate_claims` in its order, with its exception classes: `iat` and `nbf`
    /// not in the future, `exp` not passed, then `iss`, `aud`, `sub` and `jti` of the right
    /// type.
    fn validate_claims(&self, claims: &Claims, now: f64, drf_jwt: bool) -> Result<(), PyJwtError> {
        let leeway = self.leeway;
        let strict_audience = drf_jwt;
        let read_time: fn(&Value) -> Option<i64> = if drf_jwt { python_int } else { number_as_secs };
        // A non-numeric iat is PyJWT's InvalidIssuedAtError, a non-numeric nbf or exp its
        // DecodeError.
        for (claim, unreadable) in [("iat", PyJwtError::Invalid), ("nbf", PyJwtError::Decode)] {
            if let Some(v) = claims.get(claim) {
                let t = read_time(v).ok_or(unreadable)?;
                if t as f64 > now + leeway {
                    return Err(PyJwtError::Invalid);
                }
            }
        }
        if let Some(v) = claims.get("exp") {
            let t = read_time(v).ok_or(PyJwtError::Decode)?;
            if t as f64 <= now - leeway {
                return Err(PyJwtError::Expired);
            }
        }
        if let Some(issuer) = &self.issuer {
            match claims.get("iss") {
                Some(Value::String(iss)) if iss == issuer => {}
                _ => return Err(PyJwtError::Invalid),
            }
        }
        if self.audience.is_empty() {
            if strict_audience && claims.get("aud").is_some_and(is_truthy) {
                return Err(PyJwtError::Invalid);
            }
        } else {
            let accepted = match claims.get("aud") {
                Some(Value::String(a)) => self.audience.contains(a),
                Some(Value::Array(list)) if list.iter().all(Value::is_string) => list
                    .iter()
                    .any(|a| a.as_str().is_some_and(|a| self.audience.iter().any(|x| x == a))),
                _ => false,
            };
            if !accepted {
                return Err(PyJwtError::Invalid);
            }
        }
        for claim in ["sub", "jti"] {
            if let Some(v) = claims.get(claim)
                && !v.is_string()
            {
                return Err(PyJwtError::Invalid);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::Algorithm;

    fn backend(algorithm: Algorithm, key: String, token_cache_size: usize) -> TokenBackend {
        TokenBackend::from_settings(
            &TokenSettings {
                token_cache_size,
                ..TokenSettings::default()
            },
            &KeySettings {
                algorithm,
                signing_key: Some(crate::config::Secret::new(key)),
                ..KeySettings::default()
            },
            std::path::Path::new("./data"),
        )
        .unwrap()
    }

    fn decode(b: &TokenBackend, token: &[u8], now: f64) -> Result<Claims, PyJwtError> {
        futures_util::FutureExt::now_or_never(b.decode_as_pyjwt(token, now, false))
            .expect("local keys: never waits")
    }

    #[test]
    fn verified_tokens_are_remembered_by_their_exact_bytes_and_their_claims_checked_each_time() {
        let es256 = crate::keys::generate(Algorithm::ES256).unwrap();
        for b in [
            backend(Algorithm::HS256, "0123456789abcdef0123456789abcdef".into(), 16),
            backend(Algorithm::ES256, es256.clone(), 16),
        ] {
            let mut claims = Claims::new();
            claims.insert("exp".into(), 1_000.into());
            claims.insert("user_id".into(), 7.into());
            let token = b.encode(&claims);
            assert_eq!(b.cached_tokens(), 0);
            assert_eq!(decode(&b, token.as_bytes(), 900.0).unwrap(), claims);
            assert_eq!(b.cached_tokens(), 1);
            assert_eq!(decode(&b, token.as_bytes(), 900.0).unwrap(), claims);
            // Remembered, and still expired once its time has come.
            assert_eq!(decode(&b, token.as_bytes(), 1_000.0), Err(PyJwtError::Expired));
            // One byte of the signature changed: not the remembered token, so checked.
            let mut tampered = token.clone().into_bytes();
            let n = tampered.len();
            tampered[n - 2] = if tampered[n - 2] == b'A' { b'B' } else { b'A' };
            assert_eq!(decode(&b, &tampered, 900.0), Err(PyJwtError::Decode));
            // The same signature over other claims, likewise.
            let (head, rest) = token.split_once('.').unwrap();
            let signature = rest.split_once('.').unwrap().1;
            let other = base64_simd::URL_SAFE_NO_PAD.encode_to_string(br#"{"exp":1000,"user_id":8}"#);
            let forged = format!("{head}.{other}.{signature}");
            assert_eq!(decode(&b, forged.as_bytes(), 900.0), Err(PyJwtError::Decode));
            assert_eq!(b.cached_tokens(), 1);
        }
        // Large tokens weigh more: a cache for 16 of jwtd's own holds far fewer 6 KiB ones.
        let b = backend(Algorithm::HS256, "0123456789abcdef0123456789abcdef".into(), 16);
        for i in 0..16 {
            let mut claims = Claims::new();
            claims.insert("exp".into(), 1_000.into());
            claims.insert("padding".into(), format!("{i:04}{}", "x".repeat(4_500)).into());
            decode(&b, b.encode(&claims).as_bytes(), 900.0).unwrap();
        }
        assert!(b.cached_tokens() <= 2, "{}", b.cached_tokens());
        let off = backend(Algorithm::ES256, es256, 0);
        let token = off.encode(&Claims::new());
        decode(&off, token.as_bytes(), 0.0).unwrap();
        assert_eq!(off.cached_tokens(), 0);
    }
}
