//! Public keys as JSON Web Keys (RFC 7517), their RFC 7638 thumbprints, and keys read back
//! from a JWK Set (for `jwk_url`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde_json::{Value, json};

use super::material::public_verifier;
use super::{Verifier, alg_name};

/// The public half of an asymmetric key, as a JWK needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ec {
        crv: &'static str,
        x: Vec<u8>,
        y: Vec<u8>,
    },
    Ed25519 {
        x: Vec<u8>,
    },
}

impl PublicKey {
    /// From the DER jwtd verifies with: RSA (PKCS#1 or SPKI), an EC point or SPKI, an
    /// Ed25519 raw key or SPKI.
    pub fn from_der(alg: Algorithm, der: &[u8]) -> Option<PublicKey> {
        match alg {
            Algorithm::ES256 | Algorithm::ES384 => {
                let (crv, size) = if alg == Algorithm::ES256 {
                    ("P-256", 32)
                } else {
                    ("P-384", 48)
                };
                // An uncompressed point (0x04 ‖ x ‖ y) ends both the raw form and the SPKI.
                let point = der.get(der.len().checked_sub(1 + 2 * size)?..)?;
                (point[0] == 4).then(|| PublicKey::Ec {
                    crv,
                    x: point[1..1 + size].to_vec(),
                    y: point[1 + size..].to_vec(),
                })
            }
            Algorithm::EdDSA => Some(PublicKey::Ed25519 {
                x: der.get(der.len().checked_sub(32)?..)?.to_vec(),
            }),
            _ => {
                let key = aws_lc_rs::rsa::PublicKey::from_der(der).ok()?;
                let parts = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(&key);
                Some(PublicKey::Rsa {
                    n: parts.n,
                    e: parts.e,
                })
            }
        }
    }

    /// The JWK with the members RFC 7638 requires, in lexicographic order.
    fn required_members(&self) -> String {
        match self {
            PublicKey::Rsa { n, e } => {
                format!(
                    r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                    B64.encode(e),
                    B64.encode(n)
                )
            }
            PublicKey::Ec { crv, x, y } => {
                format!(
                    r#"{{"crv":"{crv}","kty":"EC","x":"{}","y":"{}"}}"#,
                    B64.encode(x),
                    B64.encode(y)
                )
            }
            PublicKey::Ed25519 { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, B64.encode(x)),
        }
    }

    /// RFC 7638: base64url(SHA-256(required members)).
    pub fn thumbprint(&self) -> String {
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.required_members().as_bytes());
        B64.encode(digest.as_ref())
    }

    pub fn jwk(&self, kid: &str, alg: Algorithm) -> Value {
        let mut jwk: serde_json::Map<String, Value> =
            serde_json::from_str(&self.required_members()).expect("well-formed JSON");
        jwk.insert("kid".into(), kid.into());
        jwk.insert("use".into(), "sig".into());
        jwk.insert("alg".into(), alg_name(alg).into());
        Value::Object(jwk)
    }
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

/// `{"keys": [...]}` for the given public keys.
pub fn jwk_set(keys: impl IntoIterator<Item = Value>) -> Value {
    json!({"keys": keys.into_iter().collect::<Vec<_>>()})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1's example key and thumbprint.
    #[test]
    fn thumbprint_matches_rfc_7638() {
        let n = B64
            .decode(
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            )
            .unwrap();
        let key = PublicKey::Rsa {
            n,
            e: B64.decode("AQAB").unwrap(),
        };
        assert_eq!(key.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
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
