//! Every refusal, mapped to Simple JWT's and DRF's status codes and bodies in one place.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use serde::Serialize;
use serde_json::Value;

use super::drf::fields::FieldErrors;
use super::drf::parsers::ParseFailure;
use super::ops::metrics::Failure;
use super::schema::{Detail, OAuthError, TokenMessage, TokenNotValid};
use super::{HttpState, json_response};
use crate::accounts::AccountError;
use crate::store::StoreError;
use crate::tokens::drf_jwt::DrfJwtError;
use crate::tokens::error::Kind;
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
    /// DRF's `NotFound` with its own detail ("Invalid page.", "No User matches the given
    /// query.").
    NotFoundDetail(&'static str),
    /// DRF's `BasicAuthentication` refused a client's credentials.
    BadBasicCredentials,
    /// A DRF `ValidationError` raised outside a serializer (a filter's): 400 with the list
    /// of its one message as the body.
    Invalid(&'static str),
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Forbidden => ApiError::Forbidden(PERMISSION_DENIED),
            AccountError::NoSuchUser => ApiError::NotFoundDetail("No User matches the given query."),
            AccountError::NoSuchSession => ApiError::NotFound,
            AccountError::Invalid(messages) => {
                let mut errors = FieldErrors::default();
                for (field, list) in messages.0 {
                    for m in list {
                        errors.add(field, m);
                    }
                }
                ApiError::Fields(errors)
            }
            AccountError::Auth(e) => ApiError::Auth(e),
        }
    }
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

/// A refusal of the rules, as its exception class writes it.
fn auth_body(e: &AuthError) -> Value {
    let answer = e.answer();
    let detail = |detail: String| to_json(Detail { detail });
    match answer.kind {
        // Simple JWT's `DetailDictMixin`; `messages` when no token class accepted the token.
        Kind::DetailCode => to_json(TokenNotValid {
            detail: e.to_string(),
            code: Some(answer.code),
            messages: match e {
                AuthError::NoValidTokenType(messages) => Some(
                    messages
                        .iter()
                        .map(|(class, err)| TokenMessage {
                            token_class: class.class_name(),
                            token_type: crate::tokens::TokenType::from(*class).name(),
                            message: err.to_string(),
                        })
                        .collect(),
                ),
                _ => None,
            },
        }),
        // DRF's own exceptions: no code in the body.
        Kind::Detail => detail(e.to_string()),
        Kind::Validation => FieldErrors::non_field(e.to_string()).to_json(),
        Kind::Unavailable => detail("Service temporarily unavailable, try again later.".into()),
        Kind::ServerError => detail("A server error occurred.".into()),
    }
}

/// A body of `schema`, as the value the error mapping answers with.
fn to_json(body: impl Serialize) -> Value {
    serde_json::to_value(body).expect("the bodies serialize")
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
            ApiError::Auth(e) => match e.answer().kind {
                Kind::DetailCode | Kind::Detail => StatusCode::UNAUTHORIZED,
                Kind::Validation => StatusCode::BAD_REQUEST,
                Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                Kind::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::Fields(_) | ApiError::BadBody | ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::Parse(ParseFailure::Parse(_)) => StatusCode::BAD_REQUEST,
            ApiError::Parse(ParseFailure::UnsupportedMediaType(_)) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotFound | ApiError::NotFoundDetail(_) => StatusCode::NOT_FOUND,
            ApiError::BadBasicCredentials => StatusCode::UNAUTHORIZED,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Timeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Csrf(_) => StatusCode::FORBIDDEN,
        }
    }

    pub fn body(&self) -> Value {
        let detail = |detail: String| to_json(Detail { detail });
        match self {
            ApiError::OAuth {
                error, description, ..
            } => to_json(OAuthError {
                error,
                error_description: description,
            }),
            ApiError::Auth(e) => auth_body(e),
            ApiError::Fields(errors) => errors.to_json(),
            ApiError::Parse(ParseFailure::Parse(text)) => detail(text.clone()),
            ApiError::Parse(ParseFailure::UnsupportedMediaType(t)) => {
                detail(format!("Unsupported media type \"{t}\" in request."))
            }
            ApiError::MethodNotAllowed(m) => detail(format!("Method \"{m}\" not allowed.")),
            ApiError::NotFound => detail("Not found.".into()),
            ApiError::NotFoundDetail(text) => detail((*text).into()),
            ApiError::BadBasicCredentials => detail("Invalid username/password.".into()),
            ApiError::TooLarge(limit) => detail(format!("Request body exceeds {limit} bytes.")),
            ApiError::BadBody => detail("The request body could not be read.".into()),
            ApiError::Timeout => detail("The request body did not arrive in time.".into()),
            ApiError::Throttled(wait) => detail(super::throttle::throttled_detail(*wait).1),
            ApiError::Forbidden(text) => detail((*text).into()),
            // DRF's PermissionDenied, raised by its enforce_csrf.
            ApiError::Csrf(reason) => detail(format!("CSRF Failed: {reason}")),
            ApiError::DrfJwt(answer) => answer.body(),
            ApiError::Invalid(text) => Value::from(vec![*text]),
        }
    }

    /// Failures of jwtd itself (not the client's) go to the log; their answers say little.
    pub fn log(&self) {
        match self {
            ApiError::Auth(AuthError::Store(e)) => match e {
                StoreError::Unavailable(m) => tracing::warn!(error = %m, "database unavailable"),
                _ => tracing::error!(error = %e, "database error"),
            },
            ApiError::Auth(AuthError::Password(e)) => tracing::error!(error = %e, "password hashing failed"),
            _ => {}
        }
    }

    /// The response, with `WWW-Authenticate` on every 401 as DRF sends it.
    pub fn response(&self, http: &HttpState) -> HttpResponse {
        let status = self.status();
        self.log();
        if let ApiError::OAuth {
            status,
            error,
            description,
        } = self
        {
            return oauth_error_response(*status, error, description);
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
        let mut response = json_response(response, &self.body());
        let failure = match self {
            ApiError::Auth(e) => Failure::of(e),
            ApiError::DrfJwt(answer) => answer.failure(),
            _ => None,
        };
        if let Some(failure) = failure {
            response.extensions_mut().insert(failure);
        }
        response
    }
}

