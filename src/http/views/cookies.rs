//! Cookie transport for browser apps (drf-jwt's `JWT_AUTH_COOKIE*`): obtain and refresh
//! also set the tokens as cookies; refresh, blacklist and logout fall back on the refresh
//! cookie when the body has no token; `/api/me/` falls back on the access cookie when no
//! authorization header comes. A token read from a cookie is one the browser sends by
//! itself, so such unsafe requests must also pass Django's CSRF check (see `csrf`).
//!
//! The rules stay in `tokens`: this module only moves tokens between cookies and the
//! views.

use actix_web::cookie::{self, Cookie};
use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};

use crate::config::{SameSite, Settings};
use crate::http::drf::fields::char_fields;
use crate::http::drf::parsers::Data;
use crate::http::schema::{CsrfToken, Refreshed, TokenPair};
use crate::http::{ApiError, HttpState, drf::csrf, json_response};

/// The value of the cookie `name` in a request, if it has one that is not empty. Tolerant
/// of what other applications on the same domain put in the `Cookie` header: pairs that
/// do not parse are skipped, not fatal. When a name comes twice the first wins: browsers
/// send the cookie with the longest path, then the oldest, first.
pub fn token_from_cookie<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .flat_map(|line| line.as_bytes().split(|&b| b == b';'))
        .find_map(|pair| {
            let pair = pair.trim_ascii();
            let eq = pair.iter().position(|&b| b == b'=')?;
            (pair[..eq].trim_ascii() == name.as_bytes()).then(|| pair[eq + 1..].trim_ascii())
        })
        .map(|v| {
            v.strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
                .unwrap_or(v)
        })
        .filter(|v| !v.is_empty())
        .and_then(|v| std::str::from_utf8(v).ok())
}

/// Where a refresh token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Body,
    Cookie,
}

/// The cookie settings, read once.
pub struct Cookies {
    refresh: String,
    access: Option<String>,
    csrf: String,
    domain: Option<String>,
    path: String,
    secure: bool,
    same_site: cookie::SameSite,
    http_only: bool,
    tokens_in_body: bool,
    refresh_max_age: cookie::time::Duration,
    access_max_age: cookie::time::Duration,
    drf_jwt_max_age: cookie::time::Duration,
    /// Origins whose pages may have cookies set and used: `public_url`'s and
    /// `cors_allowed_origins` (not `"*"`).
    trusted_origins: Vec<String>,
    /// Without `public_url`, jwtd's own origin is the one each request came to.
    own_origin_from_request: bool,
}

impl Cookies {
    /// `None` when `auth_cookie` is not set: no cookies are read or written.
    pub fn new(s: &Settings) -> Option<Cookies> {
        let seconds = |d: crate::config::Duration| cookie::time::Duration::seconds(d.as_secs() as i64);
        Some(Cookies {
            refresh: s.cookies.auth_cookie.clone()?,
            access: s.cookies.auth_cookie_access.clone(),
            csrf: s.cookies.auth_cookie_csrf.clone(),
            domain: s.cookies.auth_cookie_domain.clone(),
            path: s.cookies.auth_cookie_path.clone(),
            secure: s.cookies.auth_cookie_secure,
            same_site: match s.cookies.auth_cookie_samesite {
                SameSite::Strict => cookie::SameSite::Strict,
                SameSite::Lax => cookie::SameSite::Lax,
                SameSite::None => cookie::SameSite::None,
            },
            http_only: s.cookies.auth_cookie_httponly,
            tokens_in_body: s.cookies.auth_cookie_tokens_in_body,
            refresh_max_age: seconds(s.tokens.refresh_token_lifetime),
            access_max_age: seconds(s.tokens.access_token_lifetime),
            drf_jwt_max_age: seconds(s.drf_jwt.jwt_expiration_delta),
            trusted_origins: s
                .server
                .public_url
                .iter()
                .chain(&s.cors.cors_allowed_origins)
                .filter_map(|url| crate::config::origin_of(url))
                .collect(),
            own_origin_from_request: s.server.public_url.is_none(),
        })
    }

