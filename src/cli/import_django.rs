//! `jwtd user import-django FILE`: users from `python manage.py dumpdata auth.user`, with
//! their ids, fields and password hashes as Django stored them.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use time::format_description::well_known::Iso8601;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use super::CliResult;
use crate::store::{Database, IMPORT_BATCH, ImportOptions, ImportReport, ImportedUser, NewUser, StoreError};

/// What a dumpdata file holds (for tests: the whole file at once).
#[cfg(test)]
#[derive(Debug, Default)]
pub struct Dump {
    pub users: Vec<ImportedUser>,
    /// Records of models that are not users, by model label: not imported.
    pub others: BTreeMap<String, usize>,
}

/// Imports a dumpdata file without ever holding it whole: a first reading checks every
/// record and learns which models are user models and every user's id and username (to
/// refuse a pk or a username given twice, and to know which stored users the file
/// changes); a second one imports the users `IMPORT_BATCH` at a time, in one transaction
/// (`Database::begin_import`). Standard input is saved to a temporary file first, to be
/// read twice.
pub async fn run(file: &str, options: ImportOptions, store: &Database) -> CliResult {
    let (path, spooled) = if file == "-" {
        let path = spool_stdin()?;
        (path.clone(), Some(path))
    } else {
        (PathBuf::from(file), None)
    };
    let result = import(file, &path, options, store).await;
    if let Some(path) = spooled {
        let _ = std::fs::remove_file(path);
    }
    result
}

async fn import(file: &str, path: &Path, options: ImportOptions, store: &Database) -> CliResult {
    let nothing = |m: String| format!("cannot import {file}: {m}; nothing was imported");
    let scanned = {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || scan(&path))
            .await
            .map_err(|e| e.to_string())?
    };
    let scan = match scanned {
        Ok(scan) => scan,
        Err(Failure::Read(e)) => return Err(format!("cannot read {file}: {e}")),
        Err(Failure::Invalid(m)) => return Err(nothing(m)),
    };
    let total = scan.users();
    let others = scan.others();
    let user_models = scan.user_models.clone();
    // The first reading refused a pk or a username given twice.
    let mut import = store
        .begin_import(options, scan.into_ids(), true)
        .await
        .map_err(|e| nothing(e.to_string()))?;
    // The second reading hands batches over a short queue: memory holds a few batches.
    let (send, mut batches) = tokio::sync::mpsc::channel::<Vec<ImportedUser>>(2);
    let reader = {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let mut batch = Vec::with_capacity(IMPORT_BATCH);
            let mut unverifiable = Unverifiable::default();
            let read = each_record(&path, |record| {
                if !user_models.contains(&record.model) {
                    return Ok(());
                }
                let u = user(record.position, record.pk.as_ref(), &record.fields)
                    .map_err(|m| format!("record {} ({}): {m}", record.position, record.model))?;
                unverifiable.note(&u);
                batch.push(u);
                if batch.len() == IMPORT_BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(IMPORT_BATCH));
                    send.blocking_send(full)
                        .map_err(|_| "the import stopped".to_string())?;
                }
                Ok(())
            });
            if read.is_ok() && !batch.is_empty() {
                let _ = send.blocking_send(batch);
            }
            read.map(|()| unverifiable)
        })
    };
    let mut failed = None;
    while let Some(batch) = batches.recv().await {
        if let Err(e) = import.batch(&batch).await {
            failed = Some(e);
            break;
        }
    }
    // Stops the reader if the import stopped first.
    drop(batches);
    let unverifiable = reader.await.map_err(|e| e.to_string())?;
    if let Some(e) = failed {
        return Err(match e {
            StoreError::Conflict(m) => nothing(m),
            other => nothing(other.to_string()),
        });
    }
    let unverifiable = match unverifiable {
        Ok(u) => u,
        Err(Failure::Read(e)) => return Err(format!("cannot read {file}: {e}")),
        Err(Failure::Invalid(m)) => return Err(nothing(m)),
    };
    let report = import.finish().await.map_err(|e| match e {
        StoreError::Conflict(m) => nothing(m),
        other => nothing(other.to_string()),
    })?;
    let counts = report.counts;
    if options.dry_run {
        print_plan(&report);
        println!(
            "dry run: {total} users: {} created, {} updated, {} skipped, {} conflicting; nothing was written",
            counts.created,
            counts.updated,
            counts.unchanged,
            report.conflicts.len()
        );
        if !report.conflicts.is_empty() {
            return Err(format!(
                "{} would be refused: {}",
                records(report.conflicts.len()),
                advice(options)
            ));
        }
        return Ok(());
    }
    if !report.conflicts.is_empty() {
        let lines: Vec<&str> = report.conflicts.iter().map(|c| c.message.as_str()).collect();
        return Err(format!(
            "cannot import {file}: {} would overwrite users it may not:\n  {}\nnothing was imported; {}",
            records(report.conflicts.len()),
            lines.join("\n  "),
            advice(options)
        ));
    }
    let mut line = format!(
        "imported {total} users: {} created, {} updated, {} skipped",
        counts.created, counts.updated, counts.unchanged
    );
    if !others.is_empty() {
        let n: usize = others.values().sum();
        let labels: Vec<&str> = others.keys().map(String::as_str).collect();
        line += &format!(
            "; {n} record{} of other models skipped ({})",
            if n == 1 { "" } else { "s" },
            labels.join(", ")
        );
    }
    let changed = report.changed_hands();
    if changed > 0 {
        line += &format!(
            "; tokens revoked for {changed} user{} whose id or username changed hands",
            if changed == 1 { "" } else { "s" }
        );
    }
    println!("{line}");
    unverifiable.warn();
    Ok(())
}

