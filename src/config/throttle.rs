//! The login guards: DRF's throttle rate per client address, the failed-login lockout, and
//! where their counters are kept.

use std::net::IpAddr;

use serde::Deserialize;

use super::de::{count_or_empty, non_empty, string_or_list};
use super::{ConfigError, Duration, Secret};

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ThrottleSettings {
    /// Login attempts per client address, DRF's notation ("60/min"); empty: no limit.
    #[serde(rename = "throttle_login_rate", deserialize_with = "non_empty")]
    pub login_rate_text: Option<String>,
    /// `throttle_login_rate`, parsed when the settings are validated.
    #[serde(skip)]
    pub login_rate: Option<Rate>,
    /// Proxies whose X-Forwarded-For is believed: addresses or CIDR ranges.
    #[serde(rename = "trusted_proxies", deserialize_with = "string_or_list")]
    pub trusted_proxy_texts: Vec<String>,
    /// `trusted_proxies`, parsed when the settings are validated: network and prefix length.
    #[serde(skip)]
    pub trusted_proxies: Vec<(IpAddr, u8)>,
    /// Failed logins within `failed_login_window` that lock a username; empty or 0: never.
    #[serde(deserialize_with = "count_or_empty")]
    pub max_failed_logins: u32,
    pub failed_login_window: Duration,
    pub lockout_time: Duration,
    // (`max_failed_logins` counts per username and client address.)
    /// Failed logins of one username from all addresses together within
    /// `failed_login_window` that lock it for every address; empty or 0: no such ceiling.
    #[serde(deserialize_with = "count_or_empty")]
    pub max_failed_logins_per_username: u32,
    /// Where the login guards keep their counters: unset, the database; `redis://…`, Redis.
    #[serde(deserialize_with = "non_empty")]
    pub throttle_url: Option<Secret>,
}

/// DRF's throttle rate: so many requests per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: std::time::Duration,
}

const DEFAULT_LOGIN_RATE: &str = "60/min";

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            login_rate_text: Some(DEFAULT_LOGIN_RATE.into()),
            login_rate: parse_rate(DEFAULT_LOGIN_RATE).ok(),
            trusted_proxy_texts: Vec::new(),
            trusted_proxies: Vec::new(),
            max_failed_logins: 5,
            failed_login_window: Duration::secs(120),
            lockout_time: Duration::secs(300),
            max_failed_logins_per_username: 100,
            throttle_url: None,
        }
    }
}

impl ThrottleSettings {
    pub(super) fn validate(&mut self) -> Result<(), ConfigError> {
        self.login_rate = match &self.login_rate_text {
            Some(rate) => Some(parse_rate(rate).map_err(|e| ConfigError::key("throttle_login_rate", e))?),
            None => None,
        };
        self.trusted_proxies = self
            .trusted_proxy_texts
            .iter()
            .map(|proxy| {
                parse_cidr(proxy).ok_or_else(|| {
                    ConfigError::key(
                        "trusted_proxies",
                        format!("{proxy:?} is not an IP address or CIDR range"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        if self.max_failed_logins_per_username != 0
            && self.max_failed_logins_per_username < self.max_failed_logins
        {
            return Err(ConfigError::key(
                "max_failed_logins_per_username",
                "must be at least max_failed_logins (or 0): below it, one address could lock a username for everyone",
            ));
        }
        if let Some(url) = &self.throttle_url
            && let Err(e) = check_redis_url(url.expose())
        {
            return Err(ConfigError::key("throttle_url", e));
        }
        Ok(())
    }
}

/// Whether the URL names a Redis server this build can reach (no TLS).
fn check_redis_url(url: &str) -> Result<(), String> {
    if !["redis://", "redis+unix://", "unix://"]
        .iter()
        .any(|s| url.starts_with(s))
    {
        return Err(
            "must be a redis:// (or redis+unix://) URL; unset: the counters are kept in the database".into(),
        );
    }
    redis::Client::open(url)
        .map(drop)
        .map_err(|e| format!("not a usable Redis URL: {e}"))
}

/// DRF's throttle rate notation: `"<n>/<period>"`, the period's first letter naming it
/// (s, m, h, d), e.g. `"60/min"`, `"5/s"`, `"1000/day"`.
pub fn parse_rate(rate: &str) -> Result<Rate, String> {
    let bad = || format!("{rate:?} is not a rate such as \"60/min\" (per s, min, hour or day)");
    let (n, period) = rate.split_once('/').ok_or_else(bad)?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    let secs = match period.trim().chars().next().ok_or_else(bad)? {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(bad()),
    };
    if n == 0 {
        return Err(bad());
    }
    Ok(Rate {
        count: n,
        period: std::time::Duration::from_secs(secs),
    })
}

/// An address or CIDR range: the network and the prefix length.
pub fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (
            a.trim().parse::<IpAddr>().ok()?,
            Some(p.trim().parse::<u8>().ok()?),
        ),
        None => (text.trim().parse::<IpAddr>().ok()?, None),
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(max);
    (prefix <= max).then_some((addr, prefix))
}
