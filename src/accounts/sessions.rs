//! The admin twins of the self-service session views: any user's sessions listed or
//! revoked, and the whole audit trail read, under the admin API's permissions. A
//! revocation records `session_revoked` with the admin as the actor.

use super::AccountError;
use super::permissions::{Caller, check_access, check_target};
use crate::store::{Event, EventFilter, EventType, NewEvent, Page, Reason, Session, User};
use crate::tokens::audit::{self, Client};
use crate::tokens::state::State;

async fn find(state: &State, id: i64) -> Result<User, AccountError> {
    state.store.user_by_id(id).await?.ok_or(AccountError::NoSuchUser)
}

/// `session_revoked` about `user`, caused by `caller`.
fn revoked_event(
    state: &State,
    client: &Client,
    caller: &Caller,
    user: &User,
    session: Option<&str>,
) -> NewEvent {
    let mut e = audit::event(
        &state.settings.audit,
        client,
        EventType::SessionRevoked,
        Some(user),
        session,
    );
    e.actor_id = caller.user_id();
    if let Caller::Client { client_id, .. } = caller {
        e.detail = Some(serde_json::json!({ "client": client_id }));
    }
    e
}

/// `GET /api/admin/users/{id}/sessions/`: a page of the user's active sessions and the
/// count.
pub async fn of_user(
    state: &State,
    caller: &Caller,
    user_id: i64,
    page: Page,
) -> Result<(Vec<Session>, i64), AccountError> {
    check_access(state, caller, false)?;
    let user = find(state, user_id).await?;
    Ok(state
        .store
        .sessions_of_user(user.id, crate::store::now(), page)
        .await?)
}

/// `DELETE /api/admin/users/{id}/sessions/`: the user is logged out everywhere.
pub async fn revoke_all(
    state: &State,
    caller: &Caller,
    client: &Client<'_>,
    user_id: i64,
) -> Result<(), AccountError> {
    check_access(state, caller, true)?;
    let user = find(state, user_id).await?;
    check_target(caller, &user)?;
    let mut event = revoked_event(state, client, caller, &user, None);
    event.detail = Some(match event.detail.take() {
        Some(serde_json::Value::Object(mut map)) => {
            map.insert("all".into(), true.into());
            serde_json::Value::Object(map)
        }
        _ => serde_json::json!({ "all": true }),
    });
    let events = [event];
    state
        .store
        .revoke_all_sessions(user.id, Reason::Revoke, &events)
        .await?;
    audit::written(Some(&state.audit_counts), &events);
    Ok(())
}

/// `GET /api/admin/sessions/{id}/`: one active session of any user.
pub async fn one(state: &State, caller: &Caller, id: &str) -> Result<Session, AccountError> {
    check_access(state, caller, false)?;
    let now = crate::store::now();
    match state.store.session(id).await? {
        Some(s) if s.revoked_at.is_none() && s.expires_at.is_some_and(|e| e > now) => Ok(s),
        _ => Err(AccountError::NoSuchSession),
    }
}

/// `DELETE /api/admin/sessions/{id}/`: one active session of any user; an unknown or
/// ended one is DRF's 404.
pub async fn revoke_one(
    state: &State,
    caller: &Caller,
    client: &Client<'_>,
    id: &str,
) -> Result<(), AccountError> {
    revoke_of(state, caller, client, None, id).await
}

/// The console's revocation from a user's page: the session `id` of `user_id` only (an id
/// of someone else's is no such session there).
pub async fn revoke_of_user(
    state: &State,
    caller: &Caller,
    client: &Client<'_>,
    user_id: i64,
    id: &str,
) -> Result<(), AccountError> {
    revoke_of(state, caller, client, Some(user_id), id).await
}

async fn revoke_of(
    state: &State,
    caller: &Caller,
    client: &Client<'_>,
    user_id: Option<i64>,
    id: &str,
) -> Result<(), AccountError> {
    check_access(state, caller, true)?;
    let owner = state
        .store
        .session(id)
        .await?
        .and_then(|s| s.user_id)
        .filter(|owner| user_id.is_none_or(|u| u == *owner))
        .ok_or(AccountError::NoSuchSession)?;
    let user = state
        .store
        .user_by_id(owner)
        .await?
        .ok_or(AccountError::NoSuchSession)?;
    check_target(caller, &user)?;
    let events = [revoked_event(state, client, caller, &user, Some(id))];
    // Of that owner only: the check above was made on them.
    let revoked = state
        .store
        .revoke_session(id, Some(owner), Reason::Revoke, &events)
        .await?;
    if revoked.is_none() {
        return Err(AccountError::NoSuchSession);
    }
    audit::written(Some(&state.audit_counts), &events);
    Ok(())
}

/// `GET /api/admin/events/`: a page of the events the filter selects, newest first.
pub async fn events(
    state: &State,
    caller: &Caller,
    filter: &EventFilter,
    page: Page,
) -> Result<(Vec<Event>, i64), AccountError> {
    check_access(state, caller, false)?;
    Ok(state.store.events(filter, page).await?)
}
