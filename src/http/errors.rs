//! Every refusal, mapped to Simple JWT's and DRF's status codes and bodies in one place.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use serde_json::{Value, json};

use super::HttpState;
use super::drf::fields::FieldErrors;
use super::drf::parsers::ParseFailure;
use super::views::drf_jwt::DrfAnswer;
use crate::store::StoreError;
use crate::tokens::impersonation::{Refusal, Target};
use crate::tokens::{AuthError, TokenError};

#[derive(Debug)]
pub enum ApiError {
    /// OAuth's `{"error": …, "error_description": …}` (RFC 6749 §5.2) for the RFC endpoints.
    OAuth {
        status: u16,
        error: &'static str,
        description: &'static str,
    },
    Auth(AuthError),
    Fields(FieldErrors),
    Parse(ParseFailure),
    MethodNotAllowed(String),
    NotFound,
    TooLarge(usize),
    /// The body could not be read (the client broke off, bad chunking).
    BadBody,
    /// The client took longer than `client_timeout` to send its body.
    Timeout,
    /// DRF's 429, with the seconds to wait.
    Throttled(f64),
    /// DRF's 403 `PermissionDenied`.
    Forbidden(&'static str),
    /// A cookie-authenticated request without the right CSRF token: Django's reason.
    Csrf(String),
    /// drf-jwt's answers (`drf_jwt_endpoints`).
    DrfJwt(DrfAnswer),
}

/// DRF's default `PermissionDenied` message.
const PERMISSION_DENIED: &str = "You do not have permission to perform this action.";

impl From<Refusal> for ApiError {
    fn from(e: Refusal) -> Self {
        match e {
            Refusal::NotAllowed => ApiError::Forbidden(PERMISSION_DENIED),
            Refusal::FromImpersonation => ApiError::Forbidden("An impersonation token cannot impersonate."),
            Refusal::SuperuserTarget => ApiError::Forbidden("Superusers cannot be impersonated."),
            Refusal::UnknownUser(Target::Id(id)) => {
                let mut errors = FieldErrors::default();
                errors.add("user", format!("Invalid pk \"{id}\" - object does not exist."));
                ApiError::Fields(errors)
            }
            Refusal::UnknownUser(Target::Username(name)) => {
                let mut errors = FieldErrors::default();
                errors.add("username", format!("Object with username={name} does not exist."));
                ApiError::Fields(errors)
            }
            Refusal::Inactive => ApiError::Fields(FieldErrors::non_field("User account is disabled.")),
            Refusal::Auth(e) => ApiError::Auth(e),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        ApiError::Auth(e)
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        ApiError::Auth(AuthError::InvalidToken(e))
    }
}

impl From<FieldErrors> for ApiError {
    fn from(e: FieldErrors) -> Self {
        ApiError::Fields(e)
    }
}

impl From<ParseFailure> for ApiError {
    fn from(e: ParseFailure) -> Self {
        ApiError::Parse(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Auth(AuthError::Store(e))
    }
}

/// `{"detail": …, "code": …}`, as Simple JWT's `DetailDictMixin` writes it.
fn detail_code(detail: impl ToString, code: &str) -> Value {
    json!({"detail": detail.to_string(), "code": code})
}

impl ApiError {
    /// A login refused for its credentials: counted towards the username's lock.
    pub fn is_refused_login(&self) -> bool {
        matches!(self, ApiError::Auth(AuthError::NoActiveAccount))
            || matches!(self, ApiError::DrfJwt(a) if a.is_refused_login())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::DrfJwt(answer) => answer.status(),
            ApiError::OAuth { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST)
            }
            ApiError::Auth(AuthError::BlacklistedOnVerify) => StatusCode::BAD_REQUEST,
            ApiError::Auth(AuthError::Store(StoreError::Unavailable(_))) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Auth(AuthError::Store(_) | AuthError::Password(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Auth(_) => StatusCode::UNAUTHORIZED,
            ApiError::Fields(_) | ApiError::BadBody => StatusCode::BAD_REQUEST,
            ApiError::Parse(ParseFailure::Parse(_)) => StatusCode::BAD_REQUEST,
            ApiError::Parse(ParseFailure::UnsupportedMediaType(_)) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Timeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Csrf(_) => StatusCode::FORBIDDEN,
        }
    }

