//! HTTP: Simple JWT's URLs on actix-web. Handlers only read the request, call the rules in
//! `tokens` and write the answer; `errors` maps every refusal to its response.
//!
//! Paths are served with and without the trailing slash, answered identically (rather than
//! Django's `APPEND_SLASH` redirect, which loses a POST body).

mod drf;
mod errors;
mod openapi;
pub mod ops;
pub mod schema;
mod throttle;
pub mod views;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::guard::{Guard, GuardContext};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{Condition, from_fn};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{App, HttpRequest, HttpResponse, HttpResponseBuilder, web};
use futures_util::StreamExt;
use serde::Serialize;

pub use drf::fields::FieldErrors;
pub use drf::parsers::{Data, ParseFailure};
pub use errors::ApiError;
pub use openapi::{Served, document as openapi_document};
pub use views::cookies::token_from_cookie;
pub use views::me::drf_datetime;

use crate::tokens::state::State;
use drf::{metadata, parsers};
use ops::{health, metrics, observe};
use views::{account, admin, admin_sessions, cookies, drf_jwt, impersonate, me, oauth, sessions, well_known};

/// What every handler can reach.
pub struct HttpState {
    pub app: State,
    /// `Bearer realm="api"`: the first configured header type, as DRF's authenticate_header.
    pub www_authenticate: HeaderValue,
    /// `Bearer realm="api"` for drf-jwt's logout: `jwt_auth_header_prefix`.
    pub drf_www_authenticate: HeaderValue,
    pub auth_header: HeaderName,
    pub max_body: usize,
    pub client_timeout: Duration,
    /// The JWK Set and the API description, rendered once.
    pub jwks: well_known::Rendered,
    /// `Cache-Control` of the JWKS and discovery documents.
    pub well_known_cache_control: HeaderValue,
    pub schema: well_known::Rendered,
    pub metrics: metrics::Metrics,
    pub throttle: throttle::Throttle,
    /// `None` unless `auth_cookie` is set.
    pub cookies: Option<cookies::Cookies>,
}

impl HttpState {
    pub fn new(app: State) -> HttpState {
        let s = &app.settings;
        let www_authenticate =
            HeaderValue::from_str(&format!("{} realm=\"api\"", s.tokens.auth_header_types[0]))
                .expect("header types are checked at start-up");
        let drf_www_authenticate =
            HeaderValue::from_str(&format!("{} realm=\"api\"", s.drf_jwt.jwt_auth_header_prefix))
                .expect("the prefix is checked at start-up");
        let auth_header =
            HeaderName::from_bytes(s.tokens.auth_header().as_bytes()).expect("checked at start-up");
        let jwks = app.backend.keys().jwks();
        well_known::warn_without_public_url(s, &jwks);
        HttpState {
            www_authenticate,
            drf_www_authenticate,
            auth_header,
            max_body: s.server.max_body_size,
            client_timeout: s.server.client_timeout.0,
            jwks: well_known::Rendered::new(&jwks),
            well_known_cache_control: HeaderValue::from_str(&format!(
                "public, max-age={}",
                s.server.well_known_max_age.as_secs()
            ))
            .expect("digits are a valid header value"),
            schema: well_known::Rendered::new(&openapi::document(openapi::Served {
                drf_jwt: s.drf_jwt.drf_jwt_endpoints,
                admin: s.accounts.admin_api != crate::config::AdminApi::Off,
                registration: s.accounts.registration,
            })),
            metrics: metrics::Metrics::new(app.hasher.timing(), app.flush_stats.duration()),
            throttle: throttle::Throttle::new(&s.throttle, s.database.database_timeout.0),
            cookies: cookies::Cookies::new(s),
            app,
        }
    }

