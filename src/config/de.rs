//! Deserializers shared by the groups: how TOML and environment variables spell "not set"
//! and lists.

use serde::{Deserialize, Deserializer};

use super::duration::{self, Duration};

/// TOML has no null: an empty string means "not set", as `None` does in Simple JWT.
pub(super) fn non_empty<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    let s = Option::<String>::deserialize(d)?;
    Ok(s.filter(|s| !s.is_empty()).map(T::from))
}

/// A count where `""` means 0 (off).
pub(super) fn count_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
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
pub(super) fn optional_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
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

pub(super) fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) if s.is_empty() => Vec::new(),
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v.into_iter().filter(|s| !s.is_empty()).collect(),
    })
}

/// `http://` or `https://`, the only URLs jwtd fetches or publishes.
pub(super) fn is_http_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}
