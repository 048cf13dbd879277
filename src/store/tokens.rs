//! The `outstanding_tokens` and `blacklisted_tokens` tables: Simple JWT's token_blacklist
//! app, except that the token itself is never stored: a row holds its jti (as 16 bytes,
//! see `Key`), its user, family and expiry. The jti names the token, the signature proves
//! it: nothing needs the token's digest. Families of tokens, and rotation, are in
//! `families.rs`.
//!
//! Writes that record and blacklist at once differ by database. On SQLite they run in
//! `BEGIN IMMEDIATE` transactions (or are single statements): the write lock is taken up
//! front, so concurrent writers queue on the busy timeout instead of failing when they
//! upgrade a read lock. On Postgres they are single statements (data-modifying CTEs):
//! atomic without an explicit transaction, and one round trip each.

use time::OffsetDateTime;
use uuid::Uuid;

use super::audit::insert_events;
use super::{Database, NewEvent, Pool, Result, now};

/// An outstanding-token row to be written: never the token itself, only its jti.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutstandingToken {
    pub user_id: Option<i64>,
    pub jti: String,
    /// The jti of the login the token descends from.
    pub family: Option<String>,
    /// When the token was issued: its session's start for a login's token. Not stored with
    /// the token (the token's own `iat` says it, and nothing reads it back).
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A jti, or a family (the jti of its login), as the token tables store it: 16 bytes, a
/// `uuid` on Postgres and a BLOB on SQLite, half the 32 hex digits of Simple JWT's
/// (`uuid4().hex`) and jwtd's (a version 7 UUID, time first: keys in issue order) jtis, in
/// each row and in each index entry. Such a jti is stored
/// as the bytes it spells, and read back the same; any other id — drf-jwt's token ids, a
/// jti of another issuer's form — as the first 16 bytes of its SHA-256, so that it is
/// still recorded, blacklisted and found under one key, but read back (a blacklisting's
/// family) as those bytes' hex; a session keeps such an id beside its key (`name`).
/// Migration 0009 converted the stored ids so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(transparent)]
pub(super) struct Key(Uuid);

impl Key {
    pub(super) fn of(id: &str) -> Key {
        if Key::name(id).is_none()
            && let Ok(uuid) = Uuid::try_parse(id)
        {
            return Key(uuid);
        }
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, id.as_bytes());
        let mut bytes = [0; 16];
        bytes.copy_from_slice(&digest.as_ref()[..16]);
        Key(Uuid::from_bytes(bytes))
    }

    /// The id itself when its key does not read back as it (it is no uuid hex): what a
    /// session keeps beside its key, so that its id shows as it was given.
    pub(super) fn name(id: &str) -> Option<&str> {
        let hex = id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        (!hex).then_some(id)
    }

    /// The smallest key, where a walk through keys in order starts.
    pub(super) const FIRST: Key = Key(Uuid::nil());
}

impl From<Key> for String {
    fn from(key: Key) -> String {
        key.0.simple().to_string()
    }
}

/// Why a token was blacklisted (kept in the blacklist row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// `POST /api/token/blacklist/` (Simple JWT's logout).
    Blacklist,
    /// Rotated away by a refresh with `blacklist_after_rotation`.
    Rotation,
    /// Revoked: RFC 7009, `jwtd token revoke|blacklist`, a password change.
    Revoke,
    /// Its family was revoked because a rotated-away token was presented again.
    Reuse,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Blacklist => "blacklist",
            Reason::Rotation => "rotation",
            Reason::Revoke => "revoke",
            Reason::Reuse => "reuse",
        }
    }

    pub fn parse(s: &str) -> Reason {
        match s {
            "rotation" => Reason::Rotation,
            "revoke" => Reason::Revoke,
            "reuse" => Reason::Reuse,
            _ => Reason::Blacklist,
        }
    }
}

/// When and why a token was blacklisted, and the family it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blacklisting {
    pub at: OffsetDateTime,
    pub reason: Reason,
    pub family: String,
}

/// Binds an `OutstandingToken`'s columns as `$1`…`$4`, in the order `user_id, jti, family,
/// expires_at`.
macro_rules! bind_token {
    ($query:expr, $t:expr) => {
        $query
            .bind($t.user_id)
            .bind($crate::store::tokens::Key::of(&$t.jti))
            .bind($t.family.as_deref().map($crate::store::tokens::Key::of))
            .bind($t.expires_at)
    };
}
pub(super) use bind_token;

