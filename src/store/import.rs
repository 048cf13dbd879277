//! An import of users (`jwtd user import-django`): what it changes, decided once against
//! the users already stored, then written in the same transaction they were read in. The
//! two databases differ in how that transaction keeps others out and in how ids handed out
//! afterwards follow the imported ones.

use std::collections::{HashMap, HashSet};

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
/// The users one by one are kept for a dry run only (it prints them); the counts always.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub created: Vec<Planned>,
    pub updated: Vec<Planned>,
    /// Already stored exactly so.
    pub unchanged: Vec<Planned>,
    pub conflicts: Vec<Conflict>,
    pub counts: ImportCounts,
    /// Whether the changes were written.
    pub written: bool,
}

/// How many users an import creates, updates, leaves alone, and gives to someone else.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Users whose id or username changed hands (their tokens are revoked).
    pub changed_hands: usize,
}

impl ImportReport {
    /// Users whose id or username changed hands (their tokens are revoked).
    pub fn changed_hands(&self) -> usize {
        self.counts.changed_hands
    }

    /// Adds a batch's report to this one, its users one by one only if `keep`.
    fn absorb(&mut self, batch: ImportReport, keep: bool) {
        self.counts.created += batch.counts.created;
        self.counts.updated += batch.counts.updated;
        self.counts.unchanged += batch.counts.unchanged;
        self.counts.changed_hands += batch.counts.changed_hands;
        self.conflicts.extend(batch.conflicts);
        if keep {
            self.created.extend(batch.created);
            self.updated.extend(batch.updated);
            self.unchanged.extend(batch.unchanged);
        }
    }
}

pub(super) enum Change<'a> {
    /// A stored user the file renames gives up its name first, so that names can move
    /// between users in any order (a swap included) without tripping the unique index:
    /// its id, the name it gives up and where it came from.
    Vacate(i64, String, Origin),
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
#[cfg(test)]
pub(super) fn plan<'a>(
    existing: &[Stored],
    users: &'a [ImportedUser],
    options: ImportOptions,
) -> Result<(Vec<Change<'a>>, ImportReport)> {
    let mut in_file: Vec<i64> = users.iter().map(|u| u.id).collect();
    in_file.sort_unstable();
    plan_batch(existing, users, options, &in_file, &HashMap::new())
}