/// OAuth's error answer (RFC 6749 §5.2), with Basic's challenge on a 401.
fn oauth_error_response(status: u16, error: &str, description: &str) -> HttpResponse {
    let mut builder =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("a valid status"));
    if status == 401 {
        builder.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"jwtd\""));
    }
    json_response(
        builder,
        &OAuthError {
            error,
            error_description: description,
        },
    )
}

/// Where a drf-jwt refusal shows, which decides its status and body.
#[derive(Debug)]
pub enum DrfAnswer {
    /// Raised in a serializer's `validate()`: 400 `{"non_field_errors": [message]}`.
    Validation(DrfJwtError),
    /// Raised in the blacklist serializer's `save()`, outside DRF's validation: 400
    /// `[message]`.
    Save(DrfJwtError),
    /// `JSONWebTokenAuthentication` refused the caller's token: 401 `{"detail"}`, or 403
    /// for a blacklisted one (DRF's `PermissionDenied`).
    Authentication(DrfJwtError),
    /// No token came: 401, DRF's `NotAuthenticated`.
    NotAuthenticated,
}

impl DrfAnswer {
    pub fn status(&self) -> StatusCode {
        match self {
            DrfAnswer::Validation(_) | DrfAnswer::Save(_) => StatusCode::BAD_REQUEST,
            DrfAnswer::Authentication(DrfJwtError::Blacklisted) => StatusCode::FORBIDDEN,
            DrfAnswer::Authentication(_) | DrfAnswer::NotAuthenticated => StatusCode::UNAUTHORIZED,
        }
    }

    pub fn body(&self) -> Value {
        let detail = |detail| serde_json::to_value(Detail { detail }).expect("the bodies serialize");
        match self {
            DrfAnswer::Validation(e) => FieldErrors::non_field(e.to_string()).to_json(),
            DrfAnswer::Save(e) => Value::from(vec![e.to_string()]),
            DrfAnswer::Authentication(e) => detail(e.to_string()),
            DrfAnswer::NotAuthenticated => detail(AuthError::NotAuthenticated.to_string()),
        }
    }

    pub fn is_refused_login(&self) -> bool {
        matches!(self, DrfAnswer::Validation(DrfJwtError::BadCredentials))
    }

    pub fn failure(&self) -> Option<Failure> {
        let (code, error) = match self {
            DrfAnswer::Validation(e) | DrfAnswer::Save(e) => ("drf_jwt_invalid", e),
            DrfAnswer::Authentication(e) => ("drf_jwt_authentication", e),
            DrfAnswer::NotAuthenticated => {
                return Some(Failure::drf_jwt("not_authenticated", "header", false));
            }
        };
        Some(Failure::drf_jwt(
            code,
            error.label(),
            matches!(error, DrfJwtError::Blacklisted),
        ))
    }
}
