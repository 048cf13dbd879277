//! Two guards on the login endpoints, their counters kept where every instance sees them —
//! the database, or Redis with `throttle_url` (`crate::store::Counters`): a request rate per
//! client address (DRF's `SimpleRateThrottle`, answered with DRF's 429), and locks after
//! repeated failures (as django-axes and Keycloak's brute-force detection): of a username
//! from one client address after `max_failed_logins`, and of the username from every address
//! after `max_failed_logins_per_username` — so that one address cannot lock a user out of
//! theirs, and guesses spread over many addresses still meet a ceiling. A lock is answered
//! with the same 429, with the right password too, while it lasts.

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use actix_web::HttpRequest;

use super::ApiError;
use crate::config::ThrottleSettings;
use crate::store::{Counters, Database, Full, RedisCounters, now_micros};

/// How often an instance deletes the database's expired counter rows, beside the periodic
/// flush of expired tokens.
const PRUNE_EVERY: i64 = 60 * 1_000_000;

pub struct Throttle {
    rate: Option<(u32, Duration)>,
    trusted_proxies: Vec<(IpAddr, u8)>,
    max_failures: u32,
    max_failures_per_username: u32,
    window: Duration,
    lockout: Duration,
    /// `None`: the counters are in the database.
    redis: Option<RedisCounters>,
    next_prune: AtomicI64,
}

/// A login let through the lock check, to be recorded when its outcome is known.
pub struct Attempt {
    /// For the log line and the event of a lock.
    pub(super) username: String,
    address: String,
    /// Failures of this username from this address (`fail:<user>:<address>`).
    pair: String,
    /// Failures of this username from every address (`fail:<user>`).
    all: String,
    had_failures: bool,
}

/// Runs a `Counters` call on Redis or on the database.
macro_rules! counters {
    ($self:ident, $store:expr, $c:ident => $call:expr) => {
        match &$self.redis {
            Some($c) => $call.await,
            None => {
                let $c = $store;
                $call.await
            }
        }
    };
}

impl Throttle {
    /// `database_timeout` also bounds each call to Redis.
    pub fn new(s: &ThrottleSettings, database_timeout: Duration) -> Throttle {
        Throttle {
            rate: s.login_rate.map(|r| (r.count, r.period)),
            trusted_proxies: s.trusted_proxies.clone(),
            max_failures: s.max_failed_logins,
            max_failures_per_username: s.max_failed_logins_per_username,
            window: s.failed_login_window.0,
            lockout: s.lockout_time.0,
            redis: s.throttle_url.as_ref().map(|url| {
                RedisCounters::new(url.expose(), database_timeout)
                    .expect("throttle_url is checked at start-up")
            }),
            next_prune: AtomicI64::new(0),
        }
    }

    /// The client's address: the peer's, or — when the peer is a trusted proxy — the last
    /// address in `X-Forwarded-For` that is not a trusted proxy.
    pub fn client_address(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        Some(
            forwarded
                .iter()
                .rev()
                .find(|a| !self.is_trusted(**a))
                .or(forwarded.first())
                .copied()
                .unwrap_or(peer),
        )
    }

