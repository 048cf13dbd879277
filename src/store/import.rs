//! An import of users (`jwtd user import-django`): what it changes, decided once against
//! the users already stored, then written in the same transaction they were read in. The
//! two databases differ in how that transaction keeps others out and in how ids handed out
//! afterwards follow the imported ones.

use std::collections::HashMap;

use time::OffsetDateTime;

use super::{Database, NewUser, Reason, Result, StoreError, User, now};

/// A user as an import brings it: its id and every field of Django's `auth_user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedUser {
    /// Where the record is in its file (1-based), for messages.
    pub position: usize,
    pub id: i64,
    /// The password is stored as given: Django's hash, verified at login and then replaced.
    pub fields: NewUser,
    pub last_login: Option<OffsetDateTime>,
    /// `None` when the record has none: now for a new user, unchanged for a stored one.
    pub date_joined: Option<OffsetDateTime>,
}

/// Where a stored user came from (the `origin` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Created in jwtd itself: `jwtd user create`, the API, registration.
    Local,
    /// Written by an import.
    Import,
    /// Stored before jwtd recorded origins (migration 0004): imported or created, jwtd
    /// cannot tell, so it is overwritten only where the record names the same person.
    Unknown,
}

impl Origin {
    pub(super) fn parse(s: &str) -> Origin {
        match s {
            "import" => Origin::Import,
            "unknown" => Origin::Unknown,
            // Anything else is treated as the one that is never overwritten by surprise.
            _ => Origin::Local,
        }
    }
}

/// A stored user with its origin, as an import reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct Stored {
    #[sqlx(flatten)]
    pub user: User,
    pub origin: String,
}

/// How to import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Overwrite users created in jwtd whose id or username a record takes.
    pub replace: bool,
    /// Plan only: nothing is written.
    pub dry_run: bool,
}

/// A user an import creates, updates or leaves alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub id: i64,
    pub username: String,
    /// The id or the username named someone else before: the tokens issued before the
    /// import are void.
    pub changes_hands: bool,
}

/// A record that would overwrite a user it may not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub id: i64,
    pub username: String,
    /// `record N (pk ID, "username"): why`.
    pub message: String,
}

/// What an import did — or, with conflicts or a dry run, would do (then nothing is written).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub created: Vec<Planned>,
    pub updated: Vec<Planned>,
    /// Already stored exactly so.
    pub unchanged: Vec<Planned>,
    pub conflicts: Vec<Conflict>,
    /// Whether the changes were written.
    pub written: bool,
}

impl ImportReport {
    /// Users whose id or username changed hands (their tokens are revoked).
    pub fn changed_hands(&self) -> usize {
        self.created
            .iter()
            .chain(&self.updated)
            .filter(|p| p.changes_hands)
            .count()
    }
}