    /// The access token of a request's access cookie, when that cookie is configured.
    pub fn access_token<'a>(&self, req: &'a HttpRequest) -> Option<&'a str> {
        token_from_cookie(req, self.access.as_deref()?)
    }

    /// drf-jwt's `JWT_AUTH_COOKIE`: its endpoints keep their one token in the `auth_cookie`
    /// cookie, where a drf-jwt frontend had it.
    pub fn drf_jwt_token<'a>(&self, req: &'a HttpRequest) -> Option<&'a str> {
        token_from_cookie(req, &self.refresh)
    }

    /// drf-jwt's `set_cookie_with_token` on a 201 of `/api-token-auth/` or
    /// `/api-token-refresh/`, with a CSRF cookie beside it as for Simple JWT's endpoints.
    pub fn set_drf_jwt_token(
        &self,
        req: &HttpRequest,
        response: &mut HttpResponse,
        token: &str,
        login: bool,
    ) {
        add(
            response,
            &self.cookie(
                &self.refresh,
                token.to_owned(),
                self.drf_jwt_max_age,
                self.http_only,
            ),
        );
        add(response, &self.csrf_cookie(req, login, self.drf_jwt_max_age));
    }

    /// The CSRF cookie beside the token cookies: a login gets a new secret, as Django
    /// rotates it on login; a refresh keeps the one the page already has, so that other
    /// tabs' requests in flight still carry the right one. Scripts read this one: that is
    /// how the page learns what to send in X-CSRFToken.
    fn csrf_cookie(
        &self,
        req: &HttpRequest,
        login: bool,
        max_age: cookie::time::Duration,
    ) -> Cookie<'static> {
        let secret = (!login)
            .then(|| csrf::secret_of(token_from_cookie(req, &self.csrf)))
            .flatten()
            .unwrap_or_else(csrf::new_secret);
        self.cookie(&self.csrf, secret, max_age, false)
    }

    /// The CSRF check for a request authenticated by a cookie, as DRF's `enforce_csrf`
    /// applies it: unsafe methods only, where the request comes from first.
    pub fn check_csrf(&self, http: &HttpState, req: &HttpRequest) -> Result<(), ApiError> {
        if matches!(
            *req.method(),
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        ) {
            return Ok(());
        }
        self.check_origin(http, req)?;
        csrf::check(req, token_from_cookie(req, &self.csrf)).map_err(|e| ApiError::Csrf(e.0))
    }

    /// Django's Origin check (see `csrf::check_origin`) against jwtd's own origin and
    /// `cors_allowed_origins`.
    fn check_origin(&self, http: &HttpState, req: &HttpRequest) -> Result<(), ApiError> {
        let trusted = |origin: &str| {
            self.trusted_origins.iter().any(|t| t == origin)
                || (self.own_origin_from_request
                    && origin == crate::http::drf::origin::request_origin(http, req))
        };
        csrf::check_origin(req, trusted).map_err(|e| ApiError::Csrf(e.0))
    }

    fn cookie(
        &self,
        name: &str,
        value: String,
        max_age: cookie::time::Duration,
        http_only: bool,
    ) -> Cookie<'static> {
        let mut c = Cookie::build(name.to_owned(), value)
            .path(self.path.clone())
            .secure(self.secure)
            .http_only(http_only)
            .same_site(self.same_site)
            .max_age(max_age)
            .finish();
        if let Some(domain) = &self.domain {
            c.set_domain(domain.clone());
        }
        c
    }

    /// Expired cookies with the names, domain and path of the live ones: what makes
    /// browsers forget them.
    pub fn clear(&self, response: &mut HttpResponse) {
        let names = [
            (Some(&self.refresh), self.http_only),
            (self.access.as_ref(), self.http_only),
            (Some(&self.csrf), false),
        ];
        for (name, http_only) in names {
            let Some(name) = name else { continue };
            let mut c = self.cookie(name, String::new(), cookie::time::Duration::ZERO, http_only);
            c.make_removal();
            add(response, &c);
        }
    }
}

fn add(response: &mut HttpResponse, c: &Cookie<'_>) {
    response
        .add_cookie(c)
        .expect("cookie names, domain and path are checked at start-up; tokens are base64url");
}

/// The refresh token of a request: the body's `refresh` field, or — when the body has
/// none and cookies are on — the refresh cookie, which must pass the CSRF check. Without
/// either, the field's error, as Simple JWT gives it.
pub fn refresh_token(http: &HttpState, req: &HttpRequest, data: &Data) -> Result<(String, Source), ApiError> {
    if let Some(c) = &http.cookies
        && data.get("refresh").is_none()
        && !matches!(data, Data::NotADict(_))
        && let Some(token) = token_from_cookie(req, &c.refresh)
    {
        c.check_csrf(http, req)?;
        return Ok((token.to_owned(), Source::Cookie));
    }
    let [refresh] = char_fields(data, ["refresh"])?;
    Ok((refresh, Source::Body))
}

