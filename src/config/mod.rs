//! Settings (Simple JWT's `settings.py`): typed groups, one per concern, with Simple JWT's
//! defaults, loaded in this order — the built-in defaults, the file named by `--config` or
//! `JWTD_CONFIG` (else `jwtd.toml`), then `JWTD__<KEY>` environment variables.
//!
//! The keys stay flat (`access_token_lifetime`, `JWTD__BIND`): each group takes the keys
//! it has fields for. Unknown keys and bad values stop start-up with one line naming the
//! key, so a typo never leaves a setting silently at its default. Each group checks its own
//! values and keeps them parsed (rates, address ranges, algorithms), so that no consumer
//! parses a setting again.
//!
//! The defaults are the groups' `Default` impls; `config/default.toml` documents them, and
//! a test holds it to them.

mod accounts;
pub mod algorithm;
mod audit;
mod cookies;
mod cors;
mod database;
mod de;
mod drf_jwt;
mod duration;
mod impersonation;
mod keys;
mod load;
mod origins;
mod server;
mod strict;
mod throttle;
mod tokens;

use std::fmt;

use serde::Deserialize;

pub use accounts::{AccountSettings, AdminApi};
pub use audit::AuditSettings;
pub use cookies::{CookieSettings, SameSite};
pub use cors::{CorsSettings, origin_of};
pub use database::{DatabaseSettings, ensure_data_dir};
pub use drf_jwt::{DrfJwtSettings, JwtTokenId};
pub use duration::{Duration, parse as parse_duration};
pub use impersonation::{Impersonation, ImpersonationSettings};
pub use keys::{KeyConfig, KeySettings};
pub use load::{LOCAL_FILE, Sources, known_keys, stray_variables};
pub use origins::{Effective, Origin, Origins};
pub use server::{LogFormat, ServerSettings};
pub use throttle::{Rate, ThrottleSettings, parse_cidr, parse_rate};
pub use tokens::{
    CLIENT_SCOPES, DEFAULT_AUTHENTICATION_RULE, IntrospectionClient, TokenClass, TokenSettings, UserIdField,
};

/// Every setting, by concern. Each subsystem is handed its group.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Settings {
    /// Simple JWT's token settings and the token lifecycle.
    pub tokens: TokenSettings,
    /// The signing and verifying keys.
    pub keys: KeySettings,
    /// drf-jwt's protocol.
    pub drf_jwt: DrfJwtSettings,
    pub impersonation: ImpersonationSettings,
    /// The login throttles and lockouts.
    pub throttle: ThrottleSettings,
    pub cors: CorsSettings,
    pub server: ServerSettings,
    pub cookies: CookieSettings,
    pub database: DatabaseSettings,
    /// Users over HTTP: the admin API, registration, the password policy.
    pub accounts: AccountSettings,
    /// Sessions' client metadata and the audit trail.
    pub audit: AuditSettings,
    /// Where each value came from (the console's settings page).
    #[serde(skip)]
    pub origins: Origins,
}

impl Settings {
    /// Checks that cross the type system: ranges, lengths, combinations; and parses what
    /// the groups keep parsed.
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        self.tokens.validate()?;
        self.drf_jwt.validate()?;
        self.impersonation.validate()?;
        self.keys.validate()?;
        self.throttle.validate()?;
        self.cors.validate()?;
        self.server.validate()?;
        self.cookies.validate()?;
        self.accounts.validate()?;
        self.audit.validate()?;
        self.keys.check_file_values()?;
        self.database.validate()
    }
}

/// A `file:PATH` value is read when the keys are loaded or the database is opened; one that
/// cannot be read (missing, or a container secret the service's user may not read) is a
/// configuration error, reported before anything starts.
fn check_file_value(key: &str, value: Option<&str>) -> Result<(), ConfigError> {
    if let Some(path) = value.and_then(|v| v.strip_prefix("file:")) {
        let path = path.trim();
        std::fs::read_to_string(path)
            .map_err(|e| ConfigError::key(key, format!("cannot read {path}: {e}")))?;
    }
    Ok(())
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

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

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
        assert_eq!(s.tokens.access_token_lifetime, Duration::secs(300));
        assert_eq!(s.tokens.refresh_token_lifetime, Duration::secs(86_400));
        assert_eq!(s.tokens.auth_header_types, vec!["Bearer"]);
        assert_eq!(s.tokens.auth_header(), "authorization");
        assert_eq!(s.tokens.auth_token_classes, vec![TokenClass::Access]);
        assert_eq!(s.server.bind, "127.0.0.1:8000");
        assert!(s.database.database_url().starts_with("sqlite://"));
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
        assert_eq!(s.tokens.access_token_lifetime, Duration::secs(600));
        assert!(s.tokens.rotate_refresh_tokens);
        assert_eq!(s.tokens.auth_header_types, vec!["Bearer", "JWT"]);
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
            s.tokens.auth_token_classes,
            vec![TokenClass::Access, TokenClass::Sliding]
        );
    }

    /// `config/default.toml` documents the defaults; the groups' `Default` impls are them.
    #[test]
    fn the_documented_default_file_lists_every_key_at_its_default() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let known = known_keys();
        for key in &known {
            assert!(
                text.lines().any(|l| l.starts_with(&format!("{key} = "))),
                "{key} missing from config/default.toml"
            );
        }
        let mut sorted = known.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), known.len(), "a key in two groups");
        // Loading it checks that it names no key the groups do not have.
        let loaded = Settings::load(&Sources {
            default_file: None,
            file: Some(path),
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
        assert_eq!(s.cookies.auth_cookie_samesite, SameSite::Strict);
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
            assert_eq!(s.tokens.rotate_refresh_tokens, on, "{toml}{env:?}");
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
            assert_eq!(load_with("", &[("JWTD__BIND", bind)]).unwrap().server.bind, bind);
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
    fn each_value_says_where_it_came_from_and_secrets_only_whether_set() {
        let s = load_with(
            "access_token_lifetime = \"10m\"\nsigning_key = \"a-very-secret-signing-key-of-32-bytes!!\"\n",
            &[("JWTD__ROTATE_REFRESH_TOKENS", "true")],
        )
        .unwrap();
        let shown = s.effective();
        let row = |key: &str| shown.iter().find(|e| e.key == key).unwrap().clone();
        assert_eq!(shown.len(), known_keys().len());
        let lifetime = row("access_token_lifetime");
        assert_eq!(lifetime.value, "\"10m\"");
        assert!(matches!(lifetime.origin, Origin::File(ref p) if p.ends_with("jwtd.toml")));
        assert_eq!(row("rotate_refresh_tokens").origin, Origin::Environment);
        assert_eq!(row("rotate_refresh_tokens").value, "true");
        assert_eq!(row("bind").origin, Origin::Default);
        assert_eq!(row("bind").value, "\"127.0.0.1:8000\"");
        let key = row("signing_key");
        assert!(key.secret);
        assert_eq!(key.value, "set");
        assert_eq!(row("throttle_url").value, "unset");
        assert!(!format!("{shown:?}").contains("a-very-secret"));
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let s = load_with("signing_key = \"a-very-secret-signing-key-of-32-bytes!!\"\n", &[]).unwrap();
        assert!(!format!("{s:?}").contains("a-very-secret"));
    }
}
