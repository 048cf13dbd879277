//! Two guards on the login endpoints, kept in this instance's memory: a request rate per
//! client address (DRF's `SimpleRateThrottle`, answered with DRF's 429), and a lock on a
//! username after repeated failures (as Authelia's regulation and Keycloak's brute-force
//! detection), answered the same way — with the right password too, while it lasts.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::HttpRequest;

use crate::config::{Settings, parse_cidr, parse_rate};

/// Entries kept before stale ones are swept out, so that address or username spraying
/// cannot grow memory without bound.
const SWEEP_AT: usize = 10_000;

pub struct Throttle {
    rate: Option<(u32, Duration)>,
    trusted_proxies: Vec<(IpAddr, u8)>,
    by_address: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
    max_failures: u32,
    window: Duration,
    lockout: Duration,
    by_username: Mutex<HashMap<String, Failures>>,
}

#[derive(Default)]
struct Failures {
    at: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

impl Throttle {
    pub fn new(s: &Settings) -> Throttle {
        Throttle {
            rate: s.throttle_login_rate.as_deref().and_then(|r| parse_rate(r).ok()),
            trusted_proxies: s.trusted_proxies.iter().filter_map(|p| parse_cidr(p)).collect(),
            by_address: Mutex::new(HashMap::new()),
            max_failures: s.max_failed_logins,
            window: s.failed_login_window.0,
            lockout: s.lockout_time.0,
            by_username: Mutex::new(HashMap::new()),
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

    /// DRF's `allow_request`: `Err(seconds to wait)` when the address used up its rate.
    /// Refused requests are not counted, as in DRF.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), f64> {
        let Some((limit, duration)) = self.rate else {
            return Ok(());
        };
        let now = Instant::now();
        let mut map = self.by_address.lock().expect("throttle lock");
        if map.len() >= SWEEP_AT {
            map.retain(|_, h| h.front().is_some_and(|t| now.duration_since(*t) < duration));
        }
        let history = map.entry(ip).or_default();
        while history.back().is_some_and(|t| now.duration_since(*t) >= duration) {
            history.pop_back();
        }
        if history.len() >= limit as usize {
            // DRF's wait(): the time left for the oldest request, spread over the requests
            // still available.
            let oldest = *history.back().expect("a full history is not empty");
            let remaining = duration.saturating_sub(now.duration_since(oldest)).as_secs_f64();
            let available = limit as i64 - history.len() as i64 + 1;
            return Err(if available > 0 {
                remaining / available as f64
            } else {
                remaining
            });
        }
        history.push_front(now);
        Ok(())
    }

    /// `Err(seconds to wait)` while the username is locked.
    pub fn check_username(&self, username: &str) -> Result<(), f64> {
        if self.max_failures == 0 {
            return Ok(());
        }
        let map = self.by_username.lock().expect("throttle lock");
        match map.get(username).and_then(|f| f.locked_until) {
            Some(until) if until > Instant::now() => Err((until - Instant::now()).as_secs_f64()),
            _ => Ok(()),
        }
    }

    /// A failed login: `max_failed_logins` within `failed_login_window` lock the username.
    pub fn record_failure(&self, username: &str) {
        if self.max_failures == 0 {
            return;
        }
        let now = Instant::now();
        let mut map = self.by_username.lock().expect("throttle lock");
        if map.len() >= SWEEP_AT {
            let (window, lockout) = (self.window, self.lockout);
            map.retain(|_, f| {
                f.locked_until.is_some_and(|u| u > now)
                    || f.at
                        .front()
                        .is_some_and(|t| now.duration_since(*t) < window.max(lockout))
            });
        }
        let failures = map.entry(username.to_string()).or_default();
        failures.at.push_front(now);
        while failures
            .at
            .back()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            failures.at.pop_back();
        }
        if failures.at.len() >= self.max_failures as usize {
            failures.locked_until = Some(now + self.lockout);
            failures.at.clear();
            tracing::warn!(
                username,
                failures = self.max_failures,
                lockout_seconds = self.lockout.as_secs(),
                "username locked after repeated failed logins"
            );
        }
    }

    /// A successful login clears the failures counted so far.
    pub fn record_success(&self, username: &str) {
        if self.max_failures > 0 {
            self.by_username.lock().expect("throttle lock").remove(username);
        }
    }
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

    #[test]
    fn rate_limits_per_address_and_refusals_do_not_count() {
        let s = Settings {
            throttle_login_rate: Some("3/min".into()),
            ..Settings::default()
        };
        let t = Throttle::new(&s);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(t.check_address(ip).is_ok());
        }
        let wait = t.check_address(ip).unwrap_err();
        assert!(wait > 0.0 && wait <= 60.0, "{wait}");
        assert!(t.check_address("192.0.2.2".parse().unwrap()).is_ok());
    }

    #[test]
    fn usernames_lock_after_failures() {
        let s = Settings {
            max_failed_logins: 2,
            ..Settings::default()
        };
        let t = Throttle::new(&s);
        t.record_failure("alice");
        assert!(t.check_username("alice").is_ok());
        t.record_failure("alice");
        let wait = t.check_username("alice").unwrap_err();
        assert!(wait > 290.0 && wait <= 300.0);
        assert!(t.check_username("bob").is_ok());
    }
}
