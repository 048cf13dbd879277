//! The API description (OpenAPI 3.1) at `/api/schema/`, drf-spectacular's path: generated
//! from the handlers' annotations and the body types below, error bodies included.

#![allow(dead_code)] // the types below exist to describe bodies, not to build them

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::HttpState;

/// Credentials (Simple JWT's `TokenObtainSerializer`).
#[derive(ToSchema)]
pub struct ObtainRequest {
    #[schema(min_length = 1)]
    username: String,
    #[schema(min_length = 1)]
    password: String,
}

/// A refresh token (`TokenRefreshSerializer`, `TokenBlacklistSerializer`).
#[derive(ToSchema)]
pub struct RefreshRequest {
    #[schema(min_length = 1)]
    refresh: String,
}

/// Any token (`TokenVerifySerializer`, `TokenRefreshSlidingSerializer`).
#[derive(ToSchema)]
pub struct TokenRequest {
    #[schema(min_length = 1)]
    token: String,
}

/// RFC 7009 / RFC 7662 requests.
#[derive(ToSchema)]
pub struct OAuthTokenRequest {
    #[schema(min_length = 1)]
    token: String,
    /// `access_token` or `refresh_token`; not needed.
    token_type_hint: Option<String>,
}

/// Both tokens, unless `auth_cookie_tokens_in_body = false` leaves out those set as cookies.
#[derive(ToSchema)]
pub struct TokenPair {
    refresh: Option<String>,
    access: Option<String>,
}

/// `refresh` only with `rotate_refresh_tokens`; either left out when set as a cookie and
/// `auth_cookie_tokens_in_body = false`.
#[derive(ToSchema)]
pub struct Refreshed {
    access: Option<String>,
    refresh: Option<String>,
}

/// `GET /api/token/csrf/`: the value for `X-CSRFToken`.
#[derive(ToSchema)]
#[allow(non_snake_case)] // Django apps' name for it
pub struct CsrfToken {
    csrfToken: String,
}

#[derive(ToSchema)]
pub struct SlidingToken {
    token: String,
}

/// An empty object.
#[derive(ToSchema)]
pub struct Empty {}

/// The authenticated user.
#[derive(ToSchema)]
pub struct Me {
    id: i64,
    username: String,
    email: String,
    first_name: String,
    last_name: String,
    is_active: bool,
    is_staff: bool,
    is_superuser: bool,
    /// ISO 8601, UTC.
    last_login: Option<String>,
    date_joined: String,
    /// The id of the user who impersonates this one, with an impersonation token.
    impersonator: Option<String>,
}

/// Whom to impersonate: `user` (an id) or `username`, not both.
#[derive(ToSchema)]
pub struct ImpersonateRequest {
    user: Option<i64>,
    #[schema(min_length = 1)]
    username: Option<String>,
}

#[derive(ToSchema)]
pub struct ImpersonationToken {
    access: String,
}

/// DRF's error body.
#[derive(Serialize, ToSchema)]
pub struct Detail {
    detail: String,
}

/// Simple JWT's error body.
#[derive(Serialize, ToSchema)]
pub struct DetailCode {
    detail: String,
    /// `token_not_valid`, `user_not_found`, `user_inactive`, `password_changed`,
    /// `bad_authorization_header`.
    code: String,
}

#[derive(ToSchema)]
pub struct TokenMessage {
    token_class: String,
    token_type: String,
    message: String,
}

/// `JWTAuthentication`'s refusals: `messages` when no token class accepts the token, no
/// `code` when no credentials came.
#[derive(ToSchema)]
pub struct TokenNotValid {
    detail: String,
    code: Option<String>,
    messages: Option<Vec<TokenMessage>>,
}

/// DRF's validation errors: field name (or `non_field_errors`) to messages.
#[derive(Serialize, ToSchema)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

/// A 400: field errors, or `{"detail"}` for a body that could not be parsed.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum BadRequest {
    Fields(FieldErrors),
    Parse(Detail),
}

/// A 401 from a token endpoint: Simple JWT's `{"detail", "code"}`, or DRF's `{"detail"}`
/// for refused credentials.
#[derive(Serialize, ToSchema)]
pub struct Unauthorized {
    detail: String,
    code: Option<String>,
}

