//! The admin API (`/api/admin/users/…`, `admin_api`) and registration (`/api/register/`,
//! `registration`): DRF's `ModelViewSet` over users, with `PageNumberPagination`,
//! `SearchFilter`, `OrderingFilter` and boolean filters. The rules are `accounts`'; here the
//! request is read and the answer written.

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::accounts::{self, Caller, FieldMessages, PasswordChange, UserFields};
use crate::http::drf::fields::{FieldErrors, boolean_field, expect_dict, optional_char_field, parse_boolean};
use crate::http::drf::metadata;
use crate::http::drf::pagination::{self, PageAsked};
use crate::http::drf::parsers::Data;
use crate::http::drf::search;
use crate::http::schema::{UserDetail, UserPage};
use crate::http::views::me::{authenticated, drf_datetime};
use crate::http::views::oauth::basic_credentials;
use crate::http::views::to_messages;
use crate::http::{ApiError, HttpState, json_response};
use crate::store::{Ordering, User, UserQuery};
use crate::tokens::impersonation::IMPERSONATOR_CLAIM;
use crate::tokens::oauth;

type Http = web::Data<HttpState>;

/// DRF's authentication classes here: HTTP Basic for service clients (introspection clients
/// with the `admin` scope), else `JWTAuthentication` (header, or the access cookie).
pub(super) async fn caller(http: &HttpState, req: &HttpRequest) -> Result<Caller, ApiError> {
    if let Some((client_id, secret)) = basic_credentials(req) {
        if !oauth::client_verified(&http.app, &client_id, &secret) {
            // A client check costs a password hash: it counts against the login rate.
            if let Some(ip) = http.throttle.client_address(req) {
                http.throttle.check_address(&http.app.store, ip).await?;
            }
            if !oauth::authenticate_client(&http.app, &client_id, &secret).await? {
                return Err(ApiError::BadBasicCredentials);
            }
        }
        let admin = http.app.clients.has_scope(&client_id, "admin");
        return Ok(Caller::Client { client_id, admin });
    }
    let (user, token) = authenticated(http, req).await?;
    let impersonated = token.get(IMPERSONATOR_CLAIM).is_some();
    Ok(Caller::User { user, impersonated })
}

pub fn user_detail(user: User) -> UserDetail {
    UserDetail {
        has_usable_password: user.has_usable_password(),
        id: user.id,
        username: user.username,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        is_active: user.is_active,
        is_staff: user.is_staff,
        is_superuser: user.is_superuser,
        last_login: user.last_login.map(drf_datetime),
        date_joined: drf_datetime(user.date_joined),
    }
}

fn respond_with(
    http: &HttpState,
    status: StatusCode,
    result: Result<impl serde::Serialize, ApiError>,
) -> HttpResponse {
    match result {
        Ok(body) => json_response(HttpResponse::build(status), &body),
        Err(e) => e.response(http),
    }
}

fn respond_no_content(http: &HttpState, result: Result<(), ApiError>) -> HttpResponse {
    match result {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => e.response(http),
    }
}

/// DRF authenticates before it looks at the method: 401 first, then OPTIONS answers with
/// `view`'s metadata (after the permission check, as DRF's `initial()` makes it; the POST
/// action shown only to a caller who may write) and the rest with 405.
pub(super) async fn other_method(http: &HttpState, req: &HttpRequest, view: &metadata::View) -> HttpResponse {
    let caller = match caller(http, req).await {
        Err(e) => return e.response(http),
        Ok(caller) => caller,
    };
    if req.method() != Method::OPTIONS {
        return ApiError::MethodNotAllowed(req.method().to_string()).response(http);
    }
    let check = |write| accounts::permissions::check_access(&http.app, &caller, write);
    match check(false) {
        Err(e) => ApiError::from(e).response(http),
        Ok(()) => metadata::describe(view, check(true).is_ok()),
    }
}

/// `{id}` as Django's URL resolver and `get_object_or_404` take it: not a number is
/// Django's bare 404.
pub(super) fn user_id(req: &HttpRequest) -> Result<i64, ApiError> {
    req.match_info()
        .get("id")
        .and_then(|id| id.parse().ok())
        .ok_or(ApiError::NotFound)
}

