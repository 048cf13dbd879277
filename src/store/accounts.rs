//! Changes to a user account that an admin or the user makes (the admin API and the
//! self-service endpoints), each in one transaction with the events that record it: an
//! update of the user's fields, a password change that ends sessions, deleting a user with
//! their tokens. Each first reads the user's row under a lock (Postgres: `FOR UPDATE`,
//! which also holds off a login recording a token for the user meanwhile; SQLite: the write
//! lock) and checks it against what the caller expects (`Expected`), so that a rule decided
//! on a row read earlier — staff may not touch a superuser — still holds when the write
//! lands. A change that revokes the user's sessions locks their tokens' and sessions' rows
//! before the user's (`lock_user_sessions_sql`), in a rotation's order, so that a refresh
//! racing it is neither deadlocked nor left live. Written once for both databases
//! (`in_transaction!`).

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use super::audit::insert_events;
use super::sessions::{continue_session, revoke_user_sessions};
use super::{Database, NewEvent, OutstandingToken, Pool, Reason, Result, Revoked, StoreError, User};

/// What the caller expects of the user's row when the write lands; `None`: anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expected {
    pub is_superuser: Option<bool>,
    pub is_staff: Option<bool>,
}

impl Expected {
    fn holds(&self, user: &User) -> bool {
        self.is_superuser.is_none_or(|s| s == user.is_superuser)
            && self.is_staff.is_none_or(|s| s == user.is_staff)
    }
}

/// The fields `update_user` sets; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_active: Option<bool>,
    pub is_staff: Option<bool>,
    pub is_superuser: Option<bool>,
}

/// The outcome of a change guarded by `Expected`. Only `Done` wrote anything (events
/// included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guarded<T> {
    Done(T),
    NotFound,
    /// The row did not hold what was expected of it; here it is as it is.
    Unexpected(Box<User>),
}

/// The outcome of `update_user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserUpdate {
    Updated(User),
    NotFound,
    Unexpected(Box<User>),
    /// Another user has the username (Django: "A user with that username already exists.").
    UsernameTaken,
}

/// Django's `UNUSABLE_PASSWORD_PREFIX` and `UNUSABLE_PASSWORD_SUFFIX_LENGTH`.
const UNUSABLE_PREFIX: char = '!';
const UNUSABLE_SUFFIX_LEN: usize = 40;

/// An unusable password as Django's `make_password(None)` writes it: `!` and 40 random
/// letters and digits. No hasher parses it, so no password ever matches it.
fn unusable_password() -> Result<String> {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let rng = SystemRandom::new();
    let mut out = String::with_capacity(1 + UNUSABLE_SUFFIX_LEN);
    out.push(UNUSABLE_PREFIX);
    let mut bytes = [0u8; 64];
    while out.len() < 1 + UNUSABLE_SUFFIX_LEN {
        rng.fill(&mut bytes)
            .map_err(|_| StoreError::Other("no randomness".into()))?;
        // Bytes past the largest multiple of 62 are skipped, so that every character is as
        // likely as the others.
        for b in bytes.iter().filter(|b| **b < 248) {
            if out.len() == 1 + UNUSABLE_SUFFIX_LEN {
                break;
            }
            out.push(CHARS[(*b % 62) as usize] as char);
        }
    }
    Ok(out)
}

/// Reads the user `$id` under a lock in `$tx` (`$lock`: see `lock_user_sql`) and checks it
/// against `$expected`: returns from the transaction's body (rolling it back) with
/// `$not_found` or `$unexpected(user)` unless it holds; else yields the user.
macro_rules! locked_user {
    ($tx:ident, $lock:expr, $id:expr, $expected:expr, $not_found:expr, $unexpected:expr) => {{
        let user: Option<User> = sqlx::query_as($lock).bind($id).fetch_optional(&mut *$tx).await?;
        match user {
            None => return Ok($not_found),
            Some(user) if !$expected.holds(&user) => return Ok($unexpected(Box::new(user))),
            Some(user) => user,
        }
    }};
}

