//! Liveness, readiness and metrics.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::http::openapi::Status;
use crate::http::{HttpState, json_response};

type Http = web::Data<HttpState>;

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Liveness",
    responses((status = 200, description = "The process answers", body = Status))
)]
/// `GET /healthz`: the process answers.
pub async fn healthz() -> HttpResponse {
    json_response(HttpResponse::Ok(), &json!({"status": "ok"}))
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "Readiness: the database answers, its migrations are applied and, after a failed write, it takes writes again",
    responses(
        (status = 200, description = "Ready", body = Status),
        (status = 503, description = "Not ready", body = Status),
    )
)]
/// `GET /readyz`: the database answers, has every migration applied and, if a write failed
/// since the last that succeeded, takes a write again; 503 otherwise.
pub async fn readyz(http: Http) -> HttpResponse {
    match http.app.store.ready().await {
        Ok(()) => json_response(
            HttpResponse::Ok(),
            &json!({"status": "ready", "database": http.app.store.kind()}),
        ),
        Err(e) => {
            // The database's own words go to the log only: they may name files, hosts or
            // tables, and /readyz is often reachable by more than the operators.
            tracing::warn!(error = %e, "not ready");
            json_response(
                HttpResponse::ServiceUnavailable(),
                &json!({"status": "unavailable", "database": http.app.store.kind(), "detail": e.reason()}),
            )
        }
    }
}

/// `GET /metrics`: Prometheus' text format.
pub async fn metrics(http: Http) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"))
        .body(http.metrics.render(&http.app.store))
}