fn records(n: usize) -> String {
    format!("{n} record{}", if n == 1 { "" } else { "s" })
}

fn advice(options: ImportOptions) -> &'static str {
    if options.replace {
        "delete or rename the users named, or leave their records out of the file"
    } else {
        "--replace overwrites users created in jwtd (their tokens are revoked); --dry-run shows the plan"
    }
}

/// One line per user: what the import does with it, its id and username.
fn print_plan(report: &ImportReport) {
    let mut lines: Vec<(i64, String)> = Vec::new();
    for (what, planned) in [
        ("created", &report.created),
        ("updated", &report.updated),
        ("skipped", &report.unchanged),
    ] {
        for p in planned {
            let note = if p.changes_hands {
                " (id or username changes hands: tokens revoked)"
            } else {
                ""
            };
            lines.push((p.id, format!("{what} {} {}{note}", p.id, p.username)));
        }
    }
    for c in &report.conflicts {
        lines.push((
            c.id,
            format!("conflicting {} {}: {}", c.id, c.username, c.message),
        ));
    }
    lines.sort_by_key(|(id, _)| *id);
    for (_, line) in lines {
        println!("{line}");
    }
}

/// Users whose hash no login can ever match (MD5, crypt, a hasher of a third-party app)
/// would be refused without a word: say so once, after the import. Unusable passwords
/// (`!…`) are deliberate and not mentioned.
#[derive(Default)]
struct Unverifiable {
    count: usize,
    /// The first ten, with their scheme.
    shown: Vec<String>,
}

impl Unverifiable {
    fn note(&mut self, u: &ImportedUser) {
        let u = &u.fields;
        if u.password.starts_with('!') || crate::passwords::is_verifiable(&u.password) {
            return;
        }
        self.count += 1;
        if self.shown.len() < 10 {
            let scheme = u
                .password
                .split('$')
                .next()
                .filter(|s| !s.is_empty() && s.len() < 32);
            self.shown
                .push(format!("{} ({})", u.username, scheme.unwrap_or("unknown format")));
        }
    }

