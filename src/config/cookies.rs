//! Cookies for browser apps (drf-jwt's `JWT_AUTH_COOKIE*`). Browsers drop a cookie they
//! consider malformed without a word, so whatever would make them do so stops start-up.

use serde::{Deserialize, Deserializer};

use super::ConfigError;
use super::de::non_empty;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CookieSettings {
    /// The cookie carrying the refresh token; unset: no cookies at all.
    #[serde(deserialize_with = "non_empty")]
    pub auth_cookie: Option<String>,
    /// The cookie carrying the access token; unset: the access token travels in the body only.
    #[serde(deserialize_with = "non_empty")]
    pub auth_cookie_access: Option<String>,
    /// The double-submit CSRF cookie, readable by the page's scripts.
    pub auth_cookie_csrf: String,
    /// `Domain` of every cookie; unset: host-only cookies.
    #[serde(deserialize_with = "non_empty")]
    pub auth_cookie_domain: Option<String>,
    pub auth_cookie_path: String,
    pub auth_cookie_secure: bool,
    #[serde(deserialize_with = "same_site")]
    pub auth_cookie_samesite: SameSite,
    pub auth_cookie_httponly: bool,
    /// Tokens set as cookies also stay in the JSON body (Simple JWT's answers).
    pub auth_cookie_tokens_in_body: bool,
}

impl Default for CookieSettings {
    fn default() -> Self {
        CookieSettings {
            auth_cookie: None,
            auth_cookie_access: None,
            auth_cookie_csrf: "csrftoken".into(),
            auth_cookie_domain: None,
            auth_cookie_path: "/".into(),
            auth_cookie_secure: true,
            auth_cookie_samesite: SameSite::Lax,
            auth_cookie_httponly: true,
            auth_cookie_tokens_in_body: true,
        }
    }
}

/// The `SameSite` attribute of the auth cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    Strict,
    Lax,
    None,
}

/// Django writes "Lax", "Strict", "None"; any case is accepted.
fn same_site<'de, D: Deserializer<'de>>(d: D) -> Result<SameSite, D::Error> {
    let name = String::deserialize(d)?;
    match name.to_ascii_lowercase().as_str() {
        "strict" => Ok(SameSite::Strict),
        "lax" => Ok(SameSite::Lax),
        "none" => Ok(SameSite::None),
        _ => Err(serde::de::Error::custom(format!(
            "{name:?} is not \"Strict\", \"Lax\" or \"None\""
        ))),
    }
}

impl CookieSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let Some(refresh) = &self.auth_cookie else {
            if self.auth_cookie_access.is_some() {
                return Err(ConfigError::key(
                    "auth_cookie_access",
                    "needs auth_cookie (the refresh-token cookie) to be set as well",
                ));
            }
            return Ok(());
        };
        let mut names = vec![
            ("auth_cookie", refresh),
            ("auth_cookie_csrf", &self.auth_cookie_csrf),
        ];
        if let Some(access) = &self.auth_cookie_access {
            names.push(("auth_cookie_access", access));
        }
        for (i, (key, name)) in names.iter().enumerate() {
            if !is_cookie_name(name) {
                return Err(ConfigError::key(
                    key,
                    format!("{name:?} is not a cookie name (letters, digits and !#$%&'*+-.^_`|~)"),
                ));
            }
            if let Some((other, _)) = names[..i].iter().find(|(_, n)| n == name) {
                return Err(ConfigError::key(key, format!("must differ from {other}")));
            }
            // The prefixes are promises browsers hold the server to.
            if (name.starts_with("__Secure-") || name.starts_with("__Host-")) && !self.auth_cookie_secure {
                return Err(ConfigError::key(
                    key,
                    format!("{name:?} needs auth_cookie_secure = true"),
                ));
            }
            if name.starts_with("__Host-")
                && (self.auth_cookie_domain.is_some() || self.auth_cookie_path != "/")
            {
                return Err(ConfigError::key(
                    key,
                    format!("{name:?} needs auth_cookie_path = \"/\" and no auth_cookie_domain"),
                ));
            }
        }
        if let Some(domain) = &self.auth_cookie_domain
            && !domain
                .trim_start_matches('.')
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return Err(ConfigError::key(
                "auth_cookie_domain",
                format!("{domain:?} is not a domain such as example.com"),
            ));
        }
        if !self.auth_cookie_path.starts_with('/')
            || !self
                .auth_cookie_path
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b';')
        {
            return Err(ConfigError::key(
                "auth_cookie_path",
                format!("{:?} is not a path such as \"/\"", self.auth_cookie_path),
            ));
        }
        if self.auth_cookie_samesite == SameSite::None && !self.auth_cookie_secure {
            return Err(ConfigError::key(
                "auth_cookie_samesite",
                "browsers refuse SameSite=None cookies that are not Secure: set auth_cookie_secure = true",
            ));
        }
        Ok(())
    }
}

/// RFC 6265's cookie-name: an HTTP token.
fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
