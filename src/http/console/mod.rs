//! The operator console at `/admin/` (`admin_console`): server-rendered pages over the
//! admin API's rules (`accounts`), for people rather than programs. The pages call the same
//! functions as `/api/admin/…` with the same `Caller`, so what a role may see and do is
//! decided in one place; this module reads forms, keeps the browser's session in cookies
//! and renders templates (askama, checked when jwtd compiles).
//!
//! The session is jwtd's own pair of tokens, obtained as `/api/token/` obtains it, kept in
//! `HttpOnly`, `Secure`, `SameSite=Strict` cookies scoped to `/admin/`; an expired access
//! cookie is replaced from the refresh cookie without the operator noticing. Every form
//! carries a CSRF token (the secret of a cookie of its own, masked as Django masks it) and
//! every POST must also come from jwtd's own origin.

mod assets;
mod auth;
mod events;
mod overview;
mod system;
mod users;

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::accounts::{self, AccountError, Caller, FieldMessages};
use crate::http::drf::parsers::{Data, Input};
use crate::http::drf::{csrf, origin};
use crate::http::{ApiError, HttpState};
use crate::store::User;
use crate::tokens::impersonation::IMPERSONATOR_CLAIM;
use crate::tokens::{authentication, serializers};

type Http = web::Data<HttpState>;

const ACCESS_COOKIE: &str = "jwtd_console_access";
const REFRESH_COOKIE: &str = "jwtd_console_refresh";
const CSRF_COOKIE: &str = "jwtd_console_csrf";
const FLASH_COOKIE: &str = "jwtd_console_flash";
const COOKIE_PATH: &str = "/admin/";
/// The hidden field of every form.
const CSRF_FIELD: &str = "csrfmiddlewaretoken";

/// The console's routes, for `App::configure` (only when `admin_console` and `admin_api`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    let get =
        || web::route().guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()));
    let post = web::post;
    cfg.service(
        web::scope("/admin")
            .wrap(from_fn(security_headers))
            .service(web::resource("/").name("/admin/").route(get().to(overview::page)))
            .service(
                web::resource("/login/")
                    .name("/admin/login/")
                    .route(get().to(auth::page))
                    .route(post().to(auth::sign_in)),
            )
            .service(
                web::resource("/logout/")
                    .name("/admin/logout/")
                    .route(post().to(auth::sign_out)),
            )
            .service(
                web::resource("/users/")
                    .name("/admin/users/")
                    .route(get().to(users::list)),
            )
            // Before `{id}/`, which would take `new` for an id.
            .service(
                web::resource("/users/new/")
                    .name("/admin/users/new/")
                    .route(get().to(users::new_user))
                    .route(post().to(users::create)),
            )
            .service(
                web::resource("/users/{id}/")
                    .name("/admin/users/{id}/")
                    .route(get().to(users::detail))
                    .route(post().to(users::edit)),
            )
            .service(
                web::resource("/users/{id}/active/")
                    .name("/admin/users/{id}/active/")
                    .route(post().to(users::set_active)),
            )
            .service(
                web::resource("/users/{id}/password/")
                    .name("/admin/users/{id}/password/")
                    .route(post().to(users::set_password)),
            )
            .service(
                web::resource("/users/{id}/unusable-password/")
                    .name("/admin/users/{id}/unusable-password/")
                    .route(get().to(users::confirm_unusable))
                    .route(post().to(users::unusable)),
            )
            .service(
                web::resource("/users/{id}/delete/")
                    .name("/admin/users/{id}/delete/")
                    .route(get().to(users::confirm_delete))
                    .route(post().to(users::delete)),
            )
            .service(
                web::resource("/users/{id}/sessions/revoke/")
                    .name("/admin/users/{id}/sessions/revoke/")
                    .route(post().to(users::revoke_session)),
            )
            .service(
                web::resource("/users/{id}/sessions/revoke-all/")
                    .name("/admin/users/{id}/sessions/revoke-all/")
                    .route(get().to(users::confirm_revoke_all))
                    .route(post().to(users::revoke_all)),
            )
            .service(
                web::resource("/events/")
                    .name("/admin/events/")
                    .route(get().to(events::list)),
            )
            .service(
                web::resource("/keys/")
                    .name("/admin/keys/")
                    .route(get().to(system::keys)),
            )
            .service(
                web::resource("/settings/")
                    .name("/admin/settings/")
                    .route(get().to(system::settings)),
            )
            .service(
                web::resource("/static/{name}")
                    .name("/admin/static/{name}")
                    .route(get().to(assets::asset)),
            )
            .default_service(web::to(elsewhere)),
    );
}

