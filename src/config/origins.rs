//! Where each setting's value came from — the built-in default, a settings file or the
//! environment — recorded when the settings are loaded, for the console's settings page.
//! Secrets are only ever said to be set or unset.

use std::collections::HashMap;

use super::Settings;

/// Settings whose values are secrets (keys, passwords inside URLs, client secrets).
const SECRET_KEYS: &[&str] = &[
    "signing_key",
    "keys",
    "database_url",
    "throttle_url",
    "introspection_clients",
];

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    /// The settings file, as it was named.
    File(String),
    Environment,
}

impl Origin {
    pub fn describe(&self) -> String {
        match self {
            Origin::Default => "default".into(),
            Origin::File(path) => format!("file {path}"),
            Origin::Environment => "environment".into(),
        }
    }
}

/// The keys set by a file or the environment, with their values as text (a secret's as
/// `set` only: its value is never kept here).
#[derive(Clone, Default)]
pub struct Origins(HashMap<String, (Origin, String)>);

impl std::fmt::Debug for Origins {
    /// Where values came from is no setting: `Settings`' dump (and its comparisons in
    /// tests) leaves it out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Origins")
    }
}

impl Origins {
    pub(super) fn of(table: &config::Map<String, config::Value>) -> Origins {
        Origins(
            table
                .iter()
                .map(|(key, value)| {
                    // The `config` crate names the environment so.
                    let origin = match value.origin() {
                        None | Some("the environment") => Origin::Environment,
                        Some(path) => Origin::File(path.to_string()),
                    };
                    let shown = if SECRET_KEYS.contains(&key.as_str()) {
                        "set".to_string()
                    } else {
                        text(value)
                    };
                    (key.clone(), (origin, shown))
                })
                .collect(),
        )
    }
}

/// One setting as the settings page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub key: &'static str,
    /// The value as text; for a secret, `set` or `unset`.
    pub value: String,
    pub origin: Origin,
    pub secret: bool,
}

/// A value as TOML would write it.
fn text(value: &config::Value) -> String {
    use config::ValueKind;
    match &value.kind {
        ValueKind::Nil => "(none)".into(),
        ValueKind::Boolean(b) => b.to_string(),
        ValueKind::I64(i) => i.to_string(),
        ValueKind::I128(i) => i.to_string(),
        ValueKind::U64(i) => i.to_string(),
        ValueKind::U128(i) => i.to_string(),
        ValueKind::Float(f) => f.to_string(),
        ValueKind::String(s) => format!("{s:?}"),
        ValueKind::Array(items) => format!("[{}]", items.iter().map(text).collect::<Vec<_>>().join(", ")),
        ValueKind::Table(t) => {
            let mut pairs: Vec<_> = t.iter().map(|(k, v)| format!("{k} = {}", text(v))).collect();
            pairs.sort();
            format!("{{ {} }}", pairs.join(", "))
        }
    }
}

/// The documented defaults (`config/default.toml`, which a test holds to the groups'
/// `Default` impls), as text; a key commented out there has no default value.
fn defaults() -> HashMap<String, String> {
    let parsed = config::Format::parse(
        &config::FileFormat::Toml,
        None,
        include_str!("../../config/default.toml"),
    )
    .unwrap_or_default();
    parsed.iter().map(|(k, v)| (k.clone(), text(v))).collect()
}

impl Settings {
    /// Every setting, in the groups' order: its effective value and where it came from.
    pub fn effective(&self) -> Vec<Effective> {
        let defaults = defaults();
        super::known_keys()
            .into_iter()
            .map(|key| {
                let secret = SECRET_KEYS.contains(&key);
                let (origin, value) = match self.origins.0.get(key) {
                    Some((origin, value)) => (origin.clone(), Some(value.clone())),
                    None => (Origin::Default, defaults.get(key).cloned()),
                };
                let value = match (secret, value) {
                    (true, Some(v)) if v != "[]" && v != "\"\"" => "set".into(),
                    (true, _) => "unset".into(),
                    (false, Some(v)) => v,
                    (false, None) => "(not set)".into(),
                };
                Effective {
                    key,
                    value,
                    origin,
                    secret,
                }
            })
            .collect()
    }
}
