//! The admin API's changes and registration: Django's `UserManager.create_user`,
//! `set_password` and `set_unusable_password`, with DRF's `ModelSerializer` validation and
//! Django's password validation (`password_validators`).

use super::permissions::{Caller, check_access, check_grants, check_target, expected};
use super::validators::{USERNAME_TAKEN, email_errors, name_errors, username_errors};
use super::{AccountError, FieldMessages};
use crate::passwords::UserAttributes;
use crate::store::{
    EventType, Expected, Guarded, NewEvent, NewUser, StoreError, User, UserChanges, UserQuery, UserUpdate,
};
use crate::tokens::state::State;

/// The user serializer's writable fields as they came (`None`: not given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFields {
    pub username: Option<String>,
    pub password: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_active: Option<bool>,
    pub is_staff: Option<bool>,
    pub is_superuser: Option<bool>,
}

/// `POST /api/admin/users/{id}/password/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordChange {
    pub password: String,
    /// Keep the user's tokens (sessions) instead of blacklisting them.
    pub keep_sessions: bool,
}

/// `GET /api/admin/users/`: one page of users and the count.
pub async fn list(
    state: &State,
    caller: &Caller,
    query: &UserQuery,
) -> Result<(Vec<User>, i64), AccountError> {
    check_access(state, caller, false)?;
    Ok(state.store.search_users(query).await?)
}

pub async fn get(state: &State, caller: &Caller, id: i64) -> Result<User, AccountError> {
    check_access(state, caller, false)?;
    find(state, id).await
}

async fn find(state: &State, id: i64) -> Result<User, AccountError> {
    state.store.user_by_id(id).await?.ok_or(AccountError::NoSuchUser)
}

/// Validates the fields given (and, for a new user, the required username): Django's and
/// DRF's messages, the unique username included.
pub(super) async fn check_fields(
    state: &State,
    fields: &UserFields,
    errors: &mut FieldMessages,
    current: Option<&User>,
) -> Result<(), AccountError> {
    if let Some(name) = &fields.username {
        let mut messages = username_errors(name);
        if messages.is_empty()
            && current.is_none_or(|u| u.username != *name)
            && state.store.user_by_username(name).await?.is_some()
        {
            messages.push(USERNAME_TAKEN.into());
        }
        errors.extend("username", messages);
    } else if current.is_none() && !errors.0.iter().any(|(f, _)| *f == "username") {
        errors.add("username", "This field is required.");
    }
    if let Some(email) = &fields.email {
        errors.extend("email", email_errors(email));
    }
    for (field, value) in [
        ("first_name", &fields.first_name),
        ("last_name", &fields.last_name),
    ] {
        if let Some(value) = value {
            errors.extend(field, name_errors(value));
        }
    }
    Ok(())
}

/// Django's `validate_password` against the user as it will be: errors under `password`.
fn check_password(state: &State, password: &str, user: &UserAttributes<'_>) -> Result<(), AccountError> {
    let mut errors = FieldMessages::default();
    if let Err(messages) = state.settings.accounts.password_policy.validate(password, user) {
        errors.extend("password", messages);
    }
    errors.into_result()
}

/// A taken username found by the database after the check (two creations at once).
fn taken(e: StoreError) -> AccountError {
    match e {
        StoreError::Conflict(_) => {
            let mut errors = FieldMessages::default();
            errors.add("username", USERNAME_TAKEN);
            AccountError::Invalid(errors)
        }
        other => other.into(),
    }
}

/// The event of a change, by `caller`, about `user`.
fn event(kind: EventType, caller: Option<&Caller>, user: &User) -> NewEvent {
    let mut e = NewEvent::new(kind).user(user);
    e.actor_id = caller.and_then(Caller::user_id);
    if let Some(Caller::Client { client_id, .. }) = caller {
        e.detail = Some(serde_json::json!({ "client": client_id }));
    }
    e
}