    fn warn(&self) {
        if self.count == 0 {
            return;
        }
        let more = self.count - self.shown.len();
        eprintln!(
            "jwtd: warning: {} imported user(s) have a password hash jwtd cannot verify: {}{}; \
             they cannot log in until jwtd user passwd sets a new password",
            self.count,
            self.shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    }
}

/// Standard input, saved to a file of its own (0600) in the temporary directory.
fn spool_stdin() -> Result<PathBuf, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = std::env::temp_dir().join(format!("jwtd-import-{}.json", uuid::Uuid::new_v4().simple()));
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("cannot save standard input to {}: {e}", path.display()))?;
    std::io::copy(&mut std::io::stdin().lock(), &mut out).map_err(|e| {
        let _ = std::fs::remove_file(&path);
        format!("cannot read -: {e}")
    })?;
    Ok(path)
}

/// Why a file cannot be imported.
#[derive(Debug)]
enum Failure {
    /// It cannot be read.
    Read(std::io::Error),
    /// It is not a dumpdata file, or a record is malformed.
    Invalid(String),
}

/// A record of a dumpdata file, shaped: its position (1-based), model (lower case), pk and
/// fields.
struct Record {
    position: usize,
    model: String,
    pk: Option<Value>,
    fields: Map<String, Value>,
}

/// Reads the records of a dumpdata file one at a time, in order, and hands each to `each`;
/// stops at the first that is not shaped as a record, or that `each` refuses.
fn each_record(path: &Path, each: impl FnMut(Record) -> Result<(), String>) -> Result<(), Failure> {
    let file = std::fs::File::open(path).map_err(Failure::Read)?;
    records_of(std::io::BufReader::with_capacity(1 << 20, file), each)
}

fn records_of(reader: impl Read, mut each: impl FnMut(Record) -> Result<(), String>) -> Result<(), Failure> {
    use serde::de::{Deserializer as _, Error as _};

    /// Hands each element of the array over as it is read: one record in memory at a time.
    struct Records<'a, F> {
        each: &'a mut F,
        refused: &'a mut Option<String>,
    }

    impl<'de, F: FnMut(Record) -> Result<(), String>> serde::de::Visitor<'de> for Records<'_, F> {
        type Value = ();

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON array of records")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut position = 0;
            while let Some(value) = seq.next_element::<Value>()? {
                position += 1;
                if let Err(m) = shape(position, value).and_then(|r| (self.each)(r)) {
                    *self.refused = Some(m);
                    return Err(A::Error::custom("refused"));
                }
            }
            Ok(())
        }
    }

    let mut refused = None;
    let mut de = serde_json::Deserializer::from_reader(reader);
    let read = de
        .deserialize_seq(Records {
            each: &mut each,
            refused: &mut refused,
        })
        .and_then(|()| de.end());
    if let Some(m) = refused {
        return Err(Failure::Invalid(m));
    }
    match read {
        Ok(()) => Ok(()),
        Err(e) if e.is_io() => Err(Failure::Read(e.into())),
        Err(e) if e.is_data() => Err(Failure::Invalid(
            "expected a JSON array of records, as `manage.py dumpdata` writes".into(),
        )),
        Err(e) => Err(Failure::Invalid(format!("not JSON: {e}"))),
    }
}

fn shape(position: usize, record: Value) -> Result<Record, String> {
    let at = |m: String| format!("record {position}: {m}");
    let Value::Object(mut record) = record else {
        return Err(at("expected an object with model, pk and fields".into()));
    };
    let model = match record.get("model") {
        Some(Value::String(m)) => m.to_lowercase(),
        Some(_) => return Err(at("field model: expected a string such as \"auth.user\"".into())),
        None => return Err(at("field model: missing".into())),
    };
    let fields = match record.remove("fields") {
        Some(Value::Object(f)) => f,
        Some(_) => {
            return Err(format!(
                "record {position} ({model}): field fields: expected an object"
            ));
        }
        None => return Err(format!("record {position} ({model}): field fields: missing")),
    };
    Ok(Record {
        position,
        model,
        pk: record.remove("pk"),
        fields,
    })
}

