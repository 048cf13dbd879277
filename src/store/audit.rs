//! The `audit_events` table: security events, each written in the transaction of the change
//! it records (the methods that make such changes take the events to write with them, see
//! `insert_events!`), or alone by `record_event` for what changes nothing (a failed login).
//! One SQL text per query serves both databases.

use time::OffsetDateTime;

use super::{Batched, Database, Page, Result};

/// What happened. The names are the API's and the CLI's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    LoginSucceeded,
    LoginFailed,
    LockedOut,
    TokenRefreshed,
    RefreshReuseDetected,
    TokenBlacklisted,
    TokenRevoked,
    Logout,
    SessionRevoked,
    PasswordChanged,
    UserCreated,
    UserUpdated,
    UserDeleted,
    ImpersonationStarted,
}

impl EventType {
    pub const ALL: [EventType; 14] = [
        EventType::LoginSucceeded,
        EventType::LoginFailed,
        EventType::LockedOut,
        EventType::TokenRefreshed,
        EventType::RefreshReuseDetected,
        EventType::TokenBlacklisted,
        EventType::TokenRevoked,
        EventType::Logout,
        EventType::SessionRevoked,
        EventType::PasswordChanged,
        EventType::UserCreated,
        EventType::UserUpdated,
        EventType::UserDeleted,
        EventType::ImpersonationStarted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::LoginSucceeded => "login_succeeded",
            EventType::LoginFailed => "login_failed",
            EventType::LockedOut => "locked_out",
            EventType::TokenRefreshed => "token_refreshed",
            EventType::RefreshReuseDetected => "refresh_reuse_detected",
            EventType::TokenBlacklisted => "token_blacklisted",
            EventType::TokenRevoked => "token_revoked",
            EventType::Logout => "logout",
            EventType::SessionRevoked => "session_revoked",
            EventType::PasswordChanged => "password_changed",
            EventType::UserCreated => "user_created",
            EventType::UserUpdated => "user_updated",
            EventType::UserDeleted => "user_deleted",
            EventType::ImpersonationStarted => "impersonation_started",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Longest username kept in an event (Django's limit; a failed login's is as given).
pub const USERNAME_CHARS: usize = 150;
/// Longest user agent kept, in an event or a session: it is whatever the client sent.
pub const USER_AGENT_CHARS: usize = 512;

/// An event to write. `user_id` and `actor_id` are ids without foreign keys: the event
/// outlives them.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: EventType,
    pub at: OffsetDateTime,
    /// The user the event is about.
    pub user_id: Option<i64>,
    /// That user's name, or the name a failed login gave (cut to `USERNAME_CHARS`).
    pub username: Option<String>,
    /// Who did it, when not the user: an admin, an impersonator.
    pub actor_id: Option<i64>,
    pub ip_address: Option<String>,
    /// Cut to `USER_AGENT_CHARS`.
    pub user_agent: Option<String>,
    /// The session (token family) concerned.
    pub session: Option<String>,
    pub detail: Option<serde_json::Value>,
}

impl NewEvent {
    /// An event of `kind` now, about nobody yet.
    pub fn new(kind: EventType) -> NewEvent {
        NewEvent {
            kind,
            at: super::now(),
            user_id: None,
            username: None,
            actor_id: None,
            ip_address: None,
            user_agent: None,
            session: None,
            detail: None,
        }
    }

    /// About `user`.
    pub fn user(mut self, user: &super::User) -> NewEvent {
        self.user_id = Some(user.id);
        self.username = Some(user.username.clone());
        self
    }
}

/// A stored event. `kind` is the type as stored: one of `EventType`'s names, or one a newer
/// version wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub kind: String,
    pub at: OffsetDateTime,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub actor_id: Option<i64>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub session: Option<String>,
    pub detail: Option<serde_json::Value>,
}

/// Which events to list; every field set narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub user_id: Option<i64>,
    pub kind: Option<EventType>,
    /// At or after.
    pub since: Option<OffsetDateTime>,
    /// Before.
    pub until: Option<OffsetDateTime>,
}