/// A guarded change's outcome: the row changed under a staff member's feet (made a
/// superuser meanwhile) refuses the change as the check would have.
fn guarded<T>(outcome: Guarded<T>) -> Result<T, AccountError> {
    match outcome {
        Guarded::Done(t) => Ok(t),
        Guarded::NotFound => Err(AccountError::NoSuchUser),
        Guarded::Unexpected(_) => Err(AccountError::Forbidden),
    }
}

/// `POST /api/admin/users/`: without a password the user gets an unusable one.
pub async fn create(
    state: &State,
    caller: &Caller,
    fields: UserFields,
    mut errors: FieldMessages,
) -> Result<User, AccountError> {
    check_access(state, caller, true)?;
    check_grants(caller, fields.is_staff, fields.is_superuser, None)?;
    check_fields(state, &fields, &mut errors, None).await?;
    errors.into_result()?;
    let is_active = fields.is_active.unwrap_or(true);
    insert(state, Some(caller), fields, is_active).await
}

/// `POST /api/register/` (`registration = true`): an ordinary user, active as
/// `registration_active` says, with a password that passes the policy.
pub async fn register(
    state: &State,
    mut fields: UserFields,
    mut errors: FieldMessages,
) -> Result<User, AccountError> {
    if fields.password.is_none() && !errors.0.iter().any(|(f, _)| *f == "password") {
        errors.add("password", "This field is required.");
    }
    fields.is_staff = None;
    fields.is_superuser = None;
    check_fields(state, &fields, &mut errors, None).await?;
    errors.into_result()?;
    let is_active = state.settings.accounts.registration_active;
    insert(state, None, fields, is_active).await
}

async fn insert(
    state: &State,
    caller: Option<&Caller>,
    fields: UserFields,
    is_active: bool,
) -> Result<User, AccountError> {
    let mut new = NewUser {
        username: fields.username.unwrap_or_default(),
        password: String::new(),
        email: fields.email.unwrap_or_default(),
        first_name: fields.first_name.unwrap_or_default(),
        last_name: fields.last_name.unwrap_or_default(),
        is_active,
        is_staff: fields.is_staff.unwrap_or(false),
        is_superuser: fields.is_superuser.unwrap_or(false),
    };
    new.password = match &fields.password {
        Some(password) => {
            check_password(state, password, &attributes(&new))?;
            state.hasher.hash(password).await?
        }
        None => UNUSABLE.to_string(),
    };
    let mut events = Vec::new();
    let user = state
        .store
        .create_user_audited(&new, |user| {
            events = vec![event(EventType::UserCreated, caller, user)];
            events.clone()
        })
        .await
        .map_err(taken)?;
    crate::tokens::audit::written(Some(&state.audit_counts), &events);
    if fields.password.is_none() {
        // Django's `make_password(None)`: the store writes the random part.
        let done = state
            .store
            .set_unusable_password(user.id, &Expected::default(), &[])
            .await?;
        guarded(done)?;
        return Ok(state.store.user_by_id(user.id).await?.unwrap_or(user));
    }
    Ok(user)
}

/// A placeholder no password matches, replaced at once by Django's random unusable one.
const UNUSABLE: &str = "!";

fn attributes(u: &NewUser) -> UserAttributes<'_> {
    UserAttributes {
        username: &u.username,
        first_name: &u.first_name,
        last_name: &u.last_name,
        email: &u.email,
    }
}

