//! Settings (Simple JWT's `settings.py`): one typed struct with Simple JWT's defaults,
//! loaded in this order — built-in defaults, `config/default.toml`, the file named by
//! `--config` or `JWTD_CONFIG`, then `JWTD__<KEY>` environment variables.
//!
//! Unknown keys and bad values stop start-up with one line naming the key, so a typo
//! never leaves a setting silently at its default.

mod duration;
mod strict;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

pub use duration::Duration;

/// The repository's commented default file; read when present in the working directory.
pub const DEFAULT_FILE: &str = "config/default.toml";

/// The operator's settings file, read from the working directory when neither `--config`
/// nor `JWTD_CONFIG` names one.
pub const LOCAL_FILE: &str = "jwtd.toml";

/// Settings whose values are lists, so that `JWTD__AUTH_HEADER_TYPES=Bearer,JWT` works.
const LIST_KEYS: &[&str] = &[
    "auth_header_types",
    "auth_token_classes",
    "audience",
    "jwk_algorithms",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    // --- Simple JWT's settings, same names, same defaults -------------------------------
    pub access_token_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    pub rotate_refresh_tokens: bool,
    pub blacklist_after_rotation: bool,
    pub update_last_login: bool,
    pub algorithm: jsonwebtoken::Algorithm,
    #[serde(deserialize_with = "non_empty")]
    pub signing_key: Option<Secret>,
    #[serde(deserialize_with = "non_empty")]
    pub verifying_key: Option<String>,
    #[serde(deserialize_with = "string_or_list")]
    pub audience: Vec<String>,
    #[serde(deserialize_with = "non_empty")]
    pub issuer: Option<String>,
    #[serde(deserialize_with = "non_empty")]
    pub jwk_url: Option<String>,
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

    // --- keys beyond Simple JWT (drf-jwt's key ring, JWKS) -------------------------------
    /// Several keys with key ids: the first signs, all verify. Instead of signing_key.
    pub keys: Vec<KeyConfig>,
    /// A folder of PEM keys (`KID.pem`) instead of signing_key and `[[keys]]`: every key
    /// verifies and is published; `signing_kid` (else the newest file) signs.
    #[serde(deserialize_with = "non_empty")]
    pub keys_dir: Option<PathBuf>,
    #[serde(deserialize_with = "non_empty")]
    pub signing_kid: Option<String>,
    /// Refuse tokens without a known `kid` (drf-jwt's JWT_INSIST_ON_KID).
    pub insist_on_kid: bool,
    /// The public base URL of this service, for absolute URLs in the discovery documents.
    #[serde(deserialize_with = "non_empty")]
    pub public_url: Option<String>,
    /// `Cache-Control: max-age` of the JWKS and discovery documents.
    pub well_known_max_age: Duration,
    /// Algorithms accepted from `jwk_url`'s keys; empty: `algorithm`.
    #[serde(deserialize_with = "string_or_list")]
    pub jwk_algorithms: Vec<String>,
    /// The longest `jwk_url`'s keys are cached, whatever its Cache-Control says.
    pub jwk_cache_max_age: Duration,
    /// The shortest time between two fetches of `jwk_url` (an unknown `kid` triggers one).
    pub jwk_refetch_interval: Duration,
    /// Time limit of one fetch of `jwk_url`.
    pub jwk_timeout: Duration,

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

    // --- impersonation (drf-jwt's ImpersonateJSONWebTokenView) --------------------------
    /// Who may call `/api/token/impersonate/`.
    pub impersonation: Impersonation,
    /// Whether a superuser may be impersonated at all.
    pub impersonate_superusers: bool,
    /// Lifetime of an impersonation token (an access token nothing refreshes).
    pub impersonation_token_lifetime: Duration,
    // --- drf-jwt's protocol (rest_framework_jwt), same names lower-cased --------------------
    /// Serve drf-jwt's endpoints: /api-token-auth/, /api-token-refresh/, /api-token-verify/
    /// and /auth/logout/.
    pub drf_jwt_endpoints: bool,
    pub jwt_expiration_delta: Duration,
    pub jwt_refresh_expiration_delta: Duration,
    pub jwt_allow_refresh: bool,
    pub jwt_token_id: JwtTokenId,
    pub jwt_auth_header_prefix: String,
    pub jwt_payload_include_user_id: bool,

    // --- the server ---------------------------------------------------------------------
    pub bind: String,
    #[serde(deserialize_with = "non_empty")]
    pub database_url: Option<Secret>,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    /// HTTP worker threads; 0 means one per CPU.
    pub workers: usize,

    // --- running in production ----------------------------------------------------------
    /// Request bodies larger than this get 413.
    pub max_body_size: usize,
    /// Tokens and authorization headers longer than this are refused before any crypto.
    pub max_token_length: usize,
    /// A client must send its request (head and body) within this time.
    pub client_timeout: Duration,
    /// The longest a request waits for the database before it gets 503.
    pub database_timeout: Duration,
    /// How long a user row, and a token found not blacklisted, read from the database are
    /// reused; zero: every check asks the database.
    pub database_cache_ttl: Duration,
    /// Tokens whose signature was checked, remembered with their claims so that the next
    /// request with the same token skips the check and the reading; zero: none.
    pub token_cache_size: usize,
    /// How long SIGTERM waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// Origins allowed to call from browsers (CORS); empty: no CORS headers; "*": any.
    #[serde(deserialize_with = "string_or_list")]
    pub cors_allowed_origins: Vec<String>,
    pub cors_allow_credentials: bool,
    pub cors_max_age: Duration,
    /// Login attempts per client address, DRF's notation ("60/min"); empty: no limit.
    #[serde(deserialize_with = "non_empty")]
    pub throttle_login_rate: Option<String>,
    /// Proxies whose X-Forwarded-For is believed: addresses or CIDR ranges.
    #[serde(deserialize_with = "string_or_list")]
    pub trusted_proxies: Vec<String>,
    /// Failed logins within `failed_login_window` that lock a username; empty or 0: never.
    #[serde(deserialize_with = "count_or_empty")]
    pub max_failed_logins: u32,
    pub failed_login_window: Duration,
    pub lockout_time: Duration,
    // --- the login guards shared by every instance ------------------------------------
    // (`max_failed_logins` counts per username and client address.)
    /// Failed logins of one username from all addresses together within
    /// `failed_login_window` that lock it for every address; empty or 0: no such ceiling.
    #[serde(deserialize_with = "count_or_empty")]
    pub max_failed_logins_per_username: u32,
    /// Where the login guards keep their counters: unset, the database; `redis://…`, Redis.
    #[serde(deserialize_with = "non_empty")]
    pub throttle_url: Option<Secret>,
    /// Serve Prometheus metrics at /metrics.
    pub metrics: bool,
    /// Serve them on another address instead of `bind` (HOST:PORT); empty: on `bind`.
    #[serde(deserialize_with = "non_empty")]
    pub metrics_bind: Option<String>,

    // --- cookies for browser apps (drf-jwt's JWT_AUTH_COOKIE*) ---------------------------
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

impl Default for Settings {
    fn default() -> Self {
        Settings {
            access_token_lifetime: Duration::secs(5 * 60),
            refresh_token_lifetime: Duration::secs(24 * 3600),
            rotate_refresh_tokens: false,
            blacklist_after_rotation: false,
            update_last_login: false,
            algorithm: jsonwebtoken::Algorithm::HS256,
            signing_key: None,
            verifying_key: None,
            audience: Vec::new(),
            issuer: None,
            jwk_url: None,
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
            keys: Vec::new(),
            keys_dir: None,
            signing_kid: None,
            insist_on_kid: false,
            public_url: None,
            well_known_max_age: Duration::secs(300),
            jwk_algorithms: Vec::new(),
            jwk_cache_max_age: Duration::secs(3600),
            jwk_refetch_interval: Duration::secs(30),
            jwk_timeout: Duration::secs(5),
            refresh_token_reuse_detection: false,
            refresh_token_reuse_interval: Duration::secs(0),
            introspection_clients: Vec::new(),
            flush_expired_interval: None,
            impersonation: Impersonation::Superuser,
            impersonate_superusers: false,
            impersonation_token_lifetime: Duration::secs(5 * 60),
            drf_jwt_endpoints: false,
            jwt_expiration_delta: Duration::secs(300),
            jwt_refresh_expiration_delta: Duration::secs(7 * 86_400),
            jwt_allow_refresh: true,
            jwt_token_id: JwtTokenId::Include,
            jwt_auth_header_prefix: "Bearer".into(),
            jwt_payload_include_user_id: true,
            bind: "127.0.0.1:8000".into(),
            database_url: None,
            data_dir: PathBuf::from("./data"),
            log_format: LogFormat::Text,
            workers: 0,
            max_body_size: 16 * 1024,
            max_token_length: 8 * 1024,
            client_timeout: Duration::secs(10),
            database_timeout: Duration::secs(5),
            database_cache_ttl: Duration::secs(1),
            token_cache_size: 4096,
            shutdown_timeout: Duration::secs(30),
            cors_allowed_origins: Vec::new(),
            cors_allow_credentials: false,
            cors_max_age: Duration::secs(3600),
            throttle_login_rate: Some("60/min".into()),
            trusted_proxies: Vec::new(),
            max_failed_logins: 5,
            failed_login_window: Duration::secs(120),
            lockout_time: Duration::secs(300),
            max_failed_logins_per_username: 100,
            throttle_url: None,
            metrics: true,
            metrics_bind: None,
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

/// Simple JWT names its rule by import path; jwtd knows this one rule (the user exists and,
/// unless `check_user_is_active` is off, is active).
pub const DEFAULT_AUTHENTICATION_RULE: &str = "default";
const SIMPLEJWT_DEFAULT_RULE_PATH: &str =
    "rest_framework_simplejwt.authentication.default_user_authentication_rule";

/// One key of the ring (`[[keys]]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    pub kid: String,
    /// Defaults to the top-level `algorithm`.
    pub algorithm: Option<jsonwebtoken::Algorithm>,
    /// The private key (or HMAC secret): PEM text or `file:PATH`. Required for the first key.
    #[serde(default, deserialize_with = "non_empty")]
    pub signing_key: Option<Secret>,
    /// The public key, for a key that only verifies.
    #[serde(default, deserialize_with = "non_empty")]
    pub verifying_key: Option<String>,
}

/// A client allowed to introspect tokens: its id and an argon2 hash of its secret
/// (`jwtd hash-password` makes one).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionClient {
    pub client_id: String,
    pub secret_hash: String,
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

/// Who may impersonate other users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impersonation {
    /// `/api/token/impersonate/` answers 404.
    Off,
    Superuser,
    /// Staff members and superusers.
    Staff,
}

/// The `SameSite` attribute of the auth cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    Strict,
    Lax,
    None,
}

/// drf-jwt's `JWT_TOKEN_ID`: whether its tokens carry a `jti`, and whether one is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JwtTokenId {
    /// No `jti`; tokens are blacklisted by their value.
    Off,
    /// A `jti` in new tokens; tokens without one are still accepted.
    Include,
    /// Tokens without a `jti` are refused.
    Require,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A value that must never reach a log line or a `Debug` dump.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A configuration problem: one line, naming the setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl ConfigError {
    pub fn key(key: &str, message: impl fmt::Display) -> Self {
        ConfigError(format!("`{key}`: {message}"))
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Where settings come from besides the built-in defaults.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `config/default.toml` (or another base file); skipped when it does not exist.
    pub default_file: Option<PathBuf>,
    /// `--config PATH` or `JWTD_CONFIG`; must exist when given.
    pub file: Option<PathBuf>,
    /// `JWTD__*` variables; `None` reads the process environment.
    pub env: Option<HashMap<String, String>>,
}

impl Sources {
    /// What `jwtd` reads when started: the repository default file, the given file (else
    /// `jwtd.toml` in the working directory, when there is one) and the process environment.
    pub fn standard(file: Option<PathBuf>) -> Self {
        let local = PathBuf::from(LOCAL_FILE);
        Sources {
            default_file: Some(PathBuf::from(DEFAULT_FILE)),
            file: file.or_else(|| local.is_file().then_some(local)),
            env: None,
        }
    }

    /// The settings files that exist among these sources, in the order they are read.
    pub fn files_read(&self) -> Vec<&Path> {
        let default = self.default_file.as_deref().filter(|p| p.is_file());
        default.into_iter().chain(self.file.as_deref()).collect()
    }
}

/// A settings file named in messages as it was given: `config::File` names it relative to
/// the working directory (`../../etc/jwtd/jwtd.toml` for `/etc/jwtd/jwtd.toml`).
#[derive(Debug, Clone)]
struct GivenFile {
    path: PathBuf,
    required: bool,
}

impl config::Source for GivenFile {
    fn clone_into_box(&self) -> Box<dyn config::Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<config::Map<String, config::Value>, config::ConfigError> {
        let shown = self.path.display().to_string();
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if !self.required && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(config::Map::new());
            }
            Err(e) => return Err(config::ConfigError::Message(format!("cannot read {shown}: {e}"))),
        };
        config::Format::parse(&config::FileFormat::Toml, Some(&shown), &text).map_err(|cause| {
            config::ConfigError::FileParse {
                uri: Some(shown),
                cause,
            }
        })
    }
}

