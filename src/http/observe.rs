//! Around every request: a request id (taken from `X-Request-Id` or made), one log line
//! (method, route, status, latency, request id — never a header or body), and the metrics.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use tracing::Instrument;

use super::HttpState;
use super::metrics::{Failure, Issued};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The routes, by the resource names `routes()` gives them.
pub const ROUTES: &[&str] = &[
    "/api/token/",
    "/api/token/refresh/",
    "/api/token/verify/",
    "/api/token/blacklist/",
    "/api/token/sliding/",
    "/api/token/sliding/refresh/",
    "/api/token/revoke/",
    "/api/token/introspect/",
    "/api/me/",
    "/api/schema/",
    "/.well-known/jwks.json",
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "/healthz",
    "/readyz",
    "/metrics",
];

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
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().simple().to_string()).expect("hex is a header value")
        });
    let method = method_name(req.method());
    let http = req.app_data::<web::Data<HttpState>>().cloned();
    let span = tracing::info_span!("request", id = %request_id.to_str().unwrap_or_default());
    let mut res = next.call(req).instrument(span.clone()).await?;
    let status = res.status().as_u16();
    let route = res
        .request()
        .match_name()
        .and_then(|name| ROUTES.iter().find(|r| **r == name).copied())
        .unwrap_or("unmatched");
    let seconds = started.elapsed().as_secs_f64();
    if let Some(http) = http {
        let extensions = res.response().extensions();
        http.metrics.request(route, method, status, seconds);
        if let Some(issued) = extensions.get::<Issued>() {
            http.metrics.issued(*issued);
        }
        if let Some(failure) = extensions.get::<Failure>() {
            http.metrics.failure(route, *failure);
        }
    }
    res.headers_mut().insert(REQUEST_ID, request_id);
    span.in_scope(|| {
        tracing::info!(
            target: "jwtd::access",
            method,
            route,
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
