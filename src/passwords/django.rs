//! Django's password hash formats other than argon2 (which shares the PHC parser in
//! `mod.rs`): what `jwtd user import-django` brings in. Each is checked as Django's own
//! hasher checks it, so that a password Django accepted is accepted here; jwtd never writes
//! these formats, a successful login replaces them with its argon2id hash.
//!
//! Work factors come from the stored string, so they are bounded: a hash asking for more
//! than `MAX_*` is treated as one jwtd cannot verify, rather than pinning a hashing thread
//! for minutes or aborting the process on an allocation it cannot make.

use std::num::NonZeroU32;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::{digest, pbkdf2};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64_PADDED;

/// PBKDF2 iterations (Django 5.2 uses 1,000,000 and adds more in each release).
pub const MAX_PBKDF2_ITERATIONS: u32 = 50_000_000;
/// bcrypt's log2 cost (Django uses 12; each step doubles the time).
pub const MAX_BCRYPT_COST: u32 = 20;
/// Memory a memory-hard hash may ask for (argon2's `m`, scrypt's 128·r·N), in bytes.
pub const MAX_MEMORY: u64 = 1 << 30;
/// Passes over that memory: argon2's `t`, scrypt's `p`.
pub const MAX_PASSES: u32 = 64;

/// A parsed Django hash.
pub(super) enum DjangoHash {
    /// `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` (or `pbkdf2_sha1$…`).
    Pbkdf2 {
        algorithm: pbkdf2::Algorithm,
        digest_len: usize,
        iterations: NonZeroU32,
        salt: String,
        hash: String,
    },
    /// `bcrypt_sha256$$2b$<cost>$<salt+hash>` (bcrypt of the hex SHA-256 of the password) or
    /// `bcrypt$$2b$…` (bcrypt of the password itself).
    Bcrypt { sha256_first: bool, bcrypt: String },
    /// `scrypt$<N>$<salt>$<r>$<p>$<base64 hash>`.
    Scrypt {
        params: scrypt::Params,
        salt: String,
        hash: String,
    },
}

pub(super) fn parse(encoded: &str) -> Option<DjangoHash> {
    let (algorithm, rest) = encoded.split_once('$')?;
    match algorithm {
        "pbkdf2_sha256" => parse_pbkdf2(rest, pbkdf2::PBKDF2_HMAC_SHA256, digest::SHA256_OUTPUT_LEN),
        "pbkdf2_sha1" => parse_pbkdf2(rest, pbkdf2::PBKDF2_HMAC_SHA1, digest::SHA1_OUTPUT_LEN),
        "bcrypt_sha256" | "bcrypt" => {
            // Django writes `<algorithm>$` before bcrypt's own `$2b$…`.
            let bcrypt = rest;
            if !bcrypt.starts_with('$') {
                return None;
            }
            let cost: u32 = bcrypt.get(4..6)?.parse().ok()?;
            if bcrypt.len() != 60 || cost > MAX_BCRYPT_COST {
                return None;
            }
            Some(DjangoHash::Bcrypt {
                sha256_first: algorithm == "bcrypt_sha256",
                bcrypt: bcrypt.to_string(),
            })
        }
        "scrypt" => parse_scrypt(rest),
        _ => None,
    }
}

fn parse_pbkdf2(rest: &str, algorithm: pbkdf2::Algorithm, digest_len: usize) -> Option<DjangoHash> {
    let mut parts = rest.split('$');
    let iterations = canonical_number(parts.next()?)?;
    let salt = parts.next()?;
    let hash = parts.next()?;
    if parts.next().is_some() || salt.is_empty() || iterations > MAX_PBKDF2_ITERATIONS {
        return None;
    }
    Some(DjangoHash::Pbkdf2 {
        algorithm,
        digest_len,
        iterations: NonZeroU32::new(iterations)?,
        salt: salt.to_string(),
        hash: hash.to_string(),
    })
}

fn parse_scrypt(rest: &str) -> Option<DjangoHash> {
    let mut parts = rest.split('$');
    let n = canonical_number(parts.next()?)?;
    let salt = parts.next()?;
    let r = canonical_number(parts.next()?)?;
    let p = canonical_number(parts.next()?)?;
    let hash = parts.next()?;
    if parts.next().is_some() || salt.is_empty() || !n.is_power_of_two() || n < 2 {
        return None;
    }
    if 128 * u64::from(r) * u64::from(n) > MAX_MEMORY || p > MAX_PASSES {
        return None;
    }
    let log_n = u8::try_from(n.trailing_zeros()).ok()?;
    Some(DjangoHash::Scrypt {
        params: scrypt::Params::new(log_n, r, p).ok()?,
        salt: salt.to_string(),
        hash: hash.to_string(),
    })
}

/// A number as Python's `"%d"` writes it. Django verifies by encoding again and comparing
/// whole strings, so `pbkdf2_sha256$01000$…` never matches there: nor here.
fn canonical_number(text: &str) -> Option<u32> {
    let n: u32 = text.parse().ok()?;
    (n.to_string() == text).then_some(n)
}