impl Settings {
    pub fn load(sources: &Sources) -> Result<Settings, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(path) = &sources.default_file {
            builder = builder.add_source(GivenFile {
                path: path.clone(),
                required: false,
            });
        }
        if let Some(path) = &sources.file {
            if !path.is_file() {
                return Err(ConfigError(format!(
                    "configuration file {} does not exist or is not a file",
                    path.display()
                )));
            }
            builder = builder.add_source(GivenFile {
                path: path.clone(),
                required: true,
            });
        }
        let mut env = config::Environment::with_prefix("JWTD")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(",");
        for key in LIST_KEYS {
            env = env.with_list_parse_key(key);
        }
        if let Some(vars) = &sources.env {
            env = env.source(Some(vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect()));
        }
        let merged = builder
            .add_source(env)
            .build()
            .map_err(|e| ConfigError(e.to_string()))?;
        check_known_keys(&merged)?;
        let table = config::Source::collect(&merged).map_err(|e| ConfigError(e.to_string()))?;
        let settings = Settings::deserialize(strict::Strict(merged)).map_err(|e| {
            // A value's own errors name its key, not where it was set.
            let origin = match &e {
                config::ConfigError::At {
                    key: Some(key),
                    origin: None,
                    ..
                } => {
                    let top = key.split(['.', '[']).next().unwrap_or_default();
                    table
                        .get(top)
                        .map(|v| v.origin().unwrap_or("the environment").to_string())
                }
                _ => None,
            };
            match origin {
                Some(origin) => ConfigError(format!("{e} (set in {origin})")),
                None => ConfigError(e.to_string()),
            }
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks that cross the type system: ranges, lengths, combinations.
    pub fn validate(&self) -> Result<(), ConfigError> {
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
        if self.jwt_expiration_delta.as_secs() == 0 {
            return Err(ConfigError::key(
                "jwt_expiration_delta",
                "must be at least one second",
            ));
        }
        // drf-jwt splits the header on one space and compares the first part, so a prefix
        // with white space in it could never match.
        if self.jwt_auth_header_prefix.is_empty()
            || !self.jwt_auth_header_prefix.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ConfigError::key(
                "jwt_auth_header_prefix",
                format!(
                    "{:?} is not a valid authorization scheme (printable ASCII, no spaces)",
                    self.jwt_auth_header_prefix
                ),
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
        }
        if self.flush_expired_interval.is_some_and(|d| d.as_secs() == 0) {
            return Err(ConfigError::key(
                "flush_expired_interval",
                "must be at least one second, or \"\" for never",
            ));
        }
        if self.impersonation_token_lifetime.as_secs() == 0 {
            return Err(ConfigError::key(
                "impersonation_token_lifetime",
                "must be at least one second",
            ));
        }
        if let Some(url) = &self.jwk_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ConfigError::key(
                "jwk_url",
                format!("{url:?} is not an http(s) URL"),
            ));
        }
        for name in &self.jwk_algorithms {
            let name = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(name);
            if let Err(e) = jsonwebtoken::Algorithm::deserialize(strict::Strict(name)) {
                return Err(ConfigError::key("jwk_algorithms", e));
            }
        }
        for alg in self.jwk_algorithms() {
            if crate::keys::is_hmac(alg) {
                return Err(ConfigError::key(
                    "jwk_algorithms",
                    "keys from jwk_url are public keys: HMAC algorithms cannot be used with them",
                ));
            }
        }
        if let Some(rate) = &self.throttle_login_rate
            && let Err(e) = parse_rate(rate)
        {
            return Err(ConfigError::key("throttle_login_rate", e));
        }
        for proxy in &self.trusted_proxies {
            if parse_cidr(proxy).is_none() {
                return Err(ConfigError::key(
                    "trusted_proxies",
                    format!("{proxy:?} is not an IP address or CIDR range"),
                ));
            }
        }
        if self.max_failed_logins_per_username != 0
            && self.max_failed_logins_per_username < self.max_failed_logins
        {
            return Err(ConfigError::key(
                "max_failed_logins_per_username",
                "must be at least max_failed_logins (or 0): below it, one address could lock a username for everyone",
            ));
        }
        if let Some(url) = &self.throttle_url
            && let Err(e) = crate::store::RedisCounters::check_url(url.expose())
        {
            return Err(ConfigError::key("throttle_url", e));
        }
        if self.cors_allow_credentials && self.cors_allowed_origins.iter().any(|o| o == "*") {
            return Err(ConfigError::key(
                "cors_allow_credentials",
                "browsers refuse credentials with the origin \"*\": list the origins",
            ));
        }
        for origin in &self.cors_allowed_origins {
            if origin != "*" && !(origin.starts_with("https://") || origin.starts_with("http://")) {
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
        if self.max_body_size < 1024 {
            return Err(ConfigError::key("max_body_size", "must be at least 1024 bytes"));
        }
        if self.max_token_length < 256 {
            return Err(ConfigError::key("max_token_length", "must be at least 256 bytes"));
        }
        if let Some(bind) = &self.metrics_bind {
            check_bind("metrics_bind", bind)?;
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ConfigError::key(
                "public_url",
                format!("{url:?} is not an http(s) URL"),
            ));
        }
        check_bind("bind", &self.bind)?;
        self.validate_cookies()?;
        self.check_file_values()?;
        if let Some(url) = &self.database_url {
            let url = url.expose();
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.starts_with("file:"))
            {
                return Err(ConfigError::key(
                    "database_url",
                    "must start with sqlite:, postgres://, postgresql:// or file: (a file holding the URL)",
                ));
            }
        }
        Ok(())
    }

