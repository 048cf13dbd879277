//! Simple JWT's token views: read the fields, apply the rule, answer.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::cookies;
use crate::http::drf::fields::char_fields;
use crate::http::openapi::{
    BadRequest, Detail, Empty, ObtainRequest, RefreshRequest, Refreshed, SlidingToken, TokenPair,
    TokenRequest, Unauthorized,
};
use crate::http::ops::metrics::Issued;
use crate::http::{ApiError, Data, FieldErrors, HttpState};
use crate::tokens::serializers;

type Http = web::Data<HttpState>;

#[utoipa::path(
    post,
    path = "/api/token/",
    tag = "tokens",
    summary = "Obtain a refresh/access pair",
    request_body(content(
        (ObtainRequest = "application/json"),
        (ObtainRequest = "application/x-www-form-urlencoded"),
        (ObtainRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "The pair; with auth_cookie set, also as cookies beside a CSRF cookie", body = TokenPair, headers(("Set-Cookie" = String))),
        (status = 401, description = "No active account found with the given credentials", body = Unauthorized, headers(("WWW-Authenticate" = String))),
        (status = 400, description = "Missing or invalid fields, or a body that could not be parsed", body = BadRequest),
        (status = 403, description = "CSRF Failed: with auth_cookie set, the request comes from an origin that is neither jwtd's own nor one of cors_allowed_origins", body = Detail),
        (status = 413, description = "The body is larger than max_body_size", body = Detail),
        (status = 415, description = "A media type other than JSON, form or multipart", body = Detail),
        (status = 503, description = "The database is unavailable", body = Detail),
        (status = 429, description = "Throttled: too many logins from this address, or the username is locked", body = Detail, headers(("Retry-After" = String))),
    )
)]
/// `POST /api/token/` → `{"refresh", "access"}`
pub async fn obtain_pair(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let app = &http.app;
    let result = async {
        cookies::check_cookie_origin(&http, &req)?;
        login(
            &http,
            &req,
            body,
            username_password,
            |username, password| async move {
                let pair = serializers::obtain_pair(app, &username, &password).await?;
                Ok(json!({"refresh": pair.refresh, "access": pair.access}))
            },
        )
        .await
    };
    issued(
        cookies::respond_with_tokens(&http, &req, result.await, true),
        Issued {
            access: 1,
            refresh: 1,
            sliding: 0,
        },
    )
}

/// Simple JWT's credentials: `(username, password)`, errors in that field order.
fn username_password(data: &Data) -> Result<(String, String), FieldErrors> {
    char_fields(data, ["username", "password"]).map(|[username, password]| (username, password))
}

/// The login endpoints: the client address's rate first (as DRF's throttles, before the
/// body is read), then the fields (`credentials` reads `(username, password)`), then the
/// username's lock, then the credentials.
pub(super) async fn login<'a, F, Fut>(
    http: &'a HttpState,
    req: &'a HttpRequest,
    body: web::Payload,
    credentials: fn(&Data) -> Result<(String, String), FieldErrors>,
    rule: F,
) -> Result<Value, ApiError>
where
    F: FnOnce(String, String) -> Fut,
    Fut: std::future::Future<Output = Result<Value, ApiError>>,
{
    let store = &http.app.store;
    let ip = http.throttle.client_address(req);
    if let Some(ip) = ip {
        http.throttle.check_address(store, ip).await?;
    }
    let data = http.read_data(req, body).await?;
    let (username, password) = credentials(&data)?;
    let attempt = http.throttle.check_login(store, &username, ip).await?;
    let result = rule(username, password).await;
    if let Some(attempt) = &attempt {
        match &result {
            Ok(_) => http.throttle.record_success(store, attempt).await,
            // A failure that could not be counted is not let through uncounted.
            Err(e) if e.is_refused_login() => http.throttle.record_failure(store, attempt).await?,
            Err(_) => {}
        }
    }
    result
}

/// Marks a successful response with the tokens it carries, for the metrics.
fn issued(mut response: HttpResponse, tokens: Issued) -> HttpResponse {
    if response.status().is_success() {
        response.extensions_mut().insert(tokens);
    }
    response
}