impl DjangoHash {
    /// Whether `password` is the one hashed. Runs for as long as the work factor asks.
    pub(super) fn verify(&self, password: &[u8]) -> bool {
        match self {
            DjangoHash::Pbkdf2 {
                algorithm,
                digest_len,
                iterations,
                salt,
                hash,
            } => {
                let mut out = vec![0u8; *digest_len];
                pbkdf2::derive(*algorithm, *iterations, salt.as_bytes(), password, &mut out);
                // As Django does: base64 of the derived bytes against the stored text.
                constant_time_eq(B64_PADDED.encode(out).as_bytes(), hash.as_bytes())
            }
            DjangoHash::Bcrypt { sha256_first, bcrypt } => {
                // Hashing first lifts bcrypt's 72-byte limit (Django ticket #20138). Plain
                // bcrypt hashes were made by libraries that cut longer passwords at 72 bytes,
                // so they are checked the same way (bcrypt::verify truncates; it compares in
                // constant time).
                let prehashed;
                let input = if *sha256_first {
                    prehashed = hex::encode(digest::digest(&digest::SHA256, password));
                    prehashed.as_bytes()
                } else {
                    password
                };
                bcrypt::verify(input, bcrypt).unwrap_or(false)
            }
            DjangoHash::Scrypt { params, salt, hash } => {
                let mut out = [0u8; 64];
                if scrypt::scrypt(password, salt.as_bytes(), params, &mut out).is_err() {
                    return false;
                }
                constant_time_eq(B64_PADDED.encode(out).as_bytes(), hash.as_bytes())
            }
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    verify_slices_are_equal(a, b).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by Django 5.2 (`make_password(password, hasher=…)`), see
    /// tests/fixtures/django/make_fixture.py; the scrypt and bcrypt ones with lower work
    /// factors to keep the tests quick.
    const VECTORS: &[(&str, &str)] = &[
        (
            "pbkdf2 pässwörd ✓",
            "pbkdf2_sha256$1000000$TjqvZBfDhma7Og4Ftmxda2$Z0337B8b9kAl1ilOJYpdF4sE4okUfl67NXkerWCCD1M=",
        ),
        (
            "pbkdf2-sha1-password",
            "pbkdf2_sha1$1000000$BXjzku8FBKfa27jHXs3Ig2$WMKLGjngP507KYilhwRobnsF/yQ=",
        ),
        (
            "bcrypt-sha256-password",
            "bcrypt_sha256$$2b$12$9WWK9gOxc2q.Dg2kMcg5uuOoTgqsZwXZhh3xkuDMPVN6rmgLF1ZYa",
        ),
        (
            "bcrypt-password",
            "bcrypt$$2b$12$O33hHZF86rn1bVru0ZasquX82yiCZyE/DpS2xpvhsiwimdQau7Op.",
        ),
        (
            "scrypt-password",
            "scrypt$16384$QgPLa4jtCRb1IYTZhoKXt9$8$5$cOCGauR78QDrWQOYSN8S2t5BtnLeFqJ/8pPpzt/hI4i+1HQ4o7YXgFaEDHrnpY/ozc0gAXmlbnnP19sOW5nUFw==",
        ),
    ];

    #[test]
    fn django_vectors_verify() {
        for (password, encoded) in VECTORS {
            let hash = parse(encoded).unwrap_or_else(|| panic!("{encoded} parses"));
            assert!(hash.verify(password.as_bytes()), "{encoded}");
            assert!(!hash.verify(b"wrong password"), "{encoded}");
            let mut almost = password.as_bytes().to_vec();
            almost.pop();
            assert!(!hash.verify(&almost), "{encoded}");
        }
    }

    #[test]
    fn malformed_or_unknown_hashes_do_not_parse() {
        for encoded in [
            "",
            "!unusable",
            "md5$aBY0BtVQuPxbTSS5UUWqUl$f30b21e035965841b4fddb3bc4709625",
            "sha1$$0123",
            "crypt$$abcdefghijk",
            "pbkdf2_sha256$1000$salt",
            "pbkdf2_sha256$0$salt$aGFzaA==",
            "pbkdf2_sha256$-5$salt$aGFzaA==",
            "pbkdf2_sha256$01000$salt$aGFzaA==",
            "pbkdf2_sha256$1000$$aGFzaA==",
            "pbkdf2_sha256$1000$salt$aGFzaA==$extra",
            "pbkdf2_sha256$99999999999$salt$aGFzaA==",
            "bcrypt_sha256$2b$12$oqT86L4mEI9JQEA11mA.wOWEWULExGiR1GtkkrXFhOsSSBXGCXyf6",
            "bcrypt_sha256$$2b$12$short",
            "bcrypt$$2b$31$/xghav.NoJFhHwRLkcZvxuIvxDdPUWkICF/d6ia2sK/LlGd52efQW",
            "bcrypt$$2b$1é$/xghav.NoJFhHwRLkcZvxuIvxDdPUWkICF/d6ia2sK/LlGd52efQ",
            "scrypt$16383$salt$8$5$aGFzaA==",
            "scrypt$1073741824$salt$8$5$aGFzaA==",
            "scrypt$16384$salt$8$0$aGFzaA==",
            "scrypt$16384$salt$8$5",
        ] {
            assert!(parse(encoded).is_none(), "{encoded}");
        }
    }

    #[test]
    fn a_bcrypt_hash_that_is_not_bcrypt_never_matches() {
        // 60 characters with a plausible cost, but no valid bcrypt version or base64.
        let encoded = format!("bcrypt${}", "$2z$04$".to_string() + &"!".repeat(53));
        let hash = parse(&encoded).expect("shape accepted; bcrypt decides");
        assert!(!hash.verify(b""));
    }
}