    /// `file:PATH` values are read when the keys are loaded or the database is opened; one
    /// that cannot be read (missing, or a container secret the service's user may not read)
    /// is a configuration error, reported before anything starts.
    fn check_file_values(&self) -> Result<(), ConfigError> {
        let mut values = vec![
            (
                "signing_key".to_string(),
                self.signing_key.as_ref().map(Secret::expose),
            ),
            ("verifying_key".to_string(), self.verifying_key.as_deref()),
            (
                "database_url".to_string(),
                self.database_url.as_ref().map(Secret::expose),
            ),
        ];
        for (i, k) in self.keys.iter().enumerate() {
            values.push((
                format!("keys[{i}].signing_key"),
                k.signing_key.as_ref().map(Secret::expose),
            ));
            values.push((format!("keys[{i}].verifying_key"), k.verifying_key.as_deref()));
        }
        for (key, value) in values {
            if let Some(path) = value.and_then(|v| v.strip_prefix("file:")) {
                let path = path.trim();
                std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::key(&key, format!("cannot read {path}: {e}")))?;
            }
        }
        Ok(())
    }

    /// The cookie settings. Browsers drop a cookie they consider malformed without a word,
    /// so whatever would make them do so stops start-up instead.
    fn validate_cookies(&self) -> Result<(), ConfigError> {
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

    /// The HTTP header that carries tokens. Simple JWT names it as Django's `request.META`
    /// key (`HTTP_AUTHORIZATION`); a plain header name is accepted too.
    pub fn auth_header(&self) -> String {
        match self.auth_header_name.strip_prefix("HTTP_") {
            Some(rest) => rest.replace('_', "-").to_ascii_lowercase(),
            None => self.auth_header_name.to_ascii_lowercase(),
        }
    }

    /// The algorithms `jwk_url`'s keys may use.
    pub fn jwk_algorithms(&self) -> Vec<jsonwebtoken::Algorithm> {
        if self.jwk_url.is_none() {
            return Vec::new();
        }
        if self.jwk_algorithms.is_empty() {
            return vec![self.algorithm];
        }
        self.jwk_algorithms
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect()
    }

    /// `None` when Simple JWT's claim setting is `None` (written as `""` here).
    pub fn token_type_claim(&self) -> Option<&str> {
        Some(self.token_type_claim.as_str()).filter(|c| !c.is_empty())
    }

    pub fn jti_claim(&self) -> Option<&str> {
        Some(self.jti_claim.as_str()).filter(|c| !c.is_empty())
    }

    /// The database to use: `database_url`, else the SQLite file under `data_dir`.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_string(),
            None => format!("sqlite://{}", self.data_dir.join("jwtd.db").display()),
        }
    }

    pub fn uses_default_database(&self) -> bool {
        self.database_url.is_none()
    }

    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }

    pub fn data_path(&self, name: &str) -> PathBuf {
        self.data_dir.join(name)
    }
}

