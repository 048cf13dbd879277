//! Simple JWT's token settings (`ACCESS_TOKEN_LIFETIME` … `CHECK_USER_IS_ACTIVE`, same names
//! lower-cased, same defaults), and the token lifecycle jwtd adds to them.

use serde::{Deserialize, Deserializer};

use super::de::{non_empty, optional_duration, string_or_list};
use super::{ConfigError, Duration};

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TokenSettings {
    pub access_token_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    pub rotate_refresh_tokens: bool,
    pub blacklist_after_rotation: bool,
    pub update_last_login: bool,
    #[serde(deserialize_with = "string_or_list")]
    pub audience: Vec<String>,
    #[serde(deserialize_with = "non_empty")]
    pub issuer: Option<String>,
    pub leeway: Duration,
    #[serde(deserialize_with = "string_or_list")]
    pub auth_header_types: Vec<String>,
    pub auth_header_name: String,
    pub user_id_field: UserIdField,
    pub user_id_claim: String,
    pub user_authentication_rule: String,
    #[serde(deserialize_with = "token_classes")]
    pub auth_token_classes: Vec<TokenClass>,
    pub token_type_claim: String,
    pub jti_claim: String,
    pub sliding_token_refresh_exp_claim: String,
    pub sliding_token_lifetime: Duration,
    pub sliding_token_refresh_lifetime: Duration,
    pub check_revoke_token: bool,
    pub revoke_token_claim: String,
    pub check_user_is_active: bool,

    // --- the token lifecycle beyond Simple JWT ------------------------------------------
    /// A rotated-away refresh token presented again blacklists its whole family.
    pub refresh_token_reuse_detection: bool,
    /// Grace period after a rotation during which the old token may be presented again.
    pub refresh_token_reuse_interval: Duration,
    /// Who may call `/api/token/introspect/` (HTTP Basic).
    pub introspection_clients: Vec<IntrospectionClient>,
    /// How often the server deletes expired outstanding tokens; unset: never.
    #[serde(deserialize_with = "optional_duration")]
    pub flush_expired_interval: Option<Duration>,
    /// Rows a flush deletes per transaction (tokens, sessions, events, counters). A batch
    /// writes every index page it deletes from, and the `user_id` index's pages are hit at
    /// random: the more rows per batch, the fewer times each page is written per row — but
    /// the longer each batch holds SQLite's one write lock, which logins wait for.
    pub flush_batch_size: u64,
    /// Tokens and authorization headers longer than this are refused before any crypto.
    pub max_token_length: usize,
    /// Tokens whose signature was checked, remembered with their claims so that the next
    /// request with the same token skips the check and the reading; zero: none.
    pub token_cache_size: usize,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            access_token_lifetime: Duration::secs(5 * 60),
            refresh_token_lifetime: Duration::secs(24 * 3600),
            rotate_refresh_tokens: false,
            blacklist_after_rotation: false,
            update_last_login: false,
            audience: Vec::new(),
            issuer: None,
            leeway: Duration::secs(0),
            auth_header_types: vec!["Bearer".into()],
            auth_header_name: "HTTP_AUTHORIZATION".into(),
            user_id_field: UserIdField::Id,
            user_id_claim: "user_id".into(),
            user_authentication_rule: DEFAULT_AUTHENTICATION_RULE.into(),
            auth_token_classes: vec![TokenClass::Access],
            token_type_claim: "token_type".into(),
            jti_claim: "jti".into(),
            sliding_token_refresh_exp_claim: "refresh_exp".into(),
            sliding_token_lifetime: Duration::secs(5 * 60),
            sliding_token_refresh_lifetime: Duration::secs(24 * 3600),
            check_revoke_token: false,
            revoke_token_claim: "hash_password".into(),
            check_user_is_active: true,
            refresh_token_reuse_detection: false,
            refresh_token_reuse_interval: Duration::secs(0),
            introspection_clients: Vec::new(),
            flush_expired_interval: None,
            flush_batch_size: 25_000,
            max_token_length: 8 * 1024,
            token_cache_size: 4096,
        }
    }
}

/// Simple JWT names its rule by import path; jwtd knows this one rule (the user exists and,
/// unless `check_user_is_active` is off, is active).
pub const DEFAULT_AUTHENTICATION_RULE: &str = "default";
const SIMPLEJWT_DEFAULT_RULE_PATH: &str =
    "rest_framework_simplejwt.authentication.default_user_authentication_rule";

/// A client allowed to introspect tokens: its id and an argon2 hash of its secret
/// (`jwtd hash-password` makes one).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionClient {
    pub client_id: String,
    pub secret_hash: String,
    /// What the client may call: `introspect` (RFC 7662), `admin` (the admin API).
    #[serde(default = "introspect_scope")]
    pub scopes: Vec<String>,
}

/// The scopes a client may hold.
pub const CLIENT_SCOPES: [&str; 2] = ["introspect", "admin"];

/// Clients configured before scopes existed only introspected.
fn introspect_scope() -> Vec<String> {
    vec!["introspect".into()]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserIdField {
    Id,
    Username,
}

/// The token classes that `/api/me/` accepts (Simple JWT's `AUTH_TOKEN_CLASSES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenClass {
    Access,
    Sliding,
}

