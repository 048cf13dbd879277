//! `jwtd user …`: create, change, list and delete users.

use std::io::BufRead;

use clap::{Args, Subcommand};

use super::{CliResult, open_store};
use crate::config::Settings;
use crate::passwords::{PasswordHasher, PasswordPolicy, UserAttributes};
use crate::store::{Database, EventType, Expected, Guarded, NewEvent, NewUser, Page, StoreError, User};
use crate::tokens::audit::written;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Create {
        /// The username: at most 150 letters, digits and @ . + - _ (Django's rule).
        name: String,
        #[command(flatten)]
        password: PasswordArgs,
        /// The e-mail address (checked as Django's EmailValidator does).
        #[arg(long, default_value = "")]
        email: String,
        /// The first name (/api/me/ shows it).
        #[arg(long, default_value = "")]
        first_name: String,
        /// The last name (/api/me/ shows it).
        #[arg(long, default_value = "")]
        last_name: String,
        /// Superuser (implies --staff, as Django's createsuperuser).
        #[arg(long)]
        superuser: bool,
        /// Staff member (Django's is_staff): may impersonate others when impersonation =
        /// "staff".
        #[arg(long)]
        staff: bool,
        /// Create the user inactive: it cannot log in until activated.
        #[arg(long)]
        inactive: bool,
        /// Accept a password that Django's password validators refuse (too similar to the
        /// username, names or e-mail; under 8 characters; common; or only digits).
        #[arg(long)]
        skip_password_validation: bool,
    },
    /// Set a user's password; the user's outstanding tokens are blacklisted.
    Passwd {
        /// The username.
        name: String,
        #[command(flatten)]
        password: PasswordArgs,
        /// Accept a password that Django's password validators refuse (too similar to the
        /// username, names or e-mail; under 8 characters; common; or only digits).
        #[arg(long)]
        skip_password_validation: bool,
    },
    /// Allow a user to log in again.
    Activate {
        /// The username.
        name: String,
    },
    /// Stop a user from logging in (existing access tokens are refused by /api/me/).
    Deactivate {
        /// The username.
        name: String,
    },
    /// Delete a user; its outstanding tokens are kept, detached, as Simple JWT does.
    Delete {
        /// The username.
        name: String,
    },
    /// List users.
    List,
    /// List a user's active sessions (logins not revoked or expired), the most recently
    /// used first.
    Sessions {
        /// The username.
        name: String,
    },
    /// Create or update users from `manage.py dumpdata auth.user` (a file, or - for standard
    /// input), keeping their ids and Django password hashes; in one transaction.
    ImportDjango {
        /// The dumpdata JSON file, or - to read standard input.
        file: String,
        /// Overwrite users created in jwtd whose id or username a record takes (their
        /// tokens are revoked); without it such an import is refused.
        #[arg(long)]
        replace: bool,
        /// Print what would be created, updated, skipped or refused; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct PasswordArgs {
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// The password (visible to other users of this machine; prefer --password-stdin).
    #[arg(long, value_name = "PASSWORD")]
    pub password: Option<String>,
}

impl PasswordArgs {
    pub fn read(&self) -> Result<String, String> {
        let password = match &self.password {
            Some(p) => p.clone(),
            None => {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
                line.trim_end_matches(['\n', '\r']).to_string()
            }
        };
        if password.is_empty() {
            return Err("the password must not be empty".into());
        }
        Ok(password)
    }
}

pub async fn run(command: UserCommand, settings: Settings) -> CliResult {
    let store = open_store(&settings).await?;
    // Django's defaults until the settings name a policy (password_validators).
    let policy = PasswordPolicy::default();
    let result = execute(command, &store, &policy).await;
    store.close().await;
    result
}

