//! drf-jwt's protocol (rest_framework_jwt's `JWT_*` settings, same names lower-cased).

use serde::Deserialize;

use super::{ConfigError, Duration};

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DrfJwtSettings {
    /// Serve drf-jwt's endpoints: /api-token-auth/, /api-token-refresh/, /api-token-verify/
    /// and /auth/logout/.
    pub drf_jwt_endpoints: bool,
    pub jwt_expiration_delta: Duration,
    pub jwt_refresh_expiration_delta: Duration,
    pub jwt_allow_refresh: bool,
    pub jwt_token_id: JwtTokenId,
    pub jwt_auth_header_prefix: String,
    pub jwt_payload_include_user_id: bool,
}

impl Default for DrfJwtSettings {
    fn default() -> Self {
        DrfJwtSettings {
            drf_jwt_endpoints: false,
            jwt_expiration_delta: Duration::secs(300),
            jwt_refresh_expiration_delta: Duration::secs(7 * 86_400),
            jwt_allow_refresh: true,
            jwt_token_id: JwtTokenId::Include,
            jwt_auth_header_prefix: "Bearer".into(),
            jwt_payload_include_user_id: true,
        }
    }
}

/// drf-jwt's `JWT_TOKEN_ID`: whether its tokens carry a `jti`, and whether one is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JwtTokenId {
    /// No `jti`; tokens are blacklisted by their value.
    Off,
    /// A `jti` in new tokens; tokens without one are still accepted.
    Include,
    /// Tokens without a `jti` are refused.
    Require,
}

impl DrfJwtSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.jwt_expiration_delta.as_secs() == 0 {
            return Err(ConfigError::key(
                "jwt_expiration_delta",
                "must be at least one second",
            ));
        }
        // drf-jwt splits the header on one space and compares the first part, so a prefix
        // with white space in it could never match.
        if self.jwt_auth_header_prefix.is_empty()
            || !self.jwt_auth_header_prefix.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ConfigError::key(
                "jwt_auth_header_prefix",
                format!(
                    "{:?} is not a valid authorization scheme (printable ASCII, no spaces)",
                    self.jwt_auth_header_prefix
                ),
            ));
        }
        Ok(())
    }
}