impl TokenClass {
    /// Simple JWT's class name, used in its "messages" error list.
    pub fn class_name(self) -> &'static str {
        match self {
            TokenClass::Access => "AccessToken",
            TokenClass::Sliding => "SlidingToken",
        }
    }
}

fn token_classes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<TokenClass>, D::Error> {
    string_or_list(d)?
        .into_iter()
        .map(|name| {
            // Simple JWT's import paths are accepted too, so a settings dict can be copied over.
            match name
                .rsplit('.')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
                .as_str()
            {
                "access" | "accesstoken" => Ok(TokenClass::Access),
                "sliding" | "slidingtoken" => Ok(TokenClass::Sliding),
                _ => Err(serde::de::Error::custom(format!(
                    "unknown token class {name:?}; expected \"access\" or \"sliding\""
                ))),
            }
        })
        .collect()
}

impl TokenSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (key, d) in [
            ("access_token_lifetime", self.access_token_lifetime),
            ("refresh_token_lifetime", self.refresh_token_lifetime),
            ("sliding_token_lifetime", self.sliding_token_lifetime),
            (
                "sliding_token_refresh_lifetime",
                self.sliding_token_refresh_lifetime,
            ),
        ] {
            if d.as_secs() == 0 {
                return Err(ConfigError::key(key, "must be at least one second"));
            }
        }
        if self.auth_header_types.is_empty() {
            return Err(ConfigError::key(
                "auth_header_types",
                "must name at least one type, e.g. [\"Bearer\"]",
            ));
        }
        for t in &self.auth_header_types {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ConfigError::key(
                    "auth_header_types",
                    format!("{t:?} is not a valid authorization scheme (printable ASCII, no spaces)"),
                ));
            }
        }
        if actix_web::http::header::HeaderName::from_bytes(self.auth_header().as_bytes()).is_err() {
            return Err(ConfigError::key(
                "auth_header_name",
                format!("{:?} is not a valid header name", self.auth_header_name),
            ));
        }
        if self.auth_token_classes.is_empty() {
            return Err(ConfigError::key(
                "auth_token_classes",
                "must list \"access\", \"sliding\" or both",
            ));
        }
        for (key, value) in [
            ("user_id_claim", &self.user_id_claim),
            (
                "sliding_token_refresh_exp_claim",
                &self.sliding_token_refresh_exp_claim,
            ),
            ("revoke_token_claim", &self.revoke_token_claim),
        ] {
            if value.is_empty() {
                return Err(ConfigError::key(key, "must not be empty"));
            }
        }
        if self.user_authentication_rule != DEFAULT_AUTHENTICATION_RULE
            && self.user_authentication_rule != SIMPLEJWT_DEFAULT_RULE_PATH
        {
            return Err(ConfigError::key(
                "user_authentication_rule",
                format!(
                    "unknown rule {:?}; jwtd has the rule \"default\" (Simple JWT's default_user_authentication_rule); \
                     set check_user_is_active = false to let inactive users in",
                    self.user_authentication_rule
                ),
            ));
        }
        if self.jti_claim.is_empty() {
            return Err(ConfigError::key(
                "jti_claim",
                "must not be empty: jwtd records and blacklists tokens by their id",
            ));
        }
        if self.refresh_token_reuse_detection
            && !(self.rotate_refresh_tokens && self.blacklist_after_rotation)
        {
            return Err(ConfigError::key(
                "refresh_token_reuse_detection",
                "needs rotate_refresh_tokens = true and blacklist_after_rotation = true",
            ));
        }
        for (i, client) in self.introspection_clients.iter().enumerate() {
            if client.client_id.is_empty() || !client.secret_hash.starts_with("$argon2") {
                return Err(ConfigError::key(
                    &format!("introspection_clients[{i}]"),
                    "needs a client_id and a secret_hash made by `jwtd hash-password`",
                ));
            }
            if let Some(scope) = client
                .scopes
                .iter()
                .find(|s| !CLIENT_SCOPES.contains(&s.as_str()))
            {
                return Err(ConfigError::key(
                    &format!("introspection_clients[{i}].scopes"),
                    format!("{scope:?} is not one of introspect, admin"),
                ));
            }
        }
        if self.flush_expired_interval.is_some_and(|d| d.as_secs() == 0) {
            return Err(ConfigError::key(
                "flush_expired_interval",
                "must be at least one second, or \"\" for never",
            ));
        }
        if self.flush_batch_size == 0 {
            return Err(ConfigError::key("flush_batch_size", "must be at least 1"));
        }
        if self.max_token_length < 256 {
            return Err(ConfigError::key("max_token_length", "must be at least 256 bytes"));
        }
        Ok(())
    }

    /// The HTTP header that carries tokens. Simple JWT names it as Django's `request.META`
    /// key (`HTTP_AUTHORIZATION`); a plain header name is accepted too.
    pub fn auth_header(&self) -> String {
        match self.auth_header_name.strip_prefix("HTTP_") {
            Some(rest) => rest.replace('_', "-").to_ascii_lowercase(),
            None => self.auth_header_name.to_ascii_lowercase(),
        }
    }

    /// `None` when Simple JWT's claim setting is `None` (written as `""` here).
    pub fn token_type_claim(&self) -> Option<&str> {
        Some(self.token_type_claim.as_str()).filter(|c| !c.is_empty())
    }

    pub fn jti_claim(&self) -> Option<&str> {
        Some(self.jti_claim.as_str()).filter(|c| !c.is_empty())
    }
}
