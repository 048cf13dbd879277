//! `/admin/`: the state of the service at a glance.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::system::KeyLine;
use super::{Chrome, Http, signed_in};
use crate::accounts;
use crate::accounts::overview::Overview;

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    chrome: Chrome,
    figures: Overview,
    keys: Vec<KeyLine>,
    database_kind: &'static str,
    /// `None`: ready; else why not.
    database_problem: Option<&'static str>,
}

/// `GET /admin/`
pub async fn page(http: Http, req: HttpRequest) -> HttpResponse {
    let mut signed = match signed_in(&http, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let app = &http.app;
    let figures = match accounts::overview::overview(app, &signed.caller).await {
        Ok(f) => f,
        Err(e) => return signed.refused(e),
    };
    let keys = super::system::key_lines(&http);
    let database_problem = app.store.ready().await.err().map(|e| e.reason());
    let chrome = signed.chrome("overview");
    let page = OverviewPage {
        chrome,
        figures,
        keys,
        database_kind: app.store.kind(),
        database_problem,
    };
    signed.render(StatusCode::OK, &page)
}
