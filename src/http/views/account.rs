//! Self-service on the caller's own account, authenticated as `GET /api/me/` is:
//! `PATCH`/`PUT /api/me/` (DRF's `UpdateAPIView` over `request.user`) and
//! `POST /api/me/password/` (Django's `PasswordChangeForm`, answered with a fresh pair). The
//! rules are `accounts::me`'s; here the request is read, the login throttle applied and the
//! answer written.

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};

use super::me::{authenticated, user_body};
use super::{cookies, to_messages};
use crate::accounts::{self, FieldMessages, UserFields};
use crate::http::drf::fields::{FieldErrors, expect_dict, optional_char_field};
use crate::http::drf::metadata;
use crate::http::drf::parsers::Data;
use crate::http::ops::metrics::Issued;
use crate::http::schema::TokenPair;
use crate::http::{ApiError, HttpState};
use crate::tokens::impersonation::IMPERSONATOR_CLAIM;

type Http = web::Data<HttpState>;

/// `PATCH /api/me/` (partial) and `PUT /api/me/`.
pub async fn update(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let partial = req.method() == Method::PATCH;
    let result = async {
        let (user, token) = authenticated(&http, &req).await?;
        let impersonated = token.get(IMPERSONATOR_CLAIM).is_some();
        // Permission before the body, as DRF checks it in `initial()`.
        accounts::me::check_write(impersonated)?;
        let data = http.read_data(&req, body).await?;
        let (fields, errors) = profile_fields(&data, accounts::me::username_writable(&http.app))?;
        let user = accounts::me::update(&http.app, &user, impersonated, fields, errors, partial).await?;
        Ok(user_body(user, &token))
    };
    http.respond(result.await)
}

/// The profile serializer's writable fields; the rest of the body is ignored, as DRF
/// ignores read-only and unknown fields.
fn profile_fields(data: &Data, username: bool) -> Result<(UserFields, FieldMessages), ApiError> {
    expect_dict(data)?;
    let mut e = FieldErrors::default();
    let fields = UserFields {
        username: if username {
            optional_char_field(data, "username", true, false, &mut e)
        } else {
            None
        },
        email: optional_char_field(data, "email", true, true, &mut e),
        first_name: optional_char_field(data, "first_name", true, true, &mut e),
        last_name: optional_char_field(data, "last_name", true, true, &mut e),
        ..UserFields::default()
    };
    Ok((fields, to_messages(e, &FIELD_NAMES)))
}

/// The fields of this view's bodies, the order their messages are given in.
const FIELD_NAMES: [&str; 6] = [
    "username",
    "email",
    "first_name",
    "last_name",
    "old_password",
    "new_password",
];

/// `POST /api/me/password/` `{"old_password", "new_password"}` → a fresh `{"refresh",
/// "access"}`. A wrong old password counts as a failed login of the user's (the client
/// address's rate, then the username's lock), so that this endpoint guesses no faster than
/// `/api/token/`.
pub async fn password(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    if req.method() == Method::OPTIONS {
        // DRF's metadata, after authentication; no POST action for an impersonation token.
        return match authenticated(&http, &req).await {
            Err(e) => e.response(&http),
            Ok((_, token)) => {
                metadata::describe(&metadata::MY_PASSWORD, token.get(IMPERSONATOR_CLAIM).is_none())
            }
        };
    }
    let result = async {
        let (user, token) = authenticated(&http, &req).await?;
        let impersonated = token.get(IMPERSONATOR_CLAIM).is_some();
        if req.method() != Method::POST {
            return Err(ApiError::MethodNotAllowed(req.method().to_string()));
        }
        accounts::me::check_write(impersonated)?;
        let store = &http.app.store;
        let ip = http.throttle.client_address(&req);
        if let Some(ip) = ip {
            http.throttle.check_address(store, ip).await?;
        }
        let data = http.read_data(&req, body).await?;
        expect_dict(&data)?;
        let mut e = FieldErrors::default();
        // Django's password fields keep white space (`strip=False`).
        let mut field = |name| {
            let value = optional_char_field(&data, name, false, false, &mut e);
            if value.is_none() && data.get(name).is_none() {
                e.add(name, "This field is required.");
            }
            value
        };
        let (old, new) = (field("old_password"), field("new_password"));
        let (Some(old), Some(new)) = (old, new) else {
            return Err(e.into());
        };
        let attempt = http.throttle.check_login(store, &user.username, ip).await?;
        let matches = accounts::me::old_password_matches(&http.app, &user, &old).await?;
        let mut errors = FieldMessages::default();
        if let Some(attempt) = &attempt {
            if matches {
                http.throttle.record_success(store, attempt).await;
            } else {
                // A failure that could not be counted is not let through uncounted.
                http.throttle.record_failure(store, attempt).await?;
            }
        }
        if !matches {
            errors.add("old_password", accounts::me::OLD_PASSWORD_INCORRECT);
        }
        errors.extend(
            "new_password",
            accounts::me::new_password_errors(&http.app, &user, &new),
        );
        errors.into_result()?;
        let sid = crate::tokens::serializers::session_of(&token);
        let pair = accounts::me::change_password(&http.app, &user, &new, sid).await?;
        Ok(TokenPair {
            refresh: Some(pair.refresh),
            access: Some(pair.access),
        })
    };
    // The pair is a login: in cookie mode it is set as cookies, as obtain's is.
    let mut response = cookies::respond_with_tokens(&http, &req, result.await, true);
    if response.status().is_success() {
        response.extensions_mut().insert(Issued {
            access: 1,
            refresh: 1,
            sliding: 0,
        });
    }
    response
}