/// Creates `data_dir` (owner-only) if it does not exist yet.
pub fn ensure_data_dir(settings: &Settings) -> Result<(), String> {
    let dir = &settings.data_dir;
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| format!("cannot create data_dir {}: {e}", dir.display()))
}

/// DRF's throttle rate notation: `"<n>/<period>"`, the period's first letter naming it
/// (s, m, h, d), e.g. `"60/min"`, `"5/s"`, `"1000/day"`.
pub fn parse_rate(rate: &str) -> Result<(u32, std::time::Duration), String> {
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
    Ok((n, std::time::Duration::from_secs(secs)))
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

/// RFC 6265's cookie-name: an HTTP token.
fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// An address or CIDR range: the network and the prefix length.
pub fn parse_cidr(text: &str) -> Option<(std::net::IpAddr, u8)> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (
            a.trim().parse::<std::net::IpAddr>().ok()?,
            Some(p.trim().parse::<u8>().ok()?),
        ),
        None => (text.trim().parse::<std::net::IpAddr>().ok()?, None),
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(max);
    (prefix <= max).then_some((addr, prefix))
}

/// Every key `Settings` knows, for the typo check.
fn known_keys() -> Vec<&'static str> {
    KNOWN_KEYS.to_vec()
}

const KNOWN_KEYS: &[&str] = &[
    "access_token_lifetime",
    "refresh_token_lifetime",
    "rotate_refresh_tokens",
    "blacklist_after_rotation",
    "update_last_login",
    "algorithm",
    "signing_key",
    "verifying_key",
    "audience",
    "issuer",
    "jwk_url",
    "leeway",
    "auth_header_types",
    "auth_header_name",
    "user_id_field",
    "user_id_claim",
    "user_authentication_rule",
    "auth_token_classes",
    "token_type_claim",
    "jti_claim",
    "sliding_token_refresh_exp_claim",
    "sliding_token_lifetime",
    "sliding_token_refresh_lifetime",
    "check_revoke_token",
    "revoke_token_claim",
    "check_user_is_active",
    "keys",
    "keys_dir",
    "signing_kid",
    "insist_on_kid",
    "public_url",
    "well_known_max_age",
    "jwk_algorithms",
    "jwk_cache_max_age",
    "jwk_refetch_interval",
    "jwk_timeout",
    "refresh_token_reuse_detection",
    "refresh_token_reuse_interval",
    "introspection_clients",
    "flush_expired_interval",
    "impersonation",
    "impersonate_superusers",
    "impersonation_token_lifetime",
    "drf_jwt_endpoints",
    "jwt_expiration_delta",
    "jwt_refresh_expiration_delta",
    "jwt_allow_refresh",
    "jwt_token_id",
    "jwt_auth_header_prefix",
    "jwt_payload_include_user_id",
    "bind",
    "database_url",
    "data_dir",
    "log_format",
    "workers",
    "max_body_size",
    "max_token_length",
    "client_timeout",
    "database_timeout",
    "database_cache_ttl",
    "token_cache_size",
    "shutdown_timeout",
    "cors_allowed_origins",
    "cors_allow_credentials",
    "cors_max_age",
    "throttle_login_rate",
    "trusted_proxies",
    "max_failed_logins",
    "failed_login_window",
    "lockout_time",
    "max_failed_logins_per_username",
    "throttle_url",
    "metrics",
    "metrics_bind",
    "auth_cookie",
    "auth_cookie_access",
    "auth_cookie_csrf",
    "auth_cookie_domain",
    "auth_cookie_path",
    "auth_cookie_secure",
    "auth_cookie_samesite",
    "auth_cookie_httponly",
    "auth_cookie_tokens_in_body",
];