pub(super) enum Change<'a> {
    /// A stored user the file renames gives up its name first, so that names can move
    /// between users in any order (a swap included) without tripping the unique index.
    Vacate(i64),
    /// The bool: the id or username changes hands.
    Create(&'a ImportedUser, bool),
    Update(&'a ImportedUser, bool),
    /// A user stored before origins were recorded, which the file gives exactly as stored:
    /// from now on it counts as imported.
    Adopt(i64),
}

/// The name a renamed user holds for the moment of the import: Django's username
/// validator allows no control character, so it clashes with no real name (and, unlike
/// NUL, Postgres stores it).
pub(super) fn vacated_name(id: i64) -> String {
    format!("\u{1}import-{id}")
}

/// The writes that bring `existing` to what `users` say, and the report; an error for a
/// file that cannot be imported whatever is stored (an id or a username given twice).
/// Updates come first, so that a stored user renamed by the file frees its name before a
/// new user takes it.
///
/// A record may not take the id or the username of a user created in jwtd (nor of one
/// stored before origins were recorded, unless it has both its id and its username): that
/// is a conflict, unless `replace`. A username held by a user the file does not change is
/// a conflict in any case, since nothing can be overwritten to free it.
pub(super) fn plan<'a>(
    existing: &[Stored],
    users: &'a [ImportedUser],
    options: ImportOptions,
) -> Result<(Vec<Change<'a>>, ImportReport)> {
    let by_id: HashMap<i64, (&User, Origin)> = existing
        .iter()
        .map(|s| (s.user.id, (&s.user, Origin::parse(&s.origin))))
        .collect();
    let by_name: HashMap<&str, (&User, Origin)> = existing
        .iter()
        .map(|s| (s.user.username.as_str(), (&s.user, Origin::parse(&s.origin))))
        .collect();
    let mut seen: HashMap<i64, usize> = HashMap::new();
    for u in users {
        if let Some(first) = seen.insert(u.id, u.position) {
            return Err(StoreError::Conflict(format!(
                "record {}: pk {} is the pk of record {first} too",
                u.position, u.id
            )));
        }
    }
    let mut names: HashMap<&str, (i64, usize)> = HashMap::new();
    for u in users {
        if let Some((id, position)) = names.insert(&u.fields.username, (u.id, u.position)) {
            return Err(StoreError::Conflict(format!(
                "record {} (pk {}): field username: {:?} is already taken by record {position} (pk {id})",
                u.position, u.id, u.fields.username
            )));
        }
    }
    let (mut vacate, mut updates, mut creates) = (Vec::new(), Vec::new(), Vec::new());
    let mut report = ImportReport::default();
    for u in users {
        let name = u.fields.username.as_str();
        let stored = by_id.get(&u.id).copied();
        let holder = by_name.get(name).copied().filter(|(h, _)| h.id != u.id);
        let mut reasons = Vec::new();
        let mut replaceable = true;
        if let Some((s, origin)) = stored {
            match origin {
                Origin::Local => reasons.push(format!(
                    "pk {} belongs to {:?}, a user created in jwtd",
                    u.id, s.username
                )),
                Origin::Unknown if s.username != name => reasons.push(format!(
                    "pk {} belongs to {:?}, a user stored before jwtd recorded where users come from",
                    u.id, s.username
                )),
                Origin::Unknown | Origin::Import => {}
            }
        }
        if let Some((h, origin)) = holder {
            let whose = match origin {
                Origin::Local => ", created in jwtd",
                Origin::Unknown => ", stored before jwtd recorded where users come from",
                Origin::Import => "",
            };
            if !seen.contains_key(&h.id) {
                replaceable = false;
                reasons.push(format!(
                    "username {name:?} belongs to the user with id {}{whose}, which the file does not \
                     change (delete or rename that user first)",
                    h.id
                ));
            } else if origin != Origin::Import {
                reasons.push(format!(
                    "username {name:?} belongs to the user with id {}{whose}",
                    h.id
                ));
            }
        }
        let replaced = !reasons.is_empty();
        if replaced && !(options.replace && replaceable) {
            report.conflicts.push(Conflict {
                id: u.id,
                username: name.to_string(),
                message: format!(
                    "record {} (pk {}, {name:?}): {}",
                    u.position,
                    u.id,
                    reasons.join("; ")
                ),
            });
            continue;
        }
        let changes_hands = replaced || holder.is_some() || stored.is_some_and(|(s, _)| s.username != name);
        let planned = Planned {
            id: u.id,
            username: name.to_string(),
            changes_hands,
        };
        match stored {
            None => {
                creates.push(Change::Create(u, changes_hands));
                report.created.push(planned);
            }
            Some((s, origin)) if !replaced && same(s, u) => {
                if origin != Origin::Import {
                    updates.push(Change::Adopt(u.id));
                }
                report.unchanged.push(planned);
            }
            Some((s, _)) => {
                if s.username != name {
                    vacate.push(Change::Vacate(u.id));
                }
                updates.push(Change::Update(u, changes_hands));
                report.updated.push(planned);
            }
        }
    }
    vacate.append(&mut updates);
    vacate.append(&mut creates);
    Ok((vacate, report))
}

