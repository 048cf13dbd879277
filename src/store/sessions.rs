//! Sessions: a session is one login and everything refreshed from it — a token family — so
//! it is the family's row in `token_families` (see `families.rs`) once that row names its
//! user. Its id is the family's (the jti of the login's first token). Revoking a session is
//! revoking its family: the row is marked revoked, which rotation checks under the family's
//! lock, then every unexpired token of the family is blacklisted, in one transaction.
//!
//! Revocations are written once for both databases (`in_transaction!`): the family rows
//! are marked first, in a statement of their own; on Postgres that takes their row locks,
//! after any rotation of those families under way has committed, and the blacklisting
//! statement after it, with a snapshot taken only then, sees the token that rotation
//! recorded. On SQLite the write lock, taken at `BEGIN IMMEDIATE`, orders them.

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

use super::audit::{USER_AGENT_CHARS, cut, insert_events};
use super::tokens::{ADD_OUTSTANDING, Key, bind_token};
use super::{Batched, Database, NewEvent, OutstandingToken, Page, Pool, Reason, Result, now};

/// An active or past session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The token family.
    pub id: String,
    pub user_id: Option<i64>,
    pub created_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub expires_at: Option<OffsetDateTime>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// A session's row: its family's key, and the family's id when the key does not read back
/// as it (`Key::name`).
#[derive(sqlx::FromRow)]
struct SessionRow {
    family: Key,
    name: Option<String>,
    user_id: Option<i64>,
    created_at: Option<OffsetDateTime>,
    last_used_at: Option<OffsetDateTime>,
    expires_at: Option<OffsetDateTime>,
    user_agent: Option<String>,
    ip_address: Option<String>,
    revoked_at: Option<OffsetDateTime>,
}

impl From<SessionRow> for Session {
    fn from(row: SessionRow) -> Session {
        Session {
            id: row.name.unwrap_or_else(|| row.family.into()),
            user_id: row.user_id,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
            user_agent: row.user_agent,
            ip_address: row.ip_address,
            revoked_at: row.revoked_at,
        }
    }
}

/// A login's session, as `add_outstanding_with_session` records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub user_id: i64,
    pub created_at: OffsetDateTime,
    /// The expiry of the login's token.
    pub expires_at: OffsetDateTime,
    /// Cut to `USER_AGENT_CHARS`; `None` without `session_metadata`.
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
}

/// What a revocation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Revoked {
    /// Sessions (families with a user) it revoked that were not revoked yet.
    pub sessions: u64,
    /// Tokens it blacklisted that were not blacklisted yet.
    pub tokens: u64,
}

/// `last_used_at` is written at most once a minute per session: a refresh only moves it if
/// it is older than that.
const TOUCH_EVERY: Duration = Duration::minutes(1);
/// Sessions this instance remembers touching. Past it, the entries older than `TOUCH_EVERY`
/// are dropped, or all of them: forgetting only costs a statement that the SQL condition
/// makes a no-op.
const TOUCHED_MAX: usize = 65_536;

/// The latest `last_used_at` this instance knows of each session, in Unix seconds.
#[derive(Default)]
pub(super) struct Touched(Mutex<HashMap<String, i64>>);

impl Touched {
    /// Whether `last_used_at` may be due a write at `at`: not known to be more recent than
    /// `TOUCH_EVERY` before.
    fn due(&self, family: &str, at: i64) -> bool {
        let touched = self.0.lock().expect("touched sessions lock");
        touched
            .get(family)
            .is_none_or(|last| at - *last >= TOUCH_EVERY.whole_seconds())
    }

    fn remember(&self, family: &str, last_used: i64) {
        let mut touched = self.0.lock().expect("touched sessions lock");
        if let Some(last) = touched.get_mut(family) {
            *last = last_used.max(*last);
            return;
        }
        if touched.len() >= TOUCHED_MAX {
            touched.retain(|_, last| last_used - *last < TOUCH_EVERY.whole_seconds());
            if touched.len() >= TOUCHED_MAX {
                touched.clear();
            }
        }
        touched.insert(family.to_owned(), last_used);
    }
}

