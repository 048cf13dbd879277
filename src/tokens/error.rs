//! The rules' errors, each one of Simple JWT's answers; `http::errors` turns them into
//! responses in one place.

use std::fmt;

use crate::config::TokenClass;
use crate::passwords::PasswordError;
use crate::store::StoreError;

/// Why a token is not usable, with Simple JWT 5.5's user-facing messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Malformed, bad signature, refused algorithm, wrong audience or issuer, not yet valid.
    Invalid,
    /// `exp` has passed.
    Expired,
    NoId,
    NoType,
    WrongType,
    NoClaim(String),
    ClaimExpired(String),
    Blacklisted,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Invalid => f.write_str("Token is invalid"),
            TokenError::Expired => f.write_str("Token is expired"),
            TokenError::NoId => f.write_str("Token has no id"),
            TokenError::NoType => f.write_str("Token has no type"),
            TokenError::WrongType => f.write_str("Token has wrong type"),
            TokenError::NoClaim(c) => write!(f, "Token has no '{c}' claim"),
            TokenError::ClaimExpired(c) => write!(f, "Token '{c}' claim has expired"),
            TokenError::Blacklisted => f.write_str("Token is blacklisted"),
        }
    }
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

/// Every way a token endpoint or an authenticated request can be refused.
#[derive(Debug)]
pub enum AuthError {
    /// `InvalidToken(message)`: 401 `{"detail": message, "code": "token_not_valid"}`.
    InvalidToken(TokenError),
    /// No configured token class accepted the token: 401 with Simple JWT's `messages` list.
    NoValidTokenType(Vec<(TokenClass, TokenError)>),
    /// The token has no user id claim.
    NoUserIdentification,
    /// Obtain: unknown user, wrong password or inactive user — one answer for all three.
    NoActiveAccount,
    /// Refresh: the token's user is gone or inactive.
    NoActiveAccountForToken,
    UserNotFound,
    UserInactive,
    PasswordChanged,
    BadAuthorizationHeader,
    /// No credentials on a request that needs them.
    NotAuthenticated,
    /// `/api/token/verify/` on a blacklisted token: 400 `{"non_field_errors": [...]}`.
    BlacklistedOnVerify,
    Store(StoreError),
    Password(PasswordError),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        AuthError::Store(e)
    }
}

impl From<PasswordError> for AuthError {
    fn from(e: PasswordError) -> Self {
        AuthError::Password(e)
    }
}

impl From<TokenError> for AuthError {
    fn from(e: TokenError) -> Self {
        AuthError::InvalidToken(e)
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::InvalidToken(e) => write!(f, "{e}"),
            AuthError::NoValidTokenType(_) => f.write_str("Given token not valid for any token type"),
            AuthError::NoUserIdentification => {
                f.write_str("Token contained no recognizable user identification")
            }
            AuthError::NoActiveAccount => f.write_str("No active account found with the given credentials"),
            AuthError::NoActiveAccountForToken => f.write_str("No active account found for the given token."),
            AuthError::UserNotFound => f.write_str("User not found"),
            AuthError::UserInactive => f.write_str("User is inactive"),
            AuthError::PasswordChanged => f.write_str("The user's password has been changed."),
            AuthError::BadAuthorizationHeader => {
                f.write_str("Authorization header must contain two space-delimited values")
            }
            AuthError::NotAuthenticated => f.write_str("Authentication credentials were not provided."),
            AuthError::BlacklistedOnVerify => f.write_str("Token is blacklisted"),
            AuthError::Store(e) => write!(f, "{e}"),
            AuthError::Password(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AuthError {}
