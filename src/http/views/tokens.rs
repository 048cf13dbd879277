//! Simple JWT's token views: read the fields, apply the rule, answer.

use actix_web::{HttpRequest, HttpResponse, web};

use super::cookies;
use crate::http::drf::fields::char_fields;
use crate::http::ops::metrics::Issued;
use crate::http::schema::{Refreshed, SlidingToken, TokenPair};
use crate::http::{ApiError, Data, FieldErrors, HttpState};
use crate::store::EventType;
use crate::tokens::{audit, serializers};

type Http = web::Data<HttpState>;

/// `POST /api/token/` → `{"refresh", "access"}`
pub async fn obtain_pair(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let app = &http.app;
    let client = http.client(&req);
    let client = &client;
    let result = async {
        cookies::check_cookie_origin(&http, &req)?;
        login(
            &http,
            &req,
            body,
            username_password,
            |username, password| async move {
                let pair = serializers::obtain_pair(app, &username, &password, client).await?;
                Ok(TokenPair {
                    refresh: Some(pair.refresh),
                    access: Some(pair.access),
                })
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
pub(crate) fn username_password(data: &Data) -> Result<(String, String), FieldErrors> {
    char_fields(data, ["username", "password"]).map(|[username, password]| (username, password))
}

/// The login endpoints: the client address's rate first (as DRF's throttles, before the
/// body is read), then the fields (`credentials` reads `(username, password)`), then the
/// username's lock, then the credentials.
pub(super) async fn login<'a, T, F, Fut>(
    http: &'a HttpState,
    req: &'a HttpRequest,
    body: web::Payload,
    credentials: fn(&Data) -> Result<(String, String), FieldErrors>,
    rule: F,
) -> Result<T, ApiError>
where
    F: FnOnce(String, String) -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let data = login_body(http, req, body).await?;
    login_with(http, req, &data, credentials, rule).await
}

/// A login's first step: the client address's rate, then the body.
pub(crate) async fn login_body(
    http: &HttpState,
    req: &HttpRequest,
    body: web::Payload,
) -> Result<Data, ApiError> {
    if let Some(ip) = http.throttle.client_address(req) {
        http.throttle.check_address(&http.app.store, ip).await?;
    }
    http.read_data(req, body).await
}

/// A login's second step, on the body `login_body` read (the console checks its CSRF
/// token in between): the fields, the username's lock, the credentials.
pub(crate) async fn login_with<'a, T, F, Fut>(
    http: &'a HttpState,
    req: &'a HttpRequest,
    data: &Data,
    credentials: fn(&Data) -> Result<(String, String), FieldErrors>,
    rule: F,
) -> Result<T, ApiError>
where
    F: FnOnce(String, String) -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let store = &http.app.store;
    let ip = http.throttle.client_address(req);
    let (username, password) = credentials(data)?;
    let attempt = http.throttle.check_login(store, &username, ip).await?;
    let result = rule(username, password).await;
    if let Some(attempt) = &attempt {
        match &result {
            Ok(_) => http.throttle.record_success(store, attempt).await,
            // A failure that could not be counted is not let through uncounted.
            Err(e) if e.is_refused_login() => {
                if http.throttle.record_failure(store, attempt).await? {
                    let client = http.client(req);
                    let mut event = client.event(&http.app.settings.audit, EventType::LockedOut);
                    event.username = Some(attempt.username.clone());
                    audit::record(&http.app, event).await;
                }
            }
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

/// `POST /api/token/refresh/` → `{"access"}` (and `"refresh"` with rotation)
pub async fn refresh(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        cookies::check_cookie_origin(&http, &req)?;
        let data = http.read_data(&req, body).await?;
        let (refresh, _) = cookies::refresh_token(&http, &req, &data)?;
        let refreshed = serializers::refresh(&http.app, &refresh, &http.refresh_client(&req)).await?;
        Ok(Refreshed {
            access: Some(refreshed.access),
            refresh: refreshed.refresh,
        })
    };
    let rotated = u64::from(http.app.settings.tokens.rotate_refresh_tokens);
    issued(
        cookies::respond_with_tokens(&http, &req, result.await, false),
        Issued {
            access: 1,
            refresh: rotated,
            sliding: 0,
        },
    )
}

/// `POST /api/token/verify/` → `{}`
pub async fn verify(req: HttpRequest, body: web::Payload) -> HttpResponse {
    let http = crate::http::state(&req);
    let result = async {
        let data = http.read_data(&req, body).await?;
        let [token] = char_fields(&data, ["token"])?;
        serializers::verify(&http.app, &token).await?;
        Ok(())
    };
    http.respond_empty(result.await)
}

/// `POST /api/token/blacklist/` → `{}`
pub async fn blacklist(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        let data = http.read_data(&req, body).await?;
        let (refresh, _) = cookies::refresh_token(&http, &req, &data)?;
        serializers::blacklist(
            &http.app,
            &refresh,
            EventType::TokenBlacklisted,
            &http.client(&req),
        )
        .await?;
        Ok(())
    };
    http.respond_empty(result.await)
}

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
            let result = serializers::blacklist(&http.app, &refresh, EventType::Logout, &http.client(&req))
                .await
                .map_err(ApiError::from);
            (result, Some((refresh, source)))
        }
    };
    let mut response = http.respond_empty(result);
    let presented = presented
        .as_ref()
        .map(|(token, source)| (token.as_str(), *source));
    cookies::end_session(&http, &req, presented, &mut response);
    response
}

/// `POST /api/token/sliding/` → `{"token"}`
pub async fn obtain_sliding(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let app = &http.app;
    let client = http.client(&req);
    let client = &client;
    let result = login(
        &http,
        &req,
        body,
        username_password,
        |username, password| async move {
            let token = serializers::obtain_sliding(app, &username, &password, client).await?;
            Ok(SlidingToken { token })
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

/// `POST /api/token/sliding/refresh/` → `{"token"}`
pub async fn refresh_sliding(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        let data = http.read_data(&req, body).await?;
        let [token] = char_fields(&data, ["token"])?;
        let token = serializers::refresh_sliding(&http.app, &token, &http.refresh_client(&req)).await?;
        Ok(SlidingToken { token })
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