/// The user serializer's fields from the body; type errors are collected as DRF does.
fn user_fields(data: &Data, with_password: bool) -> Result<(UserFields, FieldMessages), ApiError> {
    expect_dict(data)?;
    let mut e = FieldErrors::default();
    let fields = UserFields {
        username: optional_char_field(data, "username", true, false, &mut e),
        // Django's password fields keep white space (`strip=False`).
        password: if with_password {
            optional_char_field(data, "password", false, false, &mut e)
        } else {
            None
        },
        email: optional_char_field(data, "email", true, true, &mut e),
        first_name: optional_char_field(data, "first_name", true, true, &mut e),
        last_name: optional_char_field(data, "last_name", true, true, &mut e),
        is_active: boolean_field(data, "is_active", &mut e),
        is_staff: boolean_field(data, "is_staff", &mut e),
        is_superuser: boolean_field(data, "is_superuser", &mut e),
    };
    Ok((fields, to_messages(e, &FIELD_NAMES)))
}

const FIELD_NAMES: [&str; 9] = [
    "username",
    "password",
    "email",
    "first_name",
    "last_name",
    "is_active",
    "is_staff",
    "is_superuser",
    "keep_sessions",
];

/// `ordering`: DRF's `OrderingFilter` with `ordering_fields`; unknown fields are dropped,
/// and with none left the default (`id`) applies. The first known field orders (the id
/// breaks ties).
fn ordering(text: Option<&str>) -> Ordering {
    text.unwrap_or_default()
        .split(',')
        .find_map(|term| Ordering::parse(term.trim()))
        .unwrap_or_default()
}

/// `GET /api/admin/users/`
async fn list(http: &HttpState, req: &HttpRequest) -> Result<UserPage, ApiError> {
    let caller = caller(http, req).await?;
    let query = pagination::parse_query(req.query_string());
    let value = |key| pagination::query_value(&query, key);
    let mut errors = FieldErrors::default();
    let mut flag = |key: &'static str| match value(key).map(parse_boolean) {
        None | Some(Ok(None)) => None,
        Some(Ok(b)) => b,
        Some(Err(())) => {
            errors.add(key, "Must be a valid boolean.");
            None
        }
    };
    let (is_active, is_staff) = (flag("is_active"), flag("is_staff"));
    let size = pagination::page_size(&query);
    let mut q = UserQuery {
        // DRF's SearchFilter: the store splits the terms.
        terms: Vec::new(),
        is_active,
        is_staff,
        ordering: ordering(value("ordering")),
        offset: 0,
        limit: size,
    };
    // Permission before the filters' own errors, as DRF checks it in `initial()`.
    accounts::permissions::check_access(&http.app, &caller, false)?;
    if !errors.is_empty() {
        return Err(errors.into());
    }
    q.terms = search::search_terms(value("search").unwrap_or("")).map_err(ApiError::Invalid)?;
    let number = match pagination::page_asked(&query) {
        PageAsked::Number(n) => n,
        PageAsked::Invalid => return Err(ApiError::NotFoundDetail(pagination::INVALID_PAGE)),
        PageAsked::Last => {
            q.limit = 0;
            let (_, count) = accounts::admin::list(&http.app, &caller, &q).await?;
            q.limit = size;
            pagination::num_pages(count, size)
        }
    };
    if number < 1 {
        return Err(ApiError::NotFoundDetail(pagination::INVALID_PAGE));
    }
    q.offset = (number - 1).saturating_mul(size);
    let (users, count) = accounts::admin::list(&http.app, &caller, &q).await?;
    let number = pagination::check_page(number, count, size)
        .ok_or(ApiError::NotFoundDetail(pagination::INVALID_PAGE))?;
    let origin = crate::http::drf::origin::request_origin(http, req);
    let (next, previous) = pagination::links(
        &origin,
        req.uri().path(),
        &query,
        number,
        pagination::num_pages(count, size),
    );
    Ok(UserPage {
        count,
        next,
        previous,
        results: users.into_iter().map(user_detail).collect(),
    })
}

