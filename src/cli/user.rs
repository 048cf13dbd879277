//! `jwtd user …`: create, change, list and delete users.

use std::io::BufRead;

use clap::{Args, Subcommand};

use super::{CliResult, open_store};
use crate::accounts::validators::{self, is_valid_email};
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
    /// Delete a user, revoking their sessions and blacklisting their outstanding tokens (as
    /// the admin API's DELETE does).
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
    let result = execute(command, &store, &settings.accounts.password_policy).await;
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
            // As the admin API's DELETE: every session revoked and token blacklisted, with
            // the event (no actor: the operator is nobody jwtd knows), in one transaction.
            let events = [NewEvent::new(EventType::UserDeleted).user(&user)];
            let done = store
                .delete_user_and_tokens(user.id, &Expected::default(), &events)
                .await
                .map_err(|e| e.to_string())?;
            let Guarded::Done(revoked) = done else {
                return Err(format!("no user named {name:?}"));
            };
            written(None, &events);
            let n = revoked.tokens;
            println!("deleted {name}; {n} outstanding token(s) blacklisted");
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

/// Django's username rule (`UnicodeUsernameValidator`, 150 characters).
fn validate_username(name: &str) -> Result<(), String> {
    if validators::username_errors(name).is_empty() {
        Ok(())
    } else {
        Err(format!(
            "invalid username {name:?}: use at most 150 letters, digits and @ . + - _ (Django's rule)"
        ))
    }
}
