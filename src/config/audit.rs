//! Sessions and the audit trail: what a login records about its client, how long security
//! events are kept, and whether refreshes are recorded.

use serde::Deserialize;

use super::{ConfigError, Duration};

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AuditSettings {
    /// Keep each session's user agent and client address (and an event's).
    pub session_metadata: bool,
    /// How long security events are kept; older ones are deleted with the expired tokens.
    pub audit_retention: Duration,
    /// Record a `token_refreshed` event for every refresh (many rows on a busy service).
    pub audit_token_refreshed: bool,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            session_metadata: true,
            audit_retention: Duration::secs(90 * 86_400),
            audit_token_refreshed: false,
        }
    }
}

impl AuditSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.audit_retention.as_secs() == 0 {
            return Err(ConfigError::key("audit_retention", "must be at least one second"));
        }
        Ok(())
    }
}
