//! Who may call the admin API and whom they may change (`admin_api`): DRF's permission
//! classes, checked before anything is read (`has_permission`) and once the user is
//! found (`has_object_permission`).

use super::AccountError;
use crate::config::AdminApi;
use crate::store::{Expected, User};
use crate::tokens::state::State;

/// Who calls.
#[derive(Debug)]
pub enum Caller {
    /// A user with an access token; `impersonated` when it is an impersonation token.
    User { user: User, impersonated: bool },
    /// An introspection client authenticated with HTTP Basic; `admin` when it holds that
    /// scope.
    Client { client_id: String, admin: bool },
}

impl Caller {
    /// The acting user's id, for audit records.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Caller::User { user, .. } => Some(user.id),
            Caller::Client { .. } => None,
        }
    }

    /// A staff member in `staff` mode: manages users who are not superusers, grants no
    /// flags.
    fn is_limited(&self) -> bool {
        matches!(self, Caller::User { user, .. } if !user.is_superuser)
    }
}

/// `has_permission`: the mode allows the caller at all; no write with an impersonation
/// token.
pub fn check_access(state: &State, caller: &Caller, write: bool) -> Result<(), AccountError> {
    let allowed = match caller {
        Caller::Client { admin, .. } => *admin,
        Caller::User { user, impersonated } => {
            !(write && *impersonated)
                && match state.settings.accounts.admin_api {
                    AdminApi::Off => false,
                    AdminApi::Superuser => user.is_superuser,
                    AdminApi::Staff => user.is_superuser || user.is_staff,
                }
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(AccountError::Forbidden)
    }
}

/// `has_object_permission` for a change: a staff member never changes a superuser.
pub fn check_target(caller: &Caller, target: &User) -> Result<(), AccountError> {
    if caller.is_limited() && target.is_superuser {
        return Err(AccountError::Forbidden);
    }
    Ok(())
}

/// A staff member never grants `is_staff` or `is_superuser` (a user who has it may keep it).
pub fn check_grants(
    caller: &Caller,
    is_staff: Option<bool>,
    is_superuser: Option<bool>,
    current: Option<&User>,
) -> Result<(), AccountError> {
    let grants = |wanted: Option<bool>, has: bool| wanted == Some(true) && !has;
    if caller.is_limited()
        && (grants(is_staff, current.is_some_and(|u| u.is_staff))
            || grants(is_superuser, current.is_some_and(|u| u.is_superuser)))
    {
        return Err(AccountError::Forbidden);
    }
    Ok(())
}

/// What the row must still hold when a staff member's change lands (the flags the checks
/// above were decided on); anything for a superuser or a service client.
pub fn expected(caller: &Caller, current: &User) -> Expected {
    if caller.is_limited() {
        Expected {
            is_superuser: Some(current.is_superuser),
            is_staff: Some(current.is_staff),
        }
    } else {
        Expected::default()
    }
}
