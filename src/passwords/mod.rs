//! Password hashing: argon2id with OWASP's parameters (m=19456 KiB, t=2, p=1), stored as PHC
//! strings. Hashing runs on its own threads, one per CPU, each hash with a
//! 19 MiB memory buffer that is reused while logins keep coming and handed back to the
//! system once they stop, so that a burst of logins neither stalls the async workers nor
//! leaves memory behind.
//!
//! Hashes imported from Django (`django.rs`, and Django's `argon2$…` spelling of argon2) are
//! verified on the same threads; a match asks for a rehash, so that
//! each user moves to jwtd's own format at their next login.
//!
//! Which passwords are acceptable at all is Django's password validation (`policy`).

mod buffer;
mod django;
pub mod policy;

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use buffer::Buffer;
pub use policy::{PasswordPolicy, UnknownValidator, UserAttributes, Validator, parse_validators};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

pub const M_COST: u32 = 19_456;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;
const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;

/// What an unknown username (or a user without a usable password) is checked against, so
/// that the answer costs what a wrong password costs and its timing does not tell which
/// usernames exist. The hash of 32 random bytes nobody kept; it never matches anyway.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$18g5wOG746Lmv7y6VFx05g$uEGZIyL2iKjvoT38QmnqMW2FIM64APhLSaVJKuSpKac";

/// Buffers unused for this long are handed back (see `release_idle`).
pub const BUFFER_IDLE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordError(pub String);

/// The outcome of a password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub matches: bool,
    /// The stored hash uses other parameters than jwtd's: hash the password again.
    pub needs_rehash: bool,
}

#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
    /// The hashing threads' queue. They end when the last hasher (holding the last sender)
    /// is dropped.
    jobs: Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

struct Inner {
    /// Idle buffers and when each was last used.
    buffers: Mutex<Vec<(Buffer, Instant)>>,
    /// Seconds per hash, for the metrics.
    timing: Histogram,
    /// The longest check of a Django hash seen (nanoseconds): what a refused login is padded
    /// to (see `failure_floor`).
    legacy_cost: AtomicU64,
}

/// No refused login is padded beyond this, whatever an imported hash costs.
const MAX_FLOOR: Duration = Duration::from_secs(2);

