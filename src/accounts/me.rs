//! Self-service: what any active user may change of their own account with their access
//! token — their profile, as a DRF `RetrieveUpdateAPIView` over `request.user` does, and
//! their password, as Django's `PasswordChangeForm` and `update_session_auth_hash` do.
//! Impersonation tokens read but never write, as on the admin API.

use super::admin::check_fields;
use super::{AccountError, FieldMessages, UserFields};
use crate::passwords::UserAttributes;
use crate::store::{EventType, Expected, Guarded, NewEvent, User, UserChanges, UserUpdate};
use crate::tokens::serializers::{self, TokenPair};
use crate::tokens::state::State;
use crate::tokens::{AuthError, TokenError};

/// `PasswordChangeForm.clean_old_password`'s message.
pub const OLD_PASSWORD_INCORRECT: &str = "Your old password was entered incorrectly. Please enter it again.";

/// DRF's `IsAuthenticated` lets an impersonation token read; jwtd refuses its writes.
pub fn check_write(impersonated: bool) -> Result<(), AccountError> {
    if impersonated {
        Err(AccountError::Forbidden)
    } else {
        Ok(())
    }
}

/// Whether the username is a writable field (`allow_username_change`); when it is not, a
/// username in the body is ignored, as DRF ignores read-only fields.
pub fn username_writable(state: &State) -> bool {
    state.settings.accounts.allow_username_change
}

/// An event about the user, by the user.
fn own_event(kind: EventType, user: &User) -> NewEvent {
    let mut e = NewEvent::new(kind).user(user);
    e.actor_id = Some(user.id);
    e
}

/// `PATCH /api/me/` (`partial`) and `PUT /api/me/`: email, first and last name, and the
/// username when it is writable — required by `PUT` then, as `ModelSerializer` makes a
/// field without a default or `blank`. Django's and DRF's messages, as the admin API gives.
pub async fn update(
    state: &State,
    user: &User,
    impersonated: bool,
    mut fields: UserFields,
    mut errors: FieldMessages,
    partial: bool,
) -> Result<User, AccountError> {
    check_write(impersonated)?;
    // Only the profile's fields: the flags and the password are not the user's to set here.
    fields.password = None;
    fields.is_active = None;
    fields.is_staff = None;
    fields.is_superuser = None;
    if !username_writable(state) {
        fields.username = None;
        errors.0.retain(|(f, _)| *f != "username");
    } else if !partial && fields.username.is_none() && !errors.0.iter().any(|(f, _)| *f == "username") {
        errors.add("username", "This field is required.");
    }
    check_fields(state, &fields, &mut errors, Some(user)).await?;
    errors.into_result()?;
    let changes = UserChanges {
        username: fields.username,
        email: fields.email,
        first_name: fields.first_name,
        last_name: fields.last_name,
        ..UserChanges::default()
    };
    let events = [own_event(EventType::UserUpdated, user)];
    match state
        .store
        .update_user(user.id, &changes, &Expected::default(), &events)
        .await?
    {
        UserUpdate::Updated(user) => {
            crate::tokens::audit::written(Some(&state.audit_counts), &events);
            Ok(user)
        }
        // Deleted since the token was checked: as authentication would have answered.
        UserUpdate::NotFound | UserUpdate::Unexpected(_) => Err(AccountError::Auth(AuthError::UserNotFound)),
        UserUpdate::UsernameTaken => {
            let mut errors = FieldMessages::default();
            errors.add("username", super::validators::USERNAME_TAKEN);
            Err(AccountError::Invalid(errors))
        }
    }
}

/// `PasswordChangeForm.clean_old_password`: whether `old` is the user's password (a
/// password hash's worth of work, on the hasher's threads).
pub async fn old_password_matches(state: &State, user: &User, old: &str) -> Result<bool, AccountError> {
    let verified = state.hasher.verify(old, Some(&user.password)).await?;
    Ok(verified.matches)
}

/// Django's `validate_password` of the new password against the user: its messages.
pub fn new_password_errors(state: &State, user: &User, new: &str) -> Vec<String> {
    let attributes = UserAttributes {
        username: &user.username,
        first_name: &user.first_name,
        last_name: &user.last_name,
        email: &user.email,
    };
    match state.settings.accounts.password_policy.validate(new, &attributes) {
        Ok(()) => Vec::new(),
        Err(messages) => messages,
    }
}

/// `POST /api/me/password/` once the old password matched and the new one passed the
/// policy: the new hash, every other session of the user revoked (their tokens blacklisted)
/// and a `password_changed` event, in one transaction, answered with a fresh pair issued
/// under the new hash (so that `check_revoke_token` fingerprints follow it). As Django's
/// `update_session_auth_hash` keeps the current session, the pair continues the session of
/// the calling token (`sid`), whose earlier tokens are blacklisted; a token without a
/// session (issued before sessions were kept) gets a new one, every earlier one revoked.
pub async fn change_password(
    state: &State,
    user: &User,
    new: &str,
    sid: Option<&str>,
) -> Result<TokenPair, AccountError> {
    let hash = state.hasher.hash(new).await?;
    let mut event = own_event(EventType::PasswordChanged, user);
    event.session = sid.map(str::to_owned);
    let events = [event];
    let changed = User {
        password: hash.clone(),
        ..user.clone()
    };
    if let Some((pair, fresh)) = sid.and_then(|sid| serializers::pair_in_session(state, &changed, sid)) {
        let done = state
            .store
            .set_password_keeping_session(user.id, &hash, &fresh, &Expected::default(), &events)
            .await?;
        return match done {
            Guarded::Done(true) => {
                crate::tokens::audit::written(Some(&state.audit_counts), &events);
                Ok(pair)
            }
            // Revoked since the token was checked: as authentication would now answer.
            Guarded::Done(false) => Err(AccountError::Auth(AuthError::NoValidTokenType(
                state
                    .settings
                    .tokens
                    .auth_token_classes
                    .iter()
                    .map(|class| (*class, TokenError::Blacklisted))
                    .collect(),
            ))),
            Guarded::NotFound | Guarded::Unexpected(_) => Err(AccountError::Auth(AuthError::UserNotFound)),
        };
    }
    // Every session: the caller's continues in a new one.
    let done = state
        .store
        .set_password_and_revoke(user.id, &hash, None, &Expected::default(), &events)
        .await?;
    if !matches!(done, Guarded::Done(_)) {
        return Err(AccountError::Auth(AuthError::UserNotFound));
    }
    crate::tokens::audit::written(Some(&state.audit_counts), &events);
    // The fresh pair is a new session, recorded without the request's metadata.
    Ok(serializers::issue_pair(state, &changed, &crate::tokens::audit::Client::NONE).await?)
}
