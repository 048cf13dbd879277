//! The admin twins of the self-service session views (`admin_api`):
//! `/api/admin/users/{id}/sessions/`, `/api/admin/sessions/{id}/` and `/api/admin/events/`,
//! authenticated and checked as the admin user views are. Sessions are listed as
//! `/api/me/sessions/` lists them, never `current`: the caller's token is not theirs.

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use time::format_description::well_known::Iso8601;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use super::admin::{caller, other_method, user_id};
use super::sessions::{paginated, session_body};
use crate::accounts;
use crate::http::drf::fields::FieldErrors;
use crate::http::drf::metadata;
use crate::http::drf::pagination as page;
use crate::http::schema::{EventBody, EventPage, SessionPage};
use crate::http::{ApiError, HttpState};
use crate::store::{EventFilter, EventType};

type Http = web::Data<HttpState>;

fn no_content(http: &HttpState, result: Result<(), ApiError>) -> HttpResponse {
    match result {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => e.response(http),
    }
}

/// `/api/admin/users/{id}/sessions/`: GET lists the user's active sessions, DELETE
/// revokes them all (204).
pub async fn of_user(http: Http, req: HttpRequest) -> HttpResponse {
    let app = &http.app;
    match *req.method() {
        Method::GET | Method::HEAD => {
            let result = async {
                let caller = caller(&http, &req).await?;
                accounts::permissions::check_access(app, &caller, false)?;
                let id = user_id(&req)?;
                let caller = &caller;
                let (sessions, count, next, previous) = paginated(&http, &req, |p| async move {
                    Ok(accounts::sessions::of_user(app, caller, id, p).await?)
                })
                .await?;
                Ok(SessionPage {
                    count,
                    next,
                    previous,
                    results: sessions.into_iter().map(|s| session_body(s, None)).collect(),
                })
            };
            http.respond(result.await)
        }
        Method::DELETE => {
            let result = async {
                let caller = caller(&http, &req).await?;
                accounts::permissions::check_access(app, &caller, true)?;
                let id = user_id(&req)?;
                let client = http.client(&req);
                Ok(accounts::sessions::revoke_all(app, &caller, &client, id).await?)
            };
            no_content(&http, result.await)
        }
        _ => other_method(&http, &req, &metadata::ADMIN_USER_SESSIONS).await,
    }
}

/// `/api/admin/sessions/{id}/`: GET shows one active session of any user, DELETE revokes it
/// (204); an unknown or ended one is DRF's 404.
pub async fn one(http: Http, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        let result = async {
            let caller = caller(&http, &req).await?;
            accounts::permissions::check_access(&http.app, &caller, false)?;
            let session = accounts::sessions::one(&http.app, &caller, &id).await?;
            Ok(session_body(session, None))
        };
        return http.respond(result.await);
    }
    if req.method() != Method::DELETE {
        return other_method(&http, &req, &metadata::ADMIN_SESSION).await;
    }
    let result = async {
        let caller = caller(&http, &req).await?;
        accounts::permissions::check_access(&http.app, &caller, true)?;
        let client = http.client(&req);
        Ok(accounts::sessions::revoke_one(&http.app, &caller, &client, &id).await?)
    };
    no_content(&http, result.await)
}

/// Django's `forms.DateTimeField` as django-filter's `DateTimeFilter` uses it: ISO 8601
/// (a space for the `T` too), with or without an offset (without: UTC, jwtd's time
/// zone), or a bare date (midnight).
fn parse_datetime(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    let iso = match text.as_bytes().get(10) {
        Some(b' ') => format!("{}T{}", &text[..10], &text[11..]),
        _ => text.to_string(),
    };
    OffsetDateTime::parse(&iso, &Iso8601::DEFAULT)
        .or_else(|_| PrimitiveDateTime::parse(&iso, &Iso8601::DEFAULT).map(|t| t.assume_utc()))
        .or_else(|_| Date::parse(&iso, &Iso8601::DEFAULT).map(|d| d.midnight().assume_utc()))
        .ok()
}

/// The filters of `GET /api/admin/events/`, as django-filter's `FilterSet` reads them: an
/// empty value filters nothing; each bad one is an error under its name.
pub(crate) fn event_filter(query: &[(String, String)]) -> Result<EventFilter, ApiError> {
    let value = |key| page::query_value(query, key).filter(|v| !v.is_empty());
    let mut errors = FieldErrors::default();
    let mut filter = EventFilter::default();
    if let Some(v) = value("user") {
        match v.trim().parse() {
            Ok(id) => filter.user_id = Some(id),
            Err(_) => errors.add("user", "Enter a whole number."),
        }
    }
    if let Some(v) = value("type") {
        match EventType::parse(v) {
            Some(kind) => filter.kind = Some(kind),
            None => errors.add(
                "type",
                format!("Select a valid choice. {v} is not one of the available choices."),
            ),
        }
    }
    for (key, slot) in [("since", &mut filter.since), ("until", &mut filter.until)] {
        if let Some(v) = value(key) {
            match parse_datetime(v) {
                Some(t) => *slot = Some(t),
                None => errors.add(key, "Enter a valid date/time."),
            }
        }
    }
    if errors.is_empty() {
        Ok(filter)
    } else {
        Err(errors.into())
    }
}

/// `GET /api/admin/events/`: every user's events, newest first; `user`, `type`, `since`
/// (at or after) and `until` (before) filter them.
pub async fn events(http: Http, req: HttpRequest) -> HttpResponse {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return other_method(&http, &req, &metadata::ADMIN_EVENTS).await;
    }
    let result = async {
        let caller = caller(&http, &req).await?;
        // Permission before the filters' own errors, as DRF checks it in `initial()`.
        accounts::permissions::check_access(&http.app, &caller, false)?;
        let filter = event_filter(&page::parse_query(req.query_string()))?;
        let (app, caller, filter) = (&http.app, &caller, &filter);
        let (events, count, next, previous) = paginated(&http, &req, |p| async move {
            Ok(accounts::sessions::events(app, caller, filter, p).await?)
        })
        .await?;
        Ok(EventPage {
            count,
            next,
            previous,
            results: events.into_iter().map(EventBody::from).collect(),
        })
    };
    http.respond(result.await)
}

#[cfg(test)]
mod tests {
    use super::parse_datetime;

    #[test]
    fn django_datetime_forms() {
        for ok in [
            "2024-05-01T10:20:30Z",
            "2024-05-01T10:20:30+02:00",
            "2024-05-01 10:20:30",
            "2024-05-01T10:20:30.123456",
            "2024-05-01",
        ] {
            assert!(parse_datetime(ok).is_some(), "{ok}");
        }
        for bad in ["yesterday", "2024-13-01", "2024-05-01T25:00:00", ""] {
            assert!(parse_datetime(bad).is_none(), "{bad}");
        }
    }
}
