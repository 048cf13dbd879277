//! The two metrics every request updates — requests by route, method and status, and the
//! latency histogram by route — kept per worker thread and summed when `/metrics` is read.
//! Shared counters (prometheus-client's families take a lock and hash the labels; its
//! histogram takes a write lock) would bounce their cache lines between the workers' cores
//! on every request.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, NoLabelSet};
use prometheus_client::metrics::MetricType;

/// Upper bounds of the latency buckets: 0.1 ms doubling 18 times (to ~13 s), then +Inf —
/// the values of prometheus-client's `exponential_buckets(0.0001, 2.0, 18)`.
const BUCKETS: usize = 18;
const UPPER_BOUNDS: [f64; BUCKETS + 1] = {
    let mut bounds = [f64::MAX; BUCKETS + 1];
    let (mut i, mut bound) = (0, 0.000_1);
    while i < BUCKETS {
        bounds[i] = bound;
        bound *= 2.0;
        i += 1;
    }
    bounds
};

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: &'static str,
}

#[derive(Clone, Copy, Default)]
struct Latency {
    buckets: [u64; BUCKETS + 1],
    count: u64,
    sum: f64,
}

impl Latency {
    fn observe(&mut self, seconds: f64) {
        let i = UPPER_BOUNDS.iter().position(|&b| seconds <= b).unwrap_or(BUCKETS);
        self.buckets[i] += 1;
        self.count += 1;
        self.sum += seconds;
    }

    fn add(&mut self, other: &Latency) {
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            *mine += theirs;
        }
        self.count += other.count;
        self.sum += other.sum;
    }
}

/// One thread's counts (or the sums of all). A handful of routes and statuses: vectors
/// searched in order.
#[derive(Default)]
struct Shard {
    requests: Vec<(RequestLabels, u64)>,
    latency: Vec<(&'static str, Latency)>,
}

type Shards = Mutex<Vec<Arc<Mutex<Shard>>>>;

/// Every instance has an id, so that a thread serving several (tests run many servers in
/// one process) keeps one shard for each.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static MINE: RefCell<Vec<(u64, Arc<Mutex<Shard>>)>> = const { RefCell::new(Vec::new()) };
}

/// The counts of one server, for the handlers to update and the registry to read.
#[derive(Clone)]
pub struct RequestCounts {
    id: u64,
    shards: Arc<Shards>,
}

impl RequestCounts {
    pub fn new() -> RequestCounts {
        RequestCounts {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            shards: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn record(&self, route: &'static str, method: &'static str, status: u16, seconds: f64) {
        MINE.with(|mine| {
            let mut mine = mine.borrow_mut();
            let i = match mine.iter().position(|(id, _)| *id == self.id) {
                Some(i) => i,
                None => {
                    let shard = Arc::new(Mutex::new(Shard::default()));
                    self.shards.lock().expect("shards lock").push(shard.clone());
                    mine.push((self.id, shard));
                    mine.len() - 1
                }
            };
            // Only this thread and a scrape ever take this lock: it stays in this core's cache.
            let mut shard = mine[i].1.lock().expect("shard lock");
            let labels = RequestLabels {
                route,
                method,
                status,
            };
            match shard.requests.iter_mut().find(|(l, _)| *l == labels) {
                Some((_, n)) => *n += 1,
                None => shard.requests.push((labels, 1)),
            }
            match shard.latency.iter_mut().find(|(r, _)| *r == route) {
                Some((_, l)) => l.observe(seconds),
                None => {
                    let mut l = Latency::default();
                    l.observe(seconds);
                    shard.latency.push((route, l));
                }
            }
        });
    }

    /// The sums over every thread.
    fn totals(&self) -> Shard {
        let mut totals = Shard::default();
        let Shard { requests, latency } = &mut totals;
        for shard in self.shards.lock().expect("shards lock").iter() {
            let shard = shard.lock().expect("shard lock");
            for (labels, n) in &shard.requests {
                match requests.iter_mut().find(|(l, _)| l == labels) {
                    Some((_, total)) => *total += n,
                    None => requests.push((*labels, *n)),
                }
            }
            for (route, l) in &shard.latency {
                match latency.iter_mut().find(|(r, _)| r == route) {
                    Some((_, total)) => total.add(l),
                    None => latency.push((route, *l)),
                }
            }
        }
        totals
    }
}

impl std::fmt::Debug for RequestCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestCounts").field("id", &self.id).finish()
    }
}

impl Collector for RequestCounts {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Shard { requests, latency } = self.totals();
        let mut family = encoder.encode_descriptor(
            "http_requests",
            "HTTP requests by route, method and status",
            None,
            MetricType::Counter,
        )?;
        for (labels, n) in &requests {
            family
                .encode_family(labels)?
                .encode_counter::<NoLabelSet, _, u64>(n, None)?;
        }
        let mut family = encoder.encode_descriptor(
            "http_request_duration_seconds",
            "Time to answer, by route",
            None,
            MetricType::Histogram,
        )?;
        for (route, l) in &latency {
            let buckets: Vec<(f64, u64)> = UPPER_BOUNDS.iter().copied().zip(l.buckets).collect();
            family
                .encode_family(&RouteLabel { route })?
                .encode_histogram::<NoLabelSet>(l.sum, l.count, &buckets, None)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_several_threads_are_summed() {
        let counts = RequestCounts::new();
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    counts.record("/api/me/", "GET", 200, 0.000_05);
                    counts.record("/api/me/", "GET", 200, 0.3);
                    counts.record("/api/me/", "GET", 401, 20.0);
                });
            }
        });
        let Shard { requests, latency } = counts.totals();
        let n = |status| requests.iter().find(|(l, _)| l.status == status).map(|(_, n)| *n);
        assert_eq!((n(200), n(401)), (Some(6), Some(3)));
        let (_, l) = latency[0];
        assert_eq!(l.count, 9);
        assert_eq!(l.buckets[0], 3, "0.05 ms falls in the first bucket");
        assert_eq!(l.buckets[BUCKETS], 3, "20 s only in +Inf");
        assert_eq!(l.buckets.iter().sum::<u64>(), 9);
    }
}
