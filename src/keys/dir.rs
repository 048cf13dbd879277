//! `keys_dir`: the ring from a folder of PEM private keys, such as a mounted secrets folder,
//! so that a container's keys can be rotated without a settings file. `KID.pem` is the key
//! named KID; the algorithm follows the key; `signing_kid` (else the newest file) signs.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use jsonwebtoken::Algorithm;

use super::material::{self, Parsed};
use super::{Key, Signer, alg_name};
use crate::config::{ConfigError, KeySettings};

const SETTING: &str = "keys_dir";

/// The keys of `dir`, the signing key first, and its signer.
pub(super) fn load(s: &KeySettings, dir: &Path) -> Result<(Vec<Key>, Signer), ConfigError> {
    let err = |msg: String| ConfigError::key(SETTING, msg);
    for (other, set) in [
        ("signing_key", s.signing_key.is_some()),
        ("verifying_key", s.verifying_key.is_some()),
        ("keys", !s.keys.is_empty()),
    ] {
        if set {
            return Err(err(format!(
                "set either keys_dir or {other}, not both (keys_dir holds every key)"
            )));
        }
    }
    let mut files = pem_files(dir)?;
    if files.is_empty() {
        return Err(err(format!(
            "{} holds no .pem file: put each key there as KID.pem (`jwtd key generate --out {}` writes one)",
            dir.display(),
            dir.display()
        )));
    }
    files.sort_by(|a, b| a.kid.cmp(&b.kid));
    let signing = match &s.signing_kid {
        Some(kid) => files.iter().position(|f| &f.kid == kid).ok_or_else(|| {
            let known: Vec<&str> = files.iter().map(|f| f.kid.as_str()).collect();
            ConfigError::key(
                "signing_kid",
                format!(
                    "no key {kid:?} in {}: there is no {kid}.pem (the keys there: {})",
                    dir.display(),
                    known.join(", ")
                ),
            )
        })?,
        // The newest file; of files written in the same instant, the last by name.
        None => {
            let newest = files.iter().map(|f| f.modified).max().expect("not empty");
            files
                .iter()
                .rposition(|f| f.modified == newest)
                .expect("not empty")
        }
    };
    let first = files.remove(signing);
    let (key, signer) = parse(s, &first)?;
    let mut keys = vec![key];
    for file in &files {
        keys.push(parse(s, file)?.0);
    }
    Ok((keys, signer))
}

struct PemFile {
    kid: String,
    path: PathBuf,
    modified: SystemTime,
}

/// The regular files named `*.pem` (symbolic links followed, as Kubernetes mounts secrets);
/// hidden entries (Kubernetes' `..data`) and other names are not keys.
fn pem_files(dir: &Path) -> Result<Vec<PemFile>, ConfigError> {
    let cannot = |path: &Path, e: std::io::Error| {
        ConfigError::key(SETTING, format!("cannot read {}: {e}", path.display()))
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| cannot(dir, e))? {
        let entry = entry.map_err(|e| cannot(dir, e))?;
        let path = entry.path();
        let name = entry.file_name();
        let Some(kid) = name.to_str().and_then(|n| n.strip_suffix(".pem")) else {
            continue;
        };
        if kid.is_empty() || kid.starts_with('.') {
            continue;
        }
        let meta = std::fs::metadata(&path).map_err(|e| cannot(&path, e))?;
        if !meta.is_file() {
            continue;
        }
        files.push(PemFile {
            kid: kid.to_string(),
            modified: meta.modified().map_err(|e| cannot(&path, e))?,
            path,
        });
    }
    Ok(files)
}

/// The key in `file`, with the algorithm its type calls for.
fn parse(s: &KeySettings, file: &PemFile) -> Result<(Key, Signer), ConfigError> {
    let in_file = |message: &str| ConfigError::key(SETTING, format!("{}: {message}", file.path.display()));
    let text = std::fs::read_to_string(&file.path).map_err(|e| in_file(&format!("cannot read: {e}")))?;
    let rsa = match s.algorithm {
        a @ (Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512) => a,
        _ => Algorithm::RS256,
    };
    let tag = pem::parse(text.trim())
        .map(|p| p.tag().to_string())
        .map_err(|e| in_file(&format!("not PEM text: {e}")))?;
    if tag.contains("PUBLIC KEY") {
        return Err(in_file(
            "a public key: keys_dir takes private keys (PKCS#8, or PKCS#1/SEC1 for RSA/EC)",
        ));
    }
    let mut rsa_error = None;
    for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA, rsa] {
        match material::parse_signing_key(SETTING, alg, &text) {
            Ok(Parsed {
                signer,
                verifier,
                public,
            }) => {
                let key = Key {
                    kid: Some(file.kid.clone()),
                    alg,
                    verifier,
                    public,
                };
                return Ok((key, signer));
            }
            Err(e) if alg == rsa => rsa_error = Some(e),
            Err(_) => {}
        }
    }
    // An RSA key refused for its size says so; anything else is of a type jwtd does not know.
    let rsa_error = rsa_error.map(|e| e.0).unwrap_or_default();
    if rsa_error.contains("2048 bits") {
        let message = rsa_error.split_once(": ").map_or(rsa_error.as_str(), |(_, m)| m);
        return Err(in_file(message));
    }
    Err(in_file(&format!(
        "not a key jwtd knows ({tag} in PEM): expected a P-256 (ES256), P-384 (ES384), Ed25519 \
         (EdDSA) or RSA ({}) private key",
        alg_name(rsa)
    )))
}
