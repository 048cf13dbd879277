//! Django's CSRF check, as DRF applies it to cookie-authenticated requests: the
//! `X-CSRFToken` header must carry the value of the CSRF cookie (double submit). Tokens
//! have Django's format — a 32-character secret, or the 64-character masked form that
//! Django's templates hand out — so a page served by Django can send either.

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderName};
use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

pub const HEADER: HeaderName = HeaderName::from_static("x-csrftoken");
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SECRET_LENGTH: usize = 32;
const MASKED_LENGTH: usize = 2 * SECRET_LENGTH;

/// Why a request was refused: the reason as Django words it, without DRF's prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrfFailure(pub String);

/// A new secret (Django's `_get_new_csrf_string`).
pub fn new_secret() -> String {
    // 62 does not divide 256: bytes above the largest multiple of 62 are drawn again, so
    // that every character is equally likely.
    const LIMIT: u8 = (256 / CHARS.len() * CHARS.len()) as u8;
    let rng = SystemRandom::new();
    let mut secret = String::with_capacity(SECRET_LENGTH);
    let mut bytes = [0u8; 2 * SECRET_LENGTH];
    while secret.len() < SECRET_LENGTH {
        rng.fill(&mut bytes).expect("the system RNG works");
        for b in bytes.iter().filter(|&&b| b < LIMIT) {
            if secret.len() < SECRET_LENGTH {
                secret.push(CHARS[usize::from(*b) % CHARS.len()] as char);
            }
        }
    }
    secret
}

/// The secret of a request's CSRF cookie (its value) when it has Django's format, for
/// keeping it.
pub fn secret_of(cookie: Option<&str>) -> Option<String> {
    cookie.and_then(|v| secret(v.as_bytes()).ok())
}

/// Django's check of where an unsafe request comes from (`CsrfViewMiddleware.process_view`
/// before the token): an `Origin` must be a trusted one; without `Origin`, a request the
/// browser marks `Sec-Fetch-Site: cross-site` must have a `Referer` of a trusted origin
/// (Django checks the Referer of every HTTPS request without Origin; browsers send
/// `Origin` with every cross-origin POST, so what is left is cross-site GETs and clients
/// that are not browsers, which send neither header and pass).
pub fn check_origin(req: &HttpRequest, trusted: impl Fn(&str) -> bool) -> Result<(), CsrfFailure> {
    let headers = req.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = String::from_utf8_lossy(origin.as_bytes());
        if trusted(&origin) {
            return Ok(());
        }
        return Err(CsrfFailure(format!(
            "Origin checking failed - {origin} does not match any trusted origins."
        )));
    }
    let cross_site = headers
        .get(SEC_FETCH_SITE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if !cross_site {
        return Ok(());
    }
    let Some(referer) = headers.get(header::REFERER) else {
        return Err(CsrfFailure("Referer checking failed - no Referer.".into()));
    };
    let referer = String::from_utf8_lossy(referer.as_bytes());
    match crate::config::origin_of(&referer) {
        None => Err(CsrfFailure(
            "Referer checking failed - Referer is malformed.".into(),
        )),
        Some(origin) if trusted(&origin) => Ok(()),
        Some(_) => Err(CsrfFailure(format!(
            "Referer checking failed - {referer} does not match any trusted origins."
        ))),
    }
}

/// Django's `_mask_cipher_secret`: the secret under a fresh mask, 64 characters, as
/// `get_token()` hands it to pages.
pub fn mask(secret: &str) -> String {
    let mask = new_secret();
    let pos = |c: u8| CHARS.iter().position(|&a| a == c).unwrap_or(0);
    let cipher: String = secret
        .bytes()
        .zip(mask.bytes())
        .map(|(s, m)| CHARS[(pos(s) + pos(m)) % CHARS.len()] as char)
        .collect();
    mask + &cipher
}

/// `CsrfViewMiddleware._check_token`, with the header as the only place for the token:
/// `cookie` is the value of the request's CSRF cookie.
pub fn check(req: &HttpRequest, cookie: Option<&str>) -> Result<(), CsrfFailure> {
    let expected = match cookie {
        None => return Err(CsrfFailure("CSRF cookie not set.".into())),
        Some(value) => secret(value.as_bytes()).map_err(|why| CsrfFailure(format!("CSRF cookie {why}.")))?,
    };
    let Some(header) = req.headers().get(HEADER) else {
        return Err(CsrfFailure("CSRF token missing.".into()));
    };
    let from_header =
        |why: &str| CsrfFailure(format!("CSRF token from the 'X-Csrftoken' HTTP header {why}."));
    let sent = secret(header.as_bytes()).map_err(from_header)?;
    verify_slices_are_equal(sent.as_bytes(), expected.as_bytes()).map_err(|_| from_header("incorrect"))
}

