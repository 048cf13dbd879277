//! The user's own sessions and security events (`/api/me/sessions/…`, `/api/me/events/`),
//! authenticated as `/api/me/` is. A session is one login and everything refreshed from
//! it; the calling token's is `current` (its `sid` claim).

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};

use super::me::{authenticated, drf_datetime};
use crate::http::drf::metadata;
use crate::http::drf::pagination::{self as page, PageAsked};
use crate::http::schema::{EventBody, EventPage, RevokedSessions, SessionBody, SessionPage};
use crate::http::{ApiError, HttpState};
use crate::store::{EventFilter, EventType, Page, Reason, Session, User};
use crate::tokens::Token;
use crate::tokens::audit;
use crate::tokens::impersonation::IMPERSONATOR_CLAIM;
use crate::tokens::serializers::session_of;

type Http = web::Data<HttpState>;

/// The page asked for, read as DRF's `PageNumberPagination` reads it, and the list's
/// `next`/`previous` links once its count is known.
struct Paging {
    query: Vec<(String, String)>,
    number: i64,
    size: i64,
}

impl Paging {
    /// `page=last` is the one form that needs the count first: `Last` then.
    fn read(req: &HttpRequest) -> Result<(Paging, bool), ApiError> {
        let query = page::parse_query(req.query_string());
        let size = page::page_size(&query);
        let (number, last) = match page::page_asked(&query) {
            PageAsked::Number(n) if n >= 1 => (n, false),
            PageAsked::Last => (1, true),
            _ => return Err(ApiError::NotFoundDetail(page::INVALID_PAGE)),
        };
        Ok((Paging { query, number, size }, last))
    }

    fn page(&self) -> Page {
        Page {
            offset: (self.number - 1).saturating_mul(self.size),
            limit: self.size,
        }
    }

    /// The page's links, or DRF's 404 for a page past the last.
    fn links(
        &self,
        http: &HttpState,
        req: &HttpRequest,
        count: i64,
    ) -> Result<(Option<String>, Option<String>), ApiError> {
        let number = page::check_page(self.number, count, self.size)
            .ok_or(ApiError::NotFoundDetail(page::INVALID_PAGE))?;
        let origin = crate::http::drf::origin::request_origin(http, req);
        Ok(page::links(
            &origin,
            req.uri().path(),
            &self.query,
            number,
            page::num_pages(count, self.size),
        ))
    }
}

/// Reads a list page by page: `fetch(page)` gives the rows and the count; `page=last`
/// costs a first call for the count.
pub(super) async fn paginated<T, F, Fut>(
    http: &HttpState,
    req: &HttpRequest,
    fetch: F,
) -> Result<(Vec<T>, i64, Option<String>, Option<String>), ApiError>
where
    F: Fn(Page) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, i64), ApiError>>,
{
    let (mut paging, last) = Paging::read(req)?;
    if last {
        let (_, count) = fetch(Page { offset: 0, limit: 0 }).await?;
        paging.number = page::num_pages(count, paging.size);
    }
    let (rows, count) = fetch(paging.page()).await?;
    let (next, previous) = paging.links(http, req, count)?;
    Ok((rows, count, next, previous))
}

/// The id of the impersonator, when the calling token is an impersonation token: the
/// events it causes name them as the actor.
fn actor(token: &Token) -> Option<i64> {
    token
        .get(IMPERSONATOR_CLAIM)
        .and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
}

pub(super) fn session_body(s: Session, current: Option<&str>) -> SessionBody {
    SessionBody {
        current: current == Some(s.id.as_str()),
        id: s.id,
        created: s.created_at.map(drf_datetime),
        last_used: s.last_used_at.map(drf_datetime),
        expires: s.expires_at.map(drf_datetime),
        user_agent: s.user_agent,
        ip_address: s.ip_address,
    }
}

/// Methods other than the view's: authentication first, as DRF's `initial()`; then OPTIONS
/// answers with `view`'s metadata and the rest with 405.
async fn refused_method(http: &HttpState, req: &HttpRequest, view: &metadata::View) -> HttpResponse {
    match authenticated(http, req).await {
        Err(e) => e.response(http),
        // An impersonation token may not write: no POST action for it.
        Ok((_, token)) if req.method() == Method::OPTIONS => {
            metadata::describe(view, token.get(IMPERSONATOR_CLAIM).is_none())
        }
        Ok(_) => ApiError::MethodNotAllowed(req.method().to_string()).response(http),
    }
}