#[utoipa::path(
    post,
    path = "/api/token/refresh/",
    tag = "tokens",
    summary = "Refresh: a new access token (and refresh token with rotation)",
    description = "The refresh token comes from the body or, when the body has none and `auth_cookie` is set, from the refresh cookie (then the `X-CSRFToken` header must match the CSRF cookie). With cookies on, the new tokens are set as cookies too.",
    params(("X-CSRFToken" = Option<String>, Header, description = "The CSRF cookie's value; needed only when the refresh token comes from the cookie")),
    request_body(content(
        (RefreshRequest = "application/json"),
        (RefreshRequest = "application/x-www-form-urlencoded"),
        (RefreshRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "The new token(s)", body = Refreshed, headers(("Set-Cookie" = String))),
        (status = 401, description = "The token is invalid, expired, of the wrong type or blacklisted; or its user cannot log in", body = Unauthorized, headers(("WWW-Authenticate" = String))),
        (status = 400, description = "Missing or invalid fields, or a body that could not be parsed", body = BadRequest),
        (status = 403, description = "CSRF Failed: with auth_cookie set, the request comes from an origin that is neither jwtd's own nor one of cors_allowed_origins; or the refresh token came from the cookie without a matching X-CSRFToken header", body = Detail),
        (status = 413, description = "The body is larger than max_body_size", body = Detail),
        (status = 415, description = "A media type other than JSON, form or multipart", body = Detail),
        (status = 503, description = "The database is unavailable", body = Detail),
    )
)]
/// `POST /api/token/refresh/` → `{"access"}` (and `"refresh"` with rotation)
pub async fn refresh(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        cookies::check_cookie_origin(&http, &req)?;
        let data = http.read_data(&req, body).await?;
        let (refresh, _) = cookies::refresh_token(&http, &req, &data)?;
        let refreshed = serializers::refresh(&http.app, &refresh).await?;
        Ok(match refreshed.refresh {
            Some(refresh) => json!({"access": refreshed.access, "refresh": refresh}),
            None => json!({"access": refreshed.access}),
        })
    };
    let rotated = u64::from(http.app.settings.rotate_refresh_tokens);
    issued(
        cookies::respond_with_tokens(&http, &req, result.await, false),
        Issued {
            access: 1,
            refresh: rotated,
            sliding: 0,
        },
    )
}

#[utoipa::path(
    post,
    path = "/api/token/verify/",
    tag = "tokens",
    summary = "Verify any token",
    request_body(content(
        (TokenRequest = "application/json"),
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "Valid", body = Empty),
        (status = 401, description = "The token is invalid or expired", body = Unauthorized, headers(("WWW-Authenticate" = String))),
        (status = 400, description = "Missing or invalid fields, or a body that could not be parsed", body = BadRequest),
        (status = 413, description = "The body is larger than max_body_size", body = Detail),
        (status = 415, description = "A media type other than JSON, form or multipart", body = Detail),
        (status = 503, description = "The database is unavailable", body = Detail),
    )
)]
/// `POST /api/token/verify/` → `{}`
pub async fn verify(req: HttpRequest, body: web::Payload) -> HttpResponse {
    let http = crate::http::state(&req);
    let result = async {
        let data = http.read_data(&req, body).await?;
        let [token] = char_fields(&data, ["token"])?;
        serializers::verify(&http.app, &token).await?;
        Ok(Value::Object(Default::default()))
    };
    http.respond(result.await)
}

#[utoipa::path(
    post,
    path = "/api/token/blacklist/",
    tag = "tokens",
    summary = "Blacklist a refresh token (log out)",
    description = "The refresh token comes from the body or, when the body has none and `auth_cookie` is set, from the refresh cookie (then the `X-CSRFToken` header must match the CSRF cookie). Cookies are left as they are: /api/token/logout/ also clears them.",
    params(("X-CSRFToken" = Option<String>, Header, description = "The CSRF cookie's value; needed only when the refresh token comes from the cookie")),
    request_body(content(
        (RefreshRequest = "application/json"),
        (RefreshRequest = "application/x-www-form-urlencoded"),
        (RefreshRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "Blacklisted", body = Empty),
        (status = 401, description = "The token is invalid, expired, of the wrong type or already blacklisted", body = Unauthorized, headers(("WWW-Authenticate" = String))),
        (status = 400, description = "Missing or invalid fields, or a body that could not be parsed", body = BadRequest),
        (status = 403, description = "CSRF Failed: the refresh token came from the cookie, and the request comes from an origin that is neither jwtd's own nor one of cors_allowed_origins, or without a matching X-CSRFToken header", body = Detail),
        (status = 413, description = "The body is larger than max_body_size", body = Detail),
        (status = 415, description = "A media type other than JSON, form or multipart", body = Detail),
        (status = 503, description = "The database is unavailable", body = Detail),
    )
)]
/// `POST /api/token/blacklist/` → `{}`
pub async fn blacklist(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        let data = http.read_data(&req, body).await?;
        let (refresh, _) = cookies::refresh_token(&http, &req, &data)?;
        serializers::blacklist(&http.app, &refresh).await?;
        Ok(Value::Object(Default::default()))
    };
    http.respond(result.await)
}

