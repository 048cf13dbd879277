//! What the operator console's first page shows: counts of users and sessions, and of the
//! last day's logins from the audit trail, under the admin API's read permission.

use time::Duration;

use super::AccountError;
use super::permissions::{Caller, check_access};
use crate::store::{EventFilter, EventType, Page, UserQuery};
use crate::tokens::state::State;

/// The overview's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overview {
    pub users: i64,
    pub active_users: i64,
    pub active_sessions: i64,
    /// `login_succeeded` and `login_failed` events of the last 24 hours.
    pub logins: i64,
    pub failed_logins: i64,
    pub lockouts: i64,
}

pub async fn overview(state: &State, caller: &Caller) -> Result<Overview, AccountError> {
    check_access(state, caller, false)?;
    let store = &state.store;
    let count_users = |is_active| UserQuery {
        is_active,
        limit: 0,
        ..UserQuery::default()
    };
    let (_, users) = store.search_users(&count_users(None)).await?;
    let (_, active_users) = store.search_users(&count_users(Some(true))).await?;
    let now = crate::store::now();
    let active_sessions = store.count_active_sessions(now).await?;
    let none = Page { offset: 0, limit: 0 };
    let since = now - Duration::hours(24);
    let mut counts = [0; 3];
    for (slot, kind) in counts.iter_mut().zip([
        EventType::LoginSucceeded,
        EventType::LoginFailed,
        EventType::LockedOut,
    ]) {
        let filter = EventFilter {
            kind: Some(kind),
            since: Some(since),
            ..EventFilter::default()
        };
        *slot = store.events(&filter, none).await?.1;
    }
    let [logins, failed_logins, lockouts] = counts;
    Ok(Overview {
        users,
        active_users,
        active_sessions,
        logins,
        failed_logins,
        lockouts,
    })
}

/// The console's key and settings pages: the configuration is the operators' — the
/// superusers' — even when `admin_api = "staff"` lets staff manage users.
pub fn check_configuration_access(caller: &Caller) -> Result<(), AccountError> {
    match caller {
        Caller::User { user, impersonated } if user.is_superuser && !impersonated => Ok(()),
        _ => Err(AccountError::Forbidden),
    }
}
