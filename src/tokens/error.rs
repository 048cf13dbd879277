//! The rules' errors, each one of Simple JWT's answers. Each carries what Simple JWT's
//! exception classes carry — the message, the `default_code` and how it is answered
//! (`AuthError::answer`) — so that `http::errors` (the response) and the metrics read the
//! same source.

use crate::config::TokenClass;
use crate::passwords::PasswordError;
use crate::store::StoreError;

/// Why a token is not usable, with Simple JWT 5.5's user-facing messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Malformed, bad signature, refused algorithm, wrong audience or issuer, not yet valid.
    #[error("Token is invalid")]
    Invalid,
    /// `exp` has passed.
    #[error("Token is expired")]
    Expired,
    #[error("Token has no id")]
    NoId,
    #[error("Token has no type")]
    NoType,
    #[error("Token has wrong type")]
    WrongType,
    #[error("Token has no '{0}' claim")]
    NoClaim(String),
    #[error("Token '{0}' claim has expired")]
    ClaimExpired(String),
    #[error("Token is blacklisted")]
    Blacklisted,
}

impl TokenError {
    /// A short label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            TokenError::Invalid => "invalid",
            TokenError::Expired => "expired",
            TokenError::NoId => "no_id",
            TokenError::NoType => "no_type",
            TokenError::WrongType => "wrong_type",
            TokenError::NoClaim(_) => "no_claim",
            TokenError::ClaimExpired(_) => "claim_expired",
            TokenError::Blacklisted => "blacklisted",
        }
    }
}

/// Every way a token endpoint or an authenticated request can be refused. The message is
/// the `Display`.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// `InvalidToken(message)`: 401 `{"detail": message, "code": "token_not_valid"}`.
    #[error("{0}")]
    InvalidToken(#[from] TokenError),
    /// No configured token class accepted the token: 401 with Simple JWT's `messages` list.
    #[error("Given token not valid for any token type")]
    NoValidTokenType(Vec<(TokenClass, TokenError)>),
    /// The token has no user id claim.
    #[error("Token contained no recognizable user identification")]
    NoUserIdentification,
    /// Obtain: unknown user, wrong password or inactive user — one answer for all three.
    #[error("No active account found with the given credentials")]
    NoActiveAccount,
    /// Refresh: the token's user is gone or inactive.
    #[error("No active account found for the given token.")]
    NoActiveAccountForToken,
    #[error("User not found")]
    UserNotFound,
    #[error("User is inactive")]
    UserInactive,
    #[error("The user's password has been changed.")]
    PasswordChanged,
    #[error("Authorization header must contain two space-delimited values")]
    BadAuthorizationHeader,
    /// No credentials on a request that needs them.
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    /// `/api/token/verify/` on a blacklisted token: 400 `{"non_field_errors": [...]}`.
    #[error("Token is blacklisted")]
    BlacklistedOnVerify,
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Password(#[from] PasswordError),
}

/// How a refusal is answered: what Simple JWT's and DRF's exception classes carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// Simple JWT's (or DRF's) code: `default_code`, or the code the exception was raised
    /// with. The metrics count refusals by it.
    pub code: &'static str,
    /// Why, more finely than the code: for the metrics.
    pub reason: &'static str,
    pub kind: Kind,
    /// A blacklisted token caused the refusal.
    pub blacklisted: bool,
}

/// The exception class a refusal is raised as, which decides the status and the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Simple JWT's own `AuthenticationFailed` and `InvalidToken` (`DetailDictMixin`): 401
    /// `{"detail", "code"}`.
    DetailCode,
    /// DRF's `AuthenticationFailed` and `NotAuthenticated`: 401 `{"detail"}`, no code in the
    /// body.
    Detail,
    /// A serializer's `ValidationError`: 400 `{"non_field_errors": [detail]}`.
    Validation,
    /// The database cannot be reached: 503.
    Unavailable,
    /// The database or the password hasher failed: 500.
    ServerError,
}

impl AuthError {
    /// The one place that says how each refusal is answered.
    pub fn answer(&self) -> Answer {
        let blacklisted = TokenError::Blacklisted;
        let (code, reason, kind, blacklisted) = match self {
            AuthError::InvalidToken(e) => ("token_not_valid", e.label(), Kind::DetailCode, *e == blacklisted),
            AuthError::NoValidTokenType(messages) => (
                "token_not_valid",
                messages.first().map_or("invalid", |(_, e)| e.label()),
                Kind::DetailCode,
                messages.iter().any(|(_, e)| *e == blacklisted),
            ),
            AuthError::NoUserIdentification => ("token_not_valid", "no_user_id", Kind::DetailCode, false),
            AuthError::NoActiveAccount => ("no_active_account", "credentials", Kind::Detail, false),
            AuthError::NoActiveAccountForToken => ("no_active_account", "user", Kind::Detail, false),
            AuthError::UserNotFound => ("user_not_found", "user", Kind::DetailCode, false),
            AuthError::UserInactive => ("user_inactive", "user", Kind::DetailCode, false),
            AuthError::PasswordChanged => ("password_changed", "user", Kind::DetailCode, false),
            AuthError::BadAuthorizationHeader => {
                ("bad_authorization_header", "header", Kind::DetailCode, false)
            }
            AuthError::NotAuthenticated => ("not_authenticated", "header", Kind::Detail, false),
            AuthError::BlacklistedOnVerify => ("token_not_valid", "blacklisted", Kind::Validation, true),
            AuthError::Store(StoreError::Unavailable(_)) => {
                ("unavailable", "database", Kind::Unavailable, false)
            }
            AuthError::Store(_) => ("server_error", "database", Kind::ServerError, false),
            AuthError::Password(_) => ("server_error", "password_hasher", Kind::ServerError, false),
        };
        Answer {
            code,
            reason,
            kind,
            blacklisted,
        }
    }
}