/// Login CSRF: a hostile page must not have the browser logged in to an account of its
/// choosing (its credentials or its refresh token in the body, answered with cookies), so
/// in cookie mode a request that sets the auth cookies must come from jwtd's own origin or
/// one of `cors_allowed_origins`. Checked before anything is read or spent. Without cookies
/// nothing is set and anything goes, as in Simple JWT.
pub fn check_cookie_origin(http: &HttpState, req: &HttpRequest) -> Result<(), ApiError> {
    match &http.cookies {
        Some(c) => c.check_origin(http, req),
        None => Ok(()),
    }
}

/// `GET /api/token/csrf/` → `{"csrfToken"}`, as Django apps answer with `ensure_csrf_cookie`.
pub async fn csrf_token(req: HttpRequest) -> HttpResponse {
    let http = crate::http::state(&req);
    let Some(c) = &http.cookies else {
        return ApiError::NotFound.response(http);
    };
    if let Err(e) = c.check_origin(http, &req) {
        return e.response(http);
    }
    let cookie = c.csrf_cookie(&req, false, c.refresh_max_age);
    let body = CsrfToken {
        csrfToken: csrf::mask(cookie.value()),
    };
    let mut response = json_response(HttpResponse::Ok(), &body);
    // The token is this browser's: never for a shared cache.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    add(&mut response, &cookie);
    response
}

/// The answer of obtain and refresh: the body and, when cookies are on, the tokens in it
/// as cookies beside a CSRF cookie (see `csrf_cookie`).
pub fn respond_with_tokens(
    http: &HttpState,
    req: &HttpRequest,
    result: Result<impl TokenBody, ApiError>,
    login: bool,
) -> HttpResponse {
    let Some(c) = &http.cookies else {
        return http.respond(result);
    };
    let mut body = match result {
        Ok(body) => body,
        Err(e) => return e.response(http),
    };
    let mut cookies = Vec::with_capacity(3);
    let (refresh, access) = body.tokens();
    if let Some(refresh) = take(refresh, c.tokens_in_body) {
        cookies.push(c.cookie(&c.refresh, refresh, c.refresh_max_age, c.http_only));
    }
    // Without an access cookie the access token stays in the body whatever the setting
    // says: the page has no other way to get it.
    if let Some(name) = &c.access
        && let Some(access) = take(access, c.tokens_in_body)
    {
        cookies.push(c.cookie(name, access, c.access_max_age, c.http_only));
    }
    cookies.push(c.csrf_cookie(req, login, c.refresh_max_age));
    let mut response = json_response(HttpResponse::Ok(), &body);
    for cookie in &cookies {
        add(&mut response, cookie);
    }
    response
}

/// A token of the body, left there only when `keep`.
fn take(token: &mut Option<String>, keep: bool) -> Option<String> {
    if keep { token.clone() } else { token.take() }
}

/// A body of tokens that cookie mode also sets as cookies: obtain's and refresh's.
pub trait TokenBody: serde::Serialize {
    /// The refresh and the access token, each left out of the body when taken.
    fn tokens(&mut self) -> (&mut Option<String>, &mut Option<String>);
}

impl TokenBody for TokenPair {
    fn tokens(&mut self) -> (&mut Option<String>, &mut Option<String>) {
        (&mut self.refresh, &mut self.access)
    }
}

impl TokenBody for Refreshed {
    fn tokens(&mut self) -> (&mut Option<String>, &mut Option<String>) {
        (&mut self.refresh, &mut self.access)
    }
}

/// Logout's cookies: cleared when the token it blacklisted — or found unusable (401) — is
/// the browser's own, i.e. came from the refresh cookie (past the CSRF check) or equals
/// it. A token of some other session in the body leaves the cookies alone, so that a
/// cross-site form cannot log a browser out with a token of the attacker's.
pub fn end_session(
    http: &HttpState,
    req: &HttpRequest,
    presented: Option<(&str, Source)>,
    response: &mut HttpResponse,
) {
    let Some(c) = &http.cookies else { return };
    let Some((token, source)) = presented else { return };
    if !matches!(response.status(), StatusCode::OK | StatusCode::UNAUTHORIZED) {
        return;
    }
    if source == Source::Cookie || token_from_cookie(req, &c.refresh) == Some(token) {
        c.clear(response);
    }
}
