//! The bodies jwtd sends, as types: the views and the error mapping serialize these, and
//! the API description (`openapi`) is generated from them, so the document says what is
//! sent. Field order is key order on the wire. The request types only describe what the
//! DRF-compatible parsers read (`drf::parsers`, `drf::fields`): nothing builds them.

use serde::Serialize;
use serde_json::Value;
use utoipa::{ToResponse, ToSchema};

pub use super::drf::fields::FieldErrors;

/// Credentials (Simple JWT's `TokenObtainSerializer`).
#[derive(ToSchema)]
#[allow(dead_code)] // describes a request
pub struct ObtainRequest {
    #[schema(min_length = 1)]
    username: String,
    #[schema(min_length = 1)]
    password: String,
}

/// A refresh token (`TokenRefreshSerializer`, `TokenBlacklistSerializer`).
#[derive(ToSchema)]
#[allow(dead_code)] // describes a request
pub struct RefreshRequest {
    #[schema(min_length = 1)]
    refresh: String,
}

/// Any token (`TokenVerifySerializer`, `TokenRefreshSlidingSerializer`).
#[derive(ToSchema)]
#[allow(dead_code)] // describes a request
pub struct TokenRequest {
    #[schema(min_length = 1)]
    token: String,
}

/// RFC 7009 / RFC 7662 requests.
#[derive(ToSchema)]
#[allow(dead_code)] // describes a request
pub struct OAuthTokenRequest {
    #[schema(min_length = 1)]
    token: String,
    /// `access_token` or `refresh_token`; not needed.
    token_type_hint: Option<String>,
}

/// Both tokens, unless `auth_cookie_tokens_in_body = false` leaves out those set as cookies.
#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
}

/// `refresh` only with `rotate_refresh_tokens`; either left out when set as a cookie and
/// `auth_cookie_tokens_in_body = false`.
#[derive(Serialize, ToSchema)]
pub struct Refreshed {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<String>,
}

/// `GET /api/token/csrf/`: the value for `X-CSRFToken`.
#[derive(Serialize, ToSchema)]
#[allow(non_snake_case)] // Django apps' name for it
pub struct CsrfToken {
    pub csrfToken: String,
}

#[derive(Serialize, ToSchema)]
pub struct SlidingToken {
    pub token: String,
}

/// An empty object.
#[derive(Serialize, ToSchema)]
pub struct Empty {}

impl Empty {
    /// `Empty` serialized: verify's and blacklist's answer, written without serializing.
    pub const JSON: &'static [u8] = b"{}";
}

/// The authenticated user.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    /// ISO 8601, UTC.
    pub last_login: Option<String>,
    pub date_joined: String,
    /// The id of the user who impersonates this one, with an impersonation token.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub impersonator: Option<Value>,
}

/// A session: one login and everything refreshed from it. Times are ISO 8601, UTC.
#[derive(Serialize, ToSchema)]
pub struct SessionBody {
    /// The token family: the jti of the login's first token, and the `sid` claim of its
    /// tokens.
    pub id: String,
    pub created: Option<String>,
    /// The last refresh, to the minute.
    pub last_used: Option<String>,
    pub expires: Option<String>,
    /// Kept only with `session_metadata = true`.
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    /// Whether the calling token belongs to it.
    pub current: bool,
}

/// DRF's `PageNumberPagination` of sessions.
#[derive(Serialize, ToSchema)]
pub struct SessionPage {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<SessionBody>,
}

/// A security event of the audit trail.
#[derive(Serialize, ToSchema)]
pub struct EventBody {
    pub id: i64,
    /// `login_succeeded`, `login_failed`, `locked_out`, `token_refreshed`,
    /// `refresh_reuse_detected`, `token_blacklisted`, `token_revoked`, `logout`,
    /// `session_revoked`, `password_changed`, `user_created`, `user_updated`,
    /// `user_deleted`, `impersonation_started`.
    pub r#type: String,
    /// ISO 8601, UTC.
    pub at: String,
    /// The user it is about (an id), if any.
    pub user: Option<i64>,
    /// That user's name, or the name a failed login gave.
    pub username: Option<String>,
    /// Who did it when not the user (an admin, an impersonator): an id.
    pub actor: Option<i64>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// The session concerned.
    pub session: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<Value>,
}

