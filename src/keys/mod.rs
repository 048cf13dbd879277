//! Signing and verifying keys, parsed once at start-up, and the JWS layer on top of them.
//!
//! jsonwebtoken reads PEM files and names the algorithms; the signatures themselves are
//! made with aws-lc-rs key objects kept parsed, because jsonwebtoken re-parses the key on
//! every call (an RSA private key costs more to parse than to sign with).

mod dev;
mod generate;
mod material;

use std::fmt;

use aws_lc_rs::{hmac, rand::SystemRandom, signature};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use crate::config::{ConfigError, Settings};

pub use dev::DEV_KEY_FILE;
pub use generate::{generate, write_private};

/// Why a token failed at the JWS layer. Simple JWT answers all of these with
/// "Token is invalid"; the distinction is for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsError {
    Malformed,
    Algorithm,
    UnknownKey,
    Signature,
}

/// The key that signs new tokens.
pub struct SigningKey {
    alg: Algorithm,
    kid: Option<String>,
    /// The encoded JOSE header, the same for every token this key signs.
    header_b64: String,
    signer: Signer,
}

enum Signer {
    Hmac(Box<hmac::Key>),
    Rsa(Box<signature::RsaKeyPair>, &'static dyn signature::RsaEncoding),
    Ecdsa(Box<signature::EcdsaKeyPair>),
    Ed25519(Box<signature::Ed25519KeyPair>),
}

/// A key that tokens may be verified with.
pub struct VerifyingKey {
    alg: Algorithm,
    kid: Option<String>,
    verifier: Verifier,
}

enum Verifier {
    Hmac(Box<hmac::Key>),
    Public(signature::ParsedPublicKey),
}

/// The signing key and every key that verifies.
pub struct KeyRing {
    signing: SigningKey,
    verifying: Vec<VerifyingKey>,
    rng: SystemRandom,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("algorithm", &self.signing.alg)
            .field("kid", &self.signing.kid)
            .field("verifying_keys", &self.verifying.len())
            .finish()
    }
}

/// The JOSE header fields jwtd looks at.
#[derive(Deserialize)]
struct Header<'a> {
    alg: Option<&'a str>,
    #[serde(default)]
    kid: Option<serde_json::Value>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

impl KeyRing {
    /// Builds the ring from the settings; without a configured `signing_key` the development
    /// key under `data_dir` is used (and created on first start).
    pub fn from_settings(settings: &Settings) -> Result<KeyRing, ConfigError> {
        let alg = settings.algorithm;
        let signing_text = match &settings.signing_key {
            Some(key) => material::resolve("signing_key", key.expose())?,
            None => dev::load_or_create(settings)?,
        };
        let verifying_text = match &settings.verifying_key {
            Some(text) if !is_hmac(alg) => Some(material::resolve("verifying_key", text)?),
            _ => None,
        };
        let (signer, derived_verifier) = material::parse_signing_key(alg, &signing_text)?;
        let verifier = match verifying_text {
            Some(text) => material::parse_verifying_key(alg, &text)?,
            None => derived_verifier,
        };
        Ok(KeyRing::new(
            SigningKey::new(alg, None, signer),
            vec![VerifyingKey {
                alg,
                kid: None,
                verifier,
            }],
        ))
    }

