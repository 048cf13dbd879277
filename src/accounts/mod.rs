//! Users managed over HTTP — Django's `auth` and its admin, beyond Simple JWT: who may manage
//! whom (`permissions`), Django's field validators (`validators`), and the changes
//! themselves (`admin`: the admin API and registration; `me`: a user's own account;
//! `sessions`: the admin API's view of any user's sessions and of the audit trail).
//!
//! A module of its own beside `tokens` rather than inside it: `tokens` is Simple JWT's
//! concepts (token classes, their backend and serializers), and managing users is Django's
//! `auth` concept, which the CLI shares (the validators) without any token. It uses `tokens`
//! (the state, the hasher) and `store`; neither uses it.

pub mod admin;
pub mod me;
pub mod overview;
pub mod permissions;
pub mod sessions;
pub mod validators;

use crate::store::StoreError;
use crate::tokens::AuthError;

pub use admin::{PasswordChange, UserFields};
pub use permissions::Caller;

/// Why a change to users is refused. The HTTP layer maps each to DRF's answer.
#[derive(Debug)]
pub enum AccountError {
    /// DRF's `PermissionDenied`.
    Forbidden,
    /// Django's `get_object_or_404`: "No User matches the given query."
    NoSuchUser,
    /// No such active session: DRF's bare "Not found."
    NoSuchSession,
    /// A serializer's field errors, field by field in the serializer's order.
    Invalid(FieldMessages),
    /// The database or the password hasher failed.
    Auth(AuthError),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        AccountError::Auth(AuthError::Store(e))
    }
}

impl From<AuthError> for AccountError {
    fn from(e: AuthError) -> Self {
        AccountError::Auth(e)
    }
}

impl From<crate::passwords::PasswordError> for AccountError {
    fn from(e: crate::passwords::PasswordError) -> Self {
        AccountError::Auth(AuthError::Password(e))
    }
}

/// Field errors as DRF collects them: each field's messages, in field order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldMessages(pub Vec<(&'static str, Vec<String>)>);

/// The user serializers' field order, which the errors follow.
const FIELD_ORDER: [&str; 12] = [
    "username",
    "password",
    "email",
    "first_name",
    "last_name",
    "is_active",
    "is_staff",
    "is_superuser",
    "keep_sessions",
    "old_password",
    "new_password",
    "non_field_errors",
];

impl FieldMessages {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        match self.0.iter_mut().find(|(f, _)| *f == field) {
            Some((_, messages)) => messages.push(message.into()),
            None => {
                self.0.push((field, vec![message.into()]));
                self.0
                    .sort_by_key(|(f, _)| FIELD_ORDER.iter().position(|o| o == f).unwrap_or(usize::MAX));
            }
        }
    }

    pub fn extend(&mut self, field: &'static str, messages: Vec<String>) {
        for m in messages {
            self.add(field, m);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), AccountError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AccountError::Invalid(self))
        }
    }
}
