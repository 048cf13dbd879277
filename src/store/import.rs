//! What an import of users (`jwtd user import-django`) changes, decided once against the
//! users already stored; each backend then writes the changes in the same transaction it
//! read them in.

use std::collections::HashMap;

use time::OffsetDateTime;

use super::{NewUser, Result, StoreError, User};

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

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub created: u64,
    pub updated: u64,
    /// Already stored exactly so.
    pub unchanged: u64,
}

pub(super) enum Change<'a> {
    /// A stored user the file renames gives up its name first, so that names can move
    /// between users in any order (a swap included) without tripping the unique index.
    Vacate(i64),
    Create(&'a ImportedUser),
    Update(&'a ImportedUser),
}

/// The name a renamed user holds for the moment of the import: Django's username
/// validator allows no control character, so it clashes with no real name (and, unlike
/// NUL, Postgres stores it).
pub(super) fn vacated_name(id: i64) -> String {
    format!("\u{1}import-{id}")
}

/// The writes that bring `existing` to what `users` say, or the first record that cannot be
/// imported: an id given twice, or a username that another user would still hold. Updates
/// come first, so that a stored user renamed by the file frees its name before a new user
/// takes it.
pub(super) fn plan<'a>(
    existing: &[User],
    users: &'a [ImportedUser],
) -> Result<(Vec<Change<'a>>, ImportCounts)> {
    let by_id: HashMap<i64, &User> = existing.iter().map(|u| (u.id, u)).collect();
    let mut seen: HashMap<i64, usize> = HashMap::new();
    for u in users {
        if let Some(first) = seen.insert(u.id, u.position) {
            return Err(StoreError::Conflict(format!(
                "record {}: pk {} is the pk of record {first} too",
                u.position, u.id
            )));
        }
    }
    // Usernames after the import: the file's, and those of stored users it leaves alone.
    let mut holder: HashMap<&str, (i64, Option<usize>)> = existing
        .iter()
        .filter(|u| !seen.contains_key(&u.id))
        .map(|u| (u.username.as_str(), (u.id, None)))
        .collect();
    let (mut vacate, mut updates, mut creates) = (Vec::new(), Vec::new(), Vec::new());
    let mut counts = ImportCounts::default();
    for u in users {
        if let Some(&(id, position)) = holder.get(u.fields.username.as_str()) {
            let by = match position {
                Some(p) => format!("record {p} (pk {id})"),
                None => format!("the existing user with id {id}, which the file does not change"),
            };
            return Err(StoreError::Conflict(format!(
                "record {} (pk {}): field username: {:?} is already taken by {by}",
                u.position, u.id, u.fields.username
            )));
        }
        holder.insert(&u.fields.username, (u.id, Some(u.position)));
        match by_id.get(&u.id) {
            None => {
                creates.push(Change::Create(u));
                counts.created += 1;
            }
            Some(stored) if same(stored, u) => counts.unchanged += 1,
            Some(stored) => {
                if stored.username != u.fields.username {
                    vacate.push(Change::Vacate(u.id));
                }
                updates.push(Change::Update(u));
                counts.updated += 1;
            }
        }
    }
    vacate.append(&mut updates);
    vacate.append(&mut creates);
    Ok((vacate, counts))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(id: i64, username: &str) -> User {
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
        }
    }

    fn imported(position: usize, id: i64, username: &str) -> ImportedUser {
        let u = stored(id, username);
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

    fn error(result: Result<(Vec<Change<'_>>, ImportCounts)>) -> String {
        match result {
            Err(StoreError::Conflict(m)) => m,
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn counts_created_updated_unchanged() {
        let existing = [stored(1, "a"), stored(2, "b"), stored(9, "z")];
        let mut changed = imported(2, 2, "b");
        changed.fields.is_staff = true;
        let mut no_date = imported(3, 1, "a");
        no_date.date_joined = None;
        let users = [imported(1, 3, "c"), changed, no_date];
        let (changes, counts) = plan(&existing, &users).unwrap();
        assert_eq!(
            counts,
            ImportCounts {
                created: 1,
                updated: 1,
                unchanged: 1
            }
        );
        assert_eq!(changes.len(), 2);
    }

    #[test]
    fn usernames_stay_unique() {
        let existing = [stored(1, "a"), stored(2, "b")];
        let m = error(plan(&existing, &[imported(1, 5, "b")]));
        assert!(m.starts_with("record 1 (pk 5): field username: \"b\""), "{m}");
        let m = error(plan(&[], &[imported(1, 1, "x"), imported(2, 2, "x")]));
        assert!(
            m.contains("record 2 (pk 2)") && m.contains("record 1 (pk 1)"),
            "{m}"
        );
        // Renaming a stored user frees its old name for another record.
        let users = [imported(1, 1, "renamed"), imported(2, 7, "a")];
        assert!(plan(&existing, &users).is_ok());
    }

    #[test]
    fn an_id_given_twice_is_refused() {
        let m = error(plan(&[], &[imported(1, 1, "x"), imported(4, 1, "y")]));
        assert_eq!(m, "record 4: pk 1 is the pk of record 1 too");
    }
}
