//! The `users` table. One SQL text per query serves both databases (see `on_pool!`); the
//! import, which writes many users in one transaction, is in `import.rs`.

use time::OffsetDateTime;

use super::audit::insert_events;
use super::{Database, NewEvent, Result, now};

/// A user, with Django's `auth_user` fields.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    /// The password hash (a PHC string, or a Django hash string after an import).
    pub password: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub last_login: Option<OffsetDateTime>,
    pub date_joined: OffsetDateTime,
    /// When an import last gave this id (or username) to someone else (`--replace`, or a
    /// renamed user): tokens issued before name the previous holder and are refused.
    pub replaced_at: Option<OffsetDateTime>,
}

impl User {
    /// Django's `has_usable_password`: false for the unusable passwords Django writes
    /// (`!` and random characters), which never verify.
    pub fn has_usable_password(&self) -> bool {
        !self.password.starts_with('!')
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
}

const CREATE: &str = concat!(
    "INSERT INTO users (username, password, email, first_name, last_name, is_active, is_staff, \
     is_superuser, date_joined) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
    user_columns!()
);
const BY_ID: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
const BY_USERNAME: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE username = $1");
const LIST: &str = concat!("SELECT ", user_columns!(), " FROM users ORDER BY id");
/// One hash per distinct beginning (algorithm, work factors and the first salt characters),
/// so that every kind present is likely among them; the caller keeps one per kind.
/// A stored hash of the next kind (algorithm and cost, in its first 24 characters) after
/// `$1`: read off the partial index `users_legacy_hash_kind`, whose condition this repeats
/// word for word (SQLite uses a partial index only then), one index probe per kind.
const NEXT_LEGACY_HASH: &str = "SELECT password FROM users \
     WHERE password NOT LIKE '$argon2id$%' AND password NOT LIKE '!%' AND password <> '' \
     AND substr(password, 1, 24) > $1 ORDER BY substr(password, 1, 24) LIMIT 1";
/// Kinds read at most.
const LEGACY_KINDS: usize = 64;

/// Sets the user `$2`'s password hash to `$1`.
pub(super) const SET_PASSWORD: &str = "UPDATE users SET password = $1 WHERE id = $2";

impl Database {
    pub async fn create_user(&self, u: &NewUser) -> Result<User> {
        self.wrote(
            on_pool!(self, write, |db| {
                bind_user_fields!(sqlx::query_as::<_, User>(CREATE), u)
                    .bind(now())
                    .fetch_one(db)
                    .await?
            })
            .await,
        )
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let read = || {
            on_pool!(self, read, |db| sqlx::query_as(BY_ID)
                .bind(id)
                .fetch_optional(db)
                .await?)
        };
        let Some(cache) = &self.cache else {
            return read().await;
        };
        if let Some(user) = cache.user(id) {
            return Ok(Some(user));
        }
        let generation = cache.users_generation();
        let user = read().await?;
        if let Some(user) = &user {
            cache.put_user(user, generation);
        }
        Ok(user)
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        on_pool!(self, read, |db| {
            sqlx::query_as(BY_USERNAME)
                .bind(username)
                .fetch_optional(db)
                .await?
        })
        .await
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        on_pool!(self, read, |db| sqlx::query_as(LIST).fetch_all(db).await?).await
    }

    /// A sample of the stored hashes other than jwtd's own argon2id (imported ones, not yet
    /// upgraded by a login), unusable ones aside, covering the kinds present: what the
    /// hasher learns their cost from.
    pub async fn legacy_password_hashes(&self) -> Result<Vec<String>> {
        let mut hashes: Vec<String> = Vec::new();
        while hashes.len() < LEGACY_KINDS {
            let after = hashes
                .last()
                .map_or(String::new(), |h| h.chars().take(24).collect());
            let next: Option<String> = on_pool!(self, read, |db| {
                sqlx::query_scalar(NEXT_LEGACY_HASH)
                    .bind(after)
                    .fetch_optional(db)
                    .await?
            })
            .await?;
            match next {
                Some(hash) => hashes.push(hash),
                None => break,
            }
        }
        Ok(hashes)
    }