fn same(stored: &User, u: &ImportedUser) -> bool {
    let f = &u.fields;
    stored.username == f.username
        && stored.password == f.password
        && stored.email == f.email
        && stored.first_name == f.first_name
        && stored.last_name == f.last_name
        && stored.is_active == f.is_active
        && stored.is_staff == f.is_staff
        && stored.is_superuser == f.is_superuser
        && stored.last_login == u.last_login
        && u.date_joined.is_none_or(|d| d == stored.date_joined)
}

const READ: &str = concat!("SELECT ", user_columns!(), ", origin FROM users");
const VACATE: &str = "UPDATE users SET username = $1 WHERE id = $2";
const ADOPT: &str = "UPDATE users SET origin = 'import' WHERE id = $1";
const CREATE: &str = "INSERT INTO users (username, password, email, first_name, last_name, is_active, \
     is_staff, is_superuser, last_login, date_joined, id, replaced_at, origin) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'import')";
const UPDATE: &str = "UPDATE users SET username = $1, password = $2, email = $3, first_name = $4, \
     last_name = $5, is_active = $6, is_staff = $7, is_superuser = $8, last_login = $9, \
     date_joined = COALESCE($10, date_joined), replaced_at = COALESCE($12, replaced_at), \
     origin = 'import' WHERE id = $11";
/// The tokens of whoever held the id before; access tokens, which no blacklist reaches, are
/// refused by `replaced_at`.
const REVOKE_TOKENS: &str = "INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) \
     SELECT id, $1, $2 FROM outstanding_tokens WHERE user_id = $3 AND expires_at > $1 \
     ON CONFLICT (token_id) DO NOTHING";

/// Reads the stored users, plans, and writes the plan, in the transaction `$tx` of either
/// database; returns early (the transaction dropped: rolled back) when nothing is to be
/// written. Expands to the report.
macro_rules! read_plan_write {
    ($tx:ident, $users:ident, $options:ident) => {{
        let existing = sqlx::query_as::<_, Stored>(READ).fetch_all(&mut *$tx).await?;
        let (changes, mut report) = plan(&existing, $users, $options)?;
        if $options.dry_run || !report.conflicts.is_empty() {
            return Ok(report);
        }
        let at = now();
        for change in changes {
            let (sql, u, changes_hands) = match change {
                Change::Vacate(id) => {
                    sqlx::query(VACATE)
                        .bind(vacated_name(id))
                        .bind(id)
                        .execute(&mut *$tx)
                        .await?;
                    continue;
                }
                Change::Adopt(id) => {
                    sqlx::query(ADOPT).bind(id).execute(&mut *$tx).await?;
                    continue;
                }
                Change::Create(u, changes_hands) => (CREATE, u, changes_hands),
                Change::Update(u, changes_hands) => (UPDATE, u, changes_hands),
            };
            // A new user without date_joined joins now; a stored one keeps its date.
            let date_joined = match change {
                Change::Create(..) => Some(u.date_joined.unwrap_or_else(now)),
                _ => u.date_joined,
            };
            bind_user_fields!(sqlx::query(sql), u.fields)
                .bind(u.last_login)
                .bind(date_joined)
                .bind(u.id)
                .bind(changes_hands.then_some(at))
                .execute(&mut *$tx)
                .await?;
            if changes_hands {
                sqlx::query(REVOKE_TOKENS)
                    .bind(at)
                    .bind(Reason::Revoke.as_str())
                    .bind(u.id)
                    .execute(&mut *$tx)
                    .await?;
            }
        }
        report.written = true;
        report
    }};
}

impl Database {
    /// Creates or updates users by id, all in one transaction or not at all; ids handed out
    /// afterwards come after the largest imported one. With conflicts (see `plan`) or
    /// `dry_run`, nothing is written and the report says what would have been. Users whose
    /// id or username changes hands have their tokens blacklisted in the same transaction.
    pub async fn import_users(&self, users: &[ImportedUser], options: ImportOptions) -> Result<ImportReport> {
        // One transaction over the whole file may take longer than database_timeout, which
        // is meant for requests; as with migrations, no limit.
        self.queries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = self.wrote(self.import_unbounded(users, options).await);
        self.forget_users();
        // Blacklisted tokens of users that changed hands.
        self.forget_tokens();
        result
    }

