//! Around every request, in one middleware: a request id (taken from `X-Request-Id` or
//! made), the headers every answer carries (`Allow` for the route, and the ones Django's
//! SecurityMiddleware adds), one log line (method, route, status, latency, request id —
//! never a header or a body) and the metrics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use tracing::Instrument;

use super::metrics::{Failure, Issued};
use crate::http::HttpState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const COOP: HeaderName = HeaderName::from_static("cross-origin-opener-policy");

const TOKEN_VIEW: &str = "POST, OPTIONS";
const POST: &str = "POST";
const GET: &str = "GET, HEAD";
/// A console page with its form.
const FORM: &str = "GET, POST, HEAD";
/// DRF's views: OPTIONS too.
const GET_VIEW: &str = "GET, HEAD, OPTIONS";
const INSTANCE: &str = "GET, DELETE, HEAD, OPTIONS";

/// A route's label (its path with the trailing slash) and `Allow` header, by the resource
/// name `routes()` gives it: the path with or without the slash. A `match`, not a table
/// searched in order, so that no route pays for the ones before it.
pub fn route(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name.strip_suffix('/').unwrap_or(name) {
        "/api/token" => ("/api/token/", TOKEN_VIEW),
        "/api/token/refresh" => ("/api/token/refresh/", TOKEN_VIEW),
        "/api/token/verify" => ("/api/token/verify/", TOKEN_VIEW),
        "/api/token/blacklist" => ("/api/token/blacklist/", TOKEN_VIEW),
        "/api/token/logout" => ("/api/token/logout/", TOKEN_VIEW),
        "/api/token/sliding" => ("/api/token/sliding/", TOKEN_VIEW),
        "/api/token/sliding/refresh" => ("/api/token/sliding/refresh/", TOKEN_VIEW),
        "/api/token/impersonate" => ("/api/token/impersonate/", POST),
        "/api/token/csrf" => ("/api/token/csrf/", GET),
        "/api/token/revoke" => ("/api/token/revoke/", POST),
        "/api/token/introspect" => ("/api/token/introspect/", POST),
        "/api/me" => ("/api/me/", "GET, PUT, PATCH, HEAD, OPTIONS"),
        "/api/me/sessions" => ("/api/me/sessions/", GET_VIEW),
        "/api/me/sessions/revoke-others" => ("/api/me/sessions/revoke-others/", TOKEN_VIEW),
        "/api/me/sessions/{id}" => ("/api/me/sessions/{id}/", INSTANCE),
        "/api/me/events" => ("/api/me/events/", GET_VIEW),
        "/api/schema" => ("/api/schema/", GET),
        "/.well-known/jwks.json" => ("/.well-known/jwks.json", GET),
        "/.well-known/openid-configuration" => ("/.well-known/openid-configuration", GET),
        "/.well-known/oauth-authorization-server" => ("/.well-known/oauth-authorization-server", GET),
        "/healthz" => ("/healthz", GET),
        "/readyz" => ("/readyz", GET),
        "/metrics" => ("/metrics", GET),
        "/api-token-auth" => ("/api-token-auth/", TOKEN_VIEW),
        "/api-token-refresh" => ("/api-token-refresh/", TOKEN_VIEW),
        "/api-token-verify" => ("/api-token-verify/", TOKEN_VIEW),
        "/auth/logout" => ("/auth/logout/", TOKEN_VIEW),
        "/api/admin/users" => ("/api/admin/users/", "GET, POST, HEAD, OPTIONS"),
        "/api/admin/users/{id}" => ("/api/admin/users/{id}/", "GET, PATCH, DELETE, HEAD, OPTIONS"),
        "/api/admin/users/{id}/password" => ("/api/admin/users/{id}/password/", TOKEN_VIEW),
        "/api/admin/users/{id}/set-unusable-password" => {
            ("/api/admin/users/{id}/set-unusable-password/", TOKEN_VIEW)
        }
        "/api/admin/users/{id}/sessions" => ("/api/admin/users/{id}/sessions/", INSTANCE),
        "/api/admin/sessions/{id}" => ("/api/admin/sessions/{id}/", INSTANCE),
        "/api/admin/events" => ("/api/admin/events/", GET_VIEW),
        "/api/register" => ("/api/register/", TOKEN_VIEW),
        "/api/me/password" => ("/api/me/password/", TOKEN_VIEW),
        // The operator console (`http/console`).
        "/admin" => ("/admin/", GET),
        "/admin/login" => ("/admin/login/", FORM),
        "/admin/logout" => ("/admin/logout/", POST),
        "/admin/users" => ("/admin/users/", GET),
        "/admin/users/new" => ("/admin/users/new/", FORM),
        "/admin/users/{id}" => ("/admin/users/{id}/", FORM),
        "/admin/users/{id}/active" => ("/admin/users/{id}/active/", POST),
        "/admin/users/{id}/password" => ("/admin/users/{id}/password/", POST),
        "/admin/users/{id}/unusable-password" => ("/admin/users/{id}/unusable-password/", FORM),
        "/admin/users/{id}/delete" => ("/admin/users/{id}/delete/", FORM),
        "/admin/users/{id}/sessions/revoke" => ("/admin/users/{id}/sessions/revoke/", POST),
        "/admin/users/{id}/sessions/revoke-all" => ("/admin/users/{id}/sessions/revoke-all/", FORM),
        "/admin/events" => ("/admin/events/", GET),
        "/admin/keys" => ("/admin/keys/", GET),
        "/admin/settings" => ("/admin/settings/", GET),
        "/admin/static/{name}" => ("/admin/static/{name}", GET),
        _ => return None,
    })
}