/// SQLite: records the token if it is not yet (`?1`…`?4`; the user is looked up in the
/// insert, so a token naming a deleted user is recorded without one), then blacklists it
/// (`?5` when, `?6` why), returning a row only when this call blacklisted it. sqlx runs the
/// statements of one string one after the other with the numbered parameters shared: one
/// trip to SQLite's thread.
macro_rules! record_and_blacklist {
    () => {
        "INSERT INTO outstanding_tokens (user_id, jti, family, expires_at) \
         VALUES ((SELECT id FROM users WHERE id = ?1), ?2, ?3, ?4) ON CONFLICT (jti) DO NOTHING; \
         INSERT INTO blacklisted_tokens (jti, blacklisted_at, reason) \
         VALUES (?2, ?5, ?6) ON CONFLICT (jti) DO NOTHING"
    };
}
pub(super) use record_and_blacklist;

/// Postgres: records the token if it is not yet (the user looked up in the insert, so a
/// deleted user leaves it without one); `DO UPDATE` rather than `DO NOTHING` so that
/// `RETURNING` yields the existing row too. It sets a column outside any unique index, so
/// the row lock it takes is `FOR NO KEY UPDATE`: a family revocation blacklisting this token
/// meanwhile only needs `FOR KEY SHARE` for its foreign key and does not wait for it.
/// (Setting `jti` would lock `FOR UPDATE`, and a rotation holding that while it waits for
/// the family's lock deadlocks with the revocation holding the family's lock.)
macro_rules! upsert_old {
    () => {
        "old_row AS (INSERT INTO outstanding_tokens \
         (user_id, jti, family, expires_at) \
         VALUES ((SELECT id FROM users WHERE id = $1), $2, $3, $4) \
         ON CONFLICT (jti) DO UPDATE SET family = outstanding_tokens.family RETURNING family, jti)"
    };
}
pub(super) use upsert_old;

/// For a jti already recorded (a refreshed sliding token) the expiry is brought up to date.
pub(super) const ADD_OUTSTANDING: &str = "INSERT INTO outstanding_tokens \
     (user_id, jti, family, expires_at) \
     VALUES ((SELECT id FROM users WHERE id = $1), $2, $3, $4) \
     ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at";
const IS_BLACKLISTED: &str = "SELECT EXISTS (SELECT 1 FROM blacklisted_tokens WHERE jti = $1)";
const BLACKLISTING: &str = "SELECT b.blacklisted_at, b.reason, COALESCE(o.family, o.jti) \
     FROM blacklisted_tokens b JOIN outstanding_tokens o ON o.jti = b.jti WHERE b.jti = $1";