    pub(super) fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|(net, prefix)| in_network(ip, *net, *prefix))
    }

    /// DRF's `allow_request` for the address: `Throttled` when it used up its rate.
    /// Refused requests are not counted, as in DRF.
    pub async fn check_address(&self, store: &Database, ip: IpAddr) -> Result<(), ApiError> {
        let Some((limit, duration)) = self.rate else {
            return Ok(());
        };
        let now = now_micros();
        self.prune_now_and_then(store, now).await;
        let span = micros(duration);
        let bucket = format!("rate:{ip}");
        let full =
            counters!(self, store, c => c.take(&bucket, now, now - span, now + span, i64::from(limit)))?;
        match full {
            None => Ok(()),
            Some(Full { count, oldest }) => {
                // DRF's wait(): the time left for the oldest request, spread over the
                // requests still available.
                let remaining = (span - (now - oldest)).max(0) as f64 / 1e6;
                let available = i64::from(limit) - count + 1;
                Err(ApiError::Throttled(if available > 0 {
                    remaining / available as f64
                } else {
                    remaining
                }))
            }
        }
    }

    /// `Throttled` while the username is locked, for this address or for all; `None` when
    /// the locks are off.
    pub async fn check_login(
        &self,
        store: &Database,
        username: &str,
        ip: Option<IpAddr>,
    ) -> Result<Option<Attempt>, ApiError> {
        if self.max_failures == 0 {
            return Ok(None);
        }
        let user = username_key(username);
        let address = ip.map_or_else(|| "-".to_string(), |ip| ip.to_string());
        let pair = format!("{user}:{address}");
        let now = now_micros();
        let since = now - micros(self.window);
        let locks = [format!("lock:{pair}"), format!("lock:{user}")];
        let pair = format!("fail:{pair}");
        let state = counters!(self, store, c => c.state([&locks[0], &locks[1]], &pair, now, since))?;
        if let Some(until) = state.locked_until.filter(|until| *until > now) {
            return Err(ApiError::Throttled((until - now) as f64 / 1e6));
        }
        Ok(Some(Attempt {
            username: username.to_string(),
            address,
            pair,
            all: format!("fail:{user}"),
            had_failures: state.failures > 0,
        }))
    }

    /// A failed login: `max_failed_logins` from one address within `failed_login_window`
    /// lock the username for that address, `max_failed_logins_per_username` from all
    /// addresses lock it for all. Returns whether this failure locked it.
    pub async fn record_failure(&self, store: &Database, attempt: &Attempt) -> Result<bool, ApiError> {
        let now = now_micros();
        let window = micros(self.window);
        let until = now + micros(self.lockout);
        let [pair, all] = counters!(self, store, c => c.fail([&attempt.pair, &attempt.all], now, now - window, now + window))?;
        let lock = |failures: &str| format!("lock:{}", failures.trim_start_matches("fail:"));
        let mut locked = false;
        if pair >= i64::from(self.max_failures) {
            locked = true;
            counters!(self, store, c => c.lock(&lock(&attempt.pair), &attempt.pair, now, until))?;
            tracing::warn!(
                username = %attempt.username,
                address = %attempt.address,
                failures = self.max_failures,
                lockout_seconds = self.lockout.as_secs(),
                "username locked for one client address after repeated failed logins"
            );
        }
        if self.max_failures_per_username > 0 && all >= i64::from(self.max_failures_per_username) {
            locked = true;
            counters!(self, store, c => c.lock(&lock(&attempt.all), &attempt.all, now, until))?;
            tracing::warn!(
                username = %attempt.username,
                failures = self.max_failures_per_username,
                lockout_seconds = self.lockout.as_secs(),
                "username locked for every client address after repeated failed logins"
            );
        }
        Ok(locked)
    }

    /// A successful login clears the failures its address counted so far (those counted
    /// towards the username's ceiling stay until they expire).
    pub async fn record_success(&self, store: &Database, attempt: &Attempt) {
        if !attempt.had_failures {
            return;
        }
        if let Err(e) = counters!(self, store, c => c.clear(&attempt.pair)) {
            tracing::warn!(error = %e, "could not clear the failed logins of a successful login");
        }
    }

    /// Deletes the expired counter rows about once a minute per instance.
    async fn prune_now_and_then(&self, store: &Database, now: i64) {
        let due = self.next_prune.load(Ordering::Relaxed);
        if self.redis.is_some()
            || now < due
            || self
                .next_prune
                .compare_exchange(due, now + PRUNE_EVERY, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        if let Err(e) = store.prune(now).await {
            tracing::warn!(error = %e, "could not delete expired login throttle counters");
        }
    }
}

/// Usernames are counted by hash: any length fits the index, and a password typed into the
/// username field is not kept in clear.
fn username_key(username: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, username.as_bytes());
    hex::encode(&digest.as_ref()[..16])
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX / 4)
}

