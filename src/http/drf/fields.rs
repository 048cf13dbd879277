//! DRF's serializer fields, as far as Simple JWT's serializers use them: required
//! `CharField`s, trimmed, with DRF's messages, collected per field in field order.

use serde_json::{Map, Value};

use super::json::py_float_str;
use super::parsers::{Data, Input};

/// DRF's validation errors: field name (or `non_field_errors`) to messages.
#[derive(Debug, Default, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[schema(value_type = std::collections::BTreeMap<String, Vec<String>>)]
pub struct FieldErrors(Vec<(String, Vec<String>)>);

/// In the order of the serializer's fields: `{"username": ["…"], …}`.
impl serde::Serialize for FieldErrors {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(field, messages)| (field, messages)))
    }
}

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        match self.0.iter_mut().find(|(f, _)| f == field) {
            Some((_, messages)) => messages.push(message.into()),
            None => self.0.push((field.to_string(), vec![message.into()])),
        }
    }

    /// DRF's `{"non_field_errors": [message]}`.
    pub fn non_field(message: impl Into<String>) -> FieldErrors {
        let mut e = FieldErrors::default();
        e.add("non_field_errors", message);
        e
    }

    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        for (field, messages) in &self.0 {
            map.insert(field.clone(), messages.clone().into());
        }
        Value::Object(map)
    }
}

/// Python's `str.isspace()`, which `str.strip()` uses: Unicode white space plus the
/// separator controls U+001C–U+001F.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A required `CharField` (trim_whitespace, no blank): the trimmed text, or `None` with the
/// field's errors added.
pub fn char_field(data: &Data, name: &str, errors: &mut FieldErrors) -> Option<String> {
    let text = match data.get(name) {
        None => {
            errors.add(name, "This field is required.");
            return None;
        }
        Some(Input::Null) => {
            errors.add(name, "This field may not be null.");
            return None;
        }
        Some(Input::Str(s)) => {
            let trimmed = s.text.trim_matches(py_space);
            if trimmed.is_empty() {
                errors.add(name, "This field may not be blank.");
                return None;
            }
            let mut ok = true;
            // memchr's SIMD search: `str::contains` scans a token's ~200 bytes one at a time.
            if memchr::memchr(0, trimmed.as_bytes()).is_some() {
                errors.add(name, "Null characters are not allowed.");
                ok = false;
            }
            if let Some(cp) = s.surrogate {
                errors.add(name, format!("Surrogate characters are not allowed: U+{cp:X}."));
                ok = false;
            }
            if !ok {
                return None;
            }
            trimmed.to_string()
        }
        // DRF lets numbers through as their `str()`.
        Some(Input::Int(i)) => i.clone(),
        Some(Input::Float(f)) => py_float_str(*f),
        Some(Input::Bool(_) | Input::Composite | Input::File) => {
            errors.add(name, "Not a valid string.");
            return None;
        }
    };
    Some(text)
}

