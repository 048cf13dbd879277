//! DRF's `PageNumberPagination` with `page_size_query_param = "page_size"` and
//! `max_page_size`: the page and its size from the query string, Django's `Paginator`'s
//! page checks (any refusal is DRF's 404 "Invalid page."), and the `next` and `previous`
//! links as `request.build_absolute_uri()` with the page parameter replaced (or, for the
//! first page, removed).

use std::collections::BTreeMap;

/// `page_size`, and `max_page_size`.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 100;

/// DRF's `invalid_page_message`.
pub const INVALID_PAGE: &str = "Invalid page.";

/// The query string's values; the last of a repeated key, as `QueryDict.get` gives it.
pub fn query_value<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

pub fn parse_query(query_string: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query_string.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Python's `int()` of a query value: surrounding white space, a sign, `_` between digits.
fn python_int(text: &str) -> Option<i64> {
    let t = text.trim();
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'+') => (false, &t[1..]),
        Some(b'-') => (true, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let n: i64 = digits.replace('_', "").parse().ok()?;
    Some(if negative { -n } else { n })
}

/// `get_page_size`: `page_size` when it is a positive integer (capped), else the default.
pub fn page_size(query: &[(String, String)]) -> i64 {
    query_value(query, "page_size")
        .and_then(python_int)
        .filter(|n| *n > 0)
        .map_or(DEFAULT_PAGE_SIZE, |n| n.min(MAX_PAGE_SIZE))
}

/// The page asked for: a number, or `last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAsked {
    Number(i64),
    Last,
    Invalid,
}

pub fn page_asked(query: &[(String, String)]) -> PageAsked {
    match query_value(query, "page") {
        None => PageAsked::Number(1),
        Some("last") => PageAsked::Last,
        Some(text) => python_int(text).map_or(PageAsked::Invalid, PageAsked::Number),
    }
}

/// Django's `Paginator.num_pages` (an empty first page allowed).
pub fn num_pages(count: i64, size: i64) -> i64 {
    ((count.max(1) + size - 1) / size).max(1)
}

/// Django's `validate_number`: the page, if it exists.
pub fn check_page(number: i64, count: i64, size: i64) -> Option<i64> {
    (number >= 1 && number <= num_pages(count, size)).then_some(number)
}

/// Python's `urlencode` (`quote_plus`, nothing kept but letters, digits and `_.-~`).
fn quote_plus(s: &str, out: &mut String) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
}

/// DRF's `replace_query_param` (`page = Some`) or `remove_query_param` (`None`): the query
/// parsed, the key set or removed, and written again sorted by key.
pub fn with_page(origin: &str, path: &str, query: &[(String, String)], page: Option<i64>) -> String {
    let mut keys: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in query {
        keys.entry(k).or_default().push(v);
    }
    let number = page.map(|p| p.to_string());
    match &number {
        Some(n) => {
            keys.insert("page", vec![n]);
        }
        None => {
            keys.remove("page");
        }
    }
    let mut url = format!("{origin}{path}");
    let mut first = true;
    for (k, values) in keys {
        for v in values {
            url.push(if first { '?' } else { '&' });
            first = false;
            quote_plus(k, &mut url);
            url.push('=');
            quote_plus(v, &mut url);
        }
    }
    url
}

/// `get_next_link` and `get_previous_link`.
pub fn links(
    origin: &str,
    path: &str,
    query: &[(String, String)],
    number: i64,
    pages: i64,
) -> (Option<String>, Option<String>) {
    let next = (number < pages).then(|| with_page(origin, path, query, Some(number + 1)));
    let previous = (number > 1).then(|| {
        let p = number - 1;
        with_page(origin, path, query, (p != 1).then_some(p))
    });
    (next, previous)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_as_drf_reads_them() {
        let q = |s: &str| parse_query(s);
        assert_eq!(page_size(&q("")), 50);
        assert_eq!(page_size(&q("page_size=0")), 50);
        assert_eq!(page_size(&q("page_size=-3")), 50);
        assert_eq!(page_size(&q("page_size=x")), 50);
        assert_eq!(page_size(&q("page_size=7")), 7);
        assert_eq!(page_size(&q("page_size=1_0")), 10);
        assert_eq!(page_size(&q("page_size=1000")), 100);
    }

    #[test]
    fn pages_as_django_checks_them() {
        assert_eq!(check_page(1, 0, 50), Some(1));
        assert_eq!(check_page(2, 0, 50), None);
        assert_eq!(check_page(0, 10, 50), None);
        assert_eq!(check_page(3, 101, 50), Some(3));
        assert_eq!(check_page(4, 101, 50), None);
        assert_eq!(page_asked(&parse_query("page=+2")), PageAsked::Number(2));
        assert_eq!(page_asked(&parse_query("page=2.0")), PageAsked::Invalid);
    }

    #[test]
    fn links_replace_or_remove_the_page_sorted_by_key() {
        let q = parse_query("search=a+b&page=2&ordering=-id&x=%40");
        let (next, previous) = links("http://h", "/api/admin/users/", &q, 2, 3);
        assert_eq!(
            next.unwrap(),
            "http://h/api/admin/users/?ordering=-id&page=3&search=a+b&x=%40"
        );
        assert_eq!(
            previous.unwrap(),
            "http://h/api/admin/users/?ordering=-id&search=a+b&x=%40"
        );
    }
}
