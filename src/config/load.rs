//! Reading the settings: the sources in order, the keys checked against the groups' fields,
//! and every group read from the one flat table.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::{ConfigError, Settings, strict};

/// The operator's settings file, read from the working directory when neither `--config`
/// nor `JWTD_CONFIG` names one.
pub const LOCAL_FILE: &str = "jwtd.toml";

/// Settings whose values are lists, so that `JWTD__AUTH_HEADER_TYPES=Bearer,JWT` works.
const LIST_KEYS: &[&str] = &[
    "auth_header_types",
    "auth_token_classes",
    "audience",
    "jwk_algorithms",
    "password_validators",
];

/// Where settings come from besides the built-in defaults.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// A base file read before `file`; skipped when it does not exist.
    pub default_file: Option<PathBuf>,
    /// `--config PATH` or `JWTD_CONFIG`; must exist when given.
    pub file: Option<PathBuf>,
    /// `JWTD__*` variables; `None` reads the process environment.
    pub env: Option<HashMap<String, String>>,
}

impl Sources {
    /// What `jwtd` reads when started: the given file (else `jwtd.toml` in the working
    /// directory, when there is one) and the process environment. The defaults are built in.
    pub fn standard(file: Option<PathBuf>) -> Self {
        let local = PathBuf::from(LOCAL_FILE);
        Sources {
            default_file: None,
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
        let table = config::Source::collect(&merged).map_err(|e| ConfigError(e.to_string()))?;
        check_known_keys(&table)?;
        let mut settings = Settings::deserialize(EachGroup(strict::Strict(merged))).map_err(|e| {
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
        settings.origins = super::Origins::of(&table);
        Ok(settings)
    }
}

/// Reads `Settings`, a struct of groups, by handing every group the whole flat table: each
/// takes the keys it has fields for. (serde's `flatten` would buffer the values first,
/// which loses the key and file that messages name, and the strict booleans.)
struct EachGroup<D>(D);

impl<'de, D: Deserializer<'de> + Clone> Deserializer<'de> for EachGroup<D> {
    type Error = D::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        groups: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        visitor.visit_map(Groups {
            names: groups.iter(),
            table: self.0,
        })
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, D::Error> {
        Err(de::Error::custom("the settings are a struct of groups"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

struct Groups<D> {
    names: std::slice::Iter<'static, &'static str>,
    table: D,
}

impl<'de, D: Deserializer<'de> + Clone> MapAccess<'de> for Groups<D> {
    type Error = D::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, D::Error> {
        self.names
            .next()
            .map(|name| seed.deserialize(de::value::StrDeserializer::new(name)))
            .transpose()
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, D::Error> {
        seed.deserialize(self.table.clone())
    }
}

/// Records the fields of every group, as serde's derive names them to a deserializer, and
/// gives the group its defaults.
#[derive(Clone, Copy)]
struct FieldNames<'a>(&'a RefCell<Vec<&'static str>>);

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.borrow_mut().extend(fields);
        visitor.visit_map(de::value::MapDeserializer::new(std::iter::empty::<(&str, &str)>()))
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("every group is a struct"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// Every key the settings know: the fields of their groups, read from the types.
pub fn known_keys() -> Vec<&'static str> {
    let names = RefCell::new(Vec::new());
    Settings::deserialize(EachGroup(FieldNames(&names))).expect("every group has its defaults");
    names.into_inner()
}

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
    if names.is_empty() {
        return Vec::new();
    }
    names.sort();
    let known = known_keys();
    names
        .into_iter()
        .map(|name| {
            let rest = &name["JWTD_".len()..];
            let key = rest.to_ascii_lowercase();
            let what = if known.contains(&key.as_str()) {
                "settings are read from JWTD__<SETTING> (two underscores)".to_string()
            } else {
                "jwtd reads JWTD_CONFIG and JWTD__<SETTING> variables (two underscores)".to_string()
            };
            format!("warning: ignoring {name}: {what}; did you mean JWTD__{rest}?")
        })
        .collect()
}

fn check_known_keys(table: &config::Map<String, config::Value>) -> Result<(), ConfigError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_the_groups_once_each() {
        let known = known_keys();
        for key in [
            "access_token_lifetime",
            "algorithm",
            "bind",
            "throttle_login_rate",
            "auth_cookie",
        ] {
            assert!(known.contains(&key), "{key}");
        }
        assert!(!known.contains(&"login_rate") && !known.contains(&"remote_algorithms"));
        for key in LIST_KEYS {
            assert!(known.contains(key), "{key} is a list key but no setting");
        }
    }
}
