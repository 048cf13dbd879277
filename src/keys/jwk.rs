//! Public keys as JSON Web Keys (RFC 7517), their RFC 7638 thumbprints, and keys read back
//! from a JWK Set (for `jwk_url`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use super::alg_name;

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
}