/// `plan` for one batch of the file's users: `in_file`, the ids of every user of the file
/// (sorted); `freed`, the usernames earlier batches took from their holders (who held them,
/// and where that user came from), which the stored rows no longer show.
pub(super) fn plan_batch<'a>(
    existing: &[Stored],
    users: &'a [ImportedUser],
    options: ImportOptions,
    in_file: &[i64],
    freed: &HashMap<String, (i64, Origin)>,
) -> Result<(Vec<Change<'a>>, ImportReport)> {
    let by_id: HashMap<i64, (&User, Origin)> = existing
        .iter()
        .map(|s| (s.user.id, (&s.user, Origin::parse(&s.origin))))
        .collect();
    let by_name: HashMap<&str, (i64, Origin)> = existing
        .iter()
        .map(|s| (s.user.username.as_str(), (s.user.id, Origin::parse(&s.origin))))
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
        let stored_holder = by_name.get(name).copied().filter(|(h, _)| *h != u.id);
        let holder = stored_holder.or_else(|| freed.get(name).copied().filter(|(h, _)| *h != u.id));
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
            if in_file.binary_search(&h).is_err() {
                replaceable = false;
                reasons.push(format!(
                    "username {name:?} belongs to the user with id {h}{whose}, which the file does not \
                     change (delete or rename that user first)"
                ));
            } else if origin != Origin::Import {
                reasons.push(format!(
                    "username {name:?} belongs to the user with id {h}{whose}"
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
        report.counts.changed_hands += usize::from(changes_hands);
        // A holder the file renames in a later batch gives the name up now (see `Import`).
        if let Some((h, origin)) = stored_holder {
            vacate.push(Change::Vacate(h, name.to_string(), origin));
        }
        match stored {
            None => {
                creates.push(Change::Create(u, changes_hands));
                report.counts.created += 1;
                report.created.push(planned);
            }
            Some((s, origin)) if !replaced && same(s, u) => {
                if origin != Origin::Import {
                    updates.push(Change::Adopt(u.id));
                }
                report.counts.unchanged += 1;
                report.unchanged.push(planned);
            }
            Some((s, origin)) => {
                if s.username != name {
                    vacate.push(Change::Vacate(u.id, s.username.clone(), origin));
                }
                updates.push(Change::Update(u, changes_hands));
                report.counts.updated += 1;
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

const VACATE: &str = "UPDATE users SET username = $1 WHERE id = $2";
const ADOPT: &str = "UPDATE users SET origin = 'import' WHERE id = $1";
const UPDATE: &str = "UPDATE users SET username = $1, password = $2, email = $3, first_name = $4, \
     last_name = $5, is_active = $6, is_staff = $7, is_superuser = $8, last_login = $9, \
     date_joined = COALESCE($10, date_joined), replaced_at = COALESCE($12, replaced_at), \
     origin = 'import' WHERE id = $11";
/// The tokens of whoever held the id before; access tokens, which no blacklist reaches, are
/// refused by `replaced_at`.
const REVOKE_TOKENS: &str = "INSERT INTO blacklisted_tokens (jti, blacklisted_at, reason) \
     SELECT jti, $1, $2 FROM outstanding_tokens WHERE user_id = $3 AND expires_at > $1 \
     ON CONFLICT (jti) DO NOTHING";
/// Users created per INSERT statement: 13 parameters each, well under either database's
/// limit on the parameters of a statement.
pub const IMPORT_BATCH: usize = 1000;
/// The columns of a created user, in the order both the INSERT (SQLite) and the COPY
/// (Postgres) write them.
macro_rules! import_columns {
    () => {
        "username, password, email, first_name, last_name, is_active, is_staff, is_superuser, \
         last_login, date_joined, id, replaced_at, origin"
    };
}
/// Postgres takes new users by COPY: no statement to parse and no parameter to bind per row.
const COPY_USERS: &str = concat!("COPY users (", import_columns!(), ") FROM STDIN");
/// COPY data held before it is sent, when nothing reads the new users before the end (about
/// ten batches of users).
const COPY_BYTES: usize = 2_500_000;

/// The indexes of `users` that serve reads only (every one but the unique ones, which the
/// import's own lookups and the uniqueness of ids and usernames need), as Postgres's catalog
/// gives them: whatever the migrations defined, dropped and created again from the same text.
const PG_READ_INDEXES: &str = "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), \
     pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.indrelid = 'users'::regclass \
     AND NOT i.indisunique AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = i.indexrelid) \
     ORDER BY c.relname";
/// SQLite's FTS5 table of the user search (migration 0007), kept by triggers on `users`.
const SQLITE_SEARCH_TABLE: &str = "users_search";
/// On SQLite, the indexes of `users` that serve reads only (as `PG_READ_INDEXES`) and the
/// triggers that keep the search table, with the statements that made them.
const SQLITE_READ_INDEXES: &str = "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'users' \
     AND sql IS NOT NULL AND ((type = 'index' AND name IN \
     (SELECT name FROM pragma_index_list('users') WHERE \"unique\" = 0)) \
     OR (type = 'trigger' AND instr(sql, $1) > 0)) ORDER BY type, name";

/// The transaction an import runs in, on either database.
enum ImportTx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$tx` bound to the import's transaction and `$db` to its database type:
/// one body for both.
macro_rules! with_tx {
    ($import:expr, |$tx:ident, $db:ident| $body:expr) => {
        match &mut $import.tx {
            ImportTx::Sqlite($tx) => {
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                $body
            }
            ImportTx::Postgres($tx) => {
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                $body
            }
        }
    };
}

/// One import, batch after batch, in one transaction: all of it is written or none. Each
/// batch's users are planned against the stored users they concern, read in the same
/// transaction (which earlier batches wrote in), so the file is never held whole. Who held
/// a name at the start outlives its renaming in an earlier batch (`freed`), and a stored
/// user that a record takes the name of, and that the file renames later, gives the name up
/// at once: the plan is the one the whole file would get at once.
pub struct Import<'a> {
    db: &'a Database,
    tx: ImportTx,
    options: ImportOptions,
    in_file: Vec<i64>,
    freed: HashMap<String, (i64, Origin)>,
    report: ImportReport,
    at: OffsetDateTime,
    /// What `finish` runs before committing, when the import began on an empty table: the
    /// statements that make the indexes (and on SQLite the search's triggers) dropped at the
    /// start again.
    rebuild: Vec<String>,
    /// The file gives no id and no username twice (its reader checked).
    distinct: bool,
    /// Every user of the file is new: the table was empty at the start and the file
    /// `distinct`, so that no batch can find a stored user it concerns and none looks.
    all_new: bool,
    /// New users not sent yet (Postgres), as COPY data.
    copy: Vec<u8>,
}

impl Database {
    /// Begins an import of users by id (`jwtd user import-django`); `in_file`: the ids of
    /// every user of the file. Logins rehash passwords and commands change users meanwhile:
    /// they wait until the import is done (SQLite: the write lock, taken up front; Postgres:
    /// a lock on the table), so that what is read is what gets written over. One
    /// transaction over the whole file may take longer than database_timeout, which is
    /// meant for requests; as with migrations, no limit. `distinct`: the caller has checked
    /// that the file gives no id and no username twice.
    pub async fn begin_import(
        &self,
        options: ImportOptions,
        mut in_file: Vec<i64>,
        distinct: bool,
    ) -> Result<Import<'_>> {
        self.queries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tx = match &self.pool {
            super::Pool::Sqlite { writer, .. } => {
                ImportTx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?)
            }
            super::Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
                ImportTx::Postgres(tx)
            }
        };
        in_file.sort_unstable();
        in_file.dedup();
        let mut import = Import {
            db: self,
            tx,
            options,
            in_file,
            freed: HashMap::new(),
            report: ImportReport::default(),
            at: now(),
            rebuild: Vec::new(),
            distinct,
            all_new: false,
            copy: Vec::new(),
        };
        if !options.dry_run && !import.in_file.is_empty() {
            import.defer_indexes().await?;
        }
        Ok(import)
    }
}

/// `name` as an SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Import<'_> {
    /// Into an empty table (moving a Django project to a new jwtd), every user is new: the
    /// indexes that serve reads only are dropped in the import's transaction and built once
    /// at the end (`finish`), instead of taking a million users one row at a time (the
    /// trigram indexes above all). A rollback brings them back as they were, as it does the
    /// table. On Postgres dropping them locks `users` against readers too until the import
    /// ends: logins wait instead of finding nobody. A table with users keeps its indexes
    /// and its readers.
    async fn defer_indexes(&mut self) -> Result<()> {
        let empty = with_tx!(self, |tx, Db| sqlx::query_scalar::<Db, i32>(
            "SELECT 1 FROM users LIMIT 1"
        )
        .fetch_optional(&mut **tx)
        .await?
        .is_none());
        if !empty {
            return Ok(());
        }
        self.all_new = self.distinct;
        match &mut self.tx {
            ImportTx::Postgres(tx) => {
                let indexes: Vec<(String, String)> =
                    sqlx::query_as(PG_READ_INDEXES).fetch_all(&mut **tx).await?;
                if indexes.is_empty() {
                    return Ok(());
                }
                let names: Vec<&str> = indexes.iter().map(|(name, _)| name.as_str()).collect();
                let drop = format!("DROP INDEX {}", names.join(", "));
                sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut **tx).await?;
                self.rebuild.extend(indexes.into_iter().map(|(_, create)| create));
            }
            ImportTx::Sqlite(tx) => {
                let objects: Vec<(String, String, String)> = sqlx::query_as(SQLITE_READ_INDEXES)
                    .bind(SQLITE_SEARCH_TABLE)
                    .fetch_all(&mut **tx)
                    .await?;
                let mut triggers = false;
                for (kind, name, _) in &objects {
                    triggers |= kind == "trigger";
                    let drop = format!("DROP {} {}", kind.to_uppercase(), quoted(name));
                    sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut **tx).await?;
                }
                if triggers {
                    // The search table holds no row of an empty `users`: it is filled
                    // from the table at the end, in one pass.
                    self.rebuild.push(format!(
                        "INSERT INTO {0} ({0}) VALUES ('rebuild')",
                        quoted(SQLITE_SEARCH_TABLE)
                    ));
                }
                self.rebuild
                    .extend(objects.into_iter().map(|(_, _, create)| create));
            }
        }
        Ok(())
    }
}

impl Database {
    /// Imports users held in memory, all or nothing: `begin_import`, a batch at a time,
    /// `finish`.
    pub async fn import_users(&self, users: &[ImportedUser], options: ImportOptions) -> Result<ImportReport> {
        let ids: HashSet<i64> = users.iter().map(|u| u.id).collect();
        let names: HashSet<&str> = users.iter().map(|u| u.fields.username.as_str()).collect();
        let distinct = ids.len() == users.len() && names.len() == users.len();
        let mut import = self
            .begin_import(options, ids.into_iter().collect(), distinct)
            .await?;
        for batch in users.chunks(IMPORT_BATCH) {
            import.batch(batch).await?;
        }
        import.finish().await
    }
}

impl Import<'_> {
    /// Plans a batch of the file's users (at most `IMPORT_BATCH`) and, unless this is a dry
    /// run or a record so far conflicts, writes it.
    pub async fn batch(&mut self, users: &[ImportedUser]) -> Result<()> {
        let result = self.batch_unbounded(users).await;
        self.db.wrote(result)
    }

    async fn batch_unbounded(&mut self, users: &[ImportedUser]) -> Result<()> {
        let existing: Vec<Stored> = if self.all_new {
            Vec::new()
        } else {
            self.stored(users).await?
        };
        let (changes, report) = plan_batch(&existing, users, self.options, &self.in_file, &self.freed)?;
        let write = !self.options.dry_run && self.report.conflicts.is_empty() && report.conflicts.is_empty();
        self.report.absorb(report, self.options.dry_run);
        if !write {
            return Ok(());
        }
        let at = self.at;
        let mut creates = Vec::new();
        for change in changes {
            match change {
                Change::Vacate(id, name, origin) => {
                    with_tx!(self, |tx, Db| {
                        sqlx::query(VACATE)
                            .bind(vacated_name(id))
                            .bind(id)
                            .execute(&mut **tx)
                            .await?
                            .rows_affected()
                    });
                    if !name.starts_with('\u{1}') {
                        self.freed.entry(name).or_insert((id, origin));
                    }
                }
                Change::Adopt(id) => {
                    with_tx!(self, |tx, Db| sqlx::query(ADOPT)
                        .bind(id)
                        .execute(&mut **tx)
                        .await?
                        .rows_affected());
                }
                Change::Create(u, changes_hands) => creates.push((u, changes_hands)),
                Change::Update(u, changes_hands) => {
                    with_tx!(self, |tx, Db| {
                        bind_user_fields!(sqlx::query(UPDATE), u.fields)
                            .bind(u.last_login)
                            .bind(u.date_joined)
                            .bind(u.id)
                            .bind(changes_hands.then_some(at))
                            .execute(&mut **tx)
                            .await?
                            .rows_affected()
                    });
                    if changes_hands {
                        self.revoke(u.id).await?;
                    }
                }
            }
        }
        for rows in creates.chunks(IMPORT_BATCH) {
            let tx = match &mut self.tx {
                ImportTx::Postgres(tx) => {
                    for (u, changes_hands) in rows {
                        copy_row(&mut self.copy, u, changes_hands.then_some(at), at);
                    }
                    // When every user is new, no batch reads the rows of the ones before:
                    // they are sent in fewer, larger COPYs (`finish` sends the rest).
                    if !self.all_new || self.copy.len() >= COPY_BYTES {
                        copy_users(tx, &mut self.copy).await?;
                    }
                    continue;
                }
                ImportTx::Sqlite(tx) => tx,
            };
            {
                let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(concat!(
                    "INSERT INTO users (",
                    import_columns!(),
                    ") "
                ));
                q.push_values(rows, |mut row, (u, changes_hands)| {
                    let f = &u.fields;
                    row.push_bind(f.username.as_str())
                        .push_bind(f.password.as_str())
                        .push_bind(f.email.as_str())
                        .push_bind(f.first_name.as_str())
                        .push_bind(f.last_name.as_str())
                        .push_bind(f.is_active)
                        .push_bind(f.is_staff)
                        .push_bind(f.is_superuser)
                        .push_bind(u.last_login)
                        // A new user without date_joined joins now.
                        .push_bind(u.date_joined.unwrap_or(at))
                        .push_bind(u.id)
                        .push_bind(changes_hands.then_some(at))
                        .push("'import'");
                });
                q.build().execute(&mut **tx).await?;
            }
        }
        // Users whose id or username changed hands: the tokens of the previous holder.
        for (id, _) in creates.iter().map(|(u, c)| (u.id, *c)).filter(|(_, c)| *c) {
            self.revoke(id).await?;
        }
        Ok(())
    }

    /// The stored users a batch concerns: those with the id or the username of one of its
    /// users.
    async fn stored(&mut self, users: &[ImportedUser]) -> Result<Vec<Stored>> {
        Ok(with_tx!(self, |tx, Db| {
            let mut q = sqlx::QueryBuilder::<Db>::new(concat!(
                "SELECT ",
                user_columns!(),
                ", origin FROM users WHERE id IN ("
            ));
            let mut ids = q.separated(", ");
            for u in users {
                ids.push_bind(u.id);
            }
            q.push(") OR username IN (");
            let mut names = q.separated(", ");
            for u in users {
                names.push_bind(u.fields.username.as_str());
            }
            q.push(")");
            q.build_query_as().fetch_all(&mut **tx).await?
        }))
    }

    async fn revoke(&mut self, id: i64) -> Result<()> {
        let at = self.at;
        with_tx!(self, |tx, Db| {
            sqlx::query(REVOKE_TOKENS)
                .bind(at)
                .bind(Reason::Revoke.as_str())
                .bind(id)
                .execute(&mut **tx)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Commits the import — unless a record conflicts or this is a dry run: then nothing is
    /// written — and says what it did (or would do). Ids handed out afterwards come after
    /// the largest imported one.
    pub async fn finish(mut self) -> Result<ImportReport> {
        let result = async {
            if self.options.dry_run || !self.report.conflicts.is_empty() {
                return Ok(());
            }
            if let ImportTx::Postgres(tx) = &mut self.tx
                && !self.copy.is_empty()
            {
                copy_users(tx, &mut self.copy).await?;
            }
            for statement in std::mem::take(&mut self.rebuild) {
                with_tx!(self, |tx, Db| sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                    .execute(&mut **tx)
                    .await?
                    .rows_affected());
            }
            match self.tx {
                // AUTOINCREMENT keeps sqlite_sequence at the largest id ever inserted,
                // explicit ones included: the next `user create` gets a fresh id with
                // nothing more to do.
                ImportTx::Sqlite(tx) => tx.commit().await?,
                ImportTx::Postgres(mut tx) => {
                    if self.report.counts.created > 0 {
                        // Explicit ids do not move the identity sequence: move it past them
                        // (never back, so that the ids of deleted users are not handed out
                        // again).
                        sqlx::query(
                            "SELECT setval(pg_get_serial_sequence('users', 'id'), \
                             GREATEST(nextval(pg_get_serial_sequence('users', 'id')) - 1, (SELECT MAX(id) FROM users)))",
                        )
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                }
            }
            self.report.written = true;
            Ok(())
        }
        .await;
        let db = self.db;
        let result = db.wrote(result);
        db.forget_users();
        // Blacklisted tokens of users that changed hands.
        db.forget_tokens();
        result.map(|()| self.report)
    }
}

/// Sends `data` (COPY lines of new users) and empties it.
async fn copy_users(tx: &mut sqlx::PgConnection, data: &mut Vec<u8>) -> Result<()> {
    let mut copy = tx.copy_in_raw(COPY_USERS).await?;
    copy.send(data.as_slice()).await?;
    copy.finish().await?;
    data.clear();
    Ok(())
}

/// A created user as a line of COPY's text format, in the order of `import_columns!`.
fn copy_row(out: &mut Vec<u8>, u: &ImportedUser, replaced_at: Option<OffsetDateTime>, at: OffsetDateTime) {
    let f = &u.fields;
    for text in [&f.username, &f.password, &f.email, &f.first_name, &f.last_name] {
        copy_text(out, text);
        out.push(b'\t');
    }
    for flag in [f.is_active, f.is_staff, f.is_superuser] {
        out.extend_from_slice(if flag { b"t\t" } else { b"f\t" });
    }
    copy_time(out, u.last_login);
    out.push(b'\t');
    // A new user without date_joined joins now.
    copy_time(out, Some(u.date_joined.unwrap_or(at)));
    out.push(b'\t');
    out.extend_from_slice(u.id.to_string().as_bytes());
    out.push(b'\t');
    copy_time(out, replaced_at);
    out.extend_from_slice(b"\timport\n");
}

/// Text with COPY's escapes: the backslash, and the characters that end a field or a row.
fn copy_text(out: &mut Vec<u8>, text: &str) {
    for &b in text.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// A time in UTC to the microsecond, the same instant a bound parameter stores (sqlx counts
/// whole microseconds from Postgres's epoch, 2000-01-01); `\N` for none. Years before 1 are
/// written as Postgres reads them (BC).
fn copy_time(out: &mut Vec<u8>, t: Option<OffsetDateTime>) {
    use std::io::Write;
    let Some(t) = t else {
        out.extend_from_slice(b"\\N");
        return;
    };
    let epoch = time::Date::from_calendar_date(2000, time::Month::January, 1)
        .expect("a valid date")
        .midnight()
        .assume_utc();
    let micros = (t - epoch).whole_microseconds();
    let t = (epoch + time::Duration::microseconds(micros as i64)).to_offset(time::UtcOffset::UTC);
    let (year, era) = if t.year() < 1 {
        (1 - t.year(), " BC")
    } else {
        (t.year(), "")
    };
    let _ = write!(
        out,
        "{year:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00{era}",
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    );
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
    fn copy_rows_escape_text_and_write_times_in_utc() {
        let mut u = imported(1, 7, "a\\b\tc");
        u.fields.first_name = "line\nbreak\rreturn".into();
        u.last_login = Some(
            OffsetDateTime::parse(
                "2025-06-01T12:00:00.1234567+02:00",
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap(),
        );
        u.date_joined = None;
        let at = OffsetDateTime::UNIX_EPOCH;
        let mut out = Vec::new();
        copy_row(&mut out, &u, Some(at), at);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\\\\b\\tc\tpbkdf2_sha256$1$s$h\t\tline\\nbreak\\rreturn\t\tt\tf\tf\t\
             2025-06-01 10:00:00.123456+00\t1970-01-01 00:00:00.000000+00\t7\t1970-01-01 00:00:00.000000+00\timport\n"
        );
        let mut out = Vec::new();
        copy_time(&mut out, None);
        copy_time(&mut out, Some(time::macros::datetime!(-0001-03-04 05:06:07 UTC)));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\\N0002-03-04 05:06:07.000000+00 BC"
        );
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
