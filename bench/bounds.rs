//! The crypto bounds of `bench/run`: single-core cost of one signature check per algorithm
//! and of one argon2id password check, with the libraries jwtd uses (aws-lc-rs, argon2),
//! measured in-process. Prints `name=nanoseconds` lines.
//!
//!     cargo run --release --example bounds

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, KeyPair};

/// A token's signing input: header and Simple JWT claims, base64url-encoded.
const INPUT: &[u8] = b"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IngzVURqWnlmOVRZRWUxdFA0dUlBQVBDZ0JhLVNuN3BlN1UzZ1U1VWYxYyJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzk1NDQwMDAwLCJpYXQiOjE3OTU0Mzk3MDAsImp0aSI6IjY5YjcxNDc0ODM1NzM0OTViYjI0ZDk0MzQxYzBiMzE1YiIsInVzZXJfaWQiOiIxIn0";

/// Runs `f` for about `budget` and returns nanoseconds per call.
fn per_call(budget: Duration, mut f: impl FnMut()) -> u128 {
    for _ in 0..10 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u128;
    while start.elapsed() < budget {
        for _ in 0..10 {
            f();
        }
        n += 10;
    }
    start.elapsed().as_nanos() / n
}

fn main() {
    let budget = Duration::from_millis(
        std::env::args()
            .nth(1)
            .and_then(|a| a.parse().ok())
            .unwrap_or(1000),
    );
    let rng = SystemRandom::new();

    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"0123456789abcdef0123456789abcdef");
    let tag = aws_lc_rs::hmac::sign(&key, INPUT);
    println!(
        "hs256_verify_ns={}",
        per_call(budget, || {
            black_box(aws_lc_rs::hmac::verify(&key, black_box(INPUT), tag.as_ref())).unwrap();
        })
    );

    let pkcs8 =
        signature::EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        signature::EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .unwrap();
    let sig = pair.sign(&rng, INPUT).unwrap();
    let public =
        signature::ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref())
            .unwrap();
    println!(
        "es256_verify_ns={}",
        per_call(budget, || {
            black_box(public.verify_sig(black_box(INPUT), sig.as_ref())).unwrap();
        })
    );

    let pkcs8 = signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pair = signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let sig = pair.sign(INPUT);
    let public = signature::ParsedPublicKey::new(&signature::ED25519, pair.public_key().as_ref()).unwrap();
    println!(
        "eddsa_verify_ns={}",
        per_call(budget, || {
            black_box(public.verify_sig(black_box(INPUT), sig.as_ref())).unwrap();
        })
    );

    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let mut sig = vec![0; pair.public_modulus_len()];
    pair.sign(&signature::RSA_PKCS1_SHA256, &rng, INPUT, &mut sig)
        .unwrap();
    let public =
        signature::ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, pair.public_key().as_ref())
            .unwrap();
    println!(
        "rs256_verify_ns={}",
        per_call(budget, || {
            black_box(public.verify_sig(black_box(INPUT), &sig)).unwrap();
        })
    );

    // One argon2id check at jwtd's (OWASP's) parameters: a hash computed again.
    let argon2 = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(19_456, 2, 1, Some(32)).unwrap(),
    );
    let mut out = [0u8; 32];
    println!(
        "argon2id_verify_ns={}",
        per_call(budget.max(Duration::from_millis(1500)), || {
            argon2
                .hash_password_into(black_box(b"correct horse battery"), b"somesaltsomesalt", &mut out)
                .unwrap();
        })
    );

    // The same on every core at once: memory-hard hashing shares caches and memory
    // bandwidth, so N cores do less than N times one core's work. Reported beside the
    // single-core bound, as what the machine really allows.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread: Vec<u128> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..cores)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = [0u8; 32];
                    per_call(budget.max(Duration::from_millis(1500)), || {
                        argon2
                            .hash_password_into(
                                black_box(b"correct horse battery"),
                                b"somesaltsomesalt",
                                &mut out,
                            )
                            .unwrap();
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    println!(
        "argon2id_parallel_ns={}",
        per_thread.iter().sum::<u128>() / per_thread.len() as u128
    );
}
