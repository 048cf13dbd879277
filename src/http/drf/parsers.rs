//! Request bodies as DRF's parsers read them: JSON, form-encoded or multipart, chosen by
//! `Content-Type`; an empty body is empty data whatever its type; anything else is 415.

use super::json::{self, PyStr, PyValue};

/// One submitted value.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Null,
    Bool(bool),
    Int(String),
    Float(f64),
    Str(PyStr),
    /// A list or an object.
    Composite,
    /// An uploaded file (a multipart part with a filename).
    File,
}

/// What `request.data` holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    Fields(Vec<(String, Input)>),
    /// The body was JSON but not an object: Python's type name.
    NotADict(&'static str),
    /// The body was JSON `null`.
    NoData,
}

impl Data {
    /// A field's value; the last one when a form repeats a key, as `QueryDict.get` does.
    pub fn get(&self, name: &str) -> Option<&Input> {
        match self {
            Data::Fields(fields) => fields.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseFailure {
    /// 400 `{"detail": …}`
    Parse(String),
    /// 415, with the media type as DRF prints it.
    UnsupportedMediaType(String),
}

pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Data, ParseFailure> {
    if body.is_empty() {
        return Ok(Data::Fields(Vec::new()));
    }
    // The usual header, exactly: no need to take it apart.
    if content_type.is_some_and(|c| c.eq_ignore_ascii_case("application/json")) {
        return parse_json(body);
    }
    let media = MediaType::parse(content_type.unwrap_or(""));
    if media.matches("application", "json") {
        parse_json(body)
    } else if media.matches("application", "x-www-form-urlencoded") {
        Ok(Data::Fields(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), Input::Str(v.into_owned().into())))
                .collect(),
        ))
    } else if media.matches("multipart", "form-data") {
        let boundary = media
            .param("boundary")
            .filter(|b| valid_boundary(b))
            .ok_or_else(|| {
                ParseFailure::Parse(format!(
                    "Multipart form parse error - Invalid boundary in multipart: {}",
                    media.param("boundary").unwrap_or("None")
                ))
            })?;
        Ok(Data::Fields(multipart(body, boundary.as_bytes())))
    } else {
        Err(ParseFailure::UnsupportedMediaType(
            media.full.to_ascii_lowercase(),
        ))
    }
}

fn parse_json(body: &[u8]) -> Result<Data, ParseFailure> {
    let value = json::parse(body).map_err(|e| ParseFailure::Parse(format!("JSON parse error - {e}")))?;
    Ok(match value {
        PyValue::Dict(pairs) => Data::Fields(pairs.into_iter().map(|(k, v)| (k, input(v))).collect()),
        PyValue::Null => Data::NoData,
        other => Data::NotADict(json::type_name(&other)),
    })
}

fn input(v: PyValue) -> Input {
    match v {
        PyValue::Null => Input::Null,
        PyValue::Bool(b) => Input::Bool(b),
        PyValue::Int(i) => Input::Int(i),
        PyValue::Float(f) => Input::Float(f),
        PyValue::Str(s) => Input::Str(s),
        PyValue::List(_) | PyValue::Dict(_) => Input::Composite,
    }
}

/// DRF's `_MediaType`: `type/subtype` and parameters, compared without regard to case (as
/// Django lower-cases them), read in place.
struct MediaType<'a> {
    full: &'a str,
    main: &'a str,
    sub: &'a str,
    params: &'a str,
}

impl<'a> MediaType<'a> {
    fn parse(header: &'a str) -> MediaType<'a> {
        let (full, params) = header.split_once(';').unwrap_or((header, ""));
        let full = full.trim();
        let (main, sub) = full
            .split_once('/')
            .map_or((full, ""), |(m, s)| (m.trim(), s.trim()));
        MediaType {
            full,
            main,
            sub,
            params,
        }
    }

    /// Whether a parser for `main/sub` accepts this type (wildcards match, as in DRF).
    fn matches(&self, main: &str, sub: &str) -> bool {
        (self.sub == "*" || self.sub.eq_ignore_ascii_case(sub))
            && (self.main == "*" || self.main.eq_ignore_ascii_case(main))
    }

    fn param(&self, name: &str) -> Option<&'a str> {
        self.params.split(';').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().trim_matches('"'))
        })
    }
}

/// Django's boundary pattern: up to 200 printable characters, not ending in a space.
fn valid_boundary(b: &str) -> bool {
    !b.is_empty() && b.len() <= 201 && b.bytes().all(|c| (b' '..=b'~').contains(&c)) && !b.ends_with(' ')
}