impl PasswordHasher {
    /// `concurrency`: hashes computed at once (the CPU count is right for a server).
    pub fn new(concurrency: usize) -> PasswordHasher {
        // Threads of their own rather than tokio's blocking pool: that pool hands each hash
        // to whichever of its (many) threads is free, and a hash that wakes up on a CPU
        // already busy with another waits for the scheduler to move it; two long-lived
        // threads settle one per CPU (bench/README.md has the obtain figures).
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..concurrency.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name("jwtd-hasher".into())
                .spawn(move || hashing_thread(&queue))
                .expect("a thread can be started");
        }
        PasswordHasher {
            inner: Arc::new(Inner {
                buffers: Mutex::new(Vec::new()),
                timing: Histogram::new(exponential_buckets(0.001, 2.0, 12)),
                legacy_cost: AtomicU64::new(0),
            }),
            jobs,
        }
    }

    /// The histogram of hashing times (shared, for the metrics registry).
    pub fn timing(&self) -> Histogram {
        self.inner.timing.clone()
    }

    /// Hashes `password` into a PHC string.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let password = password.as_bytes().to_vec();
        self.run(move |blocks| hash_with(&password, blocks)).await
    }

    /// Checks `password` against `encoded`: jwtd's argon2 or one of Django's formats. With
    /// `None` (no such user) or a hash jwtd cannot verify (Django's unusable `!…`, MD5,
    /// unknown formats), the dummy hash is checked instead, so that the refusal takes as
    /// long as a wrong password, and the answer is always "no".
    pub async fn verify(&self, password: &str, encoded: Option<&str>) -> Result<Verified, PasswordError> {
        let password = password.as_bytes().to_vec();
        let (stored, real) = match encoded.and_then(parse) {
            Some(stored) => (stored, true),
            None => (
                Stored::Jwtd(parse_phc(DUMMY_HASH).expect("the dummy hash parses")),
                false,
            ),
        };
        let legacy = !matches!(stored, Stored::Jwtd(_));
        let (verified, cost) = self
            .run(move |blocks| {
                let started = Instant::now();
                let verified = match &stored {
                    Stored::Jwtd(phc) => verify_with(&password, phc, blocks),
                    Stored::DjangoArgon2(phc) => {
                        let matches = verify_with(&password, phc, blocks).matches;
                        Verified {
                            matches,
                            needs_rehash: matches,
                        }
                    }
                    Stored::Django(hash) => {
                        let matches = hash.verify(&password);
                        Verified {
                            matches,
                            needs_rehash: matches,
                        }
                    }
                };
                Ok((verified, started.elapsed()))
            })
            .await?;
        if legacy && real {
            let nanos = cost.min(MAX_FLOOR).as_nanos() as u64;
            self.inner.legacy_cost.fetch_max(nanos, Ordering::Relaxed);
        }
        Ok(Verified {
            matches: verified.matches && real,
            needs_rehash: verified.needs_rehash && real,
        })
    }

    /// How long a refused login should take at least: the longest check of an imported
    /// Django hash seen so far (zero when there is none). A Django hash (PBKDF2 with a
    /// million iterations, say) costs more than jwtd's argon2id, so until its user first
    /// logs in, a wrong password for an imported user would take longer than one for an
    /// unknown username — telling which usernames exist. Padding every refusal to this
    /// floor removes the difference.
    pub fn failure_floor(&self) -> Duration {
        Duration::from_nanos(self.inner.legacy_cost.load(Ordering::Relaxed))
    }

    /// Learns what checking `encoded` costs, by checking a password nobody has against it:
    /// the server does this at start-up for the imported hashes still stored.
    pub async fn learn_cost(&self, encoded: &str) -> Result<(), PasswordError> {
        self.verify("\u{0}jwtd: what does this hash cost?", Some(encoded))
            .await
            .map(drop)
    }

    /// Drops buffers unused for `idle` (the server calls this periodically): 19 MiB each,
    /// worth keeping during a burst of logins, not for the quiet hours after it.
    pub fn release_idle(&self, idle: Duration) -> usize {
        let mut buffers = self.inner.buffers.lock().expect("buffer pool lock");
        let before = buffers.len();
        buffers.retain(|(_, used)| used.elapsed() < idle);
        before - buffers.len()
    }

    /// Buffers kept for the next hashes.
    pub fn pooled_buffers(&self) -> usize {
        self.inner.buffers.lock().expect("buffer pool lock").len()
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut [Block]) -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let inner = self.inner.clone();
        let task = move || {
            if reply.is_closed() {
                // The request went away while its hash waited in the queue.
                return;
            }
            let started = Instant::now();
            let pooled = inner.buffers.lock().expect("buffer pool lock").pop();
            let mut blocks = pooled.map(|(b, _)| b).unwrap_or_else(new_buffer);
            let result = job(&mut blocks);
            inner
                .buffers
                .lock()
                .expect("buffer pool lock")
                .push((blocks, Instant::now()));
            inner.timing.observe(started.elapsed().as_secs_f64());
            let _ = reply.send(result);
        };
        self.jobs
            .send(Box::new(task))
            .map_err(|_| PasswordError("hasher closed".into()))?;
        answer
            .await
            .map_err(|_| PasswordError("hashing task failed".into()))?
    }
}

