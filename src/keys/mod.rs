//! Signing and verifying keys, parsed once at start-up, and the JWS layer on top of them.
//!
//! jsonwebtoken names the algorithms; the signatures themselves are made and checked with
//! aws-lc-rs key objects kept parsed, because jsonwebtoken re-parses the key on every call
//! (an RSA private key costs more to parse than to sign with).
//!
//! The ring (drf-jwt's several keys): the first key signs and writes its `kid`; every key
//! verifies; keys found at `jwk_url` verify tokens whose `kid` the ring does not know.

mod dev;
mod dir;
mod generate;
pub mod jwk;
mod material;
mod remote;

use std::fmt;

use aws_lc_rs::{hmac, rand::SystemRandom, signature};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use crate::config::{ConfigError, KeyConfig, KeySettings};

pub use crate::config::algorithm::{alg_name, is_hmac};
pub use dev::{DEV_KEY_FILE, check_files as check_dev_key_files};
pub use generate::{generate, write_private};
pub use jwk::PublicKey;
pub use material::min_hmac_len;

/// Why a token failed at the JWS layer. Simple JWT answers all of these with
/// "Token is invalid"; the distinction is for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsError {
    Malformed,
    Algorithm,
    UnknownKey,
    Signature,
}

enum Signer {
    Hmac(Box<hmac::Key>),
    Rsa(Box<signature::RsaKeyPair>, &'static dyn signature::RsaEncoding),
    Ecdsa(Box<signature::EcdsaKeyPair>),
    Ed25519(Box<signature::Ed25519KeyPair>),
}

enum Verifier {
    Hmac(Box<hmac::Key>),
    Public(signature::ParsedPublicKey),
}

/// One key of the ring.
pub struct Key {
    pub kid: Option<String>,
    pub alg: Algorithm,
    verifier: Verifier,
    /// The public half, published in the JWKS (none for HMAC secrets).
    pub public: Option<PublicKey>,
}

/// The signing key and every key that verifies.
pub struct KeyRing {
    /// `keys[0]` signs.
    keys: Vec<Key>,
    signer: Signer,
    /// The encoded JOSE header of every token `keys[0]` signs.
    header_b64: String,
    insist_on_kid: bool,
    remote: Option<remote::RemoteJwks>,
    rng: SystemRandom,
}

/// A token whose JWS layer checked out.
pub struct Verified {
    /// The decoded payload.
    pub payload: Vec<u8>,
    /// Checked with one of the ring's own keys rather than `jwk_url`'s (which the issuer
    /// may withdraw at any time): worth remembering.
    pub by_own_key: bool,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("algorithm", &self.keys[0].alg)
            .field(
                "kids",
                &self.keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>(),
            )
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
    /// Builds the ring from the settings: `keys_dir`, `[[keys]]`, or Simple JWT's single
    /// `signing_key` (`verifying_key`), or — with none — the development key under `data_dir`.
    pub fn from_settings(s: &KeySettings, data_dir: &std::path::Path) -> Result<KeyRing, ConfigError> {
        let mut keys = Vec::new();
        let signer;
        if let Some(path) = &s.keys_dir {
            (keys, signer) = dir::load(s, path)?;
        } else if s.signing_kid.is_some() {
            return Err(ConfigError::key(
                "signing_kid",
                "names a key of keys_dir, which is not set (with [[keys]], the first key signs)",
            ));
        } else if s.keys.is_empty() {
            let alg = s.algorithm;
            let text = match &s.signing_key {
                Some(key) => material::resolve("signing_key", key.expose())?,
                None => dev::load_or_create(s, data_dir)?,
            };
            let parsed = material::parse_signing_key("signing_key", alg, &text)?;
            let candidate = parsed.signer;
            let (verifier, public) = match &s.verifying_key {
                Some(text) if !is_hmac(alg) => {
                    let text = material::resolve("verifying_key", text)?;
                    material::parse_verifying_key("verifying_key", alg, &text)?
                }
                _ => (parsed.verifier, parsed.public),
            };
            if !candidate.verified_by(&verifier) {
                return Err(ConfigError::key(
                    "verifying_key",
                    "does not verify what signing_key signs",
                ));
            }
            signer = candidate;
            // A single public key is named by its RFC 7638 thumbprint; an HMAC secret stays
            // unnamed, so tokens look exactly like Simple JWT's.
            let kid = public.as_ref().map(PublicKey::thumbprint);
            keys.push(Key {
                kid,
                alg,
                verifier,
                public,
            });
        } else {
            if s.signing_key.is_some() || s.verifying_key.is_some() {
                return Err(ConfigError::key(
                    "keys",
                    "set either [[keys]] or signing_key/verifying_key, not both",
                ));
            }
            let mut first_signer = None;
            for (i, k) in s.keys.iter().enumerate() {
                let (key, signer) = ring_key(s, i, k)?;
                if keys.iter().any(|other: &Key| other.kid == key.kid) {
                    return Err(ConfigError::key(
                        &format!("keys[{i}].kid"),
                        format!("{:?} is used twice", k.kid),
                    ));
                }
                if i == 0 {
                    first_signer = signer;
                }
                keys.push(key);
            }
            signer = first_signer.ok_or_else(|| {
                ConfigError::key(
                    "keys[0].signing_key",
                    "the first key signs, so it needs its private key",
                )
            })?;
        }
        let remote = match &s.jwk_url {
            Some(url) => Some(remote::RemoteJwks::new(url, s)?),
            None => None,
        };
        let header_b64 = header_for(keys[0].alg, keys[0].kid.as_deref());
        Ok(KeyRing {
            keys,
            signer,
            header_b64,
            insist_on_kid: s.insist_on_kid,
            remote,
            rng: SystemRandom::new(),
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.keys[0].alg
    }

    /// The `kid` new tokens carry.
    pub fn signing_kid(&self) -> Option<&str> {
        self.keys[0].kid.as_deref()
    }

    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// Every algorithm a token may be signed with: the ring's, then `jwk_url`'s.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        let mut algs: Vec<Algorithm> = self.keys.iter().map(|k| k.alg).collect();
        if let Some(remote) = &self.remote {
            algs.extend(remote.algorithms());
        }
        let mut seen = Vec::new();
        algs.retain(|a| {
            let new = !seen.contains(a);
            seen.push(*a);
            new
        });
        algs
    }

    /// The public keys of the ring as a JWK Set (never an HMAC secret).
    pub fn jwks(&self) -> serde_json::Value {
        jwk::jwk_set(
            self.keys
                .iter()
                .filter_map(|k| Some(k.public.as_ref()?.jwk(k.kid.as_deref()?, k.alg))),
        )
    }

    /// Signs `payload` (the claims as JSON) and returns the compact JWS.
    pub fn sign(&self, payload: &[u8]) -> String {
        let mut token = String::with_capacity(self.header_b64.len() + payload.len() * 4 / 3 + 350);
        token.push_str(&self.header_b64);
        token.push('.');
        base64_simd::URL_SAFE_NO_PAD.encode_append(payload, &mut token);
        let signature = self.signer.sign(&self.rng, token.as_bytes());
        token.push('.');
        base64_simd::URL_SAFE_NO_PAD.encode_append(signature, &mut token);
        token
    }

    /// Checks the JWS layer — structure, header, algorithm allow-list, key id and signature —
    /// and returns the decoded payload bytes and whether one of the ring's own keys did.
    pub async fn verify(&self, token: &[u8]) -> Result<Verified, JwsError> {
        // Exactly two dots. memchr and base64_simd: a byte-at-a-time split and the base64
        // crate's decoder cost measurably more per token (bench/README.md).
        let mut dots = memchr::memchr_iter(b'.', token);
        let (Some(first), Some(second), None) = (dots.next(), dots.next(), dots.next()) else {
            return Err(JwsError::Malformed);
        };
        let (header_b64, payload_b64, sig_b64) =
            (&token[..first], &token[first + 1..second], &token[second + 1..]);
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        let signature = b64_decode(sig_b64)?;
        let by_own_key = if header_b64 == self.header_b64.as_bytes() {
            // The header this service writes: no need to read it again.
            self.keys[0].verifier.verify(signing_input, &signature)?;
            true
        } else {
            let header_json = b64_decode(header_b64)?;
            let header: Header = serde_json::from_slice(&header_json).map_err(|_| JwsError::Malformed)?;
            if header.crit.is_some() {
                // jwtd understands no JWS extensions, so RFC 7515 says refuse.
                return Err(JwsError::Malformed);
            }
            // Only algorithms of configured keys, never `none`, never one the token names
            // alone (RFC 8725 §2.1).
            let alg: Algorithm = header
                .alg
                .ok_or(JwsError::Algorithm)?
                .parse()
                .map_err(|_| JwsError::Algorithm)?;
            let kid = match &header.kid {
                None => None,
                Some(serde_json::Value::String(k)) => Some(k.as_str()),
                Some(_) => return Err(JwsError::Malformed),
            };
            self.verify_with_header(alg, kid, signing_input, &signature)
                .await?
        };
        Ok(Verified {
            payload: b64_decode(payload_b64)?,
            by_own_key,
        })
    }

    /// Verifies with the key the header names; `Ok(true)` when that was one of the ring's
    /// own keys (worth remembering; `jwk_url`'s keys may be withdrawn at any time).
    async fn verify_with_header(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        input: &[u8],
        signature: &[u8],
    ) -> Result<bool, JwsError> {
        if let Some(kid) = kid
            && let Some(key) = self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
        {
            // A named key verifies only with its own algorithm: no key confusion.
            if key.alg != alg {
                return Err(JwsError::Algorithm);
            }
            return key.verifier.verify(input, signature).map(|()| true);
        }
        if kid.is_none() && self.insist_on_kid {
            return Err(JwsError::UnknownKey);
        }
        // Keys without a name take tokens with any (or no) kid, as Simple JWT does; with a
        // ring, a token without kid is tried against each key of its algorithm.
        let candidates: Vec<&Key> = self
            .keys
            .iter()
            .filter(|k| k.alg == alg && (kid.is_none() || (k.kid.is_none() && !self.insist_on_kid)))
            .collect();
        if !candidates.is_empty() {
            return if candidates
                .iter()
                .any(|k| k.verifier.verify(input, signature).is_ok())
            {
                Ok(true)
            } else {
                Err(JwsError::Signature)
            };
        }
        match (kid, &self.remote) {
            // Boxed: the fetch's state is large, and inlined it would make every verification's
            // future (boxed per request by actix) larger than the allocator's fast sizes.
            (Some(kid), Some(remote)) => Box::pin(remote.verify(kid, alg, input, signature))
                .await
                .map(|()| false),
            _ if self.keys.iter().all(|k| k.alg != alg) => Err(JwsError::Algorithm),
            _ => Err(JwsError::UnknownKey),
        }
    }
}

/// A `[[keys]]` entry: the key, and its signer when it has a private key.
fn ring_key(s: &KeySettings, i: usize, k: &KeyConfig) -> Result<(Key, Option<Signer>), ConfigError> {
    let alg = k.algorithm.unwrap_or(s.algorithm);
    let name = |field: &str| format!("keys[{i}].{field}");
    if k.kid.is_empty() {
        return Err(ConfigError::key(&name("kid"), "must not be empty"));
    }
    let (verifier, public, signer) = match (&k.signing_key, &k.verifying_key) {
        (Some(secret), _) => {
            let text = material::resolve(&name("signing_key"), secret.expose())?;
            let parsed = material::parse_signing_key(&name("signing_key"), alg, &text)?;
            (parsed.verifier, parsed.public, Some(parsed.signer))
        }
        (None, Some(public)) if !is_hmac(alg) => {
            let text = material::resolve(&name("verifying_key"), public)?;
            let (verifier, public) = material::parse_verifying_key(&name("verifying_key"), alg, &text)?;
            (verifier, public, None)
        }
        _ => {
            return Err(ConfigError::key(
                &name("signing_key"),
                "each key needs signing_key (a private key or HMAC secret) or, for a public key, verifying_key",
            ));
        }
    };
    Ok((
        Key {
            kid: Some(k.kid.clone()),
            alg,
            verifier,
            public,
        },
        signer,
    ))
}

/// base64url without padding, as strict as the base64 crate's `URL_SAFE_NO_PAD` (no `=`, no
/// stray bits in the last character), with SIMD.
fn b64_decode(part: &[u8]) -> Result<Vec<u8>, JwsError> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(part)
        .map_err(|_| JwsError::Malformed)
}

fn header_for(alg: Algorithm, kid: Option<&str>) -> String {
    let mut header = serde_json::Map::new();
    header.insert("alg".into(), alg_name(alg).into());
    header.insert("typ".into(), "JWT".into());
    if let Some(kid) = kid {
        header.insert("kid".into(), kid.into());
    }
    B64.encode(serde_json::to_vec(&header).expect("a map of strings serializes"))
}

impl Signer {
    /// Whether `verifier` accepts this key's signatures (a configured public key that does
    /// not belong to the private key would make every token invalid).
    fn verified_by(&self, verifier: &Verifier) -> bool {
        let probe = b"jwtd key check";
        verifier
            .verify(probe, &self.sign(&SystemRandom::new(), probe))
            .is_ok()
    }

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
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), JwsError> {
        let ok = match self {
            Verifier::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Verifier::Public(key) => key.verify_sig(message, signature).is_ok(),
        };
        if ok { Ok(()) } else { Err(JwsError::Signature) }
    }
}