/// Request ids made here: a random prefix per process and a counter — unique without a
/// call to the system's random source per request.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);
static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

fn new_request_id() -> HeaderValue {
    // From the operating system's source (as a jti's uuid), not AWS-LC's: the first use of
    // AWS-LC's generator sets it up, which the first request after start-up waited for.
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut id = [0u8; 32];
    hex::encode_to_slice([prefix.to_be_bytes(), n.to_be_bytes()].concat(), &mut id)
        .expect("32 hex digits fit");
    HeaderValue::from_bytes(&id).expect("hex is a header value")
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .filter(|v| v.len() <= 128 && v.as_bytes().iter().all(|b| b.is_ascii_graphic()))
        .cloned()
        .unwrap_or_else(new_request_id);
    let method = method_name(req.method());
    let span = tracing::info_span!("request", id = %request_id.to_str().unwrap_or_default());
    let mut res = next.call(req).instrument(span.clone()).await?;
    let status = res.status().as_u16();
    let route = res.request().match_name().and_then(route);
    let seconds = started.elapsed().as_secs_f64();
    // Borrowed, not cloned: two workers cloning one Arc per request bounce its counter
    // between their cores.
    if let Some(http) = res.request().app_data::<web::Data<HttpState>>() {
        let extensions = res.response().extensions();
        let label = route.map_or("unmatched", |(r, _)| r);
        http.metrics.request(label, method, status, seconds);
        if let Some(issued) = extensions.get::<Issued>() {
            http.metrics.issued(*issued);
        }
        if let Some(failure) = extensions.get::<Failure>() {
            http.metrics.failure(label, *failure);
        }
    }
    let headers = res.headers_mut();
    if let Some((_, allow)) = route {
        headers.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(COOP, HeaderValue::from_static("same-origin"));
    headers.insert(REQUEST_ID, request_id);
    span.in_scope(|| {
        tracing::info!(
            target: "jwtd::access",
            method,
            route = route.map_or("unmatched", |(r, _)| r),
            status,
            latency_ms = (seconds * 1000.0 * 1000.0).round() / 1000.0,
            "request"
        )
    });
    Ok(res)
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}