async fn execute(command: UserCommand, store: &Database, policy: &PasswordPolicy) -> CliResult {
    match command {
        UserCommand::Create {
            name,
            password,
            email,
            first_name,
            last_name,
            superuser,
            staff,
            inactive,
            skip_password_validation,
        } => {
            validate_username(&name)?;
            if !email.is_empty() && !is_valid_email(&email) {
                return Err(format!(
                    "invalid e-mail address {email:?}: Enter a valid email address."
                ));
            }
            // As createsuperuser asks for the username first: a taken name is the answer
            // whatever the password (the insert below still catches a race).
            if store
                .user_by_username(&name)
                .await
                .map_err(|e| e.to_string())?
                .is_some()
            {
                return Err(taken(&name));
            }
            let password = password.read()?;
            if !skip_password_validation {
                let user = UserAttributes {
                    username: &name,
                    first_name: &first_name,
                    last_name: &last_name,
                    email: &email,
                };
                check_password(policy, &password, &user, &format!("user {name} not created"))?;
            }
            let hash = PasswordHasher::new(1)
                .hash(&password)
                .await
                .map_err(|e| e.to_string())?;
            let mut events = Vec::new();
            let user = store
                .create_user_audited(
                    &NewUser {
                        username: name.clone(),
                        password: hash,
                        email,
                        first_name,
                        last_name,
                        is_active: !inactive,
                        is_staff: staff || superuser,
                        is_superuser: superuser,
                    },
                    |user| {
                        events = vec![NewEvent::new(EventType::UserCreated).user(user)];
                        events.clone()
                    },
                )
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => taken(&name),
                    other => other.to_string(),
                })?;
            written(None, &events);
            println!("created user {} (id {})", user.username, user.id);
        }
        UserCommand::Passwd {
            name,
            password,
            skip_password_validation,
        } => {
            let user = find(store, &name).await?;
            let password = password.read()?;
            if !skip_password_validation {
                let attributes = UserAttributes {
                    username: &user.username,
                    first_name: &user.first_name,
                    last_name: &user.last_name,
                    email: &user.email,
                };
                let not_done = format!("password of {name} not changed");
                check_password(policy, &password, &attributes, &not_done)?;
            }
            let hash = PasswordHasher::new(1)
                .hash(&password)
                .await
                .map_err(|e| e.to_string())?;
            // Tokens issued under the old password go too, with the sessions they belong to
            // (so their access tokens are refused by jwtd at once, and everywhere when
            // check_revoke_token makes them carry the password's fingerprint).
            let events = [NewEvent::new(EventType::PasswordChanged).user(&user)];
            let done = store
                .set_password_and_revoke(user.id, &hash, None, &Expected::default(), &events)
                .await
                .map_err(|e| e.to_string())?;
            let Guarded::Done(revoked) = done else {
                return Err(format!("no user named {name:?}"));
            };
            written(None, &events);
            let n = revoked.tokens;
            println!("password changed for {name}; {n} outstanding token(s) blacklisted");
        }
        UserCommand::Activate { name } => {
            set_active(store, &name, true).await?;
            println!("activated {name}");
        }
        UserCommand::Deactivate { name } => {
            set_active(store, &name, false).await?;
            println!("deactivated {name}");
        }
        UserCommand::Delete { name } => {
            let user = find(store, &name).await?;
            store.delete_user(user.id).await.map_err(|e| e.to_string())?;
            // After the delete, not with it: the store's audited delete also blacklists the
            // user's tokens, which this command (as Simple JWT) leaves detached.
            let events = [NewEvent::new(EventType::UserDeleted).user(&user)];
            store.record_event(&events[0]).await.map_err(|e| e.to_string())?;
            written(None, &events);
            println!("deleted {name}");
        }
        UserCommand::ImportDjango {
            file,
            replace,
            dry_run,
        } => {
            let options = crate::store::ImportOptions { replace, dry_run };
            super::import_django::run(&file, options, store).await?
        }
        UserCommand::Sessions { name } => {
            let user = find(store, &name).await?;
            let page = Page {
                offset: 0,
                limit: i64::MAX,
            };
            let (sessions, _) = store
                .sessions_of_user(user.id, crate::store::now(), page)
                .await
                .map_err(|e| e.to_string())?;
            let time = |t: Option<time::OffsetDateTime>| t.map(crate::http::drf_datetime).unwrap_or_default();
            println!(
                "{:<32}  {:<20} {:<20} {:<20} {:<15} user_agent",
                "id", "created", "last_used", "expires", "ip_address"
            );
            for s in sessions {
                println!(
                    "{:<32}  {:<20} {:<20} {:<20} {:<15} {}",
                    s.id,
                    time(s.created_at),
                    time(s.last_used_at),
                    time(s.expires_at),
                    s.ip_address.as_deref().unwrap_or("-"),
                    s.user_agent.as_deref().unwrap_or("-")
                );
            }
        }
        UserCommand::List => {
            let users = store.list_users().await.map_err(|e| e.to_string())?;
            println!(
                "{:>6}  {:<24} {:<6} {:<5} {:<9} {:<30} last_login",
                "id", "username", "active", "staff", "superuser", "email"
            );
            for u in users {
                println!(
                    "{:>6}  {:<24} {:<6} {:<5} {:<9} {:<30} {}",
                    u.id,
                    u.username,
                    yes_no(u.is_active),
                    yes_no(u.is_staff),
                    yes_no(u.is_superuser),
                    u.email,
                    u.last_login
                        .map(crate::http::drf_datetime)
                        .unwrap_or_else(|| "never".into())
                );
            }
        }
    }
    Ok(())
}