/// Validates the request data against a serializer made of required `CharField`s:
/// the values in field order, or the errors DRF would give.
pub fn char_fields<const N: usize>(data: &Data, names: [&str; N]) -> Result<[String; N], FieldErrors> {
    match data {
        Data::NotADict(type_name) => {
            return Err(FieldErrors::non_field(format!(
                "Invalid data. Expected a dictionary, but got {type_name}."
            )));
        }
        Data::NoData => return Err(FieldErrors::non_field("No data provided")),
        Data::Fields(_) => {}
    }
    let mut errors = FieldErrors::default();
    let values = names.map(|name| char_field(data, name, &mut errors).unwrap_or_default());
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// DRF's `BooleanField` values (`TRUE_VALUES`, `FALSE_VALUES`; `NULL_VALUES` give `None`),
/// as forms and query strings write them.
pub fn parse_boolean(text: &str) -> Result<Option<bool>, ()> {
    match text {
        "t" | "T" | "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON"
        | "1" => Ok(Some(true)),
        "f" | "F" | "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF"
        | "0" => Ok(Some(false)),
        "null" | "Null" | "NULL" | "" => Ok(None),
        _ => Err(()),
    }
}

/// An optional, not nullable `BooleanField`: `None` when absent or refused (the error
/// added).
pub fn boolean_field(data: &Data, name: &'static str, errors: &mut FieldErrors) -> Option<bool> {
    let invalid = "Must be a valid boolean.";
    let value = match data.get(name)? {
        Input::Bool(b) => Ok(Some(*b)),
        Input::Int(i) if i == "0" || i == "1" => Ok(Some(i == "1")),
        Input::Float(f) if *f == 0.0 || *f == 1.0 => Ok(Some(*f == 1.0)),
        Input::Str(s) => parse_boolean(&s.text),
        Input::Null => Ok(None),
        _ => Err(()),
    };
    match value {
        Ok(Some(b)) => Some(b),
        Ok(None) => {
            errors.add(name, "This field may not be null.");
            None
        }
        Err(()) => {
            errors.add(name, invalid);
            None
        }
    }
}

/// An optional `CharField`: `trim` as `trim_whitespace`, blank allowed or not. `None`
/// when absent or refused (the error added).
pub fn optional_char_field(
    data: &Data,
    name: &'static str,
    trim: bool,
    allow_blank: bool,
    errors: &mut FieldErrors,
) -> Option<String> {
    let text = match data.get(name)? {
        Input::Null => {
            errors.add(name, "This field may not be null.");
            return None;
        }
        Input::Str(s) => {
            let text = if trim {
                s.text.trim_matches(py_space)
            } else {
                s.text.as_str()
            };
            if text.is_empty() && !allow_blank {
                errors.add(name, "This field may not be blank.");
                return None;
            }
            let mut ok = true;
            if memchr::memchr(0, text.as_bytes()).is_some() {
                errors.add(name, "Null characters are not allowed.");
                ok = false;
            }
            if let Some(cp) = s.surrogate {
                errors.add(name, format!("Surrogate characters are not allowed: U+{cp:X}."));
                ok = false;
            }
            if !ok {
                return None;
            }
            text.to_string()
        }
        Input::Int(i) => i.clone(),
        Input::Float(f) => py_float_str(*f),
        Input::Bool(_) | Input::Composite | Input::File => {
            errors.add(name, "Not a valid string.");
            return None;
        }
    };
    Some(text)
}

/// DRF's check of the data's shape before any field: a dictionary.
pub fn expect_dict(data: &Data) -> Result<(), FieldErrors> {
    match data {
        Data::NotADict(type_name) => Err(FieldErrors::non_field(format!(
            "Invalid data. Expected a dictionary, but got {type_name}."
        ))),
        Data::NoData => Err(FieldErrors::non_field("No data provided")),
        Data::Fields(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::drf::parsers::parse;

    fn check(body: &str) -> Result<[String; 2], Value> {
        let data = parse(Some("application/json"), body.as_bytes()).unwrap();
        char_fields(&data, ["username", "password"]).map_err(|e| e.to_json())
    }

    /// Answers recorded from Simple JWT 5.5.1.
    #[test]
    fn drf_char_field_messages() {
        assert_eq!(
            check("{}").unwrap_err().to_string(),
            r#"{"username":["This field is required."],"password":["This field is required."]}"#
        );
        assert_eq!(
            check(r#"{"username":"","password":null}"#)
                .unwrap_err()
                .to_string(),
            r#"{"username":["This field may not be blank."],"password":["This field may not be null."]}"#
        );
        assert_eq!(
            check(r#"{"username":true,"password":[1]}"#)
                .unwrap_err()
                .to_string(),
            r#"{"username":["Not a valid string."],"password":["Not a valid string."]}"#
        );
        assert_eq!(
            check(r#"{"username":{},"password":1.5}"#)
                .unwrap_err()
                .to_string(),
            r#"{"username":["Not a valid string."]}"#
        );
        assert_eq!(
            check(r#"{"username":"a\u0000b","password":"x"}"#)
                .unwrap_err()
                .to_string(),
            r#"{"username":["Null characters are not allowed."]}"#
        );
        assert_eq!(
            check(r#"{"username":"\ud800","password":"x"}"#)
                .unwrap_err()
                .to_string(),
            r#"{"username":["Surrogate characters are not allowed: U+D800."]}"#
        );
        assert_eq!(
            check(r#"{"username":"   ","password":"x"}"#)
                .unwrap_err()
                .to_string(),
            r#"{"username":["This field may not be blank."]}"#
        );
        assert_eq!(
            check("[]").unwrap_err().to_string(),
            r#"{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}"#
        );
        assert_eq!(
            check("null").unwrap_err().to_string(),
            r#"{"non_field_errors":["No data provided"]}"#
        );
        assert_eq!(
            check("12").unwrap_err().to_string(),
            r#"{"non_field_errors":["Invalid data. Expected a dictionary, but got int."]}"#
        );
    }

    #[test]
    fn values_are_trimmed_and_numbers_stringified() {
        assert_eq!(
            check(r#"{"username":" alice ","password":" pw  "}"#).unwrap(),
            ["alice", "pw"]
        );
        assert_eq!(
            check(r#"{"username":123,"password":1e20}"#).unwrap(),
            ["123", "1e+20"]
        );
    }
}
