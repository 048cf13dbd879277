//! Signing in and out: the same login as `/api/token/` (its address throttle, username
//! lock, argon2 off the async workers, `login_succeeded`/`login_failed` events), the pair
//! kept in the console's cookies; signing out blacklists the refresh token as
//! `/api/token/logout/` does.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{
    ACCESS_COOKIE, CSRF_COOKIE, FLASH_COOKIE, Flash, Http, REFRESH_COOKIE, add_cookie, check_form,
    cookie_value, csrf_cookie, csrf_page, done, error_page, forbidden_page, html, redirect, removal, text,
    token_cookie,
};
use crate::accounts::{self, Caller};
use crate::http::ApiError;
use crate::http::drf::csrf;
use crate::http::views::tokens::{login_body, login_with, username_password};
use crate::store::EventType;
use crate::tokens::{authentication, serializers};

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    username: String,
    /// Why the last attempt failed.
    error: Option<String>,
    username_errors: Vec<String>,
    password_errors: Vec<String>,
    flash: Option<Flash>,
    version: &'static str,
}

/// Where to go after signing in: a page of the console, never elsewhere.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/admin/")
                && !n.contains("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/admin/".to_string(),
    }
}

fn next_of(req: &HttpRequest) -> Option<String> {
    form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
}

/// The form, with the CSRF secret of the browser (a new one for a new browser).
fn login_page(
    req: &HttpRequest,
    http: &crate::http::HttpState,
    status: StatusCode,
    mut page: LoginPage,
) -> HttpResponse {
    let existing = cookie_value(req, CSRF_COOKIE).and_then(|v| csrf::secret_of(Some(v)));
    let secret = existing.clone().unwrap_or_else(csrf::new_secret);
    page.csrf = csrf::mask(&secret);
    let mut response = html(status, &page);
    if existing.is_none() {
        add_cookie(&mut response, &csrf_cookie(secret, http));
    }
    if page.flash.is_some() {
        add_cookie(&mut response, &removal(FLASH_COOKIE));
    }
    response
}

/// `GET /admin/login/`: the form; an operator already signed in goes on.
pub async fn page(http: Http, req: HttpRequest) -> HttpResponse {
    let next = safe_next(next_of(&req).as_deref());
    if (cookie_value(&req, ACCESS_COOKIE).is_some() || cookie_value(&req, REFRESH_COOKIE).is_some())
        && let Ok(signed) = super::signed_in(&http, &req).await
    {
        return signed.finish(redirect(&next));
    }
    login_page(
        &req,
        &http,
        StatusCode::OK,
        LoginPage {
            csrf: String::new(),
            next,
            username: String::new(),
            error: None,
            username_errors: Vec::new(),
            password_errors: Vec::new(),
            flash: Flash::read(&req),
            version: super::assets::version(),
        },
    )
}

/// `POST /admin/login/`: the CSRF check, then `/api/token/`'s login. A user the admin API
/// would refuse is told so, and the pair just issued is blacklisted at once.
pub async fn sign_in(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let app = &http.app;
    let data = match login_body(&http, &req, body).await {
        Ok(data) => data,
        Err(e) => return error_page(e),
    };
    if let Err(e) = check_form(&http, &req, &data) {
        return csrf_page(&e);
    }
    let next = safe_next(text(&data, "next").as_deref());
    let client = http.client(&req);
    let client = &client;
    let result =
        login_with(
            &http,
            &req,
            &data,
            username_password,
            |username, password| async move {
                Ok(serializers::obtain_pair(app, &username, &password, client).await?)
            },
        )
        .await;
    let pair = match result {
        Ok(pair) => pair,
        Err(e) => {
            e.log();
            let mut page = LoginPage {
                csrf: String::new(),
                next,
                username: text(&data, "username").unwrap_or_default(),
                error: None,
                username_errors: Vec::new(),
                password_errors: Vec::new(),
                flash: None,
                version: super::assets::version(),
            };
            match &e {
                ApiError::Fields(errors) => {
                    let body = errors.to_json();
                    let list = |f: &str| -> Vec<String> {
                        body.get(f)
                            .and_then(|v| v.as_array())
                            .map(|a| a.iter().filter_map(|m| m.as_str().map(String::from)).collect())
                            .unwrap_or_default()
                    };
                    page.username_errors = list("username");
                    page.password_errors = list("password");
                    let general = list("non_field_errors");
                    page.error = general.into_iter().next();
                }
                _ => page.error = Some(super::detail_of(&e)),
            }
            let status = match e.status() {
                StatusCode::UNAUTHORIZED => StatusCode::OK,
                s => s,
            };
            return login_page(&req, &http, status, page);
        }
    };
    let (user, _) = match authentication::authenticate_token(app, pair.access.as_bytes()).await {
        Ok(found) => found,
        Err(e) => return error_page(e.into()),
    };
    let caller = Caller::User {
        user,
        impersonated: false,
    };
    if let Err(e) = accounts::permissions::check_access(app, &caller, false) {
        // No session is left behind for someone who may not use it here.
        if let Err(e) = serializers::blacklist(app, &pair.refresh, EventType::Logout, client).await {
            ApiError::from(e).log();
        }
        let Caller::User { user, .. } = &caller else {
            unreachable!()
        };
        let mut response = forbidden_page(&http, &req, &user.username, e);
        for name in [ACCESS_COOKIE, REFRESH_COOKIE] {
            add_cookie(&mut response, &removal(name));
        }
        return response;
    }
    let mut response = redirect(&next);
    add_cookie(&mut response, &token_cookie(&http, ACCESS_COOKIE, pair.access));
    add_cookie(&mut response, &token_cookie(&http, REFRESH_COOKIE, pair.refresh));
    // A new secret for the new session, as Django rotates the CSRF token on login.
    add_cookie(&mut response, &csrf_cookie(csrf::new_secret(), &http));
    response
}

/// `POST /admin/logout/`: the refresh token blacklisted (its session ends), the cookies
/// cleared. Signing out with an expired session still clears them.
pub async fn sign_out(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let data = match http.read_data(&req, body).await {
        Ok(data) => data,
        Err(e) => return error_page(e),
    };
    if let Err(e) = check_form(&http, &req, &data) {
        return csrf_page(&e);
    }
    if let Some(refresh) = cookie_value(&req, REFRESH_COOKIE)
        && let Err(e) =
            serializers::blacklist(&http.app, refresh, EventType::Logout, &http.client(&req)).await
    {
        let e = ApiError::from(e);
        if e.status().is_server_error() {
            return error_page(e);
        }
    }
    let mut response = done("/admin/login/", "You are signed out.");
    for name in [ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE] {
        add_cookie(&mut response, &removal(name));
    }
    response
}