/// Whole seconds, as every stored time (SQLite compares the stored text).
fn seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

macro_rules! select_sessions {
    ($where:literal) => {
        concat!(
            "SELECT family, name, user_id, created_at, last_used_at, expires_at, user_agent, ip_address, \
             revoked_at FROM token_families WHERE ",
            $where
        )
    };
}
/// A user's (`$1`) active sessions at `$2`.
macro_rules! active_of_user {
    () => {
        "user_id = $1 AND revoked_at IS NULL AND expires_at > $2"
    };
}
const START: &str = "INSERT INTO token_families \
     (family, user_id, created_at, last_used_at, expires_at, user_agent, ip_address, name) \
     VALUES ($1, $2, $3, $3, $4, $5, $6, $7) ON CONFLICT (family) DO NOTHING";
/// Revokes the sessions of user `$3` but `$4` (none spared when `$4` is NULL) that are not
/// revoked or expired at `$1`, for reason `$2`.
pub(super) const REVOKE_USER_SESSIONS: &str = "UPDATE token_families SET revoked_at = $1, reason = $2 \
     WHERE user_id = $3 AND revoked_at IS NULL AND expires_at > $1 AND ($4 IS NULL OR family <> $4)";
/// Marks revoked the other families the user's live tokens belong to (logins recorded
/// without a session, and sessions whose recorded expiry lags their newest token's): in a
/// stable order, so that two revocations lock the rows of one user in the same order.
pub(super) const REVOKE_USER_FAMILIES: &str = "INSERT INTO token_families (family, revoked_at, reason) \
     SELECT DISTINCT COALESCE(family, jti), $1, $2 FROM outstanding_tokens \
     WHERE user_id = $3 AND expires_at > $1 AND ($4 IS NULL OR COALESCE(family, jti) <> $4) ORDER BY 1 \
     ON CONFLICT (family) DO UPDATE SET revoked_at = COALESCE(token_families.revoked_at, excluded.revoked_at), \
     reason = COALESCE(token_families.reason, excluded.reason)";
pub(super) const BLACKLIST_USER_TOKENS: &str = "INSERT INTO blacklisted_tokens (jti, blacklisted_at, reason) \
     SELECT jti, $1, $2 FROM outstanding_tokens \
     WHERE user_id = $3 AND expires_at > $1 AND ($4 IS NULL OR COALESCE(family, jti) <> $4) \
     ON CONFLICT (jti) DO NOTHING";

/// Moves the session `$1` of user `$2` on to a new token expiring at `$4`, used at `$3`, if
/// it is active.
pub(super) const CONTINUE_SESSION: &str = "UPDATE token_families SET last_used_at = $3, expires_at = $4 \
     WHERE family = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3";

/// Continues the session `$fresh.family` of user `$user_id` with the token `$fresh`, in the
/// transaction `$tx`: its row locked and moved on, its earlier tokens blacklisted (`Revoke`)
/// and `$fresh` recorded. Yields whether it did; `false` (nothing written) when the session
/// is not active. For the bodies of `in_transaction!`.
macro_rules! continue_session {
    ($tx:ident, $user_id:expr, $fresh:expr) => {{
        let at = $crate::store::now();
        let fresh: &$crate::store::OutstandingToken = $fresh;
        let family = $crate::store::tokens::Key::of(fresh.family.as_deref().unwrap_or(&fresh.jti));
        // The row lock first, as a rotation of the family takes it.
        let continued = sqlx::query($crate::store::sessions::CONTINUE_SESSION)
            .bind(family)
            .bind($user_id)
            .bind(at)
            .bind(fresh.expires_at)
            .execute(&mut *$tx)
            .await?
            .rows_affected()
            == 1;
        if continued {
            sqlx::query($crate::store::families::BLACKLIST_FAMILY_TOKENS)
                .bind(at)
                .bind($crate::store::Reason::Revoke.as_str())
                .bind(family)
                .execute(&mut *$tx)
                .await?;
            $crate::store::tokens::bind_token!(sqlx::query($crate::store::tokens::ADD_OUTSTANDING), fresh)
                .execute(&mut *$tx)
                .await?;
        }
        continued
    }};
}
pub(super) use continue_session;

