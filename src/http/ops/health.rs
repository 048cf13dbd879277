//! Liveness, readiness and metrics.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::http::schema::Status;
use crate::http::{HttpState, json_response};

type Http = web::Data<HttpState>;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> HttpResponse {
    let ok = Status {
        status: "ok",
        database: None,
        detail: None,
    };
    json_response(HttpResponse::Ok(), &ok)
}

/// `GET /readyz`: the database answers, has every migration applied and, if a write failed
/// since the last that succeeded, takes a write again; 503 otherwise.
pub async fn readyz(http: Http) -> HttpResponse {
    match http.app.store.ready().await {
        Ok(()) => json_response(
            HttpResponse::Ok(),
            &Status {
                status: "ready",
                database: Some(http.app.store.kind()),
                detail: None,
            },
        ),
        Err(e) => {
            // The database's own words go to the log only: they may name files, hosts or
            // tables, and /readyz is often reachable by more than the operators.
            tracing::warn!(error = %e, "not ready");
            json_response(
                HttpResponse::ServiceUnavailable(),
                &Status {
                    status: "unavailable",
                    database: Some(http.app.store.kind()),
                    detail: Some(e.reason()),
                },
            )
        }
    }
}

/// `GET /metrics`: Prometheus' text format.
pub async fn metrics(http: Http) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"))
        .body(
            http.metrics
                .render(&http.app.store, &http.app.audit_counts, &http.app.flush_stats),
        )
}
