//! CORS for browser frontends, and origins written as browsers send them.

use serde::Deserialize;

use super::de::string_or_list;
use super::{ConfigError, Duration};

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CorsSettings {
    /// Origins allowed to call from browsers (CORS); empty: no CORS headers; "*": any.
    #[serde(deserialize_with = "string_or_list")]
    pub cors_allowed_origins: Vec<String>,
    pub cors_allow_credentials: bool,
    pub cors_max_age: Duration,
}

impl Default for CorsSettings {
    fn default() -> Self {
        CorsSettings {
            cors_allowed_origins: Vec::new(),
            cors_allow_credentials: false,
            cors_max_age: Duration::secs(3600),
        }
    }
}

impl CorsSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.cors_allow_credentials && self.cors_allowed_origins.iter().any(|o| o == "*") {
            return Err(ConfigError::key(
                "cors_allow_credentials",
                "browsers refuse credentials with the origin \"*\": list the origins",
            ));
        }
        for origin in &self.cors_allowed_origins {
            if origin != "*" && !super::de::is_http_url(origin) {
                return Err(ConfigError::key(
                    "cors_allowed_origins",
                    format!("{origin:?} is not an origin such as https://app.example.com"),
                ));
            }
        }
        for origin in self.cors_allowed_origins.iter().filter(|o| *o != "*") {
            // Browsers send `scheme://host[:port]`, lower case, without a default port or a
            // path: anything else is compared as written and never matches.
            if let Some(fixed) = origin_of(origin)
                && fixed != *origin
            {
                return Err(ConfigError::key(
                    "cors_allowed_origins",
                    format!(
                        "{origin:?} never matches the Origin browsers send (scheme://host[:port], \
                         no path or trailing slash): write {fixed:?}"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The origin of an http(s) URL as browsers write it in `Origin` (RFC 6454): scheme and
/// host in lower case, the port only when it is not the scheme's default; no user, path,
/// query or fragment. `None` for other schemes or without a host.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = host.to_ascii_lowercase();
    let host = host.strip_suffix(default_port).unwrap_or(&host);
    (!host.is_empty() && !host.starts_with(':')).then(|| format!("{scheme}://{host}"))
}
