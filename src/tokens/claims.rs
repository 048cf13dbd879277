//! A token's claims, in the order they were written. A token holds a handful of claims, so
//! a vector searched in order is quicker to build and read than a hash map, and it keeps
//! Simple JWT's claim order in the tokens jwtd writes. The vector is shared, copied on
//! write: the verified-token cache hands out a token's claims on every use, and most uses
//! only read them (its counter is shared only by requests bringing the same token, unlike
//! an `Arc` of the server's state, which every request would touch).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims(Arc<Vec<(Cow<'static, str>, Value)>>);

/// The claim of an impersonation token naming the user who asked for it
/// (`tokens::impersonation`).
pub const IMPERSONATOR_CLAIM: &str = "impersonator";

/// The session a refresh or sliding token (and every access token made from it) belongs
/// to: its login's token family, under OpenID Connect's registered name for a session id.
pub const SESSION_CLAIM: &str = "sid";

/// Claim names jwtd's tokens carry under the default settings (Simple JWT's, the registered
/// JWT ones, drf-jwt's), kept without an allocation when a token is read (each name of a
/// decoded token would otherwise be a `String` of its own); other names are allocated.
const KNOWN: &[&str] = &[
    "token_type",
    "exp",
    "iat",
    "jti",
    "user_id",
    "refresh_exp",
    "nbf",
    "aud",
    "iss",
    "sub",
    "orig_iat",
    "username",
    IMPERSONATOR_CLAIM,
    SESSION_CLAIM,
];

fn name(s: &str) -> Cow<'static, str> {
    match KNOWN.iter().find(|k| **k == s) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(s.to_owned()),
    }
}

impl Claims {
    pub fn new() -> Claims {
        Claims::with_capacity(8)
    }

    fn with_capacity(n: usize) -> Claims {
        Claims(Arc::new(Vec::with_capacity(n)))
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets a claim, in place when it exists (a repeated JSON key: the last one wins).
    pub fn insert(&mut self, name: String, value: Value) {
        self.set(Cow::Owned(name), value);
    }

    fn set(&mut self, name: Cow<'static, str>, value: Value) {
        let claims = Arc::make_mut(&mut self.0);
        match claims.iter_mut().find(|(k, _)| *k == name) {
            Some((_, v)) => *v = value,
            None => claims.push((name, value)),
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.0.iter().position(|(k, _)| k == name)?;
        Some(Arc::make_mut(&mut self.0).remove(i).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Index<&str> for Claims {
    type Output = Value;

    /// `Value::Null` for a missing claim, as `serde_json::Value` indexing does.
    fn index(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(name).unwrap_or(&NULL)
    }
}

impl Serialize for Claims {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Claims, D::Error> {
        struct ClaimsVisitor;
        impl<'de> Visitor<'de> for ClaimsVisitor {
            type Value = Claims;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claims, A::Error> {
                let mut claims = Claims::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(k) = map.next_key_seed(NameSeed)? {
                    let v = map.next_value::<Value>()?;
                    claims.set(k, v);
                }
                Ok(claims)
            }
        }
        d.deserialize_map(ClaimsVisitor)
    }
}

/// Reads a claim name as `name` keeps it.
struct NameSeed;

impl<'de> serde::de::DeserializeSeed<'de> for NameSeed {
    type Value = Cow<'static, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for NameSeed {
    type Value = Cow<'static, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a claim name")
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(name(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_the_last_repeat() {
        let c: Claims = serde_json::from_str(r#"{"b":1,"a":2,"b":3}"#).unwrap();
        assert_eq!(c.keys().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(c["b"], 3);
        assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"b":3,"a":2}"#);
        assert!(serde_json::from_str::<Claims>("[1]").is_err());
        // Known names and others, escaped or not, read the same.
        let c: Claims = serde_json::from_str(r#"{"\u0065xp":1,"exp":2,"cust\u006fm":3,"custom":4}"#).unwrap();
        assert_eq!(c.keys().collect::<Vec<_>>(), ["exp", "custom"]);
        assert_eq!((c["exp"].as_i64(), c["custom"].as_i64()), (Some(2), Some(4)));
    }

    #[test]
    fn a_copy_changes_alone() {
        let original: Claims = serde_json::from_str(r#"{"a":1,"b":2}"#).unwrap();
        let mut copy = original.clone();
        copy.insert("a".into(), 3.into());
        copy.remove("b");
        copy.insert("c".into(), 4.into());
        assert_eq!(serde_json::to_string(&original).unwrap(), r#"{"a":1,"b":2}"#);
        assert_eq!(serde_json::to_string(&copy).unwrap(), r#"{"a":3,"c":4}"#);
    }
}
