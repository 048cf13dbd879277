//! Request JSON as DRF reads it (Python's `json` module): the same values, and the same
//! error messages (`Expecting ',' delimiter: line 1 column 8 (char 7)`), which DRF puts in
//! its 400 answers. serde_json parses first; only what it refuses — errors, and the lone
//! surrogates Python accepts — goes through the slower reader below, which follows
//! CPython's `_json` scanner.

/// A JSON value with Python's view of strings and numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    Null,
    Bool(bool),
    /// An integer, as `str()` prints it.
    Int(String),
    Float(f64),
    Str(PyStr),
    List(Vec<PyValue>),
    /// Key/value pairs in order; a repeated key: the last one wins, as in a Python dict.
    Dict(Vec<(String, PyValue)>),
}

/// A Python string: may hold a lone surrogate, which Rust strings cannot (it is replaced by
/// U+FFFD in `text` and remembered, since DRF refuses such strings by code point).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyStr {
    pub text: String,
    pub surrogate: Option<u32>,
}

impl From<String> for PyStr {
    fn from(text: String) -> Self {
        PyStr {
            text,
            surrogate: None,
        }
    }
}

/// Parses a request body the way DRF's JSONParser does; the error is the text after
/// "JSON parse error - ". Only the top level is kept: a nested list or object stands as an
/// empty one (serializers see "not a string" either way). A repeated key is kept twice;
/// readers take the last, as a Python dict would.
pub fn parse(body: &[u8]) -> Result<PyValue, String> {
    match serde_json::from_slice::<Shallow<true>>(body) {
        Ok(Shallow(v)) => Ok(v),
        Err(_) => slow_parse(body),
    }
}

/// serde's view of a request body, built straight into a `PyValue` in one pass; `TOP`: the
/// body itself, whose object members are read, while deeper containers are skipped.
struct Shallow<const TOP: bool>(PyValue);

impl<'de, const TOP: bool> serde::Deserialize<'de> for Shallow<TOP> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShallowVisitor::<TOP>).map(Shallow)
    }
}

struct ShallowVisitor<const TOP: bool>;