/// A form's token (the operator console's hidden field) against the secret of the CSRF
/// cookie: Django's `_check_token` with the POST field instead of the header.
pub fn check_form_token(cookie: Option<&str>, sent: Option<&str>) -> Result<(), CsrfFailure> {
    let expected = match cookie {
        None => return Err(CsrfFailure("CSRF cookie not set.".into())),
        Some(value) => secret(value.as_bytes()).map_err(|why| CsrfFailure(format!("CSRF cookie {why}.")))?,
    };
    let Some(sent) = sent.filter(|s| !s.is_empty()) else {
        return Err(CsrfFailure("CSRF token missing.".into()));
    };
    let sent = secret(sent.as_bytes()).map_err(|why| CsrfFailure(format!("CSRF token {why}.")))?;
    verify_slices_are_equal(sent.as_bytes(), expected.as_bytes())
        .map_err(|_| CsrfFailure("CSRF token incorrect.".into()))
}

/// `_check_token_format`, then the secret (unmasked when masked).
fn secret(token: &[u8]) -> Result<String, &'static str> {
    if token.len() != SECRET_LENGTH && token.len() != MASKED_LENGTH {
        return Err("has incorrect length");
    }
    let Some(indices) = token
        .iter()
        .map(|c| CHARS.iter().position(|a| a == c))
        .collect::<Option<Vec<usize>>>()
    else {
        return Err("has invalid characters");
    };
    if indices.len() == SECRET_LENGTH {
        return Ok(indices.iter().map(|&i| CHARS[i] as char).collect());
    }
    // `_unmask_cipher_token`: the first half is the mask, added character by character.
    let (mask, cipher) = indices.split_at(SECRET_LENGTH);
    Ok(cipher
        .iter()
        .zip(mask)
        .map(|(&c, &m)| CHARS[(c + CHARS.len() - m) % CHARS.len()] as char)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn request(header: Option<&str>) -> HttpRequest {
        let mut req = TestRequest::post();
        if let Some(h) = header {
            req = req.insert_header((HEADER, h));
        }
        req.to_http_request()
    }

    fn refused(cookie: Option<&str>, header: Option<&str>) -> String {
        check(&request(header), cookie).unwrap_err().0
    }

    #[test]
    fn new_secrets_have_django_format() {
        let a = new_secret();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, new_secret());
    }

    #[test]
    fn header_must_match_cookie() {
        let s = new_secret();
        assert!(check(&request(Some(&s)), Some(&s)).is_ok());
        assert_eq!(refused(None, Some(&s)), "CSRF cookie not set.");
        assert_eq!(refused(Some(&s), None), "CSRF token missing.");
        assert_eq!(
            refused(Some(&s), Some(&new_secret())),
            "CSRF token from the 'X-Csrftoken' HTTP header incorrect."
        );
        assert_eq!(
            refused(Some(&s), Some("short")),
            "CSRF token from the 'X-Csrftoken' HTTP header has incorrect length."
        );
        assert_eq!(
            refused(Some(&s), Some(&"-".repeat(32))),
            "CSRF token from the 'X-Csrftoken' HTTP header has invalid characters."
        );
        assert_eq!(refused(Some("x"), Some(&s)), "CSRF cookie has incorrect length.");
    }

    /// A token masked as Django's `_mask_cipher_secret` does is accepted for its secret.
    #[test]
    fn masked_tokens_are_unmasked() {
        let secret = new_secret();
        let mask = new_secret();
        let pos = |c: u8| CHARS.iter().position(|&a| a == c).unwrap();
        let cipher: String = secret
            .bytes()
            .zip(mask.bytes())
            .map(|(s, m)| CHARS[(pos(s) + pos(m)) % CHARS.len()] as char)
            .collect();
        let masked = format!("{mask}{cipher}");
        assert!(check(&request(Some(&masked)), Some(&secret)).is_ok());
        assert!(check(&request(Some(&secret)), Some(&masked)).is_ok());
        let ours = super::mask(&secret);
        assert_eq!(ours.len(), 64);
        assert_ne!(ours, super::mask(&secret), "a fresh mask each time");
        assert!(check(&request(Some(&ours)), Some(&secret)).is_ok());
    }

    #[test]
    fn origins_and_cross_site_referers_must_be_trusted() {
        let trusted = |o: &str| o == "https://app.example";
        let check = |headers: &[(&str, &str)]| {
            let mut req = TestRequest::post();
            for (name, value) in headers {
                req = req.insert_header((*name, *value));
            }
            check_origin(&req.to_http_request(), trusted).map_err(|e| e.0)
        };
        assert_eq!(check(&[]), Ok(()));
        assert_eq!(check(&[("origin", "https://app.example")]), Ok(()));
        assert_eq!(
            check(&[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "same-site")
            ]),
            Err("Origin checking failed - https://evil.example does not match any trusted origins.".into())
        );
        assert_eq!(check(&[("sec-fetch-site", "same-origin")]), Ok(()));
        assert_eq!(
            check(&[("sec-fetch-site", "Cross-Site")]),
            Err("Referer checking failed - no Referer.".into())
        );
        assert_eq!(
            check(&[("sec-fetch-site", "cross-site"), ("referer", "nonsense")]),
            Err("Referer checking failed - Referer is malformed.".into())
        );
        assert_eq!(
            check(&[
                ("sec-fetch-site", "cross-site"),
                ("referer", "https://app.example/a?b")
            ]),
            Ok(())
        );
    }
}
