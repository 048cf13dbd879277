//! The address a client used to reach jwtd, for answers that must name jwtd when
//! `public_url` does not: the discovery documents, and jwtd's own origin in the CSRF
//! Origin check. Request headers are the client's to choose, so forwarded headers are
//! believed only from `trusted_proxies`, and an answer made from them is for the one client
//! that asked (see `well_known`).

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderValue};

use crate::http::HttpState;

const X_FORWARDED_HOST: &str = "x-forwarded-host";
const X_FORWARDED_PROTO: &str = "x-forwarded-proto";

/// `scheme://host[:port]` of the request, as `config::origin_of` writes origins: from a
/// trusted proxy, its `Forwarded` (RFC 7239) or else `X-Forwarded-Host`/`-Proto`;
/// otherwise the `Host` header over plain http (jwtd itself does not speak TLS).
pub fn request_origin(http: &HttpState, req: &HttpRequest) -> String {
    let from_proxy = req
        .peer_addr()
        .is_some_and(|peer| http.throttle.is_trusted(peer.ip()));
    let (mut scheme, mut host) = ("http", None);
    if from_proxy {
        let (proto, forwarded_host) = forwarded(req);
        if let Some(proto) = proto.or_else(|| first_value(req, X_FORWARDED_PROTO)) {
            scheme = proto;
        }
        host = forwarded_host.or_else(|| first_value(req, X_FORWARDED_HOST));
    }
    let host = host
        .or_else(|| req.headers().get(header::HOST).and_then(|v| v.to_str().ok()))
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .filter(|h| is_host(h))
        .unwrap_or("localhost");
    let scheme = if scheme.eq_ignore_ascii_case("https") {
        "https"
    } else {
        "http"
    };
    crate::config::origin_of(&format!("{scheme}://{host}")).unwrap_or_else(|| format!("{scheme}://localhost"))
}

/// `proto` and `host` of the first element of `Forwarded`: what the proxy nearest the
/// client saw.
fn forwarded(req: &HttpRequest) -> (Option<&str>, Option<&str>) {
    let Some(first) = req
        .headers()
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
    else {
        return (None, None);
    };
    let (mut proto, mut host) = (None, None);
    for pair in first.split(';') {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match name.trim().to_ascii_lowercase().as_str() {
            "proto" => proto = Some(value),
            "host" => host = Some(value),
            _ => {}
        }
    }
    (proto, host)
}

fn first_value<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A host and port, an IPv6 literal included: nothing that could end the authority of a
/// URL or leave a JSON string.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_checked() {
        for host in ["auth.example.com", "127.0.0.1:8000", "[::1]:8443", "a_b.local"] {
            assert!(is_host(host), "{host}");
        }
        for host in ["", "evil.example/path", "a@b", "a\"b", "a b", "a?b", "a#b"] {
            assert!(!is_host(host), "{host}");
        }
    }
}