impl<'de, const TOP: bool> serde::de::Visitor<'de> for ShallowVisitor<TOP> {
    type Value = PyValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_unit<E>(self) -> Result<PyValue, E> {
        Ok(PyValue::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<PyValue, E> {
        Ok(PyValue::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<PyValue, E> {
        Ok(PyValue::Int(i.to_string()))
    }
    fn visit_u64<E>(self, u: u64) -> Result<PyValue, E> {
        Ok(PyValue::Int(u.to_string()))
    }
    fn visit_f64<E>(self, f: f64) -> Result<PyValue, E> {
        Ok(PyValue::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<PyValue, E> {
        Ok(PyValue::Str(s.to_string().into()))
    }
    fn visit_string<E>(self, s: String) -> Result<PyValue, E> {
        Ok(PyValue::Str(s.into()))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<PyValue, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(PyValue::List(Vec::new()))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<PyValue, A::Error> {
        // Room for a login body (username, password) without growing.
        let mut pairs = Vec::with_capacity(if TOP { 2 } else { 0 });
        if TOP {
            while let Some((key, Shallow(value))) = map.next_entry::<String, Shallow<false>>()? {
                pairs.push((key, value));
            }
        } else {
            while map
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {}
        }
        Ok(PyValue::Dict(pairs))
    }
}

/// Python's `type(x).__name__`, for DRF's "Expected a dictionary, but got list."
pub fn type_name(v: &PyValue) -> &'static str {
    match v {
        PyValue::Null => "NoneType",
        PyValue::Bool(_) => "bool",
        PyValue::Int(_) => "int",
        PyValue::Float(_) => "float",
        PyValue::Str(_) => "str",
        PyValue::List(_) => "list",
        PyValue::Dict(_) => "dict",
    }
}

/// Python's `repr(float)` (which `str()` uses): shortest round-trip digits, in exponent form
/// below 1e-4 and from 1e16 on.
pub fn py_float_str(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let decpt = exp + 1;
    let body = if decpt <= -4 || decpt > 16 {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{first}{frac}e{esign}{:02}", exp.abs())
    } else if decpt <= 0 {
        format!("0.{}{digits}", "0".repeat((-decpt) as usize))
    } else if decpt as usize >= digits.len() {
        format!("{digits}{}.0", "0".repeat(decpt as usize - digits.len()))
    } else {
        let (int, frac) = digits.split_at(decpt as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
}

// --- the Python-compatible reader --------------------------------------------------------

const MAX_DEPTH: usize = 512;

fn slow_parse(body: &[u8]) -> Result<PyValue, String> {
    let text = std::str::from_utf8(body).map_err(|e| utf8_error(body, e))?;
    let chars: Vec<char> = text.chars().collect();
    let mut p = Reader { s: &chars, depth: 0 };
    if chars.first() == Some(&'\u{feff}') {
        return Err(p.err("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0));
    }
    let start = p.skip_ws(0);
    let (value, end) = p.value(start)?;
    let end = p.skip_ws(end);
    if end != chars.len() {
        return Err(p.err("Extra data", end));
    }
    Ok(value)
}

/// Python's UnicodeDecodeError text for a body that is not UTF-8.
fn utf8_error(body: &[u8], e: std::str::Utf8Error) -> String {
    let start = e.valid_up_to();
    let (end, reason) = match e.error_len() {
        None => (body.len(), "unexpected end of data"),
        Some(1) if !matches!(body[start], 0xc2..=0xf4) => (start + 1, "invalid start byte"),
        Some(n) => (start + n, "invalid continuation byte"),
    };
    if end - start == 1 {
        format!(
            "'utf-8' codec can't decode byte 0x{:02x} in position {start}: {reason}",
            body[start]
        )
    } else {
        format!(
            "'utf-8' codec can't decode bytes in position {start}-{}: {reason}",
            end - 1
        )
    }
}

struct Reader<'a> {
    s: &'a [char],
    depth: usize,
}

type Step<T> = Result<(T, usize), String>;

impl Reader<'_> {
    /// `JSONDecodeError(msg, doc, pos)`'s text.
    fn err(&self, msg: &str, pos: usize) -> String {
        let before = &self.s[..pos.min(self.s.len())];
        let line = before.iter().filter(|c| **c == '\n').count() + 1;
        let col = match before.iter().rposition(|c| *c == '\n') {
            Some(nl) => pos - nl,
            None => pos + 1,
        };
        format!("{msg}: line {line} column {col} (char {pos})")
    }

    fn at(&self, i: usize) -> Option<char> {
        self.s.get(i).copied()
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while matches!(self.at(i), Some(' ' | '\t' | '\n' | '\r')) {
            i += 1;
        }
        i
    }

    fn starts_with(&self, i: usize, word: &str) -> bool {
        word.chars().enumerate().all(|(k, c)| self.at(i + k) == Some(c))
    }

    /// `scan_once`
    fn value(&mut self, i: usize) -> Step<PyValue> {
        let expecting_value = || self.err("Expecting value", i);
        match self.at(i) {
            None => Err(expecting_value()),
            Some('"') => {
                let (s, end) = self.string(i + 1)?;
                Ok((PyValue::Str(s), end))
            }
            Some('{') => self.nested(|r| r.object(i + 1)),
            Some('[') => self.nested(|r| r.array(i + 1)),
            Some('n') if self.starts_with(i, "null") => Ok((PyValue::Null, i + 4)),
            Some('t') if self.starts_with(i, "true") => Ok((PyValue::Bool(true), i + 4)),
            Some('f') if self.starts_with(i, "false") => Ok((PyValue::Bool(false), i + 5)),
            // DRF parses with strict constants: NaN and infinities are refused outright.
            Some('N') if self.starts_with(i, "NaN") => Err(constant("NaN")),
            Some('I') if self.starts_with(i, "Infinity") => Err(constant("Infinity")),
            Some('-') if self.starts_with(i, "-Infinity") => Err(constant("-Infinity")),
            _ => self.number(i).ok_or_else(expecting_value),
        }
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self) -> Step<PyValue>) -> Step<PyValue> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("maximum recursion depth exceeded while decoding a JSON document".into());
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// `_match_number_unicode`
    fn number(&self, start: usize) -> Option<(PyValue, usize)> {
        let digit = |i: usize| self.at(i).is_some_and(|c| c.is_ascii_digit());
        let mut i = start;
        if self.at(i) == Some('-') {
            i += 1;
        }
        match self.at(i) {
            Some('1'..='9') => {
                i += 1;
                while digit(i) {
                    i += 1;
                }
            }
            Some('0') => i += 1,
            _ => return None,
        }
        let mut is_float = false;
        if self.at(i) == Some('.') && digit(i + 1) {
            is_float = true;
            i += 2;
            while digit(i) {
                i += 1;
            }
        }
        if matches!(self.at(i), Some('e' | 'E')) {
            let e_start = i;
            i += 1;
            if matches!(self.at(i), Some('-' | '+')) {
                i += 1;
            }
            let digits_start = i;
            while digit(i) {
                i += 1;
            }
            if i > digits_start {
                is_float = true;
            } else {
                i = e_start;
            }
        }
        let text: String = self.s[start..i].iter().collect();
        let value = if is_float {
            PyValue::Float(text.parse().unwrap_or(f64::INFINITY))
        } else {
            // Python ints have no size limit; `str()` prints them canonically.
            let canonical = text
                .strip_prefix('-')
                .filter(|d| d.chars().all(|c| c == '0'))
                .map_or(text.clone(), |_| "0".into());
            PyValue::Int(canonical)
        };
        Some((value, i))
    }

    /// `scanstring_unicode`; `end` is the index after the opening quote.
    fn string(&self, end: usize) -> Step<PyStr> {
        let begin = end - 1;
        let unterminated = || self.err("Unterminated string starting at", begin);
        let mut out = String::new();
        let mut surrogate = None;
        let mut i = end;
        loop {
            let c = self.at(i).ok_or_else(unterminated)?;
            match c {
                '"' => return Ok((PyStr { text: out, surrogate }, i + 1)),
                '\\' => {
                    let esc = self.at(i + 1).ok_or_else(unterminated)?;
                    if esc != 'u' {
                        out.push(match esc {
                            '"' => '"',
                            '\\' => '\\',
                            '/' => '/',
                            'b' => '\u{8}',
                            'f' => '\u{c}',
                            'n' => '\n',
                            'r' => '\r',
                            't' => '\t',
                            _ => return Err(self.err("Invalid \\escape", i)),
                        });
                        i += 2;
                        continue;
                    }
                    let mut cp = self
                        .hex4(i + 2)
                        .ok_or_else(|| self.err("Invalid \\uXXXX escape", i + 1))?;
                    i += 6;
                    if (0xd800..0xdc00).contains(&cp)
                        && i + 6 < self.s.len()
                        && self.at(i) == Some('\\')
                        && self.at(i + 1) == Some('u')
                    {
                        let low = self
                            .hex4(i + 2)
                            .ok_or_else(|| self.err("Invalid \\uXXXX escape", i + 1))?;
                        if (0xdc00..0xe000).contains(&low) {
                            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                            i += 6;
                        }
                    }
                    match char::from_u32(cp) {
                        Some(ch) => out.push(ch),
                        None => {
                            surrogate.get_or_insert(cp);
                            out.push('\u{fffd}');
                        }
                    }
                }
                c if (c as u32) < 0x20 => return Err(self.err("Invalid control character at", i)),
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
    }

    /// Four hex digits at `i`; like CPython, a character must follow them.
    fn hex4(&self, i: usize) -> Option<u32> {
        if i + 4 >= self.s.len() {
            return None;
        }
        self.s[i..i + 4]
            .iter()
            .try_fold(0u32, |acc, c| Some(acc * 16 + c.to_digit(16)?))
    }

    /// `_parse_object_unicode`; `i` is after the `{`.
    fn object(&mut self, i: usize) -> Step<PyValue> {
        let mut pairs: Vec<(String, PyValue)> = Vec::new();
        let mut i = self.skip_ws(i);
        if self.at(i) == Some('}') {
            return Ok((PyValue::Dict(pairs), i + 1));
        }
        loop {
            if self.at(i) != Some('"') {
                return Err(self.err("Expecting property name enclosed in double quotes", i));
            }
            let (key, next) = self.string(i + 1)?;
            i = self.skip_ws(next);
            if self.at(i) != Some(':') {
                return Err(self.err("Expecting ':' delimiter", i));
            }
            i = self.skip_ws(i + 1);
            let (value, next) = self.value(i)?;
            pairs.push((key.text, value));
            i = self.skip_ws(next);
            match self.at(i) {
                Some('}') => return Ok((PyValue::Dict(pairs), i + 1)),
                Some(',') => i = self.skip_ws(i + 1),
                _ => return Err(self.err("Expecting ',' delimiter", i)),
            }
        }
    }

    /// `_parse_array_unicode`; `i` is after the `[`.
    fn array(&mut self, i: usize) -> Step<PyValue> {
        let mut items = Vec::new();
        let mut i = self.skip_ws(i);
        if self.at(i) == Some(']') {
            return Ok((PyValue::List(items), i + 1));
        }
        loop {
            let (value, next) = self.value(i)?;
            items.push(value);
            i = self.skip_ws(next);
            match self.at(i) {
                Some(']') => return Ok((PyValue::List(items), i + 1)),
                Some(',') => i = self.skip_ws(i + 1),
                _ => return Err(self.err("Expecting ',' delimiter", i)),
            }
        }
    }
}

fn constant(name: &str) -> String {
    format!("Out of range float values are not JSON compliant: '{name}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages recorded from Simple JWT 5.5.1 on Python 3.11 (DRF's "JSON parse error - …").
    #[test]
    fn errors_match_python() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"{bad",
                "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
            ),
            (b" ", "Expecting value: line 1 column 2 (char 1)"),
            (
                b"{\"a\":1,}",
                "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)",
            ),
            (b"{\"a\" 1}", "Expecting ':' delimiter: line 1 column 6 (char 5)"),
            (
                b"{\"a\":1 \"b\":2}",
                "Expecting ',' delimiter: line 1 column 8 (char 7)",
            ),
            (
                b"{\"a\":\"x",
                "Unterminated string starting at: line 1 column 6 (char 5)",
            ),
            (b"{\"a\":tru}", "Expecting value: line 1 column 6 (char 5)"),
            (b"[1,2", "Expecting ',' delimiter: line 1 column 5 (char 4)"),
            (b"{\"a\":1}x", "Extra data: line 1 column 8 (char 7)"),
            (b"{\"a\":\"\\q\"}", "Invalid \\escape: line 1 column 7 (char 6)"),
            (
                b"{\"a\":\"\\u12\"}",
                "Invalid \\uXXXX escape: line 1 column 8 (char 7)",
            ),
            (
                b"{\"a\":NaN}",
                "Out of range float values are not JSON compliant: 'NaN'",
            ),
            (
                b"{\"a\":Infinity}",
                "Out of range float values are not JSON compliant: 'Infinity'",
            ),
            (b"{\"a\":-}", "Expecting value: line 1 column 6 (char 5)"),
            (b"{\"a\":01}", "Expecting ',' delimiter: line 1 column 7 (char 6)"),
            (
                b"{\"a\":\"\x01\"}",
                "Invalid control character at: line 1 column 7 (char 6)",
            ),
            (
                b"\xff",
                "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
            ),
            (
                "{\"a\":\"é\" x".as_bytes(),
                "Expecting ',' delimiter: line 1 column 10 (char 9)",
            ),
            (b"{\"a\":1.}", "Expecting ',' delimiter: line 1 column 7 (char 6)"),
            (
                b"\n\n  {\"a\":\n  x}",
                "Expecting value: line 4 column 3 (char 12)",
            ),
            (
                "  {\"€\":x}".as_bytes(),
                "Expecting value: line 1 column 8 (char 7)",
            ),
            (b"{\"a\":[1,]}", "Expecting value: line 1 column 9 (char 8)"),
            (
                b"\xef\xbb\xbf{}",
                "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)",
            ),
            (
                b"\xe2\x82",
                "'utf-8' codec can't decode bytes in position 0-1: unexpected end of data",
            ),
            (
                b"\xe2x",
                "'utf-8' codec can't decode byte 0xe2 in position 0: invalid continuation byte",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                parse(body).unwrap_err(),
                *want,
                "body {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn lone_surrogates_are_kept_track_of() {
        let v = parse(br#"{"u":"a\ud800b","p":"\ud83d\ude00"}"#).unwrap();
        let PyValue::Dict(pairs) = v else { panic!() };
        assert_eq!(
            pairs[0].1,
            PyValue::Str(PyStr {
                text: "a\u{fffd}b".into(),
                surrogate: Some(0xd800)
            })
        );
        assert_eq!(pairs[1].1, PyValue::Str("😀".to_string().into()));
    }

    #[test]
    fn repeated_keys_are_all_kept_in_order() {
        let v = parse(br#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(
            v,
            PyValue::Dict(vec![
                ("a".into(), PyValue::Int("1".into())),
                ("a".into(), PyValue::Int("2".into()))
            ])
        );
        // The slower Python-compatible reader (lone surrogates) keeps repeats too.
        let PyValue::Dict(pairs) = parse(br#"{"a":"\ud800","a":[{"b":1}]}"#).unwrap() else {
            panic!()
        };
        assert_eq!(pairs.len(), 2);
        assert!(matches!(pairs[1], (ref k, PyValue::List(_)) if k == "a"));
    }

    #[test]
    fn floats_print_as_python_does() {
        for (f, s) in [
            (1.5, "1.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e-7, "1e-07"),
            (100.0, "100.0"),
            (-0.0, "-0.0"),
            (1e20, "1e+20"),
            (123456.789, "123456.789"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(py_float_str(f), s);
        }
    }
}