/// Neither a token of the family (`$f`, a table or its alias) nor its first token (whose jti
/// names it) is outstanding any more: nothing can be rotated or retried in it.
macro_rules! no_tokens_left {
    ($f:literal) => {
        concat!(
            "NOT EXISTS (SELECT 1 FROM outstanding_tokens o WHERE o.family = ",
            $f,
            ".family) AND NOT EXISTS (SELECT 1 FROM outstanding_tokens o WHERE o.jti = ",
            $f,
            ".family)"
        )
    };
}
/// Sessions that ended before `$1` are paged through oldest first, off
/// `token_families_expires_at`: the end of the page of `$4` after (`$2`, `$3`), then the
/// page's families without tokens, up to that end (`$5`, `$6`). By key ranges, so that a
/// session whose tokens outlive its recorded expiry is passed over, not read again by
/// every batch.
const ENDED_PAGE_END: &str = "SELECT expires_at, family FROM token_families \
     WHERE expires_at < $1 AND (expires_at, family) > ($2, $3) ORDER BY expires_at, family LIMIT 1 OFFSET $4";
const FLUSH_ENDED: &str = concat!(
    "DELETE FROM token_families WHERE expires_at < $1 AND (expires_at, family) > ($2, $3) \
     AND (expires_at, family) <= ($4, $5) AND ",
    no_tokens_left!("token_families")
);
/// Families recorded without an expiry are paged through by family (off the same index):
/// the end of the page of `$2` after `$1`, then the page's families without tokens (the
/// last page, `$2` NULL: all the rest).
const UNDATED_PAGE_END: &str = "SELECT family FROM token_families \
     WHERE expires_at IS NULL AND family > $1 ORDER BY family LIMIT 1 OFFSET $2";
const FLUSH_UNDATED: &str = concat!(
    "DELETE FROM token_families WHERE expires_at IS NULL AND family > $1 AND ($2 IS NULL OR family <= $2) AND ",
    no_tokens_left!("token_families")
);

/// The revocation of every session of a user but one, in the transaction `$tx`, as
/// `revoke_other_sessions` describes it; yields `Revoked`. For the bodies of
/// `in_transaction!`; `$keep` is an `Option<&str>`.
macro_rules! revoke_user_sessions {
    ($tx:ident, $user_id:expr, $keep:expr, $reason:expr) => {{
        let at = $crate::store::now();
        let keep: Option<&str> = $keep;
        let keep = keep.map($crate::store::tokens::Key::of);
        let reason = $reason.as_str();
        let mut revoked = $crate::store::Revoked::default();
        for (i, sql) in [
            $crate::store::sessions::REVOKE_USER_SESSIONS,
            $crate::store::sessions::REVOKE_USER_FAMILIES,
            $crate::store::sessions::BLACKLIST_USER_TOKENS,
        ]
        .into_iter()
        .enumerate()
        {
            let rows = sqlx::query(sql)
                .bind(at)
                .bind(reason)
                .bind($user_id)
                .bind(keep)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
            match i {
                0 => revoked.sessions = rows,
                2 => revoked.tokens = rows,
                _ => {}
            }
        }
        revoked
    }};
}
pub(super) use revoke_user_sessions;

