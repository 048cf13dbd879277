//! The `outstanding_tokens` and `blacklisted_tokens` tables: Simple JWT's token_blacklist
//! app, except that the token itself is never stored (a row holds its jti and SHA-256).
//! Families of tokens, and rotation, are in `families.rs`.
//!
//! Writes that record and blacklist at once differ by database. On SQLite they run in
//! `BEGIN IMMEDIATE` transactions (or are single statements): the write lock is taken up
//! front, so concurrent writers queue on the busy timeout instead of failing when they
//! upgrade a read lock. On Postgres they are single statements (data-modifying CTEs):
//! atomic without an explicit transaction, and one round trip each.

use time::OffsetDateTime;

use super::audit::insert_events;
use super::{Database, NewEvent, Pool, Result, now};

/// An outstanding-token row to be written: never the token itself, only its jti and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutstandingToken {
    pub user_id: Option<i64>,
    pub jti: String,
    /// Hex SHA-256 of the encoded token.
    pub token_sha256: String,
    /// The jti of the login the token descends from.
    pub family: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
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

/// Binds an `OutstandingToken`'s columns as `$1`…`$6`, in the order `user_id, jti,
/// token_sha256, family, created_at, expires_at`.
macro_rules! bind_token {
    ($query:expr, $t:expr) => {
        $query
            .bind($t.user_id)
            .bind(&$t.jti)
            .bind(&$t.token_sha256)
            .bind(&$t.family)
            .bind($t.created_at)
            .bind($t.expires_at)
    };
}
pub(super) use bind_token;

/// SQLite: records the token if it is not yet (`?1`…`?6`; the user is looked up in the
/// insert, so a token naming a deleted user is recorded without one), then blacklists it
/// (`?7` when, `?8` why), returning a row only when this call blacklisted it. sqlx runs the
/// statements of one string one after the other with the numbered parameters shared: one
/// trip to SQLite's thread.
macro_rules! record_and_blacklist {
    () => {
        "INSERT INTO outstanding_tokens (user_id, jti, token_sha256, family, created_at, expires_at) \
         VALUES ((SELECT id FROM users WHERE id = ?1), ?2, ?3, ?4, ?5, ?6) ON CONFLICT (jti) DO NOTHING; \
         INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) \
         SELECT id, ?7, ?8 FROM outstanding_tokens WHERE jti = ?2 ON CONFLICT (token_id) DO NOTHING"
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
         (user_id, jti, token_sha256, family, created_at, expires_at) \
         VALUES ((SELECT id FROM users WHERE id = $1), $2, $3, $4, $5, $6) \
         ON CONFLICT (jti) DO UPDATE SET family = outstanding_tokens.family RETURNING id, family, jti)"
    };
}
pub(super) use upsert_old;

/// For a jti already recorded (a refreshed sliding token) the expiry and hash are brought
/// up to date.
pub(super) const ADD_OUTSTANDING: &str = "INSERT INTO outstanding_tokens \
     (user_id, jti, token_sha256, family, created_at, expires_at) \
     VALUES ((SELECT id FROM users WHERE id = $1), $2, $3, $4, $5, $6) \
     ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at, token_sha256 = excluded.token_sha256";
const IS_BLACKLISTED: &str = "SELECT EXISTS (SELECT 1 FROM blacklisted_tokens b \
     JOIN outstanding_tokens o ON o.id = b.token_id WHERE o.jti = $1)";
const BLACKLISTING: &str = "SELECT b.blacklisted_at, b.reason, COALESCE(o.family, o.jti) \
     FROM blacklisted_tokens b JOIN outstanding_tokens o ON o.id = b.token_id WHERE o.jti = $1";
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
/// SQLite: where the flush goes, the lowest and the highest id of the tokens expired before
/// `$1` (read off `outstanding_tokens_expires_at` alone, without the table).
const EXPIRED_IDS: &str = "SELECT min(id), max(id) FROM outstanding_tokens WHERE expires_at < $1";
/// SQLite: one batch is the expired tokens among the ids after `$2` up to `$3`, read off the
/// table itself (`+` keeps the planner off the expiry index), with their blacklist rows, in
/// one `BEGIN IMMEDIATE` transaction, which no other writer enters. SQLite removes a row's
/// index entries with it, so each batch writes every page it deletes from; taken by id, a
/// batch's rows are neighbours in the table, whose pages each batch then writes once for
/// many rows. Taken by expiry, as on Postgres, they would be scattered over the table
/// wherever expiries and ids disagree (lifetimes that changed, tokens of many lifetimes,
/// imported rows), and each page written again by one batch after another.
macro_rules! expired_window {
    () => {
        "SELECT id FROM outstanding_tokens WHERE id > $2 AND id <= $3 AND +expires_at < $1"
    };
}
const FLUSH_BLACKLIST_WINDOW: &str = concat!(
    "DELETE FROM blacklisted_tokens WHERE token_id IN (",
    expired_window!(),
    ")"
);
const FLUSH_TOKEN_WINDOW: &str = concat!(
    "DELETE FROM outstanding_tokens WHERE id IN (",
    expired_window!(),
    ")"
);
/// Postgres: one statement, so that both deletes work on one batch whatever commits
/// meanwhile; yields the tokens and the blacklist rows deleted, and where the batch ended.
/// The batch is handed to the deletes as an array, which they look up by index (`= ANY`)
/// rather than by joining.
const FLUSH_BATCH_PG: &str = concat!(
    "WITH batch AS (",
    expired_batch!("id, expires_at"),
    "), ids AS (SELECT ARRAY(SELECT id FROM batch) AS ids), \
     bl AS (DELETE FROM blacklisted_tokens WHERE token_id = ANY ((SELECT ids FROM ids)::bigint[]) RETURNING 1), \
     tok AS (DELETE FROM outstanding_tokens WHERE id = ANY ((SELECT ids FROM ids)::bigint[]) RETURNING 1) \
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
    /// Records the token `$1`…`$6` if it is not yet, then blacklists it (`$7` when, `$8`
    /// why), returning a row only when this statement blacklisted it: for a transaction.
    pub(super) fn record_and_blacklist_sql(&self) -> &'static str {
        match &self.pool {
            Pool::Sqlite { .. } => concat!(record_and_blacklist!(), " RETURNING 1"),
            Pool::Postgres(_) => concat!(
                "WITH ",
                upsert_old!(),
                " INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) \
                 SELECT id, $7, $8 FROM old_row ON CONFLICT (token_id) DO NOTHING RETURNING 1"
            ),
        }
    }

    /// Records a token as outstanding; for a jti already recorded (a refreshed sliding
    /// token) the expiry and hash are brought up to date.
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
                .bind(jti)
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
        let row: Option<(OffsetDateTime, String, String)> = on_pool!(self, read, |db| {
            sqlx::query_as(BLACKLISTING).bind(jti).fetch_optional(db).await?
        })
        .await?;
        Ok(row.map(|(at, reason, family)| Blacklisting {
            at,
            reason: Reason::parse(&reason),
            family,
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
                .bind(None::<&str>)
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
            let newly = sqlx::query(
                "INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) \
                 SELECT id, $1, $2 FROM outstanding_tokens WHERE jti = $3 \
                 ON CONFLICT (token_id) DO NOTHING",
            )
            .bind(now())
            .bind(reason.as_str())
            .bind(jti)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !newly {
                let known: bool =
                    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM outstanding_tokens WHERE jti = $1)")
                        .bind(jti)
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