/// Settings people look for under another name.
const HINTS: &[(&str, &str)] = &[
    ("port", BIND_HINT),
    ("host", BIND_HINT),
    ("listen", BIND_HINT),
    ("address", BIND_HINT),
    ("addr", BIND_HINT),
];
const BIND_HINT: &str = "the address and port are one setting, `bind` (HOST:PORT, e.g. JWTD__BIND=0.0.0.0:8000 or `jwtd serve --bind 0.0.0.0:8000`)";

/// Variables whose names start with `JWTD_` that jwtd or its tools read with one underscore.
const SINGLE_UNDERSCORE_VARIABLES: &[&str] = &["JWTD_CONFIG"];
const TOOL_VARIABLE_PREFIXES: &[&str] = &["JWTD_TEST_", "JWTD_BENCH_"];

/// Warnings for `JWTD_*` variables jwtd does not read: a setting written with one
/// underscore (`JWTD_ACCESS_TOKEN_LIFETIME`, as in `JWTD_CONFIG`) would otherwise be
/// ignored without a word.
pub fn stray_variables(vars: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    let mut names: Vec<String> = vars
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| {
            name.starts_with("JWTD_")
                && !name.starts_with("JWTD__")
                && !SINGLE_UNDERSCORE_VARIABLES.contains(&name.as_str())
                && !TOOL_VARIABLE_PREFIXES.iter().any(|p| name.starts_with(p))
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let rest = &name["JWTD_".len()..];
            let key = rest.to_ascii_lowercase();
            let what = if KNOWN_KEYS.contains(&key.as_str()) {
                "settings are read from JWTD__<SETTING> (two underscores)".to_string()
            } else {
                "jwtd reads JWTD_CONFIG and JWTD__<SETTING> variables (two underscores)".to_string()
            };
            format!("warning: ignoring {name}: {what}; did you mean JWTD__{rest}?")
        })
        .collect()
}