/// `activate`/`deactivate`, recorded as `user_updated` (no actor: the operator).
async fn set_active(store: &Database, name: &str, active: bool) -> CliResult {
    let user = find(store, name).await?;
    let mut event = NewEvent::new(EventType::UserUpdated).user(&user);
    event.detail = Some(serde_json::json!({"is_active": active}));
    let events = [event];
    if store
        .set_active_audited(user.id, active, &events)
        .await
        .map_err(|e| e.to_string())?
    {
        written(None, &events);
    }
    Ok(())
}

/// Django's password validation, as createsuperuser and changepassword apply it: Django's
/// messages on standard error, one a line, then what was not done and how to bypass it.
fn check_password(
    policy: &PasswordPolicy,
    password: &str,
    user: &UserAttributes<'_>,
    not_done: &str,
) -> CliResult {
    policy.validate(password, user).map_err(|messages| {
        for message in messages {
            eprintln!("{message}");
        }
        format!("{not_done}: the password does not pass validation (--skip-password-validation accepts it)")
    })
}

fn taken(name: &str) -> String {
    format!("a user named {name:?} already exists")
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

pub async fn find(store: &Database, name: &str) -> Result<User, String> {
    store
        .user_by_username(name)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user named {name:?}"))
}

/// Django's username rule: at most 150 letters, digits and @ . + - _
fn validate_username(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().count() <= 150
        && name.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid username {name:?}: use at most 150 letters, digits and @ . + - _ (Django's rule)"
        ))
    }
}

/// Django's `EmailValidator` (4.2 to 5.x), whose "Enter a valid email address." the
/// `user create` command answers with: an address of at most 320 characters, split at its
/// last `@`; a dot-atom or quoted-string local part; and a domain of dot-separated labels
/// ending in a label of at least two characters, `localhost`, or an IP address in brackets.
/// An internationalized domain is checked in its ASCII (punycode) form.
fn is_valid_email(value: &str) -> bool {
    if value.is_empty() || value.chars().count() > 320 {
        return false;
    }
    let Some((user, domain)) = value.rsplit_once('@') else {
        return false;
    };
    if !(is_dot_atom(user) || is_quoted_string(user)) {
        return false;
    }
    if domain == "localhost" || is_valid_domain_part(domain) {
        return true;
    }
    // Django checks an internationalized domain in its punycode form, which keeps the
    // labels where they are and turns each into ASCII letters, digits and hyphens: a
    // letter stands for each non-ASCII character here (a label's encoded length is not
    // checked).
    !domain.is_ascii() && is_valid_domain_part(&domain.replace(|c: char| !c.is_ascii(), "a"))
}

/// A letter as Python's `[A-Z]` with `re.IGNORECASE` reads one: the ASCII letters and the
/// four characters that case-fold onto them.
fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '\u{130}' | '\u{131}' | '\u{17f}' | '\u{212a}')
}

