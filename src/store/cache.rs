//! Short-lived copies of the two reads on the hot paths (`database_cache_ttl`): a user row
//! by id (`/api/me/`, refresh) and "this jti is not blacklisted" (refresh, verify). Writes
//! made through this `Database` drop the copies they touch at once; writes by another
//! instance or the CLI are seen once the copies expire.
//!
//! Only negative blacklist answers are kept: a blacklisted token stays refused without help.
//! Rotation never reads from here — its check is the unique row its own transaction writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use super::User;

const CAPACITY: usize = 8192;

pub(super) struct ReadCache {
    ttl: Duration,
    users: Cache<i64, Arc<UserEntry>>,
    clean: Cache<Box<str>, Instant>,
    /// Bumped by every invalidation of its map, so that a read which raced with a write
    /// does not put back what the write just removed. Two counters, so that a stream of
    /// rotations (each one drops a token) does not keep user rows from being kept.
    users_generation: AtomicU64,
    tokens_generation: AtomicU64,
}

/// A user row and when it was read. `refreshing` lets exactly one request re-read an
/// expired row while the others keep using it for that moment: without it, every request
/// in flight when the row expires would ask the database at once.
pub(super) struct UserEntry {
    at: Instant,
    user: User,
    refreshing: AtomicBool,
}

/// Where the database was when a read began (see `put_user`, `put_not_blacklisted`).
#[derive(Clone, Copy)]
pub(super) struct Generation(u64);

impl ReadCache {
    /// `None` for a zero `ttl`: every read goes to the database.
    pub(super) fn new(ttl: Duration) -> Option<ReadCache> {
        (!ttl.is_zero()).then(|| ReadCache {
            ttl,
            users: Cache::new(CAPACITY),
            clean: Cache::new(CAPACITY),
            users_generation: AtomicU64::new(0),
            tokens_generation: AtomicU64::new(0),
        })
    }

    pub(super) fn users_generation(&self) -> Generation {
        Generation(self.users_generation.load(Ordering::Acquire))
    }

    pub(super) fn tokens_generation(&self) -> Generation {
        Generation(self.tokens_generation.load(Ordering::Acquire))
    }

    /// The kept row while it is fresh; once it has expired, `None` for the first caller
    /// (who reads the database and puts the row back) and the old row for the others until
    /// then — at most one TTL more, after which everyone reads.
    pub(super) fn user(&self, id: i64) -> Option<User> {
        let entry = self.users.get(&id)?;
        let age = entry.at.elapsed();
        if age < self.ttl {
            return Some(entry.user.clone());
        }
        let someone_else_reads = entry.refreshing.swap(true, Ordering::AcqRel);
        (someone_else_reads && age < 2 * self.ttl).then(|| entry.user.clone())
    }

    /// Keeps a user read when the database was asked at `generation`.
    pub(super) fn put_user(&self, user: &User, generation: Generation) {
        let entry = UserEntry {
            at: Instant::now(),
            user: user.clone(),
            refreshing: AtomicBool::new(false),
        };
        self.users.insert(user.id, Arc::new(entry));
        if self.users_generation().0 != generation.0 {
            self.users.remove(&user.id);
        }
    }

    pub(super) fn not_blacklisted(&self, jti: &str) -> bool {
        self.clean.get(jti).is_some_and(|at| at.elapsed() < self.ttl)
    }

    pub(super) fn put_not_blacklisted(&self, jti: &str, generation: Generation) {
        self.clean.insert(jti.into(), Instant::now());
        if self.tokens_generation().0 != generation.0 {
            self.clean.remove(jti);
        }
    }

    pub(super) fn forget_user(&self, id: i64) {
        self.users_generation.fetch_add(1, Ordering::AcqRel);
        self.users.remove(&id);
    }

    /// After a write to many users (an import).
    pub(super) fn forget_users(&self) {
        self.users_generation.fetch_add(1, Ordering::AcqRel);
        self.users.clear();
    }

    pub(super) fn forget_token(&self, jti: &str) {
        self.tokens_generation.fetch_add(1, Ordering::AcqRel);
        self.clean.remove(jti);
    }

    /// After a write that blacklists tokens by user or family: their jtis are not at hand.
    pub(super) fn forget_tokens(&self) {
        self.tokens_generation.fetch_add(1, Ordering::AcqRel);
        self.clean.clear();
    }
}