    fn new(signing: SigningKey, verifying: Vec<VerifyingKey>) -> KeyRing {
        KeyRing {
            signing,
            verifying,
            rng: SystemRandom::new(),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        self.signing.alg
    }

    /// Signs `payload` (the claims as JSON) and returns the compact JWS.
    pub fn sign(&self, payload: &[u8]) -> String {
        let key = &self.signing;
        let mut token = String::with_capacity(key.header_b64.len() + payload.len() * 4 / 3 + 100);
        token.push_str(&key.header_b64);
        token.push('.');
        B64.encode_string(payload, &mut token);
        let signature = key.signer.sign(&self.rng, token.as_bytes());
        token.push('.');
        B64.encode_string(signature, &mut token);
        token
    }

    /// Checks the JWS layer — structure, header, algorithm allow-list, key id and signature —
    /// and returns the decoded payload bytes.
    pub fn verify(&self, token: &[u8]) -> Result<Vec<u8>, JwsError> {
        let mut parts = token.splitn(3, |b| *b == b'.');
        let (Some(header_b64), Some(payload_b64), Some(sig_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Malformed);
        };
        if sig_b64.contains(&b'.') {
            return Err(JwsError::Malformed);
        }
        let key = if header_b64 == self.signing.header_b64.as_bytes() {
            // The header this service writes: no need to parse it again.
            &self.verifying[0]
        } else {
            self.key_for_header(header_b64)?
        };
        let signature = B64.decode(sig_b64).map_err(|_| JwsError::Malformed)?;
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        key.verifier.verify(key.alg, signing_input, &signature)?;
        B64.decode(payload_b64).map_err(|_| JwsError::Malformed)
    }

    fn key_for_header(&self, header_b64: &[u8]) -> Result<&VerifyingKey, JwsError> {
        let header_json = B64.decode(header_b64).map_err(|_| JwsError::Malformed)?;
        let header: Header = serde_json::from_slice(&header_json).map_err(|_| JwsError::Malformed)?;
        if header.crit.is_some() {
            // jwtd understands no JWS extensions, so RFC 7515 says refuse.
            return Err(JwsError::Malformed);
        }
        let alg = header.alg.ok_or(JwsError::Algorithm)?;
        let kid = match &header.kid {
            None => None,
            Some(serde_json::Value::String(k)) => Some(k.as_str()),
            Some(_) => return Err(JwsError::Malformed),
        };
        // The allow-list: only the algorithms of configured keys, never `none`, never an
        // algorithm named by the token alone (RFC 8725 §2.1).
        let candidates = self.verifying.iter().filter(|k| alg_name(k.alg) == alg);
        let mut found = None;
        for key in candidates {
            match (kid, &key.kid) {
                (Some(want), Some(have)) if want == have => return Ok(key),
                (Some(_), Some(_)) => continue,
                _ => found = found.or(Some(key)),
            }
        }
        if found.is_none() && !self.verifying.iter().any(|k| alg_name(k.alg) == alg) {
            return Err(JwsError::Algorithm);
        }
        found.ok_or(JwsError::UnknownKey)
    }
}

impl SigningKey {
    fn new(alg: Algorithm, kid: Option<String>, signer: Signer) -> SigningKey {
        let mut header = serde_json::Map::new();
        header.insert("alg".into(), alg_name(alg).into());
        header.insert("typ".into(), "JWT".into());
        if let Some(kid) = &kid {
            header.insert("kid".into(), kid.clone().into());
        }
        let header_b64 = B64.encode(serde_json::to_vec(&header).expect("a map of strings serializes"));
        SigningKey {
            alg,
            kid,
            header_b64,
            signer,
        }
    }
}

impl Signer {
    fn sign(&self, rng: &SystemRandom, message: &[u8]) -> Vec<u8> {
        match self {
            Signer::Hmac(key) => hmac::sign(key, message).as_ref().to_vec(),
            Signer::Rsa(pair, encoding) => {
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(*encoding, rng, message, &mut out)
                    .expect("RSA signing with a validated key does not fail");
                out
            }
            Signer::Ecdsa(pair) => pair
                .sign(rng, message)
                .expect("ECDSA signing with a validated key does not fail")
                .as_ref()
                .to_vec(),
            Signer::Ed25519(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }
}

impl Verifier {
    fn verify(&self, _alg: Algorithm, message: &[u8], signature: &[u8]) -> Result<(), JwsError> {
        let ok = match self {
            Verifier::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Verifier::Public(key) => key.verify_sig(message, signature).is_ok(),
        };
        if ok { Ok(()) } else { Err(JwsError::Signature) }
    }
}

pub fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// The `alg` header value (RFC 7518 names).
pub fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        // jsonwebtoken may grow algorithms jwtd has not been taught.
        _ => "unsupported",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(secret: &str) -> KeyRing {
        let settings = Settings {
            signing_key: Some(crate::config::Secret::new(secret)),
            ..Settings::default()
        };
        KeyRing::from_settings(&settings).unwrap()
    }

    #[test]
    fn hs256_round_trip_and_tamper() {
        let ring = ring("0123456789abcdef0123456789abcdef");
        let token = ring.sign(br#"{"a":1}"#);
        assert_eq!(ring.verify(token.as_bytes()).unwrap(), br#"{"a":1}"#);
        let mut tampered = token.clone().into_bytes();
        let n = tampered.len();
        tampered[n - 2] = if tampered[n - 2] == b'A' { b'B' } else { b'A' };
        assert_eq!(ring.verify(&tampered), Err(JwsError::Signature));
        let other = ring_other();
        assert_eq!(other.verify(token.as_bytes()), Err(JwsError::Signature));
    }

    fn ring_other() -> KeyRing {
        ring("another-secret-another-secret-xx")
    }

    #[test]
    fn alg_none_and_foreign_algorithms_are_refused() {
        let ring = ring("0123456789abcdef0123456789abcdef");
        let payload = B64.encode(br#"{"a":1}"#);
        let none = format!("{}.{payload}.", B64.encode(br#"{"alg":"none","typ":"JWT"}"#));
        assert_eq!(ring.verify(none.as_bytes()), Err(JwsError::Algorithm));
        let hs512 = format!("{}.{payload}.AAAA", B64.encode(br#"{"alg":"HS512"}"#));
        assert_eq!(ring.verify(hs512.as_bytes()), Err(JwsError::Algorithm));
        let no_alg = format!("{}.{payload}.AAAA", B64.encode(br#"{"typ":"JWT"}"#));
        assert_eq!(ring.verify(no_alg.as_bytes()), Err(JwsError::Algorithm));
        let crit = format!(
            "{}.{payload}.AAAA",
            B64.encode(br#"{"alg":"HS256","crit":["b64"]}"#)
        );
        assert_eq!(ring.verify(crit.as_bytes()), Err(JwsError::Malformed));
        for garbage in ["", "a", "a.b", "a.b.c.d", "!!.!!.!!"] {
            assert!(ring.verify(garbage.as_bytes()).is_err(), "{garbage}");
        }
    }
}