/// `GET /api/me/sessions/`: the user's active sessions, the most recently used first.
pub async fn list(http: Http, req: HttpRequest) -> HttpResponse {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return refused_method(&http, &req, &metadata::MY_SESSIONS).await;
    }
    let result = async {
        let (user, token) = authenticated(&http, &req).await?;
        let now = crate::store::now();
        let store = &http.app.store;
        let (sessions, count, next, previous) = paginated(&http, &req, |p| async move {
            Ok(store
                .sessions_of_user(user.id, now, p)
                .await
                .map_err(crate::tokens::AuthError::from)?)
        })
        .await?;
        let current = session_of(&token);
        Ok(SessionPage {
            count,
            next,
            previous,
            results: sessions.into_iter().map(|s| session_body(s, current)).collect(),
        })
    };
    http.respond(result.await)
}

/// `GET /api/me/sessions/{id}/`: one of the user's active sessions; `DELETE` revokes it
/// (204). Another user's, an unknown or an ended one is DRF's 404.
pub async fn one(http: Http, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    match *req.method() {
        Method::GET | Method::HEAD => {
            let result = async {
                let (user, token) = authenticated(&http, &req).await?;
                let session = http
                    .app
                    .store
                    .session(&id)
                    .await
                    .map_err(crate::tokens::AuthError::from)?;
                let now = crate::store::now();
                match session {
                    Some(s)
                        if s.user_id == Some(user.id)
                            && s.revoked_at.is_none()
                            && s.expires_at.is_some_and(|e| e > now) =>
                    {
                        Ok(session_body(s, session_of(&token)))
                    }
                    _ => Err(ApiError::NotFound),
                }
            };
            http.respond(result.await)
        }
        Method::DELETE => {
            let result = async {
                let (user, token) = authenticated(&http, &req).await?;
                revoke_one(&http, &req, &user, &token, &id).await
            };
            match result.await {
                Ok(()) => HttpResponse::NoContent().finish(),
                Err(e) => e.response(&http),
            }
        }
        _ => refused_method(&http, &req, &metadata::MY_SESSION).await,
    }
}

async fn revoke_one(
    http: &HttpState,
    req: &HttpRequest,
    user: &User,
    token: &Token,
    id: &str,
) -> Result<(), ApiError> {
    let s = &http.app.settings.audit;
    let mut event = audit::event(
        s,
        &http.client(req),
        EventType::SessionRevoked,
        Some(user),
        Some(id),
    );
    event.actor_id = actor(token);
    let events = [event];
    let revoked = http
        .app
        .store
        .revoke_session(id, Some(user.id), Reason::Revoke, &events)
        .await
        .map_err(crate::tokens::AuthError::from)?;
    if revoked.is_none() {
        return Err(ApiError::NotFound);
    }
    audit::written(Some(&http.app.audit_counts), &events);
    Ok(())
}

/// `POST /api/me/sessions/revoke-others/`: every session of the user but the calling
/// token's is revoked ("log out other devices"); `{"revoked": N}`. A token without `sid`
/// (issued before sessions were recorded) belongs to none: every session is revoked.
pub async fn revoke_others(http: Http, req: HttpRequest) -> HttpResponse {
    if *req.method() != Method::POST {
        return refused_method(&http, &req, &metadata::REVOKE_OTHERS).await;
    }
    let result = async {
        let (user, token) = authenticated(&http, &req).await?;
        let keep = session_of(&token);
        let s = &http.app.settings.audit;
        let mut event = audit::event(
            s,
            &http.client(&req),
            EventType::SessionRevoked,
            Some(&user),
            keep,
        );
        event.actor_id = actor(&token);
        event.detail = Some(serde_json::json!({"others": true}));
        let events = [event];
        let store = &http.app.store;
        let revoked = match keep {
            Some(keep) => {
                store
                    .revoke_other_sessions(user.id, keep, Reason::Revoke, &events)
                    .await
            }
            None => store.revoke_all_sessions(user.id, Reason::Revoke, &events).await,
        }
        .map_err(crate::tokens::AuthError::from)?;
        audit::written(Some(&http.app.audit_counts), &events);
        Ok(RevokedSessions {
            revoked: revoked.sessions,
        })
    };
    http.respond(result.await)
}

/// `GET /api/me/events/`: the user's own security events, newest first.
pub async fn events(http: Http, req: HttpRequest) -> HttpResponse {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return refused_method(&http, &req, &metadata::MY_EVENTS).await;
    }
    let result = async {
        let (user, _) = authenticated(&http, &req).await?;
        let filter = EventFilter {
            user_id: Some(user.id),
            ..EventFilter::default()
        };
        let store = &http.app.store;
        let filter = &filter;
        let (events, count, next, previous) = paginated(&http, &req, |p| async move {
            Ok(store
                .events(filter, p)
                .await
                .map_err(crate::tokens::AuthError::from)?)
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