/// One batch of the flush on Postgres: the `$2` outstanding tokens that expired first before
/// `$1`, from `$3` on, read off `outstanding_tokens_expires_at`. Their blacklist rows would go
/// by the foreign key's cascade; they are deleted by name so that the flush can say how many.
///
/// `$3` is where the last batch ended: the index keeps the entries of deleted rows until a
/// vacuum, and a batch that started from the oldest expiry again would step over every row
/// the batches before it deleted, so that a flush of millions of rows would slow down batch
/// after batch.
macro_rules! expired_batch {
    ($columns:literal) => {
        concat!(
            "SELECT ",
            $columns,
            " FROM outstanding_tokens WHERE expires_at >= $3 AND expires_at < $1 ORDER BY expires_at LIMIT $2"
        )
    };
}
/// SQLite: where the flush goes, the lowest and the highest rowid of the tokens expired
/// before `$1` (read off `outstanding_tokens_expires_at` alone, without the table).
const EXPIRED_IDS: &str = "SELECT min(rowid), max(rowid) FROM outstanding_tokens WHERE expires_at < $1";
/// SQLite: one batch is the expired tokens among the rowids after `$2` up to `$3`, read off
/// the table itself (`+` keeps the planner off the expiry index), with their blacklist rows,
/// in one `BEGIN IMMEDIATE` transaction, which no other writer enters. SQLite removes a
/// row's index entries with it, so each batch writes every page it deletes from; taken by
/// rowid (the order rows were recorded in), a batch's rows are neighbours in the table,
/// whose pages each batch then writes once for many rows. Taken by expiry, as on Postgres,
/// they would be scattered over the table wherever expiries and insertion order disagree
/// (lifetimes that changed, tokens of many lifetimes, imported rows), and each page written
/// again by one batch after another.
macro_rules! expired_window {
    ($column:literal) => {
        concat!(
            "SELECT ",
            $column,
            " FROM outstanding_tokens WHERE rowid > $2 AND rowid <= $3 AND +expires_at < $1"
        )
    };
}
const FLUSH_BLACKLIST_WINDOW: &str = concat!(
    "DELETE FROM blacklisted_tokens WHERE jti IN (",
    expired_window!("jti"),
    ")"
);
const FLUSH_TOKEN_WINDOW: &str = concat!(
    "DELETE FROM outstanding_tokens WHERE rowid IN (",
    expired_window!("rowid"),
    ")"
);
/// Postgres: one statement, so that both deletes work on one batch whatever commits
/// meanwhile; yields the tokens and the blacklist rows deleted, and where the batch ended.
/// The batch is handed to the deletes as an array, which they look up by index (`= ANY`)
/// rather than by joining.
const FLUSH_BATCH_PG: &str = concat!(
    "WITH batch AS (",
    expired_batch!("jti, expires_at"),
    "), ids AS (SELECT ARRAY(SELECT jti FROM batch) AS ids), \
     bl AS (DELETE FROM blacklisted_tokens WHERE jti = ANY ((SELECT ids FROM ids)::uuid[]) RETURNING 1), \
     tok AS (DELETE FROM outstanding_tokens WHERE jti = ANY ((SELECT ids FROM ids)::uuid[]) RETURNING 1) \
     SELECT (SELECT count(*) FROM tok), (SELECT count(*) FROM bl), (SELECT max(expires_at) FROM batch)"
);

/// What a batched delete did: the rows it deleted and in how many transactions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Batched {
    pub rows: u64,
    pub batches: u64,
}

impl Batched {
    pub(super) fn add(&mut self, rows: u64) {
        self.rows += rows;
        self.batches += 1;
    }
}

impl Database {
    /// Runs a delete of at most `$2` rows that `$1` selects, from `$3` on, one statement per
    /// batch of `batch` rows, until one deletes fewer: `sqlite` yields nothing (SQLite
    /// removes deleted rows' index entries at once, and every batch starts from `floor`);
    /// `postgres` yields the rows deleted and the largest key of the batch, where the next
    /// starts (see `expired_batch!`).
    pub(super) async fn delete_in_batches<T>(
        &self,
        sqlite: &'static str,
        postgres: &'static str,
        bound: T,
        floor: T,
        batch: u64,
    ) -> Result<Batched>
    where
        T: Copy + Send + Sync + Unpin + 'static,
        T: for<'q> sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        T: for<'q> sqlx::Encode<'q, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>
            + for<'r> sqlx::Decode<'r, sqlx::Postgres>,
    {
        let limit = batch.max(1) as i64;
        let mut deleted = Batched::default();
        let mut from = floor;
        loop {
            let done = self.bounded(async {
                match &self.pool {
                    Pool::Sqlite { writer, .. } => {
                        let rows = sqlx::query(sqlite)
                            .bind(bound)
                            .bind(limit)
                            .bind(from)
                            .execute(writer)
                            .await?
                            .rows_affected();
                        Ok((rows, None))
                    }
                    Pool::Postgres(pool) => {
                        let (rows, end): (i64, Option<T>) = sqlx::query_as(postgres)
                            .bind(bound)
                            .bind(limit)
                            .bind(from)
                            .fetch_one(pool)
                            .await?;
                        Ok((rows as u64, end))
                    }
                }
            });
            let (rows, end) = self.wrote(done.await)?;
            deleted.add(rows);
            if rows < limit as u64 {
                return Ok(deleted);
            }
            from = end.unwrap_or(from);
        }
    }
}

/// What flushing the expired outstanding tokens deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushedTokens {
    pub tokens: Batched,
    /// Blacklist rows of those tokens.
    pub blacklisted: u64,
}

