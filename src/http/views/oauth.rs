//! `POST /api/token/revoke/` (RFC 7009) and `POST /api/token/introspect/` (RFC 7662), with
//! OAuth's error bodies.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;

use crate::http::drf::parsers::{Data, Input};
use crate::http::{ApiError, HttpState};
use crate::tokens::oauth;

type Http = web::Data<HttpState>;

/// The `token` parameter; `token_type_hint` may come along and is not needed: jwtd tells
/// its token types apart by their claims.
fn token_param(data: &Data) -> Result<String, ApiError> {
    match data.get("token") {
        Some(Input::Str(s)) if !s.text.trim().is_empty() => Ok(s.text.trim().to_string()),
        _ => Err(ApiError::OAuth {
            status: 400,
            error: "invalid_request",
            description: "the token parameter is required",
        }),
    }
}

pub async fn revoke(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        let data = http.read_data(&req, body).await.map_err(as_oauth)?;
        let token = token_param(&data)?;
        oauth::revoke(&http.app, &token, &http.client(&req)).await?;
        Ok(())
    };
    no_store(http.respond_empty(result.await))
}

pub async fn introspect(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        let unauthorized = || ApiError::OAuth {
            status: 401,
            error: "invalid_client",
            description: "client authentication failed",
        };
        let (id, secret) = basic_credentials(&req).ok_or_else(unauthorized)?;
        if http.app.clients.is_empty() {
            return Err(unauthorized());
        }
        if !oauth::client_verified(&http.app, &id, &secret) {
            // A client check costs a password hash: it counts against the address's login
            // rate, the same counter as logins, so neither endpoint adds to the other's.
            if let Some(ip) = http.throttle.client_address(&req) {
                http.throttle.check_address(&http.app.store, ip).await?;
            }
            if !oauth::authenticate_client(&http.app, &id, &secret).await? {
                return Err(unauthorized());
            }
        }
        if !http.app.clients.has_scope(&id, "introspect") {
            return Err(ApiError::OAuth {
                status: 403,
                error: "unauthorized_client",
                description: "the client may not introspect",
            });
        }
        let data = http.read_data(&req, body).await.map_err(as_oauth)?;
        let token = token_param(&data)?;
        Ok(oauth::introspect(&http.app, &token).await?)
    };
    no_store(http.respond(result.await))
}

/// Bodies that cannot be read are OAuth's `invalid_request` here, not DRF's parse error.
fn as_oauth(e: ApiError) -> ApiError {
    match e {
        ApiError::Parse(_) | ApiError::BadBody => ApiError::OAuth {
            status: 400,
            error: "invalid_request",
            description: "the body must be form-encoded (or JSON)",
        },
        other => other,
    }
}

/// RFC 6749 §2.3.1: `Basic base64(urlencode(id) ":" urlencode(secret))`.
pub(super) fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// Token answers must not be cached (RFC 6749 §5.1, RFC 7662 §2.2).
fn no_store(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}
