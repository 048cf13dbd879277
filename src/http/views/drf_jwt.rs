//! drf-jwt's endpoints (`drf_jwt_endpoints = true`), with the URLs its documentation gives:
//! the three token views answer 201 `{"pk", "token"}` and refuse with 400
//! `{"non_field_errors": [...]}`; `/auth/logout/` is its blacklist app's `BlacklistView`,
//! which authenticates the caller first.

use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use super::{cookies, tokens};
use crate::http::drf::fields::char_fields;
use crate::http::drf::metadata;
use crate::http::errors::DrfAnswer;
use crate::http::schema::{DrfJwtIssued, DrfJwtLoggedOut, DrfJwtVerified};
use crate::http::{ApiError, Data, FieldErrors, HttpState};
use crate::tokens::drf_jwt::{self, DrfJwtError, Issued};

type Http = web::Data<HttpState>;

/// The error of a rule, shown as `shown`; the database's and the hasher's failures keep
/// their own answers (503, 500).
fn refused(shown: fn(DrfJwtError) -> DrfAnswer) -> impl Fn(DrfJwtError) -> ApiError {
    move |e| match e {
        DrfJwtError::Other(e) => ApiError::Auth(e),
        e => ApiError::DrfJwt(shown(e)),
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    for path in crate::http::with_and_without_slash("/api-token-auth/") {
        crate::http::token_view(cfg, path, obtain, metadata::DRF_JWT_OBTAIN);
    }
    for path in crate::http::with_and_without_slash("/api-token-refresh/") {
        crate::http::token_view(cfg, path, refresh, metadata::DRF_JWT_REFRESH);
    }
    for path in crate::http::with_and_without_slash("/api-token-verify/") {
        crate::http::token_view(cfg, path, verify, metadata::DRF_JWT_VERIFY);
    }
    for path in crate::http::with_and_without_slash("/auth/logout/") {
        // Every method: DRF authenticates before it looks at the method.
        cfg.service(web::resource(path).name(path).default_service(web::to(logout)));
    }
}

/// 201 with the body, or the error's response. With cookies on, the token answered with is
/// also set as drf-jwt's cookie, as all of drf-jwt's token views do; `login` starts a new
/// CSRF secret.
fn created(
    http: &HttpState,
    req: &HttpRequest,
    result: Result<impl TokenAnswer, ApiError>,
    login: bool,
) -> HttpResponse {
    match result {
        Ok(body) => {
            let mut response = crate::http::json_response(HttpResponse::Created(), &body);
            if let Some(c) = &http.cookies {
                c.set_drf_jwt_token(req, &mut response, body.token(), login);
            }
            response
        }
        Err(e) => e.response(http),
    }
}

/// drf-jwt's answers of a token, which cookie mode also sets as its cookie.
trait TokenAnswer: serde::Serialize {
    fn token(&self) -> &str;
}

impl TokenAnswer for DrfJwtIssued {
    fn token(&self) -> &str {
        &self.token
    }
}

impl TokenAnswer for DrfJwtVerified {
    fn token(&self) -> &str {
        &self.token
    }
}

fn issued(issued: Issued) -> DrfJwtIssued {
    DrfJwtIssued {
        pk: issued.pk,
        token: issued.token,
    }
}

fn verified(issued: Issued) -> DrfJwtVerified {
    DrfJwtVerified {
        pk: issued.pk,
        token: issued.token,
    }
}

/// drf-jwt's credentials: it declares `password` and adds the username field after it, so
/// its field errors come in that order.
fn password_username(data: &Data) -> Result<(String, String), FieldErrors> {
    char_fields(data, ["password", "username"]).map(|[password, username]| (username, password))
}

/// `POST /api-token-auth/` → 201 `{"pk", "token"}`
pub async fn obtain(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let app = &http.app;
    let client = http.client(&req);
    let client = &client;
    let result = async {
        cookies::check_cookie_origin(&http, &req)?;
        tokens::login(
            &http,
            &req,
            body,
            password_username,
            |username, password| async move {
                drf_jwt::obtain(app, &username, &password, client)
                    .await
                    .map(issued)
                    .map_err(refused(DrfAnswer::Validation))
            },
        )
        .await
    };
    created(&http, &req, result.await, true)
}

/// The views of a `token` field: the field, the rule, 201 `{"pk", "token"}`.
async fn token_field_view<F, Fut, B: TokenAnswer>(
    http: &HttpState,
    req: &HttpRequest,
    body: web::Payload,
    rule: F,
    answer: fn(Issued) -> B,
) -> HttpResponse
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<Issued, DrfJwtError>>,
{
    let result = async {
        cookies::check_cookie_origin(http, req)?;
        let data = http.read_data(req, body).await?;
        let [token] = char_fields(&data, ["token"])?;
        rule(token)
            .await
            .map(answer)
            .map_err(refused(DrfAnswer::Validation))
    };
    created(http, req, result.await, false)
}

/// `POST /api-token-refresh/` → 201 `{"pk", "token"}`
pub async fn refresh(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let app = &http.app;
    let client = http.refresh_client(&req);
    let client = &client;
    token_field_view(
        &http,
        &req,
        body,
        |token| async move { drf_jwt::refresh(app, &token, client).await },
        issued,
    )
    .await
}

/// `POST /api-token-verify/` → 201 `{"pk", "token"}`
pub async fn verify(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let app = &http.app;
    token_field_view(
        &http,
        &req,
        body,
        |token| async move { drf_jwt::verify(app, &token).await },
        verified,
    )
    .await
}

/// `POST /auth/logout/` → 201 `{"token"}`
pub async fn logout(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        let Some((own, from_cookie)) = request_token(&http, &req) else {
            return Err(ApiError::DrfJwt(DrfAnswer::NotAuthenticated));
        };
        if from_cookie && let Some(c) = &http.cookies {
            // The browser sends the cookie by itself: an unsafe request needs the CSRF token.
            c.check_csrf(&http, &req)?;
        }
        drf_jwt::authenticate(&http.app, &own)
            .await
            .map_err(refused(DrfAnswer::Authentication))?;
        match *req.method() {
            Method::POST => {}
            Method::OPTIONS => return Ok(metadata::options(metadata::DRF_JWT_LOGOUT)),
            _ => return Err(ApiError::MethodNotAllowed(req.method().to_string())),
        }
        let data = http.read_data(&req, body).await?;
        let token = match &data {
            // `if 'token' not in request.data`: the caller's own token.
            Data::Fields(_) if data.get("token").is_none() => own,
            _ => {
                let [token] = char_fields(&data, ["token"])?;
                token
            }
        };
        let kept = drf_jwt::logout(&http.app, &token, &http.client(&req))
            .await
            .map_err(refused(DrfAnswer::Save))?;
        let mut response =
            crate::http::json_response(HttpResponse::Created(), &DrfJwtLoggedOut { token: kept });
        if let Some(c) = &http.cookies
            && c.drf_jwt_token(&req) == Some(token.as_str())
        {
            // Only the browser's own session: a token of another one leaves the cookie alone.
            c.clear(&mut response);
        }
        Ok(response)
    };
    result.await.unwrap_or_else(|e| e.response(&http))
}