    /// Reads the body (within the size and time limits) and parses it as DRF would.
    pub async fn read_data(&self, req: &HttpRequest, body: web::Payload) -> Result<Data, ApiError> {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > self.max_body) {
            return Err(ApiError::TooLarge(self.max_body));
        }
        // A small body has usually arrived with the head: only arm the timer (a timer-wheel
        // entry per request) when it has not.
        let mut reading = std::pin::pin!(collect_body(body, self.max_body));
        let first = std::future::poll_fn(|cx| std::task::Poll::Ready(reading.as_mut().poll(cx))).await;
        let bytes = match first {
            std::task::Poll::Ready(read) => read?,
            std::task::Poll::Pending => match tokio::time::timeout(self.client_timeout, reading).await {
                Ok(read) => read?,
                Err(_) => return Err(ApiError::Timeout),
            },
        };
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()));
        Ok(parsers::parse(content_type.as_deref(), &bytes)?)
    }

    /// The request's client (address as the throttle determines it, user agent), for
    /// sessions and the audit trail.
    pub fn client<'r>(&self, req: &'r HttpRequest) -> crate::tokens::audit::Client<'r> {
        crate::tokens::audit::Client {
            ip: self.throttle.client_address(req),
            user_agent: req
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok()),
        }
    }

    /// The client of a refresh: read only when the refresh is recorded as an event, so
    /// that a refresh does not look at it otherwise.
    pub fn refresh_client<'r>(&self, req: &'r HttpRequest) -> crate::tokens::audit::Client<'r> {
        if self.app.settings.audit.audit_token_refreshed {
            self.client(req)
        } else {
            crate::tokens::audit::Client::NONE
        }
    }

    /// 200 with the body, or the error's response.
    pub fn respond(&self, result: Result<impl Serialize, ApiError>) -> HttpResponse {
        match result {
            Ok(body) => json_response(HttpResponse::Ok(), &body),
            Err(e) => e.response(self),
        }
    }

    /// 200 with `{}` (verify, blacklist, logout, revoke), or the error's response.
    pub fn respond_empty(&self, result: Result<(), ApiError>) -> HttpResponse {
        match result {
            Ok(()) => empty_response(HttpResponse::Ok()),
            Err(e) => e.response(self),
        }
    }
}

/// The body, at most `limit` bytes. A body that came in one piece (a small JSON body
/// usually does) is that piece, uncopied: actix's `to_bytes_limited` would allocate 32 KiB
/// for it first.
async fn collect_body(mut body: web::Payload, limit: usize) -> Result<Bytes, ApiError> {
    let mut next = async || match body.next().await {
        Some(Ok(chunk)) if chunk.len() > limit => Err(ApiError::TooLarge(limit)),
        Some(Ok(chunk)) => Ok(Some(chunk)),
        Some(Err(_)) => Err(ApiError::BadBody),
        None => Ok(None),
    };
    let Some(first) = next().await? else {
        return Ok(Bytes::new());
    };
    let Some(second) = next().await? else {
        return Ok(first);
    };
    let mut joined = BytesMut::from(&first[..]);
    let mut chunk = Some(second);
    while let Some(piece) = chunk {
        if joined.len() + piece.len() > limit {
            return Err(ApiError::TooLarge(limit));
        }
        joined.extend_from_slice(&piece);
        chunk = next().await?;
    }
    Ok(joined.freeze())
}

/// The shared state, borrowed from the request: the `web::Data` extractor would clone its
/// `Arc` on every request, and two workers doing so bounce its counter between cores.
pub(crate) fn state(req: &HttpRequest) -> &HttpState {
    req.app_data::<web::Data<HttpState>>()
        .expect("the app registers its state")
}

pub fn json_response(mut builder: HttpResponseBuilder, body: &impl Serialize) -> HttpResponse {
    builder.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/json")));
    // Room for a pair of tokens: `to_vec` would start empty and grow again and again.
    let mut buf = Vec::with_capacity(768);
    serde_json::to_writer(&mut buf, body).expect("the bodies serialize");
    builder.body(buf)
}

/// `{}`, written as it serializes (`schema::Empty`): no need to serialize.
pub fn empty_response(mut builder: HttpResponseBuilder) -> HttpResponse {
    builder.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/json")));
    builder.body(schema::Empty::JSON)
}

/// The routes, for `App::configure`. Each resource is named by its path, which is the
/// route label of logs and metrics.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // actix tries resources in registration order, each at a cost: the busiest paths first, and every path as clients write it (with its slash) before the forms
    // without the slash, which few clients use.
    busiest_views(cfg, Slash::Kept);
    get_only(cfg, "/.well-known/jwks.json", well_known::jwks);
    other_views(cfg, Slash::Kept);
    get_only(cfg, "/api/schema/", openapi::schema);
    get_only(cfg, "/.well-known/openid-configuration", well_known::discovery);
    get_only(
        cfg,
        "/.well-known/oauth-authorization-server",
        well_known::discovery,
    );
    get_only(cfg, "/healthz", health::healthz);
    get_only(cfg, "/readyz", health::readyz);
    busiest_views(cfg, Slash::Trimmed);
    other_views(cfg, Slash::Trimmed);
}

#[derive(Clone, Copy)]
enum Slash {
    Kept,
    Trimmed,
}