/// `/admin` and other paths without their slash go to the page with it (as Django's
/// `APPEND_SLASH`, harmless here: the console's forms post to the slashed paths); anything
/// else is the console's 404 page.
async fn elsewhere(req: HttpRequest) -> HttpResponse {
    let path = req.path();
    if matches!(*req.method(), Method::GET | Method::HEAD) && !path.ends_with('/') {
        let mut target = format!("{path}/");
        if !req.query_string().is_empty() {
            target.push('?');
            target.push_str(req.query_string());
        }
        return redirect(&target);
    }
    let status = if req.method() == Method::GET || req.method() == Method::HEAD {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::METHOD_NOT_ALLOWED
    };
    message_page(status, "Not found", "There is no such page in the console.", None)
}

/// The console's own headers: a strict Content-Security-Policy (no inline script or
/// style, nothing from elsewhere, never framed), and pages kept by no cache.
async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ),
    );
    // `Referrer-Policy: same-origin`, `X-Content-Type-Options: nosniff` and COOP come
    // with every answer of jwtd's (`ops::observe`).
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Pages show users' data: never kept by a shared cache or the back button's.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

fn cookie(name: &str, value: String, max_age: CookieDuration) -> Cookie<'static> {
    Cookie::build(name.to_owned(), value)
        .path(COOKIE_PATH)
        // Browsers keep Secure cookies of http://localhost and 127.0.0.1 too (a secure
        // context), so the console works there as behind TLS.
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(max_age)
        .finish()
}

fn removal(name: &str) -> Cookie<'static> {
    let mut c = cookie(name, String::new(), CookieDuration::ZERO);
    c.make_removal();
    c
}

fn add_cookie(response: &mut HttpResponse, c: &Cookie<'_>) {
    // Names are constants, values base64url or percent-encoded: always valid.
    let _ = response.add_cookie(c);
}

fn cookie_value<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    crate::http::token_from_cookie(req, name)
}

/// A 303 to `location` (a path of the console).
fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// The sign-in page, coming back to `next` afterwards.
fn to_sign_in(next: Option<&str>) -> HttpResponse {
    match next {
        Some(next) if next != "/admin/" => {
            let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
            redirect(&format!("/admin/login/?next={next}"))
        }
        _ => redirect("/admin/login/"),
    }
}

/// A flash message: what the last action did, shown once on the next page.
#[derive(Debug, Clone)]
pub struct Flash {
    /// `success` or `error`: the CSS class and the role of the message.
    pub kind: &'static str,
    pub text: String,
}

