//! DRF's `SearchFilter.get_search_terms` (3.18): the `search` value is validated as a
//! `CharField` (no NUL) and split with `search_smart_split`, which is Django's `smart_split`
//! (whitespace, except inside quotes) followed by DRF's own comma handling: a quoted phrase
//! is one term, unquoted tokens are split at commas.

/// DRF's `CharField` refuses a NUL with this `ValidationError`, raised from the filter: 400
/// with the list as the body.
pub const NULL_CHARACTERS: &str = "Null characters are not allowed.";

/// The search terms of `search=`, or DRF's refusal.
pub fn search_terms(value: &str) -> Result<Vec<String>, &'static str> {
    if value.contains('\0') {
        return Err(NULL_CHARACTERS);
    }
    let mut terms = Vec::new();
    for token in smart_split(value) {
        let term = token.trim_matches(',');
        let quoted = term.starts_with(['"', '\'']) && term.chars().next() == term.chars().last();
        if quoted {
            terms.push(unescape_string_literal(term));
        } else {
            for sub in term.split(',').filter(|s| !s.is_empty()) {
                terms.push(sub.trim_matches(is_space).to_string());
            }
        }
    }
    Ok(terms)
}

/// Python's `str.isspace`, which `\s` and `strip()` follow: Unicode's white space and the
/// four information separators (U+001C to U+001F).
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Django's `smart_split`: the matches of
/// `(?:[^\s'"]*(?:(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')[^\s'"]*)+)|\S+`, in order.
fn smart_split(text: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(text.len(), |&(at, _)| at);
    let plain = |c: char| !is_space(c) && c != '"' && c != '\'';
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if is_space(chars[i].1) {
            i += 1;
            continue;
        }
        // The first alternative: plain characters around at least one closed quotation.
        let mut j = i;
        while j < chars.len() && plain(chars[j].1) {
            j += 1;
        }
        let mut end = None;
        while let Some(close) = quotation_end(&chars, j) {
            j = close;
            while j < chars.len() && plain(chars[j].1) {
                j += 1;
            }
            end = Some(j);
        }
        // Else `\S+`.
        let j = end.unwrap_or_else(|| {
            let mut j = i;
            while j < chars.len() && !is_space(chars[j].1) {
                j += 1;
            }
            j
        });
        tokens.push(&text[end_of(i)..end_of(j)]);
        i = j;
    }
    tokens
}

/// Where a quotation opening at `at` ends (just after its closing quote), if it closes. A
/// backslash escapes any character but a newline (the pattern's `\\.`).
fn quotation_end(chars: &[(usize, char)], at: usize) -> Option<usize> {
    let quote = chars
        .get(at)
        .map(|&(_, c)| c)
        .filter(|c| *c == '"' || *c == '\'')?;
    let mut i = at + 1;
    loop {
        match chars.get(i)?.1 {
            c if c == quote => return Some(i + 1),
            '\\' => match chars.get(i + 1)?.1 {
                '\n' => return None,
                _ => i += 2,
            },
            _ => i += 1,
        }
    }
}

/// Django's `unescape_string_literal` of a term that starts and ends with the same quote.
fn unescape_string_literal(s: &str) -> String {
    let quote = s.chars().next().expect("a quoted term");
    let inner = if s.len() > 1 { &s[1..s.len() - 1] } else { "" };
    inner
        .replace(&format!("\\{quote}"), &quote.to_string())
        .replace("\\\\", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each answer is DRF 3.18.3's `search_smart_split` (Django 5.2's `smart_split`).
    #[test]
    fn splits_as_drf() {
        let cases: &[(&str, &[&str])] = &[
            ("a b,c", &["a", "b", "c"]),
            ("\"Mary Ann\" x", &["Mary Ann", "x"]),
            ("'it\\'s' \"a\\\"b\"", &["it's", "a\"b"]),
            ("\"", &[""]),
            (",,a,,b,", &["a", "b"]),
            ("a\"b c\"d", &["a\"b c\"d"]),
            ("\"unclosed x", &["\"unclosed", "x"]),
            ("  ", &[]),
            ("x,\"y z\",w", &["x", "\"y z\"", "w"]),
            ("\"a b\",c", &["\"a b\"", "c"]),
            ("é\u{a0}f", &["é", "f"]),
            ("\\\"a b\\\"", &["\\\"a", "b\\\""]),
            ("''", &[""]),
            ("\"\"", &[""]),
            ("\"a ,b\"c", &["\"a", "b\"c"]),
            ("\"a\"'b", &["a", "'b"]),
            ("a\u{1f}b", &["a", "b"]),
            ("\"a\\\nb\" c", &["\"a\\", "b\"", "c"]),
        ];
        for (value, terms) in cases {
            assert_eq!(search_terms(value).unwrap(), *terms, "{value:?}");
        }
        assert_eq!(search_terms("ab\0c"), Err(NULL_CHARACTERS));
    }
}