/// `PATCH /api/admin/users/{id}/`: the fields given; the password has its own endpoint.
pub async fn update(
    state: &State,
    caller: &Caller,
    id: i64,
    fields: UserFields,
    mut errors: FieldMessages,
) -> Result<User, AccountError> {
    check_access(state, caller, true)?;
    let current = find(state, id).await?;
    check_target(caller, &current)?;
    check_grants(caller, fields.is_staff, fields.is_superuser, Some(&current))?;
    check_fields(state, &fields, &mut errors, Some(&current)).await?;
    errors.into_result()?;
    let changes = UserChanges {
        username: fields.username,
        email: fields.email,
        first_name: fields.first_name,
        last_name: fields.last_name,
        is_active: fields.is_active,
        is_staff: fields.is_staff,
        is_superuser: fields.is_superuser,
    };
    let events = [event(EventType::UserUpdated, Some(caller), &current)];
    match state
        .store
        .update_user(id, &changes, &expected(caller, &current), &events)
        .await?
    {
        UserUpdate::Updated(user) => {
            crate::tokens::audit::written(Some(&state.audit_counts), &events);
            Ok(user)
        }
        UserUpdate::NotFound => Err(AccountError::NoSuchUser),
        UserUpdate::Unexpected(_) => Err(AccountError::Forbidden),
        UserUpdate::UsernameTaken => Err(taken(StoreError::Conflict(String::new()))),
    }
}

/// `DELETE /api/admin/users/{id}/`: the user goes, and every token of theirs is blacklisted.
pub async fn delete(state: &State, caller: &Caller, id: i64) -> Result<(), AccountError> {
    check_access(state, caller, true)?;
    let current = find(state, id).await?;
    check_target(caller, &current)?;
    let events = [event(EventType::UserDeleted, Some(caller), &current)];
    let done = state
        .store
        .delete_user_and_tokens(id, &expected(caller, &current), &events)
        .await?;
    if matches!(done, Guarded::Done(_)) {
        crate::tokens::audit::written(Some(&state.audit_counts), &events);
    }
    guarded(done).map(|_| ())
}

/// `POST /api/admin/users/{id}/password/`: Django's `set_password` after the policy; the
/// user is logged out everywhere unless `keep_sessions`.
pub async fn set_password(
    state: &State,
    caller: &Caller,
    id: i64,
    change: Result<PasswordChange, FieldMessages>,
) -> Result<(), AccountError> {
    check_access(state, caller, true)?;
    let current = find(state, id).await?;
    check_target(caller, &current)?;
    let change = change.map_err(AccountError::Invalid)?;
    let attributes = UserAttributes {
        username: &current.username,
        first_name: &current.first_name,
        last_name: &current.last_name,
        email: &current.email,
    };
    check_password(state, &change.password, &attributes)?;
    let hash = state.hasher.hash(&change.password).await?;
    let events = [event(EventType::PasswordChanged, Some(caller), &current)];
    let expected = expected(caller, &current);
    let done = if change.keep_sessions {
        // No session ends: the password alone changes.
        match state.store.set_password_audited(id, &hash, &events).await? {
            true => Guarded::Done(()),
            false => Guarded::NotFound,
        }
    } else {
        match state
            .store
            .set_password_and_revoke(id, &hash, None, &expected, &events)
            .await?
        {
            Guarded::Done(_) => Guarded::Done(()),
            Guarded::NotFound => Guarded::NotFound,
            Guarded::Unexpected(u) => Guarded::Unexpected(u),
        }
    };
    if matches!(done, Guarded::Done(_)) {
        crate::tokens::audit::written(Some(&state.audit_counts), &events);
    }
    guarded(done)
}

/// `POST /api/admin/users/{id}/set-unusable-password/`: no password logs the user in any
/// more; their tokens are blacklisted.
pub async fn set_unusable_password(state: &State, caller: &Caller, id: i64) -> Result<(), AccountError> {
    check_access(state, caller, true)?;
    let current = find(state, id).await?;
    check_target(caller, &current)?;
    let events = [event(EventType::PasswordChanged, Some(caller), &current)];
    let done = state
        .store
        .set_unusable_password(id, &expected(caller, &current), &events)
        .await?;
    if matches!(done, Guarded::Done(_)) {
        crate::tokens::audit::written(Some(&state.audit_counts), &events);
    }
    guarded(done).map(|_| ())
}
