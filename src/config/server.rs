//! The HTTP server: where it listens and what it answers as, its limits, its logs and
//! metrics.

use serde::Deserialize;

use super::de::{is_http_url, non_empty};
use super::{ConfigError, Duration};

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    pub bind: String,
    pub log_format: LogFormat,
    /// HTTP worker threads; 0 means one per CPU.
    pub workers: usize,
    /// The public base URL of this service, for absolute URLs in the discovery documents.
    #[serde(deserialize_with = "non_empty")]
    pub public_url: Option<String>,
    /// `Cache-Control: max-age` of the JWKS and discovery documents.
    pub well_known_max_age: Duration,
    /// Request bodies larger than this get 413.
    pub max_body_size: usize,
    /// A client must send its request (head and body) within this time.
    pub client_timeout: Duration,
    /// How long SIGTERM waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// Serve Prometheus metrics at /metrics.
    pub metrics: bool,
    /// Serve them on another address instead of `bind` (HOST:PORT); empty: on `bind`.
    #[serde(deserialize_with = "non_empty")]
    pub metrics_bind: Option<String>,
    /// Serve the API page (Swagger UI over `/api/schema/`) at /api/docs/.
    pub api_docs: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            bind: "127.0.0.1:8000".into(),
            log_format: LogFormat::Text,
            workers: 0,
            public_url: None,
            well_known_max_age: Duration::secs(300),
            max_body_size: 16 * 1024,
            client_timeout: Duration::secs(10),
            shutdown_timeout: Duration::secs(30),
            metrics: true,
            metrics_bind: None,
            api_docs: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl ServerSettings {
    /// Also run after `jwtd serve --bind` replaces `bind`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_body_size < 1024 {
            return Err(ConfigError::key("max_body_size", "must be at least 1024 bytes"));
        }
        if let Some(bind) = &self.metrics_bind {
            check_bind("metrics_bind", bind)?;
        }
        if let Some(url) = &self.public_url
            && !is_http_url(url)
        {
            return Err(ConfigError::key(
                "public_url",
                format!("{url:?} is not an http(s) URL"),
            ));
        }
        check_bind("bind", &self.bind)
    }

    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

/// An address to listen on: `HOST:PORT`, the host an IP address (IPv6 in brackets) or a
/// name, checked here so that `:8000` stops start-up naming the setting rather than failing
/// to resolve when the server binds.
fn check_bind(key: &str, bind: &str) -> Result<(), ConfigError> {
    if bind.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(());
    }
    let refused = |why: &str| {
        ConfigError::key(
            key,
            format!(
                "{bind:?} is not HOST:PORT{why} (e.g. 127.0.0.1:8000, 0.0.0.0:8000 for every interface, [::1]:8000)"
            ),
        )
    };
    let Some((host, port)) = bind.rsplit_once(':') else {
        return Err(refused(""));
    };
    if port.parse::<u16>().is_err() {
        return Err(refused(": the port is not a number from 0 to 65535"));
    }
    if host.is_empty() {
        return Err(refused(": the host is missing"));
    }
    let is_name = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    if !is_name {
        return Err(refused(": the host is neither an IP address nor a host name"));
    }
    Ok(())
}