impl Flash {
    fn read(req: &HttpRequest) -> Option<Flash> {
        let raw = cookie_value(req, FLASH_COOKIE)?;
        let decoded: String = form_urlencoded::parse(format!("f={raw}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())?;
        let (kind, text) = decoded.split_once(':')?;
        let kind = match kind {
            "success" => "success",
            _ => "error",
        };
        Some(Flash {
            kind,
            text: text.chars().take(500).collect(),
        })
    }

    fn cookie(kind: &'static str, text: &str) -> Cookie<'static> {
        let value: String = form_urlencoded::byte_serialize(format!("{kind}:{text}").as_bytes()).collect();
        cookie(FLASH_COOKIE, value, CookieDuration::seconds(60))
    }
}

/// A 303 to `location` with a success message for the next page.
fn done(location: &str, text: &str) -> HttpResponse {
    let mut response = redirect(location);
    add_cookie(&mut response, &Flash::cookie("success", text));
    response
}

/// An operator with a session: who they are, and what the page they get must carry.
pub struct Signed {
    pub caller: Caller,
    /// The masked CSRF token for this page's forms.
    pub csrf: String,
    /// Cookies to set with the answer: tokens refreshed, a CSRF secret made, a flash read.
    cookies: Vec<Cookie<'static>>,
    flash: Option<Flash>,
    /// Whether `/api/docs/` is served (`api_docs`), so the links to it lead somewhere.
    api_docs: bool,
}

impl Signed {
    pub fn user(&self) -> Option<&User> {
        match &self.caller {
            Caller::User { user, .. } => Some(user),
            Caller::Client { .. } => None,
        }
    }

    /// The header, navigation and messages every page shares.
    fn chrome(&mut self, section: &'static str) -> Chrome {
        let user = self.user();
        Chrome {
            section,
            username: user.map(|u| u.username.clone()).unwrap_or_default(),
            role: match user {
                Some(u) if u.is_superuser => "superuser",
                Some(u) if u.is_staff => "staff",
                _ => "user",
            },
            csrf: self.csrf.clone(),
            flash: self.flash.take(),
            configuration: accounts::overview::check_configuration_access(&self.caller).is_ok(),
            api_docs: self.api_docs,
            version: assets::version(),
        }
    }

    /// The answer with this request's cookies.
    fn finish(self, mut response: HttpResponse) -> HttpResponse {
        for c in &self.cookies {
            add_cookie(&mut response, c);
        }
        response
    }

    /// A page rendered with `status`.
    fn render(self, status: StatusCode, page: &impl Template) -> HttpResponse {
        let response = html(status, page);
        self.finish(response)
    }

    /// The answer of a refused action: the error page, with this request's cookies.
    fn refused(self, e: impl Into<ApiError>) -> HttpResponse {
        let response = error_page(e.into());
        self.finish(response)
    }
}

/// What the layout shows around each page.
pub struct Chrome {
    /// The navigation entry to mark as current.
    pub section: &'static str,
    pub username: String,
    pub role: &'static str,
    pub csrf: String,
    pub flash: Option<Flash>,
    /// Whether the keys and settings pages are offered (superusers).
    pub configuration: bool,
    /// Whether the API page exists (`api_docs`).
    pub api_docs: bool,
    /// The assets' version, for their links.
    pub version: &'static str,
}

fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "console template failed");
            HttpResponse::InternalServerError()
                .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
                .body("The page could not be rendered.")
        }
    }
}

/// A page that only says something: refusals, errors, not found.
#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
    /// Signed in as: offered a way out (sign out, or sign in as someone else).
    username: Option<&'a str>,
    csrf: String,
    version: &'static str,
}

fn message_page(status: StatusCode, title: &str, message: &str, username: Option<&str>) -> HttpResponse {
    html(
        status,
        &MessagePage {
            title,
            message,
            username,
            csrf: String::new(),
            version: assets::version(),
        },
    )
}

/// The page of a refusal or failure: its status, and its message as the admin API words
/// it (DRF's `detail`); jwtd's own failures say little and go to the log.
fn error_page(e: ApiError) -> HttpResponse {
    e.log();
    let status = e.status();
    let (title, message) = match status {
        StatusCode::FORBIDDEN => ("Permission denied", detail_of(&e)),
        StatusCode::NOT_FOUND => ("Not found", detail_of(&e)),
        StatusCode::TOO_MANY_REQUESTS => ("Too many requests", detail_of(&e)),
        s if s.is_server_error() => (
            "Something went wrong",
            "jwtd could not complete this request; the server's log says why. Try again shortly.".into(),
        ),
        _ => ("Request refused", detail_of(&e)),
    };
    message_page(status, title, &message, None)
}

/// The human-readable message of a refusal: its `detail`, or its first field message.
fn detail_of(e: &ApiError) -> String {
    let body = e.body();
    if let Some(detail) = body.get("detail").and_then(|d| d.as_str()) {
        return detail.to_string();
    }
    body.as_object()
        .and_then(|m| m.values().next())
        .and_then(|v| v.as_array())
        .and_then(|a| a.first())
        .and_then(|m| m.as_str())
        .unwrap_or("The request was refused.")
        .to_string()
}

