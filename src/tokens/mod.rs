//! Tokens: the token classes and their claims (`token`), encoding and decoding (`backend`),
//! the rules of each endpoint (`serializers`) and request authentication
//! (`authentication`) — laid out as Simple JWT's modules of the same names.

pub mod audit;
pub mod authentication;
pub mod backend;
mod claims;
pub mod clients;
pub mod drf_jwt;
pub mod error;
pub mod housekeeping;
pub mod impersonation;
pub mod oauth;
pub mod serializers;
pub mod state;
pub mod token;

pub use backend::TokenBackend;
pub use claims::SESSION_CLAIM;
pub use error::{AuthError, TokenError};
pub use token::{Claims, Token, TokenType};

/// Seconds since the epoch, as Simple JWT's `datetime_to_epoch(aware_utcnow())`.
pub fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The current time with its fraction, as PyJWT compares `exp` against it.
pub fn now_f64() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
