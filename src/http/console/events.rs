//! `/admin/events/`: the audit trail, filtered by user, type and time, as
//! `/api/admin/events/` filters it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::users::EventRow;
use super::{Chrome, Http, signed_in};
use crate::accounts;
use crate::http::ApiError;
use crate::http::drf::pagination;
use crate::http::views::admin_sessions::event_filter;
use crate::store::{EventType, Page};

const PAGE_SIZE: i64 = 50;

#[derive(Template)]
#[template(path = "console/events.html")]
struct EventsPage {
    chrome: Chrome,
    user: String,
    since: String,
    until: String,
    /// Every event type, and whether it is the one filtered.
    types: Vec<(&'static str, bool)>,
    rows: Vec<EventRow>,
    count: i64,
    page: i64,
    pages: i64,
    previous: Option<String>,
    next: Option<String>,
    /// The filters' messages, as the admin API words them.
    errors: Vec<(String, String)>,
}

/// `GET /admin/events/`
pub async fn list(http: super::Http, req: HttpRequest) -> HttpResponse {
    let _: &Http = &http;
    let mut signed = match signed_in(&http, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let query = pagination::parse_query(req.query_string());
    let value = |k| pagination::query_value(&query, k).unwrap_or_default().to_string();
    let mut errors = Vec::new();
    let filter = match event_filter(&query) {
        Ok(f) => Some(f),
        Err(ApiError::Fields(e)) => {
            if let Some(map) = e.to_json().as_object() {
                for (field, list) in map {
                    for m in list.as_array().into_iter().flatten() {
                        errors.push((field.clone(), m.as_str().unwrap_or_default().to_string()));
                    }
                }
            }
            None
        }
        Err(e) => return signed.refused(e),
    };
    let page: i64 = value("page").parse().unwrap_or(1).max(1);
    let (rows, count) = match &filter {
        Some(filter) => {
            let p = Page {
                offset: (page - 1).saturating_mul(PAGE_SIZE),
                limit: PAGE_SIZE,
            };
            match accounts::sessions::events(&http.app, &signed.caller, filter, p).await {
                Ok((events, count)) => (events.into_iter().map(EventRow::from).collect(), count),
                Err(e) => return signed.refused(e),
            }
        }
        None => (Vec::new(), 0),
    };
    let pages = pagination::num_pages(count, PAGE_SIZE).max(1);
    let link = |n: i64| {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &query {
            if k != "page" && !v.is_empty() {
                out.append_pair(k, v);
            }
        }
        out.append_pair("page", &n.to_string());
        format!("/admin/events/?{}", out.finish())
    };
    let chrome = signed.chrome("events");
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = EventsPage {
        chrome,
        user: value("user"),
        since: value("since"),
        until: value("until"),
        types: EventType::ALL
            .iter()
            .map(|t| (t.as_str(), value("type") == t.as_str()))
            .collect(),
        rows,
        count,
        page,
        pages,
        previous: (page > 1).then(|| link(page - 1)),
        next: (page < pages).then(|| link(page + 1)),
        errors,
    };
    signed.render(status, &page)
}
