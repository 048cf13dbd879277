//! Users over HTTP (Django's `auth` and admin, beyond Simple JWT): who may call the admin
//! API, whether anyone may register, and Django's password validation
//! (`AUTH_PASSWORD_VALIDATORS`), which every path that sets a password applies.

use serde::Deserialize;

use super::ConfigError;
use crate::passwords::PasswordPolicy;
use crate::passwords::policy::DEFAULT_MIN_LENGTH;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AccountSettings {
    /// Who may call `/api/admin/…`.
    pub admin_api: AdminApi,
    /// The operator console at `/admin/` (served only when `admin_api` is not `off`).
    pub admin_console: bool,
    /// `POST /api/register/` creates users.
    pub registration: bool,
    /// Whether registered users start active (room for e-mail verification).
    pub registration_active: bool,
    /// `PATCH /api/me/` may change the username.
    pub allow_username_change: bool,
    /// Django's validators by short or class name, in order; empty: none.
    pub password_validators: Vec<String>,
    /// `MinimumLengthValidator`'s `min_length`.
    pub password_min_length: usize,
    /// `password_validators` and `password_min_length`, built when the settings are
    /// validated.
    #[serde(skip)]
    pub password_policy: PasswordPolicy,
}

impl Default for AccountSettings {
    fn default() -> Self {
        let policy = PasswordPolicy::default();
        AccountSettings {
            admin_api: AdminApi::Superuser,
            admin_console: true,
            registration: false,
            registration_active: true,
            allow_username_change: false,
            password_validators: policy.validators().iter().map(|v| v.name().to_string()).collect(),
            password_min_length: DEFAULT_MIN_LENGTH,
            password_policy: policy,
        }
    }
}

/// Who may call the admin API (a service client with the `admin` scope always may, unless
/// it is off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdminApi {
    /// The routes do not exist.
    Off,
    Superuser,
    /// Staff members too, for users who are neither superusers nor made staff by them.
    Staff,
}

impl AccountSettings {
    pub(super) fn validate(&mut self) -> Result<(), ConfigError> {
        if self.password_min_length == 0 {
            return Err(ConfigError::key("password_min_length", "must be at least 1"));
        }
        self.password_policy =
            PasswordPolicy::from_names(&self.password_validators, self.password_min_length)
                .map_err(|e| ConfigError::key("password_validators", e))?;
        Ok(())
    }
}