/// drf-jwt's credentials (`JSONWebTokenSerializer`).
#[derive(ToSchema)]
pub struct DrfJwtObtainRequest {
    #[schema(min_length = 1)]
    password: String,
    #[schema(min_length = 1)]
    username: String,
}

/// drf-jwt's token answer: `pk` is the new token's `iat`.
#[derive(ToSchema)]
pub struct DrfJwtIssued {
    pk: i64,
    token: String,
}

/// `pk` is the token's `iat`, null when it has none.
#[derive(ToSchema)]
pub struct DrfJwtVerified {
    pk: Option<f64>,
    token: String,
}

/// The blacklisted token; null under `jwt_token_id = "require"`.
#[derive(ToSchema)]
pub struct DrfJwtLoggedOut {
    token: Option<String>,
}

/// A 400 from `/auth/logout/`: field errors, a body that could not be parsed, or the
/// blacklist serializer's `["message"]`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum DrfJwtLogoutBadRequest {
    Fields(FieldErrors),
    Parse(Detail),
    Messages(Vec<String>),
}

/// OAuth's error body (RFC 6749 §5.2).
#[derive(ToSchema)]
pub struct OAuthError {
    error: String,
    error_description: Option<String>,
}

/// RFC 7662's answer; only `active` when the token is not.
#[derive(ToSchema)]
pub struct Introspection {
    active: bool,
    token_type: Option<String>,
    exp: Option<i64>,
    iat: Option<i64>,
    jti: Option<String>,
    sub: Option<String>,
    user_id: Option<String>,
    username: Option<String>,
    aud: Option<Value>,
    iss: Option<String>,
}

/// A JWK Set (RFC 7517).
#[derive(ToSchema)]
pub struct JwkSet {
    keys: Vec<Value>,
}

#[derive(ToSchema)]
pub struct Status {
    status: String,
    database: Option<String>,
    detail: Option<String>,
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "jwt",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "jwtd",
        description = "A JSON Web Token service speaking Django REST framework Simple JWT's protocol."
    ),
    paths(
        super::views::tokens::obtain_pair,
        super::views::tokens::refresh,
        super::views::tokens::verify,
        super::views::tokens::blacklist,
        super::views::tokens::logout,
        super::views::tokens::obtain_sliding,
        super::views::tokens::refresh_sliding,
        super::views::cookies::csrf_token,
        super::views::impersonate::impersonate,
        super::views::oauth::revoke,
        super::views::oauth::introspect,
        super::views::me::me,
        super::views::well_known::jwks,
        super::views::well_known::discovery,
        super::ops::health::healthz,
        super::ops::health::readyz,
    ),
    components(schemas(FieldErrors, BadRequest, Unauthorized)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "tokens", description = "Simple JWT's endpoints"),
        (name = "oauth", description = "RFC 7009 revocation and RFC 7662 introspection"),
        (name = "users", description = "The authenticated user"),
        (name = "keys", description = "Published keys and discovery"),
        (name = "operations", description = "Health"),
    )
)]
struct ApiDoc;

/// drf-jwt's endpoints, described only when they are served.
#[derive(OpenApi)]
#[openapi(
    paths(
        super::views::drf_jwt::obtain,
        super::views::drf_jwt::refresh,
        super::views::drf_jwt::verify,
        super::views::drf_jwt::logout,
    ),
    modifiers(&DrfJwtScheme),
    tags((name = "drf-jwt", description = "drf-jwt's endpoints (drf_jwt_endpoints)"))
)]
struct DrfJwtDoc;

struct DrfJwtScheme;

impl Modify for DrfJwtScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "drf_jwt",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    "Authorization",
                    "`<jwt_auth_header_prefix> <token>` (Bearer by default)",
                ))),
            );
    }
}

pub fn document(drf_jwt: bool) -> Value {
    let mut doc = ApiDoc::openapi();
    if drf_jwt {
        doc.merge(DrfJwtDoc::openapi());
    }
    serde_json::to_value(doc).expect("the API description serializes")
}

/// `GET /api/schema/`
pub async fn schema(http: web::Data<HttpState>, req: HttpRequest) -> HttpResponse {
    http.schema.respond(&http, &req)
}