impl From<crate::store::Event> for EventBody {
    fn from(e: crate::store::Event) -> EventBody {
        EventBody {
            id: e.id,
            r#type: e.kind,
            at: super::drf_datetime(e.at),
            user: e.user_id,
            username: e.username,
            actor: e.actor_id,
            ip_address: e.ip_address,
            user_agent: e.user_agent,
            session: e.session,
            detail: e.detail,
        }
    }
}

/// DRF's `PageNumberPagination` of events.
#[derive(Serialize, ToSchema)]
pub struct EventPage {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<EventBody>,
}

/// `POST /api/me/sessions/revoke-others/`: how many sessions were revoked.
#[derive(Serialize, ToSchema)]
pub struct RevokedSessions {
    pub revoked: u64,
}

/// Whom to impersonate: `user` (an id) or `username`, not both.
#[derive(ToSchema)]
#[allow(dead_code)] // describes a request
pub struct ImpersonateRequest {
    user: Option<i64>,
    #[schema(min_length = 1)]
    username: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ImpersonationToken {
    pub access: String,
}

/// DRF's error body.
#[derive(Serialize, ToSchema)]
pub struct Detail {
    pub detail: String,
}

/// Answers that many endpoints give alike, declared once and referenced from each
/// endpoint's responses (`components.responses`).
#[derive(ToResponse)]
#[response(description = "The database is unavailable")]
pub struct Unavailable(pub Detail);

#[derive(ToResponse)]
#[response(description = "The body is larger than max_body_size")]
pub struct TooLarge(pub Detail);

#[derive(ToResponse)]
#[response(description = "A media type other than JSON, form or multipart")]
pub struct UnsupportedMediaType(pub Detail);

/// Simple JWT's error body.
#[derive(Serialize, ToSchema)]
pub struct DetailCode {
    pub detail: String,
    /// `token_not_valid`, `user_not_found`, `user_inactive`, `password_changed`,
    /// `bad_authorization_header`.
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenMessage {
    pub token_class: &'static str,
    pub token_type: &'static str,
    pub message: String,
}

/// `JWTAuthentication`'s refusals: `messages` when no token class accepts the token, no
/// `code` when no credentials came.
#[derive(Serialize, ToSchema)]
pub struct TokenNotValid {
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<TokenMessage>>,
}

/// A 400: field errors, or `{"detail"}` for a body that could not be parsed.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // the alternatives of a response; each is sent as its own type
pub enum BadRequest {
    Fields(FieldErrors),
    Parse(Detail),
}

/// A 400 from a listing's filters: field errors (`is_active`, `is_staff`), or DRF's
/// `CharField` refusing the `search` value (`["Null characters are not allowed."]`).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // the alternatives of a response; each is sent as its own type
pub enum FilterRefused {
    Fields(FieldErrors),
    Search(Vec<String>),
}

// Sent as `TokenNotValid`, of which it is the part these endpoints use.
/// A 401 from a token endpoint: Simple JWT's `{"detail", "code"}`, or DRF's `{"detail"}`
/// for refused credentials.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents a subset of `TokenNotValid`
pub struct Unauthorized {
    detail: String,
    code: Option<String>,
}

/// drf-jwt's credentials (`JSONWebTokenSerializer`).
#[derive(ToSchema)]
#[allow(dead_code)] // describes a request
pub struct DrfJwtObtainRequest {
    #[schema(min_length = 1)]
    password: String,
    #[schema(min_length = 1)]
    username: String,
}

/// drf-jwt's token answer: `pk` is the new token's `iat`.
#[derive(Serialize, ToSchema)]
pub struct DrfJwtIssued {
    #[schema(value_type = i64)]
    pub pk: Value,
    pub token: String,
}

/// `pk` is the token's `iat`, null when it has none.
#[derive(Serialize, ToSchema)]
pub struct DrfJwtVerified {
    #[schema(value_type = Option<f64>)]
    pub pk: Value,
    pub token: String,
}

/// The blacklisted token; null under `jwt_token_id = "require"`.
#[derive(Serialize, ToSchema)]
pub struct DrfJwtLoggedOut {
    pub token: Option<String>,
}

/// A 400 from `/auth/logout/`: field errors, a body that could not be parsed, or the
/// blacklist serializer's `["message"]`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // the alternatives of a response; each is sent as its own type
pub enum DrfJwtLogoutBadRequest {
    Fields(FieldErrors),
    Parse(Detail),
    Messages(Vec<String>),
}

/// OAuth's error body (RFC 6749 §5.2).
#[derive(Serialize, ToSchema)]
pub struct OAuthError<'a> {
    pub error: &'a str,
    #[schema(value_type = Option<String>)]
    pub error_description: &'a str,
}

// Built by the rule (`tokens::oauth::introspect`), which copies the claims under their
// own names (`user_id_claim`'s included).
/// RFC 7662's answer; only `active` when the token is not.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the rule's answer
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
#[allow(dead_code)] // rendered once from the key ring (`keys::KeyRing::jwks`)
pub struct JwkSet {
    keys: Vec<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct Status {
    #[schema(value_type = String)]
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub database: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub detail: Option<&'static str>,
}

/// A user as the admin API and registration show it: `/api/me/`'s fields and whether the
/// user has a usable password (never the hash).
#[derive(Serialize, ToSchema)]
pub struct UserDetail {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    /// ISO 8601, UTC.
    pub last_login: Option<String>,
    pub date_joined: String,
    pub has_usable_password: bool,
}

/// DRF's `PageNumberPagination` of users: `next` and `previous` are absolute URLs.
#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<UserDetail>,
}

/// A new user (`POST /api/admin/users/`); without a password the user gets an unusable one.
#[derive(ToSchema)]
#[allow(dead_code)] // describes a request
pub struct UserCreateRequest {
    #[schema(min_length = 1, max_length = 150, pattern = r"^[\w.@+-]+$")]
    username: String,
    password: Option<String>,
    #[schema(max_length = 254)]
    email: Option<String>,
    #[schema(max_length = 150)]
    first_name: Option<String>,
    #[schema(max_length = 150)]
    last_name: Option<String>,
    is_active: Option<bool>,
    is_staff: Option<bool>,
    is_superuser: Option<bool>,
}

/// `PATCH /api/admin/users/{id}/`: the fields to change.
#[derive(ToSchema)]
#[allow(dead_code)] // describes a request
pub struct UserUpdateRequest {
    #[schema(min_length = 1, max_length = 150, pattern = r"^[\w.@+-]+$")]
    username: Option<String>,
    #[schema(max_length = 254)]
    email: Option<String>,
    #[schema(max_length = 150)]
    first_name: Option<String>,
    #[schema(max_length = 150)]
    last_name: Option<String>,
    is_active: Option<bool>,
    is_staff: Option<bool>,
    is_superuser: Option<bool>,
}

/// `POST /api/register/`.
#[derive(ToSchema)]
#[allow(dead_code)] // describes a request
pub struct RegisterRequest {
    #[schema(min_length = 1, max_length = 150, pattern = r"^[\w.@+-]+$")]
    username: String,
    #[schema(min_length = 1)]
    password: String,
    #[schema(max_length = 254)]
    email: Option<String>,
    #[schema(max_length = 150)]
    first_name: Option<String>,
    #[schema(max_length = 150)]
    last_name: Option<String>,
}

/// `POST /api/admin/users/{id}/password/`.
#[derive(ToSchema)]
#[allow(dead_code)] // describes a request
pub struct SetPasswordRequest {
    #[schema(min_length = 1)]
    password: String,
    /// Keep the user's tokens; by default they are all blacklisted.
    keep_sessions: Option<bool>,
}

/// `PATCH /api/me/` (the fields to change) and `PUT /api/me/`: the username only with
/// `allow_username_change` (required by `PUT` then); else it is ignored.
#[derive(ToSchema)]
#[allow(dead_code)] // describes a request
pub struct MeUpdateRequest {
    #[schema(min_length = 1, max_length = 150, pattern = r"^[\w.@+-]+$")]
    username: Option<String>,
    #[schema(max_length = 254)]
    email: Option<String>,
    #[schema(max_length = 150)]
    first_name: Option<String>,
    #[schema(max_length = 150)]
    last_name: Option<String>,
}

/// `POST /api/me/password/`.
#[derive(ToSchema)]
#[allow(dead_code)] // describes a request
pub struct PasswordChangeRequest {
    #[schema(min_length = 1)]
    old_password: String,
    #[schema(min_length = 1)]
    new_password: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_written_as_serialized() {
        assert_eq!(serde_json::to_vec(&Empty {}).unwrap(), Empty::JSON);
    }
}
