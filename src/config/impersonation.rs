//! Impersonation (drf-jwt's ImpersonateJSONWebTokenView).

use serde::Deserialize;

use super::{ConfigError, Duration};

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ImpersonationSettings {
    /// Who may call `/api/token/impersonate/`.
    pub impersonation: Impersonation,
    /// Whether a superuser may be impersonated at all.
    pub impersonate_superusers: bool,
    /// Lifetime of an impersonation token (an access token nothing refreshes).
    pub impersonation_token_lifetime: Duration,
}

impl Default for ImpersonationSettings {
    fn default() -> Self {
        ImpersonationSettings {
            impersonation: Impersonation::Superuser,
            impersonate_superusers: false,
            impersonation_token_lifetime: Duration::secs(5 * 60),
        }
    }
}

/// Who may impersonate other users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impersonation {
    /// `/api/token/impersonate/` answers 404.
    Off,
    Superuser,
    /// Staff members and superusers.
    Staff,
}

impl ImpersonationSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.impersonation_token_lifetime.as_secs() == 0 {
            return Err(ConfigError::key(
                "impersonation_token_lifetime",
                "must be at least one second",
            ));
        }
        Ok(())
    }
}