/// What the first reading learns: which models are user models, every user's id and
/// username (compactly: one string for all the names), the other models' records, and the
/// first malformed user record.
#[derive(Default)]
struct Scan {
    /// Models recognised as user models: `auth.user`, and any whose records carry
    /// `username` and `password`, as custom user models do. Once recognised, every record
    /// of it is a user, so that one missing its username is an error rather than quietly
    /// skipped — including records that came before the one that told.
    user_models: Vec<String>,
    /// Per model not (yet) recognised: the first of its records without a username or a
    /// password, and what is wrong with it as a user.
    unrecognised: HashMap<String, (usize, String)>,
    /// Records per model.
    counts: BTreeMap<String, usize>,
    /// The earliest malformed user record.
    error: Option<(usize, String)>,
    ids: Vec<i64>,
    positions: Vec<u32>,
    names: String,
    name_ends: Vec<u32>,
}

impl Scan {
    fn record(&mut self, r: Record) {
        *self.counts.entry(r.model.clone()).or_default() += 1;
        let is_user_model = |m: &str| m == "auth.user";
        if !self.user_models.contains(&r.model) {
            if is_user_model(&r.model)
                || (r.fields.contains_key("username") && r.fields.contains_key("password"))
            {
                self.user_models.push(r.model.clone());
                if let Some(earlier) = self.unrecognised.remove(&r.model) {
                    self.fail(earlier);
                }
            } else {
                if let Err(m) = user(r.position, r.pk.as_ref(), &r.fields) {
                    let message = format!("record {} ({}): {m}", r.position, r.model);
                    self.unrecognised.entry(r.model).or_insert((r.position, message));
                }
                return;
            }
        }
        match user(r.position, r.pk.as_ref(), &r.fields) {
            Ok(u) => {
                self.ids.push(u.id);
                self.positions.push(r.position as u32);
                self.names.push_str(&u.fields.username);
                self.name_ends.push(self.names.len() as u32);
            }
            Err(m) => self.fail((r.position, format!("record {} ({}): {m}", r.position, r.model))),
        }
    }

    fn fail(&mut self, error: (usize, String)) {
        if self.error.as_ref().is_none_or(|(at, _)| error.0 < *at) {
            self.error = Some(error);
        }
    }

    fn users(&self) -> usize {
        self.ids.len()
    }

    fn name(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.name_ends[i - 1] as usize };
        &self.names[start..self.name_ends[i] as usize]
    }

    /// The first record (in the file's order) whose pk, or else whose username, an earlier
    /// record has already.
    fn repeated(&self) -> Option<String> {
        let mut order: Vec<u32> = (0..self.ids.len() as u32).collect();
        let first_repeat = |order: &[u32], same: &dyn Fn(u32, u32) -> bool| {
            let mut found: Option<(u32, u32)> = None;
            for group in order.chunk_by(|a, b| same(*a, *b)) {
                if let [first, second, ..] = group
                    && found.is_none_or(|(_, at)| *second < at)
                {
                    found = Some((*first, *second));
                }
            }
            found
        };
        // Stable sorts: within a group, the file's order.
        order.sort_by_key(|&i| self.ids[i as usize]);
        if let Some((first, again)) =
            first_repeat(&order, &|a, b| self.ids[a as usize] == self.ids[b as usize])
        {
            let (first, again) = (first as usize, again as usize);
            return Some(format!(
                "record {}: pk {} is the pk of record {} too",
                self.positions[again], self.ids[again], self.positions[first]
            ));
        }
        order.sort_by(|&a, &b| self.name(a as usize).cmp(self.name(b as usize)).then(a.cmp(&b)));
        let (first, again) = first_repeat(&order, &|a, b| self.name(a as usize) == self.name(b as usize))?;
        let (first, again) = (first as usize, again as usize);
        Some(format!(
            "record {} (pk {}): field username: {:?} is already taken by record {} (pk {})",
            self.positions[again],
            self.ids[again],
            self.name(again),
            self.positions[first],
            self.ids[first]
        ))
    }

    fn others(&self) -> BTreeMap<String, usize> {
        self.counts
            .iter()
            .filter(|(model, _)| !self.user_models.contains(model))
            .map(|(model, n)| (model.clone(), *n))
            .collect()
    }

    fn into_ids(self) -> Vec<i64> {
        self.ids
    }
}

