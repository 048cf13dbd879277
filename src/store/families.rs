//! The `token_families` table: the tokens descending from one login, for refresh-token
//! reuse detection. Rotation and a revocation of the family must be ordered — a token a
//! rotation records while the family is revoked would escape the revocation — and the two
//! databases order them differently, so these writes have one body per database, side by
//! side: on SQLite the file's one write lock (`BEGIN IMMEDIATE`) orders them; on Postgres
//! the family's row lock does.

use super::audit::insert_events;
use super::tokens::{Key, bind_token, record_and_blacklist, upsert_old};
use super::{Database, NewEvent, OutstandingToken, Pool, Reason, Result, now};

/// Marks the family `$3` revoked at `$1` for reason `$2`, creating its row; a revoked
/// family keeps its first revocation's time and reason.
pub(super) const REVOKE_FAMILY: &str = "INSERT INTO token_families (family, revoked_at, reason) VALUES ($3, $1, $2) \
     ON CONFLICT (family) DO UPDATE SET revoked_at = COALESCE(token_families.revoked_at, excluded.revoked_at), \
     reason = COALESCE(token_families.reason, excluded.reason)";
/// Blacklists the unexpired tokens of the family `$3` at `$1` for reason `$2`.
pub(super) const BLACKLIST_FAMILY_TOKENS: &str = "INSERT INTO blacklisted_tokens (jti, blacklisted_at, reason) \
     SELECT jti, $1, $2 FROM outstanding_tokens WHERE (family = $3 OR jti = $3) AND expires_at > $1 \
     ON CONFLICT (jti) DO NOTHING";

/// Revokes the family `$family` for `$reason` in the transaction `$tx`: marks it revoked,
/// then blacklists its unexpired tokens, in two statements. On Postgres the first takes the
/// family's row lock, after any rotation of the family under way has committed, and the
/// second, with a snapshot taken only then, sees the token that rotation recorded (one
/// statement would not: its snapshot predates the wait); on SQLite the write lock orders
/// them. Yields how many tokens were newly blacklisted. For the bodies of `in_transaction!`;
/// `$family` is a `Key`.
macro_rules! revoke_family {
    ($tx:ident, $family:expr, $reason:expr) => {{
        let at = $crate::store::now();
        let family: $crate::store::tokens::Key = $family;
        let mut blacklisted = 0;
        for sql in [
            $crate::store::families::REVOKE_FAMILY,
            $crate::store::families::BLACKLIST_FAMILY_TOKENS,
        ] {
            blacklisted = sqlx::query(sql)
                .bind(at)
                .bind($reason.as_str())
                .bind(family)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
        }
        blacklisted
    }};
}

/// The result of rotating a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The old token was blacklisted by this call and the new one recorded.
    Rotated,
    /// Another request blacklisted the old token first; nothing was written.
    AlreadyBlacklisted,
    /// The old token's family is revoked: no new token was recorded.
    FamilyRevoked,
}

/// The result of recording a token in its family (`add_to_family`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    Added,
    /// The family is revoked: nothing was recorded.
    FamilyRevoked,
    /// The token's user was deleted: nothing was recorded.
    UserDeleted,
}

impl Joined {
    fn refused(family_revoked: bool) -> Joined {
        if family_revoked {
            Joined::FamilyRevoked
        } else {
            Joined::UserDeleted
        }
    }
}

/// Postgres: locks the row of the family `$family` (creating it), as the first thing its
/// statement does that the others wait for: `RETURNING` then gives the revocation committed
/// last, even one committed after the statement began, which a plain `SELECT` would not see.
macro_rules! lock_family {
    ($family:literal) => {
        concat!(
            "fam AS (INSERT INTO token_families (family) ",
            $family,
            " ON CONFLICT (family) DO UPDATE SET revoked_at = token_families.revoked_at \
             RETURNING revoked_at, reason)"
        )
    };
}