fn check_known_keys(merged: &config::Config) -> Result<(), ConfigError> {
    use config::Source;
    let table = merged.collect().map_err(|e| ConfigError(e.to_string()))?;
    let known = known_keys();
    let mut keys: Vec<_> = table.keys().collect();
    keys.sort();
    for key in keys {
        if known.contains(&key.as_str()) {
            continue;
        }
        let origin = table[key]
            .origin()
            .map(|o| format!(" (set in {o})"))
            .unwrap_or_else(|| " (set in the environment)".to_string());
        let lower = key.to_ascii_lowercase();
        let suggestion = if lower != *key && known.contains(&lower.as_str()) {
            format!("; jwtd spells Simple JWT's settings in lower case: `{lower}`")
        } else if let Some((_, hint)) = HINTS.iter().find(|(k, _)| *k == lower) {
            format!("; {hint}")
        } else {
            known
                .iter()
                .map(|k| (strsim::levenshtein(k, key), k))
                .min()
                .filter(|(d, _)| *d <= 3)
                .map(|(_, k)| format!("; did you mean `{k}`?"))
                .unwrap_or_default()
        };
        return Err(ConfigError(format!(
            "unknown setting `{key}`{origin}{suggestion}"
        )));
    }
    Ok(())
}

// --- deserializers ----------------------------------------------------------------------

/// TOML has no null: an empty string means "not set", as `None` does in Simple JWT.
fn non_empty<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    let s = Option::<String>::deserialize(d)?;
    Ok(s.filter(|s| !s.is_empty()).map(T::from))
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

/// A count where `""` means 0 (off).
fn count_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u32),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Number(n) => Ok(n),
        Raw::Text(s) if s.trim().is_empty() => Ok(0),
        Raw::Text(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a count"))),
    }
}

/// An optional duration: `""` (or absent) means off.
fn optional_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Value(Duration),
    }
    match Raw::deserialize(d)? {
        Raw::Text(s) if s.trim().is_empty() => Ok(None),
        Raw::Text(s) => duration::parse(&s).map(Some).map_err(serde::de::Error::custom),
        Raw::Value(v) => Ok(Some(v)),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) if s.is_empty() => Vec::new(),
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v.into_iter().filter(|s| !s.is_empty()).collect(),
    })
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

impl TokenClass {
    /// Simple JWT's class name, used in its "messages" error list.
    pub fn class_name(self) -> &'static str {
        match self {
            TokenClass::Access => "AccessToken",
            TokenClass::Sliding => "SlidingToken",
        }
    }
}