/// The operator's user and token from the console's cookies: the access cookie, else —
/// when it expired or is gone — a silent refresh with the refresh cookie. `None`: not
/// signed in (any more).
async fn identify(
    http: &HttpState,
    req: &HttpRequest,
) -> Result<Option<(User, crate::tokens::Token, Vec<Cookie<'static>>)>, ApiError> {
    let app = &http.app;
    // A token refused is no session; a database that failed is an error page, not a
    // sign-out.
    let server_fault = |e: &crate::tokens::AuthError| {
        use crate::tokens::error::Kind;
        matches!(e.answer().kind, Kind::Unavailable | Kind::ServerError)
    };
    if let Some(access) = cookie_value(req, ACCESS_COOKIE) {
        match authentication::authenticate_token(app, access.as_bytes()).await {
            Ok((user, token)) => return Ok(Some((user, token, Vec::new()))),
            Err(e) if server_fault(&e) => return Err(e.into()),
            Err(_) => {}
        }
    }
    let Some(refresh) = cookie_value(req, REFRESH_COOKIE) else {
        return Ok(None);
    };
    match serializers::refresh(app, refresh, &http.refresh_client(req)).await {
        Ok(refreshed) => {
            let (user, token) =
                match authentication::authenticate_token(app, refreshed.access.as_bytes()).await {
                    Ok(found) => found,
                    Err(e) if server_fault(&e) => return Err(e.into()),
                    Err(_) => return Ok(None),
                };
            let mut cookies = vec![token_cookie(http, ACCESS_COOKIE, refreshed.access)];
            if let Some(rotated) = refreshed.refresh {
                cookies.push(token_cookie(http, REFRESH_COOKIE, rotated));
            }
            Ok(Some((user, token, cookies)))
        }
        Err(e) if server_fault(&e) => Err(e.into()),
        Err(_) => Ok(None),
    }
}

/// A token's cookie, kept as long as the token lives.
fn token_cookie(http: &HttpState, name: &'static str, token: String) -> Cookie<'static> {
    let s = &http.app.settings.tokens;
    let lifetime = if name == ACCESS_COOKIE {
        s.access_token_lifetime
    } else {
        s.refresh_token_lifetime
    };
    cookie(name, token, CookieDuration::seconds(lifetime.as_secs() as i64))
}

/// The CSRF secret's cookie: as long-lived as the session it protects.
fn csrf_cookie(secret: String, http: &HttpState) -> Cookie<'static> {
    let lifetime = http.app.settings.tokens.refresh_token_lifetime;
    cookie(
        CSRF_COOKIE,
        secret,
        CookieDuration::seconds(lifetime.as_secs() as i64),
    )
}

/// The signed-in operator allowed to read the console, or the answer that stops the
/// request: the sign-in page for nobody, the permission page for a user the admin API
/// would refuse (with no data), an error page when jwtd itself failed.
pub async fn signed_in(http: &HttpState, req: &HttpRequest) -> Result<Signed, HttpResponse> {
    let found = match identify(http, req).await {
        Ok(found) => found,
        Err(e) => return Err(error_page(e)),
    };
    let Some((user, token, mut cookies)) = found else {
        let next = (req.method() == Method::GET).then(|| match req.query_string() {
            "" => req.path().to_string(),
            q => format!("{}?{q}", req.path()),
        });
        let mut response = to_sign_in(next.as_deref());
        for name in [ACCESS_COOKIE, REFRESH_COOKIE] {
            if cookie_value(req, name).is_some() {
                add_cookie(&mut response, &removal(name));
            }
        }
        return Err(response);
    };
    let impersonated = token.get(IMPERSONATOR_CLAIM).is_some();
    let caller = Caller::User { user, impersonated };
    if let Err(e) = accounts::permissions::check_access(&http.app, &caller, false) {
        let Caller::User { user, .. } = &caller else {
            unreachable!()
        };
        let mut response = forbidden_page(http, req, &user.username, e);
        for c in &cookies {
            add_cookie(&mut response, c);
        }
        return Err(response);
    }
    let secret = match cookie_value(req, CSRF_COOKIE).and_then(|v| csrf::secret_of(Some(v))) {
        Some(secret) => secret,
        None => {
            let secret = csrf::new_secret();
            cookies.push(csrf_cookie(secret.clone(), http));
            secret
        }
    };
    let flash = Flash::read(req);
    if flash.is_some() {
        cookies.push(removal(FLASH_COOKIE));
    }
    Ok(Signed {
        caller,
        csrf: csrf::mask(&secret),
        cookies,
        flash,
        api_docs: http.app.settings.server.api_docs,
    })
}

