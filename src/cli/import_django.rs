//! `jwtd user import-django FILE`: users from `python manage.py dumpdata auth.user`, with
//! their ids, fields and password hashes as Django stored them.

use std::collections::BTreeMap;
use std::io::Read;

use serde_json::{Map, Value};
use time::format_description::well_known::Iso8601;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use super::CliResult;
use crate::store::{Database, ImportOptions, ImportReport, ImportedUser, NewUser, StoreError};

/// What a dumpdata file holds.
#[derive(Debug, Default)]
pub struct Dump {
    pub users: Vec<ImportedUser>,
    /// Records of models that are not users, by model label: not imported.
    pub others: BTreeMap<String, usize>,
}

pub async fn run(file: &str, options: ImportOptions, store: &Database) -> CliResult {
    let text = read(file)?;
    let dump = parse(&text).map_err(|e| format!("cannot import {file}: {e}; nothing was imported"))?;
    let report = store
        .import_users(&dump.users, options)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => format!("cannot import {file}: {m}; nothing was imported"),
            other => format!("cannot import {file}: {other}; nothing was imported"),
        })?;
    if options.dry_run {
        print_plan(&report);
        println!(
            "dry run: {} users: {} created, {} updated, {} skipped, {} conflicting; nothing was written",
            dump.users.len(),
            report.created.len(),
            report.updated.len(),
            report.unchanged.len(),
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
        "imported {} users: {} created, {} updated, {} skipped",
        dump.users.len(),
        report.created.len(),
        report.updated.len(),
        report.unchanged.len()
    );
    if !dump.others.is_empty() {
        let n: usize = dump.others.values().sum();
        let labels: Vec<&str> = dump.others.keys().map(String::as_str).collect();
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
    warn_unverifiable(&dump.users);
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
/// would be refused without a word: say so once, here. Unusable passwords (`!…`) are
/// deliberate and not mentioned.
fn warn_unverifiable(users: &[ImportedUser]) {
    let stuck: Vec<String> = users
        .iter()
        .map(|u| &u.fields)
        .filter(|u| !u.password.starts_with('!') && !crate::passwords::is_verifiable(&u.password))
        .map(|u| {
            let scheme = u
                .password
                .split('$')
                .next()
                .filter(|s| !s.is_empty() && s.len() < 32);
            format!("{} ({})", u.username, scheme.unwrap_or("unknown format"))
        })
        .collect();
    if stuck.is_empty() {
        return;
    }
    let shown = stuck.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
    let more = stuck.len().saturating_sub(10);
    eprintln!(
        "jwtd: warning: {} imported user(s) have a password hash jwtd cannot verify: {shown}{}; \
         they cannot log in until jwtd user passwd sets a new password",
        stuck.len(),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    );
}

fn read(file: &str) -> Result<String, String> {
    let mut bytes = Vec::new();
    let result = if file == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_end(&mut bytes).map(|_| ()))
    };
    result.map_err(|e| format!("cannot read {file}: {e}"))?;
    String::from_utf8(bytes).map_err(|e| format!("cannot import {file}: not UTF-8 text ({e})"))
}

/// Takes a dumpdata file apart. Records of a user model (`auth.user`, or any model whose
/// records carry `username` and `password`, as custom user models do) must be complete and
/// well-formed; records of other models are counted and left alone.
pub fn parse(text: &str) -> Result<Dump, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Array(records) = value else {
        return Err("expected a JSON array of records, as `manage.py dumpdata` writes".into());
    };
    let mut shaped = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        let position = i + 1;
        let at = |m: String| format!("record {position}: {m}");
        let record = record
            .as_object()
            .ok_or_else(|| at("expected an object with model, pk and fields".into()))?;
        let model = match record.get("model") {
            Some(Value::String(m)) => m.to_lowercase(),
            Some(_) => return Err(at("field model: expected a string such as \"auth.user\"".into())),
            None => return Err(at("field model: missing".into())),
        };
        let fields = match record.get("fields") {
            Some(Value::Object(f)) => f,
            Some(_) => {
                return Err(format!(
                    "record {position} ({model}): field fields: expected an object"
                ));
            }
            None => return Err(format!("record {position} ({model}): field fields: missing")),
        };
        shaped.push((position, model, record.get("pk"), fields));
    }
    // A custom user model is recognised by its records; once recognised, every record of it
    // is a user, so that one missing its username is an error rather than quietly skipped.
    let user_models: Vec<&str> = shaped
        .iter()
        .filter(|(_, model, _, fields)| {
            model == "auth.user" || (fields.contains_key("username") && fields.contains_key("password"))
        })
        .map(|(_, model, _, _)| model.as_str())
        .collect();
    let mut dump = Dump::default();
    for (position, model, pk, fields) in &shaped {
        if user_models.contains(&model.as_str()) {
            let user =
                user(*position, *pk, fields).map_err(|m| format!("record {position} ({model}): {m}"))?;
            dump.users.push(user);
        } else {
            *dump.others.entry(model.clone()).or_default() += 1;
        }
    }
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
