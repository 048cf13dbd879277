//! New keys: the development key written on first start, and `jwtd key generate`.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::{rsa, signature};
use jsonwebtoken::Algorithm;

use super::material::min_hmac_len;

/// A fresh key for `alg` as the text `signing_key` takes: a hex secret for HMAC, PKCS#8 PEM
/// otherwise.
pub fn generate(alg: Algorithm) -> Result<String, String> {
    let failed = |_| format!("could not generate a key for {}", super::alg_name(alg));
    let rng = SystemRandom::new();
    let pkcs8: Vec<u8> = match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            let mut secret = vec![0u8; min_hmac_len(alg)];
            rng.fill(&mut secret).map_err(failed)?;
            return Ok(hex::encode(secret));
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            let curve = if alg == Algorithm::ES256 {
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING
            } else {
                &signature::ECDSA_P384_SHA384_FIXED_SIGNING
            };
            signature::EcdsaKeyPair::generate_pkcs8(curve, &rng)
                .map_err(failed)?
                .as_ref()
                .to_vec()
        }
        Algorithm::EdDSA => signature::Ed25519KeyPair::generate_pkcs8v1(&rng)
            .map_err(failed)?
            .as_ref()
            .to_vec(),
        _ => {
            let pair = rsa::KeyPair::generate(rsa::KeySize::Rsa2048).map_err(failed)?;
            AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
                .map_err(failed)?
                .as_ref()
                .to_vec()
        }
    };
    Ok(pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8)))
}

/// Writes `text` to a new file readable by its owner only.
pub fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}