/// The form fields of a multipart body. Like Django's parser it is lenient: a malformed
/// tail is dropped and what came before is kept.
fn multipart(body: &[u8], boundary: &[u8]) -> Vec<(String, Input)> {
    let mut delimiter = b"--".to_vec();
    delimiter.extend_from_slice(boundary);
    let mut fields = Vec::new();
    let Some(mut pos) = find(body, &delimiter, 0) else {
        return fields;
    };
    loop {
        pos += delimiter.len();
        if body[pos..].starts_with(b"--") {
            break;
        }
        let Some(headers_start) = skip_newline(body, pos) else {
            break;
        };
        let Some(headers_end) = find(body, b"\r\n\r\n", headers_start) else {
            break;
        };
        let content_start = headers_end + 4;
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(&delimiter);
        let Some(content_end) = find(body, &closing, content_start) else {
            break;
        };
        let headers = String::from_utf8_lossy(&body[headers_start..headers_end]);
        if let Some((name, is_file)) = disposition(&headers) {
            let value = if is_file {
                Input::File
            } else {
                Input::Str(
                    String::from_utf8_lossy(&body[content_start..content_end])
                        .into_owned()
                        .into(),
                )
            };
            fields.push((name, value));
        }
        pos = content_end + 2;
    }
    fields
}

fn skip_newline(body: &[u8], pos: usize) -> Option<usize> {
    if body[pos..].starts_with(b"\r\n") {
        Some(pos + 2)
    } else if body[pos..].starts_with(b"\n") {
        Some(pos + 1)
    } else {
        None
    }
}

/// `name` from a part's `Content-Disposition: form-data; name="…"`, and whether it has a
/// filename (a file upload).
fn disposition(headers: &str) -> Option<(String, bool)> {
    let line = headers
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
    let mut name = None;
    let mut is_file = false;
    for param in line.split(';').skip(1) {
        let Some((k, v)) = param.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(v),
            "filename" | "filename*" => is_file = true,
            _ => {}
        }
    }
    Some((name?, is_file))
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Input {
        Input::Str(text.to_string().into())
    }

    #[test]
    fn json_form_and_multipart() {
        let d = parse(
            Some("application/json; charset=utf-8"),
            br#"{"username":"a","n":1}"#,
        )
        .unwrap();
        assert_eq!(d.get("username"), Some(&s("a")));
        assert_eq!(d.get("n"), Some(&Input::Int("1".into())));
        // The plain header (read without taking it apart) and its other spellings.
        for ct in [
            "application/json",
            "Application/JSON",
            " application / json ",
            "application/*",
        ] {
            assert_eq!(
                parse(Some(ct), br#"{"n":2}"#).unwrap().get("n"),
                Some(&Input::Int("2".into())),
                "{ct}"
            );
        }
        let d = parse(
            Some("application/x-www-form-urlencoded"),
            b"username=a+b&password=x&password=y",
        )
        .unwrap();
        assert_eq!(d.get("username"), Some(&s("a b")));
        assert_eq!(d.get("password"), Some(&s("y")));
        let body = b"--zz\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n--zz\r\n\
            Content-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n\r\ndata\r\n--zz--\r\n";
        let d = parse(Some("multipart/form-data; boundary=zz"), body).unwrap();
        assert_eq!(d.get("username"), Some(&s("alice")));
        assert_eq!(d.get("f"), Some(&Input::File));
    }

    #[test]
    fn drf_answers_for_other_bodies() {
        assert_eq!(parse(Some("text/plain"), b"").unwrap(), Data::Fields(vec![]));
        assert_eq!(
            parse(Some("Text/Plain; charset=x"), b"x"),
            Err(ParseFailure::UnsupportedMediaType("text/plain".into()))
        );
        assert_eq!(
            parse(None, b"x"),
            Err(ParseFailure::UnsupportedMediaType(String::new()))
        );
        assert_eq!(
            parse(Some("application/json"), b"[]").unwrap(),
            Data::NotADict("list")
        );
        assert_eq!(parse(Some("application/json"), b"null").unwrap(), Data::NoData);
        assert_eq!(
            parse(Some("multipart/form-data"), b"xx"),
            Err(ParseFailure::Parse(
                "Multipart form parse error - Invalid boundary in multipart: None".into()
            ))
        );
        assert_eq!(
            parse(Some("multipart/form-data; boundary=zz"), b"xx").unwrap(),
            Data::Fields(vec![])
        );
        assert!(parse(Some("*/*"), b"{}").is_ok());
    }
}
