//! The login throttles' counters, kept where every instance sees them: in the database
//! (`login_throttle`, one SQL text for both databases) or in Redis (`redis.rs`). A bucket
//! holds timestamped entries: the attempts of an address (`rate:`), the failed logins of a
//! username or of a (username, address) pair (`fail:`), and locks (`lock:`). Times are
//! microseconds since the Unix epoch, from each instance's clock.

use std::future::Future;

use super::{Batched, Database, Result};

/// The counters' clock: microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// A bucket that is full: how many entries it holds in the window, and the oldest one's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full {
    pub count: i64,
    pub oldest: i64,
}

/// What stands between a username and a login.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginState {
    /// The end of the latest lock still in force.
    pub locked_until: Option<i64>,
    /// Failures counted so far in the bucket asked about.
    pub failures: i64,
}

/// The operations the throttles need; each is one or two round trips.
pub trait Counters: Send + Sync {
    /// Counts an entry at `now` (kept until `expires`) in `bucket`, unless the bucket holds
    /// `limit` entries newer than `since` already: then `Some(Full)` and nothing is counted.
    fn take(
        &self,
        bucket: &str,
        now: i64,
        since: i64,
        expires: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Option<Full>>> + Send;
    /// The latest of the two `locks` in force at `now`, and the entries of `failures` newer
    /// than `since`.
    fn state(
        &self,
        locks: [&str; 2],
        failures: &str,
        now: i64,
        since: i64,
    ) -> impl Future<Output = Result<LoginState>> + Send;
    /// Counts a failure at `now` (kept until `expires`) in each bucket; returns how many
    /// entries newer than `since` each holds then.
    fn fail(
        &self,
        buckets: [&str; 2],
        now: i64,
        since: i64,
        expires: i64,
    ) -> impl Future<Output = Result<[i64; 2]>> + Send;
    /// Sets a lock until `until` and empties the failure bucket that led to it.
    fn lock(
        &self,
        lock: &str,
        failures: &str,
        now: i64,
        until: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Empties a bucket.
    fn clear(&self, bucket: &str) -> impl Future<Output = Result<()>> + Send;
    /// Deletes the entries expired at `now`; returns how many.
    fn prune(&self, now: i64) -> impl Future<Output = Result<u64>> + Send;
}

// sqlx's SQLite binds `$n` by number, as Postgres does: one text serves both.
const TAKE: &str = "INSERT INTO login_throttle (bucket, at, expires_at) SELECT $1, $2, $3 \
     WHERE (SELECT count(*) FROM login_throttle WHERE bucket = $1 AND at > $4) < $5";
const FULL: &str = "SELECT count(*), min(at) FROM login_throttle WHERE bucket = $1 AND at > $2";
const STATE: &str = "SELECT max(CASE WHEN bucket <> $3 AND expires_at > $4 THEN expires_at END), \
     count(CASE WHEN bucket = $3 AND at > $5 THEN 1 END) \
     FROM login_throttle WHERE bucket IN ($1, $2, $3)";
const FAIL: &str = "INSERT INTO login_throttle (bucket, at, expires_at) VALUES ($1, $3, $4), ($2, $3, $4)";
const COUNT_TWO: &str = "SELECT count(CASE WHEN bucket = $1 THEN 1 END), count(CASE WHEN bucket = $2 THEN 1 END) \
     FROM login_throttle WHERE bucket IN ($1, $2) AND at > $3";
const CLEAR: &str = "DELETE FROM login_throttle WHERE bucket = $1";
const LOCK: &str = "INSERT INTO login_throttle (bucket, at, expires_at) VALUES ($1, $2, $3)";
/// One batch of expired counters, oldest first (off `login_throttle_expires_at`), from `$3`
/// on (see `delete_in_batches`); the table has no key, so rows are named by SQLite's rowid
/// and Postgres's ctid (a tid scan).
const PRUNE_SQLITE: &str = "DELETE FROM login_throttle WHERE rowid IN (SELECT rowid FROM login_throttle \
     WHERE expires_at >= $3 AND expires_at <= $1 ORDER BY expires_at LIMIT $2)";
const PRUNE_PG: &str = "WITH batch AS (SELECT ctid, expires_at FROM login_throttle \
     WHERE expires_at >= $3 AND expires_at <= $1 ORDER BY expires_at LIMIT $2), \
     gone AS (DELETE FROM login_throttle WHERE ctid = ANY (ARRAY (SELECT ctid FROM batch)) RETURNING 1) \
     SELECT (SELECT count(*) FROM gone), (SELECT max(expires_at) FROM batch)";
/// Counters pruned per statement by `Counters::prune`.
const PRUNE_BATCH: u64 = 10_000;

/// The login throttles' counters in the database, each call bounded by `database_timeout`;
/// reads of state from the read pool, everything else (the counts after a write included,
/// which must see it) from the write pool.
impl Counters for Database {
    async fn take(
        &self,
        bucket: &str,
        now: i64,
        since: i64,
        expires: i64,
        limit: i64,
    ) -> Result<Option<Full>> {
        on_pool!(self, write, |db| {
            let done = sqlx::query(TAKE)
                .bind(bucket)
                .bind(now)
                .bind(expires)
                .bind(since)
                .bind(limit)
                .execute(db)
                .await?;
            if done.rows_affected() == 1 {
                None
            } else {
                let (count, oldest): (i64, Option<i64>) = sqlx::query_as(FULL)
                    .bind(bucket)
                    .bind(since)
                    .fetch_one(db)
                    .await?;
                Some(Full {
                    count,
                    oldest: oldest.unwrap_or(now),
                })
            }
        })
        .await
    }

    async fn state(&self, locks: [&str; 2], failures: &str, now: i64, since: i64) -> Result<LoginState> {
        on_pool!(self, read, |db| {
            let (locked_until, failures) = sqlx::query_as(STATE)
                .bind(locks[0])
                .bind(locks[1])
                .bind(failures)
                .bind(now)
                .bind(since)
                .fetch_one(db)
                .await?;
            LoginState {
                locked_until,
                failures,
            }
        })
        .await
    }

    async fn fail(&self, buckets: [&str; 2], now: i64, since: i64, expires: i64) -> Result<[i64; 2]> {
        on_pool!(self, write, |db| {
            sqlx::query(FAIL)
                .bind(buckets[0])
                .bind(buckets[1])
                .bind(now)
                .bind(expires)
                .execute(db)
                .await?;
            let (a, b): (i64, i64) = sqlx::query_as(COUNT_TWO)
                .bind(buckets[0])
                .bind(buckets[1])
                .bind(since)
                .fetch_one(db)
                .await?;
            [a, b]
        })
        .await
    }

    async fn lock(&self, lock: &str, failures: &str, now: i64, until: i64) -> Result<()> {
        on_pool!(self, write, |db| {
            sqlx::query(CLEAR).bind(failures).execute(db).await?;
            sqlx::query(LOCK)
                .bind(lock)
                .bind(now)
                .bind(until)
                .execute(db)
                .await?;
        })
        .await
    }

    async fn clear(&self, bucket: &str) -> Result<()> {
        on_pool!(self, write, |db| {
            sqlx::query(CLEAR).bind(bucket).execute(db).await?;
        })
        .await
    }

    async fn prune(&self, now: i64) -> Result<u64> {
        Ok(self.prune_counters(now, PRUNE_BATCH).await?.rows)
    }
}

impl Database {
    /// Deletes the counters expired at `now`, `batch` per statement.
    pub async fn prune_counters(&self, now: i64, batch: u64) -> Result<Batched> {
        self.delete_in_batches(PRUNE_SQLITE, PRUNE_PG, now, i64::MIN, batch)
            .await
    }
}