    pub async fn set_password(&self, id: i64, hash: &str) -> Result<bool> {
        let done = on_pool!(self, write, |db| {
            sqlx::query(SET_PASSWORD)
                .bind(hash)
                .bind(id)
                .execute(db)
                .await?
                .rows_affected()
        });
        let result = self.wrote(done.await);
        self.forget_user(id);
        result.map(|rows| rows == 1)
    }

    /// Sets the password hash only if it is still `old`: a rehash at login, which must not
    /// overwrite what a concurrent login or password change stored.
    pub async fn replace_password(&self, id: i64, old: &str, new: &str) -> Result<bool> {
        let done = on_pool!(self, write, |db| {
            sqlx::query("UPDATE users SET password = $1 WHERE id = $2 AND password = $3")
                .bind(new)
                .bind(id)
                .bind(old)
                .execute(db)
                .await?
                .rows_affected()
        });
        let result = self.wrote(done.await);
        self.forget_user(id);
        result.map(|rows| rows == 1)
    }

    pub async fn set_active(&self, id: i64, active: bool) -> Result<bool> {
        let done = on_pool!(self, write, |db| {
            sqlx::query("UPDATE users SET is_active = $1 WHERE id = $2")
                .bind(active)
                .bind(id)
                .execute(db)
                .await?
                .rows_affected()
        });
        let result = self.wrote(done.await);
        self.forget_user(id);
        result.map(|rows| rows == 1)
    }

    pub async fn set_last_login(&self, id: i64, at: OffsetDateTime) -> Result<()> {
        let done = on_pool!(self, write, |db| {
            sqlx::query("UPDATE users SET last_login = $1 WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(db)
                .await?;
        });
        let result = self.wrote(done.await);
        self.forget_user(id);
        result
    }

    pub async fn delete_user(&self, id: i64) -> Result<bool> {
        let done = on_pool!(self, write, |db| {
            sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(id)
                .execute(db)
                .await?
                .rows_affected()
        });
        let result = self.wrote(done.await);
        self.forget_user(id);
        result.map(|rows| rows == 1)
    }

    /// `create_user` with the events `events` makes of the new user (`user_created`), in
    /// one transaction. A taken username is `StoreError::Conflict`.
    pub async fn create_user_audited(
        &self,
        u: &NewUser,
        events: impl FnOnce(&User) -> Vec<NewEvent>,
    ) -> Result<User> {
        let done = in_transaction!(self, |tx| {
            let user = bind_user_fields!(sqlx::query_as::<_, User>(CREATE), u)
                .bind(now())
                .fetch_one(&mut *tx)
                .await?;
            insert_events!(tx, &events(&user));
            tx.commit().await?;
            user
        });
        self.wrote(done.await)
    }

    /// `set_password` with `events`, in one transaction; none are written without the user.
    pub async fn set_password_audited(&self, id: i64, hash: &str, events: &[NewEvent]) -> Result<bool> {
        self.update_audited(SET_PASSWORD, hash, id, events).await
    }

    /// `set_active` with `events`, in one transaction; none are written without the user.
    pub async fn set_active_audited(&self, id: i64, active: bool, events: &[NewEvent]) -> Result<bool> {
        self.update_audited(
            "UPDATE users SET is_active = $1 WHERE id = $2",
            active,
            id,
            events,
        )
        .await
    }

    async fn update_audited<T>(
        &self,
        sql: &'static str,
        value: T,
        id: i64,
        events: &[NewEvent],
    ) -> Result<bool>
    where
        T: Copy
            + Send
            + Sync
            + for<'q> sqlx::Encode<'q, sqlx::Sqlite>
            + sqlx::Type<sqlx::Sqlite>
            + for<'q> sqlx::Encode<'q, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>,
    {
        let done = in_transaction!(self, |tx| {
            let rows = sqlx::query(sql)
                .bind(value)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if rows == 0 {
                return Ok(false);
            }
            insert_events!(tx, events);
            tx.commit().await?;
            true
        });
        let result = self.wrote(done.await);
        self.forget_user(id);
        result
    }
}