/// Runs hashing jobs until every hasher is gone. A job that panics answers nothing (its
/// caller sees an error); the thread goes on with the next.
fn hashing_thread(queue: &Mutex<Receiver<Job>>) {
    loop {
        let next = queue.lock().expect("hash queue lock").recv();
        match next {
            Ok(job) => {
                let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

fn params() -> Params {
    Params::new(M_COST, T_COST, P_COST, Some(OUTPUT_LEN)).expect("OWASP parameters are valid")
}

fn new_buffer() -> Buffer {
    Buffer::new(params().block_count())
}

fn hash_with(password: &[u8], blocks: &mut [Block]) -> Result<String, PasswordError> {
    let mut salt = [0u8; SALT_LEN];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| PasswordError("no randomness".into()))?;
    let mut out = [0u8; OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
        .hash_password_into_with_memory(password, &salt, &mut out, blocks)
        .map_err(|e| PasswordError(e.to_string()))?;
    Ok(format!(
        "$argon2id$v=19$m={M_COST},t={T_COST},p={P_COST}${}${}",
        B64.encode(salt),
        B64.encode(out)
    ))
}

/// Whether `verify` can ever say yes to this stored hash: false for unusable passwords,
/// formats jwtd does not know and work factors over its limits.
pub fn is_verifiable(encoded: &str) -> bool {
    parse(encoded).is_some()
}

/// A stored password hash, by who wrote it.
enum Stored {
    /// `$argon2id$…` (PHC), as jwtd writes it; other argon2 parameters are accepted too.
    Jwtd(Phc),
    /// Django's `argon2$argon2id$…` (or `argon2i`, which Django wrote before 3.2).
    DjangoArgon2(Phc),
    Django(django::DjangoHash),
}

/// What checking a stored hash costs depends on: its algorithm and work factors, without
/// salt and digest. `None` for a hash jwtd cannot verify. Hashes of one kind cost the same,
/// so the server times one of each (see `PasswordHasher::learn_cost`).
pub fn cost_kind(encoded: &str) -> Option<String> {
    let fields: Vec<&str> = encoded.split('$').collect();
    let kept: Vec<&str> = match parse(encoded)? {
        // PHC strings end in `$salt$hash`.
        Stored::Jwtd(_) | Stored::DjangoArgon2(_) => fields[..fields.len().checked_sub(2)?].to_vec(),
        // `pbkdf2_sha256$<iterations>$salt$hash`
        Stored::Django(django::DjangoHash::Pbkdf2 { .. }) => fields.get(..2)?.to_vec(),
        // `bcrypt_sha256$$2b$<cost>$<salt and hash>`
        Stored::Django(django::DjangoHash::Bcrypt { .. }) => fields.get(..4)?.to_vec(),
        // `scrypt$<N>$salt$<r>$<p>$hash`
        Stored::Django(django::DjangoHash::Scrypt { .. }) => {
            vec![fields[0], fields.get(1)?, fields.get(3)?, fields.get(4)?]
        }
    };
    Some(kept.join("$"))
}

fn parse(encoded: &str) -> Option<Stored> {
    if encoded.starts_with('$') {
        return parse_phc(encoded).map(Stored::Jwtd);
    }
    // Django puts its algorithm name before argon2-cffi's PHC string.
    if let Some(phc) = encoded.strip_prefix("argon2") {
        return parse_phc(phc).map(Stored::DjangoArgon2);
    }
    django::parse(encoded).map(Stored::Django)
}

/// An argon2 PHC string taken apart.
struct Phc {
    algorithm: Algorithm,
    version: Version,
    m: u32,
    t: u32,
    p: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn parse_phc(encoded: &str) -> Option<Phc> {
    let mut parts = encoded.split('$');
    if !parts.next()?.is_empty() {
        return None;
    }
    let algorithm = match parts.next()? {
        "argon2id" => Algorithm::Argon2id,
        "argon2i" => Algorithm::Argon2i,
        "argon2d" => Algorithm::Argon2d,
        _ => return None,
    };
    let mut field = parts.next()?;
    let version = match field.strip_prefix("v=") {
        Some(v) => {
            field = parts.next()?;
            match v {
                "19" => Version::V0x13,
                "16" => Version::V0x10,
                _ => return None,
            }
        }
        None => Version::V0x10,
    };
    let (mut m, mut t, mut p) = (None, None, None);
    for kv in field.split(',') {
        let (k, v) = kv.split_once('=')?;
        let v: u32 = v.parse().ok()?;
        match k {
            "m" => m = Some(v),
            "t" => t = Some(v),
            "p" => p = Some(v),
            _ => return None,
        }
    }
    let salt = B64.decode(parts.next()?).ok()?;
    let hash = B64.decode(parts.next()?).ok()?;
    if parts.next().is_some() {
        return None;
    }
    let (m, t, p) = (m?, t?, p?);
    // Imported hashes choose their own cost: bounded (see django.rs).
    if u64::from(m) * 1024 > django::MAX_MEMORY || t > django::MAX_PASSES {
        return None;
    }
    Some(Phc {
        algorithm,
        version,
        m,
        t,
        p,
        salt,
        hash,
    })
}

/// Checks a password against a parsed argon2 PHC string.
fn verify_with(password: &[u8], phc: &Phc, blocks: &mut [Block]) -> Verified {
    let no = Verified {
        matches: false,
        needs_rehash: false,
    };
    let Ok(params) = Params::new(phc.m, phc.t, phc.p, Some(phc.hash.len())) else {
        return no;
    };
    let ours = phc.algorithm == Algorithm::Argon2id
        && phc.version == Version::V0x13
        && (phc.m, phc.t, phc.p) == (M_COST, T_COST, P_COST)
        && phc.hash.len() == OUTPUT_LEN;
    let argon2 = Argon2::new(phc.algorithm, phc.version, params);
    let mut out = vec![0u8; phc.hash.len()];
    let computed = if ours {
        argon2.hash_password_into_with_memory(password, &phc.salt, &mut out, blocks)
    } else {
        // Imported hashes with other parameters: a buffer of their own size, once.
        argon2.hash_password_into(password, &phc.salt, &mut out)
    };
    if computed.is_err() {
        return no;
    }
    let matches = verify_slices_are_equal(&out, &phc.hash).is_ok();
    Verified {
        matches,
        needs_rehash: matches && !ours,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let hasher = PasswordHasher::new(2);
        let h = hasher.hash("correct horse").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        let ok = hasher.verify("correct horse", Some(&h)).await.unwrap();
        assert!(ok.matches && !ok.needs_rehash);
        assert!(!hasher.verify("wrong", Some(&h)).await.unwrap().matches);
        assert!(!hasher.verify("correct horse", None).await.unwrap().matches);
        assert!(!hasher.verify("x", Some("!unusable")).await.unwrap().matches);
        assert!(!hasher.verify("x", Some("")).await.unwrap().matches);
    }

    /// Hashes computed so far, read from the timing histogram.
    fn hashes_done(hasher: &PasswordHasher) -> u64 {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("h", "", hasher.timing());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        let count = text.lines().find_map(|l| l.strip_prefix("h_count ")).unwrap();
        count.parse().unwrap()
    }

    #[tokio::test]
    async fn a_login_abandoned_while_waiting_is_not_hashed() {
        let hasher = PasswordHasher::new(1);
        let first = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.hash("first").await }
        });
        // The only hashing thread is busy with the first (a hash takes milliseconds):
        // the second waits in line, and its client goes away.
        tokio::time::sleep(Duration::from_millis(1)).await;
        let abandoned = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.hash("abandoned").await }
        });
        tokio::time::sleep(Duration::from_millis(1)).await;
        abandoned.abort();
        first.await.unwrap().unwrap();
        hasher.hash("third").await.unwrap();
        assert_eq!(hashes_done(&hasher), 2, "the abandoned login cost nothing");
    }

    #[tokio::test]
    async fn idle_buffers_are_released() {
        let hasher = PasswordHasher::new(1);
        assert_eq!(
            hasher.pooled_buffers(),
            0,
            "no memory is taken before the first login"
        );
        hasher.verify("pw", None).await.unwrap();
        assert_eq!(hasher.pooled_buffers(), 1);
        assert_eq!(hasher.release_idle(BUFFER_IDLE), 0, "a buffer just used is kept");
        assert_eq!(hasher.release_idle(Duration::ZERO), 1);
        assert_eq!(hasher.pooled_buffers(), 0);
    }

    /// Made by Django 5.2 with argon2-cffi (see tests/fixtures/django/make_fixture.py).
    const DJANGO_ARGON2ID: &str = "argon2$argon2id$v=19$m=102400,t=2,p=8$c0lOU1Fwd3ZpUXE3c3RmZzdERThHQw$O/4zPVb9Jr5N7vWj7J1/w1beqay6YQBS9fIz577+Yy4";
    /// Argon2PasswordHasher's output before Django 3.2 (argon2i, 16-byte hash).
    const DJANGO_ARGON2I: &str =
        "argon2$argon2i$v=19$m=512,t=2,p=2$NnV0V2RqbEtiaUpYVzhIZ0RCQ3dRTA$4+igVdB5cM4ELgB2mCaZ+A";

    #[test]
    fn cost_kinds_name_algorithm_and_work_factors_only() {
        let kind = |h: &str| cost_kind(h).unwrap();
        assert_eq!(
            kind("pbkdf2_sha1$1000000$BXjzku8FBKfa27jHXs3Ig2$WMKLGjngP507KYilhwRobnsF/yQ="),
            "pbkdf2_sha1$1000000"
        );
        assert_eq!(
            kind("bcrypt_sha256$$2b$12$9WWK9gOxc2q.Dg2kMcg5uuOoTgqsZwXZhh3xkuDMPVN6rmgLF1ZYa"),
            "bcrypt_sha256$$2b$12"
        );
        assert!(kind(DJANGO_ARGON2ID).starts_with("argon2$argon2id$v=19$m="));
        assert_eq!(kind(DJANGO_ARGON2ID).matches('$').count(), 3, "no salt, no hash");
        assert_eq!(cost_kind("!unusable"), None);
        assert_eq!(cost_kind("md5$salt$hash"), None);
    }

    #[tokio::test]
    async fn django_hashes_verify_and_ask_for_a_rehash() {
        let hasher = PasswordHasher::new(2);
        for (password, encoded) in [
            ("argon2id-password", DJANGO_ARGON2ID),
            ("argon2i-password", DJANGO_ARGON2I),
            (
                "pbkdf2-sha1-password",
                "pbkdf2_sha1$1000000$BXjzku8FBKfa27jHXs3Ig2$WMKLGjngP507KYilhwRobnsF/yQ=",
            ),
            (
                "bcrypt-sha256-password",
                "bcrypt_sha256$$2b$12$9WWK9gOxc2q.Dg2kMcg5uuOoTgqsZwXZhh3xkuDMPVN6rmgLF1ZYa",
            ),
        ] {
            assert!(is_verifiable(encoded), "{encoded}");
            let yes = hasher.verify(password, Some(encoded)).await.unwrap();
            assert_eq!(
                yes,
                Verified {
                    matches: true,
                    needs_rehash: true
                },
                "{encoded}"
            );
            let no = hasher.verify("wrong", Some(encoded)).await.unwrap();
            assert!(!no.matches && !no.needs_rehash, "{encoded}");
        }
    }

    #[tokio::test]
    async fn hashes_jwtd_cannot_verify_never_match() {
        let hasher = PasswordHasher::new(1);
        for encoded in [
            "!lGHPWqyqPxjHRSARdHnoZh4a1aXpWNnxNWaI8k1b",
            "md5$aBY0BtVQuPxbTSS5UUWqUl$f30b21e035965841b4fddb3bc4709625",
            "unsalted_md5$$5f4dcc3b5aa765d61d8327deb882cf99",
            "5f4dcc3b5aa765d61d8327deb882cf99",
            "argon2",
            "argon2$",
            "argon2$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$aGFzaA",
            "$argon2id$v=19$m=19456,t=1000,p=1$c29tZXNhbHQ$aGFzaA",
        ] {
            assert!(!is_verifiable(encoded), "{encoded}");
            let v = hasher.verify("password", Some(encoded)).await.unwrap();
            assert!(!v.matches && !v.needs_rehash, "{encoded}");
        }
    }

    #[tokio::test]
    async fn jwtd_parameters_under_django_spelling_are_rewritten() {
        // Django configured with jwtd's parameters still writes `argon2$…`: jwtd stores its
        // own spelling at the next login, so every hash it keeps looks the same.
        let hasher = PasswordHasher::new(1);
        let ours = hasher.hash("pw").await.unwrap();
        let v = hasher.verify("pw", Some(&format!("argon2{ours}"))).await.unwrap();
        assert!(v.matches && v.needs_rehash);
    }

    #[tokio::test]
    async fn other_argon2_parameters_verify_and_ask_for_a_rehash() {
        // Made by argon2-cffi (Django's Argon2PasswordHasher) with t=2, m=102400, p=8.
        let phc = {
            let salt = b"somesaltsomesalt";
            let mut out = [0u8; 32];
            Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(1024, 2, 8, Some(32)).unwrap(),
            )
            .hash_password_into(b"pw", salt, &mut out)
            .unwrap();
            format!(
                "$argon2id$v=19$m=1024,t=2,p=8${}${}",
                B64.encode(salt),
                B64.encode(out)
            )
        };
        let hasher = PasswordHasher::new(1);
        let v = hasher.verify("pw", Some(&phc)).await.unwrap();
        assert!(v.matches && v.needs_rehash);
    }
}
