//! TEMPORARY (issue 19): the queries the admin API needs until the `accounts` branch lands
//! its own in `users.rs` (`search_users`, `update_user`, `delete_user_and_tokens`, …); then
//! this file goes.

use super::users::User;
use super::{Database, Reason, Result};

/// What `GET /api/admin/users/` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Every whitespace-separated term must occur (case-insensitively) in the username,
    /// e-mail address, first or last name.
    pub search: Vec<String>,
    pub is_active: Option<bool>,
    pub is_staff: Option<bool>,
    /// Fields and whether descending; the id breaks ties.
    pub ordering: Vec<(UserOrder, bool)>,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserOrder {
    Id,
    Username,
    DateJoined,
    LastLogin,
}

/// Changes to a user; `None` leaves a field as it is.
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

enum Bind {
    Bool(bool),
    Text(String),
    Int(i64),
}

/// `%`, `_` and `\` taken literally in a LIKE pattern with `ESCAPE '\'`.
fn like_pattern(term: &str) -> String {
    let mut p = String::from("%");
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl UserQuery {
    /// The WHERE clause (only fixed text; the values are bound) and its values.
    fn filter(&self) -> (String, Vec<Bind>) {
        let mut sql = String::from(" WHERE 1 = 1");
        let mut binds = Vec::new();
        for (column, value) in [("is_active", self.is_active), ("is_staff", self.is_staff)] {
            if let Some(v) = value {
                binds.push(Bind::Bool(v));
                sql.push_str(&format!(" AND {column} = ${}", binds.len()));
            }
        }
        for term in &self.search {
            binds.push(Bind::Text(like_pattern(term)));
            let n = binds.len();
            let any: Vec<String> = ["username", "email", "first_name", "last_name"]
                .iter()
                .map(|c| format!("lower({c}) LIKE ${n} ESCAPE '\\'"))
                .collect();
            sql.push_str(&format!(" AND ({})", any.join(" OR ")));
        }
        (sql, binds)
    }

    fn order_by(&self) -> String {
        let mut parts = Vec::new();
        for (field, desc) in &self.ordering {
            let dir = if *desc { "DESC" } else { "ASC" };
            match field {
                UserOrder::Id => parts.push(format!("id {dir}")),
                UserOrder::Username => parts.push(format!("username {dir}")),
                UserOrder::DateJoined => parts.push(format!("date_joined {dir}")),
                // As Postgres (and so Django on it) orders: no login last, or first when
                // descending, on both databases.
                UserOrder::LastLogin => parts.push(format!("(last_login IS NULL) {dir}, last_login {dir}")),
            }
        }
        parts.push("id ASC".into());
        format!(" ORDER BY {}", parts.join(", "))
    }
}

impl Database {
    /// One page of users and how many match in all.
    pub async fn search_users(&self, q: &UserQuery) -> Result<(Vec<User>, i64)> {
        let (filter, binds) = q.filter();
        let count_sql = format!("SELECT COUNT(*) FROM users{filter}");
        let n = binds.len();
        let page_sql = format!(
            "SELECT {} FROM users{filter}{} LIMIT ${} OFFSET ${}",
            user_columns!(),
            q.order_by(),
            n + 1,
            n + 2
        );
        let total: i64 = on_pool!(self, read, |db| {
            let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql.clone()));
            for b in &binds {
                query = match b {
                    Bind::Bool(v) => query.bind(*v),
                    Bind::Text(s) => query.bind(s.clone()),
                    Bind::Int(i) => query.bind(*i),
                };
            }
            query.fetch_one(db).await?
        })
        .await?;
        if q.limit == 0 {
            return Ok((Vec::new(), total));
        }
        let users: Vec<User> = on_pool!(self, read, |db| {
            let mut query = sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(page_sql.clone()));
            for b in binds.iter().chain([&Bind::Int(q.limit), &Bind::Int(q.offset)]) {
                query = match b {
                    Bind::Bool(v) => query.bind(*v),
                    Bind::Text(s) => query.bind(s.clone()),
                    Bind::Int(i) => query.bind(*i),
                };
            }
            query.fetch_all(db).await?
        })
        .await?;
        Ok((users, total))
    }

    /// Changes the given fields only, so that two admins changing different fields of one
    /// user at once both keep their change; `None` when there is no such user.
    pub async fn update_user(&self, id: i64, c: &UserChanges) -> Result<Option<User>> {
        const UPDATE: &str = concat!(
            "UPDATE users SET username = COALESCE($1, username), email = COALESCE($2, email), \
             first_name = COALESCE($3, first_name), last_name = COALESCE($4, last_name), \
             is_active = COALESCE($5, is_active), is_staff = COALESCE($6, is_staff), \
             is_superuser = COALESCE($7, is_superuser) WHERE id = $8 RETURNING ",
            user_columns!()
        );
        let done = on_pool!(self, write, |db| {
            sqlx::query_as::<_, User>(UPDATE)
                .bind(&c.username)
                .bind(&c.email)
                .bind(&c.first_name)
                .bind(&c.last_name)
                .bind(c.is_active)
                .bind(c.is_staff)
                .bind(c.is_superuser)
                .bind(id)
                .fetch_optional(db)
                .await?
        });
        let result = self.wrote(done.await);
        self.forget_user(id);
        result
    }

    /// Blacklists every token of the user, then deletes it. (Two statements until the
    /// `accounts` branch's one transaction replaces this.)
    pub async fn delete_user_and_tokens(&self, id: i64) -> Result<bool> {
        self.blacklist_user(id, Reason::Revoke).await?;
        self.delete_user(id).await
    }

    /// Sets the password hash and, unless `keep_sessions`, blacklists the user's tokens.
    pub async fn set_password_and_revoke(&self, id: i64, hash: &str, keep_sessions: bool) -> Result<bool> {
        let found = self.set_password(id, hash).await?;
        if found && !keep_sessions {
            self.blacklist_user(id, Reason::Revoke).await?;
        }
        Ok(found)
    }
}