fn in_network(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V4(_)) => a
            .to_ipv4_mapped()
            .is_some_and(|a| in_network(IpAddr::V4(a), net, prefix)),
        _ => false,
    }
}

/// DRF's `Throttled` message.
pub fn throttled_detail(wait: f64) -> (u64, String) {
    let wait = wait.ceil().max(0.0) as u64;
    let unit = if wait == 1 { "second" } else { "seconds" };
    (
        wait,
        format!("Request was throttled. Expected available in {wait} {unit}."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match() {
        let v4 = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_network(v4("10.1.2.3"), v4("10.0.0.0"), 8));
        assert!(!in_network(v4("11.1.2.3"), v4("10.0.0.0"), 8));
        assert!(in_network(v4("::ffff:10.1.2.3"), v4("10.0.0.0"), 8));
        assert!(in_network(v4("fd00::1"), v4("fd00::"), 8));
        assert!(in_network(v4("192.168.1.1"), v4("192.168.1.1"), 32));
    }

    #[test]
    fn drf_message() {
        assert_eq!(
            throttled_detail(0.2).1,
            "Request was throttled. Expected available in 1 second."
        );
        assert_eq!(
            throttled_detail(59.1).1,
            "Request was throttled. Expected available in 60 seconds."
        );
    }

    /// A fresh SQLite database in a temporary file.
    async fn database() -> (Database, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!("jwtd-throttle-{}.db", uuid::Uuid::new_v4().simple()));
        let store = Database::connect(
            &format!("sqlite://{}", path.display()),
            &crate::store::ConnectOptions::default(),
        )
        .await
        .unwrap();
        store.migrate().await.unwrap();
        (store, path)
    }

    #[tokio::test]
    async fn rate_limits_per_address_and_refusals_do_not_count() {
        let (store, path) = database().await;
        let s = ThrottleSettings {
            login_rate: Some(crate::config::parse_rate("3/min").unwrap()),
            ..ThrottleSettings::default()
        };
        let t = Throttle::new(&s, Duration::from_secs(5));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(t.check_address(&store, ip).await.is_ok());
        }
        for _ in 0..3 {
            let Err(ApiError::Throttled(wait)) = t.check_address(&store, ip).await else {
                panic!("not throttled");
            };
            assert!(wait > 59.0 && wait <= 60.0, "{wait}");
        }
        assert!(
            t.check_address(&store, "192.0.2.2".parse().unwrap())
                .await
                .is_ok()
        );
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn usernames_lock_per_address_under_a_ceiling_for_all() {
        let (store, path) = database().await;
        let s = ThrottleSettings {
            max_failed_logins: 2,
            max_failed_logins_per_username: 3,
            ..ThrottleSettings::default()
        };
        let t = Throttle::new(&s, Duration::from_secs(5));
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
            "192.0.2.3".parse().unwrap(),
        );
        let fail = async |ip| {
            let attempt = t.check_login(&store, "alice", Some(ip)).await.unwrap().unwrap();
            t.record_failure(&store, &attempt).await.unwrap();
        };
        fail(a).await;
        assert!(t.check_login(&store, "alice", Some(a)).await.is_ok());
        fail(a).await;
        let Err(ApiError::Throttled(wait)) = t.check_login(&store, "alice", Some(a)).await else {
            panic!("not locked");
        };
        assert!(wait > 290.0 && wait <= 300.0, "{wait}");
        // Locked for that address only, and for that username only.
        assert!(t.check_login(&store, "alice", Some(b)).await.is_ok());
        assert!(t.check_login(&store, "bob", Some(a)).await.is_ok());
        // The third failure from anywhere reaches the ceiling: locked for every address.
        fail(b).await;
        assert!(t.check_login(&store, "alice", Some(c)).await.is_err());
        assert!(t.check_login(&store, "bob", Some(c)).await.is_ok());
        let _ = std::fs::remove_file(path);
    }
}