/// Reads a path that may be relative to the working directory, for messages.
pub fn display_path(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_with(toml: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = std::env::temp_dir().join(format!("jwtd-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("jwtd.toml");
        std::fs::write(&file, toml).unwrap();
        let result = Settings::load(&Sources {
            default_file: None,
            file: Some(file),
            env: Some(env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
        });
        std::fs::remove_dir_all(&dir).ok();
        result
    }

    #[test]
    fn defaults_are_simple_jwt_defaults() {
        let s = load_with("", &[]).unwrap();
        assert_eq!(s.access_token_lifetime, Duration::secs(300));
        assert_eq!(s.refresh_token_lifetime, Duration::secs(86_400));
        assert_eq!(s.auth_header_types, vec!["Bearer"]);
        assert_eq!(s.auth_header(), "authorization");
        assert_eq!(s.auth_token_classes, vec![TokenClass::Access]);
        assert_eq!(s.bind, "127.0.0.1:8000");
        assert!(s.database_url().starts_with("sqlite://"));
    }

    #[test]
    fn file_then_environment() {
        let s = load_with(
            "access_token_lifetime = \"10m\"\nrotate_refresh_tokens = true\n",
            &[
                ("JWTD__ACCESS_TOKEN_LIFETIME", "600"),
                ("JWTD__AUTH_HEADER_TYPES", "Bearer,JWT"),
            ],
        )
        .unwrap();
        assert_eq!(s.access_token_lifetime, Duration::secs(600));
        assert!(s.rotate_refresh_tokens);
        assert_eq!(s.auth_header_types, vec!["Bearer", "JWT"]);
    }

    #[test]
    fn unknown_keys_are_refused_with_a_suggestion() {
        let e = load_with("acess_token_lifetime = 5\n", &[]).unwrap_err();
        assert!(e.0.contains("unknown setting `acess_token_lifetime`"), "{e}");
        assert!(e.0.contains("did you mean `access_token_lifetime`"), "{e}");
        let e = load_with("", &[("JWTD__ROTATE_REFRESH_TOKEN", "true")]).unwrap_err();
        assert!(e.0.contains("rotate_refresh_token"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = load_with("access_token_lifetime = \"5x\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("access_token_lifetime"), "{e}");
        let e = load_with("rotate_refresh_tokens = \"maybe\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("rotate_refresh_tokens"), "{e}");
        let e = load_with("algorithm = \"HS257\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("algorithm"), "{e}");
        let e = load_with("auth_token_classes = [\"refresh\"]\n", &[]).unwrap_err();
        assert!(e.to_string().contains("auth_token_classes"), "{e}");
    }

    #[test]
    fn simple_jwt_import_paths_are_understood() {
        let s = load_with(
            "auth_token_classes = [\"rest_framework_simplejwt.tokens.AccessToken\", \"sliding\"]\n\
             user_authentication_rule = \"rest_framework_simplejwt.authentication.default_user_authentication_rule\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            s.auth_token_classes,
            vec![TokenClass::Access, TokenClass::Sliding]
        );
    }

    #[test]
    fn the_shipped_default_file_lists_every_key_at_its_default() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        for key in KNOWN_KEYS {
            assert!(
                text.lines().any(|l| l.starts_with(&format!("{key} = "))),
                "{key} missing from {DEFAULT_FILE}"
            );
        }
        let loaded = Settings::load(&Sources {
            default_file: Some(path),
            file: None,
            env: Some(HashMap::new()),
        })
        .unwrap();
        assert_eq!(format!("{loaded:?}"), format!("{:?}", Settings::default()));
    }

    #[test]
    fn cookie_settings_browsers_would_drop_are_refused() {
        let s = load_with(
            "auth_cookie = \"refresh\"\nauth_cookie_samesite = \"strict\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(s.auth_cookie_samesite, SameSite::Strict);
        for (toml, key) in [
            ("auth_cookie_access = \"access\"", "auth_cookie_access"),
            ("auth_cookie = \"a b\"", "auth_cookie"),
            ("auth_cookie = \"csrftoken\"", "auth_cookie_csrf"),
            (
                "auth_cookie = \"r\"\nauth_cookie_samesite = \"None\"\nauth_cookie_secure = false",
                "auth_cookie_samesite",
            ),
            (
                "auth_cookie = \"r\"\nauth_cookie_samesite = \"sometimes\"",
                "auth_cookie_samesite",
            ),
            (
                "auth_cookie = \"__Host-r\"\nauth_cookie_domain = \"example.com\"",
                "auth_cookie",
            ),
            (
                "auth_cookie = \"__Secure-r\"\nauth_cookie_secure = false",
                "auth_cookie",
            ),
            (
                "auth_cookie = \"r\"\nauth_cookie_path = \"api\"",
                "auth_cookie_path",
            ),
            (
                "auth_cookie = \"r\"\nauth_cookie_domain = \"a;b\"",
                "auth_cookie_domain",
            ),
        ] {
            let e = load_with(&format!("{toml}\n"), &[]).unwrap_err();
            assert!(e.to_string().contains(key), "{toml}: {e}");
        }
    }

    #[test]
    fn enum_values_are_listed_with_the_nearest_one() {
        let e = load_with("algorithm = \"HS257\"\n", &[]).unwrap_err().to_string();
        assert!(e.contains("\"HS257\" is not one of HS256, HS384, HS512"), "{e}");
        assert!(e.contains("did you mean \"HS256\"?"), "{e}");
        assert!(
            e.contains("algorithm") && !e.contains("variant constructor"),
            "{e}"
        );
        let e = load_with("", &[("JWTD__USER_ID_FIELD", "ID")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("did you mean \"id\"?") && e.contains("user_id_field"),
            "{e}"
        );
        let e = load_with(
            "[[keys]]\nkid = \"a\"\nalgorithm = \"RS265\"\nsigning_key = \"x\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("did you mean \"RS256\"?"), "{e}");
        let e = load_with("jwk_algorithms = [\"ES265\"]\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("jwk_algorithms") && e.contains("did you mean \"ES256\"?"),
            "{e}"
        );
    }

    #[test]
    fn booleans_are_true_or_false() {
        for (toml, env) in [
            ("rotate_refresh_tokens = \"yes\"\n", vec![]),
            ("rotate_refresh_tokens = \"on\"\n", vec![]),
            ("rotate_refresh_tokens = 2\n", vec![]),
            ("", vec![("JWTD__ROTATE_REFRESH_TOKENS", "yes")]),
            ("", vec![("JWTD__ROTATE_REFRESH_TOKENS", "off")]),
            ("", vec![("JWTD__METRICS", "no")]),
        ] {
            let e = load_with(toml, &env).unwrap_err().to_string();
            assert!(
                e.contains("is not a boolean: write true or false"),
                "{toml}{env:?}: {e}"
            );
        }
        for (toml, env, on) in [
            ("rotate_refresh_tokens = true\n", vec![], true),
            ("", vec![("JWTD__ROTATE_REFRESH_TOKENS", "true")], true),
            ("", vec![("JWTD__ROTATE_REFRESH_TOKENS", "1")], true),
            ("", vec![("JWTD__ROTATE_REFRESH_TOKENS", "False")], false),
            (
                "rotate_refresh_tokens = true\n",
                vec![("JWTD__ROTATE_REFRESH_TOKENS", "0")],
                false,
            ),
        ] {
            let s = load_with(toml, &env).unwrap();
            assert_eq!(s.rotate_refresh_tokens, on, "{toml}{env:?}");
        }
    }

    #[test]
    fn simple_jwt_names_and_other_names_get_a_hint() {
        let e = load_with("ACCESS_TOKEN_LIFETIME = \"10m\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown setting `ACCESS_TOKEN_LIFETIME`"), "{e}");
        assert!(e.contains("lower case: `access_token_lifetime`"), "{e}");
        let e = load_with("", &[("JWTD__PORT", "8001")]).unwrap_err().to_string();
        assert!(
            e.contains("unknown setting `port`") && e.contains("`bind`"),
            "{e}"
        );
    }

    #[test]
    fn listening_addresses_are_checked_when_loaded() {
        for bind in [
            ":18005",
            "18005",
            "localhost:",
            "local host:80",
            "127.0.0.1:65536",
        ] {
            let e = load_with("", &[("JWTD__BIND", bind)]).unwrap_err().to_string();
            assert!(
                e.contains("`bind`") && e.contains("is not HOST:PORT"),
                "{bind}: {e}"
            );
            let e = load_with(&format!("metrics_bind = \"{bind}\"\n"), &[]).unwrap_err();
            assert!(e.to_string().contains("`metrics_bind`"), "{bind}: {e}");
        }
        for bind in ["localhost:8000", "0.0.0.0:0", "[::1]:8000", "jwtd.internal:80"] {
            assert_eq!(load_with("", &[("JWTD__BIND", bind)]).unwrap().bind, bind);
        }
    }

    #[test]
    fn files_are_named_as_given() {
        let dir = std::env::temp_dir().join(format!("jwtd-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("jwtd.toml");
        std::fs::write(&file, "acess_token_lifetime = 5\n").unwrap();
        let sources = Sources {
            default_file: Some(dir.join("absent.toml")),
            file: Some(file.clone()),
            env: Some(HashMap::new()),
        };
        assert_eq!(sources.files_read(), vec![file.as_path()]);
        let e = Settings::load(&sources).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).ok();
        assert!(e.contains(&format!("(set in {})", file.display())), "{e}");
    }

    #[test]
    fn stray_jwtd_variables_are_named_with_the_two_underscore_form() {
        let vars = [
            ("JWTD_ACCESS_TOKEN_LIFETIME", "600"),
            ("JWTD_CONFIG", "jwtd.toml"),
            ("JWTD__BIND", "127.0.0.1:0"),
            ("JWTD_TEST_POSTGRES_URL", "postgres://"),
            ("JWTD_FROBNICATE", "1"),
            ("HOME", "/root"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let warnings = stray_variables(vars);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("ignoring JWTD_ACCESS_TOKEN_LIFETIME")
                && warnings[0].contains("did you mean JWTD__ACCESS_TOKEN_LIFETIME?"),
            "{warnings:?}"
        );
        assert!(warnings[1].contains("ignoring JWTD_FROBNICATE"), "{warnings:?}");
    }

    #[test]
    fn origins_are_written_as_browsers_send_them() {
        for (url, origin) in [
            ("https://app.example", Some("https://app.example")),
            ("http://app.example/", Some("http://app.example")),
            ("HTTPS://App.Example:443/spa?x#y", Some("https://app.example")),
            ("http://app.example:80", Some("http://app.example")),
            ("http://app.example:8080/", Some("http://app.example:8080")),
            ("https://user@[::1]:8443/", Some("https://[::1]:8443")),
            ("https://", None),
            ("ftp://app.example", None),
            ("app.example", None),
        ] {
            assert_eq!(origin_of(url).as_deref(), origin, "{url}");
        }
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let s = load_with("signing_key = \"a-very-secret-signing-key-of-32-bytes!!\"\n", &[]).unwrap();
        assert!(!format!("{s:?}").contains("a-very-secret"));
    }
}
