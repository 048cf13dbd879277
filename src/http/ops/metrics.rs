//! Prometheus metrics at `/metrics`: requests by route and status, latency by route, tokens
//! issued, token refusals by code, blacklist hits, password-hash time, the database pool.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::request_counts::RequestCounts;
use crate::store::Database;
use crate::tokens::AuthError;
use crate::tokens::audit::AuditCounts;
use crate::tokens::error::Kind;
use crate::tokens::housekeeping::FlushStats;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeLabel {
    r#type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    route: &'static str,
    code: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabel {
    state: &'static str,
}

pub struct Metrics {
    registry: Registry,
    requests: RequestCounts,
    issued: Family<TypeLabel, Counter>,
    failures: Family<FailureLabels, Counter>,
    blacklist_hits: Counter,
    pool: Family<PoolLabel, Gauge>,
    db_queries: Counter,
    db_pings: Counter,
    audit_events: Family<TypeLabel, Counter>,
    flush_deleted: Family<KindLabel, Counter>,
    flush_runs: Counter,
    flush_skipped: Counter,
    resident_memory: Gauge,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

impl Metrics {
    /// `password_hash`: the hasher's own timing histogram, registered here; so is the
    /// periodic flush's `flush_duration`.
    pub fn new(password_hash: Histogram, flush_duration: Histogram) -> Metrics {
        let mut registry = Registry::with_prefix("jwtd");
        let requests = RequestCounts::new();
        registry.register_collector(Box::new(requests.clone()));
        let issued = Family::<TypeLabel, Counter>::default();
        registry.register("tokens_issued", "Tokens issued, by token type", issued.clone());
        let failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "token_failures",
            "Refused tokens and credentials, by route, Simple JWT's code and the reason",
            failures.clone(),
        );
        let blacklist_hits = Counter::default();
        registry.register(
            "blacklist_hits",
            "Requests refused because a token is blacklisted",
            blacklist_hits.clone(),
        );
        registry.register(
            "password_hash_duration_seconds",
            "Time of one argon2 hash or check",
            password_hash,
        );
        let pool = Family::<PoolLabel, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections by state",
            pool.clone(),
        );
        let db_queries = Counter::default();
        registry.register(
            "db_queries",
            "Database statements run (each one round trip)",
            db_queries.clone(),
        );
        let db_pings = Counter::default();
        registry.register(
            "db_pings",
            "Connection checks by the pool (each one round trip): one per release, one per use after 10 s idle",
            db_pings.clone(),
        );
        let audit_events = Family::<TypeLabel, Counter>::default();
        registry.register(
            "audit_events",
            "Security events written to the audit trail, by type",
            audit_events.clone(),
        );
        let flush_deleted = Family::<KindLabel, Counter>::default();
        registry.register(
            "flush_deleted",
            "Rows the periodic flush deleted, by kind",
            flush_deleted.clone(),
        );
        let flush_runs = Counter::default();
        registry.register(
            "flush_runs",
            "Periodic flushes this instance ran",
            flush_runs.clone(),
        );
        let flush_skipped = Counter::default();
        registry.register(
            "flush_skipped",
            "Periodic flushes skipped because another instance holds the housekeeping lock",
            flush_skipped.clone(),
        );
        registry.register(
            "flush_duration_seconds",
            "Time of one periodic flush, every kind and batch",
            flush_duration,
        );
        let resident_memory = Gauge::default();
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory of the process",
            resident_memory.clone(),
        );
        Metrics {
            registry,
            requests,
            issued,
            failures,
            blacklist_hits,
            pool,
            db_queries,
            db_pings,
            audit_events,
            flush_deleted,
            flush_runs,
            flush_skipped,
            resident_memory,
        }
    }

    pub fn request(&self, route: &'static str, method: &'static str, status: u16, seconds: f64) {
        self.requests.record(route, method, status, seconds);
    }

    pub fn issued(&self, issued: Issued) {
        for (kind, n) in [
            ("access", issued.access),
            ("refresh", issued.refresh),
            ("sliding", issued.sliding),
        ] {
            if n > 0 {
                self.issued.get_or_create(&TypeLabel { r#type: kind }).inc_by(n);
            }
        }
    }

    /// A refusal on `route`.
    pub fn failure(&self, route: &'static str, failure: Failure) {
        let Failure {
            code,
            reason,
            blacklisted,
        } = failure;
        self.failures
            .get_or_create(&FailureLabels { route, code, reason })
            .inc();
        if blacklisted {
            self.blacklist_hits.inc();
        }
    }

    /// The text exposition, with the gauges read now.
    pub fn render(&self, store: &Database, audit: &AuditCounts, flush: &FlushStats) -> String {
        let pool = store.pool_state();
        self.pool
            .get_or_create(&PoolLabel { state: "idle" })
            .set(i64::from(pool.idle));
        self.pool
            .get_or_create(&PoolLabel { state: "in_use" })
            .set(i64::from(pool.size.saturating_sub(pool.idle)));
        self.pool
            .get_or_create(&PoolLabel { state: "max" })
            .set(i64::from(pool.max));
        let counted = self.db_queries.get();
        self.db_queries.inc_by(store.queries().saturating_sub(counted));
        let counted = self.db_pings.get();
        self.db_pings.inc_by(store.pings().saturating_sub(counted));
        // Counted by the rules once the store wrote them (see `tokens::audit::written`).
        for (kind, n) in audit.each() {
            let counter = self.audit_events.get_or_create(&TypeLabel {
                r#type: kind.as_str(),
            });
            counter.inc_by(n.saturating_sub(counter.get()));
        }
        for (kind, n) in flush.deleted() {
            let counter = self.flush_deleted.get_or_create(&KindLabel { kind });
            counter.inc_by(n.saturating_sub(counter.get()));
        }
        for (counter, n) in [
            (&self.flush_runs, &flush.runs),
            (&self.flush_skipped, &flush.skipped),
        ] {
            counter.inc_by(
                n.load(std::sync::atomic::Ordering::Relaxed)
                    .saturating_sub(counter.get()),
            );
        }
        if let Some(rss) = resident_memory_bytes() {
            self.resident_memory.set(rss as i64);
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String works");
        text
    }
}

/// What a refusal counts as: Simple JWT's code, the reason, and whether a blacklisted token
/// caused it. Put in the response's extensions by the error mapping, counted by the request
/// middleware, which knows the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub code: &'static str,
    pub reason: &'static str,
    pub blacklisted: bool,
}

impl Failure {
    /// A drf-jwt refusal: drf-jwt has no codes, so `code` says where it happened.
    pub fn drf_jwt(code: &'static str, reason: &'static str, blacklisted: bool) -> Failure {
        Failure {
            code,
            reason,
            blacklisted,
        }
    }

    /// A refusal of the rules, as they answer it; failures of the server are not refusals.
    pub fn of(error: &AuthError) -> Option<Failure> {
        let answer = error.answer();
        match answer.kind {
            Kind::Unavailable | Kind::ServerError => None,
            Kind::DetailCode | Kind::Detail | Kind::Validation => Some(Failure {
                code: answer.code,
                reason: answer.reason,
                blacklisted: answer.blacklisted,
            }),
        }
    }
}

/// Tokens a response issued, for the `tokens_issued` counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Issued {
    pub access: u64,
    pub refresh: u64,
    pub sliding: u64,
}

/// Resident set size from /proc (Linux); `None` elsewhere.
pub fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