/// The first reading: every record checked, the users' ids and usernames learnt.
fn scan(path: &Path) -> Result<Scan, Failure> {
    let mut scan = Scan::default();
    each_record(path, |r| {
        scan.record(r);
        Ok(())
    })?;
    finish_scan(scan)
}

fn finish_scan(mut scan: Scan) -> Result<Scan, Failure> {
    if let Some((_, m)) = scan.error.take() {
        return Err(Failure::Invalid(m));
    }
    if let Some(m) = scan.repeated() {
        return Err(Failure::Invalid(m));
    }
    Ok(scan)
}

/// Takes a whole dumpdata text apart, as the import reads a file (for tests).
#[cfg(test)]
pub fn parse(text: &str) -> Result<Dump, String> {
    let invalid = |f: Failure| match f {
        Failure::Read(e) => e.to_string(),
        Failure::Invalid(m) => m,
    };
    let mut scan = Scan::default();
    records_of(text.as_bytes(), |r| {
        scan.record(r);
        Ok(())
    })
    .map_err(invalid)?;
    let scan = finish_scan(scan).map_err(invalid)?;
    let mut dump = Dump {
        others: scan.others(),
        ..Dump::default()
    };
    records_of(text.as_bytes(), |r| {
        if scan.user_models.contains(&r.model) {
            dump.users.push(user(r.position, r.pk.as_ref(), &r.fields)?);
        }
        Ok(())
    })
    .map_err(invalid)?;
    Ok(dump)
}

fn user(position: usize, pk: Option<&Value>, fields: &Map<String, Value>) -> Result<ImportedUser, String> {
    let id = match pk {
        None | Some(Value::Null) => {
            return Err("field pk: missing (dump without --natural-primary, so that ids are kept)".into());
        }
        Some(v) => v
            .as_i64()
            .filter(|id| *id > 0)
            .ok_or_else(|| format!("field pk: expected a positive integer, got {v}"))?,
    };
    Ok(ImportedUser {
        position,
        id,
        fields: NewUser {
            username: required_text(fields, "username")?,
            password: password(fields)?,
            email: text(fields, "email")?,
            first_name: text(fields, "first_name")?,
            last_name: text(fields, "last_name")?,
            is_active: flag(fields, "is_active", true)?,
            is_staff: flag(fields, "is_staff", false)?,
            is_superuser: flag(fields, "is_superuser", false)?,
        },
        last_login: match fields.get("last_login") {
            None | Some(Value::Null) => None,
            Some(v) => Some(datetime(v).map_err(|m| format!("field last_login: {m}"))?),
        },
        date_joined: match fields.get("date_joined") {
            None => None,
            Some(v) => Some(datetime(v).map_err(|m| format!("field date_joined: {m}"))?),
        },
    })
}

fn required_text(fields: &Map<String, Value>, name: &str) -> Result<String, String> {
    match fields.get(name) {
        None => Err(format!("field {name}: missing")),
        Some(Value::String(s)) if s.is_empty() => Err(format!("field {name}: empty")),
        Some(Value::String(_)) => text(fields, name),
        Some(v) => Err(format!("field {name}: expected a string, got {v}")),
    }
}

/// Any text: what jwtd cannot verify never matches (see `passwords`), and `!…` is Django's
/// unusable password, kept as such.
fn password(fields: &Map<String, Value>) -> Result<String, String> {
    match fields.get("password") {
        None => Err("field password: missing".into()),
        Some(Value::String(_)) => text(fields, "password"),
        Some(v) => Err(format!("field password: expected a string, got {v}")),
    }
}