impl Slash {
    fn at(self, path: &'static str) -> &'static str {
        match self {
            Slash::Kept => path,
            Slash::Trimmed => path.trim_end_matches('/'),
        }
    }
}

/// Verify, refresh and `/api/me/`: what a running system calls most.
fn busiest_views(cfg: &mut web::ServiceConfig, slash: Slash) {
    token_view(
        cfg,
        slash.at("/api/token/verify/"),
        views::tokens::verify,
        metadata::VERIFY,
    );
    token_view(
        cfg,
        slash.at("/api/token/refresh/"),
        views::tokens::refresh,
        metadata::REFRESH,
    );
    let me = slash.at("/api/me/");
    cfg.service(
        web::resource(me)
            .name(me)
            .route(on(Method::GET).to(me::me))
            .route(on(Method::HEAD).to(me::me))
            .route(on(Method::PATCH).to(account::update))
            .route(on(Method::PUT).to(account::update))
            // DRF authenticates before it looks at the method.
            .default_service(web::to(me::other_methods)),
    );
}

/// The rest of Simple JWT's views, and the OAuth endpoints.
fn other_views(cfg: &mut web::ServiceConfig, slash: Slash) {
    token_view(
        cfg,
        slash.at("/api/token/"),
        views::tokens::obtain_pair,
        metadata::OBTAIN_PAIR,
    );
    token_view(
        cfg,
        slash.at("/api/token/blacklist/"),
        views::tokens::blacklist,
        metadata::BLACKLIST,
    );
    token_view(
        cfg,
        slash.at("/api/token/logout/"),
        views::tokens::logout,
        metadata::LOGOUT,
    );
    token_view(
        cfg,
        slash.at("/api/token/sliding/"),
        views::tokens::obtain_sliding,
        metadata::OBTAIN_SLIDING,
    );
    token_view(
        cfg,
        slash.at("/api/token/sliding/refresh/"),
        views::tokens::refresh_sliding,
        metadata::REFRESH_SLIDING,
    );
    get_only(cfg, slash.at("/api/token/csrf/"), cookies::csrf_token);
    post_only(cfg, slash.at("/api/token/revoke/"), oauth::revoke);
    post_only(cfg, slash.at("/api/token/introspect/"), oauth::introspect);
    // The user's own sessions and events. Each view checks the method itself, after
    // authentication, as DRF does; `revoke-others/` before the `{id}/` it would match.
    for (path, view) in [
        ("/api/me/sessions/", web::to(sessions::list)),
        (
            "/api/me/sessions/revoke-others/",
            web::to(sessions::revoke_others),
        ),
        ("/api/me/events/", web::to(sessions::events)),
    ] {
        let path = slash.at(path);
        cfg.service(web::resource(path).name(path).default_service(view));
    }
    let path = slash.at("/api/me/sessions/{id}/");
    cfg.service(
        web::resource(path)
            .name(path)
            .default_service(web::to(sessions::one)),
    );
    // Self-service: authenticated first, then the method, as DRF does.
    let password = slash.at("/api/me/password/");
    cfg.service(
        web::resource(password)
            .name(password)
            .default_service(web::to(account::password)),
    );
}

/// The admin API (`admin_api`): each view answers its methods itself, authenticating first
/// as DRF does.
fn admin_routes(cfg: &mut web::ServiceConfig) {
    for path in with_and_without_slash("/api/admin/users/") {
        cfg.service(
            web::resource(path)
                .name(path)
                .default_service(web::to(admin::users)),
        );
    }
    for path in with_and_without_slash("/api/admin/users/{id}/") {
        cfg.service(
            web::resource(path)
                .name(path)
                .default_service(web::to(admin::user)),
        );
    }
    for path in with_and_without_slash("/api/admin/users/{id}/password/") {
        cfg.service(
            web::resource(path)
                .name(path)
                .default_service(web::to(admin::password)),
        );
    }
    for path in with_and_without_slash("/api/admin/users/{id}/set-unusable-password/") {
        cfg.service(
            web::resource(path)
                .name(path)
                .default_service(web::to(admin::unusable_password)),
        );
    }
    // The twins of the self-service session views.
    for path in with_and_without_slash("/api/admin/users/{id}/sessions/") {
        cfg.service(
            web::resource(path)
                .name(path)
                .default_service(web::to(admin_sessions::of_user)),
        );
    }
    for path in with_and_without_slash("/api/admin/sessions/{id}/") {
        cfg.service(
            web::resource(path)
                .name(path)
                .default_service(web::to(admin_sessions::one)),
        );
    }
    for path in with_and_without_slash("/api/admin/events/") {
        cfg.service(
            web::resource(path)
                .name(path)
                .default_service(web::to(admin_sessions::events)),
        );
    }
}

/// `/metrics`, on the main address or on `metrics_bind`.
fn metrics_route(cfg: &mut web::ServiceConfig) {
    get_only(cfg, "/metrics", health::metrics);
}

/// A path and its form without the trailing slash: two resources with plain string
/// patterns (one resource with two patterns would be matched by regular expressions on
/// every request).
fn with_and_without_slash(path: &'static str) -> [&'static str; 2] {
    [Slash::Kept, Slash::Trimmed].map(|slash| slash.at(path))
}

/// A Simple JWT token view: POST, OPTIONS with DRF's metadata, 405 for the rest.
fn token_view<F, Args>(cfg: &mut web::ServiceConfig, path: &'static str, handler: F, metadata: &'static str)
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    cfg.service(
        web::resource(path)
            .name(path)
            .route(on(Method::POST).to(handler))
            .route(on(Method::OPTIONS).to(move || std::future::ready(metadata::options(metadata))))
            .default_service(web::to(views::tokens::method_not_allowed)),
    );
}

