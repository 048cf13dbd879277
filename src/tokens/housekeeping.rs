//! Housekeeping: what `jwtd token flush-expired` and the server's `flush_expired_interval`
//! delete — expired outstanding tokens with their blacklist rows (Simple JWT's
//! `flushexpiredtokens`), the sessions they leave ended, security events past
//! `audit_retention` and the login throttles' expired counters — each in batches of
//! `flush_batch_size` rows, one short transaction per batch, so that a large backlog never
//! holds a lock that logins and refreshes wait on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

use super::state::{State, events_kept_since};
use crate::config::Settings;
use crate::store::{Database, StoreError};

/// What one flush deleted, by kind, and how long it took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    pub tokens: u64,
    /// Blacklist rows of the deleted tokens.
    pub blacklisted: u64,
    pub sessions: u64,
    pub events: u64,
    pub throttle_counters: u64,
    /// Transactions (batches) it took, all kinds together.
    pub batches: u64,
    pub elapsed: Duration,
}

impl Flushed {
    /// Each kind with its count, as the metrics label them.
    pub fn each(&self) -> [(&'static str, u64); 5] {
        [
            ("tokens", self.tokens),
            ("blacklisted", self.blacklisted),
            ("sessions", self.sessions),
            ("events", self.events),
            ("throttle_counters", self.throttle_counters),
        ]
    }

    /// The one log line of a flush.
    pub fn log(&self) {
        tracing::info!(
            tokens = self.tokens,
            blacklisted = self.blacklisted,
            sessions = self.sessions,
            events = self.events,
            throttle_counters = self.throttle_counters,
            batches = self.batches,
            elapsed_ms = self.elapsed.as_millis() as u64,
            "flushed expired rows"
        );
    }
}

/// Deletes everything expired at this moment, kind after kind, in batches.
pub async fn flush(store: &Database, settings: &Settings) -> Result<Flushed, StoreError> {
    let started = Instant::now();
    let batch = settings.tokens.flush_batch_size;
    let now = crate::store::now();
    let tokens = store.flush_expired(now, batch).await?;
    let sessions = store.flush_ended_sessions(now, batch).await?;
    let events = store.prune_events(events_kept_since(settings), batch).await?;
    let counters = store.prune_counters(crate::store::now_micros(), batch).await?;
    Ok(Flushed {
        tokens: tokens.tokens.rows,
        blacklisted: tokens.blacklisted,
        sessions: sessions.rows,
        events: events.rows,
        throttle_counters: counters.rows,
        batches: tokens.tokens.batches + sessions.batches + events.batches + counters.batches,
        elapsed: started.elapsed(),
    })
}

/// The periodic flush's counts since start, for the metrics.
pub struct FlushStats {
    deleted: [AtomicU64; 5],
    /// Flushes this instance ran.
    pub runs: AtomicU64,
    /// Turns skipped because another instance holds the housekeeping lock.
    pub skipped: AtomicU64,
    duration: Histogram,
}

impl Default for FlushStats {
    fn default() -> Self {
        FlushStats {
            deleted: Default::default(),
            runs: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            duration: Histogram::new(exponential_buckets(0.01, 2.0, 14)),
        }
    }
}

impl FlushStats {
    fn record(&self, flushed: &Flushed) {
        for (slot, (_, n)) in self.deleted.iter().zip(flushed.each()) {
            slot.fetch_add(n, Ordering::Relaxed);
        }
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.duration.observe(flushed.elapsed.as_secs_f64());
    }

    /// Rows deleted since start, by kind.
    pub fn deleted(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        let kinds = Flushed::default().each().map(|(kind, _)| kind);
        kinds
            .into_iter()
            .zip(&self.deleted)
            .map(|(kind, n)| (kind, n.load(Ordering::Relaxed)))
    }

    /// The flushes' durations (`jwtd_flush_duration_seconds`), registered by the metrics.
    pub fn duration(&self) -> Histogram {
        self.duration.clone()
    }
}

impl State {
    /// `flush_expired_interval`: in the server, what `jwtd token flush-expired` does, by
    /// the one instance that holds the housekeeping lock (see `store::lease`).
    pub async fn flush_expired_periodically(&self, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.flush_once().await;
        }
    }

    /// One turn of the periodic flush: runs it if this instance leads; returns what it
    /// deleted, `None` when it did not run.
    pub async fn flush_once(&self) -> Option<Flushed> {
        match self.store.lead_housekeeping().await {
            Ok(true) => {}
            Ok(false) => {
                self.flush_stats.skipped.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("another instance holds the housekeeping lock: no flush here");
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not take the housekeeping lock");
                return None;
            }
        }
        match flush(&self.store, &self.settings).await {
            Ok(flushed) => {
                flushed.log();
                self.flush_stats.record(&flushed);
                Some(flushed)
            }
            Err(e) => {
                tracing::warn!(error = %e, "flushing expired rows failed");
                None
            }
        }
    }
}
