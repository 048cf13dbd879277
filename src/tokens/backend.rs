//! The token backend (Simple JWT's `backends.py`): encodes claims into signed tokens and
//! decodes tokens, checking the registered claims the way PyJWT does for Simple JWT.

use serde_json::Value;

use super::error::TokenError;
use super::token::{Claims, number_as_secs};
use crate::config::{ConfigError, Settings};
use crate::keys::KeyRing;

pub struct TokenBackend {
    keys: KeyRing,
    audience: Vec<String>,
    issuer: Option<String>,
    leeway: f64,
    max_length: usize,
}

impl TokenBackend {
    pub fn from_settings(s: &Settings) -> Result<TokenBackend, ConfigError> {
        Ok(TokenBackend::new(KeyRing::from_settings(s)?, s))
    }

    pub fn new(keys: KeyRing, s: &Settings) -> TokenBackend {
        TokenBackend {
            keys,
            audience: s.audience.clone(),
            issuer: s.issuer.clone(),
            leeway: s.leeway.as_secs_f64(),
            max_length: s.max_token_length,
        }
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
        // Oversized tokens are refused before any base64 or crypto work.
        if token.len() > self.max_length {
            return Err(TokenError::Invalid);
        }
        let payload = self.keys.verify(token).await.map_err(|_| TokenError::Invalid)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Invalid)?;
        self.validate_claims(&claims, now)?;
        Ok(claims)
    }

    /// PyJWT's `_validate_claims` in its order, with Simple JWT's options: `iat` and `nbf`
    /// not in the future, `exp` not passed, then `iss`, `aud` (only when configured),
    /// `sub` and `jti` of the right type.
    fn validate_claims(&self, claims: &Claims, now: f64) -> Result<(), TokenError> {
        let leeway = self.leeway;
        for claim in ["iat", "nbf"] {
            if let Some(v) = claims.get(claim) {
                let t = number_as_secs(v).ok_or(TokenError::Invalid)?;
                if t as f64 > now + leeway {
                    return Err(TokenError::Invalid);
                }
            }
        }
        if let Some(v) = claims.get("exp") {
            let t = number_as_secs(v).ok_or(TokenError::Invalid)?;
            if t as f64 <= now - leeway {
                return Err(TokenError::Expired);
            }
        }
        if let Some(issuer) = &self.issuer {
            match claims.get("iss") {
                Some(Value::String(iss)) if iss == issuer => {}
                _ => return Err(TokenError::Invalid),
            }
        }
        if !self.audience.is_empty() {
            let accepted = match claims.get("aud") {
                Some(Value::String(a)) => self.audience.contains(a),
                Some(Value::Array(list)) if list.iter().all(Value::is_string) => list
                    .iter()
                    .any(|a| a.as_str().is_some_and(|a| self.audience.iter().any(|x| x == a))),
                _ => false,
            };
            if !accepted {
                return Err(TokenError::Invalid);
            }
        }
        for claim in ["sub", "jti"] {
            if let Some(v) = claims.get(claim)
                && !v.is_string()
            {
                return Err(TokenError::Invalid);
            }
        }
        Ok(())
    }
}