/// The RFC 7638 thumbprint of a private key's public half (`None` for HMAC secrets).
pub fn thumbprint_of(alg: Algorithm, private_key: &str) -> Result<Option<String>, ConfigError> {
    let parsed = material::parse_signing_key("key", alg, private_key)?;
    Ok(parsed.public.as_ref().map(PublicKey::thumbprint))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(secret: &str) -> KeyRing {
        let settings = KeySettings {
            signing_key: Some(crate::config::Secret::new(secret)),
            ..KeySettings::default()
        };
        KeyRing::from_settings(&settings, std::path::Path::new("./data")).unwrap()
    }

    fn verify(ring: &KeyRing, token: &[u8]) -> Result<Vec<u8>, JwsError> {
        futures_util::FutureExt::now_or_never(ring.verify(token))
            .expect("no remote keys: never waits")
            .map(|v| v.payload)
    }

    #[test]
    fn hs256_round_trip_and_tamper() {
        let ring = ring("0123456789abcdef0123456789abcdef");
        let token = ring.sign(br#"{"a":1}"#);
        assert_eq!(verify(&ring, token.as_bytes()).unwrap(), br#"{"a":1}"#);
        let mut tampered = token.clone().into_bytes();
        let n = tampered.len();
        tampered[n - 2] = if tampered[n - 2] == b'A' { b'B' } else { b'A' };
        assert_eq!(verify(&ring, &tampered), Err(JwsError::Signature));
        let other = self::ring("another-secret-another-secret-xx");
        assert_eq!(verify(&other, token.as_bytes()), Err(JwsError::Signature));
    }

    #[test]
    fn es256_round_trip_tamper_and_forgery() {
        let settings = KeySettings {
            algorithm: Algorithm::ES256,
            signing_key: Some(crate::config::Secret::new(generate(Algorithm::ES256).unwrap())),
            ..KeySettings::default()
        };
        let ring = KeyRing::from_settings(&settings, std::path::Path::new("./data")).unwrap();
        let token = ring.sign(br#"{"a":1}"#);
        let verified = futures_util::FutureExt::now_or_never(ring.verify(token.as_bytes()))
            .unwrap()
            .unwrap();
        assert_eq!(
            (verified.payload.as_slice(), verified.by_own_key),
            (&br#"{"a":1}"#[..], true)
        );
        let mut tampered = token.clone().into_bytes();
        let n = tampered.len();
        tampered[n - 2] = if tampered[n - 2] == b'A' { b'B' } else { b'A' };
        assert_eq!(verify(&ring, &tampered), Err(JwsError::Signature));
        // The same signature over another payload is refused too.
        let (head, rest) = token.split_once('.').unwrap();
        let signature = rest.split_once('.').unwrap().1;
        let forged = format!("{head}.{}.{signature}", B64.encode(br#"{"a":2}"#));
        assert_eq!(verify(&ring, forged.as_bytes()), Err(JwsError::Signature));
    }

    #[test]
    fn alg_none_and_foreign_algorithms_are_refused() {
        let ring = ring("0123456789abcdef0123456789abcdef");
        let payload = B64.encode(br#"{"a":1}"#);
        let none = format!("{}.{payload}.", B64.encode(br#"{"alg":"none","typ":"JWT"}"#));
        assert_eq!(verify(&ring, none.as_bytes()), Err(JwsError::Algorithm));
        let hs512 = format!("{}.{payload}.AAAA", B64.encode(br#"{"alg":"HS512"}"#));
        assert_eq!(verify(&ring, hs512.as_bytes()), Err(JwsError::Algorithm));
        let no_alg = format!("{}.{payload}.AAAA", B64.encode(br#"{"typ":"JWT"}"#));
        assert_eq!(verify(&ring, no_alg.as_bytes()), Err(JwsError::Algorithm));
        let crit = format!(
            "{}.{payload}.AAAA",
            B64.encode(br#"{"alg":"HS256","crit":["b64"]}"#)
        );
        assert_eq!(verify(&ring, crit.as_bytes()), Err(JwsError::Malformed));
        for garbage in ["", "a", "a.b", "a.b.c.d", "!!.!!.!!"] {
            assert!(verify(&ring, garbage.as_bytes()).is_err(), "{garbage}");
        }
    }

    #[test]
    fn base64_is_strict_and_there_are_exactly_three_parts() {
        let ring = ring("0123456789abcdef0123456789abcdef");
        let token = ring.sign(br#"{"a":1}"#);
        let (head, rest) = token.split_once('.').unwrap();
        let (payload, signature) = rest.split_once('.').unwrap();
        // 32 bytes in 43 characters: the last one carries 2 bits and its low 4 must be zero.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last = ALPHABET
            .iter()
            .position(|c| *c == signature.as_bytes()[42])
            .unwrap();
        let stray_bits = ALPHABET[last | 1] as char;
        for bad in [
            format!("{token}="),
            format!("{token}."),
            format!("{head}.{payload}.{}{stray_bits}", &signature[..42]),
            format!("{head}.{payload}.+{}", &signature[1..]),
            format!("{head}..{payload}.{signature}"),
        ] {
            assert_eq!(verify(&ring, bad.as_bytes()), Err(JwsError::Malformed), "{bad}");
        }
        assert_eq!(verify(&ring, token.as_bytes()).unwrap(), br#"{"a":1}"#);
    }
}