impl Database {
    /// Records the token `$1`…`$4` if it is not yet, then blacklists it (`$5` when, `$6`
    /// why), returning a row only when this statement blacklisted it: for a transaction.
    pub(super) fn record_and_blacklist_sql(&self) -> &'static str {
        match &self.pool {
            Pool::Sqlite { .. } => concat!(record_and_blacklist!(), " RETURNING 1"),
            Pool::Postgres(_) => concat!(
                "WITH ",
                upsert_old!(),
                " INSERT INTO blacklisted_tokens (jti, blacklisted_at, reason) \
                 SELECT jti, $5, $6 FROM old_row ON CONFLICT (jti) DO NOTHING RETURNING 1"
            ),
        }
    }

    /// Records a token as outstanding; for a jti already recorded (a refreshed sliding
    /// token) the expiry is brought up to date.
    pub async fn add_outstanding(&self, token: &OutstandingToken) -> Result<()> {
        let done = on_pool!(self, write, |db| {
            bind_token!(sqlx::query(ADD_OUTSTANDING), token)
                .execute(db)
                .await?;
        });
        self.wrote(done.await)
    }

    pub async fn is_blacklisted(&self, jti: &str) -> Result<bool> {
        self.refused_cached(jti, || {
            on_pool!(self, read, |db| sqlx::query_scalar(IS_BLACKLISTED)
                .bind(Key::of(jti))
                .fetch_one(db)
                .await?)
        })
        .await
    }

    /// Whether the token `jti` is refused, as `read` tells, its "not refused" answer kept
    /// for `database_cache_ttl` under the jti; every revocation through this instance drops
    /// those answers (the cache's generation).
    pub(super) async fn refused_cached<F, Fut>(&self, jti: &str, read: F) -> Result<bool>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<bool>>,
    {
        let Some(cache) = &self.cache else {
            return read().await;
        };
        if cache.not_blacklisted(jti) {
            return Ok(false);
        }
        let generation = cache.tokens_generation();
        let refused = read().await?;
        if !refused {
            cache.put_not_blacklisted(jti, generation);
        }
        Ok(refused)
    }

    /// When and why the token with this jti was blacklisted, if it was.
    pub async fn blacklisting(&self, jti: &str) -> Result<Option<Blacklisting>> {
        let row: Option<(OffsetDateTime, String, Key)> = on_pool!(self, read, |db| {
            sqlx::query_as(BLACKLISTING)
                .bind(Key::of(jti))
                .fetch_optional(db)
                .await?
        })
        .await?;
        Ok(row.map(|(at, reason, family)| Blacklisting {
            at,
            reason: Reason::parse(&reason),
            family: family.into(),
        }))
    }

    /// Blacklists the token, recording it as outstanding first if it is not (Simple JWT's
    /// `get_or_create` twice). Returns whether this call blacklisted it.
    pub async fn blacklist(&self, token: &OutstandingToken, reason: Reason) -> Result<bool> {
        self.blacklist_audited(token, reason, &[]).await
    }

    /// Blacklists every unexpired token of a user; returns how many were newly blacklisted.
    pub async fn blacklist_user(&self, user_id: i64, reason: Reason) -> Result<u64> {
        let done = on_pool!(self, write, |db| {
            sqlx::query(super::sessions::BLACKLIST_USER_TOKENS)
                .bind(now())
                .bind(reason.as_str())
                .bind(user_id)
                .bind(None::<Key>)
                .execute(db)
                .await?
                .rows_affected()
        });
        let result = self.wrote(done.await);
        self.forget_tokens();
        result
    }

    /// Blacklists a recorded token by jti: `None` when no such token is recorded, else
    /// whether this call blacklisted it.
    pub async fn blacklist_jti(&self, jti: &str, reason: Reason) -> Result<Option<bool>> {
        self.blacklist_jti_audited(jti, reason, &[]).await
    }

    /// Deletes outstanding tokens that expired before `now`, with their blacklist rows
    /// (Simple JWT's `flushexpiredtokens`), `batch` tokens per transaction, so that none
    /// holds the write lock (SQLite) or its row locks (Postgres) for long whatever the
    /// backlog. The sessions they leave ended go by `flush_ended_sessions`.
    pub async fn flush_expired(&self, now: OffsetDateTime, batch: u64) -> Result<FlushedTokens> {
        let limit = batch.max(1) as i64;
        let mut flushed = FlushedTokens::default();
        match &self.pool {
            Pool::Sqlite { reader, writer } => {
                let (first, last): (Option<i64>, Option<i64>) = self
                    .bounded(async { Ok(sqlx::query_as(EXPIRED_IDS).bind(now).fetch_one(reader).await?) })
                    .await?;
                let (Some(first), Some(last)) = (first, last) else {
                    // Nothing expired: counted as one (empty) batch, as on Postgres.
                    flushed.tokens.add(0);
                    return Ok(flushed);
                };
                // A batch's time grows with the pages it writes and with what else the disk
                // and the cores are doing; the window shrinks while batches take longer than
                // a tenth of `database_timeout` and grows back up to `batch` ids while they
                // take less than a fortieth, so that none nears the timeout (which would end
                // the flush) and the server's writers never wait long.
                let budget = self.timeout / 10;
                let mut window = limit;
                let mut from = first - 1;
                while from < last {
                    let to = from.saturating_add(window).min(last);
                    let started = std::time::Instant::now();
                    let done = self.bounded(async {
                        let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
                        let mut counts = [0; 2];
                        for (sql, count) in [FLUSH_BLACKLIST_WINDOW, FLUSH_TOKEN_WINDOW]
                            .into_iter()
                            .zip(&mut counts)
                        {
                            *count = sqlx::query(sql)
                                .bind(now)
                                .bind(from)
                                .bind(to)
                                .execute(&mut *tx)
                                .await?
                                .rows_affected();
                        }
                        tx.commit().await?;
                        Ok((counts[1], counts[0]))
                    });
                    let (tokens, blacklisted) = self.wrote(done.await)?;
                    flushed.tokens.add(tokens);
                    flushed.blacklisted += blacklisted;
                    from = to;
                    let took = started.elapsed();
                    if took > budget {
                        window = (window / 2).max(1);
                    } else if took < budget / 4 {
                        window = window.saturating_mul(2).min(limit);
                    }
                }
            }
            Pool::Postgres(pool) => {
                let mut from = OffsetDateTime::UNIX_EPOCH;
                loop {
                    let done = self.bounded(async {
                        Ok(sqlx::query_as(FLUSH_BATCH_PG)
                            .bind(now)
                            .bind(limit)
                            .bind(from)
                            .fetch_one(pool)
                            .await?)
                    });
                    let (tokens, blacklisted, end): (i64, i64, Option<OffsetDateTime>) =
                        self.wrote(done.await)?;
                    flushed.tokens.add(tokens as u64);
                    flushed.blacklisted += blacklisted as u64;
                    if tokens < limit {
                        break;
                    }
                    from = end.unwrap_or(from);
                }
            }
        }
        if flushed.tokens.rows > 0 {
            self.forget_tokens();
        }
        Ok(flushed)
    }

    /// `blacklist` with `events` (`logout`, `token_blacklisted`), in one transaction;
    /// none are written unless this call blacklisted the token.
    pub async fn blacklist_audited(
        &self,
        token: &OutstandingToken,
        reason: Reason,
        events: &[NewEvent],
    ) -> Result<bool> {
        let sql = self.record_and_blacklist_sql();
        let done = in_transaction!(self, |tx| {
            let rows = bind_token!(sqlx::query(sql), token)
                .bind(now())
                .bind(reason.as_str())
                .fetch_all(&mut *tx)
                .await?;
            if rows.len() != 1 {
                return Ok(false);
            }
            insert_events!(tx, events);
            tx.commit().await?;
            true
        });
        let result = self.wrote(done.await);
        self.forget_token(&token.jti);
        result
    }

    /// `blacklist_jti` with `events` (`token_revoked`), in one transaction; none are
    /// written unless this call blacklisted the token.
    pub async fn blacklist_jti_audited(
        &self,
        jti: &str,
        reason: Reason,
        events: &[NewEvent],
    ) -> Result<Option<bool>> {
        let done = in_transaction!(self, |tx| {
            let key = Key::of(jti);
            let newly = sqlx::query(
                "INSERT INTO blacklisted_tokens (jti, blacklisted_at, reason) \
                 SELECT jti, $1, $2 FROM outstanding_tokens WHERE jti = $3 \
                 ON CONFLICT (jti) DO NOTHING",
            )
            .bind(now())
            .bind(reason.as_str())
            .bind(key)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !newly {
                let known: bool =
                    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM outstanding_tokens WHERE jti = $1)")
                        .bind(key)
                        .fetch_one(&mut *tx)
                        .await?;
                return Ok(known.then_some(false));
            }
            insert_events!(tx, events);
            tx.commit().await?;
            Some(true)
        });
        let result = self.wrote(done.await);
        self.forget_token(jti);
        result
    }
}