/// Signed in, but the admin API's permissions do not let this user in: they are told so
/// and may sign out; no data.
fn forbidden_page(http: &HttpState, req: &HttpRequest, username: &str, _e: AccountError) -> HttpResponse {
    let secret = cookie_value(req, CSRF_COOKIE).and_then(|v| csrf::secret_of(Some(v)));
    let (secret, new) = match secret {
        Some(s) => (s, false),
        None => (csrf::new_secret(), true),
    };
    let message = format!(
        "You are signed in as {username}, who does not have permission to use the console. \
         Sign out and sign in as an administrator."
    );
    let mut response = html(
        StatusCode::FORBIDDEN,
        &MessagePage {
            title: "Permission denied",
            message: &message,
            username: Some(username),
            csrf: csrf::mask(&secret),
            version: assets::version(),
        },
    );
    if new {
        add_cookie(&mut response, &csrf_cookie(secret, http));
    }
    response
}

/// Django's CSRF protection for a console form: the request comes from jwtd's own origin,
/// and its token matches the CSRF cookie's secret.
fn check_form(http: &HttpState, req: &HttpRequest, data: &Data) -> Result<(), ApiError> {
    let public = http
        .app
        .settings
        .server
        .public_url
        .as_deref()
        .and_then(crate::config::origin_of);
    let own = origin::request_origin(http, req);
    csrf::check_origin(req, |o| o == own || public.as_deref() == Some(o)).map_err(|e| ApiError::Csrf(e.0))?;
    csrf::check_form_token(cookie_value(req, CSRF_COOKIE), text(data, CSRF_FIELD).as_deref())
        .map_err(|e| ApiError::Csrf(e.0))
}

/// The CSRF refusal page.
fn csrf_page(e: &ApiError) -> HttpResponse {
    let reason = match e {
        ApiError::Csrf(reason) => reason.as_str(),
        _ => "",
    };
    message_page(
        StatusCode::FORBIDDEN,
        "Request refused (CSRF)",
        &format!(
            "The form was not accepted: {reason} Reload the page and submit the form again; \
             forms of the console must be sent from the console itself."
        ),
        None,
    )
}

/// A form post of a signed-in operator: signed in (else the sign-in page), allowed to read
/// the console, the form's body read and its CSRF token checked.
pub async fn form(
    http: &HttpState,
    req: &HttpRequest,
    body: web::Payload,
) -> Result<(Signed, Data), HttpResponse> {
    let signed = signed_in(http, req).await?;
    let data = match http.read_data(req, body).await {
        Ok(data) => data,
        Err(e) => return Err(signed.refused(e)),
    };
    if let Err(e) = check_form(http, req, &data) {
        return Err(signed.finish(csrf_page(&e)));
    }
    Ok((signed, data))
}

/// A form post about the user named by the path's `{id}`: `form`, and the id (a 404 page
/// for one that is not a number).
pub async fn user_form(
    http: &HttpState,
    req: &HttpRequest,
    body: web::Payload,
) -> Result<(Signed, Data, i64), HttpResponse> {
    let (signed, data) = form(http, req, body).await?;
    match path_id(req) {
        Ok(id) => Ok((signed, data, id)),
        Err(e) => Err(signed.refused(e)),
    }
}

/// A form's text field (`None` when absent or not text).
fn text(data: &Data, name: &str) -> Option<String> {
    match data.get(name)? {
        Input::Str(s) => Some(s.text.clone()),
        Input::Int(i) => Some(i.clone()),
        _ => None,
    }
}

/// A checkbox: checked when sent with any value but an explicit false.
fn checked(data: &Data, name: &str) -> bool {
    text(data, name).is_some_and(|v| !matches!(v.as_str(), "" | "0" | "false" | "off"))
}

/// A field's messages, for showing next to it.
fn messages_of(errors: &FieldMessages, field: &str) -> Vec<String> {
    errors
        .0
        .iter()
        .filter(|(f, _)| *f == field)
        .flat_map(|(_, m)| m.iter().cloned())
        .collect()
}

/// `{id}` of the path: not a number is no such user.
fn path_id(req: &HttpRequest) -> Result<i64, ApiError> {
    req.match_info()
        .get("id")
        .and_then(|id| id.parse().ok())
        .ok_or(ApiError::NotFoundDetail("No User matches the given query."))
}

/// A time as the console shows it: UTC, to the second.
fn when(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn when_opt(t: Option<time::OffsetDateTime>) -> String {
    t.map(when).unwrap_or_else(|| "—".into())
}