/// `/api/admin/users/`: GET lists, POST creates.
pub async fn users(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    match *req.method() {
        Method::GET | Method::HEAD => http.respond(list(&http, &req).await),
        Method::POST => {
            let result = async {
                let caller = caller(&http, &req).await?;
                accounts::permissions::check_access(&http.app, &caller, true)?;
                let data = http.read_data(&req, body).await?;
                let (fields, errors) = user_fields(&data, true)?;
                let user = accounts::admin::create(&http.app, &caller, fields, errors).await?;
                Ok(user_detail(user))
            };
            respond_with(&http, StatusCode::CREATED, result.await)
        }
        _ => other_method(&http, &req, &metadata::ADMIN_USERS).await,
    }
}

/// `/api/admin/users/{id}/`: GET, PATCH, DELETE.
pub async fn user(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let app = &http.app;
    match *req.method() {
        Method::GET | Method::HEAD => {
            let result = async {
                let caller = caller(&http, &req).await?;
                accounts::permissions::check_access(app, &caller, false)?;
                let id = user_id(&req)?;
                Ok(user_detail(accounts::admin::get(app, &caller, id).await?))
            };
            http.respond(result.await)
        }
        Method::PATCH => {
            let result = async {
                let caller = caller(&http, &req).await?;
                accounts::permissions::check_access(app, &caller, true)?;
                let id = user_id(&req)?;
                let data = http.read_data(&req, body).await?;
                let (fields, errors) = user_fields(&data, false)?;
                Ok(user_detail(
                    accounts::admin::update(app, &caller, id, fields, errors).await?,
                ))
            };
            http.respond(result.await)
        }
        Method::DELETE => {
            let result = async {
                let caller = caller(&http, &req).await?;
                accounts::permissions::check_access(app, &caller, true)?;
                let id = user_id(&req)?;
                Ok(accounts::admin::delete(app, &caller, id).await?)
            };
            respond_no_content(&http, result.await)
        }
        _ => other_method(&http, &req, &metadata::ADMIN_USER).await,
    }
}

/// `POST /api/admin/users/{id}/password/`
pub async fn password(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    if req.method() != Method::POST {
        return other_method(&http, &req, &metadata::ADMIN_PASSWORD).await;
    }
    let result = async {
        let caller = caller(&http, &req).await?;
        accounts::permissions::check_access(&http.app, &caller, true)?;
        let id = user_id(&req)?;
        let data = http.read_data(&req, body).await?;
        expect_dict(&data)?;
        let mut e = FieldErrors::default();
        let password = optional_char_field(&data, "password", false, false, &mut e);
        if password.is_none() && data.get("password").is_none() {
            e.add("password", "This field is required.");
        }
        let keep_sessions = boolean_field(&data, "keep_sessions", &mut e).unwrap_or(false);
        let change = match password {
            Some(password) if e.is_empty() => Ok(PasswordChange {
                password,
                keep_sessions,
            }),
            _ => Err(to_messages(e, &FIELD_NAMES)),
        };
        Ok(accounts::admin::set_password(&http.app, &caller, id, change).await?)
    };
    respond_no_content(&http, result.await)
}

/// `POST /api/admin/users/{id}/set-unusable-password/`
pub async fn unusable_password(http: Http, req: HttpRequest) -> HttpResponse {
    if req.method() != Method::POST {
        return other_method(&http, &req, &metadata::ADMIN_UNUSABLE_PASSWORD).await;
    }
    let result = async {
        let caller = caller(&http, &req).await?;
        accounts::permissions::check_access(&http.app, &caller, true)?;
        let id = user_id(&req)?;
        Ok(accounts::admin::set_unusable_password(&http.app, &caller, id).await?)
    };
    respond_no_content(&http, result.await)
}

/// `POST /api/register/` (`registration = true`): throttled as logins are, per address.
pub async fn register(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        if let Some(ip) = http.throttle.client_address(&req) {
            http.throttle.check_address(&http.app.store, ip).await?;
        }
        let data = http.read_data(&req, body).await?;
        let (mut fields, mut errors) = user_fields(&data, true)?;
        // Registration takes no flags.
        fields.is_active = None;
        fields.is_staff = None;
        fields.is_superuser = None;
        errors
            .0
            .retain(|(f, _)| !matches!(*f, "is_active" | "is_staff" | "is_superuser"));
        let user = accounts::admin::register(&http.app, fields, errors).await?;
        Ok(user_detail(user))
    };
    respond_with(&http, StatusCode::CREATED, result.await)
}