#[utoipa::path(
    post,
    path = "/api/token/logout/",
    tag = "tokens",
    summary = "Log out: blacklist the refresh token and clear the auth cookies",
    description = "The refresh token comes from the body or, when the body has none and `auth_cookie` is set, from the refresh cookie (then the `X-CSRFToken` header must match the CSRF cookie). The cookies are cleared (expired `Set-Cookie`) when the token was the refresh cookie's, on 200 and on 401 alike.",
    params(("X-CSRFToken" = Option<String>, Header, description = "The CSRF cookie's value; needed only when the refresh token comes from the cookie")),
    request_body(content(
        (RefreshRequest = "application/json"),
        (RefreshRequest = "application/x-www-form-urlencoded"),
        (RefreshRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "Blacklisted; the auth cookies cleared", body = Empty, headers(("Set-Cookie" = String))),
        (status = 401, description = "The token is invalid, expired, of the wrong type or already blacklisted", body = Unauthorized, headers(("WWW-Authenticate" = String), ("Set-Cookie" = String))),
        (status = 400, description = "No refresh token in the body nor in a cookie, invalid fields, or a body that could not be parsed", body = BadRequest),
        (status = 403, description = "CSRF Failed: the refresh token came from the cookie, and the request comes from an origin that is neither jwtd's own nor one of cors_allowed_origins, or without a matching X-CSRFToken header", body = Detail),
        (status = 413, description = "The body is larger than max_body_size", body = Detail),
        (status = 415, description = "A media type other than JSON, form or multipart", body = Detail),
        (status = 503, description = "The database is unavailable", body = Detail),
    )
)]
/// `POST /api/token/logout/` → `{}`, and the auth cookies cleared
pub async fn logout(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let presented = async {
        let data = http.read_data(&req, body).await?;
        cookies::refresh_token(&http, &req, &data)
    }
    .await;
    let (result, presented) = match presented {
        Err(e) => (Err(e), None),
        Ok((refresh, source)) => {
            let result = serializers::blacklist(&http.app, &refresh)
                .await
                .map(|()| Value::Object(Default::default()))
                .map_err(ApiError::from);
            (result, Some((refresh, source)))
        }
    };
    let mut response = http.respond(result);
    let presented = presented
        .as_ref()
        .map(|(token, source)| (token.as_str(), *source));
    cookies::end_session(&http, &req, presented, &mut response);
    response
}

#[utoipa::path(
    post,
    path = "/api/token/sliding/",
    tag = "tokens",
    summary = "Obtain a sliding token",
    request_body(content(
        (ObtainRequest = "application/json"),
        (ObtainRequest = "application/x-www-form-urlencoded"),
        (ObtainRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "The token", body = SlidingToken),
        (status = 401, description = "No active account found with the given credentials", body = Unauthorized, headers(("WWW-Authenticate" = String))),
        (status = 400, description = "Missing or invalid fields, or a body that could not be parsed", body = BadRequest),
        (status = 413, description = "The body is larger than max_body_size", body = Detail),
        (status = 415, description = "A media type other than JSON, form or multipart", body = Detail),
        (status = 503, description = "The database is unavailable", body = Detail),
        (status = 429, description = "Throttled: too many logins from this address, or the username is locked", body = Detail, headers(("Retry-After" = String))),
    )
)]
/// `POST /api/token/sliding/` → `{"token"}`
pub async fn obtain_sliding(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let app = &http.app;
    let result = login(
        &http,
        &req,
        body,
        username_password,
        |username, password| async move {
            let token = serializers::obtain_sliding(app, &username, &password).await?;
            Ok(json!({"token": token}))
        },
    );
    issued(
        http.respond(result.await),
        Issued {
            access: 0,
            refresh: 0,
            sliding: 1,
        },
    )
}

#[utoipa::path(
    post,
    path = "/api/token/sliding/refresh/",
    tag = "tokens",
    summary = "Refresh a sliding token until its refresh_exp",
    request_body(content(
        (TokenRequest = "application/json"),
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "The token with a new exp", body = SlidingToken),
        (status = 401, description = "The token is invalid, expired, blacklisted or past its refresh_exp", body = Unauthorized, headers(("WWW-Authenticate" = String))),
        (status = 400, description = "Missing or invalid fields, or a body that could not be parsed", body = BadRequest),
        (status = 413, description = "The body is larger than max_body_size", body = Detail),
        (status = 415, description = "A media type other than JSON, form or multipart", body = Detail),
        (status = 503, description = "The database is unavailable", body = Detail),
    )
)]
/// `POST /api/token/sliding/refresh/` → `{"token"}`
pub async fn refresh_sliding(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        let data = http.read_data(&req, body).await?;
        let [token] = char_fields(&data, ["token"])?;
        let token = serializers::refresh_sliding(&http.app, &token).await?;
        Ok(json!({"token": token}))
    };
    issued(
        http.respond(result.await),
        Issued {
            access: 0,
            refresh: 0,
            sliding: 1,
        },
    )
}

pub async fn method_not_allowed(http: Http, req: HttpRequest) -> HttpResponse {
    ApiError::MethodNotAllowed(req.method().to_string()).response(&http)
}