/// A route for one method. actix's own method guards (`web::post()`, …) also record every
/// method tried in the request's extensions, an allocation per request, for actix's 405
/// answer — which jwtd replaces with DRF's.
fn on(method: Method) -> actix_web::Route {
    web::route().guard(MethodIs(method))
}

struct MethodIs(Method);

impl Guard for MethodIs {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        ctx.head().method == self.0
    }
}

/// An endpoint beyond Simple JWT: POST, and 405 for the rest.
fn post_only<F, Args>(cfg: &mut web::ServiceConfig, path: &'static str, handler: F)
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    cfg.service(
        web::resource(path)
            .name(path)
            .route(on(Method::POST).to(handler))
            .default_service(web::to(views::tokens::method_not_allowed)),
    );
}

fn get_only<F, Args>(cfg: &mut web::ServiceConfig, path: &'static str, handler: F)
where
    F: actix_web::Handler<Args> + Clone,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    cfg.service(
        web::resource(path)
            .name(path)
            .route(on(Method::GET).to(handler.clone()))
            .route(on(Method::HEAD).to(handler))
            .default_service(web::to(views::tokens::method_not_allowed)),
    );
}

/// CORS for browser frontends (`cors_allowed_origins`); answers preflights itself.
fn cors(http: &HttpState) -> actix_cors::Cors {
    let s = &http.app.settings.cors;
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("x-csrftoken"),
            http.auth_header.clone(),
        ])
        // Pages read these only when exposed: why a request was refused, when to retry.
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            header::WWW_AUTHENTICATE,
            header::RETRY_AFTER,
        ])
        .max_age(s.cors_max_age.as_secs() as usize);
    for origin in &s.cors_allowed_origins {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    if s.cors_allow_credentials {
        cors = cors.supports_credentials();
    }
    cors
}

async fn not_found(http: web::Data<HttpState>) -> HttpResponse {
    ApiError::NotFound.response(&http)
}

/// Builds the server on an already bound listener (tests bind port 0).
pub fn server(state: Arc<HttpState>, listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    let s = &state.app.settings;
    let (admin_api, registration) = (
        s.accounts.admin_api != crate::config::AdminApi::Off,
        s.accounts.registration,
    );
    let (metrics_here, drf_jwt, impersonation, client_timeout, shutdown) = (
        s.server.metrics && s.server.metrics_bind.is_none(),
        s.drf_jwt.drf_jwt_endpoints,
        s.impersonation.impersonation != crate::config::Impersonation::Off,
        s.server.client_timeout.0,
        s.server.shutdown_timeout.as_secs(),
    );
    let data = web::Data::from(state);
    Ok(actix_web::HttpServer::new(move || {
        let with_cors = !data.app.settings.cors.cors_allowed_origins.is_empty();
        App::new()
            .app_data(data.clone())
            .wrap(Condition::new(with_cors, cors(&data)))
            .wrap(from_fn(observe::observe))
            .configure(routes)
            .configure(|cfg| {
                if metrics_here {
                    metrics_route(cfg);
                }
                if drf_jwt {
                    drf_jwt::routes(cfg);
                }
                if impersonation {
                    for path in with_and_without_slash("/api/token/impersonate/") {
                        post_only(cfg, path, impersonate::impersonate);
                    }
                }
                if admin_api {
                    admin_routes(cfg);
                }
                if registration {
                    for path in with_and_without_slash("/api/register/") {
                        post_only(cfg, path, admin::register);
                    }
                }
            })
            .default_service(web::to(not_found))
    })
    .workers(workers)
    .client_request_timeout(client_timeout)
    .shutdown_timeout(shutdown)
    .listen(listener)?
    .run())
}

/// The metrics alone, for `metrics_bind`.
pub fn metrics_server(state: Arc<HttpState>, listener: TcpListener) -> std::io::Result<Server> {
    let data = web::Data::from(state);
    Ok(
        actix_web::HttpServer::new(move || App::new().app_data(data.clone()).configure(metrics_route))
            .workers(1)
            .listen(listener)?
            .disable_signals()
            .run(),
    )
}
