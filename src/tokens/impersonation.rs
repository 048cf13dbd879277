//! drf-jwt's `ImpersonateAuthTokenSerializer` and `IsSuperUser`, on Simple JWT's tokens: a
//! superuser (or, if configured, a staff member) obtains a short-lived access token for
//! another user. The token carries an `impersonator` claim so that downstream services and
//! audit logs can tell it apart, and it is an access token only: nothing refreshes it.

use super::error::AuthError;
use super::now_secs;
use super::token::{Token, TokenType, user_id_value};
use crate::config::Impersonation;
use crate::store::User;
use crate::tokens::state::State;

pub use super::claims::IMPERSONATOR_CLAIM;

/// Whom to impersonate: drf-jwt's `user` (a primary key) or a username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Id(i64),
    Username(String),
}

/// Every way an impersonation is refused besides the caller's own authentication.
#[derive(Debug)]
pub enum Refusal {
    /// The caller lacks the required flag: DRF's 403.
    NotAllowed,
    /// The caller's own token is an impersonation token: no chains of impersonation.
    FromImpersonation,
    /// The target is a superuser, and `impersonate_superusers` is off or the caller is not
    /// a superuser.
    SuperuserTarget,
    /// No such user: the field error of a `PrimaryKeyRelatedField` (or username).
    UnknownUser(Target),
    /// drf-jwt's `check_user`: "User account is disabled."
    Inactive,
    Auth(AuthError),
}

impl From<AuthError> for Refusal {
    fn from(e: AuthError) -> Self {
        Refusal::Auth(e)
    }
}

/// `IsSuperUser` (or staff), checked before the body is read, as DRF's permissions are.
pub fn check_permission(state: &State, caller: &User, caller_token: &Token) -> Result<(), Refusal> {
    if caller_token.get(IMPERSONATOR_CLAIM).is_some() {
        return Err(Refusal::FromImpersonation);
    }
    let allowed = match state.settings.impersonation.impersonation {
        Impersonation::Off => false,
        Impersonation::Superuser => caller.is_superuser,
        Impersonation::Staff => caller.is_superuser || caller.is_staff,
    };
    if allowed { Ok(()) } else { Err(Refusal::NotAllowed) }
}

/// The access token for `target`, issued to `caller`.
pub async fn impersonate(
    state: &State,
    caller: &User,
    target: Target,
    client: super::audit::Client<'_>,
) -> Result<String, Refusal> {
    let s = &state.settings.impersonation;
    let user = match &target {
        Target::Id(id) => state.store.user_by_id(*id).await.map_err(AuthError::from)?,
        Target::Username(name) => state
            .store
            .user_by_username(name)
            .await
            .map_err(AuthError::from)?,
    };
    let Some(user) = user else {
        return Err(Refusal::UnknownUser(target));
    };
    if !user.is_active {
        return Err(Refusal::Inactive);
    }
    // Only a superuser may ever act as one: staff allowed to impersonate must not gain
    // a superuser's powers that way, whatever `impersonate_superusers` says.
    if user.is_superuser && !(s.impersonate_superusers && caller.is_superuser) {
        return Err(Refusal::SuperuserTarget);
    }
    let now = now_secs();
    let mut token = Token::for_user(TokenType::Access, &user, &state.settings.tokens, now);
    token.set_exp("exp", now, s.impersonation_token_lifetime.as_secs() as i64);
    token.payload.insert(
        IMPERSONATOR_CLAIM.into(),
        user_id_value(caller, &state.settings.tokens).into(),
    );
    tracing::warn!(
        impersonator = caller.id,
        impersonator_username = %caller.username,
        user = user.id,
        username = %user.username,
        "impersonation token issued"
    );
    let mut event = super::audit::event(
        &state.settings.audit,
        &client,
        crate::store::EventType::ImpersonationStarted,
        Some(&user),
        None,
    );
    event.actor_id = Some(caller.id);
    super::audit::record(state, event).await;
    Ok(state.backend.encode(&token.payload))
}