/// In the transaction `$tx`: the user `$id`'s tokens and sessions locked, then their row
/// (the order `lock_user_sessions_sql` explains), `$expected` checked (else the function
/// returns `NotFound`/`Unexpected`), and the password hash set to `$hash`.
macro_rules! set_password_locked {
    ($tx:ident, $lock:expr, $lock_sessions:expr, $id:expr, $hash:expr, $expected:expr) => {{
        for &sql in $lock_sessions {
            sqlx::query(sql).bind($id).execute(&mut *$tx).await?;
        }
        locked_user!($tx, $lock, $id, $expected, Guarded::NotFound, Guarded::Unexpected);
        sqlx::query(super::users::SET_PASSWORD)
            .bind($hash)
            .bind($id)
            .execute(&mut *$tx)
            .await?;
    }};
}

impl Database {
    fn lock_user_sql(&self) -> &'static str {
        match &self.pool {
            Pool::Sqlite { .. } => concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"),
            Pool::Postgres(_) => concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1 FOR UPDATE"),
        }
    }

    /// Reads the user `$1`'s id under a lock that a deletion's `FOR UPDATE` excludes but
    /// other share locks do not (Postgres `FOR KEY SHARE`, as a foreign key's check takes;
    /// SQLite: the transaction's write lock).
    pub(super) fn share_user_sql(&self) -> &'static str {
        match &self.pool {
            Pool::Sqlite { .. } => "SELECT id FROM users WHERE id = $1",
            Pool::Postgres(_) => "SELECT id FROM users WHERE id = $1 FOR KEY SHARE",
        }
    }

    /// Sets the fields `changes` gives, if the user holds `expected`, with `events`, in one
    /// transaction.
    pub async fn update_user(
        &self,
        id: i64,
        changes: &UserChanges,
        expected: &Expected,
        events: &[NewEvent],
    ) -> Result<UserUpdate> {
        let lock = self.lock_user_sql();
        let done = in_transaction!(self, |tx| {
            locked_user!(
                tx,
                lock,
                id,
                expected,
                UserUpdate::NotFound,
                UserUpdate::Unexpected
            );
            let updated = sqlx::query_as::<_, User>(concat!(
                "UPDATE users SET username = COALESCE($2, username), email = COALESCE($3, email), \
                 first_name = COALESCE($4, first_name), last_name = COALESCE($5, last_name), \
                 is_active = COALESCE($6, is_active), is_staff = COALESCE($7, is_staff), \
                 is_superuser = COALESCE($8, is_superuser) WHERE id = $1 RETURNING ",
                user_columns!()
            ))
            .bind(id)
            .bind(changes.username.as_deref())
            .bind(changes.email.as_deref())
            .bind(changes.first_name.as_deref())
            .bind(changes.last_name.as_deref())
            .bind(changes.is_active)
            .bind(changes.is_staff)
            .bind(changes.is_superuser)
            .fetch_one(&mut *tx)
            .await;
            let user = match updated.map_err(StoreError::from) {
                Ok(user) => user,
                // The one unique column the update sets.
                Err(StoreError::Conflict(_)) => return Ok(UserUpdate::UsernameTaken),
                Err(e) => return Err(e),
            };
            insert_events!(tx, events);
            tx.commit().await?;
            UserUpdate::Updated(user)
        });
        let result = self.wrote(done.await);
        self.forget_user(id);
        result
    }

    /// Deletes the user, if they hold `expected`, after revoking every session of theirs and
    /// blacklisting every unexpired token of theirs (which deleting would leave without a
    /// user: `outstanding_tokens.user_id` is set to NULL), with `events`, in one transaction.
    pub async fn delete_user_and_tokens(
        &self,
        id: i64,
        expected: &Expected,
        events: &[NewEvent],
    ) -> Result<Guarded<Revoked>> {
        let lock = self.lock_user_sql();
        let lock_sessions = self.lock_user_sessions_sql();
        let done = in_transaction!(self, |tx| {
            for &sql in lock_sessions {
                sqlx::query(sql).bind(id).execute(&mut *tx).await?;
            }
            locked_user!(tx, lock, id, expected, Guarded::NotFound, Guarded::Unexpected);
            let revoked = revoke_user_sessions!(tx, id, None::<&str>, Reason::Revoke);
            insert_events!(tx, events);
            sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Guarded::Done(revoked)
        });
        let result = self.wrote(done.await);
        self.forget_user(id);
        self.forget_tokens();
        result
    }

    /// Sets the password hash, if the user holds `expected`, and revokes every session of
    /// theirs but `keep` (all of them with `None`), blacklisting their tokens, with
    /// `events`, in one transaction: a password change that logs the user out everywhere,
    /// or everywhere but here.
    pub async fn set_password_and_revoke(
        &self,
        id: i64,
        hash: &str,
        keep: Option<&str>,
        expected: &Expected,
        events: &[NewEvent],
    ) -> Result<Guarded<Revoked>> {
        let lock = self.lock_user_sql();
        let lock_sessions = self.lock_user_sessions_sql();
        let done = in_transaction!(self, |tx| {
            set_password_locked!(tx, lock, lock_sessions, id, hash, expected);
            let revoked = revoke_user_sessions!(tx, id, keep, Reason::Revoke);
            insert_events!(tx, events);
            tx.commit().await?;
            Guarded::Done(revoked)
        });
        let result = self.wrote(done.await);
        self.forget_user(id);
        self.forget_tokens();
        result
    }

    /// Sets the password hash, if the user holds `expected`, and revokes every session of
    /// theirs but the one `fresh` continues (`fresh.family`), blacklisting their tokens;
    /// that session's earlier tokens, issued under the old password, are blacklisted too and
    /// `fresh` recorded in it — Django's `update_session_auth_hash`. With `events`, in one
    /// transaction. `Done(false)`, and nothing written, when that session is no longer
    /// active (revoked or expired meanwhile).
    pub async fn set_password_keeping_session(
        &self,
        id: i64,
        hash: &str,
        fresh: &OutstandingToken,
        expected: &Expected,
        events: &[NewEvent],
    ) -> Result<Guarded<bool>> {
        let lock = self.lock_user_sql();
        let lock_sessions = self.lock_user_sessions_sql();
        let keep = fresh.family.as_deref().unwrap_or(&fresh.jti);
        let done = in_transaction!(self, |tx| {
            set_password_locked!(tx, lock, lock_sessions, id, hash, expected);
            revoke_user_sessions!(tx, id, Some(keep), Reason::Revoke);
            if !continue_session!(tx, id, fresh) {
                return Ok(Guarded::Done(false));
            }
            insert_events!(tx, events);
            tx.commit().await?;
            Guarded::Done(true)
        });
        let result = self.wrote(done.await);
        self.forget_user(id);
        self.forget_tokens();
        result
    }

    /// Gives the user an unusable password (Django's `set_unusable_password`), if they hold
    /// `expected`, and revokes all their sessions, as any change of the password hash ends
    /// a user's Django sessions; with `events`, in one transaction.
    pub async fn set_unusable_password(
        &self,
        id: i64,
        expected: &Expected,
        events: &[NewEvent],
    ) -> Result<Guarded<Revoked>> {
        let hash = unusable_password()?;
        self.set_password_and_revoke(id, &hash, None, expected, events)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_passwords_are_djangos_and_never_verify() {
        let a = unusable_password().unwrap();
        let b = unusable_password().unwrap();
        assert_ne!(a, b);
        for p in [&a, &b] {
            assert_eq!(p.len(), 41);
            assert!(p.starts_with('!'));
            assert!(p[1..].chars().all(|c| c.is_ascii_alphanumeric()), "{p}");
            assert!(!crate::passwords::is_verifiable(p));
        }
    }
}