impl Database {
    /// Postgres: locks the rows of the user `$1`'s tokens, then of their sessions, each in a
    /// stable order. A change that revokes them takes these locks before the user's row, in
    /// the order a rotation takes its old token's, its family's and then (its foreign key's
    /// check) a share lock on the user's row: taken the other way round (a deletion setting
    /// its tokens' `user_id` to NULL last), the two wait for each other and one is aborted.
    /// SQLite: nothing, the write lock orders them.
    pub(super) fn lock_user_sessions_sql(&self) -> &'static [&'static str] {
        match &self.pool {
            Pool::Sqlite { .. } => &[],
            Pool::Postgres(_) => &[
                "SELECT jti FROM outstanding_tokens WHERE user_id = $1 ORDER BY jti FOR NO KEY UPDATE",
                "SELECT family FROM token_families WHERE user_id = $1 ORDER BY family FOR UPDATE",
            ],
        }
    }

    /// Deletes the sessions (token families) that ended before `now` and have no
    /// outstanding token left — after `flush_expired`, those of the tokens it deleted —
    /// `batch` per statement; and the families recorded without an expiry once their
    /// tokens are gone.
    pub async fn flush_ended_sessions(&self, now: OffsetDateTime, batch: u64) -> Result<Batched> {
        let offset = batch.max(1) as i64 - 1;
        let mut flushed = Batched::default();
        // The last page ends where the ended sessions do: at the latest one, before `now`.
        let mut after = (OffsetDateTime::UNIX_EPOCH, Key::FIRST);
        loop {
            let end: Option<(OffsetDateTime, Key)> = on_pool!(self, read, |db| {
                sqlx::query_as(ENDED_PAGE_END)
                    .bind(now)
                    .bind(after.0)
                    .bind(after.1)
                    .bind(offset)
                    .fetch_optional(db)
                    .await?
            })
            .await?;
            let last = end.unwrap_or((now, Key::FIRST));
            let done = on_pool!(self, write, |db| {
                sqlx::query(FLUSH_ENDED)
                    .bind(now)
                    .bind(after.0)
                    .bind(after.1)
                    .bind(last.0)
                    .bind(last.1)
                    .execute(db)
                    .await?
                    .rows_affected()
            });
            flushed.add(self.wrote(done.await)?);
            match end {
                Some(end) => after = end,
                None => break,
            }
        }
        let mut after = Key::FIRST;
        loop {
            let end: Option<Key> = on_pool!(self, read, |db| {
                sqlx::query_scalar(UNDATED_PAGE_END)
                    .bind(after)
                    .bind(offset)
                    .fetch_optional(db)
                    .await?
            })
            .await?;
            let done = on_pool!(self, write, |db| {
                sqlx::query(FLUSH_UNDATED)
                    .bind(after)
                    .bind(end)
                    .execute(db)
                    .await?
                    .rows_affected()
            });
            flushed.add(self.wrote(done.await)?);
            match end {
                Some(end) => after = end,
                None => break,
            }
        }
        Ok(flushed)
    }

    /// Records a login's first token as outstanding (as `add_outstanding`) and its session
    /// (`token.family`, else its jti; kept if it exists), with `events`, in one transaction
    /// — if the user still exists: `false`, and nothing written, when they were deleted
    /// since they were authenticated. Their row is read under a share lock first (Postgres:
    /// `FOR KEY SHARE`; SQLite: the write lock), so that a deletion under way is waited for
    /// and one that committed is seen, and a deletion after it sees the token and the
    /// session and revokes them: a login racing a deletion leaves nothing live.
    pub async fn add_outstanding_with_session(
        &self,
        token: &OutstandingToken,
        session: &NewSession,
        events: &[NewEvent],
    ) -> Result<bool> {
        let family = token.family.as_deref().unwrap_or(&token.jti);
        let share = self.share_user_sql();
        let done = in_transaction!(self, |tx| {
            let user: Option<i64> = sqlx::query_scalar(share)
                .bind(session.user_id)
                .fetch_optional(&mut *tx)
                .await?;
            if user.is_none() {
                return Ok(false);
            }
            bind_token!(sqlx::query(ADD_OUTSTANDING), token)
                .execute(&mut *tx)
                .await?;
            bind_session(sqlx::query(START).bind(Key::of(family)), session)
                .bind(Key::name(family))
                .execute(&mut *tx)
                .await?;
            insert_events!(tx, events);
            tx.commit().await?;
            true
        });
        let recorded = self.wrote(done.await)?;
        if recorded {
            self.touched
                .remember(family, seconds(session.created_at).unix_timestamp());
        }
        Ok(recorded)
    }

    /// Notes that the session `family` was used at `at` (a refresh) and now ends at
    /// `expires`. Written at most once per `TOUCH_EVERY` per session: the statement's
    /// condition on `last_used_at` coalesces the writes of every instance, and this
    /// instance remembers the latest `last_used_at` it wrote or read, so that most calls
    /// cost nothing — no round trip, and on SQLite no turn on the one writer connection.
    /// The stored expiry may then lag the newest token's by as much. Returns whether it
    /// wrote.
    pub async fn touch_session(
        &self,
        family: &str,
        at: OffsetDateTime,
        expires: OffsetDateTime,
    ) -> Result<bool> {
        let at = seconds(at);
        if !self.touched.due(family, at.unix_timestamp()) {
            return Ok(false);
        }
        let done = on_pool!(self, write, |db| {
            sqlx::query(
                "UPDATE token_families SET last_used_at = $2, expires_at = $3 \
                 WHERE family = $1 AND revoked_at IS NULL AND last_used_at <= $4",
            )
            .bind(Key::of(family))
            .bind(at)
            .bind(seconds(expires))
            .bind(at - TOUCH_EVERY)
            .execute(db)
            .await?
            .rows_affected()
                == 1
        });
        if self.wrote(done.await)? {
            self.touched.remember(family, at.unix_timestamp());
            return Ok(true);
        }
        // Another instance wrote it lately (or it is no active session): when?
        let last_used: Option<Option<OffsetDateTime>> = on_pool!(self, read, |db| {
            sqlx::query_scalar(
                "SELECT CASE WHEN revoked_at IS NULL THEN last_used_at END FROM token_families WHERE family = $1",
            )
            .bind(Key::of(family))
            .fetch_optional(db)
            .await?
        })
        .await?;
        let last_used = last_used.flatten().map_or(at, |t| t.min(at));
        self.touched.remember(family, last_used.unix_timestamp());
        Ok(false)
    }

    /// A page of the user's active sessions at `now` (neither revoked nor expired), the
    /// most recently used first, and how many there are.
    pub async fn sessions_of_user(
        &self,
        user_id: i64,
        now: OffsetDateTime,
        page: Page,
    ) -> Result<(Vec<Session>, i64)> {
        on_pool!(self, read, |db| {
            let total: i64 = sqlx::query_scalar(concat!(
                "SELECT COUNT(*) FROM token_families WHERE ",
                active_of_user!()
            ))
            .bind(user_id)
            .bind(now)
            .fetch_one(db)
            .await?;
            // The first page without OFFSET: Postgres prices an OFFSET parameter as a tenth
            // of the rows skipped, so that its generic plan of the statement looks dearer than
            // the one it plans for each call's values, and it plans the statement again at
            // every call (more than the query itself costs, once the table is large); without
            // the OFFSET it keeps the generic plan, the same index scan.
            let first = page.offset == 0;
            macro_rules! first_page {
                () => {
                    concat!(
                        select_sessions!(""),
                        active_of_user!(),
                        " ORDER BY last_used_at DESC, family DESC LIMIT $3"
                    )
                };
            }
            let sessions = sqlx::query_as::<_, SessionRow>(if first {
                first_page!()
            } else {
                concat!(first_page!(), " OFFSET $4")
            })
            .bind(user_id)
            .bind(now)
            .bind(page.limit);
            let sessions = if first {
                sessions
            } else {
                sessions.bind(page.offset)
            };
            let sessions: Vec<SessionRow> = sessions.fetch_all(db).await?;
            (sessions.into_iter().map(Session::from).collect(), total)
        })
        .await
    }

    /// How many sessions of any user are active at `now` (the console's overview).
    pub async fn count_active_sessions(&self, now: OffsetDateTime) -> Result<i64> {
        on_pool!(self, read, |db| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM token_families \
                 WHERE user_id IS NOT NULL AND revoked_at IS NULL AND expires_at > $1",
            )
            .bind(now)
            .fetch_one(db)
            .await?
        })
        .await
    }

    /// The session `id`, revoked or expired as it may be; `None` for a family that is not
    /// a session (unknown, or recorded without one).
    pub async fn session(&self, id: &str) -> Result<Option<Session>> {
        on_pool!(self, read, |db| {
            let row: Option<SessionRow> =
                sqlx::query_as(select_sessions!("family = $1 AND user_id IS NOT NULL"))
                    .bind(Key::of(id))
                    .fetch_optional(db)
                    .await?;
            row.map(Session::from)
        })
        .await
    }

    /// Revokes the session `id` — of user `owner` only, when given — and blacklists its
    /// unexpired tokens, with `events`, in one transaction. `None` (and nothing written)
    /// when there is no such active session.
    pub async fn revoke_session(
        &self,
        id: &str,
        owner: Option<i64>,
        reason: Reason,
        events: &[NewEvent],
    ) -> Result<Option<Revoked>> {
        let key = Key::of(id);
        let done = in_transaction!(self, |tx| {
            let at = now();
            let sessions = sqlx::query(
                "UPDATE token_families SET revoked_at = $1, reason = $2 WHERE family = $3 \
                 AND user_id IS NOT NULL AND ($4 IS NULL OR user_id = $4) AND revoked_at IS NULL \
                 AND expires_at > $1",
            )
            .bind(at)
            .bind(reason.as_str())
            .bind(key)
            .bind(owner)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if sessions == 0 {
                return Ok(None);
            }
            let tokens = sqlx::query(super::families::BLACKLIST_FAMILY_TOKENS)
                .bind(at)
                .bind(reason.as_str())
                .bind(key)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            insert_events!(tx, events);
            tx.commit().await?;
            Some(Revoked { sessions, tokens })
        });
        let result = self.wrote(done.await);
        self.forget_tokens();
        result
    }

    /// Revokes every session of the user but `keep` ("log out other devices"), and every
    /// other family their unexpired tokens belong to, and blacklists those tokens, with
    /// `events`, in one transaction.
    pub async fn revoke_other_sessions(
        &self,
        user_id: i64,
        keep: &str,
        reason: Reason,
        events: &[NewEvent],
    ) -> Result<Revoked> {
        self.revoke_sessions(user_id, Some(keep), reason, events).await
    }

    /// As `revoke_other_sessions`, sparing none: the user is logged out everywhere.
    pub async fn revoke_all_sessions(
        &self,
        user_id: i64,
        reason: Reason,
        events: &[NewEvent],
    ) -> Result<Revoked> {
        self.revoke_sessions(user_id, None, reason, events).await
    }

    async fn revoke_sessions(
        &self,
        user_id: i64,
        keep: Option<&str>,
        reason: Reason,
        events: &[NewEvent],
    ) -> Result<Revoked> {
        let done = in_transaction!(self, |tx| {
            let revoked = revoke_user_sessions!(tx, user_id, keep, reason);
            insert_events!(tx, events);
            tx.commit().await?;
            revoked
        });
        let result = self.wrote(done.await);
        self.forget_tokens();
        result
    }
}

impl Database {
    /// Whether the token `jti` is blacklisted or its session `sid` revoked: one statement.
    /// An access token is never recorded, so only its session tells that it was revoked.
    /// The "neither" answer is kept for `database_cache_ttl` under the token's jti, as
    /// `is_blacklisted` keeps its own; every revocation through this instance drops it.
    pub async fn is_blacklisted_or_revoked(&self, jti: &str, sid: &str) -> Result<bool> {
        self.refused_cached(jti, || {
            on_pool!(self, read, |db| sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM blacklisted_tokens WHERE jti = $1) \
                 OR EXISTS (SELECT 1 FROM token_families WHERE family = $2 AND revoked_at IS NOT NULL)"
            )
            .bind(Key::of(jti))
            .bind(Key::of(sid))
            .fetch_one(db)
            .await?)
        })
        .await
    }
}

fn bind_session<'q, DB: sqlx::Database>(
    query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>,
    s: &'q NewSession,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    OffsetDateTime: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    query
        .bind(s.user_id)
        .bind(seconds(s.created_at))
        .bind(seconds(s.expires_at))
        .bind(s.user_agent.as_deref().map(|u| cut(u, USER_AGENT_CHARS)))
        .bind(s.ip_address.as_deref())
}