    async fn import_unbounded(&self, users: &[ImportedUser], options: ImportOptions) -> Result<ImportReport> {
        match &self.pool {
            // SQLite: the write lock, taken up front, keeps every other writer out.
            super::Pool::Sqlite { writer, .. } => {
                let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
                let report = read_plan_write!(tx, users, options);
                // AUTOINCREMENT keeps sqlite_sequence at the largest id ever inserted,
                // explicit ones included: the next `user create` gets a fresh id with
                // nothing more to do.
                tx.commit().await?;
                Ok(report)
            }
            // Postgres: logins rehash passwords and commands change users meanwhile: they
            // wait until the import is done, so that what was read is what gets written over.
            super::Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
                let report = read_plan_write!(tx, users, options);
                if !report.created.is_empty() {
                    // Explicit ids do not move the identity sequence: move it past them
                    // (never back, so that the ids of deleted users are not handed out again).
                    sqlx::query(
                        "SELECT setval(pg_get_serial_sequence('users', 'id'), \
                         GREATEST(nextval(pg_get_serial_sequence('users', 'id')) - 1, (SELECT MAX(id) FROM users)))",
                    )
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(report)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, username: &str) -> User {
        User {
            id,
            username: username.into(),
            password: "pbkdf2_sha256$1$s$h".into(),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            is_active: true,
            is_staff: false,
            is_superuser: false,
            last_login: None,
            date_joined: OffsetDateTime::UNIX_EPOCH,
            replaced_at: None,
        }
    }

    fn stored(id: i64, username: &str) -> Stored {
        stored_from(id, username, "import")
    }

    fn stored_from(id: i64, username: &str, origin: &str) -> Stored {
        Stored {
            user: user(id, username),
            origin: origin.into(),
        }
    }

    fn imported(position: usize, id: i64, username: &str) -> ImportedUser {
        let u = user(id, username);
        ImportedUser {
            position,
            id,
            fields: NewUser {
                username: u.username,
                password: u.password,
                is_active: true,
                ..Default::default()
            },
            last_login: None,
            date_joined: Some(u.date_joined),
        }
    }

    fn report(existing: &[Stored], users: &[ImportedUser], replace: bool) -> ImportReport {
        let options = ImportOptions {
            replace,
            dry_run: false,
        };
        plan(existing, users, options).unwrap().1
    }

    fn error(result: Result<(Vec<Change<'_>>, ImportReport)>) -> String {
        match result {
            Err(StoreError::Conflict(m)) => m,
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("accepted"),
        }
    }

    fn ids(planned: &[Planned]) -> Vec<(i64, bool)> {
        planned.iter().map(|p| (p.id, p.changes_hands)).collect()
    }

    #[test]
    fn counts_created_updated_unchanged() {
        let existing = [stored(1, "a"), stored(2, "b"), stored(9, "z")];
        let mut changed = imported(2, 2, "b");
        changed.fields.is_staff = true;
        let mut no_date = imported(3, 1, "a");
        no_date.date_joined = None;
        let users = [imported(1, 3, "c"), changed, no_date];
        let (changes, r) = plan(&existing, &users, ImportOptions::default()).unwrap();
        assert_eq!(ids(&r.created), [(3, false)]);
        assert_eq!(ids(&r.updated), [(2, false)]);
        assert_eq!(ids(&r.unchanged), [(1, false)]);
        assert!(r.conflicts.is_empty());
        assert_eq!(changes.len(), 2);
    }

    #[test]
    fn usernames_stay_unique() {
        let existing = [stored(1, "a"), stored(2, "b")];
        let r = report(&existing, &[imported(1, 5, "b")], true);
        assert_eq!(
            r.conflicts[0].message,
            "record 1 (pk 5, \"b\"): username \"b\" belongs to the user with id 2, which the file \
             does not change (delete or rename that user first)"
        );
        let m = error(plan(
            &[],
            &[imported(1, 1, "x"), imported(2, 2, "x")],
            ImportOptions::default(),
        ));
        assert_eq!(
            m,
            "record 2 (pk 2): field username: \"x\" is already taken by record 1 (pk 1)"
        );
        // Renaming a stored user frees its old name for another record: both change hands.
        let r = report(
            &existing,
            &[imported(1, 1, "renamed"), imported(2, 7, "a")],
            false,
        );
        assert!(r.conflicts.is_empty());
        assert_eq!(ids(&r.updated), [(1, true)]);
        assert_eq!(ids(&r.created), [(7, true)]);
    }

    #[test]
    fn an_id_given_twice_is_refused() {
        let m = error(plan(
            &[],
            &[imported(1, 1, "x"), imported(4, 1, "y")],
            ImportOptions::default(),
        ));
        assert_eq!(m, "record 4: pk 1 is the pk of record 1 too");
    }

    #[test]
    fn users_created_in_jwtd_are_replaced_only_on_purpose() {
        let existing = [stored_from(1, "alice", "local"), stored_from(2, "bob", "local")];
        let users = [
            imported(1, 1, "ann"),
            imported(2, 3, "bob"),
            imported(3, 4, "cid"),
        ];
        let r = report(&existing, &users, false);
        let messages: Vec<&str> = r.conflicts.iter().map(|c| c.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "record 1 (pk 1, \"ann\"): pk 1 belongs to \"alice\", a user created in jwtd",
                "record 2 (pk 3, \"bob\"): username \"bob\" belongs to the user with id 2, created in \
                 jwtd, which the file does not change (delete or rename that user first)",
            ]
        );
        assert_eq!(ids(&r.created), [(4, false)]);
        // --replace overwrites alice, never bob (nothing the file says frees his name).
        let r = report(&existing, &users, true);
        assert_eq!(ids(&r.updated), [(1, true)]);
        assert_eq!(r.conflicts.len(), 1);
        // Same id and username, yet created in jwtd: still a conflict, still a replacement.
        let same = [imported(1, 1, "alice")];
        assert_eq!(report(&existing, &same, false).conflicts.len(), 1);
        assert_eq!(ids(&report(&existing, &same, true).updated), [(1, true)]);
    }

    #[test]
    fn users_stored_before_origins_were_recorded() {
        let existing = [stored_from(1, "ann", "unknown"), stored_from(2, "ben", "unknown")];
        // The same id and username: the same person, adopted (or updated) as imported.
        let mut changed = imported(2, 2, "ben");
        changed.fields.email = "ben@example.test".into();
        let users = [imported(1, 1, "ann"), changed];
        let (changes, r) = plan(&existing, &users, ImportOptions::default()).unwrap();
        assert!(r.conflicts.is_empty());
        assert_eq!(ids(&r.unchanged), [(1, false)]);
        assert_eq!(ids(&r.updated), [(2, false)]);
        assert!(matches!(changes[0], Change::Adopt(1)));
        // Another name under the id, or the name under another id: a conflict.
        let r = report(&existing, &[imported(1, 1, "ben"), imported(2, 2, "ann")], false);
        assert_eq!(r.conflicts.len(), 2, "{r:?}");
        let r = report(&existing, &[imported(1, 1, "ben"), imported(2, 2, "ann")], true);
        assert_eq!(ids(&r.updated), [(1, true), (2, true)]);
    }

    #[test]
    fn imported_users_keep_or_lose_their_identity() {
        let existing = [stored(1, "ann"), stored(2, "ben"), stored(3, "cid")];
        let users = [
            imported(1, 1, "ann"),
            imported(2, 2, "bob"),
            imported(3, 3, "dan"),
            imported(4, 4, "cid"),
        ];
        let r = report(&existing, &users, false);
        assert!(r.conflicts.is_empty());
        assert_eq!(ids(&r.unchanged), [(1, false)]);
        assert_eq!(ids(&r.updated), [(2, true), (3, true)]);
        assert_eq!(ids(&r.created), [(4, true)]);
        assert_eq!(r.changed_hands(), 3);
    }
}