impl Database {
    /// In one transaction: blacklist `old` (recording it if needed) and record `new` in
    /// `old`'s family — unless `old` is already blacklisted, in which case nothing is
    /// written, or the family is revoked, in which case `new` is not recorded. The unique
    /// blacklist row decides between concurrent rotations, on one instance or many; the
    /// family's lock orders a rotation and a revocation of its family.
    pub async fn rotate(&self, old: &OutstandingToken, new: &OutstandingToken) -> Result<Rotation> {
        let done = self.bounded(async {
            match &self.pool {
                // One transaction, three trips (begin, the statements, commit): the new token
                // is recorded only if the blacklist insert before it changed a row
                // (`changes()`), i.e. if this call, not a concurrent one, rotated the old
                // token away, and if the family is not revoked.
                Pool::Sqlite { writer, .. } => {
                    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
                    let rows = bind_token!(
                        sqlx::query(concat!(
                            record_and_blacklist!(),
                            "; INSERT INTO outstanding_tokens (user_id, jti, family, expires_at) \
                             SELECT (SELECT id FROM users WHERE id = ?7), ?8, COALESCE(family, jti), ?9 \
                             FROM outstanding_tokens o WHERE jti = ?2 AND changes() = 1 \
                             AND NOT EXISTS (SELECT 1 FROM token_families f \
                               WHERE f.family = COALESCE(o.family, o.jti) AND f.revoked_at IS NOT NULL) RETURNING 1"
                        )),
                        old
                    )
                    .bind(now())
                    .bind(Reason::Rotation.as_str())
                    .bind(new.user_id)
                    .bind(Key::of(&new.jti))
                    .bind(new.expires_at)
                    .fetch_all(&mut *tx)
                    .await?;
                    if !rows.is_empty() {
                        tx.commit().await?;
                        return Ok(Rotation::Rotated);
                    }
                    let revoked = sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM outstanding_tokens o JOIN token_families f \
                         ON f.family = COALESCE(o.family, o.jti) WHERE o.jti = $1 AND f.revoked_at IS NOT NULL)",
                    )
                    .bind(Key::of(&old.jti))
                    .fetch_one(&mut *tx)
                    .await?;
                    tx.rollback().await?;
                    Ok(if revoked {
                        Rotation::FamilyRevoked
                    } else {
                        Rotation::AlreadyBlacklisted
                    })
                }
                // One statement. The old token's family is locked before the old token is
                // blacklisted (the blacklist row depends on `fam`), as `blacklist_family`
                // does: a rotation and a revocation of one family take their locks in the
                // same order and never deadlock. If the family is revoked, the old token is
                // blacklisted for the revocation's reason and nothing is recorded.
                Pool::Postgres(pool) => {
                    let (rotated, revoked): (bool, bool) = bind_token!(
                        sqlx::query_as(concat!(
                            "WITH ",
                            upsert_old!(),
                            ", ",
                            lock_family!("SELECT COALESCE(family, jti) FROM old_row"),
                            ", banned AS (INSERT INTO blacklisted_tokens (jti, blacklisted_at, reason) \
                               SELECT o.jti, $5, COALESCE(f.reason, 'rotation') FROM old_row o, fam f \
                               ON CONFLICT (jti) DO NOTHING RETURNING jti), \
                             fresh AS (INSERT INTO outstanding_tokens (user_id, jti, family, expires_at) \
                               SELECT (SELECT id FROM users WHERE id = $6), $7, COALESCE(o.family, o.jti), $8 \
                               FROM old_row o, fam f WHERE f.revoked_at IS NULL AND EXISTS (SELECT 1 FROM banned) RETURNING jti) \
                             SELECT EXISTS (SELECT 1 FROM fresh), EXISTS (SELECT 1 FROM fam WHERE revoked_at IS NOT NULL)"
                        )),
                        old
                    )
                    .bind(now())
                    .bind(new.user_id)
                    .bind(Key::of(&new.jti))
                    .bind(new.expires_at)
                    .fetch_one(pool)
                    .await?;
                    Ok(if rotated {
                        Rotation::Rotated
                    } else if revoked {
                        Rotation::FamilyRevoked
                    } else {
                        Rotation::AlreadyBlacklisted
                    })
                }
            }
        });
        let result = self.wrote(done.await);
        self.forget_token(&old.jti);
        result
    }

    /// Records `new` in its family (`new.family`, else its own), as `add_outstanding` does,
    /// unless the family is revoked or `new`'s user (if it names one) no longer exists.
    /// Ordered with revocations of the family as `rotate` is, and with a deletion of the
    /// user: on Postgres the family's row lock, then a share lock on the user's row (the
    /// order a deletion takes them in, after the user's tokens), read under that lock so
    /// that a deletion that committed meanwhile is seen — not a user the statement's
    /// snapshot still shows, whose token would break the foreign key or, looked up as
    /// `add_outstanding` does, be recorded without a user and outlive the deletion that
    /// revoked the rest. On SQLite the write lock orders them.
    pub async fn add_to_family(&self, new: &OutstandingToken) -> Result<Joined> {
        // A token of no family is the first of its own.
        let family = new.family.as_deref().unwrap_or(&new.jti);
        let new = &OutstandingToken {
            family: Some(family.to_owned()),
            ..new.clone()
        };
        let family = Key::of(family);
        let done = self.bounded(async {
            match &self.pool {
                Pool::Sqlite { writer, .. } => {
                    let added = bind_token!(
                        sqlx::query(
                            "INSERT INTO outstanding_tokens (user_id, jti, family, expires_at) \
                             SELECT $1, $2, $3, $4 \
                             WHERE NOT EXISTS (SELECT 1 FROM token_families WHERE family = $3 AND revoked_at IS NOT NULL) \
                             AND ($1 IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = $1)) \
                             ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at"
                        ),
                        new
                    )
                    .execute(writer)
                    .await?
                    .rows_affected()
                        == 1;
                    if added {
                        return Ok(Joined::Added);
                    }
                    // A revoked family stays revoked: read after the insert, it still tells.
                    let revoked = sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM token_families WHERE family = $1 AND revoked_at IS NOT NULL)",
                    )
                    .bind(family)
                    .fetch_one(writer)
                    .await?;
                    Ok(Joined::refused(revoked))
                }
                // One statement: the owner's row is locked only once the family's row is
                // (it is read through `fam`).
                Pool::Postgres(pool) => {
                    let (added, revoked): (bool, bool) = bind_token!(
                        sqlx::query_as(concat!(
                            "WITH ",
                            lock_family!("VALUES ($3::uuid)"),
                            ", owner AS (SELECT u.id FROM fam, users u \
                               WHERE fam.revoked_at IS NULL AND u.id = $1 FOR KEY SHARE OF u), \
                             added AS (INSERT INTO outstanding_tokens (user_id, jti, family, expires_at) \
                               SELECT owner.id, $2, $3, $4 FROM fam LEFT JOIN owner ON true \
                               WHERE fam.revoked_at IS NULL AND ($1::bigint IS NULL OR owner.id IS NOT NULL) \
                               ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at RETURNING 1) \
                             SELECT EXISTS (SELECT 1 FROM added), EXISTS (SELECT 1 FROM fam WHERE revoked_at IS NOT NULL)"
                        )),
                        new
                    )
                    .fetch_one(pool)
                    .await?;
                    Ok(if added { Joined::Added } else { Joined::refused(revoked) })
                }
            }
        });
        self.wrote(done.await)
    }

    /// Marks a family revoked and blacklists every unexpired token of it, in one transaction
    /// that waits for rotations of the family under way: a token they record is blacklisted,
    /// and none is recorded afterwards. Returns how many tokens were newly blacklisted.
    pub async fn blacklist_family(&self, family: &str, reason: Reason) -> Result<u64> {
        self.blacklist_family_audited(family, reason, &[]).await
    }

    /// `blacklist_family` with `events` (`refresh_reuse_detected`, `token_revoked`), in one
    /// transaction.
    pub async fn blacklist_family_audited(
        &self,
        family: &str,
        reason: Reason,
        events: &[NewEvent],
    ) -> Result<u64> {
        let done = in_transaction!(self, |tx| {
            let blacklisted = revoke_family!(tx, Key::of(family), reason);
            insert_events!(tx, events);
            tx.commit().await?;
            blacklisted
        });
        let result = self.wrote(done.await);
        self.forget_tokens();
        result
    }

    /// Ends the session (the family) of the refresh token `token` — `token.family`, else
    /// the family it was recorded in, else its own — at a logout: blacklists the token
    /// (recording it first if it is not), marks its family revoked and blacklists the
    /// family's other unexpired tokens, with `events`, in one transaction; as
    /// `blacklist_audited`, nothing is written unless this call blacklisted the token.
    pub async fn end_session_audited(
        &self,
        token: &OutstandingToken,
        reason: Reason,
        events: &[NewEvent],
    ) -> Result<bool> {
        let blacklist = self.record_and_blacklist_sql();
        let done = in_transaction!(self, |tx| {
            let jti = Key::of(&token.jti);
            let family = match &token.family {
                Some(family) => Key::of(family),
                None => {
                    sqlx::query_scalar("SELECT COALESCE(family, jti) FROM outstanding_tokens WHERE jti = $1")
                        .bind(jti)
                        .fetch_optional(&mut *tx)
                        .await?
                        .unwrap_or(jti)
                }
            };
            let at = now();
            // The family first, as a rotation locks it before it blacklists (Postgres).
            sqlx::query(REVOKE_FAMILY)
                .bind(at)
                .bind(reason.as_str())
                .bind(family)
                .execute(&mut *tx)
                .await?;
            let rows = bind_token!(sqlx::query(blacklist), token)
                .bind(at)
                .bind(reason.as_str())
                .fetch_all(&mut *tx)
                .await?;
            if rows.len() != 1 {
                return Ok(false);
            }
            sqlx::query(BLACKLIST_FAMILY_TOKENS)
                .bind(at)
                .bind(reason.as_str())
                .bind(family)
                .execute(&mut *tx)
                .await?;
            insert_events!(tx, events);
            tx.commit().await?;
            true
        });
        let result = self.wrote(done.await);
        self.forget_tokens();
        result
    }
}