/// A text field; absent or null is Django's blank "".
fn text(fields: &Map<String, Value>, name: &str) -> Result<String, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(String::new()),
        // Postgres refuses NUL in text: better said here, with the record's position.
        Some(Value::String(s)) if s.contains('\0') => Err(format!("field {name}: contains a NUL character")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(format!("field {name}: expected a string, got {v}")),
    }
}

fn flag(fields: &Map<String, Value>, name: &str, default: bool) -> Result<bool, String> {
    match fields.get(name) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(format!("field {name}: expected true or false, got {v}")),
    }
}

/// Django's serialized datetimes: ISO 8601 with `Z` or an offset (USE_TZ), or naive (no
/// USE_TZ; taken as UTC, Django's default TIME_ZONE). Kept to the microsecond, Django's
/// precision and Postgres's.
fn datetime(value: &Value) -> Result<OffsetDateTime, String> {
    let Value::String(s) = value else {
        return Err(format!(
            "expected a date and time such as \"2024-05-01T10:00:00.123Z\", got {value}"
        ));
    };
    // Python's isoformat() may put a space between date and time.
    let iso = match s.as_bytes().get(10) {
        Some(b' ') => format!("{}T{}", &s[..10], &s[11..]),
        _ => s.clone(),
    };
    let t = OffsetDateTime::parse(&iso, &Iso8601::DEFAULT)
        .or_else(|_| PrimitiveDateTime::parse(&iso, &Iso8601::DEFAULT).map(|t| t.assume_utc()))
        .map_err(|_| format!("expected a date and time such as \"2024-05-01T10:00:00.123Z\", got {value}"))?
        .to_offset(UtcOffset::UTC);
    Ok(t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(fields: Value) -> Value {
        json!({"model": "auth.user", "pk": 1, "fields": fields})
    }

    fn user_fields() -> Value {
        json!({"username": "u", "password": "!x", "date_joined": "2024-05-01T10:00:00.123Z"})
    }

    fn parse_one(record: Value) -> Result<Dump, String> {
        parse(&json!([record]).to_string())
    }

    #[test]
    fn datetimes_as_django_writes_them() {
        let t = |s: &str| datetime(&json!(s)).unwrap();
        let utc = t("2024-05-01T10:00:00.123Z");
        assert_eq!(utc.unix_timestamp(), 1_714_557_600);
        assert_eq!(utc.millisecond(), 123);
        assert_eq!(t("2024-05-01T12:00:00.123+02:00"), utc);
        assert_eq!(t("2024-05-01T10:00:00.123"), utc, "naive: UTC");
        assert_eq!(t("2024-05-01 10:00:00.123"), utc);
        assert_eq!(t("2024-05-01T10:00:00.123456789Z").microsecond(), 123_456);
        assert_eq!(t("2024-05-01T10:00:00.123Z").offset(), UtcOffset::UTC);
        for bad in [
            json!("yesterday"),
            json!(""),
            json!(5),
            json!("2024-13-01T00:00:00Z"),
            json!("2024-05-01 1"),
        ] {
            assert!(datetime(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_dumpdata_record() {
        let dump = parse_one(json!({"model": "auth.user", "pk": 7, "fields": {
            "password": "pbkdf2_sha256$1$s$h", "last_login": null, "is_superuser": true,
            "username": "root", "first_name": "R", "last_name": "Oot", "email": "r@x",
            "is_staff": true, "is_active": false, "date_joined": "2024-05-01T10:00:00Z",
            "groups": [1], "user_permissions": [], "favourite_colour": "blue"
        }}))
        .unwrap();
        let (u, position, id) = (&dump.users[0].fields, dump.users[0].position, dump.users[0].id);
        assert_eq!((position, id, u.username.as_str()), (1, 7, "root"));
        assert_eq!((u.is_active, u.is_staff, u.is_superuser), (false, true, true));
        assert_eq!(
            (u.first_name.as_str(), u.last_name.as_str(), u.email.as_str()),
            ("R", "Oot", "r@x")
        );
        assert_eq!(dump.users[0].last_login, None);
        assert!(dump.users[0].date_joined.is_some());
    }

    #[test]
    fn custom_user_models_and_other_models() {
        let text = json!([
            {"model": "auth.group", "pk": 1, "fields": {"name": "editors", "permissions": []}},
            {"model": "accounts.User", "pk": 2, "fields": {"username": "a", "password": "!x"}},
            {"model": "accounts.user", "pk": 3, "fields": {"password": "!x"}},
            {"model": "sessions.session", "pk": "k", "fields": {"session_data": "…"}},
        ])
        .to_string();
        let e = parse(&text).unwrap_err();
        assert_eq!(e, "record 3 (accounts.user): field username: missing");
        let text = json!([
            {"model": "auth.group", "pk": 1, "fields": {"name": "editors", "permissions": []}},
            {"model": "accounts.user", "pk": 2, "fields": {"username": "a", "password": "!x"}},
            {"model": "auth.group", "pk": 2, "fields": {"name": "staff", "permissions": []}},
        ])
        .to_string();
        let dump = parse(&text).unwrap();
        assert_eq!(dump.users.len(), 1);
        assert_eq!(dump.users[0].position, 2);
        assert!(dump.users[0].fields.is_active && dump.users[0].date_joined.is_none());
        assert_eq!(dump.others.get("auth.group"), Some(&2));
    }

    #[test]
    fn malformed_records_are_named_by_position_and_field() {
        let cases = [
            (
                json!({"model": "auth.user", "pk": "1", "fields": user_fields()}),
                "field pk: expected a positive integer, got \"1\"",
            ),
            (
                json!({"model": "auth.user", "pk": 1.5, "fields": user_fields()}),
                "field pk: expected a positive integer",
            ),
            (
                json!({"model": "auth.user", "pk": -1, "fields": user_fields()}),
                "field pk: expected a positive integer",
            ),
            (
                json!({"model": "auth.user", "fields": user_fields()}),
                "field pk: missing",
            ),
            (record(json!({"password": "!x"})), "field username: missing"),
            (
                record(json!({"username": "", "password": "!x"})),
                "field username: empty",
            ),
            (
                record(json!({"username": 5, "password": "!x"})),
                "field username: expected a string, got 5",
            ),
            (record(json!({"username": "u"})), "field password: missing"),
            (
                record(json!({"username": "u", "password": null})),
                "field password: expected a string",
            ),
            (
                record(json!({"username": "u\u{0}", "password": "!x"})),
                "field username: contains a NUL",
            ),
            (
                record(json!({"username": "u", "password": "!x", "is_active": "yes"})),
                "field is_active: expected true or false",
            ),
            (
                record(json!({"username": "u", "password": "!x", "is_staff": null})),
                "field is_staff: expected true or false",
            ),
            (
                record(json!({"username": "u", "password": "!x", "date_joined": null})),
                "field date_joined: expected a date",
            ),
            (
                record(json!({"username": "u", "password": "!x", "last_login": "soon"})),
                "field last_login: expected a date",
            ),
            (
                record(json!({"username": "u", "password": "!x", "email": []})),
                "field email: expected a string",
            ),
        ];
        for (record, message) in cases {
            let e = parse_one(record.clone()).unwrap_err();
            assert!(
                e.starts_with("record 1 (auth.user): ") && e.contains(message),
                "{record}: {e}"
            );
        }
        for (text, message) in [
            ("{}", "expected a JSON array"),
            ("[1]", "record 1: expected an object"),
            ("[{\"pk\": 1}]", "record 1: field model: missing"),
            (
                "[{\"model\": \"auth.user\"}]",
                "record 1 (auth.user): field fields: missing",
            ),
            (
                "[{\"model\": 3, \"fields\": {}}]",
                "record 1: field model: expected a string",
            ),
            ("[", "not JSON"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(message), "{text}: {e}");
        }
    }
}