    pub fn body(&self) -> Value {
        match self {
            ApiError::OAuth {
                error, description, ..
            } => json!({"error": error, "error_description": description}),
            ApiError::Auth(e) => match e {
                AuthError::InvalidToken(t) => detail_code(t, "token_not_valid"),
                AuthError::NoValidTokenType(messages) => json!({
                    "detail": e.to_string(),
                    "code": "token_not_valid",
                    "messages": messages.iter().map(|(class, err)| json!({
                        "token_class": class.class_name(),
                        "token_type": crate::tokens::TokenType::from(*class).name(),
                        "message": err.to_string(),
                    })).collect::<Vec<_>>(),
                }),
                AuthError::NoUserIdentification => detail_code(e, "token_not_valid"),
                AuthError::UserNotFound => detail_code(e, "user_not_found"),
                AuthError::UserInactive => detail_code(e, "user_inactive"),
                AuthError::PasswordChanged => detail_code(e, "password_changed"),
                AuthError::BadAuthorizationHeader => detail_code(e, "bad_authorization_header"),
                // DRF's own exceptions: no code in the body.
                AuthError::NoActiveAccount
                | AuthError::NoActiveAccountForToken
                | AuthError::NotAuthenticated => {
                    json!({"detail": e.to_string()})
                }
                AuthError::BlacklistedOnVerify => FieldErrors::non_field(e.to_string()).to_json(),
                AuthError::Store(StoreError::Unavailable(_)) => {
                    json!({"detail": "Service temporarily unavailable, try again later."})
                }
                AuthError::Store(_) | AuthError::Password(_) => json!({"detail": "A server error occurred."}),
            },
            ApiError::Fields(errors) => errors.to_json(),
            ApiError::Parse(ParseFailure::Parse(detail)) => json!({"detail": detail}),
            ApiError::Parse(ParseFailure::UnsupportedMediaType(t)) => {
                json!({"detail": format!("Unsupported media type \"{t}\" in request.")})
            }
            ApiError::MethodNotAllowed(m) => json!({"detail": format!("Method \"{m}\" not allowed.")}),
            ApiError::NotFound => json!({"detail": "Not found."}),
            ApiError::TooLarge(limit) => json!({"detail": format!("Request body exceeds {limit} bytes.")}),
            ApiError::BadBody => json!({"detail": "The request body could not be read."}),
            ApiError::Timeout => json!({"detail": "The request body did not arrive in time."}),
            ApiError::Throttled(wait) => json!({"detail": super::throttle::throttled_detail(*wait).1}),
            ApiError::Forbidden(detail) => json!({"detail": detail}),
            // DRF's PermissionDenied, raised by its enforce_csrf.
            ApiError::Csrf(reason) => json!({"detail": format!("CSRF Failed: {reason}")}),
            ApiError::DrfJwt(answer) => answer.body(),
        }
    }

    /// The response, with `WWW-Authenticate` on every 401 as DRF sends it.
    pub fn response(&self, http: &HttpState) -> HttpResponse {
        let status = self.status();
        match self {
            ApiError::Auth(AuthError::Store(e)) => match e {
                StoreError::Unavailable(m) => tracing::warn!(error = %m, "database unavailable"),
                _ => tracing::error!(error = %e, "database error"),
            },
            ApiError::Auth(AuthError::Password(e)) => tracing::error!(error = %e, "password hashing failed"),
            _ => {}
        }
        if let ApiError::OAuth {
            status,
            error,
            description,
        } = self
        {
            return super::views::oauth::oauth_error_response(*status, error, description);
        }
        let mut response = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED {
            // drf-jwt names its own scheme (JWT_AUTH_HEADER_PREFIX) in the challenge.
            let challenge = match self {
                ApiError::DrfJwt(_) => &http.drf_www_authenticate,
                _ => &http.www_authenticate,
            };
            response.insert_header((header::WWW_AUTHENTICATE, challenge.clone()));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
        }
        if let ApiError::Throttled(wait) = self {
            response.insert_header((header::RETRY_AFTER, super::throttle::throttled_detail(*wait).0));
        }
        let mut response = super::json_response(response, &self.body());
        let failure = match self {
            ApiError::Auth(e) => super::ops::metrics::Failure::of(e),
            ApiError::DrfJwt(answer) => answer.failure(),
            _ => None,
        };
        if let Some(failure) = failure {
            response.extensions_mut().insert(failure);
        }
        response
    }
}