/// `^[-!#$%&'*+/=?^_`{}|~0-9A-Z]+(\.[-!#$%&'*+/=?^_`{}|~0-9A-Z]+)*\Z`
fn is_dot_atom(user: &str) -> bool {
    user.split('.').all(|atom| {
        !atom.is_empty()
            && atom
                .chars()
                .all(|c| is_letter(c) || c.is_ascii_digit() || "-!#$%&'*+/=?^_`{}|~".contains(c))
    })
}

/// `^"([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*"\Z`
fn is_quoted_string(user: &str) -> bool {
    let Some(inner) = user.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')) else {
        return false;
    };
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        let ok = match c {
            '\\' => chars
                .next()
                .is_some_and(|q| matches!(q, '\u{1}'..='\u{9}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{7f}')),
            '\u{1}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '!' | '#'..='[' | ']'..='\u{7f}' => {
                true
            }
            c => is_letter(c),
        };
        if !ok {
            return false;
        }
    }
    true
}

/// `((?:[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?\.)+)(?:[A-Z0-9-]{2,63}(?<!-))\Z`, or an IPv4
/// or IPv6 address in brackets.
fn is_valid_domain_part(domain: &str) -> bool {
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        return !literal.is_empty()
            && literal
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            && literal.parse::<std::net::IpAddr>().is_ok();
    }
    let alnum = |c: char| is_letter(c) || c.is_ascii_digit();
    let Some((labels, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    let tld_ok = (2..=63).contains(&tld.chars().count())
        && tld.chars().all(|c| alnum(c) || c == '-')
        && !tld.ends_with('-');
    tld_ok
        && labels.split('.').all(|label| {
            let n = label.chars().count();
            (1..=63).contains(&n)
                && label.chars().all(|c| alnum(c) || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::is_valid_email;

    /// Cases from Django's own tests of `validate_email`.
    #[test]
    fn email_addresses_as_django_validates_them() {
        for valid in [
            "email@here.com",
            "weirder-email@here.and.there.com",
            "email@[127.0.0.1]",
            "email@[2001:dB8::1]",
            "email@[2001:dB8:0:0:0:0:0:1]",
            "email@[::fffF:127.0.0.1]",
            "example@valid-----hyphens.com",
            "example@valid-with-hyphens.com",
            "test@domain.with.idn.tld.\u{0909}\u{0926}\u{093e}\u{0939}\u{0930}\u{0923}.\u{092a}\u{0930}\u{0940}\u{0915}\u{094d}\u{0937}\u{093e}",
            "email@localhost",
            "\"test@test\"@example.com",
            "\"\\\u{b}\"@here.com",
            "\"\\\t\"@here.com",
            "a@b.co",
            "first.last+tag@sub.example.org",
        ] {
            assert!(is_valid_email(valid), "{valid:?}");
        }
        for invalid in [
            "",
            "abc",
            "abc@",
            "abc@bar",
            "a @x.cz",
            "abc@.com",
            "something@@somewhere.com",
            "email@127.0.0.1",
            "email@[127.0.0.256]",
            "email@[2001:db8::12345]",
            "email@[2001:db8:0:0:0:0:1]",
            "email@[::ffff:127.0.0.256]",
            "email@[2001:dg8::1]",
            "email@[2001:dG8:0:0:0:0:0:1]",
            "email@[::fTzF:127.0.0.1]",
            "example@invalid-.com",
            "example@-invalid.com",
            "example@invalid.com-",
            "example@inv-.alid-.com",
            "example@inv-.-alid.com",
            "test@example.com\n\n<script src=\"x.js\">",
            "\"\\\n\"@here.com",
            "trailingdot@shouldfail.com.",
            "a@b.c",
            "email@localhost\n",
            "first..last@example.com",
            ".first@example.com",
        ] {
            assert!(!is_valid_email(invalid), "{invalid:?}");
        }
        let tld = |n: usize| format!("example@atm.{}", "a".repeat(n));
        assert!(is_valid_email(&tld(63)) && !is_valid_email(&tld(64)));
        let long = format!("{}@example.com", "a".repeat(309));
        assert!(!is_valid_email(&long), "321 characters");
        assert!(is_valid_email(&long[1..]), "320 characters");
    }
}