type EventRow = (
    i64,
    String,
    OffsetDateTime,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn event(row: EventRow) -> Event {
    let (id, kind, at, user_id, username, actor_id, ip_address, user_agent, session, detail) = row;
    Event {
        id,
        kind,
        at,
        user_id,
        username,
        actor_id,
        ip_address,
        user_agent,
        session,
        // Written by `insert_events!` as JSON; anything else is shown as the text it is.
        detail: detail.map(|d| serde_json::from_str(&d).unwrap_or(serde_json::Value::String(d))),
    }
}

/// `s` cut to `max` characters.
pub(super) fn cut(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

pub(super) const INSERT_EVENT: &str = "INSERT INTO audit_events \
     (type, at, user_id, username, actor_id, ip_address, user_agent, session, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Writes `$events` (an iterator of `&NewEvent`) in the transaction `$tx`, one statement
/// each; for the bodies of `in_transaction!`.
macro_rules! insert_events {
    ($tx:ident, $events:expr) => {
        for e in $events {
            sqlx::query($crate::store::audit::INSERT_EVENT)
                .bind(e.kind.as_str())
                .bind(e.at)
                .bind(e.user_id)
                .bind(
                    e.username
                        .as_deref()
                        .map(|u| $crate::store::audit::cut(u, $crate::store::audit::USERNAME_CHARS)),
                )
                .bind(e.actor_id)
                .bind(e.ip_address.as_deref())
                .bind(
                    e.user_agent
                        .as_deref()
                        .map(|u| $crate::store::audit::cut(u, $crate::store::audit::USER_AGENT_CHARS)),
                )
                .bind(e.session.as_deref())
                .bind(e.detail.as_ref().map(|d| d.to_string()))
                .execute(&mut *$tx)
                .await?;
        }
    };
}
pub(super) use insert_events;

/// Adds the filter's conditions to a query that ends in `WHERE TRUE`.
macro_rules! push_event_filter {
    ($q:ident, $f:expr) => {
        if let Some(user) = $f.user_id {
            $q.push(" AND user_id = ").push_bind(user);
        }
        if let Some(kind) = $f.kind {
            $q.push(" AND type = ").push_bind(kind.as_str());
        }
        if let Some(since) = $f.since {
            $q.push(" AND at >= ").push_bind(since);
        }
        if let Some(until) = $f.until {
            $q.push(" AND at < ").push_bind(until);
        }
    };
}

impl Database {
    /// Writes one event on its own: for what changes nothing else (a failed login, a lock).
    pub async fn record_event(&self, event: &NewEvent) -> Result<()> {
        let done = in_transaction!(self, |tx| {
            insert_events!(tx, [event]);
            tx.commit().await?;
        });
        self.wrote(done.await)
    }

    /// A page of the events that pass `filter`, newest first, and how many pass it.
    pub async fn events(&self, filter: &EventFilter, page: Page) -> Result<(Vec<Event>, i64)> {
        const COLUMNS: &str = "SELECT id, type, at, user_id, username, actor_id, ip_address, \
             user_agent, session, detail FROM audit_events WHERE TRUE";
        on_pool!(self, read, |db| {
            let mut count = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM audit_events WHERE TRUE");
            push_event_filter!(count, filter);
            let total: i64 = count.build_query_scalar().fetch_one(db).await?;
            let mut list = sqlx::QueryBuilder::new(COLUMNS);
            push_event_filter!(list, filter);
            list.push(" ORDER BY at DESC, id DESC LIMIT ")
                .push_bind(page.limit);
            // (no OFFSET on the first page: Postgres then keeps its generic plan, see
            // `sessions_of_user`)
            if page.offset > 0 {
                list.push(" OFFSET ").push_bind(page.offset);
            }
            let rows: Vec<EventRow> = list.build_query_as().fetch_all(db).await?;
            (rows.into_iter().map(event).collect(), total)
        })
        .await
    }

    /// Deletes the events older than `before`, `batch` per statement, oldest first (off
    /// `audit_events_at`), so that none holds the write lock (SQLite) or a long row lock
    /// set (Postgres) for long.
    pub async fn prune_events(&self, before: OffsetDateTime, batch: u64) -> Result<Batched> {
        // On Postgres the batch is an array, looked up by the primary key (`IN` with a
        // subquery may be planned as a join that reads the whole table).
        const SQLITE: &str = "DELETE FROM audit_events WHERE id IN \
             (SELECT id FROM audit_events WHERE at >= $3 AND at < $1 ORDER BY at LIMIT $2)";
        const POSTGRES: &str = "WITH batch AS (SELECT id, at FROM audit_events \
             WHERE at >= $3 AND at < $1 ORDER BY at LIMIT $2), \
             gone AS (DELETE FROM audit_events WHERE id = ANY (ARRAY (SELECT id FROM batch)) RETURNING 1) \
             SELECT (SELECT count(*) FROM gone), (SELECT max(at) FROM batch)";
        self.delete_in_batches(SQLITE, POSTGRES, before, OffsetDateTime::UNIX_EPOCH, batch)
            .await
    }
}
