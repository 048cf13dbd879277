//! Turning configured key text (an HMAC secret, PEM text or a `file:` path) into parsed
//! key objects, refusing keys that do not fit the algorithm.

use aws_lc_rs::signature::KeyPair;
use aws_lc_rs::{hmac, signature};
use jsonwebtoken::Algorithm;

use super::jwk::PublicKey;
use super::{Signer, Verifier, alg_name};
use crate::config::ConfigError;

/// A parsed private key: what signs, what verifies its signatures, what to publish.
pub(super) struct Parsed {
    pub signer: Signer,
    pub verifier: Verifier,
    pub public: Option<PublicKey>,
}

/// Reads `file:PATH` values; anything else is the key itself.
pub(super) fn resolve(key: &str, value: &str) -> Result<String, ConfigError> {
    match value.strip_prefix("file:") {
        Some(path) => std::fs::read_to_string(path.trim())
            .map_err(|e| ConfigError::key(key, format!("cannot read {}: {e}", path.trim()))),
        None => Ok(value.to_string()),
    }
}

/// The shortest HMAC secret for each hash (RFC 7518 §3.2: at least the hash's size).
pub fn min_hmac_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

/// Parses the signing key (setting `key`) and derives the key that verifies its signatures.
pub(super) fn parse_signing_key(key: &str, alg: Algorithm, text: &str) -> Result<Parsed, ConfigError> {
    let err = |msg: String| ConfigError::key(key, msg);
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            let min = min_hmac_len(alg);
            if text.len() < min {
                return Err(err(format!(
                    "an {} secret must be at least {min} bytes long (this one has {})",
                    alg_name(alg),
                    text.len()
                )));
            }
            let secret = hmac::Key::new(hmac_alg(alg), text.as_bytes());
            Ok(Parsed {
                signer: Signer::Hmac(Box::new(secret.clone())),
                verifier: Verifier::Hmac(Box::new(secret)),
                public: None,
            })
        }
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => {
            let pem = parse_pem(text).map_err(err)?;
            let pair = match pem.tag() {
                "PRIVATE KEY" => signature::RsaKeyPair::from_pkcs8(pem.contents()),
                "RSA PRIVATE KEY" => signature::RsaKeyPair::from_der(pem.contents()),
                tag => return Err(err(format!("expected an RSA private key in PEM, found {tag:?}"))),
            }
            .map_err(|e| match e.description_() {
                "TooSmall" => err("RSA keys must have at least 2048 bits".into()),
                other => err(format!("not a usable RSA private key: {other}")),
            })?;
            let bits = pair.public_modulus_len() * 8;
            if bits < 2048 {
                return Err(err(format!(
                    "RSA keys must have at least 2048 bits (this one has {bits})"
                )));
            }
            let der = pair.public_key().as_ref().to_vec();
            Ok(Parsed {
                verifier: public_verifier(alg, &der).map_err(err)?,
                public: PublicKey::from_der(alg, &der),
                signer: Signer::Rsa(Box::new(pair), rsa_encoding(alg)),
            })
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            let pem = parse_pem(text).map_err(err)?;
            let signing_alg = match alg {
                Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                _ => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            };
            let pair = match pem.tag() {
                "PRIVATE KEY" => signature::EcdsaKeyPair::from_pkcs8(signing_alg, pem.contents()),
                "EC PRIVATE KEY" => {
                    signature::EcdsaKeyPair::from_private_key_der(signing_alg, pem.contents())
                }
                tag => return Err(err(format!("expected an EC private key in PEM, found {tag:?}"))),
            }
            .map_err(|_| {
                err(format!(
                    "not a {} private key ({} needs that curve)",
                    curve_name(alg),
                    alg_name(alg)
                ))
            })?;
            let der = pair.public_key().as_ref().to_vec();
            Ok(Parsed {
                verifier: public_verifier(alg, &der).map_err(err)?,
                public: PublicKey::from_der(alg, &der),
                signer: Signer::Ecdsa(Box::new(pair)),
            })
        }
        Algorithm::EdDSA => {
            let pem = parse_pem(text).map_err(err)?;
            if pem.tag() != "PRIVATE KEY" {
                return Err(err(format!(
                    "expected an Ed25519 private key in PKCS#8 PEM, found {:?}",
                    pem.tag()
                )));
            }
            let pair = signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pem.contents())
                .map_err(|_| err("not an Ed25519 private key (EdDSA in jwtd means Ed25519)".into()))?;
            let der = pair.public_key().as_ref().to_vec();
            Ok(Parsed {
                verifier: public_verifier(alg, &der).map_err(err)?,
                public: PublicKey::from_der(alg, &der),
                signer: Signer::Ed25519(Box::new(pair)),
            })
        }
        _ => Err(err(format!("algorithm {alg:?} is not supported"))),
    }
}

/// Parses a PEM public key (SPKI `PUBLIC KEY`, or PKCS#1 `RSA PUBLIC KEY`) for `alg`.
pub(super) fn parse_verifying_key(
    key: &str,
    alg: Algorithm,
    text: &str,
) -> Result<(Verifier, Option<PublicKey>), ConfigError> {
    let err = |msg: String| ConfigError::key(key, msg);
    let pem = parse_pem(text).map_err(err)?;
    match pem.tag() {
        "PUBLIC KEY" | "RSA PUBLIC KEY" => {
            let verifier = public_verifier(alg, pem.contents()).map_err(err)?;
            if let Some(PublicKey::Rsa { n, .. }) = PublicKey::from_der(alg, pem.contents())
                && n.len() * 8 < 2048
            {
                return Err(err(format!(
                    "RSA keys must have at least 2048 bits (this one has {})",
                    n.len() * 8
                )));
            }
            Ok((verifier, PublicKey::from_der(alg, pem.contents())))
        }
        tag => Err(err(format!("expected a public key in PEM, found {tag:?}"))),
    }
}

fn parse_pem(text: &str) -> Result<pem::Pem, String> {
    pem::parse(text.trim()).map_err(|e| format!("not PEM text: {e} (give the PEM itself or file:PATH)"))
}

pub(super) fn public_verifier(alg: Algorithm, der: &[u8]) -> Result<Verifier, String> {
    let params = verification_alg(alg).ok_or_else(|| format!("{} has no public key", alg_name(alg)))?;
    let key = signature::ParsedPublicKey::new(params, der)
        .map_err(|e| format!("not a public key for {}: {e}", alg_name(alg)))?;
    Ok(Verifier::Public(key))
}

pub(super) fn hmac_alg(alg: Algorithm) -> hmac::Algorithm {
    match alg {
        Algorithm::HS384 => hmac::HMAC_SHA384,
        Algorithm::HS512 => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    }
}

fn rsa_encoding(alg: Algorithm) -> &'static dyn signature::RsaEncoding {
    match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_SHA384,
        _ => &signature::RSA_PSS_SHA512,
    }
}

fn verification_alg(alg: Algorithm) -> Option<&'static dyn signature::VerificationAlgorithm> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        Algorithm::EdDSA => &signature::ED25519,
        // HMAC keys never become public keys; callers check the family first.
        _ => return None,
    })
}

fn curve_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES384 => "P-384",
        _ => "P-256",
    }
}