/// drf-jwt's `get_token_from_request`: the token of the request, if it has one.
fn request_token(http: &HttpState, req: &HttpRequest) -> Option<(String, bool)> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map_or(&b""[..], HeaderValue::as_bytes);
    match header_token(&http.app.settings.drf_jwt.jwt_auth_header_prefix, authorization) {
        HeaderToken::Token(token) => Some((token.to_string(), false)),
        HeaderToken::OtherScheme => None,
        // drf-jwt reads its JWT_AUTH_COOKIE only when the header is missing or malformed,
        // never when it names another scheme.
        HeaderToken::Unusable => http
            .cookies
            .as_ref()
            .and_then(|c| c.drf_jwt_token(req))
            .map(|t| (t.to_string(), true)),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum HeaderToken<'a> {
    Token(&'a str),
    /// `<scheme> <token>` with a scheme other than `jwt_auth_header_prefix`.
    OtherScheme,
    /// No header, not UTF-8, not exactly two parts split on one space, or no token.
    Unusable,
}

/// `get_token_from_authorization_header`: exactly `<prefix> <token>`, split on a single
/// space, the prefix compared without regard to case.
fn header_token<'a>(prefix: &str, header: &'a [u8]) -> HeaderToken<'a> {
    let Ok(text) = std::str::from_utf8(header) else {
        return HeaderToken::Unusable;
    };
    let mut parts = text.split(' ');
    let (Some(scheme), Some(token), None) = (parts.next(), parts.next(), parts.next()) else {
        return HeaderToken::Unusable;
    };
    if scheme.to_lowercase() != prefix.to_lowercase() {
        return HeaderToken::OtherScheme;
    }
    if token.is_empty() {
        return HeaderToken::Unusable;
    }
    HeaderToken::Token(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_header_as_drf_jwt_splits_it() {
        let t = |h: &'static str| header_token("Bearer", h.as_bytes());
        assert_eq!(t("Bearer abc"), HeaderToken::Token("abc"));
        assert_eq!(t("bEARER abc"), HeaderToken::Token("abc"));
        assert_eq!(t("JWT abc"), HeaderToken::OtherScheme);
        assert_eq!(t(""), HeaderToken::Unusable);
        assert_eq!(t("Bearer"), HeaderToken::Unusable);
        assert_eq!(t("Bearer "), HeaderToken::Unusable);
        assert_eq!(t("Bearer  abc"), HeaderToken::Unusable);
        assert_eq!(t("Bearer abc def"), HeaderToken::Unusable);
        assert_eq!(header_token("JWT", b"jwt abc"), HeaderToken::Token("abc"));
    }
}
